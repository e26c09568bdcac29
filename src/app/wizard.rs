//! The maintenance wizards in the console. A key on the Members pane opens one as a modal: the
//! plan, made at once from what the store already holds (no etcd call), then the typed
//! confirmation, then the run's progress and its result. The planners, the machine and the
//! driver are the ones `etcdeck defrag` and its siblings use (`crate::wizard`); here are only the
//! facts the store gives them and the modal's state and text. The membership wizards (add,
//! promote, remove, replace) also need the inventory, the provisioner and the CA: those are read
//! off the loop when the modal opens (`Stage::Reading`), and the plan follows them.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::msg::WizardNews;
use super::store::{Member, Quota, Reach, Store};
use crate::etcd::status::{Alarm, ClusterStatus, MemberStatus};
use crate::text::escape;
use crate::units;
use crate::wizard::drive::Report;
use crate::wizard::journal::Record;
use crate::wizard::member::{self, AddOptions, Provision};
use crate::wizard::setup::Facts;
use crate::wizard::{
    self, alarm, compact, defrag, move_leader, snapshot, Common, Op, Phase, Plan, Refusal,
    StepKind, StepOutcome,
};

/// How many lines of a provisioner's output the running modal keeps in view.
pub const OUTPUT_LINES: usize = 6;

/// Members whose free pages are below this share of their database are not defragmented
/// (as `etcdeck defrag --threshold` by default).
pub const DEFRAG_THRESHOLD: u8 = 10;

/// The history the compaction wizard keeps: the revision of this long ago is its target.
pub const COMPACT_KEEP: Duration = Duration::from_secs(24 * 3600);

/// The modal's widest; it takes the whole height between the header and the footer.
pub const MODAL_WIDTH: u16 = 90;

/// Rows at the bottom of the modal that do not scroll: a rule, then two lines (the
/// confirmation being typed, what the keys do).
pub const FOOT_ROWS: u16 = 3;

/// What a key asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    DefragAll,
    /// One member, by name (or hex id while it has none).
    DefragMember(String),
    Compact,
    Snapshot,
    AlarmRecover,
    /// Leadership to this member (name or hex id).
    MoveLeader(String),
    /// A new member at this inventory address (as `etcdeck member add --ip`).
    MemberAdd {
        ip: IpAddr,
    },
    /// A learner to promote (name or hex id).
    MemberPromote(String),
    /// A member to remove (name or hex id).
    MemberRemove(String),
    /// A dead member removed, then a new one added at `ip`.
    MemberReplace {
        old: String,
        ip: IpAddr,
    },
}

impl Kind {
    pub fn op(&self) -> Op {
        match self {
            Kind::DefragAll | Kind::DefragMember(_) => Op::Defrag,
            Kind::Compact => Op::Compact,
            Kind::Snapshot => Op::Snapshot,
            Kind::AlarmRecover => Op::AlarmRecover,
            Kind::MoveLeader(_) => Op::MoveLeader,
            Kind::MemberAdd { .. } => Op::MemberAdd,
            Kind::MemberPromote(_) => Op::MemberPromote,
            Kind::MemberRemove(_) => Op::MemberRemove,
            Kind::MemberReplace { .. } => Op::MemberReplace,
        }
    }

    /// Whether its plan needs the inventory, the provisioner and the CA (read off the loop).
    pub fn needs_facts(&self) -> bool {
        matches!(
            self,
            Kind::MemberAdd { .. }
                | Kind::MemberPromote(_)
                | Kind::MemberRemove(_)
                | Kind::MemberReplace { .. }
        )
    }

    /// The modal's title.
    pub fn title(&self) -> String {
        match self {
            Kind::DefragAll => "Defragment every voter".into(),
            Kind::DefragMember(m) => format!("Defragment {}", escape(m)),
            Kind::Compact => "Compact the history".into(),
            Kind::Snapshot => "Save a snapshot".into(),
            Kind::AlarmRecover => "Recover from NOSPACE".into(),
            Kind::MoveLeader(m) => format!("Move leadership to {}", escape(m)),
            Kind::MemberAdd { ip } => format!("Add a member at {ip}"),
            Kind::MemberPromote(m) => format!("Promote {}", escape(m)),
            Kind::MemberRemove(m) => format!("Remove {}", escape(m)),
            Kind::MemberReplace { old, ip } => {
                format!("Replace {} by a member at {ip}", escape(old))
            }
        }
    }

    /// Whether an unfinished run is offered for resuming. A snapshot is one step: a new run
    /// takes a new one (as `etcdeck snapshot save` does).
    pub fn resumable(&self) -> bool {
        !matches!(self, Kind::Snapshot)
    }
}

/// The unfinished run of the same operation, as the journal lookup found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Earlier {
    /// The lookup (a file read, off the loop) has not answered yet.
    Checking,
    None,
    Found(Box<Record>),
    /// The journal is there but cannot be read: nothing runs until it is moved away.
    Unreadable(String),
}

/// One step of a run, as the modal shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepState {
    Pending,
    /// Done in the run being resumed: never run again.
    DoneBefore,
    Ended {
        outcome: String,
        detail: String,
        took: Duration,
    },
}

/// The step running now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub index: usize,
    pub began: Instant,
    /// As the driver last said (it says so once a second on long steps).
    pub elapsed: Duration,
    /// Bytes moved and expected, for a snapshot.
    pub bytes: Option<(u64, u64)>,
    /// Why a gate has not passed yet.
    pub waiting: Option<String>,
    /// Where the step stands (a learner's catch-up), as last said.
    pub status: Option<String>,
    /// The last lines of a provisioner's output (a playbook's, the commands to run by hand).
    pub output: Vec<String>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct End {
    pub phase: Phase,
    pub outcomes: Vec<StepOutcome>,
    pub took: Duration,
    /// Lines shown after the result (a snapshot's file and how to restore it).
    pub after: Vec<String>,
}

/// A confirmed plan being carried out, or carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub plan: Plan,
    /// The operation's id (`defrag-20261202T031200Z`) once its journal is open.
    pub id: Option<String>,
    pub journal: Option<PathBuf>,
    pub started: Instant,
    pub steps: Vec<StepState>,
    pub current: Option<Current>,
    /// Esc was pressed: the driver stops after the step running.
    pub cancel_asked: bool,
    pub end: Option<End>,
}

/// Where the modal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A membership wizard reads the inventory and the CA before it plans.
    Reading,
    /// Refused: why, and what to do.
    Refused,
    /// The plan has no step (nothing to defragment).
    Nothing,
    /// The plan is shown; the operator types the word.
    Confirm,
    Running,
    Over,
}

/// The wizard modal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WizardView {
    /// Numbers this wizard: answers for an earlier one are dropped.
    pub token: u64,
    pub kind: Kind,
    pub cluster_id: Option<u64>,
    /// The plan for the cluster as the store sees it now, or why not.
    pub fresh: Result<Plan, Vec<Refusal>>,
    /// The console's own words about the plan (where the compaction target comes from).
    pub notes: Vec<String>,
    pub earlier: Earlier,
    /// Carry on the unfinished run (when there is one) instead of the fresh plan.
    pub resume: bool,
    /// The confirmation as typed so far.
    pub typed: String,
    /// First line of the text shown.
    pub scroll: u16,
    pub run: Option<Run>,
    /// A membership wizard's facts are being read (the plan follows them).
    pub reading: bool,
    /// The provisioner the membership plan was made with (the journal's options name it).
    pub provision: Option<Provision>,
}

/// How a line of the modal is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Title,
    Normal,
    Dim,
    Accent,
    Ok,
    Warn,
    Error,
}

pub type Lines = Vec<(Tone, String)>;

impl WizardView {
    /// Open on the store as it is: the plan (or the refusals) at once, the journal lookup to
    /// follow when there is a cluster to look it up for.
    pub fn open(store: &Store, token: u64, kind: Kind) -> WizardView {
        let now = store.unix_secs(store.now);
        let (fresh, notes) = plan(store, &kind, now);
        // A membership plan waits for its facts, unless the cluster refuses it already.
        let reading = kind.needs_facts() && matches!(&fresh, Err(r) if r.is_empty());
        let cluster_id = store.cluster.id;
        let lookup = cluster_id.is_some() && store.state_dir.is_some();
        WizardView {
            token,
            kind,
            cluster_id,
            fresh,
            notes,
            earlier: if lookup {
                Earlier::Checking
            } else {
                Earlier::None
            },
            resume: false,
            typed: String::new(),
            scroll: 0,
            run: None,
            reading,
            provision: None,
        }
    }

    /// The membership wizard's facts were read (or not): its plan, made with them on the cluster
    /// as the store sees it now.
    pub fn facts(&mut self, store: &Store, found: Result<Box<Facts>, String>) {
        if !self.reading || self.run.is_some() {
            return;
        }
        self.reading = false;
        self.scroll = 0;
        match found {
            Ok(facts) => {
                let now = store.unix_secs(store.now);
                let (fresh, notes) = member_plan(store, &self.kind, &facts, now);
                self.fresh = fresh;
                self.notes = notes;
                self.provision = Some(facts.provision.clone());
            }
            Err(why) => {
                self.fresh = Err(vec![Refusal::new(
                    why,
                    "fix it (`etcdeck inventory check`, the CA files), then open the wizard \
                     again",
                )]);
            }
        }
    }

    /// The plan shown: the unfinished run's when resuming, else the fresh one.
    pub fn plan(&self) -> Result<&Plan, Vec<Refusal>> {
        if let Earlier::Unreadable(why) = &self.earlier {
            return Err(vec![Refusal::new(
                format!("the journal of an earlier run cannot be read: {why}"),
                "move the file away (or fix it), then open the wizard again",
            )]);
        }
        match (&self.earlier, self.resume) {
            (Earlier::Found(rec), true) => Ok(&rec.plan),
            _ => self.fresh.as_ref().map_err(Clone::clone),
        }
    }

    /// Steps done before, in the run being resumed.
    pub fn done(&self) -> BTreeSet<String> {
        match (&self.earlier, self.resume) {
            (Earlier::Found(rec), true) => rec.done.clone(),
            _ => BTreeSet::new(),
        }
    }

    pub fn stage(&self) -> Stage {
        if let Some(run) = &self.run {
            return if run.end.is_some() {
                Stage::Over
            } else {
                Stage::Running
            };
        }
        if self.reading && !matches!(self.earlier, Earlier::Unreadable(_)) {
            return Stage::Reading;
        }
        match self.plan() {
            Err(_) => Stage::Refused,
            Ok(p) if p.steps.is_empty() => Stage::Nothing,
            Ok(_) => Stage::Confirm,
        }
    }

    /// Whether Tab switches between resuming the unfinished run and a fresh plan.
    pub fn can_switch(&self) -> bool {
        matches!(self.earlier, Earlier::Found(_)) && self.kind.resumable() && self.run.is_none()
    }

    /// The journal lookup answered.
    pub fn earlier(&mut self, found: Result<Option<Box<Record>>, String>) {
        self.earlier = match found {
            Ok(Some(rec)) => Earlier::Found(rec),
            Ok(None) => Earlier::None,
            Err(why) => Earlier::Unreadable(why),
        };
        // As the command line does: an unfinished run is carried on unless asked otherwise.
        self.resume = matches!(self.earlier, Earlier::Found(_)) && self.kind.resumable();
        self.scroll = 0;
    }

    /// The operator confirmed: the run begins (the driver is started by the caller).
    pub fn start(&mut self, at: Instant) -> Option<&Run> {
        let plan = self.plan().ok()?.clone();
        let done = self.done();
        let steps = plan
            .steps
            .iter()
            .map(|s| {
                if done.contains(&s.key) {
                    StepState::DoneBefore
                } else {
                    StepState::Pending
                }
            })
            .collect();
        self.scroll = 0;
        self.run = Some(Run {
            plan,
            id: None,
            journal: None,
            started: at,
            steps,
            current: None,
            cancel_asked: false,
            end: None,
        });
        self.run.as_ref()
    }

    /// A report of the driver, or the run's end.
    pub fn news(&mut self, at: Instant, news: WizardNews) {
        if let WizardNews::Prefixes(found) = news {
            self.notes.push(match found {
                Ok(p) if p.is_empty() => "largest prefixes: no keys".into(),
                Ok(p) => alarm::prefixes_fact(&p),
                Err(e) => format!("the largest prefixes could not be read: {e}"),
            });
            return;
        }
        if let WizardNews::Earlier(found) = news {
            if self.run.is_none() {
                self.earlier(found);
            }
            return;
        }
        if let WizardNews::Note(line) = news {
            match self.run.as_mut().and_then(|r| r.end.as_mut()) {
                Some(end) => end.after.push(line),
                None => self.notes.push(line),
            }
            return;
        }
        let Some(run) = &mut self.run else { return };
        match news {
            WizardNews::Earlier(_)
            | WizardNews::Prefixes(_)
            | WizardNews::Facts(_)
            | WizardNews::Note(_) => {}
            WizardNews::Opened { id, journal } => {
                run.id = Some(id);
                run.journal = Some(journal);
            }
            WizardNews::Step(r) => run.report(at, r),
            WizardNews::Finished { phase, outcomes } => {
                run.current = None;
                run.end = Some(End {
                    phase,
                    outcomes,
                    took: at.saturating_duration_since(run.started),
                    after: Vec::new(),
                });
                self.scroll = 0;
            }
        }
    }

    /// The text that scrolls, unwrapped.
    pub fn lines(&self, now: Instant) -> Lines {
        let mut out = Lines::new();
        match (&self.run, self.plan()) {
            (Some(run), _) => run.lines(now, &mut out),
            (None, _) if self.stage() == Stage::Reading => {
                out.push((Tone::Dim, "reading the inventory and the CA…".into()));
            }
            (None, Err(refusals)) => {
                out.push((
                    Tone::Error,
                    format!("{}: refused; nothing was done", self.kind.op().command()),
                ));
                for r in &refusals {
                    out.push((Tone::Error, format!("  ✖ {}", escape(&r.why))));
                    out.push((Tone::Normal, format!("    what to do: {}", escape(&r.fix))));
                }
            }
            (None, Ok(plan)) => {
                for (i, line) in plan.text().lines().enumerate() {
                    let tone = if i == 0 {
                        Tone::Title
                    } else if line.starts_with("  warning:") {
                        Tone::Warn
                    } else {
                        Tone::Normal
                    };
                    out.push((tone, line.to_string()));
                }
                if plan.steps.is_empty() {
                    out.push((Tone::Ok, "nothing to do".into()));
                }
                for n in &self.notes {
                    out.push((Tone::Dim, format!("  note: {n}")));
                }
            }
        }
        if self.run.is_none() {
            match &self.earlier {
                Earlier::Checking => {
                    out.push((Tone::Dim, "checking for an unfinished run…".into()));
                }
                Earlier::Found(rec) if self.kind.resumable() => {
                    out.push((Tone::Normal, String::new()));
                    out.push((Tone::Warn, unfinished(rec)));
                    // A membership run for another member (or address) than the key asked for.
                    if let Ok(fresh) = &self.fresh {
                        let wanted = args(&self.kind, fresh, self.provision.as_ref());
                        if self.kind.needs_facts() && rec.args != wanted {
                            out.push((
                                Tone::Warn,
                                format!(
                                    "  that run was for other options ({}), not {}",
                                    escape(&rec.args),
                                    escape(&wanted)
                                ),
                            ));
                        }
                    }
                    out.push((
                        Tone::Warn,
                        if self.resume {
                            "  this plan is that run's, resumed: its steps done are not run \
                             again. Tab plans afresh instead (the run is then abandoned)."
                                .into()
                        } else {
                            "  this is a fresh plan: confirming abandons that run. Tab shows it \
                             again, to resume it."
                                .into()
                        },
                    ));
                }
                Earlier::Found(rec) => {
                    out.push((
                        Tone::Dim,
                        format!(
                            "  note: {} did not end; a snapshot is taken anew (it is abandoned)",
                            escape(&rec.id)
                        ),
                    ));
                }
                Earlier::None | Earlier::Unreadable(_) => {}
            }
        }
        out
    }

    /// The two lines under the rule: what to do, then the confirmation being typed and what
    /// Esc does. (The rule above them says how to scroll when the text is longer than the pane.)
    pub fn foot(&self) -> Lines {
        match self.stage() {
            Stage::Reading => vec![
                (
                    Tone::Dim,
                    "The plan follows once the inventory and the CA are read.".into(),
                ),
                (Tone::Accent, "Esc cancels (nothing was done).".into()),
            ],
            Stage::Refused | Stage::Nothing => vec![
                (Tone::Dim, "Nothing was done.".into()),
                (Tone::Accent, "Esc or Enter closes.".into()),
            ],
            Stage::Confirm => {
                let word = self.plan().ok().and_then(|p| p.confirm.clone());
                let ask = match (&word, &self.earlier) {
                    (_, Earlier::Checking) => "Looking for an unfinished run first…".to_string(),
                    (Some(w), _) => format!(
                        "Type {} and press Enter to run it; anything else cancels.",
                        escape(w)
                    ),
                    (None, _) => "Enter runs it (it changes nothing in the cluster).".into(),
                };
                let mut keys = "Esc cancels (the default)".to_string();
                if self.can_switch() {
                    keys.push_str(if self.resume {
                        "; Tab plans afresh"
                    } else {
                        "; Tab resumes the unfinished run"
                    });
                }
                let input = match &word {
                    Some(_) => format!("> {}█   {keys}", escape(&self.typed)),
                    None => keys,
                };
                vec![(Tone::Normal, ask), (Tone::Accent, input)]
            }
            Stage::Running => {
                if self.run.as_ref().is_some_and(|r| r.cancel_asked) {
                    vec![
                        (
                            Tone::Warn,
                            "Cancel asked: the step running ends first, then the wizard stops."
                                .into(),
                        ),
                        (
                            Tone::Dim,
                            "The same key resumes it later; Ctrl-C leaves at once.".into(),
                        ),
                    ]
                } else {
                    vec![
                        (
                            Tone::Accent,
                            "Esc asks to cancel between steps (the step running ends first)."
                                .into(),
                        ),
                        (
                            Tone::Dim,
                            "Ctrl-C leaves at once; the journal lets the same key resume it."
                                .into(),
                        ),
                    ]
                }
            }
            Stage::Over => {
                let again = self
                    .run
                    .as_ref()
                    .and_then(|r| r.end.as_ref())
                    .is_some_and(|e| !matches!(e.phase, Phase::Done));
                vec![
                    (
                        Tone::Dim,
                        if again {
                            "The same key offers to resume it; the timeline (4) lists each step."
                                .into()
                        } else {
                            "The timeline (pane 4) lists each step.".into()
                        },
                    ),
                    (Tone::Accent, "Esc or Enter closes.".into()),
                ]
            }
        }
    }

    /// How far the text may scroll on a terminal of `size`.
    pub fn max_scroll(&self, now: Instant, size: (u16, u16)) -> u16 {
        let (w, h) = text_area(size);
        let n = wrap(&self.lines(now), w).len();
        n.saturating_sub(h).min(u16::MAX as usize) as u16
    }
}

/// Whole seconds (`0s`, `12s`, `3m05s`): what moves once a second on screen.
fn secs(d: Duration) -> String {
    if d.as_secs() == 0 {
        return "0s".into();
    }
    units::duration(Duration::from_secs(d.as_secs()))
}

/// The unfinished run in one line, as the command line says it.
fn unfinished(rec: &Record) -> String {
    format!(
        "An unfinished {} run: {} (started {} by {}), {} of {} step(s) done{}.",
        rec.op.command(),
        escape(&rec.id),
        crate::wizard::audit::rfc3339(rec.started),
        escape(&rec.os_user),
        rec.done.len(),
        rec.plan.steps.len(),
        rec.why
            .as_deref()
            .map(|w| format!("; it ended: {}", escape(w)))
            .unwrap_or_default()
    )
}

impl Run {
    fn report(&mut self, at: Instant, r: Report) {
        let current = |index: usize, cur: &mut Option<Current>| -> usize {
            if cur.as_ref().is_none_or(|c| c.index != index) {
                *cur = Some(Current {
                    index,
                    began: at,
                    elapsed: Duration::ZERO,
                    bytes: None,
                    waiting: None,
                    status: None,
                    output: Vec::new(),
                });
            }
            index
        };
        match r {
            Report::Begin { index } => {
                self.current = None;
                current(index, &mut self.current);
            }
            Report::Progress {
                index,
                elapsed,
                bytes,
            } => {
                current(index, &mut self.current);
                if let Some(c) = &mut self.current {
                    c.elapsed = elapsed;
                    if bytes.is_some() {
                        c.bytes = bytes;
                    }
                }
            }
            Report::Waiting { index, why } => {
                current(index, &mut self.current);
                if let Some(c) = &mut self.current {
                    c.waiting = Some(why);
                }
            }
            Report::Status { index, text } => {
                current(index, &mut self.current);
                if let Some(c) = &mut self.current {
                    c.status = Some(text);
                    // Progress said: what it waited for has come.
                    c.waiting = None;
                }
            }
            Report::Output { index, line } => {
                current(index, &mut self.current);
                if let Some(c) = &mut self.current {
                    c.output.push(line);
                    let over = c.output.len().saturating_sub(OUTPUT_LINES);
                    c.output.drain(..over);
                }
            }
            Report::End {
                index,
                outcome,
                detail,
                took,
            } => {
                if let Some(s) = self.steps.get_mut(index) {
                    *s = StepState::Ended {
                        outcome,
                        detail,
                        took,
                    };
                }
                if self.current.as_ref().is_some_and(|c| c.index == index) {
                    self.current = None;
                }
            }
        }
    }

    fn lines(&self, now: Instant, out: &mut Lines) {
        let op = self.plan.op.command();
        let id = self
            .id
            .as_deref()
            .map(|i| format!(" {}", escape(i)))
            .unwrap_or_default();
        let n = self.plan.steps.len();
        match &self.end {
            None => {
                out.push((
                    Tone::Title,
                    format!(
                        "{op}{id}: running for {}",
                        secs(now.saturating_duration_since(self.started))
                    ),
                ));
                match &self.current {
                    Some(c) => {
                        let s = &self.plan.steps[c.index];
                        let on = s
                            .member
                            .as_deref()
                            .map(|m| format!(" on {}", escape(m)))
                            .unwrap_or_default();
                        let for_ = c.elapsed.max(now.saturating_duration_since(c.began));
                        out.push((
                            Tone::Accent,
                            format!(
                                "  step {} of {n}: {}{on}, for {}",
                                c.index + 1,
                                escape(&s.text),
                                secs(for_)
                            ),
                        ));
                        if let Some((done, all)) = c.bytes {
                            out.push((
                                Tone::Accent,
                                format!(
                                    "  {} of {} written",
                                    units::bytes(done),
                                    units::bytes(all)
                                ),
                            ));
                        }
                        if let Some(w) = &c.waiting {
                            out.push((Tone::Warn, format!("  waiting: {}", escape(w))));
                        }
                    }
                    None => out.push((Tone::Dim, "  between steps…".into())),
                }
            }
            Some(end) => {
                let (tone, words) = match &end.phase {
                    Phase::Done => (Tone::Ok, format!("done in {}", secs(end.took))),
                    Phase::Cancelled => (
                        Tone::Warn,
                        "cancelled between steps; nothing was cut in half".to_string(),
                    ),
                    Phase::Stopped(why) => (Tone::Warn, format!("stopped: {}", escape(why))),
                    Phase::Failed(why) => (Tone::Error, format!("FAILED: {}", escape(why))),
                    Phase::Confirming | Phase::Running => (Tone::Warn, "interrupted".into()),
                };
                out.push((tone, format!("{op}{id}: {words}")));
                for a in &end.after {
                    out.push((Tone::Normal, format!("  {a}")));
                }
                if let Some(j) = &self.journal {
                    out.push((
                        Tone::Dim,
                        format!("  journal {}", escape(&j.display().to_string())),
                    ));
                }
            }
        }
        out.push((Tone::Normal, String::new()));
        for (i, (s, st)) in self.plan.steps.iter().zip(&self.steps).enumerate() {
            let to = s
                .member
                .as_deref()
                .map(|m| format!(" -> {}", escape(m)))
                .unwrap_or_default();
            let running = self.current.as_ref().is_some_and(|c| c.index == i);
            let (tone, mark, tail) = match st {
                _ if running => (Tone::Accent, "▶", String::new()),
                StepState::Pending if self.end.is_some() => (Tone::Dim, "·", ": not run".into()),
                StepState::Pending => (Tone::Dim, "·", String::new()),
                StepState::DoneBefore => (Tone::Dim, "✓", ": done before".into()),
                StepState::Ended {
                    outcome,
                    detail,
                    took,
                } => {
                    let (tone, mark) = match outcome.as_str() {
                        "done" | "was done" => (Tone::Ok, "✓"),
                        "failed" => (Tone::Error, "✖"),
                        _ => (Tone::Warn, "■"),
                    };
                    let detail = if detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", escape(detail))
                    };
                    (
                        tone,
                        mark,
                        format!(": {outcome} in {:.1} s{detail}", took.as_secs_f64()),
                    )
                }
            };
            out.push((
                tone,
                format!("{mark} {:>2}. {}{to}{tail}", i + 1, escape(&s.text)),
            ));
            // Under the step running, where it stands and what its provisioner says.
            if let Some(c) = self.current.as_ref().filter(|_| running) {
                if let Some(st) = &c.status {
                    out.push((Tone::Accent, format!("      {}", escape(st))));
                }
                for line in &c.output {
                    out.push((Tone::Dim, format!("      | {}", escape(line))));
                }
            }
        }
    }
}

/// The scrolled part of the modal for a terminal of `size`: (columns, rows).
pub fn text_area(size: (u16, u16)) -> (usize, usize) {
    let body = size.1.saturating_sub(3);
    let w = size.0.min(MODAL_WIDTH).saturating_sub(2);
    let h = body.saturating_sub(2 + FOOT_ROWS);
    (w as usize, h as usize)
}

/// Lines wrapped at word boundaries to `width` columns; a continuation is indented as its line
/// was, plus four.
pub fn wrap(lines: &[(Tone, String)], width: usize) -> Lines {
    let width = width.max(8);
    let mut out = Lines::new();
    for (tone, line) in lines {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let cont = " ".repeat((indent + 4).min(width / 2));
        let mut cur = String::new();
        let mut cur_w = 0usize;
        for (i, word) in line.trim_start_matches(' ').split(' ').enumerate() {
            let ww = ratatui::text::Span::raw(word).width();
            if i == 0 {
                cur.push_str(&" ".repeat(indent));
                cur_w = indent;
            } else if cur_w + 1 + ww <= width {
                cur.push(' ');
                cur_w += 1;
            } else {
                out.push((*tone, std::mem::take(&mut cur)));
                cur.push_str(&cont);
                cur_w = cont.len();
            }
            // A word longer than a line is cut where the line ends.
            let mut rest = word;
            while cur_w + ratatui::text::Span::raw(rest).width() > width && cur_w < width {
                let room = width - cur_w;
                let cut = rest
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain(std::iter::once(rest.len()))
                    .take_while(|&i| ratatui::text::Span::raw(&rest[..i]).width() <= room)
                    .last()
                    .unwrap_or(0);
                if cut == 0 {
                    break;
                }
                cur.push_str(&rest[..cut]);
                out.push((*tone, std::mem::take(&mut cur)));
                cur.push_str(&cont);
                cur_w = cont.len();
                rest = &rest[cut..];
            }
            cur.push_str(rest);
            cur_w += ratatui::text::Span::raw(rest).width();
        }
        out.push((*tone, cur));
    }
    out
}

/// One look at the cluster made of what the store holds: the member list, each member's last
/// Status while it answers, the alarms in their Status errors. `None` before the member list.
pub fn cluster_status(store: &Store) -> Option<ClusterStatus> {
    let cluster_id = store.cluster.id?;
    let leader = store.cluster.leader;
    let members: Vec<MemberStatus> = store
        .cluster
        .members
        .iter()
        .map(|m| member_status(m, leader))
        .collect();
    let alarms = store
        .alarms()
        .into_iter()
        .map(|a| Alarm {
            member_id: a.member_id,
            member: store.name_of(a.member_id),
            alarm: a.kind,
        })
        .collect();
    let answering = members.iter().any(|m| m.reachable);
    Some(ClusterStatus {
        cluster_id,
        leader,
        alarms,
        members,
        member_list_from: "the console's member list".into(),
        alarms_error: (!answering).then(|| "no member answers".into()),
    })
}

fn member_status(m: &Member, leader: Option<u64>) -> MemberStatus {
    let p = m.status.as_ref();
    let (error, error_short) = match &m.reach {
        Reach::Up => (None, None),
        Reach::Down { why, .. } => (Some(why.text()), Some(why.short().to_string())),
        Reach::Stalled { .. } => (
            Some("its Status call does not return".to_string()),
            Some("no answer".to_string()),
        ),
        Reach::Unknown => (
            Some("not asked yet".to_string()),
            Some("not asked yet".to_string()),
        ),
        Reach::Unstarted => (
            Some("unstarted: added to the cluster but its etcd has not joined yet".to_string()),
            Some("unstarted".to_string()),
        ),
    };
    MemberStatus {
        id: m.id,
        name: m.name.clone(),
        peer_urls: m.peer_urls.clone(),
        client_urls: m.client_urls.clone(),
        is_learner: crate::etcd::model::MemberFacts::is_learner(m),
        is_leader: leader == Some(m.id),
        started: m.started(),
        reachable: m.reachable(),
        version: p.map(|p| p.version.clone()).unwrap_or_default(),
        db_size: p.map_or(0, |p| p.db_size),
        db_size_in_use: p.map_or(0, |p| p.db_size_in_use),
        raft_term: p.map_or(0, |p| p.raft_term),
        raft_index: p.map_or(0, |p| p.raft_index),
        raft_applied_index: p.map_or(0, |p| p.raft_applied_index),
        revision: p.map_or(0, |p| p.revision),
        db_size_quota: p.map_or(0, |p| p.db_size_quota),
        sees_leader: p.map_or(0, |p| p.leader),
        errors: p.map(|p| p.errors.clone()).unwrap_or_default(),
        error,
        error_short,
        latency_ms: p.map(|p| p.latency.as_secs_f64() * 1000.0),
    }
}

/// The backend quota for the NOSPACE recovery: what a member reports, else the figure from
/// `/metrics` or `--quota`; never the default the DB bar assumes (a guess must not decide when
/// to disarm).
fn recovery_quota(store: &Store, status: &ClusterStatus) -> i64 {
    if let Some(q) = alarm::reported_quota(status) {
        return q;
    }
    if store.cluster.quota != Quota::default() {
        return store.cluster.quota.bytes;
    }
    0
}

/// What every plan needs from the store: the state directory and one look at the cluster; or
/// why no plan can be made.
fn grounds(store: &Store) -> Result<(&Path, ClusterStatus), Refusal> {
    let Some(state) = &store.state_dir else {
        return Err(Refusal::new(
            "etcdeck has no state directory: neither XDG_STATE_HOME nor HOME is set",
            "set one and start the console again: the wizards keep their journal, the audit log \
             and their snapshots there",
        ));
    };
    if let Some(why) = &store.cluster.mixed {
        return Err(Refusal::new(
            format!("the endpoints are not one cluster: {why}"),
            "fix the endpoints (--endpoints, ETCDCTL_ENDPOINTS, the inventory); nothing is \
             changed meanwhile",
        ));
    }
    let Some(status) = cluster_status(store) else {
        return Err(Refusal::new(
            "the member list has not been read yet",
            "wait until the members show, then press the key again",
        ));
    };
    Ok((state, status))
}

/// The plan for `kind` on the cluster as the store sees it at Unix second `now`, with the
/// console's notes about it. A membership wizard's plan needs its facts
/// ([`member_plan`]): until they are read it is `Err` with no refusal (unless the cluster
/// refuses it already).
pub fn plan(store: &Store, kind: &Kind, now: u64) -> (Result<Plan, Vec<Refusal>>, Vec<String>) {
    let (state, status) = match grounds(store) {
        Ok(g) => g,
        Err(r) => return (Err(vec![r]), Vec::new()),
    };
    if kind.needs_facts() {
        return (Err(Vec::new()), Vec::new());
    }
    let common = Common {
        snapshot: true,
        snapshot_dir: snapshot::auto_dir(state),
        now,
        cluster_name: wizard::cluster_name(&status, None),
    };
    let settle = store.config.wizard_settle;
    let defrag = |members: Vec<String>, all: bool| defrag::Options {
        members,
        all,
        move_leader: true,
        settle,
        threshold_percent: DEFRAG_THRESHOLD,
        common: common.clone(),
    };
    let current = store.revision().unwrap_or(0);
    let mut notes = Vec::new();
    let planned = match kind {
        Kind::DefragAll => defrag::plan(&status, &defrag(Vec::new(), true)),
        Kind::DefragMember(m) => defrag::plan(&status, &defrag(vec![m.clone()], false)),
        Kind::MoveLeader(m) => move_leader::plan(&status, m),
        Kind::Snapshot => {
            let path = snapshot::auto_dir(state).join(format!(
                "{:x}-{}-manual.db",
                status.cluster_id,
                snapshot::stamp(now)
            ));
            snapshot::plan(&status, &path)
        }
        Kind::Compact => {
            let seen = &store.revisions.samples;
            let target =
                match compact::revision_at(seen, now.saturating_sub(COMPACT_KEEP.as_secs())) {
                    Some(r) => {
                        notes.push(format!(
                            "the target is the revision of {} h ago, as etcdeck recorded it",
                            COMPACT_KEEP.as_secs() / 3600
                        ));
                        r
                    }
                    None => {
                        notes.push(format!(
                            "etcdeck has no record of the revision {} h ago: the target is the \
                             current revision (`etcdeck compact --revision R` picks another)",
                            COMPACT_KEEP.as_secs() / 3600
                        ));
                        current
                    }
                };
            // Only keys that can lose history count: the rest would be dropped by the planner.
            let keys = store
                .keys
                .map
                .iter()
                .filter(|(_, e)| e.version > 1 && e.create_revision < target)
                .map(|(k, e)| {
                    (
                        String::from_utf8_lossy(k).into_owned(),
                        e.create_revision,
                        e.version,
                    )
                })
                .collect();
            let facts = compact::Facts {
                current,
                compacted: store.compacted(),
                seen: seen.clone(),
                keys,
                namespace: store.keys.prefix.trim_end_matches('/').to_string(),
                now,
            };
            compact::plan(&status, &facts, compact::Target::Revision(target), &common)
        }
        Kind::AlarmRecover => {
            let facts = alarm::Facts {
                current,
                quota: recovery_quota(store, &status),
                prefixes: Vec::new(),
            };
            alarm::recover_plan(&status, &facts, settle, &common)
        }
        Kind::MemberAdd { .. }
        | Kind::MemberPromote(_)
        | Kind::MemberRemove(_)
        | Kind::MemberReplace { .. } => Err(Vec::new()),
    };
    (planned, notes)
}

/// A membership wizard's plan, as `etcdeck member add|promote|remove|replace` makes it: with the
/// facts read (the inventory, the provisioner, the CA, the seqs used) on the cluster as the store
/// sees it at Unix second `now`.
pub fn member_plan(
    store: &Store,
    kind: &Kind,
    facts: &Facts,
    now: u64,
) -> (Result<Plan, Vec<Refusal>>, Vec<String>) {
    if !kind.needs_facts() {
        return plan(store, kind, now);
    }
    let (state, status) = match grounds(store) {
        Ok(g) => g,
        Err(r) => return (Err(vec![r]), Vec::new()),
    };
    let cluster_name = match &facts.inventory {
        Some(inv) => inv.parsed.cluster().to_string(),
        None => wizard::cluster_name(&status, None),
    };
    let common = Common {
        snapshot: true,
        snapshot_dir: snapshot::auto_dir(state),
        now,
        cluster_name,
    };
    let x = facts.setting(&status, &common, None);
    let planned = match kind {
        Kind::MemberAdd { ip } => member::add_plan(&x, &AddOptions { ip: *ip, seq: None }),
        Kind::MemberPromote(m) => member::promote_plan(&x, m),
        Kind::MemberRemove(m) => member::remove_plan(&x, m),
        Kind::MemberReplace { old, ip } => {
            member::replace_plan(&x, old, &AddOptions { ip: *ip, seq: None })
        }
        _ => Err(Vec::new()),
    };
    let mut notes = Vec::new();
    if let Provision::Manual { out, .. } = &facts.provision {
        if !matches!(kind, Kind::MemberPromote(_)) {
            notes.push(format!(
                "no provisioner beside the inventory (Pigsty's etcd.yml, a sandbox): the \
                 member's files and the commands to run go to {}, and the run waits for you \
                 (`etcdeck member` with --provision picks another)",
                escape(&out.display().to_string())
            ));
        }
    }
    (planned, notes)
}

/// Where a membership wizard of `kind` writes the member's files when no provisioner is found
/// beside the inventory: `<state>/members/<cluster id>/<the new member's IP, or the member>`.
pub fn manual_out(state: &Path, cluster_id: u64, kind: &Kind) -> PathBuf {
    let leaf = match kind {
        Kind::MemberAdd { ip } | Kind::MemberReplace { ip, .. } => ip.to_string(),
        Kind::MemberPromote(m) | Kind::MemberRemove(m) | Kind::MoveLeader(m) => m.clone(),
        Kind::DefragMember(m) => m.clone(),
        _ => "member".into(),
    };
    state
        .join("members")
        .join(format!("{cluster_id:x}"))
        .join(leaf)
}

/// The member the NOSPACE recovery reads the largest prefixes from (a follower that answers),
/// unless the database is too large to read whole.
pub fn prefix_scan_source(store: &Store) -> Option<String> {
    let status = cluster_status(store)?;
    let biggest = status.members.iter().map(|m| m.db_size).max().unwrap_or(0);
    if biggest > alarm::PREFIX_SCAN_LIMIT {
        return None;
    }
    wizard::snapshot_source(&status).and_then(|m| m.client_urls.first().cloned())
}

/// The options that shaped a plan of `kind`, in the words `etcdeck <verb>` keeps in the journal
/// (a membership plan's name the provisioner it was made with).
pub fn args(kind: &Kind, plan: &Plan, provision: Option<&Provision>) -> String {
    let with = provision.map_or("sandbox", Provision::kind);
    let defrag = |members: Vec<String>, all: bool| defrag::Options {
        members,
        all,
        move_leader: true,
        settle: Duration::ZERO,
        threshold_percent: DEFRAG_THRESHOLD,
        common: Common {
            snapshot: true,
            snapshot_dir: Default::default(),
            now: 0,
            cluster_name: String::new(),
        },
    };
    match kind {
        Kind::DefragAll => defrag(Vec::new(), true).args(),
        Kind::DefragMember(m) => defrag(vec![m.clone()], false).args(),
        Kind::MoveLeader(m) => m.clone(),
        Kind::Snapshot => String::new(),
        Kind::AlarmRecover => alarm::recover_args(true),
        Kind::MemberAdd { ip } => {
            format!(
                "{} --provision {with}",
                AddOptions { ip: *ip, seq: None }.args()
            )
        }
        Kind::MemberPromote(m) => m.clone(),
        Kind::MemberRemove(m) => format!("{m} --provision {with}"),
        Kind::MemberReplace { old, ip } => format!(
            "{old} {} --provision {with}",
            AddOptions { ip: *ip, seq: None }.args()
        ),
        Kind::Compact => {
            let r = plan.steps.iter().find_map(|s| match s.kind {
                StepKind::Compact { revision } => Some(revision),
                _ => None,
            });
            compact::args(&compact::Target::Revision(r.unwrap_or(0)), true)
        }
    }
}

/// What follows a snapshot that is done: the file, and how to restore it (never run), as
/// `etcdeck snapshot save` prints them.
pub fn after_snapshot(store: &Store, plan: &Plan) -> Vec<String> {
    let Some(StepKind::Snapshot { path, .. }) = plan.steps.first().map(|s| &s.kind) else {
        return Vec::new();
    };
    let Some(status) = cluster_status(store) else {
        return Vec::new();
    };
    let name = wizard::cluster_name(&status, None);
    let mut out = vec![format!("snapshot: {}", path.display())];
    out.extend(snapshot::restore_commands(&status, path, &name));
    out
}

/// What to know once a membership wizard is done, as `etcdeck member` prints it: the files it
/// wrote for the member, the admin node's etcdctl.sh.
pub fn after_member(plan: &Plan) -> Vec<String> {
    crate::wizard::member::after_notes(plan)
        .iter()
        .map(|n| escape(n).into_owned())
        .collect()
}
