//! Email digests and editable email templates (issue 7). Partners subscribe on their account
//! page and get, in one mail, what was newly published where they can see it, never what they
//! cannot; admins get new submissions and what expires within a week, each announced once.
//! Every digest has a working unsubscribe address. Admins rewrite emails' text, with checks.
mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// Sends every subscribed person's digest (the jobs page's button) and waits until the job is
/// done, so a test can also show that nothing was sent.
async fn send_digests(app: &TestApp, admin: &Browser) {
    let before = app
        .count("jobs WHERE kind = 'digests' AND state = 'done'")
        .await;
    let csrf = admin.csrf("/admin/jobs").await;
    let r = admin
        .post_form("/admin/digests/run", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status(), 303);
    eventually("the digest job to finish", || async {
        let done = app
            .count("jobs WHERE kind = 'digests' AND state = 'done'")
            .await;
        (done > before).then_some(())
    })
    .await;
}

fn mails_to(app: &TestApp, to: &str) -> Vec<String> {
    let header = format!("To: {to}");
    app.outbox()
        .iter()
        .map(|m| mail_text(m))
        .filter(|m| m.lines().any(|l| l == header))
        .collect()
}

/// Digests only (other mail, such as the prompt "new submissions" notice, goes to admins too).
fn digests_to(app: &TestApp, to: &str) -> usize {
    mails_to(app, to)
        .iter()
        .filter(|m| m.contains("/unsubscribe/"))
        .count()
}

/// The unsubscribe path (`/unsubscribe/…`) in a mail's text.
fn unsubscribe_path(mail: &str) -> String {
    let start = mail.find("/unsubscribe/").expect("an unsubscribe address");
    mail[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>')
        .collect()
}

async fn frequency_shown(b: &Browser) -> String {
    let (_, page) = b.page("/account").await;
    for f in ["daily", "weekly", "off"] {
        if page.contains(&format!("value=\"{f}\" checked")) {
            return f.into();
        }
    }
    panic!("no frequency checked on /account");
}

async fn partner_digest_lists_only_what_they_may_see(app: TestApp) {
    let admin = app.admin().await;
    let admin_b = app.browser();
    admin_b.login_ok("admin@example.com").await;
    let retail = admin.folder(None, "Retail").await;
    let internal = admin.folder(None, "Internal").await;
    let group = admin.group("Shops").await;
    admin.grant(&retail, &group, true, true, false).await;
    app.member("buyer@shop.example", &[&group]).await;
    let partner = app.browser();
    partner.login_ok("buyer@shop.example").await;

    admin
        .published(&retail, "before-subscribing.pdf", b"old".to_vec())
        .await;
    // Partners hear nothing until they ask.
    assert_eq!(frequency_shown(&partner).await, "off");
    let csrf = partner.csrf("/account").await;
    let r = partner
        .post_form(
            "/account/notifications",
            &[("csrf_token", &csrf), ("frequency", "sometimes")],
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = partner
        .post_form(
            "/account/notifications",
            &[("csrf_token", &csrf), ("frequency", "daily")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(frequency_shown(&partner).await, "daily");
    app.advance(Duration::from_millis(5));

    let new_id = admin
        .published(&retail, "spring-window.pdf", b"new".to_vec())
        .await;
    admin
        .published(&internal, "internal-plan.pdf", b"secret".to_vec())
        .await;
    // Uploaded but not approved: not published.
    admin
        .upload(&retail, "draft-only.pdf", b"draft".to_vec())
        .await;
    send_digests(&app, &admin_b).await;

    let mail = app
        .wait_for_mail("buyer@shop.example", |m| m.contains("spring-window.pdf"))
        .await;
    assert!(mail.contains("Subject: 1 asset new in assetport"), "{mail}");
    assert!(mail.contains(&format!("/assets/{new_id}")), "{mail}");
    assert!(mail.contains("/Retail"), "{mail}");
    for hidden in [
        "internal-plan.pdf",
        "before-subscribing.pdf",
        "draft-only.pdf",
    ] {
        assert!(
            !mail.contains(hidden),
            "{hidden} must not be listed: {mail}"
        );
    }
    assert!(mail.contains("List-Unsubscribe: <http"), "{mail}");
    assert!(
        mail.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{mail}"
    );

    // Nothing new: no second mail.
    send_digests(&app, &admin_b).await;
    assert_eq!(digests_to(&app, "buyer@shop.example"), 1);

    // The unsubscribe address: a page with a button (mail scanners only GET), then off.
    let path = unsubscribe_path(&mail);
    let stranger = visitor();
    let page = stranger.get(app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("buyer@shop.example"));
    assert_eq!(frequency_shown(&partner).await, "daily");
    let mut forged = path.clone();
    forged.pop();
    for bad in [forged.as_str(), "/unsubscribe/nonsense"] {
        let r = stranger.post(app.url(bad)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{bad}");
    }
    assert_eq!(frequency_shown(&partner).await, "daily");
    // What a mail program sends for one-click unsubscribe (RFC 8058).
    let r = stranger
        .post(app.url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("gets no more digests"));
    assert_eq!(frequency_shown(&partner).await, "off");

    admin
        .published(&retail, "after-unsubscribing.pdf", b"x".to_vec())
        .await;
    send_digests(&app, &admin_b).await;
    assert_eq!(digests_to(&app, "buyer@shop.example"), 1);
}

async fn admin_digest_lists_submissions_and_what_expires_once(app: TestApp) {
    let admin = app.admin().await;
    let admin_b = app.browser();
    admin_b.login_ok("admin@example.com").await;
    // Admins get a daily digest without asking.
    assert_eq!(frequency_shown(&admin_b).await, "daily");
    let inbox = admin.folder(None, "Agency inbox").await;
    let agencies = admin.group("Agencies").await;
    admin.grant(&inbox, &agencies, false, false, true).await;
    let agency = app.member("studio@agency.example", &[&agencies]).await;
    agency
        .upload(&inbox, "new-campaign-key-visual.psd", b"design".to_vec())
        .await;

    let shop = admin.folder(None, "Shop").await;
    let soon = admin
        .published(&shop, "licensed-photo.jpg", b"p".to_vec())
        .await;
    admin
        .patch(
            &format!("/assets/{soon}"),
            json!({ "available_until": app.in_secs(3 * 86400), "title": "Licensed photo" }),
        )
        .await;
    let later = admin
        .published(&shop, "long-licence.jpg", b"l".to_vec())
        .await;
    admin
        .patch(
            &format!("/assets/{later}"),
            json!({ "available_until": app.in_secs(40 * 86400) }),
        )
        .await;
    let expiring = admin
        .create_link(json!({ "asset_ids": [soon], "title": "Spring press kit",
                             "expires_at": app.in_secs(2 * 86400) }))
        .await;
    admin
        .create_link(json!({ "asset_ids": [later], "title": "Autumn kit",
                             "expires_at": app.in_secs(30 * 86400) }))
        .await;

    send_digests(&app, &admin_b).await;
    let mail = app
        .wait_for_mail("admin@example.com", |m| m.contains("Unsubscribe:"))
        .await;
    assert!(
        mail.contains(
            "Subject: assetport: 1 new submission, 1 link expiring, 1 asset licence ending"
        ),
        "{mail}"
    );
    assert!(
        mail.contains("new-campaign-key-visual.psd from studio"),
        "{mail}"
    );
    assert!(mail.contains("1 waiting in all"), "{mail}");
    assert!(mail.contains("Spring press kit"), "{mail}");
    assert!(
        mail.contains(&format!("/admin/links/{}", expiring.id)),
        "{mail}"
    );
    assert!(mail.contains("Licensed photo"), "{mail}");
    for not_yet in ["Autumn kit", "long-licence.jpg"] {
        assert!(
            !mail.contains(not_yet),
            "{not_yet} is not expiring soon: {mail}"
        );
    }
    // The agency partner subscribed to nothing and got nothing.
    assert!(mails_to(&app, "studio@agency.example").is_empty());

    // Each item is announced once: the next digest has nothing to say, so none is sent.
    send_digests(&app, &admin_b).await;
    assert_eq!(digests_to(&app, "admin@example.com"), 1);

    // An admin who opts out hears nothing, even with news.
    let csrf = admin_b.csrf("/account").await;
    admin_b
        .post_form(
            "/account/notifications",
            &[("csrf_token", &csrf), ("frequency", "off")],
        )
        .await;
    agency
        .upload(&inbox, "second-draft.psd", b"d2".to_vec())
        .await;
    send_digests(&app, &admin_b).await;
    assert_eq!(digests_to(&app, "admin@example.com"), 1);
}

async fn email_templates_are_editable_and_checked(app: TestApp) {
    app.admin().await;
    app.user("ann@shop.example", assetport::accounts::Role::Member)
        .await;
    let admin_b = app.browser();
    admin_b.login_ok("admin@example.com").await;
    let (status, page) = admin_b.page("/admin/branding/emails").await;
    assert_eq!(status, 200);
    for label in [
        "Share link invitation",
        "One-time code for a share link",
        "New submissions",
        "Files through an upload link",
        "Password reset",
        "New assets digest",
        "Admin digest",
    ] {
        assert!(page.contains(label), "{label}");
    }
    let csrf = admin_b.csrf("/admin/branding/emails").await;
    let save = |subject: &'static str, body: &'static str| {
        let csrf = csrf.clone();
        let b = &admin_b;
        async move {
            b.post_form(
                "/admin/branding/emails/password_reset",
                &[("csrf_token", &csrf), ("subject", subject), ("body", body)],
            )
            .await
        }
    };
    // A typo in a placeholder, a missing link, an empty subject: refused, nothing saved.
    for (subject, body, why) in [
        ("Reset", "Go to {linck}", "{linck}"),
        ("Reset", "No link at all", "{link}"),
        (" ", "Here: {link}", "subject"),
    ] {
        let r = save(subject, body).await;
        assert_eq!(r.status(), 422, "{body}");
        let text = r.text().await.unwrap();
        assert!(text.contains("Not saved") && text.contains(why), "{why}");
    }
    let r = save("Your {portal} key", "Hi {name}! Choose a password: {link}").await;
    assert_eq!(r.status(), 303);
    let (_, page) = admin_b.page("/admin/branding/emails").await;
    assert!(page.contains("customised"));

    let app_ref = &app;
    let forgot = |n: usize| async move {
        let app = app_ref;
        let b = app.browser();
        let csrf = b.csrf("/forgot").await;
        let r = b
            .post_form(
                "/forgot",
                &[("csrf_token", &csrf), ("email", "ann@shop.example")],
            )
            .await;
        assert_eq!(r.status(), 200);
        eventually("a reset mail", || async {
            let mails = mails_to(app, "ann@shop.example");
            mails.get(n - 1).cloned()
        })
        .await
    };
    let mail = forgot(1).await;
    assert!(mail.contains("Subject: Your assetport key"), "{mail}");
    assert!(mail.contains("Hi ann! Choose a password: http"), "{mail}");
    let start = mail.find("/reset/").unwrap();
    let link: String = mail[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert_eq!(app.browser().page(&link).await.0, 200);

    // Back to the built-in text.
    let r = admin_b
        .post_form(
            "/admin/branding/emails/password_reset",
            &[("csrf_token", &csrf), ("action", "reset")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let mail = forgot(2).await;
    assert!(mail.contains("Someone (hopefully you)"), "{mail}");

    // Only admins, and only known emails.
    let r = admin_b
        .post_form(
            "/admin/branding/emails/no_such_mail",
            &[("csrf_token", &csrf), ("subject", "x"), ("body", "y")],
        )
        .await;
    assert_eq!(r.status(), 404);
    app.user("bob@shop.example", assetport::accounts::Role::Member)
        .await;
    let member = app.browser();
    member.login_ok("bob@shop.example").await;
    assert_ne!(member.page("/admin/branding/emails").await.0, 200);
    let csrf = member.csrf("/account").await;
    let r = member
        .post_form(
            "/admin/branding/emails/password_reset",
            &[
                ("csrf_token", &csrf),
                ("subject", "Owned"),
                ("body", "{link}"),
            ],
        )
        .await;
    assert!(r.status() == 403 || r.status() == 404, "{}", r.status());
}

on_both_backends!(
    partner_digest_lists_only_what_they_may_see,
    admin_digest_lists_submissions_and_what_expires_once,
    email_templates_are_editable_and_checked,
);
