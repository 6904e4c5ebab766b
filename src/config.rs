//! Configuration: the configuration keys, read from the repository's `.pulse/config.yaml`, the
//! user's `config.yaml`, `PULSE_*` environment variables and flags, in rising precedence.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::bounded::{self, Links, ReadError};
use crate::error::{Error, Result};

/// The configuration keys pulse accepts.
pub const KNOWN_KEYS: [&str; 7] = [
    "storage",
    "storage_path",
    "storage_config",
    "cache_size",
    "cache_ttl",
    "log_level",
    "log_format",
];

/// Settings after every layer is applied. `None` means "not set anywhere".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// Which store pulse reads and writes: `git` (the repository), `filesystem`, `s3` or `http`.
    pub storage: Option<String>,
    /// Where a filesystem store lives.
    pub storage_path: Option<String>,
    /// Store-specific options (bucket, endpoint, ...), values with `${VAR}` expanded.
    pub storage_config: BTreeMap<String, String>,
    /// The size of the read cache, in bytes.
    pub cache_size: Option<u64>,
    /// How long a resolved `latest`, label or range stays cached, in seconds.
    pub cache_ttl: Option<u64>,
    /// How much pulse says on stderr: `error`, `warn`, `info`, `debug` or `trace`.
    pub log_level: Option<String>,
    /// `text` or `json` diagnostics.
    pub log_format: Option<String>,
}

/// The repository's own settings file, `.pulse/config.yaml`: the format version, plus
/// any of the configuration keys as repository defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoSettings {
    /// The repository format version.
    pub format: u32,
    /// Repository-level defaults for the configuration keys.
    pub settings: Settings,
    /// Unknown keys, reported as warnings.
    pub warnings: Vec<String>,
    /// Labels that may point only at signed releases (`signed_labels`).
    pub signed_labels: Vec<String>,
}

impl RepoSettings {
    /// Parse `.pulse/config.yaml`; `path` names the file in errors.
    pub fn parse(bytes: &[u8], path: &str) -> Result<RepoSettings> {
        let mut map = parse_mapping(bytes, path)?;
        let format = match map.remove("format") {
            Some(serde_yaml_ng::Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    Error::integrity(format!("'{path}': 'format' must be a whole number"))
                })?,
            Some(_) => {
                return Err(Error::integrity(format!(
                    "'{path}': 'format' must be a whole number"
                )));
            }
            None => return Err(Error::integrity(format!("'{path}' has no 'format' key"))),
        };
        let signed_labels = match map.remove("signed_labels") {
            None => Vec::new(),
            Some(serde_yaml_ng::Value::Sequence(items)) => {
                let mut labels = Vec::with_capacity(items.len());
                for item in items {
                    let label = item
                        .as_str()
                        .and_then(|l| crate::name::Label::parse(l).ok())
                        .ok_or_else(|| {
                            Error::integrity(format!(
                                "'{path}': 'signed_labels' holds something that is not a label"
                            ))
                        })?;
                    labels.push(label.to_string());
                }
                labels
            }
            Some(_) => {
                return Err(Error::integrity(format!(
                    "'{path}': 'signed_labels' must be a list of labels"
                )));
            }
        };
        let mut out = RepoSettings {
            format,
            signed_labels,
            ..Default::default()
        };
        apply_mapping(&mut out.settings, map, path, &mut out.warnings)?;
        Ok(out)
    }

    /// Read and parse a checked-out `.pulse/config.yaml` at `file`; `path` names it in
    /// errors. A file that is missing or cannot be read is `None`; one that is not a regular
    /// file, or too large, is an error.
    pub fn read_file(file: &Path, path: &str) -> Result<Option<RepoSettings>> {
        match bounded::read_file(file, bounded::CONFIG.max_bytes, Links::Follow) {
            Ok(bytes) => RepoSettings::parse(&bytes, path).map(Some),
            Err(ReadError::Refused(why)) => Err(refused(path, why)),
            Err(ReadError::Io(_)) => Ok(None),
        }
    }
}

/// A configuration file refused before parsing: too large, too deep, not a regular file.
fn refused(path: &str, why: bounded::Refusal) -> Error {
    Error::usage(format!("configuration file '{path}' {why}")).with_hint(
        "a configuration holds a few keys (storage, storage_path, storage_config, cache_size, cache_ttl, log_level, log_format); check that this is the right file",
    )
}

fn parse_mapping(bytes: &[u8], path: &str) -> Result<serde_yaml_ng::Mapping> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(serde_yaml_ng::Mapping::new());
    }
    bounded::check_yaml(bytes, bounded::CONFIG).map_err(|why| refused(path, why))?;
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_slice(bytes).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(" at line {}, column {}", l.line(), l.column()))
            .unwrap_or_default();
        Error::usage(format!("configuration file '{path}' is malformed{at}: {e}"))
            .with_hint("fix the YAML; keys are storage, storage_path, storage_config, cache_size, cache_ttl, log_level, log_format")
    })?;
    match value {
        serde_yaml_ng::Value::Mapping(m) => Ok(m),
        serde_yaml_ng::Value::Null => Ok(serde_yaml_ng::Mapping::new()),
        _ => Err(Error::usage(format!(
            "configuration file '{path}' must be a mapping of keys to values"
        ))),
    }
}

/// Expand `${VAR}` from the environment; a variable that is not set is an error.
pub fn expand_vars(input: &str, key: &str) -> Result<String> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| {
            Error::usage(format!("config key '{key}': unclosed '${{' in '{input}'"))
        })?;
        let var = &after[..end];
        let value = std::env::var(var).map_err(|_| {
            Error::usage(format!(
                "config key '{key}' uses ${{{var}}}, which is not set"
            ))
            .with_hint(format!(
                "export {var}=... or remove it from the configuration"
            ))
        })?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn scalar(value: &serde_yaml_ng::Value, key: &str, path: &str) -> Result<String> {
    let s = match value {
        serde_yaml_ng::Value::String(s) => s.clone(),
        serde_yaml_ng::Value::Number(n) => n.to_string(),
        serde_yaml_ng::Value::Bool(b) => b.to_string(),
        _ => {
            return Err(Error::usage(format!(
                "'{path}': '{key}' must be a single value"
            )));
        }
    };
    expand_vars(&s, key)
}

fn apply_mapping(
    settings: &mut Settings,
    map: serde_yaml_ng::Mapping,
    path: &str,
    warnings: &mut Vec<String>,
) -> Result<()> {
    for (k, v) in map {
        let Some(key) = k.as_str() else {
            warnings.push(format!("'{path}': ignoring a key that is not a string"));
            continue;
        };
        if key == "storage_config" {
            let serde_yaml_ng::Value::Mapping(m) = v else {
                return Err(Error::usage(format!(
                    "'{path}': 'storage_config' must be a mapping"
                )));
            };
            for (ik, iv) in m {
                let ik = ik.as_str().unwrap_or_default().to_owned();
                let value = scalar(&iv, &format!("storage_config.{ik}"), path)?;
                settings.storage_config.insert(ik, value);
            }
            continue;
        }
        if KNOWN_KEYS.contains(&key) {
            let value = scalar(&v, key, path)?;
            set_key(settings, key, &value, path)?;
        } else {
            warnings.push(format!("'{path}': unknown key '{key}' is ignored"));
        }
    }
    Ok(())
}

/// Set one of the configuration keys from text, checking its value.
pub fn set_key(settings: &mut Settings, key: &str, value: &str, source: &str) -> Result<()> {
    let bad = |allowed: &str| {
        Error::usage(format!(
            "{source}: '{key}' is '{value}', expected {allowed}"
        ))
    };
    match key {
        "storage" => {
            if !["git", "filesystem", "s3", "http"].contains(&value) {
                return Err(bad("git, filesystem, s3 or http"));
            }
            settings.storage = Some(value.to_owned());
        }
        "storage_path" => settings.storage_path = Some(value.to_owned()),
        "cache_size" => {
            settings.cache_size = Some(
                parse_size(value).ok_or_else(|| bad("a size such as 1048576, 64KiB or 100MB"))?,
            )
        }
        "cache_ttl" => {
            settings.cache_ttl = Some(
                parse_duration(value)
                    .ok_or_else(|| bad("seconds, or a duration such as 90s, 5m, 1h"))?,
            )
        }
        "log_level" => {
            if !["error", "warn", "info", "debug", "trace"].contains(&value) {
                return Err(bad("error, warn, info, debug or trace"));
            }
            settings.log_level = Some(value.to_owned());
        }
        "log_format" => {
            if !["text", "json"].contains(&value) {
                return Err(bad("text or json"));
            }
            settings.log_format = Some(value.to_owned());
        }
        _ => return Err(Error::usage(format!("{source}: unknown key '{key}'"))),
    }
    Ok(())
}

/// A size in bytes: `1048576`, `64KiB`, `100MB` (B, KB, KiB, MB, MiB, GB, GiB).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1_000,
        "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "GiB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// A duration in seconds: `90`, `90s`, `5m`, `1h`, `1d`.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mult = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Where the user's configuration file is: `--config`, else
/// `$XDG_CONFIG_HOME/progress-pulse/config.yaml`, else `~/.config/progress-pulse/config.yaml`.
pub fn user_config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("progress-pulse").join("config.yaml"))
}

/// Parse a user configuration file's bytes (`path` names it in errors), as [`load`] reads
/// the file: the settings and the warnings for unknown keys.
pub fn parse_user(bytes: &[u8], path: &str) -> Result<(Settings, Vec<String>)> {
    let mut settings = Settings::default();
    let mut warnings = Vec::new();
    let map = parse_mapping(bytes, path)?;
    apply_mapping(&mut settings, map, path, &mut warnings)?;
    Ok((settings, warnings))
}

/// Read the layers in precedence order: repository settings, then the user file, then
/// `PULSE_<KEY>` variables. Flags are applied by the caller. Returns the settings and warnings.
pub fn load(
    repo: Option<&RepoSettings>,
    user_file: Option<&Path>,
    explicit: bool,
) -> Result<(Settings, Vec<String>)> {
    let mut warnings = Vec::new();
    let mut settings = Settings::default();
    if let Some(r) = repo {
        settings = r.settings.clone();
        warnings.extend(r.warnings.iter().cloned());
    }
    if let Some(path) = user_file {
        let shown = path.display().to_string();
        match bounded::read_file(path, bounded::CONFIG.max_bytes, Links::Follow) {
            Ok(bytes) => {
                let map = parse_mapping(&bytes, &shown)?;
                apply_mapping(&mut settings, map, &shown, &mut warnings)?;
            }
            Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {}
            Err(ReadError::Io(e)) => {
                return Err(Error::io(
                    format!("cannot read configuration file '{shown}'"),
                    e,
                ));
            }
            Err(ReadError::Refused(why)) => return Err(refused(&shown, why)),
        }
    }
    for key in KNOWN_KEYS {
        if key == "storage_config" {
            continue;
        }
        let var = format!("PULSE_{}", key.to_ascii_uppercase());
        if let Ok(value) = std::env::var(&var) {
            set_key(
                &mut settings,
                key,
                &value,
                &format!("environment variable {var}"),
            )?;
        }
    }
    Ok((settings, warnings))
}

/// The time pulse records: `PULSE_TIMESTAMP` (seconds since the epoch, or RFC 3339) when
/// set, so tests and reproducible builds get fixed dates; otherwise now.
pub fn now() -> Result<gix::date::Time> {
    match std::env::var("PULSE_TIMESTAMP") {
        Ok(value) => parse_time(&value).ok_or_else(|| {
            Error::usage(format!(
                "PULSE_TIMESTAMP='{value}' is neither seconds since the epoch nor RFC 3339"
            ))
        }),
        Err(_) => Ok(gix::date::Time::now_local_or_utc()),
    }
}

/// Parse seconds since the epoch or an RFC 3339 time.
pub fn parse_time(value: &str) -> Option<gix::date::Time> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<i64>() {
        return Some(gix::date::Time::new(secs, 0));
    }
    let normalized = match value.strip_suffix('Z').or_else(|| value.strip_suffix('z')) {
        Some(v) => format!("{v}+00:00"),
        None => value.to_owned(),
    };
    // Drop fractional seconds: git times are whole seconds.
    let normalized = match (normalized.find('.'), normalized.rfind(['+', '-'])) {
        (Some(dot), Some(tz)) if dot < tz && normalized[..dot].contains('T') => {
            format!("{}{}", &normalized[..dot], &normalized[tz..])
        }
        _ => normalized,
    };
    // The common form is read here; gix's parser (which takes more forms) loads the
    // system's time zone database first, a cost every read of a release's metadata felt.
    rfc3339(&normalized).or_else(|| gix::date::parse(&normalized, None).ok())
}

/// `YYYY-MM-DDTHH:MM:SS+HH:MM` (or `-HH:MM`) as a time with its offset.
fn rfc3339(value: &str) -> Option<gix::date::Time> {
    let b = value.as_bytes();
    if b.len() != 25
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
        || !matches!(b[19], b'+' | b'-')
        || b[22] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = value.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let (off_h, off_m) = (num(20..22)?, num(23..25)?);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    if off_h > 23 || off_m > 59 {
        return None;
    }
    // Days from 1970-01-01 to the date (the proleptic Gregorian calendar).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let sign = if b[19] == b'-' { -1 } else { 1 };
    let offset = sign * (off_h * 3600 + off_m * 60);
    let local = days * 86_400 + hour * 3600 + minute * 60 + second;
    Some(gix::date::Time::new(
        local - offset,
        i32::try_from(offset).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_read_as_gix_reads_it() {
        for t in [
            "2024-01-02T03:04:05+00:00",
            "1999-12-31T23:59:59-08:00",
            "2000-02-29T12:00:00+05:30",
            "1970-01-01T00:00:00+00:00",
            "2038-01-19T03:14:08+01:00",
            "1969-07-20T20:17:40-04:00",
        ] {
            assert_eq!(rfc3339(t), gix::date::parse(t, None).ok(), "{t}");
        }
        for bad in [
            "2024-02-30T00:00:00+00:00",
            "2024-13-01T00:00:00+00:00",
            "2024-01-01T24:00:00+00:00",
            "2024-01-01 00:00:00",
            "2024-01-01T00:00:00+0000",
            "+024-01-01T00:00:00+00:00",
        ] {
            assert_eq!(rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn times() {
        assert_eq!(
            parse_time("1700000000").map(|t| t.seconds),
            Some(1_700_000_000)
        );
        assert_eq!(
            parse_time("2023-11-14T22:13:20Z").map(|t| t.seconds),
            Some(1_700_000_000)
        );
        assert_eq!(
            parse_time("2023-11-14T22:13:20.123+00:00").map(|t| t.seconds),
            Some(1_700_000_000)
        );
        assert!(parse_time("yesterday-ish").is_none());
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("64KiB"), Some(65536));
        assert_eq!(parse_size("100MB"), Some(100_000_000));
        assert_eq!(parse_duration("5m"), Some(300));
        assert_eq!(parse_duration("x"), None);
    }

    #[test]
    fn repo_settings() {
        let r = RepoSettings::parse(b"format: 1\nlog_level: debug\nfancy: 2\n", "f").unwrap();
        assert_eq!(r.format, 1);
        assert_eq!(r.settings.log_level.as_deref(), Some("debug"));
        assert_eq!(r.warnings.len(), 1);
        let err = RepoSettings::parse(b"format: 1\n  bad: [\n", "f").unwrap_err();
        assert!(err.message().contains("line"), "{}", err.message());
    }
}
