//! Compaction: the history up to a revision dropped, cluster-wide, once (physical: the call
//! returns when it is applied). Shown first: the current and last compacted revisions, how many
//! revisions go and the time they cover, the Patroni keys that lose history, the space in use,
//! and that disk space returns only after a defragmentation.

use std::time::Duration;

use super::{common_refusals, gate_step, leader, name, snapshot_step, Common, Op, Plan, Refusal};
use super::{Step, StepKind};
use crate::etcd::status::ClusterStatus;
use crate::units;

/// Which revision to compact to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Revision(i64),
    /// Keep this much history: the revision the cluster had that long ago.
    Keep(Duration),
}

/// What the preview needs beyond the member statuses, gathered by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The cluster's revision now.
    pub current: i64,
    /// The last compacted revision (`etcd_debugging_mvcc_compact_revision`), if known.
    pub compacted: Option<i64>,
    /// Revisions seen over time: (Unix second, revision), oldest first.
    pub seen: Vec<(u64, i64)>,
    /// Keys under the Patroni namespace: (key, create revision, version).
    pub keys: Vec<(String, i64, i64)>,
    pub namespace: String,
    pub now: u64,
}

/// The options that shape the plan, as the journal keeps them.
pub fn args(t: &Target, snapshot: bool) -> String {
    format!("{t:?} snapshot={snapshot}")
}

/// The revision the cluster had at Unix second `at`: the last one seen at or before it.
pub fn revision_at(seen: &[(u64, i64)], at: u64) -> Option<i64> {
    seen.iter().rev().find(|(t, _)| *t <= at).map(|(_, r)| *r)
}

/// When a revision was current: the first second it was seen at or above.
pub fn time_of(seen: &[(u64, i64)], rev: i64) -> Option<u64> {
    seen.iter().find(|(_, r)| *r >= rev).map(|(t, _)| *t)
}

/// The keys that lose history: those with an earlier version before the target revision.
pub fn losing_history(keys: &[(String, i64, i64)], target: i64) -> Vec<&str> {
    keys.iter()
        .filter(|(_, create, version)| *create < target && *version > 1)
        .map(|(k, _, _)| k.as_str())
        .collect()
}

pub fn plan(s: &ClusterStatus, f: &Facts, t: Target, c: &Common) -> Result<Plan, Vec<Refusal>> {
    let mut refusals = common_refusals(s);
    let target = match t {
        Target::Revision(r) => Some(r),
        Target::Keep(d) => {
            let at = f.now.saturating_sub(d.as_secs());
            let r = revision_at(&f.seen, at);
            if r.is_none() {
                refusals.push(Refusal::new(
                    format!(
                        "etcdeck has no record of the revision {} ago",
                        units::duration(d)
                    ),
                    "revisions are recorded while the console or a wizard runs; give the \
                     revision itself with --revision R (`etcdeck status --json` shows the \
                     current one)",
                ));
            }
            r
        }
    };
    if let Some(r) = target {
        if r <= 0 {
            refusals.push(Refusal::new(
                format!("revision {r} is not a revision"),
                "give a revision above 0",
            ));
        } else if r > f.current {
            refusals.push(Refusal::new(
                format!(
                    "revision {r} is in the future: the cluster is at {}",
                    f.current
                ),
                "give a revision at or below the current one",
            ));
        } else if let Some(done) = f.compacted.filter(|done| r <= *done) {
            refusals.push(Refusal::new(
                format!("the history is already compacted up to revision {done}"),
                "nothing to drop; give a later revision",
            ));
        }
    }
    if !refusals.is_empty() {
        return Err(refusals);
    }
    let Some(target) = target else {
        return Err(refusals);
    };
    let Some(via) = leader(s) else {
        return Err(vec![Refusal::new(
            "the leader does not answer",
            "wait for the election to end (`etcdeck status`)",
        )]);
    };
    let q = s.quorum();
    let from = f.compacted.unwrap_or(0);
    let mut facts = vec![
        format!(
            "current revision {}, last compacted {}",
            f.current,
            match f.compacted {
                None => "unknown (no /metrics)".to_string(),
                Some(0) => "never".to_string(),
                Some(r) => r.to_string(),
            }
        ),
        format!(
            "compact to revision {target}: {} revision(s) of history dropped",
            target - from
        ),
    ];
    facts.push(
        match (time_of(&f.seen, from.max(1)), time_of(&f.seen, target)) {
            (Some(a), Some(b)) if f.compacted.is_some() => format!(
                "they cover about {} (recorded revisions)",
                units::duration(Duration::from_secs(b.saturating_sub(a)))
            ),
            (_, Some(b)) => format!(
                "history kept from about {} ago",
                units::duration(Duration::from_secs(f.now.saturating_sub(b)))
            ),
            _ => "the time they cover: unknown (no revisions recorded that far back)".into(),
        },
    );
    let losing = losing_history(&f.keys, target);
    facts.push(format!(
        "{} key(s) under {} lose history{}",
        losing.len(),
        crate::text::escape(&f.namespace),
        if losing.is_empty() {
            String::new()
        } else {
            let first: Vec<String> = losing
                .iter()
                .take(5)
                .map(|k| crate::text::escape(k).into_owned())
                .collect();
            format!(
                ": {}{}",
                first.join(", "),
                if losing.len() > 5 { ", ..." } else { "" }
            )
        }
    ));
    let biggest = s.members.iter().max_by_key(|m| m.db_size);
    if let Some(m) = biggest {
        facts.push(format!(
            "space now: {} in use of {} on {} (disk space returns only after a \
             defragmentation: `etcdeck defrag --all`)",
            units::bytes(m.db_size_in_use.max(0) as u64),
            units::bytes(m.db_size.max(0) as u64),
            name(m)
        ));
    }
    facts.push(
        "Pigsty's etcd.conf compacts by itself: auto-compaction-mode periodic, \
         auto-compaction-retention 24h"
            .into(),
    );
    let mut steps = Vec::new();
    if c.snapshot {
        steps.push(snapshot_step(s, c).map_err(|r| vec![r])?);
    }
    steps.push(gate_step("gate:start", false, q.tolerates_now()));
    steps.push(compact_step(target, via, q.tolerates_now()));
    steps.push(gate_step("gate:end", false, q.tolerates_now()));
    Ok(Plan {
        op: Op::Compact,
        cluster_id: s.cluster_id,
        confirm: Some(c.cluster_name.clone()),
        tolerates_now: q.tolerates_now(),
        facts,
        warnings: Vec::new(),
        steps,
    })
}

pub fn compact_step(
    target: i64,
    via: &crate::etcd::status::MemberStatus,
    tolerates: usize,
) -> Step {
    Step {
        key: format!("compact:{target}"),
        text: format!("compact the history up to revision {target} (physical)"),
        kind: StepKind::Compact { revision: target },
        member: Some(name(via)),
        via: via.client_urls.first().cloned(),
        tolerates,
        changes: true,
    }
}
