//! `etcdeck status` against real 3-member TLS clusters on loopback.

mod common;

use std::time::{Duration, Instant};

use common::{stderr, stdout, TestCluster};
use etcdeck::pki::Ca;
use serde_json::Value;

fn members(v: &Value) -> &Vec<Value> {
    v["members"].as_array().expect("members array")
}

fn member<'a>(v: &'a Value, name: &str) -> &'a Value {
    members(v)
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no member {name} in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_cluster_shows_three_started_voters_and_one_leader() {
    let tc = TestCluster::start(3).await;

    let out = tc.etcdeck(&["status", "--json"]);
    assert!(
        out.status.success(),
        "exit {:?}\n{}{}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
    let v: Value = serde_json::from_str(&stdout(&out)).expect("status --json is JSON");
    let ms = members(&v);
    assert_eq!(ms.len(), 3);
    for m in ms {
        assert_eq!(m["started"], true, "{m}");
        assert_eq!(m["reachable"], true, "{m}");
        assert_eq!(m["is_learner"], false, "{m}");
        assert!(m["version"].as_str().unwrap().starts_with("3."), "{m}");
        assert!(m["raft_term"].as_u64().unwrap() >= 2, "{m}");
        assert!(m["db_size"].as_i64().unwrap() > 0, "{m}");
    }
    let leaders: Vec<&Value> = ms.iter().filter(|m| m["is_leader"] == true).collect();
    assert_eq!(leaders.len(), 1, "exactly one leader: {v}");
    assert_eq!(v["leader"], leaders[0]["id"]);
    assert_eq!(v["alarms"], Value::Array(vec![]));
    let names: Vec<&str> = ms.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["etcd-1", "etcd-2", "etcd-3"]);

    // The table says the same in words.
    let out = tc.etcdeck(&["status"]);
    assert!(out.status.success());
    let table = stdout(&out);
    let leader = leaders[0]["name"].as_str().unwrap();
    assert!(table.contains(&format!("leader {leader} (")), "{table}");
    assert!(table.contains("quorum 3/3 voters up (need 2)"), "{table}");
    assert_eq!(
        table.matches(" leader ").count() + table.matches(" follower ").count(),
        4,
        "{table}"
    );

    // etcdctl accepts the same environment and certificates.
    let out = tc.etcdctl(&["member", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out)
            .lines()
            .filter(|l| l.contains(", started, etcd-"))
            .count(),
        3
    );
}

/// The member to freeze or kill: a follower (`etcd-3` unless it leads). A frozen leader is
/// another verdict: the followers keep naming it for an election timeout while it does not
/// answer, so `status` says "no leader that answers" (exit 2), as `health` does. With auth on,
/// moreover, every client logs in first, and a login is a raft proposal: while the leader is
/// frozen no login succeeds anywhere. Frozen followers are what this test checks; a frozen
/// leader is the timeline tests' business.
async fn pick_victim(tc: &TestCluster) -> String {
    let leader = tc.leader_name().await;
    if leader == "etcd-3" {
        "etcd-2"
    } else {
        "etcd-3"
    }
    .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_then_killed_member_is_reported_unreachable_within_the_timeout() {
    let mut tc = TestCluster::start(3).await;

    // Frozen: its port accepts, nothing answers.
    let victim = pick_victim(&tc).await;
    tc.sandbox.freeze(&victim).unwrap();
    let start = Instant::now();
    let out = tc.etcdeck(&["status", "--json", "--timeout", "1s"]);
    let took = start.elapsed();
    tc.sandbox.thaw(&victim).unwrap();
    assert!(
        took < Duration::from_millis(2500),
        "status took {took:?} with a frozen member"
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "degraded exit code\n{}",
        stderr(&out)
    );
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let m3 = member(&v, &victim);
    assert_eq!(m3["reachable"], false);
    assert_eq!(m3["error_short"], "timeout");
    assert!(
        m3["error"]
            .as_str()
            .unwrap()
            .contains("no answer within 1000 ms"),
        "{m3}"
    );
    let alive = if victim == "etcd-1" {
        "etcd-2"
    } else {
        "etcd-1"
    };
    assert_eq!(member(&v, alive)["reachable"], true);
    assert!(v["leader"].is_string(), "two of three keep a leader: {v}");

    tc.sandbox
        .wait_healthy(Duration::from_secs(10))
        .await
        .expect("thawed member recovers");

    // Killed: nothing listens.
    let victim = pick_victim(&tc).await;
    tc.sandbox.kill(&victim).unwrap();
    let start = Instant::now();
    let out = tc.etcdeck(&["status", "--timeout", "1s"]);
    let took = start.elapsed();
    assert!(
        took < Duration::from_millis(2500),
        "status took {took:?} with a dead member"
    );
    assert_ne!(out.status.code(), Some(0));
    let table = stdout(&out);
    let row = table
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(victim.as_str()))
        .expect("the victim's row");
    assert!(row.contains(" NO ") && row.contains("refused"), "{table}");
    assert!(
        table.contains(&format!("{victim}: https://127.")),
        "the reason names the endpoint: {table}"
    );

    // It comes back on its old data.
    tc.sandbox.start_member(&victim).unwrap();
    tc.sandbox
        .wait_healthy(Duration::from_secs(10))
        .await
        .expect("restarted member rejoins");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_that_did_not_sign_the_servers_is_named_with_the_endpoint() {
    let tc = TestCluster::start(3).await;
    let other = tempfile::TempDir::new().unwrap();
    Ca::create("someone-else-ca")
        .unwrap()
        .write(other.path(), false)
        .unwrap();
    let wrong_ca = other.path().join("ca.crt");

    let out = tc.etcdeck(&["status", "--cacert", wrong_ca.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("TLS: the server certificate is not signed by the CA in"),
        "{err}"
    );
    assert!(
        err.contains(&format!("--cacert={}", wrong_ca.display())),
        "{err}"
    );
    let endpoint = &tc.sandbox.client_urls()[0];
    assert!(
        err.contains(endpoint.as_str()),
        "names the endpoint {endpoint}: {err}"
    );

    // A client certificate the servers do not trust is refused, and said so.
    let foreign = Ca::create("foreign")
        .unwrap()
        .issue_member("intruder", "127.0.0.1".parse().unwrap())
        .unwrap();
    let (crt, key) = foreign.write(other.path(), false).unwrap();
    let out = tc.etcdeck(&[
        "status",
        "--cert",
        crt.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("refused our client certificate"),
        "{}",
        stderr(&out)
    );

    // A file that is not a certificate is named before any network call.
    let out = tc.etcdeck(&["status", "--cacert", key.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!(
            "--cacert={}: not a usable CA certificate",
            key.display()
        )),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_missing_role_are_told_apart() {
    // It turns auth on itself, with etcdctl as an operator would, so it starts with auth off
    // in every run (in the auth run the sandbox would already have made root).
    let tc = TestCluster::start_auth(3, false).await;
    for args in [
        &["user", "add", "root:rootpw"][..],
        &["user", "grant-role", "root", "root"],
        &["user", "add", "reader:readerpw"],
        &["auth", "enable"],
    ] {
        let out = tc.etcdctl(args);
        assert!(out.status.success(), "etcdctl {args:?}: {}", stderr(&out));
    }

    let out = tc.etcdeck(&["status", "--user", "root:wrong"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("authentication failed for user root"),
        "{}",
        stderr(&out)
    );

    let out = tc.etcdeck(&["status", "--user", "root:rootpw"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // A user without a role on the keys is refused, and the error says it is a permission.
    let mut settings = tc.sandbox.settings(Duration::from_secs(2));
    settings.user = Some(("reader".into(), "readerpw".into()));
    let cluster = etcdeck::etcd::Cluster::new(settings).unwrap();
    let url = &tc.sandbox.client_urls()[0];
    let err = cluster
        .call(url, |mut c| async move { c.get("/pg", None).await })
        .await
        .unwrap_err();
    assert_eq!(err.short(), "permission denied", "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{url}: permission denied for user reader")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announced_learner_shows_as_unstarted_learner_and_stays_out_of_the_balancer() {
    let tc = TestCluster::start(3).await;
    let peer = tc.sandbox.members()[0]
        .host
        .peer_url()
        .replace(".1:2380", ".4:2380");
    // etcd 3.4 refuses member changes until every voter has been seen for 5 s.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let out = tc.etcdctl(&["member", "add", "etcd-4", "--learner", "--peer-urls", &peer]);
        if out.status.success() {
            break;
        }
        assert!(
            stderr(&out).contains("unhealthy cluster"),
            "{}",
            stderr(&out)
        );
        assert!(
            Instant::now() < deadline,
            "member add kept failing: {}",
            stderr(&out)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let out = tc.etcdeck(&["status", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a member that does not answer is not healthy"
    );
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let learner = members(&v)
        .iter()
        .find(|m| m["is_learner"] == true)
        .expect("a learner");
    assert_eq!(learner["started"], false);
    assert_eq!(learner["reachable"], false);
    assert_eq!(learner["peer_urls"][0], peer.as_str());
    assert_eq!(learner["error_short"], "unstarted");
    assert_eq!(
        members(&v)
            .iter()
            .filter(|m| m["is_leader"] == true)
            .count(),
        1
    );
    let table = stdout(&tc.etcdeck(&["status"]));
    let row = table
        .lines()
        .find(|l| l.contains(" learner "))
        .expect("learner row");
    assert!(row.contains("unstarted"), "{table}");
    assert!(
        table.contains("quorum 3/3 voters up (need 2)"),
        "learners do not count: {table}"
    );

    // The balanced client only holds voters: a put through it works.
    let cluster = tc.cluster(Duration::from_secs(2));
    let mut client = cluster.balanced_voters().await.expect("balanced client");
    tokio::time::timeout(Duration::from_secs(2), client.put("/pg/probe", "ok", None))
        .await
        .expect("in time")
        .expect("put through voters");
}

/// A config file naming `a` (its env file, an etcdctl.sh) and `b` (endpoints and TLS files).
fn two_clusters_config(a: &TestCluster, b: &TestCluster) -> std::path::PathBuf {
    let dir = a.dir.path().join("config");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.sh"), a.sandbox.etcdctl_env().shell()).unwrap();
    let env = b.sandbox.etcdctl_env();
    let list: Vec<String> = env.endpoints.iter().map(|e| format!("{e:?}")).collect();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[clusters.a]\nenv = \"a.sh\"\n[clusters.b]\nendpoints = [{}]\ncacert = {:?}\n\
             cert = {:?}\nkey = {:?}\n",
            list.join(", "),
            env.cacert,
            env.cert,
            env.key
        ),
    )
    .unwrap();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_flag_reaches_the_named_cluster_whatever_the_shell_exports() {
    let a = TestCluster::start(1).await;
    let b = TestCluster::start(2).await;
    let config = two_clusters_config(&a, &b);
    let config = config.to_str().unwrap();
    let auth = common::auth_on().then(|| format!("root:{}", common::ROOT_PASSWORD));
    // The shell has a's ETCDCTL_* exported (etcdeck_command sets them): `--cluster b` is b all
    // the same, and `--cluster a` is a.
    let status = |name: &str| {
        let mut args = vec!["--config", config, "--cluster", name];
        if let Some(u) = &auth {
            args.extend(["--user", u.as_str()]);
        }
        args.extend(["status", "--json"]);
        let out = a.etcdeck(&args);
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        let v: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
        let mut urls: Vec<String> = members(&v)
            .iter()
            .flat_map(|m| m["client_urls"].as_array().unwrap().clone())
            .map(|u| u.as_str().unwrap().to_string())
            .collect();
        urls.sort();
        urls
    };
    let mut b_urls = b.sandbox.client_urls();
    b_urls.sort();
    assert_eq!(status("b"), b_urls);
    assert_eq!(status("a"), a.sandbox.client_urls());

    // An unknown name lists the names there are.
    let out = a.etcdeck(&["--config", config, "--cluster", "c", "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--cluster c: no such cluster; the config file names a, b"),
        "{}",
        stderr(&out)
    );
}
