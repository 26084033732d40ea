//! The config file: `default_profile`, `[profiles.NAME]` tables and `[groups.NAME]` tables,
//! read strictly (an unknown key is an error that names it) and edited in place with
//! `toml_edit`, so comments and layout the user wrote survive `profile add` and `remove`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};
use crate::files;
use crate::viewer::{MouseMode, SharingMode};

/// The whole file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub default_profile: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    #[serde(default)]
    pub groups: BTreeMap<String, Group>,
}

/// One appliance and how to reach it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub host: Option<String>,
    pub user: Option<String>,
    pub ca_cert: Option<PathBuf>,
    pub fingerprint: Option<String>,
    #[serde(default, deserialize_with = "value_enum")]
    pub sharing_mode: Option<SharingMode>,
    #[serde(default, deserialize_with = "mouse_mode")]
    pub mouse_mode: Option<MouseMode>,
    pub browser: Option<String>,
    pub timeout: Option<u64>,
    pub password_command: Option<PasswordCommand>,
    pub session_cache: Option<bool>,
}

/// A group of profiles, for lookups across a fleet.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub profiles: Vec<String>,
    /// Seconds a local index of where each device lives stays fresh (default one day; 0: no
    /// index).
    pub index_max_age: Option<u64>,
}

/// A command that prints the password on its first line: an argument list, or a string split
/// like a shell would split words (no shell runs it, so nothing in it is interpreted).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum PasswordCommand {
    Argv(Vec<String>),
    Line(String),
}

impl PasswordCommand {
    /// Program and arguments; `None` when it is empty or its quoting is broken.
    pub fn argv(&self) -> Option<Vec<String>> {
        let argv = match self {
            PasswordCommand::Argv(v) => v.clone(),
            PasswordCommand::Line(s) => shlex::split(s)?,
        };
        (!argv.is_empty() && !argv[0].is_empty()).then_some(argv)
    }
}

fn parse_enum<T: ValueEnum>(s: &str) -> Result<T, String> {
    T::from_str(s, true).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_owned()))
            .collect();
        format!("invalid value {s:?}: expected one of {}", names.join(", "))
    })
}

fn value_enum<'de, D: Deserializer<'de>, T: ValueEnum>(d: D) -> Result<Option<T>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => parse_enum(&s).map(Some).map_err(serde::de::Error::custom),
    }
}

fn mouse_mode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MouseMode>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u8),
        Name(String),
    }
    let name = match Option::<Raw>::deserialize(d)? {
        None => return Ok(None),
        Some(Raw::Number(n)) => n.to_string(),
        Some(Raw::Name(s)) => s,
    };
    parse_enum(&name)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// Where the config file is: `--config`/`DSVIEW_CONFIG`, else the default location.
pub fn path(explicit: Option<&Path>) -> Result<(PathBuf, bool)> {
    match explicit {
        Some(p) => Ok((p.to_path_buf(), true)),
        None => Ok((files::config_dir()?.join("config.toml"), false)),
    }
}

fn parse_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::usage(
        format!("invalid config file {}: {e}", path.display()),
        "fix the file; keys of a profile are: host, user, ca_cert, fingerprint, sharing_mode, \
         mouse_mode, browser, timeout, password_command, session_cache",
    )
}

/// Parse config text. Public for tests and fuzzing.
pub fn parse(text: &str, path: &Path) -> Result<FileConfig> {
    toml_edit::de::from_str::<FileConfig>(text)
        .map_err(|e| parse_error(path, e.to_string().trim_end()))
}

/// Load the config file; a missing default file is an empty config, a missing explicit one is
/// an error.
pub fn load(explicit: Option<&Path>) -> Result<(PathBuf, FileConfig)> {
    let (path, is_explicit) = path(explicit)?;
    let Some(text) = files::read_optional(&path)? else {
        if is_explicit {
            return Err(Error::usage(
                format!("config file {} does not exist", path.display()),
                "create it with `dsview-launch profile add NAME --host HOST -u USER`, \
                 or drop --config/DSVIEW_CONFIG",
            ));
        }
        return Ok((path, FileConfig::default()));
    };
    // The file can name commands to run (password_command): nobody else may have written it.
    files::check_private(&path, false)?;
    let config = parse(&text, &path)?;
    Ok((path, config))
}

/// The values `profile add` writes. `None` leaves a key out.
#[derive(Debug, Default, Clone)]
pub struct NewProfile {
    pub host: String,
    pub user: Option<String>,
    pub ca_cert: Option<PathBuf>,
    pub fingerprint: Option<String>,
    pub sharing_mode: Option<SharingMode>,
    pub mouse_mode: Option<MouseMode>,
    pub browser: Option<String>,
    pub timeout: Option<u64>,
    pub password_command: Option<String>,
    pub session_cache: Option<bool>,
}

fn enum_name<T: ValueEnum>(v: &T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_owned())
        .unwrap_or_default()
}

fn document(path: &Path) -> Result<toml_edit::DocumentMut> {
    let text = files::read_optional(path)?.unwrap_or_default();
    files::check_private(path, false)?;
    text.parse::<toml_edit::DocumentMut>()
        .map_err(|e| parse_error(path, e.to_string().trim_end()))
}

/// Add or replace a profile, keeping everything else in the file as it was.
pub fn add(path: &Path, name: &str, p: &NewProfile, make_default: bool) -> Result<bool> {
    let mut doc = document(path)?;
    if !doc.contains_key("profiles") {
        let mut t = toml_edit::Table::new();
        t.set_implicit(true);
        doc.insert("profiles", toml_edit::Item::Table(t));
    }
    let profiles = doc["profiles"]
        .as_table_mut()
        .ok_or_else(|| parse_error(path, "`profiles` must be a table of [profiles.NAME] tables"))?;
    let replaced = profiles.contains_key(name);
    let mut t = toml_edit::Table::new();
    t.insert("host", toml_edit::value(p.host.clone()));
    let mut put = |key: &str, v: Option<toml_edit::Value>| {
        if let Some(v) = v {
            t.insert(key, toml_edit::Item::Value(v));
        }
    };
    put("user", p.user.clone().map(Into::into));
    put(
        "ca_cert",
        p.ca_cert
            .as_ref()
            .map(|c| c.to_string_lossy().into_owned().into()),
    );
    put("fingerprint", p.fingerprint.clone().map(Into::into));
    put("sharing_mode", p.sharing_mode.map(|m| enum_name(&m).into()));
    put("mouse_mode", p.mouse_mode.map(|m| enum_name(&m).into()));
    put("browser", p.browser.clone().map(Into::into));
    put("timeout", p.timeout.map(|n| (n as i64).into()));
    put(
        "password_command",
        p.password_command.clone().map(Into::into),
    );
    put("session_cache", p.session_cache.map(Into::into));
    profiles.insert(name, toml_edit::Item::Table(t));
    if make_default {
        doc.insert("default_profile", toml_edit::value(name));
    }
    let text = doc.to_string();
    // Never write a file the tool itself could not read back.
    parse(&text, path)?;
    files::write_private(path, text.as_bytes())?;
    Ok(replaced)
}

/// Remove a profile (and the default that named it). Returns whether it was the default.
pub fn remove(path: &Path, name: &str) -> Result<bool> {
    let mut doc = document(path)?;
    let removed = doc
        .get_mut("profiles")
        .and_then(|p| p.as_table_mut())
        .and_then(|t| t.remove(name))
        .is_some();
    if !removed {
        return Err(Error::usage(
            format!("no profile named {name:?} in {}", path.display()),
            "list them with: dsview-launch profile list",
        ));
    }
    let was_default = doc.get("default_profile").and_then(|v| v.as_str()) == Some(name);
    if was_default {
        doc.remove("default_profile");
    }
    files::write_private(path, doc.to_string().as_bytes())?;
    Ok(was_default)
}

/// `profile list`: name, host and user, the default marked with `*`.
pub fn list_text(config: &FileConfig) -> String {
    let mut out = String::new();
    for (name, p) in &config.profiles {
        let mark = if config.default_profile.as_deref() == Some(name) {
            "*"
        } else {
            " "
        };
        let _ = writeln!(
            out,
            "{mark} {name}\t{}\t{}",
            p.host.as_deref().unwrap_or("-"),
            p.user.as_deref().unwrap_or("-")
        );
    }
    out
}

/// `profile show NAME`: the profile's table as it stands in the file.
pub fn show_text(path: &Path, name: &str) -> Result<String> {
    let doc = document(path)?;
    let table = doc
        .get("profiles")
        .and_then(|p| p.as_table())
        .and_then(|t| t.get(name))
        .and_then(|t| t.as_table())
        .ok_or_else(|| {
            Error::usage(
                format!("no profile named {name:?} in {}", path.display()),
                "list them with: dsview-launch profile list",
            )
        })?;
    let mut single = toml_edit::DocumentMut::new();
    let mut t = table.clone();
    t.set_implicit(false);
    t.decor_mut().clear();
    let mut profiles = toml_edit::Table::new();
    profiles.set_implicit(true);
    profiles.insert(name, toml_edit::Item::Table(t));
    single.insert("profiles", toml_edit::Item::Table(profiles));
    Ok(single.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_profiles_and_groups() {
        let text = r#"
default_profile = "rack01"
[profiles.rack01]
host = "10.0.0.5"
user = "admin"
sharing_mode = "standalone-passive"
mouse_mode = 2
password_command = ["pass", "show", "mp1000"]
session_cache = false
[profiles.rack02]
host = "10.0.0.6"
mouse_mode = "relative"
password_command = "op read 'op://vault/mp 1000/password'"
[groups.dc1]
profiles = ["rack01", "rack02"]
"#;
        let c = parse(text, Path::new("c.toml")).expect("parses");
        let r1 = &c.profiles["rack01"];
        assert_eq!(r1.sharing_mode, Some(SharingMode::StandalonePassive));
        assert_eq!(r1.mouse_mode, Some(MouseMode::RelativeRaw));
        assert_eq!(r1.session_cache, Some(false));
        let r2 = &c.profiles["rack02"];
        assert_eq!(r2.mouse_mode, Some(MouseMode::Relative));
        assert_eq!(
            r2.password_command.as_ref().and_then(PasswordCommand::argv),
            Some(vec![
                "op".into(),
                "read".into(),
                "op://vault/mp 1000/password".into()
            ])
        );
        assert_eq!(c.groups["dc1"].profiles, ["rack01", "rack02"]);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = parse("[profiles.a]\nhots = \"x\"\n", Path::new("c.toml")).expect_err("unknown");
        assert!(err.to_string().contains("hots"), "{err}");
        let err = parse("colour = 1\n", Path::new("c.toml")).expect_err("unknown");
        assert!(err.to_string().contains("colour"), "{err}");
        let err = parse(
            "[profiles.a]\nsharing_mode = \"sideways\"\n",
            Path::new("c.toml"),
        )
        .expect_err("bad value");
        assert!(err.to_string().contains("sideways"), "{err}");
    }

    #[test]
    fn broken_password_command_quoting_is_none() {
        assert_eq!(PasswordCommand::Line("pass 'open".into()).argv(), None);
        assert_eq!(PasswordCommand::Argv(vec![]).argv(), None);
    }
}
