//! Each kind of audit event is recorded in one place (issue 17: "grep finds one recorder per
//! event kind"), and every kind in `EventKind` is recorded somewhere. This reads the source, as
//! a reviewer's grep would: a second `Event::new(EventKind::X)` means an action was written
//! twice, and the copies will drift.
use std::collections::BTreeMap;
use std::path::Path;

use assetport::events::EventKind;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// How often `needle` stands in `text` as a whole name (not the start of a longer one).
fn count_names(text: &str, needle: &str) -> usize {
    text.match_indices(needle)
        .filter(|(i, _)| {
            !text[i + needle.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .count()
}

#[test]
fn every_event_kind_has_exactly_one_recorder() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    // Where each kind is named in code that records it: `Event::new(EventKind::X)` directly,
    // or handed to a recorder that calls `Event::new` with a variable (the two ways a download
    // ends, a review decision, who released a lock).
    let mut named: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let rel = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .display()
            .to_string();
        if rel.ends_with("events.rs") {
            continue; // the list itself
        }
        for kind in EventKind::ALL {
            let variant = format!("{kind:?}");
            let direct = format!("Event::new(EventKind::{variant})");
            let any = format!("EventKind::{variant}");
            let n = text.matches(&direct).count();
            for _ in 0..n {
                named.entry(kind.as_str()).or_default().push(rel.clone());
            }
            if n == 0 && count_names(&text, &any) > 0 {
                // Named, not recorded here directly: counts once per file.
                named
                    .entry(kind.as_str())
                    .or_default()
                    .push(format!("{rel} (via a recorder)"));
            }
        }
    }
    let mut problems = Vec::new();
    for kind in EventKind::ALL {
        match named.get(kind.as_str()) {
            None => problems.push(format!("{}: never recorded", kind.as_str())),
            Some(places) if places.len() > 1 => problems.push(format!(
                "{}: recorded in {}",
                kind.as_str(),
                places.join(", ")
            )),
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn event_kinds_round_trip_through_their_stored_names() {
    for kind in EventKind::ALL {
        assert_eq!(EventKind::parse(kind.as_str()), Some(*kind));
        assert_eq!(
            serde_json::to_value(kind).unwrap(),
            serde_json::Value::String(kind.as_str().into())
        );
    }
    assert_eq!(EventKind::parse("no_such_kind"), None);
}
