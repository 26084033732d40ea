//! The `dsview-launch` binary: parse the command line and hand over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = dsview_launch::cli::Cli::parse();
    dsview_launch::app::run(cli)
}
