//! Patroni's keys in etcd (its etcd3 DCS), read into a typed summary per cluster. Pure: the
//! caller reads the keys (and, if it wants, the time left on their leases) and hands them over.
//!
//! Layout, as Patroni writes it under `/<namespace>/<scope>/` (Pigsty's namespace is `/pg`, Citus
//! clusters add a group: `/<namespace>/<scope>/<group>/`, group 0 being the coordinator):
//! - `leader`: the leader's member name, attached to the leader's lease;
//! - `members/<name>`: each member's state as JSON, attached to that member's lease (the leader's
//!   member key shares the leader key's lease);
//! - `status` (`{optime, slots, retain_slots}`), or the legacy `optime/leader` (a plain number);
//! - `config`: the dynamic configuration (`ttl`, `loop_wait`, `maximum_lag_on_failover`, ...);
//! - `initialize`: the PostgreSQL system identifier;
//! - `history`: the timeline switches, `[timeline, lsn, reason, timestamp, new_leader]`;
//! - `sync`: `{leader, sync_standby, quorum}`; `failsafe`: `{member: api_url}`;
//! - `failover`: a pending switchover or failover request (`{}` when none).
//!
//! Text that came from etcd stays raw in the summaries (the UI escapes it when it draws it);
//! warnings are built for display and escape every piece of etcd text they quote.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::text::{escape, escape_bytes};
use crate::units;

pub mod events;
#[cfg(test)]
mod tests;

/// Patroni's default `ttl` in seconds, used when `config` does not set it.
pub const DEFAULT_TTL_S: u64 = 30;
/// Patroni's default `loop_wait` in seconds.
pub const DEFAULT_LOOP_WAIT_S: u64 = 10;
/// Patroni's default `retry_timeout` in seconds.
pub const DEFAULT_RETRY_TIMEOUT_S: u64 = 10;
/// Patroni's default `maximum_lag_on_failover` in bytes (1 MiB).
pub const DEFAULT_MAXIMUM_LAG_ON_FAILOVER: u64 = 1_048_576;

/// One key as read from etcd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The full key, e.g. `/pg/pg-meta/leader`.
    pub key: &'a [u8],
    /// The value as stored.
    pub value: &'a [u8],
    /// The lease the key is attached to, 0 for none.
    pub lease: i64,
    /// Revision at which the key was created.
    pub create_revision: i64,
    /// Revision of the key's last change.
    pub mod_revision: i64,
    /// Number of writes since the key was created.
    pub version: i64,
}

/// A key under a namespace, split into its Patroni parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPath<'k> {
    /// Patroni's `scope` (the cluster name), e.g. `pg-meta`.
    pub scope: &'k str,
    /// The Citus group (0 is the coordinator), `None` for a cluster without Citus.
    pub group: Option<u32>,
    /// What follows, e.g. `leader` or `members/pg-meta-1`.
    pub rest: &'k str,
}

/// Split a key under `namespace` (`/pg`, `/pg/` and `pg` are the same) into scope, Citus group
/// and the rest: `/pg/pg-meta/members/pg-meta-1` gives (`pg-meta`, `None`, `members/pg-meta-1`),
/// `/pg/pg-citus/1/leader` gives (`pg-citus`, `Some(1)`, `leader`). `None` when the key is not
/// under the namespace, or has no scope or nothing after it.
pub fn split_key<'k>(namespace: &str, key: &'k str) -> Option<KeyPath<'k>> {
    let path = split_bytes(namespace_prefix(namespace).as_bytes(), key.as_bytes())?;
    // The parts are cut at '/', so they stay valid UTF-8.
    Some(KeyPath {
        scope: std::str::from_utf8(path.scope).ok()?,
        group: path.group,
        rest: std::str::from_utf8(path.rest).ok()?,
    })
}

/// What Patroni says about one cluster, with the warnings an operator should read first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterSummary {
    /// Patroni's `scope`.
    pub scope: String,
    /// The Citus group, absent (and not serialized) for a cluster without Citus.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<u32>,
    /// The member named in the `leader` key; `None` when there is no leader key (or it is not
    /// UTF-8).
    pub leader: Option<String>,
    /// The lease the `leader` key is attached to (0 when there is none or no leader key).
    pub leader_lease: i64,
    /// Seconds left on the leader's lease, when the caller knew it.
    pub leader_ttl_s: Option<i64>,
    /// The members (`members/<name>` keys), sorted by name.
    pub members: Vec<MemberSummary>,
    /// The leader's last known WAL position: `status.optime`, else the legacy `optime/leader`.
    pub optime: Option<u64>,
    /// The leader's timeline, from its member key.
    pub timeline: Option<u64>,
    /// The synchronous standbys named in the `sync` key (Patroni keeps them comma-separated).
    pub sync_standby: Vec<String>,
    /// The leader that wrote the `sync` key.
    pub sync_leader: Option<String>,
    /// `sync.quorum` (quorum commit mode).
    pub sync_quorum: Option<u64>,
    /// Members listed in the `failsafe` key, sorted.
    pub failsafe: Vec<String>,
    /// A pending switchover or failover request; `None` when the `failover` key is absent or `{}`.
    pub failover: Option<Failover>,
    /// Timeline switches from the `history` key, oldest first (see [`ClusterSummary::last_switches`]).
    pub history: Vec<Switch>,
    /// The settings of the dynamic configuration that matter here.
    pub config: ConfigHighlights,
    /// The PostgreSQL system identifier from the `initialize` key (`None` when absent or empty).
    pub system_id: Option<String>,
    /// Maintenance mode: `config.pause`, or a member that reports `pause`.
    pub paused: bool,
    /// Problems, in plain English, safe to print (etcd text in them is escaped).
    pub warnings: Vec<String>,
}

/// One member, from its `members/<name>` key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberSummary {
    /// The member name (from the key).
    pub name: String,
    /// `primary`, `replica`, `standby_leader`, or `master` from older Patroni; see
    /// [`MemberSummary::role_kind`].
    pub role: Option<String>,
    /// Patroni's state of PostgreSQL, e.g. `running`.
    pub state: Option<String>,
    /// The timeline PostgreSQL is on.
    pub timeline: Option<u64>,
    /// Bytes behind the leader's optime (0 for the leader); `None` when either position is unknown.
    pub lag_bytes: Option<u64>,
    /// Patroni's REST API URL.
    pub api_url: Option<String>,
    /// PostgreSQL connection URL.
    pub conn_url: Option<String>,
    /// The member's WAL position (`xlog_location`).
    pub xlog_location: Option<u64>,
    /// Received WAL position (replicas, Patroni 4).
    pub receive_lsn: Option<u64>,
    /// Replayed WAL position (replicas, Patroni 4).
    pub replay_lsn: Option<u64>,
    /// e.g. `streaming` (replicas).
    pub replication_state: Option<String>,
    /// Patroni tags (`nofailover`, `clonefrom`, ...).
    pub tags: BTreeMap<String, Value>,
    /// PostgreSQL needs a restart to apply changed parameters.
    pub pending_restart: bool,
    /// The member reports maintenance mode.
    pub paused: bool,
    /// Patroni's version.
    pub version: Option<String>,
    /// The lease the member key is attached to (0 for none).
    pub lease: i64,
    /// Seconds left on that lease, when the caller knew it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_s: Option<i64>,
}

/// What a member's `role` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `primary`, or `master` from Patroni before 3.0.
    Primary,
    /// `replica`.
    Replica,
    /// `standby_leader`: the leader of a standby cluster.
    StandbyLeader,
    /// Anything else (`demoted`, `uninitialized`, ...) or no role.
    Other,
}

impl Role {
    /// Read Patroni's role text.
    pub fn parse(role: &str) -> Role {
        match role {
            "primary" | "master" => Role::Primary,
            "replica" => Role::Replica,
            "standby_leader" => Role::StandbyLeader,
            _ => Role::Other,
        }
    }

    /// The role a leader has: primary or standby leader.
    pub fn is_leading(self) -> bool {
        matches!(self, Role::Primary | Role::StandbyLeader)
    }
}

impl MemberSummary {
    /// The member's role, with `master` read as primary.
    pub fn role_kind(&self) -> Role {
        self.role.as_deref().map_or(Role::Other, Role::parse)
    }

    /// The `nofailover` tag is set (Patroni never promotes this member).
    pub fn nofailover(&self) -> bool {
        self.tags
            .get("nofailover")
            .is_some_and(|v| as_bool(v) == Some(true))
    }
}

/// A pending switchover (with `leader`) or failover request from the `failover` key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failover {
    /// The leader to switch away from (a switchover); `None` for a failover.
    pub leader: Option<String>,
    /// The member to promote (`member` in the key); `None` lets Patroni pick.
    pub candidate: Option<String>,
    /// When, as Patroni wrote it (ISO 8601); `None` means at once.
    pub scheduled_at: Option<String>,
}

impl Failover {
    /// A switchover names the current leader; a failover does not.
    pub fn is_switchover(&self) -> bool {
        self.leader.is_some()
    }
}

/// One line of the `history` key: timeline `timeline` ended at `lsn` and `new_leader` started the
/// next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Switch {
    /// The timeline that ended (PostgreSQL's parent timeline).
    pub timeline: u64,
    /// The WAL position where it ended.
    pub lsn: Option<u64>,
    /// PostgreSQL's reason, e.g. `no recovery target specified`.
    pub reason: Option<String>,
    /// When, as Patroni wrote it (absent from old Patroni).
    pub timestamp: Option<String>,
    /// The member promoted (absent from old Patroni).
    pub new_leader: Option<String>,
    /// The timeline that started: the next line's timeline, or for the last line the cluster's
    /// current timeline; `None` when neither is known.
    pub to_timeline: Option<u64>,
}

/// The settings of Patroni's dynamic configuration (`config` key) that the summary uses. Every
/// field holds Patroni's default when `config` lacks it (or is absent or invalid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigHighlights {
    /// Leader key TTL in seconds (default 30).
    pub ttl: u64,
    /// Seconds between Patroni's loops, i.e. leader key renewals (default 10).
    pub loop_wait: u64,
    /// Seconds Patroni retries DCS and PostgreSQL operations (default 10).
    pub retry_timeout: u64,
    /// Bytes a replica may lag and still be promoted (default 1 MiB).
    pub maximum_lag_on_failover: u64,
    /// The leader keeps running when etcd is unreachable while all members agree (default off).
    pub failsafe_mode: bool,
    /// `synchronous_mode` is on (`true`, or `quorum`) (default off).
    pub synchronous_mode: bool,
    /// `synchronous_mode: quorum` (Patroni 4 quorum commit).
    pub quorum_commit: bool,
    /// `synchronous_mode_strict` (default off).
    pub synchronous_mode_strict: bool,
    /// `pause`: maintenance mode (default off).
    pub pause: bool,
    /// `standby_cluster` is set: this cluster replicates from another one.
    pub standby_cluster: bool,
}

impl Default for ConfigHighlights {
    fn default() -> Self {
        ConfigHighlights {
            ttl: DEFAULT_TTL_S,
            loop_wait: DEFAULT_LOOP_WAIT_S,
            retry_timeout: DEFAULT_RETRY_TIMEOUT_S,
            maximum_lag_on_failover: DEFAULT_MAXIMUM_LAG_ON_FAILOVER,
            failsafe_mode: false,
            synchronous_mode: false,
            quorum_commit: false,
            synchronous_mode_strict: false,
            pause: false,
            standby_cluster: false,
        }
    }
}

impl ConfigHighlights {
    /// Read the highlights from the `config` JSON object; missing or unreadable settings keep
    /// Patroni's defaults.
    pub fn from_json(config: &Map<String, Value>) -> Self {
        let d = ConfigHighlights::default();
        let num = |k: &str, default: u64| config.get(k).and_then(as_u64).unwrap_or(default);
        let flag = |k: &str| config.get(k).and_then(as_bool).unwrap_or(false);
        let quorum = config
            .get("synchronous_mode")
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("quorum"));
        ConfigHighlights {
            ttl: num("ttl", d.ttl),
            loop_wait: num("loop_wait", d.loop_wait),
            retry_timeout: num("retry_timeout", d.retry_timeout),
            maximum_lag_on_failover: num("maximum_lag_on_failover", d.maximum_lag_on_failover),
            failsafe_mode: flag("failsafe_mode"),
            synchronous_mode: quorum || flag("synchronous_mode"),
            quorum_commit: quorum,
            synchronous_mode_strict: flag("synchronous_mode_strict"),
            pause: flag("pause"),
            standby_cluster: config
                .get("standby_cluster")
                .is_some_and(|v| matches!(v, Value::Object(m) if !m.is_empty())),
        }
    }
}

impl ClusterSummary {
    /// `pg-meta`, or `pg-citus/1` for a Citus group. Raw: escape it before drawing.
    pub fn label(&self) -> String {
        match self.group {
            Some(group) => format!("{}/{group}", self.scope),
            None => self.scope.clone(),
        }
    }

    /// The member by name.
    pub fn member(&self, name: &str) -> Option<&MemberSummary> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The leader's member entry, when there is a leader and it has a member key.
    pub fn leader_member(&self) -> Option<&MemberSummary> {
        self.member(self.leader.as_deref()?)
    }

    /// The last `n` timeline switches, most recent first.
    pub fn last_switches(&self, n: usize) -> Vec<&Switch> {
        self.history.iter().rev().take(n).collect()
    }
}

/// Every Patroni cluster (scope, or scope and group for Citus) found among `entries`, sorted by
/// scope then group (a scope without group first). `lease_ttl(lease_id)` gives the seconds left on
/// a lease when the caller knows it. Keys outside `namespace`, keys Patroni does not write and
/// keys whose scope is not UTF-8 are skipped; a cluster appears once one of its Patroni keys does.
pub fn summarize<'a>(
    namespace: &str,
    entries: impl IntoIterator<Item = Entry<'a>>,
    lease_ttl: &dyn Fn(i64) -> Option<i64>,
) -> Vec<ClusterSummary> {
    let prefix = namespace_prefix(namespace);
    let mut clusters: BTreeMap<(&'a str, Option<u32>), Keys<'a>> = BTreeMap::new();
    for entry in entries {
        let Some(path) = split_bytes(prefix.as_bytes(), entry.key) else {
            continue;
        };
        let Ok(scope) = std::str::from_utf8(path.scope) else {
            continue;
        };
        let keys = clusters.entry((scope, path.group)).or_default();
        let Ok(rest) = std::str::from_utf8(path.rest) else {
            keys.bad_keys.push(format!(
                "a key that is not valid UTF-8 was skipped: {}",
                escape_bytes(path.rest)
            ));
            continue;
        };
        if crate::text::has_hidden(rest) {
            keys.bad_keys.push(format!(
                "the key {} holds an invisible or control character: it can pass for another key; rename it",
                escape(rest)
            ));
        }
        let Some(slot) = classify(rest) else {
            continue;
        };
        keys.known = true;
        match slot {
            Slot::Member(name) => {
                keys.members.insert(name, entry);
            }
            Slot::Leader => keys.leader = Some(entry),
            Slot::Status => keys.status = Some(entry),
            Slot::LegacyOptime => keys.legacy_optime = Some(entry),
            Slot::Config => keys.config = Some(entry),
            Slot::Initialize => keys.initialize = Some(entry),
            Slot::History => keys.history = Some(entry),
            Slot::Sync => keys.sync = Some(entry),
            Slot::Failsafe => keys.failsafe = Some(entry),
            Slot::Failover => keys.failover = Some(entry),
        }
    }
    clusters
        .into_iter()
        .filter(|(_, keys)| keys.known)
        .map(|((scope, group), keys)| build(scope, group, keys, lease_ttl))
        .collect()
}

/// `/pg`, `/pg/` and `pg` all give `/pg/`; an empty namespace (or `/`) gives `/`.
fn namespace_prefix(namespace: &str) -> String {
    let trimmed = namespace.trim_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        format!("/{trimmed}/")
    }
}

struct BytePath<'k> {
    scope: &'k [u8],
    group: Option<u32>,
    rest: &'k [u8],
}

fn split_bytes<'k>(prefix: &[u8], key: &'k [u8]) -> Option<BytePath<'k>> {
    let after = key.strip_prefix(prefix)?;
    let slash = after.iter().position(|&b| b == b'/')?;
    let (scope, rest) = (&after[..slash], &after[slash + 1..]);
    if scope.is_empty() || rest.is_empty() {
        return None;
    }
    if let Some(slash) = rest.iter().position(|&b| b == b'/') {
        let (segment, tail) = (&rest[..slash], &rest[slash + 1..]);
        if !segment.is_empty() && !tail.is_empty() && segment.iter().all(u8::is_ascii_digit) {
            let group = std::str::from_utf8(segment)
                .ok()
                .and_then(|s| s.parse::<u32>().ok());
            if let Some(group) = group {
                return Some(BytePath {
                    scope,
                    group: Some(group),
                    rest: tail,
                });
            }
        }
    }
    Some(BytePath {
        scope,
        group: None,
        rest,
    })
}

enum Slot<'a> {
    Leader,
    Member(&'a str),
    Status,
    LegacyOptime,
    Config,
    Initialize,
    History,
    Sync,
    Failsafe,
    Failover,
}

fn classify(rest: &str) -> Option<Slot<'_>> {
    Some(match rest {
        "leader" => Slot::Leader,
        "status" => Slot::Status,
        "optime/leader" => Slot::LegacyOptime,
        "config" => Slot::Config,
        "initialize" => Slot::Initialize,
        "history" => Slot::History,
        "sync" => Slot::Sync,
        "failsafe" => Slot::Failsafe,
        "failover" => Slot::Failover,
        _ => Slot::Member(rest.strip_prefix("members/").filter(|n| !n.is_empty())?),
    })
}

/// The keys of one cluster, as found.
#[derive(Default)]
struct Keys<'a> {
    known: bool,
    bad_keys: Vec<String>,
    leader: Option<Entry<'a>>,
    members: BTreeMap<&'a str, Entry<'a>>,
    status: Option<Entry<'a>>,
    legacy_optime: Option<Entry<'a>>,
    config: Option<Entry<'a>>,
    initialize: Option<Entry<'a>>,
    history: Option<Entry<'a>>,
    sync: Option<Entry<'a>>,
    failsafe: Option<Entry<'a>>,
    failover: Option<Entry<'a>>,
}

fn build(
    scope: &str,
    group: Option<u32>,
    keys: Keys<'_>,
    lease_ttl: &dyn Fn(i64) -> Option<i64>,
) -> ClusterSummary {
    let mut warnings = keys.bad_keys;
    warnings.sort();
    if crate::text::has_hidden(scope) {
        warnings.insert(
            0,
            format!(
                "the cluster name {} holds an invisible or control character: it can pass for another cluster (Patroni scope); check which one is real",
                escape(scope)
            ),
        );
    }
    let w = &mut warnings;

    let config = keys
        .config
        .and_then(|e| parse_object(&e, "config", w))
        .map(|c| ConfigHighlights::from_json(&c))
        .unwrap_or_default();

    let mut optime = keys
        .status
        .and_then(|e| parse_json(&e, "status", w))
        .and_then(|status| match status {
            Value::Object(m) => m.get("optime").and_then(as_u64),
            // Old Patroni stored the bare optime.
            Value::Number(n) => n.as_u64(),
            _ => {
                w.push("status is not a JSON object; ignored".to_string());
                None
            }
        });
    if optime.is_none() {
        if let Some(e) = keys.legacy_optime {
            optime = text(&e, "optime/leader", w).and_then(|t| {
                let n = t.trim().parse::<u64>().ok();
                if n.is_none() {
                    w.push("optime/leader is not a number; ignored".to_string());
                }
                n
            });
        }
    }

    let (leader, leader_lease) = match keys.leader {
        Some(e) => match std::str::from_utf8(e.value) {
            Ok(name) => (Some(name.to_string()), e.lease),
            Err(_) => {
                w.push(format!(
                    "leader key is not valid UTF-8 ({}): the leader is unknown",
                    escape_bytes(e.value)
                ));
                (None, e.lease)
            }
        },
        None => (None, 0),
    };
    let leader_ttl_s = if leader_lease != 0 {
        lease_ttl(leader_lease)
    } else {
        None
    };

    let mut members: Vec<MemberSummary> = keys
        .members
        .iter()
        .map(|(name, e)| member(name, e, lease_ttl, w))
        .collect();
    let mut timeline = None;
    for m in &mut members {
        if leader.as_deref() == Some(m.name.as_str()) {
            m.lag_bytes = Some(0);
            timeline = m.timeline;
        } else {
            m.lag_bytes = optime
                .zip(m.xlog_location)
                .map(|(o, x)| o.saturating_sub(x));
        }
    }

    let (sync_standby, sync_leader, sync_quorum) = keys
        .sync
        .and_then(|e| parse_object(&e, "sync", w))
        .map(|s| {
            let standbys = s
                .get("sync_standby")
                .and_then(Value::as_str)
                .map(|list| {
                    list.split(',')
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let leader = s.get("leader").and_then(as_string);
            (standbys, leader, s.get("quorum").and_then(as_u64))
        })
        .unwrap_or_default();

    let failsafe = keys
        .failsafe
        .and_then(|e| parse_object(&e, "failsafe", w))
        .map(|m| m.keys().cloned().collect::<Vec<_>>())
        .map(|mut names| {
            names.sort();
            names
        })
        .unwrap_or_default();

    let failover = keys.failover.and_then(|e| failover(&e, w));

    let mut history = keys
        .history
        .and_then(|e| parse_json(&e, "history", w))
        .map(|h| switches(&h, w))
        .unwrap_or_default();
    let current = timeline.or_else(|| members.iter().filter_map(|m| m.timeline).max());
    let nexts: Vec<Option<u64>> = history
        .iter()
        .skip(1)
        .map(|s| Some(s.timeline))
        .chain([current])
        .collect();
    for (switch, next) in history.iter_mut().zip(nexts) {
        switch.to_timeline = next.filter(|&n| n > switch.timeline);
    }

    let system_id = match keys.initialize {
        Some(e) => match text(&e, "initialize", w) {
            Some("") => {
                w.push(
                    "initialize key is empty: a member is bootstrapping the cluster right now, \
                     or its bootstrap died"
                        .to_string(),
                );
                None
            }
            other => other.map(str::to_string),
        },
        None => None,
    };

    let paused = config.pause || members.iter().any(|m| m.paused);

    let mut summary = ClusterSummary {
        scope: scope.to_string(),
        group,
        leader,
        leader_lease,
        leader_ttl_s,
        members,
        optime,
        timeline,
        sync_standby,
        sync_leader,
        sync_quorum,
        failsafe,
        failover,
        history,
        config,
        system_id,
        paused,
        warnings: Vec::new(),
    };
    let leader_key_present = keys.leader.is_some();
    check(&summary, leader_key_present, w);
    summary.warnings = warnings;
    summary
}

/// Warnings about what the summary shows (parse problems are recorded while reading).
fn check(s: &ClusterSummary, leader_key_present: bool, w: &mut Vec<String>) {
    if !leader_key_present {
        w.push(
            "no leader key: Patroni has no leader; a leader race is on or every member is down"
                .to_string(),
        );
    }
    if let Some(leader) = s.leader.as_deref() {
        let l = escape(leader);
        if s.leader_lease == 0 {
            w.push(format!(
                "leader key for {l} has no lease: it would never expire, so a dead leader would \
                 never be replaced"
            ));
        }
        match s.leader_ttl_s {
            Some(ttl) if ttl < 0 => w.push(format!(
                "leader lease for {l} has expired (etcd reports TTL {ttl}): the leader key is \
                 about to vanish and a leader race will follow"
            )),
            Some(ttl) if ttl < i64::try_from(s.config.loop_wait).unwrap_or(i64::MAX) => {
                w.push(format!(
                "leader lease for {l} has {ttl} s left, less than loop_wait ({} s): the leader is \
                 not renewing it and its key may expire before the next loop, which starts a \
                 leader race",
                s.config.loop_wait
            ))
            }
            _ => {}
        }
        match s.leader_member() {
            None => w.push(format!(
                "leader key names {l} but there is no members/{l} key: the leader is not \
                 publishing its state (its member key was deleted or never written)"
            )),
            Some(m) => {
                if let Some(role) = m.role.as_deref().filter(|_| !m.role_kind().is_leading()) {
                    w.push(format!(
                        "leader key names {l} but {l} reports role {}: it has not finished \
                         promoting, or failed to",
                        escape(role)
                    ));
                }
            }
        }
    }

    for m in &s.members {
        let name = escape(&m.name);
        let is_leader = s.leader.as_deref() == Some(m.name.as_str());
        if let Some(state) = m.state.as_deref().filter(|&st| st != "running") {
            w.push(format!(
                "{name} is in state '{}', not running",
                escape(state)
            ));
        }
        if !is_leader && m.role_kind().is_leading() {
            if let Some(leader) = s.leader.as_deref() {
                w.push(format!(
                    "{name} reports role {} but the leader key names {}: more than one member may \
                     accept writes (split brain), or a demotion is in progress",
                    escape(m.role.as_deref().unwrap_or_default()),
                    escape(leader)
                ));
            }
        }
        if let Some(lag) = m
            .lag_bytes
            .filter(|&l| !is_leader && l > s.config.maximum_lag_on_failover)
        {
            w.push(format!(
                "{name} lags {} behind the leader, more than maximum_lag_on_failover ({}): \
                 Patroni would not choose it for failover",
                units::bytes(lag),
                units::bytes(s.config.maximum_lag_on_failover)
            ));
        }
        if m.pending_restart {
            w.push(format!(
                "{name} has pending_restart: changed PostgreSQL parameters take effect only after \
                 a restart"
            ));
        }
    }

    let on_timeline: Vec<(&str, u64)> = s
        .members
        .iter()
        .filter_map(|m| Some((m.name.as_str(), m.timeline?)))
        .collect();
    if on_timeline.windows(2).any(|p| p[0].1 != p[1].1) {
        let list: Vec<String> = on_timeline
            .iter()
            .map(|(n, t)| format!("{} on {t}", escape(n)))
            .collect();
        w.push(format!(
            "members are on different timelines ({}): a member that did not follow the last \
             promotion needs pg_rewind or a reinit",
            list.join(", ")
        ));
    }

    for standby in &s.sync_standby {
        if s.member(standby).is_none() {
            let st = escape(standby);
            w.push(format!(
                "sync key names {st} as synchronous standby but there is no members/{st} key: \
                 the standby is gone and the sync key is stale"
            ));
        }
    }
    if let (Some(written_by), Some(leader)) = (s.sync_leader.as_deref(), s.leader.as_deref()) {
        if written_by != leader {
            w.push(format!(
                "sync key was written by leader {} but the leader key names {}: the synchronous \
                 standby list is stale until the new leader rewrites it",
                escape(written_by),
                escape(leader)
            ));
        }
    }
    if s.config.synchronous_mode && !s.config.standby_cluster && s.sync_standby.is_empty() {
        w.push(if s.config.synchronous_mode_strict {
            "synchronous_mode_strict is on but no synchronous standby is named: commits wait \
             until a standby comes back"
                .to_string()
        } else {
            "synchronous_mode is on but no synchronous standby is named: commits are not \
             confirmed by any replica and a failover may lose them"
                .to_string()
        });
    }

    if let Some(f) = &s.failover {
        let to = f.candidate.as_deref().map_or_else(
            || "a replica Patroni picks".to_string(),
            |c| escape(c).into_owned(),
        );
        let at = f.scheduled_at.as_deref().map_or_else(
            || "as soon as possible".to_string(),
            |t| format!("at {}", escape(t)),
        );
        w.push(match f.leader.as_deref() {
            Some(from) => format!(
                "a switchover is pending (failover key): from {} to {to}, {at}",
                escape(from)
            ),
            None => format!("a failover is pending (failover key): to {to}, {at}"),
        });
    }
    if s.paused {
        w.push(
            "cluster is paused (maintenance mode): Patroni will not fail over or manage \
             PostgreSQL automatically"
                .to_string(),
        );
    }
}

fn member(
    name: &str,
    e: &Entry<'_>,
    lease_ttl: &dyn Fn(i64) -> Option<i64>,
    w: &mut Vec<String>,
) -> MemberSummary {
    let label = format!("members/{name}");
    let data = match std::str::from_utf8(e.value) {
        // Patroni before 1.0 wrote `postgres://...?application_name=<api_url>`.
        Ok(t) if t.starts_with("postgres") => legacy_member(t),
        _ => parse_object(e, &label, w).unwrap_or_default(),
    };
    let str_field = |k: &str| data.get(k).and_then(as_string);
    let num_field = |k: &str| data.get(k).and_then(as_u64);
    let flag = |k: &str| data.get(k).and_then(as_bool).unwrap_or(false);
    MemberSummary {
        name: name.to_string(),
        role: str_field("role"),
        state: str_field("state"),
        timeline: num_field("timeline"),
        lag_bytes: None,
        api_url: str_field("api_url"),
        conn_url: str_field("conn_url"),
        xlog_location: num_field("xlog_location"),
        receive_lsn: num_field("receive_lsn"),
        replay_lsn: num_field("replay_lsn"),
        replication_state: str_field("replication_state"),
        tags: match data.get("tags") {
            Some(Value::Object(t)) => t.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            _ => BTreeMap::new(),
        },
        pending_restart: flag("pending_restart"),
        paused: flag("pause"),
        version: str_field("version"),
        lease: e.lease,
        ttl_s: if e.lease != 0 {
            lease_ttl(e.lease)
        } else {
            None
        },
    }
}

fn legacy_member(value: &str) -> Map<String, Value> {
    let (base, query) = value.split_once('?').unwrap_or((value, ""));
    let mut data = Map::new();
    data.insert("conn_url".into(), Value::String(base.to_string()));
    if let Some(api) = query
        .split('&')
        .find_map(|p| p.strip_prefix("application_name="))
    {
        data.insert("api_url".into(), Value::String(api.to_string()));
    }
    data
}

fn failover(e: &Entry<'_>, w: &mut Vec<String>) -> Option<Failover> {
    let t = text(e, "failover", w)?;
    if t.trim().is_empty() {
        return None;
    }
    let f = match serde_json::from_str::<Value>(t) {
        Ok(Value::Object(m)) => Failover {
            leader: m.get("leader").and_then(as_string),
            candidate: m.get("member").and_then(as_string),
            scheduled_at: m.get("scheduled_at").and_then(as_string),
        },
        // Patroni reads any other JSON as no request.
        Ok(_) => return None,
        // Patroni's old text form: `leader:member`.
        Err(_) => {
            let mut parts = t.split(':').map(str::trim);
            let non_empty = |p: Option<&str>| p.filter(|s| !s.is_empty()).map(str::to_string);
            Failover {
                leader: non_empty(parts.next()),
                candidate: non_empty(parts.next()),
                scheduled_at: None,
            }
        }
    };
    (f.leader.is_some() || f.candidate.is_some()).then_some(f)
}

fn switches(history: &Value, w: &mut Vec<String>) -> Vec<Switch> {
    let Value::Array(lines) = history else {
        w.push("history is not a JSON list; ignored".to_string());
        return Vec::new();
    };
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let Some((timeline, fields)) = line
            .as_array()
            .and_then(|f| Some((f.first().and_then(as_u64)?, f)))
        else {
            w.push(format!("history entry {} is malformed; ignored", i + 1));
            continue;
        };
        let field = |n: usize| fields.get(n);
        out.push(Switch {
            timeline,
            lsn: field(1).and_then(as_u64),
            reason: field(2).and_then(as_string),
            timestamp: field(3).and_then(as_string),
            new_leader: field(4).and_then(as_string),
            to_timeline: None,
        });
    }
    out
}

/// The value as UTF-8 text, or a warning.
fn text<'v>(e: &Entry<'v>, name: &str, w: &mut Vec<String>) -> Option<&'v str> {
    match std::str::from_utf8(e.value) {
        Ok(t) => Some(t),
        Err(_) => {
            w.push(format!("{} is not valid UTF-8; ignored", escape(name)));
            None
        }
    }
}

fn parse_json(e: &Entry<'_>, name: &str, w: &mut Vec<String>) -> Option<Value> {
    let t = text(e, name, w)?;
    match serde_json::from_str(t) {
        Ok(v) => Some(v),
        Err(err) => {
            w.push(format!(
                "{} is not valid JSON ({}); ignored",
                escape(name),
                escape(&err.to_string())
            ));
            None
        }
    }
}

fn parse_object(e: &Entry<'_>, name: &str, w: &mut Vec<String>) -> Option<Map<String, Value>> {
    match parse_json(e, name, w)? {
        Value::Object(m) => Some(m),
        _ => {
            w.push(format!("{} is not a JSON object; ignored", escape(name)));
            None
        }
    }
}

/// A non-negative integer, also from a string of digits.
fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean as Patroni reads one: `true`/`false`, or `on`/`yes`/`1` and `off`/`no`/`0`.
fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" | "1" => Some(true),
            "off" | "false" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A non-empty string.
fn as_string(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}
