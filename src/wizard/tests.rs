//! The wizards' rules, without a network: every refusal, the order of steps, the gate, the
//! machine's confirmation, cancel and resume.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::etcd::status::{Alarm, ClusterStatus, MemberStatus};

/// Three voters, `etcd-1` leads; databases of 30, 10 and 20 MiB with half free.
pub(crate) fn three() -> ClusterStatus {
    let mut members: Vec<MemberStatus> = (1..=3)
        .map(|i| MemberStatus::sample(i, &format!("etcd-{i}"), true))
        .collect();
    for (m, mib) in members.iter_mut().zip([30i64, 10, 20]) {
        m.db_size = mib << 20;
        m.db_size_in_use = (mib << 20) / 2;
        m.raft_applied_index = 1000;
        m.raft_index = 1000;
        m.peer_urls = vec![format!("https://127.0.0.{}:2380", m.id)];
    }
    ClusterStatus {
        cluster_id: 0xc1,
        leader: Some(1),
        alarms: vec![],
        members,
        member_list_from: "https://127.0.0.1:2379".into(),
        alarms_error: None,
    }
}

fn common() -> Common {
    Common::with_snapshot_dir(Path::new("/state/snapshots"), 1_796_181_125, "etcd")
}

pub(crate) fn defrag_all() -> defrag::Options {
    defrag::Options {
        members: vec![],
        all: true,
        move_leader: true,
        settle: Duration::from_secs(2),
        threshold_percent: 10,
        common: common(),
    }
}

fn keys(p: &Plan) -> Vec<&str> {
    p.steps.iter().map(|s| s.key.as_str()).collect()
}

fn whys(r: &[Refusal]) -> String {
    r.iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(" | ")
}

fn down(s: &mut ClusterStatus, id: u64) {
    let m = s.members.iter_mut().find(|m| m.id == id).unwrap();
    m.reachable = false;
    m.error_short = Some("timeout".into());
}

fn learner(s: &mut ClusterStatus, applied: u64) {
    let mut l = MemberStatus::sample(4, "etcd-4", true);
    l.is_learner = true;
    l.is_leader = false;
    l.raft_applied_index = applied;
    s.members.push(l);
}

fn nospace(s: &mut ClusterStatus, id: u64) {
    s.alarms.push(Alarm {
        member_id: id,
        member: format!("etcd-{id}"),
        alarm: "NOSPACE".into(),
    });
}

// --- the gate --------------------------------------------------------------------------------

#[test]
fn the_gate_passes_a_healthy_cluster_and_says_why_it_stops_one_that_is_not() {
    let s = three();
    assert_eq!(gate(&s, false), Ok(()));

    let mut d = three();
    down(&mut d, 3);
    assert!(gate(&d, false)
        .unwrap_err()
        .contains("etcd-3 does not answer"));

    let mut n = three();
    n.leader = None;
    assert_eq!(gate(&n, false).unwrap_err(), "no leader");

    let mut split = three();
    split.members[2].sees_leader = 2;
    assert!(gate(&split, false).unwrap_err().contains("disagree"));

    let mut behind = three();
    behind.members[1].raft_applied_index = 1000 - MAX_APPLIED_SPREAD - 1;
    let why = gate(&behind, false).unwrap_err();
    assert!(why.contains("etcd-2 is 101 entries behind"), "{why}");
    // Within the spread: caught up.
    behind.members[1].raft_applied_index = 1000 - MAX_APPLIED_SPREAD;
    assert_eq!(gate(&behind, false), Ok(()));

    let mut corrupt = three();
    corrupt.alarms.push(Alarm {
        member_id: 2,
        member: "etcd-2".into(),
        alarm: "CORRUPT".into(),
    });
    assert!(gate(&corrupt, true).unwrap_err().contains("CORRUPT"));

    let mut full = three();
    nospace(&mut full, 1);
    assert!(gate(&full, false).unwrap_err().contains("NOSPACE"));
    assert_eq!(gate(&full, true), Ok(()), "inside the recovery");

    // A learner that does not answer does not stop the gate (it does not vote).
    let mut l = three();
    learner(&mut l, 0);
    l.members[3].reachable = false;
    assert_eq!(gate(&l, false), Ok(()));
}

// --- defrag ----------------------------------------------------------------------------------

#[test]
fn defrag_goes_followers_smallest_first_and_the_leader_last_after_moving_leadership() {
    let s = three();
    let p = defrag::plan(&s, &defrag_all()).unwrap();
    assert_eq!(
        keys(&p),
        [
            "snapshot",
            "gate:start",
            "defrag:2",
            "settle:2",
            "gate:after:2",
            "defrag:3",
            "settle:3",
            "gate:after:3",
            // Leadership goes to the follower defragmented last, then the old leader's turn.
            "move-leader:3",
            "verify-leader:3",
            "gate:leader-moved:3",
            "defrag:1",
            "gate:after:1",
        ]
    );
    // The snapshot comes from a follower, never the leader.
    assert_eq!(p.steps[0].member.as_deref(), Some("etcd-2"));
    // Each defragmentation goes to the member itself; the move to the leader.
    let via = |k: &str| p.steps.iter().find(|s| s.key == k).unwrap().via.clone();
    assert_eq!(via("defrag:2").as_deref(), Some("https://127.0.0.2:2379"));
    assert_eq!(
        via("move-leader:3").as_deref(),
        Some("https://127.0.0.1:2379")
    );
    // While a member is blocked, one fewer failure is tolerated.
    assert_eq!(p.tolerates_now, 1);
    let t = |k: &str| p.steps.iter().find(|s| s.key == k).unwrap().tolerates;
    assert_eq!((t("defrag:2"), t("gate:start")), (0, 1));
    // Cluster-wide: the cluster's name is typed.
    assert_eq!(p.confirm.as_deref(), Some("etcd"));
    assert!(p.text().contains("defragment etcd-2"));
}

#[test]
fn defrag_keep_leader_and_no_snapshot_and_one_member() {
    let s = three();
    let mut o = defrag_all();
    o.move_leader = false;
    o.common.snapshot = false;
    let p = defrag::plan(&s, &o).unwrap();
    assert_eq!(keys(&p)[0], "gate:start");
    assert!(!keys(&p).iter().any(|k| k.starts_with("move-leader")));
    assert_eq!(*keys(&p).last().unwrap(), "gate:after:1");
    assert!(p.warnings.iter().any(|w| w.contains("while it leads")));

    let mut one = defrag_all();
    one.all = false;
    one.members = vec!["etcd-3".into()];
    let p = defrag::plan(&s, &one).unwrap();
    assert_eq!(
        p.confirm.as_deref(),
        Some("etcd-3"),
        "one member: its name is typed"
    );
    assert!(keys(&p).contains(&"defrag:3") && !keys(&p).contains(&"defrag:2"));
    // By hex id too.
    one.members = vec!["2".into()];
    assert!(keys(&defrag::plan(&s, &one).unwrap()).contains(&"defrag:2"));
}

#[test]
fn defrag_refuses_a_voter_down_a_learner_catching_up_nospace_and_unknown_names() {
    let mut d = three();
    down(&mut d, 2);
    let r = defrag::plan(&d, &defrag_all()).unwrap_err();
    assert!(
        whys(&r).contains("voter etcd-2 does not answer"),
        "{}",
        whys(&r)
    );

    let mut l = three();
    learner(&mut l, 10);
    let r = defrag::plan(&l, &defrag_all()).unwrap_err();
    assert!(
        whys(&r).contains("learner etcd-4 is catching up"),
        "{}",
        whys(&r)
    );
    // A learner in sync is left out of --all, and refused by name.
    let mut l = three();
    learner(&mut l, 1000);
    let p = defrag::plan(&l, &defrag_all()).unwrap();
    assert!(!keys(&p).contains(&"defrag:4"));
    let mut named = defrag_all();
    named.all = false;
    named.members = vec!["etcd-4".into()];
    assert!(whys(&defrag::plan(&l, &named).unwrap_err()).contains("is a learner"));
    named.members = vec!["etcd-9".into()];
    assert!(whys(&defrag::plan(&l, &named).unwrap_err()).contains("no member etcd-9"));

    let mut full = three();
    nospace(&mut full, 1);
    assert!(whys(&defrag::plan(&full, &defrag_all()).unwrap_err()).contains("alarm recover"));

    let mut unstarted = three();
    unstarted.members[2].started = false;
    assert!(whys(&defrag::plan(&unstarted, &defrag_all()).unwrap_err()).contains("never started"));

    let mut nl = three();
    nl.leader = None;
    assert!(whys(&defrag::plan(&nl, &defrag_all()).unwrap_err()).contains("no leader"));
}

#[test]
fn defrag_skips_members_below_the_threshold_and_says_so() {
    let mut s = three();
    // etcd-2: 2% free.
    s.members[1].db_size_in_use = s.members[1].db_size * 98 / 100;
    let p = defrag::plan(&s, &defrag_all()).unwrap();
    assert!(!keys(&p).contains(&"defrag:2"));
    assert!(p
        .facts
        .iter()
        .any(|f| f.contains("etcd-2: 2% free") && f.contains("skipped")));
    let mut o = defrag_all();
    o.threshold_percent = 0;
    assert!(keys(&defrag::plan(&s, &o).unwrap()).contains(&"defrag:2"));
    // Nothing above the threshold: no steps, nothing to confirm.
    let mut o = defrag_all();
    o.threshold_percent = 90;
    let p = defrag::plan(&s, &o).unwrap();
    assert!(p.steps.is_empty() && p.confirm.is_none());
}

// --- the machine -----------------------------------------------------------------------------

fn ok(w: &mut Wizard, i: usize) -> Action {
    w.begin(i);
    w.advance(Event::StepOk {
        index: i,
        detail: "ok".into(),
    })
}

fn observe(w: &mut Wizard, i: usize, s: &ClusterStatus, waited: u64) -> Action {
    w.advance(Event::Observed {
        index: i,
        status: Box::new(s.clone()),
        waited: Duration::from_secs(waited),
    })
}

#[test]
fn the_default_answer_is_cancel_and_the_typed_name_runs_the_plan() {
    let p = defrag::plan(&three(), &defrag_all()).unwrap();
    let mut w = Wizard::new(p.clone());
    assert_eq!(w.advance(Event::Typed(String::new())), Action::Finish);
    assert_eq!(w.phase, Phase::Cancelled);
    let mut w = Wizard::new(p.clone());
    assert_eq!(w.advance(Event::Typed("etcd-1".into())), Action::Finish);
    assert_eq!(w.phase, Phase::Cancelled, "another name does not confirm");
    let mut w = Wizard::new(p);
    assert_eq!(w.advance(Event::Typed(" etcd \n".into())), Action::Run(0));
    assert_eq!(w.phase, Phase::Running);
}

#[test]
fn a_run_walks_every_step_with_gates_observed_and_ends_done() {
    let s = three();
    let p = defrag::plan(&s, &defrag_all()).unwrap();
    let n = p.steps.len();
    let mut w = Wizard::new(p);
    let mut a = w.advance(Event::Yes);
    let mut order = Vec::new();
    for _ in 0..100 {
        match a {
            Action::Run(i) => {
                order.push(w.plan.steps[i].key.clone());
                a = ok(&mut w, i);
            }
            Action::Observe { index, .. } => {
                order.push(w.plan.steps[index].key.clone());
                a = observe(&mut w, index, &s, 0);
            }
            Action::Finish | Action::Wait => break,
        }
    }
    assert_eq!(w.phase, Phase::Done);
    assert_eq!(order.len(), n);
    assert_eq!(w.outcomes.len(), n);
    assert!(w.outcomes.iter().all(|o| o.outcome == "done"));
}

#[test]
fn a_gate_that_does_not_pass_looks_again_then_stops_with_the_reason() {
    let s = three();
    let p = move_leader::plan(&s, "etcd-2").unwrap();
    let mut w = Wizard::new(p);
    assert_eq!(
        w.advance(Event::Typed("etcd-2".into())),
        Action::Observe {
            index: 0,
            after: Duration::ZERO
        }
    );
    let mut bad = three();
    down(&mut bad, 3);
    assert_eq!(
        observe(&mut w, 0, &bad, 1),
        Action::Observe {
            index: 0,
            after: GATE_RETRY
        }
    );
    // Recovered within the wait: on to the move.
    assert_eq!(observe(&mut w, 0, &s, 3), Action::Run(1));

    let mut w = Wizard::new(move_leader::plan(&s, "etcd-2").unwrap());
    w.advance(Event::Yes);
    assert_eq!(
        observe(&mut w, 0, &bad, GATE_WAIT.as_secs()),
        Action::Finish
    );
    let Phase::Stopped(why) = &w.phase else {
        panic!("{:?}", w.phase)
    };
    assert!(
        why.contains("etcd-3 does not answer") && why.contains("nothing was forced"),
        "{why}"
    );
    assert!(w.done.is_empty());
}

#[test]
fn a_cancel_between_steps_stops_at_once_and_one_during_a_step_waits_for_it() {
    let s = three();
    let p = defrag::plan(&s, &defrag_all()).unwrap();
    let mut w = Wizard::new(p.clone());
    assert_eq!(w.advance(Event::Yes), Action::Run(0));
    // Not begun yet: cancelled now.
    assert_eq!(w.advance(Event::Cancel), Action::Finish);
    assert_eq!(w.phase, Phase::Cancelled);

    let mut w = Wizard::new(p);
    w.advance(Event::Yes);
    w.begin(0);
    assert_eq!(w.advance(Event::Cancel), Action::Wait);
    assert_eq!(w.phase, Phase::Running);
    // The snapshot ends; nothing further runs.
    assert_eq!(
        w.advance(Event::StepOk {
            index: 0,
            detail: "ok".into()
        }),
        Action::Finish
    );
    assert_eq!(w.phase, Phase::Cancelled);
    assert!(w.done.contains("snapshot"));
}

#[test]
fn a_failed_step_ends_the_run_and_says_which() {
    let s = three();
    let mut w = Wizard::new(move_leader::plan(&s, "etcd-2").unwrap());
    w.advance(Event::Yes);
    assert_eq!(observe(&mut w, 0, &s, 0), Action::Run(1));
    w.begin(1);
    let a = w.advance(Event::StepFailed {
        index: 1,
        error: "etcdserver: bad leader transferee".into(),
    });
    assert_eq!(a, Action::Finish);
    let Phase::Failed(why) = &w.phase else {
        panic!()
    };
    assert!(why.contains("step 2") && why.contains("bad leader transferee"));
}

#[test]
fn resume_never_repeats_a_done_step_and_runs_the_gates_again() {
    let s = three();
    let p = defrag::plan(&s, &defrag_all()).unwrap();
    // Killed after the first member: the journal holds the snapshot and defrag:2.
    let done: BTreeSet<String> = ["snapshot", "defrag:2", "settle:2"]
        .into_iter()
        .map(String::from)
        .collect();
    let mut w = Wizard::resume(p.clone(), done);
    let mut a = w.advance(Event::Yes);
    let mut ran = Vec::new();
    for _ in 0..100 {
        match a {
            Action::Run(i) => {
                ran.push(w.plan.steps[i].key.clone());
                a = ok(&mut w, i);
            }
            Action::Observe { index, .. } => {
                ran.push(w.plan.steps[index].key.clone());
                a = observe(&mut w, index, &s, 0);
            }
            _ => break,
        }
    }
    assert_eq!(w.phase, Phase::Done);
    assert!(!ran.contains(&"snapshot".to_string()));
    assert!(!ran.contains(&"defrag:2".to_string()));
    assert_eq!(ran[0], "gate:start", "a gate runs again before going on");
    assert!(ran.contains(&"defrag:3".to_string()) && ran.contains(&"defrag:1".to_string()));
    assert_eq!(
        w.outcomes
            .iter()
            .filter(|o| o.outcome == "skipped (done before)")
            .count(),
        3
    );
    // Every state of the journal: resumed from each prefix of the plan, the steps left run in
    // order and the done ones never.
    let journaled: Vec<&Step> = p.steps.iter().filter(|s| is_journaled(&s.kind)).collect();
    for cut in 0..=journaled.len() {
        let done: BTreeSet<String> = journaled[..cut].iter().map(|s| s.key.clone()).collect();
        let mut w = Wizard::resume(p.clone(), done.clone());
        let mut a = w.advance(Event::Yes);
        let mut ran = Vec::new();
        for _ in 0..100 {
            match a {
                Action::Run(i) => {
                    ran.push(w.plan.steps[i].key.clone());
                    a = ok(&mut w, i);
                }
                Action::Observe { index, .. } => a = observe(&mut w, index, &s, 0),
                _ => break,
            }
        }
        assert_eq!(w.phase, Phase::Done, "cut {cut}");
        assert!(ran.iter().all(|k| !done.contains(k)), "cut {cut}: {ran:?}");
        let left: Vec<String> = journaled[cut..].iter().map(|s| s.key.clone()).collect();
        let ran_journaled: Vec<String> = ran
            .into_iter()
            .filter(|k| !k.starts_with("settle"))
            .collect();
        let left: Vec<String> = left
            .into_iter()
            .filter(|k| !k.starts_with("settle"))
            .collect();
        assert_eq!(ran_journaled, left, "cut {cut}");
    }
}

// --- move leader -----------------------------------------------------------------------------

#[test]
fn move_leader_refuses_a_learner_the_leader_itself_a_member_behind_or_down() {
    let mut s = three();
    learner(&mut s, 1000);
    assert!(whys(&move_leader::plan(&s, "etcd-4").unwrap_err()).contains("cannot lead"));
    assert!(whys(&move_leader::plan(&s, "etcd-1").unwrap_err()).contains("leads already"));
    assert!(whys(&move_leader::plan(&s, "nobody").unwrap_err()).contains("no member nobody"));
    let mut b = three();
    b.members[1].raft_applied_index = 10;
    assert!(whys(&move_leader::plan(&b, "etcd-2").unwrap_err()).contains("behind"));
    let mut d = three();
    down(&mut d, 2);
    assert!(whys(&move_leader::plan(&d, "etcd-2").unwrap_err()).contains("does not answer"));

    let p = move_leader::plan(&three(), "etcd-3").unwrap();
    assert_eq!(
        keys(&p),
        ["gate:start", "move-leader:3", "verify-leader:3", "gate:end"]
    );
    assert_eq!(
        p.steps[1].via.as_deref(),
        Some("https://127.0.0.1:2379"),
        "sent to the leader"
    );
    assert_eq!(p.confirm.as_deref(), Some("etcd-3"));
}

// --- compaction ------------------------------------------------------------------------------

fn compact_facts() -> compact::Facts {
    compact::Facts {
        current: 5000,
        compacted: Some(1000),
        seen: vec![(1000, 1000), (4600, 3000), (8200, 5000)],
        keys: vec![
            ("/pg/pg-meta/leader".into(), 10, 300),
            ("/pg/pg-meta/initialize".into(), 11, 1),
            ("/pg/pg-test/members/pg-test-1".into(), 4000, 12),
        ],
        namespace: "/pg".into(),
        now: 8200,
    }
}

#[test]
fn compaction_previews_what_it_drops_and_refuses_what_makes_no_sense() {
    let s = three();
    let f = compact_facts();
    let p = compact::plan(&s, &f, compact::Target::Revision(3000), &common()).unwrap();
    assert_eq!(
        keys(&p),
        ["snapshot", "gate:start", "compact:3000", "gate:end"]
    );
    let facts = p.facts.join("\n");
    assert!(
        facts.contains("current revision 5000, last compacted 1000"),
        "{facts}"
    );
    assert!(
        facts.contains("2000 revision(s) of history dropped"),
        "{facts}"
    );
    assert!(facts.contains("they cover about 1h"), "{facts}");
    // The leader key has history before 3000; initialize has one version; the member key was
    // created after 3000.
    assert!(
        facts.contains("1 key(s) under /pg lose history: /pg/pg-meta/leader"),
        "{facts}"
    );
    assert!(facts.contains("only after a defragmentation"), "{facts}");
    assert!(facts.contains("auto-compaction-retention 24h"), "{facts}");
    assert_eq!(p.steps[2].via.as_deref(), Some("https://127.0.0.1:2379"));
    assert_eq!(p.confirm.as_deref(), Some("etcd"));

    // --keep 1h: the revision seen an hour ago (8200 - 3600 = 4600: revision 3000).
    let p = compact::plan(
        &s,
        &f,
        compact::Target::Keep(Duration::from_secs(3600)),
        &common(),
    )
    .unwrap();
    assert!(keys(&p).contains(&"compact:3000"));
    // Further back than anything recorded: refused, pointing at --revision.
    let r = compact::plan(
        &s,
        &f,
        compact::Target::Keep(Duration::from_secs(86400)),
        &common(),
    )
    .unwrap_err();
    assert!(whys(&r).contains("--revision"), "{}", whys(&r));

    for (rev, says) in [
        (6000, "in the future"),
        (900, "already compacted up to revision 1000"),
        (1000, "already compacted"),
        (0, "not a revision"),
    ] {
        let r = compact::plan(&s, &f, compact::Target::Revision(rev), &common()).unwrap_err();
        assert!(whys(&r).contains(says), "{rev}: {}", whys(&r));
    }
    let mut d = three();
    down(&mut d, 3);
    assert!(compact::plan(&d, &f, compact::Target::Revision(3000), &common()).is_err());
    // Never compacted: said so.
    let mut f0 = compact_facts();
    f0.compacted = Some(0);
    let p = compact::plan(&s, &f0, compact::Target::Revision(3000), &common()).unwrap();
    assert!(
        p.facts[0].contains("last compacted never"),
        "{}",
        p.facts[0]
    );
    // Without /metrics the last compaction is unknown, and said so.
    let mut f2 = compact_facts();
    f2.compacted = None;
    let p = compact::plan(&s, &f2, compact::Target::Revision(3000), &common()).unwrap();
    assert!(p.facts[0].contains("unknown"));
}

// --- alarms ----------------------------------------------------------------------------------

#[test]
fn recovery_compacts_defragments_every_member_leader_last_then_disarms_and_writes() {
    let mut s = three();
    for m in &mut s.members {
        m.db_size = 16 << 20;
    }
    s.members[1].db_size = 15 << 20;
    nospace(&mut s, 1);
    nospace(&mut s, 2);
    let f = alarm::Facts {
        current: 777,
        quota: 16 << 20,
        prefixes: vec![("/fill/".into(), 15 << 20, 900)],
    };
    let p = alarm::recover_plan(&s, &f, Duration::from_secs(1), &common()).unwrap();
    assert_eq!(
        keys(&p),
        [
            "snapshot",
            "gate:start",
            "compact:777",
            "gate:compacted",
            "defrag:2",
            "settle:2",
            "gate:after:2",
            "defrag:3",
            "settle:3",
            "gate:after:3",
            "defrag:1",
            "gate:after:1",
            "below-quota",
            "disarm:1",
            "disarm:2",
            "verify-write",
            "gate:end",
        ]
    );
    // Gates inside tolerate NOSPACE; the last one does not.
    let tol = |k: &str| match p.steps.iter().find(|s| s.key == k).unwrap().kind {
        StepKind::Gate {
            tolerate_nospace, ..
        } => tolerate_nospace,
        _ => unreachable!(),
    };
    assert!(tol("gate:start") && tol("gate:after:1") && !tol("gate:end"));
    let facts = p.facts.join("\n");
    assert!(facts.contains("no failover or switchover"), "{facts}");
    assert!(facts.contains("/fill/"), "{facts}");

    // No NOSPACE: nothing to recover.
    let r = alarm::recover_plan(&three(), &f, Duration::from_secs(1), &common()).unwrap_err();
    assert!(whys(&r).contains("no NOSPACE alarm"));
    // A voter down: refused like every maintenance.
    let mut d = s.clone();
    down(&mut d, 3);
    assert!(alarm::recover_plan(&d, &f, Duration::from_secs(1), &common()).is_err());
    // CORRUPT is never disarmed.
    let mut c = s.clone();
    c.alarms.push(Alarm {
        member_id: 3,
        member: "etcd-3".into(),
        alarm: "CORRUPT".into(),
    });
    let r = alarm::recover_plan(&c, &f, Duration::from_secs(1), &common()).unwrap_err();
    assert!(whys(&r).contains("CORRUPT"));
}

#[test]
fn disarm_waits_until_every_member_is_below_ninety_percent_of_the_quota() {
    let mut s = three();
    nospace(&mut s, 1);
    let quota = 32i64 << 20;
    // etcd-1 holds 30 MiB of a 32 MiB quota: 93%.
    let r = alarm::disarm_plan(&s, quota, 5).unwrap_err();
    assert!(
        whys(&r).contains("etcd-1") && whys(&r).contains("alarm recover"),
        "{}",
        whys(&r)
    );
    s.members[0].db_size = 28 << 20; // 87%
    let p = alarm::disarm_plan(&s, quota, 5).unwrap();
    assert_eq!(
        keys(&p),
        ["below-quota", "disarm:1", "verify-write", "gate:end"]
    );
    let StepKind::VerifyWrite { key } = &p.steps[2].kind else {
        panic!()
    };
    assert!(
        key.starts_with("/etcdeck/scratch/"),
        "never under Patroni's namespace"
    );
    assert!(whys(&alarm::disarm_plan(&three(), quota, 5).unwrap_err()).contains("no NOSPACE"));
}

#[test]
fn the_cluster_name_comes_from_the_inventory_else_the_member_names() {
    let s = three();
    assert_eq!(cluster_name(&s, Some("etcd-prod")), "etcd-prod");
    assert_eq!(cluster_name(&s, None), "etcd");
    let mut odd = three();
    odd.members[1].name = "other-2".into();
    assert_eq!(cluster_name(&odd, None), "c1");
}

#[test]
fn a_snapshot_plan_asks_a_follower_and_nothing_to_confirm() {
    let s = three();
    let p = snapshot::plan(&s, Path::new("/tmp/x.db")).unwrap();
    assert_eq!(p.confirm, None);
    assert_eq!(p.steps[0].member.as_deref(), Some("etcd-2"));
    // Only the leader answers: the leader it is.
    let mut d = three();
    down(&mut d, 2);
    down(&mut d, 3);
    let p = snapshot::plan(&d, Path::new("/tmp/x.db")).unwrap();
    assert_eq!(p.steps[0].member.as_deref(), Some("etcd-1"));
    down(&mut d, 1);
    assert!(snapshot::plan(&d, Path::new("/tmp/x.db")).is_err());
}

#[test]
fn keys_count_toward_their_second_level_prefix() {
    assert_eq!(alarm::prefix_of(b"/pg/pg-meta/leader"), b"/pg/pg-meta/");
    assert_eq!(
        alarm::prefix_of(b"/pg/pg-meta/members/pg-meta-1"),
        b"/pg/pg-meta/"
    );
    assert_eq!(alarm::prefix_of(b"/fill/0001"), b"/fill/");
    assert_eq!(alarm::prefix_of(b"/top"), b"/");
    assert_eq!(alarm::prefix_of(b"plain"), b"plain");
    let mut m = std::collections::HashMap::new();
    m.insert(b"/a/".to_vec(), (10, 1));
    m.insert(b"/b/".to_vec(), (30, 2));
    let l = alarm::largest(m);
    assert_eq!(l[0], ("/b/".to_string(), 30, 2));
    // Unknown quota: disarm refuses rather than guessing.
    let mut s = three();
    nospace(&mut s, 1);
    assert!(whys(&alarm::disarm_plan(&s, 0, 5).unwrap_err()).contains("--quota"));
}
