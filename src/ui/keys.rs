//! The key browser pane: the tree of keys under the namespace (only the rows on screen are
//! drawn), and for the selected row its value, or for a directory its Patroni cluster's summary.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::{coarse, level_style, value};
use crate::app::keys::{Feed, Row};
use crate::app::msg::Level;
use crate::app::store::Store;
use crate::text::{escape, escape_bytes};
use crate::units;

/// From this width on the tree and the details sit side by side.
const SIDE_BY_SIDE: u16 = 100;

pub fn render(s: &Store, area: Rect, buf: &mut Buffer) {
    if area.height < 3 {
        return;
    }
    let [status, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    status_line(s, status, buf);
    if s.keys.loaded.is_none() {
        return;
    }
    let (tree_area, detail_area) = if body.width >= SIDE_BY_SIDE {
        let [a, b] = Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)])
            .areas(body);
        (a, b)
    } else {
        let tree_h = (s.keys.rows.len() as u16 + 1).clamp(3, (body.height * 2 / 5).max(3));
        let [a, b] = Layout::vertical([Constraint::Length(tree_h), Constraint::Min(1)]).areas(body);
        (a, b)
    };
    tree(s, tree_area, buf);
    let block = if body.width >= SIDE_BY_SIDE {
        Block::new()
            .borders(Borders::LEFT)
            .border_style(Style::new().fg(s.config.theme.dim))
    } else {
        Block::new()
            .borders(Borders::TOP)
            .border_style(Style::new().fg(s.config.theme.dim))
    };
    let inner = block.inner(detail_area);
    block.render(detail_area, buf);
    let Some(row) = s.keys.selected_row() else {
        return;
    };
    let lines = if row.dir {
        super::patroni::summary(s, &row.path)
    } else {
        key_details(s, row)
    };
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((s.keys.value_scroll, 0))
        .render(inner, buf);
}

/// `/pg/ · 27 keys · revision 1234 · live on https://...` or how the load/watch is going.
fn status_line(s: &Store, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let dim = Style::new().fg(t.dim);
    let k = &s.keys;
    let mut spans = vec![Span::styled(
        escape(&k.prefix).into_owned(),
        Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
    )];
    if k.loaded.is_some() {
        spans.push(Span::styled(
            format!("  {} keys  rev {}", k.map.len(), k.revision),
            dim,
        ));
    }
    match &k.feed {
        Feed::Idle => spans.push(Span::styled("  connecting…", dim)),
        Feed::Loading { read, reason } => spans.push(Span::styled(
            format!("  reading keys: {read} so far ({reason})"),
            level_style(t, Level::Warn),
        )),
        Feed::Live { url } => spans.push(Span::styled(format!("  live from {url}"), dim)),
        Feed::Retrying { why } => spans.push(Span::styled(
            format!("  watch lost, retrying: {}", escape(why)),
            level_style(t, Level::Error),
        )),
    }
    if let Some((at, why)) = &k.last_loss {
        let ago = s.now.saturating_duration_since(*at);
        if ago.as_secs() < 30 && matches!(k.feed, Feed::Live { .. }) {
            spans.push(Span::styled(
                format!("  (lost {} ago: {})", coarse(ago), escape(why)),
                Style::new().fg(t.warn),
            ));
        }
    }
    if k.loaded.is_some() && k.map.is_empty() {
        spans.push(Span::styled(
            "  no keys here: is Patroni's namespace another one? (--namespace)",
            level_style(t, Level::Warn),
        ));
    }
    Line::from(spans).render(area, buf);
}

/// The rows on screen only: the cost does not grow with the number of keys.
fn tree(s: &Store, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let k = &s.keys;
    let h = area.height as usize;
    if k.rows.is_empty() {
        let text = if k.view.filter.is_empty() {
            "no keys"
        } else {
            "no key matches the filter (Esc clears it)"
        };
        Line::styled(text, Style::new().fg(t.dim)).render(area, buf);
        return;
    }
    let selected = k.view.selected.min(k.rows.len() - 1);
    let offset = selected
        .saturating_sub(h / 2)
        .min(k.rows.len().saturating_sub(h));
    for (i, row) in k.rows.iter().enumerate().skip(offset).take(h) {
        let y = area.y + (i - offset) as u16;
        let line = row_line(s, row, i == selected, area.width);
        line.render(Rect::new(area.x, y, area.width, 1), buf);
    }
}

fn row_line(s: &Store, row: &Row, selected: bool, width: u16) -> Line<'static> {
    let t = &s.config.theme;
    let dim = Style::new().fg(t.dim);
    let name = segment(&row.path);
    let mut spans = vec![Span::raw("  ".repeat(row.depth as usize))];
    let changed = s.keys.changed.contains_key(&row.path);
    if row.dir {
        spans.push(Span::styled(
            if row.expanded { "▾ " } else { "▸ " },
            Style::new().fg(t.accent),
        ));
        spans.push(Span::styled(
            format!("{}/", escape_bytes(name)),
            Style::new().add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(format!(" {}", row.count), dim));
    } else {
        spans.push(Span::raw("  "));
        let style = if changed {
            Style::new().fg(t.warn).add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        spans.push(Span::styled(escape_bytes(name).into_owned(), style));
        if let Some(e) = s.keys.map.get(&row.path) {
            if e.lease != 0 {
                spans.push(Span::styled(" ⏱", dim));
            }
            let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
            let room = (width as usize).saturating_sub(used + 2);
            if room > 4 {
                let preview: String = escape_bytes(&e.value[..e.value.len().min(room * 4)])
                    .chars()
                    .take(room)
                    .collect();
                spans.push(Span::styled(format!("  {preview}"), dim));
            }
        }
    }
    let mut line = Line::from(spans);
    if selected {
        line = if t.no_color {
            line.style(Style::new().add_modifier(Modifier::REVERSED))
        } else {
            line.style(Style::new().bg(t.selected_bg))
        };
    }
    line
}

/// The last segment of a key or directory path.
fn segment(path: &[u8]) -> &[u8] {
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    match trimmed.iter().rposition(|b| *b == b'/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

fn key_details(s: &Store, row: &Row) -> Vec<Line<'static>> {
    let t = &s.config.theme;
    let dim = Style::new().fg(t.dim);
    let Some(e) = s.keys.map.get(&row.path) else {
        return Vec::new();
    };
    let (kind, value_lines) = value::show(&e.value, t);
    let mut lines = vec![Line::styled(
        escape_bytes(&row.path).into_owned(),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    lines.push(Line::from(vec![Span::styled(
        format!(
            "{} {}, created rev {}, modified rev {}, version {}",
            kind,
            units::bytes(e.value.len() as u64),
            e.create_revision,
            e.mod_revision,
            e.version
        ),
        dim,
    )]));
    if e.lease != 0 {
        let left = match s.keys.lease_left(e.lease, s.now) {
            Some(n) if n < 0 => Span::styled("expired", level_style(t, Level::Error)),
            Some(n) => Span::raw(format!("{n}s left")),
            None => Span::styled("asking…", dim),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("lease {:x}: ", e.lease), dim),
            left,
        ]));
    }
    if let Some(at) = s.keys.changed.get(&row.path) {
        lines.push(Line::styled(
            format!(
                "changed {} ago",
                coarse(s.now.saturating_duration_since(*at))
            ),
            Style::new().fg(t.warn),
        ));
    }
    lines.push(Line::raw(""));
    lines.extend(value_lines);
    lines
}
