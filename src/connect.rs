//! Where to connect and how: endpoints, TLS files and auth.
//!
//! Each setting comes from the first of: a command-line flag, the `ETCDCTL_*` environment that
//! Pigsty writes to `/etc/profile.d/etcdctl.sh`, the inventory (client URLs and Pigsty's default
//! certificate paths). So on a Pigsty admin node `etcdeck` needs no flags at all.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::inventory::Inventory;

/// Default per-call timeout, as etcdctl's `--dial-timeout`/`--command-timeout` spirit.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Pigsty's CA on members and the admin node, newest layout first.
pub const PIGSTY_CA_PATHS: &[&str] = &["/etc/pki/ca.crt", "/etc/etcd/ca.crt"];
/// Pigsty's member certificate and key, used by `/etc/profile.d/etcdctl.sh`.
pub const PIGSTY_CERT_PATH: &str = "/etc/etcd/server.crt";
/// See [`PIGSTY_CERT_PATH`].
pub const PIGSTY_KEY_PATH: &str = "/etc/etcd/server.key";

/// Where a setting came from, so every error can name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag, e.g. `--cacert`.
    Flag(&'static str),
    /// An environment variable, e.g. `ETCDCTL_CACERT`.
    Env(&'static str),
    /// The inventory file.
    Inventory(String),
    /// A cluster named in the config file (`--cluster NAME`, the console's switcher).
    Cluster(String),
    /// A built-in default (Pigsty's usual path).
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(name) => write!(f, "{name}"),
            Origin::Env(name) => write!(f, "{name}"),
            Origin::Inventory(file) => write!(f, "inventory {file}"),
            Origin::Cluster(name) => write!(f, "cluster {name}"),
            Origin::Default => write!(f, "Pigsty default"),
        }
    }
}

/// A file path and where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSetting {
    pub path: PathBuf,
    pub origin: Origin,
}

impl fmt::Display for FileSetting {
    /// `ETCDCTL_CACERT=/etc/pki/ca.crt`, `--cert=x.crt`, or the bare path for defaults.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Origin::Flag(n) | Origin::Env(n) => write!(f, "{n}={}", self.path.display()),
            Origin::Cluster(name) => write!(f, "{} (cluster {name})", self.path.display()),
            _ => write!(f, "{}", self.path.display()),
        }
    }
}

/// What the command line says; `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub endpoints: Option<String>,
    pub cacert: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub user: Option<String>,
    pub timeout: Option<Duration>,
    /// A named cluster's endpoints and TLS files: below the flags, above the environment.
    pub named: Option<Named>,
}

/// What a cluster named in the config file sets as its flags would (see [`Chosen`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Named {
    pub name: String,
    pub endpoints: Option<Vec<String>>,
    pub cacert: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// The cluster chosen by name (`--cluster NAME`), read: its flag-like values, its environment
/// (an env file's variables; nothing for the other sources: the shell's `ETCDCTL_*` name
/// another cluster) and its inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chosen {
    pub named: Named,
    /// The `ETCDCTL_*` variables in force for this cluster, in place of the process's.
    pub env: std::collections::BTreeMap<String, String>,
    /// Its inventory, as `-i` (an inventory source, or `ETCDECK_INVENTORY` in its env file).
    pub inventory: Option<PathBuf>,
    /// Where it is written: `file:LINE`.
    pub at: String,
    /// Patroni's namespace there, when not `/pg`.
    pub namespace: Option<String>,
}

impl Chosen {
    /// The environment variable `name` as this cluster has it: `ETCDCTL_*` from its own
    /// variables only, anything else from the process.
    pub fn var(&self, name: &str) -> Option<String> {
        if name.starts_with("ETCDCTL_") {
            self.env.get(name).cloned()
        } else {
            process_env(name)
        }
    }
}

/// Everything needed to reach the cluster.
#[derive(Debug, Clone)]
pub struct Settings {
    pub endpoints: Vec<String>,
    pub endpoints_origin: Origin,
    pub cacert: Option<FileSetting>,
    pub cert: Option<FileSetting>,
    pub key: Option<FileSetting>,
    /// User name and password, for clusters with auth on (Pigsty 4.x: `root`).
    pub user: Option<(String, String)>,
    pub timeout: Duration,
}

/// A setting that cannot be used, said so that the operator knows what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "no etcd endpoints: pass --endpoints https://IP:2379,..., export ETCDCTL_ENDPOINTS \
         (source /etc/profile.d/etcdctl.sh on a Pigsty admin node), or point -i at the inventory"
    )]
    NoEndpoints,
    #[error("{origin}: bad endpoint {value:?}: expected https://IP:PORT or http://IP:PORT")]
    BadEndpoint { origin: Origin, value: String },
    #[error(
        "{0} is set but {1} is not: a client certificate needs its key and the other way round"
    )]
    HalfIdentity(String, String),
    #[error("{origin}: expected USER:PASSWORD (e.g. root:secret); set the password with ETCDCTL_PASSWORD if it is not in {origin}")]
    BadUser { origin: Origin },
}

/// Resolve the settings. `env` reads an environment variable (injected so tests need no process
/// state); `inventory` is consulted only for what flags and environment leave open.
pub fn resolve(
    flags: &Flags,
    env: &dyn Fn(&str) -> Option<String>,
    inventory: Option<&Inventory>,
) -> Result<Settings, SettingsError> {
    let env = |name: &'static str| {
        env(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| (name, v))
    };

    let named = flags.named.as_ref();
    let named_origin = || Origin::Cluster(named.map(|n| n.name.clone()).unwrap_or_default());
    let (endpoints, endpoints_origin) = if let Some(list) = &flags.endpoints {
        (
            split_endpoints(list, Origin::Flag("--endpoints"))?,
            Origin::Flag("--endpoints"),
        )
    } else if let Some(list) = named.and_then(|n| n.endpoints.as_ref()) {
        (
            split_endpoints(&list.join(","), named_origin())?,
            named_origin(),
        )
    } else if let Some((name, list)) = env("ETCDCTL_ENDPOINTS") {
        (
            split_endpoints(&list, Origin::Env(name))?,
            Origin::Env(name),
        )
    } else if let Some(inv) = inventory {
        let urls = inv.client_urls();
        if urls.is_empty() {
            return Err(SettingsError::NoEndpoints);
        }
        (urls, Origin::Inventory(inv.file.clone()))
    } else {
        return Err(SettingsError::NoEndpoints);
    };

    let file = |flag: &Option<PathBuf>,
                of_named: &dyn Fn(&Named) -> Option<PathBuf>,
                flag_name: &'static str,
                env_name: &'static str| {
        if let Some(p) = flag {
            Some(FileSetting {
                path: p.clone(),
                origin: Origin::Flag(flag_name),
            })
        } else if let Some(p) = named.and_then(of_named) {
            Some(FileSetting {
                path: p,
                origin: named_origin(),
            })
        } else {
            env(env_name).map(|(n, v)| FileSetting {
                path: PathBuf::from(v),
                origin: Origin::Env(n),
            })
        }
    };
    let tls_wanted = endpoints.iter().any(|e| e.starts_with("https://"));
    let default_file = |path: &str| {
        (tls_wanted && Path::new(path).exists()).then(|| FileSetting {
            path: PathBuf::from(path),
            origin: Origin::Default,
        })
    };

    let cacert = file(
        &flags.cacert,
        &|n| n.cacert.clone(),
        "--cacert",
        "ETCDCTL_CACERT",
    )
    .or_else(|| PIGSTY_CA_PATHS.iter().find_map(|p| default_file(p)));
    let mut cert = file(&flags.cert, &|n| n.cert.clone(), "--cert", "ETCDCTL_CERT");
    let mut key = file(&flags.key, &|n| n.key.clone(), "--key", "ETCDCTL_KEY");
    if cert.is_none() && key.is_none() {
        if let (Some(c), Some(k)) = (
            default_file(PIGSTY_CERT_PATH),
            default_file(PIGSTY_KEY_PATH),
        ) {
            cert = Some(c);
            key = Some(k);
        }
    }
    match (&cert, &key) {
        (Some(c), None) => {
            return Err(SettingsError::HalfIdentity(
                c.to_string(),
                "--key/ETCDCTL_KEY".into(),
            ))
        }
        (None, Some(k)) => {
            return Err(SettingsError::HalfIdentity(
                k.to_string(),
                "--cert/ETCDCTL_CERT".into(),
            ))
        }
        _ => {}
    }

    let user = if let Some(u) = &flags.user {
        Some(split_user(
            u,
            Origin::Flag("--user"),
            env("ETCDCTL_PASSWORD").map(|p| p.1),
        )?)
    } else if let Some((name, u)) = env("ETCDCTL_USER") {
        Some(split_user(
            &u,
            Origin::Env(name),
            env("ETCDCTL_PASSWORD").map(|p| p.1),
        )?)
    } else {
        None
    };

    Ok(Settings {
        endpoints,
        endpoints_origin,
        cacert,
        cert,
        key,
        user,
        timeout: flags.timeout.unwrap_or(DEFAULT_TIMEOUT),
    })
}

/// What is unsafe in settings that work: a client key others can read, a password sent over
/// plain `http://`. Said on stderr by commands; nothing is refused.
pub fn warnings(s: &Settings) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    if let Some(key) = &s.key {
        if let Ok(meta) = std::fs::metadata(&key.path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                out.push(format!(
                    "{key}: the client key can be read by others (mode {mode:04o}): chmod 600 it"
                ));
            }
        }
    }
    if let Some((user, _)) = &s.user {
        let plain: Vec<&str> = s
            .endpoints
            .iter()
            .filter(|e| e.starts_with("http://"))
            .map(String::as_str)
            .collect();
        if !plain.is_empty() {
            out.push(format!(
                "the password of user {user} goes unencrypted over plain http:// to {}: use \
                 https:// endpoints",
                plain.join(", ")
            ));
        }
    }
    out
}

fn split_endpoints(list: &str, origin: Origin) -> Result<Vec<String>, SettingsError> {
    let mut out = Vec::new();
    for raw in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let url = if raw.contains("://") {
            raw.to_string()
        } else {
            format!("https://{raw}")
        };
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        let ok = rest.is_some_and(|r| {
            let hostport = r.trim_end_matches('/');
            !hostport.is_empty() && !hostport.contains('/') && hostport.rsplit_once(':').is_some()
        });
        if !ok {
            return Err(SettingsError::BadEndpoint {
                origin,
                value: raw.to_string(),
            });
        }
        let url = url.trim_end_matches('/').to_string();
        if !out.contains(&url) {
            out.push(url);
        }
    }
    if out.is_empty() {
        return Err(SettingsError::BadEndpoint {
            origin,
            value: list.to_string(),
        });
    }
    Ok(out)
}

fn split_user(
    value: &str,
    origin: Origin,
    password: Option<String>,
) -> Result<(String, String), SettingsError> {
    match (value.split_once(':'), password) {
        (Some((u, p)), _) if !u.is_empty() => Ok((u.to_string(), p.to_string())),
        (None, Some(p)) if !value.is_empty() => Ok((value.to_string(), p)),
        _ => Err(SettingsError::BadUser { origin }),
    }
}

/// Read an environment variable of this process.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    fn example() -> Inventory {
        crate::inventory::parse(crate::inventory::EXAMPLE, "inventory.example.yml", &[])
            .expect("example inventory parses")
    }

    #[test]
    fn a_key_others_can_read_and_a_password_over_plain_http_are_warned_about() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("client.key");
        std::fs::write(&key, "x").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let flags = Flags {
            endpoints: Some("http://10.0.0.1:2379,https://10.0.0.2:2379".into()),
            cert: Some(dir.path().join("client.crt")),
            key: Some(key.clone()),
            user: Some("root:secret".into()),
            ..Flags::default()
        };
        let s = resolve(&flags, &env_of(&[]), None).unwrap();
        let w = warnings(&s);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("--key=") && w[0].contains("mode 0644"),
            "{}",
            w[0]
        );
        assert!(
            w[1].contains("user root") && w[1].contains("http://10.0.0.1:2379"),
            "{}",
            w[1]
        );
        assert!(!w[1].contains("https://10.0.0.2"), "{}", w[1]);
        // A key of mode 0600 over https only: nothing to say.
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let safe = Flags {
            endpoints: Some("https://10.0.0.2:2379".into()),
            ..flags
        };
        assert!(warnings(&resolve(&safe, &env_of(&[]), None).unwrap()).is_empty());
    }

    #[test]
    fn flags_beat_environment_which_beats_inventory() {
        let inv = example();
        let env = env_of(&[
            (
                "ETCDCTL_ENDPOINTS",
                "https://10.0.0.1:2379,https://10.0.0.2:2379",
            ),
            ("ETCDCTL_CACERT", "/env/ca.crt"),
        ]);
        let s = resolve(&Flags::default(), &env, Some(&inv)).unwrap();
        assert_eq!(
            s.endpoints,
            vec!["https://10.0.0.1:2379", "https://10.0.0.2:2379"]
        );
        assert_eq!(s.endpoints_origin, Origin::Env("ETCDCTL_ENDPOINTS"));
        assert_eq!(
            s.cacert.as_ref().unwrap().to_string(),
            "ETCDCTL_CACERT=/env/ca.crt"
        );

        let flags = Flags {
            endpoints: Some("10.9.9.9:2379".into()),
            cacert: Some("/flag/ca.crt".into()),
            ..Flags::default()
        };
        let s = resolve(&flags, &env, Some(&inv)).unwrap();
        assert_eq!(s.endpoints, vec!["https://10.9.9.9:2379"]);
        assert_eq!(s.cacert.unwrap().to_string(), "--cacert=/flag/ca.crt");

        let s = resolve(&Flags::default(), &env_of(&[]), Some(&inv)).unwrap();
        assert_eq!(
            s.endpoints,
            vec![
                "https://10.10.10.10:2379",
                "https://10.10.10.11:2379",
                "https://10.10.10.12:2379"
            ]
        );
        assert!(matches!(s.endpoints_origin, Origin::Inventory(_)));
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn no_endpoints_anywhere_says_what_to_set() {
        let err = resolve(&Flags::default(), &env_of(&[]), None).unwrap_err();
        assert_eq!(err, SettingsError::NoEndpoints);
        assert!(err.to_string().contains("ETCDCTL_ENDPOINTS"));
    }

    #[test]
    fn bad_endpoint_names_its_origin() {
        let env = env_of(&[("ETCDCTL_ENDPOINTS", "https://10.0.0.1")]);
        let err = resolve(&Flags::default(), &env, None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("ETCDCTL_ENDPOINTS: bad endpoint"),
            "{err}"
        );
    }

    #[test]
    fn user_from_env_with_separate_password_and_half_identity_refused() {
        let env = env_of(&[
            ("ETCDCTL_ENDPOINTS", "https://10.0.0.1:2379"),
            ("ETCDCTL_USER", "root"),
            ("ETCDCTL_PASSWORD", "s3cret:x"),
        ]);
        let s = resolve(&Flags::default(), &env, None).unwrap();
        assert_eq!(s.user, Some(("root".into(), "s3cret:x".into())));

        let flags = Flags {
            user: Some("root:pw".into()),
            ..Flags::default()
        };
        let s = resolve(&flags, &env, None).unwrap();
        assert_eq!(s.user, Some(("root".into(), "pw".into())));

        let env = env_of(&[
            ("ETCDCTL_ENDPOINTS", "https://10.0.0.1:2379"),
            ("ETCDCTL_CERT", "/c"),
        ]);
        let err = resolve(&Flags::default(), &env, None).unwrap_err();
        assert!(err.to_string().contains("ETCDCTL_CERT=/c"), "{err}");
    }

    #[test]
    fn a_named_cluster_is_below_the_flags_and_above_the_environment() {
        let named = Named {
            name: "lab".into(),
            endpoints: Some(vec!["https://10.0.0.1:2379".into()]),
            cacert: Some("/lab/ca.crt".into()),
            cert: Some("/lab/c.crt".into()),
            key: Some("/lab/c.key".into()),
        };
        let env = env_of(&[
            ("ETCDCTL_ENDPOINTS", "https://10.9.9.9:2379"),
            ("ETCDCTL_CACERT", "/env/ca.crt"),
        ]);
        let flags = Flags {
            named: Some(named.clone()),
            ..Flags::default()
        };
        let s = resolve(&flags, &env, None).unwrap();
        assert_eq!(s.endpoints, vec!["https://10.0.0.1:2379"]);
        assert_eq!(s.endpoints_origin, Origin::Cluster("lab".into()));
        assert_eq!(s.endpoints_origin.to_string(), "cluster lab");
        assert_eq!(s.cacert.unwrap().to_string(), "/lab/ca.crt (cluster lab)");
        assert_eq!(s.key.unwrap().path, PathBuf::from("/lab/c.key"));
        // Flags given still win.
        let flags = Flags {
            endpoints: Some("https://10.1.1.1:2379".into()),
            cacert: Some("/flag/ca.crt".into()),
            named: Some(named),
            ..Flags::default()
        };
        let s = resolve(&flags, &env, None).unwrap();
        assert_eq!(s.endpoints, vec!["https://10.1.1.1:2379"]);
        assert_eq!(s.cacert.unwrap().to_string(), "--cacert=/flag/ca.crt");
        assert_eq!(s.cert.unwrap().origin, Origin::Cluster("lab".into()));
    }

    #[test]
    fn a_chosen_cluster_has_only_its_own_etcdctl_variables() {
        let chosen = Chosen {
            env: [(
                "ETCDCTL_ENDPOINTS".to_string(),
                "https://10.0.0.5:2379".to_string(),
            )]
            .into_iter()
            .collect(),
            ..Chosen::default()
        };
        assert_eq!(
            chosen.var("ETCDCTL_ENDPOINTS").as_deref(),
            Some("https://10.0.0.5:2379")
        );
        // Whatever the shell exported for another cluster.
        assert_eq!(chosen.var("ETCDCTL_CACERT"), None);
        assert_eq!(chosen.var("ETCDCTL_USER"), None);
    }
}
