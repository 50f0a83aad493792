//! The search page: a box, facets that narrow the results, a grid of what was found.
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::api::Params;
use super::query::{self, Facets};
use crate::accounts::PageUser;
use crate::app::AppState;
use crate::error::PageResult;
use crate::library::card::AssetCard;
use crate::web::layout::{render, Layout};

pub fn routes() -> Router<AppState> {
    Router::new().route("/search", get(search_page))
}

/// One clickable facet value: the page's URL with that filter set (or cleared).
pub struct FacetLink {
    pub label: String,
    pub count: i64,
    pub href: String,
    pub active: bool,
}

pub struct FacetGroup {
    pub title: &'static str,
    pub links: Vec<FacetLink>,
}

/// The words as typed, when the page shows a correction of them, and the URL that searches
/// them as typed ("Search instead for …").
pub struct Typed {
    pub q: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    /// The words answered (the corrected ones, when a correction answered).
    q: String,
    /// When a correction answered: the words as typed.
    typed: Option<Typed>,
    sort: String,
    total: i64,
    total_capped: bool,
    cards: Vec<AssetCard>,
    groups: Vec<FacetGroup>,
    /// Active filters, each with the URL that removes it.
    active: Vec<(String, String)>,
    prev: Option<String>,
    next: Option<String>,
    /// Results are cards that can be selected: downloaded as one ZIP, shared, edited, added
    /// to a collection (the same actions as a folder's grid).
    selectable: bool,
    is_admin: bool,
    collections: Vec<crate::collections::Collection>,
    /// This page's address, to come back to after "Add selected to".
    here: String,
    /// How many of the results the caller may download: the bar offers "Download selected"
    /// when any, "Request download of selected" when some are view-only.
    downloadable: usize,
}

/// This page's URL with `key` set to `value` (None removes it). Any change but paging starts
/// again at page one.
fn href(p: &Params, key: &str, value: Option<&str>) -> String {
    let current = [
        ("type", &p.kind),
        ("orientation", &p.orientation),
        ("folder_id", &p.folder_id),
        ("keyword", &p.keyword),
        ("licence", &p.licence),
        ("status", &p.status),
        ("year", &p.year),
        ("sort", &p.sort),
        ("autocorrect", &p.autocorrect),
    ];
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if !p.q.is_empty() {
        pairs.push(("q", &p.q));
    }
    for (k, v) in current {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty() && k != key) {
            pairs.push((k, v));
        }
    }
    if let Some(v) = value {
        pairs.push((key, v));
    }
    format!(
        "/search?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

/// A facet value as a person would say it ("Images", "None set"); keywords, folders and
/// years are shown as they are.
fn value_label(key: &str, value: &str) -> String {
    let known = match (key, value) {
        ("type", "image") => "Images",
        ("type", "video") => "Videos",
        ("type", "audio") => "Audio",
        ("type", "pdf") => "PDFs",
        ("type", "archive") => "Archives",
        ("type", "document") => "Documents",
        ("type", "file") => "Other files",
        ("orientation", "landscape") => "Landscape",
        ("orientation", "portrait") => "Portrait",
        ("orientation", "square") => "Square",
        // Licence state today (`query::licence_sql`).
        ("licence", "open") => "None set",
        ("licence", "licensed") => "Licensed",
        ("licence", "expiring") => "Expires within 30 days",
        ("licence", "embargoed") => "Not yet available",
        ("licence", "expired") => "Expired",
        ("status", "draft") => "Draft",
        ("status", "in_review") => "In review",
        ("status", "approved") => "Approved",
        ("status", "rejected") => "Rejected",
        ("status", "archived") => "Archived",
        _ => return value.to_string(),
    };
    known.to_string()
}

/// A facet's name as its group title and in the chip of a chosen filter.
fn key_label(key: &str) -> &'static str {
    match key {
        "type" => "Type",
        "orientation" => "Orientation",
        "folder_id" => "Folder",
        "keyword" => "Keyword",
        "licence" => "Licence",
        "status" => "Status",
        "year" => "Year added",
        _ => "Filter",
    }
}

fn groups(p: &Params, f: &Facets) -> Vec<FacetGroup> {
    let link = |key: &str, value: &str, label: String, count: i64, current: &Option<String>| {
        let active = current.as_deref() == Some(value);
        FacetLink {
            label,
            count,
            href: href(p, key, if active { None } else { Some(value) }),
            active,
        }
    };
    let simple = |key: &'static str, list: &[(String, i64)], current: &Option<String>| FacetGroup {
        title: key_label(key),
        links: list
            .iter()
            .filter(|(v, _)| !v.is_empty() && v != "unknown")
            .map(|(v, n)| link(key, v, value_label(key, v), *n, current))
            .collect(),
    };
    let mut out = vec![
        simple("type", &f.kind, &p.kind),
        simple("orientation", &f.orientation, &p.orientation),
        FacetGroup {
            title: key_label("folder_id"),
            links: f
                .folder
                .iter()
                .map(|(id, path, n)| link("folder_id", id, path.clone(), *n, &p.folder_id))
                .collect(),
        },
        simple("keyword", &f.keyword, &p.keyword),
        FacetGroup {
            title: key_label("year"),
            links: f
                .year
                .iter()
                .map(|(y, n)| {
                    let y = y.to_string();
                    link("year", &y, y.clone(), *n, &p.year)
                })
                .collect(),
        },
    ];
    // Members only ever find assets inside their window, so for them this tells "None set",
    // "Licensed" and "Expires within 30 days" apart; admins also see the other two.
    out.push(simple("licence", &f.licence, &p.licence));
    out.retain(|g| !g.links.is_empty());
    out
}

async fn search_page(
    State(state): State<AppState>,
    user: PageUser,
    Query(params): Query<Params>,
) -> PageResult<Response> {
    let who = &user.account;
    let s = params.to_search(true)?;
    let r = query::run(&state.db, who, &s, state.clock.now_ms()).await?;
    let facets = r.facets.unwrap_or_default();
    // When a correction answered, the page is the corrected search: its box, its facet links
    // and its pages go on from the corrected words.
    let typed = r.corrected_query.as_ref().map(|_| {
        let mut as_typed = params.clone();
        as_typed.autocorrect = Some("0".into());
        Typed {
            q: params.q.clone(),
            href: href(&as_typed, "page", None),
        }
    });
    let mut params = params;
    if let Some(c) = &r.corrected_query {
        params.q = c.clone();
    }
    let mut active = Vec::new();
    for (key, value) in [
        ("type", &params.kind),
        ("orientation", &params.orientation),
        ("keyword", &params.keyword),
        ("licence", &params.licence),
        ("status", &params.status),
        ("year", &params.year),
        ("folder_id", &params.folder_id),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            let shown = if key == "folder_id" {
                facets
                    .folder
                    .iter()
                    .find(|(id, ..)| id == v)
                    .map(|(_, path, _)| path.clone())
                    .unwrap_or_else(|| "chosen folder".into())
            } else {
                value_label(key, v)
            };
            active.push((
                format!("{}: {shown}", key_label(key)),
                href(&params, key, None),
            ));
        }
    }
    let page = SearchPage {
        layout: Layout::for_user(
            if params.q.is_empty() {
                "Search"
            } else {
                &params.q
            },
            &user,
            "search",
        ),
        q: params.q.clone(),
        typed,
        sort: params.sort.clone().unwrap_or_default(),
        total: r.total,
        total_capped: r.total_capped,
        cards: r.items.iter().map(AssetCard::from_view).collect(),
        groups: groups(&params, &facets),
        active,
        prev: (r.page > 1).then(|| href(&params, "page", Some(&(r.page - 1).to_string()))),
        next: r
            .has_next
            .then(|| href(&params, "page", Some(&(r.page + 1).to_string()))),
        selectable: true,
        is_admin: who.is_admin(),
        collections: if who.is_admin() {
            crate::collections::all(&state.db).await?
        } else {
            Vec::new()
        },
        here: href(&params, "page", Some(&r.page.to_string())),
        downloadable: if who.is_admin() {
            r.items.len()
        } else {
            let ids: Vec<String> = r.items.iter().map(|v| v.asset.id.to_string()).collect();
            crate::access::downloadable_many(&state.db, who, &ids, state.clock.now_ms())
                .await?
                .len()
        },
    };
    Ok(render(&page)?.into_response())
}
