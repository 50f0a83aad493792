//! The HTML part every mail carries beside its text (issue 21): the same words, laid out as a
//! brand sends them — the logo (or the portal's name) in the accent colour's header, the main
//! address as a button, pictures of the assets the mail names, the footer. Made from the text
//! the admin's template produced, so an edited template changes both parts at once and the
//! text part stays what it always was. Everything it shows travels inside the mail
//! (`cid:` parts): no remote images, no tracking, nothing a mail program has to fetch.
//!
//! Tables and inline styles, because that is what mail programs render alike.
use super::Brand;

/// What the HTML part shows besides the text.
pub struct Layout<'a> {
    /// The address the mail exists for, as a button where the text gives it.
    pub button: Option<(&'a str, &'a str)>,
    /// The logo's `cid:` name, when it travels with the mail.
    pub logo_cid: Option<&'a str>,
    /// Pictures: (`cid:` name, caption).
    pub pictures: &'a [(String, String)],
}

/// The HTML document for `text` (already filled in, footer not yet added).
pub fn html(brand: &Brand, text: &str, layout: &Layout<'_>) -> String {
    let accent = safe_colour(&brand.accent);
    let mut body = String::with_capacity(text.len() * 2 + 2048);
    let mut button_done = false;
    for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        let mut lines: Vec<String> = Vec::new();
        let mut button_here = false;
        for line in para.lines() {
            // The line that gives the main address becomes the button (once).
            if let Some((_, url)) = layout.button {
                if !button_done && line.contains(url) {
                    button_here = true;
                    button_done = true;
                    let rest = line.replace(url, "");
                    let rest = rest.trim().trim_end_matches(':').trim();
                    // "Open: <url>" keeps nothing: the button says it.
                    if !rest.is_empty() && !rest.eq_ignore_ascii_case("open") {
                        lines.push(linked(rest));
                    }
                    continue;
                }
            }
            lines.push(linked(line.trim_start()));
        }
        if !lines.is_empty() {
            body.push_str(&format!(
                "<p style=\"margin:0 0 16px;line-height:1.5\">{}</p>",
                lines.join("<br>")
            ));
        }
        if button_here {
            body.push_str(&button(layout.button.unwrap_or_default(), accent));
        }
    }
    if let (Some(b), false) = (layout.button, button_done) {
        body.push_str(&button(b, accent));
    }
    if !layout.pictures.is_empty() {
        body.push_str("<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"margin:8px 0 16px\"><tr>");
        for (i, (cid, caption)) in layout.pictures.iter().enumerate() {
            if i > 0 && i % 3 == 0 {
                body.push_str("</tr><tr>");
            }
            body.push_str(&format!(
                "<td style=\"padding:0 12px 12px 0;vertical-align:top;width:160px\">\
                 <img src=\"cid:{cid}\" width=\"160\" alt=\"{alt}\" \
                 style=\"display:block;width:160px;max-width:100%;height:auto;border-radius:6px;border:1px solid #e2e5ee\">\
                 <div style=\"font-size:12px;color:#5d6475;padding-top:4px;word-break:break-word\">{alt}</div></td>",
                cid = escape(cid),
                alt = escape(caption),
            ));
        }
        body.push_str("</tr></table>");
    }
    let header = match layout.logo_cid {
        Some(cid) => format!(
            "<img src=\"cid:{}\" alt=\"{}\" height=\"36\" style=\"display:block;height:36px;width:auto;max-width:240px\">",
            escape(cid),
            escape(&brand.name)
        ),
        None => format!(
            "<span style=\"font-size:20px;font-weight:bold;color:#ffffff\">{}</span>",
            escape(&brand.name)
        ),
    };
    let footer = if brand.mail_footer.is_empty() {
        String::new()
    } else {
        format!(
            "<tr><td style=\"padding:16px 28px;font-size:12px;color:#5d6475;border-top:1px solid #e2e5ee\">{}</td></tr>",
            brand
                .mail_footer
                .lines()
                .map(linked)
                .collect::<Vec<_>>()
                .join("<br>")
        )
    };
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title}</title></head>\
         <body style=\"margin:0;padding:0;background:#f6f7fb\">\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"background:#f6f7fb\"><tr><td align=\"center\" style=\"padding:24px 12px\">\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"max-width:600px;background:#ffffff;border:1px solid #e2e5ee;border-radius:10px;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:15px;color:#1b1f2a\">\
         <tr><td style=\"background:{accent};padding:18px 28px;border-radius:10px 10px 0 0\">{header}</td></tr>\
         <tr><td style=\"padding:28px 28px 12px\">{body}</td></tr>{footer}\
         </table></td></tr></table></body></html>",
        title = escape(&brand.name),
    )
}

fn button((label, url): (&str, &str), accent: &str) -> String {
    format!(
        "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"margin:4px 0 20px\"><tr>\
         <td style=\"background:{accent};border-radius:8px\">\
         <a href=\"{href}\" style=\"display:inline-block;padding:12px 22px;color:#ffffff;font-weight:bold;text-decoration:none\">{label}</a>\
         </td></tr></table>\
         <p style=\"margin:0 0 16px;font-size:12px;color:#5d6475;word-break:break-all\">Or open <a href=\"{href}\" style=\"color:{accent}\">{shown}</a></p>",
        href = escape(url),
        shown = escape(url),
        label = escape(label),
    )
}

/// One line of text, escaped, with its web addresses as links.
fn linked(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 32);
    let mut rest = line;
    while let Some(at) = find_url(rest) {
        out.push_str(&escape(&rest[..at]));
        let url_len = rest[at..]
            .find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
            .unwrap_or(rest.len() - at);
        // A sentence's full stop or closing bracket is not part of the address.
        let mut url = &rest[at..at + url_len];
        while let Some(stripped) = url.strip_suffix(['.', ',', ')', ';', ':', '!', '?']) {
            url = stripped;
        }
        out.push_str(&format!(
            "<a href=\"{0}\" style=\"color:#2f4bd8\">{0}</a>",
            escape(url)
        ));
        rest = &rest[at + url.len()..];
    }
    out.push_str(&escape(rest));
    out
}

fn find_url(s: &str) -> Option<usize> {
    match (s.find("https://"), s.find("http://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The accent as it goes into a style attribute: `#rrggbb` only (it is checked when saved;
/// anything else falls back to the default rather than reaching the markup).
fn safe_colour(c: &str) -> &str {
    let ok = c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|h| h.is_ascii_hexdigit());
    if ok {
        c
    } else {
        super::DEFAULT_ACCENT
    }
}

/// The button's words for a kind of mail.
pub fn button_label(kind: &str) -> &'static str {
    match kind {
        "link_invitation" => "Open the files",
        "password_reset" => "Choose a new password",
        "invitation" => "Set your password",
        "review_approved" | "review_rejected" => "Open the asset",
        "review_outcomes" => "Your submissions",
        "submissions_waiting" => "Open the review queue",
        "request_approved" => "Open the files",
        _ => "Open",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_becomes_escaped_paragraphs_with_a_button_in_place_of_its_address() {
        let brand = Brand::default();
        let text = "Ann <ann@x> shared files with you.\n\nOpen: https://p.test/s/abc\nThe link works until Friday.\n\nSee https://p.test/help.";
        let html = html(
            &brand,
            text,
            &Layout {
                button: Some(("Open the files", "https://p.test/s/abc")),
                logo_cid: None,
                pictures: &[],
            },
        );
        assert!(html.contains("Ann &lt;ann@x&gt; shared files"));
        assert!(html.contains(">Open the files</a>"));
        assert_eq!(html.matches("href=\"https://p.test/s/abc\"").count(), 2);
        assert!(!html.contains("Open: "));
        assert!(html.contains("The link works until Friday."));
        assert!(html.contains("<a href=\"https://p.test/help\""));
        assert!(!html.contains("http://") && !html.contains("src=\"http"));
    }

    #[test]
    fn hostile_values_stay_text() {
        let html = html(
            &Brand::default(),
            "\"><script>alert(1)</script> https://x.test/\"onmouseover=1",
            &Layout {
                button: None,
                logo_cid: None,
                pictures: &[("p1".into(), "<b>x</b>".into())],
            },
        );
        assert!(!html.contains("<script>") && !html.contains("<b>x"));
        assert!(!html.contains("\"onmouseover"));
    }
}
