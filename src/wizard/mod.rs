//! The wizards: maintenance procedures as pure state machines, shared by the console and the
//! command line.
//!
//! A wizard is built in three parts:
//! - a **planner** per procedure (one file each: [`snapshot`], [`compact`], [`defrag`],
//!   [`alarm`], [`move_leader`]): preflight checks over the cluster model, each refusal saying
//!   why and what to do, then a [`Plan`] of [`Step`]s, each naming the member it goes to and the
//!   failures the cluster tolerates while it runs;
//! - the [`Wizard`] machine here, advanced by [`Event`]s (a confirmation, a step's result, an
//!   observation of the cluster for a health gate, a cancel) and answering with the next
//!   [`Action`]; it never touches the network, so every rule is tested without one;
//! - the driver ([`drive`]) that runs the actions against the live cluster through
//!   `etcd::ops`, with the [`journal`] (resume after a crash) and the [`audit`] log.
//!
//! The [`gate`] between steps: every voter answers, one leader, applied indexes within a small
//! spread, no CORRUPT alarm, and NOSPACE only where the plan says so (inside the recovery).

pub mod alarm;
pub mod audit;
pub mod compact;
pub mod defrag;
pub mod drive;
pub mod journal;
pub mod member;
pub mod move_leader;
pub mod revisions;
pub mod runbook;
pub mod setup;
pub mod snapshot;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::etcd::model::{MemberFacts, Role};
use crate::etcd::status::{ClusterStatus, MemberStatus};

/// How long a health gate waits for the cluster to pass before it stops the wizard.
pub const GATE_WAIT: Duration = Duration::from_secs(20);
/// How often a gate that has not passed looks again.
pub const GATE_RETRY: Duration = Duration::from_millis(500);
/// The applied-index spread between voters that still counts as "caught up".
pub const MAX_APPLIED_SPREAD: u64 = 100;

/// The procedures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    Snapshot,
    Compact,
    Defrag,
    AlarmDisarm,
    AlarmRecover,
    MoveLeader,
    MemberAdd,
    MemberPromote,
    MemberRemove,
    MemberReplace,
}

impl Op {
    /// The command that runs it: `defrag`, `alarm recover`.
    pub fn command(self) -> &'static str {
        match self {
            Op::Snapshot => "snapshot save",
            Op::Compact => "compact",
            Op::Defrag => "defrag",
            Op::AlarmDisarm => "alarm disarm",
            Op::AlarmRecover => "alarm recover",
            Op::MoveLeader => "move-leader",
            Op::MemberAdd => "member add",
            Op::MemberPromote => "member promote",
            Op::MemberRemove => "member remove",
            Op::MemberReplace => "member replace",
        }
    }

    /// A name for files and JSON: `defrag`, `alarm-recover`.
    pub fn slug(self) -> &'static str {
        match self {
            Op::Snapshot => "snapshot",
            Op::Compact => "compact",
            Op::Defrag => "defrag",
            Op::AlarmDisarm => "alarm-disarm",
            Op::AlarmRecover => "alarm-recover",
            Op::MoveLeader => "move-leader",
            Op::MemberAdd => "member-add",
            Op::MemberPromote => "member-promote",
            Op::MemberRemove => "member-remove",
            Op::MemberReplace => "member-replace",
        }
    }
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// Stream a snapshot from `member` into `path` (verified, fsynced, mode 0600).
    Snapshot { member: u64, path: PathBuf },
    /// The health gate; NOSPACE tolerated inside the NOSPACE recovery only. The members in
    /// `except` are left out (a dead member about to be removed).
    Gate {
        tolerate_nospace: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        except: Vec<u64>,
    },
    /// A pause that lets the cluster settle between members.
    Settle { ms: u64 },
    /// Hand leadership from the leader to `to`.
    MoveLeader { from: u64, to: u64 },
    /// Defragment one member; the sizes are the ones seen when planning.
    Defragment {
        member: u64,
        db_size: i64,
        in_use: i64,
    },
    /// Compact the history up to `revision` (physical: waits until applied).
    Compact { revision: i64 },
    /// Every member's database below `percent` of the quota (`quota` bytes).
    BelowQuota { percent: u8, quota: i64 },
    /// Disarm the NOSPACE alarm of one member.
    Disarm { member: u64 },
    /// Write a scratch key and delete it again: the cluster takes writes.
    VerifyWrite { key: String },
    /// Wait until every member names `leader` as the leader.
    VerifyLeader { leader: u64 },
    /// Add, comment out or delete one host of the inventory's `etcd` group (diffed, verified,
    /// written atomically with a backup).
    InventoryEdit {
        file: PathBuf,
        change: member::InventoryChange,
    },
    /// Issue the member's certificate from the CA (Pigsty's subject and SANs).
    Certificate {
        member: member::MemberSpec,
        provision: member::Provision,
        ca_cert: PathBuf,
        ca_key: PathBuf,
    },
    /// Render the member's `etcd.conf` (initial-cluster from the live member list, state
    /// `existing`) and its `etcdctl.sh`.
    Config {
        member: member::MemberSpec,
        provision: member::Provision,
    },
    /// Add the member to the cluster as a learner (sent to the leader).
    AddLearner { member: member::MemberSpec },
    /// Start the member through the provisioner.
    StartMember {
        member: member::MemberSpec,
        provision: member::Provision,
    },
    /// Wait until the learner at `peer_url` has caught up with the leader.
    CatchUp { peer_url: String },
    /// Promote the learner at `peer_url` (sent to the leader; retried while not in sync).
    Promote { peer_url: String },
    /// Walk the places that name the cluster's members (etcd.conf, etcdctl.sh, Patroni,
    /// vip-manager, monitoring) after `member` was added or removed.
    References {
        member: member::MemberSpec,
        added: bool,
        provision: member::Provision,
    },
    /// Remove the member at `peer_url` (`id` when planned) from the cluster.
    RemoveMember { id: u64, peer_url: String },
    /// Stop the removed member and delete its data, through the provisioner; only once the
    /// member list no longer has it.
    Purge {
        member: member::MemberSpec,
        provision: member::Provision,
        override_safeguard: bool,
    },
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Stable for the life of the operation: the journal records steps by it.
    pub key: String,
    pub kind: StepKind,
    /// What it does, in words.
    pub text: String,
    /// The member it is sent to (name), if one.
    pub member: Option<String>,
    /// The endpoint it is sent to.
    pub via: Option<String>,
    /// Voter failures the cluster tolerates while the step runs.
    pub tolerates: usize,
    /// Changes the cluster (audited, confirmed).
    pub changes: bool,
}

/// A preflight check that failed: why, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub why: String,
    pub fix: String,
}

impl Refusal {
    pub fn new(why: impl Into<String>, fix: impl Into<String>) -> Refusal {
        Refusal {
            why: why.into(),
            fix: fix.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.why, self.fix)
    }
}

/// Everything a wizard will do, shown before anything happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub op: Op,
    #[serde(with = "hex_id")]
    pub cluster_id: u64,
    /// What the operator types to confirm (a member or the cluster name); `None`: nothing
    /// destructive, no confirmation.
    pub confirm: Option<String>,
    /// Voter failures tolerated now.
    pub tolerates_now: usize,
    /// Facts shown before the steps (the compaction preview, sizes, what NOSPACE means).
    pub facts: Vec<String>,
    pub warnings: Vec<String>,
    pub steps: Vec<Step>,
}

mod hex_id {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:x}"))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let s = String::deserialize(d)?;
        u64::from_str_radix(&s, 16).map_err(serde::de::Error::custom)
    }
}

impl Plan {
    /// The plan as text: facts, warnings, then one line per step.
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let esc = crate::text::escape;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} on cluster {:x}: {} step(s); {} voter failure(s) tolerated now",
            self.op.command(),
            self.cluster_id,
            self.steps.len(),
            self.tolerates_now
        );
        for f in &self.facts {
            let _ = writeln!(out, "  {}", esc(f));
        }
        for w in &self.warnings {
            let _ = writeln!(out, "  warning: {}", esc(w));
        }
        for (i, s) in self.steps.iter().enumerate() {
            let to = match (&s.member, &s.via) {
                (Some(m), Some(v)) => format!(" -> {} ({})", esc(m), esc(v)),
                (None, Some(v)) => format!(" -> {}", esc(v)),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  {:>2}. {}{to}  [tolerates {}]",
                i + 1,
                esc(&s.text),
                s.tolerates
            );
        }
        out
    }

    pub fn changes(&self) -> bool {
        self.steps.iter().any(|s| s.changes)
    }
}

/// Options every destructive wizard shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// Take a snapshot first (on by default).
    pub snapshot: bool,
    /// Where the automatic snapshot goes.
    pub snapshot_dir: PathBuf,
    /// Unix seconds now (names the snapshot file).
    pub now: u64,
    /// The cluster's name for confirmations (the inventory's `etcd_cluster`, else derived).
    pub cluster_name: String,
}

/// The name an operator types to confirm a cluster-wide change: the inventory's cluster name
/// when known, else the stem of the member names (`etcd-1` -> `etcd`), else the id in hex.
pub fn cluster_name(status: &ClusterStatus, inventory: Option<&str>) -> String {
    if let Some(n) = inventory.filter(|n| !n.is_empty()) {
        return n.to_string();
    }
    let stems: BTreeSet<String> = status
        .members
        .iter()
        .filter(|m| !m.name.is_empty())
        .map(|m| {
            crate::etcd::model::natural_key(&m.name)
                .0
                .trim_end_matches(['-', '_'])
                .to_string()
        })
        .collect();
    match stems.into_iter().collect::<Vec<_>>().as_slice() {
        [one] if !one.is_empty() => one.clone(),
        _ => format!("{:x}", status.cluster_id),
    }
}

/// The member name for a step: its name, or its id in hex while it has none.
pub fn name(m: &MemberStatus) -> String {
    if m.name.is_empty() {
        format!("{:x}", m.id)
    } else {
        m.name.clone()
    }
}

/// The first snapshot-capable follower: started, answering, a voter, not the leader; the one
/// furthest along first. The leader when it is the only one.
pub fn snapshot_source(status: &ClusterStatus) -> Option<&MemberStatus> {
    let mut voters: Vec<&MemberStatus> = status
        .members
        .iter()
        .filter(|m| m.started && m.reachable && !m.is_learner && !m.client_urls.is_empty())
        .collect();
    voters.sort_by_key(|m| (m.is_leader, std::cmp::Reverse(m.raft_applied_index)));
    voters.first().copied()
}

/// The snapshot step most plans begin with.
pub fn snapshot_step(status: &ClusterStatus, c: &Common) -> Result<Step, Refusal> {
    let src = snapshot_source(status).ok_or_else(|| {
        Refusal::new(
            "no started voter answers to take the snapshot from",
            "bring a member back, or pass --no-snapshot to go on without one",
        )
    })?;
    let path = c.snapshot_dir.join(format!(
        "{:x}-{}-{}.db",
        status.cluster_id,
        crate::wizard::snapshot::stamp(c.now),
        src.name
            .replace(|ch: char| !ch.is_ascii_alphanumeric() && ch != '-', "_")
    ));
    Ok(Step {
        key: "snapshot".into(),
        text: format!("snapshot to {}", path.display()),
        kind: StepKind::Snapshot {
            member: src.id,
            path,
        },
        member: Some(name(src)),
        via: src.client_urls.first().cloned(),
        tolerates: status.quorum().tolerates_now(),
        changes: false,
    })
}

/// A gate step with a key unique in the plan.
pub fn gate_step(key: impl Into<String>, tolerate_nospace: bool, tolerates: usize) -> Step {
    Step {
        key: key.into(),
        kind: StepKind::Gate {
            tolerate_nospace,
            except: Vec::new(),
        },
        text: if tolerate_nospace {
            "health gate (NOSPACE tolerated)".into()
        } else {
            "health gate: every voter answers, one leader, caught up, no alarm".into()
        },
        member: None,
        via: None,
        tolerates,
        changes: false,
    }
}

/// The health gate over one look at the cluster: `Ok` when it may go on, else why not.
pub fn gate(s: &ClusterStatus, tolerate_nospace: bool) -> Result<(), String> {
    gate_except(s, tolerate_nospace, &[])
}

/// [`gate`] with the members in `except` left out (a dead member about to be removed): every
/// other voter must answer, so quorum holds without them.
pub fn gate_except(
    s: &ClusterStatus,
    tolerate_nospace: bool,
    except: &[u64],
) -> Result<(), String> {
    let esc = crate::text::escape;
    let voters: Vec<&MemberStatus> = s
        .members
        .iter()
        .filter(|m| !m.is_learner && !except.contains(&m.id))
        .collect();
    if let Some(m) = voters.iter().find(|m| !m.started) {
        return Err(format!("voter {} has not started", esc(&name(m))));
    }
    if let Some(m) = voters.iter().find(|m| !m.reachable) {
        return Err(format!(
            "voter {} does not answer ({})",
            esc(&name(m)),
            esc(m.error_short.as_deref().unwrap_or("no answer"))
        ));
    }
    let Some(leader) = s.leader else {
        return Err("no leader".into());
    };
    if let Some(m) = voters
        .iter()
        .filter(|m| m.reachable)
        .find(|m| m.sees_leader != leader)
    {
        return Err(format!(
            "members disagree on the leader: {} sees {:x}, the cluster {}",
            esc(&name(m)),
            m.sees_leader,
            esc(&s.name_of(leader))
        ));
    }
    let applied: Vec<u64> = voters.iter().map(|m| m.raft_applied_index).collect();
    let (lo, hi) = (
        applied.iter().min().copied().unwrap_or(0),
        applied.iter().max().copied().unwrap_or(0),
    );
    if hi - lo > MAX_APPLIED_SPREAD {
        let behind = voters
            .iter()
            .min_by_key(|m| m.raft_applied_index)
            .map(|m| name(m))
            .unwrap_or_default();
        return Err(format!(
            "{} is {} entries behind (applied index {lo} against {hi})",
            esc(&behind),
            hi - lo
        ));
    }
    for a in s.alarms.iter().filter(|a| !except.contains(&a.member_id)) {
        if a.alarm == "NOSPACE" && tolerate_nospace {
            continue;
        }
        return Err(format!("alarm {} on {}", a.alarm, esc(&a.member)));
    }
    if let Some(e) = &s.alarms_error {
        return Err(format!("the alarm list could not be read: {}", esc(e)));
    }
    Ok(())
}

/// The member with this id, in a look at the cluster.
pub fn member(s: &ClusterStatus, id: u64) -> Option<&MemberStatus> {
    s.members.iter().find(|m| m.id == id)
}

/// Refusals every procedure shares: a voter down or unstarted, no leader, a learner catching up.
pub fn common_refusals(s: &ClusterStatus) -> Vec<Refusal> {
    let mut out = Vec::new();
    for m in s.members.iter().filter(|m| !m.is_learner) {
        if !m.started {
            out.push(Refusal::new(
                format!("voter {} was added but never started", name(m)),
                "start it or remove it (`etcdeck member remove`) first",
            ));
        } else if !m.reachable {
            out.push(Refusal::new(
                format!(
                    "voter {} does not answer ({})",
                    name(m),
                    m.error_short.as_deref().unwrap_or("no answer")
                ),
                "bring it back (or replace it) before maintenance: one more failure during it \
                 would cost quorum",
            ));
        }
    }
    if out.is_empty() && s.leader.is_none() {
        out.push(Refusal::new(
            "the cluster has no leader",
            "wait for the election to end (`etcdeck status`)",
        ));
    }
    if s.alarms.iter().any(|a| a.alarm == "CORRUPT") {
        out.push(Refusal::new(
            "a CORRUPT alarm is raised",
            "a member's data differs from the others: find it (`etcdeck alarm list`), replace \
             it, and only then disarm",
        ));
    }
    out
}

/// The leader member, if it answers.
pub fn leader(s: &ClusterStatus) -> Option<&MemberStatus> {
    s.leader
        .and_then(|id| member(s, id))
        .filter(|m| m.reachable)
}

/// A member's role in a look at the cluster.
pub fn role(s: &ClusterStatus, m: &MemberStatus) -> Role {
    crate::etcd::model::role_of(m, s.leader)
}

/// The voters answering, for `MemberFacts` users.
pub fn answering_voters(s: &ClusterStatus) -> impl Iterator<Item = &MemberStatus> {
    s.members.iter().filter(|m| !m.is_learner() && m.answers())
}

// ---------------------------------------------------------------------------------------------
// The machine.

/// Where a wizard is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "phase", content = "why", rename_all = "snake_case")]
pub enum Phase {
    /// The plan is shown; waiting for the confirmation (or none is needed: `Confirmed` at once).
    Confirming,
    Running,
    /// A gate failed or a step was refused: stopped with nothing forced; resumable.
    Stopped(String),
    /// A step failed with an error.
    Failed(String),
    Cancelled,
    Done,
}

impl Phase {
    pub fn is_over(&self) -> bool {
        !matches!(self, Phase::Confirming | Phase::Running)
    }
}

/// What the driver reports to the machine.
#[derive(Debug, Clone)]
pub enum Event {
    /// The operator's answer to the confirmation (what they typed).
    Typed(String),
    /// `--yes`: confirmed without typing.
    Yes,
    Cancel,
    /// The step at `index` succeeded (what it did, in words).
    StepOk {
        index: usize,
        detail: String,
    },
    /// The step at `index` found its work already done (on resume: re-derived from the cluster).
    StepWasDone {
        index: usize,
        detail: String,
    },
    /// The step at `index` failed.
    StepFailed {
        index: usize,
        error: String,
    },
    /// The step at `index` was refused by a check of its own (a gate, a quota check).
    StepStopped {
        index: usize,
        why: String,
    },
    /// A look at the cluster for the gate step at `index`, `waited` since the gate began.
    Observed {
        index: usize,
        status: Box<ClusterStatus>,
        waited: Duration,
    },
}

/// What the machine asks the driver to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run the step at this index.
    Run(usize),
    /// Look at the cluster (again, after `after`) for the gate at this index.
    Observe { index: usize, after: Duration },
    /// Nothing more: the phase says how it ended.
    Finish,
    /// Waiting for the operator.
    Wait,
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepOutcome {
    pub key: String,
    pub text: String,
    /// `done`, `was done`, `failed`, `stopped`, `skipped (done before)`.
    pub outcome: String,
    pub detail: String,
    /// How long the step took, when the driver ran it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub took_ms: Option<u64>,
}

/// A plan being carried out.
#[derive(Debug, Clone)]
pub struct Wizard {
    pub plan: Plan,
    pub phase: Phase,
    /// Keys of the steps done (in this run or, on resume, an earlier one).
    pub done: BTreeSet<String>,
    /// The step running now.
    pub current: Option<usize>,
    pub outcomes: Vec<StepOutcome>,
    /// Cancel asked while a step ran: stop after it.
    cancel_asked: bool,
    /// The current step has been started (a cancel then waits for it to end).
    in_flight: bool,
    /// How long a health gate waits for the cluster to pass before it stops the wizard.
    pub gate_wait: Duration,
}

impl Wizard {
    pub fn new(plan: Plan) -> Wizard {
        Wizard::resume(plan, BTreeSet::new())
    }

    /// Carry on a plan of which the steps in `done` were done before (from the journal): they are
    /// never run again.
    pub fn resume(plan: Plan, done: BTreeSet<String>) -> Wizard {
        let outcomes = plan
            .steps
            .iter()
            .filter(|s| done.contains(&s.key))
            .map(|s| StepOutcome {
                key: s.key.clone(),
                text: s.text.clone(),
                outcome: "skipped (done before)".into(),
                detail: String::new(),
                took_ms: None,
            })
            .collect();
        Wizard {
            plan,
            phase: Phase::Confirming,
            done,
            current: None,
            outcomes,
            cancel_asked: false,
            in_flight: false,
            gate_wait: GATE_WAIT,
        }
    }

    /// The driver starts the current step: from now on a cancel waits for it to end.
    pub fn begin(&mut self, index: usize) {
        if self.current == Some(index) {
            self.in_flight = true;
        }
    }

    /// Whether the typed answer confirms.
    pub fn confirms(&self, typed: &str) -> bool {
        match &self.plan.confirm {
            None => true,
            Some(word) => typed.trim() == word,
        }
    }

    /// The first step not done, from the start (gates and pauses are never "done" for good: a
    /// gate before a step not yet done runs again on resume).
    fn next_step(&self, from: usize) -> Option<usize> {
        (from..self.plan.steps.len()).find(|&i| !self.done.contains(&self.plan.steps[i].key))
    }

    fn run_from(&mut self, from: usize) -> Action {
        if self.cancel_asked {
            self.phase = Phase::Cancelled;
            self.current = None;
            return Action::Finish;
        }
        match self.next_step(from) {
            Some(i) => {
                self.current = Some(i);
                match self.plan.steps[i].kind {
                    StepKind::Gate { .. } => Action::Observe {
                        index: i,
                        after: Duration::ZERO,
                    },
                    _ => Action::Run(i),
                }
            }
            None => {
                self.current = None;
                self.phase = Phase::Done;
                Action::Finish
            }
        }
    }

    fn record(&mut self, index: usize, outcome: &str, detail: String) {
        let s = &self.plan.steps[index];
        self.outcomes.push(StepOutcome {
            key: s.key.clone(),
            text: s.text.clone(),
            outcome: outcome.into(),
            detail,
            took_ms: None,
        });
    }

    /// Advance by one event.
    pub fn advance(&mut self, ev: Event) -> Action {
        if self.phase.is_over() {
            return Action::Finish;
        }
        let in_flight = std::mem::replace(&mut self.in_flight, false);
        match (self.phase.clone(), ev) {
            (Phase::Confirming, Event::Typed(t)) => {
                if self.confirms(&t) {
                    self.phase = Phase::Running;
                    self.run_from(0)
                } else {
                    // The default answer is cancel.
                    self.phase = Phase::Cancelled;
                    Action::Finish
                }
            }
            (Phase::Confirming, Event::Yes) => {
                self.phase = Phase::Running;
                self.run_from(0)
            }
            (_, Event::Cancel) => {
                if in_flight && self.phase == Phase::Running {
                    self.in_flight = true;
                    // A step in flight is let finish; nothing is cut in half.
                    self.cancel_asked = true;
                    Action::Wait
                } else {
                    self.phase = Phase::Cancelled;
                    self.current = None;
                    Action::Finish
                }
            }
            (Phase::Running, Event::StepOk { index, detail }) if self.current == Some(index) => {
                self.done.insert(self.plan.steps[index].key.clone());
                self.record(index, "done", detail);
                self.run_from(index + 1)
            }
            (Phase::Running, Event::StepWasDone { index, detail })
                if self.current == Some(index) =>
            {
                self.done.insert(self.plan.steps[index].key.clone());
                self.record(index, "was done", detail);
                self.run_from(index + 1)
            }
            (Phase::Running, Event::StepFailed { index, error }) if self.current == Some(index) => {
                self.record(index, "failed", error.clone());
                self.current = None;
                self.phase = Phase::Failed(format!(
                    "step {} ({}) failed: {error}",
                    index + 1,
                    self.plan.steps[index].text
                ));
                Action::Finish
            }
            (Phase::Running, Event::StepStopped { index, why }) if self.current == Some(index) => {
                self.record(index, "stopped", why.clone());
                self.current = None;
                self.phase = Phase::Stopped(format!("step {}: {why}", index + 1));
                Action::Finish
            }
            (
                Phase::Running,
                Event::Observed {
                    index,
                    status,
                    waited,
                },
            ) if self.current == Some(index) => {
                let StepKind::Gate {
                    tolerate_nospace,
                    ref except,
                } = self.plan.steps[index].kind
                else {
                    return Action::Wait;
                };
                match gate_except(&status, tolerate_nospace, except) {
                    // Gates are not journaled as done: record the pass, go on.
                    Ok(()) => {
                        let detail = format!("passed after {:.1} s", waited.as_secs_f64());
                        self.record(index, "done", detail);
                        self.run_from(index + 1)
                    }
                    Err(_) if waited < self.gate_wait && !self.cancel_asked => Action::Observe {
                        index,
                        after: GATE_RETRY,
                    },
                    Err(why) => {
                        let why = format!(
                            "health gate failed for {} s: {why}; nothing was forced: fix it and \
                             run the same command to resume",
                            waited.as_secs()
                        );
                        self.record(index, "stopped", why.clone());
                        self.current = None;
                        self.phase = Phase::Stopped(format!("step {}: {why}", index + 1));
                        Action::Finish
                    }
                }
            }
            // Events for another step, or out of turn: ignored.
            _ => {
                self.in_flight = in_flight;
                Action::Wait
            }
        }
    }
}

/// Whether a step is ever "done" in the journal: gates and pauses run again on resume.
pub fn is_journaled(kind: &StepKind) -> bool {
    !matches!(kind, StepKind::Gate { .. } | StepKind::Settle { .. })
}

#[cfg(test)]
mod tests;
