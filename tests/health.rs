//! `etcdeck health` tells a fault in etcdeck's own settings (exit 3, "unknown") from a cluster
//! that is down (exit 2), against real TLS clusters on loopback.

mod common;

use std::process::{Command, Output};

use common::{clear_etcd_env, stdout, TestCluster};
use etcdeck::pki::Ca;
use serde_json::Value;

/// `etcdeck ARGS` with the sandbox's environment, `overrides` set on top of it.
fn etcdeck_with(tc: &TestCluster, overrides: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_etcdeck"));
    clear_etcd_env(&mut cmd);
    for (k, v) in tc.sandbox.etcdctl_env().vars() {
        cmd.env(k, v);
    }
    for (k, v) in overrides {
        cmd.env(k, v);
    }
    cmd.args(args).output().expect("etcdeck runs")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("an exit code")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_own_wrong_settings_are_unknown_never_unavailable() {
    let tc = TestCluster::start(1).await;
    let auth_on = tc.sandbox.etcdctl_env().user.is_some();

    // A healthy cluster first: 0.
    let ok = etcdeck_with(&tc, &[], &["health"]);
    assert_eq!(code(&ok), 0, "{}", stdout(&ok));

    // A user the cluster does not have, or (auth off) any user at all: the client is wrong.
    let wrong_user = etcdeck_with(
        &tc,
        &[("ETCDCTL_USER", "root:not-the-password")],
        &["health"],
    );
    let text = stdout(&wrong_user);
    assert_eq!(code(&wrong_user), 3, "{text}");
    assert!(text.starts_with("UNKNOWN: "), "{text}");
    if auth_on {
        assert!(
            text.contains("authentication failed for user root"),
            "{text}"
        );
    } else {
        assert!(
            text.contains("auth is off on this cluster")
                && text.contains("unset ETCDCTL_USER or drop --user"),
            "{text}"
        );
        assert!(
            !text.contains("authentication is not enabled"),
            "raw etcd words: {text}"
        );
    }
    let json = etcdeck_with(
        &tc,
        &[("ETCDCTL_USER", "root:not-the-password")],
        &["health", "--json"],
    );
    assert_eq!(code(&json), 3);
    let v: Value = serde_json::from_str(&stdout(&json)).expect("JSON");
    assert_eq!(v["verdict"], "unknown", "{v}");

    // A CA that did not sign the members: 3, naming the CA.
    let other = tempfile::TempDir::new().expect("temp dir");
    Ca::create("some-other-ca")
        .expect("CA")
        .write(other.path(), true)
        .expect("written");
    let ca = other.path().join("ca.crt");
    let wrong_ca = etcdeck_with(
        &tc,
        &[("ETCDCTL_CACERT", ca.to_str().expect("utf-8 path"))],
        &["health"],
    );
    let text = stdout(&wrong_ca);
    assert_eq!(code(&wrong_ca), 3, "{text}");
    assert!(text.contains("not signed by the CA"), "{text}");

    // A client certificate file that is not there: 3, naming the file.
    let missing = etcdeck_with(
        &tc,
        &[("ETCDCTL_CERT", "/nonexistent/client.crt")],
        &["health"],
    );
    let text = stdout(&missing);
    assert_eq!(code(&missing), 3, "{text}");
    assert!(text.contains("/nonexistent/client.crt"), "{text}");

    // The member itself down: that is the cluster, 2.
    let mut tc = tc;
    let name = tc.sandbox.members()[0].name();
    tc.sandbox.kill(&name).expect("kill");
    let down = etcdeck_with(&tc, &[], &["health", "--timeout", "500ms"]);
    let text = stdout(&down);
    assert_eq!(code(&down), 2, "{text}");
    assert!(text.starts_with("UNAVAILABLE: "), "{text}");
}

/// Pigsty signs every cluster with the same CA: a stale address of another cluster in
/// ETCDCTL_ENDPOINTS is answered, with the same certificates. etcdeck refuses the mix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_of_two_clusters_are_refused_grouped_by_cluster() {
    let mut a = TestCluster::start(3).await;
    // The second cluster is issued from the first one's CA.
    let dir = tempfile::TempDir::new().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("pki")).expect("pki dir");
    for f in ["ca.crt", "ca.key"] {
        std::fs::copy(
            a.dir.path().join("pki").join(f),
            dir.path().join("pki").join(f),
        )
        .expect("CA copied");
    }
    let b = TestCluster::start_from(&common::fresh_inventory(1), dir).await;
    let (id_a, id_b) = (cluster_id(&a).await, cluster_id(&b).await);
    assert_ne!(id_a, id_b);
    // The first cluster degraded, as when a stale address hid the trouble: a follower dead (with
    // auth on, a dead leader would also stop every login until the next election).
    let leader = a.leader_name().await;
    let dead = a
        .sandbox
        .members()
        .iter()
        .map(|m| m.name())
        .find(|n| *n != leader)
        .expect("a follower");
    a.sandbox.kill(&dead).expect("kill");
    let mut endpoints = a.sandbox.client_urls();
    endpoints.extend(b.sandbox.client_urls());
    let endpoints = endpoints.join(",");
    let env = [("ETCDCTL_ENDPOINTS", endpoints.as_str())];

    for _ in 0..3 {
        let health = etcdeck_with(&a, &env, &["health"]);
        let text = stdout(&health);
        assert_eq!(code(&health), 3, "{text}");
        assert!(text.contains("belong to 2 different clusters"), "{text}");
        // Grouped: each cluster with its own endpoints.
        for url in b.sandbox.client_urls() {
            assert!(text.contains(&format!("cluster {id_b} ({url})")), "{text}");
        }
        assert!(text.contains(&format!("cluster {id_a} (")), "{text}");
        assert!(!text.contains("healthy"), "{text}");
    }
    for args in [&["status"][..], &["keys"], &["patroni"], &["timeline"]] {
        let out = etcdeck_with(&a, &env, args);
        assert_ne!(code(&out), 0, "{args:?} accepted a mix: {}", stdout(&out));
        let err = common::stderr(&out);
        assert!(err.contains("different clusters"), "{args:?}: {err}");
    }
}

/// The cluster id one cluster's own endpoints give, in hex.
async fn cluster_id(tc: &TestCluster) -> String {
    let id = tc
        .cluster(std::time::Duration::from_secs(2))
        .identify()
        .await
        .expect("one cluster");
    format!("{id:x}")
}

/// With quorum lost no endpoint can answer a linearizable read; the endpoints are asked
/// side by side, so `keys` and `patroni` give up after about one timeout, not one per endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_quorum_lost_keys_and_patroni_give_up_after_about_one_timeout() {
    let tc = TestCluster::start(3).await;
    let names: Vec<String> = tc.sandbox.members().iter().map(|m| m.name()).collect();
    for n in &names[1..] {
        tc.sandbox.freeze(n).expect("freeze");
    }
    // With auth on, connecting is a login, itself a raft proposal that waits out its timeout
    // (the cluster check at the start as well): one timeout more. One endpoint after another
    // took 6 s, and longer with auth.
    let bound = if tc.sandbox.auth() { 6500 } else { 4500 };
    for args in [
        &["keys", "--timeout", "2s"][..],
        &["patroni", "--timeout", "2s"],
    ] {
        let started = std::time::Instant::now();
        let out = etcdeck_with(&tc, &[], args);
        let took = started.elapsed();
        assert_ne!(code(&out), 0, "{args:?}: {}", stdout(&out));
        assert!(
            took < std::time::Duration::from_millis(bound),
            "{args:?} took {took:?}"
        );
    }
    for n in &names[1..] {
        tc.sandbox.thaw(n).expect("thaw");
    }
}
