//! Everything written to stdout: the launch URL, the launch JSON object, and the device list as
//! a table (terminal), tab-separated lines (pipe) or JSON. A closed pipe ends output quietly.

use std::io::{self, IsTerminal, Write};
use std::time::SystemTime;

use serde::Serialize;
use unicode_width::UnicodeWidthStr;

use crate::device::Device;
use crate::error::{Error, Result};
use crate::sanitize::terminal_safe;
use crate::viewer::Viewer;

/// Write to stdout; a broken pipe (`| head`) is not an error.
pub fn write_stdout(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::Internal(format!(
            "cannot write to standard output: {e}"
        ))),
    }
}

#[derive(Serialize)]
struct LaunchJson<'a> {
    url: &'a str,
    viewer: Viewer,
    device: DeviceRef<'a>,
    ticket_expires_at: String,
}

#[derive(Serialize)]
struct DeviceRef<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    device_type: &'a str,
}

/// The one JSON object `--json` prints for a launch.
pub fn launch_json(url: &str, viewer: Viewer, device: &Device, expires_at: SystemTime) -> String {
    let value = LaunchJson {
        url,
        viewer,
        device: DeviceRef {
            id: &device.id,
            name: &device.name,
            device_type: &device.device_type,
        },
        ticket_expires_at: humantime::format_rfc3339_seconds(expires_at).to_string(),
    };
    // Serializing plain strings cannot fail.
    serde_json::to_string(&value).unwrap_or_default()
}

#[derive(Serialize)]
struct DeviceJson<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    device_type: &'a str,
    viewers: Vec<Viewer>,
    connection_paths: &'a [String],
}

/// The device list in the form the destination wants. `devices` must be sorted already.
pub fn device_list(devices: &[Device], json: bool, header: bool) -> String {
    if json {
        let rows: Vec<DeviceJson<'_>> = devices
            .iter()
            .map(|d| DeviceJson {
                id: &d.id,
                name: &d.name,
                device_type: &d.device_type,
                viewers: d.viewers(),
                connection_paths: &d.path_types,
            })
            .collect();
        let mut s = serde_json::to_string_pretty(&rows).unwrap_or_default();
        s.push('\n');
        return s;
    }
    let viewers = |d: &Device| {
        let v: Vec<&str> = d.viewers().iter().map(|v| v.cli_name()).collect();
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(",")
        }
    };
    if io::stdout().is_terminal() {
        table(devices, viewers)
    } else {
        tsv(devices, viewers, header)
    }
}

/// A TSV field: control characters, tabs and newlines among them, are escaped.
fn tsv_field(s: &str) -> String {
    terminal_safe(s).into_owned()
}

fn tsv(devices: &[Device], viewers: impl Fn(&Device) -> String, header: bool) -> String {
    let mut out = String::new();
    if header {
        out.push_str("NAME\tTYPE\tVIEWERS\tID\n");
    }
    for d in devices {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            tsv_field(&d.name),
            tsv_field(&d.device_type),
            viewers(d),
            tsv_field(&d.id)
        ));
    }
    out
}

fn table(devices: &[Device], viewers: impl Fn(&Device) -> String) -> String {
    let rows: Vec<[String; 4]> = devices
        .iter()
        .map(|d| {
            let name = terminal_safe(&d.name);
            // Make stray whitespace visible: a trailing space is what tells two devices apart.
            let name = if d.name.trim() != d.name {
                format!("\"{name}\"")
            } else {
                name.into_owned()
            };
            [
                name,
                terminal_safe(&d.device_type).into_owned(),
                viewers(d),
                terminal_safe(&d.id).into_owned(),
            ]
        })
        .collect();
    let head = ["NAME", "TYPE", "VIEWERS", "ID"];
    let mut widths = head.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let line = |cells: [&str; 4]| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            l.push_str(cell);
            if i < 3 {
                l.push_str(&" ".repeat(widths[i] - cell.width() + 2));
            }
        }
        l
    };
    let mut out = crate::diag::paint_stdout(&line(head), crate::diag::HEADER);
    out.push('\n');
    for row in &rows {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3]]));
        out.push('\n');
    }
    out
}

/// `check` as one line per step: status, step, duration, detail.
pub fn check_lines(steps: &[crate::app::CheckStep]) -> String {
    use crate::diag::{ERROR, GOOD, paint_stdout};
    let mut out = String::new();
    for s in steps {
        let status = match s.status {
            "ok" => paint_stdout("ok    ", GOOD),
            "failed" => paint_stdout("FAIL  ", ERROR),
            _ => "skip  ".to_owned(),
        };
        let ms = if s.status == "skipped" {
            String::new()
        } else {
            format!("{} ms", s.ms)
        };
        out.push_str(
            &format!("{status}{:<9}{ms:>8}  {}\n", s.step, s.detail).replace("  \n", "\n"),
        );
    }
    out
}

/// `check --json`: the same facts as one object.
pub fn check_json(host: &str, steps: &[crate::app::CheckStep], exit_code: Option<u8>) -> String {
    let value = serde_json::json!({
        "host": host,
        "ok": exit_code.is_none(),
        "exit_code": exit_code.unwrap_or(0),
        "steps": steps,
    });
    format!("{value}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(name: &str, ty: &str, paths: &[&str]) -> Device {
        Device {
            id: format!("id-{}", name.trim()),
            name: name.into(),
            device_type: ty.into(),
            path_types: paths.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn table_aligns_wide_characters() {
        let out = table(
            &[
                dev("サーバー-04", "SERIAL-TARGET", &[]),
                dev("a", "ADX-IP-IQ", &[]),
            ],
            |_| "kvm".to_owned(),
        );
        let lines: Vec<&str> = out.lines().collect();
        let col = |l: &str| l[..l.find("kvm").unwrap_or(0)].width();
        assert_eq!(col(lines[1]), col(lines[2]));
    }

    #[test]
    fn tsv_escapes_tabs_and_controls() {
        let out = tsv(&[dev("a\tb\u{1b}", "X", &[])], |_| "-".to_owned(), true);
        assert_eq!(
            out,
            "NAME\tTYPE\tVIEWERS\tID\na\\u{9}b\\u{1b}\tX\t-\tid-a\\u{9}b\\u{1b}\n"
        );
    }

    #[test]
    fn launch_json_has_the_contract_fields() {
        let d = dev("rack-a-01", "ADX-IP-IQ", &[]);
        let s = launch_json("https://h/x", Viewer::Kvm, &d, SystemTime::UNIX_EPOCH);
        assert_eq!(
            s,
            r#"{"url":"https://h/x","viewer":"kvm","device":{"id":"id-rack-a-01","name":"rack-a-01","type":"ADX-IP-IQ"},"ticket_expires_at":"1970-01-01T00:00:00Z"}"#
        );
    }
}
