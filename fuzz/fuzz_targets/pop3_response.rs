#![no_main]
//! Arbitrary bytes through the status-line parser, the multi-line
//! un-stuffer and a client connection.

use libfuzzer_sys::fuzz_target;
use postroom_pop3::{
    ClientConnection, Command, DotUnstuffer, MessageNumber, Parsed, parse_response,
    parse_server_line,
};

fuzz_target!(|data: &[u8]| {
    for codes in [false, true] {
        if let Ok(Parsed::Complete { value, consumed }) = parse_response(data, codes) {
            assert!(consumed <= data.len());
            let wire = value.to_bytes();
            assert!(matches!(
                parse_response(&wire, codes),
                Ok(Parsed::Complete { .. })
            ));
        }
        let _ = parse_server_line(data, codes);
    }

    let mut body = Vec::new();
    let progress = DotUnstuffer::new().decode(data, &mut body);
    assert!(progress.consumed <= data.len());
    assert!(body.len() <= data.len());

    let mut client = ClientConnection::new(Default::default());
    let one = MessageNumber::new(1).unwrap();
    for command in [
        Command::Capa,
        Command::List(None),
        Command::Retr(one),
        Command::Uidl(None),
    ] {
        let _ = client.send(command);
    }
    client.handle_input(data);
    while client.poll_event().is_some() {}
});
