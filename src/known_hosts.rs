//! The known-hosts file (`$XDG_CONFIG_HOME/dsview-launch/known_hosts`): the certificate
//! fingerprint trusted for each `host:port`, one entry a line, as ssh keeps host keys.
//!
//! ```text
//! # host:port  SHA-256 of the certificate (DER)
//! mp1000.example.com:443 SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
//! ```

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::files;

#[derive(Debug, Clone, Default)]
pub struct KnownHosts {
    path: PathBuf,
    entries: Vec<(String, [u8; 32])>,
}

fn parse_digest(s: &str) -> Option<[u8; 32]> {
    let hex = s.strip_prefix("SHA256:")?;
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn format_digest(d: &[u8; 32]) -> String {
    let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!("SHA256:{hex}")
}

impl KnownHosts {
    pub fn default_path() -> Result<PathBuf> {
        Ok(files::config_dir()?.join("known_hosts"))
    }

    /// Parse the file's text; a malformed line is an error naming it. Public for fuzzing.
    pub fn parse(text: &str, path: &Path) -> Result<KnownHosts> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let parsed = match (words.next(), words.next(), words.next()) {
                (Some(host), Some(digest), None) => {
                    parse_digest(digest).map(|d| (host.to_owned(), d))
                }
                _ => None,
            };
            let Some(entry) = parsed else {
                return Err(Error::usage(
                    format!("{}:{}: malformed known-hosts line", path.display(), n + 1),
                    "each line is `HOST:PORT SHA256:<64 hex digits>`; fix or delete the line",
                ));
            };
            entries.push(entry);
        }
        Ok(KnownHosts {
            path: path.to_path_buf(),
            entries,
        })
    }

    pub fn load(path: &Path) -> Result<KnownHosts> {
        match files::read_optional(path)? {
            None => Ok(KnownHosts {
                path: path.to_path_buf(),
                entries: Vec::new(),
            }),
            Some(text) => {
                // Whoever can write this file decides which certificates are trusted.
                files::check_private(path, false)?;
                KnownHosts::parse(&text, path)
            }
        }
    }

    pub fn get(&self, host_port: &str) -> Option<[u8; 32]> {
        self.entries
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(host_port))
            .map(|(_, d)| *d)
    }

    /// Record (or replace) the fingerprint of `host_port` and save the file.
    pub fn set(&mut self, host_port: &str, digest: [u8; 32]) -> Result<()> {
        self.entries
            .retain(|(h, _)| !h.eq_ignore_ascii_case(host_port));
        self.entries.push((host_port.to_owned(), digest));
        let mut text =
            String::from("# dsview-launch known hosts: HOST:PORT SHA256:<certificate digest>\n");
        for (h, d) in &self.entries {
            text.push_str(&format!("{h} {}\n", format_digest(d)));
        }
        files::write_private(&self.path, text.as_bytes())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let dir = std::env::temp_dir().join(format!("dsview-kh-{}", std::process::id()));
        let path = dir.join("known_hosts");
        let mut kh = KnownHosts::load(&path).expect("missing is empty");
        assert_eq!(kh.get("a:443"), None);
        kh.set("a:443", [1; 32]).expect("save");
        kh.set("b:8443", [2; 32]).expect("save");
        kh.set("A:443", [3; 32]).expect("replace");
        let again = KnownHosts::load(&path).expect("load");
        assert_eq!(again.get("a:443"), Some([3; 32]));
        assert_eq!(again.get("b:8443"), Some([2; 32]));
        assert!(KnownHosts::parse("a:443 SHA256:zz\n", &path).is_err());
        assert!(KnownHosts::parse("a:443\n", &path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
