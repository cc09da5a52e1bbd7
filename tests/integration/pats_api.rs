//! A loopback stand-in for the PAT Lifecycle Management API (`_apis/tokens/pats`), written
//! from ../shared/specs/azure-devops/tokens/tokens.json and its httpExamples: list (paged by
//! `continuationToken`, `displayFilterOption` repeated on every page, `$top` at most 100),
//! get / revoke by `authorizationId`, create (POST `PatTokenCreateRequest`) and update (PUT
//! `PatTokenUpdateRequest`), answering `PatTokenResult` / `PagedPatTokens`.
//!
//! It checks method, path, api-version, the bearer token and every body, and answers as the
//! service does when patrol gets it wrong: a PAT (Basic) gets `403 InvalidAccessException`, a
//! service principal's token a `203` sign-in page, an unknown bearer `401`; a malformed body
//! `400`. Faults are injected per path and method (`mock_api::Fault`).
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use base64::Engine as _;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::mock_api::{record, Fault, Recorded};
use crate::util::fake;

pub const PATS_V: &str = "7.2-preview.1";
pub const PATH: &str = "/_apis/tokens/pats";
/// The organisation id `targetAccounts` holds for a one-organisation PAT (from the examples).
pub const ORG_ID: &str = "38aaa865-2c70-4bf7-a308-0c6539c38c1a";

/// One PAT the server knows, with what the API never lists (its value, whether revoked).
#[derive(Debug, Clone)]
pub struct Stored {
    pub pat: Value,
    pub token: String,
    pub revoked: bool,
}

#[derive(Default)]
pub struct State {
    /// The bearer token of the signed-in user.
    pub bearer: String,
    /// A bearer token of a service principal (answered with a 203 sign-in page).
    pub sp_bearer: String,
    pub pats: Vec<Stored>,
    pub page: usize,
    pub faults: Vec<Fault>,
    pub log: Vec<Recorded>,
    pub next: u64,
}

pub struct PatsApi {
    pub base: String,
    pub state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for PatsApi {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// A JWT-shaped Entra token (unsigned; the claims are what patrol reads).
pub fn entra_jwt(claims: Value) -> String {
    let e = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2lnbmF0dXJl",
        e(&json!({"alg": "RS256", "typ": "JWT"})),
        e(&claims)
    )
}

/// A user token valid for an hour.
pub fn user_jwt(upn: &str) -> String {
    let exp = OffsetDateTime::now_utc().unix_timestamp() + 3600;
    entra_jwt(
        json!({"aud": "499b84ac-1321-427f-aa17-267ca6975798", "upn": upn, "exp": exp, "scp": "vso.pats_manage"}),
    )
}

/// RFC 3339 of now + `days` (negative: in the past).
pub fn days_from_now(days: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::days(days))
        .format(&Rfc3339)
        .unwrap()
}

impl PatsApi {
    pub fn start(bearer: &str) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind loopback"));
        let port = server.server_addr().to_ip().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            bearer: bearer.to_string(),
            page: 2,
            next: 1,
            ..Default::default()
        }));
        let (s2, st2) = (server.clone(), state.clone());
        let handle = std::thread::spawn(move || {
            for mut req in s2.incoming_requests() {
                let rec = record(&mut req);
                let (status, ctype, body, delay) = {
                    let mut st = st2.lock().unwrap();
                    st.log.push(rec.clone());
                    answer(&mut st, &rec)
                };
                if let Some(d) = delay {
                    std::thread::sleep(d);
                }
                let mut resp = tiny_http::Response::from_string(body).with_status_code(status);
                resp.add_header(tiny_http::Header::from_bytes("Content-Type", ctype).unwrap());
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

    /// Adds a PAT; returns its authorization id.
    pub fn add(&self, name: &str, scope: &str, valid_to: &str, all_orgs: bool) -> String {
        let mut st = self.state.lock().unwrap();
        let n = st.next;
        st.next += 1;
        let id = format!("00000000-0000-4000-8000-{n:012}");
        let token = fake("azure_devops.pat_legacy", 7000 + n);
        st.pats.push(Stored {
            pat: json!({
                "displayName": name,
                "validTo": valid_to,
                "scope": scope,
                "targetAccounts": if all_orgs { Value::Null } else { json!([ORG_ID]) },
                "validFrom": days_from_now(-30),
                "authorizationId": id,
                "token": null
            }),
            token,
            revoked: false,
        });
        id
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

    /// Every token value the server issued or holds (none may appear in patrol's output).
    pub fn tokens(&self) -> Vec<String> {
        let st = self.state.lock().unwrap();
        let mut t: Vec<String> = st.pats.iter().map(|p| p.token.clone()).collect();
        t.push(st.bearer.clone());
        if !st.sp_bearer.is_empty() {
            t.push(st.sp_bearer.clone());
        }
        t
    }

    pub fn stored(&self, id: &str) -> Option<Stored> {
        let st = self.state.lock().unwrap();
        st.pats
            .iter()
            .find(|p| p.pat["authorizationId"] == id)
            .cloned()
    }

    pub fn by_name(&self, name: &str) -> Vec<Stored> {
        let st = self.state.lock().unwrap();
        st.pats
            .iter()
            .filter(|p| p.pat["displayName"] == name)
            .cloned()
            .collect()
    }
}

type Answer = (u16, &'static str, String, Option<std::time::Duration>);

fn reply(status: u16, body: Value) -> Answer {
    (status, "application/json", body.to_string(), None)
}

fn is_expired(p: &Value) -> bool {
    p["validTo"]
        .as_str()
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .is_some_and(|t| t <= OffsetDateTime::now_utc())
}

fn status_of(s: &Stored) -> &'static str {
    if s.revoked {
        "revoked"
    } else if is_expired(&s.pat) {
        "expired"
    } else {
        "active"
    }
}

fn answer(st: &mut State, r: &Recorded) -> Answer {
    if let Some(f) = st
        .faults
        .iter_mut()
        .find(|f| f.times > 0 && f.method == r.method && r.path.ends_with(&f.path_suffix))
    {
        f.times -= 1;
        return (f.status, "application/json", f.body.clone(), f.delay);
    }
    if r.path != PATH {
        return reply(404, json!({"message": format!("no route {}", r.path)}));
    }
    let auth = r.headers.get("authorization").cloned().unwrap_or_default();
    if auth.starts_with("Basic ") {
        return reply(
            403,
            json!({"$id": "1", "message": "The requested operation is not allowed.", "typeName": "Microsoft.VisualStudio.Services.Common.InvalidAccessException", "typeKey": "InvalidAccessException", "errorCode": 0}),
        );
    }
    let bearer = auth.strip_prefix("Bearer ").unwrap_or("");
    if !st.sp_bearer.is_empty() && bearer == st.sp_bearer {
        return (
            203,
            "text/html",
            "<html><head><title>Azure DevOps Services | Sign In</title></head></html>".into(),
            None,
        );
    }
    if bearer != st.bearer {
        return reply(401, json!({"message": "TF400813: not authorized"}));
    }
    if r.query.get("api-version").map(String::as_str) != Some(PATS_V) {
        return reply(400, json!({"message": "missing or wrong api-version"}));
    }
    match r.method.as_str() {
        "GET" if r.query.contains_key("authorizationId") => {
            let id = &r.query["authorizationId"];
            match st
                .pats
                .iter()
                .find(|p| p.pat["authorizationId"] == id.as_str())
            {
                Some(p) => reply(200, json!({"patToken": p.pat, "patTokenError": "none"})),
                None => reply(404, json!({"message": "token not found"})),
            }
        }
        "GET" => list(st, r),
        "POST" => create(st, r),
        "PUT" => update(st, r),
        "DELETE" => {
            let Some(id) = r.query.get("authorizationId") else {
                return reply(400, json!({"message": "authorizationId required"}));
            };
            match st
                .pats
                .iter_mut()
                .find(|p| p.pat["authorizationId"] == id.as_str())
            {
                Some(p) => {
                    p.revoked = true;
                    (204, "application/json", String::new(), None)
                }
                None => reply(404, json!({"message": "token not found"})),
            }
        }
        _ => reply(405, json!({"message": "method not allowed"})),
    }
}

fn list(st: &State, r: &Recorded) -> Answer {
    let filter = r
        .query
        .get("displayFilterOption")
        .map(String::as_str)
        .unwrap_or("active");
    if !matches!(filter, "active" | "revoked" | "expired" | "all") {
        return reply(400, json!({"message": "displayFilterOption"}));
    }
    if let Some(top) = r.query.get("$top") {
        match top.parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => {}
            _ => return reply(400, json!({"message": "$top must be 1..100"})),
        }
    }
    // Continuation tokens carry the filter: the API requires the same options on each page.
    let start = match r.query.get("continuationToken") {
        None => 0,
        Some(c) => match c.split_once(':') {
            Some((f, n)) if f == filter => n.parse::<usize>().unwrap_or(0),
            _ => {
                return reply(
                    400,
                    json!({"message": "continuationToken from another filter"}),
                )
            }
        },
    };
    let all: Vec<&Stored> = st
        .pats
        .iter()
        .filter(|p| filter == "all" || status_of(p) == filter)
        .collect();
    let end = (start + st.page).min(all.len());
    let page: Vec<&Value> = all[start.min(end)..end].iter().map(|p| &p.pat).collect();
    let cont = if end < all.len() {
        format!("{filter}:{end}")
    } else {
        String::new()
    };
    reply(200, json!({"continuationToken": cont, "patTokens": page}))
}

fn body(r: &Recorded) -> Option<Value> {
    serde_json::from_str::<Value>(&r.body)
        .ok()
        .filter(Value::is_object)
}

fn valid_time(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|t| OffsetDateTime::parse(t, &Rfc3339).is_ok())
}

fn create(st: &mut State, r: &Recorded) -> Answer {
    let Some(b) = body(r) else {
        return reply(
            400,
            json!({"message": "body must be a PatTokenCreateRequest"}),
        );
    };
    if r.headers.get("content-type").map(String::as_str) != Some("application/json") {
        return reply(415, json!({"message": "content type"}));
    }
    if b["displayName"].as_str().is_none_or(str::is_empty) {
        return reply(
            200,
            json!({"patToken": null, "patTokenError": "displayNameRequired"}),
        );
    }
    if b["scope"].as_str().is_none_or(str::is_empty) {
        return reply(
            200,
            json!({"patToken": null, "patTokenError": "invalidScope"}),
        );
    }
    if !valid_time(&b["validTo"]) || !b["allOrgs"].is_boolean() {
        return reply(
            400,
            json!({"message": "validTo (date-time) and allOrgs (boolean)"}),
        );
    }
    let n = st.next;
    st.next += 1;
    let id = format!("00000000-0000-4000-8000-{n:012}");
    let token = fake("azure_devops.pat_legacy", 7000 + n);
    let all_orgs = b["allOrgs"].as_bool().unwrap();
    let pat = json!({
        "displayName": b["displayName"],
        "validTo": b["validTo"],
        "scope": b["scope"],
        "targetAccounts": if all_orgs { Value::Null } else { json!([ORG_ID]) },
        "validFrom": days_from_now(0),
        "authorizationId": id,
        "token": null
    });
    st.pats.push(Stored {
        pat: pat.clone(),
        token: token.clone(),
        revoked: false,
    });
    let mut shown = pat;
    shown["token"] = json!(token);
    reply(200, json!({"patToken": shown, "patTokenError": "none"}))
}

fn update(st: &mut State, r: &Recorded) -> Answer {
    let Some(b) = body(r) else {
        return reply(
            400,
            json!({"message": "body must be a PatTokenUpdateRequest"}),
        );
    };
    let Some(id) = b["authorizationId"].as_str() else {
        return reply(400, json!({"message": "authorizationId required"}));
    };
    if !b["validTo"].is_null() && !valid_time(&b["validTo"]) {
        return reply(400, json!({"message": "validTo"}));
    }
    let Some(p) = st.pats.iter_mut().find(|p| p.pat["authorizationId"] == id) else {
        return reply(
            200,
            json!({"patToken": null, "patTokenError": "authorizationNotFound"}),
        );
    };
    if p.revoked {
        return reply(
            200,
            json!({"patToken": null, "patTokenError": "invalidAuthorizationId"}),
        );
    }
    if is_expired(&p.pat) {
        return reply(
            200,
            json!({"patToken": null, "patTokenError": "expiredPatCannotBeExtended"}),
        );
    }
    for k in ["displayName", "scope", "validTo"] {
        if !b[k].is_null() {
            p.pat[k] = b[k].clone();
        }
    }
    if let Some(all) = b["allOrgs"].as_bool() {
        p.pat["targetAccounts"] = if all { Value::Null } else { json!([ORG_ID]) };
    }
    reply(200, json!({"patToken": p.pat, "patTokenError": "none"}))
}
