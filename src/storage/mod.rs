//! Binary storage behind one small interface, on `object_store` (local files now; S3 slots in
//! by URL). Writes stream through a SHA-256 hasher in bounded parts and become visible only when
//! complete; reads stream in chunks, ranged. No whole file is ever held in memory.
mod file_chunks;

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use bytes::{Bytes, BytesMut};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectStore, PutPayload};
use sha2::{Digest, Sha256};

/// What a completed write produced.
#[derive(Debug, Clone)]
pub struct StoredBlob {
    pub size: u64,
    pub sha256: String,
    /// CRC-32 (for ZIP entries), computed in the same pass.
    pub crc32: u32,
}

/// Why a write failed. Every variant leaves nothing behind in storage.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    #[error("upload exceeds the limit of {0} bytes")]
    TooLarge(u64),
    #[error("storage is full")]
    StorageFull,
    #[error("the upload was interrupted: {0}")]
    Body(String),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

impl From<PutError> for crate::error::AppError {
    fn from(e: PutError) -> Self {
        use crate::error::AppError;
        match e {
            PutError::TooLarge(n) => {
                AppError::TooLarge(format!("uploads are limited to {n} bytes"))
            }
            PutError::StorageFull => AppError::StorageFull,
            PutError::Body(m) => AppError::BadRequest(format!("the upload was interrupted: {m}")),
            PutError::Store(e) => AppError::Internal(e),
        }
    }
}

pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Bytes buffered per part before it is handed to the store.
    part_size: usize,
    /// For `file://`: the root directory, read directly on the download path (see `get`).
    local_root: Option<PathBuf>,
}

/// Chunk size of local reads: big enough to keep syscalls and wakeups rare.
const READ_CHUNK: usize = 1024 * 1024;

impl Storage {
    /// `file://<dir>`; the directory is created if missing.
    pub fn from_url(url: &str) -> anyhow::Result<Storage> {
        if let Some(dir) = url.strip_prefix("file://") {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let dir = dir.canonicalize()?;
            let store = LocalFileSystem::new_with_prefix(&dir)?;
            return Ok(Storage {
                store: Arc::new(store),
                part_size: 1024 * 1024,
                local_root: Some(dir),
            });
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            return Storage::s3(rest);
        }
        anyhow::bail!("ASSETPORT_STORAGE must be file://<dir> or s3://<bucket>[/<prefix>]")
    }

    /// `s3://bucket/prefix` with the standard `AWS_*` variables; `AWS_ENDPOINT_URL` points at
    /// an S3-compatible store (MinIO, Ceph, R2, moto), plain HTTP allowed when it says `http://`.
    fn s3(rest: &str) -> anyhow::Result<Storage> {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            anyhow::bail!("ASSETPORT_STORAGE=s3://<bucket>[/<prefix>] needs a bucket");
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if std::env::var("AWS_DEFAULT_REGION").is_err() && std::env::var("AWS_REGION").is_err() {
            builder = builder.with_region("us-east-1");
        } else if let Ok(region) = std::env::var("AWS_REGION") {
            builder = builder.with_region(region);
        }
        if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
            if !endpoint.is_empty() {
                builder = builder
                    .with_allow_http(endpoint.starts_with("http://"))
                    .with_endpoint(endpoint);
            }
        }
        let s3 = builder.build().context("configuring S3 storage")?;
        let prefix = prefix.trim_matches('/');
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, prefix))
        };
        Ok(Storage {
            store,
            // S3 refuses multipart parts under 5 MiB (but the last); two parts in flight
            // per upload keep memory at 16 MiB.
            part_size: 8 * 1024 * 1024,
            local_root: None,
        })
    }

    /// Streams `body` to `key`, hashing as it goes. The object appears only once the whole
    /// body is written; on any error the partial upload is aborted and removed.
    pub async fn put_stream<S, E>(
        &self,
        key: &str,
        body: S,
        max: u64,
    ) -> Result<StoredBlob, PutError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let path = StorePath::from(key);
        let mut upload = self.store.put_multipart(&path).await.map_err(store_err)?;
        let result = self.write_parts(&mut *upload, body, max).await;
        match result {
            Ok(blob) => match upload.complete().await {
                Ok(_) => Ok(blob),
                Err(e) => {
                    let _ = upload.abort().await;
                    Err(store_err(e))
                }
            },
            Err(e) => {
                let _ = upload.abort().await;
                Err(e)
            }
        }
    }

    async fn write_parts<S, E>(
        &self,
        upload: &mut dyn object_store::MultipartUpload,
        body: S,
        max: u64,
    ) -> Result<StoredBlob, PutError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let mut body = std::pin::pin!(body);
        let mut hasher = Sha256::new();
        let mut crc = crc32fast::Hasher::new();
        let mut size: u64 = 0;
        let mut buf = BytesMut::with_capacity(self.part_size);
        // One part may be in flight while the next is read: network and disk overlap, and
        // memory stays at two parts per upload.
        let mut in_flight: Option<tokio::task::JoinHandle<object_store::Result<()>>> = None;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| PutError::Body(e.to_string()))?;
            size += chunk.len() as u64;
            if size > max {
                return Err(PutError::TooLarge(max));
            }
            hasher.update(&chunk);
            crc.update(&chunk);
            // Parts are cut at exactly `part_size`, each into a buffer allocated once at that
            // size: growing a buffer past it would reallocate in doubling steps.
            let mut rest = &chunk[..];
            while !rest.is_empty() {
                let take = rest.len().min(self.part_size - buf.len());
                buf.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if buf.len() == self.part_size {
                    if let Some(prev) = in_flight.take() {
                        join_part(prev).await?;
                    }
                    let full = std::mem::replace(&mut buf, BytesMut::with_capacity(self.part_size));
                    let part = PutPayload::from(full.freeze());
                    in_flight = Some(tokio::spawn(upload.put_part(part)));
                }
            }
        }
        if let Some(prev) = in_flight.take() {
            join_part(prev).await?;
        }
        if !buf.is_empty() || size == 0 {
            upload
                .put_part(PutPayload::from(buf.freeze()))
                .await
                .map_err(store_err)?;
        }
        Ok(StoredBlob {
            size,
            sha256: hex::encode(hasher.finalize()),
            crc32: crc.finalize(),
        })
    }

    /// Streams `range` (or everything) of `key`.
    pub async fn get(&self, key: &str, range: Option<Range<u64>>) -> anyhow::Result<ByteStream> {
        if let Some(root) = &self.local_root {
            return local_get(root.join(key), range).await;
        }
        let opts = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let result = self.store.get_opts(&StorePath::from(key), opts).await?;
        let range = result.range.clone();
        Ok(match result.payload {
            // Local files: read big chunks on a blocking thread instead of object_store's
            // small default chunks; this is what keeps downloads at disk speed.
            GetResultPayload::File(file, _) => local_stream(file, range),
            GetResultPayload::Stream(s) => coalesce(s.map_err(std::io::Error::other)).boxed(),
        })
    }

    /// Joins `parts` (keys, in order, with their sizes) into one new object `key` and hashes it.
    /// On local storage the first part becomes the object and the others are appended to it by
    /// the kernel (`copy_file_range`), so each byte is written once; the first part is cut back
    /// to its own size first, which makes a retried join safe. Elsewhere the parts are streamed
    /// through `put_stream`. The parts are gone afterwards (the first one by the rename).
    pub async fn join(&self, parts: &[(String, u64)], key: &str) -> Result<StoredBlob, PutError> {
        let total: u64 = parts.iter().map(|(_, n)| n).sum();
        if parts.is_empty() {
            // A zero-length upload: an empty file is a valid asset.
            let empty = futures_util::stream::empty::<Result<Bytes, std::io::Error>>();
            return self.put_stream(key, empty, 0).await;
        }
        let Some(root) = self.local_root.clone() else {
            let keys: Vec<String> = parts.iter().map(|(k, _)| k.clone()).collect();
            let store = self.clone();
            let joined = futures_util::stream::iter(keys)
                .then(move |k| {
                    let s = store.clone();
                    async move { s.get(&k, None).await.map_err(std::io::Error::other) }
                })
                .try_flatten()
                .boxed();
            let blob = self.put_stream(key, joined, total).await?;
            for (k, _) in parts {
                let _ = self.delete(k).await;
            }
            return Ok(blob);
        };
        let parts = parts.to_vec();
        let key = key.to_string();
        tokio::task::spawn_blocking(move || join_local(&root, &parts, &key))
            .await
            .map_err(|e| PutError::Store(anyhow::anyhow!("join task failed: {e}")))?
    }

    /// The file behind `key` when storage is a local directory (decoders read it in place).
    pub fn local_path(&self, key: &str) -> Option<PathBuf> {
        self.local_root.as_ref().map(|root| root.join(key))
    }

    /// Copies `key` into the local file `dest`, streaming (for stores that are not local).
    pub async fn fetch_to_file(&self, key: &str, dest: &std::path::Path) -> anyhow::Result<()> {
        use tokio::io::AsyncWriteExt;
        let mut out = tokio::fs::File::create(dest).await?;
        let mut body = self.get(key, None).await?;
        while let Some(chunk) = body.next().await {
            out.write_all(&chunk?).await?;
        }
        out.flush().await?;
        Ok(())
    }

    /// Stores the local file `src` as `key` (renditions: small files written by the renderer).
    pub async fn put_file(&self, key: &str, src: &std::path::Path) -> Result<StoredBlob, PutError> {
        let file = tokio::fs::File::open(src)
            .await
            .map_err(|e| PutError::Store(e.into()))?;
        let body = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
        self.put_stream(key, body, u64::MAX).await
    }

    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self.store.delete(&StorePath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Size of `key`, or None when absent.
    pub async fn size(&self, key: &str) -> anyhow::Result<Option<u64>> {
        match self.store.head(&StorePath::from(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Every key under `prefix` (for fsck and tests).
    pub async fn list(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let prefix = StorePath::from(prefix);
        let metas: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        Ok(metas.into_iter().map(|m| m.location.to_string()).collect())
    }

    /// Every object with its last change, for fsck. On local storage the directory is walked
    /// itself, so files object_store left half-written (a crash mid-upload) are seen too.
    pub async fn inventory(&self) -> anyhow::Result<Vec<(String, std::time::SystemTime)>> {
        if let Some(root) = self.local_root.clone() {
            return tokio::task::spawn_blocking(move || {
                let mut out = Vec::new();
                for entry in walkdir::WalkDir::new(&root) {
                    let entry = entry?;
                    if !entry.file_type().is_file() {
                        continue;
                    }
                    let rel = entry
                        .path()
                        .strip_prefix(&root)?
                        .to_string_lossy()
                        .to_string();
                    let modified = entry.metadata()?.modified()?;
                    out.push((rel, modified));
                }
                Ok(out)
            })
            .await?;
        }
        let metas: Vec<_> = self.store.list(None).try_collect().await?;
        Ok(metas
            .into_iter()
            .map(|m| (m.location.to_string(), m.last_modified.into()))
            .collect())
    }

    /// Removes an object by key, or a local file object_store would not name (fsck repairs).
    pub async fn remove_any(&self, key: &str) -> anyhow::Result<()> {
        match &self.local_root {
            Some(root) => {
                let path = root.join(key);
                // Keys come from our own walk of the root; refuse anything that would leave it.
                if !path.starts_with(root) || key.split('/').any(|s| s == "..") {
                    anyhow::bail!("refusing to remove {key}");
                }
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
            None => self.delete(key).await,
        }
    }

    /// Readiness: the store answers a listing.
    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut s = self.store.list(Some(&StorePath::from("originals")));
        if let Some(r) = s.next().await {
            r?;
        }
        Ok(())
    }
}

fn join_local(
    root: &std::path::Path,
    parts: &[(String, u64)],
    key: &str,
) -> Result<StoredBlob, PutError> {
    use std::io::Read;
    let io = |e: std::io::Error| {
        if matches!(e.raw_os_error(), Some(28) | Some(122)) {
            PutError::StorageFull
        } else {
            PutError::Store(e.into())
        }
    };
    let (first, first_size) = parts
        .first()
        .ok_or_else(|| PutError::Store(anyhow::anyhow!("nothing to join")))?;
    let head = root.join(first);
    {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .open(&head)
            .map_err(io)?;
        out.set_len(*first_size).map_err(io)?;
        use std::io::Seek;
        out.seek(std::io::SeekFrom::End(0)).map_err(io)?;
        for (part, _) in &parts[1..] {
            let mut src = std::fs::File::open(root.join(part)).map_err(io)?;
            std::io::copy(&mut src, &mut out).map_err(io)?;
        }
    }
    let mut file = std::fs::File::open(&head).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut crc = crc32fast::Hasher::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        crc.update(&buf[..n]);
        size += n as u64;
    }
    let target = root.join(key);
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::rename(&head, &target).map_err(io)?;
    for (part, _) in &parts[1..] {
        let _ = std::fs::remove_file(root.join(part));
    }
    Ok(StoredBlob {
        size,
        sha256: hex::encode(hasher.finalize()),
        crc32: crc.finalize(),
    })
}

/// Storage key of a version's original: sharded so no directory grows without bound.
pub fn original_key(version_id: &str) -> String {
    let shard = &version_id[version_id.len().saturating_sub(2)..];
    format!("originals/{shard}/{version_id}")
}

/// Storage key of a version's rendition (`thumb` or `preview`), sharded like originals.
pub fn rendition_key(version_id: &str, kind: &str) -> String {
    let shard = &version_id[version_id.len().saturating_sub(2)..];
    format!("renditions/{shard}/{version_id}/{kind}.jpg")
}

async fn join_part(h: tokio::task::JoinHandle<object_store::Result<()>>) -> Result<(), PutError> {
    h.await
        .map_err(|e| PutError::Store(anyhow::anyhow!("upload task failed: {e}")))?
        .map_err(store_err)
}

fn store_err(e: object_store::Error) -> PutError {
    if is_storage_full(&e) {
        PutError::StorageFull
    } else {
        PutError::Store(e.into())
    }
}

/// ENOSPC / EDQUOT anywhere in the error chain means the disk is full (507).
fn is_storage_full(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if matches!(io.raw_os_error(), Some(28) | Some(122))
                || io.kind() == std::io::ErrorKind::StorageFull
            {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

/// Merges the small chunks an HTTP client hands over (often 8–16 KiB) into fewer, bigger ones:
/// whatever has already arrived is taken at once (up to 64 chunks), never waiting for more.
/// Each chunk passed on costs a wakeup and a write to the client, so fewer chunks mean less CPU
/// per byte when downloads are proxied from S3.
fn coalesce<S>(inner: S) -> impl futures_util::Stream<Item = std::io::Result<Bytes>>
where
    S: futures_util::Stream<Item = std::io::Result<Bytes>> + Send,
{
    inner.ready_chunks(64).map(|mut chunks| {
        if chunks.len() == 1 {
            if let Some(only) = chunks.pop() {
                return only;
            }
        }
        let chunks: Vec<Bytes> = chunks.into_iter().collect::<std::io::Result<_>>()?;
        let mut out = bytes::BytesMut::with_capacity(chunks.iter().map(Bytes::len).sum());
        for chunk in &chunks {
            out.extend_from_slice(chunk);
        }
        Ok(out.freeze())
    })
}

/// Reads exactly `n` bytes into a fresh buffer, without zeroing it first (a measurable cost at
/// disk speed). A file that ends early is an error: it changed under us.
fn read_chunk(file: &mut std::fs::File, n: usize) -> std::io::Result<Bytes> {
    use std::io::Read;
    let mut buf = Vec::with_capacity(n);
    file.take(n as u64).read_to_end(&mut buf)?;
    if buf.len() < n {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Bytes::from(buf))
}

/// Local files: opened on the runtime thread when the kernel can do it from its caches
/// (`file_chunks::open_cached`), then read by `FileChunks`, so a hot file costs no hand-off at
/// all. Otherwise open, size and the first chunk go in one trip to a blocking thread.
async fn local_get(path: PathBuf, range: Option<Range<u64>>) -> anyhow::Result<ByteStream> {
    use std::io::{Seek, SeekFrom};
    if let Some(file) = file_chunks::open_cached(&path)? {
        let range = clamp(range, file.metadata()?.len());
        return Ok(local_stream(file, range));
    }
    let opened = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
        let mut file = std::fs::File::open(&path)?;
        let range = clamp(range, file.metadata()?.len());
        if range.start > 0 {
            file.seek(SeekFrom::Start(range.start))?;
        }
        let want = (range.end - range.start).min(READ_CHUNK as u64) as usize;
        let first = read_chunk(&mut file, want)?;
        Ok((file, first, range.start + want as u64..range.end))
    })
    .await??;
    let (file, first, rest) = opened;
    let head = futures_util::stream::once(async move { Ok(first) });
    if rest.is_empty() {
        return Ok(head.boxed());
    }
    Ok(head.chain(local_stream(file, rest)).boxed())
}

/// `range` (or everything) within a file of `size` bytes.
fn clamp(range: Option<Range<u64>>, size: u64) -> Range<u64> {
    match range {
        Some(r) => r.start.min(size)..r.end.min(size),
        None => 0..size,
    }
}

/// Streams `range` of an open file (read by offset; its position does not matter).
fn local_stream(file: std::fs::File, range: Range<u64>) -> ByteStream {
    file_chunks::FileChunks::new(file, range, READ_CHUNK).boxed()
}
