//! The `clone` programs keep the house rules (`test_support::table`); the matrix `flags`
//! prints agrees with a trace read by a parser of our own, and `flags` ends cleanly without
//! strace, and interrupted.

use std::collections::BTreeSet;
use std::time::Duration;

use regex::Regex;
use test_support::table::{Program, tasks};

const FLAGS: &str = env!("CARGO_BIN_EXE_flags");

/// The tasks at once, itself included. `flags`: itself, the traced child, strace's guard,
/// strace and the task created; the error may be strace's.
const PROGRAMS: &[Program] = &[
    Program {
        says: &["Resource temporarily unavailable"],
        needs: Some(("strace", "strace")),
        ..tasks("flags", 5)
    },
    tasks("fork-threads", 6),
    tasks("exec-threads", 4),
    tasks("exit-threads", 3),
];

test_support::example_tests!(PROGRAMS, &[]);

/// The flags of the one task-creating system call in an `strace -f` trace of `flags`
/// creating a task one way. Only the names of the flags are kept.
fn traced_flags(way: &str) -> BTreeSet<String> {
    let only = "trace=clone,clone3,vfork,fork";
    let mut cmd = test_support::command(
        "strace",
        &["-f", "-qq", "-e", "signal=none", "-e", only, FLAGS],
    );
    let out = test_support::run_command(cmd.env("CLONE_FLAGS_CREATE", way));
    let calls = Regex::new(r"(?m)^(?:\[pid +\d+\] )?(clone3?|v?fork)\((.*)$").unwrap();
    let found: Vec<_> = calls.captures_iter(&out.assert_success().stderr).collect();
    assert_eq!(found.len(), 1, "one task created by {way}:\n{}", out.stderr);
    let flag = Regex::new(r"\bCLONE_[A-Z_]+").unwrap();
    let mut flags: BTreeSet<String> = flag
        .find_iter(&found[0][2])
        .map(|m| m.as_str().into())
        .collect();
    if &found[0][1] == "vfork" {
        flags.extend(["CLONE_VM".into(), "CLONE_VFORK".into()]);
    }
    flags
}

#[test]
fn the_matrix_of_clone_flags_matches_a_trace() {
    if !test_support::have("strace", "strace") {
        return;
    }
    let out = test_support::run(FLAGS, &[]);
    let rows: Vec<Vec<&str>> = (out.assert_success().stdout.lines())
        .skip_while(|line| !line.trim_start().starts_with("shares:"))
        .map(|line| line.split_whitespace().collect())
        .filter(|cells: &Vec<&str>| cells.len() == 5)
        .collect();
    assert_eq!(rows.len(), 4, "{}", out.stdout);
    for row in rows {
        let traced = traced_flags(row[0]);
        let columns = ["CLONE_VM", "CLONE_FILES", "CLONE_SIGHAND", "CLONE_THREAD"];
        let expected = columns.map(|f| if traced.contains(f) { "yes" } else { "no" });
        assert_eq!(row[1..], expected, "{}: the trace had {traced:?}", row[0]);
    }
}

#[test]
fn without_strace_flags_names_the_package_in_one_line() {
    let empty = test_support::tempdir().expect("an empty directory");
    test_support::run_command(
        test_support::command(FLAGS, &[]).env("PATH", empty.path()),
    )
    .assert_code(1)
    .assert_one_line_error()
    .assert_stderr_contains("strace is not installed (it is in the package strace");
}

/// Ctrl-C while `flags` traces itself (SIGINT to its process group, as a terminal sends it),
/// at 20 moments of a run, leaves no tracer and no tracee; in the background, where SIGINT is
/// ignored, it finishes its story.
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
        let mut child = test_support::in_new_session(&mut cmd)
            .spawn()
            .expect("flags");
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        std::thread::sleep(run * round / 20);
        let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGINT);
        let left = test_support::session_left_after(pid, Duration::from_secs(5));
        let _ = child.wait();
        assert!(
            left.is_empty(),
            "Ctrl-C after {round}/20 of a run: left {left:?}"
        );
    }
    let background = "trap '' INT; kill -INT 0; exec \"$0\"";
    test_support::run("bash", &["-c", background, FLAGS]).assert_success();
}
