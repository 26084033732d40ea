//! Property tests: every parser of untrusted text (appliance answers, addresses, fingerprints,
//! config and known-hosts files) returns a value or an error for any input, never a panic.

use std::path::Path;

use proptest::prelude::*;

use dsview_launch::{api, config, known_hosts::KnownHosts, profile, tls::Pin};

/// JSON-ish text: fragments of a device list shuffled with arbitrary strings.
fn jsonish() -> impl Strategy<Value = String> {
    let atoms = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("\"devices\"".to_owned()),
        Just("\"id\"".to_owned()),
        Just("\"device_name\"".to_owned()),
        Just("\"device_type_programmatic_name\"".to_owned()),
        Just("\"connection_path_info\"".to_owned()),
        Just("\"path_type\"".to_owned()),
        Just("null".to_owned()),
        Just("1e999".to_owned()),
        Just("\"\\ud800\"".to_owned()),
        "\"[^\"\\\\]{0,8}\"",
        any::<String>(),
    ];
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn device_lists_never_panic(body in jsonish()) {
        let _ = api::decode_device_list(body.as_bytes(), |d| { let _ = d.to_device(); });
    }

    #[test]
    fn device_lists_from_raw_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = api::decode_device_list(&body, |_| {});
        let _ = api::excerpt(&body);
    }

    #[test]
    fn excerpts_are_bounded_and_safe(text in any::<String>()) {
        let ex = api::excerpt(text.as_bytes());
        prop_assert!(ex.chars().count() <= 161 + 16 * 8);
        prop_assert!(!ex.contains(char::from(0x1b)), "escape in excerpt");
    }

    #[test]
    fn hosts_never_panic(input in any::<String>()) {
        if let Ok(url) = config::parse_host(&input) {
            prop_assert_eq!(url.scheme(), "https");
            let _ = config::host_label(&url);
            let _ = config::host_key(&url);
        }
    }

    #[test]
    fn fingerprints_never_panic(input in any::<String>(), hex in "[0-9a-fA-F:]{0,100}") {
        let _ = Pin::parse(&input);
        let _ = Pin::parse(&hex);
        let _ = Pin::parse(&format!("sha256//{input}"));
    }

    #[test]
    fn config_files_never_panic(text in any::<String>(), keyish in "[a-z_\\[\\]\\.= \"\n0-9]{0,200}") {
        let _ = profile::parse(&text, Path::new("c.toml"));
        let _ = profile::parse(&keyish, Path::new("c.toml"));
    }

    #[test]
    fn known_hosts_never_panic(text in any::<String>()) {
        let _ = KnownHosts::parse(&text, Path::new("known_hosts"));
    }

    #[test]
    fn retry_after_never_panics(text in any::<String>()) {
        let _ = api::parse_retry_after(&text);
    }
}

#[test]
fn a_fingerprint_round_trips() {
    let pin = Pin::parse(&dsview_launch::tls::fingerprint(b"certificate")).expect("parses");
    assert!(matches!(pin, Pin::Certificate(_)));
}
