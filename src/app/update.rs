//! `update(&mut Store, Msg) -> Vec<Cmd>`: the only place the store changes.

use std::time::Instant;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::keymap::Action;
use super::msg::{Cmd, Failure, Level, MemberList, Msg, ProbeTarget, Probed};
use super::store::{natural_order, Flash, Member, Overlay, PaneId, Reach, Store, FLASH_FOR};

/// Apply one message; return the effects it asks for.
pub fn update(store: &mut Store, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Key(ev) => {
            store.dirty = true;
            key(store, ev)
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
            // Relative times ("unreachable 12s") move on.
            store.dirty = true;
            Vec::new()
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
                    if m.reach == Reach::Up {
                        note = Some(format!(
                            "{} not answering: no reply for {}",
                            crate::text::escape(&m.label()),
                            human_duration(waited)
                        ));
                    }
                    m.reach = Reach::Stalled {
                        since: at.checked_sub(waited).unwrap_or(at),
                    };
                    store.dirty = true;
                }
            }
            if let Some(text) = note {
                flash(store, Level::Warn, text);
            }
            refresh_leader(store);
            Vec::new()
        }
        Msg::Flash(level, text) => {
            flash(store, level, text);
            Vec::new()
        }
        Msg::Quit => {
            store.quit = true;
            vec![Cmd::Quit]
        }
    }
}

/// Put a message on the flash line.
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
    let action = store.config.keymap.action(&ev);
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

/// Carry out an action from the keymap.
pub fn act(store: &mut Store, action: Action) -> Vec<Cmd> {
    store.dirty = true;
    match action {
        Action::Quit => {
            store.quit = true;
            return vec![Cmd::Quit];
        }
        Action::Help => store.ui.overlay = Some(Overlay::Help { scroll: 0 }),
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
            v.filter.clear();
            v.selected = 0;
        }
    }
    Vec::new()
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
    c.list_from = Some(list.from);
    c.list_error = None;
    for (level, text) in notes {
        flash(store, level, text);
    }
    refresh_leader(store);
    clamp_cursors(store);

    let after = probe_targets(&store.cluster.members);
    if after != before || first {
        vec![Cmd::Probe(after)]
    } else {
        Vec::new()
    }
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
                        human_duration(at.saturating_duration_since(since))
                    ),
                ));
            }
            let changed = m.reach != Reach::Up || m.status.as_ref() != Some(&p);
            m.reach = Reach::Up;
            m.status = Some(p);
            m.status_at = Some(at);
            store.dirty |= changed;
        }
        Err(f) => {
            let since = m.down_since().unwrap_or(at);
            if m.reach == Reach::Up {
                note = Some((
                    Level::Warn,
                    format!(
                        "{} unreachable: {}",
                        crate::text::escape(&m.label()),
                        f.short
                    ),
                ));
            }
            m.last_error = Some((at, f.clone()));
            m.reach = Reach::Down { since, why: f };
            store.dirty = true;
        }
    }
    if let Some((level, text)) = note {
        flash(store, level, text);
    }
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
            flash(store, Level::Warn, text);
        }
        (Some(o), None) => {
            let text = format!(
                "no leader: {} is gone and no member sees a new one",
                crate::text::escape(&store.name_of(o))
            );
            flash(store, Level::Error, text);
        }
        _ => {}
    }
    old.is_some()
}

fn clamp_cursors(store: &mut Store) {
    let n = store.visible_members().len();
    store.ui.members.selected = store.ui.members.selected.min(n.saturating_sub(1));
    let n = store.inventory_rows().len();
    store.ui.inventory.selected = store.ui.inventory.selected.min(n.saturating_sub(1));
}

/// `850ms`, `12s`, `3m05s`, `2h10m`.
pub fn human_duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s == 0 {
        format!("{}ms", d.as_millis())
    } else if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}
