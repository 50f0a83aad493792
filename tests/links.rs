//! Share links end to end over HTTP (SPEC §1 "Share link", §2.4–2.5, issue 3): what a visitor
//! sees and may download, the gates, expiry and revocation, download limits, emails, the
//! admin API and pages, and the member-side ZIP.
mod common;
use common::*;
use reqwest::header;
use serde_json::json;

/// An admin, a folder with two published assets and one draft.
struct Fixture {
    admin: Api,
    folder: String,
    a: String,
    b: String,
    draft: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;
    let a = admin
        .published(&folder, "poster.jpg", bytes(300_000, 1))
        .await;
    let b = admin.published(&folder, "flyer.pdf", bytes(5_000, 2)).await;
    let draft = admin.upload_id(&folder, "draft.png", bytes(100, 3)).await;
    Fixture {
        admin,
        folder,
        a,
        b,
        draft,
    }
}

async fn a_visitor_opens_a_link_and_downloads_files_and_a_zip(app: TestApp) {
    let f = fixture(&app).await;
    let link = f
        .admin
        .create_link(json!({ "asset_ids": [f.a, f.b, f.draft], "title": "Spring kit" }))
        .await;
    assert!(link.url.starts_with(&app.base));
    let token = link.path.trim_start_matches("/s/");
    assert!(token.len() >= 40, "at least 128 bits: {token}");
    // The token is stored only as a hash.
    let stored: i64 = {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) AS n FROM links WHERE token_hash = $1")
            .bind(token)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap()
            .try_get("n")
            .unwrap()
    };
    assert_eq!(stored, 0);

    let v = visitor();
    let r = v.get(app.url(&link.path)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "private, no-store");
    assert_eq!(r.headers()[header::REFERRER_POLICY], "no-referrer");
    let html = r.text().await.unwrap();
    assert!(html.contains("Spring kit"));
    assert!(html.contains("poster.jpg") && html.contains("flyer.pdf"));
    assert!(
        !html.contains("draft.png"),
        "drafts never show through links"
    );

    let r = v
        .get(app.url(&format!("{}/assets/{}/original", link.path, f.a)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "private, no-store");
    assert!(r.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("poster.jpg"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), bytes(300_000, 1));
    let r = v
        .get(app.url(&format!("{}/assets/{}/original", link.path, f.draft)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let r = v
        .get(app.url(&format!("{}/zip", link.path)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "application/zip");
    let zip = r.bytes().await.unwrap();
    let entries = zip_entries(&zip);
    assert_eq!(
        entries,
        vec![
            ("poster.jpg".to_string(), sha256_hex(&bytes(300_000, 1))),
            ("flyer.pdf".to_string(), sha256_hex(&bytes(5_000, 2))),
        ]
    );

    // The access log tells views and completed downloads apart.
    assert_eq!(app.link_events(&link.id, "link_view", 1).await, 1);
    assert_eq!(app.link_events(&link.id, "link_download", 2).await, 2);
    let log = expect_json(
        f.admin.get(&format!("/links/{}/events", link.id)).await,
        200,
    )
    .await;
    let kinds: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"link_view") && kinds.contains(&"link_download"));
    assert!(log["items"][0]["ip"].as_str().unwrap().starts_with("127."));
}

async fn unknown_tokens_are_404_and_probing_is_throttled(app: TestApp) {
    let v = visitor();
    let r = v
        .get(app.url("/s/s_doesnotexist0000000000000000000000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let mut last = 404;
    for i in 0..40 {
        let r = v
            .get(app.url(&format!("/s/s_guess{i:040}")))
            .send()
            .await
            .unwrap();
        last = r.status().as_u16();
        if last == 429 {
            assert!(r.headers().contains_key(header::RETRY_AFTER));
            break;
        }
    }
    assert_eq!(last, 429, "guessing tokens gets throttled");
}

async fn an_expired_link_answers_410_a_second_later(app: TestApp) {
    let f = fixture(&app).await;
    let link = f
        .admin
        .create_link(json!({ "asset_ids": [f.a], "expires_at": app.in_secs(2) }))
        .await;
    let v = visitor();
    let dl = app.url(&format!("{}/assets/{}/original", link.path, f.a));
    assert_eq!(v.get(&dl).send().await.unwrap().status(), 200);
    app.advance(std::time::Duration::from_millis(2100));
    let r = v.get(app.url(&link.path)).send().await.unwrap();
    assert_eq!(r.status(), 410);
    let html = r.text().await.unwrap();
    assert!(html.contains("expired"), "a friendly page: {html}");
    assert!(!html.contains("poster.jpg"));
    assert_eq!(v.get(&dl).send().await.unwrap().status(), 410);
    let list = expect_json(f.admin.get("/links?state=expired").await, 200).await;
    assert_eq!(list["items"][0]["id"], link.id.as_str());
}

async fn a_revoked_link_stops_mid_session(app: TestApp) {
    let f = fixture(&app).await;
    let link = f
        .admin
        .create_link(json!({ "asset_ids": [f.a], "password": "open sesame" }))
        .await;
    let v = app.browser();
    let r = v
        .post_form(
            &format!("{}/unlock", link.path),
            &[("password", "open sesame")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let dl = format!("{}/assets/{}/original", link.path, f.a);
    assert_eq!(v.get(&dl).await.status(), 200);
    let r = f.admin.delete(&format!("/links/{}", link.id)).await;
    assert_eq!(r.status(), 204);
    assert_eq!(v.get(&dl).await.status(), 410);
    let (status, html) = v.page(&link.path).await;
    assert_eq!(status, 410);
    assert!(html.contains("withdrawn"));
    let revoked = expect_json(f.admin.get("/links?state=revoked").await, 200).await;
    assert_eq!(revoked["items"].as_array().unwrap().len(), 1);
    let active = expect_json(f.admin.get("/links?state=active").await, 200).await;
    assert!(active["items"].as_array().unwrap().is_empty());
    // Revoked is final: it cannot be extended back to life.
    let r = f
        .admin
        .patch(
            &format!("/links/{}", link.id),
            json!({ "expires_at": app.in_secs(3600) }),
        )
        .await;
    assert_eq!(r.status(), 409);
}

async fn the_password_gate_hides_names_until_passed_and_is_throttled(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Secret").await;
    let a = admin
        .published(&folder, "confidential-plan.pdf", bytes(10, 1))
        .await;
    let link = admin
        .create_link(json!({
            "asset_ids": [a], "password": "right password", "title": "Project Nightingale",
            "message": "Private note"
        }))
        .await;
    let v = app.browser();
    let (status, html) = v.page(&link.path).await;
    assert_eq!(status, 200);
    for secret in ["Project Nightingale", "confidential-plan", "Private note"] {
        assert!(
            !html.contains(secret),
            "{secret} leaked before the gate: {html}"
        );
    }
    assert!(html.contains("type=\"password\""));
    let dl = format!("{}/assets/{a}/original", link.path);
    assert_eq!(v.get(&dl).await.status(), 403);
    assert_eq!(v.get(&format!("{}/zip", link.path)).await.status(), 403);

    let r = v
        .post_form(&format!("{}/unlock", link.path), &[("password", "wrong")])
        .await;
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(!html.contains("confidential-plan"));
    // The refused field is marked for screen readers, and the page puts the link's own address
    // back in the bar (data-page-url, for app.js) so a reload does not post the form again.
    assert!(
        html.contains(r#"aria-invalid="true" aria-describedby="gate-error""#),
        "{html}"
    );
    assert!(html.contains(&format!(r#"data-page-url="{}""#, link.path)));
    // The form's address opened directly leads back to the link.
    for gate in ["unlock", "code", "verify", "accept"] {
        let r = v.get(&format!("{}/{gate}", link.path)).await;
        assert_eq!(r.status(), 303, "{gate}");
        assert_eq!(location(&r), link.path, "{gate}");
    }

    let r = v
        .post_form(
            &format!("{}/unlock", link.path),
            &[("password", "right password")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let cookie = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains(&format!("Path={}", link.path)), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let (_, html) = v.page(&link.path).await;
    assert!(html.contains("Project Nightingale") && html.contains("confidential-plan.pdf"));
    assert_eq!(v.get(&dl).await.status(), 200);

    // Repeated wrong passwords from one visitor: 429 with Retry-After, even for the right one.
    let other = app.browser();
    let mut last = 0;
    for _ in 0..12 {
        let r = other
            .post_form(&format!("{}/unlock", link.path), &[("password", "nope")])
            .await;
        last = r.status().as_u16();
        if last == 429 {
            assert!(r.headers().contains_key(header::RETRY_AFTER));
            break;
        }
    }
    assert_eq!(last, 429);
    let r = other
        .post_form(
            &format!("{}/unlock", link.path),
            &[("password", "right password")],
        )
        .await;
    assert_eq!(r.status(), 429);
    // The visitor is told to wait, not sent to a library it has no account for.
    let page = r.text().await.unwrap();
    assert!(page.contains("Slow down") && !page.contains("Go to the library"));
    assert!(app.link_events(&link.id, "link_password_failed", 10).await >= 10);
}

async fn an_unlock_cookie_works_only_on_its_own_link(app: TestApp) {
    let f = fixture(&app).await;
    let one = f
        .admin
        .create_link(json!({ "asset_ids": [f.a], "password": "same secret" }))
        .await;
    let two = f
        .admin
        .create_link(json!({ "asset_ids": [f.a], "password": "same secret" }))
        .await;
    let v = visitor();
    let r = v
        .post(app.url(&format!("{}/unlock", one.path)))
        .form(&[("password", "same secret")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let set = r.headers()[header::SET_COOKIE].to_str().unwrap();
    let pair = set.split(';').next().unwrap().to_string();
    let get = |path: String| {
        let v = v.clone();
        let pair = pair.clone();
        let url = app.url(&path);
        async move {
            v.get(url)
                .header(header::COOKIE, pair)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        get(format!("{}/assets/{}/original", one.path, f.a)).await,
        200
    );
    // Replayed on another link: worthless.
    assert_eq!(
        get(format!("{}/assets/{}/original", two.path, f.a)).await,
        403
    );
    // A forged cookie is worthless too.
    let forged = visitor()
        .get(app.url(&format!("{}/assets/{}/original", two.path, f.a)))
        .header(header::COOKIE, "assetport_link=eyJhbGciOiJub25lIn0.e30.")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    // Rotation: the old address is gone at once, and old unlocks die with it.
    let rotated = expect_json(
        f.admin
            .post(&format!("/links/{}/rotate", one.id), json!({}))
            .await,
        200,
    )
    .await;
    let new_url = rotated["url"].as_str().unwrap();
    let new_path = &new_url[new_url.find("/s/").unwrap()..];
    assert_ne!(new_path, one.path);
    assert_eq!(get(one.path.clone()).await, 404);
    assert_eq!(
        get(format!("{new_path}/assets/{}/original", f.a)).await,
        403
    );
}

async fn a_link_serves_only_approved_in_window_assets_of_its_target(app: TestApp) {
    let admin = app.admin().await;
    let top = admin.folder(None, "Brand").await;
    let linked = admin.folder(Some(&top), "Linked").await;
    let sub = admin.folder(Some(&linked), "Sub").await;
    let sibling = admin.folder(Some(&top), "Sibling").await;
    let in_linked = admin.published(&linked, "in.jpg", bytes(10, 1)).await;
    let in_sub = admin.published(&sub, "deep.jpg", bytes(10, 2)).await;
    let in_sibling = admin.published(&sibling, "other.jpg", bytes(10, 3)).await;
    let draft = admin.upload_id(&linked, "wip.jpg", bytes(10, 4)).await;
    let link = admin.create_link(json!({ "folder_id": linked })).await;
    let v = visitor();
    let status = |id: String| {
        let v = v.clone();
        let url = app.url(&format!("{}/assets/{id}/original", link.path));
        async move { v.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(in_linked.clone()).await, 200);
    assert_eq!(status(in_sub.clone()).await, 200);
    assert_eq!(
        status(in_sibling.clone()).await,
        404,
        "sibling folder by id"
    );
    assert_eq!(status(draft.clone()).await, 404);
    assert_eq!(status("../../etc/passwd".into()).await, 404);
    let r = v
        .get(format!(
            "{}{}/assets/%2e%2e%2F{in_sibling}/original",
            app.base, link.path
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "crafted path");
    let zip = v
        .get(app.url(&format!("{}/zip", link.path)))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let names: Vec<String> = zip_entries(&zip).into_iter().map(|e| e.0).collect();
    assert_eq!(
        names,
        vec!["in.jpg".to_string(), "Sub/deep.jpg".to_string()]
    );

    // Live: approved later → appears; archived, moved out or out of window → gone next request.
    let later = admin.published(&linked, "later.jpg", bytes(10, 5)).await;
    assert_eq!(status(later.clone()).await, 200);
    admin
        .post(&format!("/assets/{in_linked}/archive"), json!({}))
        .await;
    assert_eq!(status(in_linked).await, 404);
    let r = admin
        .patch(
            &format!("/assets/{in_sub}"),
            json!({ "folder_id": sibling }),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(status(in_sub).await, 404);
    let r = admin
        .patch(
            &format!("/assets/{later}"),
            json!({ "available_until": app.in_secs(-60) }),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(status(later).await, 404);
    let html = text_of(&v, app.url(&link.path)).await;
    assert!(html.contains("Nothing is shared here"), "{html}");
    assert_eq!(
        v.get(app.url(&format!("{}/zip", link.path)))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

/// The landing page's gallery is cached (links::gallery); it must follow every change on the
/// next request, including availability windows that open or close with nobody writing.
async fn the_landing_page_follows_library_changes_at_once(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Live").await;
    let other = admin.folder(None, "Elsewhere").await;
    let first = admin.published(&folder, "first.jpg", bytes(10, 1)).await;
    let link = admin.create_link(json!({ "folder_id": folder })).await;
    let v = visitor();
    let page = || {
        let v = v.clone();
        let url = app.url(&link.path);
        async move { text_of(&v, url).await }
    };
    assert!(page().await.contains("first.jpg"));
    assert!(page().await.contains("first.jpg"), "served again (cached)");

    let second = admin.published(&folder, "second.jpg", bytes(10, 2)).await;
    assert!(page().await.contains("second.jpg"), "approved later: shown");
    let r = admin
        .patch(
            &format!("/assets/{first}"),
            json!({ "title": "Renamed poster" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        page().await.contains("Renamed poster"),
        "metadata edit: shown"
    );
    admin
        .post(&format!("/assets/{first}/archive"), json!({}))
        .await;
    let html = page().await;
    assert!(!html.contains("Renamed poster"), "archived: gone");
    let r = admin
        .patch(&format!("/assets/{second}"), json!({ "folder_id": other }))
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        page().await.contains("Nothing is shared here"),
        "moved out: gone"
    );

    // Windows: nothing is written when they open or close, yet the page follows them.
    let timed = admin.published(&folder, "timed.jpg", bytes(10, 3)).await;
    let r = admin
        .patch(
            &format!("/assets/{timed}"),
            json!({ "available_until": app.in_secs(2) }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(page().await.contains("timed.jpg"));
    app.advance(std::time::Duration::from_millis(2500));
    assert!(!page().await.contains("timed.jpg"), "window closed: gone");
    let r = admin
        .patch(
            &format!("/assets/{timed}"),
            json!({ "available_until": null, "available_from": app.in_secs(2) }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(!page().await.contains("timed.jpg"), "embargoed: hidden");
    app.advance(std::time::Duration::from_millis(2500));
    assert!(page().await.contains("timed.jpg"), "embargo over: shown");

    // A revoked link is refused even though its gallery is cached.
    let r = admin.delete(&format!("/links/{}", link.id)).await;
    assert_eq!(r.status(), 204);
    let r = v.get(app.url(&link.path)).send().await.unwrap();
    assert_eq!(r.status(), 410);
}

async fn a_download_limit_of_n_lets_exactly_n_through_concurrently(app: TestApp) {
    let f = fixture(&app).await;
    let link = f
        .admin
        .create_link(json!({ "asset_ids": [f.a], "max_downloads": 5 }))
        .await;
    let url = app.url(&format!("{}/assets/{}/original", link.path, f.a));
    let v = visitor();
    let mut tasks = Vec::new();
    for _ in 0..15 {
        let v = v.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let r = v.get(url).send().await.unwrap();
            let s = r.status().as_u16();
            let _ = r.bytes().await;
            s
        }));
    }
    let mut ok = 0;
    let mut gone = 0;
    for t in tasks {
        match t.await.unwrap() {
            200 => ok += 1,
            410 => gone += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((ok, gone), (5, 10));
    let j = expect_json(f.admin.get(&format!("/links/{}", link.id)).await, 200).await;
    assert_eq!(j["downloads"], 5);
    // A Range request that resumes nothing this visitor was given is a new download, refused
    // once the limit is used up (tests/delivery.rs has the resumes that are allowed)…
    let r = v
        .get(&url)
        .header(header::RANGE, "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    // …and so is the whole ZIP.
    assert_eq!(
        v.get(app.url(&format!("{}/zip", link.path)))
            .send()
            .await
            .unwrap()
            .status(),
        410
    );
}

async fn a_renditions_only_link_serves_no_originals(app: TestApp) {
    let f = fixture(&app).await;
    let link = f
        .admin
        .create_link(json!({ "asset_ids": [f.a], "allow_original": false }))
        .await;
    let v = visitor();
    let html = text_of(&v, app.url(&link.path)).await;
    assert!(html.contains("poster.jpg"));
    assert!(!html.contains("/original"));
    for p in [format!("/assets/{}/original", f.a), "/zip".to_string()] {
        let r = v
            .get(app.url(&format!("{}{p}", link.path)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{p}");
    }
}

async fn licence_terms_are_accepted_before_the_first_download(app: TestApp) {
    let f = fixture(&app).await;
    let link = f
        .admin
        .create_link(json!({ "asset_ids": [f.a], "terms": "Use only in EMEA until June." }))
        .await;
    let v = app.browser();
    let (_, html) = v.page(&link.path).await;
    assert!(html.contains("Use only in EMEA until June."));
    let dl = format!("{}/assets/{}/original", link.path, f.a);
    assert_eq!(v.get(&dl).await.status(), 403);
    let r = v.post_form(&format!("{}/accept", link.path), &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(v.get(&dl).await.status(), 200);
    assert_eq!(app.link_events(&link.id, "link_terms_accepted", 1).await, 1);
}

async fn per_recipient_links_are_emailed_and_revocable_one_by_one(app: TestApp) {
    let f = fixture(&app).await;
    let created = f
        .admin
        .post_ok(
            "/links",
            json!({
                "asset_ids": [f.a], "recipients": ["Ann@Example.com", "bob@example.com"],
                "per_recipient": true, "message": "Here is the kit."
            }),
            201,
        )
        .await;
    let links = created["links"].as_array().unwrap();
    assert_eq!(links.len(), 2);
    assert_eq!(links[0]["recipient"], "ann@example.com");
    let url_a = links[0]["url"].as_str().unwrap().to_string();
    let url_b = links[1]["url"].as_str().unwrap().to_string();
    assert_ne!(url_a, url_b);
    let mails = app.outbox();
    assert_eq!(mails.len(), 2);
    let to_ann = mails
        .iter()
        .find(|m| m.contains("ann@example.com"))
        .unwrap();
    assert!(to_ann.contains(&url_a) && !to_ann.contains(&url_b));
    assert!(to_ann.contains("Here is the kit."));

    let filtered = expect_json(f.admin.get("/links?recipient=bob").await, 200).await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["items"][0]["recipient"], "bob@example.com");

    let ann_id = links[0]["id"].as_str().unwrap();
    assert_eq!(
        f.admin.delete(&format!("/links/{ann_id}")).await.status(),
        204
    );
    let v = visitor();
    assert_eq!(v.get(&url_a).send().await.unwrap().status(), 410);
    assert_eq!(v.get(&url_b).send().await.unwrap().status(), 200);
}

async fn a_one_time_code_opens_the_link_for_its_recipient(app: TestApp) {
    let f = fixture(&app).await;
    let created = f
        .admin
        .post_ok(
            "/links",
            json!({
                "asset_ids": [f.a], "recipients": ["ann@example.com"], "require_code": true,
                "title": "Coded"
            }),
            201,
        )
        .await;
    let url = created["url"].as_str().unwrap();
    let path = url[url.find("/s/").unwrap()..].to_string();
    // The code mail is one of the editable emails; a text without {code} is refused.
    let admin_b = app.browser();
    admin_b.login_ok("admin@example.com").await;
    let csrf = admin_b.csrf("/admin/branding/emails").await;
    for (body, status) in [("No code here", 422), ("Type this:\n    {code}\n", 303)] {
        let r = admin_b
            .post_form(
                "/admin/branding/emails/link_code",
                &[
                    ("csrf_token", &csrf),
                    ("subject", "Your {portal} code"),
                    ("body", body),
                ],
            )
            .await;
        assert_eq!(r.status(), status, "{body}");
    }
    let v = app.browser();
    let (_, html) = v.page(&path).await;
    assert!(!html.contains("Coded") && !html.contains("poster.jpg"));
    assert!(html.contains("one-time code"));
    // Asking for a code for an address that is not a recipient sends nothing.
    let before = app.outbox().len();
    let r = v
        .post_form(&format!("{path}/code"), &[("email", "mallory@example.com")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.outbox().len(), before);
    let r = v
        .post_form(&format!("{path}/code"), &[("email", "ann@example.com")])
        .await;
    assert_eq!(r.status(), 303);
    // The address stays out of the URL; the code form remembers it (one field: the code).
    let location = r.headers()["location"].to_str().unwrap();
    assert!(!location.contains("ann"), "{location}");
    let (_, html) = v.page(&path).await;
    assert!(html.contains(r#"<input type="hidden" name="email" value="ann@example.com">"#));
    assert!(html.contains(r#"name="code""#));
    let mail = mail_text(&app.outbox().pop().unwrap());
    assert!(
        mail.contains("Subject: Your assetport code") && mail.contains("Type this:"),
        "{mail}"
    );
    let code: String = mail
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.chars().all(|c| c.is_ascii_digit()))
        .expect("a code in the mail")
        .to_string();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = v
        .post_form(
            &format!("{path}/verify"),
            &[("email", "ann@example.com"), ("code", wrong)],
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = v
        .post_form(
            &format!("{path}/verify"),
            &[("email", "ann@example.com"), ("code", &code)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = v.page(&path).await;
    assert!(html.contains("Coded") && html.contains("poster.jpg"));
    // A code works once.
    let again = app.browser();
    let r = again
        .post_form(
            &format!("{path}/verify"),
            &[("email", "ann@example.com"), ("code", &code)],
        )
        .await;
    assert_eq!(r.status(), 403);
}

async fn the_links_api_checks_its_input_and_is_admin_only(app: TestApp) {
    let f = fixture(&app).await;
    let group = f.admin.group("Partners").await;
    f.admin.grant(&f.folder, &group, true, true, false).await;
    let member = app.member("partner@example.com", &[&group]).await;
    assert_eq!(
        member
            .post("/links", json!({ "asset_ids": [f.a] }))
            .await
            .status(),
        404
    );
    assert_eq!(member.get("/links").await.status(), 404);
    let bad = [
        (
            json!({ "asset_ids": [f.a], "expires_at": app.in_secs(-1) }),
            422,
        ),
        (
            json!({ "asset_ids": [f.a], "expires_at": app.in_secs(91 * 86400) }),
            422,
        ),
        (json!({ "asset_ids": [f.a], "expires_at": "tomorrow" }), 400),
        (json!({ "asset_ids": [f.a], "folder_id": f.folder }), 400),
        (json!({}), 400),
        (json!({ "asset_ids": ["nope"] }), 422),
        (json!({ "folder_id": "nope" }), 422),
        (json!({ "collection_id": "c" }), 422),
        (json!({ "asset_ids": [f.a], "password": "short" }), 422),
        (json!({ "asset_ids": [f.a], "max_downloads": 0 }), 422),
        (
            json!({ "asset_ids": [f.a], "recipients": ["not an email"] }),
            400,
        ),
        (json!({ "asset_ids": [f.a], "per_recipient": true }), 422),
        (json!({ "asset_ids": [f.a], "surprise": 1 }), 422),
    ];
    for (body, status) in bad {
        let r = f.admin.post("/links", body.clone()).await;
        assert_eq!(r.status().as_u16(), status, "{body}");
    }
    assert_eq!(app.count("links").await, 0, "nothing half-created");

    let link = f.admin.create_link(json!({ "asset_ids": [f.a] })).await;
    let j = &link.json;
    assert_eq!(j["links"].as_array().unwrap().len(), 1);
    let read = expect_json(f.admin.get(&format!("/links/{}", link.id)).await, 200).await;
    assert_eq!(read["state"], "active");
    assert_eq!(read["asset_count"], 1);
    assert_eq!(read["has_password"], false);
    // Default expiry: 7 days.
    let exp = time::OffsetDateTime::parse(
        read["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let now = assetport::clock::from_ms(app.state.clock.now_ms());
    let days = (exp - now).whole_hours();
    assert!((167..=168).contains(&days), "{days} hours");
    // Extend, add a password, then remove it.
    let r = f
        .admin
        .patch(
            &format!("/links/{}", link.id),
            json!({ "expires_at": app.in_secs(30 * 86400), "password": "new secret" }),
        )
        .await;
    let patched = expect_json(r, 200).await;
    assert_eq!(patched["has_password"], true);
    let r = f
        .admin
        .patch(&format!("/links/{}", link.id), json!({ "password": null }))
        .await;
    assert_eq!(expect_json(r, 200).await["has_password"], false);
    let r = f
        .admin
        .patch(&format!("/links/{}", link.id), json!({ "colour": "red" }))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(f.admin.delete("/links/nope").await.status(), 404);

    // Bulk revoke and purge.
    let l2 = f.admin.create_link(json!({ "asset_ids": [f.b] })).await;
    let r = f
        .admin
        .post_ok(
            "/links/revoke",
            json!({ "ids": [link.id, l2.id, "nope"] }),
            200,
        )
        .await;
    assert_eq!(r["revoked"], 2);
    let r = f
        .admin
        .post_ok("/links/purge-expired", json!({}), 200)
        .await;
    assert_eq!(r["purged"], 2);
    assert_eq!(app.count("links").await, 0);
    assert_eq!(
        app.count("link_assets").await,
        0,
        "targets go with their links"
    );
    // The history stays.
    assert!(app.link_events(&link.id, "link_revoked", 1).await >= 1);
}

async fn a_member_zip_holds_only_what_the_member_may_download(app: TestApp) {
    let admin = app.admin().await;
    let open = admin.folder(None, "Open").await;
    let sub = admin.folder(Some(&open), "Sub").await;
    let look = admin.folder(None, "LookOnly").await;
    let hidden = admin.folder(None, "Hidden").await;
    let group = admin.group("Partners").await;
    admin.grant(&open, &group, true, true, false).await;
    admin.grant(&look, &group, true, false, false).await;
    let member = app.member("partner@example.com", &[&group]).await;
    let a1 = admin.published(&open, "same.jpg", bytes(1000, 1)).await;
    let a2 = admin.published(&sub, "same.jpg", bytes(1000, 2)).await;
    let a3 = admin.published(&open, "SAME.jpg", bytes(1000, 3)).await;
    let viewonly = admin.published(&look, "look.jpg", bytes(10, 4)).await;
    let secret = admin.published(&hidden, "secret.jpg", bytes(10, 5)).await;
    let draft = admin.upload_id(&open, "draft.jpg", bytes(10, 6)).await;

    let r = member
        .post(
            "/zip",
            json!({ "asset_ids": [a1, a2, a3, viewonly, secret, draft] }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let names: Vec<String> = zip_entries(&r.bytes().await.unwrap())
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(
        names,
        vec![
            "same.jpg".to_string(),
            "same (2).jpg".to_string(),
            "SAME (3).jpg".to_string()
        ]
    );
    let r = member.post("/zip", json!({ "folder_id": open })).await;
    assert_eq!(r.status(), 200);
    let entries = zip_entries(&r.bytes().await.unwrap());
    // Root names differ only in case, so one is renamed; which one depends on the collation.
    let mut names: Vec<String> = entries.iter().map(|e| e.0.to_lowercase()).collect();
    names.sort();
    assert_eq!(names, vec!["same (2).jpg", "same.jpg", "sub/same.jpg"]);
    let sub_entry = entries.iter().find(|e| e.0 == "Sub/same.jpg").unwrap();
    assert_eq!(sub_entry.1, sha256_hex(&bytes(1000, 2)));
    for (body, status) in [
        (json!({ "folder_id": hidden }), 404),
        (json!({ "folder_id": look }), 404),
        (json!({ "asset_ids": [secret, viewonly] }), 404),
        (json!({}), 400),
        (json!({ "asset_ids": [a1], "folder_id": open }), 400),
    ] {
        assert_eq!(
            member.post("/zip", body.clone()).await.status().as_u16(),
            status,
            "{body}"
        );
    }
    // Once the archive has gone out, each asset counts as downloaded.
    eventually("six download events", || async {
        (app.count("events WHERE kind = 'download'").await >= 6).then_some(())
    })
    .await;
    assert_eq!(app.count("events WHERE kind = 'download'").await, 6);
}

async fn email_goes_through_a_real_smtp_server(app: TestApp) {
    let Some(smtp) = common::smtp::SmtpServer::start() else {
        return;
    };
    let app = spawn_with(app.backend, |c| c.smtp_url = Some(smtp.url().into()))
        .await
        .unwrap();
    let f = fixture(&app).await;
    let link = f
        .admin
        .create_link(json!({ "asset_ids": [f.a], "recipients": ["carol@example.com"] }))
        .await;
    assert!(link.json["mail_failures"].as_array().unwrap().is_empty());
    assert!(app.outbox().is_empty(), "SMTP, not the outbox");
    let received = smtp.wait_for(&link.url);
    assert!(received.contains("carol@example.com"), "{received}");
}

async fn pages_let_an_admin_share_and_manage_links(app: TestApp) {
    let f = fixture(&app).await;
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let (status, html) = b.page(&format!("/folders/{}", f.folder)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Share selected") && html.contains("Download selected"));
    let csrf = csrf_in(&html).unwrap();
    // Selection → the form, prefilled with the selection.
    let r = b
        .post_form(
            "/admin/links/new",
            &[("csrf_token", &csrf), ("asset_ids", &f.a)],
        )
        .await;
    assert_eq!(r.status(), 200);
    let form = r.text().await.unwrap();
    assert!(form.contains("poster.jpg"));
    let r = b
        .post_form(
            "/admin/links",
            &[
                ("csrf_token", &csrf),
                ("asset_ids", &f.a),
                ("title", "Retail kit"),
                ("expires", ""),
                ("password", ""),
                ("allow_original", "on"),
                ("max_downloads", "3"),
                ("recipients", "dan@example.com"),
                ("message", "Enjoy"),
                ("terms", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let created = r.text().await.unwrap();
    let start = created.find("/s/").expect("the new address is shown");
    let path: String = created[start..].chars().take_while(|c| *c != '"').collect();
    assert_eq!(app.outbox().len(), 1);
    // The visitor uses it; the admin sees it in the list and in the link's log.
    let v = visitor();
    assert_eq!(v.get(app.url(&path)).send().await.unwrap().status(), 200);
    let (status, list) = b.page("/admin/links").await;
    assert_eq!(status, 200);
    assert!(list.contains("Retail kit") && list.contains("dan@example.com"));
    let (_, filtered) = b.page("/admin/links?state=revoked").await;
    assert!(!filtered.contains("Retail kit"));
    let id = {
        let l = expect_json(f.admin.get("/links").await, 200).await;
        l["items"][0]["id"].as_str().unwrap().to_string()
    };
    app.link_events(&id, "link_view", 1).await;
    let (status, detail) = b.page(&format!("/admin/links/{id}")).await;
    assert_eq!(status, 200);
    assert!(detail.contains("Views (1)"), "{detail}");
    // A form without the CSRF token is refused.
    let r = b.post_form(&format!("/admin/links/{id}/revoke"), &[]).await;
    assert_eq!(r.status(), 403);
    let r = b
        .post_form(
            &format!("/admin/links/{id}/revoke"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(v.get(app.url(&path)).send().await.unwrap().status(), 410);
    // A folder share from its page.
    let (status, html) = b
        .page(&format!("/admin/links/new?folder_id={}", f.folder))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("/Campaign"));
    // Ticked assets on the folder page: its form names the folder too, but shares the assets.
    let r = b
        .post_form(
            "/admin/links/new",
            &[
                ("csrf_token", &csrf),
                ("folder_id", &f.folder),
                ("asset_ids", &f.a),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("poster.jpg"), "{html}");
    assert!(!html.contains("and its subfolders"), "not the folder");
    // Member-side ZIP from the folder page.
    let r = b
        .post_form(
            "/zip",
            &[
                ("csrf_token", &csrf),
                ("folder_id", &f.folder),
                ("asset_ids", &f.a),
                ("asset_ids", &f.b),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(zip_entries(&r.bytes().await.unwrap()).len(), 2);
    let r = b
        .post_form("/zip", &[("csrf_token", &csrf), ("folder_id", &f.folder)])
        .await;
    assert_eq!(r.status(), 400, "download selected with nothing selected");
}

on_both_backends!(
    a_visitor_opens_a_link_and_downloads_files_and_a_zip,
    unknown_tokens_are_404_and_probing_is_throttled,
    an_expired_link_answers_410_a_second_later,
    a_revoked_link_stops_mid_session,
    the_password_gate_hides_names_until_passed_and_is_throttled,
    an_unlock_cookie_works_only_on_its_own_link,
    a_link_serves_only_approved_in_window_assets_of_its_target,
    the_landing_page_follows_library_changes_at_once,
    a_download_limit_of_n_lets_exactly_n_through_concurrently,
    a_renditions_only_link_serves_no_originals,
    licence_terms_are_accepted_before_the_first_download,
    per_recipient_links_are_emailed_and_revocable_one_by_one,
    a_one_time_code_opens_the_link_for_its_recipient,
    the_links_api_checks_its_input_and_is_admin_only,
    a_member_zip_holds_only_what_the_member_may_download,
    email_goes_through_a_real_smtp_server,
    pages_let_an_admin_share_and_manage_links,
);
