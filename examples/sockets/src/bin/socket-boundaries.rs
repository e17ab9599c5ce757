//! `cargo run -p sockets --bin socket-boundaries`: a child sends "hello" and then
//! "world" and exits; only then does the parent read. Both sends wait in the socket
//! before the first `recv`, so what comes out shows whether the socket type keeps the
//! boundary between them: SOCK_SEQPACKET does, SOCK_STREAM does not.

use std::os::fd::AsRawFd;
use std::process::ExitCode;

use anyhow::{Context, Result, ensure};
use example_support::child::fork_child;
use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockType, recv, send, socketpair,
};

fn main() -> ExitCode {
    example_support::main!(run)
}

fn run() -> Result<()> {
    println!(
        "A child sends \"hello\" and then \"world\", and exits; then the parent reads:"
    );
    let packets = reads_after_two_sends(SockType::SeqPacket)?;
    println!("  SOCK_SEQPACKET: {}", shown(&packets));
    let stream = reads_after_two_sends(SockType::Stream)?;
    println!("  SOCK_STREAM:    {}", shown(&stream));

    ensure!(
        packets == ["hello", "world"],
        "SOCK_SEQPACKET reads: {packets:?}"
    );
    ensure!(stream == ["helloworld"], "SOCK_STREAM reads: {stream:?}");
    println!(
        "SOCK_SEQPACKET kept the two messages apart; SOCK_STREAM ran them together."
    );
    Ok(())
}

// ANCHOR: boundaries
fn reads_after_two_sends(kind: SockType) -> Result<Vec<String>> {
    let (reader, writer) =
        socketpair(AddressFamily::Unix, kind, None, SockFlag::empty())
            .context("socketpair()")?;
    // SAFETY: this process has one thread, so the child may run ordinary Rust code.
    let child = unsafe {
        fork_child("socket-boundaries", "child", move || {
            for word in ["hello", "world"] {
                send(writer.as_raw_fd(), word.as_bytes(), MsgFlags::empty())
                    .context("send()")?;
            }
            Ok(()) // exiting closes the child's `writer`
        })
    }?;
    // The parent's copy of `writer` was moved into the closure and closed with it.
    child.wait()?; // both sends are done: nothing races the reads below
    let mut reads = Vec::new();
    loop {
        let mut buf = [0u8; 64];
        let n =
            recv(reader.as_raw_fd(), &mut buf, MsgFlags::empty()).context("recv()")?;
        if n == 0 {
            return Ok(reads); // end of stream: no write end is open any more
        }
        reads.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
}
// ANCHOR_END: boundaries

/// `recv #1 → "hello", recv #2 → 0 bytes (end of stream)`.
fn shown(reads: &[String]) -> String {
    let mut results: Vec<String> = reads.iter().map(|r| format!("{r:?}")).collect();
    results.push("0 bytes (end of stream)".into());
    let numbered: Vec<String> = results
        .iter()
        .enumerate()
        .map(|(i, result)| format!("recv #{} → {result}", i + 1))
        .collect();
    numbered.join(", ")
}
