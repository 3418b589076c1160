//! Whatever parses as a command is sent by a `ClientConnection` to a
//! `ServerConnection` (answering every `+`) and must arrive unchanged;
//! whatever parses as a response survives encode → parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postroom_imap::client::{ClientConfig, ClientConnection};
use postroom_imap::command::ValidIn;
use postroom_imap::server::{ServerConfig, ServerConnection, ServerEvent, State};
use postroom_imap::{
    CommandParseOptions, ResponseParseOptions, decode_command, decode_response, encode_response,
};
use postroom_types::Limits;

fuzz_target!(|data: &[u8]| {
    if let Ok((cmd, _)) = decode_command(
        data,
        &Limits::imap_server(),
        &CommandParseOptions::default(),
    ) {
        let mut config = ServerConfig::new(vec![]);
        config.limits = Limits::unlimited_for_trusted_peer();
        config.builtin_sasl = false;
        config.starttls = true;
        let mut server = ServerConnection::new(config);
        server.set_state(match cmd.command.valid_in() {
            ValidIn::NotAuthenticated => State::NotAuthenticated,
            _ => State::Selected,
        });
        let mut client = ClientConnection::new(ClientConfig::default());
        client.send_tagged(cmd.clone());
        let mut wire = Vec::new();
        let mut got = None;
        for _ in 0..64 {
            wire.clear();
            client.poll_transmit(&mut wire);
            server.handle_input(&wire);
            while let Some(ev) = server.poll_event() {
                match ev {
                    ServerEvent::Command { tag, command } => got = Some((tag, command)),
                    ServerEvent::StartTls { tag } => {
                        got = Some((tag, postroom_imap::command::Command::StartTls))
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            wire.clear();
            server.poll_transmit(&mut wire);
            client.handle_input(&wire);
            while client.poll_event().is_some() {}
            if got.is_some() {
                break;
            }
        }
        let (tag, command) = got.expect("the command arrives");
        assert_eq!(tag, cmd.tag);
        assert_eq!(command, cmd.command);
    }
    let opts = ResponseParseOptions::default();
    if let Ok((r, _)) = decode_response(data, &Limits::imap_client(), &opts) {
        let mut wire = Vec::new();
        encode_response(&r, &mut wire);
        let (again, _) =
            decode_response(&wire, &Limits::unlimited_for_trusted_peer(), &opts).expect("parses");
        assert_eq!(again, r);
    }
});
