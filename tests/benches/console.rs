//! `cargo bench --bench console`: the console's speed targets, measured on the release binary
//! against a real 3-member TLS sandbox, in a real tmux pane.
//!
//! (a) First frame and members filled, from just before the process is spawned (through tmux)
//!     to the lines `ETCDECK_FRAME_LOG` writes (targets: < 50 ms and < 300 ms). What tmux itself
//!     needs to get a process running in a new pane is measured too and shown next to them.
//! (b) Render cost of one frame, in process, for a store with 5 members and an inventory
//!     (target: < 2 ms per frame).
//! (c) Idle: CPU of the running console over a window, and the Status and MemberList calls the
//!     members served meanwhile, from their `/metrics` over HTTPS (not gRPC) (targets: < 2 % of
//!     one core; at most 1 Status per member and 1 member list per refresh interval).
//!
//! (d) A wizard's plan after its key (target: < 100 ms): in process, the key through `update`
//!     and one 80x24 frame for a 5-member store; end to end, from just before `tmux send-keys D`
//!     to the frame the console logs with the wizard modal open (`ETCDECK_FRAME_LOG`).
//!
//! `ETCDECK_BENCH_RUNS` sets the number of console starts in (a) and of keys in (d) (default
//! 10); `ETCDECK_BENCH_IDLE_SECS` the idle window in (c) (default 60).

#[path = "../common/mod.rs"]
mod common;

#[allow(unused_imports)]
use common::stats::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::fresh_inventory;
use common::tmux::{stat_fields, TmuxServer};
use etcdeck::app::config::Config;
use etcdeck::app::msg::{Failure, ListedMember, MemberList, Msg, Probed};
use etcdeck::app::store::{InventoryState, PaneId, Store, Target};
use etcdeck::app::update::update;
use etcdeck::inventory;
use etcdeck::sandbox::Sandbox;
use etcdeck::ui::Screen;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

const REFRESH: &str = "1s";
const REFRESH_SECS: f64 = 1.0;

fn unix_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A private tmux server; dropping it kills the server and every process that ran in it.
struct Tmux {
    server: TmuxServer,
}

impl Tmux {
    /// A server kept up by an idle session, so each measured start only creates a session.
    fn start(dir: &Path) -> Tmux {
        let t = Tmux {
            server: TmuxServer::new("etcdeck-bench"),
        };
        let d = dir.display().to_string();
        t.ok(&[
            "new-session",
            "-d",
            "-s",
            "keep",
            "-x",
            "160",
            "-y",
            "48",
            "-c",
            &d,
            "exec sleep 100000",
        ]);
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        self.server.run(args)
    }

    fn ok(&self, args: &[&str]) -> String {
        self.server.ok(args)
    }

    /// A detached 160x48 session `name` running `command`; the pane's process id and how long
    /// the tmux command took.
    fn spawn(&self, name: &str, command: &str) -> (u32, Duration) {
        let start = Instant::now();
        let out = self.ok(&[
            "new-session",
            "-d",
            "-P",
            "-F",
            "#{pane_pid}",
            "-s",
            name,
            "-x",
            "160",
            "-y",
            "48",
            command,
        ]);
        let took = start.elapsed();
        let pid = out.trim().parse().expect("tmux prints the pane pid");
        (pid, took)
    }

    fn alive(&self, session: &str) -> bool {
        self.run(&["has-session", "-t", session]).status.success()
    }

    /// Press `q` in `session` and wait until the console has left and its pane is gone.
    fn quit(&self, session: &str, pid: u32) {
        self.ok(&["send-keys", "-t", session, "q"]);
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.alive(session) || common::alive(pid) {
            assert!(
                Instant::now() < deadline,
                "the console in {session} did not quit within 5 s of q"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn screen(&self, session: &str) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", session]).stdout)
            .into_owned()
    }
}

/// CPU time (user + system) of a process, all threads, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let f = stat_fields(pid).expect("the console is running");
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// The frame log: (frame, unix µs, members with a Status) per line.
fn frames(path: &Path) -> Vec<(u64, i64, usize)> {
    frames_with_overlay(path)
        .into_iter()
        .map(|(n, us, filled, _)| (n, us, filled))
        .collect()
}

/// The frame log with the overlay each frame drew (`wizard`, `help`, `-`).
fn frames_with_overlay(path: &Path) -> Vec<(u64, i64, usize, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((
                w.next()?.parse().ok()?,
                w.next()?.parse().ok()?,
                w.next()?.parse().ok()?,
                w.next().unwrap_or("-").to_string(),
            ))
        })
        .collect()
}

/// Wait for the first frame after `since` (unix µs) that draws `overlay`; its time.
fn wait_overlay(path: &Path, since: i64, overlay: &str, tmux: &Tmux, session: &str) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(f) = frames_with_overlay(path)
            .into_iter()
            .find(|f| f.1 >= since && f.3 == overlay)
        {
            return f.1;
        }
        assert!(
            Instant::now() < deadline,
            "no frame with the {overlay} overlay within 5 s; screen:\n{}",
            tmux.screen(session)
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Wait until the frame log shows every member filled; the log then.
fn wait_filled(path: &Path, members: usize, tmux: &Tmux, session: &str) -> Vec<(u64, i64, usize)> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let f = frames(path);
        if f.iter().any(|l| l.2 >= members) {
            return f;
        }
        assert!(
            Instant::now() < deadline,
            "no frame with {members} members filled within 15 s; frames {f:?}; screen:\n{}",
            tmux.screen(session)
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The pane command that runs the console on the sandbox from a clean environment.
fn console_command(sb: &Sandbox, home: &Path, frame_log: &Path) -> String {
    let mut c = format!(
        "exec env -i PATH={} HOME={} TERM=\"$TERM\" LANG=C.UTF-8 ETCDECK_FRAME_LOG={}",
        sh_quote(&std::env::var("PATH").unwrap_or_default()),
        sh_quote(&home.display().to_string()),
        sh_quote(&frame_log.display().to_string()),
    );
    for (k, v) in sb.etcdctl_env().vars() {
        c.push_str(&format!(" {k}={}", sh_quote(&v)));
    }
    c.push_str(&format!(
        " {} --refresh {REFRESH}",
        sh_quote(env!("CARGO_BIN_EXE_etcdeck"))
    ));
    c
}

/// Request counters of one member, from its Prometheus metrics over HTTPS.
#[derive(Debug, Default, Clone, Copy)]
struct Served {
    status: u64,
    member_list: u64,
}

fn scrape(sb: &Sandbox, url: &str) -> Served {
    let env = sb.etcdctl_env();
    let out = Command::new("curl")
        .args(["-sS", "--fail", "--max-time", "5"])
        .args([
            "--cacert",
            &env.cacert,
            "--cert",
            &env.cert,
            "--key",
            &env.key,
        ])
        .arg(format!("{url}/metrics"))
        .output()
        .expect("curl runs (apt-get install curl)");
    assert!(
        out.status.success(),
        "curl {url}/metrics: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut s = Served::default();
    let mut seen = false;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("grpc_server_handled_total{") else {
            continue;
        };
        seen = true;
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let n = value.trim().parse::<f64>().unwrap_or(0.0) as u64;
        if labels.contains("grpc_method=\"Status\"") {
            s.status += n;
        } else if labels.contains("grpc_method=\"MemberList\"") {
            s.member_list += n;
        }
    }
    assert!(seen, "{url}/metrics has no grpc_server_handled_total");
    s
}

/// (a): console starts in tmux, timed to the first frame and to every member filled.
struct Starts {
    tmux_cmd: Vec<f64>,
    tmux_to_process: Vec<f64>,
    first_frame: Vec<f64>,
    filled: Vec<f64>,
}

fn measure_starts(sb: &Sandbox, tmux: &Tmux, dir: &Path, runs: usize) -> Starts {
    let mut r = Starts {
        tmux_cmd: Vec::new(),
        tmux_to_process: Vec::new(),
        first_frame: Vec::new(),
        filled: Vec::new(),
    };
    // What tmux costs: from before the tmux command to a process running in the new pane, the
    // same shape of command as the console's (`exec env -i ... program`).
    for i in 0..runs {
        let stamp = dir.join(format!("noop-{i}.us"));
        let cmd = format!(
            "exec env -i PATH={} date +%s%6N > {}",
            sh_quote(&std::env::var("PATH").unwrap_or_default()),
            sh_quote(&stamp.display().to_string())
        );
        let t0 = unix_us();
        let (_, took) = tmux.spawn(&format!("noop-{i}"), &cmd);
        let deadline = Instant::now() + Duration::from_secs(5);
        let at: i64 = loop {
            if let Some(v) = std::fs::read_to_string(&stamp)
                .ok()
                .and_then(|s| s.trim().parse().ok())
            {
                break v;
            }
            assert!(Instant::now() < deadline, "the no-op pane never ran");
            std::thread::sleep(Duration::from_millis(1));
        };
        r.tmux_cmd.push(took.as_secs_f64() * 1000.0);
        r.tmux_to_process.push((at - t0) as f64 / 1000.0);
    }
    for i in 0..runs {
        let log = dir.join(format!("frames-{i}.log"));
        let session = format!("start-{i}");
        let cmd = console_command(sb, dir, &log);
        let t0 = unix_us();
        let (pid, _) = tmux.spawn(&session, &cmd);
        let f = wait_filled(&log, sb.members().len(), tmux, &session);
        let first = f.first().expect("a frame").1;
        let filled = f.iter().find(|l| l.2 >= sb.members().len()).unwrap().1;
        r.first_frame.push((first - t0) as f64 / 1000.0);
        r.filled.push((filled - t0) as f64 / 1000.0);
        tmux.quit(&session, pid);
    }
    r
}

/// (b): a store with 5 members (a leader, followers, one unreachable, a learner) and the example
/// inventory.
fn render_store() -> Store {
    let inv = inventory::parse(inventory::EXAMPLE, "inventory.example.yml", &[])
        .expect("the example inventory parses");
    let now = Instant::now();
    let state = InventoryState {
        file: Some("inventory.example.yml".into()),
        loaded: Some(inv),
        ..InventoryState::default()
    };
    let target = Target {
        endpoints: (0..3)
            .map(|i| format!("https://10.10.10.1{i}:2379"))
            .collect(),
        origin: "ETCDCTL_ENDPOINTS".into(),
    };
    let mut store = Store::new(Config::default(), target, state, now);
    let members: Vec<ListedMember> = (1..=5u64)
        .map(|i| ListedMember {
            id: 0x8e9e_05c5_2164_6940 + i,
            name: format!("etcd-{i}"),
            peer_urls: vec![format!("https://10.10.10.{}:2380", 9 + i)],
            client_urls: vec![format!("https://10.10.10.{}:2379", 9 + i)],
            is_learner: i == 5,
        })
        .collect();
    let leader = members[0].id;
    update(
        &mut store,
        Msg::MemberList {
            at: now,
            result: Ok(MemberList {
                cluster_id: 0x1c2d_3e4f_5a6b_7c8d,
                members: members.clone(),
            }),
        },
    );
    for (i, m) in members.iter().enumerate() {
        let result = if i == 3 {
            Err(Failure::from(etcdeck::etcd::EtcdError::timeout(
                &m.client_urls[0],
                Duration::from_secs(2),
            )))
        } else {
            Ok(Probed {
                version: "3.5.17".into(),
                db_size: 24 << 20,
                db_size_in_use: 18 << 20,
                leader,
                raft_term: 7,
                raft_index: 123_456 - i as u64 * 3,
                raft_applied_index: 123_456 - i as u64 * 3,
                is_learner: m.is_learner,
                errors: Vec::new(),
                latency: Duration::from_micros(1800 + 300 * i as u64),
                revision: 98_765,
                db_size_quota: 0,
            })
        };
        update(
            &mut store,
            Msg::Probe {
                at: now,
                id: m.id,
                url: m.client_urls[0].clone(),
                result,
            },
        );
    }
    update(&mut store, Msg::Tick(now + Duration::from_secs(3)));
    store
}

/// Render `store` `n` times into a `w` x `h` buffer; per-frame mean and p99 in ms.
fn render_cost(store: &Store, w: u16, h: u16, n: usize) -> (f64, f64) {
    let area = Rect::new(0, 0, w, h);
    let mut buf = Buffer::empty(area);
    let screen = Screen::new(store);
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        buf.reset();
        Widget::render(&screen, area, &mut buf);
        std::hint::black_box(&buf);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mean = times.iter().sum::<f64>() / n as f64;
    times.sort_by(f64::total_cmp);
    let p99 = times[(n * 99 / 100).min(n - 1)];
    (mean, p99)
}

/// (d), in process: a wizard key through `update` and the 80x24 frame that shows its plan,
/// for the 5-member store with every member up; per key, mean and p99 in ms, and the steps the
/// plan has (so it is a plan that was measured, not a refusal).
fn wizard_in_process(key: char, n: usize) -> (f64, f64, usize) {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut store = render_store();
    // The member the 5-member store has down answers here: a defrag plan, not a refusal.
    let m = store.cluster.members[3].clone();
    let (now, leader) = (store.now, store.cluster.leader.unwrap_or_default());
    update(
        &mut store,
        Msg::Probe {
            at: now,
            id: m.id,
            url: m.client_urls[0].clone(),
            result: Ok(Probed {
                version: "3.5.17".into(),
                db_size: 24 << 20,
                db_size_in_use: 18 << 20,
                leader,
                raft_term: 7,
                raft_index: 123_450,
                raft_applied_index: 123_450,
                is_learner: false,
                errors: Vec::new(),
                latency: Duration::from_micros(2000),
                revision: 98_765,
                db_size_quota: 0,
            }),
        },
    );
    store.state_dir = Some(PathBuf::from("/state/etcdeck"));
    store.ui.size = (80, 24);
    let area = Rect::new(0, 0, 80, 24);
    let mut buf = Buffer::empty(area);
    let press = |store: &mut Store, code: KeyCode| {
        update(store, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    };
    let mut times = Vec::with_capacity(n);
    let mut steps = 0;
    for _ in 0..n {
        let t = Instant::now();
        press(&mut store, KeyCode::Char(key));
        buf.reset();
        Widget::render(&Screen::new(&store), area, &mut buf);
        std::hint::black_box(&buf);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        steps = store
            .wizard()
            .and_then(|w| w.plan().ok().map(|p| p.steps.len()))
            .unwrap_or(0);
        press(&mut store, KeyCode::Esc);
    }
    let mean = times.iter().sum::<f64>() / n as f64;
    times.sort_by(f64::total_cmp);
    (mean, times[(n * 99 / 100).min(n - 1)], steps)
}

/// (d), end to end: from just before `tmux send-keys D` to the frame the console logs with the
/// wizard modal open, `runs` times (Esc closes it between).
fn wizard_in_tmux(sb: &Sandbox, tmux: &Tmux, dir: &Path, runs: usize) -> Vec<f64> {
    let log = dir.join("frames-wizard.log");
    let (pid, _) = tmux.spawn("wizard", &console_command(sb, dir, &log));
    wait_filled(&log, sb.members().len(), tmux, "wizard");
    let mut took = Vec::new();
    for _ in 0..runs {
        let t0 = unix_us();
        tmux.ok(&["send-keys", "-t", "wizard", "D"]);
        let shown = wait_overlay(&log, t0, "wizard", tmux, "wizard");
        took.push((shown - t0) as f64 / 1000.0);
        assert!(
            tmux.screen("wizard").contains("Defragment every voter"),
            "the modal is the defrag wizard's"
        );
        let t1 = unix_us();
        tmux.ok(&["send-keys", "-t", "wizard", "Escape"]);
        wait_overlay(&log, t1, "-", tmux, "wizard");
        std::thread::sleep(Duration::from_millis(200));
    }
    tmux.quit("wizard", pid);
    took
}

/// (c): what the idle console costs and asks.
struct Idle {
    secs: f64,
    cpu_percent: f64,
    status_per_member: Vec<(String, f64)>,
    member_list_per_sec: f64,
    frames_per_sec: f64,
}

fn measure_idle(sb: &Sandbox, tmux: &Tmux, dir: &Path, window: Duration) -> Idle {
    let log = dir.join("frames-idle.log");
    let (pid, _) = tmux.spawn("idle", &console_command(sb, dir, &log));
    wait_filled(&log, sb.members().len(), tmux, "idle");
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert_eq!(comm.trim(), "etcdeck", "the pane's process is the console");
    std::thread::sleep(Duration::from_secs(5));

    let urls = sb.client_urls();
    let before: Vec<Served> = urls.iter().map(|u| scrape(sb, u)).collect();
    let frames_before = frames(&log).len();
    let cpu_before = cpu_ticks(pid);
    let t0 = Instant::now();
    std::thread::sleep(window);
    let cpu_after = cpu_ticks(pid);
    let secs = t0.elapsed().as_secs_f64();
    let frames_after = frames(&log).len();
    let after: Vec<Served> = urls.iter().map(|u| scrape(sb, u)).collect();
    tmux.quit("idle", pid);

    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cpu_percent = (cpu_after - cpu_before) as f64 / hz / secs * 100.0;
    let status_per_member = sb
        .members()
        .iter()
        .zip(before.iter().zip(&after))
        .map(|(m, (b, a))| (m.name(), (a.status - b.status) as f64 / secs))
        .collect();
    let lists: u64 = before
        .iter()
        .zip(&after)
        .map(|(b, a)| a.member_list - b.member_list)
        .sum();
    Idle {
        secs,
        cpu_percent,
        status_per_member,
        member_list_per_sec: lists as f64 / secs,
        frames_per_sec: (frames_after - frames_before) as f64 / secs,
    }
}

fn main() {
    let runs = env_num("ETCDECK_BENCH_RUNS", 10).max(1) as usize;
    let idle_secs = env_num("ETCDECK_BENCH_IDLE_SECS", 60).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // Dropped last: the state directory. Then the sandbox (members stopped), before it tmux.
    let dir = tempfile::TempDir::new().unwrap();
    let inv = inventory::parse(&fresh_inventory(3), "bench.yml", &[]).unwrap();
    let mut sb = Sandbox::prepare(&inv, &dir.path().join("sandbox")).unwrap();
    sb.start().unwrap();
    rt.block_on(sb.wait_healthy(Duration::from_secs(20)))
        .unwrap();
    let work: PathBuf = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let tmux = Tmux::start(&work);
    println!(
        "sandbox: {} (3 members, TLS, {}); console: {} --refresh {REFRESH}",
        sb.client_urls().join(","),
        common::etcd_label(sb.auth()),
        env!("CARGO_BIN_EXE_etcdeck")
    );

    println!("(a) {runs} console starts in a 160x48 tmux pane...");
    let starts = measure_starts(&sb, &tmux, &work, runs);
    println!("(b) rendering 1000 frames per size...");
    let store = render_store();
    let (wide_mean, wide_p99) = render_cost(&store, 200, 60, 1000);
    let (narrow_mean, narrow_p99) = render_cost(&store, 80, 24, 1000);
    let mut inv_store = store.clone();
    inv_store.ui.focus = PaneId::Inventory;
    let (inv_mean, inv_p99) = render_cost(&inv_store, 80, 24, 1000);
    println!("(c) idle console for {idle_secs} s after a 5 s warm-up...");
    let idle = measure_idle(&sb, &tmux, &work, Duration::from_secs(idle_secs));
    println!("(d) a wizard's plan after its key, in process and in tmux ({runs} keys)...");
    let wizard_d = wizard_in_process('D', 1000);
    let wizard_c = wizard_in_process('C', 1000);
    let wizard_tmux = wizard_in_tmux(&sb, &tmux, &work, runs);
    drop(tmux);
    drop(sb);

    let tmux_net = median(&starts.tmux_to_process);
    let first_med = median(&starts.first_frame);
    let filled_med = median(&starts.filled);
    let list = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!();
    println!(
        "{:<44} {:<46} {:<12} verdict",
        "figure", "measured", "target"
    );
    println!("{}", "-".repeat(112));
    println!(
        "{:<44} {:<46} {:<12} -",
        "tmux new-session command (wall)",
        format!(
            "median {:.1} ms, max {:.1} ms",
            median(&starts.tmux_cmd),
            max(&starts.tmux_cmd)
        ),
        "(overhead)"
    );
    println!(
        "{:<44} {:<46} {:<12} -",
        "tmux to a process running in the pane",
        format!(
            "median {tmux_net:.1} ms, max {:.1} ms",
            max(&starts.tmux_to_process)
        ),
        "(overhead)"
    );
    println!(
        "{:<44} {:<46} {:<12} {} (max {})",
        "(a) first frame, from spawn (tmux included)",
        format!(
            "median {first_med:.1} ms, max {:.1} ms",
            max(&starts.first_frame)
        ),
        "< 50 ms",
        verdict(first_med < 50.0),
        verdict(max(&starts.first_frame) < 50.0)
    );
    println!(
        "{:<44} {:<46} {:<12} -",
        "    the same, minus tmux's median",
        format!("median {:.1} ms", first_med - tmux_net),
        ""
    );
    println!(
        "{:<44} {:<46} {:<12} {} (max {})",
        "(a) members filled, from spawn (tmux incl.)",
        format!(
            "median {filled_med:.1} ms, max {:.1} ms",
            max(&starts.filled)
        ),
        "< 300 ms",
        verdict(filled_med < 300.0),
        verdict(max(&starts.filled) < 300.0)
    );
    for (label, mean, p99) in [
        (
            "(b) render 200x60 (both panes), per frame",
            wide_mean,
            wide_p99,
        ),
        (
            "(b) render 80x24 (members pane), per frame",
            narrow_mean,
            narrow_p99,
        ),
        (
            "(b) render 80x24 (inventory pane), per frame",
            inv_mean,
            inv_p99,
        ),
    ] {
        println!(
            "{:<44} {:<46} {:<12} {}",
            label,
            format!("mean {mean:.3} ms, p99 {p99:.3} ms"),
            "< 2 ms",
            verdict(p99 < 2.0)
        );
    }
    println!(
        "{:<44} {:<46} {:<12} {}",
        format!("(c) idle CPU over {:.0} s", idle.secs),
        format!("{:.2} % of one core", idle.cpu_percent),
        "< 2 %",
        verdict(idle.cpu_percent < 2.0)
    );
    let worst = idle
        .status_per_member
        .iter()
        .map(|(_, r)| *r)
        .fold(0.0, f64::max);
    println!(
        "{:<44} {:<46} {:<12} {}",
        "(c) Status calls per member per second",
        idle.status_per_member
            .iter()
            .map(|(n, r)| format!("{n} {r:.2}"))
            .collect::<Vec<_>>()
            .join(", "),
        format!("<= {:.2}", 1.0 / REFRESH_SECS),
        // A call per beat, and the beat is measured from each call's start: allow rounding at
        // the window's edges.
        verdict(worst <= 1.0 / REFRESH_SECS + 1.0 / idle.secs)
    );
    println!(
        "{:<44} {:<46} {:<12} {}",
        "(c) MemberList calls per second (cluster)",
        format!("{:.2}", idle.member_list_per_sec),
        format!("<= {:.2}", 1.0 / REFRESH_SECS),
        verdict(idle.member_list_per_sec <= 1.0 / REFRESH_SECS + 1.0 / idle.secs)
    );
    println!(
        "{:<44} {:<46} {:<12} -",
        "(c) frames drawn per second while idle",
        format!("{:.2}", idle.frames_per_sec),
        ""
    );
    for (label, (mean, p99, steps)) in [
        ("(d) D: defrag plan + 80x24 frame, in process", wizard_d),
        ("(d) C: compact plan + 80x24 frame, in process", wizard_c),
    ] {
        println!(
            "{:<44} {:<46} {:<12} {}",
            label,
            format!("mean {mean:.3} ms, p99 {p99:.3} ms ({steps} steps)"),
            "< 100 ms",
            verdict(p99 < 100.0 && steps > 0)
        );
    }
    let wizard_med = median(&wizard_tmux);
    println!(
        "{:<44} {:<46} {:<12} {} (max {})",
        "(d) D to the plan on screen (tmux included)",
        format!("median {wizard_med:.1} ms, max {:.1} ms", max(&wizard_tmux)),
        "< 100 ms",
        verdict(wizard_med < 100.0),
        verdict(max(&wizard_tmux) < 100.0)
    );
    println!();
    println!("runs (ms): first frame [{}]", list(&starts.first_frame));
    println!("           members filled [{}]", list(&starts.filled));
    println!(
        "           tmux to process [{}]",
        list(&starts.tmux_to_process)
    );
    println!("           D to the plan [{}]", list(&wizard_tmux));
}
