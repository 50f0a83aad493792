//! `assetport upload DIR --server URL --token T --folder PATH` (SPEC §4): sends a directory tree
//! into a folder of a running portal over its API, several files at a time, each through the
//! resumable (tus) endpoint. Files already there with the same SHA-256 at the same place are
//! skipped, so a re-run sends only what is new or changed. Unfinished uploads are remembered in
//! `DIR/.assetport-upload.json` and resumed from the last byte the server holds.
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, UNIX_EPOCH};

use anyhow::{bail, Context};
use base64::Engine;
use futures_util::{StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::AsyncSeekExt;
use tokio::sync::Mutex;

/// The state file, in the uploaded directory (and never uploaded itself).
const STATE_FILE: &str = ".assetport-upload.json";
/// Attempts per file; each resumes from what the server already holds.
const ATTEMPTS: usize = 4;

pub struct Options {
    pub dir: PathBuf,
    pub server: String,
    pub token: String,
    pub folder: String,
    pub parallel: usize,
    pub quiet: bool,
}

/// An unfinished upload, remembered between runs.
#[derive(Serialize, Deserialize, Clone, Debug)]
struct Pending {
    url: String,
    size: u64,
    modified: u64,
    sha256: String,
}

struct Local {
    rel: String,
    path: PathBuf,
    size: u64,
    modified: u64,
}

#[derive(Default)]
struct Summary {
    uploaded: usize,
    resumed: usize,
    unchanged: usize,
    failed: Vec<String>,
    bytes: u64,
}

struct Client {
    http: reqwest::Client,
    api: String,
    token: String,
}

impl Client {
    fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .bearer_auth(&self.token)
            .header("Tus-Resumable", "1.0.0")
    }

    async fn json(&self, path: &str) -> anyhow::Result<Value> {
        let r = self
            .request(Method::GET, &format!("{}{path}", self.api))
            .send()
            .await?;
        let status = r.status();
        if !status.is_success() {
            bail!(
                "GET {path}: {status} {}",
                r.text().await.unwrap_or_default()
            );
        }
        Ok(r.json().await?)
    }
}

pub async fn run(o: Options) -> anyhow::Result<()> {
    let started = Instant::now();
    let server = o.server.trim_end_matches('/').to_string();
    let client = Arc::new(Client {
        http: reqwest::Client::builder()
            .user_agent(concat!("assetport-upload/", env!("CARGO_PKG_VERSION")))
            .build()?,
        api: format!("{server}/api/v1"),
        token: o.token.clone(),
    });
    let folder_id = resolve_folder(&client, &o.folder).await?;
    let locals = scan(&o.dir)?;
    let remote = remote_files(&client, &folder_id).await?;
    let state_path = o.dir.join(STATE_FILE);
    let state: HashMap<String, Pending> = std::fs::read(&state_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let state = Arc::new(Mutex::new(state));

    let total: u64 = locals.iter().map(|l| l.size).sum();
    let bar = if o.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
        )?
        .progress_chars("=> "),
    );
    let summary = Arc::new(Mutex::new(Summary::default()));
    let remote = Arc::new(remote);
    let folder_id = Arc::new(folder_id);
    let files = locals.len();
    futures_util::stream::iter(locals)
        .for_each_concurrent(o.parallel.max(1), |local| {
            let (client, state, summary, remote, folder_id, bar, state_path) = (
                client.clone(),
                state.clone(),
                summary.clone(),
                remote.clone(),
                folder_id.clone(),
                bar.clone(),
                state_path.clone(),
            );
            async move {
                let outcome = one(
                    &client,
                    &folder_id,
                    &local,
                    &remote,
                    &state,
                    &state_path,
                    &bar,
                )
                .await;
                let mut s = summary.lock().await;
                match outcome {
                    Ok(Outcome::Unchanged) => {
                        s.unchanged += 1;
                        bar.inc(local.size);
                    }
                    Ok(Outcome::Uploaded { resumed }) => {
                        s.uploaded += 1;
                        s.resumed += usize::from(resumed);
                        s.bytes += local.size;
                    }
                    Err(e) => {
                        bar.println(format!("failed: {}: {e:#}", local.rel));
                        s.failed.push(local.rel.clone());
                    }
                }
            }
        })
        .await;
    bar.finish_and_clear();
    let state = state.lock().await;
    if state.is_empty() {
        let _ = std::fs::remove_file(&state_path);
    }
    let s = summary.lock().await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{files} files: {} uploaded ({} resumed), {} unchanged, {} failed; {} in {secs:.1} s ({:.1} files/s, {:.1} MB/s)",
        s.uploaded,
        s.resumed,
        s.unchanged,
        s.failed.len(),
        human(s.bytes),
        files as f64 / secs.max(0.001),
        s.bytes as f64 / 1e6 / secs.max(0.001),
    );
    if !s.failed.is_empty() {
        bail!(
            "{} file(s) failed; run the same command again to retry (uploads resume)",
            s.failed.len()
        );
    }
    Ok(())
}

fn human(n: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[i])
    }
}

/// `/A/B` → the id of folder B inside root A, by name, as the caller sees them.
async fn resolve_folder(c: &Client, path: &str) -> anyhow::Result<String> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.is_empty() {
        bail!("--folder must name a folder, like /Campaigns/Spring");
    }
    let mut items = c.json("/folders").await?["items"].clone();
    let mut id = String::new();
    for seg in segments {
        let found = items
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["name"].as_str() == Some(seg))
            .and_then(|f| f["id"].as_str())
            .map(str::to_string);
        id = found.with_context(|| format!("no folder '{seg}' in {path} that you can see"))?;
        items = c.json(&format!("/folders/{id}")).await?["folders"]["items"].clone();
    }
    Ok(id)
}

/// Every file already under the folder that the caller can see: relative path → the SHA-256s
/// of the assets there (a path can hold several, e.g. an edited file sent again).
type Remote = HashMap<String, HashSet<String>>;

async fn remote_files(c: &Client, root: &str) -> anyhow::Result<Remote> {
    let mut out = HashMap::new();
    let mut queue = vec![(root.to_string(), String::new())];
    while let Some((id, prefix)) = queue.pop() {
        let mut cursor: Option<String> = None;
        loop {
            let q = cursor
                .as_deref()
                .map(|c| format!("?cursor={c}"))
                .unwrap_or_default();
            let page = c.json(&format!("/folders/{id}{q}")).await?;
            if cursor.is_none() {
                for f in page["folders"]["items"].as_array().into_iter().flatten() {
                    if let (Some(fid), Some(name)) = (f["id"].as_str(), f["name"].as_str()) {
                        queue.push((fid.to_string(), format!("{prefix}{name}/")));
                    }
                }
            }
            for a in page["assets"]["items"].as_array().into_iter().flatten() {
                if let (Some(name), Some(sha)) = (a["filename"].as_str(), a["sha256"].as_str()) {
                    out.entry(format!("{prefix}{name}"))
                        .or_insert_with(HashSet::new)
                        .insert(sha.to_string());
                }
            }
            match page["assets"]["next"].as_str() {
                Some(n) => cursor = Some(n.to_string()),
                None => break,
            }
        }
    }
    Ok(out)
}

/// The files to send: everything under `dir` but hidden files and folders.
fn scan(dir: &Path) -> anyhow::Result<Vec<Local>> {
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = entry?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)?
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let meta = entry.metadata()?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        out.push(Local {
            rel,
            path: entry.path().to_path_buf(),
            size: meta.len(),
            modified,
        });
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

async fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        use std::io::Read;
        let mut f = std::fs::File::open(&path)?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(hex::encode(h.finalize()))
    })
    .await?
}

enum Outcome {
    Unchanged,
    Uploaded { resumed: bool },
}

async fn save_state(state: &Mutex<HashMap<String, Pending>>, path: &Path) {
    let s = state.lock().await;
    if let Ok(b) = serde_json::to_vec_pretty(&*s) {
        let tmp = path.with_extension("json.tmp");
        if std::fs::write(&tmp, b).is_ok() {
            let _ = std::fs::rename(&tmp, path);
        }
    }
}

async fn one(
    c: &Client,
    folder_id: &str,
    local: &Local,
    remote: &Remote,
    state: &Mutex<HashMap<String, Pending>>,
    state_path: &Path,
    bar: &ProgressBar,
) -> anyhow::Result<Outcome> {
    let remembered = state.lock().await.get(&local.rel).cloned();
    let sha = match &remembered {
        Some(p) if p.size == local.size && p.modified == local.modified => p.sha256.clone(),
        _ => sha256_of(&local.path).await?,
    };
    if remote
        .get(&local.rel)
        .is_some_and(|shas| shas.contains(&sha))
    {
        return Ok(Outcome::Unchanged);
    }
    // Resume what an earlier run started, if the file is unchanged and the server still has it.
    let mut resumed = false;
    let mut url = None;
    if let Some(p) = remembered.filter(|p| p.sha256 == sha) {
        let r = c.request(Method::HEAD, &p.url).send().await?;
        if r.status() == StatusCode::OK {
            url = Some(p.url);
            resumed = true;
        }
    }
    let url = match url {
        Some(u) => u,
        None => {
            let u = create(c, folder_id, local).await?;
            state.lock().await.insert(
                local.rel.clone(),
                Pending {
                    url: u.clone(),
                    size: local.size,
                    modified: local.modified,
                    sha256: sha.clone(),
                },
            );
            save_state(state, state_path).await;
            u
        }
    };
    let mut last_err = None;
    for _ in 0..ATTEMPTS {
        match send_from_offset(c, &url, local, bar).await {
            Ok(()) => {
                state.lock().await.remove(&local.rel);
                save_state(state, state_path).await;
                return Ok(Outcome::Uploaded { resumed });
            }
            Err(e) => {
                last_err = Some(e);
                resumed = true;
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    }
    Err(last_err.unwrap_or_else(|| anyhow::anyhow!("upload failed")))
}

async fn create(c: &Client, folder_id: &str, local: &Local) -> anyhow::Result<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let name = local.rel.rsplit('/').next().unwrap_or(&local.rel);
    let mut meta = vec![
        format!("filename {}", b64(name)),
        format!("folder_id {}", b64(folder_id)),
    ];
    if local.rel.contains('/') {
        meta.push(format!("relative_path {}", b64(&local.rel)));
    }
    let r = c
        .request(Method::POST, &format!("{}/tus", c.api))
        .header("Upload-Length", local.size.to_string())
        .header("Upload-Metadata", meta.join(","))
        .send()
        .await?;
    let status = r.status();
    if status != StatusCode::CREATED {
        bail!(
            "the server refused it: {status} {}",
            r.text().await.unwrap_or_default()
        );
    }
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .context("no Location in the answer")
}

/// Asks where the server is, then sends the rest of the file in one streamed PATCH.
async fn send_from_offset(
    c: &Client,
    url: &str,
    local: &Local,
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    let r = c.request(Method::HEAD, url).send().await?;
    if r.status() != StatusCode::OK {
        bail!("the server lost the upload ({})", r.status());
    }
    let offset: u64 = r
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .context("no Upload-Offset")?;
    bar.inc(offset);
    if offset == local.size && r.headers().contains_key("assetport-asset-id") {
        return Ok(());
    }
    let mut file = tokio::fs::File::open(&local.path).await?;
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    let progress = bar.clone();
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = sent.clone();
    let stream =
        tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).inspect_ok(move |chunk| {
            progress.inc(chunk.len() as u64);
            counter.fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Relaxed);
        });
    let result = c
        .request(Method::PATCH, url)
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .header("Content-Length", (local.size - offset).to_string())
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    let ok = matches!(&result, Ok(r) if r.status() == StatusCode::NO_CONTENT);
    if !ok {
        // Counted again from the server's offset on the next attempt.
        bar.set_position(
            bar.position()
                .saturating_sub(offset + sent.load(std::sync::atomic::Ordering::Relaxed)),
        );
        match result {
            Ok(r) => bail!("{} {}", r.status(), r.text().await.unwrap_or_default()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
