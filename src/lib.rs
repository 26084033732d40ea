//! `dsview-launch`: open KVM, serial and VM viewers on Vertiv Avocent DSView appliances.
//!
//! Code map:
//! - [`cli`]: the command line (clap derive only).
//! - [`config`]: flags + environment + profile -> one validated `Config` and `Task`; no network.
//! - [`profile`]: the config file (profiles, groups), read strictly and edited in place.
//! - [`files`]: where files live (XDG), written 0600/0700 and atomically.
//! - [`session`], [`session_cache`]: the appliance session, reused across runs.
//! - [`known_hosts`], [`cert`]: trusted certificate fingerprints, certificate details.
//! - [`lookup`]: finding the device a name names on one appliance. [`check`]: the CI smoke check.
//! - [`fleet`]: lookups and listings across a group of appliances.
//! - [`app`]: the flow of each command, and the exit code.
//! - [`api`]: the appliance REST API; the only module that does network I/O.
//! - [`tls`]: certificate trust (the rustls verifier).
//! - [`viewer`], [`device`]: pure logic: device types per viewer, name matching, the launch URL.
//! - [`password`]: where the password comes from. [`browser`]: opening the URL.
//! - [`output`]: everything on stdout. [`diag`]: everything else on stderr (and colour).
//! - [`progress`]: the spinner for slow steps.
//! - [`error`]: the error type, exit codes and hints. [`sanitize`]: escaping server strings.
//!
//! Invariants, stated as absences:
//! - only `api.rs` does network I/O, and nothing is sent before the password source is known;
//! - no password, token or ticket reaches `Debug` output, `-v` output or an error message; the
//!   ticket appears only inside the launch URL, which is the product;
//! - stdout carries only the URL, the JSON or the device list;
//! - no string from the appliance reaches the terminal unescaped;
//! - no code of the `dsview-sim` simulator is linked into the launcher.

pub mod api;
pub mod app;
pub mod browser;
pub mod cert;
pub mod check;
pub mod cli;
pub mod config;
pub mod device;
pub mod device_list;
pub mod diag;
pub mod error;
pub mod files;
pub mod fleet;
pub mod known_hosts;
pub mod lookup;
pub mod output;
pub mod password;
pub mod profile;
pub mod progress;
pub mod sanitize;
pub mod session;
pub mod session_cache;
pub mod tls;
pub mod viewer;
