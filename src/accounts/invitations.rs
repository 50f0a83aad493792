//! Invitations (issue 20): an admin invites people by address with the role and groups they
//! will have; each gets a branded mail with a single-use set-password link (valid
//! `ASSETPORT_INVITE_DAYS`, only its hash kept). Re-sending makes a new link (the old one dies);
//! withdrawing ends it; accepting makes the account, in its groups, and ends it. Every change is
//! one function here that validates, changes and records its event.
use serde_json::json;
use sqlx::Row;

use super::groups;
use super::users::{self, Account, NewUser, Role};
use crate::app::AppState;
use crate::clock;
use crate::db::{self, Columns};
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::links::options::DAY_MS;
use crate::web::client::ClientInfo;

/// Most addresses one invitation request may name.
const MAX_EMAILS: usize = 500;

#[derive(Clone, Debug)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub groups: Vec<String>,
    pub created_by: Option<String>,
    pub sent_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub withdrawn_at: Option<i64>,
}

impl Invitation {
    /// "pending", "accepted", "withdrawn" or "expired".
    pub fn state(&self, now: i64) -> &'static str {
        if self.accepted_at.is_some() {
            "accepted"
        } else if self.withdrawn_at.is_some() {
            "withdrawn"
        } else if self.expires_at <= now {
            "expired"
        } else {
            "pending"
        }
    }

    pub fn to_json(&self, now: i64) -> serde_json::Value {
        json!({
            "id": self.id, "email": self.email, "name": self.name, "role": self.role,
            "groups": self.groups, "sent_at": clock::rfc3339(self.sent_at),
            "expires_at": clock::rfc3339(self.expires_at), "state": self.state(now),
        })
    }
}

const COLS: &str = "id, email, name, role, groups, created_by, sent_at, expires_at, accepted_at, \
    withdrawn_at";

fn from_row<R: Columns + ?Sized>(r: &R) -> Result<Invitation, sqlx::Error> {
    Ok(Invitation {
        id: r.text("id")?,
        email: r.text("email")?,
        name: r.text("name")?,
        role: if r.text("role")? == "admin" {
            Role::Admin
        } else {
            Role::Member
        },
        groups: r
            .text("groups")?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        created_by: r.opt_text("created_by")?,
        sent_at: r.int("sent_at")?,
        expires_at: r.int("expires_at")?,
        accepted_at: r.opt_int("accepted_at")?,
        withdrawn_at: r.opt_int("withdrawn_at")?,
    })
}

pub async fn get(state: &AppState, id: &str) -> Result<Invitation, AppError> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM invitations WHERE id = $1"))
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(from_row(&row)?)
}

/// Invitations newest first (the users page and the API list them).
pub async fn list(state: &AppState, limit: i64) -> Result<Vec<Invitation>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLS} FROM invitations ORDER BY sent_at DESC, id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(&state.db.pool)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// The pending invitation behind a set-password token, if it is live.
pub async fn by_token(state: &AppState, token: &str) -> Result<Option<Invitation>, AppError> {
    if token.len() > 200 {
        return Ok(None);
    }
    let row = sqlx::query(&format!(
        "SELECT {COLS} FROM invitations WHERE token_hash = $1"
    ))
    .bind(crate::token::hash_token(token))
    .fetch_optional(&state.db.pool)
    .await?;
    let now = state.clock.now_ms();
    Ok(match row {
        Some(r) => Some(from_row(&r)?).filter(|i| i.state(now) == "pending"),
        None => None,
    })
}

/// What an admin asks for: addresses (with an optional name each), the groups, the role.
pub struct Invite {
    pub people: Vec<(String, String)>,
    pub groups: Vec<String>,
    pub role: Role,
}

/// Invites each person: 409 naming an address that already has an account or a pending
/// invitation (nothing is sent then), 422 for a bad address or an unknown group. Records
/// `invitation_sent` for each and mails them.
pub async fn invite(
    state: &AppState,
    by: &Account,
    invite: Invite,
    client: &ClientInfo,
) -> Result<Vec<Invitation>, AppError> {
    if invite.people.is_empty() {
        return Err(AppError::Unprocessable(
            "emails: name at least one address".into(),
        ));
    }
    if invite.people.len() > MAX_EMAILS {
        return Err(AppError::Unprocessable(format!(
            "emails: at most {MAX_EMAILS} addresses at once"
        )));
    }
    let mut people: Vec<(String, String)> = Vec::new();
    for (email, name) in &invite.people {
        let email = users::normalize_email(email)
            .map_err(|_| AppError::Unprocessable(format!("emails: {email:?} is not an address")))?;
        if people.iter().any(|(e, _)| *e == email) {
            continue;
        }
        if users::by_email(&state.db, &email).await?.is_some() {
            return Err(AppError::Conflict(format!(
                "{email} already has an account"
            )));
        }
        let now = state.clock.now_ms();
        let pending = sqlx::query(
            "SELECT COUNT(*) AS n FROM invitations WHERE email = $1 AND accepted_at IS NULL \
             AND withdrawn_at IS NULL AND expires_at > $2",
        )
        .bind(&email)
        .bind(now)
        .fetch_one(&state.db.pool)
        .await?
        .try_get::<i64, _>("n")?;
        if pending > 0 {
            return Err(AppError::Conflict(format!(
                "{email} is invited already; re-send that invitation instead"
            )));
        }
        // The account is made with this name if the person keeps it: refuse what
        // `users::create_user` would (control characters, a line break) now, not at acceptance.
        if name.chars().any(char::is_control) {
            return Err(AppError::Unprocessable(format!(
                "name: the name for {email} has control characters"
            )));
        }
        people.push((email, name.trim().chars().take(200).collect()));
    }
    for g in &invite.groups {
        groups::get(&state.db, g)
            .await
            .map_err(|_| AppError::Unprocessable(format!("groups: no such group: {g}")))?;
    }
    // One transaction: every row or none. A racing request (a double-clicked form, another
    // instance) inviting the same address meets the unique index on open invitations, and
    // its whole batch is a 409 with nothing sent. An expired invitation of the address is
    // closed first, so the address can be invited again.
    let mut made: Vec<(String, String, String)> = Vec::new();
    let now = state.clock.now_ms();
    let mut tx = state.db.pool.begin().await?;
    for (email, name) in people {
        sqlx::query(
            "UPDATE invitations SET withdrawn_at = $1 WHERE email = $2 AND accepted_at IS NULL \
             AND withdrawn_at IS NULL AND expires_at <= $1",
        )
        .bind(now)
        .bind(&email)
        .execute(&mut *tx)
        .await?;
        let id = db::new_id();
        let token = crate::token::new_token("invite");
        let inserted = sqlx::query(
            "INSERT INTO invitations (id, email, name, role, groups, token_hash, created_by, \
             created_at, sent_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
        )
        .bind(&id)
        .bind(&email)
        .bind(&name)
        .bind(invite.role.as_str())
        .bind(invite.groups.join(","))
        .bind(crate::token::hash_token(&token))
        .bind(&by.id)
        .bind(now)
        .bind(now + state.config.invite_days * DAY_MS)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => made.push((id, email, token)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(AppError::Conflict(format!(
                    "{email} is invited already; re-send that invitation instead"
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.commit().await?;
    let mut out = Vec::new();
    for (id, _, token) in made {
        let i = get(state, &id).await?;
        sent(state, by, &i, &token, client).await?;
        out.push(i);
    }
    Ok(out)
}

/// Records `invitation_sent` and mails the set-password link.
async fn sent(
    state: &AppState,
    by: &Account,
    i: &Invitation,
    token: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    state
        .events
        .record(
            Event::new(EventKind::InvitationSent)
                .by(&by.id)
                .detail(&i.email),
            client,
        )
        .await?;
    let link = format!("{}/invite/{token}", state.config.public_url);
    let expires = clock::human(i.expires_at);
    let name = if i.name.is_empty() { &i.email } else { &i.name };
    let vars = [
        ("name", name.as_str()),
        ("inviter", by.name.as_str()),
        ("link", link.as_str()),
        ("expires", expires.as_str()),
    ];
    if let Err(e) = state
        .mailer
        .send_kind(&i.email, &crate::brand::mail::INVITATION, &vars, None)
        .await
    {
        tracing::warn!(error = %e, "invitation not mailed");
    }
    Ok(())
}

/// A new link for a pending or expired invitation (the old link dies at once) with a new
/// validity; 409 once it was accepted or withdrawn.
pub async fn resend(
    state: &AppState,
    by: &Account,
    id: &str,
    client: &ClientInfo,
) -> Result<Invitation, AppError> {
    let token = crate::token::new_token("invite");
    let now = state.clock.now_ms();
    let n = sqlx::query(
        "UPDATE invitations SET token_hash = $1, sent_at = $2, expires_at = $3 \
         WHERE id = $4 AND accepted_at IS NULL AND withdrawn_at IS NULL",
    )
    .bind(crate::token::hash_token(&token))
    .bind(now)
    .bind(now + state.config.invite_days * DAY_MS)
    .bind(id)
    .execute(&state.db.pool)
    .await?
    .rows_affected();
    let i = get(state, id).await?;
    if n == 0 {
        return Err(AppError::Conflict(format!(
            "this invitation was {}",
            i.state(now)
        )));
    }
    sent(state, by, &i, &token, client).await?;
    Ok(i)
}

/// Withdraws an invitation (its link dies); withdrawing twice is harmless; 409 once accepted.
pub async fn withdraw(
    state: &AppState,
    by: &Account,
    id: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let i = get(state, id).await?;
    if i.accepted_at.is_some() {
        return Err(AppError::Conflict("this invitation was accepted".into()));
    }
    let n = sqlx::query(
        "UPDATE invitations SET withdrawn_at = $1 WHERE id = $2 AND withdrawn_at IS NULL \
         AND accepted_at IS NULL",
    )
    .bind(state.clock.now_ms())
    .bind(id)
    .execute(&state.db.pool)
    .await?
    .rows_affected();
    if n == 1 {
        state
            .events
            .record(
                Event::new(EventKind::InvitationWithdrawn)
                    .by(&by.id)
                    .detail(&i.email),
                client,
            )
            .await?;
    }
    Ok(())
}

/// The invited person sets their password: the token is spent first, in one conditional
/// statement (two racing submissions make one account), then the account is made with the
/// invitation's role and groups. Records `invitation_accepted`.
pub async fn accept(
    state: &AppState,
    token: &str,
    name: &str,
    password: &str,
    client: &ClientInfo,
) -> Result<Account, AppError> {
    super::password::check_policy(password)?;
    let i = by_token(state, token).await?.ok_or(AppError::Gone)?;
    let now = state.clock.now_ms();
    let spent = sqlx::query(
        "UPDATE invitations SET accepted_at = $1 WHERE token_hash = $2 AND accepted_at IS NULL \
         AND withdrawn_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(crate::token::hash_token(token))
    .execute(&state.db.pool)
    .await?
    .rows_affected();
    if spent != 1 {
        return Err(AppError::Gone);
    }
    let name = if name.trim().is_empty() {
        &i.name
    } else {
        name
    };
    let name = if name.trim().is_empty() {
        i.email.split('@').next().unwrap_or("")
    } else {
        name
    };
    let created = users::create_user(
        &state.db,
        NewUser {
            email: &i.email,
            name,
            role: i.role,
            password,
        },
    )
    .await;
    let account = match created {
        Ok(a) => a,
        Err(e) => {
            // Nothing was made: the link works again for a corrected try.
            sqlx::query("UPDATE invitations SET accepted_at = NULL WHERE id = $1")
                .bind(&i.id)
                .execute(&state.db.pool)
                .await?;
            return Err(e);
        }
    };
    for g in &i.groups {
        // A group deleted since the invitation is skipped.
        match groups::add_member(&state.db, g, &account.id).await {
            Ok(()) | Err(AppError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    sqlx::query("UPDATE invitations SET user_id = $1 WHERE id = $2")
        .bind(&account.id)
        .bind(&i.id)
        .execute(&state.db.pool)
        .await?;
    state
        .events
        .record(
            Event::new(EventKind::InvitationAccepted)
                .by(&account.id)
                .detail(&account.email),
            client,
        )
        .await?;
    Ok(account)
}
