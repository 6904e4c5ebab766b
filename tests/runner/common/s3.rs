//! Real S3-compatible servers on 127.0.0.1 that tests start and stop, and the aws CLI as
//! a real client for them. Two independent implementations:
//!
//! - s3s-fs 0.14.1 (Rust, crates.io): stores each object as a file under a temporary
//!   directory; checks SigV4 signatures against the fixed test credentials below.
//! - moto (Python, PyPI, `moto_server`): keeps objects in memory; accepts any credentials.
//!
//! Each test starts its own server, and the server dies with it: from spawn to the first
//! HTTP answer, s3s-fs takes about 20 ms and moto about 0.3 s (measured on the 2-core test
//! machine), so a shared instance would save little and cost isolation. Both serve path-style requests (`http://127.0.0.1:PORT/BUCKET/KEY`), the
//! only style they get from an endpoint that is an IP address: s3s-fs would need its
//! `--domain` option for virtual-hosted requests.
//!
//! Where the tools are, for each: the environment variable (`PULSE_TEST_S3S_FS`,
//! `PULSE_TEST_MOTO`, `PULSE_TEST_AWS`: the executable's path, or a name to look up on the
//! `PATH`), else the place `bash scripts/s3-servers.sh install` (run by `.ci/run`) puts it
//! under `~/.cache/progress-pulse-tools`, else the `PATH`. A missing tool fails the test
//! with a message that says how to install it.
//!
//! Nothing here reads the user's `~/.aws` or contacts instance metadata: every process
//! gets a temporary HOME, AWS config and credentials files that do not exist, and
//! `AWS_EC2_METADATA_DISABLED=true`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::tools::{self, Program};

/// The access key every test server accepts (s3s-fs checks it; moto takes any).
pub const ACCESS_KEY: &str = "pulse-test-access-key";
/// The secret key every test server accepts.
pub const SECRET_KEY: &str = "pulse-test-secret-key";
/// The region clients are told to use.
pub const REGION: &str = "us-east-1";

/// The version of s3s-fs that `scripts/s3-servers.sh install` installs.
pub const S3S_FS_VERSION: &str = "0.14.1";

/// What starts the command lines that install the tools, in every "missing tool" message.
const INSTALL_HINT: &str =
    "run `bash scripts/s3-servers.sh install` (or `bash .ci/run`, which runs it)";

/// An external tool the S3 tests need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// The s3s-fs server binary.
    S3sFs,
    /// moto's `moto_server`.
    Moto,
    /// The aws CLI.
    Aws,
}

impl Tool {
    /// The executable's name, as looked up on the `PATH`.
    pub fn name(self) -> &'static str {
        match self {
            Tool::S3sFs => "s3s-fs",
            Tool::Moto => "moto_server",
            Tool::Aws => "aws",
        }
    }

    /// The environment variable that names this tool's executable.
    pub fn var(self) -> &'static str {
        match self {
            Tool::S3sFs => "PULSE_TEST_S3S_FS",
            Tool::Moto => "PULSE_TEST_MOTO",
            Tool::Aws => "PULSE_TEST_AWS",
        }
    }

    /// Where `scripts/s3-servers.sh install` puts it, under `tools` (by default
    /// `~/.cache/progress-pulse-tools`).
    pub fn default_path(self, tools: &Path) -> PathBuf {
        match self {
            Tool::S3sFs => tools.join("bin/s3s-fs"),
            Tool::Moto => tools.join("venv/bin/moto_server"),
            Tool::Aws => tools.join("venv/bin/aws"),
        }
    }

    /// The executable to run, found as the module's top comment says; panics with an
    /// install hint when it is nowhere.
    pub fn path(self) -> PathBuf {
        self.program(tools::under_tools_dir("").as_deref()).path()
    }

    fn program(self, tools: Option<&Path>) -> Program<'static> {
        Program {
            name: self.name(),
            var: self.var(),
            default: tools.map(|t| self.default_path(t)),
            needed_by: "the S3 tests need it",
            install: INSTALL_HINT,
        }
    }
}

/// Finds `tool` given the value of its variable, the tools directory and the `PATH`.
pub fn locate(
    tool: Tool,
    var: Option<OsString>,
    tools: Option<&Path>,
    path: Option<OsString>,
) -> Result<PathBuf, String> {
    tool.program(tools).locate(var, path)
}

/// Which S3 implementation a server is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    S3sFs,
    Moto,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::S3sFs => "s3s-fs",
            Kind::Moto => "moto",
        }
    }

    fn tool(self) -> Tool {
        match self {
            Kind::S3sFs => Tool::S3sFs,
            Kind::Moto => Tool::Moto,
        }
    }
}

/// Kills and reaps a child process when dropped.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An S3-compatible server on 127.0.0.1, killed on drop.
pub struct S3Server {
    kind: Kind,
    port: u16,
    // Declared before `dir`, so the server is dead before its directory goes.
    _child: ChildGuard,
    /// `home/` (HOME for the server and the aws CLI), `data/` (s3s-fs's root),
    /// `server.log` (the server's output).
    dir: tempfile::TempDir,
}

impl S3Server {
    /// s3s-fs serving a fresh temporary directory, with the test credentials enforced.
    pub fn s3s_fs() -> S3Server {
        S3Server::start(Kind::S3sFs)
    }

    /// moto's S3, in memory.
    pub fn moto() -> S3Server {
        S3Server::start(Kind::Moto)
    }

    /// A server of `kind`.
    pub fn start(kind: Kind) -> S3Server {
        let program = kind.tool().path();
        let dir = tempfile::tempdir().unwrap();
        for d in ["home", "data"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        let log_path = dir.path().join("server.log");
        // The free port is found by binding and releasing it, so another process may take
        // it before the server binds: then the server exits, and it is tried again.
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let log = std::fs::File::create(&log_path).unwrap();
            let mut cmd = Command::new(&program);
            match kind {
                Kind::S3sFs => cmd
                    .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                    .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
                    .arg(dir.path().join("data")),
                Kind::Moto => cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]),
            };
            cmd.env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("HOME", dir.path().join("home"))
                .envs(private_aws_files(dir.path()))
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log);
            let child = cmd.spawn().unwrap_or_else(|e| {
                panic!("cannot start {} ({}): {e}", kind.name(), program.display())
            });
            let mut child = ChildGuard(child);
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if answers(port) {
                    return S3Server {
                        kind,
                        port,
                        _child: child,
                        dir,
                    };
                }
                if child.0.try_wait().unwrap().is_some() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{} ({}) did not answer on 127.0.0.1:{port} within 30 s; its output:\n{}",
                    kind.name(),
                    program.display(),
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
        }
        panic!(
            "{} ({}) exited at start five times; its last output:\n{last_log}",
            kind.name(),
            program.display()
        );
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn access_key(&self) -> &'static str {
        ACCESS_KEY
    }

    pub fn secret_key(&self) -> &'static str {
        SECRET_KEY
    }

    pub fn region(&self) -> &'static str {
        REGION
    }

    /// The variables an S3 client needs to reach this server and nothing else: the
    /// credentials, region and endpoint; plain HTTP allowed; no instance metadata; AWS
    /// config and credentials files that do not exist. HOME is not among them: the caller
    /// keeps its own.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("AWS_REGION", REGION),
            ("AWS_DEFAULT_REGION", REGION),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            // For clients that ignore the variable above (object_store does): a metadata
            // endpoint on loopback where nothing listens, so a lookup fails at once.
            ("AWS_METADATA_ENDPOINT", "http://127.0.0.1:1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        env.push(("AWS_ENDPOINT_URL".into(), self.endpoint()));
        env.extend(
            private_aws_files(self.dir.path())
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.display().to_string())),
        );
        env
    }

    /// An aws CLI command against this server (`aws --endpoint-url ENDPOINT args...`),
    /// with the environment of [`S3Server::env`], a temporary HOME and nothing else.
    pub fn aws_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(Tool::Aws.path());
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("LC_ALL", "C.UTF-8")
            .envs(self.env())
            .arg("--endpoint-url")
            .arg(self.endpoint())
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs the aws CLI against this server, e.g. `aws(&["s3", "cp", "s3://b/k", "-"])`.
    pub fn aws(&self, args: &[&str]) -> Output {
        self.aws_cmd(args).output().unwrap()
    }

    /// Where s3s-fs keeps its buckets' objects as files (`None` for moto, which keeps them
    /// in memory).
    pub fn data_dir(&self) -> Option<PathBuf> {
        (self.kind == Kind::S3sFs).then(|| self.dir.path().join("data"))
    }

    /// Creates bucket `name`; asserts it worked. moto: the aws CLI's CreateBucket.
    /// s3s-fs: a directory in its root, which is all its CreateBucket makes (the
    /// `s3_servers` tests show the aws CLI lists and uses a bucket made so); this saves a
    /// CLI start per test.
    pub fn create_bucket(&self, name: &str) {
        match self.kind {
            Kind::S3sFs => std::fs::create_dir(self.dir.path().join("data").join(name))
                .unwrap_or_else(|e| panic!("create bucket {name} on s3s-fs: {e}")),
            Kind::Moto => {
                let out = self.aws(&["s3api", "create-bucket", "--bucket", name]);
                assert!(
                    out.status.success(),
                    "create bucket {name} on moto: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

/// AWS config and credentials files under `dir` that do not exist, so that no client reads
/// the user's.
fn private_aws_files(dir: &Path) -> [(&'static str, PathBuf); 2] {
    [
        ("AWS_CONFIG_FILE", dir.join("home/.aws/config")),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("home/.aws/credentials"),
        ),
    ]
}

/// Whether an HTTP server answers on 127.0.0.1:`port` (any status will do).
fn answers(port: u16) -> bool {
    use std::io::{Read, Write};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 8];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}
