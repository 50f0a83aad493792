//! Search (issue 5): full-text over title, description, keywords, file name and folder path on
//! the database's own engine, with the same answers on SQLite FTS5 and PostgreSQL tsvector,
//! facets, sorting, and exactly the permissions of browsing (SPEC §2.2).
mod common;

use common::{expect_json, Api, TestApp};
use serde_json::{json, Value};

struct World {
    admin: Api,
    partner: Api,
    area: String,
    hidden: String,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let area = admin.folder(None, "Retail EMEA").await;
    let hidden = admin.folder(None, "Internal").await;
    let group = admin.group("Partners").await;
    admin.grant(&area, &group, true, true, false).await;
    let partner = app.member("partner@example.com", &[&group]).await;
    World {
        admin,
        partner,
        area,
        hidden,
    }
}

async fn upload(api: &Api, folder: &str, name: &str, fields: &[(&str, &str)]) -> String {
    let r = api
        .upload_raw(folder, name, b"bytes".to_vec(), fields)
        .await;
    expect_json(r, 201).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The ids a search answers, sorted (engines may rank ties differently; the set must match).
async fn ids(api: &Api, query: &str) -> Vec<String> {
    let j = expect_json(api.get(&format!("/search?{query}")).await, 200).await;
    let mut out: Vec<String> = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

fn sorted(mut v: Vec<&String>) -> Vec<String> {
    v.sort();
    v.into_iter().cloned().collect()
}

async fn words_prefixes_phrases_and_exclusions(app: TestApp) {
    let w = world(&app).await;
    let harbour = upload(
        &w.admin,
        &w.area,
        "IMG_1234.jpg",
        &[
            ("title", "Harbour at dawn"),
            ("description", "Fishing boats in the summer sale campaign"),
            ("keywords", "sea, boats"),
        ],
    )
    .await;
    let night = upload(
        &w.admin,
        &w.area,
        "harbour-night.jpg",
        &[("title", "Harbour by night"), ("keywords", "night, sea")],
    )
    .await;
    let cafe = upload(
        &w.admin,
        &w.area,
        "menu.pdf",
        &[
            ("title", "Café Müller menu"),
            ("description", "sale summer"),
        ],
    )
    .await;
    for id in [&harbour, &night, &cafe] {
        w.admin.approve(id).await;
    }
    // Words, prefixes, all words must match.
    assert_eq!(
        ids(&w.partner, "q=harbour").await,
        sorted(vec![&harbour, &night])
    );
    assert_eq!(
        ids(&w.partner, "q=harb").await,
        sorted(vec![&harbour, &night])
    );
    assert_eq!(
        ids(&w.partner, "q=harbour%20dawn").await,
        vec![harbour.clone()]
    );
    // A phrase keeps its order; loose words do not.
    assert_eq!(
        ids(&w.partner, "q=%22summer%20sale%22").await,
        vec![harbour.clone()]
    );
    assert_eq!(
        ids(&w.partner, "q=summer%20sale").await,
        sorted(vec![&harbour, &cafe])
    );
    // Exclusion, accents, file names, keywords, folder path.
    assert_eq!(
        ids(&w.partner, "q=harbour%20-night").await,
        vec![harbour.clone()]
    );
    assert_eq!(ids(&w.partner, "q=cafe%20muller").await, vec![cafe.clone()]);
    assert_eq!(ids(&w.partner, "q=CAFÉ").await, vec![cafe.clone()]);
    assert_eq!(ids(&w.partner, "q=img%201234").await, vec![harbour.clone()]);
    assert_eq!(ids(&w.partner, "q=boats").await, vec![harbour.clone()]);
    assert_eq!(ids(&w.partner, "q=emea").await.len(), 3);
    // Filters and facets.
    assert_eq!(ids(&w.partner, "type=pdf").await, vec![cafe.clone()]);
    assert_eq!(
        ids(&w.partner, "keyword=Sea").await,
        sorted(vec![&harbour, &night])
    );
    let j = expect_json(w.partner.get("/search?q=harbour&facets=1").await, 200).await;
    assert_eq!(j["total"], 2);
    assert_eq!(j["facets"]["type"], json!([["image", 2]]));
    let keywords = j["facets"]["keyword"].as_array().unwrap();
    assert!(keywords.contains(&json!(["sea", 2])), "{keywords:?}");
    // Sorting by name is the same on both engines.
    let j = expect_json(w.partner.get("/search?q=harbour&sort=name").await, 200).await;
    let names: Vec<&str> = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["IMG_1234.jpg", "harbour-night.jpg"]);
    // Hostile syntax is words or nothing, never an error.
    for q in [
        "%22",
        "*",
        "%28%29%26%7C%21",
        "NEAR(a%20b)",
        "a%3A*",
        "%27%3B%20DROP%20TABLE%20assets",
    ] {
        let r = w.partner.get(&format!("/search?q={q}")).await;
        assert_eq!(r.status(), 200, "q={q}");
    }
}

async fn results_follow_permissions_exactly(app: TestApp) {
    let w = world(&app).await;
    let visible = upload(
        &w.admin,
        &w.area,
        "poster.jpg",
        &[("title", "Lighthouse poster")],
    )
    .await;
    w.admin.approve(&visible).await;
    let draft = upload(
        &w.admin,
        &w.area,
        "draft.jpg",
        &[("title", "Lighthouse draft")],
    )
    .await;
    let secret = upload(
        &w.admin,
        &w.hidden,
        "secret.jpg",
        &[("title", "Lighthouse secret")],
    )
    .await;
    w.admin.approve(&secret).await;
    let later = upload(
        &w.admin,
        &w.area,
        "later.jpg",
        &[("title", "Lighthouse later")],
    )
    .await;
    w.admin.approve(&later).await;
    let tomorrow = app.in_secs(24 * 3600);
    let r = w
        .admin
        .patch(
            &format!("/assets/{later}"),
            json!({ "available_from": tomorrow }),
        )
        .await;
    assert_eq!(r.status(), 200);

    assert_eq!(ids(&w.partner, "q=lighthouse").await, vec![visible.clone()]);
    assert_eq!(
        ids(&w.admin, "q=lighthouse").await,
        sorted(vec![&visible, &draft, &secret, &later])
    );
    assert_eq!(
        ids(&w.admin, "q=lighthouse&status=draft").await,
        vec![draft.clone()]
    );
    assert_eq!(
        ids(&w.admin, "q=lighthouse&licence=embargoed").await,
        vec![later.clone()]
    );
    // A folder filter cannot reach into what the caller may not see.
    assert!(ids(&w.partner, &format!("folder_id={}", w.hidden))
        .await
        .is_empty());
    // Members with no grants find nothing; without a token, 401.
    let stranger = app.member("stranger@example.com", &[]).await;
    assert!(ids(&stranger, "q=lighthouse").await.is_empty());
    let r = reqwest::get(app.url("/api/v1/search?q=lighthouse"))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Changes show on the next search: edits, moves, archiving.
    let r = w
        .admin
        .patch(
            &format!("/assets/{visible}"),
            json!({ "title": "Beacon poster" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(ids(&w.partner, "q=lighthouse").await.is_empty());
    assert_eq!(ids(&w.partner, "q=beacon").await, vec![visible.clone()]);
    let r = w
        .admin
        .patch(
            &format!("/folders/{}", w.area),
            json!({ "name": "Retail Nordics" }),
        )
        .await;
    if r.status() == 200 {
        assert_eq!(ids(&w.partner, "q=nordics").await, vec![visible.clone()]);
    }
    assert_eq!(
        w.admin
            .post(&format!("/assets/{visible}/archive"), json!({}))
            .await
            .status(),
        200
    );
    assert!(ids(&w.partner, "q=beacon").await.is_empty());
}

async fn bad_search_input_is_refused_clearly(app: TestApp) {
    let w = world(&app).await;
    for (q, want) in [
        ("sort=sideways", 400),
        ("page=0", 400),
        ("page=abc", 400),
        ("year=twenty", 400),
    ] {
        let r = w.partner.get(&format!("/search?{q}")).await;
        assert_eq!(r.status(), want, "{q}");
        let j: Value = r.json().await.unwrap();
        assert_eq!(j["error"], "invalid_input", "{q}: {j}");
    }
    let long = "a".repeat(501);
    assert_eq!(
        w.partner.get(&format!("/search?q={long}")).await.status(),
        400
    );
}

async fn the_search_page_shows_results_and_facets(app: TestApp) {
    let w = world(&app).await;
    let id = upload(
        &w.admin,
        &w.area,
        "tulips.jpg",
        &[("title", "Tulip field"), ("keywords", "spring")],
    )
    .await;
    w.admin.approve(&id).await;
    let b = app.browser();
    b.login_ok("partner@example.com").await;
    let (status, html) = b.page("/search?q=tulip").await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("/assets/{id}")), "{html}");
    assert!(html.contains("Keyword"), "facets shown");
    assert!(
        html.contains("keyword=spring"),
        "facet links narrow the search"
    );
    let (status, html) = b.page("/search?q=%22%28%29*%20zzqx").await;
    assert_eq!(status, 200);
    assert!(html.contains("Nothing found"));
    // Not signed in: to the login page.
    let r = app.browser().get("/search?q=tulip").await;
    assert_eq!(r.status(), 303);
}

on_both_backends!(
    words_prefixes_phrases_and_exclusions,
    results_follow_permissions_exactly,
    bad_search_input_is_refused_clearly,
    the_search_page_shows_results_and_facets,
);

/// More matches than the engine ranks at first (256), the best of them all hidden: the search
/// widens until it has the visible ones, so a partner still finds exactly what it may see.
async fn hidden_best_matches_do_not_crowd_out_visible_ones(app: TestApp) {
    let w = world(&app).await;
    for i in 0..300 {
        let id = upload(
            &w.admin,
            &w.hidden,
            &format!("beacon-{i}.txt"),
            &[("title", "Beacon beacon beacon")],
        )
        .await;
        if i % 50 == 0 {
            w.admin.approve(&id).await;
        }
    }
    let mut visible = Vec::new();
    for i in 0..5 {
        let id = upload(
            &w.admin,
            &w.area,
            &format!("harbour-{i}.txt"),
            &[(
                "description",
                "A long description of the harbour at dawn with one beacon somewhere in it",
            )],
        )
        .await;
        w.admin.approve(&id).await;
        visible.push(id);
    }
    visible.sort();
    assert_eq!(ids(&w.partner, "q=beacon").await, visible);
    let j = expect_json(w.admin.get("/search?q=beacon").await, 200).await;
    assert_eq!(j["total"], 305);
    assert_eq!(j["total_capped"], false);
    assert!(j["next"].is_number());
}

mod widening {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let backend = common::Backend::Sqlite;
        if let Some(app) = common::spawn_with(backend, |c| c.job_workers = 0).await {
            hidden_best_matches_do_not_crowd_out_visible_ones(app).await
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let backend = common::Backend::Postgres;
        if let Some(app) = common::spawn_with(backend, |c| c.job_workers = 0).await {
            hidden_best_matches_do_not_crowd_out_visible_ones(app).await
        }
    }
}
