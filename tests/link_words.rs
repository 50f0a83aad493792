//! What a share link's recipient reads (issue 21): the invitation's subject names the brand and
//! the share ("assetport: Summer Roast 2027 — press kit"; without a title, who shared); the
//! code mail's subject carries the code; an address that names no link says "does not exist or
//! has been mistyped", for visitors, with no way into a library they do not have. Both
//! databases.
mod common;
use common::*;
use serde_json::json;

/// The Subject header as a mail client shows it: RFC 2047 `=?utf-8?b?…?=` words decoded.
fn subject(mail: &str) -> String {
    use base64::Engine;
    let raw = mail
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or_else(|| panic!("no subject in {mail}"));
    let mut out = String::new();
    let mut rest = raw;
    while let Some(start) = rest.to_ascii_lowercase().find("=?utf-8?b?") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 10..];
        let end = after.find("?=").expect("an encoded word ends");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&after[..end])
            .expect("base64");
        out.push_str(&String::from_utf8(bytes).expect("utf-8"));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

async fn a_recipient_reads_plain_words(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Press").await;
    let asset = admin.published(&folder, "kit.png", png(40, 30, 2)).await;
    let link = admin
        .create_link(json!({
            "asset_ids": [asset], "recipients": ["ann@example.com"], "require_code": true,
            "title": "Summer Roast 2027 — press kit"
        }))
        .await;
    let invite = mail_text(&app.outbox().pop().expect("the invitation"));
    assert_eq!(subject(&invite), "assetport: Summer Roast 2027 — press kit");
    // Without a title: who shared.
    admin
        .create_link(json!({ "asset_ids": [asset], "recipients": ["bob@example.com"] }))
        .await;
    let untitled = mail_text(&app.outbox().pop().expect("the invitation"));
    assert_eq!(subject(&untitled), "assetport: admin shared files with you");

    // The code mail's subject carries the code.
    let v = app.browser();
    let r = v
        .post_form(
            &format!("{}/code", link.path),
            &[("email", "ann@example.com")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let mail = mail_text(&app.outbox().pop().expect("the code mail"));
    let code = code_in(&mail);
    assert_eq!(
        subject(&mail),
        format!("{code} is your code for the shared files")
    );

    // An address that names no link.
    let typo = format!("{}x", &link.path[..link.path.len() - 1]);
    for who in [app.browser(), {
        let b = app.browser();
        app.user("boss@example.com", assetport::accounts::users::Role::Admin)
            .await;
        b.login_ok("boss@example.com").await;
        b
    }] {
        let (s, html) = who.page(&typo).await;
        assert_eq!(s, 404);
        assert!(
            html.contains("does not exist or has been mistyped"),
            "{html}"
        );
        assert!(!html.contains("Go to the library"), "{html}");
    }
    // A missing file inside a live link is not called a mistyped link.
    let (s, html) = app
        .browser()
        .page(&format!("{}/files/nonexistent", link.path))
        .await;
    assert!(s.is_client_error());
    assert!(!html.contains("mistyped"), "{html}");
}

/// The share page says who shared it and for whom they work, under their message, and opens
/// with the first picture large once the terms allow previews.
async fn the_share_page_names_the_sender_and_opens_with_a_cover(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Press").await;
    let a = admin.published(&folder, "kit.png", png(40, 30, 2)).await;
    let b = admin
        .published(&folder, "notes.txt", b"words".to_vec())
        .await;
    for id in [&a, &b] {
        app.rendered(&admin, id).await;
    }
    let link = admin
        .create_link(json!({ "asset_ids": [b, a], "message": "Here is the kit." }))
        .await;
    let page = text_of(&visitor(), app.url(&link.path)).await;
    assert!(
        page.contains("<figcaption>— admin, assetport</figcaption>"),
        "{page}"
    );
    assert!(page.contains(&format!(
        "class=\"share-cover\" src=\"{}/assets/{a}/preview\"",
        link.path
    )));
    // With terms to accept first, no preview shows before they are.
    let terms = admin
        .create_link(json!({ "asset_ids": [a, b], "terms": "Editorial only." }))
        .await;
    let page = text_of(&visitor(), app.url(&terms.path)).await;
    assert!(!page.contains("share-cover"));
    assert!(page.contains("Shared by <strong>admin</strong> · assetport"));
}

/// The gates a recipient meets (issue 21): the code screen of a per-recipient link names the
/// address the code goes to, masked as on the forwarded-link page ("a•••@northwind.example"),
/// never the whole address; the code and terms gates stand on the sign-in page's branded
/// background (`body.signin`), the open gallery does not.
async fn the_gates_name_the_masked_address_on_the_branded_background(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Press").await;
    let asset = admin.published(&folder, "kit.png", png(40, 30, 2)).await;
    let link = admin
        .create_link(json!({
            "asset_ids": [asset], "recipients": ["ann.lee@northwind.example"],
            "per_recipient": true, "require_code": true, "terms": "Editorial use only."
        }))
        .await;
    let branded = r#"<body class="signin">"#;
    let v = app.browser();
    let (status, html) = v.page(&link.path).await;
    assert_eq!(status, 200);
    assert!(html.contains(branded), "{html}");
    assert!(
        html.contains("We will email it to <strong>a•••@northwind.example</strong>"),
        "{html}"
    );
    assert!(!html.contains("ann.lee@"), "{html}");

    let r = v.post_form(&format!("{}/code", link.path), &[]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = v.page(&link.path).await;
    assert!(html.contains(branded), "{html}");
    assert!(
        html.contains("We sent a code to <strong>a•••@northwind.example</strong>."),
        "{html}"
    );
    assert!(!html.contains("ann.lee@"), "{html}");
    let code = code_in(&mail_text(&app.outbox().pop().expect("the code mail")));
    let r = v
        .post_form(&format!("{}/verify", link.path), &[("code", &code)])
        .await;
    assert_eq!(r.status(), 303);

    // The terms are the last gate, on the same background; then the gallery, on the page's own.
    let (_, html) = v.page(&link.path).await;
    assert!(html.contains(branded) && html.contains("Editorial use only."));
    assert!(html.contains("I accept these terms") && html.contains("kit.png"));
    let r = v.post_form(&format!("{}/accept", link.path), &[]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = v.page(&link.path).await;
    assert!(!html.contains(r#"class="signin""#), "{html}");
    assert!(html.contains("Download all"), "{html}");
}

on_both_backends!(
    a_recipient_reads_plain_words,
    the_share_page_names_the_sender_and_opens_with_a_cover,
    the_gates_name_the_masked_address_on_the_branded_background
);
