//! What every wizard verb shares: look at the cluster, plan (or resume the journal of an
//! unfinished run), print the plan or the runbook, ask for the typed confirmation, carry it out
//! with progress on stderr, print the result. `--json` prints one object at the end.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use serde_json::json;

use super::{settings, state_base, Code};
use crate::cli::{Global, WizardFlags};
use crate::etcd::status::{self, ClusterStatus};
use crate::etcd::Cluster;
use crate::wizard::audit::{self, AuditLog};
use crate::wizard::drive::{self, Report, Reporter};
use crate::wizard::journal::{self, Journal, Standing};
use crate::wizard::{self, Common, Event, Op, Phase, Plan, Refusal, Wizard};

/// A first look at the cluster, before planning.
pub struct Prepared {
    pub cluster: Cluster,
    pub status: ClusterStatus,
    pub state: PathBuf,
    pub now: u64,
}

/// Connect, refuse endpoints of two clusters, gather the member statuses, record the revision.
pub async fn prepare(g: &Global) -> Result<Prepared> {
    let cluster = Cluster::new(settings(g)?)?;
    // The gather refuses endpoints of two clusters itself.
    let status = status::gather(&cluster).await?;
    let state = state_base().context("neither XDG_STATE_HOME nor HOME is set")?;
    let now = audit::now_unix();
    let _ = wizard::revisions::record(&state, status.cluster_id, now, status.revision());
    Ok(Prepared {
        cluster,
        status,
        state,
        now,
    })
}

/// The `/metrics` page of the first member that gives one (the leader first), parsed.
pub async fn metrics_page(p: &Prepared) -> Option<crate::etcd::metrics::Snapshot> {
    use crate::etcd::metrics;
    let scraper = metrics::Scraper::new(p.cluster.settings()).ok()?;
    let mut members: Vec<_> = p.status.members.iter().filter(|m| m.reachable).collect();
    members.sort_by_key(|m| Some(m.id) != p.status.leader);
    for m in members {
        let Some(url) = m.client_urls.first() else {
            continue;
        };
        if let Ok((page, _)) = metrics::scrape(&scraper, url).await {
            if let Ok(s) = metrics::parse(&page) {
                return Some(s);
            }
        }
    }
    None
}

/// The options every destructive plan shares.
pub fn common(p: &Prepared, w: &WizardFlags) -> Common {
    Common {
        snapshot: !w.no_snapshot,
        snapshot_dir: wizard::snapshot::auto_dir(&p.state),
        now: p.now,
        cluster_name: wizard::cluster_name(&p.status, None),
    }
}

fn print_refusals(r: &[Refusal]) {
    for x in r {
        eprintln!(
            "etcdeck: refused: {}\n  what to do: {}",
            crate::text::escape(&x.why),
            crate::text::escape(&x.fix)
        );
    }
}

/// Progress on stderr: a line per step, a live elapsed counter on a terminal.
struct CliReporter {
    plan: Plan,
    cancel: Arc<AtomicBool>,
    tty: bool,
    last_wait: Option<String>,
    last_status: Option<std::time::Instant>,
    json: bool,
}

impl CliReporter {
    fn say(&self, s: &str) {
        if self.json {
            eprintln!("{s}");
        } else {
            outln!("{s}");
        }
    }
}

impl Reporter for CliReporter {
    fn report(&mut self, r: Report) {
        let n = self.plan.steps.len();
        let esc = crate::text::escape;
        match r {
            Report::Begin { index } => {
                self.last_wait = None;
                let s = &self.plan.steps[index];
                let to = s
                    .member
                    .as_deref()
                    .map(|m| format!(" on {}", esc(m)))
                    .unwrap_or_default();
                self.say(&format!("[{}/{n}] {}{to}", index + 1, esc(&s.text)));
            }
            Report::Progress { elapsed, bytes, .. } => {
                let what = match bytes {
                    Some((done, all)) => format!(
                        "{} of {}, {:.0} s",
                        crate::units::bytes(done),
                        crate::units::bytes(all),
                        elapsed.as_secs_f64()
                    ),
                    None => format!("{:.0} s", elapsed.as_secs_f64()),
                };
                if self.tty {
                    eprint!("\r      ... {what}   ");
                    let _ = std::io::stderr().flush();
                } else if elapsed.as_secs() % 10 == 0 {
                    eprintln!("      ... {what}");
                }
            }
            Report::Output { line, .. } => {
                if self.tty {
                    eprint!("\r\x1b[K");
                }
                eprintln!("      | {}", esc(&line));
            }
            Report::Status { text, .. } => {
                if self.tty {
                    eprint!("\r\x1b[K      {}", esc(&text));
                    let _ = std::io::stderr().flush();
                } else if self
                    .last_status
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(5))
                {
                    self.last_status = Some(std::time::Instant::now());
                    eprintln!("      {}", esc(&text));
                }
            }
            Report::Waiting { why, .. } => {
                if self.last_wait.as_deref() != Some(why.as_str()) {
                    eprintln!("      waiting: {}", esc(&why));
                    self.last_wait = Some(why);
                }
            }
            Report::End {
                index,
                outcome,
                detail,
                took,
            } => {
                if self.tty {
                    eprint!("\r\x1b[K");
                }
                let s = &self.plan.steps[index];
                let detail = if detail.is_empty() {
                    String::new()
                } else {
                    format!(": {}", esc(&detail))
                };
                if matches!(s.kind, wizard::StepKind::Gate { .. }) && outcome == "done" {
                    self.say(&format!("[{}/{n}] {}: passed", index + 1, esc(&s.text)));
                } else {
                    self.say(&format!(
                        "      {outcome} in {:.1} s{detail}",
                        took.as_secs_f64()
                    ));
                }
            }
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

/// Ask for the typed confirmation on the terminal; `false` for anything else.
fn confirm(word: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "this changes the cluster: run it on a terminal to type the confirmation, or pass \
             --yes (refusals still refuse)"
        );
    }
    eprint!(
        "Type {} to go on (anything else cancels): ",
        crate::text::escape(word)
    );
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == word)
}

/// Plan (or resume), show, confirm, carry out. `planned` is the fresh plan for the cluster as
/// it is now; an unfinished journal of the same operation wins unless `--fresh`.
pub async fn carry_out(
    g: &Global,
    p: Prepared,
    op: Op,
    w: &WizardFlags,
    args: &str,
    planned: Result<Plan, Vec<Refusal>>,
    after: impl FnOnce(&Wizard) -> Vec<String>,
) -> Result<Code> {
    let cid = p.status.cluster_id;
    let earlier = journal::unfinished(&p.state, cid, op).map_err(anyhow::Error::msg)?;
    if let Some(rec) = earlier.as_ref().filter(|r| !w.fresh && r.args != args) {
        bail!(
            "an unfinished `etcdeck {}` ({}, started {} by {}) was run with other options ({}): \
             run it again with those to resume it, or pass --fresh to abandon it",
            op.command(),
            rec.id,
            audit::rfc3339(rec.started),
            rec.os_user,
            if rec.args.is_empty() {
                "none"
            } else {
                rec.args.as_str()
            }
        );
    }
    let (plan, done, resumed, record) = match earlier {
        Some(rec) if !w.fresh => {
            let note = format!(
                "resuming {} (started {} by {}): {} of {} step(s) done{}; use --fresh to \
                 abandon it and plan afresh",
                rec.id,
                audit::rfc3339(rec.started),
                rec.os_user,
                rec.done.len(),
                rec.plan.steps.len(),
                rec.why
                    .as_deref()
                    .map(|w| format!(", it ended: {w}"))
                    .unwrap_or_default()
            );
            eprintln!("etcdeck: {}", crate::text::escape(&note));
            let done = done_by_audit(&p, &rec);
            (rec.plan.clone(), done, true, Some(rec))
        }
        other => {
            if let (Some(rec), true) = (other, w.fresh) {
                if let Ok(mut j) = Journal::open(&p.state, rec) {
                    let _ = j.finish(Standing::Abandoned, Some("abandoned with --fresh".into()));
                }
            }
            match planned {
                Ok(plan) => (plan, Default::default(), false, None),
                Err(r) => {
                    // The same command again after it ended well (its terminal was killed at
                    // the very end, say): the refusals most often only say that it is done.
                    // They still refuse (exit 1): nothing was done by this run.
                    let already = done_already(&p, op, args, w);
                    if w.json {
                        outln!(
                            "{}",
                            json!({"op": op.slug(), "cluster_id": format!("{cid:x}"), "refused": r,
                                   "done_already": already.as_ref().map(|r| &r.id)})
                        );
                    } else if let Some(rec) = already {
                        outln!(
                            "{}: the same command ended done already: {} (started {} by {}, \
                             ended {})",
                            op.command(),
                            crate::text::escape(&rec.id),
                            audit::rfc3339(rec.started),
                            crate::text::escape(&rec.os_user),
                            audit::rfc3339(rec.updated)
                        );
                    }
                    print_refusals(&r);
                    return Ok(1);
                }
            }
        }
    };
    if g.read_only && plan.changes() {
        bail!(
            "read-only mode: `etcdeck {}` changes the cluster; nothing was done",
            op.command()
        );
    }
    if !w.json {
        out!("{}", plan.text());
    }
    if plan.steps.is_empty() {
        if w.json {
            outln!(
                "{}",
                json!({"op": op.slug(), "plan": plan, "phase": "done"})
            );
        } else {
            outln!("nothing to do");
        }
        return Ok(0);
    }
    if w.dry_run {
        let book = wizard::runbook::runbook(&plan, p.cluster.settings());
        if w.json {
            outln!(
                "{}",
                json!({"op": op.slug(), "plan": plan, "dry_run": true, "runbook": book})
            );
        } else {
            outln!("\n{}", book.join("\n"));
            outln!("(dry run: nothing was changed)");
        }
        return Ok(0);
    }
    let mut wiz = Wizard::resume(plan.clone(), done);
    wiz.gate_wait = w.gate_wait;
    let first = match (&plan.confirm, w.yes) {
        (Some(word), false) => {
            if confirm(word)? {
                wiz.advance(Event::Yes)
            } else {
                wiz.advance(Event::Typed(String::new()))
            }
        }
        _ => wiz.advance(Event::Yes),
    };
    if wiz.phase == Phase::Cancelled {
        eprintln!("etcdeck: cancelled; nothing was done");
        return Ok(1);
    }
    let record = match record {
        Some(r) => r,
        None => journal::record(plan.clone(), args, p.now),
    };
    let op_id = record.id.clone();
    let mut journal = Journal::open(&p.state, record)?;
    let etcd_user = p.cluster.settings().user.as_ref().map(|(u, _)| u.clone());
    let mut audit = AuditLog::open(&p.state, cid, &op_id, etcd_user)?;
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                if cancel.swap(true, Ordering::SeqCst) {
                    eprintln!("\netcdeck: interrupted; run the same command to resume");
                    std::process::exit(130);
                }
                eprintln!(
                    "\netcdeck: cancel asked: the step running ends first (Ctrl-C again to \
                     leave at once; the journal lets the same command resume)"
                );
            }
        });
    }
    let mut rep = CliReporter {
        plan: plan.clone(),
        cancel,
        tty: std::io::stderr().is_terminal(),
        last_wait: None,
        last_status: None,
        json: w.json,
    };
    let ctx = drive::Context {
        cluster: p.cluster.clone(),
        state_dir: p.state.clone(),
    };
    let started = std::time::Instant::now();
    drive::run(&ctx, &mut wiz, first, &mut journal, &mut audit, &mut rep).await;
    let took = started.elapsed();
    let extra = if wiz.phase == Phase::Done {
        after(&wiz)
    } else {
        Vec::new()
    };
    let code = match &wiz.phase {
        Phase::Done => 0,
        Phase::Failed(_) => 2,
        _ => 1,
    };
    if w.json {
        outln!(
            "{}",
            json!({
                "op": op.slug(),
                "id": op_id,
                "cluster_id": format!("{cid:x}"),
                "resumed": resumed,
                "plan": plan,
                "phase": wiz.phase,
                "outcomes": wiz.outcomes,
                "took_ms": took.as_millis() as u64,
                "journal": journal.path(),
                "notes": extra,
            })
        );
    } else {
        let ended = match &wiz.phase {
            Phase::Done => format!("done in {}", crate::units::duration(round(took))),
            Phase::Cancelled => "cancelled between steps; run the same command to resume".into(),
            Phase::Stopped(why) => format!("stopped: {why}"),
            Phase::Failed(why) => {
                format!("FAILED: {why}\n(run the same command to resume once it is fixed)")
            }
            Phase::Confirming | Phase::Running => "interrupted".into(),
        };
        outln!("{}: {}", op.command(), crate::text::escape(&ended));
        for line in extra {
            outln!("{line}");
        }
    }
    Ok(code)
}

/// The cluster's last operation of this kind, if it was this very command and ended done.
fn done_already(p: &Prepared, op: Op, args: &str, w: &WizardFlags) -> Option<journal::Record> {
    let rec = journal::latest(&p.state, p.status.cluster_id, op).ok()??;
    (!w.fresh && rec.standing == Standing::Done && rec.args == args).then_some(rec)
}

/// The steps done, from the journal, and the step that was running when the process died if
/// the audit log says it ended well (the end is written before the journal is: a kill between
/// the two must not repeat the step).
fn done_by_audit(p: &Prepared, rec: &journal::Record) -> std::collections::BTreeSet<String> {
    let mut done = rec.done.clone();
    let Some(key) = &rec.begun else { return done };
    let Some(step) = rec.plan.steps.iter().find(|s| &s.key == key) else {
        return done;
    };
    let ended = audit::read(&p.state, rec.plan.cluster_id, rec.started)
        .unwrap_or_default()
        .iter()
        .any(|e| {
            e.operation == rec.id
                && e.phase == "end"
                && e.step == step.text
                && e.outcome.as_deref() == Some("ok")
        });
    if ended && wizard::is_journaled(&step.kind) {
        done.insert(key.clone());
    }
    done
}

fn round(d: Duration) -> Duration {
    Duration::from_millis((d.as_millis() as u64 / 100) * 100)
}
