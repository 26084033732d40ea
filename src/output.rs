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
    #[serde(skip_serializing_if = "Option::is_none")]
    appliance: Option<&'a str>,
    id: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    device_type: &'a str,
    viewers: Vec<Viewer>,
    connection_paths: &'a [String],
}

/// A device in a listing, and the appliance (profile) it came from in a fleet listing.
#[derive(Debug, Clone)]
pub struct Listed {
    pub appliance: Option<String>,
    pub device: Device,
}

/// The device list in the form the destination wants. `rows` must be sorted already; the
/// APPLIANCE column appears when any row names one.
pub fn device_list(rows: &[Listed], json: bool, header: bool) -> String {
    if json {
        let rows: Vec<DeviceJson<'_>> = rows
            .iter()
            .map(|r| DeviceJson {
                appliance: r.appliance.as_deref(),
                id: &r.device.id,
                name: &r.device.name,
                device_type: &r.device.device_type,
                viewers: r.device.viewers(),
                connection_paths: &r.device.path_types,
            })
            .collect();
        let mut s = serde_json::to_string_pretty(&rows).unwrap_or_default();
        s.push('\n');
        return s;
    }
    let fleet = rows.iter().any(|r| r.appliance.is_some());
    let mut head = vec!["NAME", "TYPE", "VIEWERS", "ID"];
    if fleet {
        head.insert(0, "APPLIANCE");
    }
    let terminal = io::stdout().is_terminal();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let d = &r.device;
            let name = terminal_safe(&d.name);
            // On a terminal, make stray whitespace visible: it is what tells two devices apart.
            let name = if terminal && d.name.trim() != d.name {
                format!("\"{name}\"")
            } else {
                name.into_owned()
            };
            let viewers: Vec<&str> = d.viewers().iter().map(|v| v.cli_name()).collect();
            let mut row = vec![
                name,
                terminal_safe(&d.device_type).into_owned(),
                if viewers.is_empty() {
                    "-".to_owned()
                } else {
                    viewers.join(",")
                },
                terminal_safe(&d.id).into_owned(),
            ];
            if fleet {
                row.insert(
                    0,
                    terminal_safe(r.appliance.as_deref().unwrap_or("")).into_owned(),
                );
            }
            row
        })
        .collect();
    if terminal {
        table(&head, &cells)
    } else {
        tsv(&head, &cells, header)
    }
}

/// Tab-separated lines; control characters (tabs and newlines among them) were escaped already.
fn tsv(head: &[&str], rows: &[Vec<String>], header: bool) -> String {
    let mut out = String::new();
    if header {
        out.push_str(&head.join("\t"));
        out.push('\n');
    }
    for row in rows {
        out.push_str(&row.join("\t"));
        out.push('\n');
    }
    out
}

/// An aligned table with a bold header, for people.
fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = head.iter().map(|h| h.width()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let line = |cells: &[&str]| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            l.push_str(cell);
            if i + 1 < cells.len() {
                l.push_str(&" ".repeat(widths[i] - cell.width() + 2));
            }
        }
        l
    };
    let mut out = crate::diag::paint_stdout(&line(head), crate::diag::HEADER);
    out.push('\n');
    for row in rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        out.push_str(&line(&cells));
        out.push('\n');
    }
    out
}

/// `check` as one line per step: status, step, duration, detail.
pub fn check_lines(steps: &[crate::check::CheckStep]) -> String {
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
pub fn check_json(host: &str, steps: &[crate::check::CheckStep], exit_code: Option<u8>) -> String {
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

    fn row(name: &str) -> Vec<String> {
        vec![
            name.to_owned(),
            "SERIAL-TARGET".into(),
            "kvm".into(),
            "id".into(),
        ]
    }

    #[test]
    fn table_aligns_wide_characters() {
        let out = table(
            &["NAME", "TYPE", "VIEWERS", "ID"],
            &[row("サーバー-04"), row("a")],
        );
        let lines: Vec<&str> = out.lines().collect();
        let col = |l: &str| l[..l.find("kvm").unwrap_or(0)].width();
        assert_eq!(col(lines[1]), col(lines[2]));
    }

    #[test]
    fn tsv_has_an_optional_header() {
        let head = ["NAME", "TYPE", "VIEWERS", "ID"];
        assert_eq!(
            tsv(&head, &[row("a")], false),
            "a\tSERIAL-TARGET\tkvm\tid\n"
        );
        assert!(tsv(&head, &[row("a")], true).starts_with("NAME\tTYPE\tVIEWERS\tID\n"));
    }

    #[test]
    fn launch_json_has_the_contract_fields() {
        let d = Device {
            id: "id-rack-a-01".into(),
            name: "rack-a-01".into(),
            device_type: "ADX-IP-IQ".into(),
            path_types: vec![],
        };
        let s = launch_json("https://h/x", Viewer::Kvm, &d, SystemTime::UNIX_EPOCH);
        assert_eq!(
            s,
            r#"{"url":"https://h/x","viewer":"kvm","device":{"id":"id-rack-a-01","name":"rack-a-01","type":"ADX-IP-IQ"},"ticket_expires_at":"1970-01-01T00:00:00Z"}"#
        );
    }
}
