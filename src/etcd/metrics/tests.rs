use super::*;

const MEMBER1: &str = include_str!("../../../tests/fixtures/etcd-3.4.23-member1.metrics.txt");
const MEMBER2: &str = include_str!("../../../tests/fixtures/etcd-3.4.23-member2.metrics.txt");

fn hist(buckets: &[(f64, f64)]) -> Histogram {
    Histogram {
        buckets: buckets.to_vec(),
        count: buckets.last().map_or(0.0, |b| b.1),
        sum: 0.0,
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-12)
}

const INF: f64 = f64::INFINITY;

#[test]
fn member1_follower_reads_as_a_user_checks_it() {
    let s = parse(MEMBER1).unwrap();
    assert_eq!(s.has_leader, Some(true));
    assert_eq!(s.is_leader, Some(false));
    assert_eq!(s.is_learner, Some(false));
    assert_eq!(s.leader_changes, Some(1.0));
    assert_eq!(s.version.as_deref(), Some("3.4.23"));
    assert_eq!(s.server_id.as_deref(), Some("24494e92ba88e68e"));
    // Never compacted: etcd says -1.
    assert_eq!(s.compact_revision, Some(0));
    let compacted = MEMBER1.replace(
        "etcd_debugging_mvcc_compact_revision -1",
        "etcd_debugging_mvcc_compact_revision 4711",
    );
    assert_eq!(parse(&compacted).unwrap().compact_revision, Some(4711));
    assert_eq!(s.quota_bytes, Some(17_179_869_184)); // 16 GiB, written 1.7179869184e+10
    assert_eq!(s.db_total_bytes, Some(36_864));
    assert_eq!(s.db_in_use_bytes, Some(36_864));
    assert_eq!(s.proposals_pending, Some(0.0));
    assert_eq!(s.proposals_failed, Some(0.0));

    let wal = s.wal_fsync.as_ref().unwrap();
    assert_eq!(wal.buckets.len(), 15);
    assert_eq!(wal.buckets[0], (0.001, 27.0));
    assert_eq!(wal.buckets[1], (0.002, 28.0));
    assert_eq!(wal.buckets[2], (0.004, 29.0));
    assert_eq!(wal.buckets[13], (8.192, 29.0));
    assert_eq!(wal.buckets[14], (INF, 29.0));
    assert_eq!(wal.count, 29.0);
    assert!((wal.sum - 0.014235296000000007).abs() < 1e-15);

    let commit = s.backend_commit.as_ref().unwrap();
    assert_eq!(commit.count, 19.0);
    assert_eq!(commit.buckets[0], (0.001, 18.0));
    assert_eq!(commit.buckets[3], (0.008, 19.0));

    let peers: Vec<&str> = s.peer_rtt.keys().map(String::as_str).collect();
    assert_eq!(peers, ["8032769405136571", "83e3e012980251d0"]);
    let rtt = &s.peer_rtt["8032769405136571"];
    assert_eq!(rtt.buckets.len(), 17);
    assert_eq!(rtt.buckets[0], (0.0001, 0.0));
    assert_eq!(rtt.buckets[3], (0.0008, 2.0));
    assert_eq!(rtt.buckets[16], (INF, 4.0));
    assert_eq!(rtt.count, 4.0);
    assert!((rtt.sum - 0.005006186).abs() < 1e-15);
    // Sorted by le, +Inf last, for every histogram.
    for h in s.peer_rtt.values().chain([wal, commit]) {
        assert!(h.buckets.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(h.buckets.last().unwrap().0, INF);
    }
}

#[test]
fn only_the_lines_read_here_go_to_the_parser() {
    let kept: Vec<&str> = MEMBER1.lines().filter(|l| wanted(l)).collect();
    // 13 scalars, 2 x (15 + 2) disk histogram lines, 2 x (17 + 2) peer lines, and 16 TYPE
    // lines (one per scalar, one per histogram family).
    assert_eq!(
        kept.iter().filter(|l| !l.starts_with('#')).count(),
        13 + 34 + 38
    );
    assert_eq!(kept.iter().filter(|l| l.starts_with("# TYPE")).count(), 16);
    assert!(!wanted(
        "# HELP etcd_server_has_leader Whether or not a leader exists."
    ));
    assert!(!wanted("etcd_server_has_leader_x 1"));
    assert!(!wanted(
        "etcd_disk_wal_fsync_duration_seconds_bucketx{le=\"1\"} 1"
    ));
    assert!(wanted("#  TYPE  etcd_server_has_leader gauge"));
    // Indented lines are read like the parser reads them.
    let indented = MEMBER1.replace("\netcd_server_is_leader 0", "\n  etcd_server_is_leader 0");
    assert_eq!(parse(&indented).unwrap(), parse(MEMBER1).unwrap());
}

#[test]
fn member2_is_the_leader_and_measures_the_other_two() {
    let s = parse(MEMBER2).unwrap();
    assert_eq!(s.has_leader, Some(true));
    assert_eq!(s.is_leader, Some(true));
    assert_eq!(s.server_id.as_deref(), Some("83e3e012980251d0"));
    let peers: Vec<&str> = s.peer_rtt.keys().map(String::as_str).collect();
    // member1's id, and the third member that member1 also measures.
    assert_eq!(peers, ["24494e92ba88e68e", "8032769405136571"]);
    assert_eq!(s.wal_fsync.as_ref().unwrap().count, 28.0);
    assert_eq!(s.backend_commit.as_ref().unwrap().buckets[0], (0.001, 15.0));
}

#[test]
fn fixture_lifetime_p99s_and_no_alerts() {
    let s = parse(MEMBER1).unwrap();
    let d = lifetime(&s);
    // 29 fsyncs: rank 28.71 falls in (0.002, 0.004] holding 1: 0.002 + 0.71 * 0.002.
    assert!(close(d.wal_fsync_p99_s, 0.00342), "{d:?}");
    // 19 commits: rank 18.81 in (0.004, 0.008] holding 1: 0.004 + 0.81 * 0.004.
    assert!(close(d.backend_commit_p99_s, 0.00724), "{d:?}");
    // 4 probes: rank 3.96 in (0.0016, 0.0032] holding 1: 0.0016 + 0.96 * 0.0016.
    assert!(
        close(d.peer_rtt_p99_s["8032769405136571"], 0.003136),
        "{d:?}"
    );
    assert_eq!(d.leader_changes_delta, None);
    assert!(alerts(&s, &d).is_empty());

    // The same page twice: nothing happened in between.
    let d = compare(&s, &s);
    assert_eq!(d.wal_fsync_p99_s, None);
    assert_eq!(d.peer_rtt_p99_s.len(), 2);
    assert!(d.peer_rtt_p99_s.values().all(Option::is_none));
    assert_eq!(d.leader_changes_delta, Some(0.0));
    assert_eq!(d.proposals_failed_delta, Some(0.0));
}

#[test]
fn quantile_interpolates_inside_the_bucket_of_the_rank() {
    let earlier = hist(&[(0.001, 0.0), (0.002, 0.0), (0.004, 0.0), (INF, 0.0)]);
    let later = hist(&[(0.001, 10.0), (0.002, 20.0), (0.004, 20.0), (INF, 20.0)]);
    // Rank 10 sits at the top of the first bucket.
    assert!(close(quantile(0.5, &earlier, &later), 0.001));
    // Rank 19.8: 0.001 + (19.8 - 10) / (20 - 10) * 0.001.
    assert!(close(quantile(0.99, &earlier, &later), 0.00198));
    // The first bucket starts at 0: rank 5 is half way up it.
    assert!(close(quantile(0.25, &earlier, &later), 0.0005));
    assert!(close(quantile_total(0.99, &later), 0.00198));
}

#[test]
fn quantile_uses_deltas_not_totals() {
    // 100 fast fsyncs long ago, then 10 slow ones (in (0.032, 0.064]) since the last scrape.
    let earlier = hist(&[(0.032, 100.0), (0.064, 100.0), (INF, 100.0)]);
    let later = hist(&[(0.032, 100.0), (0.064, 110.0), (INF, 110.0)]);
    // Rank 9.9 of 10 in (0.032, 0.064]: 0.032 + 0.99 * 0.032.
    assert!(close(quantile(0.99, &earlier, &later), 0.06368));
    // Over the lifetime the slow ones are hidden in the p50.
    assert!(close(quantile_total(0.5, &later), 0.032 * 55.0 / 100.0));
}

#[test]
fn rank_in_the_inf_bucket_gives_the_highest_finite_bound() {
    let earlier = hist(&[(0.001, 0.0), (0.002, 0.0), (INF, 0.0)]);
    let later = hist(&[(0.001, 1.0), (0.002, 2.0), (INF, 10.0)]);
    assert_eq!(quantile(0.99, &earlier, &later), Some(0.002));
    assert_eq!(quantile(0.5, &earlier, &later), Some(0.002));
}

#[test]
fn no_observations_in_between_is_none() {
    let h = hist(&[(0.001, 5.0), (0.002, 7.0), (INF, 7.0)]);
    assert_eq!(quantile(0.99, &h, &h), None);
    assert_eq!(
        quantile_total(0.99, &hist(&[(0.001, 0.0), (INF, 0.0)])),
        None
    );
    // Nothing but +Inf, or no +Inf: nothing to interpolate in.
    assert_eq!(quantile_total(0.99, &hist(&[(INF, 3.0)])), None);
    assert_eq!(
        quantile_total(0.99, &hist(&[(0.001, 3.0), (0.002, 3.0)])),
        None
    );
    // q outside [0, 1].
    assert_eq!(quantile_total(1.5, &h), None);
    assert_eq!(quantile_total(f64::NAN, &h), None);
}

#[test]
fn counter_reset_takes_the_later_histogram_alone() {
    // The member restarted: its counts went down. What it counted since is all new.
    let earlier = hist(&[(0.001, 50.0), (0.002, 60.0), (0.004, 60.0), (INF, 60.0)]);
    let later = hist(&[(0.001, 10.0), (0.002, 20.0), (0.004, 20.0), (INF, 20.0)]);
    assert!(close(quantile(0.99, &earlier, &later), 0.00198));
    // A different bucket layout is a reset too.
    let other = hist(&[(0.005, 1.0), (INF, 1.0)]);
    assert!(close(quantile(0.99, &other, &later), 0.00198));
    // Restarted and nothing observed yet.
    let empty = hist(&[(0.001, 0.0), (0.002, 0.0), (0.004, 0.0), (INF, 0.0)]);
    assert_eq!(quantile(0.99, &earlier, &empty), None);
}

#[test]
fn compare_derives_p99s_and_counter_deltas() {
    let earlier = parse(MEMBER1).unwrap();
    let mut later = earlier.clone();
    // 20 more fsyncs, all in (0.064, 0.128]; 2 more leader changes; 3 failed proposals.
    let wal = later.wal_fsync.as_mut().unwrap();
    for b in wal.buckets.iter_mut().filter(|b| b.0 > 0.064) {
        b.1 += 20.0;
    }
    later.leader_changes = Some(3.0);
    later.proposals_failed = Some(3.0);
    let d = compare(&earlier, &later);
    // Rank 19.8 of 20 in (0.064, 0.128]: 0.064 + 0.99 * 0.064.
    assert!(close(d.wal_fsync_p99_s, 0.12736), "{d:?}");
    assert_eq!(d.backend_commit_p99_s, None);
    assert_eq!(d.leader_changes_delta, Some(2.0));
    assert_eq!(d.proposals_failed_delta, Some(3.0));
    let fired = alerts(&later, &d);
    assert_eq!(
        fired,
        vec![Alert::WalFsyncSlow {
            p99_s: d.wal_fsync_p99_s.unwrap()
        }]
    );
    assert_eq!(fired[0].to_string(), "WAL fsync p99 127 ms, over 50 ms");

    // Counters that went down (restart): the later value is the delta.
    let restarted = Snapshot {
        leader_changes: Some(1.0),
        ..later.clone()
    };
    assert_eq!(compare(&later, &restarted).leader_changes_delta, Some(1.0));

    // Another member behind the same URL: later alone, like a restart.
    let other = Snapshot {
        server_id: Some("8032769405136571".into()),
        ..later.clone()
    };
    let d = compare(&earlier, &other);
    assert!(close(
        d.wal_fsync_p99_s,
        lifetime(&other).wal_fsync_p99_s.unwrap()
    ));
    assert_eq!(d.leader_changes_delta, Some(3.0));
}

fn derived_with(fsync: Option<f64>, rtt: &[(&str, f64)]) -> Derived {
    Derived {
        wal_fsync_p99_s: fsync,
        peer_rtt_p99_s: rtt.iter().map(|(p, v)| (p.to_string(), Some(*v))).collect(),
        ..Derived::default()
    }
}

fn healthy() -> Snapshot {
    Snapshot {
        has_leader: Some(true),
        db_total_bytes: Some(1 << 30),
        quota_bytes: Some(16 << 30),
        ..Snapshot::default()
    }
}

#[test]
fn fsync_alert_at_and_over_50_ms_not_below() {
    let s = healthy();
    let msg = |p: f64| {
        alerts(&s, &derived_with(Some(p), &[]))
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(msg(0.082), ["WAL fsync p99 82 ms, over 50 ms"]);
    assert_eq!(msg(0.05), ["WAL fsync p99 50 ms, over 50 ms"]);
    assert_eq!(msg(0.0501), ["WAL fsync p99 50 ms, over 50 ms"]);
    assert!(msg(0.0499).is_empty());
    assert!(alerts(&s, &derived_with(None, &[])).is_empty());
    let a = &alerts(&s, &derived_with(Some(0.06), &[]))[0];
    assert_eq!(
        (a.rule(), a.severity()),
        ("EtcdWalFsyncSlow", Severity::Info)
    );
}

#[test]
fn peer_rtt_alert_at_and_over_200_ms_not_below() {
    let s = healthy();
    let fired = alerts(
        &s,
        &derived_with(
            None,
            &[
                ("8e9e05c52164694d", 0.31),
                ("91bc3c398fb3c146", 0.2),
                ("fd422379fda50e48", 0.1999),
            ],
        ),
    );
    let msgs: Vec<String> = fired.iter().map(|a| a.to_string()).collect();
    assert_eq!(
        msgs,
        [
            "peer round trip to 8e9e05c52164694d p99 310 ms, over 200 ms",
            "peer round trip to 91bc3c398fb3c146 p99 200 ms, over 200 ms",
        ]
    );
    assert_eq!(fired[0].rule(), "EtcdNetworkPeerRTSlow");
    // A peer without a probe in between never alerts.
    let mut d = derived_with(None, &[]);
    d.peer_rtt_p99_s.insert("8e9e05c52164694d".into(), None);
    assert!(alerts(&s, &d).is_empty());
}

#[test]
fn quota_alert_at_and_over_90_percent_not_below() {
    let gib = 1u64 << 30;
    let with = |db: u64, quota: u64| Snapshot {
        db_total_bytes: Some(db),
        quota_bytes: Some(quota),
        ..healthy()
    };
    let msg = |s: Snapshot| {
        alerts(&s, &Derived::default())
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
    };
    // 14.9 GiB of 16 GiB.
    let db = (14.9 * gib as f64) as u64;
    assert_eq!(
        msg(with(db, 16 * gib)),
        ["DB at 93% of quota (14.9 GiB of 16.0 GiB)"]
    );
    // Exactly 90 % of 10 GiB, and one byte under.
    assert_eq!(
        msg(with(9 * gib, 10 * gib)),
        ["DB at 90% of quota (9.0 GiB of 10.0 GiB)"]
    );
    assert_eq!(
        msg(with(9 * gib + 1, 10 * gib)),
        ["DB at 90% of quota (9.0 GiB of 10.0 GiB)"]
    );
    assert!(msg(with(9 * gib - 1, 10 * gib)).is_empty());
    // The fixture's 36 KiB of 16 GiB, and no quota reported at all.
    assert!(msg(with(36_864, 16 * gib)).is_empty());
    assert!(msg(Snapshot {
        quota_bytes: None,
        ..with(db, 16 * gib)
    })
    .is_empty());
    let a = &alerts(&with(db, 16 * gib), &Derived::default())[0];
    assert_eq!((a.rule(), a.severity()), ("EtcdQuotaFull", Severity::Warn));
}

#[test]
fn no_leader_alert_comes_first() {
    let s = Snapshot {
        has_leader: Some(false),
        db_total_bytes: Some(95),
        quota_bytes: Some(100),
        ..Snapshot::default()
    };
    let fired = alerts(&s, &derived_with(Some(0.1), &[]));
    assert_eq!(fired[0].to_string(), "no leader");
    assert_eq!(fired[0].severity(), Severity::Crit);
    assert_eq!(fired.len(), 3);
    // A page without etcd_server_has_leader says nothing about the leader.
    assert!(alerts(&Snapshot::default(), &Derived::default()).is_empty());
}

#[test]
fn bad_pages_say_what_is_wrong() {
    assert_eq!(parse("  \n").unwrap_err(), MetricsError::Empty);
    let html = "<html><body>404 page not found</body></html>\n";
    assert_eq!(
        parse(html).unwrap_err().to_string(),
        "not Prometheus text: no sample line in it; it starts with \"<html><body>404 page not found</body></html>\""
    );
    let other = "# TYPE go_goroutines gauge\ngo_goroutines 12\nprocess_open_fds 9\n";
    assert_eq!(
        parse(other).unwrap_err().to_string(),
        "no etcd_* metric among the 2 samples of the page (first: go_goroutines): is this the \
         client URL of an etcd member?"
    );
    let proxy =
        "# TYPE etcd_grpc_proxy_cache_hits_total gauge\netcd_grpc_proxy_cache_hits_total 3\n";
    assert_eq!(
        parse(proxy).unwrap_err(),
        MetricsError::NoServerMetrics { samples: 1 }
    );
    let flag = "# TYPE etcd_server_has_leader gauge\netcd_server_has_leader 2\n";
    assert_eq!(
        parse(flag).unwrap_err().to_string(),
        "etcd_server_has_leader: value \"2\" is not 0 or 1"
    );
    // prometheus-parse drops a value it cannot read; we say so.
    let garbled = "etcd_server_is_leader 0\netcd_server_has_leader yes\n";
    assert_eq!(
        parse(garbled).unwrap_err().to_string(),
        "etcd_server_has_leader: value \"yes\" is not a number"
    );
    let no_label = "etcd_server_version 1\n";
    assert_eq!(
        parse(no_label).unwrap_err().to_string(),
        "etcd_server_version: no label server_version"
    );
}

#[test]
fn bad_histograms_say_what_is_wrong() {
    let head = "# TYPE etcd_disk_wal_fsync_duration_seconds histogram\n";
    let page = |lines: &str| format!("{head}{lines}");
    let no_inf = page(
        "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.001\"} 1\n\
         etcd_disk_wal_fsync_duration_seconds_sum 0.0005\n\
         etcd_disk_wal_fsync_duration_seconds_count 1\n",
    );
    assert_eq!(
        parse(&no_inf).unwrap_err().to_string(),
        "histogram etcd_disk_wal_fsync_duration_seconds: no le=\"+Inf\" bucket"
    );
    let down = page(
        "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.001\"} 5\n\
         etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.002\"} 3\n\
         etcd_disk_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} 5\n\
         etcd_disk_wal_fsync_duration_seconds_sum 0.0005\n\
         etcd_disk_wal_fsync_duration_seconds_count 5\n",
    );
    assert_eq!(
        parse(&down).unwrap_err().to_string(),
        "histogram etcd_disk_wal_fsync_duration_seconds: cumulative counts go down: 5 at \
         le=0.001, then 3 at le=0.002"
    );
    let no_count = page(
        "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} 5\n\
         etcd_disk_wal_fsync_duration_seconds_sum 0.0005\n",
    );
    assert_eq!(
        parse(&no_count).unwrap_err().to_string(),
        "histogram etcd_disk_wal_fsync_duration_seconds: no \
         etcd_disk_wal_fsync_duration_seconds_count line"
    );
    let untyped = "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} 5\n";
    assert_eq!(
        parse(untyped).unwrap_err().to_string(),
        "histogram etcd_disk_wal_fsync_duration_seconds: bucket lines without a \
         '# TYPE etcd_disk_wal_fsync_duration_seconds histogram' line"
    );
    let peer = "# TYPE etcd_network_peer_round_trip_time_seconds histogram\n\
                etcd_network_peer_round_trip_time_seconds_bucket{To=\"a1\",le=\"0.1\"} 1\n\
                etcd_network_peer_round_trip_time_seconds_bucket{To=\"a1\",le=\"+Inf\"} 1\n\
                etcd_network_peer_round_trip_time_seconds_count{To=\"a1\"} 1\n";
    assert_eq!(
        parse(peer).unwrap_err().to_string(),
        "histogram etcd_network_peer_round_trip_time_seconds{To=\"a1\"}: no \
         etcd_network_peer_round_trip_time_seconds_sum line"
    );
}

#[test]
fn older_pages_fall_back_to_the_debugging_db_size() {
    let page = "etcd_debugging_mvcc_db_total_size_in_bytes 4096\netcd_server_has_leader 1\n";
    let s = parse(page).unwrap();
    assert_eq!(s.db_total_bytes, Some(4096));
    assert_eq!(s.db_in_use_bytes, None);
    assert_eq!(s.wal_fsync, None);
    // When both are there the non-debugging one wins, wherever it is on the page.
    let both =
        "etcd_debugging_mvcc_db_total_size_in_bytes 4096\netcd_mvcc_db_total_size_in_bytes 8192\n";
    assert_eq!(parse(both).unwrap().db_total_bytes, Some(8192));
}

#[test]
fn targets_from_client_urls() {
    let t = target("https://10.10.10.10:2379").unwrap();
    assert!(t.tls);
    assert_eq!(
        (t.host.as_str(), t.port, t.path.as_str()),
        ("10.10.10.10", 2379, "/metrics")
    );
    let t = target("http://[::1]:2379/").unwrap();
    assert!(!t.tls);
    assert_eq!(
        (t.host.as_str(), t.port, t.authority.as_str()),
        ("::1", 2379, "[::1]:2379")
    );
    let t = target("https://etcd-1.example/").unwrap();
    assert_eq!((t.host.as_str(), t.port), ("etcd-1.example", 443));
    assert!(target("10.0.0.1:2379")
        .unwrap_err()
        .to_string()
        .contains("no https:// or http://"));
    assert!(target("https://10.0.0.1:xx").is_err());
}

#[tokio::test]
async fn scrape_reports_http_errors_and_reads_chunked_pages() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    // A one-shot HTTP server answering each connection with the next canned response.
    async fn serve(responses: Vec<Vec<u8>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for resp in responses {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut req = vec![0u8; 4096];
                let n = sock.read(&mut req).await.unwrap();
                let req = String::from_utf8_lossy(&req[..n]).to_ascii_lowercase();
                assert!(req.starts_with("get /metrics http/1.1\r\n"), "{req}");
                assert!(req.contains("\r\nconnection: close\r\n"), "{req}");
                assert!(req.contains("\r\naccept-encoding: identity\r\n"), "{req}");
                assert!(req.contains("\r\nhost: 127.0.0.1:"), "{req}");
                // In pieces, as a slow server would.
                for piece in resp.chunks(7) {
                    sock.write_all(piece).await.unwrap();
                    sock.flush().await.unwrap();
                }
                let _ = sock.shutdown().await;
            }
        });
        format!("http://{addr}")
    }

    let mut page = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for piece in MEMBER1.as_bytes().chunks(4000) {
        page.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        page.extend_from_slice(piece);
        page.extend_from_slice(b"\r\n");
    }
    page.extend_from_slice(b"0\r\n\r\n");
    let not_found =
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 19\r\n\r\n404 page not found\n".to_vec();
    let gzip = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 1\r\n\r\nx".to_vec();
    let huge = b"HTTP/1.1 200 OK\r\nContent-Length: 40000000\r\n\r\netcd_".to_vec();
    let cut = b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\netcd_".to_vec();
    let garbage = b"\x16\x03\x01garbage\r\n\r\n".to_vec();
    let silent = Vec::new();
    let url = serve(vec![page, not_found, gzip, huge, cut, garbage, silent]).await;

    let settings = crate::connect::Settings {
        endpoints: vec![url.clone()],
        endpoints_origin: crate::connect::Origin::Default,
        cacert: None,
        cert: None,
        key: None,
        user: None,
        timeout: Duration::from_secs(5),
    };
    let scraper = Scraper::new(&settings).unwrap();
    let (body, took) = scrape(&scraper, &url).await.unwrap();
    assert_eq!(body, MEMBER1);
    assert!(took < Duration::from_secs(5));
    let err = scrape(&scraper, &url).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{url}: GET /metrics: HTTP 404 Not Found: 404 page not found")
    );
    let err = scrape(&scraper, &url).await.unwrap_err().to_string();
    assert!(
        err.ends_with("GET /metrics: the page came gzip-encoded although identity was asked for"),
        "{err}"
    );
    let err = scrape(&scraper, &url).await.unwrap_err().to_string();
    assert!(
        err.ends_with("GET /metrics: the page is over 32 MiB; is this etcd?"),
        "{err}"
    );
    let err = scrape(&scraper, &url).await.unwrap_err();
    assert!(matches!(err, EtcdError::Closed { .. }), "{err:?}");
    let err = scrape(&scraper, &url).await.unwrap_err().to_string();
    assert!(err.starts_with(&format!("{url}: GET /metrics: ")), "{err}");
    let err = scrape(&scraper, &url).await.unwrap_err().to_string();
    assert!(
        err.contains("does this member serve TLS (https://)?"),
        "{err}"
    );
}
