//! The process boundary: the server never decodes a file itself. [`render_in_child`] starts
//! `assetport render`, which confines itself with rlimits, renders, and prints one JSON line:
//! the [`Report`], or `{"error": "too_large|corrupt|timeout|failed", "message": ...}` with a
//! non-zero exit. A crash, a limit or the timeout costs that child, never the server.
use std::path::Path;
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use super::{external, render_file_as, Limits, MediaError, Output, Report};

/// The JSON a failed render prints.
#[derive(serde::Serialize, serde::Deserialize)]
struct Failure {
    error: String,
    message: String,
}

/// Runs `<exe> render --input <input> --out <out_dir>` (plus the limits) as a child process:
/// environment cleared except PATH and MALLOC_ARENA_MAX=2, stdin null, its own process group
/// (so pdftoppm or ffmpeg under it die with it), killed at `limits.timeout`.
pub async fn render_in_child(
    exe: &Path,
    input: &Path,
    out_dir: &Path,
    limits: &Limits,
) -> Result<Report, MediaError> {
    child(exe, input, out_dir, limits, Output::Renditions).await
}

/// [`render_in_child`] for one download preset (or the logo): the child writes
/// `out_dir/` + `format.preset_file()`, fitted into `max` pixels, and reports its size as
/// `preview`.
pub async fn render_preset_in_child(
    exe: &Path,
    input: &Path,
    out_dir: &Path,
    limits: &Limits,
    max: u32,
    format: super::Encoding,
) -> Result<Report, MediaError> {
    child(exe, input, out_dir, limits, Output::Preset { max, format }).await
}

async fn child(
    exe: &Path,
    input: &Path,
    out_dir: &Path,
    limits: &Limits,
    output: Output,
) -> Result<Report, MediaError> {
    let mut command = tokio::process::Command::new(exe);
    command.arg("render");
    if let Output::Preset { max, format } = output {
        command.arg("--preset-max").arg(max.to_string());
        command.arg("--preset-format").arg(format.name());
    }
    command
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(out_dir)
        .arg("--max-pixels")
        .arg(limits.max_pixels.to_string())
        .arg("--max-bytes-alloc")
        .arg(limits.max_bytes_alloc.to_string())
        .arg("--timeout-ms")
        .arg(limits.timeout.as_millis().to_string())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        // glibc gives each thread arena 64 MiB of address space; two keep RLIMIT_AS for pixels.
        .env("MALLOC_ARENA_MAX", "2")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = command
        .spawn()
        .map_err(|e| MediaError::Failed(format!("cannot start the renderer: {e}")))?;
    let pid = child.id();
    match tokio::time::timeout(limits.timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => answer(output, limits),
        Ok(Err(e)) => Err(MediaError::Failed(format!("waiting for the renderer: {e}"))),
        Err(_) => {
            // Dropping the future killed the child; its external renderers go with the group.
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                // SAFETY: signals the process group this function created; no memory involved.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                }
            }
            Err(MediaError::Timeout(limits.timeout))
        }
    }
}

/// Maps the child's exit and last stdout line back to a result.
fn answer(output: std::process::Output, limits: &Limits) -> Result<Report, MediaError> {
    use std::os::unix::process::ExitStatusExt;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    if output.status.success() {
        return serde_json::from_str(line)
            .map_err(|e| MediaError::Failed(format!("unreadable renderer report: {e}")));
    }
    if let Ok(failure) = serde_json::from_str::<Failure>(line) {
        return Err(from_code(&failure.error, failure.message, limits.timeout));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: String = stderr
        .trim()
        .chars()
        .rev()
        .take(300)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Err(match output.status.signal() {
        // RLIMIT_CPU: soft limit sends SIGXCPU.
        Some(libc::SIGXCPU) => MediaError::Timeout(limits.timeout),
        Some(signal) => MediaError::Failed(format!("renderer killed by signal {signal}: {tail}")),
        None => MediaError::Failed(format!("renderer exited with {}: {tail}", output.status)),
    })
}

fn code(error: &MediaError) -> &'static str {
    match error {
        MediaError::TooLarge(_) => "too_large",
        MediaError::Corrupt(_) => "corrupt",
        MediaError::Timeout(_) => "timeout",
        MediaError::Failed(_) => "failed",
    }
}

fn from_code(code: &str, message: String, timeout: Duration) -> MediaError {
    match code {
        "too_large" => MediaError::TooLarge(message),
        "corrupt" => MediaError::Corrupt(message),
        "timeout" => MediaError::Timeout(timeout),
        _ => MediaError::Failed(message),
    }
}

/// The hidden `assetport render` subcommand: confines this process (address space, CPU time,
/// no core dumps, no network and, with Landlock, no files but its input, its output directory
/// and the system's programs and libraries), renders, prints one JSON line. Reads no
/// configuration, opens no database and no network.
pub fn run_render_command(
    input: &Path,
    out_dir: &Path,
    limits: &Limits,
    output: Output,
) -> ExitCode {
    external::confine(limits.max_bytes_alloc, limits.timeout.as_secs() + 1);
    super::landlock::restrict(input, out_dir);
    // The panic message goes to stderr, which the parent keeps for its log.
    let outcome = std::panic::catch_unwind(|| render_file_as(input, out_dir, limits, output))
        .unwrap_or_else(|_| Err(MediaError::Failed("the renderer panicked".into())));
    let (line, exit) = match outcome {
        Ok(report) => (serde_json::to_string(&report), ExitCode::SUCCESS),
        Err(e) => {
            let failure = Failure {
                error: code(&e).to_string(),
                message: e.to_string(),
            };
            (serde_json::to_string(&failure), ExitCode::from(2))
        }
    };
    match line {
        Ok(line) => {
            println!("{line}");
            exit
        }
        Err(_) => ExitCode::FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_round_trip() {
        let t = Duration::from_secs(1);
        for e in [
            MediaError::TooLarge("x".into()),
            MediaError::Corrupt("x".into()),
            MediaError::Timeout(t),
            MediaError::Failed("x".into()),
        ] {
            let back = from_code(code(&e), "x".into(), t);
            assert_eq!(code(&back), code(&e));
            assert_eq!(back.is_permanent(), e.is_permanent());
        }
    }
}
