//! The mails around delivery slots, all sent by the job queue (`JobKind::UploadLinkMail`), so
//! each goes once across instances and SMTP failures are retried:
//!
//! - `filled <link>`: the owner, once, when every slot holds its `files.min` (claimed by
//!   `upload_links.slots_filled_at` in the transaction that queues the job);
//! - `receipt <link> <sender>`: the sender, a minute after their last file arrived (each new
//!   file pushes the job back, so a batch gets one receipt), listing everything they delivered;
//! - `reminder <link> <sender>`: each sender who left an address, once, when the link ends
//!   within `ASSETPORT_SLOT_REMINDER_HOURS` and some slot is still short (claimed by
//!   `upload_links.reminded_at`, see `scan_reminders`);
//! - `changes <link> <asset>`: the sender of a file a reviewer requested changes on, with the
//!   comment and the way back to the same link while it lives (`revisions`).
use sqlx::Row;

use super::slots::{self, Filled};
use super::UploadLink;
use crate::app::AppState;
use crate::brand::mail;
use crate::clock;
use crate::jobs::{self, Job, JobError, JobKind};

/// How long after a sender's last file their receipt goes out.
pub const RECEIPT_DELAY_MS: i64 = 60 * 1000;

/// After a file arrived through `link` from `sender`: queue the sender's receipt, and the
/// owner's mail if this file filled the last slot. Failures are logged: the file is stored.
pub async fn on_delivery(state: &AppState, link: &UploadLink, sender: &str) {
    if let Err(e) = queue_after_delivery(state, link, sender).await {
        tracing::warn!(error = %e, "could not queue the mails of an upload-link delivery");
    }
    state.jobs.wake();
}

async fn queue_after_delivery(
    state: &AppState,
    link: &UploadLink,
    sender: &str,
) -> Result<(), sqlx::Error> {
    let now = state.clock.now_ms();
    jobs::enqueue(
        &state.db.pool,
        JobKind::UploadLinkMail,
        &format!("receipt {} {sender}", link.id),
        now + RECEIPT_DELAY_MS,
    )
    .await?;
    let all = slots::of_link(&state.db, &link.id).await?;
    if all.is_empty() || !all.iter().all(Filled::is_filled) {
        return Ok(());
    }
    let mut tx = state.db.pool.begin().await?;
    let claimed = sqlx::query(
        "UPDATE upload_links SET slots_filled_at = $2 WHERE id = $1 AND slots_filled_at IS NULL",
    )
    .bind(&link.id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if claimed {
        jobs::enqueue(
            &mut *tx,
            JobKind::UploadLinkMail,
            &format!("filled {}", link.id),
            now,
        )
        .await?;
    }
    tx.commit().await
}

/// Claims the links with slots that end within the reminder window and have not reminded
/// yet, and queues one reminder per sender of those still short of files (claim and jobs in
/// one transaction, so a crash loses neither half alone). Returns how many links it claimed.
pub async fn scan_reminders(state: &AppState) -> Result<usize, sqlx::Error> {
    let now = state.clock.now_ms();
    let until = now + state.config.slot_reminder_hours * 3600 * 1000;
    let ids: Vec<String> = sqlx::query(
        "SELECT id FROM upload_links l WHERE reminded_at IS NULL AND revoked_at IS NULL \
         AND expires_at > $1 AND expires_at <= $2 \
         AND EXISTS (SELECT 1 FROM upload_link_slots s WHERE s.upload_link_id = l.id) \
         LIMIT 100",
    )
    .bind(now)
    .bind(until)
    .fetch_all(&state.db.pool)
    .await?
    .iter()
    .map(|r| r.try_get("id"))
    .collect::<Result<_, _>>()?;
    let mut claimed = 0;
    for id in ids {
        let short = !slots::of_link(&state.db, &id)
            .await?
            .iter()
            .all(Filled::is_filled);
        let mut tx = state.db.pool.begin().await?;
        let won = sqlx::query(
            "UPDATE upload_links SET reminded_at = $2 WHERE id = $1 AND reminded_at IS NULL",
        )
        .bind(&id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !won {
            continue;
        }
        claimed += 1;
        if short {
            let senders: Vec<String> = sqlx::query(
                "SELECT DISTINCT upload_sender FROM assets \
                 WHERE upload_link_id = $1 AND upload_sender <> ''",
            )
            .bind(&id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get("upload_sender"))
            .collect::<Result<_, _>>()?;
            for s in senders {
                jobs::enqueue(
                    &mut *tx,
                    JobKind::UploadLinkMail,
                    &format!("reminder {id} {s}"),
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
    }
    if claimed > 0 {
        state.jobs.wake();
    }
    Ok(claimed)
}

/// Runs one `UploadLinkMail` job.
pub async fn run(state: AppState, job: Job) -> Result<(), JobError> {
    let mut words = job.subject.split(' ');
    let (what, link_id, sender) = (words.next(), words.next(), words.next());
    let Some(link_id) = link_id else {
        return Err(JobError::Permanent(format!("bad subject {}", job.subject)));
    };
    let link = match super::get(&state.db, link_id).await {
        Ok(l) => l,
        Err(crate::error::AppError::NotFound) => return Ok(()),
        Err(e) => return Err(JobError::Retry(e.to_string())),
    };
    let filled = slots::of_link(&state.db, &link.id).await?;
    match (what, sender) {
        (Some("filled"), _) => filled_mail(&state, &link, &filled).await,
        (Some("receipt"), Some(s)) => receipt(&state, &link, s, &filled).await,
        (Some("reminder"), Some(s)) => reminder(&state, &link, s, &filled).await,
        (Some("changes"), Some(asset)) => changes(&state, &link, asset).await,
        _ => Err(JobError::Permanent(format!("bad subject {}", job.subject))),
    }
}

fn title(link: &UploadLink, otherwise: &str) -> String {
    if link.title.is_empty() {
        otherwise.to_string()
    } else {
        format!("“{}”", link.title)
    }
}

/// "Hero banner: 3 of 5 delivered", one line per slot.
fn slot_lines<'a>(slots: impl Iterator<Item = &'a Filled>) -> String {
    slots
        .map(|f| {
            format!(
                "- {}: {} of {} delivered",
                f.slot.name, f.delivered, f.slot.files.max
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn filled_mail(
    state: &AppState,
    link: &UploadLink,
    slots: &[Filled],
) -> Result<(), JobError> {
    let Some(owner) = link.created_by.as_deref() else {
        return Ok(());
    };
    let Some(owner) = crate::accounts::users::by_id(&state.db, owner).await? else {
        return Ok(());
    };
    let name = title(link, "your upload link");
    let lines = slot_lines(slots.iter());
    let queue = format!("{}/admin/review", state.config.public_url);
    let vars = [
        ("upload_link", name.as_str()),
        ("slots", lines.as_str()),
        ("queue", queue.as_str()),
    ];
    state
        .mailer
        .send_kind(&owner.email, &mail::SLOTS_FILLED, &vars, None)
        .await?;
    Ok(())
}

/// One sender's deliveries on a link: (file name, title, slot name), oldest first, and the
/// name and address they gave last.
struct Deliveries {
    files: Vec<(String, String, Option<String>)>,
    name: String,
    email: String,
}

async fn deliveries(
    state: &AppState,
    link: &UploadLink,
    sender: &str,
) -> Result<Deliveries, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.filename, a.title, a.uploader_name, a.uploader_email, s.name AS slot \
         FROM assets a LEFT JOIN upload_link_slots s ON s.id = a.upload_slot_id \
         WHERE a.upload_link_id = $1 AND a.upload_sender = $2 ORDER BY a.created_at, a.id",
    )
    .bind(&link.id)
    .bind(sender)
    .fetch_all(&state.db.pool)
    .await?;
    let mut out = Deliveries {
        files: Vec::new(),
        name: String::new(),
        email: String::new(),
    };
    for r in &rows {
        out.files.push((
            r.try_get("filename")?,
            r.try_get("title")?,
            r.try_get("slot")?,
        ));
        out.name = r.try_get("uploader_name")?;
        out.email = r.try_get("uploader_email")?;
    }
    Ok(out)
}

async fn receipt(
    state: &AppState,
    link: &UploadLink,
    sender: &str,
    slots: &[Filled],
) -> Result<(), JobError> {
    let d = deliveries(state, link, sender).await?;
    if d.email.is_empty() {
        return Ok(());
    }
    let files = d
        .files
        .iter()
        .map(|(file, title, slot)| {
            let mut line = format!("- {file}");
            if !title.is_empty() {
                line.push_str(&format!(" “{title}”"));
            }
            if let Some(s) = slot {
                line.push_str(&format!(" (slot: {s})"));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n");
    let open_slots = slot_lines(slots.iter().filter(|f| !f.is_filled()));
    let open = if open_slots.is_empty() {
        String::new()
    } else {
        format!("Still waiting for files:\n{open_slots}\n\n")
    };
    let name = title(link, "the upload link");
    let vars = [
        ("name", d.name.as_str()),
        ("upload_link", name.as_str()),
        ("files", files.as_str()),
        ("open", open.as_str()),
    ];
    state
        .mailer
        .send_kind(&d.email, &mail::UPLOAD_RECEIPT, &vars, None)
        .await?;
    Ok(())
}

async fn reminder(
    state: &AppState,
    link: &UploadLink,
    sender: &str,
    slots: &[Filled],
) -> Result<(), JobError> {
    let open = slot_lines(slots.iter().filter(|f| !f.is_filled()));
    let d = deliveries(state, link, sender).await?;
    if open.is_empty() || d.email.is_empty() {
        return Ok(());
    }
    let name = title(link, "the upload link");
    let expires = clock::human(link.expires_at);
    let vars = [
        ("name", d.name.as_str()),
        ("upload_link", name.as_str()),
        ("expires", expires.as_str()),
        ("slots", open.as_str()),
    ];
    state
        .mailer
        .send_kind(&d.email, &mail::SLOT_REMINDER, &vars, None)
        .await?;
    Ok(())
}

/// The reviewer's comment on a sender's file, with the address of the same link while it
/// lives; once it has ended, the mail says so. Nothing when the file was revised meanwhile.
async fn changes(state: &AppState, link: &UploadLink, asset_id: &str) -> Result<(), JobError> {
    let Some(view) = crate::library::assets::get_current(&state.db, asset_id).await? else {
        return Ok(());
    };
    if view.asset.status != "rejected" || view.asset.uploader_email.is_empty() {
        return Ok(());
    }
    let live = !matches!(link.state(state.clock.now_ms()), "expired" | "revoked");
    let address = if live {
        super::address(
            &state.db,
            state.secret.expose(),
            &state.config.public_url,
            &link.id,
        )
        .await?
    } else {
        None
    };
    let next = match (live, address) {
        (true, Some(url)) => format!(
            "Open the upload link you used to see the comment and upload a revision:\n{url}"
        ),
        (true, None) => "Open the upload link you were given to upload a revision.".to_string(),
        (false, _) => "This upload link has ended, so no revision can be sent through it. Ask \
                       the person who invited you for a new link."
            .to_string(),
    };
    let name = title(link, "the upload link");
    let version = view.version.number.to_string();
    let vars = [
        ("name", view.asset.uploader_name.as_str()),
        ("asset", view.label()),
        ("version", version.as_str()),
        ("upload_link", name.as_str()),
        ("comment", view.asset.review_comment.as_str()),
        ("next", next.as_str()),
    ];
    state
        .mailer
        .send_kind(
            &view.asset.uploader_email,
            &mail::UPLOAD_CHANGES_REQUESTED,
            &vars,
            None,
        )
        .await?;
    Ok(())
}
