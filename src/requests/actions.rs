//! Every change to a request, one function each: asking (three kinds), approving, denying.
//! Each validates, changes state and records its event; the visitor pages, the admin pages,
//! the signed mail addresses and the API only parse, call and render.
use super::{get, Kind, Request};
use crate::accounts::{throttle, users, Account};
use crate::app::AppState;
use crate::clock;
use crate::db;
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::links::options::{check_text, DAY_MS};
use crate::links::{Link, LinkOptions, State as LinkState};
use crate::web::client::ClientInfo;

/// Requests from one link, and from one address, per day: a dead link's page is public to
/// whoever holds its URL, and each request mails a person.
const ASK_PER_LINK: throttle::Policy = throttle::Policy {
    limit: 5,
    window_ms: DAY_MS,
};
const ASK_PER_IP: throttle::Policy = throttle::Policy {
    limit: 10,
    window_ms: DAY_MS,
};
/// A member's download requests per day.
const ASK_PER_MEMBER: throttle::Policy = throttle::Policy {
    limit: 20,
    window_ms: DAY_MS,
};
/// A personal download grant lasts this long unless the decider says otherwise.
pub const DEFAULT_GRANT_DAYS: i64 = 14;
/// Most assets one download request may name.
const MAX_ASSETS: usize = 500;

/// What a visitor typed into a request form, checked: missing fields are a 422 naming them.
#[derive(Clone, Debug)]
pub struct Asker {
    pub name: String,
    pub email: String,
    pub reason: String,
}

impl Asker {
    pub fn parse(name: &str, email: &str, reason: &str) -> Result<Asker, AppError> {
        let name = check_text("name", name, 200)?;
        if name.is_empty() {
            return Err(AppError::Unprocessable(
                "name: please give your name".into(),
            ));
        }
        // A name is one line: it heads the deciders' mail, where a line break could forge
        // lines of its own ("Approve for 30 days: …").
        if name.contains(['\n', '\r', '\t']) {
            return Err(AppError::Unprocessable(
                "name: please give your name on one line".into(),
            ));
        }
        if email.trim().is_empty() {
            return Err(AppError::Unprocessable(
                "email: please give your email address".into(),
            ));
        }
        let email = users::normalize_email(email)
            .map_err(|_| AppError::Unprocessable("email: that is not an email address".into()))?;
        let reason = check_text("reason", reason, 2000)?;
        if reason.is_empty() {
            return Err(AppError::Unprocessable(
                "reason: please say why you need it".into(),
            ));
        }
        Ok(Asker {
            name,
            email,
            reason,
        })
    }
}

/// Whether a link may be asked for more time: expired, or active with its downloads used up.
/// Revoked links may not (the sender withdrew them on purpose).
pub fn renewable(link: &Link, now: i64) -> bool {
    match link.state(now) {
        LinkState::Expired => true,
        LinkState::Active => link.downloads_left() == Some(0),
        LinkState::Revoked => false,
    }
}

/// A visitor of an expired or used-up link asks for more time. Throttled per link and per
/// address; a second request from the same address while one is pending is that one (no second
/// mail). Records `request_made` on the link, so it shows in the link's access log.
pub async fn ask_renewal(
    state: &AppState,
    link: &Link,
    asker: Asker,
    client: &ClientInfo,
) -> Result<Request, AppError> {
    let now = state.clock.now_ms();
    if link.revoked_at.is_some() {
        return Err(AppError::Gone);
    }
    if !renewable(link, now) {
        return Err(AppError::Conflict("this link still works".into()));
    }
    ask_about_link(state, Kind::Renewal, link, asker, client).await
}

/// A visitor of a bound per-recipient link, who is not its recipient, asks for their own link.
pub async fn ask_access(
    state: &AppState,
    link: &Link,
    asker: Asker,
    client: &ClientInfo,
) -> Result<Request, AppError> {
    if !link.bind_recipient {
        return Err(AppError::NotFound);
    }
    if link.recipient.as_deref() == Some(asker.email.as_str()) {
        return Err(AppError::Conflict(
            "this link was sent to that address: ask for a code instead".into(),
        ));
    }
    ask_about_link(state, Kind::Access, link, asker, client).await
}

async fn ask_about_link(
    state: &AppState,
    kind: Kind,
    link: &Link,
    asker: Asker,
    client: &ClientInfo,
) -> Result<Request, AppError> {
    let now = state.clock.now_ms();
    let link_key = format!("request:{}", link.id);
    let ip_key = format!("request:ip:{}", client.ip);
    let _counted = throttle::reserve_all(
        &state.db,
        &[
            (link_key.as_str(), ASK_PER_LINK),
            (ip_key.as_str(), ASK_PER_IP),
        ],
        now,
    )
    .await?;
    if let Some(open) = super::list(
        &state.db,
        super::Show::Pending,
        Some(&link.id),
        None,
        None,
        100,
    )
    .await?
    .into_iter()
    .find(|r| r.kind == kind && r.email == asker.email)
    {
        return Ok(open);
    }
    let id = db::new_id();
    sqlx::query(
        "INSERT INTO requests (id, kind, link_id, name, email, reason, ip, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(kind.as_str())
    .bind(&link.id)
    .bind(&asker.name)
    .bind(&asker.email)
    .bind(&asker.reason)
    .bind(&client.ip)
    .bind(now)
    .execute(&state.db.pool)
    .await?;
    let request = get(&state.db, &id).await?;
    record_made(state, &request, client).await?;
    super::mail::tell_deciders(state, &request, Some(link)).await;
    Ok(request)
}

/// `request_made`: on the link for a visitor's request (the link's access log shows it), by the
/// member (and on the asset, when there is one) for a download request.
async fn record_made(
    state: &AppState,
    request: &Request,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let detail = match request.kind {
        Kind::Download => format!("download of {} asset(s)", request.asset_ids.len()),
        kind => format!("{} by {}", kind.as_str(), request.email),
    };
    let mut event = Event::new(EventKind::RequestMade).detail(&detail);
    if let Some(l) = &request.link_id {
        event = event.link(l);
    }
    if let Some(u) = &request.user_id {
        event = event.by(u);
    }
    if let [one] = request.asset_ids.as_slice() {
        event = event.asset(one);
    }
    state.events.record(event, client).await?;
    Ok(())
}

/// A member asks to download assets they may see but not download. Assets they may not see are
/// refused as absent (422 naming the first); those they may already download are left out; if
/// none is left, 409.
pub async fn ask_download(
    state: &AppState,
    who: &Account,
    asset_ids: &[String],
    reason: &str,
    client: &ClientInfo,
) -> Result<Request, AppError> {
    if who.is_admin() {
        return Err(AppError::Conflict("admins may download everything".into()));
    }
    if asset_ids.is_empty() {
        return Err(AppError::Unprocessable(
            "asset_ids: name at least one asset".into(),
        ));
    }
    if asset_ids.len() > MAX_ASSETS {
        return Err(AppError::Unprocessable(format!(
            "asset_ids: at most {MAX_ASSETS} assets per request"
        )));
    }
    let reason = check_text("reason", reason, 2000)?;
    let now = state.clock.now_ms();
    // Assets this member already asked for, and waits on, are not asked for again.
    let waiting: Vec<String> = super::list(
        &state.db,
        super::Show::Pending,
        None,
        Some(&who.id),
        None,
        500,
    )
    .await?
    .into_iter()
    .flat_map(|r| r.asset_ids)
    .collect();
    let mut wanted: Vec<String> = Vec::new();
    let mut asked_already = false;
    for id in asset_ids {
        match crate::access::asset(&state.db, who, id, now).await {
            Ok((_, rights)) if rights.download => {}
            Ok(_) if waiting.contains(id) => asked_already = true,
            Ok(_) => {
                if !wanted.contains(id) {
                    wanted.push(id.clone());
                }
            }
            Err(AppError::NotFound) => {
                return Err(AppError::Unprocessable(format!(
                    "asset_ids: no such asset: {id}"
                )))
            }
            Err(e) => return Err(e),
        }
    }
    if wanted.is_empty() {
        return Err(AppError::Conflict(if asked_already {
            "you have asked for these already; an admin will decide".into()
        } else {
            "you may already download these assets".into()
        }));
    }
    let key = format!("request:user:{}", who.id);
    let _counted = throttle::reserve(&state.db, &key, ASK_PER_MEMBER, now).await?;
    let id = db::new_id();
    sqlx::query(
        "INSERT INTO requests (id, kind, user_id, name, email, reason, asset_ids, ip, created_at) \
         VALUES ($1, 'download', $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(&who.id)
    .bind(&who.name)
    .bind(&who.email)
    .bind(&reason)
    .bind(wanted.join(","))
    .bind(&client.ip)
    .bind(now)
    .execute(&state.db.pool)
    .await?;
    let request = get(&state.db, &id).await?;
    record_made(state, &request, client).await?;
    super::mail::tell_deciders(state, &request, None).await;
    Ok(request)
}

/// How an approval is given: for how long, and (a used-up link) how many more downloads.
#[derive(Clone, Copy, Debug, Default)]
pub struct Grant {
    pub days: Option<i64>,
    pub downloads: Option<i64>,
}

/// Marks a pending request decided, in one conditional statement: of two deciders racing, one
/// wins and the other gets 409. Returns the request as it was before.
async fn claim(
    state: &AppState,
    id: &str,
    to: &str,
    actor: &Account,
    answer: &str,
) -> Result<Request, AppError> {
    let before = get(&state.db, id).await?;
    let n = sqlx::query(
        "UPDATE requests SET state = $1, decided_at = $2, decided_by = $3, answer = $4 \
         WHERE id = $5 AND state = 'pending'",
    )
    .bind(to)
    .bind(state.clock.now_ms())
    .bind(&actor.id)
    .bind(answer)
    .bind(id)
    .execute(&state.db.pool)
    .await?
    .rows_affected();
    if n == 0 {
        let now = get(&state.db, id).await?;
        return Err(AppError::Conflict(format!(
            "this request was already {}",
            now.state
        )));
    }
    Ok(before)
}

/// Puts a claimed request back (what approving would have done failed: nothing changed).
async fn unclaim(state: &AppState, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE requests SET state = 'pending', decided_at = NULL, decided_by = NULL, answer = '' \
         WHERE id = $1",
    )
    .bind(id)
    .execute(&state.db.pool)
    .await?;
    Ok(())
}

fn check_days(days: i64, max: i64) -> Result<i64, AppError> {
    if !(1..=max).contains(&days) {
        return Err(AppError::Unprocessable(format!(
            "days must be between 1 and {max}"
        )));
    }
    Ok(days)
}

/// Approves a pending request (409 if it was decided already) and carries it out: a renewal
/// reactivates the same link, an access request issues the new person's own link under the
/// same share, a download request gives personal grants. Records `request_approved`; the
/// asker is mailed.
pub async fn approve(
    state: &AppState,
    actor: &Account,
    id: &str,
    grant: Grant,
    client: &ClientInfo,
) -> Result<Request, AppError> {
    let max_days = state.config.max_link_days;
    let request = get(&state.db, id).await?;
    let default_days = match request.kind {
        Kind::Download => DEFAULT_GRANT_DAYS,
        _ => crate::links::options::DEFAULT_DAYS,
    };
    let days = check_days(grant.days.unwrap_or(default_days), max_days)?;
    let downloads = crate::links::options::check_max_downloads(grant.downloads)?;
    let answer = match downloads {
        Some(n) if request.kind == Kind::Renewal => format!("+{days} days, {n} more downloads"),
        _ => format!("+{days} days"),
    };
    let request = claim(state, id, "approved", actor, &answer).await?;
    let done = carry_out(state, actor, &request, days, downloads, client).await;
    let (until, link_url) = match done {
        Ok(x) => x,
        Err(e) => {
            unclaim(state, id).await?;
            return Err(e);
        }
    };
    let detail = format!("{} for {}: {answer}", request.kind.as_str(), request.email);
    record_decision(
        state,
        EventKind::RequestApproved,
        actor,
        &request,
        &detail,
        client,
    )
    .await?;
    let decided = get(&state.db, id).await?;
    super::mail::tell_approved(state, &decided, until, link_url.as_deref()).await;
    Ok(decided)
}

/// What approving does, by kind. Returns until when the asker may now use what they asked for
/// and, for a new link, its address (shown once, in the mail).
async fn carry_out(
    state: &AppState,
    actor: &Account,
    request: &Request,
    days: i64,
    downloads: Option<i64>,
    client: &ClientInfo,
) -> Result<(i64, Option<String>), AppError> {
    let now = state.clock.now_ms();
    let max_end = now + state.config.max_link_days * DAY_MS;
    match request.kind {
        Kind::Renewal => {
            let link_id = request.link_id.clone().unwrap_or_default();
            let link = crate::links::get(&state.db, &link_id).await?;
            if link.revoked_at.is_some() {
                return Err(AppError::Conflict("the link was revoked meanwhile".into()));
            }
            let until = (link.expires_at.max(now) + days * DAY_MS).min(max_end);
            let mut options = LinkOptions {
                expires_at: Some(Some(clock::rfc3339(until))),
                ..LinkOptions::default()
            };
            if let Some(max) = link.max_downloads {
                if link.downloads >= max || downloads.is_some() {
                    // "N more": counted from what was used, so the link opens again at once.
                    let more = downloads.unwrap_or(max.max(1));
                    options.max_downloads = Some(Some(link.downloads.max(max) + more));
                }
            }
            let link =
                crate::links::actions::change_link(state, actor, &link.id.clone(), options, client)
                    .await?;
            Ok((link.expires_at, None))
        }
        Kind::Access => {
            let link_id = request.link_id.clone().unwrap_or_default();
            let link = crate::links::get(&state.db, &link_id).await?;
            if link.revoked_at.is_some() {
                return Err(AppError::Conflict("the link was revoked meanwhile".into()));
            }
            let until = (now + days * DAY_MS).min(max_end);
            let issued = crate::links::actions::issue_to_recipient(
                state,
                actor,
                &link,
                &request.email,
                until,
                client,
            )
            .await?;
            sqlx::query("UPDATE requests SET result_link_id = $1 WHERE id = $2")
                .bind(&issued.id)
                .bind(&request.id)
                .execute(&state.db.pool)
                .await?;
            Ok((until, Some(issued.url)))
        }
        Kind::Download => {
            let user = request.user_id.clone().unwrap_or_default();
            let until = now + days * DAY_MS;
            super::grants::give(state, actor, &user, &request.asset_ids, &request.id, until)
                .await?;
            Ok((until, None))
        }
    }
}

/// Denies a pending request (409 if decided already), with an optional message for the asker.
/// Records `request_denied`; the asker gets a polite answer.
pub async fn deny(
    state: &AppState,
    actor: &Account,
    id: &str,
    message: &str,
    client: &ClientInfo,
) -> Result<Request, AppError> {
    let message = check_text("message", message, 2000)?;
    let request = claim(state, id, "denied", actor, &message).await?;
    let detail = format!("{} for {}", request.kind.as_str(), request.email);
    record_decision(
        state,
        EventKind::RequestDenied,
        actor,
        &request,
        &detail,
        client,
    )
    .await?;
    let decided = get(&state.db, id).await?;
    super::mail::tell_denied(state, &decided).await;
    Ok(decided)
}

/// A decision's event, by its decider and on the link when there is one (its access log).
async fn record_decision(
    state: &AppState,
    kind: EventKind,
    actor: &Account,
    request: &Request,
    detail: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let mut event = Event::new(kind).by(&actor.id).detail(detail);
    if let Some(l) = &request.link_id {
        event = event.link(l);
    }
    state.events.record(event, client).await?;
    Ok(())
}
