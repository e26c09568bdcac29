//! Rendering: a pure function of the store. `Screen` lays out the header, the panes, the footer
//! and the overlay; each pane draws itself from the store.

mod clusters;
mod footer;
mod header;
mod help;
mod inventory;
mod keys;
mod members;
mod patroni;
mod timeline;
mod training;
mod value;
mod wizard;

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Widget, Wrap};

use crate::app::config::Theme;
use crate::app::msg::Level;
use crate::app::store::{Overlay, PaneId, Store};

/// Below this the console says so instead of drawing.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;
/// From this width on, panes are shown side by side.
pub const WIDE: u16 = 120;

/// The whole screen for one store.
pub struct Screen<'a> {
    store: &'a Store,
}

impl<'a> Screen<'a> {
    pub fn new(store: &'a Store) -> Screen<'a> {
        Screen { store }
    }
}

impl Widget for &Screen<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.store;
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            too_small(s, area, buf);
            return;
        }
        let [head, body, foot] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(area);
        header::render(s, head, buf);
        if area.width >= WIDE {
            // Members stay in view; the other half shows the focused pane, or the one focused
            // last.
            let [tabs_area, panes] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(body);
            tabs(s, tabs_area, buf);
            let [left, right] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(panes);
            pane(s, PaneId::Members, left, buf);
            pane(s, s.ui.companion(), right, buf);
        } else {
            let [tabs_area, pane_area] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(body);
            tabs(s, tabs_area, buf);
            pane(s, s.ui.focus, pane_area, buf);
        }
        footer::render(s, foot, buf);
        match &s.ui.overlay {
            Some(Overlay::Help { scroll }) => help::render(s, *scroll, body, buf),
            Some(Overlay::Wizard(w)) => wizard::render(s, w, body, buf),
            Some(Overlay::Prompt(p)) => wizard::render_prompt(s, p, body, buf),
            Some(Overlay::Clusters { selected }) => clusters::render(s, *selected, body, buf),
            Some(Overlay::Training) => training::render(s, body, buf),
            None => {}
        }
    }
}

fn too_small(s: &Store, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let text = vec![
        Line::from(Span::styled(
            "terminal too small",
            Style::new().fg(t.warn).add_modifier(Modifier::BOLD),
        )),
        Line::from(format!(
            "{}x{}, needs {MIN_WIDTH}x{MIN_HEIGHT}",
            area.width, area.height
        )),
        Line::from(format!(
            "{} quits",
            s.config
                .keymap
                .key_of(crate::app::keymap::Action::Quit)
                .unwrap_or_default()
        )),
    ];
    let top = area.height.saturating_sub(text.len() as u16) / 2;
    let inner = Rect {
        y: area.y + top,
        height: area.height - top,
        ..area
    };
    Paragraph::new(text)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true })
        .render(inner, buf);
}

/// `1 Members │ 2 Inventory`, the focused one highlighted.
fn tabs(s: &Store, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let mut spans = vec![Span::raw(" ")];
    for (i, p) in PaneId::ALL.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" │ ", Style::new().fg(t.dim)));
        }
        let label = format!("{} {}", p.number(), p.title());
        let style = if *p == s.ui.focus {
            Style::new()
                .fg(t.accent)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            Style::new()
        };
        spans.push(Span::styled(label, style));
    }
    Line::from(spans).render(area, buf);
}

/// A pane in its frame; the focused one has a bold, coloured border.
fn pane(s: &Store, id: PaneId, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let focused = s.ui.focus == id;
    let filter = match id {
        PaneId::Members => &s.ui.members.filter,
        PaneId::Inventory => &s.ui.inventory.filter,
        PaneId::Keys => &s.keys.view.filter,
        PaneId::Timeline => &s.ui.timeline.filter,
    };
    let mut title = vec![Span::styled(
        format!(" {} {} ", id.number(), id.title()),
        if focused {
            Style::new().fg(t.accent).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        },
    )];
    if !filter.is_empty() {
        title.push(Span::styled(
            format!("/{} ", crate::text::escape(filter)),
            Style::new().fg(t.warn),
        ));
    }
    let block = Block::new()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(if focused {
            Style::new().fg(t.accent)
        } else {
            Style::new().fg(t.dim)
        })
        .title(Line::from(title));
    let inner = block.inner(area);
    block.render(area, buf);
    match id {
        PaneId::Members => members::render(s, inner, buf),
        PaneId::Inventory => inventory::render(s, inner, buf),
        PaneId::Keys => keys::render(s, inner, buf),
        PaneId::Timeline => timeline::render(s, inner, buf),
    }
}

/// The colour for a level.
fn level_style(t: &Theme, level: Level) -> Style {
    match level {
        Level::Info => Style::new().fg(t.ok),
        Level::Warn => Style::new().fg(t.warn).add_modifier(Modifier::BOLD),
        Level::Error => Style::new().fg(t.error).add_modifier(Modifier::BOLD),
    }
}

/// The cursor of a list of `len` rows, and how the selected row is drawn (reverse video when
/// colours are off).
fn selection(t: &Theme, len: usize, selected: usize) -> (ratatui::widgets::TableState, Style) {
    let state = ratatui::widgets::TableState::default()
        .with_selected((len > 0).then(|| selected.min(len - 1)));
    let style = if t.no_color {
        Style::new().add_modifier(Modifier::REVERSED)
    } else {
        Style::new().bg(t.selected_bg).add_modifier(Modifier::BOLD)
    };
    (state, style)
}

/// A centered rectangle of at most `w` x `h` inside `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Clear a rectangle and frame it, for overlays.
fn modal(t: &Theme, title: &str, area: Rect, buf: &mut Buffer) -> Rect {
    Clear.render(area, buf);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(Style::new().fg(t.accent))
        .title(Span::styled(
            format!(" {title} "),
            Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// A `▕███░░░░▏`-style bar of `width` cells for `fraction` (0..=1).
fn bar(fraction: f64, width: usize) -> String {
    let f = fraction.clamp(0.0, 1.0);
    let full = ((f * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(full), "░".repeat(width - full))
}

/// Whole seconds (`0s`, `12s`, `3m05s`): what changes once a second on screen.
pub fn coarse(d: std::time::Duration) -> String {
    if d.as_secs() == 0 {
        return "0s".into();
    }
    crate::units::duration(std::time::Duration::from_secs(d.as_secs()))
}

#[cfg(test)]
mod tests;

/// A sparkline of `values` in at most `width` cells (the newest right), scaled to their maximum.
pub fn spark(values: &std::collections::VecDeque<f64>, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let shown: Vec<f64> = values.iter().rev().take(width).rev().copied().collect();
    let max = shown.iter().copied().fold(0.0f64, f64::max);
    shown
        .iter()
        .map(|v| {
            if max <= 0.0 {
                BARS[0]
            } else {
                BARS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize]
            }
        })
        .collect()
}
