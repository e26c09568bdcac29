//! One typed model of the cluster: what etcd answers (the member list, each member's Status),
//! and the rules over it that exist once: a member's [`Role`], the leader the members agree on,
//! [`Quorum`] and the failures it tolerates now and after a proposed change, alarms, and the
//! [`Availability`] and [`Verdict`] that the console, `status`, `health` and the wizards share.
//!
//! Two views hold members: the console's store (kept live by the probes) and a one-shot Status
//! round (`etcd::status`). Both implement [`MemberFacts`], so every rule below is written once.

use std::time::Duration;

use etcd_client::AlarmType;
use serde::Serialize;

/// A member's part in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Leader,
    Follower,
    /// Does not vote and does not count toward quorum; serves only Status and serializable reads.
    Learner,
}

impl Role {
    /// A learner is a learner even when it names itself leader of nothing; otherwise the leader
    /// is the one the cluster agrees on.
    pub fn of(is_learner: bool, is_leader: bool) -> Role {
        if is_learner {
            Role::Learner
        } else if is_leader {
            Role::Leader
        } else {
            Role::Follower
        }
    }

    /// `leader`, `follower`, `learner`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Follower => "follower",
            Role::Learner => "learner",
        }
    }

    pub fn votes(self) -> bool {
        self != Role::Learner
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What every rule needs to know of a member, whichever view holds it.
pub trait MemberFacts {
    fn id(&self) -> u64;
    /// Listed as a learner, or says so in its own Status.
    fn is_learner(&self) -> bool;
    /// Has joined: the member list gives it client URLs (an added member that never started has
    /// none).
    fn started(&self) -> bool;
    /// Its Status answered in the last round.
    fn answers(&self) -> bool;
    /// From its last answered Status: the raft term and the leader it sees (0: none).
    fn sees(&self) -> Option<(u64, u64)>;
}

/// A member's role, given the leader the cluster agrees on.
pub fn role_of<M: MemberFacts + ?Sized>(m: &M, leader: Option<u64>) -> Role {
    Role::of(m.is_learner(), leader == Some(m.id()))
}

/// The leader the answering members see, the one seen in the highest term winning (right after
/// an election some members still name the old one).
pub fn derive_leader<'a, M: MemberFacts + 'a>(
    members: impl IntoIterator<Item = &'a M>,
) -> Option<u64> {
    members
        .into_iter()
        .filter(|m| m.answers())
        .filter_map(|m| m.sees())
        .filter(|(_, leader)| *leader != 0)
        .max_by_key(|(term, _)| *term)
        .map(|(_, leader)| leader)
}

/// The named leader answers itself (followers keep naming a dead one for an election timeout).
pub fn leader_answers<'a, M: MemberFacts + 'a>(
    members: impl IntoIterator<Item = &'a M>,
    leader: Option<u64>,
) -> bool {
    let Some(id) = leader else { return false };
    members.into_iter().any(|m| m.id() == id && m.answers())
}

/// Votes needed for quorum among `voters`.
pub fn quorum_of(voters: usize) -> usize {
    voters / 2 + 1
}

/// The voting members and what they can bear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quorum {
    /// Voting members in the member list (learners excluded).
    pub voters: usize,
    /// Voters that have started (joined).
    pub started: usize,
    /// Voters that answer now.
    pub up: usize,
    /// Votes a decision needs.
    pub needed: usize,
}

impl Quorum {
    pub fn count<'a, M: MemberFacts + 'a>(members: impl IntoIterator<Item = &'a M>) -> Quorum {
        let (mut voters, mut started, mut up) = (0, 0, 0);
        for m in members.into_iter().filter(|m| !m.is_learner()) {
            voters += 1;
            started += usize::from(m.started());
            up += usize::from(m.answers());
        }
        Quorum {
            voters,
            started,
            up,
            needed: quorum_of(voters),
        }
    }

    /// Enough voters answer for the cluster to decide anything.
    pub fn holds(&self) -> bool {
        self.voters > 0 && self.up >= self.needed
    }

    /// How many more voters may fail now before quorum is lost.
    pub fn tolerates_now(&self) -> usize {
        self.up.saturating_sub(self.needed)
    }

    /// How many voters may fail when every voter answers.
    pub fn tolerates_at_best(&self) -> usize {
        self.voters.saturating_sub(self.needed)
    }

    /// The quorum once a member is added. A learner changes nothing; a new voter counts at once
    /// but answers only after it has started and caught up.
    pub fn after_add(&self, learner: bool) -> Quorum {
        if learner {
            return *self;
        }
        let voters = self.voters + 1;
        Quorum {
            voters,
            started: self.started,
            up: self.up,
            needed: quorum_of(voters),
        }
    }

    /// The quorum once a voter is removed (`answers`: whether it answers now). Removing a learner
    /// changes nothing.
    pub fn after_remove(&self, learner: bool, started: bool, answers: bool) -> Quorum {
        if learner {
            return *self;
        }
        let voters = self.voters.saturating_sub(1);
        Quorum {
            voters,
            started: self.started.saturating_sub(usize::from(started)),
            up: self.up.saturating_sub(usize::from(answers)),
            needed: quorum_of(voters),
        }
    }

    /// Promoting a learner makes it a voter: it answers (it is in sync) and has started.
    pub fn after_promote(&self) -> Quorum {
        let voters = self.voters + 1;
        Quorum {
            voters,
            started: self.started + 1,
            up: self.up + 1,
            needed: quorum_of(voters),
        }
    }
}

/// Whether the cluster can serve writes, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Available,
    /// Fewer voters answer than quorum needs.
    QuorumLost,
    /// Quorum answers but no leader does (an election, or the named leader is dead).
    NoLeader,
}

impl Availability {
    pub fn of(q: &Quorum, leader_answers: bool) -> Availability {
        if !q.holds() {
            Availability::QuorumLost
        } else if !leader_answers {
            Availability::NoLeader
        } else {
            Availability::Available
        }
    }
}

/// One verdict on the cluster, in the order of `etcdeck health`'s exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Healthy,
    /// Quorum and a leader, but a member is down, an alarm is raised or an alert fires.
    Degraded,
    /// No quorum, or no leader that answers.
    Unavailable,
    /// etcdeck could not judge: its own settings (TLS files, CA, credentials, inventory) are at
    /// fault, not the cluster. Monitoring plugins call this "unknown".
    Unknown,
}

impl Verdict {
    /// From the availability and whether anything is wrong short of that.
    pub fn judge(availability: Availability, trouble: bool) -> Verdict {
        match availability {
            Availability::QuorumLost | Availability::NoLeader => Verdict::Unavailable,
            Availability::Available if trouble => Verdict::Degraded,
            Availability::Available => Verdict::Healthy,
        }
    }

    /// 0 healthy, 1 degraded, 2 unavailable, 3 unknown.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Healthy => 0,
            Verdict::Degraded => 1,
            Verdict::Unavailable => 2,
            Verdict::Unknown => 3,
        }
    }

    /// `healthy`, `DEGRADED`, `UNAVAILABLE`, `UNKNOWN`: loud when not healthy.
    pub fn shout(self) -> &'static str {
        match self {
            Verdict::Healthy => "healthy",
            Verdict::Degraded => "DEGRADED",
            Verdict::Unavailable => "UNAVAILABLE",
            Verdict::Unknown => "UNKNOWN",
        }
    }
}

/// An active alarm on one member.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Alarm {
    pub member_id: u64,
    /// `NOSPACE`, `CORRUPT`.
    pub kind: String,
}

/// `memberID:10276657743932975437 alarm:NOSPACE ` (the text form etcd puts in Status errors).
pub fn parse_alarm(e: &str) -> Option<Alarm> {
    let mut id = None;
    let mut kind = None;
    for word in e.split_whitespace() {
        if let Some(v) = word.strip_prefix("memberID:") {
            id = v.parse().ok();
        } else if let Some(v) = word.strip_prefix("alarm:") {
            kind = Some(v.to_string());
        }
    }
    Some(Alarm {
        member_id: id?,
        kind: kind?,
    })
}

/// etcd's alarm type in the words Status errors and `etcdctl alarm list` use.
pub fn alarm_name(a: AlarmType) -> &'static str {
    match a {
        AlarmType::Nospace => "NOSPACE",
        AlarmType::Corrupt => "CORRUPT",
        AlarmType::None => "NONE",
    }
}

/// The sort key that puts `etcd-2` before `etcd-10`: the stem, then the trailing number.
pub fn natural_key(name: &str) -> (String, u64) {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (stem, num) = name.split_at(name.len() - digits);
    (stem.to_string(), num.parse().unwrap_or(0))
}

/// The member list as one endpoint gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberList {
    pub cluster_id: u64,
    pub members: Vec<ListedMember>,
}

/// One entry of the member list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedMember {
    pub id: u64,
    /// Empty until the member has started (an added member that never joined).
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub is_learner: bool,
}

impl From<&etcd_client::MemberListResponse> for MemberList {
    fn from(r: &etcd_client::MemberListResponse) -> MemberList {
        MemberList {
            cluster_id: r.header().map_or(0, |h| h.cluster_id()),
            members: r
                .members()
                .iter()
                .map(|m| ListedMember {
                    id: m.id(),
                    name: m.name().to_string(),
                    peer_urls: m.peer_urls().to_vec(),
                    client_urls: m.client_urls().to_vec(),
                    is_learner: m.is_learner(),
                })
                .collect(),
        }
    }
}

/// A member's answer to Status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    pub version: String,
    pub db_size: i64,
    pub db_size_in_use: i64,
    /// The leader this member sees (0: none).
    pub leader: u64,
    pub raft_term: u64,
    /// Committed raft index.
    pub raft_index: u64,
    pub raft_applied_index: u64,
    pub is_learner: bool,
    /// Errors the member reports about itself: `etcdserver: no leader`, active alarms.
    pub errors: Vec<String>,
    pub latency: Duration,
    /// The store revision in the answer's header (0 when it has none).
    pub revision: i64,
    /// The backend quota the member reports (etcd 3.6 and later; 0 when it does not say).
    pub db_size_quota: i64,
}

impl Probed {
    pub fn from_status(s: &etcd_client::StatusResponse, latency: Duration) -> Probed {
        Probed {
            version: s.version().to_string(),
            db_size: s.db_size(),
            db_size_in_use: s.raft_used_db_size(),
            leader: s.leader(),
            raft_term: s.raft_term(),
            raft_index: s.raft_index(),
            raft_applied_index: s.raft_applied_index(),
            is_learner: s.is_learner(),
            errors: s.errors().to_vec(),
            latency,
            revision: s.header().map_or(0, |h| h.revision()),
            db_size_quota: s.db_size_quota(),
        }
    }
}

#[cfg(test)]
mod tests;
