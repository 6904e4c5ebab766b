//! `pulse add`: store content as a prompt's working content and release it.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use crate::cli::{Ctx, Report};
use crate::error::{Error, IoResultExt, Result};
use crate::meta::MetadataUpdate;
use crate::name::Name;
use crate::repo::{AddRequest, Added, Content, VersionChoice};
use crate::report::Released;
use crate::version::{Bump, Version};

/// Which part of the version `--bump` raises.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum BumpArg {
    /// x+1.0.0
    Major,
    /// x.y+1.0
    Minor,
    /// x.y.z+1
    Patch,
}

impl From<BumpArg> for Bump {
    fn from(b: BumpArg) -> Self {
        match b {
            BumpArg::Major => Bump::Major,
            BumpArg::Minor => Bump::Minor,
            BumpArg::Patch => Bump::Patch,
        }
    }
}

/// `--sign` / `--no-sign`: whether the release tag is signed (default: git's `tag.gpgSign`).
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// Sign the release tag as 'git tag -s' does (gpg.format openpgp or ssh, user.signingKey).
    #[arg(long, conflicts_with = "no_sign")]
    pub sign: bool,
    /// Do not sign the release tag, whatever tag.gpgSign says.
    #[arg(long)]
    pub no_sign: bool,
}

impl SignArgs {
    /// The choice the flags make.
    pub fn choice(&self) -> crate::repo::sign::SignChoice {
        use crate::repo::sign::SignChoice;
        match (self.sign, self.no_sign) {
            (true, _) => SignChoice::Always,
            (_, true) => SignChoice::Never,
            _ => SignChoice::AsConfigured,
        }
    }
}

/// How the version is chosen (shared by `add` and `release`).
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct VersionArgs {
    /// The version to release (SemVer; a leading 'v' is dropped).
    #[arg(long = "version", id = "release_version", value_name = "VERSION")]
    pub version: Option<String>,
    /// Release one above the highest existing version.
    #[arg(long, value_enum)]
    pub bump: Option<BumpArg>,
}

impl VersionArgs {
    pub(super) fn choice(&self) -> Result<VersionChoice> {
        match (&self.version, self.bump) {
            (Some(v), _) => Ok(VersionChoice::Exact(Version::parse(v)?)),
            (None, Some(b)) => Ok(VersionChoice::Bump(b.into())),
            (None, None) => Err(Error::usage(
                "pass --version VERSION or --bump major|minor|patch",
            )),
        }
    }
}

/// Store content as a prompt's working content and release it as NAME@VERSION.
///
/// Store content (from --file, or stdin) as the prompt's working content on the branch, in
/// one commit, and release it as NAME@VERSION. Prints NAME@VERSION. The same version with
/// identical content is a success that changes nothing; with other content it is a
/// conflict (exit 4). An uncommitted edit to the prompt's file is never overwritten. A
/// content whose frontmatter declares template variables must be a valid template (exit
/// 2), and a change to them that breaks renders of the release below (a variable removed
/// or newly required) needs a major version (exit 4).
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The prompt's name, e.g. reviewer or team-a/code.reviewer.
    pub name: String,
    #[command(flatten)]
    pub version: VersionArgs,
    /// Read the content from this file ('-' for stdin; default: stdin).
    #[arg(long, short, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// A description of the prompt.
    #[arg(long, short)]
    pub description: Option<String>,
    /// Comma-separated keywords.
    #[arg(long, value_delimiter = ',')]
    pub tags: Option<Vec<String>>,
    /// The release message.
    #[arg(long, short)]
    pub message: Option<String>,
    #[command(flatten)]
    pub signing: SignArgs,
    /// Allow a version lower than the highest release (a back-port).
    #[arg(long)]
    pub allow_older: bool,
}

fn read_content(file: Option<&PathBuf>) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    match file.filter(|f| f.as_os_str() != "-") {
        Some(path) => {
            let mut f =
                std::fs::File::open(path).io_ctx(|| format!("cannot read '{}'", path.display()))?;
            let meta = f
                .metadata()
                .io_ctx(|| format!("cannot read '{}'", path.display()))?;
            if meta.is_dir() {
                return Err(Error::usage(format!(
                    "'{}' is a directory, not a file",
                    path.display()
                )));
            }
            // A regular file's size is known: read it in one allocation.
            if meta.is_file() {
                buf.reserve_exact(usize::try_from(meta.len()).unwrap_or(0));
            }
            f.read_to_end(&mut buf)
                .io_ctx(|| format!("cannot read '{}'", path.display()))?;
        }
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(Error::usage("no content given")
                    .with_hint("pass --file FILE, or pipe the content into pulse add"));
            }
            stdin
                .lock()
                .read_to_end(&mut buf)
                .io_ctx(|| "cannot read stdin")?;
        }
    }
    Ok(buf)
}

impl Report for Released {
    fn text(&self) -> String {
        format!("{}@{}\n", self.name, self.version)
    }
}

/// Print the outcome of `add` or `release`.
pub(super) fn report(ctx: &Ctx, out: &mut dyn Write, name: &Name, added: &Added) -> Result<()> {
    if !added.created {
        ctx.out.note(&format!(
            "{name}@{} already exists with identical content; nothing changed",
            added.version
        ));
    }
    ctx.out.emit(
        out,
        &Released {
            name: name.clone(),
            version: added.version.clone(),
            new: added.created,
            commit: added.commit.to_string(),
            tag: added.tag.to_string(),
        },
    )
}

pub(super) fn run(args: AddArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let name = Name::parse(&args.name)?;
    let version = args.version.choice()?;
    let tags = args.tags.map(|t| {
        t.into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    });
    let content = read_content(args.file.as_ref())?;
    let req = AddRequest {
        name: &name,
        version,
        content: Content::Given(&content),
        metadata: MetadataUpdate {
            description: args.description,
            tags,
        },
        message: args.message,
        allow_older: args.allow_older,
        provenance: Default::default(),
        sign: args.signing.choice(),
        check_templates: true,
    };
    let added = ctx.access.repo()?.add(ctx.access.branch(), &req)?;
    report(ctx, out, &name, &added)
}
