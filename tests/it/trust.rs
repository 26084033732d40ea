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

mod pinning {
    use crate::harness::{Home, Run, Sim};

    fn fp_hex(sim: &Sim) -> String {
        sim.fingerprint
            .strip_prefix("SHA256 ")
            .expect("openssl form")
            .to_owned()
    }

    #[test]
    fn a_fingerprint_pin_accepts_exactly_that_certificate() {
        let sim = Sim::start();
        for form in [
            fp_hex(&sim),
            fp_hex(&sim).replace(':', "").to_lowercase(),
            sim.fingerprint.clone(),
        ] {
            let out = Run::new(&sim)
                .env_remove("DSVIEW_CA_CERT")
                .args(["--fingerprint", &form, "kvm", "rack-a-01", "-n"])
                .run()
                .success();
            sim.assert_single_use(&out.url());
        }
        let other = Sim::start();
        Run::new(&sim)
            .env_remove("DSVIEW_CA_CERT")
            .env("DSVIEW_FINGERPRINT", fp_hex(&other))
            .args(["kvm", "rack-a-01", "-n"])
            .run()
            .code(5)
            .stderr_has("does not match the pinned fingerprint")
            .stderr_has(&sim.fingerprint);
        // A pin is exact: a trusted CA file does not override a wrong pin.
        Run::new(&sim)
            .env("DSVIEW_FINGERPRINT", fp_hex(&other))
            .args(["kvm", "rack-a-01", "-n"])
            .run()
            .code(5);
        assert_eq!(
            sim.stat("logins"),
            3,
            "no request after a refused certificate"
        );
    }

    #[test]
    fn a_public_key_pin_works() {
        use base64::Engine as _;
        let sim = Sim::start();
        let pem = std::fs::read(&sim.cert).expect("pem");
        let der = rustls_pki_types_der(&pem);
        let spki = dsview_launch::cert::spki_der(&der).expect("spki");
        let digest = ring::digest::digest(&ring::digest::SHA256, &spki);
        let pin = format!(
            "sha256//{}",
            base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
        );
        let out = Run::new(&sim)
            .env_remove("DSVIEW_CA_CERT")
            .args(["--fingerprint", &pin, "kvm", "rack-a-01", "-n"])
            .run()
            .success();
        sim.assert_single_use(&out.url());
    }

    fn rustls_pki_types_der(pem: &[u8]) -> Vec<u8> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        CertificateDer::from_pem_slice(pem)
            .expect("pem cert")
            .to_vec()
    }

    #[test]
    fn trust_records_the_certificate_and_a_change_fails_loudly() {
        let sim = Sim::start();
        let home = Home::new();
        // Without a terminal, an unknown certificate says how to trust it.
        home.run(&sim)
            .env_remove("DSVIEW_CA_CERT")
            .args(["kvm", "rack-a-01", "-n"])
            .run()
            .code(5)
            .stderr_has(&format!("dsview-launch trust {}", sim.host()));
        home.run(&sim)
            .env_remove("DSVIEW_CA_CERT")
            .args(["trust"])
            .run()
            .code(2)
            .stderr_has("--yes");
        home.run(&sim)
            .env_remove("DSVIEW_CA_CERT")
            .args(["trust", "--yes"])
            .run()
            .success()
            .stderr_has("subject:")
            .stderr_has("dsview-sim")
            .stderr_has(&sim.fingerprint)
            .stderr_has("Recorded");
        let out = home
            .run(&sim)
            .env_remove("DSVIEW_CA_CERT")
            .args(["kvm", "rack-a-01", "-n"])
            .run()
            .success();
        sim.assert_single_use(&out.url());

        // Another certificate on the same host and port: replace the recorded digest.
        let known = home.config_dir().join("known_hosts");
        let text = std::fs::read_to_string(&known).expect("known_hosts");
        let changed: String = text
            .lines()
            .map(|l| {
                if l.starts_with('#') {
                    l.to_owned()
                } else {
                    format!(
                        "{} SHA256:{}",
                        l.split(' ').next().unwrap_or(""),
                        "ab".repeat(32)
                    )
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&known, changed).expect("write");
        let logins = sim.stat("logins");
        home.run(&sim)
            .args(["kvm", "rack-a-01", "-n"])
            .run()
            .code(5)
            .stderr_has("HAS CHANGED")
            .stderr_has(&format!("SHA256 {}", ["AB"; 32].join(":")))
            .stderr_has(&sim.fingerprint)
            .stderr_has("dsview-launch trust");
        assert_eq!(
            sim.stat("logins"),
            logins,
            "nothing sent after a changed certificate"
        );
    }
}

/// On a terminal, a first contact asks like ssh and remembers the answer. `script` (util-linux)
/// gives the run a pseudo-terminal.
#[cfg(target_os = "linux")]
#[test]
fn on_a_terminal_an_unknown_certificate_is_asked_about() {
    use std::io::Write;
    use std::process::Stdio;
    let sim = Sim::start();
    let home = tempfile::TempDir::new().expect("home");
    if crate::harness::on_a_terminal(&sim, home.path(), "--version").is_none() {
        return;
    }
    let ask = |answer: &str| {
        let mut child = crate::harness::on_a_terminal(&sim, home.path(), "kvm rack-a-01 -n")
            .expect("script is installed")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(answer.as_bytes())
            .expect("answer");
        let out = child.wait_with_output().expect("wait");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let known = home.path().join(".config/dsview-launch/known_hosts");
    let (code, screen) = ask("n\n");
    assert_eq!(code, Some(5), "{screen}");
    assert!(screen.contains("Trust this certificate"), "{screen}");
    assert!(screen.contains(&sim.fingerprint), "{screen}");
    assert!(!known.exists(), "nothing recorded after no");
    let (code, screen) = ask("y\n");
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("viewerType=KVM"), "{screen}");
    assert!(
        std::fs::read_to_string(&known)
            .expect("recorded")
            .contains(&sim.host())
    );
    // Known now: no question.
    let (code, screen) = ask("");
    assert_eq!(code, Some(0), "{screen}");
    assert!(!screen.contains("Trust this certificate"), "{screen}");
}
