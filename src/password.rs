//! Obtains the password from the source `config.rs` chose: the first line of stdin, the
//! `DSVIEW_PASSWORD` environment variable, or a prompt on the terminal (never stdout). The
//! password is wrapped in a `SecretString` from the moment it is read.

use std::io::{BufRead, IsTerminal};

use secrecy::SecretString;

use crate::config::PasswordSource;
use crate::error::{Error, Result};

/// Read the password, failing at once (exit 4) when there is no source and no terminal.
pub fn obtain(source: PasswordSource, user: &str, host: &str) -> Result<SecretString> {
    match source {
        PasswordSource::Stdin => from_stdin(),
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
