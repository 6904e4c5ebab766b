//! The one error type that leaves the library: a kind that maps to an exit code, a
//! message that names the thing that failed, the cause it came from, and hints that say
//! what to do next.
//!
//! The library never words a hint as a command line: a [`Hint`] says *what* would help
//! (list the versions of a prompt, pull first, …) and the command line or the server
//! turns it into its own words.

use std::fmt;

/// What class of failure an [`Error`] is; each maps to one exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any other failure (exit 1).
    Other,
    /// A usage error or invalid input: bad name, version, selector or flag (exit 2).
    Usage,
    /// A repository, store, prompt, version or label that does not exist (exit 3).
    NotFound,
    /// A version that exists with other content, a lost race, an edit or a lock in the way (exit 4).
    Conflict,
    /// A checksum mismatch, a corrupt object, a malformed tag or file (exit 5).
    Integrity,
    /// A store that cannot be reached, or access that is not permitted (exit 6).
    Unavailable,
}

impl Kind {
    /// The process exit code for this kind.
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Other => 1,
            Kind::Usage => 2,
            Kind::NotFound => 3,
            Kind::Conflict => 4,
            Kind::Integrity => 5,
            Kind::Unavailable => 6,
        }
    }
}

/// A next step that may help, said without the words of any one front end.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hint {
    /// Advice that names no command.
    Text(String),
    /// Listing the releases of a prompt shows what exists.
    ListVersions {
        /// The prompt.
        name: String,
    },
    /// Listing the labels of a prompt shows what exists.
    ListLabels {
        /// The prompt.
        name: String,
    },
    /// Listing the prompts shows what exists.
    ListPrompts,
    /// A label points to a release that is gone: move or remove it.
    MoveLabel {
        /// The prompt.
        name: String,
        /// The label.
        label: String,
    },
    /// The repository must be initialised as a prompt repository first.
    Init {
        /// Where, if not the current repository.
        path: Option<String>,
    },
    /// No repository was found: make one, or name one.
    FindRepository,
    /// Verifying the releases (of one prompt) finds every problem.
    Verify {
        /// Only this prompt.
        name: Option<String>,
    },
    /// Bring in the remote's changes first, then retry.
    Pull {
        /// The remote.
        remote: String,
    },
    /// Releases are immutable: release under a new version.
    NewVersion,
    /// A lower version needs the explicit permission for back-ports.
    AllowOlder,
    /// Deleting a release that may have been shared needs force.
    ForceDelete {
        /// `name@version`.
        spec: String,
    },
    /// Give a value to each of these template variables.
    GiveVariables {
        /// The variables.
        names: Vec<String>,
    },
    /// A change that breaks earlier renders needs a new major version.
    MajorVersion {
        /// The first major version after the release it breaks.
        version: String,
    },
    /// Release a given file instead of the working content.
    ReleaseFile {
        /// The prompt.
        name: String,
        /// The file (path in the worktree), if known.
        path: Option<String>,
    },
}

impl From<String> for Hint {
    fn from(text: String) -> Self {
        Hint::Text(text)
    }
}

impl From<&str> for Hint {
    fn from(text: &str) -> Self {
        Hint::Text(text.to_owned())
    }
}

/// An error with a kind, a message, its cause, hints, and whether retrying may help.
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    message: String,
    hints: Vec<Hint>,
    retryable: bool,
    silent: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The result type of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with `message`. Only an unreachable store is worth retrying
    /// by default.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hints: Vec::new(),
            retryable: kind == Kind::Unavailable,
            silent: false,
            source: None,
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }

    /// A not-found error (exit 3).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }

    /// A conflict (exit 4).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, message)
    }

    /// An integrity failure (exit 5).
    pub fn integrity(message: impl Into<String>) -> Self {
        Self::new(Kind::Integrity, message)
    }

    /// A store that cannot be reached (exit 6); retrying may help.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable, message)
    }

    /// Any other failure (exit 1).
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(Kind::Other, message)
    }

    /// Add a next step for the user (several may be added; they are shown in order).
    pub fn with_hint(mut self, hint: impl Into<Hint>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Keep the underlying cause, so the chain can be shown and inspected.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Say whether running the same operation again may succeed (a timeout, a lost
    /// race) or cannot (a bad name, a missing release, a refused credential).
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// Mark an outcome that only sets the exit code and needs no message (a search that
    /// found nothing exits 1, as grep does, and says nothing).
    pub fn silent(mut self) -> Self {
        self.silent = true;
        self
    }

    /// Whether the error is an outcome to exit with, without a message.
    pub fn is_silent(&self) -> bool {
        self.silent
    }

    /// Keep this error's kind, hints and cause, with `context: ` in front of its message.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The message, without hints.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The hints, in the order they were added.
    pub fn hints(&self) -> &[Hint] {
        &self.hints
    }

    /// Whether retrying the same operation may help.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The causes of this error, outermost first (not including the error itself).
    pub fn causes(&self) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
        let mut next = std::error::Error::source(self);
        std::iter::from_fn(move || {
            let current = next?;
            next = current.source();
            Some(current)
        })
    }

    /// An I/O failure on `what`: permission problems are `Unavailable` (not worth
    /// retrying), a missing file is `NotFound`, interrupted or timed-out I/O is
    /// `Unavailable` (worth retrying), everything else `Other`.
    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Self {
        use std::io::ErrorKind as E;
        let (kind, retry) = match err.kind() {
            E::NotFound => (Kind::NotFound, false),
            E::PermissionDenied | E::ReadOnlyFilesystem => (Kind::Unavailable, false),
            E::TimedOut | E::Interrupted | E::ConnectionReset | E::ConnectionAborted => {
                (Kind::Unavailable, true)
            }
            _ => (Kind::Other, false),
        };
        Error::new(kind, format!("{what}: {err}"))
            .retryable(retry)
            .with_source(err)
    }

    /// A failure inside git (gix) while doing `what`; corrupt objects are integrity failures.
    pub fn git(what: impl fmt::Display, err: gix::Error) -> Self {
        let kind = if err.classify().is_corrupted() {
            Kind::Integrity
        } else if err.classify().is_permission_denied() {
            Kind::Unavailable
        } else {
            Kind::Other
        };
        let mut message = format!("{what}: {err}");
        // gix errors chain their causes; the innermost one usually says the most.
        let cause = err.probable_cause().to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
        Error::new(kind, message).retryable(false).with_source(err)
    }

    /// Whether an I/O error in the cause chain is a closed pipe (the reader went away).
    pub fn is_broken_pipe(&self) -> bool {
        self.causes().any(|s| {
            s.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Add context to foreign results in one call: `.git_ctx(|| "reading tag")?`.
pub(crate) trait GitResultExt<T> {
    /// Turn a gix error into an [`Error`] saying what was being done.
    fn git_ctx<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T>;
}

impl<T> GitResultExt<T> for std::result::Result<T, gix::Error> {
    fn git_ctx<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| Error::git(what(), e))
    }
}

/// Add context to I/O results: `.io_ctx(|| format!("reading {path}"))?`.
pub(crate) trait IoResultExt<T> {
    /// Turn an I/O error into an [`Error`] saying what was being done.
    fn io_ctx<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T>;
}

impl<T> IoResultExt<T> for std::result::Result<T, std::io::Error> {
    fn io_ctx<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| Error::io(what(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_and_hints_are_kept() {
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe closed");
        let e = Error::io("cannot write output", io)
            .with_hint("first")
            .with_hint(Hint::ListPrompts);
        assert_eq!(e.hints().len(), 2);
        assert!(e.is_broken_pipe());
        assert_eq!(e.causes().count(), 1);
        assert!(!e.is_retryable());
        assert!(Error::unavailable("x").is_retryable());
        assert!(!Error::usage("x").is_retryable());
    }
}
