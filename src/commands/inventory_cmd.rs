//! `etcdeck inventory check|show|add|comment|remove`.

use std::io::{BufRead, IsTerminal, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use serde::Serialize;

use super::{extra_vars, load_inventory, print_diagnostics, Code};
use crate::cli::{EditFlags, Global};
use crate::inventory::{self, edit, Edit, EditError, Edited};
use crate::text::escape;

pub fn check(g: &Global, file: Option<&Path>) -> Result<Code> {
    let path = super::inventory_path(g, file).map_err(anyhow::Error::msg)?;
    let (diags, members) = match inventory::load(&path, &extra_vars(g)?) {
        Ok(inv) => (inv.diagnostics.clone(), inv.hosts.len()),
        Err(diags) => (diags, 0),
    };
    let errors = print_diagnostics(&diags);
    let warnings = diags.len() - errors;
    if errors > 0 {
        outln!(
            "{}: {errors} error(s), {warnings} warning(s)",
            crate::text::escape(&path.display().to_string())
        );
        return Ok(1);
    }
    outln!(
        "{}: ok, {members} etcd member(s), {warnings} warning(s)",
        crate::text::escape(&path.display().to_string())
    );
    Ok(0)
}

pub fn show(g: &Global, file: Option<&Path>, json: bool) -> Result<Code> {
    let inv = load_inventory(g, file)?;
    if json {
        outln!("{}", crate::text::json_pretty(&inv)?);
    } else {
        out!("{}", inventory::show_text(&inv));
    }
    Ok(0)
}

/// `etcdeck inventory add IP [--seq N]`: the seq defaults to the next one never used in the
/// group, hosts commented out included.
pub fn add(g: &Global, ip: IpAddr, seq: Option<u32>, f: &EditFlags) -> Result<Code> {
    let (path, text) = read(g)?;
    let next = inventory::parse(&text, &path.display().to_string(), &[])
        .map_or(1, |inv| inventory::next_seq(&inv, &text));
    let seq = match seq {
        Some(seq) => {
            let retired = inventory::commented_seqs(&text);
            if let Some((other, _)) = retired
                .iter()
                .find(|(h, s)| *s == seq && *h != ip.to_string())
            {
                eprintln!(
                    "etcdeck: warning: etcd_seq {seq} is written for {other}, commented out in the etcd group; \
                     a seq is never reused unless that host never joined (the next unused one is {next})"
                );
            }
            seq
        }
        None => next,
    };
    run(g, &path, &text, Edit::Add { ip, seq }, f)
}

/// `etcdeck inventory comment|remove IP`.
pub fn edit(g: &Global, edit: Edit, f: &EditFlags) -> Result<Code> {
    let (path, text) = read(g)?;
    run(g, &path, &text, edit, f)
}

/// The inventory named by -i or found as the other verbs find it, as text.
fn read(g: &Global) -> Result<(PathBuf, String)> {
    let path = super::inventory_path(g, None).map_err(anyhow::Error::msg)?;
    let shown = path.display().to_string();
    let bytes = crate::input::read(&path, crate::input::INVENTORY_LIMIT, "an inventory")
        .map_err(|e| anyhow!("{}: cannot read the inventory: {e}", escape(&shown)))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow!(
            "{}: the inventory is not UTF-8 text; `etcdeck inventory check` shows where",
            escape(&shown)
        )
    })?;
    Ok((path, text))
}

/// What `--json` prints.
#[derive(Serialize)]
struct Report<'a> {
    file: &'a str,
    edit: &'a Edit,
    summary: &'a str,
    diff: &'a str,
    written: bool,
    backup: Option<String>,
    /// After writing: the errors `inventory check` finds in the file written (0 expected).
    check_errors: Option<usize>,
}

fn refuse(why: &str) -> Result<Code> {
    eprintln!("etcdeck: {}", escape(why));
    Ok(1)
}

/// Show the diff, confirm, write, check.
fn run(g: &Global, path: &Path, text: &str, edit: Edit, f: &EditFlags) -> Result<Code> {
    let file = path.display().to_string();
    let edited: Edited = match inventory::apply(text, &file, &edit) {
        Ok(e) => e,
        Err(e) => return refuse(&e.to_string()),
    };
    let shown = edit::diff_for_terminal(&edited.diff);
    let print_json = |written: bool, backup: Option<&Path>, check: Option<usize>| -> Result<()> {
        let r = Report {
            file: &file,
            edit: &edit,
            summary: &edited.summary,
            diff: &edited.diff,
            written,
            backup: backup.map(|b| b.display().to_string()),
            check_errors: check,
        };
        outln!("{}", crate::text::json_pretty(&r)?);
        Ok(())
    };
    if f.json {
        if !f.dry_run && !f.yes && !g.read_only {
            // The diff the confirmation is about, where the JSON does not go.
            eprint!("{shown}");
        }
    } else {
        out!("{shown}");
        outln!("{}", escape(&edited.summary));
    }
    if f.dry_run {
        if f.json {
            print_json(false, None, None)?;
        } else {
            outln!("dry run: {} is not written", escape(&file));
        }
        return Ok(0);
    }
    if g.read_only {
        if f.json {
            print_json(false, None, None)?;
        }
        return refuse(&format!(
            "--read-only: {file} is not written (the diff shows what would change)"
        ));
    }
    if !f.yes {
        if !std::io::stdin().is_terminal() {
            if f.json {
                print_json(false, None, None)?;
            }
            return refuse(&format!(
                "{file} is not written: run on a terminal to confirm, or pass --yes (--dry-run shows the diff only)"
            ));
        }
        eprint!("Type yes to write {}: ", escape(&file));
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if line.trim() != "yes" {
            if f.json {
                print_json(false, None, None)?;
            }
            return refuse(&format!("cancelled: {file} is not written"));
        }
    }
    let backup = match inventory::write(path, &edited) {
        Ok(b) => b,
        Err(e @ EditError::Changed { .. }) => return refuse(&e.to_string()),
        Err(e) => bail!("{}", escape(&e.to_string())),
    };
    let diags = match inventory::load(path, &extra_vars(g)?) {
        Ok(inv) => inv.diagnostics,
        Err(d) => d,
    };
    let errors = diags
        .iter()
        .filter(|d| d.severity == inventory::Severity::Error)
        .count();
    if f.json {
        print_json(true, Some(&backup), Some(errors))?;
    } else {
        outln!(
            "wrote {}; the old file is kept as {}",
            escape(&file),
            escape(&backup.display().to_string())
        );
        if errors == 0 {
            outln!("inventory check: ok");
        } else {
            print_diagnostics(&diags);
            outln!("inventory check: {errors} errors");
        }
    }
    Ok(if errors == 0 { 0 } else { 1 })
}
