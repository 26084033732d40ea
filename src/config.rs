//! Turns flags, environment and the selected profile into one validated [`Config`] and
//! [`Task`], with the precedence option > environment > profile > built-in default (clap has
//! already merged each option with its environment variable). No network here.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::cli::{Cli, Command, DevicesArgs, GlobalArgs, LaunchArgs};
use crate::error::{Error, Result};
use crate::profile::{FileConfig, Profile};
use crate::tls::Pin;
use crate::viewer::{KvmOptions, Viewer};

/// The built-in request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the password comes from, in this order: `--password-stdin`, `DSVIEW_PASSWORD`, the
/// profile's `password_command`, a prompt on the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    Stdin,
    Env,
    Command(Vec<String>),
    Prompt,
}

/// How the appliance's certificate is trusted.
#[derive(Debug, Clone, Default)]
pub struct TrustOptions {
    pub ca_cert: Option<PathBuf>,
    pub insecure: bool,
    pub fingerprint: Option<Pin>,
}

/// Everything needed to talk to one appliance.
#[derive(Debug, Clone)]
pub struct Config {
    /// `https://host[:port]/`, validated.
    pub base: Url,
    /// `host[:port]` as messages show it.
    pub host_label: String,
    /// `host:port` with the port always present: the key of caches and known hosts.
    pub host_key: String,
    pub user: Option<String>,
    pub password: PasswordSource,
    pub trust: TrustOptions,
    pub timeout: Duration,
    /// Keep the session on disk for later runs.
    pub session_cache: bool,
    /// The profile these settings came from, if any.
    pub profile: Option<String>,
    /// The largest response body read, in MiB.
    pub max_body_mib: u64,
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
    pub device_type: Option<String>,
    pub name: Option<String>,
    pub json: bool,
    pub header: bool,
}

#[derive(Debug, Clone)]
pub struct CheckTask {
    /// The device to resolve and the viewer it must take.
    pub target: Option<(String, Viewer)>,
    pub json: bool,
}

#[derive(Debug, Clone)]
pub enum Task {
    Launch(LaunchTask),
    Devices(DevicesTask),
    Check(CheckTask),
    Login,
    Logout,
    Trust { yes: bool },
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

/// `host:port`, the port always given.
pub fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default().to_ascii_lowercase(),
        url.port_or_known_default().unwrap_or(443)
    )
}

/// The profile the run uses: `-p`/`DSVIEW_PROFILE`, else the file's `default_profile`.
pub fn select_profile<'a>(
    requested: Option<&str>,
    file: &'a FileConfig,
) -> Result<Option<(&'a str, &'a Profile)>> {
    let Some(name) = requested.or(file.default_profile.as_deref()) else {
        return Ok(None);
    };
    match file.profiles.get_key_value(name) {
        Some((k, p)) => Ok(Some((k.as_str(), p))),
        None => {
            let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
            Err(Error::usage(
                format!("no profile named {name:?}"),
                if known.is_empty() {
                    "create one with: dsview-launch profile add NAME --host HOST -u USER".to_owned()
                } else {
                    format!("the profiles are: {}", known.join(", "))
                },
            ))
        }
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

/// Build the configuration and the task from the parsed command line and the config file.
pub fn build(cli: &Cli, env: &Env, file: &FileConfig) -> Result<(Config, Task)> {
    build_for(cli, env, file, cli.global.profile.as_deref())
}

/// The members of a fleet (`-g GROUP` or `--all`): each profile's configuration, in the order
/// the group lists them.
pub fn fleet(cli: &Cli, env: &Env, file: &FileConfig) -> Result<Vec<(String, Config, Task)>> {
    let g = &cli.global;
    if g.host.is_some() || g.profile.is_some() {
        return Err(Error::usage(
            "--host and --profile name one appliance; -g/--all name many",
            "drop --host/--profile (or DSVIEW_HOST/DSVIEW_PROFILE), or drop -g/--all",
        ));
    }
    let names: Vec<String> = match &g.group {
        Some(group) => match file.groups.get(group) {
            Some(members) => members.profiles.clone(),
            None => {
                let known: Vec<&str> = file.groups.keys().map(String::as_str).collect();
                return Err(Error::usage(
                    format!("no group named {group:?}"),
                    if known.is_empty() {
                        "define one in the config file: [groups.NAME] profiles = [\"rack01\", \"rack02\"]".to_owned()
                    } else {
                        format!("the groups are: {}", known.join(", "))
                    },
                ));
            }
        },
        None => file.profiles.keys().cloned().collect(),
    };
    if names.is_empty() {
        return Err(Error::usage(
            "the fleet has no appliances",
            "add profiles with `dsview-launch profile add` and list them in the group",
        ));
    }
    names
        .into_iter()
        .map(|name| {
            let (config, task) = build_for(cli, env, file, Some(&name))?;
            Ok((name, config, task))
        })
        .collect()
}

fn build_for(
    cli: &Cli,
    env: &Env,
    file: &FileConfig,
    profile_name: Option<&str>,
) -> Result<(Config, Task)> {
    let g = &cli.global;
    let selected = select_profile(profile_name, file)?;
    let empty = Profile::default();
    let profile = selected.map_or(&empty, |(_, p)| p);
    let task = match &cli.command {
        Command::Kvm(args) => Task::Launch(launch_task(
            Viewer::Kvm,
            &args.launch,
            KvmOptions {
                sharing_mode: args.sharing_mode.or(profile.sharing_mode),
                mouse_mode: args.mouse_mode.or(profile.mouse_mode),
            },
            profile,
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
                profile,
                env,
            ))
        }
        Command::Devices(DevicesArgs {
            viewer,
            device_type,
            name,
            json,
            header,
        }) => Task::Devices(DevicesTask {
            viewer: *viewer,
            device_type: device_type.clone(),
            name: name.clone(),
            json: *json,
            header: *header,
        }),
        Command::Check(args) => Task::Check(CheckTask {
            target: args.device.clone().zip(args.viewer),
            json: args.json,
        }),
        Command::Login => Task::Login,
        Command::Logout => Task::Logout,
        Command::Trust(args) => Task::Trust { yes: args.yes },
        Command::Profile(_) | Command::Completions(_) | Command::Manpage => {
            return Err(Error::Internal(
                "profile commands need no appliance".to_owned(),
            ));
        }
    };

    let trust_host = match &cli.command {
        Command::Trust(args) => args.host.as_deref(),
        _ => None,
    };
    let Some(host) = trust_host.or(g.host.as_deref()).or(profile.host.as_deref()) else {
        return Err(Error::usage(
            "no appliance given",
            "pass --host HOST[:PORT] (or set DSVIEW_HOST), or save a profile once:\n    \
             dsview-launch profile add NAME --host HOST -u USER --default",
        ));
    };
    let base = parse_host(host)?;
    let user = g
        .user
        .clone()
        .or_else(|| profile.user.clone())
        .filter(|u| !u.is_empty());
    let password = if g.password_stdin {
        PasswordSource::Stdin
    } else if env.password_set {
        PasswordSource::Env
    } else if let Some(cmd) = &profile.password_command {
        let Some(argv) = cmd.argv() else {
            return Err(Error::usage(
                "the profile's password_command is empty or its quoting is broken",
                "write it as a list, e.g. password_command = [\"pass\", \"show\", \"mp1000\"]",
            ));
        };
        PasswordSource::Command(argv)
    } else {
        PasswordSource::Prompt
    };
    let (trust, timeout) = trust_and_timeout(g, profile)?;
    let config = Config {
        host_label: host_label(&base),
        host_key: host_key(&base),
        base,
        user,
        password,
        trust,
        timeout,
        session_cache: !g.no_session_cache && profile.session_cache.unwrap_or(true),
        profile: selected.map(|(name, _)| name.to_owned()),
        max_body_mib: g.max_body,
    };
    Ok((config, task))
}

/// How to trust and how long to wait for an appliance: options over the profile.
fn trust_and_timeout(g: &GlobalArgs, profile: &Profile) -> Result<(TrustOptions, Duration)> {
    let fingerprint = g
        .fingerprint
        .as_deref()
        .or(profile.fingerprint.as_deref())
        .map(Pin::parse)
        .transpose()?;
    let ca_cert = g.ca_cert.clone().or_else(|| profile.ca_cert.clone());
    if let Some(path) = &ca_cert
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
    if fingerprint.is_some() && g.insecure {
        return Err(Error::usage(
            "--insecure and a fingerprint pin contradict each other",
            "drop --insecure to check the certificate against the pin",
        ));
    }
    let timeout = g
        .timeout
        .or(profile.timeout)
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    if timeout.is_zero() || timeout > Duration::from_secs(3600) {
        return Err(Error::usage(
            "the profile's timeout must be between 1 and 3600 seconds",
            "fix `timeout` in the profile",
        ));
    }
    let trust = TrustOptions {
        ca_cert,
        insecure: g.insecure,
        fingerprint,
    };
    Ok((trust, timeout))
}

/// The configuration to end a cached session of `user` on `host_key` (`logout --all`): trusted
/// and timed as the options, else the profile naming that appliance, say.
pub fn for_cached_session(
    cli: &Cli,
    file: &FileConfig,
    host_key_of_session: &str,
    user: &str,
) -> Result<Config> {
    let base = parse_host(host_key_of_session)?;
    let empty = Profile::default();
    let profile = file
        .profiles
        .values()
        .find(|p| {
            p.host
                .as_deref()
                .and_then(|h| parse_host(h).ok())
                .is_some_and(|u| host_key(&u) == host_key_of_session)
        })
        .unwrap_or(&empty);
    let (trust, timeout) = trust_and_timeout(&cli.global, profile)?;
    Ok(Config {
        host_label: host_label(&base),
        host_key: host_key_of_session.to_owned(),
        base,
        user: Some(user.to_owned()),
        password: PasswordSource::Prompt,
        trust,
        timeout,
        session_cache: true,
        profile: None,
        max_body_mib: cli.global.max_body,
    })
}

fn launch_task(
    viewer: Viewer,
    args: &LaunchArgs,
    kvm: KvmOptions,
    profile: &Profile,
    env: &Env,
) -> LaunchTask {
    let output = if args.json {
        Output::Json
    } else if args.no_browser {
        Output::PrintUrl
    } else {
        Output::Browser(
            args.browser
                .clone()
                .or_else(|| profile.browser.clone())
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
    fn host_keys_always_have_a_port() {
        assert_eq!(host_key(&parse_host("MP1000").expect("ok")), "mp1000:443");
        assert_eq!(
            host_key(&parse_host("[::1]:8443").expect("ok")),
            "[::1]:8443"
        );
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
