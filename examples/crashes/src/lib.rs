//! What the `crashes` programs share: a real crash, with no core dump left behind.

/// The null address. Nothing is ever mapped at the bottom of an address space (Linux
/// refuses to map below `/proc/sys/vm/mmap_min_addr`), so a write there always faults.
pub const NULL: *mut u64 = std::ptr::null_mut();

/// The exit code of a doomed process that, against expectations, did not crash.
pub const DID_NOT_CRASH: i32 = 70;

#[derive(Clone, Copy)]
pub enum Crash {
    Segfault,
    Abort,
}

// ANCHOR: crash
/// Crashes the calling process for real (never returns).
pub fn crash(how: Crash) -> ! {
    forbid_core_dump();
    match how {
        Crash::Segfault => {
            // SAFETY: deliberately NOT sound. `write_volatile` may touch memory
            // outside any Rust allocation, even address 0, but only if the access
            // does not trap; this one traps by design: the CPU faults and the kernel
            // kills the process with SIGSEGV. Only a process that exists to crash
            // calls this.
            unsafe { NULL.write_volatile(1) };
        }
        Crash::Abort => std::process::abort(), // raises SIGABRT
    }
    std::process::exit(DID_NOT_CRASH)
}
// ANCHOR_END: crash

// ANCHOR: no-core
/// A crashing process may leave a core dump, an image of its memory for a debugger.
/// Where `/proc/sys/kernel/core_pattern` is `core`, the kernel writes a file named
/// `core` into the current directory; a core size limit (RLIMIT_CORE) of 0 stops it.
/// When core_pattern hands dumps to a program (`|/usr/lib/systemd/systemd-coredump …`),
/// the kernel leaves that limit to the program, so the process also makes itself
/// non-dumpable, which stops every kind of dump.
fn forbid_core_dump() {
    use nix::sys::resource::{Resource, setrlimit};
    if setrlimit(Resource::RLIMIT_CORE, 0, 0).is_err()
        || nix::sys::prctl::set_dumpable(false).is_err()
    {
        // Better not to crash at all than to leave a dump behind.
        std::process::exit(DID_NOT_CRASH);
    }
}
// ANCHOR_END: no-core
