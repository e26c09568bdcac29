//! The wizard modal: the plan (or why not) with the typed confirmation, then the run's
//! progress, then its result. The text and what scrolls come from `app::wizard`; here only how
//! it is drawn.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{centered, level_style, modal};
use crate::app::config::Theme;
use crate::app::msg::Level;
use crate::app::store::Store;
use crate::app::wizard::{wrap, Stage, Tone, WizardView, FOOT_ROWS, MODAL_WIDTH};

fn style(t: &Theme, tone: Tone) -> Style {
    match tone {
        Tone::Title => Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        Tone::Normal => Style::new(),
        Tone::Dim => Style::new().fg(t.dim),
        Tone::Accent => Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
        Tone::Ok => level_style(t, Level::Info),
        Tone::Warn => level_style(t, Level::Warn),
        Tone::Error => level_style(t, Level::Error),
    }
}

pub fn render(s: &Store, w: &WizardView, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let stage = match w.stage() {
        Stage::Refused => "refused",
        Stage::Nothing => "nothing to do",
        Stage::Confirm => "plan",
        Stage::Running => "running",
        Stage::Over => "result",
    };
    let title = format!("{}: {stage}", w.kind.title());
    let inner = modal(t, &title, centered(area, MODAL_WIDTH, area.height), buf);
    let [text, rule, foot] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(FOOT_ROWS - 1),
    ])
    .areas(inner);

    let lines = wrap(&w.lines(s.now), text.width as usize);
    let rows = text.height as usize;
    let max = lines.len().saturating_sub(rows);
    // While a run goes on and the operator has not scrolled, the step running stays in view.
    let following = w.scroll == 0 && w.stage() == Stage::Running;
    let running = lines.iter().position(|(_, l)| l.starts_with('▶'));
    let first = match (following, running) {
        // From the top (the run's own lines) while the step fits, then with two steps after it.
        (true, Some(at)) => (at + 3).saturating_sub(rows).min(max),
        _ => (w.scroll as usize).min(max),
    };
    let shown: Vec<Line> = lines
        .iter()
        .skip(first)
        .take(rows)
        .map(|(tone, l)| Line::styled(l.clone(), style(t, *tone)))
        .collect();
    Paragraph::new(shown).render(text, buf);

    // The rule says where the text is when it is longer than the pane.
    let dim = Style::new().fg(t.dim);
    let mut spans = Vec::new();
    if max > 0 {
        let label = format!(
            " lines {}-{} of {}, ↑↓ PgUp PgDn scroll ",
            first + 1,
            (first + rows).min(lines.len()),
            lines.len()
        );
        let left = (rule.width as usize).saturating_sub(label.chars().count() + 2);
        spans.push(Span::styled("─".repeat(left), dim));
        spans.push(Span::styled(label, Style::new().fg(t.accent)));
        spans.push(Span::styled("──", dim));
    } else {
        spans.push(Span::styled("─".repeat(rule.width as usize), dim));
    }
    Line::from(spans).render(rule, buf);

    let foot_lines: Vec<Line> = w
        .foot()
        .into_iter()
        .map(|(tone, l)| Line::styled(l, style(t, tone)))
        .collect();
    Paragraph::new(foot_lines).render(foot, buf);
}
