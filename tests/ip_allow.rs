//! A link's `ip_allow` (issue 17, added by the recipe in docs/architecture.md): a share or
//! upload link with a list of networks answers 403 to a visitor whose address (as the app
//! determines it, honouring `ASSETPORT_TRUSTED_PROXIES`) is outside them; an empty list lets
//! anyone in. Real HTTP, both databases.
mod common;
use common::*;
use reqwest::header;
use serde_json::{json, Value};

on_both_with!(
    direct,
    |_: &mut assetport::Config| {},
    inside_the_list_opens_and_outside_answers_403,
    the_list_is_checked_at_create_and_patch,
    an_untrusted_peer_cannot_forward_its_way_in,
    upload_links_keep_to_their_networks_too,
    the_admin_pages_show_and_change_the_list,
);
on_both_with!(
    ipv6,
    |c: &mut assetport::Config| c.bind = "[::1]:0".into(),
    an_ipv6_visitor_is_matched_against_ipv6_ranges,
);
on_both_with!(
    behind_proxy,
    crate::proxy,
    through_a_trusted_proxy_the_forwarded_address_decides,
);

fn proxy(c: &mut assetport::Config) {
    c.trusted_proxies = assetport::web::client::TrustedProxies::parse("127.0.0.1").unwrap();
}

/// An admin and one published asset in a folder.
async fn published(app: &TestApp) -> (Api, String, String) {
    let admin = app.admin().await;
    let folder = admin.folder(None, "Kit").await;
    let asset = admin
        .published(&folder, "notes.pdf", b"%PDF-1.4 not really".to_vec())
        .await;
    (admin, folder, asset)
}

async fn status_of(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> u16 {
    let mut r = visitor().get(app.url(path));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.expect("request").status().as_u16()
}

async fn read_link(admin: &Api, id: &str) -> Value {
    expect_json(admin.get(&format!("/links/{id}")).await, 200).await
}

async fn inside_the_list_opens_and_outside_answers_403(app: TestApp) {
    let (admin, _, asset) = published(&app).await;
    // The test client connects from 127.0.0.1.
    let inside = admin
        .create_link(json!({ "asset_ids": [asset], "ip_allow": ["127.0.0.0/8", "2001:db8::/32"] }))
        .await;
    assert_eq!(
        read_link(&admin, &inside.id).await["ip_allow"],
        json!(["127.0.0.0/8", "2001:db8::/32"])
    );
    assert_eq!(status_of(&app, &inside.path, &[]).await, 200);
    let original = format!("{}/assets/{asset}/original", inside.path);
    assert_eq!(status_of(&app, &original, &[]).await, 200);

    let outside = admin
        .create_link(json!({ "asset_ids": [asset], "ip_allow": ["10.0.0.0/8"] }))
        .await;
    let r = visitor().get(app.url(&outside.path)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.headers()[header::CACHE_CONTROL],
        "private, no-store",
        "a refusal is as private as the page"
    );
    assert_eq!(r.headers()[header::REFERRER_POLICY], "no-referrer");
    let html = r.text().await.unwrap();
    assert!(
        html.contains("cannot be opened from your network"),
        "{html}"
    );
    assert!(!html.contains("notes.pdf"));
    // A visitor has no library to go back to.
    assert!(!html.contains("Go to the library"), "{html}");
    // Every address of the link, not only its page.
    for path in [
        format!("{}/assets/{asset}/original", outside.path),
        format!("{}/assets/{asset}/thumb", outside.path),
        format!("{}/zip", outside.path),
    ] {
        assert_eq!(status_of(&app, &path, &[]).await, 403, "{path}");
    }
    let r = visitor()
        .post(app.url(&format!("{}/unlock", outside.path)))
        .form(&[("password", "whatever")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A client asking for JSON gets SPEC §3's shape.
    let r = visitor()
        .get(app.url(&outside.path))
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    let body = expect_json(r, 403).await;
    assert_eq!(body["error"], "forbidden");
    assert!(body["message"].as_str().unwrap().contains("network"));
    // Nothing was counted or viewed from outside.
    assert_eq!(app.link_events(&outside.id, "link_view", 0).await, 0);

    // An empty list lets anyone in again.
    let r = admin
        .patch(&format!("/links/{}", outside.id), json!({ "ip_allow": [] }))
        .await;
    assert_eq!(expect_json(r, 200).await["ip_allow"], json!([]));
    assert_eq!(status_of(&app, &outside.path, &[]).await, 200);
    // And a list that covers the visitor does too.
    let r = admin
        .patch(
            &format!("/links/{}", outside.id),
            json!({ "ip_allow": ["10.0.0.0/8", "127.0.0.1"] }),
        )
        .await;
    assert_eq!(
        expect_json(r, 200).await["ip_allow"],
        json!(["10.0.0.0/8", "127.0.0.1/32"])
    );
    assert_eq!(status_of(&app, &outside.path, &[]).await, 200);
    // Unknown and ended links answer as before, whatever the list.
    assert_eq!(status_of(&app, "/s/s_nope", &[]).await, 404);
    assert_eq!(
        admin
            .delete(&format!("/links/{}", inside.id))
            .await
            .status(),
        204
    );
    assert_eq!(status_of(&app, &inside.path, &[]).await, 410);
}

async fn the_list_is_checked_at_create_and_patch(app: TestApp) {
    let (admin, _, asset) = published(&app).await;
    for bad in [
        "10.0.0.0/33",
        "office",
        "2001:db8::/129",
        "10.0.0.1-10.0.0.9",
    ] {
        let r = admin
            .post(
                "/links",
                json!({ "asset_ids": [asset], "ip_allow": ["10.0.0.0/8", bad] }),
            )
            .await;
        let body = expect_json(r, 422).await;
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(bad) && message.contains("CIDR"),
            "{message}"
        );
    }
    let r = admin
        .post(
            "/links",
            json!({ "asset_ids": [asset], "ip_allow": "10.0.0.0/8" }),
        )
        .await;
    assert_eq!(r.status(), 422, "a list, not a string");
    // Host bits are dropped: the network is what is stored.
    let link = admin
        .create_link(json!({ "asset_ids": [asset], "ip_allow": ["10.1.2.3/8", "10.0.0.0/8"] }))
        .await;
    assert_eq!(
        read_link(&admin, &link.id).await["ip_allow"],
        json!(["10.0.0.0/8"])
    );
    let r = admin
        .patch(
            &format!("/links/{}", link.id),
            json!({ "ip_allow": ["192.0.2.0/24", "nope"] }),
        )
        .await;
    let body = expect_json(r, 422).await;
    assert!(body["message"].as_str().unwrap().contains("nope"));
    assert_eq!(
        read_link(&admin, &link.id).await["ip_allow"],
        json!(["10.0.0.0/8"]),
        "a refused patch changes nothing"
    );
    // Without the field, a patch leaves the list alone.
    let r = admin
        .patch(&format!("/links/{}", link.id), json!({ "title": "Kit" }))
        .await;
    assert_eq!(expect_json(r, 200).await["ip_allow"], json!(["10.0.0.0/8"]));
    // Upload links check theirs the same way.
    let folder = admin.folder(None, "Inbox").await;
    let r = admin
        .post(
            "/upload-links",
            json!({ "folder_id": folder, "ip_allow": ["300.1.1.1"] }),
        )
        .await;
    let body = expect_json(r, 422).await;
    assert!(body["message"].as_str().unwrap().contains("300.1.1.1"));
}

async fn an_untrusted_peer_cannot_forward_its_way_in(app: TestApp) {
    let (admin, _, asset) = published(&app).await;
    let link = admin
        .create_link(json!({ "asset_ids": [asset], "ip_allow": ["203.0.113.0/24"] }))
        .await;
    // No proxy is trusted: X-Forwarded-For is the client's own claim and is ignored.
    assert_eq!(
        status_of(&app, &link.path, &[("x-forwarded-for", "203.0.113.7")]).await,
        403
    );
}

async fn through_a_trusted_proxy_the_forwarded_address_decides(app: TestApp) {
    let (admin, folder, asset) = published(&app).await;
    let link = admin
        .create_link(
            json!({ "asset_ids": [asset], "ip_allow": ["203.0.113.0/24", "2001:db8::/32"] }),
        )
        .await;
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    assert_eq!(status_of(&app, &link.path, &from("203.0.113.7")).await, 200);
    assert_eq!(status_of(&app, &link.path, &from("2001:db8::5")).await, 200);
    assert_eq!(
        status_of(&app, &link.path, &from("198.51.100.1")).await,
        403
    );
    assert_eq!(status_of(&app, &link.path, &from("2001:db9::1")).await, 403);
    // A forged entry to the left of what the proxy appended is not believed.
    assert_eq!(
        status_of(&app, &link.path, &from("203.0.113.7, 198.51.100.1")).await,
        403
    );
    // Without the header the client is the proxy itself, which is not in the list.
    assert_eq!(status_of(&app, &link.path, &[]).await, 403);

    let created = admin
        .post_ok(
            "/upload-links",
            json!({ "folder_id": folder, "ip_allow": ["2001:db8::/32"] }),
            201,
        )
        .await;
    assert_eq!(created["ip_allow"], json!(["2001:db8::/32"]));
    let url = created["url"].as_str().unwrap();
    let path = &url[url.find("/u/").unwrap()..];
    assert_eq!(status_of(&app, path, &from("2001:db8::9")).await, 200);
    assert_eq!(status_of(&app, path, &from("203.0.113.7")).await, 403);
}

async fn an_ipv6_visitor_is_matched_against_ipv6_ranges(app: TestApp) {
    let (admin, _, asset) = published(&app).await;
    // The server listens on ::1, so the visitor's address is ::1.
    let inside = admin
        .create_link(json!({ "asset_ids": [asset], "ip_allow": ["::1/128"] }))
        .await;
    assert_eq!(status_of(&app, &inside.path, &[]).await, 200);
    let outside = admin
        .create_link(json!({ "asset_ids": [asset], "ip_allow": ["2001:db8::/32", "127.0.0.0/8"] }))
        .await;
    assert_eq!(status_of(&app, &outside.path, &[]).await, 403);
}

async fn upload_links_keep_to_their_networks_too(app: TestApp) {
    let (admin, folder, _) = published(&app).await;
    let outside = admin
        .post_ok(
            "/upload-links",
            json!({ "folder_id": folder, "ip_allow": ["10.0.0.0/8"] }),
            201,
        )
        .await;
    assert_eq!(outside["ip_allow"], json!(["10.0.0.0/8"]));
    let url = outside["url"].as_str().unwrap();
    let path = &url[url.find("/u/").unwrap()..];
    let r = visitor().get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "private, no-store");
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("cannot be opened from your network"));
    // The page's script asks for JSON and gets SPEC §3's shape; nothing is stored.
    let r = common::send_to_upload_link(&app, path, "a.txt", b"hello").await;
    assert_eq!(expect_json(r, 403).await["error"], "forbidden");
    let id = outside["id"].as_str().unwrap();
    let read = expect_json(admin.get(&format!("/upload-links/{id}")).await, 200).await;
    assert_eq!(read["files"], 0);

    let inside = admin
        .post_ok(
            "/upload-links",
            json!({ "folder_id": folder, "ip_allow": ["127.0.0.1/32"] }),
            201,
        )
        .await;
    let url = inside["url"].as_str().unwrap();
    assert_eq!(
        status_of(&app, &url[url.find("/u/").unwrap()..], &[]).await,
        200
    );
}

async fn the_admin_pages_show_and_change_the_list(app: TestApp) {
    let (admin, folder, asset) = published(&app).await;
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let csrf = b
        .csrf(&format!("/admin/links/new?folder_id={folder}"))
        .await;
    // A bad entry comes back beside the form.
    let r = b
        .post_form(
            "/admin/links",
            &[
                ("csrf_token", &csrf),
                ("asset_ids", &asset),
                ("ip_allow", "10.0.0.0/8\nfrontdesk"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("frontdesk"));
    let r = b
        .post_form(
            "/admin/links",
            &[
                ("csrf_token", &csrf),
                ("asset_ids", &asset),
                ("allow_original", "on"),
                ("ip_allow", "10.0.0.0/8\r\n2001:db8::/32"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let start = html.find("/s/s_").unwrap();
    let end = start + html[start..].find(['"', '<']).unwrap();
    let path = html[start..end].to_string();
    assert_eq!(status_of(&app, &path, &[]).await, 403);
    // The link's own page shows the list and changes it.
    let links = expect_json(admin.get("/links").await, 200).await;
    let id = links["items"][0]["id"].as_str().unwrap().to_string();
    let (status, detail) = b.page(&format!("/admin/links/{id}")).await;
    assert_eq!(status, 200);
    assert!(detail.contains("10.0.0.0/8, 2001:db8::/32"), "{detail}");
    let csrf = csrf_in(&detail).unwrap();
    let r = b
        .post_form(
            &format!("/admin/links/{id}/change"),
            &[("csrf_token", &csrf), ("ip_allow", "not-a-network")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, detail) = b.page(&format!("/admin/links/{id}")).await;
    assert!(detail.contains("Not changed") && detail.contains("not-a-network"));
    assert_eq!(status_of(&app, &path, &[]).await, 403);
    let r = b
        .post_form(
            &format!("/admin/links/{id}/change"),
            &[("csrf_token", &csrf), ("ip_allow", "")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, detail) = b.page(&format!("/admin/links/{id}")).await;
    assert!(detail.contains("anywhere"));
    assert_eq!(status_of(&app, &path, &[]).await, 200);

    // The upload-link form takes the same box.
    let csrf = b
        .csrf(&format!("/admin/upload-links/new?folder_id={folder}"))
        .await;
    let r = b
        .post_form(
            "/admin/upload-links",
            &[
                ("csrf_token", &csrf),
                ("folder_id", &folder),
                ("ip_allow", "10.0.0.0/8"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let start = html.find("/u/u_").unwrap();
    let end = start + html[start..].find(['"', '<']).unwrap();
    assert_eq!(status_of(&app, &html[start..end], &[]).await, 403);
}
