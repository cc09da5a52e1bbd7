//! Azure DevOps: who owns a PAT (profile, connectionData), and the organisation
//! administrator's token-administration API (tokenadmin), with the identity (IMS) and graph
//! look-ups it needs. Built against ../shared/specs/azure-devops/ (tokenAdmin 7.2, ims,
//! graph, profile).
//!
//! Hosts: `https://app.vssps.visualstudio.com` (profile), `https://dev.azure.com/{org}`
//! (connectionData), `https://vssps.dev.azure.com/{org}` (tokenadmin, identities, graph).
//! `--api-base URL` replaces all three (Azure DevOps Server collections, tests).
//!
//! Errors explain themselves: a 401/403 names the scope or role that is missing, a 404 on a
//! user's PAT list says the user is not there. The write calls ([`AdoAdmin::revoke`],
//! [`AdoAdmin::create_revocation_rule`]) are called only by `revoke.rs`.

pub mod pats;

use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{describe, Auth, HostScope, HttpClient, Method, Request, Response};
use super::{body_message, Checked, Endpoints, Owner, ProviderError};
use crate::finding::{Secret, VerificationStatus};

/// api-version of tokenadmin (7.2 adds `crossCompanyCorrelatingId`).
pub const TOKENADMIN_API_VERSION: &str = "7.2-preview.1";
/// api-version of identities (IMS).
pub const IDENTITIES_API_VERSION: &str = "7.2-preview.1";
/// api-version of graph users.
pub const GRAPH_API_VERSION: &str = "7.2-preview.1";
/// api-version of profiles.
pub const PROFILE_API_VERSION: &str = "7.2-preview.3";
/// Page size asked of tokenadmin.
pub const PAT_PAGE_SIZE: u32 = 100;
/// Most pages followed before giving up (a loop guard against a server that never ends).
const MAX_PAGES: usize = 10_000;

/// The base URLs of one organisation, and where its credentials may go.
#[derive(Debug, Clone)]
pub struct AdoUrls {
    /// `https://dev.azure.com/{org}` or the override.
    pub dev: String,
    /// `https://vssps.dev.azure.com/{org}` or the override.
    pub vssps: String,
    /// `https://app.vssps.visualstudio.com` or the override.
    pub profile: String,
    /// Origins allowed.
    pub scope: HostScope,
}

impl AdoUrls {
    /// The documented hosts for `org`, or `api_base` for all of them.
    pub fn new(org: Option<&str>, api_base: Option<&str>) -> Result<Self, ProviderError> {
        if let Some(o) = org {
            check_org(o)?;
        }
        if let Some(base) = api_base {
            let (scope, base) = HostScope::from_override("--api-base", base)?;
            return Ok(Self {
                dev: base.clone(),
                vssps: base.clone(),
                profile: base,
                scope,
            });
        }
        let org = org.unwrap_or("");
        Ok(Self {
            dev: format!("https://dev.azure.com/{org}"),
            vssps: format!("https://vssps.dev.azure.com/{org}"),
            profile: "https://app.vssps.visualstudio.com".into(),
            scope: HostScope::documented(&[
                "dev.azure.com",
                "vssps.dev.azure.com",
                "app.vssps.visualstudio.com",
            ]),
        })
    }
}

fn check_org(org: &str) -> Result<(), ProviderError> {
    let ok = !org.is_empty()
        && org
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ProviderError::Policy {
            url: format!("organization {org:?}"),
            reason: "an organization name holds only letters, digits, '-', '_' and '.'".into(),
        })
    }
}

fn url(base: &str, path: &[&str], query: &[(&str, &str)]) -> Result<Url, ProviderError> {
    let mut u = Url::parse(base).map_err(|e| ProviderError::Policy {
        url: base.to_string(),
        reason: e.to_string(),
    })?;
    u.path_segments_mut()
        .map_err(|_| ProviderError::Policy {
            url: base.to_string(),
            reason: "not a base URL".into(),
        })?
        .pop_if_empty()
        .extend(path);
    if !query.is_empty() {
        u.query_pairs_mut().extend_pairs(query);
    }
    Ok(u)
}

/// One PAT as tokenadmin lists it (`SessionToken`). The token value itself is never returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SessionToken {
    /// The id revocation needs.
    #[serde(default)]
    pub authorization_id: String,
    /// The PAT's name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Space-separated scopes.
    #[serde(default)]
    pub scope: Option<String>,
    /// Created.
    #[serde(default)]
    pub valid_from: Option<String>,
    /// Expires.
    #[serde(default)]
    pub valid_to: Option<String>,
    /// Public (SSH key) or not.
    #[serde(default)]
    pub is_public: Option<bool>,
    /// Still valid.
    #[serde(default)]
    pub is_valid: Option<bool>,
    /// C3ID hash of the token (7.2).
    #[serde(default)]
    pub cross_company_correlating_id: Option<String>,
    /// Owner's storage key.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// A user of the organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoUser {
    /// Subject descriptor (`aad.…`, `msa.…`).
    pub descriptor: String,
    /// UPN / principal name, or what the user gave.
    pub upn: String,
    /// Display name.
    pub display_name: String,
}

/// The admin credential from the environment: `AZURE_DEVOPS_EXT_PAT` (Basic) or
/// `AZURE_DEVOPS_ACCESS_TOKEN` (Bearer). Never from a command-line argument.
pub fn admin_auth(
    ext_pat: Option<String>,
    access_token: Option<String>,
) -> Result<Auth, ProviderError> {
    match (
        ext_pat.filter(|s| !s.is_empty()),
        access_token.filter(|s| !s.is_empty()),
    ) {
        (Some(p), _) => Ok(Auth::Basic(Secret::new(p))),
        (None, Some(t)) => Ok(Auth::Bearer(Secret::new(t))),
        (None, None) => Err(ProviderError::NoAdminCredential),
    }
}

/// Which call failed, for the explanation of a 401/403.
#[derive(Debug, Clone, Copy)]
enum Op {
    TokenAdmin,
    Identities,
    Graph,
}

impl Op {
    fn needs(self) -> &'static str {
        match self {
            Op::TokenAdmin => "the Token Administration scope (vso.tokenadministration) and membership of Project Collection Administrators",
            Op::Identities => "the Identity (read) scope (vso.identity)",
            Op::Graph => "the Graph (read) scope (vso.graph) to list users",
        }
    }
}

fn status_error(
    op: Op,
    what: String,
    r: &Response,
    not_found: Option<String>,
    sent: Option<&Secret>,
) -> ProviderError {
    let sent: Vec<&Secret> = sent.into_iter().collect();
    let msg = body_message(&r.body, &sent);
    let said = if msg.is_empty() {
        String::new()
    } else {
        format!(" (Azure DevOps said: {msg})")
    };
    let explain = match r.status {
        401 => format!(
            "the admin credential was rejected: it is expired or lacks {}{said}",
            op.needs()
        ),
        403 => format!(
            "permission denied: the caller needs {}{said}",
            op.needs()
        ),
        404 => not_found.unwrap_or_else(|| format!("not found{said}")),
        203 | 300..=399 => {
            "redirected to sign-in: the credential was not accepted (expired, revoked or for another organization)".into()
        }
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
}

fn decode<T: for<'de> Deserialize<'de>>(what: &str, r: &Response) -> Result<T, ProviderError> {
    serde_json::from_slice(&r.body).map_err(|e| ProviderError::Decode {
        what: what.to_string(),
        reason: format!("invalid JSON ({e})"),
    })
}

/// A list in either documented shape: a bare array, or `{count, value: [...]}`.
fn value_list(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        Value::Object(mut o) => match o.remove("value") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The organisation administrator's client (tokenadmin, identities, graph).
pub struct AdoAdmin<'a> {
    http: &'a HttpClient,
    org: String,
    urls: AdoUrls,
    auth: Auth,
    max_pages: usize,
}

impl<'a> AdoAdmin<'a> {
    /// A client for `org` with the admin credential `auth`.
    pub fn new(
        http: &'a HttpClient,
        org: &str,
        api_base: Option<&str>,
        auth: Auth,
    ) -> Result<Self, ProviderError> {
        Ok(Self {
            http,
            org: org.to_string(),
            urls: AdoUrls::new(Some(org), api_base)?,
            auth,
            max_pages: MAX_PAGES,
        })
    }

    /// Lowers the page limit of [`AdoAdmin::list_users`] / [`AdoAdmin::list_pats`] (tests).
    pub fn with_max_pages(mut self, n: usize) -> Self {
        self.max_pages = n.max(1);
        self
    }

    /// The error for a list that still had pages when the limit was reached: a partial list
    /// must never pass for the whole one.
    fn too_many_pages(&self, what: String) -> ProviderError {
        ProviderError::Decode {
            what,
            reason: format!(
                "still more pages after {} pages; stopping, the list is incomplete",
                self.max_pages
            ),
        }
    }

    /// The organisation.
    pub fn org(&self) -> &str {
        &self.org
    }

    fn get(&self, u: Url) -> Result<(String, Response), ProviderError> {
        let req = Request {
            method: Method::Get,
            url: u,
            auth: self.auth.clone(),
            body: None,
        };
        let what = describe(&req);
        let r = self.http.send(&self.urls.scope, &req)?;
        Ok((what, r))
    }

    /// UPN -> user, through `_apis/identities?searchFilter=General&filterValue=UPN`.
    pub fn resolve_user(&self, upn: &str) -> Result<AdoUser, ProviderError> {
        let u = url(
            &self.urls.vssps,
            &["_apis", "identities"],
            &[
                ("searchFilter", "General"),
                ("filterValue", upn),
                ("queryMembership", "None"),
                ("api-version", IDENTITIES_API_VERSION),
            ],
        )?;
        let (what, r) = self.get(u)?;
        if r.status != 200 {
            return Err(status_error(
                Op::Identities,
                what,
                &r,
                None,
                self.auth.secret(),
            ));
        }
        let list = value_list(decode(&what, &r)?);
        let with_desc: Vec<&Value> = list
            .iter()
            .filter(|i| {
                i["subjectDescriptor"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty())
            })
            .collect();
        let props = |i: &Value| -> Vec<String> {
            ["Account", "Mail", "UPN", "PrincipalName"]
                .iter()
                .filter_map(|k| i["properties"][*k]["$value"].as_str())
                .map(str::to_string)
                .collect()
        };
        // Only an identity that carries the UPN itself is the user: the search is fuzzy, and
        // taking the first hit would act on someone else.
        let pick = with_desc
            .iter()
            .find(|i| props(i).iter().any(|v| v.eq_ignore_ascii_case(upn)));
        let Some(pick) = pick else {
            let seen: Vec<String> = with_desc
                .iter()
                .take(5)
                .map(|i| {
                    props(i)
                        .into_iter()
                        .next()
                        .or_else(|| i["providerDisplayName"].as_str().map(str::to_string))
                        .unwrap_or_else(|| "?".into())
                })
                .collect();
            let returned =
                if with_desc.is_empty() {
                    "the identity search returned no user".to_string()
                } else {
                    format!(
                    "the identity search returned {} other identit{} ({}{}), none with that UPN",
                    with_desc.len(),
                    if with_desc.len() == 1 { "y" } else { "ies" },
                    seen.join(", "),
                    if with_desc.len() > seen.len() { ", ..." } else { "" }
                )
                };
            return Err(ProviderError::UserNotFound {
                user: upn.to_string(),
                org: self.org.clone(),
                returned,
            });
        };
        let own_upn = props(pick)
            .into_iter()
            .find(|v| v.eq_ignore_ascii_case(upn))
            .unwrap_or_else(|| upn.to_string());
        Ok(AdoUser {
            descriptor: pick["subjectDescriptor"]
                .as_str()
                .unwrap_or_default()
                .into(),
            display_name: pick["providerDisplayName"]
                .as_str()
                .unwrap_or(&own_upn)
                .to_string(),
            upn: own_upn,
        })
    }

    /// Every user of the organisation, following `X-MS-ContinuationToken`.
    pub fn list_users(&self) -> Result<Vec<AdoUser>, ProviderError> {
        let mut out = Vec::new();
        let mut cont: Option<String> = None;
        let mut last = String::new();
        for _ in 0..self.max_pages {
            let mut q = vec![("api-version", GRAPH_API_VERSION)];
            if let Some(c) = &cont {
                q.push(("continuationToken", c.as_str()));
            }
            let (what, r) = self.get(url(&self.urls.vssps, &["_apis", "graph", "users"], &q)?)?;
            if r.status != 200 {
                return Err(status_error(Op::Graph, what, &r, None, self.auth.secret()));
            }
            last.clone_from(&what);
            let next = r
                .header("x-ms-continuationtoken")
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            for u in value_list(decode(&what, &r)?) {
                let Some(d) = u["descriptor"].as_str() else {
                    continue;
                };
                out.push(AdoUser {
                    descriptor: d.to_string(),
                    upn: u["principalName"].as_str().unwrap_or_default().to_string(),
                    display_name: u["displayName"].as_str().unwrap_or_default().to_string(),
                });
            }
            match next {
                Some(n) if cont.as_deref() != Some(n.as_str()) => cont = Some(n),
                _ => return Ok(out),
            }
        }
        Err(self.too_many_pages(last))
    }

    /// Every PAT of `user`, following `continuationToken`.
    pub fn list_pats(&self, user: &AdoUser) -> Result<Vec<SessionToken>, ProviderError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            value: Vec<SessionToken>,
            #[serde(default)]
            continuation_token: Option<String>,
        }
        let mut out = Vec::new();
        let mut cont: Option<String> = None;
        let page_size = PAT_PAGE_SIZE.to_string();
        let mut last = String::new();
        for _ in 0..self.max_pages {
            let mut q = vec![
                ("pageSize", page_size.as_str()),
                ("api-version", TOKENADMIN_API_VERSION),
            ];
            if let Some(c) = &cont {
                q.push(("continuationToken", c.as_str()));
            }
            let u = url(
                &self.urls.vssps,
                &[
                    "_apis",
                    "tokenadmin",
                    "personalaccesstokens",
                    &user.descriptor,
                ],
                &q,
            )?;
            let (what, r) = self.get(u)?;
            if r.status != 200 {
                let nf = format!(
                    "user {} (subject descriptor {}) not found in organization {}",
                    user.upn, user.descriptor, self.org
                );
                return Err(status_error(
                    Op::TokenAdmin,
                    what,
                    &r,
                    Some(nf),
                    self.auth.secret(),
                ));
            }
            let page: Page = decode(&what, &r)?;
            last.clone_from(&what);
            out.extend(page.value);
            match page.continuation_token.filter(|c| !c.is_empty()) {
                Some(n) if cont.as_deref() != Some(n.as_str()) => cont = Some(n),
                _ => return Ok(out),
            }
        }
        Err(self.too_many_pages(last))
    }

    /// `POST _apis/tokenadmin/revocations` with one batch of authorization ids. Sent once.
    pub fn revoke(&self, authorization_ids: &[String]) -> Result<(), ProviderError> {
        let body: Vec<Value> = authorization_ids
            .iter()
            .map(|id| serde_json::json!({ "authorizationId": id }))
            .collect();
        let u = url(
            &self.urls.vssps,
            &["_apis", "tokenadmin", "revocations"],
            &[("api-version", TOKENADMIN_API_VERSION)],
        )?;
        self.write(u, Value::Array(body), &[200, 204])
    }

    /// `POST _apis/tokenadmin/revocationrules`. Sent once.
    pub fn create_revocation_rule(
        &self,
        created_before: &str,
        scopes: &str,
    ) -> Result<(), ProviderError> {
        let u = url(
            &self.urls.vssps,
            &["_apis", "tokenadmin", "revocationrules"],
            &[("api-version", TOKENADMIN_API_VERSION)],
        )?;
        let body = serde_json::json!({ "scopes": scopes, "createdBefore": created_before });
        self.write(u, body, &[200, 201, 204])
    }

    fn write(&self, u: Url, body: Value, ok: &[u16]) -> Result<(), ProviderError> {
        let req = Request {
            method: Method::Post,
            url: u,
            auth: self.auth.clone(),
            body: Some(body),
        };
        let what = describe(&req);
        let r = self.http.send(&self.urls.scope, &req)?;
        if ok.contains(&r.status) {
            Ok(())
        } else {
            Err(status_error(
                Op::TokenAdmin,
                what,
                &r,
                None,
                self.auth.secret(),
            ))
        }
    }
}

/// Checks a PAT with the PAT alone: the profile API (org-less) and, with `org`,
/// connectionData (which also gives the owner's subject descriptor). Reads only.
pub fn verify_token(
    http: &HttpClient,
    ends: &Endpoints,
    token: &Secret,
    org: Option<&str>,
) -> Result<Checked, ProviderError> {
    let urls = AdoUrls::new(org, ends.ado_api_base.as_deref())?;
    let mut owner = Owner::default();
    let prof = url(
        &urls.profile,
        &["_apis", "profile", "profiles", "me"],
        &[("details", "true"), ("api-version", PROFILE_API_VERSION)],
    )?;
    let (code, body) = get_self(http, &urls, prof, token)?;
    if let Some(v) = &body {
        owner.display_name = v["displayName"].as_str().map(str::to_string);
        owner.name = v["emailAddress"].as_str().map(str::to_string);
        owner.id = v["id"].as_str().map(str::to_string);
    }
    let profile_live = liveness(code);
    let mut detail = format!("profile API: HTTP {code}");
    let mut conn_live = None;
    if org.is_some() {
        let u = url(&urls.dev, &["_apis", "connectionData"], &[])?;
        let (code, body) = get_self(http, &urls, u, token)?;
        detail.push_str(&format!("; connectionData: HTTP {code}"));
        if let Some(v) = &body {
            merge_connection_data(&mut owner, &v["authenticatedUser"]);
        }
        conn_live = liveness(code);
    }
    let status = match (profile_live, conn_live) {
        (Some(true), _) | (_, Some(true)) => VerificationStatus::Live,
        (Some(false), None) if org.is_none() => VerificationStatus::RevokedOrInvalid,
        (Some(false), Some(false)) => VerificationStatus::RevokedOrInvalid,
        _ => VerificationStatus::Error,
    };
    let owner = (owner != Owner::default()).then_some(owner);
    Ok(Checked::new(status, owner, detail))
}

/// `Some(true)` accepted, `Some(false)` rejected (401, or 203 / a redirect to sign-in),
/// `None` no verdict.
fn liveness(status: u16) -> Option<bool> {
    match status {
        200 => Some(true),
        401 | 203 | 300..=399 => Some(false),
        _ => None,
    }
}

/// One read with the found token as Basic password; the JSON body when the status is 200.
fn get_self(
    http: &HttpClient,
    urls: &AdoUrls,
    u: Url,
    token: &Secret,
) -> Result<(u16, Option<Value>), ProviderError> {
    let req = Request {
        method: Method::Get,
        url: u,
        auth: Auth::Basic(token.clone()),
        body: None,
    };
    let what = describe(&req);
    let r = http.send(&urls.scope, &req)?;
    let body = if r.status == 200 {
        Some(decode(&what, &r)?)
    } else {
        None
    };
    Ok((r.status, body))
}

/// Fills what the profile did not tell from connectionData's `authenticatedUser`.
fn merge_connection_data(owner: &mut Owner, au: &Value) {
    let s = |v: &Value| v.as_str().map(str::to_string);
    owner.subject_descriptor = s(&au["subjectDescriptor"]);
    owner.id = owner.id.take().or_else(|| s(&au["id"]));
    owner.display_name = owner
        .display_name
        .take()
        .or_else(|| s(&au["providerDisplayName"]));
    owner.name = owner
        .name
        .take()
        .or_else(|| s(&au["properties"]["Account"]["$value"]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_base_replaces_every_host_and_org_names_are_checked() {
        let u = AdoUrls::new(Some("fabrikam"), None).unwrap();
        assert_eq!(u.vssps, "https://vssps.dev.azure.com/fabrikam");
        assert_eq!(u.dev, "https://dev.azure.com/fabrikam");
        let o = AdoUrls::new(
            Some("fabrikam"),
            Some("https://tfs.example.com/DefaultCollection/"),
        )
        .unwrap();
        assert_eq!(o.vssps, "https://tfs.example.com/DefaultCollection");
        assert_eq!(o.dev, o.vssps);
        assert_eq!(o.profile, o.vssps);
        assert!(AdoUrls::new(Some("a/b"), None).is_err());
        assert!(AdoUrls::new(Some("x"), Some("http://10.0.0.1")).is_err());
    }

    #[test]
    fn urls_encode_path_segments_and_queries() {
        let u = url(
            "https://vssps.dev.azure.com/fabrikam",
            &["_apis", "tokenadmin", "personalaccesstokens", "aad.a/b"],
            &[("filterValue", "a b@c.d")],
        )
        .unwrap();
        assert_eq!(
            u.as_str(),
            "https://vssps.dev.azure.com/fabrikam/_apis/tokenadmin/personalaccesstokens/aad.a%2Fb?filterValue=a+b%40c.d"
        );
    }

    #[test]
    fn admin_credential_prefers_the_pat_and_is_required() {
        assert!(matches!(
            admin_auth(Some("p".into()), Some("t".into())),
            Ok(Auth::Basic(_))
        ));
        assert!(matches!(
            admin_auth(None, Some("t".into())),
            Ok(Auth::Bearer(_))
        ));
        assert!(matches!(
            admin_auth(Some(String::new()), None),
            Err(ProviderError::NoAdminCredential)
        ));
    }

    #[test]
    fn lists_come_in_either_documented_shape() {
        assert_eq!(value_list(serde_json::json!([1, 2])).len(), 2);
        assert_eq!(
            value_list(serde_json::json!({"count": 1, "value": [1]})).len(),
            1
        );
        assert!(value_list(serde_json::json!({})).is_empty());
    }
}
