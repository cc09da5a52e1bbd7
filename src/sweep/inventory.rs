//! The inventory: which repositories an organisation has, from its provider's listing API
//! (Azure DevOps, GitHub, GitLab) or from a file of clone URLs. Every request goes through
//! `provider::http` (one client policy, one rate budget per host, `Retry-After` honoured).
//!
//! Nothing here fetches or scans: the result is a list of [`RepoEntry`] with what the API
//! said about each (fork, archived, size) and, for those that will not be scanned, why.
//! Each entry of a page is read on its own: one that cannot be read is listed as skipped
//! with the reason (so the coverage says so), and the rest of the listing goes on.

use reqwest::Url;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::finding::Secret;
use crate::provider::http::{Auth, HostScope, HttpClient, Method, Request};
use crate::provider::ProviderError;
use crate::store::RepoEntry;

use super::SweepError;

/// Most pages read from one listing before giving up (a listing still going is an error).
const MAX_PAGES: usize = 10_000;

/// Where the repositories come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// An Azure DevOps organisation (or collection).
    Ado {
        /// The organisation.
        org: String,
        /// Only these projects (all when empty).
        projects: Vec<String>,
        /// `--api-base`: the collection URL of a server, or a loopback stand-in.
        api_base: Option<String>,
    },
    /// A GitHub organisation.
    GitHub {
        /// The organisation.
        org: String,
        /// `--api-url` (GitHub Enterprise Server or a stand-in).
        api_url: Option<String>,
    },
    /// A GitLab group (with its subgroups).
    GitLab {
        /// The group id or full path.
        group: String,
        /// `--url`, the instance (default `https://gitlab.com`).
        url: Option<String>,
    },
    /// Clone URLs or local paths, one a line.
    Urls {
        /// The file.
        file: std::path::PathBuf,
    },
}

impl Source {
    /// The sweep's target name, stable across runs (`ado:ORG`, `github:ORG`...).
    pub fn target(&self) -> String {
        match self {
            Source::Ado { org, projects, .. } if projects.is_empty() => format!("ado:{org}"),
            Source::Ado { org, projects, .. } => format!("ado:{org}/{}", projects.join(",")),
            Source::GitHub { org, .. } => format!("github:{org}"),
            Source::GitLab { group, .. } => format!("gitlab:{group}"),
            Source::Urls { file } => format!("urls:{}", file.display()),
        }
    }
}

/// The listing API's base, the origins a credential may go to, and how it authenticates.
#[derive(Debug, Clone)]
pub struct Api {
    /// Base URL without trailing `/`.
    pub base: String,
    /// Where the API token may be sent.
    pub scope: HostScope,
    /// Origins (`scheme://host:port`) of git hosts that get the credential.
    pub git_origins: Vec<String>,
    /// The API credential.
    pub auth: Auth,
}

/// The API endpoints and credential scope for `source` (none for `Urls`).
pub fn api(source: &Source, token: Option<Secret>) -> Result<Option<Api>, SweepError> {
    let auth_of = |f: fn(Secret) -> Auth| token.clone().map_or(Auth::None, f);
    let (base, scope, git) = match source {
        Source::Urls { .. } => return Ok(None),
        Source::Ado { org, api_base, .. } => match api_base {
            Some(b) => {
                let (scope, base) = HostScope::from_override("--api-base", b)?;
                let o = origin(&base);
                (base, scope, vec![o])
            }
            None => (
                format!("https://dev.azure.com/{org}"),
                HostScope::documented(&["dev.azure.com"]),
                vec!["https://dev.azure.com".to_string()],
            ),
        },
        Source::GitHub { api_url, .. } => match api_url {
            Some(b) => {
                let (scope, base) = HostScope::from_override("--api-url", b)?;
                let o = origin(&base);
                (base, scope, vec![o])
            }
            None => (
                "https://api.github.com".to_string(),
                HostScope::documented(&["api.github.com"]),
                vec!["https://github.com".to_string()],
            ),
        },
        Source::GitLab { url, .. } => {
            let b = url.as_deref().unwrap_or("https://gitlab.com");
            let (scope, base) = HostScope::from_override("--url", b)?;
            let o = origin(&base);
            (base, scope, vec![o])
        }
    };
    let auth = match source {
        Source::Ado { .. } => auth_of(Auth::Basic),
        Source::GitHub { .. } => auth_of(Auth::Bearer),
        Source::GitLab { .. } => token
            .clone()
            .map_or(Auth::None, |t| Auth::Header("private-token", t)),
        Source::Urls { .. } => Auth::None,
    };
    Ok(Some(Api {
        base,
        scope,
        git_origins: git,
        auth,
    }))
}

/// `scheme://host[:port]` of a URL, or "" when it does not parse.
pub fn origin(url: &str) -> String {
    Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// Lists the repositories of `source`.
pub fn list(
    http: &HttpClient,
    source: &Source,
    api: Option<&Api>,
) -> Result<Vec<RepoEntry>, SweepError> {
    match (source, api) {
        (Source::Urls { file }, _) => urls_file(file),
        (Source::Ado { org, projects, .. }, Some(api)) => ado(http, api, org, projects),
        (Source::GitHub { org, .. }, Some(api)) => github(http, api, org),
        (Source::GitLab { group, .. }, Some(api)) => gitlab(http, api, group),
        _ => Err(SweepError::Listing("no listing API".into())),
    }
}

/// One entry of a listing page: read, or the entry as given with why it could not be read.
type Entry<T> = Result<T, (Value, String)>;

/// The entries of a listing page (a JSON array), each read on its own.
fn entries<T: DeserializeOwned>(page: Value, what: &str) -> Result<Vec<Entry<T>>, SweepError> {
    let Value::Array(items) = page else {
        return Err(SweepError::Listing(format!("{what}: not a list")));
    };
    Ok(items
        .into_iter()
        .map(|v| T::deserialize(&v).map_err(|e| (v, e.to_string())))
        .collect())
}

/// A listing entry that could not be read, as a skipped repository: its key from `name` (the
/// fields that make its usual key, when they are strings), else its place in the listing.
fn unreadable(prefix: &str, name: Option<String>, place: &str, reason: &str) -> RepoEntry {
    RepoEntry {
        key: match name {
            Some(n) => format!("{prefix}:{n}"),
            None => format!("{prefix}:(unreadable entry {place})"),
        },
        clone_url: String::new(),
        size: None,
        is_fork: false,
        parent: None,
        archived: false,
        skip: Some(format!("unreadable listing entry: {reason}")),
    }
}

/// Why an entry could not be read, naming the first required field that is not a string
/// (serde's own message does not say which field had the wrong type).
fn entry_reason(v: &Value, required: &[&str], err: &str) -> String {
    match required.iter().find(|f| !v[**f].is_string()) {
        Some(f) if !err.contains(&format!("`{f}`")) => format!("`{f}`: {err}"),
        _ => err.to_string(),
    }
}

/// `v[field]` when it is a string.
fn str_field(v: &Value, field: &str) -> Option<String> {
    v[field].as_str().map(str::to_string)
}

fn get(
    http: &HttpClient,
    api: &Api,
    url: Url,
) -> Result<(serde_json::Value, crate::provider::http::Response), SweepError> {
    let req = Request {
        method: Method::Get,
        url: url.clone(),
        auth: api.auth.clone(),
        body: None,
    };
    let what = crate::provider::http::describe(&req);
    let resp = http.send(&api.scope, &req)?;
    if !(200..300).contains(&resp.status) {
        return Err(SweepError::Provider(ProviderError::Status {
            what,
            status: resp.status,
            explain: match resp.status {
                401 => "the token was refused (missing, expired or revoked)".into(),
                403 => "the token lacks the permission to list repositories".into(),
                404 => "no such organisation, project or group".into(),
                _ => "unexpected status".into(),
            },
        }));
    }
    let v: serde_json::Value = serde_json::from_slice(&resp.body)
        .map_err(|e| SweepError::Listing(format!("{what}: the listing page is not JSON ({e})")))?;
    Ok((v, resp))
}

fn build(base: &str, path: &[&str], query: &[(&str, &str)]) -> Result<Url, SweepError> {
    let mut u = Url::parse(base).map_err(|e| SweepError::Listing(format!("{base}: {e}")))?;
    u.path_segments_mut()
        .map_err(|_| SweepError::Listing(format!("{base}: not a base URL")))?
        .pop_if_empty()
        .extend(path);
    if !query.is_empty() {
        u.query_pairs_mut().extend_pairs(query);
    }
    Ok(u)
}

/// A clone URL without any user info (Azure DevOps puts `org@` in `remoteUrl`).
pub fn clean_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.scheme() == "https" || u.scheme() == "http" => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, Deserialize)]
struct AdoProject {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdoRepo {
    name: String,
    #[serde(default)]
    project: Option<AdoProject>,
    #[serde(default)]
    remote_url: Option<String>,
    #[serde(default)]
    default_branch: Option<String>,
    #[serde(default)]
    is_disabled: bool,
    #[serde(default)]
    is_fork: bool,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    parent_repository: Option<AdoParent>,
}

#[derive(Debug, Deserialize)]
struct AdoParent {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    project: Option<AdoProject>,
}

fn ado(
    http: &HttpClient,
    api: &Api,
    org: &str,
    only: &[String],
) -> Result<Vec<RepoEntry>, SweepError> {
    // Projects - List: the next page's token comes back in `x-ms-continuationtoken`.
    let mut projects = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut q = vec![("api-version", "7.1"), ("$top", "100")];
        if let Some(t) = &token {
            q.push(("continuationToken", t));
        }
        let (v, resp) = get(http, api, build(&api.base, &["_apis", "projects"], &q)?)?;
        let page: Vec<AdoProject> = serde_json::from_value(v["value"].clone())
            .map_err(|e| SweepError::Listing(format!("Projects - List: {e}")))?;
        projects.extend(page.into_iter().map(|p| p.name));
        token = resp
            .header("x-ms-continuationtoken")
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    if token.is_some() {
        return Err(SweepError::Listing(
            "Projects - List: still going at the page limit".into(),
        ));
    }
    let wanted: Vec<String> = if only.is_empty() {
        projects.clone()
    } else {
        for p in only {
            if !projects.iter().any(|x| x.eq_ignore_ascii_case(p)) {
                return Err(SweepError::Listing(format!(
                    "--project {p}: no such project in {org}"
                )));
            }
        }
        only.to_vec()
    };
    let per_project = |p: &str| -> Result<Vec<Entry<AdoRepo>>, SweepError> {
        let (v, _) = get(
            http,
            api,
            build(
                &api.base,
                &[p, "_apis", "git", "repositories"],
                &[("api-version", "7.1")],
            )?,
        )?;
        entries(v["value"].clone(), &format!("Repositories - List ({p})"))
    };
    // Repositories - List at the organisation level in one call; per project as the fallback
    // (and when only some projects are wanted).
    let repos: Vec<Entry<AdoRepo>> = if only.is_empty() {
        match get(
            http,
            api,
            build(
                &api.base,
                &["_apis", "git", "repositories"],
                &[("api-version", "7.1")],
            )?,
        ) {
            Ok((v, _)) => entries(v["value"].clone(), "Repositories - List")?,
            Err(_) => {
                let mut all = Vec::new();
                for p in &wanted {
                    all.extend(per_project(p)?);
                }
                all
            }
        }
    } else {
        let mut all = Vec::new();
        for p in &wanted {
            all.extend(per_project(p)?);
        }
        all
    };
    let mut out = Vec::new();
    for (i, r) in repos.into_iter().enumerate() {
        let r = match r {
            Ok(r) => r,
            Err((v, e)) => {
                let project = v["project"]["name"].as_str().unwrap_or("").to_string();
                if !project.is_empty() && !wanted.iter().any(|w| w.eq_ignore_ascii_case(&project)) {
                    continue;
                }
                let name = str_field(&v, "name").map(|n| format!("{org}/{project}/{n}"));
                let reason = entry_reason(&v, &["name"], &e);
                out.push(unreadable("ado", name, &format!("{}", i + 1), &reason));
                continue;
            }
        };
        let project = r
            .project
            .as_ref()
            .map_or("", |p| p.name.as_str())
            .to_string();
        if !wanted.iter().any(|w| w.eq_ignore_ascii_case(&project)) {
            continue;
        }
        let skip = if r.is_disabled {
            Some("disabled in Azure DevOps (isDisabled)".to_string())
        } else if r.default_branch.is_none() {
            Some("empty: no default branch".to_string())
        } else {
            None
        };
        out.push(RepoEntry {
            key: format!("ado:{org}/{project}/{}", r.name),
            clone_url: clean_url(r.remote_url.as_deref().unwrap_or("")),
            size: r.size,
            is_fork: r.is_fork,
            parent: r.parent_repository.and_then(|p| {
                let name = p.name?;
                Some(format!(
                    "ado:{org}/{}/{name}",
                    p.project.map_or(String::new(), |x| x.name),
                ))
            }),
            archived: false,
            skip,
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

#[derive(Debug, Deserialize)]
struct GhRepo {
    full_name: String,
    clone_url: String,
    #[serde(default)]
    fork: bool,
    #[serde(default)]
    archived: bool,
    #[serde(default)]
    disabled: bool,
    /// Kilobytes.
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    parent: Option<GhParent>,
}

#[derive(Debug, Deserialize)]
struct GhParent {
    #[serde(default)]
    full_name: Option<String>,
}

/// The `rel="next"` target of a `Link` header.
fn next_link(link: Option<&str>) -> Option<String> {
    link?.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

fn github(http: &HttpClient, api: &Api, org: &str) -> Result<Vec<RepoEntry>, SweepError> {
    let mut url = build(
        &api.base,
        &["orgs", org, "repos"],
        &[("per_page", "100"), ("type", "all")],
    )?;
    let mut out = Vec::new();
    for page in 0.. {
        if page >= MAX_PAGES {
            return Err(SweepError::Listing(
                "GitHub repos: still going at the page limit".into(),
            ));
        }
        let (v, resp) = get(http, api, url.clone())?;
        let repos: Vec<Entry<GhRepo>> = entries(v, &format!("GitHub repos page {}", page + 1))?;
        for (i, r) in repos.into_iter().enumerate() {
            let r = match r {
                Ok(r) => r,
                Err((v, e)) => {
                    let reason = entry_reason(&v, &["full_name", "clone_url"], &e);
                    let place = format!("{} of page {}", i + 1, page + 1);
                    out.push(unreadable(
                        "github",
                        str_field(&v, "full_name"),
                        &place,
                        &reason,
                    ));
                    continue;
                }
            };
            out.push(RepoEntry {
                key: format!("github:{}", r.full_name),
                clone_url: clean_url(&r.clone_url),
                size: r.size.map(|k| k * 1024),
                is_fork: r.fork,
                parent: r
                    .parent
                    .and_then(|p| p.full_name)
                    .map(|n| format!("github:{n}")),
                archived: r.archived,
                skip: r.disabled.then(|| "disabled on GitHub".to_string()),
            });
        }
        match next_link(resp.header("link")) {
            Some(n) => {
                url =
                    Url::parse(&n).map_err(|e| SweepError::Listing(format!("Link header: {e}")))?
            }
            None => break,
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

#[derive(Debug, Deserialize)]
struct GlProject {
    path_with_namespace: String,
    http_url_to_repo: String,
    #[serde(default)]
    archived: bool,
    #[serde(default)]
    empty_repo: bool,
    #[serde(default)]
    forked_from_project: Option<GlParent>,
    #[serde(default)]
    statistics: Option<GlStats>,
}

/// A fork's parent: only its path is wanted, and a fork whose parent is described with less
/// is still a fork.
#[derive(Debug, Deserialize)]
struct GlParent {
    #[serde(default)]
    path_with_namespace: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GlStats {
    #[serde(default)]
    repository_size: Option<u64>,
}

fn gitlab(http: &HttpClient, api: &Api, group: &str) -> Result<Vec<RepoEntry>, SweepError> {
    let mut out = Vec::new();
    let mut page = "1".to_string();
    for n in 0.. {
        if n >= MAX_PAGES {
            return Err(SweepError::Listing(
                "GitLab projects: still going at the page limit".into(),
            ));
        }
        let url = build(
            &api.base,
            &["api", "v4", "groups", group, "projects"],
            &[
                ("include_subgroups", "true"),
                ("per_page", "100"),
                ("page", &page),
                ("statistics", "true"),
            ],
        )?;
        let (v, resp) = get(http, api, url)?;
        let projects: Vec<Entry<GlProject>> = entries(v, &format!("GitLab projects page {page}"))?;
        for (i, p) in projects.into_iter().enumerate() {
            let p = match p {
                Ok(p) => p,
                Err((v, e)) => {
                    let reason = entry_reason(&v, &["path_with_namespace", "http_url_to_repo"], &e);
                    let place = format!("{} of page {page}", i + 1);
                    let name = str_field(&v, "path_with_namespace");
                    out.push(unreadable("gitlab", name, &place, &reason));
                    continue;
                }
            };
            out.push(RepoEntry {
                key: format!("gitlab:{}", p.path_with_namespace),
                clone_url: clean_url(&p.http_url_to_repo),
                size: p.statistics.and_then(|s| s.repository_size),
                is_fork: p.forked_from_project.is_some(),
                parent: p
                    .forked_from_project
                    .and_then(|f| f.path_with_namespace)
                    .map(|n| format!("gitlab:{n}")),
                archived: p.archived,
                skip: p.empty_repo.then(|| "empty repository".to_string()),
            });
        }
        match resp.header("x-next-page").filter(|s| !s.trim().is_empty()) {
            Some(next) => page = next.trim().to_string(),
            None => break,
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// One clone URL or local path a line; `#` starts a comment; blank lines are ignored.
fn urls_file(file: &std::path::Path) -> Result<Vec<RepoEntry>, SweepError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| SweepError::Listing(format!("{}: {e}", file.display())))?;
    let mut out: Vec<RepoEntry> = Vec::new();
    for line in text.lines() {
        let l = line.split('#').next().unwrap_or("").trim();
        if l.is_empty() || out.iter().any(|r| r.clone_url == l) {
            continue;
        }
        let url = if l.contains("://") {
            clean_url(l)
        } else {
            std::fs::canonicalize(l)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| l.to_string())
        };
        out.push(RepoEntry {
            key: url.clone(),
            clone_url: url,
            size: None,
            is_fork: false,
            parent: None,
            archived: false,
            skip: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_next_is_found_among_others() {
        let h = r#"<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel="next""#;
        assert_eq!(
            next_link(Some(h)).as_deref(),
            Some("https://api.github.com/x?page=3")
        );
        assert_eq!(next_link(Some(r#"<https://a/x>; rel="last""#)), None);
        assert_eq!(next_link(None), None);
    }

    #[test]
    fn user_info_is_dropped_from_clone_urls() {
        assert_eq!(
            clean_url("https://fabrikam@dev.azure.com/fabrikam/p/_git/r"),
            "https://dev.azure.com/fabrikam/p/_git/r"
        );
    }

    #[test]
    fn an_entry_that_cannot_be_read_is_named_with_its_reason_and_the_rest_is_read() {
        let page = serde_json::json!([
            {"path_with_namespace": "g/ok", "http_url_to_repo": "https://x/g/ok.git"},
            {"path_with_namespace": "g/fork", "http_url_to_repo": "https://x/g/fork.git",
             "forked_from_project": {"id": 7}},
            {"path_with_namespace": "g/bad", "http_url_to_repo": null},
            17
        ]);
        let got: Vec<Entry<GlProject>> = entries(page, "page 1").unwrap();
        assert!(got[0].is_ok());
        let fork = got[1].as_ref().expect("a fork with a thin parent is read");
        assert!(fork.forked_from_project.is_some());
        let (v, e) = got[2].as_ref().unwrap_err();
        let reason = entry_reason(v, &["path_with_namespace", "http_url_to_repo"], e);
        assert!(reason.starts_with("`http_url_to_repo`: "), "{reason}");
        let r = unreadable(
            "gitlab",
            str_field(v, "path_with_namespace"),
            "3 of page 1",
            &reason,
        );
        assert_eq!(r.key, "gitlab:g/bad");
        assert!(r.skip.unwrap().starts_with("unreadable listing entry: "));
        let (v, _) = got[3].as_ref().unwrap_err();
        assert_eq!(
            unreadable(
                "gitlab",
                str_field(v, "path_with_namespace"),
                "4 of page 1",
                "x"
            )
            .key,
            "gitlab:(unreadable entry 4 of page 1)"
        );
        assert!(entries::<GlProject>(serde_json::json!({"a": 1}), "page 2").is_err());
    }
}
