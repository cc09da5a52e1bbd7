//! Acting on findings, a stage of its own: verify each token with its provider, plan the
//! revocation of the live ones, and (only with `yes`) execute it, auditing every step.
//!
//! The findings come from anywhere: this run's scan, a saved JSON report (`patrol act
//! --from`), a datastore. Steps of [`Stage::run`], each in its own file:
//! 1. `verify.rs`: each token checked with its provider (reads only);
//! 2. `plan.rs`: the live tokens to revoke (Azure DevOps: matched to their PAT by C3ID), and
//!    every finding that must be left alone, with why;
//! 3. `execute.rs`: the ONLY place a write request is decided; with `yes` it audits the plan
//!    (`Token.PatRevokePlanned`) before the first write, and sends nothing if it cannot;
//! 4. `outcome.rs`: what happened to each token.
//!
//! `lifecycle.rs` is the other stage here: a user's own PATs (`patrol pats`) created, renewed,
//! revoked and rotated, its writes also sent through `execute.rs`.
//!
//! Nothing here prints: the lines a person reads go to the caller's `say`.

pub mod execute;
pub mod lifecycle;
pub mod outcome;
pub mod plan;
pub mod select;
pub mod verify;

pub use execute::{
    audit_no_match, execute_ado, execute_by_value, execute_github, execute_gitlab, execute_rule,
    GateClosed,
};
pub use outcome::Outcome;
pub use plan::{
    ado_batches, is_live, match_leaked_ado, not_revocable, LeakMatch, PlanItem, RevokePlan,
    ADO_REVOKE_BATCH,
};
pub use select::Selection;
pub use verify::verify_findings;

use crate::audit::Auditor;
use crate::finding::{Finding, VerificationStatus};
use crate::provider::azure_devops::AdoAdmin;
use crate::provider::http::{Auth, HttpClient};
use crate::provider::{Endpoints, Owner, ProviderError, Registry};

/// Tokens checked at once by default.
pub const VERIFY_CONCURRENCY: usize = 4;

/// What the acting stage is asked to do.
#[derive(Debug, Clone, Default)]
pub struct ActConfig {
    /// Check each finding's token (`--verify`; implied by `revoke`).
    pub verify: bool,
    /// Plan revocation of the live tokens (`--revoke`).
    pub revoke: bool,
    /// Really revoke (`--yes`); without it, a dry run.
    pub yes: bool,
    /// The Azure DevOps organisation (`--ado-org`).
    pub ado_org: Option<String>,
    /// Where each provider lives (`--api-base`, `--github-api`, `--gitlab-url`).
    pub endpoints: Endpoints,
    /// Tokens checked at once.
    pub concurrency: usize,
}

/// The acting stage, ready to run: its configuration, the HTTP client, the Azure DevOps
/// admin credential (needed only to revoke Azure DevOps PATs) and the providers.
pub struct Stage<'a> {
    /// What to do.
    pub config: &'a ActConfig,
    /// The one HTTP client.
    pub http: &'a HttpClient,
    /// The admin credential, when Azure DevOps PATs may be revoked.
    pub admin: Option<Auth>,
    /// The providers.
    pub registry: &'a Registry,
}

/// How the stage ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActReport {
    /// Something could not be checked, revoked or audited: the run is incomplete (exit 2).
    pub incomplete: bool,
    /// Each revocation attempt's outcome (dry runs included), by the finding's fingerprint:
    /// what the owners' messages say about the token's state after this run.
    pub revoked: std::collections::HashMap<String, Outcome>,
}

impl Stage<'_> {
    /// Verifies (and with `revoke` revokes) `findings`, writing each verification into its
    /// finding. Every line for a person goes to `say`; every entry to `audit`.
    pub fn run(
        &self,
        findings: &mut [Finding],
        audit: &Auditor<'_>,
        say: &mut dyn FnMut(&str),
    ) -> Result<ActReport, ProviderError> {
        let c = self.config;
        let owners = verify_findings(
            self.registry,
            self.http,
            &c.endpoints,
            findings,
            c.ado_org.as_deref(),
            c.concurrency.max(1),
            audit,
        );
        let mut incomplete = findings.iter().any(|f| {
            f.verification
                .as_ref()
                .is_some_and(|v| v.status == VerificationStatus::Error)
        });
        let mut revoked = std::collections::HashMap::new();
        if c.revoke {
            incomplete |= self.revoke_leaked(findings, &owners, audit, say, &mut revoked)?;
        }
        for e in audit.errors() {
            say(&format!("patrol: {e}"));
            incomplete = true;
        }
        Ok(ActReport {
            incomplete,
            revoked,
        })
    }

    fn mode(&self) -> &'static str {
        if self.config.yes {
            "revoking"
        } else {
            "dry run (add --yes to revoke)"
        }
    }

    /// Returns whether anything was left undone.
    fn revoke_leaked(
        &self,
        findings: &[Finding],
        owners: &[Option<Owner>],
        audit: &Auditor<'_>,
        say: &mut dyn FnMut(&str),
        revoked: &mut std::collections::HashMap<String, Outcome>,
    ) -> Result<bool, ProviderError> {
        let c = self.config;
        let mut incomplete = false;
        for p in self.registry.iter() {
            let Some(revoker) = p.revoker() else { continue };
            let list: Vec<&Finding> = findings
                .iter()
                .filter(|f| f.provider == p.id() && is_live(f))
                .collect();
            if list.is_empty() {
                continue;
            }
            say(&format!(
                "patrol: {}: {}: {} live token(s)",
                p.id(),
                self.mode(),
                list.len()
            ));
            match execute_by_value(
                p.id(),
                revoker,
                self.http,
                &c.endpoints,
                &list,
                c.yes,
                audit,
            ) {
                Ok(res) => {
                    for (f, o) in list.iter().zip(&res) {
                        say(&outcome_line(
                            &format!("{} {}", f.rule, f.secret.redacted()),
                            o,
                        ));
                        revoked.insert(f.fingerprint.0.clone(), o.clone());
                        incomplete |= o.is_failure();
                    }
                }
                Err(e) => {
                    say(&format!("patrol: {}: {e}", p.id()));
                    incomplete = true;
                }
            }
        }
        for f in findings {
            if let Some(why) = not_revocable(f, self.registry) {
                say(&format!(
                    "patrol: not revoked: {} {} ({why})",
                    f.rule,
                    f.secret.redacted()
                ));
                incomplete = true;
            }
        }
        let ado: Vec<(usize, &Finding)> = findings
            .iter()
            .enumerate()
            .filter(|(_, f)| f.provider == "azure_devops" && is_live(f))
            .collect();
        if !ado.is_empty() {
            incomplete |= self.revoke_leaked_ado(&ado, owners, audit, say, revoked)?;
        }
        Ok(incomplete)
    }

    fn revoke_leaked_ado(
        &self,
        ado: &[(usize, &Finding)],
        owners: &[Option<Owner>],
        audit: &Auditor<'_>,
        say: &mut dyn FnMut(&str),
        revoked: &mut std::collections::HashMap<String, Outcome>,
    ) -> Result<bool, ProviderError> {
        let c = self.config;
        let Some(org) = c.ado_org.as_deref() else {
            say(&format!(
                "patrol: azure_devops: {} live token(s) not revoked: give --ado-org ORG",
                ado.len()
            ));
            return Ok(true);
        };
        let Some(cred) = self.admin.clone() else {
            return Err(ProviderError::NoAdminCredential);
        };
        let admin = AdoAdmin::new(self.http, org, c.endpoints.ado_api_base.as_deref(), cred)?;
        let mut plan = RevokePlan::default();
        let mut incomplete = false;
        for (i, f) in ado {
            let label = format!("{} {}", f.rule, f.secret.redacted());
            let Some(owner) = &owners[*i] else {
                say(&format!("patrol: {label}: owner unknown; nothing revoked"));
                incomplete = true;
                continue;
            };
            match match_leaked_ado(&admin, f, owner) {
                Ok(LeakMatch::Matched(item)) => plan.items.push(item),
                Ok(LeakMatch::NoMatch { user, candidates }) => {
                    say(&format!(
                        "patrol: {label}: no PAT of {} matches the token's crossCompanyCorrelatingId; nothing revoked. Candidates (revoke one with `patrol ado revoke --org {org} --user {} --name NAME`):",
                        user.upn, user.upn
                    ));
                    let mut p = RevokePlan::default();
                    p.add_user(&user, candidates.clone(), &Default::default());
                    for l in p.render() {
                        say(&l);
                    }
                    audit_no_match(audit, org, f, &user.upn, candidates.len(), c.yes);
                    incomplete = true;
                }
                Err(e) => {
                    say(&format!("patrol: {label}: {e}"));
                    incomplete = true;
                }
            }
        }
        if plan.items.is_empty() {
            return Ok(incomplete);
        }
        say(&format!(
            "patrol: azure_devops: {}: {} PAT(s) in {org}:",
            self.mode(),
            plan.items.len()
        ));
        for l in plan.render() {
            say(&l);
        }
        match execute_ado(&admin, &plan, c.yes, audit) {
            Ok(outcomes) => {
                for (item, o) in plan.items.iter().zip(&outcomes) {
                    say(&outcome_line(
                        &format!("{} {}", item.user.upn, item.token.authorization_id),
                        o,
                    ));
                    if let Some(fp) = &item.fingerprint {
                        revoked.insert(fp.0.clone(), o.clone());
                    }
                    incomplete |= o.is_failure();
                }
            }
            Err(e) => {
                say(&format!("patrol: azure_devops: {e}"));
                incomplete = true;
            }
        }
        Ok(incomplete)
    }
}

/// One line per token: `patrol: LABEL: revoked`, `... would revoke (dry run)`,
/// `... FAILED: reason`.
pub fn outcome_line(label: &str, o: &Outcome) -> String {
    format!("patrol: {label}: {}", o.text())
}
