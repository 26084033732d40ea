//! `devices`: the listing, as TSV when piped and as JSON.

use crate::harness::{Run, Sim};

#[test]
fn piped_listing_is_tab_separated_sorted_and_escaped() {
    let sim = Sim::start();
    let out = Run::new(&sim).args(["devices"]).run().success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 16, "{}", out.stdout);
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l.split('\t').next().unwrap_or(""))
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(lines.contains(&"db-07\tADX-IP-UHD\tserial\t00000000-0000-4000-8000-000000000007"));
    assert!(
        lines.contains(&"uhd-both\tADX-IP-UHD\tkvm,serial\t00000000-0000-4000-8000-000000000005")
    );
    assert!(lines.contains(&"pdu-01\tPDU\t-\t00000000-0000-4000-8000-000000000016"));
    assert!(lines.iter().all(|l| l.split('\t').count() == 4));
    // The session stays cached for the next command...
    assert_eq!(sim.stat("open_sessions"), 1);
    // ...unless nothing may be cached: then the listing ends the session it opened.
    Run::new(&sim)
        .args(["--no-session-cache", "devices"])
        .run()
        .success();
    assert_eq!(sim.stat("open_sessions"), 1);
    assert_eq!(sim.stat("sessions_deleted"), 1);

    let header = Run::new(&sim).args(["devices", "--header"]).run().success();
    assert!(header.stdout.starts_with("NAME\tTYPE\tVIEWERS\tID\n"));
}

#[test]
fn viewer_filter_and_json() {
    let sim = Sim::start();
    let out = Run::new(&sim)
        .args(["devices", "--viewer", "kvm", "--json"])
        .run()
        .success();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON array");
    let arr = v.as_array().expect("array");
    let names: Vec<&str> = arr
        .iter()
        .map(|d| d["name"].as_str().unwrap_or(""))
        .collect();
    assert!(names.contains(&"uhd-both") && names.contains(&"uhd-kvm"));
    assert!(!names.contains(&"db-07"), "db-07 has no KVM path");
    assert!(!names.contains(&"console-01"));
    let both = arr
        .iter()
        .find(|d| d["name"] == "uhd-both")
        .expect("uhd-both");
    assert_eq!(both["viewers"], serde_json::json!(["kvm", "serial"]));
    assert_eq!(both["type"], "ADX-IP-UHD");
    assert_eq!(
        both["connection_paths"],
        serde_json::json!(["DCP_SERIAL_IP", "DCP_KVM_IP"])
    );
    assert_eq!(arr.len(), 9, "{names:?}");
}
