//! `etcdeck inventory check|show`.

use std::path::Path;

use anyhow::Result;

use super::{extra_vars, load_inventory, print_diagnostics, Code};
use crate::cli::Global;
use crate::inventory;

pub fn check(g: &Global, file: Option<&Path>) -> Result<Code> {
    let path =
        inventory::resolve_path(file.or(g.inventory.as_deref())).map_err(anyhow::Error::msg)?;
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
