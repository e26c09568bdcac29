use super::*;

/// A member as a rule sees it.
#[derive(Debug, Clone, Copy)]
struct M {
    id: u64,
    learner: bool,
    started: bool,
    answers: bool,
    term: u64,
    sees: u64,
}

impl MemberFacts for M {
    fn id(&self) -> u64 {
        self.id
    }
    fn is_learner(&self) -> bool {
        self.learner
    }
    fn started(&self) -> bool {
        self.started
    }
    fn answers(&self) -> bool {
        self.answers
    }
    fn sees(&self) -> Option<(u64, u64)> {
        self.answers.then_some((self.term, self.sees))
    }
}

fn voter(id: u64, answers: bool, sees: u64) -> M {
    M {
        id,
        learner: false,
        started: true,
        answers,
        term: 2,
        sees,
    }
}

#[test]
fn three_voters_tolerate_one_failure_and_a_learner_counts_for_nothing() {
    let mut ms = vec![voter(1, true, 1), voter(2, true, 1), voter(3, true, 1)];
    let q = Quorum::count(&ms);
    assert_eq!((q.voters, q.started, q.up, q.needed), (3, 3, 3, 2));
    assert_eq!(q.tolerates_now(), 1);
    assert_eq!(q.tolerates_at_best(), 1);
    ms.push(M {
        learner: true,
        ..voter(4, true, 1)
    });
    assert_eq!(Quorum::count(&ms), q, "a learner changes no count");
    ms[2].answers = false;
    let q = Quorum::count(&ms);
    assert_eq!((q.up, q.tolerates_now()), (2, 0));
    assert!(q.holds());
    ms[1].answers = false;
    assert!(!Quorum::count(&ms).holds());
}

#[test]
fn quorum_after_a_proposed_change() {
    let ms = [voter(1, true, 1), voter(2, true, 1), voter(3, false, 0)];
    let q = Quorum::count(&ms);
    // A fourth voter, added but not started: four voters need three, two answer.
    let add = q.after_add(false);
    assert_eq!((add.voters, add.up, add.needed), (4, 2, 3));
    assert!(
        !add.holds(),
        "adding a voter with one member down loses quorum"
    );
    // As a learner nothing changes.
    assert_eq!(q.after_add(true), q);
    // Removing the dead member: two voters, both up, need two: no failure tolerated.
    let rm_dead = q.after_remove(false, true, false);
    assert_eq!((rm_dead.voters, rm_dead.up, rm_dead.needed), (2, 2, 2));
    assert_eq!(rm_dead.tolerates_now(), 0);
    // Removing a live one leaves one of two up: quorum lost.
    assert!(!q.after_remove(false, true, true).holds());
    // Promoting a learner into a 2/3-up cluster: four voters, three up, need three.
    let p = q.after_promote();
    assert_eq!((p.voters, p.up, p.needed), (4, 3, 3));
    assert!(p.holds());
    assert_eq!(quorum_of(5), 3);
    assert_eq!(quorum_of(0), 1);
}

#[test]
fn the_leader_is_the_one_seen_in_the_highest_term_and_must_answer() {
    let mut ms = vec![voter(1, true, 1), voter(2, true, 1), voter(3, true, 3)];
    ms[2].term = 3;
    assert_eq!(derive_leader(&ms), Some(3));
    assert_eq!(role_of(&ms[2], Some(3)), Role::Leader);
    assert_eq!(role_of(&ms[0], Some(3)), Role::Follower);
    ms[2].answers = false;
    // Only answering members are believed: 1 and 2 still name 1.
    assert_eq!(derive_leader(&ms), Some(1));
    assert!(leader_answers(&ms, Some(1)));
    assert!(!leader_answers(&ms, Some(3)));
    assert!(!leader_answers(&ms, None));
    let none = [voter(1, true, 0), voter(2, true, 0)];
    assert_eq!(derive_leader(&none), None);
    let learner = M {
        learner: true,
        ..voter(9, true, 1)
    };
    assert_eq!(role_of(&learner, Some(9)), Role::Learner);
    assert!(!Role::Learner.votes());
}

#[test]
fn verdicts_follow_availability_and_trouble() {
    let ok = Quorum::count(&[voter(1, true, 1), voter(2, true, 1), voter(3, true, 1)]);
    assert_eq!(Availability::of(&ok, true), Availability::Available);
    assert_eq!(Availability::of(&ok, false), Availability::NoLeader);
    let lost = Quorum::count(&[voter(1, true, 1), voter(2, false, 0), voter(3, false, 0)]);
    assert_eq!(Availability::of(&lost, true), Availability::QuorumLost);
    assert_eq!(
        Verdict::judge(Availability::Available, false),
        Verdict::Healthy
    );
    assert_eq!(
        Verdict::judge(Availability::Available, true),
        Verdict::Degraded
    );
    assert_eq!(
        Verdict::judge(Availability::NoLeader, false),
        Verdict::Unavailable
    );
    let codes: Vec<u8> = [
        Verdict::Healthy,
        Verdict::Degraded,
        Verdict::Unavailable,
        Verdict::Unknown,
    ]
    .iter()
    .map(|v| v.exit_code())
    .collect();
    assert_eq!(codes, [0, 1, 2, 3]);
    let empty: [M; 0] = [];
    assert!(!Quorum::count(&empty).holds(), "no voters is no quorum");
}

#[test]
fn alarms_read_from_status_errors() {
    assert_eq!(
        parse_alarm("memberID:10276657743932975437 alarm:NOSPACE "),
        Some(Alarm {
            member_id: 10276657743932975437,
            kind: "NOSPACE".into()
        })
    );
    assert_eq!(parse_alarm("etcdserver: no leader"), None);
    assert_eq!(alarm_name(AlarmType::Corrupt), "CORRUPT");
}

#[test]
fn names_sort_naturally() {
    let mut v = vec!["etcd-10", "etcd-2", "etcd-1"];
    v.sort_by_key(|n| natural_key(n));
    assert_eq!(v, ["etcd-1", "etcd-2", "etcd-10"]);
}
