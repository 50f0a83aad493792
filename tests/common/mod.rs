//! Test harness: starts the real server (`App::build`, as `assetport serve` does) on port 0
//! with a temporary data dir, on SQLite or on PostgreSQL (a fresh schema per test), and offers
//! small clients so each test reads like a user story.
#![allow(dead_code)]

pub mod asks;
pub mod oidc;
pub mod s3;
pub mod smtp;
#[allow(unused_imports)] // not every test file asks
pub use asks::*;

use std::net::SocketAddr;
use std::path::PathBuf;

use assetport::accounts::{groups, tokens, users};
use assetport::{App, AppState, Config};
use reqwest::{header, Client, Response, StatusCode};
use serde_json::{json, Value};

pub const PASSWORD: &str = "correct horse battery";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed `async fn name(app: TestApp)` once on SQLite and once on PostgreSQL,
/// as `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::common::spawn($crate::common::Backend::Sqlite).await {
                        super::$name(app).await
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::common::spawn($crate::common::Backend::Postgres).await {
                        super::$name(app).await
                    }
                }
            )*
        }
    };
}

/// Runs each listed test on both databases with the config adjusted by `$tweak`, as
/// `$group::sqlite::name` and `$group::postgres::name`.
#[macro_export]
macro_rules! on_both_with {
    ($group:ident, $tweak:expr, $($name:ident),* $(,)?) => {
        mod $group {
            mod sqlite {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        if let Some(app) =
                            $crate::common::spawn_with($crate::common::Backend::Sqlite, $tweak).await
                        {
                            $crate::$name(app).await
                        }
                    }
                )*
            }
            mod postgres {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        if let Some(app) =
                            $crate::common::spawn_with($crate::common::Backend::Postgres, $tweak)
                                .await
                        {
                            $crate::$name(app).await
                        }
                    }
                )*
            }
        }
    };
}

/// Notes that a test (or part of one) did not run because `why` (a service or tool is missing):
/// on stderr, and as a line in `target/tmp/skipped-tests.txt`, which `bash .ci/test` counts at
/// the end of the run. In CI (`CI=true`) a missing service fails instead.
pub fn skip(why: &str) {
    use std::io::Write;
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "required in CI, but {why}"
    );
    eprintln!("skipping: {why}");
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let binary = binary.split('-').next().unwrap_or_default().to_string();
    let line = format!("{binary}::{test}: {why}\n");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(skip_log())
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// Where skips are written (see `skip`).
pub fn skip_log() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("skipped-tests.txt")
}

/// Polls `check` until it answers `Some`, and returns that; panics naming `what` after 15 s.
/// For things that happen in the background (a mail, a row, a job's state): the test waits for
/// the thing itself, never for a fixed time.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

pub fn pg_base_url() -> String {
    std::env::var("ASSETPORT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub state: AppState,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pub database_url: String,
    pub setup_token: Option<String>,
    schema: Option<String>,
}

pub async fn spawn(backend: Backend) -> Option<TestApp> {
    spawn_with(backend, |_| {}).await
}

/// Starts the server with a config adjusted by `tweak`; `None` when PostgreSQL is wanted but
/// not reachable outside CI (in CI that is a failure, not a skip).
pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::with_data_dir(dir.path());
    config.bind = "127.0.0.1:0".into();
    // The server decodes uploads by running `assetport render`; this executable is the harness.
    config.renderer = PathBuf::from(env!("CARGO_BIN_EXE_assetport"));
    // No digests on a clock: a test run at the digest hour would get unexpected mail. The
    // digest tests send them through the admin's button.
    config.digest_hour = None;
    // Webhook receivers in tests listen on 127.0.0.1 (ASSETPORT_WEBHOOKS_ALLOW_PRIVATE=true);
    // tests of the refusal turn it off.
    config.webhooks_allow_private = true;
    let mut schema = None;
    if backend == Backend::Postgres {
        let name = format!("t_{}", assetport::token::random_hex(8));
        match create_schema(&name).await {
            Ok(()) => {}
            Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
                skip(&format!(
                    "PostgreSQL test: cannot reach {} ({e})",
                    pg_base_url()
                ));
                return None;
            }
            Err(e) => panic!("PostgreSQL is required in CI: {e}"),
        }
        config.database_url = format!("{}?options=-c%20search_path%3D{name}", pg_base_url()).into();
        schema = Some(name);
        // The scale-out pairing (SPEC §5): PostgreSQL tests keep their binaries in S3 (moto).
        if let Some(storage) = s3::fresh_storage().await {
            config.storage = storage;
        }
    }
    tweak(&mut config);
    let database_url = config.database_url.expose().to_string();
    let app = App::build(config).await.expect("app builds");
    let addr = app.local_addr();
    let state = app.state().clone();
    let setup_token = app.setup_token.clone();
    tokio::spawn(app.run_until(std::future::pending()));
    Some(TestApp {
        addr,
        base: format!("http://{addr}"),
        state,
        backend,
        dir,
        database_url,
        setup_token,
        schema,
    })
}

async fn create_schema(name: &str) -> Result<(), String> {
    sqlx::any::install_default_drivers();
    let url = pg_base_url();
    let connect = sqlx::AnyPool::connect(&url);
    let pool = tokio::time::timeout(std::time::Duration::from_secs(3), connect)
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| e.to_string())?;
    // Migration 0022 creates pg_trgm where it is missing, in the first schema of the search
    // path: here that would be a test's schema, and dropping that schema would take the
    // extension (and every other test schema's trigram index) with it. So the tests keep it
    // in `public`, made once for the database; the migration then finds it there.
    PG_TRGM
        .get_or_try_init(|| async {
            sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
                .execute(&pool)
                .await
                .map(|_| ())
        })
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query(&format!("CREATE SCHEMA {name}"))
        .execute(&pool)
        .await
        .map_err(|e| e.to_string())?;
    pool.close().await;
    Ok(())
}

static PG_TRGM: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

impl Drop for TestApp {
    fn drop(&mut self) {
        // Drop the test's schema on a thread of its own: Drop cannot await.
        if let Some(schema) = self.schema.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(pool) = sqlx::AnyPool::connect(&pg_base_url()).await {
                            let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                                .execute(&pool)
                                .await;
                            pool.close().await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Moves this instance's clock forward (expiry, windows, throttles: no test sleeps).
    pub fn advance(&self, by: std::time::Duration) {
        self.state.clock.advance(by);
    }

    /// RFC 3339 time `secs` from now on this app's clock (negative: in the past).
    pub fn in_secs(&self, secs: i64) -> String {
        assetport::clock::rfc3339(self.state.clock.now_ms() + secs * 1000)
    }

    /// Another instance on this one's database and storage, with its own data dir, adjusted by
    /// `tweak`; it stops (gracefully) when the returned handle is dropped or `stop`ped.
    pub async fn another_instance(&self, tweak: impl FnOnce(&mut Config)) -> Instance {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::with_data_dir(dir.path());
        config.bind = "127.0.0.1:0".into();
        config.database_url = self.database_url.clone().into();
        config.storage = self.state.config.storage.clone();
        config.renderer = PathBuf::from(env!("CARGO_BIN_EXE_assetport"));
        config.digest_hour = None;
        config.webhooks_allow_private = true;
        tweak(&mut config);
        let app = App::build(config).await.expect("another instance");
        let base = format!("http://{}", app.local_addr());
        let state = app.state().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Instance {
            base,
            state,
            _dir: dir,
            stop: Some(stop),
            running,
        }
    }

    pub fn blobs_dir(&self) -> PathBuf {
        self.dir.path().join("blobs")
    }

    /// Every object in storage, unfinished ones included (temp files on local storage,
    /// multipart uploads neither completed nor aborted on S3).
    pub async fn stored_files(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .state
            .storage
            .inventory()
            .await
            .expect("storage inventory")
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        if self.state.config.storage.starts_with("s3://") {
            out.extend(s3::unfinished_uploads(&self.state.config.storage).await);
        }
        out.sort();
        out
    }

    /// Writes `bytes` as `key` straight into storage (to stage damage and orphans).
    pub async fn put_object(&self, key: &str, bytes: &[u8]) {
        let body = futures_util::stream::iter([Ok::<_, std::io::Error>(
            bytes::Bytes::copy_from_slice(bytes),
        )]);
        self.state
            .storage
            .put_stream(key, body, u64::MAX)
            .await
            .expect("object stored");
    }

    /// The bytes of `key` in storage, or None.
    pub async fn object(&self, key: &str) -> Option<Vec<u8>> {
        use futures_util::StreamExt;
        self.state
            .storage
            .size(key)
            .await
            .expect("storage answers")?;
        let mut body = self.state.storage.get(key, None).await.expect("readable");
        let mut out = Vec::new();
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk.expect("chunk"));
        }
        Some(out)
    }

    pub async fn count(&self, table: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(&self.state.db.pool)
            .await
            .expect("count")
            .try_get("n")
            .expect("n")
    }

    /// Creates an account directly (as `assetport user create` does).
    pub async fn user(&self, email: &str, role: users::Role) -> users::Account {
        users::create_user(
            &self.state.db,
            users::NewUser {
                email,
                name: email.split('@').next().unwrap_or("user"),
                role,
                password: PASSWORD,
            },
        )
        .await
        .expect("user created")
    }

    /// An admin account and an API client for it.
    pub async fn admin(&self) -> Api {
        let a = self.user("admin@example.com", users::Role::Admin).await;
        self.api_for(&a).await
    }

    pub async fn api_for(&self, account: &users::Account) -> Api {
        let token = tokens::create_api_token(&self.state.db, &account.id, "test")
            .await
            .expect("token");
        Api {
            base: self.base.clone(),
            token,
            client: Client::new(),
            user_id: account.id.to_string(),
        }
    }

    /// A member in the given (new or existing) groups, with an API client.
    pub async fn member(&self, email: &str, group_ids: &[&str]) -> Api {
        let a = self.user(email, users::Role::Member).await;
        for g in group_ids {
            groups::add_member(&self.state.db, g, &a.id)
                .await
                .expect("member added");
        }
        self.api_for(&a).await
    }

    /// A browser with a cookie jar that does not follow redirects (tests look at them).
    pub fn browser(&self) -> Browser {
        Browser::at(&self.base, &[])
    }
}

/// A further server process-alike sharing a `TestApp`'s database and storage.
pub struct Instance {
    pub base: String,
    /// Its own state (and clock: a test that moves time moves every instance's).
    pub state: AppState,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    running: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Instance {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Shuts the instance down and waits until it has stopped listening.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.running).await;
    }
}

/// An API client with a bearer token.
pub struct Api {
    pub base: String,
    pub token: String,
    pub client: Client,
    pub user_id: String,
}

impl Api {
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request")
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut rb = self.client.get(self.url(path)).bearer_auth(&self.token);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        rb.send().await.expect("request")
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Response {
        let mut rb = self
            .client
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        rb.send().await.expect("request")
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Response {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Response {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// POST and expect `status`; returns the JSON body.
    pub async fn post_ok(&self, path: &str, body: Value, status: u16) -> Value {
        let r = self.post(path, body).await;
        expect_json(r, status).await
    }

    pub async fn folder(&self, parent: Option<&str>, name: &str) -> String {
        let body = match parent {
            Some(p) => json!({ "parent_id": p, "name": name }),
            None => json!({ "name": name }),
        };
        self.post_ok("/folders", body, 201).await["id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    pub async fn group(&self, name: &str) -> String {
        self.post_ok("/groups", json!({ "name": name }), 201).await["id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    pub async fn grant(
        &self,
        folder: &str,
        group: &str,
        view: bool,
        download: bool,
        contribute: bool,
    ) {
        let r = self
            .put(
                &format!("/folders/{folder}/grants/{group}"),
                json!({ "view": view, "download": download, "contribute": contribute }),
            )
            .await;
        assert_eq!(
            r.status(),
            200,
            "grant: {}",
            r.text().await.unwrap_or_default()
        );
    }

    /// Uploads `bytes` as `filename` with extra text fields; returns the raw response.
    pub async fn upload_raw(
        &self,
        folder: &str,
        filename: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> Response {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(filename.to_string()),
        );
        self.client
            .post(self.url(&format!("/folders/{folder}/assets")))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await
            .expect("upload")
    }

    /// Uploads and expects 201; returns the asset JSON.
    pub async fn upload(&self, folder: &str, filename: &str, bytes: Vec<u8>) -> Value {
        expect_json(self.upload_raw(folder, filename, bytes, &[]).await, 201).await
    }

    /// Uploads and expects 201; returns the asset id.
    pub async fn upload_id(&self, folder: &str, filename: &str, bytes: Vec<u8>) -> String {
        self.upload(folder, filename, bytes).await["id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    /// Uploads and approves; returns the asset id.
    pub async fn published(&self, folder: &str, filename: &str, bytes: Vec<u8>) -> String {
        let id = self.upload_id(folder, filename, bytes).await;
        self.approve(&id).await;
        id
    }

    /// Approves asset `id` and expects 200.
    /// Checks in `bytes` as a new version of `asset` (`POST /assets/{id}/versions`).
    pub async fn check_in(&self, asset: &str, bytes: &[u8], comment: &str) -> Response {
        let form = reqwest::multipart::Form::new()
            .text("comment", comment.to_string())
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("logo.png"),
            );
        self.client
            .post(self.url(&format!("/assets/{asset}/versions")))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await
            .expect("check-in")
    }

    pub async fn approve(&self, id: &str) {
        let r = self.post(&format!("/assets/{id}/approve"), json!({})).await;
        assert_eq!(r.status(), 200, "approve {id}");
    }
}

pub async fn expect_json(r: Response, status: u16) -> Value {
    let got = r.status();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(got.as_u16(), status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A browser session (cookies kept, redirects not followed).
pub struct Browser {
    pub base: String,
    pub client: Client,
}

impl Browser {
    /// A fresh browser for `base`, sending `headers` with every request.
    pub fn at(base: &str, headers: &[(&str, &str)]) -> Browser {
        let mut map = reqwest::header::HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                v.parse().expect("header value"),
            );
        }
        let client = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(map)
            .build()
            .expect("client");
        Browser {
            base: base.to_string(),
            client,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        (r.status(), r.text().await.unwrap_or_default())
    }

    /// The CSRF token of the form on `path`.
    pub async fn csrf(&self, path: &str) -> String {
        let (_, html) = self.page(path).await;
        csrf_in(&html).unwrap_or_else(|| panic!("no csrf token on {path}"))
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("request")
    }

    /// Signs in through the login form; returns the response (303 on success).
    pub async fn login(&self, email: &str, password: &str) -> Response {
        let csrf = self.csrf("/login").await;
        self.post_form(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }

    pub async fn login_ok(&self, email: &str) {
        let r = self.login(email, PASSWORD).await;
        assert_eq!(r.status(), 303, "login failed");
    }
}

pub fn csrf_in(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

pub fn location(r: &Response) -> String {
    r.headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

pub fn session_cookie(r: &Response) -> Option<String> {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("assetport_session="))
        .map(str::to_string)
}

/// A share link as created through the API: its id, URL and the path part (`/s/<token>`).
pub struct TestLink {
    pub id: String,
    pub url: String,
    pub path: String,
    pub json: Value,
}

impl Api {
    /// Creates a share link and expects 201.
    pub async fn create_link(&self, body: Value) -> TestLink {
        let j = self.post_ok("/links", body, 201).await;
        let url = j["url"].as_str().expect("url").to_string();
        let path = url[url.find("/s/").expect("/s/ in url")..].to_string();
        TestLink {
            id: j["id"].as_str().expect("id").to_string(),
            url,
            path,
            json: j,
        }
    }
}

impl TestApp {
    /// Every email written to the outbox, as text.
    pub fn outbox(&self) -> Vec<String> {
        let dir = self.dir.path().join("outbox");
        let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .map(|p| {
                        let text = std::fs::read_to_string(&p).unwrap_or_default();
                        (p, text)
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out.into_iter().map(|(_, t)| t).collect()
    }

    /// The first mail to `to` that satisfies `more`, decoded (`mail_text`); waits up to 15 s,
    /// since most mail is sent in the background. Panics if none comes.
    pub async fn wait_for_mail(&self, to: &str, more: impl Fn(&str) -> bool) -> String {
        let header = format!("To: {to}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::time::Instant::now() < deadline {
            if let Some(m) = self
                .outbox()
                .iter()
                .map(|raw| mail_text(raw))
                .find(|m| m.lines().any(|l| l == header) && more(m))
            {
                return m;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("no mail to {to} came; the outbox: {:#?}", self.outbox());
    }

    /// The asset JSON (read by `api`) once its renditions are no longer pending; panics with
    /// the queue's state if they stay pending.
    pub async fn rendered(&self, api: &Api, id: &str) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::time::Instant::now() < deadline {
            let j = expect_json(api.get(&format!("/assets/{id}")).await, 200).await;
            if j["renditions"]["state"] != "pending" {
                return j;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let mut jobs = Vec::new();
        for state in ["pending", "running", "failed"] {
            jobs.extend(
                assetport::jobs::list(&self.state.db, state, 10)
                    .await
                    .expect("jobs"),
            );
        }
        panic!("renditions of {id} still pending; jobs: {jobs:?}");
    }

    /// Waits until no job is pending or running (renditions made, placeholders set).
    pub async fn jobs_settled(&self) {
        eventually("the job queue to settle", || async {
            let counts = assetport::jobs::counts(&self.state.db)
                .await
                .expect("job counts");
            counts
                .iter()
                .all(|(state, _)| state != "pending" && state != "running")
                .then_some(())
        })
        .await
    }

    /// Waits (briefly) until the link has at least `n` events of `kind`; returns how many.
    pub async fn link_events(&self, link_id: &str, kind: &str, n: i64) -> i64 {
        use sqlx::Row;
        let mut got = 0;
        for _ in 0..100 {
            got = sqlx::query(
                "SELECT COUNT(*) AS n FROM events WHERE actor_link_id = $1 AND kind = $2",
            )
            .bind(link_id)
            .bind(kind)
            .fetch_one(&self.state.db.pool)
            .await
            .expect("count")
            .try_get("n")
            .expect("n");
            if got >= n {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        got
    }
}

/// A plain HTTP client without cookies or redirects: a visitor as the tests drive it.
/// What a sender's page script does: posts one file, as "Nora <nora@studio.example>", to an
/// upload link's `{path}/files` and asks for JSON.
pub async fn send_to_upload_link(app: &TestApp, path: &str, name: &str, bytes: &[u8]) -> Response {
    let form = reqwest::multipart::Form::new()
        .text("uploader_name", "Nora")
        .text("uploader_email", "nora@studio.example")
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()),
        );
    visitor()
        .post(app.url(&format!("{path}/files")))
        .header(header::ACCEPT, "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// GETs `url` with a `Range` header; the status and the body.
pub async fn get_range(c: &Client, url: &str, range: &str) -> (u16, Vec<u8>) {
    let r = c
        .get(url)
        .header(header::RANGE, range)
        .send()
        .await
        .expect("ranged GET");
    let s = r.status().as_u16();
    (s, r.bytes().await.expect("body").to_vec())
}

pub fn visitor() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The body `client` gets for `url`, as text (whatever the status).
pub async fn text_of(client: &Client, url: impl reqwest::IntoUrl) -> String {
    client
        .get(url)
        .send()
        .await
        .expect("a response")
        .text()
        .await
        .expect("a text body")
}

/// The entries of a ZIP as Python's zipfile reads them (an independent reader): name and
/// sha256 of the content, in archive order. Fails on a corrupt archive.
/// Runs a Python `script` with `input` on stdin and returns its stdout; panics with `what`
/// when it fails. Tests use Python's standard library as an independent reader of what the
/// server wrote (ZIPs, CSV).
pub fn python(script: &str, input: &[u8], what: &str) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write to python3");
    let out = child.wait_with_output().expect("python3 output");
    assert!(out.status.success(), "{what}");
    out.stdout
}

/// Every entry of a ZIP as (name, SHA-256 of its content), read by Python's zipfile.
pub fn zip_entries(bytes: &[u8]) -> Vec<(String, String)> {
    let out = python(
        "import sys, io, zipfile, hashlib\n\
         z = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()))\n\
         assert z.testzip() is None\n\
         for i in z.infolist():\n\
         \x20   print(i.filename + '\\t' + hashlib.sha256(z.read(i)).hexdigest())",
        bytes,
        "not a valid ZIP",
    );
    String::from_utf8_lossy(&out)
        .lines()
        .map(|l| {
            let (n, h) = l.split_once('\t').expect("name\\thash");
            (n.to_string(), h.to_string())
        })
        .collect()
}

/// `n` bytes of a repeating pattern that `seed` shifts (distinct files, same sizes).
pub fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| ((i * 7 + seed as usize) % 251) as u8)
        .collect()
}

/// A `w`×`h` PNG with a gradient that `seed` tints (a real picture for the renderer).
pub fn png(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([x as u8, y as u8, seed.wrapping_mul(37)])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

/// Standard base64 (tus `Upload-Metadata` values).
pub fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The `/reset/<token>` path in a password-reset mail (soft line breaks undone).
pub fn reset_path(mail: &str) -> String {
    let mail = mail.replace("=\r\n", "").replace("=\n", "");
    let start = mail.find("/reset/").expect("a reset link in the mail");
    let token: String = mail[start + 7..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    format!("/reset/{token}")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A mail as a person reads it: the headers as they are, the body decoded from
/// quoted-printable or base64 (lettre picks one when the text is not plain ASCII). Of a
/// multipart mail, the text parts (the HTML part is for `mail_html`), a line per attachment
/// and an `[inline image]` line per picture inside the HTML.
pub fn mail_text(raw: &str) -> String {
    let raw = raw.replace("\r\n", "\n");
    let Some((head, body)) = raw.split_once("\n\n") else {
        return raw;
    };
    let lower = head.to_ascii_lowercase();
    // A multipart mail: its text parts decoded, and a line naming each attachment.
    let unfolded = head.replace("\n ", " ");
    if let Some(boundary) = unfolded
        .to_ascii_lowercase()
        .contains("content-type: multipart/")
        .then(|| unfolded.split("boundary=").nth(1))
        .flatten()
        .map(|b| {
            b.split(['\n', ';'])
                .next()
                .unwrap_or("")
                .trim_matches('"')
                .to_string()
        })
    {
        // A mail whose parts were already taken apart (the SMTP server's copy is its text):
        // nothing to split.
        if !body.contains(&format!("--{boundary}")) {
            return format!("{unfolded}\n\n{body}");
        }
        let mut text = String::new();
        for part in body.split(&format!("--{boundary}")).skip(1) {
            let part = part.trim_start_matches('\n');
            if part.starts_with("--") {
                break;
            }
            let decoded = mail_text(part);
            let (part_head, part_body) = decoded.split_once("\n\n").unwrap_or(("", ""));
            let part_lower = part_head.to_ascii_lowercase();
            if part_lower.contains("content-disposition: attachment") {
                let name = part_head
                    .split("filename=")
                    .nth(1)
                    .map(|n| n.split('\n').next().unwrap_or("").trim_matches('"'))
                    .unwrap_or("");
                text.push_str(&format!("[attachment: {name}]\n"));
            } else if part_lower.contains("content-disposition: inline")
                && part_lower.contains("content-id:")
            {
                text.push_str("[inline image]\n");
            } else if part_lower.contains("text/plain") || part_lower.contains("multipart/") {
                // A nested multipart (alternative, related): its text parts, already decoded.
                text.push_str(part_body);
            }
        }
        return format!("{unfolded}\n\n{text}");
    }
    let body = if lower.contains("content-transfer-encoding: quoted-printable") {
        let joined = body.replace("=\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (bytes[i], hex) {
                (b'=', Some(b)) => {
                    out.push(b);
                    i += 3;
                }
                (c, _) => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    } else if lower.contains("content-transfer-encoding: base64") {
        use base64::Engine;
        let compact: String = body.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .expect("base64 body");
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        body.to_string()
    };
    // Long header lines are folded (RFC 5322 §2.2.3): unfold them.
    let head = head.replace("\n ", " ");
    format!("{head}\n\n{body}")
}
