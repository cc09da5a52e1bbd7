//! The messages patrol sends to owners, built from plain data so every caller (`ado revoke`,
//! `ado pats --expiring-within`, `scan --verify`, `act --from`, `sweep`) words them alike.
//!
//! Contract: one message per owner (grouped by e-mail, else by owner label); a message holds
//! names, authorization ids, redacted values and fingerprints, never a whole token; an owner
//! whose label is not an e-mail address gets a message with `email: None`, so the notifier
//! reports it instead of dropping it.

use std::collections::BTreeMap;

use super::Message;
use crate::finding::{Finding, VerificationStatus};

/// At most this many locations are listed per leaked token.
pub const MAX_LOCATIONS_LISTED: usize = 5;

/// The e-mail address in an owner label (UPN, e-mail, login), if it is one.
pub fn email_of(label: &str) -> Option<String> {
    let l = label.trim();
    let (user, domain) = l.split_once('@')?;
    let ok = !user.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !l.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
        });
    ok.then(|| l.to_string())
}

/// One PAT of one owner, as the admin flows know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatNotice {
    /// The owner's UPN (or principal name).
    pub owner: String,
    /// The PAT's name.
    pub name: String,
    /// Its authorization id.
    pub authorization_id: String,
    /// Its scopes.
    pub scope: String,
    /// Its expiry, RFC 3339.
    pub valid_to: String,
}

fn by_owner(pats: &[PatNotice]) -> BTreeMap<&str, Vec<&PatNotice>> {
    let mut m: BTreeMap<&str, Vec<&PatNotice>> = BTreeMap::new();
    for p in pats {
        m.entry(p.owner.as_str()).or_default().push(p);
    }
    m
}

fn pat_line(p: &PatNotice) -> String {
    format!(
        "- \"{}\" (authorization id {}), scope {}, valid to {}",
        p.name,
        p.authorization_id,
        if p.scope.is_empty() { "?" } else { &p.scope },
        p.valid_to
    )
}

/// Each owner: which of their PATs expire within `days`, when, and how to renew.
pub fn expiry_messages(org: &str, days: u32, pats: &[PatNotice]) -> Vec<Message> {
    by_owner(pats)
        .into_iter()
        .map(|(owner, ps)| {
            let mut body = format!(
                "{} of your Azure DevOps personal access tokens in organization {org} expire within {days} day(s):\n\n",
                ps.len()
            );
            for p in &ps {
                body.push_str(&pat_line(p));
                body.push('\n');
            }
            body.push_str(&format!(
                "\nTo renew one before it expires (an expired PAT cannot be extended):\n  patrol pats renew --org {org} --name NAME --days 90\nor, for a fresh token with the same scope (then update where it is used):\n  patrol pats rotate --org {org} --name NAME --days 90 --output-file FILE --yes\nor in Azure DevOps: User settings > Personal access tokens > Edit.\nIf you no longer need a token, let it expire or revoke it.\n"
            ));
            Message {
                owner: owner.to_string(),
                email: email_of(owner),
                subject: format!("{} Azure DevOps PAT(s) in {org} expire within {days} day(s)", ps.len()),
                body,
                kind: "expiry",
            }
        })
        .collect()
}

/// The administrator's summary of an expiry report, to `to`.
pub fn expiry_summary(org: &str, days: u32, pats: &[PatNotice], to: &str) -> Message {
    let owners = by_owner(pats);
    let mut body = format!(
        "{} PAT(s) of {} user(s) in organization {org} expire within {days} day(s).\n\n",
        pats.len(),
        owners.len()
    );
    for (owner, ps) in &owners {
        let note = if email_of(owner).is_none() {
            "  (no e-mail address: not told by e-mail)"
        } else {
            ""
        };
        body.push_str(&format!("{owner}{note}\n"));
        for p in ps {
            body.push_str(&format!("  {}\n", pat_line(p)));
        }
    }
    Message {
        owner: to.to_string(),
        email: email_of(to),
        subject: format!(
            "PAT expiry report for {org}: {} PAT(s) expire within {days} day(s)",
            pats.len()
        ),
        body,
        kind: "summary",
    }
}

/// Each owner: which of their PATs an administrator revoked, and why.
pub fn revoked_messages(org: &str, admin: &str, why: &str, pats: &[PatNotice]) -> Vec<Message> {
    by_owner(pats)
        .into_iter()
        .map(|(owner, ps)| {
            let mut body = format!(
                "An administrator ({admin}) revoked {} of your Azure DevOps personal access tokens in organization {org}:\n\n",
                ps.len()
            );
            for p in &ps {
                body.push_str(&pat_line(p));
                body.push('\n');
            }
            body.push_str(&format!(
                "\nWhy: {why}\n\nThese tokens no longer work. If you still need access, create a new PAT with the least scope and shortest validity that will do:\n  patrol pats create --org {org} --name NAME --scope \"SCOPES\" --days 30 --output-file FILE\nor in Azure DevOps: User settings > Personal access tokens > New Token; then update where the old one was used.\n"
            ));
            Message {
                owner: owner.to_string(),
                email: email_of(owner),
                subject: format!("{} of your Azure DevOps PAT(s) in {org} were revoked", ps.len()),
                body,
                kind: "revoked",
            }
        })
        .collect()
}

/// A leaked token's state after this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeakState {
    /// Revoked by this run.
    Revoked,
    /// Revocation was attempted and failed (why).
    RevokeFailed(String),
    /// Live, and not revoked (no `--revoke`, or a dry run).
    NotRevoked,
    /// The provider already rejects it.
    AlreadyInvalid,
}

impl LeakState {
    fn sentence(&self) -> String {
        match self {
            LeakState::Revoked => "REVOKED by this run: it no longer works.".into(),
            LeakState::RevokeFailed(why) => format!("STILL LIVE: revoking it failed ({why}). Rotate it now."),
            LeakState::NotRevoked => "STILL LIVE: it was not revoked. Rotate it now.".into(),
            LeakState::AlreadyInvalid => "already rejected by its provider (revoked or expired); nothing to do but remove it from the repository.".into(),
        }
    }
}

/// One leaked token after verification (and perhaps revocation).
#[derive(Debug, Clone)]
pub struct LeakNotice<'a> {
    /// The finding (its `verification` gives the owner).
    pub finding: &'a Finding,
    /// The repository (or directory) that was scanned.
    pub repository: String,
    /// Its state after this run.
    pub state: LeakState,
}

impl<'a> LeakNotice<'a> {
    /// The notice for `finding`, its state read from its verification when `revoked` is
    /// `None` (no revocation attempted): live -> not revoked, rejected -> already invalid.
    /// `Some(Ok(()))` revoked, `Some(Err(why))` revocation failed.
    pub fn new(
        finding: &'a Finding,
        repository: impl Into<String>,
        revoked: Option<Result<(), String>>,
    ) -> Self {
        let state = match revoked {
            Some(Ok(())) => LeakState::Revoked,
            Some(Err(why)) => LeakState::RevokeFailed(why),
            None => match finding.verification.as_ref().map(|v| v.status) {
                Some(VerificationStatus::RevokedOrInvalid) => LeakState::AlreadyInvalid,
                _ => LeakState::NotRevoked,
            },
        };
        Self {
            finding,
            repository: repository.into(),
            state,
        }
    }
}

/// How to rotate a token of `provider`.
pub fn how_to_rotate(provider: &str, rule: &str) -> &'static str {
    match provider {
        "azure_devops" if rule.starts_with("azure_devops.pat") => "create a replacement and revoke this one: `patrol pats rotate --org ORG --name NAME --days 30 --output-file FILE --yes` (or User settings > Personal access tokens), then update where it is used",
        "github" => "on GitHub: Settings > Developer settings > Personal access tokens: regenerate or delete it, then update where it is used",
        "gitlab" => "on GitLab: User settings > Access tokens: rotate or revoke it, then update where it is used",
        "npm" => "`npm token revoke ID`, then `npm token create` and update where it is used",
        "pypi" => "on PyPI: Account settings > API tokens: remove it and add a new one",
        _ => "revoke it where it was issued and create a new one, then update where it is used",
    }
}

/// One message per owner of live (or just revoked) leaked tokens: what leaked (kind,
/// redacted value, fingerprint), where (repository, path, line, commit, author date), its
/// state after this run, and how to rotate it. Tokens without a known owner each get a
/// message with the owner `unknown owner`, which an e-mail channel reports as unaddressed.
pub fn leak_messages(items: &[LeakNotice<'_>]) -> Vec<Message> {
    let mut groups: BTreeMap<String, Vec<&LeakNotice<'_>>> = BTreeMap::new();
    for it in items {
        let owner = it
            .finding
            .verification
            .as_ref()
            .and_then(|v| v.owner.clone())
            .unwrap_or_else(|| "unknown owner".to_string());
        groups.entry(owner).or_default().push(it);
    }
    groups
        .into_iter()
        .map(|(owner, its)| {
            let live = its
                .iter()
                .filter(|i| matches!(i.state, LeakState::NotRevoked | LeakState::RevokeFailed(_)))
                .count();
            let mut body = format!(
                "patrol found {} token(s) of yours in a repository{}.\n",
                its.len(),
                if live > 0 { format!("; {live} still work(s)") } else { String::new() }
            );
            for it in &its {
                let f = it.finding;
                body.push_str(&format!(
                    "\n* {} ({})\n  value: {} (redacted)\n  fingerprint: {}\n  repository: {}\n",
                    f.name,
                    f.rule,
                    f.secret.redacted(),
                    f.fingerprint,
                    it.repository
                ));
                for l in f.locations.iter().take(MAX_LOCATIONS_LISTED) {
                    body.push_str(&format!("  where: {}:{}", l.path, l.line));
                    if let Some(c) = &l.commit {
                        body.push_str(&format!(" in commit {} (authored {})", c.id, c.author_date));
                    }
                    body.push('\n');
                }
                let more = f.locations.len().saturating_sub(MAX_LOCATIONS_LISTED) as u64 + f.locations_omitted;
                if more > 0 {
                    body.push_str(&format!("  and {more} more location(s)\n"));
                }
                body.push_str(&format!("  state: {}\n", it.state.sentence()));
                if it.state != LeakState::AlreadyInvalid {
                    body.push_str(&format!("  how to rotate: {}\n", how_to_rotate(&f.provider, &f.rule)));
                }
            }
            body.push_str("\nRemoving the token from the files (and history) does not make it safe: rotating it does.\n");
            let subject = if live > 0 {
                format!("Action needed: {live} leaked token(s) of yours still work")
            } else {
                format!("{} leaked token(s) of yours were found (no longer working)", its.len())
            };
            Message {
                email: email_of(&owner),
                owner,
                subject,
                body,
                kind: "leak",
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::CommitMeta;
    use crate::finding::{ChecksumStatus, Fingerprint, Location, Secret, Verification};

    fn token() -> String {
        crate::rules::sample::sample("github.pat_classic", 15).unwrap()
    }

    fn finding(owner: Option<&str>, status: VerificationStatus) -> Finding {
        let secret = Secret::new(token());
        Finding {
            rule: "github.pat_classic".into(),
            name: "GitHub personal access token (classic)".into(),
            provider: "github".into(),
            fingerprint: Fingerprint::of("github.pat_classic", &secret),
            secret,
            checksum: ChecksumStatus::Valid,
            locations: (0..7)
                .map(|i| Location {
                    path: format!("src/f{i}.rs"),
                    path_raw: None,
                    line: 3,
                    column: 1,
                    commit: Some(CommitMeta {
                        id: "0123456789abcdef0123456789abcdef01234567".into(),
                        author_name: "A".into(),
                        author_email: "a@example.com".into(),
                        author_date: "2026-01-02T03:04:05+01:00".into(),
                    }),
                    encoding: None,
                    repository: None,
                })
                .collect(),
            locations_omitted: 2,
            verification: Some(Verification {
                status,
                owner: owner.map(str::to_string),
                checked_at: "2026-12-01T00:00:00Z".into(),
                detail: "GET /user: HTTP 200".into(),
            }),
        }
    }

    #[test]
    fn a_leak_message_says_what_where_state_and_how_without_the_token() {
        let f = finding(Some("octo@example.com"), VerificationStatus::Live);
        let n = [LeakNotice::new(&f, "git@example.com:team/app.git", None)];
        let m = leak_messages(&n);
        assert_eq!(m.len(), 1);
        let m = &m[0];
        assert_eq!(m.email.as_deref(), Some("octo@example.com"));
        assert!(m.subject.starts_with("Action needed: 1 leaked token"));
        for want in [
            "GitHub personal access token (classic) (github.pat_classic)",
            &format!("value: {} (redacted)", f.secret.redacted()),
            &format!("fingerprint: {}", f.fingerprint),
            "repository: git@example.com:team/app.git",
            "where: src/f0.rs:3 in commit 0123456789abcdef0123456789abcdef01234567 (authored 2026-01-02T03:04:05+01:00)",
            "and 4 more location(s)",
            "state: STILL LIVE: it was not revoked",
            "how to rotate: on GitHub",
        ] {
            assert!(m.body.contains(want), "missing {want:?} in\n{}", m.body);
        }
        let t = token();
        assert!(!m.body.contains(&t) && !m.subject.contains(&t));
        assert!(!m.body.contains(&t[4..20]), "no long part of the token");
    }

    #[test]
    fn leak_states_follow_revocation_and_verification_and_owners_are_grouped() {
        let a = finding(Some("octo@example.com"), VerificationStatus::Live);
        let b = finding(
            Some("octo@example.com"),
            VerificationStatus::RevokedOrInvalid,
        );
        let c = finding(None, VerificationStatus::Live);
        let d = finding(Some("octo-login"), VerificationStatus::Live);
        let n = [
            LeakNotice::new(&a, "r", Some(Ok(()))),
            LeakNotice::new(&b, "r", None),
            LeakNotice::new(&c, "r", Some(Err("HTTP 500".into()))),
            LeakNotice::new(&d, "r", None),
        ];
        assert_eq!(n[0].state, LeakState::Revoked);
        assert_eq!(n[1].state, LeakState::AlreadyInvalid);
        assert_eq!(n[2].state, LeakState::RevokeFailed("HTTP 500".into()));
        let m = leak_messages(&n);
        let owners: Vec<(&str, Option<&str>)> = m
            .iter()
            .map(|m| (m.owner.as_str(), m.email.as_deref()))
            .collect();
        assert_eq!(
            owners,
            [
                ("octo-login", None),
                ("octo@example.com", Some("octo@example.com")),
                ("unknown owner", None)
            ]
        );
        let octo = &m[1];
        assert!(
            octo.subject.contains("no longer working"),
            "{}",
            octo.subject
        );
        assert!(
            octo.body.contains("REVOKED by this run") && octo.body.contains("already rejected")
        );
        assert!(m[2].body.contains("revoking it failed (HTTP 500)"));
    }

    fn notice(owner: &str, name: &str) -> PatNotice {
        PatNotice {
            owner: owner.into(),
            name: name.into(),
            authorization_id: format!("id-{name}"),
            scope: "vso.code".into(),
            valid_to: "2026-12-05T00:00:00Z".into(),
        }
    }

    #[test]
    fn expiry_and_revocation_messages_go_one_per_owner_with_a_summary() {
        let ps = [
            notice("bob@fabrikam.com", "ci"),
            notice("bob@fabrikam.com", "dev"),
            notice("svc-build", "x"),
        ];
        let m = expiry_messages("fabrikam", 7, &ps);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].email.as_deref(), Some("bob@fabrikam.com"));
        assert!(
            m[0].body.contains("\"ci\" (authorization id id-ci)") && m[0].body.contains("\"dev\"")
        );
        assert!(m[0]
            .body
            .contains("patrol pats renew --org fabrikam --name NAME --days 90"));
        assert_eq!(m[1].email, None);
        let s = expiry_summary("fabrikam", 7, &ps, "admin@fabrikam.com");
        assert!(s.body.starts_with("3 PAT(s) of 2 user(s)"));
        assert!(s.body.contains("svc-build  (no e-mail address"));
        let r = revoked_messages(
            "fabrikam",
            "admin@fabrikam.com",
            "leaked in a build log",
            &ps[..2],
        );
        assert_eq!(r.len(), 1);
        assert!(r[0].body.contains("Why: leaked in a build log"));
        assert!(r[0]
            .subject
            .starts_with("2 of your Azure DevOps PAT(s) in fabrikam were revoked"));
    }

    #[test]
    fn only_plain_addresses_count_as_e_mail() {
        assert_eq!(email_of(" a.b@c.de ").as_deref(), Some("a.b@c.de"));
        for bad in ["login", "a@b", "@c.de", "a b@c.de", "a@c.de>", "a@.de"] {
            assert_eq!(email_of(bad), None, "{bad}");
        }
    }
}
