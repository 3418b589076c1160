//! Arbitrary bytes as a stored message: CRLF form, ENVELOPE,
//! BODYSTRUCTURE, BODY, search texts and every section of the first parts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postroom_mailbox::message::{Message, Section, SectionText, partial};

fuzz_target!(|data: &[u8]| {
    let m = Message::parse(data);
    assert_eq!(m.size(), postroom_mailbox::message::crlf_size(data));
    let _ = m.envelope();
    let _ = m.body_structure(true);
    let _ = m.body_structure(false);
    let _ = m.body_texts();
    let _ = m.decoded_headers();
    let texts = [
        None,
        Some(SectionText::Header),
        Some(SectionText::Text),
        Some(SectionText::Mime),
        Some(SectionText::HeaderFields(vec!["subject".into(), "from".into()])),
        Some(SectionText::HeaderFieldsNot(vec!["received".into()])),
    ];
    let paths: [&[u32]; 7] = [&[], &[1], &[2], &[1, 1], &[2, 1], &[1, 2, 1], &[3, 1, 1, 1]];
    for path in paths {
        for text in &texts {
            let part = path.iter().filter_map(|&p| std::num::NonZeroU32::new(p)).collect();
            let s = Section { part, text: text.clone() };
            if let Some(bytes) = m.section(&s) {
                let _ = partial(&bytes, 3, 10);
            }
        }
    }
});
