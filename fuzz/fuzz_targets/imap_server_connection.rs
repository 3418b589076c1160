//! A whole server connection fed arbitrary input split at arbitrary points:
//! the first bytes choose chunk sizes; every command is answered, LOGIN and
//! SELECT succeed, IDLE is accepted. Never panics, output stays bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postroom_imap::command::{Atom, Command};
use postroom_imap::response::{Data, StatusKind};
use postroom_imap::server::{ServerConfig, ServerConnection, ServerEvent};

fuzz_target!(|data: &[u8]| {
    let Some((&seed, rest)) = data.split_first() else {
        return;
    };
    let mut config = ServerConfig::new(vec![Atom::new("IMAP4rev1").unwrap()]);
    config.starttls = seed & 1 == 1;
    config.literal_plus = seed & 2 == 2;
    let mut conn = ServerConnection::new(config);
    let mut out = Vec::new();
    let mut i = 0;
    let mut step = usize::from(seed >> 2) + 1;
    while i < rest.len() {
        let end = (i + step).min(rest.len());
        conn.handle_input(&rest[i..end]);
        step = usize::from(rest[i]) % 97 + 1;
        i = end;
        while let Some(ev) = conn.poll_event() {
            match ev {
                ServerEvent::Command { tag, command } => {
                    if matches!(command, Command::Idle) {
                        conn.accept_idle(&tag);
                        conn.respond_data(Data::Exists(1));
                        continue;
                    }
                    if let Command::Authenticate { .. } = command {
                        conn.authenticate_challenge(&tag, b"challenge");
                        continue;
                    }
                    conn.complete(&tag, StatusKind::Ok, None, command.name());
                }
                ServerEvent::Authenticate { tag, .. }
                | ServerEvent::AuthenticateData { tag, .. }
                | ServerEvent::IdleDone { tag }
                | ServerEvent::StartTls { tag } => conn.complete(&tag, StatusKind::Ok, None, "ok"),
                _ => {}
            }
        }
        out.clear();
        conn.poll_transmit(&mut out);
        assert!(out.len() < 1 << 20);
    }
});
