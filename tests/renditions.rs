//! Renditions and extracted metadata (issue 5), through the real server and its real renderer
//! process: thumbnails and previews appear after upload, metadata is read from the file (GPS
//! for admins only), hostile files fail alone, and links serve previews behind their gates.
mod common;

use std::time::Duration;

use common::{expect_json, text_of, visitor, Api, TestApp};
use serde_json::json;

/// A photo-like JPEG with an EXIF block (title, camera, author, date, GPS).
fn photo(width: u16, height: u16) -> Vec<u8> {
    let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height as u32 {
        for x in 0..width as u32 {
            pixels.push((x * 255 / width as u32) as u8);
            pixels.push((y * 255 / height as u32) as u8);
            pixels.push(((x ^ y) & 0xff) as u8);
        }
    }
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 85);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(exif_tiff());
    enc.add_app_segment(1, app1).expect("exif segment");
    enc.encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .expect("jpeg");
    out
}

/// A little-endian TIFF with IFD0 (description, make, model, artist, copyright), an Exif IFD
/// (DateTimeOriginal) and a GPS IFD (52°30'N, 13°24'E).
fn exif_tiff() -> Vec<u8> {
    struct Tag {
        id: u16,
        kind: u16,
        count: u32,
        data: Vec<u8>,
    }
    fn ascii(id: u16, s: &str) -> Tag {
        let mut data = s.as_bytes().to_vec();
        data.push(0);
        Tag {
            id,
            kind: 2,
            count: data.len() as u32,
            data,
        }
    }
    fn rationals(id: u16, v: &[(u32, u32)]) -> Tag {
        let mut data = Vec::new();
        for (n, d) in v {
            data.extend(n.to_le_bytes());
            data.extend(d.to_le_bytes());
        }
        Tag {
            id,
            kind: 5,
            count: v.len() as u32,
            data,
        }
    }
    fn long(id: u16, v: u32) -> Tag {
        Tag {
            id,
            kind: 4,
            count: 1,
            data: v.to_le_bytes().to_vec(),
        }
    }
    // Lays out IFDs one after another; values over 4 bytes go right after each IFD.
    fn ifd(tags: &[Tag], at: u32, next: u32) -> Vec<u8> {
        let mut head = Vec::new();
        let mut extra = Vec::new();
        let extra_at = at + 2 + 12 * tags.len() as u32 + 4;
        head.extend((tags.len() as u16).to_le_bytes());
        for t in tags {
            head.extend(t.id.to_le_bytes());
            head.extend(t.kind.to_le_bytes());
            head.extend(t.count.to_le_bytes());
            if t.data.len() <= 4 {
                let mut d = t.data.clone();
                d.resize(4, 0);
                head.extend(d);
            } else {
                head.extend((extra_at + extra.len() as u32).to_le_bytes());
                extra.extend(&t.data);
                if extra.len() % 2 == 1 {
                    extra.push(0);
                }
            }
        }
        head.extend(next.to_le_bytes());
        head.extend(extra);
        head
    }
    let exif_tags = [ascii(0x9003, "2026:05:04 06:30:00")];
    let gps_tags = [
        ascii(0x0001, "N"),
        rationals(0x0002, &[(52, 1), (30, 1), (0, 1)]),
        ascii(0x0003, "E"),
        rationals(0x0004, &[(13, 1), (24, 1), (0, 1)]),
    ];
    // Sizes are fixed by the tag lists, so the offsets can be computed in two passes.
    let build = |exif_at: u32, gps_at: u32| {
        let ifd0_tags = [
            ascii(0x010E, "Harbour at dawn"),
            ascii(0x010F, "Canon"),
            ascii(0x0110, "EOS R5"),
            ascii(0x013B, "Jane Doe"),
            ascii(0x8298, "ACME Photo"),
            long(0x8769, exif_at),
            long(0x8825, gps_at),
        ];
        let mut out = b"II*\0".to_vec();
        out.extend(8u32.to_le_bytes());
        out.extend(ifd(&ifd0_tags, 8, 0));
        let e = out.len() as u32;
        out.extend(ifd(&exif_tags, e, 0));
        let g = out.len() as u32;
        out.extend(ifd(&gps_tags, g, 0));
        (out, e, g)
    };
    let (_, e, g) = build(0, 0);
    build(e, g).0
}

/// (width, height) from a JPEG's first SOF marker.
fn jpeg_size(b: &[u8]) -> (u32, u32) {
    let mut i = 2;
    while i + 9 < b.len() {
        let marker = b[i + 1];
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if (0xC0..=0xC3).contains(&marker) {
            let h = u16::from_be_bytes([b[i + 5], b[i + 6]]) as u32;
            let w = u16::from_be_bytes([b[i + 7], b[i + 8]]) as u32;
            return (w, h);
        }
        i += 2 + len;
    }
    panic!("no SOF in JPEG");
}

/// Mean absolute difference of two same-sized JPEGs' pixels (0–255).
fn mean_difference(a: &[u8], b: &[u8]) -> f64 {
    let decode = |bytes: &[u8]| {
        let mut d = jpeg_decoder::Decoder::new(bytes);
        d.decode().expect("decodes")
    };
    let (a, b) = (decode(a), decode(b));
    assert_eq!(a.len(), b.len());
    let sum: u64 = a
        .iter()
        .zip(&b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.len() as f64
}

struct World {
    admin: Api,
    viewer: Api,
    buyer: Api,
    stranger: Api,
    folder: String,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Photos").await;
    let viewers = admin.group("Viewers").await;
    let buyers = admin.group("Buyers").await;
    admin.grant(&folder, &viewers, true, false, false).await;
    admin.grant(&folder, &buyers, true, true, false).await;
    World {
        viewer: app.member("viewer@example.com", &[&viewers]).await,
        buyer: app.member("buyer@example.com", &[&buyers]).await,
        stranger: app.member("stranger@example.com", &[]).await,
        admin,
        folder,
    }
}

async fn a_photo_gets_thumbnail_preview_and_metadata(app: TestApp) {
    let w = world(&app).await;
    let asset = w
        .admin
        .upload(&w.folder, "harbour.jpg", photo(2400, 1600))
        .await;
    let id = asset["id"].as_str().unwrap().to_string();
    let j = app.rendered(&w.admin, &id).await;
    assert_eq!(j["renditions"]["state"], "ready", "{j}");
    assert_eq!(
        (j["width"].as_i64(), j["height"].as_i64()),
        (Some(2400), Some(1600))
    );
    // Read from the file: the empty title is filled in, the rest is kept as metadata.
    assert_eq!(j["title"], "Harbour at dawn");
    assert_eq!(j["metadata"]["camera"], "Canon EOS R5");
    assert_eq!(j["metadata"]["captured_at"], "2026-05-04T06:30:00Z");
    let gps = j["metadata"]["gps"].as_array().expect("admins see GPS");
    assert!((gps[0].as_f64().unwrap() - 52.5).abs() < 1e-6);
    assert!((gps[1].as_f64().unwrap() - 13.4).abs() < 1e-6);

    let thumb = w.admin.get(&format!("/assets/{id}/renditions/thumb")).await;
    assert_eq!(thumb.status(), 200);
    assert_eq!(thumb.headers()["content-type"], "image/jpeg");
    let (tw, th) = jpeg_size(&thumb.bytes().await.unwrap());
    assert!(tw.max(th) <= 320 && tw.max(th) >= 300, "{tw}x{th}");
    assert!((tw * 2).abs_diff(th * 3) <= 3, "aspect kept: {tw}x{th}");
    let preview = w
        .admin
        .get(&format!("/assets/{id}/renditions/preview"))
        .await;
    let (pw, ph) = jpeg_size(&preview.bytes().await.unwrap());
    assert_eq!(
        (pw, ph),
        (1600, 1067),
        "a 2400 px photo gets a full-size preview"
    );

    // Partners: after approval, with view only they see previews but cannot save them.
    w.admin.approve(&id).await;
    let j = expect_json(w.viewer.get(&format!("/assets/{id}")).await, 200).await;
    assert!(
        j["metadata"].get("gps").is_none(),
        "GPS is never shown to members: {j}"
    );
    assert_eq!(j["metadata"]["camera"], "Canon EOS R5");
    let r = w
        .viewer
        .get(&format!("/assets/{id}/renditions/thumb"))
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("inline"));
    for path in [
        format!("/assets/{id}/renditions/preview?download=1"),
        format!("/assets/{id}/original"),
    ] {
        assert_eq!(w.viewer.get(&path).await.status(), 404, "{path}");
    }
    let r = w
        .buyer
        .get(&format!("/assets/{id}/renditions/preview?download=1"))
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(
        w.stranger
            .get(&format!("/assets/{id}/renditions/thumb"))
            .await
            .status(),
        404
    );
    assert_eq!(
        w.admin
            .get(&format!("/assets/{id}/renditions/poster"))
            .await
            .status(),
        404
    );
    // Pages show the thumbnail and the zoomable preview.
    let b = app.browser();
    b.login_ok("viewer@example.com").await;
    let (_, html) = b.page(&format!("/folders/{}", w.folder)).await;
    assert!(
        html.contains(&format!("/assets/{id}/renditions/thumb")),
        "{html}"
    );
    let (_, html) = b.page(&format!("/assets/{id}")).await;
    assert!(html.contains("data-zoom"));
    assert!(html.contains("Canon EOS R5"));
    assert!(!html.contains("GPS"));
    let r = b.get(&format!("/assets/{id}/renditions/preview")).await;
    assert_eq!(r.status(), 200);
}

/// A PNG whose header claims 60000 × 60000 pixels: a decompression bomb.
fn png_bomb() -> Vec<u8> {
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend(kind);
        c.extend(data);
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        c.extend(crc.finalize().to_be_bytes());
        c
    }
    let mut ihdr = Vec::new();
    ihdr.extend(60_000u32.to_be_bytes());
    ihdr.extend(60_000u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut z, &vec![0u8; 4 << 20]).unwrap();
    let idat = z.finish().unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &idat));
    png.extend(chunk(b"IEND", &[]));
    png
}

async fn hostile_and_unknown_files_get_placeholders(app: TestApp) {
    let w = world(&app).await;
    let bomb = w.admin.upload(&w.folder, "bomb.png", png_bomb()).await;
    let bomb = bomb["id"].as_str().unwrap().to_string();
    let zip = w
        .admin
        .upload(&w.folder, "archive.zip", b"PK\x03\x04 not really".to_vec())
        .await;
    let zip = zip["id"].as_str().unwrap().to_string();
    let lying = w
        .admin
        .upload(&w.folder, "cut.jpg", photo(400, 300)[..600].to_vec())
        .await;
    let lying = lying["id"].as_str().unwrap().to_string();
    // The server answers at once while the bomb is being refused.
    let started = std::time::Instant::now();
    let r = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(2));

    let j = app.rendered(&w.admin, &bomb).await;
    assert_eq!(j["renditions"]["state"], "failed", "{j}");
    // The job is marked failed right after the version; give the worker that moment.
    let bomb_job = common::eventually("the bomb's job to fail with 'too large'", || async {
        let failed = assetport::jobs::list(&app.state.db, "failed", 10)
            .await
            .unwrap();
        failed
            .into_iter()
            .find(|f| f.last_error.contains("too large"))
    })
    .await;
    assert_eq!(bomb_job.attempts, 1, "a bomb is not retried");
    let j = app.rendered(&w.admin, &lying).await;
    assert_ne!(j["renditions"]["state"], "ready");
    let j = app.rendered(&w.admin, &zip).await;
    assert_eq!(j["renditions"]["state"], "none");
    // Every one of them still has a typed placeholder, never an error.
    for id in [&bomb, &zip, &lying] {
        let r = w.admin.get(&format!("/assets/{id}/renditions/thumb")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/svg+xml");
        assert_eq!(r.headers()["x-rendition"], "placeholder");
        let svg = r.text().await.unwrap();
        assert!(svg.contains("<svg"));
    }
    // An SVG that points at local files and the network renders without reaching them.
    let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="400" height="200"><rect width="400" height="200" fill="#3565d8"/><image href="file:///etc/passwd" width="10" height="10"/><image xlink:href="http://127.0.0.1:9/x.png" width="10" height="10"/></svg>"##;
    let s = w.admin.upload(&w.folder, "logo.svg", svg.to_vec()).await;
    let s = s["id"].as_str().unwrap().to_string();
    let j = app.rendered(&w.admin, &s).await;
    assert_eq!(j["renditions"]["state"], "ready", "{j}");
    let r = w.admin.get(&format!("/assets/{s}/renditions/thumb")).await;
    assert_eq!(jpeg_size(&r.bytes().await.unwrap()), (320, 160));
}

async fn links_serve_previews_behind_their_gates(app: TestApp) {
    let w = world(&app).await;
    let id = w
        .admin
        .published(&w.folder, "harbour.jpg", photo(800, 600))
        .await;
    app.rendered(&w.admin, &id).await;
    let link = w
        .admin
        .create_link(json!({ "asset_ids": [id], "password": "open sesame" }))
        .await;
    let v = app.browser();
    let thumb = format!("{}/assets/{id}/thumb", link.path);
    assert_eq!(v.get(&thumb).await.status(), 403, "locked: no preview");
    let r = v
        .post_form(
            &format!("{}/unlock", link.path),
            &[("password", "open sesame")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = v.get(&thumb).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "private, no-store");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    let (_, html) = v.page(&link.path).await;
    assert!(html.contains(&format!("/assets/{id}/thumb")), "{html}");

    // A renditions-only link with one download: the preview is the download.
    let only = w
        .admin
        .create_link(json!({ "asset_ids": [id], "allow_original": false, "max_downloads": 1 }))
        .await;
    let c = visitor();
    let base = &only.url;
    assert_eq!(
        c.get(format!("{base}/assets/{id}/original"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let html = text_of(&c, base).await;
    assert!(html.contains("Download preview"), "{html}");

    // The admin sets a watermark: previews through renditions-only links carry it.
    let admin_page = app.browser();
    admin_page.login_ok("admin@example.com").await;
    let csrf = admin_page.csrf("/admin/links").await;
    let r = admin_page
        .post_form(
            "/admin/links/watermark",
            &[("csrf_token", csrf.as_str()), ("text", "CONFIDENTIAL")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let clean = w
        .admin
        .get(&format!("/assets/{id}/renditions/preview"))
        .await
        .bytes()
        .await
        .unwrap();
    let marked = c
        .get(format!("{base}/assets/{id}/preview"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(jpeg_size(&marked), jpeg_size(&clean));
    let difference = mean_difference(&clean, &marked);
    // Re-encoding alone moves pixels by about 1 on average; the text by much more.
    assert!(difference > 2.0, "the watermark is visible: {difference}");
    let again = c
        .get(format!("{base}/assets/{id}/preview"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(again, marked, "made once, then served from storage");
    assert!(app.stored_files().await.iter().any(|p| p.contains("-wm-")));
    // Links that allow originals show the clean preview.
    let clean_via_link = v.get(&format!("{}/assets/{id}/preview", link.path)).await;
    assert_eq!(clean_via_link.bytes().await.unwrap(), clean);
    let r = c
        .get(format!("{base}/assets/{id}/preview?download=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(app.link_events(&only.id, "link_download", 1).await, 1);
    let r = c
        .get(format!("{base}/assets/{id}/preview?download=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410, "the limit holds for previews too");
}

on_both_backends!(
    a_photo_gets_thumbnail_preview_and_metadata,
    hostile_and_unknown_files_get_placeholders,
    links_serve_previews_behind_their_gates,
);
