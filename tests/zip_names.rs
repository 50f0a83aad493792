//! A ZIP is named after what it came from and the day (issue 21): a selection made on a
//! folder's page after that folder, one made from a search after the search, a whole folder
//! or a collection after it — "Campaigns-2026-12-04.zip", never "assets.zip". Both databases.
mod common;
use common::*;

fn file_name(r: &reqwest::Response) -> String {
    let cd = r.headers()["content-disposition"].to_str().unwrap();
    cd.split("filename=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("{cd}"))
        .to_string()
}

async fn zips_are_named_after_their_folder_or_search_and_the_day(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Campaigns").await;
    let a = admin.published(&folder, "a.png", png(20, 20, 1)).await;
    let b = admin.published(&folder, "b.png", png(20, 20, 2)).await;
    let day = assetport::reports::date(app.state.clock.now_ms());
    let page = app.browser();
    page.login_ok("admin@example.com").await;
    let csrf = page.csrf(&format!("/folders/{folder}")).await;
    let post = |fields: Vec<(&'static str, String)>| {
        let page = &page;
        let csrf = csrf.clone();
        async move {
            let mut f: Vec<(&str, String)> = vec![("csrf_token", csrf)];
            f.extend(fields);
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            page.post_form("/zip", &pairs).await
        }
    };
    // A selection on the folder's page.
    let r = post(vec![
        ("folder_id", folder.clone()),
        ("asset_ids", a.clone()),
        ("asset_ids", b.clone()),
    ])
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(file_name(&r), format!("Campaigns-{day}.zip"));
    // The whole folder.
    let r = post(vec![
        ("folder_id", folder.clone()),
        ("whole_folder", "1".into()),
    ])
    .await;
    assert_eq!(file_name(&r), format!("Campaigns-{day}.zip"));
    // From a search.
    let r = post(vec![("q", "spring hero".into()), ("asset_ids", a.clone())]).await;
    assert_eq!(file_name(&r), format!("search spring hero-{day}.zip"));
    // Nothing to name it after.
    let r = post(vec![("asset_ids", a.clone())]).await;
    assert_eq!(file_name(&r), format!("selection-{day}.zip"));
    // A folder the member cannot see names nothing.
    let hidden = admin.folder(None, "Secret plans").await;
    let g = admin.group("Partners").await;
    admin.grant(&folder, &g, true, true, false).await;
    app.member("p@partner.test", &[&g]).await;
    let partner = app.browser();
    partner.login_ok("p@partner.test").await;
    let csrf = partner.csrf(&format!("/folders/{folder}")).await;
    let r = partner
        .post_form(
            "/zip",
            &[
                ("csrf_token", &csrf),
                ("folder_id", &hidden),
                ("asset_ids", &a),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(file_name(&r), format!("selection-{day}.zip"));
}

on_both_backends!(zips_are_named_after_their_folder_or_search_and_the_day);
