//! The refs a remote advertises, read in-process with one smart-HTTP request
//! (`GET {url}/info/refs?service=git-upload-pack`, protocol v0): the unchanged check of a
//! re-sweep costs one request per repository and no process, and never a pack.
//!
//! The request goes through `provider::http` with the clone URL's own origin as its scope, so
//! the credential rules are those of every other request (HTTPS, or plain HTTP to a literal
//! loopback address; no redirects). Anything unexpected is an error and the caller falls back
//! to fetching, where git reports what is wrong.

use reqwest::Url;

use crate::provider::http::{Auth, HostScope, HttpClient, Method, Request};
use crate::source::remote::Tip;

/// The refs of `clone_url` (sorted, without `HEAD` and peeled `^{}` entries), or why not.
pub fn advertised(http: &HttpClient, clone_url: &str, auth: &Auth) -> Result<Vec<Tip>, String> {
    let base = clone_url.trim_end_matches('/');
    let (scope, _) =
        HostScope::from_override("clone URL", &origin_of(base)?).map_err(|e| e.to_string())?;
    let url = Url::parse(&format!("{base}/info/refs?service=git-upload-pack"))
        .map_err(|e| e.to_string())?;
    let resp = http
        .send(
            &scope,
            &Request {
                method: Method::Get,
                url,
                auth: auth.clone(),
                body: None,
            },
        )
        .map_err(|e| e.to_string())?;
    if resp.status != 200 {
        return Err(format!("HTTP {}", resp.status));
    }
    parse(&resp.body)
}

fn origin_of(url: &str) -> Result<String, String> {
    Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .map_err(|e| e.to_string())
}

/// Parses a v0 ref advertisement (pkt-lines, after the `# service=` banner).
fn parse(body: &[u8]) -> Result<Vec<Tip>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut banner = false;
    while i + 4 <= body.len() {
        let len = std::str::from_utf8(&body[i..i + 4])
            .ok()
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or("not a smart-HTTP ref advertisement")?;
        if len == 0 {
            i += 4;
            continue;
        }
        if len < 4 || i + len > body.len() {
            return Err("truncated ref advertisement".into());
        }
        let line = &body[i + 4..i + len];
        i += len;
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        if line.starts_with(b"# service=") {
            banner = true;
            continue;
        }
        let line = line.split(|b| *b == 0).next().unwrap_or(line);
        let text = String::from_utf8_lossy(line);
        let Some((oid, name)) = text.split_once(' ') else {
            return Err("malformed ref line".into());
        };
        if name == "HEAD" || name.ends_with("^{}") || name == "capabilities^{}" {
            continue;
        }
        out.push((name.to_string(), oid.to_string()));
    }
    if !banner || i != body.len() {
        return Err("not a smart-HTTP ref advertisement".into());
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(s: &str) -> String {
        format!("{:04x}{s}", s.len() + 4)
    }

    #[test]
    fn a_v0_advertisement_gives_sorted_refs_without_head_and_peeled_tags() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let body = format!(
            "{}0000{}{}{}{}0000",
            pkt("# service=git-upload-pack\n"),
            pkt(&format!("{a} HEAD\0multi_ack side-band-64k\n")),
            pkt(&format!("{b} refs/tags/v1\n")),
            pkt(&format!("{a} refs/tags/v1^{{}}\n")),
            pkt(&format!("{a} refs/heads/main\n")),
        );
        assert_eq!(
            parse(body.as_bytes()).unwrap(),
            vec![
                ("refs/heads/main".to_string(), a.clone()),
                ("refs/tags/v1".to_string(), b)
            ]
        );
        let empty = format!(
            "{}0000{}0000",
            pkt("# service=git-upload-pack\n"),
            pkt(&format!("{} capabilities^{{}}\0caps\n", "0".repeat(40)))
        );
        assert!(parse(empty.as_bytes()).unwrap().is_empty());
        assert!(parse(b"<html>login</html>").is_err());
    }
}
