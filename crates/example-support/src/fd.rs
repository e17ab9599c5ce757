//! Reading a file descriptor by its bare number, for the examples that show what happens to a
//! number after the file behind it was closed (in this thread, another thread, or a child).

use std::os::fd::RawFd;

use nix::errno::Errno;

/// Reads up to 16 bytes from descriptor number `fd`, which may be closed already: then the
/// kernel answers `EBADF`. Rust's file types never hold a closed descriptor, so this goes to
/// libc. Real code must not: once a descriptor is closed, the next file any thread opens may
/// get its number. The examples open nothing in between.
pub fn read_descriptor(fd: RawFd) -> nix::Result<String> {
    let mut bytes = [0_u8; 16];
    // SAFETY: `bytes` is valid for writes of its whole length. `fd` is only a number: if no file
    // is open under it, the kernel returns EBADF and touches nothing.
    let len = unsafe { nix::libc::read(fd, bytes.as_mut_ptr().cast(), bytes.len()) };
    let len = usize::try_from(Errno::result(len)?).unwrap_or(0);
    Ok(String::from_utf8_lossy(&bytes[..len]).into_owned())
}

/// What a read came to, in words: `read "hello"` or `refused with EBADF: …`.
pub fn outcome(read: &nix::Result<String>) -> String {
    match read {
        Ok(text) => format!("read {text:?}"),
        Err(errno) => format!("refused with {}", crate::errno_text(*errno)),
    }
}
