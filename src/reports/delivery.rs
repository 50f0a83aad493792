//! Delivery reports from receipts (issue 18): downloads started and downloads completed —
//! every byte received — by asset, person, group and share link, for receipts started in the
//! range. A ZIP counts once per file in it.
use sqlx::Row;

use super::Range;
use crate::db::Db;
use crate::error::AppError;

/// One ranked line: downloads started in the range and how many of them were completed.
#[derive(Clone, Debug)]
pub struct Delivered {
    pub id: String,
    pub label: String,
    pub detail: String,
    pub started: i64,
    pub completed: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum By {
    Asset,
    Person,
    Group,
    Link,
}

impl By {
    pub const ALL: [By; 4] = [By::Asset, By::Person, By::Group, By::Link];

    /// The CSV's name, `/admin/reports/<name>.csv`.
    pub fn table(self) -> &'static str {
        match self {
            By::Asset => "delivery-assets",
            By::Person => "delivery-people",
            By::Group => "delivery-groups",
            By::Link => "delivery-links",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            By::Asset => "By asset",
            By::Person => "By person or recipient",
            By::Group => "By group",
            By::Link => "By share link",
        }
    }

    pub fn column(self) -> &'static str {
        match self {
            By::Asset => "Asset",
            By::Person => "Person",
            By::Group => "Group",
            By::Link => "Link",
        }
    }

    /// Where a row's id leads, if anywhere.
    pub fn link_prefix(self) -> &'static str {
        match self {
            By::Asset => "/assets/",
            By::Person => "/admin/users/",
            By::Group => "/admin/groups/",
            By::Link => "/admin/links/",
        }
    }

    pub fn parse(table: &str) -> Option<By> {
        By::ALL.into_iter().find(|b| b.table() == table)
    }

    /// The CSV's header: label, detail, started, completed, id.
    pub fn header(self) -> [&'static str; 5] {
        match self {
            By::Asset => ["asset", "folder", "started", "completed", "asset_id"],
            By::Person => ["name", "email", "started", "completed", "user_id"],
            By::Group => ["group", "", "started", "completed", "group_id"],
            By::Link => ["link", "recipient", "started", "completed", "link_id"],
        }
    }

    fn sql(self) -> &'static str {
        match self {
            By::Asset => {
                "SELECT r.asset_id AS id, COALESCE(NULLIF(a.title, ''), a.filename) AS label, \
                 f.path AS detail, COUNT(*) AS n, COUNT(r.completed_at) AS done FROM receipts r \
                 JOIN assets a ON a.id = r.asset_id JOIN folders f ON f.id = a.folder_id \
                 WHERE r.started_at >= $1 AND r.started_at < $2 \
                 GROUP BY r.asset_id, a.title, a.filename, f.path ORDER BY done DESC, n DESC, label"
            }
            // Members by account; link recipients by the address they were known by.
            By::Person => {
                "SELECT COALESCE(r.user_id, '') AS id, COALESCE(u.name, '') AS label, \
                 r.email AS detail, COUNT(*) AS n, COUNT(r.completed_at) AS done FROM receipts r \
                 LEFT JOIN users u ON u.id = r.user_id \
                 WHERE r.email IS NOT NULL AND r.started_at >= $1 AND r.started_at < $2 \
                 GROUP BY r.user_id, u.name, r.email ORDER BY done DESC, n DESC, detail"
            }
            By::Group => {
                "SELECT g.id AS id, g.name AS label, '' AS detail, COUNT(*) AS n, \
                 COUNT(r.completed_at) AS done FROM receipts r \
                 JOIN group_members gm ON gm.user_id = r.user_id \
                 JOIN user_groups g ON g.id = gm.group_id \
                 WHERE r.started_at >= $1 AND r.started_at < $2 \
                 GROUP BY g.id, g.name ORDER BY done DESC, n DESC, label"
            }
            By::Link => {
                "SELECT l.id AS id, COALESCE(NULLIF(l.title, ''), 'Untitled link') AS label, \
                 COALESCE(l.recipient, '') AS detail, COUNT(*) AS n, \
                 COUNT(r.completed_at) AS done FROM receipts r JOIN links l ON l.id = r.link_id \
                 WHERE r.started_at >= $1 AND r.started_at < $2 \
                 GROUP BY l.id, l.title, l.recipient ORDER BY done DESC, n DESC, label"
            }
        }
    }
}

pub async fn delivered(db: &Db, by: By, r: Range) -> Result<Vec<Delivered>, AppError> {
    let rows = sqlx::query(by.sql())
        .bind(r.from)
        .bind(r.to)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Delivered {
                id: row.try_get::<Option<String>, _>("id")?.unwrap_or_default(),
                label: row
                    .try_get::<Option<String>, _>("label")?
                    .unwrap_or_default(),
                detail: row
                    .try_get::<Option<String>, _>("detail")?
                    .unwrap_or_default(),
                started: row.try_get("n")?,
                completed: row.try_get("done")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}
