//! Revocation plans: exactly what would be revoked, decided before anything is sent.
//!
//! - Azure DevOps: a [`RevokePlan`] of PATs (user, `authorizationId`), from an administrator's
//!   selection (`patrol ado revoke`) or from leaked tokens matched to their PAT by C3ID
//!   ([`match_leaked_ado`], reads only); sent in per-user batches ([`ado_batches`]);
//! - every finding `--revoke` must leave alone is named, with why ([`not_revocable`]).

use time::OffsetDateTime;

use super::select::Selection;
use crate::finding::{Finding, Fingerprint, VerificationStatus};
use crate::provider::azure_devops::{AdoAdmin, AdoUser, SessionToken};
use crate::provider::{c3id, Owner, ProviderError, Registry};

/// Authorization ids per `POST _apis/tokenadmin/revocations`.
pub const ADO_REVOKE_BATCH: usize = 100;

/// One PAT planned for revocation.
#[derive(Debug, Clone)]
pub struct PlanItem {
    /// The owner.
    pub user: AdoUser,
    /// The PAT.
    pub token: SessionToken,
    /// The finding's fingerprint, in the leaked-token flow.
    pub fingerprint: Option<Fingerprint>,
}

/// Exactly the PATs that would be revoked, in order (user by user).
#[derive(Debug, Clone, Default)]
pub struct RevokePlan {
    /// The items.
    pub items: Vec<PlanItem>,
}

impl RevokePlan {
    /// Adds `user`'s PATs selected by `sel`.
    pub fn add_user(&mut self, user: &AdoUser, pats: Vec<SessionToken>, sel: &Selection) {
        let now = OffsetDateTime::now_utc();
        for t in pats.into_iter().filter(|t| sel.is_selected(t, now)) {
            self.items.push(PlanItem {
                user: user.clone(),
                token: t,
                fingerprint: None,
            });
        }
    }

    /// The plan as text, one line per PAT (not yet escaped for a terminal).
    pub fn render(&self) -> Vec<String> {
        let mut s = Vec::new();
        for i in &self.items {
            s.push(format!(
                "  {}  {}  {:?}  scope {:?}  valid {} .. {}",
                i.user.upn,
                i.token.authorization_id,
                i.token.display_name.as_deref().unwrap_or(""),
                i.token.scope.as_deref().unwrap_or(""),
                i.token.valid_from.as_deref().unwrap_or("?"),
                i.token.valid_to.as_deref().unwrap_or("?"),
            ));
        }
        s
    }
}

/// The batches a plan is sent in: per user, at most `max` ids each (index ranges into
/// `plan.items`).
pub fn ado_batches(plan: &RevokePlan, max: usize) -> Vec<std::ops::Range<usize>> {
    let max = max.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=plan.items.len() {
        let user_changes = i == plan.items.len()
            || plan.items[i].user.descriptor != plan.items[start].user.descriptor;
        if user_changes || i - start == max {
            out.push(start..i);
            start = i;
        }
    }
    out
}

/// Which of the owner's PATs is the leaked one.
#[derive(Debug, Clone)]
pub enum LeakMatch {
    /// Found by its C3ID.
    Matched(PlanItem),
    /// Not found: the owner's valid PATs, for the user to choose from (nothing is revoked).
    NoMatch {
        /// The owner.
        user: AdoUser,
        /// Their valid PATs.
        candidates: Vec<SessionToken>,
    },
}

/// Finds the leaked PAT among its owner's PATs by `crossCompanyCorrelatingId` (both C3ID
/// definitions). The owner comes from verification: its subject descriptor (connectionData)
/// or, failing that, its e-mail resolved through identities. Reads only.
pub fn match_leaked_ado(
    admin: &AdoAdmin<'_>,
    finding: &Finding,
    owner: &Owner,
) -> Result<LeakMatch, ProviderError> {
    let user = match (&owner.subject_descriptor, &owner.name) {
        (Some(d), name) => AdoUser {
            descriptor: d.clone(),
            upn: name.clone().unwrap_or_else(|| d.clone()),
            display_name: owner.display_name.clone().unwrap_or_default(),
        },
        (None, Some(name)) => admin.resolve_user(name)?,
        (None, None) => {
            return Err(ProviderError::Decode {
                what: "owner".into(),
                reason: "the provider did not tell who owns the token".into(),
            })
        }
    };
    let pats = admin.list_pats(&user)?;
    let secret = finding.secret.expose();
    if let Some(t) = pats.iter().find(|t| {
        t.is_valid != Some(false)
            && t.cross_company_correlating_id
                .as_deref()
                .is_some_and(|id| c3id::matches(secret, id))
    }) {
        return Ok(LeakMatch::Matched(PlanItem {
            user,
            token: t.clone(),
            fingerprint: Some(finding.fingerprint.clone()),
        }));
    }
    let candidates = pats
        .into_iter()
        .filter(|t| t.is_valid != Some(false))
        .collect();
    Ok(LeakMatch::NoMatch { user, candidates })
}

/// Why `--revoke` leaves a finding alone although it may still work: not checked, status
/// unknown or check failed, or live with no revoker for its provider in `registry`. `None`
/// for a live token patrol can revoke and for one already dead (nothing to do).
pub fn not_revocable(f: &Finding, registry: &Registry) -> Option<String> {
    let Some(v) = &f.verification else {
        return Some("not checked".into());
    };
    let revocable = registry.get(&f.provider).is_some_and(|p| p.revocable());
    match v.status {
        VerificationStatus::Live if revocable => None,
        VerificationStatus::Live => Some(format!("no revoker for {} tokens", f.provider)),
        VerificationStatus::RevokedOrInvalid => None,
        VerificationStatus::Unknown => Some(format!("status unknown: {}", v.detail)),
        VerificationStatus::Error => Some(format!("check failed: {}", v.detail)),
    }
}

/// Whether a verified finding is worth revoking (live).
pub fn is_live(f: &Finding) -> bool {
    f.verification
        .as_ref()
        .is_some_and(|v| v.status == VerificationStatus::Live)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(id: &str, name: &str, from: &str, to: &str, valid: bool) -> SessionToken {
        SessionToken {
            authorization_id: id.into(),
            display_name: Some(name.into()),
            valid_from: Some(from.into()),
            valid_to: Some(to.into()),
            is_valid: Some(valid),
            ..Default::default()
        }
    }

    fn user(d: &str) -> AdoUser {
        AdoUser {
            descriptor: d.into(),
            upn: format!("{d}@example.com"),
            display_name: d.into(),
        }
    }

    #[test]
    fn revocation_plans_skip_tokens_already_revoked() {
        let mut plan = RevokePlan::default();
        let sel = Selection {
            only_valid: true,
            ..Default::default()
        };
        plan.add_user(
            &user("u1"),
            vec![
                tok("a", "x", "2024-01-01", "2030-01-01", true),
                tok("b", "x", "2024-01-01", "2030-01-01", false),
            ],
            &sel,
        );
        let ids: Vec<_> = plan
            .items
            .iter()
            .map(|i| i.token.authorization_id.as_str())
            .collect();
        assert_eq!(ids, ["a"]);
    }

    #[test]
    fn batches_split_per_user_and_at_the_limit() {
        let mut plan = RevokePlan::default();
        let sel = Selection::default();
        let many: Vec<_> = (0..5)
            .map(|i| tok(&format!("a{i}"), "x", "2024-01-01", "2030-01-01", true))
            .collect();
        plan.add_user(&user("u1"), many, &sel);
        plan.add_user(
            &user("u2"),
            vec![tok("b", "x", "2024-01-01", "2030-01-01", true)],
            &sel,
        );
        assert_eq!(ado_batches(&plan, 2), vec![0..2, 2..4, 4..5, 5..6]);
        assert_eq!(ado_batches(&plan, 100), vec![0..5, 5..6]);
        assert!(ado_batches(&RevokePlan::default(), 100).is_empty());
    }

    fn finding(rule: &str, provider: &str, status: Option<VerificationStatus>) -> Finding {
        Finding {
            provider: provider.into(),
            verification: status.map(|s| crate::finding::Verification {
                status: s,
                owner: None,
                checked_at: String::new(),
                detail: format!("no verifier for {rule}"),
            }),
            ..crate::finding::sample::finding(rule, "abcdefghijklmnopqrstuvwxyz0123456789")
        }
    }

    /// Regression test for review item 6: what `--revoke` cannot revoke is named, not skipped.
    #[test]
    fn findings_that_may_still_work_but_cannot_be_revoked_say_why() {
        use VerificationStatus::*;
        let unknown = finding("aws.access_key", "aws", Some(Unknown));
        assert_eq!(
            not_revocable(&unknown, &Registry::builtin()).unwrap(),
            "status unknown: no verifier for aws.access_key"
        );
        assert!(not_revocable(
            &finding("github.pat_classic", "github", Some(Error)),
            &Registry::builtin()
        )
        .unwrap()
        .starts_with("check failed"));
        assert_eq!(
            not_revocable(&finding("x.y", "x", Some(Live)), &Registry::builtin()).unwrap(),
            "no revoker for x tokens"
        );
        assert_eq!(
            not_revocable(&finding("x.y", "x", None), &Registry::builtin()).unwrap(),
            "not checked"
        );
        assert_eq!(
            not_revocable(
                &finding("github.pat_classic", "github", Some(Live)),
                &Registry::builtin()
            ),
            None
        );
        assert_eq!(
            not_revocable(
                &finding("gitlab.pat", "gitlab", Some(RevokedOrInvalid)),
                &Registry::builtin()
            ),
            None
        );
    }

    #[test]
    fn github_batches_hold_at_most_1000_tokens() {
        let sizes: Vec<usize> = (0..2500)
            .collect::<Vec<_>>()
            .chunks(crate::provider::github::REVOKE_BATCH_MAX)
            .map(<[_]>::len)
            .collect();
        assert_eq!(sizes, [1000, 1000, 500]);
    }
}
