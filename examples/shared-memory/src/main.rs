//! After `fork`, a child shares nothing writable with its parent unless the memory
//! was mapped with `MAP_SHARED` before the fork. The parent maps one `u32` with each
//! flag and stores 7 in it; a child forked afterwards reads 7 and stores 42; the
//! parent then reads 7 from the private mapping and 42 from the shared one.

use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::Relaxed;

use anyhow::{Context, Result, ensure};
use example_support::child::{Child, fork_child};
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
use nix::unistd::getpid;

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    println!("The parent stores 7 in a new mapping, forks, and the child stores 42:");
    let private = child_stores_42(MapFlags::MAP_PRIVATE, "MAP_PRIVATE:")?;
    let shared = child_stores_42(MapFlags::MAP_SHARED, "MAP_SHARED: ")?;
    ensure!(
        private == 7,
        "MAP_PRIVATE: the parent read {private}, not 7"
    );
    ensure!(shared == 42, "MAP_SHARED: the parent read {shared}, not 42");
    println!("The child's write reached the parent only through MAP_SHARED.");
    Ok(())
}

// ANCHOR: private-vs-shared
/// Maps one `u32` with `flags`, stores 7, forks a child that stores 42, and returns
/// what the parent reads afterwards.
fn child_stores_42(flags: MapFlags, kind: &str) -> Result<u32> {
    let len = NonZeroUsize::new(size_of::<AtomicU32>()).expect("not zero");
    let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    // SAFETY: the kernel picks the address, so the new mapping overlaps no Rust object.
    let page = unsafe { mmap_anonymous(None, len, prot, flags) }.context("mmap()")?;
    // SAFETY: a new anonymous mapping is zero-filled and page-aligned: a valid
    // AtomicU32. It stays mapped until the munmap below, after the last use of `value`.
    let value = unsafe { page.cast::<AtomicU32>().as_ref() };
    value.store(7, Relaxed); // the first write gives the mapping a physical page

    // SAFETY: the process is single-threaded, so the child may run ordinary Rust code.
    let child = unsafe {
        fork_child("shared-memory", "child", || {
            let before = value.load(Relaxed);
            value.store(42, Relaxed);
            println!(
                "  {kind} child  (pid {}) reads {before}, stores 42",
                getpid()
            );
            ensure!(before == 7, "the child read {before}, not the parent's 7");
            Ok(())
        })
    };
    // After waitpid the child has exited: its store is over, whatever it did.
    let seen = child.and_then(Child::wait).map(|()| value.load(Relaxed));
    // SAFETY: `value` is not used after this.
    unsafe { munmap(page, len.get()) }.context("munmap()")?;
    let seen = seen?;
    println!("  {kind} parent (pid {}) reads {seen}", getpid());
    Ok(seen)
}
// ANCHOR_END: private-vs-shared
