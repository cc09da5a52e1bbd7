//! A loopback organisation for `patrol sweep`: bare repositories served over smart HTTP by
//! `git http-backend` (CGI) behind a tiny_http server that requires Basic auth, and stand-ins
//! for the three listing APIs with paging (Azure DevOps `x-ms-continuationtoken`, GitHub
//! `Link`, GitLab `x-next-page`), one item per page so paging is always exercised.
//!
//! Every request is recorded: path, whether it carried the right credential, and whether the
//! answer held a pack (`PACK` in the body), so a test can say "no pack was fetched".
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

/// One repository of the organisation.
#[derive(Debug, Clone)]
pub struct Repo {
    pub name: String,
    pub project: String,
    pub fork_of: Option<String>,
    pub disabled: bool,
    pub empty: bool,
    pub archived: bool,
    /// Listed, but no repository behind its URL (404 on clone).
    pub missing: bool,
    /// Its clone URL points at this other origin (which gets no credential).
    pub other_host: Option<String>,
    /// Its clone URL, whole, as the listing gives it (`file://...`, a local path...).
    pub clone_url: Option<String>,
    /// Fields set on its listing entry as given (GitHub, GitLab): `null` makes a required
    /// field unreadable, an object replaces a nested one.
    pub listing_patch: Option<Value>,
}

impl Repo {
    pub fn new(project: &str, name: &str) -> Self {
        Self {
            name: name.into(),
            project: project.into(),
            fork_of: None,
            disabled: false,
            empty: false,
            archived: false,
            missing: false,
            other_host: None,
            clone_url: None,
            listing_patch: None,
        }
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    pub url: String,
    pub authorized: bool,
    pub pack: bool,
    /// The `Authorization` header as received, whoever's credential it holds.
    pub authorization: Option<String>,
}

impl Hit {
    /// Whether this request carried `token` as a Basic password or a Bearer token.
    pub fn carries(&self, token: &str) -> bool {
        let Some(v) = &self.authorization else {
            return false;
        };
        if v.strip_prefix("Bearer ") == Some(token) {
            return true;
        }
        v.strip_prefix("Basic ")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .is_some_and(|raw| String::from_utf8_lossy(&raw).ends_with(&format!(":{token}")))
    }
}

struct State {
    repos: Vec<Repo>,
    log: Vec<Hit>,
    token: String,
    delay: Duration,
    /// Git endpoints answer without a credential.
    public: bool,
}

/// The running organisation.
pub struct Org {
    pub base: String,
    pub root: tempfile::TempDir,
    work: tempfile::TempDir,
    state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
}

impl Drop for Org {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
        .stderr(Stdio::inherit())
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Org {
    /// Starts the server; `token` is the only credential it accepts (as the Basic password).
    pub fn start(token: &str) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
        let port = server.server_addr().to_ip().unwrap().port();
        let base = format!("http://127.0.0.1:{port}");
        let root = tempfile::tempdir().unwrap();
        let state = Arc::new(Mutex::new(State {
            repos: Vec::new(),
            log: Vec::new(),
            token: token.into(),
            delay: Duration::ZERO,
            public: false,
        }));
        {
            let server = server.clone();
            let state = state.clone();
            let root = root.path().to_path_buf();
            let base = base.clone();
            std::thread::spawn(move || {
                for rq in server.incoming_requests() {
                    let state = state.clone();
                    let root = root.clone();
                    let base = base.clone();
                    std::thread::spawn(move || handle(rq, &state, &root, &base));
                }
            });
        }
        Self {
            base,
            root,
            work: tempfile::tempdir().unwrap(),
            state,
            server,
        }
    }

    /// Adds a repository to the listing; unless empty or missing it gets one commit with
    /// `files`. A fork starts as a bare clone of its parent, then gets `files` on top.
    pub fn add(&self, r: Repo, files: &[(&str, &str)]) {
        let bare = self.bare(&r.name);
        if !r.missing {
            match &r.fork_of {
                Some(p) => {
                    git(
                        self.root.path(),
                        &[
                            "clone",
                            "--bare",
                            "-q",
                            self.bare(p).to_str().unwrap(),
                            bare.to_str().unwrap(),
                        ],
                    );
                }
                None => {
                    git(
                        self.root.path(),
                        &["init", "--bare", "-q", "-b", "main", bare.to_str().unwrap()],
                    );
                }
            }
            if !r.empty && !files.is_empty() {
                self.push(&r.name, files, "add files");
            }
        }
        self.state.lock().unwrap().repos.push(r);
    }

    pub fn bare(&self, name: &str) -> PathBuf {
        self.root.path().join(format!("{name}.git"))
    }

    /// Commits `files` on top of `main` of repository `name`.
    pub fn push(&self, name: &str, files: &[(&str, &str)], msg: &str) {
        let wt = self.work.path().join(format!("{name}-{}", rand_suffix()));
        git(
            self.work.path(),
            &[
                "clone",
                "-q",
                self.bare(name).to_str().unwrap(),
                wt.to_str().unwrap(),
            ],
        );
        git(&wt, &["checkout", "-q", "-B", "main"]);
        for (p, c) in files {
            let f = wt.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, c).unwrap();
        }
        git(&wt, &["add", "-A"]);
        git(&wt, &["commit", "-q", "-m", msg]);
        git(&wt, &["push", "-q", "origin", "main"]);
    }

    /// Distinct blob ids over the given repositories.
    pub fn distinct_blobs(&self, names: &[&str]) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for n in names {
            let text = git(
                &self.bare(n),
                &[
                    "cat-file",
                    "--batch-all-objects",
                    "--batch-check=%(objecttype) %(objectname)",
                ],
            );
            for l in text.lines() {
                if let Some(id) = l.strip_prefix("blob ") {
                    out.insert(id.to_string());
                }
            }
        }
        out
    }

    pub fn log(&self) -> Vec<Hit> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }

    /// Slows every git request down (to kill a sweep in the middle).
    pub fn set_delay(&self, d: Duration) {
        self.state.lock().unwrap().delay = d;
    }

    /// Serves git without asking for a credential (a public host).
    pub fn set_public(&self, public: bool) {
        self.state.lock().unwrap().public = public;
    }

    /// Changes where the listing says repository `name` is cloned from.
    pub fn set_other_host(&self, name: &str, host: Option<String>) {
        let mut s = self.state.lock().unwrap();
        for r in s.repos.iter_mut().filter(|r| r.name == name) {
            r.other_host = host.clone();
        }
    }

    /// Requests for repository `name`'s git endpoints.
    pub fn git_hits(&self, name: &str) -> Vec<Hit> {
        let needle = format!("/git/{name}.git/");
        self.log()
            .into_iter()
            .filter(|h| h.url.contains(&needle))
            .collect()
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn header(rq: &tiny_http::Request, name: &str) -> Option<String> {
    rq.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().to_string())
}

fn authorized(rq: &tiny_http::Request, token: &str) -> bool {
    if let Some(v) = header(rq, "private-token") {
        return v == token;
    }
    let Some(v) = header(rq, "authorization") else {
        return false;
    };
    if let Some(b) = v.strip_prefix("Bearer ") {
        return b == token;
    }
    let Some(b) = v.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b) else {
        return false;
    };
    let s = String::from_utf8_lossy(&raw);
    s.split_once(':').is_some_and(|(_, p)| p == token)
}

fn respond(rq: tiny_http::Request, status: u16, headers: &[(&str, String)], body: Vec<u8>) {
    let mut r = tiny_http::Response::from_data(body).with_status_code(status);
    for (k, v) in headers {
        r.add_header(tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap());
    }
    let _ = rq.respond(r);
}

fn handle(mut rq: tiny_http::Request, state: &Mutex<State>, root: &Path, base: &str) {
    let url = rq.url().to_string();
    let method = rq.method().as_str().to_string();
    let (token, delay, public) = {
        let s = state.lock().unwrap();
        (s.token.clone(), s.delay, s.public)
    };
    let ok = authorized(&rq, &token);
    let authorization = header(&rq, "authorization");
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let path = path.to_string();
    let query = query.to_string();
    let log = |pack: bool| {
        state.lock().unwrap().log.push(Hit {
            method: method.clone(),
            url: url.clone(),
            authorized: ok,
            pack,
            authorization: authorization.clone(),
        })
    };
    if let Some(rest) = path.strip_prefix("/git/") {
        if !ok && !public {
            log(false);
            return respond(
                rq,
                401,
                &[("WWW-Authenticate", "Basic realm=\"org\"".into())],
                b"no".to_vec(),
            );
        }
        std::thread::sleep(delay);
        let mut body = Vec::new();
        let _ = rq.as_reader().read_to_end(&mut body);
        let (status, headers, out) = cgi(&rq, root, rest, &query, &method, &body);
        log(memchr_pack(&out));
        let hs: Vec<(&str, String)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        return respond(rq, status, &hs, out);
    }
    log(false);
    // GitHub `GET /user` (verification): every token the sweep finds here is a dead fake.
    if path == "/user" {
        return respond(rq, 401, &[], b"{\"message\":\"Bad credentials\"}".to_vec());
    }
    if !ok {
        return respond(rq, 401, &[], b"{\"message\":\"bad credentials\"}".to_vec());
    }
    if path == "/orgs/broken/repos" {
        return respond(rq, 200, &[], b"<html>maintenance</html>".to_vec());
    }
    let repos = state.lock().unwrap().repos.clone();
    let q: std::collections::HashMap<String, String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%24", "$")))
        .collect();
    let clone_url = |r: &Repo| match (&r.clone_url, &r.other_host) {
        (Some(u), _) => u.clone(),
        (None, Some(h)) => format!("{h}/git/{}.git", r.name),
        (None, None) => format!("{base}/git/{}.git", r.name).replace("http://", "http://org@"),
    };
    let patched = |mut o: Value, r: &Repo| {
        if let Some(Value::Object(p)) = &r.listing_patch {
            for (k, v) in p {
                o[k] = v.clone();
            }
        }
        o
    };
    let json_ok = |rq: tiny_http::Request, v: Value, extra: Vec<(&str, String)>| {
        let mut h = vec![("Content-Type", "application/json".to_string())];
        h.extend(extra);
        respond(rq, 200, &h, v.to_string().into_bytes())
    };
    // Azure DevOps: /{org}/_apis/projects (one project a page) and /{org}/_apis/git/repositories.
    if path.ends_with("/_apis/projects") {
        assert_eq!(q.get("api-version").map(String::as_str), Some("7.1"));
        let mut projects: Vec<String> = repos.iter().map(|r| r.project.clone()).collect();
        projects.sort();
        projects.dedup();
        let i: usize = q
            .get("continuationToken")
            .map_or(0, |t| t.trim_start_matches("tok").parse().unwrap());
        let mut extra = Vec::new();
        if i + 1 < projects.len() {
            extra.push(("x-ms-continuationtoken", format!("tok{}", i + 1)));
        }
        let page: Vec<Value> = projects
            .get(i)
            .map(|p| json!({"id": p, "name": p, "state": "wellFormed"}))
            .into_iter()
            .collect();
        return json_ok(rq, json!({"count": page.len(), "value": page}), extra);
    }
    if path.ends_with("/_apis/git/repositories") {
        let v: Vec<Value> = repos
            .iter()
            .map(|r| {
                let mut o = json!({
                    "id": r.name, "name": r.name,
                    "project": {"id": r.project, "name": r.project, "state": "wellFormed"},
                    "remoteUrl": clone_url(r), "size": 1000, "isDisabled": r.disabled,
                    "isFork": r.fork_of.is_some(),
                });
                if !r.empty {
                    o["defaultBranch"] = json!("refs/heads/main");
                }
                if let Some(p) = &r.fork_of {
                    o["parentRepository"] = json!({"name": p, "project": {"name": r.project}});
                }
                o
            })
            .collect();
        return json_ok(rq, json!({"count": v.len(), "value": v}), vec![]);
    }
    // GitHub: /orgs/{org}/repos, one a page, Link rel="next".
    if path.starts_with("/orgs/") && path.ends_with("/repos") {
        assert_eq!(q.get("per_page").map(String::as_str), Some("100"));
        let page: usize = q.get("page").map_or(1, |p| p.parse().unwrap());
        let mut extra = Vec::new();
        if page < repos.len() {
            extra.push(("Link", format!("<{base}{path}?per_page=100&page={}>; rel=\"next\", <{base}{path}?per_page=100&page={}>; rel=\"last\"", page + 1, repos.len())));
        }
        let v: Vec<Value> = repos.iter().skip(page - 1).take(1).map(|r| patched(json!({
            "name": r.name, "full_name": format!("acme/{}", r.name), "clone_url": clone_url(r),
            "fork": r.fork_of.is_some(), "archived": r.archived, "disabled": r.disabled, "size": 1,
        }), r)).collect();
        return json_ok(rq, json!(v), extra);
    }
    // GitLab: /api/v4/groups/{id}/projects?include_subgroups=true, one a page, x-next-page.
    if path.starts_with("/api/v4/groups/") && path.ends_with("/projects") {
        assert_eq!(q.get("include_subgroups").map(String::as_str), Some("true"));
        let page: usize = q.get("page").map_or(1, |p| p.parse().unwrap());
        let mut extra = Vec::new();
        if page < repos.len() {
            extra.push(("x-next-page", (page + 1).to_string()));
        }
        let v: Vec<Value> = repos
            .iter()
            .skip(page - 1)
            .take(1)
            .map(|r| {
                let mut o = json!({
                    "path_with_namespace": format!("grp/{}/{}", r.project, r.name),
                    "http_url_to_repo": clone_url(r), "archived": r.archived, "empty_repo": r.empty,
                });
                if let Some(p) = &r.fork_of {
                    o["forked_from_project"] =
                        json!({"path_with_namespace": format!("grp/{}/{p}", r.project)});
                }
                patched(o, r)
            })
            .collect();
        return json_ok(rq, json!(v), extra);
    }
    respond(rq, 404, &[], b"{}".to_vec())
}

fn memchr_pack(b: &[u8]) -> bool {
    b.windows(4).any(|w| w == b"PACK")
}

/// Runs `git http-backend` for one request (RFC 3875 CGI).
fn cgi(
    rq: &tiny_http::Request,
    root: &Path,
    rest: &str,
    query: &str,
    method: &str,
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut c = Command::new("git");
    c.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("PATH_INFO", format!("/{rest}"))
        .env("REQUEST_METHOD", method)
        .env("QUERY_STRING", query)
        .env("REMOTE_USER", "tester")
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(t) = header(rq, "content-type") {
        c.env("CONTENT_TYPE", t);
    }
    if let Some(p) = header(rq, "git-protocol") {
        c.env("GIT_PROTOCOL", p);
    }
    if let Some(e) = header(rq, "content-encoding") {
        c.env("HTTP_CONTENT_ENCODING", e);
    }
    let mut child = c.spawn().expect("git http-backend");
    let mut stdin = child.stdin.take().unwrap();
    let body = body.to_vec();
    let w = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let out = child.wait_with_output().unwrap();
    let _ = w.join();
    let raw = out.stdout;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((i, n)) = split else {
        return (500, vec![], raw);
    };
    let head = String::from_utf8_lossy(&raw[..i]).into_owned();
    let mut status = 200;
    let mut headers = Vec::new();
    for l in head.lines() {
        if let Some((k, v)) = l.split_once(':') {
            let v = v.trim().to_string();
            if k.eq_ignore_ascii_case("status") {
                status = v.split(' ').next().unwrap_or("200").parse().unwrap_or(200);
            } else {
                headers.push((k.to_string(), v));
            }
        }
    }
    (status, headers, raw[i + n..].to_vec())
}
