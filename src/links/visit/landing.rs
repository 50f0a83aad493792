//! The link's page: the gate a visitor must pass next, or the gallery once the gates are passed.
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::LinkVisit;
use crate::app::AppState;
use crate::clock;
use crate::error::PageResult;
use crate::events::{Event, EventKind};
use crate::library::card::AssetCard;
use crate::links::gallery::Buttons;
use crate::renditions::presets::{self, Preset};
use crate::web::format::human_size;
use crate::web::layout::{render, Layout};
use crate::webhooks::{self, WebhookKind};

/// Most assets shown on a landing page (the ZIP holds all of them).
const GALLERY_LIMIT: i64 = 500;

pub struct VisitCard {
    pub card: AssetCard,
    pub folder: String,
}

/// The cards of a landing page, rendered once per cached gallery with `TOKEN_MARKER` where the
/// visitor's token goes. The marker holds `<`, which askama escapes in everything else, so it
/// can only appear where the template puts it.
#[derive(Template)]
#[template(path = "links/gallery.html")]
struct GalleryCards {
    cards: Vec<VisitCard>,
    buttons: bool,
    previews: bool,
    /// Thumbnails open the preview: once the terms are accepted (a preview is a deliverable).
    zoom: bool,
    token: &'static str,
    /// The sizes the link offers (the cards' "Sizes" menus list only these).
    presets: crate::renditions::presets::PresetSet,
}

const TOKEN_MARKER: &str = "<t>";

#[derive(Template)]
#[template(path = "links/visit.html")]
pub(super) struct VisitPage {
    layout: Layout,
    token: String,
    /// "password", "code" or "content".
    stage: &'static str,
    pub(super) error: Option<String>,
    /// A code was requested: show the field to enter it.
    pub(super) code_sent: bool,
    /// The visitor must say which address the code goes to (shared, not per-recipient).
    ask_email: bool,
    pub(super) email: String,
    /// Where the code goes, masked ("b•••@supermart.test"), when the link knows its recipient.
    code_to: Option<String>,
    heading: String,
    message: String,
    terms: String,
    terms_ok: bool,
    /// The terms wait for acceptance: the page is their gate (the gallery shows below it, its
    /// thumbnails opening nothing).
    terms_gate: bool,
    allow_original: bool,
    /// No asset is visible.
    empty: bool,
    /// The cards (see `GalleryCards`).
    gallery: String,
    more: bool,
    total_size: String,
    expires: String,
    downloads_left: Option<i64>,
    /// The presets "Download all" can also be had in: those some picture of the link offers.
    zip_presets: Vec<Preset>,
    /// Who shared it ("Ann Lee"), and for whom they work (the portal's name), if known.
    sender: String,
    organisation: String,
    /// The asset shown large above the grid: the first picture, on a page of several.
    cover: Option<String>,
    /// The renewal form ("renew" stage, or a used-up link's content page): the address, if the
    /// link knows it (then it is not asked), and what the visitor typed before an error.
    pub(super) renew: super::renew::RenewForm,
}

/// A gate's page ("password" or "code").
pub(super) fn gate_page(v: &LinkVisit, stage: &'static str) -> VisitPage {
    VisitPage {
        // Before the gates, nothing about the content: not even its title.
        layout: Layout::anonymous("Shared files"),
        token: v.token.clone(),
        stage,
        error: None,
        code_sent: false,
        // A bound link asks who is visiting: its code goes only to its recipient.
        ask_email: v.link.recipient.is_none() || v.link.bind_recipient,
        email: String::new(),
        code_to: v.link.recipient.as_deref().map(super::renew::mask),
        heading: "Shared files".into(),
        message: String::new(),
        terms: String::new(),
        terms_ok: false,
        terms_gate: false,
        allow_original: false,
        empty: true,
        gallery: String::new(),
        more: false,
        total_size: String::new(),
        expires: String::new(),
        downloads_left: None,
        zip_presets: Vec::new(),
        sender: String::new(),
        organisation: String::new(),
        cover: None,
        renew: super::renew::RenewForm::default(),
    }
}

pub(super) async fn landing(
    State(state): State<AppState>,
    any: super::AnyVisit,
) -> PageResult<Response> {
    if any.expired {
        return super::renew::expired_page(&state, &any.visit).await;
    }
    let v = any.visit;
    if !v.password_ok() {
        return Ok(render(&gate_page(&v, "password"))?.into_response());
    }
    if !v.code_ok() {
        let mut page = gate_page(&v, "code");
        page.code_sent = v.unlock.pending.is_some();
        if v.link.recipient.is_none() {
            page.email = v.unlock.pending.clone().unwrap_or_default();
        }
        return Ok(render(&page)?.into_response());
    }
    let now = state.clock.now_ms();
    let gallery = state
        .galleries
        .get(&state.db, &v.link, v.generation, GALLERY_LIMIT + 1, now)
        .await?;
    let listed = &gallery.items;
    let more = listed.len() as i64 > GALLERY_LIMIT;
    let total: i64 = listed.iter().map(|a| a.size).sum();
    // A used-up link offers no download that would only be refused (its page offers to ask
    // for more instead).
    let used_up = v.link.downloads_left() == Some(0);
    let buttons = match (v.terms_ok() && !used_up, v.link.allow_original) {
        (false, _) => Buttons::None,
        (true, true) => Buttons::Original,
        (true, false) => Buttons::Preview,
    };
    let cards = gallery.html(buttons, TOKEN_MARKER, &v.token, |items| {
        render(&GalleryCards {
            cards: items
                .iter()
                .take(GALLERY_LIMIT as usize)
                .map(|a| VisitCard {
                    card: AssetCard::new(a),
                    folder: a.subpath.join(" / "),
                })
                .collect(),
            buttons: buttons == Buttons::Original,
            previews: buttons == Buttons::Preview,
            zoom: buttons != Buttons::None,
            token: TOKEN_MARKER,
            presets: v.link.presets,
        })
        .map(|html| html.0)
    })?;
    state
        .events
        .record_detached(Event::new(EventKind::LinkView).link(&v.link.id), &v.client);
    if webhooks::wanted(&state, WebhookKind::LinkOpened) {
        let l = &v.link;
        let info = webhooks::LinkInfo {
            id: &l.id,
            share_id: &l.share_id,
            title: &l.title,
            recipient: l.recipient.as_deref(),
            expires_at: l.expires_at,
        };
        let data = webhooks::link_data(&state.config.public_url, &info);
        webhooks::emit_detached(&state, WebhookKind::LinkOpened, data);
    }
    let heading = if v.link.title.is_empty() {
        "Shared files".to_string()
    } else {
        v.link.title.clone()
    };
    let page = VisitPage {
        layout: Layout::anonymous(&heading),
        token: v.token.clone(),
        stage: "content",
        error: None,
        code_sent: false,
        ask_email: false,
        email: String::new(),
        code_to: None,
        heading,
        message: v.link.message.clone(),
        terms: v.link.terms.clone(),
        terms_ok: v.terms_ok(),
        terms_gate: !v.terms_ok(),
        allow_original: v.link.allow_original,
        empty: listed.is_empty(),
        gallery: cards,
        more,
        total_size: human_size(total),
        expires: clock::human(v.link.expires_at),
        downloads_left: v.link.downloads_left(),
        zip_presets: zip_presets(listed)
            .into_iter()
            .filter(|p| v.link.presets.contains(*p))
            .collect(),
        sender: v.link.creator_name.clone().unwrap_or_default(),
        organisation: state.brand.get(&state.db).await.name.clone(),
        // Previews are deliverables: shown once the terms are accepted.
        cover: cover(listed, v.link.cover_asset_id.as_deref())
            .filter(|_| listed.len() > 1 && v.terms_ok())
            .map(|a| a.id.clone()),
        renew: super::renew::RenewForm::read(&state, &v, false).await?,
    };
    Ok(render(&page)?.into_response())
}

/// The picture shown large: the one the admin picked when the link lists it and it has a
/// preview, else the first picture. Only listed assets qualify, so a cover never shows
/// anything the link does not.
fn cover<'a>(
    listed: &'a [crate::access::GalleryItem],
    picked: Option<&str>,
) -> Option<&'a crate::access::GalleryItem> {
    let picture = |a: &&crate::access::GalleryItem| {
        a.render_state == "ready" && a.media_type.starts_with("image/")
    };
    picked
        .and_then(|id| listed.iter().filter(picture).find(|a| a.id == id))
        .or_else(|| listed.iter().find(picture))
}

/// The presets offered by at least one listed picture, in menu order.
fn zip_presets(items: &[crate::access::GalleryItem]) -> Vec<Preset> {
    let mut out: Vec<Preset> = Vec::new();
    for item in items {
        for o in presets::offers(presets::Picture::of_item(item)) {
            if !out.contains(&o.preset) {
                out.push(o.preset);
            }
        }
        if out.len() == Preset::ALL.len() {
            break;
        }
    }
    out.sort_by_key(|p| Preset::ALL.iter().position(|q| q == p));
    out
}
