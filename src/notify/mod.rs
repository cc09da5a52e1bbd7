//! Telling token owners: the message model, and delivery over the channels the user named
//! (`smtp.rs`, `webhook.rs`) with one policy for all of them.
//!
//! Contract:
//! - Nothing is sent unless the caller says `send` (`--yes`); a dry run returns
//!   [`Outcome::DryRun`] for every (message, channel) and the caller prints the messages.
//! - Each (message, channel) gets an [`Outcome`], whatever happens to the others: a failing
//!   recipient or channel never stops the rest; the caller audits each outcome
//!   (`Patrol.OwnerNotified`) and exits 2 when any failed.
//! - An e-mail channel cannot reach an owner without an address: that is
//!   [`Outcome::NoAddress`], reported, never silently dropped (a webhook still carries it).
//! - Rate limit: at least [`NotifyPolicy::min_interval`] between two sends on one channel.
//!   Retry: a transient failure (timeout, connection, 429, 5xx, SMTP 4xx) is retried once
//!   after [`NotifyPolicy::retry_delay`]; a permanent one (HTTP 4xx, SMTP 5xx) is not. A
//!   retried message may arrive twice; one that is never sent is worse.
//! - Messages hold redacted values and fingerprints only, never a whole token; the builders
//!   in `messages.rs` guarantee it and their tests check it.
//! - Plain SMTP and plain-http webhooks only to a literal loopback address; anything else
//!   needs TLS (the same rule as `provider/http.rs`).

pub mod messages;
pub mod smtp;
pub mod webhook;

use std::time::{Duration, Instant};

/// One message to one owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who it is for (UPN, login or display name), for reports and webhooks.
    pub owner: String,
    /// Their e-mail address, when known.
    pub email: Option<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// What the message is about, for the audit entry (`leak`, `revoked`, `expiry`,
    /// `summary`).
    pub kind: &'static str,
}

/// What happened to one message on one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Dry run: would have been sent.
    DryRun,
    /// Accepted by the server (after `attempts` tries).
    Sent {
        /// 1 or 2.
        attempts: u32,
    },
    /// The channel needs an e-mail address and the owner has none.
    NoAddress,
    /// Not delivered: why.
    Failed(String),
}

impl Outcome {
    /// The audit spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::DryRun => "dry_run",
            Outcome::Sent { .. } => "sent",
            Outcome::NoAddress => "no_address",
            Outcome::Failed(_) => "failed",
        }
    }

    /// Whether this makes the run incomplete (exit 2).
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::NoAddress | Outcome::Failed(_))
    }
}

/// A delivery failure.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// Refused before sending (plain text to a non-loopback host, a bad URL or address).
    #[error("refusing {what}: {reason}")]
    Policy {
        /// The channel or address.
        what: String,
        /// Why.
        reason: String,
    },
    /// The server refused; `permanent` when retrying cannot help.
    #[error("{what}: {reason}")]
    Rejected {
        /// The channel and recipient.
        what: String,
        /// The server's answer.
        reason: String,
        /// Whether retrying cannot help.
        permanent: bool,
    },
}

impl NotifyError {
    fn is_permanent(&self) -> bool {
        match self {
            NotifyError::Policy { .. } => true,
            NotifyError::Rejected { permanent, .. } => *permanent,
        }
    }
}

/// A way to reach owners.
pub trait Channel {
    /// How reports name it (`smtp://host:port`, `webhook https://host`), never with a
    /// credential.
    fn name(&self) -> String;
    /// Whether it needs the owner's e-mail address.
    fn needs_email(&self) -> bool;
    /// Sends one message once.
    fn send(&self, m: &Message) -> Result<(), NotifyError>;
}

/// Pacing and retry.
#[derive(Debug, Clone)]
pub struct NotifyPolicy {
    /// Least time between two sends on one channel.
    pub min_interval: Duration,
    /// Wait before the one retry.
    pub retry_delay: Duration,
}

impl Default for NotifyPolicy {
    fn default() -> Self {
        Self {
            min_interval: Duration::from_millis(1000),
            retry_delay: Duration::from_millis(2000),
        }
    }
}

/// One (message, channel) result.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Index into the messages given.
    pub message: usize,
    /// [`Channel::name`].
    pub channel: String,
    /// What happened.
    pub outcome: Outcome,
}

/// Delivers messages over every channel.
pub struct Notifier<'a> {
    channels: Vec<Box<dyn Channel + 'a>>,
    policy: NotifyPolicy,
}

impl<'a> Notifier<'a> {
    /// A notifier over `channels`.
    pub fn new(channels: Vec<Box<dyn Channel + 'a>>, policy: NotifyPolicy) -> Self {
        Self { channels, policy }
    }

    /// Whether any channel was configured.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// The channels' names.
    pub fn channel_names(&self) -> Vec<String> {
        self.channels.iter().map(|c| c.name()).collect()
    }

    /// Delivers every message on every channel (`send`), or plans it (dry run); calls
    /// `each` with every result as it happens, and returns them all.
    pub fn deliver(
        &self,
        messages: &[Message],
        send: bool,
        mut each: impl FnMut(&Message, &Delivery),
    ) -> Vec<Delivery> {
        let mut out = Vec::new();
        for ch in &self.channels {
            let mut last: Option<Instant> = None;
            for (i, m) in messages.iter().enumerate() {
                let outcome = if ch.needs_email() && m.email.is_none() {
                    Outcome::NoAddress
                } else if !send {
                    Outcome::DryRun
                } else {
                    self.send_paced(ch.as_ref(), m, &mut last)
                };
                let d = Delivery {
                    message: i,
                    channel: ch.name(),
                    outcome,
                };
                each(m, &d);
                out.push(d);
            }
        }
        out
    }

    fn send_paced(&self, ch: &dyn Channel, m: &Message, last: &mut Option<Instant>) -> Outcome {
        let mut attempts = 0;
        loop {
            if let Some(t) = *last {
                let next = t + self.policy.min_interval;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                }
            }
            attempts += 1;
            let r = ch.send(m);
            *last = Some(Instant::now());
            match r {
                Ok(()) => return Outcome::Sent { attempts },
                Err(e) if attempts >= 2 || e.is_permanent() => {
                    let tries = if attempts > 1 {
                        " (after one retry)"
                    } else {
                        ""
                    };
                    return Outcome::Failed(format!("{e}{tries}"));
                }
                Err(_) => std::thread::sleep(self.policy.retry_delay),
            }
        }
    }
}

/// A message as the dry run prints it.
pub fn render(m: &Message) -> String {
    format!(
        "To: {} <{}>\nSubject: {}\n\n{}\n",
        m.owner,
        m.email.as_deref().unwrap_or("no e-mail address"),
        m.subject,
        m.body.trim_end()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    struct Fake {
        fails: RefCell<Vec<Result<(), NotifyError>>>,
        sent: RefCell<Vec<(String, Instant)>>,
        email: bool,
    }

    impl Channel for Fake {
        fn name(&self) -> String {
            "fake".into()
        }
        fn needs_email(&self) -> bool {
            self.email
        }
        fn send(&self, m: &Message) -> Result<(), NotifyError> {
            self.sent
                .borrow_mut()
                .push((m.owner.clone(), Instant::now()));
            self.fails.borrow_mut().pop().unwrap_or(Ok(()))
        }
    }

    fn msg(owner: &str, email: Option<&str>) -> Message {
        Message {
            owner: owner.into(),
            email: email.map(str::to_string),
            subject: "s".into(),
            body: "b".into(),
            kind: "expiry",
        }
    }

    fn rejected(permanent: bool) -> NotifyError {
        NotifyError::Rejected {
            what: "x".into(),
            reason: "no".into(),
            permanent,
        }
    }

    #[test]
    fn transient_failures_are_retried_once_permanent_ones_not_and_the_rest_go_on() {
        // pop() takes from the end: a gets transient then ok; b permanent; c transient twice.
        let fake = Fake {
            fails: RefCell::new(vec![
                Err(rejected(false)),
                Err(rejected(false)),
                Err(rejected(true)),
                Ok(()),
                Err(rejected(false)),
            ]),
            sent: RefCell::new(vec![]),
            email: true,
        };
        let policy = NotifyPolicy {
            min_interval: Duration::from_millis(30),
            retry_delay: Duration::from_millis(1),
        };
        let n = Notifier::new(vec![Box::new(fake)], policy);
        let ms = [
            msg("a", Some("a@x")),
            msg("b", Some("b@x")),
            msg("nobody", None),
            msg("c", Some("c@x")),
        ];
        let got: Vec<Outcome> = n
            .deliver(&ms, true, |_, _| {})
            .into_iter()
            .map(|d| d.outcome)
            .collect();
        assert_eq!(got[0], Outcome::Sent { attempts: 2 });
        assert!(matches!(&got[1], Outcome::Failed(r) if !r.contains("retry")));
        assert_eq!(got[2], Outcome::NoAddress);
        assert!(matches!(&got[3], Outcome::Failed(r) if r.contains("after one retry")));
    }

    #[test]
    fn sends_on_one_channel_are_spaced_by_the_minimum_interval() {
        let fake = Fake {
            fails: RefCell::new(vec![]),
            sent: RefCell::new(vec![]),
            email: false,
        };
        let policy = NotifyPolicy {
            min_interval: Duration::from_millis(40),
            retry_delay: Duration::from_millis(1),
        };
        let fake = std::rc::Rc::new(fake);
        struct Shared(std::rc::Rc<Fake>);
        impl Channel for Shared {
            fn name(&self) -> String {
                self.0.name()
            }
            fn needs_email(&self) -> bool {
                false
            }
            fn send(&self, m: &Message) -> Result<(), NotifyError> {
                self.0.send(m)
            }
        }
        let n = Notifier::new(vec![Box::new(Shared(fake.clone()))], policy);
        let ms = [msg("a", None), msg("b", None), msg("c", None)];
        let d = n.deliver(&ms, true, |_, _| {});
        assert!(
            d.iter().all(|d| d.outcome == Outcome::Sent { attempts: 1 }),
            "{d:?}"
        );
        let sent = fake.sent.borrow();
        for w in sent.windows(2) {
            assert!(w[1].1 - w[0].1 >= Duration::from_millis(40));
        }
    }

    #[test]
    fn a_dry_run_sends_nothing() {
        let fake = Fake {
            fails: RefCell::new(vec![]),
            sent: RefCell::new(vec![]),
            email: true,
        };
        let fake = std::rc::Rc::new(fake);
        struct Shared(std::rc::Rc<Fake>);
        impl Channel for Shared {
            fn name(&self) -> String {
                "f".into()
            }
            fn needs_email(&self) -> bool {
                true
            }
            fn send(&self, m: &Message) -> Result<(), NotifyError> {
                self.0.send(m)
            }
        }
        let n = Notifier::new(
            vec![Box::new(Shared(fake.clone()))],
            NotifyPolicy::default(),
        );
        let d = n.deliver(&[msg("a", Some("a@x")), msg("b", None)], false, |_, _| {});
        assert_eq!(d[0].outcome, Outcome::DryRun);
        assert_eq!(d[1].outcome, Outcome::NoAddress);
        assert!(fake.sent.borrow().is_empty());
        assert!(render(&msg("b", None)).contains("no e-mail address"));
    }
}
