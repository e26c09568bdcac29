//! `cargo bench --bench wizards`: the maintenance wizards' speed targets, on real etcd.
//!
//! 1. Defragmentation of 3 members holding at least 100 MiB of free pages each: the wizard's
//!    total wall time against the sum of `etcdctl defrag --endpoints=<member>` run one member at a
//!    time on the same data (target: at most 1.2x, plus the settle pauses), and each member's
//!    defragmentation inside the wizard against etcdctl's for that member (target: at most 1.1x).
//! 2. NOSPACE recovery on a 16 MiB-quota cluster filled with history, from start to a successful
//!    write: `etcdeck alarm recover` against the same steps done with etcdctl (compact, defrag
//!    each member, disarm, put).
//! 3. Planning: every planner over a 5-member cluster model (the console shows the plan from its
//!    store, with no call to etcd; target: far under 100 ms).
//!
//! `ETCDECK_BENCH_RUNS` sets the rounds of (1) (default 2; each round writes about 400 MiB).

#[path = "../common/mod.rs"]
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{clear_etcd_env, TestCluster};
use etcdeck::etcd::status;

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

fn etcdctl(tc: &TestCluster, args: &[&str]) -> Duration {
    let mut cmd = Command::new("etcdctl");
    clear_etcd_env(&mut cmd);
    // etcdctl 3.4 refuses --endpoints beside ETCDCTL_ENDPOINTS.
    for (k, v) in tc.sandbox.etcdctl_env().vars() {
        if k != "ETCDCTL_ENDPOINTS" {
            cmd.env(k, v);
        }
    }
    let t = Instant::now();
    let out = cmd.args(args).output().expect("etcdctl runs");
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "etcdctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn free_mib(s: &status::ClusterStatus) -> Vec<(String, f64)> {
    s.members
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                (m.db_size - m.db_size_in_use) as f64 / (1 << 20) as f64,
            )
        })
        .collect()
}

fn main() {
    let rounds: usize = std::env::var("ETCDECK_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("sandbox: {}", common::etcd_label(common::auth_on()));

    // 1. Defragmentation.
    let tc = rt.block_on(TestCluster::start(3));
    let cluster = tc.cluster(Duration::from_secs(5));
    let settle = Duration::from_secs(1);
    let mut by_hand_total = Vec::new();
    // The same steps as by hand (leader last, in place), and the default (leadership moved away
    // first).
    let mut same_total = Vec::new();
    let mut moved_total = Vec::new();
    let mut per_member: Vec<(String, f64, f64)> = Vec::new();
    let audit_lines = |tc: &TestCluster| {
        std::fs::read_to_string(tc.state_home().join("etcdeck/audit.log"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    for round in 0..rounds {
        // By hand: one member at a time, followers first, the leader last.
        rt.block_on(tc.fragment(110, 1 << 20, 100 << 20));
        let s = rt.block_on(status::gather(&cluster)).unwrap();
        println!(
            "round {}: free pages before etcdctl, MiB: {:?}",
            round + 1,
            free_mib(&s)
        );
        let mut members: Vec<_> = s.members.iter().collect();
        members.sort_by_key(|m| Some(m.id) == s.leader);
        let mut hand = std::collections::BTreeMap::new();
        let t = Instant::now();
        for m in &members {
            let url = m.client_urls[0].clone();
            let d = etcdctl(
                &tc,
                &["--endpoints", &url, "--command-timeout=300s", "defrag"],
            );
            hand.insert(m.name.clone(), d);
        }
        by_hand_total.push(t.elapsed());

        // The wizard on the same data, both ways.
        for keep_leader in [true, false] {
            rt.block_on(tc.fragment(110, 1 << 20, 100 << 20));
            let from = audit_lines(&tc);
            let mut args = vec![
                "defrag",
                "--all",
                "--yes",
                "--no-snapshot",
                "--settle",
                "1s",
                "--fresh",
            ];
            if keep_leader {
                args.push("--keep-leader");
            }
            let t = Instant::now();
            let out = tc.etcdeck_command(&args).output().unwrap();
            let took = t.elapsed();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
            if keep_leader {
                same_total.push(took);
            } else {
                moved_total.push(took);
            }
            let log = std::fs::read_to_string(tc.state_home().join("etcdeck/audit.log")).unwrap();
            for line in log.lines().skip(from) {
                let e: serde_json::Value = serde_json::from_str(line).unwrap();
                let step = e["step"].as_str().unwrap_or("");
                if e["phase"] == "end" && step.starts_with("defragment ") {
                    let name = step.split_whitespace().nth(1).unwrap().to_string();
                    let w = e["duration_ms"].as_f64().unwrap() / 1000.0;
                    per_member.push((name.clone(), w, secs(hand[&name])));
                }
            }
        }
    }
    let mean = |v: &[Duration]| v.iter().map(|d| secs(*d)).sum::<f64>() / v.len() as f64;
    let (hand, same, moved) = (mean(&by_hand_total), mean(&same_total), mean(&moved_total));
    let pauses = 2.0 * secs(settle);
    println!(
        "defrag of 3 members (~110 MiB free each), mean of {rounds} round(s): etcdctl one by one \
         {hand:.2} s"
    );
    println!(
        "  wizard, same steps (--keep-leader): {same:.2} s = {:.2} s + {pauses:.0} s of settle \
         pauses: {:.2}x  target <= 1.2x + pauses: {}",
        same - pauses,
        (same - pauses) / hand,
        verdict(same <= 1.2 * hand + pauses)
    );
    println!(
        "  wizard, default (leadership moved to a defragmented follower first, then verified): \
         {moved:.2} s = {:.2} s + pauses: {:.2}x  target <= 1.2x + pauses: {}",
        moved - pauses,
        (moved - pauses) / hand,
        verdict(moved <= 1.2 * hand + pauses)
    );
    let mut worst: f64 = 0.0;
    for (name, w, h) in &per_member {
        worst = worst.max(w / h);
        println!(
            "  {name}: in the wizard {w:.3} s, etcdctl {h:.3} s ({:.2}x)",
            w / h
        );
    }
    println!(
        "per-member defrag, worst ratio {worst:.2}x  target <= 1.1x: {}",
        verdict(worst <= 1.1)
    );
    drop(tc);

    // 2. NOSPACE recovery, both ways, each on a freshly filled cluster.
    let fill = |tc: &TestCluster| {
        rt.block_on(async {
            let cluster = tc.cluster(Duration::from_secs(5));
            let mut c = cluster.balanced(&tc.sandbox.client_urls()).await.unwrap();
            let v = vec![b'h'; 512 << 10];
            for _ in 0..200 {
                if c.put("/bench/history", v.clone(), None).await.is_err() {
                    return;
                }
            }
            panic!("never reached the quota");
        })
    };
    let tc = rt.block_on(TestCluster::start_quota(3, 16 << 20));
    fill(&tc);
    let t = Instant::now();
    let out = tc
        .etcdeck_command(&[
            "alarm",
            "recover",
            "--yes",
            "--no-snapshot",
            "--settle",
            "1ms",
        ])
        .output()
        .unwrap();
    let ours_min = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    fill(&tc);
    let t = Instant::now();
    let out = tc
        .etcdeck_command(&["alarm", "recover", "--yes"])
        .output()
        .unwrap();
    let ours_default = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    fill(&tc);
    let s = rt
        .block_on(status::gather(&tc.cluster(Duration::from_secs(5))))
        .unwrap();
    assert!(s.revision() > 0, "no member answered");
    let rev = s.revision().to_string();
    let all = tc.sandbox.client_urls().join(",");
    let t = Instant::now();
    etcdctl(&tc, &["--endpoints", &all, "compact", &rev, "--physical"]);
    for url in tc.sandbox.client_urls() {
        etcdctl(&tc, &["--endpoints", &url, "defrag"]);
    }
    etcdctl(&tc, &["--endpoints", &all, "alarm", "disarm"]);
    etcdctl(&tc, &["--endpoints", &all, "put", "/bench/after", "ok"]);
    let by_hand = t.elapsed();
    println!(
        "NOSPACE recovery (16 MiB quota, filled with history) to a successful write: etcdctl \
         steps {:.2} s; etcdeck alarm recover --no-snapshot --settle 1ms {:.2} s ({:.2}x); with \
         its defaults (snapshot, 2 s settle pauses) {:.2} s",
        secs(by_hand),
        secs(ours_min),
        secs(ours_min) / secs(by_hand),
        secs(ours_default)
    );
    drop(tc);

    // 3. Planning from a cluster model, no network.
    let mut s = rt.block_on(async {
        let tc = TestCluster::start(3).await;
        let s = status::gather(&tc.cluster(Duration::from_secs(5)))
            .await
            .unwrap();
        drop(tc);
        s
    });
    let template = s.members[1].clone();
    for i in 4..=5u64 {
        let mut m = template.clone();
        m.id = i;
        m.name = format!("etcd-{i}");
        s.members.push(m);
    }
    let common =
        etcdeck::wizard::Common::with_snapshot_dir(std::path::Path::new("/tmp"), 1, "etcd");
    let n = 1000;
    let t = Instant::now();
    for _ in 0..n {
        let o = etcdeck::wizard::defrag::Options {
            members: vec![],
            all: true,
            move_leader: true,
            settle,
            threshold_percent: 0,
            common: common.clone(),
        };
        let _ = etcdeck::wizard::defrag::plan(&s, &o);
        let name = s.members[1].name.clone();
        let _ = etcdeck::wizard::move_leader::plan(&s, &name);
        let facts = etcdeck::wizard::compact::Facts {
            current: 100,
            ..Default::default()
        };
        let _ = etcdeck::wizard::compact::plan(
            &s,
            &facts,
            etcdeck::wizard::compact::Target::Revision(50),
            &common,
        );
    }
    let each = t.elapsed() / n;
    println!(
        "planning defrag + move-leader + compaction over 5 members: {:.1} us  target < 100 ms: {}",
        each.as_secs_f64() * 1e6,
        verdict(each < Duration::from_millis(100))
    );
}
