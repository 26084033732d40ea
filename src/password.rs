//! Obtains the password from the source `config.rs` chose: the first line of stdin, the
//! `DSVIEW_PASSWORD` environment variable, the profile's `password_command` (run without a
//! shell; its first stdout line is the password, as git credential helpers do), or a prompt on
//! the terminal (never stdout). The password is wrapped in a `SecretString` from the moment it
//! is read.

use std::io::{BufRead, IsTerminal};
use std::process::{Command, Stdio};
use std::time::Duration;

use secrecy::SecretString;

use crate::config::PasswordSource;
use crate::error::{Error, Result};

/// Read the password, failing at once (exit 4) when there is no source and no terminal.
pub fn obtain(source: &PasswordSource, user: &str, host: &str) -> Result<SecretString> {
    match source {
        PasswordSource::Stdin => from_stdin(),
        PasswordSource::Command(argv) => from_command(argv),
        PasswordSource::Env => {
            let value = std::env::var("DSVIEW_PASSWORD").map_err(|_| {
                Error::PasswordRead("DSVIEW_PASSWORD is not valid UTF-8".to_owned())
            })?;
            Ok(SecretString::from(value))
        }
        PasswordSource::Prompt => {
            if !std::io::stdin().is_terminal() {
                return Err(Error::NoPassword);
            }
            let prompt = format!("Password for {user} on {host}: ");
            // A spinner on the line would hide the prompt (the runtime waits while it asks).
            crate::diag::erase_spinner();
            let value = rpassword::prompt_password(prompt).map_err(|e| match e.kind() {
                std::io::ErrorKind::Interrupted => Error::Interrupted,
                _ => Error::PasswordRead(format!("cannot prompt on the terminal: {e}")),
            })?;
            if value.is_empty() {
                return Err(Error::PasswordRead("the password is empty".to_owned()));
            }
            Ok(SecretString::from(value))
        }
    }
}

fn from_stdin() -> Result<SecretString> {
    let mut line = String::new();
    let read = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::PasswordRead(format!("cannot read standard input: {e}")))?;
    let len = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(len);
    let value = line;
    if read == 0 || value.is_empty() {
        return Err(Error::PasswordRead(
            "--password-stdin was given but standard input holds no password line".to_owned(),
        ));
    }
    Ok(SecretString::from(value))
}

/// How long a password command may take (it may wait for a hardware key or an unlock prompt).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

fn from_command(argv: &[String]) -> Result<SecretString> {
    let shown = crate::sanitize::terminal_safe(&argv[0]).into_owned();
    let fail = |why: String| {
        Error::PasswordRead(format!("the profile's password_command `{shown}` {why}"))
    };
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot be started: {e}")))?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(COMMAND_TIMEOUT) {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(fail(format!("failed: {e}"))),
        Err(_) => {
            return Err(fail(format!(
                "did not finish within {} s",
                COMMAND_TIMEOUT.as_secs()
            )));
        }
    };
    if !output.status.success() {
        let stderr = crate::api::excerpt(&output.stderr);
        return Err(fail(if stderr.is_empty() {
            format!("failed ({})", output.status)
        } else {
            format!("failed ({}): {stderr}", output.status)
        }));
    }
    let text =
        String::from_utf8(output.stdout).map_err(|_| fail("printed invalid UTF-8".to_owned()))?;
    let first = text.lines().next().unwrap_or("");
    if first.is_empty() {
        return Err(fail("printed no password on its first line".to_owned()));
    }
    Ok(SecretString::from(first.to_owned()))
}
