//! The simulator's throw-away TLS identity: a fresh self-signed certificate per start, its PEM
//! file and SHA-256 fingerprint, and the rustls server configuration (HTTP/1.1 only).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::cli::CertStyle;

/// Subject alternative names used when no `--san` is given.
pub const DEFAULT_SANS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Why the TLS identity could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot generate the certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot build the TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    #[error("cannot write the certificate to {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// A self-signed certificate and its private key.
pub struct Identity {
    cert: CertificateDer<'static>,
    cert_pem: String,
    key: PrivatePkcs8KeyDer<'static>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("fingerprint", &self.fingerprint())
            .field("key", &"(redacted)")
            .finish()
    }
}

impl Identity {
    /// Generates an ECDSA P-256 key and a certificate of the given style for `sans`
    /// (IP addresses become IP entries, anything else a DNS name), subject CN `dsview-sim`.
    pub fn generate(style: CertStyle, sans: &[String]) -> Result<Self, TlsError> {
        let mut params = CertificateParams::new(sans.to_vec())?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, "dsview-sim");
        params.distinguished_name = name;
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2049, 12, 31);
        match style {
            CertStyle::Leaf => {
                params.is_ca = IsCa::ExplicitNoCa;
                params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            }
            CertStyle::Ca => {
                params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            }
        }
        let key_pair = KeyPair::generate()?;
        let cert = params.self_signed(&key_pair)?;
        Ok(Self {
            cert_pem: cert.pem(),
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key_pair.serialize_der()),
        })
    }

    /// SHA-256 over the DER certificate, as `SHA256 AB:CD:...` (upper-case hex with colons,
    /// the digits `openssl x509 -fingerprint -sha256` prints).
    pub fn fingerprint(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, self.cert.as_ref());
        let mut out = String::from("SHA256 ");
        for (i, byte) in digest.as_ref().iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            let _ = write!(out, "{byte:02X}");
        }
        out
    }

    /// Writes the PEM certificate to `path`.
    pub fn write_pem(&self, path: &Path) -> Result<(), TlsError> {
        std::fs::write(path, self.cert_pem.as_bytes()).map_err(|source| TlsError::Write {
            path: path.display().to_string(),
            source,
        })
    }

    /// A rustls server configuration serving this identity, HTTP/1.1 only (ALPN `http/1.1`).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![self.cert.clone()],
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}
