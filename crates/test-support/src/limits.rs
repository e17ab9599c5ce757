//! Running a program under a task limit, or as user `nobody`.

use std::os::unix::fs::PermissionsExt;
use std::sync::OnceLock;

use crate::{Finished, command, have, run, run_command, running_as_root, skipped};

/// Runs `program args` as user `nobody` (root only). `None` after a loud skip.
pub fn run_as_nobody(program: &str, args: &[&str]) -> Option<Finished> {
    if !running_as_root() {
        skipped("switching to user nobody needs root");
        return None;
    }
    as_nobody(&[], program, args)
}

/// Runs `program args` allowed `nproc` tasks (processes and threads) for its user, so that
/// creating task `nproc + 1` fails with `EAGAIN`. The limit counts every task of the user, so
/// the program must be alone: root ignores the limit, so root runs it as `nobody`; an ordinary
/// user, whose other tasks (this harness, cargo) count, in a user namespace of its own.
/// `None` after a loud skip.
pub fn run_with_task_limit(program: &str, args: &[&str], nproc: u32) -> Option<Finished> {
    let limit = format!("--nproc={nproc}");
    if !have("prlimit", "util-linux") {
        return None;
    }
    if running_as_root() {
        return as_nobody(&["prlimit", &limit], program, args);
    }
    static USER_NAMESPACES: OnceLock<bool> = OnceLock::new();
    let unshare = || run_command(command("unshare", &["--user", "true"])).status.success();
    if !*USER_NAMESPACES.get_or_init(unshare) {
        skipped("the task limit needs a user namespace (unshare --user), refused here");
        return None;
    }
    Some(run_command(command("unshare", &["--user", "prlimit", &limit, program]).args(args)))
}

/// Runs `wrapper… program args` as `nobody` through `setpriv`, from a copy of `program` in a
/// new 0755 directory, so that `nobody` need not enter the checkout (a 0700 home).
fn as_nobody(wrapper: &[&str], program: &str, args: &[&str]) -> Option<Finished> {
    if !have("setpriv", "util-linux") {
        return None;
    }
    let dir =
        tempfile::Builder::new().prefix("pvt-example-").tempdir().expect("a temporary directory");
    std::fs::set_permissions(dir.path(), PermissionsExt::from_mode(0o755)).expect("chmod");
    let copy = dir.path().join(std::path::Path::new(program).file_name().expect("a file name"));
    // By a separate process: a descriptor open for writing on the copy, inherited by a child
    // another test thread forks, would make executing it fail with ETXTBSY.
    let copy = copy.to_str().expect("a UTF-8 path");
    run("install", &["-m", "0755", program, copy]).assert_success();
    let setpriv = ["--reuid=65534", "--regid=65534", "--clear-groups"];
    Some(run_command(command("setpriv", &setpriv).args(wrapper).arg(copy).args(args)))
}
