//! Token providers: who owns a token, is it live, and the provider calls that revoke it.
//!
//! Each provider is a [`Provider`] (verify; optionally a [`Revoker`] with its batch size) in
//! one [`Registry`]: nothing else chooses a provider by its name. `http.rs` is the only HTTP
//! client policy; each provider file builds requests for its own documented endpoints and
//! maps statuses to explained errors. Nothing here decides whether a write is sent:
//! `act/execute.rs` does, and calls the write functions only when the user said `--yes`.

pub mod azure_devops;
pub mod c3id;
pub mod github;
pub mod gitlab;
pub mod http;

use crate::finding::{Secret, Verification, VerificationStatus};
use http::{GateOpen, HostScope, HttpClient};

/// An error talking to a provider. Messages name the method, origin and path, never a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The request was refused before sending (wrong host, plain http, bad override).
    #[error("refusing to send a credential to {url}: {reason}")]
    Policy {
        /// What was refused.
        url: String,
        /// Why.
        reason: String,
    },
    /// No answer within the timeout. A write may still have taken effect.
    #[error("{what}: timed out after {ms} ms")]
    Timeout {
        /// Method, origin and path.
        what: String,
        /// The timeout.
        ms: u64,
    },
    /// The connection failed.
    #[error("{what}: {reason}")]
    Transport {
        /// Method, origin and path.
        what: String,
        /// Why.
        reason: String,
    },
    /// The provider answered with an error status; `explain` says what to do about it.
    #[error("{what}: HTTP {status}: {explain}")]
    Status {
        /// Method, origin and path.
        what: String,
        /// Status code.
        status: u16,
        /// The explanation (missing permission, missing user...) and the provider's message.
        explain: String,
    },
    /// The response could not be understood.
    #[error("{what}: unexpected response: {reason}")]
    Decode {
        /// Method, origin and path.
        what: String,
        /// Why.
        reason: String,
    },
    /// A user named on the command line does not exist in the organisation.
    #[error("user {user} not found in organization {org}: {returned}")]
    UserNotFound {
        /// The UPN as given.
        user: String,
        /// The organisation.
        org: String,
        /// What the look-up returned instead (names only, never a credential).
        returned: String,
    },
    /// An admin credential is needed and none is set.
    #[error("no admin credential: set AZURE_DEVOPS_EXT_PAT (a PAT with the Token Administration scope, vso.tokenadministration) or AZURE_DEVOPS_ACCESS_TOKEN (an Entra bearer token)")]
    NoAdminCredential,
}

/// Where each provider lives: documented hosts, or the user's overrides.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    /// `--api-base`: replaces `https://dev.azure.com/{org}`, `https://vssps.dev.azure.com/{org}`
    /// and the profile host.
    pub ado_api_base: Option<String>,
    /// `--github-api`: replaces `https://api.github.com`.
    pub github_api: Option<String>,
    /// `--gitlab-url`: replaces `https://gitlab.com`.
    pub gitlab_url: Option<String>,
}

/// A base URL and the scope a credential may be sent to under it.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL without a trailing `/`.
    pub base: String,
    /// Origins allowed.
    pub scope: HostScope,
}

impl Target {
    /// The documented `https://{host}` or the override named by `flag`.
    pub fn new(
        flag: &str,
        over: Option<&str>,
        host: &str,
        extra_hosts: &[&str],
    ) -> Result<Self, ProviderError> {
        match over {
            Some(o) => {
                let (scope, base) = HostScope::from_override(flag, o)?;
                Ok(Self { base, scope })
            }
            None => {
                let mut hosts = vec![host];
                hosts.extend_from_slice(extra_hosts);
                Ok(Self {
                    base: format!("https://{host}"),
                    scope: HostScope::documented(&hosts),
                })
            }
        }
    }
}

/// Who a token belongs to, as far as the provider told.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owner {
    /// Display name.
    pub display_name: Option<String>,
    /// E-mail / UPN / login.
    pub name: Option<String>,
    /// Provider user id.
    pub id: Option<String>,
    /// Azure DevOps subject descriptor (from connectionData).
    pub subject_descriptor: Option<String>,
}

impl Owner {
    /// The best single label: name, else display name, else id.
    pub fn label(&self) -> Option<String> {
        self.name
            .clone()
            .or_else(|| self.display_name.clone())
            .or_else(|| self.id.clone())
    }
}

/// A check's result: the finding's verification, plus the owner details acting needs.
#[derive(Debug, Clone)]
pub struct Checked {
    /// For the report.
    pub verification: Verification,
    /// For the revocation plan.
    pub owner: Option<Owner>,
}

impl Checked {
    /// A result stamped now.
    pub fn new(status: VerificationStatus, owner: Option<Owner>, detail: String) -> Self {
        Self {
            verification: Verification {
                status,
                owner: owner.as_ref().and_then(Owner::label),
                checked_at: now_rfc3339(),
                detail,
            },
            owner,
        }
    }

    /// An `error` result from a provider error.
    pub fn error(e: &ProviderError) -> Self {
        Self::new(VerificationStatus::Error, None, e.to_string())
    }
}

/// A token provider: which rules' tokens it checks, how, and whether it can revoke them.
pub trait Provider: Send + Sync {
    /// The provider id, as rule files name it (`github`).
    fn id(&self) -> &'static str;
    /// The rule ids whose tokens [`Provider::verify`] checks.
    fn rules(&self) -> &'static [&'static str];
    /// Checks one token with the provider (reads only). `ado_org` is the Azure DevOps
    /// organisation given on the command line (others ignore it).
    fn verify(
        &self,
        http: &HttpClient,
        ends: &Endpoints,
        secret: &Secret,
        ado_org: Option<&str>,
    ) -> Result<Checked, ProviderError>;
    /// Revocation by the token's value, when the provider offers it.
    fn revoker(&self) -> Option<&dyn Revoker> {
        None
    }
    /// Whether `--revoke` can revoke this provider's live tokens at all (by value, or another
    /// way such as Azure DevOps' tokenadmin API).
    fn revocable(&self) -> bool {
        self.revoker().is_some()
    }
}

/// Revocation of leaked tokens by their value. Called only by `act/execute.rs`, after the
/// plan entry is in the audit log; each call is sent once (no retried writes).
pub trait Revoker: Send + Sync {
    /// Most tokens one [`Revoker::revoke`] call takes.
    fn batch_size(&self) -> usize;
    /// Revokes one batch (at most [`Revoker::batch_size`] tokens); `gate` is the write gate's
    /// say-so ([`GateOpen`]).
    fn revoke(
        &self,
        http: &HttpClient,
        ends: &Endpoints,
        batch: &[Secret],
        gate: GateOpen,
    ) -> Result<(), ProviderError>;
}

/// The providers patrol knows, looked up by rule id or provider id. A value, not a global:
/// [`Registry::builtin`] is cheap, and tests or embedders may build their own.
pub struct Registry {
    providers: Vec<Box<dyn Provider>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.providers.iter().map(|p| p.id()).collect();
        f.debug_struct("Registry").field("providers", &ids).finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Registry {
    /// Azure DevOps, GitHub and GitLab.
    pub fn builtin() -> Self {
        Self::new(vec![
            Box::new(azure_devops::AzureDevOps),
            Box::new(github::GitHub),
            Box::new(gitlab::GitLab),
        ])
    }

    /// A registry of exactly these providers.
    pub fn new(providers: Vec<Box<dyn Provider>>) -> Self {
        Self { providers }
    }

    /// The provider that checks tokens of `rule_id`.
    pub fn for_rule(&self, rule_id: &str) -> Option<&dyn Provider> {
        self.providers
            .iter()
            .find(|p| p.rules().contains(&rule_id))
            .map(|p| p.as_ref())
    }

    /// The provider with id `id`.
    pub fn get(&self, id: &str) -> Option<&dyn Provider> {
        self.providers
            .iter()
            .find(|p| p.id() == id)
            .map(|p| p.as_ref())
    }

    /// Every provider, in registry order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn Provider> {
        self.providers.iter().map(|p| p.as_ref())
    }

    /// Checks one token with its provider (reads only); `unknown` when no provider checks
    /// tokens of `rule_id`, `error` when the check failed.
    pub fn verify(
        &self,
        http: &HttpClient,
        ends: &Endpoints,
        rule_id: &str,
        secret: &Secret,
        ado_org: Option<&str>,
    ) -> Checked {
        match self.for_rule(rule_id) {
            Some(p) => p
                .verify(http, ends, secret, ado_org)
                .unwrap_or_else(|e| Checked::error(&e)),
            None => Checked::new(
                VerificationStatus::Unknown,
                None,
                format!("no verifier for {rule_id}"),
            ),
        }
    }
}

/// The provider that can check tokens of `rule_id`, if any.
pub fn verifier_for(rule_id: &str) -> Option<&'static str> {
    Registry::builtin().for_rule(rule_id).map(|p| p.id())
}

/// Checks one token with its provider (reads only). `ado_org` adds the connectionData call.
pub fn verify(
    http: &HttpClient,
    ends: &Endpoints,
    rule_id: &str,
    secret: &Secret,
    ado_org: Option<&str>,
) -> Checked {
    Registry::builtin().verify(http, ends, rule_id, secret, ado_org)
}

pub use crate::clock::now_rfc3339;

/// Longest provider message kept, in characters.
const MESSAGE_MAX: usize = 200;
/// A token prefix this long left at the cut is redacted too.
const PREFIX_MIN: usize = 8;

/// The provider's own message from an error body (`message` in JSON), short and on one line,
/// with every token `sent` in that request redacted. Redaction runs on the whole message before
/// it is shortened, and a cut that leaves the start of a sent token (8 characters or more) is
/// redacted as well, so no part of a token survives either way.
pub fn body_message(body: &[u8], sent: &[&Secret]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut msg = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str().map(str::to_string))
        })
        .unwrap_or_else(|| text.trim().to_string());
    for s in sent.iter().filter(|s| !s.expose().is_empty()) {
        msg = msg.replace(s.expose(), &s.redacted());
    }
    let mut one_line: String = msg
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MESSAGE_MAX)
        .collect();
    if msg.chars().count() > MESSAGE_MAX {
        for s in sent {
            let t = s.expose();
            let longest = (PREFIX_MIN..=t.len().min(one_line.len()))
                .rev()
                .filter(|&n| t.is_char_boundary(n))
                .find(|&n| one_line.ends_with(&t[..n]));
            if let Some(n) = longest {
                one_line.truncate(one_line.len() - n);
                one_line.push_str("<redacted>");
            }
        }
    }
    one_line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(seed: u64) -> Secret {
        Secret::new(crate::rules::sample::sample("github.pat_classic", seed).expect("sample"))
    }

    /// Every rule id a provider claims is a built-in rule of that provider, and each rule has at
    /// most one verifier: the registry cannot drift from the rule data.
    #[test]
    fn the_registry_names_real_rules_of_its_own_providers() {
        let rules = crate::rules::RuleSet::builtin().unwrap();
        let reg = Registry::builtin();
        let mut seen = std::collections::BTreeSet::new();
        for p in reg.iter() {
            assert!(!p.rules().is_empty(), "{}", p.id());
            for id in p.rules() {
                assert!(rules.get(id).is_some(), "{}: no built-in rule {id}", p.id());
                assert!(id.starts_with(&format!("{}.", p.id())), "{id}");
                assert!(seen.insert(*id), "{id} has two verifiers");
            }
        }
        assert_eq!(verifier_for("github.app_token"), Some("github"));
        assert_eq!(
            verifier_for("azure_devops.pat_legacy"),
            Some("azure_devops")
        );
        assert_eq!(verifier_for("npm.token"), None);
        assert!(reg.get("azure_devops").unwrap().revocable());
        assert!(reg.get("azure_devops").unwrap().revoker().is_none());
        assert_eq!(
            reg.get("github").unwrap().revoker().unwrap().batch_size(),
            1000
        );
        assert_eq!(
            reg.get("gitlab").unwrap().revoker().unwrap().batch_size(),
            1
        );
    }

    /// Regression test for review item 3: a token cut by the length limit must not survive.
    #[test]
    fn tokens_are_redacted_before_the_message_is_cut() {
        let a = token(1);
        let b = token(2);
        for pad in 150..200 {
            let msg = format!("{} {} {}", "x".repeat(pad), a.expose(), b.expose());
            let body = serde_json::json!({ "message": msg }).to_string();
            let out = body_message(body.as_bytes(), &[&a, &b]);
            for t in [&a, &b] {
                let head = &t.expose()[..PREFIX_MIN];
                assert!(
                    !out.contains(head),
                    "pad {pad}: token prefix left in {out:?}"
                );
            }
            assert!(out.chars().count() <= MESSAGE_MAX + "<redacted>".len());
        }
    }

    #[test]
    fn a_prefix_cut_by_the_limit_is_redacted_even_when_not_whole_in_the_body() {
        let a = token(3);
        let cut = &a.expose()[..20];
        let body = format!("{}{}", "y".repeat(MESSAGE_MAX - 20), cut) + &"z".repeat(30);
        let out = body_message(body.as_bytes(), &[&a]);
        assert!(!out.contains(&a.expose()[..PREFIX_MIN]), "{out:?}");
        assert!(out.ends_with("<redacted>"), "{out:?}");
    }

    #[test]
    fn short_messages_keep_their_text_with_sent_tokens_redacted() {
        let a = token(4);
        let body = serde_json::json!({ "message": format!("bad: {}", a.expose()) }).to_string();
        assert_eq!(
            body_message(body.as_bytes(), &[&a]),
            format!("bad: {}", a.redacted())
        );
        assert_eq!(body_message(b"  plain\ttext \n", &[]), "plain text");
    }
}
