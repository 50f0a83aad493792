//! An asset's page: its preview, details, versions, and the forms for what the viewer may do.
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::access::{self};
use crate::accounts::{users, PageUser};
use crate::app::AppState;
use crate::clock;
use crate::error::{AppError, PageResult};
use crate::library::assets::{self, AssetView};
use crate::library::card::AssetCard;
use crate::library::folders::{self, Folder};
use crate::web::format::human_size;
use crate::web::layout::{render, Layout};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/assets/{id}", get(asset_page))
}

struct Row {
    label: &'static str,
    value: String,
}

/// What the file says about itself, for the details list (GPS for admins only).
fn media_details(view: &AssetView, admin: bool) -> Vec<Row> {
    let v = &view.version;
    let mut rows = Vec::new();
    let mut push = |label: &'static str, value: Option<String>| {
        if let Some(value) = value.filter(|s| !s.is_empty()) {
            rows.push(Row { label, value });
        }
    };
    push(
        "Pixels",
        v.width.zip(v.height).map(|(w, h)| format!("{w} × {h}")),
    );
    push("Pages", v.pages.map(|p| p.to_string()));
    push(
        "Duration",
        v.duration_ms
            .map(|d| format!("{}:{:02}", d / 60_000, (d / 1000) % 60)),
    );
    push("Credit", Some(view.asset.credit.clone()));
    push("Usage terms", Some(view.asset.usage_terms.clone()));
    let meta = view.extracted(admin);
    let text = |k: &str| meta.get(k).and_then(|x| x.as_str()).map(str::to_string);
    push("Copyright", text("copyright"));
    push(
        "Taken",
        text("captured_at").map(|t| t.replace('T', " ").trim_end_matches('Z').to_string()),
    );
    push("Camera", text("camera"));
    if admin {
        let gps = meta.get("gps").and_then(|g| g.as_array()).and_then(|g| {
            Some(format!(
                "{:.5}, {:.5}",
                g.first()?.as_f64()?,
                g.get(1)?.as_f64()?
            ))
        });
        push("GPS (admins only)", gps);
    }
    rows
}

struct VersionRow {
    id: String,
    uploader: String,
    number: i64,
    filename: String,
    size: String,
    created: String,
    comment: String,
    current: bool,
    approved: bool,
}

#[derive(Template)]
#[template(path = "library/asset.html")]
struct AssetPage {
    layout: Layout,
    card: AssetCard,
    title: String,
    description: String,
    keywords: String,
    status: String,
    review_comment: String,
    see_review: bool,
    can_download: bool,
    is_admin: bool,
    crumbs: Vec<Folder>,
    details: Vec<Row>,
    versions: Vec<VersionRow>,
    available_from: String,
    available_until: String,
    /// May check out / check in (contribute right or admin).
    can_contribute: bool,
    /// Who holds the lock and since when ("" if nobody).
    locked_by: String,
    locked_since: String,
    locked_by_me: bool,
    pending_review: bool,
    /// Folders an admin may approve the asset into (empty for others).
    move_targets: Vec<Folder>,
    /// Why the typed tile shows instead of a preview.
    preview_note: &'static str,
    credit: String,
    usage_terms: String,
    /// Admins: every collection (for "Add to collection") and those holding this asset.
    collections: Vec<crate::collections::Collection>,
    in_collections: Vec<crate::collections::Collection>,
    /// Admins: who received each version whole (receipts), newest version first.
    holders: Vec<crate::receipts::query::Holders>,
    /// Admins: the asset's recalls with their counts.
    recalls: Vec<crate::recalls::query::RecallRow>,
    /// A member downloading by a personal grant: until when ("" otherwise).
    download_until: String,
    /// A member who may see but not download: offered "Request download" (and told if a
    /// request of theirs is waiting).
    may_request: bool,
    request_pending: bool,
    /// Admins: members' personal download grants on this asset.
    personal: Vec<crate::requests::grants::PersonalGrant>,
}

impl AssetPage {
    fn when(&self, ms: &i64) -> String {
        crate::clock::human(*ms)
    }
}

async fn asset_page(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> PageResult<Response> {
    let db = &state.db;
    let who = &user.account;
    let now = state.clock.now_ms();
    let (view, rights) = access::asset(db, who, &id, now).await?;
    let folder = folders::get(db, &view.asset.folder_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let folder_of = folder.clone();
    let mut crumbs = access::breadcrumbs(db, who, &folder).await?;
    if access::folder_rights(db, who, &folder).await?.any() {
        crumbs.push(folder);
    }
    let v = &view.version;
    let a = &view.asset;
    let mut details = vec![
        Row {
            label: "File name",
            value: v.filename.clone(),
        },
        Row {
            label: "Type",
            value: v.media_type.clone(),
        },
        Row {
            label: "Size",
            value: human_size(v.size),
        },
        Row {
            label: "Version",
            value: v.number.to_string(),
        },
        Row {
            label: "Updated",
            value: clock::human(a.updated_at),
        },
        Row {
            label: "SHA-256",
            value: v.sha256.clone(),
        },
    ];
    details.extend(media_details(&view, who.is_admin()));
    if let Some(f) = a.available_from {
        details.push(Row {
            label: "Available from",
            value: clock::human(f),
        });
    }
    if let Some(u) = a.available_until {
        details.push(Row {
            label: "Available until",
            value: clock::human(u),
        });
    }
    let all_versions = if rights.see_review {
        assets::versions(db, &a.id).await?
    } else {
        Vec::new()
    };
    let mut people: Vec<&str> = all_versions
        .iter()
        .filter_map(|x| x.uploaded_by.as_deref())
        .collect();
    people.extend(a.checked_out_by.as_deref());
    let names = users::names(db, &people).await?;
    let versions = if rights.see_review {
        all_versions
            .iter()
            .map(|x| VersionRow {
                uploader: x
                    .uploaded_by
                    .as_ref()
                    .and_then(|u| names.get(u).cloned())
                    .unwrap_or_default(),
                id: x.id.clone(),
                current: Some(&x.id) == a.current_version_id.as_ref(),
                approved: Some(&x.id) == a.approved_version_id.as_ref(),
                number: x.number,
                filename: x.filename.clone(),
                size: human_size(x.size),
                created: clock::human(x.created_at),
                comment: x.comment.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let date = |ms: Option<i64>| {
        ms.map(|m| clock::rfc3339(m).chars().take(16).collect())
            .unwrap_or_default()
    };
    let page = AssetPage {
        layout: Layout::for_user(
            if a.title.is_empty() {
                &v.filename
            } else {
                &a.title
            },
            &user,
            "library",
        ),
        card: AssetCard::from_view(&view),
        title: a.title.clone(),
        description: a.description.clone(),
        keywords: a.keywords.join(", "),
        status: a.status.clone(),
        review_comment: a.review_comment.clone(),
        see_review: rights.see_review,
        can_download: rights.download,
        is_admin: who.is_admin(),
        crumbs,
        details,
        versions,
        available_from: date(a.available_from),
        available_until: date(a.available_until),
        can_contribute: a.status != "archived"
            && (who.is_admin() || access::folder_rights(db, who, &folder_of).await?.contribute),
        locked_by: a
            .checked_out_by
            .as_ref()
            .map(|u| names.get(u).cloned().unwrap_or_else(|| "someone".into()))
            .unwrap_or_default(),
        locked_since: a.checked_out_at.map(clock::human).unwrap_or_default(),
        locked_by_me: a.checked_out_by.as_deref() == Some(who.id.as_str()),
        pending_review: view.pending_review(),
        credit: a.credit.clone(),
        usage_terms: a.usage_terms.clone(),
        collections: if who.is_admin() {
            crate::collections::all(db).await?
        } else {
            Vec::new()
        },
        in_collections: if who.is_admin() {
            crate::collections::holding(db, &a.id).await?
        } else {
            Vec::new()
        },
        preview_note: match v.render_state.as_str() {
            "pending" => "preview being prepared",
            "failed" => "no preview: the file could not be read",
            _ => "no preview for this type",
        },
        move_targets: if who.is_admin() {
            folders::all(db, 2000).await?
        } else {
            Vec::new()
        },
        holders: if who.is_admin() {
            crate::receipts::query::holders(db, &a.id).await?
        } else {
            Vec::new()
        },
        recalls: if who.is_admin() {
            crate::recalls::query::of_asset(db, &a.id).await?
        } else {
            Vec::new()
        },
        download_until: match who.is_admin() {
            true => String::new(),
            false => crate::requests::grants::until(db, who, &a.id, now)
                .await?
                .map(clock::human)
                .unwrap_or_default(),
        },
        may_request: !who.is_admin() && !rights.download,
        request_pending: !who.is_admin()
            && !rights.download
            && crate::requests::list(
                db,
                crate::requests::Show::Pending,
                None,
                Some(&who.id),
                None,
                100,
            )
            .await?
            .iter()
            .any(|r| r.asset_ids.iter().any(|x| x == a.id.as_str())),
        personal: if who.is_admin() {
            crate::requests::grants::active(db, Some(&a.id), None, now).await?
        } else {
            Vec::new()
        },
    };
    Ok(render(&page)?.into_response())
}
