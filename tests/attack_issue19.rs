//! An attacker's pass over issue 19 (requests, renewals, bound links, personal grants, upload
//! slots and the sender's round trip): each test tries to get something it should not and checks
//! that it gets nothing, and that nothing changed. Over real HTTP on both databases.
mod common;
use common::*;
use reqwest::{header, Method};
use serde_json::{json, Value};

const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

async fn request_state(admin: &Api, id: &str) -> String {
    requests(admin, "?state=all")
        .await
        .into_iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("request {id}"))["state"]
        .as_str()
        .unwrap()
        .to_string()
}

/// How many mails in the outbox are to `to`.
fn mails_to(app: &TestApp, to: &str) -> usize {
    let header = format!("To: {to}");
    app.outbox()
        .iter()
        .map(|m| mail_text(m))
        .filter(|m| m.lines().any(|l| l == header))
        .count()
}

// ---------------------------------------------------------------------------------------------
// 1. Decision tokens

/// A signed decision address stops working for a decider who is demoted or disabled; bad terms
/// posted through it change nothing; once decided and the grant revoked, replaying it is 409
/// and the grant stays revoked.
async fn decision_tokens_follow_the_deciders_rights_and_bad_terms_change_nothing(app: TestApp) {
    let admin = app.admin().await;
    let boss = app
        .user("boss@example.com", assetport::accounts::users::Role::Admin)
        .await;
    let folder = admin.folder(None, "Campaign").await;
    let group = admin.group("Viewers").await;
    admin.grant(&folder, &group, true, false, false).await;
    let x = admin.published(&folder, "x.png", png(20, 20, 1)).await;
    let member = app.member("viewer@agency.test", &[&group]).await;
    let r = expect_json(
        member
            .post("/requests", json!({ "asset_ids": [x], "reason": "print" }))
            .await,
        201,
    )
    .await;
    let id = r["id"].as_str().unwrap().to_string();
    let to_boss = app
        .wait_for_mail("boss@example.com", |m| m.contains("permission to download"))
        .await;
    let to_admin = app
        .wait_for_mail("admin@example.com", |m| {
            m.contains("permission to download")
        })
        .await;
    let boss_addr = path_of(&line_after(&to_boss, "Approve for 30 days:"));
    let admin_addr = path_of(&line_after(&to_admin, "Approve for 30 days:"));
    assert_ne!(boss_addr, admin_addr, "each decider has their own address");
    let b = app.browser();

    // Bad terms: 422, and the request is still pending, no grant given.
    for (days, downloads) in [
        ("99999", ""),
        ("-3", ""),
        ("0", ""),
        ("abc", ""),
        ("7 days", ""),
        ("1e3", ""),
        ("9223372036854775807", ""),
        ("99999999999999999999", ""),
        ("7", "-1"),
        ("7", "zz"),
    ] {
        let r = b
            .post_form(
                &boss_addr,
                &[
                    ("action", "approve"),
                    ("days", days),
                    ("downloads", downloads),
                ],
            )
            .await;
        assert_eq!(r.status(), 422, "days={days:?} downloads={downloads:?}");
        assert_eq!(request_state(&admin, &id).await, "pending");
    }
    let r = b
        .post_form(&boss_addr, &[("action", "approve-all"), ("days", "7")])
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(app.count("download_grants").await, 0);
    assert_eq!(
        member.get(&format!("/assets/{x}/original")).await.status(),
        404
    );

    // Demoted: the address is unknown (GET and POST), and nothing is decided.
    let r = admin
        .patch(&format!("/users/{}", boss.id), json!({ "role": "member" }))
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    assert_eq!(b.get(&boss_addr).await.status(), 404);
    let r = b
        .post_form(&boss_addr, &[("action", "approve"), ("days", "30")])
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(request_state(&admin, &id).await, "pending");
    // Made admin again, then disabled: unknown again.
    let r = admin
        .patch(&format!("/users/{}", boss.id), json!({ "role": "admin" }))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(b.get(&boss_addr).await.status(), 200, "an admin again");
    let r = admin
        .send(Method::DELETE, &format!("/users/{}", boss.id), None)
        .await;
    assert!(r.status().is_success());
    let r = b
        .post_form(&boss_addr, &[("action", "deny"), ("message", "no")])
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(request_state(&admin, &id).await, "pending");

    // The remaining admin approves; the grant is revoked; replaying the address is 409.
    let r = b
        .post_form(&admin_addr, &[("action", "approve"), ("days", "30")])
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        member.get(&format!("/assets/{x}/original")).await.status(),
        200
    );
    let grants = expect_json(admin.get(&format!("/grants?asset_id={x}")).await, 200).await;
    let gid = grants["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(admin.delete(&format!("/grants/{gid}")).await.status(), 204);
    for _ in 0..2 {
        let r = b
            .post_form(&admin_addr, &[("action", "approve"), ("days", "30")])
            .await;
        assert_eq!(r.status(), 409);
    }
    let r = admin
        .post(&format!("/requests/{id}/approve"), json!({ "days": 30 }))
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        member.get(&format!("/assets/{x}/original")).await.status(),
        404,
        "a replayed approval does not bring a revoked grant back"
    );
    assert_eq!(app.count("download_grants").await, 1);
    // A token of another audience or a truncated one is unknown.
    let (token, _) = admin_addr.split_once('?').unwrap();
    assert_eq!(b.get(&token[..token.len() - 5]).await.status(), 404);
    assert_eq!(b.get(&format!("{token}x")).await.status(), 404);
}

// ---------------------------------------------------------------------------------------------
// 2. Renewals

/// Ten renewal requests a day from one address across links, whatever `X-Forwarded-For` says
/// (no trusted proxy is configured); a revoked link stores no request.
async fn renewal_requests_are_throttled_per_address_across_links(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;
    let asset = admin.published(&folder, "hero.png", png(20, 20, 1)).await;
    let mut links = Vec::new();
    for _ in 0..12 {
        links.push(
            admin
                .create_link(json!({ "asset_ids": [asset], "expires_at": app.in_secs(60) }))
                .await,
        );
    }
    let revoked = links.pop().unwrap();
    let r = admin
        .send(Method::DELETE, &format!("/links/{}", revoked.id), None)
        .await;
    assert!(r.status().is_success());
    app.advance(DAY);
    let ask = |path: &str, n: usize| {
        let url = app.url(&format!("{path}/renew"));
        async move {
            visitor()
                .post(url)
                .header("X-Forwarded-For", format!("198.51.100.{n}"))
                .form(&[
                    ("name", "Al"),
                    ("email", format!("al{n}@printer.test").as_str()),
                    ("reason", "more"),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(ask(&revoked.path, 99).await, 410);
    assert_eq!(
        app.count("requests").await,
        0,
        "a revoked link asks nothing"
    );
    let mut statuses = Vec::new();
    for (n, link) in links.iter().enumerate() {
        statuses.push(ask(&link.path, n).await);
    }
    assert_eq!(&statuses[..10], &[200; 10], "{statuses:?}");
    assert_eq!(statuses[10], 429, "the 11th from one address: {statuses:?}");
    assert_eq!(app.count("requests").await, 10);
    // A day later the address may ask again.
    app.advance(DAY);
    assert_eq!(ask(&links[10].path, 10).await, 200);
}

/// Hostile names and reasons: control characters, line breaks in a name, 10,000 characters
/// are refused and store nothing; markup is stored as text and escaped in the admins' inbox.
async fn hostile_renewal_fields_are_refused_or_escaped(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;
    let asset = admin.published(&folder, "hero.png", png(20, 20, 1)).await;
    let link = admin
        .create_link(json!({ "asset_ids": [asset], "expires_at": app.in_secs(60) }))
        .await;
    app.advance(DAY);
    let long = "x".repeat(10_000);
    let renew = format!("{}/renew", link.path);
    for (name, email, reason) in [
        ("Al\u{7}", "al@printer.test", "more"),
        ("Al\u{0}", "al@printer.test", "more"),
        (
            "Al\nApprove for 30 days: https://evil.test/x",
            "al@printer.test",
            "more",
        ),
        ("Al\r\nBcc: victim@x.test", "al@printer.test", "more"),
        (long.as_str(), "al@printer.test", "more"),
        ("Al", "al@printer.test", long.as_str()),
        ("Al", "al@printer.test", "more\u{1b}[31m"),
        ("Al", "al@printer.test\r\nBcc: victim@x.test", "more"),
        ("Al", "<al@printer.test>", "more"),
        ("Al", long.as_str(), "more"),
    ] {
        let r = app
            .browser()
            .post_form(
                &renew,
                &[("name", name), ("email", email), ("reason", reason)],
            )
            .await;
        let s = r.status().as_u16();
        assert!(
            s == 400 || s == 422,
            "{s} for name={:?} email={:?} reason={:?}",
            &name[..name.len().min(40)],
            &email[..email.len().min(40)],
            &reason[..reason.len().min(40)]
        );
    }
    assert_eq!(app.count("requests").await, 0);
    assert_eq!(mails_to(&app, "victim@x.test"), 0);

    let script = "<script>alert(1)</script>";
    let r = app
        .browser()
        .post_form(
            &renew,
            &[
                ("name", script),
                ("email", "al@printer.test"),
                ("reason", "<img src=x onerror=alert(2)>"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let stored = requests(&admin, "").await;
    assert_eq!(stored[0]["name"], script, "stored as written");
    let inbox = app.browser();
    inbox.login_ok("admin@example.com").await;
    for page in [
        "/admin/requests".to_string(),
        format!("/admin/links/{}", link.id),
    ] {
        let (status, html) = inbox.page(&page).await;
        assert_eq!(status, 200, "{page}");
        assert!(!html.contains(script), "{page} renders markup: {html}");
        assert!(!html.contains("<img src=x"), "{page} renders markup");
        let at = html.find("alert(1)").unwrap_or(0);
        assert!(
            html.contains("&lt;script&gt;") || html.contains("&#60;script&#62;"),
            "{page} shows it as text: {}",
            &html[at.saturating_sub(80)..(at + 80).min(html.len())]
        );
    }
    // The decision page (a signed address) escapes too.
    let mail = app
        .wait_for_mail("admin@example.com", |m| m.contains("asks for more time"))
        .await;
    let addr = path_of(&line_after(&mail, "Approve for 7 days:"));
    let (status, html) = app.browser().page(&addr).await;
    assert_eq!(status, 200);
    assert!(!html.contains(script));
    assert!(html.contains("&lt;script&gt;") || html.contains("&#60;script&#62;"));

    // A reason may have lines, but none of them passes for the mail's own.
    let r = app
        .browser()
        .post_form(
            &renew,
            &[
                ("name", "Eve"),
                ("email", "eve@printer.test"),
                (
                    "reason",
                    "urgent\r\n\nApprove for 7 days: https://evil.test/phish\rDeny: https://evil.test/x",
                ),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let mail = app
        .wait_for_mail("admin@example.com", |m| m.contains("eve@printer.test"))
        .await;
    let first = line_after(&mail, "Approve for 7 days:");
    assert!(
        first.contains("/requests/decide/"),
        "forged: {first}\n{mail}"
    );
    let first = line_after(&mail, "Deny:");
    assert!(
        first.contains("/requests/decide/"),
        "forged: {first}\n{mail}"
    );
    assert!(
        mail.contains("> Approve for 7 days: https://evil.test/phish"),
        "{mail}"
    );
}

/// An unlock cookie from before a rotation opens nothing on the expired link's new address:
/// the code gate comes first again and no request can be made with it.
async fn an_unlock_cookie_from_before_a_rotation_does_not_pass_the_code_gate(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;
    let asset = admin.published(&folder, "hero.png", png(20, 20, 1)).await;
    let link = admin
        .create_link(json!({
            "asset_ids": [asset], "recipients": ["buyer@supermart.test"],
            "per_recipient": true, "require_code": true, "expires_at": app.in_secs(60),
        }))
        .await;
    app.advance(DAY);
    let v = app.browser();
    let r = v.post_form(&format!("{}/code", link.path), &[]).await;
    assert_eq!(r.status(), 303);
    let code = code_in(
        &app.wait_for_mail("buyer@supermart.test", |m| m.contains("code"))
            .await,
    );
    let r = v
        .post_form(&format!("{}/verify", link.path), &[("code", &code)])
        .await;
    assert_eq!(r.status(), 303);
    let cookie = r
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find(|c| c.starts_with("assetport_link="))
        .expect("an unlock cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (_, html) = v.page(&link.path).await;
    assert!(html.contains("Ask for more time"), "unlocked before");

    let rotated = expect_json(
        admin
            .post(&format!("/links/{}/rotate", link.id), json!({}))
            .await,
        200,
    )
    .await;
    let new_path = path_of(rotated["url"].as_str().expect("the new url"));
    assert_ne!(new_path, link.path);
    assert_eq!(
        visitor()
            .get(link.url.as_str())
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let replay = |path: String| {
        let cookie = cookie.clone();
        let url = app.url(&path);
        async move {
            visitor()
                .get(url)
                .header(header::COOKIE, cookie)
                .send()
                .await
                .unwrap()
        }
    };
    let r = replay(new_path.clone()).await;
    assert_eq!(r.status(), 410);
    let html = r.text().await.unwrap();
    assert!(html.contains("one-time code"), "the gate again: {html}");
    assert!(!html.contains("Ask for more time"));
    let r = visitor()
        .post(app.url(&format!("{new_path}/renew")))
        .header(header::COOKIE, cookie.clone())
        .form(&[("name", "Bea"), ("reason", "please")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "gated: back to the page");
    assert_eq!(app.count("requests").await, 0);
}

/// A renewal approved after its link was revoked is 409, stays pending, and the link stays
/// revoked; through the API and through the signed address.
async fn approving_a_renewal_of_a_link_revoked_meanwhile_is_409_and_stays_pending(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;
    let asset = admin.published(&folder, "hero.png", png(20, 20, 1)).await;
    let link = admin
        .create_link(json!({ "asset_ids": [asset], "expires_at": app.in_secs(60) }))
        .await;
    app.advance(DAY);
    let r = app
        .browser()
        .post_form(
            &format!("{}/renew", link.path),
            &[
                ("name", "Al"),
                ("email", "al@printer.test"),
                ("reason", "more"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let id = requests(&admin, "").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mail = app
        .wait_for_mail("admin@example.com", |m| m.contains("asks for more time"))
        .await;
    let addr = path_of(&line_after(&mail, "Approve for 30 days:"));
    let r = admin
        .send(Method::DELETE, &format!("/links/{}", link.id), None)
        .await;
    assert!(r.status().is_success());
    let r = admin
        .post(&format!("/requests/{id}/approve"), json!({ "days": 30 }))
        .await;
    assert_eq!(r.status(), 409);
    let r = app
        .browser()
        .post_form(&addr, &[("action", "approve"), ("days", "30")])
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(request_state(&admin, &id).await, "pending");
    let l = expect_json(admin.get(&format!("/links/{}", link.id)).await, 200).await;
    assert_eq!(l["state"], "revoked");
    assert_eq!(
        visitor()
            .get(link.url.as_str())
            .send()
            .await
            .unwrap()
            .status(),
        410
    );
    assert_eq!(app.link_events(&link.id, "request_approved", 1).await, 0);
    assert_eq!(mails_to(&app, "al@printer.test"), 0, "nobody was told yes");
    // Denying it still works, once.
    let r = admin
        .post(
            &format!("/requests/{id}/deny"),
            json!({ "message": "withdrawn" }),
        )
        .await;
    assert_eq!(r.status(), 200);
}

// ---------------------------------------------------------------------------------------------
// 3. Bound links

/// 100 parallel code requests for a foreign address on a bound link: no code is mailed, the
/// rest are throttled, each answered one is a `link_forward_attempt`; the flood does not keep
/// the recipient from their code; only the recipient's address (in any case or spacing) gets
/// one; a look-alike domain does not.
async fn a_flood_of_foreign_addresses_on_a_bound_link_mails_nothing(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;
    let asset = admin.published(&folder, "hero.png", png(20, 20, 1)).await;
    let link = admin
        .create_link(json!({
            "asset_ids": [asset], "recipients": ["buyer@supermart.test"],
            "per_recipient": true, "bind_recipient": true,
        }))
        .await;
    let plain = admin.create_link(json!({ "asset_ids": [asset] })).await;
    // The recipient was told of the share; nothing else is mailed below.
    let shared = app.outbox().len();
    let url = app.url(&format!("{}/code", link.path));
    let floods = (0..100).map(|n| {
        let url = url.clone();
        async move {
            visitor()
                .post(url)
                .form(&[("email", format!("thief{n}@evil.test"))])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(floods).await;
    let forbidden = statuses.iter().filter(|s| **s == 403).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(forbidden + throttled, 100, "{statuses:?}");
    assert!(throttled >= 90, "{statuses:?}");
    assert_eq!(app.outbox().len(), shared, "no code mailed anywhere");
    assert_eq!(app.count("link_codes").await, 0);
    assert_eq!(
        app.link_events(&link.id, "link_forward_attempt", forbidden as i64)
            .await,
        forbidden as i64
    );

    // The recipient is not locked out by the flood; their address in any case and spacing.
    let v = app.browser();
    let r = v
        .post_form(
            &format!("{}/code", link.path),
            &[("email", "  Buyer@SuperMart.TEST ")],
        )
        .await;
    assert_eq!(r.status(), 303, "the recipient still gets a code");
    let code = code_in(
        &app.wait_for_mail("buyer@supermart.test", |m| m.contains("code"))
            .await,
    );
    let r = v
        .post_form(&format!("{}/verify", link.path), &[("code", &code)])
        .await;
    assert_eq!(r.status(), 303);
    let r = v
        .get(&format!("{}/assets/{asset}/original", link.path))
        .await;
    assert_eq!(r.status(), 200);

    // Look-alikes are foreign.
    for other in [
        "buyer@supermart.test.evil",
        "buyer@supermart.tes",
        "buyer+x@supermart.test",
        "buyer@supermart.test\u{200b}",
    ] {
        let before = app.outbox().len();
        let r = app
            .browser()
            .post_form(&format!("{}/code", link.path), &[("email", other)])
            .await;
        let s = r.status().as_u16();
        assert!(s == 403 || s == 429, "{other:?}: {s}");
        assert_eq!(app.outbox().len(), before, "{other:?} got mail");
    }
    // "Ask for your own access" exists on bound links only; the recipient asks for a code.
    let r = app
        .browser()
        .post_form(
            &format!("{}/access", plain.path),
            &[("name", "Al"), ("email", "al@x.test"), ("reason", "r")],
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .browser()
        .post_form(
            &format!("{}/access", link.path),
            &[
                ("name", "Bea"),
                ("email", " BUYER@supermart.test"),
                ("reason", "r"),
            ],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(app.count("requests").await, 0);
}

// ---------------------------------------------------------------------------------------------
// 4. Personal grants

async fn ask_download(api: &Api, ids: Value) -> reqwest::Response {
    api.post("/requests", json!({ "asset_ids": ids, "reason": "print" }))
        .await
}

/// A personal grant is exactly one member's, on exactly the assets asked for, while it lasts and
/// while the asset is live; members cannot list or revoke grants nor decide requests.
async fn a_personal_grant_opens_exactly_one_members_assets_while_it_lasts(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;
    let group = admin.group("Viewers").await;
    admin.grant(&folder, &group, true, false, false).await;
    let x = admin
        .published(&folder, "x-poster.png", png(20, 20, 1))
        .await;
    let y = admin
        .published(&folder, "y-poster.png", png(20, 20, 2))
        .await;
    let z = admin
        .published(&folder, "z-poster.png", png(20, 20, 3))
        .await;
    let a = app.member("a@agency.test", &[&group]).await;
    let b = app.member("b@agency.test", &[&group]).await;
    let ra = expect_json(ask_download(&a, json!([x, z])).await, 201).await;
    let rb = expect_json(ask_download(&b, json!([y])).await, 201).await;
    let (ra, rb) = (
        ra["id"].as_str().unwrap().to_string(),
        rb["id"].as_str().unwrap().to_string(),
    );
    // Members see their own requests only, and decide nothing.
    let mine = requests(&b, "?state=all").await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], rb.as_str());
    let mine = requests(&b, &format!("?state=all&link_id={ra}")).await;
    assert!(mine.iter().all(|r| r["id"] != ra.as_str()));
    for path in [
        format!("/requests/{ra}/approve"),
        format!("/requests/{rb}/approve"),
    ] {
        assert_eq!(b.post(&path, json!({ "days": 30 })).await.status(), 404);
    }
    assert_eq!(
        b.post(&format!("/requests/{ra}/deny"), json!({}))
            .await
            .status(),
        404
    );
    assert_eq!(request_state(&admin, &ra).await, "pending");
    // Forging another member's request: unknown fields are refused.
    let r = b
        .post(
            "/requests",
            json!({ "asset_ids": [x], "user_id": a.user_id, "reason": "r" }),
        )
        .await;
    assert!(r.status().is_client_error());

    expect_json(
        admin
            .post(&format!("/requests/{ra}/approve"), json!({ "days": 2 }))
            .await,
        200,
    )
    .await;
    // Only the folder's view grant and the personal grants remain in force.
    let r = admin
        .delete(&format!("/folders/{folder}/grants/{group}"))
        .await;
    assert!(r.status().is_success());
    assert_eq!(a.get(&format!("/assets/{x}/original")).await.status(), 200);
    assert_eq!(a.get(&format!("/assets/{y}/original")).await.status(), 404);
    assert_eq!(a.get(&format!("/assets/{y}")).await.status(), 404);
    for id in [&x, &y, &z] {
        assert_eq!(b.get(&format!("/assets/{id}/original")).await.status(), 404);
        assert_eq!(b.get(&format!("/assets/{id}")).await.status(), 404);
    }
    let r = b.post("/zip", json!({ "asset_ids": [x, z] })).await;
    assert_ne!(r.status(), 200, "b zips nothing of a's");
    let found = expect_json(b.get("/search?q=poster").await, 200).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 0, "{found}");
    let found = expect_json(a.get("/search?q=poster").await, 200).await;
    let mut ids: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut want = vec![x.as_str(), z.as_str()];
    want.sort();
    assert_eq!(ids, want);
    // Members cannot list or revoke grants.
    let grants = expect_json(admin.get("/grants").await, 200).await;
    let gid = grants["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(grants["items"].as_array().unwrap().len(), 2);
    for who in [&a, &b] {
        assert_eq!(who.get("/grants").await.status(), 404);
        assert_eq!(
            who.get(&format!("/grants?user_id={}", a.user_id))
                .await
                .status(),
            404
        );
        assert_eq!(who.delete(&format!("/grants/{gid}")).await.status(), 404);
    }
    assert_eq!(
        expect_json(admin.get("/grants").await, 200).await["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(admin.delete("/grants/nope").await.status(), 404);

    // Archived while granted: gone for the member everywhere.
    let r = admin.post(&format!("/assets/{z}/archive"), json!({})).await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(a.get(&format!("/assets/{z}")).await.status(), 404);
    assert_eq!(a.get(&format!("/assets/{z}/original")).await.status(), 404);
    let r = a.post("/zip", json!({ "asset_ids": [z] })).await;
    assert_ne!(r.status(), 200);
    let found = expect_json(a.get("/search?q=poster").await, 200).await;
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != z.as_str()),
        "{found}"
    );
    let r = a.post("/zip", json!({ "asset_ids": [x, z] })).await;
    assert_eq!(r.status(), 200);
    let names: Vec<String> = zip_entries(&r.bytes().await.unwrap())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, vec!["x-poster.png".to_string()]);

    // Ended: nothing through any channel.
    app.advance(3 * DAY);
    assert_eq!(a.get(&format!("/assets/{x}/original")).await.status(), 404);
    assert_eq!(a.get(&format!("/assets/{x}")).await.status(), 404);
    let r = a.post("/zip", json!({ "asset_ids": [x] })).await;
    assert_ne!(r.status(), 200, "no ZIP after the grant ended");
    let found = expect_json(a.get("/search?q=poster").await, 200).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 0, "{found}");
}

// ---------------------------------------------------------------------------------------------
// 5. Upload-link slots and revisions

async fn send(
    c: &reqwest::Client,
    app: &TestApp,
    path: &str,
    slot: &str,
    file: (&str, Vec<u8>),
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("uploader_name", "Nora Studio")
        .text("uploader_email", "nora@studio.example")
        .text("slot", slot.to_string())
        .text("title", "A title")
        .part(
            "file",
            reqwest::multipart::Part::bytes(file.1).file_name(file.0.to_string()),
        );
    c.post(app.url(&format!("{path}/files")))
        .header(header::ACCEPT, "application/json")
        .multipart(form)
        .send()
        .await
        .expect("send")
}

async fn upload_link(admin: &Api, slots: Value) -> (Value, String) {
    let name = format!("Incoming {}", assetport::token::random_hex(4));
    let folder = admin.folder(None, &name).await;
    let created = admin
        .post_ok(
            "/upload-links",
            json!({ "folder_id": folder, "title": "Spring", "slots": slots }),
            201,
        )
        .await;
    let path = upload_path(created["url"].as_str().unwrap());
    (created, path)
}

/// A PNG's first bytes with an IHDR stating `w`×`h`, and nothing after (a truncated file).
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(b"IHDR");
    out.extend_from_slice(&ihdr);
    let mut crc_in = b"IHDR".to_vec();
    crc_in.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32(&crc_in).to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for b in bytes {
        c ^= u32::from(*b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A JPEG's first bytes stating `w`×`h` (SOI, JFIF, SOF0), whatever its name says.
fn jpeg(w: u16, h: u16) -> Vec<u8> {
    let mut out = vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10];
    out.extend_from_slice(b"JFIF\0");
    out.extend_from_slice(&[1, 1, 0, 0, 1, 0, 1, 0, 0]);
    out.extend_from_slice(&[0xff, 0xc0, 0x00, 0x11, 0x08]);
    out.extend_from_slice(&h.to_be_bytes());
    out.extend_from_slice(&w.to_be_bytes());
    out.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    out.extend_from_slice(&[0xff, 0xd9]);
    out
}

/// Files whose names lie, truncated or absurd headers, empty files: refused with a reason (or,
/// for a truncated file whose header fits, taken), never a server error, and nothing of a
/// refused file stays stored.
async fn slot_checks_read_the_bytes_not_the_name_and_survive_broken_headers(app: TestApp) {
    let admin = app.admin().await;
    let (link, path) = upload_link(
        &admin,
        json!([
            {"name": "Hero", "types": ["image/png"], "min_width": 3000,
             "files": {"min": 1, "max": 5}},
            {"name": "Any picture", "types": ["image/*"], "max_bytes": 4096,
             "files": {"min": 1, "max": 5}},
        ]),
    )
    .await;
    let (hero, any) = (slot_id(&link, 0), slot_id(&link, 1));
    let nora = sender_browser();
    nora.get(app.url(&path)).send().await.unwrap();
    let before = app.stored_files().await;
    let refused = [
        (hero.as_str(), "hero.png", jpeg(3200, 8)),
        (
            hero.as_str(),
            "hero.png",
            b"%PDF-1.7\n1 0 obj <<>> endobj\n".to_vec(),
        ),
        (
            any.as_str(),
            "pic.png",
            b"%PDF-1.7\n1 0 obj <<>> endobj\n".to_vec(),
        ),
        (hero.as_str(), "empty.png", Vec::new()),
        (hero.as_str(), "magic.png", b"\x89PNG\r\n\x1a\n".to_vec()),
        (
            any.as_str(),
            "big.png",
            [png(40, 40, 1), vec![0; 8000]].concat(),
        ),
        // An SVG is a document that can carry script: `image/*` does not take one.
        (
            any.as_str(),
            "pic.jpg",
            br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec(),
        ),
    ];
    for (slot, name, bytes) in refused {
        let r = send(&nora, &app, &path, slot, (name, bytes)).await;
        let s = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        assert!(s == 422 || s == 413 || s == 400, "{name}: {s} {body}");
    }
    assert_eq!(
        app.stored_files().await,
        before,
        "nothing of a refused file stays"
    );
    assert_eq!(app.count("assets").await, 0);

    // Headers that lie: no server error whatever is decided, and the server still answers.
    for (name, bytes) in [
        ("truncated.png", png_header_only(3000, 4)),
        ("huge.png", png_header_only(u32::MAX, u32::MAX)),
        ("zero.png", png_header_only(0, 0)),
        ("cut.png", png(3000, 4, 1)[..60].to_vec()),
    ] {
        let r = send(&nora, &app, &path, &hero, (name, bytes)).await;
        let s = r.status().as_u16();
        assert!(s == 201 || s == 422, "{name}: {s}");
    }
    let r = send(&nora, &app, &path, &hero, ("real.png", png(3000, 4, 2))).await;
    assert_eq!(r.status(), 201, "the server still works");
}

fn tus_meta(slot: &str) -> String {
    [
        ("filename", "hero.png"),
        ("uploader_name", "Nora Studio"),
        ("uploader_email", "nora@studio.example"),
        ("slot", slot),
        ("title", "Hero"),
    ]
    .iter()
    .map(|(k, v)| format!("{k} {}", b64(v)))
    .collect::<Vec<_>>()
    .join(",")
}

async fn tus_patch(c: &reqwest::Client, url: &str, offset: usize, bytes: &[u8]) -> u16 {
    tus(c, Method::PATCH, url)
        .header("Upload-Offset", offset.to_string())
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// tus through an upload link: a length over the slot's limit is refused before a byte; another
/// sender (or nobody) can neither read, continue nor end someone's upload; the owner still can.
async fn tus_uploads_belong_to_their_sender_and_respect_the_slot_limit(app: TestApp) {
    let admin = app.admin().await;
    let (link, path) = upload_link(
        &admin,
        json!([{"name": "Hero", "types": ["image/png"], "max_bytes": 100000,
                "files": {"min": 1, "max": 2}}]),
    )
    .await;
    let hero = slot_id(&link, 0);
    let nora = sender_browser();
    nora.get(app.url(&path)).send().await.unwrap();
    let before = app.stored_files().await;
    let create = |c: &reqwest::Client, length: u64| {
        tus(c, Method::POST, &app.url(&format!("{path}/tus")))
            .header("Upload-Length", length.to_string())
            .header("Upload-Metadata", tus_meta(&hero))
            .send()
    };
    for length in [100_001u64, u64::MAX] {
        let r = create(&nora, length).await.unwrap();
        let s = r.status().as_u16();
        assert!(s == 422 || s == 413 || s == 400, "{length}: {s}");
    }
    assert_eq!(app.count("tus_uploads").await, 0);

    let good = png(300, 20, 3);
    let r = create(&nora, good.len() as u64).await.unwrap();
    assert_eq!(r.status(), 201);
    let url = location(&r);
    assert_eq!(tus_patch(&nora, &url, 0, &good[..50]).await, 204);

    let mallory = sender_browser();
    mallory.get(app.url(&path)).send().await.unwrap();
    for c in [&mallory, &visitor()] {
        assert_eq!(tus_patch(c, &url, 50, &png(300, 20, 9)[50..]).await, 404);
        let r = tus(c, Method::HEAD, &url).send().await.unwrap();
        assert_eq!(r.status(), 404);
        let r = tus(c, Method::DELETE, &url).send().await.unwrap();
        assert_eq!(r.status(), 404);
    }
    // Another link's address with the right id: not found either.
    let (_, other_path) = upload_link(&admin, json!([{"name": "Other"}])).await;
    let id = url.rsplit('/').next().unwrap();
    let other_url = app.url(&format!("{other_path}/tus/{id}"));
    assert_eq!(tus_patch(&nora, &other_url, 50, &good[50..]).await, 404);

    let r = tus(&nora, Method::HEAD, &url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["upload-offset"], "50", "untouched by others");
    assert_eq!(tus_patch(&nora, &url, 50, &good[50..]).await, 204);
    let read = expect_json(
        admin
            .get(&format!("/upload-links/{}", link["id"].as_str().unwrap()))
            .await,
        200,
    )
    .await;
    assert_eq!(read["slots"][0]["delivered"], 1);
    // The refused lengths stored nothing: what is new belongs to the one finished file.
    assert!(app.stored_files().await.len() > before.len());
    assert_eq!(app.count("assets").await, 1);
}

/// A revision only replaces a file waiting for changes, through its own link and by its own
/// sender; anything else is refused and stores nothing.
async fn revisions_only_replace_a_file_waiting_for_changes(app: TestApp) {
    let admin = app.admin().await;
    let (link, path) = upload_link(
        &admin,
        json!([{"name": "Hero", "types": ["image/png"], "files": {"min": 1, "max": 3}}]),
    )
    .await;
    let (_, other_path) = upload_link(&admin, json!([{"name": "Other"}])).await;
    let hero = slot_id(&link, 0);
    let nora = sender_browser();
    nora.get(app.url(&path)).send().await.unwrap();
    nora.get(app.url(&other_path)).send().await.unwrap();
    let sent = expect_json(
        send(&nora, &app, &path, &hero, ("a.png", png(40, 40, 1))).await,
        201,
    )
    .await;
    let asset = sent["id"].as_str().unwrap().to_string();
    let sent = expect_json(
        send(&nora, &app, &path, &hero, ("b.png", png(40, 40, 7))).await,
        201,
    )
    .await;
    let published = sent["id"].as_str().unwrap().to_string();
    let revise = |p: &str, asset: &str, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new().text("comment", "v2").part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("a-v2.png"),
        );
        nora.post(app.url(&format!("{p}/files/{asset}/revision")))
            .header(header::ACCEPT, "application/json")
            .multipart(form)
            .send()
    };
    // In review: 409.
    let r = revise(&path, &asset, png(40, 40, 2)).await.unwrap();
    assert_eq!(r.status(), 409);
    // Approved (published): 409.
    admin.approve(&published).await;
    let r = revise(&path, &published, png(40, 40, 2)).await.unwrap();
    assert_eq!(r.status(), 409);
    // An asset that never came through a link, through another link, an unknown one: 404.
    let folder = admin.folder(None, "Library").await;
    let own = admin.upload_id(&folder, "own.png", png(30, 30, 4)).await;
    // Past the sender's receipt (a minute after the last file), so the queue empties.
    app.advance(std::time::Duration::from_secs(61));
    app.jobs_settled().await;
    let before = app.stored_files().await;
    let r = revise(&path, &own, png(40, 40, 2)).await.unwrap();
    assert_eq!(r.status(), 404);
    let r = revise(&other_path, &asset, png(40, 40, 2)).await.unwrap();
    assert_ne!(r.status().as_u16(), 201);
    let r = revise(&path, "nope", png(40, 40, 2)).await.unwrap();
    assert_eq!(r.status(), 404);
    // Rejected: a revision that does not fit the slot is refused; nothing stored.
    let r = admin
        .post(
            &format!("/assets/{asset}/reject"),
            json!({ "comment": "redo" }),
        )
        .await;
    assert!(r.status().is_success());
    let r = revise(&path, &asset, jpeg(40, 40)).await.unwrap();
    assert_eq!(r.status(), 422);
    let r = revise(&path, &asset, Vec::new()).await.unwrap();
    assert!(r.status().is_client_error());
    // Through the other link (where Nora is a sender too): not this link's file.
    let r = revise(&other_path, &asset, png(40, 40, 2)).await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        app.stored_files().await,
        before,
        "refused revisions store nothing"
    );
    let versions = expect_json(admin.get(&format!("/assets/{asset}/versions")).await, 200).await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 1);
    // Two revisions racing: one lands.
    let (r1, r2) = tokio::join!(
        revise(&path, &asset, png(40, 40, 5)),
        revise(&path, &asset, png(40, 40, 6))
    );
    let mut s = [r1.unwrap().status().as_u16(), r2.unwrap().status().as_u16()];
    s.sort();
    assert_eq!(s, [201, 409], "one revision of one rejected file");
    let versions = expect_json(admin.get(&format!("/assets/{asset}/versions")).await, 200).await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 2);
}

on_both_backends!(
    decision_tokens_follow_the_deciders_rights_and_bad_terms_change_nothing,
    renewal_requests_are_throttled_per_address_across_links,
    hostile_renewal_fields_are_refused_or_escaped,
    an_unlock_cookie_from_before_a_rotation_does_not_pass_the_code_gate,
    approving_a_renewal_of_a_link_revoked_meanwhile_is_409_and_stays_pending,
    a_flood_of_foreign_addresses_on_a_bound_link_mails_nothing,
    a_personal_grant_opens_exactly_one_members_assets_while_it_lasts,
    slot_checks_read_the_bytes_not_the_name_and_survive_broken_headers,
    tus_uploads_belong_to_their_sender_and_respect_the_slot_limit,
    revisions_only_replace_a_file_waiting_for_changes,
);
