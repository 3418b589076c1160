#![no_main]
//! A whole POP3 session (codec, login, maildrop over an in-memory store)
//! fed arbitrary input split at arbitrary points, optionally after a
//! successful login, with logins checked inline or as jobs, and every
//! action taken as a driver would.

use std::sync::Arc;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use postroom_mailbox::{FlagSet, MemoryStore, Store};
use postroom_server::pop3::{Action, Config, ConnectionContext, PlaintextAuth, Session};
use postroom_server::users::UserDb;
use postroom_types::MailboxName;

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the chunk size and whether to log in first.
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(control % 64) + 1;
    let store = Arc::new(MemoryStore::new());
    let inbox = store.open(&MailboxName::inbox()).unwrap();
    for m in [&b"Subject: a\r\n\r\n.x\r\n"[..], b"Subject: b\n\nno end"] {
        inbox.append(m, &FlagSet::new(), None).unwrap();
    }
    let users = UserDb::parse(b"alice:{PLAIN}secret\n").unwrap();
    let mut config = Config::new(Arc::new(users), move |_: &_| store.open(&MailboxName::inbox()));
    config.login_delay = Duration::ZERO;
    config.max_login_failures = 1000;
    config.plaintext = PlaintextAuth::Always;
    config.chunk_size = 7;
    config.offload_logins = control & 0x40 != 0;
    let context = ConnectionContext::starttls("192.0.2.1:1".parse().unwrap());
    let now = Instant::now();
    let mut session = Session::new(Arc::new(config), context, now);
    if control & 0x80 != 0 {
        session.handle_input(now, b"USER alice\r\nPASS secret\r\n");
        if let Some(job) = session.poll_login_job() {
            session.handle_login_done(job.run());
        }
    }
    let mut out = Vec::new();
    for piece in input.chunks(chunk) {
        session.handle_input(now, piece);
        loop {
            while let Some(action) = session.poll_action() {
                if action == Action::StartTls {
                    session.handle_tls_started();
                }
            }
            if let Some(job) = session.poll_login_job() {
                session.handle_login_done(job.run());
            }
            out.clear();
            if session.poll_transmit(&mut out) == 0 {
                break;
            }
        }
    }
    session.handle_timeout(now + Duration::from_secs(3600));
    assert!(session.is_closed());
});
