//! The test harness: a running `dsview-sim` on 127.0.0.1 port 0, and the real `dsview-launch`
//! binary run against it in a hermetic environment (temporary HOME and XDG directories, no
//! inherited `DSVIEW_*`, `BROWSER` or proxy variables).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use tempfile::TempDir;

pub const PASSWORD: &str = "admin-pass";

/// A simulator process, killed when dropped.
pub struct Sim {
    child: Child,
    pub port: u16,
    pub cert: PathBuf,
    pub fingerprint: String,
    _dir: TempDir,
}

impl Sim {
    pub fn start() -> Sim {
        Sim::with_args(&[])
    }

    pub fn with_args(args: &[&str]) -> Sim {
        let dir = TempDir::new().expect("temp dir");
        let cert = dir.path().join("sim-cert.pem");
        let mut child = Command::new(env!("CARGO_BIN_EXE_dsview-sim"))
            .args(["--port", "0", "--quiet", "--cert-out"])
            .arg(&cert)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dsview-sim");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut port = None;
        let mut fingerprint = None;
        for line in lines.by_ref() {
            let line = line.expect("sim stdout");
            if let Some(rest) = line.strip_prefix("dsview-sim listening on https://") {
                let p = rest.rsplit(':').next().expect("port");
                port = Some(p.trim_end_matches('/').parse().expect("numeric port"));
            } else if let Some(rest) = line.strip_prefix("fingerprint: ") {
                fingerprint = Some(rest.trim().to_owned());
                break;
            }
        }
        // Keep draining stdout so the simulator never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Sim {
            child,
            port: port.expect("the simulator printed its port"),
            cert,
            fingerprint: fingerprint.expect("the simulator printed its fingerprint"),
            _dir: dir,
        }
    }

    /// Stop the simulator but keep its certificate file, as an appliance that went down.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// GET a URL of this simulator (trusting its certificate), as a browser would.
    pub fn fetch(&self, url: &str) -> (u16, String) {
        self.request(reqwest::Method::GET, url, None)
    }

    /// End a session on the simulator, as an administrator or a time-out would.
    pub fn end_session(&self, id: &str, token: &str) {
        let url = format!("https://{}/api/v1/userSessions/{id}", self.host());
        let (status, body) = self.request(reqwest::Method::DELETE, &url, Some(token));
        assert_eq!(status, 204, "{body}");
    }

    fn request(&self, method: reqwest::Method, url: &str, token: Option<&str>) -> (u16, String) {
        let cert = self.cert.clone();
        let url = url.to_owned();
        let token = token.map(str::to_owned);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let (tls, _) = dsview_launch::tls::client_config(
                &dsview_launch::config::TrustOptions {
                    ca_cert: Some(cert),
                    ..Default::default()
                },
                None,
            )
            .expect("tls config");
            let client = reqwest::Client::builder()
                .tls_backend_preconfigured(tls)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client");
            let mut req = client.request(method, &url);
            if let Some(token) = token {
                req = req.bearer_auth(token);
            }
            let resp = req.send().await.expect("request");
            let status = resp.status().as_u16();
            (status, resp.text().await.expect("body"))
        })
    }

    pub fn stats(&self) -> serde_json::Value {
        let (status, body) = self.fetch(&format!("https://{}/_sim/stats", self.host()));
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("stats JSON")
    }

    pub fn stat(&self, key: &str) -> u64 {
        self.stats()[key]
            .as_u64()
            .unwrap_or_else(|| panic!("stat {key}"))
    }

    /// Assert a launch URL is accepted once and refused the second time; returns the page.
    pub fn assert_single_use(&self, url: &str) -> String {
        let (first, page) = self.fetch(url);
        assert_eq!(first, 200, "first use of {url} refused: {page}");
        let (second, again) = self.fetch(url);
        assert_eq!(second, 403, "second use of {url} accepted: {again}");
        page
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A user's home: config and state that several runs share.
pub struct Home {
    dir: TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: TempDir::new().expect("temp home"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_dir(&self) -> PathBuf {
        self.path().join("config").join("dsview-launch")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.path().join("state").join("dsview-launch")
    }

    /// Write the config file (directory 0700, file 0600 as the tool itself would).
    pub fn write_config(&self, text: &str) -> PathBuf {
        let dir = self.config_dir();
        std::fs::create_dir_all(&dir).expect("config dir");
        let path = dir.join("config.toml");
        std::fs::write(&path, text).expect("write config");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        path
    }

    /// A run in this home with nothing configured.
    pub fn bare(&self) -> Run {
        Run::in_home(self.path())
    }

    /// A run in this home against the simulator, as in [`Run::new`].
    pub fn run(&self, sim: &Sim) -> Run {
        Run::in_home(self.path()).against(sim)
    }
}

/// One run of `dsview-launch`, configured like a user's shell would be.
pub struct Run {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    owned_home: Option<TempDir>,
}

impl Run {
    /// A run with no appliance configured at all, in a fresh home.
    pub fn bare() -> Run {
        let home = TempDir::new().expect("temp home");
        let mut run = Run::in_home(home.path());
        run.owned_home = Some(home);
        run
    }

    fn in_home(h: &Path) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dsview-launch"));
        cmd.env_clear();
        for keep in ["PATH", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP"] {
            if let Some(v) = std::env::var_os(keep) {
                cmd.env(keep, v);
            }
        }
        cmd.env("HOME", h)
            .env("USERPROFILE", h)
            .env("XDG_CONFIG_HOME", h.join("config"))
            .env("XDG_STATE_HOME", h.join("state"))
            .env("XDG_CACHE_HOME", h.join("cache"))
            .env("NO_COLOR", "1");
        Run {
            cmd,
            stdin: None,
            owned_home: None,
        }
    }

    /// A run against the simulator as `admin`, trusting its certificate, password in env.
    pub fn new(sim: &Sim) -> Run {
        Run::bare().against(sim)
    }

    fn against(mut self, sim: &Sim) -> Run {
        self.cmd
            .env("DSVIEW_HOST", sim.host())
            .env("DSVIEW_USER", "admin")
            .env("DSVIEW_PASSWORD", PASSWORD)
            .env("DSVIEW_CA_CERT", &sim.cert);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn arg_strs(mut self, args: &[&str]) -> Self {
        self.cmd.args(args);
        self
    }

    pub fn arg_path(mut self, path: &Path) -> Self {
        self.cmd.arg(path);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    pub fn stdin(mut self, data: &str) -> Self {
        self.stdin = Some(data.as_bytes().to_vec());
        self
    }

    pub fn run(mut self) -> Outcome {
        let mut cmd =
            assert_cmd::Command::from_std(std::mem::replace(&mut self.cmd, Command::new("unused")));
        cmd.timeout(Duration::from_secs(60));
        if let Some(data) = self.stdin.take() {
            cmd.write_stdin(data);
        }
        let output = cmd.output().expect("run dsview-launch");
        Outcome::new(output)
    }
}

/// What a run printed and how it exited, with assertions that read like the contract.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    fn new(output: Output) -> Outcome {
        let outcome = Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        outcome.assert_no_secret_or_panic();
        outcome
    }

    fn assert_no_secret_or_panic(&self) {
        for text in [&self.stdout, &self.stderr] {
            assert!(!text.contains(PASSWORD), "password leaked: {self:?}");
            assert!(!text.contains("operator-pass"), "password leaked: {self:?}");
            assert!(!text.contains("auditor-pass"), "password leaked: {self:?}");
            assert!(!text.contains("panicked"), "panic: {self:?}");
            assert!(!text.contains("RUST_BACKTRACE"), "panic: {self:?}");
        }
    }

    pub fn code(self, expected: i32) -> Self {
        assert_eq!(self.code, expected, "exit code: {self:#?}");
        self
    }

    pub fn success(self) -> Self {
        self.code(0)
    }

    pub fn stderr_has(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}: {self:#?}"
        );
        self
    }

    pub fn stderr_lacks(self, needle: &str) -> Self {
        assert!(
            !self.stderr.contains(needle),
            "stderr has {needle:?}: {self:#?}"
        );
        self
    }

    pub fn stdout_has(self, needle: &str) -> Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}: {self:#?}"
        );
        self
    }

    pub fn stdout_empty(self) -> Self {
        assert_eq!(self.stdout, "", "stdout not empty: {self:#?}");
        self
    }

    /// Stdout is exactly one launch URL and a newline; returns the URL.
    pub fn url(&self) -> String {
        let url = self
            .stdout
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("no trailing newline: {self:#?}"));
        assert!(!url.contains('\n'), "more than one line: {self:#?}");
        assert!(url.starts_with("https://"), "not a URL: {self:#?}");
        assert!(
            url.contains("/api/v1/launchUI/?launchType=viewer&viewerType="),
            "{url}"
        );
        url.to_owned()
    }

    /// The ticket of the printed URL must not appear anywhere else.
    pub fn ticket_only_in_url(self) -> Self {
        let url = self.url();
        let ticket = url
            .split('&')
            .find_map(|kv| kv.strip_prefix("ticket="))
            .expect("ticket parameter")
            .to_owned();
        assert!(
            !self.stderr.contains(&ticket),
            "ticket on stderr: {self:#?}"
        );
        self
    }
}

/// A browser stand-in: a script that records the URL it is given.
#[cfg(unix)]
pub fn recording_browser(dir: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let record = dir.join("opened-url");
    let script = dir.join("fake-browser");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" > '{}'\n",
            record.display()
        ),
    )
    .expect("write script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (script, record)
}

/// `dsview-launch ARGS` on a pseudo-terminal (`script` from util-linux), against `sim`, with
/// `home` as HOME and nothing else inherited but PATH; `None` when `script` is not installed.
/// The trust options are left to the caller.
#[cfg(target_os = "linux")]
pub fn on_a_terminal(sim: &Sim, home: &Path, args: &str) -> Option<Command> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return None;
    }
    let mut command = Command::new("script");
    command
        .args([
            "-qec",
            &format!("'{}' {args}", env!("CARGO_BIN_EXE_dsview-launch")),
            "/dev/null",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("DSVIEW_HOST", sim.host())
        .env("DSVIEW_USER", "admin")
        .env("DSVIEW_PASSWORD", PASSWORD);
    Some(command)
}
