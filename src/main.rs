//! The `dsview-launch` binary: parse the command line and hand over to the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    dsview_launch::app::run(dsview_launch::cli::parse())
}
