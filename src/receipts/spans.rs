//! The bytes of one object that reached a client, as sorted, merged, non-touching intervals
//! (end exclusive). Stored as text, `"0-1048576,2097152-3145728"`, in `receipts.sent`.
use std::ops::Range;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Spans(Vec<Range<u64>>);

impl Spans {
    pub fn new() -> Spans {
        Spans(Vec::new())
    }

    /// Adds `r`, merging it with every interval it overlaps or touches.
    pub fn add(&mut self, r: Range<u64>) {
        if r.start >= r.end {
            return;
        }
        let (mut start, mut end) = (r.start, r.end);
        let mut kept = Vec::with_capacity(self.0.len() + 1);
        for s in self.0.drain(..) {
            if s.end < start || s.start > end {
                kept.push(s);
            } else {
                start = start.min(s.start);
                end = end.max(s.end);
            }
        }
        kept.push(start..end);
        kept.sort_by_key(|s| s.start);
        self.0 = kept;
    }

    pub fn union(&mut self, other: &Spans) {
        for r in &other.0 {
            self.add(r.clone());
        }
    }

    /// Distinct bytes covered.
    pub fn len(&self) -> u64 {
        self.0.iter().map(|r| r.end - r.start).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every byte of an object of `size` bytes is covered.
    pub fn covers(&self, size: u64) -> bool {
        size == 0
            || self
                .0
                .first()
                .is_some_and(|r| r.start == 0 && r.end >= size)
    }

    /// The stored form. Anything unreadable in a stored value is dropped rather than trusted:
    /// a receipt can lose a span, never gain one.
    pub fn parse(text: &str) -> Spans {
        let mut spans = Spans::new();
        for part in text.split(',').filter(|p| !p.is_empty()) {
            if let Some((a, b)) = part.split_once('-') {
                if let (Ok(a), Ok(b)) = (a.parse::<u64>(), b.parse::<u64>()) {
                    spans.add(a..b);
                }
            }
        }
        spans
    }

    pub fn to_text(&self) -> String {
        self.0
            .iter()
            .map(|r| format!("{}-{}", r.start, r.end))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Which bytes of the object `sent` bytes of a response body carried, given where each part
/// of the object sits in the body: `(offset in the body, range of the object)`, in body order
/// (one part for a whole or single-range answer; several, between multipart headers, for a
/// multi-range one).
pub fn carried(layout: &[(u64, Range<u64>)], sent: u64) -> Spans {
    let mut spans = Spans::new();
    for (at, r) in layout {
        if sent <= *at {
            break;
        }
        let n = (sent - at).min(r.end - r.start);
        spans.add(r.start..r.start + n);
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_into_a_union() {
        let mut s = Spans::new();
        s.add(500..1000);
        s.add(0..100);
        assert!(!s.covers(1000));
        s.add(100..500);
        assert_eq!(s.to_text(), "0-1000");
        assert!(s.covers(1000));
        assert!(!s.covers(1001));
        s.add(2000..3000);
        s.add(900..1200);
        assert_eq!(s.to_text(), "0-1200,2000-3000");
        assert_eq!(s.len(), 2200);
        assert_eq!(Spans::parse(&s.to_text()), s);
    }

    #[test]
    fn overlapping_repeats_count_once() {
        let mut s = Spans::new();
        for _ in 0..3 {
            s.add(0..600);
        }
        s.add(400..1000);
        assert_eq!(s.len(), 1000);
        assert!(s.covers(1000));
    }

    #[test]
    fn stored_garbage_loses_spans_never_gains() {
        assert_eq!(Spans::parse("x-1,5-,0-10").to_text(), "0-10");
        assert_eq!(Spans::parse("").len(), 0);
        assert_eq!(Spans::parse("10-5").len(), 0);
    }

    #[test]
    fn a_body_carries_what_was_sent_of_each_part() {
        // Whole object.
        assert_eq!(carried(&[(0, 0..1000)], 400).to_text(), "0-400");
        assert_eq!(carried(&[(0, 0..1000)], 1000).to_text(), "0-1000");
        // A resume from 600.
        assert_eq!(carried(&[(0, 600..1000)], 400).to_text(), "600-1000");
        // Multipart: headers of 80 bytes before each part.
        let layout = [(80, 0..100), (260, 500..600)];
        assert_eq!(carried(&layout, 50).to_text(), "");
        assert_eq!(carried(&layout, 130).to_text(), "0-50");
        assert_eq!(carried(&layout, 300).to_text(), "0-100,500-540");
        assert_eq!(carried(&layout, 10_000).to_text(), "0-100,500-600");
    }
}
