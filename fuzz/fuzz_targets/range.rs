//! The Range header parser: every range it returns lies inside the file, none is empty, and a
//! request it cannot satisfy is never answered with bytes.
#![no_main]
use assetport::http::range::{parse, RangeRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (size, header) = data.split_at(8);
    // Sizes from 0 to a few TB, with small ones most often (where the edges are).
    let raw = u64::from_le_bytes(size.try_into().unwrap());
    let size = if raw & 1 == 0 { raw % 4096 } else { raw >> 22 };
    let Ok(header) = std::str::from_utf8(header) else {
        return;
    };
    match parse(Some(header), size) {
        RangeRequest::Full | RangeRequest::Unsatisfiable => {}
        RangeRequest::Partial(ranges) => {
            assert!(!ranges.is_empty());
            for r in &ranges {
                assert!(r.start < r.end, "empty range {r:?} for {header:?}");
                assert!(r.end <= size, "{r:?} beyond {size} for {header:?}");
            }
        }
    }
});
