//! The flow of each command: configuration, trust, session, then the launch, the listing or
//! the session and trust commands. Nothing reaches the network before the password source is
//! known (unless a cached session makes the password unnecessary), and the ticket is created
//! last, once the device is resolved.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use secrecy::ExposeSecret;

use crate::api::{self, Appliance, Logout};
use crate::browser;
use crate::cli::{Cli, Command, ProfileCommand};
use crate::config::{self, Config, DevicesTask, LaunchTask, Output, Task};
use crate::device::Device;
use crate::diag;
use crate::error::{self, Error, Result, TlsProblem};
use crate::known_hosts::KnownHosts;
use crate::output;
use crate::profile::{self, FileConfig, NewProfile};
use crate::progress;
use crate::sanitize::{quote_name, terminal_safe};
use crate::session::{Connection, Credentials};
use crate::session_cache::SessionCache;
use crate::viewer;

/// A ticket older than this when the URL is about to be handed out is replaced: it lives 20 s
/// and the browser still has to load.
const TICKET_FRESHNESS: std::time::Duration = std::time::Duration::from_secs(15);

/// Run the parsed command line and turn the outcome into the documented exit code.
pub fn run(cli: Cli) -> ExitCode {
    let level = if cli.global.quiet {
        -1
    } else {
        i8::try_from(cli.global.verbose).unwrap_or(i8::MAX)
    };
    diag::set_level(level);
    diag::set_color(cli.global.color);
    match run_inner(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error::report(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

fn run_inner(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Completions(args) => {
            let mut buf = Vec::new();
            clap_complete::generate(
                args.shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "dsview-launch",
                &mut buf,
            );
            return output::write_stdout(&String::from_utf8_lossy(&buf));
        }
        Command::Manpage => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut buf)
                .map_err(|e| Error::Internal(format!("cannot render the manual page: {e}")))?;
            return output::write_stdout(&String::from_utf8_lossy(&buf));
        }
        _ => {}
    }
    let (config_path, file) = profile::load(cli.global.config.as_deref())?;
    if let Command::Profile(cmd) = &cli.command {
        return profile_command(cli, cmd, &config_path, &file);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let work = async {
            if matches!(cli.command, Command::Logout) && cli.global.all {
                return logout_all(cli, &file).await;
            }
            if cli.global.group.is_some() || cli.global.all {
                return fleet_command(cli, &file).await;
            }
            let (config, task) = config::build(cli, &config::Env::from_process(), &file)?;
            execute(&config, &task).await
        };
        tokio::select! {
            outcome = work => outcome,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
        }
    })
}

fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Ask a yes/no question on the terminal without blocking the runtime (so Ctrl-C still works).
async fn confirm(question: String) -> Result<bool> {
    diag::stderr_write(&question);
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await
    .map_err(|e| Error::Internal(format!("the prompt failed: {e}")))?
    .map_err(|e| Error::Internal(format!("cannot read the answer: {e}")))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

async fn execute(config: &Config, task: &Task) -> Result<()> {
    let mut known_hosts = KnownHosts::load(&KnownHosts::default_path()?)?;
    if let Task::Trust { yes } = task {
        return trust(config, &mut known_hosts, *yes).await;
    }
    if let Task::Check(t) = task {
        return crate::check::check(config, t, known_hosts.get(&config.host_key)).await;
    }
    let mut creds = Credentials::new(config)?;
    let cache = if config.session_cache {
        Some(SessionCache::new()?)
    } else {
        if matches!(task, Task::Login) {
            return Err(Error::usage(
                "`login` keeps a session for later runs, which --no-session-cache forbids",
                "drop --no-session-cache (or session_cache = false in the profile)",
            ));
        }
        None
    };
    // Without a cached session a password is needed: with no source for one, fail now.
    let mut cached = match &cache {
        Some(c) => c.load(&config.host_key, creds.user())?,
        None => None,
    };
    if cached.is_none() && !matches!(task, Task::Logout) {
        creds.password()?;
    }
    let mut first_contact_done = false;
    loop {
        let known = known_hosts.get(&config.host_key);
        let appliance = Appliance::new(config, known)?;
        let mut conn = Connection::new(appliance, &mut creds, cache.as_ref(), &config.host_key);
        if let Some(session) = cached.take() {
            conn.set_session(session);
        }
        let outcome = run_task(&mut conn, config, task).await;
        match outcome {
            Err(Error::Tls {
                problem: TlsProblem::Untrusted,
                presented: Some(cert),
                host,
                reason,
            }) if !first_contact_done
                && interactive()
                && config.trust.ca_cert.is_none()
                && config.trust.fingerprint.is_none() =>
            {
                let question = format!(
                    "The certificate of {host} is not trusted: {reason}.\n{}\n\
                     Trust this certificate for {} and remember it in {}? [y/N] ",
                    crate::cert::describe(&cert),
                    config.host_key,
                    known_hosts.path().display()
                );
                if !confirm(question).await? {
                    return Err(Error::Tls {
                        host,
                        reason,
                        problem: TlsProblem::Untrusted,
                        presented: Some(cert),
                    });
                }
                known_hosts.set(&config.host_key, crate::tls::sha256(&cert))?;
                // Nothing was sent: the cached session, if any, is still good for the retry.
                cached = conn.take_session();
                diag::status(format!(
                    "Recorded the certificate of {} as trusted",
                    config.host_key
                ));
                first_contact_done = true;
            }
            other => return other,
        }
    }
}

async fn run_task(conn: &mut Connection<'_>, config: &Config, task: &Task) -> Result<()> {
    match task {
        Task::Launch(t) => launch(conn, t).await,
        Task::Devices(t) => {
            let outcome = list(conn, t).await;
            conn.finish_uncached().await;
            outcome
        }
        Task::Login => {
            if let Some(old) = conn.take_session() {
                diag::verbose(1, "ending the previously cached session");
                conn.end(&old).await;
            }
            conn.login().await?;
            diag::status(format!(
                "Logged in to {}; later commands reuse this session until it expires",
                config.host_label
            ));
            Ok(())
        }
        Task::Logout => {
            let Some(session) = conn.take_session() else {
                diag::status(format!("Not logged in to {}", config.host_label));
                return Ok(());
            };
            match conn.end(&session).await {
                Logout::Ended => diag::status(format!("Logged out of {}", config.host_label)),
                Logout::NotSupported => diag::status(format!(
                    "Forgot the session of {} (the appliance could not end it; it will time out)",
                    config.host_label
                )),
            }
            Ok(())
        }
        Task::Trust { .. } | Task::Check(_) => {
            Err(Error::Internal("this command has its own flow".to_owned()))
        }
    }
}

async fn launch(conn: &mut Connection<'_>, t: &LaunchTask) -> Result<()> {
    let device = progress::spin(
        format!("Looking up {}", quote_name(&t.device)),
        crate::lookup::resolve_device(conn, &t.device, t.viewer),
    )
    .await?;
    deliver(conn, &device, t).await
}

/// The last steps of a launch, once the device is known: check the options fit it, create the
/// ticket, and open or print the URL.
pub(crate) async fn deliver(
    conn: &mut Connection<'_>,
    device: &Device,
    t: &LaunchTask,
) -> Result<()> {
    if let Some(mode) = t.kvm.mouse_mode
        && !mode.fits_device_type(&device.device_type)
    {
        return Err(Error::OptionNotSupported {
            message: format!(
                "--mouse-mode relative-raw needs an IPUHD device (ADX-IP-UHD); {} is {}",
                quote_name(&device.name),
                terminal_safe(&device.device_type)
            ),
        });
    }
    diag::verbose(
        1,
        format!(
            "device {} ({}, {})",
            quote_name(&device.name),
            terminal_safe(&device.device_type),
            terminal_safe(&device.id)
        ),
    );
    let mut ticket = progress::spin(
        "Creating a ticket",
        conn.call(async |a, s| a.create_ticket(s).await),
    )
    .await?;
    if ticket.requested_at.elapsed().unwrap_or_default() > TICKET_FRESHNESS {
        diag::verbose(1, "the ticket is about to expire; asking for a fresh one");
        ticket = conn.call(async |a, s| a.create_ticket(s).await).await?;
    }
    let url = viewer::launch_url(
        conn.appliance.base(),
        t.viewer,
        &device.id,
        ticket.value.expose_secret(),
        t.kvm,
    );
    match &t.output {
        Output::PrintUrl => output::write_stdout(&format!("{url}\n")),
        Output::Json => {
            let expires = ticket.requested_at + api::TICKET_LIFETIME;
            output::write_stdout(&format!(
                "{}\n",
                output::launch_json(url.as_str(), t.viewer, device, expires)
            ))
        }
        Output::Browser(command) => {
            diag::status(format!(
                "Opening {} viewer for {} in your browser",
                t.viewer,
                quote_name(&device.name)
            ));
            match browser::open(&url, command.as_deref()) {
                Ok(()) => Ok(()),
                Err(reason) => {
                    diag::warn_always(format!(
                        "{reason}\nthe launch URL is printed below; open it within 20 seconds"
                    ));
                    output::write_stdout(&format!("{url}\n"))
                }
            }
        }
    }
}

async fn list(conn: &mut Connection<'_>, t: &DevicesTask) -> Result<()> {
    let mut devices =
        progress::spin("Listing devices", crate::lookup::collect_devices(conn, t)).await?;
    devices.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    devices.dedup_by(|a, b| a.id == b.id);
    let rows: Vec<output::Listed> = devices
        .into_iter()
        .map(|device| output::Listed {
            appliance: None,
            device,
        })
        .collect();
    output::write_stdout(&output::device_list(&rows, t.json, t.header))
}

/// `trust`: show the certificate the appliance presents and record it after confirmation.
async fn trust(config: &Config, known_hosts: &mut KnownHosts, yes: bool) -> Result<()> {
    let observer = Appliance::observer(config)?;
    let cert = observer.fetch_certificate().await?;
    let digest = crate::tls::sha256(&cert);
    diag::stderr_write(&format!(
        "Certificate of {}:\n{}\n",
        config.host_key,
        crate::cert::describe(&cert)
    ));
    match known_hosts.get(&config.host_key) {
        Some(recorded) if recorded == digest => {
            diag::stderr_write(&format!(
                "{} is already trusted with this certificate.\n",
                config.host_key
            ));
            return Ok(());
        }
        Some(recorded) => diag::warn_always(format!(
            "this REPLACES the certificate recorded for {}: {}",
            config.host_key,
            crate::tls::format_digest(&recorded)
        )),
        None => {}
    }
    if !yes {
        if !interactive() {
            return Err(Error::usage(
                "cannot ask for confirmation without a terminal",
                format!(
                    "compare the fingerprint with the appliance's console, then run: \
                     dsview-launch trust {} --yes",
                    config.host_label
                ),
            ));
        }
        let question = format!(
            "Trust this certificate for {} and remember it in {}? [y/N] ",
            config.host_key,
            known_hosts.path().display()
        );
        if !confirm(question).await? {
            diag::stderr_write("Nothing recorded.\n");
            return Ok(());
        }
    }
    known_hosts.set(&config.host_key, digest)?;
    diag::stderr_write(&format!(
        "Recorded {} for {} in {}\n",
        crate::tls::format_digest(&digest),
        config.host_key,
        known_hosts.path().display()
    ));
    Ok(())
}

/// A launch or listing across a group (`-g`) or every profile (`--all`).
async fn fleet_command(cli: &Cli, file: &FileConfig) -> Result<()> {
    let members = config::fleet(cli, &config::Env::from_process(), file)?;
    let index = match &cli.global.group {
        Some(group) => match file.groups.get(group).and_then(|g| g.index_max_age) {
            Some(secs) if secs > 0 => Some((
                crate::fleet::index_path(group)?,
                std::time::Duration::from_secs(secs),
            )),
            _ => None,
        },
        None => None,
    };
    let task = members
        .first()
        .map(|(_, _, task)| task.clone())
        .ok_or_else(|| Error::Internal("empty fleet".to_owned()))?;
    let fleet = crate::fleet::Fleet {
        members: members
            .into_iter()
            .map(|(name, config, _)| crate::fleet::Member { name, config })
            .collect(),
        jobs: usize::from(cli.global.jobs),
        index,
    };
    match &task {
        Task::Launch(t) => crate::fleet::launch(fleet, t).await,
        Task::Devices(t) => crate::fleet::devices(fleet, t).await,
        _ => Err(Error::usage(
            "-g/--group and --all work with kvm, serial, vm and devices",
            "name one appliance with -p PROFILE or --host for this command",
        )),
    }
}

/// `logout --all`: end every cached session, trusting each appliance as its profile says.
async fn logout_all(cli: &Cli, file: &FileConfig) -> Result<()> {
    let cache = SessionCache::new()?;
    let known_hosts = KnownHosts::load(&KnownHosts::default_path()?)?;
    let cached = cache.all()?;
    if cached.is_empty() {
        diag::status("No cached sessions");
        return Ok(());
    }
    for entry in cached {
        let outcome = async {
            let config = config::for_cached_session(cli, file, &entry.host, &entry.user)?;
            let appliance = Appliance::new(&config, known_hosts.get(&entry.host))?;
            appliance.logout(&entry.session).await
        }
        .await;
        let _ = std::fs::remove_file(&entry.path);
        let who = format!(
            "{} on {}",
            terminal_safe(&entry.user),
            terminal_safe(&entry.host)
        );
        match outcome {
            Ok(Logout::Ended) => diag::status(format!("Logged out {who}")),
            Ok(Logout::NotSupported) => diag::status(format!(
                "Forgot the session of {who} (the appliance could not end it)"
            )),
            Err(e) => diag::warn(format!(
                "forgot the session of {who}, but could not end it on the appliance: {e}"
            )),
        }
    }
    Ok(())
}

fn profile_command(cli: &Cli, cmd: &ProfileCommand, path: &Path, file: &FileConfig) -> Result<()> {
    match cmd {
        ProfileCommand::List => {
            if file.profiles.is_empty() {
                diag::stderr_write(&format!(
                    "No profiles in {}; add one with: dsview-launch profile add NAME --host HOST -u USER\n",
                    path.display()
                ));
                return Ok(());
            }
            output::write_stdout(&profile::list_text(file))
        }
        ProfileCommand::Show(args) => output::write_stdout(&profile::show_text(path, &args.name)?),
        ProfileCommand::Remove(args) => {
            let was_default = profile::remove(path, &args.name)?;
            diag::status(format!("Removed profile {}", args.name));
            if was_default {
                diag::warn(format!(
                    "{} was the default profile; there is none now",
                    args.name
                ));
            }
            Ok(())
        }
        ProfileCommand::Add(args) => {
            let g = &cli.global;
            let typed = |id: &str| g.typed.contains(&id);
            let Some(host) = g.host.clone().filter(|_| typed("host")) else {
                return Err(Error::usage(
                    "a profile needs an appliance",
                    format!(
                        "dsview-launch profile add {} --host HOST[:PORT] -u USER",
                        args.name
                    ),
                ));
            };
            config::parse_host(&host)?;
            if let Some(fp) = g.fingerprint.as_deref().filter(|_| typed("fingerprint")) {
                crate::tls::Pin::parse(fp)?;
            }
            if let Some(cmd) = &args.password_command
                && profile::PasswordCommand::Line(cmd.clone()).argv().is_none()
            {
                return Err(Error::usage(
                    "--password-command is empty or its quoting is broken",
                    "e.g. --password-command 'pass show mp1000'",
                ));
            }
            let ca_cert = g
                .ca_cert
                .clone()
                .filter(|_| typed("ca_cert"))
                .map(|p| std::path::absolute(&p).unwrap_or(p));
            let new = NewProfile {
                host,
                user: g.user.clone().filter(|_| typed("user")),
                ca_cert,
                fingerprint: g.fingerprint.clone().filter(|_| typed("fingerprint")),
                sharing_mode: args.sharing_mode,
                mouse_mode: args.mouse_mode,
                browser: args.browser.clone(),
                timeout: g.timeout.filter(|_| typed("timeout")),
                password_command: args.password_command.clone(),
                session_cache: (g.no_session_cache && typed("no_session_cache")).then_some(false),
            };
            let replaced = profile::add(path, &args.name, &new, args.default)?;
            diag::status(format!(
                "{} profile {} in {}",
                if replaced { "Replaced" } else { "Added" },
                args.name,
                path.display()
            ));
            Ok(())
        }
    }
}
