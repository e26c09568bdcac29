//! The membership steps as the driver carries them out: the inventory edit, the member's
//! certificate and files, the learner added, started, caught up and promoted, the references,
//! the remove and the purge. Each one first looks whether its work is done already (a resume
//! after a crash re-derives it from the cluster and the files, and never does it twice).

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{at_leader, change, fresh, sleep_unless_cancelled, Context, Report, Reporter};
use crate::etcd::error::{ErrorKind, Refusal as EtcdRefusal};
use crate::etcd::ops::Change;
use crate::etcd::status::ClusterStatus;
use crate::wizard::audit::AuditLog;
use crate::wizard::journal::Journal;
use crate::wizard::member::{self, InventoryChange, MemberSpec, Provision};
use crate::wizard::{Event, Step};

/// How long a started member may take to show up in the member list as started.
pub const START_WAIT: Duration = Duration::from_secs(60);
/// A learner that makes no progress for this long stops the catch-up.
pub const NO_PROGRESS: Duration = Duration::from_secs(60);
/// How long a promote is retried while etcd says the learner is not in sync.
pub const PROMOTE_WAIT: Duration = Duration::from_secs(60);
/// How often the catch-up looks.
pub const CATCH_UP_POLL: Duration = Duration::from_millis(200);

/// One step's context: its index, its text, who it goes to.
pub struct Here<'a> {
    pub index: usize,
    pub step: &'a Step,
}

impl Here<'_> {
    fn ok(&self, detail: String) -> Event {
        Event::StepOk {
            index: self.index,
            detail,
        }
    }
    fn was(&self, detail: String) -> Event {
        Event::StepWasDone {
            index: self.index,
            detail,
        }
    }
    fn failed(&self, error: String) -> Event {
        Event::StepFailed {
            index: self.index,
            error,
        }
    }
    fn stopped(&self, why: String) -> Event {
        Event::StepStopped {
            index: self.index,
            why,
        }
    }
    fn target(&self) -> String {
        self.step.member.clone().unwrap_or_default()
    }
}

/// A local change (a file) with its audit lines around it.
fn audited<T>(
    audit: &mut AuditLog,
    h: &Here<'_>,
    f: impl FnOnce() -> Result<T, String>,
) -> Result<T, String> {
    audit
        .begin(&h.step.text, Some(&h.target()))
        .map_err(|e| format!("the audit log cannot be written ({e}); nothing was changed"))?;
    let t = Instant::now();
    let r = f();
    let outcome = r.as_ref().map(|_| "ok").map_err(|e| e.as_str());
    let _ = audit.end(&h.step.text, Some(&h.target()), outcome, t.elapsed());
    r
}

// ---------------------------------------------------------------------------------------------
// The inventory.

pub fn inventory_edit(
    h: &Here<'_>,
    file: &Path,
    change: &InventoryChange,
    audit: &mut AuditLog,
    journal: &mut Journal,
) -> Event {
    let text = match crate::input::read(file, crate::input::INVENTORY_LIMIT, "an inventory") {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => return h.failed(e.to_string()),
    };
    // Done already (a resume after the write)?
    if let Ok(inv) = crate::inventory::parse(&text, &file.display().to_string(), &[]) {
        let has = |ip: IpAddr| inv.hosts.iter().find(|x| x.ip == ip);
        match change {
            InventoryChange::Add { ip, seq } if has(*ip).is_some_and(|x| x.seq == *seq) => {
                return h.was(format!("{ip} (etcd_seq {seq}) is in the inventory already"));
            }
            InventoryChange::Comment { ip } | InventoryChange::Remove { ip }
                if has(*ip).is_none() =>
            {
                return h.was(format!(
                    "{ip} is not in the inventory's etcd group any more"
                ));
            }
            _ => {}
        }
    }
    let edit = to_edit(change);
    let name = file.display().to_string();
    let edited = match crate::inventory::edit::apply(&text, &name, &edit) {
        Ok(e) => e,
        Err(e) => return h.stopped(format!("{e}; nothing was written")),
    };
    match audited(audit, h, || {
        crate::inventory::edit::write(file, &edited).map_err(|e| e.to_string())
    }) {
        Ok(backup) => {
            let _ = journal.artefact("inventory_backup", backup.display().to_string());
            // The diff was in the plan.
            h.ok(format!(
                "{}; the old file is kept as {}",
                edited.summary,
                backup.display()
            ))
        }
        Err(e) => h.failed(e),
    }
}

fn to_edit(c: &InventoryChange) -> crate::inventory::edit::Edit {
    use crate::inventory::edit::Edit;
    match c {
        InventoryChange::Add { ip, seq } => Edit::Add { ip: *ip, seq: *seq },
        InventoryChange::Comment { ip } => Edit::Comment { ip: *ip },
        InventoryChange::Remove { ip } => Edit::Remove { ip: *ip },
    }
}

// ---------------------------------------------------------------------------------------------
// The member's files.

fn mkdir(d: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(d)
        .map_err(|e| format!("{}: {e}", d.display()))
}

fn write(path: &Path, contents: &[u8], mode: u32) -> Result<(), String> {
    if let Some(d) = path.parent() {
        mkdir(d)?;
    }
    crate::pki::write_file(path, contents, mode, true).map_err(|e| e.to_string())
}

pub fn certificate(
    h: &Here<'_>,
    m: &MemberSpec,
    p: &Provision,
    ca_cert: &Path,
    ca_key: &Path,
) -> Event {
    let ca = match crate::pki::Ca::load(ca_cert, ca_key) {
        Ok(ca) => ca,
        Err(e) => return h.failed(e.to_string()),
    };
    let issued = match ca.issue_member(&m.name, m.ip) {
        Ok(c) => c,
        Err(e) => return h.failed(e.to_string()),
    };
    let (cert, key) = p.cert_paths(m);
    let mut wrote = vec![cert.clone(), key.clone()];
    let r = write(&key, issued.key_pem.as_bytes(), 0o600)
        .and_then(|_| write(&cert, issued.cert_pem.as_bytes(), 0o644))
        .and_then(|_| {
            // The node needs the CA certificate beside its own.
            if let Provision::Manual { out, .. } = p {
                let ca_copy = out.join("ca.crt");
                wrote.push(ca_copy.clone());
                write(&ca_copy, ca.cert_pem().as_bytes(), 0o644)
            } else {
                Ok(())
            }
        });
    match r {
        Ok(()) => h.ok(format!(
            "wrote {}",
            wrote
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Err(e) => h.failed(e),
    }
}

/// `initial-cluster` for `m` joining the cluster as it is: every member of the list under its
/// name (the new one, added but not started, under its own), and `m` if the list lacks it yet.
pub fn live_initial_cluster(s: &ClusterStatus, m: &MemberSpec) -> Vec<(String, String)> {
    let url = m.peer_url();
    let mut out: Vec<(String, String)> = s
        .members
        .iter()
        .filter_map(|x| {
            let peer = x.peer_urls.first()?.clone();
            let name = if x.peer_urls.contains(&url) {
                m.name.clone()
            } else if x.name.is_empty() {
                return None;
            } else {
                x.name.clone()
            };
            Some((name, peer))
        })
        .collect();
    if !out.iter().any(|(_, u)| *u == url) {
        out.push((m.name.clone(), url));
    }
    out.sort_by(|a, b| {
        crate::etcd::model::natural_key(&a.0).cmp(&crate::etcd::model::natural_key(&b.0))
    });
    out
}

/// The member's `etcd.conf` for joining, rendered for the provisioner's layout.
pub fn joining_conf(s: &ClusterStatus, m: &MemberSpec, p: &Provision) -> String {
    use crate::render::{ConfOptions, TlsPaths};
    let (cert, key, ca) = p.node_tls(m);
    let dir = p.files_dir(m);
    let data = dir.join("data");
    let log = dir.join("etcd.log");
    let sandbox = matches!(p, Provision::Sandbox { .. });
    // A member that says its quota (3.6+) tells the cluster's; else Pigsty's, or the sandbox's.
    let said = s.members.iter().map(|x| x.db_size_quota).max().unwrap_or(0);
    let quota = match p {
        Provision::Sandbox { dir } => crate::sandbox::configured_quota(dir),
        _ => None,
    }
    .or((said > 0).then_some(said as u64))
    .unwrap_or(crate::render::PIGSTY_QUOTA_BYTES);
    let opts = ConfOptions {
        tls: TlsPaths {
            cert: &cert,
            key: &key,
            ca: &ca,
        },
        data_dir: sandbox.then_some(data.as_path()),
        state: Some(crate::inventory::EtcdInit::Existing),
        listen_localhost: !sandbox,
        quota_bytes: quota,
        log_file: sandbox.then_some(log.as_path()),
    };
    crate::render::etcd_conf_with(&m.host(), &live_initial_cluster(s, m), &opts)
}

/// The etcdctl environment on the member's node: the voters' client URLs (never a learner's).
fn member_env(ctx: &Context, s: &ClusterStatus, m: &MemberSpec, p: &Provision) -> String {
    let (cert, key, ca) = p.node_tls(m);
    let mut endpoints: Vec<String> = s
        .members
        .iter()
        .filter(|x| !x.is_learner && x.started)
        .filter_map(|x| x.client_urls.first().cloned())
        .collect();
    endpoints.sort();
    crate::render::EtcdctlEnv {
        endpoints,
        cacert: ca.display().to_string(),
        cert: cert.display().to_string(),
        key: key.display().to_string(),
        user: ctx
            .cluster
            .settings()
            .user
            .as_ref()
            .map(|(u, pw)| format!("{u}:{pw}")),
    }
    .shell()
}

pub async fn config(ctx: &Context, h: &Here<'_>, m: &MemberSpec, p: &Provision) -> Event {
    let s = match fresh(ctx).await {
        Ok(s) => s,
        Err(e) => return h.failed(e),
    };
    let dir = p.files_dir(m);
    let conf = dir.join("etcd.conf");
    let env = dir.join("etcdctl.sh");
    let env_text = member_env(ctx, &s, m, p);
    // The password, when auth is on, makes the file private.
    let env_mode = if ctx.cluster.settings().user.is_some() {
        0o600
    } else {
        0o644
    };
    let r = write(&conf, joining_conf(&s, m, p).as_bytes(), 0o644)
        .and_then(|_| write(&env, env_text.as_bytes(), env_mode));
    match r {
        Ok(()) => h.ok(format!("wrote {} and {}", conf.display(), env.display())),
        Err(e) => h.failed(e),
    }
}

// ---------------------------------------------------------------------------------------------
// The cluster.

pub async fn add_learner(
    ctx: &Context,
    h: &Here<'_>,
    m: &MemberSpec,
    audit: &mut AuditLog,
    journal: &mut Journal,
) -> Event {
    let url = m.peer_url();
    let began = Instant::now();
    loop {
        let (s, via) = match at_leader(ctx, h.index).await {
            Ok(found) => found,
            Err(ev) => return ev,
        };
        if let Some(x) = member::by_peer_url(&s, &url) {
            let _ = journal.artefact("member_id", format!("{:x}", x.id));
            return h.was(format!(
                "{url} is member {:x} already ({}, an earlier run's add)",
                x.id,
                if x.is_learner { "a learner" } else { "a voter" }
            ));
        }
        if let Err(e) = member::record_seq(
            &ctx.state_dir,
            s.cluster_id,
            m,
            crate::wizard::audit::now_unix(),
        ) {
            return h.failed(format!(
                "etcdeck's record of used seqs cannot be written ({e}); nothing was sent"
            ));
        }
        let c = Change::AddMember {
            name: m.name.clone(),
            peer_url: url.clone(),
            learner: true,
        };
        match change(ctx, audit, &h.step.text, &m.name, &via, &c).await {
            Ok(done) => return h.ok(done),
            Err(e) if e.kind() == ErrorKind::Refusal(EtcdRefusal::PeerUrlExists) => {
                // Ours from an earlier run: the next look finds it.
                continue;
            }
            // etcd 3.4 refuses an add for a moment after a leader change ("unhealthy cluster").
            Err(e)
                if e.kind() == ErrorKind::Refusal(EtcdRefusal::UnhealthyCluster)
                    && began.elapsed() < Duration::from_secs(15) =>
            {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            // The server derives a new member's id from its peer URLs and the second it is
            // added; the id of a member removed before is refused as "member not found"
            // (membership.ErrIDRemoved). The next second gives another id.
            Err(e)
                if e.kind() == ErrorKind::Refusal(EtcdRefusal::MemberNotFound)
                    && began.elapsed() < Duration::from_secs(15) =>
            {
                tokio::time::sleep(Duration::from_millis(1100)).await;
            }
            Err(e) => return h.failed(e.to_string()),
        }
    }
}

/// Whether the member list shows the member at `url` as started.
fn started(s: &ClusterStatus, url: &str) -> Option<bool> {
    member::by_peer_url(s, url).map(|x| x.started)
}

pub async fn start_member(
    ctx: &Context,
    h: &Here<'_>,
    m: &MemberSpec,
    p: &Provision,
    audit: &mut AuditLog,
    rep: &mut dyn Reporter,
) -> Event {
    let url = m.peer_url();
    let s = match fresh(ctx).await {
        Ok(s) => s,
        Err(e) => return h.failed(e),
    };
    match started(&s, &url) {
        None => {
            return h.stopped(format!(
                "{url} is not in the member list: the add did not happen; nothing was started"
            ))
        }
        Some(true) => return h.was(format!("{} has started already", m.name)),
        Some(false) => {}
    }
    let r = match p {
        Provision::Sandbox { dir } => {
            let mdir = dir.join(&m.name);
            if crate::sandbox::running_pid(&mdir).is_some() {
                Ok(format!("{} runs already", m.name))
            } else {
                audited(audit, h, || {
                    crate::sandbox::spawn_member(&mdir)
                        .map(|pid| format!("etcd started as pid {pid}"))
                        .map_err(|e| e.to_string())
                })
            }
        }
        Provision::Pigsty { home, .. } => {
            let runner = crate::provision::pigsty::Pigsty::new(home);
            // The certificate etcdeck issued into files/pki/etcd is copied as it is.
            let argv = runner.start_argv_keeping_cert(&member::provision_member(m));
            run_playbook(h, &runner, &argv, audit, rep).await
        }
        Provision::Manual { out, .. } => {
            for line in crate::provision::manual::node_commands(&member::provision_member(m), out) {
                rep.report(Report::Output {
                    index: h.index,
                    line,
                });
            }
            Ok("the files are in place; waiting for the member to start".into())
        }
    };
    let said = match r {
        Ok(said) => said,
        Err(e) => return h.failed(e),
    };
    let wait = match p {
        Provision::Manual { wait_secs, .. } => Duration::from_secs(*wait_secs),
        _ => START_WAIT,
    };
    let began = Instant::now();
    loop {
        if let Ok(s) = fresh(ctx).await {
            if started(&s, &url) == Some(true) {
                return h.ok(format!(
                    "{said}; it joined after {:.1} s",
                    began.elapsed().as_secs_f64()
                ));
            }
        }
        if let Provision::Sandbox { dir } = p {
            let mdir = dir.join(&m.name);
            if crate::sandbox::running_pid(&mdir).is_none() {
                return h.failed(format!(
                    "etcd exited; last lines of {}:\n{}",
                    mdir.join("etcd.log").display(),
                    crate::sandbox::log_tail(&mdir.join("etcd.log"), 8)
                ));
            }
        }
        if began.elapsed() >= wait {
            return h.stopped(format!(
                "{} has not joined after {} s: see its log; run the same command to keep \
                 waiting, or roll it back (`etcdeck member remove {}`)",
                m.name,
                wait.as_secs(),
                m.name
            ));
        }
        rep.report(Report::Waiting {
            index: h.index,
            why: format!("waiting for {} to join", m.name),
        });
        if !sleep_unless_cancelled(Duration::from_millis(250), rep).await {
            return h.stopped(format!(
                "cancelled while waiting for {} to join; it may still join: run the same \
                 command to go on, or roll it back (`etcdeck member remove {}`)",
                m.name, m.name
            ));
        }
    }
}

/// Forwards a playbook's output to the reporter.
struct Lines<'a> {
    index: usize,
    rep: &'a mut dyn Reporter,
}

impl crate::provision::Out for Lines<'_> {
    fn line(&mut self, s: &str) {
        self.rep.report(Report::Output {
            index: self.index,
            line: s.to_string(),
        });
    }
    fn cancelled(&self) -> bool {
        self.rep.cancelled()
    }
}

async fn run_playbook(
    h: &Here<'_>,
    runner: &crate::provision::pigsty::Pigsty,
    argv: &[String],
    audit: &mut AuditLog,
    rep: &mut dyn Reporter,
) -> Result<String, String> {
    let text = crate::provision::display_argv(argv);
    audit
        .begin(&format!("{}: {text}", h.step.text), Some(&h.target()))
        .map_err(|e| format!("the audit log cannot be written ({e}); nothing was run"))?;
    let t = Instant::now();
    let mut out = Lines {
        index: h.index,
        rep,
    };
    let r = runner.run(argv, &mut out).await;
    let outcome = r.as_ref().map(|_| "ok").map_err(|e| e.as_str());
    let _ = audit.end(
        &format!("{}: {text}", h.step.text),
        Some(&h.target()),
        outcome,
        t.elapsed(),
    );
    r
}

pub async fn catch_up(ctx: &Context, h: &Here<'_>, url: &str, rep: &mut dyn Reporter) -> Event {
    let began = Instant::now();
    let mut best: Option<(u64, Instant)> = None;
    let mut first: Option<(u64, Instant)> = None;
    loop {
        let why = match fresh(ctx).await {
            Ok(s) => match member::by_peer_url(&s, url) {
                None => return h.failed(format!("{url} is not in the member list any more")),
                Some(x) if !x.is_learner => {
                    return h.was(format!("{} is a voter already", crate::wizard::name(x)))
                }
                Some(x) => match member::catch_up(&s, x) {
                    Some((applied, top)) => {
                        let now = Instant::now();
                        let (a0, t0) = *first.get_or_insert((applied, now));
                        if member::in_sync(applied, top) {
                            return h.ok(format!(
                                "applied {applied} of the leader's {top} after {:.1} s",
                                began.elapsed().as_secs_f64()
                            ));
                        }
                        if best.is_none_or(|(b, _)| applied > b) {
                            best = Some((applied, now));
                        }
                        let secs = now.duration_since(t0).as_secs_f64();
                        let rate = if secs > 0.5 {
                            applied.saturating_sub(a0) as f64 / secs
                        } else {
                            0.0
                        };
                        let left = top.saturating_sub(applied);
                        let eta = if rate > 0.0 {
                            format!(", about {:.0} s left", left as f64 / rate)
                        } else {
                            String::new()
                        };
                        rep.report(Report::Status {
                            index: h.index,
                            text: format!(
                                "{}: applied {applied} of {top} ({:.0}%), {rate:.0} entries/s{eta}",
                                crate::wizard::name(x),
                                100.0 * applied as f64 / top.max(1) as f64
                            ),
                        });
                        None
                    }
                    None => Some(format!("{} does not answer yet", crate::wizard::name(x))),
                },
            },
            Err(e) => Some(e),
        };
        if let Some(why) = why {
            rep.report(Report::Waiting {
                index: h.index,
                why,
            });
        }
        let stalled = best.map_or(began, |(_, t)| t);
        if stalled.elapsed() >= NO_PROGRESS {
            return h.stopped(format!(
                "the learner has made no progress for {} s: look at its log; run the same \
                 command to keep waiting",
                NO_PROGRESS.as_secs()
            ));
        }
        if !sleep_unless_cancelled(CATCH_UP_POLL, rep).await {
            return h.stopped("cancelled during the catch-up; nothing was changed".into());
        }
    }
}

pub async fn promote(
    ctx: &Context,
    h: &Here<'_>,
    url: &str,
    audit: &mut AuditLog,
    rep: &mut dyn Reporter,
) -> Event {
    let began = Instant::now();
    let mut backoff = Duration::from_millis(200);
    loop {
        let (s, via) = match at_leader(ctx, h.index).await {
            Ok(found) => found,
            Err(ev) => return ev,
        };
        let Some(x) = member::by_peer_url(&s, url) else {
            return h.failed(format!("{url} is not in the member list"));
        };
        if !x.is_learner {
            return h.was(format!("{} is a voter already", crate::wizard::name(x)));
        }
        let c = Change::PromoteMember { id: x.id };
        let who = crate::wizard::name(x);
        match change(ctx, audit, &h.step.text, &who, &via, &c).await {
            Ok(done) => {
                return h.ok(format!(
                    "{done} after {:.1} s",
                    began.elapsed().as_secs_f64()
                ))
            }
            Err(e) if e.kind() == ErrorKind::Refusal(EtcdRefusal::NotALearner) => {
                return h.was(format!("{who} is a voter already"))
            }
            Err(e)
                if e.kind() == ErrorKind::Refusal(EtcdRefusal::LearnerNotInSync)
                    && began.elapsed() < PROMOTE_WAIT =>
            {
                rep.report(Report::Waiting {
                    index: h.index,
                    why: format!("{who} is not in sync with the leader yet; trying again"),
                });
                if !sleep_unless_cancelled(backoff, rep).await {
                    return h.stopped("cancelled before the promote; nothing was changed".into());
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            Err(e) if e.is_retryable() && began.elapsed() < PROMOTE_WAIT => {
                rep.report(Report::Waiting {
                    index: h.index,
                    why: e.to_string(),
                });
                tokio::time::sleep(backoff).await;
            }
            Err(e) => return h.failed(e.to_string()),
        }
    }
}

pub async fn remove_member(ctx: &Context, h: &Here<'_>, id: u64, audit: &mut AuditLog) -> Event {
    let began = Instant::now();
    loop {
        let (s, via) = match at_leader(ctx, h.index).await {
            Ok(found) => found,
            Err(ev) => return ev,
        };
        let Some(x) = crate::wizard::member(&s, id) else {
            return h.was(format!("{id:x} is not in the member list (removed before)"));
        };
        if x.is_leader {
            return h.stopped(format!(
                "{} leads: nothing was removed; move leadership away first",
                crate::wizard::name(x)
            ));
        }
        let c = Change::RemoveMember { id };
        let who = crate::wizard::name(x);
        match change(ctx, audit, &h.step.text, &who, &via, &c).await {
            Ok(done) => return h.ok(done),
            Err(e) if e.kind() == ErrorKind::Refusal(EtcdRefusal::MemberNotFound) => {
                return h.was(format!("{who} was removed before"))
            }
            Err(e)
                if e.kind() == ErrorKind::Refusal(EtcdRefusal::UnhealthyCluster)
                    && began.elapsed() < Duration::from_secs(15) =>
            {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return h.failed(e.to_string()),
        }
    }
}

pub async fn purge(
    ctx: &Context,
    h: &Here<'_>,
    m: &MemberSpec,
    p: &Provision,
    override_safeguard: bool,
    audit: &mut AuditLog,
    rep: &mut dyn Reporter,
) -> Event {
    // Only once the remove has happened: a member still in the list is never purged. The list
    // is the leader's: the removed member, still running, may serve its own old list (etcd 3.4
    // answers a member list from the member asked, without consensus).
    let (_, leader) = match at_leader(ctx, h.index).await {
        Ok(found) => found,
        Err(ev) => return ev,
    };
    let list = match ctx
        .cluster
        .call(&leader, |mut c| async move { c.member_list().await })
        .await
    {
        Ok((list, _)) => list,
        Err(e) => return h.failed(e.to_string()),
    };
    let peer = m.peer_url();
    if let Some(x) = list
        .members()
        .iter()
        .find(|x| x.peer_urls().contains(&peer))
    {
        let name = if x.name().is_empty() {
            &m.name
        } else {
            x.name()
        };
        return h.stopped(format!(
            "{} ({:x}) is still in the member list: nothing was purged",
            crate::text::escape(name),
            x.id()
        ));
    }
    let r = match p {
        Provision::Sandbox { dir } => {
            let mdir = dir.join(&m.name);
            audited(audit, h, || {
                let mut said = Vec::new();
                if let Some(pid) = crate::sandbox::running_pid(&mdir) {
                    crate::sandbox::stop_pid(pid);
                    said.push(format!("stopped pid {pid}"));
                }
                let data = mdir.join("data");
                if data.exists() {
                    std::fs::remove_dir_all(&data)
                        .map_err(|e| format!("{}: {e}", data.display()))?;
                    said.push(format!("deleted {}", data.display()));
                }
                if said.is_empty() {
                    said.push("nothing ran and no data was left".into());
                }
                Ok(said.join("; "))
            })
        }
        Provision::Pigsty { home, .. } => {
            let runner = crate::provision::pigsty::Pigsty::new(home);
            let argv = runner.purge_argv(&member::provision_member(m), override_safeguard);
            run_playbook(h, &runner, &argv, audit, rep).await
        }
        Provision::Manual { .. } => {
            let lines = [
                format!("on {}: sudo systemctl disable --now etcd", m.inventory_ip),
                format!("on {}: sudo rm -rf {}", m.inventory_ip, m.data),
            ];
            for line in &lines {
                rep.report(Report::Output {
                    index: h.index,
                    line: line.clone(),
                });
            }
            Ok(format!("to do by hand: {}", lines.join("; ")))
        }
    };
    match r {
        Ok(said) => h.ok(said),
        Err(e) => h.failed(e),
    }
}

// ---------------------------------------------------------------------------------------------
// The references.

pub async fn references(
    ctx: &Context,
    h: &Here<'_>,
    m: &MemberSpec,
    added: bool,
    p: &Provision,
    audit: &mut AuditLog,
    rep: &mut dyn Reporter,
) -> Event {
    let s = match fresh(ctx).await {
        Ok(s) => s,
        Err(e) => return h.failed(e),
    };
    match p {
        Provision::Sandbox { dir } => {
            match audited(audit, h, || sandbox_references(dir, &s, m, added)) {
                Ok(said) => h.ok(said),
                Err(e) => h.failed(e),
            }
        }
        _ => {
            let pm = member::provision_member(m);
            // The members that stay, at their addresses (the inventory's, out of a sandbox).
            let url = m.peer_url();
            let others: Vec<crate::provision::Member> = s
                .members
                .iter()
                .filter(|x| !x.name.is_empty() && !x.peer_urls.contains(&url))
                .filter_map(|x| {
                    let ip = x.peer_urls.iter().find_map(|u| member::url_ip(u))?;
                    let mut host = m.host();
                    host.ip = ip;
                    Some(crate::provision::Member {
                        name: x.name.clone(),
                        host,
                    })
                })
                .collect();
            let change = if added {
                crate::provision::references::Change::Added(pm)
            } else {
                crate::provision::references::Change::Removed(pm)
            };
            let list = crate::provision::references::checklist(&change, &others);
            let mut done = Vec::new();
            for r in &list {
                let mut line = format!("{}: {} ({})", r.consumer, r.file, r.apply);
                if let (Provision::Pigsty { home, .. }, Some(argv)) = (p, &r.pigsty) {
                    let runner = crate::provision::pigsty::Pigsty::new(home);
                    match run_playbook(h, &runner, argv, audit, rep).await {
                        Ok(said) => line = format!("{line}: {said}"),
                        Err(e) => {
                            return h.failed(format!(
                                "{}: {e} (the items before it are done; run the same command \
                                 to resume)",
                                r.consumer
                            ))
                        }
                    }
                } else {
                    line = format!("to do: {line}");
                }
                rep.report(Report::Output {
                    index: h.index,
                    line: line.clone(),
                });
                done.push(line);
            }
            h.ok(done.join("\n"))
        }
    }
}

/// In a sandbox, the references are the other members' `etcd.conf` (their initial-cluster, as
/// Pigsty's `etcd_conf` task refreshes it; no restart) and the sandbox's `etcdctl.sh`.
fn sandbox_references(
    dir: &Path,
    s: &ClusterStatus,
    m: &MemberSpec,
    added: bool,
) -> Result<String, String> {
    let url = m.peer_url();
    let mut initial: Vec<(String, String)> = if added {
        live_initial_cluster(s, m)
    } else {
        s.members
            .iter()
            .filter(|x| !x.name.is_empty() && !x.peer_urls.contains(&url))
            .filter_map(|x| Some((x.name.clone(), x.peer_urls.first()?.clone())))
            .collect()
    };
    initial.sort();
    let line = format!(
        "initial-cluster: {}",
        serde_json::Value::String(
            initial
                .iter()
                .map(|(n, u)| format!("{n}={u}"))
                .collect::<Vec<_>>()
                .join(",")
        )
    );
    let mut changed = Vec::new();
    for (name, _) in initial.iter().filter(|(n, _)| *n != m.name) {
        let conf = dir.join(name).join("etcd.conf");
        let Ok(text) = std::fs::read_to_string(&conf) else {
            continue;
        };
        let new = replace_line(&text, "initial-cluster:", &line);
        if new != text {
            write(&conf, new.as_bytes(), 0o644)?;
            changed.push(conf.display().to_string());
        }
    }
    let env = dir.join("etcdctl.sh");
    if let Ok(text) = std::fs::read_to_string(&env) {
        let mut endpoints: Vec<String> = s
            .members
            .iter()
            .filter(|x| !x.is_learner && x.started && !x.peer_urls.contains(&url))
            .filter_map(|x| x.client_urls.first().cloned())
            .collect();
        if added {
            endpoints.push(m.client_url());
        }
        endpoints.sort();
        endpoints.dedup();
        let new = replace_line(
            &text,
            "export ETCDCTL_ENDPOINTS=",
            &format!("export ETCDCTL_ENDPOINTS='{}'", endpoints.join(",")),
        );
        if new != text {
            write(&env, new.as_bytes(), 0o644)?;
            changed.push(env.display().to_string());
        }
    }
    Ok(if changed.is_empty() {
        "every reference was up to date".into()
    } else {
        format!(
            "refreshed {} (etcd reads initial-cluster only at its first start: no restart)",
            changed.join(", ")
        )
    })
}

/// `text` with every line that starts with `prefix` replaced by `line`.
fn replace_line(text: &str, prefix: &str, line: &str) -> String {
    let mut out: String = text
        .lines()
        .map(|l| if l.starts_with(prefix) { line } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    out
}
