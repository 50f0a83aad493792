//! assetport: a self-hosted portal that publishes approved digital assets to partners.
//!
//! Feature modules (`accounts`, `library`, `links`) own their queries, handlers and pages; `access` is the
//! single place that decides what a caller may see, `delivery` the one place that decides whether
//! bytes may leave, whether they count and what is recorded; `storage` and `db` are the plumbing.

// No panics on request paths: a panic there kills a connection and poisons locks. Where one is
// truly impossible, an `allow` says why on that line. Tests may unwrap.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod access;
pub mod accounts;
pub mod app;
pub mod backup;
pub mod brand;
pub mod cli;
pub mod clock;
pub mod collections;
pub mod config;
pub mod db;
pub mod delivery;
pub mod digests;
pub mod error;
pub mod events;
pub mod fsck;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod library;
pub mod links;
pub mod mail;
pub mod media;
pub mod metrics;
pub mod recalls;
pub mod receipts;
pub mod renditions;
pub mod reports;
pub mod requests;
pub mod sanitize;
pub mod scim;
pub mod sealed;
pub mod search;
pub mod secret;
pub mod secret_string;
pub mod sso;
pub mod storage;
pub mod token;
pub mod upload_cli;
pub mod uploadlinks;
pub mod web;
pub mod webhooks;

pub use app::{App, AppState};
pub use config::Config;
