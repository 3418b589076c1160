//! postroom-mailbox (work in progress)
pub mod error;
pub mod maildir;
