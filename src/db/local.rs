//! Hot reads on SQLite, run on the calling thread.
//!
//! sqlx talks to SQLite through one worker thread per connection, so every query is a round trip
//! between threads: on a 2-core machine that hand-off, not SQLite, was most of the cost of a
//! link page or a small download (about 50 µs of CPU per query, against a few µs for the query
//! itself). The few queries on those paths therefore run here, on a read-only connection owned
//! by the current thread, with the same SQL text as the sqlx path. They are short indexed reads
//! (microseconds), so running them on a runtime thread is cheaper than any hand-off.
//!
//! Freshness is unchanged: each statement is its own read transaction in WAL mode and sees every
//! commit made before it started, by any process. Writes never come here. On PostgreSQL, for an
//! in-memory database, or if this connection fails for any reason, callers use sqlx instead.
//!
//! The fence: a fallback from here to sqlx is never silent. It is logged as a warning and
//! counted (`assetport_db_local_read_fallbacks_total` in /metrics), and
//! `tests/local_reads.rs` runs every query that comes here through both paths and compares the
//! answers (and fails when a new caller of `read_optional` is not in its list).
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use rusqlite::{Connection, OpenFlags};

/// The SQLite file that local reads open, if the database is a SQLite file.
#[derive(Clone, Debug)]
pub struct LocalReads {
    path: Arc<PathBuf>,
    /// Reads that fell back to sqlx (shared by every clone).
    fallbacks: Counter,
}

thread_local! {
    /// One read-only connection per thread and database file (tests run many servers in one
    /// process, each with its own file).
    static CONNECTIONS: RefCell<HashMap<PathBuf, Connection>> = RefCell::new(HashMap::new());
}

impl LocalReads {
    pub fn new(path: &Path) -> LocalReads {
        LocalReads {
            path: Arc::new(path.to_path_buf()),
            fallbacks: Counter::default(),
        }
    }

    /// Runs `f` on this thread's connection; `None` if the connection cannot be opened or `f`
    /// fails, so that the caller falls back to sqlx (which reports errors properly). Every
    /// `None` is a fallback: logged as a warning and counted.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Option<T> {
        let outcome = CONNECTIONS.with(|cell| {
            let mut conns = cell.borrow_mut();
            if !conns.contains_key(self.path.as_path()) {
                let conn = open(&self.path)?;
                conns.insert(self.path.as_path().to_path_buf(), conn);
            }
            let Some(conn) = conns.get(self.path.as_path()) else {
                return Err(rusqlite::Error::InvalidPath(
                    self.path.as_path().to_path_buf(),
                ));
            };
            f(conn).inspect_err(|_| {
                // A connection in an odd state is not kept.
                conns.remove(self.path.as_path());
            })
        });
        match outcome {
            Ok(v) => Some(v),
            Err(e) => {
                self.fallbacks.inc();
                tracing::warn!(error = %e, "local SQLite read failed; answered through sqlx");
                None
            }
        }
    }

    /// How many reads fell back to sqlx.
    pub fn fallbacks(&self) -> Counter {
        self.fallbacks.clone()
    }
}

impl LocalReads {
    /// A read-write connection to the same file, for a writer that owns a thread of its own
    /// (the event log); same pragmas as the pool's connections.
    pub fn open_writer(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            self.path.as_path(),
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        )?;
        conn.busy_timeout(Duration::from_secs(15))?;
        Ok(conn)
    }
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Readers in WAL mode wait only in rare moments (recovery, a WAL restart); never long here,
    // the sqlx path is there for that.
    conn.busy_timeout(Duration::from_millis(20))?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// A query parameter that both drivers accept.
#[derive(Clone, Copy, Debug)]
pub enum Param<'a> {
    Text(&'a str),
    Int(i64),
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Param::Text(s) => s.to_sql(),
            Param::Int(i) => i.to_sql(),
        }
    }
}

impl super::Db {
    /// One row (or none) of a hot read: on this thread for a SQLite file, else through sqlx.
    pub async fn read_optional<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        map: impl Fn(&dyn Columns) -> Result<T, sqlx::Error>,
    ) -> Result<Option<T>, sqlx::Error> {
        let local = self.local.as_ref().and_then(|l| {
            l.read(|c| {
                let mut st = c.prepare_cached(sql)?;
                // `$N` are named parameters to SQLite, numbered in order of first appearance,
                // so they are bound by name (as sqlx does), not by position.
                for (i, p) in params.iter().enumerate() {
                    if let Some(index) = st.parameter_index(&format!("${}", i + 1))? {
                        st.raw_bind_parameter(index, p)?;
                    }
                }
                // Looked up once here: rusqlite finds a column by name by asking SQLite for
                // every column's name on each `get`, which for a 25-column row was most of
                // the mapping's cost.
                let names: Vec<String> =
                    st.column_names().into_iter().map(str::to_string).collect();
                let mut rows = st.raw_query();
                match rows.next()? {
                    Some(r) => {
                        let row = NamedRow {
                            row: r,
                            names: &names,
                        };
                        Ok(Some(map(&row).map_err(to_rusqlite)?))
                    }
                    None => Ok(None),
                }
            })
        });
        if let Some(found) = local {
            return Ok(found);
        }
        let mut q = sqlx::query(sql);
        for p in params {
            q = match *p {
                Param::Text(s) => q.bind(s),
                Param::Int(i) => q.bind(i),
            };
        }
        q.fetch_optional(&self.pool)
            .await?
            .map(|r| map(&r))
            .transpose()
    }
}

/// Reading columns by name from either driver's row, so each query maps its row once.
pub trait Columns {
    fn text(&self, col: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, col: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error>;
    /// A 0/1 integer column as a bool.
    fn flag(&self, col: &str) -> Result<bool, sqlx::Error> {
        Ok(self.int(col)? != 0)
    }
}

impl Columns for sqlx::any::AnyRow {
    fn text(&self, col: &str) -> Result<String, sqlx::Error> {
        sqlx::Row::try_get(self, col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::Row::try_get(self, col)
    }
    fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
        sqlx::Row::try_get(self, col)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::Row::try_get(self, col)
    }
}

fn decode(e: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, col: &str) -> Result<String, sqlx::Error> {
        self.get(col).map_err(decode)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
        self.get(col).map_err(decode)
    }
    fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
        self.get(col).map_err(decode)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
        self.get(col).map_err(decode)
    }
}

/// A rusqlite row with its statement's column names at hand.
struct NamedRow<'a, 'r> {
    row: &'a rusqlite::Row<'r>,
    names: &'a [String],
}

impl NamedRow<'_, '_> {
    fn index(&self, col: &str) -> Result<usize, sqlx::Error> {
        self.names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(col))
            .ok_or_else(|| decode(rusqlite::Error::InvalidColumnName(col.to_string())))
    }
}

impl Columns for NamedRow<'_, '_> {
    fn text(&self, col: &str) -> Result<String, sqlx::Error> {
        self.row.get(self.index(col)?).map_err(decode)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
        self.row.get(self.index(col)?).map_err(decode)
    }
    fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
        self.row.get(self.index(col)?).map_err(decode)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
        self.row.get(self.index(col)?).map_err(decode)
    }
}

/// Maps a mapping error back into rusqlite's, so it makes `read` fall back.
fn to_rusqlite(e: sqlx::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Null, Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    /// The same SQL gives the same answer through both drivers, including a `$2` that appears
    /// before `$1`, and a write through sqlx is visible to the very next local read.
    #[tokio::test]
    async fn local_reads_match_sqlx_and_see_every_commit() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.unwrap();
        assert!(db.local.is_some());
        sqlx::query("CREATE TABLE t (a TEXT NOT NULL, b BIGINT)")
            .execute(&db.pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t (a, b) VALUES ('x', 1), ('y', NULL)")
            .execute(&db.pool)
            .await
            .unwrap();
        let sql = "SELECT $2 AS second, a, b FROM t WHERE a = $1";
        let read = |db: Db, a: &'static str| async move {
            db.read_optional(sql, &[Param::Text(a), Param::Int(7)], |r| {
                Ok((r.int("second")?, r.text("a")?, r.opt_int("b")?))
            })
            .await
            .unwrap()
        };
        assert_eq!(read(db.clone(), "x").await, Some((7, "x".into(), Some(1))));
        assert_eq!(read(db.clone(), "y").await, Some((7, "y".into(), None)));
        assert_eq!(read(db.clone(), "z").await, None);
        sqlx::query("UPDATE t SET b = 2 WHERE a = 'x'")
            .execute(&db.pool)
            .await
            .unwrap();
        assert_eq!(read(db.clone(), "x").await, Some((7, "x".into(), Some(2))));
        // The sqlx path answers the same.
        assert_eq!(
            read(db.without_local_reads(), "x").await,
            Some((7, "x".into(), Some(2)))
        );
        assert_eq!(db.local_fallbacks().get(), 0, "no read fell back");
    }

    /// A local read that fails is answered by sqlx (here with the same error), and counted.
    #[tokio::test]
    async fn a_fallback_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.unwrap();
        let read = db
            .read_optional("SELECT a FROM no_such_table", &[], |r| r.text("a"))
            .await;
        assert!(read.is_err(), "sqlx reports the error");
        assert_eq!(
            db.local_fallbacks().get(),
            1,
            "the failed local read is counted"
        );
        assert_eq!(
            db.clone().local_fallbacks().get(),
            1,
            "clones share the count"
        );
    }
}
