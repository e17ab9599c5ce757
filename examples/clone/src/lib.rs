//! What the `flags` program needs besides its story: a child traced by strace, run so
//! that nothing outlives the program, whichever way it ends, and the trace read.

use std::io::{
    self, BufRead, BufReader, ErrorKind, PipeReader, PipeWriter, Read, Write,
};
use std::os::fd::{AsFd, AsRawFd};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail, ensure};
use example_support::child::{Child, fork_child};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Pid, getpgrp, setpgid};

/// Forks a child that creates a task (`create`, the way `way`) under strace, attached
/// with `-p`; returns the system call it made and the flags strace decoded, the exit
/// signal included.
pub fn traced(
    way: &str,
    create: impl FnOnce() -> Result<()>,
) -> Result<(String, Vec<String>)> {
    let (go, mut say_go) = io::pipe().context("pipe()")?;
    let say_go_fd = say_go.as_raw_fd();
    // SAFETY: one thread here, so the child may run ordinary Rust code.
    let child = unsafe {
        fork_child("flags", "traced child", || {
            // SAFETY: closes the child's copy of the writing end, which it never uses:
            // end of file then says that the parent is gone.
            libc::close(say_go_fd);
            // Let strace, not our parent, trace us where Yama allows only ancestors.
            // SAFETY: prctl(2) with integer arguments.
            libc::prctl(libc::PR_SET_PTRACER, libc::PR_SET_PTRACER_ANY);
            let attached = (&go).read(&mut [0]).context("waiting for strace")?;
            ensure!(attached == 1, "the parent ended before strace attached");
            create()
        })
    }?; // killed and reaped if anything below fails
    drop(go);
    let (strace, stderr) = start_strace(child.pid())?;
    let mut stderr = BufReader::new(stderr);
    let mut trace = String::new();
    // "strace: Process N attached": from now on every system call is traced.
    while !trace.contains(" attached") {
        if stderr.read_line(&mut trace).context("reading strace")? == 0 {
            strace.wait()?; // an error, if the guard said one itself
            let last = trace.lines().last().unwrap_or_default();
            bail!("strace, creating a task with {way}: {last}");
        }
    }
    say_go.write_all(b"!").context("letting the child go")?;
    stderr
        .read_to_string(&mut trace)
        .context("reading strace")?;
    child.wait()?;
    strace.wait()?;
    let calls: Vec<_> = trace.lines().filter_map(parse_call).collect();
    match calls.as_slice() {
        [call] => Ok(call.clone()),
        _ => bail!("expected one task created by {way}, strace saw:\n{trace}"),
    }
}

/// `[pid 12] clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, …}, 88) = 13` →
/// `("clone3", ["CLONE_VM", "CLONE_VFORK", "SIGCHLD"])`. Other lines: `None`.
fn parse_call(line: &str) -> Option<(String, Vec<String>)> {
    // strace's "Process N attached" can land in the middle of the line.
    let line = line.split("strace: Process").next().unwrap_or(line);
    let line = line
        .strip_prefix("[pid ")
        .map_or(line, |l| l.split_once("] ").map_or(l, |p| p.1));
    let (name, args) = line.split_once('(')?;
    let field = |key: &str| {
        let value = args.split(key).nth(1)?;
        value.split([',', ')', '}', ' ']).next()
    };
    let mut flags: Vec<String> = match name {
        "clone" | "clone3" => field("flags=")?.split('|').map(String::from).collect(),
        "vfork" => vec!["CLONE_VM".into(), "CLONE_VFORK".into(), "SIGCHLD".into()],
        "fork" => vec!["SIGCHLD".into()],
        _ => return None,
    };
    if let Some(signal) = field("exit_signal=").filter(|s| *s != "0") {
        flags.push(signal.to_owned());
    }
    Some((name.to_owned(), flags))
}

/// strace attached to `pid`, its output on the pipe returned. strace runs in a process
/// group of its own, so that Ctrl-C reaches this program, not strace (version 6.1 could
/// be left stuck with its tracees then). A forked guard leads that group: it waits for
/// strace, and kills the whole group when this program ends first, whichever way:
/// strace, and the child it forks at start-up to test ptrace, which nothing else ends.
pub fn start_strace(pid: Pid) -> Result<(Group, PipeReader)> {
    let (stderr, stderr_writer) = io::pipe().context("pipe()")?;
    let (alive, alive_writer) = io::pipe().context("pipe()")?;
    let alive_fd = alive_writer.as_raw_fd();
    // SAFETY: one thread here, so the child may run ordinary Rust code.
    let guard = unsafe {
        fork_child("flags", "strace guard", || {
            // The guard notices our end itself (end of file on `alive`, once its own
            // copy of the writing end is closed), and then ends its group.
            libc::prctl(libc::PR_SET_PDEATHSIG, 0);
            libc::close(alive_fd);
            setpgid(Pid::from_raw(0), Pid::from_raw(0)).context("setpgid")?;
            let args = [
                "-f",
                "-e",
                "signal=none",
                "-e",
                "trace=clone,clone3,vfork,fork",
            ];
            let mut strace = Command::new("strace");
            strace.args(args).arg("-p").arg(pid.to_string());
            let spawned = strace
                .stdout(Stdio::null())
                .stderr(stderr_writer.try_clone()?)
                .spawn();
            let mut strace = match spawned {
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    return Ok(writeln!(&stderr_writer, "{NO_STRACE}")?);
                }
                spawned => spawned.context("spawning strace")?,
            };
            drop(stderr_writer);
            loop {
                let mut fds = [PollFd::new(alive.as_fd(), PollFlags::POLLIN)];
                if poll(&mut fds, PollTimeout::from(10u8))? > 0 {
                    killpg(getpgrp(), Signal::SIGKILL)?; // our parent is gone: end all
                }
                if strace.try_wait()?.is_some() {
                    return Ok(());
                }
            }
        })
    }?;
    Ok((Group(Some(guard), alive_writer), stderr))
}

const NO_STRACE: &str = "strace is not installed (it is in the package strace: \
                         `apt install strace`): this example reads the flags from its \
                         trace";

/// The guard of strace's process group, and the pipe whose end tells it we are gone.
/// Dropped early (an error), it kills the whole group and reaps the guard.
pub struct Group(Option<Child>, #[allow(dead_code)] PipeWriter);

impl Group {
    /// Waits for the guard, which ends when strace does.
    pub fn wait(mut self) -> Result<()> {
        self.0.take().expect("waited once").wait()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(guard) = &self.0 {
            let _ = killpg(guard.pid(), Signal::SIGKILL);
        }
    }
}
