//! HTTP building blocks that are not tied to one feature: byte ranges, download responses,
//! Content-Disposition.
pub mod disposition;
pub mod download;
pub mod range;
