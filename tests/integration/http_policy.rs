//! The one HTTP client policy (`src/provider/http.rs`) seen from outside: reads retried on
//! 429/5xx honouring Retry-After, writes sent once, a timed-out revocation reported as maybe
//! done, no redirects, no plain http off loopback, proxy variables ignored.

use crate::act_env::{setup, two_users, ORG};
use crate::mock_api::{fault, MockApi};

#[test]
fn reads_retry_429_honouring_retry_after_and_500_but_writes_do_not() {
    let e = setup();
    two_users(&e.api);
    let mut f = fault("GET", "/personalaccesstokens/aad.Ym9i", 429, 1);
    f.retry_after = Some(1);
    e.api.fault(f);
    e.api.fault(fault("GET", "/_apis/identities", 500, 1));
    let out = e.ado("pats", &["--user", "bob@fabrikam.com"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let log = e.api.log();
    assert_eq!(
        log.iter().filter(|r| r.path == "/_apis/identities").count(),
        2
    );
    assert_eq!(
        log.iter().filter(|r| r.path.contains("aad.Ym9i")).count(),
        2
    );

    e.api
        .fault(fault("POST", "/_apis/tokenadmin/revocations", 429, 5));
    let out = e.ado("revoke", &["--user", "bob@fabrikam.com", "--yes"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("HTTP 429") && out.stderr.contains("rate limited"),
        "{}",
        out.stderr
    );
    assert_eq!(e.api.writes().len(), 1, "a write is sent once");
}

#[test]
fn a_timed_out_revocation_is_reported_as_maybe_done_and_not_resent() {
    let e = setup();
    two_users(&e.api);
    let mut f = fault("POST", "/_apis/tokenadmin/revocations", 204, 1);
    f.delay = Some(std::time::Duration::from_millis(1500));
    e.api.fault(f);
    let audit = e.audit.to_str().unwrap().to_string();
    let out = e.run_env(
        &[
            "ado",
            "revoke",
            "--org",
            ORG,
            "--api-base",
            &e.api.base,
            "--audit-log",
            &audit,
            "--user",
            "bob@fabrikam.com",
            "--yes",
        ],
        &[("PATROL_HTTP_TIMEOUT_MS", "300")],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("timed out after 300 ms"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("may still have happened"),
        "{}",
        out.stderr
    );
    assert_eq!(e.api.writes().len(), 1);
}

#[test]
fn redirects_are_never_followed_so_credentials_stay_on_their_host() {
    let e = setup();
    two_users(&e.api);
    let elsewhere = MockApi::start("unused");
    let mut f = fault("GET", "/personalaccesstokens/aad.Ym9i", 302, 1);
    f.location = Some(format!(
        "{}/_apis/tokenadmin/personalaccesstokens/aad.Ym9i",
        elsewhere.base
    ));
    e.api.fault(f);
    let out = e.ado("pats", &["--user", "bob@fabrikam.com"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("HTTP 302") && out.stderr.contains("sign-in"),
        "{}",
        out.stderr
    );
    assert!(
        elsewhere.log().is_empty(),
        "nothing reached the redirect target"
    );
}

#[test]
fn plain_http_to_a_non_loopback_host_is_refused_before_sending() {
    let e = setup();
    let out = e.run(&[
        "ado",
        "pats",
        "--org",
        ORG,
        "--api-base",
        "http://example.com",
        "--all-users",
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("loopback"), "{}", out.stderr);
}

/// Regression test for review item 2: proxy variables in the environment are ignored, so a
/// credential never goes to a proxy (in clear over a plain-http loopback override).
#[test]
fn proxy_environment_variables_never_receive_a_request() {
    let e = setup();
    two_users(&e.api);
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let purl = format!("http://{}", proxy.local_addr().unwrap());
    let out = e.run_env(
        &[
            "ado",
            "pats",
            "--org",
            ORG,
            "--api-base",
            &e.api.base,
            "--user",
            "bob@fabrikam.com",
        ],
        &[
            ("http_proxy", &purl),
            ("HTTP_PROXY", &purl),
            ("https_proxy", &purl),
            ("HTTPS_PROXY", &purl),
            ("ALL_PROXY", &purl),
            ("all_proxy", &purl),
            ("PATROL_HTTP_TIMEOUT_MS", "1500"),
        ],
    );
    proxy.set_nonblocking(true).unwrap();
    assert!(
        proxy.accept().is_err(),
        "the proxy got a connection:\n{}",
        out.stderr
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("ci-bob"), "{}", out.stdout);
    assert!(e.api.log().iter().any(|r| r
        .path
        .starts_with("/_apis/tokenadmin/personalaccesstokens/")));
}
