//! Long-lived producers for the console: one Status probe per member and one member-list reader.
//! Each asks on the refresh beat, backs off while its member fails, wakes at once on a refresh
//! request, and only sends `Msg`s. One Status per member and one member list per beat, no more.

use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::time::sleep;

use super::client::Cluster;
use super::error::{EtcdError, Failure};
use super::metrics::Snapshot;
use super::model::{MemberList, Probed};
use super::Sink;

/// What a member's Status probe reports.
#[derive(Debug, Clone)]
pub enum ProbeReport {
    /// Its Status, or why it did not answer.
    Status {
        at: Instant,
        id: u64,
        url: String,
        result: Result<Probed, Failure>,
    },
    /// Its Status has been pending for `waited`: it accepts connections but does not answer
    /// (frozen, overloaded, or a network black hole). The call goes on until its timeout.
    Stalled {
        at: Instant,
        id: u64,
        url: String,
        waited: Duration,
    },
}

/// One read of a member's `/metrics`, parsed, or why it failed.
#[derive(Debug, Clone)]
pub struct Scraped {
    pub at: Instant,
    pub id: u64,
    pub result: Result<Box<Snapshot>, Failure>,
}

/// The member list, or why no endpoint gave it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub at: Instant,
    pub result: Result<MemberList, Failure>,
}

/// A Status pending this long is reported as stalled: a frozen member accepts connections and
/// never answers, and the operator should see that before the call's own timeout.
pub const STALL_AFTER: Duration = Duration::from_millis(800);

/// The longest wait between tries at a failing member.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The wait before the next try: the beat while healthy, doubling per failure up to
/// [`MAX_BACKOFF`] (but never under the beat).
pub fn backoff(refresh: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return refresh;
    }
    let doubled = refresh.saturating_mul(1u32 << (failures - 1).min(16));
    doubled.min(MAX_BACKOFF.max(refresh))
}

/// How a pause between tries ended.
enum Woke {
    Timer,
    /// The operator asked for a refresh: try now, forget the backoff.
    Refresh,
    /// The console is gone.
    Gone,
}

/// Sleep `d`, or less if a refresh is requested.
async fn pause(d: Duration, wake: &mut watch::Receiver<u64>) -> Woke {
    tokio::select! {
        _ = sleep(d) => Woke::Timer,
        changed = wake.changed() => if changed.is_ok() { Woke::Refresh } else { Woke::Gone },
    }
}

/// Ask one member for its Status on every beat until the console goes away or the task is
/// aborted.
pub async fn probe_member(
    cluster: Cluster,
    id: u64,
    url: String,
    refresh: Duration,
    tx: impl Sink<ProbeReport>,
    mut wake: watch::Receiver<u64>,
) {
    let mut failures = 0u32;
    loop {
        let started = Instant::now();
        let call = cluster.call(&url, |mut c| async move { c.status().await });
        tokio::pin!(call);
        let result = tokio::select! {
            r = &mut call => r,
            _ = sleep(STALL_AFTER) => {
                let stalled = ProbeReport::Stalled { at: Instant::now(), id, url: url.clone(), waited: STALL_AFTER };
                if !tx.report(stalled) {
                    return;
                }
                call.await
            }
        };
        let result = match result {
            Ok((s, took)) => {
                failures = 0;
                Ok(Probed::from_status(&s, took))
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                Err(Failure::from(&e))
            }
        };
        let report = ProbeReport::Status {
            at: Instant::now(),
            id,
            url: url.clone(),
            result,
        };
        if !tx.report(report) {
            return;
        }
        let wait = backoff(refresh, failures).saturating_sub(started.elapsed());
        match pause(wait, &mut wake).await {
            Woke::Timer => {}
            Woke::Refresh => failures = 0,
            Woke::Gone => return,
        }
    }
}

/// How often each member's `/metrics` is read.
pub const METRICS_EVERY: Duration = Duration::from_secs(5);

/// Read one member's `/metrics` every [`METRICS_EVERY`] (backing off while it fails) until the
/// console goes away or the task is aborted.
pub async fn scrape_member(
    scraper: super::metrics::Scraper,
    id: u64,
    url: String,
    tx: impl Sink<Scraped>,
    mut wake: watch::Receiver<u64>,
) {
    let mut failures = 0u32;
    loop {
        let started = Instant::now();
        let result = match super::metrics::scrape(&scraper, &url).await {
            Ok((body, _)) => super::metrics::parse(&body).map(Box::new).map_err(|e| {
                Failure::from(EtcdError::Other {
                    endpoint: format!("{url}/metrics"),
                    message: format!("not a Prometheus metrics page: {e}"),
                })
            }),
            Err(e) => Err(Failure::from(&e)),
        };
        failures = if result.is_ok() { 0 } else { failures + 1 };
        if !tx.report(Scraped {
            at: Instant::now(),
            id,
            result,
        }) {
            return;
        }
        let wait = backoff(METRICS_EVERY, failures).saturating_sub(started.elapsed());
        match pause(wait, &mut wake).await {
            Woke::Gone => return,
            Woke::Timer | Woke::Refresh => {}
        }
    }
}

/// Read the member list on every beat from one endpoint: the one that answered last, else the
/// others at once. `wake` (every producer) and `wake_list` (this one only) cut the wait short.
pub async fn read_member_list(
    cluster: Cluster,
    refresh: Duration,
    tx: impl Sink<Listed>,
    mut wake: watch::Receiver<u64>,
    mut wake_list: watch::Receiver<u64>,
) {
    let endpoints = cluster.settings().endpoints.clone();
    let mut preferred: Option<String> = None;
    let mut failures = 0u32;
    loop {
        let started = Instant::now();
        let mut answer = None;
        if let Some(url) = &preferred {
            if let Ok((r, _)) = cluster
                .call(url, |mut c| async move { c.member_list().await })
                .await
            {
                answer = Some(Ok((r, url.clone())));
            }
        }
        let answer = match answer {
            Some(a) => a,
            None => {
                let others: Vec<String> = endpoints
                    .iter()
                    .filter(|e| Some(*e) != preferred.as_ref())
                    .cloned()
                    .collect();
                let urls = if others.is_empty() {
                    endpoints.clone()
                } else {
                    others
                };
                cluster
                    .first_answer(&urls, |mut c| async move { c.member_list().await })
                    .await
            }
        };
        let result = match answer {
            Ok((r, from)) => {
                failures = 0;
                preferred = Some(from);
                Ok(MemberList::from(&r))
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                preferred = None;
                Err(Failure::from(&e))
            }
        };
        if !tx.report(Listed {
            at: Instant::now(),
            result,
        }) {
            return;
        }
        let wait = backoff(refresh, failures).saturating_sub(started.elapsed());
        let woke = tokio::select! {
            w = pause(wait, &mut wake) => w,
            changed = wake_list.changed() => if changed.is_ok() { Woke::Refresh } else { Woke::Gone },
        };
        match woke {
            Woke::Timer => {}
            Woke::Refresh => failures = 0,
            Woke::Gone => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_beat_up_to_five_seconds() {
        let s = Duration::from_secs;
        assert_eq!(backoff(s(1), 0), s(1));
        assert_eq!(backoff(s(1), 1), s(1));
        assert_eq!(backoff(s(1), 2), s(2));
        assert_eq!(backoff(s(1), 3), s(4));
        assert_eq!(backoff(s(1), 4), s(5));
        assert_eq!(backoff(s(1), 40), s(5));
        // A beat longer than the cap is kept.
        assert_eq!(backoff(s(10), 3), s(10));
    }
}
