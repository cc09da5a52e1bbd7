//! `--format html`: one self-contained report page for people (security teams, reviewers).
//!
//! The page is a single file: inline CSS and a few lines of inline JavaScript, no external
//! asset, no font, no image, and a Content-Security-Policy (`default-src 'none'`) that forbids
//! the browser to fetch anything, so opening it never touches the network. It holds:
//! - a summary line (findings, files scanned, complete or not) and whether secrets are redacted;
//! - a filter box: typing keeps only the findings whose text contains every word typed (case
//!   insensitive); `#filter=WORDS` in the address pre-fills it, so a filtered view can be linked;
//! - a timeline of when each secret entered the history: the earliest author date among its
//!   history locations, oldest first, placed on a time axis (findings with no commit have none);
//! - the findings grouped by provider, then by repository, each with its rule, secret
//!   (redacted unless `--show-secrets`), checksum, verification status and every location
//!   (path:line:column, commit, author, author date).
//!
//! Every piece of text from the scan (paths, secrets, names, commit authors) is hostile: it is
//! HTML-escaped, with control, bidi and zero-width characters shown as `\u{..}`
//! ([`super::escape::for_terminal`]), and never placed inside `<script>`. The script reads the
//! page's text, not data of its own.
//!
//! [`render`] takes the findings list and is independent of scanning, so a stored sweep can be
//! rendered the same way; [`HtmlWriter`] is the `scan` sink that collects findings and calls it.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::escape::for_terminal;
use super::ReportOptions;
use crate::finding::{Finding, FindingSink, ScanSummary};

/// The findings of one repository (or one scan), for [`render`].
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    /// What the findings were found in: a repository's name, or the scanned path.
    pub repository: &'a str,
    /// Its findings.
    pub findings: &'a [Finding],
}

/// The `scan` sink: keeps the findings until `finish`, then writes the page.
pub struct HtmlWriter<'w> {
    out: Box<dyn Write + 'w>,
    opts: ReportOptions,
    repository: String,
    findings: Vec<Finding>,
}

impl<'w> HtmlWriter<'w> {
    /// A writer over `out`; `repository` labels the findings (the scanned directory).
    pub fn new(out: Box<dyn Write + 'w>, opts: ReportOptions, repository: String) -> Self {
        Self {
            out,
            opts,
            repository,
            findings: Vec::new(),
        }
    }
}

impl FindingSink for HtmlWriter<'_> {
    type Error = io::Error;

    fn finding(&mut self, f: &Finding) -> io::Result<()> {
        self.findings.push(f.clone());
        Ok(())
    }

    fn finish(&mut self, s: &ScanSummary) -> io::Result<()> {
        let findings = std::mem::take(&mut self.findings);
        let page = render(
            &[Section {
                repository: &self.repository,
                findings: &findings,
            }],
            s,
            self.opts,
        );
        self.out.write_all(page.as_bytes())?;
        self.out.flush()
    }
}

/// Escapes `s` for HTML text and attribute values (quoted with `"`).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in for_terminal(s).chars() {
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

const STYLE: &str = r#"
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dde5; --accent: #0b5cad; --bad: #b42318;
        --ok: #1a7f37; --warn: #9a6700; --bg: #ffffff; --panel: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: var(--fg); background: var(--bg); }
header { background: #14213d; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #c9d3e6; }
main { padding: 18px 28px 40px; max-width: 1200px; }
.bar { display: flex; gap: 12px; align-items: center; margin: 6px 0 18px; flex-wrap: wrap; }
#filter { flex: 1; min-width: 260px; padding: 8px 10px; font-size: 15px; border: 1px solid var(--line);
          border-radius: 6px; }
.count { color: var(--muted); }
h2 { font-size: 17px; margin: 26px 0 8px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 14px 0 6px; color: var(--muted); font-weight: 600; }
.axis { position: relative; height: 46px; margin: 8px 6px 4px; border-bottom: 2px solid var(--line); }
.tick { position: absolute; bottom: -2px; width: 12px; height: 12px; margin-left: -6px; border-radius: 50%;
        background: var(--bad); border: 2px solid #fff; box-shadow: 0 0 0 1px var(--bad); }
.axis-labels { display: flex; justify-content: space-between; color: var(--muted); font-size: 12px;
               margin: 2px 6px 8px; }
table { border-collapse: collapse; width: 100%; margin-bottom: 10px; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
th { background: var(--panel); font-weight: 600; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
.badge { display: inline-block; white-space: nowrap; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
         background: var(--panel); color: var(--muted); border: 1px solid var(--line); }
.badge.live { background: #fde8e7; color: var(--bad); border-color: #f3b5b0; }
.badge.revoked_or_invalid { background: #e6f4ea; color: var(--ok); border-color: #a8d5b5; }
.badge.error { background: #fff4d6; color: var(--warn); border-color: #ecd48a; }
ul.locs { margin: 0; padding-left: 16px; }
.meta { color: var(--muted); font-size: 12px; }
.empty { padding: 24px; background: var(--panel); border-radius: 6px; color: var(--muted); }
.hidden { display: none; }
"#;

/// Keeps the findings (`[data-finding]`) and timeline entries (`[data-entry]`) whose text holds every word of the filter box, and
/// hides the groups left empty. Reads `#filter=` from the address once. The last statement
/// marks the page as scripted (`data-ready`), which the browser test checks.
const SCRIPT: &str = r#"
(function () {
  var box = document.getElementById('filter');
  var count = document.getElementById('shown');
  function apply() {
    var words = box.value.toLowerCase().split(/\s+/).filter(function (w) { return w; });
    var shown = 0;
    document.querySelectorAll('[data-finding], [data-entry]').forEach(function (el) {
      var text = el.textContent.toLowerCase();
      var keep = words.every(function (w) { return text.indexOf(w) >= 0; });
      el.classList.toggle('hidden', !keep);
      if (keep && el.hasAttribute('data-finding')) { shown++; }
    });
    document.querySelectorAll('[data-group]').forEach(function (g) {
      var left = g.querySelector('[data-finding]:not(.hidden), [data-entry]:not(.hidden)');
      g.classList.toggle('hidden', !left);
    });
    count.textContent = String(shown);
  }
  var m = /(?:^#|&)filter=([^&]*)/.exec(location.hash);
  if (m) { box.value = decodeURIComponent(m[1].replace(/\+/g, ' ')); }
  box.addEventListener('input', apply);
  apply();
  document.documentElement.setAttribute('data-ready', '1');
})();
"#;

/// The whole page for `sections`.
pub fn render(sections: &[Section<'_>], summary: &ScanSummary, opts: ReportOptions) -> String {
    let total: usize = sections.iter().map(|s| s.findings.len()).sum();
    let mut h = String::with_capacity(16 * 1024 + total * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n",
    );
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str("<title>patrol report</title>\n<style>");
    h.push_str(STYLE);
    h.push_str("</style>\n</head>\n<body>\n<header>\n<h1>patrol report</h1>\n<p>");
    h.push_str(&format!(
        "{total} finding(s) in {} file(s) scanned; {}. Secrets are {}.",
        summary.blobs_scanned,
        if summary.complete {
            "the scan is complete"
        } else {
            "the scan is INCOMPLETE (some inputs could not be read)"
        },
        if opts.show_secrets {
            "shown in full (--show-secrets): handle this file as a secret"
        } else {
            "redacted"
        }
    ));
    h.push_str("</p>\n</header>\n<main>\n");
    h.push_str(
        "<div class=\"bar\"><input id=\"filter\" type=\"search\" placeholder=\"Filter: provider, \
         rule, path, author, commit…\" aria-label=\"Filter findings\" autocomplete=\"off\">\
         <span class=\"count\"><span id=\"shown\">",
    );
    h.push_str(&total.to_string());
    h.push_str(&format!("</span> of {total} shown</span></div>\n"));
    if total == 0 {
        h.push_str("<p class=\"empty\">No secrets found.</p>\n");
    } else {
        timeline(&mut h, sections, opts);
        groups(&mut h, sections, opts);
    }
    h.push_str("</main>\n<script>");
    h.push_str(SCRIPT);
    h.push_str("</script>\n</body>\n</html>\n");
    h
}

/// The earliest author date of `f`'s history locations, with that location's index.
fn entered(f: &Finding) -> Option<(&str, usize)> {
    f.locations
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.commit.as_ref().map(|c| (c.author_date.as_str(), i)))
        .min()
}

/// Seconds since the epoch of an RFC 3339 date, for placing it on the axis.
fn epoch(date: &str) -> Option<i64> {
    time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

fn timeline(h: &mut String, sections: &[Section<'_>], opts: ReportOptions) {
    let mut entries: Vec<(&str, &str, &Finding, usize)> = sections
        .iter()
        .flat_map(|s| {
            s.findings
                .iter()
                .filter_map(move |f| entered(f).map(|(d, i)| (d, s.repository, f, i)))
        })
        .collect();
    if entries.is_empty() {
        return;
    }
    entries.sort_by(|a, b| {
        a.0.cmp(b.0)
            .then_with(|| a.2.fingerprint.cmp(&b.2.fingerprint))
    });
    h.push_str("<section data-group>\n<h2>When the secrets entered the history</h2>\n");
    let times: Vec<Option<i64>> = entries.iter().map(|e| epoch(e.0)).collect();
    let (lo, hi) = times
        .iter()
        .flatten()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &t| (lo.min(t), hi.max(t)));
    if lo <= hi {
        h.push_str("<div class=\"axis\" aria-hidden=\"true\">");
        for t in times.iter().flatten() {
            let pct = if hi > lo {
                (t - lo) as f64 * 100.0 / (hi - lo) as f64
            } else {
                50.0
            };
            h.push_str(&format!(
                "<span class=\"tick\" style=\"left:{pct:.2}%\"></span>"
            ));
        }
        h.push_str("</div>\n<div class=\"axis-labels\"><span>");
        h.push_str(&escape(entries[0].0));
        h.push_str("</span><span>");
        h.push_str(&escape(entries[entries.len() - 1].0));
        h.push_str("</span></div>\n");
    }
    h.push_str(
        "<table>\n<thead><tr><th>Author date</th><th>Secret</th><th>Where</th>\
         <th>Commit</th></tr></thead>\n<tbody>\n",
    );
    for (date, repo, f, i) in &entries {
        let l = &f.locations[*i];
        let c = l
            .commit
            .as_ref()
            .expect("entered() picks a history location");
        h.push_str(&format!(
            "<tr data-entry><td>{}</td><td>{}<br><code>{}</code></td><td><code>{}</code> \
             <span class=\"meta\">{}</span></td><td><code>{}</code><br><span class=\"meta\">{} \
             &lt;{}&gt;</span></td></tr>\n",
            escape(date),
            escape(&f.name),
            escape(&f.secret.display(opts.show_secrets)),
            escape(&l.path),
            escape(repo),
            escape(c.id.get(..12).unwrap_or(&c.id)),
            escape(&c.author_name),
            escape(&c.author_email),
        ));
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

fn groups(h: &mut String, sections: &[Section<'_>], opts: ReportOptions) {
    // provider -> repository -> findings, in name order.
    let mut by: BTreeMap<&str, BTreeMap<&str, Vec<&Finding>>> = BTreeMap::new();
    for s in sections {
        for f in s.findings {
            by.entry(f.provider.as_str())
                .or_default()
                .entry(s.repository)
                .or_default()
                .push(f);
        }
    }
    for (provider, repos) in by {
        let n: usize = repos.values().map(Vec::len).sum();
        h.push_str(&format!(
            "<section data-group>\n<h2>{} <span class=\"count\">({n})</span></h2>\n",
            escape(provider)
        ));
        for (repo, findings) in repos {
            h.push_str(&format!(
                "<div data-group>\n<h3>{}</h3>\n<table>\n<thead><tr><th>Rule</th><th>Secret</th>\
                 <th>Verification</th><th>Locations</th></tr></thead>\n<tbody>\n",
                escape(if repo.is_empty() {
                    "(scanned paths)"
                } else {
                    repo
                })
            ));
            for f in findings {
                finding_row(h, f, opts);
            }
            h.push_str("</tbody>\n</table>\n</div>\n");
        }
        h.push_str("</section>\n");
    }
}

fn finding_row(h: &mut String, f: &Finding, opts: ReportOptions) {
    let (status, detail) = match &f.verification {
        Some(v) => (
            v.status.as_str(),
            format!(
                "{}{}",
                v.owner
                    .as_deref()
                    .map(|o| format!("owner {o}; "))
                    .unwrap_or_default(),
                v.checked_at
            ),
        ),
        None => ("not verified", String::new()),
    };
    h.push_str(&format!(
        "<tr data-finding><td>{}<br><code class=\"meta\">{}</code></td><td><code>{}</code><br>\
         <span class=\"meta\">checksum {}</span></td><td><span class=\"badge {}\">{}</span><br>\
         <span class=\"meta\">{}</span></td><td><ul class=\"locs\">",
        escape(&f.name),
        escape(&f.rule),
        escape(&f.secret.display(opts.show_secrets)),
        escape(f.checksum.as_str()),
        escape(status),
        escape(status),
        escape(&detail),
    ));
    for l in &f.locations {
        h.push_str(&format!(
            "<li><code>{}:{}:{}</code>",
            escape(&l.path),
            l.line,
            l.column
        ));
        if let Some(c) = &l.commit {
            h.push_str(&format!(
                " <span class=\"meta\">commit <code>{}</code> by {} &lt;{}&gt;, {}</span>",
                escape(c.id.get(..12).unwrap_or(&c.id)),
                escape(&c.author_name),
                escape(&c.author_email),
                escape(&c.author_date),
            ));
        }
        if let Some(enc) = l.encoding {
            h.push_str(&format!(" <span class=\"meta\">({})</span>", escape(enc)));
        }
        h.push_str("</li>");
    }
    if f.locations_omitted > 0 {
        h.push_str(&format!(
            "<li class=\"meta\">and {} more location(s)</li>",
            f.locations_omitted
        ));
    }
    h.push_str("</ul></td></tr>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{ChecksumStatus, CommitMeta, Fingerprint, Location, Secret};

    fn finding(secret: &str, path: &str, date: Option<&str>) -> Finding {
        Finding {
            rule: "npm.token".into(),
            name: "npm access token".into(),
            provider: "npm".into(),
            fingerprint: Fingerprint::of("npm.token", &Secret::new(secret)),
            secret: Secret::new(secret),
            checksum: ChecksumStatus::Valid,
            locations: vec![Location {
                path: path.into(),
                path_raw: None,
                line: 3,
                column: 7,
                commit: date.map(|d| CommitMeta {
                    id: "c".repeat(40),
                    author_name: "Eve <script>".into(),
                    author_email: "e@example.com".into(),
                    author_date: d.into(),
                }),
                encoding: None,
                repository: None,
            }],
            locations_omitted: 0,
            verification: None,
        }
    }

    #[test]
    fn escape_neutralises_markup_and_invisible_characters() {
        assert_eq!(
            escape("<img src=x onerror=\"a('b')\">&"),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
        assert_eq!(escape("a\u{202e}b\n"), "a\\u{202e}b\\n");
    }

    #[test]
    fn hostile_paths_and_authors_stay_text_and_secrets_stay_redacted() {
        let secret = "npm_0123456789abcdefghijklmnopqrstuvwxyz";
        let fs = [finding(
            secret,
            "</script><script>alert(1)</script>.txt",
            Some("2024-05-01T10:00:00Z"),
        )];
        let page = render(
            &[Section {
                repository: "r<b>",
                findings: &fs,
            }],
            &ScanSummary::default(),
            ReportOptions::default(),
        );
        assert_eq!(page.matches("<script>").count(), 1, "only the page's own");
        assert!(page.contains("&lt;/script&gt;&lt;script&gt;alert(1)"));
        assert!(page.contains("Eve &lt;script&gt;"));
        assert!(page.contains("r&lt;b&gt;"));
        assert!(!page.contains(secret));
        assert!(page.contains("npm_…wxyz"));
        assert!(!page.contains("http://") && !page.contains("https://"));
        let shown = render(
            &[Section {
                repository: "r",
                findings: &fs,
            }],
            &ScanSummary::default(),
            ReportOptions {
                show_secrets: true,
                ..ReportOptions::default()
            },
        );
        assert!(shown.contains(secret));
    }

    #[test]
    fn timeline_lists_secrets_by_the_date_they_entered_history() {
        let fs = [
            finding(
                "npm_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                "late.txt",
                Some("2024-09-01T00:00:00Z"),
            ),
            finding(
                "npm_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "early.txt",
                Some("2023-01-01T00:00:00Z"),
            ),
            finding(
                "npm_cccccccccccccccccccccccccccccccccccc",
                "worktree.txt",
                None,
            ),
        ];
        let page = render(
            &[Section {
                repository: "r",
                findings: &fs,
            }],
            &ScanSummary::default(),
            ReportOptions::default(),
        );
        let tl = &page[page.find("entered the history").unwrap()..page.find("<h2>npm").unwrap()];
        let early = tl.find("early.txt").unwrap();
        let late = tl.find("late.txt").unwrap();
        assert!(early < late, "oldest first");
        assert!(!tl.contains("worktree.txt"), "no commit, no date");
        assert!(tl.contains("left:0.00%") && tl.contains("left:100.00%"));
        assert!(page.contains("<h2>npm <span class=\"count\">(3)</span></h2>"));
    }
}
