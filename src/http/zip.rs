//! One ZIP of many stored binaries, written while it is sent. Entries are read from storage one
//! after the other and their chunks go to the connection as they are (stored entries are not
//! copied at all), framed by local headers and data descriptors; only the central directory
//! (a few dozen bytes per entry) is kept until the end. Nothing touches the disk, and memory
//! does not grow with file sizes. Already-compressed media is stored; other files are deflated.
//! ZIP64 records appear when sizes or offsets need them.
//!
//! Written here rather than with a ZIP crate: the crates we tried copy every byte through an
//! `AsyncWrite` (and a task and pipe behind it), which cost a third of the throughput; this is
//! the hot path of "download all".
use std::collections::{HashMap, HashSet, VecDeque};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use bytes::{BufMut, Bytes, BytesMut};
use flate2::{Compress, Compression, FlushCompress, Status};
use futures_util::{FutureExt, Stream};

use super::disposition::content_disposition;
use crate::sanitize;
use crate::storage::{ByteStream, Storage};

/// One file of the archive.
pub struct Entry {
    /// Path inside the archive, already made safe and unique by `Names`.
    pub name: String,
    pub key: String,
    pub media_type: String,
    /// Size in storage (decides ZIP64 before the bytes are read).
    pub size: u64,
    /// CRC-32 recorded at upload: a stored entry then needs neither a checksum pass nor a
    /// data descriptor.
    pub crc32: Option<u32>,
    pub modified_ms: i64,
    /// Bytes made for this archive (a licence text), sent instead of reading `key`.
    pub data: Option<Bytes>,
}

/// Makes entry names safe and unique. Every segment goes through `sanitize::download_name`
/// (NFC, no separators, drive letters or dot segments), then names are made unique
/// case-insensitively (`a.jpg`, `a (2).jpg`), as extractors on Windows and macOS need, and a
/// file never shares its name with a folder (`Sub` and `Sub/x.jpg` become `Sub (2)` or the
/// folder `Sub (2)/`, whichever comes second).
#[derive(Default)]
pub struct Names {
    /// Lower-cased paths of the files so far.
    files: HashSet<String>,
    /// Lower-cased paths of the folders so far (every prefix of every file's folder).
    dirs: HashSet<String>,
    /// A folder path as given (sanitised, lower-cased) → the folder path it got in the archive,
    /// so every file of one folder lands in the same (possibly renamed) folder.
    dir_names: HashMap<String, String>,
}

impl Names {
    /// `folder` is the file's folder path below the archive's root (may be empty).
    pub fn unique(&mut self, folder: &[String], filename: &str) -> String {
        let prefix = self.folder(folder);
        let file = sanitize::download_name(filename, "file");
        let (stem, ext) = match file.rfind('.') {
            Some(i) if i > 0 => (&file[..i], &file[i..]),
            _ => (file.as_str(), ""),
        };
        let mut candidate = join(&prefix, &file);
        let mut n = 2;
        while self.dirs.contains(&candidate.to_lowercase())
            || !self.files.insert(candidate.to_lowercase())
        {
            candidate = join(&prefix, &format!("{stem} ({n}){ext}"));
            n += 1;
        }
        candidate
    }

    /// The archive path of a folder, each level renamed if a file already took its name.
    fn folder(&mut self, folder: &[String]) -> String {
        let mut given = String::new();
        let mut placed = String::new();
        for seg in folder {
            let seg = sanitize::download_name(seg, "folder");
            given = join(&given, &seg.to_lowercase());
            if let Some(p) = self.dir_names.get(&given) {
                placed = p.clone();
                continue;
            }
            let mut candidate = join(&placed, &seg);
            let mut n = 2;
            while self.files.contains(&candidate.to_lowercase()) {
                candidate = join(&placed, &format!("{seg} ({n})"));
                n += 1;
            }
            self.dirs.insert(candidate.to_lowercase());
            self.dir_names.insert(given.clone(), candidate.clone());
            placed = candidate;
        }
        placed
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
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

/// Where each entry's data sits in the archive's bytes, in entry order, as far as the stream
/// has got: the offset after its local header, and (once its last byte is emitted) the
/// offset after its data. With the number of bytes a client was handed (`completion`) this
/// says which files reached it whole (`delivery` turns that into receipts).
#[derive(Clone, Default)]
pub struct Marks(std::sync::Arc<std::sync::Mutex<Vec<Mark>>>);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    pub data_start: u64,
    pub data_end: Option<u64>,
}

impl Marks {
    pub fn snapshot(&self) -> Vec<Mark> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    fn start(&self, at: u64) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(Mark {
            data_start: at,
            data_end: None,
        });
    }
    fn end(&self, at: u64) {
        if let Some(m) = self.0.lock().unwrap_or_else(|e| e.into_inner()).last_mut() {
            m.data_end = Some(at);
        }
    }
}

/// A streaming `application/zip` response named `filename`. How it ended (sent whole or cut
/// short) is for the caller to observe (`completion::on_end`, as `delivery` does), and how far
/// each entry got through `marks`.
pub fn response(storage: Storage, entries: Vec<Entry>, filename: &str, marks: Marks) -> Response {
    let mut stream = ZipStream::new(storage, entries, ZIP64_FROM);
    stream.marks = marks;
    let mut r = Response::new(Body::from_stream(stream));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&content_disposition(false, filename)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    crate::web::headers::mark_private(h);
    r
}

const LOCAL_HEADER: u32 = 0x0403_4b50;
const DATA_DESCRIPTOR: u32 = 0x0807_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL: u32 = 0x0605_4b50;
const ZIP64_END: u32 = 0x0606_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
/// Bit 11: names are UTF-8.
const UTF8: u16 = 0x0800;
/// Bit 3: sizes and CRC follow the data, in a data descriptor.
const DESCRIPTOR: u16 = 0x0008;
/// An entry this big (or an offset this far) needs ZIP64; the margin covers deflate overhead.
const ZIP64_FROM: u64 = 0xFFFF_0000;
const MAX32: u32 = 0xFFFF_FFFF;

/// A binary being opened on a task of its own, so the next file's open and first read overlap
/// with sending the current one (otherwise each file start leaves the connection idle).
type Opening = tokio::task::JoinHandle<anyhow::Result<ByteStream>>;

fn open_in_background(storage: &Storage, e: &Entry) -> Opening {
    if let Some(data) = e.data.clone() {
        return tokio::spawn(async move {
            let once: ByteStream = Box::pin(futures_util::stream::once(async move { Ok(data) }));
            Ok(once)
        });
    }
    let storage = storage.clone();
    let key = e.key.clone();
    tokio::spawn(async move { storage.get(&key, None).await })
}

enum State {
    Next,
    Opening(Opening, Open),
    Data(ByteStream, Open),
    Finished,
}

/// The entry being written.
struct Open {
    name: String,
    offset: u64,
    zip64: bool,
    deflate: Option<Box<Compress>>,
    /// The checksum and size were known and written up front (no descriptor).
    known: Option<(u32, u64)>,
    crc: crc32fast::Hasher,
    size: u64,
    compressed: u64,
    dos_time: u16,
    dos_date: u16,
}

struct ZipStream {
    storage: Storage,
    entries: VecDeque<Entry>,
    state: State,
    /// Bytes emitted so far: the next local header's offset.
    offset: u64,
    central: BytesMut,
    count: u64,
    /// Entries from this size on get ZIP64 records (lowered by tests).
    zip64_from: u64,
    /// The next entry's binary, already being opened.
    prefetch: Option<Opening>,
    marks: Marks,
}

impl ZipStream {
    fn new(storage: Storage, entries: Vec<Entry>, zip64_from: u64) -> Self {
        ZipStream {
            storage,
            entries: entries.into(),
            state: State::Next,
            offset: 0,
            central: BytesMut::new(),
            count: 0,
            zip64_from,
            prefetch: None,
            marks: Marks::default(),
        }
    }
}

impl Stream for ZipStream {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match std::mem::replace(&mut this.state, State::Finished) {
                State::Next => {
                    let Some(e) = this.entries.pop_front() else {
                        let tail = this.end_records();
                        return Poll::Ready(Some(Ok(tail)));
                    };
                    let (open, head) = this.local_header(&e);
                    this.marks.start(this.offset);
                    let opening = match this.prefetch.take() {
                        Some(o) => o,
                        None => open_in_background(&this.storage, &e),
                    };
                    this.state = State::Opening(opening, open);
                    return Poll::Ready(Some(Ok(head)));
                }
                State::Opening(mut fut, open) => match fut.poll_unpin(cx) {
                    Poll::Pending => {
                        this.state = State::Opening(fut, open);
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok(Ok(data))) => {
                        if let Some(next) = this.entries.front() {
                            this.prefetch = Some(open_in_background(&this.storage, next));
                        }
                        this.state = State::Data(data, open);
                    }
                    Poll::Ready(Ok(Err(e))) => {
                        return Poll::Ready(Some(Err(std::io::Error::other(e.to_string()))))
                    }
                    Poll::Ready(Err(e)) => {
                        return Poll::Ready(Some(Err(std::io::Error::other(e.to_string()))))
                    }
                },
                State::Data(mut data, mut open) => match data.as_mut().poll_next(cx) {
                    Poll::Pending => {
                        this.state = State::Data(data, open);
                        return Poll::Pending;
                    }
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                    Poll::Ready(Some(Ok(chunk))) => {
                        if open.known.is_none() {
                            open.crc.update(&chunk);
                        }
                        open.size += chunk.len() as u64;
                        let out = match &mut open.deflate {
                            None => chunk,
                            Some(c) => Bytes::from(deflate(c, &chunk, false)?),
                        };
                        open.compressed += out.len() as u64;
                        this.offset += out.len() as u64;
                        this.state = State::Data(data, open);
                        if !out.is_empty() {
                            return Poll::Ready(Some(Ok(out)));
                        }
                    }
                    Poll::Ready(None) => {
                        let mut out = BytesMut::new();
                        if let Some(c) = &mut open.deflate {
                            let tail = deflate(c, &[], true)?;
                            open.compressed += tail.len() as u64;
                            out.extend_from_slice(&tail);
                        }
                        this.marks.end(this.offset + out.len() as u64);
                        match open.known {
                            None => out.extend_from_slice(&this.data_descriptor(&open)),
                            // The header promised this size; anything else is a broken archive.
                            Some((_, size)) if size != open.size => {
                                return Poll::Ready(Some(Err(std::io::Error::other(format!(
                                    "{} changed size while zipping",
                                    open.name
                                )))))
                            }
                            Some(_) => {}
                        }
                        this.offset += out.len() as u64;
                        this.central_record(&open);
                        this.state = State::Next;
                        if out.is_empty() {
                            continue;
                        }
                        return Poll::Ready(Some(Ok(out.freeze())));
                    }
                },
                State::Finished => return Poll::Ready(None),
            }
        }
    }
}

/// Deflates `input` (raw deflate, fast level); `finish` flushes the end of the stream.
fn deflate(c: &mut Compress, mut input: &[u8], finish: bool) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() / 2 + 1024);
    let flush = if finish {
        FlushCompress::Finish
    } else {
        FlushCompress::None
    };
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(64 * 1024);
        }
        let before = c.total_in();
        let status = c
            .compress_vec(input, &mut out, flush)
            .map_err(std::io::Error::other)?;
        input = &input[(c.total_in() - before) as usize..];
        let finished = if finish {
            status == Status::StreamEnd
        } else {
            input.is_empty()
        };
        if finished {
            return Ok(out);
        }
    }
}

impl ZipStream {
    fn local_header(&mut self, e: &Entry) -> (Open, Bytes) {
        let zip64 = e.size >= self.zip64_from;
        let deflate = (!already_compressed(&e.media_type))
            .then(|| Box::new(Compress::new(Compression::fast(), false)));
        let known = match (&deflate, e.crc32) {
            (None, Some(crc)) => Some((crc, e.size)),
            _ => None,
        };
        let (dos_time, dos_date) = dos_datetime(e.modified_ms);
        let name = e.name.as_bytes();
        let mut h = BytesMut::with_capacity(30 + name.len() + 20);
        h.put_u32_le(LOCAL_HEADER);
        h.put_u16_le(if zip64 { 45 } else { 20 });
        h.put_u16_le(if known.is_some() {
            UTF8
        } else {
            UTF8 | DESCRIPTOR
        });
        h.put_u16_le(if deflate.is_some() { 8 } else { 0 });
        h.put_u16_le(dos_time);
        h.put_u16_le(dos_date);
        let (crc, size) = known.unwrap_or((0, 0));
        h.put_u32_le(crc);
        // ZIP64 sizes live in the extra field, with all-ones here.
        let small = if zip64 { MAX32 } else { size as u32 };
        h.put_u32_le(small);
        h.put_u32_le(small);
        h.put_u16_le(name.len() as u16);
        h.put_u16_le(if zip64 { 20 } else { 0 });
        h.put_slice(name);
        if zip64 {
            h.put_u16_le(0x0001);
            h.put_u16_le(16);
            h.put_u64_le(size);
            h.put_u64_le(size);
        }
        let open = Open {
            name: e.name.clone(),
            offset: self.offset,
            zip64,
            deflate,
            known,
            crc: crc32fast::Hasher::new(),
            size: 0,
            compressed: 0,
            dos_time,
            dos_date,
        };
        self.offset += h.len() as u64;
        (open, h.freeze())
    }

    fn data_descriptor(&self, open: &Open) -> Bytes {
        let mut d = BytesMut::with_capacity(24);
        d.put_u32_le(DATA_DESCRIPTOR);
        d.put_u32_le(open.crc.clone().finalize());
        if open.zip64 {
            d.put_u64_le(open.compressed);
            d.put_u64_le(open.size);
        } else {
            d.put_u32_le(open.compressed as u32);
            d.put_u32_le(open.size as u32);
        }
        d.freeze()
    }

    fn central_record(&mut self, open: &Open) {
        let big_size = open.zip64 || open.size >= MAX32 as u64 || open.compressed >= MAX32 as u64;
        let big_offset = open.offset >= MAX32 as u64;
        let mut extra = BytesMut::new();
        if big_size || big_offset {
            let mut fields = BytesMut::new();
            if big_size {
                fields.put_u64_le(open.size);
                fields.put_u64_le(open.compressed);
            }
            if big_offset {
                fields.put_u64_le(open.offset);
            }
            extra.put_u16_le(0x0001);
            extra.put_u16_le(fields.len() as u16);
            extra.put_slice(&fields);
        }
        let name = open.name.as_bytes();
        let c = &mut self.central;
        c.put_u32_le(CENTRAL_HEADER);
        c.put_u16_le((3 << 8) | 45); // made by Unix, spec 4.5
        c.put_u16_le(if big_size || big_offset { 45 } else { 20 });
        c.put_u16_le(if open.known.is_some() {
            UTF8
        } else {
            UTF8 | DESCRIPTOR
        });
        c.put_u16_le(if open.deflate.is_some() { 8 } else { 0 });
        c.put_u16_le(open.dos_time);
        c.put_u16_le(open.dos_date);
        c.put_u32_le(match open.known {
            Some((crc, _)) => crc,
            None => open.crc.clone().finalize(),
        });
        c.put_u32_le(if big_size {
            MAX32
        } else {
            open.compressed as u32
        });
        c.put_u32_le(if big_size { MAX32 } else { open.size as u32 });
        c.put_u16_le(name.len() as u16);
        c.put_u16_le(extra.len() as u16);
        c.put_u16_le(0); // comment
        c.put_u16_le(0); // disk
        c.put_u16_le(0); // internal attributes
        c.put_u32_le(0o100644 << 16); // a regular file, rw-r--r--
        c.put_u32_le(if big_offset {
            MAX32
        } else {
            open.offset as u32
        });
        c.put_slice(name);
        c.put_slice(&extra);
        self.count += 1;
    }

    /// The central directory and the end records (ZIP64 ones when needed).
    fn end_records(&mut self) -> Bytes {
        let cd_offset = self.offset;
        let cd_size = self.central.len() as u64;
        let mut out = std::mem::take(&mut self.central);
        let zip64 = self.count >= 0xFFFF
            || cd_offset >= MAX32 as u64
            || cd_size >= MAX32 as u64
            || self.zip64_from == 0;
        if zip64 {
            let z64_offset = cd_offset + cd_size;
            out.put_u32_le(ZIP64_END);
            out.put_u64_le(44);
            out.put_u16_le((3 << 8) | 45);
            out.put_u16_le(45);
            out.put_u32_le(0);
            out.put_u32_le(0);
            out.put_u64_le(self.count);
            out.put_u64_le(self.count);
            out.put_u64_le(cd_size);
            out.put_u64_le(cd_offset);
            out.put_u32_le(ZIP64_LOCATOR);
            out.put_u32_le(0);
            out.put_u64_le(z64_offset);
            out.put_u32_le(1);
        }
        out.put_u32_le(END_OF_CENTRAL);
        out.put_u16_le(0);
        out.put_u16_le(0);
        let n = if zip64 { 0xFFFF } else { self.count as u16 };
        out.put_u16_le(n);
        out.put_u16_le(n);
        out.put_u32_le(if zip64 { MAX32 } else { cd_size as u32 });
        out.put_u32_le(if zip64 { MAX32 } else { cd_offset as u32 });
        out.put_u16_le(0);
        self.offset += out.len() as u64;
        out.freeze()
    }
}

/// MS-DOS date and time (2-second resolution, 1980–2107), as ZIP stores them.
fn dos_datetime(ms: i64) -> (u16, u16) {
    let t = crate::clock::from_ms(ms);
    let year = t.year().clamp(1980, 2107) as u16;
    let time = ((t.hour() as u16) << 11) | ((t.minute() as u16) << 5) | (t.second() as u16 / 2);
    let date = ((year - 1980) << 9) | ((u8::from(t.month()) as u16) << 5) | t.day() as u16;
    (time, date)
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
        assert_eq!(n.unique(&[], "../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(n.unique(&[], ".."), "file");
        assert_eq!(n.unique(&[], "noext"), "noext");
        assert_eq!(n.unique(&[], "noext"), "noext (2)");
    }

    #[test]
    fn hostile_names_become_distinct_safe_entries() {
        let mut n = Names::default();
        assert_eq!(
            n.unique(&["C:".into(), "Windows".into()], "evil.txt"),
            "C_/Windows/evil.txt"
        );
        assert_eq!(n.unique(&["..".into()], "x"), "folder/x");
        assert_eq!(n.unique(&[], "\u{e9}.txt"), "\u{e9}.txt");
        assert_eq!(n.unique(&[], "E\u{301}.TXT"), "\u{c9} (2).TXT");
        // A file, then a folder of the same name: the folder moves aside, all of it.
        assert_eq!(n.unique(&[], "Sub"), "Sub");
        assert_eq!(n.unique(&["sub".into()], "a.txt"), "sub (2)/a.txt");
        assert_eq!(n.unique(&["Sub".into()], "b.txt"), "sub (2)/b.txt");
        // A folder, then a file of the same name: the file moves aside.
        assert_eq!(n.unique(&["Docs".into()], "a.txt"), "Docs/a.txt");
        assert_eq!(n.unique(&[], "docs"), "docs (2)");
        assert_eq!(
            n.unique(&["Docs".into(), "a.txt".into()], "b"),
            "Docs/a.txt (2)/b"
        );
    }

    /// Reads an archive with Python's zipfile (an independent reader, which checks CRCs) and
    /// returns (name, sha256, compress_type) per entry.
    fn read_with_python(zip: &[u8]) -> Vec<(String, String, u32)> {
        use std::io::Write;
        let mut child = std::process::Command::new("python3")
            .args([
                "-c",
                "import sys, io, zipfile, hashlib\n\
                 z = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()))\n\
                 assert z.testzip() is None\n\
                 for i in z.infolist():\n\
                 \x20   print(i.filename, hashlib.sha256(z.read(i)).hexdigest(), i.compress_type, sep='\\t')",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(zip).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "python could not read the archive");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f[0].to_string(), f[1].to_string(), f[2].parse().unwrap())
            })
            .collect()
    }

    #[tokio::test]
    async fn archives_read_back_stored_deflated_and_zip64() {
        use futures_util::StreamExt;
        use sha2::Digest;
        let dir = tempfile::tempdir().unwrap();
        let photo: Vec<u8> = (0..300_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let text = "brand guidelines, approved colours\n"
            .repeat(4000)
            .into_bytes();
        std::fs::write(dir.path().join("photo"), &photo).unwrap();
        std::fs::write(dir.path().join("text"), &text).unwrap();
        std::fs::write(dir.path().join("empty"), b"").unwrap();
        let storage = Storage::from_url(&format!("file://{}", dir.path().display())).unwrap();
        let entry = |name: &str, key: &str, media_type: &str, bytes: &[u8], crc: bool| Entry {
            name: name.into(),
            key: key.into(),
            media_type: media_type.into(),
            size: bytes.len() as u64,
            crc32: crc.then(|| crc32fast::hash(bytes)),
            modified_ms: 1_790_000_000_000,
            data: None,
        };
        // Both ways of framing (checksum known up front or computed), with and without ZIP64.
        for (zip64_from, crc_known) in [
            (ZIP64_FROM, false),
            (0, false),
            (ZIP64_FROM, true),
            (0, true),
        ] {
            let entries = vec![
                entry("Fotos/photo.jpg", "photo", "image/jpeg", &photo, crc_known),
                entry("guide.txt", "text", "text/plain", &text, crc_known),
                entry("empty.csv", "empty", "text/csv", b"", crc_known),
            ];
            let stream = ZipStream::new(storage.clone(), entries, zip64_from);
            let chunks: Vec<Bytes> = stream.map(|c| c.unwrap()).collect().await;
            let zip: Vec<u8> = chunks.concat();
            let sha = |b: &[u8]| hex::encode(sha2::Sha256::digest(b));
            let read = read_with_python(&zip);
            assert_eq!(
                read,
                vec![
                    ("Fotos/photo.jpg".into(), sha(&photo), 0),
                    ("guide.txt".into(), sha(&text), 8),
                    ("empty.csv".into(), sha(b""), 8),
                ],
                "zip64_from = {zip64_from}"
            );
            assert!(
                zip.len() < photo.len() + text.len() / 10,
                "text is deflated"
            );
        }
    }

    #[tokio::test]
    async fn a_missing_binary_breaks_the_stream_instead_of_ending_it_cleanly() {
        use futures_util::StreamExt;
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::from_url(&format!("file://{}", dir.path().display())).unwrap();
        let entries = vec![Entry {
            name: "gone.jpg".into(),
            key: "missing".into(),
            media_type: "image/jpeg".into(),
            size: 10,
            crc32: None,
            modified_ms: 0,
            data: None,
        }];
        let stream = ZipStream::new(storage, entries, ZIP64_FROM);
        let items: Vec<_> = stream.collect().await;
        assert!(items.iter().any(|i| i.is_err()));
    }
}
