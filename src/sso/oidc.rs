//! The OpenID Connect relying party, on the `openidconnect` crate (discovery, the authorisation
//! code flow with PKCE, `state` and `nonce`, ID token signature, issuer, audience and expiry
//! checks): assetport writes none of that itself. This file only adapts it: a groups claim of
//! any name (`Extra`), the provider's `end_session_endpoint`, our clock for expiry (so tests can
//! move it), and an HTTP client that never follows redirects (SSRF).
use std::collections::HashMap;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl, LogoutRequest, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Provider;

/// Every claim the crate does not name itself, so the admin can choose which one holds groups.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Extra {
    #[serde(flatten)]
    pub rest: HashMap<String, Value>,
}
impl AdditionalClaims for Extra {}

type Fields = IdTokenFields<
    Extra,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<Fields, CoreTokenType>;
type Client = openidconnect::Client<
    Extra,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Why a sign-in through a provider did not happen; shown to the person in plain words and
/// recorded (`sso_login_failed`) with the technical detail.
#[derive(Debug)]
pub struct Failure {
    /// What the person reads.
    pub message: &'static str,
    /// What the audit log keeps.
    pub detail: String,
}

impl Failure {
    pub fn new(message: &'static str, detail: impl Into<String>) -> Failure {
        Failure {
            message,
            detail: detail.into(),
        }
    }
}

const UNREACHABLE: &str = "The identity provider could not be reached. Try again in a moment.";
const REFUSED: &str =
    "Your identity provider did not confirm who you are. Start again from the sign-in page.";

fn http() -> Result<reqwest::Client, Failure> {
    reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| Failure::new(UNREACHABLE, e.to_string()))
}

/// A provider, discovered: what the flow needs from its metadata.
pub struct Discovered {
    client: Client,
    http: reqwest::Client,
    end_session: Option<openidconnect::EndSessionUrl>,
}

/// How long a provider's discovery document and keys are reused. Short: providers publish a
/// new key before signing with it, so a minute-old key set is current; long enough that a
/// burst of sign-in clicks (or of anonymous `/sso/{id}/start` requests) does not become a
/// burst of requests to the provider.
const DISCOVERY_TTL: std::time::Duration = std::time::Duration::from_secs(60);

type Cache = std::sync::Mutex<HashMap<String, (std::time::Instant, ProviderMetadataWithLogout)>>;

fn cache() -> &'static Cache {
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

async fn metadata(
    issuer_url: &str,
    http: &reqwest::Client,
) -> Result<ProviderMetadataWithLogout, Failure> {
    let fresh = |(at, m): &(std::time::Instant, ProviderMetadataWithLogout)| {
        (at.elapsed() < DISCOVERY_TTL).then(|| m.clone())
    };
    if let Some(m) = cache()
        .lock()
        .ok()
        .and_then(|c| c.get(issuer_url).and_then(fresh))
    {
        return Ok(m);
    }
    let issuer = IssuerUrl::new(issuer_url.to_string())
        .map_err(|e| Failure::new(UNREACHABLE, format!("issuer: {e}")))?;
    let meta = ProviderMetadataWithLogout::discover_async(issuer, http)
        .await
        .map_err(|e| Failure::new(UNREACHABLE, format!("discovery: {e}")))?;
    if let Ok(mut c) = cache().lock() {
        c.insert(
            issuer_url.to_string(),
            (std::time::Instant::now(), meta.clone()),
        );
    }
    Ok(meta)
}

/// The provider's discovery document and keys (`metadata`: reused for a minute), made into a
/// client for this provider's id, secret and redirect address.
pub async fn discover(
    p: &Provider,
    client_secret: Option<String>,
    redirect_uri: &str,
) -> Result<Discovered, Failure> {
    let http = http()?;
    let meta = metadata(&p.issuer, &http).await?;
    let end_session = meta.additional_metadata().end_session_endpoint.clone();
    let redirect = RedirectUrl::new(redirect_uri.to_string())
        .map_err(|e| Failure::new(UNREACHABLE, format!("redirect uri: {e}")))?;
    let client = Client::from_provider_metadata(
        meta,
        ClientId::new(p.client_id.clone()),
        client_secret.map(ClientSecret::new),
    )
    .set_redirect_uri(redirect);
    Ok(Discovered {
        client,
        http,
        end_session,
    })
}

/// What a started flow must remember until the callback (kept in the session).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Started {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl Discovered {
    /// The provider's authorisation address, with a fresh state, nonce and PKCE challenge.
    pub fn authorize(&self, scopes: &[String]) -> (String, Started) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = self.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for s in scopes.iter().filter(|s| s.as_str() != "openid") {
            req = req.add_scope(Scope::new(s.clone()));
        }
        let (url, state, nonce) = req.set_pkce_challenge(challenge).url();
        let started = Started {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        };
        (url.to_string(), started)
    }

    /// Trades the code for tokens and verifies the ID token (signature, issuer, audience,
    /// expiry on `now_ms`, nonce).
    pub async fn finish(
        &self,
        code: &str,
        started: &Started,
        now_ms: i64,
    ) -> Result<Identity, Failure> {
        let req = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| Failure::new(UNREACHABLE, format!("token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(started.pkce_verifier.clone()));
        let tokens = req
            .request_async(&self.http)
            .await
            .map_err(|e| Failure::new(REFUSED, format!("code exchange: {e}")))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| Failure::new(REFUSED, "no ID token in the token response"))?;
        let now = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
        let verifier = self.client.id_token_verifier().set_time_fn(move || now);
        let claims = id_token
            .claims(&verifier, &Nonce::new(started.nonce.clone()))
            .map_err(|e| Failure::new(REFUSED, format!("ID token: {e}")))?;
        Ok(Identity {
            subject: claims.subject().as_str().to_string(),
            email: claims.email().map(|e| e.as_str().to_string()),
            email_verified: claims.email_verified().unwrap_or(false),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_string()),
            claims: claims.additional_claims().rest.clone(),
            id_token: id_token.to_string(),
        })
    }

    /// Where to send the browser to end the provider's session too, if it says it can.
    pub fn logout_url(&self, id_token: &str, after: &str) -> Option<String> {
        let end = self.end_session.clone()?;
        let mut req = LogoutRequest::from(end).set_client_id(self.client.client_id().clone());
        if let Ok(u) = PostLogoutRedirectUrl::new(after.to_string()) {
            req = req.set_post_logout_redirect_uri(u);
        }
        let mut url = req.http_get_url();
        if !id_token.is_empty() {
            url.query_pairs_mut().append_pair("id_token_hint", id_token);
        }
        Some(url.to_string())
    }
}

/// Who the provider says signed in, after every check.
#[derive(Debug)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// Claims beyond the standard ones (the groups claim among them).
    pub claims: HashMap<String, Value>,
    /// The raw ID token, kept in the session as the logout's `id_token_hint`.
    pub id_token: String,
}

impl Identity {
    /// The values of `claim`: a list of strings, or one string.
    pub fn claim_values(&self, claim: &str) -> Vec<String> {
        match self.claims.get(claim) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}
