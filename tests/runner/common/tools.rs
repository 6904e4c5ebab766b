//! Finding the programs tests run besides git and pulse (the S3 servers and the aws CLI,
//! schemathesis): the environment variable that names one (a path, or a name looked up on
//! the `PATH`), else the place the install script puts it, else the `PATH`. A program
//! that is nowhere is an error that says how to install it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// An external program a test needs, and what to say when it is missing.
#[derive(Debug, Clone)]
pub struct Program<'a> {
    /// The executable's name, as looked up on the `PATH`.
    pub name: &'a str,
    /// The environment variable that names the executable.
    pub var: &'a str,
    /// Where the install script puts it, if there is a home to put it under.
    pub default: Option<PathBuf>,
    /// Who needs it: "the S3 tests need it".
    pub needed_by: &'a str,
    /// How to install it: "run `bash scripts/...`".
    pub install: &'a str,
}

impl Program<'_> {
    /// Find it given the variable's value and the `PATH` (both passed in, so tests can
    /// try every case).
    pub fn locate(&self, var: Option<OsString>, path: Option<OsString>) -> Result<PathBuf, String> {
        let on_path = |name: &OsString| {
            path.as_ref().and_then(|p| {
                std::env::split_paths(p)
                    .map(|dir| dir.join(name))
                    .find(|f| is_executable(f))
            })
        };
        if let Some(value) = var.filter(|v| !v.is_empty()) {
            let named = PathBuf::from(&value);
            let found = if named.components().count() > 1 {
                is_executable(&named).then_some(named)
            } else {
                on_path(&value)
            };
            return found.ok_or_else(|| {
                format!(
                    "{} names {value:?}, which is not an executable; unset it, or {}",
                    self.var, self.install
                )
            });
        }
        if let Some(default) = self.default.as_ref().filter(|d| is_executable(d)) {
            return Ok(default.clone());
        }
        on_path(&self.name.into()).ok_or_else(|| {
            format!(
                "{name} is missing: {needed_by}. To install it, {install}; it puts it at \
                 {default}. Or set {var} to its path.",
                name = self.name,
                needed_by = self.needed_by,
                install = self.install,
                default = self.default.as_ref().map_or_else(
                    || "~/.cache/progress-pulse-tools".to_owned(),
                    |d| d.display().to_string()
                ),
                var = self.var,
            )
        })
    }

    /// Find it from the real environment; panics with the install hint when it is nowhere.
    pub fn path(&self) -> PathBuf {
        self.locate(std::env::var_os(self.var), std::env::var_os("PATH"))
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// `~/.cache/progress-pulse-tools/<rel>`, where the install scripts put what they install.
pub fn under_tools_dir(rel: &str) -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| {
        PathBuf::from(home)
            .join(".cache/progress-pulse-tools")
            .join(rel)
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
