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
use crate::app::store::{Prompt, Store};
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
        Stage::Reading => "reading",
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
        // From the top (the run's own lines) while the step fits, then with what it says under
        // it and two lines after.
        (true, Some(at)) => {
            let step = |l: &str| l.starts_with(['✓', '·', '■', '✖']);
            let next = lines
                .iter()
                .skip(at + 1)
                .position(|(_, l)| step(l))
                .map_or(lines.len(), |n| at + 1 + n);
            (next + 2).saturating_sub(rows).min(max)
        }
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

/// The one-line prompt before a membership wizard: the question with what is typed, then why
/// the last Enter was refused, or what the keys do.
pub fn render_prompt(s: &Store, p: &Prompt, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let inner = modal(t, &p.title(), centered(area, 60, 6), buf);
    let typed = crate::text::escape(&p.typed).into_owned();
    let mut lines = vec![
        Line::from(vec![
            Span::raw(Prompt::QUESTION),
            Span::styled(typed, Style::new().add_modifier(Modifier::BOLD)),
            Span::styled("█", Style::new().fg(t.accent)),
        ]),
        Line::raw(""),
    ];
    lines.push(match &p.error {
        Some(why) => Line::styled(why.clone(), style(t, Tone::Error)),
        None => Line::styled(
            "Enter confirms (the plan follows), Esc cancels.",
            style(t, Tone::Dim),
        ),
    });
    Paragraph::new(lines)
        .wrap(ratatui::widgets::Wrap { trim: false })
        .render(inner, buf);
}
