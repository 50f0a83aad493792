//! Mail as brands send it (issue 21): every mail is `multipart/alternative` — the text as
//! before plus an HTML part with the logo, the accent colour, a button and pictures of the
//! assets it names, all inside the mail (`cid:`), nothing fetched from anywhere; `Message-ID`,
//! `Date`, and `Reply-To` the person who shared or reviewed. Review outcomes go out as one mail
//! per contributor per review session. Read back with Python's `email` package, an
//! independent MIME reader. Both databases.
mod common;
use common::*;
use serde_json::{json, Value};

/// The mail's structure as Python's `email` reads it: headers, the parts' types, the HTML,
/// the text, and the inline parts' Content-IDs.
fn parsed(raw: &str) -> Value {
    let out = python(
        "import sys, json, email\n\
         from email import policy\n\
         m = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)\n\
         html = m.get_body(('html',))\n\
         text = m.get_body(('plain',))\n\
         inline = [p for p in m.walk() if p.get('Content-ID')]\n\
         print(json.dumps({\n\
           'type': m.get_content_type(),\n\
           'types': [p.get_content_type() for p in m.walk()],\n\
           'message_id': m.get('Message-ID'), 'date': m.get('Date'),\n\
           'reply_to': str(m.get('Reply-To') or ''), 'subject': str(m.get('Subject')),\n\
           'html': html.get_content() if html else None,\n\
           'text': text.get_content() if text else None,\n\
           'cids': [p.get('Content-ID') for p in inline],\n\
           'inline_types': [p.get_content_type() for p in inline],\n\
         }))",
        raw.as_bytes(),
        "a mail Python's email package can read",
    );
    serde_json::from_slice(&out).expect("json")
}

fn raw_mail_to(app: &TestApp, to: &str, subject_has: &str) -> Vec<String> {
    app.outbox()
        .into_iter()
        .filter(|m| {
            let t = mail_text(m);
            t.lines().any(|l| l == format!("To: {to}"))
                && parsed(m)["subject"]
                    .as_str()
                    .unwrap_or("")
                    .contains(subject_has)
        })
        .collect()
}

/// Every `src` and `href` of the HTML: images only from inside the mail.
fn assert_no_remote_images(html: &str) {
    for (i, _) in html.match_indices("src=\"") {
        let src = &html[i + 5..];
        assert!(
            src.starts_with("cid:"),
            "a remote image: {}",
            &src[..40.min(src.len())]
        );
    }
    assert!(!html.contains("url("), "CSS can fetch too");
}

async fn a_share_invitation_is_branded_html_with_a_button_and_the_sender_as_reply_to(app: TestApp) {
    let admin = app.admin().await;
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    // A logo and an accent colour.
    let csrf = b.csrf("/account").await;
    let form = reqwest::multipart::Form::new()
        .text("name", "Northwind")
        .text("accent", "#A4161A")
        .text("mail_footer", "Northwind Coffee · Brand team")
        .part(
            "logo",
            reqwest::multipart::Part::bytes(png(120, 40, 3)).file_name("logo.png"),
        );
    let r = b
        .client
        .post(b.url(&format!("/admin/branding?csrf_token={csrf}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    let folder = admin.folder(None, "Press").await;
    let a = admin.published(&folder, "kit.png", png(40, 30, 1)).await;
    let link = admin
        .create_link(json!({
            "asset_ids": [a], "recipients": ["ann@example.com"],
            "title": "Summer Roast 2027 — press kit", "message": "<b>Hi</b> Ann & team"
        }))
        .await;
    let raw = app
        .outbox()
        .into_iter()
        .find(|m| mail_text(m).contains("To: ann@example.com"))
        .expect("the invitation");
    let m = parsed(&raw);
    assert_eq!(m["type"], "multipart/alternative", "{m:#}");
    assert_eq!(m["subject"], "Northwind: Summer Roast 2027 — press kit");
    let mid = m["message_id"].as_str().unwrap();
    assert!(
        mid.starts_with('<') && mid.ends_with('>') && mid.contains('@'),
        "{mid}"
    );
    assert!(!m["date"].as_str().unwrap().is_empty());
    assert!(
        m["reply_to"]
            .as_str()
            .unwrap()
            .contains("admin@example.com"),
        "{m:#}"
    );
    // The text part is what it always was (the footer included)…
    let text = m["text"].as_str().unwrap();
    assert!(text.contains(&format!("Open: {}", link.url)), "{text}");
    assert!(text.contains("Northwind Coffee · Brand team"));
    // …and the HTML part says the same with the brand: the logo inline, a button to the link,
    // the accent colour, the sender's message as text, not markup.
    let html = m["html"].as_str().unwrap();
    assert!(html.contains(&format!("href=\"{}\"", link.url)), "{html}");
    assert!(html.contains(">Open the files</a>"));
    assert!(html.contains("#A4161A") || html.contains("#a4161a"));
    assert!(html.contains("&lt;b&gt;Hi&lt;/b&gt; Ann &amp; team"));
    assert!(html.contains("src=\"cid:logo\""));
    assert!(html.contains("Northwind Coffee · Brand team"));
    assert_no_remote_images(html);
    assert_eq!(m["cids"], json!(["<logo>"]));
    assert_eq!(m["inline_types"], json!(["image/png"]));
}

async fn review_outcomes_reach_a_contributor_as_one_mail_per_session(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Agency inbox").await;
    let g = admin.group("Agencies").await;
    admin.grant(&folder, &g, true, false, true).await;
    let agency = app.member("studio@agency.example", &[&g]).await;
    let mut ids = Vec::new();
    for (name, seed) in [("hero.png", 1), ("banner.png", 2), ("logo.png", 3)] {
        let r = agency
            .upload_raw(&folder, name, png(64, 48, seed), &[])
            .await;
        let j = expect_json(r, 201).await;
        ids.push(j["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        app.rendered(&admin, id).await;
    }
    let before = app.outbox().len();
    // A review session: two approvals and a rejection, minutes apart.
    expect_json(
        admin
            .post(&format!("/assets/{}/approve", ids[0]), json!({}))
            .await,
        200,
    )
    .await;
    app.advance(std::time::Duration::from_secs(240));
    let r = admin
        .post(
            &format!("/assets/{}/reject", ids[1]),
            json!({ "comment": "The logo is cut off at the top" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    app.advance(std::time::Duration::from_secs(240));
    expect_json(
        admin
            .post(&format!("/assets/{}/approve", ids[2]), json!({}))
            .await,
        200,
    )
    .await;
    // Nothing yet: the session may go on.
    app.advance(std::time::Duration::from_secs(300));
    app.state.jobs.wake();
    assert!(
        raw_mail_to(&app, "studio@agency.example", "").is_empty(),
        "a mail before the session ended"
    );
    // Ten minutes after the last decision: one mail, every file with its outcome.
    app.advance(std::time::Duration::from_secs(301));
    app.state.jobs.wake();
    let text = app
        .wait_for_mail("studio@agency.example", |m| {
            m.contains("reviewed 3 of your files")
        })
        .await;
    let mails = raw_mail_to(&app, "studio@agency.example", "");
    assert_eq!(mails.len(), 1, "{text}");
    let m = parsed(&mails[0]);
    assert_eq!(m["subject"], "assetport: 2 files approved, 1 needs changes");
    assert!(m["reply_to"]
        .as_str()
        .unwrap()
        .contains("admin@example.com"));
    let body = m["text"].as_str().unwrap();
    for line in [
        "Approved: hero.png (version 1)",
        "Changes requested: banner.png (version 1)",
        "“The logo is cut off at the top”",
        "Approved: logo.png (version 1)",
    ] {
        assert!(body.contains(line), "{line} missing in {body}");
    }
    let html = m["html"].as_str().unwrap();
    assert_no_remote_images(html);
    assert_eq!(
        m["cids"].as_array().unwrap().len(),
        3,
        "one picture per file: {m:#}"
    );
    assert!(m["inline_types"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t == "image/jpeg"));
    for cid in m["cids"].as_array().unwrap() {
        let cid = cid.as_str().unwrap().trim_matches(['<', '>']);
        assert!(
            html.contains(&format!("src=\"cid:{cid}\"")),
            "{cid} not shown"
        );
    }
    assert!(html.contains("hero.png") && html.contains("banner.png"));
    assert_eq!(
        app.outbox().len(),
        before + 1,
        "only the contributor's mail"
    );

    // A later single decision is its own, familiar mail.
    let r = agency.check_in(&ids[1], &png(64, 48, 9), "fixed").await;
    assert_eq!(r.status(), 201);
    expect_json(
        admin
            .post(&format!("/assets/{}/approve", ids[1]), json!({}))
            .await,
        200,
    )
    .await;
    app.advance(std::time::Duration::from_secs(601));
    app.state.jobs.wake();
    app.wait_for_mail("studio@agency.example", |m| {
        m.contains("Subject: Approved: banner.png")
    })
    .await;
    assert_eq!(raw_mail_to(&app, "studio@agency.example", "").len(), 2);
}

async fn admins_hear_who_sent_which_files_where(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaigns").await;
    let g = admin.group("Agencies").await;
    admin.grant(&folder, &g, true, false, true).await;
    let agency = app.member("blue@agency.example", &[&g]).await;
    let upload = |name: &'static str| {
        let agency = &agency;
        let folder = &folder;
        async move {
            let r = agency.upload_raw(folder, name, png(30, 20, 1), &[]).await;
            assert_eq!(r.status(), 201);
        }
    };
    // The first file after a quiet spell: at once, naming it.
    upload("hero.png").await;
    let first = app
        .wait_for_mail("admin@example.com", |m| m.contains("for review"))
        .await;
    assert!(
        first.contains("Subject: blue sent 1 file to /Campaigns for review"),
        "{first}"
    );
    assert!(first.contains("hero.png"));
    // Two more within ten minutes: nothing yet, then one mail naming both.
    app.advance(std::time::Duration::from_secs(60));
    upload("banner.png").await;
    upload("logo.png").await;
    app.state.jobs.wake();
    let alerts = |app: &TestApp| {
        app.outbox()
            .into_iter()
            .map(|m| mail_text(&m))
            .filter(|m| m.contains("To: admin@example.com") && m.contains("for review"))
            .collect::<Vec<_>>()
    };
    assert_eq!(alerts(&app).len(), 1);
    app.advance(std::time::Duration::from_secs(541));
    app.state.jobs.wake();
    let second = app
        .wait_for_mail("admin@example.com", |m| {
            m.contains("Subject: blue sent 2 files to /Campaigns for review")
        })
        .await;
    assert!(
        second.contains("banner.png") && second.contains("logo.png"),
        "{second}"
    );
    assert!(!second.contains("hero.png"), "{second}");
    assert_eq!(alerts(&app).len(), 2);
    let html = parsed(
        &app.outbox()
            .into_iter()
            .find(|m| mail_text(m).contains("2 files to /Campaigns"))
            .unwrap(),
    );
    assert!(html["html"]
        .as_str()
        .unwrap()
        .contains(">Open the review queue</a>"));
}

on_both_backends!(
    admins_hear_who_sent_which_files_where,
    a_share_invitation_is_branded_html_with_a_button_and_the_sender_as_reply_to,
    review_outcomes_reach_a_contributor_as_one_mail_per_session,
);
