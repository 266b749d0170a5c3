//! Claude Code's `settings.json`, edited as text.
//!
//! Gatehouse points Claude Code at its gateway by owning exactly three things
//! under the top-level `env` object: `ANTHROPIC_BASE_URL`, one
//! `x-gatehouse-key: …` line inside the newline-separated
//! `ANTHROPIC_CUSTOM_HEADERS` string, and
//! `CLAUDE_CODE_GATEWAY_HINT_HEADERS` set to `"1"` (Claude Code then tells
//! the gateway what kind of request each one is: main, subagent,
//! compaction). Pointed at a team's LiteLLM proxy instead
//! ([`Destination::TeamProxy`]), it owns two: `ANTHROPIC_BASE_URL` and one
//! `x-litellm-api-key: Bearer …` line. Everything else in the file belongs
//! to the user: their hooks, plugins, permissions, key order, indentation,
//! line endings and escapes.
//!
//! Re-serialising the document would normalise all of that away, so this
//! module never does. It validates the text with `serde_json` (the strict
//! grammar Claude Code itself accepts), then a small scanner finds the byte
//! spans of the members we own, and only those spans are spliced. [`apply`]
//! returns a [`PriorValues`] describing what each splice replaced, which lets
//! [`revert`] undo the splices byte for byte, or, when the user has edited the
//! file in between, remove only what we own and keep their edits.
//!
//! Duplicate keys follow `JSON.parse`: the last occurrence wins, so that is
//! the one read and edited.
//!
//! There is no I/O here; `settings_store` reads, writes and records.

use crate::json_skim::{self, skip_whitespace, string_end, value_end};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::net::Ipv4Addr;
use std::ops::Range;

const ENV: &str = "env";
const BASE_URL: &str = "ANTHROPIC_BASE_URL";
const CUSTOM_HEADERS: &str = "ANTHROPIC_CUSTOM_HEADERS";
/// Makes Claude Code send `x-claude-code-request-class` and its siblings.
pub const HINT_HEADERS: &str = "CLAUDE_CODE_GATEWAY_HINT_HEADERS";
/// The value Gatehouse gives [`HINT_HEADERS`].
pub const HINT_HEADERS_ON: &str = "1";

/// The header Claude Code sends to authenticate to the gateway.
pub const GATEWAY_KEY_HEADER: &str = "x-gatehouse-key";
/// The header Claude Code sends a team's LiteLLM proxy its virtual key in.
pub const TEAM_KEY_HEADER: &str = "x-litellm-api-key";

/// Claude Code writes its settings with two-space indentation, so a file we
/// create from nothing looks like one it wrote itself.
const DEFAULT_INDENT: &str = "  ";

/// What Gatehouse puts into the file.
pub struct GatewayEnv<'a> {
    pub base_url: &'a str,
    /// The gateway key, or the team's virtual key.
    pub gateway_key: &'a str,
    pub destination: Destination,
}

impl<'a> GatewayEnv<'a> {
    /// Claude Code through Gatehouse's own gateway.
    pub fn gateway(base_url: &'a str, gateway_key: &'a str) -> GatewayEnv<'a> {
        GatewayEnv { base_url, gateway_key, destination: Destination::Gateway }
    }

    /// Claude Code straight to a team's LiteLLM proxy with a virtual key.
    pub fn team(base_url: &'a str, virtual_key: &'a str) -> GatewayEnv<'a> {
        GatewayEnv { base_url, gateway_key: virtual_key, destination: Destination::TeamProxy }
    }
}

impl fmt::Debug for GatewayEnv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayEnv")
            .field("base_url", &self.base_url)
            .field("gateway_key", &"<redacted>")
            .field("destination", &self.destination)
            .finish()
    }
}

/// What Gatehouse points Claude Code at, which decides the header line it
/// owns in `ANTHROPIC_CUSTOM_HEADERS`.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// The local gateway: an `x-gatehouse-key: KEY` line, and the hint
    /// headers variable.
    #[default]
    Gateway,
    /// A team's LiteLLM proxy: an `x-litellm-api-key: Bearer KEY` line. The
    /// hint headers are for Gatehouse's gateway, so they are not set.
    TeamProxy,
}

impl Destination {
    /// The header name of the line Gatehouse owns.
    pub fn header(self) -> &'static str {
        match self {
            Destination::Gateway => GATEWAY_KEY_HEADER,
            Destination::TeamProxy => TEAM_KEY_HEADER,
        }
    }

    fn line(self, key: &str) -> String {
        match self {
            Destination::Gateway => format!("{GATEWAY_KEY_HEADER}: {key}"),
            Destination::TeamProxy => format!("{TEAM_KEY_HEADER}: Bearer {key}"),
        }
    }

    /// The value of a `header: value` line of `ANTHROPIC_CUSTOM_HEADERS`
    /// when it is this destination's header; names are case-insensitive.
    pub fn value_in(self, line: &str) -> Option<&str> {
        let (name, value) = line.split_once(':')?;
        name.trim().eq_ignore_ascii_case(self.header()).then(|| value.trim())
    }
}

/// What [`apply`] replaced, so [`revert`] can put it back.
///
/// It is stored in a record file, so it never holds an `x-gatehouse-key` line:
/// a line already present before `apply` is treated as a stale one of ours
/// and is not brought back.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PriorValues {
    pub document: PriorDocument,
    pub env: PriorEnv,
    pub base_url: PriorValue,
    pub custom_headers: PriorValue,
    /// `CLAUDE_CODE_GATEWAY_HINT_HEADERS` before Gatehouse set it; `None` in a
    /// record written before Gatehouse set it, so revert leaves it alone.
    #[serde(default)]
    pub hint_headers: Option<PriorValue>,
    /// The base URL Gatehouse set. Revert removes `ANTHROPIC_BASE_URL` only
    /// while it still holds this value; anything else is the user's choice.
    pub applied_base_url: String,
    /// What the configuration points at, so revert removes the right header
    /// line; a record from before team proxies is the gateway's.
    #[serde(default)]
    pub destination: Destination,
}

/// The shape of the whole document before `apply`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PriorDocument {
    /// Missing, empty or whitespace-only; `text` is that whitespace.
    Blank {
        text: String,
    },
    /// An object with no members; `interior` is the whitespace between its braces.
    EmptyObject {
        interior: String,
    },
    Object,
}

impl PriorValues {
    /// A prior `ANTHROPIC_BASE_URL` equal to the gateway's own URL was left
    /// by an earlier Gatehouse configuration, not chosen by the user:
    /// restoring it would point Claude Code at the gateway without a key.
    pub(crate) fn forget_own_base_url(&mut self, gateway_url: &str) {
        if let PriorValue::Present { raw } = &self.base_url
            && decode_string(raw).is_some_and(|url| url.trim_end_matches('/') == gateway_url.trim_end_matches('/'))
        {
            self.base_url = PriorValue::Absent;
        }
    }
}

impl PriorValues {
    /// In a file Gatehouse had configured without a record of it, a hint
    /// variable of `"1"` is most likely the one it set: remove takes it out.
    pub(crate) fn forget_own_hint(&mut self) {
        if let Some(PriorValue::Present { raw }) = &self.hint_headers
            && decode_string(raw).as_deref() == Some(HINT_HEADERS_ON)
        {
            self.hint_headers = Some(PriorValue::Absent);
        }
    }
}

/// Whether `env` existed before `apply`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PriorEnv {
    Absent,
    /// `empty_interior` is the whitespace between the braces if `env` had no
    /// members, so an emptied `env` gets its exact spelling back.
    Present {
        empty_interior: Option<String>,
    },
}

/// One `env` member before `apply`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PriorValue {
    Absent,
    /// `raw` is the JSON source text of the value, escapes and all.
    Present {
        raw: String,
    },
}

/// The edited text and what the edit replaced.
pub struct Applied {
    pub text: String,
    pub prior: PriorValues,
}

impl fmt::Debug for Applied {
    // The text carries the gateway key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Applied").field("text", &"<redacted>").field("prior", &self.prior).finish()
    }
}

/// Gatehouse's configuration as found in a settings file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfiguredGateway {
    /// `env.ANTHROPIC_BASE_URL`, if it is a string.
    pub base_url: Option<String>,
    pub key: GatewayKeyLine,
}

/// The value of an `x-gatehouse-key` header line. It is a secret, so it can
/// be compared but not printed.
#[derive(Clone, PartialEq)]
pub struct GatewayKeyLine(String);

impl GatewayKeyLine {
    pub fn matches(&self, key: &str) -> bool {
        self.0 == key
    }
}

impl fmt::Debug for GatewayKeyLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GatewayKeyLine(<redacted>)")
    }
}

#[derive(thiserror::Error, Debug)]
pub enum SettingsError {
    #[error("invalid JSON at line {line}, column {column}: {message}; fix the file or move it aside, then try again")]
    InvalidJson { line: usize, column: usize, message: String },
    #[error(
        "the top level is {found}, not an object; Claude Code settings must be a JSON object such as {{}}, so fix the file or move it aside"
    )]
    NotAnObject { found: &'static str },
    #[error("\"env\" is not an object; make it an object of \"NAME\": \"value\" pairs, then try again")]
    EnvNotAnObject,
    #[error(
        "\"env.ANTHROPIC_CUSTOM_HEADERS\" is {found}, not a string; make it a string with one \"Name: Value\" header per line, then try again"
    )]
    CustomHeadersNotString { found: &'static str },
    #[error("the gateway {what} is empty or contains control characters; configure Gatehouse with a valid {what}")]
    InvalidGatewayEnv { what: &'static str },
    #[error(
        "\"env.ANTHROPIC_CUSTOM_HEADERS\" already sends an x-litellm-api-key header that Gatehouse did not write (a \
         team key set by hand?); remove that line from it, then configure the team again"
    )]
    ForeignTeamKey,
    #[error(
        "could not locate the settings to edit although the JSON is valid; this is a Gatehouse bug, please report it (nothing was changed)"
    )]
    Layout,
}

/// Points Claude Code at the gateway. `original` may be empty (a missing file).
pub fn apply(original: &str, env: &GatewayEnv) -> Result<Applied, SettingsError> {
    check_gateway_env(env)?;
    let (mut text, document, prior_headers) = if is_blank(original) {
        let blank = PriorDocument::Blank { text: original.to_owned() };
        (String::from("{}\n"), blank, None)
    } else {
        let headers = owned_headers(&parse(original)?)?;
        let root = scan_root(original)?;
        let document = if root.members.is_empty() {
            PriorDocument::EmptyObject { interior: original[root.interior()].to_owned() }
        } else {
            PriorDocument::Object
        };
        (original.to_owned(), document, headers)
    };

    let root = scan_root(&text)?;
    let style = Style::detect(&text, &root);
    let prior_env = match env_object(&text, &root)? {
        Some(env) => {
            PriorEnv::Present { empty_interior: env.members.is_empty().then(|| text[env.interior()].to_owned()) }
        }
        None => {
            insert_member(&mut text, &root, ENV, "{}", &style);
            PriorEnv::Absent
        }
    };

    let base_url = upsert(&mut text, BASE_URL, &json_string(env.base_url), &style)?;

    let ours = env.destination;
    let headers_value = match &prior_headers {
        Some(headers) => with_own_line(headers, ours, env.gateway_key),
        None => ours.line(env.gateway_key),
    };
    let replaced = upsert(&mut text, CUSTOM_HEADERS, &json_string(&headers_value), &style)?;
    let custom_headers = match prior_headers {
        Some(headers) if has_own_line(&headers, ours) => {
            let rest = without_own_lines(&headers, ours);
            if rest.is_empty() { PriorValue::Absent } else { PriorValue::Present { raw: json_string(&rest) } }
        }
        _ => replaced,
    };
    let hint_headers = match ours {
        Destination::Gateway => Some(upsert(&mut text, HINT_HEADERS, &json_string(HINT_HEADERS_ON), &style)?),
        Destination::TeamProxy => None,
    };

    Ok(Applied {
        text,
        prior: PriorValues {
            document,
            env: prior_env,
            base_url,
            custom_headers,
            hint_headers,
            applied_base_url: env.base_url.to_owned(),
            destination: ours,
        },
    })
}

/// Applies to a file that Gatehouse already configured (rotating the key or
/// changing the URL) while keeping what the first `apply` recorded, so a
/// later revert restores the user's values rather than our earlier ones.
pub fn reapply(current: &str, env: &GatewayEnv, original: &PriorValues) -> Result<Applied, SettingsError> {
    let applied = apply(current, env)?;
    // A record from before Gatehouse set the hint variable: what the file
    // holds now is the user's.
    let hint_headers = original.hint_headers.clone().or(applied.prior.hint_headers);
    Ok(Applied {
        text: applied.text,
        prior: PriorValues { applied_base_url: env.base_url.to_owned(), hint_headers, ..original.clone() },
    })
}

/// Takes Gatehouse out of `current`: removes our header line and base URL,
/// puts the prior values back, and leaves every other edit alone.
pub fn revert(current: &str, prior: &PriorValues) -> Result<String, SettingsError> {
    undo(current, prior, |url| url == prior.applied_base_url)
}

/// Takes a Gatehouse configuration out of `current` when nothing recorded
/// what it replaced (the record was lost). It removes the `x-gatehouse-key`
/// line, `ANTHROPIC_BASE_URL` only when it points at a loopback address,
/// since only then can it be the local gateway rather than the user's own
/// proxy, and `CLAUDE_CODE_GATEWAY_HINT_HEADERS` only while it is `"1"`. Returns `None` when there is no `x-gatehouse-key` line.
pub fn strip_unrecorded(current: &str) -> Result<Option<String>, SettingsError> {
    if gateway_in(current)?.is_none() {
        return Ok(None);
    }
    let unknown = PriorValues {
        document: PriorDocument::Object,
        env: PriorEnv::Present { empty_interior: None },
        base_url: PriorValue::Absent,
        custom_headers: PriorValue::Absent,
        // Beside our key line, a hint variable of "1" is most likely ours.
        hint_headers: Some(PriorValue::Absent),
        applied_base_url: String::new(),
        destination: Destination::Gateway,
    };
    undo(current, &unknown, is_loopback_url).map(Some)
}

/// Gatehouse's configuration in `text`, if it has an `x-gatehouse-key` line.
pub fn gateway_in(text: &str) -> Result<Option<ConfiguredGateway>, SettingsError> {
    if is_blank(text) {
        return Ok(None);
    }
    let root = parse(text)?;
    let Some(env) = env_map(&root)? else {
        return Ok(None);
    };
    let key = owned_headers(&root)?.and_then(|headers| {
        header_lines(&headers)
            .find_map(|line| Destination::Gateway.value_in(line))
            .map(|value| GatewayKeyLine(value.to_owned()))
    });
    Ok(key.map(|key| ConfiguredGateway { base_url: env.get(BASE_URL).and_then(Value::as_str).map(str::to_owned), key }))
}

/// Whether `text` holds a header line of `ours` in `env.ANTHROPIC_CUSTOM_HEADERS`.
pub fn holds_own_line(text: &str, ours: Destination) -> Result<bool, SettingsError> {
    if is_blank(text) {
        return Ok(false);
    }
    Ok(owned_headers(&parse(text)?)?.is_some_and(|headers| has_own_line(&headers, ours)))
}

/// `env.NAME` as Claude Code would export it: strings as they are, other
/// values as their JSON text, `null` as unset.
pub fn env_value(text: &str, name: &str) -> Result<Option<String>, SettingsError> {
    if is_blank(text) {
        return Ok(None);
    }
    let root = parse(text)?;
    Ok(match env_map(&root)?.and_then(|env| env.get(name)) {
        None | Some(Value::Null) => None,
        Some(Value::String(value)) => Some(value.clone()),
        Some(other) => Some(other.to_string()),
    })
}

fn undo(current: &str, prior: &PriorValues, ours: impl Fn(&str) -> bool) -> Result<String, SettingsError> {
    if is_blank(current) {
        return Ok(current.to_owned());
    }
    let root = parse(current)?;
    // If the user replaced `env` with something else, nothing of ours is left.
    let Some(Value::Object(env)) = root.get(ENV) else {
        return Ok(current.to_owned());
    };
    let mut text = current.to_owned();

    // Set last, so undone first. Only while it still holds our value: a
    // value the user wrote since is theirs.
    if let Some(prior_hint) = &prior.hint_headers
        && env.get(HINT_HEADERS).and_then(Value::as_str) == Some(HINT_HEADERS_ON)
    {
        let env_obj = env_in(&text)?;
        let (index, member) = env_obj.last(HINT_HEADERS).ok_or(SettingsError::Layout)?;
        match prior_hint {
            PriorValue::Present { raw } => text.replace_range(member.value(), raw),
            PriorValue::Absent => remove_member(&mut text, &env_obj, index),
        }
    }

    if let Some(Value::String(headers)) = env.get(CUSTOM_HEADERS) {
        let remaining = without_own_lines(headers, prior.destination);
        let env_obj = env_in(&text)?;
        let (index, member) = env_obj.last(CUSTOM_HEADERS).ok_or(SettingsError::Layout)?;
        match &prior.custom_headers {
            PriorValue::Present { raw } if decode_string(raw).as_ref() == Some(&remaining) => {
                text.replace_range(member.value(), raw);
            }
            PriorValue::Absent if remaining.is_empty() => remove_member(&mut text, &env_obj, index),
            _ if remaining != *headers => {
                text.replace_range(member.value(), &json_string(&remaining));
            }
            _ => {}
        }
    }

    if env.get(BASE_URL).and_then(Value::as_str).is_some_and(ours) {
        let env_obj = env_in(&text)?;
        let (index, member) = env_obj.last(BASE_URL).ok_or(SettingsError::Layout)?;
        match &prior.base_url {
            PriorValue::Present { raw } => text.replace_range(member.value(), raw),
            PriorValue::Absent => remove_member(&mut text, &env_obj, index),
        }
    }

    let env_obj = env_in(&text)?;
    if env_obj.members.is_empty() {
        match &prior.env {
            PriorEnv::Absent => {
                let root = scan_root(&text)?;
                let (index, _) = root.last(ENV).ok_or(SettingsError::Layout)?;
                remove_member(&mut text, &root, index);
            }
            PriorEnv::Present { empty_interior: Some(interior) } => text.replace_range(env_obj.interior(), interior),
            PriorEnv::Present { empty_interior: None } => {}
        }
    }

    let root = scan_root(&text)?;
    if root.members.is_empty() {
        match &prior.document {
            PriorDocument::Blank { text: blank } => return Ok(blank.clone()),
            PriorDocument::EmptyObject { interior } => text.replace_range(root.interior(), interior),
            PriorDocument::Object => {}
        }
    }
    Ok(text)
}

fn check_gateway_env(env: &GatewayEnv) -> Result<(), SettingsError> {
    // A newline in the key would smuggle extra header lines into Claude Code.
    let bad = |value: &str| value.is_empty() || value.chars().any(char::is_control);
    if bad(env.base_url) {
        return Err(SettingsError::InvalidGatewayEnv { what: "base URL" });
    }
    if bad(env.gateway_key) {
        return Err(SettingsError::InvalidGatewayEnv { what: "key" });
    }
    Ok(())
}

/// Whitespace-only text counts as an empty file: there is nothing to lose.
pub(crate) fn is_blank(text: &str) -> bool {
    text.bytes().all(json_skim::is_whitespace)
}

fn parse(text: &str) -> Result<Map<String, Value>, SettingsError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(SettingsError::NotAnObject { found: kind(&other) }),
        Err(err) => {
            let (line, column) = (err.line(), err.column());
            let full = err.to_string();
            let suffix = format!(" at line {line} column {column}");
            let mut message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
            if text.starts_with('\u{feff}') {
                // Editors on Windows add one; JSON (and Claude Code) do not allow it.
                message = "the file starts with a byte order mark (BOM), which JSON does not allow; save it as UTF-8 \
                           without a BOM"
                    .to_string();
            }
            Err(SettingsError::InvalidJson { line, column, message })
        }
    }
}

fn env_map(root: &Map<String, Value>) -> Result<Option<&Map<String, Value>>, SettingsError> {
    match root.get(ENV) {
        None => Ok(None),
        Some(Value::Object(env)) => Ok(Some(env)),
        Some(_) => Err(SettingsError::EnvNotAnObject),
    }
}

/// Checks the shapes `apply` relies on and returns the custom headers string.
fn owned_headers(root: &Map<String, Value>) -> Result<Option<String>, SettingsError> {
    match env_map(root)?.and_then(|env| env.get(CUSTOM_HEADERS)) {
        None => Ok(None),
        Some(Value::String(headers)) => Ok(Some(headers.clone())),
        Some(other) => Err(SettingsError::CustomHeadersNotString { found: kind(other) }),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn json_string(value: &str) -> String {
    Value::String(value.to_owned()).to_string()
}

fn decode_string(raw: &str) -> Option<String> {
    serde_json::from_str(raw).ok()
}

// ---- header lines ----------------------------------------------------------
//
// The headers string is split into units of "line + terminator" so that "\n"
// and "\r\n" inside it, and whether it ends with one, survive every edit.

fn header_lines(headers: &str) -> impl Iterator<Item = &str> {
    headers.split_inclusive('\n').map(|unit| split_terminator(unit).0)
}

fn split_terminator(unit: &str) -> (&str, &str) {
    let content = unit.strip_suffix("\r\n").or_else(|| unit.strip_suffix('\n')).unwrap_or(unit);
    unit.split_at(content.len())
}

/// The value of an `x-gatehouse-key: value` line of `ANTHROPIC_CUSTOM_HEADERS`;
/// header names are case-insensitive.
pub fn gatehouse_key_value(line: &str) -> Option<&str> {
    Destination::Gateway.value_in(line)
}

/// Whether `headers` has a line of `ours`.
pub fn has_own_line(headers: &str, ours: Destination) -> bool {
    header_lines(headers).any(|line| ours.value_in(line).is_some())
}

/// Replaces the first line of `ours` in place and drops any others, or
/// appends one, keeping the string's own line separator.
fn with_own_line(headers: &str, ours: Destination, key: &str) -> String {
    let line = ours.line(key);
    let mut units: Vec<String> = Vec::new();
    let mut replaced = false;
    let all: Vec<&str> = headers.split_inclusive('\n').collect();
    for (i, unit) in all.iter().enumerate() {
        let (content, terminator) = split_terminator(unit);
        if ours.value_in(content).is_none() {
            units.push((*unit).to_owned());
        } else if !replaced {
            units.push(format!("{line}{terminator}"));
            replaced = true;
        } else if i + 1 == all.len() && terminator.is_empty() {
            drop_last_terminator(&mut units);
        }
    }
    let mut out = units.concat();
    if !replaced {
        let separator = if headers.contains("\r\n") { "\r\n" } else { "\n" };
        if out.is_empty() {
            out = line;
        } else if out.ends_with('\n') {
            out.push_str(&line);
            out.push_str(separator);
        } else {
            out.push_str(separator);
            out.push_str(&line);
        }
    }
    out
}

/// Removes every line of `ours`. When the removed line was the last one and
/// had no terminator, the separator before it was added with it, so that
/// goes too.
fn without_own_lines(headers: &str, ours: Destination) -> String {
    let mut units: Vec<String> = Vec::new();
    let all: Vec<&str> = headers.split_inclusive('\n').collect();
    for (i, unit) in all.iter().enumerate() {
        let (content, terminator) = split_terminator(unit);
        if ours.value_in(content).is_none() {
            units.push((*unit).to_owned());
        } else if i + 1 == all.len() && terminator.is_empty() {
            drop_last_terminator(&mut units);
        }
    }
    units.concat()
}

fn drop_last_terminator(units: &mut [String]) {
    if let Some(last) = units.last_mut() {
        let content_len = split_terminator(last).0.len();
        last.truncate(content_len);
    }
}

fn is_loopback_url(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = if host_port.starts_with('[') {
        host_port.split_once(']').map_or(host_port, |(host, _)| host).trim_start_matches('[')
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost") || host == "::1" || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

// ---- scanner ---------------------------------------------------------------
//
// Runs only on text serde_json has accepted, so it need not report syntax
// errors; it only has to find where members start and end.

struct Member {
    key: String,
    /// Just after the `{` or `,` that precedes this member.
    lead_start: usize,
    key_start: usize,
    key_end: usize,
    value_start: usize,
    value_end: usize,
}

impl Member {
    fn value(&self) -> Range<usize> {
        self.value_start..self.value_end
    }
}

struct Object {
    open: usize,
    close: usize,
    members: Vec<Member>,
}

impl Object {
    fn interior(&self) -> Range<usize> {
        self.open + 1..self.close
    }

    fn last(&self, key: &str) -> Option<(usize, &Member)> {
        self.members.iter().enumerate().rev().find(|(_, member)| member.key == key)
    }
}

fn object_at(text: &str, open: usize) -> Option<Object> {
    let bytes = text.as_bytes();
    if bytes.get(open) != Some(&b'{') {
        return None;
    }
    let mut members = Vec::new();
    let mut lead_start = open + 1;
    let mut at = skip_whitespace(bytes, lead_start);
    if bytes.get(at) == Some(&b'}') {
        return Some(Object { open, close: at, members });
    }
    loop {
        let key_start = at;
        let key_end = string_end(bytes, key_start)?;
        let key = decode_string(text.get(key_start..key_end)?)?;
        at = skip_whitespace(bytes, key_end);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        let value_start = skip_whitespace(bytes, at + 1);
        let value_end = value_end(bytes, value_start)?;
        members.push(Member { key, lead_start, key_start, key_end, value_start, value_end });
        at = skip_whitespace(bytes, value_end);
        match bytes.get(at)? {
            b',' => {
                lead_start = at + 1;
                at = skip_whitespace(bytes, lead_start);
            }
            b'}' => {
                return Some(Object { open, close: at, members });
            }
            _ => return None,
        }
    }
}

fn scan_root(text: &str) -> Result<Object, SettingsError> {
    object_at(text, skip_whitespace(text.as_bytes(), 0)).ok_or(SettingsError::Layout)
}

/// The `env` object, if the root has one (the last, if repeated).
fn env_object(text: &str, root: &Object) -> Result<Option<Object>, SettingsError> {
    match root.last(ENV) {
        None => Ok(None),
        Some((_, member)) => object_at(text, member.value_start).map(Some).ok_or(SettingsError::Layout),
    }
}

fn env_in(text: &str) -> Result<Object, SettingsError> {
    env_object(text, &scan_root(text)?)?.ok_or(SettingsError::Layout)
}

// ---- editing ---------------------------------------------------------------

/// How the document lays out its members, learnt from its top level so new
/// members look as if the user had typed them.
struct Style {
    newline: &'static str,
    /// One level of indentation, or `None` for a one-line document.
    indent: Option<String>,
    colon: String,
    /// What separates members in a one-line document: "" or " ".
    gap: String,
}

impl Style {
    fn detect(text: &str, root: &Object) -> Style {
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let Some(first) = root.members.first() else {
            return Style {
                newline,
                indent: Some(DEFAULT_INDENT.to_owned()),
                colon: ": ".to_owned(),
                gap: String::new(),
            };
        };
        let lead = &text[first.lead_start..first.key_start];
        let colon = text[first.key_end..first.value_start].to_owned();
        match lead.rfind('\n') {
            Some(newline_at) => {
                let member_indent = &lead[newline_at + 1..];
                let root_indent = line_indent(text, root.open);
                let unit = member_indent.strip_prefix(root_indent).unwrap_or(member_indent);
                Style { newline, indent: Some(unit.to_owned()), colon, gap: String::new() }
            }
            None => Style { newline, indent: None, colon, gap: lead.to_owned() },
        }
    }
}

/// The spaces and tabs that start the line holding `at`.
fn line_indent(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[start..at];
    let rest = line.trim_start_matches([' ', '\t']);
    &line[..line.len() - rest.len()]
}

/// Appends `"key": value` as the last member of `object`.
fn insert_member(text: &mut String, object: &Object, key: &str, value: &str, style: &Style) {
    let key = json_string(key);
    match object.members.last() {
        Some(last) => {
            // Copy the spacing of the member before; a later removal takes
            // exactly this inserted text out again.
            let colon = &text[last.key_end..last.value_start];
            let mut lead = &text[last.lead_start..last.key_start];
            if last.lead_start == object.open + 1 && !lead.contains('\n') {
                // On one line, the gap after `{` says nothing about the gap
                // after a comma; `"a": 1` style usually pairs with `, `.
                lead = if colon.ends_with(' ') { " " } else { "" };
            }
            let inserted = format!(",{lead}{key}{colon}{value}");
            text.insert_str(last.value_end, &inserted);
        }
        None => {
            let interior = match &style.indent {
                Some(unit) => {
                    let nl = style.newline;
                    let close = line_indent(text, object.open);
                    format!("{nl}{close}{unit}{key}{}{value}{nl}{close}", style.colon)
                }
                None => format!("{gap}{key}{}{value}{gap}", style.colon, gap = style.gap),
            };
            text.replace_range(object.interior(), &interior);
        }
    }
}

/// Removes the member, taking the separator that belongs to it, so that
/// removing a member `insert_member` added gives back the text before.
fn remove_member(text: &mut String, object: &Object, index: usize) {
    let members = &object.members;
    let range = match (members.len(), index.checked_sub(1), members.get(index + 1)) {
        (1, _, _) | (_, None, None) => object.interior(),
        (_, _, Some(after)) => members[index].key_start..after.key_start,
        (_, Some(before), None) => members[before].value_end..members[index].value_end,
    };
    text.replace_range(range, "");
}

/// Sets `env.key` to the raw JSON `value` and returns what was there.
fn upsert(text: &mut String, key: &str, value: &str, style: &Style) -> Result<PriorValue, SettingsError> {
    let env = env_in(text)?;
    Ok(match env.last(key) {
        Some((_, member)) => {
            let raw = text[member.value()].to_owned();
            text.replace_range(member.value(), value);
            PriorValue::Present { raw }
        }
        None => {
            insert_member(text, &env, key, value, style);
            PriorValue::Absent
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const URL: &str = "http://127.0.0.1:4141";
    const KEY: &str = "ghk_secret_1";

    fn gw() -> GatewayEnv<'static> {
        GatewayEnv::gateway(URL, KEY)
    }

    fn roundtrip(original: &str) -> String {
        let applied = apply(original, &gw()).expect("apply");
        let back = revert(&applied.text, &applied.prior).expect("revert");
        assert_eq!(back, original, "revert(apply(x)) != x");
        applied.text
    }

    fn env_of(text: &str) -> Map<String, Value> {
        let root: Value = serde_json::from_str(text).expect("valid output");
        root["env"].as_object().expect("env object").clone()
    }

    #[test]
    fn empty_file_gets_a_two_space_document_and_reverts_to_empty() {
        let text = roundtrip("");
        assert_eq!(
            text,
            "{\n  \"env\": {\n    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:4141\",\n    \"ANTHROPIC_CUSTOM_HEADERS\": \"x-gatehouse-key: ghk_secret_1\",\n    \"CLAUDE_CODE_GATEWAY_HINT_HEADERS\": \"1\"\n  }\n}\n"
        );
        roundtrip("  \n");
        roundtrip("{}");
        roundtrip("{ }\n");
        roundtrip("{\n}");
    }

    #[test]
    fn existing_env_keeps_other_keys_in_order() {
        let original = "{\n  \"model\": \"opus\",\n  \"env\": {\n    \"FOO\": \"1\",\n    \"BAR\": \"2\"\n  },\n  \"hooks\": {}\n}\n";
        let text = roundtrip(original);
        assert_eq!(
            text,
            "{\n  \"model\": \"opus\",\n  \"env\": {\n    \"FOO\": \"1\",\n    \"BAR\": \"2\",\n    \"ANTHROPIC_BASE_URL\": \"http://127.0.0.1:4141\",\n    \"ANTHROPIC_CUSTOM_HEADERS\": \"x-gatehouse-key: ghk_secret_1\",\n    \"CLAUDE_CODE_GATEWAY_HINT_HEADERS\": \"1\"\n  },\n  \"hooks\": {}\n}\n"
        );
    }

    #[test]
    fn existing_base_url_is_replaced_in_place_and_restored() {
        let original = r#"{"env": {"ANTHROPIC_BASE_URL": "https://proxy.example", "X": "y"}}"#;
        let text = roundtrip(original);
        assert!(text.starts_with(r#"{"env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:4141", "X": "y""#));
    }

    #[test]
    fn user_header_lines_stay_in_order_with_lf_and_crlf() {
        for (headers, expected) in [
            ("A: 1\nB: 2", "A: 1\nB: 2\nx-gatehouse-key: ghk_secret_1"),
            ("A: 1\r\nB: 2", "A: 1\r\nB: 2\r\nx-gatehouse-key: ghk_secret_1"),
            ("A: 1\n", "A: 1\nx-gatehouse-key: ghk_secret_1\n"),
            ("A: 1\r\n", "A: 1\r\nx-gatehouse-key: ghk_secret_1\r\n"),
            ("", "x-gatehouse-key: ghk_secret_1"),
        ] {
            let original =
                format!("{{\n  \"env\": {{\n    \"ANTHROPIC_CUSTOM_HEADERS\": {}\n  }}\n}}\n", json_string(headers));
            let text = roundtrip(&original);
            assert_eq!(env_of(&text)[CUSTOM_HEADERS], expected);
        }
    }

    #[test]
    fn escaped_header_string_is_restored_byte_for_byte() {
        roundtrip(r#"{"env":{"ANTHROPIC_CUSTOM_HEADERS":"\u0041: \/1\u000aB: 2"}}"#);
    }

    #[test]
    fn existing_gatehouse_line_is_replaced_and_not_recorded() {
        let original = r#"{"env":{"ANTHROPIC_CUSTOM_HEADERS":"A: 1\nX-Gatehouse-Key: old_key\nB: 2"}}"#;
        let applied = apply(original, &gw()).unwrap();
        assert_eq!(env_of(&applied.text)[CUSTOM_HEADERS], "A: 1\nx-gatehouse-key: ghk_secret_1\nB: 2");
        let recorded = serde_json::to_string(&applied.prior).unwrap();
        assert!(!recorded.contains("old_key") && !recorded.contains(KEY));
        let back = revert(&applied.text, &applied.prior).unwrap();
        assert_eq!(back, r#"{"env":{"ANTHROPIC_CUSTOM_HEADERS":"A: 1\nB: 2"}}"#);

        let only_ours = r#"{"env":{"ANTHROPIC_CUSTOM_HEADERS":"x-gatehouse-key: old"}}"#;
        let applied = apply(only_ours, &gw()).unwrap();
        assert_eq!(revert(&applied.text, &applied.prior).unwrap(), r#"{"env":{}}"#);
    }

    #[test]
    fn four_spaces_tabs_crlf_and_no_trailing_newline_are_kept() {
        let four = roundtrip("{\n    \"a\": 1\n}");
        assert!(four.contains("\n    \"env\": {\n        \"ANTHROPIC_BASE_URL\": "));
        assert!(four.ends_with("\n    }\n}"));

        let tabs = roundtrip("{\n\t\"a\": [\n\t\t1\n\t]\n}\n");
        assert!(tabs.contains("\n\t\"env\": {\n\t\t\"ANTHROPIC_BASE_URL\": "));

        let crlf = roundtrip("{\r\n  \"a\": 1\r\n}\r\n");
        assert!(!crlf.replace("\r\n", "").contains('\n'));

        let compact = roundtrip(r#"{"a":1}"#);
        assert_eq!(
            compact,
            r#"{"a":1,"env":{"ANTHROPIC_BASE_URL":"http://127.0.0.1:4141","ANTHROPIC_CUSTOM_HEADERS":"x-gatehouse-key: ghk_secret_1","CLAUDE_CODE_GATEWAY_HINT_HEADERS":"1"}}"#
        );
        roundtrip("{\n  \"env\": {}\n}");
        roundtrip("{\n  \"env\": {\n  }\n}");
    }

    #[test]
    fn unicode_and_escapes_survive() {
        roundtrip("{\"名前\": \"😀 caf\\u00e9 \\ud83d\\ude00\", \"\\u0065nv2\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}");
        // An escaped key spelling "env" is the env object.
        let text = roundtrip(r#"{"\u0065nv": {"K": "v"}}"#);
        assert_eq!(env_of(&text)["K"], "v");
    }

    #[test]
    fn invalid_documents_are_refused_with_a_position() {
        match apply("{\n  \"a\": 1,\n}", &gw()) {
            Err(SettingsError::InvalidJson { line, column, message }) => {
                assert_eq!((line, column), (3, 1));
                assert!(!message.contains("at line"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(apply("{} x", &gw()), Err(SettingsError::InvalidJson { .. })));
        match apply("\u{feff}{}", &gw()) {
            Err(error @ SettingsError::InvalidJson { .. }) => assert!(error.to_string().contains("byte order mark")),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(apply("[1]", &gw()), Err(SettingsError::NotAnObject { found: "an array" })));
        assert!(matches!(apply(r#"{"env": "x"}"#, &gw()), Err(SettingsError::EnvNotAnObject)));
        assert!(matches!(
            apply(r#"{"env": {"ANTHROPIC_CUSTOM_HEADERS": ["a"]}}"#, &gw()),
            Err(SettingsError::CustomHeadersNotString { found: "an array" })
        ));
        let message = apply(r#"{"env": 1}"#, &gw()).unwrap_err().to_string();
        assert!(message.contains("make it an object"));
    }

    #[test]
    fn gateway_values_with_control_characters_are_refused() {
        let bad_key = GatewayEnv::gateway(URL, "k\nEvil: 1");
        let err = apply("{}", &bad_key).unwrap_err();
        assert!(matches!(err, SettingsError::InvalidGatewayEnv { what: "key" }));
        assert!(!err.to_string().contains("Evil"));
    }

    #[test]
    fn user_edits_between_apply_and_revert_are_kept() {
        let original = "{\n  \"model\": \"opus\",\n  \"env\": {\n    \"ANTHROPIC_CUSTOM_HEADERS\": \"A: 1\"\n  }\n}\n";
        let applied = apply(original, &gw()).unwrap();
        let edited = applied
            .text
            .replace("\"opus\"", "\"sonnet\"")
            .replace("A: 1\\n", "A: 1\\nC: 3\\n")
            .replace("  }\n}", "  },\n  \"added\": true\n}");
        let back = revert(&edited, &applied.prior).unwrap();
        assert_eq!(
            back,
            "{\n  \"model\": \"sonnet\",\n  \"env\": {\n    \"ANTHROPIC_CUSTOM_HEADERS\": \"A: 1\\nC: 3\"\n  },\n  \"added\": true\n}\n"
        );

        // The user put in their own base URL: it stays.
        let applied = apply("{}", &gw()).unwrap();
        let edited = applied.text.replace(URL, "https://mine.example");
        let back = revert(&edited, &applied.prior).unwrap();
        assert_eq!(env_of(&back)[BASE_URL], "https://mine.example");
        assert!(env_of(&back).get(CUSTOM_HEADERS).is_none());

        // The user added an env key after ours: env stays, ours go.
        let edited = applied.text.replace("\"ANTHROPIC_BASE_URL\"", "\"MINE\": \"1\",\n    \"ANTHROPIC_BASE_URL\"");
        let back = revert(&edited, &applied.prior).unwrap();
        assert_eq!(back, "{\n  \"env\": {\n    \"MINE\": \"1\"\n  }\n}");
    }

    #[test]
    fn the_hint_variable_is_set_and_the_users_own_value_comes_back() {
        let text = roundtrip("{}");
        assert_eq!(env_of(&text)[HINT_HEADERS], HINT_HEADERS_ON);
        assert_eq!(env_value(&text, HINT_HEADERS).unwrap().as_deref(), Some("1"));

        // The user's own value, whatever its spelling, is put back exactly.
        for theirs in [r#""0""#, r#""1""#, "1", r#""yes""#, "null", r#""\u0031""#] {
            let original = format!(r#"{{"env": {{"A": "b", "CLAUDE_CODE_GATEWAY_HINT_HEADERS": {theirs}}}}}"#);
            let applied = apply(&original, &gw()).unwrap();
            assert_eq!(env_of(&applied.text)[HINT_HEADERS], HINT_HEADERS_ON);
            assert_eq!(revert(&applied.text, &applied.prior).unwrap(), original);
        }

        // Changed by the user after configure: theirs now, so it stays.
        let applied = apply(r#"{"env":{"A":"b"}}"#, &gw()).unwrap();
        let edited = applied
            .text
            .replace(r#""CLAUDE_CODE_GATEWAY_HINT_HEADERS":"1""#, r#""CLAUDE_CODE_GATEWAY_HINT_HEADERS":"0""#);
        assert_eq!(
            revert(&edited, &applied.prior).unwrap(),
            r#"{"env":{"A":"b","CLAUDE_CODE_GATEWAY_HINT_HEADERS":"0"}}"#
        );
    }

    #[test]
    fn a_record_from_before_the_hint_variable_leaves_it_to_the_user() {
        // Configured by an earlier version: no hint variable, and a record without it.
        let original = r#"{"env":{"X":"1"}}"#;
        let mut old = apply(original, &gw()).unwrap();
        let json = serde_json::to_value(&old.prior).unwrap();
        let mut json = json.as_object().unwrap().clone();
        json.remove("hint_headers");
        old.prior = serde_json::from_value(Value::Object(json)).expect("an old record still reads");
        assert_eq!(old.prior.hint_headers, None);
        let old_text = old.text.replace(r#","CLAUDE_CODE_GATEWAY_HINT_HEADERS":"1""#, "");
        assert_eq!(revert(&old_text, &old.prior).unwrap(), original);

        // The user set it to "1" themselves meanwhile: an old record never takes it away.
        let theirs = old_text.replace(r#""X":"1""#, r#""X":"1","CLAUDE_CODE_GATEWAY_HINT_HEADERS":"1""#);
        assert_eq!(revert(&theirs, &old.prior).unwrap(), r#"{"env":{"X":"1","CLAUDE_CODE_GATEWAY_HINT_HEADERS":"1"}}"#);

        // Configuring again over the old record sets it, and remove then takes it out.
        let again = reapply(&old_text, &gw(), &old.prior).unwrap();
        assert_eq!(env_of(&again.text)[HINT_HEADERS], HINT_HEADERS_ON);
        assert_eq!(again.prior.hint_headers, Some(PriorValue::Absent));
        assert_eq!(revert(&again.text, &again.prior).unwrap(), original);
    }

    #[test]
    fn reapply_rotates_the_key_and_keeps_the_first_prior() {
        let original = r#"{"env":{"ANTHROPIC_BASE_URL":"https://old.example","ANTHROPIC_CUSTOM_HEADERS":"A: 1"}}"#;
        let first = apply(original, &gw()).unwrap();
        let rotated = GatewayEnv::gateway("http://127.0.0.1:5151", "ghk_secret_2");
        let second = reapply(&first.text, &rotated, &first.prior).unwrap();
        assert!(!second.text.contains(KEY));
        assert_eq!(env_of(&second.text)[CUSTOM_HEADERS], "A: 1\nx-gatehouse-key: ghk_secret_2");
        assert_eq!(second.prior.base_url, first.prior.base_url);
        assert_eq!(revert(&second.text, &second.prior).unwrap(), original);
    }

    #[test]
    fn gateway_in_reports_without_leaking_the_key() {
        assert_eq!(gateway_in("").unwrap(), None);
        assert_eq!(gateway_in(r#"{"env":{"ANTHROPIC_BASE_URL":"x"}}"#).unwrap(), None);
        let applied = apply("{}", &gw()).unwrap();
        let found = gateway_in(&applied.text).unwrap().expect("configured");
        assert_eq!(found.base_url.as_deref(), Some(URL));
        assert!(found.key.matches(KEY));
        assert!(!format!("{found:?}").contains(KEY));
        assert!(!format!("{applied:?}").contains(KEY));
        assert!(!format!("{:?}", gw()).contains(KEY));
    }

    #[test]
    fn env_value_reads_strings_and_scalars() {
        let text = r#"{"env":{"ANTHROPIC_API_KEY":"sk-1","N":3,"Z":null}}"#;
        assert_eq!(env_value(text, "ANTHROPIC_API_KEY").unwrap().as_deref(), Some("sk-1"));
        assert_eq!(env_value(text, "N").unwrap().as_deref(), Some("3"));
        assert_eq!(env_value(text, "Z").unwrap(), None);
        assert_eq!(env_value(text, "MISSING").unwrap(), None);
        assert_eq!(env_value("", "X").unwrap(), None);
        assert!(env_value(r#"{"env":[]}"#, "X").is_err());
    }

    #[test]
    fn strip_unrecorded_drops_our_line_and_only_a_loopback_url() {
        let local = r#"{"env":{"ANTHROPIC_BASE_URL":"http://localhost:4141","ANTHROPIC_CUSTOM_HEADERS":"A: 1\nx-gatehouse-key: k"}}"#;
        assert_eq!(strip_unrecorded(local).unwrap().as_deref(), Some(r#"{"env":{"ANTHROPIC_CUSTOM_HEADERS":"A: 1"}}"#));
        let remote =
            r#"{"env":{"ANTHROPIC_BASE_URL":"https://team.example","ANTHROPIC_CUSTOM_HEADERS":"x-gatehouse-key: k"}}"#;
        assert_eq!(
            strip_unrecorded(remote).unwrap().as_deref(),
            Some(r#"{"env":{"ANTHROPIC_BASE_URL":"https://team.example"}}"#)
        );
        assert_eq!(strip_unrecorded(r#"{"env":{}}"#).unwrap(), None);
        let hinted =
            r#"{"env":{"CLAUDE_CODE_GATEWAY_HINT_HEADERS":"1","ANTHROPIC_CUSTOM_HEADERS":"x-gatehouse-key: k"}}"#;
        assert_eq!(strip_unrecorded(hinted).unwrap().as_deref(), Some(r#"{"env":{}}"#));
        let theirs =
            r#"{"env":{"CLAUDE_CODE_GATEWAY_HINT_HEADERS":"0","ANTHROPIC_CUSTOM_HEADERS":"x-gatehouse-key: k"}}"#;
        assert_eq!(
            strip_unrecorded(theirs).unwrap().as_deref(),
            Some(r#"{"env":{"CLAUDE_CODE_GATEWAY_HINT_HEADERS":"0"}}"#)
        );
        // Without our key line nothing is ours.
        assert_eq!(strip_unrecorded(r#"{"env":{"CLAUDE_CODE_GATEWAY_HINT_HEADERS":"1"}}"#).unwrap(), None);
    }

    #[test]
    fn loopback_urls_are_recognised() {
        for url in ["http://127.0.0.1:1", "http://LOCALHOST/x", "http://[::1]:8/", "http://u@127.9.9.9"] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in ["https://example.com", "http://10.0.0.1", "localhost", "http://127.0.0.1.evil.com"] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn duplicate_keys_edit_the_last_occurrence() {
        let original = r#"{"env":{"A":"1"},"env":{"ANTHROPIC_BASE_URL":"a","ANTHROPIC_BASE_URL":"b"}}"#;
        let text = roundtrip(original);
        assert!(text.contains(r#"{"A":"1"}"#));
        assert_eq!(env_of(&text)[BASE_URL], URL);
    }

    #[test]
    fn deep_nesting_is_skipped_without_recursion() {
        let depth = 120;
        let original = format!("{{\"deep\": {}1{}}}", "[".repeat(depth), "]".repeat(depth));
        roundtrip(&original);
    }

    // ---- property tests ----------------------------------------------------

    #[derive(Clone, Debug)]
    enum Node {
        Null,
        Bool(bool),
        Number(String),
        Str(String),
        Array(Vec<Node>),
        Object(Vec<(String, Node)>),
    }

    #[derive(Clone, Copy, Debug)]
    struct Layout {
        indent: Option<&'static str>,
        crlf: bool,
        trailing_newline: bool,
        unicode_escapes: bool,
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        let special = prop::sample::select(vec![
            'é', '😀', '"', '\\', '/', '\n', '\r', '\t', '\u{0}', '\u{7f}', '\u{2028}', '中',
        ]);
        prop::collection::vec(prop_oneof![any::<char>(), special, prop::char::range('a', 'z')], 0..8)
            .prop_map(|parts| parts.into_iter().collect())
    }

    fn number_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            (any::<i32>(), 0u32..1000, -30i32..30).prop_map(|(i, f, e)| format!("{i}.{f:03}e{e}")),
            (any::<i16>(), 0u32..100).prop_map(|(i, f)| format!("{i}.{f}")),
            Just("-0".to_owned()),
            Just("1E+2".to_owned()),
            Just("123456789012345678901234567890".to_owned()),
        ]
    }

    fn node_strategy() -> impl Strategy<Value = Node> {
        let leaf = prop_oneof![
            Just(Node::Null),
            any::<bool>().prop_map(Node::Bool),
            number_strategy().prop_map(Node::Number),
            text_strategy().prop_map(Node::Str),
        ];
        leaf.prop_recursive(8, 64, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Node::Array),
                prop::collection::vec((text_strategy(), inner), 0..5).prop_map(Node::Object),
            ]
        })
    }

    fn headers_strategy() -> impl Strategy<Value = String> {
        (prop::collection::vec("[A-Za-z-]{1,10}: [ -~]{0,10}", 0..4), any::<bool>(), any::<bool>()).prop_map(
            |(lines, crlf, trailing)| {
                let sep = if crlf { "\r\n" } else { "\n" };
                let mut joined = lines.join(sep);
                if trailing && !joined.is_empty() {
                    joined.push_str(sep);
                }
                joined
            },
        )
    }

    fn env_strategy() -> impl Strategy<Value = Node> {
        (
            prop::collection::vec(("[A-Z_]{1,8}", text_strategy().prop_map(Node::Str)), 0..4),
            prop::option::of(text_strategy()),
            prop::option::of(headers_strategy()),
            prop::option::of(prop_oneof![
                text_strategy().prop_map(Node::Str),
                Just(Node::Str(HINT_HEADERS_ON.to_owned())),
                number_strategy().prop_map(Node::Number),
                Just(Node::Null),
            ]),
            any::<prop::sample::Index>(),
        )
            .prop_map(|(mut members, base_url, headers, hint, at)| {
                if let Some(url) = base_url {
                    let i = at.index(members.len() + 1);
                    members.insert(i, (BASE_URL.to_owned(), Node::Str(url)));
                }
                if let Some(headers) = headers {
                    let i = at.index(members.len() + 1);
                    members.insert(i, (CUSTOM_HEADERS.to_owned(), Node::Str(headers)));
                }
                if let Some(hint) = hint {
                    let i = at.index(members.len() + 1);
                    members.insert(i, (HINT_HEADERS.to_owned(), hint));
                }
                Node::Object(members)
            })
    }

    fn layout_strategy() -> impl Strategy<Value = Layout> {
        (
            prop::sample::select(vec![Some("  "), Some("    "), Some("\t"), None]),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(indent, crlf, trailing_newline, unicode_escapes)| Layout {
                indent,
                crlf,
                trailing_newline,
                unicode_escapes,
            })
    }

    fn document_strategy() -> impl Strategy<Value = String> {
        let members =
            prop::collection::vec((text_strategy().prop_filter("not env", |k| k != ENV), node_strategy()), 0..6);
        (members, prop::option::of(env_strategy()), any::<prop::sample::Index>(), layout_strategy()).prop_map(
            |(mut members, env, at, layout)| {
                if let Some(env) = env {
                    members.insert(at.index(members.len() + 1), (ENV.to_owned(), env));
                }
                let mut out = String::new();
                print(&Node::Object(members), layout, 0, &mut out);
                if layout.trailing_newline {
                    out.push_str(newline(layout));
                }
                out
            },
        )
    }

    fn newline(layout: Layout) -> &'static str {
        if layout.crlf { "\r\n" } else { "\n" }
    }

    fn print_string(text: &str, layout: Layout, out: &mut String) {
        out.push('"');
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '/' if layout.unicode_escapes => out.push_str("\\/"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 || (layout.unicode_escapes && !c.is_ascii()) => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }

    fn print(node: &Node, layout: Layout, depth: usize, out: &mut String) {
        let nl = newline(layout);
        let open_line = |out: &mut String, level: usize| {
            if let Some(unit) = layout.indent {
                out.push_str(nl);
                out.push_str(&unit.repeat(level));
            }
        };
        match node {
            Node::Null => out.push_str("null"),
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Node::Number(n) => out.push_str(n),
            Node::Str(s) => print_string(s, layout, out),
            Node::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    open_line(out, depth + 1);
                    print(item, layout, depth + 1, out);
                }
                if !items.is_empty() {
                    open_line(out, depth);
                }
                out.push(']');
            }
            Node::Object(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    open_line(out, depth + 1);
                    print_string(key, layout, out);
                    out.push_str(if layout.indent.is_some() { ": " } else { ":" });
                    print(value, layout, depth + 1, out);
                }
                if !members.is_empty() {
                    open_line(out, depth);
                }
                out.push('}');
            }
        }
    }

    fn parsed(text: &str) -> Map<String, Value> {
        match serde_json::from_str(text) {
            Ok(Value::Object(map)) => map,
            other => panic!("not an object: {other:?}"),
        }
    }

    fn without_owned(mut root: Map<String, Value>) -> Map<String, Value> {
        if let Some(Value::Object(env)) = root.get_mut(ENV) {
            env.shift_remove(BASE_URL);
            env.shift_remove(CUSTOM_HEADERS);
            env.shift_remove(HINT_HEADERS);
        }
        root
    }

    fn char_floor(text: &str, mut at: usize) -> usize {
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn revert_undoes_apply_byte_for_byte(doc in document_strategy()) {
            let applied = apply(&doc, &gw()).expect("apply accepts valid documents");
            prop_assert_eq!(revert(&applied.text, &applied.prior).expect("revert"), doc.clone());

            let rotated = GatewayEnv::gateway("http://localhost:9", "other");
            let again = reapply(&applied.text, &rotated, &applied.prior).expect("reapply");
            prop_assert_eq!(revert(&again.text, &again.prior).expect("revert"), doc);
        }

        #[test]
        fn apply_keeps_everything_it_does_not_own(doc in document_strategy()) {
            let applied = apply(&doc, &gw()).expect("apply");
            let before = parsed(&doc);
            let after = parsed(&applied.text);
            let others = |map: &Map<String, Value>| -> Vec<(String, Value)> {
                map.iter().filter(|(k, _)| *k != ENV).map(|(k, v)| (k.clone(), v.clone())).collect()
            };
            prop_assert_eq!(others(&before), others(&after));

            let env = after[ENV].as_object().expect("env");
            prop_assert_eq!(env[BASE_URL].as_str(), Some(URL));
            prop_assert_eq!(env[HINT_HEADERS].as_str(), Some(HINT_HEADERS_ON));
            let headers = env[CUSTOM_HEADERS].as_str().expect("headers");
            let user_lines: Vec<&str> = header_lines(headers).filter(|l| gatehouse_key_value(l).is_none()).collect();
            let prior_headers = before.get(ENV).and_then(|e| e.get(CUSTOM_HEADERS)).and_then(Value::as_str).unwrap_or("");
            let prior_lines: Vec<&str> = header_lines(prior_headers).collect();
            prop_assert_eq!(user_lines, prior_lines);
            prop_assert!(gateway_in(&applied.text).expect("status").is_some_and(|g| g.key.matches(KEY)));

            let before_env = without_owned(before).remove(ENV);
            let after_env = without_owned(after).remove(ENV);
            if let Some(before_env) = before_env {
                prop_assert_eq!(Some(before_env), after_env);
            }
        }

        #[test]
        fn revert_keeps_edits_made_after_apply(doc in document_strategy(), value in text_strategy()) {
            let applied = apply(&doc, &gw()).expect("apply");
            let close = applied.text.rfind('}').expect("object");
            let mut edited = applied.text.clone();
            edited.insert_str(close, &format!(",\"gatehouse-test-added\":{}", json_string(&value)));
            let back = revert(&edited, &applied.prior).expect("revert");
            let mut expected = if is_blank(&doc) { Map::new() } else { parsed(&doc) };
            expected.insert("gatehouse-test-added".to_owned(), Value::String(value));
            prop_assert_eq!(parsed(&back), expected);
        }

        #[test]
        fn invalid_documents_are_refused(doc in document_strategy(), cut in any::<prop::sample::Index>(), stray in any::<prop::sample::Index>(), c in prop::sample::select(vec!['}', ',', ':', 'x', '"', '[', '#'])) {
            let trimmed = doc.trim_end();
            let truncated = &trimmed[..char_floor(trimmed, cut.index(trimmed.len()))];
            if !is_blank(truncated) {
                let refused = matches!(apply(truncated, &gw()), Err(SettingsError::InvalidJson { .. }));
                prop_assert!(refused);
            }
            let mut spoiled = doc.clone();
            spoiled.insert(char_floor(&doc, stray.index(doc.len() + 1)), c);
            if serde_json::from_str::<Value>(&spoiled).is_err() {
                let refused = matches!(apply(&spoiled, &gw()), Err(SettingsError::InvalidJson { .. }));
                prop_assert!(refused);
            }
        }
    }
}
