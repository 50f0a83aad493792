//! Receipts (issue 18): a counted download is completed only when every byte of the object
//! reached the client, across Range requests and resumes; cut downloads stay "started"; a ZIP
//! completes the files it sent whole. Attacked the way downloads are made: Range halves from
//! one and from two visitors, multi-range, HEAD, a cut and its resume, a ZIP cut in its third
//! file, members through the API, the page and a ZIP; read back through the admin API.
mod common;
use common::*;
use reqwest::{header, Method};
use serde_json::{json, Value};

/// The receipts the admin API lists at `path`, once everything handed over is committed.
async fn receipts(app: &TestApp, admin: &Api, path: &str) -> Vec<Value> {
    settle(app).await;
    let j = expect_json(admin.get(path).await, 200).await;
    j["items"].as_array().unwrap().clone()
}

async fn settle(app: &TestApp) {
    app.state.events.flush().await.unwrap();
}

async fn link_downloads(admin: &Api, link_id: &str) -> i64 {
    expect_json(admin.get(&format!("/links/{link_id}")).await, 200).await["downloads"]
        .as_i64()
        .unwrap()
}

fn completed(r: &Value) -> bool {
    !r["completed_at"].is_null()
}

async fn two_ranges_complete_one_receipt_per_visitor(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Kit").await;
    let size = 300_000;
    let file = bytes(size, 1);
    let a = admin.published(&folder, "logo.bin", file.clone()).await;
    let link = admin.create_link(json!({ "asset_ids": [a] })).await;
    let path = format!("{}/assets/{a}/original", link.path);
    for _ in 0..2 {
        let visitor = app.browser();
        let url = visitor.url(&path);
        let (s, first) = get_range(&visitor.client, &url, "bytes=0-149999").await;
        assert_eq!(s, 206);
        let (s, rest) = get_range(&visitor.client, &url, "bytes=150000-").await;
        assert_eq!(s, 206);
        assert_eq!([first, rest].concat(), file);
    }
    settle(&app).await;
    let items = receipts(&app, &admin, &format!("/links/{}/receipts", link.id)).await;
    assert_eq!(items.len(), 2, "{items:#?}");
    for r in &items {
        assert!(completed(r), "{r:#}");
        assert_eq!(r["bytes_sent"], size);
        assert_eq!(r["size"], size);
        assert_eq!(r["version"], 1);
        assert_eq!(r["channel"], "link");
        assert_eq!(r["who"]["kind"], "anonymous");
        assert_eq!(r["who"]["id"], link.id.as_str());
    }
    // Each visitor's download counted once: the second half was a resume.
    assert_eq!(link_downloads(&admin, &link.id).await, 2);
    // The asset's receipts are the same two.
    let by_asset = receipts(&app, &admin, &format!("/assets/{a}/receipts")).await;
    assert_eq!(by_asset.len(), 2);

    // One half alone, or the same half twice, is not the file.
    let visitor = app.browser();
    let url = visitor.url(&path);
    get_range(&visitor.client, &url, "bytes=0-149999").await;
    get_range(&visitor.client, &url, "bytes=100-149999").await;
    settle(&app).await;
    let items = receipts(&app, &admin, &format!("/links/{}/receipts", link.id)).await;
    assert_eq!(items.len(), 3);
    let newest = &items[0];
    assert!(!completed(newest), "{newest:#}");
    assert_eq!(newest["bytes_sent"], 150_000);

    // A multi-range request carries exactly its ranges; the resume with the rest completes it.
    let visitor = app.browser();
    let url = visitor.url(&path);
    let (s, _) = get_range(&visitor.client, &url, "bytes=0-99,200-299").await;
    assert_eq!(s, 206);
    settle(&app).await;
    let items = receipts(&app, &admin, &format!("/links/{}/receipts", link.id)).await;
    assert_eq!(items[0]["bytes_sent"], 200, "{:#}", items[0]);
    let (s, _) = get_range(&visitor.client, &url, "bytes=100-199,300-").await;
    assert_eq!(s, 206);
    settle(&app).await;
    let items = receipts(&app, &admin, &format!("/links/{}/receipts", link.id)).await;
    assert_eq!(items.len(), 4);
    assert!(completed(&items[0]), "{:#}", items[0]);
    assert_eq!(items[0]["bytes_sent"], size);
}

async fn a_cut_download_stays_started_until_its_resume(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Kit").await;
    // Bigger than what loopback buffers hold, so the server sees the client go away.
    let size = 24 * 1024 * 1024;
    let file = bytes(size, 3);
    let a = admin.published(&folder, "film.mov", file.clone()).await;
    let link = admin
        .create_link(json!({ "asset_ids": [a], "max_downloads": 1 }))
        .await;
    let path = format!("{}/assets/{a}/original", link.path);
    let holder = app.browser();
    // HEAD opens nothing.
    let head = holder
        .client
        .request(Method::HEAD, holder.url(&path))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    settle(&app).await;
    assert!(
        receipts(&app, &admin, &format!("/links/{}/receipts", link.id))
            .await
            .is_empty()
    );

    let mut r = holder.get(&path).await;
    assert_eq!(r.status(), 200);
    let first = r.chunk().await.unwrap().unwrap();
    drop(r);
    assert_eq!(
        app.link_events(&link.id, "link_download_started", 1).await,
        1
    );
    let items = receipts(&app, &admin, &format!("/links/{}/receipts", link.id)).await;
    assert_eq!(items.len(), 1);
    assert!(!completed(&items[0]), "{:#}", items[0]);
    let sent = items[0]["bytes_sent"].as_i64().unwrap();
    assert!(
        sent >= first.len() as i64 && sent < size as i64,
        "{sent} of {size}"
    );

    // The resume from where the visitor's copy ends completes the same receipt, uncounted.
    let (s, rest) = get_range(
        &holder.client,
        &holder.url(&path),
        &format!("bytes={}-", first.len()),
    )
    .await;
    assert_eq!(s, 206);
    assert_eq!([first.as_ref(), rest.as_slice()].concat(), file);
    settle(&app).await;
    let items = receipts(&app, &admin, &format!("/links/{}/receipts", link.id)).await;
    assert_eq!(items.len(), 1, "{items:#?}");
    assert!(completed(&items[0]), "{:#}", items[0]);
    assert_eq!(items[0]["bytes_sent"], size);
    assert_eq!(link_downloads(&admin, &link.id).await, 1);
}

async fn a_zip_cut_in_its_third_file_completes_the_first_two(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Kit").await;
    let small = 1024 * 1024;
    let a = admin.published(&folder, "a.bin", bytes(small, 4)).await;
    let b = admin.published(&folder, "b.bin", bytes(small, 5)).await;
    // Far bigger than loopback buffers: the server cannot have handed it all over.
    let c = admin
        .published(&folder, "c.bin", bytes(32 * 1024 * 1024, 6))
        .await;
    let link = admin
        .create_link(json!({ "asset_ids": [a, b, c], "recipients": ["buyer@supermart.test"], "per_recipient": true }))
        .await;
    let mut r = visitor()
        .get(app.url(&format!("{}/zip", link.path)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Past the first two files (headers are small), well inside the third.
    let want = 2 * small + 256 * 1024;
    let mut got = 0;
    while got < want {
        got += r.chunk().await.unwrap().unwrap().len();
    }
    drop(r);
    assert_eq!(
        app.link_events(&link.id, "link_download_started", 1).await,
        1
    );
    let items = receipts(&app, &admin, &format!("/links/{}/receipts", link.id)).await;
    assert_eq!(items.len(), 3, "{items:#?}");
    let state_of = |asset: &str| {
        let r = items.iter().find(|r| r["asset_id"] == asset).unwrap();
        assert_eq!(r["channel"], "link_zip");
        assert_eq!(r["who"]["kind"], "recipient");
        assert_eq!(r["who"]["email"], "buyer@supermart.test");
        completed(r)
    };
    assert!(state_of(&a));
    assert!(state_of(&b));
    assert!(!state_of(&c));
}

async fn members_get_receipts_on_every_channel_and_no_access_to_them(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Kit").await;
    let group = admin.group("Partners").await;
    admin.grant(&folder, &group, true, true, false).await;
    let a = admin.published(&folder, "a.bin", bytes(5000, 7)).await;
    let b = admin.published(&folder, "b.bin", bytes(7000, 8)).await;
    let member = app.member("partner@agency.test", &[&group]).await;
    let r = member.get(&format!("/assets/{a}/original")).await;
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();
    let zip = member.post("/zip", json!({ "asset_ids": [a, b] })).await;
    assert_eq!(zip.status(), 200);
    assert_eq!(zip_entries(&zip.bytes().await.unwrap()).len(), 2);
    let browser = app.browser();
    browser.login_ok("partner@agency.test").await;
    let page = browser.get(&format!("/assets/{a}/download")).await;
    assert_eq!(page.status(), 200);
    page.bytes().await.unwrap();
    settle(&app).await;

    let items = receipts(&app, &admin, &format!("/assets/{a}/receipts")).await;
    let mut channels: Vec<&str> = items
        .iter()
        .map(|r| r["channel"].as_str().unwrap())
        .collect();
    channels.sort();
    assert_eq!(channels, ["member_api", "member_page", "member_zip"]);
    for r in &items {
        assert!(completed(r), "{r:#}");
        assert_eq!(r["who"]["kind"], "user");
        assert_eq!(r["who"]["email"], "partner@agency.test");
        assert_eq!(r["bytes_sent"], 5000);
    }
    assert_eq!(
        receipts(&app, &admin, &format!("/assets/{b}/receipts"))
            .await
            .len(),
        1
    );
    // Admins only: members get 404, as for every admin route; unknown ids are 404.
    assert_eq!(
        member.get(&format!("/assets/{a}/receipts")).await.status(),
        404
    );
    assert_eq!(admin.get("/assets/nope/receipts").await.status(), 404);
    assert_eq!(admin.get("/links/nope/receipts").await.status(), 404);
    // Pages of receipts: the cursor leads to the rest.
    let first = expect_json(
        admin.get(&format!("/assets/{a}/receipts?limit=2")).await,
        200,
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let next = first["next"].as_str().unwrap();
    let rest = expect_json(
        admin
            .get(&format!("/assets/{a}/receipts?limit=2&cursor={next}"))
            .await,
        200,
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next"].is_null());
}

/// What admins see: the link's delivery table, the asset's holders, the reports' CSVs.
async fn admins_see_who_has_each_file(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Kit").await;
    let group = admin.group("Retail").await;
    admin.grant(&folder, &group, true, true, false).await;
    let a = admin
        .published(&folder, "poster.pdf", bytes(40_000, 9))
        .await;
    let member = app.member("buyer@retail.test", &[&group]).await;
    let r = member.get(&format!("/assets/{a}/original")).await;
    r.bytes().await.unwrap();
    let share = admin
        .create_link(
            json!({ "asset_ids": [a], "recipients": ["print@shop.test"], "per_recipient": true }),
        )
        .await;
    let url = format!("{}/assets/{a}/original", share.url);
    visitor()
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let anon = admin.create_link(json!({ "asset_ids": [a] })).await;
    let anon_url = format!("{}/assets/{a}/original", anon.url);
    visitor()
        .get(&anon_url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    // Started, never completed.
    let partial = visitor()
        .get(&anon_url)
        .header(header::RANGE, "bytes=0-99")
        .send()
        .await
        .unwrap();
    partial.bytes().await.unwrap();
    settle(&app).await;

    let browser = app.browser();
    browser.login_ok("admin@example.com").await;
    let (status, page) = browser.page(&format!("/assets/{a}")).await;
    assert_eq!(status, 200);
    let holders = &page[page.find("Who has this file").expect("holders section")..];
    assert!(holders.contains("buyer@retail.test"), "{holders}");
    assert!(holders.contains("print@shop.test"), "{holders}");
    assert!(
        holders.contains("1 anonymous download completed"),
        "{holders}"
    );
    assert!(holders.contains("1 started and not completed"), "{holders}");
    // Members do not see it.
    let partner = app.browser();
    partner.login_ok("buyer@retail.test").await;
    let (_, theirs) = partner.page(&format!("/assets/{a}")).await;
    assert!(!theirs.contains("Who has this file"));

    let (status, log) = browser.page(&format!("/admin/links/{}", share.id)).await;
    assert_eq!(status, 200);
    let delivery = &log[log.find("<h3>Delivery</h3>").expect("delivery table")..];
    assert!(delivery.contains("print@shop.test"), "{delivery}");
    assert!(delivery.contains("poster.pdf"), "{delivery}");
    assert!(
        delivery.contains("1 download(s), 1 completed"),
        "{delivery}"
    );
    let (_, anon_log) = browser.page(&format!("/admin/links/{}", anon.id)).await;
    assert!(anon_log.contains("anonymous visitors"));
    assert!(
        anon_log.contains("2 download(s), 1 completed"),
        "{anon_log}"
    );

    let csv = browser.get("/admin/reports/delivery-people.csv").await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    assert!(text.contains("buyer@retail.test,1,1,"), "{text}");
    assert!(text.contains("print@shop.test,1,1,"), "{text}");
    let csv = browser.get("/admin/reports/delivery-assets.csv").await;
    let text = csv.text().await.unwrap();
    assert!(
        text.contains("poster.pdf,/Kit,4,3,"),
        "started 4, completed 3: {text}"
    );
    let (status, reports) = browser.page("/admin/reports").await;
    assert_eq!(status, 200);
    assert!(reports.contains("Delivery: downloads started and completed"));
}

/// 100 visitors at once against a limit of 5: exactly 5 downloads, 5 receipts, all complete.
async fn parallel_downloads_open_exactly_the_counted_receipts(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Kit").await;
    let a = admin.published(&folder, "a.bin", bytes(50_000, 2)).await;
    let link = admin
        .create_link(json!({ "asset_ids": [a], "max_downloads": 5 }))
        .await;
    let url = app.url(&format!("{}/assets/{a}/original", link.path));
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let r = visitor().get(&url).send().await.unwrap();
            let status = r.status().as_u16();
            let body = r.bytes().await.unwrap();
            (status, body.len())
        }));
    }
    let mut served = 0;
    for t in tasks {
        match t.await.unwrap() {
            (200, 50_000) => served += 1,
            (410, _) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(served, 5);
    let items = receipts(&app, &admin, &format!("/links/{}/receipts", link.id)).await;
    assert_eq!(items.len(), 5, "{items:#?}");
    assert!(items.iter().all(completed));
}

on_both_backends!(
    parallel_downloads_open_exactly_the_counted_receipts,
    admins_see_who_has_each_file,
    two_ranges_complete_one_receipt_per_visitor,
    a_cut_download_stays_started_until_its_resume,
    a_zip_cut_in_its_third_file_completes_the_first_two,
    members_get_receipts_on_every_channel_and_no_access_to_them,
);
