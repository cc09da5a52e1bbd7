//! GitLab: `GET /api/v4/personal_access_tokens/self` tells whether a token is live and whose
//! it is; `DELETE /api/v4/personal_access_tokens/self` revokes it with itself.
//! `--gitlab-url URL` replaces `https://gitlab.com` (self-managed instances).

use reqwest::Url;
use serde_json::Value;

use super::http::{describe, Auth, GateOpen, HttpClient, Method, Request};
use super::{body_message, Checked, Endpoints, Owner, ProviderError, Target};
use crate::finding::{Secret, VerificationStatus};

const SELF_PATH: &str = "/api/v4/personal_access_tokens/self";

fn target(ends: &Endpoints) -> Result<(Target, Url), ProviderError> {
    let t = Target::new(
        "--gitlab-url",
        ends.gitlab_url.as_deref(),
        "gitlab.com",
        &[],
    )?;
    let u = Url::parse(&format!("{}{SELF_PATH}", t.base)).map_err(|e| ProviderError::Policy {
        url: t.base.clone(),
        reason: e.to_string(),
    })?;
    Ok((t, u))
}

/// GitLab in the provider registry: verifies with `GET …/personal_access_tokens/self`, and
/// each token revokes itself (a batch of one).
#[derive(Debug, Clone, Copy, Default)]
pub struct GitLab;

impl super::Provider for GitLab {
    fn id(&self) -> &'static str {
        "gitlab"
    }

    fn rules(&self) -> &'static [&'static str] {
        &["gitlab.pat", "gitlab.pat_routable"]
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

impl super::Revoker for GitLab {
    fn batch_size(&self) -> usize {
        1
    }

    fn revoke(
        &self,
        http: &HttpClient,
        ends: &Endpoints,
        batch: &[Secret],
        gate: GateOpen,
    ) -> Result<(), ProviderError> {
        batch
            .iter()
            .try_for_each(|s| revoke_self(http, ends, s, gate))
    }
}

/// `GET …/personal_access_tokens/self` with the token in `PRIVATE-TOKEN`.
pub fn verify_token(
    http: &HttpClient,
    ends: &Endpoints,
    token: &Secret,
) -> Result<Checked, ProviderError> {
    let (t, u) = target(ends)?;
    let req = Request {
        method: Method::Get,
        url: u,
        auth: Auth::Header("private-token", token.clone()),
        body: None,
    };
    let what = describe(&req);
    let r = http.send(&t.scope, &req)?;
    Ok(match r.status {
        200 => {
            let v: Value = serde_json::from_slice(&r.body).map_err(|e| ProviderError::Decode {
                what,
                reason: e.to_string(),
            })?;
            let live =
                v["active"].as_bool().unwrap_or(true) && !v["revoked"].as_bool().unwrap_or(false);
            let owner = Owner {
                display_name: v["name"].as_str().map(|n| format!("token {n}")),
                name: v["user_id"].as_u64().map(|i| format!("user id {i}")),
                id: v["user_id"].as_u64().map(|i| i.to_string()),
                subject_descriptor: None,
            };
            let status = if live {
                VerificationStatus::Live
            } else {
                VerificationStatus::RevokedOrInvalid
            };
            Checked::new(
                status,
                Some(owner),
                "personal_access_tokens/self: HTTP 200".into(),
            )
        }
        401 => Checked::new(
            VerificationStatus::RevokedOrInvalid,
            None,
            "personal_access_tokens/self: HTTP 401".into(),
        ),
        s => Checked::new(
            VerificationStatus::Error,
            None,
            format!(
                "personal_access_tokens/self: HTTP {s}: {}",
                body_message(&r.body, &[token])
            ),
        ),
    })
}

/// `DELETE …/personal_access_tokens/self`: the token revokes itself. Sent once.
pub(crate) fn revoke_self(
    http: &HttpClient,
    ends: &Endpoints,
    token: &Secret,
    _gate: GateOpen,
) -> Result<(), ProviderError> {
    let (t, u) = target(ends)?;
    let req = Request {
        method: Method::Delete,
        url: u,
        auth: Auth::Header("private-token", token.clone()),
        body: None,
    };
    let what = describe(&req);
    let r = http.send(&t.scope, &req)?;
    match r.status {
        200 | 204 => Ok(()),
        s => Err(ProviderError::Status {
            what,
            status: s,
            explain: match s {
                401 => "the token was rejected: already revoked or expired".into(),
                403 => "the token may not revoke itself (needs the api or self_rotate scope on older GitLab versions)".into(),
                _ => body_message(&r.body, &[token]),
            },
        }),
    }
}
