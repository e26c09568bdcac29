//! Console settings: the defaults in `assets/config.toml`, overridden by the user's file
//! (`$XDG_CONFIG_HOME/etcdeck/config.toml` or `--config`), then by flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use ratatui::style::Color;
use serde::Deserialize;

use super::keymap::{Action, Key, Keymap};
use toml::Spanned;

/// The defaults, shipped in the binary.
pub const DEFAULTS: &str = include_str!("../../assets/config.toml");

/// The file as written: every field optional, so a user file holds only what it changes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    refresh: Option<String>,
    wizard_settle: Option<String>,
    #[serde(default)]
    keys: BTreeMap<Action, Spanned<Vec<String>>>,
    #[serde(default)]
    colors: BTreeMap<ColorRole, Spanned<ColorValue>>,
    #[serde(default)]
    clusters: BTreeMap<String, Spanned<ClusterFile>>,
}

/// A `[clusters.NAME]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterFile {
    inventory: Option<String>,
    env: Option<String>,
    endpoints: Option<Vec<String>>,
    cacert: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    namespace: Option<String>,
}

/// A cluster named in the config file (`[clusters.NAME]`), for `--cluster NAME` and the
/// console's switcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedCluster {
    pub name: String,
    pub source: ClusterSource,
    /// Patroni's namespace there (`--namespace`), when given.
    pub namespace: Option<String>,
    /// `file:LINE` of its table, for messages.
    pub at: String,
}

/// Where a named cluster's connection comes from: exactly one of these. Paths are absolute
/// (a relative one is taken from the config file's folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterSource {
    /// A Pigsty inventory, as `-i FILE`; TLS files as `--cacert`/`--cert`/`--key` when given.
    Inventory { path: PathBuf, tls: ClusterTls },
    /// An `etcdctl.sh`-style file of `export ETCDCTL_...=` lines, read as the environment.
    Env(PathBuf),
    /// Endpoints as `--endpoints`, with their TLS files.
    Endpoints {
        endpoints: Vec<String>,
        tls: ClusterTls,
    },
}

/// The TLS files of a named cluster, each as its flag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterTls {
    pub cacert: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl NamedCluster {
    /// `inventory FILE`, `env FILE` or `endpoints A,B`: what the switcher shows beside the name.
    pub fn describe(&self) -> String {
        match &self.source {
            ClusterSource::Inventory { path, .. } => format!("inventory {}", path.display()),
            ClusterSource::Env(path) => format!("env {}", path.display()),
            ClusterSource::Endpoints { endpoints, .. } => {
                format!("endpoints {}", endpoints.join(","))
            }
        }
    }
}

/// A cluster's name is typed after `--cluster`: letters, digits, `-`, `_` and `.` only.
fn valid_cluster_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `path` as written in the config file at `file`: `~/` is the home folder, a relative path is
/// taken from the file's folder.
fn config_path(written: &str, file: &Path, home: Option<&Path>) -> PathBuf {
    if let (Some(rest), Some(home)) = (written.strip_prefix("~/"), home) {
        return home.join(rest);
    }
    let p = Path::new(written);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    file.parent().unwrap_or(Path::new("")).join(p)
}

/// The `[clusters]` of a file, checked: each has one source, TLS files where they fit.
fn clusters_of(
    f: &File,
    text: &str,
    file: &Path,
    home: Option<&Path>,
) -> Result<Vec<NamedCluster>, String> {
    let shown = file.display().to_string();
    let mut out = Vec::new();
    for (name, table) in &f.clusters {
        let at = at_line(&shown, text, table.span().start);
        let c = table.get_ref();
        let bad = |why: String| format!("{at}: clusters.{name}: {why}");
        if !valid_cluster_name(name) {
            return Err(bad(
                "a cluster's name may have letters, digits, `-`, `_` and `.` only".into(),
            ));
        }
        let path = |w: &Option<String>| w.as_deref().map(|w| config_path(w, file, home));
        let tls = ClusterTls {
            cacert: path(&c.cacert),
            cert: path(&c.cert),
            key: path(&c.key),
        };
        if tls.cert.is_some() != tls.key.is_some() {
            return Err(bad(
                "cert and key go together: a client certificate needs its key".into(),
            ));
        }
        let given: Vec<&str> = [
            ("inventory", c.inventory.is_some()),
            ("env", c.env.is_some()),
            ("endpoints", c.endpoints.is_some()),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(n, _)| *n)
        .collect();
        let source = match given.as_slice() {
            ["inventory"] => ClusterSource::Inventory {
                path: path(&c.inventory).unwrap_or_default(),
                tls,
            },
            ["env"] => {
                if tls != ClusterTls::default() {
                    return Err(bad(
                        "with env, the TLS files come from the env file (ETCDCTL_CACERT, \
                         ETCDCTL_CERT, ETCDCTL_KEY): leave cacert, cert and key out"
                            .into(),
                    ));
                }
                ClusterSource::Env(path(&c.env).unwrap_or_default())
            }
            ["endpoints"] => {
                let endpoints: Vec<String> = c
                    .endpoints
                    .iter()
                    .flatten()
                    .map(|e| e.trim().to_string())
                    .filter(|e| !e.is_empty())
                    .collect();
                if endpoints.is_empty() {
                    return Err(bad(
                        "endpoints is empty: list them, e.g. [\"https://10.10.10.10:2379\"]".into(),
                    ));
                }
                ClusterSource::Endpoints { endpoints, tls }
            }
            [] => {
                return Err(bad(
                    "no source: give one of inventory = \"FILE\", env = \"FILE\" (an \
                     etcdctl.sh) or endpoints = [\"https://IP:2379\", ...]"
                        .into(),
                ))
            }
            many => {
                return Err(bad(format!(
                    "{} given: a cluster has exactly one source (inventory, env or endpoints)",
                    many.join(" and ")
                )))
            }
        };
        if c.namespace.as_deref().is_some_and(|n| !n.starts_with('/')) {
            return Err(bad(
                "namespace is a key prefix like \"/pg\": it starts with /".into(),
            ));
        }
        out.push(NamedCluster {
            name: name.clone(),
            source,
            namespace: c.namespace.clone(),
            at,
        });
    }
    Ok(out)
}

/// A colour as written: a name (`cyan`, `#rrggbb`, `"33"`) or a 256-colour index (`33`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum ColorValue {
    Index(i64),
    Name(String),
}

impl ColorValue {
    fn color(&self) -> Result<Color, String> {
        match self {
            ColorValue::Index(n) => u8::try_from(*n).map(Color::Indexed).map_err(|_| {
                format!("{n} is not a colour index: use 0-255, a name like cyan, or #rrggbb")
            }),
            ColorValue::Name(text) => Color::from_str(text).map_err(|_| {
                format!("{text:?} is not a colour: use a name like cyan, #rrggbb or 0-255")
            }),
        }
    }
}

/// `file:LINE` for a value at byte `at` of `text`.
fn at_line(file: &str, text: &str, at: usize) -> String {
    let line = text.get(..at).map_or(0, |t| t.matches('\n').count()) + 1;
    format!("{file}:{line}")
}

/// What each colour is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorRole {
    Accent,
    Ok,
    Warn,
    Error,
    Dim,
    SelectedBg,
}

impl ColorRole {
    /// The name in the file.
    pub fn name(self) -> &'static str {
        match self {
            ColorRole::Accent => "accent",
            ColorRole::Ok => "ok",
            ColorRole::Warn => "warn",
            ColorRole::Error => "error",
            ColorRole::Dim => "dim",
            ColorRole::SelectedBg => "selected_bg",
        }
    }
}

/// Colours by role; `no_color` turns them all off (NO_COLOR), keeping bold and reverse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub accent: Color,
    pub ok: Color,
    pub warn: Color,
    pub error: Color,
    pub dim: Color,
    pub selected_bg: Color,
    pub no_color: bool,
}

impl Theme {
    /// Every colour off: the screen is drawn with bold, dim and reverse only.
    pub fn monochrome() -> Theme {
        Theme {
            accent: Color::Reset,
            ok: Color::Reset,
            warn: Color::Reset,
            error: Color::Reset,
            dim: Color::Reset,
            selected_bg: Color::Reset,
            no_color: true,
        }
    }
}

/// The settings in force.
#[derive(Debug, Clone)]
pub struct Config {
    pub refresh: Duration,
    /// The wizards' pause between members (`wizard_settle`).
    pub wizard_settle: Duration,
    pub keymap: Keymap,
    pub theme: Theme,
    /// The clusters named in the user's file (`[clusters.NAME]`), in name order.
    pub clusters: Vec<NamedCluster>,
}

/// The user's config file: `$XDG_CONFIG_HOME/etcdeck/config.toml`, else
/// `~/.config/etcdeck/config.toml`.
pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("XDG_CONFIG_HOME")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|base| base.join("etcdeck").join("config.toml"))
}

impl Config {
    /// Defaults, then `user` (text and where it came from) on top. `no_color`: NO_COLOR is set.
    pub fn build(user: Option<(&str, &Path)>, no_color: bool) -> Result<Config, String> {
        let defaults = parse(DEFAULTS, Path::new("assets/config.toml"))?;
        let user_file = match user {
            Some((text, path)) => Some(parse(text, path)?),
            None => None,
        };
        let pick = |f: &dyn Fn(&File) -> Option<String>| {
            user_file.as_ref().and_then(f).or_else(|| f(&defaults))
        };
        let refresh_text = pick(&|f: &File| f.refresh.clone()).unwrap_or_else(|| "1s".into());
        let where_ = user.map_or("assets/config.toml".to_string(), |(_, p)| {
            p.display().to_string()
        });
        let refresh = crate::cli::parse_duration(&refresh_text)
            .map_err(|e| format!("{where_}: refresh: {e}"))?;
        if refresh < Duration::from_millis(100) {
            return Err(format!(
                "{where_}: refresh = {refresh_text:?} is too short: use 100ms or more"
            ));
        }

        let settle_text = pick(&|f: &File| f.wizard_settle.clone()).unwrap_or_else(|| "5s".into());
        let wizard_settle = crate::cli::parse_duration(&settle_text)
            .map_err(|e| format!("{where_}: wizard_settle: {e}"))?;

        let user_text = user.map_or("", |(t, _)| t);
        let mut keys: BTreeMap<Action, Vec<String>> = defaults
            .keys
            .iter()
            .map(|(a, specs)| (*a, specs.get_ref().clone()))
            .collect();
        if let Some(u) = &user_file {
            for (action, specs) in &u.keys {
                // Each key name is checked here, where its line is known.
                for spec in specs.get_ref() {
                    Key::parse(spec).map_err(|e| {
                        let at = at_line(&where_, user_text, specs.span().start);
                        format!("{at}: keys.{}: {e}", action.name())
                    })?;
                }
                keys.insert(*action, specs.get_ref().clone());
            }
        }
        let keymap = Keymap::from_table(&keys).map_err(|e| format!("{where_}: {e}"))?;

        let mut colors: BTreeMap<ColorRole, (Result<Color, String>, String)> = BTreeMap::new();
        for (role, c) in &defaults.colors {
            let at = at_line("assets/config.toml", DEFAULTS, c.span().start);
            colors.insert(*role, (c.get_ref().color(), at));
        }
        if let Some(u) = &user_file {
            for (role, c) in &u.colors {
                let at = at_line(&where_, user_text, c.span().start);
                colors.insert(*role, (c.get_ref().color(), at));
            }
        }
        let color = |role: ColorRole| -> Result<Color, String> {
            match colors.get(&role) {
                None => Ok(Color::Reset),
                Some((Ok(c), _)) => Ok(*c),
                Some((Err(e), at)) => Err(format!("{at}: colors.{}: {e}", role.name())),
            }
        };
        let theme = if no_color {
            Theme::monochrome()
        } else {
            Theme {
                accent: color(ColorRole::Accent)?,
                ok: color(ColorRole::Ok)?,
                warn: color(ColorRole::Warn)?,
                error: color(ColorRole::Error)?,
                dim: color(ColorRole::Dim)?,
                selected_bg: color(ColorRole::SelectedBg)?,
                no_color: false,
            }
        };
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let clusters = match (&user_file, user) {
            (Some(u), Some((text, path))) => clusters_of(u, text, path, home.as_deref())?,
            _ => Vec::new(),
        };
        Ok(Config {
            refresh,
            wizard_settle,
            keymap,
            theme,
            clusters,
        })
    }

    /// The cluster named `name`; an unknown name is an error that lists the names there are.
    pub fn cluster(&self, name: &str) -> Result<&NamedCluster, String> {
        if let Some(c) = self.clusters.iter().find(|c| c.name == name) {
            return Ok(c);
        }
        if self.clusters.is_empty() {
            return Err(format!(
                "--cluster {name}: no clusters are configured: name them in the config file \
                 ($XDG_CONFIG_HOME/etcdeck/config.toml or --config FILE) as [clusters.{name}] \
                 with inventory = \"FILE\", env = \"FILE\" or endpoints = [\"https://IP:2379\"]"
            ));
        }
        let names: Vec<&str> = self.clusters.iter().map(|c| c.name.as_str()).collect();
        Err(format!(
            "--cluster {name}: no such cluster; the config file names {}",
            names.join(", ")
        ))
    }

    /// Read the user's file at `path` if it exists (a missing default file is not an error; a
    /// missing `--config` file is).
    pub fn load(path: Option<&Path>, explicit: bool, no_color: bool) -> Result<Config, String> {
        let text = match path {
            Some(p) => match crate::input::read(p, crate::input::CONFIG_LIMIT, "a config file") {
                Ok(bytes) => Some(String::from_utf8(bytes).map_err(|e| {
                    format!(
                        "{}: not UTF-8 text (byte {} is not UTF-8)",
                        p.display(),
                        e.utf8_error().valid_up_to() + 1
                    )
                })?),
                Err(e) if e.is_not_found() && !explicit => None,
                Err(e) => return Err(format!("{}: {e}", p.display())),
            },
            None => None,
        };
        match (text, path) {
            (Some(t), Some(p)) => Config::build(Some((&t, p)), no_color),
            _ => Config::build(None, no_color),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        // The shipped defaults parse: the unit test below holds that.
        Config::build(None, false).unwrap_or_else(|e| panic!("assets/config.toml: {e}"))
    }
}

fn parse(text: &str, path: &Path) -> Result<File, String> {
    toml::from_str(text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    #[test]
    fn shipped_defaults_load_with_every_action_bound() {
        let c = Config::build(None, false).unwrap();
        assert_eq!(c.refresh, Duration::from_secs(1));
        assert_eq!(c.wizard_settle, Duration::from_secs(5));
        for a in Action::ALL {
            assert!(
                !c.keymap.keys_of(a).is_empty(),
                "{} has no key in assets/config.toml",
                a.name()
            );
        }
        assert_eq!(c.theme.accent, Color::Cyan);
    }

    #[test]
    fn a_config_file_is_read_bounded_and_must_be_a_regular_utf8_file() {
        let dir = tempfile::TempDir::new().unwrap();
        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; (1 << 20) + 1]).unwrap();
        let e = Config::load(Some(&big), true, false).unwrap_err();
        assert!(
            e.contains("big.toml: larger than 1.0 MiB, the limit for a config file"),
            "{e}"
        );
        let e = Config::load(Some(Path::new("/dev/zero")), true, false).unwrap_err();
        assert!(
            e.contains("/dev/zero: not a regular file (a device)"),
            "{e}"
        );
        let latin1 = dir.path().join("latin1.toml");
        std::fs::write(&latin1, b"# caf\xe9\n").unwrap();
        let e = Config::load(Some(&latin1), true, false).unwrap_err();
        assert!(e.contains("not UTF-8 text (byte 6"), "{e}");
        // A missing default file is no error; a missing --config file is.
        let none = dir.path().join("none.toml");
        assert!(Config::load(Some(&none), false, false).is_ok());
        assert!(Config::load(Some(&none), true, false)
            .unwrap_err()
            .contains("no such file"));
    }

    #[test]
    fn user_file_overrides_only_what_it_names() {
        let user = "refresh = \"250ms\"\nwizard_settle = \"200ms\"\n[keys]\nquit = [\"x\"]\n\
                    [colors]\nok = \"#00ff00\"\n";
        let c = Config::build(Some((user, Path::new("my.toml"))), false).unwrap();
        assert_eq!(c.refresh, Duration::from_millis(250));
        assert_eq!(c.wizard_settle, Duration::from_millis(200));
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        let x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
        assert_eq!(c.keymap.action(&q), None);
        assert_eq!(c.keymap.action(&x), Some(Action::Quit));
        assert_eq!(c.keymap.keys_of(Action::Help), "?/F1");
        assert_eq!(c.theme.ok, Color::Rgb(0, 255, 0));
        assert_eq!(c.theme.error, Color::Red);
    }

    #[test]
    fn mistakes_in_the_user_file_are_named() {
        let bad =
            |text: &str| Config::build(Some((text, Path::new("my.toml"))), false).unwrap_err();
        assert!(bad("refersh = \"1s\"").contains("unknown field `refersh`"));
        assert!(bad("[keys]\nquitt = [\"q\"]").contains("my.toml"));
        assert_eq!(
            bad("refresh = \"10ms\""),
            "my.toml: refresh = \"10ms\" is too short: use 100ms or more"
        );
        assert!(
            bad("[keys]\nrefresh = [\"q\"]").contains("key q is bound to both quit and refresh")
        );
        assert!(bad("[colors]\nok = \"banana\"").contains("\"banana\" is not a colour"));
    }

    #[test]
    fn colour_indexes_are_integers_or_names() {
        let user = "[colors]\naccent = 33\nok = \"208\"\n";
        let c = Config::build(Some((user, Path::new("my.toml"))), false).unwrap();
        assert_eq!(c.theme.accent, Color::Indexed(33));
        assert_eq!(c.theme.ok, Color::Indexed(208));
        let e = Config::build(
            Some(("[colors]\n\nwarn = 300", Path::new("my.toml"))),
            false,
        )
        .unwrap_err();
        assert_eq!(
            e,
            "my.toml:3: colors.warn: 300 is not a colour index: use 0-255, a name like cyan, or #rrggbb"
        );
    }

    #[test]
    fn mistakes_of_meaning_carry_their_line() {
        let bad =
            |text: &str| Config::build(Some((text, Path::new("my.toml"))), false).unwrap_err();
        let e = bad("refresh = \"1s\"\n[keys]\nhelp = [\"?\"]\nquit = [\"ctrl-banana\"]\n");
        assert!(e.starts_with("my.toml:4: keys.quit: "), "{e}");
        let e = bad("[colors]\nok = \"green\"\n\ndim = \"banana\"\n");
        assert!(e.starts_with("my.toml:4: colors.dim: "), "{e}");
        // An unknown action or field: toml's own message, which has the line.
        let e = bad("[keys]\n\nquitt = [\"q\"]");
        assert!(e.contains("line 3") && e.contains("quitt"), "{e}");
    }

    #[test]
    fn no_color_turns_every_colour_off() {
        let c = Config::build(None, true).unwrap();
        assert_eq!(c.theme, Theme::monochrome());
    }

    #[test]
    fn config_path_follows_xdg() {
        let env = |k: &str| match k {
            "XDG_CONFIG_HOME" => Some("/x".to_string()),
            "HOME" => Some("/home/u".to_string()),
            _ => None,
        };
        assert_eq!(
            default_path(&env),
            Some(PathBuf::from("/x/etcdeck/config.toml"))
        );
        let env = |k: &str| (k == "HOME").then(|| "/home/u".to_string());
        assert_eq!(
            default_path(&env),
            Some(PathBuf::from("/home/u/.config/etcdeck/config.toml"))
        );
    }

    fn clusters(text: &str) -> Result<Vec<NamedCluster>, String> {
        Config::build(
            Some((text, Path::new("/home/dba/.config/etcdeck/config.toml"))),
            false,
        )
        .map(|c| c.clusters)
    }

    #[test]
    fn named_clusters_have_one_source_each_with_paths_from_the_file_folder() {
        let text = "refresh = \"1s\"\n\
                    [clusters.prod]\ninventory = \"/home/dba/pigsty/pigsty.yml\"\n\
                    [clusters.staging]\nenv = \"staging/etcdctl.sh\"\n\
                    [clusters.lab]\nendpoints = [\"https://10.0.0.1:2379\", \"https://10.0.0.2:2379\"]\n\
                    cacert = \"lab/ca.crt\"\ncert = \"/pki/lab.crt\"\nkey = \"/pki/lab.key\"\n";
        let c = clusters(text).unwrap();
        let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["lab", "prod", "staging"]);
        assert_eq!(
            c[1].source,
            ClusterSource::Inventory {
                path: "/home/dba/pigsty/pigsty.yml".into(),
                tls: ClusterTls::default()
            }
        );
        assert_eq!(
            c[2].source,
            ClusterSource::Env("/home/dba/.config/etcdeck/staging/etcdctl.sh".into())
        );
        assert_eq!(
            c[0].source,
            ClusterSource::Endpoints {
                endpoints: vec![
                    "https://10.0.0.1:2379".into(),
                    "https://10.0.0.2:2379".into()
                ],
                tls: ClusterTls {
                    cacert: Some("/home/dba/.config/etcdeck/lab/ca.crt".into()),
                    cert: Some("/pki/lab.crt".into()),
                    key: Some("/pki/lab.key".into()),
                }
            }
        );
        assert_eq!(
            c[2].describe(),
            "env /home/dba/.config/etcdeck/staging/etcdctl.sh"
        );
        // The shipped defaults name none.
        assert!(Config::build(None, false).unwrap().clusters.is_empty());
    }

    #[test]
    fn a_cluster_without_a_source_or_with_two_is_refused_at_its_line() {
        let e =
            clusters("refresh = \"1s\"\n\n[clusters.prod]\ncacert = \"/ca.crt\"\n").unwrap_err();
        assert!(
            e.starts_with("/home/dba/.config/etcdeck/config.toml:3: clusters.prod: no source"),
            "{e}"
        );
        let e = clusters("[clusters.prod]\ninventory = \"a.yml\"\nenv = \"b.sh\"\n").unwrap_err();
        assert!(
            e.ends_with(
                "config.toml:1: clusters.prod: inventory and env given: a cluster has exactly \
                 one source (inventory, env or endpoints)"
            ),
            "{e}"
        );
        let e = clusters("[clusters.s]\nenv = \"b.sh\"\ncacert = \"ca.crt\"\n").unwrap_err();
        assert!(
            e.contains("config.toml:1: clusters.s: with env, the TLS files"),
            "{e}"
        );
        let e = clusters("[clusters.l]\nendpoints = [\"https://a:2379\"]\nnamespace = \"pg\"\n")
            .unwrap_err();
        assert!(e.contains("clusters.l: namespace is a key prefix"), "{e}");
        let e = clusters("[clusters.l]\nendpoints = []\n").unwrap_err();
        assert!(e.contains("clusters.l: endpoints is empty"), "{e}");
        let e =
            clusters("[clusters.l]\nendpoints = [\"https://a:2379\"]\ncert = \"c\"\n").unwrap_err();
        assert!(e.contains("clusters.l: cert and key go together"), "{e}");
        let e = clusters("[clusters.\"my prod\"]\ninventory = \"a.yml\"\n").unwrap_err();
        assert!(
            e.contains("clusters.my prod: a cluster's name may have"),
            "{e}"
        );
        // A field the table does not know: toml's message, with its line.
        let e = clusters("[clusters.prod]\n\ninventroy = \"a.yml\"\n").unwrap_err();
        assert!(e.contains("line 3") && e.contains("inventroy"), "{e}");
    }

    #[test]
    fn an_unknown_cluster_name_lists_the_names_there_are() {
        let text = "[clusters.prod]\ninventory = \"/p.yml\"\n[clusters.staging]\nenv = \"/s.sh\"\n";
        let c = Config::build(Some((text, Path::new("c.toml"))), false).unwrap();
        assert_eq!(c.cluster("prod").unwrap().name, "prod");
        assert_eq!(
            c.cluster("prdo").unwrap_err(),
            "--cluster prdo: no such cluster; the config file names prod, staging"
        );
        let e = Config::default().cluster("prod").unwrap_err();
        assert!(
            e.contains("no clusters are configured") && e.contains("[clusters.prod]"),
            "{e}"
        );
    }

    #[test]
    fn cluster_paths_are_taken_from_the_config_folder_or_the_home_folder() {
        let file = Path::new("/etc/etcdeck/config.toml");
        let home = Some(Path::new("/home/dba"));
        assert_eq!(
            config_path("staging/etcdctl.sh", file, home),
            PathBuf::from("/etc/etcdeck/staging/etcdctl.sh")
        );
        assert_eq!(
            config_path("~/pigsty/pigsty.yml", file, home),
            PathBuf::from("/home/dba/pigsty/pigsty.yml")
        );
        assert_eq!(
            config_path("/abs.yml", file, home),
            PathBuf::from("/abs.yml")
        );
        // `--config c.toml` in the current folder: relative to it still.
        assert_eq!(
            config_path("a.sh", Path::new("c.toml"), home),
            PathBuf::from("a.sh")
        );
    }
}
