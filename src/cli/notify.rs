//! `--notify smtp://HOST:PORT`, `--notify-from`, `--notify-admin`, `--notify-webhook URL`:
//! the flags that tell token owners, shared by `ado revoke`, `ado pats --expiring-within` and
//! (through [`NotifyArgs`]) any other command that wants them.
//!
//! Contract: flags are checked (URLs, TLS policy, sender, credentials) before the command
//! sends anything; without `--yes` the messages are printed on stderr and nothing leaves
//! patrol; every (message, channel) is audited as `Patrol.OwnerNotified` with its outcome; a
//! failed or unaddressed recipient makes the run exit 2 after all the others were tried (an
//! unaddressed one in a dry run is reported but does not change the exit code).

use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use patrol::audit;
use patrol::audit::Auditor;
use patrol::notify::smtp::SmtpChannel;
use patrol::notify::webhook::WebhookChannel;
use patrol::notify::{render, Channel, Message, Notifier, NotifyPolicy, Outcome};
use patrol::provider::http::HttpClient;
use patrol::report::escape::for_terminal;
use serde_json::json;

use super::exit::ExitCode;

/// How owners are told.
#[derive(Debug, Args, Clone, Default)]
pub struct NotifyArgs {
    /// Tell owners by e-mail through this SMTP server: smtp://HOST:PORT (STARTTLS; plain only
    /// to a literal loopback address) or smtps://HOST:PORT (TLS). Credentials from
    /// PATROL_SMTP_USERNAME / PATROL_SMTP_PASSWORD. Sent only with --yes.
    #[arg(long = "notify", value_name = "URL")]
    pub smtp: Option<String>,
    /// Sender address of the e-mails (required with --notify).
    #[arg(long, value_name = "ADDR")]
    pub notify_from: Option<String>,
    /// Where the administrator's summary goes (default: --notify-from).
    #[arg(long, value_name = "ADDR")]
    pub notify_admin: Option<String>,
    /// Also post each message to this Slack or Teams incoming webhook (https; plain http only
    /// to a literal loopback address). A webhook URL is a key: PATROL_NOTIFY_WEBHOOK keeps it
    /// out of argv. Sent only with --yes.
    #[arg(long, value_name = "URL")]
    pub notify_webhook: Option<String>,
}

impl NotifyArgs {
    /// Whether any channel was named.
    pub fn is_active(&self) -> bool {
        self.smtp.is_some() || self.notify_webhook.is_some()
    }

    /// The summary's recipient.
    pub fn admin(&self) -> String {
        self.notify_admin
            .clone()
            .or_else(|| self.notify_from.clone())
            .unwrap_or_else(|| "administrator".to_string())
    }
}

fn env_ms(name: &str) -> Option<Duration> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis)
}

/// Checked flags and the HTTP client the webhook posts through.
pub struct Notify {
    args: NotifyArgs,
    http: HttpClient,
    policy: NotifyPolicy,
    timeout: Duration,
}

/// `None` when no channel was named. Errors (a bad URL, plain text to a remote host, no
/// sender, half the SMTP credentials) stop the command before it sends anything.
pub fn prepare(a: &NotifyArgs) -> anyhow::Result<Option<Notify>> {
    let mut a = a.clone();
    if a.notify_webhook.is_none() {
        a.notify_webhook = std::env::var("PATROL_NOTIFY_WEBHOOK")
            .ok()
            .filter(|s| !s.trim().is_empty());
    }
    let a = &a;
    if !a.is_active() {
        if a.notify_from.is_some() || a.notify_admin.is_some() {
            bail!("--notify-from / --notify-admin need --notify smtp://HOST:PORT");
        }
        return Ok(None);
    }
    if a.smtp.is_some() && a.notify_from.is_none() {
        bail!("--notify needs --notify-from ADDR (the sender address)");
    }
    let mut policy = NotifyPolicy::default();
    if let Some(d) = env_ms("PATROL_NOTIFY_INTERVAL_MS") {
        policy.min_interval = d;
    }
    if let Some(d) = env_ms("PATROL_NOTIFY_RETRY_MS") {
        policy.retry_delay = d;
    }
    let http = super::http::http_client()?;
    let timeout = http.policy().timeout;
    let n = Notify {
        args: a.clone(),
        http,
        policy,
        timeout,
    };
    n.notifier()?;
    Ok(Some(n))
}

fn smtp_credentials() -> anyhow::Result<Option<(String, String)>> {
    let u = std::env::var("PATROL_SMTP_USERNAME")
        .ok()
        .filter(|s| !s.is_empty());
    let p = std::env::var("PATROL_SMTP_PASSWORD")
        .ok()
        .filter(|s| !s.is_empty());
    match (u, p) {
        (Some(u), Some(p)) => Ok(Some((u, p))),
        (None, None) => Ok(None),
        _ => bail!("set both PATROL_SMTP_USERNAME and PATROL_SMTP_PASSWORD, or neither"),
    }
}

impl Notify {
    fn notifier(&self) -> anyhow::Result<Notifier<'_>> {
        let mut ch: Vec<Box<dyn Channel + '_>> = Vec::new();
        if let Some(u) = &self.args.smtp {
            let from = self.args.notify_from.as_deref().unwrap_or_default();
            ch.push(Box::new(
                SmtpChannel::new(u, from, smtp_credentials()?, self.timeout).context("--notify")?,
            ));
        }
        if let Some(u) = &self.args.notify_webhook {
            ch.push(Box::new(WebhookChannel::new(&self.http, u)?));
        }
        Ok(Notifier::new(ch, self.policy.clone()))
    }

    /// The summary's recipient.
    pub fn admin(&self) -> String {
        self.args.admin()
    }

    /// Sends (`yes`) or prints `messages`, audits each outcome, prints one line per
    /// recipient and channel; `Incomplete` when any was not told.
    pub fn run(
        &self,
        messages: &[Message],
        yes: bool,
        audit: &Auditor<'_>,
    ) -> anyhow::Result<ExitCode> {
        let n = self.notifier()?;
        if messages.is_empty() {
            eprintln!("patrol: nobody to notify");
            return Ok(ExitCode::Clean);
        }
        if !yes {
            eprintln!(
                "patrol: dry run (add --yes to send): {} message(s) via {}:",
                messages.len(),
                n.channel_names().join(", ")
            );
            for m in messages {
                eprintln!("----\n{}", for_terminal_block(&render(m)));
            }
            eprintln!("----");
        }
        let mut code = ExitCode::Clean;
        n.deliver(messages, yes, |m, d| {
            let who = for_terminal(&m.owner);
            match &d.outcome {
                Outcome::DryRun => {}
                Outcome::Sent { .. } => eprintln!("patrol: notified {who} via {}", d.channel),
                Outcome::NoAddress => {
                    eprintln!(
                        "patrol: {who} has no e-mail address: not told via {}",
                        d.channel
                    );
                    if yes {
                        code = ExitCode::Incomplete;
                    }
                }
                Outcome::Failed(r) => {
                    eprintln!(
                        "patrol: could not notify {who} via {}: {}",
                        d.channel,
                        for_terminal(r)
                    );
                    code = ExitCode::Incomplete;
                }
            }
            let attempts = match d.outcome {
                Outcome::Sent { attempts } => Some(attempts),
                _ => None,
            };
            audit.record(patrol::audit::Entry::new(
                audit::OWNER_NOTIFIED,
                "Execute",
                format!(
                    "Message to {} via {}: {}.",
                    m.owner,
                    d.channel,
                    d.outcome.as_str()
                ),
                json!({
                    "channel": d.channel,
                    "owner": m.owner,
                    "email": m.email,
                    "kind": m.kind,
                    "subject": m.subject,
                    "outcome": d.outcome.as_str(),
                    "attempts": attempts,
                    "reason": match &d.outcome { Outcome::Failed(r) => Some(r.clone()), _ => None },
                }),
            ));
        });
        Ok(code)
    }
}

/// The `scan|act|sweep --verify --notify` step: one message per owner of the live leaked
/// tokens in `findings` (state from `revoked`, keyed by fingerprint: this run's revocation
/// outcomes), sent with `yes` or printed.
pub fn tell_leak_owners(
    n: &Notify,
    findings: &[patrol::finding::Finding],
    repository: &str,
    revoked: &std::collections::HashMap<String, patrol::act::Outcome>,
    yes: bool,
    audit: &Auditor<'_>,
) -> anyhow::Result<ExitCode> {
    use patrol::act::Outcome as Revoked;
    use patrol::finding::VerificationStatus;
    use patrol::notify::messages::{leak_messages, LeakNotice};
    let notices: Vec<LeakNotice<'_>> = findings
        .iter()
        .filter(|f| {
            f.verification
                .as_ref()
                .is_some_and(|v| v.status == VerificationStatus::Live)
        })
        .map(|f| {
            let state = match revoked.get(&f.fingerprint.0) {
                Some(Revoked::Revoked) => Some(Ok(())),
                Some(Revoked::Failed(r)) => Some(Err(r.clone())),
                Some(Revoked::DryRun) | Some(Revoked::Skipped(_)) | None => None,
            };
            // A sweep's findings name their repositories; a scan's files have none.
            let repo = f
                .locations
                .iter()
                .find_map(|l| l.repository.as_deref())
                .unwrap_or(repository);
            LeakNotice::new(f, repo, state)
        })
        .collect();
    n.run(&leak_messages(&notices), yes, audit)
}

/// Escapes each line of a block for the terminal, keeping the line breaks.
fn for_terminal_block(s: &str) -> String {
    s.lines().map(for_terminal).collect::<Vec<_>>().join("\n")
}
