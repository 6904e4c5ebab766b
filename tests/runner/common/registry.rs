//! A real `pulse serve` on 127.0.0.1 for tests, and a tiny HTTP/1.1 client to talk to it
//! (raw `TcpStream`: one request per connection, read to its end).

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{Env, OutputExt};

/// How long anything in these tests may take before it counts as a hang.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// A `pulse serve` process, killed when dropped.
pub struct Registry {
    child: Child,
    url: String,
    addr: std::net::SocketAddr,
    /// Where its standard error goes (the audit log, unless `--audit-log` says otherwise).
    pub stderr: PathBuf,
}

impl Registry {
    /// Start `pulse --store STORE serve --listen 127.0.0.1:0 EXTRA...` in `env`'s
    /// environment, read its `listening on` line, and wait until `/healthz` answers.
    #[must_use]
    pub fn start(env: &Env, store_address: &str, extra_args: &[&str]) -> Registry {
        Registry::start_with(env, store_address, extra_args, &[])
    }

    /// [`Registry::start`] with more environment variables (an S3 store's settings).
    #[must_use]
    pub fn start_with(
        env: &Env,
        store_address: &str,
        extra_args: &[&str],
        vars: &[(String, String)],
    ) -> Registry {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let stderr = env.path(&format!(
            "serve-{}.stderr",
            COUNT.fetch_add(1, Ordering::SeqCst)
        ));
        let mut args = vec!["--store", store_address, "serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra_args);
        let mut child = env
            .cmd_in(env.root.path(), &args)
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(HANG_GUARD).unwrap_or_default();
        let Some(url) = line.trim_end().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "pulse serve did not say where it listens: {line:?}\nstderr: {}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        };
        let addr = url.strip_prefix("http://").unwrap().parse().unwrap();
        let registry = Registry {
            child,
            url: url.to_owned(),
            addr,
            stderr,
        };
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            if let Some(r) = registry.try_request("GET", "/healthz", &[], b"")
                && r.status == 200
            {
                break;
            }
            assert!(Instant::now() < deadline, "/healthz never answered");
            std::thread::sleep(Duration::from_millis(20));
        }
        registry
    }

    /// Make a token with `pulse token add` in `env` (the default tokens file) and return it.
    #[must_use]
    pub fn token(env: &Env, name: &str, scope: &str, prefix: Option<&str>) -> String {
        let mut args = vec!["token", "add", name, "--scope", scope];
        if let Some(p) = prefix {
            args.extend(["--prefix", p]);
        }
        let out = env
            .cmd_in(env.root.path(), &args)
            .output()
            .unwrap()
            .assert_ok();
        let token = out.stdout_str().trim().to_owned();
        assert!(token.starts_with("pulse_"), "{token}");
        token
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address it listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it wrote to standard error so far.
    #[must_use]
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Send one request; panics if the connection fails.
    #[must_use]
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        self.try_request(method, path, headers, body)
            .unwrap_or_else(|| panic!("{method} {path}: no answer"))
    }

    /// `GET path` with `token` (if any).
    #[must_use]
    pub fn get(&self, path: &str, token: Option<&str>) -> Response {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("Authorization", a)])
            .unwrap_or_default();
        self.request("GET", path, &headers, b"")
    }

    /// Send one request; `None` if the connection fails or the answer cannot be read.
    #[must_use]
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Option<Response> {
        let mut stream = TcpStream::connect(self.addr).ok()?;
        stream.set_read_timeout(Some(HANG_GUARD)).ok()?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        let has_length = headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"));
        if !has_length && (!body.is_empty() || method == "PUT") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).ok()?;
        // A server may answer (413) before it reads the body, and close.
        let _ = stream.write_all(body);
        read_response(&mut stream, method == "HEAD")
    }

    /// Send SIGTERM and wait for the process to exit (panics after the hang guard).
    pub fn terminate(&mut self) -> ExitStatus {
        signal(self.pid(), "TERM");
        self.wait()
    }

    /// Wait for the process to exit (panics after the hang guard).
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "pulse serve did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Send signal `name` (TERM, INT, ...) to `pid`.
pub fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The error body's kind.
    pub fn error_kind(&self) -> String {
        self.json()["error"]["kind"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// Read an answer to its end (the connection closes after it).
pub fn read_response(stream: &mut impl Read, head_request: bool) -> Option<Response> {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    parse_response(&raw, head_request)
}

/// Parse a whole HTTP/1.1 answer.
pub fn parse_response(raw: &[u8], head_request: bool) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if head_request {
        rest.to_vec()
    } else if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}
