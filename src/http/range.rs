//! Parsing of the `Range` request header (RFC 9110 §14). Only `bytes` ranges; multi-range
//! requests are coalesced and capped so a client cannot ask for thousands of tiny slices.
use std::ops::Range;

/// Most ranges served in one multipart/byteranges answer; more are ignored (full body).
pub const MAX_RANGES: usize = 8;

#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No (usable) Range header: send the whole body with 200.
    Full,
    /// One or more satisfiable ranges, sorted and coalesced, end exclusive.
    Partial(Vec<Range<u64>>),
    /// Syntactically valid but nothing overlaps the body: 416.
    Unsatisfiable,
}

pub fn parse(header: Option<&str>, size: u64) -> RangeRequest {
    let Some(h) = header else {
        return RangeRequest::Full;
    };
    let Some(spec) = h.trim().strip_prefix("bytes=") else {
        return RangeRequest::Full;
    };
    let mut ranges = Vec::new();
    for part in spec.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((a, b)) = part.split_once('-') else {
            return RangeRequest::Full;
        };
        let (a, b) = (a.trim(), b.trim());
        let range = if a.is_empty() {
            // suffix: last n bytes
            let Ok(n) = b.parse::<u64>() else {
                return RangeRequest::Full;
            };
            if n == 0 {
                continue;
            }
            size.saturating_sub(n)..size
        } else {
            let Ok(start) = a.parse::<u64>() else {
                return RangeRequest::Full;
            };
            let end = if b.is_empty() {
                size
            } else {
                match b.parse::<u64>() {
                    Ok(last) if last >= start => last.saturating_add(1).min(size),
                    _ => return RangeRequest::Full,
                }
            };
            if start >= size {
                continue;
            }
            start..end
        };
        if range.start < range.end {
            ranges.push(range);
        }
        if ranges.len() > 64 {
            return RangeRequest::Full;
        }
    }
    if ranges.is_empty() {
        return RangeRequest::Unsatisfiable;
    }
    ranges.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    if merged.len() > MAX_RANGES {
        return RangeRequest::Full;
    }
    RangeRequest::Partial(merged)
}

#[cfg(test)]
// A list holding one range is exactly the expected parse result here.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;
    use RangeRequest::*;

    #[test]
    fn single_ranges() {
        assert_eq!(parse(Some("bytes=0-9"), 100), Partial(vec![0..10]));
        assert_eq!(parse(Some("bytes=90-"), 100), Partial(vec![90..100]));
        assert_eq!(parse(Some("bytes=-10"), 100), Partial(vec![90..100]));
        assert_eq!(parse(Some("bytes=-500"), 100), Partial(vec![0..100]));
        assert_eq!(parse(Some("bytes=95-200"), 100), Partial(vec![95..100]));
    }

    #[test]
    fn invalid_and_unsatisfiable() {
        assert_eq!(parse(None, 100), Full);
        assert_eq!(parse(Some("items=0-1"), 100), Full);
        assert_eq!(parse(Some("bytes=5-1"), 100), Full);
        assert_eq!(parse(Some("bytes=x-1"), 100), Full);
        assert_eq!(parse(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(parse(Some("bytes=0-0"), 0), Unsatisfiable);
    }

    #[test]
    fn multi_ranges_are_merged_and_capped() {
        assert_eq!(
            parse(Some("bytes=0-4,3-9,20-29"), 100),
            Partial(vec![0..10, 20..30])
        );
        let many: Vec<String> = (0..9)
            .map(|i| format!("{}-{}", i * 10, i * 10 + 1))
            .collect();
        assert_eq!(
            parse(Some(&format!("bytes={}", many.join(","))), 1000),
            Full
        );
    }
}
