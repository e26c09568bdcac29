//! A member's own view of its health, from the Prometheus text it serves at `/metrics` on its
//! client URL: leader, learner, DB size against quota, proposals, and the latency histograms
//! (WAL fsync, backend commit, peer round trip) that Pigsty alerts on.
//!
//! [`parse`] turns one page into a [`Snapshot`]; [`compare`] derives the p99 latencies of what
//! happened between two snapshots the way `histogram_quantile(0.99, rate(x_bucket[..]))` does;
//! [`alerts`] applies Pigsty's thresholds. [`scrape`] fetches the page over HTTPS with the same
//! CA and client certificate as the gRPC calls.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_parse::{HistogramCount, Sample, Scrape, Value};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

use http_body_util::{BodyExt, Empty};
use hyper::body::{Body, Bytes};
use hyper::client::conn::http1;
use hyper::ext::ReasonPhrase;
use hyper::{header, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::TlsConnector;

use super::client::{read_file, read_key};
use super::error::{ErrorContext, EtcdError};
use crate::connect::{FileSetting, Settings};
use crate::units;

/// Pigsty's `EtcdWalFsyncSlow`: WAL fsync latency over 50 ms.
pub const FSYNC_ALERT_S: f64 = 0.05;
/// Pigsty's `EtcdNetworkPeerRTSlow`: peer round trip over 200 ms.
pub const PEER_RTT_ALERT_S: f64 = 0.2;
/// Pigsty's `EtcdQuotaFull`: DB size over 90 % of the backend quota.
pub const QUOTA_ALERT_RATIO: f64 = 0.9;

/// The quantile [`compare`] reports.
pub const P99: f64 = 0.99;

const HAS_LEADER: &str = "etcd_server_has_leader";
const IS_LEADER: &str = "etcd_server_is_leader";
const IS_LEARNER: &str = "etcd_server_is_learner";
const LEADER_CHANGES: &str = "etcd_server_leader_changes_seen_total";
const DB_TOTAL: &str = "etcd_mvcc_db_total_size_in_bytes";
const DB_TOTAL_DEBUGGING: &str = "etcd_debugging_mvcc_db_total_size_in_bytes";
const DB_IN_USE: &str = "etcd_mvcc_db_total_size_in_use_in_bytes";
const QUOTA: &str = "etcd_server_quota_backend_bytes";
const PROPOSALS_PENDING: &str = "etcd_server_proposals_pending";
const PROPOSALS_FAILED: &str = "etcd_server_proposals_failed_total";
const VERSION: &str = "etcd_server_version";
const SERVER_ID: &str = "etcd_server_id";
const COMPACT_REVISION: &str = "etcd_debugging_mvcc_compact_revision";
const WAL_FSYNC: &str = "etcd_disk_wal_fsync_duration_seconds";
const BACKEND_COMMIT: &str = "etcd_disk_backend_commit_duration_seconds";
const PEER_RTT: &str = "etcd_network_peer_round_trip_time_seconds";
const HISTOGRAMS: [&str; 3] = [WAL_FSYNC, BACKEND_COMMIT, PEER_RTT];

/// A cumulative Prometheus histogram as served: `(le, cumulative count)` sorted by `le`, the
/// last one `+Inf`; `count` and `sum` from the `_count` and `_sum` lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    pub buckets: Vec<(f64, f64)>,
    pub count: f64,
    pub sum: f64,
}

/// What one scrape of one member says. `None` where the page lacks the metric (older or newer
/// etcd, or a proxy in between).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// `etcd_server_has_leader`.
    pub has_leader: Option<bool>,
    /// `etcd_server_is_leader`.
    pub is_leader: Option<bool>,
    /// `etcd_server_is_learner`.
    pub is_learner: Option<bool>,
    /// `etcd_server_leader_changes_seen_total` (counter).
    pub leader_changes: Option<f64>,
    /// `etcd_mvcc_db_total_size_in_bytes`, else `etcd_debugging_mvcc_db_total_size_in_bytes`.
    pub db_total_bytes: Option<u64>,
    /// `etcd_mvcc_db_total_size_in_use_in_bytes`.
    pub db_in_use_bytes: Option<u64>,
    /// `etcd_server_quota_backend_bytes`.
    pub quota_bytes: Option<u64>,
    /// `etcd_server_proposals_pending` (gauge).
    pub proposals_pending: Option<f64>,
    /// `etcd_server_proposals_failed_total` (counter).
    pub proposals_failed: Option<f64>,
    /// Label `server_version` of `etcd_server_version`, e.g. `3.4.23`.
    pub version: Option<String>,
    /// Label `server_id` of `etcd_server_id` (hex, as `member list` shows it); etcd 3.4.x+.
    pub server_id: Option<String>,
    /// `etcd_debugging_mvcc_compact_revision`: the revision of the last compaction; 0 when there
    /// was none yet (the page says `-1`).
    pub compact_revision: Option<i64>,
    /// `etcd_disk_wal_fsync_duration_seconds`.
    pub wal_fsync: Option<Histogram>,
    /// `etcd_disk_backend_commit_duration_seconds`.
    pub backend_commit: Option<Histogram>,
    /// `etcd_network_peer_round_trip_time_seconds` by its `To` label (the peer's member id).
    pub peer_rtt: BTreeMap<String, Histogram>,
}

/// A page that cannot be read as etcd's metrics, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    #[error("the metrics page is empty")]
    Empty,
    #[error("not Prometheus text: no sample line in it; it starts with {start:?}")]
    NotPrometheus { start: String },
    #[error(
        "no etcd_* metric among the {samples} samples of the page (first: {first}): is this the \
         client URL of an etcd member?"
    )]
    NotEtcd { samples: usize, first: String },
    #[error(
        "none of etcd_server_*, etcd_mvcc_db_*, etcd_disk_* among the {samples} samples of the \
         page: is this an etcd member (not a gRPC proxy)?"
    )]
    NoServerMetrics { samples: usize },
    #[error("{metric}: value {value:?} is not {expected}")]
    BadValue {
        metric: String,
        value: String,
        expected: &'static str,
    },
    #[error("{metric}: no label {label}")]
    MissingLabel { metric: String, label: &'static str },
    #[error("histogram {metric}{labels}: {reason}")]
    BadHistogram {
        metric: String,
        labels: String,
        reason: String,
    },
    #[error("cannot read the metrics page: {0}")]
    Read(String),
}

/// Parse one `/metrics` page of an etcd member.
///
/// Only the lines of the metrics read here go through prometheus-parse (about 100 of the 1,545
/// lines of an etcd 3.4 page): a console refreshing every second per member must stay cheap.
/// The whole page is parsed only to say what is wrong with one that has none of them.
pub fn parse(text: &str) -> Result<Snapshot, MetricsError> {
    if text.trim().is_empty() {
        return Err(MetricsError::Empty);
    }
    let kept: Vec<&str> = text
        .lines()
        .map(str::trim_start)
        .filter(|l| wanted(l))
        .collect();
    let scrape = Scrape::parse(kept.iter().map(|l| Ok((*l).to_owned())))
        .map_err(|e| MetricsError::Read(e.to_string()))?;
    if scrape.samples.is_empty() {
        return Err(diagnose(text));
    }

    let mut snap = Snapshot::default();
    let mut debugging_db_total = None;
    // Histogram family, `To` label (peer RTT only) -> buckets, and the `_sum`/`_count` lines.
    let mut buckets: Vec<(&'static str, Option<String>, &[HistogramCount])> = Vec::new();
    let mut sums: HashMap<(&'static str, Option<&str>), f64> = HashMap::new();
    let mut counts: HashMap<(&'static str, Option<&str>), f64> = HashMap::new();

    for s in &scrape.samples {
        let name = s.metric.as_str();
        match name {
            HAS_LEADER => set(&mut snap.has_leader, flag(s)?),
            IS_LEADER => set(&mut snap.is_leader, flag(s)?),
            IS_LEARNER => set(&mut snap.is_learner, flag(s)?),
            LEADER_CHANGES => set(&mut snap.leader_changes, number(s)),
            DB_TOTAL => set(&mut snap.db_total_bytes, bytes(s)?),
            DB_TOTAL_DEBUGGING => set(&mut debugging_db_total, bytes(s)?),
            DB_IN_USE => set(&mut snap.db_in_use_bytes, bytes(s)?),
            QUOTA => set(&mut snap.quota_bytes, bytes(s)?),
            PROPOSALS_PENDING => set(&mut snap.proposals_pending, number(s)),
            PROPOSALS_FAILED => set(&mut snap.proposals_failed, number(s)),
            VERSION => set(&mut snap.version, Some(label(s, "server_version")?)),
            SERVER_ID => set(&mut snap.server_id, Some(label(s, "server_id")?)),
            COMPACT_REVISION => set(
                &mut snap.compact_revision,
                number(s).map(|v| v.max(0.0) as i64),
            ),
            _ => {
                if let Value::Histogram(b) = &s.value {
                    if let Some(family) = HISTOGRAMS.iter().find(|f| **f == name) {
                        let to = peer_label(family, s)?;
                        buckets.push((family, to, b));
                    }
                    continue;
                }
                for family in HISTOGRAMS {
                    let Some(suffix) = name.strip_prefix(family) else {
                        continue;
                    };
                    let to = s.labels.get("To").filter(|_| family == PEER_RTT);
                    match (suffix, number(s)) {
                        ("_sum", Some(v)) => {
                            sums.entry((family, to)).or_insert(v);
                        }
                        ("_count", Some(v)) => {
                            counts.entry((family, to)).or_insert(v);
                        }
                        ("_bucket", _) => {
                            return Err(MetricsError::BadHistogram {
                                metric: family.into(),
                                labels: String::new(),
                                reason: format!(
                                    "bucket lines without a '# TYPE {family} histogram' line"
                                ),
                            })
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    if snap.db_total_bytes.is_none() {
        snap.db_total_bytes = debugging_db_total;
    }

    for (family, to, raw) in buckets {
        let key = (family, to.as_deref());
        let h = histogram(family, to.as_deref(), raw, sums.get(&key), counts.get(&key))?;
        match (family, to) {
            (WAL_FSYNC, _) => set(&mut snap.wal_fsync, Some(h)),
            (BACKEND_COMMIT, _) => set(&mut snap.backend_commit, Some(h)),
            (_, Some(to)) => {
                snap.peer_rtt.entry(to).or_insert(h);
            }
            _ => {}
        }
    }

    check_unparsed(&kept, &snap)?;
    Ok(snap)
}

/// The scalar metrics read here.
const SCALARS: [&str; 13] = [
    HAS_LEADER,
    IS_LEADER,
    IS_LEARNER,
    LEADER_CHANGES,
    DB_TOTAL,
    DB_TOTAL_DEBUGGING,
    DB_IN_USE,
    QUOTA,
    PROPOSALS_PENDING,
    PROPOSALS_FAILED,
    VERSION,
    SERVER_ID,
    COMPACT_REVISION,
];

/// A sample or `# TYPE` line of a metric read here (`line` is trimmed at the start).
fn wanted(line: &str) -> bool {
    let name_of = |l: &str| -> bool {
        let end = l
            .find(|c: char| c == '{' || c.is_ascii_whitespace())
            .unwrap_or(l.len());
        let name = &l[..end];
        SCALARS.contains(&name)
            || HISTOGRAMS.iter().any(|h| {
                name.strip_prefix(h)
                    .is_some_and(|sfx| matches!(sfx, "" | "_bucket" | "_sum" | "_count"))
            })
    };
    if let Some(comment) = line.strip_prefix('#') {
        let mut words = comment.split_whitespace();
        return words.next() == Some("TYPE") && words.next().is_some_and(name_of);
    }
    line.starts_with("etcd_") && name_of(line)
}

/// Why a page has none of the metrics read here.
fn diagnose(text: &str) -> MetricsError {
    let all = match Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))) {
        Ok(all) => all,
        Err(e) => return MetricsError::Read(e.to_string()),
    };
    let Some(first) = all.samples.first() else {
        let start = text.trim_start().lines().next().unwrap_or("");
        return MetricsError::NotPrometheus {
            start: start.chars().take(80).collect(),
        };
    };
    if !all.samples.iter().any(|s| s.metric.starts_with("etcd_")) {
        return MetricsError::NotEtcd {
            samples: all.samples.len(),
            first: first.metric.clone(),
        };
    }
    MetricsError::NoServerMetrics {
        samples: all.samples.len(),
    }
}

/// Keep the first value seen (a page never repeats a series; if it did, the first one wins).
fn set<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

fn number(s: &Sample) -> Option<f64> {
    match s.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => Some(v),
        _ => None,
    }
}

fn bad_value(s: &Sample, value: impl ToString, expected: &'static str) -> MetricsError {
    MetricsError::BadValue {
        metric: s.metric.clone(),
        value: value.to_string(),
        expected,
    }
}

fn flag(s: &Sample) -> Result<Option<bool>, MetricsError> {
    match number(s) {
        Some(0.0) => Ok(Some(false)),
        Some(1.0) => Ok(Some(true)),
        Some(v) => Err(bad_value(s, v, "0 or 1")),
        None => Ok(None),
    }
}

fn bytes(s: &Sample) -> Result<Option<u64>, MetricsError> {
    match number(s) {
        Some(v) if v.is_finite() && v >= 0.0 => Ok(Some(v.round() as u64)),
        Some(v) => Err(bad_value(s, v, "a byte count")),
        None => Ok(None),
    }
}

fn label(s: &Sample, name: &'static str) -> Result<String, MetricsError> {
    s.labels
        .get(name)
        .map(str::to_owned)
        .ok_or_else(|| MetricsError::MissingLabel {
            metric: s.metric.clone(),
            label: name,
        })
}

fn peer_label(family: &str, s: &Sample) -> Result<Option<String>, MetricsError> {
    if family == PEER_RTT {
        label(s, "To").map(Some)
    } else {
        Ok(None)
    }
}

fn histogram(
    family: &str,
    to: Option<&str>,
    raw: &[HistogramCount],
    sum: Option<&f64>,
    count: Option<&f64>,
) -> Result<Histogram, MetricsError> {
    let bad = |reason: String| MetricsError::BadHistogram {
        metric: family.to_string(),
        labels: to.map(|t| format!("{{To=\"{t}\"}}")).unwrap_or_default(),
        reason,
    };
    let mut buckets: Vec<(f64, f64)> = raw.iter().map(|b| (b.less_than, b.count)).collect();
    if let Some(&(le, c)) = buckets.iter().find(|(le, c)| le.is_nan() || c.is_nan()) {
        return Err(bad(format!("bucket le={le} has count {c}")));
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|&(le, _)| le != f64::INFINITY) {
        return Err(bad("no le=\"+Inf\" bucket".into()));
    }
    for pair in buckets.windows(2) {
        let ((le0, c0), (le1, c1)) = (pair[0], pair[1]);
        if le0 == le1 {
            return Err(bad(format!("bucket le={le0} appears twice")));
        }
        if c1 < c0 {
            return Err(bad(format!(
                "cumulative counts go down: {c0} at le={le0}, then {c1} at le={le1}"
            )));
        }
    }
    let suffix_missing = |s: &str| bad(format!("no {family}_{s} line"));
    Ok(Histogram {
        count: *count.ok_or_else(|| suffix_missing("count"))?,
        sum: *sum.ok_or_else(|| suffix_missing("sum"))?,
        buckets,
    })
}

/// prometheus-parse drops a sample whose value is not a number without a word. For the metrics
/// read here, say so instead of reporting them as absent.
fn check_unparsed(lines: &[&str], snap: &Snapshot) -> Result<(), MetricsError> {
    let missing = [
        (HAS_LEADER, snap.has_leader.is_none()),
        (IS_LEADER, snap.is_leader.is_none()),
        (IS_LEARNER, snap.is_learner.is_none()),
        (LEADER_CHANGES, snap.leader_changes.is_none()),
        (DB_TOTAL, snap.db_total_bytes.is_none()),
        (DB_IN_USE, snap.db_in_use_bytes.is_none()),
        (QUOTA, snap.quota_bytes.is_none()),
        (PROPOSALS_PENDING, snap.proposals_pending.is_none()),
        (PROPOSALS_FAILED, snap.proposals_failed.is_none()),
    ];
    for (metric, absent) in missing {
        if !absent {
            continue;
        }
        let value = lines.iter().find_map(|line| {
            let rest = line.strip_prefix(metric)?;
            let rest = match rest.as_bytes().first()? {
                b'{' => &rest[rest.find('}')? + 1..],
                b' ' | b'\t' => rest,
                _ => return None,
            };
            rest.split_whitespace().next()
        });
        if let Some(value) = value {
            return Err(MetricsError::BadValue {
                metric: metric.into(),
                value: value.into(),
                expected: "a number",
            });
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Quantiles
// ------------------------------------------------------------------------------------------

/// The `q` quantile of the observations made between two scrapes of the same histogram, as
/// `histogram_quantile(q, rate(x_bucket[..]))` computes it: bucket-wise deltas, then linear
/// interpolation inside the bucket that holds rank `q * total` (the first bucket starts at 0; a
/// rank in the `+Inf` bucket gives the highest finite bound). When a count went down (the member
/// restarted) or the bucket layout changed, `later` alone is the delta, as `rate()` treats a
/// counter reset. `None` when nothing was observed in between, or `q` is outside `[0, 1]`.
pub fn quantile(q: f64, earlier: &Histogram, later: &Histogram) -> Option<f64> {
    let same_layout = earlier.buckets.len() == later.buckets.len()
        && earlier
            .buckets
            .iter()
            .zip(&later.buckets)
            .all(|(e, l)| e.0 == l.0);
    if !same_layout {
        return quantile_total(q, later);
    }
    let mut delta = Vec::with_capacity(later.buckets.len());
    for (e, l) in earlier.buckets.iter().zip(&later.buckets) {
        let d = l.1 - e.1;
        if d < 0.0 {
            return quantile_total(q, later);
        }
        delta.push((l.0, d));
    }
    bucket_quantile(q, &delta)
}

/// The `q` quantile of everything a cumulative histogram has counted since the member started
/// (for the first scrape, before there is an earlier one to compare with).
pub fn quantile_total(q: f64, h: &Histogram) -> Option<f64> {
    bucket_quantile(q, &h.buckets)
}

/// Prometheus' `bucketQuantile` over `(le, cumulative count)` sorted by `le`.
fn bucket_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) || buckets.len() < 2 {
        return None;
    }
    if buckets.last()?.0 != f64::INFINITY {
        return None;
    }
    // Counts are monotonic on a parsed page; deltas of a page pair are too unless the member
    // was replaced mid-way. Force it, as Prometheus does, so interpolation never goes backwards.
    let mut running = 0.0_f64;
    let cumulative: Vec<f64> = buckets
        .iter()
        .map(|&(_, c)| {
            running = running.max(c);
            running
        })
        .collect();
    let total = *cumulative.last()?;
    if total.is_nan() || total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let b = cumulative
        .iter()
        .position(|&c| c >= rank)
        .unwrap_or(buckets.len() - 1);
    if b == buckets.len() - 1 {
        return Some(buckets[b - 1].0);
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return Some(buckets[0].0);
    }
    let (mut start, end, mut count, mut rank) = (0.0, buckets[b].0, cumulative[b], rank);
    if b > 0 {
        start = buckets[b - 1].0;
        count -= cumulative[b - 1];
        rank -= cumulative[b - 1];
    }
    if count <= 0.0 {
        return Some(start);
    }
    Some(start + (end - start) * (rank / count))
}

// ------------------------------------------------------------------------------------------
// Derived figures and alerts
// ------------------------------------------------------------------------------------------

/// What happened between two snapshots of one member (or, from [`lifetime`], since it started).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Derived {
    /// p99 of WAL fsync, seconds; `None` when no fsync happened (an idle member writes nothing).
    pub wal_fsync_p99_s: Option<f64>,
    /// p99 of backend commit, seconds.
    pub backend_commit_p99_s: Option<f64>,
    /// p99 of the round trip to each peer (by member id, as the later snapshot lists them);
    /// `None` for a peer with no probe in between (etcd probes each peer every few seconds).
    pub peer_rtt_p99_s: BTreeMap<String, Option<f64>>,
    /// Leader changes seen in between.
    pub leader_changes_delta: Option<f64>,
    /// Failed proposals in between.
    pub proposals_failed_delta: Option<f64>,
}

/// Derive [`Derived`] from two scrapes of one member, `earlier` first. A count that went down
/// means the member restarted: what `later` counts is then all new. If the two snapshots name
/// different members (`server_id`), `later` is taken alone the same way.
pub fn compare(earlier: &Snapshot, later: &Snapshot) -> Derived {
    let same_member = match (&earlier.server_id, &later.server_id) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    let earlier = same_member.then_some(earlier);
    let p99 = |e: Option<&Histogram>, l: Option<&Histogram>| match (e, l) {
        (Some(e), Some(l)) => quantile(P99, e, l),
        (None, Some(l)) => quantile_total(P99, l),
        (_, None) => None,
    };
    // A counter that went down was reset: all of `later` is new. A member replaced by another
    // counts as reset; a counter missing from `earlier` gives no delta.
    let counter = |e: Option<&Snapshot>, pick: fn(&Snapshot) -> Option<f64>| {
        let l = pick(later)?;
        match e {
            Some(e) => pick(e).map(|e| if l >= e { l - e } else { l }),
            None => Some(l),
        }
    };
    Derived {
        wal_fsync_p99_s: p99(
            earlier.and_then(|e| e.wal_fsync.as_ref()),
            later.wal_fsync.as_ref(),
        ),
        backend_commit_p99_s: p99(
            earlier.and_then(|e| e.backend_commit.as_ref()),
            later.backend_commit.as_ref(),
        ),
        peer_rtt_p99_s: later
            .peer_rtt
            .iter()
            .map(|(peer, l)| {
                let e = earlier.and_then(|e| e.peer_rtt.get(peer));
                (peer.clone(), p99(e, Some(l)))
            })
            .collect(),
        leader_changes_delta: counter(earlier, |s| s.leader_changes),
        proposals_failed_delta: counter(earlier, |s| s.proposals_failed),
    }
}

/// The p99s over everything counted since the member started, for the first scrape; no deltas.
pub fn lifetime(snapshot: &Snapshot) -> Derived {
    let p99 = |h: Option<&Histogram>| h.and_then(|h| quantile_total(P99, h));
    Derived {
        wal_fsync_p99_s: p99(snapshot.wal_fsync.as_ref()),
        backend_commit_p99_s: p99(snapshot.backend_commit.as_ref()),
        peer_rtt_p99_s: snapshot
            .peer_rtt
            .iter()
            .map(|(peer, h)| (peer.clone(), p99(Some(h))))
            .collect(),
        leader_changes_delta: None,
        proposals_failed_delta: None,
    }
}

/// How bad an [`Alert`] is, as Pigsty ranks the same rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Crit,
    Warn,
    Info,
}

/// One of Pigsty's etcd alerts, firing on this member.
#[derive(Debug, Clone, PartialEq)]
pub enum Alert {
    /// `etcd_server_has_leader` is 0 (Pigsty `EtcdNoLeader`, CRIT).
    NoLeader,
    /// DB size at or over [`QUOTA_ALERT_RATIO`] of the quota (Pigsty `EtcdQuotaFull`, WARN).
    QuotaNearlyFull { db_bytes: u64, quota_bytes: u64 },
    /// WAL fsync p99 at or over [`FSYNC_ALERT_S`] (Pigsty `EtcdWalFsyncSlow`, INFO).
    WalFsyncSlow { p99_s: f64 },
    /// Peer round trip p99 at or over [`PEER_RTT_ALERT_S`] (Pigsty `EtcdNetworkPeerRTSlow`, INFO).
    PeerRttSlow { peer: String, p99_s: f64 },
}

impl Alert {
    /// Pigsty's severity for the same rule.
    pub fn severity(&self) -> Severity {
        match self {
            Alert::NoLeader => Severity::Crit,
            Alert::QuotaNearlyFull { .. } => Severity::Warn,
            Alert::WalFsyncSlow { .. } | Alert::PeerRttSlow { .. } => Severity::Info,
        }
    }

    /// The name of Pigsty's alert rule.
    pub fn rule(&self) -> &'static str {
        match self {
            Alert::NoLeader => "EtcdNoLeader",
            Alert::QuotaNearlyFull { .. } => "EtcdQuotaFull",
            Alert::WalFsyncSlow { .. } => "EtcdWalFsyncSlow",
            Alert::PeerRttSlow { .. } => "EtcdNetworkPeerRTSlow",
        }
    }
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |s: f64| format!("{:.0} ms", s * 1000.0);
        match self {
            Alert::NoLeader => write!(f, "no leader"),
            Alert::QuotaNearlyFull {
                db_bytes,
                quota_bytes,
            } => {
                let pct = u128::from(*db_bytes) * 100 / u128::from((*quota_bytes).max(1));
                write!(
                    f,
                    "DB at {pct}% of quota ({} of {})",
                    units::bytes(*db_bytes),
                    units::bytes(*quota_bytes)
                )
            }
            Alert::WalFsyncSlow { p99_s } => write!(
                f,
                "WAL fsync p99 {}, over {}",
                ms(*p99_s),
                ms(FSYNC_ALERT_S)
            ),
            Alert::PeerRttSlow { peer, p99_s } => write!(
                f,
                "peer round trip to {peer} p99 {}, over {}",
                ms(*p99_s),
                ms(PEER_RTT_ALERT_S)
            ),
        }
    }
}

/// Pigsty's etcd alerts that fire for this member: the snapshot's state and the derived p99s
/// against [`FSYNC_ALERT_S`], [`PEER_RTT_ALERT_S`] and [`QUOTA_ALERT_RATIO`] (at the threshold
/// counts). Most severe first; peers in id order.
pub fn alerts(snapshot: &Snapshot, derived: &Derived) -> Vec<Alert> {
    let mut out = Vec::new();
    if snapshot.has_leader == Some(false) {
        out.push(Alert::NoLeader);
    }
    if let (Some(db), Some(quota)) = (snapshot.db_total_bytes, snapshot.quota_bytes) {
        if quota > 0 && db as f64 / quota as f64 >= QUOTA_ALERT_RATIO {
            out.push(Alert::QuotaNearlyFull {
                db_bytes: db,
                quota_bytes: quota,
            });
        }
    }
    if let Some(p99) = derived.wal_fsync_p99_s.filter(|&p| p >= FSYNC_ALERT_S) {
        out.push(Alert::WalFsyncSlow { p99_s: p99 });
    }
    for (peer, p99) in &derived.peer_rtt_p99_s {
        if let Some(p99) = p99.filter(|&p| p >= PEER_RTT_ALERT_S) {
            out.push(Alert::PeerRttSlow {
                peer: peer.clone(),
                p99_s: p99,
            });
        }
    }
    out
}

// ------------------------------------------------------------------------------------------
// Scraping
// ------------------------------------------------------------------------------------------

/// A metrics page larger than this is refused (etcd's is about 150 KB).
const MAX_PAGE: usize = 32 << 20;

/// Fetches `/metrics` from members with the TLS material of the [`Settings`], loaded once.
#[derive(Clone)]
pub struct Scraper {
    connector: TlsConnector,
    timeout: Duration,
    ctx: ErrorContext,
}

impl Scraper {
    /// Read and check the CA, certificate and key files now (only when an endpoint is https, as
    /// the gRPC client does), so a bad file is reported before any request.
    pub fn new(settings: &Settings) -> Result<Scraper, EtcdError> {
        let config = tls_config(settings)?;
        Ok(Scraper {
            connector: TlsConnector::from(Arc::new(config)),
            timeout: settings.timeout,
            ctx: ErrorContext {
                cacert: settings.cacert.as_ref().map(|f| f.to_string()),
                cert: settings.cert.as_ref().map(|f| f.to_string()),
                key: settings.key.as_ref().map(|f| f.to_string()),
                user: settings.user.as_ref().map(|(u, _)| u.clone()),
                timeout: settings.timeout,
            },
        })
    }

    /// The timeout of one whole scrape (connect, handshake, request, body).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// The rustls client configuration for these settings (also used to look into a failed gRPC
/// connection, see `Cluster::explain_closed`).
pub(crate) fn tls_config(settings: &Settings) -> Result<rustls::ClientConfig, EtcdError> {
    let tls_wanted = settings.endpoints.iter().any(|e| e.starts_with("https://"));
    let mut roots = rustls::RootCertStore::empty();
    if let (true, Some(ca)) = (tls_wanted, &settings.cacert) {
        let what = "CA certificate";
        for cert in read_certs(ca, what)? {
            roots.add(cert).map_err(|e| EtcdError::FileMalformed {
                what,
                file: ca.to_string(),
                reason: e.to_string(),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| EtcdError::Other {
            endpoint: "-".into(),
            message: format!("TLS setup: {e}"),
        })?
        .with_root_certificates(roots);
    match (tls_wanted, &settings.cert, &settings.key) {
        (true, Some(cert), Some(key)) => {
            let certs = read_certs(cert, "client certificate")?;
            let (_, key_der) = read_key(key)?;
            builder
                .with_client_auth_cert(certs, key_der)
                .map_err(|e| match e {
                    rustls::Error::InconsistentKeys(_) => EtcdError::KeyMismatch {
                        key: key.to_string(),
                        cert: cert.to_string(),
                    },
                    e => EtcdError::FileMalformed {
                        what: "client certificate and key pair",
                        file: format!("{cert} and {key}"),
                        reason: e.to_string(),
                    },
                })
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

fn read_certs(
    file: &FileSetting,
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, EtcdError> {
    let pem = read_file(file, what)?;
    let malformed = |reason: String| EtcdError::FileMalformed {
        what,
        file: file.to_string(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| malformed(e.to_string()))?;
    if certs.is_empty() {
        return Err(malformed("no PEM 'CERTIFICATE' block in it".into()));
    }
    Ok(certs)
}

/// Where a client URL points.
#[derive(Debug)]
struct Target {
    tls: bool,
    host: String,
    port: u16,
    authority: String,
    path: String,
}

fn target(url: &str) -> Result<Target, EtcdError> {
    let bad = |why: &str| EtcdError::Other {
        endpoint: url.to_string(),
        message: format!("not a client URL ({why}): expected https://IP:PORT or http://IP:PORT"),
    };
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(bad("no https:// or http://"));
    };
    let (authority, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let default_port = if tls { 443 } else { 80 };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
        match after.strip_prefix(':') {
            Some(p) => (host, p.parse().map_err(|_| bad("bad port"))?),
            None if after.is_empty() => (host, default_port),
            None => return Err(bad("junk after ']'")),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| bad("bad port"))?),
            None => (authority, default_port),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok(Target {
        tls,
        host: host.to_string(),
        port,
        authority: authority.to_string(),
        path: format!("{prefix}/metrics"),
    })
}

/// `GET <url>/metrics`: the page and how long the whole exchange took. HTTPS with the CA and
/// client certificate of the settings, plain HTTP for an `http://` URL; one connection per call
/// (`Connection: close`), all of it within the settings' timeout.
pub async fn scrape(client: &Scraper, url: &str) -> Result<(String, Duration), EtcdError> {
    let t = client.timeout;
    let start = Instant::now();
    let body = tokio::time::timeout(t, fetch(client, url))
        .await
        .map_err(|_| EtcdError::timeout(url, t))??;
    Ok((body, start.elapsed()))
}

async fn fetch(client: &Scraper, url: &str) -> Result<String, EtcdError> {
    let target = target(url)?;
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| match e.kind() {
            io::ErrorKind::ConnectionRefused => EtcdError::Refused {
                endpoint: url.to_string(),
            },
            _ => EtcdError::Other {
                endpoint: url.to_string(),
                message: format!("cannot connect: {e}"),
            },
        })?;
    let _ = tcp.set_nodelay(true);
    if !target.tls {
        return exchange(tcp, &target, url, None).await;
    }
    let name = ServerName::try_from(target.host.clone()).map_err(|e| EtcdError::Other {
        endpoint: url.to_string(),
        message: format!("{:?} is not a host name or IP address: {e}", target.host),
    })?;
    let tls = client
        .connector
        .connect(name, tcp)
        .await
        .map_err(|e| tls_error(url, &client.ctx, &e, true))?;
    exchange(tls, &target, url, Some(&client.ctx)).await
}

/// One HTTP/1.1 `GET` over `stream` with hyper, the body of a 200 as text. `ctx` is set for TLS.
/// The connection is driven here, not on a task of its own, so the caller's timeout drops all
/// of it.
async fn exchange<S>(
    stream: S,
    target: &Target,
    url: &str,
    ctx: Option<&ErrorContext>,
) -> Result<String, EtcdError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let path = target.path.as_str();
    let http_err = |message: String| EtcdError::Other {
        endpoint: url.to_string(),
        message: format!("GET {path}: {message}"),
    };
    let hyper_err = |e: hyper::Error| transport_error(url, path, ctx, &e);
    let (mut sender, conn) = http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
        .await
        .map_err(hyper_err)?;
    let request = Request::get(path)
        .header(header::HOST, target.authority.as_str())
        .header(
            header::USER_AGENT,
            concat!("etcdeck/", env!("CARGO_PKG_VERSION")),
        )
        .header(header::ACCEPT, "text/plain")
        .header(header::ACCEPT_ENCODING, "identity")
        .header(header::CONNECTION, "close")
        .body(Empty::new())
        .map_err(|e| http_err(format!("cannot build the request: {e}")))?;

    let work = async {
        let response = sender.send_request(request).await.map_err(hyper_err)?;
        let status = response.status();
        if let Some(enc) = response
            .headers()
            .get(header::CONTENT_ENCODING)
            .filter(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
        {
            return Err(http_err(format!(
                "the page came {}-encoded although identity was asked for",
                String::from_utf8_lossy(enc.as_bytes())
            )));
        }
        let reason = response
            .extensions()
            .get::<ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
            .or_else(|| status.canonical_reason().map(str::to_owned))
            .unwrap_or_default();
        let too_large = || {
            http_err(format!(
                "the page is over {} MiB; is this etcd?",
                MAX_PAGE >> 20
            ))
        };
        let declared = response.body().size_hint().exact();
        if declared.is_some_and(|n| n > MAX_PAGE as u64) {
            return Err(too_large());
        }
        let capacity = declared.map_or(256 * 1024, |n| n as usize);
        let mut body = response.into_body();
        let mut page: Vec<u8> = Vec::with_capacity(capacity);
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map_err(hyper_err)?.into_data() else {
                continue; // trailers
            };
            if page.len() + data.len() > MAX_PAGE {
                return Err(too_large());
            }
            page.extend_from_slice(&data);
        }
        if status == StatusCode::OK {
            return String::from_utf8(page)
                .map_err(|e| http_err(format!("the page is not UTF-8 text: {e}")));
        }
        let text = String::from_utf8_lossy(&page);
        let first = text.lines().map(str::trim).find(|l| !l.is_empty());
        let said = first
            .map(|l| format!(": {}", l.chars().take(200).collect::<String>()))
            .unwrap_or_default();
        Err(http_err(format!("HTTP {} {reason}{said}", status.as_u16())))
    };
    tokio::pin!(work);
    tokio::select! {
        biased;
        page = &mut work => page,
        ended = conn => match ended {
            // What broke the connection says more than the request that lost it.
            Err(e) => Err(hyper_err(e)),
            // Closed as asked once the response was in: the body may still be buffered.
            Ok(()) => work.await,
        },
    }
}

/// A hyper error on the connection to `url` in an operator's words: the I/O error under it as
/// [`tls_error`] or [`plain_error`] reads it, a hang-up before any answer as the likely reason.
fn transport_error(
    url: &str,
    path: &str,
    ctx: Option<&ErrorContext>,
    e: &hyper::Error,
) -> EtcdError {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            return match ctx {
                Some(ctx) => tls_error(url, ctx, io, false),
                None => plain_error(url, io),
            };
        }
        source = s.source();
    }
    if e.is_incomplete_message() {
        return match ctx {
            // TLS 1.3: a server that refuses our client certificate may just hang up.
            Some(ctx) => super::error::closed_after_handshake(url, ctx),
            // etcd serving TLS drops a plain HTTP request without a word.
            None => EtcdError::Other {
                endpoint: url.to_string(),
                message: "the server closed the connection without answering the HTTP \
                          request; does this member serve TLS (https://)?"
                    .into(),
            },
        };
    }
    EtcdError::Other {
        endpoint: url.to_string(),
        message: format!("GET {path}: {e}"),
    }
}

fn plain_error(url: &str, e: &io::Error) -> EtcdError {
    let endpoint = url.to_string();
    match e.kind() {
        io::ErrorKind::ConnectionRefused => EtcdError::Refused { endpoint },
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => EtcdError::Closed { endpoint },
        _ => EtcdError::Other {
            endpoint,
            message: e.to_string(),
        },
    }
}

/// An I/O error on a TLS connection in an operator's words. `handshake`: it happened before the
/// handshake completed.
fn tls_error(url: &str, ctx: &ErrorContext, e: &io::Error, handshake: bool) -> EtcdError {
    use rustls::{AlertDescription as A, CertificateError as C, Error as R};
    let endpoint = url.to_string();
    let cert = || ctx.cert.clone().unwrap_or_else(|| "(none given)".into());
    let Some(err) = e.get_ref().and_then(|i| i.downcast_ref::<R>()) else {
        return match e.kind() {
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset if handshake => {
                EtcdError::Tls {
                    endpoint,
                    detail: "the server closed the connection during the handshake".into(),
                }
            }
            _ => plain_error(url, e),
        };
    };
    match err {
        R::InvalidCertificate(C::UnknownIssuer) => EtcdError::UnknownCa {
            endpoint,
            cacert: ctx
                .cacert
                .clone()
                .unwrap_or_else(|| "(no CA file given)".into()),
        },
        R::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            let host = target(url).map(|t| t.host).unwrap_or_default();
            EtcdError::NameMismatch { endpoint, host }
        }
        R::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            let when = match err {
                R::InvalidCertificate(C::ExpiredContext { not_after, .. }) => {
                    format!(" on {}", super::error::date(not_after.as_secs() as i64))
                }
                _ => String::new(),
            };
            EtcdError::ServerCertExpired { endpoint, when }
        }
        R::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            let when = match err {
                R::InvalidCertificate(C::NotValidYetContext { not_before, .. }) => format!(
                    ": valid from {}",
                    super::error::date(not_before.as_secs() as i64)
                ),
                _ => String::new(),
            };
            EtcdError::ServerCertNotYetValid { endpoint, when }
        }
        R::AlertReceived(
            A::BadCertificate
            | A::CertificateRequired
            | A::UnknownCA
            | A::CertificateUnknown
            | A::UnsupportedCertificate
            | A::CertificateExpired
            | A::CertificateRevoked
            | A::AccessDenied,
        ) => EtcdError::ClientCertRejected {
            endpoint,
            cert: cert(),
        },
        other => EtcdError::Tls {
            endpoint,
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests;
