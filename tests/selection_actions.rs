//! Actions wherever a selection exists (issue 21): a folder's grid and search results carry the
//! same selection bar — Download selected (ZIP), and for admins Share selected, Edit selected and
//! "Add selected to" a collection; search results can be selected and zipped, the ZIP named
//! after the search. What members see stays theirs: no admin actions, and a ZIP holds only what
//! they may download. Both databases.
mod common;
use common::*;
use serde_json::json;

fn zip_names(zip: &[u8]) -> Vec<String> {
    zip_entries(zip).into_iter().map(|(n, _)| n).collect()
}

fn checkboxes(html: &str) -> usize {
    html.matches("name=\"asset_ids\"").count()
}

async fn collection_ids(admin: &Api, id: &str) -> Vec<String> {
    let j = expect_json(admin.get(&format!("/collections/{id}")).await, 200).await;
    let mut ids: Vec<String> = j["assets"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

async fn search_results_and_folders_share_one_selection_bar(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Harbour").await;
    let hidden = admin.folder(None, "Board only").await;
    let a = admin
        .published(&folder, "harbour-a.png", png(20, 20, 1))
        .await;
    let b = admin
        .published(&folder, "harbour-b.png", png(20, 20, 2))
        .await;
    let secret = admin
        .published(&hidden, "harbour-plan.png", png(20, 20, 3))
        .await;
    let spring = expect_json(
        admin
            .post("/collections", json!({ "name": "Spring picks" }))
            .await,
        201,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();

    let page = app.browser();
    page.login_ok("admin@example.com").await;
    // The folder's bar and the search's bar offer the same actions.
    let (_, folder_html) = page.page(&format!("/folders/{folder}")).await;
    let (status, search_html) = page.page("/search?q=harbour").await;
    assert_eq!(status, 200);
    for html in [&folder_html, &search_html] {
        for action in [
            "Download selected (ZIP)",
            "Share selected…",
            "Edit selected…",
            "Add selected to",
            "Spring picks",
        ] {
            assert!(html.contains(action), "no {action:?}");
        }
    }
    assert_eq!(checkboxes(&search_html), 3, "every result can be selected");
    assert!(search_html
        .contains("<form method=\"post\" action=\"/zip\" class=\"selection\" id=\"selection\">"));

    // Added from the search results: back on the same search, both in the collection.
    let csrf = page.csrf("/search?q=harbour").await;
    let back = "/search?q=harbour&page=1";
    let r = page
        .post_form(
            "/collections/add",
            &[
                ("csrf_token", &csrf),
                ("searched", "harbour"),
                ("back", back),
                ("preset", ""),
                ("add_to_collection", &spring),
                ("asset_ids", &a),
                ("asset_ids", &secret),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], back);
    let mut want = vec![a.clone(), secret.clone()];
    want.sort();
    assert_eq!(collection_ids(&admin, &spring).await, want);
    // From the folder's grid: the form also names its folder, which changes nothing.
    let r = page
        .post_form(
            "/collections/add",
            &[
                ("csrf_token", &csrf),
                ("folder_id", &folder),
                ("back", &format!("/folders/{folder}")),
                ("add_to_collection", &spring),
                ("asset_ids", &b),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(collection_ids(&admin, &spring).await.len(), 3);

    // Selected search results as one ZIP, named after the search.
    let r = page
        .post_form(
            "/zip",
            &[
                ("csrf_token", &csrf),
                ("searched", "harbour"),
                ("back", back),
                ("add_to_collection", &spring),
                ("asset_ids", &a),
                ("asset_ids", &b),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.contains("search harbour-"), "{cd}");
    let zip = r.bytes().await.unwrap();
    assert_eq!(
        zip_names(&zip).len(),
        2,
        "the collection field did not make it a collection's ZIP"
    );

    // A partner who sees Harbour only: their results, their actions, their ZIP.
    let g = admin.group("Partners").await;
    admin.grant(&folder, &g, true, true, false).await;
    app.member("p@partner.test", &[&g]).await;
    let partner = app.browser();
    partner.login_ok("p@partner.test").await;
    let (_, html) = partner.page("/search?q=harbour").await;
    assert_eq!(checkboxes(&html), 2);
    assert!(html.contains("Download selected (ZIP)"));
    for admin_only in [
        "Share selected",
        "Edit selected",
        "Add selected to",
        "Spring picks",
    ] {
        assert!(!html.contains(admin_only), "a partner sees {admin_only:?}");
    }
    let csrf = partner.csrf("/search?q=harbour").await;
    let r = partner
        .post_form(
            "/zip",
            &[
                ("csrf_token", &csrf),
                ("q", "harbour"),
                ("asset_ids", &a),
                ("asset_ids", &secret),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(zip_names(&r.bytes().await.unwrap()), ["harbour-a.png"]);
    // And no adding to collections.
    let r = partner
        .post_form(
            "/collections/add",
            &[
                ("csrf_token", &csrf),
                ("add_to_collection", &spring),
                ("asset_ids", &a),
            ],
        )
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(collection_ids(&admin, &spring).await.len(), 3);
}

/// A member who may only view gets to ask, not a ZIP that would hold nothing.
async fn view_only_results_offer_a_request_not_a_zip(app: TestApp) {
    let admin = app.admin().await;
    let shown = admin.folder(None, "Lookbook").await;
    let open = admin.folder(None, "Press").await;
    admin.published(&shown, "look-a.png", png(20, 20, 1)).await;
    admin.published(&open, "look-b.png", png(20, 20, 2)).await;
    let viewers = admin.group("Viewers").await;
    admin.grant(&shown, &viewers, true, false, false).await;
    app.member("v@partner.test", &[&viewers]).await;
    let v = app.browser();
    v.login_ok("v@partner.test").await;
    let (_, html) = v.page("/search?q=look").await;
    assert_eq!(checkboxes(&html), 1);
    assert!(html.contains("Request download of selected"), "{html}");
    assert!(!html.contains("Download selected (ZIP)"), "{html}");
    // Given download on the other folder: both, for a mixed page.
    admin.grant(&open, &viewers, true, true, false).await;
    let (_, html) = v.page("/search?q=look").await;
    assert_eq!(checkboxes(&html), 2);
    assert!(html.contains("Download selected (ZIP)"));
    assert!(html.contains("Request download of selected"));
}

on_both_backends!(
    search_results_and_folders_share_one_selection_bar,
    view_only_results_offer_a_request_not_a_zip,
);
