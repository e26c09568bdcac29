//! `etcdeck status [--json]`.
//!
//! Exit codes, as `etcdeck health` judges without metrics: 0 all well, 1 degraded (a member
//! down or unstarted, an alarm raised; quorum and a leader kept), 2 no leader or no quorum.

use anyhow::Result;

use super::{settings, Code};
use crate::cli::Global;
use crate::etcd::model::{Availability, Verdict};
use crate::etcd::status::{gather, render_table, ClusterStatus};
use crate::etcd::Cluster;

pub async fn run(g: &Global, json: bool) -> Result<Code> {
    let cluster = Cluster::new(settings(g)?)?;
    let s = gather(&cluster).await?;
    if json {
        outln!("{}", crate::text::json_pretty(&s)?);
    } else {
        out!("{}", render_table(&s));
    }
    Ok(exit_code(&s))
}

/// 0 all well, 1 degraded, 2 unavailable: the verdict of `health` from what `status` saw.
pub fn exit_code(s: &ClusterStatus) -> Code {
    let trouble = !s.alarms.is_empty()
        || s.members
            .iter()
            .any(|m| !m.started || !m.reachable || !m.errors.is_empty());
    Verdict::judge(Availability::of(&s.quorum(), s.leader_answers()), trouble).exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etcd::status::{Alarm, MemberStatus};

    fn member(id: u64, learner: bool, started: bool, reachable: bool) -> MemberStatus {
        let mut m = MemberStatus::sample(id, &format!("etcd-{id}"), reachable);
        m.is_learner = learner;
        m.started = started;
        if !started {
            m.client_urls.clear();
        }
        m.sees_leader = u64::from(reachable);
        m
    }

    fn status(members: Vec<MemberStatus>, alarms: Vec<Alarm>) -> ClusterStatus {
        ClusterStatus {
            cluster_id: 1,
            leader: Some(1),
            alarms,
            members,
            member_list_from: "https://127.0.0.1:2379".into(),
            alarms_error: None,
        }
    }

    fn three() -> Vec<MemberStatus> {
        (1..=3).map(|i| member(i, false, true, true)).collect()
    }

    #[test]
    fn exit_codes_follow_health_alarms_and_unstarted_members_are_degraded() {
        assert_eq!(exit_code(&status(three(), vec![])), 0);
        let nospace = Alarm {
            member_id: 2,
            member: "etcd-2".into(),
            alarm: "NOSPACE".into(),
        };
        assert_eq!(exit_code(&status(three(), vec![nospace])), 1, "NOSPACE");
        let mut with_learner = three();
        with_learner.push(member(4, true, false, false));
        assert_eq!(
            exit_code(&status(with_learner, vec![])),
            1,
            "unstarted learner"
        );
        let mut one_down = three();
        one_down[2] = member(3, false, true, false);
        assert_eq!(exit_code(&status(one_down, vec![])), 1, "a member down");
        let mut two_down = three();
        two_down[1] = member(2, false, true, false);
        two_down[2] = member(3, false, true, false);
        assert_eq!(exit_code(&status(two_down, vec![])), 2, "quorum lost");
        let mut no_leader = status(three(), vec![]);
        no_leader.leader = None;
        assert_eq!(exit_code(&no_leader), 2, "no leader");
    }
}
