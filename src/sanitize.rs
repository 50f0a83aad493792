//! Names that come from users (file names, folder names, upload-relative paths) are checked
//! here and nowhere else. Storage keys never contain user input, so a name can at worst be
//! refused, never escape the storage root; these rules keep the library tidy and unambiguous.
//!
//! Two functions: `name` for what is stored (refuses what a person should fix, replaces `:` and
//! `\` which other systems send as part of a name), and `download_name` for every name that
//! leaves in a ZIP entry or a `Content-Disposition` (never refuses: whatever is in the database,
//! including rows from before a rule existed, comes out as one harmless name).
use unicode_normalization::UnicodeNormalization;

/// Characters that look like `/` or `.` and so could make a name read as a path.
const LOOKALIKES: &[char] = &[
    '\u{2215}', '\u{2044}', '\u{FF0F}', '\u{29F8}', '\u{2571}', '\u{1735}', '\u{FF3C}', '\u{2216}',
    '\u{29F5}', '\u{FE68}', '\u{FF0E}', '\u{2024}', '\u{FE52}', '\u{3002}', '\u{FF61}',
];

/// Bidirectional overrides and invisible characters used to disguise extensions.
fn is_disguise(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Longest accepted name, in bytes (the common file-system limit).
pub const MAX_NAME_BYTES: usize = 255;
/// Deepest folder path an upload may create.
pub const MAX_DEPTH: usize = 32;

/// Validates one file or folder name. Surrounding white space is trimmed; everything else that
/// is unsafe is refused with a reason a person can act on.
pub fn name(raw: &str) -> Result<String, String> {
    // `:` (NTFS streams, drive letters) and `\` (Windows paths from old browsers) are part of
    // what senders' systems produce, so they are replaced rather than refused. NFC, so the two
    // spellings of `é` are one name.
    let n: String = raw
        .trim()
        .nfc()
        .map(|c| if c == ':' || c == '\\' { '_' } else { c })
        .collect();
    let n = n.as_str();
    if n.is_empty() {
        return Err("a name is required".into());
    }
    if n.len() > MAX_NAME_BYTES {
        return Err(format!("names are limited to {MAX_NAME_BYTES} bytes"));
    }
    if n == "." || n == ".." {
        return Err("'.' and '..' are not names".into());
    }
    if let Some(c) = n.chars().find(|c| {
        matches!(c, '/' | '\0') || c.is_control() || LOOKALIKES.contains(c) || is_disguise(*c)
    }) {
        return Err(format!(
            "names may not contain {}",
            if c.is_control() || is_disguise(c) {
                format!("control or invisible characters (U+{:04X})", c as u32)
            } else {
                format!("'{c}'")
            }
        ));
    }
    if n.ends_with('.') {
        return Err("names may not end with a dot".into());
    }
    let stem = n.split('.').next().unwrap_or(n).trim_end();
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        return Err(format!("'{stem}' is a reserved device name"));
    }
    Ok(n.to_string())
}

/// A name safe to hand to another system as one path segment: a ZIP entry's folder or file
/// name, or a `Content-Disposition` file name. NFC; separators (`/`, `\`), `:`, control,
/// invisible and look-alike characters become `_`; trailing dots and spaces go (Windows drops
/// them); an empty or all-dot name becomes `fallback`; a reserved device name gets a leading
/// `_`; at most `MAX_NAME_BYTES`, keeping a short extension. So no drive letter, dot segment or
/// path ever reaches a ZIP entry or a `filename=`.
pub fn download_name(raw: &str, fallback: &str) -> String {
    let replaced: String = raw
        .nfc()
        .map(|c| {
            if matches!(c, '/' | '\\' | ':' | '\0')
                || c.is_control()
                || LOOKALIKES.contains(&c)
                || is_disguise(c)
            {
                '_'
            } else {
                c
            }
        })
        .collect();
    let mut n = replaced
        .trim()
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace())
        .to_string();
    if n.is_empty() {
        n = fallback.to_string();
    }
    let stem = n.split('.').next().unwrap_or(&n).trim_end();
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        n = format!("_{n}");
    }
    if n.len() > MAX_NAME_BYTES {
        let ext = match n.rfind('.') {
            Some(i) if i > 0 && n.len() - i <= 16 => n[i..].to_string(),
            _ => String::new(),
        };
        let mut end = MAX_NAME_BYTES - ext.len();
        while !n.is_char_boundary(end) {
            end -= 1;
        }
        n = format!("{}{ext}", &n[..end]);
    }
    n
}

/// Splits an upload's relative path (`a/b/c.jpg`) into validated segments; the last one is
/// the file name. Absolute paths, backslashes, empty or dot segments are refused.
pub fn relative_path(raw: &str) -> Result<Vec<String>, String> {
    if raw.starts_with('/') || raw.contains('\\') || raw.contains(':') {
        return Err("relative_path must be relative, with '/' between folders".into());
    }
    let parts: Vec<&str> = raw.split('/').collect();
    if parts.len() > MAX_DEPTH {
        return Err(format!("relative_path is limited to {MAX_DEPTH} levels"));
    }
    parts
        .into_iter()
        .map(|p| {
            if p.trim().is_empty() {
                Err("relative_path has an empty segment".to_string())
            } else {
                name(p)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        assert_eq!(name(" Spring 2027.jpg ").unwrap(), "Spring 2027.jpg");
        assert_eq!(name("Été – brochure.pdf").unwrap(), "Été – brochure.pdf");
        assert_eq!(name(".hidden").unwrap(), ".hidden");
    }

    #[test]
    fn refuses_unsafe_names() {
        for bad in [
            "",
            "..",
            ".",
            "a/b",
            "a\0b",
            "x\u{7}",
            "CON",
            "con.txt",
            "lpt1",
            "end.",
            "a\u{2215}b",
            "a\u{FF0E}\u{FF0E}",
            "gpj.\u{202E}exe",
            &"x".repeat(256),
        ] {
            assert!(name(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn colons_and_backslashes_are_replaced_and_names_are_nfc() {
        assert_eq!(name("stream.txt:hidden").unwrap(), "stream.txt_hidden");
        assert_eq!(name("C:").unwrap(), "C_");
        assert_eq!(name("a\\b").unwrap(), "a_b");
        assert_eq!(name("e\u{301}.txt").unwrap(), "\u{e9}.txt");
    }

    #[test]
    fn download_names_are_one_harmless_segment() {
        assert_eq!(download_name("a/../../b.zip", "x"), "a_.._.._b.zip");
        assert_eq!(download_name("C:", "x"), "C_");
        assert_eq!(download_name("C:\\Windows\\evil", "x"), "C__Windows_evil");
        assert_eq!(download_name("..", "folder"), "folder");
        assert_eq!(download_name(" . ", "folder"), "folder");
        assert_eq!(download_name("", "file"), "file");
        assert_eq!(download_name("end. ", "x"), "end");
        assert_eq!(download_name("con.txt", "x"), "_con.txt");
        assert_eq!(download_name("e\u{301}.txt", "x"), "\u{e9}.txt");
        assert_eq!(download_name("a\r\nb", "x"), "a__b");
        assert_eq!(download_name(".hidden", "x"), ".hidden");
        let long = download_name(&format!("{}.jpeg", "é".repeat(200)), "x");
        assert!(
            long.len() <= MAX_NAME_BYTES && long.ends_with(".jpeg"),
            "{long}"
        );
    }

    #[test]
    fn relative_paths() {
        assert_eq!(relative_path("a/b/c.jpg").unwrap(), vec!["a", "b", "c.jpg"]);
        for bad in [
            "/etc/passwd",
            "../x",
            "a//b",
            "a/../b",
            "a\\b",
            "C:/x",
            "a/./b",
        ] {
            assert!(relative_path(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
