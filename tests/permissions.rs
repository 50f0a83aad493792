//! SPEC §2.1–2.3: what each caller may see, including the full negative matrix.
mod common;
use common::*;
use serde_json::json;

/// A small library: Partners may view+download /Area (and so /Area/Sub), view only /Lookbook;
/// Others may view+download /Other; Agency may contribute to /Area/Inbox.
struct World {
    admin: Api,
    partner: Api,
    other: Api,
    agency: Api,
    area: String,
    sub: String,
    lookbook: String,
    other_folder: String,
    inbox: String,
    approved: String,
    approved_sub: String,
    draft: String,
    archived: String,
    lookbook_asset: String,
    other_asset: String,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let partners = admin.group("Partners").await;
    let others = admin.group("Others").await;
    let agencies = admin.group("Agency").await;
    let area = admin.folder(None, "Area").await;
    let sub = admin.folder(Some(&area), "Sub").await;
    let inbox = admin.folder(Some(&area), "Inbox").await;
    let lookbook = admin.folder(None, "Lookbook").await;
    let other_folder = admin.folder(None, "Other").await;
    admin.grant(&area, &partners, true, true, false).await;
    admin.grant(&lookbook, &partners, true, false, false).await;
    admin.grant(&other_folder, &others, true, true, false).await;
    admin.grant(&inbox, &agencies, false, false, true).await;
    let approved = admin
        .published(&area, "approved.jpg", b"approved bytes".to_vec())
        .await;
    let approved_sub = admin
        .published(&sub, "deep.png", b"deep bytes".to_vec())
        .await;
    let draft = admin.upload_id(&area, "draft.jpg", b"draft".to_vec()).await;
    let archived = admin.published(&area, "old.jpg", b"old".to_vec()).await;
    assert_eq!(
        admin
            .post(&format!("/assets/{archived}/archive"), json!({}))
            .await
            .status(),
        200
    );
    let lookbook_asset = admin
        .published(&lookbook, "look.pdf", b"%PDF-1.4 look".to_vec())
        .await;
    let other_asset = admin
        .published(&other_folder, "secret.jpg", b"secret".to_vec())
        .await;
    World {
        partner: app.member("partner@retail.example", &[&partners]).await,
        other: app.member("other@distributor.example", &[&others]).await,
        agency: app.member("studio@agency.example", &[&agencies]).await,
        admin,
        area,
        sub,
        lookbook,
        other_folder,
        inbox,
        approved,
        approved_sub,
        draft,
        archived,
        lookbook_asset,
        other_asset,
    }
}

fn ids(v: &serde_json::Value, list: &str) -> Vec<String> {
    v[list]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

async fn unauthenticated_api_answers_401(app: TestApp) {
    let w = world(&app).await;
    let client = reqwest::Client::new();
    for path in [
        format!("/api/v1/folders/{}", w.area),
        format!("/api/v1/assets/{}", w.approved),
        format!("/api/v1/assets/{}/original", w.approved),
        "/api/v1/users".to_string(),
    ] {
        let r = client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized");
    }
    // A wrong token is the same as none.
    let r = client
        .get(app.url("/api/v1/folders"))
        .bearer_auth("apt_not-a-real-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

async fn unauthenticated_pages_redirect_to_login(app: TestApp) {
    let w = world(&app).await;
    let b = app.browser();
    for path in [
        "/".to_string(),
        format!("/folders/{}", w.area),
        format!("/assets/{}", w.approved),
        "/admin/users".into(),
    ] {
        let r = b.get(&path).await;
        assert_eq!(r.status(), 303, "{path}");
        assert!(
            location(&r).starts_with("/login"),
            "{path} -> {}",
            location(&r)
        );
    }
    let r = b.get(&format!("/assets/{}/download", w.approved)).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        location(&r),
        format!("/login?next=%2Fassets%2F{}%2Fdownload", w.approved)
    );
}

async fn hidden_things_answer_exactly_like_missing_ones(app: TestApp) {
    let w = world(&app).await;
    let missing = "0000000000000000000000000000dead";
    for (hidden, kind) in [(&w.other_asset, "assets"), (&w.other_folder, "folders")] {
        let a = w.partner.get(&format!("/{kind}/{hidden}")).await;
        let b = w.partner.get(&format!("/{kind}/{missing}")).await;
        assert_eq!(a.status(), 404);
        assert_eq!(b.status(), 404);
        assert_eq!(a.text().await.unwrap(), b.text().await.unwrap());
    }
}

async fn partner_sees_only_approved_assets_in_granted_folders(app: TestApp) {
    let w = world(&app).await;
    let roots = w
        .partner
        .get("/folders")
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let root_ids: Vec<&str> = roots["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(root_ids.len(), 2, "{roots}");
    assert!(root_ids.contains(&w.area.as_str()) && root_ids.contains(&w.lookbook.as_str()));

    let area = expect_json(w.partner.get(&format!("/folders/{}", w.area)).await, 200).await;
    assert_eq!(
        ids(&area, "assets"),
        vec![w.approved.clone()],
        "only the approved asset: {area}"
    );
    // Grants inherit to subfolders.
    let sub = expect_json(w.partner.get(&format!("/folders/{}", w.sub)).await, 200).await;
    assert_eq!(ids(&sub, "assets"), vec![w.approved_sub.clone()]);
    let r = w
        .partner
        .get(&format!("/assets/{}/original", w.approved_sub))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"deep bytes");
    // The admin sees everything in the folder.
    let all = expect_json(w.admin.get(&format!("/folders/{}", w.area)).await, 200).await;
    assert_eq!(ids(&all, "assets").len(), 3);
}

async fn drafts_archived_and_rejected_assets_are_invisible_to_partners(app: TestApp) {
    let w = world(&app).await;
    let rejected = w
        .admin
        .upload_id(&w.area, "rejected.jpg", b"r".to_vec())
        .await;
    w.admin
        .post_ok(
            &format!("/assets/{rejected}/reject"),
            json!({ "comment": "wrong colours" }),
            200,
        )
        .await;
    for id in [&w.draft, &w.archived, &rejected] {
        assert_eq!(
            w.partner.get(&format!("/assets/{id}")).await.status(),
            404,
            "{id}"
        );
        assert_eq!(
            w.partner
                .get(&format!("/assets/{id}/original"))
                .await
                .status(),
            404,
            "{id}"
        );
    }
}

async fn archiving_and_restoring_take_effect_on_the_next_request(app: TestApp) {
    let w = world(&app).await;
    let path = format!("/assets/{}/original", w.approved);
    assert_eq!(w.partner.get(&path).await.status(), 200);
    w.admin
        .post_ok(&format!("/assets/{}/archive", w.approved), json!({}), 200)
        .await;
    assert_eq!(w.partner.get(&path).await.status(), 404);
    let restored = w
        .admin
        .post_ok(&format!("/assets/{}/restore", w.approved), json!({}), 200)
        .await;
    assert_eq!(restored["status"], "approved");
    assert_eq!(w.partner.get(&path).await.status(), 200);
    // Revoking the grant hides the whole area at once.
    let groups = expect_json(w.admin.get("/groups").await, 200).await;
    let partners = groups["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "Partners")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        w.admin
            .delete(&format!("/folders/{}/grants/{partners}", w.area))
            .await
            .status(),
        204
    );
    assert_eq!(w.partner.get(&path).await.status(), 404);
    assert_eq!(
        w.partner.get(&format!("/folders/{}", w.sub)).await.status(),
        404
    );
}

async fn availability_window_hides_assets_outside_it(app: TestApp) {
    let w = world(&app).await;
    let path = format!("/assets/{}", w.approved);
    w.admin
        .patch(&path, json!({ "available_from": "2999-01-01T00:00:00Z" }))
        .await;
    assert_eq!(w.partner.get(&path).await.status(), 404, "embargoed");
    w.admin
        .patch(
            &path,
            json!({ "available_from": null, "available_until": "2001-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(w.partner.get(&path).await.status(), 404, "expired licence");
    let listing = expect_json(w.partner.get(&format!("/folders/{}", w.area)).await, 200).await;
    assert!(ids(&listing, "assets").is_empty());
    w.admin
        .patch(&path, json!({ "available_until": "2999-01-01T00:00:00Z" }))
        .await;
    assert_eq!(
        w.partner.get(&path).await.status(),
        200,
        "inside the window"
    );
    // The admin always sees it.
    w.admin
        .patch(&path, json!({ "available_until": "2001-01-01T00:00:00Z" }))
        .await;
    assert_eq!(w.admin.get(&path).await.status(), 200);
}

async fn view_without_download_cannot_download(app: TestApp) {
    let w = world(&app).await;
    let meta = expect_json(
        w.partner
            .get(&format!("/assets/{}", w.lookbook_asset))
            .await,
        200,
    )
    .await;
    assert_eq!(meta["filename"], "look.pdf");
    assert_eq!(
        w.partner
            .get(&format!("/assets/{}/original", w.lookbook_asset))
            .await
            .status(),
        404
    );
    let b = app.browser();
    b.login_ok("partner@retail.example").await;
    let (status, html) = b.page(&format!("/assets/{}", w.lookbook_asset)).await;
    assert_eq!(status, 200);
    assert!(
        !html.contains(&format!("/assets/{}/download", w.lookbook_asset)),
        "no download button without the right"
    );
    assert!(
        html.contains("Request download"),
        "but a way to ask for it (issue 19)"
    );
    assert_eq!(
        b.get(&format!("/assets/{}/download", w.lookbook_asset))
            .await
            .status(),
        404
    );
}

async fn other_groups_folders_and_assets_are_404(app: TestApp) {
    let w = world(&app).await;
    assert_eq!(
        w.partner
            .get(&format!("/folders/{}", w.other_folder))
            .await
            .status(),
        404
    );
    assert_eq!(
        w.partner
            .get(&format!("/assets/{}", w.other_asset))
            .await
            .status(),
        404
    );
    assert_eq!(
        w.partner
            .get(&format!("/assets/{}/original", w.other_asset))
            .await
            .status(),
        404
    );
    assert_eq!(
        w.other
            .get(&format!("/assets/{}", w.approved))
            .await
            .status(),
        404
    );
    assert_eq!(
        w.other
            .get(&format!("/assets/{}/original", w.other_asset))
            .await
            .status(),
        200
    );
    // Pages agree with the API.
    let b = app.browser();
    b.login_ok("partner@retail.example").await;
    assert_eq!(
        b.get(&format!("/folders/{}", w.other_folder))
            .await
            .status(),
        404
    );
    assert_eq!(
        b.get(&format!("/assets/{}", w.other_asset)).await.status(),
        404
    );
    let (_, home) = b.page("/").await;
    assert!(home.contains("Area") && home.contains("Lookbook") && !home.contains("Other"));
}

async fn members_get_404_on_admin_routes(app: TestApp) {
    let w = world(&app).await;
    let p = &w.partner;
    let checks = vec![
        p.post("/folders", json!({ "name": "Mine" })).await,
        p.get("/users").await,
        p.post(
            "/users",
            json!({ "email": "x@y.example", "name": "x", "role": "admin", "password": PASSWORD }),
        )
        .await,
        p.get("/groups").await,
        p.post("/groups", json!({ "name": "Mine" })).await,
        p.put(
            &format!("/folders/{}/grants/x", w.area),
            json!({ "view": true }),
        )
        .await,
        p.post(&format!("/assets/{}/approve", w.draft), json!({}))
            .await,
        p.post(&format!("/assets/{}/archive", w.approved), json!({}))
            .await,
        p.patch(
            &format!("/assets/{}", w.approved),
            json!({ "title": "pwned" }),
        )
        .await,
        p.get("/events").await,
    ];
    for r in checks {
        let url = r.url().to_string();
        assert_eq!(r.status(), 404, "{url}");
    }
    let b = app.browser();
    b.login_ok("partner@retail.example").await;
    for path in ["/admin/users", "/admin/groups"] {
        assert_eq!(b.get(path).await.status(), 404, "{path}");
    }
    let csrf = b.csrf("/").await;
    let r = b
        .post_form("/folders", &[("csrf_token", &csrf), ("name", "Mine")])
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(app.count("folders").await, 5, "no folder was created");
}

async fn contributors_see_their_own_submissions_with_comments(app: TestApp) {
    let w = world(&app).await;
    // No view right on the inbox: only contribute.
    let up = expect_json(
        w.agency
            .upload_raw(
                &w.inbox,
                "concept.psd",
                b"layers".to_vec(),
                &[("title", "Concept A")],
            )
            .await,
        201,
    )
    .await;
    assert_eq!(up["status"], "in_review");
    let id = up["id"].as_str().unwrap().to_string();
    // Partners never see work in progress, even with view on the parent.
    assert_eq!(w.partner.get(&format!("/assets/{id}")).await.status(), 404);
    let listing = expect_json(w.partner.get(&format!("/folders/{}", w.inbox)).await, 200).await;
    assert!(ids(&listing, "assets").is_empty());
    // The agency sees its own submission, in the folder too.
    let mine = expect_json(w.agency.get(&format!("/folders/{}", w.inbox)).await, 200).await;
    assert_eq!(ids(&mine, "assets"), vec![id.clone()]);
    w.admin
        .post_ok(
            &format!("/assets/{id}/reject"),
            json!({ "comment": "Logo too small" }),
            200,
        )
        .await;
    let seen = expect_json(w.agency.get(&format!("/assets/{id}")).await, 200).await;
    assert_eq!(seen["status"], "rejected");
    assert_eq!(seen["review_comment"], "Logo too small");
    let agency_browser = app.browser();
    agency_browser.login_ok("studio@agency.example").await;
    let (_, home) = agency_browser.page("/").await;
    assert!(
        home.contains("Your submissions in review")
            && home.contains("Concept A")
            && home.contains("rejected")
    );
    let partner_browser = app.browser();
    partner_browser.login_ok("partner@retail.example").await;
    assert!(!partner_browser.page("/").await.1.contains("Concept A"));
    // Another agency member's submissions stay private.
    assert_eq!(w.other.get(&format!("/assets/{id}")).await.status(), 404);
    // A contributor cannot upload where it has no contribute right.
    assert_eq!(
        w.agency
            .upload_raw(&w.area, "x.jpg", b"x".to_vec(), &[])
            .await
            .status(),
        404
    );
    assert_eq!(
        w.partner
            .upload_raw(&w.area, "x.jpg", b"x".to_vec(), &[])
            .await
            .status(),
        403
    );
    // Once approved, partners see it (it is inside their area).
    w.admin
        .post_ok(&format!("/assets/{id}/approve"), json!({}), 200)
        .await;
    assert_eq!(w.partner.get(&format!("/assets/{id}")).await.status(), 200);
    let as_partner = expect_json(w.partner.get(&format!("/assets/{id}")).await, 200).await;
    assert!(
        as_partner.get("review_comment").is_none(),
        "partners do not see review data"
    );
}

async fn disabled_accounts_lose_access_at_once(app: TestApp) {
    let w = world(&app).await;
    assert_eq!(
        w.partner
            .get(&format!("/assets/{}", w.approved))
            .await
            .status(),
        200
    );
    assert_eq!(
        w.admin
            .delete(&format!("/users/{}", w.partner.user_id))
            .await
            .status(),
        204
    );
    assert_eq!(
        w.partner
            .get(&format!("/assets/{}", w.approved))
            .await
            .status(),
        401
    );
    let b = app.browser();
    assert_eq!(
        b.login("partner@retail.example", PASSWORD).await.status(),
        401
    );
}

/// The menu follows the person: "My submissions" only for those who may contribute (or did),
/// a 404 inside the portal keeps the menu for a signed-in person (and only for them), and the
/// review page lists admins' own drafts, which the API's queue leaves out.
async fn navigation_follows_rights(app: TestApp) {
    let w = world(&app).await;
    let nav = r#"<nav class="mainnav" aria-label="Main">"#;
    let partner = app.browser();
    partner.login_ok("partner@retail.example").await;
    let (_, home) = partner.page("/").await;
    assert!(home.contains(nav) && !home.contains(r#"href="/submissions""#));
    let agency = app.browser();
    agency.login_ok("studio@agency.example").await;
    let (_, home) = agency.page("/").await;
    assert!(home.contains(r#"href="/submissions""#), "{home}");

    for path in [
        format!("/folders/{}", w.other_folder),
        format!("/assets/{}", w.draft),
        "/admin/users".to_string(),
        "/no/such/page".to_string(),
    ] {
        let (status, html) = partner.page(&path).await;
        assert_eq!(status, 404, "{path}");
        assert!(
            html.contains(nav) && html.contains("Sign out"),
            "{path}: {html}"
        );
        assert!(html.contains("There is nothing here"), "{path}");
        assert!(
            !html.contains("Other") && !html.contains("draft.jpg"),
            "{path}"
        );
    }
    let anonymous = app.browser();
    let (status, html) = anonymous.page("/no/such/page").await;
    assert_eq!(status, 404);
    assert!(!html.contains(nav) && !html.contains("Sign out"));

    let admin = app.browser();
    admin.login_ok("admin@example.com").await;
    let (status, review) = admin.page("/admin/review").await;
    assert_eq!(status, 200);
    assert!(
        review.contains("draft.jpg") && !review.contains("approved.jpg"),
        "{review}"
    );
    let queue = expect_json(w.admin.get("/review").await, 200).await;
    assert!(!queue.to_string().contains("draft.jpg"), "{queue}");
    // Approving it from the review page publishes it.
    let csrf = csrf_in(&review).unwrap();
    let r = admin
        .post_form(
            "/admin/review/bulk",
            &[
                ("csrf_token", &csrf),
                ("action", "approve"),
                ("asset_ids", &w.draft),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        w.partner
            .get(&format!("/assets/{}", w.draft))
            .await
            .status(),
        200
    );
}

on_both_backends!(
    unauthenticated_api_answers_401,
    unauthenticated_pages_redirect_to_login,
    hidden_things_answer_exactly_like_missing_ones,
    partner_sees_only_approved_assets_in_granted_folders,
    drafts_archived_and_rejected_assets_are_invisible_to_partners,
    archiving_and_restoring_take_effect_on_the_next_request,
    availability_window_hides_assets_outside_it,
    view_without_download_cannot_download,
    other_groups_folders_and_assets_are_404,
    members_get_404_on_admin_routes,
    contributors_see_their_own_submissions_with_comments,
    disabled_accounts_lose_access_at_once,
    navigation_follows_rights,
);
