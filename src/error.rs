//! The one error type of the tool: what went wrong, in the user's words, with the exit code that
//! scripts rely on and a hint that says what to do next.
//!
//! Exit codes are a public contract (README, `--help`): see [`ExitCode`](Error::exit_code).

use std::fmt::Write as _;

use crate::viewer::Viewer;

/// A device as it is named in error messages (never carries a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSummary {
    pub id: String,
    pub name: String,
    pub device_type: String,
}

/// Why a certificate was refused; decides the advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsProblem {
    /// Neither a CA, the `--ca-cert` file nor the known hosts vouch for it.
    Untrusted,
    /// It does not match the `--fingerprint` pin.
    PinMismatch,
    /// It differs from the one recorded in the known hosts.
    Changed { recorded: [u8; 32] },
    /// The handshake failed for another reason.
    Handshake,
}

/// Every failure the tool reports. Each variant maps to exactly one documented exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Something the user typed or configured cannot work (exit 2).
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },

    /// No device of that name or id takes the viewer (exit 3).
    #[error("no device named {query} takes the {viewer} viewer")]
    DeviceNotFound {
        query: String,
        viewer: Viewer,
        suggestions: Vec<String>,
    },

    /// Several devices match the name (exit 3).
    #[error("{} devices are named {query}", matches.len())]
    AmbiguousDevice {
        query: String,
        viewer: Viewer,
        matches: Vec<DeviceSummary>,
    },

    /// The device exists but takes other viewers, or none (exit 3).
    #[error("{name} does not take the {requested} viewer{}", takes_phrase(takes))]
    WrongViewer {
        name: String,
        requested: Viewer,
        takes: Vec<Viewer>,
    },

    /// Several appliances of a fleet have a device of that name (exit 3).
    #[error("{message}")]
    AmbiguousInFleet { message: String, hint: String },

    /// The device takes the viewer but not the requested option (exit 3).
    #[error("{message}")]
    OptionNotSupported { message: String },

    /// Login refused (exit 4).
    #[error("invalid username or password for {user} on {host}")]
    InvalidCredentials { user: String, host: String },

    /// The appliance refused an action for lack of permission or an ended session (exit 4).
    #[error("{message}")]
    PermissionDenied { message: String, hint: String },

    /// No way to obtain a password without a terminal (exit 4).
    #[error("no password available and no terminal to ask for one")]
    NoPassword,

    /// The password could not be read (exit 4).
    #[error("could not read the password: {0}")]
    PasswordRead(String),

    /// The appliance's certificate is not trusted, or the TLS handshake failed (exit 5).
    #[error("TLS: cannot trust {host}: {reason}")]
    Tls {
        host: String,
        reason: String,
        problem: TlsProblem,
        presented: Option<rustls::pki_types::CertificateDer<'static>>,
    },

    /// The appliance no longer accepts the session's token (exit 4).
    #[error("the appliance no longer accepts the session ({detail})")]
    SessionExpired { detail: String },

    /// The appliance could not be reached (exit 6).
    #[error("cannot reach {host}: {reason}")]
    Network { host: String, reason: String },

    /// Some appliances of a fleet could not be asked, so the answer may be incomplete (exit 6).
    #[error("{message}")]
    FleetIncomplete { message: String },

    /// A request took longer than the timeout (exit 6).
    #[error("{host} did not answer {step} within {secs} s")]
    Timeout {
        host: String,
        step: &'static str,
        secs: u64,
    },

    /// The appliance answered something the API does not allow (exit 7).
    #[error("unexpected answer to {step}: {detail}")]
    UnexpectedResponse { step: &'static str, detail: String },

    /// A bug or an environment failure the tool cannot explain (exit 1).
    #[error("{0}")]
    Internal(String),

    /// The user pressed Ctrl-C (exit 130).
    #[error("interrupted")]
    Interrupted,
}

fn takes_phrase(takes: &[Viewer]) -> String {
    match takes {
        [] => ": it takes no viewer".to_owned(),
        [only] => format!(": it has only a {} path", only.display_name()),
        many => {
            let names: Vec<&str> = many.iter().map(|v| v.display_name()).collect();
            format!(": it takes {}", names.join(" and "))
        }
    }
}

impl Error {
    /// Shorthand for a usage error with a hint.
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// The documented process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Internal(_) => 1,
            Error::Usage { .. } => 2,
            Error::DeviceNotFound { .. }
            | Error::AmbiguousDevice { .. }
            | Error::WrongViewer { .. }
            | Error::AmbiguousInFleet { .. }
            | Error::OptionNotSupported { .. } => 3,
            Error::InvalidCredentials { .. }
            | Error::PermissionDenied { .. }
            | Error::NoPassword
            | Error::SessionExpired { .. }
            | Error::PasswordRead(_) => 4,
            Error::Tls { .. } => 5,
            Error::Network { .. } | Error::Timeout { .. } | Error::FleetIncomplete { .. } => 6,
            Error::UnexpectedResponse { .. } => 7,
            Error::Interrupted => 130,
        }
    }

    /// What the user can do next; may span several lines.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Usage { hint, .. } => hint.clone(),
            Error::DeviceNotFound {
                viewer,
                suggestions,
                ..
            } => {
                if suggestions.is_empty() {
                    Some(format!(
                        "list the devices that take it with: dsview-launch devices --viewer {}",
                        viewer.cli_name()
                    ))
                } else {
                    let mut s = String::from("did you mean:");
                    for name in suggestions {
                        let _ = write!(s, "\n    {}", crate::sanitize::quote_name(name));
                    }
                    Some(s)
                }
            }
            Error::AmbiguousDevice {
                viewer, matches, ..
            } => {
                let mut s = String::from("matching devices (id, type, name):");
                for d in matches {
                    let _ = write!(
                        s,
                        "\n    {}  {}  {}",
                        crate::sanitize::terminal_safe(&d.id),
                        crate::sanitize::terminal_safe(&d.device_type),
                        crate::sanitize::quote_name(&d.name)
                    );
                }
                if let Some(first) = matches.first() {
                    let _ = write!(
                        s,
                        "\npick one by id, e.g.: dsview-launch {} {}",
                        viewer.cli_name(),
                        crate::sanitize::terminal_safe(&first.id)
                    );
                }
                Some(s)
            }
            Error::WrongViewer { name, takes, .. } => match takes.as_slice() {
                [] => Some("list what the appliance has with: dsview-launch devices".to_owned()),
                many => {
                    let cmds: Vec<String> = many
                        .iter()
                        .map(|v| {
                            format!(
                                "dsview-launch {} {}",
                                v.cli_name(),
                                crate::sanitize::shell_quote(name)
                            )
                        })
                        .collect();
                    Some(format!("try `{}`", cmds.join("` or `")))
                }
            },
            Error::OptionNotSupported { .. } => None,
            Error::AmbiguousInFleet { hint, .. } => Some(hint.clone()),
            Error::InvalidCredentials { .. } => Some(
                "check the user name (-u/DSVIEW_USER) and the password; \
                 repeated failures may lock the account on the appliance"
                    .to_owned(),
            ),
            Error::PermissionDenied { hint, .. } => Some(hint.clone()),
            Error::NoPassword => Some(
                "give the password in one of three ways:\n    \
                 --password-stdin          read it from the first line of standard input\n    \
                 DSVIEW_PASSWORD=...       set it in the environment\n    \
                 run on a terminal         and type it at the prompt"
                    .to_owned(),
            ),
            Error::PasswordRead(_) => None,
            Error::Tls {
                host,
                problem,
                presented,
                ..
            } => Some(tls_hint(host, *problem, presented.as_deref())),
            Error::SessionExpired { .. } => Some(
                "the session expired or was ended on the appliance; log in again with: \
                 dsview-launch login"
                    .to_owned(),
            ),
            Error::Network { .. } => Some(
                "check the host name and port (--host/DSVIEW_HOST), that the appliance is up, \
                 and any proxy settings (HTTPS_PROXY, NO_PROXY)"
                    .to_owned(),
            ),
            Error::FleetIncomplete { .. } => Some(
                "the warnings above say why each appliance could not be asked; fix that (network, \
                 `dsview-launch -p PROFILE trust`, credentials) or ask again once it is back"
                    .to_owned(),
            ),
            Error::Timeout { .. } => Some(
                "the appliance may be overloaded or unreachable; raise --timeout (DSVIEW_TIMEOUT) \
                 if it is just slow"
                    .to_owned(),
            ),
            Error::UnexpectedResponse { .. } => Some(
                "the appliance's firmware may answer differently than documented; \
                 rerun with -vv and report the output (it holds no secrets)"
                    .to_owned(),
            ),
            Error::Internal(_) => {
                Some("this is a bug; please report it with the -vv output".to_owned())
            }
            Error::Interrupted => None,
        }
    }
}

fn tls_hint(host: &str, problem: TlsProblem, presented: Option<&[u8]>) -> String {
    let mut s = String::new();
    let presented_fp = presented.map(crate::tls::fingerprint);
    match problem {
        TlsProblem::Changed { recorded } => {
            let _ = writeln!(
                s,
                "@@@ WARNING: THE CERTIFICATE OF {host} HAS CHANGED @@@\n\
                 someone may be intercepting the connection, or the appliance's certificate was replaced.\n    \
                 recorded:  {}\n    \
                 presented: {}",
                crate::tls::format_digest(&recorded),
                presented_fp.as_deref().unwrap_or("(unknown)")
            );
            let _ = write!(
                s,
                "nothing was sent. If the appliance's certificate was replaced on purpose (check its console),\n\
                 replace the entry with: dsview-launch trust {host}"
            );
        }
        TlsProblem::PinMismatch => {
            let _ = write!(
                s,
                "the pinned fingerprint (--fingerprint, DSVIEW_FINGERPRINT or the profile's fingerprint) \
                 does not match\n    presented: {}\nnothing was sent; check the pin against the appliance's console",
                presented_fp.as_deref().unwrap_or("(unknown)")
            );
        }
        TlsProblem::Untrusted | TlsProblem::Handshake => {
            if let Some(fp) = presented_fp {
                let _ = writeln!(
                    s,
                    "the appliance presented a certificate with fingerprint\n    {fp}"
                );
                s.push_str(
                    "if that is the appliance's own certificate (compare it on the appliance's console), either\n",
                );
                let _ = writeln!(
                    s,
                    "    record it as trusted:        dsview-launch trust {host}"
                );
                let _ = writeln!(
                    s,
                    "    or pin it:                   --fingerprint '{}'",
                    &fp[7..]
                );
            } else {
                s.push_str("either\n");
            }
            s.push_str(
                "    or pass its PEM file (or its CA's) with --ca-cert FILE (DSVIEW_CA_CERT)\n    \
                 or skip verification with -k/--insecure (not recommended)",
            );
        }
    }
    s
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Print an error the way every command does: `dsview-launch: error: ...` and an indented hint.
pub fn report(err: &Error) {
    let mut out = format!(
        "dsview-launch: {} {}\n",
        crate::diag::paint_stderr("error:", crate::diag::ERROR),
        crate::sanitize::terminal_safe(&err.to_string())
    );
    if let Some(hint) = err.hint() {
        for line in hint.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    crate::diag::stderr_write(&out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        let check = |e: Error, code: u8| assert_eq!(e.exit_code(), code, "{e:?}");
        check(Error::Internal("x".into()), 1);
        check(Error::usage("x", "y"), 2);
        check(
            Error::WrongViewer {
                name: "db-07".into(),
                requested: Viewer::Kvm,
                takes: vec![Viewer::Serial],
            },
            3,
        );
        check(Error::NoPassword, 4);
        check(
            Error::Tls {
                host: "h".into(),
                reason: "r".into(),
                problem: TlsProblem::Untrusted,
                presented: None,
            },
            5,
        );
        check(
            Error::Timeout {
                host: "h".into(),
                step: "login",
                secs: 1,
            },
            6,
        );
        check(
            Error::UnexpectedResponse {
                step: "login",
                detail: "d".into(),
            },
            7,
        );
        check(Error::Interrupted, 130);
    }

    #[test]
    fn wrong_viewer_names_the_viewer_it_takes() {
        let e = Error::WrongViewer {
            name: "db-07".into(),
            requested: Viewer::Kvm,
            takes: vec![Viewer::Serial],
        };
        assert_eq!(
            e.to_string(),
            "db-07 does not take the KVM viewer: it has only a serial path"
        );
        assert_eq!(
            e.hint().as_deref(),
            Some("try `dsview-launch serial db-07`")
        );
    }
}
