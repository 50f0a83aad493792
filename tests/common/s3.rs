//! moto's S3 server (PyPI `moto[server]`): every PostgreSQL test keeps its binaries in a bucket
//! of its own on it (SPEC §5: the suite runs on SQLite + files and PostgreSQL + S3). Outside CI
//! a missing moto leaves those tests on local files; in CI it fails them.
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

fn skip<T>(why: &str) -> Option<T> {
    super::skip(&format!("S3 (PostgreSQL tests use local files): {why}"));
    None
}

/// The one moto server of this test process, shared by every PostgreSQL test (each gets a
/// bucket of its own). A watchdog shell stops it when the test process exits, since statics
/// are never dropped. `None` outside CI when moto is missing; in CI a missing moto fails.
pub async fn shared() -> Option<&'static str> {
    static URL: tokio::sync::OnceCell<Option<String>> = tokio::sync::OnceCell::const_new();
    URL.get_or_init(|| async {
        let port = TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let script = format!(
            "python3 -m moto.server -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; \
             while kill -0 {parent} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done; \
             kill $m 2>/dev/null",
            parent = std::process::id()
        );
        if let Err(e) = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .spawn()
        {
            return skip(&format!("cannot start moto: {e}"));
        }
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..150 {
            if reqwest::get(&url).await.is_ok() {
                std::env::set_var("AWS_ACCESS_KEY_ID", "test");
                std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
                std::env::set_var("AWS_DEFAULT_REGION", "us-east-1");
                std::env::set_var("AWS_ENDPOINT_URL", &url);
                return Some(url);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        skip("moto did not start (python3 -m pip install 'moto[server]')")
    })
    .await
    .as_deref()
}

/// A new empty bucket on the shared server, as `s3://bucket/prefix` storage.
pub async fn fresh_storage() -> Option<String> {
    let url = shared().await?;
    let bucket = format!("t-{}", assetport::token::random_hex(8));
    let r = reqwest::Client::new()
        .put(format!("{url}/{bucket}"))
        .send()
        .await
        .expect("moto answers");
    assert!(r.status().is_success(), "bucket created: {}", r.status());
    Some(format!("s3://{bucket}/assets"))
}

/// Multipart uploads begun but neither completed nor aborted in `storage`'s bucket: what an
/// interrupted S3 upload would leave behind.
pub async fn unfinished_uploads(storage: &str) -> Vec<String> {
    let Some(url) = shared().await else {
        return Vec::new();
    };
    let bucket = storage
        .trim_start_matches("s3://")
        .split('/')
        .next()
        .unwrap_or_default();
    let xml = reqwest::get(format!("{url}/{bucket}?uploads"))
        .await
        .expect("moto answers")
        .text()
        .await
        .unwrap_or_default();
    xml.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .map(|k| format!("unfinished multipart upload: {k}"))
        .collect()
}
