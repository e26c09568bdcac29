//! `/metrics` over HTTPS from a real TLS etcd member, with the sandbox's CA and client certificate.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::{stderr, TestCluster};
use etcdeck::connect::{FileSetting, Origin};
use etcdeck::etcd::metrics::{self, scrape, Scraper};
use etcdeck::etcd::EtcdError;
use etcdeck::pki::Ca;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_a_tls_member_parse_and_compare() {
    let tc = TestCluster::start(1).await;
    let settings = tc.sandbox.settings(Duration::from_secs(5));
    let url = settings.endpoints[0].clone();
    assert!(url.starts_with("https://"), "{url}");
    let scraper = Scraper::new(&settings).expect("TLS files load");

    let (body, took) = scrape(&scraper, &url).await.expect("scrape");
    assert!(took < Duration::from_secs(5));
    assert!(body.len() > 50_000, "a whole page: {} bytes", body.len());
    let first = metrics::parse(&body).expect("the page parses");
    assert_eq!(first.has_leader, Some(true));
    assert_eq!(first.is_leader, Some(true), "a single member leads");
    assert_eq!(first.is_learner, Some(false));
    let version = first.version.clone().expect("etcd_server_version");
    // The version of the binary the harness runs (3.4 or 3.5), as `etcd --version` tells it.
    assert_eq!(version, common::etcd_version());
    assert!(first.quota_bytes.is_some_and(|q| q > 0));
    assert!(first.db_total_bytes.is_some_and(|b| b > 0));
    assert!(first.wal_fsync.is_some() && first.backend_commit.is_some());
    assert!(first.peer_rtt.is_empty(), "a single member has no peer");

    // The id on the page is the member's id as the member list has it.
    let (list, _) = tc
        .cluster(Duration::from_secs(5))
        .member_list()
        .await
        .expect("member list");
    let id = format!("{:x}", list.members()[0].id());
    assert_eq!(first.server_id.as_deref(), Some(id.as_str()));

    // Writes fsync the WAL: the second scrape sees them, and only them.
    for i in 0..5 {
        let out = tc.etcdctl(&["put", &format!("/metrics-test/{i}"), "v"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let (body, _) = scrape(&scraper, &url).await.expect("second scrape");
    let second = metrics::parse(&body).expect("the page parses");
    let fsyncs = |s: &metrics::Snapshot| s.wal_fsync.as_ref().unwrap().count;
    assert!(fsyncs(&second) >= fsyncs(&first) + 5.0);
    let derived = metrics::compare(&first, &second);
    let p99 = derived.wal_fsync_p99_s.expect("fsyncs in between");
    assert!(p99 > 0.0 && p99 < 10.0, "{p99}");
    assert_eq!(derived.leader_changes_delta, Some(0.0));
    assert_eq!(derived.proposals_failed_delta, Some(0.0));
    println!(
        "fsync p99 between the scrapes: {:.3} ms; took {took:?}",
        p99 * 1000.0
    );

    // One connection per scrape, closed after it: many in a row all read whole pages.
    for _ in 0..20 {
        let (body, _) = scrape(&scraper, &url).await.expect("repeated scrape");
        assert!(body.ends_with('\n'), "a whole page");
        metrics::parse(&body).expect("the page parses");
    }

    // A client URL with a path: the member answers 404 for what it does not serve, and the
    // error carries the status and what the member said.
    let wrong_path = format!("{url}/nothing-here");
    let err = scrape(&scraper, &wrong_path).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{wrong_path}: GET /nothing-here/metrics: HTTP 404 Not Found: 404 page not found")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_failures_say_why() {
    let tc = TestCluster::start(1).await;
    let settings = tc.sandbox.settings(Duration::from_secs(5));
    let url = settings.endpoints[0].clone();

    // A CA that did not sign the member's certificate.
    let other = tc.dir.path().join("other-ca.crt");
    std::fs::write(&other, Ca::create("other-ca").unwrap().cert_pem()).unwrap();
    let mut wrong_ca = settings.clone();
    wrong_ca.cacert = Some(FileSetting {
        path: other.clone(),
        origin: Origin::Flag("--cacert"),
    });
    let err = scrape(&Scraper::new(&wrong_ca).unwrap(), &url)
        .await
        .unwrap_err();
    assert!(matches!(err, EtcdError::UnknownCa { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "{url}: TLS: the server certificate is not signed by the CA in --cacert={}",
            other.display()
        )),
        "{msg}"
    );

    // No client certificate: etcd runs with client-cert-auth.
    let mut no_cert = settings.clone();
    no_cert.cert = None;
    no_cert.key = None;
    let err = scrape(&Scraper::new(&no_cert).unwrap(), &url)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            EtcdError::ClientCertRejected { .. } | EtcdError::ClosedAfterHandshake { .. }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("client certificate"), "{err}");
    println!("{err}");

    // Nothing listens on the port.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let refused = format!("https://127.0.0.1:{port}");
    let err = scrape(&Scraper::new(&settings).unwrap(), &refused)
        .await
        .unwrap_err();
    assert_eq!(err.short(), "refused");
    assert!(err.to_string().contains("refused"), "{err}");

    // A port that accepts the connection and never answers: the whole exchange times out.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("https://{}", silent.local_addr().unwrap());
    let mut short = settings.clone();
    short.timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let err = scrape(&Scraper::new(&short).unwrap(), &silent_url)
        .await
        .unwrap_err();
    assert!(matches!(err, EtcdError::Timeout { ms: 300, .. }), "{err:?}");
    assert_eq!(err.short(), "timeout");
    assert!(started.elapsed() < Duration::from_secs(3));
    println!("{err}");
    drop(silent);

    // Plain HTTP to the TLS port: etcd hangs up without a word; we suggest https.
    let plain = url.replacen("https://", "http://", 1);
    let err = scrape(&Scraper::new(&settings).unwrap(), &plain)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("does this member serve TLS (https://)?"),
        "{msg}"
    );
    println!("{msg}");

    // A bad CA file is reported when the scraper is made, before any request.
    let mut garbage = settings.clone();
    let bad = tc.dir.path().join("garbage.crt");
    std::fs::write(&bad, "not a certificate\n").unwrap();
    garbage.cacert = Some(FileSetting {
        path: bad,
        origin: Origin::Env("ETCDCTL_CACERT"),
    });
    let err = Scraper::new(&garbage).err().expect("a bad CA file fails");
    assert!(
        err.to_string().contains("not a usable CA certificate"),
        "{err}"
    );
}
