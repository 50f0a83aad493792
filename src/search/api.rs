//! `GET /api/v1/search` (SPEC §3): visible assets matching words and filters, a page at a time.
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::query::{self, Search};
use crate::accounts::ApiUser;
use crate::app::AppState;
use crate::error::{ApiResult, AppError};

pub fn routes() -> Router<AppState> {
    Router::new().route("/search", get(search))
}

/// The query string of both the API and the search page.
#[derive(Deserialize, Default, Clone)]
pub struct Params {
    #[serde(default)]
    pub q: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub orientation: Option<String>,
    pub folder_id: Option<String>,
    pub keyword: Option<String>,
    pub licence: Option<String>,
    pub status: Option<String>,
    pub year: Option<String>,
    pub sort: Option<String>,
    pub page: Option<String>,
    pub facets: Option<String>,
    /// `0`/`false`: answer the words as typed, even when they find nothing.
    pub autocorrect: Option<String>,
}

impl Params {
    /// Checks lengths and numbers; empty values mean "no filter".
    pub fn to_search(&self, facets: bool) -> Result<Search, AppError> {
        if self.q.chars().count() > 500 {
            return Err(AppError::BadRequest(
                "search text is limited to 500 characters".into(),
            ));
        }
        let opt = |v: &Option<String>| -> Result<Option<String>, AppError> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(s) if s.chars().count() > 200 => {
                    Err(AppError::BadRequest("a filter value is too long".into()))
                }
                Some(s) => Ok(Some(s.to_string())),
            }
        };
        let number = |v: &Option<String>, what: &str| -> Result<Option<i64>, AppError> {
            opt(v)?
                .map(|s| {
                    s.parse::<i64>()
                        .map_err(|_| AppError::BadRequest(format!("{what} must be a number")))
                })
                .transpose()
        };
        let sort = opt(&self.sort)?;
        if let Some(s) = &sort {
            if !["relevance", "newest", "oldest", "name", "size"].contains(&s.as_str()) {
                return Err(AppError::BadRequest(
                    "sort is one of relevance, newest, oldest, name, size".into(),
                ));
            }
        }
        let page = number(&self.page, "page")?.unwrap_or(1);
        if page < 1 {
            return Err(AppError::BadRequest("page starts at 1".into()));
        }
        Ok(Search {
            q: self.q.clone(),
            kind: opt(&self.kind)?,
            orientation: opt(&self.orientation)?,
            folder_id: opt(&self.folder_id)?,
            keyword: opt(&self.keyword)?,
            licence: opt(&self.licence)?,
            status: opt(&self.status)?,
            year: number(&self.year, "year")?,
            sort,
            page,
            facets: facets || matches!(self.facets.as_deref(), Some("1" | "true")),
            autocorrect: !matches!(self.autocorrect.as_deref(), Some("0" | "false")),
        })
    }
}

async fn search(
    State(state): State<AppState>,
    ApiUser(who): ApiUser,
    Query(params): Query<Params>,
) -> ApiResult<Json<Value>> {
    let s = params.to_search(false)?;
    let r = query::run(&state.db, &who, &s, state.clock.now_ms()).await?;
    let items: Vec<Value> = r
        .items
        .iter()
        .map(|v| {
            let own = v.asset.submitted_by.as_deref() == Some(who.id.as_str());
            v.to_json(who.is_admin() || own)
        })
        .collect();
    let mut body = json!({
        "items": items,
        "next": if r.has_next { Some(r.page + 1) } else { None },
        "page": r.page,
        "total": r.total,
        // More than `total` match: totals are exact up to 1,000.
        "total_capped": r.total_capped,
        // The words found nothing and these, with misspelt words corrected, found `items`.
        "corrected_query": r.corrected_query,
    });
    if let Some(f) = r.facets {
        body["facets"] = serde_json::to_value(f).unwrap_or(Value::Null);
    }
    Ok(Json(body))
}
