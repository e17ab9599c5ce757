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

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use costs::{Report, Row, SCHEMA, Section, Unit, Who};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use measure::memory::ProbeKind;
use measure::sys::Cpus;
use measure::{
    Plan, creation, crosscheck, machine, memory, repeat, roundtrip, throughput,
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
    #[arg(long, hide = true, value_parser = ["processes", "threads"])]
    memory_probe: Option<String>,

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
    if let Some(kind) = &args.memory_probe {
        let kind = if kind == "processes" {
            ProbeKind::Processes
        } else {
            ProbeKind::Threads
        };
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
    let plan = Plan::new(args.quick, args.trials, args.max_touch);
    let cpus = Cpus::detect()?;
    let mut machine = machine::describe(&cpus)?;

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

/// Collects rows; `section`, `pinned`, `touched` and `unit` apply to the rows added
/// next.
struct Recorder<'a> {
    rows: Vec<Row>,
    progress: &'a Progress,
    section: Section,
    pinned: bool,
    touched: Option<u64>,
    unit: Unit,
}

impl Recorder<'_> {
    /// Runs `measure` (one figure per trial) and records it as row `id`; returns the
    /// figures.
    fn add(
        &mut self,
        id: impl Into<String>,
        what: &str,
        who: Who,
        per_trial: u64,
        measure: impl FnOnce() -> Result<Vec<f64>>,
    ) -> Result<Vec<f64>> {
        let pinning = if self.pinned { "pinned" } else { "unpinned" };
        let (section, pinned, touched, unit) =
            (self.section, self.pinned, self.touched, self.unit);
        self.progress
            .0
            .set_message(format!("{what} ({}, {pinning})", who.as_str()));
        let samples = measure().with_context(|| format!("measuring {what}"))?;
        let row = Row::new(
            id, section, what, who, pinned, touched, unit, per_trial, samples,
        );
        let samples = row.samples.clone();
        self.rows.push(row);
        self.progress.0.inc(1);
        Ok(samples)
    }
}

/// The measurements, in the chapter's order. Pinned measurements run with this thread
/// (and so every task it creates meanwhile) on one CPU; the guard from `pin_if` undoes
/// the pin.
fn measure_all(plan: &Plan, cpus: &Cpus, progress: &Progress) -> Result<Vec<Row>> {
    use Who::{Process, Thread};
    let t = plan.trials;
    let mut r = Recorder {
        rows: Vec::new(),
        progress,
        section: Section::Creation,
        pinned: false,
        touched: None,
        unit: Unit::Micros,
    };

    // 1. Creation: a process or thread that ends at once, and the wait for it.
    for pinned in [false, true] {
        let _pin = cpus.pin_if(pinned)?;
        r.pinned = pinned;
        let p = if pinned { "pinned" } else { "unpinned" };
        let (fork, exec, thread) = (plan.fork_ops, plan.exec_ops, plan.thread_ops);
        r.add(
            format!("creation-fork-wait-{p}"),
            "fork + _exit + waitpid",
            Process,
            fork,
            || repeat(t, || creation::fork_wait(fork)),
        )?;
        r.add(
            format!("creation-fork-exec-{p}"),
            "fork + exec /bin/true + waitpid",
            Process,
            exec,
            || repeat(t, || creation::fork_exec(exec)),
        )?;
        r.add(
            format!("creation-posix-spawn-{p}"),
            "posix_spawn /bin/true + waitpid",
            Process,
            exec,
            || repeat(t, || creation::posix_spawn(exec)),
        )?;
        r.add(
            format!("creation-thread-spawn-{p}"),
            "thread spawn + join",
            Thread,
            thread,
            || repeat(t, || creation::thread_spawn(thread)),
        )?;
        r.add(
            format!("creation-scoped-thread-{p}"),
            "scoped thread spawn + join",
            Thread,
            thread,
            || repeat(t, || creation::scoped_thread(thread)),
        )?;
    }

    // 2. The same after the parent touched 0 MiB … 1 GiB: fork copies the page tables.
    r.section = Section::ForkSize;
    r.pinned = false;
    for &mib in &plan.sizes {
        let touched = creation::touched_memory(mib)
            .with_context(|| format!("touching {mib} MiB"))?;
        r.touched = Some(mib);
        let ops = plan.size_ops(mib);
        r.add(
            format!("size-fork-wait-{mib}"),
            "fork + _exit + waitpid",
            Process,
            ops,
            || repeat(t, || creation::fork_wait(ops)),
        )?;
        r.add(
            format!("size-posix-spawn-{mib}"),
            "posix_spawn /bin/true + waitpid",
            Process,
            ops,
            || repeat(t, || creation::posix_spawn(ops)),
        )?;
        r.add(
            format!("size-thread-spawn-{mib}"),
            "thread spawn + join",
            Thread,
            ops,
            || repeat(t, || creation::thread_spawn(ops)),
        )?;
        drop(touched);
    }
    r.touched = None;

    // 3. Context switching: 1-byte ping-pong, pinned to one CPU, then free.
    r.section = Section::ContextSwitch;
    let mut unpinned_pipes = Vec::new();
    for pinned in [true, false] {
        let _pin = cpus.pin_if(pinned)?;
        r.pinned = pinned;
        let p = if pinned { "pinned" } else { "unpinned" };
        let n = if pinned {
            plan.pinned_round_trips
        } else {
            plan.unpinned_round_trips
        };
        for (who, name) in [(Process, "processes"), (Thread, "threads")] {
            let samples = r.add(
                format!("switch-pipe-{name}-{p}"),
                "pipe ping-pong",
                who,
                n,
                || roundtrip::pipe_pingpong(who, t, n),
            )?;
            if !pinned {
                unpinned_pipes.push((who, name, samples));
            }
        }
        r.add(
            format!("switch-condvar-threads-{p}"),
            "Mutex + Condvar ping-pong",
            Thread,
            n,
            || roundtrip::condvar_pingpong(t, n),
        )?;
    }

    // 4. Communication, unpinned: round trips of a small message, then 64 KiB
    //    throughput.
    //    The pipe rows reuse the unpinned ping-pong above: it is the same measurement.
    r.section = Section::Latency;
    r.pinned = false;
    let n = plan.unpinned_round_trips;
    for (who, name, samples) in unpinned_pipes {
        r.add(format!("latency-pipe-{name}"), "pipe", who, n, || {
            Ok(samples)
        })?;
    }
    r.add(
        "latency-socketpair-processes",
        "Unix socketpair",
        Process,
        n,
        || roundtrip::socket_pingpong(Process, t, n),
    )?;
    let n = plan.shm_round_trips;
    let shm = "shared memory (spin, then yield)";
    r.add("latency-shm-processes", shm, Process, n, || {
        roundtrip::shm_pingpong(Process, t, n)
    })?;
    r.add("latency-shm-threads", shm, Thread, n, || {
        roundtrip::shm_pingpong(Thread, t, n)
    })?;
    r.add(
        "latency-channel-threads",
        "crossbeam channel",
        Thread,
        n,
        || roundtrip::channel_pingpong(t, n),
    )?;

    r.section = Section::Throughput;
    r.unit = Unit::GibPerSec;
    let bytes = plan.stream_bytes;
    let pipe = "pipe (kernel copies in and out)";
    r.add("throughput-pipe-processes", pipe, Process, bytes, || {
        throughput::pipe_stream(Process, t, bytes)
    })?;
    r.add("throughput-pipe-threads", pipe, Thread, bytes, || {
        throughput::pipe_stream(Thread, t, bytes)
    })?;
    r.add(
        "throughput-socketpair-processes",
        "Unix socketpair (kernel copies in and out)",
        Process,
        bytes,
        || throughput::socket_stream(Process, t, bytes),
    )?;
    let ring = "shared-memory ring (copy in, read in place)";
    r.add("throughput-shm-processes", ring, Process, bytes, || {
        throughput::shm_stream(Process, t, bytes)
    })?;
    r.add("throughput-shm-threads", ring, Thread, bytes, || {
        throughput::shm_stream(Thread, t, bytes)
    })?;
    r.add(
        "throughput-channel-threads",
        "crossbeam channel (copy in, read in place)",
        Thread,
        bytes,
        || throughput::channel_stream(t, bytes),
    )?;

    // 5. Memory: N idle processes vs N idle threads, each trial in a fresh probe
    //    process.
    r.section = Section::Memory;
    r.unit = Unit::Kib;
    let n = plan.idle_tasks;
    let (mut private, mut rss, mut threads) = (Vec::new(), Vec::new(), Vec::new());
    progress
        .0
        .set_message("memory of idle processes and threads");
    for _ in 0..plan.memory_trials {
        let figures = memory::run_probe(ProbeKind::Processes, n)?;
        private.push(figure(&figures, "private_kib")?);
        rss.push(figure(&figures, "rss_kib")?);
        threads.push(figure(
            &memory::run_probe(ProbeKind::Threads, n)?,
            "added_kib",
        )?);
    }
    let n = u64::from(n);
    r.add(
        "memory-process-private",
        "idle process: private pages + page tables",
        Process,
        n,
        || Ok(private),
    )?;
    r.add(
        "memory-process-rss",
        "idle process: RSS as ps shows it (+ page tables)",
        Process,
        n,
        || Ok(rss),
    )?;
    r.add(
        "memory-thread",
        "idle thread: growth of the process's RSS + page tables",
        Thread,
        n,
        || Ok(threads),
    )?;
    Ok(r.rows)
}

/// How many rows [`measure_all`] makes (the progress bar's length).
fn row_count(plan: &Plan) -> u64 {
    let creation = 5 * 2;
    let sizes = 3 * plan.sizes.len() as u64;
    let switching = 3 * 2;
    let communication = 6 + 6;
    let memory = 3;
    creation + sizes + switching + communication + memory
}

fn figure(figures: &[(String, f64)], key: &str) -> Result<f64> {
    figures
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| *v)
        .with_context(|| format!("the memory probe did not report {key}"))
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
