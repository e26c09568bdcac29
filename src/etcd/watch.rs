//! The key browser's feed: one paged range read of a prefix at a single revision, then a watch
//! from the next revision. A watch cancelled by compaction is recovered by reading again; a
//! member that dies or stops answering is left for the next endpoint, resuming from the last
//! revision seen, so no change is lost (repeats are dropped by the store). No key range is
//! polled.

use std::time::{Duration, Instant};

use etcd_client::{EventType, GetOptions, WatchOptions};
use tokio::time::{sleep, timeout};

use super::client::Cluster;
use super::error::{EtcdError, Failure};
use super::Sink;

/// What the key feed reports.
#[derive(Debug, Clone)]
pub enum FeedReport {
    /// A page of the key snapshot read at `revision`; `first` starts a (re)load, `complete`
    /// ends it. `reason` says why it is read (start, compaction, ...).
    Page {
        at: Instant,
        revision: i64,
        kvs: Vec<Kv>,
        first: bool,
        complete: bool,
        reason: String,
    },
    /// Changes from the prefix watch, in order.
    Events { at: Instant, events: Vec<KvEvent> },
    /// The watch confirms everything up to `revision` was delivered.
    Progress { at: Instant, revision: i64 },
    /// The watch is connected to `url`, or lost and being retried (`Err(why)`).
    State {
        at: Instant,
        state: Result<String, Failure>,
    },
}

/// One key with its value and metadata, as etcd gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kv {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
    pub lease: i64,
}

impl From<&etcd_client::KeyValue> for Kv {
    fn from(kv: &etcd_client::KeyValue) -> Kv {
        Kv {
            key: kv.key().to_vec(),
            value: kv.value().to_vec(),
            create_revision: kv.create_revision(),
            mod_revision: kv.mod_revision(),
            version: kv.version(),
            lease: kv.lease(),
        }
    }
}

/// A change seen by the watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvEvent {
    Put(Kv),
    /// The key's `mod_revision` is the revision of the delete.
    Delete(Kv),
}

impl KvEvent {
    pub fn kv(&self) -> &Kv {
        match self {
            KvEvent::Put(kv) | KvEvent::Delete(kv) => kv,
        }
    }
}

/// Keys per page of the snapshot read.
pub const PAGE: i64 = 2000;

/// How often a quiet watch is asked to prove it is alive.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// How often the watch looks at the clock (quiet time, pending progress requests).
const TICK: Duration = Duration::from_millis(500);

/// The largest message accepted from etcd: a page of keys or a batch of watch events may hold
/// several values of up to etcd's request limit (1.5 MiB by default, more when raised).
pub const MAX_MESSAGE: usize = 256 << 20;

/// The end of the range of keys starting with `prefix` (etcd's prefix rule).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0] // every key
}

/// Read every key under `prefix` from the member at `url`, in pages, all at the revision of the
/// first page. `page(kvs, revision, first, complete)` gets each page. Returns the revision.
pub async fn read_prefix(
    cluster: &Cluster,
    url: &str,
    prefix: &[u8],
    mut page: impl FnMut(Vec<Kv>, i64, bool, bool),
) -> Result<i64, EtcdError> {
    let end = prefix_end(prefix);
    let mut start = prefix.to_vec();
    let mut revision = 0i64;
    let mut first = true;
    let mut limit = PAGE;
    loop {
        let mut opts = GetOptions::new().with_range(end.clone()).with_limit(limit);
        if revision > 0 {
            opts = opts.with_revision(revision);
        }
        let key = start.clone();
        let answer = cluster
            .call(url, |c| async move {
                c.kv_client()
                    .max_decoding_message_size(MAX_MESSAGE)
                    .get(key, Some(opts))
                    .await
            })
            .await;
        let resp = match answer {
            Ok((resp, _)) => resp,
            // Large values: fewer keys per page, down to one.
            Err(e) if limit > 1 && e.to_string().contains("message length too large") => {
                limit = (limit / 8).max(1);
                continue;
            }
            Err(e) => return Err(e),
        };
        if revision == 0 {
            revision = resp.header().map_or(0, |h| h.revision());
        }
        let kvs: Vec<Kv> = resp.kvs().iter().map(Kv::from).collect();
        let more = resp.more();
        if let Some(last) = kvs.last() {
            start = last.key.clone();
            start.push(0);
        }
        page(kvs, revision, first, !more);
        first = false;
        if !more {
            return Ok(revision);
        }
    }
}

/// Every key under `prefix` at one revision, from the first configured endpoint that answers:
/// the keys, the revision, and the endpoint.
pub async fn read_all(
    cluster: &Cluster,
    prefix: &[u8],
) -> Result<(Vec<Kv>, i64, String), EtcdError> {
    let mut errors = Vec::new();
    for url in &cluster.settings().endpoints {
        let mut all = Vec::new();
        match read_prefix(cluster, url, prefix, |kvs, _, _, _| all.extend(kvs)).await {
            Ok(rev) => return Ok((all, rev, url.clone())),
            Err(e) => errors.push(e),
        }
    }
    Err(EtcdError::NoneAnswered(errors))
}

/// Keep the store's keys under `prefix` live: read, then watch; recover from compaction and from
/// members that die, until the console goes away.
pub async fn feed_prefix(cluster: Cluster, prefix: String, tx: impl Sink<FeedReport>) {
    let endpoints = cluster.settings().endpoints.clone();
    let prefix = prefix.into_bytes();
    let mut idx = 0usize;
    let mut revision: Option<i64> = None;
    let mut reason = "start".to_string();
    let mut failures = 0u32;
    loop {
        if tx.closed() {
            return;
        }
        let url = endpoints[idx % endpoints.len()].clone();
        if revision.is_none() {
            let tx2 = tx.clone();
            let why = reason.clone();
            let read = read_prefix(&cluster, &url, &prefix, move |kvs, rev, first, complete| {
                tx2.report(FeedReport::Page {
                    at: Instant::now(),
                    revision: rev,
                    kvs,
                    first,
                    complete,
                    reason: why.clone(),
                });
            })
            .await;
            match read {
                Ok(rev) => revision = Some(rev),
                Err(e) => {
                    failures += 1;
                    if !lost(&tx, &e, &url) {
                        return;
                    }
                    idx += 1;
                    sleep(super::probe::backoff(Duration::from_millis(500), failures)).await;
                    continue;
                }
            }
        }
        let from = revision.unwrap_or(0) + 1;
        match watch_from(&cluster, &url, &prefix, from, &tx).await {
            Ended::Compacted(at) => {
                // Changes between our revision and the compaction are gone: read again.
                revision = None;
                reason = format!("the watch fell behind a compaction at revision {at}; read again");
            }
            Ended::Lost(e, seen) => {
                revision = Some(seen.max(revision.unwrap_or(0)));
                failures += 1;
                if !lost(&tx, &e, &url) {
                    return;
                }
                idx += 1;
                sleep(super::probe::backoff(Duration::from_millis(500), failures)).await;
            }
            Ended::Gone => return,
        }
        if revision.is_some() {
            failures = 0;
        }
    }
}

/// Report a lost feed; false when the console is gone.
fn lost(tx: &impl Sink<FeedReport>, e: &EtcdError, url: &str) -> bool {
    tx.report(FeedReport::State {
        at: Instant::now(),
        state: Err(Failure::during(format!("watch on {url}"), e.clone())),
    })
}

enum Ended {
    /// The watch was cancelled: its start revision was compacted.
    Compacted(i64),
    /// The member failed or stopped answering; the last revision seen.
    Lost(EtcdError, i64),
    /// The console is gone.
    Gone,
}

async fn watch_from(
    cluster: &Cluster,
    url: &str,
    prefix: &[u8],
    from: i64,
    tx: &impl Sink<FeedReport>,
) -> Ended {
    let mut seen = from - 1;
    let t = cluster.timeout();
    let client = match cluster.member(url).await {
        Ok(c) => c,
        Err(e) => return Ended::Lost(e, seen),
    };
    let opts = WatchOptions::new()
        .with_range(prefix_end(prefix))
        .with_start_revision(from)
        .with_progress_notify();
    let key = prefix.to_vec();
    let mut watcher = client.watch_client().max_decoding_message_size(MAX_MESSAGE);
    let stream = match timeout(t, watcher.watch(key, Some(opts))).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Ended::Lost(
                super::error::classify(url, cluster.error_context(), &e),
                seen,
            )
        }
        Err(_) => return Ended::Lost(EtcdError::timeout(url, t), seen),
    };
    let (mut sender, mut stream) = stream.split();
    if !tx.report(FeedReport::State {
        at: Instant::now(),
        state: Ok(url.to_string()),
    }) {
        return Ended::Gone;
    }
    let mut heard = Instant::now();
    let mut asked: Option<Instant> = None;
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            msg = stream.message() => {
                let resp = match msg {
                    Ok(Some(r)) => r,
                    Ok(None) => return Ended::Lost(EtcdError::Closed { endpoint: url.into() }, seen),
                    Err(e) => return Ended::Lost(super::error::classify(url, cluster.error_context(), &e), seen),
                };
                heard = Instant::now();
                if resp.canceled() {
                    if resp.compact_revision() > 0 {
                        return Ended::Compacted(resp.compact_revision());
                    }
                    let why = resp.cancel_reason().to_string();
                    return Ended::Lost(EtcdError::Other { endpoint: url.into(), message: format!("the watch was cancelled: {why}") }, seen);
                }
                if resp.events().is_empty() {
                    if let Some(h) = resp.header() {
                        if !resp.created() && h.revision() > seen {
                            seen = h.revision();
                            if !tx.report(FeedReport::Progress { at: heard, revision: seen }) {
                                return Ended::Gone;
                            }
                        }
                    }
                    continue;
                }
                let events: Vec<KvEvent> = resp
                    .events()
                    .iter()
                    .filter_map(|e| {
                        let kv = Kv::from(e.kv()?);
                        Some(match e.event_type() {
                            EventType::Put => KvEvent::Put(kv),
                            EventType::Delete => KvEvent::Delete(kv),
                        })
                    })
                    .collect();
                if let Some(last) = events.last() {
                    seen = seen.max(last.kv().mod_revision);
                }
                if !tx.report(FeedReport::Events { at: heard, events }) {
                    return Ended::Gone;
                }
            }
            _ = ticker.tick() => {
                if tx.closed() {
                    return Ended::Gone;
                }
                // Quiet for PROGRESS_EVERY: ask the member to prove the watch is alive; no
                // answer within the timeout after asking means it is gone.
                match asked {
                    Some(at) if at > heard && at.elapsed() > t => {
                        return Ended::Lost(EtcdError::timeout(url, t), seen);
                    }
                    Some(at) if at > heard => {}
                    _ if heard.elapsed() >= PROGRESS_EVERY => {
                        asked = Some(Instant::now());
                        let _ = timeout(t, sender.request_progress()).await;
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_follows_etcd() {
        assert_eq!(prefix_end(b"/pg/"), b"/pg0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff\xff"), vec![0]);
    }
}
