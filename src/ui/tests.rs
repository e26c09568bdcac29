//! Screens drawn from stores made of the real captures, at 80x24 (a tmux split) and 160x48.

use std::time::{Duration, Instant};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;

use super::Screen;
use crate::app::msg::Msg;
use crate::app::store::{PaneId, Store};
use crate::app::testing::*;
use crate::app::update::{act, update};

fn draw(s: &Store, w: u16, h: u16) -> Buffer {
    let area = Rect::new(0, 0, w, h);
    let mut buf = Buffer::empty(area);
    (&Screen::new(s)).render(area, &mut buf);
    buf
}

/// The screen as text, one line per row, trailing blanks trimmed.
fn text(buf: &Buffer) -> String {
    let a = buf.area;
    let mut out = String::new();
    for y in a.top()..a.bottom() {
        let mut line = String::new();
        for x in a.left()..a.right() {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn screen(s: &Store, w: u16, h: u16) -> String {
    text(&draw(s, w, h))
}

/// Probe latency is volatile on a live cluster; screens built from captures keep it fixed, and
/// the filter keeps snapshots valid if a capture ever carries real ones.
macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({filters => vec![(r"\b\d+\.\dms\b", "[lat]")]}, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

fn at(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

#[test]
fn healthy_members_80x24() {
    let s = store_from(LIST, STATUS, Instant::now());
    let out = screen(&s, 80, 24);
    assert!(out.contains("● healthy  quorum 3/3 up, needs 2  leader etcd-1"));
    snap!("healthy_members_80x24", out);
}

#[test]
fn healthy_inventory_80x24() {
    let mut s = store_from(LIST, STATUS, Instant::now());
    s.ui.focus = PaneId::Inventory;
    let out = screen(&s, 80, 24);
    assert_eq!(out.matches(" ok").count(), 3, "{out}");
    assert!(
        out.contains("etcd_election_timeout 1000 (etcd.vars)"),
        "{out}"
    );
    snap!("healthy_inventory_80x24", out);
}

#[test]
fn wide_shows_panes_side_by_side_with_read_only_badge_160x48() {
    let mut s = store_from(LIST, STATUS, Instant::now());
    s.read_only = true;
    let out = screen(&s, 160, 48);
    assert!(out.contains("1 Members") && out.contains("2 Inventory"));
    assert!(out.contains("READ-ONLY"));
    snap!("wide_read_only_160x48", out);
}

#[test]
fn unreachable_member_80x24() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    update(
        &mut s,
        Msg::Probe {
            at: at(t0, 2_000),
            id: 9906793529771944919,
            url: "https://127.10.10.12:2379".into(),
            result: Err(failure("timeout", "https://127.10.10.12:2379")),
        },
    );
    update(&mut s, Msg::Tick(at(t0, 14_000)));
    act(&mut s, crate::app::keymap::Action::Bottom);
    let out = screen(&s, 80, 24);
    assert!(
        out.contains("▲ degraded: etcd-3 unreachable  quorum 2/3 up, needs 2"),
        "{out}"
    );
    assert!(out.contains("unreachable 12s"), "{out}");
    snap!("unreachable_member_80x24", out);
}

#[test]
fn unstarted_learner_80x24() {
    let s = store_from(LIST_LEARNER, STATUS_LEARNER, Instant::now());
    let out = screen(&s, 80, 24);
    assert!(out.contains("learner  unstarted"), "{out}");
    snap!("unstarted_learner_80x24", out);
}

#[test]
fn nospace_alarm_80x24() {
    let mut s = store_from(LIST_NOSPACE, STATUS_NOSPACE, Instant::now());
    // The capture's member ran with --quota-backend-bytes=1048576.
    s.cluster.quota = crate::app::store::Quota {
        bytes: 1 << 20,
        source: "--quota".into(),
    };
    s.inventory = Default::default();
    s.inventory.missing =
        Some("No inventory: no -i, no $ETCDECK_INVENTORY, no ./pigsty.yml".into());
    let out = screen(&s, 80, 24);
    assert!(out.contains("✖ NOSPACE alarm"), "{out}");
    assert!(out.contains("up, NOSPACE"), "{out}");
    snap!("nospace_alarm_80x24", out);
}

#[test]
fn help_overlay_80x24() {
    let mut s = store_from(LIST, STATUS, Instant::now());
    act(&mut s, crate::app::keymap::Action::Help);
    let out = screen(&s, 80, 24);
    assert!(out.contains("Help: j/↓ scroll, Esc closes"), "{out}");
    assert!(out.contains("filter the list"), "{out}");
    snap!("help_80x24", out);
}

/// The drills' key is in the help in the demo only.
#[test]
fn help_lists_the_drills_in_the_demo_only() {
    let mut s = store_from(LIST, STATUS, Instant::now());
    act(&mut s, crate::app::keymap::Action::Help);
    let outside = screen(&s, 160, 60);
    assert!(outside.contains("filter the list"), "{outside}");
    assert!(!outside.contains("demo: drills"), "{outside}");
    let (drills, _rx) = tokio::sync::mpsc::unbounded_channel();
    s.lab = Some(crate::app::store::Lab {
        drills,
        story: None,
    });
    let inside = screen(&s, 160, 60);
    assert!(inside.contains("demo: drills"), "{inside}");
}

#[test]
fn connecting_before_any_answer_80x24() {
    let s = empty_store(Instant::now());
    let out = screen(&s, 80, 24);
    assert!(out.contains("connecting…"), "{out}");
    snap!("connecting_80x24", out);
}

#[test]
fn tiny_terminal_says_so_instead_of_panicking() {
    let s = store_from(LIST, STATUS, Instant::now());
    let out = screen(&s, 20, 5);
    assert!(out.contains("terminal too"), "{out}");
    for (w, h) in [(0, 0), (1, 1), (5, 2), (59, 40), (200, 11)] {
        draw(&s, w, h);
    }
    snap!("tiny_20x5", out);
}

#[test]
fn filter_line_and_empty_result() {
    let mut s = store_from(LIST, STATUS, Instant::now());
    act(&mut s, crate::app::keymap::Action::Filter);
    for c in "nothing".chars() {
        update(
            &mut s,
            Msg::Key(ratatui::crossterm::event::KeyEvent::new(
                ratatui::crossterm::event::KeyCode::Char(c),
                ratatui::crossterm::event::KeyModifiers::NONE,
            )),
        );
    }
    let out = screen(&s, 80, 24);
    assert!(out.contains("no member matches the filter"), "{out}");
    assert!(
        out.contains(" /nothing█  Enter keeps the filter, Esc clears it"),
        "{out}"
    );
}

#[test]
fn no_color_draws_without_colours() {
    let mut s = store_from(LIST, STATUS, Instant::now());
    s.config = crate::app::config::Config::build(None, true).unwrap();
    let buf = draw(&s, 160, 48);
    let coloured = buf
        .content()
        .iter()
        .filter(|c| c.fg != Color::Reset || c.bg != Color::Reset)
        .count();
    assert_eq!(coloured, 0);
    // With colours on, the leader and health are coloured.
    let s = store_from(LIST, STATUS, Instant::now());
    let buf = draw(&s, 160, 48);
    assert!(buf.content().iter().any(|c| c.fg == Color::Green));
}

#[test]
fn escape_sequences_from_etcd_are_shown_not_executed() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    let mut list = member_list(LIST);
    list.members[0].name = "etcd-1\u{1b}]52;c;aGk=\u{7}".into();
    update(
        &mut s,
        Msg::MemberList {
            at: at(t0, 500),
            result: Ok(list),
        },
    );
    let out = screen(&s, 160, 48);
    assert!(out.contains("etcd-1\\e]52;c;aGk=\\x07"), "{out}");
    assert!(!out.contains('\u{1b}'));
    assert!(!out.contains('\u{7}'));
}

#[test]
fn the_header_alert_line_shows_control_and_invisible_characters_escaped() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    let mut list = member_list(LIST);
    list.members[2].name = "etcd-3\u{1b}[2J\u{2028}\u{200b}".into();
    let (id, url) = (list.members[2].id, list.members[2].client_urls[0].clone());
    update(
        &mut s,
        Msg::MemberList {
            at: at(t0, 500),
            result: Ok(list),
        },
    );
    update(
        &mut s,
        Msg::Probe {
            at: at(t0, 600),
            id,
            url: url.clone(),
            result: Err(failure("refused", &url)),
        },
    );
    assert!(
        s.health().words.contains("unreachable"),
        "{}",
        s.health().words
    );
    let buf = draw(&s, 160, 48);
    let header: String = (0..160).map(|x| buf[(x, 0)].symbol().to_string()).collect();
    assert!(
        header.contains("degraded: etcd-3\\e[2J\\u{2028}\\u{200b} unreachable"),
        "{header}"
    );
}

#[test]
fn the_inventory_pane_shows_the_files_text_escaped() {
    let mut s = store_from(LIST, STATUS, Instant::now());
    let text = include_str!("../../tests/fixtures/inventory/hostile.yml");
    s.inventory.loaded =
        Some(crate::inventory::parse(text, "hostile\u{9b}.yml", &[]).expect("usable inventory"));
    s.ui.focus = PaneId::Inventory;
    let out = screen(&s, 160, 48);
    for shown in [
        "/data/\\e[2J\\u{2028}x\\u{200b}y",
        "unknown parameter etcd_\\u{200b}port",
        "`bad\\x9bkey`",
        "etcd_\\u{202e}port under pg-meta.vars",
        "3 warning(s) in hostile\\x9b.yml",
    ] {
        assert!(out.contains(shown), "no {shown:?} in\n{out}");
    }
    for raw in ['\u{1b}', '\u{2028}', '\u{200b}', '\u{9b}', '\u{202e}'] {
        assert!(!out.contains(raw), "U+{:04X} raw", raw as u32);
    }
}

#[test]
fn inventory_warnings_and_mismatches_are_shown_160x48() {
    let mut s = store_from(LIST, STATUS, Instant::now());
    let text = include_str!("../../tests/fixtures/inventory/warnings.yml");
    s.inventory.loaded =
        Some(crate::inventory::parse(text, "warnings.yml", &[]).expect("usable inventory"));
    s.ui.focus = PaneId::Inventory;
    let out = screen(&s, 160, 48);
    // Two hosts match etcd-1 and etcd-2; etcd-3 is a member the inventory lacks.
    assert!(out.contains("member, not in inventory"), "{out}");
    assert!(out.contains("4 warning(s) in warnings.yml"), "{out}");
    assert!(out.contains("did you mean etcd_learner"), "{out}");
    snap!("inventory_warnings_160x48", out);
}

fn keys_store() -> Store {
    let mut s = store_from(LIST, STATUS, Instant::now());
    s.ui.focus = PaneId::Keys;
    s
}

fn select(s: &mut Store, path: &str) {
    let i = s
        .keys
        .rows
        .iter()
        .position(|r| *r.path == *path.as_bytes())
        .unwrap_or_else(|| panic!("no row {path}"));
    s.keys.view.selected = i;
}

#[test]
fn keys_cluster_summary_80x24() {
    let mut s = keys_store();
    select(&mut s, "/pg/pg-meta/");
    let out = screen(&s, 80, 24);
    assert!(
        out.contains("pg-meta  leader pg-meta-2 (lease 25s left)  timeline 2"),
        "{out}"
    );
    assert!(out.contains("sync standby pg-meta-1"), "{out}");
    snap!("keys_summary_80x24", out);
}

#[test]
fn keys_member_value_80x24() {
    let mut s = keys_store();
    select(&mut s, "/pg/pg-meta/members/pg-meta-1");
    let out = screen(&s, 80, 24);
    assert!(
        out.contains("\"replication_state\": \"streaming\","),
        "{out}"
    );
    assert!(out.contains("lease 668e"), "{out}");
    snap!("keys_member_value_80x24", out);
}

#[test]
fn keys_wide_beside_members_160x48() {
    let mut s = keys_store();
    select(&mut s, "/pg/pg-meta/");
    let out = screen(&s, 160, 48);
    assert!(out.contains("1 Members") && out.contains("3 Keys"), "{out}");
    snap!("keys_wide_160x48", out);
}

#[test]
fn a_hostile_value_is_shown_escaped() {
    let mut s = keys_store();
    let t = Instant::now();
    update(
        &mut s,
        Msg::KeyEvents {
            at: t,
            events: vec![crate::app::msg::KvEvent::Put(crate::app::msg::Kv {
                key: b"/pg/pg-meta/evil\x1b[2J".to_vec(),
                value: b"\x1b]52;c;aGk=\x07\x1b[31mred\xff".to_vec(),
                create_revision: 100,
                mod_revision: 100,
                version: 1,
                lease: 0,
            })],
        },
    );
    crate::app::update::settle(&mut s);
    select(&mut s, "/pg/pg-meta/evil\x1b[2J");
    let buf = draw(&s, 120, 40);
    let out = text(&buf);
    assert!(out.contains("evil\\e[2J"), "{out}");
    assert!(
        out.contains("\\e]52;c;aGk=\\x07\\e[31mred\\xff") || out.contains("1b 5d 35 32"),
        "{out}"
    );
    assert!(buf.content().iter().all(|c| !c.symbol().contains('\u{1b}')));
}

#[test]
fn timeline_80x24_and_wide() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    s.clock = (t0, 1_800_000_000);
    for n in 1..=40u64 {
        if n == 20 {
            update(
                &mut s,
                Msg::Probe {
                    at: at(t0, n * 1000),
                    id: 9906793529771944919,
                    url: "https://127.10.10.12:2379".into(),
                    result: Err(failure("refused", "https://127.10.10.12:2379")),
                },
            );
        }
        update(&mut s, Msg::Tick(at(t0, n * 1000)));
    }
    s.ui.focus = PaneId::Timeline;
    let out = screen(&s, 80, 24);
    assert!(out.contains("cluster"), "{out}");
    assert!(out.contains("etcd-3  ") && out.contains("DDDD"), "{out}");
    assert!(out.contains("etcd-3 unreachable: refused"), "{out}");
    snap!("timeline_80x24", out);
    s.config = crate::app::config::Config::build(None, true).unwrap();
    let out = screen(&s, 160, 48);
    assert!(
        out.contains("u up  l learner  N no leader  D down"),
        "{out}"
    );
    snap!("timeline_wide_no_color_160x48", out);
}

#[test]
fn member_details_show_metrics_with_thresholds_160x48() {
    let t0 = Instant::now();
    let mut s = store_from(LIST, STATUS, t0);
    for n in 0..4u64 {
        update(
            &mut s,
            Msg::Metrics {
                at: at(t0, 1000 + n * 5000),
                id: 3769862349302480595,
                result: Ok(Box::new(metrics_snapshot())),
            },
        );
    }
    let out = screen(&s, 160, 48);
    assert!(out.contains("(alert at 50ms)"), "{out}");
    assert!(out.contains("(alert at 200ms)"), "{out}");
    assert!(
        out.contains("36.0 KiB of 16.0 GiB (0.0%) (alert at 90%)"),
        "{out}"
    );
    assert!(out.contains("leader changes 1"), "{out}");
    snap!("member_metrics_160x48", out);
}

#[test]
fn an_error_from_every_endpoint_is_drawn_without_escaped_newlines() {
    use crate::etcd::error::{EtcdError, Failure};
    let t0 = Instant::now();
    let mut s = empty_store(t0);
    let errors = vec![
        EtcdError::Refused {
            endpoint: "https://127.10.10.10:2379".into(),
        },
        EtcdError::AuthFailed {
            endpoint: "https://127.10.10.11:2379".into(),
            user: "root".into(),
        },
    ];
    update(
        &mut s,
        Msg::MemberList {
            at: at(t0, 100),
            result: Err(Failure::from(EtcdError::NoneAnswered(errors))),
        },
    );
    let out = screen(&s, 160, 48);
    assert!(!out.contains("\\n"), "{out}");
    assert!(
        out.contains("no endpoint served the call: https://127.10.10.10:2379: connection refused"),
        "{out}"
    );
    assert!(
        out.contains("https://127.10.10.11:2379: authentication failed for user root"),
        "{out}"
    );
}

mod wizard {
    use super::*;
    use crate::app::msg::WizardNews;
    use crate::wizard::drive::Report;
    use crate::wizard::{Phase, StepOutcome};
    use ratatui::crossterm::event::KeyCode;

    /// D pressed on the healthy capture, nothing unfinished found.
    fn defrag_open(t0: Instant) -> Store {
        let mut s = wizard_store(t0);
        press(&mut s, KeyCode::Char('D'));
        wizard_news(&mut s, WizardNews::Earlier(Ok(None)));
        s
    }

    fn step_end(s: &mut Store, index: usize, detail: &str, ms: u64) {
        wizard_news(s, WizardNews::Step(Report::Begin { index }));
        wizard_news(
            s,
            WizardNews::Step(Report::End {
                index,
                outcome: "done".into(),
                detail: detail.into(),
                took: Duration::from_millis(ms),
            }),
        );
    }

    #[test]
    fn wizard_plan_80x24() {
        let s = defrag_open(Instant::now());
        let out = screen(&s, 80, 24);
        assert!(out.contains("Defragment every voter: plan"), "{out}");
        assert!(out.contains("Type etcd and press Enter to run it"), "{out}");
        assert!(
            out.contains("↑↓ PgUp PgDn scroll"),
            "the plan is longer: {out}"
        );
        snap!("wizard_plan_80x24", out);
    }

    #[test]
    fn wizard_plan_scrolled_with_the_word_typed_80x24() {
        let mut s = defrag_open(Instant::now());
        type_text(&mut s, "etcd");
        for _ in 0..100 {
            press(&mut s, KeyCode::Down);
        }
        let out = screen(&s, 80, 24);
        assert!(out.contains("> etcd█"), "{out}");
        assert!(
            out.contains("13. health gate"),
            "scrolled to the end: {out}"
        );
        snap!("wizard_confirm_typed_80x24", out);
        // Scrolled to the end, one line up is one line up.
        let last = s.wizard().unwrap().scroll;
        press(&mut s, KeyCode::Up);
        assert_eq!(s.wizard().unwrap().scroll, last - 1);
    }

    #[test]
    fn wizard_refused_80x24() {
        let t0 = Instant::now();
        let mut s = wizard_store(t0);
        update(
            &mut s,
            Msg::Probe {
                at: at(t0, 2_000),
                id: 9906793529771944919,
                url: "https://127.10.10.12:2379".into(),
                result: Err(failure("timeout", "https://127.10.10.12:2379")),
            },
        );
        press(&mut s, KeyCode::Char('D'));
        wizard_news(&mut s, WizardNews::Earlier(Ok(None)));
        let out = screen(&s, 80, 24);
        assert!(out.contains("Defragment every voter: refused"), "{out}");
        assert!(out.contains("voter etcd-3 does not answer"), "{out}");
        snap!("wizard_refused_80x24", out);
    }

    #[test]
    fn wizard_progress_80x24() {
        let t0 = Instant::now();
        let mut s = defrag_open(t0);
        type_text(&mut s, "etcd");
        press(&mut s, KeyCode::Enter);
        wizard_news(
            &mut s,
            WizardNews::Opened {
                id: "defrag-20261202T031205Z".into(),
                journal: "/state/etcdeck/ops/870b2c801cd668fb-defrag.json".into(),
            },
        );
        step_end(
            &mut s,
            0,
            "56.0 KiB at revision 110, sha256 ab12 verified",
            300,
        );
        wizard_news(
            &mut s,
            WizardNews::Step(Report::End {
                index: 1,
                outcome: "done".into(),
                detail: "passed after 0.0 s".into(),
                took: Duration::from_millis(20),
            }),
        );
        wizard_news(&mut s, WizardNews::Step(Report::Begin { index: 2 }));
        update(&mut s, Msg::Tick(at(t0, 3_100)));
        wizard_news(
            &mut s,
            WizardNews::Step(Report::Progress {
                index: 2,
                elapsed: Duration::from_secs(2),
                bytes: None,
            }),
        );
        let out = screen(&s, 80, 24);
        assert!(out.contains("Defragment every voter: running"), "{out}");
        assert!(out.contains("step 3 of 13: defragment etcd-2"), "{out}");
        assert!(out.contains("Esc asks to cancel between steps"), "{out}");
        snap!("wizard_progress_80x24", out);
        // Further on, the step running stays in view without scrolling by hand.
        for i in 2..11 {
            wizard_news(
                &mut s,
                WizardNews::Step(Report::End {
                    index: i,
                    outcome: "done".into(),
                    detail: String::new(),
                    took: Duration::from_millis(20),
                }),
            );
        }
        wizard_news(&mut s, WizardNews::Step(Report::Begin { index: 11 }));
        let out = screen(&s, 80, 24);
        assert!(out.contains("▶ 12. defragment etcd-1"), "{out}");
    }

    #[test]
    fn wizard_result_80x24() {
        let t0 = Instant::now();
        let mut s = defrag_open(t0);
        type_text(&mut s, "etcd");
        press(&mut s, KeyCode::Enter);
        wizard_news(
            &mut s,
            WizardNews::Opened {
                id: "defrag-20261202T031205Z".into(),
                journal: "/state/etcdeck/ops/870b2c801cd668fb-defrag.json".into(),
            },
        );
        let plan = s.wizard().unwrap().run.as_ref().unwrap().plan.clone();
        let mut outcomes = Vec::new();
        for (i, step) in plan.steps.iter().enumerate() {
            let detail = match step.kind {
                crate::wizard::StepKind::Defragment { .. } => {
                    "defragmented: 56.0 KiB -> 28.0 KiB (28.0 KiB in use)"
                }
                crate::wizard::StepKind::Gate { .. } => "passed after 0.0 s",
                _ => "",
            };
            step_end(&mut s, i, detail, 100);
            outcomes.push(StepOutcome {
                key: step.key.clone(),
                text: step.text.clone(),
                outcome: "done".into(),
                detail: detail.into(),
                took_ms: Some(100),
            });
        }
        update(&mut s, Msg::Tick(at(t0, 14_000)));
        wizard_news(
            &mut s,
            WizardNews::Finished {
                phase: Phase::Done,
                outcomes,
            },
        );
        let out = screen(&s, 80, 24);
        assert!(out.contains("Defragment every voter: result"), "{out}");
        assert!(
            out.contains("defrag defrag-20261202T031205Z: done in"),
            "{out}"
        );
        assert!(out.contains("Esc or Enter closes."), "{out}");
        snap!("wizard_result_80x24", out);
        // Every step is in the timeline's events.
        press(&mut s, KeyCode::Esc);
        press(&mut s, KeyCode::Char('4'));
        let out = screen(&s, 160, 48);
        assert!(
            out.contains("defrag defrag-20261202T031205Z: done in"),
            "{out}"
        );
        assert!(out.contains("step 13/13 health gate"), "{out}");
    }

    #[test]
    fn read_only_footer_and_help_have_no_wizard_that_changes_the_cluster() {
        let mut s = wizard_store(Instant::now());
        s.read_only = true;
        s.config.keymap = s.config.keymap.clone().read_only();
        let out = screen(&s, 80, 24);
        let footer = out.lines().last().unwrap();
        assert!(footer.contains("S snap"), "{footer}");
        for k in ["D/d", "defrag", "compact", "nospace", "leader"] {
            assert!(!footer.contains(k), "{k} in {footer}");
        }
        act(&mut s, crate::app::keymap::Action::Help);
        for _ in 0..30 {
            act(&mut s, crate::app::keymap::Action::Down);
        }
        let out = screen(&s, 160, 48);
        assert!(out.contains("save a snapshot of the database"), "{out}");
        for k in [
            "defragment all voters",
            "compact the history",
            "selected member leader",
        ] {
            assert!(!out.contains(k), "{k} in help:\n{out}");
        }
        // Not read-only: help lists them, marked as changing the cluster.
        let mut s = wizard_store(Instant::now());
        act(&mut s, crate::app::keymap::Action::Help);
        let out = screen(&s, 160, 48);
        assert!(
            out.contains("members: defragment all voters in turn (wizard)  (changes the cluster)"),
            "{out}"
        );
        assert!(
            out.contains("members: make the selected member leader (wizard)  (changes the"),
            "{out}"
        );
    }

    #[test]
    fn membership_keys_are_in_help_and_off_in_read_only() {
        let mut s = wizard_store(Instant::now());
        act(&mut s, crate::app::keymap::Action::Help);
        let out = screen(&s, 160, 120);
        for k in [
            "members: remove the selected member (wizard)  (changes the cluster)",
            "inventory: add the selected host as a member (wizard)",
            "L move leadership to the selected member, P promote the",
            "a adds the selected host (in inventory, not a member), N one at an IP typed",
        ] {
            assert!(out.contains(k), "{k} not in help:\n{out}");
        }
        let mut s = wizard_store(Instant::now());
        s.read_only = true;
        s.config.keymap = s.config.keymap.clone().read_only();
        act(&mut s, crate::app::keymap::Action::Help);
        let out = screen(&s, 160, 120);
        for k in [
            "promote",
            "remove the selected",
            "add the selected host",
            "N one",
        ] {
            assert!(!out.contains(k), "{k} in help:\n{out}");
        }
        act(&mut s, crate::app::keymap::Action::Back);
        s.ui.focus = PaneId::Inventory;
        let out = screen(&s, 160, 48);
        let footer = out.lines().last().unwrap();
        assert!(!footer.contains("add"), "{footer}");
    }

    #[test]
    fn the_ip_prompt_80x24() {
        let mut s = wizard_store(Instant::now());
        press(&mut s, KeyCode::Char('2'));
        press(&mut s, KeyCode::Char('N'));
        type_text(&mut s, "10.10.10.1x");
        let out = screen(&s, 80, 24);
        assert!(out.contains("Add a member"), "{out}");
        assert!(out.contains("IP of the new member: 10.10.10.1x█"), "{out}");
        assert!(
            out.contains("Enter confirms (the plan follows), Esc cancels."),
            "{out}"
        );
        assert!(out.contains("the prompt above has the keys"), "{out}");
        press(&mut s, KeyCode::Enter);
        let out = screen(&s, 80, 24);
        assert!(
            out.contains("10.10.10.1x is not an IP address: type one like"),
            "{out}"
        );
        snap!("ip_prompt_refused_80x24", out);
    }

    #[test]
    fn the_add_wizard_reading_then_running_80x24() {
        let t0 = Instant::now();
        let mut s = wizard_store(t0);
        s.inventory.address_map.clear();
        press(&mut s, KeyCode::Char('2'));
        press(&mut s, KeyCode::Char('N'));
        type_text(&mut s, "10.10.10.13");
        press(&mut s, KeyCode::Enter);
        let out = screen(&s, 80, 24);
        assert!(
            out.contains("Add a member at 10.10.10.13: reading"),
            "{out}"
        );
        assert!(out.contains("reading the inventory and the CA…"), "{out}");
        wizard_news(&mut s, WizardNews::Earlier(Ok(None)));
        let inv = s.inventory.loaded.clone().unwrap();
        let facts = crate::wizard::setup::Facts {
            inventory: Some(crate::wizard::member::InventoryFile {
                path: "pigsty/pigsty.yml".into(),
                text: crate::inventory::EXAMPLE.into(),
                parsed: inv,
                commented: Vec::new(),
            }),
            provision: crate::wizard::member::Provision::Sandbox {
                dir: "/sandbox".into(),
            },
            ca: Ok(("/sandbox/pki/ca.crt".into(), "/sandbox/pki/ca.key".into())),
            used: Default::default(),
        };
        wizard_news(&mut s, WizardNews::Facts(Ok(Box::new(facts))));
        let out = screen(&s, 80, 24);
        assert!(out.contains("Add a member at 10.10.10.13: plan"), "{out}");
        assert!(out.contains("Type etcd-4 and press Enter"), "{out}");
        type_text(&mut s, "etcd-4");
        press(&mut s, KeyCode::Enter);
        let steps = s.wizard().unwrap().run.as_ref().unwrap().plan.steps.clone();
        let catch_up = steps
            .iter()
            .position(|st| matches!(st.kind, crate::wizard::StepKind::CatchUp { .. }))
            .expect("a catch-up step");
        for i in 0..catch_up {
            step_end(&mut s, i, "", 100);
        }
        wizard_news(&mut s, WizardNews::Step(Report::Begin { index: catch_up }));
        wizard_news(
            &mut s,
            WizardNews::Step(Report::Status {
                index: catch_up,
                text: "etcd-4: applied 120 of 400 (30%), 85 entries/s, about 3 s left".into(),
            }),
        );
        let out = screen(&s, 80, 24);
        assert!(
            out.contains("Add a member at 10.10.10.13: running"),
            "{out}"
        );
        assert!(
            out.contains("etcd-4: applied 120 of 400 (30%), 85 entries/s, about 3 s left"),
            "{out}"
        );
        assert!(out.contains("▶"), "the step running is in view: {out}");
    }
}

#[test]
fn an_unstarted_learner_says_what_to_do_80x24() {
    let mut s = store_from(LIST_LEARNER, STATUS_LEARNER, Instant::now());
    s.ui.members.selected = 3;
    let out = screen(&s, 80, 24);
    assert!(
        out.contains("a3cff1eda2b95115  id a3cff1eda2b95115  learner"),
        "{out}"
    );
    assert!(
        out.contains("probe   learner added, never started: start it on its node"),
        "{out}"
    );
    assert!(out.contains("or X rolls it back (removes it)"), "{out}");
    snap!("unstarted_learner_selected_80x24", out);
    // Read-only: no key to press, the command instead.
    s.read_only = true;
    s.config.keymap = s.config.keymap.clone().read_only();
    let out = screen(&s, 80, 24);
    assert!(
        out.contains("or remove it (`etcdeck member remove`)"),
        "{out}"
    );
    assert!(!out.contains("X rolls"), "{out}");
}

#[test]
fn cluster_switcher_marks_the_current_cluster_and_the_header_names_it_80x24() {
    let text = "[clusters.prod]\ninventory = \"/home/dba/pigsty/pigsty.yml\"\n\
                [clusters.staging]\nenv = \"/home/dba/staging/etcdctl.sh\"\n";
    let mut s = store_from(LIST, STATUS, Instant::now());
    s.config =
        crate::app::config::Config::build(Some((text, std::path::Path::new("config.toml"))), false)
            .unwrap();
    s.named = Some("prod".into());
    let out = screen(&s, 80, 24);
    assert!(out.lines().next().unwrap().starts_with(" prod  "), "{out}");
    act(&mut s, crate::app::keymap::Action::Clusters);
    act_down(&mut s);
    let out = screen(&s, 80, 24);
    assert!(
        out.contains(" ● prod     inventory /home/dba/pigsty/pigsty.yml  (current)"),
        "{out}"
    );
    assert!(
        out.contains("   staging  env /home/dba/staging/etcdctl.sh"),
        "{out}"
    );
    snap!("cluster_switcher_80x24", out);
}

#[test]
fn cluster_switcher_without_clusters_says_how_to_name_them_80x24() {
    let mut s = store_from(LIST, STATUS, Instant::now());
    act(&mut s, crate::app::keymap::Action::Clusters);
    let out = screen(&s, 80, 24);
    assert!(
        out.contains("No clusters are named in the config file."),
        "{out}"
    );
    assert!(out.contains("[clusters.prod]"), "{out}");
    snap!("cluster_switcher_empty_80x24", out);
}

/// The switcher's cursor one down, as `j` moves it.
fn act_down(s: &mut Store) {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    update(
        s,
        Msg::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)),
    );
}
