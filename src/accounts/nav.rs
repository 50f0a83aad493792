//! The page layout for a signed-in person (`Layout::for_user`), and error pages rendered again
//! with that person's navigation: accounts know who is signed in; `web::layout` does not.
use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use super::PageUser;
use crate::app::AppState;
use crate::web::layout::{ErrorPage, Layout, NavUser};

impl Layout {
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
