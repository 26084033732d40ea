//! The `launchUI` contract, with no I/O: which query parameters are allowed, which viewer a
//! device takes, and the HTML pages shown for an accepted or refused launch.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::inventory::{Device, DeviceType, Inventory, PathType};

/// The viewers the appliance can launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Kvm,
    Serial,
    Vm,
}

impl Viewer {
    fn parse(value: &str) -> Option<Self> {
        match value {
            "KVM" => Some(Self::Kvm),
            "SERIAL" => Some(Self::Serial),
            "VM" => Some(Self::Vm),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Kvm => "KVM",
            Self::Serial => "SERIAL",
            Self::Vm => "VM",
        }
    }

    /// Whether `device` takes this viewer (a path type may be at any index).
    pub fn accepts(self, device: &Device) -> bool {
        match (self, device.kind) {
            (Self::Kvm, DeviceType::AdxIpIq) => true,
            (Self::Kvm, DeviceType::AdxIpUhd) => device.has_path(PathType::KvmIp),
            (Self::Serial, DeviceType::SerialTarget | DeviceType::Acs) => true,
            (Self::Serial, DeviceType::AdxIpSerialPort) => true,
            (Self::Serial, DeviceType::AdxIpUhd) => device.has_path(PathType::SerialIp),
            (Self::Vm, DeviceType::VsVirtualMachine) => true,
            _ => false,
        }
    }
}

const SHARING_MODES: &[&str] = &[
    "ACTIVE",
    "PASSIVE",
    "PREEMPT",
    "STEALTH",
    "STANDALONE_PASSIVE",
];
const MOUSE_MODES: &[&str] = &["0", "1", "2"];
const KNOWN_PARAMETERS: &[&str] = &[
    "launchType",
    "viewerType",
    "deviceId",
    "ticket",
    "sharingMode",
    "mouseMode",
];

/// The query parameters of a launch request, each present at most once.
#[derive(Debug)]
pub struct LaunchQuery {
    params: HashMap<String, String>,
    /// First problem found while reading the query, reported after the ticket is consumed.
    problem: Option<String>,
}

impl LaunchQuery {
    /// Reads a raw query string (`+` and percent escapes decoded; bad UTF-8 becomes U+FFFD).
    pub fn parse(query: Option<&str>) -> Self {
        let mut params = HashMap::new();
        let mut problem = None;
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if !KNOWN_PARAMETERS.contains(&key.as_ref()) {
                problem.get_or_insert_with(|| format!("unknown parameter: {key}"));
                continue;
            }
            if params.contains_key(key.as_ref()) {
                problem.get_or_insert_with(|| format!("duplicate parameter: {key}"));
                continue;
            }
            params.insert(key.into_owned(), value.into_owned());
        }
        Self { params, problem }
    }

    /// The ticket, if the query carries one (possibly empty).
    pub fn ticket(&self) -> Option<&str> {
        self.params.get("ticket").map(String::as_str)
    }

    fn required(&self, name: &str) -> Result<&str, String> {
        self.params
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("missing parameter: {name}"))
    }

    /// Checks everything but the ticket against the inventory.
    pub fn validate(&self, inventory: &Inventory) -> Result<Launch, String> {
        if let Some(problem) = &self.problem {
            return Err(problem.clone());
        }
        let launch_type = self.required("launchType")?;
        if launch_type != "viewer" {
            return Err(format!(
                "unsupported launchType: {launch_type} (expected viewer)"
            ));
        }
        let viewer_type = self.required("viewerType")?;
        let viewer = Viewer::parse(viewer_type).ok_or_else(|| {
            format!("unsupported viewerType: {viewer_type} (expected KVM, SERIAL or VM)")
        })?;
        let device_id = self.required("deviceId")?;
        let device = inventory
            .get(device_id)
            .ok_or_else(|| format!("unknown device: {device_id}"))?;
        if !viewer.accepts(&device) {
            return Err(format!(
                "device {} ({}) does not take the {} viewer",
                device.name,
                device.kind.programmatic_name(),
                viewer.name()
            ));
        }
        let sharing_mode = self.kvm_option(viewer, "sharingMode", SHARING_MODES)?;
        let mouse_mode = self.kvm_option(viewer, "mouseMode", MOUSE_MODES)?;
        if mouse_mode.as_deref() == Some("2") && device.kind != DeviceType::AdxIpUhd {
            return Err("mouseMode=2 is only available on ADX-IP-UHD devices".to_owned());
        }
        Ok(Launch {
            viewer,
            device,
            sharing_mode,
            mouse_mode,
        })
    }

    /// A KVM-only option: absent, or one of `allowed`.
    fn kvm_option(
        &self,
        viewer: Viewer,
        name: &str,
        allowed: &[&str],
    ) -> Result<Option<String>, String> {
        let Some(value) = self.params.get(name) else {
            return Ok(None);
        };
        if viewer != Viewer::Kvm {
            return Err(format!("{name} is only valid with viewerType=KVM"));
        }
        if !allowed.contains(&value.as_str()) {
            return Err(format!(
                "unsupported {name}: {value} (expected one of {})",
                allowed.join(", ")
            ));
        }
        Ok(Some(value.clone()))
    }
}

/// An accepted launch.
#[derive(Debug)]
pub struct Launch {
    viewer: Viewer,
    device: Device,
    sharing_mode: Option<String>,
    mouse_mode: Option<String>,
}

impl Launch {
    /// The viewer page: title `KVM viewer`, heading `KVM viewer: NAME`, one line per option.
    pub fn page(&self) -> String {
        let title = format!("{} viewer", self.viewer.name());
        let mut body = format!(
            "<h1>{title}: {}</h1>\n<p>device id: {}</p>\n<p>device type: {}</p>\n",
            escape_html(&self.device.name),
            escape_html(&self.device.id),
            self.device.kind.programmatic_name()
        );
        if let Some(mode) = &self.sharing_mode {
            let _ = writeln!(body, "<p>sharing mode: {mode}</p>");
        }
        if let Some(mode) = &self.mouse_mode {
            let _ = writeln!(body, "<p>mouse mode: {mode}</p>");
        }
        page(&title, &body)
    }
}

/// The page shown when a launch is refused.
pub fn refusal_page(reason: &str) -> String {
    page(
        "launch refused",
        &format!("<h1>launch refused</h1>\n<p>{}</p>\n", escape_html(reason)),
    )
}

/// The appliance's (simulated) login page.
pub fn login_page() -> String {
    page(
        "DSView login",
        "<h1>DSView login</h1>\n<p>Log in to continue to the requested viewer.</p>\n",
    )
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n{body}</body>\n</html>\n",
        escape_html(title)
    )
}

/// Escapes text for an HTML element or attribute.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const UHD_BOTH: &str = "00000000-0000-4000-8000-000000000005";
    const RACK_A_01: &str = "00000000-0000-4000-8000-000000000001";
    const DB_07: &str = "00000000-0000-4000-8000-000000000007";

    fn check(query: &str, expected: Result<&str, &str>) {
        let inventory = Inventory::new(true, 0);
        let got = LaunchQuery::parse(Some(query)).validate(&inventory);
        match (got, expected) {
            (Ok(launch), Ok(heading)) => assert!(launch.page().contains(heading), "{query}"),
            (Err(reason), Err(start)) => assert!(reason.starts_with(start), "{query}: {reason}"),
            (got, expected) => panic!("{query}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn launch_rules() {
        let base = "launchType=viewer&ticket=t";
        check(
            &format!("{base}&viewerType=KVM&deviceId={RACK_A_01}&sharingMode=PASSIVE"),
            Ok("<h1>KVM viewer: rack-a-01</h1>"),
        );
        check(
            &format!("{base}&viewerType=KVM&deviceId={UHD_BOTH}&mouseMode=2"),
            Ok("mouse mode: 2"),
        );
        check(
            &format!("{base}&viewerType=SERIAL&deviceId={UHD_BOTH}"),
            Ok("SERIAL viewer: uhd-both"),
        );
        check(
            &format!("{base}&viewerType=KVM&deviceId={DB_07}"),
            Err("device db-07"),
        );
        check(
            &format!("{base}&viewerType=KVM&deviceId={RACK_A_01}&mouseMode=2"),
            Err("mouseMode=2"),
        );
        check(
            &format!("{base}&viewerType=kvm&deviceId={RACK_A_01}"),
            Err("unsupported viewerType"),
        );
        check(
            &format!("{base}&viewerType=SERIAL&deviceId={DB_07}&sharingMode=ACTIVE"),
            Err("sharingMode is only valid"),
        );
        check(
            &format!("{base}&viewerType=KVM&deviceId={RACK_A_01}&x=1"),
            Err("unknown parameter: x"),
        );
        check(
            &format!("{base}&viewerType=KVM&viewerType=KVM&deviceId={RACK_A_01}"),
            Err("duplicate parameter"),
        );
    }

    #[test]
    fn names_are_escaped() {
        assert_eq!(escape_html("<a&'\">"), "&lt;a&amp;&#39;&quot;&gt;");
    }
}
