//! JSON API over folders, grants and assets (SPEC §3).
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::access;
use crate::accounts::{ApiAdmin, ApiUser};
use crate::app::AppState;
use crate::clock;
use crate::error::{ApiResult, AppError};
use crate::ids::{AssetId, FolderId};
use crate::library::assets::{self, Changes};
use crate::library::{actions, checkout, review};
use crate::library::{folders, listing, upload};
use crate::web::client::ClientInfo;

pub fn routes(max_upload: u64) -> Router<AppState> {
    Router::new()
        .route("/folders", post(create_folder).get(list_roots))
        .route("/folders/{id}", get(read_folder))
        .route("/folders/{id}/grants", get(list_grants))
        .route(
            "/folders/{id}/grants/{group_id}",
            put(set_grant).delete(delete_grant),
        )
        .route(
            "/folders/{id}/assets",
            post(upload_asset).layer(DefaultBodyLimit::max(
                (max_upload + upload::MULTIPART_OVERHEAD) as usize,
            )),
        )
        .route("/assets/{id}", get(read_asset).patch(patch_asset))
        .route(
            "/assets/{id}/versions",
            get(list_versions)
                .post(check_in)
                .layer(DefaultBodyLimit::max(
                    (max_upload + upload::MULTIPART_OVERHEAD) as usize,
                )),
        )
        .route(
            "/assets/{id}/versions/{version_id}/current",
            post(make_current),
        )
        .route("/assets/{id}/checkout", post(check_out).delete(release))
        .route("/review", get(review_queue))
        .route("/review/bulk", post(review_bulk))
        .route("/submissions", get(my_submissions))
        .route("/assets/{id}/approve", post(approve))
        .route("/assets/{id}/reject", post(reject))
        .route("/assets/{id}/archive", post(archive))
        .route("/assets/{id}/restore", post(restore))
        .route("/assets/{id}/original", get(original))
        .route("/assets/{id}/renditions/{kind}", get(rendition))
        .route("/assets/{id}/presets/{preset}", get(preset))
        .route("/assets/{id}/renditions", post(rerender))
        .route("/assets/bulk", post(bulk_edit))
        .route("/zip", post(zip_selection))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ZipBody {
    #[serde(default)]
    asset_ids: Vec<String>,
    folder_id: Option<String>,
    collection_id: Option<String>,
    /// A download preset's name: pictures at that size.
    preset: Option<String>,
}

/// One streamed ZIP of the visible, downloadable assets of a selection or a folder tree.
async fn zip_selection(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    client: ClientInfo,
    method: Method,
    headers: HeaderMap,
    Json(b): Json<ZipBody>,
) -> ApiResult<Response> {
    let preset = crate::renditions::presets::Preset::from_param(b.preset.as_deref())?;
    let (listed, name) = crate::library::zip::selection(
        &state,
        &who,
        b.asset_ids,
        b.folder_id,
        b.collection_id,
        None,
    )
    .await?;
    let ask = crate::delivery::Ask {
        method: &method,
        headers: &headers,
        client: &client,
        api: true,
    };
    crate::delivery::member_zip(&state, &who, &ask, listed, &name, preset).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewFolder {
    parent_id: Option<FolderId>,
    name: String,
}

async fn create_folder(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Json(body): Json<NewFolder>,
) -> ApiResult<Response> {
    let parent = body.parent_id.as_ref();
    let folder = actions::create_folder(&state, &admin, parent, &body.name, &client).await?;
    Ok((StatusCode::CREATED, Json(folder.to_json())).into_response())
}

async fn list_roots(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
) -> ApiResult<Json<Value>> {
    let roots = access::roots(&state.db, &who).await?;
    Ok(Json(
        json!({ "items": roots.iter().map(|f| f.to_json()).collect::<Vec<_>>(), "next": null }),
    ))
}

#[derive(Deserialize)]
struct PageQuery {
    cursor: Option<String>,
}

async fn read_folder(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    let page = listing::folder_page(&state.db, &who, &id, q.cursor.as_deref()).await?;
    let (folder, rights) = (&page.folder, page.rights);
    let subfolders = folders::children(&state.db, Some(&folder.id)).await?;
    let mut j = folder.to_json();
    j["rights"] = json!({ "view": rights.view, "download": rights.download, "contribute": rights.contribute });
    j["folders"] = json!({ "items": subfolders.iter().map(|f| f.to_json()).collect::<Vec<_>>(), "next": null });
    let see_review = who.is_admin();
    j["assets"] = json!({
        "items": page.items.iter().map(|v| v.to_json(see_review || v.asset.submitted_by.as_deref() == Some(who.id.as_str()))).collect::<Vec<_>>(),
        "next": page.next,
    });
    Ok(Json(j))
}

async fn list_grants(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    folders::get(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let grants = folders::grants(&state.db, &id).await?;
    Ok(Json(json!({ "items": grants, "next": null })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantBody {
    #[serde(default)]
    view: bool,
    #[serde(default)]
    download: bool,
    #[serde(default)]
    contribute: bool,
}

async fn set_grant(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path((id, group_id)): Path<(FolderId, String)>,
    Json(g): Json<GrantBody>,
) -> ApiResult<Json<Value>> {
    let rights = actions::Rights {
        view: g.view,
        download: g.download,
        contribute: g.contribute,
    };
    actions::grant(&state, &admin, &id, &group_id, rights, &client).await?;
    Ok(Json(
        json!({ "folder_id": id, "group_id": group_id, "view": g.view, "download": g.download, "contribute": g.contribute }),
    ))
}

async fn delete_grant(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path((id, group_id)): Path<(FolderId, String)>,
) -> ApiResult<StatusCode> {
    actions::remove_grant(&state, &admin, &id, &group_id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn upload_asset(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> ApiResult<Response> {
    let view = upload::receive(&state, &who, &id, &headers, multipart, &client).await?;
    Ok((StatusCode::CREATED, Json(view.to_json(true))).into_response())
}

async fn read_asset(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (view, rights) = access::asset(&state.db, &who, &id, state.clock.now_ms()).await?;
    Ok(Json(if who.is_admin() {
        view.to_admin_json()
    } else {
        view.to_json(rights.see_review)
    }))
}

async fn list_versions(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (_, rights) = access::asset(&state.db, &who, &id, state.clock.now_ms()).await?;
    if !rights.see_review {
        return Err(AppError::NotFound);
    }
    let versions = assets::versions(&state.db, &id).await?;
    let items: Vec<Value> = versions
        .iter()
        .map(|v| {
            json!({ "id": v.id, "number": v.number, "filename": v.filename, "size": v.size,
            "sha256": v.sha256, "media_type": v.media_type, "uploaded_by": v.uploaded_by,
            "comment": v.comment, "created_at": clock::rfc3339(v.created_at) })
        })
        .collect();
    Ok(Json(json!({ "items": items, "next": null })))
}

/// PATCH body: absent keys stay, `null` clears an optional field.
/// Keywords given as a list of strings or as one comma-separated string.
fn keyword_list(v: &Value, k: &str) -> Result<Vec<String>, AppError> {
    let wrong = || AppError::BadRequest(format!("'{k}' must be a list of strings"));
    match v {
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string).ok_or_else(wrong))
            .collect(),
        Value::String(s) => Ok(assets::split_keywords(s)),
        _ => Err(wrong()),
    }
}

pub fn parse_changes(body: Map<String, Value>) -> Result<Changes, AppError> {
    let mut ch = Changes::default();
    let text = |v: &Value, k: &str| {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| AppError::BadRequest(format!("'{k}' must be a string")))
    };
    let time = |v: &Value, k: &str| -> Result<Option<i64>, AppError> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => clock::parse_rfc3339(s).map(Some).ok_or_else(|| {
                AppError::BadRequest(format!("'{k}' must be an RFC 3339 timestamp"))
            }),
            _ => Err(AppError::BadRequest(format!(
                "'{k}' must be an RFC 3339 timestamp or null"
            ))),
        }
    };
    for (k, v) in &body {
        match k.as_str() {
            "title" => ch.title = Some(text(v, k)?),
            "description" => ch.description = Some(text(v, k)?),
            "filename" => ch.filename = Some(text(v, k)?),
            "folder_id" => ch.folder_id = Some(text(v, k)?),
            "credit" => ch.credit = Some(text(v, k)?),
            "usage_terms" => ch.usage_terms = Some(text(v, k)?),
            "add_keywords" => ch.add_keywords = assets::check_keywords(&keyword_list(v, k)?)?,
            "remove_keywords" => ch.remove_keywords = assets::check_keywords(&keyword_list(v, k)?)?,
            "keywords" => {
                let list = keyword_list(v, k)?;
                ch.keywords = Some(list);
            }
            "available_from" => ch.available_from = Some(time(v, k)?),
            "available_until" => ch.available_until = Some(time(v, k)?),
            other => return Err(AppError::BadRequest(format!("unknown field '{other}'"))),
        }
    }
    Ok(ch)
}

async fn patch_asset(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<AssetId>,
    Json(body): Json<Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    let changes = parse_changes(body)?;
    actions::edit_asset(&state, &admin, &id, changes, &client).await?;
    let view = assets::get_current(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(view.to_json(true)))
}

/// Runs a review decision and answers with the asset as it now is.
async fn lifecycle(
    state: &AppState,
    admin: &crate::accounts::Account,
    id: &str,
    action: review::Action,
    client: &ClientInfo,
    comment: Option<&str>,
    into: Option<&str>,
) -> ApiResult<Json<Value>> {
    review::decide(
        state,
        admin,
        id,
        action,
        comment.unwrap_or(""),
        into,
        client,
    )
    .await?;
    let view = assets::get_current(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(view.to_json(true)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    /// Approve into another folder.
    #[serde(default)]
    folder_id: Option<String>,
}

async fn approve(
    State(s): State<AppState>,
    ApiAdmin(a): ApiAdmin,
    c: ClientInfo,
    Path(id): Path<String>,
    body: Option<Json<ApproveBody>>,
) -> ApiResult<Json<Value>> {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let into = body.folder_id.as_deref();
    lifecycle(&s, &a, &id, review::Action::Approve, &c, None, into).await
}

#[derive(Deserialize)]
struct RejectBody {
    comment: String,
}

async fn reject(
    State(s): State<AppState>,
    ApiAdmin(a): ApiAdmin,
    c: ClientInfo,
    Path(id): Path<String>,
    Json(b): Json<RejectBody>,
) -> ApiResult<Json<Value>> {
    lifecycle(
        &s,
        &a,
        &id,
        review::Action::Reject,
        &c,
        Some(&b.comment),
        None,
    )
    .await
}

async fn archive(
    State(s): State<AppState>,
    ApiAdmin(a): ApiAdmin,
    c: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    lifecycle(&s, &a, &id, review::Action::Archive, &c, None, None).await
}

async fn restore(
    State(s): State<AppState>,
    ApiAdmin(a): ApiAdmin,
    c: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    lifecycle(&s, &a, &id, review::Action::Restore, &c, None, None).await
}

async fn original(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    client: ClientInfo,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let ask = crate::delivery::Ask {
        method: &method,
        headers: &headers,
        client: &client,
        api: true,
    };
    crate::delivery::member_original(&state, &who, &id, &ask).await
}

/// Admin: make the current version's renditions again (202: it happens in the background).
async fn rerender(
    State(state): State<AppState>,
    ApiAdmin(_): ApiAdmin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let view = assets::get_current(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::renditions::rerender(&state, &view.version.id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Admin: the same metadata change on many assets (`{"asset_ids": [...], "changes": {...}}`,
/// changes as for PATCH plus `add_keywords` / `remove_keywords`). All are checked first; an
/// unknown asset changes nothing (422).
async fn bulk_edit(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Json(body): Json<Map<String, Value>>,
) -> ApiResult<Json<Value>> {
    let ids: Vec<AssetId> = match body.get("asset_ids") {
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(AssetId::from)
                    .ok_or_else(|| AppError::BadRequest("'asset_ids' must be strings".into()))
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(AppError::BadRequest("'asset_ids' must be a list".into())),
    };
    if ids.is_empty() || ids.len() > 10_000 {
        return Err(AppError::BadRequest(
            "'asset_ids' needs 1 to 10,000 ids".into(),
        ));
    }
    let changes = match body.get("changes") {
        Some(Value::Object(m)) => m.clone(),
        _ => return Err(AppError::BadRequest("'changes' must be an object".into())),
    };
    if let Some(other) = body.keys().find(|k| *k != "asset_ids" && *k != "changes") {
        return Err(AppError::BadRequest(format!("unknown field '{other}'")));
    }
    let changes = parse_changes(changes)?;
    for id in &ids {
        if assets::get_current(&state.db, id).await?.is_none() {
            return Err(AppError::Unprocessable(format!("no such asset: {id}")));
        }
    }
    let updated = actions::edit_assets(&state, &admin, &ids, &changes, &client).await?;
    Ok(Json(json!({ "updated": updated })))
}

#[derive(Deserialize, Default)]
pub struct RenditionQuery {
    /// `download=1` saves the rendition as a file (needs `download`); otherwise it is shown
    /// (needs only `view`: previews are part of browsing, SPEC §1 Grant).
    #[serde(default)]
    download: Option<String>,
}

impl RenditionQuery {
    pub fn wants_file(&self) -> bool {
        matches!(self.download.as_deref(), Some("1" | "true"))
    }
}

/// A download preset: `large`, `web`, `small`, or `png`/`webp` for transparent pictures (`renditions::presets`); 404 for a name that
/// is none of them or an asset that offers none (not a picture).
async fn preset(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    client: ClientInfo,
    Path((id, preset)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let preset = crate::renditions::presets::Preset::parse(&preset).ok_or(AppError::NotFound)?;
    let ask = crate::delivery::Ask {
        method: &method,
        headers: &headers,
        client: &client,
        api: true,
    };
    crate::delivery::member_preset(&state, &who, &id, preset, &ask).await
}

async fn rendition(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    client: ClientInfo,
    Path((id, kind)): Path<(String, String)>,
    Query(q): Query<RenditionQuery>,
    method: Method,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let ask = crate::delivery::Ask {
        method: &method,
        headers: &headers,
        client: &client,
        api: true,
    };
    crate::delivery::member_rendition(&state, &who, &id, &kind, q.wants_file(), &ask).await
}

async fn check_out(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    client: ClientInfo,
    Path(id): Path<AssetId>,
) -> ApiResult<Json<Value>> {
    actions::check_out(&state, &who, &id, &client).await?;
    let (view, rights) = access::asset(&state.db, &who, &id, state.clock.now_ms()).await?;
    Ok(Json(if who.is_admin() {
        view.to_admin_json()
    } else {
        view.to_json(rights.see_review)
    }))
}

async fn release(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    client: ClientInfo,
    Path(id): Path<AssetId>,
) -> ApiResult<StatusCode> {
    actions::release(&state, &who, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn check_in(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> ApiResult<Response> {
    let outcome = upload::receive_version(&state, &who, &id, &headers, multipart, &client).await?;
    let (status, v, created) = match outcome {
        checkout::CheckIn::Created(v) => (StatusCode::CREATED, v, true),
        checkout::CheckIn::Unchanged(v) => (StatusCode::OK, v, false),
    };
    Ok((
        status,
        Json(json!({
            "created": created, "id": v.id, "number": v.number, "filename": v.filename,
            "size": v.size, "sha256": v.sha256, "comment": v.comment,
            "created_at": clock::rfc3339(v.created_at),
        })),
    )
        .into_response())
}

async fn make_current(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path((id, version_id)): Path<(AssetId, String)>,
) -> ApiResult<Json<Value>> {
    actions::make_current(&state, &admin, &id, &version_id, &client).await?;
    let view = assets::get_current(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(view.to_json(true)))
}

fn submission_json(s: &review::Submission) -> Value {
    let mut j = s.view.to_json(true);
    j["folder_path"] = s.folder_path.clone().into();
    j["uploader"] = s.uploader.clone().into();
    j["stage"] = review::stage(&s.view).into();
    j
}

async fn review_queue(
    State(state): State<AppState>,
    ApiAdmin(_admin): ApiAdmin,
) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = review::queue(&state.db, false, 1000)
        .await?
        .iter()
        .map(submission_json)
        .collect();
    Ok(Json(json!({ "items": items })))
}

async fn my_submissions(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
) -> ApiResult<Json<Value>> {
    let items: Vec<Value> = review::submitted_by(&state.db, &who.id, 1000)
        .await?
        .iter()
        .map(submission_json)
        .collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkBody {
    action: review::Action,
    asset_ids: Vec<String>,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    folder_id: Option<String>,
}

/// One decision on many assets; each is decided on its own and reported, so one conflict does
/// not undo the others.
async fn review_bulk(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Json(b): Json<BulkBody>,
) -> ApiResult<Json<Value>> {
    if b.asset_ids.is_empty() || b.asset_ids.len() > 1000 {
        return Err(AppError::Unprocessable("give 1 to 1000 asset_ids".into()));
    }
    let mut results = Vec::new();
    for id in &b.asset_ids {
        let r = review::decide(
            &state,
            &admin,
            id,
            b.action,
            &b.comment,
            b.folder_id.as_deref(),
            &client,
        )
        .await;
        results.push(match r {
            Ok(()) => json!({ "id": id, "ok": true }),
            Err(e) => json!({ "id": id, "ok": false, "status": e.status().as_u16(), "error": e.public_message() }),
        });
    }
    Ok(Json(json!({ "results": results })))
}
