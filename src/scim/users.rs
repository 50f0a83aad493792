//! `/scim/v2/Users` (RFC 7643 §4.1, RFC 7644 §3): create, read, list with
//! `filter=userName eq "…"`, PATCH `active` and the name, DELETE (disables: the account and its
//! history stay for the audit log). The account actions (`accounts::actions`) do the changes,
//! acting as the admin who made the token, so each records its usual event.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;

use super::{scim_json, PatchBody, ScimClient, ScimError, ScimJson, ScimQuery, ScimResult};
use crate::accounts::actions;
use crate::accounts::users::{self, Account, NewUser, Role, UserChanges};
use crate::app::AppState;
use crate::clock;
use crate::web::client::ClientInfo;

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/Users", get(list).post(create))
        .route("/Users/{id}", get(read).patch(patch).delete(remove))
}

async fn external_id(state: &AppState, id: &str) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query("SELECT external_id FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?
        .and_then(|r| r.try_get::<Option<String>, _>("external_id").ok().flatten()))
}

fn resource(state: &AppState, a: &Account, external: Option<String>) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "id": a.id,
        "externalId": external,
        "userName": a.email,
        "displayName": a.name,
        "name": { "formatted": a.name },
        "emails": [{ "value": a.email, "primary": true, "type": "work" }],
        "active": !a.disabled,
        "meta": {
            "resourceType": "User",
            "created": clock::rfc3339(a.created_at_ms),
            "location": format!("{}/scim/v2/Users/{}", state.config.public_url, a.id),
        },
    })
}

async fn account(state: &AppState, id: &str) -> ScimResult<Account> {
    users::by_id(&state.db, id)
        .await?
        .ok_or_else(|| ScimError::new(StatusCode::NOT_FOUND, format!("no user {id}")))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Name {
    formatted: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
}

#[derive(Deserialize)]
struct Email {
    value: String,
    #[serde(default)]
    primary: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserBody {
    user_name: Option<String>,
    #[serde(default)]
    name: Option<Name>,
    display_name: Option<String>,
    #[serde(default)]
    emails: Vec<Email>,
    active: Option<Value>,
    external_id: Option<String>,
}

/// `true`, `false`, or the strings some providers send ("True", "false").
fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn display_name(name: Option<&Name>, display: Option<&str>) -> Option<String> {
    if let Some(n) = name {
        if let Some(f) = n.formatted.as_deref().filter(|s| !s.trim().is_empty()) {
            return Some(f.trim().to_string());
        }
        let parts: Vec<&str> = [n.given_name.as_deref(), n.family_name.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect();
        if !parts.is_empty() {
            return Some(parts.join(" "));
        }
    }
    display
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().to_string())
}

async fn create(
    State(state): State<AppState>,
    idp: ScimClient,
    client: ClientInfo,
    ScimJson(b): ScimJson<UserBody>,
) -> ScimResult<Response> {
    let email = b
        .user_name
        .clone()
        .filter(|u| u.contains('@'))
        .or_else(|| {
            b.emails
                .iter()
                .find(|e| e.primary)
                .or(b.emails.first())
                .map(|e| e.value.clone())
        })
        .ok_or_else(|| {
            ScimError::typed(
                StatusCode::BAD_REQUEST,
                "invalidValue",
                "userName (an email address) is required",
            )
        })?;
    let name = display_name(b.name.as_ref(), b.display_name.as_deref())
        .unwrap_or_else(|| email.split('@').next().unwrap_or("").to_string());
    // The person signs in through their provider (or a reset link): a password nobody knows.
    let password = crate::token::new_token("scim-unset");
    let made = actions::create_user(
        &state,
        &idp.acting,
        NewUser {
            email: &email,
            name: &name,
            role: Role::Member,
            password: &password,
        },
        &client,
    )
    .await?;
    if let Some(ext) = &b.external_id {
        sqlx::query("UPDATE users SET external_id = $1 WHERE id = $2")
            .bind(ext.chars().take(200).collect::<String>())
            .bind(&made.id)
            .execute(&state.db.pool)
            .await?;
    }
    let made = if b.active.as_ref().and_then(flag) == Some(false) {
        actions::disable_user(&state, &idp.acting, &made.id, &client).await?
    } else {
        made
    };
    let ext = external_id(&state, &made.id).await?;
    Ok(scim_json(StatusCode::CREATED, resource(&state, &made, ext)))
}

async fn read(
    State(state): State<AppState>,
    _idp: ScimClient,
    Path(id): Path<String>,
) -> ScimResult<Response> {
    let a = account(&state, &id).await?;
    let ext = external_id(&state, &id).await?;
    Ok(scim_json(StatusCode::OK, resource(&state, &a, ext)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    filter: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
}

/// `userName eq "value"` (the one filter identity providers send before creating a user).
fn user_name_filter(f: &str) -> ScimResult<String> {
    Ok(super::eq_filter(f, "userName")?.to_lowercase())
}

async fn list(
    State(state): State<AppState>,
    _idp: ScimClient,
    ScimQuery(q): ScimQuery<ListQuery>,
) -> ScimResult<Response> {
    let start = q.start_index.unwrap_or(1).max(1);
    let count = q.count.unwrap_or(100).clamp(0, 500);
    let all: Vec<Account> = match &q.filter {
        Some(f) => {
            let email = user_name_filter(f)?;
            users::by_email(&state.db, &email)
                .await?
                .into_iter()
                .collect()
        }
        None => users::list(&state.db, None, 10_000).await?,
    };
    let total = all.len() as i64;
    let mut resources = Vec::new();
    for a in all.iter().skip((start - 1) as usize).take(count as usize) {
        let ext = external_id(&state, &a.id).await?;
        resources.push(resource(&state, a, ext));
    }
    Ok(scim_json(
        StatusCode::OK,
        json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    ))
}

/// Applies `replace`/`add` of `active` and the name (with or without a path); anything else is
/// a 400 naming it, and nothing changes.
async fn patch(
    State(state): State<AppState>,
    idp: ScimClient,
    client: ClientInfo,
    Path(id): Path<String>,
    ScimJson(b): ScimJson<PatchBody>,
) -> ScimResult<Response> {
    let operations = b.operations()?;
    account(&state, &id).await?;
    let mut ch = UserChanges::default();
    // Written only once every operation is known good and the change went through, so a
    // refused PATCH changes nothing.
    let mut external: Option<String> = None;
    let bad = |what: &str| {
        ScimError::typed(
            StatusCode::BAD_REQUEST,
            "invalidValue",
            format!("cannot apply {what}"),
        )
    };
    for op in &operations {
        if !matches!(op.op.to_ascii_lowercase().as_str(), "replace" | "add") {
            return Err(bad(&format!("op {}", op.op)));
        }
        let value = op.value.clone().unwrap_or(Value::Null);
        let pairs: Vec<(String, Value)> = match (&op.path, value) {
            (Some(p), v) => vec![(p.clone(), v)],
            (None, Value::Object(m)) => m.into_iter().collect(),
            (None, _) => return Err(bad("an operation without path or object value")),
        };
        for (path, v) in pairs {
            match path.as_str() {
                "active" => ch.disabled = Some(!flag(&v).ok_or_else(|| bad("active"))?),
                "displayName" | "name.formatted" => {
                    ch.name = Some(v.as_str().ok_or_else(|| bad(&path))?.to_string())
                }
                "name" => {
                    let n: Name = serde_json::from_value(v).map_err(|_| bad("name"))?;
                    ch.name = display_name(Some(&n), None);
                }
                "externalId" => {
                    let ext = v.as_str().ok_or_else(|| bad("externalId"))?;
                    external = Some(ext.chars().take(200).collect());
                }
                other => return Err(bad(other)),
            }
        }
    }
    members_only(&state, &id).await?;
    let uid: crate::ids::UserId = id.clone().into();
    let a = match ch.disabled {
        Some(true) if ch.name.is_none() => {
            actions::disable_user(&state, &idp.acting, &uid, &client).await?
        }
        _ if ch.name.is_some() || ch.disabled.is_some() => {
            actions::update_user(&state, &idp.acting, &uid, ch, &client).await?
        }
        _ => account(&state, &id).await?,
    };
    if let Some(ext) = external {
        sqlx::query("UPDATE users SET external_id = $1 WHERE id = $2")
            .bind(ext)
            .bind(&id)
            .execute(&state.db.pool)
            .await?;
    }
    let ext = external_id(&state, &id).await?;
    Ok(scim_json(StatusCode::OK, resource(&state, &a, ext)))
}

/// Provisioning manages partner accounts: an admin's account (the token's own among them) is
/// managed in the portal, where its local sign-in is the break-glass way in when the provider
/// fails. A 403 (RFC 7644 §3.12: not permitted for this authorization), nothing changed.
async fn members_only(state: &AppState, id: &str) -> ScimResult<()> {
    if account(state, id).await?.is_admin() {
        return Err(ScimError::new(
            StatusCode::FORBIDDEN,
            "admins are managed in the portal, not by provisioning",
        ));
    }
    Ok(())
}

/// DELETE disables: the provider's "deprovision" (sessions and API tokens end at once).
async fn remove(
    State(state): State<AppState>,
    idp: ScimClient,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ScimResult<StatusCode> {
    members_only(&state, &id).await?;
    let uid: crate::ids::UserId = id.into();
    actions::disable_user(&state, &idp.acting, &uid, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
