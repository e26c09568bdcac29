//! The key browser's data: every key under the watched prefix, kept live by the watch, and the
//! rows of the tree the pane shows. Rows are rebuilt only when the set of keys, the expanded
//! directories or the filter change, and the pane draws only the rows on screen, so the cost of
//! a frame does not grow with the number of keys.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use super::msg::{Kv, KvEvent};
use super::store::ListView;

/// How long a changed row stays highlighted.
pub const HIGHLIGHT_FOR: Duration = Duration::from_secs(3);

/// With at most this many keys at the first load, every directory starts expanded.
pub const EXPAND_ALL_UP_TO: usize = 400;

/// A key or directory path; cheap to clone (rows and highlights share the map's keys).
pub type Path = std::sync::Arc<[u8]>;

/// One key's value and metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: Vec<u8>,
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
    pub lease: i64,
}

impl From<Kv> for (Path, Entry) {
    fn from(kv: Kv) -> Self {
        (
            Path::from(kv.key),
            Entry {
                value: kv.value,
                create_revision: kv.create_revision,
                mod_revision: kv.mod_revision,
                version: kv.version,
                lease: kv.lease,
            },
        )
    }
}

/// Where the watch stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Feed {
    #[default]
    Idle,
    /// Reading the snapshot: `read` keys so far.
    Loading { read: usize, reason: String },
    /// Watching from `url`.
    Live { url: String },
    /// Lost the watch; trying again.
    Retrying { why: String },
}

/// One visible row of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 0 for the namespace's children.
    pub depth: u16,
    /// A key, or a directory (ends with `/`): the full bytes.
    pub path: Path,
    pub dir: bool,
    /// Keys below a directory.
    pub count: usize,
    pub expanded: bool,
}

/// All keys under `prefix`, their tree rows and the view's cursor.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    /// The namespace, with a trailing `/` (`/pg/`).
    pub prefix: String,
    pub map: BTreeMap<Path, Entry>,
    /// The store revision the map reflects.
    pub revision: i64,
    /// A snapshot being read; replaces `map` when complete.
    pending: Option<BTreeMap<Path, Entry>>,
    pub feed: Feed,
    /// The last time the watch was lost, and why.
    pub last_loss: Option<(Instant, String)>,
    /// The watch has been live at least once.
    pub ever_live: bool,
    /// When the last full load finished, and how long it took.
    pub loaded: Option<(Instant, Duration)>,
    load_started: Option<Instant>,
    /// Keys changed recently (for highlighting), with when.
    pub changed: HashMap<Path, Instant>,
    pub expanded: HashSet<Path>,
    pub rows: Vec<Row>,
    /// The set of keys changed shape since the rows were built.
    rows_stale: bool,
    /// Cursor and filter.
    pub view: ListView,
    /// First line of the value shown.
    pub value_scroll: u16,
    /// Leases asked about: id -> (seconds left, granted, when asked).
    pub leases: HashMap<i64, (i64, i64, Instant)>,
    /// Events applied since start, and those dropped as already seen.
    pub applied: u64,
    pub duplicates: u64,
}

impl Keys {
    pub fn new(prefix: &str) -> Keys {
        let mut p = prefix.to_string();
        if !p.ends_with('/') {
            p.push('/');
        }
        Keys {
            prefix: p,
            ..Keys::default()
        }
    }

    /// A snapshot page read at `revision`. `first` starts a new snapshot; `complete` ends it
    /// and swaps it in.
    pub fn snapshot_page(
        &mut self,
        at: Instant,
        revision: i64,
        kvs: Vec<Kv>,
        first: bool,
        complete: bool,
        reason: &str,
    ) {
        if first || self.pending.is_none() {
            self.pending = Some(BTreeMap::new());
            self.load_started = Some(at);
        }
        let pending = self.pending.get_or_insert_with(BTreeMap::new);
        for kv in kvs {
            let (k, e) = kv.into();
            pending.insert(k, e);
        }
        self.feed = Feed::Loading {
            read: pending.len(),
            reason: reason.to_string(),
        };
        if complete {
            let fresh = self.pending.take().unwrap_or_default();
            let first_load = self.loaded.is_none();
            // Keys that differ from what was shown before a reload are highlighted.
            if !first_load {
                for (k, e) in &fresh {
                    if self.map.get(k) != Some(e) {
                        self.changed.insert(k.clone(), at);
                    }
                }
            }
            self.map = fresh;
            self.revision = revision;
            self.loaded = Some((
                at,
                at.saturating_duration_since(self.load_started.unwrap_or(at)),
            ));
            if first_load && self.map.len() <= EXPAND_ALL_UP_TO {
                let dirs: Vec<Path> = self.all_dirs();
                self.expanded.extend(dirs);
            }
            self.rows_stale = true;
        }
    }

    /// Watch events in order. Events at or below the map's revision were already seen (a
    /// resumed watch may repeat them) and are skipped.
    pub fn apply(&mut self, at: Instant, events: Vec<KvEvent>) {
        // Events of one transaction share a revision and arrive together; anything at or below
        // the revision already held was seen before.
        let base = self.revision;
        for ev in events {
            // Both puts and deletes carry the revision of the change in mod_revision.
            let rev = ev.kv().mod_revision;
            if rev <= base {
                self.duplicates += 1;
                continue;
            }
            self.revision = self.revision.max(rev);
            match ev {
                KvEvent::Put(kv) => {
                    let existed = self.map.contains_key(kv.key.as_slice());
                    let (k, e) = kv.into();
                    self.changed.insert(k.clone(), at);
                    self.map.insert(k, e);
                    self.rows_stale |= !existed;
                }
                KvEvent::Delete(kv) => {
                    if self.map.remove(kv.key.as_slice()).is_some() {
                        self.rows_stale = true;
                    }
                    self.changed.remove(kv.key.as_slice());
                }
            }
            self.applied += 1;
        }
    }

    /// A watch progress notice: everything up to `revision` has been seen.
    pub fn progress(&mut self, revision: i64) {
        self.revision = self.revision.max(revision);
    }

    /// Forget highlights older than [`HIGHLIGHT_FOR`]; true when one went.
    pub fn expire_highlights(&mut self, now: Instant) -> bool {
        let before = self.changed.len();
        self.changed
            .retain(|_, t| now.saturating_duration_since(*t) < HIGHLIGHT_FOR);
        before != self.changed.len()
    }

    /// Whether rows must be rebuilt before drawing.
    pub fn rows_stale(&self) -> bool {
        self.rows_stale
    }

    pub fn mark_stale(&mut self) {
        self.rows_stale = true;
    }

    fn all_dirs(&self) -> Vec<Path> {
        let mut dirs = HashSet::new();
        for k in self.map.keys() {
            let Some(rest) = k.strip_prefix(self.prefix.as_bytes()) else {
                continue;
            };
            for (i, b) in rest.iter().enumerate() {
                if *b == b'/' {
                    let mut d = self.prefix.as_bytes().to_vec();
                    d.extend_from_slice(&rest[..=i]);
                    dirs.insert(Path::from(d));
                }
            }
        }
        dirs.into_iter().collect()
    }

    /// Rebuild the visible rows: directories with their key counts, the keys of expanded
    /// directories; with a filter, only the keys whose path contains it and their directories
    /// (shown expanded). One pass over the keys in order, with a stack of the directories the
    /// walk is in: no hashing or allocation per key.
    pub fn rebuild_rows(&mut self) {
        use std::ops::Bound;
        let prefix = self.prefix.as_bytes();
        let filter = self.view.filter.to_lowercase();
        let filtering = !filter.is_empty();
        struct Open<'a> {
            dir: &'a [u8],
            row: Option<usize>,
            count: usize,
            /// Its keys and subdirectories are shown.
            open: bool,
        }
        let mut rows: Vec<Row> = Vec::new();
        let mut stack: Vec<Open> = Vec::new();
        let close = |stack: &mut Vec<Open>, rows: &mut Vec<Row>, keep: usize| {
            while stack.len() > keep {
                if let Some(o) = stack.pop() {
                    if let Some(i) = o.row {
                        rows[i].count = o.count;
                    }
                }
            }
        };
        let keys = self
            .map
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(prefix));
        for k in keys {
            let rest = &k[prefix.len()..];
            if filtering && !contains_ignore_ascii_case(rest, filter.as_bytes()) {
                continue;
            }
            let common = stack.iter().take_while(|o| k.starts_with(o.dir)).count();
            close(&mut stack, &mut rows, common);
            // Enter the directories of this key below the deepest one open.
            let from = stack.last().map_or(prefix.len(), |o| o.dir.len());
            for (i, b) in k[from..].iter().enumerate() {
                if *b != b'/' {
                    continue;
                }
                let dir = &k[..from + i + 1];
                let shown = stack.last().is_none_or(|o| o.open);
                let expanded = filtering || self.expanded.contains(dir);
                let row = shown.then(|| {
                    rows.push(Row {
                        depth: stack.len() as u16,
                        path: Path::from(dir),
                        dir: true,
                        count: 0,
                        expanded,
                    });
                    rows.len() - 1
                });
                stack.push(Open {
                    dir,
                    row,
                    count: 0,
                    open: shown && expanded,
                });
            }
            for o in stack.iter_mut() {
                o.count += 1;
            }
            if stack.last().is_none_or(|o| o.open) {
                rows.push(Row {
                    depth: stack.len() as u16,
                    path: k.clone(),
                    dir: false,
                    count: 0,
                    expanded: false,
                });
            }
        }
        close(&mut stack, &mut rows, 0);
        // Keep the cursor on the same path when it is still shown.
        let was = self.rows.get(self.view.selected).map(|r| r.path.clone());
        self.rows = rows;
        self.rows_stale = false;
        if let Some(p) = was {
            if let Some(i) = self.rows.iter().position(|r| r.path == p) {
                self.view.selected = i;
            }
        }
        self.view.selected = self.view.selected.min(self.rows.len().saturating_sub(1));
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.rows.get(self.view.selected)
    }

    /// Expand or collapse the directory under the cursor; on a key, nothing.
    pub fn toggle(&mut self, expand: Option<bool>) {
        let Some(row) = self.rows.get(self.view.selected) else {
            return;
        };
        if !row.dir {
            return;
        }
        let want = expand.unwrap_or(!row.expanded);
        let path = row.path.clone();
        if want {
            self.expanded.insert(path);
        } else {
            self.expanded.remove(&path);
        }
        self.rows_stale = true;
    }

    /// Move the cursor to the directory that holds the current row.
    pub fn to_parent(&mut self) {
        let Some(row) = self.rows.get(self.view.selected) else {
            return;
        };
        if row.depth == 0 {
            return;
        }
        let depth = row.depth - 1;
        if let Some(i) = self.rows[..self.view.selected]
            .iter()
            .rposition(|r| r.dir && r.depth == depth)
        {
            self.view.selected = i;
        }
    }

    /// Move to the next (or previous) top-level directory: the next Patroni cluster.
    pub fn jump_cluster(&mut self, forward: bool) {
        let found = if forward {
            self.rows
                .iter()
                .enumerate()
                .skip(self.view.selected + 1)
                .find(|(_, r)| r.dir && r.depth == 0)
                .map(|(i, _)| i)
        } else {
            self.rows[..self.view.selected.min(self.rows.len())]
                .iter()
                .rposition(|r| r.dir && r.depth == 0)
        };
        if let Some(i) = found {
            self.view.selected = i;
        }
    }

    /// The top-level directory (Patroni scope) of a path, with its trailing `/`.
    pub fn scope_of<'a>(&self, path: &'a [u8]) -> Option<&'a [u8]> {
        let rest = path.strip_prefix(self.prefix.as_bytes())?;
        let end = rest.iter().position(|b| *b == b'/')?;
        Some(&path[..self.prefix.len() + end + 1])
    }

    /// The keys under a directory, in order.
    pub fn under<'a>(&'a self, dir: &'a [u8]) -> impl Iterator<Item = (&'a Path, &'a Entry)> + 'a {
        use std::ops::Bound;
        self.map
            .range::<[u8], _>((Bound::Included(dir), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(dir))
    }

    /// What Patroni's keys under the scope directory `scope` (`/pg/pg-meta/`) say: one summary,
    /// or one per Citus group, none when no Patroni key is left there.
    pub fn summaries_under(
        &self,
        scope: &[u8],
        lease_ttl: &dyn Fn(i64) -> Option<i64>,
    ) -> Vec<crate::patroni::ClusterSummary> {
        let entries = self.under(scope).map(|(key, e)| crate::patroni::Entry {
            key,
            value: &e.value,
            lease: e.lease,
            create_revision: e.create_revision,
            mod_revision: e.mod_revision,
            version: e.version,
        });
        crate::patroni::summarize(&self.prefix, entries, lease_ttl)
    }

    /// Every Patroni cluster the keys hold.
    pub fn all_summaries(&self) -> Vec<crate::patroni::ClusterSummary> {
        self.summaries_under(self.prefix.as_bytes(), &|_| None)
    }

    /// Seconds left on a lease, as last asked and counted down since.
    pub fn lease_left(&self, lease: i64, now: Instant) -> Option<i64> {
        let (ttl, _, at) = self.leases.get(&lease)?;
        if *ttl < 0 {
            return Some(-1);
        }
        Some((*ttl - now.saturating_duration_since(*at).as_secs() as i64).max(0))
    }
}

/// Whether `needle` (lowercase) occurs in `hay`, ignoring ASCII case; no allocation.
fn contains_ignore_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || hay.windows(needle.len()).any(|w| {
            w.iter()
                .zip(needle)
                .all(|(a, b)| a.to_ascii_lowercase() == *b)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, value: &str, rev: i64) -> Kv {
        Kv {
            key: key.as_bytes().to_vec(),
            value: value.as_bytes().to_vec(),
            create_revision: rev,
            mod_revision: rev,
            version: 1,
            lease: 0,
        }
    }

    fn loaded(keys: &[&str]) -> Keys {
        let mut k = Keys::new("/pg");
        let kvs = keys
            .iter()
            .enumerate()
            .map(|(i, key)| kv(key, "v", i as i64 + 1))
            .collect();
        k.snapshot_page(Instant::now(), keys.len() as i64, kvs, true, true, "start");
        k.rebuild_rows();
        k
    }

    fn shown(k: &Keys) -> Vec<String> {
        k.rows
            .iter()
            .map(|r| {
                let p = String::from_utf8_lossy(&r.path);
                let name = p
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .to_string();
                format!(
                    "{}{}{}",
                    "  ".repeat(r.depth as usize),
                    name,
                    if r.dir {
                        format!("/ ({})", r.count)
                    } else {
                        String::new()
                    }
                )
            })
            .collect()
    }

    const KEYS: [&str; 6] = [
        "/pg/pg-meta/leader",
        "/pg/pg-meta/members/pg-meta-1",
        "/pg/pg-meta/members/pg-meta-2",
        "/pg/pg-test/leader",
        "/pg/pg-citus/0/leader",
        "/pg/pg-citus/1/leader",
    ];

    #[test]
    fn a_small_namespace_starts_fully_expanded_as_a_tree() {
        let k = loaded(&KEYS);
        assert_eq!(
            shown(&k),
            [
                "pg-citus/ (2)",
                "  0/ (1)",
                "    leader",
                "  1/ (1)",
                "    leader",
                "pg-meta/ (3)",
                "  leader",
                "  members/ (2)",
                "    pg-meta-1",
                "    pg-meta-2",
                "pg-test/ (1)",
                "  leader",
            ]
        );
    }

    #[test]
    fn collapse_expand_parent_and_cluster_jumps() {
        let mut k = loaded(&KEYS);
        k.view.selected = 5; // pg-meta/
        k.toggle(None);
        k.rebuild_rows();
        assert_eq!(shown(&k)[5..], ["pg-meta/ (3)", "pg-test/ (1)", "  leader"]);
        assert_eq!(
            k.view.selected, 5,
            "the cursor stays on the collapsed directory"
        );
        k.toggle(Some(true));
        k.rebuild_rows();
        k.view.selected = 8; // pg-meta-1
        k.to_parent();
        assert_eq!(
            String::from_utf8_lossy(&k.rows[k.view.selected].path),
            "/pg/pg-meta/members/"
        );
        k.jump_cluster(true);
        assert_eq!(
            String::from_utf8_lossy(&k.rows[k.view.selected].path),
            "/pg/pg-test/"
        );
        k.jump_cluster(false);
        assert_eq!(
            String::from_utf8_lossy(&k.rows[k.view.selected].path),
            "/pg/pg-meta/"
        );
        assert_eq!(
            k.scope_of(b"/pg/pg-meta/members/x"),
            Some(&b"/pg/pg-meta/"[..])
        );
    }

    #[test]
    fn filter_shows_matching_keys_with_their_directories() {
        let mut k = loaded(&KEYS);
        k.expanded.clear();
        k.view.filter = "META-2".into();
        k.rebuild_rows();
        assert_eq!(
            shown(&k),
            ["pg-meta/ (1)", "  members/ (1)", "    pg-meta-2"]
        );
    }

    #[test]
    fn watch_events_update_add_delete_and_skip_what_was_seen() {
        let mut k = loaded(&KEYS);
        let t = Instant::now();
        assert_eq!(k.revision, 6);
        // An event from before the snapshot is a duplicate (a resumed watch).
        k.apply(t, vec![KvEvent::Put(kv("/pg/pg-meta/leader", "old", 5))]);
        assert_eq!(k.duplicates, 1);
        assert_eq!(k.map[b"/pg/pg-meta/leader".as_slice()].value, b"v");
        // An update changes no row; a new key and a delete do.
        k.apply(
            t,
            vec![KvEvent::Put(kv("/pg/pg-meta/leader", "pg-meta-2", 7))],
        );
        assert!(!k.rows_stale());
        assert!(k.changed.contains_key(b"/pg/pg-meta/leader".as_slice()));
        k.apply(
            t,
            vec![
                KvEvent::Put(kv("/pg/pg-new/leader", "x", 8)),
                KvEvent::Delete(kv("/pg/pg-test/leader", "", 9)),
            ],
        );
        assert!(k.rows_stale());
        k.rebuild_rows();
        let s = shown(&k);
        assert!(s.contains(&"pg-new/ (1)".to_string()), "{s:?}");
        assert!(!s.contains(&"pg-test/ (1)".to_string()), "{s:?}");
        assert_eq!(k.revision, 9);
        assert_eq!(k.applied, 3);
        // One transaction: several events at one revision, all applied.
        k.apply(
            t,
            vec![
                KvEvent::Put(kv("/pg/pg-new/a", "1", 10)),
                KvEvent::Put(kv("/pg/pg-new/b", "2", 10)),
                KvEvent::Delete(kv("/pg/pg-new/leader", "", 10)),
            ],
        );
        assert_eq!(k.applied, 6);
        assert!(k.map.contains_key(b"/pg/pg-new/b".as_slice()));
        assert!(!k.map.contains_key(b"/pg/pg-new/leader".as_slice()));
        // Delivered again (a resumed watch), the same transaction changes nothing.
        k.apply(t, vec![KvEvent::Put(kv("/pg/pg-new/a", "stale", 10))]);
        assert_eq!(k.map[b"/pg/pg-new/a".as_slice()].value, b"1");
        // Highlights fade.
        assert!(k.expire_highlights(t + HIGHLIGHT_FOR));
        assert!(k.changed.is_empty());
    }

    #[test]
    fn a_reload_replaces_everything_at_once_and_highlights_differences() {
        let mut k = loaded(&KEYS);
        let t = Instant::now();
        k.snapshot_page(
            t,
            20,
            vec![kv("/pg/pg-meta/leader", "pg-meta-1", 20)],
            true,
            false,
            "compacted",
        );
        assert_eq!(
            k.map.len(),
            6,
            "the old keys stay until the new snapshot is complete"
        );
        assert!(matches!(&k.feed, Feed::Loading { read: 1, reason } if reason == "compacted"));
        k.snapshot_page(
            t,
            20,
            vec![kv("/pg/pg-test/leader", "v", 4)],
            false,
            true,
            "compacted",
        );
        assert_eq!(k.map.len(), 2);
        assert_eq!(k.revision, 20);
        assert!(k.changed.contains_key(b"/pg/pg-meta/leader".as_slice()));
        assert!(!k.changed.contains_key(b"/pg/pg-test/leader".as_slice()));
    }

    #[test]
    fn lease_time_counts_down_from_the_answer() {
        let mut k = Keys::new("/pg/");
        let t = Instant::now();
        k.leases.insert(42, (25, 30, t));
        assert_eq!(k.lease_left(42, t + Duration::from_secs(10)), Some(15));
        assert_eq!(k.lease_left(42, t + Duration::from_secs(60)), Some(0));
        assert_eq!(k.lease_left(7, t), None);
        assert_eq!(k.prefix, "/pg/");
    }
}
