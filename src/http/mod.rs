//! HTTP building blocks that are not tied to one feature: byte ranges, download responses,
//! Content-Disposition, streamed ZIPs, completed-transfer callbacks.
pub mod completion;
pub mod disposition;
pub mod download;
pub mod range;
pub mod zip;
