//! The cluster switcher: the clusters named in the config file, the one the console is on
//! marked; Enter switches, Esc closes. With none named, how to name them.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{centered, modal};
use crate::app::keymap::Action;
use crate::app::store::Store;
use crate::text::escape;

pub fn render(s: &Store, selected: usize, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let dim = Style::new().fg(t.dim);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let km = &s.config.keymap;
    let mut lines = Vec::new();
    if s.config.clusters.is_empty() {
        for l in [
            "No clusters are named in the config file.",
            "",
            "Name them in $XDG_CONFIG_HOME/etcdeck/config.toml (or --config FILE),",
            "one table each, with one source:",
            "",
            "  [clusters.prod]",
            "  inventory = \"/home/dba/pigsty/pigsty.yml\"",
            "  [clusters.staging]",
            "  env = \"/home/dba/staging/etcdctl.sh\"",
            "  [clusters.lab]",
            "  endpoints = [\"https://10.0.0.1:2379\"]",
            "  cacert = \"lab/ca.crt\"   # cert, key too",
            "",
            "then pick one here, or start with --cluster NAME.",
        ] {
            lines.push(Line::raw(l));
        }
    } else {
        let width = s
            .config
            .clusters
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(0);
        let select = if t.no_color {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new().bg(t.selected_bg).add_modifier(Modifier::BOLD)
        };
        for (i, c) in s.config.clusters.iter().enumerate() {
            let here = s.named.as_deref() == Some(c.name.as_str());
            let mut spans = vec![
                Span::styled(if here { " ● " } else { "   " }, Style::new().fg(t.ok)),
                Span::styled(format!("{:<width$}", c.name), bold),
                Span::raw("  "),
                Span::styled(escape(&c.describe()).into_owned(), dim),
            ];
            if here {
                spans.push(Span::styled("  (current)", Style::new().fg(t.ok)));
            }
            let mut line = Line::from(spans);
            if i == selected {
                line = line.style(select);
            }
            lines.push(line);
        }
    }
    lines.push(Line::raw(""));
    let hint = if s.config.clusters.is_empty() {
        format!("{} closes", km.key_of(Action::Back).unwrap_or_default())
    } else {
        format!(
            "{}/{} move, Enter switches (read-only and the other flags stay), {} closes",
            km.key_of(Action::Up).unwrap_or_default(),
            km.key_of(Action::Down).unwrap_or_default(),
            km.key_of(Action::Back).unwrap_or_default()
        )
    };
    lines.push(Line::styled(hint, dim));
    let h = (lines.len() as u16 + 2).min(area.height);
    let w = 80.min(area.width);
    let inner = modal(t, "Clusters", centered(area, w, h), buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}
