//! Loopback receivers for `--notify` tests: a small SMTP server (RFC 5321: greeting, EHLO /
//! HELO, MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP, QUIT) that can reject a
//! sender or a recipient, and a webhook receiver that answers a scripted list of statuses or
//! hangs. Both record what they received.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;

/// One accepted e-mail.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        head.lines().find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
        })
    }

    /// The subject, RFC 2047 `=?utf-8?B?...?=` decoded.
    pub fn subject(&self) -> String {
        let s = self.header("Subject").unwrap_or_default();
        match s
            .strip_prefix("=?utf-8?B?")
            .and_then(|r| r.strip_suffix("?="))
        {
            Some(b) => {
                String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).unwrap())
                    .unwrap()
            }
            None => s,
        }
    }

    /// The body, base64 decoded (patrol sends `Content-Transfer-Encoding: base64`).
    pub fn body(&self) -> String {
        assert_eq!(
            self.header("Content-Transfer-Encoding").as_deref(),
            Some("base64")
        );
        let b: String = self
            .data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or("")
            .lines()
            .collect();
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).unwrap()).unwrap()
    }
}

#[derive(Default)]
pub struct SmtpState {
    pub mails: Vec<Mail>,
    pub reject_senders: Vec<String>,
    pub reject_recipients: Vec<String>,
    /// Every command line received (for checking the dialogue).
    pub commands: Vec<String>,
    pub connections: usize,
}

pub struct SmtpServer {
    pub port: u16,
    pub state: Arc<Mutex<SmtpState>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl SmtpServer {
    pub fn start() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(SmtpState::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            for c in l.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(c) = c else { continue };
                st.lock().unwrap().connections += 1;
                let _ = session(c, &st);
            }
        });
        Self {
            port,
            state,
            stop,
            handle: Some(handle),
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.state.lock().unwrap().mails.clone()
    }

    pub fn mail_to(&self, addr: &str) -> Option<Mail> {
        self.mails()
            .into_iter()
            .find(|m| m.to.iter().any(|t| t == addr))
    }
}

fn addr(arg: &str) -> String {
    arg.split_once('<')
        .and_then(|(_, r)| r.split_once('>'))
        .map(|(a, _)| a.to_string())
        .unwrap_or_default()
}

fn session(c: TcpStream, st: &Arc<Mutex<SmtpState>>) -> std::io::Result<()> {
    c.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut w = c.try_clone()?;
    let mut r = BufReader::new(c);
    w.write_all(b"220 test.invalid ESMTP patrol-test\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end().to_string();
        st.lock().unwrap().commands.push(line.clone());
        let upper = line.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            "250-test.invalid\r\n250-8BITMIME\r\n250 SMTPUTF8".into()
        } else if upper.starts_with("HELO") {
            "250 test.invalid".into()
        } else if upper.starts_with("MAIL FROM:") {
            let a = addr(&line);
            if st.lock().unwrap().reject_senders.contains(&a) {
                format!("550 5.7.1 sender <{a}> rejected")
            } else {
                from = a;
                to.clear();
                "250 2.1.0 ok".into()
            }
        } else if upper.starts_with("RCPT TO:") {
            let a = addr(&line);
            if from.is_empty() {
                "503 5.5.1 MAIL first".into()
            } else if st.lock().unwrap().reject_recipients.contains(&a) {
                format!("550 5.1.1 <{a}>: no such user")
            } else {
                to.push(a);
                "250 2.1.5 ok".into()
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                "554 5.5.1 no valid recipients".into()
            } else {
                w.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if r.read_line(&mut l)? == 0 {
                        return Ok(());
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    data.push_str(
                        l.strip_prefix('.')
                            .filter(|_| l.starts_with(".."))
                            .unwrap_or(&l),
                    );
                }
                st.lock().unwrap().mails.push(Mail {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                });
                "250 2.0.0 queued".into()
            }
        } else if upper == "RSET" {
            from.clear();
            to.clear();
            "250 2.0.0 ok".into()
        } else if upper == "NOOP" {
            "250 2.0.0 ok".into()
        } else if upper == "QUIT" {
            w.write_all(b"221 2.0.0 bye\r\n")?;
            return Ok(());
        } else {
            "502 5.5.2 command not implemented".into()
        };
        w.write_all(format!("{reply}\r\n").as_bytes())?;
    }
}

/// What the webhook receiver answers next: a status, or a hang of that long.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    Hang(Duration),
}

#[derive(Default)]
pub struct HookState {
    pub posts: Vec<(String, String, serde_json::Value)>,
    pub script: VecDeque<Reply>,
}

pub struct Webhook {
    pub url: String,
    pub state: Arc<Mutex<HookState>>,
    server: Arc<tiny_http::Server>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The secret-looking path of the webhook (a real one's key).
pub const HOOK_PATH: &str = "/services/T000/B000/k3yk3yk3yk3yk3yk3yk3y";

impl Webhook {
    pub fn start(script: Vec<Reply>) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let state = Arc::new(Mutex::new(HookState {
            script: script.into(),
            ..Default::default()
        }));
        let (s2, st2) = (server.clone(), state.clone());
        let handle = std::thread::spawn(move || {
            for mut req in s2.incoming_requests() {
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                let ctype = req
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("content-type"))
                    .map(|h| h.value.as_str().to_string())
                    .unwrap_or_default();
                let v = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
                let next = {
                    let mut st = st2.lock().unwrap();
                    st.posts.push((req.url().to_string(), ctype, v));
                    st.script.pop_front().unwrap_or(Reply::Status(200))
                };
                match next {
                    Reply::Status(s) => {
                        let _ =
                            req.respond(tiny_http::Response::from_string("ok").with_status_code(s));
                    }
                    Reply::Hang(d) => {
                        let s3 = st2.clone();
                        std::thread::spawn(move || {
                            std::thread::sleep(d);
                            let _ = req.respond(tiny_http::Response::from_string("late"));
                            drop(s3);
                        });
                    }
                }
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}{HOOK_PATH}"),
            state,
            server,
            handle: Some(handle),
        }
    }

    pub fn posts(&self) -> Vec<(String, String, serde_json::Value)> {
        self.state.lock().unwrap().posts.clone()
    }
}
