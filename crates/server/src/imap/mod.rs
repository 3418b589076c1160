//! The IMAP service: [`Session`] joins the IMAP codec
//! (`postroom-imap`'s [`ServerConnection`]), the Maildir++ store
//! (`postroom-mailbox`), SORT/THREAD (`postroom-sort`) and the ACL and quota
//! policy (`postroom-access`).
//!
//! A session is sans-IO: bytes from the client go into
//! [`Session::handle_input`], responses come out of
//! [`Session::poll_transmit`], STARTTLS, logout and failed logins come out
//! of [`Session::poll_action`], and time comes in through
//! [`Session::handle_timeout`] (IDLE notifications and keepalives,
//! autologout). Commands run to completion inside `handle_input`, reading
//! and writing the Maildir synchronously.
//!
//! ```
//! use std::sync::Arc;
//! use postroom_server::imap::{Directory, MaildirsizeQuota, ServiceConfig, Session, Transport};
//! use postroom_server::users::UserDb;
//!
//! let dir = tempfile::tempdir()?;
//! let users = UserDb::parse(b"alice:{PLAIN}secret\n")?;
//! let directory = Directory::new(users, dir.path(), MaildirsizeQuota::new(Default::default()));
//! let config = Arc::new(ServiceConfig::new(Arc::new(directory)));
//! let peer = "127.0.0.1:40000".parse().ok();
//! let mut session = Session::new(config, peer, Transport::Plain { starttls: false });
//! session.handle_input(b"a1 LOGIN alice secret\r\na2 SELECT INBOX\r\n");
//! let mut out = Vec::new();
//! session.poll_transmit(&mut out);
//! let text = String::from_utf8(out)?;
//! assert!(text.contains("a1 OK"));
//! assert!(text.contains("a2 OK [READ-WRITE]"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod directory;
mod fetch;
#[cfg(feature = "tokio")]
mod protocol;
mod quota;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use postroom_access::courier::{
    self, Acl2Change, Acl2Command, Acl2Outcome, ListOptions, acl1_identifier, courier_letters,
};
use postroom_access::policy::{self, FlagKind, Operation, Target, Verdict};
use postroom_access::quota::{self as q, KibRounding, QuotaRoot, Usage};
use postroom_access::{Acl, AclPolicy, LegacyMapping, Principal, RightsModification};
use postroom_imap::command::{Atom, Command, RightsChange, StatusItem, Tag};
use postroom_imap::response::{
    Code, Data, ListData, ListExtended, NamespaceDescription, Response, StatusKind, StatusResponse,
};
use postroom_imap::server::{ServerConfig, ServerConnection, ServerEvent, State};
use postroom_mailbox::{
    FlagSet, ListAttribute, MailboxError, MaildirStore, Store, StoreMode, permanent_flags,
};
use postroom_types::{
    AclEntry, Flag, MailboxName, QuotaUsage, Right, Rights, Secret, SequenceSet, Uid,
};

pub use directory::{DEFAULT_KEEP_OPEN, Directory, SHARED_PREFIX};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use protocol::Connection;
pub use quota::{MaildirsizeQuota, QuotaState};

use directory::{
    Location, display, exists, read_acl, resolve, rights_on, set_shared_subscriptions,
    shared_subscriptions, write_acl,
};

/// The folders created and subscribed at a user's first login, with their
/// RFC 6154 attribute.
pub const SPECIAL_USE: [(&str, &str); 4] = [
    ("INBOX.Drafts", "Drafts"),
    ("INBOX.Sent", "Sent"),
    ("INBOX.Trash", "Trash"),
    ("INBOX.Junk", "Junk"),
];

/// The file at the top of a Maildir that records that the special-use
/// folders were set up (so a folder the user deleted is not recreated).
const SPECIAL_USE_MARKER: &str = "postroom-specialuse";

/// When plaintext LOGIN / AUTHENTICATE PLAIN are accepted outside TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlaintextLogin {
    /// Always (e.g. behind a TLS-terminating proxy).
    Always,
    /// Only from loopback peers (the default).
    LoopbackOnly,
    /// Never: only after STARTTLS or on implicit TLS.
    Never,
}

/// Settings shared by every session of a service.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// Users, their Maildirs and quota.
    pub directory: Arc<Directory>,
    /// Plaintext login policy (default [`PlaintextLogin::LoopbackOnly`]).
    pub plaintext_login: PlaintextLogin,
    /// Untagged `OK` sent to an idling client this often, so NAT boxes keep
    /// the connection (default 2 minutes).
    pub idle_keepalive: Duration,
    /// How often an idling session looks for changes by this process
    /// (default 50 ms); changes by other processes are found by a rescan
    /// every [`Directory::with_poll_interval`].
    pub idle_check: Duration,
    /// The largest message APPEND accepts (RFC 7889 `APPENDLIMIT`), also
    /// the codec's APPEND literal limit.
    pub append_limit: u32,
    /// Sent in the greeting.
    pub greeting: String,
}

impl ServiceConfig {
    /// Defaults over `directory`.
    pub fn new(directory: Arc<Directory>) -> ServiceConfig {
        ServiceConfig {
            directory,
            plaintext_login: PlaintextLogin::LoopbackOnly,
            idle_keepalive: Duration::from_secs(120),
            idle_check: Duration::from_millis(50),
            append_limit: 64 * 1024 * 1024,
            greeting: "postroom IMAP4rev1 ready".to_owned(),
        }
    }
}

/// What the connection is running over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Cleartext; `starttls` when the transport can upgrade.
    Plain {
        /// STARTTLS may be offered.
        starttls: bool,
    },
    /// TLS from the start (port 993).
    Tls,
}

/// Something only the transport can do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionAction {
    /// Send what is queued, then start TLS (STARTTLS was answered OK).
    StartTls,
    /// Send what is queued, then close the connection.
    Close,
    /// A login failed: the transport may delay the connection.
    LoginFailed {
        /// The user name given (for logs; never the password).
        user: String,
    },
    /// `user` logged in.
    LoggedIn {
        /// The user name.
        user: String,
    },
}

/// A password hash check a login waits for (see
/// [`Session::poll_password_check`]).
pub struct PasswordCheck {
    tag: Tag,
    users: Arc<crate::users::UserDb>,
    username: String,
    password: Secret<Vec<u8>>,
}

impl std::fmt::Debug for PasswordCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordCheck")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl PasswordCheck {
    /// Verifies the password (slow for hashed schemes; no I/O).
    pub fn run(self) -> PasswordChecked {
        let ok = self
            .users
            .verify(&self.username, self.password.expose_secret())
            .is_some();
        PasswordChecked {
            tag: self.tag,
            username: self.username,
            ok,
        }
    }
}

/// The result of [`PasswordCheck::run`].
#[derive(Debug)]
pub struct PasswordChecked {
    tag: Tag,
    username: String,
    ok: bool,
}

/// Decides whether a login may proceed beyond the password check (e.g. a
/// per-user connection limit); `Err` text refuses it with `NO [LIMIT]`.
pub type LoginGuard = Box<dyn FnMut(&str) -> Result<(), String> + Send>;

/// One IMAP connection's server side: codec, authenticated user, selected
/// mailbox.
pub struct Session {
    conn: ServerConnection,
    config: Arc<ServiceConfig>,
    peer: Option<SocketAddr>,
    tls: bool,
    starttls: bool,
    user: Option<User>,
    selected: Option<Selected>,
    idle: Option<Idle>,
    actions: VecDeque<SessionAction>,
    login_guard: Option<LoginGuard>,
    defer_password_checks: bool,
    password_check: Option<PasswordCheck>,
    fetch_job: Option<fetch::FetchJob>,
    closed_reported: bool,
    now: Option<Instant>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("peer", &self.peer)
            .field("tls", &self.tls)
            .field("user", &self.user.as_ref().map(|u| &u.name))
            .field("state", &self.conn.state())
            .finish_non_exhaustive()
    }
}

struct User {
    name: String,
    principal: Principal,
    admin: bool,
    store: MaildirStore,
    /// Mailboxes this session opened, kept open so the process keeps their
    /// in-memory state (`\Recent`, the change counter) between commands.
    open: Vec<(Location, Arc<postroom_mailbox::Mailbox>)>,
}

/// How many mailbox handles a session keeps open.
const OPEN_CACHE: usize = 16;

struct Selected {
    loc: Location,
    view: postroom_mailbox::Session,
    rights: Rights,
}

struct Idle {
    next_check: Option<Instant>,
    next_rescan: Option<Instant>,
    next_keepalive: Option<Instant>,
}

/// A failed command: the tagged status and text.
struct Fail(StatusKind, Option<Code>, String);

type CmdResult = Result<(Option<Code>, String), Fail>;

fn no(text: impl Into<String>) -> Fail {
    Fail(StatusKind::No, None, text.into())
}

fn no_code(code: Code, text: impl Into<String>) -> Fail {
    Fail(StatusKind::No, Some(code), text.into())
}

fn bad(text: impl Into<String>) -> Fail {
    Fail(StatusKind::Bad, None, text.into())
}

fn ok(text: impl Into<String>) -> CmdResult {
    Ok((None, text.into()))
}

fn atom(s: &str) -> Atom {
    // Invariant: only called with the literal capability and attribute
    // names of this file, which are valid atoms.
    Atom::new(s).unwrap_or_else(|| Atom::new("X").expect("X is an atom"))
}

fn nz(n: u32) -> Option<NonZeroU32> {
    NonZeroU32::new(n)
}

/// Maps a store error to the tagged answer.
fn store_error(e: MailboxError) -> Fail {
    match e {
        MailboxError::NotFound(_) => no_code(Code::NonExistent, "no such mailbox"),
        MailboxError::AlreadyExists(_) => no_code(Code::AlreadyExists, "mailbox already exists"),
        MailboxError::OverQuota => no_code(Code::OverQuota, "quota exceeded"),
        MailboxError::TooLarge(_) => no_code(Code::TooBig, "message too large"),
        MailboxError::ReadOnly => no("mailbox is read-only"),
        MailboxError::BadCharset(_) => no_code(
            Code::BadCharset(vec!["US-ASCII".into(), "UTF-8".into()]),
            "unsupported charset",
        ),
        MailboxError::InvalidName { .. } => no_code(Code::CannotDo, e.to_string()),
        MailboxError::DeleteInbox
        | MailboxError::HasChildren(_)
        | MailboxError::RenameIntoSelf(_) => no_code(Code::CannotDo, e.to_string()),
        MailboxError::Io { .. } | MailboxError::Format { .. } => {
            no_code(Code::ServerBug, "internal error in the mail store")
        }
        other => no(other.to_string()),
    }
}

impl Session {
    /// A session for a new connection from `peer` (used for the plaintext
    /// login policy); the greeting is queued.
    pub fn new(
        config: Arc<ServiceConfig>,
        peer: Option<SocketAddr>,
        transport: Transport,
    ) -> Session {
        let (tls, starttls) = match transport {
            Transport::Plain { starttls } => (false, starttls),
            Transport::Tls => (true, false),
        };
        let mut s = Session {
            conn: ServerConnection::new(ServerConfig::new(Vec::new())),
            config,
            peer,
            tls,
            starttls,
            user: None,
            selected: None,
            idle: None,
            actions: VecDeque::new(),
            login_guard: None,
            defer_password_checks: false,
            password_check: None,
            fetch_job: None,
            closed_reported: false,
            now: None,
        };
        let mut sc = ServerConfig::new(s.capabilities());
        sc.limits.max_append_literal = u64::from(s.config.append_limit);
        sc.limits.max_message = sc
            .limits
            .max_message
            .max(u64::from(s.config.append_limit).saturating_add(1 << 20));
        sc.starttls = starttls;
        sc.greeting = StatusResponse::untagged(
            StatusKind::Ok,
            Some(Code::Capability(s.capabilities())),
            s.config.greeting.clone(),
        );
        s.conn = ServerConnection::new(sc);
        s
    }

    /// Installs a check run after a correct password and before the login
    /// succeeds (per-user connection limits).
    pub fn set_login_guard(&mut self, guard: LoginGuard) {
        self.login_guard = Some(guard);
    }

    /// The logged-in user, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.name.as_str())
    }

    /// The codec state.
    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// Whether the session is in IDLE.
    pub fn is_idling(&self) -> bool {
        self.idle.is_some()
    }

    /// Feeds bytes from the client and runs every complete command.
    pub fn handle_input(&mut self, input: &[u8]) {
        self.conn.handle_input(input);
        self.process();
    }

    /// Appends queued output to `out`.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> usize {
        if self.fetch_job.is_some() {
            self.continue_fetch();
        }
        self.process();
        self.conn.poll_transmit(out)
    }

    /// Whether a FETCH is streaming its answers: the next
    /// [`Session::poll_transmit`] reads message files.
    pub fn is_fetching(&self) -> bool {
        self.fetch_job.is_some()
    }

    /// The next action for the transport.
    pub fn poll_action(&mut self) -> Option<SessionAction> {
        self.process();
        self.actions.pop_front()
    }

    /// TLS is up after [`SessionAction::StartTls`].
    pub fn handle_tls_established(&mut self) {
        self.tls = true;
        self.starttls = false;
    }

    /// When [`Session::handle_timeout`] should next be called.
    pub fn next_timeout(&self) -> Option<Instant> {
        if self.conn.is_closed() {
            return None;
        }
        let mut t = self.conn.poll_timeout();
        if let Some(idle) = &self.idle {
            for d in [idle.next_check, idle.next_rescan, idle.next_keepalive]
                .into_iter()
                .flatten()
            {
                t = Some(t.map_or(d, |x| x.min(d)));
            }
        }
        t
    }

    /// Tells the session the time: IDLE checks for changes and sends
    /// keepalives; an inactive connection is logged out (RFC 3501 §5.4).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = Some(now);
        if let Some(idle) = &mut self.idle {
            let check = idle.next_check.is_none_or(|t| now >= t);
            let rescan = idle.next_rescan.is_none_or(|t| now >= t);
            let keepalive = idle.next_keepalive.is_some_and(|t| now >= t);
            if idle.next_keepalive.is_none() || keepalive {
                idle.next_keepalive = Some(now + self.config.idle_keepalive);
            }
            if check {
                idle.next_check = Some(now + self.config.idle_check);
            }
            if rescan {
                idle.next_rescan = Some(now + self.config.directory.poll_interval());
            }
            if keepalive {
                self.conn
                    .respond(&Response::Status(StatusResponse::untagged(
                        StatusKind::Ok,
                        None,
                        "still here",
                    )));
            }
            if rescan {
                self.send_changes(true, true);
            } else if check {
                self.send_changes(true, false);
            }
        }
        // The autologout timer (RFC 3501 §5.4) runs during IDLE too, so an
        // expired deadline is never left pending.
        self.conn.handle_timeout(now);
        self.process();
    }

    /// The client went quiet for the transport's idle timeout: `* BYE`.
    pub fn handle_autologout(&mut self) {
        self.conn
            .respond(&Response::Status(StatusResponse::untagged(
                StatusKind::Bye,
                None,
                "autologout; idle for too long",
            )));
        self.conn.set_state(State::Logout);
        self.process();
    }

    /// The server is shutting down.
    pub fn handle_shutdown(&mut self) {
        self.conn
            .respond(&Response::Status(StatusResponse::untagged(
                StatusKind::Bye,
                None,
                "server shutting down",
            )));
        self.conn.set_state(State::Logout);
        self.process();
    }

    /// The capabilities for the current state.
    pub fn capabilities(&self) -> Vec<Atom> {
        let mut caps: Vec<&str> = vec!["IMAP4rev1", "LITERAL+", "SASL-IR", "ENABLE", "ID"];
        let mut owned = Vec::new();
        if self.user.is_none() {
            if self.starttls && !self.tls {
                caps.push("STARTTLS");
            }
            if self.plaintext_allowed() {
                caps.push("AUTH=PLAIN");
                caps.push("AUTH=LOGIN");
            } else {
                caps.push("LOGINDISABLED");
            }
        } else {
            caps.extend([
                "UNSELECT",
                "MOVE",
                "UIDPLUS",
                "CHILDREN",
                "NAMESPACE",
                "THREAD=ORDEREDSUBJECT",
                "THREAD=REFERENCES",
                "SORT",
                "QUOTA",
                "IDLE",
                "ACL",
                "ACL2=UNION",
                postroom_access::RIGHTS_CAPABILITY,
                "SPECIAL-USE",
            ]);
            owned.push(format!("APPENDLIMIT={}", self.config.append_limit));
        }
        caps.into_iter()
            .map(atom)
            .chain(owned.iter().map(|s| atom(s)))
            .collect()
    }

    fn plaintext_allowed(&self) -> bool {
        self.tls
            || match self.config.plaintext_login {
                PlaintextLogin::Always => true,
                PlaintextLogin::Never => false,
                PlaintextLogin::LoopbackOnly => self.peer.is_some_and(|p| match p.ip() {
                    std::net::IpAddr::V4(v4) => v4.is_loopback(),
                    std::net::IpAddr::V6(v6) => {
                        v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
                    }
                }),
            }
    }

    /// Runs every event the codec has.
    fn process(&mut self) {
        while let Some(event) = self.conn.poll_event() {
            match event {
                ServerEvent::Command { tag, command } => self.command(tag, command),
                ServerEvent::Authenticate {
                    tag, credentials, ..
                } => {
                    if credentials
                        .authzid
                        .as_deref()
                        .is_some_and(|z| !z.is_empty() && z != credentials.username)
                    {
                        self.conn.complete(
                            &tag,
                            StatusKind::No,
                            Some(Code::AuthorizationFailed),
                            "authorization identity not allowed",
                        );
                        continue;
                    }
                    let password = credentials.password.expose_secret().clone();
                    self.login(tag, &credentials.username, password.as_bytes());
                }
                ServerEvent::AuthenticateData { tag, .. } => {
                    self.conn
                        .complete(&tag, StatusKind::No, None, "unsupported mechanism");
                }
                ServerEvent::IdleDone { tag } => {
                    self.idle = None;
                    self.send_changes(true, false);
                    self.conn
                        .complete(&tag, StatusKind::Ok, None, "IDLE terminated");
                }
                ServerEvent::StartTls { tag } => {
                    self.conn
                        .complete(&tag, StatusKind::Ok, None, "begin TLS negotiation now");
                    self.actions.push_back(SessionAction::StartTls);
                }
                ServerEvent::Closed if !self.closed_reported => {
                    self.closed_reported = true;
                    self.fetch_job = None;
                    self.selected = None;
                    self.idle = None;
                    self.actions.push_back(SessionAction::Close);
                }
                _ => {}
            }
        }
    }

    fn command(&mut self, tag: Tag, command: Command) {
        // Commands during which EXPUNGE may not be sent (RFC 3501 §7.4.1).
        let expunge_ok = !matches!(
            command,
            Command::Fetch { uid: false, .. }
                | Command::Store { uid: false, .. }
                | Command::Search { uid: false, .. }
                | Command::Sort { uid: false, .. }
                | Command::Thread { uid: false, .. }
        );
        if let Command::Fetch { uid, set, items } = command {
            // Answered message by message as output drains.
            self.start_fetch(tag, uid, &set, &items);
            return;
        }
        if let Command::Login { username, password } = command {
            // `login` completes the tag itself.
            let pw = password.expose_secret().clone();
            self.login(tag, &username, pw.as_bytes());
            return;
        }
        let is_idle = matches!(command, Command::Idle);
        // RFC 3501 §6.1.2, §6.4.1: NOOP and CHECK are how a client polls
        // for new mail; SELECT and EXAMINE report the current state.
        let rescan = matches!(
            command,
            Command::Noop | Command::Check | Command::Select { .. } | Command::Examine { .. }
        );
        let result = self.execute(&tag, command);
        if is_idle && result.is_ok() {
            return; // completed at DONE
        }
        if self.conn.is_closed() {
            return;
        }
        if self.selected.is_some() && self.conn.state() == State::Selected {
            self.send_changes(expunge_ok, rescan);
        }
        match result {
            Ok((code, text)) => self.conn.complete(&tag, StatusKind::Ok, code, &text),
            Err(Fail(kind, code, text)) => self.conn.complete(&tag, kind, code, &text),
        }
    }

    fn execute(&mut self, tag: &Tag, command: Command) -> CmdResult {
        match command {
            Command::Capability => {
                let caps = self.capabilities();
                self.conn.respond_data(Data::Capability(caps));
                ok("CAPABILITY completed")
            }
            Command::Noop => ok("NOOP completed"),
            Command::Check => ok("CHECK completed"),
            Command::Logout => {
                self.selected = None;
                ok("LOGOUT completed")
            }
            Command::Id { .. } => {
                self.conn.respond_data(Data::Id(Some(vec![
                    ("name".into(), Some("postroom".into())),
                    ("version".into(), Some(env!("CARGO_PKG_VERSION").into())),
                ])));
                ok("ID completed")
            }
            Command::Enable { .. } => {
                // Nothing this server offers needs enabling (no UTF8=ACCEPT,
                // CONDSTORE or QRESYNC).
                self.conn.respond_data(Data::Enabled(Vec::new()));
                ok("ENABLE completed")
            }
            Command::Authenticate { .. } => Err(no("unsupported authentication mechanism")),
            Command::StartTls => Err(bad("STARTTLS is handled by the connection")),
            Command::Namespace => {
                let ns = |p: &str| NamespaceDescription {
                    prefix: p.into(),
                    delimiter: Some('.'),
                    extensions: Vec::new(),
                };
                self.conn.respond_data(Data::Namespace {
                    personal: vec![ns("INBOX.")],
                    other: Vec::new(),
                    shared: vec![ns(&format!("{SHARED_PREFIX}."))],
                });
                ok("NAMESPACE completed")
            }
            Command::Select { mailbox } => self.select(mailbox, false),
            Command::Examine { mailbox } => self.select(mailbox, true),
            Command::Create { mailbox } => self.create(mailbox),
            Command::Delete { mailbox } => self.delete(mailbox),
            Command::Rename { from, to } => self.rename(from, to),
            Command::Subscribe { mailbox } => self.subscribe(mailbox, true),
            Command::Unsubscribe { mailbox } => self.subscribe(mailbox, false),
            Command::List {
                selection,
                reference,
                pattern,
            } => self.list(&selection, &reference, &pattern, false),
            Command::Lsub { reference, pattern } => self.list(&[], &reference, &pattern, true),
            Command::Status { mailbox, items } => self.status(mailbox, &items),
            Command::Append {
                mailbox,
                flags,
                date,
                message,
            } => self.append(mailbox, flags, date, message),
            Command::Close => {
                if let Some(sel) = self.selected.take() {
                    let expunge = !sel.view.is_read_only()
                        && policy::close_action(sel.rights) == policy::CloseAction::ExpungeAndClose;
                    if expunge {
                        // Errors here leave messages for a later EXPUNGE.
                        let _ = sel.view.close();
                    }
                }
                ok("CLOSE completed")
            }
            Command::Unselect => {
                self.selected = None;
                ok("UNSELECT completed")
            }
            Command::Expunge => self.expunge(None),
            Command::UidExpunge { uids } => self.expunge(Some(uids)),
            Command::Search {
                uid,
                charset,
                criteria,
            } => self.search(uid, charset.as_deref(), &criteria),
            Command::Store {
                uid,
                set,
                mode,
                silent,
                flags,
            } => self.store(uid, &set, mode, silent, &flags),
            Command::Copy { uid, set, mailbox } => self.copy(uid, &set, mailbox, false),
            Command::Move { uid, set, mailbox } => self.copy(uid, &set, mailbox, true),
            Command::Sort {
                uid,
                criteria,
                charset,
                search,
            } => self.sort(uid, &criteria, &charset, &search),
            Command::Thread {
                uid,
                algorithm,
                charset,
                search,
            } => self.thread(uid, &algorithm, &charset, &search),
            Command::GetQuota { root } => self.get_quota(&root),
            Command::GetQuotaRoot { mailbox } => self.get_quota_root(mailbox),
            Command::SetQuota { root, limits } => self.set_quota(&root, limits),
            Command::Idle => {
                self.conn.accept_idle(tag);
                self.send_changes(true, false);
                // Timers start at the last known time, so a transport that
                // already ticked wakes the session at once.
                self.idle = Some(Idle {
                    next_check: self.now,
                    next_rescan: self.now,
                    next_keepalive: self.now.map(|n| n + self.config.idle_keepalive),
                });
                ok("IDLE")
            }
            Command::SetAcl {
                mailbox,
                identifier,
                rights,
            } => self.set_acl(mailbox, &identifier, Some(rights)),
            Command::DeleteAcl {
                mailbox,
                identifier,
            } => self.set_acl(mailbox, &identifier, None),
            Command::GetAcl { mailbox } => self.get_acl(mailbox),
            Command::ListRights {
                mailbox,
                identifier,
            } => self.list_rights(mailbox, &identifier),
            Command::MyRights { mailbox } => self.my_rights(mailbox),
            Command::AclStore {
                mailboxes,
                identifier,
                rights,
            } => {
                let (prefix, r) = match rights {
                    RightsChange::Add(r) => ("+", r),
                    RightsChange::Remove(r) => ("-", r),
                    RightsChange::Replace(r) => ("", r),
                };
                let change = Acl2Change::Store {
                    identifier,
                    rights: format!("{prefix}{}", courier_letters(r)),
                };
                self.acl2(&mailboxes, change)
            }
            Command::AclDelete {
                mailboxes,
                identifier,
            } => self.acl2(&mailboxes, Acl2Change::Delete { identifier }),
            Command::AclSet { mailboxes, entries } => {
                let entries = entries
                    .into_iter()
                    .map(|(id, r)| (id, courier_letters(r)))
                    .collect();
                self.acl2(&mailboxes, Acl2Change::Set { entries })
            }
            other => Err(bad(format!("{} is not supported", other.name()))),
        }
    }

    // ----- authentication -------------------------------------------------

    fn login(&mut self, tag: Tag, username: &str, password: &[u8]) {
        if !self.plaintext_allowed() {
            self.conn.complete(
                &tag,
                StatusKind::No,
                Some(Code::PrivacyRequired),
                "plaintext login is disabled; use STARTTLS",
            );
            return;
        }
        let check = PasswordCheck {
            tag,
            users: self.config.directory.users(),
            username: username.to_owned(),
            password: Secret::new(password.to_vec()),
        };
        if self.defer_password_checks {
            // The transport runs the hash on a worker thread and hands the
            // verdict back (`handle_password_checked`).
            self.password_check = Some(check);
        } else {
            let verdict = check.run();
            self.handle_password_checked(verdict);
        }
    }

    /// Takes the password check a LOGIN or AUTHENTICATE is waiting for,
    /// after [`Session::set_deferred_password_checks`]. Run it anywhere
    /// ([`PasswordCheck::run`]) and give the result to
    /// [`Session::handle_password_checked`]; no other command runs
    /// meanwhile.
    pub fn poll_password_check(&mut self) -> Option<PasswordCheck> {
        self.password_check.take()
    }

    /// Makes LOGIN and AUTHENTICATE hand their password hash check out
    /// through [`Session::poll_password_check`] instead of running it
    /// inline (hashes such as ARGON2ID take tens of milliseconds).
    pub fn set_deferred_password_checks(&mut self, deferred: bool) {
        self.defer_password_checks = deferred;
    }

    /// Finishes the login a [`PasswordCheck`] was run for.
    pub fn handle_password_checked(&mut self, verdict: PasswordChecked) {
        self.finish_login(verdict);
        self.process();
    }

    fn finish_login(&mut self, verdict: PasswordChecked) {
        let PasswordChecked { tag, username, ok } = verdict;
        let username = username.as_str();
        let users = self.config.directory.users();
        let entry = match users.get(username) {
            Some(e) if ok => e,
            _ => {
                self.actions.push_back(SessionAction::LoginFailed {
                    user: username.to_owned(),
                });
                self.conn.complete(
                    &tag,
                    StatusKind::No,
                    Some(Code::AuthenticationFailed),
                    "authentication failed",
                );
                return;
            }
        };
        if let Some(guard) = &mut self.login_guard {
            if let Err(text) = guard(username) {
                self.conn
                    .complete(&tag, StatusKind::No, Some(Code::Limit), &text);
                return;
            }
        }
        let admin = entry.in_group(postroom_access::ADMINISTRATORS_GROUP);
        let store = match self.config.directory.store(username) {
            Ok(s) => s,
            Err(_) => {
                self.conn.complete(
                    &tag,
                    StatusKind::No,
                    Some(Code::Unavailable),
                    "mailbox unavailable",
                );
                return;
            }
        };
        first_login_setup(&store);
        let inbox = store.open(&MailboxName::inbox()).ok();
        let open = inbox
            .map(|mb| {
                let loc = Location {
                    owner: username.to_owned(),
                    name: MailboxName::inbox(),
                };
                vec![(loc, mb)]
            })
            .unwrap_or_default();
        self.user = Some(User {
            name: username.to_owned(),
            principal: self.config.directory.principal(username),
            admin,
            store,
            open,
        });
        self.actions.push_back(SessionAction::LoggedIn {
            user: username.to_owned(),
        });
        let caps = self.capabilities();
        self.conn.complete(
            &tag,
            StatusKind::Ok,
            Some(Code::Capability(caps)),
            "logged in",
        );
    }

    // ----- mailbox helpers ----------------------------------------------

    fn user_ref(&self) -> Result<&User, Fail> {
        self.user.as_ref().ok_or_else(|| bad("not authenticated"))
    }

    /// Resolves a wire name to its location and store.
    fn locate(&self, wire: &MailboxName) -> Result<(Location, MaildirStore), Fail> {
        let user = self.user_ref()?;
        let users = self.config.directory.users();
        let loc = resolve(&users, &user.name, &wire.with_inbox_prefix_normalized('.'))
            .ok_or_else(|| no_code(Code::NonExistent, "no such mailbox"))?;
        let store = if loc.owner == user.name {
            user.store.clone()
        } else {
            self.config
                .directory
                .store(&loc.owner)
                .map_err(store_error)?
        };
        Ok((loc, store))
    }

    /// The user's rights on a location; `None` when it does not exist.
    fn rights(&self, store: &MaildirStore, loc: &Location) -> Option<Rights> {
        let user = self.user.as_ref()?;
        rights_on(store, &user.principal, loc)
    }

    /// Whether `loc` belongs to another user who does not let this user
    /// look it up (no `l`; `rights` as from [`Session::rights`]). Such a
    /// mailbox must be answered for exactly as one that does not exist
    /// (RFC 4314 §4, §6).
    fn hidden(&self, loc: &Location, rights: Option<Rights>) -> bool {
        let me = self.user.as_ref().map(|u| u.name.as_str());
        me != Some(loc.owner.as_str()) && !rights.is_some_and(|r| r.contains(Right::Lookup))
    }

    /// The answer for an APPEND, COPY or MOVE destination that does not
    /// exist, or is hidden: `TRYCREATE` where this user could create it
    /// (RFC 3501 §6.3.11), else `NONEXISTENT`, as for an unknown user's
    /// `#shared.` name, so neither tells whether another user's mailbox
    /// exists.
    fn missing_destination(&self, store: &MaildirStore, loc: &Location) -> Fail {
        let mine = self.user.as_ref().is_some_and(|u| u.name == loc.owner);
        let creatable = mine
            || nearest_existing_parent(store, &loc.name).is_some_and(|p| {
                let parent = Location {
                    owner: loc.owner.clone(),
                    name: p,
                };
                self.rights(store, &parent)
                    .is_some_and(|r| r.contains(Right::Lookup) && r.contains(Right::CreateMailbox))
            });
        if creatable {
            no_code(Code::TryCreate, "no such mailbox")
        } else {
            no_code(Code::NonExistent, "no such mailbox")
        }
    }

    /// Opens a mailbox, keeping the handle for later commands.
    fn open_mailbox(
        &mut self,
        store: &MaildirStore,
        loc: &Location,
    ) -> Result<Arc<postroom_mailbox::Mailbox>, Fail> {
        let user = self.user.as_mut().ok_or_else(|| bad("not authenticated"))?;
        if let Some(i) = user.open.iter().position(|(l, _)| l == loc) {
            let entry = user.open.remove(i);
            let mb = Arc::clone(&entry.1);
            user.open.insert(0, entry);
            return Ok(mb);
        }
        let mb = store.open(&loc.name).map_err(store_error)?;
        user.open.insert(0, (loc.clone(), Arc::clone(&mb)));
        user.open.truncate(OPEN_CACHE);
        Ok(mb)
    }

    /// Runs the access policy; maps a refusal to the tagged answer.
    fn authorize(
        &self,
        op: Operation,
        lookup: impl FnMut(Target) -> Option<Rights>,
    ) -> Result<(), Fail> {
        match policy::authorize(&op, lookup) {
            Verdict::Allowed => Ok(()),
            Verdict::Hidden | Verdict::NoSuchMailbox { .. } => {
                Err(no_code(Code::NonExistent, "no such mailbox"))
            }
            Verdict::Denied { need, .. } => Err(no_code(
                Code::NoPerm,
                format!("permission denied (needs {})", need.rights()),
            )),
        }
    }

    fn selected_mut(&mut self) -> Result<&mut Selected, Fail> {
        self.selected
            .as_mut()
            .ok_or_else(|| bad("no mailbox selected"))
    }

    /// Sends what changed in the selected mailbox. `rescan` also looks for
    /// other processes' changes.
    fn send_changes(&mut self, allow_expunge: bool, rescan: bool) {
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        // A full rescan reads the folder's directories and UID file; under
        // load that is most of a command's cost, so it is kept for NOOP,
        // CHECK and SELECT (how clients ask for new mail) and otherwise
        // done only when the folder may have changed behind this process
        // (file change notification, or the store's poll interval).
        let changes = if rescan {
            sel.view.poll(allow_expunge)
        } else {
            sel.view.check(allow_expunge)
        };
        let Ok(changes) = changes else { return };
        if changes.uid_validity_changed {
            self.selected = None;
            self.conn
                .respond(&Response::Status(StatusResponse::untagged(
                    StatusKind::Bye,
                    None,
                    "the selected mailbox was replaced (UIDVALIDITY changed)",
                )));
            self.conn.set_state(State::Logout);
            return;
        }
        for seq in changes.expunged {
            if let Some(n) = nz(seq) {
                self.conn.respond_data(Data::Expunge(n));
            }
        }
        for f in changes.flags {
            if let Some(seq) = nz(f.seq) {
                self.conn.respond_data(Data::Fetch {
                    seq,
                    items: vec![
                        postroom_imap::response::FetchItem::Flags(f.flags),
                        postroom_imap::response::FetchItem::Uid(
                            nz(f.uid.get()).unwrap_or(NonZeroU32::MIN),
                        ),
                    ],
                });
            }
        }
        if let Some(n) = changes.exists {
            self.conn.respond_data(Data::Exists(n));
        }
        if let Some(n) = changes.recent {
            self.conn.respond_data(Data::Recent(n));
        }
    }

    // ----- SELECT / EXAMINE -------------------------------------------------

    fn select(&mut self, wire: MailboxName, examine: bool) -> CmdResult {
        // RFC 3501 §6.3.1: a SELECT first deselects, without expunging.
        self.selected = None;
        let (loc, store) = self.locate(&wire)?;
        let rights = self.rights(&store, &loc);
        let op = if examine {
            Operation::Examine
        } else {
            Operation::Select
        };
        self.authorize(op, |_| rights)?;
        let rights = rights.unwrap_or(Rights::EMPTY);
        let mailbox = self.open_mailbox(&store, &loc)?;
        let read_only = examine
            || policy::select_access(rights, policy::MAILDIR_SHARED_FLAG_RIGHTS)
                == policy::SelectAccess::ReadOnly;
        let view = postroom_mailbox::Session::open(mailbox, read_only).map_err(store_error)?;
        let mut flags: Vec<Flag> = Flag::SYSTEM.to_vec();
        flags.extend(view.mailbox().keywords().into_iter().map(Flag::Keyword));
        self.conn.respond_data(Data::Flags(flags));
        self.conn.respond_data(Data::Exists(view.exists()));
        self.conn.respond_data(Data::Recent(view.recent()));
        let untagged_ok = |code: Code, text: &str| {
            Response::Status(StatusResponse::untagged(StatusKind::Ok, Some(code), text))
        };
        if let Some(n) = view.first_unseen().and_then(nz) {
            self.conn
                .respond(&untagged_ok(Code::Unseen(n), "first unseen"));
        }
        let perm = if read_only {
            Vec::new()
        } else {
            policy::permanent_flags(&permanent_flags(), rights)
        };
        self.conn
            .respond(&untagged_ok(Code::PermanentFlags(perm), "limited"));
        if let Some(n) = nz(view.uid_next().get()) {
            self.conn
                .respond(&untagged_ok(Code::UidNext(n), "predicted next UID"));
        }
        if let Some(n) = nz(view.uid_validity().get()) {
            self.conn
                .respond(&untagged_ok(Code::UidValidity(n), "UIDs valid"));
        }
        self.conn.respond(&untagged_ok(
            Code::MyRights(courier_view(&courier::myrights_code(rights))),
            "ACL",
        ));
        self.selected = Some(Selected { loc, view, rights });
        let code = if read_only {
            Code::ReadOnly
        } else {
            Code::ReadWrite
        };
        let verb = if examine { "EXAMINE" } else { "SELECT" };
        Ok((Some(code), format!("{verb} completed")))
    }

    // ----- CREATE / DELETE / RENAME / SUBSCRIBE -----------------------------

    fn create(&mut self, wire: MailboxName) -> CmdResult {
        // RFC 3501 §6.3.3: a trailing delimiter only says "will have
        // inferiors".
        let trimmed = wire.as_str().trim_end_matches('.');
        if trimmed.is_empty() {
            return Err(no_code(Code::CannotDo, "invalid mailbox name"));
        }
        let wire = MailboxName::new(trimmed);
        let (loc, store) = self.locate(&wire)?;
        // RFC 4314 §4: another user's mailbox this user may not look up is
        // answered for as if it did not exist (not ALREADYEXISTS).
        let visible = !self.hidden(&loc, self.rights(&store, &loc));
        if visible && (loc.name.is_inbox() || exists(&store, &loc.name) == Some(true)) {
            return Err(no_code(Code::AlreadyExists, "mailbox already exists"));
        }
        let parent = nearest_existing_parent(&store, &loc.name);
        let parent_rights = match &parent {
            Some(p) => {
                let ploc = Location {
                    owner: loc.owner.clone(),
                    name: p.clone(),
                };
                // A hidden parent counts as absent, so the refusal does not
                // tell that it exists.
                let r = self.rights(&store, &ploc);
                if self.hidden(&ploc, r) { None } else { r }
            }
            None => None,
        };
        let is_owner = loc.owner == self.user_ref()?.name;
        self.authorize(Operation::Create, |_| {
            parent_rights.or(if is_owner { Some(Rights::ALL) } else { None })
        })?;
        let inherited = read_acl(&store, parent.as_ref().unwrap_or(&MailboxName::inbox()));
        store.create(&loc.name).map_err(store_error)?;
        // The new folder starts with its parent's ACL (RFC 4314 §4).
        let _ = write_acl(&store, &loc.name, &inherited);
        self.config.directory.folders_changed();
        ok("CREATE completed")
    }

    fn delete(&mut self, wire: MailboxName) -> CmdResult {
        let (loc, store) = self.locate(&wire)?;
        let rights = self.rights(&store, &loc).or_else(|| {
            // A \Noselect hierarchy name: the owner may remove it.
            (exists(&store, &loc.name).is_some()
                && self.user.as_ref().is_some_and(|u| u.name == loc.owner))
            .then_some(Rights::ALL)
        });
        self.authorize(Operation::Delete, |_| rights)?;
        store.delete(&loc.name).map_err(store_error)?;
        self.config.directory.folders_changed();
        ok("DELETE completed")
    }

    fn rename(&mut self, from: MailboxName, to: MailboxName) -> CmdResult {
        let (floc, store) = self.locate(&from)?;
        let from_rights = self.rights(&store, &floc);
        // RFC 4314 §6: a hidden source fails as a missing one would, before
        // anything else is said about it.
        if self.hidden(&floc, from_rights) {
            return Err(no_code(Code::NonExistent, "no such mailbox"));
        }
        // Any `#shared.` target is another user's, whether that user exists
        // or not: the answer must not tell which.
        let tloc = match self.locate(&to) {
            Ok((tloc, _)) => tloc,
            Err(_) if is_shared_name(&to) => {
                return Err(no_code(Code::CannotDo, "cannot rename between users"));
            }
            Err(e) => return Err(e),
        };
        if floc.owner != tloc.owner {
            return Err(no_code(Code::CannotDo, "cannot rename between users"));
        }
        let parent = nearest_existing_parent(&store, &tloc.name);
        let parent_rights = parent.and_then(|p| {
            self.rights(
                &store,
                &Location {
                    owner: tloc.owner.clone(),
                    name: p,
                },
            )
        });
        let is_owner = floc.owner == self.user_ref()?.name;
        self.authorize(Operation::Rename, |t| match t {
            Target::Parent => parent_rights.or(if is_owner { Some(Rights::ALL) } else { None }),
            _ => from_rights,
        })?;
        if exists(&store, &tloc.name).is_some() {
            return Err(no_code(
                Code::AlreadyExists,
                "target mailbox already exists",
            ));
        }
        store.rename(&floc.name, &tloc.name).map_err(store_error)?;
        self.config.directory.folders_changed();
        ok("RENAME completed")
    }

    fn subscribe(&mut self, wire: MailboxName, on: bool) -> CmdResult {
        let (loc, store) = match self.locate(&wire) {
            Ok(found) => found,
            // A `#shared.` name of no user: UNSUBSCRIBE succeeds as it does
            // for another user's missing folder, so the answer does not
            // tell whether the user exists (and a subscription left by a
            // deleted user can be removed).
            Err(_) if !on && self.user.is_some() && is_shared_name(&wire) => {
                let user = self.user_ref()?;
                let mut subs = shared_subscriptions(&user.store);
                subs.retain(|s| s != wire.as_str());
                set_shared_subscriptions(&user.store, &subs)
                    .map_err(|_| no_code(Code::ServerBug, "cannot save subscriptions"))?;
                return ok("UNSUBSCRIBE completed");
            }
            Err(e) => return Err(e),
        };
        let user = self.user_ref()?;
        if loc.owner != user.name {
            // Another user's folder: kept in a file of our own, since the
            // store's subscription file holds personal names only.
            let shown = display(&user.name, &loc).into_string();
            let mut subs = shared_subscriptions(&user.store);
            if on {
                let rights = self.rights(&store, &loc);
                self.authorize(Operation::Subscribe, |_| rights)?;
                if !subs.contains(&shown) {
                    subs.push(shown);
                }
            } else {
                subs.retain(|s| *s != shown);
            }
            set_shared_subscriptions(&user.store, &subs)
                .map_err(|_| no_code(Code::ServerBug, "cannot save subscriptions"))?;
            return ok(if on {
                "SUBSCRIBE completed"
            } else {
                "UNSUBSCRIBE completed"
            });
        }
        if on {
            let rights = self.rights(&store, &loc);
            self.authorize(Operation::Subscribe, |_| rights)?;
            user.store.subscribe(&loc.name).map_err(store_error)?;
            ok("SUBSCRIBE completed")
        } else {
            user.store.unsubscribe(&loc.name).map_err(store_error)?;
            ok("UNSUBSCRIBE completed")
        }
    }

    // ----- LIST / LSUB ------------------------------------------------------

    fn list(
        &mut self,
        selection: &[Atom],
        reference: &str,
        pattern: &str,
        lsub: bool,
    ) -> CmdResult {
        let verb = if lsub { "LSUB" } else { "LIST" };
        let user = self.user_ref()?;
        if pattern.is_empty() && !lsub {
            // RFC 3501 §6.3.8: the delimiter and root.
            self.conn.respond_data(Data::List(ListData {
                attributes: vec![atom("Noselect")],
                delimiter: Some('.'),
                mailbox: MailboxName::new(""),
                extended: Vec::new(),
            }));
            return ok("LIST completed");
        }
        let options = ListOptions::from_atoms(selection.iter().map(Atom::as_str));
        let full = format!("{reference}{pattern}");
        let mut out: Vec<(MailboxName, Vec<Atom>, Vec<ListExtended>)> = Vec::new();
        let entries = if lsub {
            user.store.lsub(reference, pattern)
        } else {
            user.store.list(reference, pattern)
        }
        .map_err(store_error)?;
        for e in entries {
            let loc = Location {
                owner: user.name.clone(),
                name: e.name.clone(),
            };
            let noselect = e.attributes.contains(&ListAttribute::Noselect);
            let (acl, rights) = if noselect {
                (None, None)
            } else {
                let acl = read_acl(&user.store, &e.name);
                let r = acl.rights_of(&user.principal, Some(&loc.owner));
                (Some(acl), Some(r))
            };
            if let Some(r) = rights {
                if policy::authorize(&Operation::List, |_| Some(r)) == Verdict::Hidden {
                    continue;
                }
            }
            let mut attrs: Vec<Atom> = e
                .attributes
                .iter()
                .map(|a| atom(a.to_string().trim_start_matches('\\')))
                .collect();
            if let Some(su) = SPECIAL_USE.iter().find(|(n, _)| *n == e.name.as_str()) {
                attrs.push(atom(su.1));
            }
            let extended = match (&acl, rights) {
                (Some(acl), Some(r)) => extended_data(options, acl, r),
                _ => Vec::new(),
            };
            out.push((e.name, attrs, extended));
        }
        if !lsub && could_match_shared(&full) {
            out.extend(self.shared_list(&full, options));
        }
        if lsub {
            // Subscribed shared folders the user may still look up.
            let users = self.config.directory.users();
            for name in shared_subscriptions(&user.store) {
                if !postroom_mailbox::pattern_matches(&full, &name) {
                    continue;
                }
                let wire = MailboxName::new(name);
                let Some(loc) = resolve(&users, &user.name, &wire) else {
                    continue;
                };
                let Some(store) = self.config.directory.existing_store(&loc.owner) else {
                    continue;
                };
                let visible = rights_on(&store, &user.principal, &loc)
                    .is_some_and(|r| r.contains(Right::Lookup));
                if visible {
                    out.push((wire, Vec::new(), Vec::new()));
                }
            }
        }
        for (name, attributes, extended) in out {
            let data = ListData {
                attributes,
                delimiter: Some('.'),
                mailbox: name,
                extended,
            };
            self.conn.respond_data(if lsub {
                Data::Lsub(data)
            } else {
                Data::List(data)
            });
        }
        ok(format!("{verb} completed"))
    }

    /// Other users' folders this user may look up, under `#shared.`.
    fn shared_list(
        &self,
        pattern: &str,
        options: ListOptions,
    ) -> Vec<(MailboxName, Vec<Atom>, Vec<ListExtended>)> {
        let Some(user) = self.user.as_ref() else {
            return Vec::new();
        };
        // name -> (selectable, extended)
        let mut visible: std::collections::BTreeMap<String, (bool, Vec<ListExtended>)> =
            std::collections::BTreeMap::new();
        let mut consider = |owner: &str, store: &MaildirStore, name: MailboxName| {
            let acl = read_acl(store, &name);
            let r = acl.rights_of(&user.principal, Some(owner));
            if !r.contains(Right::Lookup) {
                return;
            }
            let loc = Location {
                owner: owner.to_owned(),
                name,
            };
            let name = display(&user.name, &loc).into_string();
            visible.insert(name, (true, extended_data(options, &acl, r)));
        };
        let directory = &self.config.directory;
        if user.admin {
            // Administrators have rights on every folder (Courier's
            // defaults): every user's folders are read.
            for other in directory.users().iter() {
                let owner = other.name();
                if owner == user.name {
                    continue;
                }
                let Some(store) = directory.existing_store(owner) else {
                    continue;
                };
                let Ok(entries) = store.list("", "*") else {
                    continue;
                };
                for e in entries {
                    if !e.attributes.contains(&ListAttribute::Noselect) {
                        consider(owner, &store, e.name);
                    }
                }
            }
        } else {
            // Anyone else sees only folders whose ACL grants `l` beyond
            // owner and administrators: those the directory keeps indexed.
            let shared = directory.shared_folders();
            let mut stores: std::collections::HashMap<&str, Option<MaildirStore>> =
                std::collections::HashMap::new();
            for (owner, name) in shared.iter() {
                if *owner == user.name {
                    continue;
                }
                let store = stores
                    .entry(owner.as_str())
                    .or_insert_with(|| directory.existing_store(owner));
                let Some(store) = store.as_ref() else {
                    continue;
                };
                // Deleted or renamed by another process since the index
                // was built.
                if exists(store, name) != Some(true) {
                    continue;
                }
                consider(owner, store, name.clone());
            }
        }
        // Hierarchy names above visible folders (RFC 4314 §4: list `A/B`
        // as if `A` did not exist, i.e. \Noselect).
        let names: Vec<String> = visible.keys().cloned().collect();
        for n in &names {
            let mut end = n.len();
            while let Some(p) = n[..end].rfind('.') {
                visible
                    .entry(n[..p].to_owned())
                    .or_insert((false, Vec::new()));
                end = p;
            }
        }
        let all: Vec<String> = visible.keys().cloned().collect();
        let mut out = Vec::new();
        for (name, (selectable, extended)) in visible {
            if !postroom_mailbox::pattern_matches(pattern, &name) {
                continue;
            }
            let prefix = format!("{name}.");
            let children = all.iter().any(|n| n.starts_with(&prefix));
            let mut attrs = Vec::new();
            if !selectable {
                attrs.push(atom("Noselect"));
            }
            attrs.push(atom(if children {
                "HasChildren"
            } else {
                "HasNoChildren"
            }));
            out.push((MailboxName::new(name), attrs, extended));
        }
        out
    }

    // ----- STATUS -----------------------------------------------------------

    fn status(&mut self, wire: MailboxName, items: &[StatusItem]) -> CmdResult {
        let (loc, store) = self.locate(&wire)?;
        let rights = self.rights(&store, &loc);
        self.authorize(Operation::Status, |_| rights)?;
        let mailbox = self.open_mailbox(&store, &loc)?;
        mailbox.rescan().map_err(store_error)?;
        let (messages, unseen) = mailbox.counts();
        let mut values = Vec::new();
        let infos = items
            .iter()
            .any(|i| matches!(i, StatusItem::Deleted | StatusItem::DeletedStorage))
            .then(|| mailbox.messages());
        for item in items {
            let v = match item {
                StatusItem::Messages => u64::from(messages),
                StatusItem::Unseen => u64::from(unseen),
                StatusItem::UidNext => u64::from(mailbox.uid_next().get()),
                StatusItem::UidValidity => u64::from(mailbox.uid_validity().get()),
                StatusItem::Recent => {
                    // A read-only view shows \Recent without taking it.
                    let view = postroom_mailbox::Session::open(mailbox.clone(), true)
                        .map_err(store_error)?;
                    u64::from(view.recent())
                }
                StatusItem::Deleted => infos
                    .iter()
                    .flatten()
                    .filter(|m| m.flags.is_deleted())
                    .count() as u64,
                StatusItem::DeletedStorage => KibRounding::Up.kib(
                    infos
                        .iter()
                        .flatten()
                        .filter(|m| m.flags.is_deleted())
                        .map(|m| m.physical_size)
                        .sum(),
                ),
                _ => continue,
            };
            values.push((*item, v));
        }
        self.conn.respond_data(Data::Status {
            mailbox: wire,
            items: values,
        });
        ok("STATUS completed")
    }

    // ----- APPEND -----------------------------------------------------------

    fn append(
        &mut self,
        wire: MailboxName,
        flags: Vec<Flag>,
        date: Option<postroom_types::InternalDate>,
        message: Vec<u8>,
    ) -> CmdResult {
        if message.len() as u64 > u64::from(self.config.append_limit) {
            return Err(no_code(Code::TooBig, "message exceeds APPENDLIMIT"));
        }
        let (loc, store) = self.locate(&wire)?;
        let rights = self.rights(&store, &loc);
        if destination_missing(&Operation::Append, rights) {
            return Err(self.missing_destination(&store, &loc));
        }
        self.authorize(Operation::Append, |_| rights)?;
        let rights = rights.unwrap_or(Rights::EMPTY);
        // RFC 4314 §4: flags the user may not set are dropped silently.
        let flags = policy::filter_flags(flags, rights, FlagKind::of_flag);
        let mailbox = self.open_mailbox(&store, &loc)?;
        let uid = mailbox
            .append(&message, &FlagSet::from_flags(&flags), date)
            .map_err(store_error)?;
        // RFC 4315 §3: no APPENDUID for a mailbox the user cannot select.
        let code = if rights.contains(Right::Read) {
            match (
                nz(mailbox.uid_validity().get()),
                SequenceSet::from_numbers([uid.get()]),
            ) {
                (Some(v), Some(uids)) => Some(Code::AppendUid {
                    uid_validity: v,
                    uids,
                }),
                _ => None,
            }
        } else {
            None
        };
        Ok((code, "APPEND completed".into()))
    }

    // ----- EXPUNGE ----------------------------------------------------------

    fn expunge(&mut self, uids: Option<SequenceSet>) -> CmdResult {
        let sel = self.selected_mut()?;
        if sel.view.is_read_only() {
            return Err(no("mailbox is read-only"));
        }
        let rights = sel.rights;
        match policy::authorize(&Operation::Expunge, |_| Some(rights)) {
            Verdict::Allowed => {}
            _ => return Err(no_code(Code::NoPerm, "permission denied (needs e)")),
        }
        let only: Option<Vec<Uid>> = uids.map(|set| {
            sel.view
                .resolve(&set, true)
                .into_iter()
                .map(|(_, u)| u)
                .collect()
        });
        let changes = sel.view.expunge(only.as_deref()).map_err(store_error)?;
        for seq in changes.expunged {
            if let Some(n) = nz(seq) {
                self.conn.respond_data(Data::Expunge(n));
            }
        }
        if let Some(n) = changes.exists {
            self.conn.respond_data(Data::Exists(n));
        }
        ok("EXPUNGE completed")
    }

    // ----- STORE ------------------------------------------------------------

    fn store(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        mode: postroom_imap::command::StoreMode,
        silent: bool,
        flags: &[Flag],
    ) -> CmdResult {
        let sel = self.selected_mut()?;
        if !uid && sel.view.out_of_range(set) {
            return Err(bad("message sequence number out of range"));
        }
        if sel.view.is_read_only() {
            return Err(no("mailbox is read-only"));
        }
        let Some(allowed) = policy::store_permitted(flags.to_vec(), sel.rights, FlagKind::of_flag)
        else {
            return Err(no_code(
                Code::NoPerm,
                "permission denied to change these flags",
            ));
        };
        let mode = match mode {
            postroom_imap::command::StoreMode::Replace => StoreMode::Replace,
            postroom_imap::command::StoreMode::Add => StoreMode::Add,
            postroom_imap::command::StoreMode::Remove => StoreMode::Remove,
        };
        let targets: Vec<Uid> = sel
            .view
            .resolve(set, uid)
            .into_iter()
            .map(|(_, u)| u)
            .collect();
        let mut flagset = FlagSet::from_flags(&allowed);
        if mode == StoreMode::Replace {
            // Flags the user may not change keep their value per message.
            let kinds = policy::permanent_flag_kinds(sel.rights);
            if !(kinds.seen && kinds.deleted && kinds.other) {
                let mut updates = Vec::new();
                for u in &targets {
                    let Some(info) = sel.view.mailbox().message(*u) else {
                        continue;
                    };
                    let mut fs = FlagSet::from_flags(&allowed);
                    for f in info.flags.to_flags() {
                        if !FlagKind::of_flag(&f).permitted(sel.rights) {
                            fs.insert(&f);
                        }
                    }
                    updates.extend(
                        sel.view
                            .store(&[*u], StoreMode::Replace, &fs)
                            .map_err(store_error)?,
                    );
                }
                self.report_store(uid, silent, updates);
                return ok("STORE completed");
            }
            flagset = FlagSet::from_flags(&allowed);
        }
        let updates = sel
            .view
            .store(&targets, mode, &flagset)
            .map_err(store_error)?;
        self.report_store(uid, silent, updates);
        ok("STORE completed")
    }

    fn report_store(
        &mut self,
        uid: bool,
        silent: bool,
        updates: Vec<postroom_mailbox::FlagUpdate>,
    ) {
        if silent {
            return;
        }
        for u in updates {
            let Some(seq) = nz(u.seq) else { continue };
            let mut items = vec![postroom_imap::response::FetchItem::Flags(u.flags)];
            if uid {
                items.push(postroom_imap::response::FetchItem::Uid(
                    nz(u.uid.get()).unwrap_or(NonZeroU32::MIN),
                ));
            }
            self.conn.respond_data(Data::Fetch { seq, items });
        }
    }

    // ----- COPY / MOVE ------------------------------------------------------

    fn copy(
        &mut self,
        uid: bool,
        set: &SequenceSet,
        wire: MailboxName,
        is_move: bool,
    ) -> CmdResult {
        let (loc, store) = self.locate(&wire)?;
        let dest_rights = self.rights(&store, &loc);
        let sel = self
            .selected
            .as_ref()
            .ok_or_else(|| bad("no mailbox selected"))?;
        if !uid && sel.view.out_of_range(set) {
            return Err(bad("message sequence number out of range"));
        }
        if destination_missing(&Operation::Copy, dest_rights) {
            return Err(self.missing_destination(&store, &loc));
        }
        let src_rights = sel.rights;
        let op = if is_move {
            Operation::Move
        } else {
            Operation::Copy
        };
        self.authorize(op, |t| match t {
            Target::Source => Some(src_rights),
            _ => dest_rights,
        })?;
        if is_move && sel.view.is_read_only() {
            return Err(no("mailbox is read-only"));
        }
        let dest_rights = dest_rights.unwrap_or(Rights::EMPTY);
        let dest = self.open_mailbox(&store, &loc)?;
        let sel = self
            .selected
            .as_mut()
            .ok_or_else(|| bad("no mailbox selected"))?;
        let uids: Vec<Uid> = sel
            .view
            .resolve(set, uid)
            .into_iter()
            .map(|(_, u)| u)
            .collect();
        if uids.is_empty() {
            return ok("no messages matched, nothing copied");
        }
        // Check the quota for the whole set first, so COPY is all or nothing.
        let bytes: u64 = uids
            .iter()
            .filter_map(|u| sel.view.mailbox().message(*u))
            .map(|m| m.physical_size)
            .sum();
        let moving_within_owner = is_move && loc.owner == sel.loc.owner;
        if !moving_within_owner {
            use postroom_mailbox::QuotaHook;
            self.config
                .directory
                .quota()
                .check(store.root(), bytes, uids.len() as u64)
                .map_err(store_error)?;
        }
        let src = Arc::clone(sel.view.mailbox());
        let pairs = if is_move {
            src.move_to(&uids, &dest).map_err(store_error)?
        } else {
            src.copy_to(&uids, &dest).map_err(store_error)?
        };
        // RFC 4314 §4: flags the user may not set on the target are dropped.
        let kinds = policy::permanent_flag_kinds(dest_rights);
        if !(kinds.seen && kinds.deleted && kinds.other) {
            for (_, new) in &pairs {
                if let Some(info) = dest.message(*new) {
                    let kept =
                        policy::filter_flags(info.flags.to_flags(), dest_rights, FlagKind::of_flag);
                    let _ = dest.store(&[*new], StoreMode::Replace, &FlagSet::from_flags(&kept));
                }
            }
        }
        let code = if dest_rights.contains(Right::Read) {
            match (
                nz(dest.uid_validity().get()),
                SequenceSet::from_numbers(pairs.iter().map(|(s, _)| s.get())),
                SequenceSet::from_numbers(pairs.iter().map(|(_, d)| d.get())),
            ) {
                (Some(v), Some(source), Some(destination)) => Some(Code::CopyUid {
                    uid_validity: v,
                    source,
                    destination,
                }),
                _ => None,
            }
        } else {
            None
        };
        if is_move {
            // RFC 6851 §4.3: COPYUID in an untagged OK before the EXPUNGEs.
            if let Some(c) = code {
                self.conn
                    .respond(&Response::Status(StatusResponse::untagged(
                        StatusKind::Ok,
                        Some(c),
                        "moved",
                    )));
            }
            return ok("MOVE completed");
        }
        Ok((code, "COPY completed".into()))
    }

    // ----- QUOTA ------------------------------------------------------------

    fn quota_root_name(&self, owner: &str) -> String {
        match self.user.as_ref() {
            Some(u) if u.name == owner => String::new(),
            _ => format!("{SHARED_PREFIX}.{owner}"),
        }
    }

    fn quota_owner(&self, root: &str) -> Option<String> {
        let user = self.user.as_ref()?;
        if root.is_empty() {
            return Some(user.name.clone());
        }
        let owner = root.strip_prefix(SHARED_PREFIX)?.strip_prefix('.')?;
        self.config.directory.users().get(owner)?;
        Some(owner.to_owned())
    }

    fn quota_data(&self, owner: &str) -> Result<Data, Fail> {
        let root = self
            .config
            .directory
            .maildir_root(owner)
            .ok_or_else(|| no("no such quota root"))?;
        let state = self
            .config
            .directory
            .quota()
            .state(&root)
            .map_err(|_| no_code(Code::ServerBug, "cannot read quota"))?;
        let limits = q::limits_from_definition(state.definition, KibRounding::Up);
        let qr = QuotaRoot::with_limits(self.quota_root_name(owner), limits)
            .unwrap_or_else(|_| QuotaRoot::new(self.quota_root_name(owner)));
        let usage = Usage {
            storage_bytes: state.bytes,
            messages: state.messages,
            mailboxes: 0,
        };
        let resources: Vec<QuotaUsage> = qr.usage_response(&usage, KibRounding::Up);
        Ok(Data::Quota {
            root: qr.name.clone(),
            resources: Some(resources),
        })
    }

    fn get_quota(&mut self, root: &str) -> CmdResult {
        let user = self.user_ref()?;
        let owner = self
            .quota_owner(root)
            .filter(|o| *o == user.name || user.admin)
            .ok_or_else(|| no("no such quota root"))?;
        let data = self.quota_data(&owner)?;
        self.conn.respond_data(data);
        ok("GETQUOTA completed")
    }

    fn get_quota_root(&mut self, wire: MailboxName) -> CmdResult {
        let (loc, store) = self.locate(&wire)?;
        let rights = self.rights(&store, &loc);
        let admin = self.user_ref()?.admin;
        let root_name = self.quota_root_name(&loc.owner);
        let root = QuotaRoot::new(root_name);
        let answer =
            q::get_quota_root(wire.as_str(), rights, admin, &[&root]).map_err(|e| match e {
                q::QuotaError::PermissionDenied => no_code(Code::NoPerm, "permission denied"),
                _ => no_code(Code::NonExistent, "no such mailbox"),
            })?;
        self.conn.respond_data(Data::QuotaRoot {
            mailbox: wire,
            roots: answer.roots,
        });
        let data = self.quota_data(&loc.owner)?;
        self.conn.respond_data(data);
        ok("GETQUOTAROOT completed")
    }

    fn set_quota(&mut self, root: &str, limits: Vec<postroom_types::QuotaLimit>) -> CmdResult {
        let user = self.user_ref()?;
        let admin = user.admin;
        // As in GETQUOTA: another user's root is unknown to a non-administrator,
        // so the answer does not tell whether that user exists.
        let owner = self
            .quota_owner(root)
            .filter(|o| admin || *o == user.name)
            .ok_or_else(|| no("no such quota root"))?;
        let mut qr = QuotaRoot::new(root);
        qr.set_limits(limits, admin).map_err(|e| match e {
            q::QuotaError::DuplicateResource(_) => bad(e.to_string()),
            _ => no(e.to_string()),
        })?;
        let path = self
            .config
            .directory
            .maildir_root(&owner)
            .ok_or_else(|| no("no such quota root"))?;
        self.config
            .directory
            .quota()
            .set_definition(&path, q::definition_from_limits(qr.limits()))
            .map_err(|_| no_code(Code::ServerBug, "cannot write quota"))?;
        let data = self.quota_data(&owner)?;
        self.conn.respond_data(data);
        ok("SETQUOTA completed")
    }

    // ----- ACL --------------------------------------------------------------

    fn acl_target(
        &self,
        wire: &MailboxName,
        op: Operation,
    ) -> Result<(Location, MaildirStore, Acl, Rights), Fail> {
        let (loc, store) = self.locate(wire)?;
        let rights = self.rights(&store, &loc);
        self.authorize(op, |_| rights)?;
        let acl = read_acl(&store, &loc.name);
        Ok((loc, store, acl, rights.unwrap_or(Rights::EMPTY)))
    }

    fn set_acl(
        &mut self,
        wire: MailboxName,
        identifier: &str,
        change: Option<RightsChange>,
    ) -> CmdResult {
        if let Some(RightsChange::Add(r) | RightsChange::Remove(r) | RightsChange::Replace(r)) =
            change
        {
            // RFC 4314 §3.1: an unrecognised right is a BAD, never ignored.
            if !r.unknown().is_empty() {
                return Err(bad(format!("unsupported rights {}", r.unknown())));
            }
        }
        let op = if change.is_some() {
            Operation::SetAcl
        } else {
            Operation::DeleteAcl
        };
        let (loc, store, mut acl, _) = self.acl_target(&wire, op)?;
        let id = acl1_identifier(identifier).map_err(|e| match e {
            courier::Acl1IdentifierError::ContainsEquals(_) => no("invalid ACL identifier"),
            other => bad(other.to_string()),
        })?;
        let policy = AclPolicy::COURIER;
        let result = match change {
            Some(c) => {
                let m = match c {
                    RightsChange::Add(r) => RightsModification::Add(r),
                    RightsChange::Remove(r) => RightsModification::Remove(r),
                    RightsChange::Replace(r) => RightsModification::Replace(r),
                };
                acl.modify(id, m, Some(&loc.owner), &policy)
            }
            None => acl.delete(&id, Some(&loc.owner), &policy),
        };
        result.map_err(|e| no(e.to_string()))?;
        write_acl(&store, &loc.name, &acl).map_err(store_error)?;
        self.config.directory.folders_changed();
        self.refresh_selected_rights();
        ok(if op == Operation::SetAcl {
            "SETACL completed"
        } else {
            "DELETEACL completed"
        })
    }

    fn refresh_selected_rights(&mut self) {
        let Some(user) = self.user.as_ref() else {
            return;
        };
        let Some(sel) = self.selected.as_ref() else {
            return;
        };
        let store = if sel.loc.owner == user.name {
            Some(user.store.clone())
        } else {
            self.config.directory.existing_store(&sel.loc.owner)
        };
        let Some(r) = store.and_then(|s| rights_on(&s, &user.principal, &sel.loc)) else {
            return;
        };
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        if sel.rights == r {
            return;
        }
        sel.rights = r;
        // RFC 4314 §5.1.1: PERMANENTFLAGS follow the user's rights.
        let perm = if sel.view.is_read_only() {
            Vec::new()
        } else {
            policy::permanent_flags(&permanent_flags(), r)
        };
        self.conn
            .respond(&Response::Status(StatusResponse::untagged(
                StatusKind::Ok,
                Some(Code::PermanentFlags(perm)),
                "rights changed",
            )));
    }

    fn get_acl(&mut self, wire: MailboxName) -> CmdResult {
        let (_, _, acl, _) = self.acl_target(&wire, Operation::GetAcl)?;
        let entries = acl.to_getacl_entries(LegacyMapping::DeleteIsD);
        self.conn.respond_data(Data::Acl {
            mailbox: wire,
            entries,
        });
        ok("GETACL completed")
    }

    fn list_rights(&mut self, wire: MailboxName, identifier: &str) -> CmdResult {
        let (loc, _, _, _) = self.acl_target(&wire, Operation::ListRights)?;
        let mapped = acl1_identifier(identifier).map_err(|e| bad(e.to_string()))?;
        let lr = policy::list_rights(&mapped.to_string(), Some(&loc.owner), &AclPolicy::COURIER)
            .map_err(|e| bad(e.to_string()))?;
        self.conn.respond_data(Data::ListRights {
            mailbox: wire,
            identifier: identifier.to_owned(),
            required: lr.required,
            optional: lr.optional,
        });
        ok("LISTRIGHTS completed")
    }

    fn my_rights(&mut self, wire: MailboxName) -> CmdResult {
        let (_, _, _, rights) = self.acl_target(&wire, Operation::MyRights)?;
        self.conn.respond_data(Data::MyRights {
            mailbox: wire,
            rights: policy::myrights(rights, LegacyMapping::DeleteIsD),
        });
        ok("MYRIGHTS completed")
    }

    /// Courier's `ACL STORE/DELETE/SET`: each mailbox argument is a LIST
    /// pattern; every mailbox it names gets the change.
    fn acl2(&mut self, patterns: &[MailboxName], change: Acl2Change) -> CmdResult {
        let user = self.user_ref()?;
        let me = user.name.clone();
        let principal = user.principal.clone();
        let command = Acl2Command {
            mailboxes: patterns.iter().map(|p| p.as_str().to_owned()).collect(),
            change,
        };
        let verb = command.verb();
        let mut targets: Vec<MailboxName> = Vec::new();
        for p in patterns {
            let s = p.as_str();
            if s.contains(['*', '%']) {
                let found = user.store.list("", s).map_err(store_error)?;
                targets.extend(
                    found
                        .into_iter()
                        .filter(|e| !e.attributes.contains(&ListAttribute::Noselect))
                        .map(|e| e.name),
                );
                if could_match_shared(s) {
                    targets.extend(
                        self.shared_list(s, ListOptions::default())
                            .into_iter()
                            .filter(|(_, a, _)| !a.iter().any(|x| x.eq_ignore_case("Noselect")))
                            .map(|(n, _, _)| n),
                    );
                }
            } else {
                targets.push(p.clone());
            }
        }
        for wire in targets {
            let Ok((loc, store)) = self.locate(&wire) else {
                self.acl_failed(&wire, "NO no such mailbox");
                continue;
            };
            let Some(rights) = rights_on(&store, &principal, &loc) else {
                self.acl_failed(&wire, "NO no such mailbox");
                continue;
            };
            if !rights.contains(Right::Lookup) && !rights.contains(Right::Administer) {
                // RFC 4314 §6: as if it did not exist.
                self.acl_failed(&wire, "NO no such mailbox");
                continue;
            }
            let acl = read_acl(&store, &loc.name);
            let shown = display(&me, &loc);
            match courier::apply_acl2(
                shown.as_str(),
                &command,
                &acl,
                rights,
                Some(&loc.owner),
                &AclPolicy::COURIER,
            ) {
                Acl2Outcome::Updated(new) => {
                    if write_acl(&store, &loc.name, &new).is_err() {
                        self.acl_failed(&wire, "NO cannot write the ACL");
                        continue;
                    }
                    self.config.directory.folders_changed();
                    let new_rights = new.rights_of(&principal, Some(&loc.owner));
                    let options = ListOptions {
                        acl: true,
                        myrights: false,
                        postaddress: false,
                    };
                    self.conn.respond_data(Data::List(ListData {
                        attributes: Vec::new(),
                        delimiter: Some('.'),
                        mailbox: shown,
                        extended: extended_data(
                            options,
                            &new,
                            new_rights.union(Rights::from(Right::Administer)),
                        ),
                    }));
                }
                Acl2Outcome::Failed(f) => self.acl_failed(&wire, &f.text),
                Acl2Outcome::RightsInfo(info) => {
                    self.conn.respond_data(Data::RightsInfo {
                        mailbox: wire.clone(),
                        identifier: info.identifier.clone(),
                        required: courier_view(&info.required),
                        optional: info.optional.iter().map(|o| courier_view(o)).collect(),
                    });
                }
            }
        }
        self.refresh_selected_rights();
        ok(format!("ACL {verb} completed."))
    }

    fn acl_failed(&mut self, wire: &MailboxName, text: &str) {
        self.conn.respond_data(Data::AclFailed {
            mailbox: wire.clone(),
            text: text.to_owned(),
        });
    }
}

/// Rights in Courier's ACL2 letters (`c` for create, `d` for `xte`) as a
/// rights set, so the codec prints Courier's letters (in its own order).
fn courier_view(letters: &str) -> Rights {
    letters.parse().unwrap_or_default()
}

/// The extended LIST data Courier's `LIST (ACL MYRIGHTS)` asks for.
fn extended_data(options: ListOptions, acl: &Acl, rights: Rights) -> Vec<ListExtended> {
    let Some(data) = courier::list_extended_data(options, acl, rights) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(entries) = data.acl {
        out.push(ListExtended::Acl(
            entries
                .into_iter()
                .map(|(identifier, r)| AclEntry {
                    identifier,
                    rights: courier_view(&r),
                })
                .collect(),
        ));
    }
    if let Some(r) = data.myrights {
        out.push(ListExtended::MyRights(courier_view(&r)));
    }
    out
}

/// Whether a LIST pattern can match names under `#shared`.
fn could_match_shared(pattern: &str) -> bool {
    let p = pattern.as_bytes();
    let s = SHARED_PREFIX.as_bytes();
    for (i, &c) in p.iter().enumerate() {
        if c == b'*' || c == b'%' {
            return true;
        }
        match s.get(i) {
            Some(&x) if x == c => {}
            Some(_) => return false,
            None => return c == b'.',
        }
    }
    p.len() >= s.len()
}

/// Whether a wire name is in the `#shared` namespace of other users.
fn is_shared_name(wire: &MailboxName) -> bool {
    wire.as_str().starts_with(SHARED_PREFIX)
}

/// Whether the destination of `op` (APPEND, COPY) is to be answered for as
/// missing: it does not exist, or the user's `rights` there fail the check
/// in a way that must look like a missing mailbox (no `l`, RFC 4314 §6).
/// A user with `i` but no `l` may still append.
fn destination_missing(op: &Operation, rights: Option<Rights>) -> bool {
    match rights {
        None => true,
        Some(r) => matches!(
            policy::authorize(op, |_| Some(r)),
            Verdict::NoSuchMailbox { .. }
        ),
    }
}

/// The nearest existing ancestor of `name` in `store` (RFC 4314 §4).
fn nearest_existing_parent(store: &MaildirStore, name: &MailboxName) -> Option<MailboxName> {
    policy::nearest_existing_parent(name.as_str(), '.', |p| {
        exists(store, &MailboxName::new(p)) == Some(true)
    })
    .map(MailboxName::new)
}

/// Creates and subscribes the special-use folders once per Maildir.
fn first_login_setup(store: &MaildirStore) {
    let marker = store.root().join(SPECIAL_USE_MARKER);
    if marker.exists() {
        return;
    }
    for (name, _) in SPECIAL_USE {
        let name = MailboxName::new(name);
        if exists(store, &name).is_none() {
            let _ = store.create(&name);
        }
        let _ = store.subscribe(&name);
    }
    let _ = std::fs::write(&marker, b"Drafts Sent Trash Junk\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_pattern_prefilter() {
        assert!(could_match_shared("*"));
        assert!(could_match_shared("%"));
        assert!(could_match_shared("#shared.%"));
        assert!(could_match_shared("#sh*"));
        assert!(could_match_shared("#shared"));
        assert!(!could_match_shared("INBOX.*"));
        assert!(!could_match_shared("#sharedx"));
    }
}
