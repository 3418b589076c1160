#![no_main]
//! A whole IMAP session (codec, login, a Maildir with two messages, ACLs,
//! quota) fed arbitrary input split at arbitrary points, optionally after a
//! successful login and SELECT, with every action taken as a driver would.
//! The Maildir lives in the temporary directory and is shared by all runs.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use postroom_access::maildirsize::QuotaDefinition;
use postroom_server::imap::{
    Directory, MaildirsizeQuota, PlaintextLogin, ServiceConfig, Session, SessionAction, Transport,
};
use postroom_server::users::UserDb;

fn config() -> Arc<ServiceConfig> {
    static CONFIG: OnceLock<Arc<ServiceConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let root: PathBuf =
                std::env::temp_dir().join(format!("postroom-fuzz-imap-{}", std::process::id()));
            let users = UserDb::parse(b"alice:{PLAIN}secret\nbob:{PLAIN}pw\n").unwrap();
            let quota = MaildirsizeQuota::new(QuotaDefinition {
                bytes: 1 << 20,
                messages: 200,
            });
            let directory = Arc::new(Directory::new(users, root, quota));
            let mut config = ServiceConfig::new(directory);
            config.plaintext_login = PlaintextLogin::Always;
            config.append_limit = 64 * 1024;
            let config = Arc::new(config);
            let mut s = Session::new(
                Arc::clone(&config),
                None,
                Transport::Plain { starttls: true },
            );
            s.handle_input(
                b"a LOGIN alice secret\r\nb APPEND INBOX {14+}\r\nSubject: a\r\n\r\n\r\nc APPEND INBOX (\\Seen) {9+}\r\nno header\r\nd SETACL INBOX bob lr\r\n",
            );
            let mut out = Vec::new();
            while s.poll_transmit(&mut out) > 0 {}
            config
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(control % 64) + 1;
    let mut session = Session::new(config(), None, Transport::Plain { starttls: true });
    if control & 0x80 != 0 {
        session.handle_input(b"x LOGIN alice secret\r\ny SELECT INBOX\r\n");
    }
    let now = Instant::now();
    let mut out = Vec::new();
    for (i, piece) in input.chunks(chunk).enumerate() {
        session.handle_input(piece);
        session.handle_timeout(now + Duration::from_millis(i as u64 * 60));
        loop {
            while let Some(action) = session.poll_action() {
                if action == SessionAction::StartTls {
                    session.handle_tls_established();
                }
            }
            out.clear();
            let n = session.poll_transmit(&mut out);
            // Output comes in bounded parts (FETCH streams).
            assert!(n <= 64 << 20, "{n} bytes at once");
            if n == 0 {
                break;
            }
        }
    }
});
