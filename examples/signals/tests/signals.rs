//! The `signals` programs keep the house rules (`test_support::table`); `sigwait` also keeps
//! its story when someone else sends SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;

use test_support::table::{Program, tasks};

const PROGRAMS: &[Program] = &[tasks("signals", 4)];

test_support::example_tests!(PROGRAMS, &[]);

/// A SIGTERM from another process (`kill PID`), sent after each of `sigwait`'s first three
/// lines: it dies of it, as `kill` expects, or (the signal came too late to matter) ends with
/// the story the book shows. Never another story.
#[test]
fn an_outside_sigterm_ends_sigwait_or_changes_nothing() {
    let book = include_str!("../output-sigwait.txt");
    for round in 0..30 {
        let mut cmd = test_support::command(env!("CARGO_BIN_EXE_sigwait"), &[]);
        cmd.stdout(std::process::Stdio::piped());
        let mut child = test_support::in_new_session(&mut cmd)
            .spawn()
            .expect("sigwait");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut story = String::new();
        for _ in 0..=round % 3 {
            stdout.read_line(&mut story).expect("reading a line");
        }
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        stdout.read_to_string(&mut story).expect("reading the rest");
        let status = child.wait().expect("waiting for sigwait");
        let story = test_support::redact(&story, &[test_support::PIDS]);
        let as_book = status.success() && story == book;
        assert!(
            status.signal() == Some(libc::SIGTERM) || as_book,
            "{round}: {status}\n{story}"
        );
    }
}
