//! Video (MP4, MOV, WebM, MKV, AVI): duration and size from `ffprobe`, a poster frame from
//! `ffmpeg`, each only when installed (neither is required), as confined child processes
//! (`external`) reading only the local file (`-protocol_whitelist file`). A video ffmpeg
//! cannot decode (audio-only Matroska, an unknown codec) gets a placeholder.
use std::ffi::OsStr;

use super::external::{self, find_program};
use super::pixels::Finish;
use super::{Job, MediaError, Report};

pub(crate) fn render(job: &Job) -> Result<Report, MediaError> {
    let mut report = Report::default();
    if let Some(ffprobe) = find_program("ffprobe") {
        probe(&ffprobe, job, &mut report)?;
    }
    let Some(ffmpeg) = find_program("ffmpeg") else {
        return Ok(report); // placeholder
    };
    let poster = job.out_dir.join(".poster.ppm");
    // A frame a little way in: the first is often black. Seeking before -i is fast.
    let at = report
        .duration_ms
        .map_or(0.0, |ms| (ms as f64 / 1000.0 / 3.0).min(1.0));
    let at = format!("{at:.3}");
    let max = job.box_max();
    let fit = format!("scale=w={max}:h={max}:force_original_aspect_ratio=decrease");
    let args: [&OsStr; 20] = [
        "-nostdin".as_ref(),
        "-hide_banner".as_ref(),
        "-loglevel".as_ref(),
        "error".as_ref(),
        "-protocol_whitelist".as_ref(),
        "file".as_ref(),
        "-ss".as_ref(),
        at.as_ref(),
        "-i".as_ref(),
        job.input.as_os_str(),
        "-frames:v".as_ref(),
        "1".as_ref(),
        "-vf".as_ref(),
        fit.as_ref(),
        "-f".as_ref(),
        "image2".as_ref(),
        "-c:v".as_ref(),
        "ppm".as_ref(),
        "-y".as_ref(),
        poster.as_os_str(),
    ];
    let output = external::run(&ffmpeg, &args, job)?;
    let frame = if output.status.success() {
        external::read_ppm(&poster)
    } else {
        Err(MediaError::Failed(output.stderr_tail()))
    };
    let _ = std::fs::remove_file(&poster);
    let Ok(frame) = frame else {
        return Ok(report); // no picture to show: placeholder
    };
    let written = job.write(frame, Finish::default())?;
    report.rendered = true;
    report.preview = Some(written.preview);
    report.thumb = Some(written.thumb);
    Ok(report)
}

/// Duration and the first video stream's size.
fn probe(ffprobe: &std::path::Path, job: &Job, report: &mut Report) -> Result<(), MediaError> {
    let args: [&OsStr; 10] = [
        "-v".as_ref(),
        "error".as_ref(),
        "-protocol_whitelist".as_ref(),
        "file".as_ref(),
        "-select_streams".as_ref(),
        "v:0".as_ref(),
        "-show_entries".as_ref(),
        "format=duration:stream=width,height".as_ref(),
        "-of".as_ref(),
        "default=noprint_wrappers=1".as_ref(),
    ];
    let mut all: Vec<&OsStr> = args.to_vec();
    all.push(job.input.as_os_str());
    let output = external::run(ffprobe, &all, job)?;
    if output.status.success() {
        parse_probe(&String::from_utf8_lossy(&output.stdout), report);
    }
    Ok(())
}

fn parse_probe(text: &str, report: &mut Report) {
    for line in text.lines() {
        match line.split_once('=') {
            Some(("width", v)) => report.width = v.trim().parse().ok().filter(|&w| w > 0),
            Some(("height", v)) => report.height = v.trim().parse().ok().filter(|&h| h > 0),
            Some(("duration", v)) => {
                report.duration_ms = v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e9)
                    .map(|s| (s * 1000.0).round() as u64);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_output_is_read_defensively() {
        let mut report = Report::default();
        parse_probe("width=1920\nheight=1080\nduration=12.345600\n", &mut report);
        assert_eq!((report.width, report.height), (Some(1920), Some(1080)));
        assert_eq!(report.duration_ms, Some(12346));
        let mut report = Report::default();
        parse_probe("width=N/A\nduration=inf\n", &mut report);
        assert_eq!((report.width, report.duration_ms), (None, None));
    }
}
