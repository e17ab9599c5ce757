//! A solution of the exercise `fork-counter`: the counter is an atomic in a page that
//! parent and children share (`mmap` with `MAP_SHARED`).

use std::io::{self, Write as _};
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result};
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, fork};

fn main() -> ExitCode {
    example_support::main!(run)
}

// ANCHOR: run
fn run() -> Result<()> {
    // New: one page that fork shares instead of copying, holding an atomic counter.
    let size = NonZeroUsize::new(size_of::<AtomicU32>()).context("a size")?;
    let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    // SAFETY: a new anonymous mapping, which overlaps nothing; the kernel zeroes it.
    let page = unsafe { mmap_anonymous(None, size, rw, MapFlags::MAP_SHARED) }
        .context("mmap")?;
    // SAFETY: the page is aligned, zeroed (an AtomicU32 of 0), and mapped until munmap.
    let visits = unsafe { page.cast::<AtomicU32>().as_ref() };
    let mut children = Vec::new();
    for _ in 0..3 {
        io::stdout().flush()?;
        // SAFETY: one thread, so the child is a consistent copy of this process.
        match unsafe { fork() }.context("fork")? {
            ForkResult::Child => {
                visits.fetch_add(1, Ordering::Relaxed);
                println!("visit from pid {}", std::process::id());
                std::process::exit(0);
            }
            ForkResult::Parent { child } => children.push(child),
        }
    }
    for child in children {
        waitpid(child, None).context("waitpid")?;
    }
    println!("visits: {}", visits.load(Ordering::Relaxed));
    // SAFETY: `visits` is not used after this.
    unsafe { munmap(page, size.get()) }.context("munmap")
}
// ANCHOR_END: run
