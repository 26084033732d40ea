//! What scripts and CI rely on: `devices` filters, `check`, completions, the man page, colour
//! rules, and quiet broken pipes.

use crate::harness::{Run, Sim};

#[test]
fn devices_filter_by_type_and_name() {
    let sim = Sim::start();
    let names = |args: &[&str]| -> Vec<String> {
        let out = Run::new(&sim).arg_strs(args).run().success();
        out.stdout
            .lines()
            .map(|l| l.split('\t').next().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(
        names(&["devices", "--type", "ADX-IP-UHD"]),
        ["db-07", "uhd-both", "uhd-kvm"]
    );
    assert_eq!(
        names(&["devices", "--type", "ADX-IP-UHD", "--viewer", "kvm"]),
        ["uhd-both", "uhd-kvm"]
    );
    assert_eq!(
        names(&["devices", "--name", "rack"]),
        ["rack-a-01", "rack-a-02"]
    );
    assert_eq!(
        names(&["devices", "--name", "*-01"]),
        [
            "Rack-A-01",
            "acs-01",
            "console-01",
            "dup-01",
            "dup-01",
            "ipsl-01",
            "pdu-01",
            "rack-a-01",
            "vm-web-01"
        ]
    );
    assert_eq!(names(&["devices", "--name", "uhd-???"]), ["uhd-kvm"]);
    assert!(names(&["devices", "--name", "nothing-like-this"]).is_empty());
}

#[test]
fn check_passes_and_ends_its_session() {
    let sim = Sim::start();
    let out = Run::new(&sim)
        .args(["check", "--device", "uhd-both", "--viewer", "serial"])
        .run()
        .success();
    let steps: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(steps.len(), 5, "{}", out.stdout);
    for (line, step) in steps
        .iter()
        .zip(["login", "devices", "resolve", "ticket", "logout"])
    {
        assert!(line.starts_with(&format!("ok    {step}")), "{line}");
        assert!(line.contains(" ms"), "{line}");
    }
    assert!(steps[1].ends_with("16 devices"), "{}", steps[1]);
    assert!(steps[4].ends_with("session ended"), "{}", steps[4]);
    assert_eq!(sim.stat("open_sessions"), 0);
    assert_eq!(sim.stat("tickets_issued"), 1);

    let out = Run::new(&sim).args(["check", "--json"]).run().success();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v["ok"], true);
    assert_eq!(v["exit_code"], 0);
    let names: Vec<&str> = v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["step"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["login", "devices", "ticket", "logout"]);
    assert!(v["steps"][0]["ms"].is_u64());
    assert_eq!(sim.stat("open_sessions"), 0);
}

#[test]
fn check_exits_with_the_first_failing_step() {
    let sim = Sim::start();
    let check = |run: Run, code: i32, failed: &str| {
        let out = run.run().code(code);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
        assert_eq!(v["exit_code"], code);
        let steps = v["steps"].as_array().expect("steps");
        let first_failed = steps
            .iter()
            .find(|s| s["status"] == "failed")
            .expect("a failed step");
        assert_eq!(first_failed["step"], failed, "{}", out.stdout);
        out
    };
    // login
    check(
        Run::new(&sim)
            .env("DSVIEW_PASSWORD", "wrong")
            .args(["check", "--json"]),
        4,
        "login",
    );
    // resolve
    check(
        Run::new(&sim).args(["check", "--json", "--device", "db-07", "--viewer", "kvm"]),
        3,
        "resolve",
    );
    // ticket
    check(
        Run::new(&sim)
            .env("DSVIEW_USER", "auditor")
            .env("DSVIEW_PASSWORD", "auditor-pass")
            .args(["check", "--json"]),
        4,
        "ticket",
    );
    // Every session opened was ended, failures included.
    assert_eq!(sim.stat("open_sessions"), 0);
    // devices
    let failing = Sim::with_args(&["--fail-every", "2"]);
    check(Run::new(&failing).args(["check", "--json"]), 7, "devices");
    // No password source: exit 4 at once, never a prompt.
    Run::new(&sim)
        .env_remove("DSVIEW_PASSWORD")
        .args(["check"])
        .run()
        .code(4)
        .stderr_has("--password-stdin");
}

#[test]
fn version_prints_one_line() {
    for flag in ["--version", "-V"] {
        let out = assert_cmd::Command::cargo_bin("dsview-launch")
            .expect("binary")
            .arg(flag)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("dsview-launch {}\n", env!("CARGO_PKG_VERSION")),
            "{flag}"
        );
        assert!(out.stderr.is_empty(), "{flag}");
    }
}

#[test]
fn completions_generate_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = Run::bare().args(["completions", shell]).run().success();
        assert!(out.stdout.contains("dsview-launch"), "{shell}");
        assert!(out.stdout.contains("sharing-mode"), "{shell}");
    }
    Run::bare().args(["completions", "tcsh"]).run().code(2);
}

#[test]
fn the_man_page_is_generated_and_up_to_date() {
    let out = Run::bare().args(["manpage"]).run().success();
    assert!(out.stdout.contains(".TH dsview-launch"), "roff");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/dsview-launch.1");
    if std::env::var_os("SNAPSHOTS").is_some_and(|v| v == "overwrite") {
        std::fs::write(&path, &out.stdout).expect("write man page");
    }
    let committed = std::fs::read_to_string(&path).expect("doc/dsview-launch.1 exists");
    assert_eq!(
        committed, out.stdout,
        "doc/dsview-launch.1 is stale: regenerate with `cargo run -- manpage > doc/dsview-launch.1`"
    );
}

#[test]
fn colour_follows_the_rules() {
    let esc = |run: Run| {
        run.args(["kvm", "x", "-n"])
            .run()
            .code(2)
            .stderr
            .contains('\u{1b}')
    };
    // Piped: no colour.
    assert!(!esc(Run::bare().env_remove("NO_COLOR")));
    assert!(esc(Run::bare()
        .env_remove("NO_COLOR")
        .args(["--color", "always"])));
    assert!(esc(Run::bare()
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")));
    assert!(!esc(Run::bare()
        .env("NO_COLOR", "1")
        .env("CLICOLOR_FORCE", "1")));
    assert!(!esc(Run::bare()
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .args(["--color", "never"])));
}

#[test]
fn a_piped_slow_run_has_no_spinner() {
    let sim = Sim::with_args(&["--latency-ms", "400"]);
    let out = Run::new(&sim)
        .env_remove("NO_COLOR")
        .args(["kvm", "rack-a-01", "-n"])
        .run()
        .success();
    assert_eq!(out.stderr, "", "nothing on stderr when piped");
}

/// On a terminal (`script` gives the run one), a slow step shows a turning spinner with what it
/// waits for, and erases it before the URL.
#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_a_slow_step_shows_a_spinner_and_erases_it() {
    let sim = Sim::with_args(&["--latency-ms", "700"]);
    let home = tempfile::TempDir::new().expect("home");
    let args = "kvm rack-a-01 -n --no-session-cache";
    let Some(mut command) = crate::harness::on_a_terminal(&sim, home.path(), args) else {
        return;
    };
    let out = command
        .env("DSVIEW_CA_CERT", &sim.cert)
        .output()
        .expect("script");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    let erase = "\r\x1b[2K";
    assert!(
        screen.contains(&format!("{erase}⠋ Looking up rack-a-01 (0s)")),
        "{screen:?}"
    );
    assert!(
        screen.contains(&format!("{erase}⠙ Looking up")),
        "it turns: {screen:?}"
    );
    let url_at = screen.find("https://").expect("the URL");
    let last_erase = screen[..url_at].rfind(erase).expect("erased");
    assert!(
        !screen[last_erase + erase.len()..url_at].contains('⠋'),
        "the spinner is erased before the URL: {screen:?}"
    );
}

#[cfg(unix)]
#[test]
fn a_broken_pipe_exits_quietly() {
    let sim = Sim::with_args(&["--devices", "20000"]);
    let out = std::process::Command::new("bash")
        .args([
            "-c",
            &format!(
                "set -o pipefail; '{}' devices | head -c 10 >/dev/null",
                env!("CARGO_BIN_EXE_dsview-launch")
            ),
        ])
        .env("DSVIEW_HOST", sim.host())
        .env("DSVIEW_USER", "admin")
        .env("DSVIEW_PASSWORD", crate::harness::PASSWORD)
        .env("DSVIEW_CA_CERT", &sim.cert)
        .env("XDG_STATE_HOME", sim.cert.parent().expect("dir"))
        .output()
        .expect("bash");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn the_body_cap_is_overridable() {
    let sim = Sim::with_args(&["--devices", "20000"]);
    Run::new(&sim)
        .args(["--max-body", "1", "devices"])
        .run()
        .code(7)
        .stderr_has("larger than 1 MiB")
        .stderr_has("--max-body");
    let out = Run::new(&sim)
        .env("DSVIEW_MAX_BODY", "32")
        .args(["devices"])
        .run()
        .success();
    assert_eq!(out.stdout.lines().count(), 20016);
}
