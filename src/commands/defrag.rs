//! `etcdeck defrag (--member NAME... | --all)`.

use std::time::Duration;

use anyhow::Result;

use super::wizard::{carry_out, common, prepare};
use super::Code;
use crate::cli::{Global, WizardFlags};
use crate::wizard::{defrag, Op};

pub struct Args {
    pub members: Vec<String>,
    pub all: bool,
    pub keep_leader: bool,
    pub settle: Duration,
    pub threshold: u8,
}

pub async fn run(g: &Global, a: Args, w: &WizardFlags) -> Result<Code> {
    let p = prepare(g).await?;
    let o = defrag::Options {
        members: a.members,
        all: a.all,
        move_leader: !a.keep_leader,
        settle: a.settle,
        threshold_percent: a.threshold,
        common: common(&p, w),
    };
    let args = o.args();
    let plan = defrag::plan(&p.status, &o);
    carry_out(g, p, Op::Defrag, w, &args, plan, |_| Vec::new()).await
}
