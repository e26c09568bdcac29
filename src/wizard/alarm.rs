//! Alarms: disarm, and the NOSPACE recovery. NOSPACE means the database reached its quota: etcd
//! takes only reads, deletes and lease renewals. Patroni's primary keeps its leader key (its
//! lease renewals go on), but no failover or switchover can happen, and no Patroni member can
//! change its own key. The recovery: snapshot, compact to the current revision, defragment every
//! member (followers first, the leader last) with a gate that tolerates NOSPACE, disarm only when
//! every member is below 90% of its quota, then verify with a write of a scratch key that is
//! deleted again.

use std::time::Duration;

use super::defrag::{defrag_step, order, settle_step};
use super::{
    common_refusals, compact::compact_step, gate_step, leader, name, snapshot_step, Common, Op,
    Plan, Refusal, Step, StepKind,
};
use crate::etcd::status::ClusterStatus;
use crate::units;

/// Disarm only when every member's database is below this share of the quota.
pub const DISARM_BELOW_PERCENT: u8 = 90;

/// What NOSPACE means for the Patroni clusters, said before the recovery.
pub const NOSPACE_MEANS: &str = "NOSPACE: the database reached its quota; etcd takes only \
     reads, deletes and lease renewals. Each Patroni primary keeps its leader key, but no \
     failover or switchover can happen until the alarm is disarmed.";

/// The options that shape the recovery's plan, as the journal keeps them.
pub fn recover_args(snapshot: bool) -> String {
    format!("snapshot={snapshot}")
}

/// The scratch key the verification writes and deletes.
pub fn scratch_key(now: u64) -> String {
    format!("/etcdeck/scratch/verify-{now}")
}

/// What the recovery shows beyond the statuses, gathered by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub current: i64,
    /// The backend quota in bytes.
    pub quota: i64,
    /// The largest prefixes: (prefix, bytes of keys and values, keys).
    pub prefixes: Vec<(String, u64, u64)>,
}

fn nospace_members(s: &ClusterStatus) -> Vec<u64> {
    let mut ids: Vec<u64> = s
        .alarms
        .iter()
        .filter(|a| a.alarm == "NOSPACE")
        .map(|a| a.member_id)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn corrupt_refusal(s: &ClusterStatus) -> Option<Refusal> {
    s.alarms.iter().find(|a| a.alarm == "CORRUPT").map(|a| {
        Refusal::new(
            format!("a CORRUPT alarm is raised on {}", a.member),
            "its data differs from the others: replace that member (etcdeck never disarms \
             CORRUPT)",
        )
    })
}

/// Refusals of the recovery: the common ones, with NOSPACE allowed.
fn refusals(s: &ClusterStatus) -> Vec<Refusal> {
    let mut r: Vec<Refusal> = common_refusals(s)
        .into_iter()
        .filter(|r| !r.why.contains("CORRUPT"))
        .collect();
    r.extend(corrupt_refusal(s));
    r
}

pub fn disarm_step(s: &ClusterStatus, member: u64, tolerates: usize) -> Step {
    let via = leader(s);
    Step {
        key: format!("disarm:{member:x}"),
        text: format!("disarm NOSPACE of {}", s.name_of(member)),
        kind: StepKind::Disarm { member },
        member: via.map(name),
        via: via.and_then(|m| m.client_urls.first().cloned()),
        tolerates,
        changes: true,
    }
}

pub fn below_quota_step(quota: i64, tolerates: usize) -> Step {
    Step {
        key: "below-quota".into(),
        text: format!(
            "every member below {DISARM_BELOW_PERCENT}% of the {} quota",
            units::bytes(quota.max(0) as u64)
        ),
        kind: StepKind::BelowQuota {
            percent: DISARM_BELOW_PERCENT,
            quota,
        },
        member: None,
        via: None,
        tolerates,
        changes: false,
    }
}

pub fn verify_write_step(s: &ClusterStatus, key: String, tolerates: usize) -> Step {
    let via = leader(s);
    Step {
        key: "verify-write".into(),
        text: format!("write {} and delete it again", key),
        kind: StepKind::VerifyWrite { key },
        member: via.map(name),
        via: via.and_then(|m| m.client_urls.first().cloned()),
        tolerates,
        changes: true,
    }
}

/// The prefix a key counts toward among the largest: up to its second level
/// (`/pg/pg-meta/leader` -> `/pg/pg-meta/`, `/fill/0001` -> `/fill/`).
pub fn prefix_of(key: &[u8]) -> &[u8] {
    let slashes: Vec<usize> = key
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'/')
        .map(|(i, _)| i)
        .take(3)
        .collect();
    let leaf_start = key.iter().rposition(|b| *b == b'/');
    match (slashes.last(), leaf_start) {
        (Some(&third), Some(last)) => &key[..=third.min(last)],
        _ => key,
    }
}

/// The largest prefixes by bytes of keys and values, biggest first.
pub fn largest(sizes: std::collections::HashMap<Vec<u8>, (u64, u64)>) -> Vec<(String, u64, u64)> {
    let mut v: Vec<(String, u64, u64)> = sizes
        .into_iter()
        .map(|(p, (b, n))| (String::from_utf8_lossy(&p).into_owned(), b, n))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(10);
    v
}

/// Databases larger than this are not read whole to find the largest prefixes.
pub const PREFIX_SCAN_LIMIT: i64 = 1 << 30;

/// Read every key and value from the member at `url` (at one revision, in bounded chunks, none
/// kept) and sum their bytes by [`prefix_of`]: the largest prefixes, biggest first.
pub async fn largest_prefixes(
    cluster: &crate::etcd::Cluster,
    url: &str,
) -> Result<Vec<(String, u64, u64)>, crate::etcd::EtcdError> {
    let mut sizes: std::collections::HashMap<Vec<u8>, (u64, u64)> = Default::default();
    crate::etcd::watch::read_prefix(cluster, url, b"", |kvs, _, _, _| {
        for kv in kvs {
            let e = sizes.entry(prefix_of(&kv.key).to_vec()).or_default();
            e.0 += (kv.key.len() + kv.value.len()) as u64;
            e.1 += 1;
        }
    })
    .await?;
    Ok(largest(sizes))
}

/// `largest prefixes: /pg/pg-meta/ 15.0 MiB in 3 key(s); ...` (the first five).
pub fn prefixes_fact(prefixes: &[(String, u64, u64)]) -> String {
    let top: Vec<String> = prefixes
        .iter()
        .take(5)
        .map(|(p, b, n)| {
            format!(
                "{} {} in {n} key(s)",
                crate::text::escape(p),
                units::bytes(*b)
            )
        })
        .collect();
    format!("largest prefixes: {}", top.join("; "))
}

/// The backend quota the members report themselves (etcd 3.6 and later), if any does.
pub fn reported_quota(s: &ClusterStatus) -> Option<i64> {
    s.members
        .iter()
        .map(|m| m.db_size_quota)
        .filter(|q| *q > 0)
        .max()
}

/// Members at or above the disarm threshold: (name, db size).
pub fn above_threshold(s: &ClusterStatus, quota: i64) -> Vec<(String, i64)> {
    s.members
        .iter()
        .filter(|m| m.reachable && quota > 0)
        .filter(|m| m.db_size * 100 >= quota * i64::from(DISARM_BELOW_PERCENT))
        .map(|m| (name(m), m.db_size))
        .collect()
}

/// `etcdeck alarm disarm`: NOSPACE of every member that has it, once they are all below 90% of
/// the quota (else the next write raises it again: the recovery is the way).
pub fn disarm_plan(s: &ClusterStatus, quota: i64, now: u64) -> Result<Plan, Vec<Refusal>> {
    let mut r = refusals(s);
    let ids = nospace_members(s);
    if ids.is_empty() && r.is_empty() {
        r.push(Refusal::new(
            "no NOSPACE alarm is raised",
            "nothing to disarm (`etcdeck alarm list`)",
        ));
    }
    if quota <= 0 {
        r.push(Refusal::new(
            "the backend quota is unknown, so etcdeck cannot tell whether the alarm would come \
             straight back",
            "pass --quota SIZE (the members' quota-backend-bytes)",
        ));
    }
    let full = above_threshold(s, quota);
    if !full.is_empty() {
        let names: Vec<String> = full
            .iter()
            .map(|(n, b)| format!("{n} {}", units::bytes(*b as u64)))
            .collect();
        r.push(Refusal::new(
            format!(
                "{} at or above {DISARM_BELOW_PERCENT}% of the {} quota",
                names.join(", "),
                units::bytes(quota as u64)
            ),
            "disarming now would raise the alarm again at the next write: run `etcdeck alarm \
             recover` (compact, defragment, then disarm)",
        ));
    }
    if !r.is_empty() {
        return Err(r);
    }
    let t = s.quorum().tolerates_now();
    let mut steps = vec![below_quota_step(quota, t)];
    steps.extend(ids.iter().map(|id| disarm_step(s, *id, t)));
    steps.push(verify_write_step(s, scratch_key(now), t));
    steps.push(gate_step("gate:end", false, t));
    Ok(Plan {
        op: Op::AlarmDisarm,
        cluster_id: s.cluster_id,
        confirm: Some(crate::wizard::cluster_name(s, None)),
        tolerates_now: t,
        facts: vec![NOSPACE_MEANS.into()],
        warnings: Vec::new(),
        steps,
    })
}

/// `etcdeck alarm recover`: the NOSPACE recovery.
pub fn recover_plan(
    s: &ClusterStatus,
    f: &Facts,
    settle: Duration,
    c: &Common,
) -> Result<Plan, Vec<Refusal>> {
    let mut r = refusals(s);
    let ids = nospace_members(s);
    if ids.is_empty() && r.is_empty() {
        r.push(Refusal::new(
            "no NOSPACE alarm is raised",
            "nothing to recover; to give space back without an alarm, `etcdeck compact` and \
             `etcdeck defrag --all`",
        ));
    }
    if f.quota <= 0 {
        r.push(Refusal::new(
            "the backend quota is unknown",
            "pass --quota SIZE (the members' quota-backend-bytes)",
        ));
    }
    r.extend(super::defrag::learner_refusals(s));
    if !r.is_empty() {
        return Err(r);
    }
    let Some(lead) = leader(s) else {
        return Err(vec![Refusal::new(
            "the leader does not answer",
            "wait for the election to end (`etcdeck status`)",
        )]);
    };
    let q = s.quorum();
    let now = q.tolerates_now();
    let during = now.saturating_sub(1);
    let mut facts = vec![NOSPACE_MEANS.to_string()];
    facts.push(format!(
        "quota {}; alarm on {}",
        units::bytes(f.quota as u64),
        ids.iter()
            .map(|id| s.name_of(*id))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for m in &s.members {
        facts.push(format!(
            "{}: {} ({}% of the quota), {} in use",
            name(m),
            units::bytes(m.db_size.max(0) as u64),
            (m.db_size.max(0) * 100) / f.quota.max(1),
            units::bytes(m.db_size_in_use.max(0) as u64)
        ));
    }
    if !f.prefixes.is_empty() {
        facts.push(prefixes_fact(&f.prefixes));
    }
    let mut steps = Vec::new();
    if c.snapshot {
        steps.push(snapshot_step(s, c).map_err(|r| vec![r])?);
    }
    steps.push(gate_step("gate:start", true, now));
    steps.push(compact_step(f.current, lead, now));
    steps.push(gate_step("gate:compacted", true, now));
    let voters: Vec<_> = s.members.iter().filter(|m| !m.is_learner).collect();
    let ordered = order(s, voters);
    let n = ordered.len();
    for (i, m) in ordered.into_iter().enumerate() {
        steps.push(defrag_step(m, during));
        if i + 1 < n {
            steps.push(settle_step(format!("settle:{:x}", m.id), settle, now));
        }
        steps.push(gate_step(format!("gate:after:{:x}", m.id), true, now));
    }
    steps.push(below_quota_step(f.quota, now));
    steps.extend(ids.iter().map(|id| disarm_step(s, *id, now)));
    steps.push(verify_write_step(s, scratch_key(c.now), now));
    steps.push(gate_step("gate:end", false, now));
    Ok(Plan {
        op: Op::AlarmRecover,
        cluster_id: s.cluster_id,
        confirm: Some(c.cluster_name.clone()),
        tolerates_now: now,
        facts,
        warnings: Vec::new(),
        steps,
    })
}
