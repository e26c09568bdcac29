//! `etcdeck completions SHELL` and `etcdeck man`: tab completion and the manual page, generated
//! from the command-line definitions, so that a copied binary carries them too. The packages
//! install the same output (`.ci/package`).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_mangen::Man;
use roff::{bold, italic, roman, Roff};

use crate::cli::Cli;

/// The completion script for `shell` on standard output.
pub fn completions(shell: clap_complete::Shell) -> Result<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "etcdeck", &mut out);
    write_out(&out)?;
    Ok(0)
}

/// The manual page on standard output, or with `dir` every page written there.
pub fn man(dir: Option<&Path>) -> Result<u8> {
    match dir {
        None => write_out(&main_page()?)?,
        Some(dir) => {
            let written = write_pages(dir)?;
            eprintln!("{} pages written to {}", written.len(), dir.display());
        }
    }
    Ok(0)
}

/// Standard output, ending quietly when the reader went away (`etcdeck man | head`).
fn write_out(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing to standard output"),
    }
}

/// `etcdeck.1`, then `etcdeck-<command>.1` for every command and subcommand (`etcdeck-member-add.1`);
/// returns the files' names.
pub fn write_pages(dir: &Path) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    let write = |name: String, bytes: Vec<u8>, written: &mut Vec<String>| -> Result<()> {
        let path = dir.join(&name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        written.push(name);
        Ok(())
    };
    write("etcdeck.1".into(), main_page()?, &mut written)?;
    let mut root = root();
    root.build();
    for sub in root.get_subcommands().filter(|c| !c.is_hide_set()) {
        for (name, page) in sub_pages(sub)? {
            write(name, page, &mut written)?;
        }
    }
    Ok(written)
}

/// The command as the pages show it (no `help` subcommand: `--help` is on every command).
fn root() -> clap::Command {
    Cli::command().disable_help_subcommand(true)
}

/// A command's page and its subcommands', named `<parent>-<name>.1` as git's pages are (the root
/// was built, which gives every subcommand that display name and its `etcdeck member add` usage).
fn sub_pages(cmd: &clap::Command) -> Result<Vec<(String, Vec<u8>)>> {
    let man = Man::new(cmd.clone()).source(source());
    let mut page = Vec::new();
    man.render(&mut page)?;
    see_also(&mut page)?;
    let mut pages = vec![(man.get_filename(), page)];
    for sub in cmd.get_subcommands().filter(|c| !c.is_hide_set()) {
        pages.extend(sub_pages(sub)?);
    }
    Ok(pages)
}

fn source() -> String {
    format!("etcdeck {}", env!("CARGO_PKG_VERSION"))
}

fn see_also(w: &mut Vec<u8>) -> Result<()> {
    let mut r = Roff::new();
    r.control("SH", ["SEE ALSO"]);
    r.text([
        bold("etcdeck"),
        roman("(1), "),
        bold("etcdctl"),
        roman("(1)"),
    ]);
    r.to_writer(w)?;
    Ok(())
}

/// `etcdeck.1`: clap's sections, then what a man page reader looks for besides: exit status,
/// environment, files, examples.
fn main_page() -> Result<Vec<u8>> {
    let mut cmd = root();
    cmd.build();
    let man = Man::new(cmd.clone()).source(source());
    let mut w = Vec::new();
    man.render_title(&mut w)?;
    man.render_name_section(&mut w)?;
    man.render_synopsis_section(&mut w)?;
    man.render_description_section(&mut w)?;
    man.render_options_section(&mut w)?;
    man.render_subcommands_section(&mut w)?;
    man.render_extra_section(&mut w)?;
    extra_sections().to_writer(&mut w)?;
    man.render_version_section(&mut w)?;
    Ok(w)
}

fn extra_sections() -> Roff {
    let mut r = Roff::new();
    let item = |r: &mut Roff, term: &str, text: &str| {
        r.control("TP", []);
        r.text([bold(term)]);
        r.text([roman(text)]);
    };

    r.control("SH", ["EXIT STATUS"]);
    item(&mut r, "0", "All well; the command did what it was asked.");
    item(
        &mut r,
        "1",
        "Degraded: a member down or unstarted, an alarm, a Patroni cluster without a leader; or a \
         wizard refused, cancelled, or stopped at a health gate (nothing forced).",
    );
    item(
        &mut r,
        "2",
        "Unavailable (no leader, no quorum), a wizard step that failed, or an error: the message \
         says what to do.",
    );
    item(
        &mut r,
        "3",
        "health only: unknown, etcdeck's own settings are wrong (TLS files, CA, credentials, \
         inventory) and the cluster was not judged.",
    );

    r.control("SH", ["ENVIRONMENT"]);
    item(
        &mut r,
        "ETCDCTL_ENDPOINTS, ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY",
        "The cluster and its TLS files, as etcdctl reads them (Pigsty's /etc/profile.d/etcdctl.sh \
         sets them on its nodes). Flags win over them; they win over the inventory.",
    );
    item(
        &mut r,
        "ETCDCTL_USER, ETCDCTL_PASSWORD",
        "Credentials for a cluster with auth on (Pigsty 4: user root, etcd_root_password).",
    );
    item(
        &mut r,
        "ETCDECK_INVENTORY",
        "The Pigsty inventory, when -i is not given (then ./pigsty.yml, ~/pigsty/pigsty.yml).",
    );
    item(
        &mut r,
        "XDG_CONFIG_HOME, XDG_STATE_HOME",
        "Where the config file and etcdeck's state are (default ~/.config, ~/.local/state).",
    );

    r.control("SH", ["FILES"]);
    item(
        &mut r,
        "$XDG_CONFIG_HOME/etcdeck/config.toml",
        "Console settings (keys, colours, refresh) and named clusters; every setting and its \
         default is in /usr/share/etcdeck/config.toml.",
    );
    item(
        &mut r,
        "$XDG_STATE_HOME/etcdeck/audit.log",
        "One JSON line before and after every change a wizard makes: who, what, the outcome.",
    );
    item(
        &mut r,
        "$XDG_STATE_HOME/etcdeck/ops/",
        "The journal of each operation, so that the same command resumes it after a crash.",
    );
    item(
        &mut r,
        "$XDG_STATE_HOME/etcdeck/history.log",
        "The timeline the console records (24 hours), read by etcdeck timeline.",
    );
    item(
        &mut r,
        "$XDG_STATE_HOME/etcdeck/snapshots/",
        "Snapshots the wizards take before a change, and etcdeck snapshot save's without a FILE \
         (the last 3 kept).",
    );
    item(
        &mut r,
        "/usr/share/etcdeck/inventory.example.yml",
        "The inventory etcdeck demo starts its sandbox from (built in; this copy is a starting \
         point for -i).",
    );

    r.control("SH", ["EXAMPLES"]);
    item(
        &mut r,
        "etcdeck",
        "The console on the cluster the environment or the inventory names (? shows every key).",
    );
    item(
        &mut r,
        "etcdeck demo",
        "The console on a real local 3-member sandbox, to look around and rehearse (T: drills).",
    );
    item(
        &mut r,
        "etcdeck health --json",
        "One verdict for cron or a monitoring agent.",
    );
    item(
        &mut r,
        "etcdeck defrag --all",
        "Defragment every member, one at a time, the leader last; shows the plan and asks first.",
    );
    item(
        &mut r,
        "etcdeck timeline --since 2h --markdown",
        "The postmortem of the last two hours, for the incident's ticket.",
    );
    r.control("PP", []);
    r.text([
        roman("Every command has "),
        bold("--help"),
        roman("; each has its page too, e.g. "),
        italic("etcdeck-member-add"),
        roman("(1)."),
    ]);
    r.control("SH", ["SEE ALSO"]);
    r.text([bold("etcdctl"), roman("(1), "), bold("etcd"), roman("(1)")]);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn main_text() -> String {
        String::from_utf8(main_page().unwrap()).unwrap()
    }

    #[test]
    fn the_main_page_has_the_sections_a_reader_looks_for() {
        let page = main_text();
        for section in [
            ".TH etcdeck 1",
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH OPTIONS",
            ".SH SUBCOMMANDS",
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH EXAMPLES",
            ".SH VERSION",
        ] {
            assert!(page.contains(section), "no {section:?} in:\n{page}");
        }
        // Every command is listed, with a pointer to its own page.
        for sub in ["status", "defrag", "member", "completions", "man"] {
            assert!(
                page.contains(&format!("etcdeck\\-{sub}(1)")),
                "no {sub} in:\n{page}"
            );
        }
    }

    #[test]
    fn a_page_is_written_for_every_command_and_subcommand() {
        let dir = tempfile::tempdir().unwrap();
        let names = write_pages(dir.path()).unwrap();
        for page in [
            "etcdeck.1",
            "etcdeck-status.1",
            "etcdeck-member.1",
            "etcdeck-member-add.1",
            "etcdeck-member-replace.1",
            "etcdeck-alarm-recover.1",
            "etcdeck-completions.1",
        ] {
            assert!(names.iter().any(|n| n == page), "no {page} in {names:?}");
            assert!(dir.path().join(page).is_file());
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
        // A subcommand's page is its own: its title, its usage, its options.
        let add = std::fs::read_to_string(dir.path().join("etcdeck-member-add.1")).unwrap();
        assert!(add.contains(".TH etcdeck-member-add 1"), "{add}");
        assert!(add.contains("\\fBetcdeck member add\\fR"), "{add}");
        assert!(add.contains("\\fB\\-\\-ip\\fR"), "{add}");
        assert!(add.contains(".SH \"SEE ALSO\""), "{add}");
    }

    #[test]
    fn completions_name_the_commands_for_each_shell() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "etcdeck", &mut out);
            let text = String::from_utf8(out).unwrap();
            for word in ["defrag", "move-leader", "read-only", "cluster"] {
                assert!(text.contains(word), "{shell}: no {word}");
            }
        }
    }
}
