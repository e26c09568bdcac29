//! The inventory pane: the hosts of the `etcd` group matched against the live member list, the
//! selected host's effective parameters with their origin, and the validation warnings.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, StatefulWidget, Table, Widget, Wrap};

use super::level_style;
use crate::app::msg::Level;
use crate::app::store::{InventoryRow, Match, Store};
use crate::inventory::{value_of, Severity, PARAMS};
use crate::text::escape;

pub fn render(s: &Store, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let inv = &s.inventory;
    let Some(loaded) = &inv.loaded else {
        let mut lines = Vec::new();
        if !inv.errors.is_empty() {
            lines.push(Line::styled(
                format!(
                    "{} does not load: {} error(s)",
                    escape(inv.file.as_deref().unwrap_or("the inventory")),
                    inv.errors
                        .iter()
                        .filter(|d| d.severity == Severity::Error)
                        .count()
                ),
                level_style(t, Level::Error),
            ));
            for d in &inv.errors {
                lines.push(Line::raw(d.to_string()));
            }
        } else {
            lines.push(Line::styled(
                escape(inv.missing.as_deref().unwrap_or("no inventory")).into_owned(),
                Style::new().fg(t.dim),
            ));
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "Pass -i pigsty.yml (or set ETCDECK_INVENTORY) to match the cluster against it.",
            Style::new().fg(t.dim),
        ));
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .render(area, buf);
        return;
    };

    let rows = s.inventory_rows();
    let table_h = (rows.len() as u16 + 1).max(2);
    let [table_area, _, details_area] = Layout::vertical([
        Constraint::Length(table_h.min(area.height)),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(area);

    let dim = Style::new().fg(t.dim);
    let header = Row::new(["SEQ", "NAME", "HOST", "MATCH"]).style(dim.add_modifier(Modifier::BOLD));
    let body: Vec<Row> = rows
        .iter()
        .map(|r| {
            let (seq, name, host) = match (r.host, r.member) {
                (Some(h), _) => (
                    h.seq.to_string(),
                    escape(&h.name()).into_owned(),
                    h.ip.to_string(),
                ),
                (None, Some(m)) => (
                    "-".to_string(),
                    escape(&m.label()).into_owned(),
                    m.peer_urls
                        .first()
                        .map_or("-".into(), |u| escape(u).into_owned()),
                ),
                (None, None) => ("-".into(), "-".into(), "-".into()),
            };
            let style = match r.matched {
                Match::Ok => Style::new().fg(t.ok),
                Match::Unknown => dim,
                Match::Unstarted => level_style(t, Level::Warn),
                _ => level_style(t, Level::Error),
            };
            Row::new(vec![
                Line::raw(seq),
                Line::styled(name, Style::new().add_modifier(Modifier::BOLD)),
                Line::raw(host),
                Line::styled(r.matched.words(), style),
            ])
        })
        .collect();
    let selected = s.ui.inventory.selected.min(rows.len().saturating_sub(1));
    let (mut state, highlight) = super::selection(t, rows.len(), selected);
    StatefulWidget::render(
        Table::new(
            body,
            [
                Constraint::Length(3),
                Constraint::Length(10),
                Constraint::Length(15),
                Constraint::Min(10),
            ],
        )
        .header(header)
        .column_spacing(1)
        .row_highlight_style(highlight),
        table_area,
        buf,
        &mut state,
    );

    let mut lines = Vec::new();
    if let Some(r) = rows.get(selected) {
        details(s, r, details_area.width, &mut lines);
    } else {
        lines.push(Line::styled(
            "no host matches the filter (Esc clears it)",
            dim,
        ));
    }
    let warnings: Vec<_> = loaded.warnings().collect();
    if !warnings.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("{} warning(s) in {}", warnings.len(), escape(&loaded.file)),
            level_style(t, Level::Warn),
        ));
        for w in warnings {
            lines.push(Line::styled(
                format!("{}:{} {}", w.line, w.column, escape(&w.message)),
                Style::new().fg(t.warn),
            ));
            if let Some(h) = &w.hint {
                lines.push(Line::styled(format!("  {}", escape(h)), dim));
            }
        }
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(details_area, buf);
}

fn details(s: &Store, r: &InventoryRow<'_>, width: u16, lines: &mut Vec<Line<'static>>) {
    let t = &s.config.theme;
    let dim = Style::new().fg(t.dim);
    let Some(h) = r.host else {
        if let Some(m) = r.member {
            lines.push(Line::styled(
                format!(
                    "{} ({:x}) is a member of the cluster but not in the inventory's etcd group.",
                    escape(&m.label()),
                    m.id
                ),
                level_style(t, Level::Error),
            ));
            lines.push(Line::styled(
                "Add its host with its etcd_seq to the inventory, or remove the member.",
                dim,
            ));
        }
        return;
    };
    let (client, peer) = s.live_urls(h);
    let mut head = vec![Span::styled(
        format!("{}  ", escape(&h.name())),
        Style::new().add_modifier(Modifier::BOLD),
    )];
    head.push(Span::styled(format!("inventory line {}", h.line), dim));
    lines.push(Line::from(head));
    lines.push(Line::from(vec![
        Span::styled("client ", dim),
        Span::raw(h.client_url()),
    ]));
    lines.push(Line::from(vec![
        Span::styled("peer   ", dim),
        Span::raw(h.peer_url()),
    ]));
    if client != h.client_url() {
        lines.push(Line::styled(format!("runs at {client} (peer {peer})"), dim));
    }
    if let Match::Differs(why) = &r.matched {
        lines.push(Line::styled(
            format!("differs: {}", escape(why)),
            level_style(t, Level::Error),
        ));
    }
    // Parameters with their origin, in as many columns as fit (filled column by column).
    let cells: Vec<Vec<Span<'static>>> = PARAMS
        .iter()
        .filter(|p| **p != "etcd_seq")
        .map(|p| {
            let origin = h
                .origins
                .get(*p)
                .map_or("default".to_string(), |o| o.to_string());
            let origin_style = if origin == "default" {
                dim
            } else {
                Style::new().fg(t.accent)
            };
            vec![
                Span::styled(format!("{p} "), dim),
                Span::raw(value_of(h, p)),
                Span::styled(format!(" ({origin})"), origin_style),
            ]
        })
        .collect();
    let width_of = |c: &Vec<Span>| c.iter().map(|s| s.content.chars().count()).sum::<usize>();
    let mut layout = (1, vec![cells.iter().map(width_of).max().unwrap_or(0)]);
    for n in [3usize, 2] {
        let per_col = cells.len().div_ceil(n);
        let widths: Vec<usize> = cells
            .chunks(per_col)
            .map(|c| c.iter().map(width_of).max().unwrap_or(0))
            .collect();
        if widths.iter().sum::<usize>() + 2 * (widths.len() - 1) <= width as usize {
            layout = (n, widths);
            break;
        }
    }
    let (n, widths) = layout;
    let per_col = cells.len().div_ceil(n);
    for row in 0..per_col {
        let mut spans = Vec::new();
        for (col, w) in widths.iter().enumerate() {
            let Some(cell) = cells.get(col * per_col + row) else {
                continue;
            };
            spans.extend(cell.iter().cloned());
            if col + 1 < widths.len() {
                spans.push(Span::raw(" ".repeat(w - width_of(cell) + 2)));
            }
        }
        lines.push(Line::from(spans));
    }
}
