//! Requests that close the loop (issue 19), over real HTTP on both databases: a dead link's
//! visitor asks for more time and the same address works again (decided through the signed mail
//! address on one instance, in force at once on another, mail through aiosmtpd); a used-up link
//! gets more downloads; a denied request is told; a forwarded bound link gets no code and leads
//! to the new person's own link; a member's download request becomes a personal grant that ends
//! by itself and leaves search.
mod common;
use common::smtp::SmtpServer;
use common::*;
use reqwest::Method;
use serde_json::json;

const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The mail to `to` containing `needle`, from the SMTP server, decoded.
async fn smtp_mail(smtp: &SmtpServer, to: &str, needle: &str) -> String {
    let header = format!("To: {to}");
    eventually(&format!("a mail to {to} with {needle:?}"), || async {
        smtp.messages()
            .into_iter()
            .find(|m| m.lines().any(|l| l == header) && m.contains(needle))
    })
    .await
}

async fn a_dead_link_asks_for_more_time_and_the_same_address_works_again(app: TestApp) {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let Some(app) = spawn_with(app.backend, |c| c.smtp_url = Some(smtp.url().into())).await else {
        return;
    };
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;
    let asset = admin.published(&folder, "hero.png", png(40, 30, 1)).await;
    let link = admin
        .create_link(json!({
            "asset_ids": [asset], "recipients": ["buyer@supermart.test"],
            "per_recipient": true, "require_code": true, "expires_at": app.in_secs(3600),
            "title": "Spring campaign",
        }))
        .await;
    app.advance(DAY);
    let v = app.browser();
    // Expired, and gated by a code: the code first, then the form.
    let (status, html) = v.page(&link.path).await;
    assert_eq!(status, 410);
    assert!(html.contains("This link has expired") && html.contains("one-time code"));
    assert!(!html.contains("hero.png"));
    let early = v
        .post_form(
            &format!("{}/renew", link.path),
            &[("name", "Bea"), ("reason", "print run moved")],
        )
        .await;
    assert_eq!(early.status(), 303, "no request before the code");
    assert_eq!(requests(&admin, "").await.len(), 0);
    // Nothing but the page works on an expired link.
    let file = v
        .get(&format!("{}/assets/{asset}/original", link.path))
        .await;
    assert_eq!(file.status(), 410);
    let r = v.post_form(&format!("{}/code", link.path), &[]).await;
    assert_eq!(r.status(), 303);
    let code = code_in(&smtp_mail(&smtp, "buyer@supermart.test", "code").await);
    let r = v
        .post_form(&format!("{}/verify", link.path), &[("code", &code)])
        .await;
    assert_eq!(r.status(), 303);
    let (status, html) = v.page(&link.path).await;
    assert_eq!(status, 410);
    assert!(html.contains("Ask for more time"), "{html}");
    assert!(
        html.contains("buyer@supermart.test"),
        "the address is known"
    );
    // A missing field is named.
    let r = v
        .post_form(
            &format!("{}/renew", link.path),
            &[("name", ""), ("reason", "print run moved")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("name"));
    let r = v
        .post_form(
            &format!("{}/renew", link.path),
            &[("name", "Bea Buyer"), ("reason", "print run moved")],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Request sent"));
    // Asking twice is the same request, and one mail.
    let r = v
        .post_form(
            &format!("{}/renew", link.path),
            &[("name", "Bea Buyer"), ("reason", "again")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let pending = requests(&admin, "").await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["kind"], "renewal");
    assert_eq!(pending[0]["email"], "buyer@supermart.test");
    assert_eq!(pending[0]["link_id"], link.id.as_str());
    let mail = smtp_mail(&smtp, "admin@example.com", "asks for more time").await;
    assert!(mail.contains("Spring campaign") && mail.contains("print run moved"));
    let asked: Vec<String> = smtp
        .messages()
        .into_iter()
        .filter(|m| m.contains("asks for more time"))
        .collect();
    assert_eq!(asked.len(), 1, "one mail for two identical requests");
    let approve_30 = path_of(&line_after(&mail, "Approve for 30 days:"));
    let deny = path_of(&line_after(&mail, "Deny:"));

    // Decided on instance B through the signed address; in force on A at once.
    let b = app
        .another_instance(|c| c.smtp_url = Some(smtp.url().into()))
        .await;
    b.state.clock.advance(DAY);
    let on_b = Browser::at(&b.base, &[]);
    let (status, html) = on_b.page(&approve_30).await;
    assert_eq!(status, 200);
    assert!(html.contains("Bea Buyer") && html.contains("30 days"));
    assert_eq!(
        requests(&admin, "").await.len(),
        1,
        "opening the address decides nothing"
    );
    let r = on_b
        .post_form(&approve_30, &[("action", "approve"), ("days", "30")])
        .await;
    assert_eq!(r.status(), 200);
    let (status, html) = app.browser().page(&link.path).await;
    assert_eq!(status, 200, "the same URL works again");
    assert!(html.contains("one-time code"));
    let after = expect_json(admin.get(&format!("/links/{}", link.id)).await, 200).await;
    assert_eq!(after["state"], "active");
    let all = requests(&admin, "?state=all").await;
    assert_eq!(all[0]["state"], "approved");
    assert_eq!(all[0]["answer"], "+30 days");
    let told = smtp_mail(&smtp, "buyer@supermart.test", "was approved").await;
    // The link's own address (kept sealed since issue 21), under the deciding instance's URL.
    assert!(mail_text(&told).contains(&link.path), "{told}");
    assert!(mail_text(&told).contains("works again until"), "{told}");
    // Decided once: the deny address now conflicts; forged and expired addresses are unknown.
    let r = on_b
        .post_form(&deny, &[("action", "deny"), ("message", "no")])
        .await;
    assert_eq!(r.status(), 409);
    // A token changed in its signature.
    let (head, choice) = approve_30.split_once('?').unwrap();
    let at = head.len() - 10;
    let other = if &head[at..at + 1] == "A" { "B" } else { "A" };
    let forged = format!("{}{other}{}?{choice}", &head[..at], &head[at + 1..]);
    assert_eq!(on_b.get(&forged).await.status(), 404);
    assert_eq!(on_b.get("/requests/decide/not-a-token").await.status(), 404);
    // The link's access log shows the request and the decision.
    assert_eq!(app.link_events(&link.id, "request_made", 1).await, 1);
    assert_eq!(app.link_events(&link.id, "request_approved", 1).await, 1);
    let admin_page = app.browser();
    admin_page.login_ok("admin@example.com").await;
    let (_, html) = admin_page.page(&format!("/admin/links/{}", link.id)).await;
    assert!(html.contains("Requests") && html.contains("Bea Buyer"));
    b.state.clock.advance(31 * DAY);
    assert_eq!(on_b.get(&approve_30).await.status(), 404, "expired address");
}

async fn a_used_up_link_gets_more_downloads_and_a_denial_is_told(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;
    let asset = admin.published(&folder, "hero.png", png(40, 30, 1)).await;
    let link = admin
        .create_link(json!({ "asset_ids": [asset], "max_downloads": 1 }))
        .await;
    let original = format!("{}/assets/{asset}/original", link.url);
    let v = visitor();
    let first = v.get(&original).send().await.unwrap();
    assert_eq!(first.status(), 200);
    first.bytes().await.unwrap();
    assert_ne!(v.get(&original).send().await.unwrap().status(), 200);
    let (status, html) = app.browser().page(&link.path).await;
    assert_eq!(status, 200);
    assert!(html.contains("Ask for more downloads") && html.contains("used up"));
    assert!(
        !html.contains("/original\""),
        "no download button that would only be refused"
    );
    // Missing fields are named; nothing is stored.
    for (fields, named) in [
        (vec![("email", "a@b.test"), ("reason", "r")], "name"),
        (vec![("name", "Al"), ("reason", "r")], "email"),
        (vec![("name", "Al"), ("email", "a@b.test")], "reason"),
        (
            vec![("name", "Al"), ("email", "nope"), ("reason", "r")],
            "email",
        ),
    ] {
        let r = app
            .browser()
            .post_form(&format!("{}/renew", link.path), &fields)
            .await;
        assert_eq!(r.status(), 422, "{fields:?}");
        assert!(r.text().await.unwrap().contains(named));
    }
    assert_eq!(app.count("requests").await, 0);
    let ask = |email: &'static str| {
        let path = link.path.clone();
        let b = app.browser();
        async move {
            b.post_form(
                &format!("{path}/renew"),
                &[
                    ("name", "Al"),
                    ("email", email),
                    ("reason", "two more prints"),
                ],
            )
            .await
        }
    };
    assert_eq!(ask("al@printer.test").await.status(), 200);
    let id = requests(&admin, "").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Bad decisions.
    let member = app.member("m@example.com", &[]).await;
    let r = member
        .post(&format!("/requests/{id}/approve"), json!({}))
        .await;
    assert_eq!(r.status(), 404);
    let r = admin
        .post(&format!("/requests/{id}/approve"), json!({ "days": 0 }))
        .await;
    assert_eq!(r.status(), 422);
    let r = admin
        .post(
            &format!("/requests/{id}/approve"),
            json!({ "downloads": -1 }),
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = admin.post("/requests/nope/approve", json!({})).await;
    assert_eq!(r.status(), 404);
    let ok = expect_json(
        admin
            .post(
                &format!("/requests/{id}/approve"),
                json!({ "downloads": 2 }),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(ok["state"], "approved");
    let l = expect_json(admin.get(&format!("/links/{}", link.id)).await, 200).await;
    assert_eq!(l["max_downloads"], 3);
    for _ in 0..2 {
        let r = v.get(&original).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
    }
    assert_ne!(v.get(&original).send().await.unwrap().status(), 200);
    let mail = app
        .wait_for_mail("al@printer.test", |m| m.contains("was approved"))
        .await;
    assert!(mail.contains("works again"));
    // Decided: approving or denying again is 409.
    let r = admin
        .post(&format!("/requests/{id}/deny"), json!({ "message": "x" }))
        .await;
    assert_eq!(r.status(), 409);

    // Used up again: this time the answer is no, politely, with the message.
    assert_eq!(ask("al@printer.test").await.status(), 200);
    let id2 = requests(&admin, "").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(id, id2);
    let denied = expect_json(
        admin
            .post(
                &format!("/requests/{id2}/deny"),
                json!({ "message": "The campaign has ended." }),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(denied["state"], "denied");
    let r = admin
        .post(&format!("/requests/{id2}/approve"), json!({}))
        .await;
    assert_eq!(r.status(), 409);
    let mail = app
        .wait_for_mail("al@printer.test", |m| m.contains("The campaign has ended."))
        .await;
    assert!(mail.contains("cannot grant"));
    assert_ne!(v.get(&original).send().await.unwrap().status(), 200);

    // Throttled per link: 5 a day (the two above count).
    for (n, email) in ["b@x.test", "c@x.test", "d@x.test"].into_iter().enumerate() {
        assert_eq!(ask(email).await.status(), 200, "request {}", n + 3);
    }
    assert_eq!(ask("e@x.test").await.status(), 429);

    // A link that still works is not renewed; a revoked one offers nothing.
    let live = admin.create_link(json!({ "asset_ids": [asset] })).await;
    let r = app
        .browser()
        .post_form(
            &format!("{}/renew", live.path),
            &[
                ("name", "Al"),
                ("email", "al@printer.test"),
                ("reason", "r"),
            ],
        )
        .await;
    assert_eq!(r.status(), 409);
    let revoked = admin.create_link(json!({ "asset_ids": [asset] })).await;
    let r = admin
        .send(Method::DELETE, &format!("/links/{}", revoked.id), None)
        .await;
    assert!(r.status().is_success());
    let (status, html) = app.browser().page(&revoked.path).await;
    assert_eq!(status, 410);
    assert!(!html.contains("Ask for more time"));
    let r = app
        .browser()
        .post_form(
            &format!("{}/renew", revoked.path),
            &[
                ("name", "Al"),
                ("email", "al@printer.test"),
                ("reason", "r"),
            ],
        )
        .await;
    assert_eq!(r.status(), 410);
}

async fn a_forwarded_bound_link_gets_no_code_and_leads_to_its_own_link(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;
    let asset = admin.published(&folder, "hero.png", png(40, 30, 1)).await;
    // Binding needs per-recipient links.
    let r = admin
        .post(
            "/links",
            json!({ "asset_ids": [asset], "recipients": ["b@x.test"], "bind_recipient": true }),
        )
        .await;
    assert_eq!(r.status(), 422);
    let link = admin
        .create_link(json!({
            "asset_ids": [asset], "recipients": ["buyer@supermart.test"],
            "per_recipient": true, "bind_recipient": true,
        }))
        .await;
    let l = expect_json(admin.get(&format!("/links/{}", link.id)).await, 200).await;
    assert_eq!(l["bind_recipient"], true);
    assert_eq!(l["require_code"], true, "binding implies a code");
    let mails_before = app.outbox().len();
    let v = app.browser();
    let (_, html) = v.page(&link.path).await;
    assert!(
        html.contains("Your email address"),
        "a bound link asks who visits"
    );
    let r = v
        .post_form(
            &format!("{}/code", link.path),
            &[("email", "colleague@supermart.test")],
        )
        .await;
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(html.contains("b•••@supermart.test"), "{html}");
    assert!(html.contains("Ask for your own access"));
    assert!(!html.contains("buyer@"));
    assert_eq!(app.outbox().len(), mails_before, "no code went anywhere");
    // Guessing a code for the other address, or downloading, gets nothing.
    let r = v
        .post_form(
            &format!("{}/verify", link.path),
            &[("email", "colleague@supermart.test"), ("code", "123456")],
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = v
        .get(&format!("{}/assets/{asset}/original", link.path))
        .await;
    assert_ne!(r.status(), 200);
    assert_eq!(
        app.link_events(&link.id, "link_forward_attempt", 1).await,
        1
    );
    let r = v
        .post_form(
            &format!("{}/access", link.path),
            &[
                ("name", "Cole League"),
                ("email", "colleague@supermart.test"),
                ("reason", "I run the store's print shop"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let pending = requests(&admin, "").await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["kind"], "access");
    assert_eq!(pending[0]["email"], "colleague@supermart.test");
    let id = pending[0]["id"].as_str().unwrap();
    let ok = expect_json(
        admin
            .post(&format!("/requests/{id}/approve"), json!({}))
            .await,
        200,
    )
    .await;
    let new_id = ok["result_link_id"]
        .as_str()
        .expect("a new link")
        .to_string();
    let new_link = expect_json(admin.get(&format!("/links/{new_id}")).await, 200).await;
    assert_eq!(new_link["share_id"], l["share_id"], "under the same share");
    assert_eq!(new_link["recipient"], "colleague@supermart.test");
    assert_eq!(new_link["bind_recipient"], true);
    // The new person's mail carries their own link; their code opens it.
    let mail = app
        .wait_for_mail("colleague@supermart.test", |m| m.contains("was approved"))
        .await;
    let url = mail
        .lines()
        .map(str::trim)
        .find(|l| l.contains("/s/"))
        .expect("a link in the mail")
        .to_string();
    let path = path_of(&url);
    assert_ne!(path, link.path);
    let c = app.browser();
    let r = c
        .post_form(
            &format!("{path}/code"),
            &[("email", "colleague@supermart.test")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let code = code_in(
        &app.wait_for_mail("colleague@supermart.test", |m| {
            m.contains("Your code to open")
        })
        .await,
    );
    let r = c
        .post_form(&format!("{path}/verify"), &[("code", &code)])
        .await;
    assert_eq!(r.status(), 303);
    let r = c.get(&format!("{path}/assets/{asset}/original")).await;
    assert_eq!(r.status(), 200);
    // The original recipient's address still gets their code.
    let r = app
        .browser()
        .post_form(
            &format!("{}/code", link.path),
            &[("email", "buyer@supermart.test")],
        )
        .await;
    assert_eq!(r.status(), 303);
}

async fn a_member_download_request_becomes_a_personal_grant_that_ends(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;
    let group = admin.group("Viewers").await;
    admin.grant(&folder, &group, true, false, false).await;
    let a = admin
        .published(&folder, "hero-poster.png", png(40, 30, 1))
        .await;
    let b = admin.published(&folder, "banner.png", png(40, 30, 2)).await;
    let member = app.member("viewer@agency.test", &[&group]).await;
    assert_eq!(member.get(&format!("/assets/{a}")).await.status(), 200);
    assert_eq!(
        member.get(&format!("/assets/{a}/original")).await.status(),
        404
    );
    // The asset page offers the request.
    let page = app.browser();
    page.login_ok("viewer@agency.test").await;
    let (_, html) = page.page(&format!("/assets/{a}")).await;
    assert!(html.contains("Request download"));
    // Bad input.
    let r = member.post("/requests", json!({ "asset_ids": [] })).await;
    assert_eq!(r.status(), 422);
    let r = member.post("/requests", json!({ "reason": "x" })).await;
    assert_eq!(r.status(), 422);
    let r = member
        .post("/requests", json!({ "asset_ids": ["nope"] }))
        .await;
    assert_eq!(r.status(), 422);
    // Through the page's form.
    let csrf = page.csrf(&format!("/assets/{a}")).await;
    let r = page
        .post_form(
            "/requests/download",
            &[
                ("csrf_token", &csrf),
                ("asset_id", &a),
                ("reason", "for the trade show"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = page.page(&format!("/assets/{a}")).await;
    assert!(html.contains("You asked to download"));
    let mine = requests(&member, "").await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["asset_ids"], json!([a]));
    let mail = app
        .wait_for_mail("admin@example.com", |m| {
            m.contains("permission to download")
        })
        .await;
    assert!(mail.contains("hero-poster.png") && mail.contains("trade show"));
    // Approved in the admins' inbox.
    let inbox = app.browser();
    inbox.login_ok("admin@example.com").await;
    let (_, html) = inbox.page("/admin/requests").await;
    assert!(html.contains("viewer@agency.test"));
    let csrf = csrf_in(&html).unwrap();
    let id = mine[0]["id"].as_str().unwrap();
    let r = inbox
        .post_form(
            &format!("/admin/requests/{id}/approve"),
            &[("csrf_token", &csrf), ("days", "")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let got = member.get(&format!("/assets/{a}/original")).await;
    assert_eq!(got.status(), 200);
    let (_, html) = page.page(&format!("/assets/{a}")).await;
    assert!(html.contains("Download allowed until"));
    assert_eq!(
        member.get(&format!("/assets/{b}/original")).await.status(),
        404,
        "exactly the assets asked for"
    );
    let zip = member.post("/zip", json!({ "asset_ids": [a, b] })).await;
    assert_eq!(zip.status(), 200);
    let names: Vec<String> = zip_entries(&zip.bytes().await.unwrap())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, vec!["hero-poster.png".to_string()]);
    let grants = expect_json(admin.get(&format!("/grants?asset_id={a}")).await, 200).await;
    assert_eq!(grants["items"].as_array().unwrap().len(), 1);
    // The grant is part of the scope: without the folder's view grant, the asset stays
    // visible, downloadable and searchable for this member while it lasts.
    let r = admin
        .delete(&format!("/folders/{folder}/grants/{group}"))
        .await;
    assert!(r.status().is_success());
    assert_eq!(member.get(&format!("/assets/{b}")).await.status(), 404);
    let found = expect_json(member.get("/search?q=poster").await, 200).await;
    assert_eq!(found["items"][0]["id"], a.as_str());
    app.advance(15 * DAY);
    assert_eq!(
        member.get(&format!("/assets/{a}/original")).await.status(),
        404
    );
    assert_eq!(member.get(&format!("/assets/{a}")).await.status(), 404);
    let found = expect_json(member.get("/search?q=poster").await, 200).await;
    assert_eq!(
        found["items"].as_array().unwrap().len(),
        0,
        "gone from search"
    );
    assert_eq!(
        expect_json(admin.get(&format!("/grants?asset_id={a}")).await, 200).await["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // Revocable at once.
    admin.grant(&folder, &group, true, false, false).await;
    let r = expect_json(
        member
            .post("/requests", json!({ "asset_ids": [b], "reason": "" }))
            .await,
        201,
    )
    .await;
    let id = r["id"].as_str().unwrap();
    expect_json(
        admin
            .post(&format!("/requests/{id}/approve"), json!({ "days": 30 }))
            .await,
        200,
    )
    .await;
    assert_eq!(
        member.get(&format!("/assets/{b}/original")).await.status(),
        200
    );
    let grants = expect_json(admin.get(&format!("/grants?asset_id={b}")).await, 200).await;
    let gid = grants["items"][0]["id"].as_str().unwrap();
    assert_eq!(admin.delete(&format!("/grants/{gid}")).await.status(), 204);
    assert_eq!(
        member.get(&format!("/assets/{b}/original")).await.status(),
        404
    );
    // A selection in the folder's grid asks for several at once, and comes back to the folder
    // (signed in again: the session ended with the moved clock).
    let page = app.browser();
    page.login_ok("viewer@agency.test").await;
    let (_, html) = page.page(&format!("/folders/{folder}")).await;
    assert!(html.contains("Request download of selected"), "{html}");
    let csrf = csrf_in(&html).unwrap();
    let r = page
        .post_form(
            "/requests/download",
            &[
                ("csrf_token", &csrf),
                ("folder_id", &folder),
                ("asset_ids", &a),
                ("asset_ids", &b),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/folders/{folder}"));
    let mine = requests(&member, "").await;
    assert_eq!(mine[0]["asset_ids"], json!([a, b]));
    // Asked already and waiting: not asked twice.
    let r = member.post("/requests", json!({ "asset_ids": [a] })).await;
    assert_eq!(r.status(), 409);
    // The inbox names the assets asked for.
    let inbox = app.browser();
    inbox.login_ok("admin@example.com").await;
    let (_, html) = inbox.page("/admin/requests").await;
    assert!(html.contains("hero-poster.png") && html.contains("banner.png"));
    // Already downloadable: nothing to ask.
    admin.grant(&folder, &group, true, true, false).await;
    let r = member.post("/requests", json!({ "asset_ids": [b] })).await;
    assert_eq!(r.status(), 409);
}

/// 100 parallel approvals and denials of one request, split over two instances: one decision,
/// carried out once. 100 parallel renewal requests on a dead link: the per-link throttle lets
/// exactly 5 through.
async fn parallel_deciders_get_one_decision_and_askers_are_throttled(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;
    let asset = admin.published(&folder, "hero.png", png(40, 30, 1)).await;
    let link = admin
        .create_link(json!({ "asset_ids": [asset], "max_downloads": 1 }))
        .await;
    let r = visitor()
        .get(format!("{}/assets/{asset}/original", link.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();
    let b = app.another_instance(|_| {}).await;
    let bases = [app.url(""), b.url("")];
    let asks = (0..100).map(|n| {
        let url = format!("{}{}/renew", bases[n % 2], link.path);
        async move {
            let email = format!("asker{n}@printer.test");
            visitor()
                .post(url)
                .form(&[("name", "Al"), ("email", &email), ("reason", "more")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(asks).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 95);
    assert_eq!(app.count("requests").await, 5);

    let id = requests(&admin, "").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b_admin = Api {
        base: b.base.clone(),
        token: admin.token.clone(),
        client: admin.client.clone(),
        user_id: admin.user_id.clone(),
    };
    let decisions = (0..100).map(|n| {
        let api = if n % 2 == 0 { &admin } else { &b_admin };
        let id = id.clone();
        async move {
            let r = if n % 3 == 0 {
                api.post(&format!("/requests/{id}/deny"), json!({})).await
            } else {
                api.post(
                    &format!("/requests/{id}/approve"),
                    json!({ "downloads": 1 }),
                )
                .await
            };
            r.status().as_u16()
        }
    });
    let statuses = futures_util::future::join_all(decisions).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 99);
    let decided = requests(&admin, "?state=all")
        .await
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap();
    let l = expect_json(admin.get(&format!("/links/{}", link.id)).await, 200).await;
    if decided["state"] == "approved" {
        assert_eq!(l["max_downloads"], 2, "carried out once");
    } else {
        assert_eq!(decided["state"], "denied");
        assert_eq!(l["max_downloads"], 1);
    }
    b.stop().await;
}

/// The link's owner decides; when the owner is disabled, every active admin is asked.
async fn a_disabled_owners_requests_go_to_every_admin(app: TestApp) {
    let admin = app.admin().await;
    let owner_account = app
        .user("owner@example.com", assetport::accounts::users::Role::Admin)
        .await;
    let owner = app.api_for(&owner_account).await;
    let folder = admin.folder(None, "Campaign").await;
    let asset = admin.published(&folder, "hero.png", png(40, 30, 1)).await;
    let ask = |path: String, email: &'static str| {
        let b = app.browser();
        async move {
            b.post_form(
                &format!("{path}/renew"),
                &[("name", "Al"), ("email", email), ("reason", "please")],
            )
            .await
            .status()
        }
    };
    let first = owner
        .create_link(json!({ "asset_ids": [asset], "expires_at": app.in_secs(60) }))
        .await;
    let second = owner
        .create_link(json!({ "asset_ids": [asset], "expires_at": app.in_secs(60) }))
        .await;
    app.advance(DAY);
    assert_eq!(ask(first.path.clone(), "one@x.test").await, 200);
    let to_owner = app
        .wait_for_mail("owner@example.com", |m| m.contains("one@x.test"))
        .await;
    assert!(to_owner.contains("Approve for 7 days"));
    let to_admin = |who: &'static str| {
        app.outbox()
            .into_iter()
            .map(|m| mail_text(&m))
            .filter(|m| m.contains(&format!("To: {who}")) && m.contains("asks for more time"))
            .count()
    };
    assert_eq!(to_admin("admin@example.com"), 0, "the owner decides");
    let r = admin
        .send(
            Method::DELETE,
            &format!("/users/{}", owner_account.id),
            None,
        )
        .await;
    assert!(r.status().is_success());
    assert_eq!(ask(second.path.clone(), "two@x.test").await, 200);
    app.wait_for_mail("admin@example.com", |m| m.contains("two@x.test"))
        .await;
    assert_eq!(
        to_admin("owner@example.com"),
        1,
        "not the disabled owner again"
    );
}

on_both_backends!(
    a_disabled_owners_requests_go_to_every_admin,
    parallel_deciders_get_one_decision_and_askers_are_throttled,
    a_dead_link_asks_for_more_time_and_the_same_address_works_again,
    a_used_up_link_gets_more_downloads_and_a_denial_is_told,
    a_forwarded_bound_link_gets_no_code_and_leads_to_its_own_link,
    a_member_download_request_becomes_a_personal_grant_that_ends,
);
