//! A hostile or broken appliance: the launcher against every `dsview-sim --fault`, one table of
//! cases, each with the exit code and message the contract asks for. The whole table runs
//! twice, plainly and with `-vvv`, and every run must also keep the secrets: no password, no
//! session token (the simulator's all start with `simjwt.`), no ticket outside the printed URL,
//! no panic, and an answer within the case's time bound.
//!
//! Each case has its own simulator, so cases run in parallel.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::harness::{Outcome, PASSWORD, Run, Sim};

/// Every session token the simulator issues starts with this.
const TOKEN_PREFIX: &str = "simjwt.";
/// Stands for the 10 000-character device name that `devices=long-name` adds.
const LONG_NAME: &str = "{long-name}";
/// Stands for the simulator's `127.0.0.1:PORT` in expected messages.
const HOST: &str = "{host}";
/// The names `devices=control-names` adds.
const CONTROL_NAMES: [&str; 4] = [
    "\u{1b}[31mred\u{1b}[0m",
    "bidi-\u{202e}fdp.exe",
    "new\nline",
    "tab\there",
];
/// How many cases run at once.
const PARALLEL: usize = 6;

/// An extra check of a run whose exit code was right.
type Check = fn(&Sim, &Outcome) -> Result<(), String>;

/// One row of the table.
struct Case {
    sim: Vec<&'static str>,
    env: Vec<(&'static str, &'static str)>,
    args: &'static str,
    code: i32,
    stderr: &'static [&'static str],
    within: Duration,
    check: Option<Check>,
}

/// A case whose simulator runs with `faults`; `args` are the launcher's, space-separated.
fn case(
    faults: &[&'static str],
    args: &'static str,
    code: i32,
    stderr: &'static [&'static str],
) -> Case {
    Case {
        sim: faults.iter().flat_map(|f| ["--fault", *f]).collect(),
        env: Vec::new(),
        args,
        code,
        stderr,
        within: Duration::from_secs(15),
        check: None,
    }
}

impl Case {
    fn sim_args(mut self, args: &[&'static str]) -> Self {
        self.sim.extend_from_slice(args);
        self
    }

    fn env(mut self, key: &'static str, value: &'static str) -> Self {
        self.env.push((key, value));
        self
    }

    fn within(mut self, secs: u64) -> Self {
        self.within = Duration::from_secs(secs);
        self
    }

    fn check(mut self, check: Check) -> Self {
        self.check = Some(check);
        self
    }

    fn name(&self) -> String {
        let mut name = self.sim.join(" ");
        if !self.env.is_empty() {
            let env: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            name = format!("{name} {}", env.join(" "));
        }
        format!("[{}] {}", name.trim(), self.args)
    }

    fn launcher_args(&self) -> Vec<String> {
        self.args
            .split(' ')
            .map(|a| {
                if a == LONG_NAME {
                    "x".repeat(10_000)
                } else {
                    a.to_owned()
                }
            })
            .collect()
    }
}

const KVM: &str = "kvm rack-a-01 -n";
const KVM_T2: &str = "--timeout 2 kvm rack-a-01 -n";

/// The table: what the appliance does wrong, what the launcher is run with, and what the
/// contract says must come of it (0 done, 3 no such device, 4 auth, 5 TLS, 6 network or
/// timeout, 7 an unexpected answer).
fn table() -> Vec<Case> {
    vec![
        // The login's answer is not the documented one.
        case(
            &["login=malformed-json"],
            KVM,
            7,
            &["the login", "not the documented"],
        ),
        case(&["login=empty-body"], KVM, 7, &["the login"]),
        case(
            &["login=missing-field"],
            KVM,
            7,
            &["the login", "no \"jwt\""],
        ),
        case(
            &["login=missing-session-id"],
            KVM,
            7,
            &["the login", "user_session"],
        ),
        case(&["login=wrong-types"], KVM, 7, &["the login"]),
        case(&["login=nulls"], KVM, 7, &["the login"]),
        case(
            &["login=extra-nesting"],
            KVM,
            7,
            &["the login", "no \"jwt\""],
        ),
        case(&["login=status-swap"], KVM, 0, &[]),
        // The login fails on the way: retried only when no request reached the appliance.
        case(&["login=html-502"], KVM, 7, &["the login", "502"]).check(one_login_request),
        case(&["login=empty-503"], KVM, 7, &["the login", "503"]).check(one_login_request),
        case(&["login=status-500"], KVM, 7, &["the login", "HTTP 500"]),
        case(&["login=retry-after-429"], KVM, 7, &["the login", "429"]).check(one_login_request),
        case(&["login=reset"], KVM, 6, &[HOST]).check(one_login_request),
        case(
            &["login=stall"],
            KVM_T2,
            6,
            &["the login", "did not answer"],
        ),
        case(
            &["login=stall-headers"],
            KVM_T2,
            6,
            &["the login", "did not answer"],
        ),
        case(&["login=huge-body"], KVM, 7, &["the login", "larger than"]),
        case(
            &["login=huge-declared"],
            KVM,
            7,
            &["the login", "larger than"],
        ),
        case(&["login=redirect-same"], KVM, 7, &["the login", "redirect"]),
        case(
            &["login=redirect-other"],
            KVM,
            7,
            &["the login", "redirect"],
        )
        .check(stayed_home),
        // The device list's answer is not the documented one.
        case(
            &["devices=malformed-json"],
            KVM,
            7,
            &["the device list", "not the documented"],
        ),
        case(&["devices=empty-body"], KVM, 7, &["the device list"]),
        case(
            &["devices=missing-field"],
            KVM,
            7,
            &["the device list", "no \"devices\""],
        ),
        case(
            &["devices=wrong-types"],
            KVM,
            7,
            &["the device list", "not the documented"],
        ),
        // A launch decodes only the records that could be the device asked for: a broken
        // record elsewhere does not stop it. A listing decodes every record.
        case(&["devices=wrong-device-types"], KVM, 0, &[]),
        case(
            &["devices=wrong-device-types"],
            "devices",
            7,
            &["the device list", "not the documented shape"],
        ),
        case(&["devices=nulls"], KVM, 7, &["the device list"]),
        case(
            &["devices=extra-nesting"],
            KVM,
            7,
            &["the device list", "no \"devices\""],
        ),
        case(&["devices=empty-devices"], KVM, 3, &["no device named"]),
        // Passing trouble is retried; lasting trouble ends in a bounded time.
        case(&["devices=html-502x1"], KVM, 0, &[]),
        case(&["devices=empty-503x2"], KVM, 0, &[]),
        case(&["devices=retry-after-429x1"], KVM, 0, &[]),
        case(&["devices=resetx1"], KVM, 0, &[]),
        case(&["devices=html-502"], KVM, 7, &["the device list", "502"])
            .within(20)
            .check(device_list_retried),
        case(&["devices=empty-503"], KVM, 7, &["the device list", "503"]).within(20),
        case(
            &["devices=retry-after-429"],
            KVM,
            7,
            &["the device list", "429"],
        )
        .within(20),
        case(&["devices=reset"], KVM, 6, &[HOST]).within(20),
        case(
            &["devices=status-500"],
            KVM,
            7,
            &["the device list", "HTTP 500"],
        ),
        case(
            &["devices=huge-body"],
            KVM,
            7,
            &["the device list", "larger than"],
        ),
        case(
            &["devices=huge-declared"],
            KVM,
            7,
            &["the device list", "larger than"],
        ),
        case(
            &["devices=stall"],
            KVM_T2,
            6,
            &["the device list", "did not answer"],
        ),
        case(
            &["devices=stall-headers"],
            KVM_T2,
            6,
            &["the device list", "did not answer"],
        ),
        case(
            &["devices=redirect-same"],
            KVM,
            7,
            &["the device list", "redirect"],
        ),
        case(
            &["devices=redirect-other"],
            KVM,
            7,
            &["the device list", "redirect"],
        )
        .check(stayed_home),
        // Device names made to break a terminal, a table or a decoder.
        case(&["devices=control-names"], "devices", 0, &[]).check(tsv_is_clean),
        case(&["devices=control-names"], "devices --json", 0, &[]).check(json_round_trips),
        case(&["devices=invalid-utf8"], "devices", 0, &[]).check(demo_devices_listed),
        case(&["devices=invalid-utf8"], KVM, 0, &[]),
        case(&["devices=long-name"], "devices", 0, &[]).check(demo_devices_listed),
        case(&["devices=long-name"], "kvm {long-name} -n", 0, &[]),
        // The ticket's answer is not the documented one.
        case(
            &["ticket=malformed-json"],
            KVM,
            7,
            &["the ticket request", "not the documented"],
        ),
        case(&["ticket=empty-body"], KVM, 7, &["the ticket request"]),
        case(
            &["ticket=missing-field"],
            KVM,
            7,
            &["the ticket request", "no \"ticket\""],
        ),
        case(&["ticket=wrong-types"], KVM, 7, &["the ticket request"]),
        case(&["ticket=nulls"], KVM, 7, &["the ticket request"]),
        case(
            &["ticket=extra-nesting"],
            KVM,
            7,
            &["the ticket request", "no \"ticket\""],
        ),
        case(&["ticket=status-swap"], KVM, 0, &[]),
        // The ticket request fails on the way.
        case(&["ticket=empty-503x1"], KVM, 0, &[]),
        case(&["ticket=resetx1"], KVM, 0, &[]),
        case(&["ticket=html-502"], KVM, 7, &["the ticket request", "502"]).within(20),
        case(&["ticket=reset"], KVM, 6, &[HOST]).within(20),
        case(
            &["ticket=status-500"],
            KVM,
            7,
            &["the ticket request", "HTTP 500"],
        ),
        case(
            &["ticket=huge-body"],
            KVM,
            7,
            &["the ticket request", "larger than"],
        ),
        case(
            &["ticket=stall"],
            KVM_T2,
            6,
            &["the ticket request", "did not answer"],
        ),
        case(
            &["ticket=stall-headers"],
            KVM_T2,
            6,
            &["the ticket request", "did not answer"],
        ),
        case(
            &["ticket=redirect-same"],
            KVM,
            7,
            &["the ticket request", "redirect"],
        ),
        case(
            &["ticket=redirect-other"],
            KVM,
            7,
            &["the ticket request", "redirect"],
        )
        .check(stayed_home),
        // A failed logout is only a note.
        case(&["logout=status-500"], "devices", 0, &[]).check(demo_devices_listed),
        case(&["logout=html-502"], "devices", 0, &[]).check(demo_devices_listed),
        case(&["logout=reset"], "devices", 0, &[]).check(demo_devices_listed),
        case(&["logout=stall-headers"], "--timeout 2 devices", 0, &[]).check(demo_devices_listed),
        // The same over HTTP/2, where the device queries share one connection at once.
        case(&["devices=resetx1"], KVM, 0, &[]).sim_args(&["--http2"]),
        case(&["devices=html-502x1"], KVM, 0, &[]).sim_args(&["--http2"]),
        case(&["ticket=resetx1"], KVM, 0, &[]).sim_args(&["--http2"]),
        case(&["devices=reset"], KVM, 6, &[HOST])
            .sim_args(&["--http2"])
            .within(20),
        case(
            &["devices=stall"],
            KVM_T2,
            6,
            &["the device list", "did not answer"],
        )
        .sim_args(&["--http2"]),
        case(
            &["devices=huge-body"],
            KVM,
            7,
            &["the device list", "larger than"],
        )
        .sim_args(&["--http2"]),
        // TLS.
        case(&["tls=handshake"], KVM, 5, &["handshake"]),
        case(&[], KVM, 0, &[]).sim_args(&["--cert-style", "chain"]),
        case(&[], KVM, 5, &["name mismatch"]).sim_args(&[
            "--cert-style",
            "chain",
            "--san",
            "other.example",
        ]),
        // Credentials and permissions.
        case(&[], KVM, 4, &["invalid username or password"])
            .env("DSVIEW_PASSWORD", "not-the-password"),
        case(&[], KVM, 4, &["permission"])
            .env("DSVIEW_USER", "auditor")
            .env("DSVIEW_PASSWORD", "auditor-pass"),
    ]
}

/// The login was sent once: it reached the appliance, so it was not retried.
fn one_login_request(sim: &Sim, _: &Outcome) -> Result<(), String> {
    match sim.stat("login_requests") {
        1 => Ok(()),
        n => Err(format!(
            "{n} login requests; a login that reached the appliance is not retried"
        )),
    }
}

/// The device list was asked for again after a 502.
fn device_list_retried(sim: &Sim, _: &Outcome) -> Result<(), String> {
    match sim.stat("device_list_requests") {
        0 | 1 => Err("the device list was not retried after a 502".to_owned()),
        _ => Ok(()),
    }
}

/// No request followed the redirect to the other host.
fn stayed_home(sim: &Sim, _: &Outcome) -> Result<(), String> {
    match sim.stat("redirected_requests") {
        0 => Ok(()),
        n => Err(format!(
            "{n} requests followed the redirect to another host"
        )),
    }
}

/// Every line of a piped listing has exactly four tab-separated fields.
fn four_fields(out: &Outcome) -> Result<(), String> {
    match out.stdout.lines().find(|l| l.split('\t').count() != 4) {
        Some(line) => Err(format!("a listing line without 4 fields: {line:?}")),
        None => Ok(()),
    }
}

/// The demo devices are all listed, one per well-formed line.
fn demo_devices_listed(_: &Sim, out: &Outcome) -> Result<(), String> {
    four_fields(out)?;
    for name in ["rack-a-01", "uhd-both", "db-07", "pdu-01", "サーバー-04"] {
        if !out
            .stdout
            .lines()
            .any(|l| l.split('\t').next() == Some(name))
        {
            return Err(format!("{name} is not listed"));
        }
    }
    Ok(())
}

/// Control characters and a bidi override never reach the TSV raw, and each device stays on
/// one line of four fields.
fn tsv_is_clean(sim: &Sim, out: &Outcome) -> Result<(), String> {
    if out.stdout.contains('\u{1b}') {
        return Err("an ESC byte on stdout".to_owned());
    }
    if out.stdout.contains('\u{202e}') {
        return Err("a raw U+202E on stdout".to_owned());
    }
    demo_devices_listed(sim, out)?;
    let lines = out.stdout.lines().count();
    if lines != 16 + CONTROL_NAMES.len() {
        return Err(format!(
            "{lines} lines for {} devices",
            16 + CONTROL_NAMES.len()
        ));
    }
    Ok(())
}

/// `--json` keeps the names exactly, control characters escaped by JSON.
fn json_round_trips(_: &Sim, out: &Outcome) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_str(&out.stdout).map_err(|e| format!("stdout is not JSON: {e}"))?;
    let names: Vec<&str> = value
        .as_array()
        .ok_or("stdout is not a JSON array")?
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    for name in CONTROL_NAMES {
        if !names.contains(&name) {
            return Err(format!("{name:?} does not round-trip: {names:?}"));
        }
    }
    Ok(())
}

/// Runs `f`, turning a panic (a failed harness assertion) into an error.
fn caught<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panic".to_owned())
    })
}

/// At most the first `n` characters of `text`, debug-quoted (escapes stay visible).
fn short(text: &str, n: usize) -> String {
    let cut: String = text.chars().take(n).collect();
    if cut.len() < text.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

/// Runs one case; `Err` lists every way it broke the contract.
fn run_case(case: &Case, verbose: bool) -> Result<(), String> {
    let sim = Sim::with_args(&case.sim);
    let host = sim.host();
    let mut run = Run::new(&sim);
    for (key, value) in &case.env {
        run = run.env(key, value);
    }
    if verbose {
        run = run.args(["-vvv"]);
    }
    let args = case.launcher_args();
    let started = Instant::now();
    // Outcome's constructor already refuses passwords and panic text on stdout and stderr.
    let out = caught(|| run.args(&args).run())?;
    let elapsed = started.elapsed();

    let mut problems = Vec::new();
    if out.code != case.code {
        problems.push(format!("exit code {} instead of {}", out.code, case.code));
    }
    if elapsed > case.within {
        problems.push(format!(
            "took {:.1} s, more than {} s",
            elapsed.as_secs_f64(),
            case.within.as_secs()
        ));
    }
    for needle in case.stderr {
        let needle = needle.replace(HOST, &host);
        if !out.stderr.contains(&needle) {
            problems.push(format!("stderr lacks {needle:?}"));
        }
    }
    for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        if text.contains(TOKEN_PREFIX) {
            problems.push(format!("a session token on {stream}"));
        }
        if text.contains(PASSWORD) {
            problems.push(format!("the password on {stream}"));
        }
    }
    if out.code == case.code {
        if out.code == 0 && args.iter().any(|a| a == "-n") {
            let url = caught(|| out.url()).inspect_err(|e| problems.push(e.clone()));
            if let Ok(url) = url {
                let _ = caught(|| sim.assert_single_use(&url))
                    .inspect_err(|e| problems.push(e.clone()));
                let ticket = url.split('&').find_map(|kv| kv.strip_prefix("ticket="));
                if ticket.is_some_and(|t| out.stderr.contains(t)) {
                    problems.push("the ticket on stderr".to_owned());
                }
            }
        }
        if let Some(check) = case.check {
            match caught(|| check(&sim, &out)) {
                Ok(Ok(())) => {}
                Ok(Err(problem)) | Err(problem) => problems.push(problem),
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n      exit {}, {:.1} s; stderr: {}",
            problems.join("; "),
            out.code,
            elapsed.as_secs_f64(),
            short(&out.stderr, 400)
        ))
    }
}

/// Runs the whole table, [`PARALLEL`] cases at a time, and reports every failing case.
fn run_table(verbose: bool) {
    let cases = table();
    assert!(cases.len() >= 40, "the table has {} cases", cases.len());
    let total = cases.len();
    let queue = Mutex::new(cases.into_iter().enumerate().collect::<Vec<_>>());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(PoisonError::into_inner).pop();
                    let Some((index, case)) = next else { break };
                    let result = caught(|| run_case(&case, verbose)).and_then(|r| r);
                    if let Err(problem) = result {
                        failures
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push((index, case.name(), problem));
                    }
                }
            });
        }
    });
    let mut failures = failures
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    failures.sort();
    let report: Vec<String> = failures
        .iter()
        .map(|(_, name, problem)| format!("  {name}\n      {problem}"))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {total} cases{} broke the contract:\n{}",
        failures.len(),
        if verbose { " (with -vvv)" } else { "" },
        report.join("\n")
    );
}

#[test]
fn a_hostile_appliance_gets_the_documented_exit_codes() {
    run_table(false);
}

#[test]
fn a_hostile_appliance_learns_no_secret_even_at_vvv() {
    run_table(true);
}
