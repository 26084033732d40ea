//! Certificate trust: the rustls client configuration and its certificate verifier.
//!
//! The verifier decides, in order:
//! 1. `--insecure`: accept anything;
//! 2. a pin (`--fingerprint`): accept exactly the certificate (or public key) it names, refuse
//!    everything else, with no fallback;
//! 3. a known-hosts entry for this host and port: accept the recorded certificate; refuse a
//!    different one loudly (the certificate changed), even if a CA would vouch for it;
//! 4. a presented certificate identical (byte for byte) to one in the `--ca-cert` file, which is
//!    how self-signed certificates marked CA:TRUE (`openssl req -x509`) can be trusted although
//!    webpki refuses them as end entities;
//! 5. a chain to a CA in the `--ca-cert` file, then to the system roots, loaded only when the
//!    earlier steps did not already decide.
//!
//! The check happens inside the TLS handshake, before any request (and so any password) is
//! sent. Handshake signatures are always verified with the crypto provider, whatever decided
//! the certificate. The certificate the appliance presented is remembered so that errors can
//! show its fingerprint and `trust` can show its details.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::config::TrustOptions;
use crate::error::{Error, Result, TlsProblem};

/// SHA-256 of some bytes (a DER certificate, a public key).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// A SHA-256 digest as `openssl x509 -fingerprint -sha256` prints it: `SHA256 AB:CD:...`.
pub fn format_digest(digest: &[u8; 32]) -> String {
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    format!("SHA256 {}", hex.join(":"))
}

/// SHA-256 fingerprint of a DER certificate, openssl style.
pub fn fingerprint(der: &[u8]) -> String {
    format_digest(&sha256(der))
}

/// What a `--fingerprint` names: the certificate's SHA-256, or its public key's (curl's
/// `sha256//BASE64` pin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pin {
    Certificate([u8; 32]),
    PublicKey([u8; 32]),
}

impl Pin {
    /// Parse `AB:CD:...`, `abcd...`, `SHA256 Fingerprint=AB:...`, `sha256:...` or
    /// `sha256//BASE64`.
    pub fn parse(input: &str) -> Result<Pin> {
        use base64::Engine as _;
        let s = input.trim();
        let bad = |why: &str| {
            Error::usage(
                format!("invalid certificate fingerprint {s:?}: {why}"),
                "give the SHA-256 fingerprint as `openssl x509 -noout -fingerprint -sha256` prints \
                 it (colons optional), or a public key pin sha256//BASE64",
            )
        };
        if let Some(b64) = s.strip_prefix("sha256//") {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| bad("the pin is not valid base64"))?;
            let digest: [u8; 32] = bytes
                .try_into()
                .map_err(|_| bad("a sha256// pin holds 32 bytes"))?;
            return Ok(Pin::PublicKey(digest));
        }
        let lower = s.to_ascii_lowercase();
        let mut rest = lower.as_str();
        for prefix in [
            "sha256 fingerprint=",
            "sha256fingerprint=",
            "sha256:",
            "sha256=",
            "sha256 ",
        ] {
            if let Some(r) = rest.strip_prefix(prefix) {
                rest = r;
                break;
            }
        }
        let hex: String = rest
            .chars()
            .filter(|c| !matches!(c, ':' | ' ' | '-'))
            .collect();
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad("expected 64 hexadecimal digits (32 bytes)"));
        }
        let mut digest = [0u8; 32];
        for (i, byte) in digest.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| bad("not hexadecimal"))?;
        }
        Ok(Pin::Certificate(digest))
    }

    fn matches(&self, der: &[u8]) -> bool {
        match self {
            Pin::Certificate(d) => sha256(der) == *d,
            Pin::PublicKey(d) => crate::cert::spki_der(der).is_some_and(|spki| sha256(&spki) == *d),
        }
    }
}

/// What the last handshake showed: the certificate presented and why it was refused, if it was.
#[derive(Debug, Default)]
struct Seen {
    presented: Option<CertificateDer<'static>>,
    refusal: Option<(TlsProblem, String)>,
}

/// The certificate verifier described in the module documentation.
pub struct Verifier {
    provider: Arc<CryptoProvider>,
    insecure: bool,
    pin: Option<Pin>,
    known: Option<[u8; 32]>,
    pinned: Vec<CertificateDer<'static>>,
    file_roots: Option<Arc<WebPkiServerVerifier>>,
    system_roots: OnceLock<Option<Arc<WebPkiServerVerifier>>>,
    seen: Mutex<Seen>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("insecure", &self.insecure)
            .field("pinned", &self.pinned.len())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    fn algorithms(&self) -> &WebPkiSupportedAlgorithms {
        &self.provider.signature_verification_algorithms
    }

    fn system_verifier(&self) -> Option<&Arc<WebPkiServerVerifier>> {
        self.system_roots
            .get_or_init(|| {
                let loaded = rustls_native_certs::load_native_certs();
                let mut roots = RootCertStore::empty();
                let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
                crate::diag::verbose(2, format!("loaded {added} system root certificates"));
                if roots.is_empty() {
                    return None;
                }
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                    .build()
                    .ok()
            })
            .as_ref()
    }

    fn record(&self, presented: &CertificateDer<'_>, refusal: Option<(TlsProblem, String)>) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.presented = Some(presented.clone().into_owned());
            seen.refusal = refusal;
        }
    }

    /// The certificate the appliance presented in the last handshake.
    pub fn presented(&self) -> Option<CertificateDer<'static>> {
        self.seen.lock().ok()?.presented.clone()
    }

    /// Why the last presented certificate was refused, if it was.
    pub fn refusal(&self) -> Option<(TlsProblem, String)> {
        self.seen.lock().ok()?.refusal.clone()
    }

    fn decide(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, (TlsProblem, rustls::Error)> {
        let refuse = |problem| {
            (
                problem,
                rustls::Error::InvalidCertificate(
                    rustls::CertificateError::ApplicationVerificationFailure,
                ),
            )
        };
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        if let Some(pin) = &self.pin {
            return if pin.matches(end_entity) {
                Ok(ServerCertVerified::assertion())
            } else {
                Err(refuse(TlsProblem::PinMismatch))
            };
        }
        if let Some(known) = &self.known {
            return if sha256(end_entity) == *known {
                Ok(ServerCertVerified::assertion())
            } else {
                Err(refuse(TlsProblem::Changed { recorded: *known }))
            };
        }
        if self
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            return Ok(ServerCertVerified::assertion());
        }
        let mut first_error = None;
        if let Some(v) = &self.file_roots {
            match v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
                Ok(ok) => return Ok(ok),
                Err(e) => first_error = Some(e),
            }
        }
        if let Some(v) = self.system_verifier() {
            match v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
                Ok(ok) => return Ok(ok),
                Err(e) => {
                    // A name mismatch against the system roots says more than "unknown issuer"
                    // from the file's CA.
                    if first_error.is_none() || is_name_error(&e) {
                        first_error = Some(e);
                    }
                }
            }
        }
        let err = first_error.unwrap_or(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        Err((TlsProblem::Untrusted, err))
    }
}

fn is_name_error(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. }
        )
    )
}

/// A sentence for a refused certificate.
pub fn describe(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => "the certificate is not signed by a trusted authority (self-signed?)".to_owned(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the certificate is not valid for this host name (name mismatch)".to_owned()
            }
            C::Expired | C::ExpiredContext { .. } => "the certificate has expired".to_owned(),
            C::NotValidYet | C::NotValidYetContext { .. } => "the certificate is not valid yet".to_owned(),
            C::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => {
                "the appliance presented a CA certificate as its own (typical of `openssl req -x509`); \
                 pass that exact certificate with --ca-cert to trust it"
                    .to_owned()
            }
            other => format!("invalid certificate ({other:?})"),
        },
        other => other.to_string(),
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.decide(end_entity, intermediates, server_name, ocsp_response, now) {
            Ok(ok) => {
                self.record(end_entity, None);
                Ok(ok)
            }
            Err((problem, err)) => {
                let reason = match problem {
                    TlsProblem::PinMismatch => {
                        "the certificate does not match the pinned fingerprint".to_owned()
                    }
                    TlsProblem::Changed { .. } => {
                        "the certificate is not the one recorded for this host: IT HAS CHANGED"
                            .to_owned()
                    }
                    _ => describe(&err),
                };
                self.record(end_entity, Some((problem, reason)));
                Err(err)
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, self.algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}

/// Read every certificate of a PEM file.
fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let bad = |why: String| {
        Error::usage(
            format!("cannot use --ca-cert {}: {why}", path.display()),
            "give a PEM file holding the appliance's certificate or its CA \
             (-----BEGIN CERTIFICATE----- ...)",
        )
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(format!("not a valid PEM file ({e})")))?;
    if certs.is_empty() {
        return Err(bad("it holds no certificate".to_owned()));
    }
    Ok(certs)
}

/// The rustls configuration for one run, and the verifier that remembers what it saw.
/// `known` is the known-hosts fingerprint recorded for this host and port, if any.
pub fn client_config(
    trust: &TrustOptions,
    known: Option<[u8; 32]>,
) -> Result<(ClientConfig, Arc<Verifier>)> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (pinned, file_roots) = match &trust.ca_cert {
        None => (Vec::new(), None),
        Some(path) => {
            let certs = read_pem_certs(path)?;
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(certs.iter().cloned());
            let file_roots = if roots.is_empty() {
                None
            } else {
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .ok()
            };
            (certs, file_roots)
        }
    };
    let verifier = Arc::new(Verifier {
        provider: provider.clone(),
        insecure: trust.insecure,
        pin: trust.fingerprint,
        known,
        pinned,
        file_roots,
        system_roots: OnceLock::new(),
        seen: Mutex::new(Seen::default()),
    });
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS setup failed: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((config, verifier))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_openssl_style() {
        let fp = fingerprint(b"abc");
        assert_eq!(
            fp,
            "SHA256 BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }

    #[test]
    fn pins_in_every_accepted_form() {
        let hex = "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
        let want = Pin::Certificate(sha256(b"abc"));
        for form in [
            hex.to_owned(),
            hex.to_lowercase(),
            fingerprint(b"abc"),
            format!("sha256 Fingerprint={}", &fingerprint(b"abc")[7..]),
            format!("sha256:{hex}"),
            format!("  {}  ", &fingerprint(b"abc")[7..]),
        ] {
            assert_eq!(Pin::parse(&form).expect(&form), want, "{form}");
        }
        assert_eq!(
            Pin::parse("sha256//ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=").expect("b64"),
            Pin::PublicKey(sha256(b"abc"))
        );
        for bad in [
            "",
            "abc",
            &hex[2..],
            "sha256//!!",
            "sha256//YWJj",
            &format!("{hex}00"),
        ] {
            assert_eq!(Pin::parse(bad).expect_err(bad).exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn missing_or_empty_ca_file_is_a_usage_error() {
        let dir = std::env::temp_dir().join(format!("dsview-tls-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").expect("write");
        for path in [dir.join("missing.pem"), empty] {
            let err = client_config(
                &TrustOptions {
                    ca_cert: Some(path),
                    ..TrustOptions::default()
                },
                None,
            )
            .expect_err("must fail");
            assert_eq!(err.exit_code(), 2, "{err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
