//! `dsview-sim`: a local HTTPS stand-in for a DSView appliance's viewer-session API, for tests
//! and demos of `dsview-launch`.
//!
//! Code map: `cli` (flags), `tls` (throw-away certificate and rustls config), `inventory`
//! (demo and generated devices), `state` (users, sessions, tickets, counters), `launch` (the
//! `launchUI` contract), `response` (HTTP errors and bodies), `routes` (request dispatch),
//! `faults` (`--fault`: deliberate misbehaviour), `server` (listener, banner, connections,
//! the optional COMMAND, shutdown). Nothing here is shared with the launcher's library, in
//! either direction.

mod cli;
mod faults;
mod inventory;
mod launch;
mod response;
mod routes;
mod server;
mod state;
mod tls;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = writeln!(
                std::io::stderr(),
                "dsview-sim: error: cannot start the async runtime: {err}"
            );
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(server::run(args)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "dsview-sim: error: {err}");
            ExitCode::FAILURE
        }
    }
}
