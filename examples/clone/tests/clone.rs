//! The `clone` programs: a task that shares memory but is a process of its own (`clone`), a
//! thread with a descriptor table of its own (`unshare`), the flags the usual ways of creating
//! a task pass (`flags`, checked against a trace of our own), and what `fork`, `execve` and
//! `exit` do to the threads of a process. Each keeps the house rules (`test_support::table`);
//! `flags` also without strace, and interrupted.

use std::collections::BTreeSet;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use test_support::Redaction;
use test_support::table::{DEFAULT, Program};

const FLAGS: &str = env!("CARGO_BIN_EXE_flags");

/// The tasks each program needs at once, itself included.
const PROGRAMS: &[Program] = &[
    // flags, the traced child, strace's guard, strace, the task created; the error may be
    // strace's
    Program {
        name: "flags",
        tasks: 5,
        most: 6,
        says: &["Resource temporarily unavailable"],
        needs: Some(("strace", "strace")),
        ..DEFAULT
    },
    Program {
        name: "fork-threads",
        tasks: 6,
        ..DEFAULT
    },
    Program {
        name: "exec-threads",
        tasks: 4,
        ..DEFAULT
    },
    Program {
        name: "exit-threads",
        tasks: 3,
        ..DEFAULT
    },
];

/// `Tgid 1234` → `Tgid [PID]`; a descriptor's number depends on how many the program
/// inherited.
const REDACTIONS: &[Redaction] = &[
    ("[PID]", r"Tgid (?<redacted>\d+)"),
    ("[FD]", r"fd (?<redacted>\d+)"),
];

test_support::example_tests!(PROGRAMS, REDACTIONS);

/// The flags of the one task-creating system call in an `strace -f` trace, read with a
/// parser of our own (not the program's). Pids, addresses and the stack size vary from run to
/// run; only the names of the flags are kept.
fn traced_flags(way: &str) -> BTreeSet<String> {
    let trace = [
        "-f",
        "-qq",
        "-e",
        "signal=none",
        "-e",
        "trace=clone,clone3,vfork,fork",
        FLAGS,
    ];
    let mut cmd = test_support::command("strace", &trace);
    cmd.env("CLONE_FLAGS_CREATE", way);
    let out = test_support::run_command(cmd);
    out.assert_success();
    let calls =
        regex::Regex::new(r"(?m)^(?:\[pid +\d+\] )?(clone3?|v?fork)\((.*)$").unwrap();
    let found: Vec<_> = calls.captures_iter(&out.stderr).collect();
    assert_eq!(found.len(), 1, "one task created by {way}:\n{}", out.stderr);
    let mut flags = BTreeSet::new();
    if &found[0][1] == "vfork" {
        flags.extend(["CLONE_VM".to_owned(), "CLONE_VFORK".to_owned()]);
    }
    let flag = regex::Regex::new(r"\bCLONE_[A-Z_]+").unwrap();
    flags.extend(flag.find_iter(&found[0][2]).map(|m| m.as_str().to_owned()));
    flags
}

/// The `yes`/`no` matrix `flags` prints agrees with our own reading of a trace.
#[test]
fn the_matrix_of_clone_flags_matches_a_trace() {
    if !test_support::have("strace", "strace") {
        return;
    }
    let out = test_support::run(FLAGS, &[]);
    out.assert_success();
    let columns = ["CLONE_VM", "CLONE_FILES", "CLONE_SIGHAND", "CLONE_THREAD"];
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .skip_while(|line| !line.trim_start().starts_with("shares:"))
        .skip(1)
        .map(|line| line.split_whitespace().collect())
        .filter(|cells: &Vec<&str>| cells.len() == 5)
        .collect();
    assert_eq!(rows.len(), 4, "{}", out.stdout);
    for row in rows {
        let traced = traced_flags(row[0]);
        let expected: Vec<_> = columns
            .iter()
            .map(|f| if traced.contains(*f) { "yes" } else { "no" })
            .collect();
        assert_eq!(row[1..], expected, "{}: the trace had {traced:?}", row[0]);
    }
}

#[test]
fn without_strace_the_flags_program_names_the_package_in_one_line() {
    let empty =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("clone-empty-path");
    std::fs::create_dir_all(&empty).expect("creating an empty directory");
    let mut cmd = test_support::command(FLAGS, &[]);
    cmd.env("PATH", &empty);
    test_support::run_command(cmd)
        .assert_code(1)
        .assert_one_line_error()
        .assert_stderr_contains("strace is not installed (it is in the package strace");
}

/// Ctrl-C while `flags` traces itself (SIGINT to its process group, as a terminal sends it),
/// at 20 moments spread over a run: nothing is left running, no tracer and no tracee. Run in
/// the background, where SIGINT is ignored, it finishes its story.
#[test]
fn an_interrupt_leaves_no_tracer() {
    if !test_support::have("strace", "strace") {
        return;
    }
    let start = std::time::Instant::now();
    test_support::run(FLAGS, &[]).assert_success();
    let run = start.elapsed();
    for round in 0..20 {
        let mut cmd = test_support::command(FLAGS, &[]);
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        test_support::in_new_session(&mut cmd);
        let mut child = cmd.spawn().expect("starting flags");
        let pid = Pid::from_raw(child.id() as i32);
        std::thread::sleep(run * round / 20);
        let _ = killpg(pid, Signal::SIGINT);
        let left = test_support::session_left_after(pid, Duration::from_secs(5));
        let _ = child.wait();
        assert!(
            left.is_empty(),
            "Ctrl-C after {round}: left running {left:?}"
        );
    }
    let out = test_support::run(
        "bash",
        &["-c", "trap '' INT; kill -INT 0; exec \"$0\"", FLAGS],
    );
    out.assert_success();
}
