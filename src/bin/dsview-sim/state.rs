//! Mutable appliance state: the demo users, user sessions with their bearer tokens, one-use
//! tickets, and the counters behind `/_sim/stats`. No HTTP here; callers map [`SessionError`]
//! and [`TicketError`] to responses.
//!
//! A ticket outlives the session that created it: ending the session does not revoke tickets
//! already issued (a launcher may log out before the browser presents the ticket).

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ring::rand::{SecureRandom, SystemRandom};

/// A demo account.
#[derive(Debug)]
pub struct User {
    pub name: &'static str,
    pub password: &'static str,
    /// Whether the role may create tickets (launch viewers).
    pub can_launch: bool,
}

/// The demo accounts.
pub const USERS: &[User] = &[
    User {
        name: "admin",
        password: "admin-pass",
        can_launch: true,
    },
    User {
        name: "operator",
        password: "operator-pass",
        can_launch: true,
    },
    User {
        name: "auditor",
        password: "auditor-pass",
        can_launch: false,
    },
];

/// Every bearer token starts with this, so a test can tell that none leaked into output.
pub const TOKEN_PREFIX: &str = "simjwt.";

/// Tickets older than this are forgotten (presenting one then reads as "unknown ticket").
const TICKET_MEMORY: Duration = Duration::from_secs(3600);

/// Why a session operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("too many sessions")]
    TooManySessions,
    #[error("unauthorized")]
    Unauthorized,
    #[error("unknown user session")]
    UnknownSession,
    #[error("forbidden: the token belongs to another user session")]
    OtherSession,
    #[error("permission denied: launch viewer")]
    PermissionDenied,
    #[error("internal error: no random numbers available")]
    Random,
}

/// Why a ticket was refused at launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("unknown ticket")]
    Unknown,
    #[error("ticket already used")]
    AlreadyUsed,
    #[error("ticket expired")]
    Expired,
}

/// What a successful login hands back.
pub struct NewSession {
    pub id: String,
    pub name: String,
    pub username: &'static str,
    pub token: String,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("username", &self.username)
            .field("token", &"(redacted)")
            .finish()
    }
}

#[derive(Debug)]
struct Session {
    user: &'static User,
    token: String,
}

#[derive(Debug)]
struct Ticket {
    created: Instant,
    used: bool,
}

#[derive(Debug, Default)]
struct Tables {
    /// Session id to session.
    sessions: HashMap<String, Session>,
    /// Bearer token to session id.
    tokens: HashMap<String, String>,
    /// Ticket to its record.
    tickets: HashMap<String, Ticket>,
    /// Tickets in the order they were issued, to forget old ones without scanning them all.
    ticket_order: VecDeque<(Instant, String)>,
    /// Open sessions per user name (counted here, not by scanning every session per login).
    open_per_user: HashMap<&'static str, usize>,
    /// Logins so far, for session names.
    session_serial: u64,
}

/// Monotonic counters reported by `/_sim/stats`.
#[derive(Debug, Default)]
pub struct Counters {
    pub connections: AtomicU64,
    pub tls_handshakes: AtomicU64,
    pub requests: AtomicU64,
    /// Requests under `/api/`, for `--fail-every`.
    pub api_requests: AtomicU64,
    pub logins: AtomicU64,
    pub tickets_issued: AtomicU64,
    pub launches_ok: AtomicU64,
    pub launches_refused: AtomicU64,
    pub sessions_deleted: AtomicU64,
    /// Requests per API step, whatever the answer: login, device list, ticket, logout.
    pub login_requests: AtomicU64,
    pub device_list_requests: AtomicU64,
    pub ticket_requests: AtomicU64,
    pub logout_requests: AtomicU64,
    /// Requests and handshakes answered with a `--fault`.
    pub faults_applied: AtomicU64,
    /// Requests that arrived for the host a `redirect-other` fault points to.
    pub redirected_requests: AtomicU64,
    /// Requests being answered now, and the most there have been at once.
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

/// Counts one request as being answered while it lives (also when its connection drops it).
#[derive(Debug)]
pub struct InFlight<'c>(&'c Counters);

impl<'c> InFlight<'c> {
    pub fn enter(counters: &'c Counters) -> Self {
        let now = Counters::bump(&counters.in_flight);
        counters.max_in_flight.fetch_max(now, Ordering::Relaxed);
        Self(counters)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Counters {
    /// Adds one and returns the new value.
    pub fn bump(counter: &AtomicU64) -> u64 {
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// The appliance's state, shared by all connections.
#[derive(Debug)]
pub struct State {
    tables: Mutex<Tables>,
    pub counters: Counters,
    ticket_ttl: Duration,
    max_sessions: usize,
    rng: SystemRandom,
}

impl State {
    pub fn new(ticket_ttl: Duration, max_sessions: usize) -> Self {
        Self {
            tables: Mutex::default(),
            counters: Counters::default(),
            ticket_ttl,
            max_sessions,
            rng: SystemRandom::new(),
        }
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        // No code path panics while holding the lock; if one ever did, the tables are still
        // consistent enough for a simulator.
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks the credentials and opens a session.
    pub fn login(&self, username: &str, password: &str) -> Result<NewSession, SessionError> {
        let user = USERS
            .iter()
            .find(|u| u.name == username && u.password == password)
            .ok_or(SessionError::InvalidCredentials)?;
        let id = uuid_v4(&self.rng)?;
        let token = format!("{TOKEN_PREFIX}{}", random_hex(&self.rng, 32)?);
        let mut tables = self.tables();
        let open = tables.open_per_user.entry(user.name).or_default();
        if *open >= self.max_sessions {
            return Err(SessionError::TooManySessions);
        }
        *open += 1;
        tables.session_serial += 1;
        let name = format!("session-{}", tables.session_serial);
        tables.tokens.insert(token.clone(), id.clone());
        tables.sessions.insert(
            id.clone(),
            Session {
                user,
                token: token.clone(),
            },
        );
        Counters::bump(&self.counters.logins);
        Ok(NewSession {
            id,
            name,
            username: user.name,
            token,
        })
    }

    /// The session id a bearer token belongs to.
    pub fn authenticate(&self, token: Option<&str>) -> Result<String, SessionError> {
        let token = token.ok_or(SessionError::Unauthorized)?;
        self.tables()
            .tokens
            .get(token)
            .cloned()
            .ok_or(SessionError::Unauthorized)
    }

    /// Issues a ticket for `session_id`, which `token` must belong to.
    pub fn create_ticket(
        &self,
        token: Option<&str>,
        session_id: &str,
    ) -> Result<String, SessionError> {
        let ticket = random_hex(&self.rng, 20)?;
        let mut tables = self.tables();
        let session = owned_session(&tables, token, session_id)?;
        if !session.user.can_launch {
            return Err(SessionError::PermissionDenied);
        }
        let now = Instant::now();
        let memory = TICKET_MEMORY.max(self.ticket_ttl);
        while let Some((created, _)) = tables.ticket_order.front()
            && now.duration_since(*created) >= memory
        {
            if let Some((_, old)) = tables.ticket_order.pop_front() {
                tables.tickets.remove(&old);
            }
        }
        tables.ticket_order.push_back((now, ticket.clone()));
        tables.tickets.insert(
            ticket.clone(),
            Ticket {
                created: now,
                used: false,
            },
        );
        Counters::bump(&self.counters.tickets_issued);
        Ok(ticket)
    }

    /// Ends `session_id` and its token; `token` must belong to it.
    pub fn delete_session(
        &self,
        token: Option<&str>,
        session_id: &str,
    ) -> Result<(), SessionError> {
        let mut tables = self.tables();
        owned_session(&tables, token, session_id)?;
        if let Some(session) = tables.sessions.remove(session_id) {
            tables.tokens.remove(&session.token);
            if let Some(open) = tables.open_per_user.get_mut(session.user.name) {
                *open = open.saturating_sub(1);
            }
        }
        Counters::bump(&self.counters.sessions_deleted);
        Ok(())
    }

    /// Consumes a ticket: it must exist, be unused and younger than the ticket lifetime.
    pub fn redeem_ticket(&self, ticket: &str) -> Result<(), TicketError> {
        let mut tables = self.tables();
        let record = tables.tickets.get_mut(ticket).ok_or(TicketError::Unknown)?;
        if record.used {
            return Err(TicketError::AlreadyUsed);
        }
        if record.created.elapsed() >= self.ticket_ttl {
            return Err(TicketError::Expired);
        }
        record.used = true;
        Ok(())
    }

    /// The `/_sim/stats` document.
    pub fn stats(&self) -> Stats {
        let open_sessions = self.tables().sessions.len() as u64;
        let c = &self.counters;
        Stats {
            connections: Counters::get(&c.connections),
            tls_handshakes: Counters::get(&c.tls_handshakes),
            requests: Counters::get(&c.requests),
            logins: Counters::get(&c.logins),
            open_sessions,
            tickets_issued: Counters::get(&c.tickets_issued),
            launches_ok: Counters::get(&c.launches_ok),
            launches_refused: Counters::get(&c.launches_refused),
            sessions_deleted: Counters::get(&c.sessions_deleted),
            login_requests: Counters::get(&c.login_requests),
            device_list_requests: Counters::get(&c.device_list_requests),
            ticket_requests: Counters::get(&c.ticket_requests),
            logout_requests: Counters::get(&c.logout_requests),
            faults_applied: Counters::get(&c.faults_applied),
            redirected_requests: Counters::get(&c.redirected_requests),
            max_concurrent_requests: Counters::get(&c.max_in_flight),
        }
    }
}

/// A snapshot of the counters, as `/_sim/stats` reports it.
#[derive(Debug, serde::Serialize)]
pub struct Stats {
    /// TCP connections accepted.
    pub connections: u64,
    /// TLS handshakes completed.
    pub tls_handshakes: u64,
    /// HTTP requests received (all paths).
    pub requests: u64,
    /// Successful logins.
    pub logins: u64,
    /// User sessions currently open.
    pub open_sessions: u64,
    pub tickets_issued: u64,
    /// Launch requests with a ticket that were accepted.
    pub launches_ok: u64,
    /// Launch requests with a ticket that were refused (ticket or parameter problem).
    pub launches_refused: u64,
    pub sessions_deleted: u64,
    /// `POST /api/v1/userSessions` requests, whatever the answer.
    pub login_requests: u64,
    /// `GET /api/v1/devices` requests, whatever the answer.
    pub device_list_requests: u64,
    /// `POST /api/v1/userSessions/<id>:createTicket` requests, whatever the answer.
    pub ticket_requests: u64,
    /// `DELETE /api/v1/userSessions/<id>` requests, whatever the answer.
    pub logout_requests: u64,
    /// Requests and TLS handshakes answered with a `--fault`.
    pub faults_applied: u64,
    /// Requests that arrived for the other host a `redirect-other` fault points to (a client
    /// that follows such a redirect would send them).
    pub redirected_requests: u64,
    /// The most requests that were being answered at the same moment (over HTTP/2, requests
    /// sent together on one connection overlap).
    pub max_concurrent_requests: u64,
}

/// The session `session_id`, provided `token` is valid and belongs to it.
fn owned_session<'t>(
    tables: &'t Tables,
    token: Option<&str>,
    session_id: &str,
) -> Result<&'t Session, SessionError> {
    let owner = token
        .and_then(|t| tables.tokens.get(t))
        .ok_or(SessionError::Unauthorized)?;
    let session = tables
        .sessions
        .get(session_id)
        .ok_or(SessionError::UnknownSession)?;
    if owner != session_id {
        return Err(SessionError::OtherSession);
    }
    Ok(session)
}

fn random_bytes<const N: usize>(rng: &SystemRandom) -> Result<[u8; N], SessionError> {
    let mut bytes = [0u8; N];
    rng.fill(&mut bytes).map_err(|_| SessionError::Random)?;
    Ok(bytes)
}

/// `len` random bytes as lower-case hex.
fn random_hex(rng: &SystemRandom, len: usize) -> Result<String, SessionError> {
    let mut bytes = vec![0u8; len];
    rng.fill(&mut bytes).map_err(|_| SessionError::Random)?;
    Ok(hex(&bytes))
}

/// A random (version 4) UUID in its usual text form.
fn uuid_v4(rng: &SystemRandom) -> Result<String, SessionError> {
    let mut b: [u8; 16] = random_bytes(rng)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(format!(
        "{}-{}-{}-{}-{}",
        hex(&b[0..4]),
        hex(&b[4..6]),
        hex(&b[6..8]),
        hex(&b[8..10]),
        hex(&b[10..16])
    ))
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(ttl: u64) -> State {
        State::new(Duration::from_secs(ttl), 2)
    }

    #[test]
    fn ticket_is_single_use() {
        let state = state(20);
        let session = state.login("admin", "admin-pass").ok();
        let session = session.as_ref();
        let ticket = session
            .and_then(|s| state.create_ticket(Some(&s.token), &s.id).ok())
            .unwrap_or_default();
        assert_eq!(ticket.len(), 40);
        assert!(session.is_some_and(|s| s.token.starts_with(TOKEN_PREFIX)));
        assert_eq!(state.redeem_ticket(&ticket), Ok(()));
        assert_eq!(state.redeem_ticket(&ticket), Err(TicketError::AlreadyUsed));
        assert_eq!(state.redeem_ticket("nope"), Err(TicketError::Unknown));
    }

    #[test]
    fn zero_ttl_tickets_are_expired() {
        let state = state(0);
        let session = state.login("operator", "operator-pass").ok();
        let ticket = session
            .as_ref()
            .and_then(|s| state.create_ticket(Some(&s.token), &s.id).ok())
            .unwrap_or_default();
        assert_eq!(state.redeem_ticket(&ticket), Err(TicketError::Expired));
    }

    #[test]
    fn session_rules() {
        let state = state(20);
        assert_eq!(
            state.login("admin", "wrong").err(),
            Some(SessionError::InvalidCredentials)
        );
        let a = state.login("auditor", "auditor-pass").ok();
        let b = state.login("auditor", "auditor-pass").ok();
        assert_eq!(
            state.login("auditor", "auditor-pass").err(),
            Some(SessionError::TooManySessions)
        );
        let (Some(a), Some(b)) = (a, b) else {
            panic!("logins failed")
        };
        assert_eq!(
            state.create_ticket(Some(&a.token), &a.id),
            Err(SessionError::PermissionDenied)
        );
        assert_eq!(
            state.create_ticket(Some(&a.token), &b.id),
            Err(SessionError::OtherSession)
        );
        assert_eq!(
            state.delete_session(Some(&a.token), "x"),
            Err(SessionError::UnknownSession)
        );
        assert_eq!(state.delete_session(Some(&a.token), &a.id), Ok(()));
        assert_eq!(
            state.authenticate(Some(&a.token)),
            Err(SessionError::Unauthorized)
        );
        assert_eq!(state.authenticate(Some(&b.token)), Ok(b.id.clone()));
        // Ending a session frees its place under the limit; other users have their own.
        assert!(state.login("auditor", "auditor-pass").is_ok());
        assert_eq!(
            state.login("auditor", "auditor-pass").err(),
            Some(SessionError::TooManySessions)
        );
        assert!(state.login("admin", "admin-pass").is_ok());
    }
}
