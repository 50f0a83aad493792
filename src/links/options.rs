//! What an admin may set on a share link, in one type for the three ways it arrives: the API's
//! create (`POST /api/v1/links`), the API's patch (`PATCH /api/v1/links/{id}`) and the admin
//! form. Each value is parsed here once into a type that can only hold a valid value
//! (`LinkPassword`, `IpAllow`, a checked expiry), so the actions never see raw input.
//!
//! Adding an option: see "Adding a link option" in docs/architecture.md.
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

use crate::accounts::{password, users};
use crate::clock;
use crate::error::AppError;
use crate::renditions::presets::PresetSet;
use crate::web::client::ClientInfo;

/// Default lifetime when none is given (SPEC: 7 days).
pub const DEFAULT_DAYS: i64 = 7;
pub(crate) const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const MAX_RECIPIENTS: usize = 100;
/// Most networks one link may allow (a partner's offices, not a routing table).
const MAX_NETWORKS: usize = 100;

/// A link password that passed the rule (6 to 200 characters, surrounding space ignored).
/// Shares, upload links, create and patch all build it here, so the rule exists once.
#[derive(Clone)]
pub struct LinkPassword(String);

impl LinkPassword {
    /// `None` for no password (absent, null or blank), else the password if it is acceptable.
    pub fn parse(input: Option<&str>) -> Result<Option<LinkPassword>, AppError> {
        let p = input.map(str::trim).unwrap_or("");
        if p.is_empty() {
            return Ok(None);
        }
        if p.chars().count() < 6 || p.len() > 200 {
            return Err(AppError::Unprocessable(
                "link passwords need 6 to 200 characters".into(),
            ));
        }
        Ok(Some(LinkPassword(p.to_string())))
    }

    /// The argon2id hash that is stored (the password itself never is).
    pub async fn hash(self) -> Result<String, AppError> {
        Ok(password::hash(self.0).await?)
    }
}

impl fmt::Debug for LinkPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LinkPassword(***)")
    }
}

/// The networks a link may be opened from; empty means anywhere. Share links and upload links
/// both carry one (`ip_allow`), checked against the client address the app already determines
/// (`web::client`, which honours `ASSETPORT_TRUSTED_PROXIES`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpAllow(Vec<IpNet>);

impl IpAllow {
    /// Parses what an admin typed: CIDR ranges or single addresses. A bad entry is a 422 that
    /// names it.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<IpAllow, AppError> {
        let mut nets: Vec<IpNet> = Vec::new();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if entry.is_empty() {
                continue;
            }
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => match entry.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => {
                        let shown: String = entry.chars().take(60).collect();
                        return Err(AppError::Unprocessable(format!(
                            "ip_allow: {shown:?} is not an IP address or CIDR range \
                             (like 10.0.0.0/8 or 2001:db8::/32)"
                        )));
                    }
                },
            };
            // Stored as the network, so "10.1.2.3/8" reads back as "10.0.0.0/8".
            let net = net.trunc();
            if !nets.contains(&net) {
                nets.push(net);
            }
        }
        if nets.len() > MAX_NETWORKS {
            return Err(AppError::Unprocessable(format!(
                "ip_allow: at most {MAX_NETWORKS} networks"
            )));
        }
        Ok(IpAllow(nets))
    }

    /// Reads the stored column (comma-separated, written by `to_column`). An entry that does
    /// not parse is an error, never "no restriction".
    pub fn from_column(s: &str) -> Result<IpAllow, sqlx::Error> {
        let entries: Vec<&str> = s.split(',').collect();
        IpAllow::parse(&entries).map_err(|e| sqlx::Error::Decode(e.to_string().into()))
    }

    pub fn to_column(&self) -> String {
        self.strings().join(",")
    }

    pub fn strings(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a client at `ip` (as `ClientInfo` gives it) may use the link. An address that
    /// cannot be read is refused when there is a list.
    pub fn permits(&self, ip: &str) -> bool {
        if self.0.is_empty() {
            return true;
        }
        match ip.parse::<IpAddr>() {
            Ok(ip) => {
                let ip = ip.to_canonical();
                self.0.iter().any(|net| net.contains(&ip))
            }
            Err(_) => false,
        }
    }

    /// The one place `ip_allow` is enforced: both link kinds' visit extractors call it after
    /// the link is known to be live, so every page and file of the link answers 403 outside.
    pub fn check(&self, client: &ClientInfo) -> Result<(), AppError> {
        if self.permits(&client.ip) {
            return Ok(());
        }
        Err(AppError::Forbidden(
            "This link cannot be opened from your network. If you should have access, ask the \
             person who shared it."
                .into(),
        ))
    }

    /// The entries of an admin form's text box: one per line, or separated by commas or
    /// spaces (checked later by `parse`, like the API's list).
    pub fn form_entries(text: &str) -> Vec<String> {
        text.split([',', ' ', '\n', '\r', '\t', ';'])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// Maps a JSON field that may be absent, `null` or a value onto `None`, `Some(None)` and
/// `Some(Some(v))`: a patch tells "leave it" from "remove it".
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Everything an admin may give a share link. Create reads all of it; patch only the options
/// in `CHANGEABLE` (the target and the recipients are the share's identity). Absent fields keep
/// their default (create) or their current value (patch); `null` removes a password or a
/// download limit.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkOptions {
    #[serde(default)]
    pub asset_ids: Vec<String>,
    pub folder_id: Option<String>,
    pub collection_id: Option<String>,
    /// RFC 3339.
    #[serde(default, deserialize_with = "present")]
    pub expires_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub password: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub allow_original: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    pub max_downloads: Option<Option<i64>>,
    #[serde(default)]
    pub recipients: Vec<String>,
    pub message: Option<String>,
    pub title: Option<String>,
    pub terms: Option<String>,
    #[serde(default)]
    pub per_recipient: bool,
    #[serde(default)]
    pub require_code: bool,
    /// Per-recipient links only: the code goes only to each link's recipient (implies
    /// `require_code`); a forwarded copy asks its visitor to request their own access.
    #[serde(default)]
    pub bind_recipient: bool,
    /// CIDR ranges (or addresses) the link may be opened from; empty for anywhere.
    pub ip_allow: Option<Vec<String>>,
    /// The download presets offered (`large`, `web`, `small`, `png`, `webp`); absent: all.
    pub presets: Option<Vec<String>>,
    /// The asset the page shows large; absent or `null`: the first picture.
    #[serde(default, deserialize_with = "present")]
    pub cover_asset_id: Option<Option<String>>,
}

/// The fields a patch may carry.
pub const CHANGEABLE: [&str; 10] = [
    "expires_at",
    "password",
    "max_downloads",
    "allow_original",
    "title",
    "message",
    "terms",
    "ip_allow",
    "presets",
    "cover_asset_id",
];

/// A share as `create_link` receives it: every value checked.
#[derive(Debug)]
pub struct NewShare {
    pub asset_ids: Vec<String>,
    pub folder_id: Option<String>,
    pub collection_id: Option<String>,
    pub expires_at: i64,
    pub password: Option<LinkPassword>,
    pub allow_original: bool,
    pub max_downloads: Option<i64>,
    pub recipients: Vec<String>,
    pub message: String,
    pub title: String,
    pub terms: String,
    pub per_recipient: bool,
    pub require_code: bool,
    pub bind_recipient: bool,
    pub ip_allow: IpAllow,
    pub presets: PresetSet,
    pub cover_asset_id: Option<String>,
}

/// Changes to an existing link, every value checked; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct Changes {
    pub expires_at: Option<i64>,
    /// `Some(None)` removes the password.
    pub password: Option<Option<LinkPassword>>,
    pub max_downloads: Option<Option<i64>>,
    pub allow_original: Option<bool>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub terms: Option<String>,
    pub ip_allow: Option<IpAllow>,
    pub presets: Option<PresetSet>,
    /// `Some(None)`: back to the first picture.
    pub cover_asset_id: Option<Option<String>>,
}

/// An RFC 3339 time from a request.
pub fn parse_time(field: &str, s: &str) -> Result<i64, AppError> {
    clock::parse_rfc3339(s)
        .ok_or_else(|| AppError::BadRequest(format!("{field} must be an RFC 3339 timestamp")))
}

/// Checks an expiry against now and the configured maximum.
pub fn check_expiry(expires_at: i64, now: i64, max_days: i64) -> Result<i64, AppError> {
    if expires_at <= now {
        return Err(AppError::Unprocessable(
            "expires_at must be in the future".into(),
        ));
    }
    if expires_at > now + max_days * DAY_MS {
        return Err(AppError::Unprocessable(format!(
            "links may last at most {max_days} days"
        )));
    }
    Ok(expires_at)
}

/// An expiry as given (RFC 3339, or absent / empty for the default of 7 days), checked.
pub fn expiry_or_default(given: Option<&str>, now: i64, max_days: i64) -> Result<i64, AppError> {
    let t = match given.filter(|s| !s.is_empty()) {
        Some(s) => parse_time("expires_at", s)?,
        None => now + DEFAULT_DAYS * DAY_MS,
    };
    check_expiry(t, now, max_days)
}

pub fn check_text(what: &str, s: &str, max: usize) -> Result<String, AppError> {
    let s = s.trim();
    if s.chars().count() > max {
        return Err(AppError::BadRequest(format!(
            "{what} is limited to {max} characters"
        )));
    }
    if s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(AppError::BadRequest(format!(
            "{what} contains control characters"
        )));
    }
    Ok(s.to_string())
}

pub fn check_max_downloads(n: Option<i64>) -> Result<Option<i64>, AppError> {
    match n {
        Some(n) if !(1..=1_000_000).contains(&n) => Err(AppError::Unprocessable(
            "max_downloads must be between 1 and 1000000".into(),
        )),
        other => Ok(other),
    }
}

impl LinkOptions {
    /// Checks everything a new share needs that does not need the database.
    pub fn into_new(self, now: i64, max_days: i64) -> Result<NewShare, AppError> {
        let expires_at = match self.expires_at.flatten() {
            Some(s) => check_expiry(parse_time("expires_at", &s)?, now, max_days)?,
            None => now + DEFAULT_DAYS * DAY_MS,
        };
        let expires_at = check_expiry(expires_at, now, max_days)?;
        let title = check_text("title", self.title.as_deref().unwrap_or(""), 200)?;
        let message = check_text("message", self.message.as_deref().unwrap_or(""), 5000)?;
        let terms = check_text("terms", self.terms.as_deref().unwrap_or(""), 20_000)?;
        let max_downloads = check_max_downloads(self.max_downloads.flatten())?;
        let mut recipients = Vec::new();
        for r in &self.recipients {
            if r.trim().is_empty() {
                continue;
            }
            let email = users::normalize_email(r)?;
            if !recipients.contains(&email) {
                recipients.push(email);
            }
        }
        if recipients.len() > MAX_RECIPIENTS {
            return Err(AppError::Unprocessable(format!(
                "at most {MAX_RECIPIENTS} recipients"
            )));
        }
        if self.per_recipient && recipients.is_empty() {
            return Err(AppError::Unprocessable(
                "one link per recipient needs recipients".into(),
            ));
        }
        if self.bind_recipient && !self.per_recipient {
            return Err(AppError::Unprocessable(
                "bind_recipient binds each per-recipient link to its recipient: set \
                 per_recipient too"
                    .into(),
            ));
        }
        let require_code = self.require_code || self.bind_recipient;
        if require_code && recipients.is_empty() {
            return Err(AppError::Unprocessable(
                "a one-time code is sent to recipients, so add at least one".into(),
            ));
        }
        let targets = usize::from(!self.asset_ids.is_empty())
            + usize::from(self.folder_id.is_some())
            + usize::from(self.collection_id.is_some());
        if targets != 1 {
            return Err(AppError::BadRequest(
                "give exactly one of asset_ids, folder_id or collection_id".into(),
            ));
        }
        let mut asset_ids: Vec<String> = Vec::new();
        for id in self.asset_ids {
            if !asset_ids.contains(&id) {
                asset_ids.push(id);
            }
        }
        let cover_asset_id = match self.cover_asset_id.flatten() {
            None => None,
            Some(id) => {
                let id = check_cover(&id)?;
                // Shared assets are named here; a folder's or collection's are checked
                // where the page is shown (only what the link lists can be its cover).
                if !asset_ids.is_empty() && !asset_ids.contains(&id) {
                    return Err(AppError::Unprocessable(
                        "cover_asset_id: the cover must be one of the shared assets".into(),
                    ));
                }
                Some(id)
            }
        };
        Ok(NewShare {
            asset_ids,
            folder_id: self.folder_id,
            collection_id: self.collection_id,
            expires_at,
            password: LinkPassword::parse(self.password.flatten().as_deref())?,
            allow_original: self.allow_original.flatten().unwrap_or(true),
            max_downloads,
            recipients,
            message,
            title,
            terms,
            per_recipient: self.per_recipient,
            require_code,
            bind_recipient: self.bind_recipient,
            ip_allow: IpAllow::parse(&self.ip_allow.unwrap_or_default())?,
            presets: match &self.presets {
                Some(names) => PresetSet::parse(names)?,
                None => PresetSet::ALL,
            },
            cover_asset_id,
        })
    }

    /// Reads a patch body: only `CHANGEABLE` fields (anything else is a 400 naming it).
    pub fn from_patch(body: serde_json::Map<String, serde_json::Value>) -> Result<Self, AppError> {
        if let Some(other) = body.keys().find(|k| !CHANGEABLE.contains(&k.as_str())) {
            return Err(AppError::BadRequest(format!("unknown field {other}")));
        }
        serde_json::from_value(serde_json::Value::Object(body))
            .map_err(|e| AppError::BadRequest(e.to_string()))
    }

    /// Checks the options of a patch (see `from_patch`).
    pub fn into_changes(self, now: i64, max_days: i64) -> Result<Changes, AppError> {
        let expires_at = match self.expires_at {
            None => None,
            Some(None) => return Err(AppError::BadRequest("expires_at must be a string".into())),
            Some(Some(s)) => Some(check_expiry(parse_time("expires_at", &s)?, now, max_days)?),
        };
        let allow_original = match self.allow_original {
            None => None,
            Some(None) => {
                return Err(AppError::BadRequest(
                    "allow_original must be true or false".into(),
                ))
            }
            Some(v) => v,
        };
        Ok(Changes {
            expires_at,
            password: self
                .password
                .map(|p| LinkPassword::parse(p.as_deref()))
                .transpose()?,
            max_downloads: self.max_downloads.map(check_max_downloads).transpose()?,
            allow_original,
            title: self
                .title
                .map(|s| check_text("title", &s, 200))
                .transpose()?,
            message: self
                .message
                .map(|s| check_text("message", &s, 5000))
                .transpose()?,
            terms: self
                .terms
                .map(|s| check_text("terms", &s, 20_000))
                .transpose()?,
            ip_allow: self.ip_allow.as_deref().map(IpAllow::parse).transpose()?,
            presets: self.presets.as_deref().map(PresetSet::parse).transpose()?,
            cover_asset_id: match self.cover_asset_id {
                None => None,
                Some(None) => Some(None),
                Some(Some(id)) => Some(Some(check_cover(&id)?)),
            },
        })
    }
}

/// A cover's asset id: the shape of an id (it is compared, never trusted further).
fn check_cover(id: &str) -> Result<String, AppError> {
    let id = id.trim();
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(AppError::BadRequest(
            "cover_asset_id must be an asset id".into(),
        ));
    }
    Ok(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_checked_once() {
        assert!(LinkPassword::parse(None).unwrap().is_none());
        assert!(LinkPassword::parse(Some("   ")).unwrap().is_none());
        assert!(LinkPassword::parse(Some("short")).is_err());
        assert!(LinkPassword::parse(Some(&"x".repeat(201))).is_err());
        let p = LinkPassword::parse(Some(" secret ")).unwrap().unwrap();
        assert_eq!(format!("{p:?}"), "LinkPassword(***)");
    }

    #[test]
    fn ip_allow_parses_ranges_and_addresses() {
        let a = IpAllow::parse(&["10.1.2.3/8", "2001:db8::/32", "192.0.2.7", ""]).unwrap();
        assert_eq!(a.strings(), ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"]);
        assert!(a.permits("10.200.0.1"));
        assert!(a.permits("2001:db8:1::5"));
        assert!(a.permits("::ffff:192.0.2.7"));
        assert!(!a.permits("192.0.2.8"));
        assert!(!a.permits(""));
        assert!(IpAllow::default().permits("203.0.113.1"));
        assert!(IpAllow::parse(&["10.0.0.0/33"]).is_err());
        assert!(IpAllow::parse(&["office"]).is_err());
        assert_eq!(IpAllow::from_column(&a.to_column()).unwrap(), a);
        assert!(IpAllow::from_column("").unwrap().is_empty());
    }
}
