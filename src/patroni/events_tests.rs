//! The events told from sequences of key changes as Patroni 4.1.5 makes them, starting from the
//! real dump of `pg-meta` (leader `pg-meta-2`, replica `pg-meta-1`, timeline 2, sync mode).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;
use crate::patroni::{summarize, Entry};

const FIXTURE: &str = include_str!("../../tests/fixtures/patroni-4.1.5-pg-meta.json");

/// The leader's lease in the dump (its member key shares it); the replica's.
const LEADER_LEASE: i64 = 7390022223170494994;
const REPLICA_LEASE: i64 = 7390022223170494982;

/// The keys of the namespace as etcd holds them, changed one revision at a time.
struct Keys {
    kvs: BTreeMap<String, (String, i64)>,
    tracker: Tracker,
    at: u64,
}

enum Change<'a> {
    Put(&'a str, String, i64),
    Del(&'a str),
}
use Change::{Del, Put};

impl Keys {
    /// The dump, loaded as the first read: no event.
    fn fixture() -> Keys {
        let dump: Value = serde_json::from_str(FIXTURE).unwrap();
        let kvs = dump["kvs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["key"].as_str().unwrap().to_string(),
                    (
                        k["value"].as_str().unwrap().to_string(),
                        k["lease"].as_i64().unwrap(),
                    ),
                )
            })
            .collect();
        let mut keys = Keys {
            kvs,
            tracker: Tracker::new(),
            at: 1_000,
        };
        let all = keys.summaries();
        assert!(keys.tracker.load(keys.at, &all, true).is_empty());
        keys
    }

    fn summaries(&self) -> Vec<ClusterSummary> {
        let entries = self.kvs.iter().map(|(k, (v, lease))| Entry {
            key: k.as_bytes(),
            value: v.as_bytes(),
            lease: *lease,
            create_revision: 1,
            mod_revision: 1,
            version: 1,
        });
        summarize("/pg", entries, &|_| None)
    }

    /// One revision, `secs` after the last: its changes, then what the tracker tells.
    fn rev(&mut self, secs: u64, changes: Vec<Change<'_>>) -> Vec<PgEvent> {
        self.at += secs;
        for c in changes {
            match c {
                Put(k, v, lease) => {
                    self.kvs.insert(format!("/pg/pg-meta/{k}"), (v, lease));
                }
                Del(k) => {
                    self.kvs.remove(&format!("/pg/pg-meta/{k}"));
                }
            }
        }
        let all = self.summaries();
        self.tracker.scope(self.at, "pg-meta", &all)
    }

    /// A member key as the dump has it, with some fields replaced.
    fn member(&self, name: &str, set: Value) -> String {
        let (v, _) = &self.kvs[&format!("/pg/pg-meta/members/{name}")];
        let mut m: Value = serde_json::from_str(v).unwrap();
        for (k, v) in set.as_object().unwrap() {
            m[k] = v.clone();
        }
        m.to_string()
    }
}

fn kinds(events: &[PgEvent]) -> Vec<Kind> {
    events.iter().map(|e| e.kind).collect()
}

fn texts(events: &[PgEvent]) -> String {
    events
        .iter()
        .map(|e| e.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_switchover_is_asked_released_taken_and_told_with_the_new_timeline() {
    let mut k = Keys::fixture();
    // patronictl switchover --leader pg-meta-2 --candidate pg-meta-1
    let e = k.rev(
        1,
        vec![Put(
            "failover",
            json!({"leader": "pg-meta-2", "member": "pg-meta-1"}).to_string(),
            0,
        )],
    );
    assert_eq!(kinds(&e), [Kind::SwitchoverAsked]);
    assert_eq!(
        e[0].text,
        "pg-meta: switchover asked: pg-meta-2 -> pg-meta-1"
    );
    // The old primary demotes and releases the leader key (its member key stays).
    let demoted = k.member("pg-meta-2", json!({"role": "demoted", "state": "stopping"}));
    let e = k.rev(1, vec![Put("members/pg-meta-2", demoted, LEADER_LEASE)]);
    assert_eq!(kinds(&e), [Kind::MemberStopped]);
    let e = k.rev(1, vec![Del("leader")]);
    assert_eq!(kinds(&e), [Kind::LeaderLost { expired: false }]);
    assert_eq!(e[0].text, "pg-meta: leader key released by pg-meta-2");
    // The candidate takes it, promotes on timeline 3, and clears the request.
    let e = k.rev(2, vec![Put("leader", "pg-meta-1".into(), REPLICA_LEASE)]);
    assert_eq!(kinds(&e), [Kind::Switchover]);
    assert_eq!(
        e[0].text,
        "pg-meta: switchover pg-meta-2 -> pg-meta-1 (asked for) after 2 s without a leader key"
    );
    let primary = k.member("pg-meta-1", json!({"role": "primary", "timeline": 3}));
    let e = k.rev(
        1,
        vec![
            Put("members/pg-meta-1", primary, REPLICA_LEASE),
            Put("failover", "{}".into(), 0),
            Put(
                "history",
                r#"[[1,50604192,"no recovery target specified","2026-11-24T18:37:00+00:00","pg-meta-2"],[2,50605000,"no recovery target specified","2026-11-25T03:12:04+00:00","pg-meta-1"]]"#.into(),
                0,
            ),
        ],
    );
    assert_eq!(kinds(&e), [Kind::TimelineChanged], "{}", texts(&e));
    assert_eq!(e[0].text, "pg-meta: timeline 2 -> 3");
    // The old primary follows as a replica; the sync standby moves to it.
    let replica = k.member(
        "pg-meta-2",
        json!({"role": "replica", "state": "running", "timeline": 3}),
    );
    let e = k.rev(
        1,
        vec![
            Put("members/pg-meta-2", replica, LEADER_LEASE),
            Put(
                "sync",
                json!({"leader": "pg-meta-1", "quorum": 0, "sync_standby": "pg-meta-2"})
                    .to_string(),
                0,
            ),
        ],
    );
    assert_eq!(
        kinds(&e),
        [Kind::MemberStarted, Kind::SyncChanged],
        "{}",
        texts(&e)
    );
    assert_eq!(e[1].text, "pg-meta: sync standby pg-meta-1 -> pg-meta-2");
}

#[test]
fn a_lease_that_expires_is_a_failover_nobody_asked_for() {
    let mut k = Keys::fixture();
    // The primary's node dies: its lease expires and takes the leader key and its member key
    // in one revision.
    let e = k.rev(30, vec![Del("leader"), Del("members/pg-meta-2")]);
    assert_eq!(
        kinds(&e),
        [Kind::LeaderLost { expired: true }, Kind::MemberLeft],
        "{}",
        texts(&e)
    );
    assert!(
        e[0].text.contains("the lease of pg-meta-2 expired"),
        "{}",
        e[0].text
    );
    assert_eq!(e[0].kind.severity(), Severity::Error);
    let e = k.rev(5, vec![Put("leader", "pg-meta-1".into(), REPLICA_LEASE)]);
    assert_eq!(kinds(&e), [Kind::Failover]);
    assert_eq!(
        e[0].text,
        "pg-meta: failover pg-meta-2 -> pg-meta-1 (nobody asked: the old leader's lease expired) after 5 s without a leader key"
    );
    assert!(e[0].kind.is_leader_change());
}

#[test]
fn a_failover_asked_without_a_leader_is_a_manual_failover() {
    let mut k = Keys::fixture();
    let e = k.rev(
        1,
        vec![Put(
            "failover",
            json!({"member": "pg-meta-1"}).to_string(),
            0,
        )],
    );
    assert_eq!(kinds(&e), [Kind::FailoverAsked]);
    assert_eq!(e[0].text, "pg-meta: failover asked: pg-meta-2 -> pg-meta-1");
    k.rev(1, vec![Del("leader")]);
    // The request is cleared at the same time as the key is taken: it still explains it.
    let e = k.rev(
        1,
        vec![
            Put("leader", "pg-meta-1".into(), REPLICA_LEASE),
            Put("failover", "{}".into(), 0),
        ],
    );
    assert_eq!(kinds(&e), [Kind::ManualFailover], "{}", texts(&e));
}

#[test]
fn a_request_cleared_long_before_does_not_explain_a_later_failover() {
    let mut k = Keys::fixture();
    k.rev(
        1,
        vec![Put(
            "failover",
            json!({"leader": "pg-meta-2", "member": "pg-meta-1"}).to_string(),
            0,
        )],
    );
    // Cancelled.
    k.rev(1, vec![Put("failover", "{}".into(), 0)]);
    k.rev(600, vec![Del("leader"), Del("members/pg-meta-2")]);
    let e = k.rev(5, vec![Put("leader", "pg-meta-1".into(), REPLICA_LEASE)]);
    assert_eq!(kinds(&e), [Kind::Failover]);
}

#[test]
fn the_same_leader_taking_its_key_back_is_not_a_change() {
    let mut k = Keys::fixture();
    let e = k.rev(1, vec![Del("leader")]);
    assert_eq!(kinds(&e), [Kind::LeaderLost { expired: false }]);
    let e = k.rev(3, vec![Put("leader", "pg-meta-2".into(), LEADER_LEASE)]);
    assert_eq!(kinds(&e), [Kind::LeaderRegained]);
    assert_eq!(
        e[0].text,
        "pg-meta: pg-meta-2 holds the leader key again after 3 s without a leader key"
    );
    assert!(!e[0].kind.is_leader_change());
}

#[test]
fn pause_pending_restart_and_members_joining_and_leaving_are_told() {
    let mut k = Keys::fixture();
    let (config, _) = k.kvs["/pg/pg-meta/config"].clone();
    let mut paused: Value = serde_json::from_str(&config).unwrap();
    paused["pause"] = json!(true);
    let e = k.rev(1, vec![Put("config", paused.to_string(), 0)]);
    assert_eq!(kinds(&e), [Kind::Paused { on: true }]);
    assert!(e[0].text.contains("Patroni will not fail over"));
    let e = k.rev(1, vec![Put("config", config.clone(), 0)]);
    assert_eq!(kinds(&e), [Kind::Paused { on: false }]);

    let pending = k.member("pg-meta-1", json!({"pending_restart": true}));
    let e = k.rev(1, vec![Put("members/pg-meta-1", pending, REPLICA_LEASE)]);
    assert_eq!(kinds(&e), [Kind::PendingRestart { on: true }]);
    assert_eq!(
        e[0].text,
        "pg-meta: pg-meta-1 needs a restart (pending_restart)"
    );

    let third = k.member(
        "pg-meta-1",
        json!({"state": "creating replica", "role": "replica"}),
    );
    let e = k.rev(1, vec![Put("members/pg-meta-3", third, 42)]);
    assert_eq!(kinds(&e), [Kind::MemberJoined]);
    assert_eq!(
        e[0].text,
        "pg-meta: member pg-meta-3 joined (replica, creating replica)"
    );
    let e = k.rev(1, vec![Del("members/pg-meta-3")]);
    assert_eq!(kinds(&e), [Kind::MemberLeft]);
    // A write that changes nothing the events follow (WAL positions move every loop) is quiet.
    let moved = k.member(
        "pg-meta-1",
        json!({"xlog_location": 50_700_000, "pending_restart": true}),
    );
    assert!(k
        .rev(10, vec![Put("members/pg-meta-1", moved, REPLICA_LEASE)])
        .is_empty());
}

#[test]
fn a_cluster_that_appears_or_goes_is_told_once_and_a_reload_compares() {
    let mut k = Keys::fixture();
    let keys: Vec<String> = k.kvs.keys().cloned().collect();
    let e = k.rev(
        1,
        keys.iter()
            .map(|key| Del(key.strip_prefix("/pg/pg-meta/").unwrap()))
            .collect(),
    );
    assert_eq!(kinds(&e), [Kind::ClusterGone]);
    assert!(k.tracker.is_empty());
    // A reload (the watch was lost) finds it back: it appeared, with its leader.
    let fresh = Keys::fixture();
    let e = k.tracker.load(2_000, &fresh.summaries(), false);
    assert_eq!(kinds(&e), [Kind::MemberJoined]);
    assert_eq!(
        e[0].text,
        "pg-meta: Patroni cluster appeared with 2 member(s), pg-meta-2 holds the leader key"
    );
    assert_eq!(
        k.tracker.leader_keys().collect::<Vec<_>>(),
        [("pg-meta", true)]
    );
    // A reload that finds the leader gone tells it like the watch would have.
    let mut gone = Keys::fixture();
    gone.kvs.remove("/pg/pg-meta/leader");
    let e = k.tracker.load(2_001, &gone.summaries(), false);
    assert_eq!(kinds(&e), [Kind::LeaderLost { expired: false }]);
    assert_eq!(
        k.tracker.leader_keys().collect::<Vec<_>>(),
        [("pg-meta", false)]
    );
}

#[test]
fn citus_groups_are_their_own_clusters_within_a_scope() {
    assert_eq!(label_scope("pg-citus/1"), "pg-citus");
    assert_eq!(label_scope("pg-meta"), "pg-meta");
    assert_eq!(label_scope("odd/name"), "odd/name");
}
