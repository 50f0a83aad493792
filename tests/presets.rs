//! Download presets (issue 21): Large, Web and Small JPEGs of a picture, made on demand by the
//! confined renderer, kept in storage, and delivered like originals — counted against a link's
//! limit, receipted, refused where the original is. Attacked as downloads are: Range from 0 and
//! from 1 without a resume token, HEAD, a used-up link, a renditions-only link, a member
//! without `download`, parallel first requests (on PostgreSQL over two instances), unknown
//! names, files that are no pictures. Pixel sizes are read back by decoding the JPEGs. Both
//! databases.
mod common;
use common::*;
use reqwest::{header, Method};
use serde_json::json;

/// A `w`×`h` baseline JPEG with a gradient: a picture the renderer decodes like a photo.
fn jpeg(w: u16, h: u16) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(usize::from(w) * usize::from(h) * 3);
    for y in 0..h {
        for x in 0..w {
            rgb.extend_from_slice(&[(x % 256) as u8, (y % 256) as u8, ((x + y) % 200) as u8]);
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .expect("jpeg");
    out
}

/// Width and height of a JPEG, read by decoding it.
fn size_of(bytes: &[u8]) -> (u32, u32) {
    let mut d = jpeg_decoder::Decoder::new(bytes);
    d.decode().expect("a JPEG that decodes");
    let info = d.info().expect("info");
    (u32::from(info.width), u32::from(info.height))
}

async fn settle(app: &TestApp) {
    app.state.events.flush().await.unwrap();
}

async fn link_downloads(admin: &Api, link_id: &str) -> i64 {
    expect_json(admin.get(&format!("/links/{link_id}")).await, 200).await["downloads"]
        .as_i64()
        .unwrap()
}

async fn stored_presets(app: &TestApp) -> i64 {
    app.count("presets").await
}

/// A published 2400×1600 photo whose renditions are made.
async fn photo(app: &TestApp, admin: &Api, folder: &str) -> String {
    let id = admin
        .published(folder, "harbour.jpg", jpeg(2400, 1600))
        .await;
    let j = app.rendered(admin, &id).await;
    assert_eq!(j["renditions"]["state"], "ready", "{j:#}");
    id
}

async fn a_link_visitor_downloads_a_web_jpeg_counted_like_an_original(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Press").await;
    let a = photo(&app, &admin, &folder).await;
    // The asset says what it offers: 2400 px is below Large's 3000, so Large is the full size.
    let j = expect_json(admin.get(&format!("/assets/{a}")).await, 200).await;
    let names: Vec<&str> = j["presets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["large", "web", "small"], "{j:#}");

    let link = admin
        .create_link(json!({ "asset_ids": [a], "max_downloads": 2 }))
        .await;
    // The page offers the sizes, with their pixel sizes.
    let page = text_of(&visitor(), app.url(&link.path)).await;
    for (name, dims) in [
        ("large", "2400 × 1600 px"),
        ("web", "1600 × 1067 px"),
        ("small", "800 × 533 px"),
    ] {
        assert!(
            page.contains(&format!("{}/assets/{a}/{name}\"", link.path)),
            "no {name} on the page"
        );
        assert!(page.contains(dims), "no {dims} on the page");
    }
    assert_eq!(
        stored_presets(&app).await,
        0,
        "nothing is made before it is asked for"
    );

    let web = app.url(&format!("{}/assets/{a}/web", link.path));
    // HEAD neither counts nor needs the picture to be there already.
    let r = visitor().request(Method::HEAD, &web).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(link_downloads(&admin, &link.id).await, 0);

    let r = visitor().get(&web).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "image/jpeg");
    let cd = r.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cd.starts_with("attachment") && cd.contains("harbour-web.jpg"),
        "{cd}"
    );
    let body = r.bytes().await.unwrap();
    assert_eq!(size_of(&body), (1600, 1067));
    assert_eq!(link_downloads(&admin, &link.id).await, 1);
    assert_eq!(stored_presets(&app).await, 1);

    // A Range from byte 1 without the resume token of a counted download is a new download.
    let (s, tail) = get_range(&visitor(), &web, "bytes=1-").await;
    assert_eq!(s, 206);
    assert_eq!(tail, body[1..]);
    assert_eq!(link_downloads(&admin, &link.id).await, 2);
    // Used up: no preset, from byte 0 or any other, and nothing new is rendered for it.
    let small = app.url(&format!("{}/assets/{a}/small", link.path));
    assert_eq!(visitor().get(&small).send().await.unwrap().status(), 410);
    assert_eq!(get_range(&visitor(), &web, "bytes=0-").await.0, 410);
    assert_eq!(get_range(&visitor(), &web, "bytes=-100").await.0, 410);
    assert_eq!(link_downloads(&admin, &link.id).await, 2);
    assert_eq!(
        stored_presets(&app).await,
        1,
        "a used-up link had a preset made"
    );

    // The access log and the receipts name the preset.
    settle(&app).await;
    assert_eq!(app.link_events(&link.id, "link_download", 1).await, 1);
    let rs = expect_json(
        admin.get(&format!("/links/{}/receipts", link.id)).await,
        200,
    )
    .await;
    let items = rs["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{rs:#}");
    for r in items {
        assert_eq!(r["object"], "web", "{r:#}");
        assert_eq!(r["size"], body.len());
    }
}

async fn presets_are_refused_where_the_original_is(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Press").await;
    let a = photo(&app, &admin, &folder).await;
    let doc = admin
        .published(&folder, "notes.txt", b"plain words".to_vec())
        .await;
    // A renditions-only link offers previews only: a preset is the original at another size.
    let previews = admin
        .create_link(json!({ "asset_ids": [a], "allow_original": false }))
        .await;
    let page = text_of(&visitor(), app.url(&previews.path)).await;
    assert!(
        !page.contains("/web\""),
        "a renditions-only link offers a preset"
    );
    let r = visitor()
        .get(app.url(&format!("{}/assets/{a}/web", previews.path)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Terms first, as for originals.
    let terms = admin
        .create_link(json!({ "asset_ids": [a], "terms": "Editorial use only." }))
        .await;
    let r = visitor()
        .get(app.url(&format!("{}/assets/{a}/large", terms.path)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Unknown names and files that are no pictures: 404.
    let open = admin.create_link(json!({ "asset_ids": [a, doc] })).await;
    for path in [
        format!("{}/assets/{a}/huge", open.path),
        format!("{}/assets/{doc}/web", open.path),
    ] {
        let r = visitor().get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    assert_eq!(
        stored_presets(&app).await,
        0,
        "a refusal rendered something"
    );

    // Members: `view` without `download` gets 404, as for the original.
    let g = admin.group("Viewers").await;
    admin.grant(&folder, &g, true, false, false).await;
    let viewer = app.member("viewer@partner.test", &[&g]).await;
    let r = viewer.get(&format!("/assets/{a}/presets/web")).await;
    assert_eq!(r.status(), 404);
    let j = expect_json(viewer.get(&format!("/assets/{a}")).await, 200).await;
    assert!(j["presets"].is_array());
    assert_eq!(stored_presets(&app).await, 0);
}

async fn parallel_first_requests_make_one_preset(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Press").await;
    let a = photo(&app, &admin, &folder).await;
    let g = admin.group("Partners").await;
    admin.grant(&folder, &g, true, true, false).await;
    let member = app.member("buyer@partner.test", &[&g]).await;
    let other = if app.backend == Backend::Postgres {
        Some(app.another_instance(|_| {}).await)
    } else {
        None
    };
    let path = format!("/api/v1/assets/{a}/presets/small");
    let mut tasks = Vec::new();
    for i in 0..12 {
        let url = match (&other, i % 2) {
            (Some(o), 1) => o.url(&path),
            _ => app.url(&path),
        };
        let token = member.token.clone();
        tasks.push(tokio::spawn(async move {
            let r = visitor().get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap().to_vec()
        }));
    }
    let mut bodies = Vec::new();
    for t in tasks {
        bodies.push(t.await.unwrap());
    }
    assert_eq!(size_of(&bodies[0]), (800, 533));
    assert!(bodies.iter().all(|b| *b == bodies[0]), "different bytes");
    assert_eq!(stored_presets(&app).await, 1);
    // Every one was a member's download, recorded as such.
    settle(&app).await;
    if let Some(o) = &other {
        o.state.events.flush().await.unwrap();
    }
    assert_eq!(app.count("events WHERE kind = 'download'").await, 12);
    // The page route gives the same file.
    let page = app.browser();
    page.login_ok("buyer@partner.test").await;
    let r = page.get(&format!("/assets/{a}/presets/small")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), bodies[0]);
}

fn sha(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

async fn zips_hold_pictures_at_the_chosen_size_and_other_files_as_they_are(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Press").await;
    let a = photo(&app, &admin, &folder).await;
    let notes = b"plain words".to_vec();
    let doc = admin.published(&folder, "notes.txt", notes.clone()).await;
    let link = admin
        .create_link(json!({ "asset_ids": [a, doc], "title": "Harbour kit", "max_downloads": 1 }))
        .await;
    // The page offers "Download all" in each size a picture of the link has.
    let page = text_of(&visitor(), app.url(&link.path)).await;
    for name in ["large", "web", "small"] {
        assert!(
            page.contains(&format!("{}/zip?preset={name}\"", link.path)),
            "{name}"
        );
    }
    let url = app.url(&format!("{}/zip?preset=web", link.path));
    // HEAD: not counted, nothing made.
    let r = visitor().request(Method::HEAD, &url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(stored_presets(&app).await, 0);
    let r = visitor().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let cd = r.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.contains("Harbour kit-web.zip"), "{cd}");
    let zip = r.bytes().await.unwrap();
    let web = admin.get(&format!("/assets/{a}/presets/web")).await;
    assert_eq!(web.status(), 200);
    let web = web.bytes().await.unwrap();
    assert_eq!(size_of(&web), (1600, 1067));
    assert_eq!(
        zip_entries(&zip),
        [
            ("harbour-web.jpg".to_string(), sha(&web)),
            ("notes.txt".to_string(), sha(&notes)),
        ]
    );
    // One download of the link; receipts name what each file was.
    assert_eq!(link_downloads(&admin, &link.id).await, 1);
    settle(&app).await;
    let rs = expect_json(
        admin.get(&format!("/links/{}/receipts", link.id)).await,
        200,
    )
    .await;
    let mut objects: Vec<(String, bool, i64)> = rs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["object"].as_str().unwrap().to_string(),
                !r["completed_at"].is_null(),
                r["size"].as_i64().unwrap(),
            )
        })
        .collect();
    objects.sort();
    assert_eq!(
        objects,
        [
            ("original".to_string(), true, notes.len() as i64),
            ("web".to_string(), true, web.len() as i64),
        ]
    );
    // Used up, and an unknown size is no ZIP at all.
    assert_eq!(visitor().get(&url).send().await.unwrap().status(), 410);
    let bad = app.url(&format!("{}/zip?preset=huge", link.path));
    assert_eq!(visitor().get(&bad).send().await.unwrap().status(), 404);

    // A member's ZIP of a selection, in Small.
    let r = admin
        .post("/zip", json!({ "asset_ids": [a, doc], "preset": "small" }))
        .await;
    assert_eq!(r.status(), 200);
    let zip = r.bytes().await.unwrap();
    let names: Vec<String> = zip_entries(&zip).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["harbour-small.jpg", "notes.txt"]);
    let r = admin
        .post("/zip", json!({ "asset_ids": [a], "preset": "tiny" }))
        .await;
    assert_eq!(r.status(), 404);
}

async fn a_link_offers_only_the_sizes_its_admin_chose(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Press").await;
    let a = photo(&app, &admin, &folder).await;
    let base = app.base.clone();
    let page = |path: String| {
        let url = format!("{base}{path}");
        async move { text_of(&visitor(), url).await }
    };
    let status = |path: String| {
        let url = format!("{base}{path}");
        async move { visitor().get(url).send().await.unwrap().status().as_u16() }
    };
    // Two links to the same folder, one with every size, one with Small only: each page
    // offers its own (the gallery cache keeps them apart).
    let all = admin.create_link(json!({ "folder_id": folder })).await;
    let small = admin
        .create_link(json!({ "folder_id": folder, "presets": ["small"] }))
        .await;
    let presets_of = |id: &str| {
        let path = format!("/links/{id}");
        let admin = &admin;
        async move { expect_json(admin.get(&path).await, 200).await["presets"].clone() }
    };
    assert_eq!(presets_of(&small.id).await, json!(["small"]));
    assert_eq!(
        presets_of(&all.id).await,
        json!(["large", "web", "small", "png", "webp"])
    );
    let p_all = page(all.path.clone()).await;
    let p_small = page(small.path.clone()).await;
    assert!(p_all.contains(&format!("{}/assets/{a}/web\"", all.path)));
    assert!(p_small.contains(&format!("{}/assets/{a}/small\"", small.path)));
    assert!(!p_small.contains(&format!("{}/assets/{a}/web\"", small.path)));
    assert!(!p_small.contains("zip?preset=web"));
    assert_eq!(status(format!("{}/assets/{a}/web", small.path)).await, 404);
    assert_eq!(
        status(format!("{}/zip?preset=large", small.path)).await,
        404
    );
    assert_eq!(
        status(format!("{}/assets/{a}/small", small.path)).await,
        200
    );
    // Changed later: Web only.
    let r = admin
        .patch(
            &format!("/links/{}", small.id),
            json!({ "presets": ["web"] }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        status(format!("{}/assets/{a}/small", small.path)).await,
        404
    );
    assert_eq!(status(format!("{}/assets/{a}/web", small.path)).await, 200);
    // None: originals only, no menu at all.
    let none = admin
        .create_link(json!({ "asset_ids": [a], "presets": [] }))
        .await;
    assert!(!page(none.path.clone()).await.contains("class=\"sizes\""));
    // A size that does not exist is refused, naming it.
    let r = admin
        .post("/links", json!({ "asset_ids": [a], "presets": ["huge"] }))
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("huge"));
}

/// A 2400×600 PNG whose left half is fully transparent and right half opaque red.
fn half_transparent_png() -> Vec<u8> {
    use image::ImageEncoder;
    let (w, h) = (2400u32, 600u32);
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for _y in 0..h {
        for x in 0..w {
            rgba.extend_from_slice(if x < w / 2 {
                &[0, 0, 0, 0]
            } else {
                &[255, 0, 0, 255]
            });
        }
    }
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&rgba, w, h, image::ExtendedColorType::Rgba8)
        .unwrap();
    out
}

/// A 200×50 vector logo: transparent left half, a dark blue block on the right.
const LOGO_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50" viewBox="0 0 200 50"><rect x="100" y="0" width="100" height="50" fill="#123456"/></svg>"##;

fn preset_names(j: &serde_json::Value) -> Vec<String> {
    j["presets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

/// Downloads `path` (API), checks its type and name, and decodes it.
async fn decoded(api: &Api, path: &str, media_type: &str, name: &str) -> image::RgbaImage {
    let r = api.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    assert_eq!(r.headers()[header::CONTENT_TYPE], media_type, "{path}");
    let cd = r.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.contains(name), "{cd}");
    let bytes = r.bytes().await.unwrap();
    image::load_from_memory(&bytes)
        .expect("a picture that decodes")
        .to_rgba8()
}

async fn transparent_pictures_also_offer_png_and_webp_that_keep_it(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Logos").await;
    let mark = admin
        .published(&folder, "mark.png", half_transparent_png())
        .await;
    let logo = admin
        .published(&folder, "logo.svg", LOGO_SVG.as_bytes().to_vec())
        .await;
    let photo = photo(&app, &admin, &folder).await;
    for id in [&mark, &logo] {
        assert_eq!(
            app.rendered(&admin, id).await["renditions"]["state"],
            "ready"
        );
    }

    // Only the pictures with transparency offer PNG and WebP.
    let j = expect_json(admin.get(&format!("/assets/{mark}")).await, 200).await;
    assert_eq!(
        preset_names(&j),
        ["large", "web", "small", "png", "webp"],
        "{j:#}"
    );
    let j = expect_json(admin.get(&format!("/assets/{photo}")).await, 200).await;
    assert_eq!(preset_names(&j), ["large", "web", "small"], "{j:#}");
    assert_eq!(
        admin
            .get(&format!("/assets/{photo}/presets/png"))
            .await
            .status(),
        404
    );

    // PNG at its own size (below 3000 px), WebP fitted into 1600 px; both keep the alpha.
    let png = decoded(
        &admin,
        &format!("/assets/{mark}/presets/png"),
        "image/png",
        "mark-png.png",
    )
    .await;
    assert_eq!(png.dimensions(), (2400, 600));
    assert_eq!(
        png.get_pixel(10, 10)[3],
        0,
        "the transparent half was filled"
    );
    assert_eq!(png.get_pixel(2000, 300).0, [255, 0, 0, 255]);
    let webp = decoded(
        &admin,
        &format!("/assets/{mark}/presets/webp"),
        "image/webp",
        "mark-webp.webp",
    )
    .await;
    assert_eq!(webp.dimensions(), (1600, 400));
    assert_eq!(webp.get_pixel(5, 5)[3], 0);
    assert_eq!(webp.get_pixel(1500, 200).0, [255, 0, 0, 255]);
    // The JPEGs still flatten it onto white.
    let r = admin.get(&format!("/assets/{mark}/presets/small")).await;
    let body = r.bytes().await.unwrap();
    assert_eq!(size_of(&body), (800, 200));
    let pixels = jpeg_decoder::Decoder::new(&body[..]).decode().unwrap();
    let at = (5 * 800 + 5) * 3;
    assert!(
        pixels[at..at + 3].iter().all(|&c| c >= 250),
        "{:?}",
        &pixels[at..at + 3]
    );

    // A vector has no pixels of its own: it is drawn to fill the box, transparent where it
    // draws nothing, and the menu names that size.
    let j = expect_json(admin.get(&format!("/assets/{logo}")).await, 200).await;
    assert_eq!(
        preset_names(&j),
        ["large", "web", "small", "png", "webp"],
        "{j:#}"
    );
    let png = decoded(
        &admin,
        &format!("/assets/{logo}/presets/png"),
        "image/png",
        "logo-png.png",
    )
    .await;
    assert_eq!(png.dimensions(), (3000, 750));
    assert_eq!(png.get_pixel(10, 10)[3], 0);
    assert_eq!(png.get_pixel(2500, 375).0, [0x12, 0x34, 0x56, 255]);

    // A link offering PNG only: the transparent picture has it, counted like any download;
    // the photo has nothing to offer.
    let link = admin
        .create_link(json!({ "folder_id": folder, "presets": ["png"], "max_downloads": 5 }))
        .await;
    let page = text_of(&visitor(), app.url(&link.path)).await;
    assert!(
        page.contains(&format!("{}/assets/{mark}/png\"", link.path)),
        "no PNG offered"
    );
    assert!(page.contains("2400 × 600 px"));
    assert!(!page.contains(&format!("{}/assets/{photo}/png\"", link.path)));
    assert!(!page.contains(&format!("{}/assets/{mark}/webp\"", link.path)));
    let r = visitor()
        .get(app.url(&format!("{}/assets/{mark}/png", link.path)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "image/png");
    let got = image::load_from_memory(&r.bytes().await.unwrap())
        .unwrap()
        .to_rgba8();
    assert_eq!(got.get_pixel(10, 10)[3], 0);
    assert_eq!(link_downloads(&admin, &link.id).await, 1);
    for (asset, name) in [(&photo, "png"), (&mark, "webp")] {
        let r = visitor()
            .get(app.url(&format!("{}/assets/{asset}/{name}", link.path)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{name} of {asset}");
    }
    assert_eq!(link_downloads(&admin, &link.id).await, 1);

    // The limit holds for the transparent sizes as for any download: 100 parallel requests
    // (from byte 0, from byte 1, a suffix, HEAD) leave exactly the 4 downloads left.
    let url = app.url(&format!("{}/assets/{mark}/png", link.path));
    let mut tasks = Vec::new();
    for i in 0..100 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            match i % 4 {
                0 => get_range(&visitor(), &url, "bytes=0-").await.0,
                1 => get_range(&visitor(), &url, "bytes=1-").await.0,
                2 => get_range(&visitor(), &url, "bytes=-100").await.0,
                _ => visitor()
                    .request(Method::HEAD, &url)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            }
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let served = statuses.iter().filter(|s| **s == 206).count();
    assert_eq!(served, 4, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [200, 206, 410].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(link_downloads(&admin, &link.id).await, 5);
}

on_both_backends!(
    transparent_pictures_also_offer_png_and_webp_that_keep_it,
    a_link_offers_only_the_sizes_its_admin_chose,
    zips_hold_pictures_at_the_chosen_size_and_other_files_as_they_are,
    a_link_visitor_downloads_a_web_jpeg_counted_like_an_original,
    presets_are_refused_where_the_original_is,
    parallel_first_requests_make_one_preset,
);
