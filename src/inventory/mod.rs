//! The Pigsty inventory's `etcd` group: hosts, `etcd_seq`, the ten parameters (plus Pigsty 3.6+
//! `etcd_learner` and 4.0 `etcd_root_password`) with Ansible's precedence, and validation whose
//! every finding carries `FILE:LINE:COLUMN` and how to fix it.
//!
//! Both shapes are read: a top-level `etcd:` group (as in the Pigsty docs) and a full Pigsty file
//! (`all: { vars: ..., children: { etcd: ... } }`). Precedence: `-e` extra vars > host vars >
//! `etcd.vars` > `all.vars` > defaults.

mod locate;
mod show;

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};
use serde_yaml::Value;

pub use locate::Pos;
pub use show::show_text;

/// The example inventory shipped with etcdeck; the demo starts it.
pub const EXAMPLE: &str = include_str!("../../inventory.example.yml");

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding about the inventory. `line` 0 means "no position" (e.g. a `-e` value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.line == 0 {
            write!(f, "{}: {level}: {}", self.file, self.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: {level}: {}",
                self.file, self.line, self.column, self.message
            )?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// Where an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Default,
    All,
    Group,
    Host,
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
    New,
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
    pub etcd_cluster: String,
    pub etcd_safeguard: bool,
    pub etcd_clean: bool,
    pub etcd_data: String,
    pub etcd_port: u16,
    pub etcd_peer_port: u16,
    pub etcd_init: EtcdInit,
    pub etcd_election_timeout: u32,
    pub etcd_heartbeat_interval: u32,
    pub etcd_learner: bool,
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

/// Every parameter etcdeck knows, `etcd_seq` first.
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
    pub ip: IpAddr,
    pub seq: u32,
    pub params: Params,
    /// Where each effective parameter came from.
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

    /// `https://<ip>:<etcd_port>`.
    pub fn client_url(&self) -> String {
        self.url(self.params.etcd_port)
    }

    /// `https://<ip>:<etcd_peer_port>`.
    pub fn peer_url(&self) -> String {
        self.url(self.params.etcd_peer_port)
    }
}

impl Serialize for Host {
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

/// The `etcd` group of an inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inventory {
    pub file: String,
    /// Sorted by `etcd_seq`.
    pub hosts: Vec<Host>,
    /// Warnings (a parsed inventory has no errors).
    pub diagnostics: Vec<Diagnostic>,
}

impl Inventory {
    /// The cluster name (`etcd_cluster`), `etcd` when there are no hosts.
    pub fn cluster(&self) -> &str {
        self.hosts
            .first()
            .map_or("etcd", |h| h.params.etcd_cluster.as_str())
    }

    /// Client URLs of every host.
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

/// Split `KEY=VALUE` from `-e`.
pub fn parse_extra_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!(
            "expected KEY=VALUE, e.g. -e etcd_init=existing, got {s:?}"
        )),
    }
}

/// Which inventory to read: `flag`, else `$ETCDECK_INVENTORY`, else `./pigsty.yml`, else
/// `~/pigsty/pigsty.yml`.
pub fn resolve_path(flag: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("ETCDECK_INVENTORY").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let mut tried = vec![PathBuf::from("pigsty.yml")];
    if let Some(home) = std::env::var_os("HOME") {
        tried.push(PathBuf::from(home).join("pigsty").join("pigsty.yml"));
    }
    if let Some(found) = tried.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    Err(format!(
        "no inventory found (tried {}); pass -i FILE or set ETCDECK_INVENTORY",
        list.join(", ")
    ))
}

/// Read and parse the inventory at `path`.
pub fn load(path: &Path, extra_vars: &[(String, String)]) -> Result<Inventory, Vec<Diagnostic>> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, &file, extra_vars),
        Err(e) => Err(vec![Diagnostic {
            severity: Severity::Error,
            file,
            line: 1,
            column: 1,
            message: format!("cannot read the inventory: {e}"),
            hint: Some(
                "check the path given with -i or ETCDECK_INVENTORY, and that you may read it"
                    .into(),
            ),
        }]),
    }
}

/// Parse inventory text. `Err` carries every finding (errors and warnings) when there is at least
/// one error; `Ok` carries the warnings in [`Inventory::diagnostics`].
pub fn parse(
    text: &str,
    file: &str,
    extra_vars: &[(String, String)],
) -> Result<Inventory, Vec<Diagnostic>> {
    let root: Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            let message = e.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_string();
            return Err(vec![Diagnostic {
                severity: Severity::Error,
                file: file.to_string(),
                line,
                column,
                message: format!("YAML syntax: {message}"),
                hint: Some("check indentation and that every `{`/`[` is closed".into()),
            }]);
        }
    };
    let mut c = Checker {
        file: file.to_string(),
        index: locate::Index::new(text),
        diags: Vec::new(),
    };
    let hosts = c.check(&root, extra_vars);
    c.diags.sort_by_key(|d| (d.line == 0, d.line, d.column));
    if c.diags.iter().any(|d| d.severity == Severity::Error) {
        return Err(c.diags);
    }
    Ok(Inventory {
        file: file.to_string(),
        hosts,
        diagnostics: c.diags,
    })
}

/// One layer of variables: where it sits and its values.
struct Layer {
    origin: Origin,
    path: Vec<String>,
    vars: Vec<(String, Value)>,
}

struct Checker {
    file: String,
    index: locate::Index,
    diags: Vec<Diagnostic>,
}

/// A checked value, or why not.
enum Checked {
    Str(String),
    Bool(bool),
    Int(u64),
    Init(EtcdInit),
}

impl Checker {
    fn at(&mut self, severity: Severity, pos: Pos, message: String, hint: Option<&str>) {
        self.diags.push(Diagnostic {
            severity,
            file: self.file.clone(),
            line: pos.0,
            column: pos.1,
            message,
            hint: hint.map(str::to_string),
        });
    }

    fn pos_value(&self, path: &[String]) -> Pos {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        self.index.value(&p)
    }

    fn pos_key(&self, path: &[String]) -> Pos {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        self.index.key(&p)
    }

    fn check(&mut self, root: &Value, extra_vars: &[(String, String)]) -> Vec<Host> {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
        let (group, group_path, all_vars) = if let Some(g) = root.get("etcd") {
            (g, s(&["etcd"]), None)
        } else if let Some(g) = root
            .get("all")
            .and_then(|a| a.get("children"))
            .and_then(|c| c.get("etcd"))
        {
            (
                g,
                s(&["all", "children", "etcd"]),
                root.get("all").and_then(|a| a.get("vars")),
            )
        } else {
            self.at(
                Severity::Error,
                (1, 1),
                "no `etcd` group: expected a top-level `etcd:` or `all: children: etcd:`".into(),
                Some("define the group as in Pigsty's docs: etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } }, vars: { etcd_cluster: etcd } }"),
            );
            return Vec::new();
        };

        let mut layers = Vec::new();
        if let Some(vars) = all_vars {
            layers.push(self.layer(Origin::All, s(&["all", "vars"]), vars, false));
        }
        if let Some(vars) = group.get("vars") {
            let mut p = group_path.clone();
            p.push("vars".into());
            layers.push(self.layer(Origin::Group, p, vars, false));
        }
        let extra = self.extra_layer(extra_vars);

        let mut hosts_path = group_path.clone();
        hosts_path.push("hosts".into());
        let host_map = match group.get("hosts").and_then(Value::as_mapping) {
            Some(m) if !m.is_empty() => m,
            _ => {
                let pos = self.pos_key(&hosts_path);
                self.at(
                    Severity::Error,
                    pos,
                    "the etcd group has no hosts".into(),
                    Some("add hosts keyed by IP, each with its etcd_seq: hosts: { 10.10.10.10: { etcd_seq: 1 } }"),
                );
                return Vec::new();
            }
        };

        let mut hosts: Vec<Host> = Vec::new();
        let mut seqs: BTreeMap<u32, (String, usize)> = BTreeMap::new();
        let mut clusters: Option<(String, String)> = None;
        for (key, vars) in host_map {
            let key_text = match key {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => serde_yaml::to_string(other)
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            };
            let mut hpath = hosts_path.clone();
            hpath.push(key_text.clone());
            let host_pos = self.pos_key(&hpath);
            let ip = match key_text.parse::<IpAddr>() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    self.at(
                        Severity::Error,
                        host_pos,
                        format!("host key `{key_text}` is not an IP address"),
                        Some("Pigsty keys hosts by IP address (e.g. 10.10.10.10); put names in variables instead"),
                    );
                    None
                }
            };
            let host_layer = match vars {
                Value::Null => Layer {
                    origin: Origin::Host,
                    path: hpath.clone(),
                    vars: Vec::new(),
                },
                Value::Mapping(_) => self.layer(Origin::Host, hpath.clone(), vars, true),
                _ => {
                    self.at(
                        Severity::Error,
                        self.pos_value(&hpath),
                        format!("host `{key_text}`: expected a mapping of variables"),
                        Some("write the host as `10.10.10.10: { etcd_seq: 1 }`"),
                    );
                    continue;
                }
            };

            let seq = match host_layer.vars.iter().find(|(k, _)| k == "etcd_seq") {
                None => {
                    self.at(
                        Severity::Error,
                        host_pos,
                        format!("host {key_text} has no etcd_seq"),
                        Some("give every member a unique integer identity that is never reused: { etcd_seq: N }"),
                    );
                    None
                }
                Some((_, v)) => {
                    let mut p = hpath.clone();
                    p.push("etcd_seq".into());
                    let pos = self.pos_value(&p);
                    match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                        Some(n) => Some((n, pos)),
                        None => {
                            self.at(
                                Severity::Error,
                                pos,
                                format!("etcd_seq of {key_text} must be an integer >= 0, got {}", show(v)),
                                Some("etcd_seq is the member's number: etcd_seq: 1 gives the name etcd-1"),
                            );
                            None
                        }
                    }
                }
            };

            let mut stack: Vec<&Layer> = layers.iter().collect();
            stack.push(&host_layer);
            stack.push(&extra);
            let (params, origins) = self.effective(&stack);

            if let Some((seq, pos)) = seq {
                if let Some((first_host, first_line)) = seqs.get(&seq) {
                    self.at(
                        Severity::Error,
                        pos,
                        format!("duplicate etcd_seq {seq}: host {first_host} on line {first_line} has it too"),
                        Some("etcd_seq must be unique in the cluster and is never reused: pick an unused number"),
                    );
                } else {
                    seqs.insert(seq, (key_text.clone(), pos.0));
                }
            }
            match &clusters {
                None => clusters = Some((params.etcd_cluster.clone(), key_text.clone())),
                Some((first, first_host)) if *first != params.etcd_cluster => {
                    let at = self.origin_pos(&stack, "etcd_cluster", host_pos);
                    self.at(
                        Severity::Error,
                        at,
                        format!(
                            "host {key_text} is in etcd_cluster `{}` but {first_host} is in `{first}`",
                            params.etcd_cluster
                        ),
                        Some("all members of the etcd group form one cluster: set etcd_cluster once in etcd.vars"),
                    );
                }
                _ => {}
            }
            if params.etcd_port == params.etcd_peer_port {
                let at = self.origin_pos(&stack, "etcd_peer_port", host_pos);
                self.at(
                    Severity::Error,
                    at,
                    format!(
                        "host {key_text}: etcd_port and etcd_peer_port are both {}",
                        params.etcd_port
                    ),
                    Some("clients and peers need different ports (Pigsty: 2379 and 2380)"),
                );
            }
            if params.etcd_election_timeout < 5 * params.etcd_heartbeat_interval {
                let at = self.origin_pos(&stack, "etcd_election_timeout", host_pos);
                self.at(
                    Severity::Error,
                    at,
                    format!(
                        "host {key_text}: etcd_election_timeout {} is less than 5 x etcd_heartbeat_interval {}; etcd refuses to start",
                        params.etcd_election_timeout, params.etcd_heartbeat_interval
                    ),
                    Some("keep the election timeout at least 5 (Pigsty: 10) times the heartbeat: 1000 and 100"),
                );
            }
            if let (Some(ip), Some((seq, _))) = (ip, seq) {
                hosts.push(Host {
                    ip,
                    seq,
                    params,
                    origins,
                    line: host_pos.0,
                });
            }
        }

        let n = host_map.len();
        if n > 1 && n.is_multiple_of(2) {
            let pos = self.pos_key(&hosts_path);
            self.at(
                Severity::Warning,
                pos,
                format!(
                    "{n} members tolerate no more failures than {}; use an odd number",
                    n - 1
                ),
                Some("3 members survive 1 failure, 5 survive 2; learners do not count"),
            );
        }
        hosts.sort_by_key(|h| h.seq);
        hosts
    }

    /// Position of the value of `key` in the layer that sets it, else `fallback`.
    fn origin_pos(&self, stack: &[&Layer], key: &str, fallback: Pos) -> Pos {
        for layer in stack.iter().rev() {
            if layer.vars.iter().any(|(k, _)| k == key) {
                if layer.origin == Origin::Extra {
                    return fallback;
                }
                let mut p = layer.path.clone();
                p.push(key.to_string());
                return self.pos_value(&p);
            }
        }
        fallback
    }

    /// Collect the `etcd_*` variables of one layer, warning about unknown ones.
    fn layer(&mut self, origin: Origin, path: Vec<String>, vars: &Value, host: bool) -> Layer {
        let mut out = Vec::new();
        if let Some(map) = vars.as_mapping() {
            for (k, v) in map {
                let Some(k) = k.as_str() else { continue };
                if !k.starts_with("etcd_") {
                    continue;
                }
                let mut p = path.clone();
                p.push(k.to_string());
                if !PARAMS.contains(&k) {
                    let hint = closest(k).map(|c| format!("did you mean {c}?"));
                    let pos = self.pos_key(&p);
                    self.at(
                        Severity::Warning,
                        pos,
                        format!("unknown parameter {k} is ignored"),
                        hint.as_deref(),
                    );
                    continue;
                }
                if k == "etcd_seq" && !host {
                    let pos = self.pos_key(&p);
                    self.at(
                        Severity::Error,
                        pos,
                        "etcd_seq is set for a whole group; it belongs to each host".into(),
                        Some("move etcd_seq to the hosts: 10.10.10.10: { etcd_seq: 1 }"),
                    );
                    continue;
                }
                out.push((k.to_string(), v.clone()));
            }
        }
        Layer {
            origin,
            path,
            vars: out,
        }
    }

    fn extra_layer(&mut self, extra: &[(String, String)]) -> Layer {
        let mut vars = Vec::new();
        for (k, v) in extra {
            if !k.starts_with("etcd_") || k == "etcd_seq" || !PARAMS.contains(&k.as_str()) {
                if k.starts_with("etcd_") {
                    self.diags.push(Diagnostic {
                        severity: Severity::Warning,
                        file: format!("-e {k}={v}"),
                        line: 0,
                        column: 0,
                        message: format!("{k} is not a cluster parameter etcdeck uses; ignored"),
                        hint: closest(k).map(|c| format!("did you mean {c}?")),
                    });
                }
                continue;
            }
            let value: Value = serde_yaml::from_str(v).unwrap_or_else(|_| Value::String(v.clone()));
            vars.push((k.clone(), value));
        }
        Layer {
            origin: Origin::Extra,
            path: Vec::new(),
            vars,
        }
    }

    /// Effective parameters from the layers, lowest first; invalid values reported once each.
    fn effective(&mut self, stack: &[&Layer]) -> (Params, BTreeMap<String, Origin>) {
        let mut p = Params::default();
        let mut origins: BTreeMap<String, Origin> = PARAMS[1..]
            .iter()
            .map(|k| (k.to_string(), Origin::Default))
            .collect();
        origins.insert("etcd_seq".into(), Origin::Host);
        for layer in stack {
            for (k, v) in &layer.vars {
                if k == "etcd_seq" {
                    continue;
                }
                let Some(checked) = self.check_value(layer, k, v) else {
                    continue;
                };
                match (k.as_str(), checked) {
                    ("etcd_cluster", Checked::Str(s)) => p.etcd_cluster = s,
                    ("etcd_data", Checked::Str(s)) => p.etcd_data = s,
                    ("etcd_root_password", Checked::Str(s)) => p.etcd_root_password = Some(s),
                    ("etcd_safeguard", Checked::Bool(b)) => p.etcd_safeguard = b,
                    ("etcd_clean", Checked::Bool(b)) => p.etcd_clean = b,
                    ("etcd_learner", Checked::Bool(b)) => p.etcd_learner = b,
                    ("etcd_port", Checked::Int(n)) => p.etcd_port = n as u16,
                    ("etcd_peer_port", Checked::Int(n)) => p.etcd_peer_port = n as u16,
                    ("etcd_election_timeout", Checked::Int(n)) => {
                        p.etcd_election_timeout = n as u32
                    }
                    ("etcd_heartbeat_interval", Checked::Int(n)) => {
                        p.etcd_heartbeat_interval = n as u32
                    }
                    ("etcd_init", Checked::Init(i)) => p.etcd_init = i,
                    _ => continue,
                }
                origins.insert(k.clone(), layer.origin);
            }
        }
        (p, origins)
    }

    /// Check one value; on error, report it (once per place) and return `None`.
    fn check_value(&mut self, layer: &Layer, key: &str, v: &Value) -> Option<Checked> {
        let result = match key {
            "etcd_cluster" => match v.as_str() {
                Some(s)
                    if !s.is_empty()
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) =>
                {
                    Ok(Checked::Str(s.to_string()))
                }
                _ => Err((
                    "a name of letters, digits, `-`, `_` or `.`",
                    "etcd_cluster: etcd",
                )),
            },
            "etcd_data" => match v.as_str() {
                Some(s) if s.starts_with('/') => Ok(Checked::Str(s.to_string())),
                _ => Err(("an absolute path", "etcd_data: /data/etcd")),
            },
            "etcd_root_password" => match v {
                Value::String(s) => Ok(Checked::Str(s.clone())),
                Value::Number(n) => Ok(Checked::Str(n.to_string())),
                _ => Err(("a string", "etcd_root_password: Etcd.Root")),
            },
            "etcd_safeguard" | "etcd_clean" | "etcd_learner" => match as_bool(v) {
                Some(b) => Ok(Checked::Bool(b)),
                None => Err(("true or false", "etcd_safeguard: true")),
            },
            "etcd_port" | "etcd_peer_port" => match v.as_u64() {
                Some(n) if (1..=65535).contains(&n) => Ok(Checked::Int(n)),
                _ => Err((
                    "a port number from 1 to 65535",
                    "etcd_port: 2379, etcd_peer_port: 2380",
                )),
            },
            "etcd_election_timeout" | "etcd_heartbeat_interval" => match v.as_u64() {
                Some(n) if n > 0 && n <= u32::MAX as u64 => Ok(Checked::Int(n)),
                _ => Err((
                    "a positive number of milliseconds",
                    "etcd_election_timeout: 1000, etcd_heartbeat_interval: 100",
                )),
            },
            "etcd_init" => match v.as_str() {
                Some("new") => Ok(Checked::Init(EtcdInit::New)),
                Some("existing") => Ok(Checked::Init(EtcdInit::Existing)),
                _ => Err((
                    "`new` or `existing`",
                    "etcd_init: new to create a cluster, existing to join one",
                )),
            },
            _ => return None,
        };
        match result {
            Ok(c) => Some(c),
            Err((want, example)) => {
                let message = format!("{key} must be {want}, got {}", show(v));
                let hint = format!("e.g. {example}");
                if layer.origin == Origin::Extra {
                    let d = Diagnostic {
                        severity: Severity::Error,
                        file: format!("-e {key}={}", show(v)),
                        line: 0,
                        column: 0,
                        message,
                        hint: Some(hint),
                    };
                    if !self.diags.contains(&d) {
                        self.diags.push(d);
                    }
                } else {
                    let mut p = layer.path.clone();
                    p.push(key.to_string());
                    let pos = self.pos_value(&p);
                    if !self
                        .diags
                        .iter()
                        .any(|d| (d.line, d.column) == pos && d.message == message)
                    {
                        self.at(Severity::Error, pos, message, Some(&hint));
                    }
                }
                None
            }
        }
    }
}

/// Booleans as Ansible reads them.
fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Some(true),
            "false" | "no" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A value as the user wrote it, for messages.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "nothing".into(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// The known parameter closest to a misspelt one, if close enough.
fn closest(key: &str) -> Option<&'static str> {
    PARAMS
        .iter()
        .map(|p| (edit_distance(key, p), *p))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, p)| p)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests;
