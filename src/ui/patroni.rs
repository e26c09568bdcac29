//! The Patroni summary of the cluster a directory belongs to: who leads and for how long its
//! lease holds, each member's role, state, timeline and lag, the sync standby, failsafe members,
//! a pending switchover, the last switchovers, config highlights, and warnings.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::level_style;
use crate::app::msg::Level;
use crate::app::store::Store;
use crate::patroni::{self, ClusterSummary};
use crate::text::escape;
use crate::units;

/// The summaries for the directory `dir`: its Patroni cluster (or Citus group), or every cluster
/// when `dir` is the namespace itself.
pub fn summaries(s: &Store, dir: &[u8]) -> Vec<ClusterSummary> {
    let k = &s.keys;
    let Some(scope) = k.scope_of(dir) else {
        return Vec::new();
    };
    let now = s.now;
    let mut all = k.summaries_under(scope, &|lease| k.lease_left(lease, now));
    // Inside a Citus group directory, that group only.
    let rest = String::from_utf8_lossy(&dir[scope.len()..]).into_owned();
    if let Some(group) = rest.split('/').next().and_then(|g| g.parse::<u32>().ok()) {
        all.retain(|c| c.group == Some(group));
    }
    all
}

pub fn summary(s: &Store, dir: &[u8]) -> Vec<Line<'static>> {
    let t = &s.config.theme;
    let dim = Style::new().fg(t.dim);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let all = summaries(s, dir);
    if all.is_empty() {
        return vec![Line::styled(
            "not a Patroni cluster: no leader, members/, config or status key here",
            dim,
        )];
    }
    let mut lines = Vec::new();
    for c in &all {
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        let mut head = vec![Span::styled(
            escape(&c.label()).into_owned(),
            bold.fg(t.accent),
        )];
        match &c.leader {
            Some(l) => {
                head.push(Span::styled("  leader ", dim));
                head.push(Span::styled(escape(l).into_owned(), bold));
                match c.leader_ttl_s {
                    Some(n) if n >= 0 => {
                        let style = if (n as u64) < c.config.loop_wait {
                            level_style(t, Level::Error)
                        } else {
                            Style::new()
                        };
                        head.push(Span::styled(format!(" (lease {n}s left)"), style));
                    }
                    Some(_) => head.push(Span::styled(
                        " (lease expired)",
                        level_style(t, Level::Error),
                    )),
                    None => head.push(Span::styled(" (lease …)", dim)),
                }
            }
            None => head.push(Span::styled("  NO LEADER", level_style(t, Level::Error))),
        }
        if let Some(tl) = c.timeline {
            head.push(Span::styled(format!("  timeline {tl}"), dim));
        }
        if c.paused {
            head.push(Span::styled("  PAUSED", level_style(t, Level::Warn)));
        }
        lines.push(Line::from(head));

        let mut roles = Vec::new();
        if !c.sync_standby.is_empty() {
            roles.push(format!(
                "sync standby {}",
                escape(&c.sync_standby.join(", "))
            ));
        }
        if !c.failsafe.is_empty() {
            roles.push(format!("failsafe {}", escape(&c.failsafe.join(", "))));
        }
        if !roles.is_empty() {
            lines.push(Line::styled(roles.join("  "), dim));
        }

        // Columns as wide as their widest cell.
        let width = |f: &dyn Fn(&patroni::MemberSummary) -> String, head: &str| {
            c.members
                .iter()
                .map(|m| f(m).chars().count())
                .max()
                .unwrap_or(0)
                .max(head.len())
        };
        let name_of = |m: &patroni::MemberSummary| escape(&m.name).into_owned();
        let role_of =
            |m: &patroni::MemberSummary| escape(m.role.as_deref().unwrap_or("?")).into_owned();
        let state_of =
            |m: &patroni::MemberSummary| escape(m.state.as_deref().unwrap_or("?")).into_owned();
        let (nw, rw, sw) = (
            width(&name_of, "MEMBER"),
            width(&role_of, "ROLE"),
            width(&state_of, "STATE"),
        );
        lines.push(Line::styled(
            format!(
                "{:<nw$} {:<rw$} {:<sw$} {:>3} {:>10}  {}",
                "MEMBER", "ROLE", "STATE", "TL", "LAG", "REPLICATION"
            ),
            dim.add_modifier(Modifier::BOLD),
        ));
        for m in &c.members {
            let lag = match (m.lag_bytes, c.leader.as_deref() == Some(m.name.as_str())) {
                (_, true) => "-".to_string(),
                (Some(b), false) => units::bytes(b),
                (None, false) => "?".to_string(),
            };
            let over = m
                .lag_bytes
                .is_some_and(|b| b > c.config.maximum_lag_on_failover);
            let mut spans = vec![Span::styled(
                format!("{:<nw$} ", name_of(m)),
                if c.leader.as_deref() == Some(m.name.as_str()) {
                    bold
                } else {
                    Style::new()
                },
            )];
            spans.push(Span::raw(format!(
                "{:<rw$} {:<sw$} {:>3} ",
                role_of(m),
                state_of(m),
                m.timeline.map_or("?".to_string(), |t| t.to_string()),
            )));
            spans.push(Span::styled(
                format!("{lag:>10}"),
                if over {
                    level_style(t, Level::Error)
                } else {
                    Style::new()
                },
            ));
            let mut extra = m
                .replication_state
                .as_deref()
                .map(|r| escape(r).into_owned())
                .unwrap_or_default();
            if m.pending_restart {
                extra.push_str(" pending restart");
            }
            if m.nofailover() {
                extra.push_str(" nofailover");
            }
            spans.push(Span::styled(format!("  {extra}"), dim));
            lines.push(Line::from(spans));
        }

        let cfg = &c.config;
        lines.push(Line::styled(
            format!(
                "ttl {}s  loop_wait {}s  failsafe {}  synchronous {}  max lag {}",
                cfg.ttl,
                cfg.loop_wait,
                on_off(cfg.failsafe_mode),
                on_off(cfg.synchronous_mode),
                units::bytes(cfg.maximum_lag_on_failover)
            ),
            dim,
        ));
        if let Some(f) = &c.failover {
            lines.push(Line::styled(
                format!(
                    "pending {}: {} -> {}{}",
                    if f.is_switchover() {
                        "switchover"
                    } else {
                        "failover"
                    },
                    escape(f.leader.as_deref().unwrap_or("(leader)")),
                    escape(f.candidate.as_deref().unwrap_or("(any)")),
                    f.scheduled_at
                        .as_deref()
                        .map(|at| format!(" at {}", escape(at)))
                        .unwrap_or_default()
                ),
                level_style(t, Level::Warn),
            ));
        }
        for sw in c.last_switches(3) {
            lines.push(Line::styled(
                format!(
                    "switch: timeline {} -> {}{}{}{}",
                    sw.timeline,
                    sw.to_timeline.map_or("?".to_string(), |t| t.to_string()),
                    sw.new_leader
                        .as_deref()
                        .map(|l| format!(" to {}", escape(l)))
                        .unwrap_or_default(),
                    sw.timestamp
                        .as_deref()
                        .map(|at| format!(" at {}", escape(at)))
                        .unwrap_or_default(),
                    sw.reason
                        .as_deref()
                        .map(|r| format!(" ({})", escape(r)))
                        .unwrap_or_default(),
                ),
                dim,
            ));
        }
        for w in &c.warnings {
            lines.push(Line::styled(format!("! {w}"), level_style(t, Level::Warn)));
        }
    }
    lines
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}
