#![no_main]
//! A whole server connection fed arbitrary input, split at arbitrary
//! points, with an application that answers every event (multi-line where
//! allowed, challenges for AUTH, TLS for STLS).

use libfuzzer_sys::fuzz_target;
use postroom_pop3::{Command, Event, ServerConfig, ServerConnection};

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the chunk size, so splits land anywhere.
    let Some((&split, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(split % 64) + 1;
    let mut server = ServerConnection::new(ServerConfig::new("fuzz"));
    let mut out = Vec::new();
    let mut challenges = 0;
    for piece in input.chunks(chunk) {
        server.handle_input(piece);
        while let Some(event) = server.poll_event() {
            match event {
                Event::Command(command) => {
                    if command.has_multiline_answer() {
                        server.start_multiline("follows").unwrap();
                        server.send_body_chunk(piece).unwrap();
                        server.finish_multiline().unwrap();
                    } else if matches!(command, Command::Noop) {
                        server.respond_err(None, "no").unwrap();
                    } else {
                        server.respond_ok("").unwrap();
                    }
                }
                Event::Auth { .. } | Event::SaslResponse(_) => {
                    challenges += 1;
                    if challenges % 3 == 0 {
                        server.respond_ok("in").unwrap();
                    } else {
                        server.send_challenge(b"more").unwrap();
                    }
                }
                Event::StartTls => {
                    server.respond_ok("go").unwrap();
                    server.handle_tls_started().unwrap();
                }
                Event::Rejected(_)
                | Event::AuthAborted(_)
                | Event::PlaintextDiscarded { .. }
                | Event::Closing(_) => {}
                _ => {}
            }
        }
        server.poll_transmit(&mut out);
        out.clear();
        assert!(server.buffered_output() == 0);
    }
});
