//! What every page shares: title, the signed-in person for the navigation, the CSRF token for
//! forms, and a one-shot flash message. The layout for a signed-in person, and error pages
//! rendered again with their navigation, are made in `accounts::nav`.
use askama::Template;
use axum::response::Html;

use crate::error::AppError;

#[derive(Clone)]
pub struct NavUser {
    pub name: String,
    pub email: String,
    pub is_admin: bool,
    pub contributes: bool,
    /// The main menu, in the bar's order (made by `accounts::nav`).
    pub menu: Vec<NavItem>,
}

/// The widths at which a menu entry can fold into "More", by letter, each a CSS class `fold-X`
/// (static/app.css): `a` phones (up to 760 px), `b` up to 1259 px (so 1024 px), `c` up to
/// 1439 px (1280 px), `d` up to 1599 px (1440 px), `e` wider.
const FOLD_TIERS: &str = "abcde";

/// An entry of the main menu.
#[derive(Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    /// The `Layout::section` that highlights it.
    pub section: &'static str,
    /// The widths at which it sits in "More" instead of the bar (`FOLD_TIERS` letters; empty:
    /// always in the bar).
    pub fold: &'static str,
}

impl NavItem {
    /// Its `fold-X` classes.
    pub fn classes(&self) -> String {
        fold_classes(self.fold.chars())
    }
}

impl NavUser {
    /// The classes of the "More" menu: the widths at which some entry folds into it (empty: no
    /// "More" at all).
    pub fn more(&self) -> String {
        fold_classes(
            FOLD_TIERS
                .chars()
                .filter(|tier| self.menu.iter().any(|item| item.fold.contains(*tier))),
        )
    }
}

fn fold_classes(tiers: impl Iterator<Item = char>) -> String {
    tiers
        .map(|tier| format!("fold-{tier}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Clone)]
pub struct Layout {
    pub title: String,
    /// The portal's branding (name, logo, colours), for the header and `<title>`.
    pub brand: std::sync::Arc<crate::brand::Brand>,
    pub user: Option<NavUser>,
    pub csrf: String,
    pub flash: Option<String>,
    /// Which navigation entry is highlighted: "library", "users", "groups", "".
    pub section: &'static str,
    /// The signed-in person's time zone as kept ("" for none): static/app.js reports the
    /// browser's when it differs.
    pub zone: String,
}

impl Layout {
    pub fn anonymous(title: &str) -> Layout {
        Layout {
            title: title.into(),
            brand: crate::brand::current(),
            user: None,
            csrf: String::new(),
            flash: None,
            section: "",
            zone: String::new(),
        }
    }
}

#[derive(Template, Clone)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub heading: String,
    pub message: String,
    /// Offer a way back to the library; not when the answer is "wait" (a visitor of a share
    /// link who hit a limit has no library to go to).
    pub home: bool,
}

/// Renders a template into an HTML response.
pub fn render<T: Template>(t: &T) -> Result<Html<String>, AppError> {
    t.render()
        .map(Html)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))
}
