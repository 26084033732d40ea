//! `check`: a smoke check for CI. Every step of a launch but the launch, on a fresh session
//! that it ends, one line (or JSON field) per step with its duration; the exit code is that of
//! the first failing step. It never prompts.

use crate::api::{self, Appliance, Logout};
use crate::config::{self, CheckTask, Config};
use crate::error::{Error, Result};
use crate::lookup::resolve_device;
use crate::output;
use crate::sanitize::{quote_name, terminal_safe};
use crate::session::{Connection, Credentials};

/// One step of `check` and how it went.
#[derive(Debug, serde::Serialize)]
pub struct CheckStep {
    pub step: &'static str,
    pub status: &'static str,
    pub ms: u64,
    pub detail: String,
}

/// Record one step: run it unless an earlier step failed.
async fn check_step<T>(
    steps: &mut Vec<CheckStep>,
    failure: &mut Option<Error>,
    name: &'static str,
    work: impl std::future::Future<Output = Result<T>>,
    describe: impl FnOnce(&T) -> String,
) -> Option<T> {
    if failure.is_some() {
        steps.push(CheckStep {
            step: name,
            status: "skipped",
            ms: 0,
            detail: String::new(),
        });
        return None;
    }
    let started = std::time::Instant::now();
    let outcome = work.await;
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Ok(value) => {
            steps.push(CheckStep {
                step: name,
                status: "ok",
                ms,
                detail: describe(&value),
            });
            Some(value)
        }
        Err(e) => {
            steps.push(CheckStep {
                step: name,
                status: "failed",
                ms,
                detail: terminal_safe(&e.to_string()).into_owned(),
            });
            *failure = Some(e);
            None
        }
    }
}

/// `check`: every step of a launch but the launch, on a fresh session that it ends.
pub(crate) async fn check(config: &Config, t: &CheckTask, known: Option<[u8; 32]>) -> Result<()> {
    if config.password == config::PasswordSource::Prompt {
        // A smoke check never prompts.
        return Err(Error::NoPassword);
    }
    let mut creds = Credentials::new(config)?;
    creds.password()?;
    let appliance = Appliance::new(config, known)?;
    let mut conn = Connection::new(appliance, &mut creds, None, &config.host_key);
    let mut steps = Vec::new();
    let mut failure = None;
    let user = config.user.clone().unwrap_or_default();
    let logged_in = check_step(
        &mut steps,
        &mut failure,
        "login",
        async { conn.login().await.map(|_| ()) },
        |()| format!("{} on {}", terminal_safe(&user), config.host_label),
    )
    .await
    .is_some();
    check_step(
        &mut steps,
        &mut failure,
        "devices",
        async {
            let mut n = 0usize;
            let mut count = |_: api::RawDevice<'_>| n += 1;
            conn.call(async |a, s| a.device_lists(s, &[None], None, &mut count).await)
                .await?;
            Ok(n)
        },
        |n| format!("{n} devices"),
    )
    .await;
    if let Some((query, viewer)) = &t.target {
        check_step(
            &mut steps,
            &mut failure,
            "resolve",
            resolve_device(&mut conn, query, *viewer),
            |d| {
                format!(
                    "{} takes the {viewer} viewer ({}, {})",
                    quote_name(&d.name),
                    terminal_safe(&d.device_type),
                    terminal_safe(&d.id)
                )
            },
        )
        .await;
    }
    check_step(
        &mut steps,
        &mut failure,
        "ticket",
        conn.call(async |a, s| a.create_ticket(s).await),
        |_| format!("created, valid for {} s", api::TICKET_LIFETIME.as_secs()),
    )
    .await;
    // The session this check opened is ended whatever happened after the login.
    if logged_in {
        let started = std::time::Instant::now();
        let detail = match conn.end_current().await {
            Some(Logout::Ended) => "session ended",
            Some(Logout::NotSupported) => {
                "the appliance could not end the session (it will time out)"
            }
            None => "no session to end",
        };
        steps.push(CheckStep {
            step: "logout",
            status: "ok",
            ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            detail: detail.to_owned(),
        });
    }
    let text = if t.json {
        output::check_json(
            &config.host_label,
            &steps,
            failure.as_ref().map(Error::exit_code),
        )
    } else {
        output::check_lines(&steps)
    };
    output::write_stdout(&text)?;
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
