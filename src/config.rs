//! `patrol.toml`: the repository's own settings, read once and validated before any scanning.
//!
//! Where it is found: `--config FILE`, else `patrol.toml` in the first scanned directory, else in
//! the root of the git repository that holds it (the nearest ancestor with a `.git` entry).
//!
//! ```toml
//! exclude = ["vendor/**", "*.min.js"]        # path globs to skip, relative to the scan root
//! disable_rules = ["slack.bot_token"]        # rule ids to switch off
//! rule_files = ["ci/acme-rules.toml"]        # extra rule files, relative to this file
//!
//! [[allow]]                                  # accepted findings, by fingerprint
//! fingerprint = "1781b7e3836525489b174256fe387c7d"
//! reason = "test fixture, revoked 2024-05-01"  # required, not empty
//! ```
//!
//! Unknown keys and invalid values are errors that name the file, the line and the key; a
//! scan never runs with a configuration it could not read. Nothing here sees clap types: the
//! CLI turns flags into [`ScanSettings`], and [`ScanConfig::new`] merges them with this file
//! and validates everything once (exclude globs compiled, rule files checked against their own
//! examples, `disable_rules` ids checked, the baseline read) before the scan starts.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::baseline::{Baseline, BaselineError};
use crate::error::RuleError;
use crate::finding::Fingerprint;
use crate::matcher::{check_examples, Matcher};
use crate::rules::RuleSet;

/// The file name looked for in the scanned directory or repository root.
pub const FILE_NAME: &str = "patrol.toml";

/// An error reading or validating a configuration file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The built-in rules did not load (a packaging bug).
    #[error("built-in rules")]
    BuiltinRules(#[source] RuleError),
    /// A `rule_files` entry of patrol.toml is wrong or does not find its own examples.
    #[error("loading rule_files from the configuration")]
    ConfigRules(#[source] RuleError),
    /// A `--rules` file is wrong or does not find its own examples.
    #[error("loading --rules")]
    ExtraRules(#[source] RuleError),
    /// `disable_rules` could not be applied.
    #[error("disabling rules")]
    Disable(#[source] RuleError),
    /// The baseline file could not be read.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// The file could not be read.
    #[error("config {file}: {source}")]
    Io {
        /// The configuration file.
        file: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A discovered `patrol.toml`, or a `rule_files` entry, is a symbolic link (or lies under
    /// one) that leads out of the directory it was found in: refused unread.
    #[error("config {file}: {what} leads outside {root} (a symbolic link): refused, not read")]
    Outside {
        /// The file as found.
        file: String,
        /// `patrol.toml` or `rule_files entry`.
        what: &'static str,
        /// The directory it must stay in.
        root: String,
    },
    /// The file is not valid TOML, has an unknown key, or a value is wrong.
    #[error("config {file}:{line}: {reason}")]
    Invalid {
        /// The configuration file.
        file: String,
        /// 1-based line of the offending key or value.
        line: usize,
        /// What is wrong, naming the key.
        reason: String,
    },
}

/// A value from the file with the line it was written on (for later errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    /// The value.
    pub value: T,
    /// 1-based line in the configuration file.
    pub line: usize,
}

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    /// The finding's fingerprint (32 lower-case hex characters).
    pub fingerprint: String,
    /// Why it is accepted (never empty).
    pub reason: String,
    /// 1-based line of the entry.
    pub line: usize,
}

/// The validated configuration. [`Config::default`] is what a repository without a file gets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// The file this came from, `None` when there was none.
    pub file: Option<PathBuf>,
    /// Path globs to skip (each compiled once to check it).
    pub exclude: Vec<String>,
    /// Rule ids to disable; checked against the loaded rules by [`Config::check_rule_ids`].
    pub disable_rules: Vec<Setting<String>>,
    /// Extra rule files, resolved against the configuration file's directory.
    pub rule_files: Vec<PathBuf>,
    /// Accepted findings.
    pub allow: Vec<Allow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    disable_rules: Vec<Spanned<String>>,
    #[serde(default)]
    rule_files: Vec<Spanned<String>>,
    #[serde(default)]
    allow: Vec<RawAllow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    fingerprint: Spanned<String>,
    reason: Spanned<String>,
}

impl Config {
    /// Finds the configuration for a scan of `paths`: the first directory among them (or the
    /// directory of the first file), then the root of its git repository. `None` when neither
    /// holds a `patrol.toml`.
    pub fn discover(paths: &[PathBuf]) -> Option<PathBuf> {
        let first = paths.iter().find(|p| p.as_os_str() != "-")?;
        let dir = if first.is_dir() {
            first.clone()
        } else {
            first.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let here = dir.join(FILE_NAME);
        if here.is_file() {
            return Some(here);
        }
        let abs = std::fs::canonicalize(&dir).ok()?;
        let root = abs.ancestors().find(|a| a.join(".git").exists())?;
        let there = root.join(FILE_NAME);
        there.is_file().then_some(there)
    }

    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: file.clone(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        let mut c = Self::parse(&file, &text, base)?;
        c.file = Some(path.to_path_buf());
        Ok(c)
    }

    /// Parses and validates `text` (the contents of `file`); relative rule files are resolved
    /// against `base`.
    pub fn parse(file: &str, text: &str, base: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            let msg = crate::error::toml_message(&e);
            let reason = match key_at(text, at) {
                Some(key) if !msg.contains('`') => format!("key `{key}`: {msg}"),
                _ => msg,
            };
            ConfigError::Invalid {
                file: file.to_string(),
                line: line_of(text, at),
                reason,
            }
        })?;
        let bad = |span: Range<usize>, reason: String| ConfigError::Invalid {
            file: file.to_string(),
            line: line_of(text, span.start),
            reason,
        };
        let mut exclude = Vec::new();
        for g in raw.exclude {
            if let Err(e) = globset::Glob::new(g.get_ref()) {
                let reason = format!("key `exclude`: invalid glob: {}", e.kind());
                return Err(bad(g.span(), reason));
            }
            exclude.push(g.into_inner());
        }
        let mut disable_rules = Vec::new();
        for r in raw.disable_rules {
            if r.get_ref().trim().is_empty() {
                return Err(bad(r.span(), "key `disable_rules`: empty rule id".into()));
            }
            let line = line_of(text, r.span().start);
            disable_rules.push(Setting {
                value: r.into_inner(),
                line,
            });
        }
        let mut rule_files = Vec::new();
        for f in raw.rule_files {
            if f.get_ref().trim().is_empty() {
                return Err(bad(f.span(), "key `rule_files`: empty path".into()));
            }
            // A scanned repository's patrol.toml must not make patrol read files outside it.
            let rel = Path::new(f.get_ref());
            if rel.is_absolute()
                || rel.components().any(|c| {
                    !matches!(
                        c,
                        std::path::Component::Normal(_) | std::path::Component::CurDir
                    )
                })
            {
                return Err(bad(
                    f.span(),
                    "key `rule_files`: a path relative to patrol.toml, inside its directory (no `..`, not absolute)".into(),
                ));
            }
            rule_files.push(base.join(rel));
        }
        let mut allow = Vec::new();
        let mut seen = BTreeSet::new();
        for a in raw.allow {
            let fp = a.fingerprint.get_ref();
            if !is_fingerprint(fp) {
                let reason = "key `allow.fingerprint`: not a patrol fingerprint (32 lower-case hex characters)".to_string();
                return Err(bad(a.fingerprint.span(), reason));
            }
            if a.reason.get_ref().trim().is_empty() {
                let reason = "key `allow.reason`: a reason is required".to_string();
                return Err(bad(a.reason.span(), reason));
            }
            if !seen.insert(fp.clone()) {
                let reason = "key `allow.fingerprint`: listed twice".to_string();
                return Err(bad(a.fingerprint.span(), reason));
            }
            allow.push(Allow {
                line: line_of(text, a.fingerprint.span().start),
                fingerprint: a.fingerprint.into_inner(),
                reason: a.reason.into_inner(),
            });
        }
        Ok(Self {
            file: None,
            exclude,
            disable_rules,
            rule_files,
            allow,
        })
    }

    /// Checks every `disable_rules` id with `known`; an unknown id is an error naming its line.
    pub fn check_rule_ids(&self, known: impl Fn(&str) -> bool) -> Result<(), ConfigError> {
        for r in &self.disable_rules {
            if !known(&r.value) {
                return Err(ConfigError::Invalid {
                    file: self.display_name(),
                    line: r.line,
                    reason: "key `disable_rules`: no such rule (see `patrol rules list`)"
                        .to_string(),
                });
            }
        }
        Ok(())
    }

    /// The ids in `disable_rules`.
    pub fn disabled_ids(&self) -> Vec<String> {
        self.disable_rules.iter().map(|r| r.value.clone()).collect()
    }

    /// The allowed fingerprints.
    pub fn allowed(&self) -> BTreeSet<String> {
        self.allow.iter().map(|a| a.fingerprint.clone()).collect()
    }

    fn display_name(&self) -> String {
        self.file
            .as_ref()
            .map_or_else(|| FILE_NAME.to_string(), |p| p.display().to_string())
    }
}

/// `true` for 32 lower-case hex characters, the shape of a patrol fingerprint.
pub fn is_fingerprint(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The dotted key written on the line holding byte `offset` (`allow.reason` inside an
/// `[[allow]]` table), when that line is a `key = value` line.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let end = offset.min(text.len());
    let start = text[..end].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or_default();
    let key = line.split_once('=')?.0.trim();
    let bare = |k: &str| {
        !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if !bare(key) {
        return None;
    }
    let table = text[..start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    Some(match table {
        Some(t) if bare(&t) => format!("{t}.{key}"),
        _ => key.to_string(),
    })
}

/// The 1-based line holding byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    bytecount::count(&text.as_bytes()[..end], b'\n') + 1
}

/// Bytes read and matched at a time; larger files are streamed in overlapping chunks.
pub const CHUNK_BYTES: usize = 8 * 1024 * 1024;
/// Default cap on locations kept per finding (`--max-locations`).
pub const DEFAULT_MAX_LOCATIONS: usize = 1000;

/// The scan's settings as the user gave them (flags, or an embedding program's choices):
/// plain data, nothing checked yet. [`ScanConfig::new`] validates them.
#[derive(Debug, Clone)]
pub struct ScanSettings {
    /// The scanned paths: only used to discover `patrol.toml` when `config_file` is `None`.
    pub paths: Vec<PathBuf>,
    /// `--config FILE`: read this instead of discovering `patrol.toml`.
    pub config_file: Option<PathBuf>,
    /// Skip discovery: use no `patrol.toml` at all (an embedding program's choice).
    pub no_config: bool,
    /// `--rules FILE` (repeatable): extra rule files.
    pub rule_files: Vec<PathBuf>,
    /// `--baseline FILE`.
    pub baseline: Option<PathBuf>,
    /// Honour .gitignore / .ignore (default `true`).
    pub respect_ignore: bool,
    /// Follow symbolic links while walking.
    pub follow_links: bool,
    /// Skip files (and blobs) larger than this many bytes.
    pub max_file_size: Option<u64>,
    /// Skip binary inputs instead of scanning them.
    pub skip_binary: bool,
    /// Worker threads; `None` is one per CPU.
    pub threads: Option<usize>,
    /// Locations kept per finding (at least 1).
    pub max_locations: usize,
    /// Honour `patrol:allow` and friends.
    pub inline_allow: bool,
    /// Bytes read at a time (tests make it small to exercise chunk boundaries).
    pub chunk_bytes: usize,
    /// Open archives (zip, tar, gzip, xz, bzip2) and scan their entries (`false`: `--no-archives`).
    pub archives: bool,
}

impl Default for ScanSettings {
    fn default() -> Self {
        Self {
            paths: vec![PathBuf::from(".")],
            config_file: None,
            no_config: false,
            rule_files: Vec::new(),
            baseline: None,
            respect_ignore: true,
            follow_links: false,
            max_file_size: None,
            skip_binary: false,
            threads: None,
            max_locations: DEFAULT_MAX_LOCATIONS,
            inline_allow: true,
            chunk_bytes: CHUNK_BYTES,
            archives: true,
        }
    }
}

/// Everything a scan needs, merged and validated once: the compiled rules, the exclude globs
/// (compiled), the accepted fingerprints (allow-list and baseline) and the reading options.
/// Built only by [`ScanConfig::new`], so a value of this type is always valid.
#[derive(Debug)]
pub struct ScanConfig {
    pub(crate) matcher: Matcher,
    pub(crate) file: Config,
    pub(crate) exclude: Vec<String>,
    pub(crate) exclude_set: Option<globset::GlobSet>,
    pub(crate) accepted: BTreeSet<Fingerprint>,
    pub(crate) respect_ignore: bool,
    pub(crate) follow_links: bool,
    pub(crate) max_file_size: Option<u64>,
    pub(crate) skip_binary: bool,
    pub(crate) threads: usize,
    pub(crate) max_locations: usize,
    pub(crate) inline_allow: bool,
    pub(crate) chunk_bytes: usize,
    /// Archive limits; `None` with `--no-archives`.
    pub(crate) archives: Option<crate::source::archive::Limits>,
}

impl ScanConfig {
    /// Reads `patrol.toml` (given or discovered), loads and checks the rules, compiles the
    /// exclude globs and reads the baseline. Any error stops here, before a byte is scanned.
    pub fn new(s: &ScanSettings) -> Result<Self, ConfigError> {
        let file = if s.no_config {
            Config::default()
        } else {
            match &s.config_file {
                Some(f) => Config::load(f)?,
                None => match Config::discover(&s.paths) {
                    Some(found) => {
                        // The scanned tree's own file: it may not lead out of the tree.
                        let root = found.parent().unwrap_or(Path::new("."));
                        ensure_within(&found, root, "patrol.toml")?;
                        Config::load(&found)?
                    }
                    None => Config::default(),
                },
            }
        };
        let rules = load_rules(&s.rule_files, &file)?;
        let mut accepted: BTreeSet<Fingerprint> =
            file.allowed().into_iter().map(Fingerprint).collect();
        if let Some(p) = &s.baseline {
            accepted.extend(Baseline::load(p)?.fingerprints());
        }
        let exclude_set = compile_globs(&file.exclude);
        let threads = s
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1);
        Ok(Self {
            matcher: Matcher::new(rules),
            exclude: file.exclude.clone(),
            exclude_set,
            file,
            accepted,
            respect_ignore: s.respect_ignore,
            follow_links: s.follow_links,
            max_file_size: s.max_file_size,
            skip_binary: s.skip_binary,
            threads,
            max_locations: s.max_locations.max(1),
            inline_allow: s.inline_allow,
            chunk_bytes: s.chunk_bytes.max(1),
            archives: s.archives.then(Default::default),
        })
    }

    /// The patrol.toml that was read (defaults when there was none).
    pub fn file(&self) -> &Config {
        &self.file
    }

    /// The compiled rules.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Fingerprints not reported: the allow-list plus the baseline.
    pub fn accepted(&self) -> &BTreeSet<Fingerprint> {
        &self.accepted
    }

    /// Worker threads.
    pub fn threads(&self) -> usize {
        self.threads
    }
}

/// The built-in rules, the config's `rule_files`, the extra (`--rules`) files, minus the
/// config's `disable_rules` (an unknown id there is an error naming its line).
pub fn load_rules(extra: &[PathBuf], config: &Config) -> Result<RuleSet, ConfigError> {
    let mut set = RuleSet::builtin().map_err(ConfigError::BuiltinRules)?;
    let base = config
        .file
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    for f in &config.rule_files {
        ensure_within(f, base, "rule_files entry")?;
        add_checked(&mut set, f).map_err(ConfigError::ConfigRules)?;
    }
    for f in extra {
        add_checked(&mut set, f).map_err(ConfigError::ExtraRules)?;
    }
    config.check_rule_ids(|id| set.get(id).is_some())?;
    set.disable(&config.disabled_ids())
        .map_err(ConfigError::Disable)?;
    Ok(set)
}

/// Refuses `file` when it resolves (through symbolic links) outside `root`: a scanned
/// repository's configuration must not make patrol read, or print parts of, a file elsewhere
/// on the machine. A file that does not exist is left to the reader's own error.
fn ensure_within(file: &Path, root: &Path, what: &'static str) -> Result<(), ConfigError> {
    let root_dir = if root.as_os_str().is_empty() {
        Path::new(".")
    } else {
        root
    };
    let (Ok(real), Ok(real_root)) = (std::fs::canonicalize(file), std::fs::canonicalize(root_dir))
    else {
        return Ok(());
    };
    if real.starts_with(&real_root) {
        return Ok(());
    }
    Err(ConfigError::Outside {
        file: file.display().to_string(),
        what,
        root: root_dir.display().to_string(),
    })
}

/// Adds a custom rule file after running its examples through the matcher on their own: a
/// rule that does not find its own examples would silently miss leaks. Used for `--rules`
/// and for patrol.toml's `rule_files`.
pub fn add_checked(set: &mut RuleSet, f: &Path) -> Result<(), RuleError> {
    let mut alone = RuleSet::default();
    alone.add_file(f)?;
    if let Some(e) = check_examples(&alone).into_iter().next() {
        return Err(e);
    }
    set.add_file(f)
}

/// The exclude globs as one set (each was already checked by [`Config::parse`]).
fn compile_globs(globs: &[String]) -> Option<globset::GlobSet> {
    if globs.is_empty() {
        return None;
    }
    let mut b = globset::GlobSetBuilder::new();
    for g in globs {
        b.add(globset::Glob::new(g).ok()?);
    }
    b.build().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse("patrol.toml", text, Path::new("/repo"))
    }

    #[test]
    fn reads_every_key() {
        let c = parse(
            r#"
exclude = ["vendor/**"]
disable_rules = ["slack.bot_token"]
rule_files = ["ci/acme.toml"]

[[allow]]
fingerprint = "1781b7e3836525489b174256fe387c7d"
reason = "revoked fixture"
"#,
        )
        .unwrap();
        assert_eq!(c.exclude, ["vendor/**"]);
        assert_eq!(c.disabled_ids(), ["slack.bot_token"]);
        assert_eq!(c.disable_rules[0].line, 3);
        assert_eq!(c.rule_files, [PathBuf::from("/repo/ci/acme.toml")]);
        assert_eq!(c.allow[0].reason, "revoked fixture");
        assert_eq!(c.allow[0].line, 7);
    }

    #[test]
    fn an_unknown_key_names_the_key_and_line() {
        let e = parse("exclude = []\n\nexclud = [\"x\"]\n").unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("config patrol.toml:3: "), "{s}");
        assert!(s.contains("exclud"), "{s}");
    }

    #[test]
    fn an_unknown_key_inside_allow_names_its_line() {
        let e = parse("[[allow]]\nfingerprint = \"1781b7e3836525489b174256fe387c7d\"\nreason = \"x\"\nwhy = \"y\"\n")
            .unwrap_err();
        let s = e.to_string();
        assert!(s.contains("why") && s.contains(":4:"), "{s}");
    }

    #[test]
    fn invalid_values_name_key_and_line() {
        let cases = [
            ("exclude = [\"ok\", \"[\"]\n", 1, "exclude"),
            (
                "\n[[allow]]\nfingerprint = \"abc\"\nreason = \"r\"\n",
                3,
                "allow.fingerprint",
            ),
            (
                "[[allow]]\nfingerprint = \"1781b7e3836525489b174256fe387c7d\"\nreason = \"  \"\n",
                3,
                "allow.reason",
            ),
            ("exclude = \"vendor\"\n", 1, "exclude"),
        ];
        for (text, line, key) in cases {
            let s = parse(text).unwrap_err().to_string();
            assert!(s.contains(&format!(":{line}: ")), "{text:?}: {s}");
            assert!(s.contains(key), "{text:?}: {s}");
        }
    }

    #[test]
    fn an_allow_entry_without_a_reason_is_an_error() {
        let s = parse("[[allow]]\nfingerprint = \"1781b7e3836525489b174256fe387c7d\"\n")
            .unwrap_err()
            .to_string();
        assert!(s.contains("reason"), "{s}");
        assert!(s.contains(":1:") || s.contains(":2:"), "{s}");
    }

    #[test]
    fn unknown_rule_ids_name_their_line() {
        let c = parse("\ndisable_rules = [\n  \"npm.token\",\n  \"nope.x\",\n]\n").unwrap();
        let e = c.check_rule_ids(|id| id == "npm.token").unwrap_err();
        let s = e.to_string();
        assert!(s.contains(":4:") && s.contains("disable_rules"), "{s}");
        assert!(!s.contains("nope.x"), "values are never echoed: {s}");
    }
}
