//! The audit log, `$XDG_STATE_HOME/etcdeck/audit.log`: one JSON line before and one after every
//! call that changes the cluster (and every snapshot), each written and synced to disk before
//! the program goes on, so a crash leaves at least the "begin" of what it was doing. Operations
//! appear in the timeline from here.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::state::{self, StateError};

/// The most of the log the timeline reads (the newest part).
const MAX_READ_BYTES: u64 = 16 << 20;

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// RFC 3339, UTC.
    pub time: String,
    pub unix: u64,
    pub os_user: String,
    /// The etcd user the calls authenticate as, if any.
    pub etcd_user: Option<String>,
    pub cluster_id: String,
    /// The operation's id (`defrag-20261202T031200Z`).
    pub operation: String,
    /// `begin` or `end`.
    pub phase: String,
    /// What the step does.
    pub step: String,
    /// The member it is sent to.
    pub target: Option<String>,
    /// `ok`, `error: ...`; none on `begin`.
    pub outcome: Option<String>,
    pub duration_ms: Option<u64>,
}

/// Unix seconds now.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// RFC 3339 for a Unix second, UTC.
pub fn rfc3339(unix: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The operating-system user running etcdeck: the name of the real uid in the password
/// database (not `$USER`, which anyone can set), else the uid.
pub fn os_user() -> String {
    // SAFETY: getuid cannot fail; getpwuid_r writes only into the buffers given, and the name it
    // points at lives in `buf`, read before `buf` goes.
    unsafe {
        let uid = libc::getuid();
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 4096];
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        let r = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut out);
        if r == 0 && !out.is_null() && !pwd.pw_name.is_null() {
            if let Ok(name) = std::ffi::CStr::from_ptr(pwd.pw_name).to_str() {
                if !name.is_empty() {
                    return name.to_string();
                }
            }
        }
        format!("uid {uid}")
    }
}

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("audit.log")
}

/// The log, open for appending.
pub struct AuditLog {
    path: PathBuf,
    file: std::fs::File,
    pub os_user: String,
    pub etcd_user: Option<String>,
    pub cluster_id: u64,
    pub operation: String,
}

impl AuditLog {
    pub fn open(
        state_dir: &Path,
        cluster_id: u64,
        operation: &str,
        etcd_user: Option<String>,
    ) -> Result<AuditLog, StateError> {
        state::private_dir(state_dir)?;
        let path = path(state_dir);
        let file = state::open_append(&path)?;
        Ok(AuditLog {
            path,
            file,
            os_user: os_user(),
            etcd_user,
            cluster_id,
            operation: operation.to_string(),
        })
    }

    fn write(&mut self, e: &Entry) -> Result<(), StateError> {
        let mut line = serde_json::to_string(e).unwrap_or_default();
        line.push('\n');
        let err = |source| StateError::Io {
            path: self.path.display().to_string(),
            source,
        };
        self.file.write_all(line.as_bytes()).map_err(err)?;
        self.file.sync_data().map_err(|source| StateError::Io {
            path: self.path.display().to_string(),
            source,
        })
    }

    fn entry(&self, phase: &str, step: &str, target: Option<&str>) -> Entry {
        let unix = now_unix();
        Entry {
            time: rfc3339(unix),
            unix,
            os_user: self.os_user.clone(),
            etcd_user: self.etcd_user.clone(),
            cluster_id: format!("{:x}", self.cluster_id),
            operation: self.operation.clone(),
            phase: phase.into(),
            step: step.into(),
            target: target.map(str::to_string),
            outcome: None,
            duration_ms: None,
        }
    }

    /// Written and synced before the call.
    pub fn begin(&mut self, step: &str, target: Option<&str>) -> Result<(), StateError> {
        let e = self.entry("begin", step, target);
        self.write(&e)
    }

    /// Written and synced after the call.
    pub fn end(
        &mut self,
        step: &str,
        target: Option<&str>,
        outcome: Result<&str, &str>,
        took: Duration,
    ) -> Result<(), StateError> {
        let mut e = self.entry("end", step, target);
        e.outcome = Some(match outcome {
            Ok(_) => "ok".into(),
            Err(why) => format!("error: {why}"),
        });
        e.duration_ms = Some(took.as_millis() as u64);
        self.write(&e)
    }
}

/// The log's entries for one cluster from Unix second `since` on (damaged lines skipped).
pub fn read(state_dir: &Path, cluster_id: u64, since: u64) -> Result<Vec<Entry>, StateError> {
    let p = path(state_dir);
    let Some(mut f) = state::open_read(&p)? else {
        return Ok(Vec::new());
    };
    use std::io::{Seek, SeekFrom};
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(MAX_READ_BYTES);
    f.seek(SeekFrom::Start(start))
        .map_err(|source| StateError::Io {
            path: p.display().to_string(),
            source,
        })?;
    let id = format!("{cluster_id:x}");
    let mut out = Vec::new();
    for line in std::io::BufReader::new(f)
        .lines()
        .skip(usize::from(start > 0))
    {
        let Ok(line) = line else { break };
        let Ok(e) = serde_json::from_str::<Entry>(&line) else {
            continue;
        };
        if e.cluster_id == id && e.unix >= since {
            out.push(e);
        }
    }
    Ok(out)
}

/// The entries written after byte `offset` of the log (every cluster's), and the offset to read
/// from next: complete lines only, so a line being written is read whole next time. A log
/// shorter than `offset` was replaced: it is read from the start. At most the newest 16 MiB.
pub fn tail(state_dir: &Path, offset: u64) -> Result<(Vec<Entry>, u64), StateError> {
    use std::io::{Read, Seek, SeekFrom};
    let p = path(state_dir);
    let Some(mut f) = state::open_read(&p)? else {
        return Ok((Vec::new(), 0));
    };
    let io = |source| StateError::Io {
        path: p.display().to_string(),
        source,
    };
    let len = f.metadata().map_err(io)?.len();
    let from = if offset > len { 0 } else { offset };
    let from = from.max(len.saturating_sub(MAX_READ_BYTES));
    f.seek(SeekFrom::Start(from)).map_err(io)?;
    let mut bytes = Vec::new();
    f.take(len - from).read_to_end(&mut bytes).map_err(io)?;
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let entries = bytes[..complete]
        .split(|b| *b == b'\n')
        .filter_map(|line| serde_json::from_slice::<Entry>(line).ok())
        .collect();
    Ok((entries, from + complete as u64))
}

/// An entry as a timeline event's text: `alice (root): defrag-...: defragment etcd-2 -> ok
/// in 1.2 s`.
pub fn event_text(e: &Entry) -> String {
    let who = match &e.etcd_user {
        Some(u) => format!("{} (etcd user {u})", e.os_user),
        None => e.os_user.clone(),
    };
    let how = match (&e.outcome, e.duration_ms) {
        (Some(o), Some(ms)) => format!(": {o} in {:.1} s", ms as f64 / 1000.0),
        (Some(o), None) => format!(": {o}"),
        _ => " begun".into(),
    };
    format!("{who}: {} {}{how}", e.operation, e.step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_is_a_synced_line_before_and_after_and_reads_back_per_cluster() {
        let d = tempfile::tempdir().unwrap();
        let mut a = AuditLog::open(d.path(), 0xabc, "defrag-x", Some("root".into())).unwrap();
        a.begin("defragment etcd-2", Some("etcd-2")).unwrap();
        a.end(
            "defragment etcd-2",
            Some("etcd-2"),
            Ok("done"),
            Duration::from_millis(1200),
        )
        .unwrap();
        let mut b = AuditLog::open(d.path(), 0xdef, "compact-y", None).unwrap();
        b.begin("compact", None).unwrap();
        b.end(
            "compact",
            None,
            Err("etcdserver: mvcc: required revision has been compacted"),
            Duration::ZERO,
        )
        .unwrap();
        let mine = read(d.path(), 0xabc, 0).unwrap();
        assert_eq!(mine.len(), 2);
        assert_eq!(mine[0].phase, "begin");
        assert_eq!(mine[1].outcome.as_deref(), Some("ok"));
        assert_eq!(mine[1].duration_ms, Some(1200));
        assert_eq!(mine[1].etcd_user.as_deref(), Some("root"));
        assert!(event_text(&mine[1]).contains("defrag-x defragment etcd-2: ok in 1.2 s"));
        let theirs = read(d.path(), 0xdef, 0).unwrap();
        assert!(theirs[1]
            .outcome
            .as_deref()
            .unwrap()
            .starts_with("error: etcdserver"));
        // Nothing for a later window.
        assert!(read(d.path(), 0xabc, now_unix() + 10).unwrap().is_empty());
        // One JSON object per line, private.
        let text = std::fs::read_to_string(path(d.path())).unwrap();
        assert_eq!(text.lines().count(), 4);
        for l in text.lines() {
            serde_json::from_str::<serde_json::Value>(l).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path(d.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn the_tail_reads_whole_new_lines_only_and_starts_over_on_a_new_log() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(tail(d.path(), 0).unwrap(), (Vec::new(), 0), "no log yet");
        let mut a = AuditLog::open(d.path(), 0xabc, "defrag-x", None).unwrap();
        a.begin("defragment etcd-2", Some("etcd-2")).unwrap();
        let (first, at) = tail(d.path(), 0).unwrap();
        assert_eq!(first.len(), 1);
        a.end(
            "defragment etcd-2",
            Some("etcd-2"),
            Ok("defragmented"),
            Duration::from_millis(5),
        )
        .unwrap();
        // Half a line being written is left for the next read.
        let p = path(d.path());
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"time":"2026-12-02T03:00:00Z","#).unwrap();
        let (next, at2) = tail(d.path(), at).unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].phase, "end");
        assert!(at2 < std::fs::metadata(&p).unwrap().len());
        assert_eq!(tail(d.path(), at2).unwrap().0, Vec::new());
        // A new, shorter log: read from its start.
        std::fs::write(
            &p,
            format!("{}\n", serde_json::to_string(&first[0]).unwrap()),
        )
        .unwrap();
        let (again, _) = tail(d.path(), at2 + 1000).unwrap();
        assert_eq!(again, first);
    }

    #[test]
    fn times_are_utc_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1796181125), "2026-12-02T03:12:05Z");
    }
}
