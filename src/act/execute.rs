//! The one place that decides whether a write request is sent to a provider.
//!
//! Contract (every `--yes` path comes through here: `patrol ado revoke`, `scan --revoke`,
//! `act --from --revoke`, GitHub and GitLab revocation, revocation rules):
//! - Nothing is written without `yes`: a dry run goes through the same plan, sends nothing,
//!   and records a `Token.PatRevokeDryRun` (or `Token.RevocationRuleDryRun`) entry per token.
//! - With `yes`, a `Token.PatRevokePlanned` entry naming every authorization (Azure DevOps
//!   `authorizationId`) or redacted token about to be revoked is written BEFORE the first
//!   write request. If it cannot be written, nothing is sent: [`GateClosed`], and the caller
//!   exits 2.
//! - Every token in a plan gets an [`Outcome`] and an audit entry, whatever happens to the
//!   others: a failed batch marks each of its tokens failed with the reason.
//! - Writes are sent once (see `provider/http.rs`); a timed-out revocation is reported as
//!   failed with a note that it may still have happened.
//! - A user's own PATs (`patrol pats`, through `act/lifecycle.rs`): revoking one audits the
//!   plan first, as above; creating or renewing one is what the command itself asks for (no
//!   `--yes`), so [`create_own_pat`] and [`renew_own_pat`] send at once and the lifecycle
//!   stage records the outcome.
//! - Every provider function that sends a write takes a [`GateOpen`], and outside `provider/`
//!   only this file names that type (`tests/integration/layering.rs` checks it on the source):
//!   a write added anywhere else does not compile, or fails that test.
//! - Audit entries carry the target user, authorization id, fingerprint and outcome; never a
//!   whole secret.

use super::outcome::Outcome;
use super::plan::{ado_batches, PlanItem, RevokePlan, ADO_REVOKE_BATCH};
use crate::audit::{self, AdoPat, AuditError, Auditor};
use crate::finding::{Finding, Secret};
use crate::provider::azure_devops::pats::{NewPat, PatCreate, PatToken, PatsClient, PatsError};
use crate::provider::azure_devops::AdoAdmin;
use crate::provider::http::{GateOpen, HttpClient};
use crate::provider::{github, gitlab, Endpoints, ProviderError, Revoker};

/// The plan entry could not be written, so nothing was revoked.
#[derive(Debug, thiserror::Error)]
#[error("nothing revoked: the audit log cannot be written ({0})")]
pub struct GateClosed(#[source] pub AuditError);

/// Writes the plan entry, then lets writes through; or says why nothing may be sent.
fn open_gate(audit: &Auditor<'_>, entry: audit::Entry) -> Result<GateOpen, GateClosed> {
    audit.try_record(entry).map_err(GateClosed)?;
    Ok(GateOpen::decided_by_act_execute())
}

/// The gate's say-so for a write that needs no plan entry (a dry run never reaches one).
fn decided() -> GateOpen {
    GateOpen::decided_by_act_execute()
}

fn failure(e: ProviderError) -> Outcome {
    match e {
        e @ ProviderError::Timeout { .. } => Outcome::Failed(format!(
            "{e} (the revocation may still have happened; run again to check)"
        )),
        e => Outcome::Failed(e.to_string()),
    }
}

/// Runs an Azure DevOps plan: with `yes`, audits the plan, then revokes each batch once;
/// without, records dry-run entries only. One outcome per item, in plan order.
pub fn execute_ado(
    admin: &AdoAdmin<'_>,
    plan: &RevokePlan,
    yes: bool,
    audit: &Auditor<'_>,
) -> Result<Vec<Outcome>, GateClosed> {
    let gate = if yes && !plan.items.is_empty() {
        let ids: Vec<&str> = plan
            .items
            .iter()
            .map(|i| i.token.authorization_id.as_str())
            .collect();
        Some(open_gate(
            audit,
            audit::ado_revoke_planned(admin.org(), &ids),
        )?)
    } else {
        None
    };
    let mut out = Vec::with_capacity(plan.items.len());
    for range in ado_batches(plan, ADO_REVOKE_BATCH) {
        let items = &plan.items[range];
        let outcome = if let Some(gate) = gate {
            let ids: Vec<String> = items
                .iter()
                .map(|i| i.token.authorization_id.clone())
                .collect();
            admin
                .revoke(&ids, gate)
                .map_or_else(failure, |()| Outcome::Revoked)
        } else {
            Outcome::DryRun
        };
        for i in items {
            audit.record(audit::ado_pat_revoke(
                &ado_pat(admin.org(), i),
                outcome.as_str(),
                outcome.reason(),
            ));
            out.push(outcome.clone());
        }
    }
    Ok(out)
}

fn ado_pat<'a>(org: &'a str, i: &'a PlanItem) -> AdoPat<'a> {
    AdoPat {
        org,
        user: &i.user.upn,
        descriptor: &i.user.descriptor,
        authorization_id: &i.token.authorization_id,
        display_name: i.token.display_name.as_deref(),
        fingerprint: i.fingerprint.as_ref(),
    }
}

/// Creates (with `yes`) or describes (dry run) a revocation rule; audits either way.
pub fn execute_rule(
    admin: &AdoAdmin<'_>,
    created_before: &str,
    scopes: &str,
    yes: bool,
    audit: &Auditor<'_>,
) -> Outcome {
    let outcome = if yes {
        admin
            .create_revocation_rule(created_before, scopes, decided())
            .map_or_else(|e| Outcome::Failed(e.to_string()), |()| Outcome::Revoked)
    } else {
        Outcome::DryRun
    };
    audit.record(audit::revocation_rule(
        admin.org(),
        created_before,
        scopes,
        yes,
        outcome.as_str(),
        outcome.reason(),
    ));
    outcome
}

/// Records that a leaked Azure DevOps token could not be matched (nothing revoked).
pub fn audit_no_match(
    audit: &Auditor<'_>,
    org: &str,
    f: &Finding,
    user: &str,
    n: usize,
    yes: bool,
) {
    audit.record(audit::ado_no_match(org, f, user, n, yes));
}

/// Revokes leaked tokens by value through `revoker` in batches of its size: with `yes`,
/// audits the plan first; without, records dry-run entries only. One outcome per finding.
pub fn execute_by_value(
    provider: &str,
    revoker: &dyn Revoker,
    http: &HttpClient,
    ends: &Endpoints,
    findings: &[&Finding],
    yes: bool,
    audit: &Auditor<'_>,
) -> Result<Vec<Outcome>, GateClosed> {
    let gate = if yes && !findings.is_empty() {
        Some(open_gate(
            audit,
            audit::token_revoke_planned(provider, findings),
        )?)
    } else {
        None
    };
    let mut out = Vec::with_capacity(findings.len());
    for chunk in findings.chunks(revoker.batch_size().max(1)) {
        let outcome = if let Some(gate) = gate {
            let secrets: Vec<Secret> = chunk.iter().map(|f| f.secret.clone()).collect();
            revoker
                .revoke(http, ends, &secrets, gate)
                .map_or_else(|e| Outcome::Failed(e.to_string()), |()| Outcome::Revoked)
        } else {
            Outcome::DryRun
        };
        for f in chunk {
            audit.record(audit::token_revoke(
                provider,
                f,
                outcome.as_str(),
                outcome.reason(),
            ));
            out.push(outcome.clone());
        }
    }
    Ok(out)
}

/// Revokes leaked GitHub tokens by value in batches of at most 1000 (dry run without `yes`).
pub fn execute_github(
    http: &HttpClient,
    ends: &Endpoints,
    findings: &[&Finding],
    yes: bool,
    audit: &Auditor<'_>,
) -> Result<Vec<Outcome>, GateClosed> {
    execute_by_value("github", &github::GitHub, http, ends, findings, yes, audit)
}

/// Revokes leaked GitLab tokens with themselves (dry run without `yes`).
pub fn execute_gitlab(
    http: &HttpClient,
    ends: &Endpoints,
    findings: &[&Finding],
    yes: bool,
    audit: &Auditor<'_>,
) -> Result<Vec<Outcome>, GateClosed> {
    execute_by_value("gitlab", &gitlab::GitLab, http, ends, findings, yes, audit)
}

/// Why a self-service revocation (`patrol pats revoke|rotate --yes`) was not done.
#[derive(Debug, thiserror::Error)]
pub enum OwnRevokeError {
    /// The plan entry could not be written: nothing was sent.
    #[error(transparent)]
    Gate(#[from] GateClosed),
    /// The PAT Lifecycle API refused or failed.
    #[error(transparent)]
    Api(#[from] PatsError),
}

/// Revokes one of the signed-in user's own PATs through the PAT Lifecycle API: audits the
/// plan (`Token.PatRevokePlanned` naming the `authorizationId`) first, and sends nothing if
/// that entry cannot be written. The caller records the outcome entry.
pub fn revoke_own_pat(
    client: &PatsClient<'_>,
    org: &str,
    authorization_id: &str,
    audit: &Auditor<'_>,
) -> Result<(), OwnRevokeError> {
    let gate = open_gate(audit, audit::ado_revoke_planned(org, &[authorization_id]))?;
    Ok(client.revoke(authorization_id, gate)?)
}

/// Creates a PAT for the signed-in user (`patrol pats create`, and the first step of
/// `rotate`): sent once, at once; the caller records the outcome entry.
pub fn create_own_pat(client: &PatsClient<'_>, req: &PatCreate) -> Result<NewPat, PatsError> {
    client.create(req, decided())
}

/// Moves one of the signed-in user's own PATs' expiry to `valid_to` (`patrol pats renew`):
/// sent once, at once; the caller checks first that the PAT has not expired, and records the
/// outcome entry.
pub fn renew_own_pat(
    client: &PatsClient<'_>,
    pat: &PatToken,
    valid_to: &str,
) -> Result<PatToken, PatsError> {
    client.update(pat, valid_to, decided())
}
