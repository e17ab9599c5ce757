//! The examples tarball (`cargo xtask tarball`) is a workspace of its own that cargo resolves
//! offline, from its lock file, with nothing to download. Building it builds every example a
//! second time (minutes on two cores), so only `TARBALL_BUILD=1` (the Pages workflow) builds it
//! and runs one small crate's tests inside; its sources are the files the main suite tests.

use std::process::Command;

#[test]
fn the_examples_tarball_builds_and_tests_on_its_own() {
    let tmp = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let tarball = xtask::tarball::run(&book_checks::root(), &tmp.join("tarball"));
    let file = std::fs::File::open(tarball.expect("writing the tarball")).expect("the tarball");
    let (unpacked, folder) = (tmp.join("tarball-unpacked"), xtask::tarball::FOLDER);
    // Only this run's crates: one removed from examples/ must not linger.
    let _ = std::fs::remove_dir_all(unpacked.join(folder).join("examples"));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive.set_preserve_mtime(true);
    archive.unpack(&unpacked).expect("unpacking the tarball");
    for name in ["Cargo.toml", "Cargo.lock", "rust-toolchain.toml", "README.md"] {
        assert!(unpacked.join(folder).join(name).is_file(), "the tarball lacks {name}");
    }
    let cargo = |args: &str| {
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args(args.split(' ')).current_dir(unpacked.join(folder));
        let out = cargo.env("CARGO_TARGET_DIR", tmp.join("tarball-target")).output();
        let out = out.expect("running cargo");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "`cargo {args}` failed in the tarball:\n{stderr}");
    };
    cargo("metadata --offline --no-deps --format-version 1");
    cargo(&format!("fetch --offline --target {}-unknown-linux-gnu", std::env::consts::ARCH));
    if std::env::var("TARBALL_BUILD").is_ok_and(|v| v == "1") {
        cargo("test --offline --workspace --no-run --quiet");
        cargo("test --offline --quiet -p shared-memory");
    }
}
