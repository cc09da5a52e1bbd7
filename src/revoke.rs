//! Acting on findings and on an organisation's PATs: verify -> plan -> (print) -> execute ->
//! audit. This is the one place that decides whether a write request is sent.
//!
//! Contract:
//! - Nothing is written without `yes`: a dry run builds the same plan, sends only reads, and
//!   records a `Token.PatRevokeDryRun` (or `Token.RevocationRuleDryRun`) entry per token.
//! - Every token in a plan gets an [`Outcome`] and an audit entry, whatever happens to the
//!   others: a failed batch marks each of its tokens failed with the reason, and the caller
//!   exits 2. Plans select only tokens that are still valid, so running again revokes only
//!   what is left.
//! - Writes are sent once (see `provider/http.rs`); a timed-out revocation is reported as
//!   failed with a note that it may still have happened.
//! - Audit entries carry the target user, authorization id, fingerprint and outcome; never a
//!   whole secret.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::audit::{AuditContext, AuditLog};
use crate::finding::{Finding, Fingerprint, Secret, VerificationStatus};
use crate::provider::azure_devops::{AdoAdmin, AdoUser, SessionToken};
use crate::provider::http::HttpClient;
use crate::provider::{self, c3id, github, gitlab, Checked, Endpoints, Owner, ProviderError};

/// Authorization ids per `POST _apis/tokenadmin/revocations`.
pub const ADO_REVOKE_BATCH: usize = 100;

/// Writes audit entries of one activity (or nothing when no `--audit-log` was given).
pub struct Auditor<'a> {
    log: Option<&'a AuditLog>,
    ctx: AuditContext,
    activity_id: String,
    errors: Mutex<Vec<String>>,
}

impl<'a> Auditor<'a> {
    /// An auditor for one activity.
    pub fn new(log: Option<&'a AuditLog>, ctx: AuditContext) -> Self {
        Self {
            log,
            ctx,
            activity_id: uuid::Uuid::new_v4().to_string(),
            errors: Mutex::new(Vec::new()),
        }
    }

    /// Appends one entry; a write error is kept for [`Auditor::errors`] (the caller exits 2).
    pub fn record(
        &self,
        action_id: &str,
        category: &str,
        details: String,
        data: serde_json::Value,
    ) {
        let Some(log) = self.log else { return };
        let e = self
            .ctx
            .event(&self.activity_id, action_id, category, details, data);
        if let Err(err) = log.append(&e) {
            self.errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(err.to_string());
        }
    }

    /// Audit writes that failed.
    pub fn errors(&self) -> Vec<String> {
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// What happened to one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Dry run: would have been revoked.
    DryRun,
    /// Revoked (the provider accepted the request).
    Revoked,
    /// Not revoked: why.
    Failed(String),
    /// Nothing to revoke (the leaked token was not found among the owner's PATs, or is
    /// already dead); the reason says which.
    Skipped(String),
}

impl Outcome {
    /// The audit spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::DryRun => "dry_run",
            Outcome::Revoked => "revoked",
            Outcome::Failed(_) => "failed",
            Outcome::Skipped(_) => "skipped",
        }
    }

    /// The reason, if any.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Failed(r) | Outcome::Skipped(r) => Some(r),
            _ => None,
        }
    }

    /// Whether this outcome makes the run incomplete (exit 2).
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed(_) | Outcome::Skipped(_))
    }
}

// ---------------------------------------------------------------- selection

/// Which of a user's PATs a command is about.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--created-after`: `validFrom` strictly after this.
    pub created_after: Option<OffsetDateTime>,
    /// `--name GLOB`: display name matches (case-insensitive).
    pub name: Option<globset::GlobMatcher>,
    /// `--expiring-within DAYS`: `validTo` between now and now + this.
    pub expiring_within: Option<Duration>,
    /// Only tokens not yet revoked (`isValid` not false); set for revocation plans.
    pub only_valid: bool,
}

impl Selection {
    /// A glob for `--name`, case-insensitive.
    pub fn name_glob(pattern: &str) -> Result<globset::GlobMatcher, globset::Error> {
        Ok(globset::GlobBuilder::new(pattern)
            .case_insensitive(true)
            .literal_separator(false)
            .build()?
            .compile_matcher())
    }

    /// Whether `t` is selected at time `now`.
    pub fn is_selected(&self, t: &SessionToken, now: OffsetDateTime) -> bool {
        if self.only_valid && t.is_valid == Some(false) {
            return false;
        }
        if let Some(after) = self.created_after {
            match t.valid_from.as_deref().and_then(parse_time) {
                Some(from) if from > after => {}
                _ => return false,
            }
        }
        if let Some(g) = &self.name {
            if !g.is_match(t.display_name.as_deref().unwrap_or("")) {
                return false;
            }
        }
        if let Some(within) = self.expiring_within {
            match t.valid_to.as_deref().and_then(parse_time) {
                // A window past the end of the calendar has no upper bound.
                Some(to) if to >= now && now.checked_add(within).is_none_or(|end| to <= end) => {}
                _ => return false,
            }
        }
        true
    }
}

/// Parses the service's times (`2018-07-19T00:00:00`, with or without fraction and offset;
/// no offset means UTC) and the user's (`2024-05-01`, RFC 3339).
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    if let Ok(t) = time::PrimitiveDateTime::parse(s, &fmt) {
        return Some(t.assume_utc());
    }
    let day = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &day)
        .ok()
        .map(|d| d.midnight().assume_utc())
}

/// RFC 3339 (UTC, seconds) for request bodies; `None` when the time is out of range in UTC
/// (e.g. `9999-12-31T23:59:59-10:00`).
pub fn format_time(t: OffsetDateTime) -> Option<String> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.checked_to_offset(time::UtcOffset::UTC)?.format(&fmt).ok()
}

// ---------------------------------------------------------------- Azure DevOps plans

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

/// Runs a plan: with `yes`, revokes each batch once; without, records dry-run entries only.
/// One outcome per item, in plan order.
pub fn execute_ado(
    admin: &AdoAdmin<'_>,
    plan: &RevokePlan,
    yes: bool,
    audit: &Auditor<'_>,
) -> Vec<Outcome> {
    let mut out = Vec::with_capacity(plan.items.len());
    for range in ado_batches(plan, ADO_REVOKE_BATCH) {
        let items = &plan.items[range];
        let outcome = if yes {
            let ids: Vec<String> = items
                .iter()
                .map(|i| i.token.authorization_id.clone())
                .collect();
            match admin.revoke(&ids) {
                Ok(()) => Outcome::Revoked,
                Err(e @ ProviderError::Timeout { .. }) => Outcome::Failed(format!(
                    "{e} (the revocation may still have happened; run again to check)"
                )),
                Err(e) => Outcome::Failed(e.to_string()),
            }
        } else {
            Outcome::DryRun
        };
        for i in items {
            audit_ado_item(audit, admin.org(), i, &outcome);
            out.push(outcome.clone());
        }
    }
    out
}

fn audit_ado_item(audit: &Auditor<'_>, org: &str, i: &PlanItem, o: &Outcome) {
    let action = if *o == Outcome::DryRun {
        "Token.PatRevokeDryRun"
    } else {
        "Token.PatRevokeEvent"
    };
    let details = format!(
        "{} personal access token {} of {} in {org}.",
        match o {
            Outcome::DryRun => "Would revoke",
            Outcome::Revoked => "Revoked",
            Outcome::Failed(_) => "Failed to revoke",
            Outcome::Skipped(_) => "Skipped",
        },
        i.token.authorization_id,
        i.user.upn
    );
    audit.record(
        action,
        "Remove",
        details,
        json!({
            "provider": "azure_devops",
            "organization": org,
            "targetUser": i.user.upn,
            "targetSubjectDescriptor": i.user.descriptor,
            "authorizationId": i.token.authorization_id,
            "displayName": i.token.display_name,
            "fingerprint": i.fingerprint,
            "outcome": o.as_str(),
            "reason": o.reason(),
        }),
    );
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
        match admin.create_revocation_rule(created_before, scopes) {
            Ok(()) => Outcome::Revoked,
            Err(e) => Outcome::Failed(e.to_string()),
        }
    } else {
        Outcome::DryRun
    };
    let action = if yes {
        "Token.RevocationRuleCreated"
    } else {
        "Token.RevocationRuleDryRun"
    };
    audit.record(
        action,
        "Create",
        format!(
            "Revocation rule in {} for tokens created before {created_before} with scopes {scopes:?}: {}.",
            admin.org(),
            o_word(&outcome)
        ),
        json!({
            "provider": "azure_devops",
            "organization": admin.org(),
            "createdBefore": created_before,
            "scopes": scopes,
            "outcome": outcome.as_str(),
            "reason": outcome.reason(),
        }),
    );
    outcome
}

fn o_word(o: &Outcome) -> &'static str {
    match o {
        Outcome::DryRun => "dry run",
        Outcome::Revoked => "created",
        Outcome::Failed(_) => "failed",
        Outcome::Skipped(_) => "skipped",
    }
}

// ---------------------------------------------------------------- verification

/// Checks every finding with its provider, at most `concurrency` at a time, sets
/// `finding.verification` and records one `Patrol.SecretVerified` entry each. Returns the
/// owners (same order as `findings`) for the revocation stage. Reads only.
pub fn verify_findings(
    http: &HttpClient,
    ends: &Endpoints,
    findings: &mut [Finding],
    ado_org: Option<&str>,
    concurrency: usize,
    audit: &Auditor<'_>,
) -> Vec<Option<Owner>> {
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Checked>>> = findings.iter().map(|_| Mutex::new(None)).collect();
    let shared: &[Finding] = findings;
    std::thread::scope(|s| {
        for _ in 0..concurrency.clamp(1, 16).min(shared.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(f) = shared.get(i) else { break };
                let c = provider::verify(http, ends, &f.rule, &f.secret, ado_org);
                *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(c);
            });
        }
    });
    let mut owners = Vec::with_capacity(findings.len());
    for (f, r) in findings.iter_mut().zip(results) {
        let c = r
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .expect("every finding was checked");
        audit.record(
            "Patrol.SecretVerified",
            "Access",
            format!(
                "Checked a {} token with its provider: {}.",
                f.rule,
                c.verification.status.as_str()
            ),
            json!({
                "rule": f.rule,
                "provider": f.provider,
                "fingerprint": f.fingerprint,
                "redacted": f.secret.redacted(),
                "outcome": c.verification.status.as_str(),
                "targetUser": c.verification.owner,
                "detail": c.verification.detail,
            }),
        );
        f.verification = Some(c.verification);
        owners.push(c.owner);
    }
    owners
}

// ---------------------------------------------------------------- leaked tokens

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

/// Records that a leaked ADO token could not be matched (nothing revoked).
pub fn audit_no_match(
    audit: &Auditor<'_>,
    org: &str,
    f: &Finding,
    user: &str,
    n: usize,
    yes: bool,
) {
    audit.record(
        if yes {
            "Token.PatRevokeEvent"
        } else {
            "Token.PatRevokeDryRun"
        },
        "Remove",
        format!("Leaked token not found among the {n} PAT(s) of {user} in {org}; nothing revoked."),
        json!({
            "provider": "azure_devops",
            "organization": org,
            "targetUser": user,
            "authorizationId": null,
            "fingerprint": f.fingerprint,
            "outcome": "skipped",
            "reason": "no PAT matched the token's crossCompanyCorrelatingId",
        }),
    );
}

/// Revokes leaked GitHub tokens by value in batches of at most 1000 (dry run without `yes`).
pub fn execute_github(
    http: &HttpClient,
    ends: &Endpoints,
    findings: &[&Finding],
    yes: bool,
    audit: &Auditor<'_>,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    for chunk in findings.chunks(github::REVOKE_BATCH_MAX) {
        let outcome = if yes {
            let secrets: Vec<Secret> = chunk.iter().map(|f| f.secret.clone()).collect();
            match github::revoke_batch(http, ends, &secrets) {
                Ok(()) => Outcome::Revoked,
                Err(e) => Outcome::Failed(e.to_string()),
            }
        } else {
            Outcome::DryRun
        };
        for f in chunk {
            audit_token(audit, "github", f, &outcome);
            out.push(outcome.clone());
        }
    }
    out
}

/// Revokes leaked GitLab tokens with themselves (dry run without `yes`).
pub fn execute_gitlab(
    http: &HttpClient,
    ends: &Endpoints,
    findings: &[&Finding],
    yes: bool,
    audit: &Auditor<'_>,
) -> Vec<Outcome> {
    findings
        .iter()
        .map(|f| {
            let outcome = if yes {
                match gitlab::revoke_self(http, ends, &f.secret) {
                    Ok(()) => Outcome::Revoked,
                    Err(e) => Outcome::Failed(e.to_string()),
                }
            } else {
                Outcome::DryRun
            };
            audit_token(audit, "gitlab", f, &outcome);
            outcome
        })
        .collect()
}

fn audit_token(audit: &Auditor<'_>, provider: &str, f: &Finding, o: &Outcome) {
    let owner = f.verification.as_ref().and_then(|v| v.owner.clone());
    audit.record(
        if *o == Outcome::DryRun {
            "Token.PatRevokeDryRun"
        } else {
            "Token.PatRevokeEvent"
        },
        "Remove",
        format!(
            "{} {} token {} ({}).",
            o_verb(o),
            provider,
            f.secret.redacted(),
            f.rule
        ),
        json!({
            "provider": provider,
            "rule": f.rule,
            "targetUser": owner,
            "authorizationId": null,
            "fingerprint": f.fingerprint,
            "outcome": o.as_str(),
            "reason": o.reason(),
        }),
    );
}

fn o_verb(o: &Outcome) -> &'static str {
    match o {
        Outcome::DryRun => "Would revoke",
        Outcome::Revoked => "Revoked",
        Outcome::Failed(_) => "Failed to revoke",
        Outcome::Skipped(_) => "Skipped",
    }
}

/// Providers `--revoke` can revoke tokens of.
pub const REVOKERS: [&str; 3] = ["azure_devops", "github", "gitlab"];

/// Why `--revoke` leaves a finding alone although it may still work: not checked, status
/// unknown or check failed, or live with no revoker for its provider. `None` for a live token
/// patrol can revoke and for one already dead (nothing to do).
pub fn not_revocable(f: &Finding) -> Option<String> {
    let Some(v) = &f.verification else {
        return Some("not checked".into());
    };
    match v.status {
        VerificationStatus::Live if REVOKERS.contains(&f.provider.as_str()) => None,
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
    fn service_and_user_times_parse() {
        let a = parse_time("2018-07-19T00:00:00").unwrap();
        assert_eq!(a, parse_time("2018-07-19").unwrap());
        assert_eq!(a, parse_time("2018-07-19T00:00:00Z").unwrap());
        assert!(parse_time("2018-07-18T00:51:26.5557358-07:00").is_some());
        assert!(parse_time("2018-07-19T00:00:00.123").is_some());
        assert!(parse_time("yesterday").is_none());
        assert_eq!(format_time(a).unwrap(), "2018-07-19T00:00:00Z");
    }

    /// Regression test for review item 8: command-line extremes are errors, not panics.
    #[test]
    fn times_and_windows_past_the_calendar_do_not_panic() {
        let late = parse_time("9999-12-31T23:59:59-10:00").unwrap();
        assert_eq!(format_time(late), None);
        let sel = Selection {
            expiring_within: Some(Duration::days(4_000_000_000)),
            ..Default::default()
        };
        let now = OffsetDateTime::now_utc();
        assert!(sel.is_selected(&tok("a", "x", "2024-01-01", "2099-01-01", true), now));
        assert!(!sel.is_selected(&tok("b", "x", "2024-01-01", "2000-01-01", true), now));
    }

    #[test]
    fn created_after_selects_strictly_later_tokens() {
        let sel = Selection {
            created_after: parse_time("2024-05-01"),
            ..Default::default()
        };
        let now = OffsetDateTime::now_utc();
        assert!(sel.is_selected(
            &tok("a", "x", "2024-05-02T00:00:00", "2030-01-01", true),
            now
        ));
        assert!(!sel.is_selected(
            &tok("b", "x", "2024-04-30T23:59:59", "2030-01-01", true),
            now
        ));
        let mut no_date = tok("c", "x", "", "", true);
        no_date.valid_from = None;
        assert!(!sel.is_selected(&no_date, now));
    }

    #[test]
    fn name_glob_is_case_insensitive_and_anchored() {
        let sel = Selection {
            name: Some(Selection::name_glob("ci-*").unwrap()),
            ..Default::default()
        };
        let now = OffsetDateTime::now_utc();
        assert!(sel.is_selected(&tok("a", "CI-build", "2024-01-01", "2030-01-01", true), now));
        assert!(!sel.is_selected(
            &tok("b", "my ci-build", "2024-01-01", "2030-01-01", true),
            now
        ));
    }

    #[test]
    fn expiring_within_keeps_only_tokens_ending_in_the_window() {
        let now = parse_time("2025-01-01T00:00:00Z").unwrap();
        let sel = Selection {
            expiring_within: Some(Duration::days(30)),
            ..Default::default()
        };
        assert!(sel.is_selected(
            &tok("a", "x", "2024-01-01", "2025-01-20T00:00:00", true),
            now
        ));
        assert!(!sel.is_selected(
            &tok("b", "x", "2024-01-01", "2025-03-01T00:00:00", true),
            now
        ));
        assert!(!sel.is_selected(
            &tok("c", "x", "2024-01-01", "2024-12-01T00:00:00", true),
            now
        ));
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
            not_revocable(&unknown).unwrap(),
            "status unknown: no verifier for aws.access_key"
        );
        assert!(
            not_revocable(&finding("github.pat_classic", "github", Some(Error)))
                .unwrap()
                .starts_with("check failed")
        );
        assert_eq!(
            not_revocable(&finding("x.y", "x", Some(Live))).unwrap(),
            "no revoker for x tokens"
        );
        assert_eq!(
            not_revocable(&finding("x.y", "x", None)).unwrap(),
            "not checked"
        );
        assert_eq!(
            not_revocable(&finding("github.pat_classic", "github", Some(Live))),
            None
        );
        assert_eq!(
            not_revocable(&finding("gitlab.pat", "gitlab", Some(RevokedOrInvalid))),
            None
        );
    }

    #[test]
    fn github_batches_hold_at_most_1000_tokens() {
        let sizes: Vec<usize> = (0..2500)
            .collect::<Vec<_>>()
            .chunks(github::REVOKE_BATCH_MAX)
            .map(<[_]>::len)
            .collect();
        assert_eq!(sizes, [1000, 1000, 500]);
    }
}
