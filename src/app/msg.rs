//! What comes in (`Msg`) and what goes out (`Cmd`). Producers and commands speak only in these.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::KeyEvent;

use crate::wizard::drive::Report;
use crate::wizard::journal::Record;
use crate::wizard::{Op, Phase, Plan, StepOutcome};

pub use crate::etcd::error::Failure;
pub use crate::etcd::model::{ListedMember, MemberList, Probed};
pub use crate::etcd::ops::Change;
pub use crate::etcd::probe::{Listed, ProbeReport, Scraped};
pub use crate::etcd::watch::{FeedReport, Kv, KvEvent};

/// Something that happened: input, time passing, or an answer from etcd.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// Lines the audit log gained (every cluster's): operations run by any etcdeck.
    Operations(Vec<crate::wizard::audit::Entry>),
    /// The terminal changed size (columns, rows).
    Resize(u16, u16),
    /// Time passed; relative times and flashes follow it.
    Tick(Instant),
    /// The member list, or why no endpoint gave it.
    MemberList {
        at: Instant,
        result: Result<MemberList, Failure>,
    },
    /// One member's Status, or why it did not answer.
    Probe {
        at: Instant,
        id: u64,
        url: String,
        result: Result<Probed, Failure>,
    },
    /// A member's Status has been pending for `waited`: it accepts connections but does not answer
    /// (frozen, overloaded, or a network black hole). The call goes on until its timeout.
    Stalled {
        at: Instant,
        id: u64,
        url: String,
        waited: Duration,
    },
    /// A page of the key snapshot read at `revision`; `first` starts a (re)load, `complete`
    /// ends it. `reason` says why it is read (start, compaction, ...).
    KeysPage {
        at: Instant,
        revision: i64,
        kvs: Vec<Kv>,
        first: bool,
        complete: bool,
        reason: String,
    },
    /// Changes from the prefix watch, in order.
    KeyEvents {
        at: Instant,
        events: Vec<KvEvent>,
    },
    /// The watch confirms everything up to `revision` was delivered.
    WatchProgress {
        at: Instant,
        revision: i64,
    },
    /// The watch is connected to `url`, or lost and being retried (`Err(why)`).
    WatchState {
        at: Instant,
        state: Result<String, Failure>,
    },
    /// Seconds left on a lease and its granted TTL (-1 left: the lease is gone).
    LeaseTtl {
        at: Instant,
        lease: i64,
        result: Result<(i64, i64), Failure>,
    },
    /// One scrape of a member's `/metrics`, parsed, or why it failed.
    Metrics {
        at: Instant,
        id: u64,
        result: Result<Box<crate::etcd::metrics::Snapshot>, Failure>,
    },
    /// The history kept from earlier runs, read from the state file.
    History(Box<crate::app::timeline::Timeline>),
    /// Which cluster the configured endpoints answer for, or why not one
    /// ([`crate::etcd::EtcdError::MixedClusters`] when they answer for several).
    Identity {
        at: Instant,
        result: Result<u64, Failure>,
    },
    /// A change to the cluster was made, or why not (refused by read-only mode, or by etcd).
    Changed {
        at: Instant,
        change: Change,
        result: Result<String, Failure>,
    },
    /// The revisions recorded for the cluster in earlier runs (the state file, read off the loop).
    Revisions {
        cluster_id: u64,
        samples: Vec<(u64, i64)>,
    },
    /// News of the wizard open now (numbered by `token`): the journal looked up, the run's
    /// progress from its driver, its end.
    Wizard {
        at: Instant,
        token: u64,
        news: WizardNews,
    },
    /// The inventory read again (after a membership wizard, which may have edited it).
    Inventory(Box<crate::app::store::InventoryState>),
    /// A background task failed in a way the operator should hear about.
    Flash(Level, String),
    /// The demo did a drill (or could not): on the flash line and among the timeline's events.
    Drilled(Level, String),
    /// Leave now (SIGTERM, SIGHUP).
    Quit,
}

/// What the wizard machinery tells the console.
#[derive(Debug, Clone)]
pub enum WizardNews {
    /// The unfinished run of the same operation, if there is one (`journal::unfinished`).
    Earlier(Result<Option<Box<Record>>, String>),
    /// The run's journal is open: the operation's id and the file.
    Opened { id: String, journal: PathBuf },
    /// What the driver reports (`drive::Report`).
    Step(Report),
    /// The largest prefixes, read for the NOSPACE recovery's plan (after it is shown).
    Prefixes(Result<Vec<(String, u64, u64)>, String>),
    /// What a membership wizard plans with besides the cluster (the inventory, the provisioner,
    /// the CA, the seqs used), read off the loop, or why it cannot be read.
    Facts(Result<Box<crate::wizard::setup::Facts>, String>),
    /// A line to show after the run's result (an unfinished add rolled back by a remove).
    Note(String),
    /// The run ended: how, and what each step did.
    Finished {
        phase: Phase,
        outcomes: Vec<StepOutcome>,
    },
}

/// Everything a confirmed wizard run needs: the plan shown, what the operator typed (the
/// machine checks it again), and the journal being resumed or abandoned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WizardStart {
    pub token: u64,
    pub plan: Plan,
    pub typed: String,
    /// Steps done in the run being resumed.
    pub done: BTreeSet<String>,
    /// The journal carried on (resume), if any.
    pub resumed: Option<Box<Record>>,
    /// The unfinished journal given up for a fresh plan, if any.
    pub abandon: Option<Box<Record>>,
    /// Unix seconds now (names the operation).
    pub now: u64,
    /// The options that shaped the plan, as `etcdeck <verb>` would give them (the journal keeps
    /// them, so the command line resumes a run the console began).
    pub args: String,
}

/// How loud a flash message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// An effect for the runtime to carry out; its result comes back as a `Msg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    /// Leave the console (members keep running).
    Quit,
    /// Ask the member list and every member now, and reset their backoff.
    RefreshNow,
    /// Read the member list now: a member's Status says the membership or leadership moved.
    ListNow,
    /// The members to probe, each at its client URL. Probes for members not listed stop.
    Probe(Vec<ProbeTarget>),
    /// Ask the member at `url` how long a lease has left.
    LeaseTtl { lease: i64, url: String },
    /// Put text on the clipboard of the terminal the console runs in (OSC 52).
    Clipboard(Vec<u8>),
    /// Append second `.0` of the timeline (and events since the last one) to the history file.
    Persist(u64),
    /// Change the cluster through the member at `via`. Refused where it would run when the
    /// console is read-only; the result comes back as [`Msg::Changed`].
    Change { change: Change, via: String },
    /// Look for an unfinished run of `op` on the cluster (a file read, off the loop); the answer
    /// comes back as [`WizardNews::Earlier`].
    WizardLookup { token: u64, op: Op, cluster_id: u64 },
    /// Carry a confirmed wizard out (`wizard::drive::run` on a task). Refused where it would run
    /// when the console is read-only and the plan changes the cluster.
    WizardRun(Box<WizardStart>),
    /// Ask the running wizard to stop between steps.
    WizardCancel,
    /// Read every key from the member at `url` for the NOSPACE recovery's largest prefixes; the
    /// answer comes back as [`WizardNews::Prefixes`].
    WizardPrefixes { token: u64, url: String },
    /// Read what a membership wizard plans with (`wizard::setup::gather`, file reads, off the
    /// loop): the inventory the console loaded, with its `-e` values, the provisioner found
    /// beside it, else the manual one writing the member's files to `manual_out`. The answer
    /// comes back as [`WizardNews::Facts`].
    WizardMemberFacts {
        token: u64,
        cluster_id: u64,
        inventory: Option<PathBuf>,
        extra_vars: Vec<(String, String)>,
        state: PathBuf,
        manual_out: PathBuf,
    },
    /// Read the inventory again (off the loop), with the `-e` values it was loaded with:
    /// [`Msg::Inventory`].
    ReloadInventory {
        path: PathBuf,
        extra_vars: Vec<(String, String)>,
    },
    /// Read the revisions recorded for the cluster (off the loop): [`Msg::Revisions`].
    LoadRevisions { cluster_id: u64 },
    /// Record that the cluster was at `revision` at Unix second `at` (off the loop).
    RecordRevision {
        cluster_id: u64,
        at: u64,
        revision: i64,
    },
    /// A drill for the demo's sandbox (sent to the task that owns it).
    Drill(crate::lab::Drill),
}

impl Cmd {
    /// Whether carrying it out changes the cluster (read-only mode refuses those).
    pub fn changes_cluster(&self) -> bool {
        match self {
            Cmd::Change { .. } => true,
            Cmd::WizardRun(start) => start.plan.changes(),
            // It breaks the sandbox on purpose: not in read-only mode either.
            Cmd::Drill(_) => true,
            Cmd::Quit
            | Cmd::RefreshNow
            | Cmd::ListNow
            | Cmd::Probe(_)
            | Cmd::LeaseTtl { .. }
            | Cmd::Clipboard(_)
            | Cmd::Persist(_)
            | Cmd::WizardLookup { .. }
            | Cmd::WizardCancel
            | Cmd::WizardPrefixes { .. }
            | Cmd::WizardMemberFacts { .. }
            | Cmd::ReloadInventory { .. }
            | Cmd::LoadRevisions { .. }
            | Cmd::RecordRevision { .. } => false,
        }
    }
}

/// A member to probe.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProbeTarget {
    pub id: u64,
    pub url: String,
}

/// The console's channel is where every producer reports: each report becomes the `Msg` of the
/// same name.
impl<E> crate::etcd::Sink<E> for tokio::sync::mpsc::UnboundedSender<Msg>
where
    E: Into<Msg> + Send + 'static,
{
    fn report(&self, event: E) -> bool {
        self.send(event.into()).is_ok()
    }
    fn closed(&self) -> bool {
        self.is_closed()
    }
}

impl From<ProbeReport> for Msg {
    fn from(r: ProbeReport) -> Msg {
        match r {
            ProbeReport::Status {
                at,
                id,
                url,
                result,
            } => Msg::Probe {
                at,
                id,
                url,
                result,
            },
            ProbeReport::Stalled {
                at,
                id,
                url,
                waited,
            } => Msg::Stalled {
                at,
                id,
                url,
                waited,
            },
        }
    }
}

impl From<Scraped> for Msg {
    fn from(s: Scraped) -> Msg {
        Msg::Metrics {
            at: s.at,
            id: s.id,
            result: s.result,
        }
    }
}

impl From<Listed> for Msg {
    fn from(l: Listed) -> Msg {
        Msg::MemberList {
            at: l.at,
            result: l.result,
        }
    }
}

impl From<FeedReport> for Msg {
    fn from(r: FeedReport) -> Msg {
        match r {
            FeedReport::Page {
                at,
                revision,
                kvs,
                first,
                complete,
                reason,
            } => Msg::KeysPage {
                at,
                revision,
                kvs,
                first,
                complete,
                reason,
            },
            FeedReport::Events { at, events } => Msg::KeyEvents { at, events },
            FeedReport::Progress { at, revision } => Msg::WatchProgress { at, revision },
            FeedReport::State { at, state } => Msg::WatchState { at, state },
        }
    }
}
