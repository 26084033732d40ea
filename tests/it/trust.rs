//! Certificate trust: unknown certificates fail with exit 5 and their fingerprint; `--ca-cert`
//! works with the appliance's own certificate, even a CA:TRUE one; `--insecure` warns.

use crate::harness::{Run, Sim};

#[test]
fn an_untrusted_certificate_exits_5_with_its_fingerprint() {
    let sim = Sim::start();
    Run::new(&sim)
        .env_remove("DSVIEW_CA_CERT")
        .args(["kvm", "rack-a-01", "-n"])
        .run()
        .code(5)
        .stdout_empty()
        .stderr_has("TLS: cannot trust")
        .stderr_has(&sim.fingerprint)
        .stderr_has("--ca-cert")
        .stderr_has("--insecure");
    assert_eq!(
        sim.stat("logins"),
        0,
        "nothing was sent to an untrusted server"
    );
}

#[test]
fn insecure_works_and_always_warns() {
    let sim = Sim::start();
    for extra in [&[][..], &["-q"][..]] {
        let out = Run::new(&sim)
            .env_remove("DSVIEW_CA_CERT")
            .args(["-k", "kvm", "rack-a-01", "-n"])
            .args(extra)
            .run()
            .success()
            .stderr_has("warning: --insecure");
        sim.assert_single_use(&out.url());
    }
}

#[test]
fn a_self_signed_ca_style_certificate_is_trusted_from_its_file() {
    let sim = Sim::with_args(&["--cert-style", "ca"]);
    let out = Run::new(&sim)
        .args(["kvm", "rack-a-01", "-n"])
        .run()
        .success();
    sim.assert_single_use(&out.url());
    // Without the file it is refused, and the message explains the CA-as-end-entity case.
    Run::new(&sim)
        .env_remove("DSVIEW_CA_CERT")
        .args(["kvm", "rack-a-01", "-n"])
        .run()
        .code(5);
}

#[test]
fn a_different_certificate_in_the_file_is_not_trusted() {
    let sim = Sim::start();
    let other = Sim::start();
    Run::new(&sim)
        .env("DSVIEW_CA_CERT", &other.cert)
        .args(["kvm", "rack-a-01", "-n"])
        .run()
        .code(5)
        .stderr_has(&sim.fingerprint);
}
