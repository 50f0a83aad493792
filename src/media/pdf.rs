//! PDF and Adobe Illustrator (.ai files since CS are PDFs): the first page rendered by poppler's
//! `pdftoppm` straight at preview size, page count and document info from `pdfinfo`. Poppler
//! is C, so it only ever runs as a confined child process (`external`). Without poppler the
//! file gets a placeholder.
use std::ffi::OsStr;

use super::external::{self, find_program};
use super::meta::{self, Found};
use super::pixels::Finish;
use super::{Job, MediaError, Report};

pub(crate) fn render(job: &Job) -> Result<Report, MediaError> {
    let mut report = Report::default();
    if let Some(pdfinfo) = find_program("pdfinfo") {
        info(&pdfinfo, job, &mut report)?;
    }
    let Some(pdftoppm) = find_program("pdftoppm") else {
        return Ok(report); // placeholder
    };
    let root = job.out_dir.join(".page");
    let ppm = job.out_dir.join(".page.ppm");
    let scale = job.box_max().to_string();
    let args: [&OsStr; 10] = [
        "-q".as_ref(),
        "-f".as_ref(),
        "1".as_ref(),
        "-l".as_ref(),
        "1".as_ref(),
        "-singlefile".as_ref(),
        "-scale-to".as_ref(),
        scale.as_ref(),
        job.input.as_os_str(),
        root.as_os_str(),
    ];
    let output = external::run(&pdftoppm, &args, job);
    let result = output.and_then(|output| {
        if !output.status.success() {
            // Exit 1 is "error opening the PDF": damaged, or encrypted with a password.
            return Err(match output.status.code() {
                Some(1 | 3) => MediaError::Corrupt(format!("pdftoppm: {}", output.stderr_tail())),
                _ => MediaError::Failed(format!(
                    "pdftoppm {}: {}",
                    output.status,
                    output.stderr_tail()
                )),
            });
        }
        external::read_ppm(&ppm)
    });
    let _ = std::fs::remove_file(&ppm);
    let page = result?;
    let written = job.write(page, Finish::default())?;
    report.rendered = true;
    report.preview = Some(written.preview);
    report.thumb = Some(written.thumb);
    Ok(report)
}

/// Page count, first page size in points, and the document info dictionary.
fn info(pdfinfo: &std::path::Path, job: &Job, report: &mut Report) -> Result<(), MediaError> {
    let args: [&OsStr; 3] = ["-enc".as_ref(), "UTF-8".as_ref(), job.input.as_os_str()];
    let output = external::run(pdfinfo, &args, job)?;
    if !output.status.success() {
        return Ok(()); // pdftoppm will say what is wrong
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut found = Found::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "Pages" => report.pages = value.parse().ok(),
            "Page size" => {
                if let Some((w, h)) = page_size(value) {
                    report.width = Some(w);
                    report.height = Some(h);
                }
            }
            "Title" => found.title = Some(value.to_string()),
            "Subject" => found.description = Some(value.to_string()),
            "Author" => found.creator = Some(value.to_string()),
            "Keywords" => {
                found.keywords = value
                    .split([',', ';'])
                    .map(|k| k.trim().to_string())
                    .collect();
            }
            _ => {}
        }
    }
    report.meta = meta::merge(&[&found], &Found::default());
    Ok(())
}

/// "595.276 x 841.89 pts (A4)" → (595, 842).
fn page_size(value: &str) -> Option<(u32, u32)> {
    let mut parts = value.split_whitespace();
    let w: f64 = parts.next()?.parse().ok()?;
    let _x = parts.next()?;
    let h: f64 = parts.next()?.parse().ok()?;
    let ok = |v: f64| v.is_finite() && v > 0.0 && v < 1e7;
    (ok(w) && ok(h)).then(|| (w.round() as u32, h.round() as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_in_points() {
        assert_eq!(page_size("595.276 x 841.89 pts (A4)"), Some((595, 842)));
        assert_eq!(page_size("612 x 792 pts (letter)"), Some((612, 792)));
        assert_eq!(page_size("nan x 1 pts"), None);
        assert_eq!(page_size(""), None);
    }
}
