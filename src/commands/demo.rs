//! `etcdeck demo`: a real local sandbox from the inventory, with Patroni-shaped keys, and the
//! console on it (or headless).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::console::{console_config, console_store, open_console};
use super::{load_inventory, state_base, Code};
use crate::app::msg::Msg;
use crate::app::store::{InventoryState, Quota, Target};
use crate::cli::Global;
use crate::connect;
use crate::etcd::status::render_table;
use crate::etcd::Cluster;
use crate::inventory;
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
}

pub async fn run(g: &Global, o: Options) -> Result<Code> {
    let Options {
        state_dir,
        fresh,
        headless,
        auth,
        quota_backend,
    } = o;
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

    match cfg {
        None => demo_headless(&mut client, &ns, &mut clusters, settings.timeout).await?,
        Some(cfg) => {
            let target = Target {
                endpoints: settings.endpoints.clone(),
                origin: "the demo sandbox".into(),
            };
            let inv_state = InventoryState {
                file: Some(inv_file),
                address_map: sandbox
                    .members()
                    .iter()
                    .map(|m| (m.inventory_ip, m.host.ip))
                    .collect(),
                loaded: Some(inv),
                ..InventoryState::default()
            };
            let sandbox_quota = Quota {
                bytes: sandbox.quota() as i64,
                source: "the sandbox's quota-backend-bytes".into(),
            };
            let store = console_store(g, cfg, target, inv_state, sandbox_quota);
            let timeout = settings.timeout;
            let mut keep_alive = None;
            open_console(store, cluster, |tx| {
                // Patroni's keys stay alive while the console runs; trouble shows as a flash.
                keep_alive = Some(tokio::spawn(async move {
                    demo::keep_patroni_alive(&mut client, &ns, &mut clusters, timeout, |e| {
                        let text = format!("demo: Patroni keep-alive: {e:#}");
                        tx.send(Msg::Flash(crate::app::msg::Level::Warn, text))
                            .is_ok()
                    })
                    .await
                }));
            })
            .await?;
            if let Some(task) = keep_alive {
                task.abort();
            }
        }
    }
    outln!("\nstopping members...");
    sandbox.stop();
    outln!(
        "stopped; data kept in {} (`etcdeck demo --fresh` starts over)",
        dir.display()
    );
    Ok(0)
}

/// The demo without the console: keep Patroni's keys alive until Ctrl-C or SIGTERM.
async fn demo_headless(
    client: &mut etcd_client::Client,
    namespace: &str,
    clusters: &mut [demo::PgCluster],
    timeout: Duration,
) -> Result<()> {
    outln!(
        "\nRunning; Patroni keys are kept alive every {} s. Ctrl-C stops the members (data is kept).",
        demo::LOOP_WAIT.as_secs()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let keep = demo::keep_patroni_alive(client, namespace, clusters, timeout, |e| {
        eprintln!("warning: Patroni keep-alive: {e:#}");
        true
    });
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = keep => {}
    }
    Ok(())
}
