//! Helpers shared by the Maildir integration tests (each test file is its
//! own crate and uses some of them).
#![allow(dead_code)]

use std::fs;
use std::path::Path;

use postroom_mailbox::Session;
use postroom_types::SearchKey;

/// Makes `root` a Maildir (`cur/`, `new/`, `tmp/`) with `files` (name,
/// contents) in `cur/`.
pub(crate) fn maildir(root: &Path, files: &[(&str, &[u8])]) {
    for s in ["cur", "new", "tmp"] {
        fs::create_dir_all(root.join(s)).unwrap();
    }
    for (name, contents) in files {
        fs::write(root.join("cur").join(name), contents).unwrap();
    }
}

/// The sequence numbers SEARCH finds.
pub(crate) fn seqs(s: &Session, key: SearchKey) -> Vec<u32> {
    s.search(None, &key)
        .unwrap()
        .into_iter()
        .map(|(seq, _)| seq)
        .collect()
}
