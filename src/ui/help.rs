//! The help overlay: every key from the keymap in force (read-only mode leaves out the dangerous
//! ones), and what the screen shows.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{centered, modal};
use crate::app::keymap::Action;
use crate::app::store::{PaneId, Store};

pub fn render(s: &Store, scroll: u16, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let dim = Style::new().fg(t.dim);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut lines = vec![Line::styled("Keys", bold.fg(t.accent))];
    for b in s.config.keymap.bindings() {
        // Read-only mode's keymap has none; a store said read-only lists none either.
        if b.dangerous && s.read_only {
            continue;
        }
        // The drills are the demo's.
        if b.action == Action::Training && s.lab.is_none() {
            continue;
        }
        // Pane keys for panes this version has.
        if b.action
            .pane_number()
            .is_some_and(|n| n > PaneId::ALL.len())
        {
            continue;
        }
        let keys = s.config.keymap.keys_of(b.action);
        let mut spans = vec![
            Span::styled(format!("  {keys:<14}"), bold),
            Span::raw(b.description),
        ];
        if b.dangerous {
            spans.push(Span::styled(
                "  (changes the cluster)",
                Style::new().fg(t.warn),
            ));
        }
        lines.push(Line::from(spans));
    }
    if s.read_only {
        lines.push(Line::styled(
            "  read-only: actions that change the cluster are off",
            Style::new().fg(t.warn),
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Members pane", bold.fg(t.accent)));
    for (k, v) in [
        (
            "ROLE",
            "leader, follower, or learner (not counted in quorum)",
        ),
        (
            "STATE",
            "up; unreachable with how long; unstarted (added, never joined)",
        ),
        ("TRAILS", "raft entries behind the leader's committed index"),
        ("DB / QUOTA", "database file size against the backend quota"),
    ] {
        lines.push(Line::from(vec![
            Span::styled(format!("  {k:<14}"), bold),
            Span::raw(v),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Wizards (Members pane)", bold.fg(t.accent)));
    let km = &s.config.keymap;
    let wizards: Vec<String> = [
        (Action::DefragAll, "defragment every voter"),
        (Action::DefragMember, "the selected member"),
        (Action::Compact, "compact to 24 h ago"),
        (Action::Snapshot, "save a snapshot"),
        (Action::AlarmRecover, "recover from NOSPACE"),
        (Action::MoveLeader, "move leadership to the selected member"),
        (Action::MemberPromote, "promote the selected learner"),
        (Action::MemberRemove, "remove the selected member"),
        (Action::MemberReplace, "replace it (a new IP typed)"),
    ]
    .iter()
    .filter(|(a, _)| !(s.read_only && a.dangerous()))
    .filter_map(|(a, what)| km.key_of(*a).map(|k| format!("{k} {what}")))
    .collect();
    lines.push(Line::raw(format!("  {}.", wizards.join(", "))));
    for l in [
        "  Each shows its plan first, made from what the console already knows (no etcd call):",
        "  facts, warnings, every step with its member and the failures tolerated meanwhile.",
        "  Type the word it asks for and press Enter to run it; anything else cancels. Progress",
        "  shows live; Esc asks to cancel between steps (the step running ends first). A run",
        "  that did not end is offered for resuming (Tab plans afresh). Each step's end is an",
        "  event in the timeline; the journal and audit log are under $XDG_STATE_HOME/etcdeck.",
    ] {
        lines.push(Line::raw(l));
    }
    if s.read_only {
        lines.push(Line::styled(
            "  read-only: only the wizards that change nothing (the snapshot) are on",
            Style::new().fg(t.warn),
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Inventory pane", bold.fg(t.accent)));
    lines.push(Line::raw(
        "  MATCH: ok; in inventory, not a member; member, not in inventory; unstarted.",
    ));
    lines.push(Line::raw(
        "  Each parameter shows where its value came from: host, etcd.vars, all.vars, -e, default.",
    ));
    let adds: Vec<String> = [
        (
            Action::MemberAdd,
            "adds the selected host (in inventory, not a member)",
        ),
        (Action::MemberAddIp, "one at an IP typed"),
    ]
    .iter()
    .filter(|(a, _)| !(s.read_only && a.dangerous()))
    .filter_map(|(a, what)| km.key_of(*a).map(|k| format!("{k} {what}")))
    .collect();
    if !adds.is_empty() {
        lines.push(Line::raw(format!("  {} (wizards).", adds.join(", "))));
        lines.push(Line::raw(
            "  The membership wizards read the inventory, the provisioner beside it (Pigsty's",
        ));
        lines.push(Line::raw(
            "  etcd.yml, a sandbox; else manual) and the CA first, then plan as `etcdeck member`.",
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Keys pane", bold.fg(t.accent)));
    lines.push(Line::raw(
        "  The keys under the Patroni namespace, live: read once, then watched. Changed keys",
    ));
    lines.push(Line::raw(
        "  are highlighted for 3 s; ⏱ marks a key on a lease. On a cluster directory: Patroni's",
    ));
    lines.push(Line::raw(
        "  summary (leader and lease left, members, lag, sync standby, warnings).",
    ));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(
            "{} or {} closes this help; {} scroll.",
            s.config.keymap.key_of(Action::Back).unwrap_or_default(),
            s.config.keymap.key_of(Action::Help).unwrap_or_default(),
            s.config.keymap.keys_of(Action::Down)
        ),
        dim,
    ));
    let h = (lines.len() as u16 + 2).min(area.height);
    let w = 92.min(area.width);
    let title = format!(
        "Help: {} scroll, {} closes",
        s.config.keymap.keys_of(Action::Down),
        s.config.keymap.key_of(Action::Back).unwrap_or_default()
    );
    let inner = modal(t, &title, centered(area, w, h), buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0))
        .render(inner, buf);
}
