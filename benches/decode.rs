//! Throughput of the streaming device-list decoder, the launcher's hot loop with a large
//! inventory: `cargo bench --bench decode [-- DEVICES]`.
//!
//! The body has the simulator's record shape (IPUHD devices with two connection paths, the
//! largest records it serves) and arrives in 16 KiB pieces, as TLS records hand it over. Two
//! passes are timed: a launch's (one wanted name, other records skipped undecoded) and a
//! listing's (every record decoded).

use std::hint::black_box;
use std::time::{Duration, Instant};

use dsview_launch::device_list::DeviceStream;

fn body(devices: usize) -> Vec<u8> {
    let mut out = b"{\"devices\":[".to_vec();
    for n in 1..=devices {
        if n > 1 {
            out.push(b',');
        }
        let id = format!("00000000-0000-4000-8000-{n:012}");
        out.extend_from_slice(
            format!(
                "{{\"id\":\"{id}\",\"device_name\":\"gen-{n:06}\",\
                 \"device_type_programmatic_name\":\"ADX-IP-UHD\",\
                 \"device_type_name\":\"IPUHD 4K IP KVM\",\"status\":\"ONLINE\",\
                 \"ip_address\":\"10.1.{}.{}\",\"firmware\":{{\"version\":\"1.8.1.12\"}},\
                 \"connection_path_info\":[\
                 {{\"path_type\":\"DCP_SERIAL_IP\",\"id\":\"00000001-{tail}\",\"is_primary\":true}},\
                 {{\"path_type\":\"DCP_KVM_IP\",\"id\":\"00000002-{tail}\",\"is_primary\":false}}]}}",
                (n >> 8) & 0xff,
                n & 0xff,
                tail = &id[9..],
            )
            .as_bytes(),
        );
    }
    out.extend_from_slice(b"]}");
    out
}

/// Decodes `body` in 16 KiB pieces; returns (records seen, records decoded).
fn decode(body: &[u8], wanted: Option<&str>) -> (usize, usize) {
    let mut decoded = 0;
    let mut stream = DeviceStream::new(body.len()).wanting(wanted);
    for piece in body.chunks(16 * 1024) {
        stream
            .feed(piece, &mut |d| {
                black_box(&d);
                decoded += 1;
            })
            .expect("the generated body decodes");
    }
    (
        stream.finish().expect("the generated body ends well"),
        decoded,
    )
}

fn time(label: &str, body: &[u8], wanted: Option<&str>) {
    let (records, decoded) = decode(body, wanted);
    let mut runs = 0u32;
    let mut best = Duration::MAX;
    let started = Instant::now();
    while runs < 5 || started.elapsed() < Duration::from_secs(2) {
        let t = Instant::now();
        black_box(decode(black_box(body), wanted));
        best = best.min(t.elapsed());
        runs += 1;
    }
    let secs = best.as_secs_f64();
    println!(
        "{label:<34} {:>8.3} ms  {:>7.0} MB/s  {:>6.1} ns/record  ({records} records, {decoded} decoded, best of {runs})",
        secs * 1e3,
        body.len() as f64 / secs / 1e6,
        secs * 1e9 / records as f64,
    );
}

fn main() {
    let devices = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000);
    let body = body(devices);
    println!(
        "device list: {devices} records, {:.2} MB",
        body.len() as f64 / 1e6
    );
    time("launch (one name wanted)", &body, Some("gen-004321"));
    time("listing (every record decoded)", &body, None);
}
