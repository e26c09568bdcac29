//! One look at the whole cluster: member list, each member's Status, alarms.
//! Members are asked at the same time; a dead or frozen one is reported after the timeout.

use std::fmt::Write;

use etcd_client::{AlarmAction, AlarmType};
use serde::{Serialize, Serializer};
use tokio::task::JoinSet;

use super::client::Cluster;
use super::error::EtcdError;
use super::model::{self, alarm_name, MemberFacts, Quorum, Role};
use crate::text::escape;
use crate::units;

pub use super::model::natural_key;

/// The cluster as seen now.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterStatus {
    #[serde(serialize_with = "hex")]
    pub cluster_id: u64,
    #[serde(serialize_with = "opt_hex")]
    pub leader: Option<u64>,
    pub alarms: Vec<Alarm>,
    pub members: Vec<MemberStatus>,
    /// Which endpoint gave the member list.
    pub member_list_from: String,
    /// Why alarms could not be read, if they could not.
    pub alarms_error: Option<String>,
}

/// An active alarm on one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alarm {
    #[serde(serialize_with = "hex")]
    pub member_id: u64,
    pub member: String,
    /// `NOSPACE`, `CORRUPT`.
    pub alarm: String,
}

/// One member: what the member list says and what its own Status says.
#[derive(Debug, Clone, Serialize)]
pub struct MemberStatus {
    #[serde(serialize_with = "hex")]
    pub id: u64,
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub is_learner: bool,
    pub is_leader: bool,
    /// Unstarted: added to the cluster but never joined (no name, no client URLs yet).
    pub started: bool,
    pub reachable: bool,
    pub version: String,
    pub db_size: i64,
    pub db_size_in_use: i64,
    pub raft_term: u64,
    pub raft_index: u64,
    /// The raft index this member has applied (behind `raft_index` while it catches up).
    pub raft_applied_index: u64,
    /// The store revision in the member's answer header.
    pub revision: i64,
    /// The backend quota the member reports (etcd 3.6 and later; 0 when it does not say).
    pub db_size_quota: i64,
    /// The leader this member sees (0: none).
    #[serde(serialize_with = "hex")]
    pub sees_leader: u64,
    /// Errors the member reports about itself (Status `errors`).
    pub errors: Vec<String>,
    /// Why the member could not be asked.
    pub error: Option<String>,
    /// Short form of `error` for tables.
    pub error_short: Option<String>,
    /// How long the Status call took.
    pub latency_ms: Option<f64>,
}

impl MemberStatus {
    pub fn role(&self) -> Role {
        Role::of(self.is_learner, self.is_leader)
    }
}

impl MemberFacts for MemberStatus {
    fn id(&self) -> u64 {
        self.id
    }
    fn is_learner(&self) -> bool {
        self.is_learner
    }
    fn started(&self) -> bool {
        self.started
    }
    fn answers(&self) -> bool {
        self.reachable
    }
    fn sees(&self) -> Option<(u64, u64)> {
        self.reachable.then_some((self.raft_term, self.sees_leader))
    }
}

impl ClusterStatus {
    /// All members answered and there is a leader.
    pub fn all_ok(&self) -> bool {
        self.leader.is_some() && self.members.iter().all(|m| m.reachable)
    }

    /// Whether the member the others name as leader answers itself. Right after the leader dies,
    /// followers still name it until their election timeout runs out.
    pub fn leader_answers(&self) -> bool {
        model::leader_answers(&self.members, self.leader)
    }

    /// Voting members, how many answered, and how many are needed for quorum.
    pub fn quorum(&self) -> Quorum {
        Quorum::count(&self.members)
    }

    /// The cluster's revision: the highest any member's answer gave (0 when none answered).
    pub fn revision(&self) -> i64 {
        self.members.iter().map(|m| m.revision).max().unwrap_or(0)
    }

    /// The name of a member id, or its hex id when it has no name yet.
    pub fn name_of(&self, id: u64) -> String {
        self.members
            .iter()
            .find(|m| m.id == id)
            .filter(|m| !m.name.is_empty())
            .map_or_else(|| format!("{id:x}"), |m| m.name.clone())
    }
}

fn hex<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{v:x}"))
}

fn opt_hex<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(&format!("{v:x}")),
        None => s.serialize_none(),
    }
}

/// Ask the cluster: member list first (from any endpoint), then every member's Status and the
/// alarm list at once.
pub async fn gather(cluster: &Cluster) -> Result<ClusterStatus, EtcdError> {
    look(cluster, true).await
}

/// [`gather`] without asking every endpoint again which cluster it belongs to: for the looks a
/// wizard takes between its steps, on a cluster already identified.
pub async fn observe(cluster: &Cluster) -> Result<ClusterStatus, EtcdError> {
    look(cluster, false).await
}

async fn look(cluster: &Cluster, identify: bool) -> Result<ClusterStatus, EtcdError> {
    // Every configured endpoint must answer for the same cluster: asked alongside.
    let identity = identify.then(|| {
        let c = cluster.clone();
        tokio::spawn(async move { c.identify().await })
    });
    let (list, from) = cluster.member_list().await?;
    let list = model::MemberList::from(&list);
    let cluster_id = list.cluster_id;

    let mut members: Vec<MemberStatus> = list
        .members
        .into_iter()
        .map(|m| MemberStatus {
            started: !m.client_urls.is_empty(),
            error: (m.client_urls.is_empty())
                .then(|| "unstarted: added to the cluster but its etcd has not joined yet".into()),
            error_short: m.client_urls.is_empty().then(|| "unstarted".into()),
            id: m.id,
            name: m.name,
            peer_urls: m.peer_urls,
            client_urls: m.client_urls,
            is_learner: m.is_learner,
            is_leader: false,
            reachable: false,
            version: String::new(),
            db_size: 0,
            db_size_in_use: 0,
            raft_term: 0,
            raft_index: 0,
            raft_applied_index: 0,
            revision: 0,
            db_size_quota: 0,
            sees_leader: 0,
            errors: Vec::new(),
            latency_ms: None,
        })
        .collect();
    members.sort_by(|a, b| {
        natural_key(&a.name)
            .cmp(&natural_key(&b.name))
            .then(a.id.cmp(&b.id))
    });

    let mut probes = JoinSet::new();
    for (i, m) in members.iter().enumerate() {
        if let Some(url) = m.client_urls.first().cloned() {
            let cluster = cluster.clone();
            probes.spawn(async move {
                let r = cluster
                    .call(&url, |mut c| async move { c.status().await })
                    .await;
                (i, r)
            });
        }
    }
    let voters: Vec<String> = members
        .iter()
        .filter(|m| !m.is_learner)
        .filter_map(|m| m.client_urls.first().cloned())
        .collect();
    let alarm_cluster = cluster.clone();
    let alarms = tokio::spawn(async move {
        alarm_cluster
            .first_answer(&voters, |mut c| async move {
                c.alarm(AlarmAction::Get, AlarmType::None, None).await
            })
            .await
    });

    while let Some(joined) = probes.join_next().await {
        let Ok((i, result)) = joined else { continue };
        let m = &mut members[i];
        match result {
            Ok((s, took)) => {
                m.reachable = true;
                m.version = s.version().to_string();
                m.db_size = s.db_size();
                m.db_size_in_use = s.raft_used_db_size();
                m.raft_term = s.raft_term();
                m.raft_index = s.raft_index();
                m.raft_applied_index = s.raft_applied_index();
                m.revision = s.header().map_or(0, |h| h.revision());
                m.db_size_quota = s.db_size_quota();
                m.sees_leader = s.leader();
                m.errors = s.errors().to_vec();
                m.is_learner = m.is_learner || s.is_learner();
                m.latency_ms = Some(took.as_secs_f64() * 1000.0);
            }
            Err(e) => {
                m.error_short = Some(e.short().to_string());
                m.error = Some(e.to_string());
            }
        }
    }

    let leader = model::derive_leader(&members);
    for m in &mut members {
        m.is_leader = Some(m.id) == leader;
    }

    let (alarms, alarms_error) = match alarms.await {
        Ok(Ok((resp, _))) => (
            resp.alarms()
                .iter()
                .map(|a| Alarm {
                    member_id: a.member_id(),
                    member: String::new(),
                    alarm: alarm_name(a.alarm()).to_string(),
                })
                .collect::<Vec<_>>(),
            None,
        ),
        Ok(Err(e)) => (Vec::new(), Some(e.to_string())),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    if let Some(identity) = identity {
        if let Ok(Err(mixed @ EtcdError::MixedClusters(_))) = identity.await {
            return Err(mixed);
        }
    }
    let mut status = ClusterStatus {
        cluster_id,
        leader,
        alarms,
        members,
        member_list_from: from,
        alarms_error,
    };
    let names: Vec<String> = status
        .alarms
        .iter()
        .map(|a| status.name_of(a.member_id))
        .collect();
    for (a, name) in status.alarms.iter_mut().zip(names) {
        a.member = name;
    }
    Ok(status)
}

/// The table `etcdeck status` prints. Names and errors come from etcd and are escaped.
pub fn render_table(s: &ClusterStatus) -> String {
    let mut out = String::new();
    let Quorum {
        up, needed, voters, ..
    } = s.quorum();
    let leader = s.leader.map_or_else(
        || "NONE".to_string(),
        |id| {
            let stale = if s.leader_answers() {
                ""
            } else {
                " NOT ANSWERING (election pending?)"
            };
            format!("{} ({id:x}){stale}", escape(&s.name_of(id)))
        },
    );
    let alarms = if let Some(e) = &s.alarms_error {
        format!("unknown ({e})")
    } else if s.alarms.is_empty() {
        "none".to_string()
    } else {
        s.alarms
            .iter()
            .map(|a| format!("{} on {}", a.alarm, escape(&a.member)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "cluster {:x}  leader {leader}  quorum {up}/{voters} voters up (need {needed})  alarms {alarms}",
        s.cluster_id
    );
    let header = [
        "ID", "NAME", "ROLE", "STATE", "REACH", "VERSION", "DB", "IN USE", "TERM", "INDEX",
        "LATENCY", "ERRORS",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for m in &s.members {
        let name = if m.name.is_empty() {
            "-".to_string()
        } else {
            escape(&m.name).into_owned()
        };
        let known = m.reachable;
        let dash = || "-".to_string();
        let mut errors: Vec<String> = m.errors.iter().map(|e| escape(e).into_owned()).collect();
        if let Some(short) = &m.error_short {
            errors.insert(0, short.clone());
        }
        rows.push(vec![
            format!("{:x}", m.id),
            name,
            m.role().as_str().to_string(),
            if m.started { "started" } else { "unstarted" }.to_string(),
            if m.reachable { "yes" } else { "NO" }.to_string(),
            if known {
                escape(&m.version).into_owned()
            } else {
                dash()
            },
            if known {
                units::bytes(m.db_size)
            } else {
                dash()
            },
            if known {
                units::bytes(m.db_size_in_use)
            } else {
                dash()
            },
            if known {
                m.raft_term.to_string()
            } else {
                dash()
            },
            if known {
                m.raft_index.to_string()
            } else {
                dash()
            },
            m.latency_ms.map_or_else(dash, |l| format!("{l:.1} ms")),
            if errors.is_empty() {
                dash()
            } else {
                errors.join("; ")
            },
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    for m in s.members.iter().filter(|m| m.error.is_some()) {
        let who = if m.name.is_empty() {
            format!("{:x}", m.id)
        } else {
            escape(&m.name).into_owned()
        };
        let _ = writeln!(
            out,
            "{who}: {}",
            escape(m.error.as_deref().unwrap_or_default())
        );
    }
    out
}

#[cfg(test)]
impl MemberStatus {
    /// A started voter at `https://127.0.0.<id>:2379` (id 1 leads) that answered, or timed out,
    /// for tests.
    pub(crate) fn sample(id: u64, name: &str, reachable: bool) -> MemberStatus {
        MemberStatus {
            id,
            name: name.into(),
            peer_urls: vec![],
            client_urls: vec![format!("https://127.0.0.{id}:2379")],
            is_learner: false,
            is_leader: id == 1,
            started: true,
            reachable,
            version: "3.4.23".into(),
            db_size: 20480,
            db_size_in_use: 16384,
            raft_term: 2,
            raft_index: 9,
            raft_applied_index: 9,
            revision: 5,
            db_size_quota: 0,
            sees_leader: 1,
            errors: vec![],
            error: (!reachable).then(|| "https://127.0.0.3:2379: no answer within 2000 ms".into()),
            error_short: (!reachable).then(|| "timeout".into()),
            latency_ms: reachable.then_some(1.25),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u64, name: &str, reachable: bool) -> MemberStatus {
        MemberStatus::sample(id, name, reachable)
    }

    fn status(members: Vec<MemberStatus>, leader: Option<u64>) -> ClusterStatus {
        ClusterStatus {
            cluster_id: 0x6646fbcf5debc68f,
            leader,
            alarms: vec![],
            members,
            member_list_from: "https://127.0.0.1:2379".into(),
            alarms_error: None,
        }
    }

    #[test]
    fn json_has_the_documented_shape_with_hex_ids() {
        let s = status(
            vec![member(1, "etcd-1", true), member(0xab, "etcd-2", true)],
            Some(1),
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["cluster_id"], "6646fbcf5debc68f");
        assert_eq!(v["leader"], "1");
        assert_eq!(v["members"][1]["id"], "ab");
        for key in [
            "name",
            "peer_urls",
            "client_urls",
            "is_learner",
            "is_leader",
            "started",
            "reachable",
            "version",
            "db_size",
            "db_size_in_use",
            "raft_term",
            "raft_index",
            "errors",
        ] {
            assert!(v["members"][0].get(key).is_some(), "missing {key}");
        }
        let none = serde_json::to_value(status(vec![], None)).unwrap();
        assert!(none["leader"].is_null());
    }

    #[test]
    fn table_shows_roles_unreachable_and_why_with_names_escaped() {
        let mut evil = member(2, "etcd-2\u{1b}[2J", true);
        evil.is_leader = false;
        let s = status(
            vec![member(1, "etcd-1", true), evil, member(3, "etcd-3", false)],
            Some(1),
        );
        let t = render_table(&s);
        assert!(
            t.starts_with(
                "cluster 6646fbcf5debc68f  leader etcd-1 (1)  quorum 2/3 voters up (need 2)"
            ),
            "{t}"
        );
        assert!(t.contains("etcd-2\\e[2J"), "{t}");
        assert!(!t.contains('\u{1b}'));
        let row3 = t.lines().find(|l| l.starts_with("3 ")).unwrap();
        assert!(row3.contains("NO") && row3.contains("timeout"), "{row3}");
        assert!(t.contains("etcd-3: https://127.0.0.3:2379: no answer within 2000 ms"));
        assert!(!s.all_ok());

        // The named leader itself does not answer: the header says so.
        let dead_leader = status(
            vec![member(1, "etcd-1", false), member(2, "etcd-2", true)],
            Some(1),
        );
        assert!(!dead_leader.leader_answers());
        assert!(
            render_table(&dead_leader).contains("leader etcd-1 (1) NOT ANSWERING"),
            "{}",
            render_table(&dead_leader)
        );
    }
}
