//! Collections (issue 5): admins curate ordered sets across folders; members see only what they
//! could see anyway; a collection can be shared by link (live) and downloaded as one ZIP. Also
//! bulk metadata edits and the admin's "expiring soon" list.
mod common;

use common::{expect_json, text_of, visitor, zip_entries, Api, TestApp};
use serde_json::json;

struct World {
    admin: Api,
    partner: Api,
    a: String,
    b: String,
    hidden: String,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let area = admin.folder(None, "Retail").await;
    let other = admin.folder(None, "Internal").await;
    let group = admin.group("Partners").await;
    admin.grant(&area, &group, true, true, false).await;
    let partner = app.member("partner@example.com", &[&group]).await;
    let a = admin.published(&area, "alpha.jpg", b"alpha".to_vec()).await;
    let b = admin.published(&area, "beta.jpg", b"beta".to_vec()).await;
    let hidden = admin
        .published(&other, "gamma.jpg", b"gamma".to_vec())
        .await;
    World {
        admin,
        partner,
        a,
        b,
        hidden,
    }
}

fn names(j: &serde_json::Value) -> Vec<String> {
    j["assets"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap().to_string())
        .collect()
}

async fn admins_curate_and_members_see_only_their_part(app: TestApp) {
    let w = world(&app).await;
    let c = w
        .admin
        .post_ok("/collections", json!({ "name": "Spring picks" }), 201)
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    for asset in [&w.a, &w.hidden, &w.b] {
        let r = w
            .admin
            .put(&format!("/collections/{id}/assets/{asset}"), json!({}))
            .await;
        assert_eq!(r.status(), 204);
    }
    // Order: as added; then beta moved to the front.
    let j = expect_json(w.admin.get(&format!("/collections/{id}")).await, 200).await;
    assert_eq!(names(&j), ["alpha.jpg", "gamma.jpg", "beta.jpg"]);
    let r = w
        .admin
        .put(
            &format!("/collections/{id}/assets/{}", w.b),
            json!({ "position": 0 }),
        )
        .await;
    assert_eq!(r.status(), 204);
    let j = expect_json(w.admin.get(&format!("/collections/{id}")).await, 200).await;
    assert_eq!(names(&j), ["beta.jpg", "alpha.jpg", "gamma.jpg"]);

    // The partner sees the two it may see, in the same order; the list counts them.
    let j = expect_json(w.partner.get(&format!("/collections/{id}")).await, 200).await;
    assert_eq!(names(&j), ["beta.jpg", "alpha.jpg"]);
    let list = expect_json(w.partner.get("/collections").await, 200).await;
    assert_eq!(list["items"][0]["asset_count"], 2);

    // A collection of only hidden assets does not exist for the partner.
    let only_hidden = w
        .admin
        .post_ok("/collections", json!({ "name": "Internal only" }), 201)
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    w.admin
        .put(
            &format!("/collections/{only_hidden}/assets/{}", w.hidden),
            json!({}),
        )
        .await;
    assert_eq!(
        w.partner
            .get(&format!("/collections/{only_hidden}"))
            .await
            .status(),
        404
    );
    let list = expect_json(w.partner.get("/collections").await, 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // Members cannot curate.
    assert_eq!(
        w.partner
            .post("/collections", json!({ "name": "Mine" }))
            .await
            .status(),
        404
    );
    assert_eq!(
        w.partner
            .put(&format!("/collections/{id}/assets/{}", w.a), json!({}))
            .await
            .status(),
        404
    );
    // Bad input.
    assert_eq!(
        w.admin
            .post("/collections", json!({ "name": "  " }))
            .await
            .status(),
        400
    );
    assert_eq!(
        w.admin
            .put(&format!("/collections/{id}/assets/nope"), json!({}))
            .await
            .status(),
        422
    );

    // One ZIP of what the partner may download.
    let r = w.partner.post("/zip", json!({ "collection_id": id })).await;
    assert_eq!(r.status(), 200);
    let entries: Vec<String> = zip_entries(&r.bytes().await.unwrap())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(!entries.iter().any(|n| n.contains("gamma")));

    // Removing and deleting.
    let r = w
        .admin
        .delete(&format!("/collections/{id}/assets/{}", w.a))
        .await;
    assert_eq!(r.status(), 204);
    let j = expect_json(w.partner.get(&format!("/collections/{id}")).await, 200).await;
    assert_eq!(names(&j), ["beta.jpg"]);
    assert_eq!(
        w.admin.delete(&format!("/collections/{id}")).await.status(),
        204
    );
    assert_eq!(
        w.admin.get(&format!("/collections/{id}")).await.status(),
        404
    );
}

async fn a_collection_link_is_live(app: TestApp) {
    let w = world(&app).await;
    let id = w
        .admin
        .post_ok("/collections", json!({ "name": "For the press" }), 201)
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    w.admin
        .put(&format!("/collections/{id}/assets/{}", w.a), json!({}))
        .await;
    let link = w
        .admin
        .create_link(json!({ "collection_id": id, "title": "Press kit" }))
        .await;
    // The page form offers the collection's name as the title recipients see.
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let (status, form) = b
        .page(&format!("/admin/links/new?collection_id={id}"))
        .await;
    assert_eq!(status, 200);
    assert!(
        form.contains(r#"name="title" maxlength="200" value="For the press""#),
        "{form}"
    );
    let j = expect_json(w.admin.get(&format!("/links/{}", link.id)).await, 200).await;
    assert_eq!(j["target"], "collection");
    assert_eq!(j["collection_id"], id.as_str());
    let v = visitor();
    let page = |v: reqwest::Client, url: String| async move { text_of(&v, url).await };
    let html = page(v.clone(), link.url.clone()).await;
    assert!(
        html.contains("alpha.jpg") && !html.contains("beta.jpg"),
        "{html}"
    );
    // Added later: shown at once. Archived: gone at once.
    w.admin
        .put(&format!("/collections/{id}/assets/{}", w.b), json!({}))
        .await;
    let html = page(v.clone(), link.url.clone()).await;
    assert!(html.contains("beta.jpg"), "{html}");
    let r = w
        .admin
        .post(&format!("/assets/{}/archive", w.a), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let html = page(v.clone(), link.url.clone()).await;
    assert!(!html.contains("alpha.jpg"));
    let dl = format!("{}/assets/{}/original", link.url, w.b);
    assert_eq!(v.get(&dl).send().await.unwrap().status(), 200);
    let zip = v
        .get(format!("{}/zip", link.url))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(zip_entries(&zip).len(), 1);
    // Deleting the collection leaves the link showing nothing.
    w.admin.delete(&format!("/collections/{id}")).await;
    let html = page(v.clone(), link.url.clone()).await;
    assert!(!html.contains("beta.jpg"));
    assert_eq!(v.get(&dl).send().await.unwrap().status(), 404);
    // An unknown collection is refused when creating a link.
    let r = w
        .admin
        .post("/links", json!({ "collection_id": "nope" }))
        .await;
    assert_eq!(r.status(), 422);
}

async fn bulk_edits_change_many_assets_or_none(app: TestApp) {
    let w = world(&app).await;
    let r = w
        .admin
        .post(
            "/assets/bulk",
            json!({ "asset_ids": [w.a, w.b], "changes": {
                "add_keywords": ["spring", "2027"], "credit": "ACME Studio",
                "available_until": "2030-01-01T00:00:00Z" } }),
        )
        .await;
    assert_eq!(r.status(), 200);
    for id in [&w.a, &w.b] {
        let j = expect_json(w.admin.get(&format!("/assets/{id}")).await, 200).await;
        assert_eq!(j["keywords"], json!(["spring", "2027"]));
        assert_eq!(j["credit"], "ACME Studio");
        assert_eq!(j["available_until"], "2030-01-01T00:00:00Z");
    }
    let r = w
        .admin
        .post(
            "/assets/bulk",
            json!({ "asset_ids": [w.a], "changes": { "remove_keywords": ["SPRING"] } }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let j = expect_json(w.admin.get(&format!("/assets/{}", w.a)).await, 200).await;
    assert_eq!(j["keywords"], json!(["2027"]));
    // One unknown asset: nothing changes.
    let r = w
        .admin
        .post(
            "/assets/bulk",
            json!({ "asset_ids": [w.b, "nope"], "changes": { "credit": "Other" } }),
        )
        .await;
    assert_eq!(r.status(), 422);
    let j = expect_json(w.admin.get(&format!("/assets/{}", w.b)).await, 200).await;
    assert_eq!(j["credit"], "ACME Studio");
    // Bad changes are refused before anything is written; members may not.
    let r = w
        .admin
        .post(
            "/assets/bulk",
            json!({ "asset_ids": [w.b], "changes": { "colour": "red" } }),
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = w
        .partner
        .post(
            "/assets/bulk",
            json!({ "asset_ids": [w.b], "changes": { "credit": "Me" } }),
        )
        .await;
    assert_eq!(r.status(), 404);
}

async fn the_dashboard_lists_assets_expiring_within_30_days(app: TestApp) {
    let w = world(&app).await;
    let soon = app.in_secs(10 * 86400);
    let later = app.in_secs(40 * 86400);
    w.admin
        .patch(
            &format!("/assets/{}", w.a),
            json!({ "available_until": soon, "title": "Soon gone" }),
        )
        .await;
    w.admin
        .patch(
            &format!("/assets/{}", w.b),
            json!({ "available_until": later, "title": "Still here" }),
        )
        .await;
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let (status, html) = b.page("/").await;
    assert_eq!(status, 200);
    // The expiring panel (the home page also shows what is new this week).
    let panel = html
        .split("Expiring in the next 30 days")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .expect("the expiring panel");
    assert!(panel.contains("Soon gone"), "{html}");
    assert!(!panel.contains("Still here"));
}

on_both_backends!(
    admins_curate_and_members_see_only_their_part,
    a_collection_link_is_live,
    bulk_edits_change_many_assets_or_none,
    the_dashboard_lists_assets_expiring_within_30_days,
);
