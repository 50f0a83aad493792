//! The one download decision (issue 16, `src/delivery/`), attacked the way the issue found it
//! broken: Range from 0, from 1, suffix and multi-range, HEAD, aborted GETs and resumes, before
//! and after a link's limit is used up, on every way bytes leave. Each case checks the status,
//! the link's count and the audit events.
mod common;
use common::*;
use reqwest::{header, Method};
use serde_json::json;

/// Events of `kind` for a link, or for a member (`by`), now committed.
async fn events(app: &TestApp, column: &str, id: &str, kind: &str) -> Vec<String> {
    use sqlx::Row;
    sqlx::query(&format!(
        "SELECT detail FROM events WHERE {column} = $1 AND kind = $2 ORDER BY created_at, id"
    ))
    .bind(id)
    .bind(kind)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get::<String, _>("detail"))
    .collect()
}

/// Waits until every event queued before now is committed.
async fn settle(app: &TestApp) {
    app.state.events.flush().await.unwrap();
}

async fn downloads(admin: &Api, link_id: &str) -> i64 {
    expect_json(admin.get(&format!("/links/{link_id}")).await, 200).await["downloads"]
        .as_i64()
        .unwrap()
}

async fn head(c: &reqwest::Client, url: &str) -> u16 {
    c.request(Method::HEAD, url)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn a_link_limit_holds_against_ranges_heads_and_forged_resumes(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Kit").await;
    let file = bytes(300_000, 1);
    let a = admin.published(&folder, "poster.jpg", file.clone()).await;
    let link = admin
        .create_link(json!({ "asset_ids": [a], "max_downloads": 1 }))
        .await;
    let path = format!("{}/assets/{a}/original", link.path);
    let url = app.url(&path);
    let stranger = visitor();

    // HEAD says what a download would be, and never counts.
    for _ in 0..3 {
        let r = stranger.request(Method::HEAD, &url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()[header::CONTENT_LENGTH].to_str().unwrap(),
            "300000"
        );
    }
    assert_eq!(downloads(&admin, &link.id).await, 0);

    // One byte from 0 is a download: it takes the only one.
    let holder = app.browser();
    let (s, first) = get_range(&holder.client, &url, "bytes=0-0").await;
    assert_eq!((s, first.len()), (206, 1));
    assert_eq!(downloads(&admin, &link.id).await, 1);

    // Nobody else gets a byte, whatever the Range says.
    for range in [
        "bytes=1-",
        "bytes=-299999",
        "bytes=-100",
        "bytes=1-5,10-20",
        "bytes=0-",
    ] {
        let (s, _) = get_range(&stranger, &url, range).await;
        assert_eq!(s, 410, "{range}");
    }
    assert_eq!(stranger.get(&url).send().await.unwrap().status(), 410);
    assert_eq!(head(&stranger, &url).await, 410);
    // A forged resume cookie is worthless.
    let forged = "assetport_dl_0000000000000000=eyJhbGciOiJIUzI1NiJ9.e30.x";
    let r = stranger
        .get(&url)
        .header(header::RANGE, "bytes=1-")
        .header(header::COOKIE, forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);

    // The holder of the counted download resumes it, even though the link is used up…
    let (s, rest) = get_range(&holder.client, &url, "bytes=1-").await;
    assert_eq!(s, 206);
    let mut whole = first.clone();
    whole.extend_from_slice(&rest);
    assert_eq!(whole, file);
    let (s, tail) = get_range(&holder.client, &url, "bytes=-10").await;
    assert_eq!((s, tail.as_slice()), (206, &file[file.len() - 10..]));
    // …but starting again from byte 0 is a new download.
    let (s, _) = get_range(&holder.client, &url, "bytes=0-").await;
    assert_eq!(s, 410);
    assert_eq!(holder.get(&path).await.status(), 410);
    assert_eq!(downloads(&admin, &link.id).await, 1);

    // The access log holds one started download of one byte, nothing completed.
    settle(&app).await;
    let started = events(&app, "actor_link_id", &link.id, "link_download_started").await;
    assert_eq!(started.len(), 1, "{started:?}");
    assert!(started[0].contains("1 of 300000 bytes"), "{started:?}");
    assert!(events(&app, "actor_link_id", &link.id, "link_download")
        .await
        .is_empty());
}

async fn parallel_ranges_take_exactly_the_limit(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Kit").await;
    let a = admin
        .published(&folder, "poster.jpg", bytes(50_000, 2))
        .await;
    let link = admin
        .create_link(json!({ "asset_ids": [a], "max_downloads": 5 }))
        .await;
    let path = format!("{}/assets/{a}/original", link.path);
    // On PostgreSQL half the requests go to a second instance.
    let other = if app.backend == Backend::Postgres {
        Some(app.another_instance(|_| {}).await)
    } else {
        None
    };
    let ranges = ["bytes=1-", "bytes=-100", "bytes=0-0", "bytes=5-9,20-30"];
    let mut tasks = Vec::new();
    for i in 0..100 {
        let url = match (&other, i % 2) {
            (Some(o), 1) => o.url(&path),
            _ => app.url(&path),
        };
        let range = ranges[i % ranges.len()];
        tasks.push(tokio::spawn(async move {
            let (s, _) = get_range(&visitor(), &url, range).await;
            s
        }));
    }
    let (mut served, mut gone) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            206 => served += 1,
            410 => gone += 1,
            s => panic!("unexpected {s}"),
        }
    }
    assert_eq!((served, gone), (5, 95));
    assert_eq!(downloads(&admin, &link.id).await, 5);
    // Half the downloads were recorded by the second instance: wait for its writer too.
    settle(&app).await;
    if let Some(o) = &other {
        o.state.events.flush().await.unwrap();
    }
    let started = events(&app, "actor_link_id", &link.id, "link_download_started").await;
    assert_eq!(started.len(), 5, "{started:?}");
}

async fn an_aborted_download_is_recorded_as_started_and_can_be_resumed(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Kit").await;
    // Bigger than what loopback buffers hold, so the server sees the client go away.
    let size = 24 * 1024 * 1024;
    let file = bytes(size, 3);
    let a = admin.published(&folder, "film.mov", file.clone()).await;
    let link = admin
        .create_link(json!({ "asset_ids": [a], "max_downloads": 1 }))
        .await;
    let path = format!("{}/assets/{a}/original", link.path);
    let holder = app.browser();
    let mut r = holder.get(&path).await;
    assert_eq!(r.status(), 200);
    let first = r.chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());
    drop(r);
    assert_eq!(
        app.link_events(&link.id, "link_download_started", 1).await,
        1
    );
    assert_eq!(downloads(&admin, &link.id).await, 1);
    // The cut download resumes where the visitor's copy ends, on the used-up link…
    let (s, rest) = get_range(
        &holder.client,
        &holder.url(&path),
        &format!("bytes={}-", first.len()),
    )
    .await;
    assert_eq!(s, 206);
    assert_eq!([first.as_ref(), rest.as_slice()].concat(), file);
    // …and nobody else gets anything.
    assert_eq!(
        visitor().get(app.url(&path)).send().await.unwrap().status(),
        410
    );
    assert_eq!(downloads(&admin, &link.id).await, 1);
    settle(&app).await;
    let started = events(&app, "actor_link_id", &link.id, "link_download_started").await;
    assert_eq!(started.len(), 1, "{started:?}");
    assert!(
        started[0].contains(&format!("of {size} bytes sent")),
        "{started:?}"
    );
    assert!(events(&app, "actor_link_id", &link.id, "link_download")
        .await
        .is_empty());

    // A download sent to its last byte is recorded as completed, with its bytes.
    let open = admin.create_link(json!({ "asset_ids": [a] })).await;
    let url = app.url(&format!("{}/assets/{a}/original", open.path));
    let body = visitor()
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.len(), size);
    settle(&app).await;
    let done = events(&app, "actor_link_id", &open.id, "link_download").await;
    assert_eq!(done, vec![format!("original v1, {size} bytes")]);
}

async fn the_link_zip_is_counted_once_and_never_by_head(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Kit").await;
    let a = admin.published(&folder, "a.txt", bytes(1000, 4)).await;
    let b = admin.published(&folder, "b.txt", bytes(2000, 5)).await;
    let link = admin
        .create_link(json!({ "asset_ids": [a, b], "max_downloads": 1 }))
        .await;
    let url = app.url(&format!("{}/zip", link.path));
    let v = visitor();
    assert_eq!(head(&v, &url).await, 200);
    assert_eq!(head(&v, &url).await, 200);
    assert_eq!(downloads(&admin, &link.id).await, 0);
    let zip = v.get(&url).send().await.unwrap();
    assert_eq!(zip.status(), 200);
    let names: Vec<String> = zip_entries(&zip.bytes().await.unwrap())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, vec!["a.txt", "b.txt"]);
    assert_eq!(v.get(&url).send().await.unwrap().status(), 410);
    assert_eq!(head(&v, &url).await, 410);
    let original = app.url(&format!("{}/assets/{a}/original", link.path));
    assert_eq!(head(&v, &original).await, 410);
    settle(&app).await;
    let done = events(&app, "actor_link_id", &link.id, "link_download").await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert!(done[0].starts_with("zip of 2 files"), "{done:?}");
}

async fn previews_of_a_renditions_only_link_pass_the_same_gates(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Kit").await;
    let a = admin
        .published(&folder, "photo.png", png(400, 300, 1))
        .await;
    let j = app.rendered(&admin, &a).await;
    assert_eq!(j["renditions"]["state"], "ready", "{j}");
    let link = admin
        .create_link(json!({
            "asset_ids": [a], "allow_original": false, "max_downloads": 1,
            "terms": "Editorial use only."
        }))
        .await;
    let thumb = format!("{}/assets/{a}/thumb", link.path);
    let preview = format!("{}/assets/{a}/preview", link.path);
    let saved = format!("{preview}?download=1");
    let first = app.browser();
    // Thumbnails are part of the open gallery; previews wait for the terms.
    assert_eq!(first.get(&thumb).await.status(), 200);
    assert_eq!(first.get(&preview).await.status(), 403);
    assert_eq!(first.get(&saved).await.status(), 403);
    let (_, html) = first.page(&link.path).await;
    assert!(!html.contains("data-zoom"), "no enlarging before the terms");
    let r = first.post_form(&format!("{}/accept", link.path), &[]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = first.page(&link.path).await;
    assert!(html.contains("data-zoom"));
    // Looking at the preview is not a download; saving it is, even as a Range from 0.
    assert_eq!(first.get(&preview).await.status(), 200);
    assert_eq!(downloads(&admin, &link.id).await, 0);
    let (s, part) = get_range(&first.client, &first.url(&saved), "bytes=0-99").await;
    assert_eq!((s, part.len()), (206, 100));
    assert_eq!(downloads(&admin, &link.id).await, 1);
    // Used up: no bytes of previews for anyone else, in the page or saved; thumbnails stay.
    let second = app.browser();
    second
        .post_form(&format!("{}/accept", link.path), &[])
        .await;
    assert_eq!(second.get(&thumb).await.status(), 200);
    assert_eq!(second.get(&preview).await.status(), 410);
    assert_eq!(second.get(&saved).await.status(), 410);
    let (s, _) = get_range(&second.client, &second.url(&saved), "bytes=100-").await;
    assert_eq!(s, 410);
    assert_eq!(head(&second.client, &second.url(&saved)).await, 410);
    // The first visitor resumes what was counted.
    let (s, rest) = get_range(&first.client, &first.url(&saved), "bytes=100-").await;
    assert_eq!(s, 206);
    assert!(!rest.is_empty());
    assert_eq!(downloads(&admin, &link.id).await, 1);
}

async fn members_downloads_are_recorded_once_each_way(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Kit").await;
    let file = bytes(10_000, 6);
    let a = admin.published(&folder, "logo.png", file.clone()).await;
    let group = admin.group("Partners").await;
    admin.grant(&folder, &group, true, true, false).await;
    let member = app.member("partner@example.com", &[&group]).await;
    let me = member.user_id.clone();
    let original = format!("/assets/{a}/original");

    // HEAD is not a download.
    let r = member.send(Method::HEAD, &original, None).await;
    assert_eq!(r.status(), 200);
    // A Range request that continues nothing is one (the issue's `bytes=1-`, suffix too).
    let r = member.get_with(&original, &[("range", "bytes=1-")]).await;
    assert_eq!(r.status(), 206);
    let resume = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(r.bytes().await.unwrap().as_ref(), &file[1..]);
    let r = member
        .get_with(&original, &[("range", "bytes=-9999")])
        .await;
    assert_eq!(r.status(), 206);
    // Continuing with the token issued by a counted answer records nothing new.
    let r = member
        .get_with(&original, &[("range", "bytes=5000-"), ("cookie", &resume)])
        .await;
    assert_eq!(r.status(), 206);
    // The whole file is a completed download.
    let r = member.get(&original).await;
    assert_eq!(r.bytes().await.unwrap().as_ref(), file.as_slice());
    settle(&app).await;
    assert_eq!(
        events(&app, "actor_user_id", &me, "download").await,
        vec!["original v1, 10000 bytes".to_string()]
    );
    let started = events(&app, "actor_user_id", &me, "download_started").await;
    assert_eq!(
        started,
        vec![
            "original v1: 9999 of 10000 bytes sent".to_string(),
            "original v1: 9999 of 10000 bytes sent".to_string()
        ]
    );

    // Renditions: shown is browsing; saved is a download, recorded like an original.
    let p = admin
        .published(&folder, "photo.png", png(400, 300, 2))
        .await;
    app.rendered(&admin, &p).await;
    let shown = format!("/assets/{p}/renditions/preview");
    let saved = format!("/assets/{p}/renditions/preview?download=1");
    assert_eq!(member.get(&shown).await.status(), 200);
    assert_eq!(member.send(Method::HEAD, &saved, None).await.status(), 200);
    let r = member.get_with(&saved, &[("range", "bytes=0-9")]).await;
    assert_eq!(r.status(), 206);
    settle(&app).await;
    let on_p: Vec<String> = {
        use sqlx::Row;
        sqlx::query("SELECT kind, detail FROM events WHERE actor_user_id = $1 AND asset_id = $2")
            .bind(&me)
            .bind(&p)
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r.get::<String, _>("kind"),
                    r.get::<String, _>("detail")
                )
            })
            .collect()
    };
    assert_eq!(on_p.len(), 1, "{on_p:?}");
    assert!(
        on_p[0].starts_with("download_started preview v1: 10 of "),
        "{on_p:?}"
    );

    // A selection naming an asset three times holds it once and counts once.
    let b = admin.published(&folder, "flyer.pdf", bytes(500, 7)).await;
    let r = member
        .post("/zip", json!({ "asset_ids": [a, b, a, a] }))
        .await;
    assert_eq!(r.status(), 200);
    let names: Vec<String> = zip_entries(&r.bytes().await.unwrap())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, vec!["logo.png", "flyer.pdf"]);
    settle(&app).await;
    assert_eq!(
        events(&app, "actor_user_id", &me, "download").await.len(),
        3
    );
}

async fn reference_files_of_an_upload_link_are_recorded_like_downloads(app: TestApp) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Inbox").await;
    let file = bytes(4000, 8);
    let r = admin.published(&folder, "brief.pdf", file.clone()).await;
    let j = admin
        .post_ok(
            "/upload-links",
            json!({ "folder_id": folder, "brief": "See the brief.", "reference_asset_ids": [r] }),
            201,
        )
        .await;
    let url = j["url"].as_str().unwrap();
    let link_id = j["id"].as_str().unwrap().to_string();
    let refs = format!("{url}/refs/{r}");
    let v = visitor();
    assert_eq!(head(&v, &refs).await, 200);
    let (s, body) = get_range(&v, &refs, "bytes=1-").await;
    assert_eq!((s, body.as_slice()), (206, &file[1..]));
    let body = v.get(&refs).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(body.as_ref(), file.as_slice());
    settle(&app).await;
    assert_eq!(
        events(&app, "actor_link_id", &link_id, "download")
            .await
            .len(),
        1
    );
    assert_eq!(
        events(&app, "actor_link_id", &link_id, "download_started")
            .await
            .len(),
        1
    );
}

on_both_backends!(
    a_link_limit_holds_against_ranges_heads_and_forged_resumes,
    parallel_ranges_take_exactly_the_limit,
    an_aborted_download_is_recorded_as_started_and_can_be_resumed,
    the_link_zip_is_counted_once_and_never_by_head,
    previews_of_a_renditions_only_link_pass_the_same_gates,
    members_downloads_are_recorded_once_each_way,
    reference_files_of_an_upload_link_are_recorded_like_downloads,
);
