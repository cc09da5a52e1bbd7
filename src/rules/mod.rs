//! Rules: what a token looks like, as data.
//!
//! Each provider has one TOML file in `data/` (compiled in through `builtin.rs`); `--rules FILE`
//! adds more in the same format. A rule names the literal keywords the prefilter looks for, the
//! regex that extracts the token (group `token`), an optional checksum validator
//! (`checksum.rs`), and examples / negative examples that the test suite and
//! `patrol rules check` run through the full matcher.
//!
//! A rule whose token has no literal part (the legacy Azure DevOps PAT) leaves `keywords` empty
//! and says `run = { charset = "...", length = N }`: the matcher finds whole-word runs of
//! exactly that length in its own linear pass, then applies the regex and checksum.

pub mod builtin;
pub mod checksum;
pub mod placeholder;
#[doc(hidden)]
pub mod sample;
pub mod validator;
pub mod well_known;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use regex_automata::meta;
use serde::Deserialize;

use crate::error::RuleError;

/// Upper bound on a compiled rule regex, so a pathological custom rule cannot exhaust memory.
pub const MAX_REGEX_BYTES: usize = 2 * 1024 * 1024;
/// Largest custom rule file read.
pub const MAX_RULE_FILE_BYTES: u64 = 1024 * 1024;
/// Largest window (bytes each side of a keyword hit) a rule may ask for.
pub const MAX_WINDOW_BYTES: usize = 4096;
/// Default window, bytes each side of a keyword hit.
pub const DEFAULT_WINDOW_BYTES: usize = 256;

/// The character classes a literal-free rule can scan runs of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunCharset {
    /// `[a-z2-7]`, lower-case base32.
    Base32Lower,
}

impl RunCharset {
    /// Whether `b` belongs to the class.
    pub fn contains(self, b: u8) -> bool {
        match self {
            Self::Base32Lower => b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b),
        }
    }
}

/// A literal-free rule's run: whole words of exactly `length` characters of `charset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// The characters of the run.
    pub charset: RunCharset,
    /// The exact length.
    pub length: usize,
}

/// A rule as written in a TOML file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// `<provider>.<kind>`, snake_case.
    pub id: String,
    /// Human name.
    pub name: String,
    /// Provider id; the id's prefix (and, for built-in rules, the file stem).
    pub provider: String,
    /// Literals the prefilter looks for (case-sensitive).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// For literal-free rules: the run the linear pass looks for.
    #[serde(default)]
    pub run: Option<RunSpec>,
    /// Regex with a `token` group.
    pub pattern: String,
    /// Name of a validator in `checksum.rs`.
    #[serde(default)]
    pub checksum: Option<String>,
    /// Name of a validator in `validator.rs`: a judgement on the token that is not a checksum
    /// (a URL's password is no placeholder; a JWT's claims name a secret role).
    #[serde(default)]
    pub validator: Option<String>,
    /// Minimum Shannon entropy of the token, bits per character.
    #[serde(default)]
    pub min_entropy: Option<f64>,
    /// Bytes searched each side of a keyword hit (default 256).
    #[serde(default)]
    pub window: Option<usize>,
    /// The token's `=` may be escaped (`\=` as in Java .properties, `%3D` as in URLs): the
    /// validators and the reported secret see it unescaped.
    #[serde(default)]
    pub unescape: bool,
    /// Where the format is documented.
    #[serde(default)]
    pub references: Vec<String>,
    /// Inputs that must produce this rule (placeholders per [`sample::expand`]).
    #[serde(default)]
    pub examples: Vec<String>,
    /// Inputs that must not produce this rule.
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleSpec>,
}

/// A rule's compiled pattern.
#[derive(Debug)]
pub struct Compiled {
    /// The regex.
    pub regex: meta::Regex,
    /// Index of the `token` group.
    pub token_group: usize,
}

/// A validated rule. Its regex is compiled on first use ([`Rule::compiled`]): a scan whose
/// input never mentions a rule's keywords never pays for its regex, which keeps start-up
/// (the pre-commit hook's latency) flat however many rules there are. Custom rules are
/// compiled when loaded, so a bad pattern is still an error before any scan; the built-in
/// patterns are compiled by the test suite.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule as written.
    pub spec: RuleSpec,
    /// Where it came from (`builtin:<provider>.toml` or a path).
    pub file: String,
    /// The checksum validator, if any.
    pub checksum: Option<fn(&[u8]) -> bool>,
    /// The other validator, if any.
    pub validator: Option<validator::Validator>,
    /// Window bytes each side of a keyword hit.
    pub window: usize,
    /// The compiled pattern, shared by clones (each thread's matcher).
    compiled: Arc<OnceLock<Compiled>>,
}

impl Rule {
    /// The compiled pattern, compiling it on first use.
    ///
    /// # Panics
    ///
    /// If a built-in pattern does not compile, which the test suite rules out
    /// (`every_builtin_pattern_compiles`); custom patterns were compiled when loaded.
    pub fn compiled(&self) -> &Compiled {
        self.compiled.get_or_init(|| {
            compile_pattern(&self.spec.pattern)
                .unwrap_or_else(|e| panic!("built-in rule {} does not compile: {e}", self.spec.id))
        })
    }

    /// The rule id.
    pub fn id(&self) -> &str {
        &self.spec.id
    }
}

/// An ordered, validated set of rules with unique ids.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The built-in rules.
    ///
    /// Parsing the TOML is most of the pre-commit hook's own CPU time (about 2.5 ms of the
    /// files' 79), so the second half of the files is parsed on a second thread; the rules
    /// keep the files' order.
    pub fn builtin() -> Result<Self, RuleError> {
        let (first, second) = builtin::FILES.split_at(builtin::FILES.len() / 2);
        let parse = |files: &[(&str, &str)]| -> Result<Vec<Rule>, RuleError> {
            let mut rules = Vec::new();
            for (stem, text) in files {
                rules.extend(parse_text(
                    &format!("builtin:{stem}.toml"),
                    text,
                    Some(stem),
                )?);
            }
            Ok(rules)
        };
        let (a, b) = std::thread::scope(|s| {
            let b = s.spawn(|| parse(second));
            (
                parse(first),
                b.join().expect("parsing built-in rules does not panic"),
            )
        });
        let mut set = Self::default();
        set.extend_checked(a?.into_iter().chain(b?))?;
        Ok(set)
    }

    /// Adds the rules of a custom rule file (a regular file of at most [`MAX_RULE_FILE_BYTES`]).
    pub fn add_file(&mut self, path: &Path) -> Result<(), RuleError> {
        let file = path.display().to_string();
        let io = |source| RuleError::Io {
            file: file.clone(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if !meta.is_file() || meta.len() > MAX_RULE_FILE_BYTES {
            return Err(RuleError::Parse {
                file: file.clone(),
                reason: format!("not a regular file of at most {MAX_RULE_FILE_BYTES} bytes"),
            });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        self.add_text(&file, &text, None)
    }

    /// Adds the rules in `text` (a rule file named `file`). With `stem`, every rule's provider
    /// must equal it.
    pub fn add_text(
        &mut self,
        file: &str,
        text: &str,
        stem: Option<&str>,
    ) -> Result<(), RuleError> {
        let rules = parse_text(file, text, stem)?;
        self.extend_checked(rules)
    }

    /// Appends `rules`, refusing an id already in the set.
    fn extend_checked(&mut self, rules: impl IntoIterator<Item = Rule>) -> Result<(), RuleError> {
        let mut seen: HashSet<String> = self.rules.iter().map(|r| r.spec.id.clone()).collect();
        for rule in rules {
            if !seen.insert(rule.spec.id.clone()) {
                return Err(invalid(&rule.file, &rule.spec.id, "duplicate rule id"));
            }
            self.rules.push(rule);
        }
        Ok(())
    }

    /// Drops the rules with these ids; an unknown id is an error.
    pub fn disable(&mut self, ids: &[String]) -> Result<(), RuleError> {
        for id in ids {
            if !self.rules.iter().any(|r| &r.spec.id == id) {
                return Err(invalid("configuration", id, "no such rule to disable"));
            }
        }
        self.rules.retain(|r| !ids.contains(&r.spec.id));
        Ok(())
    }

    /// The rules, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with this id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.spec.id == id)
    }
}

/// The validated rules of one rule file's text (ids not yet checked against other files).
fn parse_text(file: &str, text: &str, stem: Option<&str>) -> Result<Vec<Rule>, RuleError> {
    // The message and position only: toml's own display quotes the offending line, and
    // a file named as a rule file by mistake (an .env) must not have its lines or values
    // printed.
    let parsed: RuleFile = toml::from_str(text).map_err(|e| RuleError::Parse {
        file: file.to_string(),
        reason: match e.span() {
            Some(sp) => {
                let line = text[..sp.start.min(text.len())].matches('\n').count() + 1;
                format!("line {line}: {}", crate::error::toml_message(&e))
            }
            None => crate::error::toml_message(&e),
        },
    })?;
    parsed
        .rule
        .into_iter()
        .map(|spec| compile(file, spec, stem))
        .collect()
}

fn invalid(file: &str, rule: &str, reason: impl Into<String>) -> RuleError {
    RuleError::Invalid {
        file: file.to_string(),
        rule: rule.to_string(),
        reason: reason.into(),
    }
}

fn is_snake(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn compile(file: &str, spec: RuleSpec, stem: Option<&str>) -> Result<Rule, RuleError> {
    let id = spec.id.clone();
    let err = |reason: String| invalid(file, &id, reason);
    let Some((prefix, kind)) = id.split_once('.') else {
        return Err(err("id must be <provider>.<kind>, e.g. acme.api_key".into()));
    };
    if !is_snake(prefix) || !is_snake(kind) {
        return Err(err("id must be snake_case <provider>.<kind>".into()));
    }
    if spec.provider != prefix {
        return Err(err(format!(
            "provider {:?} differs from the id's prefix {prefix:?}",
            spec.provider
        )));
    }
    if let Some(stem) = stem {
        if spec.provider != stem {
            return Err(err(format!("provider must equal the file stem {stem:?}")));
        }
    }
    if spec.keywords.is_empty() && spec.run.is_none() {
        return Err(err(
            "needs keywords (literals the prefilter looks for) or a run = { charset, length }"
                .into(),
        ));
    }
    if spec.keywords.iter().any(|k| k.len() < 3) {
        return Err(err("keywords must be at least 3 bytes long".into()));
    }
    let window = spec.window.unwrap_or(DEFAULT_WINDOW_BYTES);
    if window == 0 || window > MAX_WINDOW_BYTES {
        return Err(err(format!("window must be 1..={MAX_WINDOW_BYTES} bytes")));
    }
    if let Some(e) = spec.min_entropy {
        if !(0.0..=8.0).contains(&e) {
            return Err(err(
                "min_entropy must be between 0 and 8 bits per character".into(),
            ));
        }
    }
    let checksum = match &spec.checksum {
        None => None,
        Some(name) => Some(checksum::by_name(name).ok_or_else(|| {
            err(format!(
                "unknown checksum {name:?}; known: {}",
                checksum::NAMES.join(", ")
            ))
        })?),
    };
    let validator = match &spec.validator {
        None => None,
        Some(name) => Some(validator::by_name(name).ok_or_else(|| {
            err(format!(
                "unknown validator {name:?}; known: {}",
                validator::NAMES.join(", ")
            ))
        })?),
    };
    if spec.examples.is_empty() {
        return Err(err("needs at least one example".into()));
    }
    let compiled = Arc::new(OnceLock::new());
    if stem.is_none() {
        // A custom rule: compile now, so its errors come before any scan.
        let c = compile_pattern(&spec.pattern).map_err(err)?;
        compiled.set(c).expect("a fresh cell");
    } else if !spec.pattern.contains("(?P<token>") {
        return Err(err("pattern needs a (?P<token>...) group".into()));
    }
    Ok(Rule {
        file: file.to_string(),
        checksum,
        validator,
        window,
        spec,
        compiled,
    })
}

/// Compiles a rule pattern with the size limits and byte-oriented syntax every rule uses.
fn compile_pattern(pattern: &str) -> Result<Compiled, String> {
    let regex = meta::Builder::new()
        .configure(
            meta::Config::new()
                .nfa_size_limit(Some(MAX_REGEX_BYTES))
                .onepass_size_limit(Some(MAX_REGEX_BYTES))
                .dfa_size_limit(Some(MAX_REGEX_BYTES))
                .hybrid_cache_capacity(MAX_REGEX_BYTES),
        )
        .syntax(
            regex_automata::util::syntax::Config::new()
                .utf8(false)
                .unicode(false),
        )
        .build(pattern)
        .map_err(|e| format!("pattern does not compile: {e}"))?;
    let token_group = regex
        .group_info()
        .to_index(regex_automata::PatternID::ZERO, "token")
        .ok_or_else(|| "pattern needs a (?P<token>...) group".to_string())?;
    Ok(Compiled { regex, token_group })
}

/// Shannon entropy of `s`, bits per byte.
pub fn entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_load_with_unique_ids_and_providers_matching_file_stems() {
        let set = RuleSet::builtin().unwrap();
        assert!(set.rules().len() >= 20, "{}", set.rules().len());
        for r in set.rules() {
            assert!(
                r.file.ends_with(&format!("{}.toml", r.spec.provider)),
                "{}",
                r.id()
            );
        }
    }

    fn one(text: &str) -> RuleError {
        RuleSet::default()
            .add_text("x.toml", text, None)
            .unwrap_err()
    }

    #[test]
    fn bad_rules_are_explained_with_file_and_rule_id() {
        let base = |extra: &str| {
            format!(
                "[[rule]]\nid = \"acme.key\"\nname = \"n\"\nprovider = \"acme\"\nexamples = [\"x\"]\n{extra}"
            )
        };
        let e = one(&base(
            "keywords = [\"acme_\"]\npattern = '''(?P<token>acme_[a-z]+'''",
        ));
        assert!(
            e.to_string()
                .starts_with("x.toml: rule acme.key: pattern does not compile"),
            "{e}"
        );
        let e = one(&base("keywords = [\"acme_\"]\npattern = '''acme_[a-z]+'''"));
        assert!(e.to_string().contains("(?P<token>"), "{e}");
        let e = one(&base("pattern = '''(?P<token>a)'''"));
        assert!(e.to_string().contains("needs keywords"), "{e}");
        let e = one(&base(
            "keywords = [\"acme_\"]\npattern = '''(?P<token>a)'''\nchecksum = \"md5\"",
        ));
        assert!(e.to_string().contains("unknown checksum \"md5\""), "{e}");
        let e = one(&base(
            "keywords = [\"acme_\"]\npattern = '''(?P<token>a)'''\nvalidator = \"vibes\"",
        ));
        assert!(e.to_string().contains("unknown validator \"vibes\""), "{e}");
        let e = one(&base(
            "keywords = [\"acme_\"]\npattern = '''(?P<token>a)'''\nbogus = 1",
        ));
        assert!(e.to_string().contains("unknown field"), "{e}");
        let e = one("[[rule]\n");
        assert!(matches!(e, RuleError::Parse { .. }), "{e}");
        let e = one(&base(
            "keywords = [\"acme_\"]\npattern = '''(?P<token>a{10000}{10000})'''",
        ));
        assert!(e.to_string().contains("pattern does not compile"), "{e}");
    }

    #[test]
    fn duplicate_and_disabled_ids() {
        let mut set = RuleSet::builtin().unwrap();
        let text = "[[rule]]\nid = \"npm.token\"\nname = \"n\"\nprovider = \"npm\"\nkeywords = [\"npm_\"]\npattern = '''(?P<token>npm_)'''\nexamples = [\"x\"]\n";
        let e = set.add_text("y.toml", text, None).unwrap_err();
        assert!(e.to_string().contains("duplicate rule id"), "{e}");
        set.disable(&["npm.token".to_string()]).unwrap();
        assert!(set.get("npm.token").is_none());
        assert!(set.disable(&["npm.nope".to_string()]).is_err());
    }

    #[test]
    fn every_builtin_pattern_compiles() {
        for r in RuleSet::builtin().unwrap().rules() {
            assert!(compile_pattern(&r.spec.pattern).is_ok(), "{}", r.id());
        }
    }

    #[test]
    fn entropy_of_uniform_and_constant_strings() {
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
    }
}
