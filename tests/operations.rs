//! Running assetport as a service (issue 7, operations): `/metrics` with stable, documented
//! names and no secrets in labels; JSON logs with request ids and no tokens; `X-Request-Id`;
//! and a graceful stop on SIGTERM that lets a running download and a running upload finish.
//! The real binary is started as a process, as an operator would.
mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use common::{eventually, expect_json, sha256_hex, Backend, PASSWORD};
use futures_util::StreamExt;
use serde_json::{json, Value};

struct Server {
    child: Child,
    base: String,
    port: u16,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn base_command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_assetport"));
    c.args(args)
        .env("ASSETPORT_DATA_DIR", dir)
        .env("ASSETPORT_CONFIG", dir.join("none.toml"))
        .env_remove("ASSETPORT_DATABASE_URL")
        .env_remove("ASSETPORT_STORAGE");
    c
}

async fn start(dir: &Path, extra_env: &[(&str, &str)]) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = base_command(dir, &["serve"]);
    cmd.env("ASSETPORT_BIND", format!("127.0.0.1:{port}"))
        .env("ASSETPORT_LOG_FORMAT", "json")
        .env("RUST_LOG", "assetport=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("assetport serve starts");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().unwrap();
    let sink = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        port,
        logs,
    };
    eventually("the server to start", || async {
        reqwest::get(format!("{}/healthz", server.base))
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    server
}

fn admin_token(dir: &Path) -> String {
    let mut child = base_command(
        dir,
        &[
            "user",
            "create",
            "--email",
            "ops@example.com",
            "--name",
            "Ops",
            "--role",
            "admin",
            "--password-stdin",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(child.wait().unwrap().success());
    let out = base_command(
        dir,
        &[
            "token",
            "create",
            "--email",
            "ops@example.com",
            "--name",
            "t",
        ],
    )
    .output()
    .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The metric names in docs/metrics.md's table.
fn documented_metrics() -> Vec<String> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md"))
            .unwrap();
    doc.lines()
        .filter_map(|l| l.strip_prefix("| `assetport_"))
        .filter_map(|l| l.split('`').next())
        .map(|n| format!("assetport_{n}"))
        .collect()
}

/// A metric's value for an exact label set, as printed.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_logs_request_ids_and_a_graceful_stop() {
    let dir = tempfile::tempdir().unwrap();
    let token = admin_token(dir.path());
    let server = start(dir.path(), &[]).await;
    let api = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str| {
        api.request(method, format!("{}/api/v1{path}", server.base))
            .bearer_auth(&token)
    };

    let folder = expect_json(
        call(reqwest::Method::POST, "/folders")
            .json(&json!({ "name": "Ops" }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let big: Vec<u8> = (0..24_000_000u32).map(|i| (i % 253) as u8).collect();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(big.clone()).file_name("film.mov"),
    );
    let asset = expect_json(
        call(reqwest::Method::POST, &format!("/folders/{folder}/assets"))
            .multipart(form)
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let id = asset["id"].as_str().unwrap().to_string();
    let r = call(reqwest::Method::POST, &format!("/assets/{id}/approve"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Request ids: kept when given, made when not, and in the log line of that request.
    let r = call(reqwest::Method::GET, &format!("/assets/{id}"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-me-42");
    for _ in 0..2 {
        let r = call(reqwest::Method::GET, &format!("/assets/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let made = r.headers()["x-request-id"].to_str().unwrap();
        assert!(made.len() == 32 && made.chars().all(|c| c.is_ascii_hexdigit()));
    }
    let link = expect_json(
        call(reqwest::Method::POST, "/links")
            .json(&json!({ "asset_ids": [id] }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let link_url = link["url"].as_str().unwrap().to_string();
    let link_token = link_url.rsplit('/').next().unwrap().to_string();
    assert_eq!(reqwest::get(&link_url).await.unwrap().status(), 200);
    let r = call(reqwest::Method::GET, &format!("/assets/{id}/original"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().len(), big.len());
    // Three failed logins past the per-account limit: throttled answers are counted.
    let browser = common::Browser::at(&server.base, &[]);
    for _ in 0..7 {
        browser.login("ops@example.com", "not the password").await;
    }

    // /metrics: every documented name, labelled by route template, no token anywhere.
    let text = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let documented = documented_metrics();
    assert!(documented.len() >= 9, "{documented:?}");
    for name in &documented {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} is served:\n{text}"
        );
    }
    for line in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let name = line.split(' ').next().unwrap();
        assert!(documented.iter().any(|d| d == name), "{name} is documented");
    }
    assert_eq!(
        sample(
            &text,
            "assetport_http_requests_total{method=\"GET\",route=\"/api/v1/assets/{id}\",status=\"200\"}"
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(
            &text,
            "assetport_http_requests_total{method=\"GET\",route=\"/s/{token}\",status=\"200\"}"
        ),
        Some(1.0)
    );
    assert!(
        sample(&text, "assetport_throttled_total{route=\"/login\"}").unwrap_or(0.0) >= 1.0,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "assetport_http_request_duration_seconds_count{route=\"/api/v1/assets/{id}\"}"
        ),
        Some(3.0)
    );
    let sent = sample(&text, "assetport_http_sent_bytes_total").unwrap();
    let received = sample(&text, "assetport_http_received_bytes_total").unwrap();
    assert!(sent >= big.len() as f64, "download bytes counted: {sent}");
    assert!(
        received >= big.len() as f64,
        "upload bytes counted: {received}"
    );
    assert!(sample(&text, "assetport_jobs{state=\"done\"}").is_some());
    assert!(!text.contains(&link_token), "no token in metrics");
    assert!(!text.contains(&id), "no ids in labels");

    // JSON logs: every line parses; the access line carries the request id, route and status;
    // no token, password or raw URL anywhere.
    // The access line is written as the answer leaves: wait for it, not for a time.
    let logs = eventually("the traced request's access line", || async {
        let logs = server.logs.lock().unwrap().clone();
        logs.iter()
            .any(|l| l.contains("trace-me-42") && l.contains("answered"))
            .then_some(logs)
    })
    .await;
    assert!(!logs.is_empty());
    let mut traced = None;
    for line in &logs {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("JSON: {line}"));
        if v["span"]["request_id"] == "trace-me-42" && v["fields"]["message"] == "answered" {
            traced = Some(v);
        }
    }
    let traced = traced.expect("the access line of the traced request");
    assert_eq!(traced["fields"]["status"], 200);
    assert_eq!(traced["span"]["route"], "/api/v1/assets/{id}");
    assert_eq!(traced["fields"]["ip"], "127.0.0.1");
    let all = logs.join("\n");
    for secret in [
        link_token.as_str(),
        token.as_str(),
        PASSWORD,
        "not the password",
    ] {
        assert!(!all.contains(secret), "{secret} stays out of the logs");
    }

    // A graceful stop: a download and an upload in progress both finish; new connections are
    // refused at once.
    let download = call(reqwest::Method::GET, &format!("/assets/{id}/original"))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let mut download = download.bytes_stream();
    let mut got = download.next().await.unwrap().unwrap().to_vec();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let upload_bytes: Vec<u8> = (0..6_000_000u32).map(|i| (i % 241) as u8).collect();
    let part = reqwest::multipart::Part::stream_with_length(
        reqwest::Body::wrap_stream(tokio_stream_from(rx)),
        upload_bytes.len() as u64,
    )
    .file_name("late.bin");
    let upload = tokio::spawn(
        call(reqwest::Method::POST, &format!("/folders/{folder}/assets"))
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send(),
    );
    tx.send(Ok(upload_bytes[..1_000_000].to_vec()))
        .await
        .unwrap();
    // The upload is being answered (in flight: it and this scrape) before the stop.
    eventually("the upload to be in flight", || async {
        let text = reqwest::get(format!("{}/metrics", server.base))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        (sample(&text, "assetport_http_requests_in_flight")? >= 2.0).then_some(())
    })
    .await;

    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGTERM);
    }
    let refused = eventually("the stopping server to refuse connections", || async {
        std::net::TcpStream::connect(("127.0.0.1", server.port))
            .is_err()
            .then_some(true)
    })
    .await;
    assert!(refused, "a stopping server takes no new connections");
    // The rest of the upload arrives while the server is stopping.
    for chunk in upload_bytes[1_000_000..].chunks(1_000_000) {
        tx.send(Ok(chunk.to_vec())).await.unwrap();
    }
    drop(tx);
    while let Some(chunk) = download.next().await {
        got.extend_from_slice(&chunk.expect("the download is not cut"));
    }
    assert_eq!(
        sha256_hex(&got),
        sha256_hex(&big),
        "the running download finished"
    );
    let uploaded = expect_json(upload.await.unwrap().unwrap(), 201).await;
    let mut server = server;
    let status = tokio::task::spawn_blocking(move || {
        let status = server.child.wait().unwrap();
        (status, server)
    })
    .await
    .unwrap();
    assert!(status.0.success(), "a clean exit: {:?}", status.0);

    // After a restart the late upload is there, whole.
    let again = start(dir.path(), &[]).await;
    let r = api
        .get(format!(
            "{}/api/v1/assets/{}/original",
            again.base,
            uploaded["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        sha256_hex(&r.bytes().await.unwrap()),
        sha256_hex(&upload_bytes)
    );
}

/// A receiver as a stream of body chunks.
fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// `ASSETPORT_METRICS_TOKEN` closes `/metrics` to everyone without it.
#[tokio::test]
async fn a_metrics_token_hides_the_endpoint() {
    let Some(app) = common::spawn_with(Backend::Sqlite, |c| {
        c.metrics_token = Some("scrape-secret-0123456789".into())
    })
    .await
    else {
        return;
    };
    let client = reqwest::Client::new();
    let r = client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = client
        .get(app.url("/metrics"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-secret-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    assert!(r.text().await.unwrap().contains("assetport_build_info"));
}

/// A database error while reading the queue shows in the scrape as an error (the job gauges
/// missing, `assetport_scrape_errors_total` up), never as an empty queue; the counters are
/// still served.
async fn unreadable_job_counts_are_an_error_not_zero(backend: Backend) {
    let Some(app) = common::spawn_with(backend, |c| c.job_workers = 0).await else {
        return;
    };
    let scrape = || async {
        let r = reqwest::get(app.url("/metrics")).await.unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    };
    let errors = "assetport_scrape_errors_total{source=\"jobs\"}";
    let text = scrape().await;
    assert_eq!(sample(&text, errors), Some(0.0), "{text}");
    assert!(sample(&text, "assetport_jobs{state=\"pending\"}").is_some());

    let rename = |from: &str, to: &str| format!("ALTER TABLE {from} RENAME TO {to}");
    sqlx::query(&rename("jobs", "jobs_away"))
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let text = scrape().await;
    sqlx::query(&rename("jobs_away", "jobs"))
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert!(
        !text.contains("assetport_jobs{"),
        "no made-up zeros:\n{text}"
    );
    assert_eq!(sample(&text, errors), Some(1.0), "{text}");
    assert!(sample(&text, "assetport_http_requests_in_flight").is_some());

    let text = scrape().await;
    assert!(sample(&text, "assetport_jobs{state=\"pending\"}").is_some());
    assert_eq!(sample(&text, errors), Some(1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_job_counts_are_an_error_not_zero_sqlite() {
    unreadable_job_counts_are_an_error_not_zero(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_job_counts_are_an_error_not_zero_postgres() {
    unreadable_job_counts_are_an_error_not_zero(Backend::Postgres).await
}
