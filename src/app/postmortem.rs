//! The postmortem export of `etcdeck timeline --json | --markdown`: for a window of time, the rows
//! (etcd's cluster row, each member, each Patroni cluster) as spans of one state, the events of
//! etcd, Patroni and the operations merged in time order with UTC times, and a summary (the
//! longest unavailability, leader changes, failovers, operations). Pure: built from the history
//! and the audit log's entries the caller read.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

use serde::Serialize;

use super::msg::Level;
use super::timeline::{chart, Cell, Tag, Timeline};
use crate::text::escape;
use crate::wizard::audit::{self, rfc3339};

/// The export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub cluster_id: String,
    /// The window, RFC 3339 UTC: `from` included, `until` excluded.
    pub from: String,
    pub until: String,
    pub from_unix: u64,
    pub until_unix: u64,
    pub summary: Summary,
    pub rows: Vec<Row>,
    pub events: Vec<EventOut>,
    /// Lines of the history file that could not be read.
    pub skipped_lines: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Seconds of the window the console recorded (the rest is unknown).
    pub recorded_s: u64,
    /// Seconds without a leader or a quorum.
    pub unavailable_s: u64,
    /// Seconds available with a member down: a quorum held, with less to spare.
    pub degraded_s: u64,
    pub longest_unavailability: Option<SpanOut>,
    /// Members with seconds down, most first.
    pub members_down: Vec<Count>,
    pub etcd_leader_changes: usize,
    /// Patroni clusters whose primary changed without a switchover asked.
    pub failovers: usize,
    pub switchovers: usize,
    /// Patroni clusters with seconds without a leader key, most first.
    pub patroni_without_leader: Vec<Count>,
    pub operations: Vec<Operation>,
}

/// A name and a number of seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub name: String,
    pub seconds: u64,
}

/// One operation of the audit log in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operation {
    pub operation: String,
    /// The OS user, and the etcd user in parentheses.
    pub by: String,
    pub began: String,
    pub ended: Option<String>,
    pub steps: usize,
    /// `ok`, or the first failure.
    pub outcome: String,
}

/// One row of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub name: String,
    /// `etcd-cluster`, `etcd-member` or `patroni`.
    pub kind: &'static str,
    /// The recorded spans of one state, oldest first (unknown time is left out).
    pub spans: Vec<SpanOut>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpanOut {
    pub from: String,
    /// Excluded.
    pub until: String,
    pub seconds: u64,
    pub state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventOut {
    pub time: String,
    pub unix: u64,
    pub level: &'static str,
    /// `etcd`, `pg` or `op`.
    pub source: &'static str,
    pub tag: &'static str,
    pub text: String,
}

/// A cell's state in words.
fn state_word(c: Cell) -> &'static str {
    match c {
        Cell::Unknown => "unknown",
        Cell::Up => "up",
        Cell::Learner => "learner",
        Cell::NoLeader => "no-leader",
        Cell::Down => "down",
        Cell::Available => "available",
        Cell::Unavailable => "unavailable",
        Cell::LeaderKey => "leader-key",
        Cell::NoLeaderKey => "no-leader-key",
    }
}

fn level_word(l: Level) -> &'static str {
    match l {
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    }
}

/// The runs of one state in `[from, until)` of a row: (start, end, cell), unknown included.
fn runs(cells: &VecDeque<Cell>, first: u64, from: u64, until: u64) -> Vec<(u64, u64, Cell)> {
    let mut out: Vec<(u64, u64, Cell)> = Vec::new();
    for sec in from.max(first)..until {
        let c = cells
            .get((sec - first) as usize)
            .copied()
            .unwrap_or(Cell::Unknown);
        match out.last_mut() {
            Some((_, end, last)) if *last == c && *end == sec => *end = sec + 1,
            _ => out.push((sec, sec + 1, c)),
        }
    }
    out
}

fn span(start: u64, end: u64, c: Cell) -> SpanOut {
    SpanOut {
        from: rfc3339(start),
        until: rfc3339(end),
        seconds: end - start,
        state: state_word(c),
    }
}

fn row(name: &str, kind: &'static str, runs: &[(u64, u64, Cell)]) -> Row {
    Row {
        name: escape(name).into_owned(),
        kind,
        spans: runs
            .iter()
            .filter(|(_, _, c)| *c != Cell::Unknown)
            .map(|(s, e, c)| span(*s, *e, *c))
            .collect(),
    }
}

/// A console that starts while a member is down says so at its first probe; when the history
/// already had that member down (an earlier console saw it go), that is not news: the export
/// tells the member going down once.
fn told_before(t: &Timeline, e: &super::timeline::Event) -> bool {
    if e.tag != Tag::Etcd {
        return false;
    }
    t.members.values().any(|m| {
        let name = escape(&m.name);
        (e.text.starts_with(&format!("{name} unreachable"))
            || e.text.starts_with(&format!("{name} not answering")))
            && e.at > t.first
            && m.cells
                .iter()
                .take((e.at - t.first) as usize)
                .rev()
                .find(|c| **c != Cell::Unknown)
                == Some(&Cell::Down)
    })
}

/// The seconds of `[from, until)` the cluster was available while a member was down.
fn degraded_seconds(t: &Timeline, from: u64, until: u64) -> u64 {
    (from.max(t.first)..until.min(t.end()))
        .filter(|sec| {
            let i = (sec - t.first) as usize;
            t.cluster.get(i) == Some(&Cell::Available)
                && t.members
                    .values()
                    .any(|m| m.cells.get(i) == Some(&Cell::Down))
        })
        .count() as u64
}

fn seconds_in(runs: &[(u64, u64, Cell)], cell: Cell) -> u64 {
    runs.iter()
        .filter(|(_, _, c)| *c == cell)
        .map(|(s, e, _)| e - s)
        .sum()
}

/// The report of `[from, until)`: the history `t` (with the audit log's operations already merged
/// as events) and the audit log's entries for the operations' summary.
pub fn report(
    t: &Timeline,
    cluster_id: u64,
    from: u64,
    until: u64,
    ops: &[audit::Entry],
) -> Report {
    let cluster_runs = runs(&t.cluster, t.first, from, until);
    let longest = cluster_runs
        .iter()
        .filter(|(_, _, c)| *c == Cell::Unavailable)
        .max_by_key(|(s, e, _)| (e - s, std::cmp::Reverse(*s)))
        .map(|(s, e, c)| span(*s, *e, *c));
    let mut rows = vec![row("cluster", "etcd-cluster", &cluster_runs)];
    let mut members_down = Vec::new();
    for m in t.rows_by_name() {
        let r = runs(&m.cells, t.first, from, until);
        let down = seconds_in(&r, Cell::Down);
        if down > 0 {
            members_down.push(Count {
                name: escape(&m.name).into_owned(),
                seconds: down,
            });
        }
        rows.push(row(&m.name, "etcd-member", &r));
    }
    let mut without = Vec::new();
    for p in t.pg_rows() {
        let r = p.runs.spans(from.max(t.first), until);
        let none = seconds_in(&r, Cell::NoLeaderKey);
        if none > 0 {
            without.push(Count {
                name: escape(&p.name).into_owned(),
                seconds: none,
            });
        }
        rows.push(row(&p.name, "patroni", &r));
    }
    members_down.sort_by_key(|c| std::cmp::Reverse(c.seconds));
    without.sort_by_key(|c| std::cmp::Reverse(c.seconds));

    let mut events: Vec<_> = t
        .events
        .iter()
        .filter(|e| e.at >= from && e.at < until && !told_before(t, e))
        .collect();
    events.sort_by_key(|e| e.at);
    let count = |tag: Tag| events.iter().filter(|e| e.tag == tag).count();
    let summary = Summary {
        recorded_s: cluster_runs
            .iter()
            .filter(|(_, _, c)| *c != Cell::Unknown)
            .map(|(s, e, _)| e - s)
            .sum(),
        unavailable_s: seconds_in(&cluster_runs, Cell::Unavailable),
        degraded_s: degraded_seconds(t, from, until),
        longest_unavailability: longest,
        members_down,
        etcd_leader_changes: count(Tag::EtcdLeader),
        failovers: count(Tag::PgFailover),
        switchovers: count(Tag::PgSwitchover),
        patroni_without_leader: without,
        operations: operations(ops, from, until),
    };
    Report {
        cluster_id: format!("{cluster_id:x}"),
        from: rfc3339(from),
        until: rfc3339(until),
        from_unix: from,
        until_unix: until,
        summary,
        rows,
        events: events
            .into_iter()
            .map(|e| EventOut {
                time: rfc3339(e.at),
                unix: e.at,
                level: level_word(e.level),
                source: e.tag.source(),
                tag: e.tag.word(),
                text: escape(&e.text).into_owned(),
            })
            .collect(),
        skipped_lines: t.skipped_lines,
    }
}

/// The audit log's ends of steps as timeline events, in time order with the others. The
/// console's own words about an operation the audit log has (its step events, which name the
/// operation) give way to the log's, so a step is told once.
pub fn merge_operations(t: &mut Timeline, ops: &[audit::Entry]) {
    let ids: std::collections::HashSet<&str> = ops.iter().map(|e| e.operation.as_str()).collect();
    t.events
        .retain(|e| e.tag != Tag::Operation || !ids.iter().any(|id| e.text.contains(id)));
    for e in ops.iter().filter(|e| e.phase == "end") {
        let level = if e.outcome.as_deref() == Some("ok") {
            Level::Info
        } else {
            Level::Warn
        };
        t.event_tagged(e.unix, level, Tag::Operation, audit::event_text(e));
    }
    let mut events: Vec<_> = t.events.drain(..).collect();
    events.sort_by_key(|e| e.at);
    t.events.extend(events);
}

/// The audit log's operations that did something in the window, in the order they began.
fn operations(ops: &[audit::Entry], from: u64, until: u64) -> Vec<Operation> {
    let mut by_id: BTreeMap<&str, Vec<&audit::Entry>> = BTreeMap::new();
    for e in ops.iter().filter(|e| e.unix >= from && e.unix < until) {
        by_id.entry(e.operation.as_str()).or_default().push(e);
    }
    let mut out: Vec<(u64, Operation)> = by_id
        .into_iter()
        .map(|(id, entries)| {
            let first = entries[0];
            let ends: Vec<&&audit::Entry> = entries.iter().filter(|e| e.phase == "end").collect();
            // A step tried again (a retry, a resumed run) counts once, with its last outcome.
            let mut steps: Vec<(&str, Option<&str>)> = Vec::new();
            for e in &ends {
                let outcome = e.outcome.as_deref();
                match steps.iter_mut().find(|(s, _)| *s == e.step) {
                    Some(s) => s.1 = outcome,
                    None => steps.push((e.step.as_str(), outcome)),
                }
            }
            let failed = steps.iter().find_map(|(_, o)| o.filter(|o| *o != "ok"));
            let retried = ends.len() - steps.len();
            let by = match &first.etcd_user {
                Some(u) => format!("{} (etcd user {u})", first.os_user),
                None => first.os_user.clone(),
            };
            let op = Operation {
                operation: escape(id).into_owned(),
                by: escape(&by).into_owned(),
                began: rfc3339(first.unix),
                ended: ends.last().map(|e| rfc3339(e.unix)),
                steps: steps.len(),
                outcome: match failed {
                    Some(f) => escape(f).into_owned(),
                    None if ends.len() < entries.len() - ends.len() => {
                        "unfinished: a step began and did not end".into()
                    }
                    None if retried == 1 => "ok, after 1 failed try".into(),
                    None if retried > 1 => format!("ok, after {retried} failed tries"),
                    None => "ok".into(),
                },
            };
            (first.unix, op)
        })
        .collect();
    out.sort_by_key(|(at, _)| *at);
    out.into_iter().map(|(_, o)| o).collect()
}

/// The report as JSON.
pub fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default()
}

/// `12 s`, `3 min 4 s`, `1 h 2 min`.
fn secs(s: u64) -> String {
    crate::units::duration(std::time::Duration::from_secs(s))
}

/// Text in a Markdown table cell: a pipe cannot break the table, nor `<` start HTML.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('<', "&lt;")
}

/// `2026-12-02 03:12:01` of an RFC 3339 time.
fn human(rfc: &str) -> String {
    rfc.replacen('T', " ", 1).trim_end_matches('Z').to_string()
}

/// The report as Markdown, for the incident's ticket: the summary, the rows as a chart (at
/// most `columns` columns), and the events as a table.
pub fn markdown(r: &Report, t: &Timeline, columns: usize) -> String {
    let s = &r.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# etcd and Patroni timeline: cluster {}\n",
        r.cluster_id
    );
    let _ = writeln!(
        out,
        "From {} to {} (UTC), {} recorded of {}.\n",
        human(&r.from),
        human(&r.until),
        secs(s.recorded_s),
        secs(r.until_unix - r.from_unix)
    );
    out.push_str("## Summary\n\n");
    match &s.longest_unavailability {
        Some(l) => {
            let _ = writeln!(
                out,
                "- **etcd unavailable** (no leader, or no quorum) for {} in all; the longest: {} from {} to {}",
                secs(s.unavailable_s),
                secs(l.seconds),
                human(&l.from),
                human(&l.until)
            );
        }
        None => {
            out.push_str("- etcd was available (a leader and a quorum) the whole time recorded\n")
        }
    }
    if s.degraded_s > 0 {
        let _ = writeln!(
            out,
            "- etcd degraded (available, a member down) for {}",
            secs(s.degraded_s)
        );
    }
    if s.members_down.is_empty() {
        out.push_str("- no member was down\n");
    } else {
        let list: Vec<String> = s
            .members_down
            .iter()
            .map(|c| format!("{} {}", cell(&c.name), secs(c.seconds)))
            .collect();
        let _ = writeln!(out, "- members down: {}", list.join(", "));
    }
    let _ = writeln!(out, "- etcd leader changes: {}", s.etcd_leader_changes);
    let _ = writeln!(
        out,
        "- Patroni: {} failover(s), {} switchover(s)",
        s.failovers, s.switchovers
    );
    if !s.patroni_without_leader.is_empty() {
        let list: Vec<String> = s
            .patroni_without_leader
            .iter()
            .map(|c| format!("{} {}", cell(&c.name), secs(c.seconds)))
            .collect();
        let _ = writeln!(
            out,
            "- Patroni clusters without a leader key: {}",
            list.join(", ")
        );
    }
    if s.operations.is_empty() {
        out.push_str("- operations: none\n");
    } else {
        let _ = writeln!(out, "- operations: {}", s.operations.len());
        for o in &s.operations {
            let _ = writeln!(
                out,
                "  - `{}` by {}, began {}, {} step(s): {}",
                o.operation.replace('`', "'"),
                cell(&o.by),
                human(&o.began),
                o.steps,
                cell(&o.outcome)
            );
        }
    }
    out.push_str("\n## Rows\n\n```text\n");
    let span = r.until_unix - r.from_unix;
    let zoom = span.div_ceil(columns.max(1) as u64).max(1);
    let cols = span.div_ceil(zoom) as usize;
    out.push_str(&chart(t, r.until_unix, zoom, cols));
    out.push_str("```\n\n## Events\n\n");
    if r.events.is_empty() {
        out.push_str("No events in that time.\n");
        return out;
    }
    out.push_str("| time (UTC) | source | level | event |\n|---|---|---|---|\n");
    for e in &r.events {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            human(&e.time),
            e.source,
            e.level,
            cell(&e.text)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_795_000_000;

    fn entry(op: &str, phase: &str, step: &str, at: u64, outcome: Option<&str>) -> audit::Entry {
        audit::Entry {
            time: rfc3339(at),
            unix: at,
            os_user: "alice".into(),
            etcd_user: Some("root".into()),
            cluster_id: "abc".into(),
            operation: op.into(),
            phase: phase.into(),
            step: step.into(),
            target: None,
            outcome: outcome.map(str::to_string),
            duration_ms: outcome.map(|_| 1200),
        }
    }

    /// Ten minutes of a three-member cluster: etcd-2's node dies at +60 s; the cluster is
    /// unavailable for 8 s while etcd-1 (the leader) is frozen at +120 s; pg-meta fails over
    /// (5 s without a leader key); a replace operation runs at +300 s.
    fn story() -> (Timeline, Vec<audit::Entry>) {
        let mut t = Timeline::new();
        for i in 0..600u64 {
            let sec = T0 + i;
            let down2 = (60..400).contains(&i);
            let frozen = (120..128).contains(&i);
            let cluster = if frozen {
                Cell::Unavailable
            } else {
                Cell::Available
            };
            let mut members = vec![
                (
                    1,
                    "etcd-1".to_string(),
                    if frozen { Cell::Down } else { Cell::Up },
                ),
                (
                    2,
                    "etcd-2".to_string(),
                    if down2 { Cell::Down } else { Cell::Up },
                ),
                (3, "etcd-3".to_string(), Cell::Up),
            ];
            if i >= 330 {
                members.push((4, "etcd-4".to_string(), Cell::Up));
            }
            t.record(sec, cluster, &members);
            let pg = if (200..205).contains(&i) {
                Cell::NoLeaderKey
            } else {
                Cell::LeaderKey
            };
            t.record_pg(sec, &[("pg-meta".to_string(), pg)]);
        }
        t.event_tagged(
            T0 + 60,
            Level::Warn,
            Tag::Etcd,
            "etcd-2 unreachable: refused",
        );
        // A second console, started at +90 s, finds etcd-2 down and says so: not news.
        t.event_tagged(
            T0 + 90,
            Level::Warn,
            Tag::Etcd,
            "etcd-2 unreachable: refused",
        );
        t.event_tagged(
            T0 + 120,
            Level::Error,
            Tag::Etcd,
            "no leader: etcd-1 is gone and no member sees a new one",
        );
        t.event_tagged(
            T0 + 128,
            Level::Info,
            Tag::EtcdLeader,
            "leader elected: etcd-3 after 8s without one",
        );
        t.event_tagged(
            T0 + 200,
            Level::Error,
            Tag::Patroni,
            "pg-meta: leader key lost: the lease of pg-meta-2 expired; no primary until a member takes the key",
        );
        t.event_tagged(
            T0 + 205,
            Level::Error,
            Tag::PgFailover,
            "pg-meta: failover pg-meta-2 -> pg-meta-1 (nobody asked: the old leader's lease expired) after 5 s without a leader key",
        );
        t.event_tagged(
            T0 + 250,
            Level::Warn,
            Tag::Etcd,
            "a | pipe and <b>tag</b> and \u{1b}[2J",
        );
        let op = "member-replace-20261202T031500Z";
        let ops = vec![
            entry(op, "begin", "remove etcd-2", T0 + 300, None),
            entry(op, "end", "remove etcd-2", T0 + 301, Some("ok")),
            entry(op, "begin", "add etcd-4 as a learner", T0 + 310, None),
            entry(
                op,
                "end",
                "add etcd-4 as a learner",
                T0 + 311,
                Some("error: etcdserver: unhealthy cluster"),
            ),
            entry(op, "begin", "add etcd-4 as a learner", T0 + 312, None),
            entry(op, "end", "add etcd-4 as a learner", T0 + 313, Some("ok")),
            entry(op, "begin", "promote etcd-4", T0 + 330, None),
            entry(op, "end", "promote etcd-4", T0 + 331, Some("ok")),
        ];
        merge_operations(&mut t, &ops);
        (t, ops)
    }

    #[test]
    fn the_summary_counts_what_a_postmortem_asks() {
        let (t, ops) = story();
        let r = report(&t, 0xabc, T0, T0 + 600, &ops);
        let s = &r.summary;
        assert_eq!(s.recorded_s, 600);
        assert_eq!(s.unavailable_s, 8);
        // etcd-2 down for 340 s, 8 of them while etcd-1 froze (unavailable, not degraded).
        assert_eq!(s.degraded_s, 332);
        let l = s.longest_unavailability.as_ref().unwrap();
        assert_eq!(
            (l.seconds, l.from.as_str()),
            (8, rfc3339(T0 + 120).as_str())
        );
        assert_eq!(
            s.members_down,
            [
                Count {
                    name: "etcd-2".into(),
                    seconds: 340
                },
                Count {
                    name: "etcd-1".into(),
                    seconds: 8
                }
            ]
        );
        assert_eq!(
            (s.etcd_leader_changes, s.failovers, s.switchovers),
            (1, 1, 0)
        );
        assert_eq!(s.patroni_without_leader[0].seconds, 5);
        assert_eq!(s.operations.len(), 1);
        // The learner add failed once and was tried again: one step, and the operation ok.
        assert_eq!(s.operations[0].steps, 3);
        assert_eq!(s.operations[0].outcome, "ok, after 1 failed try");
        // etcd-2 went down once: told once.
        let told: Vec<u64> = r
            .events
            .iter()
            .filter(|e| e.text.starts_with("etcd-2 unreachable"))
            .map(|e| e.unix)
            .collect();
        assert_eq!(told, [T0 + 60]);
        // In time order, each source tagged.
        let sources: Vec<&str> = r.events.iter().map(|e| e.source).collect();
        assert_eq!(
            sources,
            ["etcd", "etcd", "etcd", "pg", "pg", "etcd", "op", "op", "op", "op"]
        );
        assert!(r.events.windows(2).all(|w| w[0].unix <= w[1].unix));
        // A window that starts later leaves out what came before.
        let late = report(&t, 0xabc, T0 + 206, T0 + 600, &ops);
        assert_eq!(late.summary.failovers, 0);
        assert!(late.summary.longest_unavailability.is_none());
        assert_eq!(late.rows[0].spans.len(), 1, "one span of available");
    }

    #[test]
    fn the_export_in_json_and_markdown() {
        let (t, ops) = story();
        let r = report(&t, 0xabc, T0, T0 + 600, &ops);
        let md = markdown(&r, &t, 60);
        assert!(
            !md.contains('\u{1b}'),
            "no control character reaches the ticket"
        );
        insta::assert_snapshot!("postmortem_markdown", md);
        let j: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(j["summary"]["longest_unavailability"]["seconds"], 8);
        assert_eq!(j["rows"][2]["name"], "etcd-2");
        insta::assert_snapshot!("postmortem_json", json(&r));
    }
}
