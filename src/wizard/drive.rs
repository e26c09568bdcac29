//! The driver: carries a confirmed [`Wizard`] out against the live cluster. Each action the
//! machine asks for is run here through `etcd::ops` (the only code that changes the cluster),
//! with the journal written before and after every step and the audit log before and after every
//! change. Steps that must reach the leader go to the leader as it is when they run, not as it
//! was when the plan was made. The console runs this on a task and the command line in its own
//! loop; both hear of progress through a [`Reporter`].

use std::path::PathBuf;
use std::time::{Duration, Instant};

mod members;

use super::audit::AuditLog;
use super::journal::{Journal, Standing};
use super::{alarm, Action, Event, Phase, StepKind, Wizard};
use crate::etcd::error::{ErrorKind, Refusal as EtcdRefusal};
use crate::etcd::ops::{self, Change};
use crate::etcd::status::{self, ClusterStatus};
use crate::etcd::Cluster;

/// What the driver says as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// Step `index` begins.
    Begin { index: usize },
    /// A long step runs on: how long so far, and bytes when it moves data.
    Progress {
        index: usize,
        elapsed: Duration,
        bytes: Option<(u64, u64)>,
    },
    /// Step `index` ended: `done`, `was done`, `failed`, `stopped`.
    End {
        index: usize,
        outcome: String,
        detail: String,
        took: Duration,
    },
    /// A gate has not passed yet, or a step waits for something.
    Waiting { index: usize, why: String },
    /// A line of a provisioner's output (a playbook's), or a command to run by hand.
    Output { index: usize, line: String },
    /// Where a long step stands now (a learner's catch-up): replaces the one before.
    Status { index: usize, text: String },
}

/// Where the driver reports, and how it hears of a cancel. `Sync` too, so that a run can go on
/// a task of its own (the console's).
pub trait Reporter: Send + Sync {
    fn report(&mut self, r: Report);
    /// The operator asked to cancel (honoured between steps).
    fn cancelled(&self) -> bool;
}

/// What the driver needs.
pub struct Context {
    pub cluster: Cluster,
    pub state_dir: PathBuf,
}

/// Carry the wizard out from `first` (the action its confirmation gave) to its end; the journal
/// ends with the wizard's phase.
pub async fn run(
    ctx: &Context,
    wiz: &mut Wizard,
    first: Action,
    journal: &mut Journal,
    audit: &mut AuditLog,
    rep: &mut dyn Reporter,
) {
    let mut action = first;
    let mut gate_began: Option<(usize, Instant)> = None;
    loop {
        if rep.cancelled() && !wiz.phase.is_over() {
            // Between steps: the machine stops now.
            action = wiz.advance(Event::Cancel);
        }
        match action {
            Action::Finish | Action::Wait => break,
            Action::Observe { index, after } => {
                if !sleep_unless_cancelled(after, rep).await {
                    action = wiz.advance(Event::Cancel);
                    continue;
                }
                let began = match gate_began {
                    Some((i, t)) if i == index => t,
                    _ => {
                        let t = Instant::now();
                        gate_began = Some((index, t));
                        t
                    }
                };
                let waited = began.elapsed();
                action = match status::observe(&ctx.cluster).await {
                    Ok(s) => {
                        let (nospace, except) = gate_options(wiz, index);
                        if let Err(why) = super::gate_except(&s, nospace, &except) {
                            rep.report(Report::Waiting { index, why });
                        }
                        let a = wiz.advance(Event::Observed {
                            index,
                            status: Box::new(s),
                            waited,
                        });
                        if !matches!(a, Action::Observe { .. }) {
                            stamp(wiz, index, began.elapsed());
                            rep.report(end_report(wiz, index, waited));
                        }
                        a
                    }
                    Err(e) if waited < wiz.gate_wait => {
                        rep.report(Report::Waiting {
                            index,
                            why: e.to_string(),
                        });
                        Action::Observe {
                            index,
                            after: super::GATE_RETRY,
                        }
                    }
                    Err(e) => {
                        let a = wiz.advance(Event::StepStopped {
                            index,
                            why: format!("the cluster could not be asked: {e}"),
                        });
                        rep.report(end_report(wiz, index, waited));
                        a
                    }
                };
            }
            Action::Run(index) => {
                let key = wiz.plan.steps[index].key.clone();
                if let Err(e) = journal.begun(&key) {
                    action = wiz.advance(Event::StepFailed {
                        index,
                        error: format!("the journal cannot be written ({e}); nothing was sent"),
                    });
                    continue;
                }
                wiz.begin(index);
                rep.report(Report::Begin { index });
                let started = Instant::now();
                let ev = run_step(ctx, wiz, index, journal, audit, rep).await;
                let ok = matches!(ev, Event::StepOk { .. } | Event::StepWasDone { .. });
                let journaled = super::is_journaled(&wiz.plan.steps[index].kind);
                action = wiz.advance(ev);
                if ok {
                    if let Err(e) = journal.done(&key, journaled) {
                        // The step is done; the journal could not say so. Stop here: a resume
                        // re-derives it from the cluster.
                        wiz.phase = Phase::Failed(format!(
                            "the journal cannot be written ({e}) after step {}",
                            index + 1
                        ));
                        action = Action::Finish;
                    }
                }
                let took = started.elapsed();
                stamp(wiz, index, took);
                rep.report(end_report(wiz, index, took));
            }
        }
    }
    let (standing, why) = match &wiz.phase {
        Phase::Done => (Standing::Done, None),
        Phase::Cancelled => (Standing::Cancelled, None),
        Phase::Stopped(w) => (Standing::Stopped, Some(w.clone())),
        Phase::Failed(w) => (Standing::Failed, Some(w.clone())),
        Phase::Confirming | Phase::Running => (Standing::Stopped, Some("interrupted".into())),
    };
    let _ = journal.finish(standing, why);
}

/// Record how long the step at `index` took, on its outcome.
fn stamp(wiz: &mut Wizard, index: usize, took: Duration) {
    let key = &wiz.plan.steps[index].key;
    if let Some(o) = wiz.outcomes.last_mut().filter(|o| &o.key == key) {
        o.took_ms = Some(took.as_millis() as u64);
    }
}

fn gate_options(wiz: &Wizard, index: usize) -> (bool, Vec<u64>) {
    match &wiz.plan.steps[index].kind {
        StepKind::Gate {
            tolerate_nospace,
            except,
        } => (*tolerate_nospace, except.clone()),
        _ => (false, Vec::new()),
    }
}

fn end_report(wiz: &Wizard, index: usize, took: Duration) -> Report {
    let last = wiz
        .outcomes
        .iter()
        .rev()
        .find(|o| o.key == wiz.plan.steps[index].key);
    Report::End {
        index,
        outcome: last.map_or_else(|| "cancelled".into(), |o| o.outcome.clone()),
        detail: last.map(|o| o.detail.clone()).unwrap_or_default(),
        took,
    }
}

/// Sleep `d` in slices, ending early (false) on a cancel.
async fn sleep_unless_cancelled(d: Duration, rep: &dyn Reporter) -> bool {
    let end = Instant::now() + d;
    loop {
        if rep.cancelled() {
            return false;
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        tokio::time::sleep(left.min(Duration::from_millis(100))).await;
    }
}

/// The client URL of the leader as it is now.
fn leader_url(s: &ClusterStatus) -> Option<String> {
    super::leader(s).and_then(|m| m.client_urls.first().cloned())
}

/// Send one change with its audit lines around it.
async fn change(
    ctx: &Context,
    audit: &mut AuditLog,
    text: &str,
    target: &str,
    via: &str,
    c: &Change,
) -> Result<String, crate::etcd::EtcdError> {
    if let Err(e) = audit.begin(text, Some(target)) {
        return Err(crate::etcd::EtcdError::Other {
            endpoint: via.into(),
            message: format!("the audit log cannot be written ({e}); nothing was sent"),
        });
    }
    let t = Instant::now();
    let r = ops::apply(&ctx.cluster, via, c).await;
    let outcome = match &r {
        Ok(done) => Ok(done.as_str()),
        Err(e) => Err(e.to_string()),
    };
    let outcome_ref = match &outcome {
        Ok(s) => Ok(*s),
        Err(s) => Err(s.as_str()),
    };
    let _ = audit.end(text, Some(target), outcome_ref, t.elapsed());
    r
}

/// Run `f` while reporting elapsed time once a second.
async fn with_ticks<T>(
    index: usize,
    rep: &mut dyn Reporter,
    f: impl std::future::Future<Output = T>,
) -> T {
    let start = Instant::now();
    tokio::pin!(f);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tokio::select! {
            out = &mut f => return out,
            _ = tick.tick() => rep.report(Report::Progress { index, elapsed: start.elapsed(), bytes: None }),
        }
    }
}

/// A fresh look at the cluster and the leader's URL in it, or the event that ends the step: a
/// look that failed, or no leader (nothing is sent then).
async fn at_leader(ctx: &Context, index: usize) -> Result<(ClusterStatus, String), Event> {
    let s = fresh(ctx)
        .await
        .map_err(|error| Event::StepFailed { index, error })?;
    match leader_url(&s) {
        Some(url) => Ok((s, url)),
        None => Err(Event::StepStopped {
            index,
            why: "no leader answers: nothing was sent".into(),
        }),
    }
}

async fn fresh(ctx: &Context) -> Result<ClusterStatus, String> {
    status::observe(&ctx.cluster)
        .await
        .map_err(|e| e.to_string())
}

async fn run_step(
    ctx: &Context,
    wiz: &Wizard,
    index: usize,
    journal: &mut Journal,
    audit: &mut AuditLog,
    rep: &mut dyn Reporter,
) -> Event {
    let step = wiz.plan.steps[index].clone();
    let failed = |error: String| Event::StepFailed { index, error };
    let ok = |detail: String| Event::StepOk { index, detail };
    let was = |detail: String| Event::StepWasDone { index, detail };
    let stopped = |why: String| Event::StepStopped { index, why };
    let target = step.member.clone().unwrap_or_default();
    let here = members::Here { index, step: &step };
    match &step.kind {
        StepKind::InventoryEdit { file, change } => {
            members::inventory_edit(&here, file, change, audit, journal)
        }
        StepKind::Certificate {
            member,
            provision,
            ca_cert,
            ca_key,
        } => members::certificate(&here, member, provision, ca_cert, ca_key),
        StepKind::Config { member, provision } => {
            members::config(ctx, &here, member, provision).await
        }
        StepKind::AddLearner { member } => {
            members::add_learner(ctx, &here, member, audit, journal).await
        }
        StepKind::StartMember { member, provision } => {
            members::start_member(ctx, &here, member, provision, audit, rep).await
        }
        StepKind::CatchUp { peer_url } => members::catch_up(ctx, &here, peer_url, rep).await,
        StepKind::Promote { peer_url } => members::promote(ctx, &here, peer_url, audit, rep).await,
        StepKind::References {
            member,
            added,
            provision,
        } => members::references(ctx, &here, member, *added, provision, audit, rep).await,
        StepKind::RemoveMember { id, .. } => members::remove_member(ctx, &here, *id, audit).await,
        StepKind::Purge {
            member,
            provision,
            override_safeguard,
        } => {
            members::purge(
                ctx,
                &here,
                member,
                provision,
                *override_safeguard,
                audit,
                rep,
            )
            .await
        }
        StepKind::Gate { .. } => ok(String::new()),
        StepKind::Settle { ms } => {
            sleep_unless_cancelled(Duration::from_millis(*ms), rep).await;
            ok(String::new())
        }
        StepKind::Snapshot { path, .. } => {
            let Some(via) = step.via.clone() else {
                return failed("no endpoint to take the snapshot from".into());
            };
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                if let Err(e) = std::fs::create_dir_all(dir) {
                    return failed(format!("{}: {e}", dir.display()));
                }
            }
            if audit.begin(&step.text, Some(&target)).is_err() {
                return failed("the audit log cannot be written; nothing was taken".into());
            }
            let t = Instant::now();
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let snap = ops::snapshot(&ctx.cluster, &via, path, move |done, all| {
                let _ = tx.send((done, all));
            });
            tokio::pin!(snap);
            let mut last_report = Instant::now();
            let r = loop {
                tokio::select! {
                    r = &mut snap => break r,
                    Some(b) = rx.recv() => {
                        if last_report.elapsed() >= Duration::from_millis(250) {
                            last_report = Instant::now();
                            rep.report(Report::Progress { index, elapsed: t.elapsed(), bytes: Some(b) });
                        }
                    }
                }
            };
            let outcome = r.as_ref().map(|_| "ok").map_err(|e| e.as_str());
            let _ = audit.end(&step.text, Some(&target), outcome, t.elapsed());
            match r {
                Ok(saved) => {
                    let _ = journal.artefact("snapshot", saved.path.display().to_string());
                    let _ = journal.artefact("snapshot_sha256", saved.sha256.clone());
                    let auto = super::snapshot::auto_dir(&ctx.state_dir);
                    if path.parent() == Some(auto.as_path()) {
                        super::snapshot::prune(&auto, wiz.plan.cluster_id);
                    }
                    ok(format!(
                        "{} at revision {}, sha256 {} verified, in {:.1} s",
                        crate::units::bytes(saved.size),
                        saved.revision,
                        saved.sha256,
                        saved.took_ms as f64 / 1000.0
                    ))
                }
                Err(e) => failed(e),
            }
        }
        StepKind::MoveLeader { to, .. } => {
            let (s, via) = match at_leader(ctx, index).await {
                Ok(found) => found,
                Err(ev) => return ev,
            };
            if s.leader == Some(*to) {
                return was(format!("{} leads already", s.name_of(*to)));
            }
            let c = Change::MoveLeader { to: *to };
            match with_ticks(
                index,
                rep,
                change(ctx, audit, &step.text, &target, &via, &c),
            )
            .await
            {
                Ok(done) => ok(done),
                Err(e) => failed(e.to_string()),
            }
        }
        StepKind::VerifyLeader { leader } => {
            let began = Instant::now();
            loop {
                let why = match fresh(ctx).await {
                    Ok(s) => {
                        let holds = s.leader == Some(*leader)
                            && s.members
                                .iter()
                                .filter(|m| m.reachable)
                                .all(|m| m.sees_leader == *leader)
                            && super::leader(&s).is_some();
                        if holds {
                            return ok(format!(
                                "every member names {} after {:.1} s",
                                s.name_of(*leader),
                                began.elapsed().as_secs_f64()
                            ));
                        }
                        let seen: Vec<String> = s
                            .members
                            .iter()
                            .filter(|m| m.reachable)
                            .map(|m| format!("{} sees {:x}", super::name(m), m.sees_leader))
                            .collect();
                        seen.join(", ")
                    }
                    Err(e) => e,
                };
                if began.elapsed() >= wiz.gate_wait {
                    return stopped(format!(
                        "the new leader does not hold after {} s: {why}",
                        wiz.gate_wait.as_secs()
                    ));
                }
                rep.report(Report::Waiting { index, why });
                tokio::time::sleep(super::GATE_RETRY).await;
            }
        }
        StepKind::Defragment {
            member, db_size, ..
        } => {
            let Some(via) = step.via.clone() else {
                return failed("the member has no client URL".into());
            };
            // The endpoint must still be that member (a node replaced since the plan was made
            // answers at the same address with another id).
            match ctx
                .cluster
                .call(&via, |mut c| async move { c.status().await })
                .await
            {
                Ok((s, _)) => {
                    let id = s.header().map_or(0, |h| h.member_id());
                    if id != *member {
                        return stopped(format!(
                            "{via} is member {id:x} now, not {member:x} as planned: nothing was \
                             sent; plan afresh (--fresh)"
                        ));
                    }
                }
                Err(e) => return failed(e.to_string()),
            }
            let c = Change::Defragment {
                id: *member,
                db_size: *db_size,
            };
            match with_ticks(
                index,
                rep,
                change(ctx, audit, &step.text, &target, &via, &c),
            )
            .await
            {
                Ok(done) => {
                    let after = match ctx
                        .cluster
                        .call(&via, |mut c| async move { c.status().await })
                        .await
                    {
                        Ok((s, _)) => format!(
                            ": {} -> {} ({} in use)",
                            crate::units::bytes((*db_size).max(0) as u64),
                            crate::units::bytes(s.db_size().max(0) as u64),
                            crate::units::bytes(s.raft_used_db_size().max(0) as u64)
                        ),
                        Err(_) => String::new(),
                    };
                    ok(format!("{done}{after}"))
                }
                Err(e) => failed(e.to_string()),
            }
        }
        StepKind::Compact { revision } => {
            let via = match at_leader(ctx, index).await {
                Ok((_, via)) => via,
                Err(ev) => return ev,
            };
            let c = Change::Compact {
                revision: *revision,
            };
            match with_ticks(
                index,
                rep,
                change(ctx, audit, &step.text, &target, &via, &c),
            )
            .await
            {
                Ok(done) => ok(done),
                Err(e) if e.kind() == ErrorKind::Refusal(EtcdRefusal::Compacted) => was(format!(
                    "the history was compacted up to {revision} already"
                )),
                Err(e) => failed(e.to_string()),
            }
        }
        StepKind::BelowQuota { quota, .. } => match fresh(ctx).await {
            Ok(s) => {
                let full = alarm::above_threshold(&s, *quota);
                if full.is_empty() {
                    ok("every member is below the threshold".into())
                } else {
                    let names: Vec<String> = full
                        .iter()
                        .map(|(n, b)| format!("{n} {}", crate::units::bytes(*b as u64)))
                        .collect();
                    stopped(format!(
                        "still too full to disarm: {}; delete data you do not need (`etcdeck \
                         keys` shows it), then run the same command to resume",
                        names.join(", ")
                    ))
                }
            }
            Err(e) => failed(e),
        },
        StepKind::Disarm { member } => {
            let (s, via) = match at_leader(ctx, index).await {
                Ok(found) => found,
                Err(ev) => return ev,
            };
            if !s
                .alarms
                .iter()
                .any(|a| a.member_id == *member && a.alarm == "NOSPACE")
            {
                return was(format!("no NOSPACE alarm on {}", s.name_of(*member)));
            }
            let c = Change::DisarmNospace { member_id: *member };
            match change(ctx, audit, &step.text, &target, &via, &c).await {
                Ok(done) => ok(done),
                Err(e) => failed(e.to_string()),
            }
        }
        StepKind::VerifyWrite { key } => {
            let via = match at_leader(ctx, index).await {
                Ok((_, via)) => via,
                Err(ev) => return ev,
            };
            let c = Change::ScratchWrite { key: key.clone() };
            match change(ctx, audit, &step.text, &target, &via, &c).await {
                Ok(done) => ok(done),
                Err(e) => failed(e.to_string()),
            }
        }
    }
}
