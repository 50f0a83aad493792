//! Browser journeys (issue 8): the real binary, started as a process on a fresh data dir, and
//! Debian's Chromium driven by Playwright (`tests/e2e/journeys.mjs`) through what an admin, a
//! partner, an agency, a visitor without an account and a sender through an upload link's
//! delivery slots do, at 1280 and 390 px, with checks for
//! overflow, labels and keyboard focus on every page. Screenshots land in
//! `target/tmp/e2e-shots`. Needs node, /usr/bin/chromium and `npm ci` in tests/e2e (.ci/run
//! installs them); without them the test says so and passes, except under `CI=true`.
mod common;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "e2e password 123";
const ADMIN: &str = "admin@e2e.example";
const PARTNER: &str = "partner@e2e.example";
const AGENCY: &str = "agency@e2e.example";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e")
}

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// What is missing to run the journeys, if anything.
fn missing() -> Option<String> {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !node {
        return Some("node is not installed".into());
    }
    if !Path::new(&chromium()).exists() {
        return Some(format!("{} is not installed", chromium()));
    }
    for pkg in ["playwright-core", "jsqr", "pngjs"] {
        if !e2e_dir().join("node_modules").join(pkg).exists() {
            return Some(format!("{pkg} is not installed (cd tests/e2e && npm ci)"));
        }
    }
    None
}

fn assetport(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_assetport"));
    c.env("ASSETPORT_DATA_DIR", dir)
        .env("ASSETPORT_CONFIG", dir.join("none.toml"))
        .env("ASSETPORT_DIGEST_HOUR", "off")
        .env_remove("ASSETPORT_DATABASE_URL")
        .env_remove("ASSETPORT_STORAGE");
    c
}

fn create_user(dir: &Path, email: &str, role: &str) {
    let name = email.split('@').next().unwrap_or("user");
    let mut child = assetport(dir)
        .args(["user", "create", "--email", email, "--name", name])
        .args(["--role", role, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("assetport user create");
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(child.wait().unwrap().success(), "user {email} created");
}

/// Starts tests/oidc's provider for `base` with the sso journey's partner; its issuer.
fn oidc_provider(dir: &Path, base: &str) -> Result<(Server, String), String> {
    use std::io::BufRead;
    let oidc = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
    if !oidc.join("node_modules/oidc-provider").exists() {
        return Err("oidc-provider is not installed (cd tests/oidc && npm ci)".into());
    }
    let users = dir.join("oidc-users.json");
    let partner = r#"{"sso-partner":{"email":"sam@partner.e2e.example","name":"Sam Partner"}}"#;
    std::fs::write(&users, partner).map_err(|e| e.to_string())?;
    let mut child = Command::new("node")
        .current_dir(&oidc)
        .arg("provider.mjs")
        .arg(&users)
        .arg(format!("{base}/sso/partner/callback"))
        .arg(format!("{base}/login"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("node provider.mjs: {e}"))?;
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    // Keep draining, so a later line never meets a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let issuer = serde_json::from_str::<serde_json::Value>(&first)
        .ok()
        .and_then(|v| v["issuer"].as_str().map(str::to_string))
        .ok_or_else(|| format!("the provider printed {first:?}, not its issuer"))?;
    Ok((Server(child), issuer))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_journeys_of_every_persona() {
    if let Some(why) = missing() {
        common::skip(&format!("browser journeys: {why}"));
        return;
    }
    let data = tempfile::tempdir().unwrap();
    create_user(data.path(), ADMIN, "admin");
    create_user(data.path(), PARTNER, "member");
    create_user(data.path(), AGENCY, "member");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = Server(
        assetport(data.path())
            .arg("serve")
            .env("ASSETPORT_BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("assetport serve"),
    );
    let started = Instant::now();
    while reqwest::get(format!("{base}/readyz")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "server up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The sso journey's identity provider: oidc-provider from tests/oidc, on a free port.
    let (_provider, issuer) = match oidc_provider(data.path(), &base) {
        Ok((p, i)) => (Some(p), i),
        Err(why) => {
            common::skip(&format!("the sso browser journey: {why}"));
            (None, String::new())
        }
    };

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-shots");
    let _ = std::fs::remove_dir_all(&shots);
    let run = tokio::process::Command::new("node")
        .arg("journeys.mjs")
        .current_dir(e2e_dir())
        .env("BASE_URL", &base)
        .env("ADMIN_EMAIL", ADMIN)
        .env("PARTNER_EMAIL", PARTNER)
        .env("AGENCY_EMAIL", AGENCY)
        .env("PASSWORD", PASSWORD)
        .env("SHOTS_DIR", &shots)
        .env("OUTBOX_DIR", data.path().join("outbox"))
        .env("CHROMIUM", chromium())
        .env("OIDC_ISSUER", &issuer)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the journeys finish within 5 minutes")
        .expect("node runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "browser journeys failed:\n{log}");
    eprintln!("{log}\nscreenshots: {}", shots.display());
}
