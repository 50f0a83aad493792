//! Delivery slots on upload links (issue 19 part 4): a brief lists slots, each checked by what
//! a file is (sniffed type, header pixel size), counted exactly under parallel senders, with
//! the owner's, the sender's and the reminder mails; over real HTTP on both databases.
mod common;
use common::smtp::SmtpServer;
use common::*;
use reqwest::header;
use serde_json::{json, Value};

/// Sends one file as the page's script does: the sender's fields, the slot, a title.
async fn send(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    slot: &str,
    title: &str,
    file: (&str, Vec<u8>),
) -> reqwest::Response {
    send_to(client, &app.url(""), path, slot, title, file).await
}

/// `send` to the instance at `base`.
async fn send_to(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    slot: &str,
    title: &str,
    file: (&str, Vec<u8>),
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("uploader_name", "Nora Studio")
        .text("uploader_email", "nora@studio.example")
        .text("slot", slot.to_string())
        .text("title", title.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(file.1).file_name(file.0.to_string()),
        );
    client
        .post(format!("{base}{path}/files"))
        .header(header::ACCEPT, "application/json")
        .multipart(form)
        .send()
        .await
        .expect("send")
}

/// Creates a link with `slots` in a fresh folder; its JSON and its path.
async fn link_with(admin: &Api, slots: Value, extra: Value) -> (Value, String) {
    let folder = admin.folder(None, "Incoming").await;
    let mut body = json!({ "folder_id": folder, "title": "Spring", "slots": slots });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let created = admin.post_ok("/upload-links", body, 201).await;
    let path = upload_path(created["url"].as_str().unwrap());
    (created, path)
}

async fn contradicting_slot_rules_answer_422_naming_the_field(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Incoming").await;
    for (slot, field) in [
        (
            json!({"name": "Hero", "min_width": 3000, "max_width": 2000}),
            "slots[0].min_width",
        ),
        (
            json!({"name": "Hero", "files": {"min": 3, "max": 2}}),
            "slots[0].files.min",
        ),
        (
            json!({"name": "Hero", "types": ["image/x-guess"]}),
            "slots[0].types",
        ),
        (json!({"name": " "}), "slots[0].name"),
    ] {
        let r = admin
            .post(
                "/upload-links",
                json!({"folder_id": folder, "slots": [slot]}),
            )
            .await;
        let body = expect_json(r, 422).await;
        assert_eq!(body["error"], "unprocessable", "{body}");
        assert!(body["message"].as_str().unwrap().contains(field), "{body}");
    }
    assert_eq!(app.count("upload_links").await, 0);
    assert_eq!(app.count("upload_link_slots").await, 0);
}

async fn a_sender_fills_every_slot_and_everyone_hears_once(app: TestApp) {
    let Some(smtp) = SmtpServer::start() else {
        return;
    };
    let Some(app) = spawn_with(app.backend, |c| c.smtp_url = Some(smtp.url().into())).await else {
        return;
    };
    let admin = app.admin().await;
    let (link, path) = link_with(
        &admin,
        json!([
            {"name": "Hero banner 3000 px", "types": ["image/png", "image/jpeg"],
             "min_width": 3000, "files": {"min": 1, "max": 2}, "title_required": true},
            {"name": "Logo", "types": ["image/png"], "files": {"min": 1, "max": 1}}
        ]),
        json!({}),
    )
    .await;
    assert_eq!(link["slots"][0]["delivered"], 0);
    let (hero, logo) = (slot_id(&link, 0), slot_id(&link, 1));
    let nora = sender_browser();
    let page = nora.get(app.url(&path)).send().await.unwrap();
    assert!(page.headers().get(header::SET_COOKIE).is_some());
    let html = page.text().await.unwrap();
    assert!(html.contains("Hero banner 3000 px") && html.contains("0 of 2 delivered"));

    // Wrong files are refused at once, with the reason, and nothing stays stored.
    let before = app.stored_files().await;
    let r = send(&nora, &app, &path, &hero, "", ("a.png", png(3000, 4, 1))).await;
    let body = expect_json(r, 422).await;
    assert!(
        body["message"].as_str().unwrap().contains("title"),
        "{body}"
    );
    let r = send(
        &nora,
        &app,
        &path,
        &hero,
        "Hero",
        ("small.png", png(2000, 4, 1)),
    )
    .await;
    let body = expect_json(r, 422).await;
    assert_eq!(
        body["message"],
        "2000×4 — this slot needs at least 3000 px wide"
    );
    let r = send(
        &nora,
        &app,
        &path,
        &hero,
        "Hero",
        ("fake.png", b"%PDF-1.7 not an image".to_vec()),
    )
    .await;
    let body = expect_json(r, 422).await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("application/pdf"),
        "{body}"
    );
    assert_eq!(app.stored_files().await, before);

    // Two heroes, each with its own title; a third finds the slot full.
    for (name, title, seed) in [("hero-a.png", "Hero A", 1), ("hero-b.png", "Hero B", 2)] {
        let r = send(&nora, &app, &path, &hero, title, (name, png(3000, 4, seed))).await;
        let sent = expect_json(r, 201).await;
        let asset = expect_json(
            admin
                .get(&format!("/assets/{}", sent["id"].as_str().unwrap()))
                .await,
            200,
        )
        .await;
        assert_eq!(asset["title"], title);
    }
    let r = send(
        &nora,
        &app,
        &path,
        &hero,
        "Hero C",
        ("hero-c.png", png(3000, 4, 3)),
    )
    .await;
    assert_eq!(r.status(), 409);

    // After a reload the page shows the count and Nora's own files; another sender sees the
    // counts but none of Nora's files.
    let html = text_of(&nora, app.url(&path)).await;
    assert!(html.contains("2 of 2 delivered"), "{html}");
    assert!(html.contains("hero-a.png") && html.contains("Hero B"));
    let other = sender_browser().get(app.url(&path)).send().await.unwrap();
    let other = other.text().await.unwrap();
    assert!(other.contains("2 of 2 delivered"));
    assert!(!other.contains("hero-a.png") && !other.contains("hero-b.png"));
    assert!(smtp
        .messages()
        .iter()
        .all(|m| !m.contains("Every delivery slot")));

    // The logo fills the last slot: the owner hears once; Nora gets one receipt a minute
    // after her last file, listing everything.
    let r = send(&nora, &app, &path, &logo, "", ("logo.png", png(40, 40, 4))).await;
    expect_json(r, 201).await;
    let filled = eventually("the owner's mail", || async {
        smtp.messages()
            .into_iter()
            .find(|m| m.contains("Every delivery slot of “Spring” now holds"))
    })
    .await;
    assert!(
        filled.contains("Hero banner 3000 px: 2 of 2 delivered"),
        "{filled}"
    );
    app.advance(std::time::Duration::from_secs(61));
    let receipt = eventually("Nora's receipt", || async {
        smtp.messages()
            .into_iter()
            .find(|m| m.contains("To: nora@studio.example") && m.contains("arrived through"))
    })
    .await;
    for f in [
        "hero-a.png “Hero A” (slot: Hero banner 3000 px)",
        "hero-b.png",
        "logo.png (slot: Logo)",
    ] {
        assert!(receipt.contains(f), "{f} in {receipt}");
    }
    assert!(!receipt.contains("Still waiting"), "{receipt}");
    app.jobs_settled().await;
    let m = smtp.messages();
    assert_eq!(
        m.iter()
            .filter(|m| m.contains("Every delivery slot"))
            .count(),
        1
    );
    assert_eq!(
        m.iter().filter(|m| m.contains("arrived through")).count(),
        1
    );
}

async fn parallel_senders_never_overfill_a_slot(app: TestApp) {
    let admin = app.admin().await;
    let (link, path) = link_with(
        &admin,
        json!([{"name": "Shots", "types": ["image/*"], "files": {"min": 1, "max": 3}}]),
        json!({}),
    )
    .await;
    let slot = slot_id(&link, 0);
    // 100 senders at once, split over two instances.
    let b = app.another_instance(|_| {}).await;
    let bases = [app.url(""), b.url("")];
    let sends = (0..100u8).map(|i| {
        let (base, path, slot) = (&bases[usize::from(i % 2)], &path, &slot);
        async move {
            let c = sender_browser();
            send_to(
                &c,
                base,
                path,
                slot,
                "",
                (&format!("s{i}.png"), png(20, 20, i)),
            )
            .await
            .status()
            .as_u16()
        }
    });
    let codes = futures_util::future::join_all(sends).await;
    assert_eq!(codes.iter().filter(|c| **c == 201).count(), 3, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 409).count(), 97, "{codes:?}");
    let read = expect_json(
        admin
            .get(&format!("/upload-links/{}", link["id"].as_str().unwrap()))
            .await,
        200,
    )
    .await;
    assert_eq!(read["slots"][0]["delivered"], 3);
    assert_eq!(app.count("asset_versions").await, 3);
    b.stop().await;
}

async fn a_sender_with_empty_slots_is_reminded_once_before_the_end(app: TestApp) {
    let admin = app.admin().await;
    let (link, path) = link_with(
        &admin,
        json!([{"name": "Hero"}, {"name": "Packshot"}]),
        json!({"expires_at": app.in_secs(3 * 24 * 3600)}),
    )
    .await;
    let nora = sender_browser();
    nora.get(app.url(&path)).send().await.unwrap();
    let r = send(
        &nora,
        &app,
        &path,
        &slot_id(&link, 0),
        "",
        ("hero.jpg", b"x".to_vec()),
    )
    .await;
    expect_json(r, 201).await;
    // A visitor who never sent anything left no address: nobody to remind.
    sender_browser().get(app.url(&path)).send().await.unwrap();
    let scan = || assetport::uploadlinks::notices::scan_reminders(&app.state);
    assert_eq!(
        scan().await.unwrap(),
        0,
        "not yet within 48 hours of the end"
    );
    app.advance(std::time::Duration::from_secs(25 * 3600));
    assert_eq!(scan().await.unwrap(), 1);
    assert_eq!(scan().await.unwrap(), 0, "claimed once");
    let mail = app
        .wait_for_mail("nora@studio.example", |m| {
            m.contains("still wait for files")
        })
        .await;
    assert!(
        mail.contains("Packshot: 0 of 1 delivered") && !mail.contains("Hero:"),
        "{mail}"
    );
    app.jobs_settled().await;
    let reminders = app
        .outbox()
        .iter()
        .filter(|m| mail_text(m).contains("still wait for files"))
        .count();
    assert_eq!(reminders, 1);
}

async fn a_link_without_slots_takes_any_file_as_before(app: TestApp) {
    let admin = app.admin().await;
    let (link, path) = link_with(&admin, json!([]), json!({})).await;
    assert_eq!(link["slots"], json!([]));
    let r = send(
        &sender_browser(),
        &app,
        &path,
        "",
        "Notes",
        ("notes.txt", b"hello".to_vec()),
    )
    .await;
    expect_json(r, 201).await;
}

async fn the_admin_form_sets_slots_and_refuses_contradictions(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Incoming").await;
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let (status, html) = b
        .page(&format!("/admin/upload-links/new?folder_id={folder}"))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"name="slot_name""#));
    let csrf = csrf_in(&html).unwrap();
    let form = |min_w: &'static str, max_w: &'static str| {
        vec![
            ("csrf_token", csrf.clone()),
            ("folder_id", folder.clone()),
            ("title", "From the page".to_string()),
            ("expires", String::new()),
            ("slot_name", "Hero banner 3000 px".into()),
            ("slot_types", "image/jpeg, image/png".into()),
            ("slot_min_width", min_w.into()),
            ("slot_min_height", String::new()),
            ("slot_max_width", max_w.into()),
            ("slot_max_height", String::new()),
            ("slot_max_mb", "50".into()),
            ("slot_min_files", "1".into()),
            ("slot_max_files", "5".into()),
            ("slot_title", "1".into()),
            // An empty second row is left out.
            ("slot_name", String::new()),
            ("slot_types", String::new()),
            ("slot_min_width", String::new()),
            ("slot_min_height", String::new()),
            ("slot_max_width", String::new()),
            ("slot_max_height", String::new()),
            ("slot_max_mb", String::new()),
            ("slot_min_files", "1".into()),
            ("slot_max_files", "1".into()),
            ("slot_title", "0".into()),
        ]
    };
    let bad = form("3000", "2000");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post_form("/admin/upload-links", &bad).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("slots[0].min_width"));
    let good = form("3000", "");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post_form("/admin/upload-links", &good).await;
    assert_eq!(r.status(), 200);
    let list = expect_json(admin.get("/upload-links").await, 200).await;
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    let link = expect_json(admin.get(&format!("/upload-links/{id}")).await, 200).await;
    assert_eq!(link["slots"].as_array().unwrap().len(), 1);
    let s = &link["slots"][0];
    assert_eq!(s["name"], "Hero banner 3000 px");
    assert_eq!(s["types"], json!(["image/jpeg", "image/png"]));
    assert_eq!(
        (s["min_width"].as_i64(), s["max_bytes"].as_i64()),
        (Some(3000), Some(50_000_000))
    );
    assert_eq!(s["files"], json!({"min": 1, "max": 5}));
    assert_eq!(s["title_required"], true);
    let (_, list) = b.page("/admin/upload-links").await;
    assert!(list.contains("0 of 1 filled"), "{list}");
}

/// Posts a revision of `asset` from the link's page, as its form does (JSON answer).
async fn send_revision(
    c: &reqwest::Client,
    app: &TestApp,
    path: &str,
    asset: &str,
    comment: &str,
    file: Vec<u8>,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("comment", comment.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(file).file_name("hero-v2.png"),
        );
    c.post(app.url(&format!("{path}/files/{asset}/revision")))
        .header(header::ACCEPT, "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn a_revision_through_the_upload_link_lands_as_version_2_of_the_same_asset(app: TestApp) {
    let admin = app.admin().await;
    let (link, path) = link_with(
        &admin,
        json!([{"name": "Hero", "types": ["image/png"], "min_width": 3000}]),
        json!({"expires_at": app.in_secs(3 * 24 * 3600)}),
    )
    .await;
    let nora = sender_browser();
    nora.get(app.url(&path)).send().await.unwrap();
    let r = send(
        &nora,
        &app,
        &path,
        &slot_id(&link, 0),
        "Hero",
        ("hero.png", png(3000, 4, 1)),
    )
    .await;
    let asset = expect_json(r, 201).await["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Nobody can revise a file that is not waiting for changes, nor someone else's.
    let r = send_revision(&nora, &app, &path, &asset, "", png(3000, 4, 2)).await;
    assert_eq!(r.status(), 409);
    let r = admin
        .post(
            &format!("/assets/{asset}/reject"),
            json!({"comment": "The logo is cut off"}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let stranger = sender_browser();
    stranger.get(app.url(&path)).send().await.unwrap();
    let r = send_revision(&stranger, &app, &path, &asset, "", png(3000, 4, 2)).await;
    assert_eq!(r.status(), 404);

    // The sender is mailed the comment and the way back to the same link.
    let mail = app
        .wait_for_mail("nora@studio.example", |m| m.contains("The logo is cut off"))
        .await;
    assert!(mail.contains(&app.url(&path)), "{mail}");
    let html = text_of(&nora, app.url(&path)).await;
    assert!(
        html.contains("Changes requested: The logo is cut off"),
        "{html}"
    );
    assert!(html.contains("Upload a revision"));
    let other = text_of(&stranger, app.url(&path)).await;
    assert!(!other.contains("The logo is cut off"));

    // The revision still has to fit the slot; a fitting one is version 2 of the same asset.
    let r = send_revision(&nora, &app, &path, &asset, "smaller", png(1000, 4, 2)).await;
    assert_eq!(r.status(), 422);
    let r = send_revision(
        &nora,
        &app,
        &path,
        &asset,
        "Logo moved inside",
        png(3000, 4, 3),
    )
    .await;
    let sent = expect_json(r, 201).await;
    assert_eq!(
        (sent["id"].as_str(), sent["version"].as_i64()),
        (Some(asset.as_str()), Some(2))
    );
    let a = expect_json(admin.get(&format!("/assets/{asset}")).await, 200).await;
    assert_eq!(
        (a["status"].as_str(), a["version"].as_i64()),
        (Some("in_review"), Some(2))
    );
    let versions = expect_json(admin.get(&format!("/assets/{asset}/versions")).await, 200).await;
    let comments: Vec<&str> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["comment"].as_str().unwrap())
        .collect();
    assert_eq!(versions["items"].as_array().unwrap().len(), 2);
    assert!(comments.contains(&"Logo moved inside"), "{versions}");
    assert_eq!(app.count("assets").await, 1);

    // Once the link has ended, the mail says so instead of pointing back.
    app.advance(std::time::Duration::from_secs(4 * 24 * 3600));
    let r = admin
        .post(
            &format!("/assets/{asset}/reject"),
            json!({"comment": "Still cut off"}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let mail = app
        .wait_for_mail("nora@studio.example", |m| m.contains("Still cut off"))
        .await;
    assert!(mail.contains("has ended"), "{mail}");
    assert!(!mail.contains(&path), "{mail}");
}

on_both_backends!(
    contradicting_slot_rules_answer_422_naming_the_field,
    a_sender_fills_every_slot_and_everyone_hears_once,
    parallel_senders_never_overfill_a_slot,
    a_sender_with_empty_slots_is_reminded_once_before_the_end,
    a_link_without_slots_takes_any_file_as_before,
    tus_refuses_a_small_image_at_its_header_or_at_completion_keeping_nothing,
    the_admin_form_sets_slots_and_refuses_contradictions,
    a_revision_through_the_upload_link_lands_as_version_2_of_the_same_asset,
);

async fn tus_patch(
    c: &reqwest::Client,
    url: &str,
    offset: usize,
    bytes: &[u8],
) -> reqwest::Response {
    tus(c, reqwest::Method::PATCH, url)
        .header("Upload-Offset", offset.to_string())
        .header(header::CONTENT_TYPE, "application/offset+octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
}

async fn tus_start(
    c: &reqwest::Client,
    app: &TestApp,
    path: &str,
    slot: &str,
    file: &[u8],
) -> String {
    let meta = [
        ("filename", "hero.png"),
        ("uploader_name", "Nora Studio"),
        ("uploader_email", "nora@studio.example"),
        ("slot", slot),
        ("title", "Hero"),
    ]
    .iter()
    .map(|(k, v)| format!("{k} {}", b64(v)))
    .collect::<Vec<_>>()
    .join(",");
    let r = tus(c, reqwest::Method::POST, &app.url(&format!("{path}/tus")))
        .header("Upload-Length", file.len().to_string())
        .header("Upload-Metadata", meta)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    location(&r)
}

async fn tus_refuses_a_small_image_at_its_header_or_at_completion_keeping_nothing(app: TestApp) {
    let admin = app.admin().await;
    let (link, path) = link_with(
        &admin,
        json!([{"name": "Hero", "types": ["image/png"], "min_width": 3000,
                "files": {"min": 1, "max": 1}, "title_required": true}]),
        json!({}),
    )
    .await;
    let hero = slot_id(&link, 0);
    let nora = sender_browser();
    nora.get(app.url(&path)).send().await.unwrap();
    let before = app.stored_files().await;
    let small = png(2000, 4, 1);

    // The whole header in the first PATCH: refused there, the upload is gone.
    let url = tus_start(&nora, &app, &path, &hero, &small).await;
    let r = tus_patch(&nora, &url, 0, &small).await;
    let body = expect_json(r, 422).await;
    assert_eq!(
        body["message"],
        "2000×4 — this slot needs at least 3000 px wide"
    );
    let r = tus(&nora, reqwest::Method::HEAD, &url)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // A first PATCH too short to hold the size: taken, then refused when the file is whole.
    let url = tus_start(&nora, &app, &path, &hero, &small).await;
    assert_eq!(tus_patch(&nora, &url, 0, &small[..12]).await.status(), 204);
    let r = tus_patch(&nora, &url, 12, &small[12..]).await;
    let body = expect_json(r, 422).await;
    assert!(
        body["message"].as_str().unwrap().contains("2000×4"),
        "{body}"
    );
    assert_eq!(
        app.stored_files().await,
        before,
        "nothing of a refused file stays"
    );
    assert_eq!(app.count("tus_uploads").await, 0);
    assert_eq!(app.count("assets").await, 0);

    // A right file through tus lands in the slot; another browser cannot touch an upload.
    let good = png(3000, 4, 2);
    let url = tus_start(&nora, &app, &path, &hero, &good).await;
    let r = tus(&sender_browser(), reqwest::Method::HEAD, &url)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(tus_patch(&nora, &url, 0, &good[..100]).await.status(), 204);
    let r = tus_patch(&nora, &url, 100, &good[100..]).await;
    assert_eq!(r.status(), 204);
    let asset = r.headers()["assetport-asset-id"]
        .to_str()
        .unwrap()
        .to_string();
    let asset = expect_json(admin.get(&format!("/assets/{asset}")).await, 200).await;
    assert_eq!(
        (asset["status"].as_str(), asset["title"].as_str()),
        (Some("in_review"), Some("Hero"))
    );
    let read = expect_json(
        admin
            .get(&format!("/upload-links/{}", link["id"].as_str().unwrap()))
            .await,
        200,
    )
    .await;
    assert_eq!(read["slots"][0]["delivered"], 1);
}
