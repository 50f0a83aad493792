//! Content-Disposition building: any file name gives a valid header value (visible ASCII only,
//! so no header splitting), of the requested kind, that names the file.
#![no_main]
use assetport::http::disposition::content_disposition;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(filename) = std::str::from_utf8(rest) else {
        return;
    };
    let inline = first & 1 == 1;
    let value = content_disposition(inline, filename);
    assert!(
        value.bytes().all(|b| (0x20..0x7f).contains(&b)),
        "not visible ASCII: {value:?}"
    );
    assert!(axum::http::HeaderValue::from_str(&value).is_ok());
    assert!(value.starts_with(if inline { "inline" } else { "attachment" }));
    assert!(value.contains("filename"), "{value:?}");
});
