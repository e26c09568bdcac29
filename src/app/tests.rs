//! Store transitions through `update()`, with no network: messages in, state and commands out.

use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::msg::{Cmd, Failure, Level, Msg, ProbeTarget};
use super::store::{Match, Overlay, PaneId, Reach, Store};
use super::testing::*;
use super::update::update;
use crate::etcd::model::Role;
use crate::etcd::EtcdError;

const ETCD1: u64 = 3769862349302480595;
const ETCD2: u64 = 5465881226148149375;
const ETCD3: u64 = 9906793529771944919;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn key(s: &mut Store, code: KeyCode) -> Vec<Cmd> {
    update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// A store that has read the member list at `t0` and nothing else yet.
fn listed_store(t0: Instant) -> Store {
    let mut s = empty_store(t0);
    update(
        &mut s,
        Msg::MemberList {
            at: t0,
            result: Ok(member_list(LIST)),
        },
    );
    s
}

fn probe_fail(s: &mut Store, id: u64, at: Instant, short: &str) {
    let url = s.member(id).unwrap().client_urls[0].clone();
    update(
        s,
        Msg::Probe {
            at,
            id,
            result: Err(failure(short, &url)),
            url,
        },
    );
}

fn probe_ok(s: &mut Store, id: u64, at: Instant, leader: u64, term: u64) {
    let (_, url, mut p) = statuses(STATUS)
        .into_iter()
        .find(|(i, _, _)| *i == id)
        .unwrap();
    p.leader = leader;
    p.raft_term = term;
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

fn flash_text(s: &Store) -> String {
    s.ui.flash
        .as_ref()
        .map(|f| f.text.clone())
        .unwrap_or_default()
}

#[test]
fn first_member_list_fills_members_and_starts_one_probe_each() {
    let t0 = Instant::now();
    let mut s = empty_store(t0);
    assert_eq!(s.health().words, "connecting…");
    let cmds = update(
        &mut s,
        Msg::MemberList {
            at: t0,
            result: Ok(member_list(LIST)),
        },
    );
    let names: Vec<&str> = s.cluster.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["etcd-1", "etcd-2", "etcd-3"]);
    assert_eq!(
        cmds,
        vec![
            Cmd::Probe(vec![
                ProbeTarget {
                    id: ETCD1,
                    url: "https://127.10.10.10:2379".into()
                },
                ProbeTarget {
                    id: ETCD2,
                    url: "https://127.10.10.11:2379".into()
                },
                ProbeTarget {
                    id: ETCD3,
                    url: "https://127.10.10.12:2379".into()
                },
            ]),
            // The revisions recorded in earlier runs, for the compaction wizard (off the loop).
            Cmd::LoadRevisions {
                cluster_id: 0x870b2c801cd668fb
            },
        ]
    );
    assert_eq!(s.health().words, "asking members…");
    assert!(s.ui.flash.is_none(), "the first list is not news");

    // The same list again asks for nothing and changes nothing on screen.
    s.dirty = false;
    let again = update(
        &mut s,
        Msg::MemberList {
            at: t0 + secs(1),
            result: Ok(member_list(LIST)),
        },
    );
    assert!(again.is_empty());
    assert!(!s.dirty);
}

#[test]
fn statuses_give_roles_leader_quorum_and_health() {
    let s = store_from(LIST, STATUS, Instant::now());
    assert_eq!(s.cluster.leader, Some(ETCD1));
    let roles: Vec<&str> = s
        .cluster
        .members
        .iter()
        .map(|m| s.role(m).as_str())
        .collect();
    assert_eq!(roles, ["leader", "follower", "follower"]);
    let q = s.quorum();
    assert_eq!((q.up, q.needed, q.voters), (3, 2, 3));
    assert_eq!(s.health().words, "healthy");
    assert_eq!(s.health().level, Level::Info);
    assert!(s
        .cluster
        .members
        .iter()
        .all(|m| s.trails_leader(m) == Some(0)));
}

#[test]
fn a_new_learner_appears_unstarted_outside_quorum_and_unprobed() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    let cmds = update(
        &mut s,
        Msg::MemberList {
            at: t0 + secs(2),
            result: Ok(member_list(LIST_LEARNER)),
        },
    );
    assert!(
        cmds.is_empty(),
        "an unstarted member has no URL to probe: {cmds:?}"
    );
    let learner = s.cluster.members.last().unwrap();
    assert_eq!(learner.name, "", "unstarted members have no name yet");
    assert_eq!(learner.reach, Reach::Unstarted);
    assert_eq!(s.role(learner), Role::Learner);
    assert_eq!(
        flash_text(&s),
        format!("learner {:x} was added", learner.id)
    );
    let q = s.quorum();
    assert_eq!(
        (q.up, q.needed, q.voters),
        (3, 2, 3),
        "learners do not count"
    );
    assert_eq!(s.health().words, "healthy, 1 member(s) unstarted");
}

#[test]
fn promotion_and_removal_are_announced() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    let mut list = member_list(LIST_LEARNER);
    update(
        &mut s,
        Msg::MemberList {
            at: t0 + secs(1),
            result: Ok(list.clone()),
        },
    );
    let learner = list.members[3].id;
    list.members[3].is_learner = false;
    list.members[3].name = "etcd-4".into();
    list.members[3].client_urls = vec!["https://127.10.10.13:2379".into()];
    let cmds = update(
        &mut s,
        Msg::MemberList {
            at: t0 + secs(2),
            result: Ok(list.clone()),
        },
    );
    assert!(
        matches!(&cmds[..], [Cmd::Probe(t)] if t.len() == 4),
        "the started member is probed: {cmds:?}"
    );
    assert_eq!(s.role(s.member(learner).unwrap()), Role::Follower);
    assert_eq!(s.quorum().voters, 4);
    assert_eq!(s.quorum().needed, 3);

    list.members.remove(3);
    update(
        &mut s,
        Msg::MemberList {
            at: t0 + secs(3),
            result: Ok(list),
        },
    );
    assert!(s.member(learner).is_none());
    assert_eq!(flash_text(&s), "member etcd-4 was removed");
}

#[test]
fn leader_change_is_followed_and_flashed() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    for id in [ETCD1, ETCD2, ETCD3] {
        probe_ok(&mut s, id, t0 + secs(1), ETCD2, 7);
    }
    assert_eq!(s.cluster.leader, Some(ETCD2));
    assert_eq!(s.role(s.member(ETCD2).unwrap()), Role::Leader);
    assert_eq!(s.role(s.member(ETCD1).unwrap()), Role::Follower);
    assert_eq!(flash_text(&s), "leader changed: etcd-1 -> etcd-2");
    assert_eq!(s.ui.flash.as_ref().unwrap().level, Level::Warn);
}

#[test]
fn the_member_list_is_read_at_once_when_a_status_shows_a_change() {
    let t0 = Instant::now();
    let mut s = listed_store(t0);
    // The first answers are not a change.
    let (_, url, p) = statuses(STATUS).remove(0);
    let first = update(
        &mut s,
        Msg::Probe {
            at: t0,
            id: ETCD1,
            url,
            result: Ok(p),
        },
    );
    assert!(first.is_empty(), "{first:?}");
    // A new leader is.
    let (_, url, mut p) = statuses(STATUS).remove(1);
    p.leader = ETCD2;
    p.raft_term = 9;
    let cmds = update(
        &mut s,
        Msg::Probe {
            at: t0 + secs(1),
            id: ETCD2,
            url,
            result: Ok(p),
        },
    );
    assert_eq!(cmds, vec![Cmd::ListNow]);

    // So is a learner whose own Status says it is a voter now.
    let mut s = store_from(LIST, STATUS, t0);
    let mut list = member_list(LIST);
    list.members[2].is_learner = true;
    update(
        &mut s,
        Msg::MemberList {
            at: t0 + secs(1),
            result: Ok(list),
        },
    );
    assert_eq!(s.role(s.member(ETCD3).unwrap()), Role::Learner);
    let (_, url, p) = statuses(STATUS).remove(2);
    let cmds = update(
        &mut s,
        Msg::Probe {
            at: t0 + secs(2),
            id: ETCD3,
            url,
            result: Ok(p),
        },
    );
    assert_eq!(cmds, vec![Cmd::ListNow]);
}

#[test]
fn the_highest_term_wins_while_members_disagree() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    // etcd-3 has already seen the election in term 7; etcd-1 still names itself in term 6.
    probe_ok(&mut s, ETCD3, t0 + secs(1), ETCD3, 7);
    assert_eq!(s.cluster.leader, Some(ETCD3));
}

#[test]
fn unreachable_member_degrades_health_and_comes_back() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    probe_fail(&mut s, ETCD3, t0 + secs(2), "refused");
    let m = s.member(ETCD3).unwrap();
    assert!(matches!(&m.reach, Reach::Down { why, .. } if why.short() == "refused"));
    assert_eq!(s.health().words, "degraded: etcd-3 unreachable");
    assert_eq!(s.health().level, Level::Warn);
    assert_eq!(s.quorum().up, 2);
    assert_eq!(flash_text(&s), "etcd-3 unreachable: refused");
    assert!(
        m.status.is_some(),
        "the last Status is kept while it is down"
    );

    // A second failure keeps the first time it went down.
    probe_fail(&mut s, ETCD3, t0 + secs(5), "timeout");
    assert_eq!(s.member(ETCD3).unwrap().down_since(), Some(t0 + secs(2)));

    probe_ok(&mut s, ETCD3, t0 + secs(9), ETCD1, 6);
    let m = s.member(ETCD3).unwrap();
    assert_eq!(m.reach, Reach::Up);
    assert_eq!(m.last_error.as_ref().unwrap().1.short(), "timeout");
    assert_eq!(s.health().words, "healthy");
    assert_eq!(flash_text(&s), "etcd-3 answers again after 7s");
}

/// The console's seconds turn with the wall clock's: read at 100.9 s, 0.2 s later is second 101
/// (the audit log's times, taken from the wall clock, then merge in the order things happened).
#[test]
fn console_seconds_turn_with_the_wall_clock() {
    let t0 = Instant::now() + secs(5);
    let mut s = empty_store(t0);
    s.clock = super::store::wall_clock(t0, Duration::from_millis(100_900));
    assert_eq!(s.unix_secs(t0), 100);
    assert_eq!(s.unix_secs(t0 + Duration::from_millis(99)), 100);
    assert_eq!(s.unix_secs(t0 + Duration::from_millis(200)), 101);
    assert_eq!(s.unix_secs(t0 + Duration::from_millis(1_100)), 102);
}

/// A member already down when the console starts: its first failed probe is told, so the
/// timeline's story begins with it; a second failure is not told again.
#[test]
fn a_member_down_from_the_start_is_told_once() {
    let t0 = Instant::now();
    let mut s = listed_store(t0);
    probe_ok(&mut s, ETCD1, t0 + secs(1), ETCD1, 6);
    probe_fail(&mut s, ETCD3, t0 + secs(1), "refused");
    probe_fail(&mut s, ETCD3, t0 + secs(2), "refused");
    let told: Vec<&str> = s
        .timeline
        .events
        .iter()
        .map(|e| e.text.as_str())
        .filter(|t| t.contains("unreachable"))
        .collect();
    assert_eq!(told, ["etcd-3 unreachable: refused"]);
}

#[test]
fn a_stalled_member_is_unreachable_before_its_call_times_out() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    update(
        &mut s,
        Msg::Stalled {
            at: t0 + Duration::from_millis(1800),
            id: ETCD2,
            url: "https://127.10.10.11:2379".into(),
            waited: Duration::from_millis(800),
        },
    );
    assert_eq!(
        s.member(ETCD2).unwrap().reach,
        Reach::Stalled {
            since: t0 + secs(1)
        }
    );
    assert_eq!(s.health().words, "degraded: etcd-2 unreachable");
    assert_eq!(flash_text(&s), "etcd-2 not answering: no reply for 800ms");

    // The call's own timeout then keeps it unreachable, since the stall began, without a second
    // flash.
    s.ui.flash = None;
    probe_fail(&mut s, ETCD2, t0 + secs(3), "timeout");
    assert_eq!(s.member(ETCD2).unwrap().down_since(), Some(t0 + secs(1)));
    assert!(s.ui.flash.is_none());
}

#[test]
fn losing_two_of_three_voters_is_quorum_lost() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    probe_fail(&mut s, ETCD2, t0 + secs(1), "timeout");
    probe_fail(&mut s, ETCD3, t0 + secs(1), "refused");
    assert_eq!(s.health().words, "QUORUM LOST: 1 of 3 voters answer");
    assert_eq!(s.health().level, Level::Error);
}

#[test]
fn no_member_seeing_a_leader_is_no_leader() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    for id in [ETCD1, ETCD2, ETCD3] {
        probe_ok(&mut s, id, t0 + secs(1), 0, 7);
    }
    assert_eq!(s.cluster.leader, None);
    assert_eq!(s.health().words, "NO LEADER");
    // etcd-1 still answers: it stepped down, it is not gone.
    assert_eq!(
        flash_text(&s),
        "no leader: etcd-1 stepped down and no member sees a new one"
    );
    // The next leader elected is news.
    for id in [ETCD1, ETCD2, ETCD3] {
        probe_ok(&mut s, id, t0 + secs(3), ETCD3, 8);
    }
    assert_eq!(
        flash_text(&s),
        "leader elected: etcd-3 after 2s without one"
    );
}

#[test]
fn nospace_alarm_from_status_errors() {
    let s = store_from(LIST_NOSPACE, STATUS_NOSPACE, Instant::now());
    let alarms = s.alarms();
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0].kind, "NOSPACE");
    assert_eq!(alarms[0].member_id, s.cluster.members[0].id);
    assert_eq!(s.health().words, "NOSPACE alarm");
    assert_eq!(s.health().level, Level::Error);
}

#[test]
fn member_list_failure_before_any_answer_says_unreachable() {
    let t0 = Instant::now();
    let mut s = empty_store(t0);
    update(
        &mut s,
        Msg::MemberList {
            at: t0,
            result: Err(Failure::from(EtcdError::NoneAnswered(vec![
                EtcdError::Refused {
                    endpoint: "https://127.10.10.10:2379".into()
                };
                3
            ]))),
        },
    );
    assert_eq!(
        s.health().words,
        "UNREACHABLE: no endpoint answers (refused)"
    );
}

#[test]
fn inventory_matches_live_members() {
    let s = store_from(LIST, STATUS, Instant::now());
    let rows = s.inventory_rows();
    let words: Vec<String> = rows.iter().map(|r| r.matched.words()).collect();
    assert_eq!(words, ["ok", "ok", "ok"]);

    // The unstarted learner at 127.10.10.13 is not in the 3-host inventory.
    let t0 = Instant::now();
    let mut s = store_from(LIST_LEARNER, STATUS_LEARNER, t0);
    let rows = s.inventory_rows();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[3].matched, Match::NotInInventory);

    // With a 4th host for it, it is matched by peer URL and shown as unstarted.
    let text = format!(
        "{}\n",
        crate::inventory::EXAMPLE.replace(
            "    10.10.10.12: { etcd_seq: 3 }",
            "    10.10.10.12: { etcd_seq: 3 }\n    10.10.10.13: { etcd_seq: 4 }"
        )
    );
    let inv = crate::inventory::parse(&text, "four.yml", &[]).unwrap();
    s.inventory.address_map.push((
        "10.10.10.13".parse().unwrap(),
        "127.10.10.13".parse().unwrap(),
    ));
    s.inventory.loaded = Some(inv);
    let words: Vec<String> = s
        .inventory_rows()
        .iter()
        .map(|r| r.matched.words())
        .collect();
    assert_eq!(words, ["ok", "ok", "ok", "unstarted"]);

    // A host that is not a member.
    let mut s = store_from(LIST, STATUS, t0);
    let text = crate::inventory::EXAMPLE.replace(
        "    10.10.10.12: { etcd_seq: 3 }",
        "    10.10.10.12: { etcd_seq: 3 }\n    10.10.10.14: { etcd_seq: 5 }",
    );
    s.inventory.loaded = Some(crate::inventory::parse(&text, "five.yml", &[]).unwrap());
    let rows = s.inventory_rows();
    assert_eq!(rows[3].matched, Match::NotMember);
    assert_eq!(rows[3].matched.words(), "in inventory, not a member");
}

#[test]
fn keys_switch_panes_filter_help_refresh_and_quit() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    key(&mut s, KeyCode::Tab);
    assert_eq!(s.ui.focus, PaneId::Inventory);
    key(&mut s, KeyCode::BackTab);
    assert_eq!(s.ui.focus, PaneId::Members);
    key(&mut s, KeyCode::Char('2'));
    assert_eq!(s.ui.focus, PaneId::Inventory);
    key(&mut s, KeyCode::Char('4'));
    assert_eq!(s.ui.focus, PaneId::Timeline);
    key(&mut s, KeyCode::Char('2'));
    key(&mut s, KeyCode::Char('1'));

    key(&mut s, KeyCode::Char('j'));
    key(&mut s, KeyCode::Char('j'));
    key(&mut s, KeyCode::Char('j'));
    assert_eq!(s.ui.members.selected, 2, "the cursor stops at the last row");
    key(&mut s, KeyCode::Char('g'));
    assert_eq!(s.ui.members.selected, 0);

    key(&mut s, KeyCode::Char('/'));
    assert!(s.ui.filtering);
    for c in "etcd-3".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Enter);
    assert!(!s.ui.filtering);
    assert_eq!(s.ui.members.filter, "etcd-3");
    let visible: Vec<&str> = s
        .visible_members()
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(visible, ["etcd-3"]);
    assert_eq!(s.selected_member().unwrap().name, "etcd-3");
    // `q` while typing a filter is text, not quit.
    key(&mut s, KeyCode::Char('/'));
    key(&mut s, KeyCode::Char('q'));
    assert!(!s.quit);
    assert_eq!(s.ui.members.filter, "etcd-3q");
    key(&mut s, KeyCode::Esc);
    assert_eq!(s.ui.members.filter, "");
    assert_eq!(s.visible_members().len(), 3);

    // A digit finds the member by name, not every member whose port or address holds it; an
    // address finds it by address.
    let shown = |s: &mut Store, filter: &str| -> Vec<String> {
        s.ui.members.filter = filter.into();
        s.visible_members().iter().map(|m| m.name.clone()).collect()
    };
    assert_eq!(shown(&mut s, "2"), ["etcd-2"]);
    assert_eq!(shown(&mut s, "10.12"), ["etcd-3"]);
    assert_eq!(shown(&mut s, "leader"), ["etcd-1"]);
    assert_eq!(shown(&mut s, "4bdab6"), ["etcd-2"]);
    s.ui.members.filter.clear();

    key(&mut s, KeyCode::Char('?'));
    assert_eq!(s.ui.overlay, Some(Overlay::Help { scroll: 0 }));
    key(&mut s, KeyCode::Char('j'));
    assert_eq!(s.ui.overlay, Some(Overlay::Help { scroll: 1 }));
    assert_eq!(s.ui.members.selected, 0, "help takes the keys while open");
    key(&mut s, KeyCode::Esc);
    assert_eq!(s.ui.overlay, None);

    assert_eq!(key(&mut s, KeyCode::Char('r')), vec![Cmd::RefreshNow]);
    assert_eq!(key(&mut s, KeyCode::Char('q')), vec![Cmd::Quit]);
    assert!(s.quit);
}

#[test]
fn ctrl_c_quits_even_while_typing_a_filter() {
    let mut s = store_from(LIST, STATUS, Instant::now());
    key(&mut s, KeyCode::Char('/'));
    let cmds = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert_eq!(cmds, vec![Cmd::Quit]);
    assert!(s.quit);
}

#[test]
fn flashes_clear_themselves() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    update(&mut s, Msg::Flash(Level::Error, "boom".into()));
    assert_eq!(flash_text(&s), "boom");
    update(&mut s, Msg::Tick(t0 + secs(3)));
    assert_eq!(flash_text(&s), "boom");
    update(&mut s, Msg::Tick(t0 + secs(7)));
    assert!(s.ui.flash.is_none());
}

#[test]
fn answers_for_members_no_longer_listed_are_ignored() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    let before = s.cluster.members.clone();
    update(
        &mut s,
        Msg::Probe {
            at: t0 + secs(1),
            id: 42,
            url: "https://127.0.0.9:2379".into(),
            result: Err(failure("refused", "https://127.10.10.10:2379")),
        },
    );
    assert_eq!(s.cluster.members, before);
}

#[test]
fn control_characters_in_member_names_never_reach_the_flash_line_raw() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    let mut list = member_list(LIST);
    list.members.push(super::msg::ListedMember {
        id: 7,
        name: "evil\u{1b}[2J".into(),
        peer_urls: vec!["https://127.9.9.9:2380".into()],
        client_urls: vec![],
        is_learner: true,
    });
    update(
        &mut s,
        Msg::MemberList {
            at: t0 + secs(1),
            result: Ok(list),
        },
    );
    assert_eq!(flash_text(&s), "learner evil\\e[2J was added");
}

fn keys_focused(t0: Instant) -> Store {
    let mut s = store_from(LIST, STATUS, t0);
    key(&mut s, KeyCode::Char('3'));
    s
}

fn select_key(s: &mut Store, path: &str) {
    s.keys.view.selected = s
        .keys
        .rows
        .iter()
        .position(|r| *r.path == *path.as_bytes())
        .unwrap();
}

#[test]
fn the_key_pane_opens_on_the_tree_and_asks_for_the_leader_lease() {
    let t0 = Instant::now();
    let mut s = keys_focused(t0);
    assert_eq!(s.ui.focus, PaneId::Keys);
    assert_eq!(s.keys.map.len(), 10);
    assert_eq!(&*s.keys.rows[0].path, b"/pg/pg-meta/");
    // On the cluster directory, moving asks for its leader key's lease at the watched member.
    key(&mut s, KeyCode::Char('g'));
    let cmds = key(&mut s, KeyCode::Char('g'));
    assert_eq!(
        cmds,
        vec![Cmd::LeaseTtl {
            lease: 7390022223170494994,
            url: "https://127.10.10.10:2379".into()
        }]
    );
    // The tick asks again only when the answer is older than 2 s.
    let leases = |cmds: Vec<Cmd>| {
        cmds.into_iter()
            .filter(|c| matches!(c, Cmd::LeaseTtl { .. }))
            .count()
    };
    assert_eq!(
        leases(update(&mut s, Msg::Tick(t0 + Duration::from_millis(1500)))),
        0
    );
    assert_eq!(leases(update(&mut s, Msg::Tick(t0 + secs(3)))), 1);
}

#[test]
fn collapse_expand_and_copy_from_the_key_pane() {
    let t0 = Instant::now();
    let mut s = keys_focused(t0);
    select_key(&mut s, "/pg/pg-meta/members/pg-meta-1");
    key(&mut s, KeyCode::Char('h'));
    assert_eq!(
        &*s.keys.selected_row().unwrap().path,
        b"/pg/pg-meta/members/"
    );
    key(&mut s, KeyCode::Char('h'));
    super::update::settle(&mut s);
    assert!(!s.keys.selected_row().unwrap().expanded);
    assert_eq!(s.keys.rows.len(), 10, "members/ folded away its two keys");
    key(&mut s, KeyCode::Enter);
    super::update::settle(&mut s);
    assert_eq!(s.keys.rows.len(), 12);

    select_key(&mut s, "/pg/pg-meta/leader");
    let cmds = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('Y'), KeyModifiers::SHIFT)),
    );
    assert_eq!(cmds, vec![Cmd::Clipboard(b"pg-meta-2".to_vec())]);
    assert_eq!(
        flash_text(&s),
        "copied the value of /pg/pg-meta/leader (9 bytes) to the clipboard"
    );
    let cmds = key(&mut s, KeyCode::Char('y'));
    assert_eq!(cmds, vec![Cmd::Clipboard(b"/pg/pg-meta/leader".to_vec())]);

    // Outside the key pane these keys do nothing.
    key(&mut s, KeyCode::Char('1'));
    assert!(key(&mut s, KeyCode::Char('y')).is_empty());
}

#[test]
fn a_value_too_large_for_the_terminal_clipboard_is_not_sent_and_the_pane_says_so() {
    let t0 = Instant::now();
    let mut s = keys_focused(t0);
    super::update::settle(&mut s);
    let path: &[u8] = b"/pg/pg-meta/leader";
    select_key(&mut s, "/pg/pg-meta/leader");
    s.keys.map.get_mut(path).unwrap().value = vec![b'x'; 1_500_000];
    let cmds = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('Y'), KeyModifiers::SHIFT)),
    );
    assert!(cmds.is_empty(), "{cmds:?}");
    assert_eq!(
        flash_text(&s),
        "value too large to copy: 1500000 bytes, the terminal clipboard takes up to 75000"
    );
    // At the limit it is sent: 100,000 bytes of base64.
    let max = super::update::CLIPBOARD_MAX;
    s.keys.map.get_mut(path).unwrap().value = vec![b'x'; max];
    let cmds = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('Y'), KeyModifiers::SHIFT)),
    );
    assert_eq!(cmds, vec![Cmd::Clipboard(vec![b'x'; max])]);
    assert_eq!(crate::text::base64(&vec![b'x'; max]).len(), 100_000);
}

#[test]
fn watch_loss_recovery_and_reload_are_told() {
    let t0 = Instant::now();
    let mut s = keys_focused(t0);
    update(
        &mut s,
        Msg::WatchState {
            at: t0 + secs(1),
            state: Err(Failure::during(
                "watch on https://127.10.10.10:2379",
                EtcdError::Refused {
                    endpoint: "https://127.10.10.10:2379".into(),
                },
            )),
        },
    );
    assert_eq!(
        flash_text(&s),
        "key watch lost: refused; trying the next member"
    );
    update(
        &mut s,
        Msg::WatchState {
            at: t0 + secs(2),
            state: Ok("https://127.10.10.11:2379".into()),
        },
    );
    assert_eq!(
        flash_text(&s),
        "key watch resumed on https://127.10.10.11:2379"
    );

    let (kvs, _) = patroni_kvs();
    update(
        &mut s,
        Msg::KeysPage {
            at: t0 + secs(3),
            revision: 80,
            kvs,
            first: true,
            complete: true,
            reason: "the watch fell behind a compaction at revision 70; read again".into(),
        },
    );
    assert!(flash_text(&s).starts_with(
        "keys read again (the watch fell behind a compaction at revision 70; read again): 10 keys"
    ));
    assert_eq!(s.keys.revision, 80);
}

#[test]
fn a_first_failure_before_the_watch_was_ever_live_is_not_news() {
    let t0 = Instant::now();
    let mut s = empty_store(t0);
    update(
        &mut s,
        Msg::WatchState {
            at: t0,
            state: Err(Failure::during(
                "watch on https://127.10.10.10:2379",
                EtcdError::Refused {
                    endpoint: "https://127.10.10.10:2379".into(),
                },
            )),
        },
    );
    update(
        &mut s,
        Msg::WatchState {
            at: t0,
            state: Ok("https://127.10.10.11:2379".into()),
        },
    );
    assert!(s.ui.flash.is_none());
    assert!(
        s.keys.last_loss.is_some(),
        "the loss is still shown in the pane"
    );
}

#[test]
fn the_key_filter_narrows_the_tree() {
    let t0 = Instant::now();
    let mut s = keys_focused(t0);
    key(&mut s, KeyCode::Char('/'));
    for c in "SYNC".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    super::update::settle(&mut s);
    let paths: Vec<String> = s
        .keys
        .rows
        .iter()
        .map(|r| String::from_utf8_lossy(&r.path).into_owned())
        .collect();
    assert_eq!(paths, ["/pg/pg-meta/", "/pg/pg-meta/sync"]);
    key(&mut s, KeyCode::Esc);
    super::update::settle(&mut s);
    assert_eq!(s.keys.rows.len(), 12);
}

#[test]
fn the_timeline_records_each_second_and_tells_what_happened() {
    use super::timeline::Cell;
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    s.clock = (t0, 1_800_000_000);
    let tick = |s: &mut Store, n: u64| {
        update(s, Msg::Tick(t0 + secs(n)));
    };
    tick(&mut s, 1);
    tick(&mut s, 2);
    probe_fail(&mut s, ETCD3, t0 + secs(3), "refused");
    tick(&mut s, 3);
    probe_fail(&mut s, ETCD2, t0 + secs(4), "timeout");
    tick(&mut s, 4);
    probe_ok(&mut s, ETCD2, t0 + secs(5), ETCD1, 6);
    probe_ok(&mut s, ETCD3, t0 + secs(5), ETCD1, 6);
    tick(&mut s, 5);
    let tl = &s.timeline;
    assert_eq!(tl.first, 1_800_000_001);
    let row = |id: u64| -> String { tl.members[&id].cells.iter().map(|c| c.letter()).collect() };
    assert_eq!(row(ETCD1), "uuuuu");
    assert_eq!(row(ETCD2), "uuuDu");
    assert_eq!(row(ETCD3), "uuDDu");
    let cluster: String = tl.cluster.iter().map(|c| c.letter()).collect();
    assert_eq!(cluster, "aaaXa", "two of three voters down: unavailable");
    let events: Vec<&str> = tl.events.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(
        events,
        [
            "etcd-3 unreachable: refused",
            "etcd-2 unreachable: timeout",
            "etcd-2 answers again after 1s",
            "etcd-3 answers again after 2s",
        ]
    );
    assert!(tl.events.iter().all(|e| e.at >= 1_800_000_003));
    assert_eq!(
        Cell::worst([Cell::Up, Cell::Down, Cell::Learner]),
        Cell::Down
    );
}

#[test]
fn a_patroni_failover_in_one_watch_message_is_told_step_by_step_and_in_the_rows() {
    use super::msg::{Kv, KvEvent};
    use super::timeline::{Cell, Tag};
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    s.clock = (t0, 1_800_000_000);
    for id in [ETCD1, ETCD2, ETCD3] {
        probe_ok(&mut s, id, t0, ETCD1, 6);
    }
    feed_patroni(&mut s, t0);
    assert!(
        s.timeline.events.iter().all(|e| e.tag != Tag::Patroni),
        "the first read is not news"
    );
    update(&mut s, Msg::Tick(t0 + secs(1)));
    let (kvs, revision) = patroni_kvs();
    let key = |rest: &str| format!("/pg/pg-meta/{rest}").into_bytes();
    let lease_of = |rest: &str| {
        kvs.iter()
            .find(|kv| kv.key == key(rest))
            .map_or(0, |kv| kv.lease)
    };
    let kv = |rest: &str, value: &str, lease: i64, rev: i64| Kv {
        key: key(rest),
        value: value.as_bytes().to_vec(),
        create_revision: rev,
        mod_revision: rev,
        version: 1,
        lease,
    };
    // The leader's lease expires (its two keys go in one revision), then the replica takes the
    // key: three revisions in one message, as a busy watch delivers them.
    let events = vec![
        KvEvent::Delete(kv("leader", "", 0, revision + 1)),
        KvEvent::Delete(kv("members/pg-meta-2", "", 0, revision + 1)),
        KvEvent::Put(kv(
            "leader",
            "pg-meta-1",
            lease_of("members/pg-meta-1"),
            revision + 2,
        )),
    ];
    update(
        &mut s,
        Msg::KeyEvents {
            at: t0 + secs(2),
            events,
        },
    );
    let pg: Vec<(Tag, &str)> = s
        .timeline
        .events
        .iter()
        .filter(|e| e.tag.source() == "pg")
        .map(|e| (e.tag, e.text.as_str()))
        .collect();
    assert_eq!(pg.len(), 3, "{pg:#?}");
    assert_eq!(pg[0].0, Tag::Patroni);
    assert!(
        pg[0].1.contains("the lease of pg-meta-2 expired"),
        "{pg:#?}"
    );
    assert!(
        pg[1].1.starts_with("pg-meta: member pg-meta-2 left"),
        "{pg:#?}"
    );
    assert_eq!(pg[2].0, Tag::PgFailover);
    assert!(
        pg[2]
            .1
            .starts_with("pg-meta: failover pg-meta-2 -> pg-meta-1 (nobody asked"),
        "{pg:#?}"
    );
    assert!(flash_text(&s).contains("failover pg-meta-2 -> pg-meta-1"));
    // The row: held at second 1, held again at 2 (by the new leader); lost the watch at 3.
    update(&mut s, Msg::Tick(t0 + secs(2)));
    update(
        &mut s,
        Msg::WatchState {
            at: t0 + secs(3),
            state: Err(Failure::during(
                "watch on https://127.10.10.10:2379",
                EtcdError::Refused {
                    endpoint: "https://127.10.10.10:2379".into(),
                },
            )),
        },
    );
    update(&mut s, Msg::Tick(t0 + secs(3)));
    let tl = &s.timeline;
    let row: Vec<Cell> = (tl.first..tl.end())
        .map(|sec| tl.pg["pg-meta"].runs.get(sec))
        .collect();
    assert_eq!(row, [Cell::LeaderKey, Cell::LeaderKey, Cell::Unknown]);
    // A second message repeating the last revision changes nothing.
    let before = s.timeline.events.len();
    update(
        &mut s,
        Msg::KeyEvents {
            at: t0 + secs(4),
            events: vec![KvEvent::Put(kv("leader", "pg-meta-1", 1, revision + 2))],
        },
    );
    assert_eq!(s.timeline.events.len(), before);
}

#[test]
fn operations_run_elsewhere_join_the_events_once_in_time_order() {
    use super::timeline::Tag;
    use crate::wizard::audit::{rfc3339, Entry};
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    s.clock = (t0, 1_800_000_000);
    let id = format!(
        "{:x}",
        s.cluster.id.expect("the member list names the cluster")
    );
    let entry = |op: &str, phase: &str, at: u64, cluster: &str| Entry {
        time: rfc3339(at),
        unix: at,
        os_user: "bob".into(),
        etcd_user: None,
        cluster_id: cluster.into(),
        operation: op.into(),
        phase: phase.into(),
        step: "defragment etcd-2".into(),
        target: Some("etcd-2".into()),
        outcome: (phase == "end").then(|| "ok".to_string()),
        duration_ms: (phase == "end").then_some(900),
    };
    s.ops_here.insert("defrag-here".into());
    let batch = vec![
        entry("defrag-cli", "begin", 1_800_000_010, &id),
        entry("defrag-cli", "end", 1_800_000_011, &id),
        entry("defrag-here", "end", 1_800_000_012, &id),
        entry("defrag-other", "end", 1_800_000_013, "123"),
        entry("snapshot-cli", "end", 1_799_000_000, &id),
        entry("snapshot-cli", "end", 1_800_000_005, &id),
    ];
    update(&mut s, Msg::Operations(batch.clone()));
    // The same lines again (a log replaced and read from its start): nothing new.
    update(&mut s, Msg::Operations(batch));
    let got: Vec<(u64, &str)> = s
        .operations
        .iter()
        .map(|e| (e.at, e.text.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                1_800_000_005,
                "bob: snapshot-cli defragment etcd-2: ok in 0.9 s"
            ),
            (
                1_800_000_011,
                "bob: defrag-cli defragment etcd-2: ok in 0.9 s"
            ),
        ],
        "ends of this cluster's operations run elsewhere, within the day, in time order"
    );
    assert!(s.operations.iter().all(|e| e.tag == Tag::Operation));
    assert!(
        s.timeline.events.iter().all(|e| e.tag != Tag::Operation),
        "not written to the history file: the audit log keeps them"
    );

    // Read before the member list named the cluster (the console's first second): kept, then
    // told once the list comes.
    let mut early = empty_store(t0);
    early.clock = (t0, 1_800_000_000);
    update(
        &mut early,
        Msg::Operations(vec![entry("defrag-cli", "end", 1_800_000_011, &id)]),
    );
    assert!(early.operations.is_empty());
    feed(&mut early, LIST, STATUS, t0 + secs(1));
    assert_eq!(early.operations.len(), 1, "told once the cluster is known");
    assert!(early.ops_waiting.is_empty());
}

#[test]
fn leader_changes_and_alarms_are_events() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    for id in [ETCD1, ETCD2, ETCD3] {
        probe_ok(&mut s, id, t0 + secs(1), ETCD2, 7);
    }
    let (_, url, mut p) = statuses(STATUS).remove(0);
    p.leader = ETCD2;
    p.raft_term = 7;
    p.errors = vec![format!("memberID:{ETCD1} alarm:NOSPACE ")];
    update(
        &mut s,
        Msg::Probe {
            at: t0 + secs(2),
            id: ETCD1,
            url,
            result: Ok(p),
        },
    );
    let events: Vec<&str> = s.timeline.events.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(
        events,
        [
            "leader changed: etcd-1 -> etcd-2",
            "NOSPACE alarm raised by etcd-1"
        ]
    );
}

fn feed_metrics(s: &mut Store, id: u64, at: Instant, snap: crate::etcd::metrics::Snapshot) {
    update(
        s,
        Msg::Metrics {
            at,
            id,
            result: Ok(Box::new(snap)),
        },
    );
}

#[test]
fn metrics_give_the_real_quota_and_alerts_become_events() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    let snap = metrics_snapshot();
    feed_metrics(&mut s, ETCD1, t0 + secs(1), snap.clone());
    assert_eq!(s.cluster.quota.bytes, 17179869184);
    assert_eq!(s.cluster.quota.source, "etcd_server_quota_backend_bytes");
    let mm = s.member(ETCD1).unwrap().metrics.clone().unwrap();
    assert!(mm.alerts.is_empty(), "{:?}", mm.alerts);
    assert_eq!(mm.db_bytes.len(), 1);
    assert_eq!(s.health().words, "healthy");

    // The DB grows past 90% of the quota: the alert fires once, as an event and in the header.
    let mut full = snap.clone();
    full.db_total_bytes = Some(16_500_000_000);
    feed_metrics(&mut s, ETCD1, t0 + secs(6), full.clone());
    feed_metrics(&mut s, ETCD1, t0 + secs(11), full);
    let events: Vec<&str> = s.timeline.events.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(
        events,
        ["etcd-1 alert EtcdQuotaFull: DB at 96% of quota (15.4 GiB of 16.0 GiB)"]
    );
    assert_eq!(s.health().words, "alert: etcd-1 EtcdQuotaFull");
    assert_eq!(
        s.member(ETCD1)
            .unwrap()
            .metrics
            .as_ref()
            .unwrap()
            .db_bytes
            .len(),
        3
    );

    // Back under: cleared.
    feed_metrics(&mut s, ETCD1, t0 + secs(16), snap);
    assert_eq!(
        s.timeline.events.back().unwrap().text,
        "etcd-1 alert cleared: EtcdQuotaFull"
    );
    assert_eq!(s.health().words, "healthy");

    // A failed scrape is kept beside the last good figures.
    update(
        &mut s,
        Msg::Metrics {
            at: t0 + secs(21),
            id: ETCD1,
            result: Err(failure("refused", "https://127.10.10.10:2379")),
        },
    );
    let mm = s.member(ETCD1).unwrap().metrics.as_ref().unwrap();
    assert!(mm.error.is_some() && mm.at.is_some());
    // The operator hears of it once, not every five seconds.
    assert!(
        flash_text(&s).starts_with("etcd-1: /metrics cannot be read, no latency figures or alerts: https://127.10.10.10:2379: connection refused"),
        "{}",
        flash_text(&s)
    );
    s.ui.flash = None;
    update(
        &mut s,
        Msg::Metrics {
            at: t0 + secs(26),
            id: ETCD1,
            result: Err(failure("refused", "https://127.10.10.10:2379")),
        },
    );
    assert!(s.ui.flash.is_none(), "said again: {}", flash_text(&s));
}

#[test]
fn endpoints_of_another_cluster_are_a_mix_said_loudly_and_change_nothing() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    let before = s.cluster.members.clone();
    let mut other = member_list(LIST);
    other.cluster_id ^= 0xffff;
    other.members.truncate(1);
    update(
        &mut s,
        Msg::MemberList {
            at: t0 + secs(2),
            result: Ok(other),
        },
    );
    assert_eq!(
        s.cluster.members, before,
        "the first cluster's members stay"
    );
    let h = s.health();
    assert_eq!(h.level, Level::Error);
    assert!(
        h.words
            .starts_with("MIXED CLUSTERS: one endpoint answered for cluster"),
        "{}",
        h.words
    );
    assert!(flash_text(&s).starts_with("endpoints of different clusters"));

    // The identity check at start says the same, with the endpoints grouped.
    let mut s = store_from(LIST, STATUS, t0);
    let groups = vec![
        (1, vec!["https://127.10.10.10:2379".to_string()]),
        (2, vec!["https://127.99.0.1:2379".to_string()]),
    ];
    update(
        &mut s,
        Msg::Identity {
            at: t0 + secs(1),
            result: Err(Failure::from(EtcdError::MixedClusters(groups))),
        },
    );
    assert!(
        s.health()
            .words
            .contains("cluster 2 (https://127.99.0.1:2379)"),
        "{}",
        s.health().words
    );
    assert!(s.cluster.mixed.is_some());

    // One cluster: nothing said.
    let mut s = store_from(LIST, STATUS, t0);
    let id = s.cluster.id.unwrap();
    update(
        &mut s,
        Msg::Identity {
            at: t0 + secs(1),
            result: Ok(id),
        },
    );
    assert!(s.cluster.mixed.is_none());
    assert_eq!(s.health().words, "healthy");
}

#[test]
fn trails_compares_a_member_with_the_leader_sampled_before_it_never_below_zero() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    let probe = |s: &mut Store, id: u64, at: Instant, index: u64| {
        let m = s.member(id).expect("member");
        let url = m.client_urls[0].clone();
        let mut p = m.status.clone().expect("status");
        p.raft_index = index;
        update(
            s,
            Msg::Probe {
                at,
                id,
                url,
                result: Ok(p),
            },
        );
    };
    let index = |s: &Store, id: u64| s.member(id).unwrap().status.as_ref().unwrap().raft_index;
    let base = index(&s, ETCD1);
    // Steady writes: the leader is sampled after the followers, 10 entries later. The followers
    // kept up; what they were compared with is the leader's sample before theirs.
    probe(&mut s, ETCD2, t0 + secs(1), base + 10);
    probe(&mut s, ETCD1, t0 + secs(2), base + 20);
    let follower = s.member(ETCD2).unwrap();
    assert_eq!(s.trails_leader(follower), Some(0), "not a lag of 10");
    // Ahead of the leader's older sample: 0, never below.
    probe(&mut s, ETCD3, t0 + secs(3), base + 25);
    assert_eq!(s.trails_leader(s.member(ETCD3).unwrap()), Some(0));
    // Really behind the leader's sample before it: that many entries.
    probe(&mut s, ETCD3, t0 + secs(4), base + 17);
    assert_eq!(s.trails_leader(s.member(ETCD3).unwrap()), Some(3));
    assert_eq!(s.trails_leader(s.member(ETCD1).unwrap()), Some(0));
}

#[test]
fn endpoints_that_refuse_our_credentials_are_not_called_unreachable() {
    let t0 = Instant::now();
    let mut s = empty_store(t0);
    let refused = EtcdError::AuthFailed {
        endpoint: "https://127.10.10.10:2379".into(),
        user: "root".into(),
    };
    update(
        &mut s,
        Msg::MemberList {
            at: t0,
            result: Err(Failure::from(EtcdError::NoneAnswered(vec![refused; 3]))),
        },
    );
    let h = s.health();
    assert_eq!(h.level, Level::Error);
    assert_eq!(
        h.words,
        "NOT ASKED: auth failed: etcdeck's own settings (TLS files, user) are refused"
    );
}

// ---------------------------------------------------------------------------------------------
// The wizards (no network: the driver's reports are fed as messages).

mod wizards {
    use super::*;
    use crate::app::msg::{WizardNews, WizardStart};
    use crate::app::wizard::{Earlier, Stage, StepState, WizardView};
    use crate::wizard::drive::Report;
    use crate::wizard::{Op, Phase};

    const CLUSTER: u64 = 0x870b2c801cd668fb;

    fn open(s: &Store) -> &WizardView {
        s.wizard().expect("the wizard modal is open")
    }

    fn steps(v: &WizardView) -> Vec<String> {
        v.plan()
            .unwrap()
            .steps
            .iter()
            .map(|s| s.key.clone())
            .collect()
    }

    fn text(v: &WizardView, s: &Store) -> String {
        let mut out: Vec<String> = v.lines(s.now).into_iter().map(|(_, l)| l).collect();
        out.extend(v.foot().into_iter().map(|(_, l)| l));
        out.join("\n")
    }

    /// D, then the journal lookup answers: nothing unfinished.
    fn defrag_all(s: &mut Store) {
        let cmds = press(s, KeyCode::Char('D'));
        assert_eq!(
            cmds,
            vec![Cmd::WizardLookup {
                token: s.ui.wizards_opened,
                op: Op::Defrag,
                cluster_id: CLUSTER
            }]
        );
        wizard_news(s, WizardNews::Earlier(Ok(None)));
    }

    fn confirm(s: &mut Store) -> WizardStart {
        type_text(s, "etcd");
        let cmds = press(s, KeyCode::Enter);
        match cmds.as_slice() {
            [Cmd::WizardRun(start)] => (**start).clone(),
            other => panic!("expected the run to start, got {other:?}"),
        }
    }

    #[test]
    fn the_defrag_key_opens_the_plan_from_the_store_with_no_etcd_call() {
        let t0 = Instant::now();
        let mut s = wizard_store(t0);
        let pressed = Instant::now();
        let cmds = press(&mut s, KeyCode::Char('D'));
        let took = pressed.elapsed();
        // Only the journal lookup (a file, off the loop): no call to etcd.
        assert_eq!(
            cmds,
            vec![Cmd::WizardLookup {
                token: 1,
                op: Op::Defrag,
                cluster_id: CLUSTER
            }]
        );
        assert!(took < Duration::from_millis(100), "the plan took {took:?}");
        let v = open(&s);
        assert_eq!(v.stage(), Stage::Confirm);
        assert_eq!(v.earlier, Earlier::Checking);
        let plan = v.plan().unwrap();
        assert_eq!(plan.op, Op::Defrag);
        assert_eq!(plan.confirm.as_deref(), Some("etcd"));
        assert_eq!(plan.tolerates_now, 1);
        // Followers first, the leader last after leadership moved to one done already.
        let e2 = format!("{ETCD2:x}");
        let e3 = format!("{ETCD3:x}");
        let e1 = format!("{ETCD1:x}");
        assert_eq!(
            steps(v),
            vec![
                "snapshot".to_string(),
                "gate:start".into(),
                format!("defrag:{e2}"),
                format!("settle:{e2}"),
                format!("gate:after:{e2}"),
                format!("defrag:{e3}"),
                format!("settle:{e3}"),
                format!("gate:after:{e3}"),
                format!("move-leader:{e3}"),
                format!("verify-leader:{e3}"),
                format!("gate:leader-moved:{e3}"),
                format!("defrag:{e1}"),
                format!("gate:after:{e1}"),
            ]
        );
        // The settle comes from the console's settings.
        assert!(
            plan.steps.iter().any(|st| st.text == "settle 5s"),
            "{plan:?}"
        );
        let shown = text(v, &s);
        assert!(
            shown.contains("defrag on cluster 870b2c801cd668fb: 13 step(s)"),
            "{shown}"
        );
        assert!(
            shown.contains("snapshot to /state/etcdeck/snapshots/870b2c801cd668fb-"),
            "{shown}"
        );
        assert!(
            shown.contains("[tolerates 0]"),
            "each step says what it tolerates: {shown}"
        );
        assert!(
            shown.contains("Looking for an unfinished run first"),
            "{shown}"
        );
        // Enter before the lookup answered runs nothing.
        type_text(&mut s, "etcd");
        assert!(press(&mut s, KeyCode::Enter).is_empty());
        assert_eq!(open(&s).stage(), Stage::Confirm);
        wizard_news(&mut s, WizardNews::Earlier(Ok(None)));
        let shown = text(open(&s), &s);
        assert!(
            shown.contains("Type etcd and press Enter to run it"),
            "{shown}"
        );
        assert!(shown.contains("> etcd█"), "{shown}");
    }

    #[test]
    fn a_member_down_refuses_defrag_saying_why_and_what_to_do() {
        let t0 = Instant::now();
        let mut s = wizard_store(t0);
        probe_fail(&mut s, ETCD3, t0 + secs(1), "timeout");
        defrag_all(&mut s);
        let v = open(&s);
        assert_eq!(v.stage(), Stage::Refused);
        let shown = text(v, &s);
        assert!(
            shown.contains("defrag: refused; nothing was done"),
            "{shown}"
        );
        assert!(shown.contains("✖ voter etcd-3 does not answer"), "{shown}");
        assert!(
            shown.contains("what to do: bring it back (or replace it) before maintenance"),
            "{shown}"
        );
        // Typing and Enter start nothing; Enter closes.
        type_text(&mut s, "etcd");
        assert!(press(&mut s, KeyCode::Enter).is_empty());
        assert!(s.ui.overlay.is_none());
    }

    #[test]
    fn a_wrong_word_then_enter_cancels_and_esc_cancels_too() {
        let mut s = wizard_store(Instant::now());
        defrag_all(&mut s);
        type_text(&mut s, "etcx");
        press(&mut s, KeyCode::Backspace);
        type_text(&mut s, "d-1");
        assert_eq!(open(&s).typed, "etcd-1");
        assert!(press(&mut s, KeyCode::Enter).is_empty(), "nothing runs");
        assert!(s.ui.overlay.is_none());
        assert_eq!(
            flash_text(&s),
            "defrag: cancelled: \"etcd-1\" is not etcd; nothing was done"
        );
        // Esc is the default answer: cancel.
        defrag_all(&mut s);
        type_text(&mut s, "etcd");
        assert!(press(&mut s, KeyCode::Esc).is_empty());
        assert!(s.ui.overlay.is_none());
        assert_eq!(flash_text(&s), "defrag: cancelled; nothing was done");
        // Letters typed in the modal are text, not keys: `q` did not quit, `1` moved nothing.
        assert!(!s.quit);
    }

    #[test]
    fn the_right_word_starts_the_run_with_the_plan_shown() {
        let mut s = wizard_store(Instant::now());
        defrag_all(&mut s);
        let plan = open(&s).plan().unwrap().clone();
        let start = confirm(&mut s);
        assert_eq!(
            start,
            WizardStart {
                token: 1,
                plan: plan.clone(),
                typed: "etcd".into(),
                done: Default::default(),
                resumed: None,
                abandon: None,
                now: WIZARD_NOW,
                // As `etcdeck defrag --all` keeps them: the command line resumes this run.
                args: "--all keep-leader=false threshold=10 snapshot=true".into(),
            }
        );
        assert!(Cmd::WizardRun(Box::new(start)).changes_cluster());
        let v = open(&s);
        assert_eq!(v.stage(), Stage::Running);
        let run = v.run.as_ref().unwrap();
        assert_eq!(run.plan, plan);
        assert!(run.steps.iter().all(|st| *st == StepState::Pending));
    }

    #[test]
    fn move_leader_and_defrag_one_go_to_the_selected_member() {
        let mut s = wizard_store(Instant::now());
        press(&mut s, KeyCode::Char('j'));
        press(&mut s, KeyCode::Char('L'));
        wizard_news(&mut s, WizardNews::Earlier(Ok(None)));
        let plan = open(&s).plan().unwrap();
        assert_eq!(plan.op, Op::MoveLeader);
        assert_eq!(plan.confirm.as_deref(), Some("etcd-2"));
        press(&mut s, KeyCode::Esc);
        press(&mut s, KeyCode::Char('d'));
        wizard_news(&mut s, WizardNews::Earlier(Ok(None)));
        let plan = open(&s).plan().unwrap();
        assert_eq!(plan.confirm.as_deref(), Some("etcd-2"));
        assert!(plan
            .steps
            .iter()
            .any(|st| st.key == format!("defrag:{ETCD2:x}")));
        assert!(!plan
            .steps
            .iter()
            .any(|st| st.key == format!("defrag:{ETCD1:x}")));
        press(&mut s, KeyCode::Esc);
        // On the leader itself, moving leadership is refused: it leads already.
        press(&mut s, KeyCode::Char('k'));
        press(&mut s, KeyCode::Char('L'));
        let shown = text(open(&s), &s);
        assert!(shown.contains("etcd-1 leads already"), "{shown}");
        // The keys belong to the Members pane.
        press(&mut s, KeyCode::Esc);
        press(&mut s, KeyCode::Char('3'));
        assert!(press(&mut s, KeyCode::Char('D')).is_empty());
        assert!(s.ui.overlay.is_none());
    }

    #[test]
    fn read_only_has_no_wizard_that_changes_anything_and_the_keys_do_nothing() {
        let mut s = wizard_store(Instant::now());
        s.read_only = true;
        s.config.keymap = s.config.keymap.clone().read_only();
        use crate::app::keymap::Action;
        for a in [
            Action::DefragAll,
            Action::DefragMember,
            Action::Compact,
            Action::AlarmRecover,
            Action::MoveLeader,
        ] {
            assert!(a.dangerous());
            assert_eq!(s.config.keymap.key_of(a), None, "{}", a.name());
            assert!(!s.config.keymap.bindings().iter().any(|b| b.action == a));
        }
        for c in ['D', 'd', 'C', 'A', 'L'] {
            assert!(press(&mut s, KeyCode::Char(c)).is_empty(), "{c}");
            assert!(s.ui.overlay.is_none(), "{c} opened something");
        }
        // A keymap that still has them (a store said read-only): they do nothing either.
        s.config.keymap = crate::app::config::Config::default().keymap;
        for c in ['D', 'd', 'C', 'A', 'L'] {
            assert!(press(&mut s, KeyCode::Char(c)).is_empty(), "{c}");
            assert!(s.ui.overlay.is_none(), "{c} opened something");
        }
        // The snapshot changes nothing: it stays, without a word to type.
        assert!(!Action::Snapshot.dangerous());
        press(&mut s, KeyCode::Char('S'));
        wizard_news(&mut s, WizardNews::Earlier(Ok(None)));
        let plan = open(&s).plan().unwrap().clone();
        assert_eq!(plan.op, Op::Snapshot);
        assert_eq!(plan.confirm, None);
        assert!(!plan.changes());
        let cmds = press(&mut s, KeyCode::Enter);
        let [Cmd::WizardRun(start)] = cmds.as_slice() else {
            panic!("{cmds:?}")
        };
        assert!(!Cmd::WizardRun(start.clone()).changes_cluster());
        assert!(format!("{:?}", start.plan.steps[0].kind).contains("-manual.db"));
    }

    #[test]
    fn progress_updates_the_modal_and_every_step_end_is_a_timeline_event() {
        let t0 = Instant::now();
        let mut s = wizard_store(t0);
        defrag_all(&mut s);
        confirm(&mut s);
        wizard_news(
            &mut s,
            WizardNews::Opened {
                id: "defrag-20261202T031205Z".into(),
                journal: "/state/etcdeck/ops/870b2c801cd668fb-defrag.json".into(),
            },
        );
        wizard_news(&mut s, WizardNews::Step(Report::Begin { index: 0 }));
        wizard_news(
            &mut s,
            WizardNews::Step(Report::Progress {
                index: 0,
                elapsed: secs(1),
                bytes: Some((20 << 10, 56 << 10)),
            }),
        );
        let v = open(&s);
        let cur = v.run.as_ref().unwrap().current.clone().unwrap();
        assert_eq!(cur.index, 0);
        assert_eq!(cur.bytes, Some((20 << 10, 56 << 10)));
        let shown = text(v, &s);
        assert!(
            shown.contains("defrag defrag-20261202T031205Z: running for"),
            "{shown}"
        );
        assert!(shown.contains("step 1 of 13: snapshot to"), "{shown}");
        assert!(shown.contains("20.0 KiB of 56.0 KiB written"), "{shown}");
        assert!(
            shown.contains("Esc asks to cancel between steps"),
            "{shown}"
        );
        wizard_news(
            &mut s,
            WizardNews::Step(Report::End {
                index: 0,
                outcome: "done".into(),
                detail: "56.0 KiB at revision 110".into(),
                took: Duration::from_millis(300),
            }),
        );
        wizard_news(
            &mut s,
            WizardNews::Step(Report::Waiting {
                index: 1,
                why: "voter etcd-3 does not answer (timeout)".into(),
            }),
        );
        let v = open(&s);
        let run = v.run.as_ref().unwrap();
        assert!(matches!(&run.steps[0], StepState::Ended { outcome, .. } if outcome == "done"));
        assert_eq!(run.current.as_ref().unwrap().index, 1);
        let shown = text(v, &s);
        assert!(
            shown.contains("waiting: voter etcd-3 does not answer (timeout)"),
            "{shown}"
        );
        assert!(
            shown.contains("✓  1. snapshot to"),
            "the step's mark and outcome: {shown}"
        );
        assert!(
            shown.contains(": done in 0.3 s: 56.0 KiB at revision 110"),
            "{shown}"
        );
        let events: Vec<String> = s.timeline.events.iter().map(|e| e.text.clone()).collect();
        assert!(
            events
                .iter()
                .any(|e| e == "defrag defrag-20261202T031205Z: started, 13 step(s)"),
            "{events:?}"
        );
        assert!(
            events.iter().any(|e| e.starts_with(
                "defrag defrag-20261202T031205Z: step 1/13 snapshot to /state/etcdeck/snapshots/"
            ) && e.ends_with(": done in 0.3 s: 56.0 KiB at revision 110")),
            "{events:?}"
        );
        // The end: the result and each step's outcome; the cluster is read again at once.
        let cmds = wizard_news(
            &mut s,
            WizardNews::Finished {
                phase: Phase::Stopped("step 2: health gate failed for 20 s".into()),
                outcomes: Vec::new(),
            },
        );
        assert_eq!(cmds, vec![Cmd::RefreshNow, Cmd::ListNow]);
        let v = open(&s);
        assert_eq!(v.stage(), Stage::Over);
        let shown = text(v, &s);
        assert!(
            shown.contains("stopped: step 2: health gate failed for 20 s"),
            "{shown}"
        );
        assert!(shown.contains("12. defragment etcd-1"), "{shown}");
        assert!(shown.contains(": not run"), "{shown}");
        assert!(shown.contains("journal /state/etcdeck/ops/"), "{shown}");
        let last = s.timeline.events.back().unwrap();
        assert_eq!(last.level, Level::Warn);
        assert_eq!(
            last.text,
            "defrag defrag-20261202T031205Z: stopped: step 2: health gate failed for 20 s"
        );
        // A late answer for another wizard changes nothing; Enter closes.
        let before = s.ui.overlay.clone();
        update(
            &mut s,
            Msg::Wizard {
                at: t0,
                token: 99,
                news: WizardNews::Step(Report::Begin { index: 3 }),
            },
        );
        assert_eq!(s.ui.overlay, before);
        press(&mut s, KeyCode::Enter);
        assert!(s.ui.overlay.is_none());
    }

    #[test]
    fn esc_during_a_run_asks_to_cancel_between_steps() {
        let mut s = wizard_store(Instant::now());
        defrag_all(&mut s);
        confirm(&mut s);
        wizard_news(&mut s, WizardNews::Step(Report::Begin { index: 0 }));
        assert_eq!(press(&mut s, KeyCode::Esc), vec![Cmd::WizardCancel]);
        let v = open(&s);
        assert_eq!(
            v.stage(),
            Stage::Running,
            "the modal stays until the run ends"
        );
        assert!(v.run.as_ref().unwrap().cancel_asked);
        let shown = text(v, &s);
        assert!(
            shown.contains("Cancel asked: the step running ends first"),
            "{shown}"
        );
        assert!(flash_text(&s).contains("the step running ends first"));
        // Asked once is enough; q and Enter do nothing while it runs.
        assert!(press(&mut s, KeyCode::Esc).is_empty());
        assert!(press(&mut s, KeyCode::Char('q')).is_empty());
        assert!(!s.quit);
        wizard_news(
            &mut s,
            WizardNews::Finished {
                phase: Phase::Cancelled,
                outcomes: Vec::new(),
            },
        );
        let shown = text(open(&s), &s);
        assert!(shown.contains("cancelled between steps"), "{shown}");
        assert!(
            shown.contains("The same key offers to resume it"),
            "{shown}"
        );
    }

    #[test]
    fn an_unfinished_run_is_offered_for_resuming_or_planned_afresh() {
        let mut s = wizard_store(Instant::now());
        press(&mut s, KeyCode::Char('D'));
        let fresh = open(&s).plan().unwrap().clone();
        // A run of etcd-2 alone that stopped after its first step.
        let mut old = fresh.clone();
        old.steps.truncate(3);
        let mut rec = crate::wizard::journal::record(
            old.clone(),
            "--all keep-leader=false threshold=10 snapshot=true",
            WIZARD_NOW - 600,
        );
        rec.done.insert("snapshot".into());
        rec.standing = crate::wizard::journal::Standing::Stopped;
        rec.why = Some("step 2: health gate failed".into());
        wizard_news(&mut s, WizardNews::Earlier(Ok(Some(Box::new(rec.clone())))));
        let v = open(&s);
        assert!(
            v.resume,
            "an unfinished run is carried on unless asked otherwise"
        );
        assert_eq!(v.plan().unwrap(), &old);
        let shown = text(v, &s);
        assert!(
            shown.contains("An unfinished defrag run: defrag-20261202T030205Z"),
            "{shown}"
        );
        assert!(
            shown.contains("1 of 3 step(s) done; it ended: step 2"),
            "{shown}"
        );
        assert!(shown.contains("Tab plans afresh"), "{shown}");
        // Tab: the fresh plan; confirming gives the old run up.
        press(&mut s, KeyCode::Tab);
        assert_eq!(open(&s).plan().unwrap(), &fresh);
        let start = confirm(&mut s);
        assert_eq!(start.resumed, None);
        assert_eq!(start.abandon.as_deref(), Some(&rec));
        // Resumed: the steps done are not run again.
        press(&mut s, KeyCode::Esc);
        let mut s = wizard_store(Instant::now());
        press(&mut s, KeyCode::Char('D'));
        wizard_news(&mut s, WizardNews::Earlier(Ok(Some(Box::new(rec.clone())))));
        let start = confirm(&mut s);
        assert_eq!(start.plan, old);
        assert_eq!(start.done, rec.done);
        assert_eq!(start.resumed.as_deref(), Some(&rec));
        let run = open(&s).run.clone().unwrap();
        assert_eq!(run.steps[0], StepState::DoneBefore);
        // A journal that cannot be read stops the wizard, saying where.
        let mut s = wizard_store(Instant::now());
        press(&mut s, KeyCode::Char('D'));
        wizard_news(
            &mut s,
            WizardNews::Earlier(Err("ops/x.json: cannot be read".into())),
        );
        assert_eq!(open(&s).stage(), Stage::Refused);
        assert!(text(open(&s), &s).contains("move the file away"));
    }

    #[test]
    fn nospace_recovery_plans_from_the_alarm_in_the_status_errors_with_a_known_quota() {
        let t0 = Instant::now();
        let mut s = store_from(LIST_NOSPACE, STATUS_NOSPACE, t0);
        s.state_dir = Some("/state/etcdeck".into());
        s.clock = (t0, WIZARD_NOW);
        let status = crate::app::wizard::cluster_status(&s).unwrap();
        assert!(
            status.alarms.iter().any(|a| a.alarm == "NOSPACE"),
            "{status:?}"
        );
        // The DB bar's default quota is a guess: it never decides when to disarm.
        press(&mut s, KeyCode::Char('A'));
        let shown = text(open(&s), &s);
        assert!(shown.contains("the backend quota is unknown"), "{shown}");
        press(&mut s, KeyCode::Esc);
        // The capture's member ran with --quota-backend-bytes=1048576.
        s.cluster.quota = crate::app::store::Quota {
            bytes: 1 << 20,
            source: "--quota".into(),
        };
        let cmds = press(&mut s, KeyCode::Char('A'));
        // The plan is shown at once; the largest prefixes are read from a member meanwhile.
        let scan = cmds.iter().find_map(|c| match c {
            Cmd::WizardPrefixes { token, url } => Some((*token, url.clone())),
            _ => None,
        });
        let (token, url) = scan.expect("a prefix scan asked for");
        assert!(url.ends_with(":2379"), "a client URL: {url}");
        update(
            &mut s,
            Msg::Wizard {
                at: t0,
                token,
                news: WizardNews::Prefixes(Ok(vec![("/fill/".into(), 900 << 10, 3)])),
            },
        );
        let v = open(&s);
        let plan = v.plan().unwrap();
        assert_eq!(plan.op, Op::AlarmRecover);
        let shown = text(v, &s);
        assert!(
            shown.contains("largest prefixes: /fill/ 900 KiB in 3 key(s)"),
            "{shown}"
        );
        assert!(
            shown.contains("NOSPACE: the database reached its quota"),
            "{shown}"
        );
        assert!(shown.contains("disarm NOSPACE of"), "{shown}");
        // Defragmentation is refused while the alarm is raised, pointing at the recovery.
        press(&mut s, KeyCode::Esc);
        press(&mut s, KeyCode::Char('D'));
        let shown = text(open(&s), &s);
        assert!(shown.contains("run `etcdeck alarm recover`"), "{shown}");
    }

    #[test]
    fn long_lines_wrap_at_words_and_cut_words_longer_than_the_line() {
        use crate::app::wizard::{wrap, Tone};
        let lines = vec![
            (Tone::Normal, "  one two three four five six".to_string()),
            (Tone::Warn, format!("  path {}", "x".repeat(30))),
            (Tone::Dim, String::new()),
        ];
        let w: Vec<String> = wrap(&lines, 16).into_iter().map(|(_, l)| l).collect();
        assert_eq!(
            w,
            [
                "  one two three",
                "      four five",
                "      six",
                "  path",
                "      xxxxxxxxxx",
                "      xxxxxxxxxx",
                "      xxxxxxxxxx",
                "",
            ]
        );
        assert!(w.iter().all(|l| l.chars().count() <= 16));
    }

    #[test]
    fn the_revision_is_recorded_once_a_minute_and_compaction_aims_at_24_hours_ago() {
        let t0 = Instant::now();
        let mut s = wizard_store(t0);
        let recorded = |cmds: Vec<Cmd>| -> Vec<Cmd> {
            cmds.into_iter()
                .filter(|c| matches!(c, Cmd::RecordRevision { .. }))
                .collect()
        };
        assert_eq!(
            recorded(update(&mut s, Msg::Tick(t0 + secs(1)))),
            vec![Cmd::RecordRevision {
                cluster_id: CLUSTER,
                at: WIZARD_NOW + 1,
                revision: 110
            }]
        );
        assert!(recorded(update(&mut s, Msg::Tick(t0 + secs(30)))).is_empty());
        assert_eq!(recorded(update(&mut s, Msg::Tick(t0 + secs(61)))).len(), 1);
        assert_eq!(
            s.revisions.samples,
            vec![(WIZARD_NOW + 1, 110), (WIZARD_NOW + 61, 110)]
        );
        // No record 24 h back: the current revision, said so.
        press(&mut s, KeyCode::Char('C'));
        wizard_news(&mut s, WizardNews::Earlier(Ok(None)));
        let v = open(&s);
        let shown = text(v, &s);
        assert!(shown.contains("compact to revision 110"), "{shown}");
        assert!(
            shown.contains("current revision 110, last compacted unknown"),
            "{shown}"
        );
        assert!(
            shown.contains("no record of the revision 24 h ago: the target is the current"),
            "{shown}"
        );
        assert_eq!(v.plan().unwrap().confirm.as_deref(), Some("etcd"));
        press(&mut s, KeyCode::Esc);
        // The state file's samples (read off the loop) give the revision of a day ago.
        update(
            &mut s,
            Msg::Revisions {
                cluster_id: CLUSTER,
                samples: vec![(WIZARD_NOW - 25 * 3600, 40), (WIZARD_NOW - 23 * 3600, 90)],
            },
        );
        press(&mut s, KeyCode::Char('C'));
        let shown = text(open(&s), &s);
        assert!(shown.contains("compact to revision 40"), "{shown}");
        assert!(
            shown.contains("the target is the revision of 24 h ago"),
            "{shown}"
        );
    }

    // -----------------------------------------------------------------------------------------
    // The membership wizards: their facts are read off the loop, then the plan follows.

    /// The wizard store with a 4th inventory host, 10.10.10.13, not a member.
    fn spare_store() -> Store {
        let mut s = wizard_store(Instant::now());
        let text = crate::inventory::EXAMPLE.replace(
            "    10.10.10.12: { etcd_seq: 3 }",
            "    10.10.10.12: { etcd_seq: 3 }\n    10.10.10.13: { etcd_seq: 4 }",
        );
        s.inventory.loaded = Some(crate::inventory::parse(&text, "pigsty.yml", &[]).unwrap());
        s.inventory.file = Some("pigsty/pigsty.yml".into());
        s.inventory.extra_vars = vec![("etcd_port".into(), "2379".into())];
        s
    }

    /// What the facts read would give: the inventory, the manual provisioner, a CA.
    fn facts() -> crate::wizard::setup::Facts {
        let text = crate::inventory::EXAMPLE.replace(
            "    10.10.10.12: { etcd_seq: 3 }",
            "    10.10.10.12: { etcd_seq: 3 }\n    10.10.10.13: { etcd_seq: 4 }",
        );
        crate::wizard::setup::Facts {
            inventory: Some(crate::wizard::member::InventoryFile {
                path: "pigsty/pigsty.yml".into(),
                parsed: crate::inventory::parse(&text, "pigsty.yml", &[]).unwrap(),
                text,
                commented: Vec::new(),
            }),
            provision: crate::wizard::member::Provision::Manual {
                out: "/state/etcdeck/members/870b2c801cd668fb/10.10.10.13".into(),
                wait_secs: 60,
            },
            ca: Ok((
                "pigsty/files/pki/ca/ca.crt".into(),
                "pigsty/files/pki/ca/ca.key".into(),
            )),
            used: Default::default(),
        }
    }

    fn facts_cmd(token: u64, kind_out: &str) -> Cmd {
        Cmd::WizardMemberFacts {
            token,
            cluster_id: CLUSTER,
            inventory: Some("pigsty/pigsty.yml".into()),
            extra_vars: vec![("etcd_port".into(), "2379".into())],
            state: "/state/etcdeck".into(),
            manual_out: format!("/state/etcdeck/members/870b2c801cd668fb/{kind_out}").into(),
        }
    }

    #[test]
    fn a_on_a_host_not_a_member_opens_the_add_wizard_and_reads_its_facts_off_the_loop() {
        use crate::app::wizard::Kind;
        let mut s = spare_store();
        press(&mut s, KeyCode::Char('2'));
        // On a host that is a member already: nothing opens, the flash says what to select.
        assert!(press(&mut s, KeyCode::Char('a')).is_empty());
        assert!(s.ui.overlay.is_none());
        assert!(
            flash_text(&s).contains("select a host that is in the inventory but not a member"),
            "{}",
            flash_text(&s)
        );
        assert!(flash_text(&s).contains("N adds a member at an address typed"));
        press(&mut s, KeyCode::Char('G'));
        let cmds = press(&mut s, KeyCode::Char('a'));
        let ip: std::net::IpAddr = "10.10.10.13".parse().unwrap();
        assert_eq!(
            cmds,
            vec![
                Cmd::WizardLookup {
                    token: 1,
                    op: Op::MemberAdd,
                    cluster_id: CLUSTER
                },
                facts_cmd(1, "10.10.10.13"),
            ]
        );
        assert!(cmds.iter().all(|c| !c.changes_cluster()));
        let v = open(&s);
        assert_eq!(v.kind, Kind::MemberAdd { ip });
        assert_eq!(v.stage(), Stage::Reading);
        let shown = text(v, &s);
        assert!(
            shown.contains("reading the inventory and the CA…"),
            "{shown}"
        );
        // Enter does nothing while reading.
        assert!(press(&mut s, KeyCode::Enter).is_empty());
        assert_eq!(open(&s).stage(), Stage::Reading);
        // The facts for another wizard are dropped.
        let at = s.now;
        update(
            &mut s,
            Msg::Wizard {
                at,
                token: 7,
                news: WizardNews::Facts(Ok(Box::new(facts()))),
            },
        );
        assert_eq!(open(&s).stage(), Stage::Reading);
        // Its own: the plan, as `etcdeck member add --ip 10.10.10.13` makes it.
        wizard_news(&mut s, WizardNews::Earlier(Ok(None)));
        let f = facts();
        wizard_news(&mut s, WizardNews::Facts(Ok(Box::new(f))));
        let v = open(&s);
        assert_eq!(v.stage(), Stage::Confirm, "{}", text(v, &s));
        let plan = v.plan().unwrap().clone();
        assert_eq!(plan.op, Op::MemberAdd);
        assert_eq!(plan.confirm.as_deref(), Some("etcd-4"));
        let shown = text(v, &s);
        assert!(
            shown.contains("add etcd-4 at https://10.10.10.13:2380"),
            "{shown}"
        );
        assert!(
            shown.contains("no provisioner beside the inventory"),
            "{shown}"
        );
        let start = confirm_word(&mut s, "etcd-4");
        assert_eq!(start.plan, plan);
        assert_eq!(start.args, "--ip 10.10.10.13 --provision manual");
        // An unfinished add of another address is offered for resuming, saying so.
        let mut s2 = spare_store();
        press(&mut s2, KeyCode::Char('2'));
        press(&mut s2, KeyCode::Char('G'));
        press(&mut s2, KeyCode::Char('a'));
        wizard_news(&mut s2, WizardNews::Facts(Ok(Box::new(facts()))));
        let rec = crate::wizard::journal::record(
            plan.clone(),
            "--ip 10.10.10.99 --provision manual",
            WIZARD_NOW - 600,
        );
        wizard_news(&mut s2, WizardNews::Earlier(Ok(Some(Box::new(rec)))));
        let shown = text(open(&s2), &s2);
        assert!(
            shown.contains(
                "that run was for other options (--ip 10.10.10.99 --provision manual), not \
                 --ip 10.10.10.13 --provision manual"
            ),
            "{shown}"
        );
        // Facts that come late (after the run began) change nothing.
        let f = facts();
        wizard_news(&mut s, WizardNews::Facts(Err("late".into())));
        assert_eq!(open(&s).stage(), Stage::Running);
        let _ = f;
    }

    fn confirm_word(s: &mut Store, word: &str) -> WizardStart {
        type_text(s, word);
        let cmds = press(s, KeyCode::Enter);
        match cmds.as_slice() {
            [Cmd::WizardRun(start)] => (**start).clone(),
            other => panic!("expected the run to start, got {other:?}"),
        }
    }

    #[test]
    fn facts_that_cannot_be_read_refuse_saying_why() {
        let mut s = spare_store();
        press(&mut s, KeyCode::Char('2'));
        press(&mut s, KeyCode::Char('G'));
        press(&mut s, KeyCode::Char('a'));
        wizard_news(&mut s, WizardNews::Earlier(Ok(None)));
        wizard_news(
            &mut s,
            WizardNews::Facts(Err("pigsty/pigsty.yml: 1 error(s), fix them first".into())),
        );
        let v = open(&s);
        assert_eq!(v.stage(), Stage::Refused);
        let shown = text(v, &s);
        assert!(
            shown.contains("member add: refused; nothing was done"),
            "{shown}"
        );
        assert!(shown.contains("✖ pigsty/pigsty.yml: 1 error(s)"), "{shown}");
        // Esc while reading cancels too.
        press(&mut s, KeyCode::Esc);
        press(&mut s, KeyCode::Char('a'));
        assert_eq!(open(&s).stage(), Stage::Reading);
        press(&mut s, KeyCode::Esc);
        assert!(s.ui.overlay.is_none());
        assert_eq!(flash_text(&s), "member add: cancelled; nothing was done");
    }

    #[test]
    fn n_prompts_for_an_ip_checks_it_and_esc_cancels() {
        use crate::app::store::PromptFor;
        use crate::app::wizard::Kind;
        let mut s = spare_store();
        // N belongs to the Inventory pane.
        assert!(press(&mut s, KeyCode::Char('N')).is_empty());
        assert!(s.ui.overlay.is_none());
        press(&mut s, KeyCode::Char('2'));
        press(&mut s, KeyCode::Char('N'));
        let Some(Overlay::Prompt(p)) = &s.ui.overlay else {
            panic!("{:?}", s.ui.overlay)
        };
        assert_eq!(p.purpose, PromptFor::Add);
        // Enter on nothing typed, then on no address: the prompt stays and says why.
        assert!(press(&mut s, KeyCode::Enter).is_empty());
        type_text(&mut s, "10.10.10.300");
        assert!(press(&mut s, KeyCode::Enter).is_empty());
        let Some(Overlay::Prompt(p)) = &s.ui.overlay else {
            panic!("{:?}", s.ui.overlay)
        };
        assert_eq!(
            p.error.as_deref(),
            Some("10.10.10.300 is not an IP address: type one like 10.10.10.13 or fd00::13")
        );
        // Letters are text here: `q` did not quit.
        type_text(&mut s, "q");
        assert!(!s.quit);
        for _ in 0..4 {
            press(&mut s, KeyCode::Backspace);
        }
        type_text(&mut s, "20");
        let cmds = press(&mut s, KeyCode::Enter);
        assert_eq!(cmds[1], facts_cmd(1, "10.10.10.20"));
        assert_eq!(
            open(&s).kind,
            Kind::MemberAdd {
                ip: "10.10.10.20".parse().unwrap()
            }
        );
        press(&mut s, KeyCode::Esc);
        // Esc in the prompt: nothing opens.
        press(&mut s, KeyCode::Char('N'));
        type_text(&mut s, "10.1.2.3");
        assert!(press(&mut s, KeyCode::Esc).is_empty());
        assert!(s.ui.overlay.is_none());
        assert_eq!(flash_text(&s), "cancelled; nothing was done");
        assert_eq!(s.ui.wizards_opened, 1);
    }

    #[test]
    fn p_x_r_on_the_members_pane_go_to_the_selected_member() {
        use crate::app::store::PromptFor;
        use crate::app::wizard::Kind;
        let mut s = spare_store();
        press(&mut s, KeyCode::Char('j'));
        let cmds = press(&mut s, KeyCode::Char('P'));
        assert_eq!(open(&s).kind, Kind::MemberPromote("etcd-2".into()));
        assert_eq!(cmds[1], facts_cmd(1, "etcd-2"));
        // On a voter, the planner refuses with its reason.
        wizard_news(&mut s, WizardNews::Earlier(Ok(None)));
        let f = facts();
        wizard_news(&mut s, WizardNews::Facts(Ok(Box::new(f))));
        let shown = text(open(&s), &s);
        assert!(shown.contains("etcd-2 is a voter already"), "{shown}");
        press(&mut s, KeyCode::Esc);
        let cmds = press(&mut s, KeyCode::Char('X'));
        assert_eq!(open(&s).kind, Kind::MemberRemove("etcd-2".into()));
        assert_eq!(
            cmds[0].clone(),
            Cmd::WizardLookup {
                token: 2,
                op: Op::MemberRemove,
                cluster_id: CLUSTER
            }
        );
        wizard_news(&mut s, WizardNews::Earlier(Ok(None)));
        let f = facts();
        wizard_news(&mut s, WizardNews::Facts(Ok(Box::new(f))));
        let v = open(&s);
        assert_eq!(v.stage(), Stage::Confirm, "{}", text(v, &s));
        assert_eq!(v.plan().unwrap().confirm.as_deref(), Some("etcd-2"));
        let start = confirm_word(&mut s, "etcd-2");
        assert_eq!(start.args, "etcd-2 --provision manual");
        // Done: what to know after it (no files for a remove; the etcdctl.sh); the cluster and
        // the inventory (it may have been edited) are read again.
        let cmds = wizard_news(
            &mut s,
            WizardNews::Finished {
                phase: Phase::Done,
                outcomes: Vec::new(),
            },
        );
        assert_eq!(
            cmds,
            vec![
                Cmd::RefreshNow,
                Cmd::ListNow,
                Cmd::ReloadInventory {
                    path: "pigsty/pigsty.yml".into(),
                    extra_vars: vec![("etcd_port".into(), "2379".into())],
                }
            ]
        );
        wizard_news(
            &mut s,
            WizardNews::Note("the unfinished add member-add-x is rolled back".into()),
        );
        let shown = text(open(&s), &s);
        assert!(shown.contains("`etcdeck render env`"), "{shown}");
        assert!(
            shown.contains("  the unfinished add member-add-x is rolled back"),
            "{shown}"
        );
        press(&mut s, KeyCode::Esc);
        // R asks for the new IP first.
        assert!(press(&mut s, KeyCode::Char('R')).is_empty());
        let Some(Overlay::Prompt(p)) = &s.ui.overlay else {
            panic!("{:?}", s.ui.overlay)
        };
        assert_eq!(p.purpose, PromptFor::Replace("etcd-2".into()));
        type_text(&mut s, "10.10.10.13");
        let cmds = press(&mut s, KeyCode::Enter);
        assert_eq!(cmds[1], facts_cmd(3, "10.10.10.13"));
        assert_eq!(
            open(&s).kind,
            Kind::MemberReplace {
                old: "etcd-2".into(),
                ip: "10.10.10.13".parse().unwrap()
            }
        );
        press(&mut s, KeyCode::Esc);
        // The Members keys do nothing elsewhere.
        press(&mut s, KeyCode::Char('3'));
        for c in ['P', 'X', 'R'] {
            assert!(press(&mut s, KeyCode::Char(c)).is_empty(), "{c}");
            assert!(s.ui.overlay.is_none(), "{c}");
        }
    }

    #[test]
    fn read_only_has_no_membership_key() {
        use crate::app::keymap::Action;
        let mut s = spare_store();
        s.read_only = true;
        for a in [
            Action::MemberAdd,
            Action::MemberAddIp,
            Action::MemberPromote,
            Action::MemberRemove,
            Action::MemberReplace,
        ] {
            assert!(a.dangerous(), "{}", a.name());
        }
        // A keymap that still has them (a store said read-only): they do nothing.
        for pane in ['1', '2'] {
            press(&mut s, KeyCode::Char(pane));
            press(&mut s, KeyCode::Char('G'));
            for c in ['a', 'N', 'P', 'X', 'R'] {
                assert!(press(&mut s, KeyCode::Char(c)).is_empty(), "{c}");
                assert!(s.ui.overlay.is_none(), "{c} opened something");
            }
        }
        s.config.keymap = s.config.keymap.clone().read_only();
        for c in ['a', 'N', 'P', 'X', 'R'] {
            let ev = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
            assert_eq!(s.config.keymap.action(&ev), None, "{c}");
        }
    }

    #[test]
    fn a_providers_output_keeps_its_last_lines_and_the_catch_up_line_shows() {
        let mut s = spare_store();
        press(&mut s, KeyCode::Char('2'));
        press(&mut s, KeyCode::Char('G'));
        press(&mut s, KeyCode::Char('a'));
        wizard_news(&mut s, WizardNews::Earlier(Ok(None)));
        let f = facts();
        wizard_news(&mut s, WizardNews::Facts(Ok(Box::new(f))));
        confirm_word(&mut s, "etcd-4");
        let n = open(&s).run.as_ref().unwrap().plan.steps.len();
        let start = (0..n)
            .find(|i| {
                open(&s).run.as_ref().unwrap().plan.steps[*i]
                    .key
                    .starts_with("start")
            })
            .expect("a start step");
        wizard_news(&mut s, WizardNews::Step(Report::Begin { index: start }));
        for i in 1..=8 {
            wizard_news(
                &mut s,
                WizardNews::Step(Report::Output {
                    index: start,
                    line: format!("line {i}"),
                }),
            );
        }
        wizard_news(
            &mut s,
            WizardNews::Step(Report::Status {
                index: start,
                text: "etcd-4: applied 120 of 400 (30%), 85 entries/s, about 3 s left".into(),
            }),
        );
        let shown = text(open(&s), &s);
        assert!(
            shown.contains("  etcd-4: applied 120 of 400 (30%), 85 entries/s, about 3 s left"),
            "{shown}"
        );
        assert!(!shown.contains("| line 2\n"), "{shown}");
        for i in 3..=8 {
            assert!(shown.contains(&format!("  | line {i}")), "{shown}");
        }
    }
}

/// A store whose config names `lab`, `prod` and `staging`, on `prod`.
fn on_prod() -> Store {
    let text = "[clusters.prod]\ninventory = \"/p/pigsty.yml\"\n[clusters.staging]\nenv = \"/s/etcdctl.sh\"\n\
                [clusters.lab]\nendpoints = [\"https://10.0.0.1:2379\"]\n";
    let mut s = store_from(LIST, STATUS, Instant::now());
    s.config =
        crate::app::config::Config::build(Some((text, std::path::Path::new("config.toml"))), false)
            .unwrap();
    s.named = Some("prod".into());
    s
}

#[test]
fn c_opens_the_switcher_on_the_current_cluster_and_enter_switches_to_another() {
    let mut s = on_prod();
    assert!(key(&mut s, KeyCode::Char('c')).is_empty());
    // lab, prod, staging: the cursor starts on prod, the one the console is on.
    assert_eq!(s.ui.overlay, Some(Overlay::Clusters { selected: 1 }));
    key(&mut s, KeyCode::Char('j'));
    assert_eq!(s.ui.overlay, Some(Overlay::Clusters { selected: 2 }));
    key(&mut s, KeyCode::Down);
    assert_eq!(
        s.ui.overlay,
        Some(Overlay::Clusters { selected: 2 }),
        "stops at the last"
    );
    key(&mut s, KeyCode::Char('k'));
    key(&mut s, KeyCode::Up);
    key(&mut s, KeyCode::Up);
    assert_eq!(s.ui.overlay, Some(Overlay::Clusters { selected: 0 }));
    // Keys that mean something elsewhere do nothing here: no pane change, no wizard.
    key(&mut s, KeyCode::Tab);
    key(&mut s, KeyCode::Char('D'));
    assert_eq!(s.ui.focus, PaneId::Members);
    assert_eq!(s.ui.overlay, Some(Overlay::Clusters { selected: 0 }));
    assert!(!s.quit);
    let cmds = key(&mut s, KeyCode::Enter);
    assert!(matches!(cmds.as_slice(), [Cmd::Quit]), "{cmds:?}");
    assert!(s.quit);
    assert_eq!(s.switch_to.as_deref(), Some("lab"));
}

#[test]
fn esc_closes_the_switcher_and_enter_on_the_current_cluster_stays() {
    let mut s = on_prod();
    key(&mut s, KeyCode::Char('c'));
    key(&mut s, KeyCode::Esc);
    assert_eq!(s.ui.overlay, None);
    assert!(!s.quit);
    key(&mut s, KeyCode::Char('c'));
    key(&mut s, KeyCode::Enter);
    assert_eq!(s.ui.overlay, None);
    assert!(!s.quit && s.switch_to.is_none());
    assert_eq!(flash_text(&s), "already on cluster prod");
    // With no clusters named, the switcher opens (to say how to name them) and Enter is nothing.
    let mut s = store_from(LIST, STATUS, Instant::now());
    key(&mut s, KeyCode::Char('c'));
    assert_eq!(s.ui.overlay, Some(Overlay::Clusters { selected: 0 }));
    assert!(key(&mut s, KeyCode::Enter).is_empty());
    assert!(!s.quit && s.switch_to.is_none());
    // Read-only mode keeps the switcher: it changes no cluster.
    let mut s = on_prod();
    s.config.keymap = s.config.keymap.read_only();
    s.read_only = true;
    key(&mut s, KeyCode::Char('c'));
    assert_eq!(s.ui.overlay, Some(Overlay::Clusters { selected: 1 }));
}

/// Outside the demo, `T` says where the drills are and opens nothing.
#[test]
fn the_drills_key_outside_the_demo_says_where_they_are() {
    let mut s = store_from(LIST, STATUS, Instant::now());
    assert!(key(&mut s, KeyCode::Char('T')).is_empty());
    assert_eq!(s.ui.overlay, None);
    assert!(flash_text(&s).contains("demo only"), "{}", flash_text(&s));
}

/// In the demo, `T` opens the drills; a drill goes to the member under the cursor (or the
/// Patroni cluster), closes the overlay and says what it does; a member drill without a member
/// selected does nothing but say so.
#[test]
fn a_drill_goes_to_the_selected_member_and_closes_the_overlay() {
    use crate::lab::Drill;
    let mut s = store_from(LIST, STATUS, Instant::now());
    let (drills, _rx) = tokio::sync::mpsc::unbounded_channel();
    s.lab = Some(super::store::Lab {
        drills,
        story: None,
    });
    key(&mut s, KeyCode::Char('j'));
    let name = s.selected_member().unwrap().name.clone();
    key(&mut s, KeyCode::Char('T'));
    assert_eq!(s.ui.overlay, Some(Overlay::Training));
    let cmds = key(&mut s, KeyCode::Char('k'));
    assert_eq!(cmds, vec![Cmd::Drill(Drill::Kill(name.clone()))]);
    assert!(cmds[0].changes_cluster(), "refused in read-only mode");
    assert_eq!(s.ui.overlay, None);
    assert_eq!(flash_text(&s), format!("demo: kill {name}..."));

    key(&mut s, KeyCode::Char('T'));
    assert_eq!(
        key(&mut s, KeyCode::Char('w')),
        vec![Cmd::Drill(Drill::Switchover(Some("pg-meta".into())))],
        "the Patroni cluster under the key browser's cursor (its first row)"
    );
    key(&mut s, KeyCode::Char('T'));
    assert!(key(&mut s, KeyCode::Char('x')).is_empty(), "not a drill");
    assert_eq!(s.ui.overlay, Some(Overlay::Training), "stays open");
    assert!(key(&mut s, KeyCode::Esc).is_empty());
    assert_eq!(s.ui.overlay, None);

    // With no member in the pane (a filter that matches none), a member drill says so.
    key(&mut s, KeyCode::Char('/'));
    for c in "zzz".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    key(&mut s, KeyCode::Enter);
    assert!(s.selected_member().is_none());
    key(&mut s, KeyCode::Char('T'));
    assert!(key(&mut s, KeyCode::Char('k')).is_empty());
    assert!(
        flash_text(&s).contains("no member selected"),
        "{}",
        flash_text(&s)
    );
}
