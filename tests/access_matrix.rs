//! The access matrix (SPEC §2, issue 16 §7), table-driven in the style of kanidm's access
//! tests: every role × asset status × availability window × grant × channel, each row saying
//! whether the asset is visible there and, if so, which version's bytes. The fixtures are built
//! once per backend; then every row is asked over real HTTP and every failing row is printed.
//!
//! The rule under test, in SPEC's words: members and links see an asset only if it is
//! `approved`, inside its availability window (`available_from <= now < available_until`,
//! either end may be open), and in what the caller may reach (a `view` grant on its folder or an
//! ancestor, a link's target, an upload link's brief), and then only its approved version.
//! Downloading also needs `download`. Admins see everything; a contributor sees what it
//! submitted, in any status and window, at its current version.
mod common;

use std::collections::HashMap;

use common::*;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Status {
    Draft,
    InReview,
    Approved,
    /// Approved, with a checked-in version waiting for review (partners keep v1).
    ApprovedNewVersionInReview,
    Rejected,
    Archived,
}

const STATUSES: [Status; 6] = [
    Status::Draft,
    Status::InReview,
    Status::Approved,
    Status::ApprovedNewVersionInReview,
    Status::Rejected,
    Status::Archived,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Window {
    None,
    /// From yesterday until tomorrow.
    Open,
    /// From tomorrow, no end.
    NotYetOpen,
    /// No start, ended yesterday.
    Closed,
}

const WINDOWS: [Window; 4] = [
    Window::None,
    Window::Open,
    Window::NotYetOpen,
    Window::Closed,
];

/// Where the asset lives: under the members' grants (`/Area/Sub`, inherited from `/Area`), or
/// in `/Other`, which no member group may view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Place {
    Granted,
    Ungranted,
}

const PLACES: [Place; 2] = [Place::Granted, Place::Ungranted];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Admin,
    /// A member whose group holds `view` on `/Area`.
    MemberView,
    /// A member whose group holds `view` + `download` on `/Area`.
    MemberViewDownload,
    /// A member whose group holds `view` + `download` elsewhere only.
    MemberNoGrant,
    /// An agency member with `contribute` on `/Area` and `/Other` (no `view`): it submitted
    /// every asset here except the admin's drafts.
    Contributor,
    /// A member without any folder grant, holding a personal download grant (an approved
    /// download request, issue 19) on every asset here.
    MemberPersonal,
    /// The same, with every personal grant ended yesterday.
    MemberPersonalEnded,
    /// Someone holding a share or upload link (no account).
    Visitor,
}

const MEMBER_ROLES: [Role; 7] = [
    Role::Admin,
    Role::MemberView,
    Role::MemberViewDownload,
    Role::MemberNoGrant,
    Role::Contributor,
    Role::MemberPersonal,
    Role::MemberPersonalEnded,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Channel {
    /// `GET /api/v1/assets/{id}`.
    ApiAsset,
    /// `GET /api/v1/assets/{id}/original`.
    ApiOriginal,
    /// `GET /api/v1/search?q=…`.
    Search,
    /// `GET /api/v1/collections/{id}` of a collection holding every asset.
    Collection,
    /// `/s/{token}/assets/{id}/original` of a share link to the folder `/Area`.
    FolderLink,
    /// The same through a share link to the collection (every asset).
    CollectionLink,
    /// `/u/{token}/refs/{id}` of an upload link whose brief names every asset of `/Area`.
    UploadLinkRef,
    /// The brief's list on the upload link's page.
    UploadLinkPage,
}

const MEMBER_CHANNELS: [Channel; 4] = [
    Channel::ApiAsset,
    Channel::ApiOriginal,
    Channel::Search,
    Channel::Collection,
];

const LINK_CHANNELS: [Channel; 4] = [
    Channel::FolderLink,
    Channel::CollectionLink,
    Channel::UploadLinkRef,
    Channel::UploadLinkPage,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Case {
    status: Status,
    window: Window,
    place: Place,
}

impl Case {
    fn name(&self) -> String {
        format!("{:?}-{:?}-{:?}.txt", self.status, self.window, self.place).to_lowercase()
    }

    fn bytes(&self, version: u8) -> Vec<u8> {
        format!("{} version {version}", self.name()).into_bytes()
    }

    /// Approved and inside its window at request time.
    fn published(&self) -> bool {
        matches!(
            self.status,
            Status::Approved | Status::ApprovedNewVersionInReview
        ) && matches!(self.window, Window::None | Window::Open)
    }

    /// The version number whose bytes a caller who sees the asset gets.
    fn current_version(&self) -> u8 {
        if self.status == Status::ApprovedNewVersionInReview {
            2
        } else {
            1
        }
    }
}

/// The expected answer of one row: hidden (`None`), or visible with that version's bytes.
fn expected(role: Role, channel: Channel, case: Case) -> Option<u8> {
    let own = role == Role::Contributor && case.status != Status::Draft;
    let granted = case.place == Place::Granted;
    let viewer = matches!(role, Role::MemberView | Role::MemberViewDownload);
    // A personal grant puts its one asset in the member's scope, wherever it lives.
    let personal = role == Role::MemberPersonal;
    let partner_sees = case.published() && ((granted && viewer) || personal);
    // Admins and submitters see the current version; everyone else the approved one.
    let visible = |full: bool, partner: bool| {
        if full {
            Some(case.current_version())
        } else if partner {
            Some(1)
        } else {
            None
        }
    };
    match channel {
        Channel::ApiAsset => visible(role == Role::Admin || own, partner_sees),
        Channel::ApiOriginal => visible(
            role == Role::Admin || own,
            partner_sees && (role == Role::MemberViewDownload || personal),
        ),
        // Search and collections list what the caller may browse: a contributor without
        // `view` finds its submissions under "My submissions", not here.
        Channel::Search | Channel::Collection => visible(role == Role::Admin, partner_sees),
        Channel::FolderLink | Channel::UploadLinkRef | Channel::UploadLinkPage => {
            visible(false, case.published() && granted)
        }
        Channel::CollectionLink => visible(false, case.published()),
    }
}

struct World {
    clients: Vec<(Role, Api)>,
    /// Asset id by case, and the case by asset id.
    ids: HashMap<Case, String>,
    collection: String,
    folder_link: String,
    collection_link: String,
    upload_link: String,
}

fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn ok(r: reqwest::Response, status: u16, what: &str) {
    let got = r.status();
    let body = r.text().await.unwrap_or_default();
    assert_eq!(got, status, "{what}: {body}");
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let area = admin.folder(None, "Area").await;
    let sub = admin.folder(Some(&area), "Sub").await;
    let other = admin.folder(None, "Other").await;
    let elsewhere = admin.folder(None, "Elsewhere").await;
    let viewers = admin.group("Viewers").await;
    let downloaders = admin.group("Downloaders").await;
    let strangers = admin.group("Strangers").await;
    let agency = admin.group("Agency").await;
    admin.grant(&area, &viewers, true, false, false).await;
    admin.grant(&area, &downloaders, true, true, false).await;
    admin.grant(&elsewhere, &strangers, true, true, false).await;
    admin.grant(&area, &agency, false, false, true).await;
    admin.grant(&other, &agency, false, false, true).await;
    let contributor = app.member("studio@agency.example", &[&agency]).await;

    let now = app.state.clock.now_ms();
    let day = 24 * 3600 * 1000;
    let mut ids = HashMap::new();
    for status in STATUSES {
        for window in WINDOWS {
            for place in PLACES {
                let case = Case {
                    status,
                    window,
                    place,
                };
                let folder = match place {
                    Place::Granted => &sub,
                    Place::Ungranted => &other,
                };
                let uploader = if status == Status::Draft {
                    &admin
                } else {
                    &contributor
                };
                let r = uploader
                    .upload_raw(
                        folder,
                        &case.name(),
                        case.bytes(1),
                        &[("title", "matrixcase")],
                    )
                    .await;
                let id = expect_json(r, 201).await["id"]
                    .as_str()
                    .unwrap()
                    .to_string();
                let window_json = match window {
                    Window::None => None,
                    Window::Open => Some(json!({
                        "available_from": rfc3339(now - day),
                        "available_until": rfc3339(now + day),
                    })),
                    Window::NotYetOpen => Some(json!({ "available_from": rfc3339(now + day) })),
                    Window::Closed => Some(json!({ "available_until": rfc3339(now - day) })),
                };
                if let Some(w) = window_json {
                    ok(
                        admin.patch(&format!("/assets/{id}"), w).await,
                        200,
                        "window",
                    )
                    .await;
                }
                let approve = || async {
                    ok(
                        admin
                            .post(&format!("/assets/{id}/approve"), json!({}))
                            .await,
                        200,
                        "approve",
                    )
                    .await
                };
                match status {
                    Status::Draft | Status::InReview => {}
                    Status::Approved => approve().await,
                    Status::ApprovedNewVersionInReview => {
                        approve().await;
                        ok(
                            contributor
                                .post(&format!("/assets/{id}/checkout"), json!({}))
                                .await,
                            200,
                            "check out",
                        )
                        .await;
                        let form = reqwest::multipart::Form::new().text("comment", "v2").part(
                            "file",
                            reqwest::multipart::Part::bytes(case.bytes(2)).file_name(case.name()),
                        );
                        let r = contributor
                            .client
                            .post(contributor.url(&format!("/assets/{id}/versions")))
                            .bearer_auth(&contributor.token)
                            .multipart(form)
                            .send()
                            .await
                            .unwrap();
                        ok(r, 201, "check in").await;
                    }
                    Status::Rejected => {
                        ok(
                            admin
                                .post(
                                    &format!("/assets/{id}/reject"),
                                    json!({ "comment": "not this one" }),
                                )
                                .await,
                            200,
                            "reject",
                        )
                        .await
                    }
                    Status::Archived => {
                        approve().await;
                        ok(
                            admin
                                .post(&format!("/assets/{id}/archive"), json!({}))
                                .await,
                            200,
                            "archive",
                        )
                        .await
                    }
                }
                ids.insert(case, id);
            }
        }
    }

    // One collection holding everything, shared by link; a link to the folder /Area.
    let collection = admin
        .post_ok("/collections", json!({ "name": "Everything" }), 201)
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for id in ids.values() {
        ok(
            admin
                .put(&format!("/collections/{collection}/assets/{id}"), json!({}))
                .await,
            204,
            "collect",
        )
        .await;
    }
    let expires = rfc3339(now + 3 * day);
    let link = |body: Value| {
        let admin = &admin;
        async move { admin.create_link(body).await.path }
    };
    let folder_link = link(json!({
        "folder_id": area, "expires_at": expires, "allow_original": true,
    }))
    .await;
    let collection_link = link(json!({
        "collection_id": collection, "expires_at": expires, "allow_original": true,
    }))
    .await;

    // An upload link whose brief names every asset of /Area. The API takes only approved
    // assets as references, so the others are put in the table directly: the scope must hold
    // whatever a reference's asset becomes later.
    let granted: Vec<(&Case, &String)> = ids
        .iter()
        .filter(|(c, _)| c.place == Place::Granted)
        .collect();
    let approved_refs: Vec<&String> = granted
        .iter()
        .filter(|(c, _)| {
            matches!(
                c.status,
                Status::Approved | Status::ApprovedNewVersionInReview
            )
        })
        .map(|(_, id)| *id)
        .collect();
    let created = admin
        .post_ok(
            "/upload-links",
            json!({ "folder_id": area, "reference_asset_ids": approved_refs }),
            201,
        )
        .await;
    let upload_link_id = created["id"].as_str().unwrap().to_string();
    let url = created["url"].as_str().unwrap();
    let upload_link = url[url.find("/u/").unwrap()..].to_string();
    for (n, (_, id)) in granted
        .iter()
        .filter(|(c, _)| {
            !matches!(
                c.status,
                Status::Approved | Status::ApprovedNewVersionInReview
            )
        })
        .enumerate()
    {
        sqlx::query(
            "INSERT INTO upload_link_refs (upload_link_id, asset_id, position) VALUES ($1, $2, $3)",
        )
        .bind(&upload_link_id)
        .bind(*id)
        .bind(1000 + n as i64)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    }

    let clients = vec![
        (
            Role::MemberView,
            app.member("viewer@retail.example", &[&viewers]).await,
        ),
        (
            Role::MemberViewDownload,
            app.member("buyer@retail.example", &[&downloaders]).await,
        ),
        (
            Role::MemberNoGrant,
            app.member("stranger@retail.example", &[&strangers]).await,
        ),
        (Role::Contributor, contributor),
        (Role::Admin, admin),
    ];
    // Personal grants on every case's asset: in force for one member, ended for another.
    let mut clients = clients;
    for (role, email, until) in [
        (Role::MemberPersonal, "granted@retail.example", now + day),
        (
            Role::MemberPersonalEnded,
            "lapsed@retail.example",
            now - day,
        ),
    ] {
        let api = app.member(email, &[]).await;
        let user = assetport::accounts::users::by_email(&app.state.db, email)
            .await
            .unwrap()
            .expect("the member");
        for id in ids.values() {
            sqlx::query(
                "INSERT INTO download_grants (id, user_id, asset_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(format!("{email}-{id}"))
            .bind(user.id.to_string())
            .bind(id)
            .bind(now - 2 * day)
            .bind(until)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        }
        clients.push((role, api));
    }
    World {
        clients,
        ids,
        collection,
        folder_link,
        collection_link,
        upload_link,
    }
}

/// What one listing shows: asset id → the SHA-256 of the version it lists.
async fn listed(r: reqwest::Response, items: &[&str]) -> HashMap<String, String> {
    if r.status() == 404 {
        return HashMap::new();
    }
    let mut j = expect_json(r, 200).await;
    for k in items {
        j = j[*k].clone();
    }
    j.as_array()
        .expect("a list")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                a["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn search_all(api: &Api) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut page = 1;
    loop {
        let r = api.get(&format!("/search?q=matrixcase&page={page}")).await;
        let j = expect_json(r, 200).await;
        for a in j["items"].as_array().unwrap() {
            out.insert(
                a["id"].as_str().unwrap().to_string(),
                a["sha256"].as_str().unwrap().to_string(),
            );
        }
        if j["next"].is_null() {
            return out;
        }
        page += 1;
    }
}

/// A binary answer: 404 is hidden, 200 visible with the body's SHA-256; anything else fails.
async fn fetched(r: reqwest::Response) -> Result<Option<String>, String> {
    match r.status().as_u16() {
        404 => Ok(None),
        200 => Ok(Some(sha256_hex(&r.bytes().await.unwrap()))),
        s => Err(format!("answered {s}")),
    }
}

async fn access_matrix_holds_on_every_channel(app: TestApp) {
    let w = world(&app).await;
    let mut cases: Vec<Case> = w.ids.keys().copied().collect();
    cases.sort_by_key(|c| c.name());
    let sha_of = |c: Case, version: u8| sha256_hex(&c.bytes(version));
    let mut rows = 0;
    let mut failures: Vec<String> = Vec::new();
    let mut check =
        |role: Role, channel: Channel, case: Case, got: Result<Option<String>, String>| {
            rows += 1;
            let want = expected(role, channel, case);
            let want_sha = want.map(|v| sha_of(case, v));
            let fine = match &got {
                Ok(g) => *g == want_sha,
                Err(_) => false,
            };
            if !fine {
                let say = |s: &Option<String>| match s {
                    None => "hidden".to_string(),
                    Some(h) if Some(h) == Some(&sha_of(case, 1)) => "visible v1".to_string(),
                    Some(h) if Some(h) == Some(&sha_of(case, 2)) => "visible v2".to_string(),
                    Some(h) => format!("visible, other bytes {h}"),
                };
                failures.push(format!(
                    "{role:?} × {:?} × {:?} × {:?} × {channel:?}: expected {}, got {}",
                    case.status,
                    case.window,
                    case.place,
                    say(&want_sha),
                    match &got {
                        Ok(g) => say(g),
                        Err(e) => e.clone(),
                    }
                ));
            }
        };

    for role in MEMBER_ROLES {
        let api = &w.clients.iter().find(|(r, _)| *r == role).unwrap().1;
        let found = search_all(api).await;
        let collected = listed(
            api.get(&format!("/collections/{}", w.collection)).await,
            &["assets", "items"],
        )
        .await;
        for &case in &cases {
            let id = &w.ids[&case];
            for channel in MEMBER_CHANNELS {
                let got = match channel {
                    Channel::ApiAsset => {
                        let r = api.get(&format!("/assets/{id}")).await;
                        match r.status().as_u16() {
                            404 => Ok(None),
                            200 => Ok(r.json::<Value>().await.unwrap()["sha256"]
                                .as_str()
                                .map(str::to_string)),
                            s => Err(format!("answered {s}")),
                        }
                    }
                    Channel::ApiOriginal => {
                        fetched(api.get(&format!("/assets/{id}/original")).await).await
                    }
                    Channel::Search => Ok(found.get(id).cloned()),
                    Channel::Collection => Ok(collected.get(id).cloned()),
                    _ => unreachable!(),
                };
                check(role, channel, case, got);
            }
        }
    }

    let v = visitor();
    let page = text_of(&v, app.url(&w.upload_link)).await;
    for &case in &cases {
        let id = &w.ids[&case];
        for channel in LINK_CHANNELS {
            let path = match channel {
                Channel::FolderLink => format!("{}/assets/{id}/original", w.folder_link),
                Channel::CollectionLink => format!("{}/assets/{id}/original", w.collection_link),
                Channel::UploadLinkRef => format!("{}/refs/{id}", w.upload_link),
                Channel::UploadLinkPage => {
                    // The page links each of the brief's files.
                    let shown = page.contains(&format!("/refs/{id}\""));
                    check(
                        Role::Visitor,
                        channel,
                        case,
                        Ok(shown.then(|| sha_of(case, 1))),
                    );
                    continue;
                }
                _ => unreachable!(),
            };
            let got = fetched(v.get(app.url(&path)).send().await.unwrap()).await;
            check(Role::Visitor, channel, case, got);
        }
    }

    assert!(
        failures.is_empty(),
        "{} of {rows} access rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("access matrix: {rows} rows hold on {:?}", app.backend);
}

on_both_backends!(access_matrix_holds_on_every_channel);
