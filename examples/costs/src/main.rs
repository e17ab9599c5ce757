//! `cargo run --release -p costs`: what processes and threads cost, measured on this
//! machine.
//!
//! The usual summary says that processes are slower to create, slower to switch
//! between, slower to talk to and heavier than threads. This program puts a number on
//! each claim: creation (fork, fork + exec, posix_spawn, thread spawn), how fork grows
//! with the memory the parent has touched, 1-byte round trips between two processes or
//! two threads (pinned to one CPU and not), round trips and throughput over pipes,
//! sockets, shared memory and channels, and the memory an idle process or thread adds.
//! Every figure is the median of repeated trials with the fastest and slowest trial
//! beside it. `--cross-check` runs `perf bench sched pipe` and `stress-ng --fork` next
//! to our own loops, to show that the harness measures what the independent tools
//! measure.
//!
//! The Cost chapter shows a committed reference run, made by `--reference DIR` (see
//! `costs::REFERENCE_COMMAND`). Linux only.

mod measure;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use costs::{Report, Row, SCHEMA, Section, Unit, Who};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use measure::memory::ProbeKind;
use measure::sys::Cpus;
use measure::workingset::{self, Sets};
use measure::{
    Plan, creation, crosscheck, ipc, machine, memory, repeat, roundtrip, tasks,
    throughput,
};

/// Measures what processes and threads cost on this machine: creation, context
/// switches, communication, memory.
#[derive(Parser)]
#[command(
    about,
    after_help = "The Cost chapter's reference run comes from:\n  cargo run \
        --release -p costs -- --reference examples/costs/reference"
)]
struct Args {
    /// Tiny loop counts: everything in a few seconds, to test the harness (not for
    /// quoting).
    #[arg(long)]
    quick: bool,

    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,

    /// Trials per figure [default: 11, or 3 with --quick].
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=1000)
    )]
    trials: Option<u32>,

    /// Largest memory to touch before forking, in MiB: sizes 0, 64, 256, 1024 up to
    /// this [default: 1024, or 64 with --quick].
    #[arg(
        long,
        value_name = "MIB",
        value_parser = clap::value_parser!(u64).range(0..=65536)
    )]
    max_touch: Option<u64>,

    /// Only compare our ping-pong with `perf bench sched pipe` (and our fork with
    /// `stress-ng --fork`), alternately, pinned to one CPU, same loop count.
    #[arg(long, conflicts_with_all = ["json", "reference", "rerender"])]
    cross_check: bool,

    /// Wait for a quiet machine (1-minute load below 0.5, at most 15 minutes), measure
    /// everything, cross-check with perf and stress-ng, and write reference.json,
    /// table.md, claims.md and the SVG charts into DIR.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with_all = ["json", "rerender"]
    )]
    reference: Option<PathBuf>,

    /// Redraw DIR's tables and charts from DIR/reference.json, without measuring.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["json", "quick"])]
    rerender: Option<PathBuf>,

    /// Internal: measure idle tasks in this fresh process and print one `probe:` line.
    #[arg(long, hide = true)]
    memory_probe: Option<ProbeKind>,

    /// Internal: idle tasks for --memory-probe.
    #[arg(
        long,
        hide = true,
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(1..=10_000)
    )]
    tasks: u32,
}

fn main() -> ExitCode {
    // Not `main!`: costs counts allocations with a global allocator of its own.
    example_support::run_main(env!("CARGO_PKG_NAME"), env!("CARGO_BIN_NAME"), run)
}

fn run(args: Args) -> Result<()> {
    if let Some(kind) = args.memory_probe {
        return memory::probe(kind, args.tasks);
    }
    if let Some(dir) = &args.rerender {
        return rerender(dir);
    }
    let reference = args.reference.is_some() && !args.quick;
    if let Some(dir) = &args.reference {
        // Fail now, not after minutes of measuring.
        std::fs::create_dir_all(dir)
            .with_context(|| format!("mkdir({})", dir.display()))?;
    }
    if reference {
        // The published reference has every cross-check, on a quiet machine.
        for (tool, args) in [
            ("perf", &["bench", "sched", "pipe", "-l", "10"][..]),
            ("stress-ng", &["--version"]),
        ] {
            if let Err(why) = crosscheck::run_tool(tool, args) {
                bail!(
                    "a reference run needs perf and stress-ng: {why} (Debian: apt-get install linux-perf stress-ng)"
                );
            }
        }
        wait_for_a_quiet_machine()?;
    }
    let cpus = Cpus::detect()?;
    let mut machine = machine::describe(&cpus)?;
    let plan = Plan::new(args.quick, args.trials, args.max_touch, machine.llc_kib());

    let cross_check = args.cross_check || args.reference.is_some();
    let mut steps = if args.cross_check {
        0
    } else {
        jobs(&plan).len() as u64
    };
    if cross_check {
        steps += crosscheck::steps(&plan.cross);
    }
    let progress = Progress::new(steps);
    if machine.load_before >= machine.logical_cpus as f64 {
        // Shown above the progress bar at once (drawn only on a terminal); the report
        // repeats it at its top.
        progress.0.println(costs::wrap_lines(&format!(
            "Warning: load average {:.2} on {} CPUs: unpinned and shared-memory figures will \
             not be reliable; rerun when idle.",
            machine.load_before, machine.logical_cpus
        )).trim_end());
    }
    let rows = if args.cross_check {
        Vec::new()
    } else {
        measure_all(&plan, &cpus, &progress)?
    };
    let (cross_checks, cross_checks_skipped) = if cross_check {
        crosscheck::run(&cpus, &plan.cross, |what| progress.step(what))?
    } else {
        (Vec::new(), Vec::new())
    };
    progress.0.finish_and_clear();
    if args.cross_check && cross_checks.is_empty() {
        bail!(
            "nothing to cross-check: {}",
            cross_checks_skipped.join("; ")
        );
    }
    machine.load_after = machine::load_average()?;
    let report = Report {
        schema: SCHEMA,
        quick: plan.quick,
        machine,
        trials: plan.trials,
        rows,
        cross_checks,
        cross_checks_skipped,
    };

    // The demonstration's own check: every figure is a positive, finite number.
    let problems = report.problems();
    ensure!(
        problems.is_empty(),
        "implausible figures: {}",
        problems.join("; ")
    );

    if args.json {
        print!("{}", report.to_json());
        return Ok(());
    }
    // The report, then the reader's machine next to the book's reference run and
    // published figures.
    let book = Report::from_json(include_str!("../reference/reference.json")).ok();
    let comparison = costs::compare::comparison(&report, book.as_ref());
    print!("{}\n{comparison}", report.to_text());
    if let Some(dir) = &args.reference {
        let written = write_reference(dir, &report)?;
        println!();
        println!(
            "Wrote {} files into {}: {}",
            written.len(),
            dir.display(),
            written.join(", ")
        );
    }
    Ok(())
}

/// Waits until the 1-minute load average is below [`costs::QUIET`], for at most
/// [`QUIET_WAIT`]; otherwise refuses.
fn wait_for_a_quiet_machine() -> Result<()> {
    let start = std::time::Instant::now();
    loop {
        let load = machine::load_average()?;
        if load < costs::QUIET {
            return Ok(());
        }
        if start.elapsed() >= QUIET_WAIT {
            bail!(
                "the machine is not quiet (1-minute load average {load:.2} after {} minutes; a \
                 reference run needs less than {}): rerun it when the machine is idle",
                QUIET_WAIT.as_secs() / 60,
                costs::QUIET
            );
        }
        eprintln!(
            "costs: waiting for a quiet machine: 1-minute load average {load:.2}, a reference \
             run needs less than {}",
            costs::QUIET
        );
        std::thread::sleep(std::time::Duration::from_secs(30));
    }
}

/// How long a reference run waits for a quiet machine.
const QUIET_WAIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// One measurement, a row of [`TABLE`]: its id, the section (table and chart) it goes
/// to, what it is in words, who runs it, what it is repeated over, and how it is
/// measured. Adding a measurement is adding a row.
struct Spec {
    id: &'static str,
    section: Section,
    what: &'static str,
    who: Who,
    over: Over,
    how: How,
}

/// What a row is repeated over; its value ends the row id (`-pinned`, `-1024`).
#[derive(Clone, Copy, PartialEq)]
enum Over {
    /// Unpinned, then pinned to one CPU.
    Pinning,
    Pinned,
    Once,
    /// MiB the parent touched before creating.
    Touched,
    /// Idle tasks of the same kind that already exist.
    Idle,
    /// KiB each side writes between switches (pinned).
    WorkingSets,
    /// Idle tasks whose memory is counted.
    Counts,
}

#[derive(Clone, Copy)]
enum How {
    ForkWait,
    ForkExec,
    PosixSpawn,
    ThreadSpawn,
    ScopedThread,
    TaskSpawn,
    /// One figure of the memory probe for idle tasks of this kind.
    Probe(ProbeKind, &'static str),
    PipePingPong,
    CondvarPingPong,
    /// On a tokio runtime: on this thread (false) or two workers (true).
    TaskChannel(bool),
    Ws(Sets),
    SocketPingPong,
    MqPingPong,
    ShmPingPong,
    FutexPingPong,
    ChannelPingPong,
    /// The figures of a row measured before.
    Same(&'static str),
    PipeStream,
    SocketStream,
    MqStream,
    ShmStream,
    ChannelStream,
}

const fn m(
    id: &'static str,
    section: Section,
    what: &'static str,
    who: Who,
    over: Over,
    how: How,
) -> Spec {
    Spec {
        id,
        section,
        what,
        who,
        over,
        how,
    }
}

use How::*;
use Over::*;
use Section::*;
use Who::{Process, Task, Thread};

/// Every measurement, in the order they run; consecutive rows repeated over the same
/// thing run as a group, one value after the other (all rows unpinned, then all
/// pinned). The tables order rows by section.
#[rustfmt::skip]
const TABLE: &[Spec] = &[
    m("creation-fork-wait", Creation, "fork + _exit + waitpid", Process, Pinning, ForkWait),
    m("creation-fork-exec", Creation, "fork + exec /bin/true + waitpid", Process, Pinning, ForkExec),
    m("creation-posix-spawn", Creation, "posix_spawn /bin/true + waitpid", Process, Pinning, PosixSpawn),
    m("creation-thread-spawn", Creation, "thread spawn + join", Thread, Pinning, ThreadSpawn),
    m("creation-scoped-thread", Creation, "scoped thread spawn + join", Thread, Pinning, ScopedThread),
    m("creation-task-spawn", Creation, "task spawn + join (tokio, 1 thread)", Task, Pinning, TaskSpawn),
    m("memory-process-private", Memory, "idle process: private pages + page tables", Process, Once, Probe(ProbeKind::Processes, "private_kib")),
    m("memory-process-rss", Memory, "idle process: RSS as ps shows it", Process, Once, Probe(ProbeKind::Processes, "rss_kib")),
    m("memory-thread", Memory, "idle thread: growth of RSS + page tables", Thread, Once, Probe(ProbeKind::Threads, "added_kib")),
    m("memory-task", Memory, "idle async task: growth of anonymous PSS", Task, Once, Probe(ProbeKind::Tasks, "pss_kib")),
    m("scaling-processes", MemoryScaling, "idle processes", Process, Counts, Probe(ProbeKind::Processes, "kernel_kib")),
    m("scaling-threads", MemoryScaling, "idle threads", Thread, Counts, Probe(ProbeKind::Threads, "kernel_kib")),
    m("scaling-tasks", MemoryScaling, "idle async tasks (heap)", Task, Counts, Probe(ProbeKind::Tasks, "heap_kib")),
    m("size-fork-wait", ForkSize, "fork + _exit + waitpid", Process, Touched, ForkWait),
    m("size-posix-spawn", ForkSize, "posix_spawn /bin/true + waitpid", Process, Touched, PosixSpawn),
    m("size-thread-spawn", ForkSize, "thread spawn + join", Thread, Touched, ThreadSpawn),
    m("load-fork-wait", CreationLoad, "fork + _exit + waitpid", Process, Idle, ForkWait),
    m("load-thread-spawn", CreationLoad, "thread spawn + join", Thread, Idle, ThreadSpawn),
    m("load-task-spawn", CreationLoad, "async task spawn + join", Task, Idle, TaskSpawn),
    m("switch-pipe-processes", ContextSwitch, "pipe ping-pong", Process, Pinning, PipePingPong),
    m("switch-pipe-threads", ContextSwitch, "pipe ping-pong", Thread, Pinning, PipePingPong),
    m("switch-condvar-threads", ContextSwitch, "Mutex + Condvar ping-pong", Thread, Pinning, CondvarPingPong),
    m("switch-channel-tasks", ContextSwitch, "channel ping-pong (tokio, 1 thread)", Task, Pinned, TaskChannel(false)),
    m("ws-processes", WorkingSet, "processes, a working set each", Process, WorkingSets, Ws(Sets::Own(Process))),
    m("ws-threads-own", WorkingSet, "threads, a working set each", Thread, WorkingSets, Ws(Sets::Own(Thread))),
    m("ws-threads-shared", WorkingSet, "threads, one shared working set", Thread, WorkingSets, Ws(Sets::Shared)),
    m("latency-pipe-processes", Latency, "pipe", Process, Once, Same("switch-pipe-processes-unpinned")),
    m("latency-pipe-threads", Latency, "pipe", Thread, Once, Same("switch-pipe-threads-unpinned")),
    m("latency-socketpair-processes", Latency, "Unix socketpair", Process, Once, SocketPingPong),
    m("latency-mq-processes", Latency, "POSIX message queue", Process, Once, MqPingPong),
    m("latency-shm-processes", Latency, "shared memory (spin, then yield)", Process, Once, ShmPingPong),
    m("latency-shm-threads", Latency, "shared memory (spin, then yield)", Thread, Once, ShmPingPong),
    m("latency-futex-processes", Latency, "futex handoff (shared futex word)", Process, Once, FutexPingPong),
    m("latency-futex-threads", Latency, "futex handoff (shared futex word)", Thread, Once, FutexPingPong),
    m("latency-channel-threads", Latency, "crossbeam channel", Thread, Once, ChannelPingPong),
    m("latency-channel-tasks", Latency, "tokio channel (2 worker threads)", Task, Once, TaskChannel(true)),
    m("throughput-pipe-processes", Throughput, "pipe (kernel copies in and out)", Process, Once, PipeStream),
    m("throughput-pipe-threads", Throughput, "pipe (kernel copies in and out)", Thread, Once, PipeStream),
    m("throughput-socketpair-processes", Throughput, "Unix socketpair (kernel copies)", Process, Once, SocketStream),
    m("throughput-mq-processes", Throughput, "POSIX message queue", Process, Once, MqStream),
    m("throughput-shm-processes", Throughput, "shared-memory ring (read in place)", Process, Once, ShmStream),
    m("throughput-shm-threads", Throughput, "shared-memory ring (read in place)", Thread, Once, ShmStream),
    m("throughput-channel-threads", Throughput, "crossbeam channel (read in place)", Thread, Once, ChannelStream),
];

/// One row to measure: a [`Spec`] at one pinning and one value of what it is repeated
/// over.
struct Job {
    spec: &'static Spec,
    pinned: bool,
    value: Option<u64>,
}

impl Job {
    fn id(&self) -> String {
        match (self.spec.over, self.value) {
            (_, Some(v)) => format!("{}-{v}", self.spec.id),
            (Pinning | Pinned, _) => format!(
                "{}-{}",
                self.spec.id,
                if self.pinned { "pinned" } else { "unpinned" }
            ),
            _ => self.spec.id.to_string(),
        }
    }

    /// Operations (round trips, bytes, tasks) in one trial.
    fn per_trial(&self, plan: &Plan) -> u64 {
        let v = self.value.unwrap_or(0);
        let trips = if self.pinned {
            plan.pinned_round_trips
        } else {
            plan.unpinned_round_trips
        };
        match self.spec.how {
            _ if self.spec.over == Touched => plan.size_ops(v),
            ForkWait => plan.fork_ops,
            ForkExec | PosixSpawn => plan.exec_ops,
            ThreadSpawn | ScopedThread => plan.thread_ops,
            TaskSpawn => plan.task_ops,
            Probe(..) if self.spec.over == Counts => v,
            Probe(ProbeKind::Tasks, _) => plan.idle_async_tasks.into(),
            Probe(..) => plan.idle_tasks.into(),
            Ws(_) => {
                workingset::round_trips(v, plan.ws_budget_kib, plan.ws_round_trips)
            }
            TaskChannel(false) => plan.pinned_round_trips,
            TaskChannel(true) | ShmPingPong | ChannelPingPong => plan.shm_round_trips,
            PipePingPong | CondvarPingPong | Same(_) | SocketPingPong | MqPingPong
            | FutexPingPong => trips,
            PipeStream | SocketStream | MqStream | ShmStream | ChannelStream => {
                plan.stream_bytes
            }
        }
    }

    /// The trials' figures.
    fn run(&self, plan: &Plan, done: &mut Done) -> Result<Vec<f64>> {
        let (t, ops, who, v) = (
            plan.trials,
            self.per_trial(plan),
            self.spec.who,
            self.value.unwrap_or(0),
        );
        let bytes = plan.stream_bytes;
        if self.spec.over == Touched {
            done.touch(v)?;
        }
        match (self.spec.how, self.spec.over) {
            (ForkWait, Idle) => creation::fork_wait_with_idle(v, t, ops),
            (ThreadSpawn, Idle) => creation::thread_spawn_with_idle(v, t, ops),
            (TaskSpawn, Idle) => tasks::spawn_join_with_idle(v, t, ops),
            (ForkWait, _) => repeat(t, || creation::fork_wait(ops)),
            (ForkExec, _) => repeat(t, || creation::fork_exec(ops)),
            (PosixSpawn, _) => repeat(t, || creation::posix_spawn(ops)),
            (ThreadSpawn, _) => repeat(t, || creation::thread_spawn(ops)),
            (ScopedThread, _) => repeat(t, || creation::scoped_thread(ops)),
            (TaskSpawn, _) => {
                let rt = tasks::runtime(false)?;
                repeat(t, || tasks::spawn_join(&rt, ops))
            }
            (Probe(kind, key), _) => {
                let n = if self.spec.over == Counts {
                    v as u32
                } else {
                    ops as u32
                };
                done.probe(kind, n, key)
            }
            (PipePingPong, _) => roundtrip::pipe_pingpong(who, t, ops),
            (CondvarPingPong, _) => roundtrip::condvar_pingpong(t, ops),
            (TaskChannel(multi), _) => {
                tasks::channel_pingpong(&tasks::runtime(multi)?, t, ops)
            }
            (Ws(sets), _) => workingset::pingpong(sets, v, t, ops),
            (SocketPingPong, _) => roundtrip::socket_pingpong(who, t, ops),
            (MqPingPong, _) => ipc::mq_pingpong(who, t, ops),
            (ShmPingPong, _) => roundtrip::shm_pingpong(who, t, ops),
            (FutexPingPong, _) => ipc::futex_pingpong(who, t, ops),
            (ChannelPingPong, _) => roundtrip::channel_pingpong(t, ops),
            (Same(id), _) => done.samples(id),
            (PipeStream, _) => throughput::pipe_stream(who, t, bytes),
            (SocketStream, _) => throughput::socket_stream(who, t, bytes),
            (MqStream, _) => ipc::mq_stream(who, t, bytes),
            (ShmStream, _) => throughput::shm_stream(who, t, bytes),
            (ChannelStream, _) => throughput::channel_stream(t, bytes),
        }
    }
}

/// The rows to measure, in order: [`TABLE`]'s groups, each over its values.
fn jobs(plan: &Plan) -> Vec<Job> {
    let mut jobs = Vec::new();
    for group in TABLE.chunk_by(|a, b| a.over == b.over) {
        let values: Vec<(bool, Option<u64>)> = match group[0].over {
            Pinning => vec![(false, None), (true, None)],
            Pinned => vec![(true, None)],
            Once => vec![(false, None)],
            Touched => plan.sizes.iter().map(|&v| (false, Some(v))).collect(),
            Idle => plan.load_tasks.iter().map(|&v| (false, Some(v))).collect(),
            WorkingSets => plan
                .working_sets_kib
                .iter()
                .map(|&v| (true, Some(v)))
                .collect(),
            Counts => plan
                .scaling_tasks
                .iter()
                .map(|&v| (false, Some(v.into())))
                .collect(),
        };
        for (pinned, value) in values {
            jobs.extend(group.iter().map(|spec| Job {
                spec,
                pinned,
                value,
            }));
        }
    }
    jobs
}

/// What the rows measured so far, and what they share: the memory-probe results
/// (several rows read one probe) and the touched memory of the fork-vs-size rows.
#[derive(Default)]
struct Done {
    rows: Vec<Row>,
    probes: HashMap<(ProbeKind, u32), Vec<Figures>>,
    touched: Option<(u64, Vec<creation::Page>)>,
    memory_trials: u32,
}

/// One memory probe's `key=value` figures.
type Figures = Vec<(String, f64)>;

impl Done {
    /// One figure of each memory-probe trial for `n` idle tasks of `kind`.
    fn probe(&mut self, kind: ProbeKind, n: u32, key: &str) -> Result<Vec<f64>> {
        if !self.probes.contains_key(&(kind, n)) {
            let runs = (0..self.memory_trials)
                .map(|_| memory::run_probe(kind, n))
                .collect::<Result<Vec<_>>>()?;
            self.probes.insert((kind, n), runs);
        }
        self.probes[&(kind, n)]
            .iter()
            .map(|figures| {
                figures
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| *v)
                    .with_context(|| format!("the memory probe did not report {key}"))
            })
            .collect()
    }

    /// Keeps `mib` MiB of touched memory (replacing other sizes).
    fn touch(&mut self, mib: u64) -> Result<()> {
        if self.touched.as_ref().is_none_or(|(m, _)| *m != mib) {
            self.touched = None; // free first
            let pages = creation::touched_memory(mib)
                .with_context(|| format!("touching {mib} MiB"))?;
            self.touched = Some((mib, pages));
        }
        Ok(())
    }

    fn samples(&self, id: &str) -> Result<Vec<f64>> {
        let row = self.rows.iter().find(|r| r.id == id);
        Ok(row
            .with_context(|| format!("row {id} not measured yet"))?
            .samples
            .clone())
    }
}

/// Runs every job and records its row. Pinned jobs run with this thread, and so every
/// task it creates meanwhile, on one CPU.
fn measure_all(plan: &Plan, cpus: &Cpus, progress: &Progress) -> Result<Vec<Row>> {
    let mut done = Done {
        memory_trials: plan.memory_trials,
        ..Done::default()
    };
    for job in jobs(plan) {
        let spec = job.spec;
        let pinning = if job.pinned { "pinned" } else { "unpinned" };
        progress.0.set_message(format!(
            "{} ({}, {pinning})",
            spec.what,
            spec.who.as_str()
        ));
        if spec.over != Touched {
            done.touched = None;
        }
        let samples = {
            let _pin = cpus.pin_if(job.pinned)?;
            // A probe's error already says what it was measuring.
            job.run(plan, &mut done).map_err(|e| {
                if e.to_string().starts_with("measuring ") {
                    e
                } else {
                    e.context(format!("measuring {}", spec.what))
                }
            })?
        };
        let mut row = Row::new(
            job.id(),
            spec.section,
            spec.what,
            spec.who,
            job.pinned,
            None,
            unit(spec.section),
            job.per_trial(plan),
            samples,
        );
        match spec.over {
            Touched => row.touched_mib = job.value,
            WorkingSets => row.working_set_kib = job.value,
            Idle | Counts => row.tasks = job.value,
            _ => {}
        }
        done.rows.push(row);
        progress.0.inc(1);
    }
    Ok(done.rows)
}

/// The unit of a section's figures.
fn unit(section: Section) -> Unit {
    match section {
        Throughput => Unit::GibPerSec,
        Memory | MemoryScaling => Unit::Kib,
        _ => Unit::Micros,
    }
}

/// Progress on stderr while the measurements run; indicatif draws nothing when stderr
/// is not a terminal (tests, redirects).
struct Progress(ProgressBar);

impl Progress {
    fn new(steps: u64) -> Progress {
        let bar =
            ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("measuring {pos}/{len} {bar:20} {wide_msg}")
        {
            bar.set_style(style);
        }
        Progress(bar)
    }

    fn step(&self, what: &str) {
        self.0.set_message(format!("cross-check: {what}"));
        self.0.inc(1);
    }
}

/// Writes every reference file into `dir`; returns their names.
fn write_reference(dir: &Path, report: &Report) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for (name, contents) in costs::reference_files(report) {
        let path = dir.join(&name);
        std::fs::write(&path, contents)
            .with_context(|| format!("write({})", path.display()))?;
        names.push(name);
    }
    Ok(names)
}

/// `--rerender DIR`: the tables and charts again from DIR/reference.json.
fn rerender(dir: &Path) -> Result<()> {
    let path = dir.join("reference.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {}", path.display()))?;
    let report = Report::from_json(&text)
        .with_context(|| format!("parsing {}", path.display()))?;
    let written = write_reference(dir, &report)?;
    println!(
        "Redrew {} files in {} from reference.json: {}",
        written.len(),
        dir.display(),
        written.join(", ")
    );
    Ok(())
}
