//! A chat webhook (`--notify-webhook URL`): one JSON post per message that Slack and Microsoft
//! Teams incoming webhooks both accept (`text`, with `title` and `summary` for Teams'
//! connector cards).
//!
//! The post goes through `provider/http.rs`, the one HTTP client policy: HTTPS, or plain http
//! to a literal loopback address; no redirects; a total timeout; writes sent once (the retry
//! is the notifier's). A webhook URL is itself a credential (its path or query is the key), so
//! errors name only its origin.

use reqwest::Url;
use serde_json::json;

use super::{Channel, Message, NotifyError};
use crate::provider::http::{Auth, HostScope, HttpClient, Method, Request};
use crate::provider::ProviderError;

/// Posts each message to one webhook.
pub struct WebhookChannel<'a> {
    http: &'a HttpClient,
    url: Url,
    scope: HostScope,
    origin: String,
}

impl<'a> WebhookChannel<'a> {
    /// A channel posting to `url` through `http`.
    pub fn new(http: &'a HttpClient, url: &str) -> Result<Self, NotifyError> {
        let u = Url::parse(url).map_err(|e| NotifyError::Policy {
            what: "--notify-webhook".into(),
            reason: format!("not a URL ({e})"),
        })?;
        let origin = u.origin().ascii_serialization();
        let (scope, _) = HostScope::from_override("--notify-webhook", &origin).map_err(|e| {
            NotifyError::Policy {
                what: "--notify-webhook".into(),
                reason: match e {
                    ProviderError::Policy { reason, .. } => reason,
                    other => other.to_string(),
                },
            }
        })?;
        if !u.username().is_empty() || u.password().is_some() {
            return Err(NotifyError::Policy {
                what: format!("--notify-webhook {origin}"),
                reason: "a webhook URL must not hold a user name or password".into(),
            });
        }
        Ok(Self {
            http,
            url: u,
            scope,
            origin,
        })
    }
}

/// The JSON body for `m`.
pub fn payload(m: &Message) -> serde_json::Value {
    json!({
        "text": format!("*{}*\n\nFor: {}{}\n\n{}", m.subject, m.owner,
            m.email.as_deref().map(|e| format!(" <{e}>")).unwrap_or_else(|| " (no e-mail address)".into()),
            m.body.trim_end()),
        "title": m.subject,
        "summary": m.subject,
    })
}

impl Channel for WebhookChannel<'_> {
    fn name(&self) -> String {
        format!("webhook {}", self.origin)
    }

    fn needs_email(&self) -> bool {
        false
    }

    fn send(&self, m: &Message) -> Result<(), NotifyError> {
        let what = format!("webhook {} (for {})", self.origin, m.owner);
        let req = Request {
            method: Method::Post,
            url: self.url.clone(),
            auth: Auth::None,
            body: Some(payload(m)),
        };
        // Errors from the client name the path; a webhook's path is its key: say the origin.
        let path = self.url.path();
        let hide = |s: String| {
            if path.len() > 1 {
                s.replace(path, "/…")
            } else {
                s
            }
        };
        match self.http.send(&self.scope, &req) {
            Ok(r) if (200..300).contains(&r.status) => Ok(()),
            Ok(r) => Err(NotifyError::Rejected {
                what,
                reason: format!(
                    "HTTP {}{}",
                    r.status,
                    match String::from_utf8_lossy(&r.body).trim() {
                        "" => String::new(),
                        b => format!(" ({})", hide(b.chars().take(200).collect())),
                    }
                ),
                permanent: r.status < 500 && r.status != 429,
            }),
            Err(e) => Err(NotifyError::Rejected {
                what,
                permanent: matches!(e, ProviderError::Policy { .. }),
                reason: hide(e.to_string()),
            }),
        }
    }
}
