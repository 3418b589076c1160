//! # postroom-types
//!
//! The shared vocabulary of the postroom crates: the values both an IMAP or
//! POP3 codec and a mailbox store need, so that neither depends on the other.
//! This crate performs no I/O and depends on no runtime.
//!
//! Entry types:
//!
//! - [`Thread`]: a THREAD result, built and walked without recursion;
//! - [`Rights`], [`Right`], [`AclEntry`]: RFC 4314 access rights;
//! - [`Resource`], [`QuotaUsage`], [`QuotaLimit`]: RFC 2087/9208 quota values;
//! - [`Secret`]: a value that never prints;
//! - [`Limits`]: the bounds codecs enforce on wire input.
//!
//! ```
//! use postroom_types::{Rights, Right};
//! let rights: Rights = "lrs".parse()?;
//! assert!(rights.contains(Right::Seen));
//! # Ok::<(), postroom_types::RightsError>(())
//! ```

mod limits;
mod quota;
mod rights;
mod secret;
mod thread;

pub use limits::Limits;
pub use quota::{QuotaLimit, QuotaUsage, Resource};
pub use rights::{AclEntry, Right, Rights, RightsError};
pub use secret::Secret;
pub use thread::{NodeId, Thread, ThreadError, ThreadNode, ThreadToken};
