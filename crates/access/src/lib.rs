//! # postroom-access
//!
//! The access policy of an IMAP server over Maildir++: RFC 4314 ACLs with
//! the RFC 2086 `c`/`d` compatibility rules and Courier-IMAP's
//! `ACL2=UNION` model, and RFC 2087/9208 quota with Maildir++'s
//! `maildirsize` accounting.
//!
//! **This crate performs no I/O.** It parses and prints its file formats as
//! plain functions over bytes; the caller (`postroom-mailbox`) reads and
//! writes the files, lists directories and passes listings in, and supplies
//! a user's groups and the current time where a decision needs them.
//!
//! Entry points:
//!
//! - rights from the wire: [`parse_rights`], [`RightsModification`],
//!   [`LegacyMapping`] (virtual `c`/`d`), [`RIGHTS_CAPABILITY`];
//! - identifiers: [`Identifier`], [`Subject`];
//! - ACLs and their evaluation: [`Acl`], [`Principal`], [`AclPolicy`];
//! - which rights a command needs: [`policy`] ([`policy::authorize`],
//!   [`policy::Operation`], flag filtering, READ-ONLY/READ-WRITE,
//!   LISTRIGHTS);
//! - Courier's ACL2 protocol: [`courier`];
//! - the `courierimapacl` file: [`aclfile`];
//! - quota semantics: [`quota`]; the `maildirsize` file: [`maildirsize`].
//!
//! ```
//! use postroom_access::policy::{authorize, Operation, Target, Verdict};
//! use postroom_access::{parse_rights, Acl, AclPolicy, Identifier, LegacyMapping, Principal};
//!
//! let owner = Some("alice");
//! let mut acl = Acl::new();
//! acl.set(Identifier::OWNER, parse_rights("lrswipkxtea", LegacyMapping::DeleteIsD)?,
//!         owner, &AclPolicy::COURIER)?;
//! acl.set("bob".parse()?, parse_rights("lr", LegacyMapping::DeleteIsD)?,
//!         owner, &AclPolicy::COURIER)?;
//!
//! let bob = acl.rights_of(&Principal::user("bob"), owner);
//! assert_eq!(authorize(&Operation::Select, |_| Some(bob)), Verdict::Allowed);
//! assert!(matches!(
//!     authorize(&Operation::Delete, |_| Some(bob)),
//!     Verdict::Denied { target: Target::Mailbox, .. }
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Limits: the crate decides, it does not enforce; a server must call it
//! for every command. Identifiers are compared byte for byte (no SASLprep,
//! RFC 4314 §3 leaves that to the server). `maildirsize` recalculation works
//! on the listing it is given; detecting that a directory changed during the
//! scan is the caller's job.

mod acl;
mod identifier;
mod rights;

pub use acl::{Acl, AclChangeError, AclPolicy, Principal, SetAclError};
pub use identifier::{ADMINISTRATORS_GROUP, Identifier, IdentifierError, Subject};
pub use rights::{
    LegacyMapping, RFC4314_LETTERS, RIGHTS_CAPABILITY, RightsInputError, RightsModification,
    parse_rights, tie_virtual_rights,
};

pub mod aclfile;
pub mod courier;
pub mod maildirsize;
pub mod policy;
pub mod quota;
