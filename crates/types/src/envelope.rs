//! [`Envelope`] and [`Address`]: the ENVELOPE fetch item (RFC 3501 §7.4.2).

/// An address structure of an envelope (RFC 3501 §7.4.2).
///
/// A group is written as a start marker (`mailbox` = group name, `host`
/// `None`), its members, and an end marker (`mailbox` and `host` `None`).
/// Values are raw header bytes (they may hold RFC 2047 encoded words or
/// 8-bit text); `None` is NIL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Address {
    /// The display name (`addr-name`).
    pub name: Option<Vec<u8>>,
    /// The source route (`addr-adl`), nearly always NIL.
    pub adl: Option<Vec<u8>>,
    /// The local part, or the group name in a group start marker.
    pub mailbox: Option<Vec<u8>>,
    /// The domain; NIL in group markers.
    pub host: Option<Vec<u8>>,
}

impl Address {
    /// A plain address `name <mailbox@host>`.
    pub fn new(name: Option<&[u8]>, mailbox: &[u8], host: &[u8]) -> Address {
        Address {
            name: name.map(<[u8]>::to_vec),
            adl: None,
            mailbox: Some(mailbox.to_vec()),
            host: Some(host.to_vec()),
        }
    }

    /// Whether this is a group start marker.
    pub fn is_group_start(&self) -> bool {
        self.host.is_none() && self.mailbox.is_some()
    }

    /// Whether this is a group end marker.
    pub fn is_group_end(&self) -> bool {
        self.host.is_none() && self.mailbox.is_none()
    }
}

/// The ENVELOPE of a message (RFC 3501 §7.4.2): the parsed header fields a
/// client shows in a message list.
///
/// Strings are the raw header values (unfolded, not decoded); `None` is NIL.
/// An empty address list is sent as NIL. Per RFC 3501 §7.4.2, a server
/// fills Sender and Reply-To from From when they are absent; that is the
/// builder's job (the mailbox crate), not this value's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Envelope {
    /// `Date:`
    pub date: Option<Vec<u8>>,
    /// `Subject:`
    pub subject: Option<Vec<u8>>,
    /// `From:`
    pub from: Vec<Address>,
    /// `Sender:`
    pub sender: Vec<Address>,
    /// `Reply-To:`
    pub reply_to: Vec<Address>,
    /// `To:`
    pub to: Vec<Address>,
    /// `Cc:`
    pub cc: Vec<Address>,
    /// `Bcc:`
    pub bcc: Vec<Address>,
    /// `In-Reply-To:`
    pub in_reply_to: Option<Vec<u8>>,
    /// `Message-ID:`
    pub message_id: Option<Vec<u8>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_markers() {
        let start = Address {
            mailbox: Some(b"undisclosed-recipients".to_vec()),
            ..Address::default()
        };
        assert!(start.is_group_start());
        assert!(!start.is_group_end());
        assert!(Address::default().is_group_end());
        let plain = Address::new(Some(b"Terry Gray"), b"gray", b"cac.washington.edu");
        assert!(!plain.is_group_start() && !plain.is_group_end());
        let env = Envelope {
            from: vec![plain],
            ..Envelope::default()
        };
        assert!(env.to.is_empty());
    }
}
