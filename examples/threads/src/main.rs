//! Threads of one process share its memory, yet each thread has a stack of its own.
//!
//! 1. A spawned thread reports the same pid as the main thread but a different thread id.
//! 2. Threads write into a vector owned by `main` and into a global: `main` sees every write.
//! 3. A local variable has a different address in every thread (one stack each); a value on the
//!    heap has one address, the same for all of them.
//! 4. Threads pass a vector along crossbeam channels: it arrives in the very buffer it was
//!    allocated in, because moving it between threads copies nothing but a pointer.
//! 5. Threads share one table of open files: a descriptor that one thread opened can be used by
//!    another through its bare number, and once that thread closes it, it is closed for both.
//! 6. The kernel schedules threads, not processes: each thread's CPU time is counted on its own,
//!    and the process's CPU time is the sum of its threads'.
//!
//! Run it with `cargo run -p threads` (Linux only: thread ids come from `gettid(2)`).

use std::process::ExitCode;

#[cfg(target_os = "linux")]
fn main() -> ExitCode {
    example_support::main("threads", run)
}

#[cfg(not(target_os = "linux"))]
fn main() -> ExitCode {
    eprintln!("threads: this example needs Linux");
    ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
use {
    anyhow::{Context, Result, anyhow, ensure},
    clap::Parser,
    crossbeam::channel::{self, Receiver, Sender},
    example_support::Hygiene,
    example_support::fd::{outcome, read_descriptor},
    nix::errno::Errno,
    nix::time::{ClockId, clock_gettime},
    nix::unistd::{Pid, getpid, gettid},
    std::any::Any,
    std::collections::HashSet,
    std::fs::File,
    std::hint::black_box,
    std::io::{self, Read as _, Write as _},
    std::os::fd::{FromRawFd as _, IntoRawFd as _, OwnedFd, RawFd},
    std::sync::atomic::{AtomicUsize, Ordering},
    std::thread,
    std::time::{Duration, Instant},
};

#[cfg(target_os = "linux")]
/// Threads of one process share its memory; each thread has its own stack.
#[derive(Parser)]
struct Args {
    /// How many threads to start in the memory demonstrations.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=64))]
    threads: u16,
}

#[cfg(target_os = "linux")]
fn run() -> Result<()> {
    let args = Args::parse();
    let hygiene = Hygiene::start()?;
    let threads = usize::from(args.threads);

    one_process_two_threads()?;
    shared_heap(threads)?;
    own_stacks(threads)?;
    channel_messages()?;
    shared_descriptors()?;
    cpu_time_per_thread()?;

    hygiene.check()
}

#[cfg(target_os = "linux")]
// ANCHOR: ids
/// Which process, and which thread inside it, is running the caller.
#[derive(Clone, Copy)]
struct Ids {
    pid: Pid,
    tid: Pid,
}

#[cfg(target_os = "linux")]
impl Ids {
    fn current() -> Ids {
        Ids {
            pid: getpid(),
            tid: gettid(),
        }
    }
}
// ANCHOR_END: ids

#[cfg(target_os = "linux")]
fn one_process_two_threads() -> Result<()> {
    println!("1. One process, two threads");
    // ANCHOR: spawn-join
    let main_ids = Ids::current();
    let thread_ids = thread::scope(|s| {
        // Start a second thread that runs `Ids::current` and returns what it found.
        let handle = spawned(thread::Builder::new().spawn_scoped(s, Ids::current))?;
        // Wait for it to finish and take its return value.
        handle.join().map_err(panicked)
    })?;
    // ANCHOR_END: spawn-join
    println!(
        "   main thread:    pid {}, tid {}",
        main_ids.pid, main_ids.tid
    );
    println!(
        "   second thread:  pid {}, tid {}",
        thread_ids.pid, thread_ids.tid
    );

    ensure!(
        thread_ids.pid == main_ids.pid,
        "the threads report different pids"
    );
    ensure!(
        thread_ids.tid != main_ids.tid,
        "the threads report the same tid"
    );
    ensure!(
        main_ids.tid == main_ids.pid,
        "the main thread's tid is not the pid"
    );
    println!(
        "   Same pid: both threads belong to one process. Different tids: two threads,"
    );
    println!(
        "   each scheduled on its own. The main thread's tid equals the pid: on Linux a"
    );
    println!("   process is known by the id of its first thread.");
    Ok(())
}

#[cfg(target_os = "linux")]
/// A global variable: one copy per process, whichever thread touches it.
static GLOBAL_WRITES: AtomicUsize = AtomicUsize::new(0);

#[cfg(target_os = "linux")]
fn shared_heap(threads: usize) -> Result<()> {
    println!();
    println!("2. Threads write into memory that main owns");
    // ANCHOR: shared-heap
    let mut slots = vec![0_u32; threads]; // one buffer on the heap, owned by main
    thread::scope(|s| -> Result<()> {
        for (i, slot) in (1..).zip(slots.iter_mut()) {
            spawned(thread::Builder::new().spawn_scoped(s, move || {
                *slot = 100 * i; // writes straight into main's vector
                GLOBAL_WRITES.fetch_add(1, Ordering::Relaxed); // and into a global
            }))?;
        }
        Ok(())
    })?; // the scope waits for every thread it started
    let global = GLOBAL_WRITES.load(Ordering::Relaxed);
    println!("   main sees its vector as {slots:?} and the global at {global}");
    // ANCHOR_END: shared-heap

    let expected: Vec<u32> = (1..).take(threads).map(|i| 100 * i).collect();
    ensure!(
        slots == expected,
        "main saw {slots:?}, expected {expected:?}"
    );
    ensure!(
        global == threads,
        "the global is {global}, expected {threads}"
    );
    println!(
        "   Each of the {threads} threads wrote its own slot and bumped the global: main"
    );
    println!("   sees every write, because there is only one copy of this memory.");
    Ok(())
}

#[cfg(target_os = "linux")]
/// Where one thread found its local variable and the shared heap value.
struct Report {
    line: String,
    local: usize,
    heap: usize,
}

#[cfg(target_os = "linux")]
impl Report {
    fn new(who: &str, local: &usize, heap: &u64) -> Report {
        Report {
            line: format!(
                "{who:<9} tid {}: local at {local:p}, heap value at {heap:p}",
                gettid()
            ),
            local: std::ptr::from_ref(local).addr(),
            heap: std::ptr::from_ref(heap).addr(),
        }
    }
}

#[cfg(target_os = "linux")]
fn own_stacks(threads: usize) -> Result<()> {
    println!();
    println!("3. One stack per thread, one heap for all");
    // ANCHOR: own-stacks
    let heap_value = Box::new(7_u64); // one value on the heap
    // Nothing is ever sent on `gate`: threads wait until `open_gate` is dropped.
    let (open_gate, gate) = channel::bounded::<()>(0);
    let joined = crossbeam::scope(|s| -> Result<Vec<_>> {
        let mut handles = Vec::new();
        for n in 1..=threads {
            let (gate, heap_value) = (gate.clone(), &heap_value);
            handles.push(spawned(s.builder().spawn(move |_| {
                let local = n; // a local variable: it lives on this thread's stack
                let report = Report::new(&format!("thread {n}"), &local, heap_value);
                let _ = gate.recv(); // stay alive until every thread has started
                report
            }))?);
        }
        drop(open_gate); // now all of them exist at once: let them finish
        Ok(handles.into_iter().map(|handle| handle.join()).collect())
    });
    let local = 0_usize; // main's local lives on the main thread's stack
    let mut reports = vec![Report::new("main", &local, &heap_value)];
    // ANCHOR_END: own-stacks
    for report in joined.map_err(panicked)?? {
        reports.push(report.map_err(panicked)?);
    }
    for report in &reports {
        println!("   {}", report.line);
    }

    let stacks: HashSet<usize> = reports.iter().map(|r| r.local).collect();
    let heaps: HashSet<usize> = reports.iter().map(|r| r.heap).collect();
    ensure!(
        stacks.len() == reports.len(),
        "two threads share a stack address"
    );
    ensure!(
        heaps.len() == 1,
        "the heap value has {} addresses",
        heaps.len()
    );
    let n = reports.len();
    println!(
        "   each thread's local variable is at a different address ({n} stacks): yes"
    );
    println!("   the heap value is at the same address in all {n} threads: yes");
    Ok(())
}

#[cfg(target_os = "linux")]
fn channel_messages() -> Result<()> {
    println!();
    println!("4. Messages between threads over crossbeam channels");
    // ANCHOR: channel
    let (to_worker, worker_inbox) = channel::unbounded::<Vec<u32>>();
    let (to_main, main_inbox) = channel::unbounded::<Vec<u32>>();
    let allocated_at = crossbeam::scope(|s| -> Result<usize> {
        let producer = spawned(s.builder().spawn(move |_| {
            let numbers = vec![1, 2, 3]; // allocated on the heap by this thread
            let address = numbers.as_ptr().addr();
            let _ = to_worker.send(numbers); // hands the vector over to the worker
            address
        }))?;
        spawned(s.builder().spawn(move |_| {
            // Runs until the producer hangs up (drops its sender).
            for mut numbers in worker_inbox {
                numbers.iter_mut().for_each(|n| *n *= 10);
                let _ = to_main.send(numbers); // and on to main
            }
        }))?;
        producer.join().map_err(panicked)
    })
    .map_err(panicked)??;
    let received = main_inbox.recv().context("the worker sent nothing")?;
    // ANCHOR_END: channel
    let arrived_at = received.as_ptr();
    println!("   producer thread: sent [1, 2, 3], allocated at {allocated_at:#x}");
    println!(
        "   worker thread:   multiplied each number by 10 and passed the vector on"
    );
    println!(
        "   main thread:     received {received:?}, in the buffer at {arrived_at:p}"
    );

    ensure!(received == [10, 20, 30], "main received {received:?}");
    ensure!(
        arrived_at.addr() == allocated_at,
        "the vector arrived in a different buffer"
    );
    println!("   the vector arrived in the buffer it was allocated in: yes");
    println!(
        "   Sending moved the vector (pointer, length, capacity) from thread to thread; the"
    );
    println!("   numbers themselves were never copied.");
    Ok(())
}

#[cfg(target_os = "linux")]
fn shared_descriptors() -> Result<()> {
    println!();
    println!("5. Threads share one table of open files");
    let (to_b, from_a) = channel::bounded(0);
    let (b_is_done, wait_for_b) = channel::bounded(0);
    let (read_by_b, read_again_by_a) = thread::scope(|s| -> Result<_> {
        let a = spawned(
            thread::Builder::new().spawn_scoped(s, || thread_a(to_b, wait_for_b)),
        )?;
        let b = spawned(
            thread::Builder::new().spawn_scoped(s, || thread_b(from_a, b_is_done)),
        )?;
        let read_by_b = b.join().map_err(panicked)??;
        Ok((read_by_b, a.join().map_err(panicked)??))
    })?;

    ensure!(read_by_b == "hello", "thread B read {read_by_b:?}");
    ensure!(
        read_again_by_a == Err(Errno::EBADF),
        "thread A could still read the descriptor thread B closed"
    );
    println!(
        "   The number meant the same pipe in both threads, and thread B's close closed it"
    );
    println!(
        "   for thread A too: the threads of a process share one descriptor table."
    );
    Ok(())
}

// ANCHOR: shared-fds
/// Thread A opens a pipe and hands thread B nothing but the number of its read end. Once B has
/// closed it, A tries to read from that number again.
#[cfg(target_os = "linux")]
fn thread_a(
    to_b: Sender<RawFd>,
    wait_for_b: Receiver<()>,
) -> Result<nix::Result<String>> {
    let (reader, mut writer) = io::pipe().context("pipe()")?;
    writer.write_all(b"hello").context("write()")?;
    drop(writer);
    let fd = reader.into_raw_fd(); // from here on, just a number
    println!("   thread A: put \"hello\" in a pipe whose read end is descriptor {fd}");
    to_b.send(fd)?;
    wait_for_b.recv()?; // thread B has read from it and closed it
    let again = read_descriptor(fd);
    println!(
        "   thread A: reads descriptor {fd} again: {}",
        outcome(&again)
    );
    Ok(again)
}

/// Thread B turns the number back into a file, reads it, and closes it.
#[cfg(target_os = "linux")]
fn thread_b(from_a: Receiver<RawFd>, b_is_done: Sender<()>) -> Result<String> {
    let fd = from_a.recv()?;
    // SAFETY: thread A gave up its ownership of `fd` (`into_raw_fd`) and sent us the number;
    // no other code uses or closes it, so it is ours to close.
    let mut pipe = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let mut text = String::new();
    pipe.read_to_string(&mut text).context("read()")?;
    drop(pipe); // close(fd)
    println!("   thread B: read {text:?} from descriptor {fd}, then closed it");
    b_is_done.send(())?;
    Ok(text)
}
// ANCHOR_END: shared-fds

/// Rounds of busy work for each thread in part 6: a fixed amount of work, not a fixed time.
#[cfg(target_os = "linux")]
const ROUNDS: u64 = 10_000_000;

#[cfg(target_os = "linux")]
fn cpu_time_per_thread() -> Result<()> {
    println!();
    println!("6. The kernel hands out CPU time to threads, and counts it per thread");
    // ANCHOR: cpu-time
    let process_before = clock(ClockId::CLOCK_PROCESS_CPUTIME_ID)?;
    let started = Instant::now();
    let busy = thread::scope(|s| -> Result<Vec<(Pid, Duration)>> {
        let mut handles = Vec::new();
        for _ in 0..2 {
            handles.push(spawned(thread::Builder::new().spawn_scoped(s, busy_work))?);
        }
        handles
            .into_iter()
            .map(|h| h.join().map_err(panicked)?)
            .collect()
    })?;
    let process = clock(ClockId::CLOCK_PROCESS_CPUTIME_ID)? - process_before;
    let wall = started.elapsed();
    // ANCHOR_END: cpu-time
    for (tid, cpu) in &busy {
        println!(
            "   busy thread tid {tid}: {ROUNDS} rounds of work took {} of CPU time",
            ms(*cpu)
        );
    }
    let threads: Duration = busy.iter().map(|(_, cpu)| *cpu).sum();
    println!("   the two threads together: {} of CPU time", ms(threads));
    println!(
        "   the whole process, meanwhile: {} of CPU time, {} of wall-clock time",
        ms(process),
        ms(wall)
    );

    ensure!(
        busy.iter().all(|(_, cpu)| !cpu.is_zero()),
        "a busy thread used no CPU time"
    );
    ensure!(
        process >= threads,
        "the process used {process:?} of CPU time, less than its threads' {threads:?}"
    );
    println!("   the process's CPU time is at least the sum of its threads': yes");
    println!();
    Ok(())
}

// ANCHOR: busy-work
/// Runs on its own thread: a fixed amount of work, then this thread's own CPU time so far.
#[cfg(target_os = "linux")]
fn busy_work() -> Result<(Pid, Duration)> {
    let mut x: u64 = 1;
    for _ in 0..ROUNDS {
        x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
    }
    Ok((gettid(), clock(ClockId::CLOCK_THREAD_CPUTIME_ID)?))
}
// ANCHOR_END: busy-work

/// Reads a clock: `CLOCK_THREAD_CPUTIME_ID` is the calling thread's CPU time,
/// `CLOCK_PROCESS_CPUTIME_ID` the sum over all threads of the process, past and present.
#[cfg(target_os = "linux")]
fn clock(id: ClockId) -> Result<Duration> {
    let now = clock_gettime(id).with_context(|| format!("clock_gettime({id})"))?;
    Ok(Duration::from(now))
}

/// A duration in milliseconds with one decimal, e.g. `52.3 ms`.
#[cfg(target_os = "linux")]
fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

#[cfg(target_os = "linux")]
/// A failed spawn as one clear line, e.g. `pthread_create(): EAGAIN: Resource temporarily
/// unavailable` when the process may not have more threads.
fn spawned<T>(result: io::Result<T>) -> Result<T> {
    result
        .map_err(|err| match err.raw_os_error() {
            Some(errno) => anyhow::Error::new(Errno::from_raw(errno)),
            None => anyhow::Error::new(err),
        })
        .context("pthread_create()")
}

#[cfg(target_os = "linux")]
/// `join` returns `Err` with the panic's payload when the thread panicked.
fn panicked(_payload: Box<dyn Any + Send>) -> anyhow::Error {
    anyhow!("a thread panicked")
}
