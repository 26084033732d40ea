//! A spinner on stderr for steps that take a while: it appears only when a step has run for
//! about 300 ms, only when stderr is a terminal, and never with `-q`. Piped runs see nothing.
//!
//! Drawn by the step's own task (no thread, no timer outside the runtime): one line, redrawn
//! every 100 ms with `\r` and erase-line, and erased when the step ends. A line written to
//! stderr meanwhile erases the spinner first ([`crate::diag::stderr_write`]); the next tick
//! draws it again below.

use std::future::Future;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use unicode_width::UnicodeWidthChar;

use crate::diag;

/// How long a step runs before the spinner shows.
const DELAY: Duration = Duration::from_millis(300);
/// How often the spinner turns.
const TICK: Duration = Duration::from_millis(100);
/// The widest message drawn, in terminal columns: the line must not wrap on an 80-column
/// terminal, or erasing it would leave the wrapped part behind.
const MAX_COLUMNS: usize = 60;
const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// Run `work`, showing `message` with a spinner if it takes longer than about 300 ms.
pub async fn spin<T>(message: impl Into<String>, work: impl Future<Output = T>) -> T {
    if diag::level() < 0 || !std::io::stderr().is_terminal() {
        return work.await;
    }
    let started = Instant::now();
    let mut work = std::pin::pin!(work);
    tokio::select! {
        done = &mut work => return done,
        () = tokio::time::sleep(DELAY) => {}
    }
    let message = fit(&message.into());
    let mut ticks = tokio::time::interval(TICK);
    let mut frame = 0;
    let done = loop {
        tokio::select! {
            done = &mut work => break done,
            _ = ticks.tick() => {
                let seconds = started.elapsed().as_secs();
                diag::draw_spinner(&format!("{} {message} ({seconds}s)", FRAMES[frame]));
                frame = (frame + 1) % FRAMES.len();
            }
        }
    };
    diag::erase_spinner();
    done
}

/// `message` cut to [`MAX_COLUMNS`] columns, with `…` where it was cut.
fn fit(message: &str) -> String {
    let mut out = String::new();
    let mut columns = 0;
    for c in message.chars() {
        let width = c.width().unwrap_or(0);
        if columns + width > MAX_COLUMNS - 1 {
            out.push('…');
            return out;
        }
        columns += width;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_to_fit_one_line() {
        assert_eq!(fit("Creating a ticket"), "Creating a ticket");
        let cut = fit(&format!("Looking up '{}'", "服".repeat(40)));
        assert!(cut.ends_with('…'));
        let columns: usize = cut.chars().map(|c| c.width().unwrap_or(0)).sum();
        assert!(columns <= MAX_COLUMNS, "{columns}");
    }
}
