//! The appliance session of a run: reused from the session cache when there is one, else
//! logged in (asking for the password only then), and logged in again once, transparently,
//! when the appliance rejects a cached token.

use secrecy::SecretString;

use crate::api::{Appliance, Logout, Session};
use crate::config::{Config, PasswordSource};
use crate::diag;
use crate::error::{Error, Result};
use crate::password;
use crate::session_cache::SessionCache;

/// The user and, once it was needed, the password.
#[derive(Debug)]
pub struct Credentials {
    user: String,
    host: String,
    source: PasswordSource,
    password: Option<SecretString>,
}

impl Credentials {
    pub fn new(config: &Config) -> Result<Credentials> {
        let Some(user) = config.user.clone() else {
            return Err(Error::usage(
                "no user name given",
                "pass -u/--user USER, set DSVIEW_USER, or set `user` in the profile",
            ));
        };
        Ok(Credentials {
            user,
            host: config.host_label.clone(),
            source: config.password.clone(),
            password: None,
        })
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// Use a password obtained once for several appliances.
    pub fn set_password(&mut self, password: SecretString) {
        self.password = Some(password);
    }

    /// The password, read from its source the first time it is needed.
    pub fn password(&mut self) -> Result<&SecretString> {
        if self.password.is_none() {
            self.password = Some(password::obtain(&self.source, &self.user, &self.host)?);
        }
        self.password
            .as_ref()
            .ok_or_else(|| Error::Internal("password vanished".to_owned()))
    }
}

/// One appliance, its session, and where the session is kept.
#[derive(Debug)]
pub struct Connection<'a> {
    pub appliance: Appliance,
    creds: &'a mut Credentials,
    cache: Option<&'a SessionCache>,
    host_key: String,
    session: Option<Session>,
    logged_in_now: bool,
}

impl<'a> Connection<'a> {
    pub fn new(
        appliance: Appliance,
        creds: &'a mut Credentials,
        cache: Option<&'a SessionCache>,
        host_key: &str,
    ) -> Connection<'a> {
        Connection {
            appliance,
            creds,
            cache,
            host_key: host_key.to_owned(),
            session: None,
            logged_in_now: false,
        }
    }

    /// Log in anew and keep the session (in the cache when there is one).
    pub async fn login(&mut self) -> Result<&Session> {
        let user = self.creds.user().to_owned();
        let password = self.creds.password()?;
        let session = self.appliance.login(&user, password).await?;
        if let Some(cache) = self.cache {
            cache.store(&self.host_key, &user, &session)?;
            diag::verbose(2, "session cached");
        }
        self.logged_in_now = true;
        Ok(self.session.insert(session))
    }

    async fn ensure(&mut self) -> Result<()> {
        if self.session.is_some() {
            return Ok(());
        }
        if let Some(cache) = self.cache
            && let Some(session) = cache.load(&self.host_key, self.creds.user())?
        {
            diag::verbose(1, "reusing the cached session");
            self.session = Some(session);
            return Ok(());
        }
        self.login().await.map(|_| ())
    }

    /// Run one API call with the session; if the appliance rejects a cached session, log in
    /// again once and repeat the call.
    pub async fn call<T>(
        &mut self,
        mut op: impl AsyncFnMut(&Appliance, &Session) -> Result<T>,
    ) -> Result<T> {
        self.ensure().await?;
        let outcome = match &self.session {
            Some(session) => op(&self.appliance, session).await,
            None => return Err(Error::Internal("no session".to_owned())),
        };
        match outcome {
            Err(Error::SessionExpired { .. }) if !self.logged_in_now => {
                diag::verbose(1, "the cached session was rejected; logging in again");
                if let Some(cache) = self.cache {
                    cache.remove(&self.host_key, self.creds.user())?;
                }
                self.session = None;
                self.login().await?;
                match &self.session {
                    Some(session) => op(&self.appliance, session).await,
                    None => Err(Error::Internal("no session".to_owned())),
                }
            }
            other => other,
        }
    }

    /// End the session on the appliance and forget it. Failures are notes, not errors.
    pub async fn end(&mut self, session: &Session) -> Logout {
        let outcome = match self.appliance.logout(session).await {
            Ok(outcome) => outcome,
            Err(e) => {
                diag::verbose(
                    1,
                    format!("could not end the session on the appliance: {e}"),
                );
                Logout::NotSupported
            }
        };
        if outcome == Logout::NotSupported {
            diag::verbose(
                1,
                "the appliance did not end the session; it will time out there",
            );
        }
        if let Some(cache) = self.cache
            && let Err(e) = cache.remove(&self.host_key, self.creds.user())
        {
            diag::warn(e.to_string());
        }
        if self.session.as_ref().is_some_and(|s| s.id == session.id) {
            self.session = None;
        }
        outcome
    }

    /// The appliance, once the connection is no longer needed.
    pub fn into_appliance(self) -> Appliance {
        self.appliance
    }

    /// Start from a session found earlier in this run.
    pub fn set_session(&mut self, session: Session) {
        self.session = Some(session);
    }

    /// The session in use, leaving the connection without one.
    pub fn take_session(&mut self) -> Option<Session> {
        self.session.take()
    }

    /// End the session in use, if any.
    pub async fn end_current(&mut self) -> Option<Logout> {
        let session = self.session.take()?;
        Some(self.end(&session).await)
    }

    /// End the session this run opened itself, unless it is cached for later runs.
    pub async fn finish_uncached(&mut self) {
        if self.cache.is_none()
            && let Some(session) = self.session.take()
        {
            self.end(&session).await;
        }
    }
}
