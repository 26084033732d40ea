//! Opens the launch URL: with the user's browser command (`--browser`, `DSVIEW_BROWSER`,
//! `BROWSER`), else the system's default browser. Failing to open is never fatal: the caller
//! prints the URL instead, and this module says why.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use url::Url;

/// How long a browser command may run before it is left running on its own (some browsers
/// only return when their window closes).
const COMMAND_GRACE: Duration = Duration::from_secs(5);

/// Open `url`; on failure, the reason in a sentence.
pub fn open(url: &Url, command: Option<&str>) -> Result<(), String> {
    match command {
        Some(cmd) => run_command(cmd, url.as_str()),
        None => open_default(url.as_str()),
    }
}

/// Split a browser command into program and arguments (no shell is involved). A command that
/// names an existing file is taken whole, so paths with spaces work; `%s` marks where the URL
/// goes, else it is the last argument.
pub fn command_line(cmd: &str, url: &str) -> Option<(String, Vec<String>)> {
    let cmd = cmd.trim();
    if cmd.is_empty() {
        return None;
    }
    let mut parts: Vec<String> = if std::path::Path::new(cmd).is_file() {
        vec![cmd.to_owned()]
    } else {
        cmd.split_whitespace().map(str::to_owned).collect()
    };
    let mut placed = false;
    for p in parts.iter_mut().skip(1) {
        if p.contains("%s") {
            *p = p.replace("%s", url);
            placed = true;
        }
    }
    if !placed {
        parts.push(url.to_owned());
    }
    let program = parts.remove(0);
    Some((program, parts))
}

fn run_command(cmd: &str, url: &str) -> Result<(), String> {
    let Some((program, args)) = command_line(cmd, url) else {
        return Err("the browser command is empty".to_owned());
    };
    let shown = crate::sanitize::terminal_safe(&program).into_owned();
    let mut child = Command::new(&program)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the browser command `{shown}`: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(format!("the browser command `{shown}` failed ({status})"));
            }
            Ok(None) if started.elapsed() >= COMMAND_GRACE => return Ok(()),
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => {
                return Err(format!(
                    "cannot wait for the browser command `{shown}`: {e}"
                ));
            }
        }
    }
}

fn open_default(url: &str) -> Result<(), String> {
    if cfg!(all(unix, not(target_os = "macos")))
        && std::env::var_os("DISPLAY").is_none_or(|v| v.is_empty())
        && std::env::var_os("WAYLAND_DISPLAY").is_none_or(|v| v.is_empty())
    {
        return Err(
            "there is no graphical display (DISPLAY and WAYLAND_DISPLAY are unset); \
             open the URL on a machine with a browser, or set --browser/BROWSER"
                .to_owned(),
        );
    }
    webbrowser::open(url).map_err(|e| format!("cannot open the default browser: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines() {
        let u = "https://h/?a=1&b=2";
        assert_eq!(
            command_line("firefox --new-window", u),
            Some(("firefox".into(), vec!["--new-window".into(), u.into()]))
        );
        assert_eq!(
            command_line("open -a Safari %s --x", u),
            Some((
                "open".into(),
                vec!["-a".into(), "Safari".into(), u.into(), "--x".into()]
            ))
        );
        assert_eq!(command_line("   ", u), None);
    }
}
