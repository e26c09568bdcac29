//! The only code that talks to etcd, and the one model of the cluster ([`model`]). Nothing here
//! knows the console: producers report through callbacks.

pub mod client;
pub mod error;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod probe;
pub mod status;
pub mod watch;

pub use client::Cluster;

/// Where a long-lived producer (probe, member-list reader, key feed) reports. The console wraps
/// reports into its messages; a test or a command may collect them. `report` returns false once
/// nobody listens, and the producer ends.
pub trait Sink<E>: Clone + Send + Sync + 'static {
    fn report(&self, event: E) -> bool;
    /// Nobody listens any more.
    fn closed(&self) -> bool;
}
pub use error::EtcdError;
