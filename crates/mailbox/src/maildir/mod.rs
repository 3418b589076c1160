//! The Maildir++ backend and its file formats.
pub(crate) mod atomic;
pub(crate) mod filename;
pub mod keywords;
pub mod subscriptions;
pub mod uiddb;
