//! The revisions a cluster had over time, `revisions/<cluster>.log` under the state directory:
//! one `UNIX_SECOND REVISION` line per sample, recorded by the console once a minute and by every
//! wizard. The compaction wizard reads it to say what time a revision stands for (`--keep 24h`).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::state::{self, StateError};

/// The file is rewritten with the last [`KEEP_SECS`] once it grows past this.
const MAX_BYTES: u64 = 1 << 20;
/// Samples kept when the file is rewritten: a little over a day.
pub const KEEP_SECS: u64 = 26 * 3600;

pub fn path(state_dir: &Path, cluster_id: u64) -> PathBuf {
    state_dir
        .join("revisions")
        .join(format!("{cluster_id:x}.log"))
}

/// Every sample, oldest first (damaged lines skipped).
pub fn load(state_dir: &Path, cluster_id: u64) -> Vec<(u64, i64)> {
    let p = path(state_dir, cluster_id);
    let Ok(Some(mut f)) = state::open_read(&p) else {
        return Vec::new();
    };
    let Ok(bytes) = state::read_capped(&p, &mut f, MAX_BYTES * 2) else {
        return Vec::new();
    };
    parse(&String::from_utf8_lossy(&bytes))
}

pub fn parse(text: &str) -> Vec<(u64, i64)> {
    let mut out: Vec<(u64, i64)> = text
        .lines()
        .filter_map(|l| {
            let (t, r) = l.split_once(' ')?;
            Some((t.parse().ok()?, r.trim().parse().ok()?))
        })
        .collect();
    out.sort();
    out
}

/// Record that the cluster was at `revision` at Unix second `at`.
pub fn record(state_dir: &Path, cluster_id: u64, at: u64, revision: i64) -> Result<(), StateError> {
    if revision <= 0 {
        return Ok(());
    }
    let p = path(state_dir, cluster_id);
    if let Some(dir) = p.parent() {
        state::private_dir(dir)?;
    }
    let mut f = state::open_append(&p)?;
    let big = f.metadata().map(|m| m.len() > MAX_BYTES).unwrap_or(false);
    if big {
        let kept: String = load(state_dir, cluster_id)
            .into_iter()
            .filter(|(t, _)| *t + KEEP_SECS >= at)
            .map(|(t, r)| format!("{t} {r}\n"))
            .collect();
        f = state::replace(&p, kept.as_bytes())?;
    }
    f.write_all(format!("{at} {revision}\n").as_bytes())
        .map_err(|source| StateError::Io {
            path: p.display().to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_read_back_in_order_per_cluster() {
        let d = tempfile::tempdir().unwrap();
        record(d.path(), 1, 200, 50).unwrap();
        record(d.path(), 1, 100, 10).unwrap();
        record(d.path(), 2, 100, 99).unwrap();
        record(d.path(), 1, 300, 0).unwrap(); // not a revision: not kept
        assert_eq!(load(d.path(), 1), vec![(100, 10), (200, 50)]);
        assert_eq!(load(d.path(), 2), vec![(100, 99)]);
        assert_eq!(parse("1 2\ngarbage\n3 x\n4 5\n"), vec![(1, 2), (4, 5)]);
    }
}
