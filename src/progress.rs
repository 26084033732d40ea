//! A spinner on stderr for steps that take a while: it appears only when a step has run for
//! about 300 ms, only when stderr is a terminal, and never with `-q`. Piped runs see nothing.

use std::future::Future;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long a step runs before the spinner shows.
const DELAY: Duration = Duration::from_millis(300);

/// Run `work`, showing `message` with a spinner if it takes longer than about 300 ms.
pub async fn spin<T>(message: impl Into<String>, work: impl Future<Output = T>) -> T {
    if crate::diag::level() < 0 || !std::io::stderr().is_terminal() {
        return work.await;
    }
    let work = std::pin::pin!(work);
    let mut work = work;
    tokio::select! {
        done = &mut work => done,
        () = tokio::time::sleep(DELAY) => {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
                bar.set_style(style);
            }
            bar.set_message(message.into());
            bar.enable_steady_tick(Duration::from_millis(100));
            let done = work.await;
            bar.finish_and_clear();
            done
        }
    }
}
