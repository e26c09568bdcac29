//! Two lines: cluster, health in words, quorum, leader, read-only badge; then where the console
//! is connected and how fresh the member list is.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::level_style;
use crate::app::msg::Level;
use crate::app::store::Store;
use crate::text::escape;
use crate::units;

pub fn render(s: &Store, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let dim = Style::new().fg(t.dim);
    let health = s.health();

    let mut first = Vec::new();
    // The cluster of the config file the console is on, by its name there.
    if let Some(name) = &s.named {
        first.push(Span::styled(
            format!(" {} ", escape(name)),
            bold.fg(t.accent).add_modifier(Modifier::REVERSED),
        ));
    }
    first.extend([
        Span::styled(
            format!(" {} ", escape(&s.cluster_name())),
            bold.fg(t.accent),
        ),
        Span::styled(
            match health.level {
                Level::Info => "● ",
                Level::Warn => "▲ ",
                Level::Error => "✖ ",
            },
            level_style(t, health.level),
        ),
        // Member names from etcd are in the words: shown escaped, never dropped or raw.
        Span::styled(
            escape(&health.words).into_owned(),
            level_style(t, health.level),
        ),
    ]);
    if !s.cluster.members.is_empty() {
        let q = s.quorum();
        let style = if q.up < q.needed {
            level_style(t, Level::Error)
        } else if q.up < q.voters {
            level_style(t, Level::Warn)
        } else {
            Style::new()
        };
        first.push(Span::styled("  quorum ", dim));
        first.push(Span::styled(format!("{}/{}", q.up, q.voters), style));
        first.push(Span::styled(format!(" up, needs {}", q.needed), dim));
        first.push(Span::styled("  leader ", dim));
        match s.cluster.leader {
            Some(id) => {
                let answers = s.member(id).is_some_and(|m| m.reachable());
                first.push(Span::styled(escape(&s.name_of(id)).into_owned(), bold));
                if !answers {
                    first.push(Span::styled(
                        " (not answering)",
                        level_style(t, Level::Warn),
                    ));
                }
            }
            None => first.push(Span::styled("none", level_style(t, Level::Error))),
        }
    }
    if s.read_only {
        first.push(Span::raw("  "));
        first.push(Span::styled(
            " READ-ONLY ",
            Style::new()
                .fg(t.warn)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ));
    }
    Line::from(first).render(Rect { height: 1, ..area }, buf);

    if area.height < 2 {
        return;
    }
    let mut second = vec![Span::raw(" ")];
    if let Some(id) = s.cluster.id {
        second.push(Span::styled(format!("id {id:x}  "), dim));
    }
    let n = s.target.endpoints.len();
    second.push(Span::styled(
        format!(
            "{n} endpoint{} from {}",
            if n == 1 { "" } else { "s" },
            s.target.origin
        ),
        dim,
    ));
    match (&s.cluster.list_error, s.cluster.list_at) {
        (Some((_, f)), _) => {
            second.push(Span::styled("  member list: ", dim));
            second.push(Span::styled(
                escape(f.short()).into_owned(),
                level_style(t, Level::Error),
            ));
        }
        (None, Some(at)) => second.push(Span::styled(
            format!(
                "  list {} ago",
                super::coarse(s.now.saturating_duration_since(at))
            ),
            dim,
        )),
        (None, None) => {}
    }
    second.push(Span::styled(
        format!("  every {}", units::duration(s.config.refresh)),
        dim,
    ));
    Line::from(second).render(
        Rect {
            y: area.y + 1,
            height: 1,
            ..area
        },
        buf,
    );
}
