//! The one state store: everything the screen shows, and pure queries over it. Only
//! [`super::update::update`] changes it.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::config::Config;
use super::keys::Keys;
use super::msg::{Failure, Level, ListedMember, Probed};
use super::timeline::{Cell, Timeline};
use crate::etcd::model::{self, Availability, MemberFacts, Role};
use crate::inventory::{Diagnostic, Host, Inventory};

/// Everything the console knows.
#[derive(Debug, Clone)]
pub struct Store {
    /// The time of the newest message; every "for 12 s" is measured against it.
    pub now: Instant,
    pub config: Config,
    pub read_only: bool,
    /// Where the console connects, and why there (for the header).
    pub target: Target,
    pub cluster: ClusterState,
    pub inventory: InventoryState,
    /// The keys under the Patroni namespace, live.
    pub keys: Keys,
    /// Who was up when, and what happened.
    pub timeline: Timeline,
    /// Each Patroni cluster as last seen, for its events.
    pub patroni: crate::patroni::events::Tracker,
    /// The ends of steps of operations run elsewhere (the CLI, another console), read from the
    /// audit log, oldest first; shown among the timeline's events, not written to its history
    /// (the audit log keeps them).
    pub operations: std::collections::VecDeque<super::timeline::Event>,
    /// Audit log lines read before the member list named the cluster.
    pub ops_waiting: Vec<crate::wizard::audit::Entry>,
    /// The operations this console ran (their steps are told as they run).
    pub ops_here: std::collections::HashSet<String>,
    /// A wall-clock reading taken with an `Instant`, to turn instants into Unix seconds.
    pub clock: (Instant, u64),
    /// `$XDG_STATE_HOME/etcdeck`: the wizards' journals, the audit log and snapshots go there
    /// (none: the wizards are refused).
    pub state_dir: Option<PathBuf>,
    /// The cluster's revision over time, for the compaction wizard's target.
    pub revisions: Revisions,
    pub ui: Ui,
    /// The cluster of the config file the console is on (`--cluster`, the switcher), by name.
    pub named: Option<String>,
    /// The console ends to start again on this named cluster (the switcher's Enter).
    pub switch_to: Option<String>,
    /// The demo's training ground: where drills go, and the scenario it started in. None
    /// outside `etcdeck demo`.
    pub lab: Option<Lab>,
    pub quit: bool,
    /// Something visible changed since the last frame.
    pub dirty: bool,
}

/// The revisions the cluster had over time: what the state file holds (read once off the loop)
/// and what this console recorded since, one sample a minute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revisions {
    /// (Unix second, revision), oldest first.
    pub samples: Vec<(u64, i64)>,
    /// When this console last recorded one.
    pub recorded_at: Option<u64>,
}

/// Up to this many Patroni clusters, the timeline shows a row for each unless asked otherwise.
pub const PG_ROWS_FIT: usize = 6;

/// How often the console records the cluster's revision.
pub const RECORD_REVISION_EVERY: u64 = 60;

/// Where the console connects.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub endpoints: Vec<String>,
    /// `flag`, `ETCDCTL_ENDPOINTS`, `inventory`, `sandbox`...
    pub origin: String,
}

/// The live cluster as the probes and the member list see it.
#[derive(Debug, Clone, Default)]
pub struct ClusterState {
    pub id: Option<u64>,
    /// In natural name order (`etcd-2` before `etcd-10`), unstarted members last.
    pub members: Vec<Member>,
    /// When the member list last answered.
    pub list_at: Option<Instant>,
    /// The last failure to read the member list (cleared by the next success).
    pub list_error: Option<(Instant, Failure)>,
    /// The leader the answering members agree on (highest term wins).
    pub leader: Option<u64>,
    /// Since when there has been no leader, after there was one.
    pub leader_lost_at: Option<Instant>,
    pub quota: Quota,
    /// Why the endpoints are not one cluster, when they are not: nothing may be changed then.
    pub mixed: Option<String>,
}

/// The backend quota the DB size is measured against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    pub bytes: i64,
    /// Where the figure comes from, for the details view.
    pub source: String,
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            bytes: crate::render::PIGSTY_QUOTA_BYTES as i64,
            source: "Pigsty's quota-backend-bytes (--quota to change)".into(),
        }
    }
}

/// One member: what the member list says, its last Status, and whether it answers now.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub id: u64,
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub is_learner: bool,
    /// The last Status it gave, kept while it is unreachable (shown dimmed).
    pub status: Option<Probed>,
    pub status_at: Option<Instant>,
    pub reach: Reach,
    /// The last failure, kept after it answers again.
    pub last_error: Option<(Instant, Failure)>,
    /// What its `/metrics` says, when it has been read.
    pub metrics: Option<MemberMetrics>,
    /// How many raft entries it trailed the leader (the id) when its Status came, against the
    /// leader's Status taken before it: one snapshot, so a write between two samples never
    /// shows as lag.
    pub trails: Option<(u64, u64)>,
}

/// How many samples the sparklines keep (one per scrape).
pub const SPARK_SAMPLES: usize = 48;

/// A member's `/metrics`: the last page, the p99s since the page before, the alerts firing,
/// and short series for sparklines.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MemberMetrics {
    pub last: crate::etcd::metrics::Snapshot,
    pub derived: crate::etcd::metrics::Derived,
    pub alerts: Vec<crate::etcd::metrics::Alert>,
    pub at: Option<Instant>,
    pub error: Option<Failure>,
    pub db_bytes: std::collections::VecDeque<f64>,
    pub fsync_p99_ms: std::collections::VecDeque<f64>,
    pub peer_rtt_p99_ms: std::collections::VecDeque<f64>,
}

/// Whether a member answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Reach {
    /// Not asked yet.
    Unknown,
    /// Added to the cluster, never started: it has no client URL to ask.
    Unstarted,
    Up,
    /// Its Status call failed.
    Down {
        since: Instant,
        why: Failure,
    },
    /// Its Status call is pending far longer than it should.
    Stalled {
        since: Instant,
    },
}

impl MemberFacts for Member {
    fn id(&self) -> u64 {
        self.id
    }
    fn is_learner(&self) -> bool {
        self.is_learner || self.status.as_ref().is_some_and(|s| s.is_learner)
    }
    fn started(&self) -> bool {
        Member::started(self)
    }
    fn answers(&self) -> bool {
        self.reachable()
    }
    fn sees(&self) -> Option<(u64, u64)> {
        self.status.as_ref().map(|s| (s.raft_term, s.leader))
    }
}

impl Member {
    pub fn from_list(m: &ListedMember) -> Member {
        Member {
            id: m.id,
            name: m.name.clone(),
            peer_urls: m.peer_urls.clone(),
            client_urls: m.client_urls.clone(),
            is_learner: m.is_learner,
            status: None,
            status_at: None,
            reach: if m.client_urls.is_empty() {
                Reach::Unstarted
            } else {
                Reach::Unknown
            },
            last_error: None,
            metrics: None,
            trails: None,
        }
    }

    pub fn started(&self) -> bool {
        !self.client_urls.is_empty()
    }

    pub fn reachable(&self) -> bool {
        self.reach == Reach::Up
    }

    /// The name, or the hex id while it has none (unstarted).
    pub fn label(&self) -> String {
        if self.name.is_empty() {
            format!("{:x}", self.id)
        } else {
            self.name.clone()
        }
    }

    /// Since when it has been unreachable.
    pub fn down_since(&self) -> Option<Instant> {
        match &self.reach {
            Reach::Down { since, .. } | Reach::Stalled { since } => Some(*since),
            _ => None,
        }
    }
}

/// The Pigsty inventory as loaded at start.
#[derive(Debug, Clone, Default)]
pub struct InventoryState {
    /// The file, as the user named it.
    pub file: Option<String>,
    pub loaded: Option<Inventory>,
    /// Errors that kept it from loading.
    pub errors: Vec<Diagnostic>,
    /// Why there is no inventory, when there is none.
    pub missing: Option<String>,
    /// Inventory address -> the address the member really listens on (the demo runs
    /// 10.10.10.10 as 127.10.10.10).
    pub address_map: Vec<(IpAddr, IpAddr)>,
    /// The `-e KEY=VALUE` values it was loaded with (the membership wizards read it again with
    /// them).
    pub extra_vars: Vec<(String, String)>,
}

impl InventoryState {
    /// Read the inventory at `path` (a file read: never on the console's loop once it runs). An
    /// inventory in a sandbox's directory (`etcdeck demo`, the membership wizards' sandbox) has
    /// its members on the loopback twins of its addresses.
    pub fn read(path: &std::path::Path, extra_vars: &[(String, String)]) -> InventoryState {
        let mut state = InventoryState {
            file: Some(path.display().to_string()),
            extra_vars: extra_vars.to_vec(),
            ..InventoryState::default()
        };
        match crate::inventory::load(path, extra_vars) {
            Ok(inv) => {
                let dir = match path.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                if crate::wizard::setup::is_sandbox(&dir) {
                    state.address_map = inv
                        .hosts
                        .iter()
                        .filter_map(|h| Some((h.ip, crate::sandbox::loopback_for(h.ip).ok()?)))
                        .collect();
                }
                state.loaded = Some(inv);
            }
            Err(diags) => state.errors = diags,
        }
        state
    }
}

/// Screen state: focus, per-pane cursor and filter, the overlay, the flash line.
#[derive(Debug, Clone, Default)]
pub struct Ui {
    pub focus: PaneId,
    /// The pane last focused other than Members: shown beside Members on a wide screen.
    pub last_other: Option<PaneId>,
    pub members: ListView,
    pub inventory: ListView,
    /// The timeline has no list; its filter is kept for symmetry and unused.
    pub timeline: ListView,
    pub overlay: Option<Overlay>,
    /// Wizards opened so far: numbers each one, so a late answer for a closed one is dropped.
    pub wizards_opened: u64,
    /// Typing a filter for the focused pane.
    pub filtering: bool,
    pub flash: Option<Flash>,
    pub size: (u16, u16),
    /// The timeline shows a row per Patroni cluster even when they are many (`p` toggles);
    /// `None`: a row each while they fit, else one row for all.
    pub pg_rows: Option<bool>,
}

impl Ui {
    /// The pane beside Members on a wide screen: the focused one, else the one focused last,
    /// else the key browser.
    pub fn companion(&self) -> PaneId {
        match self.focus {
            PaneId::Members => self.last_other.unwrap_or(PaneId::Keys),
            other => other,
        }
    }
}

/// The panes, in tab order. The timeline joins here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaneId {
    #[default]
    Members,
    Inventory,
    Keys,
    Timeline,
}

impl PaneId {
    pub const ALL: [PaneId; 4] = [
        PaneId::Members,
        PaneId::Inventory,
        PaneId::Keys,
        PaneId::Timeline,
    ];

    pub fn title(self) -> &'static str {
        match self {
            PaneId::Members => "Members",
            PaneId::Inventory => "Inventory",
            PaneId::Keys => "Keys",
            PaneId::Timeline => "Timeline",
        }
    }

    /// 1-based position, as the `1`..`4` keys count.
    pub fn number(self) -> usize {
        PaneId::ALL.iter().position(|p| *p == self).unwrap_or(0) + 1
    }
}

/// Cursor and filter of one list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListView {
    pub selected: usize,
    pub filter: String,
}

/// What is drawn over the panes, one at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    Help {
        scroll: u16,
    },
    /// A maintenance wizard: its plan, the confirmation, then its progress and result (modal).
    Wizard(Box<super::wizard::WizardView>),
    /// One line typed before a membership wizard opens: the new member's IP.
    Prompt(Prompt),
    /// The named clusters to switch to, the cursor on one (an index into `config.clusters`).
    Clusters {
        selected: usize,
    },
    /// The demo's drills, and the story of the scenario it started in.
    Training,
}

/// The demo's side of the console: drills are sent here, to the task that owns the sandbox.
#[derive(Debug, Clone)]
pub struct Lab {
    pub drills: tokio::sync::mpsc::UnboundedSender<crate::lab::Drill>,
    /// What the scenario did and the way out (`etcdeck demo --scenario`).
    pub story: Option<crate::lab::Story>,
}

/// What an IP typed is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptFor {
    /// A new member (`member add --ip`).
    Add,
    /// The member replacing this one (`member replace OLD --ip`).
    Replace(String),
}

/// The one-line prompt: what it asks for, what is typed, why the last Enter was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub purpose: PromptFor,
    pub typed: String,
    pub error: Option<String>,
}

impl Prompt {
    pub fn new(purpose: PromptFor) -> Prompt {
        Prompt {
            purpose,
            typed: String::new(),
            error: None,
        }
    }

    pub fn title(&self) -> String {
        match &self.purpose {
            PromptFor::Add => "Add a member".into(),
            PromptFor::Replace(old) => format!("Replace {}", crate::text::escape(old)),
        }
    }

    /// The question, before what is typed.
    pub const QUESTION: &'static str = "IP of the new member: ";

    /// The address typed, or why it is not one.
    pub fn ip(&self) -> Result<IpAddr, String> {
        let t = self.typed.trim();
        if t.is_empty() {
            return Err("type the new member's IP address (as in the inventory), or Esc".into());
        }
        t.trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| {
                format!(
                    "{} is not an IP address: type one like 10.10.10.13 or fd00::13",
                    crate::text::escape(t)
                )
            })
    }
}

/// A message on the last line that clears itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub level: Level,
    pub text: String,
    pub until: Instant,
}

/// Patroni's namespace in Pigsty.
pub const DEFAULT_NAMESPACE: &str = "/pg";

/// How long a flash stays.
pub const FLASH_FOR: Duration = Duration::from_secs(6);

/// The cluster's state in a few words, and how bad it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub level: Level,
    pub words: String,
}

pub use crate::etcd::model::{Alarm, Quorum};

/// How an inventory host and the live member list match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Ok,
    /// In the inventory, not in the member list.
    NotMember,
    /// In the member list, not in the inventory.
    NotInInventory,
    /// Added to the cluster, never started.
    Unstarted,
    /// Matched, but something differs (said how).
    Differs(String),
    /// The member list has not been read yet.
    Unknown,
}

impl Match {
    pub fn words(&self) -> String {
        match self {
            Match::Ok => "ok".into(),
            Match::NotMember => "in inventory, not a member".into(),
            Match::NotInInventory => "member, not in inventory".into(),
            Match::Unstarted => "unstarted".into(),
            Match::Differs(why) => why.clone(),
            Match::Unknown => "…".into(),
        }
    }
}

/// One row of the inventory pane: a host, a member, or both.
#[derive(Debug, Clone)]
pub struct InventoryRow<'a> {
    pub host: Option<&'a Host>,
    pub member: Option<&'a Member>,
    pub matched: Match,
}

impl Store {
    pub fn new(config: Config, target: Target, inventory: InventoryState, now: Instant) -> Store {
        Store {
            now,
            config,
            read_only: false,
            target,
            cluster: ClusterState::default(),
            inventory,
            keys: Keys::new(DEFAULT_NAMESPACE),
            timeline: Timeline::new(),
            patroni: Default::default(),
            operations: Default::default(),
            ops_waiting: Vec::new(),
            ops_here: Default::default(),
            clock: wall_clock(
                now,
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default(),
            ),
            state_dir: None,
            revisions: Revisions::default(),
            ui: Ui::default(),
            named: None,
            switch_to: None,
            lab: None,
            quit: false,
            dirty: true,
        }
    }

    /// Each Patroni cluster's cell now: whether it holds its leader key, unknown while the key
    /// watch is not live (what the keys say then may be old). A row known before and gone
    /// from the keys is unknown too.
    pub fn pg_cells_now(&self) -> Vec<(String, super::timeline::Cell)> {
        use super::timeline::Cell;
        let live = matches!(self.keys.feed, super::keys::Feed::Live { .. });
        let mut cells: std::collections::BTreeMap<&str, Cell> = self
            .timeline
            .pg
            .keys()
            .map(|name| (name.as_str(), Cell::Unknown))
            .collect();
        for (label, held) in self.patroni.leader_keys() {
            let c = match (live, held) {
                (false, _) => Cell::Unknown,
                (true, true) => Cell::LeaderKey,
                (true, false) => Cell::NoLeaderKey,
            };
            cells.insert(label, c);
        }
        cells
            .into_iter()
            .map(|(name, c)| (name.to_string(), c))
            .collect()
    }

    /// Whether the timeline shows a row per Patroni cluster (else one row for all of them).
    pub fn pg_rows_expanded(&self) -> bool {
        self.ui
            .pg_rows
            .unwrap_or(self.timeline.pg.len() <= PG_ROWS_FIT)
    }

    /// The Unix second of an instant (from the clock reading taken at start: exact to the
    /// second, as the audit log's times are, so that the two merge in order).
    pub fn unix_secs(&self, at: Instant) -> u64 {
        let (base, unix) = self.clock;
        match at.checked_duration_since(base) {
            Some(d) => unix + d.as_secs(),
            None => unix.saturating_sub(base.duration_since(at).as_secs()),
        }
    }

    /// This second's cells: the cluster's and each member's.
    pub fn cells_now(&self) -> (Cell, Vec<(u64, String, Cell)>) {
        let asked = self
            .cluster
            .members
            .iter()
            .any(|m| !matches!(m.reach, Reach::Unknown | Reach::Unstarted));
        let cluster = if !asked && self.cluster.list_error.is_none() {
            Cell::Unknown
        } else if self.availability() == Availability::Available {
            Cell::Available
        } else {
            Cell::Unavailable
        };
        let members = self
            .cluster
            .members
            .iter()
            .map(|m| {
                let cell = match &m.reach {
                    Reach::Unknown => Cell::Unknown,
                    Reach::Unstarted | Reach::Down { .. } | Reach::Stalled { .. } => Cell::Down,
                    Reach::Up => match &m.status {
                        _ if self.role(m) == Role::Learner => Cell::Learner,
                        Some(p) if p.leader == 0 => Cell::NoLeader,
                        _ => Cell::Up,
                    },
                };
                (m.id, m.label(), cell)
            })
            .collect();
        (cluster, members)
    }

    pub fn member(&self, id: u64) -> Option<&Member> {
        self.cluster.members.iter().find(|m| m.id == id)
    }

    /// The name of a member id, or its hex id.
    pub fn name_of(&self, id: u64) -> String {
        self.member(id)
            .map_or_else(|| format!("{id:x}"), Member::label)
    }

    /// The cluster's revision now: the highest in the answering members' Status headers.
    pub fn revision(&self) -> Option<i64> {
        self.cluster
            .members
            .iter()
            .filter(|m| m.reachable())
            .filter_map(|m| m.status.as_ref().map(|p| p.revision))
            .filter(|r| *r > 0)
            .max()
    }

    /// The last compacted revision, from the members' last `/metrics` pages.
    pub fn compacted(&self) -> Option<i64> {
        self.cluster
            .members
            .iter()
            .filter_map(|m| m.metrics.as_ref()?.last.compact_revision)
            .max()
    }

    /// The wizard open now, if one is.
    pub fn wizard(&self) -> Option<&super::wizard::WizardView> {
        match &self.ui.overlay {
            Some(Overlay::Wizard(w)) => Some(w),
            _ => None,
        }
    }

    /// The leader the reachable members see, preferring the one seen in the highest term.
    pub fn derive_leader(&self) -> Option<u64> {
        model::derive_leader(&self.cluster.members)
    }

    /// There is a leader and it answers itself (followers name a dead one for an election
    /// timeout).
    pub fn leader_answers(&self) -> bool {
        model::leader_answers(&self.cluster.members, self.cluster.leader)
    }

    pub fn is_leader(&self, m: &Member) -> bool {
        self.cluster.leader == Some(m.id)
    }

    /// Leader, follower or learner.
    pub fn role(&self, m: &Member) -> Role {
        model::role_of(m, self.cluster.leader)
    }

    pub fn quorum(&self) -> Quorum {
        Quorum::count(&self.cluster.members)
    }

    /// Whether the cluster can serve writes now.
    pub fn availability(&self) -> Availability {
        Availability::of(&self.quorum(), self.leader_answers())
    }

    /// How many raft entries a member's committed index trails the leader's, as measured when
    /// its Status came (see [`Member::trails`]); never below 0.
    pub fn trails_leader(&self, m: &Member) -> Option<u64> {
        let leader = self.cluster.leader?;
        if m.id == leader {
            return m.status.as_ref().map(|_| 0);
        }
        match m.trails {
            Some((of, n)) if of == leader => Some(n),
            _ => None,
        }
    }

    /// Active alarms, from the Status errors of reachable members (every member reports the
    /// cluster's alarms).
    pub fn alarms(&self) -> Vec<Alarm> {
        let mut out: Vec<Alarm> = self
            .cluster
            .members
            .iter()
            .filter(|m| m.reachable())
            .filter_map(|m| m.status.as_ref())
            .flat_map(|s| s.errors.iter().filter_map(|e| parse_alarm(e)))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The cluster's state in words: `healthy`, `degraded: etcd-3 unreachable`, `NO LEADER`...
    pub fn health(&self) -> Health {
        let c = &self.cluster;
        let bad = |words: String| Health {
            level: Level::Error,
            words,
        };
        if let Some(why) = &c.mixed {
            return bad(format!("MIXED CLUSTERS: {why}"));
        }
        if c.members.is_empty() {
            return match &c.list_error {
                // Members answered, but not to us: our own settings are at fault.
                Some((_, f)) if f.error.is_own_settings() => bad(format!(
                    "NOT ASKED: {}: etcdeck's own settings (TLS files, user) are refused",
                    f.short()
                )),
                Some((_, f)) => bad(format!("UNREACHABLE: no endpoint answers ({})", f.short())),
                None => Health {
                    level: Level::Info,
                    words: "connecting…".into(),
                },
            };
        }
        let asked = c
            .members
            .iter()
            .any(|m| m.reach != Reach::Unknown && m.reach != Reach::Unstarted);
        if !asked {
            return Health {
                level: Level::Info,
                words: "asking members…".into(),
            };
        }
        let q = self.quorum();
        match self.availability() {
            Availability::QuorumLost => {
                return bad(format!(
                    "QUORUM LOST: {} of {} voters answer",
                    q.up, q.voters
                ))
            }
            Availability::NoLeader if c.leader.is_none() => return bad("NO LEADER".into()),
            Availability::NoLeader => {
                return bad(format!(
                    "NO LEADER: {} (the last leader) does not answer",
                    self.name_of(c.leader.unwrap_or_default())
                ))
            }
            Availability::Available => {}
        }
        let alarms = self.alarms();
        if !alarms.is_empty() {
            let mut kinds: Vec<&str> = alarms.iter().map(|a| a.kind.as_str()).collect();
            kinds.dedup();
            return bad(format!("{} alarm", kinds.join(" + ")));
        }
        let down: Vec<String> = c
            .members
            .iter()
            .filter(|m| {
                m.started() && matches!(m.reach, Reach::Down { .. } | Reach::Stalled { .. })
            })
            .map(Member::label)
            .collect();
        if !down.is_empty() {
            return Health {
                level: Level::Warn,
                words: format!("degraded: {} unreachable", down.join(", ")),
            };
        }
        let alerting: Vec<String> = c
            .members
            .iter()
            .filter_map(|m| {
                let mm = m.metrics.as_ref()?;
                let first = mm.alerts.first()?;
                Some(format!("{} {}", m.label(), first.rule()))
            })
            .collect();
        if !alerting.is_empty() {
            return Health {
                level: Level::Warn,
                words: format!("alert: {}", alerting.join(", ")),
            };
        }
        let unstarted = c.members.iter().filter(|m| !m.started()).count();
        if unstarted > 0 {
            return Health {
                level: Level::Warn,
                words: format!("healthy, {unstarted} member(s) unstarted"),
            };
        }
        Health {
            level: Level::Info,
            words: "healthy".into(),
        }
    }

    /// The cluster name: from the inventory, else from the member names (`etcd-1` -> `etcd`).
    pub fn cluster_name(&self) -> String {
        if let Some(inv) = &self.inventory.loaded {
            return inv.cluster().to_string();
        }
        self.cluster
            .members
            .iter()
            .find(|m| !m.name.is_empty())
            .map(|m| {
                m.name
                    .rsplit_once('-')
                    .map_or(m.name.clone(), |(stem, _)| stem.to_string())
            })
            .unwrap_or_else(|| "etcd".into())
    }

    /// Members that pass the members pane's filter: a part of the name or role, the start of the
    /// hex id, or (when the filter has a `.` or `:`) a part of an address.
    pub fn visible_members(&self) -> Vec<&Member> {
        let f = self.ui.members.filter.to_lowercase();
        let address = f.contains('.') || f.contains(':');
        self.cluster
            .members
            .iter()
            .filter(|m| {
                f.is_empty()
                    || m.label().to_lowercase().contains(&f)
                    || format!("{:x}", m.id).starts_with(&f)
                    || self.role(m).as_str().contains(&f)
                    || (address
                        && m.client_urls
                            .iter()
                            .chain(&m.peer_urls)
                            .any(|u| u.to_lowercase().contains(&f)))
            })
            .collect()
    }

    /// The member under the cursor.
    pub fn selected_member(&self) -> Option<&Member> {
        let rows = self.visible_members();
        rows.get(self.ui.members.selected.min(rows.len().saturating_sub(1)))
            .copied()
    }

    /// A host with its addresses as the member really listens (see `address_map`).
    fn live_host(&self, h: &Host) -> Host {
        let mut h = h.clone();
        if let Some((_, to)) = self
            .inventory
            .address_map
            .iter()
            .find(|(from, _)| *from == h.ip)
        {
            h.ip = *to;
        }
        h
    }

    /// Inventory hosts matched against the member list, then members the inventory lacks.
    pub fn inventory_rows(&self) -> Vec<InventoryRow<'_>> {
        let members = &self.cluster.members;
        let listed = self.cluster.list_at.is_some();
        let mut used = vec![false; members.len()];
        let mut rows = Vec::new();
        let hosts = self.inventory.loaded.iter().flat_map(|i| i.hosts.iter());
        for host in hosts {
            let live = self.live_host(host);
            let peer = live.peer_url();
            let found = members
                .iter()
                .position(|m| m.peer_urls.contains(&peer))
                .or_else(|| members.iter().position(|m| m.name == host.name()));
            let (member, matched) = match found {
                None if !listed => (None, Match::Unknown),
                None => (None, Match::NotMember),
                Some(i) => {
                    used[i] = true;
                    let m = &members[i];
                    let matched = if !m.started() {
                        Match::Unstarted
                    } else if m.name != host.name() {
                        Match::Differs(format!("named {} in the cluster", m.label()))
                    } else if !m.peer_urls.contains(&peer) {
                        Match::Differs(format!("peer URL differs: {}", m.peer_urls.join(",")))
                    } else if !m.client_urls.contains(&live.client_url()) {
                        Match::Differs(format!("client URL differs: {}", m.client_urls.join(",")))
                    } else {
                        Match::Ok
                    };
                    (Some(m), matched)
                }
            };
            rows.push(InventoryRow {
                host: Some(host),
                member,
                matched,
            });
        }
        for (m, used) in members.iter().zip(used) {
            if !used {
                rows.push(InventoryRow {
                    host: None,
                    member: Some(m),
                    matched: Match::NotInInventory,
                });
            }
        }
        let f = self.ui.inventory.filter.to_lowercase();
        if !f.is_empty() {
            // Addresses only for a filter that looks like one: every address holds digits.
            let address = f.contains('.') || f.contains(':');
            rows.retain(|r| {
                r.host.is_some_and(|h| {
                    h.name().to_lowercase().contains(&f)
                        || (address && h.ip.to_string().contains(&f))
                }) || r
                    .member
                    .is_some_and(|m| m.label().to_lowercase().contains(&f))
                    || r.matched.words().contains(&f)
            });
        }
        rows
    }

    /// The inventory row under the cursor.
    pub fn selected_inventory_row(&self) -> Option<InventoryRow<'_>> {
        let mut rows = self.inventory_rows();
        let i = self.ui.inventory.selected.min(rows.len().checked_sub(1)?);
        Some(rows.swap_remove(i))
    }

    /// The client and peer URL where an inventory host's member really listens.
    pub fn live_urls(&self, h: &Host) -> (String, String) {
        let live = self.live_host(h);
        (live.client_url(), live.peer_url())
    }

    /// Rows in the focused pane (for cursor movement).
    pub fn focused_len(&self) -> usize {
        match self.ui.focus {
            PaneId::Members => self.visible_members().len(),
            PaneId::Inventory => self.inventory_rows().len(),
            PaneId::Keys => self.keys.rows.len(),
            PaneId::Timeline => 0,
        }
    }

    pub fn focused_view_mut(&mut self) -> &mut ListView {
        match self.ui.focus {
            PaneId::Members => &mut self.ui.members,
            PaneId::Inventory => &mut self.ui.inventory,
            PaneId::Keys => &mut self.keys.view,
            PaneId::Timeline => &mut self.ui.timeline,
        }
    }

    pub fn focused_view(&self) -> &ListView {
        match self.ui.focus {
            PaneId::Members => &self.ui.members,
            PaneId::Inventory => &self.ui.inventory,
            PaneId::Keys => &self.keys.view,
            PaneId::Timeline => &self.ui.timeline,
        }
    }
}

pub use crate::etcd::model::parse_alarm;

/// Sort `etcd-2` before `etcd-10`; nameless (unstarted) members last.
pub fn natural_order(a: &Member, b: &Member) -> std::cmp::Ordering {
    let key = |m: &Member| (m.name.is_empty(), model::natural_key(&m.name));
    key(a).cmp(&key(b)).then(a.id.cmp(&b.id))
}

/// The instant at which the Unix clock (`since` the epoch at `now`) turned its current second,
/// and that second: the instant is moved back by the fraction of the second already gone, so
/// that the seconds counted from it turn when the wall clock's do (a reading kept whole would
/// run up to a second early).
pub fn wall_clock(now: Instant, since: Duration) -> (Instant, u64) {
    let frac = Duration::from_nanos(u64::from(since.subsec_nanos()));
    (now.checked_sub(frac).unwrap_or(now), since.as_secs())
}
