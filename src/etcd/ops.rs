//! Every call that changes the cluster, each with a timeout and its errors mapped. The console's
//! runtime and the commands run [`Change`]s through [`apply`]; read-only mode refuses them before
//! they get here. Which member a change is sent to is the caller's choice (`via`): membership
//! changes and leader moves go to the leader, a defragmentation to the member itself.

use std::time::Duration;

use sha2::{Digest, Sha256};

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
    /// Defragment the one member the change is sent to (`db_size`: its database, which scales
    /// the timeout).
    Defragment {
        id: u64,
        db_size: i64,
    },
    /// Write a scratch key and delete it: proof that the cluster takes writes again.
    ScratchWrite {
        key: String,
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
            Change::Defragment { id, .. } => format!("defragment member {id:x}"),
            Change::ScratchWrite { key } => {
                format!("write and delete {}", crate::text::escape(key))
            }
            Change::DisarmNospace { member_id } => {
                format!("disarm the NOSPACE alarm of member {member_id:x}")
            }
        }
    }

    /// The timeout for this change: a defragmentation rewrites the whole database and blocks the
    /// member meanwhile (see [`defrag_timeout`]); a compaction waits until it is applied.
    pub fn timeout(&self, usual: Duration) -> Duration {
        match self {
            Change::Defragment { db_size, .. } => defrag_timeout(*db_size, usual),
            Change::Compact { .. } => usual + Duration::from_secs(30),
            _ => usual,
        }
    }
}

/// The timeout of one member's defragmentation: the usual timeout, a minute, and a second per
/// 8 MiB of database (etcd rewrites all of it). `etcdctl defrag`'s 5 s "fails" big databases
/// while the server goes on.
pub fn defrag_timeout(db_size: i64, usual: Duration) -> Duration {
    usual + Duration::from_secs(60) + Duration::from_secs((db_size.max(0) as u64) >> 23)
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
        Change::ScratchWrite { key } => {
            let k = key.clone();
            cluster
                .call_for(via, t, |mut c| async move {
                    c.put(
                        k,
                        "written by etcdeck to verify writes; deleted at once",
                        None,
                    )
                    .await
                })
                .await?;
            cluster
                .call_for(via, t, |mut c| async move { c.delete(key, None).await })
                .await?;
            Ok("a scratch key written and deleted".to_string())
        }
        Change::Defragment { id, .. } => {
            let (_, took) = cluster
                .call_for(via, t, |mut c| async move { c.defragment().await })
                .await?;
            let _ = took;
            Ok(format!("defragmented {id:x}"))
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

/// Check that `data` ends with the sha256 of what precedes it (what etcd's snapshot stream
/// appends); the hash in hex.
pub fn check_trailer(data_hash: &[u8], trailer: &[u8]) -> Result<String, String> {
    if trailer.len() != 32 {
        return Err(format!(
            "the stream ended after {} byte(s) of its hash: it was cut short",
            trailer.len()
        ));
    }
    if data_hash != trailer {
        return Err(format!(
            "the sha256 at the end of the stream ({}) does not match the data ({}): the \
             snapshot is damaged; take it again",
            hex(trailer),
            hex(data_hash)
        ));
    }
    Ok(hex(trailer))
}

/// A running sha256 over a stream whose last 32 bytes are the hash of the rest.
#[derive(Default)]
pub struct TrailerHasher {
    hasher: Sha256,
    /// The last up-to-32 bytes seen, not yet hashed (they may be the trailer).
    tail: Vec<u8>,
    pub total: u64,
}

impl TrailerHasher {
    pub fn update(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        self.tail.extend_from_slice(chunk);
        if self.tail.len() > 32 {
            let cut = self.tail.len() - 32;
            self.hasher.update(&self.tail[..cut]);
            self.tail.drain(..cut);
        }
    }

    /// The hash check at the end of the stream.
    pub fn finish(self) -> Result<String, String> {
        let digest = self.hasher.finalize();
        check_trailer(&digest, &self.tail)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What a snapshot wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SnapshotSaved {
    pub path: std::path::PathBuf,
    /// The whole file, the trailing hash included.
    pub size: u64,
    /// The sha256 of the database, as etcd sent it after the data, in hex.
    pub sha256: String,
    /// The revision in the stream's header.
    pub revision: i64,
    pub member: String,
    pub took_ms: u64,
}

/// Stream a snapshot from the one member at `via` into `path`: written to `path.part` (mode
/// 0600, created afresh), checked against the sha256 etcd sends after the data, synced, then
/// renamed. `progress(bytes so far, bytes in all)` is called as chunks arrive. Each chunk must
/// come within the timeout; a stalled stream is an error, and the `.part` file is removed.
pub async fn snapshot(
    cluster: &Cluster,
    via: &str,
    path: &std::path::Path,
    mut progress: impl FnMut(u64, u64) + Send,
) -> Result<SnapshotSaved, String> {
    use tokio::io::AsyncWriteExt;
    let begun = std::time::Instant::now();
    let idle = cluster.timeout().max(Duration::from_secs(10));
    // etcd 3.4 and 3.5 send no revision with the stream: the member's own, asked just before
    // (the snapshot is read in one transaction as the stream opens).
    let (before, _) = cluster
        .call(via, |mut c| async move { c.status().await })
        .await
        .map_err(|e| e.to_string())?;
    let before = before.header().map_or(0, |h| h.revision());
    let (mut stream, _) = cluster
        .call_for(
            via,
            cluster.timeout(),
            |mut c| async move { c.snapshot().await },
        )
        .await
        .map_err(|e| e.to_string())?;
    let mut part = path.as_os_str().to_owned();
    part.push(".part");
    let part = std::path::PathBuf::from(part);
    let result = async {
        match tokio::fs::remove_file(&part).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", part.display())),
        }
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&part)
            .await
            .map_err(|e| format!("{}: {e}", part.display()))?;
        let mut hasher = TrailerHasher::default();
        let mut revision = before;
        loop {
            let next = tokio::time::timeout(idle, stream.message())
                .await
                .map_err(|_| {
                    format!(
                        "{via}: the snapshot stream stalled for {} s",
                        idle.as_secs()
                    )
                })?
                .map_err(|e| {
                    crate::etcd::error::classify(via, cluster.error_context(), &e).to_string()
                })?;
            let Some(msg) = next else { break };
            if let Some(r) = msg.header().map(|h| h.revision()).filter(|r| *r > 0) {
                revision = r;
            }
            hasher.update(msg.blob());
            file.write_all(msg.blob())
                .await
                .map_err(|e| format!("{}: {e}", part.display()))?;
            progress(hasher.total, hasher.total + msg.remaining_bytes());
        }
        let size = hasher.total;
        let sha256 = hasher.finish()?;
        file.sync_all()
            .await
            .map_err(|e| format!("{}: {e}", part.display()))?;
        drop(file);
        tokio::fs::rename(&part, path)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(SnapshotSaved {
            path: path.to_path_buf(),
            size,
            sha256,
            revision,
            member: via.to_string(),
            took_ms: begun.elapsed().as_millis() as u64,
        })
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&part).await;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn the_trailer_is_the_sha256_of_what_precedes_it_whatever_the_chunking() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut stream = data.clone();
        stream.extend_from_slice(&Sha256::digest(&data));
        for chunk in [1usize, 7, 31, 32, 33, 4096, 20_000] {
            let mut h = TrailerHasher::default();
            for c in stream.chunks(chunk) {
                h.update(c);
            }
            assert_eq!(h.total, stream.len() as u64);
            assert_eq!(
                h.finish(),
                Ok(hex(&Sha256::digest(&data))),
                "chunks of {chunk}"
            );
        }
        // One byte changed in the data: refused, saying so.
        let mut bad = stream.clone();
        bad[5] ^= 1;
        let mut h = TrailerHasher::default();
        h.update(&bad);
        assert!(h.finish().unwrap_err().contains("does not match"));
        // Cut short inside the hash.
        let mut h = TrailerHasher::default();
        h.update(&stream[..20]);
        assert!(h.finish().unwrap_err().contains("cut short"));
    }
}
