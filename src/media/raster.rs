//! PNG, GIF (first frame), WebP, TIFF (first page) and BMP through the `image` crate, built with
//! only these decoders. The decoder is told the format (from the magic bytes) and the limits;
//! dimensions and the decoded size are checked from the header before any pixel is decoded.
use std::fs::File;
use std::io::{BufReader, Read};

use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader};

use super::meta::Sources;
use super::pixels::{Finish, Rgb, Rgba};
use super::sniff::Format;
use super::{read_error, Job, MediaError, Report};

/// TIFF keeps EXIF in the file's own IFDs: the whole file is handed to the EXIF parser when
/// it is at most this large (bigger TIFFs keep their pixels and lose their captions).
const TIFF_EXIF_MAX: u64 = 32 * 1024 * 1024;

pub(crate) fn render(format: Format, job: &Job) -> Result<Report, MediaError> {
    let image_format = match format {
        Format::Png => ImageFormat::Png,
        Format::Gif => ImageFormat::Gif,
        Format::Webp => ImageFormat::WebP,
        Format::Tiff => ImageFormat::Tiff,
        Format::Bmp => ImageFormat::Bmp,
        other => {
            return Err(MediaError::Failed(format!(
                "{other:?} is not a raster format"
            )))
        }
    };
    let file = File::open(job.input).map_err(read_error)?;
    let mut reader =
        ImageReader::with_format(BufReader::with_capacity(64 * 1024, file), image_format);
    reader.limits(limits(job));
    let mut decoder = match reader.into_decoder() {
        Ok(decoder) => decoder,
        Err(ImageError::Unsupported(_)) => return Ok(Report::default()), // placeholder
        Err(e) => return Err(image_error(e)),
    };
    let (width, height) = decoder.dimensions();
    job.check_pixels(u64::from(width), u64::from(height))?;
    job.check_alloc(decoder.total_bytes())?;

    let mut sources = Sources {
        exif: decoder.exif_metadata().ok().flatten(),
        xmp: decoder.xmp_metadata().ok().flatten(),
        iptc: decoder.iptc_metadata().ok().flatten(),
    };
    if format == Format::Tiff && sources.exif.is_none() {
        sources.exif = whole_small_file(job);
    }
    let (meta, exif_orientation) = sources.extract();
    let orientation = match decoder.orientation() {
        Ok(o) if o.to_exif() != 1 => u16::from(o.to_exif()),
        _ => exif_orientation,
    };
    let icc = decoder.icc_profile().ok().flatten();
    let upright = if orientation >= 5 {
        (height, width)
    } else {
        (width, height)
    };
    let mut report = Report {
        width: Some(upright.0),
        height: Some(upright.1),
        meta,
        ..Report::default()
    };

    let image = match DynamicImage::from_decoder(decoder) {
        Ok(image) => image,
        // CMYK TIFF, exotic compressions: a placeholder, not an error.
        Err(ImageError::Unsupported(_)) => return Ok(report),
        Err(e) => return Err(image_error(e)),
    };
    let finish = Finish {
        orientation,
        icc: icc.as_deref(),
    };
    let written = if image.color().has_alpha() {
        let rgba = Rgba::new(image.width(), image.height(), image.into_rgba8().into_raw())?;
        report.transparent = rgba.is_transparent();
        job.write_rgba(rgba, finish)?
    } else {
        job.write(
            Rgb::new(image.width(), image.height(), image.into_rgb8().into_raw())?,
            finish,
        )?
    };
    report.rendered = true;
    report.preview = Some(written.preview);
    report.thumb = Some(written.thumb);
    Ok(report)
}

/// The decoder's own allocation cap: half the address space, the other half is for the RGB
/// conversion and the renditions.
fn limits(job: &Job) -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(job.limits.max_bytes_alloc / 2);
    limits
}

fn whole_small_file(job: &Job) -> Option<Vec<u8>> {
    let file = File::open(job.input).ok()?;
    if file.metadata().ok()?.len() > TIFF_EXIF_MAX {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(TIFF_EXIF_MAX).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

fn image_error(e: ImageError) -> MediaError {
    match e {
        ImageError::Limits(e) => MediaError::TooLarge(e.to_string()),
        ImageError::IoError(e) => read_error(e),
        ImageError::Decoding(e) => MediaError::Corrupt(e.to_string()),
        ImageError::Parameter(e) => MediaError::Corrupt(e.to_string()),
        ImageError::Unsupported(e) => MediaError::Corrupt(e.to_string()),
        other => MediaError::Failed(other.to_string()),
    }
}
