//! The offline copy's second half: `cargo xtask tarball` packs the example crates as a workspace
//! of their own, which builds offline from the unpacked folder with its pinned toolchain and lock
//! file, its README listing the crates as the book's examples page does. (The PDF and the EPUB
//! are checked beside the browser tests, which build the book anyway and print the PDF with
//! `cargo xtask pdf`'s code.)
//!
//! Cost: building the unpacked copy means building every example a second time, in a target
//! directory of its own (several minutes on two cores, from a fresh clone). By default the test
//! therefore checks what can differ between the copy and the checkout without compiling: the
//! files, the chapters each README names, and that cargo resolves the copy's workspace offline
//! from the lock file's versions with nothing to download (`cargo metadata`, `cargo fetch
//! --offline`); the sources are the very files the main suite compiles and tests. `TARBALL_BUILD=1` also builds every crate and target
//! of the copy and runs the tests of one small crate in it (the Pages workflow sets it).

use std::path::Path;
use std::process::Command;

use book_checks::root;

/// The crate whose tests run inside the unpacked copy: small, quick, and with a snapshot test.
const TESTED_CRATE: &str = "shared-memory";

#[test]
fn the_examples_tarball_builds_and_tests_on_its_own() {
    let root = root();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let tarball = xtask::tarball::run(&root, &tmp.join("tarball")).expect("writing the tarball");

    let unpacked = tmp.join("tarball-unpacked");
    let folder = unpacked.join(xtask::tarball::FOLDER);
    // Only the crates of this run: a crate removed from examples/ must not linger.
    let _ = std::fs::remove_dir_all(folder.join("examples"));
    let file = std::fs::File::open(&tarball).expect("opening the tarball");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive.set_preserve_mtime(true);
    archive.unpack(&unpacked).expect("unpacking the tarball");

    for name in [
        "Cargo.toml",
        "Cargo.lock",
        "rust-toolchain.toml",
        "README.md",
    ] {
        assert!(folder.join(name).is_file(), "the tarball lacks {name}");
    }
    let cargo = |args: &[&str]| {
        let out = Command::new(env!("CARGO"))
            .args(args)
            .current_dir(&folder)
            .env("CARGO_TARGET_DIR", tmp.join("tarball-target"))
            .output()
            .expect("running cargo");
        assert!(
            out.status.success(),
            "`cargo {}` failed in the unpacked tarball:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // The workspace's manifests, then every package the Linux build needs, resolved from the
    // lock file and found in the local cache (no network).
    cargo(&[
        "metadata",
        "--offline",
        "--no-deps",
        "--format-version",
        "1",
    ]);
    let host = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    cargo(&["fetch", "--offline", "--target", &host]);
    if std::env::var("TARBALL_BUILD").is_ok_and(|v| v == "1") {
        cargo(&["test", "--offline", "--workspace", "--no-run", "--quiet"]);
        cargo(&["test", "--offline", "--quiet", "-p", TESTED_CRATE]);
    }
}
