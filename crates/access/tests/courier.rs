//! Courier-IMAP 5.0.13 observations (ACL2=UNION, the ACL2 protocol, the
//! `courierimapacl` file) as known answers.

use postroom_access::aclfile::{default_inbox_acl, parse_acl_file, print_acl_file};
use postroom_access::courier::{
    Acl2Change, Acl2Command, Acl2Outcome, ListOptions, acl1_view, list_extended_data, myrights_code,
};
use postroom_access::{Acl, AclPolicy, Identifier, LegacyMapping, Principal, parse_rights};
use postroom_types::Rights;

const MAILBOX: &str = "INBOX.acl";

fn store(identifier: &str, rights: &str) -> Acl2Command {
    Acl2Command {
        mailboxes: vec![MAILBOX.into()],
        change: Acl2Change::Store {
            identifier: identifier.into(),
            rights: rights.into(),
        },
    }
}

fn apply(acl: &Acl, command: &Acl2Command, who: &Principal) -> Acl2Outcome {
    let mine = acl.rights_of(who, Some("me"));
    postroom_access::courier::apply_acl2(
        MAILBOX,
        command,
        acl,
        mine,
        Some("me"),
        &AclPolicy::COURIER,
    )
}

fn acl_part(acl: &Acl) -> String {
    list_extended_data(ListOptions::from_atoms(["ACL"]), acl, Rights::ALL)
        .unwrap()
        .to_courier_string()
}

#[test]
fn fresh_folder_getacl() {
    // `* ACL "INBOX.acl" "owner" "acdilrsw" "administrators" "acdilrsw"`
    let acl = default_inbox_acl();
    let shown: Vec<(String, String)> = acl
        .entries()
        .map(|(id, r)| (id.to_rfc4314().unwrap(), acl1_view(r)))
        .collect();
    assert_eq!(
        shown,
        vec![
            ("owner".to_owned(), "acdilrsw".to_owned()),
            ("administrators".to_owned(), "acdilrsw".to_owned()),
        ]
    );
    // `* OK [MYRIGHTS "acdilrsw"] ACL` after SELECT by the owner.
    let mine = acl.rights_of(&Principal::user("me"), Some("me"));
    assert_eq!(myrights_code(mine), "acdilrsw");
}

#[test]
fn list_acl_myrights_extended_data() {
    // The ACL as Courier stored it after `SETACL ... anyone lrQ` and
    // `-user=fred w`: read from its file, `Q` kept.
    let file =
        parse_acl_file(b"owner aceilrstwx\nadministrators aceilrstwx\n-user=fred w\nanyone Qlr\n");
    assert!(file.skipped.is_empty());
    let acl = file.acl;
    let mine = acl.rights_of(&Principal::user("me"), Some("me"));
    let data =
        list_extended_data(ListOptions::from_atoms(["ACL", "MYRIGHTS"]), &acl, mine).unwrap();
    assert_eq!(
        data.to_courier_string(),
        r#"(("ACL" (("owner" "acdilrsw")("administrators" "acdilrsw")("-user=fred" "w")("anyone" "Qlr")))("MYRIGHTS" "Qacdilrsw"))"#
    );
    // Someone without `a` sees MYRIGHTS only; without any of lricxea,
    // nothing.
    let bob = acl.rights_of(&Principal::user("bob"), Some("me"));
    let data = list_extended_data(ListOptions::from_atoms(["ACL", "MYRIGHTS"]), &acl, bob).unwrap();
    assert_eq!(data.to_courier_string(), r#"(("MYRIGHTS" "Qlr"))"#);
    let none = list_extended_data(
        ListOptions::from_atoms(["ACL", "MYRIGHTS"]),
        &acl,
        "sw".parse().unwrap(),
    )
    .unwrap();
    assert_eq!(none.to_courier_string(), "()");
    assert_eq!(list_extended_data(ListOptions::default(), &acl, mine), None);
}

#[test]
fn acl_store_delete_sequence() {
    let me = Principal::user("me");
    let mut acl =
        parse_acl_file(b"owner aceilrstwx\nadministrators aceilrstwx\n-user=fred w\nanyone lr\n")
            .acl;
    // t16 ACL STORE INBOX.acl user=carol lrswi
    match apply(&acl, &store("user=carol", "lrswi"), &me) {
        Acl2Outcome::Updated(next) => acl = next,
        other => panic!("{other:?}"),
    }
    assert_eq!(
        acl_part(&acl),
        r#"(("ACL" (("owner" "acdilrsw")("administrators" "acdilrsw")("-user=fred" "w")("anyone" "lr")("user=carol" "ilrsw"))))"#
    );
    // t17 ACL STORE INBOX.acl -group=admins w
    match apply(&acl, &store("-group=admins", "w"), &me) {
        Acl2Outcome::Updated(next) => acl = next,
        other => panic!("{other:?}"),
    }
    assert!(acl_part(&acl).contains(r#"("-group=admins" "w")"#));
    // t18 ACL DELETE INBOX.acl user=carol
    let delete = Acl2Command {
        mailboxes: vec![MAILBOX.into()],
        change: Acl2Change::Delete {
            identifier: "user=carol".into(),
        },
    };
    match apply(&acl, &delete, &me) {
        Acl2Outcome::Updated(next) => acl = next,
        other => panic!("{other:?}"),
    }
    assert!(!acl_part(&acl).contains("carol"));
    // The stored form reads back to the same ACL.
    assert_eq!(parse_acl_file(&print_acl_file(&acl)).acl, acl);
}

#[test]
fn owner_minus_a_gives_rights_info() {
    // `ACL STORE INBOX.acl owner -a` ->
    // `* RIGHTS-INFO "INBOX.acl" "owner" al c e i p r s t w x`, ACL unchanged.
    let acl = default_inbox_acl();
    match apply(&acl, &store("owner", "-a"), &Principal::user("me")) {
        Acl2Outcome::RightsInfo(info) => assert_eq!(
            info.to_courier_string(),
            r#"RIGHTS-INFO "INBOX.acl" "owner" al c e i p r s t w x"#
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn store_plus_minus_and_empty() {
    let me = Principal::user("me");
    let acl = default_inbox_acl();
    let Acl2Outcome::Updated(acl) = apply(&acl, &store("user=fred", "lr"), &me) else {
        panic!()
    };
    let Acl2Outcome::Updated(acl) = apply(&acl, &store("user=fred", "+wd"), &me) else {
        panic!()
    };
    let fred = Identifier::user("fred");
    assert_eq!(acl.get(&fred), Some("lrwxte".parse().unwrap()));
    assert!(acl_part(&acl).contains(r#"("user=fred" "dlrw")"#));
    // Removing everything deletes the entry, as Courier does.
    let Acl2Outcome::Updated(gone) = apply(&acl, &store("user=fred", "-lrwd"), &me) else {
        panic!()
    };
    assert_eq!(gone.get(&fred), None);
    let Acl2Outcome::Updated(gone) = apply(&acl, &store("user=fred", ""), &me) else {
        panic!()
    };
    assert_eq!(gone.get(&fred), None);
}

#[test]
fn refusals() {
    let acl = default_inbox_acl();
    // Without `a`: ACLFAILED.
    let mut shared = acl.clone();
    shared.set_unchecked(Identifier::user("bob"), "lr".parse().unwrap());
    match apply(&shared, &store("user=carol", "lr"), &Principal::user("bob")) {
        Acl2Outcome::Failed(f) => assert_eq!(
            f.to_courier_string(),
            r#"ACLFAILED "INBOX.acl" NO Access denied for ACL STORE on INBOX.acl (ACL "a" required)"#
        ),
        other => panic!("{other:?}"),
    }
    // Courier stores `Q`; this crate refuses it with RIGHTS-INFO.
    match apply(&acl, &store("anyone", "lrQ"), &Principal::user("me")) {
        Acl2Outcome::RightsInfo(info) => {
            assert_eq!(info.identifier, "anyone");
            assert_eq!(info.required, "al");
        }
        other => panic!("{other:?}"),
    }
    // Administrators must keep everything.
    match apply(&acl, &store("administrators", "lr"), &Principal::user("me")) {
        Acl2Outcome::RightsInfo(info) => assert_eq!(
            info.to_courier_string(),
            r#"RIGHTS-INFO "INBOX.acl" "administrators" aceilrstwx"#
        ),
        other => panic!("{other:?}"),
    }
    // ACL SET that drops the owner is refused, blaming the owner.
    let set = Acl2Command {
        mailboxes: vec![MAILBOX.into()],
        change: Acl2Change::Set {
            entries: vec![
                ("administrators".into(), "acdilrsw".into()),
                ("anyone".into(), "lr".into()),
            ],
        },
    };
    assert!(matches!(
        apply(&acl, &set, &Principal::user("me")),
        Acl2Outcome::RightsInfo(ref i) if i.identifier == "owner"
    ));
    // A bad identifier fails that mailbox.
    assert!(matches!(
        apply(&acl, &store("role=x", "l"), &Principal::user("me")),
        Acl2Outcome::Failed(_)
    ));
}

#[test]
fn acl_set_replaces_everything() {
    let acl = default_inbox_acl();
    let set = Acl2Command {
        mailboxes: vec![MAILBOX.into()],
        change: Acl2Change::Set {
            entries: vec![
                ("owner".into(), "acdilrsw".into()),
                ("administrators".into(), "acdilrsw".into()),
                ("group=staff".into(), "lr".into()),
            ],
        },
    };
    let Acl2Outcome::Updated(acl) = apply(&acl, &set, &Principal::user("me")) else {
        panic!()
    };
    assert_eq!(
        print_acl_file(&acl),
        b"owner aceilrstwx\nadministrators aceilrstwx\ngroup=staff lr\n"
    );
    let staff = Principal::with_groups("sue", ["staff"]);
    assert_eq!(acl.rights_of(&staff, Some("me")).to_string(), "lr");
}

#[test]
fn rfc_setacl_refuses_what_courier_accepted() {
    // Courier: `SETACL INBOX.acl anyone lrQ` -> OK, Q stored. RFC 4314
    // §3.1 requires BAD; so does this crate.
    assert!(parse_rights("lrQ", LegacyMapping::DeleteIsD).is_err());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn arb_identifier() -> impl Strategy<Value = Identifier> {
        (any::<bool>(), 0..8u8, "[a-zA-Z0-9@._=+-]{1,12}").prop_filter_map(
            "valid identifier",
            |(neg, kind, name)| {
                let body = match kind {
                    0 => "anyone".to_owned(),
                    1 => "anonymous".to_owned(),
                    2 => "authuser".to_owned(),
                    3 => "owner".to_owned(),
                    4 => "administrators".to_owned(),
                    5 => format!("group={name}"),
                    6 => format!("user={name}"),
                    _ => name,
                };
                let text = if neg { format!("-{body}") } else { body };
                Identifier::parse(&text).ok()
            },
        )
    }

    proptest! {
        #[test]
        fn identifier_display_round_trips(id in arb_identifier()) {
            prop_assert_eq!(Identifier::parse(&id.to_string()).unwrap(), id);
        }

        #[test]
        fn acl_file_round_trips(
            entries in prop::collection::vec((arb_identifier(), "[a-zA-Z0-9]{0,12}"), 0..12)
        ) {
            let acl = Acl::from_entries(
                entries.into_iter().map(|(i, r)| (i, r.parse::<Rights>().unwrap()))
                    .map(|(i, r)| (i, LegacyMapping::DeleteIsD.expand(r))),
            );
            let file = parse_acl_file(&print_acl_file(&acl));
            prop_assert!(file.skipped.is_empty());
            // Rights hold no `c`/`d` after expansion, so the file keeps
            // every entry exactly.
            prop_assert_eq!(file.acl, acl);
        }
    }
}
