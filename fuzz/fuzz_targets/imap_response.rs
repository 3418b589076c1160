//! Arbitrary bytes as one response, strict and lenient: never panics; what
//! parses strictly re-encodes to the same response; what parses leniently
//! re-encodes to something that parses (8-bit text becomes `?`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use postroom_imap::{ResponseParseOptions, decode_response, encode_response};
use postroom_types::Limits;

fuzz_target!(|data: &[u8]| {
    for (strict, opts) in [
        (true, ResponseParseOptions::default()),
        (false, ResponseParseOptions::lenient()),
    ] {
        if let Ok((r, used)) = decode_response(data, &Limits::imap_client(), &opts) {
            assert!(used <= data.len());
            let mut wire = Vec::new();
            encode_response(&r, &mut wire);
            let (again, n) = decode_response(&wire, &Limits::unlimited_for_trusted_peer(), &opts)
                .expect("re-encoded response parses");
            assert_eq!(n, wire.len());
            if strict {
                assert_eq!(again, r);
            }
        }
    }
});
