//! Diagnostics on stderr, gated by `-v`/`-q`. Nothing here ever receives a secret: callers pass
//! methods, paths, statuses and timings, never bodies, tokens, tickets or passwords.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicI8, Ordering};

static LEVEL: AtomicI8 = AtomicI8::new(0);

/// Set once at start: -1 for `-q`, 0 by default, 1.. for each `-v`.
pub fn set_level(level: i8) {
    LEVEL.store(level, Ordering::Relaxed);
}

pub fn level() -> i8 {
    LEVEL.load(Ordering::Relaxed)
}

/// Write to stderr, ignoring failures (a closed stderr must not turn into a panic).
pub fn stderr_write(s: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(s.as_bytes());
    let _ = err.flush();
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
        stderr_write(&format!("dsview-launch: warning: {}\n", msg.as_ref()));
    }
}

/// A warning that `-q` does not silence (e.g. certificate checks being off).
pub fn warn_always(msg: impl AsRef<str>) {
    stderr_write(&format!("dsview-launch: warning: {}\n", msg.as_ref()));
}

/// A status line for a person at a terminal: only when stderr is a terminal and not `-q`.
pub fn status(msg: impl AsRef<str>) {
    if level() >= 0 && std::io::stderr().is_terminal() {
        stderr_write(&format!("{}\n", msg.as_ref()));
    }
}
