//! `etcdeck move-leader NAME`.

use anyhow::Result;

use super::wizard::{carry_out, prepare};
use super::Code;
use crate::cli::{Global, WizardFlags};
use crate::wizard::{move_leader, Op};

pub async fn run(g: &Global, member: &str, w: &WizardFlags) -> Result<Code> {
    let p = prepare(g).await?;
    let plan = move_leader::plan(&p.status, member);
    carry_out(g, p, Op::MoveLeader, w, member, plan, |_| Vec::new()).await
}
