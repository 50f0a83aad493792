//! The landing page's gallery, cached per process. A link page is the one page that strangers
//! open by the thousand (a newsletter goes out), and its query is most of its cost; the answer
//! changes only when the library does.
//!
//! Never stale, on any instance: every request reads the library generation (a counter the
//! database's own triggers move on any change to assets, versions, folders or a link's asset
//! list; see migration 0007) and uses a cached gallery only if it was filled at that same
//! generation and no availability window has opened or closed since. The link row itself
//! (revoked, expired, downloads) is never cached: it is read on every request before this.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::access::{self, GalleryItem};
use crate::db::{Db, Param};
use crate::links::{Link, Target};

/// Gallery items kept in all cached entries together (a few MiB at most); past it the cache
/// starts over.
const MAX_ITEMS: usize = 50_000;

#[derive(Default)]
pub struct Cache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    items: usize,
}

struct Entry {
    generation: i64,
    /// The next availability boundary (ms) after the fill: the entry is stale from then on.
    until: i64,
    gallery: Arc<Gallery>,
}

/// One link's gallery at one library generation, and its HTML once rendered.
pub struct Gallery {
    pub items: Vec<GalleryItem>,
    /// The cards without and with download buttons, rendered on first use.
    html: [OnceLock<String>; 2],
}

impl Gallery {
    /// The cards' HTML, rendered by `render` the first time it is asked for.
    pub fn html<E>(
        &self,
        buttons: bool,
        render: impl FnOnce(&[GalleryItem]) -> Result<String, E>,
    ) -> Result<&str, E> {
        let slot = &self.html[usize::from(buttons)];
        if slot.get().is_none() {
            let _ = slot.set(render(&self.items)?);
        }
        Ok(slot.get().map(String::as_str).unwrap_or_default())
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("gallery::Cache")
    }
}

impl Cache {
    /// What `access::link_gallery` returns for `link`, from the cache when it is current.
    pub async fn get(
        &self,
        db: &Db,
        link: &Link,
        limit: i64,
        now: i64,
    ) -> Result<Arc<Gallery>, sqlx::Error> {
        // The generation is read before the gallery: a change committed in between makes the
        // entry look older than it is (refilled once more), never newer.
        let generation = generation(db).await?;
        let key = key(link, limit);
        if let Some(e) = self.inner.lock().expect("gallery cache").entries.get(&key) {
            if e.generation == generation && now < e.until {
                return Ok(e.gallery.clone());
            }
        }
        let until = next_boundary(db, now).await?;
        let gallery = Arc::new(Gallery {
            items: access::link_gallery(db, link, limit, now).await?,
            html: Default::default(),
        });
        let n = gallery.items.len();
        let mut inner = self.inner.lock().expect("gallery cache");
        if inner.items + n > MAX_ITEMS {
            inner.entries.clear();
            inner.items = 0;
        }
        inner.items += n;
        let old = inner.entries.insert(
            key,
            Entry {
                generation,
                until,
                gallery: gallery.clone(),
            },
        );
        if let Some(old) = old {
            inner.items -= old.gallery.items.len();
        }
        Ok(gallery)
    }
}

/// Links to the same assets or folder (one token per recipient) share an entry.
fn key(link: &Link, limit: i64) -> String {
    match &link.target {
        Target::Assets => format!("a:{}:{limit}", link.share_id),
        Target::Folder(id) => format!("f:{id}:{limit}"),
    }
}

pub async fn generation(db: &Db) -> Result<i64, sqlx::Error> {
    Ok(db
        .read_optional("SELECT n FROM library_generation WHERE id = 1", &[], |r| {
            r.int("n")
        })
        .await?
        .unwrap_or(0))
}

/// The first moment after `now` at which some asset's availability window opens or closes
/// (`i64::MAX` if none): what a link shows can change then without anything being written.
async fn next_boundary(db: &Db, now: i64) -> Result<i64, sqlx::Error> {
    let row = db
        .read_optional(
            "SELECT (SELECT min(available_from) FROM assets WHERE available_from > $1) AS f, \
                    (SELECT min(available_until) FROM assets WHERE available_until > $1) AS u",
            &[Param::Int(now)],
            |r| Ok((r.opt_int("f")?, r.opt_int("u")?)),
        )
        .await?;
    let (f, u) = row.unwrap_or((None, None));
    Ok(f.unwrap_or(i64::MAX).min(u.unwrap_or(i64::MAX)))
}
