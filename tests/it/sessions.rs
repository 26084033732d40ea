//! Sessions are reused, not leaked: the cache, `login`, `logout`, and `--no-session-cache`.

use crate::harness::{Home, Sim};

#[test]
fn twenty_launches_make_one_login_and_leave_one_session() {
    let sim = Sim::start();
    let home = Home::new();
    for _ in 0..20 {
        let out = home
            .run(&sim)
            .args(["kvm", "rack-a-01", "-n"])
            .run()
            .success();
        sim.assert_single_use(&out.url());
    }
    assert_eq!(sim.stat("logins"), 1);
    assert_eq!(sim.stat("open_sessions"), 1);
}

#[test]
fn login_then_launch_without_a_password_then_logout() {
    let sim = Sim::start();
    let home = Home::new();
    home.run(&sim).args(["login"]).run().success();
    let files: Vec<_> = std::fs::read_dir(home.state_dir().join("sessions"))
        .expect("session dir")
        .collect();
    assert_eq!(files.len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = files[0].as_ref().expect("entry").path();
        assert_eq!(
            std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o600
        );
        let dir = home.state_dir().join("sessions");
        assert_eq!(
            std::fs::metadata(&dir).expect("meta").permissions().mode() & 0o777,
            0o700
        );
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("admin-pass"), "the password is never cached");
    }
    // No password source at all: the cached session is enough.
    let out = home
        .run(&sim)
        .env_remove("DSVIEW_PASSWORD")
        .args(["serial", "console-01", "-n"])
        .run()
        .success();
    sim.assert_single_use(&out.url());
    assert_eq!(sim.stat("logins"), 1);

    home.run(&sim).args(["logout"]).run().success();
    assert_eq!(sim.stat("sessions_deleted"), 1);
    assert_eq!(sim.stat("open_sessions"), 0);
    home.run(&sim)
        .env_remove("DSVIEW_PASSWORD")
        .args(["kvm", "rack-a-01", "-n"])
        .run()
        .code(4);
    // Logging out twice is fine.
    home.run(&sim).args(["logout"]).run().success();
}

#[test]
fn a_rejected_cached_session_logs_in_again_once() {
    let sim = Sim::start();
    let home = Home::new();
    home.run(&sim).args(["login"]).run().success();
    let dir = home.state_dir().join("sessions");
    let path = std::fs::read_dir(&dir)
        .expect("dir")
        .next()
        .expect("one file")
        .expect("entry")
        .path();
    let text = std::fs::read_to_string(&path).expect("read");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    // The appliance ends the session behind the tool's back (a time-out, an administrator).
    sim.end_session(
        v["session_id"].as_str().expect("id"),
        v["token"].as_str().expect("token"),
    );
    let out = home
        .run(&sim)
        .args(["kvm", "rack-a-01", "-n"])
        .run()
        .success();
    sim.assert_single_use(&out.url());
    assert_eq!(sim.stat("logins"), 2);
    // The replacement is cached in turn.
    home.run(&sim)
        .args(["kvm", "rack-a-01", "-n"])
        .run()
        .success();
    assert_eq!(sim.stat("logins"), 2);
}

#[test]
fn no_session_cache_writes_nothing() {
    let sim = Sim::start();
    let home = Home::new();
    for _ in 0..2 {
        home.run(&sim)
            .args(["--no-session-cache", "kvm", "rack-a-01", "-n"])
            .run()
            .success();
    }
    assert_eq!(sim.stat("logins"), 2);
    assert!(
        !home.state_dir().exists(),
        "nothing written to the state directory"
    );
    home.run(&sim)
        .args(["--no-session-cache", "login"])
        .run()
        .code(2);
}

#[cfg(unix)]
#[test]
fn a_loose_session_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let sim = Sim::start();
    let home = Home::new();
    home.run(&sim).args(["login"]).run().success();
    let path = std::fs::read_dir(home.state_dir().join("sessions"))
        .expect("dir")
        .next()
        .expect("file")
        .expect("entry")
        .path();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).expect("chmod");
    home.run(&sim)
        .args(["kvm", "rack-a-01", "-n"])
        .run()
        .code(2)
        .stderr_has("refusing to use");
}

#[test]
fn logout_all_ends_every_cached_session() {
    let a = Sim::start();
    let b = Sim::start();
    let home = Home::new();
    home.run(&a).args(["login"]).run().success();
    home.run(&b).args(["login"]).run().success();
    home.bare()
        .env("DSVIEW_CA_CERT", &a.cert)
        .args(["logout", "--all"])
        .run()
        .success();
    assert_eq!(a.stat("sessions_deleted"), 1);
    // b's certificate is not trusted by this run: its cache is dropped all the same, with a note.
    assert_eq!(b.stat("sessions_deleted"), 0);
    let left = std::fs::read_dir(home.state_dir().join("sessions"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(left, 0);
}
