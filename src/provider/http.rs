//! The one HTTP client policy of patrol. Every request to a provider goes through
//! [`HttpClient::send`]; nothing else in the crate builds a `reqwest` client.
//!
//! Contract:
//! - A token is only ever sent to an origin in the request's [`HostScope`]: the provider's
//!   documented hosts over HTTPS, or the one origin the user named (`--api-base`,
//!   `--github-api`, `--gitlab-url`), which must be HTTPS, or plain HTTP to a loopback address.
//! - Redirects are never followed (a 3xx is handed back as it is), so a token cannot be
//!   forwarded to another host.
//! - Every request has a total timeout. Reads (`GET`) are retried on 429, 5xx, GitHub's
//!   rate-limit 403 (`x-ratelimit-remaining: 0`), timeouts and connection errors with
//!   exponential backoff, honouring `Retry-After` and the rate-limit reset time
//!   (`x-ratelimit-reset`, `ratelimit-reset`); writes (`POST`,
//!   `DELETE`) are sent exactly once, because a timed-out write may still have taken effect.
//! - At most [`HttpPolicy::max_in_flight`] requests at once, and at most one request per host
//!   per [`HttpPolicy::min_interval`] (per-host rate limit), whatever the number of threads.
//! - Request headers are never logged; the credential header is marked sensitive. Errors name
//!   the method, origin and path only, and any echo of the credential in a response body is
//!   replaced by its redacted form before the body reaches an error message.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Url;

use super::ProviderError;
use crate::finding::Secret;

/// Limits for every request.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// Total time for one attempt (connect, send, read the body).
    pub timeout: Duration,
    /// Attempts for a read, the first included. Writes always get one.
    pub read_attempts: u32,
    /// First backoff; doubled after each failed attempt.
    pub backoff: Duration,
    /// Longest `Retry-After` honoured; a longer one ends the retries with an error.
    pub max_retry_after: Duration,
    /// Least time between two requests to one host.
    pub min_interval: Duration,
    /// Largest response body read.
    pub max_body_bytes: usize,
    /// Requests in flight at once over the whole client (all hosts).
    pub max_in_flight: usize,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(20),
            read_attempts: 3,
            backoff: Duration::from_millis(250),
            max_retry_after: Duration::from_secs(60),
            min_interval: Duration::from_millis(50),
            max_body_bytes: 16 << 20,
            max_in_flight: 8,
        }
    }
}

/// The origins a request may go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostScope {
    origins: Vec<String>,
}

impl HostScope {
    /// The provider's documented hosts, HTTPS only.
    pub fn documented(hosts: &[&str]) -> Self {
        Self {
            origins: hosts.iter().map(|h| format!("https://{h}")).collect(),
        }
    }

    /// The single origin of a user-given base URL (`--api-base` and friends). Returns the
    /// scope and the base without a trailing `/`. HTTPS, or HTTP to a loopback address only.
    pub fn from_override(flag: &str, base: &str) -> Result<(Self, String), ProviderError> {
        let url = Url::parse(base).map_err(|e| ProviderError::Policy {
            url: flag.to_string(),
            reason: format!("not a URL ({e})"),
        })?;
        check_scheme(&url).map_err(|reason| ProviderError::Policy {
            url: format!("{flag} {}", origin_of(&url)),
            reason,
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ProviderError::Policy {
                url: format!("{flag} {}", origin_of(&url)),
                reason: "a base URL must not hold a user name or password".into(),
            });
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ProviderError::Policy {
                url: format!("{flag} {}", origin_of(&url)),
                reason: "a base URL must not hold a query or fragment".into(),
            });
        }
        let scope = Self {
            origins: vec![origin_of(&url)],
        };
        Ok((scope, base.trim_end_matches('/').to_string()))
    }

    /// Whether `url` may receive a credential.
    pub fn allows(&self, url: &Url) -> bool {
        check_scheme(url).is_ok() && self.origins.contains(&origin_of(url))
    }
}

fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

fn check_scheme(url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(
            "plain http is allowed only to a literal loopback address (127.0.0.1, [::1]); use https"
                .into(),
        ),
        other => Err(format!("unsupported scheme {other}")),
    }
}

/// A literal loopback address (127.0.0.0/8, ::1). A name such as `localhost` is refused: what
/// it resolves to is up to the resolver (hosts file, DNS), not to the URL.
fn is_loopback(url: &Url) -> bool {
    let Some(h) = url.host_str() else {
        return false;
    };
    let bare = h.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No credential.
    None,
    /// Basic with an empty user name and the token as password (Azure DevOps PATs).
    Basic(Secret),
    /// `Authorization: Bearer`.
    Bearer(Secret),
    /// A custom header (`PRIVATE-TOKEN` for GitLab).
    Header(&'static str, Secret),
}

impl Auth {
    /// The credential, if any.
    pub fn secret(&self) -> Option<&Secret> {
        match self {
            Auth::None => None,
            Auth::Basic(s) | Auth::Bearer(s) | Auth::Header(_, s) => Some(s),
        }
    }
}

/// HTTP method; the policy treats `Get` as a read and everything else as a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A read: retried.
    Get,
    /// A write: sent once.
    Post,
    /// A write: sent once.
    Delete,
    /// A write: sent once.
    Put,
}

impl Method {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Put => "PUT",
        }
    }
}

/// The write gate's say-so: every function in `provider/` that sends a write request (`POST`,
/// `PUT`, `PATCH`, `DELETE`) takes one, so a write can only be sent by code holding it.
///
/// Contract, checked by `tests/integration/layering.rs` on the source: outside `provider/` only
/// `act/execute.rs` (the one place a write is decided) names this type; inside `provider/` it
/// appears only in the parameters of write functions, which pass it on; no function returns
/// one. It is `Copy` so one decision can cover a batch, and has no `Default`, so a caller
/// cannot get one by inference without naming it.
#[derive(Debug, Clone, Copy)]
pub struct GateOpen {
    _decided: (),
}

impl GateOpen {
    /// Called by `act/execute.rs` once it has decided (and, where its contract says so,
    /// audited) that a write is to be sent.
    pub fn decided_by_act_execute() -> Self {
        Self { _decided: () }
    }
}

/// One request.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Full URL with query.
    pub url: Url,
    /// Credential.
    pub auth: Auth,
    /// JSON body, if any.
    pub body: Option<serde_json::Value>,
}

/// One response: status, headers, body (already read).
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes (at most the policy's limit).
    pub body: Vec<u8>,
}

impl Response {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The client: one per run, shared by reference between worker threads.
pub struct HttpClient {
    client: reqwest::blocking::Client,
    policy: HttpPolicy,
    next_slot: Mutex<HashMap<String, Instant>>,
    in_flight: (Mutex<usize>, Condvar),
}

/// Holds one of the client's in-flight places until dropped.
struct Permit<'a>(&'a (Mutex<usize>, Condvar));

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let (n, cv) = self.0;
        *n.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        cv.notify_one();
    }
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("policy", &self.policy)
            .finish()
    }
}

impl HttpClient {
    /// A client with `policy`.
    pub fn new(policy: HttpPolicy) -> Result<Self, ProviderError> {
        let client = reqwest::blocking::Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            // A credential goes only to the provider's host or the explicit override, never
            // to a proxy named by HTTP_PROXY / HTTPS_PROXY / ALL_PROXY.
            .no_proxy()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .user_agent(concat!("patrol/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProviderError::Transport {
                what: "http client".into(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            client,
            policy,
            next_slot: Mutex::new(HashMap::new()),
            in_flight: (Mutex::new(0), Condvar::new()),
        })
    }

    /// The policy in force.
    pub fn policy(&self) -> &HttpPolicy {
        &self.policy
    }

    /// Sends `req` if `scope` allows its URL, retrying reads as the policy says. Any status
    /// comes back as `Ok`; errors are transport failures, timeouts and policy refusals.
    pub fn send(&self, scope: &HostScope, req: &Request) -> Result<Response, ProviderError> {
        let what = describe(req);
        if !scope.allows(&req.url) {
            return Err(ProviderError::Policy {
                url: what,
                reason: "not the provider's documented host or the configured override".into(),
            });
        }
        let attempts = if req.method == Method::Get {
            self.policy.read_attempts.max(1)
        } else {
            1
        };
        let mut backoff = self.policy.backoff;
        let mut attempt = 1;
        loop {
            let res = {
                let _permit = self.permit();
                self.wait_for_slot(&req.url);
                self.send_once(req, &what)
            };
            let last = attempt >= attempts;
            let wait = match &res {
                Ok(r) if r.status == 429 || r.status >= 500 || is_rate_limited(r) => {
                    match retry_after(r) {
                        Some(d) if d > self.policy.max_retry_after => return res,
                        Some(d) => d,
                        None => backoff,
                    }
                }
                Err(ProviderError::Timeout { .. }) | Err(ProviderError::Transport { .. }) => {
                    backoff
                }
                _ => return res,
            };
            if last {
                return res;
            }
            std::thread::sleep(wait);
            backoff = backoff.saturating_mul(2);
            attempt += 1;
        }
    }

    fn send_once(&self, req: &Request, what: &str) -> Result<Response, ProviderError> {
        let m = match req.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Delete => reqwest::Method::DELETE,
            Method::Put => reqwest::Method::PUT,
        };
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some((name, value)) = auth_header(&req.auth)? {
            headers.insert(name, value);
        }
        let mut b = self.client.request(m, req.url.clone()).headers(headers);
        if let Some(body) = &req.body {
            b = b
                .header(CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(body).expect("JSON values serialise"));
        }
        let resp = b.send().map_err(|e| self.transport_error(e, what))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        use std::io::Read;
        resp.take(self.policy.max_body_bytes as u64)
            .read_to_end(&mut body)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::TimedOut || is_timeout_io(&e) {
                    self.timeout_error(what)
                } else {
                    ProviderError::Transport {
                        what: what.to_string(),
                        reason: "reading the response failed".into(),
                    }
                }
            })?;
        let body = scrub(body, req.auth.secret());
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    fn transport_error(&self, e: reqwest::Error, what: &str) -> ProviderError {
        if e.is_timeout() {
            return self.timeout_error(what);
        }
        // reqwest's message carries the URL; ours never carries a query or credential.
        let reason = if e.is_connect() {
            "connection failed"
        } else {
            "request failed"
        };
        ProviderError::Transport {
            what: what.to_string(),
            reason: reason.into(),
        }
    }

    fn timeout_error(&self, what: &str) -> ProviderError {
        ProviderError::Timeout {
            what: what.to_string(),
            ms: self.policy.timeout.as_millis() as u64,
        }
    }

    /// Waits for a free in-flight place.
    fn permit(&self) -> Permit<'_> {
        let (n, cv) = &self.in_flight;
        let mut g = n.lock().unwrap_or_else(|p| p.into_inner());
        while *g >= self.policy.max_in_flight.max(1) {
            g = cv.wait(g).unwrap_or_else(|p| p.into_inner());
        }
        *g += 1;
        Permit(&self.in_flight)
    }

    /// Per-host rate limit: reserve the next slot for this host, then sleep until it.
    fn wait_for_slot(&self, url: &Url) {
        let now = Instant::now();
        let at = self.reserve_slot(&origin_of(url), now);
        if at > now {
            std::thread::sleep(at - now);
        }
    }

    /// The instant a request to `origin` may start, given the time `now`; books the slot.
    /// Slots of one origin are at least `min_interval` apart, whatever the thread.
    fn reserve_slot(&self, origin: &str, now: Instant) -> Instant {
        let mut slots = self.next_slot.lock().unwrap_or_else(|p| p.into_inner());
        let at = slots.get(origin).copied().unwrap_or(now).max(now);
        slots.insert(origin.to_string(), at + self.policy.min_interval);
        at
    }
}

fn is_timeout_io(e: &std::io::Error) -> bool {
    let mut src: Option<&dyn std::error::Error> = e.get_ref().map(|r| r as _);
    while let Some(s) = src {
        if let Some(re) = s.downcast_ref::<reqwest::Error>() {
            return re.is_timeout();
        }
        src = s.source();
    }
    false
}

fn auth_header(
    auth: &Auth,
) -> Result<Option<(reqwest::header::HeaderName, HeaderValue)>, ProviderError> {
    use base64::Engine as _;
    let (name, text) = match auth {
        Auth::None => return Ok(None),
        Auth::Basic(s) => (
            AUTHORIZATION,
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!(":{}", s.expose()))
            ),
        ),
        Auth::Bearer(s) => (AUTHORIZATION, format!("Bearer {}", s.expose())),
        Auth::Header(h, s) => (
            reqwest::header::HeaderName::from_static(h),
            s.expose().to_string(),
        ),
    };
    let mut v = HeaderValue::from_str(&text).map_err(|_| ProviderError::Policy {
        url: "credential".into(),
        reason: "the credential holds characters not allowed in a header".into(),
    })?;
    v.set_sensitive(true);
    Ok(Some((name, v)))
}

/// How long the server asks us to wait: `Retry-After` in seconds, else the rate-limit reset
/// time (`x-ratelimit-reset` on GitHub, `ratelimit-reset` on GitLab: epoch seconds).
fn retry_after(r: &Response) -> Option<Duration> {
    if let Some(v) = r.header(RETRY_AFTER.as_str()) {
        return v.trim().parse::<u64>().ok().map(Duration::from_secs);
    }
    let reset = ["x-ratelimit-reset", "ratelimit-reset"]
        .iter()
        .find_map(|h| r.header(h))?
        .trim()
        .parse::<u64>()
        .ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Some(Duration::from_secs(reset.saturating_sub(now).max(1)))
}

/// A 403 that is GitHub's primary rate limit (`x-ratelimit-remaining: 0`), not a refusal:
/// worth waiting for, like a 429.
fn is_rate_limited(r: &Response) -> bool {
    r.status == 403 && r.header("x-ratelimit-remaining").map(str::trim) == Some("0")
}

/// `GET https://host/path` without the query (which may hold continuation tokens).
pub fn describe(req: &Request) -> String {
    format!(
        "{} {}{}",
        req.method.as_str(),
        origin_of(&req.url),
        req.url.path()
    )
}

/// Replaces any echo of the credential in a response body by its redacted form.
fn scrub(body: Vec<u8>, secret: Option<&Secret>) -> Vec<u8> {
    let Some(s) = secret else { return body };
    let needle = s.expose().as_bytes();
    if needle.is_empty() || !body.windows(needle.len()).any(|w| w == needle) {
        return body;
    }
    let text = String::from_utf8_lossy(&body).replace(s.expose(), &s.redacted());
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_accept_https_and_loopback_http_only() {
        assert!(HostScope::from_override("--api-base", "https://ado.example.com/coll").is_ok());
        assert!(HostScope::from_override("--api-base", "http://127.0.0.1:8080").is_ok());
        assert!(HostScope::from_override("--api-base", "http://[::1]:8080").is_ok());
        assert!(HostScope::from_override("--api-base", "http://127.9.8.7:1").is_ok());
        // Regression test for review item 10: a name is not an address; only literal
        // loopback IPs may receive a credential over plain http.
        for name in [
            "http://localhost:1",
            "http://LOCALHOST:1",
            "http://localhost.:1",
        ] {
            let e = HostScope::from_override("--api-base", name).unwrap_err();
            assert!(e.to_string().contains("loopback"), "{name}: {e}");
        }
        assert!(HostScope::from_override("--api-base", "http://[::ffff:127.0.0.1]:1").is_err());
        let e = HostScope::from_override("--api-base", "http://ado.example.com").unwrap_err();
        assert!(e.to_string().contains("loopback"), "{e}");
        assert!(HostScope::from_override("--api-base", "ftp://x").is_err());
        let e = HostScope::from_override("--api-base", "https://u:SECRETPW@h.example/c")
            .unwrap_err()
            .to_string();
        assert!(e.contains("user name") && !e.contains("SECRETPW"), "{e}");
        assert!(HostScope::from_override("--api-base", "https://h.example/c?x=1").is_err());
    }

    #[test]
    fn a_scope_allows_only_its_own_origins() {
        let s = HostScope::documented(&["dev.azure.com", "vssps.dev.azure.com"]);
        let ok = Url::parse("https://vssps.dev.azure.com/org/_apis/x").unwrap();
        assert!(s.allows(&ok));
        for bad in [
            "http://vssps.dev.azure.com/org",
            "https://evil.example.com/dev.azure.com",
            "https://dev.azure.com.evil.example/x",
            "https://dev.azure.com:8443/x",
        ] {
            assert!(!s.allows(&Url::parse(bad).unwrap()), "{bad}");
        }
    }

    #[test]
    fn refused_requests_are_never_sent_and_errors_hold_no_token() {
        let c = HttpClient::new(HttpPolicy::default()).unwrap();
        let req = Request {
            method: Method::Get,
            url: Url::parse("https://evil.example.com/x?q=1").unwrap(),
            auth: Auth::Bearer(Secret::new("tok-SECRET-VALUE-1234567")),
            body: None,
        };
        let e = c
            .send(&HostScope::documented(&["api.github.com"]), &req)
            .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("evil.example.com/x"), "{msg}");
        assert!(
            !msg.contains("SECRET-VALUE") && !msg.contains("q=1"),
            "{msg}"
        );
    }

    #[test]
    fn slots_of_one_host_are_spaced_and_hosts_are_independent() {
        let c = HttpClient::new(HttpPolicy::default()).unwrap();
        let gap = c.policy().min_interval;
        let now = Instant::now();
        let a1 = c.reserve_slot("https://a.example", now);
        let a2 = c.reserve_slot("https://a.example", now);
        let a3 = c.reserve_slot("https://a.example", now);
        let b1 = c.reserve_slot("https://b.example", now);
        assert_eq!(a1, now);
        assert_eq!(a2, now + gap);
        assert_eq!(a3, now + gap * 2);
        assert_eq!(b1, now);
    }

    #[test]
    fn permits_are_returned_when_dropped() {
        let c = HttpClient::new(HttpPolicy {
            max_in_flight: 2,
            ..HttpPolicy::default()
        })
        .unwrap();
        let a = c.permit();
        let b = c.permit();
        assert_eq!(*c.in_flight.0.lock().unwrap(), 2);
        drop(a);
        drop(b);
        assert_eq!(*c.in_flight.0.lock().unwrap(), 0);
        let _again = c.permit();
        assert_eq!(*c.in_flight.0.lock().unwrap(), 1);
    }

    #[test]
    fn retry_after_in_seconds_is_read() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        let r = Response {
            status: 429,
            headers: h,
            body: vec![],
        };
        assert_eq!(retry_after(&r), Some(Duration::from_secs(7)));
        let r = Response {
            status: 429,
            headers: HeaderMap::new(),
            body: vec![],
        };
        assert_eq!(retry_after(&r), None);
    }

    #[test]
    fn a_rate_limit_reset_is_a_wait_and_a_403_at_zero_remaining_is_a_rate_limit() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_str(&(now + 30).to_string()).unwrap(),
        );
        let r = Response {
            status: 403,
            headers: h,
            body: vec![],
        };
        assert!(is_rate_limited(&r));
        let d = retry_after(&r).unwrap();
        assert!(
            d >= Duration::from_secs(28) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        // A reset in the past waits one second, not zero.
        let mut h = HeaderMap::new();
        h.insert("ratelimit-reset", HeaderValue::from_static("5"));
        let r = Response {
            status: 429,
            headers: h,
            body: vec![],
        };
        assert_eq!(retry_after(&r), Some(Duration::from_secs(1)));
        // A plain 403 is a refusal.
        let r = Response {
            status: 403,
            headers: HeaderMap::new(),
            body: vec![],
        };
        assert!(!is_rate_limited(&r));
    }

    #[test]
    fn echoed_credentials_are_scrubbed_from_bodies() {
        let s = Secret::new("abcdefghijklmnopqrstuvwxyz");
        let out = scrub(b"bad token abcdefghijklmnopqrstuvwxyz!".to_vec(), Some(&s));
        assert_eq!(String::from_utf8(out).unwrap(), "bad token abcd…wxyz!");
    }
}
