//! The fence around the fast SQLite read path (`db/local.rs`, issue 17): every query that goes
//! through `Db::read_optional` answers the same on the calling thread (rusqlite) as through
//! sqlx, and none of them falls back. A new caller of `read_optional` fails
//! `every_fast_path_caller_is_listed` until it is added to the comparison below.
mod common;

use assetport::accounts::{groups, tokens, users};
use assetport::db::Db;
use assetport::{access, library, links, uploadlinks};
use common::{Backend, TestApp};
use serde_json::json;

/// Where `read_optional` is called, and how often; the comparison covers each one.
const CALLERS: [(&str, usize); 6] = [
    ("src/access.rs", 2),
    ("src/accounts/tokens.rs", 1),
    ("src/library/assets.rs", 1),
    ("src/links/gallery.rs", 1),
    ("src/links/mod.rs", 1),
    ("src/uploadlinks/mod.rs", 2),
];

#[test]
fn every_fast_path_caller_is_listed() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(&src).sort_by_file_name() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") || path.starts_with(src.join("db")) {
            continue;
        }
        let n = std::fs::read_to_string(path)
            .unwrap()
            .matches(".read_optional(")
            .count();
        if n > 0 {
            let rel = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
            found.push((rel.to_string_lossy().into_owned(), n));
        }
    }
    let listed: Vec<(String, usize)> = CALLERS.iter().map(|(f, n)| (f.to_string(), *n)).collect();
    assert_eq!(
        found, listed,
        "a fast-path query was added, moved or removed: compare it in \
         local_and_sqlx_reads_answer_the_same and update CALLERS"
    );
}

/// Runs `$call` with the local path and with sqlx only, and compares the answers' `Debug`.
macro_rules! same {
    ($db:expr, |$d:ident| $call:expr) => {{
        let local = {
            let $d: &Db = &$db;
            $call.await
        };
        let sqlx_only = $db.without_local_reads();
        let through_sqlx = {
            let $d: &Db = &sqlx_only;
            $call.await
        };
        let (local, through_sqlx) = (format!("{local:?}"), format!("{through_sqlx:?}"));
        assert_eq!(local, through_sqlx, "{}", stringify!($call));
        local
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_and_sqlx_reads_answer_the_same() {
    let Some(app) = common::spawn_with(Backend::Sqlite, |c| c.job_workers = 0).await else {
        return;
    };
    let db = app.state.db.clone();
    assert!(db.local.is_some(), "a SQLite file has the local path");
    let f = seed(&app).await;
    let now = db.clock.now_ms();

    // accounts::tokens::authenticate: the bearer token check.
    let who = same!(db, |d| tokens::authenticate(d, &f.member_token));
    assert!(who.contains("member@example.com"), "{who}");
    let none = same!(db, |d| tokens::authenticate(d, "not-a-token"));
    assert_eq!(none, "Ok(None)");

    // library::assets::get_current: an admin's asset read.
    let current = same!(db, |d| library::assets::get_current(d, &f.asset));
    assert!(current.contains(&f.asset), "{current}");

    // access::asset: a member's asset read with its grants (and the draft, refused).
    let seen = same!(db, |d| access::asset(d, &f.member, &f.asset, now));
    assert!(seen.starts_with("Ok("), "{seen}");
    same!(db, |d| access::asset(d, &f.member, &f.draft, now));

    // links::by_token: the link page's lookup, with the library generation.
    let link = same!(db, |d| links::by_token(d, &f.link_token));
    assert!(link.starts_with("Ok(Some("), "{link}");
    // With its creator's name, which the share page shows, read in the same statement.
    assert!(link.contains("creator_name: Some("), "{link}");
    same!(db, |d| links::by_token(d, "s_unknown"));

    // access::link_gallery: the gallery as one JSON text; compared field by field.
    let (link, _) = links::by_token(&db, &f.folder_link_token)
        .await
        .unwrap()
        .expect("folder link");
    let gallery = |d: &Db| {
        let (d, link) = (d.clone(), link.clone());
        async move {
            access::link_gallery(&d, &link, 50, now).await.map(|items| {
                items
                    .into_iter()
                    .map(|i| {
                        let fields = (i.id, i.title, i.filename, i.media_type, i.size);
                        (fields, i.subpath, i.render_state, i.width, i.height)
                    })
                    .collect::<Vec<_>>()
            })
        }
    };
    let items = same!(db, |d| gallery(d));
    assert!(items.contains(&f.asset), "{items}");

    // links::gallery::next_boundary: when a cached gallery expires.
    let boundary = same!(db, |d| links::gallery::next_boundary(d, now));
    assert_ne!(boundary, format!("Ok({})", i64::MAX), "a window ends later");

    // uploadlinks::by_token and uploadlinks::get.
    let upload = same!(db, |d| uploadlinks::by_token(d, &f.upload_token));
    assert!(upload.starts_with("Ok(Some("), "{upload}");
    same!(db, |d| uploadlinks::get(d, &f.upload_id));

    assert_eq!(db.local_fallbacks().get(), 0, "every local read answered");
}

struct Seeded {
    member: users::Account,
    member_token: String,
    asset: String,
    draft: String,
    link_token: String,
    folder_link_token: String,
    upload_token: String,
    upload_id: String,
}

/// A folder with a published asset (open window that ends later) and a draft, a member
/// who may view and download it, a link to the asset and one to the folder, an upload link.
async fn seed(app: &TestApp) -> Seeded {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Press").await;
    let asset = admin
        .published(&folder, "kit.bin", b"press kit".to_vec())
        .await;
    sqlx::query("UPDATE assets SET available_until = $1 WHERE id = $2")
        .bind(app.state.clock.now_ms() + 86_400_000)
        .bind(&asset)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let draft = admin.upload(&folder, "draft.bin", b"draft".to_vec()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let group = admin.group("Partners").await;
    admin.grant(&folder, &group, true, true, false).await;
    let member = app.user("member@example.com", users::Role::Member).await;
    groups::add_member(&app.state.db, &group, &member.id)
        .await
        .unwrap();
    let member_token = tokens::create_api_token(&app.state.db, &member.id, "t")
        .await
        .unwrap();
    let token_of = |url: &str| url.rsplit('/').next().unwrap().to_string();
    let link = admin
        .post_ok("/links", json!({ "asset_ids": [asset] }), 201)
        .await;
    let folder_link = admin
        .post_ok("/links", json!({ "folder_id": folder }), 201)
        .await;
    let upload = admin
        .post_ok(
            "/upload-links",
            json!({ "folder_id": folder, "title": "Send us yours" }),
            201,
        )
        .await;
    Seeded {
        member,
        member_token,
        asset,
        draft,
        link_token: token_of(link["url"].as_str().unwrap()),
        folder_link_token: token_of(folder_link["url"].as_str().unwrap()),
        upload_token: token_of(upload["url"].as_str().unwrap()),
        upload_id: upload["id"].as_str().unwrap().to_string(),
    }
}
