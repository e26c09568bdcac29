//! The last line: the filter being typed, a flash message, or the main keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::level_style;
use crate::app::keymap::Action;
use crate::app::store::Store;
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
    let km = &s.config.keymap;
    let mut spans = vec![Span::raw(" ")];
    for (action, what) in [
        (Action::Help, "help"),
        (Action::NextPane, "pane"),
        (Action::Down, "move"),
        (Action::Filter, "filter"),
        (Action::Refresh, "refresh"),
        (Action::Quit, "quit"),
    ] {
        if let Some(k) = km.key_of(action) {
            spans.push(Span::styled(
                k,
                Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
            ));
            spans.push(Span::styled(format!(" {what}  "), dim));
        }
    }
    Line::from(spans).render(area, buf);
}
