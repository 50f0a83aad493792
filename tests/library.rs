//! Folders, uploads, downloads and the asset lifecycle, end to end over HTTP; bad input leaves
//! nothing behind (SPEC §3, §6).
mod common;
use common::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

async fn folder_tree_has_unique_paths(app: TestApp) {
    let admin = app.admin().await;
    let top = admin
        .post_ok("/folders", json!({ "name": "Campaigns" }), 201)
        .await;
    assert_eq!(top["path"], "/Campaigns");
    let top_id = top["id"].as_str().unwrap();
    let child = admin
        .post_ok(
            "/folders",
            json!({ "parent_id": top_id, "name": "Spring 2027" }),
            201,
        )
        .await;
    assert_eq!(child["path"], "/Campaigns/Spring 2027");
    assert_eq!(child["parent_id"], top_id);
    assert_eq!(
        admin
            .post(
                "/folders",
                json!({ "parent_id": top_id, "name": "Spring 2027" })
            )
            .await
            .status(),
        409
    );
    assert_eq!(
        admin
            .post("/folders", json!({ "parent_id": "missing", "name": "x" }))
            .await
            .status(),
        422
    );
    for bad in ["..", "a/b", "", "CON", "x\u{0}y", "dots."] {
        let r = admin.post("/folders", json!({ "name": bad })).await;
        assert_eq!(r.status(), 400, "{bad:?}");
    }
    assert_eq!(
        admin
            .post("/folders", json!({ "name": "x", "colour": "red" }))
            .await
            .status(),
        422
    );
    assert_eq!(app.count("folders").await, 2);
    let read = expect_json(admin.get(&format!("/folders/{top_id}")).await, 200).await;
    assert_eq!(read["folders"]["items"][0]["name"], "Spring 2027");
    assert!(read["assets"]["items"].as_array().unwrap().is_empty());
}

async fn upload_and_download_round_trip(app: TestApp) {
    let admin = app.admin().await;
    let f = admin.folder(None, "Brand").await;
    let data = bytes(3 * 1024 * 1024 + 17, 0);
    let sha = hex::encode(Sha256::digest(&data));
    let r = admin
        .upload_raw(
            &f,
            "logo pack.zip",
            data.clone(),
            &[
                ("title", "Logo pack"),
                ("description", "All logos"),
                ("keywords", "logo, brand, Logo"),
            ],
        )
        .await;
    let a = expect_json(r, 201).await;
    assert_eq!(a["status"], "draft");
    assert_eq!(a["size"], data.len() as u64);
    assert_eq!(a["sha256"], sha);
    assert_eq!(a["version"], 1);
    assert_eq!(a["media_type"], "application/zip");
    assert_eq!(a["keywords"], json!(["logo", "brand"]));
    for key in [
        "id",
        "folder_id",
        "filename",
        "status",
        "title",
        "description",
        "available_from",
        "available_until",
        "checked_out_by",
        "created_at",
        "updated_at",
    ] {
        assert!(a.get(key).is_some(), "asset JSON has {key}");
    }
    let id = a["id"].as_str().unwrap();
    let r = admin.get(&format!("/assets/{id}/original")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "private, no-store");
    assert_eq!(r.headers()["etag"], format!("\"{sha}\"").as_str());
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"logo pack.zip\"; filename*=UTF-8''logo%20pack.zip"
    );
    let got = r.bytes().await.unwrap();
    assert_eq!(hex::encode(Sha256::digest(&got)), sha);
    // Exactly one binary is stored.
    assert_eq!(app.stored_files().await.len(), 1);
}

async fn downloads_support_ranges_and_etags(app: TestApp) {
    let admin = app.admin().await;
    let f = admin.folder(None, "Video").await;
    let data = bytes(1_000_000, 0);
    let a = admin.upload(&f, "clip.mp4", data.clone()).await;
    let path = format!("/assets/{}/original", a["id"].as_str().unwrap());
    let etag = format!("\"{}\"", a["sha256"].as_str().unwrap());

    let r = admin.get_with(&path, &[("range", "bytes=100-199")]).await;
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 100-199/1000000");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[100..200]);

    let r = admin.get_with(&path, &[("range", "bytes=-10")]).await;
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[999_990..]);

    let r = admin.get_with(&path, &[("range", "bytes=999999-")]).await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[999_999..]);

    let r = admin.get_with(&path, &[("range", "bytes=2000000-")]).await;
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["content-range"], "bytes */1000000");

    // Garbage ranges are ignored (whole body), per RFC 9110.
    let r = admin.get_with(&path, &[("range", "bytes=abc")]).await;
    assert_eq!(r.status(), 200);

    // Multiple ranges: multipart/byteranges, coalesced.
    let r = admin
        .get_with(&path, &[("range", "bytes=0-9,5-19,500-509")])
        .await;
    assert_eq!(r.status(), 206);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("multipart/byteranges; boundary="));
    let declared: usize = r.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = r.bytes().await.unwrap();
    assert_eq!(body.len(), declared);
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("Content-Range: bytes 0-19/1000000"));
    assert!(text.contains("Content-Range: bytes 500-509/1000000"));
    // Too many ranges: capped, the whole body instead.
    let many: Vec<String> = (0..20)
        .map(|i| format!("{}-{}", i * 1000, i * 1000 + 1))
        .collect();
    let r = admin
        .get_with(&path, &[("range", &format!("bytes={}", many.join(",")))])
        .await;
    assert_eq!(r.status(), 200);

    let r = admin.get_with(&path, &[("if-none-match", &etag)]).await;
    assert_eq!(r.status(), 304);
    // If-Range with a stale validator sends the full body.
    let r = admin
        .get_with(&path, &[("range", "bytes=0-9"), ("if-range", "\"stale\"")])
        .await;
    assert_eq!(r.status(), 200);
    let r = admin
        .get_with(&path, &[("range", "bytes=0-9"), ("if-range", &etag)])
        .await;
    assert_eq!(r.status(), 206);
}

async fn unicode_filenames_get_rfc6266_disposition(app: TestApp) {
    let admin = app.admin().await;
    let f = admin.folder(None, "Intl").await;
    let a = admin
        .upload(&f, "Été \"spécial\" 東京.pdf", b"%PDF".to_vec())
        .await;
    assert_eq!(a["filename"], "Été \"spécial\" 東京.pdf");
    let r = admin
        .get(&format!("/assets/{}/original", a["id"].as_str().unwrap()))
        .await;
    let cd = r.headers()["content-disposition"].to_str().unwrap();
    assert!(cd.starts_with("attachment; filename=\""), "{cd}");
    assert!(
        cd.contains("filename*=UTF-8''%C3%89t%C3%A9%20%22sp%C3%A9cial%22%20%E6%9D%B1%E4%BA%AC.pdf"),
        "{cd}"
    );
    let fallback = cd
        .split("filename=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(
        fallback.is_ascii() && fallback.ends_with(".pdf"),
        "{fallback}"
    );
}

async fn relative_paths_create_subfolders_once(app: TestApp) {
    let admin = app.admin().await;
    let f = admin.folder(None, "Drop").await;
    let a = expect_json(
        admin
            .upload_raw(
                &f,
                "x.jpg",
                b"one".to_vec(),
                &[("relative_path", "Shoot/Day 1/x.jpg")],
            )
            .await,
        201,
    )
    .await;
    let folder = expect_json(
        admin
            .get(&format!("/folders/{}", a["folder_id"].as_str().unwrap()))
            .await,
        200,
    )
    .await;
    assert_eq!(folder["path"], "/Drop/Shoot/Day 1");
    // Several uploads into the same new folder at once meet at one folder row.
    let mut handles = Vec::new();
    for i in 0..6 {
        let (base, token, f) = (admin.base.clone(), admin.token.clone(), f.clone());
        handles.push(tokio::spawn(async move {
            let api = Api {
                base,
                token,
                client: reqwest::Client::new(),
                user_id: String::new(),
            };
            api.upload_raw(
                &f,
                "y.jpg",
                vec![i as u8; 10],
                &[("relative_path", &format!("Shoot/Day 2/y{i}.jpg"))],
            )
            .await
            .status()
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 201);
    }
    assert_eq!(app.count("folders").await, 4, "Drop, Shoot, Day 1, Day 2");
    let day2: Vec<serde_json::Value> = expect_json(admin.get(&format!("/folders/{f}")).await, 200)
        .await["folders"]["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(day2.len(), 1);
}

async fn hostile_names_are_refused_and_leave_nothing(app: TestApp) {
    let admin = app.admin().await;
    let f = admin.folder(None, "Safe").await;
    let long = "a".repeat(300) + ".jpg";
    // `\` and `:` are replaced rather than refused (tests/hardening.rs).
    for name in [
        "../../etc/passwd",
        "CON.jpg",
        "evil\u{202E}gpj.exe",
        "trailing.",
        long.as_str(),
        "a\u{2215}b.jpg",
    ] {
        let r = admin.upload_raw(&f, name, b"data".to_vec(), &[]).await;
        assert_eq!(r.status(), 400, "{name:?}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_input");
    }
    for rel in [
        "../x.jpg",
        "/abs/x.jpg",
        "a/../../x.jpg",
        "a\\b\\x.jpg",
        "a//x.jpg",
        "C:/x.jpg",
        "NUL/x.jpg",
    ] {
        let r = admin
            .upload_raw(&f, "x.jpg", b"data".to_vec(), &[("relative_path", rel)])
            .await;
        assert_eq!(r.status(), 400, "{rel:?}");
    }
    let r = admin
        .upload_raw(
            &f,
            "x.jpg",
            b"data".to_vec(),
            &[("title", &"t".repeat(600))],
        )
        .await;
    assert_eq!(r.status(), 400);
    // A form with no file part.
    let form = reqwest::multipart::Form::new().text("title", "no file");
    let r = admin
        .client
        .post(admin.url(&format!("/folders/{f}/assets")))
        .bearer_auth(&admin.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Not multipart at all.
    let r = admin
        .post(&format!("/folders/{f}/assets"), json!({ "file": "x" }))
        .await;
    assert!(r.status().is_client_error());
    assert_eq!(app.count("assets").await, 0);
    assert_eq!(app.count("asset_versions").await, 0);
    assert_eq!(app.count("folders").await, 1, "no half-made folder tree");
    assert!(
        app.stored_files().await.is_empty(),
        "no orphan binary: {:?}",
        app.stored_files().await
    );
}

async fn oversized_uploads_get_413_and_leave_nothing(app: TestApp) {
    let app = spawn_with(app.backend, |c| c.max_upload_bytes = 100_000)
        .await
        .unwrap();
    let admin = app.admin().await;
    let f = admin.folder(None, "Small").await;
    // Declared too large: refused before a byte of the body is sent.
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let req = format!(
        "POST /api/v1/folders/{f}/assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 5000000000\r\n\r\n",
        admin.token
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = vec![0u8; 512];
    let n = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::io::AsyncReadExt::read(&mut s, &mut head),
    )
    .await
    .expect("answered without waiting for the body")
    .unwrap();
    let head = String::from_utf8_lossy(&head[..n]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    // Streamed without a length: refused once the limit is crossed.
    let chunks =
        futures_util::stream::iter((0..40).map(|_| Ok::<_, std::io::Error>(vec![1u8; 10_000])));
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(chunks))
        .file_name("stream.bin");
    let form = reqwest::multipart::Form::new().part("file", part);
    // The server answers 413 as soon as the limit is crossed and does not read the rest, so a
    // client still sending may see the connection close before it reads that answer.
    let r = admin
        .client
        .post(admin.url(&format!("/folders/{f}/assets")))
        .bearer_auth(&admin.token)
        .multipart(form)
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), 413);
    }
    assert_eq!(app.count("assets").await, 0);
    assert!(
        app.stored_files().await.is_empty(),
        "{:?}",
        app.stored_files().await
    );
    // Just under the limit is fine.
    assert_eq!(
        admin
            .upload_raw(&f, "ok.bin", bytes(99_000, 0), &[])
            .await
            .status(),
        201
    );
}

async fn a_cut_upload_leaves_nothing_visible_and_no_orphan(app: TestApp) {
    let admin = app.admin().await;
    let f = admin.folder(None, "Cut").await;
    let boundary = "assetportcut";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let total = head.len() + 8_000_000 + boundary.len() + 8;
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let req = format!(
        "POST /api/v1/folders/{f}/assets HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {total}\r\n\r\n",
        app.addr, admin.token
    );
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![7u8; 64 * 1024];
    for _ in 0..50 {
        s.write_all(&chunk).await.unwrap(); // ~3.2 MB of 8 MB, then the connection drops
    }
    s.flush().await.unwrap();
    drop(s);
    let clean = eventually("the partial upload to be removed", || async {
        app.stored_files().await.is_empty().then_some(true)
    })
    .await;
    assert!(
        clean,
        "partial data removed: {:?}",
        app.stored_files().await
    );
    assert_eq!(app.count("assets").await, 0);
    assert_eq!(app.count("asset_versions").await, 0);
    // The server is fine afterwards.
    assert_eq!(
        admin.upload(&f, "after.txt", b"ok".to_vec()).await["status"],
        "draft"
    );
}

async fn lifecycle_transitions_are_checked(app: TestApp) {
    let admin = app.admin().await;
    let f = admin.folder(None, "Flow").await;
    let id = admin.upload_id(&f, "a.png", b"png".to_vec()).await;
    let p = |a: &str| format!("/assets/{id}/{a}");
    assert_eq!(
        admin.post(&p("restore"), json!({})).await.status(),
        409,
        "not archived"
    );
    assert_eq!(
        admin
            .post(&p("reject"), json!({ "comment": "  " }))
            .await
            .status(),
        400,
        "a comment is required"
    );
    assert_eq!(
        admin.post_ok(&p("approve"), json!({}), 200).await["status"],
        "approved"
    );
    assert_eq!(admin.post(&p("approve"), json!({})).await.status(), 409);
    assert_eq!(
        admin
            .post(&p("reject"), json!({ "comment": "late" }))
            .await
            .status(),
        409
    );
    assert_eq!(
        admin.post_ok(&p("archive"), json!({}), 200).await["status"],
        "archived"
    );
    assert_eq!(admin.post(&p("archive"), json!({})).await.status(), 409);
    assert_eq!(
        admin.post(&p("approve"), json!({})).await.status(),
        409,
        "restore first"
    );
    assert_eq!(
        admin.post_ok(&p("restore"), json!({}), 200).await["status"],
        "approved"
    );
    // A never-approved asset restores to draft.
    let d = admin.upload_id(&f, "b.png", b"png2".to_vec()).await;
    admin
        .post_ok(&format!("/assets/{d}/archive"), json!({}), 200)
        .await;
    assert_eq!(
        admin
            .post_ok(&format!("/assets/{d}/restore"), json!({}), 200)
            .await["status"],
        "draft"
    );
    assert_eq!(
        admin
            .post("/assets/missing/approve", json!({}))
            .await
            .status(),
        404
    );
}

async fn metadata_edits_are_validated(app: TestApp) {
    let admin = app.admin().await;
    let f = admin.folder(None, "Meta").await;
    let g = admin.folder(None, "Elsewhere").await;
    let id = admin.upload_id(&f, "a.png", b"png".to_vec()).await;
    let path = format!("/assets/{id}");
    let a = expect_json(
        admin.patch(&path, json!({ "title": "Hero", "description": "Line 1\nLine 2", "keywords": ["summer", "hero"], "available_until": "2030-01-01T00:00:00Z" })).await,
        200,
    )
    .await;
    assert_eq!(a["title"], "Hero");
    assert_eq!(a["keywords"], json!(["summer", "hero"]));
    assert_eq!(a["available_until"], "2030-01-01T00:00:00Z");
    assert_eq!(
        admin
            .patch(&path, json!({ "available_from": "2031-01-01T00:00:00Z" }))
            .await
            .status(),
        422,
        "window must be ordered"
    );
    assert_eq!(
        admin
            .patch(&path, json!({ "available_from": "tomorrow" }))
            .await
            .status(),
        400
    );
    assert_eq!(
        admin.patch(&path, json!({ "owner": "me" })).await.status(),
        400
    );
    assert_eq!(
        admin
            .patch(&path, json!({ "folder_id": "missing" }))
            .await
            .status(),
        422
    );
    let moved = expect_json(
        admin
            .patch(&path, json!({ "folder_id": g, "available_until": null }))
            .await,
        200,
    )
    .await;
    assert_eq!(moved["folder_id"], g.as_str());
    assert!(moved["available_until"].is_null());
    let versions = expect_json(admin.get(&format!("{path}/versions")).await, 200).await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 1);
}

async fn folder_listings_page_with_a_cursor(app: TestApp) {
    let admin = app.admin().await;
    let f = admin.folder(None, "Many").await;
    for i in 0..105 {
        admin
            .upload(&f, &format!("file-{i:03}.txt"), vec![b'x'; 10])
            .await;
    }
    let first = expect_json(admin.get(&format!("/folders/{f}")).await, 200).await;
    let items = first["assets"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 100);
    assert_eq!(items[0]["filename"], "file-000.txt");
    let next = first["assets"]["next"].as_str().expect("a next cursor");
    let second = expect_json(admin.get(&format!("/folders/{f}?cursor={next}")).await, 200).await;
    let items = second["assets"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[0]["filename"], "file-100.txt");
    assert!(second["assets"]["next"].is_null());
    assert_eq!(
        admin
            .get(&format!("/folders/{f}?cursor=%%%"))
            .await
            .status(),
        400
    );
}

async fn events_record_what_happened_and_cannot_be_edited(app: TestApp) {
    let admin = app.admin().await;
    app.browser().login_ok("admin@example.com").await;
    let f = admin.folder(None, "Audit").await;
    let id = admin.published(&f, "a.jpg", b"jpg".to_vec()).await;
    admin
        .get(&format!("/assets/{id}/original"))
        .await
        .bytes()
        .await
        .unwrap();
    // A resumed range is not a second download.
    admin
        .get_with(&format!("/assets/{id}/original"), &[("range", "bytes=1-2")])
        .await
        .bytes()
        .await
        .unwrap();
    admin
        .post_ok(&format!("/assets/{id}/archive"), json!({}), 200)
        .await;
    let events = expect_json(admin.get("/events").await, 200).await;
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "login",
        "folder_created",
        "upload",
        "approve",
        "download",
        "archive",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| **k == "download").count(), 1);
    let downloads = expect_json(admin.get("/events?kind=download").await, 200).await;
    let d = &downloads["items"][0];
    assert_eq!(d["asset_id"], id.as_str());
    assert_eq!(d["ip"], "127.0.0.1");
    assert!(d["user_agent"].is_string());
    assert_eq!(admin.get("/events?since=yesterday").await.status(), 400);
    let future = expect_json(admin.get("/events?since=2999-01-01T00:00:00Z").await, 200).await;
    assert!(future["items"].as_array().unwrap().is_empty());
    // The database itself refuses to rewrite history.
    assert!(sqlx::query("UPDATE events SET kind = 'x'")
        .execute(&app.state.db.pool)
        .await
        .is_err());
    assert!(sqlx::query("DELETE FROM events")
        .execute(&app.state.db.pool)
        .await
        .is_err());
}

async fn pages_let_an_admin_publish_and_a_partner_download(app: TestApp) {
    let admin_api = app.admin().await;
    let group = admin_api.group("Retail").await;
    app.member("shop@retail.example", &[&group]).await;
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let csrf = b.csrf("/").await;
    // Create a folder through the form.
    let r = b
        .post_form("/folders", &[("csrf_token", &csrf), ("name", "Spring")])
        .await;
    assert_eq!(r.status(), 303);
    let folder_path = location(&r);
    let folder_id = folder_path.trim_start_matches("/folders/").to_string();
    let (status, html) = b.page(&folder_path).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Folder /Spring created.")
            && html.contains("Grant access")
            && html.contains("data-upload-url")
    );
    // Grant the group view + download through the form.
    let r = b
        .post_form(
            &format!("/folders/{folder_id}/grants"),
            &[
                ("csrf_token", &csrf),
                ("group_id", &group),
                ("view", "on"),
                ("download", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    // Upload the way upload.js does: one file per request, CSRF in a header.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"jpeg bytes".to_vec()).file_name("hero.jpg"),
    );
    let r = b
        .client
        .post(b.url(&format!("/folders/{folder_id}/upload")))
        .header("x-csrf-token", &csrf)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let asset = expect_json(r, 201).await;
    let asset_id = asset["id"].as_str().unwrap();
    let (_, html) = b.page(&format!("/assets/{asset_id}")).await;
    assert!(
        html.contains("hero.jpg") && html.contains("Approve and publish") && html.contains("draft")
    );
    let (_, home) = b.page("/").await;
    assert!(
        home.contains("Waiting for approval") && home.contains("hero.jpg"),
        "the review queue lists the draft"
    );
    // The partner does not see the draft yet.
    let partner = app.browser();
    partner.login_ok("shop@retail.example").await;
    assert_eq!(
        partner.get(&format!("/assets/{asset_id}")).await.status(),
        404
    );
    // Edit and approve through the forms.
    let r = b
        .post_form(
            &format!("/assets/{asset_id}/edit"),
            &[
                ("csrf_token", &csrf),
                ("title", "Hero shot"),
                ("description", "Spring hero"),
                ("keywords", "spring, hero"),
                ("available_from", ""),
                ("available_until", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = b
        .post_form(
            &format!("/assets/{asset_id}/lifecycle"),
            &[("csrf_token", &csrf), ("action", "approve")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.page(&format!("/assets/{asset_id}")).await;
    assert!(html.contains("Approved") && html.contains("Hero shot"));
    assert!(
        !b.page("/").await.1.contains("Waiting for approval"),
        "the queue empties on approval"
    );
    // Now the partner sees the area, the tile and downloads the original.
    let (_, home) = partner.page("/").await;
    assert!(home.contains("Spring"));
    let (_, folder_html) = partner.page(&format!("/folders/{folder_id}")).await;
    assert!(
        folder_html.contains("Hero shot")
            && !folder_html.contains("Grant access")
            && !folder_html.contains("data-upload-url")
    );
    let (_, asset_html) = partner.page(&format!("/assets/{asset_id}")).await;
    assert!(asset_html.contains("Download original") && !asset_html.contains("Approve"));
    let r = partner.get(&format!("/assets/{asset_id}/download")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"jpeg bytes");
    // Admin screens render.
    for path in [
        "/admin/users",
        "/admin/groups",
        &format!("/admin/groups/{group}"),
    ] {
        let (status, html) = b.page(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            html.contains("shop@retail.example") || html.contains("Retail"),
            "{path}"
        );
    }
}

async fn static_files_and_health_endpoints(app: TestApp) {
    let b = app.browser();
    let r = b.get("/static/app.css").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let r = b
        .client
        .get(b.url("/static/app.css"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert_eq!(b.get("/static/../Cargo.toml").await.status(), 404);
    assert_eq!(b.get("/static/nope.js").await.status(), 404);
    assert_eq!(b.page("/healthz").await.1, "ok");
    let ready: serde_json::Value = b.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready, json!({ "database": "ok", "storage": "ok" }));
    let r = reqwest::get(app.url("/api/v1/nothing-here")).await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "not_found"
    );
}

on_both_backends!(
    folder_tree_has_unique_paths,
    upload_and_download_round_trip,
    downloads_support_ranges_and_etags,
    unicode_filenames_get_rfc6266_disposition,
    relative_paths_create_subfolders_once,
    hostile_names_are_refused_and_leave_nothing,
    oversized_uploads_get_413_and_leave_nothing,
    a_cut_upload_leaves_nothing_visible_and_no_orphan,
    lifecycle_transitions_are_checked,
    metadata_edits_are_validated,
    folder_listings_page_with_a_cursor,
    events_record_what_happened_and_cannot_be_edited,
    pages_let_an_admin_publish_and_a_partner_download,
    static_files_and_health_endpoints,
);
