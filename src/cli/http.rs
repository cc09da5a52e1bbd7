//! The HTTP client every acting command uses (`scan --verify`, `ado`, `pats`, `--notify`),
//! built from the one client policy in `patrol::provider::http` plus the environment's
//! timeout override. Its own module so that the commands share it without importing each other.

use std::time::Duration;

use patrol::provider::http::{HttpClient, HttpPolicy};

/// The HTTP client; `PATROL_HTTP_TIMEOUT_MS` shortens the per-request timeout (tests, slow
/// links).
pub fn http_client() -> anyhow::Result<HttpClient> {
    let mut p = HttpPolicy::default();
    if let Some(ms) = std::env::var("PATROL_HTTP_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        p.timeout = Duration::from_millis(ms.max(1));
    }
    Ok(HttpClient::new(p)?)
}
