//! The sandbox: real etcd members from an inventory, their certificates, restarts and cleanup.

mod common;

use std::time::Duration;

use common::{alive, fresh_inventory, openssl, openssl_ca, stderr, stdout, TestCluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_listen_on_mapped_loopback_with_inventory_ports_and_keep_data_across_restart() {
    let mut tc = TestCluster::start(3).await;
    let urls = tc.sandbox.client_urls();
    let host_line = tc
        .inventory_text
        .lines()
        .find(|l| l.contains("etcd_seq: 1"))
        .unwrap();
    let inv_ip = host_line.trim().split(':').next().unwrap();
    let mapped = inv_ip.replacen("10.", "127.", 1);
    assert_eq!(urls[0], format!("https://{mapped}:2379"));

    let out = tc.etcdctl(&["put", "/pg/keep", "me"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let pids = tc.pids();
    tc.sandbox.stop();
    for pid in &pids {
        assert!(!alive(*pid), "etcd {pid} still running after stop");
    }
    let conf = std::fs::read_to_string(tc.sandbox.members()[0].dir.join("etcd.conf")).unwrap();
    assert!(conf.contains("initial-cluster-state: new"), "{conf}");

    tc.sandbox.start().unwrap();
    tc.sandbox
        .wait_healthy(Duration::from_secs(10))
        .await
        .expect("restart is healthy");
    let conf = std::fs::read_to_string(tc.sandbox.members()[0].dir.join("etcd.conf")).unwrap();
    assert!(conf.contains("initial-cluster-state: existing"), "{conf}");
    let out = tc.etcdctl(&["get", "/pg/keep", "--print-value-only"]);
    assert_eq!(stdout(&out).trim(), "me", "data survives a restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_sandbox_leaves_no_etcd_behind_even_on_panic() {
    let pids = std::thread::spawn(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let tc = rt.block_on(TestCluster::start(3));
        let pids = tc.pids();
        tc.sandbox.freeze("etcd-2").unwrap();
        std::panic::panic_any(pids);
    })
    .join()
    .expect_err("the thread panicked")
    .downcast::<Vec<u32>>()
    .expect("pids");
    std::thread::sleep(Duration::from_millis(200));
    for pid in pids.iter() {
        assert!(!alive(*pid), "etcd {pid} survived the panic");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pkcs1_rsa_ca_made_by_openssl_signs_certificates_a_real_cluster_accepts() {
    let dir = tempfile::TempDir::new().unwrap();
    let pki = dir.path().join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    openssl_ca(&pki, &["genrsa", "-traditional", "-out", "ca.key", "2048"]);
    assert!(std::fs::read_to_string(pki.join("ca.key"))
        .unwrap()
        .starts_with("-----BEGIN RSA PRIVATE KEY-----"));

    let tc = TestCluster::start_from(&fresh_inventory(3), dir).await;
    let out = tc.etcdeck(&["status"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let m1 = &tc.sandbox.members()[0];
    let verify = openssl(
        tc.dir.path(),
        &[
            "verify",
            "-CAfile",
            "pki/ca.crt",
            &format!("{}/{}.crt", m1.name(), m1.name()),
        ],
    );
    assert_eq!(verify.trim(), "etcd-1/etcd-1.crt: OK");
}

/// The demo plays Patroni: a follower that dies (here killed behind the lab's back, as a node
/// is lost) must not cost the seeded clusters their leader keys. Each round of Patroni's loop
/// goes through, and every leader key keeps its leader's lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demos_patroni_keys_stay_alive_through_a_killed_follower() {
    let t = Duration::from_secs(2);
    let tc = TestCluster::start(3).await;
    let leader = tc.leader_name().await;
    let cluster = tc.cluster(t);
    let mut client = cluster.balanced_voters().await.expect("client");
    let mut clusters = etcdeck::demo::demo_clusters();
    etcdeck::demo::seed(&mut client, "/pg", &mut clusters, t)
        .await
        .expect("seeded");
    let TestCluster { sandbox, dir, .. } = tc;
    let inventory = dir.path().join("inventory.yml");
    let mut lab = etcdeck::lab::Lab::new(sandbox, cluster, client, "/pg", clusters, inventory);
    let follower = ["etcd-1", "etcd-2", "etcd-3"]
        .into_iter()
        .find(|m| *m != leader)
        .unwrap();
    assert!(
        lab.sandbox.kill_any(follower).expect("kill"),
        "{follower} ran"
    );
    for round in 0..6 {
        if let Err(e) = lab.tick().await {
            panic!("round {round} of Patroni's loop with {follower} dead: {e:#}");
        }
    }
    let mut check = client_but(&lab, follower).await;
    for c in &lab.clusters {
        let key = format!("/pg/{}/leader", c.scope);
        let got = check.get(key.as_str(), None).await.expect("get");
        let kv = got.kvs().first().unwrap_or_else(|| panic!("{key} lost"));
        let holder = c.leader().expect("a leader");
        assert_eq!(kv.value_str().unwrap(), holder.name, "{key}");
        assert_eq!(kv.lease(), holder.lease, "{key} keeps its leader's lease");
        let ttl = check.lease_time_to_live(holder.lease, None).await.unwrap();
        assert!(
            ttl.ttl() > 20,
            "{key}: the lease is renewed ({} s left)",
            ttl.ttl()
        );
    }
    drop(dir);
}

/// A client over the lab's members but `dead`.
async fn client_but(lab: &etcdeck::lab::Lab, dead: &str) -> etcd_client::Client {
    let urls: Vec<String> = lab
        .sandbox
        .members()
        .iter()
        .filter(|m| m.name() != dead)
        .map(|m| m.client_url())
        .collect();
    etcdeck::etcd::Cluster::new(lab.sandbox.settings(Duration::from_secs(2)))
        .unwrap()
        .balanced(&urls)
        .await
        .expect("client")
}
