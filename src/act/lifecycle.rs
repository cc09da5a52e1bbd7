//! A user's own PATs through their life (`patrol pats list|create|renew|revoke|rotate`), as
//! stages of acting: each sends its writes through `execute.rs` and audits what it did.
//!
//! Contract:
//! - Every write goes through the gate: [`create_own_pat`], [`renew_own_pat`] and
//!   [`revoke_own_pat`] (which audits the plan, `Token.PatRevokePlanned`, before it sends, and
//!   sends nothing if that entry cannot be written).
//! - `revoke` and `rotate` are dry runs unless `yes`: they send nothing and record one
//!   `Token.PatLifecycleDryRun` entry.
//! - `rotate` is create -> deliver -> revoke: the old PAT is revoked only once the replacement
//!   exists and its token was delivered; [`Rotation`] says exactly where it stopped, and one
//!   `Token.PatRotated` entry ends every real rotation.
//! - Entries carry ids, names and redacted values only. A new token's value goes only to the
//!   caller's [`Deliver`] (the CLI writes it to a mode-0600 file or, when asked, stdout).
//! - Nothing here prints. How a person reads a PAT's name (escaped for a terminal) is the
//!   caller's [`Lifecycle::describe`], used in the reasons this stage writes.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::execute::{create_own_pat, renew_own_pat, revoke_own_pat, OwnRevokeError};
use super::outcome::Outcome;
use crate::audit::{self, Auditor, Entry};
use crate::provider::azure_devops::pats::{
    NewPat, PatCreate, PatStatus, PatToken, PatsClient, PatsError,
};

/// Delivers a new token where the user asked: `Ok(how)` (e.g. `written to F (mode 0600)`), or
/// `Err(why)` (e.g. `could not write F: ...`), in which case the token is lost.
pub type Deliver<'d> = dyn FnMut(&NewPat) -> Result<String, String> + 'd;

/// The lifecycle stage for one organisation: the signed-in user's PAT client, the audit
/// trail, and how a person reads a PAT.
pub struct Lifecycle<'a> {
    /// The caller's own-PAT client.
    pub client: &'a PatsClient<'a>,
    /// The organisation (audit data and messages).
    pub org: &'a str,
    /// Where every entry goes.
    pub audit: &'a Auditor<'a>,
    /// A PAT as a person reads it (name, id, scope, expiry), for refusal reasons.
    pub describe: &'a dyn Fn(&PatToken) -> String,
}

/// A PAT just created, and what became of its token.
#[derive(Debug)]
pub struct Created {
    /// The new PAT.
    pub new: NewPat,
    /// [`Deliver`]'s answer.
    pub delivered: Result<String, String>,
}

/// Why a renewal did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    /// The PAT has expired; an expired PAT cannot be extended (nothing was sent).
    #[error("{0}")]
    Expired(String),
    /// The PAT Lifecycle API refused or failed.
    #[error(transparent)]
    Api(#[from] PatsError),
}

/// Why no single PAT has the name a command gave.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// Several active PATs have it (each listed).
    #[error("{} active PATs have that name", .0.len())]
    Ambiguous(Vec<PatToken>),
    /// No active PAT has it, but an expired one does (which cannot be renewed or rotated).
    #[error("the PAT with that name has expired")]
    Expired(Box<PatToken>),
    /// No active PAT has it.
    #[error("no active PAT has that name")]
    NotFound,
    /// Listing the PATs failed.
    #[error(transparent)]
    Api(#[from] PatsError),
}

/// Where a rotation ended.
#[derive(Debug)]
pub enum Rotation {
    /// Without `yes`: nothing was sent.
    DryRun,
    /// Creating the replacement failed; nothing was revoked.
    CreateFailed(PatsError),
    /// The replacement exists but its token could not be delivered (`why`): it is lost, and
    /// the old PAT was not revoked.
    WriteFailed {
        /// The replacement.
        new: NewPat,
        /// Why its token was not delivered.
        why: String,
    },
    /// The replacement exists and was delivered (`how`), but revoking the old PAT failed.
    RevokeFailed {
        /// The replacement.
        new: NewPat,
        /// Where its token went.
        how: String,
        /// Why the old PAT still works.
        error: OwnRevokeError,
    },
    /// Replaced, delivered (`how`) and the old PAT revoked.
    Complete {
        /// The replacement.
        new: NewPat,
        /// Where its token went.
        how: String,
    },
}

/// What replaces `old`: the same name, scope and organisations (one or all), valid to
/// `valid_to`. `None` when `old` has no scope to copy.
pub fn replacement(old: &PatToken, valid_to: &str) -> Option<PatCreate> {
    let scope = old.scope.clone().unwrap_or_default();
    (!scope.is_empty()).then(|| PatCreate {
        display_name: old.name().to_string(),
        scope,
        valid_to: valid_to.to_string(),
        all_orgs: old.is_all_orgs(),
    })
}

/// The audit data naming a PAT (never its value).
fn pat_data(org: &str, p: &PatToken) -> Value {
    json!({
        "provider": "azure_devops",
        "organization": org,
        "authorizationId": p.authorization_id,
        "displayName": p.display_name,
        "scope": p.scope,
        "validTo": p.valid_to,
        "allOrgs": p.is_all_orgs(),
    })
}

/// Adds `outcome` (and `reason`) to audit data.
fn with_outcome(mut d: Value, outcome: &str, reason: Option<String>) -> Value {
    d["outcome"] = json!(outcome);
    if let Some(r) = reason {
        d["reason"] = json!(r);
    }
    d
}

impl Lifecycle<'_> {
    fn record(&self, action: &'static str, category: &'static str, details: String, d: Value) {
        self.audit.record(Entry::new(action, category, details, d));
    }

    /// The caller's PATs with `status` that `keep` accepts; the listing is audited either way.
    pub fn list(
        &self,
        status: PatStatus,
        keep: impl Fn(&PatToken) -> bool,
    ) -> Result<Vec<PatToken>, PatsError> {
        let org = self.org;
        let pats = match self.client.list(status) {
            Ok(p) => p,
            Err(e) => {
                let d = json!({"organization": org, "status": status.as_str(), "outcome": "failed", "reason": e.to_string()});
                let details = format!("Listing own PATs in {org} failed.");
                self.record(audit::LIFECYCLE_PAT_LISTED, "Access", details, d);
                return Err(e);
            }
        };
        let rows: Vec<PatToken> = pats.into_iter().filter(|p| keep(p)).collect();
        let d = json!({"organization": org, "status": status.as_str(), "pats": rows.len(), "outcome": "listed"});
        let details = format!("Listed {} own PAT(s) in {org}.", rows.len());
        self.record(audit::LIFECYCLE_PAT_LISTED, "Access", details, d);
        Ok(rows)
    }

    /// The one active, unexpired PAT named `name` (exact, case-insensitive). Reads only, and
    /// is not audited: the command that acts on the PAT audits it.
    pub fn find_by_name(&self, name: &str) -> Result<PatToken, FindError> {
        let now = OffsetDateTime::now_utc();
        let same = |p: &PatToken| p.name().eq_ignore_ascii_case(name);
        let mut hits: Vec<PatToken> = self
            .client
            .list(PatStatus::Active)?
            .into_iter()
            .filter(|p| same(p) && !p.is_expired(now))
            .collect();
        match hits.len() {
            1 => return Ok(hits.remove(0)),
            0 => {}
            _ => return Err(FindError::Ambiguous(hits)),
        }
        let expired = self.client.list(PatStatus::Expired)?;
        match expired.into_iter().find(same) {
            Some(p) => Err(FindError::Expired(Box::new(p))),
            None => Err(FindError::NotFound),
        }
    }

    /// Creates a PAT and hands its token to `deliver`; audited whatever happens.
    pub fn create(&self, req: &PatCreate, deliver: &mut Deliver<'_>) -> Result<Created, PatsError> {
        let org = self.org;
        let new = match create_own_pat(self.client, req) {
            Ok(n) => n,
            Err(e) => {
                let base = json!({"provider": "azure_devops", "organization": org, "displayName": req.display_name, "scope": req.scope, "validTo": req.valid_to, "allOrgs": req.all_orgs});
                let d = with_outcome(base, "failed", Some(e.to_string()));
                let details = format!("Creating a PAT in {org} failed.");
                self.record(audit::LIFECYCLE_PAT_CREATED, "Create", details, d);
                return Err(e);
            }
        };
        let delivered = deliver(&new);
        let mut d = pat_data(org, &new.pat);
        d["token"] = json!(new.token.redacted());
        let d = with_outcome(d, "created", delivered.as_ref().err().cloned());
        let details = format!("Created PAT {} in {org}.", new.pat.authorization_id);
        self.record(audit::LIFECYCLE_PAT_CREATED, "Create", details, d);
        Ok(Created { new, delivered })
    }

    /// Moves `pat`'s expiry to `valid_to` (RFC 3339); refused, unsent, when it has expired.
    /// Returns the PAT as the service now describes it (its policy may shorten the validity).
    pub fn renew(&self, pat: &PatToken, valid_to: &str) -> Result<PatToken, RenewError> {
        let id = &pat.authorization_id;
        let d = pat_data(self.org, pat);
        if pat.is_expired(OffsetDateTime::now_utc()) {
            let why = format!(
                "PAT {} expired on {}: an expired PAT cannot be extended; create a new one with `patrol pats create`",
                (self.describe)(pat),
                pat.valid_to.as_deref().unwrap_or("?")
            );
            let d = with_outcome(d, "refused", Some(why.clone()));
            let details = format!("Renewing PAT {id} refused: expired.");
            self.record(audit::LIFECYCLE_PAT_RENEWED, "Modify", details, d);
            return Err(RenewError::Expired(why));
        }
        match renew_own_pat(self.client, pat, valid_to) {
            Ok(p) => {
                let mut d = with_outcome(d, "renewed", None);
                d["newValidTo"] = json!(p.valid_to);
                d["requestedValidTo"] = json!(valid_to);
                let details = format!("Renewed PAT {id} in {}.", self.org);
                self.record(audit::LIFECYCLE_PAT_RENEWED, "Modify", details, d);
                Ok(p)
            }
            Err(e) => {
                let d = with_outcome(d, "failed", Some(e.to_string()));
                let details = format!("Renewing PAT {id} failed.");
                self.record(audit::LIFECYCLE_PAT_RENEWED, "Modify", details, d);
                Err(e.into())
            }
        }
    }

    /// Revokes `pat` with `yes` (`Ok(Outcome::Revoked)`); without, records the dry run only
    /// (`Ok(Outcome::DryRun)`).
    pub fn revoke(&self, pat: &PatToken, yes: bool) -> Result<Outcome, OwnRevokeError> {
        let id = &pat.authorization_id;
        let d = pat_data(self.org, pat);
        if !yes {
            let details = format!("Dry run: would revoke PAT {id}.");
            let d = with_outcome(d, "dry_run", None);
            self.record(audit::LIFECYCLE_PAT_DRY_RUN, "Remove", details, d);
            return Ok(Outcome::DryRun);
        }
        match revoke_own_pat(self.client, self.org, id, self.audit) {
            Ok(()) => {
                let details = format!("Revoked PAT {id} in {}.", self.org);
                let d = with_outcome(d, "revoked", None);
                self.record(audit::LIFECYCLE_PAT_REVOKED, "Remove", details, d);
                Ok(Outcome::Revoked)
            }
            Err(e) => {
                let details = format!("Revoking PAT {id} failed.");
                let d = with_outcome(d, "failed", Some(e.to_string()));
                self.record(audit::LIFECYCLE_PAT_REVOKED, "Remove", details, d);
                Err(e)
            }
        }
    }

    /// Replaces `old` with `req` (see [`replacement`]): with `yes`, creates it, hands its token
    /// to `deliver`, and only then revokes `old`; without, records the dry run only.
    pub fn rotate(
        &self,
        old: &PatToken,
        req: &PatCreate,
        yes: bool,
        deliver: &mut Deliver<'_>,
    ) -> Rotation {
        let mut d = pat_data(self.org, old);
        d["newValidTo"] = json!(req.valid_to);
        if !yes {
            let details = format!("Dry run: would rotate PAT {}.", old.authorization_id);
            let d = with_outcome(d, "dry_run", None);
            self.record(audit::LIFECYCLE_PAT_DRY_RUN, "Modify", details, d);
            return Rotation::DryRun;
        }
        let r = Rotating {
            stage: self,
            old,
            data: d,
        };
        // Step 1: the replacement.
        let new = match r.create(req) {
            Ok(n) => n,
            Err(e) => return Rotation::CreateFailed(e),
        };
        // Step 2: deliver it.
        let how = match r.deliver(&new, deliver) {
            Ok(h) => h,
            Err(why) => return Rotation::WriteFailed { new, why },
        };
        // Step 3: only now the old one.
        match r.revoke_old(&new.pat.authorization_id) {
            Ok(()) => Rotation::Complete { new, how },
            Err(error) => Rotation::RevokeFailed { new, how, error },
        }
    }
}

/// One rotation under way: the old PAT and the audit data every `Token.PatRotated` entry
/// starts from.
struct Rotating<'r> {
    stage: &'r Lifecycle<'r>,
    old: &'r PatToken,
    data: Value,
}

impl Rotating<'_> {
    /// The `Token.PatRotated` entry that ends a rotation in `state`.
    fn ended(&self, state: &str, new_id: Option<&str>, reason: Option<String>) {
        let mut d = self.data.clone();
        d["state"] = json!(state);
        d["newAuthorizationId"] = json!(new_id);
        let outcome = if state == "complete" {
            "rotated"
        } else {
            "failed"
        };
        let details = format!(
            "Rotation of PAT {} ended: {state}.",
            self.old.authorization_id
        );
        let d = with_outcome(d, outcome, reason);
        self.stage
            .record(audit::LIFECYCLE_PAT_ROTATED, "Modify", details, d);
    }

    fn create(&self, req: &PatCreate) -> Result<NewPat, PatsError> {
        let s = self.stage;
        create_own_pat(s.client, req).inspect_err(|e| {
            let d = with_outcome(pat_data(s.org, self.old), "failed", Some(e.to_string()));
            let details = format!(
                "Creating the replacement of PAT {} failed.",
                self.old.authorization_id
            );
            s.record(audit::LIFECYCLE_PAT_CREATED, "Create", details, d);
            self.ended("create_failed", None, Some(e.to_string()));
        })
    }

    fn deliver(&self, new: &NewPat, deliver: &mut Deliver<'_>) -> Result<String, String> {
        let s = self.stage;
        let new_id = &new.pat.authorization_id;
        let delivered = deliver(new);
        let mut d = pat_data(s.org, &new.pat);
        d["token"] = json!(new.token.redacted());
        d["replaces"] = json!(self.old.authorization_id);
        let d = with_outcome(d, "created", delivered.as_ref().err().cloned());
        let details = format!(
            "Created PAT {new_id}, the replacement of {}.",
            self.old.authorization_id
        );
        s.record(audit::LIFECYCLE_PAT_CREATED, "Create", details, d);
        if let Err(why) = &delivered {
            self.ended("write_failed", Some(new_id), Some(why.clone()));
        }
        delivered
    }

    fn revoke_old(&self, new_id: &str) -> Result<(), OwnRevokeError> {
        let s = self.stage;
        let old_id = &self.old.authorization_id;
        let r = revoke_own_pat(s.client, s.org, old_id, s.audit);
        let (outcome, reason, details) = match &r {
            Ok(()) => (
                "revoked",
                None,
                format!("Revoked PAT {old_id} (rotated to {new_id})."),
            ),
            Err(e) => (
                "failed",
                Some(e.to_string()),
                format!("Revoking PAT {old_id} (rotated to {new_id}) failed."),
            ),
        };
        let d = with_outcome(pat_data(s.org, self.old), outcome, reason.clone());
        s.record(audit::LIFECYCLE_PAT_REVOKED, "Remove", details, d);
        match &r {
            Ok(()) => self.ended("complete", Some(new_id), None),
            Err(_) => self.ended("revoke_failed", Some(new_id), reason),
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replacement_copies_name_scope_and_organisations_but_needs_a_scope() {
        let old = PatToken {
            authorization_id: "a".into(),
            display_name: Some("ci".into()),
            scope: Some("vso.code".into()),
            target_accounts: Some(vec!["o".into()]),
            ..Default::default()
        };
        let r = replacement(&old, "2030-01-01T00:00:00Z").unwrap();
        assert_eq!(r.display_name, "ci");
        assert_eq!(r.scope, "vso.code");
        assert_eq!(r.valid_to, "2030-01-01T00:00:00Z");
        assert!(!r.all_orgs);
        let all = PatToken {
            target_accounts: None,
            ..old.clone()
        };
        assert!(replacement(&all, "x").unwrap().all_orgs);
        let bare = PatToken {
            scope: Some(String::new()),
            ..old
        };
        assert_eq!(replacement(&bare, "x"), None);
    }

    #[test]
    fn audit_data_names_the_pat_and_adds_the_outcome() {
        let p = PatToken {
            authorization_id: "id-1".into(),
            display_name: Some("ci".into()),
            ..Default::default()
        };
        let d = with_outcome(pat_data("org", &p), "failed", Some("why".into()));
        assert_eq!(d["authorizationId"], "id-1");
        assert_eq!(d["organization"], "org");
        assert_eq!(d["allOrgs"], true);
        assert_eq!(d["outcome"], "failed");
        assert_eq!(d["reason"], "why");
        assert!(with_outcome(pat_data("org", &p), "revoked", None)
            .get("reason")
            .is_none());
    }
}
