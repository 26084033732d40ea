//! Turns flags and environment into one validated [`Config`] and [`Task`]. No network here;
//! the only I/O is reading the environment.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::cli::{Cli, Command, DevicesArgs, LaunchArgs};
use crate::error::{Error, Result};
use crate::viewer::{KvmOptions, Viewer};

/// Where the password comes from, decided before anything touches the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSource {
    Stdin,
    Env,
    Prompt,
}

/// How the appliance's certificate is trusted.
#[derive(Debug, Clone, Default)]
pub struct TrustOptions {
    pub ca_cert: Option<PathBuf>,
    pub insecure: bool,
}

/// Everything needed to talk to one appliance.
#[derive(Debug, Clone)]
pub struct Config {
    /// `https://host[:port]/`, validated.
    pub base: Url,
    /// `host[:port]` as messages show it.
    pub host_label: String,
    pub user: Option<String>,
    pub password: PasswordSource,
    pub trust: TrustOptions,
    pub timeout: Duration,
}

/// What happens with the URL once it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Open it with this command, or the system's browser when `None`.
    Browser(Option<String>),
    PrintUrl,
    Json,
}

#[derive(Debug, Clone)]
pub struct LaunchTask {
    pub viewer: Viewer,
    pub device: String,
    pub output: Output,
    pub kvm: KvmOptions,
}

#[derive(Debug, Clone)]
pub struct DevicesTask {
    pub viewer: Option<Viewer>,
    pub json: bool,
    pub header: bool,
}

#[derive(Debug, Clone)]
pub enum Task {
    Launch(LaunchTask),
    Devices(DevicesTask),
}

/// Parse `HOST`, `HOST:PORT`, `https://HOST[:PORT][/]` (IPv6 in brackets) into a base URL.
pub fn parse_host(input: &str) -> Result<Url> {
    let trimmed = input.trim();
    let bad = |why: &str| {
        Error::usage(
            format!("invalid appliance address {trimmed:?}: {why}"),
            "give --host as HOST, HOST:PORT or https://HOST[:PORT], e.g. --host mp1000.example.com",
        )
    };
    if trimmed.is_empty() {
        return Err(bad("it is empty"));
    }
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("http://") {
        return Err(Error::usage(
            format!("refusing plain-HTTP appliance address {trimmed:?}"),
            "the appliance API is served over HTTPS only and the password must not cross the \
             network in clear; use https:// or give just the host",
        ));
    }
    let with_scheme = if lower.contains("://") {
        trimmed.to_owned()
    } else {
        format!("https://{trimmed}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != "https" {
        return Err(bad("only https:// is supported"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host name"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials do not belong in the address; use --user"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("give only the host and port, without a path"));
    }
    Ok(url)
}

/// `host` or `host:port` of a base URL, as messages show it.
pub fn host_label(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The environment a run reads, captured once so tests of this module need no process state.
#[derive(Debug, Default, Clone)]
pub struct Env {
    pub password_set: bool,
    pub browser: Option<String>,
}

impl Env {
    pub fn from_process() -> Self {
        Env {
            password_set: std::env::var_os("DSVIEW_PASSWORD").is_some_and(|v| !v.is_empty()),
            browser: std::env::var("BROWSER")
                .ok()
                .filter(|v| !v.trim().is_empty()),
        }
    }
}

/// Build the configuration and the task from the parsed command line.
pub fn build(cli: &Cli, env: &Env) -> Result<(Config, Task)> {
    let g = &cli.global;
    let task = match &cli.command {
        Command::Kvm(args) => Task::Launch(launch_task(
            Viewer::Kvm,
            &args.launch,
            KvmOptions {
                sharing_mode: args.sharing_mode,
                mouse_mode: args.mouse_mode,
            },
            env,
        )),
        Command::Serial(args) | Command::Vm(args) => {
            let viewer = if matches!(cli.command, Command::Serial(_)) {
                Viewer::Serial
            } else {
                Viewer::Vm
            };
            for (flag, given) in [
                ("--sharing-mode", args.sharing_mode.is_some()),
                ("--mouse-mode", args.mouse_mode.is_some()),
            ] {
                if given {
                    return Err(Error::usage(
                        format!(
                            "{flag} applies only to the KVM viewer, not to the {viewer} viewer"
                        ),
                        format!("drop {flag}, or use `dsview-launch kvm ...`"),
                    ));
                }
            }
            Task::Launch(launch_task(
                viewer,
                &args.launch,
                KvmOptions::default(),
                env,
            ))
        }
        Command::Devices(DevicesArgs {
            viewer,
            json,
            header,
        }) => Task::Devices(DevicesTask {
            viewer: *viewer,
            json: *json,
            header: *header,
        }),
    };

    let Some(host) = g.host.as_deref() else {
        return Err(Error::usage(
            "no appliance given",
            "pass --host HOST[:PORT] or set DSVIEW_HOST, e.g. --host mp1000.example.com",
        ));
    };
    let base = parse_host(host)?;
    let user = g.user.clone().filter(|u| !u.is_empty());
    let password = if g.password_stdin {
        PasswordSource::Stdin
    } else if env.password_set {
        PasswordSource::Env
    } else {
        PasswordSource::Prompt
    };
    if let Some(path) = &g.ca_cert
        && g.insecure
    {
        return Err(Error::usage(
            format!(
                "--insecure and --ca-cert {} contradict each other",
                path.display()
            ),
            "drop --insecure to verify the certificate against the file",
        ));
    }
    let config = Config {
        host_label: host_label(&base),
        base,
        user,
        password,
        trust: TrustOptions {
            ca_cert: g.ca_cert.clone(),
            insecure: g.insecure,
        },
        timeout: Duration::from_secs(g.timeout),
    };
    Ok((config, task))
}

fn launch_task(viewer: Viewer, args: &LaunchArgs, kvm: KvmOptions, env: &Env) -> LaunchTask {
    let output = if args.json {
        Output::Json
    } else if args.no_browser {
        Output::PrintUrl
    } else {
        Output::Browser(
            args.browser
                .clone()
                .filter(|b| !b.trim().is_empty())
                .or_else(|| env.browser.clone()),
        )
    };
    LaunchTask {
        viewer,
        device: args.device.clone(),
        output,
        kvm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        match (parse_host(input), expected) {
            (Ok(url), Ok(want)) => assert_eq!(url.as_str(), want, "{input}"),
            (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{input}: {e}"),
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn host_forms() {
        check("mp1000", Ok("https://mp1000/"));
        check(
            "mp1000.example.com:8443",
            Ok("https://mp1000.example.com:8443/"),
        );
        check("https://10.0.0.5", Ok("https://10.0.0.5/"));
        check("HTTPS://10.0.0.5:443/", Ok("https://10.0.0.5/"));
        check("[::1]:8443", Ok("https://[::1]:8443/"));
        check(" rm1048p-r12 ", Ok("https://rm1048p-r12/"));
        check("http://mp1000", Err("refusing plain-HTTP"));
        check("HTTP://mp1000", Err("refusing plain-HTTP"));
        check("ftp://mp1000", Err("only https://"));
        check("", Err("empty"));
        check("mp1000/api/v1", Err("without a path"));
        check("admin:pw@mp1000", Err("credentials"));
        check("mp1000:99999", Err("invalid appliance address"));
    }

    #[test]
    fn label_shows_port_only_when_not_default() {
        assert_eq!(host_label(&parse_host("a:443").expect("ok")), "a");
        assert_eq!(host_label(&parse_host("a:8443").expect("ok")), "a:8443");
        assert_eq!(
            host_label(&parse_host("[::1]:8443").expect("ok")),
            "[::1]:8443"
        );
    }
}
