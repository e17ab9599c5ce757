//! The book's exercises, declared once in [`EXERCISES`], and the one runner that checks them:
//! for a reader through `cargo exercises` (`src/main.rs`), for the test suite through
//! [`verify!`], the one line of each exercise's `tests/check.rs`.
//!
//! A check runs the reader's program as a child in a process group of its own, with stdin
//! from `/dev/null`, for at most [`LIMIT`]; a program still running then is killed with its
//! whole group, and the check says what it was waiting for. This process is the child subreaper
//! of what the program starts, so it reaps the program's orphans too: nothing is left behind,
//! and whatever outlived the program is named. Should this process die first, whichever way, a
//! guard kills the group ([`GUARD`]).

use std::io::{BufRead as _, BufReader, Read as _};
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

/// How long a program may run (or, after the check's signal, take to stop) before the check
/// calls it hung. The exercises' programs finish in milliseconds.
pub const LIMIT: Duration = Duration::from_secs(1);
/// How long a program may take to print the line a check waits for before it acts.
const START: Duration = Duration::from_secs(10);

/// One exercise: the crate a reader edits, under `exercises/`.
pub struct Exercise {
    pub name: &'static str,
    /// The section it practises: `CHAPTER.md#FRAGMENT`, under `src/`.
    pub practises: &'static str,
    /// Runs the program and says, in one line, what is still wrong.
    check: fn(&mut Program) -> Verdict,
}

type Verdict = Result<(), String>;

/// Every exercise, in the order of the chapters they practise.
pub const EXERCISES: [Exercise; 9] = [
    Exercise {
        name: "zombie",
        practises: "creating-and-ending.md#ending-a-process-exit-status-zombies-and-orphans",
        check: |p| {
            let end = p.end();
            if end.stderr.contains("children left behind") {
                return Err("`run` returned without reaping its children".into());
            }
            end.succeeded()?.says(&["job 1:", "job 2:", "job 3:"])
        },
    },
    Exercise {
        name: "cloexec",
        practises: "creating-and-ending.md#running-another-program-exec-fork--exec-and-posix_spawn",
        check: |p| {
            let end = p.end();
            if let Some(holder) = end.hung.iter().find(|t| t.pid != end.pid) {
                let reader = end.hung.iter().find(|t| t.pid == end.pid);
                let read = reader.map_or(&[][..], |r| &r.pipe_reads);
                if holder.pipe_writes.iter().any(|ino| read.contains(ino)) {
                    return Err(format!(
                        "no end of file after {}: `{}` inherited a write end of the pipe",
                        secs(end.limit),
                        holder.command
                    ));
                }
            }
            end.succeeded()?.says(&["result 1", "result 2", "result 3"])
        },
    },
    Exercise {
        name: "end-of-file",
        practises: "communication.md#end-of-file-comes-only-from-the-last-writer",
        check: |p| {
            let end = p.end();
            let parent = end.hung.iter().find(|t| t.pid == end.pid);
            if parent.is_some_and(|t| t.pipe_writes.iter().any(|i| t.pipe_reads.contains(i))) {
                return Err(format!(
                    "no end of file after {}: the parent itself holds a write end",
                    secs(end.limit)
                ));
            }
            end.succeeded()?.says(&["line 1", "line 2", "line 3"])
        },
    },
    Exercise {
        name: "lost-update",
        practises: "synchronization.md#the-fixes-a-mutex-or-one-atomic-read-modify-write",
        check: |p| match p.end().succeeded()?.number_after("balance: ") {
            Some(40) => Ok(()),
            // How many were lost can vary from run to run; that some were does not.
            Some(n) if n < 40 => Err("deposits were lost: the balance is below 40".into()),
            Some(n) => Err(format!("the balance is {n}, not the 40 deposited")),
            None => Err("it printed no `balance: N` line".into()),
        },
    },
    Exercise {
        name: "fork-counter",
        practises: "synchronization/sync.md#why-a-stdsyncmutex-cannot-synchronize-processes",
        check: |p| {
            let end = p.end().succeeded()?;
            // Each visit says which process made it: three children, not threads.
            let mut pids = end.numbers_after("visit from pid ");
            pids.sort_unstable();
            pids.dedup();
            if pids.len() != 3 || pids.contains(&u64::from(end.pid.as_raw().unsigned_abs())) {
                return Err("three child processes must each print `visit from pid PID`".into());
            }
            match end.number_after("visits: ") {
                Some(3) => Ok(()),
                Some(0) => Err("0 visits, not 3: each child added 1 to its own copy".into()),
                Some(n) => Err(format!("{n} visits, not 3")),
                None => Err("it printed no `visits: N` line".into()),
            }
        },
    },
    Exercise {
        name: "sigterm",
        practises: "signals.md#block-them-everywhere-wait-for-them-in-one-thread",
        check: |p| {
            p.wait_for("working")?;
            p.signal(Signal::SIGTERM);
            let end = p.end();
            if end.signal() == Some(Signal::SIGTERM) {
                return Err(
                    "SIGTERM killed the process: a thread that did not block it took it".into(),
                );
            }
            end.succeeded()?.says(&["got SIGTERM"])
        },
    },
    Exercise {
        name: "crash",
        practises: "crashes.md#a-crashing-thread-takes-its-whole-process-down",
        check: |p| {
            let end = p.end();
            if let Some(signal) = end.signal() {
                return Err(format!(
                    "the whole server died of {signal} with the job that crashed"
                ));
            }
            end.succeeded()?
                .says(&["job 7: 49", "job 12: 144", "job 5: 25"])?;
            end.says(&["job oops: the worker died of SIGABRT"])
        },
    },
    Exercise {
        name: "time-limit",
        practises: "stopping.md#waiting-for-a-process-with-a-time-limit",
        check: |p| {
            let end = p.end();
            if end.status.is_none() && end.hung.iter().any(|t| t.command == "sleep") {
                return Err(format!(
                    "still waiting for `sleep infinity` after {}: it never ends",
                    secs(end.limit)
                ));
            }
            end.succeeded()?.says(&[
                "true: exit status: 0",
                "sleep infinity: killed",
                "false: exit status: 1",
            ])
        },
    },
    Exercise {
        name: "async-block",
        practises: "async.md#a-task-gives-up-its-thread-only-at-an-await",
        check: |p| {
            let end = p.end();
            if end.status.is_none() {
                return Err(format!(
                    "stuck after {}: `recv` probably blocks the thread the sender needs to run",
                    secs(end.limit)
                ));
            }
            if !end.succeeded()?.stdout.contains("sent from thread main") {
                return Err("the sender must run on the runtime's one thread, `main`".into());
            }
            match end.number_after("total: ") {
                Some(14) => Ok(()),
                _ => Err("it did not print `total: 14`".into()),
            }
        },
    },
];

impl Exercise {
    /// Runs the program `bin` (this exercise's starter, or a solution) and judges it.
    pub fn check(&self, bin: &Path, limit: Duration) -> Checked {
        let mut program = match Program::start(bin, limit) {
            Ok(program) => program,
            Err(e) => {
                return Checked {
                    verdict: Err(e),
                    stderr: String::new(),
                    left_behind: vec![],
                };
            }
        };
        let verdict = (self.check)(&mut program);
        let end = program.end();
        Checked {
            verdict,
            stderr: end.stderr.clone(),
            left_behind: end.left_behind.clone(),
        }
    }
}

/// A check's verdict, and what the program said on stderr and left running.
pub struct Checked {
    pub verdict: Verdict,
    pub stderr: String,
    pub left_behind: Vec<String>,
}

/// Finds an exercise by name.
pub fn exercise(name: &str) -> Option<&'static Exercise> {
    EXERCISES.iter().find(|e| e.name == name)
}

/// The line `cargo exercises` prints for an exercise.
pub fn verdict_line(name: &str, verdict: &Verdict) -> String {
    match verdict {
        Ok(()) => format!("{name}: done"),
        Err(why) => format!("{name}: not yet: {why}"),
    }
}

fn secs(limit: Duration) -> String {
    format!("{} s", limit.as_secs_f64())
}

/// The guard of a program's process group, `sh -c GUARD guard PGID`, its stdin a pipe whose
/// other end only this process holds. The group is not in the terminal's foreground group, so
/// Ctrl-C does not reach it, and `PR_SET_PDEATHSIG` ends the program but not its children: when
/// this process dies, however, the guard reads end of file and kills the group. When the check
/// is over, this process kills the guard (`SIGKILL`) before the group's id could be reused.
pub const GUARD: &str = r#"trap '' INT TERM HUP; read -r _; kill -s KILL -- "-$1" 2>/dev/null"#;

/// A program under check.
pub struct Program {
    child: Child,
    group: Pid,
    guard: Child,
    limit: Duration,
    lines: Receiver<String>,
    stdout: Vec<String>,
    readers: Option<(JoinHandle<()>, JoinHandle<String>)>,
    ended: Option<Ended>,
}

/// How a program ended.
pub struct Ended {
    pid: Pid,
    limit: Duration,
    /// `None`: still running at the limit, and then killed.
    status: Option<ExitStatus>,
    /// When it hung: what each process of its group held at that moment.
    hung: Vec<Task>,
    /// Commands of processes it started that were still running after it ended.
    left_behind: Vec<String>,
    stdout: String,
    stderr: String,
}

/// A process and the pipes it held, by inode: the ends it could read and write.
struct Task {
    pid: Pid,
    command: String,
    pipe_reads: Vec<u64>,
    pipe_writes: Vec<u64>,
}

impl Program {
    fn start(bin: &Path, limit: Duration) -> Result<Program, String> {
        // The program's orphans become this process's children, and so can be reaped.
        nix::sys::prctl::set_child_subreaper(true)
            .map_err(|e| format!("cannot become a subreaper: {e}"))?;
        let mut command = Command::new(bin);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // SAFETY: the closure runs in the child between fork and exec; it makes two system
        // calls, which are async-signal-safe, and touches no memory but its own stack.
        unsafe {
            command.pre_exec(|| {
                // It ends if this thread does before its guard runs, and a crash of it or of
                // a child leaves no core file (the limit is inherited).
                nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
                nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0)?;
                Ok(())
            })
        };
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let group = Pid::from_raw(child.id() as i32);
        let guard = Command::new("sh")
            .args(["-c", GUARD, "guard", &group.to_string()])
            .stdin(Stdio::piped())
            .spawn();
        let guard = match guard {
            Ok(guard) => guard,
            Err(e) => {
                let _ = killpg(group, Signal::SIGKILL);
                reap_group(group, None);
                let _ = child.wait();
                return Err(format!("cannot start its guard, sh: {e}"));
            }
        };
        let (sender, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped");
        let out = thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let mut stderr = child.stderr.take().expect("piped");
        let err = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Ok(Program {
            child,
            group,
            guard,
            limit,
            lines,
            stdout: Vec::new(),
            readers: Some((out, err)),
            ended: None,
        })
    }

    /// Waits until the program prints a line containing `needle`.
    fn wait_for(&mut self, needle: &str) -> Verdict {
        let deadline = Instant::now() + START;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.stdout.push(line);
                    if found {
                        return Ok(());
                    }
                }
                Err(_) => {
                    return Err(format!("it never printed a line with {needle:?}"));
                }
            }
        }
    }

    fn signal(&self, signal: Signal) {
        let _ = kill(self.group, signal);
    }

    /// Waits for the program to end, at most its limit, then kills its group; reaps what it
    /// left; collects its output.
    fn end(&mut self) -> &Ended {
        if self.ended.is_none() {
            self.ended = Some(self.wait_and_reap());
        }
        self.ended.as_ref().expect("just set")
    }

    fn wait_and_reap(&mut self) -> Ended {
        let deadline = Instant::now() + self.limit;
        let mut status = None;
        while status.is_none() && Instant::now() < deadline {
            status = self.child.try_wait().ok().flatten();
            thread::sleep(Duration::from_millis(5));
        }
        let mut hung = Vec::new();
        if status.is_none() {
            hung = tasks(self.group);
            let _ = killpg(self.group, Signal::SIGKILL);
            let _ = self.child.wait();
        }
        let left_behind = reap_group(self.group, status.map(|_| LIMIT));
        let _ = self.guard.kill();
        let _ = self.guard.wait();
        let (out, err) = self.readers.take().expect("read once");
        let _ = out.join();
        self.stdout.extend(self.lines.try_iter());
        Ended {
            pid: self.group,
            limit: self.limit,
            status,
            hung,
            left_behind,
            stdout: self.stdout.join("\n"),
            stderr: err.join().unwrap_or_default(),
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        if self.ended.is_none() {
            let _ = killpg(self.group, Signal::SIGKILL);
            self.end();
        }
    }
}

/// Reaps what the program left in its group, now this process's children (or theirs). What
/// still runs `grace` after the program ended is named and killed; `None`: the group was
/// killed already. Gives up after 10 s, naming what would not end.
fn reap_group(group: Pid, grace: Option<Duration>) -> Vec<String> {
    let deadline = grace.map(|grace| Instant::now() + grace);
    let mut left = Vec::new();
    for _ in 0..2000 {
        while matches!(
            waitpid(Pid::from_raw(-group.as_raw()), Some(WaitPidFlag::WNOHANG)),
            Ok(status) if status.pid().is_some()
        ) {}
        if killpg(group, None) == Err(Errno::ESRCH) {
            return left;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) && left.is_empty() {
            left = tasks(group).into_iter().map(|t| t.command).collect();
            let _ = killpg(group, Signal::SIGKILL);
        }
        thread::sleep(Duration::from_millis(5));
    }
    left.push(format!("process group {group}, which would not end"));
    left
}

/// The live processes of process group `group` and the pipe ends each holds.
fn tasks(group: Pid) -> Vec<Task> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "PID (COMMAND) STATE PPID PGRP …"; the command may contain anything.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if fields.get(2) != Some(&group.to_string().as_str()) || fields.first() == Some(&"Z") {
            continue;
        }
        let mut task = Task {
            pid: Pid::from_raw(pid),
            command: stat[open + 1..close].to_owned(),
            pipe_reads: Vec::new(),
            pipe_writes: Vec::new(),
        };
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"));
        for fd in fds.into_iter().flatten().flatten() {
            let target = std::fs::read_link(fd.path()).unwrap_or_default();
            let target = target.to_string_lossy();
            let Some(ino) = target
                .strip_prefix("pipe:[")
                .and_then(|t| t.strip_suffix(']'))
            else {
                continue;
            };
            let info = format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_string_lossy());
            let info = std::fs::read_to_string(info).unwrap_or_default();
            let flags = info.lines().find_map(|l| l.strip_prefix("flags:"));
            let flags = flags.and_then(|f| u32::from_str_radix(f.trim(), 8).ok());
            let ino = ino.parse().unwrap_or_default();
            // The access mode: 0 read only, 1 write only.
            match flags.map(|f| f & 3) {
                Some(0) => task.pipe_reads.push(ino),
                Some(1) => task.pipe_writes.push(ino),
                _ => {}
            }
        }
        found.push(task);
    }
    found
}

impl Ended {
    fn signal(&self) -> Option<Signal> {
        let signal = self.status?.signal()?;
        Signal::try_from(signal).ok()
    }

    /// The house rules: it ended by itself, with exit status 0, and nothing left running. (What
    /// it says on stderr is up to the reader, who may be debugging; [`verify`] holds the
    /// solutions to a quiet stderr.)
    fn succeeded(&self) -> Result<&Ended, String> {
        let Some(status) = self.status else {
            return Err(format!("still running after {}", secs(self.limit)));
        };
        if let Some(signal) = self.signal() {
            return Err(format!("killed by {signal}"));
        }
        if !status.success() {
            let said = self.stderr.lines().next().unwrap_or("nothing on stderr");
            return Err(format!("it failed ({status}): {said}"));
        }
        if let Some(command) = self.left_behind.first() {
            return Err(format!(
                "it left `{command}` running after it ended: every child must end first"
            ));
        }
        Ok(self)
    }

    /// Every one of `needles` appears on its stdout.
    fn says(&self, needles: &[&str]) -> Verdict {
        match needles.iter().find(|n| !self.stdout.contains(**n)) {
            Some(missing) => Err(format!("its output lacks {missing:?}")),
            None => Ok(()),
        }
    }

    /// The number right after `marker` on its stdout.
    fn number_after(&self, marker: &str) -> Option<u64> {
        self.numbers_after(marker).first().copied()
    }

    /// The numbers right after each `marker` on its stdout.
    fn numbers_after(&self, marker: &str) -> Vec<u64> {
        let after = self.stdout.split(marker).skip(1);
        let digits = after.map(|r| {
            r.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        });
        digits.filter_map(|d| d.parse().ok()).collect()
    }
}

/// Generous: a solution that works finishes in milliseconds, also on a loaded machine.
const SOLUTION_LIMIT: Duration = Duration::from_secs(30);

/// The test of an exercise crate: its starter fails the check with the line in
/// `starter-says.txt` (shown in the book; `SNAPSHOTS=overwrite` rewrites it), its solution
/// passes with nothing on stderr, and neither leaves anything behind. `starter` is the hash of
/// the starter's source ([`fnv1a`]): where `src/main.rs` is not that file any more (a reader
/// solved the exercise in this checkout), the starter's half is skipped, loudly: `skip` is
/// `test_support::skipped`, which fails under CI.
pub fn verify(name: &str, bins: [&str; 2], dir: &str, starter: u64, skip: fn(&str)) {
    let exercise = exercise(name).unwrap_or_else(|| panic!("{name} is not in EXERCISES"));
    let source = std::fs::read(Path::new(dir).join("src/main.rs")).unwrap_or_default();
    let edited = fnv1a(&source) != starter;
    let (starter, solution) = thread::scope(|s| {
        let starter = (!edited).then(|| s.spawn(|| exercise.check(Path::new(bins[0]), LIMIT)));
        let solution = exercise.check(Path::new(bins[1]), SOLUTION_LIMIT);
        (
            starter.map(|s| s.join().expect("the starter's check")),
            solution,
        )
    });
    if let Err(why) = solution.verdict {
        panic!("the solution of {name} fails its check: {why}");
    }
    assert!(
        solution.stderr.is_empty() && solution.left_behind.is_empty(),
        "the solution of {name} said {:?} on stderr and left {:?} running",
        solution.stderr,
        solution.left_behind
    );
    let Some(starter) = starter else {
        return skip(&format!(
            "exercises/{name}/src/main.rs is not the starter (its hash is {:#x}; if you \
             changed the starter, put that in tests/check.rs)",
            fnv1a(&source)
        ));
    };
    let Err(said) = starter.verdict else {
        panic!("the starter of {name} passes its check; it must fail as the book says");
    };
    let err = &starter.stderr;
    assert!(
        err.lines().count() <= 1 && !err.contains("panicked"),
        "the starter of {name} said more than one line on stderr:\n{err}"
    );
    assert!(
        starter.left_behind.is_empty(),
        "the starter of {name} left {:?} running",
        starter.left_behind
    );
    let line = verdict_line(name, &Err(said)) + "\n";
    let file = Path::new(dir).join("starter-says.txt");
    if std::env::var("SNAPSHOTS").is_ok_and(|v| v == "overwrite") {
        std::fs::write(&file, &line).expect("writing starter-says.txt");
    }
    let expected = std::fs::read_to_string(&file).unwrap_or_default();
    assert_eq!(
        line,
        expected,
        "the starter of {name} fails its check, but not as {} says \
         (SNAPSHOTS=overwrite rewrites it)",
        file.display()
    );
}

/// The 64-bit FNV-1a hash of `bytes`: stable across Rust versions, unlike `DefaultHasher`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The test of an exercise crate, from its name and the hash of its starter's source:
/// `exercises::verify!("zombie", 0x…);`. The crate needs `test-support` as a dev-dependency.
#[macro_export]
macro_rules! verify {
    ($name:literal, $starter:literal) => {
        #[test]
        fn the_starter_fails_as_the_book_says_and_the_solution_passes() {
            $crate::verify(
                $name,
                [
                    env!(concat!("CARGO_BIN_EXE_", $name)),
                    env!(concat!("CARGO_BIN_EXE_", $name, "-solution")),
                ],
                env!("CARGO_MANIFEST_DIR"),
                $starter,
                test_support::skipped,
            );
        }
    };
}
