//! The simulated device inventory: the fixed demo devices plus `--devices N` generated ones, and
//! their JSON form. Generated devices are derived from their index on demand, so even
//! 200 000 of them cost no memory until a response lists them.
//!
//! Demo ids are `00000000-0000-4000-8000-0000000000NN` (NN = 01..16 in table order);
//! generated ids are `00000000-0000-4000-9000-NNNNNNNNNNNN` (N = 1, 2, ... in decimal);
//! the devices some `--fault`s add to the list are `00000000-0000-4000-a000-0000000000NN`.
//! A connection path's id is its device's id with the first group replaced by the path's
//! 1-based position (`00000001-...`).
//!
//! The inventory never changes while the simulator runs, so [`ListCache`] keeps each list body
//! once written: a repeated query is answered at once, as a fast appliance would, and a
//! benchmark measures the client rather than the writing of the JSON.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use hyper::body::Bytes;

/// Device types the simulator knows, with the appliance's programmatic and display names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceType {
    AdxIpIq,
    AdxIpUhd,
    SerialTarget,
    Acs,
    AdxIpSerialPort,
    VsVirtualMachine,
    Pdu,
}

impl DeviceType {
    /// The exact `device_type_programmatic_name`.
    pub fn programmatic_name(self) -> &'static str {
        match self {
            Self::AdxIpIq => "ADX-IP-IQ",
            Self::AdxIpUhd => "ADX-IP-UHD",
            Self::SerialTarget => "SERIAL-TARGET",
            Self::Acs => "ACS",
            Self::AdxIpSerialPort => "ADX-IP-SERIAL-PORT",
            Self::VsVirtualMachine => "VS-VIRTUAL-MACHINE",
            Self::Pdu => "PDU",
        }
    }

    fn display_name(self) -> &'static str {
        match self {
            Self::AdxIpIq => "IPIQ IP KVM",
            Self::AdxIpUhd => "IPUHD 4K IP KVM",
            Self::SerialTarget => "Serial Target",
            Self::Acs => "ACS Advanced Console Server",
            Self::AdxIpSerialPort => "IPSL Serial Port",
            Self::VsVirtualMachine => "Virtual Machine",
            Self::Pdu => "Power Distribution Unit",
        }
    }

    fn firmware(self) -> &'static str {
        match self {
            Self::AdxIpIq => "2.10.0.4",
            Self::AdxIpUhd => "1.8.1.12",
            Self::SerialTarget => "n/a",
            Self::Acs => "3.8.0.9",
            Self::AdxIpSerialPort => "1.3.0.2",
            Self::VsVirtualMachine => "n/a",
            Self::Pdu => "2.4.1.7",
        }
    }
}

/// Connection path types a device can list in `connection_path_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathType {
    KvmIp,
    SerialIp,
}

impl PathType {
    fn name(self) -> &'static str {
        match self {
            Self::KvmIp => "DCP_KVM_IP",
            Self::SerialIp => "DCP_SERIAL_IP",
        }
    }
}

const NO_PATHS: &[PathType] = &[];
const KVM_ONLY: &[PathType] = &[PathType::KvmIp];
const SERIAL_ONLY: &[PathType] = &[PathType::SerialIp];
const SERIAL_THEN_KVM: &[PathType] = &[PathType::SerialIp, PathType::KvmIp];

/// The demo inventory, in id order (the first row gets id ...01).
const DEMO: &[(&str, DeviceType, &[PathType])] = &[
    ("rack-a-01", DeviceType::AdxIpIq, NO_PATHS),
    ("rack-a-02", DeviceType::AdxIpIq, NO_PATHS),
    ("Rack-A-01", DeviceType::AdxIpIq, NO_PATHS),
    ("IPIQ Target Device ", DeviceType::AdxIpIq, NO_PATHS),
    ("uhd-both", DeviceType::AdxIpUhd, SERIAL_THEN_KVM),
    ("uhd-kvm", DeviceType::AdxIpUhd, KVM_ONLY),
    ("db-07", DeviceType::AdxIpUhd, SERIAL_ONLY),
    ("console-01", DeviceType::SerialTarget, NO_PATHS),
    ("acs-01", DeviceType::Acs, NO_PATHS),
    ("ipsl-01", DeviceType::AdxIpSerialPort, NO_PATHS),
    ("vm-web-01", DeviceType::VsVirtualMachine, NO_PATHS),
    ("dup-01", DeviceType::AdxIpIq, NO_PATHS),
    ("dup-01", DeviceType::AdxIpIq, NO_PATHS),
    ("serveur-été-03", DeviceType::AdxIpIq, NO_PATHS),
    ("サーバー-04", DeviceType::SerialTarget, NO_PATHS),
    ("pdu-01", DeviceType::Pdu, NO_PATHS),
];

const DEMO_ID_PREFIX: &str = "00000000-0000-4000-8000-";
const GENERATED_ID_PREFIX: &str = "00000000-0000-4000-9000-";
/// Id prefix of the devices that faults add to the list.
pub const FAULT_ID_PREFIX: &str = "00000000-0000-4000-a000-";

/// Names that `--fault devices=control-names` adds (fault devices 1 to 4, all ADX-IP-IQ):
/// terminal escape sequences, a right-to-left override, a newline and a tab.
const CONTROL_NAMES: [&str; 4] = [
    "\u{1b}[31mred\u{1b}[0m",
    "bidi-\u{202e}fdp.exe",
    "new\nline",
    "tab\there",
];
/// Fault device 5, which `--fault devices=long-name` adds: an ADX-IP-IQ named this many `x`.
pub const LONG_NAME_LEN: usize = 10_000;
const LONG_NAME_NUMBER: usize = CONTROL_NAMES.len() + 1;

/// Generated devices cycle through these types.
const GENERATED_TYPES: [DeviceType; 6] = [
    DeviceType::AdxIpIq,
    DeviceType::AdxIpUhd,
    DeviceType::SerialTarget,
    DeviceType::Acs,
    DeviceType::AdxIpSerialPort,
    DeviceType::VsVirtualMachine,
];

/// Generated ADX-IP-UHD devices cycle through these path lists.
const GENERATED_UHD_PATHS: [&[PathType]; 3] = [KVM_ONLY, SERIAL_ONLY, SERIAL_THEN_KVM];

/// One device, as the appliance would describe it.
#[derive(Debug, Clone)]
pub struct Device {
    pub id: String,
    pub name: String,
    pub kind: DeviceType,
    pub paths: &'static [PathType],
    ip_address: String,
}

impl Device {
    fn demo(number: usize) -> Option<Self> {
        let (name, kind, paths) = *DEMO.get(number.checked_sub(1)?)?;
        Some(Self {
            id: format!("{DEMO_ID_PREFIX}{number:012}"),
            name: name.to_owned(),
            kind,
            paths,
            ip_address: format!("10.0.0.{number}"),
        })
    }

    /// Fault device number `n` (1-based): the control-character names, then the long name.
    fn fault(number: usize) -> Option<Self> {
        let name = match number {
            LONG_NAME_NUMBER => "x".repeat(LONG_NAME_LEN),
            _ => (*CONTROL_NAMES.get(number.checked_sub(1)?)?).to_owned(),
        };
        Some(Self {
            id: format!("{FAULT_ID_PREFIX}{number:012}"),
            name,
            kind: DeviceType::AdxIpIq,
            paths: NO_PATHS,
            ip_address: format!("10.255.0.{number}"),
        })
    }

    /// The devices `--fault devices=control-names` adds.
    pub fn control_names() -> impl Iterator<Item = Self> {
        (1..=CONTROL_NAMES.len()).filter_map(Self::fault)
    }

    /// The device `--fault devices=long-name` adds.
    pub fn long_name() -> Option<Self> {
        Self::fault(LONG_NAME_NUMBER)
    }

    /// Generated device number `n` (1-based).
    fn generated(n: u64) -> Self {
        let index = n - 1;
        let slot = (index % GENERATED_TYPES.len() as u64) as usize;
        let kind = GENERATED_TYPES[slot];
        let paths = if kind == DeviceType::AdxIpUhd {
            let round = (index / GENERATED_TYPES.len() as u64) as usize;
            GENERATED_UHD_PATHS[round % GENERATED_UHD_PATHS.len()]
        } else {
            NO_PATHS
        };
        Self {
            id: format!("{GENERATED_ID_PREFIX}{n:012}"),
            name: format!("gen-{n:06}"),
            kind,
            paths,
            ip_address: format!(
                "10.{}.{}.{}",
                1 + (n >> 16) % 250,
                (n >> 8) & 0xff,
                n & 0xff
            ),
        }
    }

    /// True when `connection_path_info` lists `path` (at any index).
    pub fn has_path(&self, path: PathType) -> bool {
        self.paths.contains(&path)
    }

    /// Appends this device as a JSON object. Written by hand rather than through serde: a
    /// list of 200 000 devices must come out fast even in an unoptimised build.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"id\":");
        json_string(out, &self.id);
        out.extend_from_slice(b",\"device_name\":");
        json_string(out, &self.name);
        out.extend_from_slice(b",\"device_type_programmatic_name\":");
        json_string(out, self.kind.programmatic_name());
        out.extend_from_slice(b",\"device_type_name\":");
        json_string(out, self.kind.display_name());
        out.extend_from_slice(b",\"status\":\"ONLINE\",\"ip_address\":");
        json_string(out, &self.ip_address);
        out.extend_from_slice(b",\"firmware\":{\"version\":");
        json_string(out, self.kind.firmware());
        out.extend_from_slice(b"},\"connection_path_info\":[");
        for (i, path) in self.paths.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"path_type\":");
            json_string(out, path.name());
            out.extend_from_slice(b",\"id\":");
            let path_id = format!("{:08}{}", i + 1, self.id.get(8..).unwrap_or_default());
            json_string(out, &path_id);
            out.extend_from_slice(if i == 0 {
                b",\"is_primary\":true}"
            } else {
                b",\"is_primary\":false}"
            });
        }
        out.extend_from_slice(b"]}");
    }
}

/// Appends `text` as a JSON string literal.
fn json_string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let needs_escape = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
    if text.bytes().any(needs_escape) {
        for b in text.bytes() {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\r' => out.extend_from_slice(b"\\r"),
                0..0x20 => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
                _ => out.push(b),
            }
        }
    } else {
        out.extend_from_slice(text.as_bytes());
    }
    out.push(b'"');
}

/// The whole inventory: demo devices (unless `--no-demo`) then `generated` generated ones.
/// The fault devices are never listed here (the faults add them to an answer), but they can
/// be launched when [`with_fault_devices`](Self::with_fault_devices) says so.
#[derive(Debug, Clone, Copy)]
pub struct Inventory {
    demo: bool,
    generated: u64,
    fault_devices: bool,
}

impl Inventory {
    pub fn new(demo: bool, generated: u32) -> Self {
        Self {
            demo,
            generated: u64::from(generated),
            fault_devices: false,
        }
    }

    /// Whether [`get`](Self::get) knows the fault devices (a fault lists them).
    pub fn with_fault_devices(self, known: bool) -> Self {
        Self {
            fault_devices: known,
            ..self
        }
    }

    /// Number of demo devices served.
    pub fn demo_count(&self) -> usize {
        if self.demo { DEMO.len() } else { 0 }
    }

    /// Number of generated devices served.
    pub fn generated_count(&self) -> u64 {
        self.generated
    }

    /// The device with this exact id, if any.
    pub fn get(&self, id: &str) -> Option<Device> {
        if let Some(number) = id.strip_prefix(DEMO_ID_PREFIX) {
            if !self.demo {
                return None;
            }
            return Device::demo(parse_number(number)?.try_into().ok()?);
        }
        if let Some(number) = id.strip_prefix(FAULT_ID_PREFIX) {
            if !self.fault_devices {
                return None;
            }
            return Device::fault(parse_number(number)?.try_into().ok()?);
        }
        let number = parse_number(id.strip_prefix(GENERATED_ID_PREFIX)?)?;
        (1..=self.generated)
            .contains(&number)
            .then(|| Device::generated(number))
    }

    /// Writes `{"devices":[...]}` with every device, or only those whose programmatic type name
    /// equals `type_name` exactly.
    pub fn write_list(&self, type_name: Option<&str>) -> Vec<u8> {
        let wanted =
            |kind: DeviceType| type_name.is_none_or(|name| kind.programmatic_name() == name);
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(b"{\"devices\":[");
        let mut push = |device: Device| {
            if out.len() > b"{\"devices\":[".len() {
                out.push(b',');
            }
            device.write_json(&mut out);
        };

        if self.demo {
            (1..=DEMO.len())
                .filter_map(Device::demo)
                .filter(|d| wanted(d.kind))
                .for_each(&mut push);
        }
        // Generated device n has type GENERATED_TYPES[(n - 1) % 6]: with a filter, walk only
        // the matching slot; without one, walk them all in order.
        let cycle = GENERATED_TYPES.len() as u64;
        match type_name {
            None => (1..=self.generated)
                .map(Device::generated)
                .for_each(&mut push),
            Some(_) => {
                for slot in (0..cycle).filter(|&slot| wanted(GENERATED_TYPES[slot as usize])) {
                    (slot + 1..=self.generated)
                        .step_by(GENERATED_TYPES.len())
                        .map(Device::generated)
                        .for_each(&mut push);
                }
            }
        }
        out.extend_from_slice(b"]}");
        out
    }
}

/// Device-list bodies already written, per type filter.
#[derive(Debug, Default)]
pub struct ListCache {
    bodies: Mutex<HashMap<Option<String>, Bytes>>,
}

impl ListCache {
    /// Bodies larger than this are written afresh for every query.
    const MAX_BODY: usize = 64 * 1024 * 1024;
    /// Filters beyond this many (any text can be asked for) are not remembered.
    const MAX_ENTRIES: usize = 16;

    /// The list `inventory.write_list(type_name)` writes, from the cache when it was written
    /// before.
    pub fn list(&self, inventory: &Inventory, type_name: Option<&str>) -> Bytes {
        let key = type_name.map(str::to_owned);
        if let Some(body) = self.lock().get(&key) {
            return body.clone();
        }
        let body = Bytes::from(inventory.write_list(type_name));
        let mut bodies = self.lock();
        if body.len() <= Self::MAX_BODY && bodies.len() < Self::MAX_ENTRIES {
            bodies.insert(key, body.clone());
        }
        body
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Option<String>, Bytes>> {
        self.bodies.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Parses the 12-digit decimal tail of a simulator id.
fn parse_number(digits: &str) -> Option<u64> {
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let inventory = Inventory::new(true, 20);
        let first = inventory.get("00000000-0000-4000-8000-000000000001");
        assert_eq!(first.map(|d| d.name), Some("rack-a-01".to_owned()));
        let generated = inventory.get("00000000-0000-4000-9000-000000000020");
        assert_eq!(generated.map(|d| d.name), Some("gen-000020".to_owned()));
        assert!(
            inventory
                .get("00000000-0000-4000-9000-000000000021")
                .is_none()
        );
        assert!(
            inventory
                .get("00000000-0000-4000-8000-000000000017")
                .is_none()
        );
        assert!(
            inventory
                .get("00000000-0000-4000-8000-000000000000")
                .is_none()
        );
    }

    #[test]
    fn fault_devices_launch_only_when_listed() {
        let long = Device::long_name().map(|d| d.id).unwrap_or_default();
        assert!(Inventory::new(true, 0).get(&long).is_none());
        let device = Inventory::new(true, 0).with_fault_devices(true).get(&long);
        assert_eq!(device.map(|d| d.name.len()), Some(LONG_NAME_LEN));
        assert_eq!(Device::control_names().count(), 4);
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut out = Vec::new();
        json_string(&mut out, "a\"b\\c\u{1}é\n");
        assert_eq!(String::from_utf8_lossy(&out), r#""a\"b\\c\u0001é\n""#);
    }

    #[test]
    fn generated_uhd_paths_alternate() {
        let paths: Vec<_> = [2, 8, 14, 20]
            .iter()
            .map(|&n| Device::generated(n).paths)
            .collect();
        assert_eq!(
            paths,
            vec![KVM_ONLY, SERIAL_ONLY, SERIAL_THEN_KVM, KVM_ONLY]
        );
    }

    #[test]
    fn list_cache_answers_a_repeated_query_with_the_same_body() {
        let inventory = Inventory::new(true, 50);
        let cache = ListCache::default();
        let first = cache.list(&inventory, Some("ADX-IP-UHD"));
        assert_eq!(first, inventory.write_list(Some("ADX-IP-UHD")));
        let again = cache.list(&inventory, Some("ADX-IP-UHD"));
        assert_eq!(again.as_ptr(), first.as_ptr(), "served from the cache");
        assert_eq!(cache.list(&inventory, None), inventory.write_list(None));
        for n in 0..2 * ListCache::MAX_ENTRIES {
            cache.list(&inventory, Some(&format!("NO-SUCH-TYPE-{n}")));
        }
        assert_eq!(cache.lock().len(), ListCache::MAX_ENTRIES, "bounded");
    }

    #[test]
    fn filtered_list_holds_only_that_type() {
        let inventory = Inventory::new(true, 12);
        let body = inventory.write_list(Some("ADX-IP-UHD"));
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let names: Vec<&str> = value["devices"]
            .as_array()
            .map(|a| a.iter().filter_map(|d| d["device_name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            names,
            ["uhd-both", "uhd-kvm", "db-07", "gen-000002", "gen-000008"]
        );
    }
}
