//! Scale-out storage (issue 6, first part): the portal on PostgreSQL and an S3-compatible store
//! (moto's server from PyPI, started here on 127.0.0.1). Uploads go up in multipart parts,
//! downloads are ranged reads, ZIPs stream, renditions are made from a fetched copy, and tus
//! uploads are joined in the bucket. Outside CI a missing moto skips the test; in CI it fails.
mod common;

use common::{expect_json, sha256_hex, zip_entries};
use serde_json::json;

/// Bytes that are not all alike, so a swapped or misplaced part would show.
fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[seed as usize % 4] ^ seed)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_runs_on_postgres_and_s3() {
    let Some(app) = common::spawn(common::Backend::Postgres).await else {
        return;
    };
    let moto = common::s3::shared()
        .await
        .expect("PostgreSQL tests run on moto's S3");
    let storage = app.state.config.storage.clone();
    let bucket = storage
        .strip_prefix("s3://")
        .and_then(|s| s.split('/').next())
        .expect("s3 storage")
        .to_string();
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaign").await;

    // A 19 MiB upload goes up in 8 MiB parts and comes back byte for byte, also ranged.
    let big = pattern(19 * 1024 * 1024 + 123, 7);
    let id = admin.published(&folder, "film.mov", big.clone()).await;
    let r = admin.get(&format!("/assets/{id}/original")).await;
    assert_eq!(r.status(), 200);
    let got = r.bytes().await.unwrap();
    assert_eq!(sha256_hex(&got), sha256_hex(&big));
    let r = admin
        .client
        .get(admin.url(&format!("/assets/{id}/original")))
        .bearer_auth(&admin.token)
        .header("range", "bytes=9000000-9000099")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(&r.bytes().await.unwrap()[..], &big[9_000_000..9_000_100]);
    // Nothing of it is on the local disk: it lives in the bucket, under the prefix.
    let local: Vec<_> = walkdir::WalkDir::new(app.blobs_dir())
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .collect();
    assert!(local.is_empty(), "{local:?}");
    let listing = reqwest::get(format!("{moto}/{bucket}?prefix=assets/originals/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(listing.contains("<Key>assets/originals/"), "{listing}");

    // Renditions are made from a fetched copy and stored in the bucket.
    let png = {
        let mut out = std::io::Cursor::new(Vec::new());
        let img = image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([x as u8, y as u8, 90]));
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    let pic = admin.published(&folder, "pic.png", png).await;
    let j = app.rendered(&admin, &pic).await;
    assert_eq!(j["renditions"]["state"], "ready");
    let r = admin.get(&format!("/assets/{pic}/renditions/thumb")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");

    // A ZIP streams both from the bucket.
    let r = admin.post("/zip", json!({ "asset_ids": [id, pic] })).await;
    assert_eq!(r.status(), 200);
    let entries = zip_entries(&r.bytes().await.unwrap());
    assert_eq!(entries.len(), 2);
    let film = entries
        .iter()
        .find(|(n, _)| n == "film.mov")
        .expect("film.mov");
    assert_eq!(film.1, sha256_hex(&big));

    // A resumable upload in two PATCHes is joined in the bucket.
    let body = pattern(9 * 1024 * 1024 + 5, 3);
    let meta = format!(
        "filename {},folder_id {}",
        base64_of("notes.bin"),
        base64_of(&folder)
    );
    let r = admin
        .client
        .post(admin.url("/tus"))
        .bearer_auth(&admin.token)
        .header("tus-resumable", "1.0.0")
        .header("upload-length", body.len().to_string())
        .header("upload-metadata", meta)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let location = if location.starts_with("http") {
        location
    } else {
        format!("{}{location}", app.base)
    };
    let half = body.len() / 2;
    for (start, chunk) in [(0, &body[..half]), (half, &body[half..])] {
        let r = admin
            .client
            .patch(&location)
            .bearer_auth(&admin.token)
            .header("tus-resumable", "1.0.0")
            .header("upload-offset", start.to_string())
            .header("content-type", "application/offset+octet-stream")
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "{}", r.text().await.unwrap_or_default());
    }
    let listed = expect_json(admin.get(&format!("/folders/{folder}")).await, 200).await;
    let notes = listed["assets"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["filename"] == "notes.bin")
        .expect("the tus upload became an asset")
        .clone();
    assert_eq!(notes["sha256"], sha256_hex(&body).as_str());
    let r = admin
        .get(&format!(
            "/assets/{}/original",
            notes["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(sha256_hex(&r.bytes().await.unwrap()), sha256_hex(&body));
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}
