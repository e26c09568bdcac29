//! `etcdeck`: parse the command line, dispatch to the verb in `commands/`, map the outcome to an
//! exit code. Nothing else lives here.

use std::process::ExitCode;

use clap::Parser;

use etcdeck::cli::{AlarmCommand, Cli, Command, InventoryCommand, RenderCommand, SnapshotCommand};
use etcdeck::commands;
use etcdeck::inventory;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // `--cluster NAME`: the config file's cluster read once, for every command.
    let g = &match commands::with_cluster(&cli.global) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("etcdeck: {e:#}");
            return ExitCode::from(2);
        }
    };
    let outcome = match &cli.command {
        None => commands::console::run(g).await,
        Some(Command::Status { json }) => commands::status::run(g, *json).await,
        Some(Command::Inventory(InventoryCommand::Check { file })) => {
            commands::inventory_cmd::check(g, file.as_deref())
        }
        Some(Command::Inventory(InventoryCommand::Show { file, json })) => {
            commands::inventory_cmd::show(g, file.as_deref(), *json)
        }
        Some(Command::Inventory(InventoryCommand::Add { ip, seq, e })) => {
            commands::inventory_cmd::add(g, *ip, *seq, e)
        }
        Some(Command::Inventory(InventoryCommand::Comment { ip, e })) => {
            commands::inventory_cmd::edit(g, inventory::Edit::Comment { ip: *ip }, e)
        }
        Some(Command::Inventory(InventoryCommand::Remove { ip, e })) => {
            commands::inventory_cmd::edit(g, inventory::Edit::Remove { ip: *ip }, e)
        }
        Some(Command::Cert(c)) => commands::cert::run(c),
        Some(Command::Render(RenderCommand::Env {
            from_inventory,
            out,
        })) => commands::render::env(g, *from_inventory, out.as_deref()).await,
        Some(Command::Render(RenderCommand::Conf { member })) => {
            commands::render::conf(g, member).await
        }
        Some(Command::Keys { prefix, json }) => {
            commands::keys::run(g, prefix.as_deref(), *json).await
        }
        Some(Command::Patroni { json }) => commands::patroni::run(g, *json).await,
        Some(Command::Timeline {
            since,
            until,
            json,
            markdown,
            cluster_id,
        }) => {
            let format = match (*json, *markdown) {
                (true, _) => commands::timeline::Format::Json,
                (_, true) => commands::timeline::Format::Markdown,
                _ => commands::timeline::Format::Text,
            };
            commands::timeline::run(g, *since, *until, format, *cluster_id).await
        }
        Some(Command::Health { json }) => commands::health::run(g, *json).await,
        Some(Command::Snapshot(SnapshotCommand::Save { file, json })) => {
            commands::snapshot::save(g, file.clone(), *json).await
        }
        Some(Command::Compact { keep, revision, w }) => {
            commands::compact::run(g, *keep, *revision, w).await
        }
        Some(Command::Defrag {
            members,
            all,
            keep_leader,
            settle,
            threshold,
            w,
        }) => {
            let a = commands::defrag::Args {
                members: members.clone(),
                all: *all,
                keep_leader: *keep_leader,
                settle: *settle,
                threshold: *threshold,
            };
            commands::defrag::run(g, a, w).await
        }
        Some(Command::Alarm(AlarmCommand::List { json })) => commands::alarm::list(g, *json).await,
        Some(Command::Alarm(AlarmCommand::Disarm { w })) => commands::alarm::disarm(g, w).await,
        Some(Command::Alarm(AlarmCommand::Recover { settle, w })) => {
            commands::alarm::recover(g, *settle, w).await
        }
        Some(Command::MoveLeader { member, w }) => commands::move_leader::run(g, member, w).await,
        Some(Command::Member(c)) => commands::member::run(g, c).await,
        Some(Command::Demo {
            state_dir,
            fresh,
            headless,
            auth,
            quota_backend,
            scenario,
        }) => {
            let o = commands::demo::Options {
                state_dir: state_dir.clone(),
                fresh: *fresh,
                headless: *headless,
                auth: *auth,
                quota_backend: *quota_backend,
                scenario: *scenario,
            };
            commands::demo::run(g, o).await
        }
        Some(Command::Completions { shell }) => commands::manual::completions(*shell),
        Some(Command::Man { dir }) => commands::manual::man(dir.as_deref()),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("etcdeck: {e:#}");
            ExitCode::from(2)
        }
    }
}
