//! `/admin/reports`: the tables and the chart for a date range, and each table as CSV
//! (`/admin/reports/{table}.csv` with the same range).
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::csv::Csv;
use super::delivery::{By, Delivered};
use super::{chart, LinkActivity, Range, Row2, Submissions, PAGE_ROWS};
use crate::accounts::PageAdmin;
use crate::app::AppState;
use crate::error::{AppError, PageResult};
use crate::web::layout::{render, Layout};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/reports", get(reports_page))
        .route("/admin/reports/{file}", get(csv_file))
}

#[derive(Deserialize)]
struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

/// Rounded hours, or a dash.
fn hours(h: &Option<f64>) -> String {
    match h {
        Some(h) if *h < 10.0 => format!("{h:.1}"),
        Some(h) => format!("{h:.0}"),
        None => "—".into(),
    }
}

#[derive(Template)]
#[template(path = "admin/reports.html")]
struct ReportsPage {
    layout: Layout,
    from: String,
    to: String,
    query: String,
    error: Option<String>,
    total: i64,
    chart: String,
    per_day: Vec<(String, i64)>,
    assets: Vec<Row2>,
    people: Vec<Row2>,
    groups: Vec<Row2>,
    areas: Vec<Row2>,
    links: Vec<LinkActivity>,
    submissions: Vec<Submissions>,
    logins: (i64, i64),
    login_days: Vec<(String, i64, i64)>,
    more: Vec<(&'static str, usize)>,
    /// Receipts: started and completed, by asset, person, group and link.
    delivered: Vec<(By, Vec<Delivered>)>,
    /// Recalls opened in the range, with their counts.
    recalls: Vec<crate::recalls::query::RecallRow>,
}

impl ReportsPage {
    fn hours(&self, h: &Option<f64>) -> String {
        hours(h)
    }

    /// How many rows a ranked table has in all, when the page shows only the top ones.
    fn more_of(&self, table: &str) -> Option<usize> {
        self.more.iter().find(|(t, _)| *t == table).map(|(_, n)| *n)
    }
}

async fn reports_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Query(q): Query<RangeQuery>,
) -> PageResult<Response> {
    let now = state.clock.now_ms();
    let (range, error) = match Range::parse(q.from.as_deref(), q.to.as_deref(), now) {
        Ok(r) => (r, None),
        Err(e) => (Range::last_30_days(now), Some(e.to_string())),
    };
    let db = &state.db;
    let per_day = super::downloads_per_day(db, range).await?;
    let total = per_day.iter().map(|(_, n)| n).sum();
    let chart = chart::bars("Downloads per day", "downloads", &per_day);
    let mut more = Vec::new();
    let mut top = |name: &'static str, mut rows: Vec<Row2>| {
        if rows.len() > PAGE_ROWS {
            more.push((name, rows.len()));
            rows.truncate(PAGE_ROWS);
        }
        rows
    };
    let assets = top("assets", super::by_asset(db, range).await?);
    let people = top("people", super::by_person(db, range).await?);
    let groups = top("groups", super::by_group(db, range).await?);
    let areas = top("areas", super::by_area(db, range).await?);
    let links = super::by_link(db, range).await?;
    let submissions = super::submissions(db, range).await?;
    let login_days = super::logins_per_day(db, range).await?;
    let mut delivered = Vec::new();
    for by in By::ALL {
        let mut rows = super::delivery::delivered(db, by, range).await?;
        if rows.len() > PAGE_ROWS {
            more.push((by.table(), rows.len()));
            rows.truncate(PAGE_ROWS);
        }
        delivered.push((by, rows));
    }
    let logins = login_days
        .iter()
        .fold((0, 0), |(a, b), (_, ok, failed)| (a + ok, b + failed));
    let page = ReportsPage {
        layout: Layout::for_user("Reports", &me, "reports"),
        from: range.from_date(),
        to: range.to_date(),
        query: format!("from={}&to={}", range.from_date(), range.to_date()),
        error,
        total,
        chart,
        per_day,
        assets,
        people,
        groups,
        areas,
        links,
        submissions,
        logins,
        login_days: login_days
            .into_iter()
            .filter(|(_, ok, failed)| ok + failed > 0)
            .collect(),
        more,
        delivered,
        recalls: crate::recalls::query::between(db, range.from, range.to).await?,
    };
    Ok(render(&page)?.into_response())
}

/// The tables a CSV can be had of, as `/admin/reports/<name>.csv`.
pub const TABLES: [&str; 13] = [
    "recalls",
    "delivery-assets",
    "delivery-people",
    "delivery-groups",
    "delivery-links",
    "downloads-per-day",
    "assets",
    "people",
    "groups",
    "areas",
    "links",
    "submissions",
    "logins",
];

async fn csv_file(
    State(state): State<AppState>,
    PageAdmin(_me): PageAdmin,
    Path(file): Path<String>,
    Query(q): Query<RangeQuery>,
) -> PageResult<Response> {
    let name = file
        .strip_suffix(".csv")
        .filter(|n| TABLES.contains(n))
        .ok_or(AppError::NotFound)?;
    let range = Range::parse(q.from.as_deref(), q.to.as_deref(), state.clock.now_ms())?;
    let db = &state.db;
    let ranked = |header: [&'static str; 4], rows: Vec<Row2>| {
        let mut csv = Csv::new(&header);
        for r in rows {
            csv.row(&[r.label, r.detail, r.count.to_string(), r.id]);
        }
        csv
    };
    let csv = match name {
        name if By::parse(name).is_some() => {
            let by = By::parse(name).ok_or(AppError::NotFound)?;
            let mut csv = Csv::new(&by.header());
            for r in super::delivery::delivered(db, by, range).await? {
                csv.row(&[
                    r.label,
                    r.detail,
                    r.started.to_string(),
                    r.completed.to_string(),
                    r.id,
                ]);
            }
            csv
        }
        "recalls" => {
            let mut csv = Csv::new(&[
                "asset",
                "reason",
                "mode",
                "opened",
                "notices",
                "notified",
                "acknowledged",
                "outstanding",
                "anonymous",
                "asset_id",
                "recall_id",
            ]);
            for r in crate::recalls::query::between(db, range.from, range.to).await? {
                csv.row(&[
                    r.asset.clone(),
                    r.reason.clone(),
                    r.mode.clone(),
                    crate::clock::rfc3339(r.created_at),
                    r.notices.to_string(),
                    r.notified.to_string(),
                    r.acknowledged.to_string(),
                    r.outstanding().to_string(),
                    r.anonymous.to_string(),
                    r.asset_id.clone(),
                    r.id.clone(),
                ]);
            }
            csv
        }
        "downloads-per-day" => {
            let mut csv = Csv::new(&["date", "downloads"]);
            for (day, n) in super::downloads_per_day(db, range).await? {
                csv.row(&[day, n.to_string()]);
            }
            csv
        }
        "assets" => ranked(
            ["asset", "folder", "downloads", "asset_id"],
            super::by_asset(db, range).await?,
        ),
        "people" => ranked(
            ["name", "email", "downloads", "user_id"],
            super::by_person(db, range).await?,
        ),
        "groups" => ranked(
            ["group", "", "downloads", "group_id"],
            super::by_group(db, range).await?,
        ),
        "areas" => ranked(
            ["area", "", "downloads", "path"],
            super::by_area(db, range).await?,
        ),
        "links" => {
            let mut csv = Csv::new(&["link", "state", "views", "downloads", "link_id"]);
            for l in super::by_link(db, range).await? {
                csv.row(&[
                    l.title,
                    l.state,
                    l.views.to_string(),
                    l.downloads.to_string(),
                    l.id,
                ]);
            }
            csv
        }
        "submissions" => {
            let mut csv = Csv::new(&[
                "name",
                "email",
                "submitted",
                "approved",
                "rejected",
                "waiting",
                "median_review_hours",
            ]);
            for s in super::submissions(db, range).await? {
                csv.row(&[
                    s.name,
                    s.email,
                    s.submitted.to_string(),
                    s.approved.to_string(),
                    s.rejected.to_string(),
                    s.waiting.to_string(),
                    s.median_review_hours
                        .map(|h| format!("{h:.2}"))
                        .unwrap_or_default(),
                ]);
            }
            csv
        }
        _ => {
            let mut csv = Csv::new(&["date", "sign_ins", "failed_sign_ins"]);
            for (day, ok, failed) in super::logins_per_day(db, range).await? {
                csv.row(&[day, ok.to_string(), failed.to_string()]);
            }
            csv
        }
    };
    let filename = format!(
        "assetport-{name}-{}-to-{}.csv",
        range.from_date(),
        range.to_date()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        csv.into_string(),
    )
        .into_response())
}
