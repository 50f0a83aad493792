//! External renderers (poppler's `pdftoppm`/`pdfinfo`, `ffmpeg`/`ffprobe`) run as separate
//! processes: empty environment but PATH, no stdin, a wall-clock timeout (killed at the end
//! of it), the render's address-space and CPU limits, no core dumps, killed if their parent
//! dies, and, where the kernel allows it, a network namespace of their own (no network).
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{Job, MediaError};

/// Output kept from an external program's stdout and stderr (the rest is drained unread).
const MAX_OUTPUT: u64 = 256 * 1024;

/// Finds an executable on PATH, as the shell would.
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// What an external program left.
pub(crate) struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    /// The end of stderr, for error messages.
    pub fn stderr_tail(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr);
        let text = text.trim();
        let start = text.len().saturating_sub(300);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        text[start..].to_string()
    }
}

/// Runs `program args…` within what is left of the job's time; `Timeout` when it runs out.
pub(crate) fn run(program: &Path, args: &[&OsStr], job: &Job) -> Result<Output, MediaError> {
    let timeout = job.remaining()?;
    let limits = (job.limits.max_bytes_alloc, cpu_seconds(timeout));
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: the closure runs in the forked child before exec and only makes system calls
    // (prctl, setrlimit, unshare), which are async-signal-safe; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            confine(limits.0, limits.1);
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|e| MediaError::Failed(format!("cannot start {}: {e}", program.display())))?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(MediaError::Timeout(job.limits.timeout));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => {
                return Err(MediaError::Failed(format!(
                    "waiting for {}: {e}",
                    program.display()
                )))
            }
        }
    };
    let collect = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
        h.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    Ok(Output {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

/// The CPU-time limit matching a wall-clock timeout (at least one second).
fn cpu_seconds(timeout: Duration) -> u64 {
    timeout.as_secs() + 1
}

/// Reads a pipe on its own thread (so a chatty program never blocks on a full pipe), keeping
/// the first `MAX_OUTPUT` bytes.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let _ = (&mut pipe).take(MAX_OUTPUT).read_to_end(&mut kept);
        let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        kept
    })
}

/// Limits applied to the current process (the forked child before exec, or the render child
/// itself, before it starts any thread). Failures are ignored: each step only ever narrows
/// what the process may do.
pub(crate) fn confine(address_space: u64, cpu_seconds: u64) {
    set_limit(libc::RLIMIT_AS, address_space, address_space);
    set_limit(libc::RLIMIT_CPU, cpu_seconds, cpu_seconds + 1);
    set_limit(libc::RLIMIT_CORE, 0, 0);
    // SAFETY: plain system calls on this process only; `param` outlives the call.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        // Rendering is CPU-bound background work: SCHED_BATCH (same priority, no wake-up
        // preemption) lets jpeg-decoder's IDCT threads take rows in batches instead of one
        // context switch per row: 11.1 -> 12.5 images/s in bench/renditions.sh. It does not
        // lower the priority, so a busy server cannot starve renders into timeouts.
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_BATCH, &param);
    }
    no_network();
}

fn set_limit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) {
    let limit = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: `limit` is a valid rlimit that outlives the call.
    unsafe {
        libc::setrlimit(resource, &limit);
    }
}

/// A fresh network namespace has only a loopback device that is down: no network at all.
/// Root can create one directly, others through an unprivileged user namespace where the
/// kernel allows it; elsewhere the program keeps the network (poppler and ffmpeg open none
/// for local files, but a bug could).
fn no_network() {
    // SAFETY: unshare only changes this process's namespaces.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNET) != 0 {
            libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET);
        }
    }
}

/// Reads a binary PPM (P6, maxval 255), as `pdftoppm` and ffmpeg's `ppm` encoder write it.
pub(crate) fn read_ppm(path: &Path) -> Result<super::pixels::Rgb, MediaError> {
    let data = std::fs::read(path)
        .map_err(|e| MediaError::Failed(format!("renderer wrote no image: {e}")))?;
    let corrupt = || MediaError::Failed("renderer wrote an unreadable PPM".into());
    let mut fields = Vec::new();
    let mut i = 0;
    // Magic, width, height, maxval: whitespace-separated, '#' comments to end of line.
    while fields.len() < 4 {
        while i < data.len() && (data[i].is_ascii_whitespace() || data[i] == b'#') {
            if data[i] == b'#' {
                while i < data.len() && data[i] != b'\n' {
                    i += 1;
                }
            } else {
                i += 1;
            }
        }
        let start = i;
        while i < data.len() && !data[i].is_ascii_whitespace() {
            i += 1;
        }
        if start == i {
            return Err(corrupt());
        }
        fields.push(&data[start..i]);
    }
    let number = |f: &[u8]| -> Option<u32> { std::str::from_utf8(f).ok()?.parse().ok() };
    let (w, h, max) = (number(fields[1]), number(fields[2]), number(fields[3]));
    let (Some(w), Some(h), Some(255)) = (w, h, max) else {
        return Err(corrupt());
    };
    if fields[0] != b"P6" {
        return Err(corrupt());
    }
    let len = (w as usize)
        .checked_mul(h as usize)
        .and_then(|p| p.checked_mul(3));
    let pixels = len
        .and_then(|len| data.get(i + 1..i + 1 + len))
        .ok_or_else(corrupt)?;
    super::pixels::Rgb::new(w, h, pixels.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppm_header_with_comment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.ppm");
        let mut data = b"P6\n# made by a test\n2 1\n255\n".to_vec();
        data.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
        std::fs::write(&path, &data).unwrap();
        let rgb = read_ppm(&path).unwrap();
        assert_eq!(
            (rgb.width, rgb.height, rgb.data),
            (2, 1, vec![1, 2, 3, 4, 5, 6])
        );
        std::fs::write(&path, b"P6\n2 1\n255\n\x01").unwrap();
        assert!(read_ppm(&path).is_err());
    }

    #[test]
    fn programs_are_found_on_path_only_when_executable() {
        assert!(find_program("sh").is_some());
        assert!(find_program("no-such-program-here").is_none());
    }
}
