//! `cargo bench --bench keys`: the key browser with 100,000 keys, against a real 3-member TLS
//! sandbox. The real feed task (`feed_prefix`) sends into a channel and its messages are folded
//! into a `Store` with `update` and `settle`, as the console's loop does.
//!
//! - Writing 10,000 Patroni-shaped clusters of 10 keys (~300-byte JSON values) and one 1 MiB value,
//!   in 128-op transactions from 4 clients at once (how long it took; no target).
//! - Initial load: from spawning the feed to the complete snapshot applied and the rows built
//!   (target: < 2 s).
//! - Resident memory of this process after the load, and its growth over the load (target: growth
//!   < 200 MB).
//! - Scrolling: `j`, settle and a full frame at 200x60 and 80x24, 1000 times, all clusters
//!   collapsed, then with a few expanded (target: p99 < 4 ms).
//! - Filter: `/` and `pg-bench-0420` typed one key at a time, each update + settle + frame at
//!   200x60 (target: p99 and max < 30 ms).
//! - Watch latency: 100 puts/s for 20 s updating member keys under `/pg`, the send time (Unix µs)
//!   in each value; per event, applied into the store minus sent (target: p99 < 100 ms).
//!
//! - The command line against etcdctl on the same sandbox, interleaved, median of
//!   `ETCDECK_BENCH_CLI_ROUNDS` (default 5) runs each, stdout to /dev/null: `etcdeck keys /pg
//!   --json` against `etcdctl get /pg --prefix -w json`, and `etcdeck keys /pg` against `etcdctl
//!   get /pg --prefix`; wall time and peak memory (VmHWM of the child, polled) (targets:
//!   wall at most 1.0x etcdctl's for both, peak memory at most 0.6x etcdctl's for JSON).
//!
//! `ETCDECK_BENCH_WATCH_SECS` sets the length of the watch window (default 20).

#[path = "../common/mod.rs"]
mod common;

#[allow(unused_imports)]
use common::stats::*;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{clear_etcd_env, fresh_inventory};
use etcd_client::{Client, Txn, TxnOp};
use etcdeck::app::config::Config;
use etcdeck::app::keys::{Feed, Keys};
use etcdeck::app::msg::{MemberList, Msg};
use etcdeck::app::store::{InventoryState, PaneId, Store, Target};
use etcdeck::app::update::{settle, update};
use etcdeck::etcd::watch::feed_prefix;
use etcdeck::etcd::Cluster;
use etcdeck::inventory;
use etcdeck::sandbox::Sandbox;
use etcdeck::ui::Screen;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::widgets::Widget;
use tokio::sync::mpsc;

const CLUSTERS: usize = 10_000;
/// etcd's default limit of operations in one transaction.
const TXN_OPS: usize = 128;
const WRITERS: usize = 4;
const VALUE_BYTES: usize = 300;
const BLOB_KEY: &str = "/pg/pg-bench-00000/blob";
const BLOB_BYTES: usize = 1 << 20;
const WATCH_RATE: u64 = 100;

fn unix_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// `text` padded with a `pad` field to about `VALUE_BYTES` (a JSON object without its `}`).
fn padded(mut text: String) -> String {
    let room = VALUE_BYTES.saturating_sub(text.len() + 11);
    text.push_str(&format!(r#","pad":"{}"}}"#, "x".repeat(room)));
    text
}

/// The 10 keys of cluster `n`, as Patroni lays them out, with ~300-byte JSON values (the leader
/// key holds the leader's name, as Patroni's does).
fn cluster_keys(n: usize) -> Vec<(String, String)> {
    let scope = format!("pg-bench-{n:05}");
    let base = format!("/pg/{scope}");
    let ip = |m: usize| format!("10.{}.{}.{m}", n / 256 % 256, n % 256);
    let optime = 50_000_000 + n as u64 * 4096;
    let mut keys = vec![
        (format!("{base}/leader"), format!("{scope}-1")),
        (
            format!("{base}/config"),
            padded(
                r#"{"ttl":30,"loop_wait":10,"retry_timeout":10,"maximum_lag_on_failover":1048576,"failsafe_mode":true,"postgresql":{"use_slots":true,"parameters":{"wal_level":"replica","hot_standby":"on"}},"synchronous_mode":false"#
                    .to_string(),
            ),
        ),
        (
            format!("{base}/status"),
            padded(format!(
                r#"{{"optime":{optime},"slots":{{"{s}_2":{optime},"{s}_3":{optime}}},"retain_slots":["{s}_1","{s}_2","{s}_3"]"#,
                s = scope.replace('-', "_")
            )),
        ),
        (
            format!("{base}/initialize"),
            padded(format!(
                r#"{{"system_id":"{}""#,
                7_711_808_436_617_572_412u64 + n as u64
            )),
        ),
        (
            format!("{base}/history"),
            padded(format!(
                r#"{{"history":[[1,{},"no recovery target specified","2026-11-24T18:37:00.328705+00:00","{scope}-2"]]"#,
                optime - 552
            )),
        ),
        (
            format!("{base}/sync"),
            padded(format!(
                r#"{{"leader":"{scope}-1","quorum":0,"sync_standby":"{scope}-2""#
            )),
        ),
        (
            format!("{base}/failsafe"),
            padded(format!(
                r#"{{"{scope}-1":"http://{}:8008/patroni","{scope}-2":"http://{}:8008/patroni","{scope}-3":"http://{}:8008/patroni""#,
                ip(1),
                ip(2),
                ip(3)
            )),
        ),
    ];
    for m in 1..=3 {
        keys.push((format!("{base}/members/{scope}-{m}"), member_value(n, m, 0)));
    }
    keys
}

/// A member key's value; `sent_us` is the send time of a watch-latency write (0 otherwise).
fn member_value(n: usize, m: usize, sent_us: i64) -> String {
    let ip = format!("10.{}.{}.{m}", n / 256 % 256, n % 256);
    let role = if m == 1 { "primary" } else { "replica" };
    padded(format!(
        r#"{{"conn_url":"postgres://{ip}:5432/postgres","api_url":"http://{ip}:8008/patroni","state":"running","role":"{role}","version":"4.1.5","xlog_location":{},"timeline":1,"sent_us":{sent_us}"#,
        50_000_000 + n as u64 * 4096
    ))
}

/// The `sent_us` of a member value written by the watch-latency writer.
fn sent_us(value: &[u8]) -> Option<i64> {
    let v: serde_json::Value = serde_json::from_slice(value).ok()?;
    v["sent_us"].as_i64().filter(|t| *t > 0)
}

/// Write every cluster's keys in 128-op transactions from `WRITERS` clients at once, and the
/// 1 MiB value. The number of keys and value bytes written.
async fn load_keys(cluster: &Cluster, urls: &[String]) -> (usize, usize) {
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let mut client: Client = cluster.balanced(urls).await.expect("a writer");
        tasks.push(tokio::spawn(async move {
            let mut ops = Vec::new();
            let (mut keys, mut bytes) = (0, 0);
            let clusters: Vec<usize> = (w..CLUSTERS).step_by(WRITERS).collect();
            let mut all = clusters.into_iter().flat_map(cluster_keys).peekable();
            while let Some((k, v)) = all.next() {
                keys += 1;
                bytes += v.len();
                ops.push(TxnOp::put(k, v, None));
                if ops.len() == TXN_OPS || all.peek().is_none() {
                    client
                        .txn(Txn::new().and_then(std::mem::take(&mut ops)))
                        .await
                        .expect("a 128-op txn");
                }
            }
            (keys, bytes)
        }));
    }
    let (mut keys, mut bytes) = (0, 0);
    for t in tasks {
        let (k, b) = t.await.expect("a writer task");
        keys += k;
        bytes += b;
    }
    let mut client = cluster.balanced(urls).await.expect("a writer");
    client
        .put(BLOB_KEY, vec![b'b'; BLOB_BYTES], None)
        .await
        .expect("the 1 MiB put");
    (keys + 1, bytes + BLOB_BYTES)
}

/// One run of a command line: wall time and peak resident memory.
#[derive(Clone, Copy)]
struct Run {
    wall: Duration,
    max_rss_mib: f64,
}

/// `program ARGS` with the sandbox's etcdctl environment, stdout to /dev/null; its wall time and
/// peak memory: VmHWM of /proc/<pid>/status, polled every 2 ms. (Not ru_maxrss: a child started
/// by vfork counts the high-water mark of this process's memory until it execs.) Readings from
/// before the exec (the name is still ours) are skipped.
fn run_cli(sb: &Sandbox, program: &str, args: &[&str]) -> Run {
    let mut cmd = Command::new(program);
    clear_etcd_env(&mut cmd);
    for (k, v) in sb.etcdctl_env().vars() {
        cmd.env(k, v);
    }
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let name: String = program
        .rsplit('/')
        .next()
        .unwrap_or(program)
        .chars()
        .take(15)
        .collect();
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    let status_file = format!("/proc/{}/status", child.id());
    let mut hwm_kib = 0u64;
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_file) {
            let field = |f: &str| {
                s.lines()
                    .find_map(|l| l.strip_prefix(f))
                    .map(|v| v.trim().to_string())
            };
            if field("Name:").as_deref() == Some(name.as_str()) {
                let kib = field("VmHWM:")
                    .and_then(|v| v.split_whitespace().next()?.parse().ok())
                    .unwrap_or(0);
                hwm_kib = hwm_kib.max(kib);
            }
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = start.elapsed();
    assert!(status.success(), "{program} {args:?} failed: {status}");
    Run {
        wall,
        max_rss_mib: hwm_kib as f64 / 1024.0,
    }
}

/// The same read by etcdeck and by etcdctl, `rounds` times each, interleaved (which goes first
/// alternates); the runs of each.
fn versus(sb: &Sandbox, ours: &[&str], theirs: &[&str], rounds: usize) -> (Vec<Run>, Vec<Run>) {
    let bin = env!("CARGO_BIN_EXE_etcdeck");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            a.push(run_cli(sb, bin, ours));
            b.push(run_cli(sb, "etcdctl", theirs));
        } else {
            b.push(run_cli(sb, "etcdctl", theirs));
            a.push(run_cli(sb, bin, ours));
        }
    }
    (a, b)
}

fn median_wall_ms(runs: &[Run]) -> f64 {
    quantile(&runs.iter().map(|r| ms(r.wall)).collect::<Vec<_>>(), 0.5)
}

fn median_rss_mib(runs: &[Run]) -> f64 {
    quantile(&runs.iter().map(|r| r.max_rss_mib).collect::<Vec<_>>(), 0.5)
}

/// The first line of `etcd --version`.
fn etcd_version() -> String {
    Command::new("etcd")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_else(|| "etcd version unknown".into())
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Draw the whole screen into `buf`.
fn draw(store: &Store, buf: &mut Buffer) {
    let area = buf.area;
    buf.reset();
    Widget::render(&Screen::new(store), area, buf);
    std::hint::black_box(&buf);
}

/// One keystroke as the console handles it: update, settle, a full frame. Its time in ms.
fn keystroke(store: &mut Store, code: KeyCode, buf: &mut Buffer) -> f64 {
    let t = Instant::now();
    update(store, key(code));
    settle(store);
    draw(store, buf);
    t.elapsed().as_secs_f64() * 1000.0
}

/// `n` times `j` with a frame each, at `w` x `h`; per keystroke ms.
fn scroll(store: &Store, w: u16, h: u16, n: usize) -> Vec<f64> {
    let mut s = store.clone();
    s.ui.size = (w, h);
    let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
    (0..n)
        .map(|_| keystroke(&mut s, KeyCode::Char('j'), &mut buf))
        .collect()
}

/// Reads of the feed folded into the store until the complete snapshot is in and its rows built.
async fn initial_load(store: &mut Store, rx: &mut mpsc::UnboundedReceiver<Msg>) -> usize {
    let mut pages = 0;
    while let Some(msg) = rx.recv().await {
        let complete = matches!(&msg, Msg::KeysPage { complete: true, .. });
        pages += matches!(&msg, Msg::KeysPage { .. }) as usize;
        if let Msg::WatchState { state: Err(f), .. } = &msg {
            panic!("the feed failed during the load: {}", f.text());
        }
        update(store, msg);
        if complete {
            settle(store);
            return pages;
        }
    }
    panic!("the feed ended before the load completed");
}

/// Latencies (ms) of watch events from the put's send time to their `update` into the store, with
/// the writes sent and the events seen.
struct WatchFigures {
    latencies: Vec<f64>,
    sent: usize,
    events: usize,
    window: Duration,
}

async fn watch_latency(
    store: &mut Store,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
    cluster: &Cluster,
    urls: &[String],
    window: Duration,
) -> WatchFigures {
    // What queued while the frames were measured (progress, a reconnect) goes in first.
    while let Ok(m) = rx.try_recv() {
        update(store, m);
    }
    settle(store);
    let mut client = cluster.balanced(urls).await.expect("a writer");
    let writer = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_micros(1_000_000 / WATCH_RATE));
        let start = Instant::now();
        let mut sent = 0usize;
        while start.elapsed() < window {
            every.tick().await;
            let n = (sent * 7919) % CLUSTERS;
            let m = 1 + sent % 3;
            let key = format!("/pg/pg-bench-{n:05}/members/pg-bench-{n:05}-{m}");
            let value = member_value(n, m, unix_us());
            client.put(key, value, None).await.expect("a watched put");
            sent += 1;
        }
        sent
    });
    let mut buf = Buffer::empty(Rect::new(0, 0, 200, 60));
    let mut latencies = Vec::new();
    let mut events = 0;
    let end = Instant::now() + window + Duration::from_secs(5);
    let mut writer = Some(writer);
    let mut sent = 0;
    while Instant::now() < end {
        let msg = match tokio::time::timeout(Duration::from_millis(50), rx.recv()).await {
            Ok(Some(m)) => m,
            Ok(None) => panic!("the feed ended"),
            Err(_) => {
                if writer.as_ref().is_some_and(|w| w.is_finished()) {
                    if let Some(w) = writer.take() {
                        sent = w.await.expect("the writer");
                    }
                }
                if writer.is_none() && latencies.len() >= sent {
                    break;
                }
                continue;
            }
        };
        // A batch: this message and whatever queued behind it, as the console takes them.
        let mut batch = vec![msg];
        while let Ok(m) = rx.try_recv() {
            batch.push(m);
        }
        for msg in batch {
            let stamps: Vec<i64> = match &msg {
                Msg::KeyEvents { events: evs, .. } => {
                    events += evs.len();
                    evs.iter().filter_map(|e| sent_us(&e.kv().value)).collect()
                }
                _ => Vec::new(),
            };
            update(store, msg);
            let applied = unix_us();
            latencies.extend(stamps.iter().map(|s| (applied - s) as f64 / 1000.0));
        }
        settle(store);
        draw(store, &mut buf);
    }
    if let Some(w) = writer {
        sent = w.await.expect("the writer");
    }
    WatchFigures {
        latencies,
        sent,
        events,
        window,
    }
}

fn main() {
    let watch_secs = env_num("ETCDECK_BENCH_WATCH_SECS", 20).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // Dropped in reverse: the sandbox (members killed, also on a panic), then its directory.
    let dir = tempfile::TempDir::new().unwrap();
    let inv = inventory::parse(&fresh_inventory(3), "bench.yml", &[]).unwrap();
    let mut sb = Sandbox::prepare(&inv, &dir.path().join("sandbox")).unwrap();
    sb.start().unwrap();
    rt.block_on(sb.wait_healthy(Duration::from_secs(20)))
        .unwrap();
    let urls = sb.client_urls();
    let cluster = Cluster::new(sb.settings(Duration::from_secs(2))).unwrap();
    println!(
        "sandbox: {} (3 members, TLS, {})",
        urls.join(","),
        common::etcd_label(sb.auth())
    );

    println!(
        "writing {CLUSTERS} clusters x 10 keys in {TXN_OPS}-op txns from {WRITERS} clients, and a 1 MiB value..."
    );
    let t = Instant::now();
    let (written, bytes) = rt.block_on(load_keys(&cluster, &urls));
    let write_time = t.elapsed();

    // The command line against etcdctl; once first to check both read every key.
    let rounds = env_num("ETCDECK_BENCH_CLI_ROUNDS", 5).max(1) as usize;
    println!("etcdeck keys against etcdctl get --prefix, {rounds} rounds each, interleaved...");
    let etcd_version = etcd_version();
    {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_etcdeck"));
        clear_etcd_env(&mut cmd);
        for (k, v) in sb.etcdctl_env().vars() {
            cmd.env(k, v);
        }
        let out = cmd
            .args(["keys", "/pg", "--json"])
            .output()
            .expect("etcdeck keys");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(
            doc["count"].as_u64(),
            Some(written as u64),
            "etcdeck keys --json count"
        );
        assert_eq!(doc["kvs"].as_array().map(Vec::len), Some(written));
    }
    let (ours_json, theirs_json) = versus(
        &sb,
        &["keys", "/pg", "--json"],
        &["get", "/pg", "--prefix", "-w", "json"],
        rounds,
    );
    let (ours_text, theirs_text) =
        versus(&sb, &["keys", "/pg"], &["get", "/pg", "--prefix"], rounds);

    // The store the console would start with, its member list read from the sandbox.
    let target = Target {
        endpoints: urls.clone(),
        origin: "sandbox".into(),
    };
    let mut store = Store::new(
        Config::default(),
        target,
        InventoryState::default(),
        Instant::now(),
    );
    store.keys = Keys::new("/pg");
    let (resp, _) = rt.block_on(cluster.member_list()).expect("member list");
    let list = MemberList::from(&resp);
    update(
        &mut store,
        Msg::MemberList {
            at: Instant::now(),
            result: Ok(list),
        },
    );

    println!("initial load through feed_prefix...");
    let rss_before = vm_rss_mib();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let t = Instant::now();
    let feed = rt.spawn(feed_prefix(cluster.clone(), "/pg".into(), tx));
    let pages = rt.block_on(initial_load(&mut store, &mut rx));
    let load_time = t.elapsed();
    let rss_after = vm_rss_mib();
    let loaded = store.keys.map.len();
    assert_eq!(loaded, written, "every key written was loaded");
    assert_eq!(
        store.keys.map[BLOB_KEY.as_bytes()].value.len(),
        BLOB_BYTES,
        "the 1 MiB value"
    );
    let top_rows = store.keys.rows.len();
    assert_eq!(
        top_rows, CLUSTERS,
        "100k keys start with clusters collapsed"
    );

    println!("scrolling and filtering...");
    update(&mut store, key(KeyCode::Char('3')));
    settle(&mut store);
    assert_eq!(store.ui.focus, PaneId::Keys);
    let wide = scroll(&store, 200, 60, 1000);
    let narrow = scroll(&store, 80, 24, 1000);
    // A few clusters expanded: Enter on a cluster, `]` to the next, five times; then from the top.
    let mut expanded = store.clone();
    expanded.ui.size = (200, 60);
    let mut buf = Buffer::empty(Rect::new(0, 0, 200, 60));
    let mut expand_ms = Vec::new();
    for _ in 0..5 {
        expand_ms.push(keystroke(&mut expanded, KeyCode::Enter, &mut buf));
        keystroke(&mut expanded, KeyCode::Char(']'), &mut buf);
    }
    keystroke(&mut expanded, KeyCode::Char('g'), &mut buf);
    let expanded_rows = expanded.keys.rows.len();
    assert!(expanded_rows > CLUSTERS, "clusters expanded");
    let wide_expanded = scroll(&expanded, 200, 60, 1000);
    let narrow_expanded = scroll(&expanded, 80, 24, 1000);

    // Filter: `/`, `pg-bench-0420` one key at a time, Enter; Esc clears it. Ten rounds.
    let mut filtering = store.clone();
    filtering.ui.size = (200, 60);
    let mut typed = Vec::new();
    let mut cleared = Vec::new();
    let mut matched = 0;
    // Per keystroke of the sequence: (label, rows after it, ms of each round).
    let sequence: Vec<(String, KeyCode)> = std::iter::once(("/".to_string(), KeyCode::Char('/')))
        .chain(
            "pg-bench-0420"
                .char_indices()
                .map(|(i, ch)| (format!("/{}", &"pg-bench-0420"[..=i]), KeyCode::Char(ch))),
        )
        .chain(std::iter::once(("Enter".to_string(), KeyCode::Enter)))
        .collect();
    let mut per_key: Vec<(String, usize, Vec<f64>)> = sequence
        .iter()
        .map(|(label, _)| (label.clone(), 0, Vec::new()))
        .collect();
    for _ in 0..10 {
        for (i, (_, code)) in sequence.iter().enumerate() {
            let took = keystroke(&mut filtering, *code, &mut buf);
            typed.push(took);
            per_key[i].1 = filtering.keys.rows.len();
            per_key[i].2.push(took);
        }
        matched = filtering.keys.rows.len();
        cleared.push(keystroke(&mut filtering, KeyCode::Esc, &mut buf));
    }
    assert!(matched > 0, "the filter matches");
    assert!(filtering.keys.view.filter.is_empty());

    println!("watch latency: {WATCH_RATE} puts/s for {watch_secs} s...");
    let w = rt.block_on(watch_latency(
        &mut store,
        &mut rx,
        &cluster,
        &urls,
        Duration::from_secs(watch_secs),
    ));
    let live_url = match &store.keys.feed {
        Feed::Live { url } => url.clone(),
        other => format!("{other:?}"),
    };
    feed.abort();
    drop(rx);
    drop(rt);
    drop(sb);

    println!();
    println!(
        "{:<48} {:<50} {:<12} verdict",
        "figure", "measured", "target"
    );
    println!("{}", "-".repeat(120));
    let row = |figure: &str, measured: String, target: &str, verdict: &str| {
        println!("{figure:<48} {measured:<50} {target:<12} {verdict}");
    };
    row(
        "write 100k keys + 1 MiB (128-op txns, 4 clients)",
        format!(
            "{written} keys, {:.1} MiB in {:.2} s ({:.0} keys/s)",
            bytes as f64 / (1 << 20) as f64,
            write_time.as_secs_f64(),
            written as f64 / write_time.as_secs_f64()
        ),
        "-",
        "-",
    );
    for (what, ours, theirs, rss_target) in [
        (
            "keys --json / get --prefix -w json",
            &ours_json,
            &theirs_json,
            Some(0.6),
        ),
        ("keys / get --prefix (text)", &ours_text, &theirs_text, None),
    ] {
        let (wa, wb) = (median_wall_ms(ours), median_wall_ms(theirs));
        let (ra, rb) = (median_rss_mib(ours), median_rss_mib(theirs));
        row(
            &format!("{what}: wall"),
            format!("etcdeck {wa:.0} ms, etcdctl {wb:.0} ms: {:.2}x", wa / wb),
            "<= 1.0x",
            verdict(wa <= wb),
        );
        row(
            "  peak memory (max RSS)",
            format!("etcdeck {ra:.1} MiB, etcdctl {rb:.1} MiB: {:.2}x", ra / rb),
            &rss_target.map_or("-".to_string(), |t| format!("<= {t}x")),
            rss_target.map_or("-", |t| verdict(ra <= rb * t)),
        );
    }
    row(
        "initial load: feed spawn to rows built",
        format!(
            "{:.0} ms, {loaded} keys in {pages} pages ({:.0} keys/s)",
            ms(load_time),
            loaded as f64 / load_time.as_secs_f64()
        ),
        "< 2 s",
        verdict(load_time < Duration::from_secs(2)),
    );
    row(
        "resident memory after the load (VmRSS)",
        format!("{rss_after:.1} MiB (before the load {rss_before:.1} MiB)"),
        "-",
        "-",
    );
    let growth = rss_after - rss_before;
    row(
        "  growth over the load",
        format!("{growth:.1} MiB for {loaded} keys"),
        "< 200 MB",
        verdict(growth * 1.048_576 < 200.0),
    );
    for (label, v) in [
        (format!("j + settle + frame 200x60, {top_rows} rows"), &wide),
        (
            format!("j + settle + frame 80x24, {top_rows} rows"),
            &narrow,
        ),
        (
            format!("j + settle + frame 200x60, 5 expanded ({expanded_rows})"),
            &wide_expanded,
        ),
        (
            format!("j + settle + frame 80x24, 5 expanded ({expanded_rows})"),
            &narrow_expanded,
        ),
    ] {
        row(
            &label,
            format!(
                "mean {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                mean(v),
                quantile(v, 0.99),
                max(v)
            ),
            "p99 < 4 ms",
            verdict(quantile(v, 0.99) < 4.0),
        );
    }
    row(
        "expand a cluster (Enter), rows rebuilt, 200x60",
        format!(
            "mean {:.1} ms, max {:.1} ms",
            mean(&expand_ms),
            max(&expand_ms)
        ),
        "-",
        "-",
    );
    row(
        &format!("filter keystroke to frame 200x60 ({} keys)", typed.len()),
        format!(
            "p99 {:.1} ms, max {:.1} ms, mean {:.1} ms",
            quantile(&typed, 0.99),
            max(&typed),
            mean(&typed)
        ),
        "< 30 ms",
        verdict(max(&typed) < 30.0),
    );
    row(
        "  Esc (filter cleared, full tree back)",
        format!("max {:.1} ms, mean {:.1} ms", max(&cleared), mean(&cleared)),
        "< 30 ms",
        verdict(max(&cleared) < 30.0),
    );
    if w.latencies.is_empty() {
        row(
            "watch event to store",
            format!("no event arrived ({} sent)", w.sent),
            "p99 < 100 ms",
            "FAIL",
        );
    } else {
        row(
            &format!(
                "watch event to store ({}/{} in {} s)",
                w.latencies.len(),
                w.sent,
                w.window.as_secs()
            ),
            format!(
                "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                quantile(&w.latencies, 0.5),
                quantile(&w.latencies, 0.99),
                max(&w.latencies)
            ),
            "p99 < 100 ms",
            verdict(quantile(&w.latencies, 0.99) < 100.0 && w.latencies.len() == w.sent),
        );
    }
    println!();
    println!("{etcd_version}; CLI runs (ms, MiB) in order:");
    for (what, runs) in [
        ("etcdeck keys --json", &ours_json),
        ("etcdctl get -w json", &theirs_json),
        ("etcdeck keys", &ours_text),
        ("etcdctl get", &theirs_text),
    ] {
        let list: Vec<String> = runs
            .iter()
            .map(|r| format!("{:.0}/{:.0}", ms(r.wall), r.max_rss_mib))
            .collect();
        println!("  {what:<20} {}", list.join("  "));
    }
    println!();
    println!(
        "feed watching {live_url} at the end; {} watch events in the window; {} repeats skipped",
        w.events, store.keys.duplicates
    );
    println!();
    println!(
        "filter keystrokes at 200x60 (median and max of 10 rounds; rows shown after the key):"
    );
    for (label, rows, v) in &per_key {
        println!(
            "  {label:<16} rows {rows:>6}   median {:>6.1} ms   max {:>6.1} ms",
            quantile(v, 0.5),
            max(v)
        );
    }
}
