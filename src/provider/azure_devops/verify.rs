//! Leaked-token verification with the token alone: the profile API (org-less) says whether
//! a PAT is live and whose it is; with an organisation, connectionData adds the owner's
//! subject descriptor. Reads only.

use reqwest::Url;
use serde_json::Value;

use super::{decode, url, AdoUrls, PROFILE_API_VERSION};
use crate::finding::{Secret, VerificationStatus};
use crate::provider::http::{describe, Auth, HttpClient, Method, Request};
use crate::provider::{Checked, Endpoints, Owner, Provider, ProviderError};

/// Azure DevOps in the provider registry: verifies PATs with the PAT alone. Leaked PATs are
/// revoked through the organisation administrator's tokenadmin API (matched by C3ID, planned
/// by `authorizationId`), not by value, so it has no by-value [`crate::provider::Revoker`].
#[derive(Debug, Clone, Copy, Default)]
pub struct AzureDevOps;

impl Provider for AzureDevOps {
    fn id(&self) -> &'static str {
        "azure_devops"
    }

    fn rules(&self) -> &'static [&'static str] {
        &["azure_devops.pat", "azure_devops.pat_legacy"]
    }

    fn verify(
        &self,
        http: &HttpClient,
        ends: &Endpoints,
        secret: &Secret,
        ado_org: Option<&str>,
    ) -> Result<Checked, ProviderError> {
        verify_token(http, ends, secret, ado_org)
    }

    fn revocable(&self) -> bool {
        true
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
