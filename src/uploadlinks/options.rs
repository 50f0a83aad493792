//! What an admin may set on an upload link, in one type for the API's create and the admin
//! form (`UploadLinkOptions`), parsed once into checked values (`NewUploadLink`). The password
//! rule, the expiry rule, the text limits and `ip_allow` are the share links' own
//! (`links::options`), so both kinds of link follow the same rules.
//!
//! Adding an option: see "Adding a link option" in docs/architecture.md.
use serde::Deserialize;

use super::FIELDS;
use crate::error::AppError;
use crate::links::options::{check_text, expiry_or_default, IpAllow, LinkPassword};

/// What the API and the admin form both send to create an upload link.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UploadLinkOptions {
    pub folder_id: String,
    /// RFC 3339; absent or empty for the default of 7 days.
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub max_files: Option<i64>,
    #[serde(default)]
    pub max_bytes: Option<i64>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub brief: String,
    #[serde(default)]
    pub required_fields: Vec<String>,
    #[serde(default)]
    pub reference_asset_ids: Vec<String>,
    /// CIDR ranges (or addresses) senders may use the link from; empty for anywhere.
    #[serde(default)]
    pub ip_allow: Vec<String>,
    /// Delivery slots of the brief (`slots::SlotOptions`); empty: any file, as before.
    #[serde(default)]
    pub slots: Vec<super::slots::SlotOptions>,
}

/// A new upload link, every value checked (the folder and references are checked against
/// the database by `actions::create_upload_link`).
#[derive(Debug)]
pub struct NewUploadLink {
    pub folder_id: String,
    pub title: String,
    pub brief: String,
    pub password: Option<LinkPassword>,
    pub max_files: Option<i64>,
    pub max_bytes: Option<i64>,
    pub required: Vec<String>,
    pub reference_ids: Vec<String>,
    pub expires_at: i64,
    pub ip_allow: IpAllow,
    pub slots: Vec<super::slots::Slot>,
}

impl UploadLinkOptions {
    pub fn into_new(self, now: i64, max_days: i64) -> Result<NewUploadLink, AppError> {
        let expires_at = expiry_or_default(self.expires_at.as_deref(), now, max_days)?;
        if self.max_files.is_some_and(|n| !(1..=100_000).contains(&n)) {
            return Err(AppError::Unprocessable(
                "max_files must be between 1 and 100000".into(),
            ));
        }
        if self.max_bytes.is_some_and(|n| n < 1) {
            return Err(AppError::Unprocessable("max_bytes must be positive".into()));
        }
        let mut required: Vec<String> = Vec::new();
        for f in &self.required_fields {
            let f = f.trim().to_string();
            if f.is_empty() || required.contains(&f) {
                continue;
            }
            if !FIELDS.contains(&f.as_str()) {
                return Err(AppError::Unprocessable(format!(
                    "'{f}' cannot be required; choose from title, description, keywords"
                )));
            }
            required.push(f);
        }
        let slots = super::slots::parse(self.slots)?;
        let least: i64 = slots.iter().map(|s| s.files.min).sum();
        if self.max_files.is_some_and(|m| m < least) {
            return Err(AppError::Unprocessable(format!(
                "max_files: the slots need at least {least} files"
            )));
        }
        Ok(NewUploadLink {
            folder_id: self.folder_id,
            title: check_text("title", &self.title, 200)?,
            brief: check_text("brief", &self.brief, 20_000)?,
            password: LinkPassword::parse(self.password.as_deref())?,
            max_files: self.max_files,
            max_bytes: self.max_bytes,
            required,
            reference_ids: self.reference_asset_ids,
            expires_at,
            ip_allow: IpAllow::parse(&self.ip_allow)?,
            slots,
        })
    }
}
