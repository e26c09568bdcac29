//! The aliveness timeline: the cluster row (available or not) and one row per member, each
//! column a bucket of 1 s, 10 s or 1 min showing its worst second, with a time axis and the
//! events beside or below. Letters make it readable without colour.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::level_style;
use crate::app::config::Theme;
use crate::app::store::Store;
use crate::app::timeline::{Cell, Timeline};
use crate::text::escape;

/// From this width on the events sit beside the rows.
const SIDE_BY_SIDE: u16 = 110;

fn cell_style(t: &Theme, c: Cell) -> Style {
    if t.no_color {
        return match c {
            Cell::Down | Cell::Unavailable | Cell::NoLeader | Cell::NoLeaderKey => {
                Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
            }
            _ => Style::new(),
        };
    }
    let bg = match c {
        Cell::Unknown => return Style::new().fg(t.dim),
        Cell::Up | Cell::Available | Cell::LeaderKey => t.ok,
        Cell::Learner => t.accent,
        Cell::NoLeader => t.warn,
        Cell::Down | Cell::Unavailable | Cell::NoLeaderKey => t.error,
    };
    Style::new().bg(bg).fg(Color::Black)
}

use crate::app::timeline::clock;

fn span_label(secs: u64) -> String {
    if secs.is_multiple_of(3600) && secs > 0 {
        format!("-{}h", secs / 3600)
    } else if secs.is_multiple_of(60) && secs > 0 {
        format!("-{}m", secs / 60)
    } else {
        format!("-{secs}s")
    }
}

pub fn render(s: &Store, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let tl = &s.timeline;
    let (rows_area, events_area) = if area.width >= SIDE_BY_SIDE {
        let [a, b] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
            .areas(area);
        (a, b)
    } else {
        let rows_h = (tl.members.len() as u16 + pg_lines(s) as u16 + 4).min(area.height / 2 + 2);
        let [a, b] = Layout::vertical([Constraint::Length(rows_h), Constraint::Min(0)]).areas(area);
        (a, b)
    };
    rows(s, tl, rows_area, buf);
    events(s, tl, events_area, buf);
    let _ = t;
}

fn rows(s: &Store, tl: &Timeline, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let dim = Style::new().fg(t.dim);
    let zoom = tl.zoom.max(1);
    let now = s.unix_secs(s.now) + 1;
    let expanded = s.pg_rows_expanded();
    let label_w = tl
        .members
        .values()
        .map(|m| &m.name)
        .chain(tl.pg.keys().filter(|_| expanded))
        .map(|name| escape(name).chars().count())
        .max()
        .unwrap_or(7)
        .clamp(7, 16) as u16;
    let cols = area.width.saturating_sub(label_w + 1) as usize;
    let mut y = area.y;
    let mut put = |line: Line<'_>, y: &mut u16| {
        if *y < area.y + area.height {
            line.render(Rect::new(area.x, *y, area.width, 1), buf);
            *y += 1;
        }
    };
    let legend = match (t.no_color, tl.pg.is_empty()) {
        (true, true) => "u up  l learner  N no leader  D down  a available  X unavailable",
        (true, false) => {
            "u up  l learner  N no leader  D down  a available  X unavailable  L leader key  ! none"
        }
        (false, true) => "green up  cyan learner  yellow no leader  red down",
        (false, false) => "green up  cyan learner  yellow no leader  red down  L/! pg leader key",
    };
    put(
        Line::from(vec![
            Span::styled(
                format!("{zoom}s per column"),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!(
                    "  ({} zooms)  {legend}",
                    s.config
                        .keymap
                        .key_of(crate::app::keymap::Action::Zoom)
                        .unwrap_or_default()
                ),
                dim,
            ),
        ]),
        &mut y,
    );
    if tl.cluster.is_empty() {
        put(Line::styled("no second recorded yet", dim), &mut y);
        return;
    }
    let line_for = |name: &str, cells: Vec<Cell>, bold: bool| -> Line<'static> {
        let mut spans = vec![Span::styled(
            format!("{:<w$} ", name, w = label_w as usize),
            if bold {
                Style::new().add_modifier(Modifier::BOLD)
            } else {
                Style::new()
            },
        )];
        for c in cells {
            spans.push(Span::styled(c.letter().to_string(), cell_style(t, c)));
        }
        Line::from(spans)
    };
    let cluster = Timeline::buckets(&tl.cluster, tl.first, now, zoom, cols);
    put(line_for("cluster", cluster, true), &mut y);
    for m in tl.rows_by_name() {
        let cells = Timeline::buckets(&m.cells, tl.first, now, zoom, cols);
        put(line_for(&escape(&m.name), cells, false), &mut y);
    }
    // The Patroni clusters: a row each, or one row (their worst second) when they are many.
    if !tl.pg.is_empty() {
        let key = s
            .config
            .keymap
            .key_of(crate::app::keymap::Action::PatroniRows)
            .unwrap_or_default();
        if expanded {
            // Only the rows that fit are drawn (the axis keeps its line).
            let room = (area.y + area.height).saturating_sub(y + 1) as usize;
            let rows = tl.pg_rows();
            let shown = if rows.len() > room {
                room.saturating_sub(1)
            } else {
                rows.len()
            };
            for r in rows.iter().take(shown) {
                let cells = Timeline::run_buckets(&r.runs, now, zoom, cols);
                put(line_for(&escape(&r.name), cells, false), &mut y);
            }
            if shown < rows.len() {
                put(
                    Line::styled(
                        format!(
                            "  {} more Patroni cluster(s); {key} shows one row for all",
                            rows.len() - shown
                        ),
                        dim,
                    ),
                    &mut y,
                );
            }
        } else {
            let cells = Timeline::run_buckets(&tl.pg_all, now, zoom, cols);
            let label = format!("{} pg", tl.pg.len());
            put(line_for(&label, cells, false), &mut y);
        }
    }
    // The axis: a mark every 10 columns, labelled with how long ago.
    let mut axis = " ".repeat(label_w as usize + 1 + cols);
    let mut labels: Vec<(usize, String)> = Vec::new();
    for back in (0..cols).step_by(10) {
        let col = cols - 1 - back;
        let ago = back as u64 * zoom;
        labels.push((
            col,
            if back == 0 {
                "now".into()
            } else {
                span_label(ago)
            },
        ));
    }
    for (col, label) in labels.into_iter().rev() {
        let start = (label_w as usize + 1 + col + 1).saturating_sub(label.len());
        if start + label.len() <= axis.len() {
            axis.replace_range(start..start + label.len(), &label);
        }
    }
    put(Line::styled(axis, dim), &mut y);
}

/// The lines the Patroni rows take: one each, or one for all.
fn pg_lines(s: &Store) -> usize {
    match (s.timeline.pg.len(), s.pg_rows_expanded()) {
        (0, _) => 0,
        (n, true) => n,
        (_, false) => 1,
    }
}

fn events(s: &Store, tl: &Timeline, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let dim = Style::new().fg(t.dim);
    let mut lines = vec![Line::styled(
        format!(
            "Events (UTC, newest first){}",
            if tl.skipped_lines > 0 {
                format!("  {} damaged history line(s) skipped", tl.skipped_lines)
            } else {
                String::new()
            }
        ),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    // The timeline's own events and the operations run elsewhere, newest first.
    let h = area.height as usize;
    let mut newest: Vec<&crate::app::timeline::Event> = tl
        .events
        .iter()
        .rev()
        .take(h)
        .chain(s.operations.iter().rev().take(h))
        .collect();
    newest.sort_by_key(|e| std::cmp::Reverse(e.at));
    if newest.is_empty() {
        lines.push(Line::styled("nothing happened yet", dim));
    }
    for e in newest.into_iter().take(h) {
        lines.push(Line::from(vec![
            Span::styled(format!("{} {:<4} ", clock(e.at), e.tag.source()), dim),
            Span::styled(escape(&e.text).into_owned(), level_style(t, e.level)),
        ]));
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(area, buf);
}
