//! The library: folders (the tree, grants), assets and their versions, uploads, and the pages
//! and API routes over them.
pub mod actions;
pub mod alerts;
pub mod api;
pub mod assets;
pub mod bulk;
pub mod card;
pub mod checkout;
pub mod folders;
pub mod listing;
pub mod outcomes;
pub mod pages;
pub mod review;
pub mod tus;
pub mod upload;
pub mod zip;
