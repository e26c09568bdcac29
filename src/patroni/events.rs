//! What happened to the Patroni clusters, told from the changes of their keys: each change the
//! watch brings is summarized again for its cluster and compared with what was there before.
//! Pure: the caller hands over the summaries after each revision and the Unix second it saw it.
//!
//! How the leader's story is read:
//! - the leader key and the leader's member key share one lease, so both going in one revision
//!   means the lease expired (the primary stopped renewing it); the leader key going alone means
//!   Patroni released it (a switchover, or a clean stop of the primary);
//! - a new holder of the leader key is a **switchover** when the `failover` key named the old
//!   leader (as `patronictl switchover` writes it), a **manual failover** when it named only a
//!   candidate (`patronictl failover`), else an **automatic failover**. Patroni clears the key
//!   right after the new leader takes over, so a request seen shortly before counts as well.

use std::collections::{BTreeMap, HashMap};

use super::{ClusterSummary, Failover};

/// A request cleared this many seconds before the leader changed still explains the change.
pub const REQUEST_GRACE_S: u64 = 30;

/// How bad an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warn,
    Error,
}

/// What kind of thing happened (the postmortem counts some of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A switchover was asked (the `failover` key names the leader).
    SwitchoverAsked,
    /// A failover was asked (the `failover` key names only a candidate).
    FailoverAsked,
    /// The leader key is gone: its lease expired (`expired`) or its holder released it.
    LeaderLost {
        expired: bool,
    },
    /// The member that held the leader key holds it again.
    LeaderRegained,
    /// The first holder of the leader key seen (a new cluster, or one first seen leaderless).
    LeaderTaken,
    /// The leader changed after a switchover was asked.
    Switchover,
    /// The leader changed after a failover was asked.
    ManualFailover,
    /// The leader changed and nobody asked: the old leader's key expired or was released.
    Failover,
    MemberJoined,
    MemberLeft,
    /// A member left `running`.
    MemberStopped,
    /// A member is `running` again.
    MemberStarted,
    TimelineChanged,
    PendingRestart {
        on: bool,
    },
    /// Maintenance mode (`pause`).
    Paused {
        on: bool,
    },
    SyncChanged,
    /// Every key of the cluster is gone.
    ClusterGone,
}

impl Kind {
    pub fn severity(self) -> Severity {
        match self {
            Kind::LeaderLost { expired: true } | Kind::Failover => Severity::Error,
            Kind::FailoverAsked
            | Kind::LeaderLost { expired: false }
            | Kind::ManualFailover
            | Kind::MemberLeft
            | Kind::MemberStopped
            | Kind::PendingRestart { on: true }
            | Kind::Paused { on: true }
            | Kind::ClusterGone => Severity::Warn,
            _ => Severity::Info,
        }
    }

    /// A change of the PostgreSQL primary (what a postmortem counts as a failover or switchover).
    pub fn is_leader_change(self) -> bool {
        matches!(
            self,
            Kind::Switchover | Kind::ManualFailover | Kind::Failover
        )
    }
}

/// One thing that happened to one Patroni cluster. The text quotes etcd's text raw: escape it
/// before it is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgEvent {
    pub at: u64,
    /// `pg-meta`, or `pg-citus/1`.
    pub cluster: String,
    pub kind: Kind,
    pub text: String,
}

/// What the events compare: the parts of a summary that make news.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Digest {
    leader: Option<String>,
    members: BTreeMap<String, MemberDigest>,
    timeline: Option<u64>,
    paused: bool,
    sync: Vec<String>,
    failover: Option<Failover>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct MemberDigest {
    state: Option<String>,
    role: Option<String>,
    pending_restart: bool,
    lease: i64,
}

impl Digest {
    fn of(s: &ClusterSummary) -> Digest {
        Digest {
            leader: s.leader.clone(),
            members: s
                .members
                .iter()
                .map(|m| {
                    (
                        m.name.clone(),
                        MemberDigest {
                            state: m.state.clone(),
                            role: m.role.clone(),
                            pending_restart: m.pending_restart,
                            lease: m.lease,
                        },
                    )
                })
                .collect(),
            timeline: s.timeline,
            paused: s.paused,
            sync: s.sync_standby.clone(),
            failover: s.failover.clone(),
        }
    }
}

/// One cluster as last seen, with what its story needs from before.
#[derive(Debug, Clone, Default)]
struct Known {
    digest: Digest,
    leader_lease: i64,
    /// The last member that held the leader key (kept while there is none).
    last_leader: Option<String>,
    /// When the leader key went, and whether its lease expired.
    lost: Option<(u64, bool)>,
    /// The last switchover or failover request, and when it was cleared (`None`: still there).
    request: Option<(Failover, Option<u64>)>,
    /// The last timeline known (the summary has none while no member leads).
    timeline: Option<u64>,
}

/// Every Patroni cluster's last state; turns new summaries into events.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    known: HashMap<String, Known>,
}

impl Tracker {
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// The clusters known, with whether each holds its leader key now.
    pub fn leader_keys(&self) -> impl Iterator<Item = (&str, bool)> {
        self.known
            .iter()
            .map(|(label, k)| (label.as_str(), k.digest.leader.is_some()))
    }

    /// How many clusters are known.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// A full read of the namespace (the first load, or a reload after the watch was lost):
    /// every cluster compared with what was known. The first load tells nothing: what was
    /// there before etcdeck looked is not news.
    pub fn load(&mut self, at: u64, summaries: &[ClusterSummary], first: bool) -> Vec<PgEvent> {
        if first {
            self.known.clear();
            for s in summaries {
                self.known.insert(s.label(), Known::first(s));
            }
            return Vec::new();
        }
        self.compare(at, summaries, |_| true)
    }

    /// The clusters of one scope after a revision that touched its keys: `summaries` holds what
    /// the scope's keys say now (several for Citus groups, none when every key is gone).
    pub fn scope(&mut self, at: u64, scope: &str, summaries: &[ClusterSummary]) -> Vec<PgEvent> {
        self.compare(at, summaries, |label| label_scope(label) == scope)
    }

    /// `summaries` against what was known of the clusters `covered` accepts: one of those
    /// missing from `summaries` is gone.
    fn compare(
        &mut self,
        at: u64,
        summaries: &[ClusterSummary],
        covered: impl Fn(&str) -> bool,
    ) -> Vec<PgEvent> {
        let mut out = Vec::new();
        let gone: Vec<String> = self
            .known
            .keys()
            .filter(|l| covered(l) && !summaries.iter().any(|s| &s.label() == *l))
            .cloned()
            .collect();
        for label in gone {
            out.extend(self.cluster(at, &label, None));
        }
        for s in summaries {
            out.extend(self.cluster(at, &s.label(), Some(s)));
        }
        out
    }

    /// One cluster's new summary (`None`: its keys are gone) against what was known.
    fn cluster(&mut self, at: u64, label: &str, now: Option<&ClusterSummary>) -> Vec<PgEvent> {
        let mut out = Vec::new();
        let mut say = |kind: Kind, text: String| {
            out.push(PgEvent {
                at,
                cluster: label.to_string(),
                kind,
                text: format!("{label}: {text}"),
            })
        };
        let Some(now) = now else {
            if self.known.remove(label).is_some() {
                say(
                    Kind::ClusterGone,
                    "every Patroni key of the cluster is gone (removed, or its namespace was cleared)"
                        .into(),
                );
            }
            return out;
        };
        let Some(k) = self.known.get_mut(label) else {
            let k = Known::first(now);
            let members = now.members.len();
            say(
                Kind::MemberJoined,
                format!(
                    "Patroni cluster appeared with {members} member(s){}",
                    now.leader
                        .as_deref()
                        .map(|l| format!(", {l} holds the leader key"))
                        .unwrap_or_default()
                ),
            );
            self.known.insert(label.to_string(), k);
            return out;
        };
        let new = Digest::of(now);
        let old = std::mem::replace(&mut k.digest, new.clone());
        if old == new {
            return out;
        }

        // The request first: it comes before the change it asks for.
        match (&old.failover, &new.failover) {
            (None, Some(f)) => {
                k.request = Some((f.clone(), None));
                let (kind, text) = asked(f, old.leader.as_deref());
                say(kind, text);
            }
            (Some(_), None) => {
                if let Some((_, cleared)) = &mut k.request {
                    cleared.get_or_insert(at);
                }
            }
            (Some(a), Some(b)) if a != b => {
                k.request = Some((b.clone(), None));
                let (kind, text) = asked(b, old.leader.as_deref());
                say(kind, text);
            }
            _ => {}
        }

        // The leader key.
        match (&old.leader, &new.leader) {
            (Some(a), None) => {
                // Its lease went with it when the leader's member key went in the same revision.
                let expired = old.members.contains_key(a) && !new.members.contains_key(a);
                k.lost = Some((at, expired));
                k.last_leader = Some(a.clone());
                let text = if expired {
                    format!("leader key lost: the lease of {a} expired; no primary until a member takes the key")
                } else {
                    format!("leader key released by {a}")
                };
                say(Kind::LeaderLost { expired }, text);
            }
            (_, Some(b)) if old.leader.as_ref() != Some(b) => {
                let without = k
                    .lost
                    .take()
                    .filter(|_| old.leader.is_none())
                    .map(|(since, expired)| (at.saturating_sub(since), expired));
                let previous = old.leader.clone().or_else(|| k.last_leader.clone());
                let request = k
                    .request
                    .take()
                    .filter(|(_, cleared)| cleared.is_none_or(|c| at <= c + REQUEST_GRACE_S));
                let after = without
                    .filter(|(secs, _)| *secs > 0)
                    .map(|(secs, _)| format!(" after {secs} s without a leader key"))
                    .unwrap_or_default();
                match previous {
                    Some(a) if &a == b => say(
                        Kind::LeaderRegained,
                        format!("{b} holds the leader key again{after}"),
                    ),
                    Some(a) => {
                        let (kind, why) = match &request {
                            Some((f, _)) if f.is_switchover() => (Kind::Switchover, "asked for"),
                            Some(_) => (Kind::ManualFailover, "a failover was asked"),
                            None => match without {
                                Some((_, true)) => (
                                    Kind::Failover,
                                    "nobody asked: the old leader's lease expired",
                                ),
                                Some((_, false)) => (
                                    Kind::Failover,
                                    "nobody asked: the old leader released the key",
                                ),
                                None => (Kind::Failover, "nobody asked"),
                            },
                        };
                        let word = match kind {
                            Kind::Switchover => "switchover",
                            _ => "failover",
                        };
                        say(kind, format!("{word} {a} -> {b} ({why}){after}"));
                    }
                    None => say(Kind::LeaderTaken, format!("{b} took the leader key{after}")),
                }
                k.last_leader = Some(b.clone());
            }
            _ => {}
        }
        k.leader_lease = now.leader_lease;

        // Members.
        for (name, m) in &new.members {
            match old.members.get(name) {
                None => say(
                    Kind::MemberJoined,
                    format!(
                        "member {name} joined ({}, {})",
                        m.role.as_deref().unwrap_or("no role"),
                        m.state.as_deref().unwrap_or("no state")
                    ),
                ),
                Some(o) => {
                    let running = |d: &MemberDigest| d.state.as_deref() == Some("running");
                    if running(o) && !running(m) {
                        say(
                            Kind::MemberStopped,
                            format!(
                                "{name} is {} (was running)",
                                m.state.as_deref().unwrap_or("without a state")
                            ),
                        );
                    } else if !running(o) && running(m) {
                        say(
                            Kind::MemberStarted,
                            format!(
                                "{name} is running again (was {})",
                                o.state.as_deref().unwrap_or("without a state")
                            ),
                        );
                    }
                    if o.pending_restart != m.pending_restart {
                        let text = if m.pending_restart {
                            format!("{name} needs a restart (pending_restart)")
                        } else {
                            format!("{name}: restart no longer pending")
                        };
                        say(
                            Kind::PendingRestart {
                                on: m.pending_restart,
                            },
                            text,
                        );
                    }
                }
            }
        }
        for name in old.members.keys() {
            if !new.members.contains_key(name) {
                say(
                    Kind::MemberLeft,
                    format!("member {name} left (its key is gone: Patroni stopped, or its lease expired)"),
                );
            }
        }

        if let Some(b) = new.timeline {
            if let Some(a) = k.timeline.filter(|a| *a != b) {
                say(Kind::TimelineChanged, format!("timeline {a} -> {b}"));
            }
            k.timeline = Some(b);
        }
        if old.paused != new.paused {
            let text = if new.paused {
                "maintenance mode on (paused): Patroni will not fail over".to_string()
            } else {
                "maintenance mode off: Patroni manages failover again".to_string()
            };
            say(Kind::Paused { on: new.paused }, text);
        }
        if old.sync != new.sync {
            let list = |v: &[String]| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.join(", ")
                }
            };
            say(
                Kind::SyncChanged,
                format!("sync standby {} -> {}", list(&old.sync), list(&new.sync)),
            );
        }
        out
    }
}

impl Known {
    fn first(s: &ClusterSummary) -> Known {
        Known {
            digest: Digest::of(s),
            leader_lease: s.leader_lease,
            last_leader: s.leader.clone(),
            lost: None,
            request: s.failover.clone().map(|f| (f, None)),
            timeline: s.timeline,
        }
    }
}

/// The event for a new `failover` key.
fn asked(f: &Failover, leader: Option<&str>) -> (Kind, String) {
    let to = f.candidate.as_deref().unwrap_or("a healthy replica");
    let when = f
        .scheduled_at
        .as_deref()
        .map(|t| format!(", scheduled at {t}"))
        .unwrap_or_default();
    match &f.leader {
        Some(from) => (
            Kind::SwitchoverAsked,
            format!("switchover asked: {from} -> {to}{when}"),
        ),
        None => (
            Kind::FailoverAsked,
            format!(
                "failover asked: {} -> {to}{when}",
                leader.unwrap_or("no leader")
            ),
        ),
    }
}

/// The scope of a label (`pg-citus/1` is scope `pg-citus`).
fn label_scope(label: &str) -> &str {
    match label.rsplit_once('/') {
        Some((scope, group)) if group.parse::<u32>().is_ok() => scope,
        _ => label,
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
