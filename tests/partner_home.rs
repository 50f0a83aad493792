//! The partners' home (issue 21): areas as cards with a cover and how many assets they hold,
//! a "New this week" strip of what was published where the partner may look, and a folder
//! holding only subfolders that says what they hold and offers the whole tree as one ZIP;
//! admins get Share and Request files on every folder, empty ones too. Both databases.
mod common;
use common::*;

async fn home_shows_areas_with_covers_and_what_is_new(app: TestApp) {
    let admin = app.admin().await;
    let campaigns = admin.folder(None, "Campaigns").await;
    let y2026 = admin.folder(Some(&campaigns), "2026").await;
    let secret = admin.folder(None, "Secret").await;
    let a = admin.published(&y2026, "hero.png", png(60, 40, 1)).await;
    let b = admin.published(&y2026, "banner.png", png(60, 40, 2)).await;
    let hidden = admin.published(&secret, "plans.png", png(60, 40, 3)).await;
    let draft = admin.upload_id(&y2026, "draft.png", png(60, 40, 4)).await;
    for id in [&a, &b, &hidden] {
        app.rendered(&admin, id).await;
    }
    let g = admin.group("Partners").await;
    admin.grant(&campaigns, &g, true, true, false).await;
    app.member("p@partner.test", &[&g]).await;
    let partner = app.browser();
    partner.login_ok("p@partner.test").await;

    let (status, home) = partner.page("/").await;
    assert_eq!(status, 200);
    assert!(home.contains("class=\"folder-card area-card\""), "{home}");
    assert!(home.contains("2 assets"), "{home}");
    assert!(!home.contains("Secret"));
    let cover = home
        .split("class=\"area-cover\" src=\"/assets/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .expect("a cover");
    assert!(cover == a || cover == b, "{cover}");
    // New this week: both published pictures, nothing hidden, no draft.
    let strip = home.split("New this week").nth(1).expect("the strip");
    assert!(strip.contains(&format!("/assets/{a}")) && strip.contains(&format!("/assets/{b}")));
    assert!(!strip.contains(&hidden) && !strip.contains(&draft));

    // The area itself holds only a subfolder: it says what is below and zips the tree.
    let (_, page) = partner.page(&format!("/folders/{campaigns}")).await;
    assert!(page.contains("2 assets in the folders above"), "{page}");
    assert!(page.contains("Download all (ZIP)"));
    assert!(!page.contains("No assets here yet"));
    assert!(!page.contains("Share this folder"));
    let csrf = partner.csrf(&format!("/folders/{campaigns}")).await;
    let r = partner
        .post_form(
            "/zip",
            &[
                ("csrf_token", csrf.as_str()),
                ("folder_id", campaigns.as_str()),
                ("whole_folder", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let names: Vec<String> = zip_entries(&r.bytes().await.unwrap())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // A collection an admin features shows on the home of those who can see something in it.
    let c = admin
        .post_ok(
            "/collections",
            serde_json::json!({ "name": "Spring picks" }),
            201,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let hidden_only = admin
        .post_ok(
            "/collections",
            serde_json::json!({ "name": "Board only" }),
            201,
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (coll, asset) in [(&c, &a), (&hidden_only, &hidden)] {
        let r = admin
            .put(
                &format!("/collections/{coll}/assets/{asset}"),
                serde_json::json!({}),
            )
            .await;
        assert!(r.status().is_success(), "{}", r.status());
    }
    let admin_page = app.browser();
    admin_page.login_ok("admin@example.com").await;
    for coll in [&c, &hidden_only] {
        let csrf = admin_page.csrf(&format!("/collections/{coll}")).await;
        let r = admin_page
            .post_form(
                &format!("/collections/{coll}/feature"),
                &[("csrf_token", csrf.as_str()), ("featured", "1")],
            )
            .await;
        assert_eq!(r.status(), 303);
    }
    let (_, home) = partner.page("/").await;
    assert!(home.contains("Featured collections"), "{home}");
    assert!(home.contains("Spring picks") && home.contains("1 asset"));
    assert!(
        !home.contains("Board only"),
        "a collection with nothing the partner may see"
    );

    // Admins: Share and Request files on an empty folder too.
    let empty = admin.folder(None, "Empty").await;
    let page_admin = app.browser();
    page_admin.login_ok("admin@example.com").await;
    let (_, page) = page_admin.page(&format!("/folders/{empty}")).await;
    assert!(page.contains("Share this folder"), "{page}");
    assert!(page.contains("Request files"));

    // A week later nothing is new (signed in again: sessions end after 12 idle hours).
    app.advance(std::time::Duration::from_secs(8 * 24 * 3600));
    let partner = app.browser();
    partner.login_ok("p@partner.test").await;
    let (_, home) = partner.page("/").await;
    assert!(home.contains("area-card"), "{home}");
    assert!(!home.contains("New this week"), "{home}");
}

on_both_backends!(home_shows_areas_with_covers_and_what_is_new);
