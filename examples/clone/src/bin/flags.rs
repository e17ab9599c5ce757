//! Which `clone` flags `fork`, `posix_spawn`, `std::process::Command` and
//! `std::thread::spawn` really pass: once for each way of creating a task, this program
//! forks a child that creates a task that way under `strace`, and reads the flags from
//! the trace.

use std::ffi::CStr;
use std::process::{Command, ExitCode};
use std::{env, thread};

use anyhow::{Context, Result, anyhow, bail, ensure};
use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, posix_spawn};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};

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
    println!("strace -f -e trace=clone,clone3,vfork,fork (once per way):");
    let mut rows = Vec::new();
    for way in WAYS {
        let (call, flags) = clone::traced(way, || create(way))?;
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
            let yes = ["no", "yes"][usize::from(flags.iter().any(|f| f == flag))];
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
