//! Which account a verified identity is, and what it may be: the provider's subject finds the
//! account it was linked to; otherwise a verified address in an allowed domain links the
//! account with that address, or (just-in-time, if the provider allows) makes one. Then the
//! mapped groups and role follow the groups claim, at every sign-in: only groups the mapping
//! names are added or removed (groups given by hand stay).
use std::collections::BTreeSet;

use sqlx::Row;

use super::oidc::{Failure, Identity};
use super::Provider;
use crate::accounts::groups;
use crate::accounts::users::{self, Account, NewUser, Role};
use crate::app::AppState;
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::web::client::ClientInfo;

const DISABLED: &str = "This account is disabled. Ask an administrator if you need access.";
const NO_EMAIL: &str =
    "Your identity provider did not share a verified email address, so no account can be \
     matched or made. Ask your administrator.";
const DOMAIN: &str = "Addresses of your organisation cannot sign in here through this provider.";
const NO_JIT: &str =
    "There is no account for your address yet. Ask an administrator to invite you.";

fn internal(e: impl std::fmt::Display) -> Failure {
    Failure::new(
        "Something went wrong on our side. Try again in a moment.",
        e.to_string(),
    )
}

async fn linked(state: &AppState, p: &Provider, subject: &str) -> Result<Option<String>, AppError> {
    Ok(
        sqlx::query("SELECT user_id FROM sso_identities WHERE provider_id = $1 AND subject = $2")
            .bind(&p.id)
            .bind(subject)
            .fetch_optional(&state.db.pool)
            .await?
            .map(|r| r.try_get::<String, _>("user_id"))
            .transpose()?,
    )
}

/// Links the subject to `user_id`; of two racing links the first stays, and is returned.
async fn link(
    state: &AppState,
    p: &Provider,
    subject: &str,
    user_id: &str,
) -> Result<String, AppError> {
    sqlx::query(
        "INSERT INTO sso_identities (provider_id, subject, user_id, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (provider_id, subject) DO NOTHING",
    )
    .bind(&p.id)
    .bind(subject)
    .bind(user_id)
    .bind(state.clock.now_ms())
    .execute(&state.db.pool)
    .await?;
    linked(state, p, subject)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("identity link vanished")))
}

/// The account `who` signs in as, after every rule; `Err` is what the person reads.
pub async fn resolve(
    state: &AppState,
    p: &Provider,
    who: &Identity,
    client: &ClientInfo,
) -> Result<Account, Failure> {
    let email = who
        .email
        .as_deref()
        .and_then(|e| users::normalize_email(e).ok())
        .ok_or_else(|| Failure::new(NO_EMAIL, "no email claim"))?;
    if !p.allows(&email) {
        return Err(Failure::new(DOMAIN, format!("{email}: domain not allowed")));
    }
    // A domain an "SSO only" provider governs signs in through that provider alone.
    if let Some(g) = super::governing(&state.db, &email)
        .await
        .map_err(internal)?
    {
        if g.id != p.id {
            let why = format!("{email}: signs in only through {} (SSO only)", g.id);
            return Err(Failure::new(DOMAIN, why));
        }
    }
    let user_id = match linked(state, p, &who.subject).await.map_err(internal)? {
        Some(id) => id,
        None => {
            if !who.email_verified {
                return Err(Failure::new(
                    NO_EMAIL,
                    format!("{email}: email not verified"),
                ));
            }
            match users::by_email(&state.db, &email).await.map_err(internal)? {
                // An admin's account is linked only by a provider the admin named its domain
                // for: one open to any address would hand the portal to whoever that provider
                // lets claim the admin's address.
                Some(a) if a.is_admin() && p.allowed_domains.is_empty() => {
                    let why = format!("{email}: an admin, and {} allows any domain", p.id);
                    return Err(Failure::new(DOMAIN, why));
                }
                Some(a) => {
                    let id = link(state, p, &who.subject, &a.id)
                        .await
                        .map_err(internal)?;
                    let detail = format!("{email} via {}", p.id);
                    let e = Event::new(EventKind::SsoAccountLinked)
                        .by(&id)
                        .detail(&detail);
                    state.events.record(e, client).await.map_err(internal)?;
                    id
                }
                None if !p.jit => {
                    return Err(Failure::new(
                        NO_JIT,
                        format!("{email}: no account, JIT off"),
                    ))
                }
                None => create(state, p, who, &email, client).await?,
            }
        }
    };
    let account = users::by_id(&state.db, &user_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| internal("linked account missing"))?;
    if account.disabled {
        return Err(Failure::new(DISABLED, format!("{email}: account disabled")));
    }
    apply_claims(state, p, who, &account, client)
        .await
        .map_err(internal)?;
    users::by_id(&state.db, &user_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| internal("account missing"))
}

/// A just-in-time account: a member with a password nobody knows (they sign in through the
/// provider). Two first sign-ins at once make one account: the loser finds the winner's.
async fn create(
    state: &AppState,
    p: &Provider,
    who: &Identity,
    email: &str,
    client: &ClientInfo,
) -> Result<String, Failure> {
    let fallback = email.split('@').next().unwrap_or("").to_string();
    let name: String = who
        .name
        .as_deref()
        .map(|n| {
            n.chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect::<String>()
        })
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(fallback);
    let password = crate::token::new_token("sso-unset");
    let made = users::create_user(
        &state.db,
        NewUser {
            email,
            name: &name,
            role: Role::Member,
            password: &password,
        },
    )
    .await;
    let (user_id, new) = match made {
        Ok(a) => (a.id.to_string(), true),
        Err(AppError::Conflict(_)) => {
            let a = users::by_email(&state.db, email)
                .await
                .map_err(internal)?
                .ok_or_else(|| internal("account lost in a race"))?;
            (a.id.to_string(), false)
        }
        Err(e) => return Err(internal(e)),
    };
    let id = link(state, p, &who.subject, &user_id)
        .await
        .map_err(internal)?;
    if new {
        let detail = format!("{email} via {}", p.id);
        let e = Event::new(EventKind::SsoAccountCreated)
            .by(&id)
            .detail(&detail);
        state.events.record(e, client).await.map_err(internal)?;
    }
    Ok(id)
}

/// Mapped groups and role follow the claim. Records `sso_groups_applied` when anything changed.
async fn apply_claims(
    state: &AppState,
    p: &Provider,
    who: &Identity,
    account: &Account,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let values: BTreeSet<String> = who.claim_values(&p.groups_claim).into_iter().collect();
    let mapped: BTreeSet<&str> = p.group_map.iter().map(|(_, g)| g.as_str()).collect();
    let wanted: BTreeSet<&str> = p
        .group_map
        .iter()
        .filter(|(v, _)| values.contains(v))
        .map(|(_, g)| g.as_str())
        .collect();
    let current: BTreeSet<String> =
        sqlx::query("SELECT group_id FROM group_members WHERE user_id = $1")
            .bind(&account.id)
            .fetch_all(&state.db.pool)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>("group_id"))
            .collect::<Result<_, _>>()?;
    let mut changes = Vec::new();
    for g in &mapped {
        let has = current.contains(*g);
        let want = wanted.contains(g);
        let name = || async { groups::get(&state.db, g).await.map(|x| x.name) };
        if want && !has {
            groups::add_member(&state.db, g, &account.id).await?;
            changes.push(format!("+{}", name().await?));
        } else if !want && has {
            groups::remove_member(&state.db, g, &account.id).await?;
            changes.push(format!("-{}", name().await?));
        }
    }
    if !p.admin_values.is_empty() {
        let admin = p.admin_values.iter().any(|v| values.contains(v));
        let to = match (admin, account.role) {
            (true, Role::Member) => {
                sqlx::query("UPDATE users SET role = 'admin', updated_at = $1 WHERE id = $2")
                    .bind(state.clock.now_ms())
                    .bind(&account.id)
                    .execute(&state.db.pool)
                    .await?;
                Some(Role::Admin)
            }
            // The last admin stays one (an empty claim must not lock the portal).
            (false, Role::Admin) => users::demote_unless_last_admin(&state.db, &account.id)
                .await?
                .then_some(Role::Member),
            _ => None,
        };
        if let Some(role) = to {
            changes.push(format!("role {}", role.as_str()));
        }
    }
    if !changes.is_empty() {
        let detail = format!("{} via {}: {}", account.email, p.id, changes.join(", "));
        let e = Event::new(EventKind::SsoGroupsApplied)
            .by(&account.id)
            .detail(&detail);
        state.events.record(e, client).await?;
    }
    Ok(())
}
