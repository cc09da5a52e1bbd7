//! Verification: each finding's token checked with its provider (reads only), a few at a
//! time, each result written into the finding and audited (`Patrol.SecretVerified`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::audit::{self, Auditor};
use crate::finding::Finding;
use crate::provider::http::HttpClient;
use crate::provider::{Checked, Endpoints, Owner, Registry};

/// Checks every finding with its provider in `registry`, at most `concurrency` at a time,
/// sets `finding.verification` and records one `Patrol.SecretVerified` entry each. Returns
/// the owners (same order as `findings`) for the revocation stage. Reads only.
pub fn verify_findings(
    registry: &Registry,
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
                let c = registry.verify(http, ends, &f.rule, &f.secret, ado_org);
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
        let v = &c.verification;
        audit.record(audit::secret_verified(
            f,
            v.status.as_str(),
            v.owner.as_deref(),
            &v.detail,
        ));
        f.verification = Some(c.verification);
        owners.push(c.owner);
    }
    owners
}
