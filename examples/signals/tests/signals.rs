//! The `signals` programs: a signal sent to the process reaches the one thread that does not
//! block it (`signals`), a signal sent to one thread waits for that thread (`tgkill`), one
//! thread takes every signal with `sigwait` (`sigwait`). Each keeps the house rules
//! (`test_support::table`); `sigwait` also keeps its story when someone else sends SIGTERM.

use test_support::table::{DEFAULT, Program};

/// The tasks each program needs at once, itself included.
const PROGRAMS: &[Program] = &[Program {
    name: "signals",
    tasks: 4,
    ..DEFAULT
}];

test_support::example_tests!(PROGRAMS, &[]);

/// A SIGTERM from another process (`kill PID`) while `sigwait` runs its story, sent after
/// each of its first three lines: the program dies of it, as `kill` expects, or (the signal
/// came too late to matter) ends with the story the book shows. Never another story.
#[test]
fn an_outside_sigterm_ends_sigwait_or_changes_nothing() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    let book = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/output-sigwait.txt"
    ));
    let book = book.expect("the snapshot");
    for round in 0..30 {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sigwait"));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        test_support::in_new_session(&mut cmd);
        let mut child = cmd.spawn().expect("starting sigwait");
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut story = String::new();
        for _ in 0..=round % 3 {
            stdout.read_line(&mut story).expect("reading a line");
        }
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        stdout.read_to_string(&mut story).expect("reading the rest");
        let status = child.wait().expect("waiting for sigwait");
        let story = test_support::redact(&story, &[test_support::PIDS]);
        use std::os::unix::process::ExitStatusExt;
        assert!(
            status.signal() == Some(libc::SIGTERM)
                || (status.success() && story == book),
            "round {round}: {status}\n{story}"
        );
    }
}
