//! Pure viewer logic, no I/O: which device types take which viewer, the KVM launch options,
//! and the launch URL exactly as the vendor's technical note gives it.

use std::fmt;

use clap::ValueEnum;
use url::Url;

/// The three viewers an appliance can launch.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Viewer {
    Kvm,
    Serial,
    Vm,
}

/// A device-type query that finds candidates for a viewer: the programmatic name to filter on,
/// and the connection path type a device of that type must also have (IPUHD only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeRule {
    pub device_type: &'static str,
    pub required_path: Option<&'static str>,
}

const KVM_RULES: &[TypeRule] = &[
    TypeRule {
        device_type: "ADX-IP-IQ",
        required_path: None,
    },
    TypeRule {
        device_type: "ADX-IP-UHD",
        required_path: Some("DCP_KVM_IP"),
    },
];
const SERIAL_RULES: &[TypeRule] = &[
    TypeRule {
        device_type: "SERIAL-TARGET",
        required_path: None,
    },
    TypeRule {
        device_type: "ACS",
        required_path: None,
    },
    TypeRule {
        device_type: "ADX-IP-SERIAL-PORT",
        required_path: None,
    },
    TypeRule {
        device_type: "ADX-IP-UHD",
        required_path: Some("DCP_SERIAL_IP"),
    },
];
const VM_RULES: &[TypeRule] = &[TypeRule {
    device_type: "VS-VIRTUAL-MACHINE",
    required_path: None,
}];

impl Viewer {
    pub const ALL: [Viewer; 3] = [Viewer::Kvm, Viewer::Serial, Viewer::Vm];

    /// The device types (and path requirements) that take this viewer.
    pub fn rules(self) -> &'static [TypeRule] {
        match self {
            Viewer::Kvm => KVM_RULES,
            Viewer::Serial => SERIAL_RULES,
            Viewer::Vm => VM_RULES,
        }
    }

    /// The `viewerType` value of the launch URL.
    pub fn wire_name(self) -> &'static str {
        match self {
            Viewer::Kvm => "KVM",
            Viewer::Serial => "SERIAL",
            Viewer::Vm => "VM",
        }
    }

    /// The subcommand that launches it.
    pub fn cli_name(self) -> &'static str {
        match self {
            Viewer::Kvm => "kvm",
            Viewer::Serial => "serial",
            Viewer::Vm => "vm",
        }
    }

    /// How messages name it.
    pub fn display_name(self) -> &'static str {
        match self {
            Viewer::Kvm => "KVM",
            Viewer::Serial => "serial",
            Viewer::Vm => "VM",
        }
    }

    /// Whether a device of `device_type` with these connection path types takes this viewer.
    pub fn takes<'a>(
        self,
        device_type: &str,
        mut path_types: impl Iterator<Item = &'a str>,
    ) -> bool {
        self.rules().iter().any(|rule| {
            rule.device_type == device_type
                && rule
                    .required_path
                    .is_none_or(|need| path_types.any(|p| p == need))
        })
    }

    /// Every viewer a device takes, in the order KVM, serial, VM.
    pub fn all_taken_by(device_type: &str, path_types: &[String]) -> Vec<Viewer> {
        Viewer::ALL
            .into_iter()
            .filter(|v| v.takes(device_type, path_types.iter().map(String::as_str)))
            .collect()
    }
}

impl fmt::Display for Viewer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// The distinct device types to query for a set of viewers, each once, in rule order.
pub fn device_types_for(viewers: &[Viewer]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for rule in viewers.iter().flat_map(|v| v.rules()) {
        if !out.contains(&rule.device_type) {
            out.push(rule.device_type);
        }
    }
    out
}

/// KVM `sharingMode`: skips the "Join KVM Session" dialog when another session exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SharingMode {
    /// Share the existing session
    Active,
    /// Read-only share of the existing session
    Passive,
    /// Take over from every existing session
    Preempt,
    /// Share without being announced
    Stealth,
    /// Read-only session with no sharing request and no virtual media (MP1000 3.33.8+, must be
    /// enabled by an administrator)
    StandalonePassive,
}

impl SharingMode {
    pub fn wire_name(self) -> &'static str {
        match self {
            SharingMode::Active => "ACTIVE",
            SharingMode::Passive => "PASSIVE",
            SharingMode::Preempt => "PREEMPT",
            SharingMode::Stealth => "STEALTH",
            SharingMode::StandalonePassive => "STANDALONE_PASSIVE",
        }
    }
}

/// KVM `mouseMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MouseMode {
    /// Absolute mouse (the appliance's default)
    #[value(alias = "0")]
    Absolute,
    /// Relative mouse
    #[value(alias = "1")]
    Relative,
    /// Relative mouse without acceleration (IPUHD devices only)
    #[value(alias = "2")]
    RelativeRaw,
}

impl MouseMode {
    pub fn wire_value(self) -> &'static str {
        match self {
            MouseMode::Absolute => "0",
            MouseMode::Relative => "1",
            MouseMode::RelativeRaw => "2",
        }
    }

    /// `relative-raw` exists only on IPUHD devices.
    pub fn fits_device_type(self, device_type: &str) -> bool {
        self != MouseMode::RelativeRaw || device_type == "ADX-IP-UHD"
    }
}

/// The KVM-only launch options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KvmOptions {
    pub sharing_mode: Option<SharingMode>,
    pub mouse_mode: Option<MouseMode>,
}

/// Build `https://HOST/api/v1/launchUI/?launchType=viewer&viewerType=..&deviceId=..&ticket=..`
/// with every value encoded by the `url` crate.
pub fn launch_url(
    base: &Url,
    viewer: Viewer,
    device_id: &str,
    ticket: &str,
    kvm: KvmOptions,
) -> Url {
    let mut url = base.clone();
    url.set_path("/api/v1/launchUI/");
    url.set_query(None);
    url.set_fragment(None);
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("launchType", "viewer")
            .append_pair("viewerType", viewer.wire_name())
            .append_pair("deviceId", device_id)
            .append_pair("ticket", ticket);
        if viewer == Viewer::Kvm {
            if let Some(mode) = kvm.sharing_mode {
                q.append_pair("sharingMode", mode.wire_name());
            }
            if let Some(mode) = kvm.mouse_mode {
                q.append_pair("mouseMode", mode.wire_value());
            }
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_takes(viewer: Viewer, ty: &str, paths: &[&str], expected: bool) {
        assert_eq!(
            viewer.takes(ty, paths.iter().copied()),
            expected,
            "{viewer:?} {ty} {paths:?}"
        );
    }

    #[test]
    fn device_types_per_viewer() {
        check_takes(Viewer::Kvm, "ADX-IP-IQ", &[], true);
        check_takes(Viewer::Kvm, "ADX-IP-UHD", &["DCP_KVM_IP"], true);
        check_takes(
            Viewer::Kvm,
            "ADX-IP-UHD",
            &["DCP_SERIAL_IP", "DCP_KVM_IP"],
            true,
        );
        check_takes(Viewer::Kvm, "ADX-IP-UHD", &["DCP_SERIAL_IP"], false);
        check_takes(Viewer::Kvm, "ADX-IP-UHD", &[], false);
        check_takes(Viewer::Kvm, "adx-ip-iq", &[], false);
        check_takes(
            Viewer::Serial,
            "ADX-IP-UHD",
            &["DCP_KVM_IP", "DCP_SERIAL_IP"],
            true,
        );
        check_takes(Viewer::Serial, "SERIAL-TARGET", &[], true);
        check_takes(Viewer::Serial, "ACS", &[], true);
        check_takes(Viewer::Serial, "ADX-IP-SERIAL-PORT", &[], true);
        check_takes(Viewer::Serial, "ADX-IP-IQ", &[], false);
        check_takes(Viewer::Vm, "VS-VIRTUAL-MACHINE", &[], true);
        check_takes(Viewer::Vm, "PDU", &[], false);
    }

    #[test]
    fn queried_types_are_distinct() {
        assert_eq!(
            device_types_for(&[Viewer::Kvm]),
            ["ADX-IP-IQ", "ADX-IP-UHD"]
        );
        assert_eq!(
            device_types_for(&Viewer::ALL),
            [
                "ADX-IP-IQ",
                "ADX-IP-UHD",
                "SERIAL-TARGET",
                "ACS",
                "ADX-IP-SERIAL-PORT",
                "VS-VIRTUAL-MACHINE"
            ]
        );
    }

    #[test]
    fn url_has_the_documented_form() {
        let base = Url::parse("https://10.200.15.43/").expect("valid");
        let url = launch_url(
            &base,
            Viewer::Kvm,
            "11eb0467-5022-45b6-8b69-dee9f33ad39d",
            "2db72e02f4d4",
            KvmOptions {
                sharing_mode: Some(SharingMode::StandalonePassive),
                mouse_mode: Some(MouseMode::Relative),
            },
        );
        assert_eq!(
            url.as_str(),
            "https://10.200.15.43/api/v1/launchUI/?launchType=viewer&viewerType=KVM\
             &deviceId=11eb0467-5022-45b6-8b69-dee9f33ad39d&ticket=2db72e02f4d4\
             &sharingMode=STANDALONE_PASSIVE&mouseMode=1"
        );
    }

    #[test]
    fn url_encodes_values_and_drops_kvm_options_elsewhere() {
        let base = Url::parse("https://[::1]:8443/").expect("valid");
        let url = launch_url(
            &base,
            Viewer::Serial,
            "a&b=c d",
            "t#1",
            KvmOptions {
                sharing_mode: Some(SharingMode::Active),
                mouse_mode: None,
            },
        );
        assert_eq!(
            url.as_str(),
            "https://[::1]:8443/api/v1/launchUI/?launchType=viewer&viewerType=SERIAL\
             &deviceId=a%26b%3Dc+d&ticket=t%231"
        );
    }

    #[test]
    fn relative_raw_only_on_ipuhd() {
        assert!(MouseMode::RelativeRaw.fits_device_type("ADX-IP-UHD"));
        assert!(!MouseMode::RelativeRaw.fits_device_type("ADX-IP-IQ"));
        assert!(MouseMode::Relative.fits_device_type("ADX-IP-IQ"));
    }
}
