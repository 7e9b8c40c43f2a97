//! The page shell shared by `report.html`, the live dashboard (`GET /dashboard`) and the model
//! card: one self-contained HTML page — inline CSS, inline SVG, no script and no load of any
//! kind (a Content-Security-Policy forbids them all) — with a title, an optional refresh, a nav
//! of section links and the sections. Also [`esc`], [`table`] and [`figure`].
//!
//! Text handed in as text is escaped here; html handed in as html (section bodies, the intro)
//! is the caller's, already escaped. Deterministic: the same calls give the same bytes. Reads
//! and writes no file.

use std::fmt::Write as _;

/// The page's Content-Security-Policy: nothing may load, style and `data:` images excepted.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// The style sheet of every page (the model card's, unchanged: the card embeds it too).
pub const CSS: &str = "body{font:15px/1.45 system-ui,sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}\
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}\
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}\
th{background:#f4f4f4}td{font-variant-numeric:tabular-nums}table.kv{margin:0}\
.plots{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}svg{max-width:100%;height:auto}\
.warn{color:#a40000}pre{background:#f6f6f6;padding:.8em;overflow-x:auto;white-space:pre-wrap}.lead{color:#444}";

/// What [`Page`] adds to [`CSS`]: the nav, right-aligned numbers, captions.
const PAGE_CSS: &str = "nav{margin:.6em 0 1em}nav a{margin-right:1em}\
th.num,td.num{text-align:right}figcaption{color:#444;font-size:.9em;margin:.3em 0}";

/// Escapes `s` for HTML text and attribute values.
pub fn esc(s: &str) -> String {
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

/// One section: id, title, body html.
#[derive(Debug, Clone)]
struct Section {
    id: String,
    title: String,
    body: String,
}

/// A page being built: title, optional refresh, intro paragraphs and sections, in order.
#[derive(Debug, Clone)]
pub struct Page {
    title: String,
    refresh_s: Option<u32>,
    intro: Vec<String>,
    sections: Vec<Section>,
}

impl Page {
    /// An empty page titled `title` (plain text).
    pub fn new(title: &str) -> Page {
        Page {
            title: title.to_string(),
            refresh_s: None,
            intro: Vec::new(),
            sections: Vec::new(),
        }
    }

    /// Adds `<meta http-equiv="refresh" content="N">`: the browser reloads the page every
    /// `seconds` (it resends no `Authorization` header it was not given by a proxy).
    pub fn refresh_every(mut self, seconds: u32) -> Page {
        self.refresh_s = Some(seconds);
        self
    }

    /// A paragraph under the title (html, caller-escaped).
    pub fn intro(&mut self, html: &str) {
        self.intro.push(html.to_string());
    }

    /// A section `<section id="ID"><h2>TITLE</h2>BODY</section>` with a link in the nav. `id`
    /// and `title` are plain text (escaped here); `body_html` is the caller's html.
    pub fn section(&mut self, id: &str, title: &str, body_html: &str) {
        self.sections.push(Section {
            id: id.to_string(),
            title: title.to_string(),
            body: body_html.to_string(),
        });
    }

    /// The whole page.
    pub fn finish(self) -> String {
        let body: usize = self.sections.iter().map(|s| s.body.len()).sum();
        let mut h = String::with_capacity(body + 4096);
        let title = esc(&self.title);
        let _ = writeln!(
            h,
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        );
        if let Some(s) = self.refresh_s {
            let _ = writeln!(h, "<meta http-equiv=\"refresh\" content=\"{s}\">");
        }
        let _ = writeln!(
            h,
            "<title>{title}</title>\n<style>{CSS}{PAGE_CSS}</style>\n</head>\n<body>\n<h1>{title}</h1>"
        );
        for p in &self.intro {
            let _ = writeln!(h, "<p class=\"lead\">{p}</p>");
        }
        if !self.sections.is_empty() {
            h.push_str("<nav>");
            for s in &self.sections {
                let _ = write!(h, "<a href=\"#{}\">{}</a>", esc(&s.id), esc(&s.title));
            }
            h.push_str("</nav>\n");
        }
        for s in &self.sections {
            let _ = writeln!(
                h,
                "<section id=\"{}\"><h2>{}</h2>\n{}\n</section>",
                esc(&s.id),
                esc(&s.title),
                s.body
            );
        }
        h.push_str("</body>\n</html>\n");
        h
    }
}

/// An HTML table; cells are plain text (escaped here). `numeric` columns are right-aligned.
/// A row shorter than the headers is padded with empty cells.
pub fn table(headers: &[&str], rows: &[Vec<String>], numeric: &[usize]) -> String {
    let class = |i: usize| {
        if numeric.contains(&i) {
            " class=\"num\""
        } else {
            ""
        }
    };
    let mut h = String::from("<table>\n<tr>");
    for (i, name) in headers.iter().enumerate() {
        let _ = write!(h, "<th{}>{}</th>", class(i), esc(name));
    }
    h.push_str("</tr>\n");
    for row in rows {
        h.push_str("<tr>");
        for i in 0..row.len().max(headers.len()) {
            let cell = row.get(i).map_or("", String::as_str);
            let _ = write!(h, "<td{}>{}</td>", class(i), esc(cell));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
    h
}

/// A figure wrapping an inline SVG with a caption (caption escaped here).
pub fn figure(svg: &str, caption: &str) -> String {
    format!(
        "<figure>{svg}<figcaption>{}</figcaption></figure>\n",
        esc(caption)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_the_five_characters() {
        assert_eq!(
            esc("<a href=\"x\">Tom & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
        assert_eq!(esc("plain é"), "plain é");
    }

    #[test]
    fn a_page_has_its_policy_nav_and_sections_and_no_script() {
        let mut p = Page::new("Report <1>");
        p.intro("Tenant <b>acme</b>");
        p.section("decisions", "Decisions & rates", "<p>body</p>");
        p.section("reasons", "Reasons", "");
        let html = p.finish();
        assert!(html.starts_with(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        ));
        assert!(html.contains(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'; img-src data:\">"
        ));
        assert!(html.contains("<title>Report &lt;1&gt;</title>"));
        assert!(html.contains("<h1>Report &lt;1&gt;</h1>"));
        assert!(html.contains("<p class=\"lead\">Tenant <b>acme</b></p>"));
        assert!(html.contains(
            "<nav><a href=\"#decisions\">Decisions &amp; rates</a><a href=\"#reasons\">Reasons</a></nav>"
        ));
        assert!(html.contains(
            "<section id=\"decisions\"><h2>Decisions &amp; rates</h2>\n<p>body</p>\n</section>"
        ));
        assert!(html.contains("<section id=\"reasons\">"));
        assert!(!html.contains("refresh"));
        assert!(!html.contains("<script"));
        assert!(html.ends_with("</body>\n</html>\n"));
        // The model card's style sheet, then the page's own rules.
        assert!(html.contains(&format!("<style>{CSS}nav{{")));
    }

    #[test]
    fn refresh_is_there_only_when_asked() {
        let html = Page::new("live").refresh_every(5).finish();
        assert_eq!(
            html.matches("<meta http-equiv=\"refresh\" content=\"5\">")
                .count(),
            1
        );
        assert!(!html.contains("<nav>"), "no sections, no nav");
        assert!(
            !Page::new("once")
                .finish()
                .contains("http-equiv=\"refresh\"")
        );
    }

    #[test]
    fn tables_escape_cells_and_align_numbers() {
        let t = table(
            &["channel", "n"],
            &[vec!["<script>".into(), "12".into()], vec!["sms".into()]],
            &[1],
        );
        assert_eq!(
            t,
            "<table>\n<tr><th>channel</th><th class=\"num\">n</th></tr>\n\
             <tr><td>&lt;script&gt;</td><td class=\"num\">12</td></tr>\n\
             <tr><td>sms</td><td class=\"num\"></td></tr>\n</table>\n"
        );
    }

    #[test]
    fn figures_escape_their_caption_only() {
        assert_eq!(
            figure("<svg id=\"a\"></svg>", "p95 < 5 ms"),
            "<figure><svg id=\"a\"></svg><figcaption>p95 &lt; 5 ms</figcaption></figure>\n"
        );
    }
}
