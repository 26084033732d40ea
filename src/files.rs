//! Where the tool keeps files, and how it writes and reads the ones that matter: directories
//! 0700, files 0600, written atomically (a temporary file renamed into place, so an interrupted
//! run never leaves a half-written file), and refused when others could have changed them.
//!
//! Locations follow the XDG base directories: `$XDG_CONFIG_HOME/dsview-launch` (default
//! `~/.config/dsview-launch`) for the config and known hosts, `$XDG_STATE_HOME/dsview-launch`
//! (default `~/.local/state/dsview-launch`) for cached sessions. On Windows, `%APPDATA%` and
//! `%LOCALAPPDATA%` stand in for them.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const APP: &str = "dsview-launch";

fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

fn home() -> Result<PathBuf> {
    env_dir("HOME")
        .or_else(|| env_dir("USERPROFILE"))
        .ok_or_else(|| {
            Error::usage(
                "cannot find the home directory (HOME is unset)",
                "set HOME, or XDG_CONFIG_HOME and XDG_STATE_HOME",
            )
        })
}

/// `$XDG_CONFIG_HOME/dsview-launch`.
pub fn config_dir() -> Result<PathBuf> {
    if let Some(d) = env_dir("XDG_CONFIG_HOME") {
        return Ok(d.join(APP));
    }
    if cfg!(windows)
        && let Some(d) = env_dir("APPDATA")
    {
        return Ok(d.join(APP));
    }
    Ok(home()?.join(".config").join(APP))
}

/// `$XDG_STATE_HOME/dsview-launch`.
pub fn state_dir() -> Result<PathBuf> {
    if let Some(d) = env_dir("XDG_STATE_HOME") {
        return Ok(d.join(APP));
    }
    if cfg!(windows)
        && let Some(d) = env_dir("LOCALAPPDATA")
    {
        return Ok(d.join(APP).join("state"));
    }
    Ok(home()?.join(".local").join("state").join(APP))
}

fn io_error(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::Internal(format!("cannot {what} {}: {e}", path.display()))
}

/// Create a directory (and its parents) with mode 0700 for the last component.
pub fn private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| io_error("create the directory", dir, &e))
}

/// Write `contents` to `path` atomically with mode 0600, creating the directory 0700.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::Internal(format!("{} has no directory", path.display())))?;
    private_dir(dir)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut f| {
        f.write_all(contents)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error("write", &tmp, &e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error("replace", path, &e)
    })
}

/// Refuse a file holding a secret when others could have written it (or, for `strict`, read
/// it): its content could have been planted or its secret taken.
pub fn check_private(path: &Path, strict: bool) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(meta) = std::fs::metadata(path) else {
            return Ok(());
        };
        let mask = if strict { 0o077 } else { 0o022 };
        if meta.mode() & mask != 0 {
            let what = if strict {
                "readable or writable by other users"
            } else {
                "writable by other users"
            };
            return Err(Error::usage(
                format!(
                    "refusing to use {}: it is {what} (mode {:o})",
                    path.display(),
                    meta.mode() & 0o777
                ),
                format!("fix it with: chmod 600 {}", path.display()),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, strict);
    Ok(())
}

/// Read a file that may be missing.
pub fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
            Error::usage(
                format!("{} is not valid UTF-8", path.display()),
                "fix or remove the file",
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("read", path, &e)),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_files_are_0600_in_0700_and_loose_ones_refused() {
        let base = std::env::temp_dir().join(format!("dsview-files-{}", std::process::id()));
        let path = base.join("nested").join("f.json");
        write_private(&path, b"one").expect("write");
        write_private(&path, b"two").expect("overwrite");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "two");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().expect("dir")), 0o700);
        check_private(&path, true).expect("private");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        check_private(&path, false).expect("only readable");
        assert_eq!(
            check_private(&path, true).expect_err("strict").exit_code(),
            2
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        assert!(check_private(&path, false).is_err());
        let _ = std::fs::remove_dir_all(&base);
    }
}
