//! `etcdeck`: parse the command line, run the subcommand, map the outcome to an exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use tokio::sync::mpsc;

use etcdeck::app::config::{self, Config};
use etcdeck::app::keys::Keys;
use etcdeck::app::msg::{Kv, Msg};
use etcdeck::app::runtime;
use etcdeck::app::store::{InventoryState, Quota, Store, Target};
use etcdeck::cli::{CertCommand, Cli, Command, Global, InventoryCommand};
use etcdeck::connect::{self, Flags, Settings};
use etcdeck::etcd::status::{gather, render_table};
use etcdeck::etcd::watch::read_all;
use etcdeck::etcd::Cluster;
use etcdeck::inventory::{self, Diagnostic, Inventory, Severity};
use etcdeck::pki::Ca;
use etcdeck::sandbox::Sandbox;
use etcdeck::{demo, text};

/// `println!` that ends the program quietly when the reader of our output has gone away
/// (`etcdeck keys | head`), as command-line tools do, instead of panicking on a broken pipe.
/// (SIGPIPE itself stays ignored: a peer closing a TLS connection must not kill the process.)
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

/// `print!` with the same rule as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("etcdeck: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let g = &cli.global;
    match &cli.command {
        None => console(g).await,
        Some(Command::Status { json }) => status(g, *json).await,
        Some(Command::Inventory(InventoryCommand::Check { file })) => {
            inventory_check(g, file.as_deref())
        }
        Some(Command::Inventory(InventoryCommand::Show { file, json })) => {
            inventory_show(g, file.as_deref(), *json)
        }
        Some(Command::Cert(c)) => cert(c),
        Some(Command::Keys { prefix, json }) => keys(g, prefix.as_deref(), *json).await,
        Some(Command::Patroni { json }) => patroni(g, *json).await,
        Some(Command::Timeline { since }) => timeline(g, *since).await,
        Some(Command::Health { json }) => health(g, *json).await,
        Some(Command::Demo {
            state_dir,
            fresh,
            headless,
            auth,
        }) => run_demo(g, state_dir.clone(), *fresh, *headless, *auth).await,
    }
}

fn extra_vars(g: &Global) -> Result<Vec<(String, String)>> {
    g.extra_vars
        .iter()
        .map(|s| inventory::parse_extra_var(s).map_err(|e| anyhow::anyhow!("-e {s}: {e}")))
        .collect()
}

/// Print diagnostics; the count of errors among them.
fn print_diagnostics(diags: &[Diagnostic]) -> usize {
    for d in diags {
        eprintln!("{d}");
    }
    diags
        .iter()
        .filter(|d| matches!(d.severity, Severity::Error))
        .count()
}

/// Load the inventory named by `file`, -i, or the default search; diagnostics printed.
fn load_inventory(g: &Global, file: Option<&Path>) -> Result<Inventory> {
    let path =
        inventory::resolve_path(file.or(g.inventory.as_deref())).map_err(anyhow::Error::msg)?;
    match inventory::load(&path, &extra_vars(g)?) {
        Ok(inv) => {
            print_diagnostics(&inv.diagnostics);
            Ok(inv)
        }
        Err(diags) => {
            let errors = print_diagnostics(&diags);
            bail!(
                "{}: {errors} error(s); fix them and run `etcdeck inventory check` again",
                path.display()
            )
        }
    }
}

fn inventory_check(g: &Global, file: Option<&Path>) -> Result<ExitCode> {
    let path =
        inventory::resolve_path(file.or(g.inventory.as_deref())).map_err(anyhow::Error::msg)?;
    let (diags, members) = match inventory::load(&path, &extra_vars(g)?) {
        Ok(inv) => (inv.diagnostics.clone(), inv.hosts.len()),
        Err(diags) => (diags, 0),
    };
    let errors = print_diagnostics(&diags);
    let warnings = diags.len() - errors;
    if errors > 0 {
        outln!(
            "{}: {errors} error(s), {warnings} warning(s)",
            path.display()
        );
        return Ok(ExitCode::from(1));
    }
    outln!(
        "{}: ok, {members} etcd member(s), {warnings} warning(s)",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn inventory_show(g: &Global, file: Option<&Path>, json: bool) -> Result<ExitCode> {
    let inv = load_inventory(g, file)?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&inv)?);
    } else {
        out!("{}", inventory::show_text(&inv));
    }
    Ok(ExitCode::SUCCESS)
}

fn flags(g: &Global) -> Flags {
    Flags {
        endpoints: g.endpoints.clone(),
        cacert: g.cacert.clone(),
        cert: g.cert.clone(),
        key: g.key.clone(),
        user: g.user.clone(),
        timeout: g.timeout,
    }
}

/// Connection settings: flags > ETCDCTL_* > inventory (read only when needed).
fn settings(g: &Global) -> Result<Settings> {
    let flags = flags(g);
    let need_inventory =
        flags.endpoints.is_none() && connect::process_env("ETCDCTL_ENDPOINTS").is_none();
    let inv = if need_inventory {
        match inventory::resolve_path(g.inventory.as_deref()) {
            Ok(_) => Some(load_inventory(g, None)?),
            Err(why) => bail!("{}\n({why})", connect::SettingsError::NoEndpoints),
        }
    } else {
        None
    };
    Ok(connect::resolve(
        &flags,
        &connect::process_env,
        inv.as_ref(),
    )?)
}

async fn status(g: &Global, json: bool) -> Result<ExitCode> {
    let cluster = Cluster::new(settings(g)?)?;
    let s = gather(&cluster).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        out!("{}", render_table(&s));
    }
    Ok(if s.all_ok() {
        ExitCode::SUCCESS
    } else if s.leader.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::from(2)
    })
}

/// `etcdeck keys [PREFIX] [--json]`.
async fn keys(g: &Global, prefix: Option<&str>, json: bool) -> Result<ExitCode> {
    let cluster = Cluster::new(settings(g)?)?;
    let prefix = prefix.unwrap_or(&g.namespace);
    let (kvs, revision, _) = read_all(&cluster, prefix.as_bytes()).await?;
    if json {
        let list: Vec<serde_json::Value> = kvs.iter().map(kv_json).collect();
        let doc = serde_json::json!({ "prefix": prefix, "revision": revision, "count": list.len(), "kvs": list });
        outln!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{} keys under {} at revision {revision}",
        kvs.len(),
        text::escape(prefix)
    );
    for kv in &kvs {
        let lease = if kv.lease != 0 {
            format!("  lease {:x}", kv.lease)
        } else {
            String::new()
        };
        let value = text::escape_bytes(&kv.value);
        let shown: String = value.chars().take(100).collect();
        let more = if value.chars().count() > 100 {
            "…"
        } else {
            ""
        };
        outln!(
            "{}  (rev {}{lease})\n    {shown}{more}",
            text::escape_bytes(&kv.key),
            kv.mod_revision
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A key as JSON: text where it is UTF-8, base64 where it is not.
fn kv_json(kv: &Kv) -> serde_json::Value {
    let mut o = serde_json::Map::new();
    for (name, bytes) in [("key", &kv.key), ("value", &kv.value)] {
        match std::str::from_utf8(bytes) {
            Ok(t) => o.insert(name.into(), t.into()),
            Err(_) => o.insert(format!("{name}_base64"), text::base64(bytes).into()),
        };
    }
    o.insert("create_revision".into(), kv.create_revision.into());
    o.insert("mod_revision".into(), kv.mod_revision.into());
    o.insert("version".into(), kv.version.into());
    o.insert("lease".into(), kv.lease.into());
    serde_json::Value::Object(o)
}

/// `etcdeck patroni [--json]`.
async fn patroni(g: &Global, json: bool) -> Result<ExitCode> {
    let cluster = Cluster::new(settings(g)?)?;
    let (kvs, _, url) = read_all(&cluster, g.namespace.as_bytes()).await?;
    let entries = || {
        kvs.iter().map(|kv| etcdeck::patroni::Entry {
            key: &kv.key,
            value: &kv.value,
            lease: kv.lease,
            create_revision: kv.create_revision,
            mod_revision: kv.mod_revision,
            version: kv.version,
        })
    };
    // Ask for the time left on every leader lease (one call per cluster).
    let first = etcdeck::patroni::summarize(&g.namespace, entries(), &|_| None);
    let mut ttls = std::collections::HashMap::new();
    for c in &first {
        if c.leader_lease != 0 && !ttls.contains_key(&c.leader_lease) {
            let lease = c.leader_lease;
            if let Ok((r, _)) = cluster
                .call(&url, |mut cl| async move {
                    cl.lease_time_to_live(lease, None).await
                })
                .await
            {
                ttls.insert(lease, r.ttl());
            }
        }
    }
    let all = etcdeck::patroni::summarize(&g.namespace, entries(), &|l| ttls.get(&l).copied());
    if json {
        outln!("{}", serde_json::to_string_pretty(&all)?);
    } else if all.is_empty() {
        outln!(
            "no Patroni cluster under {} (is the namespace another one? --namespace)",
            text::escape(&g.namespace)
        );
    } else {
        for c in &all {
            outln!(
                "{}: leader {}{}",
                text::escape(&c.label()),
                c.leader
                    .as_deref()
                    .map_or("NONE".into(), |l| text::escape(l).into_owned()),
                c.leader_ttl_s
                    .map_or(String::new(), |t| format!(" (lease {t}s left)"))
            );
            for m in &c.members {
                let lag = if c.leader.as_deref() == Some(m.name.as_str()) {
                    "-".to_string()
                } else {
                    m.lag_bytes.map_or("?".into(), etcdeck::patroni::human_lag)
                };
                outln!(
                    "  {:<16} {:<14} {:<10} tl {:<3} lag {lag}",
                    text::escape(&m.name),
                    text::escape(m.role.as_deref().unwrap_or("?")),
                    text::escape(m.state.as_deref().unwrap_or("?")),
                    m.timeline.map_or("?".into(), |t| t.to_string()),
                );
            }
            if !c.sync_standby.is_empty() {
                outln!(
                    "  sync standby: {}",
                    text::escape(&c.sync_standby.join(", "))
                );
            }
            for w in &c.warnings {
                outln!("  warning: {w}");
            }
        }
    }
    Ok(if all.iter().any(|c| c.leader.is_none()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `etcdeck health [--json]`.
async fn health(g: &Global, json: bool) -> Result<ExitCode> {
    let settings = settings(g)?;
    let scraper = etcdeck::etcd::metrics::Scraper::new(&settings)?;
    let cluster = Cluster::new(settings)?;
    let report = match etcdeck::health::check(&cluster, &scraper).await {
        Ok(r) => r,
        Err(e) => {
            // No endpoint answers the member list: unavailable, said the same way.
            if json {
                let doc = serde_json::json!({
                    "verdict": "unavailable", "healthy": false, "has_leader": false,
                    "error": e.to_string(),
                });
                outln!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                outln!("UNAVAILABLE: {e}");
            }
            return Ok(ExitCode::from(2));
        }
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", etcdeck::health::render(&report));
    }
    Ok(ExitCode::from(report.verdict.exit_code()))
}

/// `etcdeck timeline [--since 10m]`: the history the console keeps for this cluster.
async fn timeline(g: &Global, since: Duration) -> Result<ExitCode> {
    let cluster = Cluster::new(settings(g)?)?;
    let (list, _) = cluster.member_list().await?;
    let id = list.header().map_or(0, |h| h.cluster_id());
    let dir = state_base().context("neither XDG_STATE_HOME nor HOME is set")?;
    let path = etcdeck::app::timeline::history_path(&dir, id);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let t = match etcdeck::app::timeline::load(&path, now) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            outln!(
                "no history for cluster {id:x} yet ({}): the console records it while it runs",
                path.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => bail!("{}: {e}", path.display()),
    };
    let span = since
        .as_secs()
        .clamp(60, etcdeck::app::timeline::RETENTION.as_secs());
    let columns = 60usize;
    let zoom = span.div_ceil(columns as u64).max(1);
    outln!(
        "cluster {id:x}, the last {}, history in {}",
        human(Duration::from_secs(span)),
        path.display()
    );
    out!(
        "{}",
        etcdeck::app::timeline::text(&t, now, zoom, columns, span)
    );
    Ok(ExitCode::SUCCESS)
}

fn human(d: Duration) -> String {
    etcdeck::app::update::human_duration(d)
}

fn cert(c: &CertCommand) -> Result<ExitCode> {
    match c {
        CertCommand::Ca { out, cn, force } => {
            let ca = Ca::create(cn)?;
            for p in ca.write(out, *force)? {
                outln!("wrote {}", p.display());
            }
        }
        CertCommand::Issue {
            ca_cert,
            ca_key,
            name,
            ip,
            out,
            force,
        } => {
            let ca = Ca::load(ca_cert, ca_key)?;
            let issued = ca.issue_member(name, *ip)?;
            let (crt, key) = issued.write(out, *force)?;
            outln!(
                "wrote {} (CN={name}, SANs IP:{ip}, IP:127.0.0.1, DNS:localhost, DNS:{name})",
                crt.display()
            );
            outln!("wrote {} (mode 0600)", key.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `$XDG_STATE_HOME/etcdeck` (or `~/.local/state/etcdeck`): the demo sandbox and the history.
fn state_base() -> Option<PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .map(|b| b.join("etcdeck"))
}

fn demo_state_dir(flag: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(d) = flag {
        return Ok(d);
    }
    let base = state_base().context("neither XDG_STATE_HOME nor HOME is set: pass --state-dir")?;
    Ok(base.join("demo"))
}

async fn run_demo(
    g: &Global,
    state_dir: Option<PathBuf>,
    fresh: bool,
    headless: bool,
    auth: bool,
) -> Result<ExitCode> {
    use std::io::IsTerminal;
    let headless = headless || !std::io::stdout().is_terminal();
    // Settings errors surface before any member starts.
    let cfg = if headless {
        None
    } else {
        Some(console_config(g)?)
    };
    let (mut inv, inv_file) = match &g.inventory {
        Some(p) => (load_inventory(g, None)?, p.display().to_string()),
        None => (
            inventory::parse(inventory::EXAMPLE, "inventory.example.yml", &extra_vars(g)?)
                .map_err(|d| {
                    print_diagnostics(&d);
                    anyhow::anyhow!("the embedded inventory.example.yml does not parse")
                })?,
            "inventory.example.yml (embedded)".to_string(),
        ),
    };
    if auth {
        demo::with_auth(&mut inv);
    }
    let dir = demo_state_dir(state_dir)?;
    if fresh {
        for h in &inv.hosts {
            let data = dir.join(h.name()).join("data");
            if data.exists() {
                std::fs::remove_dir_all(&data)
                    .with_context(|| format!("removing {}", data.display()))?;
            }
        }
    }
    let started = Instant::now();
    let mut sandbox = Sandbox::prepare(&inv, &dir)?;
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
    let n = demo::seed(&mut client, "/pg", &mut clusters, settings.timeout).await?;
    outln!(
        "\nseeded {n} Patroni keys under /pg for {} PostgreSQL clusters",
        clusters.len()
    );

    let env = sandbox.etcdctl_env();
    let env_file = dir.join("etcdctl.sh");
    std::fs::write(&env_file, env.shell())
        .with_context(|| format!("writing {}", env_file.display()))?;
    outln!("\nFrom another shell, use the sandbox with etcdctl or etcdeck:\n");
    out!("{}", env.shell());
    let exe =
        std::env::current_exe().map_or_else(|_| "etcdeck".to_string(), |p| p.display().to_string());
    outln!("\n(or: source {})\n    {exe} status", env_file.display());

    match cfg {
        None => demo_headless(&mut client, &mut clusters, settings.timeout).await?,
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
                bytes: etcdeck::render::PIGSTY_QUOTA_BYTES as i64,
                source: "the sandbox's quota-backend-bytes".into(),
            };
            let store = console_store(g, cfg, target, inv_state, sandbox_quota);
            let timeout = settings.timeout;
            let mut keep_alive = None;
            open_console(store, cluster, |tx| {
                // Patroni's keys stay alive while the console runs; trouble shows as a flash.
                keep_alive = Some(tokio::spawn(async move {
                    demo::keep_patroni_alive(&mut client, "/pg", &mut clusters, timeout, |e| {
                        let text = format!("demo: Patroni keep-alive: {e:#}");
                        tx.send(Msg::Flash(etcdeck::app::msg::Level::Warn, text))
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
    Ok(ExitCode::SUCCESS)
}

/// The demo without the console: keep Patroni's keys alive until Ctrl-C or SIGTERM.
async fn demo_headless(
    client: &mut etcd_client::Client,
    clusters: &mut [demo::PgCluster],
    timeout: Duration,
) -> Result<()> {
    outln!(
        "\nRunning; Patroni keys are kept alive every {} s. Ctrl-C stops the members (data is kept).",
        demo::LOOP_WAIT.as_secs()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let keep = demo::keep_patroni_alive(client, "/pg", clusters, timeout, |e| {
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

/// The console's settings: defaults, the config file, then flags and NO_COLOR.
fn console_config(g: &Global) -> Result<Config> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (path, explicit) = match &g.config {
        Some(p) => (Some(p.clone()), true),
        None => (config::default_path(&connect::process_env), false),
    };
    let mut cfg = Config::load(path.as_deref(), explicit, no_color).map_err(anyhow::Error::msg)?;
    if let Some(r) = g.refresh {
        cfg.refresh = r;
    }
    if g.read_only {
        cfg.keymap = cfg.keymap.read_only();
    }
    Ok(cfg)
}

/// The inventory for the inventory pane: loaded, refused with its errors, or missing and why.
fn console_inventory(g: &Global) -> Result<InventoryState> {
    let mut state = InventoryState::default();
    match inventory::resolve_path(g.inventory.as_deref()) {
        Err(why) => state.missing = Some(format!("No inventory: {why}")),
        Ok(path) => {
            state.file = Some(path.display().to_string());
            match inventory::load(&path, &extra_vars(g)?) {
                Ok(inv) => state.loaded = Some(inv),
                Err(diags) => state.errors = diags,
            }
        }
    }
    Ok(state)
}

/// The console's store at start: read-only and the quota from the flags.
fn console_store(
    g: &Global,
    cfg: Config,
    target: Target,
    inv: InventoryState,
    quota: Quota,
) -> Store {
    let mut store = Store::new(cfg, target, inv, Instant::now());
    store.read_only = g.read_only;
    store.keys = Keys::new(&g.namespace);
    store.cluster.quota = match g.quota {
        Some(bytes) => Quota {
            bytes,
            source: "--quota".into(),
        },
        None => quota,
    };
    store
}

/// `etcdeck` with no subcommand: the console on the configured cluster.
async fn console(g: &Global) -> Result<ExitCode> {
    let cfg = console_config(g)?;
    let inv = console_inventory(g)?;
    let flags = flags(g);
    let env_endpoints = connect::process_env("ETCDCTL_ENDPOINTS").is_some();
    if flags.endpoints.is_none() && !env_endpoints && inv.loaded.is_none() {
        if !inv.errors.is_empty() {
            print_diagnostics(&inv.errors);
            bail!(
                "{}: fix the inventory (`etcdeck inventory check`) or pass --endpoints",
                inv.file.as_deref().unwrap_or("inventory")
            );
        }
        bail!(
            "{}\n({})",
            connect::SettingsError::NoEndpoints,
            inv.missing.as_deref().unwrap_or("no inventory")
        );
    }
    let settings = connect::resolve(&flags, &connect::process_env, inv.loaded.as_ref())?;
    let target = Target {
        endpoints: settings.endpoints.clone(),
        origin: settings.endpoints_origin.to_string(),
    };
    let cluster = Cluster::new(settings)?;
    let store = console_store(g, cfg, target, inv, Quota::default());
    open_console(store, cluster, |_| {}).await?;
    Ok(ExitCode::SUCCESS)
}

/// Take over the terminal, run the console, give the terminal back (also on panic and on
/// SIGTERM/SIGHUP). `setup` gets the message channel before the loop starts, for background
/// work of the caller's (the demo's keep-alive).
async fn open_console(
    store: Store,
    cluster: Cluster,
    setup: impl FnOnce(mpsc::UnboundedSender<Msg>),
) -> Result<Store> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        bail!("the console needs a terminal; for scripts use `etcdeck status` (or --json)");
    }
    let hook = match std::env::var_os("ETCDECK_FRAME_LOG") {
        Some(p) => Some(runtime::frame_log_hook(Path::new(&p))?),
        None => None,
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let signals = {
        let tx = tx.clone();
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
            let _ = tx.send(Msg::Quit);
        })
    };
    setup(tx.clone());
    let mut terminal = ratatui::init();
    runtime::spawn_terminal_events(tx.clone());
    let result = runtime::run(&mut terminal, store, cluster, tx, rx, hook, state_base()).await;
    ratatui::restore();
    signals.abort();
    result
}
