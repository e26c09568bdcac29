//! One verdict on the cluster for scripts and monitoring agents (`etcdeck health`): healthy,
//! degraded (a member down or an alert firing, quorum kept) or unavailable (no leader or no
//! quorum). Status and `/metrics` are asked at the same time, so a frozen member costs one
//! timeout, not several.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::etcd::metrics::{self, Scraper, Snapshot};
use crate::etcd::model::{Availability, Quorum, Role};
use crate::etcd::status::{gather, ClusterStatus};
use crate::etcd::{Cluster, EtcdError};

/// How long apart the two scrapes are whose difference gives the p99s.
pub const SCRAPE_GAP: Duration = Duration::from_secs(1);

pub use crate::etcd::model::Verdict;

#[derive(Debug, Clone, Serialize)]
pub struct MemberHealth {
    pub name: String,
    pub id: String,
    pub up: bool,
    pub role: Role,
    /// Pigsty's alerts firing on this member, in words.
    pub alerts: Vec<String>,
    /// Why it did not answer, or why its metrics could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub verdict: Verdict,
    pub healthy: bool,
    pub has_leader: bool,
    pub leader: Option<String>,
    /// Voters, started voters, voters up, votes needed.
    pub quorum: Quorum,
    pub members: Vec<MemberHealth>,
    /// Active alarms, e.g. `NOSPACE on etcd-2`.
    pub alarms: Vec<String>,
}

/// Scrape `url` twice, [`SCRAPE_GAP`] apart, and derive the p99s from the difference; one scrape
/// when the second fails.
async fn scrape_twice(
    scraper: Scraper,
    url: String,
) -> Result<(Snapshot, metrics::Derived), EtcdError> {
    let (first, _) = metrics::scrape(&scraper, &url).await?;
    let first = metrics::parse(&first).map_err(|e| EtcdError::Other {
        endpoint: url.clone(),
        message: e.to_string(),
    })?;
    tokio::time::sleep(SCRAPE_GAP).await;
    match metrics::scrape(&scraper, &url).await {
        Ok((second, _)) => match metrics::parse(&second) {
            Ok(second) => {
                let d = metrics::compare(&first, &second);
                Ok((second, d))
            }
            Err(_) => {
                let d = metrics::lifetime(&first);
                Ok((first, d))
            }
        },
        Err(_) => {
            let d = metrics::lifetime(&first);
            Ok((first, d))
        }
    }
}

/// Ask the cluster now.
pub async fn check(cluster: &Cluster, scraper: &Scraper) -> Result<Report, EtcdError> {
    // Metrics of every configured endpoint, at the same time as the Status round.
    let mut scrapes = tokio::task::JoinSet::new();
    for url in &cluster.settings().endpoints {
        let (s, u) = (scraper.clone(), url.clone());
        scrapes.spawn(async move { (u.clone(), scrape_twice(s, u).await) });
    }
    let status = gather(cluster).await;
    let mut by_url: BTreeMap<String, Result<(Snapshot, metrics::Derived), EtcdError>> =
        BTreeMap::new();
    while let Some(j) = scrapes.join_next().await {
        if let Ok((url, r)) = j {
            by_url.insert(url, r);
        }
    }
    Ok(judge(&status?, &by_url))
}

/// The verdict from a Status round and the metrics read per client URL.
pub fn judge(
    s: &ClusterStatus,
    metrics: &BTreeMap<String, Result<(Snapshot, metrics::Derived), EtcdError>>,
) -> Report {
    let quorum = s.quorum();
    let has_leader = s.leader_answers();
    let members: Vec<MemberHealth> = s
        .members
        .iter()
        .map(|m| {
            let found = m.client_urls.iter().find_map(|u| metrics.get(u));
            let (alerts, metrics_error) = match found {
                Some(Ok((snap, derived))) => (
                    metrics::alerts(snap, derived)
                        .iter()
                        .map(|a| format!("{}: {a}", a.rule()))
                        .collect(),
                    None,
                ),
                Some(Err(e)) if m.reachable => (Vec::new(), Some(format!("metrics: {e}"))),
                _ => (Vec::new(), None),
            };
            MemberHealth {
                name: if m.name.is_empty() {
                    format!("{:x}", m.id)
                } else {
                    m.name.clone()
                },
                id: format!("{:x}", m.id),
                up: m.reachable,
                role: m.role(),
                alerts,
                error: m.error.clone().or(metrics_error),
            }
        })
        .collect();
    let alarms: Vec<String> = s
        .alarms
        .iter()
        .map(|a| format!("{} on {}", a.alarm, a.member))
        .collect();
    let trouble = members.iter().any(|m| !m.up || !m.alerts.is_empty()) || !alarms.is_empty();
    let verdict = Verdict::judge(Availability::of(&quorum, has_leader), trouble);
    Report {
        verdict,
        healthy: verdict == Verdict::Healthy,
        has_leader,
        leader: s.leader.map(|id| s.name_of(id)),
        quorum,
        members,
        alarms,
    }
}

/// The report for people: one line of verdict, then one per member.
pub fn render(r: &Report) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let verdict = r.verdict.shout();
    let _ = writeln!(
        out,
        "{verdict}: leader {}, quorum {}/{} voters up (needs {})",
        r.leader
            .as_deref()
            .map_or("none".into(), |l| crate::text::escape(l).into_owned()),
        r.quorum.up,
        r.quorum.voters,
        r.quorum.needed
    );
    for m in &r.members {
        let _ = writeln!(
            out,
            "  {:<12} {:<8} {}",
            crate::text::escape(&m.name),
            m.role,
            if m.up { "up" } else { "DOWN" }
        );
        for a in &m.alerts {
            let _ = writeln!(out, "    alert: {a}");
        }
        if let Some(e) = &m.error {
            let _ = writeln!(out, "    {}", crate::text::escape(e));
        }
    }
    for a in &r.alarms {
        let _ = writeln!(out, "  alarm: {}", crate::text::escape(a));
    }
    out
}
