//! Every call that changes the cluster, each with a timeout and its errors mapped. The console's
//! runtime and the commands run [`Change`]s through [`apply`]; read-only mode refuses them before
//! they get here. Which member a change is sent to is the caller's choice (`via`): membership
//! changes and leader moves go to the leader, a defragmentation to the member itself.

use std::time::Duration;

use etcd_client::{AlarmAction, AlarmOptions, AlarmType, CompactionOptions, MemberAddOptions};

use super::client::Cluster;
use super::error::EtcdError;

/// A change to the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Add a member by its peer URL (always `https://IP:PORT`: etcd-client would prefix a bare
    /// address with `http://`), as a learner or a voter.
    AddMember {
        name: String,
        peer_url: String,
        learner: bool,
    },
    /// Make a learner a voter (etcd refuses until it is in sync with the leader).
    PromoteMember {
        id: u64,
    },
    RemoveMember {
        id: u64,
    },
    /// Hand leadership to another voter (sent to the current leader).
    MoveLeader {
        to: u64,
    },
    /// Compact the history up to `revision`, waiting until it is applied.
    Compact {
        revision: i64,
    },
    /// Defragment the one member the change is sent to.
    Defragment {
        id: u64,
    },
    /// Disarm the NOSPACE alarm of one member.
    DisarmNospace {
        member_id: u64,
    },
}

impl Change {
    /// What it does, in an operator's words (for confirmations, flashes and the audit log).
    pub fn describe(&self) -> String {
        match self {
            Change::AddMember {
                name,
                peer_url,
                learner,
            } => format!(
                "add member {} at {peer_url} as a {}",
                crate::text::escape(name),
                if *learner { "learner" } else { "voter" }
            ),
            Change::PromoteMember { id } => format!("promote learner {id:x} to a voter"),
            Change::RemoveMember { id } => format!("remove member {id:x}"),
            Change::MoveLeader { to } => format!("move leadership to {to:x}"),
            Change::Compact { revision } => format!("compact history up to revision {revision}"),
            Change::Defragment { id } => format!("defragment member {id:x}"),
            Change::DisarmNospace { member_id } => {
                format!("disarm the NOSPACE alarm of member {member_id:x}")
            }
        }
    }

    /// The timeout for this change: a defragmentation rewrites the whole database and blocks the
    /// member meanwhile, so it gets a minute on top of the usual timeout.
    pub fn timeout(&self, usual: Duration) -> Duration {
        match self {
            Change::Defragment { .. } => usual + Duration::from_secs(60),
            _ => usual,
        }
    }
}

/// What a change did, in words: `added etcd-4 as 8e9e05c52164694d`.
pub type Done = String;

/// Make `change` through the member at `via`.
pub async fn apply(cluster: &Cluster, via: &str, change: &Change) -> Result<Done, EtcdError> {
    let t = change.timeout(cluster.timeout());
    match change.clone() {
        Change::AddMember {
            name,
            peer_url,
            learner,
        } => {
            let options = learner.then(|| MemberAddOptions::new().with_is_learner());
            let (r, _) = cluster
                .call_for(via, t, |mut c| async move {
                    c.member_add([peer_url], options).await
                })
                .await?;
            let id = r.member().map_or(0, |m| m.id());
            Ok(format!("added {} as {id:x}", crate::text::escape(&name)))
        }
        Change::PromoteMember { id } => {
            cluster
                .call_for(via, t, |mut c| async move { c.member_promote(id).await })
                .await?;
            Ok(format!("promoted {id:x}"))
        }
        Change::RemoveMember { id } => {
            cluster
                .call_for(via, t, |mut c| async move { c.member_remove(id).await })
                .await?;
            Ok(format!("removed {id:x}"))
        }
        Change::MoveLeader { to } => {
            cluster
                .call_for(via, t, |mut c| async move { c.move_leader(to).await })
                .await?;
            Ok(format!("leadership moved to {to:x}"))
        }
        Change::Compact { revision } => {
            let options = CompactionOptions::new().with_physical();
            cluster
                .call_for(via, t, |mut c| async move {
                    c.compact(revision, Some(options)).await
                })
                .await?;
            Ok(format!("compacted up to revision {revision}"))
        }
        Change::Defragment { id } => {
            let (_, took) = cluster
                .call_for(via, t, |mut c| async move { c.defragment().await })
                .await?;
            Ok(format!(
                "defragmented {id:x} in {:.1} s",
                took.as_secs_f64()
            ))
        }
        Change::DisarmNospace { member_id } => {
            let mut options = AlarmOptions::new();
            options.with_member(member_id);
            cluster
                .call_for(via, t, |mut c| async move {
                    c.alarm(AlarmAction::Deactivate, AlarmType::Nospace, Some(options))
                        .await
                })
                .await?;
            Ok(format!("NOSPACE disarmed on {member_id:x}"))
        }
    }
}
