//! `etcdeck`: parse the command line, dispatch to the verb in `commands/`, map the outcome to an
//! exit code. Nothing else lives here.

use std::process::ExitCode;

use clap::Parser;

use etcdeck::cli::{Cli, Command, InventoryCommand};
use etcdeck::commands;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let g = &cli.global;
    let outcome = match &cli.command {
        None => commands::console::run(g).await,
        Some(Command::Status { json }) => commands::status::run(g, *json).await,
        Some(Command::Inventory(InventoryCommand::Check { file })) => {
            commands::inventory_cmd::check(g, file.as_deref())
        }
        Some(Command::Inventory(InventoryCommand::Show { file, json })) => {
            commands::inventory_cmd::show(g, file.as_deref(), *json)
        }
        Some(Command::Cert(c)) => commands::cert::run(c),
        Some(Command::Keys { prefix, json }) => {
            commands::keys::run(g, prefix.as_deref(), *json).await
        }
        Some(Command::Patroni { json }) => commands::patroni::run(g, *json).await,
        Some(Command::Timeline { since }) => commands::timeline::run(g, *since).await,
        Some(Command::Health { json }) => commands::health::run(g, *json).await,
        Some(Command::Demo {
            state_dir,
            fresh,
            headless,
            auth,
        }) => commands::demo::run(g, state_dir.clone(), *fresh, *headless, *auth).await,
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("etcdeck: {e:#}");
            ExitCode::from(2)
        }
    }
}
