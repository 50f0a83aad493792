//! What every page shares: title, the signed-in person for the navigation, the CSRF token for
//! forms, and a one-shot flash message.
use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use tower_sessions::Session;

use crate::accounts::PageUser;
use crate::app::AppState;
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

    pub fn for_user(title: &str, user: &PageUser, section: &'static str) -> Layout {
        Layout {
            title: title.into(),
            brand: crate::brand::current(),
            user: Some(NavUser {
                name: user.account.name.clone(),
                email: user.account.email.clone(),
                is_admin: user.account.is_admin(),
                contributes: user.contributes,
            }),
            csrf: user.csrf.clone(),
            flash: user.flash.clone(),
            section,
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

/// Error pages (`PageError`) are rendered without the request, so they come out anonymous. For a
/// signed-in person this renders them again with the navigation, so a 404 inside the portal is
/// not a dead end. Only error responses pay for the lookup.
pub async fn with_nav(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let session = req.extensions().get::<Session>().cloned();
    let mut response = next.run(req).await;
    let (Some(page), Some(session)) = (response.extensions_mut().remove::<ErrorPage>(), session)
    else {
        return response;
    };
    let mut probe = Request::new(());
    probe.extensions_mut().insert(session);
    let (mut parts, ()) = probe.into_parts();
    let Ok(user) = PageUser::from_request_parts(&mut parts, &state).await else {
        return response; // not signed in: the anonymous page is right
    };
    let page = ErrorPage {
        layout: Layout::for_user(&page.heading, &user, ""),
        ..page
    };
    let Ok(html) = page.render() else {
        return response;
    };
    let (mut head, _) = response.into_parts();
    head.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(head, Body::from(html)).into_response()
}
