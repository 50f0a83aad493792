//! Applying receipt updates, inside the audit writer's transaction (`events::Recorder`), on
//! either database: the SQLite writer thread (rusqlite) or the sqlx writer (PostgreSQL).
//!
//! Every update is an upsert of the whole receipt, so updates may arrive in any order and on
//! any instance: a resume served by instance B before A's "opened" was committed creates the
//! row, and A's then only merges in. A new receipt is one `INSERT … ON CONFLICT DO NOTHING`;
//! an existing one is locked first (an `UPDATE` of the row, which PostgreSQL holds until the
//! commit and SQLite's single writer makes moot), then read, merged and written, so two
//! instances resuming the same download cannot lose each other's bytes.
use std::collections::HashMap;

use super::spans::Spans;
use super::Op;

/// Several updates of one receipt in one batch (the opening and the end of a short download,
/// almost always) become one.
pub fn coalesce<'a>(ops: impl Iterator<Item = &'a Op>) -> Vec<Op> {
    let mut out: Vec<Op> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for op in ops {
        match at.get(op.id.as_str()) {
            Some(&i) => {
                let o = &mut out[i];
                o.spans.union(&op.spans);
                o.ended |= op.ended;
                o.started_at = o.started_at.min(op.started_at);
                o.at = o.at.max(op.at);
            }
            None => {
                at.insert(&op.id, out.len());
                out.push(op.clone());
            }
        }
    }
    out
}

/// When a receipt with these bytes completes: at this update if it covers the object and a
/// response has ended (an opening alone never completes one, not even of an empty file).
fn completion(op: &Op, spans: &Spans) -> Option<i64> {
    (op.ended && spans.covers(op.meta.size)).then_some(op.at)
}

const INSERT: &str =
    "INSERT INTO receipts (id, asset_id, version_id, version_number, object, channel, \
     who_kind, user_id, link_id, email, ip, user_agent, size, sent, bytes_sent, started_at, \
     completed_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
     ON CONFLICT (id) DO NOTHING";
const LOCK: &str = "UPDATE receipts SET updated_at = $1 WHERE id = $2";
const READ: &str = "SELECT sent, completed_at FROM receipts WHERE id = $1";
const WRITE: &str = "UPDATE receipts SET sent = $1, bytes_sent = $2, \
     completed_at = COALESCE(completed_at, $3), \
     started_at = CASE WHEN started_at > $4 THEN $4 ELSE started_at END, updated_at = $5 \
     WHERE id = $6";

/// Applies `ops`; returns the receipts they completed (each once: a receipt completed before
/// is not again), with `at` the completion time.
pub fn apply_sqlite(tx: &rusqlite::Transaction<'_>, ops: &[Op]) -> rusqlite::Result<Vec<Op>> {
    let mut completed = Vec::new();
    let mut insert = tx.prepare_cached(INSERT)?;
    for op in ops {
        let m = &op.meta;
        let (who_kind, user_id, link_id, email) = m.who.columns();
        let inserted = insert.execute(rusqlite::params![
            op.id,
            m.asset_id,
            m.version_id,
            m.version_number,
            m.object,
            m.channel.as_str(),
            who_kind,
            user_id,
            link_id,
            email,
            m.ip,
            m.user_agent,
            m.size as i64,
            op.spans.to_text(),
            op.spans.len() as i64,
            op.started_at,
            completion(op, &op.spans),
            op.at,
        ])?;
        if inserted == 1 {
            if completion(op, &op.spans).is_some() {
                completed.push(op.clone());
            }
            continue;
        }
        if op.spans.is_empty() {
            continue;
        }
        let (sent, done): (String, Option<i64>) = tx
            .prepare_cached(READ)?
            .query_row(rusqlite::params![op.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let mut spans = Spans::parse(&sent);
        spans.union(&op.spans);
        if done.is_none() && completion(op, &spans).is_some() {
            completed.push(op.clone());
        }
        tx.prepare_cached(WRITE)?.execute(rusqlite::params![
            spans.to_text(),
            spans.len() as i64,
            completion(op, &spans),
            op.started_at,
            op.at,
            op.id
        ])?;
    }
    Ok(completed)
}

/// `apply_sqlite` through sqlx.
pub async fn apply_sqlx(
    conn: &mut sqlx::AnyConnection,
    ops: &[Op],
) -> Result<Vec<Op>, sqlx::Error> {
    use sqlx::Row;
    let mut completed = Vec::new();
    for op in ops {
        let m = &op.meta;
        let (who_kind, user_id, link_id, email) = m.who.columns();
        let inserted = sqlx::query(INSERT)
            .bind(&op.id)
            .bind(&m.asset_id)
            .bind(&m.version_id)
            .bind(m.version_number)
            .bind(m.object)
            .bind(m.channel.as_str())
            .bind(who_kind)
            .bind(user_id)
            .bind(link_id)
            .bind(email)
            .bind(&m.ip)
            .bind(&m.user_agent)
            .bind(m.size as i64)
            .bind(op.spans.to_text())
            .bind(op.spans.len() as i64)
            .bind(op.started_at)
            .bind(completion(op, &op.spans))
            .bind(op.at)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if inserted == 1 {
            if completion(op, &op.spans).is_some() {
                completed.push(op.clone());
            }
            continue;
        }
        if op.spans.is_empty() {
            continue;
        }
        sqlx::query(LOCK)
            .bind(op.at)
            .bind(&op.id)
            .execute(&mut *conn)
            .await?;
        let row = sqlx::query(READ).bind(&op.id).fetch_one(&mut *conn).await?;
        let mut spans = Spans::parse(&row.try_get::<String, _>("sent")?);
        spans.union(&op.spans);
        let done: Option<i64> = row.try_get("completed_at")?;
        if done.is_none() && completion(op, &spans).is_some() {
            completed.push(op.clone());
        }
        sqlx::query(WRITE)
            .bind(spans.to_text())
            .bind(spans.len() as i64)
            .bind(completion(op, &spans))
            .bind(op.started_at)
            .bind(op.at)
            .bind(&op.id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(completed)
}
