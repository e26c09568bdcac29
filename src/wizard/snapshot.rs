//! Snapshot: the whole database streamed from one healthy follower into a file, verified by the
//! sha256 etcd appends to the stream, written as `FILE.part`, fsynced, then renamed (mode 0600).
//! Every destructive wizard begins with one, kept under the state directory with a retention.

use std::path::{Path, PathBuf};

use super::{common_refusals, snapshot_source, Common, Op, Plan, Refusal, Step, StepKind};
use crate::etcd::status::ClusterStatus;

/// How many automatic snapshots are kept per cluster (the oldest go first).
pub const KEEP_SNAPSHOTS: usize = 3;

/// `20261202T031200Z` for a Unix second: RFC 3339 without its separators, so names sort by time.
pub fn stamp(now: u64) -> String {
    super::audit::rfc3339(now).replace(['-', ':'], "")
}

/// The plan of `etcdeck snapshot save FILE`: one step, from a healthy follower.
pub fn plan(s: &ClusterStatus, file: &Path) -> Result<Plan, Vec<Refusal>> {
    let src = snapshot_source(s).ok_or_else(|| {
        let mut r = common_refusals(s);
        r.push(Refusal::new(
            "no started voter answers to take the snapshot from",
            "bring a member back (`etcdeck status` shows which are down)",
        ));
        r
    })?;
    let step = Step {
        key: "snapshot".into(),
        text: format!("snapshot to {}", file.display()),
        kind: StepKind::Snapshot {
            member: src.id,
            path: file.to_path_buf(),
        },
        member: Some(super::name(src)),
        via: src.client_urls.first().cloned(),
        tolerates: s.quorum().tolerates_now(),
        changes: false,
    };
    Ok(Plan {
        op: Op::Snapshot,
        cluster_id: s.cluster_id,
        confirm: None,
        tolerates_now: s.quorum().tolerates_now(),
        facts: vec![format!(
            "from {} (a follower is asked so the leader is spared); about {} to write",
            super::name(src),
            crate::units::bytes(src.db_size.max(0) as u64)
        )],
        warnings: Vec::new(),
        steps: vec![step],
    })
}

/// The automatic snapshots' folder for a cluster.
pub fn auto_dir(state: &Path) -> PathBuf {
    state.join("snapshots")
}

/// Remove the oldest automatic snapshots of a cluster beyond [`KEEP_SNAPSHOTS`]; the names
/// removed.
pub fn prune(dir: &Path, cluster_id: u64) -> Vec<PathBuf> {
    let prefix = format!("{cluster_id:x}-");
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut mine: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".db"))
        })
        .collect();
    // The stamp sorts by time.
    mine.sort();
    let extra = mine.len().saturating_sub(KEEP_SNAPSHOTS);
    let gone: Vec<PathBuf> = mine.into_iter().take(extra).collect();
    for p in &gone {
        let _ = std::fs::remove_file(p);
    }
    gone
}

/// How to restore each member from a snapshot, printed (never run): etcd's documented procedure,
/// with Pigsty's paths.
pub fn restore_commands(s: &ClusterStatus, file: &Path, cluster_name: &str) -> Vec<String> {
    let initial: Vec<String> = s
        .members
        .iter()
        .filter(|m| !m.is_learner && !m.name.is_empty())
        .filter_map(|m| m.peer_urls.first().map(|u| format!("{}={u}", m.name)))
        .collect();
    let initial = initial.join(",");
    let mut out = vec![
        "# restore makes a NEW cluster (new cluster id: Patroni notices); stop every member first:"
            .to_string(),
        "#   systemctl stop etcd   (on each member)".into(),
    ];
    for m in s
        .members
        .iter()
        .filter(|m| !m.is_learner && !m.name.is_empty())
    {
        let peer = m.peer_urls.first().cloned().unwrap_or_default();
        out.push(format!(
            "# on {name}: etcdutl snapshot restore {file} --name {name} \
             --initial-cluster {initial} --initial-cluster-token {cluster_name} \
             --initial-advertise-peer-urls {peer} --data-dir /data/etcd.restored",
            name = crate::text::escape(&m.name),
            file = file.display(),
            initial = crate::text::escape(&initial),
        ));
    }
    out.push(
        "# then on each: move /data/etcd aside, move /data/etcd.restored to /data/etcd, start etcd"
            .into(),
    );
    out
}

impl Common {
    /// Options for tests and the console: snapshot on, into `dir`.
    pub fn with_snapshot_dir(dir: &Path, now: u64, cluster_name: &str) -> Common {
        Common {
            snapshot: true,
            snapshot_dir: dir.to_path_buf(),
            now,
            cluster_name: cluster_name.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_sort_by_time_and_read_as_utc() {
        assert_eq!(stamp(0), "19700101T000000Z");
        assert_eq!(stamp(1796181125), "20261202T031205Z");
        assert!(stamp(1_000) < stamp(2_000));
    }

    #[test]
    fn prune_keeps_the_newest_of_this_cluster_only() {
        let d = tempfile::tempdir().unwrap();
        for t in [1u64, 2, 3, 4, 5] {
            std::fs::write(
                d.path().join(format!("abc-{}-etcd-2.db", stamp(t * 100))),
                b"x",
            )
            .unwrap();
        }
        std::fs::write(d.path().join(format!("def-{}-etcd-2.db", stamp(1))), b"x").unwrap();
        let gone = prune(d.path(), 0xabc);
        assert_eq!(gone.len(), 2);
        let mut left: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left.len(), 4);
        assert!(left.contains(&format!("abc-{}-etcd-2.db", stamp(500))));
        assert!(!left.contains(&format!("abc-{}-etcd-2.db", stamp(100))));
        assert!(left.contains(&format!("def-{}-etcd-2.db", stamp(1))));
    }
}
