//! TLS to PostgreSQL as libpq does it: `sslmode` and `sslrootcert` from the datastore URL's
//! query (`?sslmode=verify-full&sslrootcert=/etc/patrol/ca.pem`), else from `PGSSLMODE` and
//! `PGSSLROOTCERT`, through rustls (`tokio-postgres-rustls`, the ring provider patrol already
//! uses for HTTPS and SMTP).
//!
//! The modes, as libpq defines them:
//! - `disable`: plain TCP.
//! - `prefer` (the default): TLS when the server offers it, plain otherwise; the certificate is
//!   not checked (it protects against listeners, not against an active attacker).
//! - `require`: TLS or nothing; the certificate is not checked, unless a root certificate is
//!   given (`sslrootcert`, or `~/.postgresql/root.crt` exists): then as `verify-ca`.
//! - `verify-ca`: TLS, with the server's chain checked against `sslrootcert`.
//! - `verify-full`: `verify-ca` plus the host name of the URL in the certificate.
//!
//! The verifying modes need a root certificate file: `sslrootcert`, else `~/.postgresql/root.crt`
//! (libpq's default); none is an error before any connection. A refused certificate is an error
//! saying why in one line, never retried.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use postgres::config::SslMode as PgSslMode;
use postgres::{Client, Config, NoTls};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::StoreError;

/// libpq's `sslmode` values patrol supports (`allow` is not one: use `prefer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when offered, plain otherwise; no certificate check.
    Prefer,
    /// TLS or nothing; no certificate check without a root certificate.
    Require,
    /// TLS with the chain checked.
    VerifyCa,
    /// TLS with the chain and the host name checked.
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }

    /// The name libpq uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// How one datastore is reached: the mode, the root certificate it checks against, and the
/// connector built from them once.
#[derive(Clone)]
pub struct Tls {
    mode: SslMode,
    root_cert: Option<PathBuf>,
    connector: Option<MakeRustlsConnect>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("mode", &self.mode)
            .field("root_cert", &self.root_cert)
            .finish()
    }
}

/// Takes `sslmode` and `sslrootcert` out of a datastore URL (the `postgres` crate knows
/// neither `verify-*` nor `sslrootcert`) and builds the connector: returns the URL without
/// them and the [`Tls`] to connect with.
pub fn from_url(url: &str) -> Result<(String, Tls), StoreError> {
    let bad = |reason: String| StoreError::Invalid {
        path: "postgres datastore URL".into(),
        reason,
    };
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut mode = None;
    let mut root = None;
    let mut rest = Vec::new();
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        match pair.split_once('=') {
            Some(("sslmode", v)) => mode = Some(percent_decode(v)),
            Some(("sslrootcert", v)) => root = Some(percent_decode(v)),
            _ => rest.push(pair),
        }
    }
    let mode = mode.or_else(|| env_nonempty("PGSSLMODE"));
    let root = root.or_else(|| env_nonempty("PGSSLROOTCERT"));
    let mode = match mode.as_deref() {
        None => SslMode::Prefer,
        Some(m) => SslMode::parse(m).ok_or_else(|| {
            bad(format!(
                "sslmode {m:?} is not one of disable, prefer, require, verify-ca, verify-full"
            ))
        })?,
    };
    if root.as_deref() == Some("system") {
        return Err(bad(
            "sslrootcert=system is not supported: give the file of the CA that signed the \
             server's certificate"
                .into(),
        ));
    }
    let tls = Tls::new(mode, root.map(PathBuf::from))?;
    let mut stripped = base.to_string();
    if !rest.is_empty() {
        stripped.push('?');
        stripped.push_str(&rest.join("&"));
    }
    Ok((stripped, tls))
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied(), b.get(i + 2).copied()) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// libpq's default root certificate file.
fn default_root_cert() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let p = Path::new(&home).join(".postgresql").join("root.crt");
    p.is_file().then_some(p)
}

impl Tls {
    /// The connector for `mode`, checking against `root_cert` (or libpq's default file).
    pub fn new(mode: SslMode, root_cert: Option<PathBuf>) -> Result<Self, StoreError> {
        let root_cert = match mode {
            SslMode::Disable | SslMode::Prefer => root_cert,
            SslMode::Require => root_cert.or_else(default_root_cert),
            SslMode::VerifyCa | SslMode::VerifyFull => match root_cert.or_else(default_root_cert) {
                Some(p) => Some(p),
                None => {
                    return Err(StoreError::Invalid {
                        path: "postgres datastore URL".into(),
                        reason: format!(
                            "sslmode={} needs the CA that signed the server's certificate: \
                             add sslrootcert=FILE to the URL or set PGSSLROOTCERT (or put it \
                             in ~/.postgresql/root.crt)",
                            mode.as_str()
                        ),
                    })
                }
            },
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Option<Arc<dyn ServerCertVerifier>> = match (mode, &root_cert) {
            (SslMode::Disable, _) => None,
            // prefer never checks (libpq); require checks only with a root certificate
            (SslMode::Prefer, _) | (SslMode::Require, None) => {
                Some(Arc::new(Unverified(provider.clone())))
            }
            (_, Some(file)) => {
                let roots = Arc::new(read_roots(file)?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| StoreError::Invalid {
                        path: file.display().to_string(),
                        reason: format!("sslrootcert: {e}"),
                    })?;
                Some(Arc::new(Verified {
                    inner: webpki,
                    check_name: mode == SslMode::VerifyFull,
                }))
            }
            (_, None) => unreachable!("the verifying modes have a root certificate"),
        };
        let connector = match verifier {
            None => None,
            Some(v) => {
                let config = ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| StoreError::Invalid {
                        path: "postgres datastore URL".into(),
                        reason: format!("TLS: {e}"),
                    })?
                    .dangerous()
                    .with_custom_certificate_verifier(v)
                    .with_no_client_auth();
                Some(MakeRustlsConnect::new(config))
            }
        };
        Ok(Self {
            mode,
            root_cert,
            connector,
        })
    }

    /// The mode in effect.
    pub fn mode(&self) -> SslMode {
        self.mode
    }

    /// What the `postgres` crate is told: whether TLS is tried and whether it is required.
    pub fn pg_mode(&self) -> PgSslMode {
        match self.mode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            _ => PgSslMode::Require,
        }
    }

    /// Opens one connection. Under `prefer`, a failed TLS handshake is tried again in plain
    /// (libpq does the same).
    pub fn connect(&self, config: &Config) -> Result<Client, postgres::Error> {
        let Some(connector) = &self.connector else {
            return config.clone().ssl_mode(PgSslMode::Disable).connect(NoTls);
        };
        let mut cfg = config.clone();
        cfg.ssl_mode(self.pg_mode());
        match cfg.connect(connector.clone()) {
            Err(e) if self.mode == SslMode::Prefer && is_tls(&e) => {
                cfg.ssl_mode(PgSslMode::Disable);
                cfg.connect(NoTls)
            }
            r => r,
        }
    }

    /// Why a connection failed in TLS, in one line (the host is named by the caller's
    /// datastore name), or `None` when it did not fail in TLS.
    pub fn explain(&self, e: &postgres::Error) -> Option<String> {
        if !is_tls(e) {
            return None;
        }
        let mode = self.mode.as_str();
        let root = self
            .root_cert
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let why = match rustls_error(e) {
            Some(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
                format!("the server's certificate is not signed by the CA in {root}")
            }
            Some(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => "the server's certificate does not name this host".to_string(),
            Some(rustls::Error::InvalidCertificate(c)) => {
                format!("the server's certificate was refused ({c:?})")
            }
            Some(other) => format!("TLS handshake failed: {other}"),
            None => match std::error::Error::source(e) {
                Some(s) => s.to_string(),
                None => e.to_string(),
            },
        };
        Some(format!("sslmode={mode}: {why}"))
    }
}

/// A failure in TLS (the handshake or the server refusing TLS): never retried, as it will fail
/// the same way again.
pub fn is_tls(e: &postgres::Error) -> bool {
    e.code().is_none() && e.to_string().starts_with("error performing TLS handshake")
}

fn rustls_error(e: &postgres::Error) -> Option<&rustls::Error> {
    let io = std::error::Error::source(e)?.downcast_ref::<std::io::Error>()?;
    io.get_ref()?.downcast_ref::<rustls::Error>()
}

fn read_roots(file: &Path) -> Result<RootCertStore, StoreError> {
    let bad = |reason: String| StoreError::Invalid {
        path: file.display().to_string(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(file)
        .map_err(|e| bad(format!("sslrootcert: cannot read: {e}")))?;
    for cert in certs {
        let cert = cert.map_err(|e| bad(format!("sslrootcert: not a PEM certificate: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| bad(format!("sslrootcert: not a CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(bad("sslrootcert: no certificate in the file".into()));
    }
    Ok(roots)
}

/// `verify-ca` and `verify-full`: the chain against the root certificates, and for `verify-full`
/// the host name as well.
#[derive(Debug)]
struct Verified {
    inner: Arc<WebPkiServerVerifier>,
    check_name: bool,
}

impl ServerCertVerifier for Verified {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            // webpki checks the name after the chain: this error means the chain was good
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            r => r,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `prefer`, and `require` without a root certificate: encrypted, the certificate not checked
/// (libpq's behaviour). The handshake's signatures are still checked against the certificate
/// presented, so the session key belongs to whoever holds that certificate's key.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_parameters_leave_the_url_and_the_rest_stays() {
        let (url, tls) = from_url("postgres://u@h:5/db?sslmode=disable&connect_timeout=3").unwrap();
        assert_eq!(url, "postgres://u@h:5/db?connect_timeout=3");
        assert_eq!(tls.mode(), SslMode::Disable);
        let (url, tls) = from_url("postgres://u@h:5/db?sslmode=require").unwrap();
        assert_eq!(url, "postgres://u@h:5/db");
        assert_eq!(tls.mode(), SslMode::Require);
    }

    #[test]
    fn an_unknown_mode_and_a_verifying_mode_without_a_ca_are_refused() {
        let e = from_url("postgres://u@h/db?sslmode=maybe").unwrap_err();
        assert!(e.to_string().contains("not one of disable"), "{e}");
        let e =
            from_url("postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fnonexistent%2Fca.pem")
                .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }
}
