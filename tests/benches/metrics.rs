//! `cargo bench --bench metrics`: CPU cost of reading one member's `/metrics` page.
//!
//! 1. `metrics::parse` of the real etcd 3.4.23 page in `tests/fixtures` (target: under 5 ms of
//!    CPU per page of about 150 KB), mean and p99 over the runs.
//! 2. `metrics::compare` of two snapshots of the same member, plus `metrics::alerts`.
//! 3. For reference: prometheus-parse over the whole page (what `parse` avoids by handing it
//!    only the lines of the metrics it reads).
//!
//! CPU time is the calling thread's (`CLOCK_THREAD_CPUTIME_ID`). `ETCDECK_BENCH_RUNS` sets the
//! number of timed runs (default 1000).

use std::hint::black_box;
use std::time::Duration;

use etcdeck::etcd::metrics;

const PAGE: &str = include_str!("../fixtures/etcd-3.4.23-member1.metrics.txt");
const TARGET: Duration = Duration::from_millis(5);

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn timed(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    for _ in 0..runs.min(20) {
        f(); // warm-up
    }
    let mut out = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = thread_cpu();
        f();
        out.push(thread_cpu() - start);
    }
    out.sort();
    out
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn report(what: &str, sorted: &[Duration]) -> (Duration, Duration) {
    let mean = sorted.iter().sum::<Duration>() / sorted.len() as u32;
    let p99 = sorted[(sorted.len() * 99).div_ceil(100) - 1];
    println!(
        "{what:<34} mean {:>8.1} us   median {:>8.1} us   p99 {:>8.1} us   max {:>8.1} us",
        us(mean),
        us(sorted[sorted.len() / 2]),
        us(p99),
        us(*sorted.last().unwrap())
    );
    (mean, p99)
}

fn main() {
    let runs: usize = std::env::var("ETCDECK_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    println!(
        "page: tests/fixtures/etcd-3.4.23-member1.metrics.txt, {:.1} KB ({} bytes, {} lines); {runs} runs",
        PAGE.len() as f64 / 1000.0,
        PAGE.len(),
        PAGE.lines().count()
    );

    let parse = timed(runs, || {
        black_box(metrics::parse(black_box(PAGE)).unwrap());
    });
    let (mean, p99) = report("parse (CPU per page)", &parse);

    // Two scrapes of one member: 20 fsyncs and a peer probe in between.
    let earlier = metrics::parse(PAGE).unwrap();
    let mut later = earlier.clone();
    for b in later.wal_fsync.as_mut().unwrap().buckets.iter_mut() {
        b.1 += if b.0 > 0.004 { 20.0 } else { 10.0 };
    }
    for h in later.peer_rtt.values_mut() {
        for b in h.buckets.iter_mut().filter(|b| b.0 > 0.0008) {
            b.1 += 1.0;
        }
    }
    let compare = timed(runs, || {
        let d = metrics::compare(black_box(&earlier), black_box(&later));
        black_box(metrics::alerts(&later, &d));
    });
    report("compare + alerts (CPU)", &compare);

    let whole = timed(runs.min(300), || {
        let lines = black_box(PAGE).lines().map(|l| Ok(l.to_owned()));
        black_box(prometheus_parse::Scrape::parse(lines).unwrap());
    });
    report("reference: whole page, all lines", &whole);

    let verdict = |ok: bool| if ok { "ok" } else { "OVER TARGET" };
    println!(
        "target: parse under {} ms per page: mean {:.3} ms {}, p99 {:.3} ms {}",
        TARGET.as_millis(),
        mean.as_secs_f64() * 1e3,
        verdict(mean < TARGET),
        p99.as_secs_f64() * 1e3,
        verdict(p99 < TARGET)
    );
}
