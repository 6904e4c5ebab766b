//! Diagnostics on stderr: notes, warnings, debug and trace lines from the whole library
//! (through the `log` facade), and the final error, as text for people or as JSON lines
//! for programs (`log_format: json`).
//!
//! Levels: `error` shows errors only; `warn` adds warnings; `info` (the default) adds
//! notes; `debug` adds what pulse opens, reads and runs (repositories, configuration
//! files, git commands, stores); `trace` adds timings. `--quiet` is `error`.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::error::Error;

static JSON: AtomicBool = AtomicBool::new(false);
static LOGGER: StderrLogger = StderrLogger;
/// What the library said before the configuration (which sets the level and format) was
/// read; shown, as far as the final level allows, once it is.
static EARLY: Mutex<Option<Vec<Line>>> = Mutex::new(None);

struct StderrLogger;

struct Line {
    level: Level,
    target: String,
    message: String,
}

fn early() -> std::sync::MutexGuard<'static, Option<Vec<Line>>> {
    EARLY.lock().unwrap_or_else(|p| p.into_inner())
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warn",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

fn now() -> String {
    crate::repo::format_time(gix::date::Time::now_utc())
}

/// Write one line on stderr; a closed stderr is ignored (there is nobody to tell).
fn emit(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(line.as_bytes());
    let _ = err.flush();
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = Line {
            level: record.level(),
            target: record.target().to_owned(),
            message: record.args().to_string(),
        };
        if let Some(buffer) = early().as_mut() {
            buffer.push(line);
            return;
        }
        write_line(&line);
    }

    fn flush(&self) {}
}

fn write_line(line: &Line) {
    let message = &line.message;
    if JSON.load(Ordering::Relaxed) {
        let json = serde_json::json!({
            "time": now(),
            "level": level_name(line.level),
            "target": line.target,
            "message": message,
        });
        emit(&format!("{json}\n"));
        return;
    }
    {
        let prefix = match line.level {
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "note",
            Level::Debug => "debug",
            Level::Trace => "trace",
        };
        emit(&format!("{prefix}: {message}\n"));
    }
}

fn filter(level: Option<&str>) -> LevelFilter {
    match level {
        Some("error") => LevelFilter::Error,
        Some("warn") => LevelFilter::Warn,
        Some("debug") => LevelFilter::Debug,
        Some("trace") => LevelFilter::Trace,
        _ => LevelFilter::Info,
    }
}

/// Install the logger and keep everything said until [`configure`] knows what to show.
pub(super) fn start() {
    let _ = log::set_logger(&LOGGER);
    *early() = Some(Vec::new());
    log::set_max_level(LevelFilter::Trace);
}

/// Set what the logger shows (`quiet` wins over `level`) and in which format, and show
/// what was said before, as far as that level allows.
pub(super) fn configure(quiet: bool, level: Option<&str>, format: Option<&str>) {
    let filter = if quiet {
        LevelFilter::Error
    } else {
        filter(level)
    };
    JSON.store(format == Some("json"), Ordering::Relaxed);
    log::set_max_level(filter);
    let held = early().take().unwrap_or_default();
    for line in held.iter().filter(|l| l.level <= filter) {
        write_line(line);
    }
}

/// Print the error that ends the command, with its causes and hints.
pub(super) fn report_error(e: &Error, terminal: bool) {
    let hints: Vec<String> = e
        .hints()
        .iter()
        .map(super::hint_text)
        .filter(|h| !h.is_empty())
        .collect();
    // Causes not already part of the message: the library words its own messages with
    // the cause, but a foreign cause may say more.
    let causes: Vec<String> = e
        .causes()
        .map(|c| c.to_string())
        .filter(|c| !e.message().contains(c.as_str()))
        .collect();
    if JSON.load(Ordering::Relaxed) {
        let line = serde_json::json!({
            "time": now(),
            "level": "error",
            "message": e.message(),
            "causes": causes,
            "hints": hints,
            "exit_code": e.kind().exit_code(),
        });
        emit(&format!("{line}\n"));
        return;
    }
    let color = terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let (red, yellow, reset) = if color {
        ("\x1b[31m", "\x1b[33m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    let mut text = format!("{red}error{reset}: {}\n", e.message());
    for c in causes {
        text.push_str(&format!("  caused by: {c}\n"));
    }
    for h in hints {
        text.push_str(&format!("{yellow}hint{reset}: {h}\n"));
    }
    emit(&text);
}
