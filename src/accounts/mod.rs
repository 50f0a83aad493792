//! Accounts: users, groups, sessions, API tokens, login and its throttle.
pub mod actions;
pub mod api;
pub mod auth;
pub mod groups;
pub mod invitations;
pub mod invite_pages;
pub mod nav;
pub mod pages;
pub mod password;
pub mod self_pages;
pub mod selfservice;
pub mod session_store;
pub mod throttle;
pub mod tokens;
pub mod users;

pub use auth::{ApiAdmin, ApiUser, PageAdmin, PageUser};
pub use users::{Account, Role};
