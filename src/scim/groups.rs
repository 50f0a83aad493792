//! `/scim/v2/Groups` (RFC 7643 §4.2, RFC 7644 §3.5.2): create (with members), read, list with
//! `filter=displayName eq "…"`, PATCH members (`add` with a list of `{"value": user id}`,
//! `remove` by `members[value eq "…"]` or with a list) and the name, DELETE. Membership changes
//! go through the account actions (events `member_added` / `member_removed`), acting as the
//! token's admin; grants stay an admin's choice on `/admin/groups`.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{scim_json, PatchBody, ScimClient, ScimError, ScimJson, ScimQuery, ScimResult};
use crate::accounts::{actions, groups};
use crate::app::AppState;
use crate::web::client::ClientInfo;

const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/Groups", get(list).post(create))
        .route("/Groups/{id}", get(read).patch(patch).delete(remove))
}

async fn resource(state: &AppState, g: &groups::Group) -> ScimResult<Value> {
    let members: Vec<Value> = groups::members(&state.db, &g.id)
        .await?
        .iter()
        .map(|a| json!({ "value": a.id, "display": a.email }))
        .collect();
    Ok(json!({
        "schemas": [GROUP_SCHEMA],
        "id": g.id,
        "displayName": g.name,
        "members": members,
        "meta": {
            "resourceType": "Group",
            "location": format!("{}/scim/v2/Groups/{}", state.config.public_url, g.id),
        },
    }))
}

async fn group(state: &AppState, id: &str) -> ScimResult<groups::Group> {
    groups::get(&state.db, id)
        .await
        .map_err(|_| ScimError::new(StatusCode::NOT_FOUND, format!("no group {id}")))
}

#[derive(Deserialize)]
struct Member {
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupBody {
    display_name: String,
    #[serde(default)]
    members: Vec<Member>,
}

fn unknown_member(id: &str) -> ScimError {
    ScimError::typed(
        StatusCode::BAD_REQUEST,
        "invalidValue",
        format!("no user {id}"),
    )
}

async fn add(
    state: &AppState,
    idp: &ScimClient,
    group_id: &str,
    user: &str,
    client: &ClientInfo,
) -> ScimResult<()> {
    let uid: crate::ids::UserId = user.to_string().into();
    actions::add_member(state, &idp.acting, group_id, &uid, client)
        .await
        .map_err(|e| match e {
            crate::error::AppError::NotFound => unknown_member(user),
            e => e.into(),
        })
}

async fn create(
    State(state): State<AppState>,
    idp: ScimClient,
    client: ClientInfo,
    ScimJson(b): ScimJson<GroupBody>,
) -> ScimResult<Response> {
    let g = actions::create_group(&state, &idp.acting, &b.display_name, &client).await?;
    for m in &b.members {
        add(&state, &idp, &g.id, &m.value, &client).await?;
    }
    let g = group(&state, &g.id).await?;
    Ok(scim_json(StatusCode::CREATED, resource(&state, &g).await?))
}

async fn read(
    State(state): State<AppState>,
    _idp: ScimClient,
    Path(id): Path<String>,
) -> ScimResult<Response> {
    let g = group(&state, &id).await?;
    Ok(scim_json(StatusCode::OK, resource(&state, &g).await?))
}

#[derive(Deserialize)]
struct ListQuery {
    filter: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    _idp: ScimClient,
    ScimQuery(q): ScimQuery<ListQuery>,
) -> ScimResult<Response> {
    let all = groups::list(&state.db).await?;
    let wanted: Option<String> = match &q.filter {
        None => None,
        Some(f) => Some(super::eq_filter(f, "displayName")?),
    };
    let mut resources = Vec::new();
    for g in all.iter().filter(|g| {
        wanted
            .as_ref()
            .is_none_or(|w| g.name.eq_ignore_ascii_case(w))
    }) {
        resources.push(resource(&state, g).await?);
    }
    Ok(scim_json(
        StatusCode::OK,
        json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": resources.len(),
            "startIndex": 1,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    ))
}

/// The user ids in a members value (`[{"value": id}, …]`).
fn member_ids(v: &Value) -> ScimResult<Vec<String>> {
    let bad = || {
        ScimError::typed(
            StatusCode::BAD_REQUEST,
            "invalidValue",
            "members must be a list of {\"value\": user id}",
        )
    };
    v.as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|m| m["value"].as_str().map(str::to_string).ok_or_else(bad))
        .collect()
}

async fn patch(
    State(state): State<AppState>,
    idp: ScimClient,
    client: ClientInfo,
    Path(id): Path<String>,
    ScimJson(b): ScimJson<PatchBody>,
) -> ScimResult<Response> {
    let operations = b.operations()?;
    group(&state, &id).await?;
    for op in &operations {
        let kind = op.op.to_ascii_lowercase();
        let path = op.path.as_deref().unwrap_or("");
        let value = op.value.clone().unwrap_or(Value::Null);
        match (kind.as_str(), path) {
            ("add", "members") => {
                for u in member_ids(&value)? {
                    add(&state, &idp, &id, &u, &client).await?;
                }
            }
            ("remove", p) if p == "members" || p.starts_with("members[") => {
                let users = if let Some(inner) =
                    p.strip_prefix("members[").and_then(|r| r.strip_suffix(']'))
                {
                    vec![super::eq_filter(inner, "value")?]
                } else {
                    member_ids(&value)?
                };
                for u in users {
                    let uid: crate::ids::UserId = u.into();
                    actions::remove_member(&state, &idp.acting, &id, &uid, &client).await?;
                }
            }
            _ => {
                return Err(ScimError::typed(
                    StatusCode::BAD_REQUEST,
                    "invalidValue",
                    format!("cannot apply {} {path}", op.op),
                ))
            }
        }
    }
    let g = group(&state, &id).await?;
    Ok(scim_json(StatusCode::OK, resource(&state, &g).await?))
}

async fn remove(
    State(state): State<AppState>,
    idp: ScimClient,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ScimResult<StatusCode> {
    group(&state, &id).await?;
    actions::delete_group(&state, &idp.acting, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
