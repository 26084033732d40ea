//! `--fault STEP=KIND[xN]`: deliberate misbehaviour, for testing a client against a broken or
//! hostile appliance. A fault names an API step (login, device list, ticket, logout, or the TLS
//! handshake) and what goes wrong there; `xN` limits it to the step's first N requests.
//!
//! Nothing here runs without a `--fault`: the server then builds no [`Faults`] and serves every
//! request straight through `App::handle`, with the plain TLS stream and body type.
//!
//! A fault either replaces the answer before the request reaches the appliance logic (errors,
//! redirects, resets, stalls before the headers: no session or ticket is created), or reshapes
//! a successful answer afterwards (body and status faults: the session or ticket does exist).
//! A failed answer (401, 403, ...) passes through unchanged.

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue, LOCATION, RETRY_AFTER, SERVER,
};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use crate::inventory::Device;
use crate::routes::{App, device_filter};
use crate::state::Counters;

/// The fault part of `dsview-sim --help`.
pub const HELP: &str = "\
Faults (--fault STEP=KIND[xN], repeatable):
  STEP is login, devices, ticket or logout; xN applies the fault to the step's first N requests
  only, then serves normally; several faults for one step apply in the order given.
  answer shape   malformed-json  empty-body  missing-field  missing-session-id (login)
                 wrong-types  wrong-device-types (devices)  nulls  extra-nesting
                 empty-devices (devices)  status-swap (login 200, ticket 201, devices 201)
  device names   control-names  invalid-utf8  long-name (devices only; added to the list)
  errors         html-502  empty-503  status-500  retry-after-429
  transport      huge-body (300 MiB, chunked)  huge-declared (300 MiB, content-length)
                 stall (half a body, then silence)  stall-headers (no answer at all)
                 reset (connection dropped, no answer)  redirect-same  redirect-other
  tls=handshake  refuse every TLS handshake with a fatal alert
  e.g. dsview-sim --fault devices=html-502x1 --fault ticket=reset";

/// The host a `redirect-other` fault sends clients to.
pub const OTHER_HOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// Size of a `huge-body` or `huge-declared` answer.
const HUGE_LEN: u64 = 300 * 1024 * 1024;

/// The API steps a fault can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Login,
    Devices,
    Ticket,
    Logout,
}

impl Step {
    /// The step a request belongs to, if any (method and path must both fit).
    pub fn of(method: &Method, path: &str) -> Option<Self> {
        let rest = path.strip_prefix("/api/v1/")?;
        if rest == "userSessions" {
            return (method == Method::POST).then_some(Self::Login);
        }
        if rest == "devices" {
            return (method == Method::GET).then_some(Self::Devices);
        }
        let tail = rest.strip_prefix("userSessions/")?;
        if tail.is_empty() || tail.contains('/') {
            return None;
        }
        let is_ticket = [":createTicket", "%3AcreateTicket", "%3acreateTicket"]
            .iter()
            .any(|action| tail.ends_with(action));
        let has_action = tail.contains(':') || tail.contains("%3A") || tail.contains("%3a");
        match *method {
            Method::POST if is_ticket => Some(Self::Ticket),
            Method::DELETE if !has_action => Some(Self::Logout),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Devices => "devices",
            Self::Ticket => "ticket",
            Self::Logout => "logout",
        }
    }

    /// The counter of this step's requests in `/_sim/stats`.
    pub fn counter(self, counters: &Counters) -> &AtomicU64 {
        match self {
            Self::Login => &counters.login_requests,
            Self::Devices => &counters.device_list_requests,
            Self::Ticket => &counters.ticket_requests,
            Self::Logout => &counters.logout_requests,
        }
    }
}

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MalformedJson,
    EmptyBody,
    MissingField,
    MissingSessionId,
    WrongTypes,
    WrongDeviceTypes,
    Nulls,
    ExtraNesting,
    EmptyDevices,
    StatusSwap,
    Html502,
    Empty503,
    Status500,
    RetryAfter429,
    HugeBody,
    HugeDeclared,
    Stall,
    StallHeaders,
    Reset,
    RedirectSame,
    RedirectOther,
    ControlNames,
    InvalidUtf8,
    LongName,
    Handshake,
}

const KINDS: &[(&str, Kind)] = &[
    ("malformed-json", Kind::MalformedJson),
    ("empty-body", Kind::EmptyBody),
    ("missing-field", Kind::MissingField),
    ("missing-session-id", Kind::MissingSessionId),
    ("wrong-types", Kind::WrongTypes),
    ("wrong-device-types", Kind::WrongDeviceTypes),
    ("nulls", Kind::Nulls),
    ("extra-nesting", Kind::ExtraNesting),
    ("empty-devices", Kind::EmptyDevices),
    ("status-swap", Kind::StatusSwap),
    ("html-502", Kind::Html502),
    ("empty-503", Kind::Empty503),
    ("status-500", Kind::Status500),
    ("retry-after-429", Kind::RetryAfter429),
    ("huge-body", Kind::HugeBody),
    ("huge-declared", Kind::HugeDeclared),
    ("stall", Kind::Stall),
    ("stall-headers", Kind::StallHeaders),
    ("reset", Kind::Reset),
    ("redirect-same", Kind::RedirectSame),
    ("redirect-other", Kind::RedirectOther),
    ("control-names", Kind::ControlNames),
    ("invalid-utf8", Kind::InvalidUtf8),
    ("long-name", Kind::LongName),
    ("handshake", Kind::Handshake),
];

impl Kind {
    fn name(self) -> &'static str {
        KINDS
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("?", |(name, _)| name)
    }

    /// Whether this kind means something at `step`.
    fn fits(self, step: Step) -> bool {
        match self {
            Self::MissingSessionId => step == Step::Login,
            Self::WrongDeviceTypes
            | Self::EmptyDevices
            | Self::ControlNames
            | Self::InvalidUtf8
            | Self::LongName => step == Step::Devices,
            Self::EmptyBody
            | Self::MissingField
            | Self::WrongTypes
            | Self::Nulls
            | Self::ExtraNesting => step != Step::Logout,
            Self::Handshake => false,
            _ => true,
        }
    }

    /// Whether the fault answers in place of the appliance (the request never reaches it).
    fn replaces_answer(self) -> bool {
        matches!(
            self,
            Self::Html502
                | Self::Empty503
                | Self::Status500
                | Self::RetryAfter429
                | Self::StallHeaders
                | Self::Reset
                | Self::RedirectSame
                | Self::RedirectOther
        )
    }
}

/// Where a fault applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Step(Step),
    Handshake,
}

/// One `--fault` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultSpec {
    target: Target,
    kind: Kind,
    /// Apply to this many requests (or handshakes) only; `None`: to every one.
    count: Option<u64>,
}

impl FaultSpec {
    /// Parses `STEP=KIND[xN]` or `tls=handshake[xN]`.
    pub fn parse(value: &str) -> Result<Self, String> {
        let (target, rest) = value
            .split_once('=')
            .ok_or_else(|| "expected STEP=KIND[xN], e.g. devices=html-502x1".to_owned())?;
        let (kind_name, count) = match rest.rsplit_once('x') {
            Some((kind, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                let n: u64 = n.parse().map_err(|_| format!("{n} is too large"))?;
                if n == 0 {
                    return Err("x0 would never apply; leave the fault out".to_owned());
                }
                (kind, Some(n))
            }
            _ => (rest, None),
        };
        let kind = KINDS
            .iter()
            .find(|(name, _)| *name == kind_name)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| {
                let names: Vec<&str> = KINDS.iter().map(|(name, _)| *name).collect();
                format!("unknown fault {kind_name:?}; known: {}", names.join(", "))
            })?;
        let target = match target {
            "login" => Target::Step(Step::Login),
            "devices" => Target::Step(Step::Devices),
            "ticket" => Target::Step(Step::Ticket),
            "logout" => Target::Step(Step::Logout),
            "tls" => Target::Handshake,
            other => {
                return Err(format!(
                    "unknown step {other:?}; expected login, devices, ticket, logout or tls"
                ));
            }
        };
        let fits = match target {
            Target::Step(step) => kind.fits(step),
            Target::Handshake => kind == Kind::Handshake,
        };
        if !fits {
            return Err(match target {
                Target::Step(step) => format!("{kind_name} does not apply to {}", step.name()),
                Target::Handshake => "the only tls fault is tls=handshake".to_owned(),
            });
        }
        Ok(Self {
            target,
            kind,
            count,
        })
    }
}

impl std::fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.target {
            Target::Step(step) => write!(f, "{}={}", step.name(), self.kind.name())?,
            Target::Handshake => write!(f, "tls={}", self.kind.name())?,
        }
        match self.count {
            Some(n) => write!(f, "x{n}"),
            None => Ok(()),
        }
    }
}

/// The configured faults of a running simulator.
#[derive(Debug)]
pub struct Faults {
    specs: Vec<FaultSpec>,
    handshakes: AtomicU64,
    /// Where the simulator listens (for `redirect-other`'s port and a fallback Host).
    local: SocketAddr,
}

impl Faults {
    /// `None` when no fault is configured.
    pub fn new(specs: &[FaultSpec], local: SocketAddr) -> Option<Self> {
        (!specs.is_empty()).then(|| Self {
            specs: specs.to_vec(),
            handshakes: AtomicU64::new(0),
            local,
        })
    }

    /// The faults as given, for the start-up help text.
    pub fn summary(&self) -> String {
        let specs: Vec<String> = self.specs.iter().map(ToString::to_string).collect();
        specs.join(" ")
    }

    /// Whether some fault redirects to [`OTHER_HOST`].
    pub fn redirects_elsewhere(&self) -> bool {
        self.specs.iter().any(|s| s.kind == Kind::RedirectOther)
    }

    /// Whether some fault adds the fault devices to the list (so they can be launched).
    pub fn lists_fault_devices(&self) -> bool {
        self.specs
            .iter()
            .any(|s| matches!(s.kind, Kind::ControlNames | Kind::LongName))
    }

    /// The fault for request (or handshake) number `number` (1-based) of `target`: faults
    /// for one target cover consecutive ranges of its requests, in the order given.
    fn pick(&self, target: Target, number: u64) -> Option<Kind> {
        let mut covered = 0u64;
        for spec in self.specs.iter().filter(|s| s.target == target) {
            match spec.count {
                None => return Some(spec.kind),
                Some(n) => {
                    covered = covered.saturating_add(n);
                    if number <= covered {
                        return Some(spec.kind);
                    }
                }
            }
        }
        None
    }

    /// Whether this connection's TLS handshake is to be refused (counts it as applied).
    pub fn refuses_handshake(&self, counters: &Counters) -> bool {
        let number = Counters::bump(&self.handshakes);
        let refuse = self.pick(Target::Handshake, number).is_some();
        if refuse {
            Counters::bump(&counters.faults_applied);
        }
        refuse
    }
}

/// Reads the client's first TLS record (the ClientHello), then answers with a fatal
/// `handshake_failure` alert and closes, as a server that shares no cipher suite would.
pub async fn refuse_handshake(mut tcp: TcpStream, within: Duration) {
    const ALERT: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];
    let exchange = async {
        let mut header = [0u8; 5];
        tcp.read_exact(&mut header).await?;
        let mut record = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
        tcp.read_exact(&mut record).await?;
        tcp.write_all(&ALERT).await?;
        tcp.shutdown().await
    };
    let _ = tokio::time::timeout(within, exchange).await;
}

/// The body of every response in fault mode: the normal one, or a fault's.
pub type FaultReply = Response<Either<Full<Bytes>, FaultBody>>;

/// Returned by the service to drop the connection without an answer (`reset`).
#[derive(Debug, thiserror::Error)]
#[error("connection reset on purpose (fault reset)")]
pub struct Reset;

/// Answers one request in fault mode.
pub async fn handle(app: &App, req: Request<Incoming>, abort: &Abort) -> Result<FaultReply, Reset> {
    let Some(faults) = app.faults.as_ref() else {
        return Ok(app.handle(req).await.map(Either::Left));
    };
    // The other host of a redirect-other is served without faults.
    let elsewhere = note_other_host(app, &req);
    let numbered = app.begin(&req).filter(|_| !elsewhere);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let chosen = numbered.and_then(|(step, n)| Some((step, faults.pick(Target::Step(step), n)?)));
    let Some((step, kind)) = chosen else {
        let reply = app.route(req).await;
        app.log(&method, &path, format_args!("{}", reply.status().as_u16()));
        return Ok(reply.map(Either::Left));
    };

    if kind.replaces_answer() {
        Counters::bump(&app.state.counters.faults_applied);
        let reply = match kind {
            Kind::Reset => {
                app.log(&method, &path, format_args!("reset (fault reset)"));
                abort.trigger();
                return Err(Reset);
            }
            Kind::StallHeaders => {
                app.log(
                    &method,
                    &path,
                    format_args!("no answer (fault stall-headers)"),
                );
                return std::future::pending().await;
            }
            Kind::RedirectSame => redirect(&format!("https://{}", authority(&req, faults)), &req),
            Kind::RedirectOther => {
                let other = SocketAddr::new(IpAddr::V4(OTHER_HOST), faults.local.port());
                redirect(&format!("https://{other}"), &req)
            }
            Kind::Html502 => html_502(),
            Kind::Empty503 => plain(StatusCode::SERVICE_UNAVAILABLE, None, Bytes::new()),
            Kind::Status500 => plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some("application/json"),
                Bytes::from_static(br#"{"error": "internal server error"}"#),
            ),
            _ => {
                let mut reply = plain(
                    StatusCode::TOO_MANY_REQUESTS,
                    Some("application/json"),
                    Bytes::from_static(br#"{"error": "too many requests, retry later"}"#),
                );
                reply
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("1"));
                reply
            }
        };
        app.log(
            &method,
            &path,
            format_args!("{} (fault {})", reply.status().as_u16(), kind.name()),
        );
        return Ok(reply);
    }

    // The fault reshapes a successful answer: let the appliance answer first.
    let type_filter = device_filter(req.uri().query()).ok().flatten();
    let normal = app.route(req).await;
    if !normal.status().is_success() {
        app.log(
            &method,
            &path,
            format_args!(
                "{} (fault {} not applied)",
                normal.status().as_u16(),
                kind.name()
            ),
        );
        return Ok(normal.map(Either::Left));
    }
    Counters::bump(&app.state.counters.faults_applied);
    let (mut parts, body) = normal.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    let reply = reshape(step, kind, &mut parts, body, type_filter.as_deref());
    app.log(
        &method,
        &path,
        format_args!("{} (fault {})", reply.status().as_u16(), kind.name()),
    );
    Ok(reply)
}

/// Records a request that arrived for [`OTHER_HOST`] (only a client that followed a
/// `redirect-other` would send one); true if it did.
fn note_other_host(app: &App, req: &Request<Incoming>) -> bool {
    let host = req
        .uri()
        .host()
        .map(str::to_owned)
        .or_else(|| {
            let value = req.headers().get(HOST)?.to_str().ok()?;
            let url = url::Url::parse(&format!("https://{value}/")).ok()?;
            url.host_str().map(str::to_owned)
        })
        .unwrap_or_default();
    if host.parse::<IpAddr>().ok() == Some(IpAddr::V4(OTHER_HOST)) {
        Counters::bump(&app.state.counters.redirected_requests);
        let with = if req.headers().contains_key(AUTHORIZATION) {
            "with"
        } else {
            "without"
        };
        app.log(
            req.method(),
            req.uri().path(),
            format_args!("arrived for the other host {OTHER_HOST} {with} an Authorization header"),
        );
        return true;
    }
    false
}

/// The authority the client used (`Host`, or the URI's for HTTP/2), else the listening address.
fn authority(req: &Request<Incoming>, faults: &Faults) -> String {
    req.uri()
        .authority()
        .map(ToString::to_string)
        .or_else(|| Some(req.headers().get(HOST)?.to_str().ok()?.to_owned()))
        .unwrap_or_else(|| faults.local.to_string())
}

/// A 302 to `origin` plus the request's own path and query.
fn redirect(origin: &str, req: &Request<Incoming>) -> FaultReply {
    let target = req
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let mut reply = plain(StatusCode::FOUND, None, Bytes::new());
    if let Ok(location) = HeaderValue::try_from(format!("{origin}{target}")) {
        reply.headers_mut().insert(LOCATION, location);
    }
    reply
}

/// What a reverse proxy in front of a dead appliance answers.
fn html_502() -> FaultReply {
    const PAGE: &[u8] = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    let mut reply = plain(
        StatusCode::BAD_GATEWAY,
        Some("text/html"),
        Bytes::from_static(PAGE),
    );
    reply
        .headers_mut()
        .insert(SERVER, HeaderValue::from_static("nginx"));
    reply
}

fn plain(status: StatusCode, content_type: Option<&'static str>, body: Bytes) -> FaultReply {
    let mut reply = Response::new(Either::Left(Full::new(body)));
    *reply.status_mut() = status;
    if let Some(content_type) = content_type {
        reply
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    reply
}

/// A device with wrong-typed fields, put first in the list by `wrong-device-types`.
const WRONG_TYPED_DEVICE: &[u8] = br#"{"id":7,"device_name":null,"device_type_programmatic_name":"ADX-IP-IQ","connection_path_info":[]}"#;

/// The device `invalid-utf8` adds: its name holds the raw bytes 0xFF 0xFE (not UTF-8).
const INVALID_UTF8_DEVICE: &[u8] = b"{\"id\":\"00000000-0000-4000-a000-000000000006\",\
\"device_name\":\"bad-\xFF\xFE-name\",\"device_type_programmatic_name\":\"ADX-IP-IQ\",\
\"device_type_name\":\"IPIQ IP KVM\",\"status\":\"ONLINE\",\"connection_path_info\":[]}";

/// The device `huge-body` repeats in a device list (a PDU: no viewer takes it).
const BULK_DEVICE: &[u8] = br#"{"id":"00000000-0000-4000-a000-000000000000","device_name":"bulk","device_type_programmatic_name":"PDU","connection_path_info":[]}"#;

const DEVICES_OPEN: &[u8] = b"{\"devices\":[";
const DEVICES_CLOSE: &[u8] = b"]}";

/// Applies an answer-shaping fault to a successful answer (`parts`, `body`).
fn reshape(
    step: Step,
    kind: Kind,
    parts: &mut hyper::http::response::Parts,
    body: Bytes,
    type_filter: Option<&str>,
) -> FaultReply {
    let mut status = parts.status;
    // A fault that adds a body cannot keep a bodiless 204.
    let bodied = |status: StatusCode| {
        if status == StatusCode::NO_CONTENT {
            StatusCode::OK
        } else {
            status
        }
    };
    let new_body: Either<Full<Bytes>, FaultBody> = match kind {
        Kind::MalformedJson => {
            status = bodied(status);
            Either::Left(Full::new(Bytes::from_static(match step {
                Step::Login => br#"{"jwt": "x","#,
                Step::Devices => br#"{"devices": [{"id": "x","#,
                Step::Ticket => br#"{"ticket": "x","#,
                Step::Logout => br#"{"user_session": {"id": "x","#,
            })))
        }
        Kind::EmptyBody => Either::Left(Full::new(Bytes::new())),
        Kind::StatusSwap => {
            status = match step {
                Step::Login => StatusCode::OK,
                Step::Devices | Step::Ticket => StatusCode::CREATED,
                Step::Logout => StatusCode::OK,
            };
            Either::Left(Full::new(body))
        }
        Kind::HugeBody | Kind::HugeDeclared => {
            status = bodied(status);
            let huge = FaultBody::huge(step, &body, kind == Kind::HugeDeclared);
            if let Some(len) = huge.size_hint().exact() {
                parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
            }
            Either::Right(huge)
        }
        Kind::Stall => {
            status = bodied(status);
            let full = if body.is_empty() {
                Bytes::from_static(b"{}")
            } else {
                body
            };
            parts
                .headers
                .insert(CONTENT_LENGTH, HeaderValue::from(full.len()));
            Either::Right(FaultBody::stall(full))
        }
        _ => Either::Left(Full::new(Bytes::from(reshape_json(
            step,
            kind,
            &body,
            type_filter,
        )))),
    };
    if matches!(kind, Kind::EmptyBody) {
        parts.headers.remove(CONTENT_TYPE);
    }
    let mut reply = Response::new(new_body);
    *reply.status_mut() = status;
    *reply.headers_mut() = std::mem::take(&mut parts.headers);
    reply
}

/// The JSON body of a shape or device-name fault, from the normal `body`.
fn reshape_json(step: Step, kind: Kind, body: &[u8], type_filter: Option<&str>) -> Vec<u8> {
    if step == Step::Devices {
        return reshape_devices(kind, body, type_filter);
    }
    let mut value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let field = if step == Step::Login { "jwt" } else { "ticket" };
    match kind {
        Kind::ExtraNesting => value = serde_json::json!({ "data": value }),
        Kind::MissingField => {
            if let Some(map) = value.as_object_mut() {
                map.remove(field);
            }
        }
        Kind::MissingSessionId => {
            if let Some(session) = value.get_mut("user_session").and_then(Value::as_object_mut) {
                session.remove("id");
            }
        }
        Kind::WrongTypes => {
            value[field] = if step == Step::Login {
                serde_json::json!(42)
            } else {
                serde_json::json!([1])
            };
        }
        Kind::Nulls => {
            value = if step == Step::Login {
                serde_json::json!({
                    "user_session": { "id": null, "name": null, "username": null },
                    "jwt": null
                })
            } else {
                serde_json::json!({ "ticket": null })
            };
        }
        _ => {}
    }
    value.to_string().into_bytes()
}

/// The device-list body of a shape or device-name fault. The normal body is
/// `{"devices":[...]}` exactly, as the inventory writes it.
fn reshape_devices(kind: Kind, body: &[u8], type_filter: Option<&str>) -> Vec<u8> {
    let inner = body
        .strip_prefix(DEVICES_OPEN)
        .and_then(|rest| rest.strip_suffix(DEVICES_CLOSE))
        .unwrap_or_default();
    let list = |first: &[&[u8]], last: &[&[u8]]| {
        let mut out = DEVICES_OPEN.to_vec();
        for item in first.iter().chain([&inner]).chain(last) {
            if item.is_empty() {
                continue;
            }
            if out.len() > DEVICES_OPEN.len() {
                out.push(b',');
            }
            out.extend_from_slice(item);
        }
        out.extend_from_slice(DEVICES_CLOSE);
        out
    };
    // The added devices are all ADX-IP-IQ: a filtered list holds them only for that type.
    let listed = type_filter.is_none_or(|t| t == "ADX-IP-IQ");
    let added = |devices: &mut dyn Iterator<Item = Device>| -> Vec<u8> {
        let mut out = Vec::new();
        for device in devices.filter(|_| listed) {
            if !out.is_empty() {
                out.push(b',');
            }
            device.write_json(&mut out);
        }
        out
    };
    match kind {
        Kind::MissingField => b"{}".to_vec(),
        Kind::WrongTypes => br#"{"devices":{}}"#.to_vec(),
        Kind::Nulls => br#"{"devices":null}"#.to_vec(),
        Kind::EmptyDevices => br#"{"devices":[]}"#.to_vec(),
        Kind::ExtraNesting => [&b"{\"data\":"[..], body, b"}"].concat(),
        Kind::WrongDeviceTypes => list(&[WRONG_TYPED_DEVICE], &[]),
        Kind::ControlNames => list(&[], &[&added(&mut Device::control_names())]),
        Kind::LongName => list(&[], &[&added(&mut Device::long_name().into_iter())]),
        Kind::InvalidUtf8 if listed => list(&[], &[INVALID_UTF8_DEVICE]),
        _ => body.to_vec(),
    }
}

/// A body that is streamed rather than held: a huge answer made of one repeated block, or
/// half an answer followed by silence.
#[derive(Debug)]
pub enum FaultBody {
    Repeat {
        head: Option<Bytes>,
        block: Bytes,
        blocks_left: u64,
        tail: Option<Bytes>,
        /// The total length, when the answer declares it.
        declared: Option<u64>,
    },
    Stall {
        first: Option<Bytes>,
        len: u64,
    },
}

impl FaultBody {
    /// About [`HUGE_LEN`] bytes of JSON that would be a valid answer if read to the end: a
    /// device list with a bulk device repeated before the real ones, or the real answer
    /// with a huge `padding` array first. Exactly [`HUGE_LEN`] bytes when `declared`.
    fn huge(step: Step, normal: &Bytes, declared: bool) -> Self {
        let (open, unit, tail) = if step == Step::Devices {
            let inner = normal
                .strip_prefix(DEVICES_OPEN)
                .and_then(|rest| rest.strip_suffix(DEVICES_CLOSE))
                .filter(|inner| !inner.is_empty())
                .unwrap_or(BULK_DEVICE);
            (
                DEVICES_OPEN,
                [BULK_DEVICE, b","].concat(),
                [inner, DEVICES_CLOSE].concat(),
            )
        } else {
            let rest = normal.strip_prefix(b"{").unwrap_or(b"}");
            let tail = if rest == b"}" {
                b"0]}".to_vec()
            } else {
                [b"0],", rest].concat()
            };
            (&b"{\"padding\":["[..], b"0,".to_vec(), tail)
        };
        let block = Bytes::from(unit.repeat((64 * 1024 / unit.len()).max(1)));
        let fixed = (open.len() + tail.len()) as u64;
        let room = HUGE_LEN.saturating_sub(fixed);
        let blocks = room / block.len() as u64;
        // JSON allows whitespace after `[`: it pads the answer to the exact length.
        let pad = usize::try_from(room % block.len() as u64).unwrap_or(0);
        let mut head = open.to_vec();
        head.resize(open.len() + pad, b' ');
        let total = fixed + pad as u64 + blocks * block.len() as u64;
        Self::Repeat {
            head: Some(Bytes::from(head)),
            block,
            blocks_left: blocks,
            tail: Some(Bytes::from(tail)),
            declared: declared.then_some(total),
        }
    }

    /// The first half of `full`, then nothing, with the connection left open.
    fn stall(full: Bytes) -> Self {
        let len = full.len() as u64;
        Self::Stall {
            first: Some(full.slice(..full.len() / 2)),
            len,
        }
    }
}

impl Body for FaultBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let data = |bytes: Bytes| Poll::Ready(Some(Ok(Frame::data(bytes))));
        match self.get_mut() {
            Self::Repeat {
                head,
                block,
                blocks_left,
                tail,
                ..
            } => {
                if let Some(head) = head.take() {
                    return data(head);
                }
                if *blocks_left > 0 {
                    *blocks_left -= 1;
                    return data(block.clone());
                }
                match tail.take() {
                    Some(tail) => data(tail),
                    None => Poll::Ready(None),
                }
            }
            // Never woken again: the rest of the answer never comes.
            Self::Stall { first, .. } => match first.take() {
                Some(first) => data(first),
                None => Poll::Pending,
            },
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Repeat {
                declared: Some(len),
                ..
            }
            | Self::Stall { len, .. } => SizeHint::with_exact(*len),
            Self::Repeat { .. } => SizeHint::default(),
        }
    }
}

/// Shared between a connection's I/O and its service: set to drop the connection abruptly.
#[derive(Debug, Clone, Default)]
pub struct Abort(Arc<AtomicBool>);

impl Abort {
    fn trigger(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the connection was reset on purpose.
    pub fn triggered(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A connection's TLS stream that fails every read and write once [`Abort`] is triggered, and
/// is then closed with SO_LINGER 0, so the client sees a TCP reset and no answer.
#[derive(Debug)]
pub struct AbortableIo {
    inner: TlsStream<TcpStream>,
    abort: Abort,
}

impl AbortableIo {
    pub fn new(inner: TlsStream<TcpStream>, abort: Abort) -> Self {
        Self { inner, abort }
    }

    fn check(&self) -> io::Result<()> {
        if self.abort.triggered() {
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection reset on purpose (fault reset)",
            ))
        } else {
            Ok(())
        }
    }
}

impl Drop for AbortableIo {
    fn drop(&mut self) {
        if self.abort.triggered() {
            let _ = self.inner.get_ref().0.set_zero_linger();
        }
    }
}

impl AsyncRead for AbortableIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for AbortableIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::FAULT_ID_PREFIX;

    /// Id of the device [`INVALID_UTF8_DEVICE`] describes: the fault device after the long
    /// name.
    fn invalid_utf8_id() -> String {
        format!("{FAULT_ID_PREFIX}000000000006")
    }

    fn parse(value: &str) -> Result<FaultSpec, String> {
        FaultSpec::parse(value)
    }

    #[test]
    fn specs_parse_with_and_without_counts() {
        let spec = parse("devices=html-502x1").ok();
        assert_eq!(
            spec.map(|s| (s.target, s.kind, s.count)),
            Some((Target::Step(Step::Devices), Kind::Html502, Some(1)))
        );
        // An `x` inside a kind name is not a count.
        assert_eq!(
            parse("login=extra-nesting").ok().map(|s| (s.kind, s.count)),
            Some((Kind::ExtraNesting, None))
        );
        assert_eq!(
            parse("tls=handshake").ok().map(|s| s.target),
            Some(Target::Handshake)
        );
        assert_eq!(
            parse("ticket=resetx12").map(|s| s.to_string()),
            Ok("ticket=resetx12".to_owned())
        );
        for bad in [
            "devices",
            "devices=teapot",
            "router=reset",
            "login=empty-devices",
            "ticket=missing-session-id",
            "logout=nulls",
            "tls=reset",
            "login=handshake",
            "devices=resetx0",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counted_faults_cover_consecutive_requests() {
        let specs: Vec<FaultSpec> = ["devices=resetx1", "devices=html-502x2", "login=stall"]
            .iter()
            .filter_map(|s| parse(s).ok())
            .collect();
        let local = SocketAddr::from(([127, 0, 0, 1], 8443));
        let Some(faults) = Faults::new(&specs, local) else {
            panic!("faults configured")
        };
        let devices = |n| faults.pick(Target::Step(Step::Devices), n);
        assert_eq!(devices(1), Some(Kind::Reset));
        assert_eq!(devices(2), Some(Kind::Html502));
        assert_eq!(devices(3), Some(Kind::Html502));
        assert_eq!(devices(4), None);
        assert_eq!(
            faults.pick(Target::Step(Step::Login), 99),
            Some(Kind::Stall)
        );
        assert_eq!(faults.pick(Target::Step(Step::Ticket), 1), None);
        assert!(Faults::new(&[], local).is_none());
    }

    #[test]
    fn steps_are_recognised_by_method_and_path() {
        let check = |method: Method, path: &str| Step::of(&method, path);
        assert_eq!(
            check(Method::POST, "/api/v1/userSessions"),
            Some(Step::Login)
        );
        assert_eq!(check(Method::GET, "/api/v1/devices"), Some(Step::Devices));
        assert_eq!(
            check(Method::POST, "/api/v1/userSessions/abc:createTicket"),
            Some(Step::Ticket)
        );
        assert_eq!(
            check(Method::POST, "/api/v1/userSessions/abc%3AcreateTicket"),
            Some(Step::Ticket)
        );
        assert_eq!(
            check(Method::DELETE, "/api/v1/userSessions/abc"),
            Some(Step::Logout)
        );
        assert_eq!(check(Method::GET, "/api/v1/userSessions"), None);
        assert_eq!(check(Method::GET, "/api/v1/launchUI/"), None);
        assert_eq!(
            check(Method::DELETE, "/api/v1/userSessions/abc:createTicket"),
            None
        );
    }

    fn list(extra: &[&str]) -> Vec<u8> {
        let mut out = DEVICES_OPEN.to_vec();
        out.extend_from_slice(extra.join(",").as_bytes());
        out.extend_from_slice(DEVICES_CLOSE);
        out
    }

    #[test]
    fn device_faults_keep_the_real_devices() {
        let body = list(&[r#"{"id":"a"}"#]);
        let names = |kind| -> Vec<String> {
            let out = reshape_devices(kind, &body, None);
            let value: Value = serde_json::from_slice(&out).unwrap_or_default();
            value["devices"]
                .as_array()
                .map(|a| a.iter().map(|d| d["device_name"].to_string()).collect())
                .unwrap_or_default()
        };
        assert_eq!(names(Kind::ControlNames).len(), 5);
        assert_eq!(names(Kind::LongName).len(), 2);
        assert_eq!(names(Kind::WrongDeviceTypes), ["null", "null"]);
        assert!(
            reshape_devices(Kind::ControlNames, &body, Some("ADX-IP-UHD")) == body,
            "a filter for another type lists no added device"
        );
        let bad = reshape_devices(Kind::InvalidUtf8, &list(&[]), None);
        assert!(std::str::from_utf8(&bad).is_err());
        let lossy = String::from_utf8_lossy(&bad).into_owned();
        let value: Value = serde_json::from_str(&lossy).unwrap_or_default();
        assert_eq!(value["devices"][0]["id"], invalid_utf8_id());
        assert_eq!(
            reshape_devices(Kind::ExtraNesting, &body, None),
            [&b"{\"data\":"[..], &body, b"}"].concat()
        );
    }

    #[test]
    fn login_faults_change_only_what_they_name() {
        let body = br#"{"user_session":{"id":"s","name":"n","username":"u"},"jwt":"t"}"#;
        let value = |kind| -> Value {
            serde_json::from_slice(&reshape_json(Step::Login, kind, body, None)).unwrap_or_default()
        };
        assert_eq!(value(Kind::MissingField).get("jwt"), None);
        assert_eq!(value(Kind::MissingField)["user_session"]["id"], "s");
        assert_eq!(
            value(Kind::MissingSessionId)["user_session"].get("id"),
            None
        );
        assert_eq!(value(Kind::WrongTypes)["jwt"], 42);
        assert_eq!(value(Kind::Nulls)["user_session"]["id"], Value::Null);
        assert_eq!(value(Kind::ExtraNesting)["data"]["jwt"], "t");
    }

    /// Drains a body, keeping only its length and its first and last bytes.
    fn drain(mut body: FaultBody) -> (u64, Vec<u8>, Vec<u8>) {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let (mut len, mut first, mut last) = (0u64, Vec::new(), Vec::new());
        while let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut body).poll_frame(&mut cx) {
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if first.is_empty() {
                first = data.to_vec();
            }
            len += data.len() as u64;
            last = data.to_vec();
        }
        (len, first, last)
    }

    #[test]
    fn huge_bodies_are_exactly_300_mib_of_valid_json_edges() {
        let normal = Bytes::from(list(&[r#"{"id":"a"}"#]));
        let body = FaultBody::huge(Step::Devices, &normal, true);
        assert_eq!(body.size_hint().exact(), Some(HUGE_LEN));
        let (len, first, last) = drain(body);
        assert_eq!(len, HUGE_LEN);
        assert!(first.starts_with(DEVICES_OPEN));
        assert_eq!(last, br#"{"id":"a"}]}"#);

        let login = Bytes::from_static(br#"{"jwt":"t"}"#);
        let body = FaultBody::huge(Step::Login, &login, false);
        assert_eq!(body.size_hint().exact(), None);
        let (len, first, last) = drain(body);
        assert_eq!(len, HUGE_LEN);
        assert!(first.starts_with(b"{\"padding\":["));
        assert_eq!(last, br#"0],"jwt":"t"}"#);
    }

    #[test]
    fn a_stalled_body_sends_half_then_waits() {
        let body = FaultBody::stall(Bytes::from_static(b"0123456789"));
        assert_eq!(body.size_hint().exact(), Some(10));
        let (len, first, _) = drain(body);
        assert_eq!((len, first), (5, b"01234".to_vec()));
    }
}
