//! `pulse render`: fill a released template's variables and print the result.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::bounded::{self, Links, ReadError};
use crate::cli::{Ctx, out_err, parse_spec};
use crate::error::{Error, Result};
use crate::store::StoreExt;
use crate::template::{Template, vars_from_document};

/// Fill a prompt's template variables and print the result.
///
/// Render NAME@SELECTOR (default: latest) as a template: the variables its frontmatter
/// declares are filled from --var NAME=VALUE and --vars-file FILE (a YAML or JSON mapping;
/// '-' reads stdin), --var winning over the file. Strict: a required variable that is not
/// given, a variable given that the prompt does not declare, and a variable the template
/// uses without declaring it are each an error (exit 2) naming it, never a blank. Optional
/// variables take their default, or the empty string. Prints the body after the
/// frontmatter, rendered, byte-exact (no newline is added). Templates use Jinja syntax:
/// {{ name }}, {% if %}, {% for %}, filters such as {{ name | upper }}. Reads from the
/// same store as 'pulse fetch' (--store for a directory, S3 or a registry).
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// NAME or NAME@SELECTOR.
    #[arg(value_name = "NAME[@SELECTOR]")]
    pub spec: String,
    /// The selector, as a flag (another spelling of NAME@SELECTOR).
    #[arg(long = "version", id = "selector", value_name = "SELECTOR")]
    pub version: Option<String>,
    /// A variable's value (repeatable); wins over --vars-file.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from this YAML or JSON mapping of names to strings ('-' for stdin).
    #[arg(long, value_name = "FILE")]
    pub vars_file: Option<PathBuf>,
}

/// The values of `--vars-file`: a regular file (never a FIFO or a device, which could
/// block), or stdin for `-`, at most [`bounded::VARS_FILE`] bytes.
fn read_vars_file(path: &Path) -> Result<BTreeMap<String, String>> {
    let limit = bounded::VARS_FILE.max_bytes;
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("cannot read the variables from stdin", e))?;
        if bytes.len() > limit {
            return Err(Error::usage(format!(
                "the variables on stdin {}",
                bounded::Refusal::TooLarge { limit }
            )));
        }
        return vars_from_document(&bytes, "the variables on stdin");
    }
    let shown = format!("vars file '{}'", path.display());
    match bounded::read_file(path, limit, Links::Follow) {
        Ok(bytes) => vars_from_document(&bytes, &shown),
        Err(ReadError::Refused(why)) => Err(Error::usage(format!("{shown} {why}"))),
        Err(ReadError::Io(e)) => Err(Error::io(format!("cannot read {shown}"), e)),
    }
}

/// The variables of the command line: the file's, then each `--var` over them. A `--var`
/// without `=`, or given twice, is refused.
fn variables(args: &RenderArgs) -> Result<BTreeMap<String, String>> {
    let mut vars = match &args.vars_file {
        Some(path) => read_vars_file(path)?,
        None => BTreeMap::new(),
    };
    let mut given = std::collections::BTreeSet::new();
    for pair in &args.vars {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(Error::usage(format!(
                "--var '{}' has no '=': write --var NAME=VALUE",
                crate::name::printable(pair)
            )));
        };
        if !given.insert(name) {
            return Err(Error::usage(format!(
                "--var '{}' is given twice",
                crate::name::printable(name)
            )));
        }
        vars.insert(name.to_owned(), value.to_owned());
    }
    Ok(vars)
}

pub(super) fn run(args: RenderArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let (name, selector) = parse_spec(&args.spec, args.version.as_deref())?;
    let vars = variables(&args)?;
    let store = ctx.access.store()?;
    let version = store.resolve(&name, &selector)?;
    let content = store
        .fetch(&name, &version)
        .map_err(|e| store.explain_missing(e))?;
    let rendered = Template::parse(&content)
        .and_then(|t| t.render(&vars))
        .map_err(|e| e.context(format!("cannot render '{name}@{version}'")))?;
    out.write_all(rendered.as_bytes()).map_err(out_err)
}
