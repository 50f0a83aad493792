//! Who is calling. The API knows callers only by bearer token; pages only by session cookie.
//! Keeping the two apart means a session cookie can never authorise an API call (no CSRF
//! surface there) and a token never rides along in a browser.
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::session_store::USER_KEY;
use super::tokens;
use super::users::{self, Account};
use crate::app::AppState;
use crate::error::{AppError, PageError};
use crate::web::csrf;

/// An API caller authenticated by `Authorization: Bearer <token>`.
pub struct ApiUser(pub Account);

/// An API caller who is an admin; members get 404, as if the route did not exist.
pub struct ApiAdmin(pub Account);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(AppError::Unauthorized)?;
        tokens::authenticate(&state.db, token)
            .await?
            .map(ApiUser)
            .ok_or(AppError::Unauthorized)
    }
}

impl FromRequestParts<AppState> for ApiAdmin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let ApiUser(account) = ApiUser::from_request_parts(parts, state).await?;
        if account.is_admin() {
            Ok(ApiAdmin(account))
        } else {
            Err(AppError::NotFound)
        }
    }
}

/// A signed-in person on the HTML side, with the session's CSRF token for forms.
pub struct PageUser {
    pub account: Account,
    pub csrf: String,
    pub session: Session,
    /// A one-shot message from the previous action ("Folder created").
    pub flash: Option<String>,
    /// May contribute somewhere, or has submitted before: the navigation offers "My submissions".
    pub contributes: bool,
}

/// A signed-in admin; members get the same 404 page as for a missing page.
pub struct PageAdmin(pub PageUser);

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let user_id: Option<String> = session
            .get(USER_KEY)
            .await
            .map_err(|e| PageError(AppError::Internal(e.into())).into_response())?;
        let found = match user_id {
            Some(id) => users::for_page(&state.db, &id)
                .await
                .map_err(|e| PageError(e.into()).into_response())?
                .filter(|(a, _)| !a.disabled),
            None => None,
        };
        let Some((account, contributes)) = found else {
            return Err(login_redirect(parts));
        };
        let csrf = csrf::token(&session)
            .await
            .map_err(|e| PageError(e).into_response())?;
        let flash = session.remove::<String>("flash").await.ok().flatten();
        Ok(PageUser {
            account,
            csrf,
            session,
            flash,
            contributes,
        })
    }
}

impl FromRequestParts<AppState> for PageAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let user = PageUser::from_request_parts(parts, state).await?;
        if user.account.is_admin() {
            Ok(PageAdmin(user))
        } else {
            Err(PageError(AppError::NotFound).into_response())
        }
    }
}

impl PageUser {
    /// Leaves a message for the next page this person sees.
    pub async fn flash(&self, message: impl Into<String>) {
        let _ = self.session.insert("flash", message.into()).await;
    }
}

fn login_redirect(parts: &Parts) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let target = if next == "/" {
        "/login".to_string()
    } else {
        format!(
            "/login?next={}",
            percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
        )
    };
    Redirect::to(&target).into_response()
}

/// Post-login redirects go only to same-origin relative paths (SPEC §6).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control() || c == '\\') =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_same_origin_only() {
        assert_eq!(safe_next(Some("/folders/x?a=1")), "/folders/x?a=1");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "javascript:x",
            "/a\r\nb",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
