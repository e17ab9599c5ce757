//! Running an example under a task limit, or as user `nobody`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::{Prepared, command, find_on_path, run_command, running_as_root, skipped};

const SETPRIV: [&str; 4] = [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
];

/// A command that runs `program args` as the unprivileged user `nobody` (uid 65534) through
/// util-linux's `setpriv`. The program runs from a copy in a new directory under the system's
/// temporary directory that every user may enter, so it does not matter whether `nobody` may
/// enter the checkout (a 0700 home, `/root`); the copy is deleted when the [`Prepared`] is.
/// `None`, after a loud skip (see [`skipped`]), when not root or without `setpriv`.
pub fn as_nobody(program: &str, args: &[&str]) -> Option<Prepared> {
    if !running_as_root() {
        skipped("switching to user nobody needs root");
        return None;
    }
    if !crate::have("setpriv", "util-linux") {
        return None;
    }
    let (path, copy) = reachable_copy(program);
    let mut cmd = command(SETPRIV[0], &SETPRIV[1..]);
    cmd.arg(path).args(args);
    Some(Prepared { cmd, _copy: copy })
}

/// A command that runs `program args` allowed `nproc` tasks (processes and threads) for its
/// user (`prlimit --nproc=N`), so that creating task number `nproc + 1` fails with `EAGAIN`.
/// The limit counts every task of the user, so the example runs where it is alone: root ignores
/// the limit, so as root it runs as `nobody` (see [`as_nobody`]); an ordinary user, whose own
/// tasks (this test harness, cargo…) would count, runs it in a new user namespace
/// (`unshare --user`), where only the example's tasks count. `None`, after a loud skip, when
/// that is impossible here.
pub fn with_process_limit(program: &str, args: &[&str], nproc: u32) -> Option<Prepared> {
    if !crate::have("prlimit", "util-linux") {
        return None;
    }
    let limit = format!("--nproc={nproc}");
    let (mut cmd, copy) = if running_as_root() {
        if !crate::have("setpriv", "util-linux") {
            return None;
        }
        let (path, copy) = reachable_copy(program);
        let mut cmd = command(SETPRIV[0], &SETPRIV[1..]);
        cmd.args(["prlimit", &limit]).arg(path);
        (cmd, copy)
    } else {
        if !user_namespaces_work() {
            skipped(
                "a task limit counts every task of this user, and user namespaces (unshare \
                 --user), where only the example's tasks would count, are not available here",
            );
            return None;
        }
        (
            command("unshare", &["--user", "prlimit", &limit, program]),
            None,
        )
    };
    cmd.args(args);
    Some(Prepared { cmd, _copy: copy })
}

/// Whether this user can make a user namespace (asked once per test binary).
fn user_namespaces_work() -> bool {
    static WORK: OnceLock<bool> = OnceLock::new();
    *WORK.get_or_init(|| {
        run_command(command("unshare", &["--user", "true"]))
            .status
            .success()
    })
}

/// A copy of `program` that every user can execute: the binary is copied into a new directory
/// (mode 0755) under the system's temporary directory. A bare name (looked up on `PATH`) is used
/// as it is.
fn reachable_copy(program: &str) -> (PathBuf, Option<tempfile::TempDir>) {
    use std::os::unix::fs::PermissionsExt;
    if !program.contains('/') {
        return (
            find_on_path(program).unwrap_or_else(|| program.into()),
            None,
        );
    }
    let dir = tempfile::Builder::new()
        .prefix("pvt-example-")
        .tempdir()
        .expect("creating a temporary directory for a copy of the example");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod 0755 on the temporary directory");
    let name = Path::new(program).file_name().expect("a file name");
    let copy = dir.path().join(name);
    // Copied by a separate `install` process: a descriptor open for writing on the copy must
    // never exist in this multithreaded harness, where a child that another test thread forks
    // could inherit it until its `exec`, and executing the copy would then fail with ETXTBSY.
    let copied = Command::new("install")
        .args(["-m", "0755"])
        .arg(program)
        .arg(&copy)
        .status()
        .unwrap_or_else(|e| panic!("running install to copy {program}: {e}"));
    assert!(
        copied.success(),
        "install could not copy {program}: {copied}"
    );
    (copy, Some(dir))
}
