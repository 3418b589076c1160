//! Dovecot passwd-files from arbitrary bytes.
//!
//! Invariants: parsing never panics; a database that parses writes back
//! (`to_bytes`) to a file that parses to the same users. No password is
//! verified here (hashing would make each run slow).
#![no_main]

use libfuzzer_sys::fuzz_target;
use postroom_server::users::UserDb;

fuzz_target!(|data: &[u8]| {
    if let Ok(db) = UserDb::parse(data) {
        let again = UserDb::parse(&db.to_bytes()).expect("written file parses");
        assert_eq!(again.len(), db.len());
        for user in db.iter() {
            assert_eq!(again.get(user.name()), Some(user));
        }
    }
});
