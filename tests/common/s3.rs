//! moto's S3 server (PyPI `moto[server]`) for the scale-out tests: started on a free port,
//! killed when dropped. Outside CI a missing moto skips the test; in CI it fails it.
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// moto's S3 on a free port; killed when dropped.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn moto() -> Option<Moto> {
    let port = TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) => return skip(&format!("cannot start moto: {e}")),
    };
    let url = format!("http://127.0.0.1:{port}");
    let moto = Moto { child, url };
    for _ in 0..100 {
        if reqwest::get(&moto.url).await.is_ok() {
            return Some(moto);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    skip("moto did not start (python3 -m pip install 'moto[server]')")
}

fn skip<T>(why: &str) -> Option<T> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("S3 tests are required in CI: {why}");
    }
    eprintln!("skipping S3 test: {why}");
    None
}

impl Moto {
    /// Creates a bucket (moto takes any credentials) and points the standard AWS variables at
    /// this server, as an operator would (each test binary is its own process).
    pub async fn bucket(&self, name: &str) -> String {
        let bucket = format!("{name}-{}", std::process::id());
        let r = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.url))
            .send()
            .await
            .expect("moto answers");
        assert!(r.status().is_success(), "bucket created: {}", r.status());
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_DEFAULT_REGION", "us-east-1");
        std::env::set_var("AWS_ENDPOINT_URL", &self.url);
        bucket
    }
}
