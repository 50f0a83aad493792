//! Cookies that carry signed claims: a JWT (HS256 with the instances' shared secret, one
//! algorithm, required `exp` and `aud`, no leeway), so any instance checks one without a
//! lookup. `exp` is compared with the caller's `now` (the app's clock), not the system time. Used for what a visitor has proven to a link (`links::unlock`) and for resuming a
//! counted download (`delivery::resume`); each puts its own binding in `aud`.
use axum::http::{header, HeaderMap, HeaderValue};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The value of the request's cookie `name`, if any.
pub fn value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The claims of cookie `name` when it is signed with `secret`, unexpired at `now` (Unix
/// milliseconds) and for `aud`.
pub fn read<C: DeserializeOwned + Expires>(
    headers: &HeaderMap,
    name: &str,
    aud: &str,
    secret: &str,
    now: i64,
) -> Option<C> {
    let token = value(headers, name)?;
    let mut v = Validation::new(Algorithm::HS256);
    v.set_audience(&[aud]);
    v.set_required_spec_claims(&["exp", "aud"]);
    // jsonwebtoken would compare `exp` with the system time; ours is the app's clock.
    v.validate_exp = false;
    v.leeway = 0;
    let claims = decode::<C>(token, &DecodingKey::from_secret(secret.as_bytes()), &v)
        .ok()?
        .claims;
    // Valid up to and including the second `exp`, as jsonwebtoken's own check with no leeway.
    (claims.exp() >= now.div_euclid(1000)).then_some(claims)
}

/// Claims that carry a JWT `exp` (seconds since the epoch).
pub trait Expires {
    fn exp(&self) -> i64;
}

/// The `Set-Cookie` value for `claims` (which must hold `aud` and `exp` = `expires_ms` in
/// seconds): `HttpOnly`, `SameSite=Lax`, scoped to `path`, gone at `expires_ms`.
pub fn set<C: Serialize>(
    name: &str,
    claims: &C,
    path: &str,
    expires_ms: i64,
    secret: &str,
    secure: bool,
    now: i64,
) -> anyhow::Result<HeaderValue> {
    let jwt = encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )?;
    let max_age = ((expires_ms - now) / 1000).max(0);
    Ok(HeaderValue::from_str(&format!(
        "{name}={jwt}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    ))?)
}
