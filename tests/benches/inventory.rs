//! `cargo bench --bench inventory`: `etcdeck inventory check` (the release binary) on large
//! inventories, wall time and peak memory (the child's maxrss from wait4).
//!
//! 1. A 10 MB full Pigsty file: `all.vars`, thousands of PostgreSQL clusters with host vars and
//!    users, and the `etcd` group (target: < 2 s, peak memory < 10x the file).
//! 2. The same size nested 100 levels deep over and over (under the limit; target as 1).
//! 3. 10 MB of flow nesting far past the limit, and of block sequences (`- - - ...`) on one
//!    line: refused at the level past the limit (target: < 2 s, < 10x the file).
//! 4. An alias bomb and `/dev/zero`: refused (target: < 1 s).
//!
//! `ETCDECK_BENCH_INVENTORY_MB=N` sets the size (default 10).

#[path = "../common/mod.rs"]
mod common;

#[allow(unused_imports)]
use common::stats::*;

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A Pigsty file of about `size` bytes with a valid `etcd` group.
fn pigsty(size: usize) -> String {
    let mut s = String::from(
        "all:\n  vars:\n    admin_ip: 10.10.10.10\n    region: default\n    etcd_port: 2379\n  children:\n    etcd:\n      hosts:\n        10.10.10.10: { etcd_seq: 1 }\n        10.10.10.11: { etcd_seq: 2 }\n        10.10.10.12: { etcd_seq: 3 }\n      vars: { etcd_cluster: etcd, etcd_safeguard: false }\n",
    );
    let mut n = 0u32;
    while s.len() < size {
        n += 1;
        let _ = write!(
            s,
            "    pg-c{n}:\n      hosts:\n        10.{}.{}.1: {{ pg_seq: 1, pg_role: primary }}\n        10.{}.{}.2: {{ pg_seq: 2, pg_role: replica }}\n      vars:\n        pg_cluster: pg-c{n}\n        pg_users: [ {{ name: dbuser_c{n}, password: \"DBUser.C{n}\", pgbouncer: true, roles: [ dbrole_readwrite ] }} ]\n        pg_databases: [ {{ name: c{n}, owner: dbuser_c{n}, comment: \"database number {n}\" }} ]\n        pg_hba_rules:\n          - {{ user: dbuser_c{n}, db: all, addr: intra, auth: pwd, title: 'allow c{n}' }}\n",
            n / 250 % 250,
            n % 250,
            n / 250 % 250,
            n % 250
        );
    }
    s
}

/// About `size` bytes of mappings nested 100 levels, again and again, under `junk`.
fn nested(size: usize) -> String {
    let mut s = pigsty(0);
    s.push_str("    junk:\n      vars:\n        deep: [\n");
    while s.len() < size {
        s.push_str(&"{ a: ".repeat(100));
        s.push('1');
        s.push_str(&" }".repeat(100));
        s.push_str(",\n");
    }
    s.push_str("        ]\n");
    s
}

struct Run {
    took: Duration,
    max_rss: u64,
    code: Option<i32>,
    first_line: String,
}

/// `etcdeck inventory check FILE`: wall time, the child's peak RSS, its exit code. The child is
/// reaped by wait4 (for its rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn check(file: &Path) -> Run {
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_etcdeck"))
        .args(["inventory", "check"])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("etcdeck runs");
    let pid = child.id() as libc::pid_t;
    let mut err = child.stderr.expect("stderr piped");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut err, &mut text).ok();
    let mut status = 0;
    // SAFETY: wait4 on our own child with valid out-pointers.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    let took = started.elapsed();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Run {
        took,
        // Linux reports ru_maxrss in KiB.
        max_rss: usage.ru_maxrss as u64 * 1024,
        code,
        first_line: text.lines().next().unwrap_or_default().to_string(),
    }
}

fn main() {
    let mb = env_num("ETCDECK_BENCH_INVENTORY_MB", 10) as usize;
    let size = mb * 1_000_000;
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let mut cases: Vec<(String, std::path::PathBuf, Duration, f64)> = Vec::new();
    let mut add = |name: &str, file: &str, text: &str, limit_s: f64, x: f64| {
        let path = dir.path().join(file);
        std::fs::write(&path, text).expect("write the inventory");
        cases.push((name.to_string(), path, Duration::from_secs_f64(limit_s), x));
    };
    println!("writing {mb} MB inventories...");
    add(
        &format!("{mb} MB full Pigsty file: check"),
        "pigsty.yml",
        &pigsty(size),
        2.0,
        10.0,
    );
    add(
        &format!("{mb} MB nested 100 deep, repeated: check"),
        "nested.yml",
        &nested(size),
        2.0,
        10.0,
    );
    let half = size / 2;
    add(
        &format!("{mb} MB of `[` past the depth limit: refused"),
        "flow.yml",
        &format!("a: {}{}\n", "[".repeat(half), "]".repeat(half)),
        2.0,
        10.0,
    );
    add(
        &format!("{mb} MB of `- - -` on one line: refused"),
        "dashes.yml",
        &format!("a:\n{}x\n", "- ".repeat(half)),
        2.0,
        10.0,
    );
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10u8 {
        let (n, p) = ((b'a' + i) as char, (b'a' + i - 1) as char);
        let _ = writeln!(bomb, "{n}: &{n} [{}]", vec![format!("*{p}"); 9].join(", "));
    }
    add(
        "alias bomb (9^10 nodes): refused",
        "bomb.yml",
        &bomb,
        1.0,
        0.0,
    );

    let mut rows = Vec::new();
    for (name, path, limit, x) in &cases {
        let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        println!("  {name} ({bytes} bytes)...");
        rows.push((name.clone(), bytes, *limit, *x, check(path)));
    }
    println!("  /dev/zero...");
    let zero = check(Path::new("/dev/zero"));

    println!();
    println!(
        "{:<48} {:<58} {:<20} verdict",
        "figure", "measured", "target"
    );
    println!("{}", "-".repeat(136));
    let row = |figure: &str, measured: String, target: String, verdict: &str| {
        println!("{figure:<48} {measured:<58} {target:<20} {verdict}");
    };
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    let mut all = true;
    for (name, bytes, limit, x, run) in &rows {
        let ok_time = run.took < *limit;
        row(
            name,
            format!("{:.0} ms, exit {:?}", ms(run.took), run.code),
            format!("< {:.0} s", limit.as_secs_f64()),
            verdict(ok_time),
        );
        all &= ok_time;
        if *x > 0.0 {
            let ok_mem = (run.max_rss as f64) < *x * *bytes as f64;
            row(
                "  peak memory (maxrss)",
                format!(
                    "{:.1} MiB, {:.1}x the file",
                    mib(run.max_rss),
                    run.max_rss as f64 / *bytes as f64
                ),
                format!("< {x:.0}x the file"),
                verdict(ok_mem),
            );
            all &= ok_mem;
        }
        row(
            "  says",
            run.first_line.chars().take(58).collect(),
            "-".into(),
            "-",
        );
    }
    let ok = zero.took < Duration::from_secs(1) && zero.first_line.contains("a device");
    row(
        "/dev/zero: refused",
        format!("{:.0} ms, {:.1} MiB", ms(zero.took), mib(zero.max_rss)),
        "< 1 s".into(),
        verdict(ok),
    );
    all &= ok;
    println!();
    println!("{}", if all { "all PASS" } else { "some FAIL" });
}
