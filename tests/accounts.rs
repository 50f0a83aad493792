//! SPEC §2.5–2.7 and §6: sessions, CSRF, login throttling, secrets stored as hashes, headers.
mod common;
use assetport::accounts::users::Role;
use common::*;
use serde_json::json;
use sqlx::Row;

async fn login_renews_the_session_id_and_sets_safe_cookie_flags(app: TestApp) {
    app.user("ann@example.com", Role::Member).await;
    let b = app.browser();
    let first = b.get("/login").await;
    let before =
        session_cookie(&first).expect("the login page starts a session for its CSRF token");
    let _ = first.text().await;
    let r = b.login("ann@example.com", PASSWORD).await;
    assert_eq!(r.status(), 303);
    let after = session_cookie(&r).expect("login sets a new session cookie");
    let id = |c: &str| c.split(';').next().unwrap().to_string();
    assert_ne!(id(&before), id(&after), "session id renewed at login");
    let lower = after.to_lowercase();
    assert!(lower.contains("httponly"), "{after}");
    assert!(lower.contains("samesite=lax"), "{after}");
    assert!(
        !lower.contains("secure"),
        "no Secure flag on plain http: {after}"
    );
    // The pre-login session id no longer grants anything.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = replay
        .get(app.url("/"))
        .header("cookie", id(&before))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}

async fn secure_cookie_when_served_over_https(app: TestApp) {
    let app = spawn_with(app.backend, |c| {
        c.public_url = "https://portal.example".into();
        c.public_url_from_bind = false;
    })
    .await
    .unwrap();
    let r = app.browser().get("/login").await;
    assert!(session_cookie(&r)
        .unwrap()
        .to_lowercase()
        .contains("secure"));
}

async fn forms_without_a_valid_csrf_token_are_refused(app: TestApp) {
    app.user("admin@example.com", Role::Admin).await;
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let r = b.post_form("/folders", &[("name", "NoToken")]).await;
    assert_eq!(r.status(), 403);
    let r = b
        .post_form("/folders", &[("name", "BadToken"), ("csrf_token", "0000")])
        .await;
    assert_eq!(r.status(), 403);
    // A valid token from a cross-site origin is refused too.
    let csrf = b.csrf("/").await;
    let r = b
        .client
        .post(b.url("/folders"))
        .header("origin", "https://evil.example")
        .form(&[("csrf_token", csrf.as_str()), ("name", "CrossSite")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Uploads from JavaScript carry the token in a header; without it, refused.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.txt"),
    );
    let r = b
        .client
        .post(b.url("/folders/x/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(app.count("folders").await, 0);
    let r = b
        .post_form("/folders", &[("name", "WithToken"), ("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.count("folders").await, 1);
    // Sign-out is a state change too.
    let r = b.post_form("/logout", &[]).await;
    assert_eq!(r.status(), 403);
}

async fn logout_ends_the_session(app: TestApp) {
    app.user("ann@example.com", Role::Member).await;
    let b = app.browser();
    b.login_ok("ann@example.com").await;
    assert_eq!(b.get("/").await.status(), 200);
    let csrf = b.csrf("/").await;
    let r = b.post_form("/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(b.get("/").await.status(), 303, "signed out");
    assert_eq!(app.count("sessions WHERE user_id IS NOT NULL").await, 0);
}

async fn password_change_ends_all_sessions_of_the_account(app: TestApp) {
    let admin = app.admin().await;
    let ann = app.user("ann@example.com", Role::Member).await;
    let (laptop, phone) = (app.browser(), app.browser());
    laptop.login_ok("ann@example.com").await;
    phone.login_ok("ann@example.com").await;
    app.user("bob@example.com", Role::Member).await;
    let bob = app.browser();
    bob.login_ok("bob@example.com").await;
    let r = admin
        .patch(
            &format!("/users/{}", ann.id),
            json!({ "password": "a brand new password" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(laptop.get("/").await.status(), 303);
    assert_eq!(phone.get("/").await.status(), 303);
    assert_eq!(
        bob.get("/").await.status(),
        200,
        "other accounts keep their sessions"
    );
    assert_eq!(
        laptop.login("ann@example.com", PASSWORD).await.status(),
        401
    );
    assert_eq!(
        laptop
            .login("ann@example.com", "a brand new password")
            .await
            .status(),
        303
    );
}

async fn login_is_throttled_per_account_with_retry_after(app: TestApp) {
    app.user("ann@example.com", Role::Member).await;
    let b = app.browser();
    for _ in 0..5 {
        assert_eq!(
            b.login("ann@example.com", "wrong password!").await.status(),
            401
        );
    }
    let r = b.login("ann@example.com", PASSWORD).await;
    assert_eq!(r.status(), 429, "even the right password waits");
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    // The count lives in the database: a second instance on the same database agrees.
    let row =
        sqlx::query("SELECT failures FROM throttles WHERE key = 'login:acct:ann@example.com'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(row.try_get::<i64, _>("failures").unwrap(), 5);
    // Case and spacing do not make a new account key.
    assert_eq!(b.login(" ANN@example.com ", PASSWORD).await.status(), 429);
    // Another account is not affected.
    app.user("bob@example.com", Role::Member).await;
    assert_eq!(b.login("bob@example.com", PASSWORD).await.status(), 303);
}

async fn login_is_throttled_per_ip(app: TestApp) {
    app.user("zed@example.com", Role::Member).await;
    let b = app.browser();
    for i in 0..30 {
        let r = b
            .login(&format!("nobody{i}@example.com"), "wrong password!")
            .await;
        assert_eq!(r.status(), 401);
    }
    let r = b.login("zed@example.com", PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
}

async fn unknown_email_and_wrong_password_look_the_same(app: TestApp) {
    app.user("ann@example.com", Role::Member).await;
    let b = app.browser();
    let known = b.login("ann@example.com", "wrong password!").await;
    let unknown = b.login("nobody@example.com", "wrong password!").await;
    assert_eq!(known.status(), unknown.status());
    let strip = |s: String| {
        s.replace("ann@example.com", "")
            .replace("nobody@example.com", "")
    };
    let (k, u) = (
        strip(known.text().await.unwrap()),
        strip(unknown.text().await.unwrap()),
    );
    let without_csrf = |s: &str| s.split("csrf_token").next().unwrap().to_string();
    assert_eq!(without_csrf(&k), without_csrf(&u));
}

async fn api_tokens_are_stored_only_as_hashes(app: TestApp) {
    let admin = app.admin().await;
    let rows = sqlx::query("SELECT token_hash FROM api_tokens")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let stored: String = rows[0].try_get("token_hash").unwrap();
    assert_ne!(stored, admin.token);
    assert!(!stored.contains(&admin.token[4..]));
    assert_eq!(stored.len(), 64, "a sha256 hex digest");
    // 32 random bytes, base64url: at least 128 bits of randomness.
    assert!(admin.token.len() >= 4 + 43, "{}", admin.token);
    assert_eq!(admin.get("/users").await.status(), 200);
    // Passwords are argon2id hashes.
    let row = sqlx::query("SELECT password_hash FROM users")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(row
        .try_get::<String, _>("password_hash")
        .unwrap()
        .starts_with("$argon2id$"));
}

async fn login_redirects_only_to_same_origin_paths(app: TestApp) {
    app.user("ann@example.com", Role::Member).await;
    for (next, expected) in [
        ("/folders/abc", "/folders/abc"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
    ] {
        let b = app.browser();
        let csrf = b.csrf("/login").await;
        let r = b
            .post_form(
                "/login",
                &[
                    ("csrf_token", &csrf),
                    ("email", "ann@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
        assert_eq!(location(&r), expected, "next={next}");
    }
}

async fn every_response_carries_security_headers(app: TestApp) {
    let b = app.browser();
    for path in ["/login", "/healthz", "/static/app.css", "/no-such-page"] {
        let r = b.get(path).await;
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
    }
}

async fn setup_link_creates_the_first_admin_once(app: TestApp) {
    let token = app
        .setup_token
        .clone()
        .expect("no admin yet: a setup token exists");
    let b = app.browser();
    assert_eq!(b.get("/setup/setup_wrong").await.status(), 404);
    let path = format!("/setup/{token}");
    let csrf = b.csrf(&path).await;
    let r = b
        .post_form(
            &path,
            &[
                ("csrf_token", &csrf),
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422, "password policy");
    let r = b
        .post_form(
            &path,
            &[
                ("csrf_token", &csrf),
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (status, html) = b.page("/").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Ada") && html.contains("Users"),
        "signed in as the new admin"
    );
    // Once used, the link is gone.
    assert_eq!(app.browser().get(&path).await.status(), 404);
    let stored = assetport::db::get_setting(&app.state.db, "setup_token_sha256")
        .await
        .unwrap();
    assert!(stored.is_none());
}

async fn admins_manage_users_and_groups(app: TestApp) {
    let admin = app.admin().await;
    let created = admin
        .post_ok("/users", json!({ "email": "New@Partner.example", "name": "New", "role": "member", "password": PASSWORD }), 201)
        .await;
    assert_eq!(
        created["email"], "new@partner.example",
        "emails are case-insensitive"
    );
    let dup = admin.post("/users", json!({ "email": "new@PARTNER.example", "name": "Dup", "role": "member", "password": PASSWORD })).await;
    assert_eq!(dup.status(), 409);
    for bad in [
        json!({ "email": "not-an-email", "name": "x", "role": "member", "password": PASSWORD }),
        json!({ "email": "a@b.example", "name": "", "role": "member", "password": PASSWORD }),
        json!({ "email": "a@b.example", "name": "x", "role": "root", "password": PASSWORD }),
    ] {
        assert_eq!(admin.post("/users", bad).await.status(), 400);
    }
    assert_eq!(admin.post("/users", json!({ "email": "a@b.example", "name": "x", "role": "member", "password": "short" })).await.status(), 422);
    let g = admin.group("Retail").await;
    assert_eq!(
        admin
            .post("/groups", json!({ "name": "Retail" }))
            .await
            .status(),
        409
    );
    let uid = created["id"].as_str().unwrap();
    assert_eq!(
        admin
            .put(&format!("/groups/{g}/members/{uid}"), json!({}))
            .await
            .status(),
        204
    );
    assert_eq!(
        admin
            .put(&format!("/groups/{g}/members/{uid}"), json!({}))
            .await
            .status(),
        204,
        "idempotent"
    );
    let group = expect_json(admin.get(&format!("/groups/{g}")).await, 200).await;
    assert_eq!(group["members"].as_array().unwrap().len(), 1);
    assert_eq!(
        admin
            .put(&format!("/groups/{g}/members/nope"), json!({}))
            .await
            .status(),
        404
    );
    assert_eq!(
        admin
            .delete(&format!("/groups/{g}/members/{uid}"))
            .await
            .status(),
        204
    );
    let list = expect_json(admin.get("/users").await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(list["next"].is_null());
    // An admin cannot lock themselves out.
    assert_eq!(
        admin
            .delete(&format!("/users/{}", admin.user_id))
            .await
            .status(),
        409
    );
}

on_both_backends!(
    login_renews_the_session_id_and_sets_safe_cookie_flags,
    secure_cookie_when_served_over_https,
    forms_without_a_valid_csrf_token_are_refused,
    logout_ends_the_session,
    password_change_ends_all_sessions_of_the_account,
    login_is_throttled_per_account_with_retry_after,
    login_is_throttled_per_ip,
    unknown_email_and_wrong_password_look_the_same,
    api_tokens_are_stored_only_as_hashes,
    login_redirects_only_to_same_origin_paths,
    every_response_carries_security_headers,
    setup_link_creates_the_first_admin_once,
    admins_manage_users_and_groups,
);

/// Behind a load balancer every connection comes from the balancer: per-IP throttles and the
/// audit log must use the client address it forwards, and only when it is a trusted proxy.
#[tokio::test]
async fn forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    let Some(app) = spawn_with(Backend::Sqlite, |c| {
        c.trusted_proxies =
            assetport::web::client::TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap()
    })
    .await
    else {
        return;
    };
    app.user("zed@example.com", Role::Member).await;
    // 30 misses from one client behind the proxy (the client forges a left-hand entry).
    let noisy = Browser::at(&app.base, &[("x-forwarded-for", "1.1.1.1, 203.0.113.1")]);
    for i in 0..30 {
        let r = noisy
            .login(&format!("nobody{i}@example.com"), "wrong password!")
            .await;
        assert_eq!(r.status(), 401);
    }
    assert_eq!(noisy.login("zed@example.com", PASSWORD).await.status(), 429);
    // Another client behind the same proxy is not punished for it.
    let other = Browser::at(&app.base, &[("x-forwarded-for", "203.0.113.2, 10.0.0.7")]);
    assert_eq!(other.login("zed@example.com", PASSWORD).await.status(), 303);
    let ip: Option<String> =
        sqlx::query("SELECT ip FROM events WHERE kind = 'login' ORDER BY created_at DESC")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap()
            .get("ip");
    assert_eq!(
        ip.as_deref(),
        Some("203.0.113.2"),
        "the audit log has the client"
    );
    let throttled: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM throttles WHERE key LIKE '%1.1.1.1%'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap()
            .get("n");
    assert_eq!(throttled, 0, "the forged entry is never believed");

    // Without trusted proxies the header is ignored: forging it does not dodge the throttle.
    let Some(plain) = spawn(Backend::Sqlite).await else {
        return;
    };
    plain.user("zed@example.com", Role::Member).await;
    for i in 0..30 {
        let forged = format!("198.51.100.{i}");
        let b = Browser::at(&plain.base, &[("x-forwarded-for", &forged)]);
        let r = b.login(&format!("nobody{i}@example.com"), "wrong").await;
        assert_eq!(r.status(), 401);
    }
    let b = Browser::at(&plain.base, &[("x-forwarded-for", "198.51.100.200")]);
    assert_eq!(b.login("zed@example.com", PASSWORD).await.status(), 429);
}
