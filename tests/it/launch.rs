//! Launching every viewer on every device type, and what the launch prints or opens.

use crate::harness::{Run, Sim};

/// Launch with `-n` and check the simulator accepts the URL once, for the right device.
fn launch_and_use(sim: &Sim, viewer: &str, device: &str, device_id: &str) {
    let out = Run::new(sim)
        .args([viewer, device, "-n"])
        .run()
        .success()
        .ticket_only_in_url();
    let url = out.url();
    assert!(
        url.contains(&format!("viewerType={}", viewer.to_uppercase())),
        "{url}"
    );
    assert!(url.contains(&format!("&deviceId={device_id}&")), "{url}");
    let page = sim.assert_single_use(&url);
    assert!(
        page.contains(&format!("<title>{} viewer</title>", viewer.to_uppercase())),
        "{page}"
    );
}

#[test]
fn every_viewer_and_device_type_launches_once() {
    let sim = Sim::start();
    let id = |n: u32| format!("00000000-0000-4000-8000-{n:012}");
    launch_and_use(&sim, "kvm", "rack-a-01", &id(1)); // ADX-IP-IQ
    launch_and_use(&sim, "kvm", "uhd-kvm", &id(6)); // ADX-IP-UHD, KVM path
    launch_and_use(&sim, "kvm", "uhd-both", &id(5)); // KVM path not at index 0
    launch_and_use(&sim, "serial", "uhd-both", &id(5));
    launch_and_use(&sim, "serial", "db-07", &id(7)); // ADX-IP-UHD, serial path only
    launch_and_use(&sim, "serial", "console-01", &id(8)); // SERIAL-TARGET
    launch_and_use(&sim, "serial", "acs-01", &id(9)); // ACS
    launch_and_use(&sim, "serial", "ipsl-01", &id(10)); // ADX-IP-SERIAL-PORT
    launch_and_use(&sim, "vm", "vm-web-01", &id(11)); // VS-VIRTUAL-MACHINE
}

#[test]
fn names_are_exact_then_trimmed_and_ids_work() {
    let sim = Sim::start();
    let id = |n: u32| format!("00000000-0000-4000-8000-{n:012}");
    // Differs only by case: each name finds its own device.
    launch_and_use(&sim, "kvm", "Rack-A-01", &id(3));
    // The appliance's name has a trailing space; the typed one does not.
    launch_and_use(&sim, "kvm", "IPIQ Target Device", &id(4));
    // Non-ASCII names.
    launch_and_use(&sim, "kvm", "serveur-été-03", &id(14));
    launch_and_use(&sim, "serial", "サーバー-04", &id(15));
    // A duplicate name is picked by id.
    launch_and_use(&sim, "kvm", &id(13), &id(13));
}

#[test]
fn kvm_options_reach_the_viewer() {
    let sim = Sim::start();
    let out = Run::new(&sim)
        .args([
            "kvm",
            "uhd-kvm",
            "--print-url",
            "--sharing-mode",
            "standalone-passive",
            "--mouse-mode",
            "2",
        ])
        .run()
        .success();
    let url = out.url();
    assert!(
        url.ends_with("&sharingMode=STANDALONE_PASSIVE&mouseMode=2"),
        "{url}"
    );
    let page = sim.assert_single_use(&url);
    assert!(page.contains("sharing mode: STANDALONE_PASSIVE"), "{page}");
    assert!(page.contains("mouse mode: 2"), "{page}");

    let url = Run::new(&sim)
        .args([
            "kvm",
            "rack-a-01",
            "-n",
            "--sharing-mode",
            "preempt",
            "--mouse-mode",
            "relative",
        ])
        .run()
        .success()
        .url();
    assert!(url.ends_with("&sharingMode=PREEMPT&mouseMode=1"), "{url}");
    sim.assert_single_use(&url);
}

#[test]
fn json_output_describes_the_launch() {
    let sim = Sim::start();
    let before = std::time::SystemTime::now();
    let out = Run::new(&sim)
        .args(["kvm", "rack-a-01", "--json"])
        .run()
        .success();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON object");
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    assert_eq!(v["viewer"], "kvm");
    assert_eq!(v["device"]["name"], "rack-a-01");
    assert_eq!(v["device"]["type"], "ADX-IP-IQ");
    assert_eq!(v["device"]["id"], "00000000-0000-4000-8000-000000000001");
    let expires = humantime::parse_rfc3339(v["ticket_expires_at"].as_str().expect("string"))
        .expect("RFC 3339");
    let lifetime = expires.duration_since(before).expect("in the future");
    assert!(
        (19..=21).contains(&lifetime.as_secs()),
        "expires {lifetime:?} after the start"
    );
    sim.assert_single_use(v["url"].as_str().expect("url"));
}

#[test]
fn password_from_stdin() {
    let sim = Sim::start();
    let out = Run::new(&sim)
        .env_remove("DSVIEW_PASSWORD")
        .args(["--password-stdin", "vm", "vm-web-01", "-n"])
        .stdin("admin-pass\n")
        .run()
        .success();
    sim.assert_single_use(&out.url());
    // CRLF line ends are accepted too.
    let out = Run::new(&sim)
        .env_remove("DSVIEW_PASSWORD")
        .args(["--password-stdin", "vm", "vm-web-01", "-n"])
        .stdin("admin-pass\r\n")
        .run()
        .success();
    sim.assert_single_use(&out.url());
}

#[test]
fn one_connection_per_launch() {
    let sim = Sim::start();
    let before = sim.stat("connections");
    // KVM queries two device types, one after the other over HTTP/1.1: one connection.
    Run::new(&sim)
        .args(["kvm", "uhd-both", "-n"])
        .run()
        .success();
    assert_eq!(
        sim.stat("connections") - before,
        2,
        "one for the launch, one for the stats call"
    );
    assert_eq!(sim.stat("max_concurrent_requests"), 1);
}

/// Over HTTP/2 the two device-type queries of a KVM lookup run at the same time, on the one
/// connection. The added latency makes each request last 300 ms, so the simulator sees them
/// overlap however the two are scheduled.
#[test]
fn over_http2_the_device_type_queries_overlap_on_one_connection() {
    let sim = Sim::with_args(&["--http2", "--latency-ms", "300"]);
    let before = sim.stat("connections");
    let out = Run::new(&sim)
        .args(["kvm", "uhd-both", "-n", "-v"])
        .run()
        .success();
    assert_eq!(
        sim.stat("connections") - before,
        2,
        "one for the launch, one for the stats call"
    );
    assert!(out.stderr.contains("HTTP/2"), "{}", out.stderr);
    assert_eq!(sim.stat("device_list_requests"), 2);
    assert_eq!(
        sim.stat("max_concurrent_requests"),
        2,
        "the two lists overlapped"
    );
    sim.assert_single_use(&out.url());
}

#[cfg(unix)]
mod browser {
    use super::*;
    use crate::harness::recording_browser;

    #[test]
    fn browser_flag_opens_the_url_and_prints_nothing() {
        let sim = Sim::start();
        let dir = tempfile::TempDir::new().expect("dir");
        let (script, record) = recording_browser(dir.path());
        Run::new(&sim)
            .args(["serial", "console-01", "--browser"])
            .arg_path(&script)
            .run()
            .success()
            .stdout_empty();
        let url = std::fs::read_to_string(&record).expect("the browser was started");
        let page = sim.assert_single_use(url.trim_end());
        assert!(page.contains("SERIAL viewer: console-01"), "{page}");
    }

    #[test]
    fn browser_env_fallbacks() {
        let sim = Sim::start();
        for var in ["DSVIEW_BROWSER", "BROWSER"] {
            let dir = tempfile::TempDir::new().expect("dir");
            let (script, record) = recording_browser(dir.path());
            Run::new(&sim)
                .env(var, &script)
                .args(["kvm", "rack-a-02"])
                .run()
                .success()
                .stdout_empty();
            let url = std::fs::read_to_string(&record).expect("the browser was started");
            sim.assert_single_use(url.trim_end());
        }
    }

    #[test]
    fn a_failing_browser_prints_the_url_and_warns() {
        let sim = Sim::start();
        let out = Run::new(&sim)
            .args(["kvm", "rack-a-01", "--browser", "false"])
            .run()
            .success()
            .stderr_has("browser command `false` failed");
        sim.assert_single_use(&out.url());
        let out = Run::new(&sim)
            .args(["kvm", "rack-a-01", "--browser", "/nonexistent/browser"])
            .run()
            .success()
            .stderr_has("cannot start the browser command");
        sim.assert_single_use(&out.url());
    }

    #[cfg(not(target_os = "macos"))]
    #[test]
    fn without_a_display_the_url_is_printed() {
        let sim = Sim::start();
        let out = Run::new(&sim)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .args(["kvm", "rack-a-01"])
            .run()
            .success()
            .stderr_has("no graphical display");
        sim.assert_single_use(&out.url());
    }
}

#[test]
fn verbose_output_shows_steps_but_no_secrets() {
    let sim = Sim::start();
    let out = Run::new(&sim)
        .args(["-vvv", "kvm", "uhd-both", "-n"])
        .run()
        .success()
        .stderr_has("POST /api/v1/userSessions -> 201")
        .stderr_has("GET /api/v1/devices -> 200")
        .stderr_has(":createTicket -> 200")
        .stderr_lacks("Bearer")
        .stderr_lacks("jwt")
        .ticket_only_in_url();
    sim.assert_single_use(&out.url());
}
