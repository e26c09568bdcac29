//! The only code that talks to etcd.

pub mod client;
pub mod error;
pub mod metrics;
pub mod probe;
pub mod status;
pub mod watch;

pub use client::Cluster;
pub use error::EtcdError;
