//! Upload links (SPEC §1 "Upload link", issue 4): senders without an account put files into
//! review through `/u/{token}`, within quotas and gates; over real HTTP on both databases.
mod common;
use common::*;
use reqwest::header;
use serde_json::{json, Value};

struct Fixture {
    admin: Api,
    folder: String,
    reference: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Incoming").await;
    let refs = admin.folder(None, "Guidelines").await;
    let reference = admin
        .published(&refs, "brand-guide.pdf", b"%PDF guide".to_vec())
        .await;
    Fixture {
        admin,
        folder,
        reference,
    }
}

fn path_of(url: &str) -> String {
    url[url.find("/u/").expect("an upload link URL")..].to_string()
}

/// Sends one file as the page's script does (JSON answer).
async fn send(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    file: (&str, &[u8]),
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(file.1.to_vec()).file_name(file.0.to_string()),
    );
    client
        .post(app.url(&format!("{path}/files")))
        .header(header::ACCEPT, "application/json")
        .multipart(form)
        .send()
        .await
        .expect("send")
}

const SENDER: [(&str, &str); 3] = [
    ("uploader_name", "Nora Studio"),
    ("uploader_email", "nora@studio.example"),
    ("title", "Key visual"),
];

async fn files_arrive_in_review_within_the_quota(app: TestApp) {
    let f = fixture(&app).await;
    let created = f
        .admin
        .post_ok(
            "/upload-links",
            json!({
                "folder_id": f.folder, "title": "Spring visuals", "brief": "JPEG, 300 dpi",
                "max_files": 2, "required_fields": ["title"],
                "reference_asset_ids": [f.reference]
            }),
            201,
        )
        .await;
    let path = path_of(created["url"].as_str().unwrap());
    assert!(path.starts_with("/u/u_"));
    let link_id = created["id"].as_str().unwrap().to_string();
    let v = visitor();

    let r = v.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "private, no-store");
    let html = r.text().await.unwrap();
    assert!(html.contains("Spring visuals") && html.contains("JPEG, 300 dpi"));
    assert!(html.contains("brand-guide.pdf"));
    let guide = v
        .get(app.url(&format!("{path}/refs/{}", f.reference)))
        .send()
        .await
        .unwrap();
    assert_eq!(guide.status(), 200);
    assert_eq!(guide.bytes().await.unwrap().as_ref(), b"%PDF guide");
    let other = f
        .admin
        .published(&f.folder, "not-a-reference.jpg", b"x".to_vec())
        .await;
    let r = v
        .get(app.url(&format!("{path}/refs/{other}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Missing name, missing required title: 400, nothing stored.
    let stored = app.stored_files().await.len();
    let r = send(&v, &app, &path, ("a.jpg", b"aaa"), &[("title", "x")]).await;
    assert_eq!(r.status(), 400);
    let r = send(&v, &app, &path, ("a.jpg", b"aaa"), &SENDER[..2]).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("title"));
    assert_eq!(app.stored_files().await.len(), stored);

    // A folder tree upload: subfolders are recreated under the link's folder.
    let mut fields = SENDER.to_vec();
    fields.push(("relative_path", "shoot/day1/a.jpg"));
    let body = expect_json(send(&v, &app, &path, ("a.jpg", b"aaa"), &fields).await, 201).await;
    assert_eq!(body["status"], "in_review");
    let asset = expect_json(
        f.admin
            .get(&format!("/assets/{}", body["id"].as_str().unwrap()))
            .await,
        200,
    )
    .await;
    assert_eq!(asset["uploader_name"], "Nora Studio");
    assert_eq!(asset["uploader_email"], "nora@studio.example");
    assert_eq!(asset["upload_link_id"], link_id.as_str());
    assert_eq!(asset["title"], "Key visual");
    let sub = expect_json(
        f.admin
            .get(&format!(
                "/folders/{}",
                asset["folder_id"].as_str().unwrap()
            ))
            .await,
        200,
    )
    .await;
    assert_eq!(sub["path"], "/Incoming/shoot/day1");
    // The owner hears about it once, not once per file.
    let mails_after_first = app.outbox();
    let notice = mail_text(mails_after_first.last().expect("the owner's notice"));
    for part in [
        "admin@example.com",
        "Subject: New files through Spring visuals",
        "from Nora Studio <nora@studio.example>",
        "/admin/review",
    ] {
        assert!(notice.contains(part), "{part}: {notice}");
    }
    expect_json(send(&v, &app, &path, ("b.jpg", b"bbb"), &SENDER).await, 201).await;
    assert_eq!(app.outbox().len(), mails_after_first.len());
    // The queue shows who sent it; the log of the link has both uploads.
    let queue = expect_json(f.admin.get("/review").await, 200).await;
    assert!(queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["uploader"].as_str().unwrap().contains("Nora Studio")));
    assert_eq!(app.link_events(&link_id, "upload", 2).await, 2);

    // The third file is over max_files: 409, nothing stored; the page says it is full.
    let stored = app.stored_files().await.len();
    let r = send(&v, &app, &path, ("c.jpg", b"ccc"), &SENDER).await;
    assert_eq!(r.status(), 409);
    assert_eq!(app.stored_files().await.len(), stored);
    let html = text_of(&v, app.url(&path)).await;
    assert!(html.contains("accepts no more files"));
    let listed = expect_json(f.admin.get(&format!("/upload-links/{link_id}")).await, 200).await;
    assert_eq!(listed["files"], 2);
    assert_eq!(listed["state"], "full");
}

async fn gates_and_limits_are_enforced(app: TestApp) {
    let f = fixture(&app).await;
    let make = |body: Value| {
        let admin = &f.admin;
        async move {
            let j = admin.post_ok("/upload-links", body, 201).await;
            (
                j["id"].as_str().unwrap().to_string(),
                path_of(j["url"].as_str().unwrap()),
            )
        }
    };
    let (_, locked) = make(json!({
        "folder_id": f.folder, "title": "Secret campaign", "brief": "confidential brief",
        "password": "open sesame"
    }))
    .await;
    let (other_id, other) = make(json!({ "folder_id": f.folder, "password": "open sesame" })).await;

    // Before the password: no title, no brief, no uploads.
    let v = app.browser();
    let (status, html) = v.page(&locked).await;
    assert_eq!(status, 200);
    assert!(!html.contains("Secret campaign") && !html.contains("confidential brief"));
    // The gate stands on the sign-in page's branded background (issue 21); the page does not.
    assert!(html.contains(r#"<body class="signin">"#), "{html}");
    let stored = app.stored_files().await.len();
    let r = send(&v.client, &app, &locked, ("a.jpg", b"a"), &SENDER).await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.stored_files().await.len(), stored);
    let r = v
        .post_form(&format!("{locked}/unlock"), &[("password", "wrong one")])
        .await;
    assert_eq!(r.status(), 403);
    let r = v
        .post_form(&format!("{locked}/unlock"), &[("password", "open sesame")])
        .await;
    assert_eq!(r.status(), 303);
    let cookie = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains(&format!("Path={locked}")) && cookie.contains("HttpOnly"));
    let (_, html) = v.page(&locked).await;
    assert!(html.contains("Secret campaign"));
    assert!(!html.contains(r#"class="signin""#));
    expect_json(
        send(&v.client, &app, &locked, ("a.jpg", b"a"), &SENDER).await,
        201,
    )
    .await;

    // The cookie of one link opens no other, even with the same password.
    let jwt = cookie.split(';').next().unwrap().to_string();
    let r = visitor()
        .get(app.url(&other))
        .header(header::COOKIE, &jwt)
        .send()
        .await
        .unwrap();
    assert!(!r.text().await.unwrap().contains("Your files"));

    // Unknown: 404. Revoked, expired by a second: 410, for the page and for uploads.
    assert_eq!(v.page("/u/u_nope").await.0, 404);
    assert_eq!(
        f.admin
            .delete(&format!("/upload-links/{other_id}"))
            .await
            .status(),
        204
    );
    assert_eq!(v.page(&other).await.0, 410);
    let (exp_id, expiring) = make(json!({ "folder_id": f.folder })).await;
    sqlx::query("UPDATE upload_links SET expires_at = $1 WHERE id = $2")
        .bind(app.state.clock.now_ms() - 1000)
        .bind(&exp_id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(v.page(&expiring).await.0, 410);
    assert_eq!(
        send(&v.client, &app, &expiring, ("a.jpg", b"a"), &SENDER)
            .await
            .status(),
        410
    );

    // Byte quota: a declared body over what is left gets 413 before it is read; a file that
    // would cross it gets 413 and leaves nothing.
    let (_, small) = make(json!({ "folder_id": f.folder, "max_bytes": 10 })).await;
    let stored = app.stored_files().await.len();
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let req = format!(
        "POST {small}/files HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 3000000\r\n\r\n"
    );
    tokio::io::AsyncWriteExt::write_all(&mut s, req.as_bytes())
        .await
        .unwrap();
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
    expect_json(
        send(&v.client, &app, &small, ("a.jpg", b"12345678"), &SENDER).await,
        201,
    )
    .await;
    let stored = stored + 1;
    assert_eq!(app.stored_files().await.len(), stored);
    // 8 of 10 bytes used; 3 more would cross it: the quota check in the commit refuses it.
    let r = send(&v.client, &app, &small, ("b.jpg", b"123"), &SENDER).await;
    assert_eq!(r.status(), 413);
    assert_eq!(app.stored_files().await.len(), stored);

    // Hostile folder paths are refused and leave nothing.
    let (_, open) = make(json!({ "folder_id": f.folder })).await;
    for bad in ["../../etc/passwd", "/abs/x.jpg", "a\\b.jpg", "con/x.jpg"] {
        let mut fields = SENDER.to_vec();
        fields.push(("relative_path", bad));
        let r = send(&v.client, &app, &open, ("x.jpg", b"x"), &fields).await;
        assert_eq!(r.status(), 400, "{bad}");
    }
    assert_eq!(app.stored_files().await.len(), stored);
}

async fn the_api_checks_its_input_and_is_admin_only(app: TestApp) {
    let f = fixture(&app).await;
    let member = app.member("someone@example.com", &[]).await;
    assert_eq!(
        member
            .post("/upload-links", json!({ "folder_id": f.folder }))
            .await
            .status(),
        404
    );
    let bad = [
        (json!({ "folder_id": "nope" }), 422),
        (json!({ "folder_id": f.folder, "max_files": 0 }), 422),
        (json!({ "folder_id": f.folder, "max_bytes": -1 }), 422),
        (
            json!({ "folder_id": f.folder, "required_fields": ["gps"] }),
            422,
        ),
        (
            json!({ "folder_id": f.folder, "expires_at": "2020-01-01T00:00:00Z" }),
            422,
        ),
        (json!({ "folder_id": f.folder, "expires_at": "soon" }), 400),
        (json!({ "folder_id": f.folder, "password": "short" }), 422),
        (
            json!({ "folder_id": f.folder, "reference_asset_ids": ["nope"] }),
            422,
        ),
        (json!({ "folder_id": f.folder, "surprise": 1 }), 422),
    ];
    for (body, status) in bad {
        let r = f.admin.post("/upload-links", body.clone()).await;
        assert_eq!(r.status().as_u16(), status, "{body}");
    }
    assert_eq!(app.count("upload_links").await, 0);
}

async fn the_admin_pages_create_and_revoke(app: TestApp) {
    let f = fixture(&app).await;
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let (status, html) = b
        .page(&format!("/admin/upload-links/new?folder_id={}", f.folder))
        .await;
    assert_eq!(status, 200);
    let csrf = csrf_in(&html).unwrap();
    let r = b
        .post_form(
            "/admin/upload-links",
            &[
                ("csrf_token", &csrf),
                ("folder_id", &f.folder),
                ("title", "From the page"),
                ("expires", ""),
                ("max_files", "5"),
                ("max_mb", ""),
                ("password", ""),
                ("required", "keywords"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let start = html.find("/u/u_").expect("the new address");
    let end = html[start..].find('"').unwrap() + start;
    let path = html[start..end].to_string();
    let (status, page) = visitor_page(&app, &path).await;
    assert_eq!(status, 200);
    assert!(page.contains("From the page") && page.contains(r#"name="keywords" required"#));
    let (_, list) = b.page("/admin/upload-links").await;
    assert!(list.contains("From the page") && list.contains("0 / 5"));
    let id = expect_json(f.admin.get("/upload-links").await, 200).await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Its own page, linked from the list: the address again (with Copy and the QR code), and
    // what has arrived, with who sent it.
    assert!(list.contains(&format!("href=\"/admin/upload-links/{id}\"")));
    let v = visitor();
    let mut fields = SENDER.to_vec();
    fields.push(("keywords", "spring"));
    let r = send(&v, &app, &path, ("key.jpg", b"jpeg bytes"), &fields).await;
    assert!(r.status().is_success(), "{}", r.status());
    let (status, detail) = b.page(&format!("/admin/upload-links/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        detail.contains(&format!("{}{path}\"", app.base)),
        "the address shown again"
    );
    assert!(detail.contains("data-copy-button=\"upload-address\""));
    assert!(detail.contains(&format!("/admin/upload-links/{id}/qr.svg")));
    assert!(detail.contains("Key visual"), "{detail}");
    assert!(
        detail.contains("Nora Studio &#60;nora@studio.example&#62;")
            || detail.contains("Nora Studio &lt;nora@studio.example&gt;"),
        "{detail}"
    );
    assert!(detail.contains("in review"));
    // Admins only; an unknown id is a 404.
    assert_eq!(b.page("/admin/upload-links/nope").await.0, 404);
    app.member("m@partner.test", &[]).await;
    let m = app.browser();
    m.login_ok("m@partner.test").await;
    assert_eq!(m.page(&format!("/admin/upload-links/{id}")).await.0, 404);
    let r = b
        .post_form(
            &format!("/admin/upload-links/{id}/revoke"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(visitor_page(&app, &path).await.0, 410);
    // A revoked link's page keeps its history but no longer offers the address.
    let (_, detail) = b.page(&format!("/admin/upload-links/{id}")).await;
    assert!(detail.contains("Key visual"));
    assert!(!detail.contains("upload-address"));
    assert!(!detail.contains("qr.svg"));
}

async fn visitor_page(app: &TestApp, path: &str) -> (u16, String) {
    let r = visitor().get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

on_both_backends!(
    files_arrive_in_review_within_the_quota,
    gates_and_limits_are_enforced,
    the_api_checks_its_input_and_is_admin_only,
    the_admin_pages_create_and_revoke,
);
