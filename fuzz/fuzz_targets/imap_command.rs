//! Arbitrary bytes as one command: never panics; what parses re-encodes to
//! the same command.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postroom_imap::{CommandParseOptions, LiteralMode, decode_command, encode_command_bytes};
use postroom_types::Limits;

fuzz_target!(|data: &[u8]| {
    let opts = CommandParseOptions::default();
    if let Ok((cmd, used)) = decode_command(data, &Limits::imap_server(), &opts) {
        assert!(used <= data.len());
        for mode in [LiteralMode::Sync, LiteralMode::LiteralPlus] {
            let wire = encode_command_bytes(&cmd, mode);
            let (again, n) = decode_command(&wire, &Limits::unlimited_for_trusted_peer(), &opts)
                .expect("re-encoded command parses");
            assert_eq!(n, wire.len());
            assert_eq!(again, cmd);
        }
    }
});
