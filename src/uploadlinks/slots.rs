//! Delivery slots (issue 19 part 4): the lines of an upload link's brief ("Hero banner
//! 3000 px", 1 to 5 JPEG or PNG files at least 3000 px wide, a title each). A link without slots
//! takes any file, as before.
//!
//! - **One check** (`Slot::check_head`, `Slot::check_size`) for every way a file arrives: a
//!   multipart upload checks the first bytes before storing any (`library::upload`), a tus
//!   upload checks its first PATCH's bytes and again the joined file (`uploadlinks::tus`). The
//!   type is what the bytes are (`media::probe`), never the name or the declared type; the
//!   pixel size is the header's.
//! - **Counting is reserved** (`reserve`): one conditional `UPDATE … files < max_files` takes
//!   the file's place before a byte is stored, so parallel senders cannot overfill a slot; a
//!   refused or failed upload gives the place back (`SlotTicket::release`, or on drop).
//!   "3 of 5 delivered" counts stored files (`assets.upload_slot_id`), not places in flight.
use serde::Deserialize;
use sqlx::Row;

use crate::db::Db;
use crate::error::AppError;
use crate::media::probe::Probe;
use crate::web::format::human_size;

/// Most slots one link may have.
pub const MAX_SLOTS: usize = 50;
/// Most files one slot may take.
pub const MAX_FILES: i64 = 1000;

/// Media types a slot may accept: what `media::probe` can tell apart, plus `image/*`.
pub const TYPES: [&str; 11] = [
    "image/*",
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/tiff",
    "image/bmp",
    "image/svg+xml",
    "image/vnd.adobe.photoshop",
    "application/pdf",
    "video/*",
];

/// How many files a slot takes.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileCount {
    pub min: i64,
    pub max: i64,
}

impl Default for FileCount {
    fn default() -> Self {
        FileCount { min: 1, max: 1 }
    }
}

/// One slot as the API (`POST /api/v1/upload-links` `"slots"`) and the admin form give it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotOptions {
    pub name: String,
    /// Accepted media types; empty: any.
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    pub min_width: Option<i64>,
    #[serde(default)]
    pub min_height: Option<i64>,
    #[serde(default)]
    pub max_width: Option<i64>,
    #[serde(default)]
    pub max_height: Option<i64>,
    #[serde(default)]
    pub max_bytes: Option<i64>,
    #[serde(default)]
    pub files: FileCount,
    #[serde(default)]
    pub title_required: bool,
}

/// A slot, checked (`parse`) or read back from the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub id: String,
    pub name: String,
    pub types: Vec<String>,
    pub min_width: Option<i64>,
    pub min_height: Option<i64>,
    pub max_width: Option<i64>,
    pub max_height: Option<i64>,
    pub max_bytes: Option<i64>,
    pub files: FileCount,
    pub title_required: bool,
}

fn bad(field: String, why: impl std::fmt::Display) -> AppError {
    AppError::Unprocessable(format!("{field}: {why}"))
}

/// Checks the slots of a new link; every error names its field (`slots[1].min_width`).
pub fn parse(given: Vec<SlotOptions>) -> Result<Vec<Slot>, AppError> {
    if given.len() > MAX_SLOTS {
        return Err(bad("slots".into(), format!("at most {MAX_SLOTS} slots")));
    }
    let mut out: Vec<Slot> = Vec::with_capacity(given.len());
    for (i, s) in given.into_iter().enumerate() {
        let f = |name: &str| format!("slots[{i}].{name}");
        let name = s.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(bad(
                f("name"),
                "give each slot a name of up to 200 characters",
            ));
        }
        if out.iter().any(|o| o.name == name) {
            return Err(bad(f("name"), format!("“{name}” is used twice")));
        }
        let mut types: Vec<String> = Vec::new();
        for t in &s.types {
            let t = t.trim().to_ascii_lowercase();
            if !TYPES.contains(&t.as_str()) {
                return Err(bad(
                    f("types"),
                    format!("'{t}' is not one of {}", TYPES.join(", ")),
                ));
            }
            if !types.contains(&t) {
                types.push(t);
            }
        }
        for (field, v) in [
            ("min_width", s.min_width),
            ("min_height", s.min_height),
            ("max_width", s.max_width),
            ("max_height", s.max_height),
        ] {
            if v.is_some_and(|v| !(1..=1_000_000).contains(&v)) {
                return Err(bad(f(field), "must be between 1 and 1000000 pixels"));
            }
        }
        for (lo, hi, lo_v, hi_v) in [
            ("min_width", "max_width", s.min_width, s.max_width),
            ("min_height", "max_height", s.min_height, s.max_height),
        ] {
            if let (Some(a), Some(b)) = (lo_v, hi_v) {
                if a > b {
                    return Err(bad(f(lo), format!("{a} is more than {hi} {b}")));
                }
            }
        }
        if s.max_bytes.is_some_and(|b| b < 1) {
            return Err(bad(f("max_bytes"), "must be positive"));
        }
        if !(1..=MAX_FILES).contains(&s.files.max) {
            return Err(bad(
                f("files.max"),
                format!("must be between 1 and {MAX_FILES}"),
            ));
        }
        if !(1..=s.files.max).contains(&s.files.min) {
            return Err(bad(
                f("files.min"),
                format!("must be between 1 and files.max ({})", s.files.max),
            ));
        }
        out.push(Slot {
            id: crate::db::new_id(),
            name,
            types,
            min_width: s.min_width,
            min_height: s.min_height,
            max_width: s.max_width,
            max_height: s.max_height,
            max_bytes: s.max_bytes,
            files: s.files,
            title_required: s.title_required,
        });
    }
    Ok(out)
}

impl Slot {
    /// Whether the slot says anything about pixels.
    fn wants_pixels(&self) -> bool {
        self.min_width.is_some()
            || self.min_height.is_some()
            || self.max_width.is_some()
            || self.max_height.is_some()
    }

    /// Checks a file's first bytes (`complete`: they are the whole file, or all there is to
    /// see): accepted, refused with the reason, or pending when the header was cut short and
    /// more bytes may still settle it.
    pub fn check_head(&self, head: &[u8], complete: bool) -> Verdict {
        let p: Probe = crate::media::probe::probe(head);
        if !self.types.is_empty() {
            let Some(t) = p.media_type else {
                if !complete && head.len() < crate::media::probe::HEAD {
                    return Verdict::Pending;
                }
                return Verdict::Refused(format!(
                    "this is not a file type “{}” takes ({})",
                    self.name,
                    self.types.join(", ")
                ));
            };
            let ok = self
                .types
                .iter()
                // `image/*` means pictures: an SVG is a document that can carry script, so a
                // slot takes one only when it names `image/svg+xml`.
                .any(|a| {
                    a == t || (a == "image/*" && t.starts_with("image/") && t != "image/svg+xml")
                });
            if !ok {
                return Verdict::Refused(format!(
                    "this is {t} — “{}” takes {}",
                    self.name,
                    self.types.join(", ")
                ));
            }
        }
        if !self.wants_pixels() {
            return Verdict::Accepted;
        }
        let Some((w, h)) = p.size else {
            if !complete && head.len() < crate::media::probe::HEAD {
                return Verdict::Pending;
            }
            return Verdict::Refused(format!(
                "the pixel size could not be read from the file — “{}” needs an image whose \
                 header states it (JPEG, PNG, GIF, WebP, TIFF, BMP or PSD)",
                self.name
            ));
        };
        let (w, h) = (i64::from(w), i64::from(h));
        let size = format!("{w}×{h}");
        let why = if self.min_width.is_some_and(|m| w < m) {
            format!("needs at least {} px wide", self.min_width.unwrap_or(0))
        } else if self.min_height.is_some_and(|m| h < m) {
            format!("needs at least {} px high", self.min_height.unwrap_or(0))
        } else if self.max_width.is_some_and(|m| w > m) {
            format!("takes at most {} px wide", self.max_width.unwrap_or(0))
        } else if self.max_height.is_some_and(|m| h > m) {
            format!("takes at most {} px high", self.max_height.unwrap_or(0))
        } else {
            return Verdict::Accepted;
        };
        Verdict::Refused(format!("{size} — this slot {why}"))
    }

    /// The refusal for a file over the slot's byte limit.
    pub fn too_large(&self) -> AppError {
        AppError::Unprocessable(format!(
            "too large — “{}” takes files up to {}",
            self.name,
            human_size(self.max_bytes.unwrap_or(0))
        ))
    }

    /// Refuses a declared size over the slot's byte limit before any byte is read.
    pub fn check_size(&self, size: u64) -> Result<(), AppError> {
        match self.max_bytes {
            Some(m) if size > m as u64 => Err(self.too_large()),
            _ => Ok(()),
        }
    }

    /// What the slot asks for, in one line for pages and mails.
    pub fn rules(&self) -> String {
        let mut parts = Vec::new();
        if !self.types.is_empty() {
            parts.push(self.types.join(", "));
        }
        let px = |lo: Option<i64>, hi: Option<i64>, what: &str| match (lo, hi) {
            (Some(a), Some(b)) => Some(format!("{a}–{b} px {what}")),
            (Some(a), None) => Some(format!("at least {a} px {what}")),
            (None, Some(b)) => Some(format!("at most {b} px {what}")),
            (None, None) => None,
        };
        parts.extend(px(self.min_width, self.max_width, "wide"));
        parts.extend(px(self.min_height, self.max_height, "high"));
        if let Some(b) = self.max_bytes {
            parts.push(format!("up to {}", human_size(b)));
        }
        if self.title_required {
            parts.push("a title for each file".into());
        }
        parts.join(" · ")
    }
}

/// What a slot says of a file's first bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// Refused, with the reason for the sender.
    Refused(String),
    /// The header is not all there yet: ask again with more bytes, or at completion.
    Pending,
}

impl Verdict {
    /// Accepted, or the 422 that refuses; a verdict still pending is taken as accepted (the
    /// caller checks again when the file is complete).
    pub fn into_result(self) -> Result<(), AppError> {
        match self {
            Verdict::Refused(why) => Err(AppError::Unprocessable(why)),
            Verdict::Accepted | Verdict::Pending => Ok(()),
        }
    }
}

const COLS: &str = "id, name, types, min_width, min_height, max_width, max_height, max_bytes, \
    min_files, max_files, title_required";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Slot, sqlx::Error> {
    let types: String = r.try_get("types")?;
    Ok(Slot {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        types: types
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        min_width: r.try_get("min_width")?,
        min_height: r.try_get("min_height")?,
        max_width: r.try_get("max_width")?,
        max_height: r.try_get("max_height")?,
        max_bytes: r.try_get("max_bytes")?,
        files: FileCount {
            min: r.try_get("min_files")?,
            max: r.try_get("max_files")?,
        },
        title_required: r.try_get::<i64, _>("title_required")? != 0,
    })
}

/// Stores a new link's slots, in the transaction that creates it.
pub async fn insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    link_id: &str,
    slots: &[Slot],
) -> Result<(), sqlx::Error> {
    for (i, s) in slots.iter().enumerate() {
        sqlx::query(
            "INSERT INTO upload_link_slots (id, upload_link_id, position, name, types, \
             min_width, min_height, max_width, max_height, max_bytes, min_files, max_files, \
             title_required) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&s.id)
        .bind(link_id)
        .bind(i as i64)
        .bind(&s.name)
        .bind(s.types.join(","))
        .bind(s.min_width)
        .bind(s.min_height)
        .bind(s.max_width)
        .bind(s.max_height)
        .bind(s.max_bytes)
        .bind(s.files.min)
        .bind(s.files.max)
        .bind(i64::from(s.title_required))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A slot and how many files it holds.
#[derive(Clone, Debug)]
pub struct Filled {
    pub slot: Slot,
    pub delivered: i64,
}

impl Filled {
    /// Holds what the brief asks for (at least `files.min`).
    pub fn is_filled(&self) -> bool {
        self.delivered >= self.slot.files.min
    }

    /// Takes no more files.
    pub fn is_full(&self) -> bool {
        self.delivered >= self.slot.files.max
    }
}

/// A link's slots in the brief's order, each with the files stored in it (by any sender).
pub async fn of_link(db: &Db, link_id: &str) -> Result<Vec<Filled>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {COLS}, (SELECT COUNT(*) FROM assets a WHERE a.upload_slot_id = s.id) \
         AS delivered FROM upload_link_slots s WHERE upload_link_id = $1 ORDER BY position"
    ))
    .bind(link_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(Filled {
            slot: from_row(r)?,
            delivered: r.try_get("delivered")?,
        })
    })
    .collect()
}

/// For every link with slots: (link id, how many slots, how many are filled), in one query
/// (the admin list shows "2 of 3 slots filled").
pub async fn progress(db: &Db) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    sqlx::query(
        "SELECT s.upload_link_id, COUNT(*) AS slots, SUM(CASE WHEN \
         (SELECT COUNT(*) FROM assets a WHERE a.upload_slot_id = s.id) >= s.min_files \
         THEN 1 ELSE 0 END) AS filled FROM upload_link_slots s GROUP BY s.upload_link_id",
    )
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get("upload_link_id")?,
            r.try_get("slots")?,
            r.try_get("filled")?,
        ))
    })
    .collect()
}

/// JSON of a link's slots, for the API.
pub fn to_json(slots: &[Filled]) -> serde_json::Value {
    slots
        .iter()
        .map(|f| {
            let s = &f.slot;
            serde_json::json!({
                "id": s.id, "name": s.name, "types": s.types,
                "min_width": s.min_width, "min_height": s.min_height,
                "max_width": s.max_width, "max_height": s.max_height,
                "max_bytes": s.max_bytes,
                "files": {"min": s.files.min, "max": s.files.max},
                "title_required": s.title_required,
                "delivered": f.delivered, "filled": f.is_filled(),
            })
        })
        .collect()
}

/// One file's place in a slot, taken before its bytes are stored.
#[must_use = "a slot place is given back when dropped unless committed"]
#[derive(Debug)]
pub struct SlotTicket {
    db: Db,
    pub slot: Slot,
    done: bool,
}

/// Takes one place in `slot` (one conditional UPDATE, so parallel senders on any number of
/// instances cannot overfill it), or refuses with 409 when it holds `files.max` already.
pub async fn reserve(db: &Db, slot: &Slot) -> Result<SlotTicket, AppError> {
    let taken = sqlx::query(
        "UPDATE upload_link_slots SET files = files + 1 WHERE id = $1 AND files < max_files",
    )
    .bind(&slot.id)
    .execute(&db.pool)
    .await?
    .rows_affected()
        == 1;
    if !taken {
        return Err(AppError::Conflict(format!(
            "“{}” is full: {n} of {n} delivered",
            slot.name,
            n = slot.files.max
        )));
    }
    Ok(SlotTicket {
        db: db.clone(),
        slot: slot.clone(),
        done: false,
    })
}

impl SlotTicket {
    /// The place became a stored file (its asset's transaction committed).
    pub fn committed(&mut self) {
        self.done = true;
    }

    /// Gives the place back (the file was refused or failed).
    pub async fn release(mut self) -> Result<(), sqlx::Error> {
        self.done = true;
        give_back(&self.db, &self.slot.id).await
    }
}

async fn give_back(db: &Db, slot_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE upload_link_slots SET files = files - 1 WHERE id = $1 AND files > 0")
        .bind(slot_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

impl Drop for SlotTicket {
    /// A cancelled request drops its place: give it back in the background.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let (db, id) = (self.db.clone(), self.slot.id.clone());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = give_back(&db, &id).await {
                    tracing::warn!(error = %e, "could not give back a slot place");
                }
            });
        }
    }
}

/// The slots of the admin form: rows of `slot_*` fields in order (a row without a name is
/// left out); numbers empty for "no limit", sizes in MB.
pub fn from_form(form: &[(String, String)]) -> Result<Vec<SlotOptions>, AppError> {
    let col = |k: &str| crate::links::pages::all(form, k);
    let at = |v: &[String], i: usize| v.get(i).map(|s| s.trim().to_string()).unwrap_or_default();
    let num = |v: &[String], i: usize, what: &str| -> Result<Option<i64>, AppError> {
        match at(v, i).as_str() {
            "" => Ok(None),
            s => s.parse::<i64>().map(Some).map_err(|_| {
                AppError::Unprocessable(format!("slot {}: {what} must be a whole number", i + 1))
            }),
        }
    };
    let names = col("slot_name");
    let mut out = Vec::new();
    for i in 0..names.len() {
        if at(&names, i).is_empty() {
            continue;
        }
        let min = num(&col("slot_min_files"), i, "the fewest files")?.unwrap_or(1);
        out.push(SlotOptions {
            name: at(&names, i),
            types: at(&col("slot_types"), i)
                .split([',', ' '])
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            min_width: num(&col("slot_min_width"), i, "the least width")?,
            min_height: num(&col("slot_min_height"), i, "the least height")?,
            max_width: num(&col("slot_max_width"), i, "the most width")?,
            max_height: num(&col("slot_max_height"), i, "the most height")?,
            max_bytes: num(&col("slot_max_mb"), i, "the largest size")?
                .map(|m| m.saturating_mul(1_000_000)),
            files: FileCount {
                min,
                max: num(&col("slot_max_files"), i, "the most files")?.unwrap_or(min),
            },
            title_required: at(&col("slot_title"), i) == "1",
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(min_width: Option<i64>) -> Slot {
        parse(vec![SlotOptions {
            name: "Hero".into(),
            types: vec!["image/jpeg".into(), "image/png".into()],
            min_width,
            ..SlotOptions::default()
        }])
        .unwrap()
        .remove(0)
    }

    #[test]
    fn contradictions_name_their_field() {
        let e = parse(vec![SlotOptions {
            name: "Hero".into(),
            min_width: Some(3000),
            max_width: Some(2000),
            ..SlotOptions::default()
        }])
        .unwrap_err();
        assert!(e.to_string().contains("slots[0].min_width"), "{e}");
        let e = parse(vec![SlotOptions {
            name: "Hero".into(),
            files: FileCount { min: 3, max: 2 },
            ..SlotOptions::default()
        }])
        .unwrap_err();
        assert!(e.to_string().contains("slots[0].files.min"), "{e}");
    }

    #[test]
    fn refuses_by_content_with_the_reason() {
        let s = slot(Some(3000));
        let mut png = std::io::Cursor::new(Vec::new());
        image::GrayImage::new(800, 600)
            .write_to(&mut png, image::ImageFormat::Png)
            .unwrap();
        let png = png.into_inner();
        assert_eq!(
            s.check_head(&png, false),
            Verdict::Refused("800×600 — this slot needs at least 3000 px wide".into())
        );
        assert!(matches!(
            s.check_head(b"%PDF-1.4", true),
            Verdict::Refused(_)
        ));
        assert_eq!(s.check_head(b"\xFF\xD8\xFF", false), Verdict::Pending);
        assert_eq!(slot(None).check_head(&png, true), Verdict::Accepted);
    }
}
