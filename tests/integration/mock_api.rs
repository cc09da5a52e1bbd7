//! A loopback HTTP server speaking the documented Azure DevOps (tokenadmin, identities, graph,
//! profile, connectionData), GitHub (`/gh/user`, `/gh/credentials/revoke`) and GitLab
//! (`/gl/api/v4/personal_access_tokens/self`) endpoints, recording every request patrol sends.
//!
//! It checks what the specs require (method, path, api-version, admin auth header, JSON body)
//! and answers 400/401 when patrol gets it wrong, so a test fails on a malformed request.
//! Faults (a status for the next N calls of a path, a slow path) are injected per test.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

pub const TOKENADMIN_V: &str = "7.2-preview.1";
pub const IDENTITIES_V: &str = "7.2-preview.1";
pub const GRAPH_V: &str = "7.2-preview.1";
pub const PROFILE_V: &str = "7.2-preview.3";

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// One injected fault: answer `status` (with `Retry-After` if set) for the next `times`
/// requests whose path ends with `path_suffix` and method is `method`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: &'static str,
    pub path_suffix: String,
    pub status: u16,
    pub retry_after: Option<u64>,
    pub times: usize,
    pub delay: Option<Duration>,
    pub body: String,
    pub location: Option<String>,
}

/// A user of the fake organisation.
#[derive(Debug, Clone)]
pub struct User {
    pub upn: String,
    pub descriptor: String,
    pub display: String,
}

#[derive(Default)]
pub struct State {
    pub admin_header: String,
    pub users: Vec<User>,
    /// descriptor -> PATs (SessionToken JSON).
    pub pats: HashMap<String, Vec<Value>>,
    /// PAT page size the server uses (ignores pageSize so paging always shows).
    pub page: usize,
    /// graph users page size.
    pub users_page: usize,
    /// Basic token value -> owner upn, for profile / connectionData.
    pub live_ado: HashMap<String, String>,
    pub live_github: HashMap<String, String>,
    pub live_gitlab: HashMap<String, u64>,
    pub faults: Vec<Fault>,
    pub log: Vec<Recorded>,
    pub rules: Vec<Value>,
    pub github_revoked: Vec<String>,
    /// Identity search answers every user whatever the filter (a fuzzy directory search).
    pub fuzzy_identities: bool,
}

pub struct MockApi {
    pub base: String,
    pub state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for MockApi {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

pub fn basic(token: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(":{token}"))
    )
}

pub fn pat(id: &str, name: &str, from: &str, to: &str) -> Value {
    json!({
        "clientId": "00000000-0000-0000-0000-000000000000",
        "accessId": "00000000-0000-0000-0000-000000000000",
        "authorizationId": id,
        "hostAuthorizationId": "00000000-0000-0000-0000-000000000000",
        "userId": "bb5bb6c8-ef0a-400f-8987-92b3674d2043",
        "validFrom": from,
        "validTo": to,
        "displayName": name,
        "scope": "vso.code",
        "targetAccounts": null,
        "token": null,
        "alternateToken": null,
        "isValid": true,
        "isPublic": false,
        "publicData": null,
        "source": null,
        "crossCompanyCorrelatingId": null
    })
}

impl MockApi {
    pub fn start(admin_pat: &str) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind loopback"));
        let port = server.server_addr().to_ip().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            admin_header: basic(admin_pat),
            page: 2,
            users_page: 2,
            ..Default::default()
        }));
        let (s2, st2) = (server.clone(), state.clone());
        let handle = std::thread::spawn(move || {
            for mut req in s2.incoming_requests() {
                let rec = record(&mut req);
                let (status, headers, body, delay) = {
                    let mut st = st2.lock().unwrap();
                    st.log.push(rec.clone());
                    answer(&mut st, &rec)
                };
                if let Some(d) = delay {
                    std::thread::sleep(d);
                }
                let mut resp = tiny_http::Response::from_string(body).with_status_code(status);
                resp.add_header(
                    tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap(),
                );
                for (k, v) in headers {
                    resp.add_header(tiny_http::Header::from_bytes(k, v).unwrap());
                }
                let _ = req.respond(resp);
            }
        });
        Self {
            base: format!("http://127.0.0.1:{port}"),
            state,
            server,
            handle: Some(handle),
        }
    }

    pub fn add_user(&self, upn: &str, descriptor: &str, pats: Vec<Value>) {
        let mut st = self.state.lock().unwrap();
        st.users.push(User {
            upn: upn.into(),
            descriptor: descriptor.into(),
            display: format!("Display {upn}"),
        });
        st.pats.insert(descriptor.into(), pats);
    }

    pub fn fault(&self, f: Fault) {
        self.state.lock().unwrap().faults.push(f);
    }

    pub fn log(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn writes(&self) -> Vec<Recorded> {
        self.log()
            .into_iter()
            .filter(|r| r.method != "GET")
            .collect()
    }

    /// Authorization ids in every revocation POST, in order.
    pub fn revoked_ids(&self) -> Vec<String> {
        self.writes()
            .iter()
            .filter(|r| r.path.ends_with("/_apis/tokenadmin/revocations"))
            .flat_map(|r| {
                r.json()
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v["authorizationId"].as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

pub fn fault(method: &'static str, suffix: &str, status: u16, times: usize) -> Fault {
    Fault {
        method,
        path_suffix: suffix.into(),
        status,
        retry_after: None,
        times,
        delay: None,
        location: None,
        body: json!({"message": "injected failure", "typeKey": "InvalidAccessException"})
            .to_string(),
    }
}

pub fn record(req: &mut tiny_http::Request) -> Recorded {
    let url = req.url().to_string();
    let (path, q) = url.split_once('?').unwrap_or((&url, ""));
    let query = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let headers = req
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.as_str().to_string(),
            )
        })
        .collect();
    let mut body = String::new();
    let _ = req.as_reader().read_to_string(&mut body);
    Recorded {
        method: req.method().as_str().to_string(),
        path: path.to_string(),
        query,
        headers,
        body,
    }
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

type Answer = (u16, Vec<(String, String)>, String, Option<Duration>);

fn reply(status: u16, body: Value) -> Answer {
    (status, vec![], body.to_string(), None)
}

fn answer(st: &mut State, r: &Recorded) -> Answer {
    if let Some(f) = st
        .faults
        .iter_mut()
        .find(|f| f.times > 0 && f.method == r.method && r.path.ends_with(&f.path_suffix))
    {
        f.times -= 1;
        let mut h = vec![];
        if let Some(s) = f.retry_after {
            h.push(("Retry-After".to_string(), s.to_string()));
        }
        if let Some(l) = &f.location {
            h.push(("Location".to_string(), l.clone()));
        }
        return (f.status, h, f.body.clone(), f.delay);
    }
    let p = r.path.as_str();
    let auth = r.headers.get("authorization").cloned().unwrap_or_default();
    if let Some(rest) = p.strip_prefix("/gh") {
        return github(st, r, rest, &auth);
    }
    if let Some(rest) = p.strip_prefix("/gl") {
        return gitlab(st, r, rest);
    }
    if p == "/_apis/profile/profiles/me" || p == "/_apis/connectionData" {
        return ado_self(st, r, &auth);
    }
    let admin_path = p.starts_with("/_apis/tokenadmin")
        || p.starts_with("/_apis/identities")
        || p.starts_with("/_apis/graph");
    if !admin_path {
        return reply(404, json!({"message": format!("no route {p}")}));
    }
    if auth != st.admin_header {
        return reply(
            401,
            json!({"message": "TF400813: The user is not authorized to access this resource.", "typeKey": "InvalidAccessException"}),
        );
    }
    let want = if p.starts_with("/_apis/tokenadmin") {
        TOKENADMIN_V
    } else if p.starts_with("/_apis/identities") {
        IDENTITIES_V
    } else {
        GRAPH_V
    };
    if r.query.get("api-version").map(String::as_str) != Some(want) {
        return reply(400, json!({"message": "missing or wrong api-version"}));
    }
    match (r.method.as_str(), p) {
        ("GET", "/_apis/identities") => identities(st, r),
        ("GET", "/_apis/graph/users") => graph_users(st, r),
        ("POST", "/_apis/tokenadmin/revocations") => revocations(st, r),
        ("POST", "/_apis/tokenadmin/revocationrules") => {
            let body: Value = match serde_json::from_str(&r.body) {
                Ok(v) => v,
                Err(_) => return reply(400, json!({"message": "bad JSON"})),
            };
            if body["scopes"].as_str().is_none_or(str::is_empty) {
                return reply(400, json!({"message": "scopes required"}));
            }
            st.rules.push(body);
            (201, vec![], String::new(), None)
        }
        ("GET", _) if p.starts_with("/_apis/tokenadmin/personalaccesstokens/") => {
            let d = decode(p.rsplit('/').next().unwrap());
            list_pats(st, r, &d)
        }
        _ => reply(405, json!({"message": "method not allowed"})),
    }
}

fn identities(st: &State, r: &Recorded) -> Answer {
    if r.query.get("searchFilter").map(String::as_str) != Some("General") {
        return reply(400, json!({"message": "searchFilter"}));
    }
    let v = r.query.get("filterValue").cloned().unwrap_or_default();
    let found: Vec<Value> = st
        .users
        .iter()
        .filter(|u| st.fuzzy_identities || u.upn.eq_ignore_ascii_case(&v))
        .map(|u| {
            json!({
                "id": "81fa6389-0872-6fdd-a451-7ba7880f566a",
                "subjectDescriptor": u.descriptor,
                "providerDisplayName": u.display,
                "isActive": true,
                "properties": {"Account": {"$type": "System.String", "$value": u.upn},
                               "Mail": {"$type": "System.String", "$value": u.upn}}
            })
        })
        .collect();
    reply(200, json!({"count": found.len(), "value": found}))
}

fn graph_users(st: &State, r: &Recorded) -> Answer {
    let start: usize = r
        .query
        .get("continuationToken")
        .and_then(|c| c.strip_prefix("users-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let end = (start + st.users_page).min(st.users.len());
    let page: Vec<Value> = st.users[start..end]
        .iter()
        .map(|u| json!({"subjectKind": "user", "principalName": u.upn, "displayName": u.display, "descriptor": u.descriptor, "origin": "aad"}))
        .collect();
    let mut h = vec![];
    if end < st.users.len() {
        h.push(("X-MS-ContinuationToken".to_string(), format!("users-{end}")));
    }
    (
        200,
        h,
        json!({"count": page.len(), "value": page}).to_string(),
        None,
    )
}

fn list_pats(st: &State, r: &Recorded, descriptor: &str) -> Answer {
    let Some(all) = st.pats.get(descriptor) else {
        return reply(404, json!({"message": "user not found"}));
    };
    let start: usize = r
        .query
        .get("continuationToken")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let end = (start + st.page).min(all.len());
    let cont = if end < all.len() {
        Value::String(end.to_string())
    } else {
        Value::Null
    };
    reply(
        200,
        json!({"value": all[start..end], "continuationToken": cont}),
    )
}

fn revocations(st: &mut State, r: &Recorded) -> Answer {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&r.body) else {
        return reply(400, json!({"message": "body must be an array"}));
    };
    for it in &items {
        let Some(id) = it["authorizationId"].as_str() else {
            return reply(400, json!({"message": "authorizationId required"}));
        };
        for pats in st.pats.values_mut() {
            for p in pats.iter_mut() {
                if p["authorizationId"] == id {
                    p["isValid"] = json!(false);
                }
            }
        }
    }
    (204, vec![], String::new(), None)
}

fn ado_self(st: &State, r: &Recorded, auth: &str) -> Answer {
    let owner = st
        .live_ado
        .iter()
        .find(|(tok, _)| basic(tok) == auth)
        .map(|(_, upn)| upn.clone());
    let Some(upn) = owner else {
        return reply(401, json!({"message": "unauthorized"}));
    };
    let u = st.users.iter().find(|u| u.upn == upn).cloned();
    if r.path.ends_with("/me") {
        if r.query.get("api-version").map(String::as_str) != Some(PROFILE_V)
            || r.query.get("details").map(String::as_str) != Some("true")
        {
            return reply(400, json!({"message": "api-version / details"}));
        }
        return reply(
            200,
            json!({"displayName": u.as_ref().map(|u| u.display.clone()), "emailAddress": upn, "id": "d6245f20-2af8-44f4-9451-8107cb2767db"}),
        );
    }
    reply(
        200,
        json!({"authenticatedUser": {"id": "d6245f20-2af8-44f4-9451-8107cb2767db",
            "subjectDescriptor": u.as_ref().map(|u| u.descriptor.clone()),
            "providerDisplayName": u.as_ref().map(|u| u.display.clone()),
            "properties": {"Account": {"$type": "System.String", "$value": upn}}}}),
    )
}

fn github(st: &mut State, r: &Recorded, rest: &str, auth: &str) -> Answer {
    match (r.method.as_str(), rest) {
        ("GET", "/user") => {
            let tok = auth.strip_prefix("Bearer ").unwrap_or("");
            match st.live_github.get(tok) {
                Some(login) => reply(200, json!({"login": login, "id": 42})),
                None => reply(401, json!({"message": "Bad credentials"})),
            }
        }
        ("POST", "/credentials/revoke") => {
            if !auth.is_empty() {
                return reply(400, json!({"message": "this endpoint is unauthenticated"}));
            }
            let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            let Some(c) = v["credentials"].as_array() else {
                return reply(422, json!({"message": "credentials required"}));
            };
            if c.is_empty() || c.len() > 1000 {
                return reply(422, json!({"message": "between 1 and 1000 credentials"}));
            }
            for t in c {
                let t = t.as_str().unwrap().to_string();
                st.live_github.remove(&t);
                st.github_revoked.push(t);
            }
            reply(202, json!({}))
        }
        _ => reply(404, json!({"message": "Not Found"})),
    }
}

fn gitlab(st: &mut State, r: &Recorded, rest: &str) -> Answer {
    if rest != "/api/v4/personal_access_tokens/self" {
        return reply(404, json!({"message": "404 Not Found"}));
    }
    let tok = r.headers.get("private-token").cloned().unwrap_or_default();
    let Some(uid) = st.live_gitlab.get(&tok).copied() else {
        return reply(401, json!({"message": "401 Unauthorized"}));
    };
    match r.method.as_str() {
        "GET" => reply(
            200,
            json!({"id": 7, "name": "ci", "revoked": false, "active": true, "user_id": uid, "scopes": ["api"]}),
        ),
        "DELETE" => {
            st.live_gitlab.remove(&tok);
            (204, vec![], String::new(), None)
        }
        _ => reply(405, json!({})),
    }
}
