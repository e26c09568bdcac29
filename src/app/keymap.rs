//! One keymap table: (key) -> action, with a description and a `dangerous` flag. The footer hints,
//! the help overlay and read-only mode all read it, so what the screen says is what the keys do.

use std::collections::BTreeMap;
use std::fmt;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

/// What a key asks for, named by intent. The names are the keys of `[keys]` in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    Help,
    NextPane,
    PrevPane,
    #[serde(rename = "pane_1")]
    Pane1,
    #[serde(rename = "pane_2")]
    Pane2,
    #[serde(rename = "pane_3")]
    Pane3,
    #[serde(rename = "pane_4")]
    Pane4,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Filter,
    Refresh,
    Back,
    Clusters,
    Expand,
    Collapse,
    NextCluster,
    PrevCluster,
    CopyKey,
    CopyValue,
    ValueDown,
    ValueUp,
    Zoom,
    PatroniRows,
    DefragAll,
    DefragMember,
    Compact,
    Snapshot,
    AlarmRecover,
    MoveLeader,
    MemberAdd,
    MemberAddIp,
    MemberPromote,
    MemberRemove,
    MemberReplace,
    Training,
}

impl Action {
    /// Every action, in the order help lists them.
    pub const ALL: [Action; 40] = [
        Action::Help,
        Action::Quit,
        Action::NextPane,
        Action::PrevPane,
        Action::Pane1,
        Action::Pane2,
        Action::Pane3,
        Action::Pane4,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::Filter,
        Action::Refresh,
        Action::Back,
        Action::Clusters,
        Action::Expand,
        Action::Collapse,
        Action::NextCluster,
        Action::PrevCluster,
        Action::CopyKey,
        Action::CopyValue,
        Action::ValueDown,
        Action::ValueUp,
        Action::Zoom,
        Action::PatroniRows,
        Action::DefragAll,
        Action::DefragMember,
        Action::Compact,
        Action::Snapshot,
        Action::AlarmRecover,
        Action::MoveLeader,
        Action::MemberAdd,
        Action::MemberAddIp,
        Action::MemberPromote,
        Action::MemberRemove,
        Action::MemberReplace,
        Action::Training,
    ];

    /// The config-file name of the action.
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::NextPane => "next_pane",
            Action::PrevPane => "prev_pane",
            Action::Pane1 => "pane_1",
            Action::Pane2 => "pane_2",
            Action::Pane3 => "pane_3",
            Action::Pane4 => "pane_4",
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::Filter => "filter",
            Action::Refresh => "refresh",
            Action::Back => "back",
            Action::Clusters => "clusters",
            Action::Expand => "expand",
            Action::Collapse => "collapse",
            Action::NextCluster => "next_cluster",
            Action::PrevCluster => "prev_cluster",
            Action::CopyKey => "copy_key",
            Action::CopyValue => "copy_value",
            Action::ValueDown => "value_down",
            Action::ValueUp => "value_up",
            Action::Zoom => "zoom",
            Action::PatroniRows => "patroni_rows",
            Action::DefragAll => "defrag_all",
            Action::DefragMember => "defrag_member",
            Action::Compact => "compact",
            Action::Snapshot => "snapshot",
            Action::AlarmRecover => "alarm_recover",
            Action::MoveLeader => "move_leader",
            Action::MemberAdd => "member_add",
            Action::MemberAddIp => "member_add_ip",
            Action::MemberPromote => "member_promote",
            Action::MemberRemove => "member_remove",
            Action::MemberReplace => "member_replace",
            Action::Training => "training",
        }
    }

    /// What the action does, in the words help shows.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "this help",
            Action::NextPane => "next pane",
            Action::PrevPane => "previous pane",
            Action::Pane1 => "go to pane 1",
            Action::Pane2 => "go to pane 2",
            Action::Pane3 => "go to pane 3",
            Action::Pane4 => "go to pane 4",
            Action::Up => "move up",
            Action::Down => "move down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Top => "first row",
            Action::Bottom => "last row",
            Action::Filter => "filter the list (Enter keeps, Esc clears)",
            Action::Refresh => "ask every member now",
            Action::Back => "close, clear the filter",
            Action::Clusters => "switch to another cluster (named in the config file)",
            Action::Expand => "keys: expand the directory",
            Action::Collapse => "keys: collapse, or go to the parent",
            Action::NextCluster => "keys: next Patroni cluster",
            Action::PrevCluster => "keys: previous Patroni cluster",
            Action::CopyKey => "keys: copy the key (OSC 52 clipboard)",
            Action::CopyValue => "keys: copy the value (OSC 52 clipboard)",
            Action::ValueDown => "keys: scroll the value or summary down",
            Action::ValueUp => "keys: scroll the value or summary up",
            Action::Zoom => "timeline: 1 s, 10 s or 1 min per column",
            Action::PatroniRows => "timeline: a row per Patroni cluster, or one row for all",
            Action::DefragAll => "members: defragment all voters in turn (wizard)",
            Action::DefragMember => "members: defragment the selected member (wizard)",
            Action::Compact => "members: compact the history to 24 h ago (wizard)",
            Action::Snapshot => "members: save a snapshot of the database (wizard)",
            Action::AlarmRecover => "members: recover from the NOSPACE alarm (wizard)",
            Action::MoveLeader => "members: make the selected member leader (wizard)",
            Action::MemberAdd => "inventory: add the selected host as a member (wizard)",
            Action::MemberAddIp => "inventory: add a member at an IP typed (wizard)",
            Action::MemberPromote => "members: promote the selected learner (wizard)",
            Action::MemberRemove => "members: remove the selected member (wizard)",
            Action::MemberReplace => "members: replace the selected member by a new IP (wizard)",
            Action::Training => {
                "demo: drills (kill, freeze, thaw, restart a member; switch or fail Patroni \
                 over; fill to NOSPACE)"
            }
        }
    }

    /// A dangerous action changes the cluster; read-only mode removes it from the keymap.
    pub fn dangerous(self) -> bool {
        matches!(
            self,
            Action::DefragAll
                | Action::DefragMember
                | Action::Compact
                | Action::AlarmRecover
                | Action::MoveLeader
                | Action::MemberAdd
                | Action::MemberAddIp
                | Action::MemberPromote
                | Action::MemberRemove
                | Action::MemberReplace
                | Action::Training
        )
    }

    /// The wizard an action opens, if it opens one.
    pub fn wizard(self) -> Option<crate::wizard::Op> {
        use crate::wizard::Op;
        match self {
            Action::DefragAll | Action::DefragMember => Some(Op::Defrag),
            Action::Compact => Some(Op::Compact),
            Action::Snapshot => Some(Op::Snapshot),
            Action::AlarmRecover => Some(Op::AlarmRecover),
            Action::MoveLeader => Some(Op::MoveLeader),
            Action::MemberAdd | Action::MemberAddIp => Some(Op::MemberAdd),
            Action::MemberPromote => Some(Op::MemberPromote),
            Action::MemberRemove => Some(Op::MemberRemove),
            Action::MemberReplace => Some(Op::MemberReplace),
            _ => None,
        }
    }

    /// The pane number a `pane_N` action goes to.
    pub fn pane_number(self) -> Option<usize> {
        match self {
            Action::Pane1 => Some(1),
            Action::Pane2 => Some(2),
            Action::Pane3 => Some(3),
            Action::Pane4 => Some(4),
            _ => None,
        }
    }
}

/// One key with its modifiers, as written in the config (`ctrl-c`, `shift-tab`, `G`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    /// The key of a terminal event. Shift is folded into the character (`G`), and Shift-Tab into
    /// BackTab, so one spelling matches however the terminal reports it.
    pub fn from_event(ev: &KeyEvent) -> Key {
        let code = match ev.code {
            KeyCode::Tab if ev.modifiers.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            c => c,
        };
        Key {
            code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parse `q`, `ctrl-c`, `shift-tab`, `pagedown`, `f1`.
    pub fn parse(spec: &str) -> Result<Key, String> {
        let mut rest = spec;
        let (mut ctrl, mut alt, mut shift) = (false, false, false);
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.len() > 1 && lower.starts_with("ctrl-") {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.len() > 1 && lower.starts_with("alt-") {
                alt = true;
                rest = &rest[4..];
            } else if rest.len() > 1 && lower.starts_with("shift-") {
                shift = true;
                rest = &rest[6..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(if shift { c.to_ascii_uppercase() } else { c }),
            _ => match rest.to_ascii_lowercase().as_str() {
                "tab" if shift => KeyCode::BackTab,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pageup" | "pgup" => KeyCode::PageUp,
                "pagedown" | "pgdn" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "delete" | "del" => KeyCode::Delete,
                f if f.starts_with('f')
                    && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
                {
                    KeyCode::F(f[1..].parse().unwrap_or(1))
                }
                _ => {
                    return Err(format!(
                    "{spec:?} is not a key: use a character, a name like tab, esc, pagedown, f1, \
                         optionally after ctrl-, alt- or shift-"
                ))
                }
            },
        };
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("^")?;
        }
        if self.alt {
            f.write_str("M-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) if self.ctrl => write!(f, "{}", c.to_ascii_uppercase()),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("S-Tab"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Backspace => f.write_str("Bksp"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::Delete => f.write_str("Del"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One line of the table: an action, its keys, and whether it is shown in read-only mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub action: Action,
    pub keys: Vec<Key>,
    pub description: &'static str,
    pub dangerous: bool,
}

/// The keymap in force: the defaults, the user's overrides, and read-only mode applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

impl Keymap {
    /// Build from `action name -> keys` (the `[keys]` table). Actions left out have no key.
    pub fn from_table(table: &BTreeMap<Action, Vec<String>>) -> Result<Keymap, String> {
        let mut bindings = Vec::new();
        for action in Action::ALL {
            let Some(specs) = table.get(&action) else {
                continue;
            };
            let keys = specs
                .iter()
                .map(|s| Key::parse(s).map_err(|e| format!("keys.{}: {e}", action.name())))
                .collect::<Result<Vec<_>, _>>()?;
            bindings.push(Binding {
                action,
                keys,
                description: action.describe(),
                dangerous: action.dangerous(),
            });
        }
        let km = Keymap { bindings };
        km.check_conflicts()?;
        Ok(km)
    }

    /// Build from explicit bindings (tests, and actions that come with later panes).
    pub fn from_bindings(bindings: Vec<Binding>) -> Keymap {
        Keymap { bindings }
    }

    fn check_conflicts(&self) -> Result<(), String> {
        let mut seen: std::collections::HashMap<Key, Action> = std::collections::HashMap::new();
        for b in &self.bindings {
            for k in &b.keys {
                if let Some(other) = seen.insert(*k, b.action).filter(|a| *a != b.action) {
                    return Err(format!(
                        "key {k} is bound to both {} and {}: give each key one action",
                        other.name(),
                        b.action.name()
                    ));
                }
            }
        }
        Ok(())
    }

    /// The same keymap without the dangerous actions (read-only mode): they are neither shown nor
    /// reachable.
    pub fn read_only(mut self) -> Keymap {
        self.bindings.retain(|b| !b.dangerous);
        self
    }

    /// The action bound to a key event, if any.
    pub fn action(&self, ev: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(ev);
        self.bindings
            .iter()
            .find(|b| b.keys.contains(&key))
            .map(|b| b.action)
    }

    /// The bindings, in help order.
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The first key of an action, as the footer writes it (`?`, `^C`, `S-Tab`).
    pub fn key_of(&self, action: Action) -> Option<String> {
        self.bindings
            .iter()
            .find(|b| b.action == action)
            .and_then(|b| b.keys.first())
            .map(|k| k.to_string())
    }

    /// All keys of an action joined with `/`, as help writes them.
    pub fn keys_of(&self, action: Action) -> String {
        self.bindings
            .iter()
            .find(|b| b.action == action)
            .map(|b| {
                let mut shown: Vec<String> = Vec::new();
                for k in &b.keys {
                    let k = k.to_string();
                    if !shown.contains(&k) {
                        shown.push(k);
                    }
                }
                shown.join("/")
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEventKind;

    fn ev(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent {
            code,
            modifiers,
            kind: KeyEventKind::Press,
            state: ratatui::crossterm::event::KeyEventState::NONE,
        }
    }

    fn table(pairs: &[(Action, &[&str])]) -> BTreeMap<Action, Vec<String>> {
        pairs
            .iter()
            .map(|(a, keys)| (*a, keys.iter().map(|k| k.to_string()).collect()))
            .collect()
    }

    #[test]
    fn key_specs_parse_and_print_as_the_footer_shows_them() {
        for (spec, shown) in [
            ("q", "q"),
            ("ctrl-c", "^C"),
            ("shift-tab", "S-Tab"),
            ("backtab", "S-Tab"),
            ("G", "G"),
            ("shift-g", "G"),
            ("pagedown", "PgDn"),
            ("f1", "F1"),
            ("?", "?"),
            ("esc", "Esc"),
        ] {
            assert_eq!(Key::parse(spec).unwrap().to_string(), shown, "{spec}");
        }
        let err = Key::parse("ctrl-banana").unwrap_err();
        assert!(err.contains("\"ctrl-banana\" is not a key"), "{err}");
    }

    #[test]
    fn events_match_however_the_terminal_reports_shift() {
        let km = Keymap::from_table(&table(&[
            (Action::PrevPane, &["shift-tab"]),
            (Action::Bottom, &["G"]),
            (Action::Quit, &["q", "ctrl-c"]),
        ]))
        .unwrap();
        assert_eq!(
            km.action(&ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::PrevPane)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Tab, KeyModifiers::SHIFT)),
            Some(Action::PrevPane)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            km.action(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(km.action(&ev(KeyCode::Char('c'), KeyModifiers::NONE)), None);
    }

    #[test]
    fn one_key_for_two_actions_is_refused() {
        let err = Keymap::from_table(&table(&[(Action::Quit, &["x"]), (Action::Refresh, &["x"])]))
            .unwrap_err();
        assert_eq!(
            err,
            "key x is bound to both quit and refresh: give each key one action"
        );
    }

    #[test]
    fn read_only_removes_dangerous_bindings_from_keys_and_help() {
        let km = Keymap::from_bindings(vec![
            Binding {
                action: Action::Refresh,
                keys: vec![Key::parse("r").unwrap()],
                description: "ask every member now",
                dangerous: false,
            },
            Binding {
                action: Action::Back,
                keys: vec![Key::parse("D").unwrap()],
                description: "defragment (a dangerous stand-in)",
                dangerous: true,
            },
        ]);
        let d = ev(KeyCode::Char('D'), KeyModifiers::SHIFT);
        assert_eq!(km.action(&d), Some(Action::Back));
        let ro = km.read_only();
        assert_eq!(ro.action(&d), None);
        assert_eq!(ro.bindings().len(), 1);
        assert_eq!(ro.key_of(Action::Refresh).as_deref(), Some("r"));
    }
}
