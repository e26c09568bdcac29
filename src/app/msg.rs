//! What comes in (`Msg`) and what goes out (`Cmd`). Producers and commands speak only in these.

use std::time::{Duration, Instant};

use ratatui::crossterm::event::KeyEvent;

/// Something that happened: input, time passing, or an answer from etcd.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
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
    /// A background task failed in a way the operator should hear about.
    Flash(Level, String),
    /// Leave now (SIGTERM, SIGHUP).
    Quit,
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
}

/// One key with its value and metadata, as etcd gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kv {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
    pub lease: i64,
}

impl From<&etcd_client::KeyValue> for Kv {
    fn from(kv: &etcd_client::KeyValue) -> Kv {
        Kv {
            key: kv.key().to_vec(),
            value: kv.value().to_vec(),
            create_revision: kv.create_revision(),
            mod_revision: kv.mod_revision(),
            version: kv.version(),
            lease: kv.lease(),
        }
    }
}

/// A change seen by the watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvEvent {
    Put(Kv),
    /// The key's `mod_revision` is the revision of the delete.
    Delete(Kv),
}

impl KvEvent {
    pub fn kv(&self) -> &Kv {
        match self {
            KvEvent::Put(kv) | KvEvent::Delete(kv) => kv,
        }
    }
}

/// A member to probe.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProbeTarget {
    pub id: u64,
    pub url: String,
}

/// Why a call failed: a short word for tables and the full operator message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub short: String,
    pub text: String,
}

impl Failure {
    pub fn new(short: impl Into<String>, text: impl Into<String>) -> Failure {
        Failure {
            short: short.into(),
            text: text.into(),
        }
    }
}

impl From<&crate::etcd::EtcdError> for Failure {
    fn from(e: &crate::etcd::EtcdError) -> Failure {
        Failure::new(e.short(), e.to_string())
    }
}

/// The member list as one endpoint gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberList {
    pub cluster_id: u64,
    pub members: Vec<ListedMember>,
}

/// One entry of the member list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedMember {
    pub id: u64,
    /// Empty until the member has started (an added member that never joined).
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub is_learner: bool,
}

impl From<&etcd_client::MemberListResponse> for MemberList {
    fn from(r: &etcd_client::MemberListResponse) -> MemberList {
        MemberList {
            cluster_id: r.header().map_or(0, |h| h.cluster_id()),
            members: r
                .members()
                .iter()
                .map(|m| ListedMember {
                    id: m.id(),
                    name: m.name().to_string(),
                    peer_urls: m.peer_urls().to_vec(),
                    client_urls: m.client_urls().to_vec(),
                    is_learner: m.is_learner(),
                })
                .collect(),
        }
    }
}

/// A member's answer to Status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    pub version: String,
    pub db_size: i64,
    pub db_size_in_use: i64,
    /// The leader this member sees (0: none).
    pub leader: u64,
    pub raft_term: u64,
    /// Committed raft index.
    pub raft_index: u64,
    pub raft_applied_index: u64,
    pub is_learner: bool,
    /// Errors the member reports about itself: `etcdserver: no leader`, active alarms.
    pub errors: Vec<String>,
    pub latency: Duration,
}

impl Probed {
    pub fn from_status(s: &etcd_client::StatusResponse, latency: Duration) -> Probed {
        Probed {
            version: s.version().to_string(),
            db_size: s.db_size(),
            db_size_in_use: s.raft_used_db_size(),
            leader: s.leader(),
            raft_term: s.raft_term(),
            raft_index: s.raft_index(),
            raft_applied_index: s.raft_applied_index(),
            is_learner: s.is_learner(),
            errors: s.errors().to_vec(),
            latency,
        }
    }
}
