//! The key browser's feed: one snapshot read of a prefix at a single revision (a keys-only
//! listing, then bounded chunks read a few at a time), then a watch
//! from the next revision. A watch cancelled by compaction is recovered by reading again; a
//! member that dies or stops answering is left for the next endpoint, resuming from the last
//! revision seen, so no change is lost (repeats are dropped by the store). No key range is
//! polled.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use etcd_client::{EventType, GetOptions, GetResponse, WatchOptions};
use tokio::task::JoinSet;
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

/// Keys per chunk of the snapshot read (and the page size the fallback for large values starts
/// from, divided by 8).
pub const PAGE: i64 = 2000;

/// Chunks of a snapshot read asked for at once, ahead of the one being handed out.
pub const READ_AHEAD: usize = 4;

/// Keys per page of the keys-only listing, when the whole listing does not fit in one message.
const LIST_PAGE: i64 = 100_000;

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

/// A piece of a snapshot read, handed out in key order.
#[derive(Debug)]
pub struct Page {
    pub kvs: Vec<Kv>,
    /// Keys handed out before this page.
    pub offset: usize,
    /// The revision every key of the snapshot was read at.
    pub revision: i64,
    /// Keys in the whole snapshot (known before the first page).
    pub count: usize,
    /// The first page of the snapshot.
    pub first: bool,
    /// The last page of the snapshot.
    pub complete: bool,
}

/// Why a snapshot read stopped: etcd, or the consumer of its pages.
enum Stop<E> {
    Etcd(EtcdError),
    Sink(E),
}

fn too_large(e: &EtcdError) -> bool {
    e.to_string().contains("message length too large")
}

/// A range read on the member at `url`, answers up to `max` bytes.
async fn range(
    cluster: &Cluster,
    url: &str,
    key: Vec<u8>,
    opts: GetOptions,
    max: usize,
) -> Result<GetResponse, EtcdError> {
    let (resp, _) = cluster
        .call(url, |c| async move {
            c.kv_client()
                .max_decoding_message_size(max)
                .get(key, Some(opts))
                .await
        })
        .await?;
    Ok(resp)
}

/// The keys of an answer, moved out of it (no copy of keys or values).
fn into_kvs(mut resp: GetResponse) -> Vec<Kv> {
    resp.take_kvs()
        .into_iter()
        .map(|kv| {
            let (create_revision, mod_revision, version, lease) = (
                kv.create_revision(),
                kv.mod_revision(),
                kv.version(),
                kv.lease(),
            );
            let (key, value) = kv.into_key_value();
            Kv {
                key,
                value,
                create_revision,
                mod_revision,
                version,
                lease,
            }
        })
        .collect()
}

/// The keys under a prefix at one revision, cut into chunks of [`PAGE`] keys: chunk `i` is the
/// bounded range from `starts[i]` to `starts[i + 1]` (the last one to the prefix's end).
struct Listing {
    revision: i64,
    count: usize,
    starts: Vec<Vec<u8>>,
}

/// How long the listing waits on one endpoint before asking the next one as well.
pub const HEDGE_AFTER: Duration = Duration::from_millis(300);

/// The listing from the first endpoint that gives it. The first endpoint is asked; one that
/// fails, or is silent for [`HEDGE_AFTER`], has the next one asked beside it, so endpoints that
/// cannot answer (quorum lost: a linearizable read waits for its timeout) cost one timeout and a
/// few hedges, not one timeout each.
async fn hedged_list(
    cluster: &Cluster,
    urls: &[String],
    prefix: &[u8],
    end: &[u8],
    max: usize,
) -> Result<(Listing, String), EtcdError> {
    let mut tasks = JoinSet::new();
    let mut errors = Vec::new();
    let mut next = 0;
    loop {
        let hedge = next < urls.len();
        if hedge && tasks.is_empty() {
            let (c, url, p, e) = (
                cluster.clone(),
                urls[next].clone(),
                prefix.to_vec(),
                end.to_vec(),
            );
            tasks.spawn(async move {
                let r = list(&c, &url, &p, &e, max).await;
                (url, r)
            });
            next += 1;
            continue;
        }
        tokio::select! {
            joined = tasks.join_next() => match joined {
                Some(Ok((url, Ok(l)))) => {
                    tasks.abort_all();
                    return Ok((l, url));
                }
                Some(Ok((_, Err(e)))) => errors.push(e),
                Some(Err(e)) => errors.push(EtcdError::Other {
                    endpoint: "-".into(),
                    message: e.to_string(),
                }),
                None if !hedge => return Err(EtcdError::NoneAnswered(errors)),
                None => {}
            },
            _ = sleep(HEDGE_AFTER), if hedge => {
                let (c, url, p, e) = (cluster.clone(), urls[next].clone(), prefix.to_vec(), end.to_vec());
                tasks.spawn(async move {
                    let r = list(&c, &url, &p, &e, max).await;
                    (url, r)
                });
                next += 1;
            }
        }
    }
}

/// List the keys (no values) in `[prefix, end)` at the current revision on `url`; only every
/// [`PAGE`]th key is kept. One message, or pages of [`LIST_PAGE`] keys (fewer, down to one) when
/// that is too large.
async fn list(
    cluster: &Cluster,
    url: &str,
    prefix: &[u8],
    end: &[u8],
    max: usize,
) -> Result<Listing, EtcdError> {
    let mut start = prefix.to_vec();
    let mut limit = 0i64;
    let mut listing = Listing {
        revision: 0,
        count: 0,
        starts: Vec::new(),
    };
    loop {
        let mut opts = GetOptions::new().with_range(end.to_vec()).with_keys_only();
        if limit > 0 {
            opts = opts.with_limit(limit);
        }
        if listing.revision > 0 {
            opts = opts.with_revision(listing.revision);
        }
        let mut resp = match range(cluster, url, start.clone(), opts, max).await {
            Ok(r) => r,
            Err(e) if limit != 1 && too_large(&e) => {
                limit = if limit == 0 {
                    LIST_PAGE
                } else {
                    (limit / 8).max(1)
                };
                continue;
            }
            Err(e) => return Err(e),
        };
        if listing.revision == 0 {
            listing.revision = resp.header().map_or(0, |h| h.revision());
        }
        let more = resp.more();
        let kvs = resp.take_kvs();
        for kv in &kvs {
            if listing.count.is_multiple_of(PAGE as usize) {
                listing.starts.push(kv.key().to_vec());
            }
            listing.count += 1;
        }
        match kvs.last() {
            Some(last) if more => {
                start = last.key().to_vec();
                start.push(0);
            }
            _ => return Ok(listing),
        }
    }
}

/// Read `[from, end)` at `revision` on `url` in pages of at most `limit` keys, fewer (down to
/// one) when a page is too large for one message (`max` bytes). Each page goes to
/// `page(kvs, last)`; `from` follows what was handed out, so a read that fails can go on from
/// there.
#[allow(clippy::too_many_arguments)]
async fn read_paged<E>(
    cluster: &Cluster,
    url: &str,
    from: &mut Vec<u8>,
    end: &[u8],
    revision: i64,
    mut limit: i64,
    max: usize,
    page: &mut impl FnMut(Vec<Kv>, bool) -> Result<(), E>,
) -> Result<(), Stop<E>> {
    loop {
        let opts = GetOptions::new()
            .with_range(end.to_vec())
            .with_limit(limit)
            .with_revision(revision);
        let resp = match range(cluster, url, from.clone(), opts, max).await {
            Ok(r) => r,
            Err(e) if limit > 1 && too_large(&e) => {
                limit = (limit / 8).max(1);
                continue;
            }
            Err(e) => return Err(Stop::Etcd(e)),
        };
        let more = resp.more();
        let kvs = into_kvs(resp);
        let next = kvs.last().map(|last| {
            let mut k = last.key.clone();
            k.push(0);
            k
        });
        page(kvs, !more).map_err(Stop::Sink)?;
        match next {
            Some(k) if more => *from = k,
            _ => return Ok(()),
        }
    }
}

/// Every key under `prefix` at one revision, to `sink` in key order, page by page; the revision
/// and the endpoint that gave the listing.
///
/// First a keys-only listing (which gives the revision, the count and the chunk boundaries), then
/// the chunks, each a bounded range at that revision (etcd 3.4 counts the whole rest of a range
/// on every limited read; a bounded range only counts itself), [`READ_AHEAD`] in flight at once.
/// A chunk too large for one message is read in smaller pages. When an endpoint fails, the next
/// one of `urls` goes on from where the read stopped, at the same revision; each is tried once.
/// At most `READ_AHEAD + 1` chunks are held at a time.
pub async fn read_snapshot<E: From<EtcdError>>(
    cluster: &Cluster,
    urls: &[String],
    prefix: &[u8],
    sink: impl FnMut(Page) -> Result<(), E>,
) -> Result<(i64, String), E> {
    read_snapshot_within(cluster, urls, prefix, MAX_MESSAGE, sink).await
}

/// [`read_snapshot`] with answers of at most `max` bytes instead of [`MAX_MESSAGE`] (for tests of
/// the fallback to smaller pages, which would otherwise need hundreds of MiB of values).
#[doc(hidden)]
pub async fn read_snapshot_within<E: From<EtcdError>>(
    cluster: &Cluster,
    urls: &[String],
    prefix: &[u8],
    max: usize,
    mut sink: impl FnMut(Page) -> Result<(), E>,
) -> Result<(i64, String), E> {
    let end = prefix_end(prefix);
    // The empty prefix is every key: etcd's range from "\0" to "\0" (an empty key is no key).
    let prefix: &[u8] = if prefix.is_empty() { b"\0" } else { prefix };
    let (listing, listed_on) = hedged_list(cluster, urls, prefix, &end, max).await?;
    // Chunks are read from the endpoint that listed; one that fails hands over to the next.
    let mut at = urls.iter().position(|u| *u == listed_on).unwrap_or(0);
    let (mut tried, mut errors) = (1, Vec::new());
    let Listing {
        revision,
        count,
        starts,
    } = listing;
    let (mut offset, mut first) = (0, true);
    let mut emit = |kvs: Vec<Kv>, complete: bool| {
        let p = Page {
            offset,
            first,
            revision,
            count,
            complete,
            kvs,
        };
        offset += p.kvs.len();
        first = false;
        sink(p)
    };
    let n = starts.len();
    if n == 0 {
        emit(Vec::new(), true)?;
        return Ok((revision, listed_on));
    }
    let bounds = |i: usize| (starts[i].clone(), starts.get(i + 1).unwrap_or(&end).clone());
    let mut url = listed_on.clone();
    let mut tasks = JoinSet::new();
    let mut ready: BTreeMap<usize, Result<Vec<Kv>, EtcdError>> = BTreeMap::new();
    // Chunks below `spawned` are asked for; `next` is the one to hand out; `paging` where the
    // rest of `next` starts when it is read page by page.
    let (mut spawned, mut next) = (0usize, 0usize);
    let mut paging: Option<Vec<u8>> = None;
    while next < n {
        while spawned < n && spawned <= next + READ_AHEAD {
            let (c, u, (from, to)) = (cluster.clone(), url.clone(), bounds(spawned));
            let i = spawned;
            tasks.spawn(async move {
                let opts = GetOptions::new().with_range(to).with_revision(revision);
                (i, range(&c, &u, from, opts, max).await.map(into_kvs))
            });
            spawned += 1;
        }
        let failed = if let Some(mut from) = paging.take() {
            let last_chunk = next + 1 == n;
            let to = bounds(next).1;
            let mut page = |kvs, last| emit(kvs, last && last_chunk);
            let read = read_paged(
                cluster,
                &url,
                &mut from,
                &to,
                revision,
                PAGE / 8,
                max,
                &mut page,
            );
            match read.await {
                Ok(()) => {
                    next += 1;
                    continue;
                }
                Err(Stop::Sink(e)) => return Err(e),
                Err(Stop::Etcd(e)) => {
                    paging = Some(from);
                    e
                }
            }
        } else {
            let result = loop {
                if let Some(r) = ready.remove(&next) {
                    break r;
                }
                match tasks.join_next().await {
                    Some(Ok((i, r))) => {
                        ready.insert(i, r);
                    }
                    Some(Err(e)) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    _ => {
                        break Err(EtcdError::Other {
                            endpoint: url.clone(),
                            message: "the read was cancelled".into(),
                        })
                    }
                }
            };
            match result {
                Ok(kvs) => {
                    emit(kvs, next + 1 == n)?;
                    next += 1;
                    continue;
                }
                // Large values: this chunk page by page.
                Err(e) if too_large(&e) => {
                    paging = Some(bounds(next).0);
                    continue;
                }
                Err(e) => e,
            }
        };
        // This endpoint failed: the next one goes on at the same revision.
        errors.push(failed);
        if tried >= urls.len() {
            return Err(EtcdError::NoneAnswered(errors).into());
        }
        tried += 1;
        at = (at + 1) % urls.len();
        url = urls[at].clone();
        tasks = JoinSet::new();
        ready.clear();
        spawned = next + usize::from(paging.is_some());
    }
    Ok((revision, listed_on))
}

/// Read every key under `prefix` from the member at `url`, all at one revision (see
/// [`read_snapshot`]). `page(kvs, revision, first, complete)` gets each page, in key order.
/// Returns the revision.
pub async fn read_prefix(
    cluster: &Cluster,
    url: &str,
    prefix: &[u8],
    mut page: impl FnMut(Vec<Kv>, i64, bool, bool),
) -> Result<i64, EtcdError> {
    let urls = [url.to_string()];
    let read = read_snapshot(cluster, &urls, prefix, |p: Page| {
        page(p.kvs, p.revision, p.first, p.complete);
        Ok::<(), EtcdError>(())
    })
    .await;
    match read {
        Ok((revision, _)) => Ok(revision),
        // One endpoint: its own error.
        Err(EtcdError::NoneAnswered(mut all)) if all.len() == 1 => Err(all.remove(0)),
        Err(e) => Err(e),
    }
}

/// Every key under `prefix` at one revision, from the configured endpoints (the next one going
/// on where one fails): the keys, the revision, and the endpoint that listed them.
pub async fn read_all(
    cluster: &Cluster,
    prefix: &[u8],
) -> Result<(Vec<Kv>, i64, String), EtcdError> {
    let mut all = Vec::new();
    let (revision, url) =
        read_snapshot(cluster, &cluster.settings().endpoints, prefix, |p: Page| {
            if p.first {
                all.reserve_exact(p.count);
            }
            all.extend(p.kvs);
            Ok::<(), EtcdError>(())
        })
        .await?;
    Ok((all, revision, url))
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
