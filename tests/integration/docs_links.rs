//! The manual's links: every relative link and every `#anchor` in README.md and docs/*.md
//! must resolve, so moving a section never leaves a dead link behind.
//!
//! A small hand parser (no Markdown crate is a dependency): `[text](target)` links and
//! `[label]: target` definitions outside fenced code blocks and inline code spans, and ATX
//! headings turned into anchors by GitHub's rules (lower-case; drop every character that is
//! not a letter, digit, space, `-` or `_`; each space becomes `-`; a repeated slug gets `-1`,
//! `-2`, ...). Links to other sites are not fetched (no network in tests).

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use crate::util::TestDir;

/// One link found in a Markdown file.
#[derive(Debug)]
struct Link {
    line: usize,
    target: String,
}

/// What the checker needs from one Markdown file.
#[derive(Debug, Default)]
struct Parsed {
    anchors: HashSet<String>,
    links: Vec<Link>,
}

/// GitHub's anchor for a heading's text (inline code, links and emphasis already reduced to
/// their text by [`heading_text`]).
fn slug(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// A heading's text as GitHub renders it: `[text](url)` becomes `text`, backticks go.
fn heading_text(raw: &str) -> String {
    let link = regex::Regex::new(r"\[([^\]]*)\]\([^)]*\)").unwrap();
    let text = link.replace_all(raw, "$1");
    let text = text.trim_end().trim_end_matches('#').trim_end();
    text.replace('`', "")
}

/// The line with inline code spans blanked out, so a link shown as code is not a link.
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let ticks = rest[start..].chars().take_while(|c| *c == '`').count();
        let after = &rest[start + ticks..];
        let fence = "`".repeat(ticks);
        match after.find(&fence) {
            Some(end) => rest = &after[end + ticks..],
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Headings and links of one Markdown text; fenced code blocks (``` or ~~~, at any
/// indentation, closed by a fence of the same character) are skipped.
fn parse(text: &str) -> Parsed {
    let inline = regex::Regex::new(r#"\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)"#).unwrap();
    let definition = regex::Regex::new(r"^\s{0,3}\[[^\]]+\]:\s+<?([^\s>]+)>?").unwrap();
    let heading = regex::Regex::new(r"^\s{0,3}(#{1,6})\s+(.*)$").unwrap();
    let mut parsed = Parsed::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut fence: Option<char> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let opener = ['`', '~']
            .into_iter()
            .find(|c| trimmed.starts_with(&c.to_string().repeat(3)));
        match (fence, opener) {
            (None, Some(c)) => {
                fence = Some(c);
                continue;
            }
            (Some(open), Some(c)) if open == c => {
                fence = None;
                continue;
            }
            (Some(_), _) => continue,
            (None, None) => {}
        }
        if let Some(h) = heading.captures(line) {
            let base = slug(&heading_text(&h[2]));
            let n = seen.entry(base.clone()).or_insert(0);
            let anchor = if *n == 0 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            *n += 1;
            parsed.anchors.insert(anchor);
        }
        let code_free = without_code_spans(line);
        let targets = inline
            .captures_iter(&code_free)
            .chain(definition.captures_iter(&code_free));
        for c in targets {
            parsed.links.push(Link {
                line: i + 1,
                target: c[1].to_string(),
            });
        }
    }
    parsed
}

/// `path` with `.` and `..` resolved lexically; `None` when it climbs above `root`.
fn normalise(root: &Path, path: &Path) -> Option<PathBuf> {
    let rel = path.strip_prefix(root).ok()?;
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(p) => parts.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            _ => return None,
        }
    }
    Some(
        parts
            .iter()
            .fold(root.to_path_buf(), |p, part| p.join(part)),
    )
}

/// Every broken relative link or anchor in `files` (paths relative to `root`), one line each:
/// `FILE:LINE: reason`.
fn broken_links(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let mut cache: HashMap<PathBuf, Parsed> = HashMap::new();
    let mut load = |p: &Path| -> Option<HashSet<String>> {
        if !cache.contains_key(p) {
            let text = std::fs::read_to_string(p).ok()?;
            cache.insert(p.to_path_buf(), parse(&text));
        }
        Some(cache[p].anchors.clone())
    };
    let mut errors = Vec::new();
    for rel in files {
        let file = root.join(rel);
        let text = std::fs::read_to_string(&file).expect("read a Markdown file");
        for link in parse(&text).links {
            let at = format!("{}:{}", rel.display(), link.line);
            let t = &link.target;
            if t.contains("://") || t.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = t.split_once('#').unwrap_or((t, ""));
            let target = if path.is_empty() {
                Some(file.clone())
            } else {
                normalise(root, &file.parent().unwrap().join(path))
            };
            let Some(target) = target else {
                errors.push(format!("{at}: `{t}` points outside the repository"));
                continue;
            };
            if !target.exists() {
                errors.push(format!("{at}: `{t}`: no such file"));
                continue;
            }
            if anchor.is_empty() {
                continue;
            }
            let shown = target.strip_prefix(root).unwrap_or(&target).display();
            let is_md = target.extension().is_some_and(|e| e == "md");
            match is_md.then(|| load(&target)).flatten() {
                Some(anchors) if anchors.contains(anchor) => {}
                Some(_) => errors.push(format!("{at}: `{t}`: no heading `#{anchor}` in {shown}")),
                None => errors.push(format!("{at}: `{t}`: {shown} has no headings to link to")),
            }
        }
    }
    errors
}

/// README.md and every docs/*.md, relative to the repository root.
fn manual_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ holds the manual")
        .map(|e| PathBuf::from("docs").join(e.unwrap().file_name()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn manual_links_and_anchors_resolve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = manual_files(root);
    assert!(files.len() > 10, "README.md and the docs/ pages: {files:?}");
    let errors = broken_links(root, &files);
    assert!(errors.is_empty(), "broken links:\n{}", errors.join("\n"));
}

/// Users clone patrol from the internet: nothing beside the repository is there for them.
#[test]
fn manual_names_no_file_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for rel in manual_files(root) {
        let text = std::fs::read_to_string(root.join(&rel)).unwrap();
        for (i, line) in text.lines().enumerate() {
            assert!(
                !line.contains("../shared"),
                "{}:{}: names ../shared, which is not in the repository",
                rel.display(),
                i + 1
            );
        }
    }
}

#[test]
fn checker_reports_broken_files_and_anchors_but_not_code() {
    let t = TestDir::new();
    t.write(
        "README.md",
        "# Top\n\n## `patrol scan`: files, history\n\n## Top\n\n\
         [ok](#top) [ok](#top-1) [ok](#patrol-scan-files-history) [ok](docs/a.md#a-b_c)\n\
         [bad](#nope) [bad](docs/missing.md) [bad](docs/a.md#gone) [bad](../outside.md)\n\
         `[code](#not-a-link)` [web](https://example.com/#x)\n\n\
         ```\n[fenced](#not-a-link-either)\n```\n\n[def]: docs/a.md#also-gone\n",
    );
    t.write("docs/a.md", "# A b_c\n\n```md\n# Fenced heading\n```\n");
    let errors = broken_links(t.path(), &[PathBuf::from("README.md")]);
    let expected = [
        "README.md:8: `#nope`: no heading `#nope` in README.md",
        "README.md:8: `docs/missing.md`: no such file",
        "README.md:8: `docs/a.md#gone`: no heading `#gone` in docs/a.md",
        "README.md:8: `../outside.md` points outside the repository",
        "README.md:15: `docs/a.md#also-gone`: no heading `#also-gone` in docs/a.md",
    ];
    assert_eq!(errors, expected);
}

#[test]
fn slugs_follow_github_rules() {
    assert_eq!(
        slug(&heading_text(
            "Acting on leaks: verify, find the owner, revoke"
        )),
        "acting-on-leaks-verify-find-the-owner-revoke"
    );
    assert_eq!(
        slug(&heading_text("Configuration: `patrol.toml`")),
        "configuration-patroltoml"
    );
    assert_eq!(
        slug(&heading_text(
            "Telling owners: `--notify`, `--notify-webhook`"
        )),
        "telling-owners---notify---notify-webhook"
    );
    assert_eq!(slug(&heading_text("[Rules](rules.md) ##")), "rules");
}
