//! The membership wizards' rules without a network: every refusal, the order of the steps,
//! resume from every journal state.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::*;
use crate::etcd::status::{Alarm, ClusterStatus, MemberStatus};
use crate::wizard::tests::three;
use crate::wizard::{Action, Event, Wizard};

const INVENTORY: &str = "etcd:
  hosts:
    127.0.0.1: { etcd_seq: 1 }
    127.0.0.2: { etcd_seq: 2 }
    127.0.0.3: { etcd_seq: 3 }
  vars: { etcd_cluster: etcd }
";

fn inventory(text: &str) -> InventoryFile {
    InventoryFile {
        path: PathBuf::from("/pigsty/pigsty.yml"),
        text: text.into(),
        parsed: crate::inventory::parse(text, "pigsty.yml", &[]).expect("parses"),
        commented: Vec::new(),
    }
}

fn manual() -> Provision {
    Provision::Manual {
        out: PathBuf::from("/tmp/etcd-4"),
        wait_secs: MANUAL_WAIT_SECS,
    }
}

fn common() -> Common {
    Common::with_snapshot_dir(Path::new("/state/snapshots"), 1_796_181_125, "etcd")
}

/// Everything a planner takes, owned, with a way to borrow it as a [`Setting`].
struct World {
    status: ClusterStatus,
    inventory: Option<InventoryFile>,
    provision: Provision,
    ca: Result<(PathBuf, PathBuf), String>,
    used: BTreeMap<u32, String>,
    common: Common,
    safeguard: Option<String>,
}

impl World {
    fn new() -> World {
        World {
            status: three(),
            inventory: Some(inventory(INVENTORY)),
            provision: manual(),
            ca: Ok((
                "/pigsty/files/pki/ca/ca.crt".into(),
                "/pigsty/files/pki/ca/ca.key".into(),
            )),
            used: BTreeMap::new(),
            common: common(),
            safeguard: None,
        }
    }
    fn x(&self) -> Setting<'_> {
        Setting {
            status: &self.status,
            inventory: self.inventory.as_ref(),
            provision: &self.provision,
            ca: &self.ca,
            used: &self.used,
            common: &self.common,
            override_safeguard: self.safeguard.as_deref(),
        }
    }
    fn add(&self, ip: &str) -> Result<Plan, Vec<Refusal>> {
        add_plan(
            &self.x(),
            &AddOptions {
                ip: ip.parse().unwrap(),
                seq: None,
            },
        )
    }
    fn add_seq(&self, ip: &str, seq: u32) -> Result<Plan, Vec<Refusal>> {
        add_plan(
            &self.x(),
            &AddOptions {
                ip: ip.parse().unwrap(),
                seq: Some(seq),
            },
        )
    }
    fn remove(&self, who: &str) -> Result<Plan, Vec<Refusal>> {
        remove_plan(&self.x(), who)
    }
    fn m(&mut self, id: u64) -> &mut MemberStatus {
        self.status.members.iter_mut().find(|m| m.id == id).unwrap()
    }
}

fn keys(p: &Plan) -> Vec<&str> {
    p.steps.iter().map(|s| s.key.as_str()).collect()
}

fn whys(r: Result<Plan, Vec<Refusal>>) -> String {
    match r {
        Ok(p) => panic!("planned, not refused:\n{}", p.text()),
        Err(r) => r
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(" | "),
    }
}

fn learner(s: &mut ClusterStatus, started: bool) {
    let mut l = MemberStatus::sample(4, if started { "etcd-4" } else { "" }, started);
    l.is_learner = true;
    l.is_leader = false;
    l.started = started;
    l.peer_urls = vec!["https://127.0.0.4:2380".into()];
    s.members.push(l);
}

// --- add -------------------------------------------------------------------------------------

#[test]
fn an_add_is_snapshot_gate_files_learner_start_catch_up_promote_references_gate() {
    let w = World::new();
    let p = w.add("127.0.0.4").expect("plans");
    assert_eq!(
        keys(&p),
        [
            "snapshot",
            "gate:start",
            "inventory",
            "cert",
            "config",
            "add",
            "start",
            "catchup",
            "promote",
            "references",
            "gate:end"
        ]
    );
    assert_eq!(p.confirm.as_deref(), Some("etcd-4"));
    assert_eq!(p.op, Op::MemberAdd);
    let add = p.steps.iter().find(|s| s.key == "add").unwrap();
    assert!(
        matches!(&add.kind, StepKind::AddLearner { member } if member.name == "etcd-4"
        && member.peer_url() == "https://127.0.0.4:2380")
    );
    // Sent to the leader.
    assert_eq!(add.member.as_deref(), Some("etcd-1"));
    assert_eq!(add.via.as_deref(), Some("https://127.0.0.1:2379"));
    let inv = p.steps.iter().find(|s| s.key == "inventory").unwrap();
    assert_eq!(
        inv.kind,
        StepKind::InventoryEdit {
            file: "/pigsty/pigsty.yml".into(),
            change: InventoryChange::Add {
                ip: "127.0.0.4".parse().unwrap(),
                seq: 4
            }
        }
    );
    let facts = p.facts.join("\n");
    assert!(
        facts.contains("quorum before: 3 voter(s), quorum 2, tolerates 1"),
        "{facts}"
    );
    assert!(facts.contains("a learner has no vote"), "{facts}");
    assert!(
        facts.contains("after the promote: 4 voter(s), quorum 3, tolerates 1"),
        "{facts}"
    );
    // 4 voters: an even count is a warning with the advice to add one more.
    assert!(
        p.warnings.join(" ").contains("add one more member"),
        "{:?}",
        p.warnings
    );
}

#[test]
fn a_host_the_inventory_has_is_added_with_its_seq_and_no_inventory_edit() {
    let mut w = World::new();
    w.inventory = Some(inventory(
        &INVENTORY.replace("  vars:", "    127.0.0.4: { etcd_seq: 7 }\n  vars:"),
    ));
    let p = w.add("127.0.0.4").expect("plans");
    assert!(!keys(&p).contains(&"inventory"));
    assert_eq!(p.confirm.as_deref(), Some("etcd-7"));
    // Its seq is the inventory's: another one is refused.
    let why = whys(w.add_seq("127.0.0.4", 8));
    assert!(
        why.contains("the inventory gives 127.0.0.4 etcd_seq 7, not 8"),
        "{why}"
    );
}

#[test]
fn five_voters_after_an_add_draw_no_count_warning() {
    let mut w = World::new();
    w.status
        .members
        .push(MemberStatus::sample(4, "etcd-4", true));
    w.status.members[3].is_leader = false;
    w.status.members[3].raft_applied_index = 1000;
    w.status.members[3].peer_urls = vec!["https://127.0.0.4:2380".into()];
    w.inventory = Some(inventory(
        &INVENTORY.replace("  vars:", "    127.0.0.4: { etcd_seq: 4 }\n  vars:"),
    ));
    let p = w.add("127.0.0.5").expect("plans");
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(p.confirm.as_deref(), Some("etcd-5"));
}

#[test]
fn an_add_is_refused_while_a_voter_is_down_and_replace_is_offered() {
    let mut w = World::new();
    w.m(3).reachable = false;
    let why = whys(w.add("127.0.0.4"));
    assert!(why.contains("voter etcd-3 does not answer"), "{why}");
    assert!(why.contains("remove it first"), "{why}");
    assert!(
        why.contains("etcdeck member replace etcd-3 --ip 127.0.0.4"),
        "{why}"
    );
}

#[test]
fn an_add_is_refused_while_a_voter_never_started() {
    let mut w = World::new();
    w.m(3).started = false;
    let why = whys(w.add("127.0.0.4"));
    assert!(
        why.contains("voter etcd-3 was added but never started"),
        "{why}"
    );
}

#[test]
fn an_add_is_refused_while_a_learner_is_in_the_cluster() {
    let mut w = World::new();
    learner(&mut w.status, true);
    let why = whys(w.add("127.0.0.5"));
    assert!(
        why.contains("learner etcd-4 is in the cluster already"),
        "{why}"
    );
    assert!(why.contains("etcdeck member promote etcd-4"), "{why}");
}

#[test]
fn an_unstarted_learner_left_behind_is_named_with_resume_or_rollback() {
    let mut w = World::new();
    learner(&mut w.status, false);
    let why = whys(w.add("127.0.0.5"));
    assert!(why.contains("was added but never started"), "{why}");
    assert!(
        why.contains("run the same `etcdeck member add` again"),
        "{why}"
    );
    assert!(why.contains("etcdeck member remove 4"), "{why}");
}

#[test]
fn an_add_is_refused_without_a_leader_and_under_an_alarm() {
    let mut w = World::new();
    w.status.leader = None;
    assert!(whys(w.add("127.0.0.4")).contains("no leader"));
    let mut w = World::new();
    w.status.alarms.push(Alarm {
        member_id: 2,
        member: "etcd-2".into(),
        alarm: "NOSPACE".into(),
    });
    let why = whys(w.add("127.0.0.4"));
    assert!(why.contains("alarm NOSPACE is raised on etcd-2"), "{why}");
    assert!(why.contains("etcdeck alarm recover"), "{why}");
}

#[test]
fn an_add_needs_an_inventory() {
    let mut w = World::new();
    w.inventory = None;
    let why = whys(w.add("127.0.0.4"));
    assert!(why.contains("no inventory"), "{why}");
    assert!(why.contains("-i FILE"), "{why}");
}

#[test]
fn a_seq_is_never_reused() {
    // A live member's.
    let w = World::new();
    let why = whys(w.add_seq("127.0.0.4", 2));
    assert!(
        why.contains("etcd_seq 2 was used before (member etcd-2)"),
        "{why}"
    );
    // A member removed earlier, from etcdeck's record: the default skips it.
    let mut w = World::new();
    w.used
        .insert(4, "member etcd-4 at 10.0.0.4, added by etcdeck".into());
    let why = whys(w.add_seq("127.0.0.4", 4));
    assert!(
        why.contains("etcd_seq 4 was used before (member etcd-4"),
        "{why}"
    );
    assert!(why.contains("use --seq 5"), "{why}");
    assert_eq!(
        w.add("127.0.0.4").unwrap().confirm.as_deref(),
        Some("etcd-5")
    );
    // A host commented out of the inventory.
    let mut w = World::new();
    w.inventory.as_mut().unwrap().commented = vec![("10.0.0.9".into(), 9)];
    assert!(whys(w.add_seq("127.0.0.4", 9)).contains("commented out of the inventory"));
    assert_eq!(
        w.add("127.0.0.4").unwrap().confirm.as_deref(),
        Some("etcd-10")
    );
    // A live member whose host the inventory lost.
    let mut w = World::new();
    w.m(3).name = "etcd-12".into();
    assert!(whys(w.add_seq("127.0.0.4", 12)).contains("member etcd-12"));
}

#[test]
fn an_address_or_name_in_use_is_refused() {
    let w = World::new();
    let why = whys(w.add("127.0.0.2"));
    // The inventory has the host with seq 2 (a member): used, and its address is etcd-2's.
    assert!(
        why.contains("127.0.0.2 is the address of member etcd-2 already"),
        "{why}"
    );
    let mut w = World::new();
    w.m(3).name = "etcd-4".into();
    w.m(3).peer_urls = vec!["https://127.0.0.33:2380".into()];
    w.inventory = Some(inventory(
        &INVENTORY.replace("127.0.0.3: { etcd_seq: 3 }", "127.0.0.33: { etcd_seq: 3 }"),
    ));
    let why = whys(w.add_seq("127.0.0.4", 4));
    assert!(why.contains("member etcd-4 exists already"), "{why}");
}

#[test]
fn the_sandbox_takes_ipv4_only() {
    let mut w = World::new();
    w.provision = Provision::Sandbox {
        dir: "/state/demo".into(),
    };
    let why = whys(w.add("fd00::4"));
    assert!(why.contains("IPv6"), "{why}");
}

#[test]
fn pigsty_needs_every_member_in_the_inventory() {
    let mut w = World::new();
    w.provision = Provision::Pigsty {
        home: "/pigsty".into(),
        files: "/state/members".into(),
    };
    w.inventory = Some(inventory(
        &INVENTORY.replace("    127.0.0.3: { etcd_seq: 3 }\n", ""),
    ));
    let why = whys(w.add("127.0.0.4"));
    assert!(
        why.contains("the inventory lacks member(s) etcd-3"),
        "{why}"
    );
    assert!(why.contains("initial-cluster"), "{why}");
    // The manual provisioner renders initial-cluster from the member list: a warning only.
    w.provision = manual();
    let p = w.add("127.0.0.4").expect("plans");
    assert!(
        p.warnings
            .join(" ")
            .contains("the inventory lacks member(s) etcd-3"),
        "{:?}",
        p.warnings
    );
}

#[test]
fn a_missing_ca_is_refused_with_where_it_looked() {
    let mut w = World::new();
    w.ca = Err("/pigsty/files/pki/ca/ca.crt and /pigsty/files/pki/ca/ca.key not found".into());
    let why = whys(w.add("127.0.0.4"));
    assert!(why.contains("no CA"), "{why}");
    assert!(why.contains("/pigsty/files/pki/ca/ca.crt"), "{why}");
    assert!(why.contains("--ca-cert FILE --ca-key FILE"), "{why}");
}

#[test]
fn the_provisioner_lays_out_the_members_files() {
    let m = World::new()
        .add("127.0.0.4")
        .unwrap()
        .steps
        .into_iter()
        .find_map(|s| match s.kind {
            StepKind::AddLearner { member } => Some(member),
            _ => None,
        })
        .unwrap();
    let sandbox = Provision::Sandbox {
        dir: "/demo".into(),
    };
    assert_eq!(sandbox.files_dir(&m), Path::new("/demo/etcd-4"));
    assert_eq!(
        sandbox.node_tls(&m),
        (
            "/demo/etcd-4/etcd-4.crt".into(),
            "/demo/etcd-4/etcd-4.key".into(),
            "/demo/pki/ca.crt".into()
        )
    );
    assert_eq!(
        sandbox.live_ip("10.10.10.14".parse().unwrap()),
        Ok("127.10.10.14".parse().unwrap())
    );
    let pigsty = Provision::Pigsty {
        home: "/pigsty".into(),
        files: "/state/members/c1".into(),
    };
    assert_eq!(
        pigsty.cert_paths(&m),
        (
            "/pigsty/files/pki/etcd/etcd-4.crt".into(),
            "/pigsty/files/pki/etcd/etcd-4.key".into()
        )
    );
    assert_eq!(pigsty.node_tls(&m).0, Path::new(NODE_CERT));
    assert_eq!(
        manual().cert_paths(&m),
        (
            "/tmp/etcd-4/server.crt".into(),
            "/tmp/etcd-4/server.key".into()
        )
    );
}

// --- promote ---------------------------------------------------------------------------------

#[test]
fn a_learner_added_elsewhere_is_caught_up_then_promoted_at_the_leader() {
    let mut w = World::new();
    learner(&mut w.status, true);
    let p = promote_plan(&w.x(), "etcd-4").expect("plans");
    assert_eq!(
        keys(&p),
        ["gate:start", "catchup", "promote", "references", "gate:end"]
    );
    let promote = &p.steps[2];
    assert_eq!(promote.via.as_deref(), Some("https://127.0.0.1:2379"));
    assert_eq!(p.confirm.as_deref(), Some("etcd-4"));
}

#[test]
fn promote_refusals() {
    let w = World::new();
    assert!(whys(promote_plan(&w.x(), "etcd-9")).contains("no member etcd-9"));
    assert!(whys(promote_plan(&w.x(), "etcd-2")).contains("etcd-2 is a voter already"));
    let mut w = World::new();
    learner(&mut w.status, false);
    let why = whys(promote_plan(&w.x(), "4"));
    assert!(why.contains("was added but never started"), "{why}");
    assert!(why.contains("etcdeck member remove 4"), "{why}");
    let mut w = World::new();
    learner(&mut w.status, true);
    w.m(2).reachable = false;
    assert!(whys(promote_plan(&w.x(), "etcd-4")).contains("voter etcd-2 does not answer"));
    let mut w = World::new();
    learner(&mut w.status, true);
    w.status.leader = None;
    w.m(1).is_leader = false;
    assert!(whys(promote_plan(&w.x(), "etcd-4")).contains("no leader answers"));
}

// --- remove ----------------------------------------------------------------------------------

#[test]
fn a_remove_comments_the_host_out_refreshes_references_removes_then_purges() {
    let w = World::new();
    let p = w.remove("etcd-3").expect("plans");
    assert_eq!(
        keys(&p),
        [
            "snapshot",
            "gate:start",
            "inventory",
            "references",
            "remove",
            "purge",
            "gate:end"
        ]
    );
    assert_eq!(p.confirm.as_deref(), Some("etcd-3"));
    assert!(matches!(
        &p.steps[2].kind,
        StepKind::InventoryEdit { change: InventoryChange::Comment { ip }, .. }
            if ip.to_string() == "127.0.0.3"
    ));
    let facts = p.facts.join("\n");
    assert!(
        facts.contains("quorum after: 2 voter(s), quorum 2, tolerates 0"),
        "{facts}"
    );
    // 2 voters left: warned.
    assert!(
        p.warnings
            .join(" ")
            .contains("2 voters tolerate no failure"),
        "{:?}",
        p.warnings
    );
}

#[test]
fn the_leader_is_moved_away_before_its_remove() {
    let w = World::new();
    let p = w.remove("etcd-1").expect("plans");
    let k = keys(&p);
    let mv = k
        .iter()
        .position(|k| *k == "move-leader")
        .expect("a leader move");
    let rm = k.iter().position(|k| *k == "remove").unwrap();
    assert!(mv < rm);
    assert_eq!(k[mv + 1], "verify-leader");
    assert!(p.facts.join(" ").contains("etcd-1 leads"));
}

#[test]
fn a_dead_member_is_removable_and_the_gate_leaves_it_out() {
    let mut w = World::new();
    w.m(3).reachable = false;
    let p = w.remove("etcd-3").expect("plans");
    assert!(matches!(
        &p.steps.iter().find(|s| s.key == "gate:start").unwrap().kind,
        StepKind::Gate { except, .. } if except == &vec![3]
    ));
    assert!(p.warnings.iter().all(|w| !w.contains("healthy member")));
}

#[test]
fn a_remove_that_would_lose_quorum_is_refused() {
    let mut w = World::new();
    w.m(3).reachable = false;
    // Removing healthy etcd-2 leaves etcd-1 alone of 2 voters: quorum needs 2.
    let why = whys(w.remove("etcd-2"));
    assert!(
        why.contains("leaves 1 answering voter(s) of 2: quorum needs 2"),
        "{why}"
    );
}

#[test]
fn the_last_voter_is_never_removed() {
    let mut w = World::new();
    w.status.members.truncate(1);
    let why = whys(w.remove("etcd-1"));
    assert!(why.contains("etcd-1 is the last voter"), "{why}");
}

#[test]
fn a_remove_from_two_members_is_warned_unsafe() {
    let mut w = World::new();
    w.status.members.truncate(2);
    let p = w.remove("etcd-2").expect("plans: both answer");
    assert!(
        p.warnings.join(" ").contains("2-member cluster is unsafe"),
        "{:?}",
        p.warnings
    );
}

#[test]
fn a_learner_is_always_removable_and_rolls_a_failed_add_back() {
    let mut w = World::new();
    learner(&mut w.status, false);
    w.m(2).reachable = false;
    w.m(3).reachable = false;
    // Quorum is lost, but a learner has no vote: removing it changes nothing.
    let p = w.remove("4").expect("plans");
    // It has no name yet: the inventory's host of that name finds it.
    w.inventory = Some(inventory(
        &INVENTORY.replace("  vars:", "    127.0.0.4: { etcd_seq: 4 }\n  vars:"),
    ));
    assert_eq!(
        w.remove("etcd-4")
            .expect("found by its host")
            .confirm
            .as_deref(),
        Some("etcd-4")
    );
    assert!(keys(&p).contains(&"remove"));
    assert!(p.facts.join(" ").contains("a learner"));
}

#[test]
fn etcd_safeguard_refuses_unless_the_member_is_named_again() {
    let mut w = World::new();
    w.inventory = Some(inventory(&INVENTORY.replace(
        "vars: { etcd_cluster: etcd }",
        "vars: { etcd_cluster: etcd, etcd_safeguard: true }",
    )));
    let why = whys(w.remove("etcd-3"));
    assert!(why.contains("etcd_safeguard is on for etcd-3"), "{why}");
    assert!(why.contains("--override-safeguard etcd-3"), "{why}");
    w.safeguard = Some("etcd-2".into());
    assert!(whys(w.remove("etcd-3")).contains("names etcd-2, not etcd-3"));
    w.safeguard = Some("etcd-3".into());
    let p = w.remove("etcd-3").expect("overridden");
    assert!(p.warnings.join(" ").contains("overridden"));
    assert!(matches!(
        p.steps.iter().find(|s| s.key == "purge").unwrap().kind,
        StepKind::Purge {
            override_safeguard: true,
            ..
        }
    ));
}

#[test]
fn remove_names_a_member() {
    let w = World::new();
    assert!(whys(w.remove("etcd-9")).contains("no member etcd-9"));
}

// --- replace ---------------------------------------------------------------------------------

#[test]
fn replace_removes_the_dead_member_before_adding_the_new_one() {
    let mut w = World::new();
    w.m(3).reachable = false;
    let p = replace_plan(
        &w.x(),
        "etcd-3",
        &AddOptions {
            ip: "127.0.0.4".parse().unwrap(),
            seq: None,
        },
    )
    .expect("plans");
    assert_eq!(
        keys(&p),
        [
            "snapshot",
            "gate:start",
            "old:inventory",
            "old:references",
            "old:remove",
            "old:purge",
            "gate:between",
            "new:inventory",
            "new:cert",
            "new:config",
            "new:add",
            "new:start",
            "new:catchup",
            "new:promote",
            "new:references",
            "gate:end"
        ]
    );
    assert_eq!(p.op, Op::MemberReplace);
    assert_eq!(p.confirm.as_deref(), Some("etcd-3"));
    // With etcd-3 down, what is tolerated now.
    let facts = p.facts.join("\n");
    assert!(
        facts.contains("quorum before: 3 voter(s), 2 up, quorum 2, tolerates 0 now"),
        "{facts}"
    );
    assert!(
        p.warnings.is_empty(),
        "3 voters at the end: {:?}",
        p.warnings
    );
    // One plan and one journal: every key unique.
    let unique: BTreeSet<&str> = keys(&p).into_iter().collect();
    assert_eq!(unique.len(), p.steps.len());
}

#[test]
fn a_reinstalled_node_keeps_its_address_with_a_new_seq() {
    let mut w = World::new();
    w.m(3).reachable = false;
    let p = replace_plan(
        &w.x(),
        "etcd-3",
        &AddOptions {
            ip: "127.0.0.3".parse().unwrap(),
            seq: None,
        },
    )
    .expect("plans");
    // Seq 3 is never reused: the new member is etcd-4 at the same address, its host line added
    // once the old one is commented out.
    let add = p.steps.iter().find(|s| s.key == "new:add").unwrap();
    assert!(matches!(&add.kind, StepKind::AddLearner { member }
        if member.name == "etcd-4" && member.ip.to_string() == "127.0.0.3"));
    let edits: Vec<&InventoryChange> = p
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::InventoryEdit { change, .. } => Some(change),
            _ => None,
        })
        .collect();
    let ip = "127.0.0.3".parse().unwrap();
    assert_eq!(
        edits,
        [
            &InventoryChange::Comment { ip },
            &InventoryChange::Add { ip, seq: 4 }
        ]
    );
    // Both diffs are shown.
    let facts = p.facts.join("\n");
    assert!(facts.contains("-    127.0.0.3: { etcd_seq: 3 }"), "{facts}");
    assert!(facts.contains("+    127.0.0.3: { etcd_seq: 4 }"), "{facts}");
    // Asking for seq 3 again is refused.
    let why = whys(replace_plan(
        &w.x(),
        "etcd-3",
        &AddOptions { ip, seq: Some(3) },
    ));
    assert!(why.contains("etcd_seq 3 was used before"), "{why}");
}

#[test]
fn replace_checks_the_add_with_the_old_member_left_out() {
    let mut w = World::new();
    w.m(3).reachable = false;
    w.m(2).reachable = false;
    let why = whys(replace_plan(
        &w.x(),
        "etcd-3",
        &AddOptions {
            ip: "127.0.0.4".parse().unwrap(),
            seq: None,
        },
    ));
    // etcd-2 down too: removing etcd-3 leaves 1 of 2; and the add refuses etcd-2 down.
    assert!(why.contains("leaves 1 answering voter(s) of 2"), "{why}");
    assert!(why.contains("voter etcd-2 does not answer"), "{why}");
    assert!(!why.contains("voter etcd-3 does not answer"), "{why}");
}

// --- resume ----------------------------------------------------------------------------------

/// After any prefix of the journaled steps is done, a resume runs the first step not done (a
/// gate before it runs again), and never one that was done.
#[test]
fn a_resume_from_every_journal_state_runs_only_what_is_left() {
    let mut w = World::new();
    w.m(3).reachable = false;
    let plans = [
        World::new().add("127.0.0.4").unwrap(),
        World::new().remove("etcd-1").unwrap(),
        replace_plan(
            &w.x(),
            "etcd-3",
            &AddOptions {
                ip: "127.0.0.4".parse().unwrap(),
                seq: None,
            },
        )
        .unwrap(),
    ];
    for plan in plans {
        for k in 0..=plan.steps.len() {
            let done: BTreeSet<String> = plan.steps[..k]
                .iter()
                .filter(|s| crate::wizard::is_journaled(&s.kind))
                .map(|s| s.key.clone())
                .collect();
            let mut wiz = Wizard::resume(plan.clone(), done.clone());
            let mut action = wiz.advance(Event::Yes);
            let mut ran = Vec::new();
            // Play every step through as done; gates pass on a healthy look.
            loop {
                match action {
                    Action::Run(i) => {
                        ran.push(plan.steps[i].key.clone());
                        action = wiz.advance(Event::StepOk {
                            index: i,
                            detail: String::new(),
                        });
                    }
                    Action::Observe { index, .. } => {
                        action = wiz.advance(Event::Observed {
                            index,
                            status: Box::new(three()),
                            waited: std::time::Duration::ZERO,
                        });
                    }
                    _ => break,
                }
            }
            assert_eq!(
                wiz.phase,
                crate::wizard::Phase::Done,
                "{:?} after {k}",
                plan.op
            );
            for key in &ran {
                assert!(!done.contains(key), "{key} ran twice after {k} steps");
            }
            let expected: Vec<String> = plan.steps[k..]
                .iter()
                .filter(|s| !done.contains(&s.key) && !matches!(s.kind, StepKind::Gate { .. }))
                .map(|s| s.key.clone())
                .collect();
            assert_eq!(ran, expected, "{:?} resumed after {k} steps", plan.op);
        }
    }
}

#[test]
fn urls_give_their_address() {
    assert_eq!(
        url_ip("https://10.10.10.11:2380"),
        Some("10.10.10.11".parse().unwrap())
    );
    assert_eq!(
        url_ip("https://[fd00::1]:2379"),
        Some("fd00::1".parse().unwrap())
    );
    assert_eq!(
        url_ip("http://127.0.0.1"),
        Some("127.0.0.1".parse().unwrap())
    );
    assert_eq!(url_ip("unix://x"), None);
}

#[test]
fn the_seq_record_remembers_members_added() {
    let dir = tempfile::tempdir().unwrap();
    let w = World::new();
    let p = w.add("127.0.0.4").unwrap();
    let m = p
        .steps
        .iter()
        .find_map(|s| match &s.kind {
            StepKind::AddLearner { member } => Some(member.clone()),
            _ => None,
        })
        .unwrap();
    record_seq(dir.path(), 0xc1, &m, 1).unwrap();
    record_seq(dir.path(), 0xc1, &m, 2).unwrap();
    let used = used_seqs(dir.path(), 0xc1);
    assert_eq!(used.len(), 1, "recorded once");
    assert!(used[&4].contains("etcd-4"));
    assert!(used_seqs(dir.path(), 0xc2).is_empty());
}

#[test]
fn the_inventory_diff_is_in_the_plan_and_an_inventory_it_cannot_edit_refuses() {
    let p = World::new().add("127.0.0.4").unwrap();
    let facts = p.facts.join("\n");
    assert!(facts.contains("the inventory edit (diff):"), "{facts}");
    assert!(facts.contains("+    127.0.0.4: { etcd_seq: 4 }"), "{facts}");
    // Hosts given through an alias: the editor cannot say which bytes to change, so nothing
    // is planned (and nothing would be written).
    let aliased = "x-hosts: &hosts
  127.0.0.1: { etcd_seq: 1 }
  127.0.0.2: { etcd_seq: 2 }
  127.0.0.3: { etcd_seq: 3 }
etcd:
  hosts: *hosts
  vars: { etcd_cluster: etcd }
";
    let mut w = World::new();
    w.inventory = Some(inventory(aliased));
    let why = whys(w.add("127.0.0.4"));
    assert!(why.contains("the inventory cannot take 127.0.0.4"), "{why}");
    let why = whys(w.remove("etcd-3"));
    assert!(
        why.contains("the inventory cannot comment 127.0.0.3 out"),
        "{why}"
    );
}
