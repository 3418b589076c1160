//! postroom-server: the user file.
//!
//! Inputs (built in memory, no I/O):
//! - `users/parse_10k`: a 10,000-line passwd-file, each line
//!   `userN@example.org:{SHA512-CRYPT}$6$...::::/srv/mail/userN::acl_groups=staff`
//!   (about 1.5 MB); throughput in bytes.
//! - `users/verify/<scheme>`: one successful password check for a user of
//!   each scheme (PLAIN; SHA512-CRYPT with 5000 rounds; ARGON2ID with the
//!   argon2 crate's default cost, 19 MiB and 2 passes, as `useradd` writes;
//!   ARGON2ID with Dovecot's default cost, 64 MiB and 3 passes); one check
//!   per iteration.

// criterion_group! defines an undocumented function.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use postroom::server::users::{Scheme, StoredPassword, UserDb};

/// Written by Dovecot 2.3's `doveadm pw -s ARGON2ID -p 'correct horse'`.
const DOVECOT_ARGON2ID: &str = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$DQOsKtxJeefMWm4IXv3mlQ$jDBkZSbM/52U3g/cbVdt1A8TS9Trf7kSFmnsDf+NknQ";

fn bench(c: &mut Criterion) {
    let sha = StoredPassword::hash(Scheme::Sha512Crypt, b"correct horse")
        .unwrap()
        .to_field();
    let mut file = String::new();
    for i in 0..10_000 {
        file.push_str(&format!(
            "user{i}@example.org:{sha}::::/srv/mail/user{i}::acl_groups=staff\n"
        ));
    }
    let mut group = c.benchmark_group("users");
    group.throughput(Throughput::Bytes(file.len() as u64));
    group.bench_function("parse_10k", |b| {
        b.iter(|| UserDb::parse(black_box(file.as_bytes())).unwrap())
    });
    group.finish();

    let mut group = c.benchmark_group("users/verify");
    group.throughput(Throughput::Elements(1));
    let argon_default = StoredPassword::hash(Scheme::Argon2id, b"correct horse")
        .unwrap()
        .to_field();
    let cases = [
        ("plain", "{PLAIN}correct horse".to_owned()),
        ("sha512_crypt", sha.clone()),
        ("argon2id_default", argon_default),
        ("argon2id_dovecot", DOVECOT_ARGON2ID.to_owned()),
    ];
    for (name, field) in cases {
        let stored = StoredPassword::parse(&field).unwrap();
        if name.starts_with("argon2") {
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(5));
        }
        group.bench_function(name, |b| {
            b.iter(|| assert!(stored.verify(black_box(b"correct horse"))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
