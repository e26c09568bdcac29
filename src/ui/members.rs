//! The members pane: one row per member, the columns that fit, and the selected member's details.

use crate::etcd::model::Role;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, StatefulWidget, Table, Widget, Wrap};

use super::{bar, coarse, level_style};
use crate::app::msg::Level;
use crate::app::store::{Member, Reach, Store};
use crate::text::escape;
use crate::units;

/// The columns, in screen order, with their width and the order in which they are dropped when
/// the pane is narrow (highest `drop` goes first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Name,
    Id,
    Role,
    State,
    Version,
    Term,
    Index,
    Trails,
    Db,
    Latency,
}

/// Alarms show in STATE (`up, NOSPACE`) and in the details.
const COLS: [(Col, &str, u16, u8); 10] = [
    (Col::Name, "NAME", 10, 0),
    (Col::Id, "ID", 16, 10),
    (Col::Role, "ROLE", 8, 1),
    (Col::State, "STATE", 16, 2),
    (Col::Version, "VERSION", 7, 5),
    (Col::Term, "TERM", 5, 6),
    (Col::Index, "INDEX", 9, 9),
    (Col::Trails, "TRAILS", 6, 3),
    (Col::Db, "DB / QUOTA", 11, 4),
    (Col::Latency, "LATENCY", 7, 7),
];

/// The columns that fit in `width`, in screen order; NAME as wide as the longest name.
fn columns(width: u16, name_w: u16) -> Vec<(Col, &'static str, u16)> {
    let mut by_drop: Vec<_> = COLS.to_vec();
    by_drop[0].2 = name_w;
    by_drop.sort_by_key(|c| c.3);
    let mut used = 0u16;
    let mut keep = Vec::new();
    for &(col, _, w, _) in &by_drop {
        let need = w + if keep.is_empty() { 0 } else { 1 };
        if used + need <= width {
            used += need;
            keep.push(col);
        }
    }
    by_drop.sort_by_key(|c| COLS.iter().position(|d| d.0 == c.0));
    by_drop
        .iter()
        .filter(|c| keep.contains(&c.0))
        .map(|c| (c.0, c.1, c.2))
        .collect()
}

pub fn render(s: &Store, area: Rect, buf: &mut Buffer) {
    let rows = s.visible_members();
    let t = &s.config.theme;
    if s.cluster.members.is_empty() {
        let text = match &s.cluster.list_error {
            Some((_, f)) => vec![
                Line::styled("No endpoint answers the member list:", level_style(t, Level::Error)),
                Line::raw(escape(&f.text()).into_owned()),
                Line::raw(""),
                Line::styled(
                    "Retrying with backoff; r retries now. Check the endpoints and TLS files in the header.",
                    Style::new().fg(t.dim),
                ),
            ],
            None => vec![Line::styled(
                format!("Asking {} for the member list…", s.target.endpoints.join(", ")),
                Style::new().fg(t.dim),
            )],
        };
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .render(area, buf);
        return;
    }
    // The table gets its rows; the details the rest, when there is room.
    let table_h = (rows.len() as u16 + 1).max(2);
    let details_h = 7u16;
    let (table_area, details_area) = if area.height > table_h + details_h {
        let [a, _, b] = Layout::vertical([
            Constraint::Length(table_h),
            Constraint::Length(1),
            Constraint::Min(details_h),
        ])
        .areas(area);
        (a, Some(b))
    } else {
        (area, None)
    };

    let name_w = rows
        .iter()
        .map(|m| escape(&m.label()).chars().count() as u16)
        .max()
        .unwrap_or(4)
        .clamp(4, 20);
    let cols = columns(table_area.width, name_w);
    let header = Row::new(cols.iter().map(|c| c.1))
        .style(Style::new().fg(t.dim).add_modifier(Modifier::BOLD));
    let body: Vec<Row> = rows
        .iter()
        .map(|m| Row::new(cols.iter().map(|c| cell(s, m, c.0))))
        .collect();
    let widths: Vec<Constraint> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i + 1 == cols.len() {
                Constraint::Min(c.2)
            } else {
                Constraint::Length(c.2)
            }
        })
        .collect();
    let selected = s.ui.members.selected.min(rows.len().saturating_sub(1));
    let (mut state, highlight) = super::selection(t, rows.len(), selected);
    StatefulWidget::render(
        Table::new(body, widths)
            .header(header)
            .column_spacing(1)
            .row_highlight_style(highlight),
        table_area,
        buf,
        &mut state,
    );
    if rows.is_empty() {
        Line::styled(
            "  no member matches the filter (Esc clears it)",
            Style::new().fg(t.dim),
        )
        .render(
            Rect {
                y: table_area.y + 1,
                height: 1,
                ..table_area
            },
            buf,
        );
    }
    if let (Some(area), Some(m)) = (details_area, rows.get(selected)) {
        details(s, m, area, buf);
    }
}

fn cell<'a>(s: &'a Store, m: &'a Member, col: Col) -> Line<'a> {
    let t = &s.config.theme;
    let dim = Style::new().fg(t.dim);
    let stale = !m.reachable();
    let st = m.status.as_ref();
    let value = |text: String| -> Line<'a> {
        if stale {
            Line::styled(text, dim)
        } else {
            Line::raw(text)
        }
    };
    match col {
        Col::Name => Line::styled(
            escape(&m.label()).into_owned(),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Col::Id => Line::styled(format!("{:016x}", m.id), dim),
        Col::Role => {
            let role = s.role(m);
            let style = match role {
                Role::Leader => Style::new().fg(t.accent).add_modifier(Modifier::BOLD),
                Role::Learner => Style::new().fg(t.warn),
                Role::Follower => Style::new(),
            };
            Line::styled(role.as_str(), style)
        }
        Col::State => state(s, m),
        Col::Version => value(st.map_or("-".into(), |p| escape(&p.version).into_owned())),
        Col::Term => value(st.map_or("-".into(), |p| p.raft_term.to_string())),
        Col::Index => value(st.map_or("-".into(), |p| p.raft_index.to_string())),
        // A stale Status says nothing about how far it trails now.
        Col::Trails => match s.trails_leader(m).filter(|_| !stale) {
            Some(0) => value("0".into()),
            Some(n) => Line::styled(n.to_string(), level_style(t, Level::Warn)),
            None => value("-".into()),
        },
        Col::Db => match st {
            Some(p) => {
                let q = s.cluster.quota.bytes.max(1) as f64;
                let frac = p.db_size as f64 / q;
                let style = if frac >= 0.9 {
                    level_style(t, Level::Error)
                } else if frac >= 0.8 {
                    level_style(t, Level::Warn)
                } else if stale {
                    dim
                } else {
                    Style::new().fg(t.ok)
                };
                Line::from(vec![
                    Span::styled(bar(frac, 4), style),
                    Span::styled(
                        format!(" {}", units::bytes_short(p.db_size)),
                        if stale { dim } else { Style::new() },
                    ),
                ])
            }
            None => value("-".into()),
        },
        Col::Latency => match (&m.reach, st) {
            (Reach::Up, Some(p)) => Line::raw(units::latency(p.latency)),
            _ => Line::styled("-", dim),
        },
    }
}

/// `up`, `unreachable 12s`, `unstarted`, `NOSPACE`.
fn state<'a>(s: &Store, m: &Member) -> Line<'a> {
    let t = &s.config.theme;
    let alarm = s.alarms().into_iter().find(|a| a.member_id == m.id);
    match &m.reach {
        Reach::Unknown => Line::styled("asking…", Style::new().fg(t.dim)),
        Reach::Unstarted => Line::styled("unstarted", level_style(t, Level::Warn)),
        Reach::Up => match alarm {
            Some(a) => Line::styled(format!("up, {}", a.kind), level_style(t, Level::Error)),
            None => match m.metrics.as_ref().map_or(0, |mm| mm.alerts.len()) {
                0 => Line::styled("up", Style::new().fg(t.ok)),
                1 => Line::styled("up, 1 alert", level_style(t, Level::Warn)),
                n => Line::styled(format!("up, {n} alerts"), level_style(t, Level::Warn)),
            },
        },
        Reach::Down { since, .. } | Reach::Stalled { since } => Line::styled(
            format!(
                "unreachable {}",
                coarse(s.now.saturating_duration_since(*since))
            ),
            level_style(t, Level::Error),
        ),
    }
}

fn details(s: &Store, m: &Member, area: Rect, buf: &mut Buffer) {
    let t = &s.config.theme;
    let dim = Style::new().fg(t.dim);
    let key = |k: &'static str| Span::styled(format!("{k:<8}"), dim);
    let mut lines = Vec::new();
    let st = m.status.as_ref();
    lines.push(Line::from(vec![
        Span::styled(
            escape(&m.label()).into_owned(),
            Style::new().add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("  id {:x}  ", m.id), dim),
        Span::raw(s.role(m).as_str()),
        Span::styled(
            st.map_or(String::new(), |p| format!("  etcd {}", escape(&p.version))),
            dim,
        ),
    ]));
    lines.push(Line::from(vec![
        key("client"),
        Span::raw(if m.client_urls.is_empty() {
            "(none: not started)".to_string()
        } else {
            escape(&m.client_urls.join(",")).into_owned()
        }),
    ]));
    lines.push(Line::from(vec![
        key("peer"),
        Span::raw(escape(&m.peer_urls.join(",")).into_owned()),
    ]));
    if let Some(p) = st {
        let trails = s
            .trails_leader(m)
            .map_or(String::new(), |n| format!(", trails leader by {n}"));
        lines.push(Line::from(vec![
            key("raft"),
            Span::raw(format!(
                "term {}, committed {}, applied {}{trails}",
                p.raft_term, p.raft_index, p.raft_applied_index
            )),
        ]));
        let q = s.cluster.quota.bytes.max(1);
        lines.push(Line::from(vec![
            key("db"),
            Span::raw(format!(
                "{} on disk, {} in use, {:.1}% of quota {}",
                units::bytes(p.db_size),
                units::bytes(p.db_size_in_use),
                p.db_size as f64 * 100.0 / q as f64,
                units::bytes(q),
            )),
        ]));
    }
    let answered = match (&m.reach, m.status_at) {
        (Reach::Up, Some(at)) => Span::raw(format!(
            "answered in {}, {} ago",
            st.map_or("-".into(), |p| units::latency(p.latency)),
            coarse(s.now.saturating_duration_since(at))
        )),
        (Reach::Stalled { since }, _) => Span::styled(
            format!(
                "no answer for {} (it accepts connections but does not reply: frozen or overloaded?)",
                coarse(s.now.saturating_duration_since(*since))
            ),
            level_style(t, Level::Error),
        ),
        (Reach::Down { since, why }, _) => Span::styled(
            format!(
                "unreachable for {}: {}",
                coarse(s.now.saturating_duration_since(*since)),
                escape(&why.text())
            ),
            level_style(t, Level::Error),
        ),
        (Reach::Unstarted, _) => Span::styled(unstarted_hint(s, m), level_style(t, Level::Warn)),
        _ => Span::styled("not asked yet", dim),
    };
    lines.push(Line::from(vec![key("probe"), answered]));
    if let Some(p) = st {
        for e in &p.errors {
            let text = match crate::app::store::parse_alarm(e) {
                Some(a) => format!(
                    "{} alarm raised by {}: the cluster takes only reads and deletes until it is \
                     compacted, defragmented and the alarm disarmed",
                    a.kind,
                    escape(&s.name_of(a.member_id))
                ),
                None => escape(e).into_owned(),
            };
            lines.push(Line::from(vec![
                key("reports"),
                Span::styled(text, level_style(t, Level::Warn)),
            ]));
        }
    }
    if let Some(mm) = &m.metrics {
        metrics_lines(s, mm, &mut lines);
    }
    // A member added but never started shows what to do even while another is selected.
    for u in s
        .cluster
        .members
        .iter()
        .filter(|u| u.id != m.id && u.reach == Reach::Unstarted)
    {
        lines.push(Line::from(vec![
            key("note"),
            Span::styled(
                format!("{}: {}", escape(&u.label()), unstarted_hint(s, u)),
                level_style(t, Level::Warn),
            ),
        ]));
    }
    if let (Some((at, f)), Reach::Up) = (&m.last_error, &m.reach) {
        lines.push(Line::from(vec![
            key("last"),
            Span::styled(
                format!(
                    "{} ago: {}",
                    coarse(s.now.saturating_duration_since(*at)),
                    escape(&f.text())
                ),
                dim,
            ),
        ]));
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(area, buf);
}

/// What to do about a member added but never started: start it on its node, or roll it back
/// (the remove key, when the console may change the cluster).
pub fn unstarted_hint(s: &Store, m: &Member) -> String {
    use crate::app::keymap::Action;
    let what = if crate::etcd::model::MemberFacts::is_learner(m) {
        "learner added, never started"
    } else {
        "added, never started"
    };
    let start = "start it on its node (etcd_init=existing)";
    let remove = s
        .config
        .keymap
        .key_of(Action::MemberRemove)
        .filter(|_| !s.read_only);
    match remove {
        Some(k) => format!("{what}: {start}, or {k} rolls it back (removes it)"),
        None => format!("{what}: {start}, or remove it (`etcdeck member remove`)"),
    }
}

/// The member's `/metrics`: p99s with Pigsty's thresholds and sparklines, the alerts firing.
fn metrics_lines(s: &Store, mm: &crate::app::store::MemberMetrics, lines: &mut Vec<Line<'static>>) {
    use crate::etcd::metrics::{FSYNC_ALERT_S, PEER_RTT_ALERT_S, QUOTA_ALERT_RATIO};
    let t = &s.config.theme;
    let dim = Style::new().fg(t.dim);
    let key = |k: &'static str| Span::styled(format!("{k:<8}"), dim);
    let ms = |v: Option<f64>| {
        v.map_or("-".to_string(), |s| {
            units::latency(std::time::Duration::from_secs_f64(s))
        })
    };
    let over = |v: Option<f64>, limit: f64| {
        if v.is_some_and(|v| v >= limit) {
            level_style(t, Level::Error)
        } else {
            Style::new()
        }
    };
    if let Some(f) = &mm.error {
        lines.push(Line::from(vec![
            key("metrics"),
            Span::styled(escape(&f.text()).into_owned(), level_style(t, Level::Warn)),
        ]));
    }
    if mm.at.is_none() {
        return;
    }
    let d = &mm.derived;
    lines.push(Line::from(vec![
        key("fsync"),
        Span::styled(
            format!("p99 {}", ms(d.wal_fsync_p99_s)),
            over(d.wal_fsync_p99_s, FSYNC_ALERT_S),
        ),
        Span::styled(format!(" (alert at {}) ", ms(Some(FSYNC_ALERT_S))), dim),
        Span::styled(
            super::spark(&mm.fsync_p99_ms, 16),
            Style::new().fg(t.accent),
        ),
        Span::styled(format!("  commit p99 {}", ms(d.backend_commit_p99_s)), dim),
    ]));
    let worst = d
        .peer_rtt_p99_s
        .values()
        .flatten()
        .copied()
        .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))));
    let peers: Vec<String> = d
        .peer_rtt_p99_s
        .iter()
        .map(|(peer, v)| {
            let name = u64::from_str_radix(peer, 16).map_or(peer.clone(), |id| s.name_of(id));
            format!("{} {}", escape(&name), ms(*v))
        })
        .collect();
    lines.push(Line::from(vec![
        key("peers"),
        Span::styled(
            format!(
                "rtt p99 {}",
                if peers.is_empty() {
                    "-".into()
                } else {
                    peers.join(", ")
                }
            ),
            over(worst, PEER_RTT_ALERT_S),
        ),
        Span::styled(format!(" (alert at {}) ", ms(Some(PEER_RTT_ALERT_S))), dim),
        Span::styled(
            super::spark(&mm.peer_rtt_p99_ms, 16),
            Style::new().fg(t.accent),
        ),
    ]));
    let snap = &mm.last;
    let quota = snap.quota_bytes.unwrap_or(0);
    let ratio = snap.db_total_bytes.map(|b| b as f64 / quota.max(1) as f64);
    lines.push(Line::from(vec![
        key("quota"),
        Span::styled(
            format!(
                "{} of {} ({:.1}%)",
                units::bytes(snap.db_total_bytes.unwrap_or(0)),
                units::bytes(quota),
                ratio.unwrap_or(0.0) * 100.0
            ),
            over(ratio, QUOTA_ALERT_RATIO),
        ),
        Span::styled(
            format!(" (alert at {:.0}%) ", QUOTA_ALERT_RATIO * 100.0),
            dim,
        ),
        Span::styled(super::spark(&mm.db_bytes, 16), Style::new().fg(t.accent)),
    ]));
    lines.push(Line::from(vec![
        key("raft"),
        Span::styled(
            format!(
                "leader changes {}, proposals pending {}, failed {}",
                snap.leader_changes
                    .map_or("-".into(), |v| format!("{v:.0}")),
                snap.proposals_pending
                    .map_or("-".into(), |v| format!("{v:.0}")),
                snap.proposals_failed
                    .map_or("-".into(), |v| format!("{v:.0}")),
            ),
            dim,
        ),
    ]));
    for a in &mm.alerts {
        lines.push(Line::from(vec![
            key("ALERT"),
            Span::styled(
                escape(&format!("{}: {a}", a.rule())).into_owned(),
                level_style(t, Level::Error),
            ),
        ]));
    }
}
