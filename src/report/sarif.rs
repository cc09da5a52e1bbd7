//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning, Azure DevOps' SARIF viewer and other
//! tools that read static-analysis results.
//!
//! Shape (validated against the OASIS schema in the test suite):
//! - one run; `tool.driver` is patrol with one `rules[]` entry per rule that has a result, in
//!   the order of the findings (sorted by rule id);
//! - one result per finding (a unique rule + secret): `ruleId`/`ruleIndex`, level `error`, a
//!   one-sentence `message.text` with the redacted secret, `locations[0]` the first location
//!   and `relatedLocations` the others; `partialFingerprints["patrolFingerprint/v1"]` is the
//!   patrol fingerprint, so an alert follows the secret across runs and line moves;
//! - each location is a `physicalLocation` with a relative `artifactLocation.uri` (percent-
//!   encoded, base `%SRCROOT%`; an absolute path becomes a `file://` URI) and a `region` with
//!   1-based `startLine`/`startColumn` (columns in Unicode code points: `run.columnKind`);
//!   history locations carry `commit`, `authorName`, `authorEmail`, `authorDate` in the
//!   location's `properties`, and the first location's commit is repeated in the result's;
//! - `tool.driver` has `name`, `fullName` (with the version) and `informationUri` (the
//!   package's homepage); `run.automationDetails.id` is [`AUTOMATION_ID`]: Advanced Security
//!   for Azure DevOps requires both, and Microsoft's SARIF Multitool validates the log with no
//!   error under its `Sarif`, `Gh` and `Ado` rule kinds (`scripts/consumers.sh`);
//! - secrets are redacted unless `--show-secrets`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{json, Map, Value};

use super::ReportOptions;
use crate::finding::{Finding, FindingSink, Location, ScanSummary};

/// The key under which the patrol fingerprint goes in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "patrolFingerprint/v1";

/// `run.automationDetails.id` outside Azure Pipelines: the category `patrol` with no run id
/// (the trailing `/`), so code scanning treats each upload as the latest analysis of the same
/// kind and replaces the previous one, and snapshots stay stable.
pub const AUTOMATION_ID: &str = "patrol/";

/// The prefix Advanced Security for Azure DevOps requires of `automationDetails.id` and of the
/// keys of its `properties`.
const ADO_BUILD: &str = "azuredevops/pipeline/build/";

/// `run.automationDetails`, from the CI variables `var` looks up.
///
/// In an Azure Pipelines job (`TF_BUILD=True` with the build's predefined variables set),
/// Advanced Security for Azure DevOps identifies the build that produced a log by
/// `id = azuredevops/pipeline/build/<org>/<project>/<definitionId>/<phaseId>/<branch>/<buildId>`
/// and by the definition's and phase's ids and names in `properties`; a variable that is
/// missing there leaves the default. Anywhere else: `{"id": "patrol/"}`.
pub fn automation_details(var: &dyn Fn(&str) -> Option<String>) -> Value {
    let get = |k: &str| var(k).filter(|v| !v.is_empty());
    let ado = (get("TF_BUILD").as_deref() == Some("True"))
        .then(|| {
            Some((
                get("SYSTEM_COLLECTIONURI")?,
                get("SYSTEM_TEAMPROJECT")?,
                get("SYSTEM_DEFINITIONID")?,
                get("BUILD_DEFINITIONNAME")?,
                get("SYSTEM_PHASEID")?,
                get("SYSTEM_PHASENAME")?,
                get("BUILD_SOURCEBRANCH")?,
                get("BUILD_BUILDID")?,
            ))
        })
        .flatten();
    let Some((collection, project, def_id, def_name, phase_id, phase_name, branch, build)) = ado
    else {
        return json!({ "id": AUTOMATION_ID });
    };
    // https://dev.azure.com/{org}/ or https://{org}.visualstudio.com/: the organisation name.
    let trimmed = collection.trim_end_matches('/');
    let org = trimmed
        .strip_prefix("https://dev.azure.com/")
        .map(str::to_owned)
        .or_else(|| {
            trimmed
                .strip_prefix("https://")
                .and_then(|h| h.strip_suffix(".visualstudio.com"))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| trimmed.rsplit('/').next().unwrap_or(trimmed).to_owned());
    json!({
        "id": format!("{ADO_BUILD}{org}/{project}/{def_id}/{phase_id}/{branch}/{build}"),
        "properties": {
            (format!("{ADO_BUILD}buildDefinitionId")): def_id,
            (format!("{ADO_BUILD}buildDefinitionName")): def_name,
            (format!("{ADO_BUILD}phaseId")): phase_id,
            (format!("{ADO_BUILD}phaseName")): phase_name,
        }
    })
}

/// The SARIF writer. Results are kept until `finish`, which writes the whole log.
pub struct SarifWriter<'w> {
    out: Box<dyn Write + 'w>,
    opts: ReportOptions,
    rules: Vec<Value>,
    rule_index: BTreeMap<String, usize>,
    results: Vec<Value>,
    automation: Value,
}

impl<'w> SarifWriter<'w> {
    /// A writer over `out`.
    pub fn new(out: Box<dyn Write + 'w>, opts: ReportOptions) -> Self {
        Self {
            out,
            opts,
            rules: Vec::new(),
            rule_index: BTreeMap::new(),
            results: Vec::new(),
            automation: automation_details(&|k| std::env::var(k).ok()),
        }
    }

    fn rule_index(&mut self, f: &Finding) -> usize {
        if let Some(&i) = self.rule_index.get(f.rule.as_str()) {
            return i;
        }
        let i = self.rules.len();
        self.rules.push(rule_json(f));
        self.rule_index.insert(f.rule.to_string(), i);
        i
    }
}

fn rule_json(f: &Finding) -> Value {
    json!({
        "id": f.rule,
        "name": pascal_case(&f.rule),
        "shortDescription": { "text": f.name },
        "fullDescription": {
            "text": format!("A {} was found in the scanned content. Revoke it at the provider, then remove it from the content (and history).", f.name)
        },
        "help": {
            "text": "Revoke the token at its provider first (it may already have been copied), then remove it from the files and, if needed, from git history. Accept a known finding with `patrol baseline create` or an [[allow]] entry in patrol.toml."
        },
        "defaultConfiguration": { "level": "error" },
        "properties": {
            "tags": ["security", "secret", f.provider],
            "precision": if f.checksum.as_str() == "valid" { "very-high" } else { "high" },
            "security-severity": "9.0",
            "provider": f.provider,
        }
    })
}

/// `azure_devops.pat_legacy` -> `AzureDevopsPatLegacy` (SARIF's `name` is an identifier).
fn pascal_case(id: &str) -> String {
    id.split(['.', '_'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|h| h.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// Percent-encodes a path for a URI reference: everything but unreserved characters and `/`.
fn encode_path(p: &str) -> String {
    let mut s = String::with_capacity(p.len());
    for b in p.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                s.push(b as char)
            }
            _ => s.push_str(&format!("%{b:02X}")),
        }
    }
    s
}

fn artifact_location(l: &Location) -> Value {
    artifact_location_in(l, std::env::current_dir().ok().as_deref())
}

/// As [`artifact_location`], with an absolute path under `cwd` made relative to it (code
/// scanning needs repository-relative URIs; `patrol scan $PWD` should still give them).
fn artifact_location_in(l: &Location, cwd: Option<&std::path::Path>) -> Value {
    let mut raw: Vec<u8> = l
        .path_raw
        .clone()
        .unwrap_or_else(|| l.path.as_bytes().to_vec());
    if let Some(rest) = cwd
        .and_then(|c| c.to_str())
        .filter(|c| c.len() > 1)
        .and_then(|c| raw.strip_prefix(c.as_bytes()))
        .and_then(|r| r.strip_prefix(b"/"))
    {
        raw = rest.to_vec();
    }
    // Percent-encode the exact bytes, so a non-UTF-8 path keeps its identity.
    let path: String = raw
        .iter()
        .map(|&b| {
            if b.is_ascii() {
                encode_path(&(b as char).to_string())
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if path.starts_with('/') {
        json!({ "uri": format!("file://{path}") })
    } else {
        json!({ "uri": path, "uriBaseId": "%SRCROOT%" })
    }
}

fn location_json(l: &Location, id: Option<usize>) -> Value {
    let mut v = json!({
        "physicalLocation": {
            "artifactLocation": artifact_location(l),
            "region": { "startLine": l.line, "startColumn": l.column },
        }
    });
    let mut props = Map::new();
    if let Some(c) = &l.commit {
        props.insert("commit".into(), json!(c.id));
        props.insert("authorName".into(), json!(c.author_name));
        props.insert("authorEmail".into(), json!(c.author_email));
        props.insert("authorDate".into(), json!(c.author_date));
    }
    if let Some(enc) = l.encoding {
        props.insert("encoding".into(), json!(enc));
    }
    if !props.is_empty() {
        v["properties"] = Value::Object(props);
    }
    if let Some(id) = id {
        v["id"] = json!(id);
        v["message"] = json!({ "text": "Same secret found here." });
    }
    v
}

impl FindingSink for SarifWriter<'_> {
    type Error = std::io::Error;

    fn finding(&mut self, f: &Finding) -> io::Result<()> {
        let index = self.rule_index(f);
        let secret = f.secret.display(self.opts.show_secrets);
        let total = f.locations.len() as u64 + f.locations_omitted;
        let mut text = format!("{} found: {secret}", f.name);
        if total > 1 {
            text.push_str(&format!(" ({total} locations)"));
        }
        let mut props = json!({
            "secret": secret,
            "redacted": !self.opts.show_secrets,
            "checksum": f.checksum.as_str(),
            "locationsOmitted": f.locations_omitted,
        });
        if let Some(c) = f.locations.first().and_then(|l| l.commit.as_ref()) {
            props["commit"] = json!(c.id);
        }
        let mut r = json!({
            "ruleId": f.rule,
            "ruleIndex": index,
            "level": "error",
            "message": { "text": text },
            "locations": f.locations.first().map(|l| location_json(l, None)).into_iter().collect::<Vec<_>>(),
            "partialFingerprints": { (FINGERPRINT_KEY): f.fingerprint },
            "properties": props,
        });
        if f.locations.len() > 1 {
            r["relatedLocations"] = f
                .locations
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, l)| location_json(l, Some(i)))
                .collect();
        }
        self.results.push(r);
        Ok(())
    }

    fn finish(&mut self, s: &ScanSummary) -> io::Result<()> {
        let log = json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": {
                    "name": "patrol",
                    "fullName": concat!("patrol ", env!("CARGO_PKG_VERSION")),
                    "informationUri": env!("CARGO_PKG_HOMEPAGE"),
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": std::mem::take(&mut self.rules),
                }},
                "automationDetails": std::mem::take(&mut self.automation),
                "columnKind": "unicodeCodePoints",
                "invocations": [{
                    "executionSuccessful": s.complete,
                    "properties": {
                        "suppressed": s.suppressed,
                        "filesScanned": s.blobs_scanned,
                        "interrupted": s.interrupted,
                    }
                }],
                "results": std::mem::take(&mut self.results),
            }]
        });
        serde_json::to_writer_pretty(&mut self.out, &log)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::sample;

    #[test]
    fn names_and_uris() {
        assert_eq!(
            pascal_case("azure_devops.pat_legacy"),
            "AzureDevopsPatLegacy"
        );
        let l = |p: &str| Location::in_file(p, 1, 1);
        assert_eq!(
            artifact_location(&l("a b/c:d.txt")),
            json!({"uri": "a%20b/c%3Ad.txt", "uriBaseId": "%SRCROOT%"})
        );
        let cwd = Some(std::path::Path::new("/work/repo"));
        assert_eq!(
            artifact_location_in(&l("/tmp/x"), cwd),
            json!({"uri": "file:///tmp/x"})
        );
        assert_eq!(
            artifact_location_in(&l("/work/repo/src/a.rs"), cwd),
            json!({"uri": "src/a.rs", "uriBaseId": "%SRCROOT%"})
        );
        assert_eq!(
            artifact_location_in(&l("/work/repository/a.rs"), cwd),
            json!({"uri": "file:///work/repository/a.rs"})
        );
        assert_eq!(artifact_location(&l("é"))["uri"], "%C3%A9");
    }

    #[test]
    fn history_locations_carry_the_commit_in_properties() {
        let mut f = sample::finding("npm.token", "npm_0123456789abcdefghijklmnopqrstuvwxyz");
        f.locations = vec![Location {
            line: 2,
            column: 3,
            ..sample::history_location("x/.npmrc", &"b".repeat(40), "/r")
        }];
        let mut buf = Vec::new();
        {
            let mut w = SarifWriter::new(Box::new(&mut buf), ReportOptions::default());
            w.finding(&f).unwrap();
            w.finish(&ScanSummary::default()).unwrap();
        }
        let v: Value = serde_json::from_slice(&buf).unwrap();
        let r = &v["runs"][0]["results"][0];
        assert_eq!(r["properties"]["commit"], "b".repeat(40).as_str());
        assert_eq!(
            r["locations"][0]["properties"]["commit"],
            "b".repeat(40).as_str()
        );
        assert_eq!(
            r["partialFingerprints"][FINGERPRINT_KEY],
            f.fingerprint.0.as_str()
        );
        assert!(!String::from_utf8_lossy(&buf).contains("0123456789abcdef"));
    }

    #[test]
    fn automation_details_identify_an_azure_pipelines_build_and_default_elsewhere() {
        let vars = [
            ("TF_BUILD", "True"),
            ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/fabrikam/"),
            ("SYSTEM_TEAMPROJECT", "Web"),
            ("SYSTEM_DEFINITIONID", "12"),
            ("BUILD_DEFINITIONNAME", "web ci"),
            ("SYSTEM_PHASEID", "3dc8fd7e-4368-5a92-293e-d53cefc8c4c3"),
            ("SYSTEM_PHASENAME", "Job_1"),
            ("BUILD_SOURCEBRANCH", "refs/heads/main"),
            ("BUILD_BUILDID", "345"),
        ];
        let lookup = |skip: &'static str| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k && *n != skip)
                    .map(|(_, v)| v.to_string())
            }
        };
        let v = automation_details(&lookup(""));
        assert_eq!(
            v["id"],
            "azuredevops/pipeline/build/fabrikam/Web/12/3dc8fd7e-4368-5a92-293e-d53cefc8c4c3/refs/heads/main/345"
        );
        let p = &v["properties"];
        assert_eq!(p["azuredevops/pipeline/build/buildDefinitionId"], "12");
        assert_eq!(
            p["azuredevops/pipeline/build/buildDefinitionName"],
            "web ci"
        );
        assert_eq!(p["azuredevops/pipeline/build/phaseName"], "Job_1");
        // Not a pipeline, or a pipeline variable missing: the plain category.
        assert_eq!(
            automation_details(&lookup("TF_BUILD")),
            json!({"id": "patrol/"})
        );
        assert_eq!(
            automation_details(&lookup("BUILD_BUILDID")),
            json!({"id": "patrol/"})
        );
        assert_eq!(automation_details(&|_| None), json!({"id": AUTOMATION_ID}));
        // The older organisation URL form.
        let old = |k: &str| {
            if k == "SYSTEM_COLLECTIONURI" {
                Some("https://fabrikam.visualstudio.com/".to_string())
            } else {
                lookup("")(k)
            }
        };
        assert!(automation_details(&old)["id"]
            .as_str()
            .unwrap()
            .starts_with("azuredevops/pipeline/build/fabrikam/Web/"));
    }
}
