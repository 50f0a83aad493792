//! ZIP entry naming: names are unique (case-insensitively, as unzip tools on Windows and macOS
//! see them), relative, and never climb out of the folder they are extracted into.
#![no_main]
use std::collections::HashSet;

use assetport::http::zip::Names;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut names = Names::default();
    let mut seen = HashSet::new();
    // One entry per line: folder segments separated by '/', then '|', then the file name.
    for line in text.lines().take(200) {
        let (folder, file) = line.split_once('|').unwrap_or(("", line));
        let folder: Vec<String> = folder
            .split('/')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let entry = names.unique(&folder, file);
        assert!(!entry.is_empty());
        assert!(
            !entry.starts_with('/') && !entry.contains('\\'),
            "{entry:?}"
        );
        for segment in entry.split('/') {
            assert!(
                !segment.is_empty() && segment != "." && segment != "..",
                "{entry:?} from {line:?}"
            );
        }
        assert!(seen.insert(entry.to_lowercase()), "{entry:?} twice");
    }
});
