//! The listener: binds, sets up the TLS identity, prints the start-up lines, accepts TCP
//! connections, runs TLS and then HTTP/1.1 (keep-alive) or, with `--http2` and ALPN `h2`,
//! HTTP/2 on each, and stops on SIGINT or SIGTERM, or, given a COMMAND, when that ends.

use std::convert::Infallible;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::{Body, Incoming};
use hyper::server::conn::{http1, http2};
use hyper::service::{Service, service_fn};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::cli::{Args, CertStyle};
use crate::faults::{self, Abort, AbortableIo, Faults, OTHER_HOST};
use crate::inventory::{Inventory, ListCache};
use crate::routes::{App, Options};
use crate::state::{Counters, InFlight, State, USERS};
use crate::tls::{CA_COMMON_NAME, DEFAULT_SANS, Identity, TlsError};

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a running COMMAND is checked for having ended.
const CHILD_POLL: Duration = Duration::from_millis(20);
/// How long a COMMAND may take to end after the simulator is told to stop, before it is killed.
const CHILD_GRACE: Duration = Duration::from_secs(2);
/// The demo account whose credentials a COMMAND gets.
const RUN_USER: &str = "admin";

/// Why the simulator could not start, or could not follow its COMMAND.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot resolve the certificate path {path}: {source}")]
    CertPath {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot run {program}: {source}")]
    Command {
        program: String,
        source: std::io::Error,
    },
    #[error("cannot wait for {program} to end: {source}")]
    Wait {
        program: String,
        source: std::io::Error,
    },
}

/// Runs the simulator until SIGINT or SIGTERM (exit code 0), or, given a COMMAND, until that
/// ends (its exit code).
pub async fn run(args: Args) -> Result<u8, StartError> {
    let requested = SocketAddr::new(args.bind, args.port);
    let listener = TcpListener::bind(requested)
        .await
        .map_err(|source| StartError::Bind {
            addr: requested,
            source,
        })?;
    let local = listener.local_addr().map_err(|source| StartError::Bind {
        addr: requested,
        source,
    })?;
    let faults = Faults::new(&args.faults, local);
    let elsewhere = faults.as_ref().is_some_and(Faults::redirects_elsewhere);

    let mut sans: Vec<String> = if args.sans.is_empty() {
        DEFAULT_SANS.iter().map(|s| (*s).to_owned()).collect()
    } else {
        args.sans.clone()
    };
    // A client that follows a redirect-other fault must get as far as sending its request,
    // so the certificate covers the other host too.
    if elsewhere && !sans.contains(&OTHER_HOST.to_string()) {
        sans.push(OTHER_HOST.to_string());
    }
    let identity = Identity::generate(args.cert_style, &sans)?;
    let cert_path = args
        .cert_out
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("dsview-sim-{}.pem", local.port())));
    let cert_path = std::path::absolute(&cert_path).map_err(|source| StartError::CertPath {
        path: cert_path.display().to_string(),
        source,
    })?;
    identity.write_pem(&cert_path)?;
    let acceptor = TlsAcceptor::from(identity.server_config(args.http2)?);

    // Where the system has it (Linux: all of 127/8 is loopback), listen on the other host as
    // well, so a request that follows a redirect-other fault is seen and counted.
    let other_listener = if elsewhere && local.ip() == IpAddr::V4(Ipv4Addr::LOCALHOST) {
        let other = SocketAddr::new(IpAddr::V4(OTHER_HOST), local.port());
        match TcpListener::bind(other).await {
            Ok(listener) => Some(listener),
            Err(err) => {
                log(
                    args.quiet,
                    format_args!(
                        "note: cannot also listen on {other} ({err}); a client that follows \
                         the redirect-other fault will not be seen"
                    ),
                );
                None
            }
        }
    } else {
        None
    };

    let lists_fault_devices = faults.as_ref().is_some_and(Faults::lists_fault_devices);
    let inventory =
        Inventory::new(!args.no_demo, args.devices).with_fault_devices(lists_fault_devices);
    let app = Arc::new(App {
        state: State::new(Duration::from_secs(args.ticket_ttl), args.max_sessions),
        inventory,
        lists: ListCache::default(),
        options: Options {
            latency: Duration::from_millis(args.latency_ms),
            fail_every: args.fail_every,
            quiet: args.quiet,
        },
        faults,
    });

    print_banner(
        &args,
        local,
        &cert_path,
        &identity,
        &inventory,
        app.faults.as_ref(),
    );

    let command = match args.command.split_first() {
        Some((program, rest)) => Some((
            program.to_string_lossy().into_owned(),
            spawn_command(program, rest, reachable(local), &cert_path)?,
        )),
        None => None,
    };
    let finished = async {
        match command {
            Some((program, child)) => Some((program, supervise(child).await)),
            None => {
                shutdown_signal().await;
                None
            }
        }
    };
    tokio::pin!(finished);
    let ended = loop {
        tokio::select! {
            ended = &mut finished => break ended,
            accepted = listener.accept() => accept(accepted, &acceptor, &app).await,
            accepted = accept_on(other_listener.as_ref()) => accept(accepted, &acceptor, &app).await,
        }
    };
    log(args.quiet, format_args!("dsview-sim: stopped"));
    match ended {
        None => Ok(0),
        Some((_, Ok(status))) => Ok(exit_code(status)),
        Some((program, Err(source))) => Err(StartError::Wait { program, source }),
    }
}

/// Starts serving an accepted connection, or pauses briefly after a failed accept.
async fn accept(
    accepted: std::io::Result<(TcpStream, SocketAddr)>,
    acceptor: &TlsAcceptor,
    app: &Arc<App>,
) {
    match accepted {
        Ok((tcp, _peer)) => {
            Counters::bump(&app.state.counters.connections);
            tokio::spawn(serve_connection(tcp, acceptor.clone(), Arc::clone(app)));
        }
        Err(err) => {
            log(app.options.quiet, format_args!("accept failed: {err}"));
            // Out of file descriptors and the like: give the system a moment.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Accepts on `listener`, or never when there is none.
async fn accept_on(listener: Option<&TcpListener>) -> std::io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

/// Starts COMMAND with the simulator's address, a demo account and the certificate in its
/// environment; standard input, output and error are inherited.
fn spawn_command(
    program: &OsString,
    args: &[OsString],
    host: SocketAddr,
    cert: &Path,
) -> Result<Child, StartError> {
    let password = USERS
        .iter()
        .find(|u| u.name == RUN_USER)
        .map_or("", |u| u.password);
    Command::new(program)
        .args(args)
        .env("DSVIEW_HOST", host.to_string())
        .env("DSVIEW_USER", RUN_USER)
        .env("DSVIEW_PASSWORD", password)
        .env("DSVIEW_CA_CERT", cert)
        .spawn()
        .map_err(|source| StartError::Command {
            program: program.to_string_lossy().into_owned(),
            source,
        })
}

/// Waits for COMMAND to end. On SIGINT or SIGTERM it gets [`CHILD_GRACE`] to end by itself (a
/// Ctrl-C on a terminal reaches it too), then it is killed.
async fn supervise(mut child: Child) -> std::io::Result<ExitStatus> {
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut kill_at: Option<Instant> = None;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if kill_at.is_some_and(|at| Instant::now() >= at) {
            // It may have ended meanwhile; wait() reports how, either way.
            let _ = child.kill();
            return child.wait();
        }
        tokio::select! {
            () = &mut shutdown, if kill_at.is_none() => kill_at = Some(Instant::now() + CHILD_GRACE),
            () = tokio::time::sleep(CHILD_POLL) => {}
        }
    }
}

/// The simulator's exit code for COMMAND's exit status: its code, or 128 + the signal that
/// killed it (Unix), or 1 when there is neither or the code does not fit.
fn exit_code(status: ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + signal).unwrap_or(u8::MAX);
        }
    }
    1
}

/// TLS, then HTTP on one accepted connection. With faults the TLS stream can be reset on
/// purpose and answers go through `faults::handle`; without, neither costs anything.
async fn serve_connection(tcp: TcpStream, acceptor: TlsAcceptor, app: Arc<App>) {
    let quiet = app.options.quiet;
    let _ = tcp.set_nodelay(true);
    if let Some(faults) = &app.faults
        && faults.refuses_handshake(&app.state.counters)
    {
        log(
            quiet,
            format_args!("TLS handshake refused (fault tls=handshake)"),
        );
        faults::refuse_handshake(tcp, HANDSHAKE_TIMEOUT).await;
        return;
    }
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(err)) => {
            log(quiet, format_args!("TLS handshake failed: {err}"));
            return;
        }
        Err(_) => {
            log(quiet, format_args!("TLS handshake timed out"));
            return;
        }
    };
    Counters::bump(&app.state.counters.tls_handshakes);
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    let abort = Abort::default();
    let result = if app.faults.is_some() {
        let io = AbortableIo::new(tls, abort.clone());
        let for_service = abort.clone();
        let service = service_fn(move |req| {
            let app = Arc::clone(&app);
            let abort = for_service.clone();
            async move {
                let _in_flight = InFlight::enter(&app.state.counters);
                faults::handle(&app, req, &abort).await
            }
        });
        serve_http(io, h2, service).await
    } else {
        let service = service_fn(move |req| {
            let app = Arc::clone(&app);
            async move {
                let _in_flight = InFlight::enter(&app.state.counters);
                Ok::<_, Infallible>(app.handle(req).await)
            }
        });
        serve_http(tls, h2, service).await
    };
    // A deliberate reset was logged with its request already.
    if let Err(err) = result
        && !abort.triggered()
    {
        log(
            quiet,
            format_args!("connection closed with an error: {err}"),
        );
    }
}

/// Serves HTTP/2 (`h2`) or HTTP/1.1 with keep-alive on a TLS stream.
async fn serve_http<I, S, B>(io: I, h2: bool, service: S) -> Result<(), hyper::Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let io = TokioIo::new(io);
    if h2 {
        http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .serve_connection(io, service)
            .await
    } else {
        http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .keep_alive(true)
            .serve_connection(io, service)
            .await
    }
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No handler could be installed: only a kill stops us.
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    () = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => ctrl_c.await,
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

/// One line to stderr, unless `--quiet`; a closed stderr is not an error worth dying for.
fn log(quiet: bool, line: std::fmt::Arguments<'_>) {
    if !quiet {
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// The three start-up lines (always), then a short help text unless `--quiet`; flushed, since
/// tests read them from a pipe. With a COMMAND, only the three lines, on stderr, so the
/// command's standard output stays its own.
fn print_banner(
    args: &Args,
    local: SocketAddr,
    cert_path: &Path,
    identity: &Identity,
    inventory: &Inventory,
    faults: Option<&Faults>,
) {
    let mut text = format!(
        "dsview-sim listening on https://{local}\ncertificate: {}\nfingerprint: {}\n",
        cert_path.display(),
        identity.fingerprint()
    );
    if !args.command.is_empty() {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
        return;
    }
    if !args.quiet {
        text.push_str(&help_text(args, local, cert_path, inventory, faults));
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// `local`, or for a wildcard bind the loopback address of its family (reachable either way).
fn reachable(local: SocketAddr) -> SocketAddr {
    if !local.ip().is_unspecified() {
        return local;
    }
    let ip: IpAddr = if local.is_ipv4() {
        Ipv4Addr::LOCALHOST.into()
    } else {
        std::net::Ipv6Addr::LOCALHOST.into()
    };
    SocketAddr::new(ip, local.port())
}

fn help_text(
    args: &Args,
    local: SocketAddr,
    cert_path: &Path,
    inventory: &Inventory,
    faults: Option<&Faults>,
) -> String {
    let host = reachable(local);
    let cert = shell_quote(cert_path);
    let device = if inventory.demo_count() > 0 {
        "rack-a-01"
    } else if inventory.generated_count() > 0 {
        "gen-000001"
    } else {
        "NAME"
    };
    let mut text = String::from("\ndemo users (user / password):\n");
    for user in USERS {
        let role = if user.can_launch {
            "may launch viewers"
        } else {
            "may list devices, may not launch viewers"
        };
        let _ = writeln!(text, "  {:<9} / {:<14} {role}", user.name, user.password);
    }
    let _ = writeln!(
        text,
        "devices: {} demo, {} generated",
        inventory.demo_count(),
        inventory.generated_count()
    );
    let _ = writeln!(
        text,
        "try:\n  DSVIEW_PASSWORD=admin-pass dsview-launch --host {host} --user admin --ca-cert {cert} kvm {device} -n"
    );
    match args.cert_style {
        CertStyle::Ca => text.push_str(
            "note: --cert-style ca serves a CA certificate as the server certificate; \
             verifiers that refuse a CA as an end-entity certificate will reject it\n",
        ),
        CertStyle::Chain => {
            let _ = writeln!(
                text,
                "note: --cert-style chain: the certificate file holds the CA ({CA_COMMON_NAME}) \
                 that signed the served certificate; the fingerprint is the served one's"
            );
        }
        CertStyle::Leaf => {}
    }
    if args.http2 {
        text.push_str("HTTP/2 offered (ALPN h2, then http/1.1)\n");
    }
    if let Some(faults) = faults {
        let _ = writeln!(text, "faults: {} (see --help)", faults.summary());
    }
    let _ = writeln!(
        text,
        "stats: curl --cacert {cert} https://{host}/_sim/stats\nstop with Ctrl-C"
    );
    text
}

/// Quotes a path for a POSIX shell when it holds anything beyond plain path characters.
fn shell_quote(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c));
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
