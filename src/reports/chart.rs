//! Bar charts as inline SVG, drawn on the server: no script, no external files. The chart is
//! an image with a text alternative; the same figures are in a table beside it for screen
//! readers and for copying.
use std::fmt::Write;

/// Escapes text for SVG/XML content and attributes.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" axis maximum at or above `max` (1, 2, 5 × 10ⁿ), so gridlines fall on round numbers.
fn nice_max(max: i64) -> i64 {
    if max <= 0 {
        return 1;
    }
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            if m * step >= max {
                return m * step;
            }
        }
        step *= 10;
    }
}

/// One bar per `(label, value)`; `title` names the chart for assistive technology.
pub fn bars(title: &str, unit: &str, data: &[(String, i64)]) -> String {
    const W: f64 = 800.0;
    const H: f64 = 240.0;
    const LEFT: f64 = 44.0;
    const BOTTOM: f64 = 28.0;
    const TOP: f64 = 10.0;
    let max = nice_max(data.iter().map(|(_, v)| *v).max().unwrap_or(0));
    let total: i64 = data.iter().map(|(_, v)| v).sum();
    let plot_w = W - LEFT - 8.0;
    let plot_h = H - BOTTOM - TOP;
    let slot = plot_w / data.len().max(1) as f64;
    let bar = (slot * 0.8).max(1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="chart-title chart-desc" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">{t}</title><desc id="chart-desc">{total} {u} over {n} days, at most {m} in a day. The figures are in the table below.</desc>"#,
        t = esc(title),
        u = esc(unit),
        n = data.len(),
        m = data.iter().map(|(_, v)| *v).max().unwrap_or(0),
    );
    // Gridlines at 0, ½ and the top, labelled.
    for frac in [0.0, 0.5, 1.0] {
        let y = TOP + plot_h * (1.0 - frac);
        let value = (max as f64 * frac).round() as i64;
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{lx}" y="{ty:.1}" text-anchor="end">{value}</text>"#,
            x2 = W - 8.0,
            lx = LEFT - 6.0,
            ty = y + 4.0,
        );
    }
    let label_every = (data.len() / 8).max(1);
    for (i, (label, value)) in data.iter().enumerate() {
        let h = plot_h * (*value as f64) / max as f64;
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let y = TOP + plot_h - h;
        let _ = write!(
            svg,
            r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}"><title>{l}: {value} {u}</title></rect>"#,
            l = esc(label),
            u = esc(unit),
        );
        if i % label_every == 0 {
            let _ = write!(
                svg,
                r#"<text class="axis" x="{cx:.1}" y="{ly}" text-anchor="middle">{l}</text>"#,
                cx = x + bar / 2.0,
                ly = H - 8.0,
                l = esc(label.get(5..).unwrap_or(label)),
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(1), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(450), 500);
    }

    #[test]
    fn bars_are_labelled_and_escaped() {
        let svg = bars(
            "Downloads <per> day",
            "downloads",
            &[("2026-03-01".into(), 4), ("2026-03-02".into(), 0)],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("Downloads &lt;per&gt; day"));
        assert!(svg.contains("<title>2026-03-01: 4 downloads</title>"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("4 downloads over 2 days"));
    }
}
