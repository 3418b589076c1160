//! [`Limits`]: the bounds every codec enforces on input from the wire.

/// Bounds on what a peer may make a codec buffer or decode.
///
/// Limits are always on. The constructors give the defaults for each protocol
/// and direction; adjust single fields afterwards:
///
/// ```
/// use postroom_types::Limits;
/// let mut limits = Limits::imap_server();
/// limits.max_append_literal = 32 * 1024 * 1024;
/// assert!(limits.max_line >= 8 * 1024);
/// ```
///
/// Opting out is only possible through [`Limits::unlimited_for_trusted_peer`],
/// whose name says what it does.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest line (without its CRLF, excluding literal data) accepted, in
    /// bytes. IMAP commands: 64 KiB; IMAP responses: 16 MiB (a `* SEARCH` over
    /// 100k messages is one ~700 KB line); POP3 commands: 255 (RFC 2449 §4);
    /// POP3 responses: 512 (RFC 2449 §4), multi-line data lines excepted.
    pub max_line: usize,
    /// Largest literal accepted in an `APPEND` (IMAP server side), in bytes.
    /// Advertised as `APPENDLIMIT=`.
    pub max_append_literal: u64,
    /// Largest literal accepted anywhere else after authentication, in bytes.
    /// On the client side this bounds every literal of a response (a
    /// `BODY[]` of a large message).
    pub max_literal: u64,
    /// Largest literal accepted before authentication, in bytes (a 22-byte
    /// `LOGIN {400000000}` must not make anything allocate).
    pub max_unauthenticated_literal: u64,
    /// Deepest nesting of parenthesised lists decoded (BODYSTRUCTURE, THREAD,
    /// search keys). Encoding never stops at a depth.
    pub max_depth: usize,
    /// Total literal bytes one command or response may carry, in bytes.
    pub max_message: u64,
    /// Consecutive bad commands after which a server closes the connection.
    pub max_consecutive_bad: u32,
    /// Bytes of queued output above which a connection stops accepting new
    /// commands until the application drains it.
    pub output_high_water: usize,
}

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

impl Limits {
    /// Defaults for an IMAP server parsing commands.
    pub const fn imap_server() -> Self {
        Limits {
            max_line: 64 * KIB,
            max_append_literal: 64 * MIB as u64,
            max_literal: MIB as u64,
            max_unauthenticated_literal: 4 * KIB as u64,
            max_depth: 64,
            max_message: 64 * MIB as u64 + MIB as u64,
            max_consecutive_bad: 10,
            output_high_water: 4 * MIB,
        }
    }

    /// Defaults for an IMAP client parsing responses.
    pub const fn imap_client() -> Self {
        Limits {
            max_line: 16 * MIB,
            max_append_literal: 0,
            max_literal: 256 * MIB as u64,
            max_unauthenticated_literal: 256 * MIB as u64,
            max_depth: 512,
            max_message: 1024 * MIB as u64,
            max_consecutive_bad: 10,
            output_high_water: 64 * MIB,
        }
    }

    /// Defaults for a POP3 server parsing commands (RFC 2449 §4: 255 octets
    /// including CRLF; the connection counts without it).
    pub const fn pop3_server() -> Self {
        Limits {
            max_line: 253,
            max_append_literal: 0,
            max_literal: 0,
            max_unauthenticated_literal: 0,
            max_depth: 0,
            max_message: 0,
            max_consecutive_bad: 10,
            output_high_water: 4 * MIB,
        }
    }

    /// Defaults for a POP3 client parsing responses. RFC 2449 §4 bounds
    /// status lines at 512 octets; real servers send longer multi-line data
    /// lines, which are bounded at 64 KiB here.
    pub const fn pop3_client() -> Self {
        Limits {
            max_line: 64 * KIB,
            max_append_literal: 0,
            max_literal: 0,
            max_unauthenticated_literal: 0,
            max_depth: 0,
            max_message: 0,
            max_consecutive_bad: 10,
            output_high_water: 4 * MIB,
        }
    }

    /// No practical limits: for a peer you fully trust (a local test harness,
    /// a replay of your own output). Never use it for data from the network.
    pub const fn unlimited_for_trusted_peer() -> Self {
        Limits {
            max_line: usize::MAX,
            max_append_literal: u64::MAX,
            max_literal: u64::MAX,
            max_unauthenticated_literal: u64::MAX,
            max_depth: usize::MAX,
            max_message: u64::MAX,
            max_consecutive_bad: u32::MAX,
            output_high_water: usize::MAX,
        }
    }
}

impl Default for Limits {
    /// The IMAP server defaults ([`Limits::imap_server`]).
    fn default() -> Self {
        Limits::imap_server()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_refuses_big_pre_auth_literals() {
        let l = Limits::imap_server();
        assert!(l.max_unauthenticated_literal < 400_000_000);
        assert!(
            l.max_append_literal >= 27_000_000,
            "a 20 MB attachment must fit"
        );
        assert!(l.max_literal < l.max_append_literal);
    }

    #[test]
    fn client_lines_fit_a_big_search_response() {
        assert!(Limits::imap_client().max_line > 700_000);
        assert!(Limits::imap_client().max_depth >= 256);
    }

    #[test]
    fn pop3_command_line_is_rfc2449_bound() {
        assert_eq!(Limits::pop3_server().max_line + 2, 255);
    }
}
