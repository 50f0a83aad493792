//! The two dialects' migration folders stay at the same versions (STYLE §10).
use std::collections::BTreeSet;

fn files(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect()
}

#[test]
fn sqlite_and_postgres_migrations_are_in_step() {
    let sqlite = files("sqlite");
    let postgres = files("postgres");
    assert_eq!(sqlite, postgres, "same file names in both folders");
    assert_eq!(
        sqlite.len(),
        assetport::db::MIGRATIONS.len(),
        "every file is embedded in db::MIGRATIONS"
    );
    for (i, (version, ..)) in assetport::db::MIGRATIONS.iter().enumerate() {
        assert_eq!(*version, i as i64 + 1, "versions are consecutive");
        assert!(
            sqlite
                .iter()
                .any(|f| f.starts_with(&format!("{version:04}_"))),
            "file for version {version}"
        );
    }
}
