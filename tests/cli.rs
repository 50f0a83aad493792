//! SPEC §4: the `assetport` binary's account commands, against the database a running server
//! uses, on both backends.
mod common;
use common::*;
use std::io::Write;
use std::process::{Command, Stdio};

fn assetport(app: &TestApp, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_assetport"))
        .args(args)
        .env("ASSETPORT_DATABASE_URL", &app.database_url)
        .env("ASSETPORT_DATA_DIR", app.dir.path())
        .env("ASSETPORT_CONFIG", app.dir.path().join("none.toml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

async fn user_and_token_commands_give_working_api_access(app: TestApp) {
    let out = assetport(
        &app,
        &[
            "user",
            "create",
            "--email",
            "Ops@Example.com",
            "--name",
            "Ops",
            "--role",
            "admin",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ops@example.com"));
    let out = assetport(
        &app,
        &[
            "token",
            "create",
            "--email",
            "ops@example.com",
            "--name",
            "ci",
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("apt_"));
    let r = reqwest::Client::new()
        .get(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The password from stdin signs in through the form.
    app.browser().login_ok("ops@example.com").await;
}

async fn cli_errors_are_clear_and_change_nothing(app: TestApp) {
    let out = assetport(
        &app,
        &["user", "create", "--email", "a@example.com", "--name", "A"],
        "",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--password-stdin"));
    let out = assetport(
        &app,
        &[
            "user",
            "create",
            "--email",
            "a@example.com",
            "--name",
            "A",
            "--password-stdin",
        ],
        "short\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10"));
    let out = assetport(
        &app,
        &[
            "token",
            "create",
            "--email",
            "nobody@example.com",
            "--name",
            "x",
        ],
        "",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account"));
    assert_eq!(app.count("users").await, 0);
    let out = assetport(&app, &["migrate"], "");
    assert!(
        out.status.success(),
        "migrate is idempotent: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

on_both_backends!(
    user_and_token_commands_give_working_api_access,
    cli_errors_are_clear_and_change_nothing
);
