//! The journal of one operation, `$XDG_STATE_HOME/etcdeck/ops/<cluster>-<op>.json`: the intent
//! (the plan), the steps done, the step begun, artefacts (the snapshot's path and hash). It is
//! rewritten atomically after every step, so a process killed at any point leaves a journal the
//! same command resumes from: steps done are never run again, and the one that was running is
//! re-derived from the live cluster (every step is idempotent). While an operation runs, a lock
//! keeps a second etcdeck from running the same one.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Op, Plan};
use crate::state::{self, StateError};

/// The most a journal file may hold.
const MAX_JOURNAL_BYTES: u64 = 8 << 20;

/// How an operation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    Running,
    Stopped,
    Failed,
    /// Cancelled between steps by the operator: the same command carries it on.
    Cancelled,
    Done,
    /// Given up with `--fresh`: never resumed.
    Abandoned,
}

impl Standing {
    /// Whether the same command offers to carry it on.
    pub fn resumable(self) -> bool {
        !matches!(self, Standing::Done | Standing::Abandoned)
    }
}

/// What the journal file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub version: u32,
    /// `defrag-20261202T031200Z`: names the operation in the audit log and the timeline.
    pub id: String,
    pub op: Op,
    /// The options that shaped the plan (`--all`, a member, a revision): a run with other options
    /// does not resume this one.
    #[serde(default)]
    pub args: String,
    pub started: u64,
    pub updated: u64,
    pub os_user: String,
    pub plan: Plan,
    /// Keys of the steps done.
    pub done: BTreeSet<String>,
    /// The step running when the journal was last written.
    pub begun: Option<String>,
    pub artefacts: BTreeMap<String, String>,
    pub standing: Standing,
    pub why: Option<String>,
}

/// An operation's journal, held open under its lock while the operation runs.
pub struct Journal {
    path: PathBuf,
    pub record: Record,
    _lock: File,
}

/// `ops/<cluster id>-<op>.json` under the state directory.
pub fn path(state_dir: &Path, cluster_id: u64, op: Op) -> PathBuf {
    state_dir
        .join("ops")
        .join(format!("{cluster_id:x}-{}.json", op.slug()))
}

/// The journal of an operation that did not end (running when killed, stopped at a gate, or
/// failed), if there is one.
pub fn unfinished(state_dir: &Path, cluster_id: u64, op: Op) -> Result<Option<Record>, String> {
    Ok(latest(state_dir, cluster_id, op)?.filter(|rec| rec.standing.resumable()))
}

/// The journal of the cluster's last operation of this kind, however it ended.
pub fn latest(state_dir: &Path, cluster_id: u64, op: Op) -> Result<Option<Record>, String> {
    let p = path(state_dir, cluster_id, op);
    let Some(mut f) = state::open_read(&p).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let bytes = state::read_capped(&p, &mut f, MAX_JOURNAL_BYTES).map_err(|e| e.to_string())?;
    let rec: Record = serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "{}: cannot be read ({e}); move it away to start afresh",
            p.display()
        )
    })?;
    Ok((rec.plan.cluster_id == cluster_id).then_some(rec))
}

impl Journal {
    /// Take the operation's lock and write its journal: a new one, or the one being resumed.
    pub fn open(state_dir: &Path, record: Record) -> Result<Journal, StateError> {
        let p = path(state_dir, record.plan.cluster_id, record.op);
        if let Some(dir) = p.parent() {
            state::private_dir(dir)?;
        }
        // One operation at a time per cluster, whichever it is, from any etcdeck (the console's
        // or a script's).
        let lock_path = state_dir
            .join("ops")
            .join(format!("{:x}.lock", record.plan.cluster_id));
        let lock = state::open_append(&lock_path)?;
        state::lock(&lock_path, &lock)?;
        let mut j = Journal {
            path: p,
            record,
            _lock: lock,
        };
        j.write()?;
        Ok(j)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self) -> Result<(), StateError> {
        self.record.updated = super::audit::now_unix();
        let bytes = serde_json::to_vec_pretty(&self.record).unwrap_or_default();
        state::replace(&self.path, &bytes).map(drop)
    }

    /// A step is about to run.
    pub fn begun(&mut self, key: &str) -> Result<(), StateError> {
        self.record.begun = Some(key.to_string());
        self.write()
    }

    /// A step is done (gates and pauses are not recorded: they run again on resume).
    pub fn done(&mut self, key: &str, journaled: bool) -> Result<(), StateError> {
        if journaled {
            self.record.done.insert(key.to_string());
        }
        self.record.begun = None;
        self.write()
    }

    pub fn artefact(&mut self, name: &str, value: String) -> Result<(), StateError> {
        self.record.artefacts.insert(name.to_string(), value);
        self.write()
    }

    /// How the operation ended.
    pub fn finish(&mut self, standing: Standing, why: Option<String>) -> Result<(), StateError> {
        self.record.standing = standing;
        self.record.why = why;
        self.record.begun = None;
        self.write()
    }
}

/// A fresh record for a plan made with `args`.
pub fn record(plan: Plan, args: &str, now: u64) -> Record {
    Record {
        version: 1,
        id: format!("{}-{}", plan.op.slug(), super::snapshot::stamp(now)),
        op: plan.op,
        args: args.to_string(),
        started: now,
        updated: now,
        os_user: super::audit::os_user(),
        plan,
        done: BTreeSet::new(),
        begun: None,
        artefacts: BTreeMap::new(),
        standing: Standing::Running,
        why: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wizard::tests::three;

    #[test]
    fn a_journal_survives_as_written_and_is_offered_until_it_ends() {
        let d = tempfile::tempdir().unwrap();
        let s = three();
        let plan = crate::wizard::move_leader::plan(&s, "etcd-2").unwrap();
        let mut j = Journal::open(d.path(), record(plan.clone(), "etcd-2", 1000)).unwrap();
        j.begun("move-leader:2").unwrap();
        // Killed here: the same command finds it, with the step that was running.
        let found = unfinished(d.path(), s.cluster_id, Op::MoveLeader)
            .unwrap()
            .unwrap();
        assert_eq!(found.begun.as_deref(), Some("move-leader:2"));
        assert!(found.done.is_empty());
        assert_eq!(found.plan, plan);
        // Another operation kind or cluster does not see it.
        assert!(unfinished(d.path(), s.cluster_id, Op::Defrag)
            .unwrap()
            .is_none());
        assert!(unfinished(d.path(), 0xdead, Op::MoveLeader)
            .unwrap()
            .is_none());
        // A second process cannot run the same operation meanwhile, nor another one on the
        // same cluster.
        assert!(matches!(
            Journal::open(d.path(), found.clone()),
            Err(StateError::Locked { .. })
        ));
        let other = crate::wizard::defrag::plan(&s, &crate::wizard::tests::defrag_all()).unwrap();
        assert!(matches!(
            Journal::open(d.path(), record(other, "--all", 1000)),
            Err(StateError::Locked { .. })
        ));
        j.done("move-leader:2", true).unwrap();
        j.done("gate:end", false).unwrap();
        let found = unfinished(d.path(), s.cluster_id, Op::MoveLeader)
            .unwrap()
            .unwrap();
        assert_eq!(found.done, BTreeSet::from(["move-leader:2".to_string()]));
        j.finish(Standing::Done, None).unwrap();
        assert!(unfinished(d.path(), s.cluster_id, Op::MoveLeader)
            .unwrap()
            .is_none());
        // The file is private.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(j.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_damaged_journal_says_where_and_what_to_do() {
        let d = tempfile::tempdir().unwrap();
        let p = path(d.path(), 0xabc, Op::Defrag);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"{ not json").unwrap();
        let e = unfinished(d.path(), 0xabc, Op::Defrag).unwrap_err();
        assert!(e.contains("move it away"), "{e}");
    }
}
