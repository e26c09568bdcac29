//! `cargo bench --bench patroni`: Patroni events and rows for 500 Patroni clusters.
//!
//! 1. A day of rows: 86,400 seconds of 5 members and 500 Patroni clusters recorded into a
//!    `Timeline` (each cluster without its leader key for 20 s twice a day): `memory_bytes()`
//!    and this process's VmRSS growth (target < 50 MB).
//! 2. Frames of the Timeline pane with that day, 200x60, zoom 1 and 60 s, the 500 clusters as
//!    one row and as a row each, 1000 frames each (target p99 < 2 ms).
//! 3. Events from the watch (last, so no etcd member shares the cores with the frames): a real
//!    3-member TLS sandbox holding 500 Patroni clusters (two members each, the keys of the
//!    demo's `pg-meta`), the console's key feed (read and watch)
//!    applied as the console applies it, and a writer at 100 puts/s: nine in ten move a member's
//!    WAL position (no event), one in ten stops or starts a replica (an event). For each event:
//!    the time from the put sent to the event in the store (end to end, etcd's commit and the
//!    watch included; target p99 < 50 ms), and the time the store took to apply each watch
//!    message (the derivation itself). Every change must be told once, nothing else told.
//!
//! `ETCDECK_BENCH_SECS=N` sets how long the writer runs (default 30), `ETCDECK_BENCH_RUNS=N`
//! the frames per case (default 1000).

#[path = "../common/mod.rs"]
mod common;

#[allow(unused_imports)]
use common::stats::*;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::frames::{buffer_text, frame};
use common::TestCluster;
use etcdeck::app::config::Config;
use etcdeck::app::msg::Msg;
use etcdeck::app::store::{InventoryState, PaneId, Store, Target};
use etcdeck::app::timeline::{Cell, Tag, Timeline, RETENTION};
use etcdeck::console::Engine;
use etcdeck::demo::{PgCluster, PgMember};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use tokio::sync::mpsc;

const CLUSTERS: usize = 500;
const PUTS_PER_SEC: u64 = 100;
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

fn pg(i: usize) -> PgCluster {
    let scope = format!("pg-{i:03}");
    let member = |seq: u32, primary: bool| PgMember {
        name: format!("{scope}-{seq}"),
        ip: format!("10.{}.{}.{seq}", i / 250, i % 250),
        primary,
        lease: 0,
        lag: 0,
    };
    PgCluster {
        scope: scope.clone(),
        members: vec![member(1, true), member(2, false)],
        synchronous: false,
        timeline: 1,
        optime: 50_000_000,
        system_id: 7_700_000_000_000_000_000 + i as u64,
    }
}

fn line(name: &str, v: &[f64], target: Option<f64>) {
    let p99 = quantile(v, 0.99);
    println!(
        "{name:<52} n={:<6} p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms  {}",
        v.len(),
        quantile(v, 0.5),
        p99,
        max(v),
        target.map_or("", |t| verdict(p99 < t))
    );
}

/// 3. The live part: the sandbox, the key feed, the writer.
async fn events(secs: u64) {
    let tc = TestCluster::start(3).await;
    println!("sandbox: {}", common::etcd_label(tc.sandbox.auth()));
    let cluster = tc.cluster(CALL_TIMEOUT);
    let mut client = cluster
        .balanced(&tc.sandbox.client_urls())
        .await
        .expect("a client for writes");
    let mut clusters: Vec<PgCluster> = (0..CLUSTERS).map(pg).collect();
    let t = Instant::now();
    let mut keys = 0;
    for c in &clusters {
        let base = format!("/pg/{}", c.scope);
        let mut puts: Vec<(String, String)> = c.static_keys();
        for m in &c.members {
            puts.push((format!("members/{}", m.name), c.member_value(m)));
        }
        puts.push(("leader".into(), c.members[0].name.clone()));
        let ops: Vec<etcd_client::TxnOp> = puts
            .iter()
            .map(|(k, v)| etcd_client::TxnOp::put(format!("{base}/{k}"), v.as_str(), None))
            .collect();
        keys += ops.len();
        client
            .txn(etcd_client::Txn::new().and_then(ops))
            .await
            .expect("seed");
    }
    println!(
        "seeded {CLUSTERS} Patroni clusters ({keys} keys) in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let config = Config::default();
    let target = Target {
        endpoints: cluster.settings().endpoints.clone(),
        origin: "bench".into(),
    };
    let store = Store::new(config, target, InventoryState::default(), Instant::now());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut engine = Engine::new(store, cluster.clone(), tx, None);
    engine.start_key_feed();
    let loaded = Instant::now();
    while engine.store.keys.loaded.is_none() || engine.store.patroni.len() < CLUSTERS {
        let m = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("the key feed answers")
            .expect("the key feed runs");
        engine.apply(m);
    }
    println!(
        "the console read {} keys, {} Patroni clusters, in {:.2} s",
        engine.store.keys.map.len(),
        engine.store.patroni.len(),
        loaded.elapsed().as_secs_f64()
    );

    // The writer: every 10 ms a put; every 10th stops or starts pg-NNN-2 (NNN in turn).
    let (sent_tx, mut sent_rx) = mpsc::unbounded_channel::<(String, Instant)>();
    let writer = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(1000 / PUTS_PER_SEC));
        let total = secs * PUTS_PER_SEC;
        let mut flips = 0usize;
        for n in 0..total {
            every.tick().await;
            let (key, value, want) = if n % 10 == 9 {
                let c = &mut clusters[flips % CLUSTERS];
                flips += 1;
                let stopped = flips.div_ceil(CLUSTERS) % 2 == 1;
                let mut v: serde_json::Value =
                    serde_json::from_str(&c.member_value(&c.members[1])).unwrap();
                v["state"] = if stopped { "stopped" } else { "running" }.into();
                let want = if stopped {
                    format!("{}: {}-2 is stopped (was running)", c.scope, c.scope)
                } else {
                    format!("{}: {}-2 is running again (was stopped)", c.scope, c.scope)
                };
                let key = format!("/pg/{}/members/{}", c.scope, c.members[1].name);
                (key, v.to_string(), Some(want))
            } else {
                let c = &mut clusters[(n as usize * 7) % CLUSTERS];
                c.optime += 16_384;
                let key = format!("/pg/{}/members/{}", c.scope, c.members[0].name);
                (key, c.member_value(&c.members[0]), None)
            };
            // Said before the put, so the event cannot come back before it is awaited.
            if let Some(want) = want {
                let _ = sent_tx.send((want, Instant::now()));
            }
            client
                .put(key, value, None)
                .await
                .expect("put during the run");
        }
        total
    });

    let mut waiting: HashMap<String, Instant> = HashMap::new();
    let mut latencies = Vec::new();
    let mut apply_ms = Vec::new();
    let mut seen = engine.store.timeline.events.len();
    let mut others = Vec::new();
    let mut expected = 0usize;
    let end = Instant::now() + Duration::from_secs(secs + 10);
    loop {
        while let Ok((want, at)) = sent_rx.try_recv() {
            waiting.insert(want, at);
            expected += 1;
        }
        if writer.is_finished() && waiting.is_empty() && sent_rx.is_empty() {
            break;
        }
        if Instant::now() > end {
            break;
        }
        let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(50), rx.recv()).await else {
            continue;
        };
        let is_keys = matches!(m, Msg::KeyEvents { .. });
        let t = Instant::now();
        engine.apply(m);
        if is_keys {
            apply_ms.push(ms(t.elapsed()));
        }
        let now = Instant::now();
        while let Ok((want, at)) = sent_rx.try_recv() {
            waiting.insert(want, at);
            expected += 1;
        }
        let events = &engine.store.timeline.events;
        for e in events.iter().skip(seen) {
            match waiting.remove(&e.text) {
                Some(sent) => latencies.push(ms(now.saturating_duration_since(sent))),
                None if e.tag.source() == "pg" => others.push(e.text.clone()),
                None => {}
            }
        }
        seen = events.len();
    }
    let puts = writer.await.expect("the writer");
    println!(
        "{puts} puts in {secs} s ({PUTS_PER_SEC}/s), {expected} of them changes to tell; told {}, missing {}, told without a change {}",
        latencies.len(),
        waiting.len(),
        others.len()
    );
    assert!(waiting.is_empty(), "changes never told: {waiting:?}");
    assert!(others.is_empty(), "told without a change: {others:?}");
    line(
        "put sent -> Patroni event in the store",
        &latencies,
        Some(50.0),
    );
    line(
        "store: apply one watch message (derivation)",
        &apply_ms,
        None,
    );
}

/// 1. A day of rows.
fn a_day(end: u64) -> Timeline {
    let day = RETENTION.as_secs();
    let first = end + 1 - day;
    let members: Vec<(u64, String, Cell)> = (1..=5)
        .map(|i| (i, format!("etcd-{i}"), Cell::Up))
        .collect();
    let mut pg: Vec<(String, Cell)> = (0..CLUSTERS)
        .map(|i| (format!("pg-{i:03}"), Cell::LeaderKey))
        .collect();
    let mut t = Timeline::new();
    for sec in first..=end {
        let s = sec - first;
        for (i, (_, c)) in pg.iter_mut().enumerate() {
            // Each cluster twice a day without its leader key for 20 s, at its own time.
            let at = (i as u64 * 97) % (day / 2);
            *c = if (s % (day / 2)).wrapping_sub(at) < 20 {
                Cell::NoLeaderKey
            } else {
                Cell::LeaderKey
            };
        }
        t.record(sec, Cell::Available, &members);
        t.record_pg(sec, &pg);
        if s.is_multiple_of(3600) {
            t.event_tagged(
                sec,
                etcdeck::app::msg::Level::Warn,
                Tag::PgFailover,
                format!("pg-{:03}: failover pg-a -> pg-b (nobody asked)", s / 3600),
            );
        }
    }
    t
}

fn main() {
    let secs = env_num("ETCDECK_BENCH_SECS", 30).max(1);
    let frames = env_num("ETCDECK_BENCH_RUNS", 1000).max(1) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    println!("1. 24 h of rows for 5 members and {CLUSTERS} Patroni clusters");
    let mut store = Store::new(
        Config::default(),
        Target::default(),
        InventoryState::default(),
        Instant::now(),
    );
    let end = store.unix_secs(store.now);
    let rss_before = vm_rss_mib();
    let t = Instant::now();
    let day = a_day(end);
    let took = t.elapsed();
    let rss_after = vm_rss_mib();
    assert_eq!(day.pg.len(), CLUSTERS);
    let held = day.memory_bytes() as f64 / (1 << 20) as f64;
    println!(
        "recorded in {:.1} s; memory_bytes {held:.1} MiB, VmRSS growth {:.1} MiB  {}",
        took.as_secs_f64(),
        rss_after - rss_before,
        verdict(held < 50.0 && rss_after - rss_before < 50.0)
    );

    println!("\n2. Timeline frames at 200x60, {frames} each");
    store.timeline = day;
    store.ui.focus = PaneId::Timeline;
    store.ui.size = (200, 60);
    for (expanded, zoom) in [(false, 1), (false, 60), (true, 1), (true, 60)] {
        store.timeline.zoom = zoom;
        store.ui.pg_rows = Some(expanded);
        let mut buf = Buffer::empty(Rect::new(0, 0, 200, 60));
        for _ in 0..20 {
            frame(&store, &mut buf);
        }
        let shown = buffer_text(&buf);
        let want = if expanded { "pg-000" } else { "500 pg" };
        assert!(shown.contains(want), "{want} on screen:\n{shown}");
        let v: Vec<f64> = (0..frames).map(|_| frame(&store, &mut buf)).collect();
        let rows = if expanded { "a row each" } else { "one row" };
        line(
            &format!("frame 200x60, zoom {zoom:>2} s, {CLUSTERS} clusters {rows}"),
            &v,
            Some(2.0),
        );
    }

    // Last, so that no etcd member (nor its shutdown) shares the cores with the frames.
    println!(
        "\n3. Patroni events from the watch, {CLUSTERS} clusters, {PUTS_PER_SEC} puts/s for {secs} s"
    );
    rt.block_on(events(secs));
}
