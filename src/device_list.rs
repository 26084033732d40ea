//! Decoding the appliance's device list, `{"devices": [{...}, ...], ...}`, as it streams in.
//!
//! [`DeviceStream`] scans the body chunk by chunk, tracking only nesting and strings, and hands
//! each complete device object to serde_json as one small slice (borrowed straight from the
//! network chunk when it lies within one). Nothing of the list is kept: memory does not grow
//! with the inventory, and decoding overlaps the download. The fields the flow needs are
//! required; everything else is skipped. Keys besides `devices` are skipped unchecked.
//!
//! Inside a device object the scan goes eight bytes at a time (`DeviceStream::scan_element`),
//! and a launch, which wants one name or id, decodes only the objects that contain it (or an
//! escape sequence, which could spell it differently).

use std::borrow::Cow;

use serde::Deserialize;

use crate::device::Device;
use crate::error::{Error, Result};

/// A device as decoded from the list, borrowing from the body where it can.
#[derive(Debug, Deserialize)]
pub struct RawDevice<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow, rename = "device_name")]
    pub name: Cow<'a, str>,
    #[serde(borrow, rename = "device_type_programmatic_name")]
    pub device_type: Cow<'a, str>,
    #[serde(default, borrow)]
    connection_path_info: Option<Vec<RawPath<'a>>>,
}

#[derive(Debug, Deserialize)]
struct RawPath<'a> {
    #[serde(default, borrow)]
    path_type: Option<Cow<'a, str>>,
}

impl RawDevice<'_> {
    pub fn path_types(&self) -> impl Iterator<Item = &str> {
        self.connection_path_info
            .iter()
            .flatten()
            .filter_map(|p| p.path_type.as_deref())
    }

    pub fn to_device(&self) -> Device {
        Device {
            id: self.id.clone().into_owned(),
            name: self.name.clone().into_owned(),
            device_type: self.device_type.clone().into_owned(),
            path_types: self.path_types().map(str::to_owned).collect(),
        }
    }
}

const STEP: &str = "the device list";

fn bad(detail: impl AsRef<str>) -> Error {
    Error::UnexpectedResponse {
        step: STEP,
        detail: format!(
            "the body is not the documented device list: {}",
            detail.as_ref()
        ),
    }
}

/// Where the scanner is in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Before the top-level `{`.
    Start,
    /// Inside the top-level object, expecting a key (or `}`).
    Key,
    /// After a key, expecting `:`.
    Colon,
    /// After `:`, expecting a value.
    Value,
    /// Skipping a value other than the device array.
    Skip,
    /// Inside the device array, between elements.
    Array,
    /// Inside one device object.
    Element,
    /// After a value in the top-level object, expecting `,` or `}`.
    AfterValue,
    /// After the top-level `}`.
    End,
}

/// Word-at-a-time byte search (SWAR): in the result, the high bit of each byte of `word` that
/// equals `byte` is set, and nothing else (exact: no false positives from borrows).
fn bytes_equal(word: u64, byte: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = word ^ (u64::from(byte) * 0x0101_0101_0101_0101);
    !(((x & LOW7) + LOW7) | x) & !LOW7
}

/// For each byte's high bit: the parity of the marked bytes up to and including it.
fn prefix_parity(marks: u64) -> u64 {
    let mut p = marks ^ (marks << 8);
    p ^= p << 16;
    p ^ (p << 32)
}

/// Splits a device list into device objects as its bytes arrive.
#[derive(Debug)]
pub struct DeviceStream {
    place: Place,
    /// Nesting depth within a skipped value or a device object.
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// Whether the string being scanned is a top-level key.
    in_key: bool,
    key: Vec<u8>,
    /// The key whose value comes next.
    current_key: Vec<u8>,
    /// Bytes of a device object that started in an earlier chunk.
    carry: Vec<u8>,
    max_element: usize,
    saw_devices: bool,
    count: usize,
    paging_hint: Option<String>,
    /// Whether a scalar value is being skipped (it ends at `,` or `}` at depth 0).
    skipping_scalar: bool,
    /// Text every wanted device's JSON must contain, when only one name or id is wanted.
    needle: Option<memchr::memmem::Finder<'static>>,
    /// Whether the current device object holds a backslash (then the needle proves nothing:
    /// the name may be written with `\u` escapes).
    element_escaped: bool,
}

/// Keys that suggest the list is paginated.
const PAGING_KEYS: [&str; 10] = [
    "next",
    "next_page",
    "nextPage",
    "links",
    "_links",
    "page",
    "total",
    "total_count",
    "totalCount",
    "cursor",
];

impl DeviceStream {
    /// A stream whose device objects may each be at most `max_element` bytes.
    pub fn new(max_element: usize) -> DeviceStream {
        DeviceStream {
            place: Place::Start,
            depth: 0,
            in_string: false,
            escaped: false,
            in_key: false,
            key: Vec::new(),
            current_key: Vec::new(),
            carry: Vec::new(),
            max_element,
            saw_devices: false,
            count: 0,
            paging_hint: None,
            skipping_scalar: false,
            needle: None,
            element_escaped: false,
        }
    }

    /// Only devices whose name or id could be `wanted` matter: others may be skipped without
    /// decoding them (they are still counted).
    pub fn wanting(mut self, wanted: Option<&str>) -> DeviceStream {
        self.needle = wanted
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(|w| memchr::memmem::Finder::new(w.as_bytes()).into_owned());
        self
    }

    /// Decode one complete device object.
    fn emit(&mut self, bytes: &[u8], each: &mut dyn FnMut(RawDevice<'_>)) -> Result<()> {
        // An object with an escape sequence is always decoded: the name may be written with
        // `\u` escapes, which the needle cannot see through.
        if let Some(needle) = &self.needle
            && !self.element_escaped
            && needle.find(bytes).is_none()
        {
            self.count += 1;
            return Ok(());
        }
        let text: Cow<'_, str> = match std::str::from_utf8(bytes) {
            Ok(s) => Cow::Borrowed(s),
            // Firmware has been seen to send invalid UTF-8 in names: replace, do not fail.
            Err(_) => Cow::Owned(String::from_utf8_lossy(bytes).into_owned()),
        };
        let device: RawDevice<'_> = serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "device #{} is not the documented shape ({e})",
                self.count + 1
            ))
        })?;
        each(device);
        self.count += 1;
        Ok(())
    }

    /// Scans a device object from `i` to the brace that closes it: that brace's index, or
    /// `None` when the chunk ends first (the state carries over to the next chunk). Only braces
    /// decide where the object ends: brackets inside it balance, or serde_json rejects it.
    ///
    /// Eight bytes at a time: whether each byte lies in a string follows from the parity of
    /// the quotes before it, so only braces outside strings are looked at one by one. A word
    /// with a backslash (rare in device lists) is scanned byte by byte up to the escaped byte.
    fn scan_element(&mut self, chunk: &[u8], mut i: usize) -> Option<usize> {
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let mut depth = self.depth;
        let mut in_string = self.in_string;
        let mut escaped = self.escaped;
        // Bytes up to this index are scanned one by one.
        let mut slow_until = 0;
        let end = loop {
            if i >= slow_until
                && !escaped
                && let Some(bytes) = chunk.get(i..i + 8)
            {
                let mut eight = [0u8; 8];
                eight.copy_from_slice(bytes);
                let word = u64::from_le_bytes(eight);
                let backslashes = bytes_equal(word, b'\\');
                if backslashes != 0 {
                    self.element_escaped = true;
                    slow_until = i + (backslashes.trailing_zeros() as usize) / 8 + 2;
                    continue;
                }
                let mut inside = prefix_parity(bytes_equal(word, b'"'));
                if in_string {
                    inside ^= HIGH;
                }
                let opens = bytes_equal(word, b'{') & !inside;
                let mut braces = (opens | bytes_equal(word, b'}')) & !inside;
                while braces != 0 {
                    let bit = braces.trailing_zeros();
                    if opens & (1 << bit) != 0 {
                        depth += 1;
                    } else {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    braces &= braces - 1;
                }
                if depth == 0 {
                    break Some(i + (braces.trailing_zeros() as usize) / 8);
                }
                in_string = inside & (1 << 63) != 0;
                i += 8;
                continue;
            }
            let Some(&b) = chunk.get(i) else {
                break None;
            };
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                    self.element_escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
            } else if b == b'"' {
                in_string = true;
            } else if b == b'{' {
                depth += 1;
            } else if b == b'}' {
                depth -= 1;
                if depth == 0 {
                    break Some(i);
                }
            }
            i += 1;
        };
        self.depth = depth;
        // The closing brace lies outside any string.
        self.in_string = in_string && end.is_none();
        self.escaped = escaped;
        end
    }

    /// Scan one chunk, handing every device object that completes in it to `each`.
    pub fn feed(&mut self, chunk: &[u8], each: &mut dyn FnMut(RawDevice<'_>)) -> Result<()> {
        // Start of the device object within this chunk, when it started here.
        let mut element_start: Option<usize> = None;
        let mut i = 0;
        while i < chunk.len() {
            // Most bytes lie inside device objects: a tight loop finds where one ends.
            if self.place == Place::Element {
                let Some(end) = self.scan_element(chunk, i) else {
                    break;
                };
                self.place = Place::Array;
                match element_start.take() {
                    Some(start) if self.carry.is_empty() => self.emit(&chunk[start..=end], each)?,
                    _ => {
                        let mut whole = std::mem::take(&mut self.carry);
                        whole.extend_from_slice(&chunk[..=end]);
                        self.emit(&whole, each)?;
                        whole.clear();
                        self.carry = whole;
                    }
                }
                i = end + 1;
                continue;
            }
            // Strings of skipped values: jump to the next byte that matters.
            if self.in_string && !self.escaped && !self.in_key {
                match memchr::memchr2(b'"', b'\\', &chunk[i..]) {
                    Some(k) => i += k,
                    None => break,
                }
            }
            let b = chunk[i];
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                    if self.in_key {
                        self.in_key = false;
                        self.place = Place::Colon;
                    } else if self.place == Place::Skip && self.depth == 0 {
                        self.place = Place::AfterValue;
                    }
                } else if self.in_key && self.key.len() < 64 {
                    self.key.push(b);
                }
                i += 1;
                continue;
            }
            if b.is_ascii_whitespace() {
                if self.place == Place::Skip && self.skipping_scalar && self.depth == 0 {
                    self.skipping_scalar = false;
                    self.place = Place::AfterValue;
                }
                i += 1;
                continue;
            }
            match self.place {
                Place::Start => {
                    if b != b'{' {
                        return Err(bad(
                            "the body is not a JSON object with a \"devices\" array",
                        ));
                    }
                    self.place = Place::Key;
                }
                Place::Key => match b {
                    b'"' => {
                        self.in_string = true;
                        self.in_key = true;
                        self.key.clear();
                    }
                    b'}' => self.place = Place::End,
                    _ => return Err(bad("it is not valid JSON (expected a key)")),
                },
                Place::Colon => {
                    if b != b':' {
                        return Err(bad("it is not valid JSON (expected `:`)"));
                    }
                    self.current_key = std::mem::take(&mut self.key);
                    self.place = Place::Value;
                }
                Place::Value => {
                    if self.current_key == b"devices" {
                        if self.saw_devices {
                            return Err(bad("it has two \"devices\" arrays"));
                        }
                        if b != b'[' {
                            return Err(bad("\"devices\" is not an array"));
                        }
                        self.saw_devices = true;
                        self.place = Place::Array;
                    } else {
                        let key = String::from_utf8_lossy(&self.current_key).into_owned();
                        if PAGING_KEYS.contains(&key.as_str()) {
                            self.paging_hint = Some(key);
                        }
                        self.place = Place::Skip;
                        self.depth = 0;
                        match b {
                            b'{' | b'[' => self.depth = 1,
                            b'"' => self.in_string = true,
                            b'}' | b']' | b',' | b':' => {
                                return Err(bad("it is not valid JSON (expected a value)"));
                            }
                            _ => self.skipping_scalar = true,
                        }
                    }
                }
                Place::Skip => {
                    if self.skipping_scalar {
                        match b {
                            b',' => {
                                self.skipping_scalar = false;
                                self.place = Place::Key;
                            }
                            b'}' => {
                                self.skipping_scalar = false;
                                self.place = Place::End;
                            }
                            b'{' | b'[' | b'"' | b']' | b':' => {
                                return Err(bad("it is not valid JSON"));
                            }
                            _ => {}
                        }
                    } else {
                        match b {
                            b'{' | b'[' => self.depth += 1,
                            b'}' | b']' => {
                                self.depth -= 1;
                                if self.depth == 0 {
                                    self.place = Place::AfterValue;
                                }
                            }
                            b'"' => self.in_string = true,
                            _ => {}
                        }
                    }
                }
                Place::Array => match b {
                    b'{' => {
                        self.place = Place::Element;
                        self.depth = 1;
                        element_start = Some(i);
                        self.carry.clear();
                        self.element_escaped = false;
                    }
                    b',' => {}
                    b']' => self.place = Place::AfterValue,
                    _ => return Err(bad(format!("device #{} is not an object", self.count + 1))),
                },
                Place::Element => unreachable!("device objects are scanned above"),
                Place::AfterValue => match b {
                    b',' => self.place = Place::Key,
                    b'}' => self.place = Place::End,
                    _ => return Err(bad("it is not valid JSON (expected `,` or `}`)")),
                },
                Place::End => return Err(bad("it has trailing data after the JSON object")),
            }
            i += 1;
        }
        // A device object that goes on in the next chunk: keep what arrived of it.
        if self.place == Place::Element {
            let start = element_start.unwrap_or(0);
            if self.carry.len() + (chunk.len() - start) > self.max_element {
                return Err(bad("a device object is larger than the body cap"));
            }
            self.carry.extend_from_slice(&chunk[start..]);
        }
        Ok(())
    }

    /// The end of the body: the number of devices, or why the body was not a device list.
    pub fn finish(self) -> Result<usize> {
        if self.place != Place::End || self.in_string {
            return Err(bad(if self.place == Place::Start {
                "it is empty or not JSON".to_owned()
            } else {
                "it ends in the middle of the JSON (truncated?)".to_owned()
            }));
        }
        if !self.saw_devices {
            return Err(bad("it has no \"devices\" array"));
        }
        if let Some(key) = self.paging_hint {
            crate::diag::verbose(
                1,
                format!(
                    "the device list carries a {key:?} field: it may be paginated; only this page was read"
                ),
            );
        }
        Ok(self.count)
    }
}

/// Decode a whole device-list body, calling `each` for every device.
pub fn decode(body: &[u8], mut each: impl FnMut(RawDevice<'_>)) -> Result<usize> {
    let mut stream = DeviceStream::new(body.len());
    stream.feed(body, &mut each)?;
    stream.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(body: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        decode(body.as_bytes(), |d| out.push(d.name.into_owned())).map(|_| out)
    }

    /// The same body in every two-way split gives the same devices.
    fn split_everywhere(body: &str) {
        let whole = names(body).ok();
        for cut in 0..=body.len() {
            let mut out = Vec::new();
            let mut s = DeviceStream::new(1 << 20);
            let mut each = |d: RawDevice<'_>| out.push(d.name.into_owned());
            let r = s
                .feed(&body.as_bytes()[..cut], &mut each)
                .and_then(|()| s.feed(&body.as_bytes()[cut..], &mut each));
            let got = r.and_then(|()| s.finish()).ok().map(|_| out);
            assert_eq!(got, whole, "cut at {cut} of {body:?}");
        }
    }

    #[test]
    fn decodes_and_skips_other_keys() {
        let body = r#" { "total": 2, "meta": {"a": [1, {"b": "}"}]}, "devices": [
            {"id": "1", "device_name": "IPIQ Target Device ", "device_type_programmatic_name": "ADX-IP-IQ", "x": {"y": "]"}},
            {"id": "2", "device_name": "uhd \"q\"", "device_type_programmatic_name": "ADX-IP-UHD",
             "connection_path_info": [{"path_type": "DCP_SERIAL_IP"}, {"id": 3}, {"path_type": "DCP_KVM_IP"}]}
        ], "flag": true, "n": null } "#;
        assert_eq!(
            names(body).expect("decodes"),
            ["IPIQ Target Device ", "uhd \"q\""]
        );
        split_everywhere(body);
        let mut paths = Vec::new();
        decode(body.as_bytes(), |d| paths.push(d.to_device().path_types)).expect("decodes");
        assert_eq!(paths[1], ["DCP_SERIAL_IP", "DCP_KVM_IP"]);
    }

    #[test]
    fn shape_errors() {
        for body in [
            "",
            "{}",
            "[]",
            "{\"devices\": {}}",
            "{\"devices\": null}",
            "{\"devices\": [1]}",
            "{\"devices\": [{\"id\": 1}]}",
            "{\"devices\": [{\"id\": \"1\"",
            "{\"devices\": []} trailing",
            "{\"devices\": [], \"devices\": []}",
            "{\"data\": {\"devices\": []}}",
            "not json",
            "{\"devices\": [] \"x\": 1}",
        ] {
            let err = names(body).expect_err(body);
            assert_eq!(err.exit_code(), 7, "{body}");
            split_everywhere(body);
        }
    }

    #[test]
    fn a_wanted_name_skips_only_devices_that_cannot_match() {
        let body = r#"{"devices":[
            {"id":"1","device_name":"rack-a-01","device_type_programmatic_name":"ADX-IP-IQ"},
            {"id":"2","device_name":"serveur-\u00e9t\u00e9-03","device_type_programmatic_name":"ADX-IP-IQ"},
            {"id":"3","device_name":"other","device_type_programmatic_name":"ADX-IP-IQ"},
            {"id":"rack-a-01-id","device_name":"x","device_type_programmatic_name":"ADX-IP-IQ"}
        ]}"#;
        let wanted = |w: &str| {
            let mut seen = Vec::new();
            let mut s = DeviceStream::new(1 << 20).wanting(Some(w));
            s.feed(body.as_bytes(), &mut |d| seen.push(d.id.into_owned()))
                .expect("feeds");
            assert_eq!(s.finish().expect("finishes"), 4, "all counted");
            seen
        };
        // Escaped objects are always decoded: the needle cannot see through escapes.
        assert_eq!(wanted(" rack-a-01 "), ["1", "2", "rack-a-01-id"]);
        assert_eq!(wanted("serveur-été-03"), ["2"]);
        assert_eq!(wanted("3"), ["2", "3"]);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut body = br#"{"devices":[{"id":"1","device_name":"a"#.to_vec();
        body.extend_from_slice(&[0xff, 0xfe]);
        body.extend_from_slice(br#"","device_type_programmatic_name":"ACS"}]}"#);
        let mut out = Vec::new();
        decode(&body, |d| out.push(d.name.into_owned())).expect("lossy");
        assert_eq!(out, ["a\u{fffd}\u{fffd}"]);
    }
}
