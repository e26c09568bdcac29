//! Move leader: hand leadership to a started, caught-up voter (never a learner), sent to the
//! current leader, then verified from every member.

use super::defrag::{find, move_leader_step, verify_leader_step};
use super::{common_refusals, gate_step, leader, name, Op, Plan, Refusal, MAX_APPLIED_SPREAD};
use crate::etcd::status::ClusterStatus;

pub fn plan(s: &ClusterStatus, target: &str) -> Result<Plan, Vec<Refusal>> {
    let mut r = common_refusals(s);
    let to = find(s, target);
    match to {
        None => r.push(Refusal::new(
            format!("no member {target} in the cluster"),
            "name one from `etcdeck status` (a name or a hex id)",
        )),
        Some(m) if m.is_learner => r.push(Refusal::new(
            format!("{} is a learner: a learner cannot lead", name(m)),
            "promote it first (`etcdeck member promote`), then move leadership to it",
        )),
        Some(m) if !m.started || !m.reachable => r.push(Refusal::new(
            format!("{} does not answer", name(m)),
            "pick a member that is up (`etcdeck status`)",
        )),
        Some(m) if Some(m.id) == s.leader => r.push(Refusal::new(
            format!("{} leads already", name(m)),
            "nothing to move",
        )),
        Some(m) => {
            let top = s
                .members
                .iter()
                .filter(|x| x.reachable)
                .map(|x| x.raft_applied_index)
                .max()
                .unwrap_or(0);
            let behind = top.saturating_sub(m.raft_applied_index);
            if behind > MAX_APPLIED_SPREAD {
                r.push(Refusal::new(
                    format!("{} is {behind} entries behind", name(m)),
                    "wait until it has caught up (`etcdeck status` shows the raft index)",
                ));
            }
        }
    }
    if !r.is_empty() {
        return Err(r);
    }
    let (Some(to), Some(from)) = (to, leader(s)) else {
        return Err(vec![Refusal::new(
            "the leader does not answer",
            "wait for the election to end (`etcdeck status`)",
        )]);
    };
    let t = s.quorum().tolerates_now();
    Ok(Plan {
        op: Op::MoveLeader,
        cluster_id: s.cluster_id,
        confirm: Some(name(to)),
        tolerates_now: t,
        facts: vec![format!(
            "{} leads now; {} takes over (a planned election: writes pause for a moment)",
            name(from),
            name(to)
        )],
        warnings: Vec::new(),
        steps: vec![
            gate_step("gate:start", false, t),
            move_leader_step(from, to, t),
            verify_leader_step(to, t),
            gate_step("gate:end", false, t),
        ],
    })
}
