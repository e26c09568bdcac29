//! An `etcdctl.sh`-style file read as the environment of a named cluster: the `export
//! ETCDCTL_...=VALUE` lines Pigsty writes to `/etc/profile.d/etcdctl.sh` (and `etcdeck render
//! env` renders), never run as a shell script.
//!
//! Read: `export NAME=VALUE` and `NAME=VALUE` lines for `ETCDCTL_*` and `ETCDECK_INVENTORY`;
//! values bare, `'single'` or `"double"` quoted (concatenated as the shell does), with
//! `$(cat FILE)` read from FILE (its trailing line breaks dropped), as Pigsty 4.x reads the root
//! password; a `[ -r FILE ] &&` in front skips the line when FILE cannot be read. Other lines
//! (comments, aliases, other variables) are left alone. A line that sets one of those variables
//! in a way not listed here is an error with its line: nothing is guessed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Variables whose value is a path: a relative one is taken from the env file's folder.
const PATHS: &[&str] = &[
    "ETCDCTL_CACERT",
    "ETCDCTL_CERT",
    "ETCDCTL_KEY",
    "ETCDECK_INVENTORY",
];

/// Whether the file's assignment of `name` is read.
fn wanted(name: &str) -> bool {
    name.starts_with("ETCDCTL_") || name == "ETCDECK_INVENTORY"
}

/// Read the env file at `path`: the variables it sets, by name.
pub fn read(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let bytes = crate::input::read(path, crate::input::CONFIG_LIMIT, "an env file")
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
    parse(&text, path, &|f| {
        crate::input::read(f, crate::input::CONFIG_LIMIT, "a password file")
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    })
}

/// [`read`] on `text`, with `cat` reading a file (`None`: it cannot be read).
pub fn parse(
    text: &str,
    path: &Path,
    cat: &dyn Fn(&Path) -> Option<String>,
) -> Result<BTreeMap<String, String>, String> {
    let folder = path.parent().unwrap_or(Path::new(""));
    let resolve = |p: &str| -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            folder.join(p)
        }
    };
    let mut vars = BTreeMap::new();
    for (n, raw) in text.lines().enumerate() {
        let at = format!("{}:{}", path.display(), n + 1);
        let mut line = raw.trim();
        // `[ -r FILE ] && export ...`: only when FILE can be read.
        if let Some(rest) = line.strip_prefix("[ -r ") {
            let Some((file, after)) = rest.split_once(" ] && ") else {
                continue;
            };
            let file = words(file.trim()).map_err(|e| format!("{at}: {e}"))?;
            if cat(&resolve(&file)).is_none() {
                continue;
            }
            line = after.trim();
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        if !wanted(name) {
            continue;
        }
        let value = value_of(value, &|f: &str| cat(&resolve(f)))
            .map_err(|e| format!("{at}: {name}: {e}"))?;
        let value = if PATHS.contains(&name) && !value.is_empty() {
            resolve(&value).display().to_string()
        } else {
            value
        };
        vars.insert(name.to_string(), value);
    }
    Ok(vars)
}

/// One shell word of literal text (a file name): bare or quoted, nothing expanded.
fn words(s: &str) -> Result<String, String> {
    value_of(s, &|_| None)
}

/// A shell value: bare, quoted, `$(cat FILE)`; up to the end of the line or a `#` comment.
fn value_of(s: &str, cat: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    const HOW: &str = "etcdeck reads plain values ('quoted', \"quoted\" or bare) and $(cat FILE) \
                       only; it does not run the file as a shell";
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next() {
                    Some('\'') => break,
                    Some(c) => out.push(c),
                    None => return Err("a ' is not closed".into()),
                }
            },
            '"' => loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c @ ('"' | '\\' | '$' | '`')) => out.push(c),
                        Some(c) => {
                            out.push('\\');
                            out.push(c);
                        }
                        None => return Err("a \" is not closed".into()),
                    },
                    Some('$') => out.push_str(&substitution(&mut chars, cat, HOW)?),
                    Some('`') => return Err(HOW.into()),
                    Some(c) => out.push(c),
                    None => return Err("a \" is not closed".into()),
                }
            },
            '\\' => match chars.next() {
                Some(c) => out.push(c),
                None => return Err(HOW.into()),
            },
            '$' => out.push_str(&substitution(&mut chars, cat, HOW)?),
            c if c.is_whitespace() => {
                // The rest may only be a comment.
                let rest: String = chars.collect();
                let rest = rest.trim();
                if rest.is_empty() || rest.starts_with('#') {
                    break;
                }
                return Err(HOW.into());
            }
            ';' | '&' | '|' | '`' | '(' | ')' | '<' | '>' => return Err(HOW.into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// After a `$`: `(cat FILE)` read with `cat`; anything else (a variable) is refused.
fn substitution(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    cat: &dyn Fn(&str) -> Option<String>,
    how: &str,
) -> Result<String, String> {
    if chars.next() != Some('(') {
        return Err(how.into());
    }
    let mut inner = String::new();
    for c in chars.by_ref() {
        if c == ')' {
            let Some(file) = inner.trim().strip_prefix("cat ") else {
                return Err(how.into());
            };
            let file = words(file.trim())?;
            return cat(&file)
                .map(|t| t.trim_end_matches(['\n', '\r']).to_string())
                .ok_or_else(|| format!("cannot read {file}"));
        }
        inner.push(c);
    }
    Err("a $( is not closed".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_files(_: &Path) -> Option<String> {
        None
    }

    #[test]
    fn the_etcdctl_sh_etcdeck_renders_reads_back() {
        let env = crate::render::EtcdctlEnv {
            endpoints: vec![
                "https://10.10.10.10:2379".into(),
                "https://10.10.10.11:2379".into(),
            ],
            cacert: "/etc/pki/ca.crt".into(),
            cert: "/etc/pki/infra.crt".into(),
            key: "/etc/pki/infra.key".into(),
            user: Some("root:it's".into()),
        };
        let sh = crate::render::etcdctl_sh(&env, &["learner etcd-4".into()], None);
        let vars = parse(&sh, Path::new("/s/etcdctl.sh"), &no_files).unwrap();
        assert_eq!(
            vars["ETCDCTL_ENDPOINTS"],
            "https://10.10.10.10:2379,https://10.10.10.11:2379"
        );
        assert_eq!(vars["ETCDCTL_CACERT"], "/etc/pki/ca.crt");
        assert_eq!(vars["ETCDCTL_KEY"], "/etc/pki/infra.key");
        assert_eq!(vars["ETCDCTL_USER"], "root:it's");
        assert_eq!(vars["ETCDCTL_API"], "3");
    }

    #[test]
    fn pigsty_style_lines_bare_values_and_the_password_read_from_its_file() {
        let text = "#!/bin/bash\nalias e=\"etcdctl\"\nexport PATH=$PATH:/x\n\
                    export ETCDCTL_ENDPOINTS=https://10.0.0.1:2379   # the admin node\n\
                    ETCDCTL_CACERT=pki/ca.crt\n\
                    export ETCDECK_INVENTORY=\"../pigsty.yml\"\n\
                    [ -r '/etc/etcd/etcd.pass' ] && export ETCDCTL_USER=\"root:$(cat '/etc/etcd/etcd.pass')\"\n\
                    [ -r /none ] && export ETCDCTL_PASSWORD=x\n";
        let cat = |p: &Path| (p == Path::new("/etc/etcd/etcd.pass")).then(|| "Etcd.Root\n".into());
        let vars = parse(text, Path::new("/home/dba/staging/etcdctl.sh"), &cat).unwrap();
        assert_eq!(vars["ETCDCTL_ENDPOINTS"], "https://10.0.0.1:2379");
        assert_eq!(vars["ETCDCTL_CACERT"], "/home/dba/staging/pki/ca.crt");
        assert_eq!(vars["ETCDECK_INVENTORY"], "/home/dba/staging/../pigsty.yml");
        assert_eq!(vars["ETCDCTL_USER"], "root:Etcd.Root");
        assert!(!vars.contains_key("ETCDCTL_PASSWORD"));
        assert!(!vars.contains_key("PATH"));
        // Without the password file the line is skipped, as the shell skips it.
        let vars = parse(text, Path::new("/s/etcdctl.sh"), &no_files).unwrap();
        assert!(!vars.contains_key("ETCDCTL_USER"));
    }

    #[test]
    fn what_only_a_shell_could_run_is_refused_with_its_line() {
        let bad = |t: &str| parse(t, Path::new("/s/e.sh"), &no_files).unwrap_err();
        let e = bad("# env\nexport ETCDCTL_ENDPOINTS=$HOSTS\n");
        assert!(
            e.starts_with("/s/e.sh:2: ETCDCTL_ENDPOINTS: etcdeck reads plain values"),
            "{e}"
        );
        assert!(bad("export ETCDCTL_USER=\"root:$(curl x)\"").contains("does not run"));
        assert!(bad("export ETCDCTL_USER=`cat pw`").contains("does not run"));
        assert!(bad("export ETCDCTL_KEY=a; rm -rf /").contains("does not run"));
        assert!(bad("export ETCDCTL_KEY='a").contains("' is not closed"));
        assert!(bad("export ETCDCTL_USER=\"root:$(cat /pw)\"").contains("cannot read /pw"));
    }
}
