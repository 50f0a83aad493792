//! How an asset shows as a tile in a grid (library, search, collections, share links), and the
//! coarse kind of a file that picks its placeholder.
use super::assets::AssetView;
use crate::renditions::presets::{offers, Offer, Picture};
use crate::web::format::human_size;

/// The coarse kind of a file, for the typed placeholder tile until renditions exist.
pub fn kind_of(media_type: &str) -> &'static str {
    match media_type {
        m if m.starts_with("image/") => "image",
        m if m.starts_with("video/") => "video",
        m if m.starts_with("audio/") => "audio",
        "application/pdf" | "application/postscript" => "pdf",
        m if m.contains("zip") || m.contains("compressed") || m.contains("tar") => "archive",
        m if m.starts_with("text/")
            || m.contains("document")
            || m.contains("msword")
            || m.contains("sheet")
            || m.contains("presentation") =>
        {
            "document"
        }
        _ => "file",
    }
}

pub fn extension(filename: &str) -> String {
    match filename.rsplit_once('.') {
        Some((_, ext)) if !ext.is_empty() && ext.len() <= 5 => ext.to_uppercase(),
        _ => "FILE".into(),
    }
}

/// One tile in a grid.
#[derive(Clone)]
pub struct AssetCard {
    pub id: String,
    pub label: String,
    pub filename: String,
    pub kind: &'static str,
    pub ext: String,
    pub status: String,
    pub size: String,
    /// A thumbnail exists (else the typed tile shows).
    pub thumb: bool,
    /// "6000 × 4000 px", when the renderer measured it; else empty.
    pub dims: String,
    /// The download presets the file offers (pictures only), largest first.
    pub presets: Vec<Offer>,
}

fn dims(width: Option<i64>, height: Option<i64>) -> String {
    match (width, height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => format!("{w} × {h} px"),
        _ => String::new(),
    }
}

impl AssetCard {
    /// A card from the few columns a gallery reads.
    pub fn new(item: &crate::access::GalleryItem) -> AssetCard {
        let (id, title, filename, media_type, size) = (
            &item.id,
            &item.title,
            &item.filename,
            &item.media_type,
            item.size,
        );
        AssetCard {
            id: id.to_string(),
            label: if title.is_empty() {
                filename.to_string()
            } else {
                title.to_string()
            },
            filename: filename.to_string(),
            kind: kind_of(media_type),
            ext: extension(filename),
            status: "approved".into(),
            size: human_size(size),
            thumb: item.render_state == "ready",
            dims: dims(item.width, item.height),
            presets: offers(Picture::of_item(item)),
        }
    }

    /// Whether the card offers a preset of `set` (a share link's "Sizes" menu).
    pub fn offers_in(&self, set: &crate::renditions::presets::PresetSet) -> bool {
        self.presets.iter().any(|o| set.contains(o.preset))
    }

    pub fn from_view(v: &AssetView) -> AssetCard {
        AssetCard {
            id: v.asset.id.to_string(),
            label: if v.asset.title.is_empty() {
                v.version.filename.clone()
            } else {
                v.asset.title.clone()
            },
            filename: v.version.filename.clone(),
            kind: kind_of(&v.version.media_type),
            ext: extension(&v.version.filename),
            status: v.asset.status.clone(),
            size: human_size(v.version.size),
            thumb: v.version.render_state == "ready",
            dims: dims(v.version.width, v.version.height),
            presets: offers(Picture::of(&v.version)),
        }
    }
}
