//! The Pigsty inventory's `etcd` group: hosts, `etcd_seq`, the ten parameters (plus Pigsty 3.6+
//! `etcd_learner` and 4.0 `etcd_root_password`) with Ansible's precedence, and validation whose
//! every finding carries `FILE:LINE:COLUMN` and how to fix it.
//!
//! Both shapes are read: a top-level `etcd:` group (as in the Pigsty docs) and a full Pigsty file
//! (`all: { vars: ..., children: { etcd: ... } }`). Precedence: `-e` extra vars > host vars >
//! `etcd.vars` > `all.vars` > defaults.
//!
//! Values come from serde_yaml; positions from yaml-rust2's marked events (`locate.rs`). The
//! rules live in `validate.rs`, the `inventory show` table in `show.rs`, the membership edits that
//! keep the rest of the file byte for byte in `edit.rs`.
//!
//! Findings about `-e` values have the file `-e` and line and column 0 (no position); they print
//! as `-e: error: MESSAGE`.

pub mod edit;
mod locate;
mod show;
mod validate;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};
use serde_yaml::Value;

use crate::text::escape;

pub use edit::{apply, commented_seqs, next_seq, write, Edit, EditError, Edited};
pub use show::{show_text, value_of};

/// The example inventory shipped with etcdeck (three members, Pigsty defaults); the demo starts it.
pub const EXAMPLE: &str = include_str!("../../inventory.example.yml");

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The inventory cannot be used until it is fixed.
    Error,
    /// Usable, but probably not what was meant.
    Warning,
}

/// One finding about the inventory, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The inventory file as given, or `-e` for a finding about an extra var.
    pub file: String,
    /// 1-based line; 0 when there is no position (`-e`).
    pub line: usize,
    /// 1-based column; 0 when there is no position (`-e`).
    pub column: usize,
    /// What is wrong, in an operator's words.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    /// `FILE:LINE:COLUMN: error: MESSAGE` (`FILE: error: MESSAGE` without a position), then
    /// `  hint: HINT` on a second line when there is a hint; every part escaped
    /// ([`crate::text::escape`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        // Messages quote the file's keys and values: escaped here, once, for every output.
        let (file, message) = (escape(&self.file), escape(&self.message));
        if self.line == 0 {
            write!(f, "{file}: {level}: {message}")?;
        } else {
            write!(
                f,
                "{file}:{}:{}: {level}: {message}",
                self.line, self.column
            )?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {}", escape(h))?;
        }
        Ok(())
    }
}

/// Where an effective value came from, lowest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Pigsty's default.
    Default,
    /// `all.vars`.
    All,
    /// The `etcd` group's `vars`.
    Group,
    /// The host's own variables.
    Host,
    /// An extra var given with `-e`.
    Extra,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Default => "default",
            Origin::All => "all.vars",
            Origin::Group => "etcd.vars",
            Origin::Host => "host",
            Origin::Extra => "-e",
        })
    }
}

/// `etcd_init`: create a new cluster or join an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EtcdInit {
    /// `initial-cluster-state: new`: the members bootstrap a cluster together.
    New,
    /// `initial-cluster-state: existing`: a member joins a running cluster.
    Existing,
}

impl fmt::Display for EtcdInit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EtcdInit::New => "new",
            EtcdInit::Existing => "existing",
        })
    }
}

/// The effective parameters of one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Params {
    /// Cluster name and initial-cluster-token; members are named `<etcd_cluster>-<etcd_seq>`.
    pub etcd_cluster: String,
    /// Refuse to purge a running member.
    pub etcd_safeguard: bool,
    /// Remove an existing member when (re)initialising (dropped in Pigsty 3.6).
    pub etcd_clean: bool,
    /// Data directory.
    pub etcd_data: String,
    /// Client port.
    pub etcd_port: u16,
    /// Peer port.
    pub etcd_peer_port: u16,
    /// Initial cluster state.
    pub etcd_init: EtcdInit,
    /// Election timeout in milliseconds.
    pub etcd_election_timeout: u32,
    /// Heartbeat interval in milliseconds.
    pub etcd_heartbeat_interval: u32,
    /// Pigsty 3.6+: new members join as learners first.
    pub etcd_learner: bool,
    /// Pigsty 4.0: password of the etcd user `root` (auth on). Serialized as `"***"` or null.
    #[serde(serialize_with = "mask")]
    pub etcd_root_password: Option<String>,
}

fn mask<S: Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str("***"),
        None => s.serialize_none(),
    }
}

impl Default for Params {
    /// Pigsty's defaults.
    fn default() -> Self {
        Params {
            etcd_cluster: "etcd".into(),
            etcd_safeguard: false,
            etcd_clean: true,
            etcd_data: "/data/etcd".into(),
            etcd_port: 2379,
            etcd_peer_port: 2380,
            etcd_init: EtcdInit::New,
            etcd_election_timeout: 1000,
            etcd_heartbeat_interval: 100,
            etcd_learner: false,
            etcd_root_password: None,
        }
    }
}

/// Every parameter etcdeck knows, `etcd_seq` first, in the order of Pigsty's docs.
pub const PARAMS: &[&str] = &[
    "etcd_seq",
    "etcd_cluster",
    "etcd_safeguard",
    "etcd_clean",
    "etcd_data",
    "etcd_port",
    "etcd_peer_port",
    "etcd_init",
    "etcd_election_timeout",
    "etcd_heartbeat_interval",
    "etcd_learner",
    "etcd_root_password",
];

/// One member of the `etcd` group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The host key: its IP address.
    pub ip: IpAddr,
    /// `etcd_seq`.
    pub seq: u32,
    /// The effective parameters.
    pub params: Params,
    /// Where each effective parameter came from, by name (`etcd_seq` is always `Host`).
    pub origins: BTreeMap<String, Origin>,
    /// Line of the host key in the file.
    pub line: usize,
}

impl Host {
    /// `<etcd_cluster>-<etcd_seq>`, e.g. `etcd-1`.
    pub fn name(&self) -> String {
        format!("{}-{}", self.params.etcd_cluster, self.seq)
    }

    fn url(&self, port: u16) -> String {
        match self.ip {
            IpAddr::V4(ip) => format!("https://{ip}:{port}"),
            IpAddr::V6(ip) => format!("https://[{ip}]:{port}"),
        }
    }

    /// `https://<ip>:<etcd_port>` (IPv6 in brackets).
    pub fn client_url(&self) -> String {
        self.url(self.params.etcd_port)
    }

    /// `https://<ip>:<etcd_peer_port>` (IPv6 in brackets).
    pub fn peer_url(&self) -> String {
        self.url(self.params.etcd_peer_port)
    }
}

impl Serialize for Host {
    /// The fields, plus `name`, `client_url` and `peer_url`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            seq: u32,
            ip: IpAddr,
            name: String,
            client_url: String,
            peer_url: String,
            line: usize,
            params: &'a Params,
            origins: &'a BTreeMap<String, Origin>,
        }
        View {
            seq: self.seq,
            ip: self.ip,
            name: self.name(),
            client_url: self.client_url(),
            peer_url: self.peer_url(),
            line: self.line,
            params: &self.params,
            origins: &self.origins,
        }
        .serialize(s)
    }
}

/// The `etcd` group of an inventory, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// The file as given.
    pub file: String,
    /// Sorted by `etcd_seq`.
    pub hosts: Vec<Host>,
    /// Warnings (a parsed inventory has no errors).
    pub diagnostics: Vec<Diagnostic>,
}

impl Inventory {
    /// The cluster name (`etcd_cluster`, the same on every host), `etcd` when there are no hosts.
    pub fn cluster(&self) -> &str {
        self.hosts
            .first()
            .map_or("etcd", |h| h.params.etcd_cluster.as_str())
    }

    /// Client URLs of every host, in `etcd_seq` order.
    pub fn client_urls(&self) -> Vec<String> {
        self.hosts.iter().map(Host::client_url).collect()
    }

    /// The warnings found.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }
}

/// Split `KEY=VALUE` as given to `-e`.
pub fn parse_extra_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err("expected KEY=VALUE, e.g. -e etcd_init=existing".into()),
    }
}

/// Which inventory to read: `flag` (`-i`), else `$ETCDECK_INVENTORY`, else `./pigsty.yml`, else
/// `~/pigsty/pigsty.yml`. The error lists what was tried and how to name one.
pub fn resolve_path(flag: Option<&Path>) -> Result<PathBuf, String> {
    resolve_from(
        flag,
        std::env::var_os("ETCDECK_INVENTORY"),
        Path::new("pigsty.yml"),
        std::env::var_os("HOME").map(PathBuf::from).as_deref(),
    )
}

/// [`resolve_path`] with its surroundings given, for tests.
fn resolve_from(
    flag: Option<&Path>,
    env: Option<OsString>,
    here: &Path,
    home: Option<&Path>,
) -> Result<PathBuf, String> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = env.filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let mut tried = vec![here.to_path_buf()];
    if let Some(home) = home {
        tried.push(home.join("pigsty").join("pigsty.yml"));
    }
    if let Some(found) = tried.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let mut list = vec![
        "-i (not given)".to_string(),
        "$ETCDECK_INVENTORY (not set)".into(),
    ];
    list.extend(
        tried
            .iter()
            .map(|p| format!("{} (no such file)", p.display())),
    );
    if home.is_none() {
        list.push("~/pigsty/pigsty.yml ($HOME not set)".into());
    }
    Err(format!(
        "no inventory found; tried {}. Pass one with -i FILE or set ETCDECK_INVENTORY=FILE",
        list.join(", ")
    ))
}

/// Read and parse the inventory at `path`. A file that cannot be read (missing, not a regular
/// file, larger than [`crate::input::INVENTORY_LIMIT`]) gives one error at `FILE:1:1` saying
/// why; a byte that is not UTF-8 one error at its own line and column.
pub fn load(path: &Path, extra_vars: &[(String, String)]) -> Result<Inventory, Vec<Diagnostic>> {
    let file = path.display().to_string();
    let error = |line, column, message, hint: &str| {
        Err(vec![Diagnostic {
            severity: Severity::Error,
            file: file.clone(),
            line,
            column,
            message,
            hint: Some(hint.into()),
        }])
    };
    let bytes = match crate::input::read(path, crate::input::INVENTORY_LIMIT, "an inventory") {
        Ok(b) => b,
        Err(e) => {
            return error(
                1,
                1,
                format!("cannot read the inventory: {e}"),
                "check the path given with -i or ETCDECK_INVENTORY, and that you may read it",
            )
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => parse(&text, &file, extra_vars),
        Err(e) => {
            let bytes = e.as_bytes();
            let at = e.utf8_error().valid_up_to();
            let (line, column) = position_of(bytes, at);
            error(
                line,
                column,
                format!(
                    "byte 0x{:02x} is not UTF-8; YAML inventories are UTF-8 text",
                    bytes[at]
                ),
                "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
            )
        }
    }
}

/// The first character YAML forbids (C0 controls but tab, line feed and carriage return; DEL;
/// C1 controls but NEL), with its 1-based line and column.
fn first_control(text: &str) -> Option<(usize, usize, char)> {
    let (at, c) = text.char_indices().find(|&(_, c)| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{85}'))
            || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    })?;
    let (line, column) = position_of(text.as_bytes(), at);
    Some((line, column, c))
}

/// The 1-based line and column (in characters) of byte offset `at` in `bytes`, whose bytes
/// before `at` are UTF-8.
fn position_of(bytes: &[u8], at: usize) -> (usize, usize) {
    let before = &bytes[..at];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Parse inventory text; `file` names it in diagnostics. `Err` carries every finding (errors and
/// warnings, by position, `-e` findings last) when there is at least one error; `Ok` carries the
/// warnings in [`Inventory::diagnostics`].
///
/// Extra vars (`-e`) beat every value in the file. Their values are read as YAML scalars
/// (`etcd_port=2479` is a number, `etcd_init=existing` a string), except the text parameters
/// `etcd_cluster`, `etcd_data` and `etcd_root_password`, which keep the text as given.
pub fn parse(
    text: &str,
    file: &str,
    extra_vars: &[(String, String)],
) -> Result<Inventory, Vec<Diagnostic>> {
    let too_deep = |(line, column)| {
        Err(vec![Diagnostic {
            severity: Severity::Error,
            file: file.to_string(),
            line,
            column,
            message: format!(
                "YAML nested deeper than {} levels; an inventory needs fewer than ten",
                locate::MAX_DEPTH
            ),
            hint: Some(
                "this is not an inventory: check that the right file was given, or flatten the nesting"
                    .into(),
            ),
        }])
    };
    // The position pass streams yaml-rust2's events and stops at the depth limit (deep flow
    // nesting is refused before it, by a linear scan): serde_yaml, which holds every event of
    // the document before it checks depth, never sees a document nested too deep.
    let index = locate::Index::new(text);
    if let Some(at) = index.too_deep() {
        return too_deep(at);
    }
    let mut root: Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => return Err(vec![syntax_error(text, file, &index, &e)]),
    };
    let mut c = validate::Checker::new(file, &index);
    if let Err(e) = root.apply_merge() {
        let pos = index.first_key_named("<<").unwrap_or((1, 1));
        c.at(
            Severity::Error,
            pos,
            format!("YAML merge key `<<` cannot be applied: {e}"),
            Some("`<<:` takes a mapping or a list of mappings, e.g. <<: *defaults".into()),
        );
        return Err(c.diags);
    }
    let hosts = c.check(&root, extra_vars);
    let mut diags = c.diags;
    diags.sort_by_key(|d| (d.line == 0, d.line, d.column));
    if diags.iter().any(|d| d.severity == Severity::Error) {
        return Err(diags);
    }
    Ok(Inventory {
        file: file.to_string(),
        hosts,
        diagnostics: diags,
    })
}

/// A document serde_yaml refuses, at the place it names.
fn syntax_error(
    text: &str,
    file: &str,
    index: &locate::Index,
    e: &serde_yaml::Error,
) -> Diagnostic {
    let full = e.to_string();
    let located = e.location().map(|l| (l.line(), l.column()));
    if full.contains("duplicate entry") {
        if let Some(d) = index.first_duplicate() {
            let key = d.path.last().map_or("", String::as_str);
            let parent = d.path[..d.path.len().saturating_sub(1)].join(".");
            let within = if parent.is_empty() {
                String::new()
            } else {
                format!(" in {parent}")
            };
            return Diagnostic {
                severity: Severity::Error,
                file: file.to_string(),
                line: d.second.0,
                column: d.second.1,
                message: format!("`{key}` is written twice{within} (first on line {})", d.first.0),
                hint: Some(
                    "keep one of them: YAML keys are unique in a mapping (Ansible would silently use the last)"
                        .into(),
                ),
            };
        }
    }
    if full.contains("control characters are not allowed") {
        if let Some((line, column, c)) = first_control(text) {
            return Diagnostic {
                severity: Severity::Error,
                file: file.to_string(),
                line,
                column,
                message: format!(
                    "YAML syntax: control character U+{:04X} is not allowed in YAML text",
                    c as u32
                ),
                hint: Some("remove it: YAML text holds no control characters".into()),
            };
        }
    }
    if full.contains("repetition limit exceeded") {
        let (line, column) = index.first_alias().unwrap_or((1, 1));
        return Diagnostic {
            severity: Severity::Error,
            file: file.to_string(),
            line,
            column,
            message: "YAML aliases (`*name`) expand past the limit (an alias bomb: each alias repeats an anchor that holds aliases)".into(),
            hint: Some(
                "an inventory needs few aliases: write the values out, or use `<<: *defaults` once per host"
                    .into(),
            ),
        };
    }
    let (line, column) = located.unwrap_or((1, 1));
    // The position is in the diagnostic; keep the rest (e.g. "while parsing a flow mapping at
    // line 3 column 18" says where an unclosed brace opened).
    let message = match located {
        Some((l, c)) => full.replacen(&format!(" at line {l} column {c}"), "", 1),
        None => full,
    };
    let at_tab = text
        .lines()
        .nth(line.saturating_sub(1))
        .and_then(|l| l.chars().nth(column.saturating_sub(1)))
        == Some('\t');
    let hint = if at_tab {
        "YAML indents with spaces only: replace the tab"
    } else if message.contains("more than one document") {
        "keep the inventory in one YAML document (no `---` between groups)"
    } else {
        "check the indentation and that every `{`, `[` and quote is closed"
    };
    Diagnostic {
        severity: Severity::Error,
        file: file.to_string(),
        line,
        column,
        message: format!("YAML syntax: {message}"),
        hint: Some(hint.into()),
    }
}

#[cfg(test)]
mod tests;
