//! `cargo bench --bench timeline`: the aliveness timeline.
//!
//! 1. A day of history: 86,400 seconds for 5 members and the cluster recorded into a `Timeline`
//!    (with outages, a learner promoted and the events they make): `memory_bytes()` and this
//!    process's VmRSS growth (target: < 20 MB). For reference: the time to record it, the history
//!    file it makes (`dump`) and the time to read it back (`load`, what `etcdeck timeline` does).
//! 2. A frame of the Timeline pane: the whole `Screen`, focus on Timeline, that day of history,
//!    zoom 1, 10 and 60 s per column, at 200x60 and 80x24, 1000 frames each (target: p99 < 2 ms).
//! 3. `etcdeck health` (the release binary) against a real 3-member TLS sandbox with 0, 1 and 2
//!    members frozen (SIGSTOP: the port accepts, nothing answers), 5 runs each: median and max
//!    (target: < 3 s each) and the exit codes (expected 0, 1, 2).
//!
//! `ETCDECK_BENCH_RUNS=N` sets the frames per size and zoom (default 1000),
//! `ETCDECK_BENCH_HEALTH_RUNS=N` the health runs per case (default 5).

#[path = "../common/mod.rs"]
mod common;

#[allow(unused_imports)]
use common::stats::*;

use std::process::Command;
use std::time::{Duration, Instant};

use common::frames::{buffer_text, frame};
use common::TestCluster;
use etcdeck::app::config::Config;
use etcdeck::app::msg::{Level, ListedMember, MemberList, Msg, Probed};
use etcdeck::app::store::{InventoryState, PaneId, Store, Target};
use etcdeck::app::timeline::{self, Cell, Timeline, RETENTION};
use etcdeck::app::update::update;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

const MEMBERS: u64 = 5;
const ZOOMS: [u64; 3] = [1, 10, 60];
const SIZES: [(u16, u16); 2] = [(200, 60), (80, 24)];

fn url(i: u64) -> String {
    format!("https://127.0.0.{i}:2379")
}

/// A console store that has read a 5-member list and one Status from each (etcd-1 leads).
fn store() -> Store {
    let mut store = Store::new(
        Config::default(),
        Target {
            endpoints: (1..=MEMBERS).map(url).collect(),
            origin: "bench".into(),
        },
        InventoryState::default(),
        Instant::now(),
    );
    let members = (1..=MEMBERS)
        .map(|i| ListedMember {
            id: i,
            name: format!("etcd-{i}"),
            peer_urls: vec![format!("https://127.0.0.{i}:2380")],
            client_urls: vec![url(i)],
            is_learner: false,
        })
        .collect();
    let at = store.now;
    update(
        &mut store,
        Msg::MemberList {
            at,
            result: Ok(MemberList {
                cluster_id: 0xbe7c4,
                members,
            }),
        },
    );
    for id in 1..=MEMBERS {
        let p = Probed {
            version: "3.4.23".into(),
            db_size: 20 << 20,
            db_size_in_use: 16 << 20,
            leader: 1,
            raft_term: 7,
            raft_index: 123_456,
            raft_applied_index: 123_456,
            is_learner: false,
            errors: Vec::new(),
            latency: Duration::from_micros(900 + 100 * id),
            revision: 98_765,
            db_size_quota: 0,
        };
        update(
            &mut store,
            Msg::Probe {
                at,
                id,
                url: url(id),
                result: Ok(p),
            },
        );
    }
    store
}

/// A day of history ending at Unix second `end` (inclusive): etcd-5 a learner for the first two
/// hours, etcd-3 down for 10 minutes every 6 hours, etcd-2, etcd-3 and etcd-4 down 40 s at hour 12
/// (the cluster unavailable), a minute without a leader at hour 20; the events
/// that go with them. The time it took to record.
fn a_day(end: u64) -> (Timeline, Duration) {
    let day = RETENTION.as_secs();
    let first = end + 1 - day;
    let names: Vec<String> = (1..=MEMBERS).map(|i| format!("etcd-{i}")).collect();
    let mut t = Timeline::new();
    let mut row: Vec<(u64, String, Cell)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (i as u64 + 1, n.clone(), Cell::Up))
        .collect();
    let mut before: Vec<Cell> = vec![Cell::Up; MEMBERS as usize];
    let mut cluster_before = Cell::Available;
    let start = Instant::now();
    for sec in first..=end {
        let s = sec - first;
        let hour = s / 3600;
        let in_hour = s % 3600;
        let no_leader = hour == 20 && in_hour < 60;
        for (i, (_, _, cell)) in row.iter_mut().enumerate() {
            *cell = match i + 1 {
                5 if hour < 2 => Cell::Learner,
                3 if hour % 6 == 3 && in_hour < 600 => Cell::Down,
                3 if hour == 12 && in_hour < 40 => Cell::Down,
                2 | 4 if hour == 12 && in_hour < 40 => Cell::Down,
                _ if no_leader => Cell::NoLeader,
                _ => Cell::Up,
            };
        }
        let voters_up = row.iter().filter(|(_, _, c)| matches!(c, Cell::Up)).count();
        let voters = if hour < 2 { 4 } else { 5 };
        let cluster = if no_leader || voters_up < voters / 2 + 1 {
            Cell::Unavailable
        } else {
            Cell::Available
        };
        // Events, as `happened` records them.
        for (i, (_, name, cell)) in row.iter().enumerate() {
            let was = before[i];
            if was == *cell {
                continue;
            }
            let (level, text) = match (was, *cell) {
                (Cell::Learner, Cell::Up) => (
                    Level::Info,
                    format!("{name} was promoted to a voting member"),
                ),
                (_, Cell::Down) => (Level::Warn, format!("{name} unreachable: refused")),
                (Cell::Down, _) => (Level::Info, format!("{name} answers again")),
                _ => continue,
            };
            t.event(sec, level, text);
            before[i] = *cell;
        }
        if cluster != cluster_before {
            if cluster == Cell::Unavailable {
                t.event(
                    sec,
                    Level::Error,
                    "no leader: etcd-1 is gone and no member sees a new one",
                );
            } else {
                t.event(sec, Level::Warn, "leader changed: etcd-1 -> etcd-4");
            }
            cluster_before = cluster;
        }
        t.record(sec, cluster, &row);
    }
    (t, start.elapsed())
}

/// Draw the whole screen into `buf`; its time in ms.
/// `etcdeck health` (release) with the sandbox's environment: exit code and time.
fn health(tc: &TestCluster) -> (Option<i32>, Duration, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_etcdeck"));
    common::clear_etcd_env(&mut cmd);
    for (k, v) in tc.sandbox.etcdctl_env().vars() {
        cmd.env(k, v);
    }
    let t = Instant::now();
    let out = cmd.arg("health").output().expect("etcdeck runs");
    (
        out.status.code(),
        t.elapsed(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

struct HealthCase {
    frozen: usize,
    times: Vec<f64>,
    codes: Vec<Option<i32>>,
    last: String,
}

fn main() {
    let frames = env_num("ETCDECK_BENCH_RUNS", 1000).max(1) as usize;
    let health_runs = env_num("ETCDECK_BENCH_HEALTH_RUNS", 5).max(1) as usize;

    // 1. A day of history.
    println!("recording 24 h of history for {MEMBERS} members...");
    let base = store();
    let end = base.unix_secs(base.now);
    let rss_before = vm_rss_mib();
    let (day, record_time) = a_day(end);
    let rss_after = vm_rss_mib();
    let held = day.memory_bytes();
    assert_eq!(day.cluster.len() as u64, RETENTION.as_secs());
    assert_eq!(day.members.len() as u64, MEMBERS);
    assert_eq!(day.end(), end + 1);
    let capacity: usize = day.cluster.capacity()
        + day
            .members
            .values()
            .map(|s| s.cells.capacity())
            .sum::<usize>();
    let dir = tempfile::TempDir::new().unwrap();
    let file = timeline::history_path(dir.path(), 0xbe7c4);
    let t = Instant::now();
    std::fs::write(&file, timeline::dump(&day)).unwrap();
    let dump_time = t.elapsed();
    let file_bytes = std::fs::metadata(&file).unwrap().len();
    let t = Instant::now();
    let back = timeline::load(&file, end)
        .expect("the history file loads")
        .expect("the history file exists");
    let load_time = t.elapsed();
    assert_eq!(back.cluster, day.cluster, "the file gives the day back");
    assert_eq!(back.events.len(), day.events.len());
    let text = timeline::text(&back, end, 1440, 60, RETENTION.as_secs());
    assert!(text.contains("etcd-5") && text.contains('X'), "{text}");

    // 2. Frames of the Timeline pane.
    println!("drawing the Timeline pane, {frames} frames per size and zoom...");
    let mut frame_rows: Vec<(String, Vec<f64>)> = Vec::new();
    for (w, h) in SIZES {
        for zoom in ZOOMS {
            let mut s = base.clone();
            s.timeline = day.clone();
            s.timeline.zoom = zoom;
            s.ui.focus = PaneId::Timeline;
            s.ui.size = (w, h);
            let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
            for _ in 0..20 {
                frame(&s, &mut buf); // warm-up
            }
            let shown = buffer_text(&buf);
            assert!(
                shown.contains(&format!("{zoom}s per column")) && shown.contains("etcd-5"),
                "the Timeline pane is drawn at {w}x{h}:\n{shown}"
            );
            let v: Vec<f64> = (0..frames).map(|_| frame(&s, &mut buf)).collect();
            frame_rows.push((format!("frame {w}x{h}, Timeline, zoom {zoom:>2} s"), v));
        }
    }

    // 3. `etcdeck health` with members frozen.
    println!("starting a 3-member TLS sandbox for `etcdeck health`...");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tc = rt.block_on(TestCluster::start(3));
    println!("sandbox: {}", common::etcd_label(tc.sandbox.auth()));
    let leader = rt.block_on(tc.leader_name());
    let followers: Vec<String> = tc
        .sandbox
        .members()
        .iter()
        .map(|m| m.name())
        .filter(|n| *n != leader)
        .collect();
    let mut cases = Vec::new();
    for frozen in 0..=2usize {
        if frozen > 0 {
            // Followers, so one frozen keeps a leader that answers.
            tc.sandbox.freeze(&followers[frozen - 1]).unwrap();
            std::thread::sleep(Duration::from_millis(500));
        }
        println!(
            "  health x{health_runs}, {frozen} frozen ({})...",
            followers[..frozen].join(", ")
        );
        let mut case = HealthCase {
            frozen,
            times: Vec::new(),
            codes: Vec::new(),
            last: String::new(),
        };
        for _ in 0..health_runs {
            let (code, took, out) = health(&tc);
            case.times.push(ms(took));
            case.codes.push(code);
            case.last = out;
        }
        cases.push(case);
    }
    for f in &followers {
        tc.sandbox.thaw(f).unwrap();
    }
    drop(tc);
    drop(rt);

    println!();
    println!(
        "{:<48} {:<58} {:<12} verdict",
        "figure", "measured", "target"
    );
    println!("{}", "-".repeat(128));
    let row = |figure: &str, measured: String, target: &str, verdict: &str| {
        println!("{figure:<48} {measured:<58} {target:<12} {verdict}");
    };
    let mib = |b: f64| b / (1 << 20) as f64;
    row(
        "24 h x 5 members: Timeline::memory_bytes()",
        format!(
            "{:.2} MiB ({held} bytes; cell capacity {:.2} MiB)",
            mib(held as f64),
            mib(capacity as f64)
        ),
        "< 20 MB",
        verdict((held as f64) < 20e6),
    );
    let growth = rss_after - rss_before;
    row(
        "  VmRSS growth while recording it",
        format!("{growth:.2} MiB ({rss_before:.1} -> {rss_after:.1} MiB)"),
        "< 20 MB",
        verdict(growth * 1.048_576 < 20.0),
    );
    row(
        "  record 86,400 seconds",
        format!(
            "{:.0} ms ({:.2} us per second), {} events",
            ms(record_time),
            record_time.as_secs_f64() * 1e6 / RETENTION.as_secs() as f64,
            day.events.len()
        ),
        "-",
        "-",
    );
    row(
        "  history file: dump, size",
        format!("{:.0} ms, {:.2} MiB", ms(dump_time), mib(file_bytes as f64)),
        "-",
        "-",
    );
    row(
        "  history file: load (etcdeck timeline)",
        format!("{:.0} ms", ms(load_time)),
        "-",
        "-",
    );
    for (label, v) in &frame_rows {
        row(
            label,
            format!(
                "mean {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                mean(v),
                quantile(v, 0.99),
                max(v)
            ),
            "p99 < 2 ms",
            verdict(quantile(v, 0.99) < 2.0),
        );
    }
    for (c, want) in cases.iter().zip([0, 1, 2]) {
        let codes: Vec<String> = c
            .codes
            .iter()
            .map(|c| c.map_or("signal".into(), |c| c.to_string()))
            .collect();
        row(
            &format!(
                "etcdeck health, {} of 3 frozen (x{})",
                c.frozen,
                c.times.len()
            ),
            format!(
                "median {:.0} ms, max {:.0} ms; exit {}",
                quantile(&c.times, 0.5),
                max(&c.times),
                codes.join(",")
            ),
            &format!("< 3 s, exit {want}"),
            verdict(max(&c.times) < 3000.0 && c.codes.iter().all(|x| *x == Some(want))),
        );
    }
    println!();
    for c in &cases {
        println!("health with {} frozen said:\n{}", c.frozen, c.last);
    }
}
