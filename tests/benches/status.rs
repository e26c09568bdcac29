//! `cargo bench --bench status`: the speed targets of the foundation, measured on real etcd.
//!
//! 1. Sandbox start to a healthy 3-member TLS cluster (target: under 5 s).
//! 2. `etcdeck status` against `etcdctl member list` + `etcdctl endpoint status --cluster` +
//!    `etcdctl alarm list` run one after the other (target: median at most 0.5x).
//!
//! `ETCDECK_BENCH_RUNS` sets the number of timed runs (default 31).

#[path = "../common/mod.rs"]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{clear_etcd_env, fresh_inventory};
use etcdeck::inventory;
use etcdeck::sandbox::Sandbox;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn run(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd.output().expect("command runs");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn main() {
    let runs: usize = std::env::var("ETCDECK_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(31);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // Fresh inventories have auth on with ETCDECK_TEST_AUTH=1, as in the tests.
    println!("sandbox: {}", common::etcd_label(common::auth_on()));

    // 1. Start to healthy, three fresh clusters.
    let mut starts = Vec::new();
    let mut kept = None;
    for _ in 0..3 {
        let dir = tempfile::TempDir::new().unwrap();
        let inv = inventory::parse(&fresh_inventory(3), "bench.yml", &[]).unwrap();
        // Certificates are issued in prepare; time from prepare to healthy, as a user waits.
        let start = Instant::now();
        let mut sb = Sandbox::prepare(&inv, dir.path()).unwrap();
        sb.start().unwrap();
        rt.block_on(sb.wait_healthy(Duration::from_secs(20)))
            .unwrap();
        starts.push(start.elapsed());
        kept = Some((sb, dir));
    }
    let start_median = median(starts.clone());
    println!(
        "sandbox start to healthy (3 members, TLS): median {:.0} ms, runs {:?} ms  target < 5000 ms: {}",
        ms(start_median),
        starts.iter().map(|d| ms(*d).round()).collect::<Vec<_>>(),
        if start_median < Duration::from_secs(5) { "PASS" } else { "FAIL" }
    );

    // 2. status vs the three etcdctl calls, interleaved so drift hits both alike.
    let (sb, _dir) = kept.expect("a cluster");
    let env = sb.etcdctl_env().vars();
    let cmd = |prog: &str, args: &[&str]| {
        let mut c = Command::new(prog);
        clear_etcd_env(&mut c);
        for (k, v) in &env {
            c.env(k, v);
        }
        c.args(args);
        c
    };
    let etcdeck = env!("CARGO_BIN_EXE_etcdeck");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for i in 0..runs + 3 {
        let a = run(&mut cmd(etcdeck, &["status"]));
        let b = run(&mut cmd("etcdctl", &["member", "list"]))
            + run(&mut cmd("etcdctl", &["endpoint", "status", "--cluster"]))
            + run(&mut cmd("etcdctl", &["alarm", "list"]));
        if i >= 3 {
            ours.push(a);
            theirs.push(b);
        }
    }
    let (a, b) = (median(ours), median(theirs));
    let ratio = a.as_secs_f64() / b.as_secs_f64();
    println!(
        "etcdeck status: median {:.1} ms; etcdctl member list + endpoint status --cluster + alarm list: median {:.1} ms; ratio {ratio:.2}x  target <= 0.50x: {}",
        ms(a),
        ms(b),
        if ratio <= 0.5 { "PASS" } else { "FAIL" }
    );
}
