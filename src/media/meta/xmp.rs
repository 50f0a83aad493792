//! XMP (RDF/XML) through roxmltree, which expands no external entities and caps entity
//! references. Properties may be attributes of `rdf:Description` or elements holding text or an
//! `rdf:Alt`/`rdf:Bag`/`rdf:Seq` list; both forms are read, matched by namespace URI (prefixes
//! are the writer's choice).
use roxmltree::{Document, Node, ParsingOptions};

use super::{rfc3339_utc, Found};

const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const DC: &str = "http://purl.org/dc/elements/1.1/";
const PHOTOSHOP: &str = "http://ns.adobe.com/photoshop/1.0/";
const EXIF: &str = "http://ns.adobe.com/exif/1.0/";
const XMP: &str = "http://ns.adobe.com/xap/1.0/";
const XML: &str = "http://www.w3.org/XML/1998/namespace";

/// Parses an XMP packet; anything that is not well-formed UTF-8 XML gives nothing.
pub(super) fn parse(packet: &[u8]) -> Found {
    let packet = packet.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(packet);
    let Ok(text) = std::str::from_utf8(packet) else {
        return Found::default();
    };
    let text = text.trim_end_matches(['\0', ' ', '\n', '\r', '\t']);
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: 100_000,
        // No resolver: external entities (file:, http:) resolve to nothing.
        ..Default::default()
    };
    match Document::parse_with_options(text, options) {
        Ok(doc) => from_document(&doc),
        Err(_) => Found::default(),
    }
}

/// Reads the XMP properties anywhere in a parsed document (an XMP packet, or an SVG's
/// `<metadata>`).
pub(crate) fn from_document(doc: &Document) -> Found {
    let mut props = Props::default();
    for node in doc.descendants().filter(Node::is_element) {
        if node.has_tag_name((RDF, "Description")) {
            for attr in node.attributes() {
                if let Some(ns) = attr.namespace() {
                    props.set(ns, attr.name(), vec![attr.value().to_string()]);
                }
            }
        }
        if let Some(ns) = node.tag_name().namespace() {
            if ns != RDF {
                props.set(ns, node.tag_name().name(), values(node));
            }
        }
    }
    props.into_found()
}

/// The properties this portal uses, first occurrence wins.
#[derive(Default)]
struct Props {
    title: Option<String>,
    description: Option<String>,
    subject: Vec<String>,
    rights: Option<String>,
    creator: Option<String>,
    credit: Option<String>,
    date_time_original: Option<String>,
    date_created: Option<String>,
    create_date: Option<String>,
}

impl Props {
    fn set(&mut self, ns: &str, name: &str, values: Vec<String>) {
        let first = values.first().cloned();
        let slot = match (ns, name) {
            (DC, "title") => &mut self.title,
            (DC, "description") => &mut self.description,
            (DC, "rights") => &mut self.rights,
            (DC, "creator") => {
                if self.creator.is_none() && !values.is_empty() {
                    self.creator = Some(values.join(", "));
                }
                return;
            }
            (DC, "subject") => {
                if self.subject.is_empty() {
                    self.subject = values;
                }
                return;
            }
            (PHOTOSHOP, "Credit") => &mut self.credit,
            (PHOTOSHOP, "DateCreated") => &mut self.date_created,
            (EXIF, "DateTimeOriginal") => &mut self.date_time_original,
            (XMP, "CreateDate") => &mut self.create_date,
            _ => return,
        };
        if slot.is_none() {
            *slot = first;
        }
    }

    fn into_found(self) -> Found {
        let captured_at = [self.date_time_original, self.date_created, self.create_date]
            .iter()
            .flatten()
            .find_map(|d| parse_date(d));
        Found {
            title: self.title,
            description: self.description,
            keywords: self.subject,
            credit: self.credit,
            creator: self.creator,
            copyright: self.rights,
            captured_at,
            ..Found::default()
        }
    }
}

/// A property element's values: the items of an `rdf:Alt` (the `x-default` language first),
/// `rdf:Bag` or `rdf:Seq`, or its own text.
fn values(node: Node) -> Vec<String> {
    let list = node.children().find(|c| {
        c.has_tag_name((RDF, "Alt")) || c.has_tag_name((RDF, "Bag")) || c.has_tag_name((RDF, "Seq"))
    });
    let Some(list) = list else {
        return vec![text_of(node)];
    };
    let mut items: Vec<(bool, String)> = list
        .children()
        .filter(|c| c.has_tag_name((RDF, "li")))
        .map(|li| {
            (
                li.attribute((XML, "lang")) == Some("x-default"),
                text_of(li),
            )
        })
        .collect();
    // Stable: x-default first, the others in document order.
    items.sort_by_key(|(default, _)| !default);
    items.into_iter().map(|(_, text)| text).collect()
}

fn text_of(node: Node) -> String {
    node.children()
        .filter(Node::is_text)
        .filter_map(|t| t.text())
        .collect()
}

/// XMP dates: `YYYY-MM-DD`, optionally `THH:MM[:SS[.fff]]` and `Z` or `±HH:MM`.
fn parse_date(text: &str) -> Option<String> {
    let text = text.trim();
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = text.get(range)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let sep = |at: usize, c: u8| text.as_bytes().get(at) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-')) {
        return None;
    }
    let date = (num(0..4)? as i32, num(5..7)? as u8, num(8..10)? as u8);
    if text.len() == 10 {
        return rfc3339_utc(date, (0, 0, 0), None);
    }
    if !(sep(10, b'T') && sep(13, b':')) {
        return None;
    }
    let (hour, minute) = (num(11..13)? as u8, num(14..16)? as u8);
    let mut rest = 16;
    let mut second = 0;
    if sep(16, b':') {
        second = num(17..19)? as u8;
        rest = 19;
        if sep(19, b'.') {
            rest = 20 + text[20..].bytes().take_while(u8::is_ascii_digit).count();
        }
    }
    let zone = text.get(rest..)?;
    let offset = match zone.as_bytes().first() {
        None => None,
        Some(b'Z') if zone.len() == 1 => Some(0),
        Some(&sign @ (b'+' | b'-')) if zone.len() == 6 && zone.as_bytes()[3] == b':' => {
            let minutes = (zone.get(1..3)?.parse::<i32>().ok()? * 60)
                + zone.get(4..6)?.parse::<i32>().ok()?;
            Some(if sign == b'-' { -minutes } else { minutes })
        }
        _ => return None,
    };
    rfc3339_utc(date, (hour, minute, second), offset)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An XMP packet as Lightroom/Photoshop write it, for tests elsewhere in `media` too.
    pub(crate) const SAMPLE: &str = r#"<?xpacket begin="﻿" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:ps="http://ns.adobe.com/photoshop/1.0/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    ps:Credit="Example Agency"
    xmp:CreateDate="2019-04-03T10:11:12+02:00">
   <dc:title><rdf:Alt>
     <rdf:li xml:lang="de">Leuchtturm</rdf:li>
     <rdf:li xml:lang="x-default">Lighthouse</rdf:li>
   </rdf:Alt></dc:title>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">A lighthouse at dusk</rdf:li></rdf:Alt></dc:description>
   <dc:subject><rdf:Bag><rdf:li>lighthouse</rdf:li><rdf:li>coast</rdf:li></rdf:Bag></dc:subject>
   <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">© Example Agency</rdf:li></rdf:Alt></dc:rights>
   <dc:creator><rdf:Seq><rdf:li>Kim</rdf:li></rdf:Seq></dc:creator>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"#;

    #[test]
    fn reads_elements_attributes_and_languages() {
        let found = parse(SAMPLE.as_bytes());
        assert_eq!(found.title.as_deref(), Some("Lighthouse"));
        assert_eq!(found.description.as_deref(), Some("A lighthouse at dusk"));
        assert_eq!(found.keywords, vec!["lighthouse", "coast"]);
        assert_eq!(found.copyright.as_deref(), Some("© Example Agency"));
        assert_eq!(found.credit.as_deref(), Some("Example Agency"));
        assert_eq!(found.creator.as_deref(), Some("Kim"));
        assert_eq!(found.captured_at.as_deref(), Some("2019-04-03T08:11:12Z"));
    }

    #[test]
    fn refuses_doctypes_and_garbage() {
        let entity = r#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>"#;
        assert_eq!(parse(entity.as_bytes()), Found::default());
        assert_eq!(parse(b"\xFF\xFE<x/>"), Found::default());
        assert_eq!(parse(b"<unclosed>"), Found::default());
    }

    #[test]
    fn dates_in_every_xmp_form() {
        assert_eq!(
            parse_date("2019-04-03").as_deref(),
            Some("2019-04-03T00:00:00Z")
        );
        assert_eq!(
            parse_date("2019-04-03T10:11").as_deref(),
            Some("2019-04-03T10:11:00Z")
        );
        assert_eq!(
            parse_date("2019-04-03T10:11:12.345-01:30").as_deref(),
            Some("2019-04-03T11:41:12Z")
        );
        assert_eq!(parse_date("2019-04"), None);
        assert_eq!(parse_date("2019-04-03T10:11:12+0200"), None);
        assert_eq!(parse_date("２０１９-04-03"), None);
    }
}
