//! The PAT Lifecycle Management API (`_apis/tokens/pats`, host `vssps.dev.azure.com/{org}`):
//! a user lists, creates, renews and revokes their own PATs. Built against
//! ../shared/specs/azure-devops/tokens (api-version `7.2-preview.1`).
//!
//! The API accepts only a Microsoft Entra token (OAuth bearer for the Azure DevOps resource
//! [`ADO_RESOURCE_ID`]); a PAT gets `403 InvalidAccessException`. Microsoft documents access
//! tokens as opaque to clients (some are encrypted: five parts, nothing readable), so
//! [`EntraToken::from_env`] reads a JWT's claims when it can (never checking its signature:
//! that is the service's job), refuses before sending only what is recognisably an Azure
//! DevOps PAT or a JWT whose `exp` has passed, and sends anything else as it is. The claims
//! explain a refusal: a `203` sign-in redirect as "a service principal" or "an expired
//! token", a `401` as "not for Azure DevOps" or, when they could not be read, says so.
//!
//! Every error names the call (method, origin, path) and explains itself; a 404 says the API
//! is not available there (an Azure DevOps Server version without it). The write calls
//! ([`PatsClient::create`], [`PatsClient::update`], [`PatsClient::revoke`]) are sent once, by
//! the HTTP policy; a new token's value is only in the [`NewPat`] returned by `create`.

use base64::Engine as _;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::AdoUrls;
use crate::finding::Secret;
use crate::provider::http::{describe, Auth, GateOpen, HttpClient, Method, Request, Response};
use crate::provider::{body_message, ProviderError};

/// api-version of the PAT Lifecycle Management API.
pub const PATS_API_VERSION: &str = "7.2-preview.1";
/// The Azure DevOps resource (application id) an Entra token must be issued for.
pub const ADO_RESOURCE_ID: &str = "499b84ac-1321-427f-aa17-267ca6975798";
/// How errors name the API.
pub const PATS_API_NAME: &str = "the PAT Lifecycle Management API (_apis/tokens/pats)";
/// `$top` asked per page (the documented limit).
pub const PATS_PAGE_SIZE: u32 = 100;
/// Most pages followed before giving up (a loop guard against a server that never ends).
const MAX_PAGES: usize = 10_000;

/// An error of the PAT Lifecycle API or of its credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PatsError {
    /// A request failed (policy, transport, status, decode).
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// No Entra token is set. `pat_only` when `AZURE_DEVOPS_EXT_PAT` is set instead.
    #[error("{}", no_credential_text(*pat_only))]
    NoCredential {
        /// Only a PAT was found.
        pat_only: bool,
    },
    /// What was given as an Entra token is recognisably something else (an Azure DevOps PAT).
    #[error("AZURE_DEVOPS_ACCESS_TOKEN is not a usable Microsoft Entra token: {reason}")]
    Malformed {
        /// Why (never the token).
        reason: String,
    },
    /// The Entra token's `exp` claim is in the past.
    #[error("AZURE_DEVOPS_ACCESS_TOKEN expired at {at}: get a new one (`az account get-access-token --resource {ADO_RESOURCE_ID}`, or `--az-cli`)")]
    Expired {
        /// The expiry, RFC 3339.
        at: String,
    },
    /// The service answered 200 with a `patTokenError` other than `none`.
    #[error("{what}: the service refused: {code}{}", if message.is_empty() { String::new() } else { format!(" ({message})") })]
    Refused {
        /// Method, origin and path.
        what: String,
        /// The `SessionTokenError` value.
        code: String,
        /// `patTokenErrorMessage`, redacted.
        message: String,
    },
}

fn no_credential_text(pat_only: bool) -> String {
    let how = format!("set AZURE_DEVOPS_ACCESS_TOKEN to a Microsoft Entra token for Azure DevOps (`az account get-access-token --resource {ADO_RESOURCE_ID} --query accessToken -o tsv`), or pass --az-cli");
    if pat_only {
        format!("only AZURE_DEVOPS_EXT_PAT is set, but {PATS_API_NAME} does not accept PATs (it answers 403 InvalidAccessException): {how}")
    } else {
        format!("no Entra token: {how}")
    }
}

/// Which PATs a list asks for (`displayFilterOption`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatStatus {
    /// Not revoked and not expired.
    #[default]
    Active,
    /// Revoked.
    Revoked,
    /// Expired.
    Expired,
    /// All of them.
    All,
}

impl PatStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PatStatus::Active => "active",
            PatStatus::Revoked => "revoked",
            PatStatus::Expired => "expired",
            PatStatus::All => "all",
        }
    }
}

/// One PAT as the API describes it (`PatToken`). The token value is never part of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PatToken {
    /// Unique id.
    #[serde(default)]
    pub authorization_id: String,
    /// The token's name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Space-separated scopes.
    #[serde(default)]
    pub scope: Option<String>,
    /// Organisations (ids) it is valid for; `None` means all of the user's organisations.
    #[serde(default)]
    pub target_accounts: Option<Vec<String>>,
    /// Created.
    #[serde(default)]
    pub valid_from: Option<String>,
    /// Expires.
    #[serde(default)]
    pub valid_to: Option<String>,
}

impl PatToken {
    /// `validTo` as a time, if it parses.
    pub fn valid_to_time(&self) -> Option<OffsetDateTime> {
        self.valid_to.as_deref().and_then(parse_rfc3339)
    }

    /// Whether `validTo` is at or before `now`.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.valid_to_time().is_some_and(|t| t <= now)
    }

    /// Whether it is valid for all of the user's organisations (`targetAccounts` null).
    pub fn is_all_orgs(&self) -> bool {
        self.target_accounts.is_none()
    }

    /// The name, or an empty string.
    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or("")
    }
}

/// A PAT just created: its description and its value (shown only where the user asked).
#[derive(Debug, Clone)]
pub struct NewPat {
    /// The description.
    pub pat: PatToken,
    /// The token.
    pub token: Secret,
}

/// What `create` sends (`PatTokenCreateRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatCreate {
    /// Name.
    pub display_name: String,
    /// Space-separated scopes.
    pub scope: String,
    /// Expiry, RFC 3339 UTC.
    pub valid_to: String,
    /// For all of the user's organisations.
    pub all_orgs: bool,
}

/// RFC 3339 -> time; Azure DevOps' 7-digit fractions are accepted.
pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s.trim(), &Rfc3339).ok()
}

/// The claims of an Entra token this client uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntraClaims {
    /// `exp`, seconds since the epoch.
    pub exp: Option<i64>,
    /// `aud`.
    pub audience: Option<String>,
    /// `upn`, `unique_name` or `preferred_username`: the signed-in user, if any.
    pub user: Option<String>,
    /// `idtyp == "app"`, or no user claim at all: an application (service principal,
    /// managed identity). Never set when the claims could not be read.
    pub is_app: bool,
    /// The claims were read (a JWT with a JSON payload); `false` for an opaque or encrypted
    /// token, whose fields above are then all empty.
    pub readable: bool,
}

/// An Entra bearer token with its claims read.
#[derive(Debug, Clone)]
pub struct EntraToken {
    secret: Secret,
    claims: EntraClaims,
}

impl EntraToken {
    /// Reads the token from `AZURE_DEVOPS_ACCESS_TOKEN`'s value (`access_token`), with
    /// `ext_pat` (`AZURE_DEVOPS_EXT_PAT`) only to explain its absence. Refuses a token that
    /// is recognisably an Azure DevOps PAT, or a JWT whose `exp` is before `now`; any other
    /// token is accepted as it is (access tokens may be opaque or encrypted).
    pub fn from_env(
        access_token: Option<String>,
        ext_pat: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Self, PatsError> {
        let Some(t) = access_token
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
        else {
            return Err(PatsError::NoCredential {
                pat_only: ext_pat.is_some_and(|p| !p.trim().is_empty()),
            });
        };
        Self::parse(t, now)
    }

    /// Parses a token (from the environment or `az`); see [`EntraToken::from_env`].
    pub fn parse(token: String, now: OffsetDateTime) -> Result<Self, PatsError> {
        let secret = Secret::new(token);
        let claims = read_claims(secret.expose())?;
        if let Some(exp) = claims.exp {
            if exp <= now.unix_timestamp() {
                let at = OffsetDateTime::from_unix_timestamp(exp)
                    .ok()
                    .and_then(|t| t.format(&Rfc3339).ok())
                    .unwrap_or_else(|| exp.to_string());
                return Err(PatsError::Expired { at });
            }
        }
        Ok(Self { secret, claims })
    }

    /// The claims.
    pub fn claims(&self) -> &EntraClaims {
        &self.claims
    }

    fn auth(&self) -> Auth {
        Auth::Bearer(self.secret.clone())
    }
}

/// `true` for the shapes of an Azure DevOps PAT: 52 characters of lower-case base32 (the
/// legacy format), or 84/88 characters with the `JQQJ` and `AZDO` signatures at 52 and 76.
fn looks_like_ado_pat(t: &str) -> bool {
    let b = t.as_bytes();
    let legacy = b.len() == 52 && b.iter().all(|c| matches!(c, b'a'..=b'z' | b'2'..=b'7'));
    let cask = matches!(b.len(), 84 | 88) && &b[52..56] == b"JQQJ" && &b[76..80] == b"AZDO";
    legacy || cask
}

/// The claims of `t` when it is a JWT with a JSON payload; empty (`readable: false`) for any
/// other token, which is sent as it is; an error only for what is recognisably a PAT.
fn read_claims(t: &str) -> Result<EntraClaims, PatsError> {
    if looks_like_ado_pat(t) {
        return Err(PatsError::Malformed {
            reason: "it looks like a PAT: this API needs an Entra token".into(),
        });
    }
    let parts: Vec<&str> = t.split('.').collect();
    let payload = (parts.len() == 3)
        .then(|| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(parts[1].trim_end_matches('='))
                .ok()
        })
        .flatten()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter(Value::is_object);
    let Some(v) = payload else {
        return Ok(EntraClaims::default());
    };
    let s = |k: &str| v[k].as_str().map(str::to_string);
    let user = s("upn")
        .or_else(|| s("unique_name"))
        .or_else(|| s("preferred_username"));
    let audience = match &v["aud"] {
        Value::String(a) => Some(a.clone()),
        Value::Array(a) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    };
    Ok(EntraClaims {
        exp: v["exp"].as_i64(),
        audience,
        is_app: s("idtyp").as_deref() == Some("app") || user.is_none(),
        user,
        readable: true,
    })
}

/// Which call failed, for the explanation of a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    List,
    Get,
    Write,
}

/// The caller's own-PAT client for one organisation.
pub struct PatsClient<'a> {
    http: &'a HttpClient,
    urls: AdoUrls,
    token: EntraToken,
    max_pages: usize,
}

impl<'a> PatsClient<'a> {
    /// A client for `org` (or the `api_base` override) with the Entra `token`.
    pub fn new(
        http: &'a HttpClient,
        org: &str,
        api_base: Option<&str>,
        token: EntraToken,
    ) -> Result<Self, PatsError> {
        Ok(Self {
            http,
            urls: AdoUrls::new(Some(org), api_base)?,
            token,
            max_pages: MAX_PAGES,
        })
    }

    /// Lowers the page limit of [`PatsClient::list`] (tests).
    pub fn with_max_pages(mut self, n: usize) -> Self {
        self.max_pages = n.max(1);
        self
    }

    fn url(&self, query: &[(&str, &str)]) -> Result<Url, PatsError> {
        let base = &self.urls.vssps;
        let mut u = Url::parse(base).map_err(|e| ProviderError::Policy {
            url: base.clone(),
            reason: e.to_string(),
        })?;
        u.path_segments_mut()
            .map_err(|_| ProviderError::Policy {
                url: base.clone(),
                reason: "not a base URL".into(),
            })?
            .pop_if_empty()
            .extend(["_apis", "tokens", "pats"]);
        u.query_pairs_mut()
            .extend_pairs(query)
            .append_pair("api-version", PATS_API_VERSION);
        Ok(u)
    }

    fn send(
        &self,
        method: Method,
        u: Url,
        body: Option<Value>,
    ) -> Result<(String, Response), PatsError> {
        let req = Request {
            method,
            url: u,
            auth: self.token.auth(),
            body,
        };
        let what = describe(&req);
        let r = self.http.send(&self.urls.scope, &req)?;
        Ok((what, r))
    }

    /// The caller's PATs with `status`, following `continuationToken` (the same filter is
    /// sent with every page, as the API requires).
    pub fn list(&self, status: PatStatus) -> Result<Vec<PatToken>, PatsError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            pat_tokens: Option<Vec<PatToken>>,
            #[serde(default)]
            continuation_token: Option<String>,
        }
        let top = PATS_PAGE_SIZE.to_string();
        let mut out = Vec::new();
        let mut cont: Option<String> = None;
        let mut last = String::new();
        for _ in 0..self.max_pages {
            let mut q = vec![
                ("displayFilterOption", status.as_str()),
                ("$top", top.as_str()),
            ];
            if let Some(c) = &cont {
                q.push(("continuationToken", c.as_str()));
            }
            let (what, r) = self.send(Method::Get, self.url(&q)?, None)?;
            if r.status != 200 {
                return Err(self.status_error(Call::List, what, &r));
            }
            let page: Page = decode(&what, &r)?;
            last = what;
            out.extend(page.pat_tokens.unwrap_or_default());
            match page.continuation_token.filter(|c| !c.is_empty()) {
                Some(n) if cont.as_deref() != Some(n.as_str()) => cont = Some(n),
                _ => return Ok(out),
            }
        }
        Err(ProviderError::Decode {
            what: last,
            reason: format!(
                "still more pages after {} pages; stopping, the list is incomplete",
                self.max_pages
            ),
        }
        .into())
    }

    /// One PAT by authorization id.
    pub fn get(&self, authorization_id: &str) -> Result<PatToken, PatsError> {
        let (what, r) = self.send(
            Method::Get,
            self.url(&[("authorizationId", authorization_id)])?,
            None,
        )?;
        if r.status != 200 {
            return Err(self.status_error(Call::Get, what, &r));
        }
        let (pat, _) = self.result(&what, &r)?;
        Ok(pat)
    }

    /// `POST`: a new PAT for the caller. Sent once.
    pub fn create(&self, c: &PatCreate, _gate: GateOpen) -> Result<NewPat, PatsError> {
        let body = json!({
            "displayName": c.display_name,
            "scope": c.scope,
            "validTo": c.valid_to,
            "allOrgs": c.all_orgs,
        });
        let (what, r) = self.send(Method::Post, self.url(&[])?, Some(body))?;
        if r.status != 200 {
            return Err(self.status_error(Call::Write, what, &r));
        }
        let (pat, token) = self.result(&what, &r)?;
        let token = token.ok_or_else(|| ProviderError::Decode {
            what: what.clone(),
            reason: "the new PAT's token is missing from the answer".into(),
        })?;
        Ok(NewPat { pat, token })
    }

    /// `PUT`: changes `validTo` (keeping name, scope and organisations). Sent once. The
    /// caller checks first that the PAT has not expired: an expired PAT cannot be extended.
    pub fn update(
        &self,
        pat: &PatToken,
        valid_to: &str,
        _gate: GateOpen,
    ) -> Result<PatToken, PatsError> {
        let body = json!({
            "authorizationId": pat.authorization_id,
            "displayName": pat.display_name,
            "scope": pat.scope,
            "validTo": valid_to,
            "allOrgs": pat.is_all_orgs(),
        });
        let (what, r) = self.send(Method::Put, self.url(&[])?, Some(body))?;
        if r.status != 200 {
            return Err(self.status_error(Call::Write, what, &r));
        }
        Ok(self.result(&what, &r)?.0)
    }

    /// `DELETE ?authorizationId=`: revokes one PAT. Sent once.
    pub fn revoke(&self, authorization_id: &str, _gate: GateOpen) -> Result<(), PatsError> {
        let (what, r) = self.send(
            Method::Delete,
            self.url(&[("authorizationId", authorization_id)])?,
            None,
        )?;
        if matches!(r.status, 200 | 204) {
            Ok(())
        } else {
            Err(self.status_error(Call::Write, what, &r))
        }
    }

    /// A `PatTokenResult`: the PAT and, after `create`, its token; a `patTokenError` other
    /// than `none` is an error.
    fn result(&self, what: &str, r: &Response) -> Result<(PatToken, Option<Secret>), PatsError> {
        let v: Value = decode(what, r)?;
        let code = v["patTokenError"].as_str().unwrap_or("none");
        if code != "none" {
            let sent = [&self.token.secret];
            let message = v["patTokenErrorMessage"]
                .as_str()
                .map(|m| body_message(json!({ "message": m }).to_string().as_bytes(), &sent))
                .unwrap_or_default();
            return Err(PatsError::Refused {
                what: what.to_string(),
                code: refused_text(code),
                message,
            });
        }
        let token = v["patToken"]["token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(Secret::new);
        let pat: PatToken =
            serde_json::from_value(v["patToken"].clone()).map_err(|e| ProviderError::Decode {
                what: what.to_string(),
                reason: format!("patToken: {e}"),
            })?;
        if pat.authorization_id.is_empty() {
            return Err(ProviderError::Decode {
                what: what.to_string(),
                reason: "patToken has no authorizationId".into(),
            }
            .into());
        }
        Ok((pat, token))
    }

    fn status_error(&self, call: Call, what: String, r: &Response) -> PatsError {
        let sent = [&self.token.secret];
        let msg = body_message(&r.body, &sent);
        let type_key = serde_json::from_slice::<Value>(&r.body)
            .ok()
            .and_then(|v| v["typeKey"].as_str().map(str::to_string))
            .unwrap_or_default();
        let said = if msg.is_empty() || r.status == 203 {
            String::new()
        } else {
            format!(" (Azure DevOps said: {msg})")
        };
        let claims = self.token.claims();
        let aud = match &claims.audience {
            Some(a) if !a.contains(ADO_RESOURCE_ID) => {
                format!("; note: the token's audience is {a}, not Azure DevOps ({ADO_RESOURCE_ID})")
            }
            _ => String::new(),
        };
        let explain = match r.status {
            203 | 300..=399 => {
                let expired = claims
                    .exp
                    .is_some_and(|e| e <= OffsetDateTime::now_utc().unix_timestamp());
                if expired {
                    "redirected to sign-in: the Entra token has expired; get a new one".to_string()
                } else if !claims.readable {
                    format!("redirected to sign-in: the Entra token was not accepted; its claims could not be read (an opaque or encrypted token), so check that it is a user's token (not a service principal's), issued for Azure DevOps (resource {ADO_RESOURCE_ID}), and not expired")
                } else if claims.is_app {
                    "redirected to sign-in: the Entra token belongs to a service principal or managed identity (no user claim), and PATs belong to users: sign in as the user (`az login`) and use a user token".to_string()
                } else {
                    format!("redirected to sign-in: the Entra token was not accepted (expired or revoked, or its user is not in this organization){aud}")
                }
            }
            401 if !claims.readable => format!("the Entra token was rejected, and its claims could not be read (an opaque or encrypted token, or not an Entra token at all): check that it was issued for Azure DevOps (resource {ADO_RESOURCE_ID}) and has not expired{said}"),
            401 => format!("the Entra token was rejected: it is expired, or not issued for Azure DevOps (resource {ADO_RESOURCE_ID}){aud}{said}"),
            403 if type_key == "InvalidAccessException" || msg.contains("InvalidAccessException") => format!(
                "InvalidAccessException: {PATS_API_NAME} accepts only a Microsoft Entra user token with the vso.pats (read) or vso.pats_manage scope, never a PAT or a token without those scopes; also check that the organization allows this API{said}"
            ),
            403 => format!("permission denied: the token needs the vso.pats (read) or vso.pats_manage scope{said}"),
            404 if call == Call::Get => format!(
                "not found: no PAT with that authorization id, or {PATS_API_NAME} is not available on this server (Azure DevOps Server versions before it have no such API){said}"
            ),
            404 => format!(
                "{PATS_API_NAME} is not available here: this Azure DevOps Server version does not have it (use the web portal, or a newer server){said}"
            ),
            429 => format!("rate limited by Azure DevOps; retry later{said}"),
            400 => format!("the request was rejected as invalid{said}"),
            s if s >= 500 => format!("Azure DevOps server error{said}"),
            _ => format!("unexpected status{said}"),
        };
        ProviderError::Status {
            what,
            status: r.status,
            explain,
        }
        .into()
    }
}

/// A `SessionTokenError` with an explanation for the ones users meet.
fn refused_text(code: &str) -> String {
    let why = match code {
        "expiredPatCannotBeExtended" => {
            "the PAT has expired and cannot be extended; create a new one"
        }
        "patLifespanPolicyViolation" => {
            "the organization's maximum PAT lifespan policy forbids this validity; use fewer --days"
        }
        "fullScopePatPolicyViolation" => {
            "the organization forbids full-scope PATs; name the scopes"
        }
        "globalPatPolicyViolation" | "globalPATCreationBlocked" => {
            "the organization forbids PATs for all organizations; drop --all-orgs"
        }
        "disablePatCreationPolicyViolation" => "the organization does not allow creating PATs",
        "invalidScope" => "a scope is not valid",
        "invalidDisplayName" | "displayNameRequired" => "the name is missing or invalid",
        "invalidValidTo" => "the expiry date is not valid",
        "authorizationNotFound" | "tokenNotFound" => "no such PAT",
        _ => "",
    };
    if why.is_empty() {
        code.to_string()
    } else {
        format!("{code}: {why}")
    }
}

fn decode<T: for<'de> Deserialize<'de>>(what: &str, r: &Response) -> Result<T, PatsError> {
    serde_json::from_slice(&r.body).map_err(|e| {
        ProviderError::Decode {
            what: what.to_string(),
            reason: format!("invalid JSON ({e})"),
        }
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::sample::Rng;

    fn jwt(payload: Value) -> String {
        let e = |v: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        format!(
            "{}.{}.sig",
            e(&json!({"alg": "RS256", "typ": "JWT"})),
            e(&payload)
        )
    }

    #[test]
    fn an_entra_token_is_read_for_its_claims_and_refused_when_expired_or_malformed() {
        let now = OffsetDateTime::now_utc();
        let n = now.unix_timestamp();
        let user = EntraToken::parse(
            jwt(json!({"exp": n + 600, "upn": "a@b.c", "aud": ADO_RESOURCE_ID})),
            now,
        )
        .unwrap();
        assert_eq!(user.claims().user.as_deref(), Some("a@b.c"));
        assert!(!user.claims().is_app);
        let app = EntraToken::parse(jwt(json!({"exp": n + 600, "idtyp": "app"})), now).unwrap();
        assert!(app.claims().is_app);
        assert!(matches!(
            EntraToken::parse(jwt(json!({"exp": n - 1, "upn": "a"})), now),
            Err(PatsError::Expired { .. })
        ));
        assert!(user.claims().readable);
        for seed in 0..20 {
            for pat in [
                crate::rules::sample::azure_devops_pat_legacy(&mut Rng::new(seed)),
                crate::rules::sample::azure_devops_pat(&mut Rng::new(seed)),
            ] {
                let e = EntraToken::parse(pat.clone(), now).unwrap_err();
                assert!(e.to_string().contains("looks like a PAT"), "{e}");
                assert!(!e.to_string().contains(&pat), "{e}");
            }
        }
        // Opaque to clients (#26, item 7): an encrypted token's five parts, a payload that is
        // no JSON, one part that is no PAT: sent as they are, with no claims.
        for opaque in [
            "h.k.iv.ct.tag",
            "a.!!!.c",
            "abcdefghijklmnopqrstuvwxyz234567",
        ] {
            let t = EntraToken::parse(opaque.into(), now).unwrap();
            assert_eq!(*t.claims(), EntraClaims::default(), "{opaque}");
        }
    }

    #[test]
    fn without_an_entra_token_a_pat_alone_is_explained() {
        let now = OffsetDateTime::now_utc();
        let e = EntraToken::from_env(None, Some("x".into()), now).unwrap_err();
        assert!(
            e.to_string().contains("only AZURE_DEVOPS_EXT_PAT is set"),
            "{e}"
        );
        assert!(e.to_string().contains("403 InvalidAccessException"), "{e}");
        let e = EntraToken::from_env(Some(" ".into()), None, now).unwrap_err();
        assert!(e.to_string().starts_with("no Entra token"), "{e}");
    }

    #[test]
    fn expiry_and_all_orgs_come_from_the_pat_description() {
        let p = PatToken {
            valid_to: Some("2020-12-01T23:46:23.3233333Z".into()),
            ..Default::default()
        };
        assert!(p.is_expired(OffsetDateTime::now_utc()));
        assert!(p.is_all_orgs());
        let q = PatToken {
            valid_to: Some("9999-12-01T00:00:00Z".into()),
            target_accounts: Some(vec!["38aaa865-2c70-4bf7-a308-0c6539c38c1a".into()]),
            ..Default::default()
        };
        assert!(!q.is_expired(OffsetDateTime::now_utc()));
        assert!(!q.is_all_orgs());
        assert_eq!(PatStatus::default().as_str(), "active");
    }

    #[test]
    fn known_session_token_errors_are_explained() {
        assert!(refused_text("expiredPatCannotBeExtended").contains("cannot be extended"));
        assert_eq!(refused_text("somethingNew"), "somethingNew");
    }
}
