//! One ZIP of many stored binaries, written while it is sent: entries are read from storage one
//! after the other and piped through a small in-memory pipe, so memory stays constant whatever
//! the archive's size, and nothing touches the disk. Already-compressed media is stored as is;
//! other files are deflated.
use std::collections::HashSet;

use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipDateTimeBuilder, ZipEntryBuilder};
use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use futures_util::{AsyncWriteExt as _, StreamExt};
use tokio::sync::oneshot;
use tokio_util::compat::TokioAsyncWriteCompatExt;
use tokio_util::io::ReaderStream;

use super::disposition::content_disposition;
use crate::storage::Storage;

/// Pipe between the ZIP writer and the response: large enough for whole storage chunks.
const PIPE: usize = 512 * 1024;

/// One file of the archive.
pub struct Entry {
    /// Path inside the archive, already made safe and unique by `Names`.
    pub name: String,
    pub key: String,
    pub media_type: String,
    pub modified_ms: i64,
}

/// Makes entry names safe (each segment through the filename sanitiser) and unique
/// case-insensitively (`a.jpg`, `a (2).jpg`), as extractors on Windows and macOS need.
#[derive(Default)]
pub struct Names {
    taken: HashSet<String>,
}

impl Names {
    /// `folder` is a relative path of already-valid folder names (may be empty).
    pub fn unique(&mut self, folder: &[String], filename: &str) -> String {
        let mut segments: Vec<String> = folder
            .iter()
            .map(|s| crate::sanitize::name(s).unwrap_or_else(|_| "folder".into()))
            .collect();
        let file = crate::sanitize::name(filename).unwrap_or_else(|_| "file".into());
        let (stem, ext) = match file.rfind('.') {
            Some(i) if i > 0 => (file[..i].to_string(), file[i..].to_string()),
            _ => (file.clone(), String::new()),
        };
        let prefix = segments.join("/");
        let join = |f: &str| {
            if prefix.is_empty() {
                f.to_string()
            } else {
                format!("{prefix}/{f}")
            }
        };
        let mut candidate = join(&file);
        let mut n = 2;
        while !self.taken.insert(candidate.to_lowercase()) {
            candidate = join(&format!("{stem} ({n}){ext}"));
            n += 1;
        }
        segments.clear();
        candidate
    }
}

/// Media types whose bytes are already compressed: deflating them again costs CPU for nothing.
fn already_compressed(media_type: &str) -> bool {
    let t = media_type.to_ascii_lowercase();
    t.starts_with("image/") && t != "image/svg+xml" && t != "image/bmp" && t != "image/tiff"
        || t.starts_with("video/")
        || t.starts_with("audio/")
        || matches!(
            t.as_str(),
            "application/zip"
                | "application/gzip"
                | "application/x-7z-compressed"
                | "application/x-rar-compressed"
                | "application/pdf"
                | "application/octet-stream"
                | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                | "application/vnd.openxmlformats-officedocument.presentationml.presentation"
                | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
}

/// A streaming `application/zip` response named `filename`. `done` is called once the whole
/// archive has been handed to the connection (a completed download), never on failure.
pub fn response(
    storage: Storage,
    entries: Vec<Entry>,
    filename: &str,
    done: Box<dyn FnOnce() + Send>,
) -> Response {
    let (writer, reader) = tokio::io::duplex(PIPE);
    let (result_tx, result_rx) = oneshot::channel::<Result<(), String>>();
    tokio::spawn(async move {
        let result = write_archive(&storage, entries, writer).await;
        if let Err(e) = &result {
            tracing::warn!(error = %e, "ZIP stream stopped");
        }
        let _ = result_tx.send(result.map_err(|e| e.to_string()));
    });
    // After the pipe's end, the writer's verdict decides: a failed archive ends the body with an
    // error (the client sees a broken transfer), never with a clean end on a truncated file.
    let tail = futures_util::stream::once(async move {
        match result_rx.await {
            Ok(Ok(())) => {
                done();
                None
            }
            Ok(Err(e)) => Some(Err(std::io::Error::other(e))),
            Err(_) => Some(Err(std::io::Error::other("ZIP writer vanished"))),
        }
    })
    .filter_map(|x| async move { x });
    let body = ReaderStream::with_capacity(reader, PIPE).chain(tail);
    let mut r = Response::new(Body::from_stream(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&content_disposition(false, filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

async fn write_archive(
    storage: &Storage,
    entries: Vec<Entry>,
    writer: tokio::io::DuplexStream,
) -> anyhow::Result<()> {
    let mut zip = ZipFileWriter::new(writer.compat_write());
    for e in entries {
        let compression = if already_compressed(&e.media_type) {
            Compression::Stored
        } else {
            Compression::Deflate
        };
        let t = crate::clock::from_ms(e.modified_ms);
        let date = ZipDateTimeBuilder::new()
            .year(t.year().clamp(1980, 2107))
            .month(u8::from(t.month()).into())
            .day(t.day().into())
            .hour(t.hour().into())
            .minute(t.minute().into())
            .second(t.second().into())
            .build();
        let builder = ZipEntryBuilder::new(e.name.into(), compression)
            .last_modification_date(date)
            .unix_permissions(0o644);
        let mut data = storage.get(&e.key, None).await?;
        let mut entry = zip.write_entry_stream(builder).await?;
        while let Some(chunk) = data.next().await {
            entry.write_all(&chunk?).await?;
        }
        entry.close().await?;
    }
    let mut inner = zip.close().await?;
    inner.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_case_insensitively_and_safe() {
        let mut n = Names::default();
        assert_eq!(n.unique(&[], "a.jpg"), "a.jpg");
        assert_eq!(n.unique(&[], "A.JPG"), "A (2).JPG");
        assert_eq!(n.unique(&[], "a.jpg"), "a (3).jpg");
        assert_eq!(n.unique(&["sub".into()], "a.jpg"), "sub/a.jpg");
        assert_eq!(n.unique(&[], "../../etc/passwd"), "file");
        assert_eq!(n.unique(&[], "noext"), "noext");
        assert_eq!(n.unique(&[], "noext"), "noext (2)");
    }
}
