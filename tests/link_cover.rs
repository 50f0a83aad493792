//! The share page's cover (issue 21): the first picture large, or the one its admin picks —
//! on create (shared assets), by PATCH or on the link's page (any link). Only what the link
//! lists can be its cover: a pick outside it is refused, and a pick the link no longer lists
//! falls back to the first picture. Both databases.
mod common;
use common::*;
use serde_json::json;

/// The asset the link's page shows large, if any.
async fn cover_of(app: &TestApp, path: &str) -> Option<String> {
    let html = text_of(&visitor(), app.url(path)).await;
    let start = html.find("class=\"share-cover\" src=\"")?;
    let src = html[start..].split('"').nth(3)?;
    let rest = src.strip_prefix(&format!("{path}/assets/"))?;
    Some(rest.trim_end_matches("/preview").to_string())
}

async fn pictures(app: &TestApp, admin: &Api, folder: &str, n: u8) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let id = admin
            .published(folder, &format!("shot-{i}.png"), png(40, 30, i))
            .await;
        assert_eq!(
            app.rendered(admin, &id).await["renditions"]["state"],
            "ready"
        );
        ids.push(id);
    }
    ids
}

async fn an_admin_picks_the_cover_and_only_from_what_the_link_lists(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Press").await;
    let other = admin.folder(None, "Board").await;
    let ids = pictures(&app, &admin, &folder, 3).await;
    let outside = pictures(&app, &admin, &other, 1).await.remove(0);

    // Shared assets: the pick is one of them, or refused with nothing made.
    let link = admin
        .create_link(json!({ "asset_ids": ids, "cover_asset_id": ids[2] }))
        .await;
    let j = expect_json(admin.get(&format!("/links/{}", link.id)).await, 200).await;
    assert_eq!(j["cover_asset_id"], ids[2]);
    assert_eq!(
        cover_of(&app, &link.path).await.as_deref(),
        Some(ids[2].as_str())
    );
    let before = app.count("links").await;
    let r = admin
        .post(
            "/links",
            json!({ "asset_ids": [ids[0], ids[1]], "cover_asset_id": outside }),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("cover"));
    let r = admin
        .post(
            "/links",
            json!({ "asset_ids": [ids[0]], "cover_asset_id": "../../etc" }),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(app.count("links").await, before);

    // A folder's link: the first picture until one is picked.
    let plain = admin.create_link(json!({ "folder_id": folder })).await;
    let first = cover_of(&app, &plain.path).await.expect("a cover");
    let pick = ids.iter().find(|i| **i != first).unwrap().clone();
    let r = admin
        .patch(
            &format!("/links/{}", plain.id),
            json!({ "cover_asset_id": pick }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        cover_of(&app, &plain.path).await.as_deref(),
        Some(pick.as_str())
    );
    // Outside the folder: refused, the pick stays.
    let r = admin
        .patch(
            &format!("/links/{}", plain.id),
            json!({ "cover_asset_id": outside }),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        cover_of(&app, &plain.path).await.as_deref(),
        Some(pick.as_str())
    );

    // The link's page offers the choice with the pick selected; "the first picture" resets it.
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let (_, html) = b.page(&format!("/admin/links/{}", plain.id)).await;
    assert!(
        html.contains(&format!("<option value=\"{pick}\" selected>")),
        "{html}"
    );
    assert!(!html.contains(&format!("<option value=\"{outside}\"")));
    let csrf = b.csrf(&format!("/admin/links/{}", plain.id)).await;
    let r = b
        .post_form(
            &format!("/admin/links/{}/change", plain.id),
            &[
                ("csrf_token", &csrf),
                ("ip_allow", ""),
                ("cover_shown", "1"),
                ("cover_asset_id", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let j = expect_json(admin.get(&format!("/links/{}", plain.id)).await, 200).await;
    assert!(j["cover_asset_id"].is_null(), "{j:#}");
    assert_eq!(cover_of(&app, &plain.path).await, Some(first.clone()));

    // A pick the link stops listing (archived) falls back to the first picture it lists.
    let r = admin
        .patch(
            &format!("/links/{}", plain.id),
            json!({ "cover_asset_id": pick }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = admin
        .post(&format!("/assets/{pick}/archive"), json!({}))
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let now = cover_of(&app, &plain.path).await.expect("a cover");
    assert_ne!(now, pick);
    assert!(ids.contains(&now));
}

on_both_backends!(an_admin_picks_the_cover_and_only_from_what_the_link_lists);
