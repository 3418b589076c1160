//! Courier `courierimapacl` files from arbitrary bytes.
//!
//! Invariants: reading never panics; what is printed reads back to the same
//! ACL with no skipped line; evaluation and Courier's admin defaults work on
//! any ACL read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postroom_access::aclfile::{apply_courier_admin_defaults, parse_acl_file, print_acl_file};
use postroom_access::{AclPolicy, Principal};

fuzz_target!(|data: &[u8]| {
    let file = parse_acl_file(data);
    let printed = print_acl_file(&file.acl);
    let again = parse_acl_file(&printed);
    assert!(again.skipped.is_empty());
    assert_eq!(again.acl, file.acl);

    let who = Principal::with_groups("fred", ["staff", "administrators"]);
    let rights = file.acl.rights_of(&who, Some("fred"));
    assert!(rights.contains(postroom_types::Right::Administer));
    let _ = file.acl.to_getacl_entries(AclPolicy::COURIER.mapping);

    let mut acl = file.acl;
    apply_courier_admin_defaults(&mut acl);
    let _ = print_acl_file(&acl);
});
