//! `update(&mut Store, Msg) -> Vec<Cmd>`: the only place the store changes.

use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::keymap::Action;
use super::keys::Feed;
use super::msg::{
    Cmd, Failure, KvEvent, Level, MemberList, Msg, ProbeTarget, Probed, WizardNews, WizardStart,
};
use super::store::{
    natural_order, Flash, Member, Overlay, PaneId, Prompt, PromptFor, Reach, Store, FLASH_FOR,
    RECORD_REVISION_EVERY,
};
use super::timeline::Tag;
use super::wizard::{Earlier, Kind, Stage, WizardView};
use crate::units;
use crate::wizard::drive::Report;
use crate::wizard::Phase;

/// Apply one message; return the effects it asks for.
pub fn update(store: &mut Store, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Key(ev) => {
            store.dirty = true;
            key(store, ev)
        }
        Msg::Operations(entries) => {
            operations(store, entries);
            Vec::new()
        }
        Msg::Resize(w, h) => {
            store.ui.size = (w, h);
            store.dirty = true;
            Vec::new()
        }
        Msg::Tick(at) => {
            store.now = store.now.max(at);
            if store
                .ui
                .flash
                .as_ref()
                .is_some_and(|f| f.until <= store.now)
            {
                store.ui.flash = None;
            }
            store.keys.expire_highlights(store.now);
            // Relative times ("unreachable 12s", lease time left) move on.
            store.dirty = true;
            let sec = store.unix_secs(store.now);
            let (cluster, members) = store.cells_now();
            let mut cmds = Vec::new();
            if cluster != super::timeline::Cell::Unknown {
                store.timeline.record(sec, cluster, &members);
                let pg = store.pg_cells_now();
                store.timeline.record_pg(sec, &pg);
                cmds.push(Cmd::Persist(sec));
            }
            cmds.extend(record_revision(store, sec));
            cmds.extend(ask_lease(store, false));
            cmds
        }
        Msg::MemberList { at, result } => {
            store.now = store.now.max(at);
            match result {
                Ok(list) => member_list(store, at, list),
                Err(f) => {
                    store.cluster.list_error = Some((at, f));
                    store.dirty = true;
                    Vec::new()
                }
            }
        }
        Msg::Probe {
            at,
            id,
            url,
            result,
        } => {
            store.now = store.now.max(at);
            probe(store, at, id, &url, result)
        }
        Msg::Stalled {
            at,
            id,
            url,
            waited,
        } => {
            store.now = store.now.max(at);
            let mut note = None;
            if let Some(m) = store.cluster.members.iter_mut().find(|m| m.id == id) {
                if m.client_urls.first() == Some(&url)
                    && matches!(m.reach, Reach::Up | Reach::Unknown)
                {
                    // As for a refused probe: said once, at start too.
                    note = Some(format!(
                        "{} not answering: no reply for {}",
                        crate::text::escape(&m.label()),
                        units::duration(waited)
                    ));
                    m.reach = Reach::Stalled {
                        since: at.checked_sub(waited).unwrap_or(at),
                    };
                    store.dirty = true;
                }
            }
            if let Some(text) = note {
                happened(store, Level::Warn, text);
            }
            refresh_leader(store);
            Vec::new()
        }
        Msg::Flash(level, text) => {
            flash(store, level, text);
            Vec::new()
        }
        Msg::Drilled(level, text) => {
            happened_tagged(store, level, Tag::Operation, text);
            Vec::new()
        }
        Msg::Inventory(state) => {
            store.inventory = *state;
            clamp_cursors(store);
            store.dirty = true;
            Vec::new()
        }
        Msg::Revisions {
            cluster_id,
            samples,
        } => {
            if store.cluster.id == Some(cluster_id) {
                let r = &mut store.revisions.samples;
                r.extend(samples);
                r.sort();
                r.dedup();
            }
            Vec::new()
        }
        Msg::Wizard { at, token, news } => {
            store.now = store.now.max(at);
            if let WizardNews::Opened { id, .. } = &news {
                store.ops_here.insert(id.clone());
            }
            wizard_news(store, token, news)
        }
        Msg::Identity { at, result } => {
            store.now = store.now.max(at);
            let c = &mut store.cluster;
            let mixed = match result {
                Err(f) if f.kind() == crate::etcd::error::ErrorKind::MixedClusters => {
                    Some(f.text())
                }
                Ok(id) => match c.id {
                    Some(listed) if listed != id => Some(format!(
                        "the endpoints answer for cluster {id:x}, the member list came from \
                         cluster {listed:x}"
                    )),
                    _ => None,
                },
                Err(_) => None,
            };
            if let Some(why) = mixed {
                mark_mixed(store, why);
            }
            Vec::new()
        }
        Msg::Changed { at, change, result } => {
            store.now = store.now.max(at);
            match result {
                Ok(done) => flash(store, Level::Info, done),
                Err(f) => flash(
                    store,
                    Level::Error,
                    format!("could not {}: {}", change.describe(), f.text()),
                ),
            }
            // Whatever happened, the cluster is read again at once.
            vec![Cmd::RefreshNow, Cmd::ListNow]
        }
        Msg::Quit => {
            store.quit = true;
            vec![Cmd::Quit]
        }
        Msg::Metrics { at, id, result } => {
            store.now = store.now.max(at);
            metrics(store, at, id, result);
            Vec::new()
        }
        Msg::History(past) => {
            let skipped = past.skipped_lines;
            let now = std::mem::take(&mut store.timeline);
            store.timeline = now.merge_onto(*past);
            if skipped > 0 {
                flash(
                    store,
                    Level::Warn,
                    format!("history: {skipped} damaged line(s) of the state file skipped"),
                );
            }
            store.dirty = true;
            Vec::new()
        }
        Msg::KeysPage {
            at,
            revision,
            kvs,
            first,
            complete,
            reason,
        } => {
            store.now = store.now.max(at);
            let first_load = store.keys.loaded.is_none();
            store
                .keys
                .snapshot_page(at, revision, kvs, first, complete, &reason);
            store.dirty = true;
            if complete {
                let unix = store.unix_secs(at);
                let all = store.keys.all_summaries();
                let events = store.patroni.load(unix, &all, first_load);
                patroni_happened(store, events);
                store.keys.value_scroll = 0;
                if let Some((_, took)) = store.keys.loaded {
                    if reason != "start" {
                        let text = format!(
                            "keys read again ({reason}): {} keys in {}",
                            store.keys.map.len(),
                            units::duration(took)
                        );
                        flash(store, Level::Warn, text);
                    }
                }
            }
            Vec::new()
        }
        Msg::KeyEvents { at, events } => {
            store.now = store.now.max(at);
            key_events(store, at, events);
            store.dirty = true;
            Vec::new()
        }
        Msg::WatchProgress { at, revision } => {
            store.now = store.now.max(at);
            store.keys.progress(revision);
            Vec::new()
        }
        Msg::WatchState { at, state } => {
            store.now = store.now.max(at);
            store.dirty = true;
            match state {
                Ok(url) => {
                    let resumed =
                        store.keys.ever_live && matches!(store.keys.feed, Feed::Retrying { .. });
                    store.keys.feed = Feed::Live { url: url.clone() };
                    store.keys.ever_live = true;
                    if resumed {
                        let text = format!("key watch resumed on {}", crate::text::escape(&url));
                        flash(store, Level::Info, text);
                    }
                }
                Err(f) => {
                    store.keys.feed = Feed::Retrying { why: f.text() };
                    store.keys.last_loss = Some((at, f.text()));
                    if store.keys.ever_live {
                        let text = format!("key watch lost: {}; trying the next member", f.short());
                        flash(store, Level::Warn, text);
                    }
                }
            }
            Vec::new()
        }
        Msg::LeaseTtl { at, lease, result } => {
            store.now = store.now.max(at);
            store.dirty = true;
            match result {
                Ok((ttl, granted)) => {
                    store.keys.leases.insert(lease, (ttl, granted, at));
                }
                Err(_) => {
                    store.keys.leases.remove(&lease);
                }
            }
            Vec::new()
        }
    }
}

/// Something happened to the cluster: on the flash line and in the timeline's events.
pub fn happened(store: &mut Store, level: Level, text: impl Into<String>) {
    happened_tagged(store, level, Tag::Etcd, text)
}

/// [`happened`], with where it comes from.
pub fn happened_tagged(store: &mut Store, level: Level, tag: Tag, text: impl Into<String>) {
    let text = text.into();
    let at = store.unix_secs(store.now);
    store.timeline.event_tagged(at, level, tag, text.clone());
    flash(store, level, text);
}

/// Watch events, one revision at a time (a transaction's changes share one): after each, the
/// Patroni clusters it touched are summarized again and what changed is told.
fn key_events(store: &mut Store, at: Instant, events: Vec<KvEvent>) {
    let unix = store.unix_secs(at);
    let mut events = events.into_iter().peekable();
    while let Some(ev) = events.next() {
        let rev = ev.kv().mod_revision;
        let mut run = vec![ev];
        while let Some(next) = events.next_if(|e| e.kv().mod_revision == rev) {
            run.push(next);
        }
        let mut scopes: Vec<Vec<u8>> = Vec::new();
        for e in &run {
            if let Some(scope) = store.keys.scope_of(&e.kv().key) {
                if !scopes.iter().any(|s| s.as_slice() == scope) {
                    scopes.push(scope.to_vec());
                }
            }
        }
        let applied = store.keys.applied;
        store.keys.apply(at, run);
        if store.keys.applied == applied || store.keys.loaded.is_none() {
            continue; // already seen, or before the first load: nothing to compare with
        }
        for scope in scopes {
            let all = store.keys.summaries_under(&scope, &|_| None);
            let name = String::from_utf8_lossy(
                scope[store.keys.prefix.len()..]
                    .strip_suffix(b"/")
                    .unwrap_or_default(),
            )
            .into_owned();
            let told = store.patroni.scope(unix, &name, &all);
            patroni_happened(store, told);
        }
    }
}

/// The most audit log lines kept while the cluster is not yet named.
const OPS_WAITING_MAX: usize = 20_000;

/// The audit log's new lines: each end of a step of this cluster's operations run elsewhere,
/// in time order among the others (the first read brings the last day). Not flashed: another
/// engineer's work is news for the timeline, not an alarm.
fn operations(store: &mut Store, entries: Vec<crate::wizard::audit::Entry>) {
    use crate::wizard::audit;
    let since = store
        .unix_secs(store.now)
        .saturating_sub(super::timeline::RETENTION.as_secs());
    let Some(id) = store.cluster.id.map(|id| format!("{id:x}")) else {
        // Read before the member list named the cluster: kept for then.
        let w = &mut store.ops_waiting;
        w.extend(
            entries
                .into_iter()
                .filter(|e| e.phase == "end" && e.unix >= since),
        );
        let over = w.len().saturating_sub(OPS_WAITING_MAX);
        w.drain(..over);
        return;
    };
    let mut entries = entries;
    if !store.ops_waiting.is_empty() {
        let mut waiting = std::mem::take(&mut store.ops_waiting);
        waiting.append(&mut entries);
        entries = waiting;
    }
    let mut added = false;
    for e in entries {
        if e.cluster_id != id
            || e.phase != "end"
            || e.unix < since
            || store.ops_here.contains(&e.operation)
        {
            continue;
        }
        let text = audit::event_text(&e);
        let ops = &mut store.operations;
        if ops.iter().any(|o| o.at == e.unix && o.text == text) {
            continue;
        }
        let level = if e.outcome.as_deref() == Some("ok") {
            Level::Info
        } else {
            Level::Warn
        };
        let at = ops.partition_point(|o| o.at <= e.unix);
        ops.insert(
            at,
            super::timeline::Event {
                at: e.unix,
                level,
                tag: Tag::Operation,
                text,
            },
        );
        while ops.len() > super::timeline::MAX_EVENTS {
            ops.pop_front();
        }
        added = true;
    }
    store.dirty |= added;
}

/// Patroni's events in the timeline (and the flash line).
fn patroni_happened(store: &mut Store, events: Vec<crate::patroni::events::PgEvent>) {
    use crate::patroni::events::{Kind, Severity};
    for e in events {
        let level = match e.kind.severity() {
            Severity::Info => Level::Info,
            Severity::Warn => Level::Warn,
            Severity::Error => Level::Error,
        };
        let tag = match e.kind {
            Kind::Switchover => Tag::PgSwitchover,
            Kind::ManualFailover | Kind::Failover => Tag::PgFailover,
            _ => Tag::Patroni,
        };
        happened_tagged(store, level, tag, e.text);
    }
}

/// Tell alarms raised or cleared since `before`.
fn alarms_moved(store: &mut Store, before: Vec<super::store::Alarm>) {
    let after = store.alarms();
    for a in after.iter().filter(|a| !before.contains(a)) {
        let text = format!(
            "{} alarm raised by {}",
            a.kind,
            crate::text::escape(&store.name_of(a.member_id))
        );
        happened(store, Level::Error, text);
    }
    for a in before.iter().filter(|a| !after.contains(a)) {
        let text = format!(
            "{} alarm on {} cleared",
            a.kind,
            crate::text::escape(&store.name_of(a.member_id))
        );
        happened(store, Level::Info, text);
    }
}

/// A member's `/metrics` read: p99s from the difference with the last page, alerts (new ones and
/// cleared ones are events), sparkline samples, and the quota the DB bar is measured against.
fn metrics(
    store: &mut Store,
    at: Instant,
    id: u64,
    result: Result<Box<crate::etcd::metrics::Snapshot>, Failure>,
) {
    use crate::etcd::metrics as m;
    let Some(member) = store.cluster.members.iter_mut().find(|x| x.id == id) else {
        return;
    };
    let label = crate::text::escape(&member.label()).into_owned();
    let answers = member.reachable();
    let mm = member.metrics.get_or_insert_with(Default::default);
    let snap = match result {
        Ok(s) => *s,
        Err(f) => {
            // Said once when the reader starts failing (a member that is down says so itself).
            let news = mm.error.is_none() && answers;
            let text = format!(
                "{label}: /metrics cannot be read, no latency figures or alerts: {}",
                f.text()
            );
            mm.error = Some(f);
            store.dirty = true;
            if news {
                flash(store, Level::Warn, text);
            }
            return;
        }
    };
    // Latencies come from the difference between two pages: figures since the member started
    // would raise alerts for a slow start long past.
    let derived = match &mm.at {
        Some(_) => m::compare(&mm.last, &snap),
        None => m::Derived::default(),
    };
    let alerts = m::alerts(&snap, &derived);
    let push = |q: &mut std::collections::VecDeque<f64>, v: Option<f64>| {
        if let Some(v) = v {
            q.push_back(v);
            while q.len() > super::store::SPARK_SAMPLES {
                q.pop_front();
            }
        }
    };
    push(&mut mm.db_bytes, snap.db_total_bytes.map(|b| b as f64));
    push(
        &mut mm.fsync_p99_ms,
        derived.wal_fsync_p99_s.map(|s| s * 1000.0),
    );
    let worst_rtt = derived
        .peer_rtt_p99_s
        .values()
        .flatten()
        .copied()
        .fold(None, |acc: Option<f64>, v| {
            Some(acc.map_or(v, |a| a.max(v)))
        });
    push(&mut mm.peer_rtt_p99_ms, worst_rtt.map(|s| s * 1000.0));
    let before = std::mem::replace(&mut mm.alerts, alerts.clone());
    let quota = snap.quota_bytes;
    mm.last = snap;
    mm.derived = derived;
    mm.at = Some(at);
    mm.error = None;
    store.dirty = true;
    if let Some(q) = quota.filter(|q| *q > 0) {
        store.cluster.quota = super::store::Quota {
            bytes: q as i64,
            source: "etcd_server_quota_backend_bytes".into(),
        };
    }
    // The figures in an alert move each scrape; tell only a rule that starts or stops firing.
    for a in &alerts {
        if !before.iter().any(|b| b.rule() == a.rule()) {
            let text = format!("{label} alert {}: {a}", a.rule());
            happened(store, Level::Warn, text);
        }
    }
    for b in &before {
        if !alerts.iter().any(|a| a.rule() == b.rule()) {
            let text = format!("{label} alert cleared: {}", b.rule());
            happened(store, Level::Info, text);
        }
    }
}

/// Put a message on the flash line.
/// The endpoints are not one cluster: said loudly once, kept in the store (the header says so,
/// and nothing may be changed).
fn mark_mixed(store: &mut Store, why: String) {
    if store.cluster.mixed.is_none() {
        flash(
            store,
            Level::Error,
            format!("endpoints of different clusters: {why}"),
        );
    }
    store.cluster.mixed = Some(why);
    store.dirty = true;
}

pub fn flash(store: &mut Store, level: Level, text: impl Into<String>) {
    store.ui.flash = Some(Flash {
        level,
        text: text.into(),
        until: store.now + FLASH_FOR,
    });
    store.dirty = true;
}

fn key(store: &mut Store, ev: KeyEvent) -> Vec<Cmd> {
    if ev.kind == KeyEventKind::Release {
        return Vec::new();
    }
    // Ctrl-C always leaves, whatever is open.
    if ev.code == KeyCode::Char('c') && ev.modifiers.contains(KeyModifiers::CONTROL) {
        store.quit = true;
        return vec![Cmd::Quit];
    }
    if store.ui.filtering {
        filter_input(store, ev);
        return Vec::new();
    }
    if matches!(store.ui.overlay, Some(Overlay::Wizard(_))) {
        return wizard_key(store, ev);
    }
    if matches!(store.ui.overlay, Some(Overlay::Prompt(_))) {
        return prompt_key(store, ev);
    }
    let action = store.config.keymap.action(&ev);
    if let Some(Overlay::Clusters { selected }) = store.ui.overlay {
        return clusters_key(store, selected, ev, action);
    }
    if matches!(store.ui.overlay, Some(Overlay::Training)) {
        return training_key(store, ev, action);
    }
    if let Some(Overlay::Help { scroll }) = &mut store.ui.overlay {
        match action {
            Some(Action::Up) => *scroll = scroll.saturating_sub(1),
            Some(Action::Down) => *scroll = scroll.saturating_add(1),
            Some(Action::Top) => *scroll = 0,
            Some(Action::Quit | Action::Help | Action::Back) => store.ui.overlay = None,
            _ => {}
        }
        return Vec::new();
    }
    let Some(action) = action else {
        return Vec::new();
    };
    act(store, action)
}

/// A key in the cluster switcher: move, Enter switches (the console ends and starts again on
/// that cluster), Esc closes.
fn clusters_key(
    store: &mut Store,
    selected: usize,
    ev: KeyEvent,
    action: Option<Action>,
) -> Vec<Cmd> {
    store.dirty = true;
    let n = store.config.clusters.len();
    let last = n.saturating_sub(1);
    let to = match action {
        _ if ev.code == KeyCode::Enter => {
            let Some(c) = store.config.clusters.get(selected) else {
                return Vec::new();
            };
            if store.named.as_deref() == Some(c.name.as_str()) {
                store.ui.overlay = None;
                let text = format!("already on cluster {}", c.name);
                flash(store, Level::Info, text);
                return Vec::new();
            }
            store.switch_to = Some(c.name.clone());
            store.quit = true;
            return vec![Cmd::Quit];
        }
        Some(Action::Up) => selected.saturating_sub(1),
        Some(Action::Down) => (selected + 1).min(last),
        Some(Action::Top) => 0,
        Some(Action::Bottom) => last,
        Some(Action::Back | Action::Clusters | Action::Quit) => {
            store.ui.overlay = None;
            return Vec::new();
        }
        _ => selected,
    };
    store.ui.overlay = Some(Overlay::Clusters { selected: to });
    Vec::new()
}

/// A key in the training overlay: a drill closes it and goes to the demo; Esc closes.
fn training_key(store: &mut Store, ev: KeyEvent, action: Option<Action>) -> Vec<Cmd> {
    use crate::lab::Drill;
    store.dirty = true;
    if matches!(action, Some(Action::Back | Action::Quit | Action::Training)) {
        store.ui.overlay = None;
        return Vec::new();
    }
    let KeyCode::Char(c) = ev.code else {
        return Vec::new();
    };
    let member = || store.selected_member().map(|m| m.name.clone());
    let scope = || selected_scope(store);
    let drill = match c {
        'k' | 'f' | 't' | 's' => {
            let Some(m) = member() else {
                flash(
                    store,
                    Level::Warn,
                    "no member selected: pick one in the members pane",
                );
                return Vec::new();
            };
            match c {
                'k' => Drill::Kill(m),
                'f' => Drill::Freeze(m),
                't' => Drill::Thaw(m),
                _ => Drill::Restart(m),
            }
        }
        'w' => Drill::Switchover(scope()),
        'F' => Drill::Failover(scope()),
        'n' => Drill::Fill,
        _ => return Vec::new(),
    };
    store.ui.overlay = None;
    flash(store, Level::Info, format!("demo: {}...", drill.describe()));
    vec![Cmd::Drill(drill)]
}

/// The Patroni cluster under the key browser's cursor.
pub fn selected_scope(store: &Store) -> Option<String> {
    let row = store.keys.selected_row()?;
    let dir = store.keys.scope_of(&row.path)?;
    let name = dir
        .strip_prefix(store.keys.prefix.as_bytes())?
        .strip_suffix(b"/")?;
    Some(String::from_utf8_lossy(name).into_owned())
}

/// Carry out an action from the keymap.
pub fn act(store: &mut Store, action: Action) -> Vec<Cmd> {
    store.dirty = true;
    let cmds = act_inner(store, action);
    if store.ui.focus != PaneId::Members {
        store.ui.last_other = Some(store.ui.focus);
    }
    cmds
}

fn act_inner(store: &mut Store, action: Action) -> Vec<Cmd> {
    match action {
        Action::Quit => {
            store.quit = true;
            return vec![Cmd::Quit];
        }
        Action::Help => store.ui.overlay = Some(Overlay::Help { scroll: 0 }),
        Action::Training => {
            if store.lab.is_some() {
                store.ui.overlay = Some(Overlay::Training);
            } else {
                let text = "the drills are in the demo only: run `etcdeck demo`";
                flash(store, Level::Info, text);
            }
            return Vec::new();
        }
        Action::Clusters => {
            let here = store
                .config
                .clusters
                .iter()
                .position(|c| Some(&c.name) == store.named.as_ref());
            store.ui.overlay = Some(Overlay::Clusters {
                selected: here.unwrap_or(0),
            });
            return Vec::new();
        }
        Action::NextPane | Action::PrevPane => {
            let n = PaneId::ALL.len();
            let i = store.ui.focus.number() - 1;
            let next = if action == Action::NextPane {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            store.ui.focus = PaneId::ALL[next];
        }
        Action::Pane1 | Action::Pane2 | Action::Pane3 | Action::Pane4 => {
            if let Some(p) = action.pane_number().and_then(|n| PaneId::ALL.get(n - 1)) {
                store.ui.focus = *p;
            }
        }
        Action::Up => move_cursor(store, -1),
        Action::Down => move_cursor(store, 1),
        Action::PageUp => move_cursor(store, -(page(store) as i64)),
        Action::PageDown => move_cursor(store, page(store) as i64),
        Action::Top => store.focused_view_mut().selected = 0,
        Action::Bottom => {
            let last = store.focused_len().saturating_sub(1);
            store.focused_view_mut().selected = last;
        }
        Action::Filter => store.ui.filtering = true,
        Action::Refresh => {
            flash(store, Level::Info, "asking every member now");
            return vec![Cmd::RefreshNow];
        }
        Action::Back => {
            let v = store.focused_view_mut();
            let had_filter = !v.filter.is_empty();
            v.filter.clear();
            v.selected = 0;
            if had_filter && store.ui.focus == PaneId::Keys {
                store.keys.mark_stale();
            }
        }
        Action::Expand | Action::Collapse | Action::NextCluster | Action::PrevCluster
            if store.ui.focus != PaneId::Keys => {}
        Action::Expand => store.keys.toggle(Some(true)),
        Action::Collapse => {
            let on_open_dir = store
                .keys
                .selected_row()
                .is_some_and(|r| r.dir && r.expanded && store.keys.view.filter.is_empty());
            if on_open_dir {
                store.keys.toggle(Some(false));
            } else {
                store.keys.to_parent();
            }
        }
        Action::NextCluster => store.keys.jump_cluster(true),
        Action::PrevCluster => store.keys.jump_cluster(false),
        Action::CopyKey | Action::CopyValue => return copy(store, action),
        Action::PatroniRows => {
            store.ui.pg_rows = Some(!store.pg_rows_expanded());
            return Vec::new();
        }
        Action::Zoom => {
            let zooms = super::timeline::ZOOMS;
            let i = zooms
                .iter()
                .position(|z| *z == store.timeline.zoom)
                .unwrap_or(0);
            store.timeline.zoom = zooms[(i + 1) % zooms.len()];
            return Vec::new();
        }
        Action::ValueDown => {
            store.keys.value_scroll = store.keys.value_scroll.saturating_add(page(store));
            return Vec::new();
        }
        Action::ValueUp => {
            store.keys.value_scroll = store.keys.value_scroll.saturating_sub(page(store));
            return Vec::new();
        }
        Action::DefragAll
        | Action::DefragMember
        | Action::Compact
        | Action::Snapshot
        | Action::AlarmRecover
        | Action::MoveLeader => return open_wizard(store, action),
        Action::MemberAdd
        | Action::MemberAddIp
        | Action::MemberPromote
        | Action::MemberRemove
        | Action::MemberReplace => return open_member(store, action),
    }
    if store.ui.focus == PaneId::Keys {
        store.keys.value_scroll = 0;
        return ask_lease(store, true);
    }
    Vec::new()
}

/// The most bytes put on the terminal's clipboard: 100,000 bytes of base64 in the OSC 52
/// sequence. Terminals differ in what they take (tmux's default is larger, some take less);
/// above this etcdeck says it cannot copy instead of sending what would be dropped.
pub const CLIPBOARD_MAX: usize = 75_000;

/// Put the selected key, or its value, on the terminal's clipboard.
fn copy(store: &mut Store, action: Action) -> Vec<Cmd> {
    if store.ui.focus != PaneId::Keys {
        return Vec::new();
    }
    let Some(row) = store.keys.selected_row() else {
        return Vec::new();
    };
    let path = row.path.clone();
    let (what, bytes) = if action == Action::CopyKey || row.dir {
        ("key", path.to_vec())
    } else {
        match store.keys.map.get(&path) {
            Some(e) => ("value", e.value.clone()),
            None => return Vec::new(),
        }
    };
    if bytes.len() > CLIPBOARD_MAX {
        // tmux and many terminals drop a longer OSC 52 sequence without a word.
        let text = format!(
            "{what} too large to copy: {} bytes, the terminal clipboard takes up to {CLIPBOARD_MAX}",
            bytes.len()
        );
        flash(store, Level::Warn, text);
        return Vec::new();
    }
    let text = format!(
        "copied the {what} of {} ({} bytes) to the clipboard",
        crate::text::escape_bytes(&path),
        bytes.len()
    );
    flash(store, Level::Info, text);
    vec![Cmd::Clipboard(bytes)]
}

/// The lease worth showing for the selected row: the key's own, or for a directory its `leader`
/// key's (Patroni's leader lease).
pub fn wanted_lease(store: &Store) -> Option<i64> {
    let row = store.keys.selected_row()?;
    let key = if row.dir {
        let mut k = row.path.to_vec();
        k.extend_from_slice(b"leader");
        k
    } else {
        row.path.to_vec()
    };
    store
        .keys
        .map
        .get(key.as_slice())
        .map(|e| e.lease)
        .filter(|l| *l != 0)
}

/// Ask for the selected row's lease when it is not known or was asked over 2 s ago (`moved`:
/// the selection moved, ask now).
fn ask_lease(store: &mut Store, moved: bool) -> Vec<Cmd> {
    if store.ui.focus != PaneId::Keys {
        return Vec::new();
    }
    let Some(lease) = wanted_lease(store) else {
        return Vec::new();
    };
    let fresh = store.keys.leases.get(&lease).is_some_and(|(_, _, at)| {
        store.now.saturating_duration_since(*at) < std::time::Duration::from_secs(2)
    });
    if fresh && !moved {
        return Vec::new();
    }
    let url = match &store.keys.feed {
        Feed::Live { url } => Some(url.clone()),
        _ => store
            .cluster
            .leader
            .and_then(|id| store.member(id))
            .and_then(|m| m.client_urls.first().cloned()),
    };
    url.map(|url| vec![Cmd::LeaseTtl { lease, url }])
        .unwrap_or_default()
}

/// Bring derived state up to date once per batch of messages, before drawing: the key tree's
/// rows are rebuilt only when keys came or went, directories opened or the filter changed.
pub fn settle(store: &mut Store) {
    if store.keys.rows_stale() {
        store.keys.rebuild_rows();
        store.dirty = true;
    }
}

fn page(store: &Store) -> u16 {
    (store.ui.size.1 / 2).max(1)
}

fn move_cursor(store: &mut Store, by: i64) {
    let len = store.focused_len() as i64;
    let v = store.focused_view_mut();
    v.selected = (v.selected as i64 + by).clamp(0, (len - 1).max(0)) as usize;
}

fn filter_input(store: &mut Store, ev: KeyEvent) {
    let before = store.focused_view().filter.clone();
    filter_edit(store, ev);
    // The key tree follows its filter on the next settle, when the filter changed.
    if store.ui.focus == PaneId::Keys && store.keys.view.filter != before {
        store.keys.mark_stale();
    }
}

fn filter_edit(store: &mut Store, ev: KeyEvent) {
    let v = store.focused_view_mut();
    match ev.code {
        KeyCode::Enter => store.ui.filtering = false,
        KeyCode::Esc => {
            v.filter.clear();
            v.selected = 0;
            store.ui.filtering = false;
        }
        KeyCode::Backspace => {
            v.filter.pop();
            v.selected = 0;
        }
        KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => {
            v.filter.push(c);
            v.selected = 0;
        }
        _ => {}
    }
}

fn member_list(store: &mut Store, at: Instant, list: MemberList) -> Vec<Cmd> {
    // The reader moves between the configured endpoints: a list from another cluster means they
    // are not one cluster. The first cluster's members stay on screen.
    if let Some(id) = store.cluster.id.filter(|id| *id != list.cluster_id) {
        let why = format!(
            "one endpoint answered for cluster {:x} after another for cluster {id:x}",
            list.cluster_id
        );
        mark_mixed(store, why);
        return Vec::new();
    }
    let c = &mut store.cluster;
    let first = c.list_at.is_none();
    let before = probe_targets(&c.members);
    let mut notes: Vec<(Level, String)> = Vec::new();

    let mut members: Vec<Member> = Vec::with_capacity(list.members.len());
    for l in &list.members {
        match c.members.iter().find(|m| m.id == l.id) {
            Some(old) => {
                let mut m = old.clone();
                if old.is_learner && !l.is_learner && !first {
                    notes.push((
                        Level::Info,
                        format!("{} was promoted to a voting member", label(l)),
                    ));
                }
                if !old.started() && !l.client_urls.is_empty() && !first {
                    notes.push((Level::Info, format!("{} started and joined", label(l))));
                }
                m.name = l.name.clone();
                m.peer_urls = l.peer_urls.clone();
                m.client_urls = l.client_urls.clone();
                m.is_learner = l.is_learner;
                if m.started() && m.reach == Reach::Unstarted {
                    m.reach = Reach::Unknown;
                }
                members.push(m);
            }
            None => {
                if !first {
                    let kind = if l.is_learner { "learner" } else { "member" };
                    notes.push((Level::Info, format!("{kind} {} was added", label(l))));
                }
                members.push(Member::from_list(l));
            }
        }
    }
    for old in &c.members {
        if !list.members.iter().any(|l| l.id == old.id) {
            notes.push((Level::Warn, format!("member {} was removed", old.label())));
        }
    }
    members.sort_by(natural_order);
    // The screen changes only when the members or the cluster do; time moves with the tick.
    store.dirty |= members != c.members || c.id != Some(list.cluster_id) || c.list_error.is_some();
    c.members = members;
    c.id = Some(list.cluster_id);
    c.list_at = Some(at);
    c.list_error = None;
    for (level, text) in notes {
        happened(store, level, text);
    }
    if !store.ops_waiting.is_empty() {
        operations(store, Vec::new());
    }
    refresh_leader(store);
    clamp_cursors(store);

    let after = probe_targets(&store.cluster.members);
    let mut cmds = Vec::new();
    if after != before || first {
        cmds.push(Cmd::Probe(after));
    }
    if first {
        cmds.push(Cmd::LoadRevisions {
            cluster_id: list.cluster_id,
        });
    }
    cmds
}

fn label(l: &super::msg::ListedMember) -> String {
    if l.name.is_empty() {
        format!("{:x}", l.id)
    } else {
        crate::text::escape(&l.name).into_owned()
    }
}

/// Every started member, at its first client URL.
pub fn probe_targets(members: &[Member]) -> Vec<ProbeTarget> {
    let mut t: Vec<ProbeTarget> = members
        .iter()
        .filter_map(|m| {
            m.client_urls.first().map(|u| ProbeTarget {
                id: m.id,
                url: u.clone(),
            })
        })
        .collect();
    t.sort();
    t
}

/// A member's Status (or failure). Asks for the member list at once when the answer says
/// membership or leadership moved: a learner promoted, a new leader.
fn probe(
    store: &mut Store,
    at: Instant,
    id: u64,
    url: &str,
    result: Result<Probed, Failure>,
) -> Vec<Cmd> {
    let alarms_before = store.alarms();
    // The leader's index as last sampled, before this answer: what this member is compared with.
    let leader = store.cluster.leader;
    let leader_index = leader
        .and_then(|l| store.member(l))
        .and_then(|l| l.status.as_ref().map(|p| (l.id, p.raft_index)));
    let Some(m) = store.cluster.members.iter_mut().find(|m| m.id == id) else {
        return Vec::new(); // removed meanwhile
    };
    if m.client_urls.first().map(String::as_str) != Some(url) {
        return Vec::new(); // an answer from an address the member no longer has
    }
    let promoted = matches!(&result, Ok(p) if m.is_learner && !p.is_learner);
    let mut note = None;
    match result {
        Ok(p) => {
            if let Some(since) = m.down_since() {
                note = Some((
                    Level::Info,
                    format!(
                        "{} answers again after {}",
                        crate::text::escape(&m.label()),
                        units::duration(at.saturating_duration_since(since))
                    ),
                ));
            }
            let changed = m.reach != Reach::Up || m.status.as_ref() != Some(&p);
            m.reach = Reach::Up;
            m.trails = match leader_index {
                _ if leader == Some(m.id) => Some((m.id, 0)),
                Some((of, index)) => Some((of, index.saturating_sub(p.raft_index))),
                None => None,
            };
            m.status = Some(p);
            m.status_at = Some(at);
            store.dirty |= changed;
        }
        Err(f) => {
            let since = m.down_since().unwrap_or(at);
            // Said when it goes down, and at the first answer of a member already down when the
            // console started (the timeline's story then begins with it).
            if matches!(m.reach, Reach::Up | Reach::Unknown) {
                note = Some((
                    Level::Warn,
                    format!(
                        "{} unreachable: {}",
                        crate::text::escape(&m.label()),
                        f.short()
                    ),
                ));
            }
            m.last_error = Some((at, f.clone()));
            m.reach = Reach::Down { since, why: f };
            store.dirty = true;
        }
    }
    if let Some((level, text)) = note {
        happened(store, level, text);
    }
    alarms_moved(store, alarms_before);
    let leader_moved = refresh_leader(store);
    if promoted || leader_moved {
        vec![Cmd::ListNow]
    } else {
        Vec::new()
    }
}

/// Follow the leader the members see; true when a known leader changed (not on the first
/// answers).
fn refresh_leader(store: &mut Store) -> bool {
    let new = store.derive_leader();
    let old = store.cluster.leader;
    if new == old {
        return false;
    }
    store.cluster.leader = new;
    store.dirty = true;
    match (old, new) {
        (Some(o), Some(n)) => {
            let text = format!(
                "leader changed: {} -> {}",
                crate::text::escape(&store.name_of(o)),
                crate::text::escape(&store.name_of(n))
            );
            happened_tagged(store, Level::Warn, Tag::EtcdLeader, text);
        }
        (Some(o), None) => {
            store.cluster.leader_lost_at = Some(store.now);
            let name = crate::text::escape(&store.name_of(o)).into_owned();
            // A leader that still answers stepped down (it lost its quorum); one that does not
            // is gone.
            let text = if store.member(o).is_some_and(|m| m.reachable()) {
                format!("no leader: {name} stepped down and no member sees a new one")
            } else {
                format!("no leader: {name} is gone and no member sees a new one")
            };
            happened(store, Level::Error, text);
        }
        (None, Some(n)) => {
            // The first leader seen at start is not news; one elected after none is.
            if let Some(lost) = store.cluster.leader_lost_at.take() {
                let text = format!(
                    "leader elected: {} after {} without one",
                    crate::text::escape(&store.name_of(n)),
                    units::duration(store.now.saturating_duration_since(lost))
                );
                happened_tagged(store, Level::Info, Tag::EtcdLeader, text);
            }
        }
        (None, None) => {}
    }
    old.is_some()
}

fn clamp_cursors(store: &mut Store) {
    let n = store.visible_members().len();
    store.ui.members.selected = store.ui.members.selected.min(n.saturating_sub(1));
    let n = store.inventory_rows().len();
    store.ui.inventory.selected = store.ui.inventory.selected.min(n.saturating_sub(1));
}

// ---------------------------------------------------------------------------------------------
// The wizards: a key on the Members pane opens one over the panes (see `super::wizard`).

/// Once a minute, the cluster's revision (for the compaction wizard's target): kept in the store
/// and appended to the state file off the loop.
fn record_revision(store: &mut Store, sec: u64) -> Vec<Cmd> {
    let (Some(cluster_id), Some(revision)) = (store.cluster.id, store.revision()) else {
        return Vec::new();
    };
    let due = store
        .revisions
        .recorded_at
        .is_none_or(|t| sec >= t + RECORD_REVISION_EVERY);
    if !due {
        return Vec::new();
    }
    store.revisions.recorded_at = Some(sec);
    let keep = sec.saturating_sub(crate::wizard::revisions::KEEP_SECS);
    let r = &mut store.revisions.samples;
    r.push((sec, revision));
    r.retain(|(t, _)| *t >= keep);
    vec![Cmd::RecordRevision {
        cluster_id,
        at: sec,
        revision,
    }]
}

/// Open the wizard of a Members-pane key: its plan at once from the store, and the lookup of
/// an unfinished run of the same operation.
fn open_wizard(store: &mut Store, action: Action) -> Vec<Cmd> {
    if store.ui.focus != PaneId::Members {
        return Vec::new();
    }
    // Read-only mode has no such key; were one reached anyway, it does nothing.
    if store.read_only && action.dangerous() {
        return Vec::new();
    }
    let selected = store.selected_member().map(Member::label);
    let kind = match (action, selected) {
        (Action::DefragAll, _) => Kind::DefragAll,
        (Action::Compact, _) => Kind::Compact,
        (Action::Snapshot, _) => Kind::Snapshot,
        (Action::AlarmRecover, _) => Kind::AlarmRecover,
        (Action::DefragMember, Some(m)) => Kind::DefragMember(m),
        (Action::MoveLeader, Some(m)) => Kind::MoveLeader(m),
        _ => {
            flash(store, Level::Warn, "no member selected");
            return Vec::new();
        }
    };
    open_kind(store, kind)
}

/// Open the wizard of `kind`: its plan at once from the store (a membership wizard's once its
/// facts are read, off the loop), and the lookup of an unfinished run of the same operation.
fn open_kind(store: &mut Store, kind: Kind) -> Vec<Cmd> {
    store.ui.wizards_opened += 1;
    let token = store.ui.wizards_opened;
    let view = WizardView::open(store, token, kind);
    let mut lookup = match (&view.earlier, view.cluster_id) {
        (Earlier::Checking, Some(cluster_id)) => vec![Cmd::WizardLookup {
            token,
            op: view.kind.op(),
            cluster_id,
        }],
        _ => Vec::new(),
    };
    // The recovery's plan is shown at once; the largest prefixes join it when read.
    if view.kind == Kind::AlarmRecover && view.fresh.is_ok() {
        if let Some(url) = super::wizard::prefix_scan_source(store) {
            lookup.push(Cmd::WizardPrefixes { token, url });
        }
    }
    // A membership plan follows its facts: the inventory as the console loaded it, read again
    // (a run before may have changed it), the provisioner, the CA.
    if let (true, Some(state), Some(cluster_id)) =
        (view.reading, store.state_dir.clone(), view.cluster_id)
    {
        lookup.push(Cmd::WizardMemberFacts {
            token,
            cluster_id,
            inventory: store.inventory.file.as_ref().map(std::path::PathBuf::from),
            extra_vars: store.inventory.extra_vars.clone(),
            manual_out: super::wizard::manual_out(&state, cluster_id, &view.kind),
            state,
        });
    }
    store.ui.overlay = Some(Overlay::Wizard(Box::new(view)));
    lookup
}

/// The membership keys: on the Inventory pane, add the selected host (in the inventory, not a
/// member) or an IP typed; on the Members pane, promote, remove or replace the selected member.
fn open_member(store: &mut Store, action: Action) -> Vec<Cmd> {
    // Read-only mode has no such key; were one reached anyway, it does nothing.
    if store.read_only && action.dangerous() {
        return Vec::new();
    }
    let on_members = store.ui.focus == PaneId::Members;
    let on_inventory = store.ui.focus == PaneId::Inventory;
    let selected = store.selected_member().map(Member::label);
    let kind = match action {
        Action::MemberAdd if on_inventory => {
            let host = store.selected_inventory_row().and_then(|r| {
                (r.matched == super::store::Match::NotMember)
                    .then_some(r.host)
                    .flatten()
            });
            match host {
                Some(h) => Kind::MemberAdd { ip: h.ip },
                None => {
                    let other = store
                        .config
                        .keymap
                        .key_of(Action::MemberAddIp)
                        .map(|k| format!("; {k} adds a member at an address typed"))
                        .unwrap_or_default();
                    flash(
                        store,
                        Level::Warn,
                        format!(
                            "select a host that is in the inventory but not a member to add \
                             it{other}"
                        ),
                    );
                    return Vec::new();
                }
            }
        }
        Action::MemberAddIp if on_inventory => {
            store.ui.overlay = Some(Overlay::Prompt(Prompt::new(PromptFor::Add)));
            return Vec::new();
        }
        Action::MemberPromote | Action::MemberRemove | Action::MemberReplace if on_members => {
            let Some(m) = selected else {
                flash(store, Level::Warn, "no member selected");
                return Vec::new();
            };
            match action {
                Action::MemberPromote => Kind::MemberPromote(m),
                Action::MemberRemove => Kind::MemberRemove(m),
                _ => {
                    store.ui.overlay = Some(Overlay::Prompt(Prompt::new(PromptFor::Replace(m))));
                    return Vec::new();
                }
            }
        }
        _ => return Vec::new(),
    };
    open_kind(store, kind)
}

/// Keys in the one-line prompt: text, Backspace, Enter (the wizard opens for a valid address,
/// else the prompt says why), Esc (nothing opens).
fn prompt_key(store: &mut Store, ev: KeyEvent) -> Vec<Cmd> {
    let Some(Overlay::Prompt(p)) = &mut store.ui.overlay else {
        return Vec::new();
    };
    let plain = !ev
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    match ev.code {
        KeyCode::Esc => {
            store.ui.overlay = None;
            flash(store, Level::Info, "cancelled; nothing was done");
        }
        KeyCode::Backspace => {
            p.typed.pop();
            p.error = None;
        }
        KeyCode::Char(c) if plain => {
            if p.typed.chars().count() < 64 {
                p.typed.push(c);
            }
            p.error = None;
        }
        KeyCode::Enter => match p.ip() {
            Err(why) => p.error = Some(why),
            Ok(ip) => {
                let kind = match &p.purpose {
                    PromptFor::Add => Kind::MemberAdd { ip },
                    PromptFor::Replace(old) => Kind::MemberReplace {
                        old: old.clone(),
                        ip,
                    },
                };
                store.ui.overlay = None;
                return open_kind(store, kind);
            }
        },
        _ => {}
    }
    Vec::new()
}

/// What a key does in the wizard modal, decided while the modal is borrowed.
enum WizardKey {
    Nothing,
    Close,
    Cancelled,
    Confirm,
    AskCancel,
}

/// Keys in the wizard modal: the typed confirmation (every character is text), Enter, Esc,
/// Tab (resume or plan afresh), and the arrows and pages to scroll.
fn wizard_key(store: &mut Store, ev: KeyEvent) -> Vec<Cmd> {
    let (now, size) = (store.now, store.ui.size);
    let Some(Overlay::Wizard(w)) = &mut store.ui.overlay else {
        return Vec::new();
    };
    let page = super::wizard::text_area(size).1.max(1) as i64;
    let by = match ev.code {
        KeyCode::Up => Some(-1),
        KeyCode::Down => Some(1),
        KeyCode::PageUp => Some(-page),
        KeyCode::PageDown => Some(page),
        KeyCode::Home => Some(-i64::from(u16::MAX)),
        KeyCode::End => Some(i64::from(u16::MAX)),
        _ => None,
    };
    if let Some(by) = by {
        let max = i64::from(w.max_scroll(now, size));
        w.scroll = (i64::from(w.scroll) + by).clamp(0, max) as u16;
        return Vec::new();
    }
    let plain = !ev
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    let what = match (w.stage(), ev.code) {
        (Stage::Refused | Stage::Nothing | Stage::Over, KeyCode::Esc | KeyCode::Enter) => {
            WizardKey::Close
        }
        (Stage::Refused | Stage::Nothing | Stage::Over, KeyCode::Char('q')) if plain => {
            WizardKey::Close
        }
        (Stage::Confirm | Stage::Reading, KeyCode::Esc) => WizardKey::Cancelled,
        (Stage::Confirm, KeyCode::Enter) => WizardKey::Confirm,
        (Stage::Confirm, KeyCode::Tab | KeyCode::BackTab) if w.can_switch() => {
            w.resume = !w.resume;
            w.typed.clear();
            w.scroll = 0;
            WizardKey::Nothing
        }
        (Stage::Confirm, KeyCode::Backspace) => {
            w.typed.pop();
            WizardKey::Nothing
        }
        (Stage::Confirm, KeyCode::Char(c)) if plain => {
            if w.typed.chars().count() < 200 {
                w.typed.push(c);
            }
            WizardKey::Nothing
        }
        (Stage::Running, KeyCode::Esc) => WizardKey::AskCancel,
        _ => WizardKey::Nothing,
    };
    match what {
        WizardKey::Nothing => Vec::new(),
        WizardKey::Close => {
            store.ui.overlay = None;
            Vec::new()
        }
        WizardKey::Cancelled => {
            let op = w.kind.op().command();
            store.ui.overlay = None;
            flash(
                store,
                Level::Info,
                format!("{op}: cancelled; nothing was done"),
            );
            Vec::new()
        }
        WizardKey::AskCancel => {
            let Some(run) = &mut w.run else {
                return Vec::new();
            };
            if run.cancel_asked {
                return Vec::new();
            }
            run.cancel_asked = true;
            let op = run.plan.op.command();
            flash(
                store,
                Level::Warn,
                format!(
                    "{op}: cancel asked: the step running ends first, then the wizard stops \
                     (the same key resumes it)"
                ),
            );
            vec![Cmd::WizardCancel]
        }
        WizardKey::Confirm => confirm_wizard(store),
    }
}

/// Enter on the plan: the run starts when the typed word is the plan's; anything else
/// cancels (the default answer).
fn confirm_wizard(store: &mut Store) -> Vec<Cmd> {
    let (now, unix, read_only) = (store.now, store.unix_secs(store.now), store.read_only);
    let Some(Overlay::Wizard(w)) = &mut store.ui.overlay else {
        return Vec::new();
    };
    if w.earlier == Earlier::Checking {
        flash(
            store,
            Level::Info,
            "still looking for an unfinished run: press Enter again in a moment",
        );
        return Vec::new();
    }
    let Ok(plan) = w.plan().cloned() else {
        return Vec::new();
    };
    let done = w.done();
    let op = plan.op.command();
    // The machine's own check, as the command line's.
    if !crate::wizard::Wizard::resume(plan.clone(), done.clone()).confirms(&w.typed) {
        let text = format!(
            "{op}: cancelled: {:?} is not {}; nothing was done",
            w.typed,
            plan.confirm.as_deref().unwrap_or_default()
        );
        store.ui.overlay = None;
        flash(store, Level::Warn, crate::text::escape(&text).into_owned());
        return Vec::new();
    }
    if read_only && plan.changes() {
        store.ui.overlay = None;
        flash(
            store,
            Level::Error,
            format!("read-only mode: {op} changes the cluster; nothing was done"),
        );
        return Vec::new();
    }
    let (resumed, abandon) = match (&w.earlier, w.resume) {
        (Earlier::Found(rec), true) => (Some(rec.clone()), None),
        (Earlier::Found(rec), false) => (None, Some(rec.clone())),
        _ => (None, None),
    };
    let args = crate::app::wizard::args(&w.kind, &plan, w.provision.as_ref());
    let start = WizardStart {
        token: w.token,
        plan,
        typed: w.typed.clone(),
        done,
        resumed,
        abandon,
        now: unix,
        args,
    };
    w.start(now);
    vec![Cmd::WizardRun(Box::new(start))]
}

/// News of the wizard open now: into the modal, and every step's end into the timeline.
fn wizard_news(store: &mut Store, token: u64, news: WizardNews) -> Vec<Cmd> {
    let at = store.now;
    if let WizardNews::Facts(found) = news {
        // Planned on the store as it is now, then put in the modal (when it is still this one).
        if store.wizard().is_none_or(|w| w.token != token) {
            return Vec::new();
        }
        if let Some(Overlay::Wizard(mut w)) = store.ui.overlay.take() {
            w.facts(store, found);
            store.ui.overlay = Some(Overlay::Wizard(w));
            store.dirty = true;
        }
        return Vec::new();
    }
    let Some(Overlay::Wizard(w)) = &mut store.ui.overlay else {
        return Vec::new();
    };
    if w.token != token {
        return Vec::new();
    }
    store.dirty = true;
    let mut events: Vec<(Level, String)> = Vec::new();
    let mut cmds = Vec::new();
    let mut snapshot_done = None;
    let mut member_done = None;
    if let Some(run) = &w.run {
        let op = run.plan.op.command();
        let n = run.plan.steps.len();
        let id = |id: Option<&str>| {
            id.map(|i| format!(" {}", crate::text::escape(i)))
                .unwrap_or_default()
        };
        match &news {
            WizardNews::Opened { id: opened, .. } => {
                let before = run
                    .steps
                    .iter()
                    .filter(|s| **s == super::wizard::StepState::DoneBefore)
                    .count();
                let how = if before > 0 {
                    format!("resumed, {before} of {n} step(s) done before")
                } else {
                    format!("started, {n} step(s)")
                };
                events.push((Level::Info, format!("{op}{}: {how}", id(Some(opened)))));
            }
            WizardNews::Step(Report::End {
                index,
                outcome,
                detail,
                took,
            }) => {
                if let Some(s) = run.plan.steps.get(*index) {
                    let level = match outcome.as_str() {
                        "done" | "was done" => Level::Info,
                        "failed" => Level::Error,
                        _ => Level::Warn,
                    };
                    let on = s
                        .member
                        .as_deref()
                        .map(|m| format!(" on {}", crate::text::escape(m)))
                        .unwrap_or_default();
                    let detail = if detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", crate::text::escape(detail))
                    };
                    events.push((
                        level,
                        format!(
                            "{op}{}: step {}/{n} {}{on}: {outcome} in {:.1} s{detail}",
                            id(run.id.as_deref()),
                            index + 1,
                            crate::text::escape(&s.text),
                            took.as_secs_f64()
                        ),
                    ));
                }
            }
            WizardNews::Finished { phase, .. } => {
                let took = at.saturating_duration_since(run.started);
                let (level, words) = match phase {
                    Phase::Done => (
                        Level::Info,
                        format!(
                            "done in {}",
                            units::duration(Duration::from_secs(took.as_secs()))
                        ),
                    ),
                    Phase::Cancelled => (Level::Warn, "cancelled between steps".into()),
                    Phase::Stopped(why) => (Level::Warn, format!("stopped: {why}")),
                    Phase::Failed(why) => (Level::Error, format!("FAILED: {why}")),
                    Phase::Confirming | Phase::Running => (Level::Warn, "interrupted".into()),
                };
                events.push((
                    level,
                    format!(
                        "{op}{}: {}",
                        id(run.id.as_deref()),
                        crate::text::escape(&words)
                    ),
                ));
                if *phase == Phase::Done && run.plan.op == crate::wizard::Op::Snapshot {
                    snapshot_done = Some(run.plan.clone());
                }
                if *phase == Phase::Done && w.kind.needs_facts() {
                    member_done = Some(super::wizard::after_member(&run.plan));
                }
                // Whatever happened, the cluster is read again at once.
                cmds = vec![Cmd::RefreshNow, Cmd::ListNow];
                // A membership wizard may have edited the inventory: the pane reads it again.
                if w.kind.needs_facts() {
                    if let Some(path) = &store.inventory.file {
                        cmds.push(Cmd::ReloadInventory {
                            path: path.into(),
                            extra_vars: store.inventory.extra_vars.clone(),
                        });
                    }
                }
            }
            WizardNews::Earlier(_)
            | WizardNews::Step(_)
            | WizardNews::Prefixes(_)
            | WizardNews::Facts(_)
            | WizardNews::Note(_) => {}
        }
    }
    w.news(at, news);
    if let Some(after) = member_done {
        if let Some(end) = w.run.as_mut().and_then(|r| r.end.as_mut()) {
            end.after = after;
        }
    }
    if let Some(plan) = snapshot_done {
        let after = super::wizard::after_snapshot(store, &plan);
        if let Some(Overlay::Wizard(w)) = &mut store.ui.overlay {
            if let Some(end) = w.run.as_mut().and_then(|r| r.end.as_mut()) {
                end.after = after;
            }
        }
    }
    for (level, text) in events {
        happened_tagged(store, level, Tag::Operation, text);
    }
    cmds
}
