//! Command-line flags of `dsview-sim` (clap derive only: parsing checks what was typed, nothing
//! more).

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::faults::FaultSpec;

/// Largest `--devices` value accepted (device names and ids stay well-formed far beyond it).
pub const MAX_GENERATED_DEVICES: u32 = 10_000_000;

/// A local HTTPS simulator of a Vertiv Avocent DSView appliance (viewer-session API only).
///
/// It generates a fresh self-signed certificate at every start, prints where it listens, where
/// the certificate is and its SHA-256 fingerprint, then serves until interrupted.
///
/// With a COMMAND after `--`, it runs that command once it listens, with DSVIEW_HOST,
/// DSVIEW_USER, DSVIEW_PASSWORD and DSVIEW_CA_CERT set for it, prints its start-up lines on
/// stderr instead of stdout, and exits with the command's exit code when the command ends.
#[derive(Debug, Parser)]
#[command(name = "dsview-sim", version, after_help = crate::faults::HELP)]
pub struct Args {
    /// IP address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// TCP port to listen on; 0 picks a free port.
    #[arg(long, value_name = "N", default_value_t = 8443)]
    pub port: u16,

    /// Where to write the certificate (PEM) [default: <temp dir>/dsview-sim-<port>.pem].
    #[arg(long, value_name = "FILE")]
    pub cert_out: Option<PathBuf>,

    /// Kind of self-signed certificate to serve.
    #[arg(long, value_enum, value_name = "STYLE", default_value_t = CertStyle::Leaf)]
    pub cert_style: CertStyle,

    /// Subject alternative name (repeatable); replaces the default localhost, 127.0.0.1, ::1.
    /// A value that parses as an IP address becomes an IP address entry.
    #[arg(long = "san", value_name = "NAME", value_parser = parse_san)]
    pub sans: Vec<String>,

    /// Add N generated devices (gen-000001, gen-000002, ...).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_GENERATED_DEVICES))
    )]
    pub devices: u32,

    /// Leave out the built-in demo devices.
    #[arg(long)]
    pub no_demo: bool,

    /// Delay every /api/ response by N milliseconds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub latency_ms: u64,

    /// Answer every Nth /api/ request (counting from 1) with 500.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub fail_every: Option<u64>,

    /// Seconds a ticket stays valid (0: every ticket is already expired when presented).
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    pub ticket_ttl: u64,

    /// Open user sessions allowed per user; a login beyond it answers 403.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_sessions: usize,

    /// Offer HTTP/2 as well as HTTP/1.1 (ALPN `h2`, `http/1.1`); the default is HTTP/1.1 only.
    #[arg(long)]
    pub http2: bool,

    /// Misbehave on purpose: STEP=KIND[xN], repeatable (see "Faults" below).
    #[arg(long = "fault", value_name = "STEP=KIND[xN]", value_parser = FaultSpec::parse)]
    pub faults: Vec<FaultSpec>,

    /// Print only the three start-up lines; no help text, no request log.
    #[arg(long, short)]
    pub quiet: bool,

    /// A command to run once the simulator listens; the simulator stops when it exits.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// Shape of the generated certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CertStyle {
    /// End-entity certificate: CA:FALSE, key usage digitalSignature, EKU serverAuth.
    Leaf,
    /// Self-signed CA certificate used as the server certificate (as `openssl req -x509` makes).
    Ca,
    /// A leaf signed by a generated CA (`dsview-sim test CA`); the certificate file holds the CA.
    Chain,
}

/// Accepts an IP address or a DNS name (letters, digits, `-`, `_`, `.`, and a leading `*.`).
fn parse_san(value: &str) -> Result<String, String> {
    if value.parse::<IpAddr>().is_ok() {
        return Ok(value.to_owned());
    }
    let name = value.strip_prefix("*.").unwrap_or(value);
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if valid {
        Ok(value.to_owned())
    } else {
        Err(format!("{value:?} is neither an IP address nor a DNS name"))
    }
}
