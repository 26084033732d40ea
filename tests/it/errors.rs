//! Every exit code of the contract, with a message that says what happened and what to do.

use crate::harness::{Run, Sim};

#[test]
fn unknown_device_suggests_close_names() {
    let sim = Sim::start();
    Run::new(&sim)
        .args(["kvm", "rack-a-1", "-n"])
        .run()
        .code(3)
        .stdout_empty()
        .stderr_has("no device named rack-a-1 takes the KVM viewer")
        .stderr_has("did you mean")
        .stderr_has("rack-a-01");
    // Case differences are suggested, never silently taken.
    Run::new(&sim)
        .args(["kvm", "RACK-A-02", "-n"])
        .run()
        .code(3)
        .stderr_has("rack-a-02");
    assert_eq!(
        sim.stat("tickets_issued"),
        0,
        "no ticket before the device is resolved"
    );
}

/// Over HTTP/2 the device-type queries run at once and their answers interleave; what a miss
/// says must not depend on that.
#[test]
fn a_miss_reads_the_same_over_http2() {
    let miss = |sim: &Sim, query: &str| {
        let out = Run::new(sim).args(["kvm", query, "-n"]).run().code(3);
        out.stderr.replace(&sim.host(), "HOST")
    };
    let h1 = Sim::start();
    let h2 = Sim::with_args(&["--http2"]);
    for query in ["rack-a-1", "db-07", "dup-01", "uhd"] {
        let (one, two) = (miss(&h1, query), miss(&h2, query));
        assert_eq!(one, two, "{query}");
        assert!(!one.is_empty(), "{query}");
    }
}

#[test]
fn duplicate_names_are_listed_with_ids() {
    let sim = Sim::start();
    Run::new(&sim)
        .args(["kvm", "dup-01", "-n"])
        .run()
        .code(3)
        .stderr_has("2 devices are named dup-01")
        .stderr_has("00000000-0000-4000-8000-000000000012")
        .stderr_has("00000000-0000-4000-8000-000000000013")
        .stderr_has("pick one by id");
}

#[test]
fn a_device_without_the_viewer_says_which_it_takes() {
    let sim = Sim::start();
    Run::new(&sim)
        .args(["kvm", "db-07", "-n"])
        .run()
        .code(3)
        .stderr_has("db-07 does not take the KVM viewer: it has only a serial path")
        .stderr_has("try `dsview-launch serial db-07`");
    Run::new(&sim)
        .args(["vm", "rack-a-01", "-n"])
        .run()
        .code(3)
        .stderr_has("it has only a KVM path")
        .stderr_has("dsview-launch kvm rack-a-01");
    Run::new(&sim)
        .args(["serial", "uhd-kvm", "-n"])
        .run()
        .code(3)
        .stderr_has("dsview-launch kvm uhd-kvm");
}

#[test]
fn options_that_do_not_fit() {
    let sim = Sim::start();
    Run::new(&sim)
        .args(["serial", "console-01", "-n", "--sharing-mode", "active"])
        .run()
        .code(2)
        .stderr_has("--sharing-mode applies only to the KVM viewer");
    Run::new(&sim)
        .args(["kvm", "rack-a-01", "-n", "--mouse-mode", "relative-raw"])
        .run()
        .code(3)
        .stderr_has("needs an IPUHD device");
    Run::new(&sim)
        .args(["kvm", "rack-a-01", "-n", "--sharing-mode", "sideways"])
        .run()
        .code(2);
    Run::new(&sim)
        .args(["kvm", "rack-a-01", "-n", "--json"])
        .run()
        .code(2);
    assert_eq!(sim.stat("tickets_issued"), 0);
}

#[test]
fn wrong_password_and_missing_permission_exit_4() {
    let sim = Sim::start();
    Run::new(&sim)
        .env("DSVIEW_PASSWORD", "not-the-password")
        .args(["kvm", "rack-a-01", "-n"])
        .run()
        .code(4)
        .stderr_has("invalid username or password");
    Run::new(&sim)
        .env("DSVIEW_USER", "auditor")
        .env("DSVIEW_PASSWORD", "auditor-pass")
        .args(["kvm", "rack-a-01", "-n"])
        .run()
        .code(4)
        .stdout_empty()
        .stderr_has("lacks the permission to launch viewers");
}

#[test]
fn no_password_and_no_terminal_fails_before_connecting() {
    let sim = Sim::start();
    Run::new(&sim)
        .env_remove("DSVIEW_PASSWORD")
        .args(["kvm", "rack-a-01", "-n"])
        .run()
        .code(4)
        .stderr_has("--password-stdin")
        .stderr_has("DSVIEW_PASSWORD")
        .stderr_has("terminal");
    assert_eq!(sim.stat("logins"), 0);
    // --password-stdin with nothing on stdin is the same kind of failure.
    Run::new(&sim)
        .env_remove("DSVIEW_PASSWORD")
        .args(["--password-stdin", "kvm", "rack-a-01", "-n"])
        .run()
        .code(4)
        .stderr_has("standard input holds no password");
}

#[test]
fn usage_errors_exit_2() {
    Run::bare()
        .args(["kvm", "rack-a-01", "-n"])
        .run()
        .code(2)
        .stderr_has("no appliance given")
        .stderr_has("DSVIEW_HOST");
    Run::bare()
        .args(["--host", "http://mp1000", "-u", "admin", "kvm", "x"])
        .run()
        .code(2)
        .stderr_has("refusing plain-HTTP");
    Run::bare()
        .args(["--host", "127.0.0.1:1", "kvm", "x"])
        .env("DSVIEW_PASSWORD", "x")
        .run()
        .code(2)
        .stderr_has("no user name given");
    Run::bare().args(["kvm"]).run().code(2);
    Run::bare().args(["teleport", "x"]).run().code(2);
    Run::bare()
        .args([
            "--host",
            "h",
            "-u",
            "u",
            "--ca-cert",
            "/nonexistent.pem",
            "kvm",
            "x",
        ])
        .env("DSVIEW_PASSWORD", "x")
        .run()
        .code(2)
        .stderr_has("cannot use --ca-cert /nonexistent.pem");
}

#[test]
fn unreachable_appliance_exits_6() {
    // Bind and close a port so nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    Run::bare()
        .env("DSVIEW_PASSWORD", "x")
        .args([
            "--host",
            &format!("127.0.0.1:{port}"),
            "-u",
            "admin",
            "kvm",
            "x",
            "-n",
        ])
        .run()
        .code(6)
        .stderr_has(&format!("cannot reach 127.0.0.1:{port}"));
}

#[test]
fn slow_appliance_times_out_with_exit_6() {
    let sim = Sim::with_args(&["--latency-ms", "3000"]);
    Run::new(&sim)
        .args(["--timeout", "1", "kvm", "rack-a-01", "-n"])
        .run()
        .code(6)
        .stderr_has("did not answer the login within 1 s")
        .stderr_has("--timeout");
}

#[test]
fn appliance_errors_exit_7_with_an_excerpt() {
    let sim = Sim::with_args(&["--fail-every", "1"]);
    Run::new(&sim)
        .args(["kvm", "rack-a-01", "-n"])
        .run()
        .code(7)
        .stderr_has(
            "unexpected answer to the login: HTTP 500 Internal Server Error: simulated failure",
        );
    // The second request (the device list) fails.
    let sim = Sim::with_args(&["--fail-every", "2"]);
    Run::new(&sim)
        .args(["vm", "vm-web-01", "-n"])
        .run()
        .code(7)
        .stderr_has("unexpected answer to the device list: HTTP 500");
}

#[cfg(target_os = "linux")]
#[test]
fn a_failing_stdout_is_an_internal_error() {
    let sim = Sim::start();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec '{}' kvm rack-a-01 -n >/dev/full",
            env!("CARGO_BIN_EXE_dsview-launch")
        ))
        .env("DSVIEW_HOST", sim.host())
        .env("DSVIEW_USER", "admin")
        .env("DSVIEW_PASSWORD", crate::harness::PASSWORD)
        .env("DSVIEW_CA_CERT", &sim.cert)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write to standard output"));
}

#[cfg(unix)]
#[test]
fn ctrl_c_exits_130() {
    let sim = Sim::with_args(&["--latency-ms", "5000"]);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_dsview-launch"))
        .args(["kvm", "rack-a-01", "-n"])
        .env("DSVIEW_HOST", sim.host())
        .env("DSVIEW_USER", "admin")
        .env("DSVIEW_PASSWORD", crate::harness::PASSWORD)
        .env("DSVIEW_CA_CERT", &sim.cert)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until the login is in flight (the simulator has accepted the connection).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sim.stat("requests") < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
}

#[test]
fn help_lists_exit_codes_and_hides_the_password() {
    let out = Run::bare()
        .env("DSVIEW_PASSWORD", "hunter2-secret")
        .args(["--help"])
        .run()
        .success()
        .stdout_has("Exit codes:")
        .stdout_has("130  interrupted")
        .stdout_has("DSVIEW_PASSWORD");
    assert!(!out.stdout.contains("hunter2-secret"));
    assert!(
        !out.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("--password ")),
        "no --password flag"
    );
}
