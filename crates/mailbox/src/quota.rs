//! The seam where Maildir++ quota (`maildirsize`) plugs in.
//!
//! The `maildirsize` format belongs to `postroom-access`; this crate calls a
//! [`QuotaHook`] before every append and delivery and after every append,
//! delivery and expunge, so an implementation over that format can check
//! and record usage. [`NoQuota`] is the default.

use std::path::Path;

use crate::error::Result;

/// Quota checks and accounting for one Maildir++ root.
pub trait QuotaHook: Send + Sync {
    /// Called before `bytes` octets in `messages` messages are added under
    /// `root`; an error (normally [`crate::MailboxError::OverQuota`]) refuses
    /// the append or delivery before anything is written.
    fn check(&self, root: &Path, bytes: u64, messages: u64) -> Result<()>;

    /// Called after a change is on disk: positive deltas for appends and
    /// deliveries, negative for expunges (a `maildirsize` line).
    fn record(&self, root: &Path, bytes: i64, messages: i64);
}

/// No quota: every check passes, nothing is recorded.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoQuota;

impl QuotaHook for NoQuota {
    fn check(&self, _root: &Path, _bytes: u64, _messages: u64) -> Result<()> {
        Ok(())
    }

    fn record(&self, _root: &Path, _bytes: i64, _messages: i64) {}
}
