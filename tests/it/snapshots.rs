//! Snapshots of `--help` for every command and of typical error messages: a change to what
//! users read is a visible diff. Update with `SNAPSHOTS=overwrite cargo test`.

use snapbox::assert_data_eq;

use crate::harness::Run;

fn snapshot(args: &[&str], file: snapbox::Data, code: i32, stream: &str) {
    let out = Run::bare().arg_strs(args).run().code(code);
    let text = if stream == "stdout" {
        out.stdout
    } else {
        out.stderr
    };
    assert_data_eq!(text, file);
}

#[test]
fn help_texts() {
    snapshot(
        &["--help"],
        snapbox::file!["snapshots/help.txt"],
        0,
        "stdout",
    );
    snapshot(
        &["kvm", "--help"],
        snapbox::file!["snapshots/help-kvm.txt"],
        0,
        "stdout",
    );
    snapshot(
        &["serial", "--help"],
        snapbox::file!["snapshots/help-serial.txt"],
        0,
        "stdout",
    );
    snapshot(
        &["vm", "--help"],
        snapbox::file!["snapshots/help-vm.txt"],
        0,
        "stdout",
    );
    snapshot(
        &["devices", "--help"],
        snapbox::file!["snapshots/help-devices.txt"],
        0,
        "stdout",
    );
    snapshot(
        &["check", "--help"],
        snapbox::file!["snapshots/help-check.txt"],
        0,
        "stdout",
    );
    snapshot(
        &["login", "--help"],
        snapbox::file!["snapshots/help-login.txt"],
        0,
        "stdout",
    );
    snapshot(
        &["logout", "--help"],
        snapbox::file!["snapshots/help-logout.txt"],
        0,
        "stdout",
    );
    snapshot(
        &["trust", "--help"],
        snapbox::file!["snapshots/help-trust.txt"],
        0,
        "stdout",
    );
    snapshot(
        &["profile", "--help"],
        snapbox::file!["snapshots/help-profile.txt"],
        0,
        "stdout",
    );
    snapshot(
        &["profile", "add", "--help"],
        snapbox::file!["snapshots/help-profile-add.txt"],
        0,
        "stdout",
    );
    snapshot(
        &["completions", "--help"],
        snapbox::file!["snapshots/help-completions.txt"],
        0,
        "stdout",
    );
}

#[test]
fn error_messages() {
    snapshot(
        &["kvm", "rack-a-01"],
        snapbox::file!["snapshots/err-no-host.txt"],
        2,
        "stderr",
    );
    snapshot(
        &["--host", "http://mp1000", "-u", "admin", "kvm", "rack-a-01"],
        snapbox::file!["snapshots/err-http.txt"],
        2,
        "stderr",
    );
    snapshot(
        &[
            "--host",
            "mp1000",
            "serial",
            "db-07",
            "--sharing-mode",
            "active",
        ],
        snapbox::file!["snapshots/err-kvm-option.txt"],
        2,
        "stderr",
    );
    snapshot(
        &[
            "--host",
            "mp1000",
            "-u",
            "a",
            "--fingerprint",
            "12:34",
            "kvm",
            "x",
        ],
        snapbox::file!["snapshots/err-fingerprint.txt"],
        2,
        "stderr",
    );
    snapshot(
        &["--host", "mp1000", "-u", "admin", "kvm", "rack-a-01"],
        snapbox::file!["snapshots/err-no-password.txt"],
        4,
        "stderr",
    );
    snapshot(
        &["kvm"],
        snapbox::file!["snapshots/err-missing-device.txt"],
        2,
        "stderr",
    );
}
