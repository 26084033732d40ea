//! Profiles: the config file, its precedence, `profile add|list|show|remove`, and password
//! sources including `password_command`.

use crate::harness::{Home, Run, Sim};

fn profile_text(sim: &Sim, name: &str, extra: &str) -> String {
    format!(
        "[profiles.{name}]\nhost = \"{}\"\nuser = \"admin\"\nca_cert = \"{}\"\n{extra}",
        sim.host(),
        sim.cert.display().to_string().replace('\\', "\\\\")
    )
}

#[test]
fn precedence_flag_env_profile_default() {
    let sim = Sim::start();
    let home = Home::new();
    // "lab" is the default and points at the simulator; "dead" points at a closed port.
    home.write_config(&format!(
        "# my appliances\ndefault_profile = \"lab\"\n{}\n[profiles.dead]\nhost = \"127.0.0.1:1\"\nuser = \"nobody\"\n",
        profile_text(&sim, "lab", "")
    ));
    let launch = |run: Run| {
        let out = run.args(["kvm", "rack-a-01", "-n"]).run().success();
        sim.assert_single_use(&out.url());
    };
    // The default profile alone is enough.
    launch(home.bare().env("DSVIEW_PASSWORD", "admin-pass"));
    // -p selects a profile; flags override its host.
    launch(
        home.bare()
            .env("DSVIEW_PASSWORD", "admin-pass")
            .args([
                "-p",
                "dead",
                "--host",
                &sim.host(),
                "-u",
                "admin",
                "--ca-cert",
            ])
            .arg_path(&sim.cert),
    );
    // The environment overrides the profile too.
    launch(
        home.bare()
            .env("DSVIEW_PASSWORD", "admin-pass")
            .env("DSVIEW_PROFILE", "dead")
            .env("DSVIEW_HOST", sim.host())
            .env("DSVIEW_USER", "admin")
            .env("DSVIEW_CA_CERT", &sim.cert),
    );
    // And the profile's host is used when nothing overrides it.
    home.bare()
        .env("DSVIEW_PASSWORD", "x")
        .args(["-p", "dead", "kvm", "rack-a-01", "-n"])
        .run()
        .code(6)
        .stderr_has("127.0.0.1:1");
    home.bare()
        .env("DSVIEW_PASSWORD", "x")
        .args(["-p", "nope", "kvm", "rack-a-01", "-n"])
        .run()
        .code(2)
        .stderr_has("no profile named \"nope\"")
        .stderr_has("dead, lab");
}

#[test]
fn without_host_or_profile_the_error_shows_how_to_make_one() {
    Run::bare()
        .args(["kvm", "rack-a-01"])
        .run()
        .code(2)
        .stderr_has("no appliance given")
        .stderr_has("dsview-launch profile add NAME --host HOST -u USER --default");
}

#[cfg(unix)]
#[test]
fn profile_add_list_show_remove_keep_comments_and_permissions() {
    let sim = Sim::start();
    let home = Home::new();
    let path = home.write_config("# keep me\n\n[profiles.old] # old rack\nhost = \"10.0.0.9\"\n");
    let secret_file = home.path().join("pw");
    std::fs::write(&secret_file, "admin-pass\n").expect("password file");
    let password_command = format!("cat '{}'", secret_file.display());
    home.bare()
        // Environment values are not recorded: only what was typed.
        .env("DSVIEW_USER", "from-env")
        .args(["profile", "add", "lab", "--host", &sim.host(), "--ca-cert"])
        .arg_path(&sim.cert)
        .args([
            "--sharing-mode",
            "preempt",
            "--password-command",
            &password_command,
            "--default",
        ])
        .run()
        .success();
    let text = std::fs::read_to_string(&path).expect("config");
    assert!(
        text.contains("# keep me") && text.contains("# old rack"),
        "{text}"
    );
    assert!(!text.contains("from-env"), "{text}");
    assert!(text.contains("default_profile = \"lab\""), "{text}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let list = home.bare().args(["profile", "list"]).run().success();
    assert!(
        list.stdout.contains("* lab\t") && list.stdout.contains("  old\t10.0.0.9"),
        "{}",
        list.stdout
    );
    home.bare()
        .args(["profile", "show", "lab"])
        .run()
        .success()
        .stdout_has("[profiles.lab]")
        .stdout_has("sharing_mode = \"preempt\"");
    // The new profile works, with its password command and sharing mode.
    let out = home
        .bare()
        .args(["-u", "admin", "kvm", "rack-a-01", "-n"])
        .run()
        .success();
    assert!(out.url().contains("sharingMode=PREEMPT"));
    sim.assert_single_use(&out.url());
    home.bare()
        .args(["profile", "remove", "lab"])
        .run()
        .success()
        .stderr_has("was the default profile");
    let text = std::fs::read_to_string(&path).expect("config");
    assert!(
        !text.contains("lab") && text.contains("# keep me"),
        "{text}"
    );
    home.bare().args(["profile", "remove", "lab"]).run().code(2);
    home.bare()
        .args(["profile", "add", "x"])
        .run()
        .code(2)
        .stderr_has("--host");
}

#[test]
fn a_profile_directory_is_created_private() {
    let home = Home::new();
    home.bare()
        .args(["profile", "add", "a", "--host", "mp1000.example.com"])
        .run()
        .success();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.config_dir())
            .expect("dir")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700);
    }
}

#[test]
fn unknown_keys_and_loose_permissions_are_refused() {
    let home = Home::new();
    home.write_config("[profiles.a]\nhost = \"x\"\nhots = \"y\"\n");
    home.bare()
        .args(["-p", "a", "kvm", "d"])
        .run()
        .code(2)
        .stderr_has("hots");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = home.write_config("[profiles.a]\nhost = \"x\"\n");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        home.bare()
            .args(["-p", "a", "kvm", "d"])
            .run()
            .code(2)
            .stderr_has("writable by other users")
            .stderr_has("chmod 600");
    }
}

#[cfg(unix)]
#[test]
fn password_command_success_failure_and_precedence() {
    let sim = Sim::start();
    let home = Home::new();
    let ok = home.path().join("pw-ok");
    let bad = home.path().join("pw-bad");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(&ok, "#!/bin/sh\nprintf 'admin-pass\\nsecond line\\n'\n").expect("script");
        std::fs::write(&bad, "#!/bin/sh\necho 'vault is locked' >&2\nexit 3\n").expect("script");
        for p in [&ok, &bad] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }
    home.write_config(&format!(
        "{}\npassword_command = [\"{}\"]\n{}\npassword_command = \"{} --flag\"\n",
        profile_text(&sim, "good", ""),
        ok.display(),
        profile_text(&sim, "locked", ""),
        bad.display()
    ));
    let out = home
        .bare()
        .args(["-p", "good", "--no-session-cache", "kvm", "rack-a-01", "-n"])
        .run()
        .success();
    sim.assert_single_use(&out.url());
    home.bare()
        .args([
            "-p",
            "locked",
            "--no-session-cache",
            "kvm",
            "rack-a-01",
            "-n",
        ])
        .run()
        .code(4)
        .stderr_has("password_command")
        .stderr_has("vault is locked");
    // DSVIEW_PASSWORD comes before the command, and --password-stdin before both.
    home.bare()
        .env("DSVIEW_PASSWORD", "admin-pass")
        .args([
            "-p",
            "locked",
            "--no-session-cache",
            "kvm",
            "rack-a-01",
            "-n",
        ])
        .run()
        .success();
    home.bare()
        .env("DSVIEW_PASSWORD", "wrong")
        .args([
            "-p",
            "locked",
            "--no-session-cache",
            "--password-stdin",
            "kvm",
            "rack-a-01",
            "-n",
        ])
        .stdin("admin-pass\n")
        .run()
        .success();
    assert_eq!(
        sim.stat("logins"),
        3,
        "the failing command never reached the appliance"
    );
}
