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
/// ([`PLACEHOLDER_WORDS`], [`PLACEHOLDER_PARTS`]), shorter than [`MIN_URL_PASSWORD_CHARS`], or
/// the user name again (`guest:guest`, `postgres:postgres`).
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
    let bare: String = lower.chars().filter(|c| !matches!(c, '-' | '_')).collect();
    if PLACEHOLDER_WORDS.contains(&bare.as_str())
        || PLACEHOLDER_PARTS.iter().any(|p| lower.contains(p))
        || is_whole_sequence(&lower)
    {
        return false;
    }
    url_user(whole).is_none_or(|user| !user.eq_ignore_ascii_case(password))
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
        for url in [
            "postgres://app:Vq8-rT2k!mZp9w@db.internal:5432/app",
            "redis://:h7Gf2Qz9LmW4@cache.example.net:6379",
            "mongodb+srv://svc:Zx7%40Lk2pQ9@cluster0.ab1cd.mongodb.net/prod",
            "amqp://worker:Tr0ub4dor3@localhost:5672/",
        ] {
            assert!(judge(url), "{url}");
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

    #[test]
    fn unknown_names_are_refused() {
        assert!(by_name("url_password").is_some());
        assert!(by_name("nope").is_none());
    }
}
