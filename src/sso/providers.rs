//! A provider's settings, checked in one place, and the two actions on them: `save` (create or
//! change; records `sso_provider_saved`) and `delete` (records `sso_provider_deleted`). The
//! admin page, the API and the config file all go through `save`.
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;

use super::{get, Provider};
use crate::accounts::{groups, Account};
use crate::app::AppState;
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::sealed::{self, Purpose};
use crate::secret_string::SecretString;
use crate::web::client::ClientInfo;

/// What an admin (or the config file) says about a provider. On a change, an absent or empty
/// `client_secret` keeps the stored one.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderInput {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub issuer: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub groups_claim: Option<String>,
    /// Claim value → assetport groups (ids or names).
    #[serde(default)]
    pub group_map: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub admin_values: Vec<String>,
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    #[serde(default)]
    pub jit: Option<bool>,
    #[serde(default)]
    pub sso_only: Option<bool>,
}

fn bad(field: &str, why: &str) -> AppError {
    AppError::Unprocessable(format!("{field}: {why}"))
}

fn one_line(field: &str, s: &str, max: usize) -> Result<String, AppError> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(bad(field, &format!("1 to {max} characters on one line")));
    }
    Ok(s.to_string())
}

fn check_id(id: &str) -> Result<String, AppError> {
    let id = id.trim().to_lowercase();
    let ok = !id.is_empty()
        && id.len() <= 40
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(bad("id", "1 to 40 lower-case letters, digits or dashes"));
    }
    Ok(id)
}

/// An issuer is an `https` URL; plain `http` only on this machine (a provider in a test or on
/// the same host), since discovery over plain HTTP elsewhere could be rewritten on the way.
fn check_issuer(raw: &str) -> Result<String, AppError> {
    let s = raw.trim().trim_end_matches('/');
    let url = url::Url::parse(s).map_err(|_| bad("issuer", "not a URL"))?;
    let local = matches!(
        url.host_str(),
        Some("127.0.0.1") | Some("localhost") | Some("[::1]")
    );
    let ok = match url.scheme() {
        "https" => true,
        "http" => local,
        _ => false,
    };
    if !ok || url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "issuer",
            "an https:// address without query or fragment (http:// only for localhost)",
        ));
    }
    Ok(s.to_string())
}

fn check_domain(d: &str) -> Result<String, AppError> {
    let d = d.trim().trim_start_matches('@').to_lowercase();
    let ok = d.contains('.')
        && d.len() <= 253
        && d.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !ok {
        return Err(bad("allowed_domains", &format!("{d:?} is not a domain")));
    }
    Ok(d)
}

/// A provider's stored columns, checked.
struct Checked {
    name: String,
    issuer: String,
    client_id: String,
    secret: Option<String>,
    scopes: String,
    groups_claim: String,
    group_map: String,
    admin_values: String,
    allowed_domains: String,
    jit: bool,
    sso_only: bool,
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

impl Checked {
    /// Binds the settings, in the column order both statements use ($2 to $11).
    fn bind_settings<'q>(&'q self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(&self.name)
            .bind(&self.issuer)
            .bind(&self.client_id)
            .bind(&self.scopes)
            .bind(&self.groups_claim)
            .bind(&self.group_map)
            .bind(&self.admin_values)
            .bind(&self.allowed_domains)
            .bind(self.jit as i64)
            .bind(self.sso_only as i64)
    }
}

/// Checks everything; group names that do not exist are a 422, unless `create_groups` (the
/// config file's providers make the groups they name).
async fn check(
    state: &AppState,
    p: &ProviderInput,
    create_groups: bool,
) -> Result<Checked, AppError> {
    let name = one_line("name", &p.name, 60)?;
    let issuer = check_issuer(&p.issuer)?;
    let client_id = one_line("client_id", &p.client_id, 200)?;
    let secret = match p.client_secret.as_ref().map(|s| s.expose().trim()) {
        Some("") | None => None,
        Some(s) => Some(one_line("client_secret", s, 500)?),
    };
    let mut scopes = vec!["openid".to_string()];
    for s in p.scopes.iter().flatten().map(|s| s.trim()) {
        if s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
        {
            return Err(bad("scopes", &format!("{s:?} is not a scope")));
        }
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    if p.scopes.is_none() {
        scopes.extend(["email".to_string(), "profile".to_string()]);
    }
    let groups_claim = one_line(
        "groups_claim",
        p.groups_claim.as_deref().unwrap_or("groups"),
        100,
    )?;
    let known = groups::list(&state.db).await?;
    let mut map = serde_json::Map::new();
    for (value, targets) in &p.group_map {
        let value = one_line("group_map", value, 200)?;
        let mut ids = Vec::new();
        for t in targets {
            let t = t.trim();
            let found = known.iter().find(|g| g.id == t || g.name == t);
            let id = match found {
                Some(g) => g.id.clone(),
                None if create_groups => groups::create(&state.db, t).await?.id,
                None => {
                    return Err(bad(
                        "group_map",
                        &format!("there is no group {t:?} (for the claim value {value:?})"),
                    ))
                }
            };
            ids.push(json!(id));
        }
        map.insert(value, json!(ids));
    }
    let admin_values = p
        .admin_values
        .iter()
        .map(|v| one_line("admin_values", v, 200))
        .collect::<Result<Vec<_>, _>>()?;
    let domains = p
        .allowed_domains
        .iter()
        .filter(|d| !d.trim().is_empty())
        .map(|d| check_domain(d))
        .collect::<Result<Vec<_>, _>>()?;
    let sso_only = p.sso_only.unwrap_or(false);
    if sso_only && domains.is_empty() {
        return Err(bad(
            "sso_only",
            "name the allowed domains whose members must use this provider",
        ));
    }
    Ok(Checked {
        name,
        issuer,
        client_id,
        secret,
        scopes: scopes.join(" "),
        groups_claim,
        group_map: serde_json::Value::Object(map).to_string(),
        admin_values: admin_values.join(","),
        allowed_domains: domains.join(","),
        jit: p.jit.unwrap_or(true),
        sso_only,
    })
}

/// Where a save comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// An admin, creating (`id` new) or changing; a provider from the config file is not theirs
    /// to change (409).
    Admin { create: bool },
    /// `assetport.toml`, at start: created or overwritten.
    Config,
}

/// Creates or changes a provider. Records `sso_provider_saved`.
pub async fn save(
    state: &AppState,
    by: Option<&Account>,
    input: &ProviderInput,
    source: Source,
    client: &ClientInfo,
) -> Result<Provider, AppError> {
    let id = check_id(&input.id)?;
    let existing = match get(&state.db, &id).await {
        Ok(p) => Some(p),
        Err(AppError::NotFound) => None,
        Err(e) => return Err(e),
    };
    match (source, &existing) {
        (Source::Admin { create: true }, Some(_)) => {
            return Err(AppError::Conflict(format!(
                "a provider with the id {id:?} exists"
            )))
        }
        (Source::Admin { create: false }, None) => return Err(AppError::NotFound),
        (Source::Admin { .. }, Some(p)) if p.source == "config" => {
            return Err(AppError::Conflict(format!(
                "the provider {id:?} is set in assetport.toml; change it there"
            )))
        }
        _ => {}
    }
    let c = check(state, input, source == Source::Config).await?;
    let secret = state.secret.expose();
    if source == Source::Config {
        if let Some(p) = &existing {
            if unchanged(state, &id, &c, p).await? {
                return Ok(p.clone());
            }
        }
    }
    let sealed = match (&c.secret, &existing) {
        (Some(s), _) => sealed::seal(secret, Purpose::SsoClientSecret, &id, s),
        (None, Some(p)) => p.client_secret_sealed.clone(),
        (None, None) => String::new(),
    };
    let now = state.clock.now_ms();
    let src = if source == Source::Config {
        "config"
    } else {
        "admin"
    };
    let sql = if existing.is_some() {
        "UPDATE sso_providers SET name = $2, issuer = $3, client_id = $4, scopes = $5, \
         groups_claim = $6, group_map = $7, admin_values = $8, allowed_domains = $9, jit = $10, \
         sso_only = $11, client_secret_sealed = $12, source = $13, updated_at = $14 WHERE id = $1"
    } else {
        "INSERT INTO sso_providers (id, name, issuer, client_id, scopes, groups_claim, group_map, \
         admin_values, allowed_domains, jit, sso_only, client_secret_sealed, source, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)"
    };
    // A subject is unique at its issuer only: links made through the old issuer would let the
    // new issuer's user of the same `sub` into someone else's account, so they go with it.
    let new_issuer = existing.as_ref().is_some_and(|p| p.issuer != c.issuer);
    let mut tx = state.db.pool.begin().await?;
    let res = c
        .bind_settings(sqlx::query(sql).bind(&id))
        .bind(&sealed)
        .bind(src)
        .bind(now)
        .execute(&mut *tx)
        .await;
    match res {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(AppError::Conflict(format!(
                "a provider with the id {id:?} exists"
            )))
        }
        r => r?,
    };
    if new_issuer {
        sqlx::query("DELETE FROM sso_identities WHERE provider_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    let detail = format!(
        "{id} ({}{})",
        if new_issuer {
            "changed; a new issuer, so its links to accounts were removed"
        } else if existing.is_some() {
            "changed"
        } else {
            "created"
        },
        if source == Source::Config {
            ", from assetport.toml"
        } else {
            ""
        }
    );
    let mut e = Event::new(EventKind::SsoProviderSaved).detail(&detail);
    if let Some(by) = by {
        e = e.by(&by.id);
    }
    state.events.record(e, client).await?;
    get(&state.db, &id).await
}

/// Whether the config file says what is stored already (every instance saves the file's
/// providers at each start; only a change is saved and recorded).
async fn unchanged(
    state: &AppState,
    id: &str,
    c: &Checked,
    p: &Provider,
) -> Result<bool, AppError> {
    let same_secret = match &c.secret {
        None => true,
        Some(s) => {
            sealed::open(
                state.secret.expose(),
                Purpose::SsoClientSecret,
                id,
                &p.client_secret_sealed,
            )
            .as_deref()
                == Some(s.as_str())
        }
    };
    let sql = "SELECT 1 AS one FROM sso_providers WHERE id = $1 AND name = $2 AND issuer = $3 \
         AND client_id = $4 AND scopes = $5 AND groups_claim = $6 AND group_map = $7 \
         AND admin_values = $8 AND allowed_domains = $9 AND jit = $10 AND sso_only = $11 \
         AND source = 'config'";
    let row = c
        .bind_settings(sqlx::query(sql).bind(id))
        .fetch_optional(&state.db.pool)
        .await?;
    Ok(same_secret && row.is_some())
}

/// Deletes a provider and its links to accounts (the accounts stay, and can sign in with a
/// password or a reset link). One from the config file is 409.
pub async fn delete(
    state: &AppState,
    by: &Account,
    id: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let p = get(&state.db, id).await?;
    if p.source == "config" {
        return Err(AppError::Conflict(format!(
            "the provider {id:?} is set in assetport.toml; remove it there"
        )));
    }
    let mut tx = state.db.pool.begin().await?;
    for sql in [
        "DELETE FROM sso_identities WHERE provider_id = $1",
        "DELETE FROM sso_providers WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    let e = Event::new(EventKind::SsoProviderDeleted)
        .by(&by.id)
        .detail(id);
    state.events.record(e, client).await?;
    Ok(())
}

/// At start: the config file's providers, saved (created or brought up to date). One that was
/// in the file before but is no longer becomes an ordinary provider that admins may change
/// or delete (deleting it here would cut its accounts' links at a restart).
pub async fn apply_config(state: &AppState) -> Result<(), AppError> {
    let from_file = state.config.sso.clone();
    let client = ClientInfo::system();
    for p in &from_file {
        save(state, None, p, Source::Config, &client).await?;
    }
    let ids: Vec<&str> = from_file.iter().map(|p| p.id.as_str()).collect();
    for p in super::list(&state.db).await? {
        if p.source == "config" && !ids.contains(&p.id.as_str()) {
            sqlx::query("UPDATE sso_providers SET source = 'admin' WHERE id = $1")
                .bind(&p.id)
                .execute(&state.db.pool)
                .await?;
        }
    }
    Ok(())
}
