//! The demo's training overlay: the story of the scenario the demo started in (what happened,
//! the way out), and the drills with the member and the Patroni cluster they act on.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{centered, modal};
use crate::app::keymap::Action;
use crate::app::store::Store;
use crate::text::escape;

pub fn render(s: &Store, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let dim = Style::new().fg(t.dim);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let key = Style::new().fg(t.accent).add_modifier(Modifier::BOLD);
    let mut lines = Vec::new();
    if let Some(story) = s.lab.as_ref().and_then(|l| l.story.as_ref()) {
        lines.push(Line::styled(
            format!("Scenario {}", story.scenario.name()),
            bold.fg(t.warn),
        ));
        lines.push(Line::raw(story.happened.clone()));
        lines.push(Line::from(vec![
            Span::styled("To fix it: ", bold),
            Span::raw(story.fix.clone()),
        ]));
        lines.push(Line::raw(""));
    }
    let member = s.selected_member().map_or_else(
        || "none selected".to_string(),
        |m| escape(&m.name).into_owned(),
    );
    let scope = crate::app::update::selected_scope(s).unwrap_or_else(|| "the first".into());
    let drill = |k: &str, what: &str| {
        [
            Span::styled(format!("{k} "), key),
            Span::raw(format!("{what}  ")),
        ]
    };
    lines.push(Line::styled("Drills", bold.fg(t.accent)));
    let mut l = vec![
        Span::styled("  member ", dim),
        Span::styled(format!("{member}: "), bold),
    ];
    for (k, w) in [
        ("k", "kill"),
        ("f", "freeze"),
        ("t", "thaw"),
        ("s", "start"),
    ] {
        l.extend(drill(k, w));
    }
    lines.push(Line::from(l));
    let mut l = vec![
        Span::styled("  Patroni ", dim),
        Span::styled(format!("{}: ", escape(&scope)), bold),
    ];
    for (k, w) in [("w", "switch over"), ("F", "fail over")] {
        l.extend(drill(k, w));
    }
    lines.push(Line::from(l));
    let mut l = vec![Span::styled("  etcd: ", dim)];
    l.extend(drill("n", "fill the quota to NOSPACE"));
    lines.push(Line::from(l));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(
            "Pick the member in the members pane, the Patroni cluster in the key browser. What \
             a drill did shows on the flash line and in the timeline. {} closes, {} opens again.",
            s.config.keymap.key_of(Action::Back).unwrap_or_default(),
            s.config.keymap.key_of(Action::Training).unwrap_or_default()
        ),
        dim,
    ));
    let w = 80.min(area.width);
    let inner_w = w.saturating_sub(2).max(1) as usize;
    let rows: usize = lines
        .iter()
        // A wrapped line breaks at words: give each one a row of slack.
        .map(|l| match l.width().max(1) {
            w if w <= inner_w => 1,
            w => w.div_ceil(inner_w) + 1,
        })
        .sum();
    let h = (rows as u16 + 2).min(area.height);
    let inner = modal(t, "Training (demo)", centered(area, w, h), buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}
