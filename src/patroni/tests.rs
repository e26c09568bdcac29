use serde_json::{json, Value};

use super::*;

const FIXTURE: &str = include_str!("../../tests/fixtures/patroni-4.1.5-pg-meta.json");

/// A key as stored, owning its bytes (an [`Entry`] borrows from it).
#[derive(Clone)]
struct Kv {
    key: Vec<u8>,
    value: Vec<u8>,
    lease: i64,
    create_revision: i64,
    mod_revision: i64,
    version: i64,
}

fn kv(key: &str, value: &str, lease: i64) -> Kv {
    raw(key.as_bytes(), value.as_bytes(), lease)
}

fn raw(key: &[u8], value: &[u8], lease: i64) -> Kv {
    Kv {
        key: key.to_vec(),
        value: value.to_vec(),
        lease,
        create_revision: 1,
        mod_revision: 1,
        version: 1,
    }
}

fn entries(kvs: &[Kv]) -> impl Iterator<Item = Entry<'_>> {
    kvs.iter().map(|k| Entry {
        key: &k.key,
        value: &k.value,
        lease: k.lease,
        create_revision: k.create_revision,
        mod_revision: k.mod_revision,
        version: k.version,
    })
}

fn run(namespace: &str, kvs: &[Kv], ttl: Option<i64>) -> Vec<ClusterSummary> {
    summarize(namespace, entries(kvs), &|_| ttl)
}

fn one(kvs: &[Kv]) -> ClusterSummary {
    let mut all = run("/pg", kvs, Some(25));
    assert_eq!(all.len(), 1, "expected one cluster: {all:#?}");
    all.remove(0)
}

fn fixture() -> Vec<Kv> {
    let dump: Value = serde_json::from_str(FIXTURE).unwrap();
    dump["kvs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| Kv {
            key: k["key"].as_str().unwrap().as_bytes().to_vec(),
            value: k["value"].as_str().unwrap().as_bytes().to_vec(),
            lease: k["lease"].as_i64().unwrap(),
            create_revision: k["create_revision"].as_i64().unwrap(),
            mod_revision: k["mod_revision"].as_i64().unwrap(),
            version: k["version"].as_i64().unwrap(),
        })
        .collect()
}

const LEADER_LEASE: i64 = 7390022223170494994;

fn member_json(role: &str, timeline: u64, xlog: u64) -> Value {
    json!({
        "conn_url": "postgres://10.0.0.1:5432/postgres",
        "api_url": "http://10.0.0.1:8008/patroni",
        "state": "running",
        "role": role,
        "version": "4.1.5",
        "xlog_location": xlog,
        "timeline": timeline,
    })
}

/// A healthy two-member cluster `pg-test` (pg-test-1 leads) that raises no warning.
fn healthy() -> Vec<Kv> {
    vec![
        kv("/pg/pg-test/config", r#"{"ttl":30,"loop_wait":10}"#, 0),
        kv("/pg/pg-test/leader", "pg-test-1", 11),
        kv(
            "/pg/pg-test/members/pg-test-1",
            &member_json("primary", 3, 5_000_000).to_string(),
            11,
        ),
        kv(
            "/pg/pg-test/members/pg-test-2",
            &member_json("replica", 3, 5_000_000).to_string(),
            12,
        ),
        kv("/pg/pg-test/status", r#"{"optime":5000000}"#, 0),
        kv("/pg/pg-test/initialize", "7711808512000000001", 0),
        kv("/pg/pg-test/failover", "{}", 0),
    ]
}

fn set(kvs: &mut Vec<Kv>, key: &str, value: &str, lease: i64) {
    kvs.retain(|k| k.key != key.as_bytes());
    kvs.push(kv(key, value, lease));
}

fn remove(kvs: &mut Vec<Kv>, key: &str) {
    let before = kvs.len();
    kvs.retain(|k| k.key != key.as_bytes());
    assert_eq!(kvs.len() + 1, before, "no key {key} to remove");
}

/// The one warning that contains `needle`, checked to be the only warning.
fn only_warning(s: &ClusterSummary, needle: &str) -> String {
    assert_eq!(s.warnings.len(), 1, "{:#?}", s.warnings);
    assert!(
        s.warnings[0].contains(needle),
        "{:?} lacks {needle:?}",
        s.warnings[0]
    );
    s.warnings[0].clone()
}

fn has_warning(s: &ClusterSummary, needle: &str) -> bool {
    s.warnings.iter().any(|w| w.contains(needle))
}

#[test]
fn real_patroni_dump_reads_as_a_user_checks_it() {
    let kvs = fixture();
    let asked = std::cell::RefCell::new(Vec::new());
    let all = summarize("/pg", entries(&kvs), &|lease| {
        asked.borrow_mut().push(lease);
        (lease == LEADER_LEASE).then_some(25)
    });
    assert_eq!(all.len(), 1);
    let s = &all[0];
    assert_eq!(s.scope, "pg-meta");
    assert_eq!(s.group, None);
    assert_eq!(s.label(), "pg-meta");
    assert_eq!(s.leader.as_deref(), Some("pg-meta-2"));
    assert_eq!(s.leader_lease, LEADER_LEASE);
    assert_eq!(s.leader_ttl_s, Some(25));
    assert!(asked.borrow().contains(&LEADER_LEASE));

    let names: Vec<&str> = s.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["pg-meta-1", "pg-meta-2"]);
    let (m1, m2) = (&s.members[0], &s.members[1]);
    assert_eq!(m1.role.as_deref(), Some("replica"));
    assert_eq!(m2.role.as_deref(), Some("primary"));
    assert_eq!(m1.role_kind(), Role::Replica);
    assert_eq!(m2.role_kind(), Role::Primary);
    assert_eq!(
        s.leader_member().map(|m| m.name.as_str()),
        Some("pg-meta-2")
    );
    for m in &s.members {
        assert_eq!(m.state.as_deref(), Some("running"));
        assert_eq!(m.timeline, Some(2));
        assert_eq!(m.xlog_location, Some(50_604_744));
        assert_eq!(m.lag_bytes, Some(0));
        assert_eq!(m.version.as_deref(), Some("4.1.5"));
        assert_eq!(m.tags.get("clonefrom"), Some(&json!(true)));
        assert_eq!(m.tags.get("version"), Some(&json!("15")));
        assert!(!m.pending_restart && !m.paused && !m.nofailover());
    }
    assert_eq!(m1.replication_state.as_deref(), Some("streaming"));
    assert_eq!(m1.receive_lsn, Some(50_604_744));
    assert_eq!(m1.replay_lsn, Some(50_604_744));
    assert_eq!(m2.replication_state, None);
    assert_eq!(
        m1.conn_url.as_deref(),
        Some("postgres://127.0.0.11:5432/postgres")
    );
    assert_eq!(
        m2.api_url.as_deref(),
        Some("http://127.0.0.12:8008/patroni")
    );
    assert_eq!(m1.lease, 7390022223170494982);
    assert_eq!(m1.ttl_s, None, "the closure knows only the leader's lease");
    assert_eq!(
        m2.ttl_s,
        Some(25),
        "the leader's member key shares its lease"
    );

    assert_eq!(s.optime, Some(50_604_744));
    assert_eq!(s.timeline, Some(2));
    assert_eq!(s.sync_standby, ["pg-meta-1"]);
    assert_eq!(s.sync_leader.as_deref(), Some("pg-meta-2"));
    assert_eq!(s.sync_quorum, Some(0));
    assert_eq!(s.failsafe, ["pg-meta-1", "pg-meta-2"]);
    assert_eq!(s.failover, None, "`{{}}` is no request");
    assert_eq!(
        s.history,
        [Switch {
            timeline: 1,
            lsn: Some(50_604_192),
            reason: Some("no recovery target specified".into()),
            timestamp: Some("2026-11-24T18:37:00.328705+00:00".into()),
            new_leader: Some("pg-meta-2".into()),
            to_timeline: Some(2),
        }]
    );
    assert_eq!(s.last_switches(5).len(), 1);
    let c = &s.config;
    assert_eq!((c.ttl, c.loop_wait, c.retry_timeout), (30, 10, 10));
    assert!(c.failsafe_mode && c.synchronous_mode);
    assert!(!c.synchronous_mode_strict && !c.quorum_commit && !c.pause && !c.standby_cluster);
    assert_eq!(c.maximum_lag_on_failover, DEFAULT_MAXIMUM_LAG_ON_FAILOVER);
    assert_eq!(s.system_id.as_deref(), Some("7711808436617572412"));
    assert!(!s.paused);
    assert_eq!(s.warnings, Vec::<String>::new());
}

#[test]
fn real_dump_serializes_with_the_field_names_the_cli_promises() {
    let kvs = fixture();
    let all = run("/pg", &kvs, Some(25));
    let v = serde_json::to_value(&all).unwrap();
    let c = &v[0];
    assert_eq!(c["scope"], "pg-meta");
    assert!(c.get("group").is_none(), "no Citus group: not serialized");
    assert_eq!(c["leader"], "pg-meta-2");
    assert_eq!(c["leader_ttl_s"], 25);
    assert_eq!(c["sync_standby"], json!(["pg-meta-1"]));
    assert_eq!(c["warnings"], json!([]));
    assert_eq!(c["leader_lease"], json!(LEADER_LEASE));
    assert_eq!(c["optime"], 50_604_744);
    assert_eq!(c["timeline"], 2);
    assert_eq!(c["failover"], Value::Null);
    assert_eq!(c["config"]["loop_wait"], 10);
    assert_eq!(c["history"][0]["new_leader"], "pg-meta-2");
    let m = &c["members"][1];
    for field in [
        "name",
        "role",
        "state",
        "timeline",
        "lag_bytes",
        "api_url",
        "conn_url",
    ] {
        assert!(m.get(field).is_some(), "member lacks {field}: {m}");
    }
    assert_eq!(m["name"], "pg-meta-2");
    assert_eq!(m["role"], "primary");
    assert_eq!(m["state"], "running");
    assert_eq!(m["timeline"], 2);
    assert_eq!(m["lag_bytes"], 0);
    assert_eq!(m["api_url"], "http://127.0.0.12:8008/patroni");
    assert_eq!(m["conn_url"], "postgres://127.0.0.12:5432/postgres");

    // Unknown TTL is null, not absent.
    let v = serde_json::to_value(run("/pg", &kvs, None)).unwrap();
    assert_eq!(v[0]["leader_ttl_s"], Value::Null);
    assert!(v[0]["members"][0].get("ttl_s").is_none());
}

#[test]
fn unknown_ttl_is_none_and_raises_nothing() {
    let s = run("/pg", &fixture(), None).remove(0);
    assert_eq!(s.leader_ttl_s, None);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn split_key_finds_scope_group_and_rest() {
    let k = |scope, group, rest| Some(KeyPath { scope, group, rest });
    assert_eq!(
        split_key("/pg", "/pg/pg-meta/members/pg-meta-1"),
        k("pg-meta", None, "members/pg-meta-1")
    );
    assert_eq!(
        split_key("/pg", "/pg/pg-citus/1/leader"),
        k("pg-citus", Some(1), "leader")
    );
    assert_eq!(
        split_key("/pg", "/pg/pg-citus/0/members/pg-citus0-1"),
        k("pg-citus", Some(0), "members/pg-citus0-1")
    );
    for ns in ["/pg", "/pg/", "pg", "pg/"] {
        assert_eq!(
            split_key(ns, "/pg/pg-meta/leader"),
            k("pg-meta", None, "leader"),
            "namespace {ns:?}"
        );
    }
    assert_eq!(
        split_key("/service", "/service/batman/optime/leader"),
        k("batman", None, "optime/leader")
    );
    assert_eq!(split_key("/", "/pg/leader"), k("pg", None, "leader"));
    // A digit segment with nothing after it is no group.
    assert_eq!(split_key("/pg", "/pg/pg-citus/1"), k("pg-citus", None, "1"));
    assert_eq!(
        split_key("/pg", "/pg/pg-citus/1x/leader"),
        k("pg-citus", None, "1x/leader")
    );
    assert_eq!(split_key("/pg", "/pgx/pg-meta/leader"), None);
    assert_eq!(split_key("/pg", "/other/pg-meta/leader"), None);
    assert_eq!(split_key("/pg", "/pg/pg-meta"), None);
    assert_eq!(split_key("/pg", "/pg/pg-meta/"), None);
    assert_eq!(split_key("/pg", "/pg//leader"), None);
    assert_eq!(split_key("/pg", "/pg/"), None);
    assert_eq!(split_key("/pg", ""), None);
}

#[test]
fn healthy_cluster_has_no_warnings() {
    let s = one(&healthy());
    assert_eq!(s.warnings, Vec::<String>::new());
    assert_eq!(s.leader.as_deref(), Some("pg-test-1"));
    assert_eq!(s.leader_ttl_s, Some(25));
    assert_eq!(s.timeline, Some(3));
}

#[test]
fn warns_without_leader_key() {
    let mut kvs = healthy();
    remove(&mut kvs, "/pg/pg-test/leader");
    let s = one(&kvs);
    assert_eq!(s.leader, None);
    assert_eq!(s.leader_lease, 0);
    assert_eq!(s.leader_ttl_s, None);
    assert_eq!(s.timeline, None);
    let w = only_warning(&s, "no leader key");
    assert!(w.contains("leader race"), "{w}");
    // Without a leader, the lag of every member counts from the optime.
    assert!(s.members.iter().all(|m| m.lag_bytes == Some(0)));
}

#[test]
fn warns_when_leader_lease_runs_out_before_the_next_loop() {
    let kvs = healthy();
    let s = run("/pg", &kvs, Some(9)).remove(0);
    let w = only_warning(&s, "leader lease for pg-test-1 has 9 s left");
    assert!(w.contains("loop_wait (10 s)"), "{w}");
    assert!(run("/pg", &kvs, Some(10))[0].warnings.is_empty());

    // loop_wait comes from config.
    let mut kvs = healthy();
    set(&mut kvs, "/pg/pg-test/config", r#"{"loop_wait":5}"#, 0);
    assert!(run("/pg", &kvs, Some(9))[0].warnings.is_empty());
    let s = run("/pg", &kvs, Some(4)).remove(0);
    only_warning(&s, "loop_wait (5 s)");

    // etcd's TTL -1: the lease is gone.
    let s = run("/pg", &healthy(), Some(-1)).remove(0);
    only_warning(&s, "has expired");
}

#[test]
fn warns_when_leader_key_has_no_lease() {
    let mut kvs = healthy();
    set(&mut kvs, "/pg/pg-test/leader", "pg-test-1", 0);
    let asked = std::cell::Cell::new(false);
    let s = summarize("/pg", entries(&kvs), &|lease| {
        asked.set(asked.get() || lease == 0);
        Some(1)
    })
    .remove(0);
    assert!(!asked.get(), "lease 0 is never looked up");
    assert_eq!(s.leader_ttl_s, None);
    only_warning(&s, "leader key for pg-test-1 has no lease");
}

#[test]
fn warns_when_a_replica_lags_beyond_maximum_lag_on_failover() {
    let mut kvs = healthy();
    // 2 MiB + 512 KiB behind 5_000_000.
    let xlog = 5_000_000 - 2_621_440;
    set(
        &mut kvs,
        "/pg/pg-test/members/pg-test-2",
        &member_json("replica", 3, xlog).to_string(),
        12,
    );
    let s = one(&kvs);
    assert_eq!(s.member("pg-test-2").unwrap().lag_bytes, Some(2_621_440));
    assert_eq!(s.member("pg-test-1").unwrap().lag_bytes, Some(0));
    let w = only_warning(&s, "pg-test-2 lags 2.5 MiB behind the leader");
    assert!(w.contains("maximum_lag_on_failover (1.0 MiB)"), "{w}");
    assert!(w.contains("would not choose it for failover"), "{w}");

    // A higher limit in config: no warning.
    set(
        &mut kvs,
        "/pg/pg-test/config",
        r#"{"maximum_lag_on_failover":4194304}"#,
        0,
    );
    assert!(one(&kvs).warnings.is_empty());

    // Exactly at the limit is still a candidate (Patroni checks lag > limit).
    set(
        &mut kvs,
        "/pg/pg-test/config",
        r#"{"maximum_lag_on_failover":2621440}"#,
        0,
    );
    assert!(one(&kvs).warnings.is_empty());
}

#[test]
fn leader_lag_is_zero_even_when_its_position_trails_the_optime() {
    let mut kvs = healthy();
    set(&mut kvs, "/pg/pg-test/status", r#"{"optime":99000000}"#, 0);
    let s = one(&kvs);
    assert_eq!(s.member("pg-test-1").unwrap().lag_bytes, Some(0));
    assert_eq!(s.member("pg-test-2").unwrap().lag_bytes, Some(94_000_000));
    only_warning(&s, "pg-test-2 lags");
    // A replica ahead of a stale optime lags 0, not a wrapped-around figure.
    set(&mut kvs, "/pg/pg-test/status", r#"{"optime":1000}"#, 0);
    assert_eq!(one(&kvs).member("pg-test-2").unwrap().lag_bytes, Some(0));
    // Without any optime, a replica's lag is unknown.
    remove(&mut kvs, "/pg/pg-test/status");
    let s = one(&kvs);
    assert_eq!(s.optime, None);
    assert_eq!(s.member("pg-test-2").unwrap().lag_bytes, None);
    assert!(s.warnings.is_empty());
}

#[test]
fn warns_when_members_are_on_different_timelines() {
    let mut kvs = healthy();
    set(
        &mut kvs,
        "/pg/pg-test/members/pg-test-2",
        &member_json("replica", 2, 5_000_000).to_string(),
        12,
    );
    let s = one(&kvs);
    let w = only_warning(&s, "members are on different timelines");
    assert!(w.contains("pg-test-1 on 3, pg-test-2 on 2"), "{w}");
}

#[test]
fn warns_when_the_leader_has_no_member_key() {
    let mut kvs = healthy();
    remove(&mut kvs, "/pg/pg-test/members/pg-test-1");
    let s = one(&kvs);
    only_warning(
        &s,
        "leader key names pg-test-1 but there is no members/pg-test-1 key",
    );
    assert_eq!(s.timeline, None);
    assert!(s.leader_member().is_none());
}

#[test]
fn warns_when_the_leader_is_not_primary_and_a_replica_is() {
    let mut kvs = healthy();
    set(
        &mut kvs,
        "/pg/pg-test/members/pg-test-1",
        &member_json("replica", 3, 5_000_000).to_string(),
        11,
    );
    only_warning(&one(&kvs), "pg-test-1 reports role replica");

    let mut kvs = healthy();
    set(
        &mut kvs,
        "/pg/pg-test/members/pg-test-2",
        &member_json("primary", 3, 5_000_000).to_string(),
        12,
    );
    let w = only_warning(&one(&kvs), "pg-test-2 reports role primary");
    assert!(w.contains("split brain"), "{w}");
}

#[test]
fn older_patroni_role_master_counts_as_primary() {
    let mut kvs = healthy();
    set(
        &mut kvs,
        "/pg/pg-test/members/pg-test-1",
        &member_json("master", 3, 5_000_000).to_string(),
        11,
    );
    let s = one(&kvs);
    assert_eq!(s.warnings, Vec::<String>::new());
    let leader = s.leader_member().unwrap();
    assert_eq!(leader.role.as_deref(), Some("master"), "kept raw");
    assert_eq!(leader.role_kind(), Role::Primary);

    // A second `master` is a second primary.
    set(
        &mut kvs,
        "/pg/pg-test/members/pg-test-2",
        &member_json("master", 3, 5_000_000).to_string(),
        12,
    );
    only_warning(&one(&kvs), "pg-test-2 reports role master");
}

#[test]
fn standby_leader_leads_a_standby_cluster() {
    let mut kvs = healthy();
    set(
        &mut kvs,
        "/pg/pg-test/members/pg-test-1",
        &member_json("standby_leader", 3, 5_000_000).to_string(),
        11,
    );
    set(
        &mut kvs,
        "/pg/pg-test/config",
        r#"{"synchronous_mode":true,"standby_cluster":{"host":"10.0.0.9"}}"#,
        0,
    );
    let s = one(&kvs);
    assert!(s.config.standby_cluster);
    assert_eq!(s.warnings, Vec::<String>::new());
}

#[test]
fn warns_about_member_state_and_pending_restart() {
    let mut kvs = healthy();
    let mut m = member_json("replica", 3, 5_000_000);
    m["state"] = json!("start failed");
    m["pending_restart"] = json!(true);
    set(
        &mut kvs,
        "/pg/pg-test/members/pg-test-2",
        &m.to_string(),
        12,
    );
    let s = one(&kvs);
    assert_eq!(s.warnings.len(), 2, "{:#?}", s.warnings);
    assert!(has_warning(
        &s,
        "pg-test-2 is in state 'start failed', not running"
    ));
    assert!(has_warning(&s, "pg-test-2 has pending_restart"));
    assert!(s.member("pg-test-2").unwrap().pending_restart);
}

#[test]
fn warns_about_the_sync_key() {
    // A named standby that is not a member.
    let mut kvs = healthy();
    set(
        &mut kvs,
        "/pg/pg-test/sync",
        r#"{"leader":"pg-test-1","sync_standby":"pg-test-2,pg-test-7","quorum":1}"#,
        0,
    );
    let s = one(&kvs);
    assert_eq!(s.sync_standby, ["pg-test-2", "pg-test-7"]);
    assert_eq!(s.sync_quorum, Some(1));
    only_warning(
        &s,
        "sync key names pg-test-7 as synchronous standby but there is no members/pg-test-7 key",
    );

    // Written by a former leader.
    set(
        &mut kvs,
        "/pg/pg-test/sync",
        r#"{"leader":"pg-test-2","sync_standby":"pg-test-1"}"#,
        0,
    );
    only_warning(
        &one(&kvs),
        "sync key was written by leader pg-test-2 but the leader key names pg-test-1",
    );

    // synchronous_mode on, nobody named (null, as Patroni writes it).
    set(
        &mut kvs,
        "/pg/pg-test/sync",
        r#"{"leader":"pg-test-1","sync_standby":null}"#,
        0,
    );
    assert!(one(&kvs).warnings.is_empty(), "sync mode off: fine");
    set(
        &mut kvs,
        "/pg/pg-test/config",
        r#"{"synchronous_mode":true}"#,
        0,
    );
    let s = one(&kvs);
    assert!(s.sync_standby.is_empty());
    only_warning(
        &s,
        "synchronous_mode is on but no synchronous standby is named",
    );
    set(
        &mut kvs,
        "/pg/pg-test/config",
        r#"{"synchronous_mode":"on","synchronous_mode_strict":"true"}"#,
        0,
    );
    only_warning(&one(&kvs), "commits wait until a standby comes back");
    set(
        &mut kvs,
        "/pg/pg-test/config",
        r#"{"synchronous_mode":"quorum"}"#,
        0,
    );
    let s = one(&kvs);
    assert!(s.config.synchronous_mode && s.config.quorum_commit);
    only_warning(&s, "synchronous_mode is on");
}

#[test]
fn warns_about_a_pending_failover_request() {
    let mut kvs = healthy();
    set(
        &mut kvs,
        "/pg/pg-test/failover",
        r#"{"leader":"pg-test-1","member":"pg-test-2","scheduled_at":"2026-11-25T03:00:00+00:00"}"#,
        0,
    );
    let s = one(&kvs);
    let f = s.failover.clone().unwrap();
    assert!(f.is_switchover());
    assert_eq!(f.candidate.as_deref(), Some("pg-test-2"));
    assert_eq!(f.scheduled_at.as_deref(), Some("2026-11-25T03:00:00+00:00"));
    only_warning(
        &s,
        "a switchover is pending (failover key): from pg-test-1 to pg-test-2, at 2026-11-25T03:00:00+00:00",
    );

    set(
        &mut kvs,
        "/pg/pg-test/failover",
        r#"{"member":"pg-test-2"}"#,
        0,
    );
    let s = one(&kvs);
    assert!(!s.failover.as_ref().unwrap().is_switchover());
    only_warning(
        &s,
        "a failover is pending (failover key): to pg-test-2, as soon as possible",
    );

    // Old Patroni's text form.
    set(&mut kvs, "/pg/pg-test/failover", "pg-test-1:pg-test-2", 0);
    assert_eq!(
        one(&kvs).failover,
        Some(Failover {
            leader: Some("pg-test-1".into()),
            candidate: Some("pg-test-2".into()),
            scheduled_at: None
        })
    );

    for none in ["{}", "", r#"{"leader":null,"member":""}"#, "null"] {
        set(&mut kvs, "/pg/pg-test/failover", none, 0);
        let s = one(&kvs);
        assert_eq!(s.failover, None, "{none:?}");
        assert!(s.warnings.is_empty(), "{none:?}: {:?}", s.warnings);
    }
}

#[test]
fn warns_when_paused_by_config_or_member() {
    let mut kvs = healthy();
    set(&mut kvs, "/pg/pg-test/config", r#"{"pause":true}"#, 0);
    let s = one(&kvs);
    assert!(s.paused && s.config.pause);
    only_warning(&s, "cluster is paused (maintenance mode)");

    let mut kvs = healthy();
    let mut m = member_json("replica", 3, 5_000_000);
    m["pause"] = json!(true);
    set(
        &mut kvs,
        "/pg/pg-test/members/pg-test-2",
        &m.to_string(),
        12,
    );
    let s = one(&kvs);
    assert!(s.paused && !s.config.pause && s.members[1].paused);
    only_warning(&s, "cluster is paused");
}

#[test]
fn warns_about_an_empty_initialize_key() {
    let mut kvs = healthy();
    set(&mut kvs, "/pg/pg-test/initialize", "", 0);
    let s = one(&kvs);
    assert_eq!(s.system_id, None);
    only_warning(&s, "initialize key is empty");
}

#[test]
fn invalid_json_is_reported_and_the_rest_still_reads() {
    let mut kvs = healthy();
    set(&mut kvs, "/pg/pg-test/members/pg-test-2", "{\"role\":", 12);
    let s = one(&kvs);
    let w = only_warning(&s, "members/pg-test-2 is not valid JSON (");
    assert!(w.ends_with("; ignored"), "{w}");
    // The member key exists, so the member is listed, knowing nothing.
    let m = s.member("pg-test-2").unwrap();
    assert_eq!(
        (m.role.as_deref(), m.state.as_deref(), m.lag_bytes),
        (None, None, None)
    );
    assert_eq!(m.lease, 12);

    let mut kvs = healthy();
    set(&mut kvs, "/pg/pg-test/config", "not json", 0);
    set(&mut kvs, "/pg/pg-test/status", "[1,2]", 0);
    set(&mut kvs, "/pg/pg-test/sync", "{", 0);
    set(&mut kvs, "/pg/pg-test/failsafe", "[]", 0);
    set(&mut kvs, "/pg/pg-test/history", r#"{"a":1}"#, 0);
    let s = one(&kvs);
    assert_eq!(s.config, ConfigHighlights::default());
    assert_eq!(s.optime, None);
    for needle in [
        "config is not valid JSON",
        "sync is not valid JSON",
        "failsafe is not a JSON object",
        "history is not a JSON list",
        "status is not a JSON object",
    ] {
        assert!(has_warning(&s, needle), "{needle}: {:#?}", s.warnings);
    }
    assert_eq!(s.warnings.len(), 5, "{:#?}", s.warnings);

    let mut kvs = healthy();
    set(
        &mut kvs,
        "/pg/pg-test/history",
        r#"[[1,100,"r"],"junk",[null,5],[2,200,"no recovery target specified","2026-01-01T00:00:00+00:00","pg-test-1"]]"#,
        0,
    );
    let s = one(&kvs);
    assert_eq!(s.warnings.len(), 2, "{:#?}", s.warnings);
    assert!(has_warning(&s, "history entry 2 is malformed"));
    assert!(has_warning(&s, "history entry 3 is malformed"));
    assert_eq!(s.history.len(), 2);
}

#[test]
fn invalid_utf8_values_and_keys_do_not_panic() {
    let mut kvs = healthy();
    kvs.retain(|k| k.key != b"/pg/pg-test/members/pg-test-2");
    kvs.push(raw(
        b"/pg/pg-test/members/pg-test-2",
        b"{\"role\":\"\xff\"}",
        12,
    ));
    kvs.push(raw(b"/pg/pg-test/members/pg-\xfe\x1b[2J", b"{}", 13));
    kvs.push(raw(b"/pg/\xffbad/leader", b"x", 14));
    let s = one(&kvs);
    assert!(has_warning(
        &s,
        "members/pg-test-2 is not valid UTF-8; ignored"
    ));
    assert!(has_warning(
        &s,
        "a key that is not valid UTF-8 was skipped: members/pg-\\xfe\\e[2J"
    ));
    assert_eq!(s.warnings.len(), 2, "{:#?}", s.warnings);
    assert_eq!(s.members.len(), 2);

    let mut kvs = healthy();
    kvs.retain(|k| k.key != b"/pg/pg-test/leader");
    kvs.push(raw(b"/pg/pg-test/leader", b"pg-test-\xff", 11));
    let s = one(&kvs);
    assert_eq!(s.leader, None);
    assert_eq!(s.leader_lease, 11);
    let w = only_warning(&s, "leader key is not valid UTF-8 (pg-test-\\xff)");
    assert!(!has_warning(&s, "no leader key"), "{w}");
}

#[test]
fn legacy_optime_leader_stands_in_for_status() {
    let mut kvs = healthy();
    remove(&mut kvs, "/pg/pg-test/status");
    set(
        &mut kvs,
        "/pg/pg-test/members/pg-test-2",
        &member_json("replica", 3, 4_000_000).to_string(),
        12,
    );
    kvs.push(kv("/pg/pg-test/optime/leader", "5000000", 0));
    let s = one(&kvs);
    assert_eq!(s.optime, Some(5_000_000));
    assert_eq!(s.member("pg-test-2").unwrap().lag_bytes, Some(1_000_000));
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);

    // status.optime wins when both exist.
    kvs.push(kv("/pg/pg-test/status", r#"{"optime":4500000}"#, 0));
    assert_eq!(one(&kvs).optime, Some(4_500_000));

    // A bare number in status is read too (old Patroni).
    set(&mut kvs, "/pg/pg-test/status", "4200000", 0);
    assert_eq!(one(&kvs).optime, Some(4_200_000));

    remove(&mut kvs, "/pg/pg-test/status");
    set(&mut kvs, "/pg/pg-test/optime/leader", "soon", 0);
    let s = one(&kvs);
    assert_eq!(s.optime, None);
    only_warning(&s, "optime/leader is not a number");
}

#[test]
fn legacy_member_value_is_a_connection_url() {
    let mut kvs = healthy();
    set(
        &mut kvs,
        "/pg/pg-test/members/pg-test-2",
        "postgres://replicator@10.0.0.2:5432/postgres?application_name=http://10.0.0.2:8008/patroni",
        12,
    );
    let s = one(&kvs);
    let m = s.member("pg-test-2").unwrap();
    assert_eq!(
        m.conn_url.as_deref(),
        Some("postgres://replicator@10.0.0.2:5432/postgres")
    );
    assert_eq!(m.api_url.as_deref(), Some("http://10.0.0.2:8008/patroni"));
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn escape_sequences_in_names_never_reach_warnings_raw() {
    let evil = "pg\u{1b}[2J";
    let mut kvs = healthy();
    set(&mut kvs, "/pg/pg-test/leader", evil, 11);
    let mut m = member_json("primary", 7, 1);
    m["state"] = json!("crashed\u{1b}]52;c;aGk=\u{7}");
    m["pending_restart"] = json!(true);
    set(
        &mut kvs,
        &format!("/pg/pg-test/members/{evil}x"),
        &m.to_string(),
        13,
    );
    set(
        &mut kvs,
        "/pg/pg-test/sync",
        &json!({"leader": evil, "sync_standby": format!("{evil}\u{9b}")}).to_string(),
        0,
    );
    set(
        &mut kvs,
        "/pg/pg-test/failover",
        &json!({"leader": evil, "member": evil, "scheduled_at": "\u{1b}[31m"}).to_string(),
        0,
    );
    let s = run("/pg", &kvs, Some(1)).remove(0);
    // Raw in the summary...
    assert_eq!(s.leader.as_deref(), Some(evil));
    assert!(s.member(&format!("{evil}x")).is_some());
    // ...escaped in every warning.
    assert!(s.warnings.len() >= 8, "{:#?}", s.warnings);
    for w in &s.warnings {
        assert!(!w.chars().any(|c| c.is_control()), "raw control in {w:?}");
    }
    assert!(has_warning(
        &s,
        "leader key names pg\\e[2J but there is no members/pg\\e[2J key"
    ));
    assert!(has_warning(
        &s,
        "pg\\e[2Jx is in state 'crashed\\e]52;c;aGk=\\x07'"
    ));
    assert!(has_warning(
        &s,
        "sync key names pg\\e[2J\\x9b as synchronous standby"
    ));
    assert!(has_warning(&s, "from pg\\e[2J to pg\\e[2J, at \\e[31m"));
}

#[test]
fn citus_groups_are_separate_clusters() {
    let kvs = vec![
        kv("/pg/pg-citus/1/leader", "pg-citus1-1", 21),
        kv(
            "/pg/pg-citus/1/members/pg-citus1-1",
            &member_json("primary", 1, 10).to_string(),
            21,
        ),
        kv("/pg/pg-citus/0/leader", "pg-citus0-1", 20),
        kv(
            "/pg/pg-citus/0/members/pg-citus0-1",
            &member_json("primary", 1, 10).to_string(),
            20,
        ),
        kv("/pg/pg-citus/0/config", r#"{"ttl":20,"loop_wait":5}"#, 0),
    ];
    let all = run("/pg", &kvs, Some(19));
    let labels: Vec<String> = all.iter().map(ClusterSummary::label).collect();
    assert_eq!(labels, ["pg-citus/0", "pg-citus/1"]);
    assert_eq!(all[0].group, Some(0));
    assert_eq!(all[1].group, Some(1));
    assert_eq!(all[0].leader.as_deref(), Some("pg-citus0-1"));
    assert_eq!(all[1].leader.as_deref(), Some("pg-citus1-1"));
    assert_eq!(all[0].config.loop_wait, 5);
    assert_eq!(all[1].config.loop_wait, DEFAULT_LOOP_WAIT_S);
    assert!(all
        .iter()
        .all(|c| c.scope == "pg-citus" && c.warnings.is_empty()));
    assert_eq!(serde_json::to_value(&all[1]).unwrap()["group"], 1);
}

#[test]
fn several_clusters_sorted_by_scope_and_foreign_keys_ignored() {
    let mut kvs = healthy();
    kvs.push(kv("/pg/pg-meta/leader", "pg-meta-1", 31));
    kvs.push(kv(
        "/pg/pg-meta/members/pg-meta-1",
        &member_json("primary", 1, 1).to_string(),
        31,
    ));
    kvs.push(kv("/pg/pg-alpha/leader", "a-1", 41));
    kvs.insert(0, kv("/pg/pg-zeta/initialize", "1", 0));
    // Not Patroni's: outside the namespace, or a key Patroni does not write.
    kvs.push(kv("/service/pg-beta/leader", "b", 0));
    kvs.push(kv("/pg/pg-gamma/vip", "10.0.0.1", 0));
    kvs.push(kv("/pgx/pg-delta/leader", "d", 0));
    let all = run("/pg", &kvs, Some(25));
    let scopes: Vec<&str> = all.iter().map(|c| c.scope.as_str()).collect();
    assert_eq!(scopes, ["pg-alpha", "pg-meta", "pg-test", "pg-zeta"]);
    assert!(all[1].warnings.is_empty(), "{:?}", all[1].warnings);
    assert!(all[2].warnings.is_empty(), "{:?}", all[2].warnings);
    assert!(has_warning(&all[0], "no members/a-1 key"));
    assert!(has_warning(&all[3], "no leader key"));
    assert!(run("/pg", &[], None).is_empty());
}

#[test]
fn namespace_with_or_without_slashes_reads_the_same() {
    let mut kvs = fixture();
    kvs.extend(healthy());
    let base = run("/pg", &kvs, Some(25));
    assert_eq!(base.len(), 2);
    for ns in ["/pg/", "pg", "pg/", "//pg//"] {
        assert_eq!(run(ns, &kvs, Some(25)), base, "namespace {ns:?}");
    }
    assert!(run("/service", &kvs, Some(25)).is_empty());
}

#[test]
fn history_switches_know_the_timeline_they_started() {
    let mut kvs = healthy();
    set(
        &mut kvs,
        "/pg/pg-test/history",
        r#"[[1,100,"no recovery target specified"],[2,200,"no recovery target specified","2026-01-01T00:00:00+00:00","pg-test-2"]]"#,
        0,
    );
    let s = one(&kvs);
    assert_eq!(s.history.len(), 2);
    // Old Patroni wrote no timestamp or new leader.
    assert_eq!(s.history[0].timestamp, None);
    assert_eq!(s.history[0].new_leader, None);
    assert_eq!(s.history[0].to_timeline, Some(2));
    assert_eq!(s.history[1].to_timeline, Some(3), "the leader's timeline");
    let last = s.last_switches(1);
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].timeline, 2);
    assert_eq!(last[0].new_leader.as_deref(), Some("pg-test-2"));
    let both: Vec<u64> = s.last_switches(10).iter().map(|s| s.timeline).collect();
    assert_eq!(both, [2, 1]);
    assert!(s.last_switches(0).is_empty());
}

#[test]
fn config_values_as_patroni_reads_them() {
    let c = |v: Value| ConfigHighlights::from_json(v.as_object().unwrap());
    assert_eq!(c(json!({})), ConfigHighlights::default());
    let d = ConfigHighlights::default();
    assert_eq!(
        (
            d.ttl,
            d.loop_wait,
            d.retry_timeout,
            d.maximum_lag_on_failover
        ),
        (30, 10, 10, 1_048_576)
    );
    let x = c(
        json!({"ttl": "40", "loop_wait": 15, "failsafe_mode": "on", "synchronous_mode": "off",
        "maximum_lag_on_failover": 0, "retry_timeout": "x"}),
    );
    assert_eq!((x.ttl, x.loop_wait, x.maximum_lag_on_failover), (40, 15, 0));
    assert_eq!(x.retry_timeout, 10, "unreadable: default");
    assert!(x.failsafe_mode && !x.synchronous_mode);
    assert!(!c(json!({"standby_cluster": {}})).standby_cluster);
}

#[test]
fn nofailover_tag_is_read() {
    let mut kvs = healthy();
    let mut m = member_json("replica", 3, 5_000_000);
    m["tags"] = json!({"nofailover": true, "noloadbalance": false});
    set(
        &mut kvs,
        "/pg/pg-test/members/pg-test-2",
        &m.to_string(),
        12,
    );
    let s = one(&kvs);
    assert!(s.member("pg-test-2").unwrap().nofailover());
    assert!(!s.member("pg-test-1").unwrap().nofailover());
}

#[test]
fn a_cluster_or_key_name_with_an_invisible_character_is_flagged_and_shown_escaped() {
    let mut kvs = healthy();
    // A twin of pg-test with a zero-width space in its name, with another leader.
    kvs.push(kv("/pg/pg\u{200b}-test/leader", "pg-test-9", 13));
    kvs.push(kv(
        "/pg/pg\u{200b}-test/members/pg-test-9",
        &member_json("primary", 3, 5_000_000).to_string(),
        13,
    ));
    // A member of the real one whose name holds a line separator.
    kvs.push(kv(
        "/pg/pg-test/members/pg-test-1\u{2028}",
        &member_json("replica", 3, 5_000_000).to_string(),
        14,
    ));
    let all = run("/pg", &kvs, Some(25));
    assert_eq!(all.len(), 2);
    let twin = all.iter().find(|c| c.scope != "pg-test").unwrap();
    assert!(
        twin.warnings[0].contains("the cluster name pg\\u{200b}-test holds an invisible"),
        "{:#?}",
        twin.warnings
    );
    let real = all.iter().find(|c| c.scope == "pg-test").unwrap();
    assert!(
        has_warning(
            real,
            "the key members/pg-test-1\\u{2028} holds an invisible"
        ),
        "{:#?}",
        real.warnings
    );
    assert!(!has_warning(real, "cluster name"));
    for w in all.iter().flat_map(|c| &c.warnings) {
        assert!(!crate::text::has_hidden(w), "{w:?}");
    }
}
