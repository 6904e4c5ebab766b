//! The audit log: one JSON line for every write and every refusal, appended with one
//! `write` each (so lines from several servers appending to one file never interleave).
//!
//! ```json
//! {"time":"2024-01-02T03:04:05.123Z","token":"1a2b3c4d","client":"10.0.0.7:51234","action":"release","target":"team/reviewer@1.2.0","status":201,"result":"created"}
//! ```
//!
//! A line names the token by its public id (`null` for a request without one), never by
//! its secret.

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::Serialize;

use crate::error::{IoResultExt, Result};

/// Where the audit log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditLog {
    /// Standard error.
    Stderr,
    /// Appended to this file (created if missing).
    File(PathBuf),
}

/// What a request was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Action {
    /// A read (logged only when refused).
    Read,
    /// A release upload.
    Release,
    /// A move of labels.
    Labels,
    /// A change of a prompt's description and keywords.
    Metadata,
    /// A release's deletion.
    Delete,
}

/// One line of the log.
#[derive(Debug, Serialize)]
pub(crate) struct Record<'a> {
    /// When the answer was given (RFC 3339, UTC).
    pub(crate) time: String,
    /// The token's public id (`None`: no token, or one that was not accepted).
    pub(crate) token: Option<&'a str>,
    /// The client's address.
    pub(crate) client: String,
    /// What the request was doing.
    pub(crate) action: Action,
    /// `name@version` or `name` (`None`: the request names no prompt).
    pub(crate) target: Option<&'a str>,
    /// The answer's HTTP status.
    pub(crate) status: u16,
    /// The outcome in one word: `created`, `unchanged`, `moved`, `updated`, `deleted`,
    /// `unauthorized`, `forbidden`, `conflict`, `stale`, `precondition_required`,
    /// `too_large`, `invalid`, `not_found`, `timeout` (the body did not arrive in time),
    /// `unavailable` (the store did not answer) or `failed`.
    pub(crate) result: &'static str,
}

/// The open audit log.
pub(crate) struct Audit {
    out: Mutex<Sink>,
}

enum Sink {
    Stderr,
    File(File, PathBuf),
}

impl Audit {
    /// Open the log for appending.
    pub(crate) fn open(to: &AuditLog) -> Result<Audit> {
        let sink = match to {
            AuditLog::Stderr => Sink::Stderr,
            AuditLog::File(path) => Sink::File(open_append(path)?, path.clone()),
        };
        Ok(Audit {
            out: Mutex::new(sink),
        })
    }

    /// Append one line. A log that cannot be written is reported on the server's log,
    /// and the request's answer stands.
    pub(crate) fn write(&self, record: &Record<'_>) {
        let Ok(mut line) = serde_json::to_vec(record) else {
            return;
        };
        line.push(b'\n');
        let Ok(mut sink) = self.out.lock() else {
            return;
        };
        let written = match &mut *sink {
            Sink::Stderr => std::io::stderr().lock().write_all(&line),
            Sink::File(file, _) => file.write_all(&line),
        };
        if let Err(e) = written {
            let place = match &*sink {
                Sink::Stderr => "standard error".to_owned(),
                Sink::File(_, path) => format!("'{}'", path.display()),
            };
            ::log::error!("cannot write the audit log to {place}: {e}");
        }
    }
}

fn open_append(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .io_ctx(|| {
            format!(
                "cannot open the audit log '{}' for appending",
                path.display()
            )
        })
}

/// `time` as RFC 3339 in UTC with milliseconds: `2024-01-02T03:04:05.123Z`.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// The calendar date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// The client's address as the log writes it.
pub(crate) fn client(addr: SocketAddr) -> String {
    addr.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        let t = |s: u64, ms: u64| {
            rfc3339(
                SystemTime::UNIX_EPOCH
                    + std::time::Duration::from_secs(s)
                    + std::time::Duration::from_millis(ms),
            )
        };
        assert_eq!(t(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(t(1_704_164_645, 7), "2024-01-02T03:04:05.007Z");
        assert_eq!(t(951_825_600, 0), "2000-02-29T12:00:00.000Z");
        assert_eq!(t(4_107_542_399, 999), "2100-02-28T23:59:59.999Z");
    }
}
