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
        .env("ASSETPORT_STORAGE", &app.state.config.storage)
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

/// Runs `assetport upload` against the test server; returns (success, stdout + stderr).
async fn upload_cmd(
    app: &TestApp,
    dir: &std::path::Path,
    token: &str,
    folder: &str,
) -> (bool, String) {
    let args: Vec<String> = vec![
        "upload".into(),
        dir.display().to_string(),
        "--server".into(),
        app.base.clone(),
        "--token".into(),
        token.into(),
        "--folder".into(),
        folder.into(),
        "--quiet".into(),
    ];
    tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_assetport"))
            .args(&args)
            .output()
            .expect("binary runs");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    })
    .await
    .unwrap()
}

async fn upload_sends_a_tree_skips_what_is_there_and_resumes(app: TestApp) {
    let admin = app.admin().await;
    let top = admin.folder(None, "Campaigns").await;
    admin.folder(Some(&top), "Spring").await;
    let src = tempfile::tempdir().unwrap();
    let write = |rel: &str, bytes: &[u8]| {
        let p = src.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    write("a.jpg", b"first file");
    write("shoot/day1/b.jpg", b"second file");
    write("shoot/day2/c.jpg", &vec![9u8; 300_000]);
    write(".DS_Store", b"hidden, never sent");

    let (ok, out) = upload_cmd(&app, src.path(), &admin.token, "/Campaigns/Spring").await;
    assert!(ok, "{out}");
    assert!(
        out.contains("3 files: 3 uploaded (0 resumed), 0 unchanged, 0 failed"),
        "{out}"
    );
    assert_eq!(app.count("assets").await, 3);
    assert_eq!(
        app.count("folders").await,
        5,
        "Campaigns, Spring, shoot, day1, day2"
    );

    // A re-run sends nothing; a changed file is sent again.
    let (ok, out) = upload_cmd(&app, src.path(), &admin.token, "/Campaigns/Spring").await;
    assert!(
        ok && out.contains("0 uploaded (0 resumed), 3 unchanged"),
        "{out}"
    );
    write("a.jpg", b"first file, edited");
    let (ok, out) = upload_cmd(&app, src.path(), &admin.token, "/Campaigns/Spring").await;
    assert!(
        ok && out.contains("1 uploaded (0 resumed), 2 unchanged"),
        "{out}"
    );

    // An upload an earlier run left half done is resumed, not restarted.
    let big: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    write("late/d.bin", &big);
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let spring = expect_json(admin.get(&format!("/folders/{top}")).await, 200).await["folders"]
        ["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = admin
        .client
        .post(admin.url("/tus"))
        .bearer_auth(&admin.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", big.len().to_string())
        .header(
            "Upload-Metadata",
            format!(
                "filename {},folder_id {},relative_path {}",
                b64("d.bin"),
                b64(&spring),
                b64("late/d.bin")
            ),
        )
        .send()
        .await
        .unwrap();
    let url = r.headers()["location"].to_str().unwrap().to_string();
    let r = admin
        .client
        .patch(&url)
        .bearer_auth(&admin.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .body(big[..800_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let modified = std::fs::metadata(src.path().join("late/d.bin"))
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let state = serde_json::json!({ "late/d.bin": {
        "url": url, "size": big.len(), "modified": modified, "sha256": sha256_hex(&big)
    }});
    std::fs::write(src.path().join(".assetport-upload.json"), state.to_string()).unwrap();
    let (ok, out) = upload_cmd(&app, src.path(), &admin.token, "/Campaigns/Spring").await;
    assert!(
        ok && out.contains("1 uploaded (1 resumed), 3 unchanged"),
        "{out}"
    );
    assert!(
        !src.path().join(".assetport-upload.json").exists(),
        "state removed when done"
    );
    let assets = app.count("assets").await;
    assert_eq!(assets, 5);

    // Clear errors: an unknown folder, a bad token.
    let (ok, out) = upload_cmd(&app, src.path(), &admin.token, "/Nope").await;
    assert!(!ok && out.contains("no folder 'Nope'"), "{out}");
    let (ok, out) = upload_cmd(&app, src.path(), "ap_wrong", "/Campaigns").await;
    assert!(!ok && out.contains("401"), "{out}");
    assert_eq!(app.count("assets").await, assets);
}

/// `assetport fsck`: a clean store passes; an orphan (a file nothing refers to, as a crash
/// between storing and committing leaves) is reported and, with --repair, removed; a damaged
/// original is reported (exit 1) and left alone for a person to restore.
async fn fsck_checks_every_binary_and_repairs_only_orphans(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Checked").await;
    let a = admin
        .published(&folder, "a.txt", b"first file".to_vec())
        .await;
    admin
        .published(&folder, "b.txt", b"second file".to_vec())
        .await;
    // Let the rendition jobs finish (placeholders for text) so nothing is in flight.
    app.jobs_settled().await;
    let out = assetport(&app, &["fsck", "--grace-secs", "0"], "");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("2 binaries checked: 0 missing, 0 damaged, 0 orphans"),
        "{text}"
    );

    let orphan = "originals/zz/left-by-a-crash";
    app.put_object(orphan, b"half an upload").await;
    let out = assetport(&app, &["fsck"], "");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("0 orphans"),
        "young files are in flight, not orphans: {text}"
    );
    let out = assetport(&app, &["fsck", "--grace-secs", "0"], "");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success());
    assert!(
        text.contains("orphan: originals/zz/left-by-a-crash"),
        "{text}"
    );
    assert!(
        app.object(orphan).await.is_some(),
        "reporting removes nothing"
    );
    let out = assetport(&app, &["fsck", "--repair", "--grace-secs", "0"], "");
    assert!(out.status.success());
    assert!(
        app.object(orphan).await.is_none(),
        "--repair removes the orphan"
    );

    // A damaged original: reported, exit 1, not touched.
    let view = assetport::library::assets::get_current(&app.state.db, &a)
        .await
        .unwrap()
        .unwrap();
    let key = &view.version.blob_key;
    app.put_object(key, b"tampered!!").await;
    let out = assetport(&app, &["fsck", "--repair", "--grace-secs", "0"], "");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success());
    assert!(
        text.contains(&format!("damaged: {}", view.version.blob_key)),
        "{text}"
    );
    assert_eq!(app.object(key).await.unwrap(), b"tampered!!");
    app.state.storage.delete(key).await.unwrap();
    let out = assetport(&app, &["fsck", "--grace-secs", "0"], "");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success());
    assert!(
        text.contains(&format!("missing: {}", view.version.blob_key)),
        "{text}"
    );
}

on_both_backends!(
    fsck_checks_every_binary_and_repairs_only_orphans,
    upload_sends_a_tree_skips_what_is_there_and_resumes,
    user_and_token_commands_give_working_api_access,
    cli_errors_are_clear_and_change_nothing
);
