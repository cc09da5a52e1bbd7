//! Validators that are not checksums, by the name a rule file uses in its `validator` field.
//!
//! A checksum proves a token was minted by its provider; these judge whether a structurally
//! matched value is a secret at all: a connection URL's password that is a template, a
//! placeholder word or the user name again is not. Each function gets the token (the rule's
//! `token` group, after unescaping) and the whole match (for the context around it: the URL's
//! user) and answers `true` only for a value worth reporting. A finding from such a rule says
//! `checksum none`: passing a validator proves nothing about the provider.

/// A validator: `(token, whole match) -> is a secret`.
pub type Validator = fn(&[u8], &[u8]) -> bool;

/// Names a rule file may use.
pub const NAMES: &[&str] = &["url_password", "supabase_service_role"];

/// Looks a validator up by name.
pub fn by_name(name: &str) -> Option<Validator> {
    Some(match name {
        "url_password" => url_password,
        "supabase_service_role" => supabase_service_role,
        _ => return None,
    })
}

/// Shortest password reported. Shorter ones in URLs are letters standing for a password
/// (`u:p@h`) far more often than passwords.
pub const MIN_URL_PASSWORD_CHARS: usize = 4;

/// Passwords that stand for a password, compared without case, `-` and `_`: documentation
/// words and the well-known defaults of the servers these URLs reach (RabbitMQ's `guest`,
/// Redis's `foobared`, the Docker images' `postgres`, `mysql`, `root`, `example`).
const PLACEHOLDER_WORDS: &[&str] = &[
    "pass",
    "pwd",
    "passw0rd",
    "p4ssw0rd",
    "pa55word",
    "changeit",
    "test",
    "testing",
    "guest",
    "admin",
    "root",
    "toor",
    "user",
    "username",
    "postgres",
    "mysql",
    "mongo",
    "mongodb",
    "redis",
    "rabbitmq",
    "amqp",
    "dbpass",
    "dbpwd",
    "mypass",
    "mypwd",
    "pass123",
    "admin123",
    "root123",
    "test123",
    "foobared",
    "foo",
    "bar",
    "foobar",
    "baz",
    "qwerty",
    "letmein",
    "default",
    "none",
    "null",
    "nil",
    "undefined",
    "empty",
    "todo",
    "fixme",
    "hunter2",
    "s3cr3t",
    "pass1234",
    "dev",
    "local",
    "demo",
    "sample",
    "dummy",
    "fake",
];

/// Parts that make any password a placeholder wherever they occur in it, compared without case.
const PLACEHOLDER_PARTS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "changeme",
    "example",
    "placeholder",
    "redacted",
    "your",
    "replace",
    "insert",
    "xxx",
    "***",
];

/// A connection URL's password (`scheme://user:password@host`) as written, percent-encoded or
/// not. Not a secret when it is a template or format string (`$VAR`, `$(cmd)`, `%s`,
/// `%(password)s`; `${VAR}`, `{{x}}` and `<password>` never match the rules' character class),
/// one repeated character, a whole short sequence (`1234`, `abcd`), a placeholder word or part
/// (`PLACEHOLDER_WORDS`, `PLACEHOLDER_PARTS`, also once percent-decoded and with look-alike
/// digits read as letters: `P%40ssw0rd`), shorter than [`MIN_URL_PASSWORD_CHARS`], the user name
/// again (`guest:guest`, `postgres:postgres`), or on a host reserved for documentation
/// (`example.com`, `*.test`; MongoDB's manual writes its examples that way).
///
/// The host is not judged: a password on a `localhost` URL is reported, because development
/// passwords are reused and the same file reaches production; a throwaway one is a word above.
pub fn url_password(password: &[u8], whole: &[u8]) -> bool {
    let Ok(pw) = std::str::from_utf8(password) else {
        return false;
    };
    if pw.len() < MIN_URL_PASSWORD_CHARS || is_template(pw) || is_one_char(pw) {
        return false;
    }
    let lower = pw.to_ascii_lowercase();
    let plain = de_leet(&percent_decode(&lower));
    let bare = |s: &str| -> String { s.chars().filter(|c| !matches!(c, '-' | '_')).collect() };
    if PLACEHOLDER_WORDS.contains(&bare(&lower).as_str())
        || PLACEHOLDER_WORDS.contains(&bare(&plain).as_str())
        || PLACEHOLDER_PARTS
            .iter()
            .any(|p| lower.contains(p) || plain.contains(p))
        || is_whole_sequence(&lower)
        || is_example_host(whole)
    {
        return false;
    }
    url_user(whole).is_none_or(|user| !user.eq_ignore_ascii_case(password))
}

/// `%XX` decoded (anything else kept), so `P%40ssw0rd` reads as `P@ssw0rd`.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(v) if b[i] == b'%' => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The letters people swap for look-alikes in documentation passwords (`P@ssw0rd`, `s3cr3t`).
fn de_leet(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0' => 'o',
            '@' | '4' => 'a',
            '$' | '5' => 's',
            '3' => 'e',
            '7' => 't',
            c => c,
        })
        .collect()
}

/// Whether the URL's host is a name reserved for documentation (RFC 2606, RFC 6761):
/// `example.com`, `.net`, `.org` and their subdomains, and the `.example`, `.test` and
/// `.invalid` top-level domains. Nobody's database answers there.
fn is_example_host(whole: &[u8]) -> bool {
    let Some(at) = whole.iter().rposition(|&b| b == b'@') else {
        return false;
    };
    let host = String::from_utf8_lossy(&whole[at + 1..]).to_ascii_lowercase();
    let host = host.split([':', ',', '/', '?']).next().unwrap_or_default();
    ["example.com", "example.net", "example.org"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        || [".example", ".test", ".invalid"]
            .iter()
            .any(|t| host.ends_with(t))
}

/// The user of `scheme://user:password@…`: between `://` and the first `:` after it.
fn url_user(whole: &[u8]) -> Option<&[u8]> {
    let at = whole.windows(3).position(|w| w == b"://")? + 3;
    let rest = &whole[at..];
    let colon = rest.iter().position(|&b| b == b':')?;
    Some(&rest[..colon])
}

/// `$VAR`, `$(cmd)`, `%s`, `%(name)s`, `%v`: a `$` followed by a name or `(`, or a `%` not
/// followed by two hex digits (so not percent-encoding).
fn is_template(pw: &str) -> bool {
    let b = pw.as_bytes();
    let dollar_ref = b
        .windows(2)
        .any(|w| w[0] == b'$' && (w[1].is_ascii_uppercase() || w[1] == b'_' || w[1] == b'('))
        && b[0] == b'$';
    let bad_percent = b.iter().enumerate().any(|(i, &c)| {
        c == b'%'
            && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    dollar_ref || bad_percent
}

fn is_one_char(pw: &str) -> bool {
    let b = pw.as_bytes();
    b.iter().all(|&c| c == b[0])
}

/// Every character the next (or every one the previous) of the one before: `1234`, `abcdef`,
/// `4321`.
fn is_whole_sequence(pw: &str) -> bool {
    let b = pw.as_bytes();
    b.windows(2).all(|w| w[1] == w[0].wrapping_add(1))
        || b.windows(2).all(|w| w[0] == w[1].wrapping_add(1))
}

/// The claims of a JWT (`header.payload.signature`, base64url without padding), or `None` when
/// the payload is not base64url of a JSON object. The signature is not checked: patrol has no
/// key, and a key whose claims say what it is needs none to be reported.
pub fn jwt_claims(token: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::Engine as _;
    let mut parts = token.split(|&b| b == b'.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let json = engine.decode(payload).ok()?;
    match serde_json::from_slice(&json).ok()? {
        serde_json::Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Issuer of the demonstration keys that Supabase's self-hosting guide publishes.
const SUPABASE_DEMO_ISSUER: &str = "supabase-demo";

/// A Supabase legacy API key (a JWT) that is a secret: its claims say `role: service_role`
/// (full access, bypassing row-level security) and its issuer is Supabase (`supabase`, or a
/// self-hosted `supabase…` issuer), not the self-hosting guide's published demo keys. An anon
/// key (`role: anon`) is public by design and is never reported.
pub fn supabase_service_role(token: &[u8], _whole: &[u8]) -> bool {
    let Some(claims) = jwt_claims(token) else {
        return false;
    };
    let text = |k: &str| claims.get(k).and_then(serde_json::Value::as_str);
    text("role") == Some("service_role")
        && text("iss").is_some_and(|iss| iss.starts_with("supabase") && iss != SUPABASE_DEMO_ISSUER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(url: &str) -> bool {
        let at = url.rfind('@').unwrap();
        let start = url[..at].rfind(':').unwrap() + 1;
        url_password(&url.as_bytes()[start..at], url.as_bytes())
    }

    #[test]
    fn real_looking_passwords_are_secrets() {
        // Put together here, so that the source holds no whole connection URL with a
        // password (patrol scans its own repository clean).
        for (scheme, user, password, host) in [
            ("postgres", "app", "Vq8-rT2k!mZp9w", "db.internal:5432/app"),
            ("redis", "", "h7Gf2Qz9LmW4", "cache.internal:6379"),
            (
                "mongodb+srv",
                "svc",
                "Zx7%40Lk2pQ9",
                "cluster0.ab1cd.mongodb.net/prod",
            ),
            ("amqp", "worker", "Tr0ub4dor3", "localhost:5672/"),
        ] {
            let url = format!("{scheme}://{user}:{password}@{host}");
            assert!(judge(&url), "{url}");
        }
    }

    #[test]
    fn templates_words_defaults_and_fills_are_not() {
        for url in [
            "postgres://app:$DB_PASSWORD@db/app",
            "postgres://app:$(cat /run/pw)@db/app",
            "mysql://app:%s@db/app",
            "mysql://app:%(password)s@db/app",
            "redis://:****@cache:6379",
            "redis://:xxxxxxxx@cache:6379",
            "postgres://user:password@localhost/db",
            "postgres://user:pass@localhost/db",
            "postgres://user:Secret@localhost/db",
            "postgres://user:changeme@localhost/db",
            "postgres://user:example@localhost/db",
            "postgres://user:YOUR_PASSWORD@localhost/db",
            "postgres://user:my-secret-pw@localhost/db",
            "amqp://guest:guest@localhost:5672/",
            "postgres://postgres:postgres@localhost:5432/postgres",
            "postgres://appuser:APPUSER@localhost:5432/app",
            "redis://:foobared@localhost:6379",
            "mysql://root:123456@localhost/db",
            "mysql://root:abcd@localhost/db",
            "mysql://u:p@h/db",
            "mysql://root:a@h/db",
            "mongodb://myDBReader:D1fficultP%40ssw0rd@mongodb0.example.com:27017/?authSource=admin",
            "postgres://app:Vq8rT2kmZp9w@db.example.org:5432/app",
            "postgres://app:Vq8rT2kmZp9w@db.staging.test/app",
            "postgres://app:P@$$w0rd!@db/app",
            "postgres://app:s3cr3t-k3y@db/app",
        ] {
            assert!(!judge(url), "{url}");
        }
    }

    fn jwt(payload: &str) -> String {
        use base64::Engine as _;
        let b = |s: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.{}",
            b(br#"{"alg":"HS256","typ":"JWT"}"#),
            b(payload.as_bytes()),
            b(&[7u8; 32])
        )
    }

    #[test]
    fn supabase_service_role_is_a_secret_and_anon_and_demo_keys_are_not() {
        let p = |role: &str, iss: &str| {
            format!(
                r#"{{"iss":"{iss}","ref":"qwhzkbmtpnrafsdlcxve","role":"{role}","iat":1700000000,"exp":2015576000}}"#
            )
        };
        let yes = |t: &str| supabase_service_role(t.as_bytes(), t.as_bytes());
        assert!(yes(&jwt(&p("service_role", "supabase"))));
        assert!(!yes(&jwt(&p("anon", "supabase"))));
        assert!(!yes(&jwt(&p("authenticated", "supabase"))));
        assert!(!yes(&jwt(&p("service_role", "supabase-demo"))));
        assert!(!yes(&jwt(&p(
            "service_role",
            "https://accounts.example.org"
        ))));
        assert!(!yes(&jwt(r#"{"role":"service_role"}"#)));
        assert!(!yes(&jwt("[1,2]")));
        assert!(!yes("eyJ.not-base64!.x"));
        assert!(!yes(&format!(
            "{}.extra",
            jwt(&p("service_role", "supabase"))
        )));
    }

    proptest::proptest! {
        #[test]
        fn validators_never_panic(t in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            for name in NAMES {
                let judge = by_name(name).unwrap();
                let _ = judge(&t, &t);
            }
        }
    }

    #[test]
    fn unknown_names_are_refused() {
        assert!(by_name("url_password").is_some());
        assert!(by_name("nope").is_none());
    }
}
