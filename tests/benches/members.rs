//! `cargo bench --bench members`: the membership wizards' speed targets, on real etcd with the
//! sandbox provisioner.
//!
//! 1. Add (`etcdeck member add --ip IP --yes`): from the confirmation to the member promoted,
//!    split into etcd's own part (the member's start until it joins, and its catch-up) and
//!    etcdeck's overhead (every other step up to the promote: snapshot, gates, inventory edit,
//!    certificate, config, the add call, the promote call). Target: overhead at most 2 s; the
//!    promote within one refresh of the catch-up (200 ms) of the learner being in sync.
//! 2. Remove (`etcdeck member remove NAME --yes`) of a follower and of the leader: from the
//!    confirmation to the final health gate, less the leader move. Target: at most 3 s.
//!
//! `ETCDECK_BENCH_RUNS` sets the rounds of add and remove (default 3). The cluster rests 6 s
//! before the first add: etcd 3.4 refuses a member change until every member has been connected
//! for 5 s, which a freshly started sandbox has not.

#[path = "../common/mod.rs"]
mod common;

use std::time::Duration;

use common::{stderr, stdout, TestCluster};
use serde_json::Value;

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

fn run(tc: &TestCluster, args: &[&str]) -> Value {
    let inv = tc.inventory_file().display().to_string();
    let mut all = vec!["-i", inv.as_str()];
    all.extend_from_slice(args);
    all.push("--json");
    let o = tc.etcdeck(&all);
    assert!(
        o.status.success(),
        "etcdeck {all:?}:\n{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    serde_json::from_str(stdout(&o).trim()).expect("JSON")
}

/// Milliseconds of each step, by key.
fn took(v: &Value) -> Vec<(String, u64)> {
    v["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| Some((o["key"].as_str()?.to_string(), o["took_ms"].as_u64()?)))
        .collect()
}

fn sum(t: &[(String, u64)], keys: &[&str]) -> u64 {
    t.iter()
        .filter(|(k, _)| keys.contains(&k.as_str()))
        .map(|(_, ms)| ms)
        .sum()
}

fn main() {
    let rounds: usize = std::env::var("ETCDECK_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tc = rt.block_on(TestCluster::start_spare(3, 1));
    println!(
        "membership wizards on {}, sandbox provisioner, {rounds} round(s)",
        common::etcd_label(tc.sandbox.auth())
    );
    std::thread::sleep(Duration::from_secs(6));
    let ip = tc.spare_ip(4);
    let (mut worst_overhead, mut worst_promote, mut worst_remove) = (0u64, 0u64, 0u64);
    for round in 0..rounds {
        let v = run(&tc, &["member", "add", "--ip", &ip, "--yes"]);
        let t = took(&v);
        let until_promoted: Vec<&str> = t
            .iter()
            .map(|(k, _)| k.as_str())
            .take_while(|k| *k != "references")
            .collect();
        let total = sum(&t, &until_promoted);
        let etcd = sum(&t, &["start", "catchup"]);
        let gates = sum(&t, &["gate:start"]);
        let promote = sum(&t, &["promote"]);
        let overhead = total - etcd;
        worst_overhead = worst_overhead.max(overhead);
        worst_promote = worst_promote.max(promote);
        let name = v["plan"]["confirm"].as_str().unwrap().to_string();
        println!(
            "  add {name} (round {}): {:.2} s to promoted = etcd {:.2} s (start {} ms, \
             catch-up {} ms) + etcdeck {:.2} s (snapshot {} ms, gate {} ms, add call {} ms, \
             promote {} ms, inventory {} ms, files {} ms); the whole run {:.2} s",
            round + 1,
            total as f64 / 1000.0,
            etcd as f64 / 1000.0,
            sum(&t, &["start"]),
            sum(&t, &["catchup"]),
            overhead as f64 / 1000.0,
            sum(&t, &["snapshot"]),
            gates,
            sum(&t, &["add"]),
            promote,
            sum(&t, &["inventory"]),
            sum(&t, &["cert", "config"]),
            v["took_ms"].as_u64().unwrap_or(0) as f64 / 1000.0,
        );
        let v = run(&tc, &["member", "remove", &name, "--yes"]);
        let t = took(&v);
        let all: u64 = t.iter().map(|(_, ms)| ms).sum();
        let moved = sum(&t, &["move-leader", "verify-leader"]);
        worst_remove = worst_remove.max(all - moved);
        println!(
            "  remove {name}: {:.2} s to verified ({} ms of it moving leadership)",
            all as f64 / 1000.0,
            moved
        );
    }
    // The leader, moved away first.
    let leader = rt.block_on(tc.leader_name());
    let v = run(&tc, &["member", "remove", &leader, "--yes"]);
    let t = took(&v);
    let all: u64 = t.iter().map(|(_, ms)| ms).sum();
    let moved = sum(&t, &["move-leader", "verify-leader"]);
    worst_remove = worst_remove.max(all - moved);
    println!(
        "  remove the leader {leader}: {:.2} s to verified, {} ms of it moving leadership",
        all as f64 / 1000.0,
        moved
    );
    println!(
        "add: etcdeck's overhead worst {:.2} s (target at most 2 s): {}",
        worst_overhead as f64 / 1000.0,
        verdict(worst_overhead <= 2000)
    );
    println!(
        "add: the promote worst {} ms after the catch-up saw the learner in sync (target: within \
         one 200 ms refresh): {}",
        worst_promote,
        verdict(worst_promote <= 200)
    );
    println!(
        "remove: worst {:.2} s beyond the leader move (target at most 3 s): {}",
        worst_remove as f64 / 1000.0,
        verdict(worst_remove <= 3000)
    );
}
