//! Reading the `etcd` group out of a parsed document: its shape, the layers of variables, every
//! value, and the rules that span a host or the whole cluster. Every finding is collected; none
//! stops the others.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use serde_yaml::Value;

use super::locate::{Index, Pos};
use super::{Diagnostic, EtcdInit, Host, Origin, Params, Severity, PARAMS};

/// etcd refuses an election timeout above this many milliseconds.
const MAX_ELECTION_MS: u32 = 50_000;

/// A value that passed its check.
#[derive(Debug, Clone)]
enum Checked {
    Str(String),
    OptStr(Option<String>),
    Bool(bool),
    Int(u32),
    Init(EtcdInit),
}

/// One `etcd_*` variable of a layer. `value` is `None` when it failed its check (already reported).
struct Var {
    key: String,
    value: Option<Checked>,
    /// Where the value is written; `None` for `-e`.
    pos: Option<Pos>,
    /// The text given with `-e`, for messages.
    raw: String,
}

/// One layer of variables: `all.vars`, the group's `vars`, a host's, or `-e`.
struct Layer {
    origin: Origin,
    vars: Vec<Var>,
}

/// The layer that decided a parameter for a host.
struct Winner {
    origin: Origin,
    pos: Option<Pos>,
    raw: String,
    valid: bool,
}

/// A host as read, before the checks that span hosts.
struct Member {
    key: String,
    pos: Pos,
    ip: Option<IpAddr>,
    seq: Option<(u32, Pos)>,
    params: Params,
    origins: BTreeMap<String, Origin>,
    winners: HashMap<&'static str, Winner>,
}

impl Member {
    /// Whether none of `keys` was decided by a value that failed its check.
    fn valid(&self, keys: &[&str]) -> bool {
        keys.iter()
            .all(|k| self.winners.get(k).is_none_or(|w| w.valid))
    }
}

/// Collects the findings about one inventory text.
pub(super) struct Checker<'a> {
    file: &'a str,
    index: &'a Index,
    pub(super) diags: Vec<Diagnostic>,
}

fn path(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

fn join(base: &[String], key: &str) -> Vec<String> {
    let mut p = base.to_vec();
    p.push(key.to_string());
    p
}

impl<'a> Checker<'a> {
    pub(super) fn new(file: &'a str, index: &'a Index) -> Self {
        Checker {
            file,
            index,
            diags: Vec::new(),
        }
    }

    /// Report at a position in the file, once.
    pub(super) fn at(
        &mut self,
        severity: Severity,
        pos: Pos,
        message: String,
        hint: Option<String>,
    ) {
        self.push(Diagnostic {
            severity,
            file: self.file.to_string(),
            line: pos.0,
            column: pos.1,
            message,
            hint,
        });
    }

    /// Report about a `-e` value: file `-e`, no position.
    fn extra(&mut self, severity: Severity, message: String, hint: Option<String>) {
        self.push(Diagnostic {
            severity,
            file: "-e".into(),
            line: 0,
            column: 0,
            message,
            hint,
        });
    }

    fn push(&mut self, d: Diagnostic) {
        if !self.diags.contains(&d) {
            self.diags.push(d);
        }
    }

    fn key_pos(&self, p: &[String]) -> Pos {
        self.index.key(p)
    }

    fn value_pos(&self, p: &[String], v: &Value) -> Pos {
        // An empty value has no text of its own, and a tagged one (`!vault |`) starts on the
        // next line: point at the key.
        if v.is_null() || matches!(v, Value::Tagged(_)) {
            self.index.key(p)
        } else {
            self.index.value(p)
        }
    }

    /// Read the `etcd` group from `root` and check everything; hosts sorted by `etcd_seq`.
    pub(super) fn check(&mut self, root: &Value, extra_vars: &[(String, String)]) -> Vec<Host> {
        let top = root.get("etcd");
        let nested = root
            .get("all")
            .and_then(|a| a.get("children"))
            .and_then(|c| c.get("etcd"));
        let nested_path = path(&["all", "children", "etcd"]);
        let (group, group_path) = match (top, nested) {
            (Some(g), Some(_)) => {
                let first = self.key_pos(&path(&["etcd"]));
                self.at(
                    Severity::Error,
                    self.key_pos(&nested_path),
                    format!(
                        "the etcd group is defined twice: at the top level (line {}) and under all.children",
                        first.0
                    ),
                    Some("keep one of them; Ansible would merge the two, etcdeck will not guess".into()),
                );
                (g, path(&["etcd"]))
            }
            (Some(g), None) => (g, path(&["etcd"])),
            (None, Some(g)) => (g, nested_path.clone()),
            (None, None) => {
                let what = if root.is_null() {
                    "the inventory is empty"
                } else {
                    "no `etcd` group found"
                };
                self.at(
                    Severity::Error,
                    (1, 1),
                    format!("{what}: expected a top-level `etcd:` group or a Pigsty file with `all: children: etcd:`"),
                    Some("define the group as in Pigsty's docs: etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } }, vars: { etcd_cluster: etcd } }".into()),
                );
                return Vec::new();
            }
        };
        let group_name = group_path.join(".");

        // Layers, lowest precedence first: all.vars, then the group's vars.
        let mut layers = Vec::new();
        if let Some(vars) = root.get("all").and_then(|a| a.get("vars")) {
            layers.push(self.file_layer(Origin::All, &path(&["all", "vars"]), vars, false));
        }
        if !group.is_null() && !group.is_mapping() {
            self.at(
                Severity::Error,
                self.index.value(&group_path),
                format!(
                    "the etcd group must be a mapping with `hosts` and `vars`, got {}",
                    show(group)
                ),
                Some("e.g. etcd: { hosts: { 10.10.10.10: { etcd_seq: 1 } }, vars: { etcd_cluster: etcd } }".into()),
            );
            return Vec::new();
        }
        self.group_keys(group, &group_path);
        if let Some(vars) = group.get("vars") {
            let p = join(&group_path, "vars");
            layers.push(self.file_layer(Origin::Group, &p, vars, false));
        }
        let mut read = vec![path(&["all", "vars"]), group_path.clone()];
        if top.is_some() {
            read.push(nested_path);
        }
        self.stray_keys(root, &mut Vec::new(), &read, &group_name);
        let extra = self.extra_layer(extra_vars);

        let hosts_path = join(&group_path, "hosts");
        let host_map = match group.get("hosts") {
            Some(Value::Mapping(m)) if !m.is_empty() => m,
            Some(h) if !h.is_null() && !h.is_mapping() => {
                self.at(
                    Severity::Error,
                    self.index.value(&hosts_path),
                    format!("{group_name}.hosts must map each member's IP address to its variables, got {}", show(h)),
                    Some("write hosts: { 10.10.10.10: { etcd_seq: 1 }, 10.10.10.11: { etcd_seq: 2 } }".into()),
                );
                return Vec::new();
            }
            _ => {
                self.at(
                    Severity::Error,
                    self.key_pos(&hosts_path),
                    "the etcd group has no hosts".into(),
                    Some("add the members keyed by IP address, each with its etcd_seq: hosts: { 10.10.10.10: { etcd_seq: 1 } }".into()),
                );
                return Vec::new();
            }
        };

        let mut members = Vec::new();
        for (key, vars) in host_map {
            if let Some(m) = self.member(key, vars, &hosts_path, &layers, &extra) {
                members.push(m);
            }
        }
        self.across_members(&members);

        let n = host_map.len();
        if n > 1 && n % 2 == 0 {
            self.at(
                Severity::Warning,
                self.key_pos(&hosts_path),
                format!(
                    "{n} members tolerate no more failures than {}; use an odd number",
                    n - 1
                ),
                Some(
                    "a cluster of N members survives (N-1)/2 failures: 3 survive 1, 5 survive 2"
                        .into(),
                ),
            );
        }

        let mut hosts: Vec<Host> = members
            .into_iter()
            .filter_map(|m| {
                Some(Host {
                    ip: m.ip?,
                    seq: m.seq?.0,
                    params: m.params,
                    origins: m.origins,
                    line: m.pos.0,
                })
            })
            .collect();
        hosts.sort_by_key(|h| h.seq);
        hosts
    }

    /// Keys of the group other than `hosts` and `vars`: Ansible skips them, so do we, loudly.
    fn group_keys(&mut self, group: &Value, group_path: &[String]) {
        let Some(map) = group.as_mapping() else {
            return;
        };
        for k in map.keys() {
            let Some(k) = k.as_str() else { continue };
            let p = join(group_path, k);
            match k {
                "hosts" | "vars" => {}
                "children" => self.at(
                    Severity::Warning,
                    self.key_pos(&p),
                    "child groups of the etcd group are not read: their hosts are not members here"
                        .into(),
                    Some("list every etcd member under the etcd group's `hosts`".into()),
                ),
                k if k.starts_with("etcd_") => self.at(
                    Severity::Warning,
                    self.key_pos(&p),
                    format!("{k} is set directly on the etcd group, where Ansible ignores it"),
                    Some(format!(
                        "move it under `vars:` of the group: vars: {{ {k}: ... }}"
                    )),
                ),
                k => self.at(
                    Severity::Warning,
                    self.key_pos(&p),
                    format!("unexpected key `{k}` in the etcd group is ignored"),
                    Some("a group holds only `hosts`, `vars` and `children`".into()),
                ),
            }
        }
    }

    /// `etcd_*` keys anywhere outside the places etcdeck reads them from.
    fn stray_keys(&mut self, v: &Value, at: &mut Vec<String>, read: &[Vec<String>], group: &str) {
        match v {
            Value::Mapping(map) => {
                for (k, v) in map {
                    let Some(k) = k.as_str() else { continue };
                    at.push(k.to_string());
                    if !read.contains(at) {
                        if k.starts_with("etcd_") {
                            let pos = self.key_pos(at);
                            let parent = at[..at.len() - 1].join(".");
                            self.at(
                                Severity::Warning,
                                pos,
                                format!("{k} under {parent} is not read: etcdeck takes etcd parameters from all.vars, {group}.vars and {group}.hosts"),
                                Some(format!("if it is meant for the etcd cluster, move it to {group}.vars or to a member's host line")),
                            );
                        }
                        self.stray_keys(v, at, read, group);
                    }
                    at.pop();
                }
            }
            Value::Sequence(items) => {
                for (i, v) in items.iter().enumerate() {
                    at.push(i.to_string());
                    self.stray_keys(v, at, read, group);
                    at.pop();
                }
            }
            Value::Tagged(t) => self.stray_keys(&t.value, at, read, group),
            _ => {}
        }
    }

    /// The `etcd_*` variables of a mapping in the file; unknown ones and bad values reported.
    fn file_layer(&mut self, origin: Origin, at: &[String], vars: &Value, host: bool) -> Layer {
        let mut out = Vec::new();
        let map = match vars {
            Value::Mapping(m) => m,
            Value::Null => return Layer { origin, vars: out },
            other => {
                let (what, example) = if host {
                    (
                        format!("host {}", at.last().map_or("", String::as_str)),
                        "10.10.10.10: { etcd_seq: 1 }",
                    )
                } else {
                    (at.join("."), "vars: { etcd_cluster: etcd }")
                };
                self.at(
                    Severity::Error,
                    self.index.value(at),
                    format!(
                        "{what}: expected a mapping of variables, got {}",
                        show(other)
                    ),
                    Some(format!("write it as {example}")),
                );
                return Layer { origin, vars: out };
            }
        };
        for (k, v) in map {
            let Some(k) = k.as_str() else { continue };
            let p = join(at, k);
            if !k.starts_with("etcd_") {
                if let Some(known) = near_miss(k) {
                    self.at(
                        Severity::Warning,
                        self.key_pos(&p),
                        format!("`{k}` is not an etcd parameter and is ignored"),
                        Some(format!("did you mean {known}?")),
                    );
                }
                continue;
            }
            if !PARAMS.contains(&k) {
                self.at(
                    Severity::Warning,
                    self.key_pos(&p),
                    format!("unknown parameter {k} is ignored"),
                    closest(k).map(|c| format!("did you mean {c}?")),
                );
                continue;
            }
            if k == "etcd_seq" {
                if !host {
                    self.at(
                        Severity::Error,
                        self.key_pos(&p),
                        format!(
                            "etcd_seq is set for a whole group in {}; it belongs to each host",
                            at.join(".")
                        ),
                        Some(
                            "move it to the hosts, one number each: 10.10.10.10: { etcd_seq: 1 }"
                                .into(),
                        ),
                    );
                }
                continue;
            }
            let pos = self.value_pos(&p, v);
            if let Some(text) = self.index.ambiguous(&p) {
                let (message, hint) = yaml11_words(k, text);
                self.at(Severity::Error, pos, message, Some(hint));
                out.push(Var {
                    key: k.to_string(),
                    value: None,
                    pos: Some(pos),
                    raw: String::new(),
                });
                continue;
            }
            let value = match check_value(k, v) {
                Ok(c) => Some(c),
                Err(Problem::Warn(message, hint)) => {
                    self.at(Severity::Warning, pos, message, Some(hint));
                    Some(Checked::OptStr(None))
                }
                Err(Problem::Bad(message, hint)) => {
                    self.at(Severity::Error, pos, message, Some(hint));
                    None
                }
            };
            out.push(Var {
                key: k.to_string(),
                value,
                pos: Some(pos),
                raw: String::new(),
            });
        }
        Layer { origin, vars: out }
    }

    /// `-e KEY=VALUE`: each value read as a YAML scalar, as Ansible does.
    fn extra_layer(&mut self, extra: &[(String, String)]) -> Layer {
        let mut vars = Vec::new();
        for (k, raw) in extra {
            if !k.starts_with("etcd_") {
                continue; // -e for other modules (pg_*, node_*): not ours.
            }
            if k == "etcd_seq" {
                self.extra(
                    Severity::Warning,
                    format!("-e etcd_seq={raw} is ignored: etcd_seq is per host"),
                    Some("set etcd_seq on each host line of the inventory".into()),
                );
                continue;
            }
            if !PARAMS.contains(&k.as_str()) {
                self.extra(
                    Severity::Warning,
                    format!("-e {k}={raw}: unknown parameter {k} is ignored"),
                    closest(k).map(|c| format!("did you mean {c}?")),
                );
                continue;
            }
            // Text parameters keep the text as given (a password may well be `yes`).
            let text = matches!(
                k.as_str(),
                "etcd_cluster" | "etcd_data" | "etcd_root_password"
            );
            let value: Value = if text || raw.trim().is_empty() {
                Value::String(raw.clone())
            } else {
                serde_yaml::from_str(raw).unwrap_or_else(|_| Value::String(raw.clone()))
            };
            let value = match check_value(k, &value) {
                Ok(c) => Some(c),
                Err(Problem::Warn(message, hint)) => {
                    self.extra(
                        Severity::Warning,
                        format!("{message} (from -e {k}={raw})"),
                        Some(hint),
                    );
                    Some(Checked::OptStr(None))
                }
                Err(Problem::Bad(message, hint)) => {
                    self.extra(
                        Severity::Error,
                        format!("{message} (from -e {k}={raw})"),
                        Some(hint),
                    );
                    None
                }
            };
            vars.push(Var {
                key: k.clone(),
                value,
                pos: None,
                raw: raw.clone(),
            });
        }
        Layer {
            origin: Origin::Extra,
            vars,
        }
    }

    /// One host: its key, its variables, its etcd_seq, its effective parameters and the checks
    /// that concern it alone.
    fn member(
        &mut self,
        key: &Value,
        vars: &Value,
        hosts_path: &[String],
        layers: &[Layer],
        extra: &Layer,
    ) -> Option<Member> {
        let key_text = match key {
            Value::String(s) => s.clone(),
            other => show(other),
        };
        let hpath = join(hosts_path, &key_text);
        let host_pos = self.key_pos(&hpath);
        let ip = match key_text.parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                self.at(
                    Severity::Error,
                    host_pos,
                    format!("host key `{key_text}` is not an IP address"),
                    Some("Pigsty keys hosts by IP address (e.g. 10.10.10.10:); IPv6 addresses go in quotes".into()),
                );
                None
            }
        };
        let host_layer = self.file_layer(Origin::Host, &hpath, vars, true);
        if !vars.is_null() && !vars.is_mapping() {
            return None; // reported by file_layer
        }

        let seq_path = join(&hpath, "etcd_seq");
        let seq = match vars.get("etcd_seq") {
            None => {
                let typo = vars
                    .as_mapping()
                    .into_iter()
                    .flat_map(|m| m.keys())
                    .filter_map(Value::as_str)
                    .find(|k| near_miss(k) == Some("etcd_seq"));
                let hint = match typo {
                    Some(t) => format!("`{t}` looks like a misspelt etcd_seq"),
                    None => format!("give every member a unique number that is never reused: {key_text}: {{ etcd_seq: N }}"),
                };
                self.at(
                    Severity::Error,
                    host_pos,
                    format!("host {key_text} has no etcd_seq"),
                    Some(hint),
                );
                None
            }
            Some(v) if self.index.ambiguous(&seq_path).is_some() => {
                let text = self
                    .index
                    .ambiguous(&seq_path)
                    .unwrap_or_default()
                    .to_string();
                let (message, hint) = yaml11_words("etcd_seq", &text);
                let pos = self.value_pos(&seq_path, v);
                self.at(Severity::Error, pos, message, Some(hint));
                None
            }
            Some(v) => {
                let pos = self.value_pos(&seq_path, v);
                match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                    Some(n) => Some((n, pos)),
                    None => {
                        let hint = match v {
                            Value::String(s)
                                if s.trim().len() > 1
                                    && s.trim().starts_with('0')
                                    && s.trim().parse::<u32>().is_ok() =>
                            {
                                let n = s.trim().trim_start_matches('0');
                                let n = if n.is_empty() { "0" } else { n };
                                format!(
                                    "write the number without leading zeros: etcd_seq: {n} (Ansible reads YAML 1.1, where {} is an octal number, and etcdeck refuses to guess)",
                                    s.trim()
                                )
                            }
                            Value::String(s) if s.trim().parse::<u32>().is_ok() => {
                                format!("write the number without quotes: etcd_seq: {}", s.trim())
                            }
                            _ => "etcd_seq is the member's number, 0 or more: etcd_seq: 1 names it etcd-1".into(),
                        };
                        self.at(
                            Severity::Error,
                            pos,
                            format!(
                                "etcd_seq of {key_text} must be an integer >= 0, got {}",
                                show(v)
                            ),
                            Some(hint),
                        );
                        None
                    }
                }
            }
        };

        let mut stack: Vec<&Layer> = layers.iter().collect();
        stack.push(&host_layer);
        stack.push(extra);
        let (params, origins, winners) = effective(&stack);
        let m = Member {
            key: key_text,
            pos: host_pos,
            ip,
            seq,
            params,
            origins,
            winners,
        };
        self.within_member(&m);
        Some(m)
    }

    /// Rules between two parameters of one host.
    fn within_member(&mut self, m: &Member) {
        let p = &m.params;
        if p.etcd_port == p.etcd_peer_port && m.valid(&["etcd_port", "etcd_peer_port"]) {
            let message = format!("etcd_port and etcd_peer_port are both {}", p.etcd_port);
            self.blame(
                m,
                &["etcd_port", "etcd_peer_port"],
                message,
                "clients and peers need different ports (Pigsty: etcd_port 2379, etcd_peer_port 2380)",
            );
        }
        let (election, heartbeat) = (p.etcd_election_timeout, p.etcd_heartbeat_interval);
        if u64::from(election) < 5 * u64::from(heartbeat)
            && m.valid(&["etcd_election_timeout", "etcd_heartbeat_interval"])
        {
            let message = format!(
                "etcd_election_timeout {election} is less than 5 x etcd_heartbeat_interval {heartbeat}; etcd refuses to start"
            );
            self.blame(
                m,
                &["etcd_election_timeout", "etcd_heartbeat_interval"],
                message,
                "keep the election timeout at least 5 (better 10) times the heartbeat, e.g. 1000 and 100",
            );
        }
    }

    /// Report a rule broken by `keys` at the most specific place that set one of them: once at a
    /// shared value (group or all.vars), per host at a host's value, as `-e` for an extra var.
    fn blame(&mut self, m: &Member, keys: &[&str], message: String, hint: &str) {
        let mut best: Option<(&str, &Winner)> = None;
        for k in keys {
            if let Some(w) = m.winners.get(k) {
                // The first of `keys` wins a tie.
                if best.is_none_or(|(_, b)| w.origin > b.origin) {
                    best = Some((k, w));
                }
            }
        }
        let hint = Some(hint.to_string());
        match best {
            Some((k, w)) if w.origin == Origin::Extra => {
                self.extra(
                    Severity::Error,
                    format!("{message} (after -e {k}={})", w.raw),
                    hint,
                );
            }
            Some((_, w)) if w.origin != Origin::Host => {
                let pos = w.pos.unwrap_or(m.pos);
                self.at(Severity::Error, pos, message, hint);
            }
            Some((_, w)) => {
                let pos = w.pos.unwrap_or(m.pos);
                self.at(
                    Severity::Error,
                    pos,
                    format!("host {}: {message}", m.key),
                    hint,
                );
            }
            None => self.at(
                Severity::Error,
                m.pos,
                format!("host {}: {message}", m.key),
                hint,
            ),
        }
    }

    /// Rules across hosts: unique etcd_seq, unique address, one cluster name.
    fn across_members(&mut self, members: &[Member]) {
        let mut seqs: BTreeMap<u32, &Member> = BTreeMap::new();
        let mut ips: BTreeMap<IpAddr, &Member> = BTreeMap::new();
        for m in members {
            if let Some((seq, pos)) = m.seq {
                if let Some(first) = seqs.get(&seq) {
                    self.at(
                        Severity::Error,
                        pos,
                        format!(
                            "duplicate etcd_seq {seq}: host {} on line {} has it too",
                            first.key, first.pos.0
                        ),
                        Some("etcd_seq must be unique in the cluster and is never reused: pick a number no member ever had".into()),
                    );
                } else {
                    seqs.insert(seq, m);
                }
            }
            if let Some(ip) = m.ip {
                if let Some(first) = ips.get(&ip) {
                    self.at(
                        Severity::Error,
                        m.pos,
                        format!(
                            "host {} is the same address as {} on line {}",
                            m.key, first.key, first.pos.0
                        ),
                        Some("list each member once, keyed by its IP address".into()),
                    );
                } else {
                    ips.insert(ip, m);
                }
            }
        }

        // The name most hosts agree on (the first one written, on a tie) is the cluster's.
        let valid: Vec<&Member> = members
            .iter()
            .filter(|m| m.valid(&["etcd_cluster"]))
            .collect();
        let mut counts: Vec<(&str, usize, &Member)> = Vec::new();
        for m in &valid {
            let name = m.params.etcd_cluster.as_str();
            match counts.iter_mut().find(|(n, _, _)| *n == name) {
                Some(c) => c.1 += 1,
                None => counts.push((name, 1, m)),
            }
        }
        // max_by_key keeps the last of equals: search from the end to keep the first.
        let Some(&(name, _, reference)) = counts.iter().rev().max_by_key(|c| c.1) else {
            return;
        };
        for m in &valid {
            if m.params.etcd_cluster == name {
                continue;
            }
            let pos = match m.winners.get("etcd_cluster") {
                Some(w) if w.origin == Origin::Host => w.pos.unwrap_or(m.pos),
                _ => m.pos,
            };
            self.at(
                Severity::Error,
                pos,
                format!(
                    "host {} is in etcd_cluster `{}` but {} (line {}) is in `{name}`",
                    m.key, m.params.etcd_cluster, reference.key, reference.pos.0
                ),
                Some("all members of the etcd group form one cluster: set etcd_cluster once, in the group's vars".into()),
            );
        }
    }
}

/// The effective parameters from the layers, lowest precedence first.
fn effective(
    stack: &[&Layer],
) -> (
    Params,
    BTreeMap<String, Origin>,
    HashMap<&'static str, Winner>,
) {
    let mut p = Params::default();
    let mut origins: BTreeMap<String, Origin> = PARAMS[1..]
        .iter()
        .map(|k| (k.to_string(), Origin::Default))
        .collect();
    origins.insert("etcd_seq".into(), Origin::Host);
    let mut winners = HashMap::new();
    for layer in stack {
        for var in &layer.vars {
            let Some(key) = PARAMS.iter().copied().find(|k| *k == var.key) else {
                continue;
            };
            winners.insert(
                key,
                Winner {
                    origin: layer.origin,
                    pos: var.pos,
                    raw: var.raw.clone(),
                    valid: var.value.is_some(),
                },
            );
            origins.insert(key.to_string(), layer.origin);
            let Some(value) = var.value.clone() else {
                continue;
            };
            match (key, value) {
                ("etcd_cluster", Checked::Str(s)) => p.etcd_cluster = s,
                ("etcd_data", Checked::Str(s)) => p.etcd_data = s,
                ("etcd_root_password", Checked::OptStr(s)) => p.etcd_root_password = s,
                ("etcd_safeguard", Checked::Bool(b)) => p.etcd_safeguard = b,
                ("etcd_clean", Checked::Bool(b)) => p.etcd_clean = b,
                ("etcd_learner", Checked::Bool(b)) => p.etcd_learner = b,
                ("etcd_port", Checked::Int(n)) => {
                    p.etcd_port = u16::try_from(n).unwrap_or(p.etcd_port)
                }
                ("etcd_peer_port", Checked::Int(n)) => {
                    p.etcd_peer_port = u16::try_from(n).unwrap_or(p.etcd_peer_port)
                }
                ("etcd_election_timeout", Checked::Int(n)) => p.etcd_election_timeout = n,
                ("etcd_heartbeat_interval", Checked::Int(n)) => p.etcd_heartbeat_interval = n,
                ("etcd_init", Checked::Init(i)) => p.etcd_init = i,
                _ => {}
            }
        }
    }
    (p, origins, winners)
}

/// Why a value was refused: an error, or a warning after which the value counts as unset.
enum Problem {
    Bad(String, String),
    Warn(String, String),
}

/// Check one parameter's value.
fn check_value(key: &str, v: &Value) -> Result<Checked, Problem> {
    let bad = |want: &str, hint: &str| {
        Err(Problem::Bad(
            format!("{key} must be {want}, got {}", show(v)),
            hint.to_string(),
        ))
    };
    let int = v.as_u64().and_then(|n| u32::try_from(n).ok());
    match key {
        "etcd_cluster" => match v.as_str() {
            Some(s)
                if !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) =>
            {
                Ok(Checked::Str(s.to_string()))
            }
            _ => bad(
                "a name of letters, digits, `-`, `_` or `.`",
                "it names the members (etcd-1) and their certificates: etcd_cluster: etcd",
            ),
        },
        "etcd_data" => match v.as_str() {
            Some(s) if s.starts_with('/') => Ok(Checked::Str(s.to_string())),
            _ => bad("an absolute path", "e.g. etcd_data: /data/etcd"),
        },
        "etcd_root_password" => match v {
            Value::String(s) => Ok(Checked::OptStr(Some(s.clone()))),
            Value::Number(n) => Ok(Checked::OptStr(Some(n.to_string()))),
            Value::Null => Ok(Checked::OptStr(None)),
            Value::Tagged(t) if t.tag == "vault" => Err(Problem::Warn(
                "etcd_root_password is encrypted with Ansible Vault; etcdeck cannot read it and treats it as unset".into(),
                "give the password with --user root:PASSWORD or ETCDCTL_USER=root:PASSWORD".into(),
            )),
            _ => bad(
                "a string",
                "e.g. etcd_root_password: Etcd.Root (quote a password YAML would read as a boolean)",
            ),
        },
        "etcd_safeguard" | "etcd_clean" | "etcd_learner" => match as_bool(v) {
            Some(b) => Ok(Checked::Bool(b)),
            None => bad(
                "true or false",
                &format!("e.g. {key}: false (yes/no also work)"),
            ),
        },
        "etcd_port" | "etcd_peer_port" => match int {
            Some(n @ 1..=65535) => Ok(Checked::Int(n)),
            _ => bad(
                "a port number from 1 to 65535",
                "Pigsty uses etcd_port: 2379 and etcd_peer_port: 2380",
            ),
        },
        "etcd_heartbeat_interval" => match int {
            Some(n @ 1..) => Ok(Checked::Int(n)),
            _ => bad(
                "a positive number of milliseconds",
                "e.g. etcd_heartbeat_interval: 100 (the Pigsty default)",
            ),
        },
        "etcd_election_timeout" => match int {
            Some(n @ 1..=MAX_ELECTION_MS) => Ok(Checked::Int(n)),
            Some(n) if n > MAX_ELECTION_MS => bad(
                "at most 50000 milliseconds (etcd refuses longer)",
                "e.g. etcd_election_timeout: 1000 (the Pigsty default)",
            ),
            _ => bad(
                "a positive number of milliseconds",
                "e.g. etcd_election_timeout: 1000 (the Pigsty default)",
            ),
        },
        "etcd_init" => match v.as_str() {
            Some("new") => Ok(Checked::Init(EtcdInit::New)),
            Some("existing") => Ok(Checked::Init(EtcdInit::Existing)),
            _ => bad(
                "`new` or `existing`",
                "new creates the cluster; existing joins a member to a running one",
            ),
        },
        _ => bad("a known parameter", "see the etcd parameters in Pigsty's docs"),
    }
}

/// What to say of `key: text` when Ansible (YAML 1.1) reads `text` otherwise than etcdeck
/// (YAML 1.2): both readings, and the form both agree on.
fn yaml11_words(key: &str, text: &str) -> (String, String) {
    let (sign, t) = match text.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", text.strip_prefix('+').unwrap_or(text)),
    };
    let num = |digits: &str, radix: u32| {
        i128::from_str_radix(&digits.replace('_', ""), radix)
            .ok()
            .map(|n| format!("{sign}{n}"))
    };
    // (Ansible's reading, YAML 1.2's reading); None: the text itself.
    let (ansible, here) = if let Some(oct) = t.strip_prefix("0o") {
        (None, num(oct, 8))
    } else if let Some(bin) = t.strip_prefix("0b") {
        (num(bin, 2), None)
    } else if t.contains(':') {
        let n = t.split(':').try_fold(0i128, |acc, d| {
            Some(acc * 60 + d.replace('_', "").parse::<i128>().ok()?)
        });
        (n.map(|n| format!("{sign}{n}")), None)
    } else if t.len() > 1 && t.starts_with('0') && !t.contains('_') {
        (num(t, 8), num(t, 10))
    } else {
        (num(t, 10), None)
    };
    let words = |r: &Option<String>| r.clone().unwrap_or_else(|| format!("the text \"{text}\""));
    let message = format!(
        "{key}: {text} is read as {} by Ansible (YAML 1.1) but as {} by YAML 1.2: the playbooks \
         and etcdeck would disagree",
        words(&ansible),
        words(&here)
    );
    let options: Vec<String> = [(here, "YAML 1.2"), (ansible, "Ansible")]
        .into_iter()
        .filter_map(|(n, who)| n.map(|n| format!("{key}: {n} (as {who} reads it)")))
        .collect();
    let hint = if options.is_empty() {
        format!("write a plain decimal number, or quote it: {key}: \"{text}\"")
    } else if options.len() == 1 {
        format!(
            "write {}, a plain decimal number that reads alike everywhere, or quote it as text",
            options[0]
        )
    } else {
        format!(
            "write {}, whichever is meant: a plain decimal number reads alike everywhere",
            options.join(" or ")
        )
    };
    (message, hint)
}

/// Booleans as Ansible reads them (YAML 1.1 words included).
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

/// A value as the user wrote it, for messages (raw: [`super::Diagnostic`]'s display escapes it).
pub(super) fn show(v: &Value) -> String {
    match v {
        // Quoted as written; the message is escaped once, where it is shown.
        Value::String(s) => format!("\"{s}\""),
        Value::Null => "nothing".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Sequence(_) => "a list".into(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// The known parameter closest to a misspelt `etcd_*` key, if the typo is obvious: one or two
/// edits away, or a known name cut short or lengthened (`etcd_election`, `etcd_port_tls`).
fn closest(key: &str) -> Option<&'static str> {
    let near = PARAMS
        .iter()
        .map(|p| (edit_distance(key, p), *p))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, p)| p);
    near.or_else(|| {
        PARAMS
            .iter()
            .copied()
            .filter(|p| key.len() >= 9 && (p.starts_with(key) || key.starts_with(p)))
            .max_by_key(|p| p.len().min(key.len()))
    })
}

/// A key without the `etcd_` prefix that is one or two edits from a known parameter
/// (`ectd_seq`, `etc_port`).
fn near_miss(key: &str) -> Option<&'static str> {
    if key.len() < 6 {
        return None;
    }
    closest(key)
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
mod tests {
    use super::*;

    #[test]
    fn only_obvious_typos_get_a_suggestion() {
        assert_eq!(closest("etcd_lerner"), Some("etcd_learner"));
        assert_eq!(closest("etcd_peerport"), Some("etcd_peer_port"));
        assert_eq!(closest("etcd_api"), None);
        assert_eq!(closest("etcd_election"), Some("etcd_election_timeout"));
        assert_eq!(closest("etcd_heartbeat"), Some("etcd_heartbeat_interval"));
        assert_eq!(closest("etcd_seq_old"), Some("etcd_seq"));
        assert_eq!(closest("etcd_peer_port_tls"), Some("etcd_peer_port"));
        assert_eq!(closest("etcd_"), None);
        assert_eq!(near_miss("ectd_seq"), Some("etcd_seq"));
        assert_eq!(near_miss("etc_port"), Some("etcd_port"));
        assert_eq!(near_miss("pg_port"), None);
        assert_eq!(near_miss("node_data"), None);
        assert_eq!(near_miss("seq"), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
