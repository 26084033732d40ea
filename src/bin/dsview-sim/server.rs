//! The listener: binds, sets up the TLS identity, prints the start-up lines, accepts TCP
//! connections, runs TLS and HTTP/1.1 (keep-alive) on each, and stops on SIGINT or SIGTERM.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::cli::{Args, CertStyle};
use crate::inventory::Inventory;
use crate::routes::{App, Options};
use crate::state::{Counters, State, USERS};
use crate::tls::{DEFAULT_SANS, Identity, TlsError};

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the simulator could not start.
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
}

/// Runs the simulator until SIGINT or SIGTERM.
pub async fn run(args: Args) -> Result<(), StartError> {
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

    let sans = if args.sans.is_empty() {
        DEFAULT_SANS.iter().map(|s| (*s).to_owned()).collect()
    } else {
        args.sans.clone()
    };
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
    let acceptor = TlsAcceptor::from(identity.server_config()?);

    let inventory = Inventory::new(!args.no_demo, args.devices);
    let app = Arc::new(App {
        state: State::new(Duration::from_secs(args.ticket_ttl), args.max_sessions),
        inventory,
        options: Options {
            latency: Duration::from_millis(args.latency_ms),
            fail_every: args.fail_every,
            quiet: args.quiet,
        },
    });

    print_banner(&args, local, &cert_path, &identity, &inventory);

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _peer)) => {
                    Counters::bump(&app.state.counters.connections);
                    tokio::spawn(serve_connection(tcp, acceptor.clone(), Arc::clone(&app)));
                }
                Err(err) => {
                    log(args.quiet, format_args!("accept failed: {err}"));
                    // Out of file descriptors and the like: give the system a moment.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    log(args.quiet, format_args!("dsview-sim: stopped"));
    Ok(())
}

/// TLS, then HTTP/1.1 with keep-alive, on one accepted connection.
async fn serve_connection(tcp: TcpStream, acceptor: TlsAcceptor, app: Arc<App>) {
    let quiet = app.options.quiet;
    let _ = tcp.set_nodelay(true);
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
    let service = service_fn(move |req| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(app.handle(req).await) }
    });
    let result = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true)
        .serve_connection(TokioIo::new(tls), service)
        .await;
    if let Err(err) = result {
        log(
            quiet,
            format_args!("connection closed with an error: {err}"),
        );
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
/// tests read them from a pipe.
fn print_banner(
    args: &Args,
    local: SocketAddr,
    cert_path: &Path,
    identity: &Identity,
    inventory: &Inventory,
) {
    let mut text = format!(
        "dsview-sim listening on https://{local}\ncertificate: {}\nfingerprint: {}\n",
        cert_path.display(),
        identity.fingerprint()
    );
    if !args.quiet {
        text.push_str(&help_text(args, local, cert_path, inventory));
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn help_text(args: &Args, local: SocketAddr, cert_path: &Path, inventory: &Inventory) -> String {
    // A wildcard bind is reachable on loopback; suggest that in the example.
    let host = if local.ip().is_unspecified() {
        SocketAddr::new(
            if local.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            },
            local.port(),
        )
    } else {
        local
    };
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
    if args.cert_style == CertStyle::Ca {
        text.push_str(
            "note: --cert-style ca serves a CA certificate as the server certificate; \
             verifiers that refuse a CA as an end-entity certificate will reject it\n",
        );
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
