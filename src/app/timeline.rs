//! The aliveness timeline: one cell per second per member (up, down, learner, no leader) and
//! one for the cluster (available: a leader and a quorum of voters answering), the events that
//! tell what happened, and a bounded history file so the recent past survives a restart.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::msg::Level;
pub use super::runs::Runs;
use crate::etcd::status::natural_key;
use crate::state::{self, StateError};

/// How much history is kept.
pub const RETENTION: Duration = Duration::from_secs(24 * 3600);

/// The history file is rewritten to the retention window when it grows past this.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The most events kept.
pub const MAX_EVENTS: usize = 2000;

/// The longest event text kept, in characters.
pub const MAX_EVENT_CHARS: usize = 1000;

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
    /// A Patroni cluster's row: its leader key is held.
    LeaderKey,
    /// A Patroni cluster's row: nobody holds its leader key (no primary).
    NoLeaderKey,
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
            Cell::LeaderKey => 'L',
            Cell::NoLeaderKey => '!',
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
            'L' => Cell::LeaderKey,
            '!' => Cell::NoLeaderKey,
            _ => return None,
        })
    }

    /// How bad: a bucket of several seconds shows its worst second.
    fn severity(self) -> u8 {
        match self {
            Cell::Unknown => 0,
            Cell::Up | Cell::Available | Cell::LeaderKey => 1,
            Cell::Learner => 2,
            Cell::NoLeader => 3,
            Cell::Down | Cell::Unavailable | Cell::NoLeaderKey => 4,
        }
    }

    pub fn worst(cells: impl IntoIterator<Item = Cell>) -> Cell {
        cells
            .into_iter()
            .max_by_key(|c| c.severity())
            .unwrap_or(Cell::Unknown)
    }
}

/// Where an event comes from, and what the postmortem counts it as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Tag {
    /// etcd: members, alarms, alerts, the key watch.
    #[default]
    Etcd,
    /// etcd's leader changed (or one was elected after none).
    EtcdLeader,
    /// A Patroni cluster (its keys).
    Patroni,
    /// A Patroni cluster's primary changed, asked for (switchover).
    PgSwitchover,
    /// A Patroni cluster's primary changed, not asked for or asked as a failover.
    PgFailover,
    /// An operation of a wizard (the audit log).
    Operation,
}

impl Tag {
    /// The word of the history file and the export.
    pub fn word(self) -> &'static str {
        match self {
            Tag::Etcd => "etcd",
            Tag::EtcdLeader => "etcd-leader",
            Tag::Patroni => "patroni",
            Tag::PgSwitchover => "patroni-switchover",
            Tag::PgFailover => "patroni-failover",
            Tag::Operation => "operation",
        }
    }

    pub fn from_word(w: &str) -> Option<Tag> {
        [
            Tag::Etcd,
            Tag::EtcdLeader,
            Tag::Patroni,
            Tag::PgSwitchover,
            Tag::PgFailover,
            Tag::Operation,
        ]
        .into_iter()
        .find(|t| t.word() == w)
    }

    /// Who the event is about, in a word: `etcd`, `pg` or `op`.
    pub fn source(self) -> &'static str {
        match self {
            Tag::Etcd | Tag::EtcdLeader => "etcd",
            Tag::Patroni | Tag::PgSwitchover | Tag::PgFailover => "pg",
            Tag::Operation => "op",
        }
    }
}

/// Something that happened, at a Unix second.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: u64,
    pub level: Level,
    pub tag: Tag,
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

/// A Patroni cluster's row, as runs (it changes seldom).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgRow {
    pub name: String,
    pub runs: Runs,
}

/// Every row, aligned: cell `i` of every row is second `first + i`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    /// Unix second of cell 0.
    pub first: u64,
    pub cluster: VecDeque<Cell>,
    pub members: BTreeMap<u64, Series>,
    /// One row per Patroni cluster (`pg-meta`, `pg-citus/1`): holds its leader key or not.
    pub pg: BTreeMap<String, PgRow>,
    /// The worst of the Patroni rows in each second: the one row shown for all of them.
    pub pg_all: Runs,
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
        self.first.saturating_add(self.cluster.len() as u64)
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
        // A second far past what is held: only the retention window before it is kept, so a gap
        // costs at most a day of cells, never one per second of the gap.
        self.prune(sec);
        let Some(idx) = sec
            .checked_sub(self.first)
            .and_then(|d| usize::try_from(d).ok())
        else {
            return;
        };
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
    }

    /// Record the Patroni clusters' cells of second `sec`, already recorded with
    /// [`Timeline::record`] (a second outside the rows is ignored).
    pub fn record_pg(&mut self, sec: u64, cells: &[(String, Cell)]) {
        if sec < self.first || sec >= self.end() {
            return;
        }
        self.pg_all
            .set(sec, Cell::worst(cells.iter().map(|(_, c)| *c)));
        for (name, cell) in cells {
            let row = self.pg.entry(name.clone()).or_insert_with(|| PgRow {
                name: name.clone(),
                runs: Runs::new(),
            });
            row.runs.set(sec, *cell);
        }
    }

    /// The Patroni clusters' cells of second `sec`.
    pub fn pg_second(&self, sec: u64) -> Vec<(String, Cell)> {
        self.pg
            .iter()
            .map(|(name, r)| (name.clone(), r.runs.get(sec)))
            .collect()
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
            let gap = keep_from - self.first;
            if gap >= self.cluster.len() as u64 {
                // Everything held is older than the window: start the window afresh.
                self.cluster.clear();
                self.pg_all.clear();
                for r in self.pg.values_mut() {
                    r.runs.clear();
                }
                for s in self.members.values_mut() {
                    s.cells.clear();
                }
                self.first = keep_from;
            } else {
                let drop = gap as usize;
                self.cluster.drain(..drop);
                self.pg_all.prune(keep_from);
                for r in self.pg.values_mut() {
                    r.runs.prune(keep_from);
                }
                for s in self.members.values_mut() {
                    let d = drop.min(s.cells.len());
                    s.cells.drain(..d);
                }
                self.first += gap;
            }
        }
        self.members
            .retain(|_, s| s.cells.iter().any(|c| *c != Cell::Unknown));
        self.pg.retain(|_, r| r.runs.known());
        while self.events.front().is_some_and(|e| e.at < keep_from)
            || self.events.len() > MAX_EVENTS
        {
            self.events.pop_front();
        }
    }

    /// Keep an event; a text longer than [`MAX_EVENT_CHARS`] is cut (an event is one line
    /// of the file, and the file must shrink when it is rewritten).
    pub fn event(&mut self, at: u64, level: Level, text: impl Into<String>) {
        self.event_tagged(at, level, Tag::Etcd, text)
    }

    /// An event with where it comes from.
    pub fn event_tagged(&mut self, at: u64, level: Level, tag: Tag, text: impl Into<String>) {
        let mut text = text.into();
        if let Some((cut, _)) = text.char_indices().nth(MAX_EVENT_CHARS) {
            text.truncate(cut);
            text.push('…');
        }
        self.events_total += 1;
        self.events.push_back(Event {
            at,
            level,
            tag,
            text,
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
        bucketed(end, zoom, columns, |start, zoom| {
            Cell::worst((start..start + zoom).filter_map(|sec| {
                if sec < first {
                    return None;
                }
                cells.get((sec - first) as usize).copied()
            }))
        })
    }

    /// [`Timeline::buckets`] of a row kept as runs.
    pub fn run_buckets(runs: &Runs, end: u64, zoom: u64, columns: usize) -> Vec<Cell> {
        bucketed(end, zoom, columns, |start, zoom| {
            runs.worst(start, start + zoom)
        })
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
            past.record_pg(sec, &self.pg_second(sec));
        }
        let loaded_events = past.events_total;
        for e in self.events {
            past.event_tagged(e.at, e.level, e.tag, e.text);
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

    /// The Patroni rows in name order.
    pub fn pg_rows(&self) -> Vec<&PgRow> {
        let mut rows: Vec<&PgRow> = self.pg.values().collect();
        rows.sort_by_key(|s| natural_key(&s.name));
        rows
    }

    /// Approximate memory held by the history, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.cluster.capacity()
            + self.pg_all.bytes()
            + self
                .members
                .values()
                .map(|s| s.cells.capacity() + s.name.capacity())
                .sum::<usize>()
            + self
                .pg
                .values()
                .map(|r| r.runs.bytes() + 2 * r.name.capacity() + 64)
                .sum::<usize>()
            + self.events.iter().map(|e| e.text.len() + 32).sum::<usize>()
    }
}

/// The history file: `S` lines hold one second (`S <unix> <cluster><member cells>` in the order
/// of the last `M` line), `M` lines name the members (`M <unix> <id hex>=<name> ...`), `E` lines
/// are events (`E <unix> <info|warn|error>[:<tag>] <text>`, the tag a [`Tag::word`], `etcd` when
/// absent), `P` lines set a Patroni cluster's cell from that second on (`P <unix> <letter>
/// <name>`, written only when it changes, since a day of one cell per second for hundreds of
/// clusters would not fit). Appended as time passes; rewritten to the retention window when it
/// grows past [`MAX_FILE_BYTES`].
pub struct HistoryFile {
    path: PathBuf,
    file: Option<std::fs::File>,
    /// The member order of the last `M` line written.
    order: Vec<(u64, String)>,
    /// The Patroni cells the file holds as of its last line.
    pg: BTreeMap<String, Cell>,
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

/// The most a history file is read: what etcdeck writes stays under [`MAX_FILE_BYTES`] plus a
/// rewrite's margin; anything much larger was not written by it.
pub const MAX_READ_BYTES: u64 = 4 * MAX_FILE_BYTES;

/// Seconds ahead of the clock still believed (clocks of two consoles differ a little).
pub const FUTURE_SLACK: u64 = 60;

/// Read a history file without writing to it (damaged lines are skipped and counted). `None`
/// when there is none yet.
pub fn load(path: &Path, now: u64) -> Result<Option<Timeline>, StateError> {
    let Some(mut f) = state::open_read(path)? else {
        return Ok(None);
    };
    let bytes = state::read_capped(path, &mut f, MAX_READ_BYTES)?;
    Ok(Some(parse(&bytes, now)))
}

/// The timeline a history file's bytes hold, as of `now`. A line that cannot be read, or dated
/// after `now` (plus [`FUTURE_SLACK`]), is skipped and counted; lines older than the retention
/// are dropped quietly.
pub fn parse(bytes: &[u8], now: u64) -> Timeline {
    let mut t = Timeline::new();
    let mut order: Vec<(u64, String)> = Vec::new();
    let mut pg: BTreeMap<String, Cell> = BTreeMap::new();
    for line in bytes.split(|b| *b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let ok = std::str::from_utf8(line)
            .is_ok_and(|line| read_line(line, &mut t, &mut order, &mut pg, now));
        if !ok {
            t.skipped_lines += 1;
        }
    }
    t.prune(now);
    t
}

/// `columns` buckets of `zoom` seconds ending at `end` (excluded), oldest first, each the cell
/// `worst(start, zoom)` gives. Buckets are aligned to whole multiples of the zoom so they do not
/// shift every second.
fn bucketed(end: u64, zoom: u64, columns: usize, worst: impl Fn(u64, u64) -> Cell) -> Vec<Cell> {
    let zoom = zoom.max(1);
    let last_bucket_start = (end.saturating_sub(1) / zoom) * zoom;
    (0..columns)
        .rev()
        .map(|back| worst(last_bucket_start.saturating_sub(back as u64 * zoom), zoom))
        .collect()
}

/// `HH:MM:SS` (UTC) of a Unix second.
pub fn clock(sec: u64) -> String {
    let s = sec % 86400;
    format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
}

/// The rows as text: `columns` buckets of `zoom` seconds ending at `end` (excluded), a row for the
/// cluster, each member and each Patroni cluster, then the legend.
pub fn chart(t: &Timeline, end: u64, zoom: u64, columns: usize) -> String {
    let mut out = String::new();
    let label_w = t
        .members
        .values()
        .map(|s| &s.name)
        .chain(t.pg.keys())
        .map(|name| crate::text::escape(name).chars().count())
        .max()
        .unwrap_or(7)
        .max(7);
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
    for r in t.pg_rows() {
        let line: String = Timeline::run_buckets(&r.runs, end, zoom, columns)
            .iter()
            .map(|c| if *c == Cell::Unknown { '.' } else { c.letter() })
            .collect();
        let _ = writeln!(out, "{:<label_w$} {line}", crate::text::escape(&r.name));
    }
    let _ = writeln!(
        out,
        "{:<label_w$} {}s per column, oldest left; u up, l learner, N no leader, D down, a available, X unavailable{}, . unknown",
        "",
        zoom,
        if t.pg.is_empty() { "" } else { "; L leader key held, ! no leader key" }
    );
    out
}

/// The timeline as text: the cluster row and one row per member, `columns` buckets of `zoom`
/// seconds ending at `now`, then the events since `now - span`.
pub fn text(t: &Timeline, now: u64, zoom: u64, columns: usize, span: u64) -> String {
    let mut out = chart(t, now + 1, zoom, columns);
    let since = now.saturating_sub(span);
    let events: Vec<&Event> = t
        .events
        .iter()
        .filter(|e| e.at >= since && e.at <= now)
        .collect();
    if events.is_empty() {
        out.push_str("no events in that time\n");
    }
    for e in events {
        let _ = writeln!(
            out,
            "{}Z {:<5} {:<4} {}",
            clock(e.at),
            level_word(e.level),
            e.tag.source(),
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
    /// the file open for appending, under an advisory lock: [`StateError::Locked`] when another
    /// console writes it (read it with [`load`] then). The state directory is made private, and
    /// a link, a FIFO or any other non-regular file at the path is refused.
    pub fn open(path: &Path, now: u64) -> Result<(HistoryFile, Timeline), StateError> {
        if let Some(dir) = path.parent() {
            state::private_dir(dir)?;
        }
        let mut file = state::open_append(path)?;
        state::lock(path, &file)?;
        let bytes = state::read_capped(path, &mut file, MAX_READ_BYTES)?;
        let t = parse(&bytes, now);
        let mut history = HistoryFile {
            path: path.to_path_buf(),
            file: Some(file),
            order: Vec::new(),
            pg: last_pg(&t),
        };
        // A line cut short by a crash must not be glued to the first line written now.
        if bytes.last().is_some_and(|b| *b != b'\n') {
            history.write("\n").map_err(|e| StateError::Io {
                path: path.display().to_string(),
                source: e,
            })?;
        }
        Ok((history, t))
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
                let _ = write!(out, " {id:x}={}", encode_name(name));
            }
            out.push('\n');
            self.order = order;
        }
        for (name, r) in &t.pg {
            let c = r.runs.get(sec);
            if self.pg.get(name).copied().unwrap_or(Cell::Unknown) != c {
                let _ = writeln!(out, "P {sec} {} {}", pg_letter(c), encode_name(name));
                self.pg.insert(name.clone(), c);
            }
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
        self.write(&event_line(e))
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
        let file = state::replace(&self.path, dump(t).as_bytes()).map_err(std::io::Error::other)?;
        // The lock goes with the file it was taken on: take it on the new one.
        state::lock(&self.path, &file).map_err(std::io::Error::other)?;
        self.file = Some(file);
        self.order = t
            .members
            .iter()
            .map(|(id, s)| (*id, s.name.clone()))
            .collect();
        self.pg = last_pg(t);
        Ok(())
    }
}

/// The Patroni cells of the last second held (what a file holding `t` says from then on).
fn last_pg(t: &Timeline) -> BTreeMap<String, Cell> {
    t.pg.iter()
        .map(|(name, r)| (name.clone(), r.runs.get(t.end().saturating_sub(1))))
        .collect()
}

/// A Patroni cell as a letter of a `P` line (unknown is `.`).
fn pg_letter(c: Cell) -> char {
    if c == Cell::Unknown {
        '.'
    } else {
        c.letter()
    }
}

/// An event as an `E` line.
fn event_line(e: &Event) -> String {
    let text = e.text.replace(['\n', '\r'], " ");
    let level = level_word(e.level);
    match e.tag {
        Tag::Etcd => format!("E {} {level} {text}\n", e.at),
        tag => format!("E {} {level}:{} {text}\n", e.at, tag.word()),
    }
}

/// The whole timeline in the file format.
pub fn dump(t: &Timeline) -> String {
    let mut out = String::new();
    let order: Vec<(u64, &Series)> = t.members.iter().map(|(id, s)| (*id, s)).collect();
    let _ = write!(out, "M {}", t.first);
    for (id, s) in &order {
        let _ = write!(out, " {id:x}={}", encode_name(&s.name));
    }
    out.push('\n');
    let mut pg: BTreeMap<&str, Cell> = BTreeMap::new();
    for (i, c) in t.cluster.iter().enumerate() {
        let sec = t.first + i as u64;
        for (name, r) in &t.pg {
            let c = r.runs.get(sec);
            if pg.get(name.as_str()).copied().unwrap_or(Cell::Unknown) != c {
                let _ = writeln!(out, "P {sec} {} {}", pg_letter(c), encode_name(name));
                pg.insert(name, c);
            }
        }
        let _ = write!(out, "S {} {}", t.first + i as u64, c.letter());
        for (_, s) in &order {
            let c = s.cells.get(i).copied().unwrap_or(Cell::Unknown);
            out.push(if c == Cell::Unknown { '.' } else { c.letter() });
        }
        out.push('\n');
    }
    for e in &t.events {
        out.push_str(&event_line(e));
    }
    out
}

/// A member name as one word of an `M` line: `%`, `=`, white space and control characters are
/// written `%XX` (its UTF-8 bytes), so any name etcd gives reads back as it was.
fn encode_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c == '%' || c == '=' || c.is_whitespace() || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The name [`encode_name`] wrote; `None` for a damaged one.
fn decode_name(word: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(word.len());
    let mut rest = word.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// Apply one line of the history file; false when it is damaged (or dated in the future).
fn read_line(
    line: &str,
    t: &mut Timeline,
    order: &mut Vec<(u64, String)>,
    pg: &mut BTreeMap<String, Cell>,
    now: u64,
) -> bool {
    let mut parts = line.splitn(3, ' ');
    let (Some(kind), Some(sec)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Ok(sec) = sec.parse::<u64>() else {
        return false;
    };
    if sec > now.saturating_add(FUTURE_SLACK) {
        return false;
    }
    let old = sec.saturating_add(RETENTION.as_secs()) < now;
    let rest = parts.next().unwrap_or("");
    match kind {
        "M" => {
            let mut o = Vec::new();
            for item in rest.split_whitespace() {
                let Some((id, name)) = item.split_once('=') else {
                    return false;
                };
                let (Ok(id), Some(name)) = (u64::from_str_radix(id, 16), decode_name(name)) else {
                    return false;
                };
                o.push((id, name));
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
            if old || sec.saturating_add(1) < t.end() {
                return true; // older than the window or than what is held: ignore quietly
            }
            t.record(sec, cluster, &members);
            if !pg.is_empty() {
                let cells: Vec<(String, Cell)> = pg.iter().map(|(n, c)| (n.clone(), *c)).collect();
                t.record_pg(sec, &cells);
            }
            true
        }
        "P" => {
            let Some((letter, name)) = rest.split_once(' ') else {
                return false;
            };
            let mut l = letter.chars();
            let (Some(c), None, Some(name)) = (
                l.next().and_then(Cell::from_letter),
                l.next(),
                decode_name(name),
            ) else {
                return false;
            };
            if !matches!(c, Cell::LeaderKey | Cell::NoLeaderKey | Cell::Unknown) {
                return false;
            }
            pg.insert(name, c);
            true
        }
        "E" => {
            let Some((level, text)) = rest.split_once(' ') else {
                return false;
            };
            let (level, tag) = match level.split_once(':') {
                Some((level, tag)) => match Tag::from_word(tag) {
                    Some(tag) => (level, tag),
                    None => return false,
                },
                None => (level, Tag::Etcd),
            };
            let level = match level {
                "info" => Level::Info,
                "warn" => Level::Warn,
                "error" => Level::Error,
                _ => return false,
            };
            if !old {
                t.event_tagged(sec, level, tag, text);
            }
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
            // pg-meta loses its leader key at 1003; pg-test is first seen at 1001.
            let mut pg = vec![(
                "pg-meta".to_string(),
                if s == 1003 {
                    Cell::NoLeaderKey
                } else {
                    Cell::LeaderKey
                },
            )];
            if s > 1000 {
                pg.push(("pg-test".to_string(), Cell::LeaderKey));
            }
            t.record_pg(s, &pg);
            file.append_second(&t, s).unwrap();
        }
        let e = Event {
            at: 1002,
            level: Level::Warn,
            tag: Tag::Etcd,
            text: "etcd-2 down".into(),
        };
        t.event(e.at, e.level, e.text.clone());
        file.append_event(&e).unwrap();
        let pg = Event {
            at: 1003,
            level: Level::Error,
            tag: Tag::PgFailover,
            text: "pg-meta: failover pg-meta-2 -> pg-meta-1".into(),
        };
        file.append_event(&pg).unwrap();
        drop(file);
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            written.lines().filter(|l| l.starts_with("P ")).count(),
            4,
            "a P line only where a cell changes:\n{written}"
        );

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
        assert_eq!(back.events.len(), 2);
        assert_eq!(back.events[0].text, "etcd-2 down");
        assert_eq!(back.events[0].tag, Tag::Etcd);
        assert_eq!(
            (back.events[1].tag, back.events[1].level),
            (Tag::PgFailover, Level::Error)
        );
        let pg = |name: &str| -> String {
            (back.first..back.end())
                .map(|s| back.pg[name].runs.get(s).letter())
                .collect()
        };
        // The damaged second 1005 is unknown for the Patroni rows too; 1006 carries on.
        assert_eq!(pg("pg-meta"), "LLL!L L");
        assert_eq!(pg("pg-test"), " LLLL L");
        // The rewrite past the size limit keeps the rows and the tags.
        let again = parse(dump(&back).as_bytes(), 1010);
        assert_eq!((&again.pg, &again.events), (&back.pg, &back.events));
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

    /// A day of seconds ago from `now`, for the adversarial files below.
    const NOW: u64 = 1_790_000_000;

    fn member(name: &str, cell: Cell) -> MemberCells {
        vec![(0x1a, name.to_string(), cell)]
    }

    #[test]
    fn hostile_times_cost_neither_time_nor_memory_and_stop_nothing() {
        // Two seconds far apart, a second near u64::MAX, a line a day ahead, then a good line.
        let file = format!(
            "M 5 1a=etcd-1\nS 5 au\nS {} au\nS {} au\nS {} au\nS {NOW} aD\n",
            u64::MAX,
            u64::MAX - 1,
            NOW + 86_400,
        );
        let started = std::time::Instant::now();
        let t = parse(file.as_bytes(), NOW);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(t.skipped_lines, 3, "the three lines after now are damaged");
        assert_eq!(t.end(), NOW + 1, "recording goes on after the bad lines");
        assert!(t.cluster.len() as u64 <= RETENTION.as_secs() + 1);
        assert_eq!(row(&t, 0x1a).chars().last(), Some('D'));

        // Live: a jump of years in one step is bounded by the retention as well.
        let mut live = Timeline::new();
        live.record(5, Cell::Available, &member("etcd-1", Cell::Up));
        live.record(u64::MAX - 5, Cell::Available, &member("etcd-1", Cell::Up));
        assert!(live.cluster.len() as u64 <= RETENTION.as_secs() + 1);
        assert_eq!(live.end(), u64::MAX - 4);
    }

    #[test]
    fn names_with_white_space_and_separators_read_back_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let path = history_path(dir.path(), 1);
        let (mut file, mut t) = HistoryFile::open(&path, NOW).unwrap();
        let names = ["etcd\t1", "etcd 2=x%41", "etcd\u{2028}3"];
        let members: MemberCells = names
            .iter()
            .enumerate()
            .map(|(i, n)| (i as u64 + 1, n.to_string(), Cell::Up))
            .collect();
        t.record(NOW, Cell::Available, &members);
        file.append_second(&t, NOW).unwrap();
        drop(file);
        let back = load(&path, NOW).unwrap().unwrap();
        assert_eq!(back.skipped_lines, 0);
        let mut got: Vec<&str> = back.members.values().map(|s| s.name.as_str()).collect();
        got.sort();
        let mut want = names.to_vec();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn a_line_cut_by_a_crash_is_not_glued_to_the_next_session() {
        let dir = tempfile::tempdir().unwrap();
        let path = history_path(dir.path(), 1);
        std::fs::create_dir_all(dir.path()).unwrap();
        std::fs::write(&path, format!("M {NOW} 1a=etcd-1\nS {NOW} a")).unwrap();
        let (mut file, mut t) = HistoryFile::open(&path, NOW + 1).unwrap();
        assert_eq!(t.skipped_lines, 1, "the cut line");
        t.record(NOW + 1, Cell::Available, &member("etcd-1", Cell::Down));
        file.append_second(&t, NOW + 1).unwrap();
        drop(file);
        let back = load(&path, NOW + 1).unwrap().unwrap();
        assert_eq!(back.skipped_lines, 1, "only the cut line");
        assert_eq!(row(&back, 0x1a).chars().last(), Some('D'));
    }

    #[test]
    fn a_file_over_the_limit_at_start_keeps_its_past_when_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = history_path(dir.path(), 1);
        // An hour of seconds, then long events, past the size limit.
        let mut text = format!("M {} 1a=etcd-1\n", NOW - 3600);
        for s in NOW - 3600..NOW {
            text.push_str(&format!("S {s} au\n"));
        }
        let long = "x".repeat(20_000);
        while (text.len() as u64) <= MAX_FILE_BYTES {
            text.push_str(&format!("E {} info {long}\n", NOW - 1));
        }
        std::fs::write(&path, &text).unwrap();
        let (mut file, mut t) = HistoryFile::open(&path, NOW).unwrap();
        assert_eq!(t.cluster.len(), 3600);
        t.record(NOW, Cell::Available, &member("etcd-1", Cell::Up));
        file.append_second(&t, NOW).unwrap();
        drop(file);
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size < MAX_FILE_BYTES, "rewritten: {size} bytes");
        let back = load(&path, NOW).unwrap().unwrap();
        assert_eq!(back.cluster.len(), 3601, "the hour before and now");
    }

    #[test]
    fn links_fifos_and_a_second_console_are_refused_without_harm() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("etcdeck");
        let path = history_path(&state, 1);
        let (file, _) = HistoryFile::open(&path, NOW).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&state), 0o700);
        // A second console on the same cluster reads, and is told it may not write.
        assert!(matches!(
            HistoryFile::open(&path, NOW),
            Err(StateError::Locked { .. })
        ));
        assert!(load(&path, NOW).unwrap().is_some());
        drop(file);

        // A link at the path: not followed, its target untouched.
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep").unwrap();
        let linked = history_path(&state, 2);
        std::os::unix::fs::symlink(&target, &linked).unwrap();
        assert!(matches!(
            HistoryFile::open(&linked, NOW),
            Err(StateError::Symlink { .. })
        ));
        assert!(load(&linked, NOW).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");

        // A FIFO: refused at once (it used to hang the console's quit).
        let fifo = history_path(&state, 3);
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            HistoryFile::open(&fifo, NOW),
            Err(StateError::NotRegular { .. })
        ));
    }
}
