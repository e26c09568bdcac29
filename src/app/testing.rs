//! Test support: stores built from the real `etcdctl -w json` captures in `tests/fixtures/`.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::config::Config;
use super::msg::{ListedMember, MemberList, Msg, Probed};
use super::store::{InventoryState, Store, Target};
use super::update::update;
use crate::inventory;

pub const LIST: &str = include_str!("../../tests/fixtures/etcd-3.4.23-member-list.json");
pub const STATUS: &str = include_str!("../../tests/fixtures/etcd-3.4.23-endpoint-status.json");
pub const LIST_LEARNER: &str =
    include_str!("../../tests/fixtures/etcd-3.4.23-member-list-learner.json");
pub const STATUS_LEARNER: &str =
    include_str!("../../tests/fixtures/etcd-3.4.23-endpoint-status-learner.json");
pub const LIST_NOSPACE: &str =
    include_str!("../../tests/fixtures/etcd-3.4.23-member-list-nospace.json");
pub const STATUS_NOSPACE: &str =
    include_str!("../../tests/fixtures/etcd-3.4.23-endpoint-status-nospace.json");

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `etcdctl member list -w json`.
pub fn member_list(json: &str) -> MemberList {
    let v: Value = serde_json::from_str(json).expect("member list fixture is JSON");
    MemberList {
        cluster_id: u(&v["header"]["cluster_id"]),
        members: v["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| ListedMember {
                id: u(&m["ID"]),
                name: m["name"].as_str().unwrap_or("").to_string(),
                peer_urls: strings(&m["peerURLs"]),
                client_urls: strings(&m["clientURLs"]),
                is_learner: m["isLearner"].as_bool().unwrap_or(false),
            })
            .collect(),
    }
}

/// `etcdctl endpoint status -w json`: (member id, endpoint, its Status). Latency is not in the
/// capture; a fixed 1.2 ms keeps screens stable.
pub fn statuses(json: &str) -> Vec<(u64, String, Probed)> {
    let v: Value = serde_json::from_str(json).expect("endpoint status fixture is JSON");
    v.as_array()
        .expect("a list of endpoints")
        .iter()
        .map(|e| {
            let s = &e["Status"];
            (
                u(&s["header"]["member_id"]),
                e["Endpoint"].as_str().unwrap_or("").to_string(),
                Probed {
                    version: s["version"].as_str().unwrap_or("").to_string(),
                    db_size: s["dbSize"].as_i64().unwrap_or(0),
                    db_size_in_use: s["dbSizeInUse"].as_i64().unwrap_or(0),
                    leader: u(&s["leader"]),
                    raft_term: u(&s["raftTerm"]),
                    raft_index: u(&s["raftIndex"]),
                    raft_applied_index: u(&s["raftAppliedIndex"]),
                    is_learner: s["isLearner"].as_bool().unwrap_or(false),
                    errors: strings(&s["errors"]),
                    latency: Duration::from_micros(1200),
                    revision: s["header"]["revision"].as_i64().unwrap_or(0),
                    db_size_quota: s["dbSizeQuota"].as_i64().unwrap_or(0),
                },
            )
        })
        .collect()
}

/// The embedded example inventory, mapped to loopback as the demo runs it (the fixtures were
/// captured from the demo).
pub fn demo_inventory() -> InventoryState {
    let inv = inventory::parse(inventory::EXAMPLE, "inventory.example.yml", &[])
        .expect("example inventory parses");
    InventoryState {
        file: Some("inventory.example.yml".into()),
        address_map: inv
            .hosts
            .iter()
            .map(|h| {
                let s = h.ip.to_string();
                let live = s.replacen("10.", "127.", 1);
                (h.ip, live.parse().expect("loopback address"))
            })
            .collect(),
        loaded: Some(inv),
        ..InventoryState::default()
    }
}

/// A fresh store at `t0`, nothing heard yet.
pub fn empty_store(t0: Instant) -> Store {
    let target = Target {
        endpoints: vec![
            "https://127.10.10.10:2379".into(),
            "https://127.10.10.11:2379".into(),
            "https://127.10.10.12:2379".into(),
        ],
        origin: "ETCDCTL_ENDPOINTS".into(),
    };
    let mut s = Store::new(
        Config::build(None, false).expect("defaults"),
        target,
        demo_inventory(),
        t0,
    );
    s.ui.size = (80, 24);
    s
}

/// A store fed the member list and every Status of a capture, 100 ms after `t0`.
pub fn store_from(list: &str, status: &str, t0: Instant) -> Store {
    let mut s = empty_store(t0);
    feed(&mut s, list, status, t0 + Duration::from_millis(100));
    feed_patroni(&mut s, t0 + Duration::from_millis(100));
    s
}

/// Apply a capture's member list and statuses at `at`.
pub fn feed(s: &mut Store, list: &str, status: &str, at: Instant) {
    update(
        s,
        Msg::MemberList {
            at,
            result: Ok(member_list(list)),
        },
    );
    for (id, url, p) in statuses(status) {
        update(
            s,
            Msg::Probe {
                at,
                id,
                url,
                result: Ok(p),
            },
        );
    }
}

pub const PATRONI: &str = include_str!("../../tests/fixtures/patroni-4.1.5-pg-meta.json");

/// The real Patroni dump's keys (decoded capture), as etcd would give them.
pub fn patroni_kvs() -> (Vec<super::msg::Kv>, i64) {
    let v: Value = serde_json::from_str(PATRONI).expect("patroni fixture is JSON");
    let kvs = v["kvs"]
        .as_array()
        .expect("kvs")
        .iter()
        .map(|kv| super::msg::Kv {
            key: kv["key"].as_str().unwrap_or("").as_bytes().to_vec(),
            value: kv["value"].as_str().unwrap_or("").as_bytes().to_vec(),
            create_revision: kv["create_revision"].as_i64().unwrap_or(0),
            mod_revision: kv["mod_revision"].as_i64().unwrap_or(0),
            version: kv["version"].as_i64().unwrap_or(0),
            lease: kv["lease"].as_i64().unwrap_or(0),
        })
        .collect();
    (kvs, v["header"]["revision"].as_i64().unwrap_or(0))
}

/// Feed the real Patroni dump to the store as one complete snapshot page at `at`, the watch
/// live, and the leader's lease known to have 25 s left.
pub fn feed_patroni(s: &mut Store, at: Instant) {
    let (kvs, revision) = patroni_kvs();
    let leader_lease = kvs
        .iter()
        .find(|kv| kv.key.ends_with(b"/leader"))
        .map_or(0, |kv| kv.lease);
    update(
        s,
        Msg::KeysPage {
            at,
            revision,
            kvs,
            first: true,
            complete: true,
            reason: "start".into(),
        },
    );
    update(
        s,
        Msg::WatchState {
            at,
            state: Ok("https://127.10.10.10:2379".into()),
        },
    );
    update(
        s,
        Msg::LeaseTtl {
            at,
            lease: leader_lease,
            result: Ok((25, 30)),
        },
    );
    super::update::settle(s);
}

pub const METRICS1: &str = include_str!("../../tests/fixtures/etcd-3.4.23-member1.metrics.txt");

/// The real `/metrics` page of a follower, parsed.
pub fn metrics_snapshot() -> crate::etcd::metrics::Snapshot {
    crate::etcd::metrics::parse(METRICS1).expect("the metrics fixture parses")
}

/// A real error of the kind `short` names (`refused`, `timeout`, anything else: etcd's own
/// words), as a producer would report it from `endpoint`.
pub fn failure(short: &str, endpoint: &str) -> crate::etcd::error::Failure {
    use crate::etcd::EtcdError;
    let endpoint = endpoint.to_string();
    crate::etcd::error::Failure::from(match short {
        "refused" => EtcdError::Refused { endpoint },
        "timeout" => EtcdError::Timeout { endpoint, ms: 2000 },
        other => EtcdError::Other {
            endpoint,
            message: other.to_string(),
        },
    })
}

/// Unix second the wizard stores' clock reads at `t0` (names snapshots and operations).
pub const WIZARD_NOW: u64 = 1_796_181_125;

/// The healthy capture with what the wizards need: a state directory, a fixed wall clock, and
/// half of each database free (the capture's members have no free pages to defragment).
pub fn wizard_store(t0: Instant) -> Store {
    let mut s = store_from(LIST, STATUS, t0);
    s.state_dir = Some("/state/etcdeck".into());
    s.clock = (t0, WIZARD_NOW);
    for m in &mut s.cluster.members {
        if let Some(p) = &mut m.status {
            p.db_size_in_use = p.db_size / 2;
        }
    }
    s
}

/// Press a key with no modifier.
pub fn press(s: &mut Store, code: ratatui::crossterm::event::KeyCode) -> Vec<super::msg::Cmd> {
    use ratatui::crossterm::event::{KeyEvent, KeyModifiers};
    update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// Type text into whatever takes it.
pub fn type_text(s: &mut Store, text: &str) {
    for c in text.chars() {
        press(s, ratatui::crossterm::event::KeyCode::Char(c));
    }
}

/// News for the wizard open now, at the store's time.
pub fn wizard_news(s: &mut Store, news: super::msg::WizardNews) -> Vec<super::msg::Cmd> {
    let token = s.wizard().expect("a wizard is open").token;
    let at = s.now;
    update(s, Msg::Wizard { at, token, news })
}
