//! Fidelity: our ping-pong next to `perf bench sched pipe`, our fork + wait next to
//! `stress-ng --fork`, run alternately on one pinned CPU with the same loop count.

use std::process::Command;

use anyhow::{Context, Result, bail};
use costs::{CrossCheck, Who, summarize};

use super::creation;
use super::roundtrip::pipe_pingpong;
use super::sys::Cpus;

/// Runs `program args…` in its own process group (stress-ng signals its group) and
/// returns stdout + stderr, or a one-line reason why it could not run.
pub fn run_tool(program: &str, args: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new(program);
    cmd.args(args);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let output = cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!("{program} is not installed")
        } else {
            format!("{program}: {e}")
        }
    })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() {
        let first = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        return Err(format!(
            "`{program} {}` failed ({}): {first}",
            args.join(" "),
            output.status
        ));
    }
    Ok(text)
}

/// µs per round trip from `perf bench sched pipe` output ("  5.52 usecs/op").
pub fn perf_usecs(text: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.contains("usecs/op"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
}

/// µs per fork from `stress-ng --metrics-brief`: from the fork line's
/// "bogo ops/s (real time)".
fn stress_ng_usecs(text: &str) -> Option<f64> {
    let line = text
        .lines()
        .find(|l| l.contains("metrc") && l.contains(" fork "))?;
    let fields: Vec<&str> = line.split(" fork ").nth(1)?.split_whitespace().collect();
    let ops_per_sec: f64 = fields.get(4)?.parse().ok()?;
    (ops_per_sec > 0.0).then(|| 1e6 / ops_per_sec)
}

pub struct Settings {
    pub loops: u64,
    pub rounds: u32,
    pub fork_ops: u64,
}

/// Runs every cross-check whose tool is installed; the strings say which were
/// skipped, and why.
pub fn run(
    cpus: &Cpus,
    settings: &Settings,
    mut step: impl FnMut(&str),
) -> Result<(Vec<CrossCheck>, Vec<String>)> {
    let mut checks = Vec::new();
    let mut skipped = Vec::new();
    let loops = settings.loops.to_string();
    // Both sides inherit this pin: perf's two workers and our two tasks share a CPU.
    let _pin = cpus.pin()?;

    // ANCHOR: perf
    match run_tool("perf", &["bench", "sched", "pipe", "-l", "10"]) {
        Err(why) => {
            skipped.push(format!("{why} (Debian: apt-get install linux-perf)"));
        }
        Ok(_) => {
            for (who, flag, what) in [
                (Who::Process, None, "pipe ping-pong, processes"),
                (Who::Thread, Some("-T"), "pipe ping-pong, threads"),
            ] {
                let mut args = vec!["bench", "sched", "pipe", "-l", &loops];
                args.extend(flag);
                let (mut ours, mut theirs) = (Vec::new(), Vec::new());
                for _ in 0..settings.rounds {
                    step(what);
                    ours.extend(pipe_pingpong(who, 1, settings.loops)?);
                    let text = run_tool("perf", &args).map_err(anyhow::Error::msg)?;
                    theirs.push(
                        perf_usecs(&text).context("no usecs/op in perf's output")?,
                    );
                }
                checks.push(cross_check(
                    what,
                    &format!("perf {}", args.join(" ")),
                    "perf",
                    settings,
                    ours,
                    theirs,
                ));
            }
        }
    }
    // ANCHOR_END: perf

    match run_tool("stress-ng", &["--version"]) {
        Err(why) => skipped.push(format!("{why} (Debian: apt-get install stress-ng)")),
        Ok(_) => {
            let ops = settings.fork_ops.to_string();
            let args = [
                "--fork",
                "1",
                "--fork-ops",
                &ops,
                "--metrics-brief",
                "--timeout",
                "300",
            ];
            let what = "fork + _exit + waitpid";
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for _ in 0..settings.rounds.min(3) {
                step(what);
                ours.push(creation::fork_wait(settings.fork_ops)?);
                let text = run_tool("stress-ng", &args).map_err(anyhow::Error::msg)?;
                theirs.push(
                    stress_ng_usecs(&text)
                        .context("no fork metrics in stress-ng's output")?,
                );
            }
            let mut check = cross_check(
                what,
                &format!("stress-ng {}", args[..5].join(" ")),
                "stress-ng",
                settings,
                ours,
                theirs,
            );
            check.loops = settings.fork_ops;
            checks.push(check);
        }
    }
    if checks.is_empty() && skipped.is_empty() {
        bail!("no cross-check ran");
    }
    Ok((checks, skipped))
}

fn cross_check(
    what: &str,
    tool: &str,
    tool_name: &str,
    settings: &Settings,
    ours: Vec<f64>,
    theirs: Vec<f64>,
) -> CrossCheck {
    let rounds = theirs.len() as u32;
    let (ours, _, _) = summarize(&ours);
    let (theirs, _, _) = summarize(&theirs);
    CrossCheck {
        what: what.to_string(),
        tool: tool.to_string(),
        tool_name: tool_name.to_string(),
        loops: settings.loops,
        rounds,
        ours,
        theirs,
        ratio: ours / theirs,
    }
}

/// How many steps [`run`] reports to the progress bar at most.
pub fn steps(settings: &Settings) -> u64 {
    2 * settings.rounds as u64 + settings.rounds.min(3) as u64
}

// Unit tests: `#[test]` functions are compiled only by `cargo test`.

#[test]
fn parses_perf_and_stress_ng() {
    let perf = concat!(
        "# Running 'sched/pipe' benchmark:\n\n     Total time: 0.133 [sec]\n\n",
        "       6.673350 usecs/op\n         149849 ops/sec\n",
    );
    assert_eq!(perf_usecs(perf), Some(6.673350));
    let stress = concat!(
        "stress-ng: metrc: [5428] fork               5000      2.03      0.97      ",
        "1.02      2500.00        2504.49\n",
    );
    assert_eq!(stress_ng_usecs(stress), Some(400.0));
}
