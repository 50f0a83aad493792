//! Two things an admin or a visitor takes away from a share (issue 21): the QR code of a share
//! link's and an upload link's address on their admin pages, read back by an independent QR
//! decoder (rqrr) from the SVG rasterised with resvg; and the licence terms, readable on the
//! share page after acceptance and written into every ZIP as LICENCE.txt (a link's terms and
//! each file's own). Both databases.
mod common;
use common::*;
use serde_json::json;

/// What a phone camera reads from the SVG at `svg`: rasterised at its own size, decoded.
fn decode_qr(svg: &[u8]) -> String {
    use resvg::{tiny_skia, usvg};
    let tree = usvg::Tree::from_data(svg, &usvg::Options::default()).expect("an SVG");
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).expect("pixmap");
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    let (w, h) = (pixmap.width() as usize, pixmap.height() as usize);
    let data = pixmap.data();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| data[4 * (y * w + x)]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the picture");
    grids[0].decode().expect("a readable QR code").1
}

async fn admin_pages_show_qr_codes_that_open_the_links(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Press").await;
    let a = admin.published(&folder, "kit.png", png(40, 30, 1)).await;
    let link = admin.create_link(json!({ "asset_ids": [a] })).await;
    let page = app.browser();
    page.login_ok("admin@example.com").await;
    let detail = page
        .get(&format!("/admin/links/{}", link.id))
        .await
        .text()
        .await
        .unwrap();
    let qr_path = format!("/admin/links/{}/qr.svg", link.id);
    assert!(
        detail.contains(&format!("src=\"{qr_path}\"")),
        "no QR code on the page"
    );
    let r = page.get(&qr_path).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert_eq!(decode_qr(&r.bytes().await.unwrap()), link.url);
    // After a rotation the code is the new address.
    let rotated = expect_json(
        admin
            .post(&format!("/links/{}/rotate", link.id), json!({}))
            .await,
        200,
    )
    .await;
    let r = page.get(&qr_path).await;
    assert_eq!(
        decode_qr(&r.bytes().await.unwrap()),
        rotated["url"].as_str().unwrap()
    );

    let up = admin
        .post_ok("/upload-links", json!({ "folder_id": folder }), 201)
        .await;
    let r = page
        .get(&format!(
            "/admin/upload-links/{}/qr.svg",
            up["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        decode_qr(&r.bytes().await.unwrap()),
        up["url"].as_str().unwrap()
    );

    // Admins only; unknown links are 404.
    let g = admin.group("Partners").await;
    let member = app.member("m@partner.test", &[&g]).await;
    let other = app.browser();
    other.login_ok("m@partner.test").await;
    assert_ne!(other.get(&qr_path).await.status(), 200);
    drop(member);
    assert_eq!(page.get("/admin/links/nope/qr.svg").await.status(), 404);
}

async fn licence_terms_stay_readable_and_travel_in_every_zip(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Press").await;
    let a = admin.published(&folder, "kit.png", png(40, 30, 1)).await;
    let b = admin
        .published(&folder, "LICENCE.txt", b"not the licence".to_vec())
        .await;
    let r = admin
        .patch(
            &format!("/assets/{a}"),
            json!({ "usage_terms": "Credit: Northwind / Ann Lee" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let terms = "Editorial use only until 31 Dec 2027.";
    let link = admin
        .create_link(json!({ "asset_ids": [a, b], "terms": terms }))
        .await;
    let visitor = app.browser();
    let page = visitor.get(&link.path).await.text().await.unwrap();
    assert!(
        !page.contains("class=\"panel licence\""),
        "the panel before acceptance"
    );
    let r = visitor
        .post_form(&format!("{}/accept", link.path), &[])
        .await;
    assert_eq!(r.status(), 303);
    let page = visitor.get(&link.path).await.text().await.unwrap();
    assert!(
        page.contains("<summary>Licence</summary>"),
        "no licence panel"
    );
    assert!(page.contains(terms));

    let zip = visitor.get(&format!("{}/zip", link.path)).await;
    assert_eq!(zip.status(), 200);
    let zip = zip.bytes().await.unwrap();
    let names: Vec<String> = zip_entries(&zip).into_iter().map(|(n, _)| n).collect();
    // An asset already called LICENCE.txt keeps its name; the terms take the next one.
    assert_eq!(names, ["kit.png", "LICENCE.txt", "LICENCE (2).txt"]);
    let text = String::from_utf8(python(
        "import sys, io, zipfile\n\
         z = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()))\n\
         sys.stdout.buffer.write(z.read('LICENCE (2).txt'))",
        &zip,
        "LICENCE (2).txt",
    ))
    .unwrap();
    assert!(text.contains(terms), "{text}");
    assert!(
        text.contains("kit.png:\r\nCredit: Northwind / Ann Lee"),
        "{text}"
    );
    // The licence is no asset: receipts stay one per file.
    app.state.events.flush().await.unwrap();
    let rs = expect_json(
        admin.get(&format!("/links/{}/receipts", link.id)).await,
        200,
    )
    .await;
    assert_eq!(rs["items"].as_array().unwrap().len(), 2, "{rs:#}");

    // A member's ZIP carries the files' own terms; a ZIP without terms has no licence.
    let r = admin.post("/zip", json!({ "asset_ids": [a] })).await;
    let names: Vec<String> = zip_entries(&r.bytes().await.unwrap())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["kit.png", "LICENCE.txt"]);
    let r = admin.post("/zip", json!({ "asset_ids": [b] })).await;
    let names: Vec<String> = zip_entries(&r.bytes().await.unwrap())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["LICENCE.txt"]);
}

on_both_backends!(
    admin_pages_show_qr_codes_that_open_the_links,
    licence_terms_stay_readable_and_travel_in_every_zip,
);
