//! The maintenance wizards' command-line twins against real clusters: snapshot, compaction,
//! defragmentation (with Patroni-shaped leader keys alive and a steady writer), a member frozen
//! mid-defrag, SIGKILL and resume, NOSPACE recovery, move-leader.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{stderr, stdout, TestCluster};
use etcdeck::etcd::status;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn json_of(o: &std::process::Output) -> Value {
    serde_json::from_str(stdout(o).trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): stdout {} stderr {}", stdout(o), stderr(o)))
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

/// `end ok` entries of the audit log whose step starts with `what`.
fn ended_ok(tc: &TestCluster, what: &str) -> Vec<String> {
    audit(tc)
        .iter()
        .filter(|e| e["phase"] == "end" && e["outcome"] == "ok")
        .filter_map(|e| e["step"].as_str().map(str::to_string))
        .filter(|s| s.starts_with(what))
        .collect()
}

fn member_names(v: &Value, prefix: &str) -> Vec<String> {
    v["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["key"].as_str())
        .filter(|k| k.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_is_streamed_from_a_follower_verified_and_private() {
    let tc = TestCluster::start(3).await;
    let cluster = tc.cluster(Duration::from_secs(5));
    let mut c = cluster.member(&tc.sandbox.client_urls()[0]).await.unwrap();
    for i in 0..50 {
        c.put(format!("/pg/pg-meta/k{i}"), vec![b'v'; 1000], None)
            .await
            .unwrap();
    }
    let file = tc.dir.path().join("backup.db");
    let o = tc.etcdeck(&["snapshot", "save", file.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v["phase"]["phase"], "done");
    // Taken from a follower.
    let leader = tc.leader_name().await;
    let from = v["plan"]["steps"][0]["member"].as_str().unwrap();
    assert_ne!(from, leader, "the leader is spared");
    // The file: mode 0600, no .part left, its last 32 bytes the sha256 of the rest.
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(!tc.dir.path().join("backup.db.part").exists());
    let data = std::fs::read(&file).unwrap();
    let (db, trailer) = data.split_at(data.len() - 32);
    assert_eq!(Sha256::digest(db).as_slice(), trailer);
    let detail = v["outcomes"][0]["detail"].as_str().unwrap();
    let hex: String = trailer.iter().map(|b| format!("{b:02x}")).collect();
    assert!(detail.contains(&hex), "{detail}");
    // The revision reported is the cluster's.
    let rev: i64 = detail
        .split("at revision ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|r| r.parse().ok())
        .expect("a revision in the detail");
    let now = c
        .get("/none", None)
        .await
        .unwrap()
        .header()
        .unwrap()
        .revision();
    assert_eq!(rev, now, "nothing was written since");
    // The restore commands are printed for each member, not run.
    let notes = v["notes"].as_array().unwrap();
    assert!(notes
        .iter()
        .any(|n| n.as_str().unwrap().contains("etcdutl snapshot restore")));
    // Audited.
    assert_eq!(ended_ok(&tc, "snapshot to").len(), 1);
    // etcd's own tool agrees where it exists (etcd 3.5 ships etcdutl).
    let etcdutl = tc.sandbox.etcd_bin().with_file_name("etcdutl");
    if etcdutl.exists() {
        let out = std::process::Command::new(&etcdutl)
            .args(["snapshot", "status", file.to_str().unwrap(), "-w", "json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let s: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(s["revision"].as_i64(), Some(rev));
        assert_eq!(s["totalSize"].as_u64(), Some(db.len() as u64));
        eprintln!("etcdutl snapshot status agrees: {s}");
    } else {
        eprintln!(
            "no etcdutl beside {} (etcd 3.4): skipped its check",
            tc.sandbox.etcd_bin().display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_previews_then_drops_the_history_up_to_the_revision() {
    let tc = TestCluster::start(3).await;
    let cluster = tc.cluster(Duration::from_secs(5));
    let mut c = cluster.member(&tc.sandbox.client_urls()[0]).await.unwrap();
    let old = c
        .put("/pg/pg-meta/leader", "pg-meta-1", None)
        .await
        .unwrap()
        .header()
        .unwrap()
        .revision();
    let newer = c
        .put("/pg/pg-meta/leader", "pg-meta-2", None)
        .await
        .unwrap()
        .header()
        .unwrap()
        .revision();
    let r = newer.to_string();

    // The preview: current and compacted revisions, what goes, the Patroni key losing history.
    let o = tc.etcdeck(&["compact", "--revision", &r, "--dry-run", "--no-snapshot"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains(&format!("current revision {newer}")),
        "{text}"
    );
    assert!(
        text.contains("1 key(s) under /pg lose history: /pg/pg-meta/leader"),
        "{text}"
    );
    assert!(
        text.contains("etcdctl --endpoints=")
            && text.contains(&format!("compact {newer} --physical")),
        "{text}"
    );
    // A dry run changed nothing: the old revision still reads.
    assert!(c
        .get(
            "/pg/pg-meta/leader",
            Some(etcd_client::GetOptions::new().with_revision(old))
        )
        .await
        .is_ok());

    // A revision in the future is refused.
    let o = tc.etcdeck(&["compact", "--revision", &(newer + 100).to_string(), "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("in the future"), "{}", stderr(&o));
    // Without a terminal and without --yes, nothing happens.
    let o = tc.etcdeck(&["compact", "--revision", &r, "--no-snapshot"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--yes"), "{}", stderr(&o));

    let o = tc.etcdeck(&[
        "compact",
        "--revision",
        &r,
        "--yes",
        "--no-snapshot",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = c
        .get(
            "/pg/pg-meta/leader",
            Some(etcd_client::GetOptions::new().with_revision(old)),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("required revision has been compacted"),
        "{err}"
    );
    // The latest value is kept.
    let now = c.get("/pg/pg-meta/leader", None).await.unwrap();
    assert_eq!(now.kvs()[0].value(), b"pg-meta-2");
    // Once more: already compacted, refused with the revision /metrics gives.
    let o = tc.etcdeck(&["compact", "--revision", &r, "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("already compacted up to revision {newer}")),
        "{}",
        stderr(&o)
    );
    assert_eq!(ended_ok(&tc, "compact the history").len(), 1);
}

/// A Patroni-shaped leader key on a 30 s lease renewed every 10 s, and a writer putting a key
/// every 100 ms, while `f` runs; then what they saw.
struct Load {
    stop: Arc<AtomicBool>,
    writes: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    lease_lost: Arc<AtomicBool>,
    leaders: Arc<std::sync::Mutex<Vec<u64>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    lease: i64,
}

async fn patroni_load(tc: &TestCluster) -> Load {
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
    let writes = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let lease_lost = Arc::new(AtomicBool::new(false));
    let leaders = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    {
        let (stop, lease_lost, mut c) = (stop.clone(), lease_lost.clone(), c.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                match tokio::time::timeout(
                    Duration::from_secs(5),
                    c.lease_time_to_live(lease, None),
                )
                .await
                {
                    Ok(Ok(r)) if r.ttl() > 0 => {}
                    _ => lease_lost.store(true, Ordering::SeqCst),
                }
                // Renew as Patroni does (loop_wait 10 s).
                if let Ok((mut k, mut s)) = c.lease_keep_alive(lease).await {
                    let _ = k.keep_alive().await;
                    let _ = tokio::time::timeout(Duration::from_secs(5), s.message()).await;
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
        let (stop, writes, failed, mut c) =
            (stop.clone(), writes.clone(), failed.clone(), c.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                match tokio::time::timeout(
                    Duration::from_secs(5),
                    c.put("/pg/pg-meta/status", format!("{{\"optime\": {i}}}"), None),
                )
                .await
                {
                    Ok(Ok(_)) => writes.fetch_add(1, Ordering::SeqCst),
                    _ => failed.fetch_add(1, Ordering::SeqCst),
                };
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    {
        let (stop, leaders) = (stop.clone(), leaders.clone());
        let cluster = tc.cluster(Duration::from_secs(2));
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                if let Ok(s) = status::gather(&cluster).await {
                    if let Some(l) = s.leader {
                        let mut v = leaders.lock().unwrap();
                        if v.last() != Some(&l) {
                            v.push(l);
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }));
    }
    Load {
        stop,
        writes,
        failed,
        lease_lost,
        leaders,
        tasks,
        lease,
    }
}

impl Load {
    async fn stop(self) -> (u64, u64, bool, Vec<u64>, i64) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            let _ = t.await;
        }
        let leaders = self.leaders.lock().unwrap().clone();
        (
            self.writes.load(Ordering::SeqCst),
            self.failed.load(Ordering::SeqCst),
            self.lease_lost.load(Ordering::SeqCst),
            leaders,
            self.lease,
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defrag_of_every_member_keeps_patroni_alive_and_does_the_leader_last() {
    let tc = TestCluster::start(3).await;
    tc.fragment(600, 16 << 10, 600 * (16 << 10) / 2).await;
    let cluster = tc.cluster(Duration::from_secs(5));
    let before = status::gather(&cluster).await.unwrap();
    let first_leader = before.leader.unwrap();
    for m in &before.members {
        assert!(
            m.db_size - m.db_size_in_use > 4 << 20,
            "{}: {} of {} in use: not fragmented enough for the test",
            m.name,
            m.db_size_in_use,
            m.db_size
        );
    }
    let load = patroni_load(&tc).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let t = Instant::now();
    let o = tc
        .etcdeck_command(&["defrag", "--all", "--yes", "--settle", "1s", "--json"])
        .output()
        .unwrap();
    let took = t.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (writes, failed, lease_lost, leaders, lease) = load.stop().await;
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let v = json_of(&o);
    eprintln!("defrag of 3 members took {took:?}; writes {writes} ok, {failed} failed; leaders {leaders:x?}");

    // Followers first, the leader last, after leadership moved to a defragmented follower.
    let order = member_names(&v, "defrag:");
    assert_eq!(order.len(), 3, "{order:?}");
    assert_eq!(order[2], format!("defrag:{first_leader:x}"), "{order:?}");
    let moved = member_names(&v, "move-leader:");
    assert_eq!(moved.len(), 1);
    let to = moved[0].trim_start_matches("move-leader:").to_string();
    assert_eq!(
        format!("defrag:{to}"),
        order[1],
        "to the follower done last"
    );
    // The one planned leader change and no other.
    assert_eq!(leaders.len(), 2, "leaders seen: {leaders:x?}");
    assert_eq!(leaders[0], first_leader);
    assert_eq!(format!("{:x}", leaders[1]), to);
    // Patroni's leader key never lost its lease, and writes went on.
    assert!(!lease_lost, "the leader key's lease expired");
    let mut c = cluster.balanced(&tc.sandbox.client_urls()).await.unwrap();
    let key = c.get("/pg/pg-meta/leader", None).await.unwrap();
    assert_eq!(key.kvs()[0].lease(), lease);
    assert!(writes > 10, "{writes}");
    assert_eq!(failed, 0, "writes failed during the defrag");
    // Every member shrank to near what it holds.
    let after = status::gather(&cluster).await.unwrap();
    for m in &after.members {
        let b = before.members.iter().find(|x| x.id == m.id).unwrap();
        assert!(
            m.db_size < b.db_size / 2,
            "{}: {} -> {}",
            m.name,
            b.db_size,
            m.db_size
        );
        assert!(
            m.db_size <= m.db_size_in_use + (512 << 10),
            "{}: {} with {} in use",
            m.name,
            m.db_size,
            m.db_size_in_use
        );
    }
    // Audited: a snapshot first, each member once, the move.
    assert_eq!(ended_ok(&tc, "snapshot to").len(), 1);
    assert_eq!(ended_ok(&tc, "defragment").len(), 3);
    assert_eq!(ended_ok(&tc, "move leadership").len(), 1);
    // The timeline prints the operations.
    let o = tc.etcdeck(&["timeline", "--since", "10m"]);
    assert!(stdout(&o).contains("defragment"), "{}", stdout(&o));
}

/// Wait until the audit log says a defragmentation ended.
async fn first_defrag_done(tc: &TestCluster, within: Duration) -> String {
    let t = Instant::now();
    loop {
        if let Some(s) = ended_ok(tc, "defragment").first() {
            return s.clone();
        }
        assert!(t.elapsed() < within, "no defragmentation ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_frozen_mid_defrag_stops_the_wizard_at_the_gate_and_it_resumes_after() {
    let tc = TestCluster::start(3).await;
    let cluster = tc.cluster(Duration::from_secs(5));
    let s = status::gather(&cluster).await.unwrap();
    let child = tc
        .etcdeck_command(&[
            "defrag",
            "--all",
            "--yes",
            "--settle",
            "2s",
            "--threshold",
            "0",
            "--no-snapshot",
            "--gate-wait",
            "4s",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let first = first_defrag_done(&tc, Duration::from_secs(20)).await;
    // Freeze the other follower while the wizard settles: the next gate must stop it.
    let other = s
        .members
        .iter()
        .find(|m| Some(m.id) != s.leader && !first.contains(&format!("defragment {} ", m.name)))
        .unwrap()
        .name
        .clone();
    tc.sandbox.freeze(&other).unwrap();
    let o = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    tc.sandbox.thaw(&other).unwrap();
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("stopped:") && out.contains(&format!("{other} does not answer")),
        "{out}"
    );
    assert!(out.contains("nothing was forced"), "{out}");
    assert_eq!(
        ended_ok(&tc, "defragment").len(),
        1,
        "nothing after the gate"
    );
    assert!(ended_ok(&tc, &format!("defragment {other} ")).is_empty());

    // Thawed, the same command resumes and finishes without the first member again; another
    // defrag with other options does not take it over.
    status_healthy(&tc).await;
    let o = tc.etcdeck(&["defrag", "--member", &other, "--yes", "--no-snapshot"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("with other options"), "{}", stderr(&o));
    assert!(stderr(&o).contains("--fresh"), "{}", stderr(&o));
    let o = tc.etcdeck(&[
        "defrag",
        "--all",
        "--yes",
        "--settle",
        "1s",
        "--threshold",
        "0",
        "--no-snapshot",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v["resumed"], true);
    assert!(stderr(&o).contains("resuming defrag-"), "{}", stderr(&o));
    let ran = ended_ok(&tc, "defragment");
    assert_eq!(ran.len(), 3, "{ran:?}");
    let mut uniq = ran.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), 3, "a member defragmented twice: {ran:?}");
}

async fn status_healthy(tc: &TestCluster) {
    let cluster = tc.cluster(Duration::from_secs(2));
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(20) {
        if let Ok(s) = status::gather(&cluster).await {
            if etcdeck::wizard::gate(&s, false).is_ok() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the cluster did not become healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_after_the_first_member_then_the_same_command_resumes_and_skips_it() {
    let tc = TestCluster::start(3).await;
    let args = [
        "defrag",
        "--all",
        "--yes",
        "--settle",
        "3s",
        "--threshold",
        "0",
        "--json",
    ];
    let mut child = tc
        .etcdeck_command(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let first = first_defrag_done(&tc, Duration::from_secs(20)).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let journal = std::fs::read_dir(tc.state_home().join("etcdeck/ops"))
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().ends_with("-defrag.json"))
        .expect("a journal");
    let j: Value = serde_json::from_slice(&std::fs::read(journal.path()).unwrap()).unwrap();
    assert_eq!(j["standing"], "running", "killed: it never ended");

    let o = tc.etcdeck(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json_of(&o);
    assert_eq!(v["resumed"], true);
    let skipped: Vec<&str> = v["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["outcome"] == "skipped (done before)")
        .filter_map(|o| o["text"].as_str())
        .collect();
    assert!(
        skipped.iter().any(|t| first.starts_with(t)),
        "{first} not in {skipped:?}"
    );
    assert!(
        skipped.iter().any(|t| t.starts_with("snapshot")),
        "{skipped:?}"
    );
    // Each member once in all; one snapshot.
    let ran = ended_ok(&tc, "defragment");
    assert_eq!(ran.len(), 3, "{ran:?}");
    assert_eq!(ended_ok(&tc, "snapshot to").len(), 1);
    // Ended: not offered again.
    let j: Value = serde_json::from_slice(&std::fs::read(journal.path()).unwrap()).unwrap();
    assert_eq!(j["standing"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nospace_is_recovered_with_no_alarm_a_write_and_the_scratch_key_gone() {
    let tc = TestCluster::start_quota(3, 16 << 20).await;
    let cluster = tc.cluster(Duration::from_secs(5));
    let mut c = cluster.balanced(&tc.sandbox.client_urls()).await.unwrap();
    // History fills the quota: one key rewritten until etcd refuses.
    let value = vec![b'h'; 512 << 10];
    let mut refused = None;
    for _ in 0..200 {
        if let Err(e) = c
            .put("/pg/pg-meta/history-filler", value.clone(), None)
            .await
        {
            refused = Some(e.to_string());
            break;
        }
    }
    let refused = refused.expect("the quota was never reached");
    assert!(refused.contains("database space exceeded"), "{refused}");
    let o = tc.etcdeck(&["alarm", "list"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("NOSPACE") && stdout(&o).contains("no failover"),
        "{}",
        stdout(&o)
    );
    // A plain defrag is refused and points at the recovery.
    let o = tc.etcdeck(&["defrag", "--all", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("alarm recover"), "{}", stderr(&o));
    // Disarming alone is refused while the members are full.
    let o = tc.etcdeck(&["alarm", "disarm", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("alarm recover"), "{}", stderr(&o));

    let t = Instant::now();
    let o = tc.etcdeck(&["alarm", "recover", "--yes", "--settle", "1s", "--json"]);
    eprintln!("NOSPACE recovery took {:?}", t.elapsed());
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let v = json_of(&o);
    let facts = v["plan"]["facts"].to_string();
    assert!(
        facts.contains("/pg/pg-meta/"),
        "the largest prefix is named: {facts}"
    );
    let s = status::gather(&cluster).await.unwrap();
    assert!(s.alarms.is_empty(), "{:?}", s.alarms);
    c.put("/after", "ok", None)
        .await
        .expect("writes work again");
    let scratch = c
        .get(
            "/etcdeck/",
            Some(etcd_client::GetOptions::new().with_prefix()),
        )
        .await
        .unwrap();
    assert!(scratch.kvs().is_empty(), "the scratch key is gone");
    assert_eq!(ended_ok(&tc, "write /etcdeck/scratch/").len(), 1);
    assert!(!ended_ok(&tc, "disarm NOSPACE").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_leader_hands_over_to_a_follower_and_refuses_a_learner() {
    let tc = TestCluster::start(3).await;
    let cluster = tc.cluster(Duration::from_secs(5));
    let s = status::gather(&cluster).await.unwrap();
    let to = s
        .members
        .iter()
        .find(|m| Some(m.id) != s.leader)
        .unwrap()
        .name
        .clone();
    // A learner (added, never started) is refused before anything is sent.
    let leader_url = s
        .members
        .iter()
        .find(|m| Some(m.id) == s.leader)
        .unwrap()
        .client_urls[0]
        .clone();
    let mut c = cluster.member(&leader_url).await.unwrap();
    // etcd 3.4 refuses a change ("unhealthy cluster") until the leader has seen every member
    // for 5 s.
    let t = Instant::now();
    let added = loop {
        match c
            .member_add(
                ["https://127.0.0.99:2380"],
                Some(etcd_client::MemberAddOptions::new().with_is_learner()),
            )
            .await
        {
            Ok(a) => break a,
            Err(e)
                if e.to_string().contains("unhealthy cluster")
                    && t.elapsed() < Duration::from_secs(15) =>
            {
                tokio::time::sleep(Duration::from_millis(500)).await
            }
            Err(e) => panic!("{e}"),
        }
    };
    let learner = format!("{:x}", added.member().unwrap().id());
    let o = tc.etcdeck(&["move-leader", &to, "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert_eq!(tc.leader_name().await, to);
    // Verified from every member.
    let s = status::gather(&cluster).await.unwrap();
    let id = s.leader.unwrap();
    assert!(s
        .members
        .iter()
        .filter(|m| m.reachable)
        .all(|m| m.sees_leader == id));
    let leader_url = s.members.iter().find(|m| m.id == id).unwrap().client_urls[0].clone();
    assert_eq!(ended_ok(&tc, "move leadership").len(), 1);

    let o = tc.etcdeck(&["move-leader", &learner, "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is a learner: a learner cannot lead"),
        "{}",
        stderr(&o)
    );
    assert_eq!(ended_ok(&tc, "move leadership").len(), 1, "nothing sent");
    // --dry-run prints the runbook with the leader's endpoint.
    let other = s
        .members
        .iter()
        .find(|m| m.id != id && !m.is_learner)
        .unwrap()
        .name
        .clone();
    let o = tc.etcdeck(&["move-leader", &other, "--dry-run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("etcdctl --endpoints={leader_url} move-leader")),
        "{}",
        stdout(&o)
    );
    // Read-only mode refuses every wizard that changes the cluster.
    let o = tc.etcdeck(&["--read-only", "move-leader", &other, "--yes"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("read-only"), "{}", stderr(&o));
}
