//! Issue 16, parts 10–12: accounts and ownership (API tokens after disabling and password
//! resets, links of a demoted or disabled admin), hostile names in ZIPs and
//! `Content-Disposition`, and headers and errors (HSTS, `Cache-Control`, JSON errors for every
//! API rejection, the Origin check's scheme). Real HTTP, both databases.
mod common;

use assetport::accounts::users::Role;
use common::*;
use reqwest::header;
use serde_json::{json, Value};
use unicode_normalization::UnicodeNormalization;

async fn live_tokens(app: &TestApp, user_id: &str) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .get("n")
}

// ---- 10. Accounts and ownership -------------------------------------------------------------

async fn api_tokens_of_a_disabled_user_stay_dead_after_re_enabling(app: TestApp) {
    let admin = app.admin().await;
    let ann = app.user("ann@example.com", Role::Member).await;
    let old = app.api_for(&ann).await;
    assert_eq!(old.get("/account").await.status(), 200);

    assert_eq!(
        admin.delete(&format!("/users/{}", ann.id)).await.status(),
        204
    );
    assert_eq!(old.get("/account").await.status(), 401, "disabled");
    let r = admin
        .patch(&format!("/users/{}", ann.id), json!({ "disabled": false }))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        old.get("/account").await.status(),
        401,
        "a token of a disabled account does not come back with it"
    );
    assert_eq!(live_tokens(&app, &ann.id).await, 0);

    // The same through the users page.
    let fresh = app.api_for(&ann).await;
    assert_eq!(fresh.get("/account").await.status(), 200, "new tokens work");
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    for action in ["disable", "enable"] {
        let csrf = b.csrf("/admin/users").await;
        let r = b
            .post_form(
                &format!("/admin/users/{}", ann.id),
                &[("csrf_token", &csrf), ("action", action)],
            )
            .await;
        assert_eq!(r.status(), 303);
    }
    assert_eq!(fresh.get("/account").await.status(), 401);
}

async fn change_password(b: &Browser, current: &str, new: &str) -> reqwest::Response {
    let csrf = b.csrf("/account").await;
    b.post_form(
        "/account/password",
        &[
            ("csrf_token", &csrf),
            ("current_password", current),
            ("new_password", new),
            ("confirm_password", new),
        ],
    )
    .await
}

/// The reset link in the newest mail to `to`.
async fn reset_link(app: &TestApp, to: &str) -> String {
    let mail = app.wait_for_mail(to, |m| m.contains("/reset/")).await;
    reset_path(&mail)
}

async fn a_password_reset_revokes_api_tokens_a_change_keeps_them(app: TestApp) {
    let admin = app.admin().await;
    let ann = app.user("ann@example.com", Role::Member).await;
    let script = app.api_for(&ann).await;
    let b = app.browser();
    b.login_ok("ann@example.com").await;

    // A voluntary change keeps API tokens, and the form says so.
    let (_, html) = b.page("/account").await;
    assert!(
        html.contains("API tokens keep working"),
        "the password form says what happens to API tokens"
    );
    let r = change_password(&b, PASSWORD, "a changed passphrase").await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        script.get("/account").await.status(),
        200,
        "change keeps tokens"
    );

    // A reset (the owner lost control of the account) ends API tokens too.
    let visitor = app.browser();
    let csrf = visitor.csrf("/forgot").await;
    let r = visitor
        .post_form(
            "/forgot",
            &[("csrf_token", &csrf), ("email", "ann@example.com")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let link = reset_link(&app, "ann@example.com").await;
    let csrf = visitor.csrf(&link).await;
    let r = visitor
        .post_form(
            &link,
            &[
                ("csrf_token", &csrf),
                ("new_password", "a reset passphrase"),
                ("confirm_password", "a reset passphrase"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        script.get("/account").await.status(),
        401,
        "reset revokes tokens"
    );
    assert_eq!(live_tokens(&app, &ann.id).await, 0);

    // An admin setting someone's password is a reset done for them: tokens end too.
    let again = app.api_for(&ann).await;
    assert_eq!(again.get("/account").await.status(), 200);
    let r = admin
        .patch(
            &format!("/users/{}", ann.id),
            json!({ "password": "set by the admin" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(again.get("/account").await.status(), 401);
}

async fn links_of_a_demoted_or_disabled_admin_keep_working_until_revoked_all(app: TestApp) {
    let root = app.admin().await;
    let eve_account = app.user("eve@example.com", Role::Admin).await;
    let eve = app.api_for(&eve_account).await;
    let folder = root.folder(None, "Kit").await;
    let asset = root.published(&folder, "logo.png", b"png".to_vec()).await;
    let share = eve
        .create_link(json!({ "asset_ids": [asset], "title": "Eve's kit" }))
        .await;
    let upload = eve
        .post_ok(
            "/upload-links",
            json!({ "folder_id": folder, "title": "Inbox of Eve" }),
            201,
        )
        .await;
    let upload_id = upload["id"].as_str().unwrap().to_string();
    let upload_url = upload["url"].as_str().unwrap();
    let upload_path = upload_url[upload_url.find("/u/").unwrap()..].to_string();
    // A link of someone else stays alone.
    let roots = root.create_link(json!({ "asset_ids": [asset] })).await;
    let v = visitor();
    let status = |p: String| {
        let v = v.clone();
        let url = app.url(&p);
        async move { v.get(url).send().await.unwrap().status().as_u16() }
    };

    let r = root
        .patch(
            &format!("/users/{}", eve_account.id),
            json!({ "role": "member" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(status(share.path.clone()).await, 200, "demoted: link works");
    assert_eq!(status(upload_path.clone()).await, 200);
    assert_eq!(
        root.delete(&format!("/users/{}", eve_account.id))
            .await
            .status(),
        204
    );
    assert_eq!(
        status(share.path.clone()).await,
        200,
        "disabled: link works"
    );
    assert_eq!(status(upload_path.clone()).await, 200);

    // The links list marks the creator as disabled.
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let (_, list) = b.page("/admin/links").await;
    assert!(
        list.contains("eve <span class=\"badge muted\">disabled</span>"),
        "the list marks a disabled creator"
    );

    // Eve's page lists her live links with "revoke all".
    let page = format!("/admin/users/{}", eve_account.id);
    let (status_code, html) = b.page(&page).await;
    assert_eq!(status_code, 200);
    assert!(
        html.contains(&format!("/admin/links/{}", share.id)),
        "{html}"
    );
    assert!(html.contains("Inbox of Eve"), "the upload link is listed");
    assert!(!html.contains(&format!("/admin/links/{}", roots.id)));
    let action = format!("/admin/users/{}/links/revoke", eve_account.id);
    assert!(html.contains(&format!("action=\"{action}\"")));
    let csrf = csrf_in(&html).unwrap();
    let r = b.post_form(&action, &[("csrf_token", &csrf)]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(status(share.path.clone()).await, 410);
    assert_eq!(status(upload_path.clone()).await, 410);
    assert_eq!(status(roots.path.clone()).await, 200, "others' links stay");
    assert_eq!(
        app.count(&format!(
            "events WHERE kind = 'link_revoked' AND actor_link_id = '{}' AND actor_user_id = '{}'",
            share.id, root.user_id
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "events WHERE kind = 'upload_link_revoked' AND actor_link_id = '{upload_id}'"
        ))
        .await,
        1
    );
    let (_, html) = b.page(&page).await;
    assert!(
        !html.contains(&format!("/admin/links/{}", share.id)),
        "no live links left"
    );

    // The API does the same through the same action; nothing is left to revoke.
    let j = root
        .post_ok(
            &format!("/users/{}/links/revoke", eve_account.id),
            json!({}),
            200,
        )
        .await;
    assert_eq!(j, json!({ "links": 0, "upload_links": 0 }));
}

// ---- 11. ZIP and file names ----------------------------------------------------------------

fn names(entries: &[(String, String)]) -> Vec<String> {
    entries.iter().map(|(n, _)| n.clone()).collect()
}

/// No entry is a drive-letter path, a dot segment, a backslash or a colon, and no two entries
/// would land on one file (or a file on a folder) when extracted on a case-insensitive system.
fn assert_safe(names: &[String]) {
    let mut seen = std::collections::HashSet::new();
    let mut dirs = std::collections::HashSet::new();
    for n in names {
        assert_eq!(n.nfc().collect::<String>(), *n, "{n:?} is NFC");
        assert!(!n.contains(':') && !n.contains('\\'), "{n:?}");
        assert!(!n.starts_with('/'), "{n:?}");
        let segs: Vec<&str> = n.split('/').collect();
        for s in &segs {
            assert!(!s.is_empty() && *s != "." && *s != "..", "{n:?}");
        }
        for i in 1..segs.len() {
            dirs.insert(segs[..i].join("/").to_lowercase());
        }
        assert!(seen.insert(n.to_lowercase()), "{n:?} twice");
    }
    for d in &dirs {
        assert!(!seen.contains(d), "{d:?} is both a file and a folder");
    }
}

async fn hostile_names_make_safe_distinct_zip_entries(app: TestApp) {
    let admin = app.admin().await;
    let top = admin.folder(None, "Top").await;
    // `:` and `\` from an anonymous sender and through the API are replaced when stored.
    let j = admin
        .upload(&top, "stream.txt:hidden", b"ads".to_vec())
        .await;
    let stored = j["filename"].as_str().unwrap().to_string();
    assert!(!stored.contains(':'), "{stored}");
    let j = admin.upload(&top, "back\\slash.txt", b"bs".to_vec()).await;
    assert!(!j["filename"].as_str().unwrap().contains('\\'));
    let drive = admin.folder(Some(&top), "D:").await;
    let got = expect_json(admin.get(&format!("/folders/{drive}")).await, 200).await;
    assert!(!got["name"].as_str().unwrap().contains(':'), "{got}");

    let ul = admin
        .post_ok("/upload-links", json!({ "folder_id": top }), 201)
        .await;
    let url = ul["url"].as_str().unwrap();
    let path = &url[url.find("/u/").unwrap()..];
    let r = common::send_to_upload_link(&app, path, "sent.txt:evil", b"sent").await;
    let sent = expect_json(r, 201).await;
    let sent_id = sent["id"].as_str().unwrap();
    let sent = expect_json(admin.get(&format!("/assets/{sent_id}")).await, 200).await;
    assert!(!sent["filename"].as_str().unwrap().contains(':'), "{sent}");

    // NFC and NFD spellings of one name, a file `Sub` and a folder `Sub`, and a folder whose
    // name came into the database as `C:` before names were cleaned.
    let nfc = "\u{e9}.txt";
    let nfd = "e\u{301}.txt";
    admin.published(&top, nfc, b"nfc".to_vec()).await;
    admin.published(&top, nfd, b"nfd".to_vec()).await;
    admin.published(&top, "Sub", b"file".to_vec()).await;
    let sub = admin.folder(Some(&top), "Sub").await;
    admin.published(&sub, "inner.txt", b"inner".to_vec()).await;
    let legacy = admin.folder(Some(&top), "Cdrive").await;
    let windows = admin.folder(Some(&legacy), "Windows").await;
    admin
        .published(&windows, "evil.txt", b"evil".to_vec())
        .await;
    sqlx::query(
        "UPDATE folders SET name = replace(name, 'Cdrive', 'C:'), \
         path = replace(path, '/Cdrive', '/C:')",
    )
    .execute(&app.state.db.pool)
    .await
    .unwrap();

    let r = admin.post("/zip", json!({ "folder_id": top })).await;
    assert_eq!(r.status(), 200);
    let entries = zip_entries(&r.bytes().await.unwrap());
    let names = names(&entries);
    assert_safe(&names);
    let hashes: Vec<&str> = entries.iter().map(|(_, h)| h.as_str()).collect();
    for content in [&b"nfc"[..], b"nfd", b"file", b"inner", b"evil"] {
        assert!(
            hashes.contains(&sha256_hex(content).as_str()),
            "{:?} is in {names:?}",
            String::from_utf8_lossy(content)
        );
    }
    assert!(names.contains(&"\u{e9}.txt".to_string()), "{names:?}");
    assert!(
        names
            .iter()
            .any(|n| n.ends_with("Windows/evil.txt") && n.starts_with("C_")),
        "{names:?}"
    );

    // The same names through a share link of the folder.
    let link = admin.create_link(json!({ "folder_id": top })).await;
    let r = visitor()
        .get(app.url(&format!("{}/zip", link.path)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let names = self::names(&zip_entries(&r.bytes().await.unwrap()));
    assert_safe(&names);
}

/// The decoded `filename*` and the `filename` of a `Content-Disposition`.
fn disposition_names(v: &str) -> (String, String) {
    let plain = v
        .split("filename=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_string();
    let star = v.split("filename*=UTF-8''").nth(1).unwrap_or_default();
    let decoded = percent_decode(star);
    (plain, decoded)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

async fn a_hostile_link_title_never_reaches_filename(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Kit").await;
    let asset = admin.published(&folder, "a.txt", b"a".to_vec()).await;
    for title in ["a/../../b", "C:\\Windows\\evil", "..", "C:"] {
        let link = admin
            .create_link(json!({ "asset_ids": [asset], "title": title }))
            .await;
        let r = visitor()
            .get(app.url(&format!("{}/zip", link.path)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let cd = r.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .to_string();
        let (plain, star) = disposition_names(&cd);
        for name in [&plain, &star] {
            assert!(
                !name.contains('/') && !name.contains('\\') && !name.contains(':'),
                "{title:?} gave {cd}"
            );
            assert!(
                name.split('/').all(|s| s != "." && s != ".."),
                "{title:?} gave {cd}"
            );
            assert!(name.ends_with(".zip"), "{cd}");
        }
    }
}

// ---- 12. Headers and errors ----------------------------------------------------------------

async fn signed_in_pages_and_json_answers_are_not_stored(app: TestApp) {
    let admin = app.admin().await;
    app.user("ann@example.com", Role::Member).await;
    let b = app.browser();
    b.login_ok("ann@example.com").await;
    for path in ["/", "/account"] {
        let r = b.get(path).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()[header::CACHE_CONTROL],
            "private, no-store",
            "{path}"
        );
    }
    let r = admin.get("/account").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "private, no-store");
    let r = admin.get("/folders/nope").await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "private, no-store");
    // Without HTTPS in the public URL there is no HSTS.
    assert!(r.headers().get(header::STRICT_TRANSPORT_SECURITY).is_none());
}

/// Asserts an SPEC §3 JSON error with `status`; returns its `error` code.
async fn json_error(r: reqwest::Response, status: u16) -> String {
    assert_eq!(r.status().as_u16(), status);
    let ct = r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(ct.starts_with("application/json"), "{ct}");
    let j: Value = r.json().await.expect("a JSON body");
    assert!(j["message"].as_str().is_some_and(|m| !m.is_empty()), "{j}");
    j["error"].as_str().expect("error code").to_string()
}

async fn every_api_error_is_json(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Kit").await;
    let c = reqwest::Client::new();
    let post = |path: &str, ct: &str, body: &'static str| {
        c.post(admin.url(path))
            .bearer_auth(&admin.token)
            .header(header::CONTENT_TYPE, ct)
            .body(body)
            .send()
    };
    let r = post("/folders", "application/json", "{\"name\": ")
        .await
        .unwrap();
    assert_eq!(json_error(r, 400).await, "invalid_input");
    let r = post("/folders", "application/json", "{\"nom\": \"x\"}")
        .await
        .unwrap();
    let code = json_error(r, 422).await;
    assert_eq!(code, "unprocessable");
    let r = post("/folders", "text/plain", "{\"name\": \"x\"}")
        .await
        .unwrap();
    json_error(r, 415).await;
    let r = post(
        &format!("/folders/{folder}/assets"),
        "multipart/form-data",
        "--x\r\n",
    )
    .await
    .unwrap();
    json_error(r, 400).await;
    let r = c
        .put(admin.url("/account"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    json_error(r, 405).await;
    assert_eq!(app.count("folders").await, 1, "nothing was made");
}

async fn https_app(backend: Backend) -> Option<TestApp> {
    spawn_with(backend, |c| {
        c.public_url = "https://portal.example".into();
        c.public_url_from_bind = false;
    })
    .await
}

async fn hsts_and_origin_scheme_with_an_https_public_url(backend: Backend) {
    let Some(app) = https_app(backend).await else {
        return;
    };
    let r = visitor().get(app.url("/login")).send().await.unwrap();
    assert_eq!(
        r.headers()[header::STRICT_TRANSPORT_SECURITY],
        "max-age=31536000"
    );
    let r = visitor().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(
        r.headers()[header::STRICT_TRANSPORT_SECURITY],
        "max-age=31536000"
    );

    // The Origin must match scheme, host and port: `http://` is another origin than `https://`
    // even on the same host.
    let admin = app.admin().await;
    let folder = admin.folder(None, "Kit").await;
    let asset = admin.published(&folder, "a.txt", b"a".to_vec()).await;
    let link = admin
        .create_link(json!({ "asset_ids": [asset], "password": "open sesame" }))
        .await;
    let unlock = |origin: String| {
        let url = app.url(&format!("{}/unlock", link.path));
        async move {
            let r = visitor()
                .post(url)
                .header(header::ORIGIN, origin)
                .form(&[("password", "wrong guess")])
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };
    let refused = "did not come from this site";
    let (status, body) = unlock(format!("http://{}", app.addr)).await;
    assert_eq!(status, 403, "cross-scheme origin");
    assert!(body.contains(refused));
    for other in [
        format!("https://{}.evil.example", app.addr.ip()),
        "http://portal.example".to_string(),
        "https://portal.example:8443".to_string(),
    ] {
        let (status, body) = unlock(other.clone()).await;
        assert_eq!(status, 403, "{other}");
        assert!(body.contains(refused));
    }
    for same in [
        "https://portal.example".to_string(),
        "https://portal.example:443".to_string(),
    ] {
        let (_, body) = unlock(same.clone()).await;
        assert!(!body.contains(refused), "{same} is this site");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_hsts_and_origin_scheme() {
    hsts_and_origin_scheme_with_an_https_public_url(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_hsts_and_origin_scheme() {
    hsts_and_origin_scheme_with_an_https_public_url(Backend::Postgres).await
}

on_both_backends!(
    api_tokens_of_a_disabled_user_stay_dead_after_re_enabling,
    a_password_reset_revokes_api_tokens_a_change_keeps_them,
    links_of_a_demoted_or_disabled_admin_keep_working_until_revoked_all,
    hostile_names_make_safe_distinct_zip_entries,
    a_hostile_link_title_never_reaches_filename,
    signed_in_pages_and_json_answers_are_not_stored,
    every_api_error_is_json,
);
