//! Which `clone` flags `fork`, `posix_spawn`, `std::process::Command` and
//! `std::thread::spawn` really pass: this program runs itself under `strace`, once for
//! each way of creating a task, and reads the flags from the trace.

use std::ffi::CStr;
use std::io::{
    self, BufRead, BufReader, ErrorKind, PipeReader, PipeWriter, Read, Write,
};
use std::os::fd::{AsFd, AsRawFd};
use std::process::{Command, ExitCode, Stdio};
use std::{env, thread};

use anyhow::{Context, Result, anyhow, bail, ensure};
use example_support::child::fork_child;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, posix_spawn};
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpgrp, setpgid};

/// Set for the traced run: which way of creating a task to use.
const CREATE: &str = "CLONE_FLAGS_CREATE";
const WAYS: [&str; 4] = ["fork", "posix_spawn", "Command::spawn", "thread::spawn"];
/// The columns of the matrix: what the new task shares with its creator.
const SHARES: [(&str, &str); 4] = [
    ("memory", "CLONE_VM"),
    ("fd table", "CLONE_FILES"),
    ("handlers", "CLONE_SIGHAND"),
    ("thread group", "CLONE_THREAD"),
];

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    if let Ok(way) = env::var(CREATE) {
        return create(&way);
    }
    println!(
        "Once per way of creating a task, under strace -f -e trace=clone,clone3,vfork,fork:"
    );
    let mut rows = Vec::new();
    for way in WAYS {
        let (call, flags) = traced(way)?;
        println!("{way:>14}: {call}({})", wrap(&flags.join("|")));
        rows.push((way, flags));
    }
    println!(
        "\n{:>14}  {}",
        "shares:",
        SHARES.map(|(name, _)| name).join("  ")
    );
    for (way, flags) in &rows {
        let cells = SHARES.map(|(name, flag)| {
            let yes = if flags.iter().any(|f| f == flag) {
                "yes"
            } else {
                "no"
            };
            format!("{yes:<width$}", width = name.len())
        });
        println!("{way:>14}  {}", cells.join("  ").trim_end());
    }
    let has = |way: usize, flag: &str| rows[way].1.iter().any(|f| f == flag);
    ensure!(
        !has(0, "CLONE_VM") && !has(0, "CLONE_FILES"),
        "fork shared something"
    );
    for spawn in [1, 2] {
        ensure!(
            has(spawn, "CLONE_VM") && has(spawn, "CLONE_VFORK"),
            "no vfork-like clone"
        );
        ensure!(
            !has(spawn, "CLONE_FILES") && !has(spawn, "CLONE_THREAD"),
            "shared files"
        );
    }
    ensure!(
        SHARES.iter().all(|(_, flag)| has(3, flag)),
        "a thread shared less"
    );
    println!("Only thread::spawn asks for CLONE_THREAD: the one way to make a thread.");
    Ok(())
}

// ANCHOR: create
/// The traced run: creates one task, one way, and waits for it.
fn create(way: &str) -> Result<()> {
    let child = match way {
        // SAFETY: the process is single-threaded; the child only calls _exit(2).
        "fork" => match unsafe { fork() }.context("fork")? {
            // SAFETY: _exit ends the child at once, running none of the parent's code.
            ForkResult::Child => unsafe { libc::_exit(0) },
            ForkResult::Parent { child } => child,
        },
        "posix_spawn" => {
            let (actions, attr) =
                (PosixSpawnFileActions::init()?, PosixSpawnAttr::init()?);
            let no_env: [&CStr; 0] = [];
            posix_spawn(c"/bin/true", &actions, &attr, &[c"true"], &no_env)
                .context("posix_spawn")?
        }
        "Command::spawn" => {
            let status = Command::new("/bin/true")
                .status()
                .context("spawning /bin/true")?;
            ensure!(status.success(), "/bin/true failed: {status}");
            return Ok(());
        }
        "thread::spawn" => {
            let thread = thread::Builder::new()
                .spawn(|| {})
                .context("spawning a thread")?;
            return thread.join().map_err(|_| anyhow!("the thread panicked"));
        }
        _ => bail!("{CREATE}={way}: not one of {WAYS:?}"),
    };
    match waitpid(child, None).context("waitpid")? {
        WaitStatus::Exited(_, 0) => Ok(()),
        status => bail!("the child ended with {status:?}"),
    }
}
// ANCHOR_END: create

// ANCHOR: trace
/// Forks a child that creates a task `way` under strace (attached with `-p`); returns
/// the system call it made and the flags strace decoded, the exit signal included.
fn traced(way: &str) -> Result<(String, Vec<String>)> {
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
            create(way)
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
// ANCHOR_END: trace

/// strace attached to `pid`, its output on the pipe returned. strace runs in a process
/// group of its own, so that Ctrl-C reaches this program, not strace (version 6.1 could be
/// left stuck with its tracees then). A forked guard leads that group: it waits for strace,
/// and kills the whole group when this program ends first, whichever way (strace and the
/// child it forks at start-up to test ptrace, which nothing else would end).
fn start_strace(pid: Pid) -> Result<(Group, PipeReader)> {
    let (stderr, stderr_writer) = io::pipe().context("pipe()")?;
    let (alive, alive_writer) = io::pipe().context("pipe()")?;
    let alive_fd = alive_writer.as_raw_fd();
    // SAFETY: one thread here, so the child may run ordinary Rust code.
    let guard = unsafe {
        fork_child("flags", "strace guard", || {
            // The guard notices our end itself (end of file on `alive`, once its own copy
            // of the writing end is closed), and then ends its group.
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
                    killpg(getpgrp(), Signal::SIGKILL)?; // our parent is gone: end it all
                }
                if strace.try_wait()?.is_some() {
                    return Ok(());
                }
            }
        })
    }?;
    Ok((Group(Some(guard), alive_writer), stderr))
}

const NO_STRACE: &str = "strace is not installed (it is in the package strace: `apt install \
                         strace`): this example reads the flags from its trace";

/// The guard of strace's process group, and the pipe whose end tells it we are gone. Dropped
/// early (an error), it kills the whole group and reaps the guard.
struct Group(
    Option<example_support::child::Child>,
    #[allow(dead_code)] PipeWriter,
);

impl Group {
    /// Waits for the guard, which ends when strace does.
    fn wait(mut self) -> Result<()> {
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

/// Breaks a long `A|B|C` list after a `|` so that each line fits the page.
fn wrap(flags: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for flag in flags.split_inclusive('|') {
        if width + flag.len() > 64 {
            out.push_str("\n                  ");
            width = 0;
        }
        out.push_str(flag);
        width += flag.len();
    }
    out
}
