//! `etcdeck`: parse the command line, run the subcommand, map the outcome to an exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;

use etcdeck::cli::{CertCommand, Cli, Command, Global, InventoryCommand};
use etcdeck::connect::{self, Flags, Settings};
use etcdeck::etcd::status::{gather, render_table};
use etcdeck::etcd::Cluster;
use etcdeck::inventory::{self, Diagnostic, Inventory, Severity};
use etcdeck::pki::Ca;
use etcdeck::sandbox::Sandbox;
use etcdeck::{demo, text};

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
        None => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            println!("\nThe console opens here in a coming version; `etcdeck status` shows the cluster now.");
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Status { json }) => status(g, *json).await,
        Some(Command::Inventory(InventoryCommand::Check { file })) => {
            inventory_check(g, file.as_deref())
        }
        Some(Command::Inventory(InventoryCommand::Show { file, json })) => {
            inventory_show(g, file.as_deref(), *json)
        }
        Some(Command::Cert(c)) => cert(c),
        Some(Command::Demo { state_dir, fresh }) => run_demo(g, state_dir.clone(), *fresh).await,
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
        println!(
            "{}: {errors} error(s), {warnings} warning(s)",
            path.display()
        );
        return Ok(ExitCode::from(1));
    }
    println!(
        "{}: ok, {members} etcd member(s), {warnings} warning(s)",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn inventory_show(g: &Global, file: Option<&Path>, json: bool) -> Result<ExitCode> {
    let inv = load_inventory(g, file)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&inv)?);
    } else {
        print!("{}", inventory::show_text(&inv));
    }
    Ok(ExitCode::SUCCESS)
}

/// Connection settings: flags > ETCDCTL_* > inventory (read only when needed).
fn settings(g: &Global) -> Result<Settings> {
    let flags = Flags {
        endpoints: g.endpoints.clone(),
        cacert: g.cacert.clone(),
        cert: g.cert.clone(),
        key: g.key.clone(),
        user: g.user.clone(),
        timeout: g.timeout,
    };
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
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        print!("{}", render_table(&s));
    }
    Ok(if s.all_ok() {
        ExitCode::SUCCESS
    } else if s.leader.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::from(2)
    })
}

fn cert(c: &CertCommand) -> Result<ExitCode> {
    match c {
        CertCommand::Ca { out, cn, force } => {
            let ca = Ca::create(cn)?;
            for p in ca.write(out, *force)? {
                println!("wrote {}", p.display());
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
            println!(
                "wrote {} (CN={name}, SANs IP:{ip}, IP:127.0.0.1, DNS:localhost, DNS:{name})",
                crt.display()
            );
            println!("wrote {} (mode 0600)", key.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn demo_state_dir(flag: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(d) = flag {
        return Ok(d);
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .context("neither XDG_STATE_HOME nor HOME is set: pass --state-dir")?;
    Ok(base.join("etcdeck").join("demo"))
}

async fn run_demo(g: &Global, state_dir: Option<PathBuf>, fresh: bool) -> Result<ExitCode> {
    let inv = match &g.inventory {
        Some(_) => load_inventory(g, None)?,
        None => inventory::parse(inventory::EXAMPLE, "inventory.example.yml", &extra_vars(g)?)
            .map_err(|d| {
                print_diagnostics(&d);
                anyhow::anyhow!("the embedded inventory.example.yml does not parse")
            })?,
    };
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
        println!(
            "starting {} on {} (inventory host {}), log {}",
            text::escape(&m.name()),
            m.client_url(),
            m.inventory_ip,
            m.log().display()
        );
    }
    sandbox.start()?;
    let status = sandbox.wait_healthy(Duration::from_secs(15)).await?;
    println!(
        "cluster healthy in {:.1} s\n",
        started.elapsed().as_secs_f64()
    );
    print!("{}", render_table(&status));

    let settings = sandbox.settings(g.timeout.unwrap_or(connect::DEFAULT_TIMEOUT));
    let cluster = Cluster::new(settings.clone())?;
    let mut client = cluster.balanced_voters().await?;
    let mut clusters = demo::demo_clusters();
    let n = demo::seed(&mut client, "/pg", &mut clusters, settings.timeout).await?;
    println!(
        "\nseeded {n} Patroni keys under /pg for {} PostgreSQL clusters",
        clusters.len()
    );

    let env = sandbox.etcdctl_env();
    let env_file = dir.join("etcdctl.sh");
    std::fs::write(&env_file, env.shell())
        .with_context(|| format!("writing {}", env_file.display()))?;
    println!("\nFrom another shell, use the sandbox with etcdctl or etcdeck:\n");
    print!("{}", env.shell());
    let exe =
        std::env::current_exe().map_or_else(|_| "etcdeck".to_string(), |p| p.display().to_string());
    println!("\n(or: source {})\n    {exe} status", env_file.display());
    println!("\nRunning; Patroni keys are kept alive every {} s. Ctrl-C stops the members (data is kept).", demo::LOOP_WAIT.as_secs());

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut every = tokio::time::interval(demo::LOOP_WAIT);
    every.tick().await;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = every.tick() => {
                if let Err(e) = demo::tick(&mut client, "/pg", &mut clusters, settings.timeout).await {
                    eprintln!("warning: Patroni keep-alive: {e:#}");
                }
            }
        }
    }
    println!("\nstopping members...");
    sandbox.stop();
    println!(
        "stopped; data kept in {} (`etcdeck demo --fresh` starts over)",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
