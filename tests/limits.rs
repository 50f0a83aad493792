//! Limits that hold exactly under bursts (issue 16 §5, §6, §9): throttles reserve an attempt
//! before the secret is judged, upload-link quotas are reserved before a byte is stored, and a
//! tus upload completes at zero length and under racing PATCHes. Real HTTP, both databases;
//! on PostgreSQL the bursts are split over two instances on one database.
mod common;
use common::*;
use reqwest::{header, Method};
use serde_json::json;
use sqlx::Row;

const N: usize = 100;

/// Starts the app with the test client's address as a trusted proxy, so a test can speak for
/// many addresses through `X-Forwarded-For`.
macro_rules! on_both_backends_behind_proxy {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = super::spawn_behind_proxy(super::Backend::Sqlite).await {
                        super::$name(app).await
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = super::spawn_behind_proxy(super::Backend::Postgres).await {
                        super::$name(app).await
                    }
                }
            )*
        }
    };
}

fn proxy(c: &mut assetport::Config) {
    c.trusted_proxies = assetport::web::client::TrustedProxies::parse("127.0.0.1").unwrap();
}

async fn spawn_behind_proxy(backend: Backend) -> Option<TestApp> {
    spawn_with(backend, proxy).await
}

/// Where each request of a burst goes: on PostgreSQL half of them to a second instance.
struct Targets {
    bases: Vec<String>,
    _second: Option<Instance>,
}

impl Targets {
    async fn of(app: &TestApp) -> Targets {
        let second = match app.backend {
            Backend::Postgres => Some(app.another_instance(proxy).await),
            Backend::Sqlite => None,
        };
        let mut bases = vec![app.base.clone()];
        bases.extend(second.iter().map(|s| s.base.clone()));
        Targets {
            bases,
            _second: second,
        }
    }

    fn url(&self, i: usize, path: &str) -> String {
        format!("{}{path}", self.bases[i % self.bases.len()])
    }
}

/// Statuses of a burst, with the 429s checked for a `Retry-After`.
#[derive(Debug, Default)]
struct Tally {
    statuses: Vec<u16>,
}

impl Tally {
    fn of(responses: Vec<reqwest::Response>) -> Tally {
        let mut statuses = Vec::new();
        for r in responses {
            let s = r.status().as_u16();
            if s == 429 {
                let retry: u64 = r.headers()[header::RETRY_AFTER]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=3600).contains(&retry), "Retry-After {retry}");
            }
            statuses.push(s);
        }
        Tally { statuses }
    }
    fn count(&self, status: u16) -> usize {
        self.statuses.iter().filter(|s| **s == status).count()
    }
}

async fn burst<F, Fut>(n: usize, f: F) -> Tally
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = reqwest::Response> + Send + 'static,
{
    let handles: Vec<_> = (0..n).map(|i| tokio::spawn(f(i))).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("request task"));
    }
    Tally::of(out)
}

fn ip(i: usize) -> String {
    format!("10.{}.{}.{}", i / 65_000 % 250, i / 250 % 250, i % 250 + 1)
}

async fn events(app: &TestApp, kind: &str) -> i64 {
    app.count(&format!("events WHERE kind = '{kind}'")).await
}

// ---- throttles ---------------------------------------------------------------------------

async fn parallel_wrong_link_passwords_judge_at_most_the_limit(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Press").await;
    let a = admin.published(&folder, "plan.pdf", b"%PDF".to_vec()).await;
    let link = admin
        .create_link(json!({ "asset_ids": [a], "password": "right password" }))
        .await;
    let t = Targets::of(&app).await;
    let client = visitor();
    let tally = burst(N, |i| {
        let req = client
            .post(t.url(i, &format!("{}/unlock", link.path)))
            .form(&[("password", format!("guess {i}"))]);
        async move { req.send().await.unwrap() }
    })
    .await;
    // One address, 10 per link (30 per address): exactly 10 judged, the rest told to wait.
    assert_eq!(tally.count(403), 10, "{:?}", tally.statuses);
    assert_eq!(tally.count(429), N - 10, "{:?}", tally.statuses);
    assert_eq!(events(&app, "link_password_failed").await, 10);
    // Even the right password waits now.
    let r = client
        .post(app.url(&format!("{}/unlock", link.path)))
        .form(&[("password", "right password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
}

async fn parallel_wrong_codes_judge_at_most_the_limits(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Press").await;
    let a = admin.published(&folder, "plan.pdf", b"%PDF".to_vec()).await;
    let link = admin
        .create_link(json!({
            "asset_ids": [a], "recipients": ["ann@example.com"], "require_code": true
        }))
        .await;
    let t = Targets::of(&app).await;
    let client = visitor();
    let ask = |addr: String| {
        client
            .post(app.url(&format!("{}/code", link.path)))
            .header("x-forwarded-for", addr)
            .form(&[("email", "ann@example.com")])
    };
    let code_of = |mail: &str| -> String {
        mail.lines()
            .map(str::trim)
            .find(|l| l.len() == 6 && l.chars().all(|c| c.is_ascii_digit()))
            .expect("a code in the mail")
            .to_string()
    };
    assert_eq!(ask(ip(9000)).send().await.unwrap().status(), 303);
    let code = code_of(
        &app.wait_for_mail("ann@example.com", |m| m.contains("Your code"))
            .await,
    );
    let wrong = if code == "000000" { "111111" } else { "000000" };

    // Per code: 100 guesses from 100 addresses; the code gets at most 5 comparisons.
    let verify = |i: usize, addr: String, code: String| {
        client
            .post(t.url(i, &format!("{}/verify", link.path)))
            .header("x-forwarded-for", addr)
            .form(&[("email", "ann@example.com".to_string()), ("code", code)])
    };
    let tally = burst(N, |i| {
        let req = verify(i, ip(i), wrong.to_string());
        async move { req.send().await.unwrap() }
    })
    .await;
    assert_eq!(tally.count(403), N, "{:?}", tally.statuses);
    let attempts: i64 = sqlx::query("SELECT MAX(attempts) AS n FROM link_codes")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(attempts, 5, "each code is compared at most 5 times");
    // The guessed-at code is dead, even when its owner types it.
    let r = verify(0, ip(9001), code.clone()).send().await.unwrap();
    assert_eq!(r.status(), 403);

    // Per address: 100 guesses from one address at a new code; 30 judged, 70 wait.
    assert_eq!(ask(ip(9002)).send().await.unwrap().status(), 303);
    let tally = burst(N, |i| {
        let req = verify(i, "10.200.0.1".into(), wrong.to_string());
        async move { req.send().await.unwrap() }
    })
    .await;
    assert_eq!(tally.count(403), 30, "{:?}", tally.statuses);
    assert_eq!(tally.count(429), N - 30, "{:?}", tally.statuses);
    assert_eq!(events(&app, "link_code_failed").await, N as i64 + 1 + 30);

    // Sending: 5 codes per link per window, two sent above; 100 parallel asks send 3 more.
    let tally = burst(N, |i| {
        let req = client
            .post(t.url(i, &format!("{}/code", link.path)))
            .header("x-forwarded-for", ip(i))
            .form(&[("email", "ann@example.com")]);
        async move { req.send().await.unwrap() }
    })
    .await;
    assert_eq!(tally.count(303), 3, "{:?}", tally.statuses);
    assert_eq!(tally.count(429), N - 3, "{:?}", tally.statuses);
    assert_eq!(app.count("link_codes").await, 5);
}

async fn parallel_wrong_logins_judge_at_most_the_limit(app: TestApp) {
    app.user("ann@example.com", users_role_member()).await;
    let t = Targets::of(&app).await;
    // The sign-in page: each browser gets its form, then all post at once.
    let mut browsers = Vec::new();
    for i in 0..N {
        let b = Browser::at(&t.bases[i % t.bases.len()], &[]);
        let csrf = b.csrf("/login").await;
        browsers.push((b, csrf));
    }
    let browsers = std::sync::Arc::new(browsers);
    let tally = burst(N, |i| {
        let browsers = browsers.clone();
        async move {
            let (b, csrf) = &browsers[i];
            b.post_form(
                "/login",
                &[
                    ("csrf_token", csrf.as_str()),
                    ("email", "ann@example.com"),
                    ("password", "wrong password!"),
                ],
            )
            .await
        }
    })
    .await;
    assert_eq!(tally.count(401), 5, "{:?}", tally.statuses);
    assert_eq!(tally.count(429), N - 5, "{:?}", tally.statuses);
    assert_eq!(events(&app, "login_failed").await, 5);
    let b = app.browser();
    assert_eq!(b.login("ann@example.com", PASSWORD).await.status(), 429);

    // The API's password change checks the current password like a login.
    let bob = app.user("bob@example.com", users_role_member()).await;
    let api = app.api_for(&bob).await;
    let tally = burst(N, |i| {
        let req = api
            .client
            .post(t.url(i, "/api/v1/account/password"))
            .bearer_auth(&api.token)
            .json(&json!({
                "current_password": format!("guess number {i}"),
                "new_password": "a whole new password"
            }));
        async move { req.send().await.unwrap() }
    })
    .await;
    assert_eq!(tally.count(403), 5, "{:?}", tally.statuses);
    assert_eq!(tally.count(429), N - 5, "{:?}", tally.statuses);
}

fn users_role_member() -> assetport::accounts::users::Role {
    assetport::accounts::users::Role::Member
}

async fn parallel_reset_requests_stop_at_the_limit(app: TestApp) {
    app.user("ann@example.com", users_role_member()).await;
    let t = Targets::of(&app).await;
    let b = app.browser();
    let csrf = b.csrf("/forgot").await;
    let b = std::sync::Arc::new(b);
    let tally = burst(N, |i| {
        let req = b
            .client
            .post(t.url(i, "/forgot"))
            .form(&[("csrf_token", csrf.as_str()), ("email", "ann@example.com")]);
        async move { req.send().await.unwrap() }
    })
    .await;
    // Three an hour per address.
    assert_eq!(tally.count(200), 3, "{:?}", tally.statuses);
    assert_eq!(tally.count(429), N - 3, "{:?}", tally.statuses);
    assert_eq!(app.count("password_resets").await, 3);
}

async fn parallel_wrong_upload_link_passwords_and_probes_are_throttled(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Incoming").await;
    let j = admin
        .post_ok(
            "/upload-links",
            json!({ "folder_id": folder, "password": "open sesame" }),
            201,
        )
        .await;
    let url = j["url"].as_str().unwrap();
    let path = url[url.find("/u/").unwrap()..].to_string();
    let t = Targets::of(&app).await;
    let client = visitor();
    let tally = burst(N, |i| {
        let req = client
            .post(t.url(i, &format!("{path}/unlock")))
            .form(&[("password", format!("guess {i}"))]);
        async move { req.send().await.unwrap() }
    })
    .await;
    assert_eq!(tally.count(403), 10, "{:?}", tally.statuses);
    assert_eq!(tally.count(429), N - 10, "{:?}", tally.statuses);
    assert_eq!(events(&app, "upload_link_password_failed").await, 10);

    // Unknown tokens, share links and upload links alike: 30 misses per address, then 429.
    for prefix in ["/s/s_", "/u/u_"] {
        let tally = burst(N, |i| {
            let req = client.get(t.url(i, &format!("{prefix}madeup{i}")));
            async move { req.send().await.unwrap() }
        })
        .await;
        assert_eq!(tally.count(404), 30, "{prefix}: {:?}", tally.statuses);
        assert_eq!(tally.count(429), N - 30, "{prefix}: {:?}", tally.statuses);
    }
}

// ---- upload-link quotas ------------------------------------------------------------------

const SENDER: [(&str, &str); 3] = [
    ("uploader_name", "Nora Studio"),
    ("uploader_email", "nora@studio.example"),
    ("title", "Key visual"),
];

async fn upload_link(admin: &Api, limits: serde_json::Value) -> (String, String) {
    static FOLDERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = FOLDERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let folder = admin.folder(None, &format!("Incoming {n}")).await;
    let mut body = json!({ "folder_id": folder });
    for (k, v) in limits.as_object().unwrap() {
        body[k] = v.clone();
    }
    let j = admin.post_ok("/upload-links", body, 201).await;
    let url = j["url"].as_str().unwrap();
    (
        j["id"].as_str().unwrap().to_string(),
        url[url.find("/u/").unwrap()..].to_string(),
    )
}

fn send_form(
    client: &reqwest::Client,
    url: String,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::RequestBuilder {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in SENDER {
        form = form.text(k, v);
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    client
        .post(url)
        .header(header::ACCEPT, "application/json")
        .multipart(form)
}

/// The link's counters and the blobs of its assets, as the database has them.
async fn link_state(app: &TestApp, id: &str) -> (i64, i64, Vec<String>) {
    let row = sqlx::query("SELECT files, bytes FROM upload_links WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let mut blobs: Vec<String> = sqlx::query(
        "SELECT v.blob_key FROM assets a JOIN asset_versions v ON v.asset_id = a.id \
         WHERE a.upload_link_id = $1",
    )
    .bind(id)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.try_get("blob_key").unwrap())
    .collect();
    blobs.sort();
    (
        row.try_get("files").unwrap(),
        row.try_get("bytes").unwrap(),
        blobs,
    )
}

/// Objects in storage that were not there `before` (renditions of accepted files aside).
async fn new_objects(app: &TestApp, before: &[String]) -> Vec<String> {
    app.stored_files()
        .await
        .into_iter()
        .filter(|k| !before.contains(k) && !k.starts_with("renditions/"))
        .collect()
}

async fn parallel_uploads_store_exactly_the_allowance(app: TestApp) {
    // max_files: 2, twenty senders at once.
    let admin = app.admin().await;
    let (id, path) = upload_link(&admin, json!({ "max_files": 2 })).await;
    let before = app.stored_files().await;
    let t = Targets::of(&app).await;
    let client = reqwest::Client::new();
    let tally = burst(20, |i| {
        let req = send_form(
            &client,
            t.url(i, &format!("{path}/files")),
            &format!("f{i}.bin"),
            vec![i as u8; 1000],
        );
        async move { req.send().await.unwrap() }
    })
    .await;
    assert_eq!(tally.count(201), 2, "{:?}", tally.statuses);
    assert_eq!(tally.count(409), 18, "{:?}", tally.statuses);
    let (files, bytes, blobs) = link_state(&app, &id).await;
    assert_eq!((files, bytes, blobs.len()), (2, 2000, 2));
    assert_eq!(
        new_objects(&app, &before).await,
        blobs,
        "nothing else in storage"
    );

    // max_bytes: 25,000 bytes, twenty files of 10,000 at once: two fit, nothing else is stored.
    // (Each request reserves its Content-Length, framing included, so two reservations fit
    // whatever the timing and a third can never hold its file.)
    let (id, path) = upload_link(&admin, json!({ "max_bytes": 25_000 })).await;
    let before = app.stored_files().await;
    let tally = burst(20, |i| {
        let req = send_form(
            &client,
            t.url(i, &format!("{path}/files")),
            &format!("g{i}.bin"),
            vec![i as u8; 10_000],
        );
        async move { req.send().await.unwrap() }
    })
    .await;
    assert_eq!(tally.count(201), 2, "{:?}", tally.statuses);
    assert_eq!(tally.count(413), 18, "{:?}", tally.statuses);
    let (files, bytes, blobs) = link_state(&app, &id).await;
    assert_eq!(
        (files, bytes, blobs.len()),
        (2, 20_000, 2),
        "reservations given back"
    );
    assert_eq!(
        new_objects(&app, &before).await,
        blobs,
        "nothing else in storage"
    );
    // What is left still takes a file that fits.
    let r = send_form(
        &client,
        app.url(&format!("{path}/files")),
        "small.bin",
        vec![7; 4_000],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(link_state(&app, &id).await.1, 24_000);
}

/// A multipart body sent chunked (no Content-Length): the fields, then the first MiB of a
/// 40 MiB file, then nothing more until the response has come (it must come first).
fn stalled_40_mib_upload() -> (reqwest::Body, tokio::sync::oneshot::Sender<()>) {
    let boundary = "XyZzYboundary";
    let mut head = String::new();
    for (k, v) in SENDER {
        head.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    head.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    ));
    let mut first = head.into_bytes();
    first.extend(vec![1u8; 1 << 20]);
    let rest =
        futures_util::stream::iter((1..40).map(|_| Ok::<_, std::io::Error>(vec![1u8; 1 << 20])))
            .chain(futures_util::stream::iter([Ok(format!(
                "\r\n--{boundary}--\r\n"
            )
            .into_bytes())]));
    // The rest waits for a signal the caller sends only after the response: a server that
    // reads the whole body before answering never answers.
    let (go, wait) = tokio::sync::oneshot::channel::<()>();
    use futures_util::StreamExt;
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(first)]).chain(
        futures_util::stream::once(async move {
            let _ = wait.await;
            futures_util::stream::empty()
        })
        .flatten(),
    );
    let body = body.chain(rest);
    (reqwest::Body::wrap_stream(body), go)
}

/// Sends the stalled upload; returns its status (None: the connection was closed on it) and
/// the signal that lets the rest of the body go.
async fn send_stalled(
    app: &TestApp,
    path: &str,
) -> (Option<u16>, tokio::sync::oneshot::Sender<()>) {
    let (body, go) = stalled_40_mib_upload();
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        reqwest::Client::new()
            .post(app.url(&format!("{path}/files")))
            .header(header::ACCEPT, "application/json")
            .header(
                header::CONTENT_TYPE,
                "multipart/form-data; boundary=XyZzYboundary",
            )
            .body(body)
            .send(),
    )
    .await
    .expect("the server answers before the body is complete");
    (r.ok().map(|r| r.status().as_u16()), go)
}

async fn a_big_upload_to_a_full_link_stores_nothing(app: TestApp) {
    let client = reqwest::Client::new();
    let admin = app.admin().await;
    // Full by files: refused before a byte of the file is read.
    let (id, path) = upload_link(&admin, json!({ "max_files": 1, "max_bytes": 1000 })).await;
    let r = send_form(
        &client,
        app.url(&format!("{path}/files")),
        "one.bin",
        vec![1; 10],
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let before = app.stored_files().await;
    let (status, go) = send_stalled(&app, &path).await;
    assert!(matches!(status, Some(409) | None), "{status:?}");
    assert_eq!(new_objects(&app, &before).await, Vec::<String>::new());
    drop(go);
    assert_eq!(link_state(&app, &id).await.0, 1);

    // Room for 1,000 bytes, a 40 MiB file: cut at the allowance, nothing kept.
    let (id, path) = upload_link(&admin, json!({ "max_bytes": 1000 })).await;
    let before = app.stored_files().await;
    let (status, go) = send_stalled(&app, &path).await;
    assert!(matches!(status, Some(413) | None), "{status:?}");
    assert_eq!(new_objects(&app, &before).await, Vec::<String>::new());
    drop(go);
    let (files, bytes, blobs) = link_state(&app, &id).await;
    assert_eq!(
        (files, bytes, blobs.len()),
        (0, 0, 0),
        "the reservation was given back"
    );
}

// ---- tus ---------------------------------------------------------------------------------

async fn tus_create(api: &Api, length: usize, folder: &str, name: &str) -> String {
    let meta = format!("folder_id {},filename {}", b64(folder), b64(name));
    let r = api
        .client
        .post(api.url("/tus"))
        .bearer_auth(&api.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .header("Upload-Metadata", meta)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    location(&r)
}

fn tus_patch(api: &Api, url: &str, at: usize, body: Vec<u8>) -> reqwest::RequestBuilder {
    api.client
        .request(Method::PATCH, url)
        .bearer_auth(&api.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", at.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(body)
}

async fn a_zero_length_tus_upload_completes(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Empty").await;
    let url = tus_create(&admin, 0, &folder, "empty.txt").await;
    for _ in 0..2 {
        // The first completes; a retry answers the same.
        let r = tus_patch(&admin, &url, 0, Vec::new()).send().await.unwrap();
        assert_eq!(r.status(), 204);
        let asset = r.headers()["assetport-asset-id"]
            .to_str()
            .unwrap()
            .to_string();
        let j = expect_json(admin.get(&format!("/assets/{asset}")).await, 200).await;
        assert_eq!(
            (j["size"].as_i64(), j["filename"].as_str()),
            (Some(0), Some("empty.txt"))
        );
        let body = admin.get(&format!("/assets/{asset}/original")).await;
        assert_eq!(body.status(), 200);
        assert!(body.bytes().await.unwrap().is_empty());
    }
    assert_eq!(app.count("assets").await, 1);
}

async fn patches_racing_the_final_join_get_409_or_204(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Big").await;
    for round in 0..3 {
        let len = 8 << 20;
        let url = tus_create(&admin, len, &folder, &format!("big{round}.bin")).await;
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let last = tus_patch(&admin, &url, 0, data).send();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Empty PATCHes at offset = length, over and over while the last chunk lands and joins.
        let racers: Vec<_> = (0..4)
            .map(|_| {
                let (api_client, token, url, done) = (
                    admin.client.clone(),
                    admin.token.clone(),
                    url.clone(),
                    done.clone(),
                );
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    loop {
                        let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                        let r = api_client
                            .request(Method::PATCH, &url)
                            .bearer_auth(&token)
                            .header("Tus-Resumable", "1.0.0")
                            .header("Upload-Offset", len.to_string())
                            .header("Content-Type", "application/offset+octet-stream")
                            .send()
                            .await
                            .unwrap();
                        seen.push(r.status().as_u16());
                        if finished {
                            return seen;
                        }
                    }
                })
            })
            .collect();
        let r = last.await.unwrap();
        let status = r.status().as_u16();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(
            matches!(status, 204 | 409),
            "the completing PATCH: {status}"
        );
        for h in racers {
            let seen = h.await.unwrap();
            assert!(seen.iter().all(|s| matches!(s, 204 | 409)), "{seen:?}");
            assert_eq!(
                seen.last(),
                Some(&204),
                "once joined, the upload is complete"
            );
        }
    }
    assert_eq!(app.count("assets").await, 3, "each upload became one asset");
}

on_both_backends_behind_proxy!(
    parallel_wrong_link_passwords_judge_at_most_the_limit,
    parallel_wrong_codes_judge_at_most_the_limits,
    parallel_wrong_logins_judge_at_most_the_limit,
    parallel_reset_requests_stop_at_the_limit,
    parallel_wrong_upload_link_passwords_and_probes_are_throttled,
    parallel_uploads_store_exactly_the_allowance,
    a_big_upload_to_a_full_link_stores_nothing,
    a_zero_length_tus_upload_completes,
    patches_racing_the_final_join_get_409_or_204,
);
