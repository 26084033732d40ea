//! Cached appliance sessions, one file per host and user under
//! `$XDG_STATE_HOME/dsview-launch/sessions/` (directory 0700, files 0600), so that later runs
//! reuse the session instead of logging in (and leaking a session) every time.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::api::Session;
use crate::error::{Error, Result};
use crate::files;

#[derive(Serialize, Deserialize)]
struct Stored {
    host: String,
    user: String,
    session_id: String,
    token: String,
    created_at: u64,
}

/// A cached session and whom it belongs to.
#[derive(Debug)]
pub struct Cached {
    pub host: String,
    pub user: String,
    pub session: Session,
    pub path: PathBuf,
}

#[derive(Debug, Clone)]
pub struct SessionCache {
    dir: PathBuf,
}

impl SessionCache {
    pub fn new() -> Result<SessionCache> {
        Ok(SessionCache {
            dir: files::state_dir()?.join("sessions"),
        })
    }

    fn path(&self, host: &str, user: &str) -> PathBuf {
        let key = format!("{host}\n{user}");
        let digest = crate::tls::sha256(key.as_bytes());
        let name: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.json"))
    }

    fn read(&self, path: PathBuf) -> Result<Option<Cached>> {
        let Some(text) = files::read_optional(&path)? else {
            return Ok(None);
        };
        files::check_private(&path, true)?;
        let Ok(stored) = serde_json::from_str::<Stored>(&text) else {
            crate::diag::verbose(
                1,
                format!("ignoring unreadable session cache {}", path.display()),
            );
            return Ok(None);
        };
        Ok(Some(Cached {
            host: stored.host,
            user: stored.user,
            session: Session {
                id: stored.session_id,
                token: SecretString::from(stored.token),
            },
            path,
        }))
    }

    /// The cached session of `user` on `host` (`host:port`), if any.
    pub fn load(&self, host: &str, user: &str) -> Result<Option<Session>> {
        Ok(self
            .read(self.path(host, user))?
            .filter(|c| c.host == host && c.user == user)
            .map(|c| c.session))
    }

    pub fn store(&self, host: &str, user: &str, session: &Session) -> Result<()> {
        let stored = Stored {
            host: host.to_owned(),
            user: user.to_owned(),
            session_id: session.id.clone(),
            token: session.token.expose_secret().to_owned(),
            created_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
        };
        let text = serde_json::to_string(&stored)
            .map_err(|e| Error::Internal(format!("cannot encode the session cache: {e}")))?;
        files::write_private(&self.path(host, user), text.as_bytes())
    }

    /// Forget a session; whether there was one.
    pub fn remove(&self, host: &str, user: &str) -> Result<bool> {
        let path = self.path(host, user);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::Internal(format!(
                "cannot remove {}: {e}",
                path.display()
            ))),
        }
    }

    /// Every cached session.
    pub fn all(&self) -> Result<Vec<Cached>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::Internal(format!(
                    "cannot read {}: {e}",
                    self.dir.display()
                )));
            }
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json")
                && let Some(c) = self.read(path)?
            {
                out.push(c);
            }
        }
        out.sort_by(|a, b| (&a.host, &a.user).cmp(&(&b.host, &b.user)));
        Ok(out)
    }
}
