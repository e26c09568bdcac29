//! Defragmentation: one member at a time, followers first (smallest first), the leader last,
//! after leadership is moved to a follower that is already done and caught up; a health gate and
//! a settle pause between members; members with few free pages skipped (shown, overridable).
//! Never a learner (etcd 3.4 refuses it, and a learner receiving a snapshot must be left alone).

use std::time::Duration;

use super::{
    common_refusals, gate_step, name, snapshot_step, Common, Op, Plan, Refusal, Step, StepKind,
    MAX_APPLIED_SPREAD,
};
use crate::etcd::status::{ClusterStatus, MemberStatus};
use crate::units;

/// What the operator asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Names or hex ids; empty with `all` false is refused by the command line.
    pub members: Vec<String>,
    pub all: bool,
    /// Move leadership to a defragmented follower before the leader's turn (default on).
    pub move_leader: bool,
    /// The pause between members.
    pub settle: Duration,
    /// Members whose free pages are below this percentage of their database are skipped.
    pub threshold_percent: u8,
    pub common: Common,
}

impl Options {
    /// The options that shape the plan, as the journal keeps them: a run with other options does
    /// not resume this one (the pause between members may differ).
    pub fn args(&self) -> String {
        format!(
            "{} keep-leader={} threshold={} snapshot={}",
            if self.all {
                "--all".to_string()
            } else {
                self.members.join(",")
            },
            !self.move_leader,
            self.threshold_percent,
            self.common.snapshot
        )
    }
}

/// Free pages of a member, as a percentage of its database.
pub fn free_percent(m: &MemberStatus) -> u8 {
    if m.db_size <= 0 {
        return 0;
    }
    let free = (m.db_size - m.db_size_in_use).max(0);
    ((free as f64 / m.db_size as f64) * 100.0).floor() as u8
}

/// The member `wanted` names (a name or a hex id).
pub fn find<'a>(s: &'a ClusterStatus, wanted: &str) -> Option<&'a MemberStatus> {
    s.members.iter().find(|m| m.name == wanted).or_else(|| {
        u64::from_str_radix(wanted, 16)
            .ok()
            .and_then(|id| s.members.iter().find(|m| m.id == id))
    })
}

/// Refusals about learners: one catching up is receiving data, and a defragmentation then
/// slows both; a learner is never defragmented.
pub fn learner_refusals(s: &ClusterStatus) -> Vec<Refusal> {
    let top = s
        .members
        .iter()
        .filter(|m| !m.is_learner && m.reachable)
        .map(|m| m.raft_applied_index)
        .max()
        .unwrap_or(0);
    s.members
        .iter()
        .filter(|m| m.is_learner)
        .filter(|m| !m.reachable || top.saturating_sub(m.raft_applied_index) > MAX_APPLIED_SPREAD)
        .map(|m| {
            Refusal::new(
                format!(
                    "learner {} is catching up (applied {} of {top})",
                    name(m),
                    m.raft_applied_index
                ),
                "wait until it is in sync and promote it (`etcdeck member promote`), or remove \
                 it, before defragmenting",
            )
        })
        .collect()
}

pub fn defrag_step(m: &MemberStatus, tolerates: usize) -> Step {
    Step {
        key: format!("defrag:{:x}", m.id),
        text: format!(
            "defragment {} ({}, {}% free)",
            name(m),
            units::bytes(m.db_size.max(0) as u64),
            free_percent(m)
        ),
        kind: StepKind::Defragment {
            member: m.id,
            db_size: m.db_size,
            in_use: m.db_size_in_use,
        },
        member: Some(name(m)),
        via: m.client_urls.first().cloned(),
        // The member is blocked while it runs: it counts as down.
        tolerates,
        changes: true,
    }
}

pub fn settle_step(key: String, settle: Duration, tolerates: usize) -> Step {
    Step {
        key,
        text: format!("settle {}", units::duration(settle)),
        kind: StepKind::Settle {
            ms: settle.as_millis() as u64,
        },
        member: None,
        via: None,
        tolerates,
        changes: false,
    }
}

/// Where leadership goes before the leader is defragmented: a started voter that answers and is
/// caught up, preferring the one defragmented last (fresh and compact).
pub fn transferee<'a>(
    s: &'a ClusterStatus,
    done_before: &[&'a MemberStatus],
) -> Option<&'a MemberStatus> {
    let leader = s.leader?;
    let top = s
        .members
        .iter()
        .filter(|m| m.reachable)
        .map(|m| m.raft_applied_index)
        .max()
        .unwrap_or(0);
    let ok = |m: &&MemberStatus| {
        m.id != leader
            && !m.is_learner
            && m.started
            && m.reachable
            && top.saturating_sub(m.raft_applied_index) <= MAX_APPLIED_SPREAD
    };
    done_before.iter().rev().copied().find(ok).or_else(|| {
        s.members
            .iter()
            .filter(ok)
            .max_by_key(|m| m.raft_applied_index)
    })
}

pub fn move_leader_step(from: &MemberStatus, to: &MemberStatus, tolerates: usize) -> Step {
    Step {
        key: format!("move-leader:{:x}", to.id),
        text: format!("move leadership from {} to {}", name(from), name(to)),
        kind: StepKind::MoveLeader {
            from: from.id,
            to: to.id,
        },
        member: Some(name(from)),
        via: from.client_urls.first().cloned(),
        tolerates,
        changes: true,
    }
}

pub fn verify_leader_step(to: &MemberStatus, tolerates: usize) -> Step {
    Step {
        key: format!("verify-leader:{:x}", to.id),
        text: format!("every member names {} as leader", name(to)),
        kind: StepKind::VerifyLeader { leader: to.id },
        member: None,
        via: None,
        tolerates,
        changes: false,
    }
}

/// Order members followers first (smallest database first), the leader last.
pub fn order<'a>(s: &ClusterStatus, mut ms: Vec<&'a MemberStatus>) -> Vec<&'a MemberStatus> {
    ms.sort_by_key(|m| {
        (
            Some(m.id) == s.leader,
            m.db_size,
            crate::etcd::model::natural_key(&m.name),
        )
    });
    ms
}

/// The defragmentation plan, or why not.
pub fn plan(s: &ClusterStatus, o: &Options) -> Result<Plan, Vec<Refusal>> {
    let mut refusals = common_refusals(s);
    refusals.extend(learner_refusals(s));
    if s.alarms.iter().any(|a| a.alarm == "NOSPACE") {
        refusals.push(Refusal::new(
            "the NOSPACE alarm is raised: the cluster takes no writes",
            "run `etcdeck alarm recover`: it compacts, defragments every member with a gate \
             that tolerates NOSPACE, and disarms",
        ));
    }
    let mut chosen: Vec<&MemberStatus> = Vec::new();
    if o.all {
        chosen.extend(s.members.iter().filter(|m| !m.is_learner));
    } else {
        for w in &o.members {
            match find(s, w) {
                None => refusals.push(Refusal::new(
                    format!("no member {w} in the cluster"),
                    "name one from `etcdeck status` (a name or a hex id)",
                )),
                Some(m) if m.is_learner => refusals.push(Refusal::new(
                    format!("{w} is a learner"),
                    "a learner is never defragmented (etcd refuses it and it may be receiving a \
                     snapshot): promote it first",
                )),
                Some(m) if !chosen.iter().any(|c| c.id == m.id) => chosen.push(m),
                Some(_) => {}
            }
        }
    }
    if !refusals.is_empty() {
        return Err(refusals);
    }
    let q = s.quorum();
    let now = q.tolerates_now();
    let during = now.saturating_sub(1);
    let mut facts = Vec::new();
    let mut warnings = Vec::new();
    let mut targets = Vec::new();
    for m in order(s, chosen) {
        let free = free_percent(m);
        if free < o.threshold_percent {
            facts.push(format!(
                "{}: {free}% free pages ({} of {}), below the {}% threshold: skipped \
                 (--threshold 0 to include it)",
                name(m),
                units::bytes((m.db_size - m.db_size_in_use).max(0) as u64),
                units::bytes(m.db_size.max(0) as u64),
                o.threshold_percent
            ));
        } else {
            targets.push(m);
        }
    }
    if let Some(big) = targets.iter().map(|m| m.db_size).max() {
        facts.push(format!(
            "each member needs about {} of free disk while it is rewritten; it answers \
             nothing meanwhile",
            units::bytes(big.max(0) as u64)
        ));
    }
    if now == 0 && !targets.is_empty() {
        warnings.push(
            "the cluster tolerates no failure now: while a member is defragmented, one more \
             failure costs quorum"
                .to_string(),
        );
    }
    let mut steps = Vec::new();
    if !targets.is_empty() {
        if o.common.snapshot {
            steps.push(snapshot_step(s, &o.common).map_err(|r| vec![r])?);
        }
        steps.push(gate_step("gate:start", false, now));
    }
    let mut done_before: Vec<&MemberStatus> = Vec::new();
    let last = targets.len();
    for (i, m) in targets.iter().enumerate() {
        let is_leader = Some(m.id) == s.leader;
        if is_leader && o.move_leader {
            match transferee(s, &done_before) {
                Some(to) => {
                    steps.push(move_leader_step(m, to, now));
                    steps.push(verify_leader_step(to, now));
                    steps.push(gate_step(
                        format!("gate:leader-moved:{:x}", to.id),
                        false,
                        now,
                    ));
                }
                None => warnings.push(format!(
                    "no caught-up follower to hand leadership to: {} is defragmented while it \
                     leads (writes and lease renewals stall meanwhile)",
                    name(m)
                )),
            }
        } else if is_leader {
            warnings.push(format!(
                "{} is defragmented while it leads (--keep-leader): writes and lease renewals \
                 stall meanwhile",
                name(m)
            ));
        }
        steps.push(defrag_step(m, during));
        if i + 1 < last {
            steps.push(settle_step(format!("settle:{:x}", m.id), o.settle, now));
        }
        steps.push(gate_step(format!("gate:after:{:x}", m.id), false, now));
        done_before.push(m);
    }
    if targets.is_empty() {
        facts.push("nothing to defragment".into());
    }
    let confirm = match (o.all, targets.as_slice()) {
        (_, []) => None,
        (false, [one]) => Some(name(one)),
        _ => Some(o.common.cluster_name.clone()),
    };
    Ok(Plan {
        op: Op::Defrag,
        cluster_id: s.cluster_id,
        confirm,
        tolerates_now: now,
        facts,
        warnings,
        steps,
    })
}
