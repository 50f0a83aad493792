//! Two instances, one PostgreSQL database and one S3 bucket (moto), as behind a load balancer
//! (issue 6): nothing that decides anything lives in one process's memory.
mod common;

use common::{expect_json, sha256_hex, text_of, PASSWORD};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_everything_through_the_database() {
    let Some(a) = common::spawn(common::Backend::Postgres).await else {
        return;
    };
    assert!(
        a.state.config.storage.starts_with("s3://"),
        "shared S3 storage"
    );
    let b = a.another_instance(|_| {}).await;
    let b_base = b.base.clone();
    let on_b = |path: &str| format!("{b_base}{path}");

    let admin = a.admin().await;
    let folder = admin.folder(None, "Shared").await;

    // A session made on A works on B (cookies are per host, not per port).
    let browser = a.browser();
    browser.login_ok("admin@example.com").await;
    let r = browser
        .client
        .get(on_b("/admin/jobs"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the session from A is valid on B");

    // An upload finished on A downloads byte-identical from B.
    let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let id = admin
        .published(&folder, "brochure.pdf", bytes.clone())
        .await;
    let r = admin
        .client
        .get(on_b(&format!("/api/v1/assets/{id}/original")))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(sha256_hex(&r.bytes().await.unwrap()), sha256_hex(&bytes));

    // A link unlocked on A stays unlocked on B (one secret, from the database), and a
    // revocation on A is refused by B on the very next request.
    let link = admin
        .create_link(json!({ "asset_ids": [id], "password": "open sesame", "max_downloads": 5 }))
        .await;
    let visitor = a.browser();
    let r = visitor
        .post_form(
            &format!("{}/unlock", link.path),
            &[("password", "open sesame")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let dl = format!("{}/assets/{id}/original", link.path);
    // The download limit of 5 is exact across both instances under concurrent load.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let url = if i % 2 == 0 { a.url(&dl) } else { on_b(&dl) };
        let client = visitor.client.clone();
        tasks.push(tokio::spawn(async move {
            let r = client.get(url).send().await.unwrap();
            let status = r.status().as_u16();
            let _ = r.bytes().await;
            status
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            200 => ok += 1,
            410 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(
        ok, 5,
        "exactly max_downloads downloads, split over two instances"
    );
    let link2 = admin
        .create_link(json!({ "asset_ids": [id], "password": "open sesame" }))
        .await;
    let r = visitor
        .post_form(
            &format!("{}/unlock", link2.path),
            &[("password", "open sesame")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let dl2 = format!("{}/assets/{id}/original", link2.path);
    let r = visitor.client.get(on_b(&dl2)).send().await.unwrap();
    assert_eq!(r.status(), 200, "unlocked on A, valid on B");
    assert_eq!(
        admin.delete(&format!("/links/{}", link2.id)).await.status(),
        204
    );
    let r = visitor.client.get(on_b(&dl2)).send().await.unwrap();
    assert_eq!(r.status(), 410, "revoked on A, refused by B at once");

    // Login throttling adds up across instances: 5 failures per account, wherever they land.
    a.user(
        "target@example.com",
        assetport::accounts::users::Role::Member,
    )
    .await;
    // One cookie jar for both (cookies are per host, not per port), as behind a balancer.
    let attacker_a = a.browser();
    let attacker_b = common::Browser {
        base: b_base.clone(),
        client: attacker_a.client.clone(),
    };
    for i in 0..5 {
        let attacker = if i % 2 == 0 { &attacker_a } else { &attacker_b };
        let r = attacker
            .login("target@example.com", "wrong password!")
            .await;
        assert_ne!(r.status(), 429, "attempt {i} is not throttled yet");
    }
    let r = attacker_b.login("target@example.com", PASSWORD).await;
    assert_eq!(r.status(), 429, "the sixth attempt is throttled on B");
    assert!(r.headers().contains_key("retry-after"));

    // Both instances run job workers; every rendition job runs exactly once.
    let mut ids = Vec::new();
    for i in 0..8 {
        let mut png = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_fn(300 + i, 200, |x, y| image::Rgb([x as u8, y as u8, i as u8]))
            .write_to(&mut png, image::ImageFormat::Png)
            .unwrap();
        ids.push(
            admin
                .published(&folder, &format!("p{i}.png"), png.into_inner())
                .await,
        );
    }
    let done = common::eventually("all rendition jobs to finish", || async {
        let rows = assetport::jobs::list(&a.state.db, "done", 100)
            .await
            .unwrap();
        (rows.iter().filter(|j| j.kind == "renditions").count() >= 9).then_some(true)
    })
    .await;
    assert!(done, "all rendition jobs finished");
    let rows = assetport::jobs::list(&a.state.db, "done", 100)
        .await
        .unwrap();
    for j in rows.iter().filter(|j| j.kind == "renditions") {
        assert_eq!(j.attempts, 1, "job {} ran once", j.id);
    }
    for id in &ids {
        let j = expect_json(admin.get(&format!("/assets/{id}")).await, 200).await;
        assert_eq!(j["renditions"]["state"], "ready");
    }

    // B's cached link gallery never outlives a change made on A: the asset archived on A is
    // gone from B's page on the very next view.
    let gallery = admin.create_link(json!({ "folder_id": folder })).await;
    let page = |url: String| {
        let client = visitor.client.clone();
        async move { text_of(&client, url).await }
    };
    let before = page(on_b(&gallery.path)).await;
    assert!(before.contains("p3.png"), "the gallery lists p3 on B");
    assert!(
        page(on_b(&gallery.path)).await.contains("p3.png"),
        "cached on B"
    );
    let r = admin
        .post(&format!("/assets/{}/archive", ids[3]), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let after = page(on_b(&gallery.path)).await;
    assert!(
        !after.contains("p3.png"),
        "withdrawn on A, gone from B's cached gallery"
    );
    assert!(after.contains("p4.png"));
}
