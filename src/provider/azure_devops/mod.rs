//! Azure DevOps, in two parts: `verify.rs` checks a leaked PAT with the PAT alone (profile,
//! connectionData: is it live, whose is it); `admin.rs` is the organisation administrator's
//! client (tokenadmin, with the identity (IMS) and graph look-ups it needs). This file holds
//! what both share: the organisation's URLs, the service's types, status explanations.
//! Built against ../shared/specs/azure-devops/ (tokenAdmin 7.2, ims, graph, profile).
//!
//! Hosts: `https://app.vssps.visualstudio.com` (profile), `https://dev.azure.com/{org}`
//! (connectionData), `https://vssps.dev.azure.com/{org}` (tokenadmin, identities, graph).
//! `--api-base URL` replaces all three (Azure DevOps Server collections, tests).
//!
//! Errors explain themselves: a 401/403 names the scope or role that is missing, a 404 on a
//! user's PAT list says the user is not there. The write calls ([`AdoAdmin::revoke`],
//! [`AdoAdmin::create_revocation_rule`]) are called only by `act/execute.rs`.

mod admin;
mod verify;

pub use admin::AdoAdmin;
pub use verify::{verify_token, AzureDevOps};

pub mod pats;

use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::{Auth, HostScope, Response};
use super::{body_message, ProviderError};
use crate::finding::Secret;

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

pub(super) fn url(base: &str, path: &[&str], query: &[(&str, &str)]) -> Result<Url, ProviderError> {
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
pub(super) enum Op {
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

pub(super) fn status_error(
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

pub(super) fn decode<T: for<'de> Deserialize<'de>>(
    what: &str,
    r: &Response,
) -> Result<T, ProviderError> {
    serde_json::from_slice(&r.body).map_err(|e| ProviderError::Decode {
        what: what.to_string(),
        reason: format!("invalid JSON ({e})"),
    })
}

/// A list in either documented shape: a bare array, or `{count, value: [...]}`.
pub(super) fn value_list(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        Value::Object(mut o) => match o.remove("value") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
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
