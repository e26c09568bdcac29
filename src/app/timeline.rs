//! The aliveness timeline: one cell per second per member (up, down, learner, no leader) and
//! one for the cluster (available: a leader and a quorum of voters answering), the events that
//! tell what happened, and a bounded history file so the recent past survives a restart.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::io::{BufRead, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::msg::Level;
use crate::etcd::status::natural_key;

/// How much history is kept.
pub const RETENTION: Duration = Duration::from_secs(24 * 3600);

/// The history file is rewritten to the retention window when it grows past this.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The most events kept.
pub const MAX_EVENTS: usize = 2000;

/// One second of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cell {
    /// Nothing known (before the console ran, or between runs).
    Unknown,
    Up,
    Learner,
    /// Answers, but sees no leader.
    NoLeader,
    /// Does not answer.
    Down,
    /// The cluster row: a leader exists and a quorum of voters answers.
    Available,
    /// The cluster row: no leader, or too few voters answer.
    Unavailable,
}

impl Cell {
    /// The letter shown for the cell, so the timeline reads without colour.
    pub fn letter(self) -> char {
        match self {
            Cell::Unknown => ' ',
            Cell::Up => 'u',
            Cell::Learner => 'l',
            Cell::NoLeader => 'N',
            Cell::Down => 'D',
            Cell::Available => 'a',
            Cell::Unavailable => 'X',
        }
    }

    pub fn from_letter(c: char) -> Option<Cell> {
        Some(match c {
            ' ' | '.' => Cell::Unknown,
            'u' => Cell::Up,
            'l' => Cell::Learner,
            'N' => Cell::NoLeader,
            'D' => Cell::Down,
            'a' => Cell::Available,
            'X' => Cell::Unavailable,
            _ => return None,
        })
    }

    /// How bad: a bucket of several seconds shows its worst second.
    fn severity(self) -> u8 {
        match self {
            Cell::Unknown => 0,
            Cell::Up | Cell::Available => 1,
            Cell::Learner => 2,
            Cell::NoLeader => 3,
            Cell::Down | Cell::Unavailable => 4,
        }
    }

    pub fn worst(cells: impl IntoIterator<Item = Cell>) -> Cell {
        cells
            .into_iter()
            .max_by_key(|c| c.severity())
            .unwrap_or(Cell::Unknown)
    }
}

/// Something that happened, at a Unix second.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: u64,
    pub level: Level,
    pub text: String,
}

/// Each member's cell in one second: id, name, cell.
pub type MemberCells = Vec<(u64, String, Cell)>;

/// One member's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub name: String,
    /// One cell per second from `Timeline::first`.
    pub cells: VecDeque<Cell>,
}

/// Every row, aligned: cell `i` of every row is second `first + i`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    /// Unix second of cell 0.
    pub first: u64,
    pub cluster: VecDeque<Cell>,
    pub members: BTreeMap<u64, Series>,
    pub events: VecDeque<Event>,
    /// Zoom: seconds per column (1, 10, 60).
    pub zoom: u64,
    /// Lines of the history file that could not be read.
    pub skipped_lines: usize,
    /// Events recorded since start (the history file writes the ones it has not written).
    pub events_total: u64,
}

/// The zoom levels, seconds per column.
pub const ZOOMS: [u64; 3] = [1, 10, 60];

impl Timeline {
    pub fn new() -> Timeline {
        Timeline {
            zoom: 1,
            ..Timeline::default()
        }
    }

    /// The Unix second after the last cell.
    pub fn end(&self) -> u64 {
        self.first + self.cluster.len() as u64
    }

    /// Record second `sec`: the cluster's cell and each member's. Seconds skipped since the last
    /// record are filled with `Unknown`; a second already recorded is overwritten.
    pub fn record(&mut self, sec: u64, cluster: Cell, members: &[(u64, String, Cell)]) {
        if self.cluster.is_empty() {
            self.first = sec;
        }
        if sec < self.first {
            return;
        }
        let idx = (sec - self.first) as usize;
        let len = idx + 1;
        if self.cluster.len() < len {
            self.cluster.resize(len, Cell::Unknown);
        }
        self.cluster[idx] = cluster;
        for (id, name, cell) in members {
            let s = self.members.entry(*id).or_insert_with(|| Series {
                name: name.clone(),
                cells: VecDeque::new(),
            });
            if !name.is_empty() {
                s.name.clone_from(name);
            }
            if s.cells.len() < len {
                s.cells.resize(len, Cell::Unknown);
            }
            s.cells[idx] = *cell;
        }
        for s in self.members.values_mut() {
            if s.cells.len() < len {
                s.cells.resize(len, Cell::Unknown);
            }
        }
        self.prune(sec);
    }

    /// The cells recorded for second `sec`: the cluster's, and each member's with its name.
    pub fn second(&self, sec: u64) -> Option<(Cell, MemberCells)> {
        let idx = usize::try_from(sec.checked_sub(self.first)?).ok()?;
        let cluster = *self.cluster.get(idx)?;
        let members = self
            .members
            .iter()
            .map(|(id, s)| {
                let cell = s.cells.get(idx).copied().unwrap_or(Cell::Unknown);
                (*id, s.name.clone(), cell)
            })
            .collect();
        Some((cluster, members))
    }

    /// Drop what is older than the retention.
    fn prune(&mut self, now: u64) {
        let keep_from = now.saturating_sub(RETENTION.as_secs());
        if keep_from > self.first {
            let drop = ((keep_from - self.first) as usize).min(self.cluster.len());
            self.cluster.drain(..drop);
            for s in self.members.values_mut() {
                let d = drop.min(s.cells.len());
                s.cells.drain(..d);
            }
            self.first += drop as u64;
        }
        self.members
            .retain(|_, s| s.cells.iter().any(|c| *c != Cell::Unknown));
        while self.events.front().is_some_and(|e| e.at < keep_from)
            || self.events.len() > MAX_EVENTS
        {
            self.events.pop_front();
        }
    }

    pub fn event(&mut self, at: u64, level: Level, text: impl Into<String>) {
        self.events_total += 1;
        self.events.push_back(Event {
            at,
            level,
            text: text.into(),
        });
        while self.events.len() > MAX_EVENTS {
            self.events.pop_front();
        }
    }

    /// `columns` buckets of `zoom` seconds ending at `end` (exclusive), oldest first: the worst
    /// cell of each bucket.
    pub fn buckets(
        cells: &VecDeque<Cell>,
        first: u64,
        end: u64,
        zoom: u64,
        columns: usize,
    ) -> Vec<Cell> {
        let zoom = zoom.max(1);
        // Align buckets to whole multiples of the zoom so they do not shift every second.
        let last_bucket_start = (end.saturating_sub(1) / zoom) * zoom;
        (0..columns)
            .rev()
            .map(|back| {
                let start = last_bucket_start.saturating_sub(back as u64 * zoom);
                let cells_in = (start..start + zoom).filter_map(|sec| {
                    if sec < first {
                        return None;
                    }
                    cells.get((sec - first) as usize).copied()
                });
                Cell::worst(cells_in)
            })
            .collect()
    }

    /// Put what was recorded in this run on top of the history read from the file.
    pub fn merge_onto(self, mut past: Timeline) -> Timeline {
        for i in 0..self.cluster.len() {
            let sec = self.first + i as u64;
            let members: Vec<(u64, String, Cell)> = self
                .members
                .iter()
                .map(|(id, s)| {
                    (
                        *id,
                        s.name.clone(),
                        s.cells.get(i).copied().unwrap_or(Cell::Unknown),
                    )
                })
                .collect();
            past.record(sec, self.cluster[i], &members);
        }
        let loaded_events = past.events_total;
        for e in self.events {
            past.event(e.at, e.level, e.text);
        }
        // The counter follows this run's events only: the file already holds the past ones.
        past.events_total -= loaded_events;
        past.zoom = self.zoom.max(1);
        past
    }

    /// The events recorded since the `written`-th, oldest first.
    pub fn events_since(&self, written: u64) -> impl Iterator<Item = &Event> {
        let new = self.events_total.saturating_sub(written) as usize;
        let skip = self.events.len().saturating_sub(new);
        self.events.iter().skip(skip)
    }

    /// The member rows in name order (`etcd-2` before `etcd-10`), as the members pane lists them.
    pub fn rows_by_name(&self) -> Vec<&Series> {
        let mut rows: Vec<&Series> = self.members.values().collect();
        rows.sort_by_key(|s| natural_key(&s.name));
        rows
    }

    /// Approximate memory held by the history, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.cluster.capacity()
            + self
                .members
                .values()
                .map(|s| s.cells.capacity() + s.name.capacity())
                .sum::<usize>()
            + self.events.iter().map(|e| e.text.len() + 32).sum::<usize>()
    }
}

/// The history file: `S` lines hold one second (`S <unix> <cluster><member cells>` in the order
/// of the last `M` line), `M` lines name the members (`M <unix> <id hex>=<name> ...`), `E` lines
/// are events (`E <unix> <info|warn|error> <text>`). Appended as time passes; rewritten to the
/// retention window when it grows past [`MAX_FILE_BYTES`].
pub struct HistoryFile {
    path: PathBuf,
    file: Option<std::fs::File>,
    /// The member order of the last `M` line written.
    order: Vec<(u64, String)>,
}

/// Where the history of cluster `cluster_id` is kept.
pub fn history_path(state_dir: &Path, cluster_id: u64) -> PathBuf {
    state_dir.join(format!("history-{cluster_id:x}.log"))
}

fn level_word(l: Level) -> &'static str {
    match l {
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    }
}

/// Read a history file without writing to it (damaged lines are skipped and counted).
pub fn load(path: &Path, now: u64) -> std::io::Result<Timeline> {
    let f = std::fs::File::open(path)?;
    let mut t = Timeline::new();
    let mut order: Vec<(u64, String)> = Vec::new();
    for line in std::io::BufReader::new(f).split(b'\n') {
        let line = line?;
        let Ok(line) = String::from_utf8(line) else {
            t.skipped_lines += 1;
            continue;
        };
        if !line.is_empty() && !read_line(&line, &mut t, &mut order) {
            t.skipped_lines += 1;
        }
    }
    t.prune(now);
    Ok(t)
}

/// The timeline as text: the cluster row and one row per member, `columns` buckets of `zoom`
/// seconds ending at `now`, then the events since `now - span`.
pub fn text(t: &Timeline, now: u64, zoom: u64, columns: usize, span: u64) -> String {
    let mut out = String::new();
    let label_w = t
        .members
        .values()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(7)
        .max(7);
    let end = now + 1;
    let row = |out: &mut String, name: &str, cells: &VecDeque<Cell>| {
        let b = Timeline::buckets(cells, t.first, end, zoom, columns);
        let line: String = b
            .iter()
            .map(|c| if *c == Cell::Unknown { '.' } else { c.letter() })
            .collect();
        let _ = writeln!(out, "{name:<label_w$} {line}");
    };
    row(&mut out, "cluster", &t.cluster);
    for s in t.rows_by_name() {
        row(&mut out, &crate::text::escape(&s.name), &s.cells);
    }
    let _ = writeln!(
        out,
        "{:<label_w$} {}s per column, oldest left; u up, l learner, N no leader, D down, a available, X unavailable, . unknown",
        "", zoom
    );
    let since = now.saturating_sub(span);
    let events: Vec<&Event> = t.events.iter().filter(|e| e.at >= since).collect();
    if events.is_empty() {
        out.push_str("no events in that time\n");
    }
    for e in events {
        let s = e.at % 86400;
        let _ = writeln!(
            out,
            "{:02}:{:02}:{:02}Z {:<5} {}",
            s / 3600,
            (s % 3600) / 60,
            s % 60,
            level_word(e.level),
            crate::text::escape(&e.text)
        );
    }
    if t.skipped_lines > 0 {
        let _ = writeln!(
            out,
            "({} damaged line(s) of the history file skipped)",
            t.skipped_lines
        );
    }
    out
}

impl HistoryFile {
    /// Read what the file holds into a timeline (damaged lines are skipped and counted), and keep
    /// the file open for appending.
    pub fn open(path: &Path, now: u64) -> std::io::Result<(HistoryFile, Timeline)> {
        let mut t = Timeline::new();
        if let Ok(f) = std::fs::File::open(path) {
            let mut order: Vec<(u64, String)> = Vec::new();
            for line in std::io::BufReader::new(f).split(b'\n') {
                let Ok(line) = line else { break };
                let Ok(line) = String::from_utf8(line) else {
                    t.skipped_lines += 1;
                    continue;
                };
                if line.is_empty() {
                    continue;
                }
                if !read_line(&line, &mut t, &mut order) {
                    t.skipped_lines += 1;
                }
            }
            t.prune(now);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok((
            HistoryFile {
                path: path.to_path_buf(),
                file: Some(file),
                order: Vec::new(),
            },
            t,
        ))
    }

    /// Append second `sec` of the timeline (and a member line first when the members changed).
    pub fn append_second(&mut self, t: &Timeline, sec: u64) -> std::io::Result<()> {
        if sec < t.first || sec >= t.end() {
            return Ok(());
        }
        let idx = (sec - t.first) as usize;
        let order: Vec<(u64, String)> = t
            .members
            .iter()
            .map(|(id, s)| (*id, s.name.clone()))
            .collect();
        let mut out = String::new();
        if order != self.order {
            out.push_str(&format!("M {sec}"));
            for (id, name) in &order {
                let _ = write!(out, " {id:x}={}", name.replace([' ', '\n', '\r'], "_"));
            }
            out.push('\n');
            self.order = order;
        }
        let _ = write!(out, "S {sec} {}", t.cluster[idx].letter());
        for (id, _) in &self.order {
            let c = t
                .members
                .get(id)
                .and_then(|s| s.cells.get(idx))
                .copied()
                .unwrap_or(Cell::Unknown);
            out.push(if c == Cell::Unknown { '.' } else { c.letter() });
        }
        out.push('\n');
        self.write(&out)?;
        self.maybe_compact(t)
    }

    pub fn append_event(&mut self, e: &Event) -> std::io::Result<()> {
        let text = e.text.replace(['\n', '\r'], " ");
        self.write(&format!("E {} {} {text}\n", e.at, level_word(e.level)))
    }

    fn write(&mut self, s: &str) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.write_all(s.as_bytes()),
            None => Ok(()),
        }
    }

    /// Rewrite the file with only the retention window once it grows too big.
    fn maybe_compact(&mut self, t: &Timeline) -> std::io::Result<()> {
        let big = self
            .file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .is_some_and(|m| m.len() > MAX_FILE_BYTES);
        if !big {
            return Ok(());
        }
        let tmp = self.path.with_extension("log.tmp");
        {
            let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            w.write_all(dump(t).as_bytes())?;
            w.flush()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        self.file = Some(std::fs::OpenOptions::new().append(true).open(&self.path)?);
        self.order = t
            .members
            .iter()
            .map(|(id, s)| (*id, s.name.clone()))
            .collect();
        Ok(())
    }
}

/// The whole timeline in the file format.
pub fn dump(t: &Timeline) -> String {
    let mut out = String::new();
    let order: Vec<(u64, &Series)> = t.members.iter().map(|(id, s)| (*id, s)).collect();
    let _ = write!(out, "M {}", t.first);
    for (id, s) in &order {
        let _ = write!(out, " {id:x}={}", s.name.replace([' ', '\n', '\r'], "_"));
    }
    out.push('\n');
    for (i, c) in t.cluster.iter().enumerate() {
        let _ = write!(out, "S {} {}", t.first + i as u64, c.letter());
        for (_, s) in &order {
            let c = s.cells.get(i).copied().unwrap_or(Cell::Unknown);
            out.push(if c == Cell::Unknown { '.' } else { c.letter() });
        }
        out.push('\n');
    }
    for e in &t.events {
        let _ = writeln!(
            out,
            "E {} {} {}",
            e.at,
            level_word(e.level),
            e.text.replace(['\n', '\r'], " ")
        );
    }
    out
}

/// Apply one line of the history file; false when it is damaged.
fn read_line(line: &str, t: &mut Timeline, order: &mut Vec<(u64, String)>) -> bool {
    let mut parts = line.splitn(3, ' ');
    let (Some(kind), Some(sec)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Ok(sec) = sec.parse::<u64>() else {
        return false;
    };
    let rest = parts.next().unwrap_or("");
    match kind {
        "M" => {
            let mut o = Vec::new();
            for item in rest.split_whitespace() {
                let Some((id, name)) = item.split_once('=') else {
                    return false;
                };
                let Ok(id) = u64::from_str_radix(id, 16) else {
                    return false;
                };
                o.push((id, name.to_string()));
            }
            *order = o;
            true
        }
        "S" => {
            let mut chars = rest.chars();
            let Some(cluster) = chars.next().and_then(Cell::from_letter) else {
                return false;
            };
            let cells: Option<Vec<Cell>> = chars.map(Cell::from_letter).collect();
            let Some(cells) = cells else {
                return false;
            };
            if cells.len() != order.len() {
                return false;
            }
            let members: Vec<(u64, String, Cell)> = order
                .iter()
                .zip(cells)
                .map(|((id, name), c)| (*id, name.clone(), c))
                .collect();
            if sec + 1 < t.end() {
                return true; // out of order: older than what is held; ignore quietly
            }
            t.record(sec, cluster, &members);
            true
        }
        "E" => {
            let Some((level, text)) = rest.split_once(' ') else {
                return false;
            };
            let level = match level {
                "info" => Level::Info,
                "warn" => Level::Warn,
                "error" => Level::Error,
                _ => return false,
            };
            t.event(sec, level, text);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: &Timeline, id: u64) -> String {
        t.members[&id].cells.iter().map(|c| c.letter()).collect()
    }

    #[test]
    fn seconds_are_recorded_aligned_and_gaps_are_unknown() {
        let mut t = Timeline::new();
        t.record(100, Cell::Available, &[(1, "etcd-1".into(), Cell::Up)]);
        t.record(
            101,
            Cell::Available,
            &[
                (1, "etcd-1".into(), Cell::Up),
                (2, "etcd-2".into(), Cell::Down),
            ],
        );
        t.record(
            104,
            Cell::Unavailable,
            &[(1, "etcd-1".into(), Cell::NoLeader)],
        );
        assert_eq!(t.first, 100);
        assert_eq!(t.end(), 105);
        assert_eq!(row(&t, 1), "uu  N");
        assert_eq!(row(&t, 2), " D   ");
        let cluster: String = t.cluster.iter().map(|c| c.letter()).collect();
        assert_eq!(cluster, "aa  X");
    }

    #[test]
    fn buckets_show_the_worst_second_and_stay_aligned() {
        let mut t = Timeline::new();
        for s in 0..30u64 {
            let c = if s == 13 { Cell::Down } else { Cell::Up };
            t.record(1000 + s, Cell::Available, &[(1, "etcd-1".into(), c)]);
        }
        let b = Timeline::buckets(&t.members[&1].cells, t.first, t.end(), 10, 3);
        assert_eq!(b, [Cell::Up, Cell::Down, Cell::Up]);
        let b = Timeline::buckets(&t.members[&1].cells, t.first, t.end(), 1, 4);
        assert_eq!(b, [Cell::Up; 4]);
        // Before the first second: unknown.
        let b = Timeline::buckets(&t.cluster, t.first, t.end(), 10, 5);
        assert_eq!(b[0], Cell::Unknown);
    }

    #[test]
    fn retention_drops_old_seconds_and_events() {
        let mut t = Timeline::new();
        let day = RETENTION.as_secs();
        t.record(10, Cell::Available, &[(1, "a".into(), Cell::Up)]);
        t.event(10, Level::Warn, "old");
        t.record(10 + day + 5, Cell::Available, &[(2, "b".into(), Cell::Up)]);
        assert_eq!(t.first, 15);
        assert!(t.events.is_empty());
        assert!(
            !t.members.contains_key(&1),
            "a row with nothing left is dropped"
        );
        assert!(t.cluster.len() as u64 <= day + 1);
    }

    #[test]
    fn the_history_file_is_written_reloaded_and_survives_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = history_path(dir.path(), 0xabc);
        let (mut file, mut t) = HistoryFile::open(&path, 1000).unwrap();
        assert!(t.cluster.is_empty());
        for s in 1000..1005u64 {
            let c = if s == 1002 { Cell::Down } else { Cell::Up };
            t.record(
                s,
                Cell::Available,
                &[
                    (0x1a, "etcd-1".into(), Cell::Up),
                    (0x2b, "etcd-2".into(), c),
                ],
            );
            file.append_second(&t, s).unwrap();
        }
        let e = Event {
            at: 1002,
            level: Level::Warn,
            text: "etcd-2 down".into(),
        };
        t.event(e.at, e.level, e.text.clone());
        file.append_event(&e).unwrap();
        drop(file);

        // Damage: a truncated line, garbage, and a line of invalid UTF-8.
        let mut text = std::fs::read(&path).unwrap();
        text.extend_from_slice(b"S 1005 a\xff\nS 10\ngarbage here\nS 1006 auD\n");
        std::fs::write(&path, &text).unwrap();

        let (_, back) = HistoryFile::open(&path, 1010).unwrap();
        assert_eq!(back.skipped_lines, 3);
        // Second 1005 was on the damaged line: unknown; 1006 came through.
        assert_eq!(row(&back, 0x2b), "uuDuu D");
        assert_eq!(row(&back, 0x1a), "uuuuu u");
        assert_eq!(back.members[&0x2b].name, "etcd-2");
        assert_eq!(back.events.len(), 1);
        assert_eq!(back.events[0].text, "etcd-2 down");
    }

    #[test]
    fn a_full_day_for_five_members_stays_small() {
        let mut t = Timeline::new();
        let members: Vec<(u64, String, Cell)> = (1..=5)
            .map(|i| (i, format!("etcd-{i}"), Cell::Up))
            .collect();
        for s in 0..RETENTION.as_secs() {
            t.record(s, Cell::Available, &members);
        }
        assert!(t.memory_bytes() < 1024 * 1024, "{} bytes", t.memory_bytes());
    }
}
