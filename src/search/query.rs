//! One search: the parsed query, its filters, and the SQL both engines run for it.
//!
//! Syntax (hostile input is cut down, never an error): words match as prefixes (`sprin` finds
//! "spring"), all must match; `"two words"` must appear together in that order; `-word`
//! excludes. At most `MAX_TERMS` terms count.
use serde::Serialize;
use sqlx::Row;

use crate::access;
use crate::accounts::Account;
use crate::db::{Db, Dialect};
use crate::library::assets::{self, AssetView, COLS};

const MAX_TERMS: usize = 16;
pub const PER_PAGE: i64 = 48;
const MAX_PAGE: i64 = 500;
/// Totals are counted exactly up to here.
pub const TOTAL_CAP: i64 = 1000;
/// Facets are counted over at most this many results.
pub const FACET_SAMPLE: i64 = 5000;

/// A term: one or more words that must appear in this order (one word: a prefix).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub words: Vec<String>,
}

/// Parsed search text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub include: Vec<Term>,
    pub exclude: Vec<Term>,
}

pub fn parse(q: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut rest = q.trim();
    while !rest.is_empty() && out.include.len() + out.exclude.len() < MAX_TERMS {
        let negative = rest.starts_with('-');
        if negative {
            rest = &rest[1..];
        }
        let (chunk, after) = if let Some(inner) = rest.strip_prefix('"') {
            match inner.find('"') {
                Some(end) => (&inner[..end], &inner[end + 1..]),
                None => (inner, ""),
            }
        } else {
            match rest.find(char::is_whitespace) {
                Some(end) => (&rest[..end], &rest[end..]),
                None => (rest, ""),
            }
        };
        rest = after.trim_start();
        let words = super::normalize(chunk);
        if words.is_empty() {
            continue;
        }
        // A bare word with inner punctuation ("spring-2027") is a phrase of its parts, as the
        // document was cut the same way.
        let term = Term { words };
        if negative {
            out.exclude.push(term);
        } else {
            out.include.push(term);
        }
    }
    out
}

impl Parsed {
    /// The terms written back as search text that parses to them again: `a "b c" -d`.
    pub fn to_query(&self) -> String {
        let term = |t: &Term| {
            if t.words.len() == 1 {
                t.words[0].clone()
            } else {
                format!("\"{}\"", t.words.join(" "))
            }
        };
        self.include
            .iter()
            .map(term)
            .chain(self.exclude.iter().map(|t| format!("-{}", term(t))))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// FTS5 MATCH text: `"a"* AND "b" "c"*` style (words are letters and digits only, so
    /// quoting them is safe).
    fn fts5(terms: &[Term], joiner: &str) -> String {
        terms
            .iter()
            .map(|t| format!("\"{}\"*", t.words.join(" ")))
            .collect::<Vec<_>>()
            .join(joiner)
    }

    /// PostgreSQL to_tsquery text: `a:* & (b <-> c:*)`.
    fn tsquery(terms: &[Term], joiner: &str) -> String {
        terms
            .iter()
            .map(|t| {
                let n = t.words.len();
                let words: Vec<String> = t
                    .words
                    .iter()
                    .enumerate()
                    .map(|(i, w)| {
                        if i + 1 == n {
                            format!("{w}:*")
                        } else {
                            w.clone()
                        }
                    })
                    .collect();
                format!("({})", words.join(" <-> "))
            })
            .collect::<Vec<_>>()
            .join(joiner)
    }
}

/// Everything one search asks for. Unknown filter values match nothing rather than erroring.
#[derive(Clone, Debug, Default)]
pub struct Search {
    pub q: String,
    pub kind: Option<String>,
    pub orientation: Option<String>,
    pub folder_id: Option<String>,
    pub keyword: Option<String>,
    pub licence: Option<String>,
    pub status: Option<String>,
    pub year: Option<i64>,
    /// relevance (default with words) | newest (default without) | oldest | name | size
    pub sort: Option<String>,
    pub page: i64,
    pub facets: bool,
    /// Whether a query that finds nothing may be answered with its misspelt words corrected.
    pub autocorrect: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct Facets {
    #[serde(rename = "type")]
    pub kind: Vec<(String, i64)>,
    pub orientation: Vec<(String, i64)>,
    pub folder: Vec<(String, String, i64)>,
    pub keyword: Vec<(String, i64)>,
    pub licence: Vec<(String, i64)>,
    pub year: Vec<(i64, i64)>,
}

pub struct SearchResults {
    pub items: Vec<AssetView>,
    /// Exact, or `TOTAL_CAP` with `total_capped` when there are more.
    pub total: i64,
    pub total_capped: bool,
    pub page: i64,
    pub has_next: bool,
    pub facets: Option<Facets>,
    /// The query that answered when it was a correction of the one asked (`spelling`).
    pub corrected_query: Option<String>,
}

/// The coarse type of a version, as SQL (mirrors `library::card::kind_of`).
const KIND_SQL: &str = "CASE \
    WHEN v.media_type LIKE 'image/%' THEN 'image' \
    WHEN v.media_type LIKE 'video/%' THEN 'video' \
    WHEN v.media_type LIKE 'audio/%' THEN 'audio' \
    WHEN v.media_type IN ('application/pdf', 'application/postscript') THEN 'pdf' \
    WHEN v.media_type LIKE '%zip%' OR v.media_type LIKE '%compressed%' OR v.media_type LIKE '%tar%' THEN 'archive' \
    WHEN v.media_type LIKE 'text/%' OR v.media_type LIKE '%document%' OR v.media_type LIKE '%msword%' \
      OR v.media_type LIKE '%sheet%' OR v.media_type LIKE '%presentation%' THEN 'document' \
    ELSE 'file' END";

const ORIENTATION_SQL: &str = "CASE \
    WHEN v.width IS NULL OR v.height IS NULL THEN 'unknown' \
    WHEN v.width > v.height THEN 'landscape' \
    WHEN v.width < v.height THEN 'portrait' \
    ELSE 'square' END";

/// Licence state at $now, with "expiring" meaning within 30 days: a label and a filter over
/// the window's ends, not a visibility rule (members only ever get assets that passed
/// `access::published_clause`; "embargoed" and "expired" ones are found by admins only).
fn licence_sql(now: &str, soon: &str) -> String {
    format!(
        "CASE \
         WHEN a.available_from IS NOT NULL AND a.available_from > {now} THEN 'embargoed' \
         WHEN a.available_until IS NOT NULL AND a.available_until <= {now} THEN 'expired' \
         WHEN a.available_until IS NOT NULL AND a.available_until <= {soon} THEN 'expiring' \
         WHEN a.available_until IS NOT NULL OR a.available_from IS NOT NULL THEN 'licensed' \
         ELSE 'open' END"
    )
}

/// SQL text with its parameters, numbered as they are added.
#[derive(Default)]
struct Sql {
    params: Vec<Value>,
}

#[derive(Clone)]
enum Value {
    Text(String),
    Int(i64),
}

impl Sql {
    fn param(&mut self, v: Value) -> String {
        self.params.push(v);
        format!("${}", self.params.len())
    }

    fn query<'a>(
        &'a self,
        sql: &'a str,
    ) -> sqlx::query::Query<'a, sqlx::Any, sqlx::any::AnyArguments<'a>> {
        let mut q = sqlx::query(sql);
        for p in &self.params {
            q = match p {
                Value::Text(s) => q.bind(s.as_str()),
                Value::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

/// Runs `s` for `who` at `now`: who may see what, the words, the filters and the order become
/// one `FROM … WHERE … ORDER BY`, then a page of it, its total and (if asked) its facets.
/// When the words find nothing, a search with misspelt words corrected may answer instead
/// (`spelling`); `corrected_query` then says which.
pub async fn run(
    db: &Db,
    who: &Account,
    s: &Search,
    now: i64,
) -> Result<SearchResults, sqlx::Error> {
    if super::is_dirty(db).await? {
        super::refresh(db).await?;
    }
    let parsed = parse(&s.q);
    let found = run_parsed(db, who, s, &parsed, now).await?;
    if found.total > 0 || !s.autocorrect {
        return Ok(found);
    }
    // Only now, when the words found nothing: the normal path pays nothing for this.
    match super::spelling::correct(db, who, s, &parsed, now).await? {
        Some(fixed) => {
            let mut r = run_parsed(db, who, s, &fixed, now).await?;
            r.corrected_query = Some(fixed.to_query());
            Ok(r)
        }
        None => Ok(found),
    }
}

/// The SQL of one search, up to its ORDER BY: `base` (the tables), `where_` (permissions,
/// words excluded, filters), the words to match, and the licence expression for facets.
struct Plan {
    sql: Sql,
    base: String,
    where_: String,
    words: Words,
    licence: String,
}

/// `None` when `who` can see nothing at all.
async fn plan(
    db: &Db,
    who: &Account,
    s: &Search,
    parsed: &Parsed,
    now: i64,
) -> Result<Option<Plan>, sqlx::Error> {
    let mut sql = Sql::default();
    let now_p = sql.param(Value::Int(now));
    let soon_p = sql.param(Value::Int(now + 30 * 24 * 3600 * 1000));
    let licence = licence_sql(&now_p, &soon_p);
    let mut filters: Vec<String> = Vec::new();
    let Some(version) = scope(db, who, s, &mut sql, &now_p, &mut filters).await? else {
        return Ok(None);
    };
    let base = format!(
        "FROM assets a JOIN asset_versions v ON v.id = {version} JOIN folders f ON f.id = a.folder_id \
         LEFT JOIN asset_search s ON s.asset_id = a.id"
    );
    let words = Words::new(db.dialect, parsed, &mut sql, &mut filters);
    filter_clauses(s, &mut sql, &licence, &mut filters);
    let where_ = if filters.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", filters.join(" AND "))
    };
    Ok(Some(Plan {
        sql,
        base,
        where_,
        words,
        licence,
    }))
}

/// Whether `parsed` with `s`'s filters finds anything `who` may see: one `LIMIT 1` query,
/// without ranking (for trying corrections).
pub(super) async fn finds_any(
    db: &Db,
    who: &Account,
    s: &Search,
    parsed: &Parsed,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let Some(p) = plan(db, who, s, parsed, now).await? else {
        return Ok(false);
    };
    let text = format!(
        "SELECT a.id {}{}{} LIMIT 1",
        p.base,
        p.words.hits(None),
        p.where_
    );
    Ok(p.sql.query(&text).fetch_optional(&db.pool).await?.is_some())
}

/// One search of already parsed words.
async fn run_parsed(
    db: &Db,
    who: &Account,
    s: &Search,
    parsed: &Parsed,
    now: i64,
) -> Result<SearchResults, sqlx::Error> {
    let Some(Plan {
        sql,
        base,
        where_,
        words,
        licence,
    }) = plan(db, who, s, parsed, now).await?
    else {
        return Ok(SearchResults {
            items: Vec::new(),
            total: 0,
            total_capped: false,
            page: s.page.max(1),
            has_next: false,
            facets: s.facets.then(Facets::default),
            corrected_query: None,
        });
    };
    let order = order_by(s.sort.as_deref(), words.ranked());
    let page = s.page.clamp(1, MAX_PAGE);
    let (items, has_next) = fetch_page(db, &sql, &base, &where_, order, page, &words).await?;

    // Exact up to TOTAL_CAP; beyond it the answer says "at least" (counting every visible
    // match of a common word would cost more than the search itself).
    let from = format!("{base}{}", words.hits(None));
    let (total, total_capped) = if page == 1 && !has_next {
        (items.len() as i64, false)
    } else {
        let count_sql = format!(
            "SELECT COUNT(*) AS n FROM (SELECT a.id {from}{where_} LIMIT {}) c",
            TOTAL_CAP + 1
        );
        let n: i64 = sql
            .query(&count_sql)
            .fetch_one(&db.pool)
            .await?
            .try_get("n")?;
        (n.min(TOTAL_CAP), n > TOTAL_CAP)
    };

    let facets = if s.facets {
        Some(facets(db, &sql, &base, &format!("{from}{where_}"), &licence).await?)
    } else {
        None
    };
    Ok(SearchResults {
        items,
        total,
        total_capped,
        page,
        has_next,
        facets,
        corrected_query: None,
    })
}

/// Which version the caller sees, and which assets (as `filters`): admins every asset at its
/// current version (optionally one status); members the published version of what their
/// grants cover (`access`). `None` when a member can see nothing at all.
async fn scope(
    db: &Db,
    who: &Account,
    s: &Search,
    sql: &mut Sql,
    now_p: &str,
    filters: &mut Vec<String>,
) -> Result<Option<String>, sqlx::Error> {
    if who.is_admin() {
        if let Some(st) = &s.status {
            let p = sql.param(Value::Text(st.clone()));
            filters.push(format!("a.status = {p}"));
        }
        return Ok(Some("a.current_version_id".to_string()));
    }
    // No early return for a member without view grants: personal download grants
    // (`requests::grants`) may still put single assets in scope, and the clause below reads
    // them in the search's own statement rather than in a query of its own.
    let paths = access::view_paths(db, who).await?;
    let patterns: Vec<String> = paths
        .iter()
        .map(|p| sql.param(Value::Text(access::subtree_pattern(p))))
        .collect();
    let user = sql.param(Value::Text(who.id.to_string()));
    filters.push(format!(
        "{} AND ({} OR {})",
        access::published_clause("a", now_p),
        access::subtrees_clause("f", &patterns),
        crate::requests::grants::active_clause("a", &user, now_p),
    ));
    Ok(Some(access::published_version("a")))
}

/// The words of a query as the engine's full-text match (SQLite FTS5 or PostgreSQL tsquery).
struct Words {
    dialect: Dialect,
    /// The match expression, for counting all matches.
    text: Option<String>,
    /// Its parameter.
    param: Option<String>,
}

impl Words {
    /// Adds the `-excluded` words to `filters` as a NOT IN.
    fn new(dialect: Dialect, parsed: &Parsed, sql: &mut Sql, filters: &mut Vec<String>) -> Words {
        let text = (!parsed.include.is_empty()).then(|| match dialect {
            Dialect::Sqlite => Parsed::fts5(&parsed.include, " AND "),
            Dialect::Postgres => Parsed::tsquery(&parsed.include, " & "),
        });
        let param = text.clone().map(|w| sql.param(Value::Text(w)));
        if !parsed.exclude.is_empty() {
            filters.push(match dialect {
                Dialect::Sqlite => {
                    let p = sql.param(Value::Text(Parsed::fts5(&parsed.exclude, " OR ")));
                    format!(
                        "a.id NOT IN (SELECT ss.asset_id FROM asset_fts JOIN asset_search ss \
                         ON ss.rid = asset_fts.rowid WHERE asset_fts MATCH {p})"
                    )
                }
                Dialect::Postgres => {
                    let p = sql.param(Value::Text(Parsed::tsquery(&parsed.exclude, " | ")));
                    format!(
                        "a.id NOT IN (SELECT ss.asset_id FROM asset_search ss \
                         WHERE ss.tsv @@ to_tsquery('simple', {p}))"
                    )
                }
            });
        }
        Words {
            dialect,
            text,
            param,
        }
    }

    /// Whether there are words to rank by.
    fn ranked(&self) -> bool {
        self.param.is_some()
    }

    /// The matching assets as a join, with their score (lower is better); `top` keeps only the
    /// best `top` matches, which each engine finds without scoring into a full sort.
    fn hits(&self, top: Option<i64>) -> String {
        let Some(p) = &self.param else {
            return String::new();
        };
        match (self.dialect, top) {
            (Dialect::Sqlite, Some(k)) => format!(
                " JOIN (SELECT ss.asset_id AS hit_id, t.score FROM (SELECT rowid AS rid, rank AS score \
                 FROM asset_fts WHERE asset_fts MATCH {p} ORDER BY rank LIMIT {k}) t \
                 JOIN asset_search ss ON ss.rid = t.rid) m ON m.hit_id = a.id"
            ),
            // Unranked (other sorts, counts, facets): no score, so SQLite can flatten the
            // join and stop early instead of scoring every match first.
            (Dialect::Sqlite, None) => format!(
                " JOIN (SELECT ss.asset_id AS hit_id FROM asset_fts \
                 JOIN asset_search ss ON ss.rid = asset_fts.rowid WHERE asset_fts MATCH {p}) m \
                 ON m.hit_id = a.id"
            ),
            (Dialect::Postgres, Some(k)) => format!(
                " JOIN (SELECT ss.asset_id AS hit_id, -ts_rank(ss.tsv, tq) AS score \
                 FROM asset_search ss, to_tsquery('simple', {p}) tq WHERE ss.tsv @@ tq \
                 ORDER BY ts_rank(ss.tsv, tq) DESC LIMIT {k}) m ON m.hit_id = a.id"
            ),
            (Dialect::Postgres, None) => format!(
                " JOIN (SELECT ss.asset_id AS hit_id FROM asset_search ss \
                 WHERE ss.tsv @@ to_tsquery('simple', {p})) m ON m.hit_id = a.id"
            ),
        }
    }
}

/// The search's filters (kind, orientation, folder, keyword, licence, year) as clauses.
fn filter_clauses(s: &Search, sql: &mut Sql, licence: &str, filters: &mut Vec<String>) {
    if let Some(k) = &s.kind {
        let p = sql.param(Value::Text(k.clone()));
        filters.push(format!("({KIND_SQL}) = {p}"));
    }
    if let Some(o) = &s.orientation {
        let p = sql.param(Value::Text(o.clone()));
        filters.push(format!("({ORIENTATION_SQL}) = {p}"));
    }
    if let Some(fid) = &s.folder_id {
        // The folder and everything below it.
        let p = sql.param(Value::Text(format!("%/{fid}/%")));
        filters.push(format!("f.id_path LIKE {p}"));
    }
    if let Some(k) = &s.keyword {
        let p = sql.param(Value::Text(super::normalize_keyword(k)));
        filters.push(format!(
            "EXISTS (SELECT 1 FROM asset_keywords kw WHERE kw.asset_id = a.id AND kw.keyword = {p})"
        ));
    }
    if let Some(l) = &s.licence {
        let p = sql.param(Value::Text(l.clone()));
        filters.push(format!("({licence}) = {p}"));
    }
    if let Some(y) = s.year {
        let p = sql.param(Value::Int(y));
        filters.push(format!("s.year = {p}"));
    }
}

/// The ORDER BY for a sort; relevance (`m.score`) only where there are words to rank by.
fn order_by(sort: Option<&str>, ranked: bool) -> &'static str {
    match (sort, ranked) {
        (Some("newest"), _) | (None, false) | (Some("relevance"), false) => {
            "a.created_at DESC, a.id DESC"
        }
        (Some("oldest"), _) => "a.created_at, a.id",
        // By what the cards show: the title, or the file name where there is none.
        (Some("name"), _) => "lower(CASE WHEN a.title = '' THEN a.filename ELSE a.title END), a.id",
        (Some("size"), _) => "v.size DESC, a.id",
        (_, true) => "m.score, a.id",
        _ => "a.created_at DESC, a.id DESC",
    }
}

/// One page of results (and whether there is a next one).
async fn fetch_page(
    db: &Db,
    sql: &Sql,
    base: &str,
    where_: &str,
    order: &str,
    page: i64,
    words: &Words,
) -> Result<(Vec<AssetView>, bool), sqlx::Error> {
    let offset = (page - 1) * PER_PAGE;
    let list = |from: &str| {
        format!(
            "SELECT {COLS} {from}{where_} ORDER BY {order} LIMIT {} OFFSET {offset}",
            PER_PAGE + 1
        )
    };
    let mut items = if order.starts_with("m.score") {
        // Best matches first: rank only the top `k` in the engine, filter those by permission
        // and filters, and widen `k` only when too few of them are visible.
        let need = offset + PER_PAGE + 1;
        let mut k = (need * 4).max(256);
        let mut all_matches: Option<i64> = None;
        loop {
            let sql_text = list(&format!("{base}{}", words.hits(Some(k))));
            let items = assets::fetch_views(db, sql.query(&sql_text)).await?;
            if items.len() as i64 > PER_PAGE {
                break items;
            }
            let n = match all_matches {
                Some(n) => n,
                None => {
                    let n = count_matches(db, words.text.as_deref().unwrap_or("")).await?;
                    all_matches = Some(n);
                    n
                }
            };
            if n <= k {
                break items;
            }
            k = (k * 8).min(n);
        }
    } else {
        let sql_text = list(&format!("{base}{}", words.hits(None)));
        assets::fetch_views(db, sql.query(&sql_text)).await?
    };
    let has_next = items.len() as i64 > PER_PAGE;
    items.truncate(PER_PAGE as usize);
    Ok((items, has_next))
}

/// Facet counts over the first `FACET_SAMPLE` results (`matching` is their FROM…WHERE).
async fn facets(
    db: &Db,
    sql: &Sql,
    base: &str,
    matching: &str,
    licence: &str,
) -> Result<Facets, sqlx::Error> {
    let subset = format!("a.id IN (SELECT a.id {matching} LIMIT {FACET_SAMPLE})");
    let from = base;
    let where_ = format!(" WHERE {subset}");
    let group = |expr: &str, limit: i64| {
        format!(
            "SELECT {expr} AS k, COUNT(*) AS n {from}{where_} GROUP BY {expr} \
             ORDER BY COUNT(*) DESC, {expr} LIMIT {limit}"
        )
    };
    let pairs = |rows: Vec<sqlx::any::AnyRow>| -> Result<Vec<(String, i64)>, sqlx::Error> {
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<Option<String>, _>("k")?.unwrap_or_default(),
                    r.try_get("n")?,
                ))
            })
            .collect()
    };
    let kind = pairs(sql.query(&group(KIND_SQL, 20)).fetch_all(&db.pool).await?)?;
    let orientation = pairs(
        sql.query(&group(ORIENTATION_SQL, 10))
            .fetch_all(&db.pool)
            .await?,
    )?;
    let licence = pairs(sql.query(&group(licence, 10)).fetch_all(&db.pool).await?)?;
    let years_sql = format!(
        "SELECT s.year AS y, COUNT(*) AS n {from}{where_} GROUP BY s.year ORDER BY s.year DESC LIMIT 20"
    );
    let year = sql
        .query(&years_sql)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .filter_map(|r| {
            let y: Option<i64> = r.try_get("y").ok()?;
            Some(Ok((y?, r.try_get("n").ok()?)))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let folders_sql = format!(
        "SELECT f.id AS id, f.path AS path, COUNT(*) AS n {from}{where_} GROUP BY f.id, f.path \
         ORDER BY COUNT(*) DESC, f.path LIMIT 15"
    );
    let folder = sql
        .query(&folders_sql)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("path")?, r.try_get("n")?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let keywords_sql = format!(
        "SELECT kw.keyword AS k, COUNT(*) AS n FROM asset_keywords kw WHERE kw.asset_id IN \
         (SELECT a.id {matching} LIMIT {FACET_SAMPLE}) GROUP BY kw.keyword \
         ORDER BY COUNT(*) DESC, kw.keyword LIMIT 20"
    );
    let keyword = pairs(sql.query(&keywords_sql).fetch_all(&db.pool).await?)?;
    Ok(Facets {
        kind,
        orientation,
        folder,
        keyword,
        licence,
        year,
    })
}

/// How many assets match `words` at all (before permissions and filters).
async fn count_matches(db: &Db, words: &str) -> Result<i64, sqlx::Error> {
    let sql = match db.dialect {
        Dialect::Sqlite => "SELECT COUNT(*) AS n FROM asset_fts WHERE asset_fts MATCH $1",
        Dialect::Postgres => {
            "SELECT COUNT(*) AS n FROM asset_search WHERE tsv @@ to_tsquery('simple', $1)"
        }
    };
    sqlx::query(sql)
        .bind(words)
        .fetch_one(&db.pool)
        .await?
        .try_get("n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(t: &[&str]) -> Term {
        Term {
            words: t.iter().map(|w| w.to_string()).collect(),
        }
    }

    #[test]
    fn parses_words_phrases_and_exclusions() {
        let p = parse(r#"Spring "Summer Sale" -draft  café-2027 "unclosed"#);
        assert_eq!(
            p.include,
            vec![
                words(&["spring"]),
                words(&["summer", "sale"]),
                words(&["cafe", "2027"]),
                words(&["unclosed"])
            ]
        );
        assert_eq!(p.exclude, vec![words(&["draft"])]);
        assert_eq!(
            Parsed::fts5(&p.include[..2], " AND "),
            r#""spring"* AND "summer sale"*"#
        );
        assert_eq!(
            Parsed::tsquery(&p.include[..2], " & "),
            "(spring:*) & (summer <-> sale:*)"
        );
    }

    #[test]
    fn parsed_terms_write_back_as_the_same_query() {
        for q in [
            r#"Spring "Summer Sale" -draft  café-2027 "unclosed"#,
            r#"-"two words" one"#,
            "",
        ] {
            let p = parse(q);
            assert_eq!(parse(&p.to_query()), p, "{q}");
        }
        assert_eq!(
            parse(r#"Spring "Summer Sale" -draft café-2027"#).to_query(),
            r#"spring "summer sale" "cafe 2027" -draft"#
        );
    }

    #[test]
    fn hostile_input_is_cut_down_not_an_error() {
        assert_eq!(parse(r#"" * : ( ) & | ! <-> ^ ~"#), Parsed::default());
        // Operator names are just words.
        assert_eq!(parse("NEAR(").include, vec![words(&["near"])]);
        assert_eq!(parse(&"a ".repeat(1000)).include.len(), MAX_TERMS);
        assert_eq!(parse("-").include.len(), 0);
        let p = parse("x'); DROP TABLE assets; --");
        assert!(p
            .include
            .iter()
            .flat_map(|t| &t.words)
            .all(|w| w.chars().all(char::is_alphanumeric)));
    }
}
