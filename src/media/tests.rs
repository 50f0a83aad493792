//! End-to-end tests of `render_file` (and `render_in_child`) on fixtures made here with the
//! encoders the crate already depends on, or built byte by byte.
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image::ImageEncoder;

use super::meta::{exif::tests::sample_exif, iptc::tests as iptc, xmp::tests::SAMPLE as XMP};
use super::psd::tests::build_psd;
use super::*;

/// A directory holding one input file and receiving the renditions.
struct Case {
    dir: tempfile::TempDir,
    input: PathBuf,
}

impl Case {
    fn new(name: &str, bytes: &[u8]) -> Case {
        let dir = tempfile::tempdir().expect("temp dir");
        let input = dir.path().join(name);
        std::fs::write(&input, bytes).expect("write input");
        Case { dir, input }
    }

    fn out(&self) -> &Path {
        self.dir.path()
    }

    fn render(&self) -> Result<Report, MediaError> {
        render_file(&self.input, self.out(), &Limits::default())
    }

    fn rendered(&self) -> Report {
        let report = self.render().expect("render");
        assert!(report.rendered, "not rendered: {report:?}");
        assert!(self.out().join("thumb.jpg").is_file());
        assert!(self.out().join("preview.jpg").is_file());
        report
    }

    /// Decodes a written rendition: (width, height, RGB pixels).
    fn decode(&self, name: &str) -> (u32, u32, Vec<u8>) {
        let bytes = std::fs::read(self.out().join(name)).expect("rendition");
        let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
        let pixels = decoder.decode().expect("rendition decodes");
        let info = decoder.info().expect("info");
        assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
        (u32::from(info.width), u32::from(info.height), pixels)
    }

    fn pixel(&self, name: &str, x: u32, y: u32) -> [u8; 3] {
        let (w, _, data) = self.decode(name);
        let i = 3 * (y * w + x) as usize;
        [data[i], data[i + 1], data[i + 2]]
    }
}

/// Photo-like RGB: smooth gradients with some texture (compresses like a photo, not like noise
/// or flat colour).
fn photo(w: u32, h: u32) -> Vec<u8> {
    (0..h)
        .flat_map(|y| {
            (0..w).flat_map(move |x| {
                let texture = ((x / 7 + y / 5) % 32 * 4) as u8;
                [(x * 255 / w) as u8, (y * 255 / h) as u8, texture]
            })
        })
        .collect()
}

/// Left half red, right half blue.
fn halves(w: u32, h: u32) -> Vec<u8> {
    (0..h)
        .flat_map(|_| (0..w).flat_map(move |x| if x < w / 2 { [255, 0, 0] } else { [0, 0, 255] }))
        .collect()
}

fn jpeg(w: u32, h: u32, rgb: &[u8], segments: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
    for (nr, data) in segments {
        encoder.add_app_segment(*nr, data.clone()).expect("segment");
    }
    encoder
        .encode(rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .expect("encode");
    out
}

fn exif_segment(orientation: u16) -> (u8, Vec<u8>) {
    (1, [b"Exif\0\0".to_vec(), sample_exif(orientation)].concat())
}

fn close(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 40)
}

fn assert_aspect(report: &Report, w: u32, h: u32) {
    for (name, (rw, rh)) in [
        ("preview", report.preview.unwrap()),
        ("thumb", report.thumb.unwrap()),
    ] {
        let expected = f64::from(w) / f64::from(h);
        let got = f64::from(rw) / f64::from(rh);
        assert!(
            (got - expected).abs() / expected < 0.02,
            "{name} {rw}x{rh} vs {w}x{h}"
        );
    }
    let (pw, ph) = report.preview.unwrap();
    let (tw, th) = report.thumb.unwrap();
    assert!(
        pw.max(ph) <= PREVIEW_MAX && tw.max(th) <= THUMB_MAX,
        "{report:?}"
    );
}

#[test]
fn jpeg_is_decoded_at_reduced_scale_and_the_thumb_comes_from_the_preview() {
    let case = Case::new("photo.bin", &jpeg(3000, 1500, &photo(3000, 1500), &[]));
    let report = case.rendered();
    assert_eq!(report.format.as_deref(), Some("jpeg"));
    assert_eq!((report.width, report.height), (Some(3000), Some(1500)));
    // Decoded at 1/2 (1500 px is still >= 1400): the preview is those pixels, not a 1600 px
    // resize of a full decode.
    assert_eq!(report.preview, Some((1500, 750)));
    assert_eq!(report.thumb, Some((320, 160)));
    assert_eq!(case.decode("preview.jpg").0, 1500);
    assert_eq!(case.decode("thumb.jpg").0, 320);
    assert_aspect(&report, 3000, 1500);
}

#[test]
fn small_jpeg_is_never_enlarged() {
    let case = Case::new("small", &jpeg(200, 100, &photo(200, 100), &[]));
    let report = case.rendered();
    assert_eq!(report.preview, Some((200, 100)));
    assert_eq!(report.thumb, Some((200, 100)));
}

#[test]
fn exif_orientation_is_applied() {
    // Stored landscape, left red / right blue; orientation 6 = rotate 90° clockwise, so the
    // upright picture is portrait with red on top.
    let case = Case::new(
        "rotated.jpg",
        &jpeg(400, 200, &halves(400, 200), &[exif_segment(6)]),
    );
    let report = case.rendered();
    assert_eq!((report.width, report.height), (Some(200), Some(400)));
    assert_eq!(report.preview, Some((200, 400)));
    assert_eq!(report.thumb, Some((160, 320)));
    assert!(close(case.pixel("preview.jpg", 100, 50), [255, 0, 0]));
    assert!(close(case.pixel("preview.jpg", 100, 350), [0, 0, 255]));
    assert!(close(case.pixel("thumb.jpg", 80, 20), [255, 0, 0]));
}

#[test]
fn metadata_comes_from_exif_xmp_and_iptc() {
    let xmp = [
        b"http://ns.adobe.com/xap/1.0/\0".to_vec(),
        XMP.as_bytes().to_vec(),
    ]
    .concat();
    let resources = iptc::resource_block(0x0404, &iptc::sample_iptc());
    let app13 = [b"Photoshop 3.0\0".to_vec(), resources].concat();
    let segments = [exif_segment(1), (1, xmp), (13, app13)];
    let case = Case::new("meta.jpg", &jpeg(64, 48, &photo(64, 48), &segments));
    let meta = case.rendered().meta;
    // XMP first, then IPTC, then EXIF.
    assert_eq!(meta.title.as_deref(), Some("Lighthouse"));
    assert_eq!(meta.description.as_deref(), Some("A lighthouse at dusk"));
    assert_eq!(
        meta.keywords,
        vec!["lighthouse", "coast", "mountain", "fjörd"]
    );
    assert_eq!(meta.credit.as_deref(), Some("Example Agency"));
    assert_eq!(meta.copyright.as_deref(), Some("© Example Agency"));
    // The camera's own clock wins for the capture time.
    assert_eq!(meta.captured_at.as_deref(), Some("2021-06-30T21:30:00Z"));
    assert_eq!(meta.camera.as_deref(), Some("Canon EOS R5"));
    assert!(meta.gps.is_some());
}

#[test]
fn iptc_alone_and_exif_alone_are_enough() {
    let resources = iptc::resource_block(0x0404, &iptc::sample_iptc());
    let app13 = [b"Photoshop 3.0\0".to_vec(), resources].concat();
    let case = Case::new("iptc.jpg", &jpeg(64, 48, &photo(64, 48), &[(13, app13)]));
    let meta = case.rendered().meta;
    assert_eq!(meta.title.as_deref(), Some("Fjord"));
    assert_eq!(meta.description.as_deref(), Some("A fjord in summer"));
    assert_eq!(meta.credit.as_deref(), Some("Nordic Pictures"));
    assert_eq!(meta.copyright.as_deref(), Some("(c) Nordic Pictures"));
    assert_eq!(meta.captured_at.as_deref(), Some("2018-07-15T13:30:00Z"));

    let case = Case::new(
        "exif.jpg",
        &jpeg(64, 48, &photo(64, 48), &[exif_segment(1)]),
    );
    let meta = case.rendered().meta;
    assert_eq!(meta.title.as_deref(), Some("Harbour at dawn"));
    assert_eq!(meta.credit.as_deref(), Some("Jo Photographer"));
    assert_eq!(meta.copyright.as_deref(), Some("(c) 2021 Example Ltd"));
    let (lat, lon) = meta.gps.expect("gps");
    assert!(
        lat > 48.8 && lat < 48.9 && lon < -2.3 && lon > -2.4,
        "{lat} {lon}"
    );
}

#[test]
fn renditions_carry_no_metadata() {
    let case = Case::new("gps.jpg", &jpeg(64, 48, &photo(64, 48), &[exif_segment(1)]));
    case.rendered();
    for name in ["preview.jpg", "thumb.jpg"] {
        let bytes = std::fs::read(case.out().join(name)).unwrap();
        assert!(
            !bytes.windows(6).any(|w| w == b"Exif\0\0"),
            "{name} has EXIF"
        );
    }
}

#[test]
fn cmyk_and_grayscale_jpegs_become_rgb() {
    let red_ink: Vec<u8> = (0..32 * 32).flat_map(|_| [0, 255, 255, 0]).collect();
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 95)
        .encode(&red_ink, 32, 32, jpeg_encoder::ColorType::Cmyk)
        .unwrap();
    let case = Case::new("cmyk.jpg", &out);
    case.rendered();
    assert!(
        close(case.pixel("preview.jpg", 16, 16), [255, 0, 0]),
        "{:?}",
        case.pixel("preview.jpg", 16, 16)
    );

    let gray = vec![90u8; 40 * 20];
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 95)
        .encode(&gray, 40, 20, jpeg_encoder::ColorType::Luma)
        .unwrap();
    let case = Case::new("gray.jpg", &out);
    assert_eq!(case.rendered().preview, Some((40, 20)));
    assert!(close(case.pixel("preview.jpg", 10, 10), [90, 90, 90]));
}

/// Encodes with the `image` crate's encoder for `format`.
fn raster(format: image::ImageFormat, w: u32, h: u32, rgba: bool) -> Vec<u8> {
    let pixels: Vec<u8> = if rgba {
        // Left half opaque red, right half fully transparent.
        (0..h)
            .flat_map(|_| {
                (0..w).flat_map(move |x| {
                    if x < w / 2 {
                        [255, 0, 0, 255]
                    } else {
                        [0, 0, 0, 0]
                    }
                })
            })
            .collect()
    } else {
        photo(w, h)
    };
    let color = if rgba {
        image::ExtendedColorType::Rgba8
    } else {
        image::ExtendedColorType::Rgb8
    };
    let mut out = Cursor::new(Vec::new());
    match format {
        image::ImageFormat::Png => {
            image::codecs::png::PngEncoder::new(&mut out).write_image(&pixels, w, h, color)
        }
        image::ImageFormat::Gif => {
            image::codecs::gif::GifEncoder::new(&mut out).write_image(&pixels, w, h, color)
        }
        image::ImageFormat::WebP => image::codecs::webp::WebPEncoder::new_lossless(&mut out)
            .write_image(&pixels, w, h, color),
        image::ImageFormat::Tiff => {
            image::codecs::tiff::TiffEncoder::new(&mut out).write_image(&pixels, w, h, color)
        }
        image::ImageFormat::Bmp => {
            image::codecs::bmp::BmpEncoder::new(&mut out).write_image(&pixels, w, h, color)
        }
        other => panic!("no encoder for {other:?}"),
    }
    .expect("encode fixture");
    out.into_inner()
}

#[test]
fn every_raster_format_renders_with_its_aspect_ratio() {
    use image::ImageFormat::*;
    for (format, name, w, h) in [
        (Png, "png", 2000, 1000),
        (Gif, "gif", 300, 150),
        (WebP, "webp", 1800, 600),
        (Tiff, "tiff", 700, 1400),
        (Bmp, "bmp", 640, 480),
    ] {
        let case = Case::new("upload.dat", &raster(format, w, h, false));
        let report = case.rendered();
        assert_eq!(report.format.as_deref(), Some(name));
        assert_eq!((report.width, report.height), (Some(w), Some(h)), "{name}");
        assert_aspect(&report, w, h);
        let (pw, ph) = report.preview.unwrap();
        assert_eq!(
            pw.max(ph),
            w.max(h).min(PREVIEW_MAX),
            "{name} preview {pw}x{ph}"
        );
        assert_eq!(case.decode("preview.jpg").0, pw);
    }
}

#[test]
fn transparency_is_flattened_onto_white() {
    for format in [image::ImageFormat::Png, image::ImageFormat::WebP] {
        let case = Case::new("alpha", &raster(format, 200, 100, true));
        case.rendered();
        assert!(close(case.pixel("preview.jpg", 50, 50), [255, 0, 0]));
        assert!(
            close(case.pixel("preview.jpg", 150, 50), [255, 255, 255]),
            "{format:?}"
        );
    }
}

/// A PNG whose header declares `w` x `h` pixels, followed by a tiny IDAT: a decompression bomb.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let crc = crc32fast::hash(&[kind, data].concat());
        c.extend_from_slice(&crc.to_be_bytes());
        c
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    [
        b"\x89PNG\r\n\x1A\n".to_vec(),
        chunk(b"IHDR", &ihdr),
        chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]),
        chunk(b"IEND", &[]),
    ]
    .concat()
}

/// A JPEG whose frame header declares `w` x `h`.
fn jpeg_bomb(w: u16, h: u16) -> Vec<u8> {
    let real = jpeg(8, 8, &photo(8, 8), &[]);
    let sof = real
        .windows(2)
        .position(|m| m == [0xFF, 0xC0])
        .expect("baseline SOF");
    let mut bomb = real.clone();
    bomb[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    bomb[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    bomb
}

/// A PSD whose header declares `w` x `h`.
fn psd_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut psd = build_psd(4, 4, |_, _| [0, 0, 0], &[]);
    psd[14..18].copy_from_slice(&h.to_be_bytes());
    psd[18..22].copy_from_slice(&w.to_be_bytes());
    psd
}

#[test]
fn decompression_bombs_fail_fast_as_too_large() {
    for (name, bytes) in [
        ("png", png_bomb(100_000, 100_000)),
        ("jpeg", jpeg_bomb(65_000, 65_000)),
        ("psd", psd_bomb(30_000, 30_000)),
    ] {
        let case = Case::new("bomb", &bytes);
        let started = Instant::now();
        let result = case.render();
        assert!(
            matches!(result, Err(MediaError::TooLarge(_))),
            "{name}: {result:?}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{name} took {:?}",
            started.elapsed()
        );
        assert!(result.unwrap_err().is_permanent());
        assert!(!case.out().join("preview.jpg").exists());
    }
}

#[test]
fn tighter_limits_are_honoured() {
    let case = Case::new("a.png", &raster(image::ImageFormat::Png, 300, 200, false));
    let limits = Limits {
        max_pixels: 50_000,
        ..Limits::default()
    };
    let result = render_file(&case.input, case.out(), &limits);
    assert!(matches!(result, Err(MediaError::TooLarge(_))), "{result:?}");
}

#[test]
fn truncated_files_are_corrupt() {
    let full_jpeg = jpeg(300, 200, &photo(300, 200), &[]);
    let full_png = raster(image::ImageFormat::Png, 300, 200, false);
    let full_psd = build_psd(300, 200, |x, y| [x as u8, y as u8, 0], &[]);
    for (name, bytes) in [
        ("jpeg header", full_jpeg[..120].to_vec()),
        ("jpeg scan", full_jpeg[..full_jpeg.len() / 2].to_vec()),
        ("png", full_png[..full_png.len() / 2].to_vec()),
        ("png header", full_png[..20].to_vec()),
        (
            "gif",
            raster(image::ImageFormat::Gif, 300, 200, false)[..40].to_vec(),
        ),
        ("psd", full_psd[..full_psd.len() / 2].to_vec()),
        ("psd header", full_psd[..20].to_vec()),
    ] {
        let case = Case::new("cut", &bytes);
        let result = case.render();
        assert!(
            matches!(result, Err(MediaError::Corrupt(_))),
            "{name}: {result:?}"
        );
        assert!(!case.out().join("thumb.jpg").exists(), "{name}");
    }
}

#[test]
fn unknown_bytes_get_a_placeholder() {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect();
    for bytes in [noise, b"just some text".to_vec(), Vec::new()] {
        let case = Case::new("photo.jpg", &bytes);
        let report = case.render().expect("placeholder, not an error");
        assert_eq!(report, Report::default());
        assert!(!case.out().join("thumb.jpg").exists());
    }
}

#[test]
fn svg_renders_at_preview_size_without_touching_external_references() {
    // A red PNG beside the SVG and a listener: if either were used, the test would see it.
    let case = Case::new("logo.svg", b"");
    let red = case.out().join("red.png");
    std::fs::write(&red, raster(image::ImageFormat::Png, 10, 10, true)).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let svg = format!(
        r##"<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="100000000" height="50000000" viewBox="0 0 200 100">
  <title>Company logo</title>
  <image href="file://{red}" x="0" y="0" width="200" height="100"/>
  <image xlink:href="{red_name}" x="0" y="0" width="200" height="100"/>
  <image href="http://127.0.0.1:{port}/x.png" x="0" y="0" width="200" height="100"/>
  <image href="file:///etc/passwd" width="10" height="10"/>
  <rect x="100" y="0" width="100" height="100" fill="#0000ff"/>
</svg>"##,
        red = red.display(),
        red_name = "red.png",
    );
    std::fs::write(&case.input, svg).unwrap();
    let report = case.rendered();
    assert_eq!(report.format.as_deref(), Some("svg"));
    assert_eq!(report.preview, Some((1600, 800)));
    assert_eq!(report.thumb, Some((320, 160)));
    assert_eq!(report.meta.title.as_deref(), Some("Company logo"));
    // Left half: white (no external image loaded); right half: the blue rectangle.
    assert!(close(case.pixel("preview.jpg", 600, 700), [255, 255, 255]));
    assert!(close(case.pixel("preview.jpg", 1200, 400), [0, 0, 255]));
    assert!(
        listener.accept().is_err(),
        "the renderer connected to the network"
    );
}

#[test]
fn svg_external_entities_are_refused() {
    let svg = r#"<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY passwd SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><text>&passwd;</text></svg>"#;
    let case = Case::new("entity.svg", svg.as_bytes());
    let result = case.render();
    assert!(matches!(result, Err(MediaError::Corrupt(_))), "{result:?}");
}

#[test]
fn svg_text_renders_with_the_vendored_font() {
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">
        <text x="10" y="70" font-family="Arial" font-size="60" font-weight="bold">Hi</text></svg>"#;
    let case = Case::new("text.svg", svg.as_bytes());
    case.rendered();
    let (_, _, data) = case.decode("preview.jpg");
    let dark = data
        .chunks(3)
        .filter(|p| p.iter().all(|&c| c < 100))
        .count();
    assert!(dark > 10_000, "text not drawn ({dark} dark pixels)");
}

#[test]
fn svg_data_urls_render_under_the_same_limits() {
    use base64::Engine;
    let small = base64::engine::general_purpose::STANDARD.encode(raster(
        image::ImageFormat::Png,
        10,
        10,
        true,
    ));
    let bomb = base64::engine::general_purpose::STANDARD.encode(png_bomb(100_000, 100_000));
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">
        <image href="data:image/png;base64,{small}" width="100" height="100"/>
        <image href="data:image/png;base64,{bomb}" width="100" height="100"/></svg>"#
    );
    let case = Case::new("embedded.svg", svg.as_bytes());
    case.rendered();
    assert!(close(case.pixel("preview.jpg", 400, 800), [255, 0, 0]));
    assert!(close(case.pixel("preview.jpg", 1200, 800), [255, 255, 255]));
}

#[test]
fn broken_svg_is_corrupt() {
    let case = Case::new(
        "broken.svg",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"><rect",
    );
    assert!(matches!(case.render(), Err(MediaError::Corrupt(_))));
}

#[test]
fn psd_composite_is_read_and_reduced() {
    let resources = iptc::resource_block(0x0404, &iptc::sample_iptc());
    let psd = build_psd(
        3300,
        1650,
        |x, _| if x < 1650 { [255, 0, 0] } else { [0, 0, 255] },
        &resources,
    );
    let case = Case::new("design.psd", &psd);
    let report = case.rendered();
    assert_eq!(report.format.as_deref(), Some("psd"));
    assert_eq!((report.width, report.height), (Some(3300), Some(1650)));
    assert_eq!(report.preview, Some((1600, 800)));
    assert_aspect(&report, 3300, 1650);
    assert!(close(case.pixel("preview.jpg", 400, 400), [255, 0, 0]));
    assert!(close(case.pixel("preview.jpg", 1200, 400), [0, 0, 255]));
    assert_eq!(report.meta.title.as_deref(), Some("Fjord"));
}

#[test]
fn psd_in_other_colour_modes_gets_a_placeholder() {
    let mut psd = build_psd(40, 20, |_, _| [1, 2, 3], &[]);
    psd[24..26].copy_from_slice(&4u16.to_be_bytes()); // CMYK
    let case = Case::new("cmyk.psd", &psd);
    let report = case.render().expect("placeholder");
    assert_eq!(report.format.as_deref(), Some("psd"));
    assert!(!report.rendered);
    assert_eq!(report.width, Some(40));
}

/// A one-page PDF, 600x300 points, left half red, with an Info dictionary.
fn tiny_pdf() -> Vec<u8> {
    let content = "1 0 0 rg 0 0 300 300 re f";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 300] /Contents 4 0 R >>".to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Title (Quarterly report) /Keywords (finance, 2024) >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[test]
fn pdf_first_page_through_pdftoppm() {
    let case = Case::new("report.ai", &tiny_pdf());
    if external::find_program("pdftoppm").is_none() {
        println!("skipped: pdftoppm (poppler-utils) is not installed");
        let report = case.render().expect("placeholder");
        assert_eq!(
            (report.format.as_deref(), report.rendered),
            (Some("pdf"), false)
        );
        return;
    }
    let report = case.rendered();
    assert_eq!(report.format.as_deref(), Some("pdf"));
    assert_eq!(report.pages, Some(1));
    assert_eq!((report.width, report.height), (Some(600), Some(300)));
    assert_eq!(report.preview, Some((1600, 800)));
    assert_eq!(report.thumb, Some((320, 160)));
    assert_eq!(report.meta.title.as_deref(), Some("Quarterly report"));
    assert_eq!(report.meta.keywords, vec!["finance", "2024"]);
    assert!(close(case.pixel("preview.jpg", 400, 400), [255, 0, 0]));
    assert!(close(case.pixel("preview.jpg", 1200, 400), [255, 255, 255]));
    assert!(!case.out().join(".page.ppm").exists());
}

#[test]
fn damaged_pdf_is_corrupt_when_poppler_is_there() {
    if external::find_program("pdftoppm").is_none() {
        println!("skipped: pdftoppm (poppler-utils) is not installed");
        return;
    }
    let case = Case::new("bad.pdf", b"%PDF-1.4\nthis is not a pdf\n");
    let result = case.render();
    assert!(matches!(result, Err(MediaError::Corrupt(_))), "{result:?}");
}

#[test]
fn video_without_ffmpeg_is_a_placeholder() {
    let case = Case::new("clip.mp4", b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2");
    let report = case.render();
    if external::find_program("ffmpeg").is_some() {
        println!("ffmpeg is installed: a fake MP4 must not render");
    }
    let report = report.expect("placeholder");
    assert_eq!(
        (report.format.as_deref(), report.rendered),
        (Some("video"), false)
    );
}

/// A stand-in for the `assetport` binary: a shell script with the given body.
fn fake_renderer(dir: &Path, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("fake-assetport");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn child_protocol_maps_reports_errors_crashes_and_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let limits = Limits {
        timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    let run = |body: &str| {
        let exe = fake_renderer(dir.path(), body);
        let (input, out, limits) = (input.clone(), dir.path().to_path_buf(), limits.clone());
        async move { render_in_child(&exe, &input, &out, &limits).await }
    };

    let ok = run(r#"echo '{"format":"png","rendered":true,"width":2,"height":1,"pages":null,"duration_ms":null,"thumb":[2,1],"preview":[2,1],"meta":{"title":null,"description":null,"keywords":[],"credit":null,"copyright":null,"captured_at":null,"camera":null,"gps":null}}'"#).await;
    assert_eq!(ok.expect("report").thumb, Some((2, 1)));

    let corrupt = run(r#"echo '{"error":"corrupt","message":"bad"}'; exit 2"#).await;
    assert!(matches!(corrupt, Err(MediaError::Corrupt(m)) if m == "bad"));
    let large = run(r#"echo '{"error":"too_large","message":"big"}'; exit 2"#).await;
    assert!(matches!(large, Err(MediaError::TooLarge(_))));

    let crashed = run("kill -SEGV $$").await;
    assert!(matches!(crashed, Err(MediaError::Failed(_))), "{crashed:?}");
    assert!(!crashed.unwrap_err().is_permanent());

    let started = Instant::now();
    let slow = run("sleep 30").await;
    assert!(matches!(slow, Err(MediaError::Timeout(_))), "{slow:?}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // The environment is cleared except PATH and MALLOC_ARENA_MAX.
    let env = run(r#"echo "{\"error\":\"failed\",\"message\":\"$(env | cut -d= -f1 | sort | tr '\n' ' ')\"}"; exit 2"#).await;
    match env {
        Err(MediaError::Failed(names)) => {
            let names: Vec<&str> = names
                .split_whitespace()
                .filter(|n| *n != "PWD" && *n != "SHLVL" && *n != "_")
                .collect();
            assert_eq!(names, vec!["MALLOC_ARENA_MAX", "PATH"]);
        }
        other => panic!("{other:?}"),
    }
}

/// The real binary, when cargo has built one with the `render` subcommand (unit tests cannot
/// ask cargo for it: `cargo test` builds it for the integration tests, `cargo test --lib`
/// does not, and then an older build may be there).
fn built_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.parent()?.join("assetport");
    let probe = std::process::Command::new(&candidate)
        .args(["render", "--help"])
        .output()
        .ok()?;
    probe.status.success().then_some(candidate)
}

#[tokio::test]
async fn the_render_subcommand_renders_in_a_child_process() {
    let Some(exe) = built_binary() else {
        println!("skipped: no target/debug/assetport with a `render` subcommand (cargo build)");
        return;
    };
    let case = Case::new(
        "photo.jpg",
        &jpeg(640, 480, &photo(640, 480), &[exif_segment(1)]),
    );
    let report = render_in_child(&exe, &case.input, case.out(), &Limits::default())
        .await
        .expect("child render");
    assert!(report.rendered);
    assert_eq!(report.preview, Some((640, 480)));
    assert_eq!(report.meta.camera.as_deref(), Some("Canon EOS R5"));

    let bomb = Case::new("bomb.png", &png_bomb(100_000, 100_000));
    let result = render_in_child(&exe, &bomb.input, bomb.out(), &Limits::default()).await;
    assert!(matches!(result, Err(MediaError::TooLarge(_))), "{result:?}");

    // pdftoppm runs inside the child's confinement (rlimits, network namespace, Landlock).
    if external::find_program("pdftoppm").is_some() {
        let pdf = Case::new("doc.pdf", &tiny_pdf());
        let report = render_in_child(&exe, &pdf.input, pdf.out(), &Limits::default())
            .await
            .expect("PDF in the child");
        assert_eq!((report.rendered, report.pages), (true, Some(1)));
    }
}
