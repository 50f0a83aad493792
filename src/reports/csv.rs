//! CSV exports (RFC 4180): quoted where needed, CRLF line ends, a UTF-8 byte-order mark so
//! spreadsheet programs read accents right. Cells that a spreadsheet would run as a formula
//! (starting with =, +, -, @, tab or CR) get a leading apostrophe: an asset title is
//! user-supplied text, and "=HYPERLINK(…)" must stay text.
pub struct Csv(String);

impl Csv {
    pub fn new(header: &[&str]) -> Csv {
        let mut csv = Csv("\u{feff}".to_string());
        csv.row(header);
        csv
    }

    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            self.0.push_str(&cell_text(cell.as_ref()));
        }
        self.0.push_str("\r\n");
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

fn cell_text(raw: &str) -> String {
    let guarded = match raw.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{raw}"),
        _ => raw.to_string(),
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_formula_guard() {
        let mut c = Csv::new(&["name", "count"]);
        c.row(&["plain", "3"]);
        c.row(&["a, b", "x\"y"]);
        c.row(&["=HYPERLINK(\"http://evil\")", "-5"]);
        c.row(&["two\nlines", ""]);
        assert_eq!(
            c.into_string(),
            "\u{feff}name,count\r\nplain,3\r\n\"a, b\",\"x\"\"y\"\r\n\"'=HYPERLINK(\"\"http://evil\"\")\",'-5\r\n\"two\nlines\",\r\n"
        );
    }
}
