//! The binary's own documentation, as a user meets it without a package: `--version`, `man`,
//! `completions`. (The installed packages are tested by `.ci/package-test`.)

use std::process::{Command, Output};

fn etcdeck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_etcdeck"))
        .args(args)
        .output()
        .expect("etcdeck runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn version_names_the_commit_and_every_etcd_version_tested() {
    let o = etcdeck(&["--version"]);
    assert!(o.status.success());
    let text = stdout(&o);
    let first = text.lines().next().unwrap();
    let prefix = format!("etcdeck {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(first.starts_with(&prefix), "{text}");
    // In a git checkout, the commit is the one checked out.
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let Some(h) = head.ok().filter(|h| h.status.success()) {
        let head = String::from_utf8(h.stdout).unwrap();
        assert_eq!(first, format!("{prefix}{})", head.trim()), "{text}");
    }
    let listed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/tested-etcd.txt"
    ))
    .unwrap();
    let versions: Vec<&str> = listed
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(versions.iter().any(|v| v.starts_with("3.4.")), "{listed}");
    assert!(versions.iter().any(|v| v.starts_with("3.5.")), "{listed}");
    let second = text.lines().nth(1).unwrap_or_default();
    for v in versions {
        assert!(second.contains(&format!("{v} (auth ")), "{v} not in {text}");
    }
    // -V is the short form: the first line only.
    assert_eq!(stdout(&etcdeck(&["-V"])).trim_end(), first);
}

#[test]
fn bash_completes_a_command_and_a_flag_from_the_generated_script() {
    let o = etcdeck(&["completions", "bash"]);
    assert!(o.status.success());
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("etcdeck.bash");
    std::fs::write(&script, &o.stdout).unwrap();
    let complete = |words: &[&str]| -> Vec<String> {
        let o = Command::new("bash")
            .arg("-c")
            .arg(
                r#". "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"
                   COMP_POINT=${#COMP_LINE}
                   _etcdeck etcdeck "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
                   printf '%s\n' "${COMPREPLY[@]}""#,
            )
            .arg(&script)
            .args(words)
            .output()
            .expect("bash runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        stdout(&o).lines().map(str::to_string).collect()
    };
    assert_eq!(complete(&["etcdeck", "mem"]), ["member"]);
    let member = complete(&["etcdeck", "member", ""]);
    for sub in ["add", "promote", "remove", "replace"] {
        assert!(member.iter().any(|w| w == sub), "{member:?}");
    }
    assert_eq!(
        complete(&["etcdeck", "defrag", "--keep"]),
        ["--keep-leader"]
    );
}

#[test]
fn man_writes_a_page_man_can_render_and_one_per_command() {
    let o = etcdeck(&["man"]);
    assert!(o.status.success());
    let page = stdout(&o);
    assert!(page.contains(".TH etcdeck 1"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    let o = etcdeck(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for want in ["etcdeck.1", "etcdeck-defrag.1", "etcdeck-member-remove.1"] {
        assert!(names.iter().any(|n| n == want), "{names:?}");
    }
    // As `man` shows it, where man is installed.
    let shown = Command::new("man")
        .env("MANWIDTH", "80")
        .arg("-l")
        .arg(dir.path().join("etcdeck.1"))
        .output();
    if let Some(shown) = shown.ok().filter(|s| s.status.success()) {
        // Bold and underline as a terminal gets them (X backspace X), read as plain text.
        let mut text = String::new();
        for c in String::from_utf8_lossy(&shown.stdout).chars() {
            if c == '\u{8}' {
                text.pop();
            } else {
                text.push(c);
            }
        }
        for section in ["NAME", "SYNOPSIS", "EXIT STATUS", "ENVIRONMENT", "FILES"] {
            assert!(
                text.lines().any(|l| l == section),
                "no {section} in:\n{text}"
            );
        }
    }
}

#[test]
fn an_unknown_shell_is_refused_with_the_ones_there_are() {
    let o = etcdeck(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bash") && err.contains("zsh") && err.contains("fish"),
        "{err}"
    );
}
