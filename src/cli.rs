//! The command line, declared with clap's derive API and nothing else: parsing validates what
//! the user typed; turning it into a working configuration is `config.rs`'s job.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::viewer::{MouseMode, SharingMode, Viewer};

pub const EXIT_CODES: &str = "\
Exit codes:
  0    launched, or URL/JSON printed (also when no browser could be started)
  1    unexpected internal error
  2    usage error, including options that do not fit the viewer
  3    device not found, ambiguous, or it does not take the viewer or option
  4    authentication or permission failure, or no password source
  5    TLS trust failure (certificate not trusted, name mismatch)
  6    network failure or timeout
  7    the appliance answered something unexpected
  130  interrupted";

const ENVIRONMENT: &str = "\
Environment:
  DSVIEW_HOST, DSVIEW_USER, DSVIEW_CA_CERT, DSVIEW_FINGERPRINT, DSVIEW_TIMEOUT,
  DSVIEW_PROFILE, DSVIEW_CONFIG, DSVIEW_BROWSER
                   defaults for the options of the same name
                   (precedence: option > environment > profile > built-in default)
  DSVIEW_PASSWORD  the password, for non-interactive use (there is no --password flag:
                   a password on the command line leaks into ps and shell history)
  BROWSER          the browser command when --browser and DSVIEW_BROWSER are unset";

/// Open KVM, serial and VM viewers on Vertiv Avocent DSView appliances (MP1000, MP1000VA,
/// RM1048P).
#[derive(Debug, Parser)]
#[command(
    name = "dsview-launch",
    bin_name = "dsview-launch",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = format!("{ENVIRONMENT}\n\n{EXIT_CODES}"),
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Use this profile of the config file (default: the file's default_profile)
    #[arg(
        short = 'p',
        long,
        env = "DSVIEW_PROFILE",
        global = true,
        value_name = "NAME"
    )]
    pub profile: Option<String>,

    /// Ask every appliance of this group of the config file at once
    #[arg(
        short = 'g',
        long,
        env = "DSVIEW_GROUP",
        global = true,
        value_name = "GROUP",
        conflicts_with = "all"
    )]
    pub group: Option<String>,

    /// Ask every appliance of the config file at once (with logout: end every cached session)
    #[arg(long, global = true)]
    pub all: bool,

    /// How many appliances of a group to ask at the same time
    #[arg(long, global = true, value_name = "N", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,

    /// The config file [default: $XDG_CONFIG_HOME/dsview-launch/config.toml]
    #[arg(long, env = "DSVIEW_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The appliance.
    #[arg(
        long,
        env = "DSVIEW_HOST",
        global = true,
        value_name = "HOST[:PORT]",
        help = "The appliance: HOST, HOST:PORT or https://HOST[:PORT]"
    )]
    pub host: Option<String>,

    /// Login name on the appliance
    #[arg(
        short = 'u',
        long,
        env = "DSVIEW_USER",
        global = true,
        value_name = "USER"
    )]
    pub user: Option<String>,

    /// Read the password from the first line of standard input
    #[arg(long, global = true)]
    pub password_stdin: bool,

    /// Also trust this PEM certificate or CA (e.g. the appliance's own self-signed certificate)
    #[arg(long, env = "DSVIEW_CA_CERT", global = true, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Accept exactly the certificate with this SHA-256 fingerprint (hex, colons optional), or
    /// the public key pin sha256//BASE64
    #[arg(long, env = "DSVIEW_FINGERPRINT", global = true, value_name = "FP")]
    pub fingerprint: Option<String>,

    /// Accept any certificate (insecure; warns on every run)
    #[arg(short = 'k', long, global = true)]
    pub insecure: bool,

    /// Seconds each request may take [default: 30]
    #[arg(
        long,
        env = "DSVIEW_TIMEOUT",
        global = true,
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..=3600),
    )]
    pub timeout: Option<u64>,

    /// The largest answer read from the appliance, in MiB
    #[arg(long, env = "DSVIEW_MAX_BODY", global = true, value_name = "MIB",
          default_value_t = crate::api::DEFAULT_MAX_BODY_MIB,
          value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_body: u64,

    /// Keep no appliance session on disk (each run logs in anew)
    #[arg(long, global = true)]
    pub no_session_cache: bool,

    /// More diagnostics on stderr (repeat for more)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Colour in messages: auto (when writing to a terminal; honours NO_COLOR and
    /// CLICOLOR_FORCE), always, never
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Which of the options above were typed on the command line (not taken from the
    /// environment); `profile add` records only those.
    #[arg(skip)]
    pub typed: Vec<&'static str>,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The global options `profile add` can record.
pub const RECORDABLE: [&str; 6] = [
    "host",
    "user",
    "ca_cert",
    "fingerprint",
    "timeout",
    "no_session_cache",
];

/// What `--version` prints, without the newline.
pub const VERSION_LINE: &str = concat!("dsview-launch ", env!("CARGO_PKG_VERSION"));

/// Whether the arguments are `--version` or `-V` alone. That question is answered before the
/// parser is built: scripts and package managers ask it often, and building the whole command
/// line costs more than the answer (a test checks both give the same line).
fn version_only(mut args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    matches!((args.next(), args.next()), (Some(a), None) if a == "--version" || a == "-V")
}

/// Parse the process's arguments (clap exits with code 2 on a usage error).
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    if version_only(std::env::args_os().skip(1)) {
        use std::io::Write as _;
        // As clap does: the line on stdout, exit 0 (a failed write is not an error here).
        let _ = writeln!(std::io::stdout(), "{VERSION_LINE}");
        std::process::exit(0);
    }
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let mut level = Some(&matches);
    while let Some(m) = level {
        for id in RECORDABLE {
            if m.try_contains_id(id).unwrap_or(false)
                && m.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
                && !cli.global.typed.contains(&id)
            {
                cli.global.typed.push(id);
            }
        }
        level = m.subcommand().map(|(_, sub)| sub);
    }
    cli
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the KVM viewer of a device
    Kvm(KvmArgs),
    /// Open the serial viewer of a device
    Serial(OtherViewerArgs),
    /// Open the VM viewer of a virtual machine
    Vm(OtherViewerArgs),
    /// List the devices of the appliance and the viewers each takes
    Devices(DevicesArgs),
    /// Smoke-check an appliance for CI: log in, list devices, resolve a device, create a
    /// ticket, log out; launch nothing, never prompt
    Check(CheckArgs),
    /// Log in and keep the session, so later commands need no password until it expires
    Login,
    /// End the cached session on the appliance and forget it (with --all: every cached session)
    Logout,
    /// Show an appliance's certificate and record it as trusted (like ssh's known_hosts)
    Trust(TrustArgs),
    /// Manage the profiles of the config file
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Print a shell completion script (e.g. `dsview-launch completions bash > ~/.local/share/bash-completion/completions/dsview-launch`)
    Completions(CompletionsArgs),
    /// Print the manual page (roff)
    #[command(hide = true)]
    Manpage,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Also resolve this device (name or id) and check it takes --viewer
    #[arg(long, requires = "viewer", value_name = "DEVICE")]
    pub device: Option<String>,

    /// The viewer the device must take
    #[arg(long, value_enum, requires = "device")]
    pub viewer: Option<Viewer>,

    /// Print one JSON object with every step on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct TrustArgs {
    /// The appliance (default: --host or the profile's host)
    #[arg(value_name = "HOST[:PORT]")]
    pub host: Option<String>,

    /// Record the certificate without asking
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Add or replace a profile, from --host, -u, --ca-cert, --fingerprint, --timeout,
    /// --no-session-cache and the options below
    Add(ProfileAddArgs),
    /// List the profiles (the default marked with *)
    List,
    /// Show one profile
    Show(ProfileNameArgs),
    /// Remove a profile
    Remove(ProfileNameArgs),
}

#[derive(Debug, Args)]
pub struct ProfileNameArgs {
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ProfileAddArgs {
    /// The profile's name
    pub name: String,

    /// KVM sharing mode to use by default
    #[arg(long, value_enum, value_name = "MODE")]
    pub sharing_mode: Option<SharingMode>,

    /// KVM mouse mode to use by default
    #[arg(long, value_enum, value_name = "MODE")]
    pub mouse_mode: Option<MouseMode>,

    /// Browser command for this appliance
    #[arg(long, value_name = "CMD")]
    pub browser: Option<String>,

    /// A command that prints the password on its first line (run without a shell),
    /// e.g. "pass show mp1000"
    #[arg(long, value_name = "CMD")]
    pub password_command: Option<String>,

    /// Make it the default profile
    #[arg(long)]
    pub default: bool,
}

/// What every launch takes.
#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// The device: its name (exact, case-sensitive) or its id
    #[arg(value_name = "DEVICE")]
    pub device: String,

    /// Print only the launch URL on stdout; open nothing
    #[arg(
        short = 'n',
        long,
        visible_alias = "print-url",
        conflicts_with = "json"
    )]
    pub no_browser: bool,

    /// Print one JSON object (url, viewer, device, ticket_expires_at) on stdout; open nothing
    #[arg(long)]
    pub json: bool,

    /// The command that opens the URL (default: the system's browser; env BROWSER as fallback)
    #[arg(long, env = "DSVIEW_BROWSER", value_name = "CMD")]
    pub browser: Option<String>,
}

#[derive(Debug, Args)]
pub struct KvmArgs {
    #[command(flatten)]
    pub launch: LaunchArgs,

    /// Join an existing session this way instead of asking
    #[arg(long, value_enum, value_name = "MODE")]
    pub sharing_mode: Option<SharingMode>,

    /// Mouse mode: absolute (0), relative (1), relative-raw (2, IPUHD only)
    #[arg(long, value_enum, value_name = "MODE")]
    pub mouse_mode: Option<MouseMode>,
}

/// Serial and VM viewers: the KVM options are accepted only to explain that they do not apply.
#[derive(Debug, Args)]
pub struct OtherViewerArgs {
    #[command(flatten)]
    pub launch: LaunchArgs,

    #[arg(long, hide = true, value_name = "MODE")]
    pub sharing_mode: Option<String>,

    #[arg(long, hide = true, value_name = "MODE")]
    pub mouse_mode: Option<String>,
}

#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// Only devices that take this viewer
    #[arg(long, value_enum)]
    pub viewer: Option<Viewer>,

    /// Only devices of this type (programmatic name, e.g. ADX-IP-UHD)
    #[arg(long = "type", value_name = "TYPE")]
    pub device_type: Option<String>,

    /// Only devices whose name contains PATTERN, or matches it as a glob with * and ?
    #[arg(long, value_name = "PATTERN")]
    pub name: Option<String>,

    /// Print a JSON array on stdout
    #[arg(long)]
    pub json: bool,

    /// Print a header line even when stdout is not a terminal
    #[arg(long, conflicts_with = "json")]
    pub header: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_quick_version_line_is_the_one_clap_prints() {
        assert_eq!(
            Cli::command().render_version().trim_end(),
            VERSION_LINE,
            "keep VERSION_LINE in step with the command's name and version"
        );
        let args = |a: &[&str]| a.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert!(version_only(args(&["--version"]).into_iter()));
        assert!(version_only(args(&["-V"]).into_iter()));
        for other in [
            &[][..],
            &["--version", "kvm"],
            &["kvm", "-V"],
            &["-v"],
            &["--versio"],
        ] {
            assert!(!version_only(args(other).into_iter()), "{other:?}");
        }
    }
}
