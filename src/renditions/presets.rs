//! Download presets: a picture at a fixed size for people who need a JPEG for a layout, a web
//! page or a slide rather than the original (Large 3000 px, Web 1600 px, Small 800 px), and for
//! pictures with transparency a PNG (3000 px) and a lossless WebP (1600 px) that keep it. Each is
//! made from the original by the confined renderer (`assetport render --preset-max`) the first
//! time anyone downloads it, kept in storage next to the renditions (table `presets`), and
//! served from there afterwards like any stored file. Whether a caller may have one, whether
//! it counts and what is recorded is `delivery`'s, as for originals.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use sqlx::Row;
use tokio::sync::Semaphore;

use super::WorkDir;
use crate::app::AppState;
use crate::error::AppError;
use crate::http::download::Blob;
use crate::library::assets::Version;
use crate::media;
use crate::storage;

/// A download preset. The names are the URL segment, the stored kind and the API's word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Preset {
    Large,
    Web,
    Small,
    /// Offered only by pictures with transparency, as are `Webp`.
    Png,
    Webp,
}

impl Preset {
    /// The order menus list them in: the JPEGs largest first, then the transparent ones.
    pub const ALL: [Preset; 5] = [
        Preset::Large,
        Preset::Web,
        Preset::Small,
        Preset::Png,
        Preset::Webp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Large => "large",
            Preset::Web => "web",
            Preset::Small => "small",
            Preset::Png => "png",
            Preset::Webp => "webp",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Preset::Large => "Large JPEG",
            Preset::Web => "Web JPEG",
            Preset::Small => "Small JPEG",
            Preset::Png => "PNG, transparent",
            Preset::Webp => "WebP, transparent",
        }
    }

    /// Longest side, in pixels.
    pub fn max(self) -> u32 {
        match self {
            Preset::Large | Preset::Png => 3000,
            Preset::Web | Preset::Webp => 1600,
            Preset::Small => 800,
        }
    }

    /// How the renderer encodes it.
    pub fn encoding(self) -> media::Encoding {
        match self {
            Preset::Png => media::Encoding::Png,
            Preset::Webp => media::Encoding::Webp,
            _ => media::Encoding::Jpeg,
        }
    }

    /// Whether only pictures with transparency offer it.
    pub fn keeps_alpha(self) -> bool {
        self.encoding().keeps_alpha()
    }

    pub fn parse(s: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == s)
    }

    /// A `preset` parameter (a ZIP's): absent or empty means the originals; a name that is no
    /// preset is a 404, like an unknown path.
    pub fn from_param(name: Option<&str>) -> Result<Option<Preset>, AppError> {
        match name.filter(|n| !n.is_empty()) {
            None => Ok(None),
            Some(n) => Preset::parse(n).map(Some).ok_or(AppError::NotFound),
        }
    }

    /// The size this preset has for a picture of `width` × `height` (never enlarged): the
    /// renderer's own fitting, so the menu names the size that is made.
    pub fn size_for(self, width: u32, height: u32) -> (u32, u32) {
        media::fit(width, height, self.max())
    }

    /// [`Preset::size_for`] for `picture`: a vector (SVG) is drawn to fill the preset's box,
    /// as the renderer does, since it has no pixel size of its own.
    fn size_of(self, picture: &Picture, width: u32, height: u32) -> (u32, u32) {
        if picture.media_type == "image/svg+xml" {
            media::scale_to(width, height, self.max())
        } else {
            self.size_for(width, height)
        }
    }
}

/// The presets a share link offers (an admin may limit them; all by default). Stored as the
/// names, comma-separated, in `links.presets`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresetSet(u8);

impl PresetSet {
    pub const ALL: PresetSet = PresetSet(0b11111);

    fn bit(p: Preset) -> u8 {
        match p {
            Preset::Large => 1,
            Preset::Web => 2,
            Preset::Small => 4,
            Preset::Png => 8,
            Preset::Webp => 16,
        }
    }

    pub fn contains(self, p: Preset) -> bool {
        self.0 & Self::bit(p) != 0
    }

    /// What an admin chose: preset names; an unknown one is a 422 naming it.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<PresetSet, AppError> {
        let mut set = 0;
        for n in names {
            let n = n.as_ref().trim();
            let p = Preset::parse(n).ok_or_else(|| {
                let shown: String = n.chars().take(40).collect();
                AppError::Unprocessable(format!(
                    "presets: {shown:?} is not one of large, web, small, png, webp"
                ))
            })?;
            set |= Self::bit(p);
        }
        Ok(PresetSet(set))
    }

    /// Reads the stored column; anything unreadable offers none rather than all.
    pub fn from_column(s: &str) -> PresetSet {
        let names: Vec<&str> = s.split(',').filter(|n| !n.is_empty()).collect();
        PresetSet::parse(&names).unwrap_or(PresetSet(0))
    }

    /// `contains`, for templates (which hand over references).
    pub fn offers(&self, p: &Preset) -> bool {
        self.contains(*p)
    }

    /// Whether the preset named `name` is in the set (templates).
    pub fn has(&self, name: &str) -> bool {
        Preset::parse(name).is_some_and(|p| self.contains(p))
    }

    pub fn names(self) -> Vec<&'static str> {
        Preset::ALL
            .into_iter()
            .filter(|p| self.contains(*p))
            .map(Preset::name)
            .collect()
    }

    pub fn to_column(self) -> String {
        self.names().join(",")
    }

    /// A small number naming the set (the link gallery's cache key).
    pub fn bits(self) -> u8 {
        self.0
    }
}

/// One preset as a menu shows it.
#[derive(Clone, Debug)]
pub struct Offer {
    pub preset: Preset,
    /// "1600 × 1067 px".
    pub dims: String,
}

impl Offer {
    pub fn name(&self) -> &'static str {
        self.preset.name()
    }

    pub fn label(&self) -> &'static str {
        self.preset.label()
    }
}

/// What a version's row says about its picture, for [`offers`].
#[derive(Clone, Copy, Debug)]
pub struct Picture<'a> {
    pub media_type: &'a str,
    pub render_state: &'a str,
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// The renderer found a pixel that is not fully opaque.
    pub transparent: bool,
}

impl<'a> Picture<'a> {
    pub fn of(version: &'a Version) -> Picture<'a> {
        Picture {
            media_type: &version.media_type,
            render_state: &version.render_state,
            width: version.width,
            height: version.height,
            transparent: version.transparent,
        }
    }

    pub fn of_item(item: &'a crate::access::GalleryItem) -> Picture<'a> {
        Picture {
            media_type: &item.media_type,
            render_state: &item.render_state,
            width: item.width,
            height: item.height,
            transparent: item.transparent,
        }
    }
}

/// The presets a version offers: pictures (the renderer made their preview, so it can make
/// a preset) whose size is known; a JPEG preset the same size as a larger one is left out (a
/// 1200 px picture offers Large 1200 px and Small 800 px, not also a Web 1200 px); PNG and
/// WebP only where the picture has transparency.
pub fn offers(picture: Picture) -> Vec<Offer> {
    let Picture {
        media_type,
        render_state,
        width,
        height,
        transparent,
    } = picture;
    let (Some(w), Some(h)) = (width, height) else {
        return Vec::new();
    };
    if !media_type.starts_with("image/") || render_state != "ready" || w <= 0 || h <= 0 {
        return Vec::new();
    }
    let (w, h) = (
        u32::try_from(w).unwrap_or(u32::MAX),
        u32::try_from(h).unwrap_or(u32::MAX),
    );
    let mut out: Vec<Offer> = Vec::new();
    let mut last = None;
    for p in Preset::ALL {
        if p.keeps_alpha() {
            if transparent {
                let size = p.size_of(&picture, w, h);
                out.push(Offer {
                    preset: p,
                    dims: format!("{} × {} px", size.0, size.1),
                });
            }
            continue;
        }
        let size = p.size_of(&picture, w, h);
        if last != Some(size) {
            out.push(Offer {
                preset: p,
                dims: format!("{} × {} px", size.0, size.1),
            });
        }
        last = Some(size);
    }
    out
}

/// Whether `version` offers `preset`.
pub fn offered(version: &Version, preset: Preset) -> bool {
    offers(Picture::of(version))
        .iter()
        .any(|o| o.preset == preset)
}

/// The name a preset is saved under: `poster.psd` → `poster-web.jpg`, `logo.svg` →
/// `logo-png.png`.
pub fn file_name(version: &Version, preset: Preset) -> String {
    super::file_name_as(version, preset.name(), preset.encoding().extension())
}

/// The stored preset, if it was made before (never makes one).
pub async fn stored(
    state: &AppState,
    version: &Version,
    preset: Preset,
) -> Result<Option<Blob>, AppError> {
    if !offered(version, preset) {
        return Err(AppError::NotFound);
    }
    Ok(find(state, version, preset).await?)
}

async fn find(
    state: &AppState,
    version: &Version,
    preset: Preset,
) -> Result<Option<Blob>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT blob_key, size, sha256 FROM presets WHERE version_id = $1 AND preset = $2",
    )
    .bind(&version.id)
    .bind(preset.name())
    .fetch_optional(&state.db.pool)
    .await?;
    row.map(|r| {
        Ok(Blob {
            key: r.try_get("blob_key")?,
            size: r.try_get::<i64, _>("size")? as u64,
            sha256: r.try_get("sha256")?,
            media_type: preset.encoding().media_type().into(),
            filename: file_name(version, preset),
            inline: false,
        })
    })
    .transpose()
}

/// The stored preset, made now if it was not: only the caller's own request waits for it, and
/// on one instance the same preset of the same version is made once however many ask at
/// the same moment. Call only after `delivery` has said the caller may have it.
pub async fn blob(state: &AppState, version: &Version, preset: Preset) -> Result<Blob, AppError> {
    if !offered(version, preset) {
        return Err(AppError::NotFound);
    }
    if let Some(blob) = find(state, version, preset).await? {
        return Ok(blob);
    }
    let key = format!("{}:{}", version.id, preset.name());
    let lock = in_flight(&key);
    let made = {
        let _one_maker = lock.lock().await;
        match find(state, version, preset).await? {
            Some(blob) => Ok(blob),
            None => make(state, version, preset).await,
        }
    };
    forget(&key, lock);
    made
}

/// What a ZIP of `preset` holds for each listed asset: the preset for pictures (made where it
/// was not yet, a few at a time), the original for other files.
pub async fn for_zip(
    state: &AppState,
    listed: &[crate::access::LinkedAsset],
    preset: Preset,
) -> Result<Vec<Blob>, AppError> {
    use futures_util::{StreamExt, TryStreamExt};
    // Owned futures: borrowing `listed` in them trips the compiler's Send check of handlers.
    let work: Vec<_> = listed
        .iter()
        .map(|a| {
            let (state, v) = (state.clone(), a.view.version.clone());
            async move {
                if offered(&v, preset) {
                    blob(&state, &v, preset).await
                } else {
                    Ok(v.blob())
                }
            }
        })
        .collect();
    futures_util::stream::iter(work)
        .buffered(4)
        .try_collect()
        .await
}

/// Presets being made on this process, by "version:preset".
fn makers() -> &'static Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>> {
    static MAKERS: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    MAKERS.get_or_init(Default::default)
}

fn in_flight(key: &str) -> Arc<tokio::sync::Mutex<()>> {
    let mut m = makers().lock().unwrap_or_else(|p| p.into_inner());
    m.entry(key.to_string()).or_default().clone()
}

fn forget(key: &str, lock: Arc<tokio::sync::Mutex<()>>) {
    let mut m = makers().lock().unwrap_or_else(|p| p.into_inner());
    // Ours and the map's: nobody else waits on it.
    if Arc::strong_count(&lock) <= 2 {
        m.remove(key);
    }
}

/// At most this many presets are rendered at once on one process (each render is a child
/// process using up to a core and the renderer's memory limit); more requests wait their turn.
fn renders() -> &'static Semaphore {
    static RENDERS: OnceLock<Semaphore> = OnceLock::new();
    RENDERS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Semaphore::new(cores.clamp(1, 4))
    })
}

async fn make(state: &AppState, version: &Version, preset: Preset) -> Result<Blob, AppError> {
    let _turn = renders()
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        AppError::Internal(anyhow::anyhow!(
            "making the {} of {what}: {e}",
            preset.name()
        ))
    };
    let work = WorkDir::create(&state.config.data_dir).map_err(|e| failed(&version.id, &e))?;
    let input = match state.storage.local_path(&version.blob_key) {
        Some(path) => path,
        None => {
            let path = work.path().join("input");
            state
                .storage
                .fetch_to_file(&version.blob_key, &path)
                .await
                .map_err(|e| failed(&version.id, &e))?;
            path
        }
    };
    let out = work.path().join("out");
    std::fs::create_dir_all(&out).map_err(|e| failed(&version.id, &e))?;
    let report = media::render_preset_in_child(
        &state.config.renderer,
        &input,
        &out,
        &media::Limits::default(),
        preset.max(),
        preset.encoding(),
    )
    .await
    .map_err(|e| failed(&version.id, &e))?;
    let Some((w, h)) = report.preview.filter(|_| report.rendered) else {
        return Err(failed(&version.id, &"the renderer made no picture"));
    };
    let key = storage::rendition_key(&version.id, &format!("preset-{}", preset.name()));
    let stored = state
        .storage
        .put_file(&key, &out.join(preset.encoding().preset_file()))
        .await
        .map_err(|e| failed(&version.id, &e))?;
    // Another instance may have made the same preset meanwhile: the same bytes under the same
    // key, so either row is right.
    sqlx::query(
        "INSERT INTO presets (version_id, preset, blob_key, media_type, size, sha256, width, \
         height, created_at) VALUES ($1, $2, $3, $9, $4, $5, $6, $7, $8) \
         ON CONFLICT (version_id, preset) DO UPDATE SET blob_key = excluded.blob_key, \
         size = excluded.size, sha256 = excluded.sha256, width = excluded.width, \
         height = excluded.height",
    )
    .bind(&version.id)
    .bind(preset.name())
    .bind(&key)
    .bind(stored.size as i64)
    .bind(&stored.sha256)
    .bind(i64::from(w))
    .bind(i64::from(h))
    .bind(state.clock.now_ms())
    .bind(preset.encoding().media_type())
    .execute(&state.db.pool)
    .await?;
    Ok(Blob {
        key,
        size: stored.size,
        sha256: stored.sha256,
        media_type: preset.encoding().media_type().into(),
        filename: file_name(version, preset),
        inline: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_round_trip_and_refuse_unknown_names() {
        let s = PresetSet::parse(&["web", "small"]).unwrap();
        assert!(s.contains(Preset::Web) && !s.contains(Preset::Large));
        assert_eq!(PresetSet::from_column(&s.to_column()), s);
        assert_eq!(
            PresetSet::from_column("large,web,small,png,webp"),
            PresetSet::ALL
        );
        assert_eq!(
            PresetSet::from_column(""),
            PresetSet::parse::<&str>(&[]).unwrap()
        );
        assert!(PresetSet::parse(&["huge"]).is_err());
    }

    #[test]
    fn sizes_fit_and_never_enlarge() {
        assert_eq!(Preset::Web.size_for(6000, 4000), (1600, 1067));
        assert_eq!(Preset::Large.size_for(4000, 6000), (2000, 3000));
        assert_eq!(Preset::Small.size_for(500, 300), (500, 300));
    }

    fn picture(media_type: &str, state: &str, w: Option<i64>, h: Option<i64>) -> Picture<'static> {
        let (media_type, render_state) = match (media_type, state) {
            ("image/jpeg", "ready") => ("image/jpeg", "ready"),
            ("image/png", "ready") => ("image/png", "ready"),
            ("application/pdf", _) => ("application/pdf", "ready"),
            _ => ("image/jpeg", "pending"),
        };
        Picture {
            media_type,
            render_state,
            width: w,
            height: h,
            transparent: false,
        }
    }

    #[test]
    fn offers_skip_duplicates_and_non_pictures() {
        let names = |o: Vec<Offer>| o.iter().map(|o| o.name()).collect::<Vec<_>>();
        assert_eq!(
            names(offers(picture(
                "image/jpeg",
                "ready",
                Some(6000),
                Some(4000)
            ))),
            ["large", "web", "small"]
        );
        assert_eq!(
            names(offers(picture("image/png", "ready", Some(1200), Some(900)))),
            ["large", "small"]
        );
        assert!(offers(picture("image/png", "ready", Some(600), Some(400))).len() == 1);
        assert!(offers(picture("application/pdf", "ready", Some(600), Some(800))).is_empty());
        assert!(offers(picture("image/jpeg", "pending", Some(6000), Some(4000))).is_empty());
        assert!(offers(picture("image/jpeg", "ready", None, None)).is_empty());
    }

    #[test]
    fn only_transparent_pictures_offer_png_and_webp() {
        let names = |o: Vec<Offer>| o.iter().map(|o| o.name()).collect::<Vec<_>>();
        let logo = Picture {
            transparent: true,
            ..picture("image/png", "ready", Some(2400), Some(600))
        };
        assert_eq!(
            names(offers(logo)),
            ["large", "web", "small", "png", "webp"]
        );
        let dims: Vec<String> = offers(logo).into_iter().map(|o| o.dims).collect();
        assert_eq!(dims[3], "2400 × 600 px");
        assert_eq!(dims[4], "1600 × 400 px");
        assert_eq!(Preset::Webp.encoding().media_type(), "image/webp");
        assert!(PresetSet::ALL.contains(Preset::Png));
    }
}
