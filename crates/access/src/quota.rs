//! Quota semantics of RFC 2087 and RFC 9208: roots, resources, GETQUOTA,
//! GETQUOTAROOT, SETQUOTA, and the over-quota decision before APPEND, COPY,
//! MOVE and delivery.

use postroom_types::{QuotaLimit, QuotaUsage, Resource, Rights};

use crate::maildirsize::QuotaDefinition;
use crate::policy::{Operation, Target, Verdict, authorize};

/// The response code for refusals and warnings (RFC 9208 §4.3):
/// `NO [OVERQUOTA]`.
pub const OVERQUOTA: &str = "OVERQUOTA";

/// The capabilities for a server supporting `resources`, with `QUOTASET`
/// when SETQUOTA is offered (RFC 9208 §3).
pub fn capabilities(resources: &[Resource], settable: bool) -> Vec<String> {
    let mut caps = vec!["QUOTA".to_owned()];
    caps.extend(resources.iter().map(|r| format!("QUOTA=RES-{r}")));
    if settable {
        caps.push("QUOTASET".to_owned());
    }
    caps
}

/// How byte usage becomes STORAGE units of 1024 octets. Implementations
/// differ (RFC 9208 §5.1 leaves it open): Cyrus rounds down, Dovecot up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KibRounding {
    /// `bytes / 1024` (Cyrus).
    Down,
    /// `(bytes + 1023) / 1024` (Dovecot).
    #[default]
    Up,
}

impl KibRounding {
    /// `bytes` in KiB.
    pub const fn kib(self, bytes: u64) -> u64 {
        match self {
            KibRounding::Down => bytes / 1024,
            KibRounding::Up => bytes.div_ceil(1024),
        }
    }
}

/// Current usage of a quota root.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Usage {
    /// Bytes of messages (STORAGE is reported in KiB).
    pub storage_bytes: u64,
    /// Number of messages (MESSAGE).
    pub messages: u64,
    /// Number of mailboxes (MAILBOX).
    pub mailboxes: u64,
}

/// What an operation would add: a message of `storage_bytes` is
/// `{storage_bytes, messages: 1, mailboxes: 0}`; CREATE adds one mailbox.
pub type Addition = Usage;

/// Errors of the quota commands.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QuotaError {
    /// SETQUOTA by someone who is not an administrator (`NO`).
    #[error("quota can be changed only by an administrator")]
    NotAdministrator,
    /// A resource this server does not limit (`NO`).
    #[error("resource {0} is not supported")]
    UnsupportedResource(Resource),
    /// The same resource twice in one SETQUOTA (`BAD`).
    #[error("resource {0} named twice")]
    DuplicateResource(Resource),
    /// GETQUOTA of a root that does not exist or the user may not see.
    #[error("no such quota root {0:?}")]
    NoSuchRoot(String),
    /// GETQUOTAROOT: answer exactly as for a mailbox that does not exist.
    #[error("no such mailbox")]
    NoSuchMailbox,
    /// GETQUOTAROOT: the user may see the mailbox but not read it.
    #[error("permission denied")]
    PermissionDenied,
}

/// A quota root and its limits. Resources without a limit are unlimited
/// (RFC 2087 §5.1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct QuotaRoot {
    /// The root's name (`""`, `"User quota"`, `"ROOT"`, ...).
    pub name: String,
    limits: Vec<QuotaLimit>,
}

/// The resources this crate can account for.
pub const SUPPORTED_RESOURCES: [Resource; 3] =
    [Resource::Storage, Resource::Message, Resource::Mailbox];

/// The outcome of an over-quota check.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QuotaDecision {
    /// Go ahead.
    Allowed,
    /// Go ahead, and send `* NO [OVERQUOTA] ...` as a soft-limit warning
    /// (RFC 9208 §4.3) for this resource.
    SoftLimitWarning(Resource),
    /// Refuse with tagged `NO [OVERQUOTA]`: this resource would exceed its
    /// limit.
    OverQuota(Resource),
}

impl QuotaRoot {
    /// A root without limits.
    pub fn new(name: impl Into<String>) -> QuotaRoot {
        QuotaRoot {
            name: name.into(),
            limits: Vec::new(),
        }
    }

    /// A root with limits (checked as SETQUOTA would, by an administrator).
    pub fn with_limits(
        name: impl Into<String>,
        limits: Vec<QuotaLimit>,
    ) -> Result<QuotaRoot, QuotaError> {
        let mut root = QuotaRoot::new(name);
        root.set_limits(limits, true)?;
        Ok(root)
    }

    /// The limits, in the order they were set.
    pub fn limits(&self) -> &[QuotaLimit] {
        &self.limits
    }

    /// The limit on `resource`, if any.
    pub fn limit(&self, resource: &Resource) -> Option<u64> {
        self.limits
            .iter()
            .find(|l| &l.resource == resource)
            .map(|l| l.limit)
    }

    /// SETQUOTA (RFC 2087 §4.1): the root's limits become exactly `limits`;
    /// every resource not listed becomes unlimited. Only administrators may
    /// set quota (as Cyrus and Dovecot require). On error nothing changes.
    pub fn set_limits(
        &mut self,
        limits: Vec<QuotaLimit>,
        caller_is_admin: bool,
    ) -> Result<(), QuotaError> {
        if !caller_is_admin {
            return Err(QuotaError::NotAdministrator);
        }
        for (i, l) in limits.iter().enumerate() {
            if !SUPPORTED_RESOURCES.contains(&l.resource) {
                return Err(QuotaError::UnsupportedResource(l.resource.clone()));
            }
            if limits[..i].iter().any(|o| o.resource == l.resource) {
                return Err(QuotaError::DuplicateResource(l.resource.clone()));
            }
        }
        self.limits = limits;
        Ok(())
    }

    /// The `* QUOTA root (...)` list: usage and limit of every limited
    /// resource (STORAGE in KiB per `rounding`). An unlimited root gives an
    /// empty list (`* QUOTA "" ()`).
    pub fn usage_response(&self, usage: &Usage, rounding: KibRounding) -> Vec<QuotaUsage> {
        self.limits
            .iter()
            .map(|l| QuotaUsage {
                resource: l.resource.clone(),
                usage: match l.resource {
                    Resource::Storage => rounding.kib(usage.storage_bytes),
                    Resource::Message => usage.messages,
                    Resource::Mailbox => usage.mailboxes,
                    _ => 0,
                },
                limit: l.limit,
            })
            .collect()
    }

    /// Decides an addition (APPEND, COPY, MOVE, delivery; CREATE for
    /// MAILBOX): over quota when usage plus addition exceeds a limit
    /// (strictly; reaching the limit is allowed, as in Courier and
    /// Dovecot). STORAGE limits are compared in bytes (limit × 1024).
    /// With `soft_percent`, an addition that stays within the limits but
    /// takes a resource above that percentage of its limit is allowed with
    /// a warning.
    pub fn check(
        &self,
        usage: &Usage,
        addition: &Addition,
        soft_percent: Option<u8>,
    ) -> QuotaDecision {
        let mut warning = None;
        for l in &self.limits {
            let (now, add, limit) = match l.resource {
                Resource::Storage => (
                    usage.storage_bytes,
                    addition.storage_bytes,
                    l.limit.saturating_mul(1024),
                ),
                Resource::Message => (usage.messages, addition.messages, l.limit),
                Resource::Mailbox => (usage.mailboxes, addition.mailboxes, l.limit),
                _ => continue,
            };
            if add == 0 {
                continue;
            }
            let after = now.saturating_add(add);
            if after > limit {
                return QuotaDecision::OverQuota(l.resource.clone());
            }
            if let Some(p) = soft_percent {
                let threshold = u128::from(limit) * u128::from(p);
                if warning.is_none() && u128::from(after) * 100 > threshold {
                    warning = Some(l.resource.clone());
                }
            }
        }
        match warning {
            Some(r) => QuotaDecision::SoftLimitWarning(r),
            None => QuotaDecision::Allowed,
        }
    }
}

/// The `* QUOTAROOT mailbox root...` answer (RFC 2087 §4.3), to be followed
/// by one `* QUOTA` per root.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QuotaRootAnswer {
    /// The mailbox as named.
    pub mailbox: String,
    /// The names of its roots (may be empty).
    pub roots: Vec<String>,
}

/// GETQUOTAROOT: needs `r` on the mailbox, as Cyrus requires
/// (administrators pass); a mailbox that does not exist (`rights` is
/// `None`) or that the user may not look up fails as nonexistent
/// (RFC 4314 §6).
pub fn get_quota_root(
    mailbox: &str,
    rights: Option<Rights>,
    is_admin: bool,
    roots: &[&QuotaRoot],
) -> Result<QuotaRootAnswer, QuotaError> {
    if rights.is_none() {
        return Err(QuotaError::NoSuchMailbox);
    }
    if !is_admin {
        match authorize(&Operation::GetQuotaRoot, |_: Target| rights) {
            Verdict::Allowed => {}
            Verdict::Denied { .. } => return Err(QuotaError::PermissionDenied),
            _ => return Err(QuotaError::NoSuchMailbox),
        }
    }
    Ok(QuotaRootAnswer {
        mailbox: mailbox.to_owned(),
        roots: roots.iter().map(|r| r.name.clone()).collect(),
    })
}

/// GETQUOTA (RFC 2087 §4.2): the root named `name` among those the user may
/// see.
pub fn get_quota<'a>(name: &str, visible: &'a [QuotaRoot]) -> Result<&'a QuotaRoot, QuotaError> {
    visible
        .iter()
        .find(|r| r.name == name)
        .ok_or_else(|| QuotaError::NoSuchRoot(name.to_owned()))
}

/// The limits a `maildirsize` definition sets: STORAGE from `S` (bytes in
/// KiB per `rounding`), MESSAGE from `C`; zero (no limit) gives none.
pub fn limits_from_definition(def: QuotaDefinition, rounding: KibRounding) -> Vec<QuotaLimit> {
    let mut out = Vec::new();
    if def.bytes > 0 {
        out.push(QuotaLimit {
            resource: Resource::Storage,
            limit: rounding.kib(def.bytes),
        });
    }
    if def.messages > 0 {
        out.push(QuotaLimit {
            resource: Resource::Message,
            limit: def.messages,
        });
    }
    out
}

/// The `maildirsize` definition for limits set by SETQUOTA: STORAGE KiB ×
/// 1024 bytes, MESSAGE as is; MAILBOX has no place in the file and is
/// ignored.
pub fn definition_from_limits(limits: &[QuotaLimit]) -> QuotaDefinition {
    let mut def = QuotaDefinition::default();
    for l in limits {
        match l.resource {
            Resource::Storage => def.bytes = l.limit.saturating_mul(1024),
            Resource::Message => def.messages = l.limit,
            _ => {}
        }
    }
    def
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(resource: Resource, limit: u64) -> QuotaLimit {
        QuotaLimit { resource, limit }
    }

    #[test]
    fn rounding() {
        assert_eq!(KibRounding::Up.kib(942), 1);
        assert_eq!(KibRounding::Down.kib(942), 0);
        assert_eq!(KibRounding::Up.kib(1024), 1);
        assert_eq!(KibRounding::Up.kib(1025), 2);
        assert_eq!(KibRounding::Up.kib(u64::MAX), u64::MAX / 1024 + 1);
    }

    #[test]
    fn capability_list() {
        assert_eq!(
            capabilities(&SUPPORTED_RESOURCES, true),
            [
                "QUOTA",
                "QUOTA=RES-STORAGE",
                "QUOTA=RES-MESSAGE",
                "QUOTA=RES-MAILBOX",
                "QUOTASET"
            ]
        );
    }

    #[test]
    fn maildirsize_bridge() {
        let def = QuotaDefinition {
            bytes: 1024,
            messages: 3,
        };
        let limits = limits_from_definition(def, KibRounding::Up);
        assert_eq!(
            limits,
            [lim(Resource::Storage, 1), lim(Resource::Message, 3)]
        );
        assert_eq!(definition_from_limits(&limits), def);
        assert!(limits_from_definition(QuotaDefinition::default(), KibRounding::Up).is_empty());
    }
}
