//! Integration tests: the real `dsview-launch` binary against the real `dsview-sim` over HTTPS.

mod harness;

mod devices;
mod errors;
mod fleet;
mod hostile;
mod launch;
mod profiles;
mod properties;
mod scripting;
mod sessions;
mod snapshots;
mod trust;
