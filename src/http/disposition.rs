//! `Content-Disposition` per RFC 6266: an ASCII `filename` fallback plus the exact name in
//! `filename*` (RFC 8187 percent-encoding). Every name first goes through
//! `sanitize::download_name`, as ZIP entries do, so a title like `a/../../b` or `C:\x` never
//! reaches a client as a path.
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// RFC 8187 `attr-char` may stay as it is; everything else is percent-encoded.
const ATTR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment` downloads; `inline` only for content we know is safe to render.
pub fn content_disposition(inline: bool, filename: &str) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let name = crate::sanitize::download_name(filename, "download");
    let filename = name.as_str();
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let fallback = if fallback.trim().is_empty() {
        "download".to_string()
    } else {
        fallback
    };
    format!(
        "{kind}; filename=\"{fallback}\"; filename*=UTF-8''{}",
        utf8_percent_encode(filename, ATTR)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_unicode() {
        assert_eq!(
            content_disposition(false, "a b.jpg"),
            "attachment; filename=\"a b.jpg\"; filename*=UTF-8''a%20b.jpg"
        );
        assert_eq!(
            content_disposition(false, "Été\"x\".pdf"),
            "attachment; filename=\"_t__x_.pdf\"; filename*=UTF-8''%C3%89t%C3%A9%22x%22.pdf"
        );
        assert!(!content_disposition(false, "a\r\nb").contains('\n'));
    }

    #[test]
    fn paths_and_drive_letters_never_reach_the_name() {
        assert_eq!(
            content_disposition(false, "a/../../b.zip"),
            "attachment; filename=\"a_.._.._b.zip\"; filename*=UTF-8''a_.._.._b.zip"
        );
        assert_eq!(
            content_disposition(false, "C:\\x.zip"),
            "attachment; filename=\"C__x.zip\"; filename*=UTF-8''C__x.zip"
        );
        assert!(content_disposition(false, "..").contains("filename=\"download\""));
    }
}
