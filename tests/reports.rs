//! Reports (issue 7): a known sequence of events — downloads one by one, in a ZIP and through a
//! link, agency submissions and their review, sign-ins, and downloads from ten days ago — and
//! the figures each table and CSV must show for it.
mod common;

use common::*;
use serde_json::json;

const DAY: i64 = 86_400_000;

fn date(ms: i64) -> String {
    assetport::clock::rfc3339(ms).chars().take(10).collect()
}

/// The rows of a CSV as Python's csv module reads them (an independent reader).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let out = python(
        "import csv, json, sys; print(json.dumps(list(csv.reader(sys.stdin.read().lstrip('\\ufeff').splitlines(True)))))",
        text.as_bytes(),
        "CSV reader failed",
    );
    serde_json::from_slice(&out).expect("CSV parses")
}

async fn csv(b: &Browser, name: &str, query: &str) -> Vec<Vec<String>> {
    let r = b.get(&format!("/admin/reports/{name}.csv?{query}")).await;
    assert_eq!(r.status(), 200, "{name}");
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(".csv"));
    let text = r.text().await.unwrap();
    assert!(text.starts_with('\u{feff}'), "a BOM for spreadsheets");
    csv_rows(&text)
}

async fn reports_add_up_for_a_known_sequence(app: TestApp) {
    let admin = app.admin().await;
    let retail = admin.folder(None, "Retail").await;
    let spring = admin.folder(Some(&retail), "Spring").await;
    let press = admin.folder(None, "Press").await;
    let retailers = admin.group("Retailers").await;
    let journalists = admin.group("Journalists").await;
    let agencies = admin.group("Agencies").await;
    admin.grant(&retail, &retailers, true, true, false).await;
    admin.grant(&press, &journalists, true, true, false).await;
    admin.grant(&retail, &agencies, true, false, true).await;
    let shop = app.member("shop@retail.example", &[&retailers]).await;
    let journo = app.member("desk@press.example", &[&journalists]).await;
    let agency = app.member("studio@agency.example", &[&agencies]).await;

    let a1 = admin
        .published(&spring, "poster.pdf", b"poster".to_vec())
        .await;
    let a2 = admin
        .published(&press, "release.pdf", b"release".to_vec())
        .await;
    let a3 = admin
        .published(&retail, "shelf.pdf", b"shelf".to_vec())
        .await;
    // A title a spreadsheet would run as a formula.
    let r = admin
        .patch(&format!("/assets/{a3}"), json!({ "title": "=SUM(1,2)" }))
        .await;
    assert_eq!(r.status(), 200);

    // Downloads: shop takes a1 twice and a3 once, then both in one ZIP; the journalist a2.
    for id in [&a1, &a1, &a3] {
        let r = shop.get(&format!("/assets/{id}/original")).await;
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
    }
    let r = shop.post("/zip", json!({ "asset_ids": [a1, a3] })).await;
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();
    let r = journo.get(&format!("/assets/{a2}/original")).await;
    r.bytes().await.unwrap();
    // A share link for a2: three page views, one download.
    let link = admin
        .create_link(json!({ "asset_ids": [a2], "title": "Press kit" }))
        .await;
    let v = visitor();
    for _ in 0..3 {
        assert_eq!(v.get(&link.url).send().await.unwrap().status(), 200);
    }
    let r = v
        .get(format!("{}/assets/{a2}/original", link.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();
    // The agency submits two designs; one is approved, one rejected.
    let s1 = agency
        .upload_id(&retail, "idea-1.pdf", b"one".to_vec())
        .await;
    let s2 = agency
        .upload_id(&retail, "idea-2.pdf", b"two".to_vec())
        .await;
    admin.approve(&s1).await;
    assert_eq!(
        admin
            .post(
                &format!("/assets/{s2}/reject"),
                json!({ "comment": "off brand" })
            )
            .await
            .status(),
        200
    );
    // Sign-ins: one failed, then the admin's own.
    let b = app.browser();
    assert_eq!(
        b.login("admin@example.com", "wrong password")
            .await
            .status(),
        401
    );
    b.login_ok("admin@example.com").await;
    // Two downloads of a1 ten days ago.
    let now = app.state.clock.now_ms();
    for i in 0..2 {
        sqlx::query(
            "INSERT INTO events (id, kind, actor_user_id, asset_id, detail, ip, user_agent, created_at) \
             VALUES ($1, 'download', $2, $3, '', '', '', $4)",
        )
        .bind(format!("backdated{i}"))
        .bind(&shop.user_id)
        .bind(&a1)
        .bind(now - 10 * DAY)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    }
    // Link views are recorded in the background: wait until all three are in.
    common::eventually("three link views", || async {
        (app.count("events WHERE kind = 'link_view'").await == 3).then_some(())
    })
    .await;

    // The page, for the default range (the last 30 days).
    let (status, html) = b.page("/admin/reports").await;
    assert_eq!(status, 200);
    assert!(html.contains("role=\"img\""), "an accessible chart");
    assert!(
        html.contains("9 downloads over 30 days"),
        "the chart's description"
    );
    assert!(html.contains("(9 from "), "the total");
    assert!(html.contains("Press kit"));
    assert!(
        !html.contains("src=\"http"),
        "no external scripts or images"
    );

    let today = date(now);
    let earlier = date(now - 10 * DAY);
    let per_day = csv(&b, "downloads-per-day", "").await;
    assert_eq!(per_day[0], ["date", "downloads"]);
    assert_eq!(per_day.len(), 31, "a row for every day");
    let day = |d: &str| {
        per_day
            .iter()
            .find(|r| r[0] == d)
            .map(|r| r[1].clone())
            .unwrap()
    };
    assert_eq!(day(&today), "7");
    assert_eq!(day(&earlier), "2");

    let assets = csv(&b, "assets", "").await;
    assert_eq!(assets[0], ["asset", "folder", "downloads", "asset_id"]);
    assert_eq!(assets[1][..3], ["poster.pdf", "/Retail/Spring", "5"]);
    let counts: Vec<(&str, &str)> = assets[1..]
        .iter()
        .map(|r| (r[3].as_str(), r[2].as_str()))
        .collect();
    assert!(counts.contains(&(a2.as_str(), "2")), "link downloads count");
    assert!(
        counts.contains(&(a3.as_str(), "2")),
        "ZIP downloads count per asset"
    );
    let shelf = assets.iter().find(|r| r[3] == a3).unwrap();
    assert_eq!(shelf[0], "'=SUM(1,2)", "formulas stay text");

    let people = csv(&b, "people", "").await;
    assert_eq!(people[1][..3], ["shop", "shop@retail.example", "7"]);
    assert_eq!(people[2][..3], ["desk", "desk@press.example", "1"]);
    assert_eq!(people.len(), 3);

    let groups = csv(&b, "groups", "").await;
    assert_eq!(groups[1][0], "Retailers");
    assert_eq!(groups[1][2], "7");
    assert_eq!(groups[2][0], "Journalists");
    assert_eq!(groups[2][2], "1");

    let areas = csv(&b, "areas", "").await;
    assert_eq!(areas[1][..3], ["/Retail", "", "7"]);
    assert_eq!(areas[2][..3], ["/Press", "", "2"]);

    let links = csv(&b, "links", "").await;
    assert_eq!(links[0], ["link", "state", "views", "downloads", "link_id"]);
    assert_eq!(links[1][..4], ["Press kit", "active", "3", "1"]);

    let subs = csv(&b, "submissions", "").await;
    assert_eq!(subs.len(), 2, "admins' own uploads are not submissions");
    assert_eq!(
        subs[1][..6],
        ["studio", "studio@agency.example", "2", "1", "1", "0"]
    );
    let median: f64 = subs[1][6].parse().unwrap();
    assert!(
        (0.0..0.1).contains(&median),
        "reviewed within minutes: {median}"
    );

    let logins = csv(&b, "logins", "").await;
    let today_logins = logins.iter().find(|r| r[0] == today).unwrap();
    assert_eq!(today_logins[1..], ["1", "1"]);

    // A narrower range: only the day ten days ago.
    let query = format!("from={earlier}&to={earlier}");
    let narrow = csv(&b, "downloads-per-day", &query).await;
    assert_eq!(narrow, [vec!["date", "downloads"], vec![&earlier, "2"]]);
    let (_, html) = b.page(&format!("/admin/reports?{query}")).await;
    assert!(html.contains("(2 from "));
    assert!(!html.contains("Press kit"), "no link activity that day");

    // Bad input: a clear error, not a guess.
    let r = b.get("/admin/reports/assets.csv?from=yesterday").await;
    assert_eq!(r.status(), 400);
    let r = b
        .get(&format!(
            "/admin/reports/assets.csv?from={today}&to={earlier}"
        ))
        .await;
    assert_eq!(r.status(), 400);
    let (status, html) = b.page("/admin/reports?from=2020-01-01&to=2026-01-01").await;
    assert_eq!(status, 200);
    assert!(html.contains("at most 366 days"));
    assert_eq!(b.get("/admin/reports/secrets.csv").await.status(), 404);

    // Reports are for admins: members get the same 404 as for a missing page.
    let member = app.browser();
    member.login_ok("shop@retail.example").await;
    assert_eq!(member.get("/admin/reports").await.status(), 404);
    assert_eq!(member.get("/admin/reports/assets.csv").await.status(), 404);
}

on_both_backends!(reports_add_up_for_a_known_sequence);
