//! Diagnostics on stderr, gated by `-v`/`-q`. Nothing here ever receives a secret: callers pass
//! methods, paths, statuses and timings, never bodies, tokens, tickets or passwords.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicI8, Ordering};

use anstyle::{AnsiColor, Style};

use crate::cli::ColorChoice;

static LEVEL: AtomicI8 = AtomicI8::new(0);
static COLOR_STDERR: AtomicBool = AtomicBool::new(false);
static COLOR_STDOUT: AtomicBool = AtomicBool::new(false);

/// Whether to colour a stream: `--color` first, then `NO_COLOR` (any value turns colour off),
/// then `CLICOLOR_FORCE` (any value but `0` turns it on), then whether it is a terminal.
pub fn color_wanted(choice: ColorChoice, is_terminal: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("NO_COLOR") => false,
        ColorChoice::Auto if set("CLICOLOR_FORCE") => {
            std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v != "0")
        }
        ColorChoice::Auto => is_terminal,
    }
}

/// Decide colour for stdout and stderr once, at start.
pub fn set_color(choice: ColorChoice) {
    COLOR_STDERR.store(
        color_wanted(choice, std::io::stderr().is_terminal()),
        Ordering::Relaxed,
    );
    COLOR_STDOUT.store(
        color_wanted(choice, std::io::stdout().is_terminal()),
        Ordering::Relaxed,
    );
}

/// `text` in `style` on stderr when colour is on.
pub fn paint_stderr(text: &str, style: Style) -> String {
    paint(COLOR_STDERR.load(Ordering::Relaxed), text, style)
}

/// `text` in `style` on stdout when colour is on.
pub fn paint_stdout(text: &str, style: Style) -> String {
    paint(COLOR_STDOUT.load(Ordering::Relaxed), text, style)
}

fn paint(on: bool, text: &str, style: Style) -> String {
    if on {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

pub const ERROR: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
pub const WARNING: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));
pub const GOOD: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
pub const HEADER: Style = Style::new().bold();

/// Set once at start: -1 for `-q`, 0 by default, 1.. for each `-v`.
pub fn set_level(level: i8) {
    LEVEL.store(level, Ordering::Relaxed);
}

pub fn level() -> i8 {
    LEVEL.load(Ordering::Relaxed)
}

/// Write to stderr, ignoring failures (a closed stderr must not turn into a panic). A spinner
/// on the line is erased first.
pub fn stderr_write(s: &str) {
    let mut err = std::io::stderr().lock();
    if SPINNER.swap(false, Ordering::Relaxed) {
        let _ = err.write_all(ERASE_LINE.as_bytes());
    }
    let _ = err.write_all(s.as_bytes());
    let _ = err.flush();
}

/// Whether a spinner line is on the terminal now.
static SPINNER: AtomicBool = AtomicBool::new(false);
/// Back to the start of the line, and erase it.
#[cfg(not(windows))]
const ERASE_LINE: &str = "\r\x1b[2K";
/// A console that does not process escape sequences is erased with spaces (the spinner line
/// is at most 72 columns wide).
#[cfg(windows)]
const ERASE_LINE: &str = concat!(
    "\r",
    "                                                                        ",
    "\r"
);

/// Draws `line` over the spinner line (see [`crate::progress`]).
pub fn draw_spinner(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{ERASE_LINE}{line}");
    let _ = err.flush();
    SPINNER.store(true, Ordering::Relaxed);
}

/// Erases the spinner line, if one is shown.
pub fn erase_spinner() {
    if SPINNER.swap(false, Ordering::Relaxed) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(ERASE_LINE.as_bytes());
        let _ = err.flush();
    }
}

/// A line shown at `-v` (1), `-vv` (2) or higher.
pub fn verbose(min: i8, msg: impl AsRef<str>) {
    if level() >= min {
        stderr_write(&format!("dsview-launch: {}\n", msg.as_ref()));
    }
}

/// A warning: shown unless `-q`.
pub fn warn(msg: impl AsRef<str>) {
    if level() >= 0 {
        warn_always(msg);
    }
}

/// A warning that `-q` does not silence (e.g. certificate checks being off).
pub fn warn_always(msg: impl AsRef<str>) {
    stderr_write(&format!(
        "dsview-launch: {} {}\n",
        paint_stderr("warning:", WARNING),
        msg.as_ref()
    ));
}

/// A status line for a person at a terminal: only when stderr is a terminal and not `-q`.
pub fn status(msg: impl AsRef<str>) {
    if level() >= 0 && std::io::stderr().is_terminal() {
        stderr_write(&format!("{}\n", msg.as_ref()));
    }
}
