//! Receipts (issue 18): proof of delivery. Every counted download (`delivery`) opens one —
//! who, which version of which asset, through which channel, from where — and it is
//! **completed** only when every byte of that object has been handed to that client, across
//! however many Range requests and resumes it took: the union of the byte ranges sent is kept
//! per receipt (`spans`), and a resume names its receipt by the `dl` of its resume token.
//! Inside a ZIP each file has its own receipt (`<dl>.<n>`), completed when its last byte has
//! been written into the stream sent to the client.
//!
//! **Off the request path, and the guarantee.** A download never waits for its receipt: the
//! opening and the end of each response are handed to the audit writer (`events::Recorder`,
//! the same single writer with group commit as the audit log), which applies them in its next
//! transaction, a few milliseconds later, together with the download's event.
//! - A clean shutdown loses none: `serve` lets running responses end (each hands over its
//!   update as it ends), then flushes the writer before the process exits.
//! - A crash loses at most what was handed over and not yet committed: the last moment's
//!   updates (the writer commits within ~5 ms, or at once under load, in batches of 256).
//!   A download cut by the crash keeps its opening if that was committed, as "started".
//! - Nothing is invented: bytes are added to a receipt only after the response body has handed
//!   them to the connection (`http::completion`), a receipt completes only when those bytes
//!   cover the object and a response has ended, and stored ranges that do not parse are
//!   dropped, never widened.
//!
//! "Handed to the connection" is what the server can know: bytes in the kernel's send buffer
//! of a connection that then breaks count as sent. Thumbnails and inline previews are
//! browsing, never counted, and get no receipt; nor do HEAD and 304.
pub mod api;
pub mod query;
pub mod spans;
pub mod store;

use serde_json::json;
use spans::Spans;

use crate::app::AppState;
use crate::webhooks::{self, WebhookKind};

/// Through what a download went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    MemberApi,
    MemberPage,
    Link,
    MemberZip,
    LinkZip,
    /// A reference file of an upload link's brief.
    UploadLink,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::MemberApi,
        Channel::MemberPage,
        Channel::Link,
        Channel::MemberZip,
        Channel::LinkZip,
        Channel::UploadLink,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::MemberApi => "member_api",
            Channel::MemberPage => "member_page",
            Channel::Link => "link",
            Channel::MemberZip => "member_zip",
            Channel::LinkZip => "link_zip",
            Channel::UploadLink => "upload_link",
        }
    }

    /// Words for pages.
    pub fn label(name: &str) -> &'static str {
        match name {
            "member_api" => "API",
            "member_page" => "portal",
            "link" => "share link",
            "member_zip" => "ZIP (portal)",
            "link_zip" => "ZIP (share link)",
            "upload_link" => "upload link brief",
            _ => "other",
        }
    }
}

/// Who received the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    User {
        id: String,
        email: String,
    },
    /// A share link's visitor whose address is known: the link's own recipient, or the address
    /// a one-time code was verified for.
    Recipient {
        link_id: String,
        email: String,
    },
    /// A visitor of link (or upload link) `link_id` who gave no address.
    Anonymous {
        link_id: String,
    },
}

impl Who {
    /// `(who_kind, user_id, link_id, email)` as stored.
    pub fn columns(&self) -> (&'static str, Option<&str>, Option<&str>, Option<&str>) {
        match self {
            Who::User { id, email } => ("user", Some(id), None, Some(email)),
            Who::Recipient { link_id, email } => ("recipient", None, Some(link_id), Some(email)),
            Who::Anonymous { link_id } => ("anonymous", None, Some(link_id), None),
        }
    }
}

/// What a receipt is about, known when its download is counted.
#[derive(Clone, Debug)]
pub struct Meta {
    pub asset_id: String,
    pub version_id: String,
    pub version_number: i64,
    /// original | preview | thumb
    pub object: &'static str,
    pub channel: Channel,
    pub who: Who,
    pub ip: String,
    pub user_agent: String,
    pub size: u64,
}

/// One update the audit writer applies: a download opened (no bytes yet), or a response of it
/// that ended having carried `spans` of the object.
#[derive(Clone, Debug)]
pub struct Op {
    pub id: String,
    pub meta: Meta,
    pub started_at: i64,
    pub at: i64,
    pub spans: Spans,
    /// A response ended (bytes are final); a receipt completes only at such an update.
    pub ended: bool,
}

impl Op {
    pub fn opened(id: String, meta: Meta, now: i64) -> Op {
        Op {
            id,
            meta,
            started_at: now,
            at: now,
            spans: Spans::new(),
            ended: false,
        }
    }

    pub fn ended(id: String, meta: Meta, started_at: i64, spans: Spans, now: i64) -> Op {
        Op {
            id,
            meta,
            started_at,
            at: now,
            spans,
            ended: true,
        }
    }
}

/// `download.completed` for a receipt just completed (after its commit): who, which version of
/// which asset, through what. At most once: a crash between the commit and the queueing loses
/// it, the receipt stays.
pub async fn announce_completed(state: &AppState, op: Op) {
    let m = &op.meta;
    let (kind, user_id, link_id, email) = m.who.columns();
    let mut data = match crate::library::assets::get_current(&state.db, &m.asset_id).await {
        Ok(Some(view)) => crate::library::review::asset_data(state, &view),
        _ => json!({ "asset_id": m.asset_id }),
    };
    data["receipt_id"] = json!(op.id);
    data["downloaded_version"] = json!(m.version_number);
    data["downloaded_version_id"] = json!(m.version_id);
    data["object"] = json!(m.object);
    data["channel"] = json!(m.channel.as_str());
    data["who"] = json!({
        "kind": kind,
        "id": if kind == "user" { user_id } else { link_id },
        "email": email,
    });
    data["link_id"] = json!(link_id);
    data["bytes"] = json!(m.size);
    data["started_at"] = json!(crate::clock::rfc3339(op.started_at));
    data["completed_at"] = json!(crate::clock::rfc3339(op.at));
    webhooks::emit(state, WebhookKind::DownloadCompleted, data).await;
}
