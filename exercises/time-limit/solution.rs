//! A solution of the exercise `time-limit`: the supervisor asks whether the helper has
//! ended (`try_wait`, `waitpid` with `WNOHANG`) until its time is up, then kills and reaps
//! it.

use std::process::{Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

fn main() -> ExitCode {
    example_support::main!(run)
}

const HELPERS: [&[&str]; 3] = [&["true"], &["sleep", "infinity"], &["false"]];
const LIMIT: Duration = Duration::from_millis(200);

// ANCHOR: run
fn run() -> Result<()> {
    for helper in HELPERS {
        let name = helper.join(" ");
        let spawned = Command::new(helper[0]).args(&helper[1..]).spawn();
        let mut child = spawned.with_context(|| name.clone())?;
        // New: wait at most LIMIT, then kill (SIGKILL) and reap.
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(status) = child.try_wait().context("waitpid")? {
                println!("{name}: {status}");
                break;
            }
            if Instant::now() >= deadline {
                child.kill().context("kill")?;
                child.wait().context("wait")?;
                println!("{name}: killed after {LIMIT:?}");
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
    Ok(())
}
// ANCHOR_END: run
