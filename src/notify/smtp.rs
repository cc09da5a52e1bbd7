//! E-mail over SMTP (`--notify smtp://HOST:PORT` or `smtps://HOST:PORT`), through `lettre`
//! with rustls.
//!
//! Policy: `smtp://` to a literal loopback address is plain SMTP (a local relay, tests);
//! `smtp://` to anything else must upgrade with STARTTLS (refused if the server does not offer
//! it); `smtps://` is TLS from the first byte. Credentials (`PATROL_SMTP_USERNAME` /
//! `PATROL_SMTP_PASSWORD`) are given by the caller from the environment, never in the URL.
//! One connection per message, so one bad recipient cannot spoil another's transaction.

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::SmtpTransport;
use lettre::Transport;
use reqwest::Url;

use super::{Channel, Message, NotifyError};

/// Sends each message as one e-mail.
pub struct SmtpChannel {
    transport: SmtpTransport,
    from: Address,
    label: String,
}

/// Whether `host` (as in a URL, brackets allowed) is a literal loopback address.
pub fn is_loopback_literal(host: &str) -> bool {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

impl SmtpChannel {
    /// A channel for `url` sending as `from`, with optional (user name, password).
    pub fn new(
        url: &str,
        from: &str,
        credentials: Option<(String, String)>,
        timeout: Duration,
    ) -> Result<Self, NotifyError> {
        let policy = |reason: String| NotifyError::Policy {
            what: "--notify".into(),
            reason,
        };
        let u = Url::parse(url).map_err(|e| policy(format!("not a URL ({e})")))?;
        if !u.username().is_empty() || u.password().is_some() {
            return Err(policy(
                "put SMTP credentials in PATROL_SMTP_USERNAME / PATROL_SMTP_PASSWORD, not in the URL"
                    .into(),
            ));
        }
        if !matches!(u.path(), "" | "/") || u.query().is_some() {
            return Err(policy(
                "an SMTP URL is smtp://HOST:PORT or smtps://HOST:PORT".into(),
            ));
        }
        let host = u
            .host_str()
            .ok_or_else(|| policy("the URL names no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let from = Address::from_str(from).map_err(|e| {
            policy(format!(
                "--notify-from {from:?} is not an e-mail address ({e})"
            ))
        })?;
        let smtp_err = |e: lettre::transport::smtp::Error| policy(e.to_string());
        let (builder, port, mode) = match u.scheme() {
            "smtp" if is_loopback_literal(&host) => (
                SmtpTransport::builder_dangerous(host.clone()),
                25,
                "plain, loopback",
            ),
            "smtp" => (
                SmtpTransport::starttls_relay(&host).map_err(smtp_err)?,
                587,
                "STARTTLS",
            ),
            "smtps" => (SmtpTransport::relay(&host).map_err(smtp_err)?, 465, "TLS"),
            other => {
                return Err(policy(format!(
                "unsupported scheme {other}: use smtp://HOST:PORT (STARTTLS) or smtps://HOST:PORT"
            )))
            }
        };
        let port = u.port().unwrap_or(port);
        let mut b = builder.port(port).timeout(Some(timeout));
        if let Some((user, pass)) = credentials {
            b = b.credentials(Credentials::new(user, pass));
        }
        Ok(Self {
            transport: b.build(),
            from,
            label: format!(
                "{}://{}:{port} ({mode})",
                u.scheme(),
                u.host_str().unwrap_or("")
            ),
        })
    }
}

impl Channel for SmtpChannel {
    fn name(&self) -> String {
        self.label.clone()
    }

    fn needs_email(&self) -> bool {
        true
    }

    fn send(&self, m: &Message) -> Result<(), NotifyError> {
        let what = format!("{} to {}", self.label, m.email.as_deref().unwrap_or("?"));
        let to = m
            .email
            .as_deref()
            .and_then(|e| Address::from_str(e).ok())
            .ok_or_else(|| NotifyError::Policy {
                what: what.clone(),
                reason: "not an e-mail address".into(),
            })?;
        let env = Envelope::new(Some(self.from.clone()), vec![to.clone()]).map_err(|e| {
            NotifyError::Policy {
                what: what.clone(),
                reason: e.to_string(),
            }
        })?;
        let bytes = format_email(&self.from, &to, m);
        self.transport
            .send_raw(&env, &bytes)
            .map(|_| ())
            .map_err(|e| NotifyError::Rejected {
                what,
                reason: one_line(&e.to_string()),
                permanent: e.is_permanent() || e.is_tls(),
            })
    }
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect()
}

/// A header value on one line (no CR/LF can start a new header).
fn header_text(s: &str) -> String {
    let flat = one_line(s);
    if flat.is_ascii() {
        flat
    } else {
        format!(
            "=?utf-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(flat.as_bytes())
        )
    }
}

/// An RFC 5322 message: plain UTF-8 text, base64 body.
pub fn format_email(from: &Address, to: &Address, m: &Message) -> Vec<u8> {
    let date = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] +0000"
        ))
        .unwrap_or_default();
    let body = base64::engine::general_purpose::STANDARD.encode(m.body.as_bytes());
    let mut s = String::new();
    s.push_str(&format!("From: {from}\r\n"));
    s.push_str(&format!("To: {}<{to}>\r\n", display_name(&m.owner)));
    s.push_str(&format!("Subject: {}\r\n", header_text(&m.subject)));
    s.push_str(&format!("Date: {date}\r\n"));
    s.push_str(&format!(
        "Message-ID: <{}@patrol.invalid>\r\n",
        uuid::Uuid::new_v4().simple()
    ));
    s.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    for chunk in body.as_bytes().chunks(76) {
        s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        s.push_str("\r\n");
    }
    s.into_bytes()
}

fn display_name(owner: &str) -> String {
    let clean: String = one_line(owner)
        .chars()
        .filter(|c| !matches!(c, '"' | '\\' | '<' | '>'))
        .collect();
    if clean.is_empty() || clean.contains('@') {
        String::new()
    } else {
        format!("{} ", header_text(&format!("\"{clean}\"")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_smtp_only_to_loopback_and_no_credentials_in_the_url() {
        let t = Duration::from_secs(1);
        let c = SmtpChannel::new("smtp://127.0.0.1:2525", "p@example.com", None, t).unwrap();
        assert!(c.name().contains("plain, loopback"));
        let c = SmtpChannel::new("smtp://mail.example.com:587", "p@example.com", None, t).unwrap();
        assert!(c.name().contains("STARTTLS"));
        let c = SmtpChannel::new("smtps://mail.example.com", "p@example.com", None, t).unwrap();
        assert!(c.name().contains(":465 (TLS)"));
        // `localhost` is a name, not a literal: it must use STARTTLS.
        let c = SmtpChannel::new("smtp://localhost:25", "p@example.com", None, t).unwrap();
        assert!(c.name().contains("STARTTLS"));
        assert!(SmtpChannel::new("smtp://u:pw@127.0.0.1:25", "p@example.com", None, t).is_err());
        assert!(SmtpChannel::new("http://127.0.0.1:25", "p@example.com", None, t).is_err());
        assert!(SmtpChannel::new("smtp://127.0.0.1:25", "not an address", None, t).is_err());
    }

    #[test]
    fn headers_cannot_be_injected_and_utf8_is_encoded() {
        let m = Message {
            owner: "Zoë\r\nBcc: evil@x".into(),
            email: Some("z@example.com".into()),
            subject: "PAT \u{e9}xpires\r\nBcc: evil@x".into(),
            body: "line\n.\nend".into(),
            kind: "expiry",
        };
        let from = Address::from_str("p@example.com").unwrap();
        let to = Address::from_str("z@example.com").unwrap();
        let text = String::from_utf8(format_email(&from, &to, &m)).unwrap();
        assert!(!text.lines().any(|l| l.starts_with("Bcc:")), "{text}");
        assert!(text.contains("Subject: =?utf-8?B?"));
        let body: String = text.split("\r\n\r\n").nth(1).unwrap().lines().collect();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        assert_eq!(decoded, b"line\n.\nend");
    }
}
