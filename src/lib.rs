//! etcdeck: a terminal operations console for the etcd clusters behind Patroni in Pigsty.
//!
//! The library holds everything the binary and the tests share:
//! - [`inventory`]: the Pigsty inventory's `etcd` group, its parameters and validation, and the
//!   edit of one host that keeps the rest of the file.
//! - [`connect`]: endpoints, TLS files and auth, from flags, `ETCDCTL_*` and the inventory.
//! - [`envfile`]: an `etcdctl.sh` read as a named cluster's environment (never run).
//! - [`etcd`]: the only code that talks to etcd (clients, status, errors in an operator's words).
//! - [`health`]: one verdict on the cluster (healthy, degraded, unavailable) for scripts.
//! - [`pki`]: the CA and member certificates, issued with rcgen.
//! - [`provision`]: how a node gets its member started or purged (Pigsty's playbooks, or the
//!   operator with the files etcdeck writes), and the references to refresh after a change.
//! - [`render`]: `etcd.conf` and the etcdctl environment, rendered as Pigsty does.
//! - [`sandbox`]: real local etcd members started from an inventory, on loopback.
//! - [`input`]: files named on the command line, read bounded (regular files only, capped).
//! - [`state`]: etcdeck's own state files, written and read safely (no links, locks, 0600).
//! - [`demo`]: Patroni-shaped keys for the demo sandbox.
//! - [`patroni`]: Patroni's keys read into a summary per cluster, with warnings (no network).
//! - [`text`]: escaping of text that comes from etcd before it reaches a terminal.
//! - [`units`]: sizes and durations for people, one formatter per unit.
//! - [`app`]: the console's one state store, its messages and update (no `ui` in it).
//! - [`console`]: the console's event loop: terminal events, messages, commands, frames.
//! - [`commands`]: the command-line verbs, one file each (the headless twins of the console).
//! - [`ui`]: rendering of the console, a pure function of the store.
//! - [`wizard`]: the maintenance procedures as pure state machines, their journal and audit log.
//! - [`cli`]: the command line.

pub mod app;
pub mod cli;
pub mod commands;
pub mod connect;
pub mod console;
pub mod demo;
pub mod envfile;
pub mod etcd;
pub mod health;
pub mod input;
pub mod inventory;
pub mod lab;
pub mod patroni;
pub mod pki;
pub mod provision;
pub mod render;
pub mod sandbox;
pub mod state;
pub mod text;
pub mod ui;
pub mod units;
pub mod wizard;
