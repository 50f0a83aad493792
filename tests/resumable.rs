//! Resumable uploads (tus 1.0, issue 4): a cut upload keeps what arrived and resumes to a
//! byte-identical asset; bad input is refused and leaves nothing; over real HTTP on both
//! databases.
mod common;
use common::*;
use reqwest::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 253) as u8).collect()
}

async fn tus(api: &Api, method: Method, url: &str) -> reqwest::RequestBuilder {
    api.client
        .request(method, url)
        .bearer_auth(&api.token)
        .header("Tus-Resumable", "1.0.0")
}

/// Declares an upload; returns its URL.
async fn create(api: &Api, length: usize, meta: &[(&str, &str)]) -> reqwest::Response {
    let meta: Vec<String> = meta
        .iter()
        .map(|(k, v)| format!("{k} {}", b64(v)))
        .collect();
    tus(api, Method::POST, &api.url("/tus"))
        .await
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", meta.join(","))
        .send()
        .await
        .unwrap()
}

async fn offset(api: &Api, url: &str) -> (StatusCode, i64) {
    let r = tus(api, Method::HEAD, url).await.send().await.unwrap();
    let off = r
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1);
    (r.status(), off)
}

async fn patch(api: &Api, url: &str, at: usize, body: Vec<u8>) -> reqwest::Response {
    tus(api, Method::PATCH, url)
        .await
        .header("Upload-Offset", at.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn parts_left(app: &TestApp) -> usize {
    app.stored_files()
        .await
        .iter()
        .filter(|p| p.contains("tus/"))
        .count()
}

async fn a_cut_upload_resumes_to_the_same_bytes(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Big files").await;
    let agency_group = admin.group("Agency").await;
    admin
        .grant(&folder, &agency_group, false, false, true)
        .await;
    let agency = app.member("studio@agency.example", &[&agency_group]).await;

    let r = agency
        .client
        .request(Method::OPTIONS, agency.url("/tus"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["tus-version"], "1.0.0");
    assert!(r.headers()["tus-extension"]
        .to_str()
        .unwrap()
        .contains("creation"));

    let data = bytes(3_000_000);
    let r = create(
        &agency,
        data.len(),
        &[
            ("filename", "film.mov"),
            ("folder_id", &folder),
            ("title", "Launch film"),
            ("relative_path", "cuts/film.mov"),
        ],
    )
    .await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["tus-resumable"], "1.0.0");
    let url = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(offset(&agency, &url).await, (StatusCode::OK, 0));

    // The connection breaks after 1,200,000 of the 3,000,000 bytes of one PATCH.
    let half = 1_200_000;
    let path = &url[url.find("/api/").unwrap()..];
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nTus-Resumable: 1.0.0\r\n\
         Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n",
        agency.token,
        data.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&data[..half]).await.unwrap();
    s.flush().await.unwrap();
    drop(s);
    let got = eventually("the cut upload's offset", || async {
        let got = offset(&agency, &url).await.1;
        (got == half as i64).then_some(got)
    })
    .await;
    assert_eq!(got, half as i64, "what arrived before the cut is kept");
    assert!(parts_left(&app).await >= 1);

    // Nobody sees anything yet; another user cannot even see the upload.
    assert_eq!(app.count("assets").await, 0);
    assert_eq!(offset(&admin, &url).await.0, StatusCode::NOT_FOUND);
    // A resume from the wrong offset is refused.
    assert_eq!(
        patch(&agency, &url, 0, data[..10].to_vec()).await.status(),
        409
    );

    // Resume in two more PATCHes; the last one creates the asset.
    let r = patch(&agency, &url, half, data[half..2_000_000].to_vec()).await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["upload-offset"], "2000000");
    assert!(r.headers().get("assetport-asset-id").is_none());
    let r = patch(&agency, &url, 2_000_000, data[2_000_000..].to_vec()).await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        r.headers()["upload-offset"],
        data.len().to_string().as_str()
    );
    let asset_id = r.headers()["assetport-asset-id"]
        .to_str()
        .unwrap()
        .to_string();

    let asset = expect_json(agency.get(&format!("/assets/{asset_id}")).await, 200).await;
    assert_eq!(asset["status"], "in_review");
    assert_eq!(asset["title"], "Launch film");
    assert_eq!(asset["sha256"], sha256_hex(&data));
    let sub = expect_json(
        admin
            .get(&format!(
                "/folders/{}",
                asset["folder_id"].as_str().unwrap()
            ))
            .await,
        200,
    )
    .await;
    assert_eq!(sub["path"], "/Big files/cuts");
    let r = agency.get(&format!("/assets/{asset_id}/original")).await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..]);
    assert_eq!(
        parts_left(&app).await,
        0,
        "the parts are removed once joined"
    );
    // Finished: HEAD still answers (with the asset); a further PATCH adds nothing.
    let r = patch(&agency, &url, data.len(), Vec::new()).await;
    assert_eq!(r.status(), 204);
    assert_eq!(app.count("assets").await, 1);
}

async fn bad_resumable_uploads_are_refused_and_leave_nothing(app: TestApp) {
    let app = spawn_with(app.backend, |c| c.max_upload_bytes = 1_000_000)
        .await
        .unwrap();
    let admin = app.admin().await;
    let folder = admin.folder(None, "In").await;
    let other = admin.folder(None, "Elsewhere").await;
    let group = admin.group("Agency").await;
    admin.grant(&folder, &group, true, false, true).await;
    admin.grant(&other, &group, true, false, false).await;
    let agency = app.member("a@agency.example", &[&group]).await;
    let ok_meta = [("filename", "a.bin"), ("folder_id", folder.as_str())];

    // No version header: 412. Over the size limit: 413. Missing or hostile metadata: 400.
    let r = agency
        .client
        .post(agency.url("/tus"))
        .bearer_auth(&agency.token)
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
    assert_eq!(create(&agency, 2_000_000, &ok_meta).await.status(), 413);
    assert_eq!(
        create(&agency, 10, &[("filename", "a.bin")]).await.status(),
        400
    );
    assert_eq!(
        create(&agency, 10, &[("filename", "../x"), ("folder_id", &folder)])
            .await
            .status(),
        400
    );
    assert_eq!(
        create(
            &agency,
            10,
            &[
                ("filename", "a"),
                ("folder_id", &folder),
                ("relative_path", "../../etc/x")
            ]
        )
        .await
        .status(),
        400
    );
    // No contribute right on the folder: 403; no token: 401.
    assert_eq!(
        create(&agency, 10, &[("filename", "a.bin"), ("folder_id", &other)])
            .await
            .status(),
        403
    );
    let r = reqwest::Client::new()
        .post(agency.url("/tus"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(app.count("tus_uploads").await, 0);

    // A PATCH with the wrong content type: 415; more bytes than declared: 413, nothing kept.
    let url = create(&agency, 10, &ok_meta).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let r = tus(&agency, Method::PATCH, &url)
        .await
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/octet-stream")
        .body(vec![1u8; 5])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(patch(&agency, &url, 0, vec![1u8; 11]).await.status(), 413);
    assert_eq!(offset(&agency, &url).await.1, 0);
    assert_eq!(parts_left(&app).await, 0);
    // Termination removes the upload and its parts.
    assert_eq!(patch(&agency, &url, 0, vec![1u8; 4]).await.status(), 204);
    assert_eq!(parts_left(&app).await, 1);
    let r = tus(&agency, Method::DELETE, &url)
        .await
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(offset(&agency, &url).await.0, StatusCode::NOT_FOUND);
    assert_eq!(parts_left(&app).await, 0);
    assert_eq!(app.count("assets").await, 0);
    // An abandoned upload past its expiry is cleared when someone starts a new one.
    let old = create(&agency, 10, &ok_meta).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(patch(&agency, &old, 0, vec![1u8; 4]).await.status(), 204);
    sqlx::query("UPDATE tus_uploads SET expires_at = 0")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        offset(&agency, &old).await.0,
        StatusCode::NOT_FOUND,
        "expired"
    );
    assert_eq!(create(&agency, 10, &ok_meta).await.status(), 201);
    let left = eventually("only the new upload to remain", || async {
        let left = (app.count("tus_uploads").await, parts_left(&app).await);
        (left == (1, 0)).then_some(left)
    })
    .await;
    assert_eq!(left, (1, 0), "only the new upload remains");
    // OPTIONS needs no credentials: clients probe the server with it first.
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(b"OPTIONS /api/v1/tus HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
}

async fn the_upload_page_resumes_through_the_session_endpoint(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Films").await;
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let (_, html) = b.page(&format!("/folders/{folder}")).await;
    assert!(html.contains(r#"data-tus="/tus""#) && html.contains("/static/tus.min.js"));
    let csrf = csrf_in(&html).unwrap();
    let js = b.get("/static/tus.min.js").await;
    assert_eq!(js.status(), 200);
    let meta = format!("filename {},folder_id {}", b64("clip.mp4"), b64(&folder));
    let post = |with_csrf: bool| {
        let mut r = b
            .client
            .post(b.url("/tus"))
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", "5")
            .header("Upload-Metadata", meta.clone());
        if with_csrf {
            r = r.header("X-CSRF-Token", csrf.clone());
        }
        r.send()
    };
    assert_eq!(post(false).await.unwrap().status(), 403, "CSRF applies");
    let r = post(true).await.unwrap();
    assert_eq!(r.status(), 201);
    let url = r.headers()["location"].to_str().unwrap().to_string();
    assert!(url.contains("/tus/") && !url.contains("/api/"));
    let r = b
        .client
        .patch(&url)
        .header("Tus-Resumable", "1.0.0")
        .header("X-CSRF-Token", csrf.clone())
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .body(b"hello".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let id = r.headers()["assetport-asset-id"]
        .to_str()
        .unwrap()
        .to_string();
    let asset = expect_json(admin.get(&format!("/assets/{id}")).await, 200).await;
    assert_eq!(asset["filename"], "clip.mp4");
    assert_eq!(asset["status"], "draft");
    // Without a session the browser endpoint is not there for you.
    let r = visitor()
        .post(app.url("/tus"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "5")
        .send()
        .await
        .unwrap();
    assert!(r.status() == 303 || r.status() == 403, "{}", r.status());
}

/// A tmpfs mounted for one test, unmounted (lazily, the server may still hold it) on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    /// `None` when this process may not mount (not root); CI runs as root and must.
    fn mount(at: &std::path::Path, size: &str) -> Option<Tmpfs> {
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// SPEC bad input: a full disk answers 507 and nothing partial stays, for a plain upload and a
/// resumable one; the space is free again at once (a small upload then succeeds).
async fn a_full_disk_answers_507_and_keeps_nothing(app: TestApp) {
    let mut mount = None;
    let app = spawn_with(app.backend, |c| {
        // A full local disk, whatever the backend's usual storage.
        let root = c.data_dir.join("blobs");
        std::fs::create_dir_all(&root).unwrap();
        c.storage = format!("file://{}", root.display());
        mount = Tmpfs::mount(&root, "2m");
    })
    .await
    .unwrap();
    let Some(_mount) = mount else {
        common::skip("cannot mount a tmpfs here (CI runs as root and must)");
        return;
    };
    let admin = app.admin().await;
    let folder = admin.folder(None, "Full").await;

    let r = admin
        .upload_raw(&folder, "big.bin", bytes(3_000_000), &[])
        .await;
    assert_eq!(r.status(), 507);
    assert!(r.text().await.unwrap().contains("storage_full"));
    assert!(
        app.stored_files().await.is_empty(),
        "{:?}",
        app.stored_files().await
    );

    let meta = [("filename", "big.bin"), ("folder_id", folder.as_str())];
    let r = create(&admin, 3_000_000, &meta).await;
    assert_eq!(r.status(), 201);
    let url = r.headers()["location"].to_str().unwrap().to_string();
    let url = if url.starts_with("http") {
        url
    } else {
        app.url(&url)
    };
    let r = patch(&admin, &url, 0, bytes(3_000_000)).await;
    assert_eq!(r.status(), 507);
    let r = tus(&admin, Method::DELETE, &url)
        .await
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(
        app.stored_files().await.is_empty(),
        "{:?}",
        app.stored_files().await
    );

    let folder_json = expect_json(admin.get(&format!("/folders/{folder}")).await, 200).await;
    assert_eq!(folder_json["assets"]["items"].as_array().unwrap().len(), 0);
    admin.upload(&folder, "small.bin", bytes(10_000)).await;
    assert_eq!(app.stored_files().await.len(), 1);
}

on_both_backends!(
    the_upload_page_resumes_through_the_session_endpoint,
    a_cut_upload_resumes_to_the_same_bytes,
    bad_resumable_uploads_are_refused_and_leave_nothing,
    a_full_disk_answers_507_and_keeps_nothing,
);
