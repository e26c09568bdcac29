//! The console's state and its loop: one [`store::Store`], [`msg::Msg`] in,
//! [`update::update`] as the only mutation; [`msg::Cmd`]s are run by [`crate::console`]. No `ui` here.

pub mod config;
pub mod keymap;
pub mod keys;
pub mod msg;
pub mod postmortem;
pub mod runs;
pub mod store;
pub mod timeline;
pub mod update;
pub mod wizard;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
