//! `etcdeck` with no verb: the console on the configured cluster.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};
use tokio::sync::mpsc;

use super::{extra_vars, flags, print_diagnostics, state_base, Code};
use crate::app::config::{self, Config};
use crate::app::keys::Keys;
use crate::app::msg::Msg;
use crate::app::store::{InventoryState, Quota, Store, Target};
use crate::cli::Global;
use crate::connect;
use crate::console as runtime;
use crate::etcd::Cluster;

/// The config file: `--config FILE` (explicit: it must exist), else the default path.
pub fn config_path(g: &Global) -> (Option<std::path::PathBuf>, bool) {
    match &g.config {
        Some(p) => (Some(p.clone()), true),
        None => (config::default_path(&connect::process_env), false),
    }
}

/// The console's settings: defaults, the config file, then flags and NO_COLOR.
pub fn console_config(g: &Global) -> Result<Config> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (path, explicit) = config_path(g);
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
    match super::inventory_path(g, None) {
        Err(why) => state.missing = Some(format!("No inventory: {why}")),
        Ok(path) => state = InventoryState::read(&path, &extra_vars(g)?),
    }
    Ok(state)
}

/// The console's store at start: read-only and the quota from the flags.
pub fn console_store(
    g: &Global,
    cfg: Config,
    target: Target,
    inv: InventoryState,
    quota: Quota,
) -> Store {
    let mut store = Store::new(cfg, target, inv, Instant::now());
    store.read_only = g.read_only;
    store.named = g.chosen.as_ref().map(|c| c.named.name.clone());
    store.keys = Keys::new(g.namespace());
    store.cluster.quota = match g.quota {
        Some(bytes) => Quota {
            bytes,
            source: "--quota".into(),
        },
        None => quota,
    };
    store
}

/// `etcdeck` with no subcommand: the console on the configured cluster. Switching to another
/// named cluster (the switcher) ends the console and starts it again here on that cluster, on
/// the same terminal, with a fresh store; read-only and the other flags carry over.
pub async fn run(g: &Global) -> Result<Code> {
    if let Some(code) = refuse_background() {
        return Ok(code);
    }
    let mut g = g.clone();
    // The cluster switched from, while the switch may still fail.
    let mut before: Option<Global> = None;
    let mut news: Option<String> = None;
    loop {
        let (store, cluster, mut warnings) = match prepare(&g) {
            Ok(ready) => ready,
            Err(e) => match before.take() {
                // The cluster cannot be reached as configured (no endpoints, a TLS file
                // missing): the console opens again where it was, and says why.
                Some(back) => {
                    news = Some(format!("cannot switch: {e:#}"));
                    g = back;
                    continue;
                }
                None => return Err(e),
            },
        };
        before = None;
        warnings.extend(news.take());
        let store = open_console(store, cluster, |tx| {
            if !warnings.is_empty() {
                let words = crate::text::escape(&warnings.join("; ")).into_owned();
                let _ = tx.send(Msg::Flash(crate::app::msg::Level::Warn, words));
            }
        })
        .await?;
        let Some(name) = store.switch_to else {
            return Ok(0);
        };
        match switched(&g, &name) {
            Ok(next) => before = Some(std::mem::replace(&mut g, next)),
            // Its env file went, the config file changed: as above.
            Err(e) => news = Some(format!("cannot switch: {e:#}")),
        }
    }
}

/// `g` on the named cluster `name` instead: the flags that named the cluster before (-i,
/// --endpoints, the TLS files, --user) are dropped; the others stay.
pub fn switched(g: &Global, name: &str) -> Result<Global> {
    let mut next = g.clone();
    next.cluster = Some(name.to_string());
    next.chosen = None;
    next.inventory = None;
    next.endpoints = None;
    next.cacert = None;
    next.cert = None;
    next.key = None;
    next.user = None;
    super::with_cluster(&next)
}

/// The console's store and client for `g`'s cluster, and the warnings to say first.
fn prepare(g: &Global) -> Result<(Store, Cluster, Vec<String>)> {
    let cfg = console_config(g)?;
    let inv = console_inventory(g)?;
    let flags = flags(g);
    let env_endpoints = super::env_var(g, "ETCDCTL_ENDPOINTS").is_some();
    let named_endpoints = flags.named.as_ref().is_some_and(|n| n.endpoints.is_some());
    if flags.endpoints.is_none() && !named_endpoints && !env_endpoints && inv.loaded.is_none() {
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
    let settings = connect::resolve(&flags, &|n| super::env_var(g, n), inv.loaded.as_ref())?;
    let target = Target {
        endpoints: settings.endpoints.clone(),
        origin: settings.endpoints_origin.to_string(),
    };
    let warnings = connect::warnings(&settings);
    let cluster = Cluster::new(settings)?;
    let store = console_store(g, cfg, target, inv, Quota::default());
    Ok((store, cluster, warnings))
}

/// Take over the terminal, run the console, give the terminal back (also on panic and on
/// SIGTERM/SIGHUP). `setup` gets the message channel before the loop starts, for background
/// work of the caller's (the demo's keep-alive).
pub async fn open_console(
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
    exit_on_panic();
    runtime::spawn_terminal_events(tx.clone());
    let result = runtime::run(&mut terminal, store, cluster, tx, rx, hook, state_base()).await;
    ratatui::restore();
    signals.abort();
    result
}

/// A panic on any thread (a worker's included) ends the whole console: the hook in place
/// (ratatui's, which gives the terminal back and prints the panic) runs, then the process exits
/// with 101, instead of drawing on with a dead worker and ignoring `q`.
pub fn exit_on_panic() {
    // Once: the console starts again on a switch of cluster, the hook stays the same.
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(set_exit_on_panic);
}

fn set_exit_on_panic() {
    let restore_and_print = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_and_print(info);
        eprintln!("etcdeck: the console stopped on an internal error (above); please report it");
        std::process::exit(101);
    }));
}

/// Refuse to open the console in the background of its terminal (there ratatui's set-up fails,
/// or the process is stopped): said in words, exit 1. `None` when the console may open.
pub fn refuse_background() -> Option<Code> {
    if in_foreground() {
        return None;
    }
    eprintln!(
        "etcdeck: the console must run in the foreground of its terminal (it was started in the \
         background, e.g. with `&`): start it without `&`, or bring it back with `fg`; for \
         scripts use `etcdeck status` (or --json)"
    );
    Some(1)
}

/// Whether this process is in the foreground process group of its terminal: in the background
/// a terminal program is stopped (SIGTTOU) or fails when it takes the terminal over.
fn in_foreground() -> bool {
    // SAFETY: plain queries on standard input's descriptor and our own process group.
    unsafe {
        let fg = libc::tcgetpgrp(libc::STDIN_FILENO);
        fg == -1 || fg == libc::getpgrp()
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;
    use std::time::{Duration, Instant};

    /// Run in a child process of this test binary (the hook ends the process it runs in).
    const CHILD: &str = "ETCDECK_TEST_PANIC_CHILD";

    #[test]
    fn a_panic_on_a_worker_thread_ends_the_process_with_its_message() {
        if std::env::var_os(CHILD).is_some() {
            super::exit_on_panic();
            std::thread::spawn(|| panic!("a worker fails"));
            // The main thread would go on drawing: the hook must end the process first.
            std::thread::sleep(Duration::from_secs(30));
            return;
        }
        let started = Instant::now();
        let out = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "commands::console::tests::a_panic_on_a_worker_thread_ends_the_process_with_its_message",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .output()
            .expect("child runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(101), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(
            err.contains("a worker fails"),
            "the panic is printed: {err}"
        );
        assert!(
            err.contains("the console stopped on an internal error"),
            "{err}"
        );
    }
}
