//! The command line: argument parsing (clap derive), the context every command gets, and
//! the translation of errors into messages and exit codes. One file per command lives in
//! [`commands`]; each writes to a `&mut dyn Write` in the chosen output format.

pub mod commands;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

use crate::config::{self, RepoSettings, Settings};
use crate::error::{Error, Result};
use crate::name::Name;
use crate::repo::{PromptRepo, SETTINGS_PATH};
use crate::version::Selector;

/// pulse: a Git-native manager for LLM instruction prompts.
///
/// Prompts are plain files in a git repository; every release is an annotated tag
/// `name@x.y.z`; labels such as `production` point at releases. Read a prompt by exact
/// version, `latest`, a SemVer range (`^1.2`) or a label, byte-exact and checksum-verified.
#[derive(Debug, Parser)]
#[command(name = "pulse", version, max_term_width = 100)]
pub struct Cli {
    /// The prompt repository (default: found from the current directory, as git does).
    #[arg(long, global = true, env = "PULSE_REPO", value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Act on this branch (prompt set) instead of the one checked out; it is created from
    /// the current branch's head when a command writes to it.
    #[arg(long, global = true, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// Output format for commands that report data.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Silence progress and notes (errors are still printed).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Read this configuration file instead of the user's config.yaml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How much to say on stderr: error, warn, info, debug, trace.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// The command to run.
    #[command(subcommand)]
    pub command: commands::Command,
}

/// How commands print what they report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// Stable JSON for programs (fields named as in the repository format).
    Json,
}

/// What every command gets: global options, settings, and the repository on demand.
pub struct Ctx {
    /// `--repo`, if given.
    pub repo_path: Option<PathBuf>,
    /// `--branch`, if given.
    pub branch: Option<String>,
    /// The output format.
    pub format: Format,
    /// `--quiet`.
    pub quiet: bool,
    /// `--config`, if given.
    pub config_path: Option<PathBuf>,
    /// `--log-level`, if given.
    pub log_level: Option<String>,
    repo: Option<PromptRepo>,
    /// The effective settings, once loaded.
    settings: Option<Settings>,
}

impl Ctx {
    /// The repository: `--repo`/`PULSE_REPO`, or discovered from the current directory.
    pub fn repo(&mut self) -> Result<&PromptRepo> {
        if self.repo.is_none() {
            let repo = match &self.repo_path {
                Some(p) => PromptRepo::open(p)?,
                None => {
                    let cwd = std::env::current_dir()
                        .map_err(|e| Error::io("cannot read the current directory", e))?;
                    PromptRepo::discover(&cwd)?
                }
            };
            self.repo = Some(repo);
        }
        self.repo
            .as_ref()
            .ok_or_else(|| Error::other("the repository could not be opened"))
    }

    /// The branch option as a `&str`.
    pub fn branch(&self) -> Option<&str> {
        self.branch.as_deref()
    }

    /// The configuration layers (repository, user file, environment, flags), loaded once.
    /// Warnings (unknown keys) are printed unless `--quiet`.
    pub fn settings(&mut self) -> Result<Settings> {
        if let Some(s) = &self.settings {
            return Ok(s.clone());
        }
        let repo_settings = match self.repo() {
            Ok(repo) => read_repo_settings(repo)?,
            Err(_) => None,
        };
        let user = config::user_config_path(self.config_path.as_deref());
        let (mut settings, warnings) = config::load(
            repo_settings.as_ref(),
            user.as_deref(),
            self.config_path.is_some(),
        )?;
        if let Some(level) = &self.log_level {
            config::set_key(&mut settings, "log_level", level, "--log-level")?;
        }
        self.settings = Some(settings.clone());
        for w in warnings {
            self.note(&format!("warning: {w}"));
        }
        Ok(settings)
    }

    /// Print a note for people on stderr, unless `--quiet` or `log_level: error`.
    pub fn note(&self, text: &str) {
        let errors_only = self
            .settings
            .as_ref()
            .is_some_and(|s| s.log_level.as_deref() == Some("error"));
        if !self.quiet && !errors_only {
            eprintln!("{text}");
        }
    }
}

fn read_repo_settings(repo: &PromptRepo) -> Result<Option<RepoSettings>> {
    // The checked-out file wins (it is what the user edits); a bare repository uses HEAD's.
    if let Some(dir) = repo.workdir() {
        return RepoSettings::read_file(&dir.join(SETTINGS_PATH), SETTINGS_PATH);
    }
    let Ok(head) = repo.git().head_id() else {
        return Ok(None);
    };
    match repo.file_at(head.detach(), SETTINGS_PATH)? {
        Some(bytes) => RepoSettings::parse(&bytes, SETTINGS_PATH).map(Some),
        None => Ok(None),
    }
}

/// Parse `NAME[@SELECTOR]`, with `--version SEL` as the seed's spelling of `@SELECTOR`.
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

/// Write JSON (pretty, with a trailing newline) for `--format json`.
pub fn write_json(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)
        .map_err(|e| Error::other(format!("cannot write JSON: {e}")))?;
    writeln!(out).map_err(|e| Error::io("cannot write output", e))
}

/// Map an output error: a closed pipe is not a failure of the command.
pub fn out_err(e: std::io::Error) -> Error {
    Error::io("cannot write output", e)
}

fn is_broken_pipe(err: &Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// Run pulse with `args`, writing reports to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<()> {
    let mut ctx = Ctx {
        repo_path: cli.repo,
        branch: cli.branch,
        format: cli.format,
        quiet: cli.quiet,
        config_path: cli.config,
        log_level: cli.log_level,
        repo: None,
        settings: None,
    };
    // A broken configuration stops every command before it reads or writes anything.
    let needs_repo = !matches!(
        cli.command,
        commands::Command::Init(_) | commands::Command::Completions(_)
    );
    if needs_repo {
        ctx.settings()?;
    }
    commands::dispatch(cli.command, &mut ctx, out)
}

/// The `pulse` binary: parse, run, print errors with their hint, exit with the spec's code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = run(cli, &mut out).and_then(|()| out.flush().map_err(out_err));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = out.flush();
            let color = std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            let (red, yellow, reset) = if color {
                ("\x1b[31m", "\x1b[33m", "\x1b[0m")
            } else {
                ("", "", "")
            };
            eprintln!("{red}error{reset}: {}", e.message());
            if let Some(h) = e.hint() {
                eprintln!("{yellow}hint{reset}: {h}");
            }
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
}
