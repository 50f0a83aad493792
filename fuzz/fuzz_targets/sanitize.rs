//! The file and folder name sanitiser: whatever it accepts is a safe, stable name.
#![no_main]
use assetport::sanitize::{name, relative_path, MAX_DEPTH, MAX_NAME_BYTES};
use libfuzzer_sys::fuzz_target;

fn check_name(raw: &str, n: &str) {
    assert!(!n.is_empty(), "{raw:?} became empty");
    assert!(n.len() <= MAX_NAME_BYTES);
    assert!(n != "." && n != "..");
    assert!(!n.contains(['/', '\\', '\0']), "{n:?} holds a separator");
    assert!(
        !n.chars().any(char::is_control),
        "{n:?} holds a control character"
    );
    assert!(!n.ends_with('.'));
    assert_eq!(n, n.trim(), "{n:?} keeps outer white space");
    // Accepting again changes nothing: a stored name is valid input.
    assert_eq!(name(n).as_deref(), Ok(n), "not idempotent for {raw:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(n) = name(raw) {
        check_name(raw, &n);
    }
    if let Ok(segments) = relative_path(raw) {
        assert!(!segments.is_empty() && segments.len() <= MAX_DEPTH);
        for s in &segments {
            check_name(raw, s);
        }
    }
});
