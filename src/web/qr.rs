//! QR codes of addresses, drawn on the server as SVG (the `qrcode` crate): an admin prints a
//! share link on a flyer or shows it on a screen, and a phone opens it. Our own markup with no
//! text of anyone's in it, only dark modules, so it is safe to serve as an image.
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// The SVG of `text` as a QR code (error correction M: survives a crease or a smudge), with
/// its quiet zone, about 240 px wide. `None` if the text is too long for any QR code.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color>()
            .min_dimensions(240, 240)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
    )
}

/// `text` as a QR code image response, saved as `filename` when downloaded. Never cached: it
/// is a secret address.
pub fn response(text: &str, filename: &str) -> Response {
    let Some(svg) = svg(text) else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let mut r = svg.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    if let Ok(v) = HeaderValue::from_str(&crate::http::disposition::content_disposition(
        true, filename,
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    // An SVG opened on its own is a document: no scripts, no plugins, whatever it held.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    crate::web::headers::mark_private(h);
    r
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_addresses_fit_and_absurd_ones_do_not() {
        let url = format!("https://assets.example.com/s/{}", "x".repeat(43));
        assert!(super::svg(&url).unwrap().contains("<svg"));
        assert!(super::svg(&"x".repeat(5000)).is_none());
    }
}
