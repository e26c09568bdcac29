//! The membership wizards' command-line twins against real clusters, with the sandbox
//! provisioner: 3 to 5 and back to 3 while Patroni-shaped leader keys are renewed, replace a
//! killed member, remove the leader, SIGKILL after every step and resume, an unstarted learner
//! rolled back.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{stderr, stdout, TestCluster};
use etcdeck::etcd::status::{self, ClusterStatus};
use serde_json::Value;

/// `etcdeck -i <the cluster's inventory> ARGS`.
fn run(tc: &TestCluster, args: &[&str]) -> std::process::Output {
    let inv = tc.inventory_file().display().to_string();
    let mut all = vec!["-i", inv.as_str()];
    all.extend_from_slice(args);
    tc.etcdeck(&all)
}

fn ok(tc: &TestCluster, args: &[&str]) -> String {
    let o = run(tc, args);
    assert!(
        o.status.success(),
        "etcdeck {args:?} failed:\n{}\n{}",
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// The audit log's entries, parsed.
fn audit(tc: &TestCluster) -> Vec<Value> {
    let p = tc.state_home().join("etcdeck/audit.log");
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit lines are JSON"))
        .collect()
}

/// How many times each step ended well, by its text.
fn ok_counts(tc: &TestCluster) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for e in audit(tc) {
        if e["phase"] == "end" && e["outcome"] == "ok" {
            *out.entry(e["step"].as_str().unwrap_or_default().to_string())
                .or_default() += 1;
        }
    }
    out
}

async fn look(tc: &TestCluster) -> ClusterStatus {
    status::observe(&tc.cluster(Duration::from_secs(2)))
        .await
        .expect("status")
}

/// Every started member's own member list: (name, learner) pairs, sorted.
async fn member_lists(tc: &TestCluster) -> Vec<(String, Vec<(String, bool)>)> {
    let s = look(tc).await;
    let cluster = tc.cluster(Duration::from_secs(2));
    let mut out = Vec::new();
    for m in s.members.iter().filter(|m| m.started && m.reachable) {
        let url = m.client_urls[0].clone();
        let (list, _) = cluster
            .call(&url, |mut c| async move { c.member_list().await })
            .await
            .expect("member list");
        let mut names: Vec<(String, bool)> = list
            .members()
            .iter()
            .map(|x| (x.name().to_string(), x.is_learner()))
            .collect();
        names.sort();
        out.push((m.name.clone(), names));
    }
    out
}

/// Assert that every member lists exactly `names`, all voters.
async fn all_voters(tc: &TestCluster, names: &[&str]) {
    let mut want: Vec<(String, bool)> = names.iter().map(|n| (n.to_string(), false)).collect();
    want.sort();
    let lists = member_lists(tc).await;
    assert_eq!(lists.len(), names.len(), "{lists:?}");
    for (who, list) in lists {
        assert_eq!(list, want, "{who}'s member list");
    }
}

/// The keys of the steps `etcdeck ARGS --dry-run --json` plans.
fn planned_keys(tc: &TestCluster, args: &[&str]) -> Vec<String> {
    let mut all = args.to_vec();
    all.extend(["--dry-run", "--json"]);
    let plan = run(tc, &all);
    let v: Value = serde_json::from_str(stdout(&plan).trim()).unwrap();
    v["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap().to_string())
        .collect()
}

/// The 1-based number of the step `key` in what `ARGS` plans.
fn step_number(tc: &TestCluster, args: &[&str], key: &str) -> usize {
    planned_keys(tc, args)
        .iter()
        .position(|k| k == key)
        .unwrap()
        + 1
}

/// Assert that each step beginning with one of `whats` ended well exactly once in the audit
/// log (`after` says when, for the message).
fn done_once(tc: &TestCluster, whats: &[String], after: &str) {
    let counts = ok_counts(tc);
    for what in whats {
        let n: usize = counts
            .iter()
            .filter(|(s, _)| s.starts_with(what.as_str()))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(n, 1, "{what} {after}: {counts:?}");
    }
}

/// Patroni-shaped load: a leader key on a 30 s lease renewed every 10 s, and a look at the
/// cluster every 250 ms recording the longest stretch without a leader and quorum.
struct Watch {
    stop: Arc<AtomicBool>,
    lease_lost: Arc<AtomicBool>,
    longest_out_ms: Arc<AtomicU64>,
    looks: Arc<AtomicU64>,
    leaders: Arc<Mutex<Vec<u64>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

async fn watch(tc: &TestCluster) -> Watch {
    let cluster = tc.cluster(Duration::from_secs(5));
    let urls = tc.sandbox.client_urls();
    let mut c = cluster.balanced(&urls).await.unwrap();
    let lease = c.lease_grant(30, None).await.unwrap().id();
    c.put(
        "/pg/pg-meta/leader",
        "pg-meta-1",
        Some(etcd_client::PutOptions::new().with_lease(lease)),
    )
    .await
    .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let lease_lost = Arc::new(AtomicBool::new(false));
    let longest_out_ms = Arc::new(AtomicU64::new(0));
    let looks = Arc::new(AtomicU64::new(0));
    let leaders = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    {
        let (stop, lease_lost, mut c) = (stop.clone(), lease_lost.clone(), c.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                match tokio::time::timeout(Duration::from_secs(5), async {
                    let r = c.lease_time_to_live(lease, None).await?;
                    let (mut k, mut s) = c.lease_keep_alive(lease).await?;
                    k.keep_alive().await?;
                    let _ = s.message().await?;
                    let key = c.get("/pg/pg-meta/leader", None).await?;
                    Ok::<_, etcd_client::Error>(r.ttl() > 0 && key.count() == 1)
                })
                .await
                {
                    Ok(Ok(true)) => {}
                    _ => lease_lost.store(true, Ordering::SeqCst),
                }
                for _ in 0..100 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }));
    }
    {
        let (stop, longest, looks, leaders) = (
            stop.clone(),
            longest_out_ms.clone(),
            looks.clone(),
            leaders.clone(),
        );
        let cluster = tc.cluster(Duration::from_secs(1));
        tasks.push(tokio::spawn(async move {
            let mut out_since: Option<Instant> = None;
            while !stop.load(Ordering::SeqCst) {
                let up = match status::observe(&cluster).await {
                    Ok(s) => {
                        if let Some(l) = s.leader {
                            let mut v = leaders.lock().unwrap();
                            if v.last() != Some(&l) {
                                v.push(l);
                            }
                        }
                        let q = s.quorum();
                        s.leader.is_some() && q.up >= q.needed
                    }
                    Err(_) => false,
                };
                looks.fetch_add(1, Ordering::SeqCst);
                match (up, out_since) {
                    (false, None) => out_since = Some(Instant::now()),
                    (true, Some(t)) => {
                        longest.fetch_max(t.elapsed().as_millis() as u64, Ordering::SeqCst);
                        out_since = None;
                    }
                    _ => {}
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            if let Some(t) = out_since {
                longest.fetch_max(t.elapsed().as_millis() as u64, Ordering::SeqCst);
            }
        }));
    }
    Watch {
        stop,
        lease_lost,
        longest_out_ms,
        looks,
        leaders,
        tasks,
    }
}

impl Watch {
    /// (lease lost, longest stretch out of quorum or leader in ms, looks, leaders seen).
    async fn stop(self) -> (bool, u64, u64, Vec<u64>) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            let _ = t.await;
        }
        let leaders = self.leaders.lock().unwrap().clone();
        (
            self.lease_lost.load(Ordering::SeqCst),
            self.longest_out_ms.load(Ordering::SeqCst),
            self.looks.load(Ordering::SeqCst),
            leaders,
        )
    }
}

/// The inventory's lines, to compare before and after.
fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_to_five_and_back_while_patroni_renews_its_leader_key() {
    let tc = TestCluster::start_spare(3, 2).await;
    let before = std::fs::read_to_string(tc.inventory_file()).unwrap();
    let (ip4, ip5) = (tc.spare_ip(4), tc.spare_ip(5));
    let w = watch(&tc).await;

    let out = ok(&tc, &["member", "add", "--ip", &ip4, "--yes"]);
    assert!(out.contains("member add: done"), "{out}");
    all_voters(&tc, &["etcd-1", "etcd-2", "etcd-3", "etcd-4"]).await;
    let out = ok(
        &tc,
        &["member", "add", "--ip", &ip5, "--yes", "--no-snapshot"],
    );
    assert!(out.contains("member add: done"), "{out}");
    all_voters(&tc, &["etcd-1", "etcd-2", "etcd-3", "etcd-4", "etcd-5"]).await;

    // The inventory has the two hosts, and nothing else changed.
    let grown = std::fs::read_to_string(tc.inventory_file()).unwrap();
    let added: Vec<String> = lines(&grown)
        .into_iter()
        .filter(|l| !lines(&before).contains(l))
        .collect();
    assert_eq!(added.len(), 2, "{grown}");
    assert!(
        added[0].contains(&format!("{ip4}: {{ etcd_seq: 4 }}")),
        "{added:?}"
    );
    assert!(
        added[1].contains(&format!("{ip5}: {{ etcd_seq: 5 }}")),
        "{added:?}"
    );
    assert!(lines(&before).iter().all(|l| lines(&grown).contains(l)));

    for name in ["etcd-5", "etcd-4"] {
        let o = run(&tc, &["member", "remove", name, "--yes", "--no-snapshot"]);
        assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    }
    all_voters(&tc, &["etcd-1", "etcd-2", "etcd-3"]).await;
    let (lease_lost, longest_out, looks, _) = w.stop().await;
    assert!(
        !lease_lost,
        "the Patroni leader lease expired or its key vanished"
    );
    assert!(looks > 20, "the watch looked {looks} times");
    assert!(
        longest_out < 1000,
        "the cluster was without a leader or quorum for {longest_out} ms"
    );
    // Removed members are stopped and purged; their hosts commented out, not deleted.
    for name in ["etcd-4", "etcd-5"] {
        assert!(
            !tc.dir.path().join(name).join("data").exists(),
            "{name} purged"
        );
        assert!(etcdeck::sandbox::running_pid(&tc.dir.path().join(name)).is_none());
    }
    let shrunk = std::fs::read_to_string(tc.inventory_file()).unwrap();
    for ip in [&ip4, &ip5] {
        let line = shrunk
            .lines()
            .find(|l| l.contains(ip.as_str()))
            .expect("kept");
        assert!(line.trim_start().starts_with('#'), "{line}");
    }
    let inv = etcdeck::inventory::parse(&shrunk, "inventory.yml", &[]).unwrap();
    assert_eq!(inv.hosts.len(), 3);
    // Every change is in the audit log, once.
    let counts = ok_counts(&tc);
    let adds: usize = counts
        .iter()
        .filter(|(k, _)| k.starts_with("add etcd-"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(adds, 2, "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_member_is_replaced_dead_one_removed_first() {
    let mut tc = TestCluster::start_spare(3, 1).await;
    let leader = tc.leader_name().await;
    let victim = ["etcd-3", "etcd-2"]
        .into_iter()
        .find(|n| *n != leader)
        .unwrap();
    tc.sandbox.kill(victim).unwrap();
    let ip4 = tc.spare_ip(4);
    // A plain add is refused while it is down, with replace offered.
    let o = run(&tc, &["member", "add", "--ip", &ip4, "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("etcdeck member replace {victim} --ip {ip4}")),
        "{}",
        stderr(&o)
    );
    let out = ok(
        &tc,
        &["member", "replace", victim, "--ip", &ip4, "--yes", "--json"],
    );
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["phase"]["phase"], "done", "{v}");
    let order: Vec<&str> = v["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["key"].as_str())
        .collect();
    let rm = order.iter().position(|k| *k == "old:remove").unwrap();
    let add = order.iter().position(|k| *k == "new:add").unwrap();
    assert!(rm < add, "{order:?}");
    let mut names: Vec<&str> = ["etcd-1", "etcd-2", "etcd-3", "etcd-4"]
        .into_iter()
        .filter(|n| n != &victim)
        .collect();
    names.sort();
    all_voters(&tc, &names).await;
    assert!(!tc.dir.path().join(victim).join("data").exists(), "purged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_leader_moves_leadership_first() {
    let tc = TestCluster::start_spare(3, 0).await;
    let leader = tc.leader_name().await;
    let out = ok(
        &tc,
        &[
            "member",
            "remove",
            &leader,
            "--yes",
            "--json",
            "--no-snapshot",
        ],
    );
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    let keys: Vec<&str> = v["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["key"].as_str())
        .collect();
    let mv = keys
        .iter()
        .position(|k| *k == "move-leader")
        .expect("moved");
    let rm = keys.iter().position(|k| *k == "remove").unwrap();
    assert!(mv < rm, "{keys:?}");
    assert!(
        v["plan"]["warnings"].to_string().contains("2 voters"),
        "{}",
        v["plan"]["warnings"]
    );
    let s = look(&tc).await;
    assert_eq!(s.members.len(), 2);
    assert!(s.members.iter().all(|m| m.name != leader));
    assert!(s.leader.is_some());
}

/// Start `etcdeck ARGS` and SIGKILL it as step `k` (1-based) begins, that is once the steps
/// before it are done; its whole output so far.
fn kill_at_step(tc: &TestCluster, args: &[&str], k: usize) -> String {
    let inv = tc.inventory_file().display().to_string();
    let mut all = vec!["-i", inv.as_str()];
    all.extend_from_slice(args);
    let mut child = tc
        .etcdeck_command(&all)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    let out = BufReader::new(child.stdout.take().unwrap());
    let prefix = format!("[{k}/");
    for line in out.lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with(&prefix) {
            child.kill().unwrap(); // SIGKILL
            break;
        }
    }
    let _ = child.wait();
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_every_step_of_an_add_then_the_same_command_finishes_it() {
    let tc = TestCluster::start_spare(3, 1).await;
    let ip4 = tc.spare_ip(4);
    let steps = planned_keys(&tc, &["member", "add", "--ip", &ip4, "--no-snapshot"]).len();
    for (seq, k) in (4..).zip(2..=steps) {
        let args = [
            "member",
            "add",
            "--ip",
            ip4.as_str(),
            "--yes",
            "--no-snapshot",
        ];
        let seen = kill_at_step(&tc, &args, k);
        assert!(seen.contains(&format!("[{k}/")), "step {k} began:\n{seen}");
        // Killed at the last step, the add may have ended before the kill landed: the same
        // command is then refused, and says that it ended done already.
        let o = run(&tc, &args);
        let out = stdout(&o);
        assert!(
            (o.status.success() && (out.contains("resuming") || out.contains("member add: done")))
                || (k == steps && out.contains("the same command ended done already")),
            "{out}\n{}",
            stderr(&o)
        );
        let name = format!("etcd-{seq}");
        all_voters(&tc, &["etcd-1", "etcd-2", "etcd-3", name.as_str()]).await;
        if k == steps {
            // Once more, with the add surely over: refused, nothing is done again, and it says
            // which run did it.
            let again = run(&tc, &args);
            assert_eq!(again.status.code(), Some(1));
            assert!(
                stdout(&again)
                    .contains("member add: the same command ended done already: member-add-"),
                "{}",
                stdout(&again)
            );
            assert!(
                stderr(&again).contains("exists already"),
                "{}",
                stderr(&again)
            );
        }
        // Nothing was done twice: one add, one promote, one inventory edit.
        done_once(
            &tc,
            &[
                format!("add {name} at"),
                format!("promote {name}"),
                format!("add {ip4} (etcd_seq {seq})"),
            ],
            &format!("after a kill at step {k}"),
        );
        // Back to three for the next round; the next add takes a new seq.
        ok(&tc, &["member", "remove", &name, "--yes", "--no-snapshot"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unstarted_learner_is_named_and_rolled_back() {
    let tc = TestCluster::start_spare(3, 1).await;
    let ip4 = tc.spare_ip(4);
    let args = [
        "member",
        "add",
        "--ip",
        ip4.as_str(),
        "--yes",
        "--no-snapshot",
        "--start-wait",
        "60s",
    ];
    let start = step_number(
        &tc,
        &["member", "add", "--ip", &ip4, "--no-snapshot"],
        "start",
    );
    kill_at_step(&tc, &args, start);
    let s = look(&tc).await;
    let learner = s.members.iter().find(|m| m.is_learner).expect("a learner");
    assert!(!learner.started);
    // Another add names it, with what to do.
    let o = run(
        &tc,
        &["member", "add", "--ip", &ip4, "--fresh", "--dry-run"],
    );
    assert!(
        stderr(&o).contains("was added but never started"),
        "{}",
        stderr(&o)
    );
    // Roll it back.
    let id = format!("{:x}", learner.id);
    ok(&tc, &["member", "remove", &id, "--yes", "--no-snapshot"]);
    let s = look(&tc).await;
    assert_eq!(s.members.len(), 3);
    assert!(s.members.iter().all(|m| !m.is_learner));
    // The add it rolled back is over: a new add plans afresh (a new seq) and finishes.
    let out = ok(&tc, &args);
    assert!(!out.contains("resuming"), "{out}");
    all_voters(&tc, &["etcd-1", "etcd-2", "etcd-3", "etcd-5"]).await;
}

/// Wait until `f` holds (a look every 200 ms), at most `within`.
async fn until(within: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < within, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The operator's side of a node set up by hand: etcd started from the `etcd.conf` etcdeck
/// wrote, with Pigsty's node paths (`/etc/etcd/...`, `/data/etcd`) moved into `dir` as an
/// install would put them, and without the 127.0.0.1 listener (many members share a machine
/// here). Returns the process.
fn start_from_written_conf(dir: &std::path::Path, conf: &str) -> std::process::Child {
    let d = dir.display().to_string();
    let text = conf
        .replace("/etc/etcd/server.crt", &format!("{d}/server.crt"))
        .replace("/etc/etcd/server.key", &format!("{d}/server.key"))
        .replace("/etc/etcd/ca.crt", &format!("{d}/ca.crt"))
        .replace("\"/data/etcd\"", &format!("\"{d}/data\""))
        .lines()
        .map(|l| {
            if l.starts_with("listen-client-urls:") {
                let first = l.split(',').next().unwrap().trim_end_matches('"');
                format!("{first}\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let installed = dir.join("installed.conf");
    std::fs::write(&installed, text).unwrap();
    let mut cmd = std::process::Command::new(etcdeck::sandbox::find_etcd().unwrap());
    common::clear_etcd_env(&mut cmd);
    cmd.arg("--config-file")
        .arg(&installed)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("etcd.log")).unwrap())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_the_operator_starts_etcd_from_the_written_files() {
    use std::os::unix::fs::PermissionsExt;
    let tc = TestCluster::start_spare(3, 1).await;
    // A node of its own on loopback: the address the member listens on, as in the inventory.
    let ip = tc.spare_ip(4).replacen("10.", "127.", 1);
    let out = tc.dir.path().join("node-4");
    let (ca, key) = (
        tc.dir.path().join("pki/ca.crt"),
        tc.dir.path().join("pki/ca.key"),
    );
    let inv = tc.inventory_file().display().to_string();
    let (ca_s, key_s, out_s) = (
        ca.display().to_string(),
        key.display().to_string(),
        out.display().to_string(),
    );
    let args = [
        "-i",
        inv.as_str(),
        "member",
        "add",
        "--ip",
        ip.as_str(),
        "--provision",
        "manual",
        "--out",
        out_s.as_str(),
        "--ca-cert",
        ca_s.as_str(),
        "--ca-key",
        key_s.as_str(),
        "--yes",
        "--no-snapshot",
        "--start-wait",
        "60s",
    ];
    let child = tc
        .etcdeck_command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // etcdeck writes the files, adds the learner, then waits for it.
    let conf = out.join("etcd.conf");
    until(Duration::from_secs(30), "the learner added", || {
        conf.exists()
            && tc
                .etcdctl(&["member", "list"])
                .stdout
                .windows(9)
                .any(|w| w == b"unstarted")
    })
    .await;
    let mode = |f: &str| std::fs::metadata(out.join(f)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("server.key"), 0o600);
    assert_eq!(mode("server.crt"), 0o644);
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains("initial-cluster-state: existing"), "{text}");
    assert!(
        text.contains(&format!("etcd-4=https://{ip}:2380")),
        "{text}"
    );
    let mut etcd = start_from_written_conf(&out, &text);
    let o = child.wait_with_output().unwrap();
    let _ = etcd.kill();
    let _ = etcd.wait();
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    // The commands to run on the node were shown before etcdeck waited.
    assert!(stderr(&o).contains("systemctl"), "{}", stderr(&o));
    assert!(stdout(&o).contains("member add: done"), "{}", stdout(&o));
}

/// A stand-in for Pigsty's playbooks (Ansible cannot be installed here): each records its
/// arguments and working directory in `calls.log`, prints a few lines, and does what the
/// playbook would to the node: `etcd.yml -l IP -e etcd_init=existing` starts etcd from the
/// config etcdeck rendered (Pigsty renders the same from the inventory) with the certificate
/// etcdeck put in `files/pki/etcd`; `etcd-rm.yml -l IP` stops it and deletes its data.
fn stand_in_pigsty(home: &std::path::Path, state: &std::path::Path, nodes: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let etcd = etcdeck::sandbox::find_etcd().unwrap().display().to_string();
    let common = r##"#!/bin/bash
echo "$(basename "$0") $* @ $PWD" >> calls.log
echo "PLAY [etcd] $*"
echo 'TASK [etcd : something] ok' >&2
"##;
    let etcd_yml = r##"
if [ "$3" = "-e" ] && [ "$4" = "etcd_init=existing" ]; then
  ip="$2"
  conf=$(ls @STATE@/etcdeck/members/*/*/etcd.conf | head -1)
  name=$(basename "$(dirname "$conf")")
  node="@NODES@/node-$ip"; mkdir -p "$node"
  sed -e "s#/etc/etcd/server.crt#$PWD/files/pki/etcd/$name.crt#" \
      -e "s#/etc/etcd/server.key#$PWD/files/pki/etcd/$name.key#" \
      -e "s#/etc/etcd/ca.crt#$PWD/files/pki/ca/ca.crt#" \
      -e "s#\"/data/etcd\"#\"$node/data\"#" \
      -e "s#,https://127.0.0.1:2379##" "$conf" > "$node/etcd.conf"
  # Started as systemd would: outside the playbook's process group.
  setsid -f sh -c 'echo $$ > "$1/etcd.pid"; exec "$2" --config-file "$1/etcd.conf"' \
    sh "$node" @ETCD@ > "$node/etcd.log" 2>&1 < /dev/null
  sleep 0.2
  echo "started $name on $ip"
fi
exit 0
"##;
    let etcd_rm = r##"
ip="$2"; node="@NODES@/node-$ip"
[ -f "$node/etcd.pid" ] && kill "$(cat "$node/etcd.pid")" && sleep 1
rm -rf "$node/data"
echo "purged $ip"
exit 0
"##;
    let fill = |s: &str| {
        format!("{common}{s}")
            .replace("@STATE@", &state.display().to_string())
            .replace("@NODES@", &nodes.display().to_string())
            .replace("@ETCD@", &etcd)
    };
    for (name, body) in [
        ("etcd.yml", fill(etcd_yml)),
        ("etcd-rm.yml", fill(etcd_rm)),
        ("infra.yml", fill("exit 0\n")),
        ("pgsql.yml", fill("exit 0\n")),
    ] {
        let p = home.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pigsty_playbooks_start_and_purge_the_member_in_order() {
    let tc = TestCluster::start_spare(3, 1).await;
    // A Pigsty home: the inventory (the members at their loopback addresses), the CA under
    // files/pki/ca, the playbooks.
    let home = tc.dir.path().join("pigsty");
    std::fs::create_dir_all(home.join("files/pki/ca")).unwrap();
    for f in ["ca.crt", "ca.key"] {
        std::fs::copy(
            tc.dir.path().join("pki").join(f),
            home.join("files/pki/ca").join(f),
        )
        .unwrap();
    }
    let text = tc.inventory_text.replace("    10.", "    127.");
    std::fs::write(home.join("pigsty.yml"), &text).unwrap();
    // The nodes' directories sit in the sandbox's, so that the sandbox stops what runs there.
    stand_in_pigsty(&home, &tc.state_home(), tc.dir.path());
    let inv = home.join("pigsty.yml").display().to_string();
    let ip = tc.spare_ip(4).replacen("10.", "127.", 1);
    let o = tc.etcdeck(&[
        "-i",
        &inv,
        "member",
        "add",
        "--ip",
        &ip,
        "--yes",
        "--no-snapshot",
    ]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    // The playbook's output was streamed into the wizard.
    assert!(stderr(&o).contains("| PLAY [etcd]"), "{}", stderr(&o));
    assert!(stderr(&o).contains("| started etcd-4 on"), "{}", stderr(&o));
    all_voters(&tc, &["etcd-1", "etcd-2", "etcd-3", "etcd-4"]).await;
    let calls = std::fs::read_to_string(home.join("calls.log")).unwrap();
    let here = format!("@ {}", home.display());
    let first = calls.lines().next().unwrap();
    assert_eq!(
        first,
        format!("etcd.yml -l {ip} -e etcd_init=existing --skip-tags etcd_cert_issue {here}")
    );
    // The references: the other members' etcd.conf, the admin node's env, limited each.
    assert!(calls.contains("-t etcd_conf"), "{calls}");
    assert!(calls.contains("infra.yml -l infra -t env_etcd"), "{calls}");
    assert!(calls.lines().all(|l| l.contains(" -l ")), "{calls}");
    // The inventory has the host.
    let after = std::fs::read_to_string(home.join("pigsty.yml")).unwrap();
    assert!(
        after.contains(&format!("{ip}: {{ etcd_seq: 4 }}")),
        "{after}"
    );

    let o = tc.etcdeck(&[
        "-i",
        &inv,
        "member",
        "remove",
        "etcd-4",
        "--yes",
        "--no-snapshot",
    ]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    all_voters(&tc, &["etcd-1", "etcd-2", "etcd-3"]).await;
    let calls = std::fs::read_to_string(home.join("calls.log")).unwrap();
    assert!(
        calls
            .lines()
            .any(|l| l == format!("etcd-rm.yml -l {ip} {here}")),
        "{calls}"
    );
    // The purge ran only after the remove succeeded.
    let steps: Vec<String> = audit(&tc)
        .iter()
        .filter(|e| e["phase"] == "end" && e["outcome"] == "ok")
        .filter_map(|e| e["step"].as_str().map(str::to_string))
        .collect();
    let rm = steps
        .iter()
        .position(|s| s.starts_with("remove etcd-4"))
        .unwrap();
    let purge = steps
        .iter()
        .position(|s| s.starts_with("purge etcd-4"))
        .unwrap();
    assert!(rm < purge, "{steps:?}");
    assert!(!tc.dir.path().join(format!("node-{ip}/data")).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_every_step_of_a_remove_then_the_same_command_finishes_it() {
    let tc = TestCluster::start_spare(3, 1).await;
    let ip4 = tc.spare_ip(4);
    let add = [
        "member",
        "add",
        "--ip",
        ip4.as_str(),
        "--yes",
        "--no-snapshot",
    ];
    ok(&tc, &add);
    let steps = planned_keys(&tc, &["member", "remove", "etcd-4", "--no-snapshot"]).len();
    for (seq, k) in (4..).zip(2..=steps) {
        let name = format!("etcd-{seq}");
        let args = ["member", "remove", name.as_str(), "--yes", "--no-snapshot"];
        let seen = kill_at_step(&tc, &args, k);
        assert!(seen.contains(&format!("[{k}/")), "step {k} began:\n{seen}");
        let out = ok(&tc, &args);
        assert!(out.contains("member remove: done"), "{out}");
        all_voters(&tc, &["etcd-1", "etcd-2", "etcd-3"]).await;
        assert!(
            !tc.dir.path().join(&name).join("data").exists(),
            "{name} purged"
        );
        // Nothing was done twice: one remove, one purge, one inventory edit.
        done_once(
            &tc,
            &[
                format!("remove {name} ("),
                format!("stop {name} and delete"),
                format!("comment {ip4} ({name})"),
            ],
            &format!("after a kill at step {k}"),
        );
        if k < steps {
            ok(&tc, &add);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_left_unpromoted_is_promoted_at_the_leader() {
    let tc = TestCluster::start_spare(3, 1).await;
    let ip4 = tc.spare_ip(4);
    let args = [
        "member",
        "add",
        "--ip",
        ip4.as_str(),
        "--yes",
        "--no-snapshot",
    ];
    let promote = step_number(
        &tc,
        &["member", "add", "--ip", &ip4, "--no-snapshot"],
        "promote",
    );
    // Stopped before its promote: a started learner, as Pigsty's etcd_learner leaves one.
    kill_at_step(&tc, &args, promote);
    let s = look(&tc).await;
    let l = s.members.iter().find(|m| m.is_learner).expect("a learner");
    assert!(l.started, "{:?}", l.name);
    let out = ok(&tc, &["member", "promote", "etcd-4", "--yes", "--json"]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["phase"]["phase"], "done", "{v}");
    all_voters(&tc, &["etcd-1", "etcd-2", "etcd-3", "etcd-4"]).await;
    // The promote went to the leader; a voter is refused.
    let o = run(&tc, &["member", "promote", "etcd-4", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("etcd-4 is a voter already"),
        "{}",
        stderr(&o)
    );
    // The add it interrupted finds its remaining steps done.
    let out = ok(&tc, &args);
    assert!(out.contains("etcd-4 is a voter already"), "{out}");
    assert_eq!(
        ok_counts(&tc)
            .iter()
            .filter(|(s, _)| s.starts_with("promote etcd-4"))
            .map(|(_, n)| n)
            .sum::<usize>(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_that_says_removed_never_purges_a_member_still_listed() {
    let tc = TestCluster::start_spare(3, 1).await;
    let ip4 = tc.spare_ip(4);
    ok(
        &tc,
        &["member", "add", "--ip", &ip4, "--yes", "--no-snapshot"],
    );
    let args = ["member", "remove", "etcd-4", "--yes", "--no-snapshot"];
    let keys = planned_keys(&tc, &["member", "remove", "etcd-4", "--no-snapshot"]);
    let purge = keys
        .iter()
        .position(|k| k == "purge")
        .expect("a purge step");
    // A journal left behind that claims every step up to the purge done (a journal copied from
    // another run, a clock gone wrong): the member is still in the list.
    kill_at_step(&tc, &args, 2);
    let ops = tc.state_home().join("etcdeck/ops");
    let file = std::fs::read_dir(&ops)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-member-remove.json"))
        .expect("the remove's journal");
    let mut rec: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    rec["done"] = Value::from(keys[..purge].to_vec());
    rec["begun"] = Value::Null;
    std::fs::write(&file, serde_json::to_vec(&rec).unwrap()).unwrap();

    let o = run(&tc, &args);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert!(said.contains("resuming"), "{said}");
    assert!(
        said.contains("etcd-4 (")
            && said.contains("is still in the member list: nothing was purged"),
        "{said}"
    );
    // Nothing was lost: etcd-4 still runs, votes and keeps its data.
    all_voters(&tc, &["etcd-1", "etcd-2", "etcd-3", "etcd-4"]).await;
    assert!(tc.dir.path().join("etcd-4/data").exists());
    assert!(!ok_counts(&tc).keys().any(|s| s.starts_with("stop etcd-4")));
}
