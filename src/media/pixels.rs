//! Decoded pixels and the renditions made from them: fit into the preview box, convert to
//! sRGB, apply EXIF orientation, encode the preview, make the thumbnail from the preview's
//! pixels (never a second decode), encode it, and move both into place.
use std::path::Path;

use fast_image_resize as fr;

use super::{MediaError, PREVIEW_MAX, THUMB_MAX};

/// JPEG quality of previews and thumbnails: visually clean at screen sizes, about 110 KB for a
/// 1500 px photo preview.
const PREVIEW_QUALITY: u8 = 82;
const THUMB_QUALITY: u8 = 80;
/// JPEG quality of download presets: pictures people place in layouts and on the web, so a
/// little above the previews'.
const PRESET_QUALITY: u8 = 86;

/// 8-bit RGB pixels, rows top to bottom, no padding.
pub(crate) struct Rgb {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Rgb {
    /// Checks that `data` holds exactly `width` × `height` RGB pixels.
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Result<Rgb, MediaError> {
        if width == 0
            || height == 0
            || data.len() as u64 != u64::from(width) * u64::from(height) * 3
        {
            return Err(MediaError::Corrupt(format!(
                "decoder returned {} bytes for {width}x{height} pixels",
                data.len()
            )));
        }
        Ok(Rgb {
            width,
            height,
            data,
        })
    }

    /// Grey levels to RGB.
    pub fn from_gray(width: u32, height: u32, gray: &[u8]) -> Result<Rgb, MediaError> {
        let data = gray.iter().flat_map(|&v| [v, v, v]).collect();
        Rgb::new(width, height, data)
    }

    /// Straight (not premultiplied) RGBA composited onto white, reusing the buffer.
    pub fn from_rgba_on_white(
        width: u32,
        height: u32,
        mut rgba: Vec<u8>,
    ) -> Result<Rgb, MediaError> {
        let pixels = rgba.len() / 4;
        for i in 0..pixels {
            let [r, g, b, a] = [
                rgba[4 * i],
                rgba[4 * i + 1],
                rgba[4 * i + 2],
                rgba[4 * i + 3],
            ];
            let over_white = |c: u8| {
                let (c, a) = (u32::from(c), u32::from(a));
                ((c * a + 255 * (255 - a) + 127) / 255) as u8
            };
            // Writing pixel i at 3i never overtakes reading pixel i+1 at 4i+4.
            rgba[3 * i] = over_white(r);
            rgba[3 * i + 1] = over_white(g);
            rgba[3 * i + 2] = over_white(b);
        }
        rgba.truncate(pixels * 3);
        Rgb::new(width, height, rgba)
    }

    /// CMYK ink amounts (0 = no ink) to RGB without a profile: the usual naive formula, so that
    /// a print file still previews with roughly the right colours.
    pub fn from_cmyk(width: u32, height: u32, cmyk: &[u8]) -> Result<Rgb, MediaError> {
        let data = cmyk
            .chunks_exact(4)
            .flat_map(|p| {
                let k = 255 - u32::from(p[3]);
                let ch = |c: u8| ((255 - u32::from(c)) * k / 255) as u8;
                [ch(p[0]), ch(p[1]), ch(p[2])]
            })
            .collect();
        Rgb::new(width, height, data)
    }
}

/// 8-bit RGBA pixels with straight (not premultiplied) alpha, rows top to bottom: a picture
/// whose transparency a PNG or WebP preset keeps.
pub(crate) struct Rgba {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl Rgba {
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Result<Rgba, MediaError> {
        if width == 0
            || height == 0
            || data.len() as u64 != u64::from(width) * u64::from(height) * 4
        {
            return Err(MediaError::Corrupt(format!(
                "decoder returned {} bytes for {width}x{height} RGBA pixels",
                data.len()
            )));
        }
        Ok(Rgba {
            width,
            height,
            data,
        })
    }

    /// From premultiplied RGBA (what resvg draws): straight alpha again.
    pub fn from_premultiplied(
        width: u32,
        height: u32,
        mut data: Vec<u8>,
    ) -> Result<Rgba, MediaError> {
        for p in data.chunks_exact_mut(4) {
            let a = u32::from(p[3]);
            if a != 0 && a != 255 {
                for c in &mut p[..3] {
                    *c = ((u32::from(*c) * 255 + a / 2) / a).min(255) as u8;
                }
            }
        }
        Rgba::new(width, height, data)
    }

    /// Whether any pixel is not fully opaque.
    pub fn is_transparent(&self) -> bool {
        is_transparent(&self.data)
    }

    /// Composited onto white, as JPEG renditions show transparency.
    pub fn on_white(self) -> Result<Rgb, MediaError> {
        Rgb::from_rgba_on_white(self.width, self.height, self.data)
    }
}

/// Whether any pixel of straight or premultiplied RGBA `data` is not fully opaque.
pub(crate) fn is_transparent(data: &[u8]) -> bool {
    data.chunks_exact(4).any(|p| p[3] != 255)
}

/// Decoded pixels, with or without alpha.
pub(crate) enum Picture {
    Rgb(Rgb),
    Rgba(Rgba),
}

impl Picture {
    fn size(&self) -> (u32, u32) {
        match self {
            Picture::Rgb(i) => (i.width, i.height),
            Picture::Rgba(i) => (i.width, i.height),
        }
    }
}

/// The size that fits `width` × `height` into a `max` × `max` box, keeping the aspect ratio;
/// never enlarges.
pub(crate) fn fit(width: u32, height: u32, max: u32) -> (u32, u32) {
    if width <= max && height <= max {
        return (width.max(1), height.max(1));
    }
    scale_to(width, height, max)
}

/// The size whose longest side is exactly `max`, keeping the aspect ratio (vectors may grow).
pub(crate) fn scale_to(width: u32, height: u32, max: u32) -> (u32, u32) {
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    let scale = f64::from(max) / w.max(h);
    let side = |v: f64| ((v * scale).round() as u32).clamp(1, max);
    (side(w), side(h))
}

/// Resamples with Lanczos3 (sharp, no ringing worth seeing at these ratios), SIMD-accelerated.
pub(crate) fn resize(image: &Rgb, width: u32, height: u32) -> Result<Rgb, MediaError> {
    if (width, height) == (image.width, image.height) {
        return Rgb::new(width, height, image.data.clone());
    }
    let data = resample(
        (image.width, image.height, &image.data),
        (width, height),
        fr::PixelType::U8x3,
    )?;
    Rgb::new(width, height, data)
}

/// [`resize`] for RGBA: fast_image_resize premultiplies alpha for the convolution (its default
/// for pixel types with alpha), so transparent pixels do not bleed their colour into edges.
pub(crate) fn resize_rgba(image: &Rgba, width: u32, height: u32) -> Result<Rgba, MediaError> {
    if (width, height) == (image.width, image.height) {
        return Rgba::new(width, height, image.data.clone());
    }
    let data = resample(
        (image.width, image.height, &image.data),
        (width, height),
        fr::PixelType::U8x4,
    )?;
    Rgba::new(width, height, data)
}

fn resample(
    (sw, sh, data): (u32, u32, &[u8]),
    (width, height): (u32, u32),
    pixel: fr::PixelType,
) -> Result<Vec<u8>, MediaError> {
    let failed = |e: &dyn std::fmt::Display| MediaError::Failed(format!("resizing: {e}"));
    let src = fr::images::ImageRef::new(sw, sh, data, pixel).map_err(|e| failed(&e))?;
    let mut dst = fr::images::Image::new(width, height, pixel);
    let options =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3));
    fr::Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| failed(&e))?;
    Ok(dst.into_vec())
}

/// Applies an EXIF orientation (1-8) so the picture stands as the camera meant it.
pub(crate) fn orient(image: Rgb, orientation: u16) -> Rgb {
    let (width, height, data) =
        orient_pixels(image.width, image.height, image.data, 3, orientation);
    Rgb {
        width,
        height,
        data,
    }
}

/// [`orient`] for RGBA.
pub(crate) fn orient_rgba(image: Rgba, orientation: u16) -> Rgba {
    let (width, height, data) =
        orient_pixels(image.width, image.height, image.data, 4, orientation);
    Rgba {
        width,
        height,
        data,
    }
}

fn orient_pixels(
    width: u32,
    height: u32,
    pixels: Vec<u8>,
    channels: usize,
    orientation: u16,
) -> (u32, u32, Vec<u8>) {
    if !(2..=8).contains(&orientation) {
        return (width, height, pixels);
    }
    let (w, h) = (width as usize, height as usize);
    let swaps = orientation >= 5;
    let (dw, dh) = if swaps { (h, w) } else { (w, h) };
    let mut data = vec![0u8; pixels.len()];
    for dy in 0..dh {
        for dx in 0..dw {
            // Where the displayed pixel (dx, dy) is stored in the file.
            let (sx, sy) = match orientation {
                2 => (w - 1 - dx, dy),
                3 => (w - 1 - dx, h - 1 - dy),
                4 => (dx, h - 1 - dy),
                5 => (dy, dx),
                6 => (dy, h - 1 - dx),
                7 => (w - 1 - dy, h - 1 - dx),
                _ => (w - 1 - dy, dx),
            };
            let (s, d) = (channels * (sy * w + sx), channels * (dy * dw + dx));
            data[d..d + channels].copy_from_slice(&pixels[s..s + channels]);
        }
    }
    (dw as u32, dh as u32, data)
}

/// Converts RGB pixels from an embedded ICC profile to sRGB. A profile that cannot be parsed,
/// or is not an RGB one, leaves the pixels as they are: colours may be off, the preview is
/// still useful.
pub(crate) fn to_srgb(image: &mut Rgb, icc: &[u8]) {
    convert_to_srgb(&mut image.data, moxcms::Layout::Rgb, icc);
}

/// [`to_srgb`] for RGBA (alpha passes through).
pub(crate) fn to_srgb_rgba(image: &mut Rgba, icc: &[u8]) {
    convert_to_srgb(&mut image.data, moxcms::Layout::Rgba, icc);
}

fn convert_to_srgb(data: &mut Vec<u8>, layout: moxcms::Layout, icc: &[u8]) {
    use moxcms::{ColorProfile, DataColorSpace, TransformOptions};
    let Ok(profile) = ColorProfile::new_from_slice(icc) else {
        return;
    };
    if profile.color_space != DataColorSpace::Rgb {
        return;
    }
    let srgb = ColorProfile::new_srgb();
    let Ok(transform) =
        profile.create_transform_8bit(layout, &srgb, layout, TransformOptions::default())
    else {
        return;
    };
    let mut out = vec![0u8; data.len()];
    if transform.transform(data, &mut out).is_ok() {
        *data = out;
    }
}

/// CMYK ink amounts to sRGB through the file's CMYK profile when it has a usable one, else with
/// the naive formula.
pub(crate) fn cmyk_to_rgb(
    width: u32,
    height: u32,
    cmyk: &[u8],
    icc: Option<&[u8]>,
) -> Result<Rgb, MediaError> {
    use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};
    let profile = icc
        .and_then(|icc| ColorProfile::new_from_slice(icc).ok())
        .filter(|p| p.color_space == DataColorSpace::Cmyk);
    if let Some(profile) = profile {
        let srgb = ColorProfile::new_srgb();
        // moxcms takes 8-bit CMYK in the RGBA layout.
        if let Ok(transform) = profile.create_transform_8bit(
            Layout::Rgba,
            &srgb,
            Layout::Rgb,
            TransformOptions::default(),
        ) {
            let mut out = vec![0u8; cmyk.len() / 4 * 3];
            if transform.transform(cmyk, &mut out).is_ok() {
                return Rgb::new(width, height, out);
            }
        }
    }
    Rgb::from_cmyk(width, height, cmyk)
}

/// Encodes baseline JPEG, 4:2:0, no metadata (renditions never carry the original's EXIF, so
/// they cannot leak its GPS position).
pub(crate) fn encode_jpeg(image: &Rgb, quality: u8) -> Result<Vec<u8>, MediaError> {
    let too_big = || MediaError::Failed("rendition larger than a JPEG can hold".into());
    let w = u16::try_from(image.width).map_err(|_| too_big())?;
    let h = u16::try_from(image.height).map_err(|_| too_big())?;
    let mut out = Vec::with_capacity(image.data.len() / 8);
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(&image.data, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| MediaError::Failed(format!("encoding JPEG: {e}")))?;
    Ok(out)
}

/// What [`write_renditions`] needs to know besides the pixels.
#[derive(Default)]
pub(crate) struct Finish<'a> {
    /// EXIF orientation, 1 (or absent) when the pixels already stand upright.
    pub orientation: u16,
    /// Embedded RGB ICC profile, converted to sRGB after the (cheaper) preview resize.
    pub icc: Option<&'a [u8]>,
}

/// Sizes written by [`write_renditions`].
pub(crate) struct Written {
    pub preview: (u32, u32),
    pub thumb: (u32, u32),
    /// What [`ink`] measured on a picture written with its alpha.
    pub ink: Option<Vec<u16>>,
}

/// Writes `preview.jpg` and `thumb.jpg` into `out_dir`: preview = `image` fitted into
/// `PREVIEW_MAX`, colour-converted and oriented; thumb = the preview fitted into `THUMB_MAX`.
/// Both files appear at once (temporary names, then renamed), or neither.
pub(crate) fn write_renditions(
    image: Rgb,
    finish: Finish,
    out_dir: &Path,
) -> Result<Written, MediaError> {
    let (pw, ph) = fit(image.width, image.height, PREVIEW_MAX);
    let mut preview = if (pw, ph) == (image.width, image.height) {
        image
    } else {
        resize(&image, pw, ph)?
    };
    if let Some(icc) = finish.icc {
        to_srgb(&mut preview, icc);
    }
    let preview = orient(preview, finish.orientation);
    let (tw, th) = fit(preview.width, preview.height, THUMB_MAX);
    let thumb = resize(&preview, tw, th)?;
    let preview_jpeg = encode_jpeg(&preview, PREVIEW_QUALITY)?;
    let thumb_jpeg = encode_jpeg(&thumb, THUMB_QUALITY)?;
    let written = Written {
        preview: (preview.width, preview.height),
        thumb: (tw, th),
        ink: None,
    };
    let result = store(out_dir, "preview.jpg", &preview_jpeg)
        .and_then(|()| store(out_dir, "thumb.jpg", &thumb_jpeg));
    if let Err(e) = result {
        remove_renditions(out_dir);
        return Err(e);
    }
    Ok(written)
}

/// Writes the preset file of `format` into `out_dir`: `image` fitted into `max` (never
/// enlarged), colour-converted and oriented; RGBA keeps its alpha (PNG, WebP) or is flattened
/// onto white (JPEG). The size written is `Written::preview` (and `thumb`).
pub(crate) fn write_preset(
    image: Picture,
    finish: Finish,
    max: u32,
    format: super::Encoding,
    out_dir: &Path,
) -> Result<Written, MediaError> {
    // Fitted before orienting: a quarter turn swaps the sides, which a square box does not mind.
    let (iw, ih) = image.size();
    let (w, h) = fit(iw, ih, max);
    let picture = match image {
        Picture::Rgb(image) => {
            let mut p = if (w, h) == (iw, ih) {
                image
            } else {
                resize(&image, w, h)?
            };
            if let Some(icc) = finish.icc {
                to_srgb(&mut p, icc);
            }
            Picture::Rgb(orient(p, finish.orientation))
        }
        Picture::Rgba(image) => {
            let mut p = if (w, h) == (iw, ih) {
                image
            } else {
                resize_rgba(&image, w, h)?
            };
            if let Some(icc) = finish.icc {
                to_srgb_rgba(&mut p, icc);
            }
            let p = orient_rgba(p, finish.orientation);
            if format.keeps_alpha() {
                Picture::Rgba(p)
            } else {
                Picture::Rgb(p.on_white()?)
            }
        }
    };
    let size = picture.size();
    let ink = match &picture {
        Picture::Rgba(p) => ink(p),
        Picture::Rgb(_) => None,
    };
    let bytes = encode(&picture, format)?;
    store(out_dir, format.preset_file(), &bytes)?;
    Ok(Written {
        preview: size,
        thumb: size,
        ink,
    })
}

/// How light what a transparent picture draws is: the share of its pixels at least half opaque
/// in each of [`INK_LEVELS`] equal steps of relative luminance (WCAG's, 0 black to 1 white), in
/// thousandths; `None` when it draws nothing. From it the contrast with any background can be
/// judged pixel by pixel, as a person sees a logo, not only on average.
pub(crate) fn ink(image: &Rgba) -> Option<Vec<u16>> {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    // One table instead of three powf per pixel.
    let table: Vec<f64> = (0..=255u8).map(lin).collect();
    let mut counts = [0u64; INK_LEVELS];
    for p in image.data.chunks_exact(4).filter(|p| p[3] >= 128) {
        let l = 0.2126 * table[usize::from(p[0])]
            + 0.7152 * table[usize::from(p[1])]
            + 0.0722 * table[usize::from(p[2])];
        counts[((l * INK_LEVELS as f64) as usize).min(INK_LEVELS - 1)] += 1;
    }
    let n: u64 = counts.iter().sum();
    (n > 0).then(|| {
        counts
            .iter()
            .map(|&c| u16::try_from(c * 1000 / n).unwrap_or(1000))
            .collect()
    })
}

/// How many luminance steps [`ink`] counts in.
pub const INK_LEVELS: usize = 64;

/// Encodes a preset: JPEG at `PRESET_QUALITY`, PNG (default compression), or lossless WebP.
/// None of them carries the original's metadata.
fn encode(picture: &Picture, format: super::Encoding) -> Result<Vec<u8>, MediaError> {
    use image::ImageEncoder;
    let failed =
        |e: image::ImageError| MediaError::Failed(format!("encoding {}: {e}", format.name()));
    let (data, (w, h), colour) = match picture {
        Picture::Rgb(p) => (&p.data, picture.size(), image::ExtendedColorType::Rgb8),
        Picture::Rgba(p) => (&p.data, picture.size(), image::ExtendedColorType::Rgba8),
    };
    let mut out = Vec::with_capacity(data.len() / 4);
    match format {
        super::Encoding::Jpeg => match picture {
            Picture::Rgb(p) => return encode_jpeg(p, PRESET_QUALITY),
            Picture::Rgba(_) => return Err(MediaError::Failed("JPEG has no alpha channel".into())),
        },
        super::Encoding::Png => image::codecs::png::PngEncoder::new(&mut out)
            .write_image(data, w, h, colour)
            .map_err(failed)?,
        super::Encoding::Webp => image::codecs::webp::WebPEncoder::new_lossless(&mut out)
            .write_image(data, w, h, colour)
            .map_err(failed)?,
    }
    Ok(out)
}

/// Writes under a temporary name and renames, so a reader never sees half a file.
fn store(out_dir: &Path, name: &str, bytes: &[u8]) -> Result<(), MediaError> {
    let tmp = out_dir.join(format!(".{name}.tmp"));
    let io = |e: std::io::Error| MediaError::Failed(format!("writing {name}: {e}"));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, out_dir.join(name)).map_err(io)
}

/// Removes whatever renditions (or temporary files) a failed render left behind.
pub(crate) fn remove_renditions(out_dir: &Path) {
    for name in [
        "preview.jpg",
        "thumb.jpg",
        ".preview.jpg.tmp",
        ".thumb.jpg.tmp",
    ] {
        let _ = std::fs::remove_file(out_dir.join(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_aspect_and_never_enlarges() {
        assert_eq!(fit(6000, 4000, 1600), (1600, 1067));
        assert_eq!(fit(4000, 6000, 320), (213, 320));
        assert_eq!(fit(100, 50, 320), (100, 50));
        assert_eq!(fit(100_000, 1, 320), (320, 1));
        assert_eq!(scale_to(16, 8, 1600), (1600, 800));
    }

    /// A 3x2 image whose pixels are numbered 0..6 in the red channel.
    fn numbered() -> Rgb {
        let data = (0u8..6).flat_map(|i| [i, 0, 0]).collect();
        Rgb::new(3, 2, data).unwrap()
    }

    fn reds(image: &Rgb) -> Vec<u8> {
        image.data.chunks(3).map(|p| p[0]).collect()
    }

    #[test]
    fn orientations_match_the_exif_definitions() {
        // Stored:  0 1 2
        //          3 4 5
        let cases: [(u16, (u32, u32), [u8; 6]); 8] = [
            (1, (3, 2), [0, 1, 2, 3, 4, 5]),
            (2, (3, 2), [2, 1, 0, 5, 4, 3]),
            (3, (3, 2), [5, 4, 3, 2, 1, 0]),
            (4, (3, 2), [3, 4, 5, 0, 1, 2]),
            (5, (2, 3), [0, 3, 1, 4, 2, 5]),
            (6, (2, 3), [3, 0, 4, 1, 5, 2]),
            (7, (2, 3), [5, 2, 4, 1, 3, 0]),
            (8, (2, 3), [2, 5, 1, 4, 0, 3]),
        ];
        for (orientation, size, expected) in cases {
            let out = orient(numbered(), orientation);
            assert_eq!((out.width, out.height), size, "orientation {orientation}");
            assert_eq!(reds(&out), expected, "orientation {orientation}");
        }
    }

    #[test]
    fn transparency_is_flattened_onto_white() {
        let rgba = vec![255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128];
        let rgb = Rgb::from_rgba_on_white(3, 1, rgba).unwrap();
        assert_eq!(rgb.data, vec![255, 0, 0, 255, 255, 255, 127, 127, 127]);
    }

    #[test]
    fn cmyk_without_profile_uses_the_naive_formula() {
        let rgb = Rgb::from_cmyk(2, 1, &[0, 255, 255, 0, 0, 0, 0, 255]).unwrap();
        assert_eq!(rgb.data, vec![255, 0, 0, 0, 0, 0]);
    }
}
