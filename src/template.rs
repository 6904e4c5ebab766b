//! Strict templates: a prompt that declares its variables in a YAML frontmatter, rendered
//! with Jinja syntax (minijinja) so that nothing is ever filled in silently.
//!
//! A frontmatter is the YAML between a first line `---` and the next line `---`, at the very
//! start of the content; it must end within the first 64 KiB. Its `variables` key lists
//! what the template takes:
//!
//! ```text
//! ---
//! variables:
//!   - name: product
//!     required: true
//!     description: The product's name
//!   - name: tone
//!     default: friendly
//! ---
//! You are a support agent for {{ product }}. Be {{ tone }}.
//! ```
//!
//! [`Template::render`] fills the body (the frontmatter is not part of the output): a
//! required variable that is not given, a variable given that is not declared, and a
//! variable the body uses that is not declared are each a usage error naming it. An
//! optional variable that is not given takes its default, or the empty string.
//!
//! [`breaking_changes`] compares two declarations (a removed variable, one that became
//! required, a new required one), and [`is_major_bump`] says whether a version step may
//! carry such a change: a new major version, or for `0.y.z` a new minor (Cargo's rule).
//!
//! ```
//! use std::collections::BTreeMap;
//! use pulse::template::Template;
//!
//! let t = Template::parse(b"---\nvariables:\n  - name: who\n    required: true\n---\nHello, {{ who }}!")?;
//! let vars = BTreeMap::from([("who".to_owned(), "world".to_owned())]);
//! assert_eq!(t.render(&vars)?, "Hello, world!");
//! assert!(t.render(&BTreeMap::new()).is_err());
//! # Ok::<(), pulse::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::bounded::{self, FRONTMATTER};
use crate::error::{Error, Hint, Result};
use crate::version::Version;

/// How many instructions one render may run: far more than any prompt needs (a loop over
/// a hundred thousand items with a few expressions each fits), few enough that a runaway
/// template stops in a moment.
pub const FUEL: u64 = 5_000_000;

/// The longest variable name, in bytes.
pub const MAX_VARIABLE_NAME_LEN: usize = 64;

/// Words the template language reserves: they cannot name a variable.
const RESERVED: &[&str] = &[
    "true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if", "else",
];

/// One variable a prompt declares.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Variable {
    /// Its name: an identifier (`[A-Za-z_][A-Za-z0-9_]*`).
    pub name: String,
    /// Whether a render must give it.
    pub required: bool,
    /// Its value when a render does not give it (optional variables only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// What it is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Whether `name` can name a variable: an ASCII identifier the template language reads as
/// a variable (not `true`, `none`, `and`, …), at most [`MAX_VARIABLE_NAME_LEN`] bytes.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= MAX_VARIABLE_NAME_LEN
        && !RESERVED.contains(&name)
}

/// Where a content's frontmatter is: the bytes of its YAML, and where the body starts.
struct Split {
    yaml: std::ops::Range<usize>,
    body: usize,
    /// The line of the content the body starts on.
    body_line: usize,
}

/// The line of the content a frontmatter's YAML starts on.
const YAML_LINE: usize = 2;

/// The end of the line that starts at `from` (the index of its `\n`, or the end).
fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(bytes.len(), |i| from + i)
}

/// Whether `line` (without its `\n`) is a `---` fence.
fn is_fence(line: &[u8]) -> bool {
    line == b"---" || line == b"---\r"
}

/// Find the frontmatter: `None` when the content does not start with a `---` line. Only
/// the first [`FRONTMATTER`] bytes are looked at.
fn split(content: &[u8]) -> Result<Option<Split>> {
    let first = line_end(content, 0);
    if !is_fence(&content[..first]) || first == content.len() {
        return Ok(None);
    }
    let window = content.len().min(FRONTMATTER.max_bytes);
    let start = first + 1;
    let mut at = start;
    let mut line = YAML_LINE;
    while at <= content.len() {
        let end = line_end(content, at);
        if end > window {
            break;
        }
        if is_fence(&content[at..end]) {
            return Ok(Some(Split {
                yaml: start..at,
                body: (end + 1).min(content.len()),
                body_line: line + 1,
            }));
        }
        if end == content.len() {
            break;
        }
        at = end + 1;
        line += 1;
    }
    Err(Error::usage(format!(
        "the frontmatter has no closing '---' line within the first {} KiB of the content",
        FRONTMATTER.max_bytes >> 10
    ))
    .with_hint("a frontmatter is a first line '---', YAML, and a line '---'; it is at most 64 KiB"))
}

/// Why a frontmatter's declaration could not be read.
enum Problem {
    /// The frontmatter is not YAML pulse reads (malformed, hostile, not a mapping, not
    /// closed): it may not be meant as a declaration at all.
    Unreadable(Error),
    /// The frontmatter has a `variables` key that is not a valid declaration.
    Invalid(Error),
}

impl Problem {
    fn into_error(self) -> Error {
        match self {
            Problem::Unreadable(e) | Problem::Invalid(e) => e,
        }
    }
}

const DECLARATION_HINT: &str = "declare variables as a list under 'variables:', each with 'name' and optionally 'required', 'default' and 'description'";

/// A default written as a YAML scalar, as text.
fn scalar_text(value: &serde_yaml_ng::Value) -> Option<Option<String>> {
    use serde_yaml_ng::Value as V;
    match value {
        V::Null => Some(None),
        V::String(s) => Some(Some(s.clone())),
        V::Bool(b) => Some(Some(b.to_string())),
        V::Number(n) => Some(Some(n.to_string())),
        _ => None,
    }
}

/// One entry of `variables`, checked.
fn variable(entry: &serde_yaml_ng::Value, index: usize) -> Result<Variable> {
    let invalid = |why: String| {
        Error::usage(format!("variable {} of the frontmatter {why}", index + 1))
            .with_hint(DECLARATION_HINT)
    };
    let serde_yaml_ng::Value::Mapping(map) = entry else {
        return Err(invalid("is not a mapping with a 'name'".to_owned()));
    };
    let mut name = None;
    let mut required = false;
    let mut default = None;
    let mut description = None;
    for (key, value) in map {
        let Some(key) = key.as_str() else {
            return Err(invalid("has a key that is not a string".to_owned()));
        };
        match key {
            "name" => {
                name = Some(
                    value
                        .as_str()
                        .ok_or_else(|| invalid("has a 'name' that is not a string".to_owned()))?,
                )
            }
            "required" => {
                required = value.as_bool().ok_or_else(|| {
                    invalid("has a 'required' that is not true or false".to_owned())
                })?
            }
            "default" => {
                default = scalar_text(value).ok_or_else(|| {
                    invalid("has a 'default' that is not a string, number or boolean".to_owned())
                })?
            }
            "description" => {
                description = match scalar_text(value) {
                    Some(d) => d,
                    None => return Err(invalid("has a 'description' that is not text".to_owned())),
                }
            }
            other => {
                return Err(invalid(format!(
                    "has an unknown key '{}' (known: name, required, default, description)",
                    crate::name::printable(other)
                )));
            }
        }
    }
    let name = name.ok_or_else(|| invalid("has no 'name'".to_owned()))?;
    if !is_variable_name(name) {
        return Err(Error::usage(format!(
            "'{}' cannot name a variable: a name is a letter or '_', then letters, digits or '_' (at most {MAX_VARIABLE_NAME_LEN} bytes), and not a word of the template language (true, none, and, ...)",
            crate::name::printable(name)
        )));
    }
    if required && default.is_some() {
        return Err(Error::usage(format!(
            "variable '{name}' is required and has a default: a default is for optional variables"
        ))
        .with_hint("drop 'required: true' or the default"));
    }
    Ok(Variable {
        name: name.to_owned(),
        required,
        default,
        description,
    })
}

/// The declaration in a frontmatter's YAML: `None` without a `variables` key.
fn declare(yaml: &[u8]) -> std::result::Result<Option<Vec<Variable>>, Problem> {
    if yaml.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(None);
    }
    bounded::check_yaml(yaml, FRONTMATTER)
        .map_err(|why| Problem::Unreadable(Error::usage(format!("the frontmatter {why}"))))?;
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_slice(yaml).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(" at line {}, column {}", l.line() + 1, l.column()))
            .unwrap_or_default();
        Problem::Unreadable(
            Error::usage(format!("the frontmatter is not valid YAML{at}: {e}"))
                .with_hint(DECLARATION_HINT),
        )
    })?;
    let map = match value {
        serde_yaml_ng::Value::Mapping(m) => m,
        serde_yaml_ng::Value::Null => return Ok(None),
        _ => {
            return Err(Problem::Unreadable(
                Error::usage("the frontmatter is not a YAML mapping").with_hint(DECLARATION_HINT),
            ));
        }
    };
    let Some(list) = map.get("variables") else {
        return Ok(None);
    };
    let entries = match list {
        serde_yaml_ng::Value::Null => return Ok(Some(Vec::new())),
        serde_yaml_ng::Value::Sequence(s) => s,
        _ => {
            return Err(Problem::Invalid(
                Error::usage("the frontmatter's 'variables' is not a list")
                    .with_hint(DECLARATION_HINT),
            ));
        }
    };
    let mut variables: Vec<Variable> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let v = variable(entry, i).map_err(Problem::Invalid)?;
        if variables.iter().any(|w| w.name == v.name) {
            return Err(Problem::Invalid(Error::usage(format!(
                "variable '{}' is declared twice in the frontmatter",
                v.name
            ))));
        }
        variables.push(v);
    }
    Ok(Some(variables))
}

fn read_declarations(content: &[u8]) -> std::result::Result<Option<Vec<Variable>>, Problem> {
    match split(content).map_err(Problem::Unreadable)? {
        Some(s) => declare(&content[s.yaml]),
        None => Ok(None),
    }
}

/// The variables a content declares in its frontmatter; `None` when it has no frontmatter
/// or its frontmatter has no `variables` key. Only the first 64 KiB of the content are
/// read, so the start of a content is enough.
pub fn declarations(content: &[u8]) -> Result<Option<Vec<Variable>>> {
    read_declarations(content).map_err(Problem::into_error)
}

/// What a release must check of a content's declaration: `Ok(true)` when it declares
/// variables validly, `Ok(false)` when it declares none (no frontmatter, no `variables`
/// key, or a frontmatter that is not YAML pulse reads, since many prompts carry
/// frontmatter for other tools), and an error when its `variables` are malformed.
pub fn declares_validly(content: &[u8]) -> Result<bool> {
    match read_declarations(content) {
        Ok(found) => Ok(found.is_some()),
        Err(Problem::Unreadable(_)) => Ok(false),
        Err(Problem::Invalid(e)) => Err(e),
    }
}

/// The environment every template is compiled and rendered in: strict about undefined
/// values, output exactly as written (no escaping, the final newline kept), bounded fuel.
fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_fuel(Some(FUEL));
    // The default syntax, keeping the final newline; building it cannot fail.
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env
}

/// A template error as a usage error naming where it is in the content.
fn template_error(e: &minijinja::Error, body_line: usize) -> Error {
    let at = e
        .line()
        .map(|l| format!(" at line {}", l + body_line - 1))
        .unwrap_or_default();
    let what = match e.kind() {
        minijinja::ErrorKind::OutOfFuel => {
            format!("the template runs too long{at}: a render may run at most {FUEL} instructions")
        }
        minijinja::ErrorKind::SyntaxError => format!(
            "the template is not valid{at}: {}",
            e.detail().unwrap_or("syntax error")
        ),
        _ => format!(
            "the template cannot be rendered{at}: {}",
            e.detail().unwrap_or(&e.kind().to_string())
        ),
    };
    Error::usage(what)
}

/// A prompt read as a template: its declared variables and its body.
#[derive(Debug, Clone)]
pub struct Template {
    variables: Option<Vec<Variable>>,
    body: String,
    yaml: String,
    body_line: usize,
    used: BTreeSet<String>,
}

impl Template {
    /// Read a prompt's content as a template: it must be UTF-8, its frontmatter (if any) a
    /// valid declaration, and its body valid template syntax. Errors are usage errors.
    pub fn parse(content: &[u8]) -> Result<Template> {
        let text = std::str::from_utf8(content).map_err(|e| {
            Error::usage(format!(
                "the content is not UTF-8 (invalid byte at offset {}), so it is not a template",
                e.valid_up_to()
            ))
        })?;
        let (variables, yaml, body, body_line) = match split(content)? {
            Some(s) => (
                declare(&content[s.yaml.clone()]).map_err(Problem::into_error)?,
                text.get(s.yaml).unwrap_or_default(),
                text.get(s.body..).unwrap_or_default(),
                s.body_line,
            ),
            None => (None, "", text, 1),
        };
        let env = environment();
        let compiled = env
            .template_from_str(body)
            .map_err(|e| template_error(&e, body_line))?;
        let globals: BTreeSet<&str> = env.globals().map(|(n, _)| n).collect();
        let used = compiled
            .undeclared_variables(false)
            .into_iter()
            .filter(|n| !globals.contains(n.as_str()))
            .collect();
        Ok(Template {
            variables,
            body: body.to_owned(),
            yaml: yaml.to_owned(),
            body_line,
            used,
        })
    }

    /// The declared variables, in the order the frontmatter lists them.
    pub fn variables(&self) -> &[Variable] {
        self.variables.as_deref().unwrap_or_default()
    }

    /// Whether the frontmatter has a `variables` key (possibly an empty list).
    pub fn declares(&self) -> bool {
        self.variables.is_some()
    }

    /// The body: the content after the frontmatter (all of it without one).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The line of the content the body starts on (1 without a frontmatter).
    pub fn body_line(&self) -> usize {
        self.body_line
    }

    /// The variables the body reads from what it is given (the names it uses that it does
    /// not set itself, without the template language's own functions such as `range`).
    pub fn variables_used(&self) -> &BTreeSet<String> {
        &self.used
    }

    /// The variables the body uses that are not declared.
    pub fn undeclared(&self) -> Vec<&str> {
        self.used
            .iter()
            .filter(|u| !self.variables().iter().any(|v| v.name == **u))
            .map(String::as_str)
            .collect()
    }

    /// The declared variables the body never uses.
    pub fn unused(&self) -> Vec<&Variable> {
        self.variables()
            .iter()
            .filter(|v| !self.used.contains(&v.name))
            .collect()
    }

    /// Where `name` is declared: its line in the content and the column (in characters) of
    /// its name, if it can be found in the frontmatter's text.
    pub fn declared_at(&self, name: &str) -> Option<(usize, usize)> {
        for (i, line) in self.yaml.lines().enumerate() {
            let trimmed = line.trim_start_matches([' ', '\t', '-']);
            let Some(rest) = trimmed.strip_prefix("name:") else {
                continue;
            };
            let value = rest.trim().trim_matches(['"', '\'']);
            if value == name {
                let byte = line.len() - rest.len() + (rest.len() - rest.trim_start().len());
                let quote = usize::from(rest.trim_start().starts_with(['"', '\'']));
                let column = line[..byte].chars().count() + quote + 1;
                return Some((YAML_LINE + i, column));
            }
        }
        None
    }

    /// Where the body first uses `name` inside a `{{ }}` or `{% %}` tag: its line in the
    /// content and column (in characters).
    pub fn used_at(&self, name: &str) -> Option<(usize, usize)> {
        first_use(&self.body, name).map(|(line, column)| (line + self.body_line - 1, column))
    }

    /// Render the body with `vars`: every required variable must be given, every variable
    /// given must be declared, and the body may use only declared variables (each a usage
    /// error naming the variables). Optional variables not given take their default, or
    /// the empty string.
    pub fn render(&self, vars: &BTreeMap<String, String>) -> Result<String> {
        let declared = self.variables();
        let names = || {
            if declared.is_empty() {
                "it declares none".to_owned()
            } else {
                let all: Vec<&str> = declared.iter().map(|v| v.name.as_str()).collect();
                format!("it declares {}", all.join(", "))
            }
        };
        let unknown: Vec<&str> = vars
            .keys()
            .filter(|k| !declared.iter().any(|v| v.name == **k))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(Error::usage(format!(
                "{} not declared by the prompt ({})",
                quoted_list(&unknown, "variable", "variables", "is", "are"),
                names()
            ))
            .with_hint("pass only the variables the prompt's frontmatter declares"));
        }
        let missing: Vec<&str> = declared
            .iter()
            .filter(|v| v.required && !vars.contains_key(&v.name))
            .map(|v| v.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(Error::usage(format!(
                "required {} not given",
                quoted_list(&missing, "variable", "variables", "was", "were")
            ))
            .with_hint(Hint::GiveVariables {
                names: missing.iter().map(|m| (*m).to_owned()).collect(),
            }));
        }
        let undeclared = self.undeclared();
        if !undeclared.is_empty() {
            return Err(Error::usage(format!(
                "the template uses {}, which its frontmatter does not declare",
                quoted_list(&undeclared, "variable", "variables", "", "")
                    .trim_end()
                    .to_owned()
            ))
            .with_hint(
                "declare every variable the template uses under 'variables:' in its frontmatter",
            ));
        }
        let context: BTreeMap<String, minijinja::Value> = declared
            .iter()
            .map(|v| {
                let value = vars
                    .get(&v.name)
                    .or(v.default.as_ref())
                    .cloned()
                    .unwrap_or_default();
                (v.name.clone(), minijinja::Value::from(value))
            })
            .collect();
        let env = environment();
        let compiled = env
            .template_from_str(&self.body)
            .map_err(|e| template_error(&e, self.body_line))?;
        compiled
            .render(context)
            .map_err(|e| template_error(&e, self.body_line))
    }
}

/// `variable 'a' is` or `variables 'a', 'b' are`.
fn quoted_list(items: &[&str], one: &str, many: &str, is: &str, are: &str) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("'{i}'")).collect();
    if items.len() == 1 {
        format!("{one} {} {is}", quoted[0])
    } else {
        format!("{many} {} {are}", quoted.join(", "))
    }
}

/// The first place (1-based line and column in characters) where `name` appears as a
/// variable inside a `{{ }}` or `{% %}` tag of `body`: an identifier outside string
/// literals, not an attribute (`x.name`). Comments and raw blocks are skipped.
fn first_use(body: &str, name: &str) -> Option<(usize, usize)> {
    let b = body.as_bytes();
    let mut i = 0;
    let mut in_raw = false;
    while i + 1 < b.len() {
        if b[i] != b'{' || !matches!(b[i + 1], b'{' | b'%' | b'#') {
            i += 1;
            continue;
        }
        let close: &[u8] = match b[i + 1] {
            b'{' => b"}}",
            b'%' => b"%}",
            _ => b"#}",
        };
        let start = i + 2;
        let end = find(b, start, close).unwrap_or(b.len());
        let inner = &body[start..end];
        i = end + 2;
        if close == b"#}" {
            continue;
        }
        if close == b"%}" {
            let word = inner.trim_matches(['-', '+', ' ', '\t', '\r', '\n']);
            if word == "raw" {
                in_raw = true;
                continue;
            }
            if word == "endraw" {
                in_raw = false;
                continue;
            }
        }
        if in_raw {
            continue;
        }
        if let Some(at) = identifier_at(inner, name) {
            let offset = start + at;
            let line = body[..offset].matches('\n').count() + 1;
            let line_start = body[..offset].rfind('\n').map_or(0, |p| p + 1);
            let column = body[line_start..offset].chars().count() + 1;
            return Some((line, column));
        }
    }
    None
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// The byte offset of the identifier `name` in the expression `inner`, outside strings
/// and not after a `.`.
fn identifier_at(inner: &str, name: &str) -> Option<usize> {
    let b = inner.as_bytes();
    let mut i = 0;
    let mut after_dot = false;
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\'' {
            i += 1;
            while i < b.len() && b[i] != c {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            after_dot = false;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            if !after_dot && &inner[start..i] == name {
                return Some(start);
            }
            after_dot = false;
        } else {
            after_dot = c == b'.';
            i += 1;
        }
    }
    None
}

/// Read values for a template's variables from a document: a JSON object (when it starts
/// with `{`) or a YAML mapping, of names to strings (numbers and booleans are taken as
/// written). `what` names the document in errors. Bounded like every input (see
/// [`bounded::VARS_FILE`]).
pub fn vars_from_document(bytes: &[u8], what: &str) -> Result<BTreeMap<String, String>> {
    const HINT: &str = "a vars file is one mapping of variable names to strings, e.g. 'product: Acme' (YAML) or '{\"product\": \"Acme\"}' (JSON)";
    let refused = |why: bounded::Refusal| Error::usage(format!("{what} {why}")).with_hint(HINT);
    let json = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    let value: serde_yaml_ng::Value = if json {
        bounded::check_json(bytes, bounded::VARS_FILE).map_err(refused)?;
        let json: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::usage(format!("{what} is not valid JSON: {e}")).with_hint(HINT))?;
        serde_yaml_ng::to_value(json)
            .map_err(|e| Error::usage(format!("{what} cannot be read: {e}")))?
    } else if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        serde_yaml_ng::Value::Null
    } else {
        bounded::check_yaml(bytes, bounded::VARS_FILE).map_err(refused)?;
        serde_yaml_ng::from_slice(bytes)
            .map_err(|e| Error::usage(format!("{what} is not valid YAML: {e}")).with_hint(HINT))?
    };
    let map = match value {
        serde_yaml_ng::Value::Mapping(m) => m,
        serde_yaml_ng::Value::Null => return Ok(BTreeMap::new()),
        _ => return Err(Error::usage(format!("{what} is not a mapping")).with_hint(HINT)),
    };
    let mut vars = BTreeMap::new();
    for (key, value) in map {
        let Some(key) = key.as_str() else {
            return Err(
                Error::usage(format!("{what} has a key that is not a string")).with_hint(HINT),
            );
        };
        let Some(Some(text)) = scalar_text(&value) else {
            return Err(Error::usage(format!(
                "{what}: the value of '{}' is not a string, number or boolean",
                crate::name::printable(key)
            ))
            .with_hint(HINT));
        };
        vars.insert(key.to_owned(), text);
    }
    Ok(vars)
}

/// How a declaration changed in a way that breaks a render that worked before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// The variable is no longer declared: a render that gives it is refused.
    Removed,
    /// The variable was optional and is now required: a render that left it out is refused.
    NowRequired,
    /// The variable is new and required: every earlier render left it out.
    NewRequired,
}

/// One change of a declaration that breaks earlier renders.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BreakingChange {
    /// The variable.
    pub variable: String,
    /// What changed.
    pub change: Change,
}

impl fmt::Display for BreakingChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = &self.variable;
        match self.change {
            Change::Removed => write!(f, "variable '{v}' was removed"),
            Change::NowRequired => write!(f, "variable '{v}' is now required"),
            Change::NewRequired => write!(f, "variable '{v}' is new and required"),
        }
    }
}

/// What in `new` breaks a render that worked with `old`: a variable removed, an optional
/// one made required, a new required one. A new optional variable, a changed default or
/// description, and a required variable made optional break nothing.
pub fn breaking_changes(old: &[Variable], new: &[Variable]) -> Vec<BreakingChange> {
    let mut changes = Vec::new();
    for o in old {
        match new.iter().find(|n| n.name == o.name) {
            None => changes.push(BreakingChange {
                variable: o.name.clone(),
                change: Change::Removed,
            }),
            Some(n) if n.required && !o.required => changes.push(BreakingChange {
                variable: o.name.clone(),
                change: Change::NowRequired,
            }),
            Some(_) => {}
        }
    }
    for n in new {
        if n.required && !old.iter().any(|o| o.name == n.name) {
            changes.push(BreakingChange {
                variable: n.name.clone(),
                change: Change::NewRequired,
            });
        }
    }
    changes
}

/// What the declaration in `new_content` breaks for renders of `old_content`, as a review
/// reports it: a content whose declaration cannot be read counts as declaring no variables.
/// Only the start of either content is read.
pub fn breaking_between(old_content: &[u8], new_content: &[u8]) -> Vec<BreakingChange> {
    let read = |c: &[u8]| read_declarations(c).ok().flatten().unwrap_or_default();
    breaking_changes(&read(old_content), &read(new_content))
}

/// The part of a version that says which releases are compatible with it, as Cargo reads
/// a caret requirement: the major version, or for `0.y.z` the minor, or for `0.0.z` the patch.
fn compatibility(v: &Version) -> (u64, u64, u64) {
    let s = v.semver();
    match (s.major, s.minor) {
        (0, 0) => (0, 0, s.patch),
        (0, minor) => (0, minor, 0),
        (major, _) => (major, 0, 0),
    }
}

/// Whether going from `from` to `to` may break its users: `to` is higher and outside what
/// `^from` allows. `1.4.0 → 2.0.0` (and `2.0.0-rc.1`), `0.3.1 → 0.4.0` and `0.0.3 → 0.0.4`
/// are major; `1.4.0 → 1.5.0` and `0.3.1 → 0.3.2` are not.
pub fn is_major_bump(from: &Version, to: &Version) -> bool {
    to > from && compatibility(to) != compatibility(from)
}

/// The release a new version's declaration is compared with: the highest release below
/// `new` that is not a pre-release (pre-releases promise no compatibility).
pub fn baseline<'a>(
    versions: impl IntoIterator<Item = &'a Version>,
    new: &Version,
) -> Option<&'a Version> {
    versions
        .into_iter()
        .filter(|v| !v.is_prerelease() && *v < new)
        .max()
}

/// Refuse releasing `new_content` as `name@version` when its declaration breaks the
/// declaration of the release `base` (content `base_content`) and `version` is not a major
/// step from it (a conflict naming each change). Only the start of either content is read.
/// A base that declares nothing readable is compared as declaring no variables; a new
/// content whose frontmatter cannot be read is refused only when the base declared some.
pub fn check_bump(
    name: &crate::name::Name,
    base: &Version,
    base_content: &[u8],
    version: &Version,
    new_content: &[u8],
) -> Result<()> {
    let old = read_declarations(base_content)
        .ok()
        .flatten()
        .unwrap_or_default();
    let new = match read_declarations(new_content) {
        Ok(found) => found.unwrap_or_default(),
        Err(Problem::Unreadable(_)) if old.is_empty() => return Ok(()),
        Err(p) => {
            return Err(p.into_error().context(format!(
                "cannot compare the variables of '{name}@{version}' with '{name}@{base}'"
            )));
        }
    };
    let changes = breaking_changes(&old, &new);
    if changes.is_empty() || is_major_bump(base, version) {
        return Ok(());
    }
    let list: Vec<String> = changes.iter().map(ToString::to_string).collect();
    Err(Error::conflict(format!(
        "'{name}@{version}' breaks renders of '{name}@{base}': {}; a change like this needs a new major version",
        list.join(", ")
    ))
    .with_hint(Hint::MajorVersion {
        version: next_major(base).to_string(),
    }))
}

/// The first version past what `^from` allows: `2.0.0` after `1.4.0`, `0.4.0` after `0.3.1`.
pub fn next_major(from: &Version) -> Version {
    let s = from.semver();
    let (major, minor, patch) = match (s.major, s.minor) {
        (0, 0) => (0, 0, s.patch.saturating_add(1)),
        (0, minor) => (0, minor.saturating_add(1), 0),
        (major, _) => (major.saturating_add(1), 0, 0),
    };
    Version::parse(&format!("{major}.{minor}.{patch}")).unwrap_or_else(|_| from.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const SUPPORT: &str = "---\nvariables:\n  - name: product\n    required: true\n    description: The product's name\n  - name: tone\n    default: friendly\n---\nYou are a support agent for {{ product }}. Be {{ tone }}.\n";

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn renders_with_defaults_and_strips_the_frontmatter() {
        let t = Template::parse(SUPPORT.as_bytes()).unwrap();
        assert_eq!(t.variables().len(), 2);
        assert_eq!(
            t.render(&vars(&[("product", "Acme")])).unwrap(),
            "You are a support agent for Acme. Be friendly.\n"
        );
        assert_eq!(
            t.render(&vars(&[("product", "Acme"), ("tone", "brief")]))
                .unwrap(),
            "You are a support agent for Acme. Be brief.\n"
        );
    }

    #[test]
    fn missing_undeclared_and_unknown_variables_are_usage_errors_naming_them() {
        let t = Template::parse(SUPPORT.as_bytes()).unwrap();
        let e = t.render(&vars(&[])).unwrap_err();
        assert_eq!(e.kind(), crate::Kind::Usage);
        assert!(e.message().contains("'product'"), "{}", e.message());
        let e = t
            .render(&vars(&[("product", "A"), ("colour", "red")]))
            .unwrap_err();
        assert!(e.message().contains("'colour'"), "{}", e.message());
        let t = Template::parse(b"---\nvariables: []\n---\n{{ who }}").unwrap();
        let e = t.render(&vars(&[])).unwrap_err();
        assert!(e.message().contains("'who'"), "{}", e.message());
        assert_eq!(t.undeclared(), ["who"]);
    }

    #[test]
    fn optional_variables_without_a_default_are_empty() {
        let t = Template::parse(
            b"---\nvariables:\n  - name: extra\n---\na{% if extra %}+{{ extra }}{% endif %}",
        )
        .unwrap();
        assert_eq!(t.render(&vars(&[])).unwrap(), "a");
        assert_eq!(t.render(&vars(&[("extra", "x")])).unwrap(), "a+x");
    }

    #[test]
    fn output_is_exact() {
        for body in ["no newline", "two\n\n", "crlf\r\n", "", "<b>&amp;</b>\n"] {
            let content = format!("---\nvariables: []\n---\n{body}");
            let t = Template::parse(content.as_bytes()).unwrap();
            assert_eq!(t.render(&vars(&[])).unwrap(), body);
        }
        let t = Template::parse(b"---\r\nvariables:\r\n  - name: a\r\n---\r\n{{ a }}\r\n").unwrap();
        assert_eq!(t.render(&vars(&[("a", "<&>")])).unwrap(), "<&>\r\n");
        // No frontmatter: the whole content is the body.
        let t = Template::parse(b"plain text\n").unwrap();
        assert!(!t.declares());
        assert_eq!(t.render(&vars(&[])).unwrap(), "plain text\n");
    }

    #[test]
    fn frontmatter_is_found_only_at_the_start() {
        assert!(
            declarations(b"hello\n---\nvariables: []\n---\n")
                .unwrap()
                .is_none()
        );
        assert!(declarations(b"---").unwrap().is_none());
        assert!(declarations(b"---\n---\n").unwrap().is_none());
        assert_eq!(declarations(b"---\nvariables:\n---").unwrap(), Some(vec![]));
        assert!(
            declarations(b"---\ntitle: x\nmodel: y\n---\nbody")
                .unwrap()
                .is_none()
        );
        let e = declarations(b"---\nvariables: []\n").unwrap_err();
        assert!(e.message().contains("closing '---'"), "{}", e.message());
    }

    #[test]
    fn malformed_declarations_are_refused() {
        for (yaml, says) in [
            ("variables: 3", "not a list"),
            ("variables: [x]", "not a mapping"),
            ("variables:\n  - required: true", "no 'name'"),
            ("variables:\n  - name: 1abc", "cannot name"),
            ("variables:\n  - name: none", "cannot name"),
            ("variables:\n  - name: a-b", "cannot name"),
            ("variables:\n  - name: a\n  - name: a", "twice"),
            (
                "variables:\n  - name: a\n    requried: true",
                "unknown key 'requried'",
            ),
            (
                "variables:\n  - name: a\n    required: yes",
                "true or false",
            ),
            (
                "variables:\n  - name: a\n    required: true\n    default: b",
                "has a default",
            ),
            ("variables:\n  - name: a\n    default: [1]", "'default'"),
        ] {
            let content = format!("---\n{yaml}\n---\n");
            let e = declarations(content.as_bytes()).unwrap_err();
            assert_eq!(e.kind(), crate::Kind::Usage);
            assert!(e.message().contains(says), "{yaml}: {}", e.message());
            assert!(declares_validly(content.as_bytes()).is_err(), "{yaml}");
        }
        // Frontmatter for another tool that is not YAML pulse reads is not a declaration.
        for odd in ["just: a: b", "- a list", "[unclosed", "a: *alias"] {
            let content = format!("---\n{odd}\n---\nbody");
            assert!(declarations(content.as_bytes()).is_err(), "{odd}");
            assert!(!declares_validly(content.as_bytes()).unwrap(), "{odd}");
        }
    }

    #[test]
    fn hostile_frontmatter_is_refused_quickly() {
        let deep = format!(
            "---\nvariables: {}{}\n---\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let e = declarations(deep.as_bytes()).unwrap_err();
        assert!(e.message().contains("nests"), "{}", e.message());
        let aliases = "---\na: &a [x, x]\nb: &b [*a, *a]\nvariables: *b\n---\n";
        let e = declarations(aliases.as_bytes()).unwrap_err();
        assert!(e.message().contains("alias"), "{}", e.message());
        let huge = format!("---\nvariables: []\nx: '{}'\n---\n", "a".repeat(100 << 10));
        let e = declarations(huge.as_bytes()).unwrap_err();
        assert!(e.message().contains("64 KiB"), "{}", e.message());
    }

    #[test]
    fn templates_that_run_away_stop() {
        let t = Template::parse(
            b"---\nvariables: []\n---\n{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
        )
        .unwrap();
        let e = t.render(&vars(&[])).unwrap_err();
        assert!(e.message().contains("too long"), "{}", e.message());
    }

    #[test]
    fn syntax_errors_and_non_utf8_are_usage_errors() {
        let e = Template::parse(b"---\nvariables: []\n---\nline\n{{ oops ").unwrap_err();
        assert_eq!(e.kind(), crate::Kind::Usage);
        assert!(e.message().contains("line 5"), "{}", e.message());
        let e = Template::parse(b"\xff\xfe").unwrap_err();
        assert!(e.message().contains("UTF-8"), "{}", e.message());
    }

    #[test]
    fn used_and_unused_variables_with_their_places() {
        let content = "---\nvariables:\n  - name: a\n  - name: \"b\"\n---\nx {{ a }}\n{% for i in range(3) %}{{ i }}{{ c.d }}{% endfor %}{# e #}\n";
        let t = Template::parse(content.as_bytes()).unwrap();
        let used: Vec<&str> = t.variables_used().iter().map(String::as_str).collect();
        assert_eq!(used, ["a", "c"]);
        assert_eq!(t.undeclared(), ["c"]);
        assert_eq!(t.unused().len(), 1);
        assert_eq!(t.declared_at("a"), Some((3, 11)));
        assert_eq!(t.declared_at("b"), Some((4, 12)));
        assert_eq!(t.used_at("a"), Some((6, 6)));
        assert_eq!(t.used_at("c"), Some((7, 34)));
    }

    #[test]
    fn breaking_changes_are_named() {
        let var = |name: &str, required: bool| Variable {
            name: name.to_owned(),
            required,
            default: None,
            description: None,
        };
        let old = [var("a", true), var("b", false), var("c", false)];
        let new = [
            var("b", true),
            var("c", false),
            var("d", true),
            var("e", false),
        ];
        let changes: Vec<String> = breaking_changes(&old, &new)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            changes,
            [
                "variable 'a' was removed",
                "variable 'b' is now required",
                "variable 'd' is new and required"
            ]
        );
        assert!(breaking_changes(&new, &new).is_empty());
        assert!(breaking_changes(&[var("a", true)], &[var("a", false)]).is_empty());
    }

    #[test]
    fn major_steps_follow_cargo() {
        for (from, to, major) in [
            ("1.4.0", "2.0.0", true),
            ("1.4.0", "2.0.0-rc.1", true),
            ("1.4.0", "1.5.0", false),
            ("1.4.0", "1.4.1", false),
            ("0.3.1", "0.4.0", true),
            ("0.3.1", "0.3.2", false),
            ("0.3.1", "1.0.0", true),
            ("0.0.3", "0.0.4", true),
            ("2.0.0", "1.0.0", false),
        ] {
            assert_eq!(is_major_bump(&v(from), &v(to)), major, "{from} -> {to}");
        }
        assert_eq!(next_major(&v("1.4.2")), v("2.0.0"));
        assert_eq!(next_major(&v("0.3.1")), v("0.4.0"));
        assert_eq!(next_major(&v("0.0.3")), v("0.0.4"));
        let all = [v("1.0.0"), v("1.2.0"), v("2.0.0-rc.1"), v("2.1.0")];
        assert_eq!(baseline(&all, &v("2.0.0")), Some(&all[1]));
        assert_eq!(baseline(&all, &v("1.0.0")), None);
        assert_eq!(baseline(&all, &v("3.0.0")), Some(&all[3]));
    }

    #[test]
    fn check_bump_refuses_below_major() {
        let name = crate::name::Name::parse("p").unwrap();
        let old = b"---\nvariables:\n  - name: a\n---\n{{ a }}";
        let new = b"---\nvariables: []\n---\nx";
        let e = check_bump(&name, &v("1.0.0"), old, &v("1.1.0"), new).unwrap_err();
        assert_eq!(e.kind(), crate::Kind::Conflict);
        assert!(e.message().contains("'a' was removed"), "{}", e.message());
        check_bump(&name, &v("1.0.0"), old, &v("2.0.0"), new).unwrap();
        check_bump(&name, &v("0.1.0"), old, &v("0.2.0"), new).unwrap();
        // Nothing declared before, nothing readable now: nothing to compare.
        check_bump(&name, &v("1.0.0"), b"x", &v("1.1.0"), b"---\n: :\n---\n").unwrap();
        // Declared before, unreadable now: refused.
        assert!(check_bump(&name, &v("1.0.0"), old, &v("1.1.0"), b"---\n[\n---\n").is_err());
    }
}
