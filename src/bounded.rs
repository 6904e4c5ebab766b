//! Bounds on everything pulse parses, checked before a parser starts.
//!
//! Configuration files, sidecars, `metadata.json`, `labels.json` and release tag messages
//! come from outside pulse: a user, a pull request, a directory someone handed over. The
//! YAML parser's time grows with the input's size times its nesting depth (so with the
//! square of the size for `[[[[...`), and YAML aliases can make a small file expand into
//! gigabytes, so every such input is measured here first: its size, and an upper bound of
//! its nesting depth found in one linear pass. Whatever is out of bounds is refused at once
//! with a [`Refusal`] that says why.
//!
//! Real files are tiny: a sidecar or a configuration is a few hundred bytes and nests at
//! most three levels deep, a `metadata.json` is well under a kilobyte and nests two levels.
//! The limits below are hundreds of times that, and still low enough that a file at the
//! limits is checked in about a millisecond and parses in tens of milliseconds at worst.
//!
//! Files are opened here too: [`read_file`] and [`open_regular`] refuse FIFOs, devices,
//! sockets and directories without reading them (a FIFO would block a reader forever), and
//! read at most one byte more than the limit, so a huge file is never loaded to be refused.
//!
//! This module depends on nothing else in the crate.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// How large and how deeply nested one kind of input may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes the input may have.
    pub max_bytes: usize,
    /// The most levels of nested collections the pre-scan may find.
    pub max_depth: usize,
}

/// The nesting limit of every YAML and JSON input. Real files nest at most three levels;
/// the pre-scan counts a flow sequence `[...]` as two levels (an entry `k: v` inside one is
/// a mapping of its own), so a real file scores at most about six.
pub const MAX_DEPTH: usize = 16;

/// The user's configuration file and the repository's `.pulse/config.yaml`: a few hundred
/// bytes and two levels deep in practice.
pub const CONFIG: Limits = Limits {
    max_bytes: 64 << 10,
    max_depth: MAX_DEPTH,
};

/// A prompt's sidecar `prompts/<name>.yaml` (description, keywords, labels): a few hundred
/// bytes and two levels deep in practice.
pub const SIDECAR: Limits = Limits {
    max_bytes: 256 << 10,
    max_depth: MAX_DEPTH,
};

/// A release's `metadata.json` in the directory layout: well under a kilobyte and two
/// levels deep in practice.
pub const METADATA_JSON: Limits = Limits {
    max_bytes: 256 << 10,
    max_depth: MAX_DEPTH,
};

/// A prompt's `labels.json` in the directory layout: one short line per label.
pub const LABELS_JSON: Limits = Limits {
    max_bytes: 64 << 10,
    max_depth: MAX_DEPTH,
};

/// A prompt's `_index.json` in the directory layout: one short entry per release, so a
/// prompt with 100,000 releases still fits.
pub const INDEX_JSON: Limits = Limits {
    max_bytes: 32 << 20,
    max_depth: MAX_DEPTH,
};

/// A registry's answer to a search: one entry per matching line (a line is at most what a
/// release holds), four levels deep.
pub const SEARCH_JSON: Limits = Limits {
    max_bytes: 256 << 20,
    max_depth: MAX_DEPTH,
};

/// A consumer's `pulse.yaml`: a few lines per prompt it uses, three levels deep.
pub const MANIFEST: Limits = Limits {
    max_bytes: 1 << 20,
    max_depth: MAX_DEPTH,
};

/// A consumer's `pulse.lock`: seven short lines per prompt.
pub const LOCK: Limits = Limits {
    max_bytes: 4 << 20,
    max_depth: MAX_DEPTH,
};

/// A directory store's `_pulse.json`: its format version and what it allows.
pub const STORE_JSON: Limits = Limits {
    max_bytes: 64 << 10,
    max_depth: MAX_DEPTH,
};

/// A prompt's frontmatter (the YAML between its first two `---` lines, which declares its
/// template variables): a few hundred bytes and three levels deep in practice. The whole
/// frontmatter, with its two `---` lines, must fit in this many bytes at the start of the
/// content.
pub const FRONTMATTER: Limits = Limits {
    max_bytes: 64 << 10,
    max_depth: MAX_DEPTH,
};

/// A file of values for a template's variables (`pulse render --vars-file`): one flat
/// mapping, whose values may be whole documents to put into a prompt.
pub const VARS_FILE: Limits = Limits {
    max_bytes: 4 << 20,
    max_depth: MAX_DEPTH,
};

/// The most bytes a release tag's message may have (the release message and the
/// trailers). Its trailers are read line by line, so there is no nesting to bound.
pub const TAG_MESSAGE_BYTES: usize = 1 << 20;

/// What kind of file system object a path is, when it is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A named pipe.
    Fifo,
    /// A Unix domain socket.
    Socket,
    /// A block or character device.
    Device,
    /// Anything else that is not a regular file.
    Other,
}

impl FileKind {
    /// What `file_type` is, or `None` for a regular file.
    pub fn of(file_type: std::fs::FileType) -> Option<FileKind> {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_file() {
            None
        } else if file_type.is_dir() {
            Some(FileKind::Directory)
        } else if file_type.is_symlink() {
            Some(FileKind::Symlink)
        } else if file_type.is_fifo() {
            Some(FileKind::Fifo)
        } else if file_type.is_socket() {
            Some(FileKind::Socket)
        } else if file_type.is_block_device() || file_type.is_char_device() {
            Some(FileKind::Device)
        } else {
            Some(FileKind::Other)
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Directory => "a directory",
            FileKind::Symlink => "a symbolic link",
            FileKind::Fifo => "a FIFO (named pipe)",
            FileKind::Socket => "a socket",
            FileKind::Device => "a device",
            FileKind::Other => "not a regular file",
        })
    }
}

/// Why an input was refused before it was parsed. Displayed as the end of a sentence
/// that starts with the file's name: `'prompts/a.yaml' is larger than 1 MiB`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The path is not a regular file.
    #[error("is {0}, not a regular file")]
    NotRegular(FileKind),
    /// The input has more bytes than its limit.
    #[error("is larger than {}", human_bytes(*.limit))]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The input may nest collections deeper than its limit.
    #[error("nests more than {limit} levels deep")]
    TooDeep {
        /// The limit, in levels.
        limit: usize,
    },
    /// The YAML input uses an alias (`*name`), which could expand without bound.
    #[error("uses a YAML alias (*name), which pulse does not expand")]
    Alias,
    /// The input is not UTF-8.
    #[error("is not UTF-8")]
    NotUtf8,
}

/// A file that could not be read, or was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file system said no (the file is missing, not permitted, ...).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The file is not one pulse reads.
    #[error(transparent)]
    Refused(#[from] Refusal),
}

/// Whether [`read_file`] and [`open_regular`] follow a symbolic link to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Follow it: the target must be a regular file (the user's own configuration).
    Follow,
    /// Refuse it (input handed over by someone else, such as an import directory).
    Refuse,
}

/// `1 MiB`, `64 KiB` or `100 bytes`.
fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// Open `path` for reading only if it is a regular file, without blocking on a FIFO.
///
/// The path is inspected first (so a FIFO or a device is never opened), then opened with
/// `O_NONBLOCK` (and `O_NOFOLLOW` unless links are followed), and the opened file is
/// inspected again, so a file swapped in between is refused too.
pub fn open_regular(path: &Path, links: Links) -> Result<File, ReadError> {
    use std::os::unix::fs::OpenOptionsExt;
    let meta = match links {
        Links::Follow => std::fs::metadata(path)?,
        Links::Refuse => std::fs::symlink_metadata(path)?,
    };
    if let Some(kind) = FileKind::of(meta.file_type()) {
        return Err(Refusal::NotRegular(kind).into());
    }
    let mut flags = libc::O_NONBLOCK;
    if links == Links::Refuse {
        flags |= libc::O_NOFOLLOW;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) && links == Links::Refuse {
                ReadError::Refused(Refusal::NotRegular(FileKind::Symlink))
            } else {
                ReadError::Io(e)
            }
        })?;
    if let Some(kind) = FileKind::of(file.metadata()?.file_type()) {
        return Err(Refusal::NotRegular(kind).into());
    }
    Ok(file)
}

/// Read a regular file of at most `max_bytes` bytes (see [`open_regular`]). At most one
/// byte more than the limit is ever read, so a huge file is refused without loading it.
pub fn read_file(path: &Path, max_bytes: usize, links: Links) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path, links)?;
    let cap = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut bytes = Vec::new();
    file.take(cap).read_to_end(&mut bytes)?;
    if bytes.len() > max_bytes {
        return Err(Refusal::TooLarge { limit: max_bytes }.into());
    }
    Ok(bytes)
}

/// Check that `bytes` are at most `max_bytes` long.
pub fn check_size(bytes: &[u8], max_bytes: usize) -> Result<(), Refusal> {
    if bytes.len() > max_bytes {
        return Err(Refusal::TooLarge { limit: max_bytes });
    }
    Ok(())
}

/// Check a YAML input against `limits` before it is parsed: its size, that it is UTF-8,
/// that it uses no alias, and that it cannot nest deeper than the limit.
pub fn check_yaml(bytes: &[u8], limits: Limits) -> Result<(), Refusal> {
    check_size(bytes, limits.max_bytes)?;
    let text = std::str::from_utf8(bytes).map_err(|_| Refusal::NotUtf8)?;
    let shape = yaml_shape(text);
    if shape.depth > limits.max_depth {
        return Err(Refusal::TooDeep {
            limit: limits.max_depth,
        });
    }
    if shape.aliases > 0 {
        return Err(Refusal::Alias);
    }
    Ok(())
}

/// Check a JSON input against `limits` before it is parsed: its size and its nesting.
pub fn check_json(bytes: &[u8], limits: Limits) -> Result<(), Refusal> {
    check_size(bytes, limits.max_bytes)?;
    if json_depth(bytes) > limits.max_depth {
        return Err(Refusal::TooDeep {
            limit: limits.max_depth,
        });
    }
    Ok(())
}

/// The deepest nesting of arrays and objects in a JSON text: brackets outside strings.
/// Exact for valid JSON; for invalid JSON, never less than what a parser reaches before
/// it finds the error.
pub fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// What the YAML pre-scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct YamlShape {
    /// An upper bound of how deeply collections nest in the parsed value.
    pub depth: usize,
    /// How many alias tokens (`*name`) the text has.
    pub aliases: usize,
}

/// Scan a YAML text in one linear pass and bound how deeply its collections nest.
///
/// The scan follows the tokenizer of libyaml (the parser behind pulse's YAML reader): it
/// tracks flow collections (`[`, `{` outside quoted scalars and comments), block
/// collections (the indentation levels libyaml opens for `- `, `? ` and `key:`, including
/// compact forms such as `- - - x` and sequences at their mapping's indentation), and it
/// skips what cannot nest: comments, quoted scalars, plain scalars and the bodies of block
/// scalars (`|`, `>`). A flow sequence counts two levels, since an entry `k: v` inside it
/// is a mapping of its own. The result is never less than the depth the parser builds;
/// where the text is malformed the scan goes on past the point where the parser stops.
pub fn yaml_shape(text: &str) -> YamlShape {
    // libyaml's reader stops at a NUL (a control character it refuses).
    let bytes = text.as_bytes();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let mut scan = YamlScan::new(&bytes[..end]);
    scan.run();
    YamlShape {
        depth: scan.max_depth,
        aliases: scan.aliases,
    }
}

/// A simple key: a scalar or flow collection on one line that may turn out to be a
/// mapping key once a `:` follows it.
#[derive(Debug, Clone, Copy, Default)]
struct SimpleKey {
    possible: bool,
    line: usize,
    index: usize,
    column: isize,
}

/// One open block collection: the column libyaml opened it at.
#[derive(Debug, Clone, Copy)]
struct Indent {
    column: isize,
    mapping: bool,
    /// A sequence at the mapping's own column (`key:\n- a`) is open inside it.
    indentless: bool,
}

/// One open flow collection.
#[derive(Debug, Clone, Copy)]
struct Flow {
    /// The levels it adds: 2 for `[` (an entry `k: v` is a mapping), 1 for `{`.
    weight: usize,
    key: SimpleKey,
}

/// The state of libyaml's scanner that decides where tokens start and end.
struct YamlScan<'a> {
    s: &'a [u8],
    /// Byte offset; libyaml's `mark.index`.
    pos: usize,
    line: usize,
    /// Characters since the last line break; libyaml's `mark.column`.
    column: isize,
    indents: Vec<Indent>,
    indentless: usize,
    /// The open flow collections, innermost last.
    flows: Vec<Flow>,
    /// The levels the open flow collections add up to.
    flow_weight: usize,
    /// The possible simple key of the block context (each flow level has its own).
    block_key: SimpleKey,
    simple_key_allowed: bool,
    /// The deepest flow nesting since the last simple key saved in the block context:
    /// when that key turns out to start a mapping, its contents are inside the mapping.
    key_span: usize,
    max_depth: usize,
    aliases: usize,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn is_break(s: &[u8], i: usize) -> bool {
    match s.get(i) {
        Some(b'\r' | b'\n') => true,
        Some(0xC2) => s.get(i + 1) == Some(&0x85),
        Some(0xE2) => s.get(i + 1) == Some(&0x80) && matches!(s.get(i + 2), Some(0xA8 | 0xA9)),
        _ => false,
    }
}

fn is_blank(s: &[u8], i: usize) -> bool {
    matches!(s.get(i), Some(b' ' | b'\t'))
}

fn is_blankz(s: &[u8], i: usize) -> bool {
    i >= s.len() || is_blank(s, i) || is_break(s, i)
}

fn is_alpha(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_uri_char(b: u8, flow_indicators: bool) -> bool {
    is_alpha(b) || b";/?:@&=+$.%!~*'()".contains(&b) || (flow_indicators && b",[]".contains(&b))
}

impl<'a> YamlScan<'a> {
    fn new(s: &'a [u8]) -> Self {
        YamlScan {
            s,
            pos: 0,
            line: 0,
            column: 0,
            indents: Vec::new(),
            indentless: 0,
            flows: Vec::new(),
            flow_weight: 0,
            block_key: SimpleKey::default(),
            simple_key_allowed: true,
            key_span: 0,
            max_depth: 0,
            aliases: 0,
        }
    }

    fn at(&self, offset: usize) -> u8 {
        self.s.get(self.pos + offset).copied().unwrap_or(0)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn blankz(&self, offset: usize) -> bool {
        is_blankz(self.s, self.pos + offset)
    }

    fn brk(&self) -> bool {
        is_break(self.s, self.pos)
    }

    fn blank(&self) -> bool {
        is_blank(self.s, self.pos)
    }

    fn in_flow(&self) -> bool {
        !self.flows.is_empty()
    }

    fn indent(&self) -> isize {
        self.indents.last().map_or(-1, |i| i.column)
    }

    fn depth(&self) -> usize {
        self.indents.len() + self.indentless + self.flow_weight
    }

    fn note_depth(&mut self, depth: usize) {
        self.max_depth = self.max_depth.max(depth);
    }

    /// Advance over one character.
    fn skip(&mut self) {
        let width = match self.at(0) {
            b if b & 0x80 == 0 => 1,
            b if b & 0xE0 == 0xC0 => 2,
            b if b & 0xF0 == 0xE0 => 3,
            b if b & 0xF8 == 0xF0 => 4,
            _ => 1,
        };
        self.pos = (self.pos + width).min(self.s.len());
        self.column += 1;
    }

    /// Advance over one line break (`\r\n` is one).
    fn skip_line(&mut self) {
        if self.at(0) == b'\r' && self.at(1) == b'\n' {
            self.pos += 2;
        } else if self.brk() {
            self.skip();
        } else {
            return;
        }
        self.column = 0;
        self.line += 1;
    }

    fn document_marker(&self) -> bool {
        self.column == 0
            && ((self.at(0) == b'-' && self.at(1) == b'-' && self.at(2) == b'-')
                || (self.at(0) == b'.' && self.at(1) == b'.' && self.at(2) == b'.'))
            && self.blankz(3)
    }

    fn roll_indent(&mut self, column: isize, mapping: bool) -> bool {
        if self.in_flow() || self.indent() >= column {
            return false;
        }
        self.indents.push(Indent {
            column,
            mapping,
            indentless: false,
        });
        self.note_depth(self.depth());
        true
    }

    /// A key or value at a mapping's own column ends the sequence written at that column
    /// (`key:\n- a\nnext: b`).
    fn end_indentless(&mut self, column: isize) {
        if self.in_flow() {
            return;
        }
        if let Some(top) = self.indents.last_mut()
            && top.column == column
            && top.indentless
        {
            top.indentless = false;
            self.indentless -= 1;
        }
    }

    fn unroll_indent(&mut self, column: isize) {
        if self.in_flow() {
            return;
        }
        while self.indent() > column {
            if let Some(popped) = self.indents.pop()
                && popped.indentless
            {
                self.indentless -= 1;
            }
        }
    }

    fn top_key(&mut self) -> &mut SimpleKey {
        match self.flows.last_mut() {
            Some(flow) => &mut flow.key,
            None => &mut self.block_key,
        }
    }

    fn save_simple_key(&mut self) {
        if self.simple_key_allowed {
            let key = SimpleKey {
                possible: true,
                line: self.line,
                index: self.pos,
                column: self.column,
            };
            *self.top_key() = key;
            if !self.in_flow() {
                self.key_span = 0;
            }
        }
    }

    fn remove_simple_key(&mut self) {
        self.top_key().possible = false;
    }

    fn run(&mut self) {
        loop {
            self.scan_to_next_token();
            self.unroll_indent(self.column);
            if self.at_end() {
                return;
            }
            let c = self.at(0);
            if self.column == 0 && c == b'%' {
                self.directive();
            } else if self.document_marker() {
                self.unroll_indent(-1);
                self.remove_simple_key();
                self.simple_key_allowed = false;
                self.skip();
                self.skip();
                self.skip();
            } else if c == b'[' || c == b'{' {
                self.save_simple_key();
                let weight = if c == b'[' { 2 } else { 1 };
                self.flows.push(Flow {
                    weight,
                    key: SimpleKey::default(),
                });
                self.flow_weight += weight;
                self.key_span = self.key_span.max(self.flow_weight);
                self.note_depth(self.depth());
                self.simple_key_allowed = true;
                self.skip();
            } else if c == b']' || c == b'}' {
                self.remove_simple_key();
                if let Some(flow) = self.flows.pop() {
                    self.flow_weight -= flow.weight;
                }
                self.simple_key_allowed = false;
                self.skip();
            } else if c == b',' {
                self.remove_simple_key();
                self.simple_key_allowed = true;
                self.skip();
            } else if c == b'-' && self.blankz(1) {
                self.block_entry();
            } else if c == b'?' && (self.in_flow() || self.blankz(1)) {
                if !self.in_flow() && !self.roll_indent(self.column, true) {
                    self.end_indentless(self.column);
                }
                self.remove_simple_key();
                self.simple_key_allowed = !self.in_flow();
                self.skip();
            } else if c == b':' && (self.in_flow() || self.blankz(1)) {
                self.value();
            } else if c == b'*' || c == b'&' {
                self.save_simple_key();
                self.simple_key_allowed = false;
                if c == b'*' {
                    self.aliases += 1;
                }
                self.skip();
                while is_alpha(self.at(0)) {
                    self.skip();
                }
            } else if c == b'!' {
                self.save_simple_key();
                self.simple_key_allowed = false;
                self.tag();
            } else if (c == b'|' || c == b'>') && !self.in_flow() {
                self.remove_simple_key();
                self.simple_key_allowed = true;
                self.block_scalar();
            } else if c == b'\'' || c == b'"' {
                self.save_simple_key();
                self.simple_key_allowed = false;
                self.quoted_scalar(c);
            } else if self.plain_may_start() {
                self.save_simple_key();
                self.simple_key_allowed = false;
                self.plain_scalar();
            } else {
                // libyaml stops here ("cannot start any token"); going on only adds.
                self.skip();
            }
        }
    }

    fn scan_to_next_token(&mut self) {
        loop {
            if self.column == 0 && self.s.get(self.pos..).is_some_and(|r| r.starts_with(BOM)) {
                self.skip();
            }
            while self.at(0) == b' '
                || ((self.in_flow() || !self.simple_key_allowed) && self.at(0) == b'\t')
            {
                self.skip();
            }
            if self.at(0) == b'#' {
                while !self.at_end() && !self.brk() {
                    self.skip();
                }
            }
            if !self.brk() {
                return;
            }
            self.skip_line();
            if !self.in_flow() {
                self.simple_key_allowed = true;
            }
        }
    }

    fn plain_may_start(&self) -> bool {
        let c = self.at(0);
        let indicator = b"-?:,[]{}#&*!|>'\"%@`".contains(&c);
        !(self.blankz(0) || indicator)
            || (c == b'-' && !is_blank(self.s, self.pos + 1))
            || (!self.in_flow() && (c == b'?' || c == b':') && !self.blankz(1))
    }

    fn directive(&mut self) {
        self.unroll_indent(-1);
        self.remove_simple_key();
        self.simple_key_allowed = false;
        while !self.at_end() && !self.brk() {
            self.skip();
        }
        self.skip_line();
    }

    fn block_entry(&mut self) {
        if !self.in_flow() && !self.roll_indent(self.column, false) {
            let column = self.column;
            if let Some(top) = self.indents.last_mut()
                && top.column == column
                && top.mapping
                && !top.indentless
            {
                top.indentless = true;
                self.indentless += 1;
                self.note_depth(self.depth());
            }
        }
        self.remove_simple_key();
        self.simple_key_allowed = true;
        self.skip();
    }

    fn value(&mut self) {
        let (line, pos) = (self.line, self.pos);
        let key = *self.top_key();
        let fresh = key.possible && key.line >= line && key.index + 1024 >= pos;
        if fresh {
            if !self.in_flow() {
                if self.roll_indent(key.column, true) {
                    // The key, scanned before the mapping began, is inside it.
                    self.note_depth(self.depth() + self.key_span);
                } else {
                    self.end_indentless(key.column);
                }
            }
            self.top_key().possible = false;
            self.simple_key_allowed = false;
        } else {
            if !self.in_flow() && !self.roll_indent(self.column, true) {
                self.end_indentless(self.column);
            }
            self.simple_key_allowed = !self.in_flow();
        }
        self.skip();
    }

    fn tag(&mut self) {
        self.skip();
        if self.at(0) == b'<' {
            self.skip();
            while !self.at_end() && is_uri_char(self.at(0), true) {
                self.skip();
            }
            if self.at(0) == b'>' {
                self.skip();
            }
        } else {
            while !self.at_end() && is_uri_char(self.at(0), false) {
                self.skip();
            }
        }
    }

    fn block_scalar(&mut self) {
        self.skip();
        let mut increment: isize = 0;
        let digit = |b: u8| b.is_ascii_digit().then(|| isize::from(b - b'0'));
        if self.at(0) == b'+' || self.at(0) == b'-' {
            self.skip();
            if let Some(d) = digit(self.at(0)) {
                if d == 0 {
                    return; // libyaml stops: an indentation indicator of 0
                }
                increment = d;
                self.skip();
            }
        } else if let Some(d) = digit(self.at(0)) {
            if d == 0 {
                return;
            }
            increment = d;
            self.skip();
            if self.at(0) == b'+' || self.at(0) == b'-' {
                self.skip();
            }
        }
        while self.blank() {
            self.skip();
        }
        if self.at(0) == b'#' {
            while !self.at_end() && !self.brk() {
                self.skip();
            }
        }
        if !self.blankz(0) {
            return; // libyaml stops: no line break after the header
        }
        self.skip_line();
        let mut indent = if increment == 0 {
            0
        } else if self.indent() >= 0 {
            self.indent() + increment
        } else {
            increment
        };
        if !self.block_scalar_breaks(&mut indent) {
            return;
        }
        while self.column == indent && !self.at_end() {
            while !self.at_end() && !self.brk() {
                self.skip();
            }
            if self.at_end() {
                return;
            }
            self.skip_line();
            if !self.block_scalar_breaks(&mut indent) {
                return;
            }
        }
    }

    /// The indentation and empty lines of a block scalar; settles the indentation when it
    /// is not given. Returns false where libyaml stops (a tab in the indentation).
    fn block_scalar_breaks(&mut self, indent: &mut isize) -> bool {
        let mut max_indent: isize = 0;
        loop {
            while (*indent == 0 || self.column < *indent) && self.at(0) == b' ' {
                self.skip();
            }
            max_indent = max_indent.max(self.column);
            if (*indent == 0 || self.column < *indent) && self.at(0) == b'\t' {
                return false;
            }
            if !self.brk() {
                break;
            }
            self.skip_line();
        }
        if *indent == 0 {
            *indent = max_indent.max(self.indent() + 1).max(1);
        }
        true
    }

    fn quoted_scalar(&mut self, quote: u8) {
        let single = quote == b'\'';
        self.skip();
        loop {
            if self.document_marker() || self.at_end() {
                return; // libyaml stops: a quoted scalar left open
            }
            while !self.blankz(0) {
                let c = self.at(0);
                if single && c == b'\'' && self.at(1) == b'\'' {
                    self.skip();
                    self.skip();
                } else if c == quote {
                    break;
                } else if !single && c == b'\\' && is_break(self.s, self.pos + 1) {
                    self.skip();
                    self.skip_line();
                    break;
                } else if !single && c == b'\\' {
                    self.skip();
                    if !self.at_end() {
                        self.skip();
                    }
                } else {
                    self.skip();
                }
            }
            if self.at(0) == quote && !self.at_end() {
                self.skip();
                return;
            }
            while self.blank() || self.brk() {
                if self.blank() {
                    self.skip();
                } else {
                    self.skip_line();
                }
            }
        }
    }

    fn plain_scalar(&mut self) {
        let indent = self.indent() + 1;
        let mut leading_blanks = false;
        loop {
            if self.document_marker() || self.at(0) == b'#' {
                break;
            }
            while !self.blankz(0) {
                let c = self.at(0);
                if self.in_flow() && c == b':' && b",?[]{}".contains(&self.at(1)) {
                    // libyaml stops: "found unexpected ':'".
                    return;
                }
                if (c == b':' && self.blankz(1)) || (self.in_flow() && b",[]{}".contains(&c)) {
                    break;
                }
                leading_blanks = false;
                self.skip();
            }
            if !(self.blank() || self.brk()) {
                break;
            }
            while self.blank() || self.brk() {
                if self.blank() {
                    if leading_blanks && self.column < indent && self.at(0) == b'\t' {
                        return; // libyaml stops: a tab in the indentation
                    }
                    self.skip();
                } else {
                    self.skip_line();
                    leading_blanks = true;
                }
            }
            if !self.in_flow() && self.column < indent {
                break;
            }
        }
        if leading_blanks {
            self.simple_key_allowed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(text: &str) -> usize {
        yaml_shape(text).depth
    }

    /// The depth of a parsed value: scalars 0, each collection one more than its deepest
    /// key or value.
    fn parsed_depth(v: &serde_yaml_ng::Value) -> usize {
        use serde_yaml_ng::Value;
        match v {
            Value::Sequence(s) => 1 + s.iter().map(parsed_depth).max().unwrap_or(0),
            Value::Mapping(m) => {
                1 + m
                    .iter()
                    .map(|(k, v)| parsed_depth(k).max(parsed_depth(v)))
                    .max()
                    .unwrap_or(0)
            }
            Value::Tagged(t) => parsed_depth(&t.value),
            _ => 0,
        }
    }

    /// The scan's depth and the parsed depth of every document in `text`.
    fn bounded(text: &str) -> (usize, usize) {
        use serde::Deserialize;
        let mut parsed = 0;
        for document in serde_yaml_ng::Deserializer::from_str(text) {
            match serde_yaml_ng::Value::deserialize(document) {
                Ok(v) => parsed = parsed.max(parsed_depth(&v)),
                Err(e) => panic!("{text:?} does not parse: {e}"),
            }
        }
        (depth(text), parsed)
    }

    #[test]
    fn real_files_score_low() {
        let sidecar = "description: Reviews code [beta] {x}\ntags:\n- review\n- code\nlabels:\n  production: 1.2.0\n  staging: 1.3.0\n";
        assert_eq!(bounded(sidecar), (2, 2));
        let config = "storage: s3\nstorage_path: bucket/prefix # [not a list\nstorage_config:\n  region: eu-west-1\n  endpoint: \"http://[::1]:9000\"\ncache_ttl: 5m\n";
        assert_eq!(bounded(config), (2, 2));
        let folded = "description: |\n  Use [brackets] and {braces}\n    - freely: here\n  'quote\ntags: [a, b]\n";
        let (scan, parsed) = bounded(folded);
        assert_eq!(parsed, 2);
        assert_eq!(scan, 3);
    }

    #[test]
    fn every_kind_of_nesting_counts() {
        for text in [
            "[[[[x]]]]",
            "{a: {b: {c: [d]}}}",
            "[a: [b: [c: d]]]",
            "- - - - x\n",
            "a:\n  b:\n    c:\n      - d\n",
            "a:\n- b:\n  - c\n",
            "? - - a\n: x\n",
            "? a\n: - b:\n    - c\n",
            "[[a]]: b\n",
            "- [[a]]: b\n",
            "&a !!map {x: &b [y]}\n",
            "a: b\n? [c, [d]]\n: e\n",
            "--- [[a]]\n--- {b: [c]}\n",
            "k: 'a[b'\nl: \"c{d\\\"[\"\nm: [[x]]\n",
            "x: |2\n    [[[[\n  y\n",
            "top: >-\n\n  text [\n\n  more\nnext: [[z]]\n",
            "a: b\n  [c]\nd: [[e]]\n",
            "- a # [[[\n- [b]\n",
        ] {
            let (scan, parsed) = bounded(text);
            assert!(scan >= parsed, "{text:?}: scan {scan} < parsed {parsed}");
            assert!(
                scan <= 2 * parsed + 2,
                "{text:?}: scan {scan} is far above {parsed}"
            );
        }
    }

    #[test]
    fn hostile_shapes_are_refused() {
        let limits = Limits {
            max_bytes: 1 << 20,
            max_depth: MAX_DEPTH,
        };
        let deep_flow = "[".repeat(100_000);
        assert_eq!(
            check_yaml(deep_flow.as_bytes(), limits),
            Err(Refusal::TooDeep { limit: MAX_DEPTH })
        );
        let keyed = format!("a: {}", "{".repeat(50_000));
        assert!(matches!(
            check_yaml(keyed.as_bytes(), limits),
            Err(Refusal::TooDeep { .. })
        ));
        let compact = format!("{}x\n", "- ".repeat(1000));
        assert!(matches!(
            check_yaml(compact.as_bytes(), limits),
            Err(Refusal::TooDeep { .. })
        ));
        let mut indented = String::new();
        for i in 0..100 {
            indented.push_str(&" ".repeat(i));
            indented.push_str("k:\n");
        }
        assert!(matches!(
            check_yaml(indented.as_bytes(), limits),
            Err(Refusal::TooDeep { .. })
        ));
        let bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n";
        assert_eq!(check_yaml(bomb.as_bytes(), limits), Err(Refusal::Alias));
        assert_eq!(
            check_yaml(
                &[b'a'; 100],
                Limits {
                    max_bytes: 99,
                    ..limits
                }
            ),
            Err(Refusal::TooLarge { limit: 99 })
        );
        assert_eq!(check_yaml(b"a: \xff", limits), Err(Refusal::NotUtf8));
        // Text that only looks like nesting is fine.
        let quoted = format!(
            "a: '{}'\nb: \"{}\"\n# {}\n",
            "[".repeat(1000),
            "{".repeat(1000),
            "[".repeat(1000)
        );
        assert_eq!(check_yaml(quoted.as_bytes(), limits), Ok(()));
        let block = format!("a: |\n  {}\n  *alias\n", "[".repeat(1000));
        assert_eq!(check_yaml(block.as_bytes(), limits), Ok(()));
        assert_eq!(check_yaml(b"description: 5 *bold* [1]\n", limits), Ok(()));
    }

    #[test]
    fn json_depth_skips_strings() {
        assert_eq!(json_depth(br#"{"a": [1, {"b": "]]]}}\"[[["}]}"#), 3);
        assert_eq!(json_depth(b"[[[[[[[[[["), 10);
        assert_eq!(json_depth(b"\"[[[\""), 0);
        let limits = Limits {
            max_bytes: 100,
            max_depth: 4,
        };
        assert!(check_json(b"[[[[1]]]]", limits).is_ok());
        assert_eq!(
            check_json(b"[[[[[1]]]]]", limits),
            Err(Refusal::TooDeep { limit: 4 })
        );
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let refused = |r: Result<Vec<u8>, ReadError>| match r {
            Err(ReadError::Refused(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        };
        for links in [Links::Follow, Links::Refuse] {
            assert_eq!(
                refused(read_file(dir.path(), 10, links)),
                Refusal::NotRegular(FileKind::Directory)
            );
            assert_eq!(
                refused(read_file(Path::new("/dev/null"), 10, links)),
                Refusal::NotRegular(FileKind::Device)
            );
        }
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // Nothing writes to the FIFO: reading it would block forever.
        assert_eq!(
            refused(read_file(&fifo, 10, Links::Follow)),
            Refusal::NotRegular(FileKind::Fifo)
        );

        let file = dir.path().join("file");
        std::fs::write(&file, b"0123456789").unwrap();
        assert_eq!(read_file(&file, 10, Links::Refuse).unwrap(), b"0123456789");
        assert_eq!(
            refused(read_file(&file, 9, Links::Refuse)),
            Refusal::TooLarge { limit: 9 }
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read_file(&link, 10, Links::Follow).unwrap(), b"0123456789");
        assert_eq!(
            refused(read_file(&link, 10, Links::Refuse)),
            Refusal::NotRegular(FileKind::Symlink)
        );
        let to_fifo = dir.path().join("to-fifo");
        std::os::unix::fs::symlink(&fifo, &to_fifo).unwrap();
        assert_eq!(
            refused(read_file(&to_fifo, 10, Links::Follow)),
            Refusal::NotRegular(FileKind::Fifo)
        );
        assert!(matches!(
            read_file(&dir.path().join("missing"), 10, Links::Follow),
            Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound
        ));
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(1 << 20), "1 MiB");
        assert_eq!(human_bytes(64 << 10), "64 KiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
    }
}
