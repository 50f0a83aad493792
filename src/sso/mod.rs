//! OpenID Connect sign-in (issue 20): identity providers configured by admins (`/admin/sso`,
//! `/api/v1/sso/providers`) or in `assetport.toml` (`[[sso]]`), "Sign in with <name>" on the
//! sign-in page, just-in-time accounts, group mapping at every sign-in, "SSO only" per
//! provider, RP-initiated logout.
//!
//! - `providers.rs`: a provider's settings, their checks, and the actions that save or delete
//!   one (each recording its event); the config file's providers are saved the same way.
//! - `oidc.rs`: the protocol, on the `openidconnect` crate.
//! - `flow.rs`: `/sso/{id}/start` and `/sso/{id}/callback`; the flow's state, nonce and PKCE
//!   verifier live in the session (in the database), so a flow started on one instance
//!   finishes on any other.
//! - `accounts.rs`: which account a verified identity is (its subject, else its verified
//!   address, else a new account), and its mapped groups and role.
//! - `admin.rs`: the admin page and API.
//!
//! The client secret is kept sealed (`crate::sealed`).
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{self, Db};
use crate::error::AppError;

pub mod accounts;
pub mod admin;
pub mod flow;
pub mod oidc;
pub mod providers;

/// One identity provider, as stored.
#[derive(Clone, Debug)]
pub struct Provider {
    /// Short name used in addresses (`/sso/{id}/callback`).
    pub id: String,
    /// What the button says: "Sign in with {name}".
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret_sealed: String,
    pub scopes: Vec<String>,
    pub groups_claim: String,
    /// Claim value → assetport group ids.
    pub group_map: Vec<(String, String)>,
    /// Claim values that make an account an admin (empty: the role is not mapped).
    pub admin_values: Vec<String>,
    /// Lower-case domains allowed to sign in (empty: any).
    pub allowed_domains: Vec<String>,
    pub jit: bool,
    pub sso_only: bool,
    /// "admin" (made on the page or the API) or "config" (assetport.toml; read-only there).
    pub source: String,
}

fn list_of(s: &str) -> Vec<String> {
    s.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

fn from_row(r: &AnyRow) -> Result<Provider, sqlx::Error> {
    let map: String = r.try_get("group_map")?;
    let group_map = match serde_json::from_str::<Value>(&map) {
        Ok(Value::Object(m)) => m
            .into_iter()
            .flat_map(|(k, v)| match v {
                Value::Array(a) => a
                    .into_iter()
                    .filter_map(|g| g.as_str().map(|g| (k.clone(), g.to_string())))
                    .collect::<Vec<_>>(),
                Value::String(g) => vec![(k, g)],
                _ => Vec::new(),
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Provider {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        issuer: r.try_get("issuer")?,
        client_id: r.try_get("client_id")?,
        client_secret_sealed: r.try_get("client_secret_sealed")?,
        scopes: list_of(&r.try_get::<String, _>("scopes")?),
        groups_claim: r.try_get("groups_claim")?,
        group_map,
        admin_values: list_of(&r.try_get::<String, _>("admin_values")?),
        allowed_domains: list_of(&r.try_get::<String, _>("allowed_domains")?),
        jit: db::flag(r, "jit")?,
        sso_only: db::flag(r, "sso_only")?,
        source: r.try_get("source")?,
    })
}

const COLUMNS: &str = "id, name, issuer, client_id, client_secret_sealed, scopes, groups_claim, \
     group_map, admin_values, allowed_domains, jit, sso_only, source";

pub async fn list(db: &Db) -> Result<Vec<Provider>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM sso_providers ORDER BY name, id"
    ))
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn get(db: &Db, id: &str) -> Result<Provider, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM sso_providers WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(from_row(&row)?)
}

impl Provider {
    /// Whether an address may sign in through this provider.
    pub fn allows(&self, email: &str) -> bool {
        let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        self.allowed_domains.is_empty() || self.allowed_domains.iter().any(|d| d == domain)
    }

    /// Where the provider sends the browser back: one address per provider under the portal's
    /// public URL (registered at the provider).
    pub fn redirect_uri(&self, public_url: &str) -> String {
        format!(
            "{}/sso/{}/callback",
            public_url.trim_end_matches('/'),
            self.id
        )
    }

    pub fn to_json(&self) -> Value {
        let mut map = serde_json::Map::new();
        for (claim, group) in &self.group_map {
            let e = map
                .entry(claim.clone())
                .or_insert_with(|| Value::Array(vec![]));
            if let Value::Array(a) = e {
                a.push(Value::String(group.clone()));
            }
        }
        serde_json::json!({
            "id": self.id, "name": self.name, "issuer": self.issuer, "client_id": self.client_id,
            "client_secret_set": !self.client_secret_sealed.is_empty(),
            "scopes": self.scopes, "groups_claim": self.groups_claim, "group_map": map,
            "admin_values": self.admin_values, "allowed_domains": self.allowed_domains,
            "jit": self.jit, "sso_only": self.sso_only, "source": self.source,
        })
    }
}

/// The "SSO only" provider that governs `email`, if any: one with `sso_only` whose allowed
/// domains hold the address's domain. Its members sign in through it alone: no password
/// (`password_refused`), and no other provider (`accounts::resolve`).
pub async fn governing(db: &Db, email: &str) -> Result<Option<Provider>, AppError> {
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    if domain.is_empty() {
        return Ok(None);
    }
    Ok(list(db)
        .await?
        .into_iter()
        .find(|p| p.sso_only && p.allowed_domains.iter().any(|d| d == domain)))
}

/// The "SSO only" provider that refuses `email` a password, if any: the governing one, for
/// members (not admins, who keep a local break-glass sign-in).
pub async fn password_refused(
    db: &Db,
    email: &str,
    is_admin: bool,
) -> Result<Option<Provider>, AppError> {
    if is_admin {
        return Ok(None);
    }
    governing(db, email).await
}
