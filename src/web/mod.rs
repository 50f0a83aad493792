//! Web plumbing shared by pages: layout, CSRF, security headers, client info, static files.
pub mod client;
pub mod csrf;
pub mod error_page;
pub mod format;
pub mod headers;
pub mod layout;
pub mod nul;
pub mod qr;
pub mod signed_cookie;
pub mod static_files;
