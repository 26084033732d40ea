//! Request dispatch and handlers: maps method and path to the appliance's endpoints, counts
//! requests per API step, applies `--latency-ms` and `--fail-every` to `/api/` requests, and
//! logs one line per request (method, path without query, status; never a password, token or
//! ticket). `--fault`s wrap this in `faults::handle`.

use std::io::Write as _;
use std::time::Duration;

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH};
use hyper::{Method, Request, StatusCode};
use serde::{Deserialize, Serialize};

use crate::faults::{Faults, Step};
use crate::inventory::{Inventory, ListCache};
use crate::launch::{self, LaunchQuery};
use crate::response::{self, ApiError, Reply};
use crate::state::{Counters, State};

/// Largest request body accepted.
const MAX_BODY: usize = 1024 * 1024;

/// The only field `GET /api/v1/devices?filter=` accepts.
const FILTER_FIELD: &str = "device_type_programmatic_name";

/// Behaviour switches that apply to every request.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub latency: Duration,
    pub fail_every: Option<u64>,
    pub quiet: bool,
}

/// Everything a request handler needs.
#[derive(Debug)]
pub struct App {
    pub state: State,
    pub inventory: Inventory,
    /// The device-list bodies written so far.
    pub lists: ListCache,
    pub options: Options,
    /// `None` unless a `--fault` is given.
    pub faults: Option<Faults>,
}

impl App {
    /// Answers one request and logs it.
    pub async fn handle(&self, req: Request<Incoming>) -> Reply {
        self.begin(&req);
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let reply = self.route(req).await;
        self.log(&method, &path, format_args!("{}", reply.status().as_u16()));
        reply
    }

    /// Counts a request, and it as a request of its API step; returns the step and the
    /// request's 1-based number among that step's requests.
    pub fn begin(&self, req: &Request<Incoming>) -> Option<(Step, u64)> {
        Counters::bump(&self.state.counters.requests);
        let step = Step::of(req.method(), req.uri().path())?;
        Some((step, Counters::bump(step.counter(&self.state.counters))))
    }

    /// The request log line on stderr: method, path (no query), outcome; none with `--quiet`.
    pub fn log(&self, method: &Method, path: &str, outcome: std::fmt::Arguments<'_>) {
        if !self.options.quiet {
            let _ = writeln!(std::io::stderr(), "{method} {path} {outcome}");
        }
    }

    /// Answers one request (no counting of it, no log line).
    pub async fn route(&self, req: Request<Incoming>) -> Reply {
        let path = req.uri().path();
        if path == "/_sim/stats" {
            return if req.method() == Method::GET {
                match serde_json::to_vec(&self.state.stats()) {
                    Ok(body) => response::json(StatusCode::OK, body),
                    Err(err) => ApiError::Internal(err.to_string()).into_reply(),
                }
            } else {
                ApiError::MethodNotAllowed { allow: "GET" }.into_reply()
            };
        }
        if path == "/login" {
            return if req.method() == Method::GET {
                response::html(StatusCode::OK, launch::login_page())
            } else {
                ApiError::MethodNotAllowed { allow: "GET" }.into_reply()
            };
        }
        if !path.starts_with("/api/") {
            return ApiError::NotFound.into_reply();
        }
        let number = Counters::bump(&self.state.counters.api_requests);
        if !self.options.latency.is_zero() {
            tokio::time::sleep(self.options.latency).await;
        }
        if self
            .options
            .fail_every
            .is_some_and(|every| number.is_multiple_of(every))
        {
            return ApiError::SimulatedFailure.into_reply();
        }
        self.api(req).await.unwrap_or_else(ApiError::into_reply)
    }

    async fn api(&self, req: Request<Incoming>) -> Result<Reply, ApiError> {
        let path = req.uri().path().to_owned();
        let rest = path.strip_prefix("/api/v1/").ok_or(ApiError::NotFound)?;
        let method = req.method();
        match rest {
            "userSessions" => {
                require(method, &Method::POST)?;
                self.login(req).await
            }
            "devices" => {
                require(method, &Method::GET)?;
                self.devices(&req)
            }
            "launchUI" | "launchUI/" => {
                require(method, &Method::GET)?;
                Ok(self.launch(&req))
            }
            _ => {
                let tail = rest
                    .strip_prefix("userSessions/")
                    .filter(|tail| !tail.is_empty() && !tail.contains('/'))
                    .ok_or(ApiError::NotFound)?;
                let (id, action) = split_action(tail);
                match action {
                    None => {
                        require(method, &Method::DELETE)?;
                        self.delete_session(&req, &id)
                    }
                    Some(action) if action == "createTicket" => {
                        require(method, &Method::POST)?;
                        self.create_ticket(&req, &id)
                    }
                    Some(_) => Err(ApiError::NotFound),
                }
            }
        }
    }

    /// `POST /api/v1/userSessions`.
    async fn login(&self, req: Request<Incoming>) -> Result<Reply, ApiError> {
        let body = read_body(req).await?;
        let credentials: Credentials = serde_json::from_slice(&body).map_err(|_| {
            ApiError::BadRequest(
                "malformed request body: expected {\"username\": ..., \"password\": ...}"
                    .to_owned(),
            )
        })?;
        let session = self
            .state
            .login(&credentials.username, &credentials.password)?;
        let body = LoginReply {
            user_session: UserSessionJson {
                id: &session.id,
                name: &session.name,
                username: session.username,
            },
            jwt: &session.token,
        };
        let body = serde_json::to_vec(&body).map_err(|err| ApiError::Internal(err.to_string()))?;
        Ok(response::json(StatusCode::CREATED, body))
    }

    /// `GET /api/v1/devices[?filter=device_type_programmatic_name NAME]`.
    fn devices(&self, req: &Request<Incoming>) -> Result<Reply, ApiError> {
        self.state.authenticate(bearer(req))?;
        let type_name = device_filter(req.uri().query())?;
        let body = self.lists.list(&self.inventory, type_name.as_deref());
        Ok(response::json(StatusCode::OK, body))
    }

    /// `POST /api/v1/userSessions/<id>:createTicket`.
    fn create_ticket(&self, req: &Request<Incoming>, id: &str) -> Result<Reply, ApiError> {
        let ticket = self.state.create_ticket(bearer(req), id)?;
        let body = serde_json::json!({ "ticket": ticket });
        Ok(response::json(StatusCode::OK, body.to_string()))
    }

    /// `DELETE /api/v1/userSessions/<id>`.
    fn delete_session(&self, req: &Request<Incoming>, id: &str) -> Result<Reply, ApiError> {
        self.state.delete_session(bearer(req), id)?;
        Ok(response::empty(StatusCode::NO_CONTENT))
    }

    /// `GET /api/v1/launchUI/?...`: consumes the ticket first, then checks the rest.
    fn launch(&self, req: &Request<Incoming>) -> Reply {
        let query = LaunchQuery::parse(req.uri().query());
        let Some(ticket) = query.ticket() else {
            return response::redirect("/login");
        };
        let outcome = match self.state.redeem_ticket(ticket) {
            Err(err) => Err((StatusCode::FORBIDDEN, err.to_string())),
            Ok(()) => query
                .validate(&self.inventory)
                .map_err(|reason| (StatusCode::BAD_REQUEST, reason)),
        };
        match outcome {
            Ok(launch) => {
                Counters::bump(&self.state.counters.launches_ok);
                response::html(StatusCode::OK, launch.page())
            }
            Err((status, reason)) => {
                Counters::bump(&self.state.counters.launches_refused);
                response::html(status, launch::refusal_page(&reason))
            }
        }
    }
}

/// The login request body.
#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

/// The login response body.
#[derive(Serialize)]
struct LoginReply<'a> {
    user_session: UserSessionJson<'a>,
    jwt: &'a str,
}

#[derive(Serialize)]
struct UserSessionJson<'a> {
    id: &'a str,
    name: &'a str,
    username: &'a str,
}

fn require(method: &Method, expected: &Method) -> Result<(), ApiError> {
    if method == expected {
        return Ok(());
    }
    let allow = match *expected {
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        _ => "GET",
    };
    Err(ApiError::MethodNotAllowed { allow })
}

/// Splits `<id>:<action>` (the colon may arrive percent-encoded as `%3A`).
fn split_action(tail: &str) -> (String, Option<String>) {
    let decoded = tail.replace("%3A", ":").replace("%3a", ":");
    match decoded.split_once(':') {
        Some((id, action)) => (id.to_owned(), Some(action.to_owned())),
        None => (decoded, None),
    }
}

/// The bearer token of the `Authorization` header, if it has one.
fn bearer(req: &Request<Incoming>) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The device type named by a `filter` query parameter, `None` when there is no filter.
pub fn device_filter(query: Option<&str>) -> Result<Option<String>, ApiError> {
    let mut filter = None;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if key != "filter" {
            continue;
        }
        if filter.is_some() {
            return Err(ApiError::BadRequest("more than one filter".to_owned()));
        }
        filter = Some(value.into_owned());
    }
    let Some(filter) = filter else {
        return Ok(None);
    };
    let Some((field, name)) = filter.split_once(' ') else {
        return Err(ApiError::BadRequest(format!(
            "malformed filter: expected \"{FILTER_FIELD} <NAME>\""
        )));
    };
    if field != FILTER_FIELD {
        return Err(ApiError::BadRequest(format!(
            "unsupported filter field: {field} (only {FILTER_FIELD})"
        )));
    }
    if name.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "malformed filter: expected \"{FILTER_FIELD} <NAME>\""
        )));
    }
    Ok(Some(name.to_owned()))
}

/// Reads a request body of at most [`MAX_BODY`] bytes.
async fn read_body(req: Request<Incoming>) -> Result<Vec<u8>, ApiError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY as u64) {
        return Err(ApiError::PayloadTooLarge);
    }
    match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(err) if err.is::<LengthLimitError>() => Err(ApiError::PayloadTooLarge),
        Err(err) => Err(ApiError::BadRequest(format!(
            "cannot read the request body: {err}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let check = |query: &str| device_filter(Some(query)).map_err(|e| e.status().as_u16());
        assert_eq!(
            check("filter=device_type_programmatic_name%20ADX-IP-IQ"),
            Ok(Some("ADX-IP-IQ".to_owned()))
        );
        assert_eq!(
            check("filter=device_type_programmatic_name+ADX-IP-UHD"),
            Ok(Some("ADX-IP-UHD".to_owned()))
        );
        assert_eq!(check(""), Ok(None));
        assert_eq!(check("filter=device_name%20x"), Err(400));
        assert_eq!(check("filter=device_type_programmatic_name"), Err(400));
        assert_eq!(check("filter=%FF%FE"), Err(400));
    }

    #[test]
    fn actions() {
        assert_eq!(
            split_action("abc:createTicket"),
            ("abc".to_owned(), Some("createTicket".to_owned()))
        );
        assert_eq!(
            split_action("abc%3AcreateTicket"),
            ("abc".to_owned(), Some("createTicket".to_owned()))
        );
        assert_eq!(split_action("abc"), ("abc".to_owned(), None));
    }
}
