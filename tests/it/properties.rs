//! Property tests: every parser of untrusted text (appliance answers, addresses, fingerprints,
//! config and known-hosts files) returns a value or an error for any input, never a panic.

use std::path::Path;

use proptest::prelude::*;

use dsview_launch::device_list::{DeviceStream, RawDevice};
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
    fn device_lists_decode_the_same_however_they_are_split(
        body in jsonish(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let collect = |pieces: &[&[u8]]| {
            let mut names = Vec::new();
            let mut stream = DeviceStream::new(1 << 20);
            let mut each = |d: RawDevice<'_>| names.push(d.name.into_owned());
            for piece in pieces {
                if stream.feed(piece, &mut each).is_err() {
                    return None;
                }
            }
            stream.finish().ok().map(|n| (n, names))
        };
        let bytes = body.as_bytes();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut pieces = Vec::new();
        let mut last = 0;
        for p in points {
            pieces.push(&bytes[last..p]);
            last = p;
        }
        pieces.push(&bytes[last..]);
        prop_assert_eq!(collect(&[bytes]), collect(&pieces));
    }

    #[test]
    fn valid_lists_decode_like_serde_json(names in prop::collection::vec(any::<String>(), 0..8)) {
        let devices: Vec<serde_json::Value> = names
            .iter()
            .enumerate()
            .map(|(i, n)| serde_json::json!({
                "id": i.to_string(), "device_name": n, "device_type_programmatic_name": "ACS",
                "extra": {"nested": [n, {"x": "]}"}]}
            }))
            .collect();
        let body = serde_json::json!({"meta": {"n": names}, "devices": devices, "z": null}).to_string();
        let mut got = Vec::new();
        let n = api::decode_device_list(body.as_bytes(), |d| got.push(d.name.into_owned()));
        prop_assert_eq!(n.ok(), Some(names.len()));
        prop_assert_eq!(got, names);
    }

    #[test]
    fn a_wanted_name_is_found_however_the_list_is_split(
        names in prop::collection::vec("[a-z{}\\[\\]\"\\\\ :,]{0,12}", 1..10),
        pick in any::<prop::sample::Index>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let wanted = names[pick.index(names.len())].trim().to_owned();
        let devices: Vec<serde_json::Value> = names
            .iter()
            .enumerate()
            .map(|(i, n)| serde_json::json!({
                "id": format!("id-{i}"), "device_name": n, "device_type_programmatic_name": "ACS",
                "connection_path_info": [{"path_type": "DCP_KVM_IP", "note": n}]
            }))
            .collect();
        let body = serde_json::json!({"devices": devices}).to_string();
        let bytes = body.as_bytes();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        points.push(bytes.len());
        let mut found = Vec::new();
        let mut stream = DeviceStream::new(1 << 20).wanting(Some(&wanted));
        let mut last = 0;
        for p in points {
            stream
                .feed(&bytes[last..p], &mut |d| found.push(d.name.into_owned()))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            last = p;
        }
        prop_assert_eq!(stream.finish().ok(), Some(names.len()));
        let expected: Vec<&String> = names.iter().filter(|n| n.trim() == wanted).collect();
        let got: Vec<&String> = found.iter().filter(|n| n.trim() == wanted).collect();
        prop_assert_eq!(got, expected);
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
