//! `etcdeck demo --headless` as a user runs it: a real sandbox from an inventory file, seeded
//! under the namespace asked for, stopped by SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{clear_etcd_env, fresh_inventory, stdout};
use serde_json::Value;

#[test]
fn demo_seeds_and_reports_the_namespace_it_is_given() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let inv = dir.path().join("pigsty.yml");
    std::fs::write(&inv, fresh_inventory(1)).expect("inventory written");
    let state = dir.path().join("state");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_etcdeck"));
    clear_etcd_env(&mut cmd);
    let mut demo = cmd
        .args(["demo", "--headless", "--namespace", "/svc", "-i"])
        .arg(&inv)
        .arg("--state-dir")
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("demo starts");
    let out = demo.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut lines = Vec::new();
    let until = Instant::now() + Duration::from_secs(60);
    while !lines.iter().any(|l: &String| l.starts_with("Running;")) {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => lines.push(l),
            Err(_) => {
                let _ = demo.kill();
                panic!("demo not running within 60 s:\n{}", lines.join("\n"));
            }
        }
    }
    let all = lines.join("\n");
    assert!(
        all.contains("Patroni keys under /svc for 3 PostgreSQL clusters"),
        "{all}"
    );
    assert!(!all.contains("under /pg"), "{all}");

    // The keys are where it says, and nothing under /pg.
    let env = std::fs::read_to_string(state.join("etcdctl.sh")).expect("etcdctl.sh written");
    let keys = |prefix: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_etcdeck"));
        clear_etcd_env(&mut cmd);
        for line in env.lines() {
            if let Some((k, v)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
                cmd.env(k, v.trim_matches('\''));
            }
        }
        let o = cmd
            .args(["keys", prefix, "--json"])
            .output()
            .expect("keys runs");
        assert!(o.status.success(), "{}", stdout(&o));
        let v: Value = serde_json::from_str(&stdout(&o)).expect("JSON");
        v["count"].as_u64().expect("count")
    };
    assert!(keys("/svc/") > 10, "the demo's keys under /svc");
    assert_eq!(keys("/pg/"), 0, "nothing under /pg");

    unsafe {
        libc::kill(demo.id() as i32, libc::SIGTERM);
    }
    let waited = Instant::now();
    loop {
        if demo.try_wait().expect("wait").is_some() {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(15),
            "demo still running 15 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
