//! Invitations (issue 20): an admin invites people with their groups and role; each chooses
//! their own password through a single-use link from a branded mail (aiosmtpd), and is signed
//! in; re-sending kills the old link, withdrawing ends it, the moved clock expires it. Over real
//! HTTP on both databases.
mod common;
use common::asks::invite_path;
use common::smtp::SmtpServer;
use common::*;
use serde_json::{json, Value};

const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

async fn accept(app: &TestApp, path: &str, name: &str, password: &str) -> reqwest::Response {
    let b = app.browser();
    let csrf = b.csrf(path).await;
    b.post_form(
        path,
        &[
            ("csrf_token", &csrf),
            ("name", name),
            ("new_password", password),
            ("confirm_password", password),
        ],
    )
    .await
}

async fn an_invited_person_chooses_a_password_and_is_in_their_groups(app: TestApp) {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let Some(app) = spawn_with(app.backend, |c| c.smtp_url = Some(smtp.url().into())).await else {
        return;
    };
    let admin = app.admin().await;
    let folder = admin.folder(None, "Retail").await;
    let group = admin.group("Retail partners").await;
    admin.grant(&folder, &group, true, true, false).await;
    let asset = admin.published(&folder, "hero.png", png(20, 20, 1)).await;
    let sent = expect_json(
        admin
            .post(
                "/invitations",
                json!({ "emails": ["ann@retail.test", "Bob@Retail.test"], "groups": [group], "role": "member" }),
            )
            .await,
        201,
    )
    .await;
    let items = sent["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["email"], "bob@retail.test");
    assert!(items
        .iter()
        .all(|i| i["state"] == "pending" && i["expires_at"].is_string()));
    let mail = eventually("the invitation mail", || async {
        smtp.messages()
            .into_iter()
            .find(|m| m.contains("To: ann@retail.test") && m.contains("/invite/"))
    })
    .await;
    assert!(mail.contains("invited you to assetport"), "{mail}");
    let path = path_of(
        mail.lines()
            .map(str::trim)
            .find(|l| l.contains("/invite/"))
            .unwrap(),
    );
    let b = app.browser();
    let (status, html) = b.page(&path).await;
    assert_eq!(status, 200);
    assert!(html.contains("ann@retail.test"));
    // Passwords that differ or are too short: the form again, nothing made.
    let csrf = b.csrf(&path).await;
    let r = b
        .post_form(
            &path,
            &[
                ("csrf_token", &csrf),
                ("name", "Ann Lee"),
                ("new_password", "a long password 1"),
                ("confirm_password", "a long password 2"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = b
        .post_form(
            &path,
            &[
                ("csrf_token", &csrf),
                ("name", "Ann Lee"),
                ("new_password", "short"),
                ("confirm_password", "short"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = b
        .post_form(
            &path,
            &[
                ("csrf_token", &csrf),
                ("name", "Ann Lee"),
                ("new_password", "ann's long password"),
                ("confirm_password", "ann's long password"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "signed in");
    assert_eq!(location(&r), "/");
    // Signed in, in the invitation's group: the granted asset is there.
    let (status, html) = b.page(&format!("/assets/{asset}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("hero.png"));
    // The link worked once.
    assert_eq!(app.browser().get(&path).await.status(), 410);
    // And the password signs in.
    let again = app.browser();
    assert_eq!(
        again
            .login("ann@retail.test", "ann's long password")
            .await
            .status(),
        303
    );
    let list = expect_json(admin.get("/invitations").await, 200).await;
    let ann = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == "ann@retail.test")
        .unwrap()
        .clone();
    assert_eq!(ann["state"], "accepted");
    // Inviting an address that has an account now: 409 naming it.
    let r = admin
        .post("/invitations", json!({ "emails": ["ann@retail.test"] }))
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("ann@retail.test"));
}

async fn resending_kills_the_old_link_withdrawing_ends_it_and_time_expires_it(app: TestApp) {
    let admin = app.admin().await;
    let group = admin.group("Agencies").await;
    let sent = admin
        .post_ok(
            "/invitations",
            json!({ "emails": ["studio@agency.test"], "name": "Studio", "groups": [group] }),
            201,
        )
        .await;
    let id = sent["items"][0]["id"].as_str().unwrap().to_string();
    let first = invite_path(&app, "studio@agency.test", &[]).await;
    // Bad input.
    for (body, status) in [
        (json!({ "emails": [] }), 422),
        (json!({ "emails": ["not an address"] }), 422),
        (
            json!({ "emails": ["x@agency.test"], "groups": ["nope"] }),
            422,
        ),
        (json!({ "emails": ["x@agency.test"], "role": "boss" }), 400),
        (json!({ "emails": ["studio@agency.test"] }), 409),
        (json!({ "emails": ["admin@example.com"] }), 409),
    ] {
        let r = admin.post("/invitations", body.clone()).await;
        assert_eq!(r.status(), status, "{body}");
    }
    let member = app.member("m@example.com", &[]).await;
    assert_eq!(
        member
            .post("/invitations", json!({ "emails": ["y@x.test"] }))
            .await
            .status(),
        404
    );
    // Re-sent: the first link dies, the second works.
    let again = expect_json(
        admin
            .post(&format!("/invitations/{id}/resend"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(again["state"], "pending");
    let second = invite_path(&app, "studio@agency.test", std::slice::from_ref(&first)).await;
    assert_ne!(first, second);
    assert_eq!(app.browser().get(&first).await.status(), 410);
    assert_eq!(app.browser().get(&second).await.status(), 200);
    // Withdrawn: the link dies; re-sending a withdrawn invitation is 409.
    assert_eq!(
        admin.delete(&format!("/invitations/{id}")).await.status(),
        204
    );
    assert_eq!(app.browser().get(&second).await.status(), 410);
    let r = admin
        .post(&format!("/invitations/{id}/resend"), json!({}))
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(app.count("users").await, 2, "nobody was made");

    // Expiry by the moved clock; an expired invitation can be sent again.
    let sent = admin
        .post_ok(
            "/invitations",
            json!({ "emails": ["late@agency.test"] }),
            201,
        )
        .await;
    let late = sent["items"][0]["id"].as_str().unwrap().to_string();
    let link = invite_path(&app, "late@agency.test", &[]).await;
    app.advance(8 * DAY);
    assert_eq!(app.browser().get(&link).await.status(), 410);
    // Posting to it anyway (with the session's form token from another page) makes nothing.
    let b = app.browser();
    let csrf = b.csrf("/login").await;
    let r = b
        .post_form(
            &link,
            &[
                ("csrf_token", &csrf),
                ("name", "Late"),
                ("new_password", "a long enough password"),
                ("confirm_password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(r.status(), 410);
    assert_eq!(app.count("users").await, 2);
    let list: Vec<Value> = expect_json(admin.get("/invitations").await, 200).await["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        list.iter().find(|i| i["id"] == late.as_str()).unwrap()["state"],
        "expired"
    );
    expect_json(
        admin
            .post(&format!("/invitations/{late}/resend"), json!({}))
            .await,
        200,
    )
    .await;
    let fresh = invite_path(&app, "late@agency.test", std::slice::from_ref(&link)).await;
    assert_eq!(
        accept(&app, &fresh, "Late", "a long enough password")
            .await
            .status(),
        303
    );
}

async fn the_users_page_invites_and_lists_pending_invitations(app: TestApp) {
    let admin = app.admin().await;
    let group = admin.group("Retail partners").await;
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let csrf = b.csrf("/admin/users").await;
    let r = b
        .post_form(
            "/admin/invitations",
            &[
                ("csrf_token", &csrf),
                (
                    "emails",
                    "name,email\nAnn Lee,ann@retail.test\nBob <bob@retail.test>\n",
                ),
                ("groups", &group),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.page("/admin/users").await;
    assert!(html.contains("ann@retail.test") && html.contains("bob@retail.test"));
    assert!(html.contains("Retail partners") && html.contains("pending"));
    let list = expect_json(admin.get("/invitations").await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["name"] == "Ann Lee"));

    // Last sign-in and its method, and the filters.
    app.member("quiet@retail.test", &[&group]).await;
    let (_, html) = b.page("/admin/users").await;
    assert!(
        html.contains("· password"),
        "the admin signed in with a password"
    );
    assert!(html.contains("never"), "the quiet member never signed in");
    let table = |html: &str| html[html.find("<tbody>").unwrap()..].to_string();
    let (_, html) = b.page("/admin/users?never=1").await;
    assert!(
        table(&html).contains("quiet@retail.test") && !table(&html).contains("admin@example.com")
    );
    let (_, html) = b.page("/admin/users?role=admin").await;
    assert!(
        !table(&html).contains("quiet@retail.test") && table(&html).contains("admin@example.com")
    );
    let (_, html) = b.page(&format!("/admin/users?group={group}")).await;
    assert!(
        table(&html).contains("quiet@retail.test") && !table(&html).contains("admin@example.com")
    );
    let (_, html) = b.page("/admin/users?state=disabled").await;
    assert!(!table(&html).contains("quiet@retail.test"));
}

/// Ten submissions of one invitation at once make one account.
async fn parallel_acceptances_make_one_account(app: TestApp) {
    let admin = app.admin().await;
    admin
        .post_ok("/invitations", json!({ "emails": ["once@x.test"] }), 201)
        .await;
    let path = invite_path(&app, "once@x.test", &[]).await;
    let b = app.browser();
    let csrf = b.csrf(&path).await;
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("name", "Once"),
        ("new_password", "one long password"),
        ("confirm_password", "one long password"),
    ];
    let tries = (0..10).map(|_| b.post_form(&path, &fields));
    let answers = futures_util::future::join_all(tries).await;
    let made = answers.iter().filter(|r| r.status() == 303).count();
    assert_eq!(
        made,
        1,
        "{:?}",
        answers.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    assert_eq!(app.count("users").await, 2);
}

on_both_backends!(
    an_invited_person_chooses_a_password_and_is_in_their_groups,
    resending_kills_the_old_link_withdrawing_ends_it_and_time_expires_it,
    the_users_page_invites_and_lists_pending_invitations,
    parallel_acceptances_make_one_account,
);
