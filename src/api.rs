//! The only module that speaks HTTP: the appliance's REST API as typed calls, one shared
//! `reqwest::Client` (one TLS connection, kept alive), and the mapping of every status and
//! transport failure to an [`Error`] with its exit code.
//!
//! Defensive assumptions where the API is undocumented: login may answer 200 instead of 201;
//! the device list is not paginated (a hint of paging is reported at `-v`); unknown fields are
//! ignored; redirects are never followed; logout (`DELETE /api/v1/userSessions/<id>`) may be
//! unsupported (404/405).

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::config::Config;
use crate::diag;
use crate::error::{Error, Result, TlsProblem};
use crate::tls::{self, Verifier};

/// The default cap on a response body (64 MiB, `--max-body`): larger answers are refused
/// (exit 7).
pub const DEFAULT_MAX_BODY_MIB: u64 = 64;

/// How long a ticket lives on the appliance.
pub const TICKET_LIFETIME: Duration = Duration::from_secs(20);

/// A logged-in user session. The token never reaches Debug output.
#[derive(Debug)]
pub struct Session {
    pub id: String,
    pub token: SecretString,
}

/// A single-use launch ticket and when it was asked for (the 20 s start from about then).
pub struct Ticket {
    pub value: SecretString,
    pub requested_at: SystemTime,
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket")
            .field("value", &"(redacted)")
            .field("requested_at", &self.requested_at)
            .finish()
    }
}

/// What logging out achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logout {
    Ended,
    NotSupported,
}

/// One appliance: its address, the HTTP client and the certificate verifier of this run.
#[derive(Debug)]
pub struct Appliance {
    client: reqwest::Client,
    base: Url,
    host: String,
    timeout: Duration,
    verifier: Arc<Verifier>,
    /// The largest body read, in bytes.
    max_body: usize,
    /// Whether the appliance speaks HTTP/2 (learnt at login): only then do several requests
    /// share the one connection at once.
    multiplexed: AtomicBool,
}

/// An API step, named in messages and `-v` output.
#[derive(Debug, Clone, Copy)]
enum Step {
    Connect,
    Login,
    Devices,
    Ticket,
    Logout,
}

impl Step {
    /// Steps that are retried on 429/502/503/504 and transport failures. A login is retried
    /// only when the connection failed before the request was sent.
    fn retried(self) -> bool {
        matches!(self, Step::Devices | Step::Ticket)
    }

    fn label(self) -> &'static str {
        match self {
            Step::Connect => "the connection",
            Step::Login => "the login",
            Step::Devices => "the device list",
            Step::Ticket => "the ticket request",
            Step::Logout => "the logout",
        }
    }
}

#[derive(Deserialize)]
struct LoginBody {
    user_session: Option<LoginSession>,
    jwt: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct LoginSession {
    id: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct TicketBody {
    ticket: Option<serde_json::Value>,
}

use crate::device_list::DeviceStream;
pub use crate::device_list::{RawDevice, decode as decode_device_list};

/// A short, sanitised excerpt of a body for error messages: the JSON `error`/`message` field
/// when there is one, else the text without markup, at most 160 characters.
pub fn excerpt(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: Option<serde_json::Value>,
        message: Option<serde_json::Value>,
    }
    let text = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { error, message }) => match message.or(error) {
            Some(serde_json::Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::from_utf8_lossy(body).into_owned(),
        },
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let mut plain = String::with_capacity(text.len().min(512));
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            _ if in_tag => {}
            _ => plain.push(c),
        }
    }
    let collapsed: String = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = collapsed.chars().take(160).collect();
    if collapsed.chars().count() > 160 {
        short.push('…');
    }
    crate::sanitize::terminal_safe(&short).into_owned()
}

fn status_text(status: StatusCode, body: &[u8]) -> String {
    let ex = excerpt(body);
    if ex.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {ex}")
    }
}

/// The innermost description of an error chain, which says the most ("Connection refused").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    crate::sanitize::terminal_safe(&cur.to_string()).into_owned()
}

/// A rustls error somewhere in the chain. `io::Error::source()` skips the error it wraps, so
/// wrapped errors are walked into explicitly.
fn find_rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            cur = Some(inner as &(dyn std::error::Error + 'static));
            continue;
        }
        cur = err.source();
    }
    None
}

impl Appliance {
    /// A client for the appliance of `config`; `known` is the known-hosts fingerprint recorded
    /// for it, if any.
    pub fn new(config: &Config, known: Option<[u8; 32]>) -> Result<Self> {
        Self::build(config, &config.trust, known)
    }

    /// A client that accepts any certificate and remembers it, for `trust` to show; it must
    /// send nothing but an anonymous `GET /`.
    pub fn observer(config: &Config) -> Result<Self> {
        let trust = crate::config::TrustOptions {
            insecure: true,
            ..Default::default()
        };
        Self::build(config, &trust, None)
    }

    fn build(
        config: &Config,
        trust: &crate::config::TrustOptions,
        known: Option<[u8; 32]>,
    ) -> Result<Self> {
        if config.trust.insecure {
            diag::warn_always(format!(
                "--insecure: the certificate of {} is not verified; anyone on the network path \
                 can read the password",
                config.host_label
            ));
        }
        let (tls_config, verifier) = tls::client_config(trust, known)?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .pool_max_idle_per_host(1)
            .user_agent(concat!("dsview-launch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                Error::Internal(format!("cannot set up the HTTP client: {}", root_cause(&e)))
            })?;
        Ok(Appliance {
            client,
            base: config.base.clone(),
            host: config.host_label.clone(),
            timeout: config.timeout,
            verifier,
            multiplexed: AtomicBool::new(false),
            max_body: usize::try_from(config.max_body_mib.saturating_mul(1024 * 1024))
                .unwrap_or(usize::MAX),
        })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    fn url(&self, path_segments: &[&str], query: Option<&str>) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.clear().extend(path_segments);
        }
        url.set_query(query);
        url
    }

    fn map_transport(&self, step: Step, e: &reqwest::Error) -> Error {
        if let Some((problem, reason)) = self.verifier.refusal() {
            return Error::Tls {
                host: self.host.clone(),
                reason,
                problem,
                presented: self.verifier.presented(),
            };
        }
        if let Some(tls_err) = find_rustls_error(e) {
            return Error::Tls {
                host: self.host.clone(),
                reason: format!("the TLS handshake failed: {}", tls::describe(tls_err)),
                problem: TlsProblem::Handshake,
                presented: self.verifier.presented(),
            };
        }
        if e.is_timeout() {
            return Error::Timeout {
                host: self.host.clone(),
                step: step.label(),
                secs: self.timeout.as_secs(),
            };
        }
        Error::Network {
            host: self.host.clone(),
            reason: root_cause(e),
        }
    }

    /// Send one request and read its body (capped at `max_body`).
    async fn call(
        &self,
        step: Step,
        method: Method,
        url: Url,
        token: Option<&SecretString>,
        json: Option<&serde_json::Value>,
    ) -> Result<(StatusCode, Vec<u8>)> {
        let (status, _, body) = self
            .call_with_version(step, method, url, token, json, None)
            .await?;
        Ok((status, body))
    }

    async fn call_with_version<'s>(
        &self,
        step: Step,
        method: Method,
        url: Url,
        token: Option<&SecretString>,
        json: Option<&serde_json::Value>,
        mut sink: Option<ChunkSink<'_, 's>>,
    ) -> Result<(StatusCode, reqwest::Version, Vec<u8>)> {
        let path = url.path().to_owned();
        let mut waited = Duration::ZERO;
        for attempt in 1..=MAX_ATTEMPTS {
            let outcome = self
                .attempt(step, &method, &url, token, json, sink.as_deref_mut())
                .await;
            let (delay, why) = match &outcome {
                Ok(answer) if step.retried() && answer.retryable_status() => {
                    let why = format!("{}", answer.status);
                    match answer.retry_after {
                        Some(asked) if asked > MAX_RETRY_AFTER => {
                            diag::verbose(
                                1,
                                format!(
                                    "the appliance asks to retry after {} s; not waiting that long",
                                    asked.as_secs()
                                ),
                            );
                            (None, why)
                        }
                        Some(asked) => (Some(asked), why),
                        None => (Some(backoff(attempt)), why),
                    }
                }
                Err(Failure::Transport {
                    connect,
                    timeout,
                    err,
                }) if !*timeout && (*connect || step.retried()) => {
                    (Some(backoff(attempt)), err.to_string())
                }
                _ => (None, String::new()),
            };
            match delay {
                Some(delay) if attempt < MAX_ATTEMPTS && waited + delay <= MAX_RETRY_WAIT => {
                    diag::verbose(
                        1,
                        format!(
                            "{method} {path}: {why}; retrying in {} ms (attempt {} of {MAX_ATTEMPTS})",
                            delay.as_millis(),
                            attempt + 1
                        ),
                    );
                    tokio::time::sleep(delay).await;
                    waited += delay;
                }
                _ => {
                    return match outcome {
                        Ok(answer) => Ok((answer.status, answer.version, answer.body)),
                        Err(Failure::Transport { err, .. } | Failure::Final(err)) => Err(err),
                    };
                }
            }
        }
        Err(Error::Internal(
            "retry loop ended without an outcome".to_owned(),
        ))
    }

    /// One request and its body.
    async fn attempt<'s>(
        &self,
        step: Step,
        method: &Method,
        url: &Url,
        token: Option<&SecretString>,
        json: Option<&serde_json::Value>,
        sink: Option<ChunkSink<'_, 's>>,
    ) -> Result<Answer, Failure> {
        let started = Instant::now();
        let path = url.path();
        let mut req = self.client.request(method.clone(), url.clone());
        if let Some(token) = token {
            req = req.bearer_auth(token.expose_secret());
        }
        if let Some(body) = json {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let transport = |e: reqwest::Error| match self.map_transport(step, &e) {
            // A certificate or handshake failure will not go away by asking again.
            err @ Error::Tls { .. } => Failure::Final(err),
            err => Failure::Transport {
                connect: e.is_connect(),
                timeout: e.is_timeout(),
                err,
            },
        };
        let mut resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let version = resp.version();
        if resp
            .content_length()
            .is_some_and(|n| n > self.max_body as u64)
        {
            return Err(Failure::Final(too_large(step, self.max_body)));
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|s| crate::sanitize::terminal_safe(s).into_owned());
        // A 200 answer goes to the sink as it arrives; anything else is buffered for messages.
        let mut sink = sink.filter(|_| status == StatusCode::OK);
        let mut body = Vec::new();
        if sink.is_none() {
            body.reserve(resp.content_length().unwrap_or(0) as usize);
        }
        let mut received = 0usize;
        loop {
            let chunk = match resp.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                // Part of the answer was already used: asking again would use it twice.
                Err(e) if received > 0 && sink.is_some() => {
                    return Err(Failure::Final(self.map_transport(step, &e)));
                }
                Err(e) => return Err(transport(e)),
            };
            received += chunk.len();
            if received > self.max_body {
                return Err(Failure::Final(too_large(step, self.max_body)));
            }
            match sink.as_deref_mut() {
                Some(sink) => sink(&chunk).map_err(Failure::Final)?,
                None => body.extend_from_slice(&chunk),
            }
        }
        diag::verbose(
            1,
            format!(
                "{method} {path} -> {status} ({version:?}, {received} bytes, {} ms)",
                started.elapsed().as_millis()
            ),
        );
        if status.is_redirection() {
            return Err(Failure::Final(Error::UnexpectedResponse {
                step: step.label(),
                detail: format!(
                    "HTTP {status}, a redirect to {:?}, which is not followed",
                    location.unwrap_or_default()
                ),
            }));
        }
        Ok(Answer {
            status,
            version,
            retry_after,
            body,
        })
    }

    /// `POST /api/v1/userSessions`.
    pub async fn login(&self, user: &str, password: &SecretString) -> Result<Session> {
        let body = serde_json::json!({ "username": user, "password": password.expose_secret() });
        let url = self.url(&["api", "v1", "userSessions"], None);
        let (status, version, bytes) = self
            .call_with_version(Step::Login, Method::POST, url, None, Some(&body), None)
            .await?;
        drop(body);
        self.multiplexed
            .store(version == reqwest::Version::HTTP_2, Ordering::Relaxed);
        match status {
            StatusCode::CREATED => {}
            StatusCode::OK => diag::verbose(
                1,
                "the login answered 200 where 201 is documented; accepted",
            ),
            StatusCode::UNAUTHORIZED => {
                return Err(Error::InvalidCredentials {
                    user: crate::sanitize::terminal_safe(user).into_owned(),
                    host: self.host.clone(),
                });
            }
            StatusCode::FORBIDDEN => {
                return Err(Error::PermissionDenied {
                    message: format!(
                        "the appliance refused the login: {}",
                        status_text(status, &bytes)
                    ),
                    hint: "the account may be locked, disabled or at its session limit; \
                           ask the appliance administrator"
                        .to_owned(),
                });
            }
            _ => return Err(unexpected_status(Step::Login, status, &bytes)),
        }
        let parsed: LoginBody = parse_json(Step::Login, &bytes)?;
        let token = SecretString::from(required_string(Step::Login, parsed.jwt, "jwt")?);
        let id = match parsed.user_session.and_then(|s| s.id) {
            Some(serde_json::Value::Number(n)) => n.to_string(),
            other => required_string(Step::Login, other, "user_session.id")?,
        };
        Ok(Session { id, token })
    }

    fn device_query(device_type: Option<&str>) -> Option<String> {
        device_type.map(|t| {
            let encoded: String = url::form_urlencoded::byte_serialize(t.as_bytes())
                .collect::<String>()
                .replace('+', "%20");
            format!("filter=device_type_programmatic_name%20{encoded}")
        })
    }

    /// `GET /api/v1/devices[?filter=device_type_programmatic_name <TYPE>]` for several types
    /// over the one connection, handing each device to `each` (`None` lists every device). With
    /// `wanted`, devices that cannot be that name or id may be skipped undecoded. Every answer
    /// is decoded as it streams in and nothing of it is kept. Over HTTP/2 the queries run
    /// concurrently, and devices of different types may reach `each` interleaved; over HTTP/1.1
    /// they run one after the other, because running them at once would need a second
    /// connection, whose handshake costs more round trips than the request it would overlap.
    pub async fn device_lists(
        &self,
        session: &Session,
        device_types: &[Option<&str>],
        wanted: Option<&str>,
        each: &mut dyn FnMut(RawDevice<'_>),
    ) -> Result<()> {
        // Shared by the concurrent queries, and borrowed only while a chunk is scanned, which
        // never spans an await.
        let each = &RefCell::new(each);
        let list = |device_type: &Option<&str>| {
            let query = Self::device_query(*device_type);
            async move {
                let url = self.url(&["api", "v1", "devices"], query.as_deref());
                let mut stream = DeviceStream::new(self.max_body).wanting(wanted);
                let mut sink = |chunk: &[u8]| stream.feed(chunk, &mut **each.borrow_mut());
                let (status, _, bytes) = self
                    .call_with_version(
                        Step::Devices,
                        Method::GET,
                        url,
                        Some(&session.token),
                        None,
                        Some(&mut sink),
                    )
                    .await?;
                device_list_status(status, &bytes)?;
                stream.finish().map(|_| ())
            }
        };
        if self.multiplexed.load(Ordering::Relaxed) {
            futures_util::future::try_join_all(device_types.iter().map(list)).await?;
        } else {
            for device_type in device_types {
                list(device_type).await?;
            }
        }
        Ok(())
    }

    /// `POST /api/v1/userSessions/<id>:createTicket`.
    pub async fn create_ticket(&self, session: &Session) -> Result<Ticket> {
        let requested_at = SystemTime::now();
        let last = format!("{}:createTicket", session.id);
        let url = self.url(&["api", "v1", "userSessions", &last], None);
        let (status, bytes) = self
            .call(Step::Ticket, Method::POST, url, Some(&session.token), None)
            .await?;
        match status {
            StatusCode::OK => {}
            StatusCode::CREATED => diag::verbose(
                1,
                "the ticket request answered 201 where 200 is documented; accepted",
            ),
            StatusCode::UNAUTHORIZED => return Err(session_rejected(status, &bytes)),
            StatusCode::FORBIDDEN => {
                return Err(Error::PermissionDenied {
                    message: format!(
                        "the user lacks the permission to launch viewers ({})",
                        status_text(status, &bytes)
                    ),
                    hint: "ask the appliance administrator to grant the user's role the \
                           permission to launch viewer sessions (Administration > Roles & Permissions)"
                        .to_owned(),
                });
            }
            _ => return Err(unexpected_status(Step::Ticket, status, &bytes)),
        }
        let parsed: TicketBody = parse_json(Step::Ticket, &bytes)?;
        Ok(Ticket {
            value: SecretString::from(required_string(Step::Ticket, parsed.ticket, "ticket")?),
            requested_at,
        })
    }

    /// Connect and return the certificate the appliance presents (for `trust`, whose client
    /// accepts any certificate and sends nothing but `GET /`).
    pub async fn fetch_certificate(&self) -> Result<rustls::pki_types::CertificateDer<'static>> {
        let url = self.url(&[], None);
        let outcome = self.client.get(url).send().await;
        if let Some(cert) = self.verifier.presented() {
            return Ok(cert);
        }
        match outcome {
            Err(e) => Err(self.map_transport(Step::Connect, &e)),
            Ok(_) => Err(Error::Internal(
                "the TLS connection showed no certificate".to_owned(),
            )),
        }
    }

    /// `DELETE /api/v1/userSessions/<id>`; 404 and 405 mean the appliance cannot do it.
    pub async fn logout(&self, session: &Session) -> Result<Logout> {
        let url = self.url(&["api", "v1", "userSessions", &session.id], None);
        let (status, bytes) = self
            .call(
                Step::Logout,
                Method::DELETE,
                url,
                Some(&session.token),
                None,
            )
            .await?;
        match status {
            s if s.is_success() => Ok(Logout::Ended),
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => Ok(Logout::NotSupported),
            StatusCode::UNAUTHORIZED => Ok(Logout::Ended),
            _ => Err(unexpected_status(Step::Logout, status, &bytes)),
        }
    }
}

/// How many times a request is tried at most.
const MAX_ATTEMPTS: u32 = 4;
/// The longest `Retry-After` the tool waits for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// The most time spent waiting between retries of one request.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(15);

/// An answer, before its status is interpreted.
struct Answer {
    status: StatusCode,
    version: reqwest::Version,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

impl Answer {
    fn retryable_status(&self) -> bool {
        matches!(self.status.as_u16(), 429 | 502 | 503 | 504)
    }
}

/// Why an attempt failed: in transport (maybe worth retrying) or for good.
enum Failure {
    Transport {
        /// The connection failed before the request was sent.
        connect: bool,
        timeout: bool,
        err: Error,
    },
    Final(Error),
}

/// `Retry-After`: delay-seconds, or an HTTP date. Public for property tests.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = humantime::parse_rfc3339_weak(value)
        .ok()
        .or_else(|| httpdate_to_system_time(value))?;
    Some(when.duration_since(SystemTime::now()).unwrap_or_default())
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form HTTP dates take.
fn httpdate_to_system_time(value: &str) -> Option<SystemTime> {
    let mut parts = value.split_whitespace();
    let (_weekday, day, month, year, time, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if zone != "GMT" {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    let iso = format!("{year}-{month:02}-{:02}T{time}Z", day.parse::<u8>().ok()?);
    humantime::parse_rfc3339(&iso).ok()
}

/// Exponential backoff with jitter: 250 ms, 500 ms, 1 s, ... plus up to half again at random.
fn backoff(attempt: u32) -> Duration {
    use ring::rand::SecureRandom;
    let base = Duration::from_millis(250) * 2u32.saturating_pow(attempt.saturating_sub(1));
    let mut byte = [0u8; 1];
    let jitter = match ring::rand::SystemRandom::new().fill(&mut byte) {
        Ok(()) => base.mul_f64(f64::from(byte[0]) / 510.0),
        Err(_) => Duration::ZERO,
    };
    base + jitter
}

/// A JSON body of the documented shape, or exit 7 naming the step.
fn parse_json<T: serde::de::DeserializeOwned>(step: Step, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::UnexpectedResponse {
        step: step.label(),
        detail: format!("the body is not the documented JSON ({e})"),
    })
}

/// A field the flow needs: a non-empty string.
fn required_string(step: Step, value: Option<serde_json::Value>, field: &str) -> Result<String> {
    match value {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s),
        _ => Err(Error::UnexpectedResponse {
            step: step.label(),
            detail: format!("the answer has no \"{field}\""),
        }),
    }
}

fn too_large(step: Step, max_body: usize) -> Error {
    Error::UnexpectedResponse {
        step: step.label(),
        detail: format!(
            "the answer is larger than {} MiB (raise --max-body if the inventory is that large)",
            max_body / (1024 * 1024)
        ),
    }
}

fn unexpected_status(step: Step, status: StatusCode, body: &[u8]) -> Error {
    Error::UnexpectedResponse {
        step: step.label(),
        detail: status_text(status, body),
    }
}

fn session_rejected(status: StatusCode, body: &[u8]) -> Error {
    Error::SessionExpired {
        detail: status_text(status, body),
    }
}

/// Where the body of a 200 answer goes as it arrives, instead of a buffer.
type ChunkSink<'a, 's> = &'a mut (dyn FnMut(&[u8]) -> Result<()> + 's);

/// What a device-list status means; the body of a 200 answer was already decoded.
fn device_list_status(status: StatusCode, bytes: &[u8]) -> Result<()> {
    match status {
        StatusCode::OK => Ok(()),
        StatusCode::UNAUTHORIZED => Err(session_rejected(status, bytes)),
        StatusCode::FORBIDDEN => Err(Error::PermissionDenied {
            message: format!(
                "the appliance refused to list devices: {}",
                status_text(status, bytes)
            ),
            hint: "the user's role needs the permission to view devices".to_owned(),
        }),
        _ => Err(unexpected_status(Step::Devices, status, bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_list_decoding_borrows_and_skips_unknown_fields() {
        let body = br#"{"total": 2, "devices": [
            {"id": "1", "device_name": "IPIQ Target Device ", "device_type_programmatic_name": "ADX-IP-IQ",
             "status": "ONLINE", "firmware": {"version": "1"}},
            {"id": "2", "device_name": "uhd", "device_type_programmatic_name": "ADX-IP-UHD",
             "connection_path_info": [{"path_type": "DCP_SERIAL_IP"}, {"id": 3}, {"path_type": "DCP_KVM_IP"}]}
        ]}"#;
        let mut seen = Vec::new();
        let n = decode_device_list(body, |d| seen.push(d.to_device())).expect("decodes");
        assert_eq!(n, 2);
        assert_eq!(seen[0].name, "IPIQ Target Device ");
        assert_eq!(seen[1].path_types, ["DCP_SERIAL_IP", "DCP_KVM_IP"]);
    }

    #[test]
    fn device_list_shape_errors_are_exit_7() {
        for body in [
            &b"{}"[..],
            b"[]",
            b"{\"devices\": {}}",
            b"{\"devices\": [{\"id\": 1}]}",
            b"not json",
            b"",
            b"{\"devices\": []} trailing",
        ] {
            let err = decode_device_list(body, |_| {}).expect_err("must fail");
            assert_eq!(err.exit_code(), 7, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn excerpts_are_short_and_plain() {
        assert_eq!(excerpt(br#"{"error":"unauthorized"}"#), "unauthorized");
        assert_eq!(
            excerpt(b"<html><body><h1>502 Bad Gateway</h1>\n<p>nginx</p></body></html>"),
            "502 Bad Gateway nginx"
        );
        assert_eq!(excerpt(b"\x1b[31mred"), "\\u{1b}[31mred");
        assert!(excerpt(&[b'a'; 1000]).chars().count() <= 161);
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 CET"), None);
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for attempt in 1..=3 {
            let base = Duration::from_millis(250) * 2u32.pow(attempt - 1);
            let d = backoff(attempt);
            assert!(d >= base && d <= base.mul_f64(1.5), "{attempt}: {d:?}");
        }
    }

    #[test]
    fn filter_uses_percent_twenty() {
        assert_eq!(
            Appliance::device_query(Some("ADX-IP-IQ")).as_deref(),
            Some("filter=device_type_programmatic_name%20ADX-IP-IQ")
        );
        assert_eq!(Appliance::device_query(None), None);
    }
}
