//! `etcdeck demo`: a real local sandbox from the inventory, with Patroni-shaped keys, and the
//! console on it (or headless).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::console::{console_config, console_store, open_console};
use super::{load_inventory, state_base, Code};
use crate::app::msg::Level;
use crate::app::msg::Msg;
use crate::app::store::{InventoryState, Quota, Target};
use crate::app::store::{Lab as StoreLab, Overlay};
use crate::app::timeline::Tag;
use crate::cli::Global;
use crate::connect;
use crate::etcd::status::render_table;
use crate::etcd::Cluster;
use crate::inventory;
use crate::lab::{Lab, News, Scenario};
use crate::sandbox::Sandbox;
use crate::{demo, text};

fn demo_state_dir(flag: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(d) = flag {
        return Ok(d);
    }
    let base = state_base().context("neither XDG_STATE_HOME nor HOME is set: pass --state-dir")?;
    Ok(base.join("demo"))
}

/// How the demo starts.
pub struct Options {
    pub state_dir: Option<PathBuf>,
    pub fresh: bool,
    pub headless: bool,
    pub auth: bool,
    /// The members' quota-backend-bytes (small, to rehearse NOSPACE).
    pub quota_backend: Option<i64>,
    /// The incident to start in.
    pub scenario: Option<Scenario>,
}

/// The quota of `--scenario nospace` unless one is given: filled in a few seconds.
const NOSPACE_QUOTA: i64 = 16 << 20;

pub async fn run(g: &Global, o: Options) -> Result<Code> {
    let Options {
        state_dir,
        fresh,
        headless,
        auth,
        quota_backend,
        scenario,
    } = o;
    // A scenario starts from a healthy cluster: fresh data, the example inventory again.
    let fresh = fresh || scenario.is_some();
    let quota_backend = match (scenario, quota_backend) {
        (Some(Scenario::Nospace), None) => Some(NOSPACE_QUOTA),
        (_, q) => q,
    };
    use std::io::IsTerminal;
    let headless = headless || !std::io::stdout().is_terminal();
    if !headless {
        if let Some(code) = super::console::refuse_background() {
            return Ok(code);
        }
    }
    // Settings errors surface before any member starts.
    let cfg = if headless {
        None
    } else {
        Some(console_config(g)?)
    };
    let dir = demo_state_dir(state_dir)?;
    // Without -i, the demo's inventory is a copy of the embedded example in its directory: the
    // membership wizards edit it (and find the sandbox beside it) as they would a Pigsty home.
    let own_inventory = dir.join("inventory.yml");
    if g.inventory.is_none() && (fresh || !own_inventory.exists()) {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(&own_inventory, inventory::EXAMPLE)
            .with_context(|| format!("writing {}", own_inventory.display()))?;
    }
    let inv_path = g.inventory.clone().unwrap_or_else(|| own_inventory.clone());
    let mut inv = load_inventory(g, Some(&inv_path))?;
    let inv_file = inv_path.display().to_string();
    if auth {
        demo::with_auth(&mut inv);
    }
    if fresh {
        // Every member's data, those added since the first start included.
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let data = e.path().join("data");
            if data.is_dir() {
                std::fs::remove_dir_all(&data)
                    .with_context(|| format!("removing {}", data.display()))?;
            }
        }
    }
    let started = Instant::now();
    let mut sandbox = Sandbox::prepare(&inv, &dir)?;
    if let Some(q) = quota_backend {
        sandbox.set_quota(q as u64);
    }
    for m in sandbox.members() {
        outln!(
            "starting {} on {} (inventory host {}), log {}",
            text::escape(&m.name()),
            m.client_url(),
            m.inventory_ip,
            m.log().display()
        );
    }
    if sandbox.auth() {
        outln!("auth on: user root with etcd_root_password, as Pigsty 4.x");
    }
    sandbox.start()?;
    let status = sandbox.wait_healthy(Duration::from_secs(15)).await?;
    outln!(
        "cluster healthy in {:.1} s\n",
        started.elapsed().as_secs_f64()
    );
    out!("{}", render_table(&status));

    let settings = sandbox.settings(g.timeout.unwrap_or(connect::DEFAULT_TIMEOUT));
    let cluster = Cluster::new(settings.clone())?;
    let mut client = cluster.balanced_voters().await?;
    let mut clusters = demo::demo_clusters();
    let ns = g.namespace().to_string();
    let n = demo::seed(&mut client, &ns, &mut clusters, settings.timeout).await?;
    outln!(
        "\nseeded {n} Patroni keys under {} for {} PostgreSQL clusters",
        text::escape(&ns),
        clusters.len()
    );

    let env = sandbox.etcdctl_env();
    let env_file = dir.join("etcdctl.sh");
    let inventory_line = format!(
        "export ETCDECK_INVENTORY='{}'\n",
        inv_path.display().to_string().replace('\'', r"'\''")
    );
    std::fs::write(&env_file, env.shell() + &inventory_line)
        .with_context(|| format!("writing {}", env_file.display()))?;
    outln!("\nFrom another shell, use the sandbox with etcdctl or etcdeck:\n");
    out!("{}{inventory_line}", env.shell());
    let exe =
        std::env::current_exe().map_or_else(|_| "etcdeck".to_string(), |p| p.display().to_string());
    outln!("\n(or: source {})\n    {exe} status", env_file.display());
    outln!(
        "    {exe} member add --ip 10.10.10.13   # a 4th member: learner, start, promote \
         (the sandbox runs it on 127.10.10.13)"
    );
    if quota_backend.is_some() {
        outln!(
            "\nquota-backend-bytes is {}: fill it until NOSPACE with history, then recover:\n    \
             for i in $(seq 100); do head -c 500000 /dev/zero | tr '\\0' x | etcdctl put \
             /fill/history >/dev/null || break; done\n    {exe} alarm recover",
            crate::units::bytes(sandbox.quota())
        );
    }

    outln!(
        "\nThe drills (kill, freeze, thaw, restart a member; switch or fail a Patroni cluster \
         over; fill to NOSPACE): T in the console."
    );
    let mut lab = Lab::new(
        sandbox,
        cluster.clone(),
        client,
        &ns,
        clusters,
        inv_path.clone(),
    );
    let story = match scenario {
        None => None,
        Some(s) => {
            outln!("\nsetting up scenario {}...", s.name());
            let story = lab.scenario(s).await?;
            outln!("{}", text::escape(&story.text()));
            Some(story)
        }
    };

    let mut lab = match cfg {
        None => {
            demo_headless(&mut lab).await?;
            lab
        }
        Some(cfg) => {
            let target = Target {
                endpoints: settings.endpoints.clone(),
                origin: "the demo sandbox".into(),
            };
            let inv_state = InventoryState {
                file: Some(inv_file),
                address_map: lab
                    .sandbox
                    .members()
                    .iter()
                    .map(|m| (m.inventory_ip, m.host.ip))
                    .collect(),
                loaded: Some(inv),
                ..InventoryState::default()
            };
            let sandbox_quota = Quota {
                bytes: lab.sandbox.quota() as i64,
                source: "the sandbox's quota-backend-bytes".into(),
            };
            let mut store = console_store(g, cfg, target, inv_state, sandbox_quota);
            let (drills, drill_rx) = tokio::sync::mpsc::unbounded_channel();
            if let Some(s) = &story {
                store.ui.overlay = Some(Overlay::Training);
                // What the scenario did came before the console: its story opens the timeline.
                let at = store.unix_secs(store.now);
                store.timeline.event_tagged(
                    at,
                    Level::Warn,
                    Tag::Operation,
                    format!("demo: scenario {}: {}", s.scenario.name(), s.happened),
                );
            }
            store.lab = Some(StoreLab { drills, story });
            let mut task = None;
            let store = open_console(store, cluster, |tx| {
                // The lab keeps Patroni's keys alive and does the drills while the console runs;
                // it ends when the console's side of the drills channel goes.
                task = Some(tokio::spawn(async move {
                    lab.serve(Some(drill_rx), |news| {
                        let msg = match news {
                            News::Done(text) => Msg::Drilled(Level::Info, text),
                            News::Failed(text) => Msg::Drilled(Level::Warn, text),
                            News::KeepAlive(e) => {
                                Msg::Flash(Level::Warn, format!("demo: Patroni keep-alive: {e:#}"))
                            }
                        };
                        // The console gone: nobody to tell, Patroni's keys stay alive all the same.
                        let _ = tx.send(msg);
                        true
                    })
                    .await;
                    lab
                }));
            })
            .await;
            let task = task.context("the demo's lab did not start")?;
            // Whatever the console ended with, the members are stopped below.
            let ended = store.map(drop);
            match tokio::time::timeout(Duration::from_secs(15), task).await {
                Ok(Ok(lab)) => {
                    ended?;
                    lab
                }
                _ => anyhow::bail!("the demo's lab did not stop; its members stop with etcdeck"),
            }
        }
    };
    outln!("\nstopping members...");
    lab.sandbox.stop();
    outln!(
        "stopped; data kept in {} (`etcdeck demo --fresh` starts over)",
        dir.display()
    );
    Ok(0)
}

/// The demo without the console: keep Patroni's keys alive until Ctrl-C or SIGTERM.
async fn demo_headless(lab: &mut Lab) -> Result<()> {
    outln!(
        "\nRunning; Patroni keys are kept alive every {} s. Ctrl-C stops the members (data is kept).",
        demo::LOOP_WAIT.as_secs()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let serve = lab.serve(None, |news| {
        match news {
            News::Done(text) => eprintln!("{text}"),
            News::Failed(text) => eprintln!("warning: {text}"),
            News::KeepAlive(e) => eprintln!("warning: Patroni keep-alive: {e:#}"),
        }
        true
    });
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = serve => {}
    }
    Ok(())
}
