//! The Maildir++ backend and its file formats.
pub(crate) mod atomic;
pub(crate) mod codec;
pub(crate) mod filename;
pub(crate) mod folder;
pub(crate) mod index;
pub mod keywords;
pub(crate) mod lock;
pub mod pop3list;
pub(crate) mod store;
pub mod subscriptions;
pub mod uiddb;

pub use store::{ACL_FILE, KEEP_OPEN_MAX, MaildirOptions, MaildirStore, close_kept_folders};
