//! `pulse token add|list|revoke`: the access tokens of `pulse serve`.

use std::io::Write;
use std::path::PathBuf;

use crate::cli::{Ctx, Report};
use crate::error::{Error, Kind, Result};
use crate::name::NamePrefix;
use crate::serve::tokens::{self, NewToken, Scope, TokenInfo};

/// Make, list and revoke the access tokens of 'pulse serve'.
///
/// A token has one scope (read; write: also upload releases, move labels, change
/// metadata; admin: also delete releases) and one or more name prefixes (whole segments;
/// none: every prompt). It is shown once, when it is made: the tokens file keeps only its
/// SHA-256, readable by its owner only. A running 'pulse serve' reads the file again when
/// it changes, so a revoked token is refused within a second, without a restart.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// The tokens file (default: $XDG_CONFIG_HOME/progress-pulse/tokens.json).
    #[arg(long, global = true, value_name = "FILE")]
    pub tokens: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: TokenCommand,
}

/// What `pulse token` does.
#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it (once: it cannot be shown again).
    Add {
        /// Who or what it is for (letters, digits, '.', '_', '-'); releases uploaded with
        /// it without an author are authored by this name.
        name: String,
        /// What it may do.
        #[arg(long, value_enum)]
        scope: ScopeArg,
        /// A name prefix it covers (whole segments); give it again for more (default:
        /// every prompt).
        #[arg(long = "prefix", value_name = "PREFIX")]
        prefixes: Vec<String>,
    },
    /// List the tokens (never their secrets).
    List,
    /// Revoke a token, by its id or name.
    Revoke {
        /// The token's id (as listed) or name.
        #[arg(value_name = "ID|NAME")]
        token: String,
    },
}

/// A token's scope, on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeArg {
    /// Read the prompts under its prefixes.
    Read,
    /// Also upload releases, move labels, change description and keywords.
    Write,
    /// Also delete releases.
    Admin,
}

impl From<ScopeArg> for Scope {
    fn from(s: ScopeArg) -> Scope {
        match s {
            ScopeArg::Read => Scope::Read,
            ScopeArg::Write => Scope::Write,
            ScopeArg::Admin => Scope::Admin,
        }
    }
}

fn show_prefixes(prefixes: &[String]) -> String {
    prefixes
        .iter()
        .map(|p| if p.is_empty() { "*" } else { p.as_str() })
        .collect::<Vec<_>>()
        .join(",")
}

impl Report for NewToken {
    fn text(&self) -> String {
        format!("{}\n", self.token)
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
struct TokenList(Vec<TokenInfo>);

impl Report for TokenList {
    fn text(&self) -> String {
        let width = self
            .0
            .iter()
            .map(|t| t.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut text = String::new();
        if !self.0.is_empty() {
            text.push_str(&format!(
                "{:8}  {:width$}  {:5}  {:20}  CREATED\n",
                "ID", "NAME", "SCOPE", "PREFIXES"
            ));
        }
        for t in &self.0 {
            text.push_str(&format!(
                "{:8}  {:width$}  {:5}  {:20}  {}\n",
                t.id,
                t.name,
                t.scope.as_str(),
                show_prefixes(&t.prefixes),
                t.created
            ));
        }
        text
    }
}

/// A revoked token.
#[derive(serde::Serialize)]
struct Revoked {
    #[serde(flatten)]
    token: TokenInfo,
    revoked: bool,
}

impl Report for Revoked {
    fn text(&self) -> String {
        format!("revoked token {} ({})\n", self.token.id, self.token.name)
    }
}

pub(super) fn run(args: TokenArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let path = match args.tokens {
        Some(path) => path,
        None => tokens::default_path().ok_or_else(|| {
            Error::usage("no tokens file: neither XDG_CONFIG_HOME nor HOME is set")
                .with_hint("name one with --tokens FILE")
        })?,
    };
    match args.command {
        TokenCommand::Add {
            name,
            scope,
            prefixes,
        } => {
            let prefixes = prefixes
                .iter()
                .map(|p| NamePrefix::parse(p))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let made = tokens::add(&path, &name, scope.into(), &prefixes).map_err(|e| {
                if e.kind() == Kind::Conflict {
                    e.with_hint(format!(
                        "'pulse token revoke {name}' revokes it; 'pulse token list' shows the tokens"
                    ))
                } else {
                    e
                }
            })?;
            ctx.out.emit(out, &made)
        }
        TokenCommand::List => ctx.out.emit(out, &TokenList(tokens::list(&path)?)),
        TokenCommand::Revoke { token } => {
            let revoked = tokens::revoke(&path, &token).map_err(|e| {
                if e.kind() == Kind::NotFound {
                    e.with_hint("'pulse token list' shows the tokens' ids and names")
                } else {
                    e
                }
            })?;
            ctx.out.emit(
                out,
                &Revoked {
                    token: revoked,
                    revoked: true,
                },
            )
        }
    }
}
