//! A share link's address is shown again on its admin page, with a Copy button, without
//! rotating it (issue 21): the token is also kept sealed with the shared secret, never in clear,
//! and lookups still use only its hash. Rotating shows the new address, not the old; each
//! per-recipient link shows its own; a link made before addresses were kept, or whose sealed
//! token does not belong to it, shows none (and says how to get one). Both databases.
mod common;
use assetport::accounts::users::Role;
use common::*;
use serde_json::json;
use sqlx::Row;

async fn sealed_of(app: &TestApp, id: &str) -> String {
    sqlx::query("SELECT token_sealed FROM links WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .try_get("token_sealed")
        .unwrap()
}

async fn a_links_address_is_shown_again_and_copyable(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Press").await;
    let asset = admin.published(&folder, "kit.png", png(40, 30, 1)).await;
    let link = admin
        .create_link(json!({ "asset_ids": [asset], "title": "Press kit" }))
        .await;
    let token = link.path.trim_start_matches("/s/").to_string();
    // Kept sealed: neither the token nor its random part is in the row.
    let sealed = sealed_of(&app, &link.id).await;
    assert!(!sealed.is_empty());
    assert!(!sealed.contains(&token) && !sealed.contains(&token[2..]));

    app.user("boss@example.com", Role::Admin).await;
    let b = app.browser();
    b.login_ok("boss@example.com").await;
    let page = format!("/admin/links/{}", link.id);
    let (s, html) = b.page(&page).await;
    assert_eq!(s, 200);
    assert!(html.contains(&format!("value=\"{}\"", link.url)), "{html}");
    assert!(
        html.contains("data-copy-button=\"link-address\""),
        "a Copy button"
    );

    // Rotating: the new address is shown, the old one is gone (and dead).
    let rotated = expect_json(
        admin
            .post(&format!("/links/{}/rotate", link.id), json!({}))
            .await,
        200,
    )
    .await;
    let new_url = rotated["url"].as_str().unwrap().to_string();
    assert_ne!(new_url, link.url);
    let (_, html) = b.page(&page).await;
    assert!(
        html.contains(&new_url) && !html.contains(&link.url),
        "{html}"
    );
    assert_eq!(visitor().get(&link.url).send().await.unwrap().status(), 404);

    // Per-recipient links: each page shows its own address.
    let made = admin
        .post_ok(
            "/links",
            json!({ "asset_ids": [asset], "recipients": ["ann@example.com", "bob@example.com"],
                    "per_recipient": true }),
            201,
        )
        .await;
    let links = made["links"].as_array().unwrap();
    for (mine, theirs) in [(0, 1), (1, 0)] {
        let id = links[mine]["id"].as_str().unwrap();
        let (_, html) = b.page(&format!("/admin/links/{id}")).await;
        assert!(html.contains(links[mine]["url"].as_str().unwrap()));
        assert!(!html.contains(links[theirs]["url"].as_str().unwrap()));
    }

    // A sealed token moved to another link's row does not open there; a link from before
    // addresses were kept shows none and says how to get one.
    let ann = links[0]["id"].as_str().unwrap();
    let bob = links[1]["id"].as_str().unwrap();
    let anns = sealed_of(&app, ann).await;
    for (id, value) in [(bob, anns.as_str()), (link.id.as_str(), "")] {
        sqlx::query("UPDATE links SET token_sealed = $1 WHERE id = $2")
            .bind(value)
            .bind(id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        let (_, html) = b.page(&format!("/admin/links/{id}")).await;
        assert!(!html.contains("/s/s_"), "no address: {html}");
        assert!(html.contains("made before addresses were kept"));
    }
    // Rotating such a link gives it an address that is kept.
    let rotated = expect_json(
        admin
            .post(&format!("/links/{}/rotate", link.id), json!({}))
            .await,
        200,
    )
    .await;
    let (_, html) = b.page(&page).await;
    assert!(html.contains(rotated["url"].as_str().unwrap()));
}

on_both_backends!(a_links_address_is_shown_again_and_copyable);
