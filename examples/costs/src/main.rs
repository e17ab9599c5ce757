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
use measure::sys::{Cpus, Mapping};
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
    #[arg(long, conflicts_with = "markdown")]
    json: bool,

    /// Print the report as Markdown tables instead of a plain-text table.
    #[arg(long)]
    markdown: bool,

    /// Trials per figure [default: 11, or 3 with --quick].
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=1000)
    )]
    trials: Option<u32>,

    /// Largest memory to touch before forking, in MiB: sizes 0, 64, 256, 1024 up to
    /// this [default: 1024, or 256 with --quick].
    #[arg(
        long,
        value_name = "MIB",
        value_parser = clap::value_parser!(u64).range(0..=65536)
    )]
    max_touch: Option<u64>,

    /// Only compare our ping-pong with `perf bench sched pipe` (and our fork with
    /// `stress-ng --fork`), alternately, pinned to one CPU, same loop count.
    #[arg(long, conflicts_with_all = ["json", "markdown", "reference", "rerender"])]
    cross_check: bool,

    /// Measure everything, cross-check where perf/stress-ng exist, and write
    /// reference.json, table.md, table.txt and the SVG charts into DIR.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with_all = ["json", "markdown", "rerender"]
    )]
    reference: Option<PathBuf>,

    /// Redraw DIR's tables and charts from DIR/reference.json, without measuring.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["json", "markdown", "quick"])]
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
    let args = Args::parse();
    example_support::main_with_args("costs", || run(args))
}

fn run(args: Args) -> Result<()> {
    if let Some(kind) = args.memory_probe {
        return memory::probe(kind, args.tasks);
    }
    if let Some(dir) = &args.rerender {
        return rerender(dir);
    }
    if let Some(dir) = &args.reference {
        // Fail now, not after minutes of measuring.
        std::fs::create_dir_all(dir)
            .with_context(|| format!("mkdir({})", dir.display()))?;
    }
    let cpus = Cpus::detect()?;
    let mut machine = machine::describe(&cpus)?;
    let plan = Plan::new(args.quick, args.trials, args.max_touch, machine.llc_kib());

    let cross_check = args.cross_check || args.reference.is_some();
    let mut steps = if args.cross_check {
        0
    } else {
        row_count(&plan)
    };
    if cross_check {
        steps += crosscheck::steps(&plan.cross);
    }
    let progress = Progress::new(steps);
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

    if args.json || args.markdown {
        print!(
            "{}",
            if args.json {
                report.to_json()
            } else {
                report.to_markdown()
            }
        );
        return Ok(());
    }
    print!("{}", report.to_text());
    // The reader's machine next to the book's reference run and published figures,
    // with perf's own ping-pong rerun now when it is installed.
    let perf = if report.cross_checks.iter().any(|c| c.tool_name == "perf") {
        report
            .cross_checks
            .iter()
            .filter(|c| c.tool_name == "perf")
            .map(|c| costs::compare::PerfRun {
                row: if c.tool.ends_with("-T") {
                    "switch-pipe-threads-pinned"
                } else {
                    "switch-pipe-processes-pinned"
                },
                command: c.tool.clone(),
                usecs: c.theirs,
            })
            .collect()
    } else if report.rows.is_empty() {
        Vec::new()
    } else {
        crosscheck::perf_now(&cpus, plan.cross.loops)?
    };
    let reference = Report::from_json(include_str!("../reference/reference.json")).ok();
    println!();
    print!(
        "{}",
        costs::compare::comparison(&report, reference.as_ref(), &perf)
    );
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

/// One row of the report: how it is labelled, where it goes (its section picks the
/// table and the chart), and how it is measured. Adding a measurement is adding one.
struct Entry<'a> {
    id: String,
    section: Section,
    what: String,
    who: Who,
    pinned: bool,
    unit: Unit,
    per_trial: u64,
    touched_mib: Option<u64>,
    working_set_kib: Option<u64>,
    tasks: Option<u64>,
    run: Measure<'a>,
}

/// One memory probe's `key=value` figures.
type Figures = Vec<(String, f64)>;

/// A measurement: one figure per trial, given what was measured before.
type Measure<'a> = Box<dyn FnOnce(&mut Done) -> Result<Vec<f64>> + 'a>;

impl<'a> Entry<'a> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        id: impl Into<String>,
        section: Section,
        what: impl Into<String>,
        who: Who,
        pinned: bool,
        unit: Unit,
        per_trial: u64,
        run: impl FnOnce(&mut Done) -> Result<Vec<f64>> + 'a,
    ) -> Entry<'a> {
        Entry {
            id: id.into(),
            section,
            what: what.into(),
            who,
            pinned,
            unit,
            per_trial,
            touched_mib: None,
            working_set_kib: None,
            tasks: None,
            run: Box::new(run),
        }
    }
}

/// What the entries measured so far, and what they share: the memory-probe results
/// (several rows read one probe) and the touched memory of the fork-vs-size rows.
struct Done {
    rows: Vec<Row>,
    probes: HashMap<(ProbeKind, u32), Vec<Figures>>,
    memory_trials: u32,
    touched: Option<(u64, Option<Mapping>)>,
}

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

    /// Keeps `mib` MiB of touched memory mapped (replacing other sizes).
    fn touch(&mut self, mib: u64) -> Result<()> {
        if self.touched.as_ref().is_none_or(|(m, _)| *m != mib) {
            self.touched = None; // unmap first
            let mapping = creation::touched_memory(mib)
                .with_context(|| format!("touching {mib} MiB"))?;
            self.touched = Some((mib, mapping));
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

/// Every measurement, in the order they run (the tables order rows by section). Pinned
/// entries run with this thread, and so every task it creates meanwhile, on one CPU.
fn entries(plan: &Plan) -> Vec<Entry<'static>> {
    use Section::*;
    use Unit::{GibPerSec, Kib, Micros};
    use Who::{Process, Task, Thread};
    let t = plan.trials;
    let mut list = Vec::new();

    // Creation: a task that ends at once, and the wait for it.
    for pinned in [false, true] {
        let p = if pinned { "pinned" } else { "unpinned" };
        let (fork, exec, thread, task) =
            (plan.fork_ops, plan.exec_ops, plan.thread_ops, plan.task_ops);
        list.extend([
            Entry::new(
                format!("creation-fork-wait-{p}"),
                Creation,
                "fork + _exit + waitpid",
                Process,
                pinned,
                Micros,
                fork,
                move |_| repeat(t, || creation::fork_wait(fork)),
            ),
            Entry::new(
                format!("creation-fork-exec-{p}"),
                Creation,
                "fork + exec /bin/true + waitpid",
                Process,
                pinned,
                Micros,
                exec,
                move |_| repeat(t, || creation::fork_exec(exec)),
            ),
            Entry::new(
                format!("creation-posix-spawn-{p}"),
                Creation,
                "posix_spawn /bin/true + waitpid",
                Process,
                pinned,
                Micros,
                exec,
                move |_| repeat(t, || creation::posix_spawn(exec)),
            ),
            Entry::new(
                format!("creation-thread-spawn-{p}"),
                Creation,
                "thread spawn + join",
                Thread,
                pinned,
                Micros,
                thread,
                move |_| repeat(t, || creation::thread_spawn(thread)),
            ),
            Entry::new(
                format!("creation-scoped-thread-{p}"),
                Creation,
                "scoped thread spawn + join",
                Thread,
                pinned,
                Micros,
                thread,
                move |_| repeat(t, || creation::scoped_thread(thread)),
            ),
            Entry::new(
                format!("creation-task-spawn-{p}"),
                Creation,
                "async task spawn + join (tokio, current thread)",
                Task,
                pinned,
                Micros,
                task,
                move |_| {
                    let rt = tasks::runtime(false)?;
                    repeat(t, || tasks::spawn_join(&rt, task))
                },
            ),
        ]);
    }

    // Memory: idle tasks, each probe in a fresh copy of this program.
    let n = plan.idle_tasks;
    let probe = |id: &str, what: &str, who, n: u32, kind, key: &'static str| {
        Entry::new(
            id,
            Memory,
            what,
            who,
            false,
            Kib,
            n.into(),
            move |d: &mut Done| d.probe(kind, n, key),
        )
    };
    list.extend([
        probe(
            "memory-process-private",
            "idle process: private pages + page tables",
            Process,
            n,
            ProbeKind::Processes,
            "private_kib",
        ),
        probe(
            "memory-process-rss",
            "idle process: RSS as ps shows it (+ page tables)",
            Process,
            n,
            ProbeKind::Processes,
            "rss_kib",
        ),
        probe(
            "memory-thread",
            "idle thread: growth of the process's RSS + page tables",
            Thread,
            n,
            ProbeKind::Threads,
            "added_kib",
        ),
        probe(
            "memory-task",
            "idle async task: growth of the process's anonymous PSS",
            Task,
            plan.idle_async_tasks,
            ProbeKind::Tasks,
            "pss_kib",
        ),
    ]);
    for &n in &plan.scaling_tasks {
        for (kind, who, name, what, key) in [
            (
                ProbeKind::Processes,
                Process,
                "processes",
                "idle processes: PSS + kernel stacks + page tables",
                "kernel_kib",
            ),
            (
                ProbeKind::Threads,
                Thread,
                "threads",
                "idle threads: PSS + kernel stacks + page tables",
                "kernel_kib",
            ),
            (
                ProbeKind::Tasks,
                Task,
                "tasks",
                "idle async tasks: heap the runtime holds",
                "heap_kib",
            ),
        ] {
            let mut e = probe(&format!("scaling-{name}-{n}"), what, who, n, kind, key);
            e.section = MemoryScaling;
            e.tasks = Some(n.into());
            list.push(e);
        }
    }

    // Creation vs touched memory: fork copies the page tables.
    for &mib in &plan.sizes {
        let ops = plan.size_ops(mib);
        for (id, what, who, f) in [
            (
                "size-fork-wait",
                "fork + _exit + waitpid",
                Process,
                creation::fork_wait as fn(u64) -> Result<f64>,
            ),
            (
                "size-posix-spawn",
                "posix_spawn /bin/true + waitpid",
                Process,
                creation::posix_spawn,
            ),
            (
                "size-thread-spawn",
                "thread spawn + join",
                Thread,
                creation::thread_spawn,
            ),
        ] {
            let mut e = Entry::new(
                format!("{id}-{mib}"),
                ForkSize,
                what,
                who,
                false,
                Micros,
                ops,
                move |d: &mut Done| {
                    d.touch(mib)?;
                    repeat(t, || f(ops))
                },
            );
            e.touched_mib = Some(mib);
            list.push(e);
        }
    }
    list.push(Entry::new(
        "unmap",
        ForkSize,
        "",
        Process,
        false,
        Micros,
        0,
        |d| {
            d.touched = None;
            Ok(Vec::new())
        },
    ));

    // Creation while idle tasks of the same kind exist.
    for &idle in &plan.load_tasks {
        let (fork, thread, task) = (plan.fork_ops, plan.thread_ops, plan.task_ops);
        for (id, what, who, ops, f) in [
            (
                "load-fork-wait",
                "fork + _exit + waitpid",
                Process,
                fork,
                creation::fork_wait_with_idle as fn(u64, u32, u64) -> Result<Vec<f64>>,
            ),
            (
                "load-thread-spawn",
                "thread spawn + join",
                Thread,
                thread,
                creation::thread_spawn_with_idle,
            ),
            (
                "load-task-spawn",
                "async task spawn + join",
                Task,
                task,
                tasks::spawn_join_with_idle,
            ),
        ] {
            let mut e = Entry::new(
                format!("{id}-{idle}"),
                CreationLoad,
                what,
                who,
                false,
                Micros,
                ops,
                move |_| f(idle, t, ops),
            );
            e.tasks = Some(idle);
            list.push(e);
        }
    }

    // Context switching: 1-byte ping-pong, pinned to one CPU, then free.
    for pinned in [true, false] {
        let p = if pinned { "pinned" } else { "unpinned" };
        let n = if pinned {
            plan.pinned_round_trips
        } else {
            plan.unpinned_round_trips
        };
        for (who, name) in [(Process, "processes"), (Thread, "threads")] {
            list.push(Entry::new(
                format!("switch-pipe-{name}-{p}"),
                ContextSwitch,
                "pipe ping-pong",
                who,
                pinned,
                Micros,
                n,
                move |_| roundtrip::pipe_pingpong(who, t, n),
            ));
        }
        list.push(Entry::new(
            format!("switch-condvar-threads-{p}"),
            ContextSwitch,
            "Mutex + Condvar ping-pong",
            Thread,
            pinned,
            Micros,
            n,
            move |_| roundtrip::condvar_pingpong(t, n),
        ));
    }
    let n = plan.pinned_round_trips;
    list.push(Entry::new(
        "switch-channel-tasks-pinned",
        ContextSwitch,
        "channel ping-pong (tokio, current thread)",
        Task,
        true,
        Micros,
        n,
        move |_| tasks::channel_pingpong(&tasks::runtime(false)?, t, n),
    ));

    // The indirect cost: each side writes its working set between switches.
    for &kib in &plan.working_sets_kib {
        let n = workingset::round_trips(kib, plan.ws_budget_kib, plan.ws_round_trips);
        for (name, what, who, sets) in [
            (
                "processes",
                "processes, a working set each",
                Process,
                Sets::Own(Process),
            ),
            (
                "threads-own",
                "threads, a working set each",
                Thread,
                Sets::Own(Thread),
            ),
            (
                "threads-shared",
                "threads, one shared working set",
                Thread,
                Sets::Shared,
            ),
        ] {
            let mut e = Entry::new(
                format!("ws-{name}-{kib}"),
                WorkingSet,
                what,
                who,
                true,
                Micros,
                n,
                move |_| workingset::pingpong(sets, kib, t, n),
            );
            e.working_set_kib = Some(kib);
            list.push(e);
        }
    }

    // Communication latency, unpinned. The pipe rows are the unpinned ping-pong above.
    let n = plan.unpinned_round_trips;
    let shm_n = plan.shm_round_trips;
    let shm = "shared memory (spin, then yield)";
    let latency = |id: &str, what: &str, who, n, f: Measure<'static>| Entry {
        run: f,
        ..Entry::new(id, Latency, what, who, false, Micros, n, |_| Ok(vec![]))
    };
    list.extend([
        latency(
            "latency-pipe-processes",
            "pipe",
            Process,
            n,
            Box::new(|d| d.samples("switch-pipe-processes-unpinned")),
        ),
        latency(
            "latency-pipe-threads",
            "pipe",
            Thread,
            n,
            Box::new(|d| d.samples("switch-pipe-threads-unpinned")),
        ),
        latency(
            "latency-socketpair-processes",
            "Unix socketpair",
            Process,
            n,
            Box::new(move |_| roundtrip::socket_pingpong(Process, t, n)),
        ),
        latency(
            "latency-unix-stream-processes",
            "Unix stream socket (bind, listen, connect)",
            Process,
            n,
            Box::new(move |_| ipc::unix_stream_pingpong(Process, t, n)),
        ),
        latency(
            "latency-mq-processes",
            "POSIX message queue",
            Process,
            n,
            Box::new(move |_| ipc::mq_pingpong(Process, t, n)),
        ),
        latency(
            "latency-shm-processes",
            shm,
            Process,
            shm_n,
            Box::new(move |_| roundtrip::shm_pingpong(Process, t, shm_n)),
        ),
        latency(
            "latency-shm-threads",
            shm,
            Thread,
            shm_n,
            Box::new(move |_| roundtrip::shm_pingpong(Thread, t, shm_n)),
        ),
        latency(
            "latency-futex-processes",
            "futex handoff in shared memory",
            Process,
            n,
            Box::new(move |_| ipc::futex_pingpong(Process, t, n)),
        ),
        latency(
            "latency-futex-threads",
            "futex handoff in shared memory",
            Thread,
            n,
            Box::new(move |_| ipc::futex_pingpong(Thread, t, n)),
        ),
        latency(
            "latency-channel-threads",
            "crossbeam channel",
            Thread,
            shm_n,
            Box::new(move |_| roundtrip::channel_pingpong(t, shm_n)),
        ),
        latency(
            "latency-channel-tasks",
            "tokio channel (2 worker threads)",
            Task,
            shm_n,
            Box::new(move |_| {
                tasks::channel_pingpong(&tasks::runtime(true)?, t, shm_n)
            }),
        ),
    ]);

    // Throughput: 64 KiB messages one way (the message queue's largest size if less).
    let bytes = plan.stream_bytes;
    let pipe = "pipe (kernel copies in and out)";
    let ring = "shared-memory ring (copy in, read in place)";
    let mq = format!(
        "POSIX message queue ({} messages)",
        costs::kib_text(ipc::mq_message_size() as u64 >> 10)
    );
    let stream = |id: &str, what: &str, who, f: Measure<'static>| Entry {
        run: f,
        ..Entry::new(id, Throughput, what, who, false, GibPerSec, bytes, |_| {
            Ok(vec![])
        })
    };
    list.extend([
        stream(
            "throughput-pipe-processes",
            pipe,
            Process,
            Box::new(move |_| throughput::pipe_stream(Process, t, bytes)),
        ),
        stream(
            "throughput-pipe-threads",
            pipe,
            Thread,
            Box::new(move |_| throughput::pipe_stream(Thread, t, bytes)),
        ),
        stream(
            "throughput-socketpair-processes",
            "Unix socketpair (kernel copies in and out)",
            Process,
            Box::new(move |_| throughput::socket_stream(Process, t, bytes)),
        ),
        stream(
            "throughput-unix-stream-processes",
            "Unix stream socket (kernel copies in and out)",
            Process,
            Box::new(move |_| ipc::unix_stream_stream(Process, t, bytes)),
        ),
        stream(
            "throughput-mq-processes",
            &mq,
            Process,
            Box::new(move |_| ipc::mq_stream(Process, t, bytes)),
        ),
        stream(
            "throughput-shm-processes",
            ring,
            Process,
            Box::new(move |_| throughput::shm_stream(Process, t, bytes)),
        ),
        stream(
            "throughput-shm-threads",
            ring,
            Thread,
            Box::new(move |_| throughput::shm_stream(Thread, t, bytes)),
        ),
        stream(
            "throughput-channel-threads",
            "crossbeam channel (copy in, read in place)",
            Thread,
            Box::new(move |_| throughput::channel_stream(t, bytes)),
        ),
    ]);
    list
}

/// Runs every entry and records its row; entries that only tidy up (no figures)
/// record nothing.
fn measure_all(plan: &Plan, cpus: &Cpus, progress: &Progress) -> Result<Vec<Row>> {
    let mut done = Done {
        rows: Vec::new(),
        probes: HashMap::new(),
        memory_trials: plan.memory_trials,
        touched: None,
    };
    for entry in entries(plan) {
        let pinning = if entry.pinned { "pinned" } else { "unpinned" };
        progress.0.set_message(format!(
            "{} ({}, {pinning})",
            entry.what,
            entry.who.as_str()
        ));
        let samples = {
            let _pin = cpus.pin_if(entry.pinned)?;
            // A probe's error already says what it was measuring.
            (entry.run)(&mut done).map_err(|e| {
                if e.to_string().starts_with("measuring ") {
                    e
                } else {
                    e.context(format!("measuring {}", entry.what))
                }
            })?
        };
        if entry.per_trial == 0 {
            continue;
        }
        let mut row = Row::new(
            entry.id,
            entry.section,
            entry.what,
            entry.who,
            entry.pinned,
            entry.touched_mib,
            entry.unit,
            entry.per_trial,
            samples,
        );
        row.working_set_kib = entry.working_set_kib;
        row.tasks = entry.tasks;
        done.rows.push(row);
        progress.0.inc(1);
    }
    Ok(done.rows)
}

/// How many rows [`measure_all`] makes (the progress bar's length).
fn row_count(plan: &Plan) -> u64 {
    entries(plan).iter().filter(|e| e.per_trial > 0).count() as u64
}

/// Progress on stderr while the measurements run; indicatif draws nothing when stderr
/// is not a terminal (tests, redirects).
struct Progress(ProgressBar);

impl Progress {
    fn new(steps: u64) -> Progress {
        let bar =
            ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
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
