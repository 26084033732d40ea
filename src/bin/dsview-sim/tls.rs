//! The simulator's throw-away TLS identity: a fresh certificate per start (self-signed, or a leaf
//! signed by a fresh CA), the PEM file a client should trust, the served certificate's SHA-256
//! fingerprint, and the rustls server configuration (ALPN `http/1.1`, plus `h2` on request).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
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

/// Subject common name of the CA that `--cert-style chain` generates.
pub const CA_COMMON_NAME: &str = "dsview-sim test CA";

/// The served certificate chain, its private key, and the certificate a client should trust.
pub struct Identity {
    /// The served chain, end-entity certificate first.
    chain: Vec<CertificateDer<'static>>,
    /// The certificate written to `--cert-out`: the served one, or for `chain` its CA.
    trust_pem: String,
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
    /// Generates ECDSA P-256 keys and a certificate of the given style for `sans` (IP addresses
    /// become IP entries, anything else a DNS name), subject CN `dsview-sim`. For `chain`, the
    /// certificate is a leaf signed by a fresh CA (CN [`CA_COMMON_NAME`], CA:TRUE), the served
    /// chain is leaf then CA, and the CA is what [`write_pem`](Self::write_pem) writes.
    pub fn generate(style: CertStyle, sans: &[String]) -> Result<Self, TlsError> {
        let leaf_key = KeyPair::generate()?;
        let key = PrivatePkcs8KeyDer::from(leaf_key.serialize_der());
        match style {
            CertStyle::Leaf | CertStyle::Ca => {
                let cert = server_params(style, sans)?.self_signed(&leaf_key)?;
                Ok(Self {
                    trust_pem: cert.pem(),
                    chain: vec![cert.der().clone()],
                    key,
                })
            }
            CertStyle::Chain => {
                let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
                ca_params.distinguished_name = common_name(CA_COMMON_NAME);
                ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                ca_params.key_usages = vec![
                    KeyUsagePurpose::KeyCertSign,
                    KeyUsagePurpose::CrlSign,
                    KeyUsagePurpose::DigitalSignature,
                ];
                set_validity(&mut ca_params);
                let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
                let leaf = server_params(CertStyle::Leaf, sans)?.signed_by(&leaf_key, &ca)?;
                Ok(Self {
                    trust_pem: ca.pem(),
                    chain: vec![leaf.der().clone(), ca.der().clone()],
                    key,
                })
            }
        }
    }

    /// SHA-256 over the served (end-entity) DER certificate, as `SHA256 AB:CD:...` (upper-case
    /// hex with colons, the digits `openssl x509 -fingerprint -sha256` prints).
    pub fn fingerprint(&self) -> String {
        let served = self.chain.first().map(|c| c.as_ref()).unwrap_or_default();
        let digest = ring::digest::digest(&ring::digest::SHA256, served);
        let mut out = String::from("SHA256 ");
        for (i, byte) in digest.as_ref().iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            let _ = write!(out, "{byte:02X}");
        }
        out
    }

    /// Writes the certificate a client should trust (PEM) to `path`.
    pub fn write_pem(&self, path: &Path) -> Result<(), TlsError> {
        std::fs::write(path, self.trust_pem.as_bytes()).map_err(|source| TlsError::Write {
            path: path.display().to_string(),
            source,
        })
    }

    /// A rustls server configuration serving this identity: ALPN `http/1.1` only, or with
    /// `http2` `h2` first and `http/1.1` second.
    pub fn server_config(&self, http2: bool) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                self.chain.clone(),
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )?;
        config.alpn_protocols = if http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        Ok(Arc::new(config))
    }
}

/// The served certificate's parameters: subject CN `dsview-sim`, the SANs, and either a leaf's
/// constraints or (for `ca`) CA:TRUE.
fn server_params(style: CertStyle, sans: &[String]) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::new(sans.to_vec())?;
    params.distinguished_name = common_name("dsview-sim");
    set_validity(&mut params);
    if style == CertStyle::Ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    } else {
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    }
    Ok(params)
}

fn common_name(cn: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, cn);
    name
}

fn set_validity(params: &mut CertificateParams) {
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2049, 12, 31);
}
