//! Quota resources and values (RFC 2087, RFC 9208).

use std::fmt;

/// A quota resource name (RFC 9208 §5; RFC 2087 §3).
///
/// Names are case-insensitive on input and written in upper case.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resource {
    /// `STORAGE`: the sum of message sizes, in units of 1024 octets.
    Storage,
    /// `MESSAGE`: the number of messages.
    Message,
    /// `MAILBOX`: the number of mailboxes (RFC 9208 §5.3).
    Mailbox,
    /// `ANNOTATION-STORAGE`: annotation bytes, in KiB (RFC 9208 §5.4).
    AnnotationStorage,
    /// Any other resource atom, upper-cased.
    Other(String),
}

impl Resource {
    /// The resource named by an atom, compared case-insensitively.
    pub fn from_atom(atom: &str) -> Resource {
        if atom.eq_ignore_ascii_case("STORAGE") {
            Resource::Storage
        } else if atom.eq_ignore_ascii_case("MESSAGE") {
            Resource::Message
        } else if atom.eq_ignore_ascii_case("MAILBOX") {
            Resource::Mailbox
        } else if atom.eq_ignore_ascii_case("ANNOTATION-STORAGE") {
            Resource::AnnotationStorage
        } else {
            Resource::Other(atom.to_ascii_uppercase())
        }
    }

    /// The atom for this resource.
    pub fn as_str(&self) -> &str {
        match self {
            Resource::Storage => "STORAGE",
            Resource::Message => "MESSAGE",
            Resource::Mailbox => "MAILBOX",
            Resource::AnnotationStorage => "ANNOTATION-STORAGE",
            Resource::Other(s) => s,
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Usage and limit of one resource, as a `* QUOTA` response reports it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QuotaUsage {
    /// The resource.
    pub resource: Resource,
    /// Current usage (KiB for storage resources).
    pub usage: u64,
    /// The limit (KiB for storage resources).
    pub limit: u64,
}

/// A limit to set on one resource, as a `SETQUOTA` command carries it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QuotaLimit {
    /// The resource.
    pub resource: Resource,
    /// The new limit (KiB for storage resources).
    pub limit: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_atoms_are_case_insensitive() {
        assert_eq!(Resource::from_atom("storage"), Resource::Storage);
        assert_eq!(Resource::from_atom("Message"), Resource::Message);
        assert_eq!(Resource::from_atom("MAILBOX"), Resource::Mailbox);
        assert_eq!(
            Resource::from_atom("annotation-storage"),
            Resource::AnnotationStorage
        );
        assert_eq!(
            Resource::from_atom("x-files"),
            Resource::Other("X-FILES".into())
        );
        assert_eq!(Resource::from_atom("x-files").to_string(), "X-FILES");
        assert_eq!(Resource::Storage.to_string(), "STORAGE");
    }
}
