//! GitHub: `GET /user` tells whether a token is live and whose it is; `POST
//! /credentials/revoke` (unauthenticated, at most 1000 tokens per request) revokes classic and
//! fine-grained tokens by value. `--github-api URL` replaces `https://api.github.com`
//! (GitHub Enterprise Server: `https://HOST/api/v3`).

use reqwest::Url;
use serde_json::Value;

use super::http::{describe, Auth, GateOpen, HttpClient, Method, Request};
use super::{body_message, Checked, Endpoints, Owner, ProviderError, Target};
use crate::finding::{Secret, VerificationStatus};

/// Most tokens GitHub accepts in one `POST /credentials/revoke`.
pub const REVOKE_BATCH_MAX: usize = 1000;

/// GitHub in the provider registry: verifies with `GET /user`, revokes by value in batches.
#[derive(Debug, Clone, Copy, Default)]
pub struct GitHub;

impl super::Provider for GitHub {
    fn id(&self) -> &'static str {
        "github"
    }

    fn rules(&self) -> &'static [&'static str] {
        &[
            "github.pat_classic",
            "github.pat_fine_grained",
            "github.oauth_token",
            "github.app_token",
        ]
    }

    fn verify(
        &self,
        http: &HttpClient,
        ends: &Endpoints,
        secret: &Secret,
        _ado_org: Option<&str>,
    ) -> Result<Checked, ProviderError> {
        verify_token(http, ends, secret)
    }

    fn revoker(&self) -> Option<&dyn super::Revoker> {
        Some(self)
    }
}

impl super::Revoker for GitHub {
    fn batch_size(&self) -> usize {
        REVOKE_BATCH_MAX
    }

    fn revoke(
        &self,
        http: &HttpClient,
        ends: &Endpoints,
        batch: &[Secret],
        gate: GateOpen,
    ) -> Result<(), ProviderError> {
        revoke_batch(http, ends, batch, gate)
    }
}

fn target(ends: &Endpoints) -> Result<Target, ProviderError> {
    Target::new(
        "--github-api",
        ends.github_api.as_deref(),
        "api.github.com",
        &[],
    )
}

fn endpoint(t: &Target, path: &str) -> Result<Url, ProviderError> {
    Url::parse(&format!("{}{path}", t.base)).map_err(|e| ProviderError::Policy {
        url: t.base.clone(),
        reason: e.to_string(),
    })
}

/// `GET /user` with the token as bearer.
pub fn verify_token(
    http: &HttpClient,
    ends: &Endpoints,
    token: &Secret,
) -> Result<Checked, ProviderError> {
    let t = target(ends)?;
    let req = Request {
        method: Method::Get,
        url: endpoint(&t, "/user")?,
        auth: Auth::Bearer(token.clone()),
        body: None,
    };
    let what = describe(&req);
    let r = http.send(&t.scope, &req)?;
    Ok(match r.status {
        200 => {
            let v: Value = serde_json::from_slice(&r.body).map_err(|e| ProviderError::Decode {
                what: what.clone(),
                reason: e.to_string(),
            })?;
            let owner = Owner {
                display_name: v["name"].as_str().map(str::to_string),
                name: v["login"].as_str().map(str::to_string),
                id: v["id"].as_u64().map(|i| i.to_string()),
                subject_descriptor: None,
            };
            Checked::new(
                VerificationStatus::Live,
                Some(owner),
                "GET /user: HTTP 200".into(),
            )
        }
        401 => Checked::new(
            VerificationStatus::RevokedOrInvalid,
            None,
            "GET /user: HTTP 401 (bad credentials)".into(),
        ),
        s => Checked::new(
            if s == 403 {
                VerificationStatus::Unknown
            } else {
                VerificationStatus::Error
            },
            None,
            format!("GET /user: HTTP {s}: {}", body_message(&r.body, &[token])),
        ),
    })
}

/// One `POST /credentials/revoke` for at most [`REVOKE_BATCH_MAX`] tokens. Sent once;
/// GitHub answers 202 and revokes asynchronously.
pub(crate) fn revoke_batch(
    http: &HttpClient,
    ends: &Endpoints,
    tokens: &[Secret],
    _gate: GateOpen,
) -> Result<(), ProviderError> {
    assert!(tokens.len() <= REVOKE_BATCH_MAX, "caller splits batches");
    let t = target(ends)?;
    let creds: Vec<&str> = tokens.iter().map(Secret::expose).collect();
    let req = Request {
        method: Method::Post,
        url: endpoint(&t, "/credentials/revoke")?,
        auth: Auth::None,
        body: Some(serde_json::json!({ "credentials": creds })),
    };
    let what = describe(&req);
    let r = http.send(&t.scope, &req)?;
    if matches!(r.status, 200 | 202 | 204) {
        return Ok(());
    }
    let sent: Vec<&Secret> = tokens.iter().collect();
    let msg = body_message(&r.body, &sent);
    let explain = match r.status {
        422 => format!("GitHub rejected the request as invalid: {msg}"),
        429 | 403 => format!(
            "rate limited by GitHub (unauthenticated requests are limited); retry later: {msg}"
        ),
        _ => msg,
    };
    Err(ProviderError::Status {
        what,
        status: r.status,
        explain,
    })
}
