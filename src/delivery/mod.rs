//! The one download decision. Every way bytes of an asset leave — a member's original or
//! rendition, a share link's original, rendition or ZIP, a member's ZIP, an upload link's
//! reference file — goes through here, and nowhere else is it decided:
//!
//! - **whether the caller may have them** (`policy::decide`, after `access` has said what the
//!   caller can see): members need `download` for files; link visitors need the password and
//!   code gates for anything, the licence terms for previews and files, `allow_original` for
//!   originals and ZIPs; an exhausted link serves no bytes of originals or previews, except to
//!   resume a download it already counted;
//! - **whether this response counts** against a link's limit: a GET that starts a download
//!   counts, reserved in one conditional `UPDATE` before the first byte; HEAD and 304 never
//!   count; a Range request counts unless it continues a counted download of the same object
//!   by the same caller, proven by the signed resume token (`resume`) set with the counted
//!   response and asking for bytes after the first;
//! - **what is recorded**: each counted download exactly once, when its response ends, with
//!   the bytes sent — `download` / `link_download` when every byte of the object went out,
//!   `download_started` / `link_download_started` when it was cut short or covered only part
//!   of the object. HEAD, 304 and resumes record no event;
//! - **its receipt** (`receipts`): a counted download opens one (a counted ZIP, one per file);
//!   every response of it, the first and each resume, adds the bytes it carried when it ends.
pub mod policy;
pub mod resume;

use axum::http::{header, HeaderMap, Method};
use axum::response::Response;

use crate::access::{self, LinkedAsset};
use crate::accounts::Account;
use crate::app::AppState;
use crate::db;
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::http::download::{self, Blob, Plan};
use crate::http::{completion, zip};
use crate::library::assets::Version;
use crate::links::unlock::Unlock;
use crate::links::Link;
use crate::receipts::{self, Channel, Meta, Op};
use crate::renditions::presets::{self, Preset};
use crate::uploadlinks::UploadLink;
use crate::web::client::ClientInfo;
pub use policy::{Caller, Refusal, Verdict, Want};

/// The request as far as the decision cares.
pub struct Ask<'a> {
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    pub client: &'a ClientInfo,
    /// Asked through the JSON API (a member's receipts say so), not a page.
    pub api: bool,
}

impl Ask<'_> {
    fn head(&self) -> bool {
        self.method == Method::HEAD
    }
}

/// Whose download it is: where it is reserved, recorded, and where its resume cookie goes.
enum Party<'a> {
    Member(&'a Account),
    Link {
        link: &'a Link,
        token: &'a str,
        /// The visitor's address, when known (`link_visitor`).
        email: Option<&'a str>,
    },
    UploadLink {
        link: &'a UploadLink,
        token: &'a str,
    },
}

impl Party<'_> {
    fn holder(&self) -> resume::Holder {
        match self {
            Party::Member(a) => resume::Holder {
                subject: format!("user:{}", a.id),
                path: "/".into(),
                until: i64::MAX / 2,
            },
            Party::Link { link, token, .. } => resume::Holder {
                subject: format!("link:{}", link.id),
                path: format!("/s/{token}"),
                until: link.expires_at,
            },
            Party::UploadLink { link, token } => resume::Holder {
                subject: format!("upload:{}", link.id),
                path: format!("/u/{token}"),
                until: link.expires_at,
            },
        }
    }

    /// Takes one download from the limit, if there is one: one conditional UPDATE, so N+k
    /// concurrent downloads let exactly N through on any number of instances.
    async fn reserve(&self, state: &AppState) -> Result<bool, AppError> {
        match self {
            Party::Link { link, .. } => Ok(crate::links::take_download(&state.db, link).await?),
            Party::Member(_) | Party::UploadLink { .. } => Ok(true),
        }
    }

    /// Gives a reserved download back when no byte could be sent (the object would not open).
    async fn release(&self, state: &AppState) {
        if let Party::Link { link, .. } = self {
            if let Err(e) = crate::links::give_back_download(&state.db, link).await {
                tracing::warn!(error = %e, link = %link.id, "could not give a download back");
            }
        }
    }

    /// Who a receipt names.
    fn who(&self) -> receipts::Who {
        match self {
            Party::Member(a) => receipts::Who::User {
                id: a.id.to_string(),
                email: a.email.clone(),
            },
            Party::Link {
                link,
                email: Some(email),
                ..
            } => receipts::Who::Recipient {
                link_id: link.id.to_string(),
                email: email.to_string(),
            },
            Party::Link { link, .. } => receipts::Who::Anonymous {
                link_id: link.id.to_string(),
            },
            Party::UploadLink { link, .. } => receipts::Who::Anonymous {
                link_id: link.id.to_string(),
            },
        }
    }

    fn channel(&self, api: bool, zip: bool) -> Channel {
        match (self, zip) {
            (Party::Member(_), true) => Channel::MemberZip,
            (Party::Member(_), false) if api => Channel::MemberApi,
            (Party::Member(_), false) => Channel::MemberPage,
            (Party::Link { .. }, true) => Channel::LinkZip,
            (Party::Link { .. }, false) => Channel::Link,
            (Party::UploadLink { .. }, _) => Channel::UploadLink,
        }
    }

    /// What a receipt of `version` of `asset_id` through this party says.
    fn receipt(&self, ask: &Ask<'_>, zip: bool, asset_id: &str, version: &Version) -> Meta {
        Meta {
            asset_id: asset_id.to_string(),
            version_id: version.id.clone(),
            version_number: version.number,
            object: "original",
            channel: self.channel(ask.api, zip),
            who: self.who(),
            ip: ask.client.ip.clone(),
            user_agent: ask.client.user_agent.clone(),
            size: version.size.max(0) as u64,
        }
    }

    /// What `record` needs, owned, to run after the handler has returned.
    fn recorder(&self) -> Recorder {
        match self {
            Party::Member(a) => Recorder {
                user: Some(a.id.to_string()),
                link: None,
                kinds: (EventKind::Download, EventKind::DownloadStarted),
            },
            Party::Link { link, .. } => Recorder {
                user: None,
                link: Some(link.id.to_string()),
                kinds: (EventKind::LinkDownload, EventKind::LinkDownloadStarted),
            },
            Party::UploadLink { link, .. } => Recorder {
                user: None,
                link: Some(link.id.to_string()),
                kinds: (EventKind::Download, EventKind::DownloadStarted),
            },
        }
    }
}

/// Records how a counted download ended.
struct Recorder {
    user: Option<String>,
    link: Option<String>,
    /// (completed, cut short or partial)
    kinds: (EventKind, EventKind),
}

impl Recorder {
    fn record(
        &self,
        state: &AppState,
        client: &ClientInfo,
        asset: Option<&str>,
        complete: bool,
        detail: &str,
    ) {
        let mut e = Event::new(if complete { self.kinds.0 } else { self.kinds.1 }).detail(detail);
        if let Some(u) = &self.user {
            e = e.by(u);
        }
        if let Some(l) = &self.link {
            e = e.link(l);
        }
        if let Some(a) = asset {
            e = e.asset(a);
        }
        state.events.record_detached(e, client);
    }
}

/// The address a share link's visitor is known by: the link's own recipient (a per-recipient
/// link), or the address they verified a one-time code for.
fn link_visitor<'a>(link: &'a Link, unlock: &'a Unlock) -> Option<&'a str> {
    link.recipient.as_deref().or(unlock.code.as_deref())
}

/// What a share link's visitor has proven, as the policy sees it.
pub fn link_caller(link: &Link, unlock: &Unlock) -> Caller {
    Caller::Link {
        open: unlock.passed_gates(link),
        terms_ok: unlock.accepted_terms(link),
        allow_original: link.allow_original,
        exhausted: link.downloads_left() == Some(0),
        presets: link.presets,
    }
}

/// `/api/v1/assets/{id}/original` and the asset page's Download button (`/assets/{id}/download`).
pub async fn member_original(
    state: &AppState,
    who: &Account,
    asset_id: &str,
    ask: &Ask<'_>,
) -> Result<Response, AppError> {
    let (view, rights) = access::asset(&state.db, who, asset_id, state.clock.now_ms()).await?;
    let caller = Caller::Member {
        download: rights.download,
    };
    let what = format!("original v{}", view.version.number);
    let blob = Some(view.version.blob());
    let party = Party::Member(who);
    one(
        state,
        &party,
        caller,
        Want::Original,
        ask,
        asset_id,
        what,
        blob,
        &view.version,
    )
    .await
}

/// A member's thumbnail or preview, shown or (`attachment`) saved as a file.
pub async fn member_rendition(
    state: &AppState,
    who: &Account,
    asset_id: &str,
    kind: &str,
    attachment: bool,
    ask: &Ask<'_>,
) -> Result<Response, AppError> {
    let (view, rights) = access::asset(&state.db, who, asset_id, state.clock.now_ms()).await?;
    let caller = Caller::Member {
        download: rights.download,
    };
    let want = rendition_want(kind, attachment);
    let blob = crate::renditions::blob(state, &view.version, kind, attachment).await?;
    let what = format!("{kind} v{}", view.version.number);
    let party = Party::Member(who);
    one(
        state,
        &party,
        caller,
        want,
        ask,
        asset_id,
        what,
        blob,
        &view.version,
    )
    .await
}

/// A member's download preset (`/assets/{id}/download?preset=web`, `/api/v1/assets/{id}/presets/{preset}`).
pub async fn member_preset(
    state: &AppState,
    who: &Account,
    asset_id: &str,
    preset: Preset,
    ask: &Ask<'_>,
) -> Result<Response, AppError> {
    let (view, rights) = access::asset(&state.db, who, asset_id, state.clock.now_ms()).await?;
    let caller = Caller::Member {
        download: rights.download,
    };
    let want = Want::Preset(preset);
    // Refused before anything is rendered for someone who may not have it.
    if let Verdict::Refuse(r) = policy::decide(caller, want, policy::Request::default()) {
        return Err(r.error());
    }
    let blob = Some(presets::blob(state, &view.version, preset).await?);
    let what = format!("{} v{}", preset.name(), view.version.number);
    let party = Party::Member(who);
    one(
        state,
        &party,
        caller,
        want,
        ask,
        asset_id,
        what,
        blob,
        &view.version,
    )
    .await
}

fn rendition_want(kind: &str, attachment: bool) -> Want {
    match (kind, attachment) {
        (_, true) => Want::RenditionFile,
        ("thumb", false) => Want::Thumb,
        _ => Want::Preview,
    }
}

/// `/s/{token}/assets/{id}/original` and `/s/{token}/assets/{id}/{thumb|preview}`.
#[allow(clippy::too_many_arguments)]
pub async fn link_file(
    state: &AppState,
    link: &Link,
    unlock: &Unlock,
    token: &str,
    asset_id: &str,
    kind: &str,
    attachment: bool,
    ask: &Ask<'_>,
) -> Result<Response, AppError> {
    let caller = link_caller(link, unlock);
    let want = match (kind, Preset::parse(kind)) {
        ("original", _) => Want::Original,
        (_, Some(p)) => Want::Preset(p),
        _ => rendition_want(kind, attachment),
    };
    // What does not depend on the asset is refused before looking it up, so a locked link
    // tells nothing about which assets exist.
    let mut used_up = false;
    if let Verdict::Refuse(r) = policy::decide(caller, want, policy::Request::default()) {
        if r != Refusal::Exhausted {
            return Err(r.error());
        }
        // Only a resume may still be served, of something sent before.
        used_up = true;
    }
    let LinkedAsset { view, .. } =
        access::link_asset(&state.db, link, asset_id, state.clock.now_ms()).await?;
    let version = &view.version;
    let blob = match want {
        Want::Original => Some(version.blob()),
        // A used-up link never has a preset made: one it could resume was made already.
        Want::Preset(p) if used_up => Some(
            presets::stored(state, version, p)
                .await?
                .ok_or(Refusal::Exhausted.error())?,
        ),
        Want::Preset(p) => Some(presets::blob(state, version, p).await?),
        // Renditions-only links show previews with the admin's watermark, if one is set.
        Want::Preview | Want::RenditionFile if kind == "preview" && !link.allow_original => {
            let text = crate::renditions::watermark::text(&state.db).await?;
            if text.is_empty() {
                crate::renditions::blob(state, version, kind, attachment).await?
            } else {
                crate::renditions::watermark::blob(state, version, &text, attachment).await?
            }
        }
        _ => crate::renditions::blob(state, version, kind, attachment).await?,
    };
    let what = format!("{kind} v{}", version.number);
    let party = Party::Link {
        link,
        token,
        email: link_visitor(link, unlock),
    };
    one(
        state, &party, caller, want, ask, asset_id, what, blob, version,
    )
    .await
}

/// `/u/{token}/refs/{id}`: a reference file of an upload link's brief.
pub async fn reference(
    state: &AppState,
    link: &UploadLink,
    unlocked: bool,
    token: &str,
    asset_id: &str,
    ask: &Ask<'_>,
) -> Result<Response, AppError> {
    let caller = Caller::UploadLink { unlocked };
    if let Verdict::Refuse(r) = policy::decide(caller, Want::Original, policy::Request::default()) {
        return Err(r.error());
    }
    let view = crate::uploadlinks::references(&state.db, link)
        .await?
        .into_iter()
        .find(|v| v.asset.id == asset_id)
        .ok_or(AppError::NotFound)?;
    let what = format!("upload link brief, original v{}", view.version.number);
    let blob = Some(view.version.blob());
    let party = Party::UploadLink { link, token };
    one(
        state,
        &party,
        caller,
        Want::Original,
        ask,
        asset_id,
        what,
        blob,
        &view.version,
    )
    .await
}

/// One stored object (or, while a rendition is not made yet, its placeholder tile).
#[allow(clippy::too_many_arguments)]
async fn one(
    state: &AppState,
    party: &Party<'_>,
    caller: Caller,
    want: Want,
    ask: &Ask<'_>,
    asset_id: &str,
    what: String,
    blob: Option<Blob>,
    version: &Version,
) -> Result<Response, AppError> {
    let Some(blob) = blob else {
        // Not the asset's bytes: refused like them, never counted.
        let req = policy::Request {
            head: ask.head(),
            ..Default::default()
        };
        return match policy::decide(caller, want, req) {
            Verdict::Refuse(r) => Err(r.error()),
            Verdict::Serve { .. } => Ok(crate::renditions::placeholder(version)),
        };
    };
    let plan = download::plan(ask.headers, &blob);
    let holder = party.holder();
    // The counted download this request continues, if it proves one.
    let resumed = match plan.first_byte() {
        Some(first) if first > 0 => resume::read(
            ask.headers,
            &holder,
            &blob.key,
            state.secret.expose(),
            state.clock.now_ms(),
        ),
        _ => None,
    };
    let req = policy::Request {
        head: ask.head(),
        not_modified: plan == Plan::NotModified,
        continuing: resumed.is_some(),
    };
    let counts = match policy::decide(caller, want, req) {
        Verdict::Refuse(r) => return Err(r.error()),
        Verdict::Serve { counts } => counts,
    };
    if plan == Plan::Unsatisfiable {
        return Err(AppError::RangeNotSatisfiable { size: blob.size });
    }
    // Only what has a receipt pays for describing it (browsing, HEAD and 304 do not).
    let meta = || {
        let mut meta = party.receipt(ask, false, asset_id, version);
        meta.object = object_of(want, &blob, version);
        meta.size = blob.size;
        meta
    };
    if !counts {
        let (response, layout) = download::send(&state.storage, plan, &blob, ask.head()).await?;
        return Ok(match resumed {
            // A resume adds what it carries to the receipt its token names.
            Some(dl) if !ask.head() => receipted(state, response, layout, dl, meta()),
            _ => response,
        });
    }
    let meta = meta();
    if !party.reserve(state).await? {
        return Err(Refusal::Exhausted.error());
    }
    let complete_object = plan.covers_all(blob.size);
    let (mut response, layout) = match download::send(&state.storage, plan, &blob, false).await {
        Ok(r) => r,
        Err(e) => {
            party.release(state).await;
            return Err(e);
        }
    };
    let now = state.clock.now_ms();
    let dl = db::new_id();
    let secure = state.config.secure_cookies();
    match resume::cookie(&holder, &blob.key, &dl, state.secret.expose(), secure, now) {
        Ok(c) => {
            response.headers_mut().append(header::SET_COOKIE, c);
        }
        Err(e) => tracing::warn!(error = %e, "could not issue a resume token"),
    }
    state
        .events
        .receipt(Op::opened(dl.clone(), meta.clone(), now));
    let recorder = party.recorder();
    let (state, client, asset, size) = (
        state.clone(),
        ask.client.clone(),
        asset_id.to_string(),
        blob.size,
    );
    let promise = state.events.promise();
    Ok(completion::on_end(
        response,
        Box::new(move |sent, complete| {
            let _kept_below = promise;
            let whole = complete && complete_object;
            let detail = if whole {
                format!("{what}, {sent} bytes")
            } else {
                format!("{what}: {sent} of {size} bytes sent")
            };
            recorder.record(&state, &client, Some(&asset), whole, &detail);
            let spans = receipts::spans::carried(&layout, sent);
            let at = state.clock.now_ms();
            state.events.receipt(Op::ended(dl, meta, now, spans, at));
        }),
    ))
}

/// Which stored object of the version a blob is, as a receipt names it.
fn object_of(want: Want, blob: &Blob, version: &Version) -> &'static str {
    match want {
        Want::Original => "original",
        Want::Preset(p) => p.name(),
        Want::Thumb => "thumb",
        _ if blob.key == version.blob_key => "original",
        _ => "preview",
    }
}

/// `response`, which continues counted download `dl`: when it ends, what it carried is added
/// to that download's receipt.
fn receipted(
    state: &AppState,
    response: Response,
    layout: download::Layout,
    dl: String,
    meta: Meta,
) -> Response {
    let state = state.clone();
    let started = state.clock.now_ms();
    let promise = state.events.promise();
    completion::on_end(
        response,
        Box::new(move |sent, _complete| {
            let _kept_below = promise;
            let spans = receipts::spans::carried(&layout, sent);
            let at = state.clock.now_ms();
            state
                .events
                .receipt(Op::ended(dl, meta, started, spans, at));
        }),
    )
}

/// `/s/{token}/zip`: the whole share as one ZIP, one download of the link.
pub async fn link_zip(
    state: &AppState,
    link: &Link,
    unlock: &Unlock,
    token: &str,
    ask: &Ask<'_>,
    limit: i64,
    preset: Option<Preset>,
) -> Result<Response, AppError> {
    let caller = link_caller(link, unlock);
    let head = ask.head();
    let counts = match policy::decide(caller, Want::Zip, head_only(head)) {
        Verdict::Refuse(r) => return Err(r.error()),
        Verdict::Serve { counts } => counts,
    };
    // A ZIP in a size needs what that size needs on its own.
    if let Some(p) = preset {
        if let Verdict::Refuse(r) = policy::decide(caller, Want::Preset(p), head_only(head)) {
            return Err(r.error());
        }
    }
    let listed = access::link_assets(&state.db, link, None, limit, state.clock.now_ms()).await?;
    if listed.is_empty() {
        return Err(AppError::NotFound);
    }
    let stem = if link.title.is_empty() {
        "shared-files"
    } else {
        link.title.as_str()
    };
    let name = zip_name(stem, preset);
    let party = Party::Link {
        link,
        token,
        email: link_visitor(link, unlock),
    };
    zip_of(
        state,
        &party,
        counts,
        ask,
        listed,
        &name,
        false,
        preset,
        &link.terms,
    )
    .await
}

/// `Press kit.zip`, or `Press kit-web.zip` for a ZIP of a preset.
pub fn zip_name(stem: &str, preset: Option<Preset>) -> String {
    match preset {
        Some(p) => format!("{stem}-{}.zip", p.name()),
        None => format!("{stem}.zip"),
    }
}

/// A member's ZIP of a selection, a folder tree or a collection (`library::zip::selection`).
pub async fn member_zip(
    state: &AppState,
    who: &Account,
    ask: &Ask<'_>,
    listed: Vec<LinkedAsset>,
    name: &str,
    preset: Option<Preset>,
) -> Result<Response, AppError> {
    // `selection` holds only what the member may download.
    let caller = Caller::Member { download: true };
    let counts = match policy::decide(caller, Want::Zip, head_only(ask.head())) {
        Verdict::Refuse(r) => return Err(r.error()),
        Verdict::Serve { counts } => counts,
    };
    let party = Party::Member(who);
    let name = zip_name(name.strip_suffix(".zip").unwrap_or(name), preset);
    zip_of(state, &party, counts, ask, listed, &name, true, preset, "").await
}

fn head_only(head: bool) -> policy::Request {
    policy::Request {
        head,
        ..Default::default()
    }
}

/// Streams the archive. A counted one is reserved first and recorded when it ends: per asset
/// (`per_asset`, members) or as one download of the link; and it opens a receipt per file,
/// each completed when its last byte has been handed to the client (`zip::Marks`). With a
/// preset, pictures are in it at that size (made first where they were not yet, so sizes and
/// receipts are exact); other files as they are.
#[allow(clippy::too_many_arguments)]
async fn zip_of(
    state: &AppState,
    party: &Party<'_>,
    counts: bool,
    ask: &Ask<'_>,
    listed: Vec<LinkedAsset>,
    name: &str,
    per_asset: bool,
    preset: Option<Preset>,
    terms: &str,
) -> Result<Response, AppError> {
    let blobs = match preset {
        // A HEAD never reads the body: nothing is made for it.
        Some(p) if !ask.head() => presets::for_zip(state, &listed, p).await?,
        _ => listed.iter().map(|a| a.view.version.blob()).collect(),
    };
    let mut entries = crate::library::zip::entries_of(&listed, &blobs);
    // Last, so the entries' marks stay in the assets' order for the receipts.
    entries.extend(crate::library::zip::licence(terms, &listed, &entries));
    let marks = zip::Marks::default();
    let response = zip::response(state.storage.clone(), entries, name, marks.clone());
    if !counts {
        return Ok(response);
    }
    if !party.reserve(state).await? {
        return Err(Refusal::Exhausted.error());
    }
    let now = state.clock.now_ms();
    let dl = db::new_id();
    let files: Vec<(String, Meta)> = listed
        .iter()
        .enumerate()
        .zip(&blobs)
        .map(|((n, a), blob)| {
            let mut meta = party.receipt(ask, true, a.view.asset.id.as_str(), &a.view.version);
            if let Some(p) = preset.filter(|_| blob.key != a.view.version.blob_key) {
                meta.object = p.name();
                meta.size = blob.size;
            }
            (format!("{dl}.{n}"), meta)
        })
        .collect();
    for (id, meta) in &files {
        state
            .events
            .receipt(Op::opened(id.clone(), meta.clone(), now));
    }
    let recorder = party.recorder();
    let ids: Vec<String> = listed.into_iter().map(|a| a.view.asset.id.into()).collect();
    let (state, client) = (state.clone(), ask.client.clone());
    let promise = state.events.promise();
    Ok(completion::on_end(
        response,
        Box::new(move |sent, complete| {
            let _kept_below = promise;
            let n = ids.len();
            if complete && per_asset {
                for id in &ids {
                    recorder.record(&state, &client, Some(id), true, "zip");
                }
            } else if complete {
                let detail = format!("zip of {n} files, {sent} bytes");
                recorder.record(&state, &client, None, true, &detail);
            } else {
                let detail = format!("zip of {n} files: cut short after {sent} bytes");
                recorder.record(&state, &client, None, false, &detail);
            }
            let at = state.clock.now_ms();
            for ((id, meta), mark) in files.into_iter().zip(marks.snapshot()) {
                if let Some(op) = zip_receipt(id, meta, mark, sent, now, at) {
                    state.events.receipt(op);
                }
            }
        }),
    ))
}

/// What `sent` bytes of the archive carried of one file. A file whose data ended within them
/// reached the client whole; the file in progress carried what was written of it (exact for
/// stored entries; for deflated ones the compressed count, capped below the size, so it can
/// only ever read "started").
fn zip_receipt(
    id: String,
    meta: Meta,
    mark: zip::Mark,
    sent: u64,
    now: i64,
    at: i64,
) -> Option<Op> {
    let size = meta.size;
    let mut spans = receipts::spans::Spans::new();
    match mark.data_end {
        Some(end) if sent >= end => {
            spans.add(0..size);
            return Some(Op::ended(id, meta, now, spans, at));
        }
        _ if sent > mark.data_start => {
            let carried = (sent - mark.data_start).min(size.saturating_sub(1));
            spans.add(0..carried);
        }
        _ => return None,
    }
    let mut op = Op::ended(id, meta, now, spans, at);
    // Its data did not end in what was sent: never complete.
    op.ended = false;
    Some(op)
}
