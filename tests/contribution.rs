//! The contribution side (issue 4): check-out / check-in with versions that wait for review
//! while partners keep the approved one, the review queue, contributors' submissions, and the
//! notifications, end to end over HTTP on both databases.
mod common;
use common::*;
use serde_json::{json, Value};

struct Fixture {
    admin: Api,
    agency: Api,
    other_agency: Api,
    partner: Api,
    folder: String,
    asset: String,
}

/// A published asset (v1) in a folder where "Agency" may contribute and "Partners" download.
async fn fixture(app: &TestApp) -> Fixture {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Brand").await;
    let agency_group = admin.group("Agency").await;
    let partners = admin.group("Partners").await;
    admin.grant(&folder, &agency_group, true, false, true).await;
    admin.grant(&folder, &partners, true, true, false).await;
    let asset = admin
        .published(&folder, "logo.png", b"version one".to_vec())
        .await;
    Fixture {
        agency: app.member("studio@agency.example", &[&agency_group]).await,
        other_agency: app.member("other@agency.example", &[&agency_group]).await,
        partner: app.member("shop@retail.example", &[&partners]).await,
        admin,
        folder,
        asset,
    }
}

async fn original(api: &Api, asset: &str) -> Vec<u8> {
    let r = api.get(&format!("/assets/{asset}/original")).await;
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap().to_vec()
}

async fn json_of(api: &Api, path: &str) -> Value {
    expect_json(api.get(path).await, 200).await
}

async fn a_checked_in_version_waits_for_review_while_partners_keep_the_approved_one(app: TestApp) {
    let f = fixture(&app).await;
    let id = &f.asset;
    // Check out: locked for everyone else.
    let out = expect_json(
        f.agency
            .post(&format!("/assets/{id}/checkout"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(out["checked_out_by"], f.agency.user_id.as_str());
    assert_eq!(
        f.other_agency
            .post(&format!("/assets/{id}/checkout"), json!({}))
            .await
            .status(),
        409
    );
    let files_before = app.stored_files().await.len();
    let r = f
        .other_agency
        .check_in(id, b"sneaky", "over the lock")
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("checked out by"));
    assert_eq!(
        app.stored_files().await.len(),
        files_before,
        "a refused check-in leaves no binary"
    );

    // Check in v2: current for the contributor and admins, not for partners.
    let v2 = expect_json(
        f.agency.check_in(id, b"version two", "darker blue").await,
        201,
    )
    .await;
    assert_eq!(v2["number"], 2);
    assert_eq!(v2["comment"], "darker blue");
    let admin_view = json_of(&f.admin, &format!("/assets/{id}")).await;
    assert_eq!(admin_view["version"], 2);
    assert_eq!(admin_view["status"], "approved");
    assert_eq!(admin_view["pending_review"], true);
    assert!(
        admin_view["checked_out_by"].is_null(),
        "check-in releases the lock"
    );
    assert_eq!(original(&f.partner, id).await, b"version one");
    assert_eq!(
        json_of(&f.partner, &format!("/assets/{id}")).await["version"],
        1
    );

    // The queue shows it; so do the contributor's submissions.
    let queue = json_of(&f.admin, "/review").await;
    let entry = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .expect("in the queue");
    assert_eq!(entry["stage"], "new version in review");
    let mine = json_of(&f.agency, "/submissions").await;
    assert!(mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == id.as_str()));
    assert!(json_of(&f.other_agency, "/submissions").await["items"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(f.partner.get("/review").await.status(), 404);

    // Approval publishes v2 and tells the contributor.
    // (The partner who downloaded v1 is also sent a recall notice, by the job
    // queue and so at its own moment: count only the contributor's mail.)
    let before = to_studio(app.outbox()).len();
    expect_json(
        f.admin
            .post(&format!("/assets/{id}/approve"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(original(&f.partner, id).await, b"version two");
    // Outcomes go out once the review session is over: ten minutes after the last decision.
    assert_eq!(to_studio(app.outbox()).len(), before);
    session_over(&app);
    let last = app
        .wait_for_mail("studio@agency.example", |m| m.contains("Approved"))
        .await;
    assert_eq!(to_studio(app.outbox()).len(), before + 1, "{last}");
    assert!(!json_of(&f.admin, "/review").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == id.as_str()));

    // Identical bytes make no new version.
    let same = expect_json(f.agency.check_in(id, b"version two", "again").await, 200).await;
    assert_eq!(same["created"], false);
    assert_eq!(same["number"], 2);
    let versions = json_of(&f.admin, &format!("/assets/{id}/versions")).await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 2);

    // An admin makes v1 current again: partners get it at once.
    let v1 = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["number"] == 1)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        f.agency
            .post(&format!("/assets/{id}/versions/{v1}/current"), json!({}))
            .await
            .status(),
        404,
        "admins only"
    );
    expect_json(
        f.admin
            .post(&format!("/assets/{id}/versions/{v1}/current"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(original(&f.partner, id).await, b"version one");
    assert_eq!(
        f.admin
            .post(&format!("/assets/{id}/versions/nope/current"), json!({}))
            .await
            .status(),
        404
    );
}

async fn a_rejected_version_leaves_the_published_one_and_reaches_the_contributor(app: TestApp) {
    let f = fixture(&app).await;
    let id = &f.asset;
    expect_json(f.agency.check_in(id, b"version two", "try").await, 201).await;
    let r = f
        .admin
        .post(
            &format!("/assets/{id}/reject"),
            json!({ "comment": "logo too small" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(original(&f.partner, id).await, b"version one");
    let mine = json_of(&f.agency, "/submissions").await;
    let seen = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .expect("the contributor's submissions list the check-in");
    assert_eq!(seen["review_comment"], "logo too small");
    assert_eq!(seen["stage"], "new version not approved");
    assert_eq!(seen["pending_review"], false);
    // The rejected version stays in the timeline.
    let versions = json_of(&f.admin, &format!("/assets/{id}/versions")).await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 2);
    // A new submission from an agency is in review and invisible to partners.
    let sub = expect_json(
        f.agency
            .upload_raw(&f.folder, "poster.pdf", b"%PDF".to_vec(), &[])
            .await,
        201,
    )
    .await;
    let sub_id = sub["id"].as_str().unwrap();
    assert_eq!(sub["status"], "in_review");
    // Admins heard about the check-in, and not again for this upload minutes later.
    let digests: Vec<String> = app
        .outbox()
        .into_iter()
        .filter(|m| m.contains("To: admin@example.com") && m.contains("for review"))
        .collect();
    assert_eq!(digests.len(), 1);
    assert!(digests[0].contains("admin@example.com"));
    // The contributor hears the reviewer's comment once the review session is over.
    session_over(&app);
    app.wait_for_mail("studio@agency.example", |m| m.contains("logo too small"))
        .await;
    assert_eq!(
        f.partner.get(&format!("/assets/{sub_id}")).await.status(),
        404
    );
    // Bulk: one approve for two ids, one of which cannot be approved.
    let bulk = expect_json(
        f.admin
            .post(
                "/review/bulk",
                json!({ "action": "approve", "asset_ids": [sub_id, id] }),
            )
            .await,
        200,
    )
    .await;
    let results = bulk["results"].as_array().unwrap();
    assert_eq!(results[0]["ok"], true);
    assert_eq!(results[1]["ok"], false);
    assert_eq!(results[1]["status"], 409);
    assert_eq!(
        f.partner.get(&format!("/assets/{sub_id}")).await.status(),
        200
    );
}

async fn locks_are_checked(app: TestApp) {
    let f = fixture(&app).await;
    let id = &f.asset;
    // Without contribute: 403; an unknown asset: 404; nothing to release: 409.
    assert_eq!(
        f.partner
            .post(&format!("/assets/{id}/checkout"), json!({}))
            .await
            .status(),
        403
    );
    assert_eq!(
        f.agency
            .post("/assets/nope/checkout", json!({}))
            .await
            .status(),
        404
    );
    assert_eq!(
        f.agency
            .delete(&format!("/assets/{id}/checkout"))
            .await
            .status(),
        409
    );
    // The holder may re-check-out; another member may not release it; an admin may break it.
    expect_json(
        f.agency
            .post(&format!("/assets/{id}/checkout"), json!({}))
            .await,
        200,
    )
    .await;
    expect_json(
        f.agency
            .post(&format!("/assets/{id}/checkout"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        f.other_agency
            .delete(&format!("/assets/{id}/checkout"))
            .await
            .status(),
        409
    );
    assert_eq!(
        f.admin
            .delete(&format!("/assets/{id}/checkout"))
            .await
            .status(),
        204
    );
    let events = json_of(&f.admin, "/events?kind=lock_broken").await;
    assert_eq!(events["items"].as_array().unwrap().len(), 1);
    // Now the other member can take it; archived assets cannot be checked out.
    expect_json(
        f.other_agency
            .post(&format!("/assets/{id}/checkout"), json!({}))
            .await,
        200,
    )
    .await;
    expect_json(
        f.admin
            .post(&format!("/assets/{id}/archive"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        f.admin
            .post(&format!("/assets/{id}/checkout"), json!({}))
            .await
            .status(),
        409
    );
    // A check-in comment with control characters is refused and leaves nothing.
    expect_json(
        f.admin
            .post(&format!("/assets/{id}/restore"), json!({}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        f.admin
            .delete(&format!("/assets/{id}/checkout"))
            .await
            .status(),
        204
    );
    let files = app.stored_files().await.len();
    assert_eq!(f.agency.check_in(id, b"v2", "bad\u{7}").await.status(), 400);
    assert_eq!(app.stored_files().await.len(), files);
}

async fn the_pages_carry_the_whole_cycle(app: TestApp) {
    let f = fixture(&app).await;
    let id = &f.asset;
    let agency = app.browser();
    agency.login_ok("studio@agency.example").await;
    let (status, html) = agency.page(&format!("/assets/{id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Check out"));
    let csrf = csrf_in(&html).unwrap();
    let r = agency
        .post_form(
            &format!("/assets/{id}/checkout"),
            &[("csrf_token", &csrf), ("action", "out")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = agency.page(&format!("/assets/{id}")).await;
    assert!(html.contains("checked out by you") && html.contains("Check in"));

    // The file form carries its token in the action URL; without it the post is refused.
    let form = || {
        reqwest::multipart::Form::new()
            .text("comment", "from the page")
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"page version".to_vec()).file_name("logo.png"),
            )
    };
    let r = agency
        .client
        .post(agency.url(&format!("/assets/{id}/checkin")))
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = agency
        .client
        .post(agency.url(&format!("/assets/{id}/checkin?csrf_token={csrf}")))
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, html) = agency.page("/submissions").await;
    assert!(html.contains("new version in review"));

    // The admin approves from the queue page.
    let admin = app.browser();
    admin.login_ok("admin@example.com").await;
    let (status, html) = admin.page("/admin/review").await;
    assert_eq!(status, 200);
    assert!(html.contains("from the page"));
    let csrf = csrf_in(&html).unwrap();
    let r = admin
        .post_form(
            "/admin/review/bulk",
            &[
                ("csrf_token", &csrf),
                ("action", "approve"),
                ("asset_ids", id),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(original(&f.partner, id).await, b"page version");
    let (_, html) = admin.page("/admin/review").await;
    assert!(html.contains("Nothing waits for review"));
    // Approving from the asset page can publish into another folder.
    let elsewhere = f.admin.folder(None, "Published").await;
    let draft = f
        .admin
        .upload_id(&f.folder, "draft.png", b"d".to_vec())
        .await;
    let (_, html) = admin.page(&format!("/assets/{draft}")).await;
    assert!(html.contains("into /Published"));
    let r = admin
        .post_form(
            &format!("/assets/{draft}/lifecycle"),
            &[
                ("csrf_token", &csrf),
                ("action", "approve"),
                ("folder_id", &elsewhere),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let moved = expect_json(f.admin.get(&format!("/assets/{draft}")).await, 200).await;
    assert_eq!(moved["folder_id"], elsewhere.as_str());
    assert_eq!(moved["status"], "approved");
    // Partners have no queue page.
    let partner = app.browser();
    partner.login_ok("shop@retail.example").await;
    assert_eq!(partner.page("/admin/review").await.0, 404);
}

on_both_backends!(
    a_checked_in_version_waits_for_review_while_partners_keep_the_approved_one,
    a_rejected_version_leaves_the_published_one_and_reaches_the_contributor,
    locks_are_checked,
    the_pages_carry_the_whole_cycle,
);

/// The contributor's mail only: other mail (recall notices from the job queue) arrives at its
/// own moment.
/// Moves past the review session (decisions ten minutes apart) and lets the jobs run.
fn session_over(app: &TestApp) {
    app.advance(std::time::Duration::from_millis(
        assetport::library::outcomes::SESSION_MS as u64 + 1000,
    ));
    app.state.jobs.wake();
}

fn to_studio(mail: Vec<String>) -> Vec<String> {
    mail.into_iter()
        .filter(|m| m.contains("To: studio@agency.example"))
        .collect()
}
