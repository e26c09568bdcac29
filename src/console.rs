//! The event loop: messages in, `update`, commands out, one render when something changed.
//! Nothing here waits on etcd: calls run on tokio tasks that report back as `Msg`s.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ratatui::backend::Backend;
use ratatui::Terminal;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::app::msg::{Cmd, Failure, Msg, ProbeTarget, WizardNews, WizardStart};
use crate::app::store::Store;
use crate::app::timeline::{history_path, Cell, Event, HistoryFile, MemberCells};
use crate::app::update::{settle, update};
use crate::etcd::metrics::Scraper;
use crate::etcd::probe::{probe_member, read_member_list, scrape_member};
use crate::etcd::watch::feed_prefix;
use crate::etcd::Cluster;
use crate::state::StateError;
use crate::ui::Screen;
use crate::wizard::audit::AuditLog;
use crate::wizard::drive::{self, Report, Reporter};
use crate::wizard::journal::{self, Journal, Standing};
use crate::wizard::{Event as WizardEvent, Phase, StepOutcome, Wizard};

/// How often time moves on screen ("unreachable 12s", flashes expiring).
pub const TICK: Duration = Duration::from_secs(1);

/// How often the console reads what the audit log gained.
pub const AUDIT_EVERY: Duration = Duration::from_secs(2);

/// The shortest time between two frames drawn for background news (about 30 per second).
pub const MIN_FRAME: Duration = Duration::from_millis(33);

/// The background work the runtime owns: the member-list reader and one probe per member.
struct Producers {
    cluster: Cluster,
    refresh: Duration,
    tx: mpsc::UnboundedSender<Msg>,
    wake: watch::Sender<u64>,
    /// Wakes only the member-list reader.
    wake_list: watch::Sender<u64>,
    list: Option<JoinHandle<()>>,
    probes: HashMap<u64, (String, JoinHandle<()>)>,
    /// `/metrics` readers, one per member, when the TLS files allow it.
    scraper: Option<Scraper>,
    scrapes: HashMap<u64, (String, JoinHandle<()>)>,
    /// The key browser's read and watch.
    feed: Option<JoinHandle<()>>,
    /// The audit log's reader.
    audit: Option<JoinHandle<()>>,
}

impl Producers {
    fn start_list(&mut self) {
        self.list = Some(tokio::spawn(read_member_list(
            self.cluster.clone(),
            self.refresh,
            self.tx.clone(),
            self.wake.subscribe(),
            self.wake_list.subscribe(),
        )));
    }

    /// Probe exactly `targets` (Status and `/metrics`): start new ones, stop the ones no longer
    /// listed or moved.
    fn set_probes(&mut self, targets: Vec<ProbeTarget>) {
        let (cluster, refresh, tx, wake) = (&self.cluster, self.refresh, &self.tx, &self.wake);
        reconcile(&mut self.probes, &targets, |t| {
            tokio::spawn(probe_member(
                cluster.clone(),
                t.id,
                t.url.clone(),
                refresh,
                tx.clone(),
                wake.subscribe(),
            ))
        });
        if let Some(scraper) = &self.scraper {
            reconcile(&mut self.scrapes, &targets, |t| {
                tokio::spawn(scrape_member(
                    scraper.clone(),
                    t.id,
                    t.url.clone(),
                    tx.clone(),
                    wake.subscribe(),
                ))
            });
        }
    }

    fn refresh_now(&self) {
        self.wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn list_now(&self) {
        self.wake_list.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Keep one task per target in `tasks`: abort those whose member went or moved to another URL,
/// start `spawn` for the new ones.
fn reconcile(
    tasks: &mut HashMap<u64, (String, JoinHandle<()>)>,
    targets: &[ProbeTarget],
    spawn: impl Fn(&ProbeTarget) -> JoinHandle<()>,
) {
    tasks.retain(|id, (url, task)| {
        let keep = targets.iter().any(|t| t.id == *id && &t.url == url);
        if !keep {
            task.abort();
        }
        keep
    });
    for t in targets {
        tasks
            .entry(t.id)
            .or_insert_with(|| (t.url.clone(), spawn(t)));
    }
}

impl Drop for Producers {
    fn drop(&mut self) {
        for t in self.list.iter().chain(&self.feed).chain(&self.audit) {
            t.abort();
        }
        for (_, t) in self.probes.values().chain(self.scrapes.values()) {
            t.abort();
        }
    }
}

/// Observes frames, for the benchmark: called after each draw with the frame number and the
/// store drawn.
pub type FrameHook<'a> = Box<dyn FnMut(u64, &Store) + 'a>;

/// The console without its terminal: the store, the producers that feed it and the history
/// file. [`run`] drives it from terminal events and draws it; tests drive it by hand.
pub struct Engine {
    pub store: Store,
    producers: Producers,
    history: History,
    /// The state directory (journals, the audit log, snapshots, revisions), if there is one.
    state_dir: Option<PathBuf>,
    /// The wizard running now: its number and the flag its driver polls between steps.
    wizard: Option<(u64, Arc<AtomicBool>, JoinHandle<()>)>,
}

impl Engine {
    /// Nothing starts yet. `tx` is where producers send their messages; `state_dir` is where
    /// the history file goes (none: not kept).
    pub fn new(
        store: Store,
        cluster: Cluster,
        tx: mpsc::UnboundedSender<Msg>,
        state_dir: Option<PathBuf>,
    ) -> Engine {
        let (wake, _) = watch::channel(0u64);
        let (wake_list, _) = watch::channel(0u64);
        let mut store = store;
        store.state_dir = state_dir.clone();
        let scraper = match Scraper::new(cluster.settings()) {
            Ok(s) => Some(s),
            Err(e) => {
                crate::app::update::flash(
                    &mut store,
                    crate::app::msg::Level::Warn,
                    format!("/metrics is not read (no latency figures or alerts): {e}"),
                );
                None
            }
        };
        Engine {
            producers: Producers {
                cluster,
                refresh: store.config.refresh,
                tx,
                wake,
                wake_list,
                list: None,
                probes: HashMap::new(),
                scraper,
                scrapes: HashMap::new(),
                feed: None,
                audit: None,
            },
            store,
            history: History::new(state_dir.clone()),
            state_dir,
            wizard: None,
        }
    }

    /// Start reading the member list; the probes follow from the first answer. The configured
    /// endpoints are asked once which cluster they answer for, alongside.
    pub fn start_member_list(&mut self) {
        self.producers.start_list();
        let (cluster, tx) = (self.producers.cluster.clone(), self.producers.tx.clone());
        tokio::spawn(async move {
            let result = cluster.identify().await.map_err(Failure::from);
            let _ = tx.send(Msg::Identity {
                at: Instant::now(),
                result,
            });
        });
    }

    /// Start the key browser's read and watch of the namespace.
    pub fn start_key_feed(&mut self) {
        self.producers.feed = Some(tokio::spawn(feed_prefix(
            self.producers.cluster.clone(),
            self.store.keys.prefix.clone(),
            self.producers.tx.clone(),
        )));
    }

    /// Start reading the audit log's new lines every [`AUDIT_EVERY`] (off the loop): the
    /// operations run by the CLI or another console join the timeline's events.
    pub fn start_audit_tail(&mut self) {
        let Some(dir) = self.state_dir.clone() else {
            return;
        };
        let tx = self.producers.tx.clone();
        self.producers.audit = Some(tokio::spawn(async move {
            let mut offset = 0;
            let mut every = tokio::time::interval(AUDIT_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let d = dir.clone();
                let read =
                    tokio::task::spawn_blocking(move || crate::wizard::audit::tail(&d, offset))
                        .await;
                match read {
                    Ok(Ok((entries, next))) => {
                        offset = next;
                        if !entries.is_empty() && tx.send(Msg::Operations(entries)).is_err() {
                            return;
                        }
                    }
                    // The wizards say it when they cannot write it; the timeline goes without.
                    Ok(Err(_)) => {}
                    Err(_) => return,
                }
            }
        }));
    }

    /// Apply one message and carry out the commands it asks for; the commands, for whoever
    /// watches.
    pub fn apply(&mut self, msg: Msg) -> Vec<Cmd> {
        let cmds = update(&mut self.store, msg);
        for cmd in &cmds {
            self.execute(cmd);
        }
        cmds
    }

    /// Carry out one command. A change to the cluster is refused here when the console is
    /// read-only, whoever asked for it (the keymap hides such actions as well).
    pub fn execute(&mut self, cmd: &Cmd) {
        if cmd.changes_cluster() && self.store.read_only {
            let refused = match cmd {
                Cmd::Change { change, .. } => Some(Msg::Changed {
                    at: Instant::now(),
                    change: change.clone(),
                    result: Err(Failure::from(crate::etcd::EtcdError::ReadOnly {
                        change: change.describe(),
                    })),
                }),
                Cmd::WizardRun(start) => Some(wizard_failed(
                    start.token,
                    format!(
                        "read-only mode: refused to run {} (start without --read-only to                          change the cluster); nothing was done",
                        start.plan.op.command()
                    ),
                )),
                _ => None,
            };
            if let Some(refused) = refused {
                for next in update(&mut self.store, refused) {
                    self.execute(&next);
                }
            }
            return;
        }
        match cmd {
            Cmd::Quit => {}
            Cmd::RefreshNow => self.producers.refresh_now(),
            Cmd::ListNow => self.producers.list_now(),
            Cmd::Probe(targets) => self.producers.set_probes(targets.clone()),
            Cmd::LeaseTtl { lease, url } => {
                tokio::spawn(lease_ttl(
                    self.producers.cluster.clone(),
                    *lease,
                    url.clone(),
                    self.producers.tx.clone(),
                ));
            }
            Cmd::Clipboard(bytes) => clipboard(bytes),
            Cmd::Drill(drill) => {
                let sent = self
                    .store
                    .lab
                    .as_ref()
                    .is_some_and(|lab| lab.drills.send(drill.clone()).is_ok());
                if !sent {
                    let text = "the demo's drills are not running here".to_string();
                    let warn = Msg::Flash(crate::app::msg::Level::Warn, text);
                    for next in update(&mut self.store, warn) {
                        self.execute(&next);
                    }
                }
            }
            Cmd::Persist(sec) => self.history.persist(&self.store, *sec, &self.producers.tx),
            Cmd::Change { change, via } => {
                let (cluster, tx) = (self.producers.cluster.clone(), self.producers.tx.clone());
                let (change, via) = (change.clone(), via.clone());
                tokio::spawn(async move {
                    let result = crate::etcd::ops::apply(&cluster, &via, &change)
                        .await
                        .map_err(Failure::from);
                    let _ = tx.send(Msg::Changed {
                        at: Instant::now(),
                        change,
                        result,
                    });
                });
            }
            Cmd::WizardLookup {
                token,
                op,
                cluster_id,
            } => {
                let Some(dir) = self.state_dir.clone() else {
                    return;
                };
                let (tx, token, op, cluster_id) =
                    (self.producers.tx.clone(), *token, *op, *cluster_id);
                tokio::task::spawn_blocking(move || {
                    let found = journal::unfinished(&dir, cluster_id, op).map(|r| r.map(Box::new));
                    let _ = tx.send(Msg::Wizard {
                        at: Instant::now(),
                        token,
                        news: WizardNews::Earlier(found),
                    });
                });
            }
            Cmd::WizardRun(start) => self.run_wizard(start),
            Cmd::WizardPrefixes { token, url } => {
                let (tx, token, url) = (self.producers.tx.clone(), *token, url.clone());
                let cluster = self.producers.cluster.clone();
                tokio::spawn(async move {
                    let found = crate::wizard::alarm::largest_prefixes(&cluster, &url)
                        .await
                        .map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Wizard {
                        at: Instant::now(),
                        token,
                        news: WizardNews::Prefixes(found),
                    });
                });
            }
            Cmd::WizardCancel => {
                if let Some((_, cancel, _)) = &self.wizard {
                    cancel.store(true, Ordering::SeqCst);
                }
            }
            Cmd::LoadRevisions { cluster_id } => {
                let Some(dir) = self.state_dir.clone() else {
                    return;
                };
                let (tx, cluster_id) = (self.producers.tx.clone(), *cluster_id);
                tokio::task::spawn_blocking(move || {
                    let samples = crate::wizard::revisions::load(&dir, cluster_id);
                    let _ = tx.send(Msg::Revisions {
                        cluster_id,
                        samples,
                    });
                });
            }
            Cmd::WizardMemberFacts {
                token,
                cluster_id,
                inventory,
                extra_vars,
                state,
                manual_out,
            } => {
                let (tx, token, cluster_id) = (self.producers.tx.clone(), *token, *cluster_id);
                let (inventory, extra_vars, state, manual_out) = (
                    inventory.clone(),
                    extra_vars.clone(),
                    state.clone(),
                    manual_out.clone(),
                );
                tokio::task::spawn_blocking(move || {
                    let found = crate::wizard::setup::gather_found_or_manual(
                        &state,
                        cluster_id,
                        inventory.as_deref(),
                        &extra_vars,
                        &manual_out,
                    )
                    .map(Box::new);
                    let _ = tx.send(Msg::Wizard {
                        at: Instant::now(),
                        token,
                        news: WizardNews::Facts(found),
                    });
                });
            }
            Cmd::ReloadInventory { path, extra_vars } => {
                let (tx, path, extra_vars) =
                    (self.producers.tx.clone(), path.clone(), extra_vars.clone());
                tokio::task::spawn_blocking(move || {
                    let state = crate::app::store::InventoryState::read(&path, &extra_vars);
                    let _ = tx.send(Msg::Inventory(Box::new(state)));
                });
            }
            Cmd::RecordRevision {
                cluster_id,
                at,
                revision,
            } => {
                let Some(dir) = self.state_dir.clone() else {
                    return;
                };
                let (cluster_id, at, revision) = (*cluster_id, *at, *revision);
                tokio::task::spawn_blocking(move || {
                    // As the wizards do: a sample that cannot be written is only a sample less.
                    let _ = crate::wizard::revisions::record(&dir, cluster_id, at, revision);
                });
            }
        }
    }

    /// Start a confirmed wizard on a task: the same driver as the command line's, reporting
    /// through the message channel. One at a time.
    fn run_wizard(&mut self, start: &WizardStart) {
        let tx = self.producers.tx.clone();
        let refuse = |why: String| {
            let _ = tx.send(wizard_failed(start.token, why));
        };
        if self
            .wizard
            .as_ref()
            .is_some_and(|(_, _, task)| !task.is_finished())
        {
            return refuse("another wizard is running; nothing was done".into());
        }
        let Some(dir) = self.state_dir.clone() else {
            return refuse(
                "no state directory for the journal (neither XDG_STATE_HOME nor HOME is set);                  nothing was done"
                    .into(),
            );
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(drive_wizard(
            self.producers.cluster.clone(),
            dir,
            start.clone(),
            tx,
            cancel.clone(),
        ));
        self.wizard = Some((start.token, cancel, task));
    }

    /// Derived state up to date before drawing (see [`settle`]).
    pub fn settle(&mut self) {
        settle(&mut self.store);
    }

    /// Seconds written to the history file so far.
    pub fn seconds_persisted(&self) -> u64 {
        self.history
            .seconds
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Run the console until the operator quits or `rx` closes. `tx`/`rx` is the message channel;
/// the caller feeds terminal events into `tx` (see [`spawn_terminal_events`]).
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    mut store: Store,
    cluster: Cluster,
    tx: mpsc::UnboundedSender<Msg>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    mut on_frame: Option<FrameHook<'_>>,
    state_dir: Option<PathBuf>,
) -> anyhow::Result<Store>
where
    B::Error: Send + Sync + 'static,
{
    if let Ok(size) = terminal.size() {
        store.ui.size = (size.width, size.height);
    }
    let mut engine = Engine::new(store, cluster, tx.clone(), state_dir);
    // The first frame goes out before any network answer.
    let mut frames = 0u64;
    draw(terminal, &engine.store, &mut frames, &mut on_frame)?;
    engine.start_member_list();
    engine.start_key_feed();
    engine.start_audit_tail();

    let ticker = tokio::spawn({
        let tx = tx.clone();
        async move {
            let mut every = tokio::time::interval(TICK);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if tx.send(Msg::Tick(Instant::now())).is_err() {
                    return;
                }
            }
        }
    });
    drop(tx);

    let mut last_draw = Instant::now();
    while let Some(first) = rx.recv().await {
        // Drain what is queued, then draw once. Under a stream of watch events, frames are
        // spaced by MIN_FRAME; keys are drawn at once.
        let mut batch = vec![first];
        loop {
            while let Ok(m) = rx.try_recv() {
                batch.push(m);
            }
            let keyed = batch
                .iter()
                .any(|m| matches!(m, Msg::Key(_) | Msg::Resize(..)));
            let wait = MIN_FRAME.saturating_sub(last_draw.elapsed());
            if keyed || wait.is_zero() {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        for msg in batch {
            engine.apply(msg);
        }
        if engine.store.quit {
            break;
        }
        engine.settle();
        if engine.store.dirty {
            last_draw = Instant::now();
            draw(terminal, &engine.store, &mut frames, &mut on_frame)?;
            // Render bookkeeping, not state: the next change sets it again.
            engine.store.dirty = false;
        }
    }
    ticker.abort();
    Ok(engine.store)
}

fn draw<B: Backend>(
    terminal: &mut Terminal<B>,
    store: &Store,
    frames: &mut u64,
    on_frame: &mut Option<FrameHook<'_>>,
) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    terminal.draw(|f| f.render_widget(&Screen::new(store), f.area()))?;
    *frames += 1;
    if let Some(hook) = on_frame {
        hook(*frames, store);
    }
    Ok(())
}

/// The history file, kept by a writer thread of its own so that no file operation (opening and
/// reading up to 16 MiB, appending, the rewrite past the size limit) ever runs on the console's
/// loop. The loop hands it each recorded second and the new events; the thread reads the past
/// once, sends it back as [`Msg::History`], and reports a failure as a flash, then stops.
struct History {
    dir: Option<PathBuf>,
    writer: Option<std::sync::mpsc::Sender<Second>>,
    events_written: u64,
    /// Seconds appended to the file, counted by the writer.
    seconds: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// One recorded second for the writer, with the events since the last one.
struct Second {
    sec: u64,
    cluster: Cell,
    members: MemberCells,
    pg: Vec<(String, Cell)>,
    events: Vec<Event>,
}

impl History {
    fn new(dir: Option<PathBuf>) -> History {
        History {
            dir,
            writer: None,
            events_written: 0,
            seconds: Default::default(),
        }
    }

    /// Hand second `sec` (and new events) to the writer; start the writer the first time,
    /// once the cluster id is known.
    fn persist(&mut self, store: &Store, sec: u64, tx: &mpsc::UnboundedSender<Msg>) {
        if self.writer.is_none() {
            let (Some(dir), Some(id)) = (&self.dir, store.cluster.id) else {
                return;
            };
            let (jobs, queue) = std::sync::mpsc::channel();
            let (path, tx, seconds) = (history_path(dir, id), tx.clone(), self.seconds.clone());
            let started = std::thread::Builder::new()
                .name("history".into())
                .spawn(move || write_history(path, sec, queue, tx, seconds));
            if started.is_err() {
                self.dir = None;
                return;
            }
            self.writer = Some(jobs);
        }
        let Some((cluster, members)) = store.timeline.second(sec) else {
            return;
        };
        let events = store
            .timeline
            .events_since(self.events_written)
            .cloned()
            .collect();
        self.events_written = store.timeline.events_total;
        let job = Second {
            sec,
            cluster,
            members,
            pg: store.timeline.pg_second(sec),
            events,
        };
        if self.writer.as_ref().is_some_and(|w| w.send(job).is_err()) {
            // The writer stopped (it said why): keep recording in memory only.
            self.writer = None;
            self.dir = None;
        }
    }
}

/// The writer thread: open and read the file, send the past back, then append every second
/// it is handed. It keeps its own copy of the timeline for the rewrite past the size limit.
fn write_history(
    path: PathBuf,
    now: u64,
    queue: std::sync::mpsc::Receiver<Second>,
    tx: mpsc::UnboundedSender<Msg>,
    seconds: std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    let stop = |why: String| {
        let _ = tx.send(Msg::Flash(
            crate::app::msg::Level::Warn,
            format!("history is not kept: {why}"),
        ));
    };
    let (mut file, mut mirror) = match HistoryFile::open(&path, now) {
        Ok(opened) => opened,
        Err(StateError::Locked { .. }) => {
            // Another console on this cluster writes it: show the past, write nothing.
            if let Ok(Some(past)) = crate::app::timeline::load(&path, now) {
                let _ = tx.send(Msg::History(Box::new(past)));
            }
            let _ = tx.send(Msg::Flash(
                crate::app::msg::Level::Info,
                format!(
                    "history: another console writes {}; this one shows it and records in memory",
                    path.display()
                ),
            ));
            return;
        }
        Err(e) => return stop(e.to_string()),
    };
    // The past, read once: folded in like any other message.
    if tx.send(Msg::History(Box::new(mirror.clone()))).is_err() {
        return;
    }
    while let Ok(job) = queue.recv() {
        mirror.record(job.sec, job.cluster, &job.members);
        mirror.record_pg(job.sec, &job.pg);
        let mut result = file.append_second(&mirror, job.sec);
        for e in job.events {
            result = result.and_then(|_| file.append_event(&e));
            mirror.event_tagged(e.at, e.level, e.tag, e.text);
        }
        if let Err(e) = result {
            return stop(e.to_string());
        }
        seconds.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The wizard numbered `token` ended before it began, for `why`.
fn wizard_failed(token: u64, why: String) -> Msg {
    Msg::Wizard {
        at: Instant::now(),
        token,
        news: WizardNews::Finished {
            phase: Phase::Failed(why),
            outcomes: Vec::new(),
        },
    }
}

/// Where the console's wizard driver reports: every report becomes a message to the loop; a
/// cancel asked with Esc is seen between steps.
struct ConsoleReporter {
    token: u64,
    tx: mpsc::UnboundedSender<Msg>,
    cancel: Arc<AtomicBool>,
}

impl Reporter for ConsoleReporter {
    fn report(&mut self, r: Report) {
        let _ = self.tx.send(Msg::Wizard {
            at: Instant::now(),
            token: self.token,
            news: WizardNews::Step(r),
        });
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

/// What `etcdeck defrag` and its siblings do once the operator has confirmed (see
/// `commands::wizard::carry_out`): give up the journal planned over, open the journal (new or
/// resumed) and the audit log, replay the confirmation into the machine, drive it, tell the end.
/// The journal and the audit log are written here, on this task, never on the loop.
async fn drive_wizard(
    cluster: Cluster,
    state: PathBuf,
    start: WizardStart,
    tx: mpsc::UnboundedSender<Msg>,
    cancel: Arc<AtomicBool>,
) {
    let WizardStart {
        token,
        plan,
        typed,
        done,
        resumed,
        abandon,
        now,
        args,
    } = start;
    let send = |news: WizardNews| {
        let _ = tx.send(Msg::Wizard {
            at: Instant::now(),
            token,
            news,
        });
    };
    let finished =
        |phase: Phase, outcomes: Vec<StepOutcome>| WizardNews::Finished { phase, outcomes };
    if let Some(rec) = abandon {
        if let Ok(mut j) = Journal::open(&state, *rec) {
            let _ = j.finish(
                Standing::Abandoned,
                Some("abandoned: planned afresh in the console".into()),
            );
        }
    }
    let mut wiz = Wizard::resume(plan.clone(), done);
    let first = wiz.advance(WizardEvent::Typed(typed));
    if wiz.phase.is_over() {
        return send(finished(wiz.phase.clone(), wiz.outcomes.clone()));
    }
    let record = match resumed {
        Some(r) => *r,
        None => journal::record(plan.clone(), &args, now),
    };
    let op_id = record.id.clone();
    let mut journal = match Journal::open(&state, record) {
        Ok(j) => j,
        Err(e) => {
            let why = format!("the journal cannot be opened ({e}); nothing was done");
            return send(finished(Phase::Failed(why), Vec::new()));
        }
    };
    let etcd_user = cluster.settings().user.as_ref().map(|(u, _)| u.clone());
    let mut audit = match AuditLog::open(&state, plan.cluster_id, &op_id, etcd_user) {
        Ok(a) => a,
        Err(e) => {
            let why = format!("the audit log cannot be opened ({e}); nothing was done");
            let _ = journal.finish(Standing::Failed, Some(why.clone()));
            return send(finished(Phase::Failed(why), Vec::new()));
        }
    };
    send(WizardNews::Opened {
        id: op_id,
        journal: journal.path().to_path_buf(),
    });
    let ctx = drive::Context {
        cluster,
        state_dir: state,
    };
    let mut rep = ConsoleReporter {
        token,
        tx: tx.clone(),
        cancel,
    };
    drive::run(&ctx, &mut wiz, first, &mut journal, &mut audit, &mut rep).await;
    send(finished(wiz.phase.clone(), wiz.outcomes.clone()));
    // As `etcdeck member remove` does: an unfinished add of the member removed is rolled back.
    if wiz.phase == Phase::Done && plan.op == crate::wizard::Op::MemberRemove {
        for s in &plan.steps {
            if let crate::wizard::StepKind::RemoveMember { peer_url, .. } = &s.kind {
                let by = "the console's member remove";
                for id in crate::wizard::member::roll_back_adds(
                    &ctx.state_dir,
                    plan.cluster_id,
                    peer_url,
                    by,
                ) {
                    send(WizardNews::Note(format!(
                        "the unfinished add {id} is rolled back: its learner was removed"
                    )));
                }
            }
        }
    }
}

/// Ask the member at `url` how long `lease` has left.
async fn lease_ttl(cluster: Cluster, lease: i64, url: String, tx: mpsc::UnboundedSender<Msg>) {
    let result = cluster
        .call(&url, |mut c| async move {
            c.lease_time_to_live(lease, None).await
        })
        .await
        .map(|(r, _)| (r.ttl(), r.granted_ttl()))
        .map_err(|e| Failure::from(&e));
    let _ = tx.send(Msg::LeaseTtl {
        at: Instant::now(),
        lease,
        result,
    });
}

/// Set the clipboard of the terminal (and of tmux, and over SSH) with OSC 52.
fn clipboard(bytes: &[u8]) {
    use std::io::Write;
    // `update` refuses larger copies with a message; never send what a terminal would drop.
    if bytes.len() > crate::app::update::CLIPBOARD_MAX {
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "\x1b]52;c;{}\x07", crate::text::base64(bytes));
    let _ = out.flush();
}

/// Where the terminal's events go, and whether a reader thread runs: one reader at a time, so
/// that a console started again (a switch of cluster) never has a second thread taking its keys.
static TERMINAL_EVENTS: std::sync::Mutex<(Option<mpsc::UnboundedSender<Msg>>, bool)> =
    std::sync::Mutex::new((None, false));

/// Read terminal events on a thread of their own (crossterm's read blocks) and send them as
/// `Msg`s to `tx`. The thread ends when the console is gone and no other took its place; a
/// console started meanwhile gets the events from the same thread.
pub fn spawn_terminal_events(tx: mpsc::UnboundedSender<Msg>) {
    use ratatui::crossterm::event::{self, Event};
    let lock = || TERMINAL_EVENTS.lock().unwrap_or_else(|e| e.into_inner());
    {
        let mut state = lock();
        state.0 = Some(tx);
        if state.1 {
            return;
        }
        state.1 = true;
    }
    let gone = move || {
        let mut state = lock();
        let closed = state.0.as_ref().is_none_or(|tx| tx.is_closed());
        if closed {
            state.1 = false;
        }
        closed
    };
    std::thread::spawn(move || loop {
        // Poll with a timeout so the thread notices the console has gone.
        match event::poll(Duration::from_millis(250)) {
            Ok(true) => {}
            Ok(false) => {
                if gone() {
                    return;
                }
                continue;
            }
            Err(_) => {
                lock().1 = false;
                return;
            }
        }
        let msg = match event::read() {
            Ok(Event::Key(k)) => Msg::Key(k),
            Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
            Ok(_) => continue,
            Err(_) => {
                lock().1 = false;
                return;
            }
        };
        let tx = lock().0.clone();
        // A key pressed between two consoles (a switch) is dropped.
        if tx.is_some_and(|tx| tx.send(msg).is_err()) && gone() {
            return;
        }
    });
}

/// Where frame timings go when `ETCDECK_FRAME_LOG` names a file: one line per frame,
/// `<frame> <unix time in µs> <members with a Status> <overlay>` (`wizard`, `help` or `-`).
/// The benchmark reads it.
pub fn frame_log_hook(path: &std::path::Path) -> std::io::Result<FrameHook<'static>> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    Ok(Box::new(move |n, store: &Store| {
        let us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros());
        let filled = store
            .cluster
            .members
            .iter()
            .filter(|m| m.status.is_some())
            .count();
        let overlay = match &store.ui.overlay {
            Some(crate::app::store::Overlay::Wizard(_)) => "wizard",
            Some(crate::app::store::Overlay::Help { .. }) => "help",
            Some(crate::app::store::Overlay::Prompt(_)) => "prompt",
            Some(crate::app::store::Overlay::Clusters { .. }) => "clusters",
            Some(crate::app::store::Overlay::Training) => "training",
            None => "-",
        };
        let _ = writeln!(file, "{n} {us} {filled} {overlay}");
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::config::Config;
    use crate::app::msg::Change;
    use crate::app::msg::Level;
    use crate::app::store::{InventoryState, Target};
    use crate::connect::{Origin, Settings};
    use crate::etcd::error::ErrorKind;

    /// An engine on an address where nothing listens.
    fn engine(read_only: bool) -> (Engine, mpsc::UnboundedReceiver<Msg>) {
        let settings = Settings {
            endpoints: vec!["http://127.0.0.1:9".into()],
            endpoints_origin: Origin::Flag("--endpoints"),
            cacert: None,
            cert: None,
            key: None,
            user: None,
            timeout: Duration::from_millis(500),
        };
        let mut store = Store::new(
            Config::default(),
            Target::default(),
            InventoryState::default(),
            Instant::now(),
        );
        store.read_only = read_only;
        let (tx, rx) = mpsc::unbounded_channel();
        let cluster = Cluster::new(settings).expect("plain http settings load");
        (Engine::new(store, cluster, tx, None), rx)
    }

    fn remove() -> Cmd {
        Cmd::Change {
            change: Change::RemoveMember { id: 0x42 },
            via: "http://127.0.0.1:9".into(),
        }
    }

    /// No tokio runtime here: had the change been started, `tokio::spawn` would panic.
    #[test]
    fn read_only_refuses_a_change_where_it_would_run_and_says_so() {
        let (mut engine, mut rx) = engine(true);
        assert!(remove().changes_cluster());
        engine.execute(&remove());
        let flash = engine.store.ui.flash.as_ref().expect("a flash");
        assert_eq!(flash.level, Level::Error);
        assert_eq!(
            flash.text,
            "could not remove member 42: read-only mode: refused to remove member 42 (start \
             without --read-only to change the cluster)"
        );
        assert!(rx.try_recv().is_err(), "nothing was sent anywhere");
    }

    /// No tokio runtime here either: a wizard run started would panic in `tokio::spawn`.
    #[test]
    fn read_only_refuses_a_wizard_run_that_changes_the_cluster_and_says_so() {
        use crate::app::testing::{press, type_text, wizard_news, wizard_store};
        use crate::app::wizard::Stage;
        use ratatui::crossterm::event::KeyCode;
        let (mut engine, mut rx) = engine(true);
        // The command as a confirmed defrag gives it (confirmed before read-only was on).
        let mut store = wizard_store(Instant::now());
        press(&mut store, KeyCode::Char('D'));
        wizard_news(&mut store, crate::app::msg::WizardNews::Earlier(Ok(None)));
        type_text(&mut store, "etcd");
        let cmds = press(&mut store, KeyCode::Enter);
        let [run @ Cmd::WizardRun(_)] = cmds.as_slice() else {
            panic!("{cmds:?}")
        };
        assert!(run.changes_cluster());
        store.read_only = true;
        engine.store = store;
        engine.execute(run);
        let w = engine.store.wizard().expect("the modal stays");
        assert_eq!(w.stage(), Stage::Over);
        let shown: Vec<String> = w.lines(engine.store.now).into_iter().map(|l| l.1).collect();
        assert!(
            shown[0].contains("FAILED: read-only mode: refused to run defrag"),
            "{shown:?}"
        );
        let flash = engine.store.ui.flash.as_ref().expect("a flash");
        assert_eq!(flash.level, Level::Error);
        assert!(flash.text.contains("read-only mode"), "{}", flash.text);
        assert!(rx.try_recv().is_err(), "nothing was sent anywhere");
    }

    #[tokio::test]
    async fn without_read_only_a_change_is_sent_to_the_member_named() {
        let (mut engine, mut rx) = engine(false);
        engine.execute(&remove());
        assert!(engine.store.ui.flash.is_none());
        let msg = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("an answer within the timeout")
            .expect("a message");
        let Msg::Changed { change, result, .. } = msg else {
            panic!("expected Changed, got {msg:?}");
        };
        assert_eq!(change, Change::RemoveMember { id: 0x42 });
        let failure = result.expect_err("nothing listens there");
        assert_eq!(failure.kind(), ErrorKind::Refused, "{}", failure.text());
    }
}
