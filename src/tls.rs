//! Certificate trust: the rustls client configuration and its certificate verifier.
//!
//! The verifier accepts, in order: any certificate with `--insecure`; a presented end-entity
//! certificate identical (byte for byte) to one in the `--ca-cert` file, which is how
//! self-signed appliance certificates marked CA:TRUE (`openssl req -x509`) can be trusted even
//! though webpki refuses them as end entities; a chain to a CA in the `--ca-cert` file; a chain
//! to the system roots, loaded only when the earlier checks did not already decide. Handshake
//! signatures are always verified with the crypto provider, whatever decided the certificate.
//! The certificate the appliance presented is remembered so that errors can show its
//! fingerprint.

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
use crate::error::{Error, Result};

/// SHA-256 of a DER certificate as `openssl x509 -fingerprint -sha256` prints it.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let hex: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    format!("SHA256 {}", hex.join(":"))
}

/// What the last handshake showed: the certificate presented and why it was refused, if it was.
#[derive(Debug, Default)]
struct Seen {
    presented: Option<CertificateDer<'static>>,
    refusal: Option<String>,
}

/// The certificate verifier described in the module documentation.
pub struct Verifier {
    provider: Arc<CryptoProvider>,
    insecure: bool,
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

    fn record(&self, presented: &CertificateDer<'_>, refusal: Option<String>) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.presented = Some(presented.clone().into_owned());
            seen.refusal = refusal;
        }
    }

    /// The fingerprint of the certificate the appliance presented in the last handshake.
    pub fn presented_fingerprint(&self) -> Option<String> {
        let seen = self.seen.lock().ok()?;
        seen.presented.as_ref().map(|c| fingerprint(c))
    }

    /// Why the last presented certificate was refused, if it was.
    pub fn refusal(&self) -> Option<String> {
        self.seen.lock().ok()?.refusal.clone()
    }

    fn decide(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
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
        Err(first_error.unwrap_or(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        )))
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
        let outcome = self.decide(end_entity, intermediates, server_name, ocsp_response, now);
        self.record(end_entity, outcome.as_ref().err().map(describe));
        outcome
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
pub fn client_config(trust: &TrustOptions) -> Result<(ClientConfig, Arc<Verifier>)> {
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
    fn missing_or_empty_ca_file_is_a_usage_error() {
        let dir = std::env::temp_dir().join(format!("dsview-tls-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").expect("write");
        for path in [dir.join("missing.pem"), empty] {
            let err = client_config(&TrustOptions {
                ca_cert: Some(path),
                insecure: false,
            })
            .expect_err("must fail");
            assert_eq!(err.exit_code(), 2, "{err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
