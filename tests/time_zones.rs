//! Times in each person's time zone (issue 21): the browser reports it (static/app.js posts
//! `/account/time-zone` when it differs from the one kept), the account keeps it, pages are
//! written in it from then on and after every sign-in, and the mails the account receives use
//! it too. Unknown names are refused. Both databases.
mod common;
use common::*;
use std::time::Duration;

/// What `clock::human_in` writes for an RFC 3339 time in `zone`.
fn shown(rfc3339: &str, zone: &str) -> String {
    let ms = assetport::clock::parse_rfc3339(rfc3339).expect("an RFC 3339 time");
    assetport::clock::human_in(ms, zone)
}

async fn report(b: &Browser, zone: &str) -> reqwest::Response {
    let csrf = b.csrf("/account").await;
    b.post_form(
        "/account/time-zone",
        &[("csrf_token", &csrf), ("time_zone", zone)],
    )
    .await
}

async fn pages_and_mails_use_the_zone_the_browser_reported(app: TestApp) {
    let admin = app.admin().await;
    let retail = admin.folder(None, "Retail").await;
    let group = admin.group("Shops").await;
    admin.grant(&retail, &group, true, true, false).await;
    app.member("buyer@shop.example", &[&group]).await;
    let b = app.browser();
    b.login_ok("buyer@shop.example").await;

    // Nothing known yet: UTC, and the page tells the script what it has (nothing).
    let (_, page) = b.page("/account").await;
    assert!(page.contains("data-tz=\"\""), "{page}");
    assert!(
        page.contains("<option value=\"\" selected>Use my browser's</option>"),
        "{page}"
    );

    // A token, so the page shows a time.
    let csrf = b.csrf("/account").await;
    let r = b
        .post_form(
            "/account/tokens",
            &[("csrf_token", &csrf), ("name", "laptop")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, page) = b.page("/account").await;
    let created_ms: i64 = sqlx::query_scalar("SELECT created_at FROM api_tokens")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let created = assetport::clock::rfc3339(created_ms);
    assert!(page.contains(&shown(&created, "")), "UTC before any report");

    // The browser reports its zone (as app.js does: no redirect, 204); the database's
    // spelling is kept.
    let r = report(&b, "europe/paris").await;
    assert_eq!(r.status(), 204);
    let (_, page) = b.page("/account").await;
    assert!(page.contains("data-tz=\"Europe/Paris\""), "{page}");
    let paris = shown(&created, "Europe/Paris");
    assert_ne!(paris, shown(&created, ""));
    assert!(
        page.contains(&paris),
        "the token's time in Paris ({paris}) on the page"
    );
    assert!(page.contains("<option selected>Europe/Paris</option>"));

    // Nonsense is refused and changes nothing.
    for bad in ["Mars/Olympus_Mons", "../../etc/passwd", "Europe/Paris\nX"] {
        let r = report(&b, bad).await;
        assert_eq!(r.status(), 422, "{bad:?}");
    }
    let csrf = b.csrf("/account").await;
    let r = b
        .post_form(
            "/account/time-zone",
            &[
                ("csrf_token", &csrf),
                ("time_zone", "Atlantis"),
                ("from_form", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Not changed"));
    let (_, page) = b.page("/account").await;
    assert!(page.contains("data-tz=\"Europe/Paris\""));

    // Kept with the account: another browser signing in gets it at once.
    let other = app.browser();
    other.login_ok("buyer@shop.example").await;
    let (_, page) = other.page("/account").await;
    assert!(page.contains("data-tz=\"Europe/Paris\""));
    assert!(page.contains(&paris));

    // The digest the partner receives speaks Paris time too.
    let csrf = b.csrf("/account").await;
    let r = b
        .post_form(
            "/account/notifications",
            &[("csrf_token", &csrf), ("frequency", "daily")],
        )
        .await;
    assert_eq!(r.status(), 303);
    app.advance(Duration::from_millis(5));
    admin
        .published(&retail, "spring-window.pdf", b"new".to_vec())
        .await;
    let admin_b = app.browser();
    admin_b.login_ok("admin@example.com").await;
    let csrf = admin_b.csrf("/admin/jobs").await;
    let r = admin_b
        .post_form("/admin/digests/run", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status(), 303);
    let mail = app
        .wait_for_mail("buyer@shop.example", |m| m.contains("spring-window.pdf"))
        .await;
    let since = mail
        .lines()
        .find_map(|l| l.strip_prefix("Published in assetport since "))
        .unwrap_or_else(|| panic!("{mail}"))
        .trim_end_matches(':')
        .to_string();
    assert!(
        since.ends_with(" CET") || since.ends_with(" CEST"),
        "the digest's time is not in Paris time: {since}"
    );

    // Chosen by hand on the account page: UTC, kept as a choice (the page says so and the
    // script, which reports only while none is kept, leaves it).
    let csrf = b.csrf("/account").await;
    let r = b
        .post_form(
            "/account/time-zone",
            &[
                ("csrf_token", &csrf),
                ("time_zone", "UTC"),
                ("from_form", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, page) = b.page("/account").await;
    assert!(page.contains("data-tz=\"UTC\""));
    assert!(page.contains("<option selected>UTC</option>"));
    assert!(page.contains(&shown(&created, "")));

    // Back to "use my browser's" from the account page's form.
    let csrf = b.csrf("/account").await;
    let r = b
        .post_form(
            "/account/time-zone",
            &[("csrf_token", &csrf), ("time_zone", ""), ("from_form", "1")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, page) = b.page("/account").await;
    assert!(page.contains("data-tz=\"\""));
    assert!(page.contains(&shown(&created, "")));
}

on_both_backends!(pages_and_mails_use_the_zone_the_browser_reported);
