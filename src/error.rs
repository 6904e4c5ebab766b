//! The one error type that leaves the library: a kind that maps to an exit code, a
//! message that names the thing that failed, and an optional hint saying what to do next.

use std::fmt;

/// What class of failure an [`Error`] is; each maps to one exit code of SPEC §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any other failure (exit 1).
    Other,
    /// A usage error or invalid input: bad name, version, selector or flag (exit 2).
    Usage,
    /// A repository, prompt, version or label that does not exist (exit 3).
    NotFound,
    /// A version that exists with other content, a lost race, an edit in the way (exit 4).
    Conflict,
    /// A checksum mismatch, a corrupt object or a malformed tag (exit 5).
    Integrity,
    /// A store that cannot be reached, or I/O that is not permitted (exit 6).
    Unavailable,
}

impl Kind {
    /// The process exit code for this kind, as SPEC §4 fixes it.
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

/// An error with a kind, a message and an optional hint (the next step for the user).
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    message: String,
    hint: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The result type of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
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

    /// Any other failure (exit 1).
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(Kind::Other, message)
    }

    /// Attach the next step for the user.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Attach the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The message, without the hint.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The hint, if any.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// An I/O failure on `what`: permission problems are `Unavailable`, a missing file
    /// is `NotFound`, everything else `Other`.
    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => Kind::NotFound,
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                Kind::Unavailable
            }
            _ => Kind::Other,
        };
        Error::new(kind, format!("{what}: {err}")).with_source(err)
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
        Error::new(kind, message)
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
