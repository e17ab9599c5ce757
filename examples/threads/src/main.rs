//! Threads of one process share its memory, yet each thread has a stack of its own.
//!
//! 1. A spawned thread reports the same pid as the main thread but a different thread id.
//! 2. Threads write into a vector owned by `main` and into a global: `main` sees every write.
//! 3. A local variable has a different address in every thread (one stack each); a value on the
//!    heap has one address, the same for all of them.
//! 4. Threads pass a vector along crossbeam channels: it arrives in the very buffer it was
//!    allocated in, because moving it between threads copies nothing but a pointer.
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
    crossbeam::channel,
    example_support::Hygiene,
    nix::errno::Errno,
    nix::unistd::{Pid, getpid, gettid},
    std::any::Any,
    std::collections::HashSet,
    std::io,
    std::sync::atomic::{AtomicUsize, Ordering},
    std::thread,
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
    println!("   Same pid: both threads belong to one process. Different tids: two threads,");
    println!("   each scheduled on its own. The main thread's tid equals the pid: on Linux a");
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
    println!("   Each of the {threads} threads wrote its own slot and bumped the global: main");
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
    println!(
        "   {} different addresses for the locals (one stack per thread), one address for",
        stacks.len()
    );
    println!("   the heap value (one heap for the whole process).");
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
    println!("   worker thread:   multiplied each number by 10 and passed the vector on");
    println!("   main thread:     received {received:?}, in the buffer at {arrived_at:p}");

    ensure!(received == [10, 20, 30], "main received {received:?}");
    ensure!(
        arrived_at.addr() == allocated_at,
        "the vector arrived in a different buffer"
    );
    println!("   Same buffer: sending moved the vector (pointer, length, capacity) from thread");
    println!("   to thread; the numbers themselves were never copied.");
    println!();
    Ok(())
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
