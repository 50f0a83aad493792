//! Search that forgives (issue 21): when the words find nothing, a misspelt word is corrected
//! to a close word of the library ("sunst" → "sunset") and the corrected search is answered,
//! with the same corrections on SQLite and PostgreSQL, and never towards a word only hidden
//! assets hold. The search page says so ("Showing results for …"), names its facets in plain
//! words and has one search box.
mod common;

use common::{expect_json, Api, TestApp};
use serde_json::Value;

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

async fn published(api: &Api, folder: &str, name: &str, fields: &[(&str, &str)]) -> String {
    let id = upload(api, folder, name, fields).await;
    api.approve(&id).await;
    id
}

/// What one search answers: the ids found (sorted) and the query that found them, when it
/// was a correction.
async fn search(api: &Api, q: &str) -> (Vec<String>, Option<String>) {
    let q = serde_urlencoded::to_string([("q", q)]).unwrap();
    let j = expect_json(api.get(&format!("/search?{q}")).await, 200).await;
    answer(&j)
}

fn answer(j: &Value) -> (Vec<String>, Option<String>) {
    let mut ids: Vec<String> = j["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    assert!(
        j.get("corrected_query").is_some(),
        "the field is always there: {j}"
    );
    (ids, j["corrected_query"].as_str().map(str::to_string))
}

fn found(ids: &[&String], corrected: &str) -> (Vec<String>, Option<String>) {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    (v, Some(corrected.to_string()))
}

fn exact(ids: &[&String]) -> (Vec<String>, Option<String>) {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    (v, None)
}

async fn typos_find_the_word_meant(app: TestApp) {
    let w = world(&app).await;
    let sunset = published(
        &w.admin,
        &w.area,
        "evening.jpg",
        &[("title", "Sunset over the harbour"), ("keywords", "beach")],
    )
    .await;
    let lighthouse = published(
        &w.admin,
        &w.area,
        "tower.jpg",
        &[("title", "Lighthouse at dawn")],
    )
    .await;
    let tulips = published(
        &w.admin,
        &w.area,
        "flowers.jpg",
        &[("title", "Tulip field"), ("description", "spring campaign")],
    )
    .await;

    // One letter missing, two swapped, one too many, one wrong.
    assert_eq!(
        search(&w.partner, "sunst").await,
        found(&[&sunset], "sunset")
    );
    assert_eq!(
        search(&w.partner, "snuset").await,
        found(&[&sunset], "sunset")
    );
    assert_eq!(
        search(&w.partner, "lighthousse").await,
        found(&[&lighthouse], "lighthouse")
    );
    assert_eq!(
        search(&w.partner, "tulib").await,
        found(&[&tulips], "tulip")
    );
    assert_eq!(
        search(&w.partner, "Campaing").await,
        found(&[&tulips], "campaign")
    );
    // Several words, one misspelt: the others stay as they were.
    assert_eq!(
        search(&w.partner, "harbour sunest").await,
        found(&[&sunset], "harbour sunset")
    );
    assert_eq!(
        search(&w.partner, "Tulip feild spring").await,
        found(&[&tulips], "tulip field spring")
    );
    // Phrases keep their quotes, exclusions their minus.
    assert_eq!(
        search(&w.partner, "\"over the harbor\"").await,
        found(&[&sunset], "\"over the harbour\"")
    );
    assert_eq!(
        search(&w.partner, "lihgthouse -sunset").await,
        found(&[&lighthouse], "lighthouse -sunset")
    );

    // No correction when the words exist: found as they are, or nothing.
    assert_eq!(search(&w.partner, "sunset").await, exact(&[&sunset]));
    assert_eq!(search(&w.partner, "sunse").await, exact(&[&sunset]));
    assert_eq!(search(&w.partner, "sunset tulip").await, exact(&[]));
    assert_eq!(search(&w.partner, "sunset -beach").await, exact(&[]));
    // Nothing close, words too short to guess at, numbers: nothing.
    assert_eq!(search(&w.partner, "zzqx").await, exact(&[]));
    assert_eq!(search(&w.partner, "xq").await, exact(&[]));
    assert_eq!(search(&w.partner, "sunst 2031").await, exact(&[]));
    // Every misspelt word must find a close word: one without any gives no correction.
    assert_eq!(search(&w.partner, "sunst qqqqqq").await, exact(&[]));

    // Asked not to correct (the page's "Search instead for …"): nothing, as typed.
    let j = expect_json(w.partner.get("/search?q=sunst&autocorrect=0").await, 200).await;
    assert_eq!(answer(&j), exact(&[]));
    // The corrected search keeps the filters; if they leave nothing, there is no correction.
    let j = expect_json(w.partner.get("/search?q=sunst&type=image").await, 200).await;
    assert_eq!(answer(&j), found(&[&sunset], "sunset"));
    let j = expect_json(w.partner.get("/search?q=sunst&type=pdf").await, 200).await;
    assert_eq!(answer(&j), exact(&[]));
    // The API says which query answered, totals and facets are the corrected search's.
    let j = expect_json(w.partner.get("/search?q=sunst&facets=1").await, 200).await;
    assert_eq!(j["corrected_query"], "sunset");
    assert_eq!(j["total"], 1);
    assert_eq!(j["facets"]["type"], serde_json::json!([["image", 1]]));
}

async fn corrections_never_point_at_what_the_caller_cannot_see(app: TestApp) {
    let w = world(&app).await;
    // Only in a folder the partner cannot see.
    let moonrise = published(
        &w.admin,
        &w.hidden,
        "m.jpg",
        &[("title", "Moonrise confidential")],
    )
    .await;
    // Visible folder, but a draft.
    let glacier = upload(&w.admin, &w.area, "g.jpg", &[("title", "Glacier draft")]).await;
    // Visible folder, published, but not available until tomorrow.
    let volcano = published(&w.admin, &w.area, "v.jpg", &[("title", "Volcano eruption")]).await;
    let tomorrow = app.in_secs(24 * 3600);
    let r = w
        .admin
        .patch(
            &format!("/assets/{volcano}"),
            serde_json::json!({ "available_from": tomorrow }),
        )
        .await;
    assert_eq!(r.status(), 200);
    // Two close words: "harbor" only hidden, "harbour" visible.
    let hidden_harbor =
        published(&w.admin, &w.hidden, "h1.jpg", &[("title", "Harbor plans")]).await;
    let harbour = published(&w.admin, &w.area, "h2.jpg", &[("title", "Harbour view")]).await;

    for typo in ["moonrse", "glaicer", "volcanp"] {
        assert_eq!(search(&w.partner, typo).await, exact(&[]), "{typo}");
    }
    // The admin sees all of them, so is offered all of them.
    assert_eq!(
        search(&w.admin, "moonrse").await,
        found(&[&moonrise], "moonrise")
    );
    assert_eq!(
        search(&w.admin, "glaicer").await,
        found(&[&glacier], "glacier")
    );
    assert_eq!(
        search(&w.admin, "volcanp").await,
        found(&[&volcano], "volcano")
    );
    // Equally close, "harbor" comes first; the partner never sees it, and gets "harbour".
    assert_eq!(
        search(&w.admin, "harbur").await,
        found(&[&hidden_harbor], "harbor")
    );
    assert_eq!(
        search(&w.partner, "harbur").await,
        found(&[&harbour], "harbour")
    );
    // A visible word beside a misspelt hidden one: still nothing.
    assert_eq!(search(&w.partner, "harbour moonrse").await, exact(&[]));

    // Nor on the page.
    let b = app.browser();
    b.login_ok("partner@example.com").await;
    let (status, html) = b.page("/search?q=moonrse").await;
    assert_eq!(status, 200);
    assert!(!html.contains("moonrise"), "{html}");
    assert!(!html.contains("Showing results for"), "{html}");
    assert!(html.contains("Nothing found"), "{html}");

    // A member with no grants at all is offered nothing either.
    let stranger = app.member("stranger@example.com", &[]).await;
    assert_eq!(search(&stranger, "harbur").await, exact(&[]));
}

async fn the_search_page_says_what_it_searched_for(app: TestApp) {
    let w = world(&app).await;
    let id = published(
        &w.admin,
        &w.area,
        "evening.jpg",
        &[("title", "Sunset over the harbour"), ("keywords", "beach")],
    )
    .await;
    let b = app.browser();
    b.login_ok("partner@example.com").await;

    let (status, html) = b.page("/search?q=sunst").await;
    assert_eq!(status, 200);
    // Addresses in attributes have their '&' escaped.
    let html = html.replace("&#38;", "&");
    assert!(html.contains(&format!("/assets/{id}")), "{html}");
    assert!(html.contains("Showing results for"), "{html}");
    assert!(html.contains("<em>sunset</em>"), "{html}");
    assert!(html.contains("Search instead for"), "{html}");
    assert!(
        html.contains("href=\"/search?q=sunst&autocorrect=0\""),
        "{html}"
    );
    // The box holds the query that was answered; the page has exactly one box.
    assert!(html.contains("value=\"sunset\""), "{html}");
    assert_eq!(html.matches("role=\"search\"").count(), 1, "{html}");
    assert_eq!(html.matches("name=\"q\"").count(), 1, "{html}");
    // Facet links and paging go on from the corrected search.
    assert!(html.contains("/search?q=sunset&keyword=beach"), "{html}");

    // As typed, on request: nothing, and no second guess.
    let (_, html) = b.page("/search?q=sunst&autocorrect=0").await;
    assert!(html.contains("Nothing found"), "{html}");
    assert!(!html.contains("Showing results for"), "{html}");
    assert!(html.contains("value=\"sunst\""), "{html}");

    // Found as typed: no note.
    let (_, html) = b.page("/search?q=sunset").await;
    assert!(!html.contains("Showing results for"), "{html}");
    assert!(!html.contains("Search instead"), "{html}");

    // Facets in plain words: group titles and values a person would say.
    let (_, html) = b.page("/search?q=sunset").await;
    for want in [
        "Type",
        "Images",
        "Licence",
        "None set",
        "Year added",
        "Keyword",
    ] {
        assert!(html.contains(want), "{want}: {html}");
    }
    assert!(!html.contains(">open<"), "{html}");
    assert!(!html.contains(">image<"), "{html}");
    // Chosen filters read the same way.
    let (_, html) = b.page("/search?q=sunset&licence=open&type=image").await;
    assert!(html.contains("Licence: None set"), "{html}");
    assert!(html.contains("Type: Images"), "{html}");

    // Other pages keep the header's box.
    let (_, html) = b.page("/collections").await;
    assert_eq!(html.matches("role=\"search\"").count(), 1, "{html}");
}

on_both_backends!(
    typos_find_the_word_meant,
    corrections_never_point_at_what_the_caller_cannot_see,
    the_search_page_says_what_it_searched_for,
);

/// Words for the cross-engine comparison (the bench's vocabulary, in part).
const WORDS: &[&str] = &[
    "harbour",
    "dawn",
    "lighthouse",
    "tulip",
    "field",
    "spring",
    "summer",
    "winter",
    "autumn",
    "poster",
    "banner",
    "flyer",
    "catalogue",
    "brochure",
    "retail",
    "window",
    "display",
    "campaign",
    "launch",
    "product",
    "bottle",
    "label",
    "shelf",
    "store",
    "coffee",
    "chocolate",
    "cake",
    "bread",
    "cheese",
    "wine",
    "beer",
    "juice",
    "water",
    "city",
    "street",
    "bridge",
    "river",
    "mountain",
    "forest",
    "beach",
    "ocean",
    "island",
    "desert",
    "snow",
    "rain",
    "storm",
    "cloud",
    "sunset",
    "sunrise",
    "night",
    "morning",
    "portrait",
    "landscape",
    "studio",
    "meeting",
    "handshake",
    "laptop",
    "phone",
    "tablet",
    "screen",
    "pattern",
    "texture",
    "gradient",
    "colour",
    "yellow",
    "orange",
    "purple",
    "silver",
    "bicycle",
    "train",
    "plane",
    "station",
    "market",
    "garden",
    "flower",
    "leather",
    "cotton",
    "jacket",
    "necklace",
    "bracelet",
    "glasses",
    "perfume",
    "towel",
    "chair",
    "table",
    "kitchen",
    "bathroom",
    "bedroom",
    "terrace",
    "balcony",
    "festival",
    "concert",
    "museum",
    "gallery",
    "theatre",
    "cinema",
    "library",
    "school",
    "university",
    "hospital",
    "restaurant",
    "bakery",
    "butcher",
    "pharmacy",
];

/// Four typos of `word`, chosen by `seed`: a letter dropped, two swapped, one doubled, one
/// replaced.
fn typos(word: &str, seed: usize) -> Vec<String> {
    let c: Vec<char> = word.chars().collect();
    let n = c.len();
    let at = |k: usize| 1 + (seed * 7 + k * 3) % (n - 2);
    let mut out = Vec::new();
    let mut drop = c.clone();
    drop.remove(at(0));
    out.push(drop.into_iter().collect());
    let mut swap = c.clone();
    let i = at(1);
    swap.swap(i, i + 1);
    out.push(swap.into_iter().collect());
    let mut double = c.clone();
    let i = at(2);
    double.insert(i, c[i]);
    out.push(double.into_iter().collect());
    let mut wrong = c.clone();
    let i = at(3);
    wrong[i] = if c[i] == 'x' { 'q' } else { 'x' };
    out.push(wrong.into_iter().collect());
    out
}

/// The corrections both engines give for hundreds of typos over one library: each typo
/// alone and beside a correct word, as (word meant, query, corrected query, results).
async fn corrections(app: &TestApp) -> Vec<(&'static str, String, Option<String>, usize)> {
    let w = world(app).await;
    // The words spread over a few assets, so that not every pair finds one.
    for (i, chunk) in WORDS.chunks(26).enumerate() {
        published(
            &w.admin,
            &w.area,
            &format!("sheet-{i}.txt"),
            &[
                ("title", &format!("Sheet {i}")),
                ("description", &chunk.join(" ")),
            ],
        )
        .await;
    }
    // Close words only a hidden asset holds: never a correction for the partner.
    published(
        &w.admin,
        &w.hidden,
        "hidden.txt",
        &[("description", "harbor dawns tulips summers poster2 bakers")],
    )
    .await;
    let mut out = Vec::new();
    for (i, word) in WORDS.iter().enumerate() {
        for typo in typos(word, i) {
            let next = WORDS[(i + 1) % WORDS.len()];
            for q in [typo.clone(), format!("{typo} {next}")] {
                let (ids, corrected) = search(&w.partner, &q).await;
                out.push((*word, q, corrected, ids.len()));
            }
        }
    }
    out
}

/// The same library on both engines gives the same corrections, typo for typo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_engines_correct_alike() {
    let Some(sqlite) = common::spawn(common::Backend::Sqlite).await else {
        return;
    };
    let on_sqlite = corrections(&sqlite).await;
    let Some(postgres) = common::spawn(common::Backend::Postgres).await else {
        return;
    };
    let on_postgres = corrections(&postgres).await;
    assert_eq!(on_sqlite.len(), on_postgres.len());
    let differ: Vec<_> = on_sqlite
        .iter()
        .zip(&on_postgres)
        .filter(|(a, b)| a != b)
        .collect();
    assert!(differ.is_empty(), "SQLite vs PostgreSQL: {differ:#?}");
    // And they are good corrections: nearly every typo alone finds the word meant.
    let single: Vec<_> = on_sqlite
        .iter()
        .filter(|(_, q, ..)| !q.contains(' '))
        .collect();
    let wrong: Vec<_> = single
        .iter()
        .filter(|(word, _, corrected, _)| corrected.as_deref() != Some(*word))
        .collect();
    assert!(
        wrong.len() * 10 <= single.len(),
        "{} of {} typos not corrected to the word meant: {wrong:#?}",
        wrong.len(),
        single.len()
    );
    // Nothing hidden was ever proposed.
    for (_, q, corrected, _) in &on_sqlite {
        let c = corrected.as_deref().unwrap_or("");
        for hidden in ["harbor", "dawns", "tulips", "summers", "bakers"] {
            assert!(!c.split(' ').any(|w| w == hidden), "{q} → {c}");
        }
    }
}
