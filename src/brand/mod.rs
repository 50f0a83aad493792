//! Branding (issue 7): the portal's name, logo, accent colour, sign-in background and email
//! footer, set by an admin and applied to every page, share-link page and email.
//!
//! The settings are one JSON row in `settings`. Each instance keeps a copy that it reloads when
//! it is older than `FRESH` (and at once where the admin saved), so another instance shows a
//! change within seconds. Branding decides nothing about access, so a few seconds of
//! staleness are fine. Pages reach the copy through a task-local set by `middleware`, so the
//! many `Layout` constructors need no extra argument.
pub mod mail;
pub mod mail_html;
pub mod mail_pages;
pub mod pages;

use crate::events::EventKind;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::db::{self, Db};

const SETTING: &str = "brand";
const FRESH: Duration = Duration::from_secs(5);
pub const DEFAULT_NAME: &str = "assetport";
pub const DEFAULT_ACCENT: &str = "#2f4bd8";

/// An uploaded image: its storage key's version and its content type.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Image {
    /// A digest of the bytes: the cache-busting `?v=` and part of the storage key.
    pub version: String,
    pub content_type: String,
    /// A transparent logo's drawn pixels by relative luminance (thousandths per step, what the
    /// renderer measured); empty for opaque images, which carry their own background.
    #[serde(default)]
    pub ink_levels: Vec<u16>,
}

/// The top bar's colours.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Header {
    /// Near-black, light text: the portal's look before it could be chosen.
    #[default]
    Dark,
    /// White with dark text, for dark logos.
    Light,
    /// The accent colour (dark enough for white text, checked when set).
    Accent,
}

impl Header {
    pub const ALL: [Header; 3] = [Header::Dark, Header::Light, Header::Accent];

    pub fn name(self) -> &'static str {
        match self {
            Header::Dark => "dark",
            Header::Light => "light",
            Header::Accent => "accent",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Header::Dark => "Dark",
            Header::Light => "Light",
            Header::Accent => "Accent colour",
        }
    }

    pub fn parse(s: &str) -> Option<Header> {
        Header::ALL.into_iter().find(|h| h.name() == s)
    }

    /// The bar's background, `#rrggbb` (the accent's for `Accent`).
    pub fn background(self, accent: &str) -> &str {
        match self {
            Header::Dark => DARK_BAR,
            Header::Light => "#ffffff",
            Header::Accent => accent,
        }
    }
}

/// The dark top bar's background (static/app.css's `--bar-bg`).
pub const DARK_BAR: &str = "#151a2d";
pub const DEFAULT_TAGLINE: &str = "approved assets, delivered";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Brand {
    pub name: String,
    /// `#rrggbb`, dark enough for white text on it (checked when set).
    pub accent: String,
    pub logo: Option<Image>,
    pub background: Option<Image>,
    /// Appended to every email.
    pub mail_footer: String,
    /// The top bar's colours.
    pub header: Header,
    /// After the name in every page's footer ("Acme · approved assets, delivered"); may be empty.
    pub tagline: String,
    /// Admins' versions of the emails (`mail::KINDS`); the others use the built-in text.
    pub mail_templates: mail::Customs,
}

impl Default for Brand {
    fn default() -> Brand {
        Brand {
            name: DEFAULT_NAME.into(),
            accent: DEFAULT_ACCENT.into(),
            logo: None,
            background: None,
            mail_footer: String::new(),
            header: Header::Dark,
            tagline: DEFAULT_TAGLINE.into(),
            mail_templates: mail::Customs::new(),
        }
    }
}

impl Brand {
    /// Changes with any setting: the `?v=` of `/brand.css`.
    pub fn version(&self) -> String {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(&Sha256::digest(&json)[..8])
    }

    /// The top bar's class (`header-dark`, `header-light`, `header-accent`).
    pub fn header_class(&self) -> String {
        format!("header-{}", self.header.name())
    }

    pub fn logo_url(&self) -> Option<String> {
        self.logo
            .as_ref()
            .map(|i| format!("/brand/logo?v={}", i.version))
    }

    /// The stylesheet that applies the accent colour and the sign-in background.
    pub fn css(&self) -> String {
        let (r, g, b) = rgb(&self.accent).unwrap_or((0x2f, 0x4b, 0xd8));
        let mix = |c: u8, to: u8, t: f64| ((c as f64) * (1.0 - t) + (to as f64) * t).round() as u8;
        let dark = format!(
            "#{:02x}{:02x}{:02x}",
            mix(r, 0, 0.25),
            mix(g, 0, 0.25),
            mix(b, 0, 0.25)
        );
        let soft = format!(
            "#{:02x}{:02x}{:02x}",
            mix(r, 255, 0.88),
            mix(g, 255, 0.88),
            mix(b, 255, 0.88)
        );
        let mut css = format!(
            ":root {{ --accent: {}; --accent-dark: {dark}; --accent-soft: {soft}; }}\n",
            self.accent
        );
        if let Some(bg) = &self.background {
            css.push_str(&format!(
                "body.signin {{ background: #1d2133 url(\"/brand/background?v={}\") center / cover no-repeat fixed; }}\n",
                bg.version
            ));
        }
        css
    }
}

/// `#rrggbb` as numbers.
pub fn rgb(hex: &str) -> Option<(u8, u8, u8)> {
    let h = hex.strip_prefix('#')?;
    if h.len() != 6 || !h.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let p = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    Some((p(0)?, p(2)?, p(4)?))
}

/// WCAG contrast ratio of white text on `hex`.
pub fn contrast_with_white(hex: &str) -> Option<f64> {
    Some(1.05 / (luminance(hex)? + 0.05))
}

/// WCAG contrast ratio of two relative luminances.
pub fn contrast(a: f64, b: f64) -> f64 {
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

/// WCAG relative luminance of `hex` (0 black, 1 white).
pub fn luminance(hex: &str) -> Option<f64> {
    let (r, g, b) = rgb(hex)?;
    let lin = |c: u8| {
        let c = c as f64 / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    Some(0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b))
}

pub async fn load(db: &Db) -> Result<Brand, sqlx::Error> {
    Ok(db::get_setting(db, SETTING)
        .await?
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default())
}

/// An admin saves the branding (the look, or an email template named in `detail`): stored for
/// every instance, used by this one at once (others within `FRESH`), and audited.
pub async fn change(
    state: &crate::app::AppState,
    by: &crate::accounts::Account,
    brand: Brand,
    detail: &str,
    client: &crate::web::client::ClientInfo,
) -> Result<(), crate::error::AppError> {
    save(&state.db, &brand).await?;
    state.brand.set(brand);
    let e = crate::events::Event::new(EventKind::BrandingChanged)
        .by(&by.id)
        .detail(detail);
    state.events.record(e, client).await
}

async fn save(db: &Db, brand: &Brand) -> Result<(), sqlx::Error> {
    db::set_setting(
        db,
        SETTING,
        &serde_json::to_string(brand).unwrap_or_default(),
    )
    .await
}

/// This instance's copy of the brand.
#[derive(Default)]
pub struct Cache {
    current: RwLock<Option<(Arc<Brand>, Instant)>>,
}

impl Cache {
    /// The brand, reloaded from the database when the copy is older than `FRESH`.
    pub async fn get(&self, db: &Db) -> Arc<Brand> {
        if let Some((brand, at)) = &*self.current.read().unwrap_or_else(|e| e.into_inner()) {
            if at.elapsed() < FRESH {
                return brand.clone();
            }
        }
        match load(db).await {
            Ok(brand) => self.set(brand),
            Err(e) => {
                tracing::warn!(error = %e, "loading the branding failed");
                self.cached()
            }
        }
    }

    /// The copy as it is, without asking the database (for mail sent from background tasks).
    pub fn cached(&self) -> Arc<Brand> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(b, _)| b.clone())
            .unwrap_or_default()
    }

    pub fn set(&self, brand: Brand) -> Arc<Brand> {
        let brand = Arc::new(brand);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) =
            Some((brand.clone(), Instant::now()));
        brand
    }
}

tokio::task_local! {
    static CURRENT: Arc<Brand>;
}

/// The brand of the request being answered (the default outside one).
pub fn current() -> Arc<Brand> {
    CURRENT.try_with(Arc::clone).unwrap_or_default()
}

/// Makes the brand available to everything that answers this request.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let brand = state.brand.get(&state.db).await;
    CURRENT.scope(brand, next.run(req)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_parsed_and_contrast_measured() {
        assert_eq!(rgb("#2f4bd8"), Some((0x2f, 0x4b, 0xd8)));
        assert_eq!(rgb("#fff"), None);
        assert_eq!(rgb("2f4bd8"), None);
        assert_eq!(rgb("#gg0000"), None);
        let white_on_black = contrast_with_white("#000000").unwrap();
        assert!((white_on_black - 21.0).abs() < 0.01);
        assert!(contrast_with_white(DEFAULT_ACCENT).unwrap() >= 4.5);
        assert!(contrast_with_white("#ffff00").unwrap() < 2.0);
    }

    #[test]
    fn css_carries_the_accent_and_background() {
        let mut b = Brand {
            accent: "#a4161a".into(),
            ..Brand::default()
        };
        assert!(b.css().contains("--accent: #a4161a;"));
        assert!(!b.css().contains("background"));
        b.background = Some(Image {
            version: "abc".into(),
            content_type: "image/jpeg".into(),
            ink_levels: Vec::new(),
        });
        assert!(b.css().contains("/brand/background?v=abc"));
        assert_ne!(b.version(), Brand::default().version());
    }
}
