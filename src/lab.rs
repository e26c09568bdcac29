//! The demo's training ground: drills that break the sandbox as real incidents do (a member
//! killed or frozen, its node gone for good, a Patroni switchover or failover, the quota filled
//! to NOSPACE), and the scenarios `etcdeck demo --scenario NAME` starts in. One task owns the
//! sandbox and Patroni's keys ([`Lab::serve`]); the console sends it drills and hears what was
//! done, so nothing here ever waits on the screen's loop.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use etcd_client::Client;
use tokio::sync::mpsc;

use crate::demo::{self, PgCluster};
use crate::etcd::status::{observe, ClusterStatus};
use crate::etcd::Cluster;
use crate::sandbox::{loopback_for, Sandbox};

/// One thing to do to the sandbox or its Patroni clusters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drill {
    /// SIGKILL the member, as a crash or the OOM killer would.
    Kill(String),
    /// SIGSTOP: its ports accept connections, nothing answers (a hung disk, a stalled VM).
    Freeze(String),
    /// SIGCONT a frozen member.
    Thaw(String),
    /// Start a stopped member again on its data.
    Restart(String),
    /// Switch a Patroni cluster over (its scope; none: the first).
    Switchover(Option<String>),
    /// Fail a Patroni cluster over: its primary's node dies.
    Failover(Option<String>),
    /// Write history until etcd raises NOSPACE.
    Fill,
}

impl Drill {
    /// What it does, in a few words.
    pub fn describe(&self) -> String {
        let pg = |s: &Option<String>| s.clone().unwrap_or_else(|| "the first cluster".into());
        match self {
            Drill::Kill(m) => format!("kill {m}"),
            Drill::Freeze(m) => format!("freeze {m}"),
            Drill::Thaw(m) => format!("thaw {m}"),
            Drill::Restart(m) => format!("start {m} again"),
            Drill::Switchover(s) => format!("switch {} over", pg(s)),
            Drill::Failover(s) => format!("fail {} over", pg(s)),
            Drill::Fill => "fill the quota to NOSPACE".into(),
        }
    }
}

/// The incidents the demo can start in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// A follower killed: degraded, quorum holds.
    MemberDown,
    /// The leader frozen: the others elect a new one.
    LeaderFrozen,
    /// The quota full: etcd refuses writes.
    Nospace,
    /// A member gone for good with its data: only a replacement helps.
    DeadNode,
    /// A learner added and started, never promoted.
    LearnerStuck,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::MemberDown => "member-down",
            Scenario::LeaderFrozen => "leader-frozen",
            Scenario::Nospace => "nospace",
            Scenario::DeadNode => "dead-node",
            Scenario::LearnerStuck => "learner-stuck",
        }
    }
}

/// What a scenario did, and the way out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Story {
    pub scenario: Scenario,
    pub happened: String,
    pub fix: String,
}

impl Story {
    pub fn text(&self) -> String {
        format!(
            "scenario {}: {}\nto fix it: {}",
            self.scenario.name(),
            self.happened,
            self.fix
        )
    }
}

/// What the lab tells its owner.
#[derive(Debug)]
pub enum News {
    /// A drill was done: what happened.
    Done(String),
    /// A drill could not be done: why.
    Failed(String),
    /// A round of Patroni's keep-alive failed (the cluster refuses writes, a member is down...).
    KeepAlive(anyhow::Error),
}

/// The value a fill writes: history of one key, which compaction frees.
const FILL_KEY: &str = "/demo/fill";
const FILL_VALUE_BYTES: usize = 512 << 10;
/// The largest quota the fill drill fills (beyond it would write for minutes).
pub const FILL_MAX_QUOTA: u64 = 256 << 20;

/// The sandbox, its Patroni clusters and what the drills did to it.
pub struct Lab {
    pub sandbox: Sandbox,
    cluster: Cluster,
    client: Client,
    namespace: String,
    pub clusters: Vec<PgCluster>,
    timeout: Duration,
    /// Members whose node is gone for good (a scenario deleted their data).
    dead: BTreeSet<String>,
    /// The inventory the demo runs from (the membership wizards edit it).
    inventory: PathBuf,
}

impl Lab {
    pub fn new(
        sandbox: Sandbox,
        cluster: Cluster,
        client: Client,
        namespace: &str,
        clusters: Vec<PgCluster>,
        inventory: PathBuf,
    ) -> Lab {
        let timeout = cluster.timeout();
        Lab {
            sandbox,
            cluster,
            client,
            namespace: namespace.to_string(),
            clusters,
            timeout,
            dead: BTreeSet::new(),
            inventory,
        }
    }

    /// One round of Patroni's loop (see [`demo::tick`]). A member down or frozen fails the
    /// calls sent to it; Patroni then tries another member, and so does the lab: once more at
    /// once, through the voters that answer.
    pub async fn tick(&mut self) -> Result<()> {
        let (ns, t) = (self.namespace.clone(), self.timeout);
        let Err(first) = demo::tick(&mut self.client, &ns, &mut self.clusters, t).await else {
            return Ok(());
        };
        self.reconnect()
            .await
            .with_context(|| format!("{first:#}"))?;
        demo::tick(&mut self.client, &ns, &mut self.clusters, t)
            .await
            .with_context(|| format!("tried again after: {first:#}"))
    }

    /// Talk to Patroni's keys through the voters that answer now (after a member was killed or
    /// frozen, the balanced client would still send it every third call).
    async fn reconnect(&mut self) -> Result<()> {
        let answering: Vec<String> = self
            .look()
            .await?
            .members
            .iter()
            .filter(|m| m.reachable && m.started && !m.is_learner)
            .flat_map(|m| m.client_urls.clone())
            .collect();
        if answering.is_empty() {
            bail!("no voting member answers");
        }
        self.client = self.cluster.balanced(&answering).await?;
        Ok(())
    }

    /// Keep Patroni's keys alive every [`demo::LOOP_WAIT`] and carry out the drills that come,
    /// telling each outcome, until `tell` returns false or the drills' channel closes (with
    /// `None`, no drills come: until the future is dropped).
    pub async fn serve(
        &mut self,
        mut drills: Option<mpsc::UnboundedReceiver<Drill>>,
        mut tell: impl FnMut(News) -> bool,
    ) {
        let mut every = tokio::time::interval(demo::LOOP_WAIT);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            let next = async {
                match drills.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            let news = tokio::select! {
                _ = every.tick() => match self.tick().await {
                    Ok(()) => continue,
                    Err(e) => News::KeepAlive(e),
                },
                d = next => match d {
                    None => return,
                    Some(d) => match self.drill(&d).await {
                        Ok(text) => News::Done(text),
                        Err(e) => News::Failed(format!("demo: {}: {e:#}", d.describe())),
                    },
                },
            };
            if !tell(news) {
                return;
            }
        }
    }

    /// Carry out one drill; what happened, in words.
    pub async fn drill(&mut self, d: &Drill) -> Result<String> {
        match d {
            Drill::Kill(m) => {
                if !self.sandbox.kill_any(m)? {
                    bail!("{m} is not running");
                }
                self.reconnect().await?;
                Ok(format!(
                    "demo: {m} killed (SIGKILL), as a crash or the OOM killer would"
                ))
            }
            Drill::Freeze(m) => {
                if !self.sandbox.signal_any(m, libc::SIGSTOP)? {
                    bail!("{m} is not running");
                }
                self.reconnect().await?;
                Ok(format!(
                    "demo: {m} frozen (SIGSTOP): its ports accept connections, nothing answers, \
                     as on a hung disk or a stalled VM"
                ))
            }
            Drill::Thaw(m) => {
                if !self.sandbox.signal_any(m, libc::SIGCONT)? {
                    bail!("{m} is not running");
                }
                Ok(format!("demo: {m} thawed (SIGCONT)"))
            }
            Drill::Restart(m) => {
                if self.dead.contains(m) {
                    bail!(
                        "{m}'s node is gone for good in this scenario (its data went with it): \
                         replace it (R on it in the members pane, or `etcdeck member replace \
                         {m} --ip NEW-IP`)"
                    );
                }
                if !self.sandbox.restart_any(m)? {
                    bail!("{m} runs already (frozen? thaw it)");
                }
                Ok(format!("demo: {m} started again on its data"))
            }
            Drill::Switchover(scope) => {
                let i = self.pg_index(scope.as_deref())?;
                let (ns, t) = (self.namespace.clone(), self.timeout);
                let from = self.clusters[i].leader().map(|m| m.name.clone());
                let to =
                    demo::switchover(&mut self.client, &ns, &mut self.clusters[i], None, t).await?;
                Ok(format!(
                    "demo: Patroni cluster {} switched over from {} to {to}, as `pg switchover` \
                     does",
                    self.clusters[i].scope,
                    from.unwrap_or_else(|| "?".into())
                ))
            }
            Drill::Failover(scope) => {
                let i = self.pg_index(scope.as_deref())?;
                let (ns, t) = (self.namespace.clone(), self.timeout);
                let from = self.clusters[i].leader().map(|m| m.name.clone());
                let to = demo::failover(&mut self.client, &ns, &mut self.clusters[i], t).await?;
                Ok(format!(
                    "demo: the primary {} of Patroni cluster {} died with its node (its lease \
                     revoked); {to} took over",
                    from.unwrap_or_else(|| "?".into()),
                    self.clusters[i].scope
                ))
            }
            Drill::Fill => self.fill().await,
        }
    }

    /// The Patroni cluster named `scope`, else the first.
    fn pg_index(&self, scope: Option<&str>) -> Result<usize> {
        if self.clusters.is_empty() {
            bail!("the demo seeded no Patroni cluster");
        }
        Ok(scope
            .and_then(|s| self.clusters.iter().position(|c| c.scope == s))
            .unwrap_or(0))
    }

    /// Rewrite one key with 512 KiB values until etcd refuses: its history fills the quota.
    async fn fill(&mut self) -> Result<String> {
        let quota = self.sandbox.quota();
        if quota > FILL_MAX_QUOTA {
            bail!(
                "the members' quota is {}: filling it would take minutes; start the demo with \
                 --quota-backend 16MiB (or --scenario nospace)",
                crate::units::bytes(quota)
            );
        }
        let value = vec![b'x'; FILL_VALUE_BYTES];
        let most = quota as usize / FILL_VALUE_BYTES * 3 + 20;
        let t = self.timeout.max(Duration::from_secs(5));
        for n in 1..=most {
            let put = self.client.put(FILL_KEY, value.clone(), None);
            match tokio::time::timeout(t, put).await {
                Err(_) => bail!("a put got no answer within {} s", t.as_secs()),
                Ok(Ok(_)) => {}
                Ok(Err(e)) if e.to_string().contains("database space exceeded") => {
                    return Ok(format!(
                        "demo: NOSPACE after {n} puts of 512 KiB to {FILL_KEY} (quota {}): \
                         etcd refuses writes, Patroni can no longer renew its leader keys",
                        crate::units::bytes(quota)
                    ));
                }
                Ok(Err(e)) => return Err(anyhow!("put {FILL_KEY}: {e}")),
            }
        }
        bail!("{most} puts and no NOSPACE: is the quota really {quota} bytes?")
    }

    /// What a membership command needs beyond its own words to find the sandbox: nothing when
    /// the inventory sits in the sandbox's directory (the demo's own copy), as it is found there.
    fn provision_flags(&self) -> String {
        let beside = self.inventory.parent() == Some(self.sandbox.dir());
        if beside {
            return String::new();
        }
        format!(
            " --provision sandbox --sandbox-dir {}",
            self.sandbox.dir().display()
        )
    }

    /// The cluster as it is now.
    async fn look(&self) -> Result<ClusterStatus> {
        Ok(observe(&self.cluster).await?)
    }

    /// The voting follower a scenario breaks: the last by name, so that the leader keeps its
    /// job and the story stays simple.
    async fn follower(&self) -> Result<String> {
        let s = self.look().await?;
        s.members
            .iter()
            .filter(|m| !m.is_leader && !m.is_learner && m.reachable && m.started)
            .map(|m| m.name.clone())
            .max()
            .ok_or_else(|| anyhow!("no voting follower answers"))
    }

    /// An inventory address no member uses yet, after the highest of the sandbox's.
    async fn spare_ip(&self) -> Result<IpAddr> {
        let s = self.look().await?;
        let used: Vec<String> = s.members.iter().flat_map(|m| m.peer_urls.clone()).collect();
        let top = self
            .sandbox
            .members()
            .iter()
            .filter_map(|m| match m.inventory_ip {
                IpAddr::V4(v4) => Some(v4),
                IpAddr::V6(_) => None,
            })
            .max()
            .ok_or_else(|| anyhow!("the sandbox has no IPv4 member"))?;
        let [a, b, c, d] = top.octets();
        for last in d.saturating_add(1)..=254 {
            let ip = IpAddr::from([a, b, c, last]);
            let here = loopback_for(ip)?.to_string();
            if !used.iter().any(|u| u.contains(&format!("//{here}:"))) {
                return Ok(ip);
            }
        }
        bail!("no free address after {top}")
    }

    /// Break the sandbox as `scenario` says; what happened and the way out.
    pub async fn scenario(&mut self, scenario: Scenario) -> Result<Story> {
        let (happened, fix) = match scenario {
            Scenario::MemberDown => {
                let m = self.follower().await?;
                self.drill(&Drill::Kill(m.clone())).await?;
                (
                    format!(
                        "{m} was killed (SIGKILL), as a crash or the OOM killer would. The \
                         cluster is degraded: two of three voters answer, quorum holds with no \
                         failure to spare."
                    ),
                    format!(
                        "start it again: T then s on {m} in the members pane (on a real node: \
                         `systemctl start etcd`, then read its journal for why it died). If its \
                         node is gone for good, replace it (R)."
                    ),
                )
            }
            Scenario::LeaderFrozen => {
                let s = self.look().await?;
                let leader = s
                    .members
                    .iter()
                    .find(|m| m.is_leader)
                    .map(|m| m.name.clone())
                    .ok_or_else(|| anyhow!("no leader to freeze"))?;
                self.drill(&Drill::Freeze(leader.clone())).await?;
                let next = self.new_leader(&leader, Duration::from_secs(15)).await;
                (
                    format!(
                        "the leader {leader} is frozen (SIGSTOP): its ports accept connections \
                         but nothing answers, as on a hung disk or a stalled VM. {}",
                        match next {
                            Some(n) => format!("The others elected {n}."),
                            None => "The others have not elected a new leader yet.".into(),
                        }
                    ),
                    format!(
                        "thaw it: T then t on {leader} (on a real node: find what hangs, \
                         `dmesg`, `iostat -x 1`; restart etcd there). A member that stays hung \
                         is replaced (R)."
                    ),
                )
            }
            Scenario::Nospace => {
                let done = self.drill(&Drill::Fill).await?;
                (
                    format!(
                        "{}. Every member raised the NOSPACE alarm; only reads and deletes \
                         work.",
                        done.trim_start_matches("demo: ")
                    ),
                    "the NOSPACE recovery wizard: A in the members pane (or `etcdeck alarm \
                     recover`): it compacts, defragments one member at a time and disarms."
                        .into(),
                )
            }
            Scenario::DeadNode => {
                let m = self.follower().await?;
                self.drill(&Drill::Kill(m.clone())).await?;
                self.sandbox.delete_data(&m)?;
                self.dead.insert(m.clone());
                let ip = self.spare_ip().await?;
                let flags = self.provision_flags();
                (
                    format!(
                        "{m}'s node is gone for good: its etcd was killed and its data deleted, \
                         as with a lost disk or a terminated VM. Starting it again cannot help; \
                         the cluster runs degraded on two voters."
                    ),
                    format!(
                        "the replace wizard: R on {m} in the members pane, type {ip} (or \
                         `etcdeck member replace {m} --ip {ip}{flags}`): it removes the dead member \
                         first, then adds, starts and promotes the new one."
                    ),
                )
            }
            Scenario::LearnerStuck => {
                let ip = self.spare_ip().await?;
                let name = self.add_stopped_before_promote(ip).await?;
                let flags = self.provision_flags();
                (
                    format!(
                        "a learner {name} ({ip}) was added and started, but its promote never \
                         came: the add was cancelled before that step, as when a terminal \
                         closes mid-wizard. A learner does not vote; it only follows."
                    ),
                    format!(
                        "promote it: P on {name} in the members pane (or `etcdeck member \
                         promote {name}`); `etcdeck member add --ip {ip}{flags}` resumes the add \
                         instead. To give it up, remove it (X)."
                    ),
                )
            }
        };
        Ok(Story {
            scenario,
            happened,
            fix,
        })
    }

    /// The leader other than `old`, once one is elected (within `within`).
    async fn new_leader(&self, old: &str, within: Duration) -> Option<String> {
        let start = Instant::now();
        while start.elapsed() < within {
            if let Ok(s) = self.look().await {
                if let Some(m) = s.members.iter().find(|m| m.is_leader && m.name != old) {
                    return Some(m.name.clone());
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        None
    }

    /// Run the real add wizard (this very program) for `ip`, and cancel it (SIGINT, which ends
    /// the running step first) as the step before the promote begins: a started learner, with
    /// the add's journal left for the same command to resume. The learner's name.
    async fn add_stopped_before_promote(&mut self, ip: IpAddr) -> Result<String> {
        let exe = std::env::current_exe().context("finding this program")?;
        let ip = ip.to_string();
        let base = |extra: &[&str]| {
            let mut cmd = Command::new(&exe);
            for (k, v) in self.sandbox.etcdctl_env().vars() {
                cmd.env(k, v);
            }
            cmd.arg("-i").arg(&self.inventory);
            cmd.args(["member", "add", "--ip", &ip, "--no-snapshot"]);
            cmd.args(["--provision", "sandbox", "--sandbox-dir"]);
            cmd.arg(self.sandbox.dir());
            cmd.args(extra);
            cmd
        };
        let mut plan = base(&["--dry-run", "--json"]);
        plan.stderr(Stdio::null());
        let plan = tokio::task::spawn_blocking(move || plan.output())
            .await
            .map_err(|e| anyhow!("{e}"))?
            .context("planning the add")?;
        let v: serde_json::Value = serde_json::from_slice(&plan.stdout).map_err(|_| {
            anyhow!(
                "the add was not planned: {}",
                String::from_utf8_lossy(&plan.stdout)
            )
        })?;
        let keys: Vec<&str> = v["plan"]["steps"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s["key"].as_str()).collect())
            .unwrap_or_default();
        let promote = keys
            .iter()
            .position(|k| *k == "promote")
            .ok_or_else(|| anyhow!("the add plans no promote"))?;
        // The add's confirmation word is the new member's name.
        let name = v["plan"]["confirm"]
            .as_str()
            .map_or_else(|| format!("the member at {ip}"), str::to_string);
        let mut child = base(&["--yes"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("running the add")?;
        let out = child.stdout.take().context("the add's output")?;
        let before = format!("[{promote}/");
        let pid = child.id();
        let reader = tokio::task::spawn_blocking(move || {
            use std::io::BufRead;
            let mut sent = false;
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                if !sent && line.starts_with(&before) {
                    // SAFETY: plain syscall on our own child.
                    unsafe {
                        libc::kill(pid as i32, libc::SIGINT);
                    }
                    sent = true;
                }
            }
            sent
        });
        let sent = reader.await.unwrap_or(false);
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .map_err(|e| anyhow!("{e}"))??;
        if !sent {
            bail!("the add ended ({status}) before its promote step");
        }
        Ok(name)
    }
}
