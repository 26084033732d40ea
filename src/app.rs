//! The flow of each command: configuration, password, login, then the launch or the listing.
//! Steps are ordered so that nothing reaches the network before the password source is known,
//! and the ticket is created last, once the device is resolved.

use std::process::ExitCode;

use secrecy::ExposeSecret;

use crate::api::{self, Appliance, Logout, Session};
use crate::browser;
use crate::cli::Cli;
use crate::config::{self, Config, DevicesTask, LaunchTask, Output, Task};
use crate::device::{self, Device, Resolution, Suggester};
use crate::diag;
use crate::error::{self, Error, Result};
use crate::output;
use crate::password;
use crate::sanitize::quote_name;
use crate::viewer::{self, Viewer};

/// Run the parsed command line and turn the outcome into the documented exit code.
pub fn run(cli: Cli) -> ExitCode {
    let level = if cli.global.quiet {
        -1
    } else {
        i8::try_from(cli.global.verbose).unwrap_or(i8::MAX)
    };
    diag::set_level(level);
    match run_inner(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error::report(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

fn run_inner(cli: &Cli) -> Result<()> {
    let (config, task) = config::build(cli, &config::Env::from_process())?;
    let Some(user) = config.user.clone() else {
        return Err(Error::usage(
            "no user name given",
            "pass -u/--user USER or set DSVIEW_USER",
        ));
    };
    // Read the password before any connection: with no source, fail at once.
    let password = password::obtain(config.password, &user, &config.host_label)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        tokio::select! {
            outcome = execute(&config, &task, &user, password) => outcome,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
        }
    })
}

async fn execute(
    config: &Config,
    task: &Task,
    user: &str,
    password: secrecy::SecretString,
) -> Result<()> {
    let appliance = Appliance::new(config)?;
    let session = appliance.login(user, &password).await?;
    drop(password);
    match task {
        Task::Launch(t) => launch(&appliance, &session, t).await,
        Task::Devices(t) => {
            let outcome = list(&appliance, &session, t).await;
            end_session(&appliance, &session).await;
            outcome
        }
    }
}

/// End a session the tool no longer needs; a failure here only merits a note.
async fn end_session(appliance: &Appliance, session: &Session) {
    match appliance.logout(session).await {
        Ok(Logout::Ended) => diag::verbose(2, "session ended"),
        Ok(Logout::NotSupported) => diag::verbose(
            1,
            "the appliance does not support logging out; the session will time out",
        ),
        Err(e) => diag::verbose(1, format!("could not end the session: {e}")),
    }
}

/// Devices found for a launch query, split by whether they take the viewer.
struct Found {
    takers: Vec<Device>,
    others: Vec<Device>,
    suggestions: Vec<String>,
}

/// Query the device types and keep only the devices the query could name.
async fn find(
    appliance: &Appliance,
    session: &Session,
    query: &str,
    viewer: Viewer,
    device_types: &[&str],
) -> Result<Found> {
    let types: Vec<Option<&str>> = device_types.iter().copied().map(Some).collect();
    let bodies = appliance.device_lists(session, &types).await?;
    let mut found = Found {
        takers: Vec::new(),
        others: Vec::new(),
        suggestions: Vec::new(),
    };
    let mut suggester = Suggester::new(query, 5);
    for (body, queried) in bodies.iter().zip(device_types) {
        api::decode_device_list(body, |raw| {
            // A device of another type than the one asked for is the appliance ignoring the
            // filter: it still counts for what it is.
            let takes = viewer.takes(&raw.device_type, raw.path_types());
            if takes {
                suggester.offer(&raw.name);
            }
            if device::could_match(query, &raw.id, &raw.name) {
                let d = raw.to_device();
                let already = found
                    .takers
                    .iter()
                    .chain(&found.others)
                    .any(|o| o.id == d.id);
                if !already {
                    if takes {
                        found.takers.push(d);
                    } else {
                        found.others.push(d);
                    }
                }
            }
        })?;
        diag::verbose(2, format!("queried device type {queried}"));
    }
    found.suggestions = suggester.into_names();
    Ok(found)
}

async fn launch(appliance: &Appliance, session: &Session, t: &LaunchTask) -> Result<()> {
    let wanted = viewer::device_types_for(&[t.viewer]);
    let found = find(appliance, session, &t.device, t.viewer, &wanted).await?;
    let device = match device::resolve(&t.device, &found.takers) {
        Resolution::Found(d) => d.clone(),
        Resolution::Ambiguous(ds) => {
            return Err(Error::AmbiguousDevice {
                query: quote_name(&t.device),
                viewer: t.viewer,
                matches: ds.iter().map(|d| d.summary()).collect(),
            });
        }
        Resolution::NotFound => {
            return Err(not_taken(appliance, session, t, found).await);
        }
    };
    if let Some(mode) = t.kvm.mouse_mode
        && !mode.fits_device_type(&device.device_type)
    {
        return Err(Error::OptionNotSupported {
            message: format!(
                "--mouse-mode {} needs an IPUHD device (ADX-IP-UHD); {} is {}",
                "relative-raw",
                quote_name(&device.name),
                crate::sanitize::terminal_safe(&device.device_type)
            ),
        });
    }
    diag::verbose(
        1,
        format!(
            "device {} ({}, {})",
            quote_name(&device.name),
            device.device_type,
            device.id
        ),
    );
    let ticket = appliance.create_ticket(session).await?;
    let url = viewer::launch_url(
        appliance.base(),
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
                output::launch_json(url.as_str(), t.viewer, &device, expires)
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

/// The error for a device the viewer's types do not hold: it may exist with other viewers.
async fn not_taken(
    appliance: &Appliance,
    session: &Session,
    t: &LaunchTask,
    found: Found,
) -> Error {
    let mut others = found.others;
    if device::resolve(&t.device, &others) == Resolution::NotFound {
        let wanted = viewer::device_types_for(&[t.viewer]);
        let rest: Vec<&str> = viewer::device_types_for(&Viewer::ALL)
            .into_iter()
            .filter(|ty| !wanted.contains(ty))
            .collect();
        match find(appliance, session, &t.device, t.viewer, &rest).await {
            Ok(more) => others.extend(more.others),
            Err(e) => diag::verbose(
                1,
                format!("could not look for the device among other types: {e}"),
            ),
        }
    }
    match device::resolve(&t.device, &others) {
        Resolution::Found(d) => Error::WrongViewer {
            name: d.name.clone(),
            requested: t.viewer,
            takes: d.viewers(),
        },
        Resolution::Ambiguous(ds) => Error::WrongViewer {
            name: ds[0].name.clone(),
            requested: t.viewer,
            takes: ds[0].viewers(),
        },
        Resolution::NotFound => Error::DeviceNotFound {
            query: quote_name(&t.device),
            viewer: t.viewer,
            suggestions: found.suggestions,
        },
    }
}

async fn list(appliance: &Appliance, session: &Session, t: &DevicesTask) -> Result<()> {
    let types: Vec<Option<&str>> = match t.viewer {
        Some(v) => viewer::device_types_for(&[v])
            .into_iter()
            .map(Some)
            .collect(),
        None => vec![None],
    };
    let bodies = appliance.device_lists(session, &types).await?;
    let mut devices: Vec<Device> = Vec::new();
    for body in &bodies {
        api::decode_device_list(body, |raw| {
            if t.viewer
                .is_none_or(|v| v.takes(&raw.device_type, raw.path_types()))
            {
                devices.push(raw.to_device());
            }
        })?;
    }
    devices.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    devices.dedup_by(|a, b| a.id == b.id);
    output::write_stdout(&output::device_list(&devices, t.json, t.header))
}
