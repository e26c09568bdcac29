//! `etcdeck status [--json]`.

use anyhow::Result;

use super::{settings, Code};
use crate::cli::Global;
use crate::etcd::status::{gather, render_table};
use crate::etcd::Cluster;

pub async fn run(g: &Global, json: bool) -> Result<Code> {
    let cluster = Cluster::new(settings(g)?)?;
    let s = gather(&cluster).await?;
    if json {
        outln!("{}", crate::text::json_pretty(&s)?);
    } else {
        out!("{}", render_table(&s));
    }
    Ok(if s.all_ok() {
        0
    } else if s.leader.is_some() {
        1
    } else {
        2
    })
}
