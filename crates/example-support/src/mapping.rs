//! One value alone in a new anonymous mapping, for the examples whose lesson is not `mmap`
//! itself (the shared-memory chapter shows the call on the page).

use std::num::NonZeroUsize;
use std::ptr::NonNull;

use anyhow::{Context, Result};
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};

/// Types for which all-zero bytes are a valid value, so that a fresh anonymous mapping holds
/// one: `bytemuck`'s trait, implemented for the atomics.
pub use bytemuck::Zeroable as Zeroed;

/// One `T` in a new anonymous mapping (zero-filled), unmapped on drop. With `MAP_SHARED`,
/// parent and children forked later all see the same memory; with `MAP_PRIVATE`, each process
/// gets its own copy of a page on its first write. Only shared references are handed out, so
/// `T` is shared through atomics.
pub struct Mapping<T: Zeroed> {
    ptr: NonNull<T>,
}

impl<T: Zeroed> Mapping<T> {
    /// `mmap(NULL, size_of::<T>(), PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0)`.
    pub fn new(flags: MapFlags) -> Result<Self> {
        let len = NonZeroUsize::new(size_of::<T>().max(1)).expect("not zero");
        let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
        // SAFETY: a new mapping at an address the kernel picks overlaps no existing Rust object.
        let ptr = unsafe { mmap_anonymous(None, len, prot, flags) }.context("mmap()")?;
        Ok(Mapping { ptr: ptr.cast() })
    }

    /// A mapping shared with the children forked after this call (`MAP_SHARED`).
    pub fn shared() -> Result<Self> {
        Self::new(MapFlags::MAP_SHARED)
    }
}

impl<T: Zeroed> std::ops::Deref for Mapping<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the mapping is page-aligned, zero-filled (a valid T, see Zeroed), mapped until
        // drop, and only shared references to it are ever handed out.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: Zeroed> Drop for Mapping<T> {
    fn drop(&mut self) {
        // SAFETY: the region was mapped by `new` with this size and nothing borrows it any more
        // (borrows of `self` have ended).
        let _ = unsafe { munmap(self.ptr.cast(), size_of::<T>().max(1)) };
    }
}

// SAFETY: the mapping is plain memory holding a T; sending or sharing the handle is sending or
// sharing the T.
unsafe impl<T: Zeroed + Send> Send for Mapping<T> {}
// SAFETY: as above; only `&T` is handed out.
unsafe impl<T: Zeroed + Sync> Sync for Mapping<T> {}
