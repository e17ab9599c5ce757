//! Unix-domain sockets between a parent and a child.
//!
//! `socketpair` makes two connected sockets at once, with no name in the filesystem: the child
//! inherits both across `fork`, each side closes the end it does not use, and the two talk.
//! `SOCK_SEQPACKET` keeps every `send` a separate message; `SOCK_STREAM` is a byte stream in
//! which two sends can come out of one read.
//!
//! Linux only (`SOCK_SEQPACKET` on Unix sockets, `/proc`); elsewhere it says so and exits 1.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

use std::process::ExitCode;

use anyhow::{Context, Result, ensure};
use clap::Parser;

/// A parent and a child talk over a Unix socket pair: requests and replies, then message
/// boundaries (SOCK_SEQPACKET) against a byte stream (SOCK_STREAM).
#[derive(Parser)]
struct Args {
    /// How many requests the parent sends before it hangs up.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=9))]
    requests: u32,
}

#[cfg(not(target_os = "linux"))]
fn main() -> ExitCode {
    eprintln!("sockets: this example needs Linux");
    ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
fn main() -> ExitCode {
    example_support::main("sockets", run)
}

#[cfg(target_os = "linux")]
fn run() -> Result<()> {
    let args = Args::parse();
    let hygiene = example_support::Hygiene::start()?;

    println!("Requests and replies over a SOCK_SEQPACKET socket pair:");
    let replies = request_response(args.requests)?;

    println!(
        "The child sends \"hello\" and then \"world\", and exits; then the parent reads:"
    );
    let packets = reads_after_two_sends(SockType::SeqPacket, "SOCK_SEQPACKET:")?;
    let stream = reads_after_two_sends(SockType::Stream, "SOCK_STREAM:   ")?;

    let expected: Vec<String> =
        (1..=args.requests).map(|i| format!("pong {i}")).collect();
    ensure!(
        replies == expected,
        "replies {replies:?}, expected {expected:?}"
    );
    ensure!(
        packets == ["hello", "world"],
        "SOCK_SEQPACKET reads were {packets:?}"
    );
    ensure!(
        stream == ["helloworld"],
        "SOCK_STREAM reads were {stream:?}"
    );
    println!(
        "Checks passed: every request got its reply, SOCK_SEQPACKET kept the two messages apart, \
         SOCK_STREAM ran them together."
    );
    hygiene.check()
}

// ANCHOR: request-response
/// The parent sends `ping 1`, `ping 2`, … and waits for each reply; the child answers each with
/// `pong N`, until it reads end-of-stream because the parent closed its end.
#[cfg(target_os = "linux")]
fn request_response(requests: u32) -> Result<Vec<String>> {
    let (parent_end, child_end) = pair(SockType::SeqPacket)?;
    let what = what_is(&parent_end)?;
    println!(
        "  socketpair() gave two connected ends, e.g. {what}: no path, nothing to delete"
    );
    // SAFETY: the process is single-threaded here, so the child may run ordinary Rust code.
    match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => in_child("sockets", "child", || {
            drop(parent_end); // each process keeps only its own end
            loop {
                let request = receive(&child_end)?;
                if request.is_empty() {
                    println!(
                        "  child: recv() returned 0 bytes (the parent hung up); exiting"
                    );
                    return Ok(());
                }
                let reply = request.replace("ping", "pong");
                println!(
                    "  child (pid {}) got {request:?}, replies {reply:?}",
                    getpid()
                );
                send(child_end.as_raw_fd(), reply.as_bytes(), MsgFlags::empty())
                    .context("send()")?;
            }
        }),
        ForkResult::Parent { child } => {
            let child = Child::new(child);
            drop(child_end);
            let mut replies = Vec::new();
            for i in 1..=requests {
                let request = format!("ping {i}");
                println!("  parent (pid {}) sends {request:?}", getpid());
                send(
                    parent_end.as_raw_fd(),
                    request.as_bytes(),
                    MsgFlags::empty(),
                )
                .context("send()")?;
                let reply = receive(&parent_end)?;
                println!("  parent got {reply:?}");
                replies.push(reply);
            }
            drop(parent_end); // the child's next recv() returns 0
            child.wait()?;
            println!("  child exited with status 0 and was reaped");
            Ok(replies)
        }
    }
}
// ANCHOR_END: request-response

// ANCHOR: boundaries
/// A child sends "hello" and "world" and exits. Only then does the parent read, until
/// end-of-stream, so both sends are queued before the first read: what comes out shows where
/// the socket type keeps (or drops) the boundary between them.
#[cfg(target_os = "linux")]
fn reads_after_two_sends(kind: SockType, label: &str) -> Result<Vec<String>> {
    let (reader, writer) = pair(kind)?;
    // SAFETY: the process is single-threaded here, so the child may run ordinary Rust code.
    match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => in_child("sockets", "child", || {
            drop(reader);
            for word in ["hello", "world"] {
                send(writer.as_raw_fd(), word.as_bytes(), MsgFlags::empty())
                    .context("send()")?;
            }
            Ok(()) // exiting closes `writer`: the parent will read end-of-stream after the data
        }),
        ForkResult::Parent { child } => {
            drop(writer);
            Child::new(child).wait()?; // both sends are done: nothing races the reads below
            let mut reads = Vec::new();
            loop {
                let text = receive(&reader)?;
                if text.is_empty() {
                    break;
                }
                reads.push(text);
            }
            let mut shown: Vec<String> =
                reads.iter().map(|r| format!("{r:?}")).collect();
            shown.push("0 bytes (end of stream)".into());
            let shown: Vec<String> = shown
                .iter()
                .enumerate()
                .map(|(i, s)| format!("recv #{} → {s}", i + 1))
                .collect();
            println!("  {label} {}", shown.join(", "));
            Ok(reads)
        }
    }
}
// ANCHOR_END: boundaries

// ---------------------------------------------------------------------------------------------
// Plumbing.

#[cfg(target_os = "linux")]
use std::os::fd::{AsRawFd, OwnedFd};

#[cfg(target_os = "linux")]
use example_support::child::{Child, in_child};
#[cfg(target_os = "linux")]
use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockType, recv, send, socketpair,
};
#[cfg(target_os = "linux")]
use nix::unistd::{ForkResult, fork, getpid};

/// Two connected Unix-domain sockets of type `kind`, closed on exec (there is none here).
#[cfg(target_os = "linux")]
fn pair(kind: SockType) -> Result<(OwnedFd, OwnedFd)> {
    socketpair(AddressFamily::Unix, kind, None, SockFlag::SOCK_CLOEXEC)
        .context("socketpair()")
}

/// One `recv` of up to 64 bytes, as text. Empty means end-of-stream.
#[cfg(target_os = "linux")]
fn receive(socket: &OwnedFd) -> Result<String> {
    let mut buf = [0u8; 64];
    let n = recv(socket.as_raw_fd(), &mut buf, MsgFlags::empty()).context("recv()")?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// What the kernel says the descriptor is: `socket:[inode]`, an object in its socket
/// filesystem, not a path anyone could open or would have to delete.
#[cfg(target_os = "linux")]
fn what_is(fd: &OwnedFd) -> Result<String> {
    let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let target =
        std::fs::read_link(&link).with_context(|| format!("readlink {link}"))?;
    Ok(target.display().to_string())
}
