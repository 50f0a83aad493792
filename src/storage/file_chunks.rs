//! A local file as a stream of chunks, read on the runtime thread when the bytes are already in
//! the page cache and on a blocking thread only when they are not.
//!
//! A download or a ZIP used to read every chunk on a blocking thread and pass it back through a
//! channel: two thread switches per chunk, which on a 2-core machine cost more than the copying.
//! `preadv2(RWF_NOWAIT)` (Linux) returns cached bytes at once and refuses, instead of waiting,
//! when it would have to go to the disk; only then does a chunk go to a blocking thread. So the
//! runtime never waits on a disk, and the common case (hot files) has no hand-off at all.
use std::fs::File;
use std::future::Future;
use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use tokio::task::JoinHandle;

pub struct FileChunks {
    file: Arc<File>,
    pos: u64,
    end: u64,
    chunk: usize,
    /// Cleared when the filesystem does not support non-blocking reads.
    nowait: bool,
    pending: Option<JoinHandle<io::Result<Bytes>>>,
}

impl FileChunks {
    /// Streams `range` of `file` in chunks of at most `chunk` bytes. The file's own position
    /// is not used.
    pub fn new(file: File, range: Range<u64>, chunk: usize) -> FileChunks {
        FileChunks {
            file: Arc::new(file),
            pos: range.start,
            end: range.end,
            chunk,
            nowait: cfg!(target_os = "linux"),
            pending: None,
        }
    }

    fn advance(&mut self, r: io::Result<Bytes>) -> Poll<Option<io::Result<Bytes>>> {
        match r {
            Ok(b) => {
                self.pos += b.len() as u64;
                Poll::Ready(Some(Ok(b)))
            }
            Err(e) => {
                self.pos = self.end; // the stream ends after an error
                Poll::Ready(Some(Err(e)))
            }
        }
    }
}

impl Stream for FileChunks {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(handle) = &mut this.pending {
            let joined = match Pin::new(handle).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(j) => j,
            };
            this.pending = None;
            return this.advance(joined.map_err(io::Error::other).and_then(|r| r));
        }
        if this.pos >= this.end {
            return Poll::Ready(None);
        }
        let want = (this.end - this.pos).min(this.chunk as u64) as usize;
        if this.nowait {
            match read_nowait(&this.file, this.pos, want) {
                Ok(Some(b)) => return this.advance(Ok(b)),
                Ok(None) => {} // not cached: read it on a blocking thread
                Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => this.nowait = false,
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => this.nowait = false,
                Err(e) => return this.advance(Err(e)),
            }
        }
        let file = this.file.clone();
        let pos = this.pos;
        this.pending = Some(tokio::task::spawn_blocking(move || {
            read_exact_at(&file, pos, want)
        }));
        self.poll_next(cx)
    }
}

/// Opens `path` read-only if every part of the path is in the kernel's lookup caches
/// (`openat2` with `RESOLVE_CACHED`, Linux 5.12+): then no disk is touched and the call is as
/// cheap as a `stat`. `None` when it would have to wait or the kernel lacks it; the caller
/// then opens the file on a blocking thread.
#[cfg(target_os = "linux")]
pub fn open_cached(path: &std::path::Path) -> io::Result<Option<File>> {
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return Ok(None);
    };
    // SAFETY: open_how is plain integers; all-zero is its documented default.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_RDONLY | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_CACHED;
    // SAFETY: `c_path` is a NUL-terminated string and `how` a valid open_how of the size given;
    // both outlive the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            c_path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            // Not cached, not supported by this kernel, or refused by a seccomp filter.
            Some(libc::EAGAIN | libc::ENOSYS | libc::EINVAL | libc::EPERM | libc::E2BIG) => {
                Ok(None)
            }
            _ => Err(e),
        };
    }
    // SAFETY: the kernel returned a new file descriptor that nothing else owns.
    Ok(Some(unsafe { File::from_raw_fd(fd as i32) }))
}

#[cfg(not(target_os = "linux"))]
pub fn open_cached(_path: &std::path::Path) -> io::Result<Option<File>> {
    Ok(None)
}

fn read_exact_at(file: &File, pos: u64, n: usize) -> io::Result<Bytes> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; n];
    file.read_exact_at(&mut buf, pos)?;
    Ok(Bytes::from(buf))
}

/// Up to `want` bytes at `pos` if the page cache has them now; `None` if the read would wait.
#[cfg(target_os = "linux")]
fn read_nowait(file: &File, pos: u64, want: usize) -> io::Result<Option<Bytes>> {
    use std::os::fd::AsRawFd;
    let mut buf = BytesMut::with_capacity(want);
    let iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: want,
    };
    // SAFETY: the iovec points at `want` writable bytes of `buf`, which outlives the call; the
    // kernel writes at most that many and reports how many, which is all `set_len` exposes.
    let n = unsafe {
        libc::preadv2(
            file.as_raw_fd(),
            &iov,
            1,
            pos as libc::off_t,
            libc::RWF_NOWAIT,
        )
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(e)
        };
    }
    if n == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    // SAFETY: the kernel initialised the first `n` bytes (n <= want <= capacity).
    unsafe { buf.set_len(n as usize) };
    Ok(Some(buf.freeze()))
}

#[cfg(not(target_os = "linux"))]
fn read_nowait(_file: &File, _pos: u64, _want: usize) -> io::Result<Option<Bytes>> {
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::io::Write;

    #[test]
    fn a_cached_open_reads_the_file_or_declines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello").unwrap();
        if let Some(f) = open_cached(&path).unwrap() {
            assert_eq!(&read_exact_at(&f, 0, 5).unwrap()[..], b"hello");
        }
        match open_cached(&dir.path().join("missing")) {
            Ok(None) => {}
            Ok(Some(_)) => panic!("opened a missing file"),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::NotFound),
        }
    }

    #[tokio::test]
    async fn streams_exactly_the_range_in_chunks() {
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).unwrap();
        let chunks: Vec<Bytes> = FileChunks::new(f.try_clone().unwrap(), 10..90_010, 4096)
            .map(|c| c.unwrap())
            .collect()
            .await;
        assert!(chunks.iter().all(|c| c.len() <= 4096));
        assert_eq!(chunks.concat(), data[10..90_010]);
        // A range past the end of the file is an error, not a short stream.
        let r: Vec<io::Result<Bytes>> = FileChunks::new(f, 99_000..101_000, 4096).collect().await;
        assert!(r.iter().any(|c| c.is_err()));
    }
}
