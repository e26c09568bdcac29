//! The last line: the filter being typed, a flash message, or the main keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::level_style;
use crate::app::keymap::Action;
use crate::app::store::{PaneId, Store};
use crate::text::escape;

pub fn render(s: &Store, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let dim = Style::new().fg(t.dim);
    if s.ui.filtering {
        Line::from(vec![
            Span::styled(" /", Style::new().fg(t.accent).add_modifier(Modifier::BOLD)),
            Span::raw(escape(&s.focused_view().filter).into_owned()),
            Span::styled("█", Style::new().fg(t.accent)),
            Span::styled("  Enter keeps the filter, Esc clears it", dim),
        ])
        .render(area, buf);
        return;
    }
    if let Some(f) = &s.ui.flash {
        Line::from(vec![
            Span::raw(" "),
            Span::styled(escape(&f.text).into_owned(), level_style(t, f.level)),
        ])
        .render(area, buf);
        return;
    }
    if s.wizard().is_some() {
        Line::styled(" the wizard above has the keys (Ctrl-C still quits)", dim).render(area, buf);
        return;
    }
    if matches!(s.ui.overlay, Some(crate::app::store::Overlay::Prompt(_))) {
        Line::styled(" the prompt above has the keys (Ctrl-C still quits)", dim).render(area, buf);
        return;
    }
    let km = &s.config.keymap;
    // Read-only mode's keymap has no dangerous action; a store said read-only shows none either.
    let key_of = |a: Action| km.key_of(a).filter(|_| !(s.read_only && a.dangerous()));
    // (keys, what, priority): 0 always, 1 the Members pane's wizards, 2 dropped first.
    let mut items: Vec<(String, &str, u8)> = Vec::new();
    let mut add = |keys: Option<String>, what: &'static str, prio: u8| {
        if let Some(k) = keys.filter(|k| !k.is_empty()) {
            items.push((k, what, prio));
        }
    };
    add(key_of(Action::Help), "help", 0);
    add(key_of(Action::NextPane), "pane", 0);
    if !s.config.clusters.is_empty() {
        add(key_of(Action::Clusters), "clusters", 2);
    }
    if s.ui.focus == PaneId::Members {
        let defrag: Vec<String> = [Action::DefragAll, Action::DefragMember]
            .iter()
            .filter_map(|a| key_of(*a))
            .collect();
        add(Some(defrag.join("/")), "defrag", 1);
        add(key_of(Action::Compact), "compact", 1);
        add(key_of(Action::Snapshot), "snap", 1);
        add(key_of(Action::AlarmRecover), "nospace", 1);
        add(key_of(Action::MoveLeader), "leader", 1);
        add(key_of(Action::MemberPromote), "promote", 1);
        add(key_of(Action::MemberRemove), "remove", 1);
        add(key_of(Action::MemberReplace), "replace", 1);
    }
    if s.ui.focus == PaneId::Inventory {
        add(key_of(Action::MemberAdd), "add host", 1);
        add(key_of(Action::MemberAddIp), "add IP", 1);
    }
    add(key_of(Action::Down), "move", 2);
    add(key_of(Action::Filter), "filter", 2);
    add(key_of(Action::Refresh), "refresh", 2);
    add(key_of(Action::Quit), "quit", 0);
    // The last item's two trailing blanks need no room.
    let width = |items: &[(String, &str, u8)]| -> usize {
        items
            .iter()
            .map(|(k, w, _)| k.chars().count() + 1 + w.len() + 2)
            .sum::<usize>()
            .saturating_sub(1)
    };
    // What does not fit goes: the plain list keys first, then wizards from the right.
    let room = area.width as usize;
    if width(&items) > room {
        items.retain(|i| i.2 < 2);
    }
    while width(&items) > room {
        match items.iter().rposition(|i| i.2 == 1) {
            Some(i) => {
                items.remove(i);
            }
            None => break,
        }
    }
    let mut spans = vec![Span::raw(" ")];
    for (k, what, _) in items {
        spans.push(Span::styled(
            k,
            Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(format!(" {what}  "), dim));
    }
    Line::from(spans).render(area, buf);
}
