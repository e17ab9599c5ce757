//! `cargo run -p sockets`: a parent and a child talk over a Unix-domain socket pair.
//!
//! `socketpair` makes two connected sockets at once, with no name in the filesystem.
//! The child inherits both across `fork`, each side closes the end it does not use, and
//! the two exchange requests and replies over the one two-way connection. The crate's
//! other story, `--bin socket-boundaries`, shows what SOCK_SEQPACKET and SOCK_STREAM do
//! with the boundaries between messages.

use std::os::fd::{AsRawFd, OwnedFd};
use std::process::ExitCode;

use anyhow::{Context, Result, ensure};
use clap::Parser;
use example_support::child::{Child, in_child};
use nix::sys::socket::AddressFamily::Unix;
use nix::sys::socket::SockType::SeqPacket;
use nix::sys::socket::{MsgFlags, SockFlag, recv, send, socketpair};
use nix::unistd::{ForkResult, fork, getpid};

/// A parent and a child exchange requests and replies over a Unix socket pair.
#[derive(Parser)]
struct Args {
    /// How many requests the parent sends before it hangs up.
    #[arg(long, default_value_t = 3)]
    #[arg(value_parser = clap::value_parser!(u32).range(1..=9))]
    requests: u32,
}

fn main() -> ExitCode {
    example_support::main!(run)
}

/// One `send` of `text`: one message on a SOCK_SEQPACKET socket.
fn transmit(socket: &OwnedFd, text: &str) -> Result<()> {
    send(socket.as_raw_fd(), text.as_bytes(), MsgFlags::empty()).context("send()")?;
    Ok(())
}

/// One `recv` of up to 64 bytes, as text. Empty means end of stream.
fn receive(socket: &OwnedFd) -> Result<String> {
    let mut buf = [0u8; 64];
    let n = recv(socket.as_raw_fd(), &mut buf, MsgFlags::empty()).context("recv()")?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

// ANCHOR: request-response
fn run(Args { requests }: Args) -> Result<()> {
    let (parent_end, child_end) =
        socketpair(Unix, SeqPacket, None, SockFlag::empty()).context("socketpair()")?;
    let what = what_is(&parent_end)?; // what /proc says the descriptor is
    println!(
        "socketpair() gave two connected ends, e.g. {what}: no path, nothing to delete"
    );

    // SAFETY: this process has one thread, so the child may run ordinary Rust code.
    let pid = match unsafe { fork() }.context("fork()")? {
        ForkResult::Child => in_child("sockets", "child", || {
            drop(parent_end); // each process keeps only its own end
            loop {
                let request = receive(&child_end)?;
                if request.is_empty() {
                    println!("child: recv() returned 0 bytes (the parent hung up)");
                    return Ok(());
                }
                let reply = request.replace("ping", "pong");
                println!(
                    "child (pid {}) got {request:?}, replies {reply:?}",
                    getpid()
                );
                transmit(&child_end, &reply)?;
            }
        }),
        ForkResult::Parent { child } => child,
    };
    // ANCHOR_END: request-response
    // ANCHOR: parent-requests
    let child = Child::new(pid); // reaped on every way out, errors included
    drop(child_end);
    for i in 1..=requests {
        let request = format!("ping {i}");
        println!("parent (pid {}) sends {request:?}", getpid());
        transmit(&parent_end, &request)?;
        let reply = receive(&parent_end)?;
        println!("parent got {reply:?}");
        ensure!(reply == format!("pong {i}"), "expected \"pong {i}\"");
    }
    drop(parent_end); // the child's next recv() returns 0
    child.wait()?;
    println!("child pid {pid} exited with status 0 and was reaped");
    // ANCHOR_END: parent-requests
    println!("Every request got its reply, in turn, over one two-way connection.");
    Ok(())
}

/// The link /proc/self/fd/N: `socket:[INODE]` for a socket.
fn what_is(end: &OwnedFd) -> Result<String> {
    let fd = format!("/proc/self/fd/{}", end.as_raw_fd());
    let what = std::fs::read_link(&fd).with_context(|| format!("readlink {fd}"))?;
    Ok(what.display().to_string())
}
