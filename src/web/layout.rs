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
