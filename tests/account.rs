//! Account self-service (issue 7, SPEC §2.5–2.6): changing one's password ends the account's
//! other sessions; a forgotten password is reset by a one-time emailed link without telling
//! who has an account; personal API tokens are made, listed and revoked by their owner only.
mod common;

use assetport::accounts::users::Role;
use common::*;
use serde_json::json;
use sqlx::Row;

const NEW_PASSWORD: &str = "a much better passphrase";

async fn signed_in(app: &TestApp, email: &str) -> Browser {
    let b = app.browser();
    b.login_ok(email).await;
    b
}

async fn is_signed_in(b: &Browser) -> bool {
    b.get("/account").await.status() == 200
}

async fn change(b: &Browser, current: &str, new: &str, confirm: &str) -> reqwest::Response {
    let csrf = b.csrf("/account").await;
    b.post_form(
        "/account/password",
        &[
            ("csrf_token", &csrf),
            ("current_password", current),
            ("new_password", new),
            ("confirm_password", confirm),
        ],
    )
    .await
}

async fn changing_the_password_ends_the_other_sessions(app: TestApp) {
    app.user("ann@example.com", Role::Member).await;
    let here = signed_in(&app, "ann@example.com").await;
    let elsewhere = signed_in(&app, "ann@example.com").await;
    assert!(is_signed_in(&elsewhere).await);

    // Wrong current password, mismatched or weak new ones: refused, nothing changes.
    let r = change(&here, "not my password", NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status(), 403);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("current password is not right"));
    let r = change(&here, PASSWORD, NEW_PASSWORD, "something else entirely").await;
    assert_eq!(r.status(), 400);
    let r = change(&here, PASSWORD, "short", "short").await;
    assert_eq!(r.status(), 422);
    assert!(is_signed_in(&elsewhere).await, "nothing changed yet");

    let r = change(&here, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account");
    let (status, html) = here.page("/account").await;
    assert_eq!(status, 200, "this browser stays signed in");
    assert!(html.contains("Every other session of your account has ended"));
    assert!(
        !is_signed_in(&elsewhere).await,
        "the other session has ended"
    );
    let fresh = app.browser();
    assert_eq!(fresh.login("ann@example.com", PASSWORD).await.status(), 401);
    assert_eq!(
        fresh.login("ann@example.com", NEW_PASSWORD).await.status(),
        303
    );
    assert_eq!(app.count("events WHERE kind = 'password_changed'").await, 1);

    // Guessing the current password through this form is throttled like a login.
    let guesser = app.browser();
    assert_eq!(
        guesser
            .login("ann@example.com", NEW_PASSWORD)
            .await
            .status(),
        303
    );
    let mut last = 0;
    for i in 0..6 {
        last = change(
            &guesser,
            &format!("guess number {i}"),
            "whatever12345",
            "whatever12345",
        )
        .await
        .status()
        .as_u16();
    }
    assert_eq!(last, 429);

    // Through the API: the same rules; sessions end, the token keeps working.
    let bob = app.user("bob@example.com", Role::Member).await;
    let api = app.api_for(&bob).await;
    let browser = signed_in(&app, "bob@example.com").await;
    let r = api
        .post(
            "/account/password",
            json!({ "current_password": "wrong one!!", "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = api
        .post(
            "/account/password",
            json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert!(!is_signed_in(&browser).await);
    assert_eq!(api.get("/account").await.status(), 200);
}

/// The reset link of the newest mail in the outbox.
async fn reset_link(app: &TestApp, expected_mails: usize) -> String {
    let mails = eventually("a reset mail", || async {
        let mails = app.outbox();
        (mails.len() >= expected_mails).then_some(mails)
    })
    .await;
    reset_path(mails.last().unwrap())
}

async fn ask_reset(b: &Browser, email: &str) -> (u16, String) {
    let csrf = b.csrf("/forgot").await;
    let r = b
        .post_form("/forgot", &[("csrf_token", &csrf), ("email", email)])
        .await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Posts the reset form as Chromium does: the page is sent with `Referrer-Policy: no-referrer`,
/// so the browser says `Origin: null` (and `Sec-Fetch-Site: same-origin`).
async fn set_new(b: &Browser, link: &str, password: &str) -> reqwest::Response {
    post_reset(b, link, password, "same-origin").await
}

async fn post_reset(b: &Browser, link: &str, password: &str, site: &str) -> reqwest::Response {
    let csrf = b.csrf(link).await;
    b.client
        .post(b.url(link))
        .header("origin", "null")
        .header("sec-fetch-site", site)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("new_password", password),
            ("confirm_password", password),
        ])
        .send()
        .await
        .unwrap()
}

async fn a_forgotten_password_is_reset_by_a_one_time_link(app: TestApp) {
    app.user("ann@example.com", Role::Member).await;
    let old_session = signed_in(&app, "ann@example.com").await;
    let (_, login) = app.browser().page("/login").await;
    assert!(
        login.contains("href=\"/forgot\""),
        "the sign-in page offers it"
    );

    // Known and unknown addresses get the same answer; only the known one gets mail.
    let visitor = app.browser();
    let (known_status, known) = ask_reset(&visitor, "Ann@Example.com").await;
    let (unknown_status, unknown) = ask_reset(&visitor, "nobody@example.com").await;
    assert_eq!(known_status, 200);
    assert_eq!(known_status, unknown_status);
    let strip = |s: &str| {
        let i = s.find("csrf_token").unwrap_or(0);
        s[..i].to_string()
    };
    assert_eq!(strip(&known), strip(&unknown), "no account enumeration");
    let link = reset_link(&app, 1).await;
    // A reset mail goes out only for a reset row, and the one row's mail is here.
    assert_eq!(
        app.count("password_resets").await,
        1,
        "nothing is sent for unknown addresses"
    );
    assert_eq!(
        app.outbox().len(),
        1,
        "nothing is sent for unknown addresses"
    );
    let token = link.trim_start_matches("/reset/");
    assert!(token.len() >= 40, "at least 128 bits: {token}");
    let stored: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM password_resets WHERE token_hash = $1 OR token_hash = $2",
    )
    .bind(token)
    .bind(assetport::token::hash_token(token))
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap()
    .get("n");
    assert_eq!(stored, 1, "stored once, as a hash");
    let raw: i64 = sqlx::query("SELECT COUNT(*) AS n FROM password_resets WHERE token_hash = $1")
        .bind(token)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .get("n");
    assert_eq!(raw, 0, "never in the clear");

    // The link's page: the account, no caching, no referrer. Mismatches and weak ones refused.
    let r = visitor.get(&link).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "private, no-store");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    assert!(r.text().await.unwrap().contains("ann@example.com"));
    assert_eq!(set_new(&visitor, &link, "short").await.status(), 400);
    // From another site: refused whatever it carries, and the link still works.
    let r = post_reset(&visitor, &link, NEW_PASSWORD, "cross-site").await;
    assert_eq!(r.status(), 403);

    let r = set_new(&visitor, &link, NEW_PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/login");
    let (_, html) = visitor.page("/login").await;
    assert!(html.contains("Your password has been changed"));
    assert!(!is_signed_in(&old_session).await, "old sessions end");
    assert_eq!(
        app.browser()
            .login("ann@example.com", NEW_PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(
        app.browser()
            .login("ann@example.com", PASSWORD)
            .await
            .status(),
        401
    );

    // Used once: then 410, GET or POST. Unknown tokens too.
    assert_eq!(visitor.get(&link).await.status(), 410);
    let csrf = visitor.csrf("/forgot").await;
    let r = visitor
        .post_form(
            &link,
            &[
                ("csrf_token", &csrf),
                ("new_password", "yet another password"),
                ("confirm_password", "yet another password"),
            ],
        )
        .await;
    assert_eq!(r.status(), 410);
    assert_eq!(visitor.get("/reset/reset_madeup").await.status(), 410);

    // An expired link does not work either.
    let (status, _) = ask_reset(&app.browser(), "ann@example.com").await;
    assert_eq!(status, 200);
    let link = reset_link(&app, 2).await;
    sqlx::query("UPDATE password_resets SET expires_at = 1 WHERE used_at IS NULL")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(visitor.get(&link).await.status(), 410);

    // A mail bomb stops at three requests an hour per address, known or not, alike.
    let bomber = app.browser();
    for email in ["ann@example.com", "ghost@example.com"] {
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(ask_reset(&bomber, email).await.0);
        }
        let expected = if email.starts_with("ann") {
            // Two were asked above already.
            vec![200, 429, 429, 429]
        } else {
            vec![200, 200, 200, 429]
        };
        assert_eq!(statuses, expected, "{email}");
    }
}

async fn personal_api_tokens_are_made_listed_and_revoked_by_their_owner(app: TestApp) {
    let ann = app.user("ann@example.com", Role::Member).await;
    app.user("bob@example.com", Role::Member).await;
    let b = signed_in(&app, "ann@example.com").await;

    // Made on the account page, shown once.
    let csrf = b.csrf("/account").await;
    let r = b
        .post_form(
            "/account/tokens",
            &[("csrf_token", &csrf), ("name", "laptop script")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.page("/account").await;
    let start = html.find("apt_").expect("the new token is shown");
    let token: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let (_, again) = b.page("/account").await;
    assert!(!again.contains(&token), "shown only once");
    assert!(again.contains("laptop script"));

    let mine = Api {
        base: app.base.clone(),
        token: token.clone(),
        client: reqwest::Client::new(),
        user_id: ann.id.to_string(),
    };
    let me = expect_json(mine.get("/account").await, 200).await;
    assert_eq!(me["email"], "ann@example.com");

    // The API makes and lists them too; the list never carries a token.
    let made = expect_json(
        mine.post("/account/tokens", json!({ "name": "CI" })).await,
        201,
    )
    .await;
    let ci_token = made["token"].as_str().unwrap().to_string();
    let ci_id = made["id"].as_str().unwrap().to_string();
    let list = expect_json(mine.get("/account/tokens").await, 200).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["CI", "laptop script"]);
    assert!(!list.to_string().contains("apt_"));
    for bad in ["", "   ", &"x".repeat(101), "tab\there"] {
        let r = mine.post("/account/tokens", json!({ "name": bad })).await;
        assert_eq!(r.status(), 400, "{bad:?}");
    }

    // Someone else cannot see or revoke them: 404, as if they did not exist.
    let bob = app
        .api_for(
            &assetport::accounts::users::by_email(&app.state.db, "bob@example.com")
                .await
                .unwrap()
                .unwrap(),
        )
        .await;
    assert_eq!(
        bob.delete(&format!("/account/tokens/{ci_id}"))
            .await
            .status(),
        404
    );
    let bob_list = expect_json(bob.get("/account/tokens").await, 200).await;
    assert!(!bob_list.to_string().contains("CI"));

    // Revoked through the API: it stops working at once; the page revokes the other.
    assert_eq!(
        mine.delete(&format!("/account/tokens/{ci_id}"))
            .await
            .status(),
        204
    );
    let ci = Api {
        token: ci_token,
        ..mine
    };
    assert_eq!(ci.get("/account").await.status(), 401);
    let list = expect_json(ci_with(&app, &token).get("/account/tokens").await, 200).await;
    let laptop = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "laptop script")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let csrf = b.csrf("/account").await;
    let r = b
        .post_form(
            &format!("/account/tokens/{laptop}/revoke"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(ci_with(&app, &token).get("/account").await.status(), 401);
    let (_, html) = b.page("/account").await;
    assert!(html.contains("revoked"));
}

fn ci_with(app: &TestApp, token: &str) -> Api {
    Api {
        base: app.base.clone(),
        token: token.to_string(),
        client: reqwest::Client::new(),
        user_id: String::new(),
    }
}

/// Sessions end after 12 hours without a request, on the app's clock (no waiting).
async fn a_session_ends_after_twelve_idle_hours(app: TestApp) {
    app.user("ann@example.com", Role::Member).await;
    let b = signed_in(&app, "ann@example.com").await;
    app.advance(std::time::Duration::from_secs(11 * 3600));
    assert!(is_signed_in(&b).await, "11 hours idle: still signed in");
    app.advance(std::time::Duration::from_secs(12 * 3600 + 60));
    assert!(!is_signed_in(&b).await, "12 hours idle: signed out");
}

on_both_backends!(
    a_session_ends_after_twelve_idle_hours,
    changing_the_password_ends_the_other_sessions,
    a_forgotten_password_is_reset_by_a_one_time_link,
    personal_api_tokens_are_made_listed_and_revoked_by_their_owner,
);
