//! SCIM 2.0 provisioning (RFC 7643/7644; issue 20): an identity provider creates, updates and
//! disables partner accounts at `/scim/v2/Users` with a bearer token made on `/admin/sso`
//! (`tokens`). Bodies are `application/scim+json`; errors use SCIM's error schema. Disabling
//! goes through the same account action as an admin's (sessions and API tokens end at once).
//! Groups and their members: `/scim/v2/Groups` (`groups`).
pub mod admin;
pub mod groups;
pub mod tokens;
pub mod users;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

use crate::accounts::Account;
use crate::app::AppState;
use crate::error::AppError;

pub const CONTENT_TYPE: &str = "application/scim+json";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

pub fn routes() -> Router<AppState> {
    users::routes()
        .merge(groups::routes())
        // A method a resource does not have (PUT, say) is a SCIM error too, not axum's bare 405.
        .method_not_allowed_fallback(|| async {
            ScimError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "this method is not supported here",
            )
        })
}

/// A JSON body whose rejection (malformed JSON, a wrong type, no JSON content type, too large)
/// answers in SCIM's error shape rather than axum's plain text.
pub struct ScimJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ScimJson<T> {
    type Rejection = ScimError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ScimError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ScimJson(v)),
            Err(e) => {
                let status = e.status();
                let detail = e.body_text();
                Err(
                    if status == StatusCode::UNSUPPORTED_MEDIA_TYPE
                        || status == StatusCode::PAYLOAD_TOO_LARGE
                    {
                        ScimError::new(status, detail)
                    } else {
                        ScimError::typed(StatusCode::BAD_REQUEST, "invalidSyntax", detail)
                    },
                )
            }
        }
    }
}

/// Query parameters whose rejection (`count=abc`) is a SCIM `invalidValue`.
pub struct ScimQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ScimQuery<T> {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ScimError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ScimQuery(q.0))
            .map_err(|e| ScimError::typed(StatusCode::BAD_REQUEST, "invalidValue", e.body_text()))
    }
}

/// The value of a filter `<attr> eq "value"` (case-insensitive attribute and operator), the one
/// form identity providers send; anything else is `invalidFilter`.
pub fn eq_filter(f: &str, attr: &str) -> ScimResult<String> {
    let invalid = || {
        ScimError::typed(
            StatusCode::BAD_REQUEST,
            "invalidFilter",
            format!("only the filter {attr} eq \"…\" is supported"),
        )
    };
    let mut parts = f.trim().splitn(3, ' ');
    let (Some(a), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    if !a.eq_ignore_ascii_case(attr) || !op.eq_ignore_ascii_case("eq") {
        return Err(invalid());
    }
    value
        .trim()
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .map(str::to_string)
        .ok_or_else(invalid)
}

/// A SCIM answer: the resource with `application/scim+json`.
pub fn scim_json(status: StatusCode, body: Value) -> Response {
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    r
}

/// An error in SCIM's shape (RFC 7644 §3.12), with `scimType` where the RFC names one.
pub struct ScimError {
    pub status: StatusCode,
    pub detail: String,
    pub scim_type: Option<&'static str>,
}

impl ScimError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> ScimError {
        ScimError {
            status,
            detail: detail.into(),
            scim_type: None,
        }
    }
    pub fn typed(status: StatusCode, scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            detail: detail.into(),
            scim_type: Some(scim_type),
        }
    }
}

impl From<AppError> for ScimError {
    fn from(e: AppError) -> ScimError {
        let scim_type = match &e {
            AppError::Conflict(_) => Some("uniqueness"),
            AppError::BadRequest(_) | AppError::Unprocessable(_) => Some("invalidValue"),
            _ => None,
        };
        let status = match e.status() {
            // SCIM has no 422: a value it cannot take is a 400 with `invalidValue`.
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            s => s,
        };
        ScimError {
            status,
            detail: e.public_message(),
            scim_type,
        }
    }
}

impl From<sqlx::Error> for ScimError {
    fn from(e: sqlx::Error) -> ScimError {
        AppError::from(e).into()
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        scim_json(self.status, body)
    }
}

pub type ScimResult<T> = Result<T, ScimError>;

/// The identity provider, by its bearer token: acts as the admin who made the token (who must
/// still be an active admin). Anything else is 401.
pub struct ScimClient {
    pub acting: Account,
}

impl FromRequestParts<AppState> for ScimClient {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ScimError> {
        let unauthorized =
            || ScimError::new(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(unauthorized)?;
        let acting = tokens::check(state, token.trim())
            .await?
            .ok_or_else(unauthorized)?;
        Ok(ScimClient { acting })
    }
}

const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A PATCH request (RFC 7644 §3.5.2) for Users and Groups alike.
#[derive(serde::Deserialize)]
pub struct PatchBody {
    #[serde(default)]
    schemas: Vec<String>,
    #[serde(rename = "Operations")]
    operations: Vec<Operation>,
}

#[derive(serde::Deserialize)]
pub struct Operation {
    pub op: String,
    pub path: Option<String>,
    pub value: Option<Value>,
}

impl PatchBody {
    /// Its operations, once the body says it is a PatchOp (else `invalidSyntax`).
    pub fn operations(self) -> ScimResult<Vec<Operation>> {
        if !self.schemas.iter().any(|s| s == PATCH_SCHEMA) {
            return Err(ScimError::typed(
                StatusCode::BAD_REQUEST,
                "invalidSyntax",
                format!("schemas must contain {PATCH_SCHEMA}"),
            ));
        }
        Ok(self.operations)
    }
}
