//! The landing page's gallery, cached per process. A link page is the one page that strangers
//! open by the thousand (a newsletter goes out), and its query is most of its cost; the answer
//! changes only when the library does.
//!
//! Never stale, on any instance: every request reads the library generation together with the
//! link row (`links::by_token`). It is a counter the database's own triggers move on any change
//! to assets, versions, folders or a link's asset list (migration 0007), so a change made on
//! another instance is seen at once. A cached gallery is used only if it was filled at that
//! same generation and no availability window has opened or closed since. The link row itself
//! (revoked, expired, downloads) is never cached: it is read on every request before this.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

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

/// Which download button each card carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Buttons {
    /// None (terms not accepted yet).
    None = 0,
    /// The original.
    Original = 1,
    /// The preview, on renditions-only links.
    Preview = 2,
}

/// One link's gallery at one library generation, and its HTML once rendered.
pub struct Gallery {
    pub items: Vec<GalleryItem>,
    /// The cards for each `Buttons` variant, rendered on first use, cut where each visitor's
    /// token goes.
    html: [OnceLock<Vec<String>>; 3],
}

impl Gallery {
    /// The cards' HTML with `token` in place of every `marker` that `render` wrote; `render`
    /// runs the first time only.
    pub fn html<E>(
        &self,
        buttons: Buttons,
        marker: &str,
        token: &str,
        render: impl FnOnce(&[GalleryItem]) -> Result<String, E>,
    ) -> Result<String, E> {
        let slot = &self.html[buttons as usize];
        if slot.get().is_none() {
            let html = render(&self.items)?;
            let _ = slot.set(html.split(marker).map(str::to_string).collect());
        }
        let parts = slot.get().map(Vec::as_slice).unwrap_or_default();
        let len = parts.iter().map(String::len).sum::<usize>() + parts.len() * token.len();
        let mut out = String::with_capacity(len);
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                out.push_str(token);
            }
            out.push_str(part);
        }
        Ok(out)
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("gallery::Cache")
    }
}

impl Cache {
    /// The cache, usable even after a panic while it was held: that panic may have left half an
    /// update, so the cache starts empty again rather than failing every later link page.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| {
            let mut inner = poisoned.into_inner();
            inner.entries.clear();
            inner.items = 0;
            self.inner.clear_poison();
            inner
        })
    }

    /// What `access::link_gallery` returns for `link`, from the cache when it is current.
    pub async fn get(
        &self,
        db: &Db,
        link: &Link,
        generation: i64,
        limit: i64,
        now: i64,
    ) -> Result<Arc<Gallery>, sqlx::Error> {
        // `generation` must have been read before this (`links::by_token` reads it with the
        // link): a change committed in between makes the entry look older than it is (filled
        // once more), never newer.
        let key = key(link, limit);
        if let Some(e) = self.lock().entries.get(&key) {
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
        let mut inner = self.lock();
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

/// Links to the same assets or folder (one token per recipient) share an entry, if they offer
/// the same sizes (the cards' menus are rendered into it).
fn key(link: &Link, limit: i64) -> String {
    let sizes = link.presets.bits();
    match &link.target {
        Target::Assets => format!("a:{}:{limit}:{sizes}", link.share_id),
        Target::Folder(id) => format!("f:{id}:{limit}:{sizes}"),
        Target::Collection(id) => format!("c:{id}:{limit}:{sizes}"),
    }
}

/// The first moment after `now` at which some asset's availability window opens or closes
/// (`i64::MAX` if none): what a link shows can change then without anything being written.
pub async fn next_boundary(db: &Db, now: i64) -> Result<i64, sqlx::Error> {
    let row = db
        .read_optional(
            // Every window's ends, visible or not: this is a cache boundary, not the rule
            // (`access::published_clause`).
            "SELECT (SELECT min(available_from) FROM assets WHERE available_from > $1) AS f, \
                    (SELECT min(available_until) FROM assets WHERE available_until > $1) AS u",
            &[Param::Int(now)],
            |r| Ok((r.opt_int("f")?, r.opt_int("u")?)),
        )
        .await?;
    let (f, u) = row.unwrap_or((None, None));
    Ok(f.unwrap_or(i64::MAX).min(u.unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod poison_tests {
    use super::*;

    #[test]
    fn a_panic_while_the_cache_is_held_empties_it_instead_of_breaking_it() {
        let cache = Arc::new(Cache::default());
        cache.lock().items = 7;
        let c = cache.clone();
        let _ = std::thread::spawn(move || {
            let _held = c.inner.lock();
            panic!("a bug while filling the cache");
        })
        .join();
        assert!(cache.inner.is_poisoned());
        assert_eq!(cache.lock().items, 0);
        assert!(!cache.inner.is_poisoned());
    }
}
