//! Who hears about a request, and what they read. Mail goes out after the request is stored or
//! decided; a failed mail is logged, never undoes the request (the inbox shows it either way).
use sqlx::Row;

use super::{decide, Kind, Request};
use crate::app::AppState;
use crate::brand::mail::{REQUEST_APPROVED, REQUEST_DENIED, REQUEST_RECEIVED};
use crate::clock;
use crate::links::Link;

/// The people who decide a request: the link's owner while they are an active admin, otherwise
/// every active admin (download requests always go to every admin). Returns (user id, email).
async fn deciders(
    state: &AppState,
    link: Option<&Link>,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    if let Some(owner) = link.and_then(|l| l.created_by.as_deref()) {
        if let Some(a) = crate::accounts::users::by_id(&state.db, owner).await? {
            if a.is_admin() && !a.disabled {
                return Ok(vec![(a.id.to_string(), a.email)]);
            }
        }
    }
    let rows = sqlx::query("SELECT id, email FROM users WHERE role = 'admin' AND disabled = 0")
        .fetch_all(&state.db.pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("email")?)))
        .collect()
}

/// What a request is about, for the mail's `{about}` and the decision page: the link's title or
/// the assets' names.
pub(super) async fn about(state: &AppState, request: &Request, link: Option<&Link>) -> String {
    if let Some(l) = link {
        if !l.title.is_empty() {
            return format!(" ({})", l.title);
        }
        if let Some(r) = &l.recipient {
            return format!(" (the link sent to {r})");
        }
        return String::new();
    }
    let mut names: Vec<String> = request
        .asset_labels(&state.db, 5)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(_, label)| label)
        .collect();
    if request.asset_ids.len() > 5 {
        names.push(format!("and {} more", request.asset_ids.len() - 5));
    }
    if names.is_empty() {
        String::new()
    } else {
        format!(" ({})", names.join(", "))
    }
}

/// The asker's text in a decider's mail: its second and later lines start with "> ", so
/// nothing the asker writes can pass for the mail's own lines (a fake "Approve for 30 days:"
/// address above the real one).
/// A bare carriage return counts as a line break too (some mail programs show it as one).
fn quoted(text: &str) -> String {
    text.replace("\r\n", "\n")
        .split(['\r', '\n'])
        .collect::<Vec<_>>()
        .join("\n> ")
}

/// Mails each decider a signed Approve (7 or 30 days) and Deny address.
pub async fn tell_deciders(state: &AppState, request: &Request, link: Option<&Link>) {
    let people = match deciders(state, link).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "request: deciders not read");
            return;
        }
    };
    let requester = format!("{} <{}>", request.name, request.email);
    let what = request.summary_for(link);
    let reason = if request.reason.is_empty() {
        "(none given)".to_string()
    } else {
        quoted(&request.reason)
    };
    let about = about(state, request, link).await;
    let inbox = format!("{}/admin/requests", state.config.public_url);
    let now = state.clock.now_ms();
    for (user_id, email) in people {
        let base = decide::url(state, &request.id, &user_id, now);
        let approve_week = format!("{base}?choice=7");
        let approve_month = format!("{base}?choice=30");
        let deny = format!("{base}?choice=deny");
        let vars = [
            ("requester", requester.as_str()),
            ("what", what.as_str()),
            ("about", about.as_str()),
            ("reason", reason.as_str()),
            ("approve_week", approve_week.as_str()),
            ("approve_month", approve_month.as_str()),
            ("deny", deny.as_str()),
            ("inbox", inbox.as_str()),
        ];
        if let Err(e) = state
            .mailer
            .send_kind(&email, &REQUEST_RECEIVED, &vars, None)
            .await
        {
            tracing::warn!(error = %e, "request: decider not mailed");
        }
    }
}

/// Tells the asker their request was approved, and what to use now.
pub async fn tell_approved(state: &AppState, request: &Request, until: i64, url: Option<&str>) {
    let until = clock::human(until);
    // The renewed link's own address, when it was kept (links made before addresses were
    // kept have none: "the same address" then).
    let renewed = match (request.kind, request.link_id.as_deref()) {
        (Kind::Renewal, Some(id)) => crate::links::address(state, id).await.ok().flatten(),
        _ => None,
    };
    let result = match (request.kind, url) {
        (Kind::Renewal, _) => match renewed {
            Some(u) => format!(
                "The link you asked about works again until {until}:

  {u}
"
            ),
            None => {
                format!("The link you asked about works again, at the same address, until {until}.")
            }
        },
        (Kind::Access, Some(url)) => format!(
            "Here is your own link, which works until {until}:\n\n  {url}\n\n\
             It asks for a one-time code sent to this address."
        ),
        (Kind::Access, None) => format!("Your own link works until {until}."),
        (Kind::Download, _) => {
            let pages: Vec<String> = request
                .asset_ids
                .iter()
                .map(|id| format!("  {}/assets/{id}", state.config.public_url))
                .collect();
            format!(
                "You may download {} until {until}:\n\n{}\n",
                match request.asset_ids.len() {
                    1 => "it".to_string(),
                    n => format!("these {n} assets"),
                },
                pages.join("\n")
            )
        }
    };
    let what = request.summary_to_asker();
    let vars = [
        ("name", request.name.as_str()),
        ("what", what.as_str()),
        ("result", result.as_str()),
    ];
    if let Err(e) = state
        .mailer
        .send_kind(&request.email, &REQUEST_APPROVED, &vars, None)
        .await
    {
        tracing::warn!(error = %e, "request: asker not mailed");
    }
}

/// Tells the asker, politely, that the answer is no (with the decider's message, if any).
pub async fn tell_denied(state: &AppState, request: &Request) {
    let message = if request.answer.is_empty() {
        String::new()
    } else {
        format!("\n{}\n", request.answer)
    };
    let what = request.summary_to_asker();
    let vars = [
        ("name", request.name.as_str()),
        ("what", what.as_str()),
        ("message", message.as_str()),
    ];
    if let Err(e) = state
        .mailer
        .send_kind(&request.email, &REQUEST_DENIED, &vars, None)
        .await
    {
        tracing::warn!(error = %e, "request: asker not mailed");
    }
}
