//! Fleets: one lookup across several appliances (`-g GROUP`, `--all`), with partial failures.

use crate::harness::{Home, Sim};

/// A home whose config has one profile per simulator (`a0`, `a1`, ...) in group `dc`, plus
/// extra profile text.
fn fleet_home(sims: &[&Sim], extra: &str) -> Home {
    let home = Home::new();
    let mut text = String::new();
    let mut names = Vec::new();
    for (i, sim) in sims.iter().enumerate() {
        text.push_str(&format!(
            "[profiles.a{i}]\nhost = \"{}\"\nuser = \"admin\"\nca_cert = \"{}\"\n\n",
            sim.host(),
            sim.cert.display().to_string().replace('\\', "\\\\")
        ));
        names.push(format!("\"a{i}\""));
    }
    text.push_str(extra);
    text.push_str(&format!("[groups.dc]\nprofiles = [{}]\n", names.join(", ")));
    home.write_config(&text);
    home
}

fn empty_sim() -> Sim {
    Sim::with_args(&["--no-demo", "--devices", "7"])
}

#[test]
fn found_on_one_appliance_launches_there() {
    let (a, b, c) = (empty_sim(), Sim::start(), empty_sim());
    let home = fleet_home(&[&a, &b, &c], "");
    let out = home
        .bare()
        .env("DSVIEW_PASSWORD", "admin-pass")
        .args(["-g", "dc", "kvm", "rack-a-01", "-n"])
        .run()
        .success();
    let url = out.url();
    assert!(url.contains(&b.host()), "{url}");
    b.assert_single_use(&url);
    for sim in [&a, &b, &c] {
        assert_eq!(sim.stat("logins"), 1, "every appliance was asked");
    }
    assert_eq!(a.stat("tickets_issued") + c.stat("tickets_issued"), 0);
}

#[test]
fn found_on_none_and_on_two() {
    let (a, b) = (Sim::start(), Sim::start());
    let home = fleet_home(&[&a, &b], "");
    home.bare()
        .env("DSVIEW_PASSWORD", "admin-pass")
        .args(["-g", "dc", "kvm", "rack-z-99", "-n"])
        .run()
        .code(3)
        .stderr_has("no device named rack-z-99");
    home.bare()
        .env("DSVIEW_PASSWORD", "admin-pass")
        .args(["-g", "dc", "kvm", "rack-a-02", "-n"])
        .run()
        .code(3)
        .stderr_has("2 devices in the fleet are named rack-a-02")
        .stderr_has("a0  00000000-0000-4000-8000-000000000002")
        .stderr_has("a1  00000000-0000-4000-8000-000000000002")
        .stderr_has("-p a0");
    assert_eq!(a.stat("tickets_issued") + b.stat("tickets_issued"), 0);
}

#[test]
fn one_appliance_down_or_untrusted() {
    let (a, c) = (Sim::start(), empty_sim());
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let untrusted = empty_sim();
    let extra = format!(
        "[profiles.down]\nhost = \"127.0.0.1:{dead}\"\nuser = \"admin\"\n\n\
         [profiles.strange]\nhost = \"{}\"\nuser = \"admin\"\n\n",
        untrusted.host()
    );
    let home = fleet_home(&[&a, &c], &extra);
    // Found although two appliances could not be asked: exit 0, both named on stderr.
    let out = home
        .bare()
        .env("DSVIEW_PASSWORD", "admin-pass")
        .args(["--all", "kvm", "rack-a-01", "-n"])
        .run()
        .success()
        .stderr_has(&format!("down (127.0.0.1:{dead}) could not be asked"))
        .stderr_has("strange")
        .stderr_has("TLS");
    a.assert_single_use(&out.url());
    // Not found, and some could not be asked: exit 6, not 3.
    home.bare()
        .env("DSVIEW_PASSWORD", "admin-pass")
        .args(["--all", "kvm", "nowhere-01", "-n"])
        .run()
        .code(6)
        .stderr_has("could not be asked")
        .stderr_has("nowhere-01 was not found on the 2 appliance(s) that answered")
        .stderr_has("ask again once it is back");
    assert_eq!(
        untrusted.stat("logins"),
        0,
        "no password went to the untrusted appliance"
    );
}

#[test]
fn devices_lists_the_union_with_the_appliance() {
    let (a, b) = (Sim::start(), empty_sim());
    let home = fleet_home(&[&a, &b], "");
    let out = home
        .bare()
        .env("DSVIEW_PASSWORD", "admin-pass")
        .args(["-g", "dc", "devices", "--header"])
        .run()
        .success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "APPLIANCE\tNAME\tTYPE\tVIEWERS\tID");
    assert_eq!(lines.len(), 1 + 16 + 7);
    assert!(lines.contains(&"a0\tdb-07\tADX-IP-UHD\tserial\t00000000-0000-4000-8000-000000000007"));
    assert!(lines.iter().any(|l| l.starts_with("a1\tgen-000001\t")));
    let json = home
        .bare()
        .env("DSVIEW_PASSWORD", "admin-pass")
        .args(["-g", "dc", "devices", "--json", "--name", "gen-*"])
        .run()
        .success();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    let arr = v.as_array().expect("array");
    assert_eq!(arr.len(), 7);
    assert!(arr.iter().all(|d| d["appliance"] == "a1"));
}

#[test]
fn the_index_goes_straight_to_the_appliance_and_survives_staleness() {
    let (a, b, c) = (empty_sim(), Sim::start(), empty_sim());
    let home = fleet_home(&[&a, &b, &c], "");
    // Enable the index for the group.
    let path = home.config_dir().join("config.toml");
    let text = std::fs::read_to_string(&path).expect("config") + "index_max_age = 3600\n";
    home.write_config(&text);
    let launch = |device: &str| {
        home.bare()
            .env("DSVIEW_PASSWORD", "admin-pass")
            .args(["-g", "dc", "kvm", device, "-n"])
            .run()
            .success()
            .url()
    };
    b.assert_single_use(&launch("rack-a-01"));
    let (ra, rc) = (a.stat("requests"), c.stat("requests"));
    b.assert_single_use(&launch("rack-a-01"));
    // Only the stats calls themselves reached the other appliances.
    assert_eq!(a.stat("requests"), ra + 1);
    assert_eq!(c.stat("requests"), rc + 1);

    // A stale entry (pointing at an appliance that lacks the device) never launches there.
    let index = home.state_dir().join("index").join("dc.json");
    let stale = std::fs::read_to_string(&index)
        .expect("index")
        .replace("\"a1\"", "\"a0\"");
    std::fs::write(&index, stale).expect("write");
    b.assert_single_use(&launch("rack-a-01"));
    assert_eq!(a.stat("tickets_issued"), 0);
}

#[test]
fn fleet_usage_errors() {
    let a = Sim::start();
    let home = fleet_home(&[&a], "");
    home.bare()
        .args(["-g", "nope", "kvm", "x"])
        .run()
        .code(2)
        .stderr_has("no group named \"nope\"")
        .stderr_has("dc");
    home.bare()
        .args(["-g", "dc", "--host", "h", "kvm", "x"])
        .run()
        .code(2);
    home.bare().args(["-g", "dc", "login"]).run().code(2);
}

#[test]
fn an_indexed_appliance_that_is_down_counts_as_not_asked() {
    let (a, mut b) = (empty_sim(), Sim::start());
    let home = fleet_home(&[&a, &b], "");
    let path = home.config_dir().join("config.toml");
    let text = std::fs::read_to_string(&path).expect("config") + "index_max_age = 3600\n";
    home.write_config(&text);
    let run = || {
        home.bare()
            .env("DSVIEW_PASSWORD", "admin-pass")
            .args(["-g", "dc", "--timeout", "2", "kvm", "rack-a-01", "-n"])
            .run()
    };
    b.assert_single_use(&run().success().url());
    b.stop();
    run()
        .code(6)
        .stderr_has(&format!("a1 ({}) could not be asked", b.host()));
}
