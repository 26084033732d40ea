//! Reading an X.509 certificate for people: subject, issuer, validity and fingerprint, as
//! `trust` and the first-contact prompt show them; and the public key a `sha256//` pin names.

use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};

use crate::sanitize::terminal_safe;

/// The DER of the certificate's SubjectPublicKeyInfo.
pub fn spki_der(der: &[u8]) -> Option<Vec<u8>> {
    let cert = Certificate::from_der(der).ok()?;
    cert.tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .ok()
}

/// What a person checks before trusting a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    pub expired: bool,
    pub fingerprint: String,
}

fn rfc3339(since_epoch: Duration) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + since_epoch).to_string()
}

/// Details of a DER certificate; `None` if it does not parse (then only the fingerprint is
/// known, which [`crate::tls::fingerprint`] gives).
pub fn details(der: &[u8]) -> Option<Details> {
    let cert = Certificate::from_der(der).ok()?;
    let tbs = cert.tbs_certificate();
    let validity = tbs.validity();
    let not_after = validity.not_after.to_unix_duration();
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Some(Details {
        subject: terminal_safe(&tbs.subject().to_string()).into_owned(),
        issuer: terminal_safe(&tbs.issuer().to_string()).into_owned(),
        not_before: rfc3339(validity.not_before.to_unix_duration()),
        not_after: rfc3339(not_after),
        expired: not_after < now,
        fingerprint: crate::tls::fingerprint(der),
    })
}

impl fmt::Display for Details {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  subject:     {}", self.subject)?;
        writeln!(f, "  issuer:      {}", self.issuer)?;
        writeln!(
            f,
            "  valid:       {} to {}{}",
            self.not_before,
            self.not_after,
            if self.expired { " (EXPIRED)" } else { "" }
        )?;
        write!(f, "  fingerprint: {}", self.fingerprint)
    }
}

/// Details as text, falling back to the fingerprint alone for a certificate that does not parse.
pub fn describe(der: &[u8]) -> String {
    match details(der) {
        Some(d) => d.to_string(),
        None => format!(
            "  (the certificate could not be parsed)\n  fingerprint: {}",
            crate::tls::fingerprint(der)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(details(b"not a certificate"), None);
        assert_eq!(spki_der(&[0x30, 0x03, 0x02, 0x01]), None);
        assert!(describe(b"xyz").contains("could not be parsed"));
    }
}
