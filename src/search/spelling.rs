//! Search that forgives (issue 21): when a search finds nothing, its misspelt words are
//! corrected to close words of the library ("sunst" → "sunset") and the corrected search
//! answers instead, saying so.
//!
//! **Same answer on both engines.** The engines only *fetch candidates*: the words of
//! `search_words` (migration 0022) that share a three-character piece with the misspelt word,
//! padded as `||word||`. SQLite finds them with an FTS5 trigram table (`MATCH '"abc" OR …'`),
//! PostgreSQL with a pg_trgm index (`LIKE '%abc%' OR …`); both mean "contains one of these
//! pieces", exactly, so both return the same set. Everything after that — how close a word is
//! (edits, `distance`), which comes first, which are tried — happens here, in Rust, the same
//! for both.
//!
//! **Nothing hidden leaks.** A word is called misspelt only when it alone finds nothing the
//! caller may see, and a close word is proposed only when it alone finds something the caller
//! may see (`query::finds_any`, the search's own permission rule), and the corrected search
//! as a whole, with its filters, finds something. The vocabulary holds every asset's words,
//! but only ever as candidates to be checked like that, so a word of a hidden asset, a draft
//! or an asset outside its window is never proposed to a member.
use super::query::{self, Parsed, Search, Term};
use crate::accounts::Account;
use crate::db::{Db, Dialect};
use sqlx::Row;

/// Words shorter than this are never corrected (too many words are close to them).
const MIN_LEN: usize = 3;
/// At most this many misspelt words in one search are corrected; with more, no guess.
const MAX_FIXED: usize = 3;
/// Close words tried per misspelt word (each a one-row search in the caller's scope).
const MAX_TRIED: usize = 12;
/// Close words kept per misspelt word once they proved visible.
const KEEP: usize = 3;
/// Corrected searches tried, fewest edits first.
const MAX_COMBINATIONS: usize = 9;

/// Edits allowed for a word of `len` characters: none below 3, one up to 5, two from 6 on
/// (the usual "auto" fuzziness of search engines).
pub fn max_edits(len: usize) -> usize {
    match len {
        0..MIN_LEN => 0,
        MIN_LEN..=5 => 1,
        _ => 2,
    }
}

/// Edits between `a` and `b` (optimal string alignment: a letter left out, added, replaced,
/// or two neighbours swapped each count one), or `None` when more than `max`.
pub fn distance(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let width = b.len() + 1;
    // Three rows of the classic table: two back (for swaps), the last, this one.
    let mut before: Vec<usize> = vec![0; width];
    let mut last: Vec<usize> = (0..width).collect();
    let mut row: Vec<usize> = vec![0; width];
    for i in 1..=a.len() {
        row[0] = i;
        let mut best = row[0];
        for j in 1..width {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (last[j] + 1).min(row[j - 1] + 1).min(last[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            row[j] = d;
            best = best.min(d);
        }
        if best > max {
            return None;
        }
        std::mem::swap(&mut before, &mut last);
        std::mem::swap(&mut last, &mut row);
    }
    Some(last[b.len()]).filter(|d| *d <= max)
}

/// The three-character pieces of `||word||`, each once, in order.
pub fn grams(word: &str) -> Vec<String> {
    let padded: Vec<char> = format!("||{word}||").chars().collect();
    let mut out: Vec<String> = Vec::new();
    for w in padded.windows(3) {
        let g: String = w.iter().collect();
        if !out.contains(&g) {
            out.push(g);
        }
    }
    out
}

/// Whether `word` may be corrected at all: long enough, letters only (numbers and codes are
/// not guessed at, and the vocabulary holds no word with a digit).
fn correctable(word: &str) -> bool {
    word.chars().count() >= MIN_LEN && !word.chars().any(|c| c.is_ascii_digit())
}

/// The words of the library that share a piece with `word`: the same set on both engines,
/// in no particular order.
async fn neighbours(db: &Db, word: &str) -> Result<Vec<String>, sqlx::Error> {
    let grams = grams(word);
    let rows = match db.dialect {
        Dialect::Sqlite => {
            // Pieces are letters and '|', so quoting them is safe.
            let text = grams
                .iter()
                .map(|g| format!("\"{g}\""))
                .collect::<Vec<_>>()
                .join(" OR ");
            sqlx::query(
                "SELECT w.word FROM search_words_trgm t JOIN search_words w ON w.id = t.rowid \
                 WHERE search_words_trgm MATCH $1",
            )
            .bind(text)
            .fetch_all(&db.pool)
            .await?
        }
        Dialect::Postgres => {
            let any = (1..=grams.len())
                .map(|i| format!("('||' || word || '||') LIKE ${i}"))
                .collect::<Vec<_>>()
                .join(" OR ");
            let text = format!("SELECT word FROM search_words WHERE {any}");
            let mut q = sqlx::query(&text);
            // Neither '%' nor '_' can be part of a word, so the pieces need no escaping.
            for g in &grams {
                q = q.bind(format!("%{g}%"));
            }
            q.fetch_all(&db.pool).await?
        }
    };
    rows.iter().map(|r| r.try_get("word")).collect()
}

/// The close words among `words` for the misspelt `word`, best first: fewest edits, then those
/// that begin with the same letter (people rarely miss the first one), then alphabetical (by
/// code point, not by either database's collation). Words that begin with `word` are left
/// out: the search for `word` already covered them.
pub fn rank(word: &str, words: Vec<String>) -> Vec<(usize, String)> {
    let w: Vec<char> = word.chars().collect();
    let max = max_edits(w.len());
    let mut out: Vec<(usize, bool, String)> = words
        .into_iter()
        .filter(|v| !v.starts_with(word))
        .filter_map(|v| {
            let c: Vec<char> = v.chars().collect();
            let d = distance(&w, &c, max)?;
            Some((d, c.first() != w.first(), v))
        })
        .collect();
    out.sort();
    out.into_iter().map(|(d, _, v)| (d, v)).collect()
}

/// One word as a search of its own (a prefix, like any word typed).
fn alone(word: &str) -> Parsed {
    Parsed {
        include: vec![Term {
            words: vec![word.to_string()],
        }],
        exclude: Vec::new(),
    }
}

/// The search `parsed` with misspelt words corrected so that, with `s`'s filters, it finds
/// something `who` may see; `None` when no such correction is found (or nothing needs one:
/// every word finds something alone, only not together).
pub async fn correct(
    db: &Db,
    who: &Account,
    s: &Search,
    parsed: &Parsed,
    now: i64,
) -> Result<Option<Parsed>, sqlx::Error> {
    // Words checked alone are checked in the caller's scope, without the filters: a word is
    // misspelt when nothing the caller may see holds it, not when a filter leaves it out.
    let scope_only = Search::default();
    let mut words: Vec<&str> = Vec::new();
    for w in parsed.include.iter().flat_map(|t| &t.words) {
        if !words.contains(&w.as_str()) {
            words.push(w);
        }
    }
    let mut misspelt: Vec<&str> = Vec::new();
    for w in words {
        if !query::finds_any(db, who, &scope_only, &alone(w), now).await? {
            if !correctable(w) || misspelt.len() == MAX_FIXED {
                return Ok(None);
            }
            misspelt.push(w);
        }
    }
    if misspelt.is_empty() {
        return Ok(None);
    }

    // For each misspelt word, the first few close words that the caller can find.
    let mut choices: Vec<Vec<(usize, String)>> = Vec::new();
    for w in &misspelt {
        let mut kept = Vec::new();
        for (d, v) in rank(w, neighbours(db, w).await?)
            .into_iter()
            .take(MAX_TRIED)
        {
            if query::finds_any(db, who, &scope_only, &alone(&v), now).await? {
                kept.push((d, v));
                if kept.len() == KEEP {
                    break;
                }
            }
        }
        if kept.is_empty() {
            return Ok(None);
        }
        choices.push(kept);
    }

    // Whole corrections, fewest edits first, then by each word's rank; the first that finds
    // something with the search's filters wins.
    let mut combos: Vec<(usize, Vec<usize>)> = vec![(0, Vec::new())];
    for list in &choices {
        combos = combos
            .into_iter()
            .flat_map(|(d, picked)| {
                list.iter().enumerate().map(move |(i, (dv, _))| {
                    let mut p = picked.clone();
                    p.push(i);
                    (d + dv, p)
                })
            })
            .collect();
    }
    combos.sort();
    for (_, picked) in combos.into_iter().take(MAX_COMBINATIONS) {
        let fix = |word: &String| -> String {
            misspelt
                .iter()
                .position(|m| m == word)
                .map(|k| choices[k][picked[k]].1.clone())
                .unwrap_or_else(|| word.clone())
        };
        let fixed = Parsed {
            include: parsed
                .include
                .iter()
                .map(|t| Term {
                    words: t.words.iter().map(fix).collect(),
                })
                .collect(),
            exclude: parsed.exclude.clone(),
        };
        if query::finds_any(db, who, s, &fixed, now).await? {
            return Ok(Some(fixed));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(a: &str, b: &str) -> Option<usize> {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        distance(&a, &b, 2)
    }

    #[test]
    fn one_slip_is_one_edit() {
        assert_eq!(d("sunset", "sunset"), Some(0));
        assert_eq!(d("sunst", "sunset"), Some(1)); // missing
        assert_eq!(d("snuset", "sunset"), Some(1)); // swapped
        assert_eq!(d("sunsett", "sunset"), Some(1)); // extra
        assert_eq!(d("sunsot", "sunset"), Some(1)); // wrong
        assert_eq!(d("snusot", "sunset"), Some(2));
        assert_eq!(d("xyzset", "sunset"), None);
        assert_eq!(d("", "ab"), Some(2));
        assert_eq!(d("café", "cafe"), Some(1));
    }

    #[test]
    fn short_words_allow_fewer_edits() {
        assert_eq!(max_edits(2), 0);
        assert_eq!(max_edits(3), 1);
        assert_eq!(max_edits(5), 1);
        assert_eq!(max_edits(6), 2);
    }

    #[test]
    fn pieces_are_padded_trigrams() {
        assert_eq!(
            grams("sunst"),
            ["||s", "|su", "sun", "uns", "nst", "st|", "t||"]
        );
        assert_eq!(grams("aaaa"), ["||a", "|aa", "aaa", "aa|", "a||"]);
    }

    #[test]
    fn closest_words_come_first_in_a_fixed_order() {
        let words = ["harbour", "harbor", "harbours", "barbur", "harbur", "xyz"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            rank("harbur", words),
            [
                (1, "harbor".to_string()),
                (1, "harbour".to_string()),
                (1, "barbur".to_string()),
                (2, "harbours".to_string()),
            ]
        );
        // Words the typed one begins (already found as a prefix) are not corrections.
        assert!(rank("sun", vec!["sunset".into()]).is_empty());
    }
}
