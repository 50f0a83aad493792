//! The restore drill (docs/deploy.md, issue 6) on the SQLite default: back up a running portal,
//! lose the machine, restore onto a new one, and every asset, rendition, account and link
//! works again byte for byte. A damaged backup is refused before anything is written.
mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{expect_json, png, sha256_hex, visitor, Api, Backend, Browser, PASSWORD};
use serde_json::json;

/// Runs the real binary with the default configuration rooted at `data_dir`.
fn assetport(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assetport"))
        .args(args)
        .env("ASSETPORT_DATA_DIR", data_dir)
        .env("ASSETPORT_CONFIG", data_dir.join("none.toml"))
        .env_remove("ASSETPORT_DATABASE_URL")
        .env_remove("ASSETPORT_STORAGE")
        .output()
        .expect("assetport runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn files_under(dir: &Path) -> usize {
    walk(dir).len()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_up_wipe_restore_and_everything_verifies() {
    let Some(app) = common::spawn(Backend::Sqlite).await else {
        return;
    };
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;
    let group = admin.group("Retail").await;
    admin.grant(&folder, &group, true, true, false).await;
    let partner = app.member("partner@example.com", &[&group]).await;

    // Photos (with renditions), a large binary, and an asset with a second version.
    let mut originals: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..3u8 {
        let bytes = png(640, 480, i);
        let id = admin
            .published(&folder, &format!("photo-{i}.png"), bytes.clone())
            .await;
        originals.push((id, bytes));
    }
    let big: Vec<u8> = (0..5_000_000u32).map(|i| (i % 249) as u8).collect();
    let big_id = admin.published(&folder, "master.tif", big.clone()).await;
    originals.push((big_id.clone(), big));
    let v2 = b"second approved milestone".to_vec();
    let r = admin
        .post(&format!("/assets/{big_id}/checkout"), json!({}))
        .await;
    assert_eq!(r.status(), 200, "checked out");
    let r = admin
        .client
        .post(admin.url(&format!("/assets/{big_id}/versions")))
        .bearer_auth(&admin.token)
        .multipart(reqwest::multipart::Form::new().text("comment", "v2").part(
            "file",
            reqwest::multipart::Part::bytes(v2.clone()).file_name("master.tif"),
        ))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "new version: {}", r.status());
    let r = admin
        .post(&format!("/assets/{big_id}/approve"), json!({}))
        .await;
    assert_eq!(r.status(), 200, "the new version approved");
    let link = admin
        .create_link(json!({ "asset_ids": [originals[0].0], "password": "open sesame" }))
        .await;
    // Renditions finish before the backup, so the backup has them to carry.
    app.jobs_settled().await;
    let renditions_before = app.count("renditions").await;
    assert!(renditions_before >= 6, "thumbnails and previews were made");
    let listing_before = expect_json(partner.get(&format!("/folders/{folder}")).await, 200).await;

    // Back up while the server runs.
    let backups = tempfile::tempdir().unwrap();
    let dest = backups.path().join("nightly");
    let out = assetport(app.dir.path(), &["backup", dest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("all checked"), "{}", text(&out));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dest.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["objects"].as_i64().unwrap(),
        app.count("asset_versions").await + renditions_before,
        "every version and rendition is in the backup"
    );
    // A backup never overwrites an earlier one.
    let again = assetport(app.dir.path(), &["backup", dest.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(text(&again).contains("already exists"), "{}", text(&again));

    // A damaged backup is refused, and the new machine is left exactly as it was.
    let damaged = backups.path().join("damaged");
    copy_dir(&dest, &damaged);
    let victim = walk(&damaged.join("blobs"))
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&victim, bytes).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let out = assetport(elsewhere.path(), &["restore", damaged.to_str().unwrap()]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("damaged"), "{}", text(&out));
    assert!(
        !elsewhere.path().join("assetport.db").exists(),
        "no database written"
    );
    assert_eq!(
        files_under(&elsewhere.path().join("blobs")),
        0,
        "no binary written"
    );

    // The machine is lost: restore onto a fresh data directory.
    let fresh = tempfile::tempdir().unwrap();
    let out = assetport(fresh.path(), &["restore", dest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("0 missing, 0 damaged, 0 orphans"),
        "{}",
        text(&out)
    );
    // Restoring over a database needs saying so.
    let out = assetport(fresh.path(), &["restore", dest.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--overwrite"), "{}", text(&out));
    let out = assetport(fresh.path(), &["fsck"]);
    assert!(out.status.success(), "{}", text(&out));
    drop(app);

    let root = fresh.path().to_path_buf();
    let Some(restored) = common::spawn_with(Backend::Sqlite, |c| {
        *c = assetport::Config {
            bind: c.bind.clone(),
            renderer: c.renderer.clone(),
            ..assetport::Config::with_data_dir(&root)
        }
    })
    .await
    else {
        return;
    };
    // The same API tokens, the same bytes, the same renditions.
    let admin = Api {
        base: restored.base.clone(),
        ..admin
    };
    let partner = Api {
        base: restored.base.clone(),
        ..partner
    };
    let listing = expect_json(partner.get(&format!("/folders/{folder}")).await, 200).await;
    assert_eq!(
        listing["items"], listing_before["items"],
        "the partner sees the same"
    );
    for (id, bytes) in &originals {
        let r = partner.get(&format!("/assets/{id}/original")).await;
        assert_eq!(r.status(), 200);
        let got = r.bytes().await.unwrap();
        let want = if *id == big_id { &v2 } else { bytes };
        assert_eq!(sha256_hex(&got), sha256_hex(want), "{id} is intact");
    }
    let versions = expect_json(admin.get(&format!("/assets/{big_id}/versions")).await, 200).await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 2);
    let thumb = partner
        .get(&format!("/assets/{}/renditions/thumb", originals[1].0))
        .await;
    assert_eq!(thumb.status(), 200);
    assert_eq!(thumb.headers()["content-type"], "image/jpeg");
    // Passwords and the link-signing secret came back too.
    let b = restored.browser();
    assert_eq!(b.login("partner@example.com", PASSWORD).await.status(), 303);
    let v = Browser {
        base: restored.base.clone(),
        client: visitor(),
    };
    let r = v
        .post_form(
            &format!("{}/unlock", link.path),
            &[("password", "open sesame")],
        )
        .await;
    assert_eq!(
        r.status(),
        303,
        "the old link unlocks on the restored portal"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    for file in walk(from) {
        let target = to.join(file.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&file, &target).unwrap();
    }
}
