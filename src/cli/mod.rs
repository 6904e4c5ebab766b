//! The command line: argument parsing (clap derive), the context every command gets, and
//! the translation of errors into messages and exit codes. One file per command lives in
//! [`commands`]; each builds a typed report and hands it to [`Output::emit`], which prints
//! it as text or JSON.

pub mod commands;
mod log;

use std::cell::OnceCell;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, ValueEnum};

use crate::config::{self, Settings};
use crate::error::{Error, Hint, Result};
use crate::name::Name;
use crate::selector::Selector;
use crate::store::cache::{CacheMode, CacheOptions};
use crate::store::{GitStore, OpenOptions, Store, StoreKind};

/// pulse: a Git-native manager for LLM instruction prompts.
///
/// Prompts are plain files in a git repository; every release is an annotated tag
/// `name@x.y.z`; labels such as `production` point at releases. Read a prompt by exact
/// version, `latest`, a SemVer range (`^1.2`) or a label, byte-exact and checksum-verified.
#[derive(Debug, Parser)]
#[command(name = "pulse", version, max_term_width = 100)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub globals: Globals,
    /// The command to run.
    #[command(subcommand)]
    pub command: commands::Command,
}

/// Options every command takes, before or after the command's name.
#[derive(Debug, clap::Args)]
pub struct Globals {
    /// The prompt repository (default: found from the current directory, as git does).
    #[arg(long, global = true, env = "PULSE_REPO", value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Use this store instead of the repository: a path (a git repository, or else a
    /// directory store), file://, s3://BUCKET[/PREFIX], or a git remote URL (read only).
    #[arg(long, global = true, env = "PULSE_STORE", value_name = "URL")]
    pub store: Option<String>,
    /// Act on this branch (prompt set) instead of the one checked out; it is created from
    /// the current branch's head when a command writes to it.
    #[arg(long, global = true, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// Output format for commands that report data.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Silence progress, notes and warnings (errors are still printed).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Read this configuration file instead of the user's config.yaml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How much to say on stderr: error, warn, info (the default), debug, trace.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Never ask a remote store (S3, a registry): answer from the cache, however old, or
    /// fail (exit 6).
    #[arg(long, global = true, conflicts_with = "refresh")]
    pub offline: bool,
    /// Ask remote stores for everything, whatever the cache holds (and keep what they send).
    #[arg(long, global = true)]
    pub refresh: bool,
}

/// The global options that take a value (as `--opt VALUE` or `--opt=VALUE`).
const GLOBALS_WITH_VALUES: [&str; 6] = [
    "--repo",
    "--store",
    "--branch",
    "--format",
    "--config",
    "--log-level",
];

/// The name of the subcommand in `args` (after the program name and global options),
/// if the arguments before it are plainly global options.
fn subcommand_name(args: &[std::ffi::OsString]) -> Option<&str> {
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        let arg = arg.to_str()?;
        if !arg.starts_with('-') {
            return Some(arg);
        }
        if GLOBALS_WITH_VALUES.contains(&arg) {
            rest.next()?;
        } else if !(arg == "-q"
            || arg == "--quiet"
            || arg == "--offline"
            || arg == "--refresh"
            || GLOBALS_WITH_VALUES
                .iter()
                .any(|g| arg.strip_prefix(g).is_some_and(|v| v.starts_with('='))))
        {
            return None;
        }
    }
    None
}

/// Parse the command line. The full parser builds every subcommand (a cost a process
/// that reads one prompt feels); when the arguments plainly name one subcommand and ask
/// for no help, only that subcommand is built. Anything else, including every error, goes
/// through the full parser, so help and messages are always the same.
pub fn parse(args: Vec<std::ffi::OsString>) -> std::result::Result<Cli, clap::Error> {
    use clap::{Args, FromArgMatches};
    let wants_help = args.iter().skip(1).any(|a| {
        matches!(
            a.to_str(),
            Some("-h" | "--help" | "-V" | "--version" | "help")
        )
    });
    if !wants_help && let Some(sub) = subcommand_name(&args).and_then(commands::single) {
        let lean = Globals::augment_args(
            clap::Command::new("pulse")
                .subcommand_required(true)
                .arg_required_else_help(true),
        )
        .subcommand(sub);
        if let Ok(mut matches) = lean.try_get_matches_from(&args)
            && let Ok(parsed) = Cli::from_arg_matches_mut(&mut matches)
        {
            return Ok(parsed);
        }
    }
    Cli::try_parse_from(args)
}

/// How commands print what they report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// Stable JSON for programs (one typed shape per report).
    Json,
    /// A SARIF 2.1.0 log for code-scanning services (`lint` and `check` only).
    Sarif,
}

/// The commands that can report as SARIF.
const SARIF_COMMANDS: &str = "'pulse lint' and 'pulse check'";

/// A report a command prints: JSON from its serde form, text for people from [`Report::text`].
pub trait Report: serde::Serialize {
    /// The report for people.
    fn text(&self) -> String;

    /// The bytes printed for people; only a report that carries the user's own bytes
    /// (a diff of non-UTF-8 content) needs more than [`Report::text`].
    fn bytes(&self) -> Vec<u8> {
        self.text().into_bytes()
    }

    /// Write the bytes for people to `out`; a long report may write them piece by piece
    /// instead of building them whole first.
    fn write_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        out.write_all(&self.bytes())
    }

    /// The report as a SARIF log, for the reports that locate findings in files.
    fn sarif(&self) -> Option<serde_json::Value> {
        None
    }
}

/// Output settings: the format of reports, and how much is said on stderr.
#[derive(Debug, Clone)]
pub struct Output {
    /// The format of reports on stdout.
    pub format: Format,
}

impl Output {
    /// A note for people (`note: …` on stderr), unless quiet or the log level is below info.
    pub fn note(&self, text: &str) {
        ::log::info!("{text}");
    }

    /// A warning (`warning: …` on stderr), unless quiet or the log level is error.
    pub fn warn(&self, text: &str) {
        ::log::warn!("{text}");
    }

    /// Print `report` on `out`, as JSON or as text.
    pub fn emit<R: Report>(&self, out: &mut dyn Write, report: &R) -> Result<()> {
        match self.format {
            Format::Json => write_json(out, report),
            Format::Sarif => match report.sarif() {
                Some(log) => write_json(out, &log),
                None => Err(sarif_refused()),
            },
            Format::Text => report.write_text(out).map_err(out_err),
        }
    }
}

/// Where a command finds prompts: the repository, the store, and the settings, each
/// opened on first use and then kept.
pub struct Access {
    repo_path: Option<PathBuf>,
    store_address: Option<String>,
    branch: Option<String>,
    config_path: Option<PathBuf>,
    log_level: Option<String>,
    /// `--offline`, `--refresh`, or neither.
    cache_mode: CacheMode,
    home: OnceCell<Arc<GitStore>>,
    store: OnceCell<Arc<dyn Store>>,
    settings: OnceCell<(Settings, Vec<String>)>,
}

impl Access {
    /// `--repo`, if given.
    pub fn repo_path(&self) -> Option<&Path> {
        self.repo_path.as_deref()
    }

    /// `--branch`, if given.
    pub fn branch(&self) -> Option<&str> {
        self.branch.as_deref()
    }

    fn home(&self) -> Result<&Arc<GitStore>> {
        if let Some(home) = self.home.get() {
            return Ok(home);
        }
        let store = match &self.repo_path {
            Some(p) => GitStore::open(p, self.branch.clone())?,
            None => {
                let cwd = std::env::current_dir()
                    .map_err(|e| Error::io("cannot read the current directory", e))?;
                GitStore::discover(&cwd, self.branch.clone())?
            }
        };
        ::log::debug!("opened the repository at '{}'", store.path().display());
        let store = Arc::new(store);
        Ok(self.home.get_or_init(|| store))
    }

    /// The prompt repository as a store (whatever `--store` says).
    pub fn home_store(&self) -> Result<Arc<dyn Store>> {
        Ok(Arc::clone(self.home()?) as Arc<dyn Store>)
    }

    /// The prompt repository (`--repo`/`PULSE_REPO`, or found from the current directory),
    /// for working content, branches and writes.
    pub fn repo(&self) -> Result<crate::store::PooledRepo<'_>> {
        self.home()?.repo()
    }

    /// Whether releases are read from the repository itself (no `--store`, and no
    /// other store in the configuration).
    pub fn store_is_home(&self) -> bool {
        matches!(self.store_address(), Ok(None))
    }

    /// The address of the store to use instead of the repository, and the kind the
    /// configuration says it is: `--store`/`PULSE_STORE`, else `storage`/`storage_path`.
    fn store_address(&self) -> Result<Option<(String, Option<StoreKind>)>> {
        if let Some(address) = &self.store_address {
            return Ok(Some((address.clone(), None)));
        }
        let settings = self.settings()?;
        let kind = settings
            .storage
            .as_deref()
            .map(StoreKind::parse)
            .transpose()?;
        Ok(crate::store::configured_address(
            settings.storage.as_deref(),
            settings.storage_path.as_deref(),
        )?
        .map(|address| (address, kind)))
    }

    /// How stores are opened: the branch, and the configuration's `storage_config`.
    pub fn open_options(&self) -> Result<OpenOptions> {
        let settings = self.settings()?;
        Ok(OpenOptions {
            branch: self.branch.clone(),
            kind: None,
            config: settings.storage_config.clone(),
            author: None,
            recipients: None,
            cache: CacheOptions {
                mode: self.cache_mode,
                ttl: settings.cache_ttl.map_or(
                    crate::store::cache::DEFAULT_TTL,
                    std::time::Duration::from_secs,
                ),
                max_bytes: settings
                    .cache_size
                    .unwrap_or(crate::store::cache::DEFAULT_MAX_BYTES),
                root: None,
            },
        })
    }

    /// `--offline`, `--refresh`, or neither.
    pub fn cache_mode(&self) -> CacheMode {
        self.cache_mode
    }

    /// The store as [`Access::store`] opens it, but with no on-disk cache in front: for
    /// a server, which answers what the store holds now (several servers share one
    /// store, and a label moved through one is seen at once through the others).
    pub fn live_store(&self) -> Result<Arc<dyn Store>> {
        Ok(match self.store_address()? {
            Some((address, kind)) => {
                let mut options = self.open_options()?;
                options.kind = kind;
                options.cache.mode = CacheMode::Off;
                crate::store::open(&address, &options)?
            }
            None => Arc::clone(self.home()?) as Arc<dyn Store>,
        })
    }

    /// The store releases are read from: `--store`/`PULSE_STORE`, else the store the
    /// configuration names, else the repository.
    pub fn store(&self) -> Result<Arc<dyn Store>> {
        if let Some(store) = self.store.get() {
            return Ok(Arc::clone(store));
        }
        let store: Arc<dyn Store> = match self.store_address()? {
            Some((address, kind)) => {
                let store = crate::store::open(
                    &address,
                    &OpenOptions {
                        kind,
                        ..self.open_options()?
                    },
                )?;
                ::log::debug!("opened {}", store.describe());
                store
            }
            None => Arc::clone(self.home()?) as Arc<dyn Store>,
        };
        Ok(Arc::clone(self.store.get_or_init(|| store)))
    }

    /// The configuration layers (repository, user file, environment, flags), loaded once,
    /// with the warnings they produced.
    fn load_settings(&self) -> Result<&(Settings, Vec<String>)> {
        if let Some(s) = self.settings.get() {
            return Ok(s);
        }
        let repo_settings = match self.home() {
            Ok(home) => home.repo_settings()?,
            Err(e) => {
                ::log::debug!("no repository settings: {}", e.message());
                None
            }
        };
        let user = config::user_config_path(self.config_path.as_deref());
        if let Some(path) = &user {
            ::log::debug!("user configuration file: '{}'", path.display());
        }
        let (mut settings, warnings) = config::load(
            repo_settings.as_ref(),
            user.as_deref(),
            self.config_path.is_some(),
        )?;
        if let Some(level) = &self.log_level {
            config::set_key(&mut settings, "log_level", level, "--log-level")?;
        }
        Ok(self.settings.get_or_init(|| (settings, warnings)))
    }

    /// The effective settings.
    pub fn settings(&self) -> Result<&Settings> {
        self.load_settings().map(|(s, _)| s)
    }
}

/// What every command gets: output settings, and access to prompts.
pub struct Ctx {
    /// How reports and diagnostics are printed.
    pub out: Output,
    /// Where prompts are read and written.
    pub access: Access,
}

/// Parse `NAME[@SELECTOR]`, with `--version SEL` as another spelling of `@SELECTOR`.
pub fn parse_spec(spec: &str, version_flag: Option<&str>) -> Result<(Name, Selector)> {
    let (name, sel) = Selector::split_spec(spec);
    let name = Name::parse(name)?;
    let selector = match (sel, version_flag) {
        (Some(_), Some(_)) => {
            return Err(Error::usage(format!(
                "'{spec}' names a version and --version names another"
            ))
            .with_hint("use one of NAME@SELECTOR or --version SELECTOR"));
        }
        (Some(s), None) | (None, Some(s)) => Selector::parse(s)?,
        (None, None) => Selector::Latest,
    };
    Ok((name, selector))
}

/// Write JSON (pretty, with a trailing newline) for `--format json`. The document is
/// built in memory first, so a reader that goes away is seen as the closed pipe it is.
pub fn write_json(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::other(format!("cannot render JSON: {e}")))?;
    bytes.push(b'\n');
    out.write_all(&bytes).map_err(out_err)
}

/// The error for `--format sarif` on a command that has no SARIF report.
fn sarif_refused() -> Error {
    Error::usage(format!("--format sarif is only for {SARIF_COMMANDS}"))
        .with_hint("use --format text or --format json")
}

/// Map an output error: a closed pipe is recognised later as a quiet success.
pub fn out_err(e: std::io::Error) -> Error {
    Error::io("cannot write output", e)
}

/// How a hint reads on the command line.
pub fn hint_text(hint: &Hint) -> String {
    match hint {
        Hint::Text(t) => t.clone(),
        Hint::ListVersions { name } => format!("'pulse versions {name}' lists its releases"),
        Hint::ListLabels { name } => format!("'pulse label list {name}' shows its labels"),
        Hint::ListPrompts => "'pulse list' shows the prompts; 'pulse add' releases one".to_owned(),
        Hint::MoveLabel { name, label } => format!(
            "move it with 'pulse label set {name} {label} VERSION', or remove it with 'pulse label rm {name} {label}'"
        ),
        Hint::Init { path: None } => "run 'pulse init' first".to_owned(),
        Hint::Init { path: Some(p) } => {
            format!("check --repo / PULSE_REPO, or make one with 'pulse init {p}'")
        }
        Hint::FindRepository => "run 'pulse init' to make one, or pass --repo PATH".to_owned(),
        Hint::Verify { name: None } => "'pulse verify' checks every release".to_owned(),
        Hint::Verify { name: Some(n) } => format!("'pulse verify {n}' checks its releases"),
        Hint::Pull { remote } => {
            format!("run 'pulse pull {remote}' to bring them in, then push again")
        }
        Hint::NewVersion => {
            "a release is immutable: choose a new version (e.g. --bump patch)".to_owned()
        }
        Hint::AllowOlder => {
            "use a higher version (e.g. --bump patch), or --allow-older for a back-port".to_owned()
        }
        Hint::ForceDelete { spec } => {
            format!("pass --force to delete it anyway: 'pulse delete {spec} --force'")
        }
        Hint::GiveVariables { names } => {
            let flags: Vec<String> = names.iter().map(|n| format!("--var {n}=VALUE")).collect();
            format!("pass {}", flags.join(" "))
        }
        Hint::MajorVersion { version } => format!(
            "release it as a new major version: --bump major, or --version {version} or higher"
        ),
        Hint::ReleaseFile { name, path } => format!(
            "release exactly that file with 'pulse add {name} --file {}'",
            path.as_deref().unwrap_or("FILE")
        ),
    }
}

/// Run pulse with parsed arguments, writing reports to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<()> {
    run_keeping_context(cli, out).0
}

/// [`run`], handing back what the command opened (once it was made), for the caller to
/// drop or to leave to the end of the process.
fn run_keeping_context(cli: Cli, out: &mut dyn Write) -> (Result<()>, Option<Ctx>) {
    let Cli {
        globals: g,
        command,
    } = cli;
    if g.format == Format::Sarif
        && !matches!(
            command,
            commands::Command::Lint(_) | commands::Command::Check(_)
        )
    {
        return (Err(sarif_refused()), None);
    }
    let ctx = Ctx {
        out: Output { format: g.format },
        access: Access {
            repo_path: g.repo,
            store_address: g.store,
            branch: g.branch,
            config_path: g.config,
            log_level: g.log_level.clone(),
            cache_mode: if g.offline {
                CacheMode::Offline
            } else if g.refresh {
                CacheMode::Refresh
            } else {
                CacheMode::Normal
            },
            home: OnceCell::new(),
            store: OnceCell::new(),
            settings: OnceCell::new(),
        },
    };
    // What is said before the configuration is read waits for its level and format.
    log::start();
    // A broken configuration stops every command before it reads or writes anything.
    let needs_settings = !matches!(
        command,
        commands::Command::Init(_) | commands::Command::Completions(_)
    );
    if needs_settings {
        let (settings, warnings) = match ctx.access.load_settings() {
            Ok(loaded) => loaded,
            Err(e) => {
                log::configure(g.quiet, g.log_level.as_deref(), None);
                return (Err(e), Some(ctx));
            }
        };
        log::configure(
            g.quiet,
            settings.log_level.as_deref(),
            settings.log_format.as_deref(),
        );
        for w in warnings {
            ctx.out.warn(w);
        }
    } else {
        log::configure(g.quiet, g.log_level.as_deref(), None);
    }
    let result = commands::dispatch(command, &ctx, out);
    (result, Some(ctx))
}

impl Ctx {
    /// At the end of the process: a context that opened nothing but the repository is
    /// left to the exit, which unmaps its pack files and frees its caches at no cost
    /// (dropping them took a few dozen microseconds of a 1.5 ms `pulse fetch`). Anything
    /// else (another store, which may hold a runtime or a cache) is dropped as usual.
    fn end_of_process(self) {
        let only_the_repository = match (self.access.store.get(), self.access.home.get()) {
            (None, _) => true,
            (Some(store), Some(home)) => std::ptr::addr_eq(Arc::as_ptr(store), Arc::as_ptr(home)),
            (Some(_), None) => false,
        };
        if only_the_repository {
            std::mem::forget(self);
        }
    }
}

/// The `pulse` binary: parse, run, print errors with their hints, exit with the code of
/// the error's kind.
pub fn main() -> ExitCode {
    let started = std::time::Instant::now();
    let cli = match parse(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (result, ctx) = run_keeping_context(cli, &mut out);
    let result = result.and_then(|()| out.flush().map_err(out_err));
    if let Some(ctx) = ctx {
        ctx.end_of_process();
    }
    ::log::trace!(
        "finished in {:.3} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`pulse … | head`): that is not a failure.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) if e.is_silent() => {
            let _ = out.flush();
            ExitCode::from(e.kind().exit_code())
        }
        Err(e) => {
            let _ = out.flush();
            log::report_error(&e, std::io::stderr().is_terminal());
            ExitCode::from(e.kind().exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_lean_parser_builds_each_command_as_the_full_one_does() {
        let full = Cli::command();
        for sub in full.get_subcommands() {
            let name = sub.get_name();
            let Some(lean) = commands::single(name) else {
                assert!(
                    ["label", "cache"].contains(&name),
                    "only commands with subcommands are left to the full parser: {name}"
                );
                continue;
            };
            let mut sub = sub.clone();
            let mut lean = lean;
            assert_eq!(
                lean.render_long_help().to_string(),
                sub.render_long_help().to_string(),
                "{name}"
            );
        }
    }

    #[test]
    fn the_lean_parser_agrees_with_the_full_one() {
        let cases: &[&[&str]] = &[
            &["pulse", "fetch", "p@^1"],
            &[
                "pulse",
                "--format",
                "json",
                "fetch",
                "p",
                "--version",
                "1.0.0",
            ],
            &["pulse", "fetch", "p", "--format=json", "-q", "--repo", "/r"],
            &[
                "pulse",
                "--repo=/r",
                "--branch",
                "b",
                "list",
                "team/",
                "--tags",
                "a,b",
            ],
            &[
                "pulse", "add", "p", "--bump", "minor", "-m", "msg", "--tags", "x",
            ],
            &["pulse", "--log-level", "debug", "show", "p@production"],
            &["pulse", "export", "out", "--prefix", "team"],
            &["pulse", "-q", "label", "set", "p", "production", "1.0.0"],
            &["pulse", "completions", "bash"],
            &["pulse", "config"],
        ];
        for args in cases {
            let args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
            let lean = format!("{:?}", parse(args.clone()).unwrap());
            let full = format!("{:?}", Cli::try_parse_from(args.clone()).unwrap());
            assert_eq!(lean, full, "{args:?}");
        }
        for bad in [
            &["pulse", "fetch"][..],
            &["pulse", "fetch", "p", "--nope"],
            &["pulse", "--format", "xml", "list"],
            &["pulse", "nonsense"],
            &["pulse"],
        ] {
            let args: Vec<std::ffi::OsString> = bad.iter().map(Into::into).collect();
            let lean = parse(args.clone()).unwrap_err().to_string();
            let full = Cli::try_parse_from(args).unwrap_err().to_string();
            assert_eq!(lean, full, "{bad:?}");
        }
    }

    #[test]
    fn every_hint_has_words() {
        for h in [
            Hint::ListPrompts,
            Hint::NewVersion,
            Hint::AllowOlder,
            Hint::FindRepository,
            Hint::Init { path: None },
            Hint::Verify { name: None },
        ] {
            assert!(!hint_text(&h).is_empty(), "{h:?}");
        }
    }
}
