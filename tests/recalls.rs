//! Recalls and supersede notices (issue 18), through a real SMTP server (aiosmtpd) and two
//! instances: approving a newer version tells exactly the people who hold a completed copy of
//! an older one (members and per-recipient link visitors), once each, in one mail a day per
//! person; anonymous downloads are counted, not told; a started-only download is not a copy.
//! Acknowledging takes a POST on the signed address; a GET records nothing.
mod common;
use common::smtp::SmtpServer;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// Recall mails received so far, per recipient address.
fn recall_mails(smtp: &SmtpServer) -> Vec<(String, String)> {
    smtp.messages()
        .into_iter()
        .filter(|m| m.contains("have changed"))
        .map(|m| {
            let to = m
                .lines()
                .find_map(|l| l.strip_prefix("To: "))
                .unwrap_or_default()
                .to_string();
            (to, m)
        })
        .collect()
}

fn ack_url(mail: &str) -> Vec<String> {
    mail.lines()
        .filter_map(|l| l.trim().strip_prefix("Acknowledge: "))
        .map(str::to_string)
        .collect()
}

async fn recalls(admin: &Api, asset: &str) -> Vec<Value> {
    expect_json(admin.get(&format!("/assets/{asset}/recalls")).await, 200).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// Sends the whole of `url` through `client`.
async fn download(client: &reqwest::Client, url: &str) {
    let r = client.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.bytes().await.unwrap();
}

async fn a_new_version_tells_each_holder_once_across_two_instances(app: TestApp) {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    // This instance runs no jobs: the two below share them, and must send each mail once.
    let Some(app) = spawn_with(app.backend, |c| {
        c.smtp_url = Some(smtp.url().into());
        c.job_workers = 0;
    })
    .await
    else {
        return;
    };
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;
    let group = admin.group("Partners").await;
    admin.grant(&folder, &group, true, true, false).await;
    let a = admin.published(&folder, "hero.png", png(64, 48, 1)).await;
    let b = admin.published(&folder, "banner.png", png(80, 40, 2)).await;
    let member = app.member("partner@agency.test", &[&group]).await;
    // The member has both assets, one of them twice.
    for id in [&a, &a, &b] {
        let r = member.get(&format!("/assets/{id}/original")).await;
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
    }
    let share = admin
        .create_link(json!({
            "asset_ids": [a],
            "recipients": ["r1@supermart.test", "r2@supermart.test", "r3@supermart.test"],
            "per_recipient": true,
        }))
        .await;
    let links = share.json["links"].as_array().unwrap().clone();
    let url_of = |who: &str| {
        links.iter().find(|l| l["recipient"] == who).unwrap()["url"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for who in ["r1@supermart.test", "r2@supermart.test"] {
        download(&visitor(), &format!("{}/assets/{a}/original", url_of(who))).await;
    }
    // r3 only started: no copy, no notice.
    let partial = visitor()
        .get(format!(
            "{}/assets/{a}/original",
            url_of("r3@supermart.test")
        ))
        .header(reqwest::header::RANGE, "bytes=0-9")
        .send()
        .await
        .unwrap();
    assert_eq!(partial.status(), 206);
    partial.bytes().await.unwrap();
    // An anonymous visitor has it too: counted, not told.
    let open = admin.create_link(json!({ "asset_ids": [a] })).await;
    download(&visitor(), &format!("{}/assets/{a}/original", open.url)).await;
    app.state.events.flush().await.unwrap();

    // Version 2 of both assets, rendered (by an instance that then stops, so the notices'
    // thumbnails exist and no job runs until both are approved), then approved.
    let renderer = app
        .another_instance(|c| c.smtp_url = Some(smtp.url().into()))
        .await;
    for id in [&a, &b] {
        let r = admin
            .post(&format!("/assets/{id}/checkout"), json!({}))
            .await;
        assert_eq!(r.status(), 200);
        let v2 = admin.check_in(id, &png(64, 48, 9), "new colours").await;
        assert_eq!(v2.status(), 201);
        app.rendered(&admin, id).await;
    }
    renderer.stop().await;
    for id in [&a, &b] {
        admin.approve(id).await;
    }
    let listed = recalls(&admin, &a).await;
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["reason"], "replaced");
    assert_eq!(listed[0]["mode"], "replace");
    assert_eq!(listed[0]["notices"], 3);
    assert_eq!(listed[0]["anonymous"], 1);
    assert_eq!(listed[0]["notified"], 0, "no instance runs jobs yet");

    // Two instances take the jobs.
    let tweak = |c: &mut assetport::Config| c.smtp_url = Some(smtp.url().into());
    let one = app.another_instance(tweak).await;
    let two = app.another_instance(tweak).await;
    let mails = eventually("three recall mails", || async {
        let m = recall_mails(&smtp);
        (m.len() >= 3 && recalls(&admin, &a).await[0]["notified"] == 3).then_some(m)
    })
    .await;
    let mut to: Vec<&str> = mails.iter().map(|(t, _)| t.as_str()).collect();
    to.sort();
    assert_eq!(
        to,
        [
            "partner@agency.test",
            "r1@supermart.test",
            "r2@supermart.test"
        ],
        "one mail each, nobody else"
    );
    // The member's one mail names both assets, each with its own acknowledge address.
    let (_, member_mail) = mails
        .iter()
        .find(|(t, _)| t == "partner@agency.test")
        .unwrap();
    assert!(member_mail.contains("hero.png"), "{member_mail}");
    assert!(member_mail.contains("banner.png"), "{member_mail}");
    assert!(
        member_mail.contains(&format!("/assets/{a}")),
        "{member_mail}"
    );
    assert_eq!(ack_url(member_mail).len(), 2, "{member_mail}");
    // With each asset's thumbnail, so the holder recognises the file.
    assert_eq!(
        member_mail.matches("[inline image]").count(),
        2,
        "{member_mail}"
    );
    let (_, r1_mail) = mails
        .iter()
        .find(|(t, _)| t == "r1@supermart.test")
        .unwrap();
    assert!(
        r1_mail.contains("the share link you received has it"),
        "{r1_mail}"
    );

    // A GET (a mail scanner) records nothing; the POST does, once; forged tokens are 404.
    let ack = ack_url(r1_mail).remove(0);
    let page = visitor().get(&ack).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("I have dealt with it"));
    assert_eq!(recalls(&admin, &a).await[0]["acknowledged"], 0);
    for _ in 0..2 {
        let r = visitor().request(Method::POST, &ack).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let after = &recalls(&admin, &a).await[0];
    assert_eq!(after["acknowledged"], 1);
    assert_eq!(after["outstanding"], 2);
    let mut forged = ack.clone();
    forged.pop();
    assert_eq!(
        visitor()
            .request(Method::POST, &forged)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // Nothing more was sent: still one mail each.
    assert_eq!(recall_mails(&smtp).len(), 3);

    // The reports' CSV says the same.
    let browser = app.browser();
    browser.login_ok("admin@example.com").await;
    let csv = browser.get("/admin/reports/recalls.csv").await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    let row = text
        .lines()
        .find(|l| l.contains(&a))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("replaced,replace,"), "{row}");
    assert!(
        row.contains(",3,3,1,2,1,"),
        "notices, notified, acknowledged, outstanding, anonymous: {row}"
    );
    // Members see none of it.
    assert_eq!(
        member.get(&format!("/assets/{a}/recalls")).await.status(),
        404
    );
    assert_eq!(
        member
            .post(&format!("/assets/{a}/recall"), json!({ "mode": "stop" }))
            .await
            .status(),
        404
    );
    one.stop().await;
    two.stop().await;
}

async fn archiving_and_a_stop_recall_tell_holders_a_day_apart(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;
    let a = admin
        .published(&folder, "old-logo.png", png(32, 32, 3))
        .await;
    let share = admin
        .create_link(json!({ "asset_ids": [a], "recipients": ["buyer@supermart.test"], "per_recipient": true }))
        .await;
    download(&visitor(), &format!("{}/assets/{a}/original", share.url)).await;
    app.state.events.flush().await.unwrap();

    let r = admin.post(&format!("/assets/{a}/archive"), json!({})).await;
    assert_eq!(r.status(), 200);
    let first = app
        .wait_for_mail("buyer@supermart.test", |m| m.contains("have changed"))
        .await;
    assert!(first.contains("withdrawn (archived)"), "{first}");
    assert!(first.contains("Please stop using it"), "{first}");

    // An admin's recall the same day waits for tomorrow's mail.
    let bad = admin
        .post(&format!("/assets/{a}/recall"), json!({ "mode": "later" }))
        .await;
    assert_eq!(bad.status(), 422);
    let long = "x".repeat(2001);
    let bad = admin
        .post(
            &format!("/assets/{a}/recall"),
            json!({ "mode": "stop", "message": long }),
        )
        .await;
    assert_eq!(bad.status(), 422);
    let made = expect_json(
        admin
            .post(
                &format!("/assets/{a}/recall"),
                json!({ "mode": "stop", "message": "The licence for this logo has ended." }),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(made["reason"], "recalled");
    assert_eq!(made["notices"], 1);
    // Its mail is queued for tomorrow (midnight UTC), and only then sent.
    let tomorrow =
        assetport::clock::rfc3339(app.state.clock.now_ms() + 86_400_000)[..10].to_string();
    let pending = assetport::jobs::list(&app.state.db, "pending", 100)
        .await
        .unwrap();
    let queued = pending
        .iter()
        .find(|j| j.kind == "recall_notices")
        .unwrap_or_else(|| panic!("{pending:?}"));
    assert_eq!(queued.subject, format!("buyer@supermart.test {tomorrow}"));
    assert!(queued.run_at > app.state.clock.now_ms());
    let count = |app: &TestApp| {
        app.outbox()
            .iter()
            .filter(|m| m.contains("To: buyer@supermart.test") && m.contains("have changed"))
            .count()
    };
    assert_eq!(count(&app), 1, "at most one mail a day");
    app.advance(std::time::Duration::from_secs(86_400));
    let second = app
        .wait_for_mail("buyer@supermart.test", |m| {
            m.contains("The licence for this logo has ended.")
        })
        .await;
    assert!(second.contains("Please stop using it"), "{second}");
    assert_eq!(count(&app), 2);
    let listed = recalls(&admin, &a).await;
    assert_eq!(listed.len(), 2);
    assert!(listed
        .iter()
        .all(|r| r["notified"] == 1 && r["mode"] == "stop"));
}

async fn a_closing_window_withdraws_once_on_any_number_of_instances(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;
    let a = admin.published(&folder, "summer.png", png(32, 32, 5)).await;
    let r = admin
        .patch(
            &format!("/assets/{a}"),
            json!({ "available_until": app.in_secs(3600) }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let share = admin
        .create_link(json!({ "asset_ids": [a], "recipients": ["shop@supermart.test"], "per_recipient": true }))
        .await;
    download(&visitor(), &format!("{}/assets/{a}/original", share.url)).await;
    app.state.events.flush().await.unwrap();
    // Still inside the window: nothing to withdraw.
    assert_eq!(
        assetport::recalls::scan_windows(&app.state).await.unwrap(),
        0
    );
    // It runs no jobs, so the mail lands in this instance's outbox.
    let other = app.another_instance(|c| c.job_workers = 0).await;
    app.advance(std::time::Duration::from_secs(3601));
    other
        .state
        .clock
        .advance(std::time::Duration::from_secs(3601));
    // Both instances look (each does at start and every minute, so the other's own loop may
    // be first); one recall is opened whoever looks.
    let (x, y) = tokio::join!(
        assetport::recalls::scan_windows(&app.state),
        assetport::recalls::scan_windows(&other.state)
    );
    assert!(x.unwrap() + y.unwrap() <= 1);
    assert_eq!(
        assetport::recalls::scan_windows(&app.state).await.unwrap(),
        0
    );
    let listed = recalls(&admin, &a).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["reason"], "withdrawn");
    let mail = app
        .wait_for_mail("shop@supermart.test", |m| m.contains("have changed"))
        .await;
    assert!(mail.contains("its licence period ended"), "{mail}");
    other.stop().await;
}

on_both_backends!(
    a_new_version_tells_each_holder_once_across_two_instances,
    archiving_and_a_stop_recall_tell_holders_a_day_apart,
    a_closing_window_withdraws_once_on_any_number_of_instances,
);
