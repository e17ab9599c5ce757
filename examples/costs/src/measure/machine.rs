//! What machine this is: CPU, kernel, load, mitigations, from /proc and /sys.

use std::collections::BTreeMap;
use std::fs;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use costs::{AddressSpaceSwitch, Cache, Machine};

use super::sys::Cpus;

/// The one-minute load average (first field of /proc/loadavg).
pub fn load_average() -> Result<f64> {
    let text = fs::read_to_string("/proc/loadavg").context("reading /proc/loadavg")?;
    text.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .context("unreadable /proc/loadavg")
}

pub fn describe(cpus: &Cpus) -> Result<Machine> {
    let cpuinfo =
        fs::read_to_string("/proc/cpuinfo").context("reading /proc/cpuinfo")?;
    let field = |key: &str| {
        cpuinfo.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    let cpu_model = field("model name")
        .or_else(|| field("Model"))
        .unwrap_or_else(|| "unknown CPU".to_string());
    let has_flag = |flag: &str| {
        field("flags").map(|flags| flags.split_whitespace().any(|w| w == flag))
    };
    let virtual_machine = has_flag("hypervisor").unwrap_or(false);
    let logical_cpus = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count()
        .max(1);
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .context("reading /proc/sys/kernel/osrelease")?
        .trim()
        .to_string();
    let transparent_hugepages =
        fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .ok()
            .and_then(|t| {
                let start = t.find('[')?;
                let end = t[start..].find(']')?;
                Some(t[start + 1..start + end].to_string())
            })
            .unwrap_or_else(|| "unknown".to_string());
    Ok(Machine {
        cpu_model,
        logical_cpus,
        allowed_cpus: cpus.allowed_list(),
        pinned_cpu: cpus.pinned_cpu(),
        virtual_machine,
        kernel,
        transparent_hugepages,
        load_before: load_average()?,
        load_after: 0.0,
        date_utc: utc_now(),
        address_space_switch: Some(AddressSpaceSwitch {
            pcid: has_flag("pcid"),
            vulnerabilities: vulnerabilities()?,
        }),
        caches: Some(caches(cpus.pinned_cpu())),
    })
}

/// The caches of `cpu`, from /sys/devices/system/cpu/cpuN/cache/index*/ (level, type,
/// size such as `32K`); empty where sysfs does not describe them.
fn caches(cpu: usize) -> Vec<Cache> {
    let dir = format!("/sys/devices/system/cpu/cpu{cpu}/cache");
    let mut found = Vec::new();
    for index in 0.. {
        let read = |name: &str| {
            fs::read_to_string(format!("{dir}/index{index}/{name}"))
                .map(|t| t.trim().to_string())
        };
        let (Ok(level), Ok(kind), Ok(size)) =
            (read("level"), read("type"), read("size"))
        else {
            break;
        };
        let size_kib = match size.strip_suffix('K') {
            Some(k) => k.parse().ok(),
            None => size
                .strip_suffix('M')
                .and_then(|m| m.parse::<u64>().ok())
                .map(|m| m * 1024),
        };
        if let (Ok(level), Some(size_kib)) = (level.parse(), size_kib) {
            found.push(Cache {
                level,
                kind,
                size_kib,
            });
        }
    }
    found
}

/// Each file of /sys/devices/system/cpu/vulnerabilities and its line: how the kernel
/// mitigates each CPU flaw (`spectre_v2` says whether it issues IBPB between processes,
/// `meltdown` whether it isolates its page tables). Empty where the directory is
/// missing.
fn vulnerabilities() -> Result<BTreeMap<String, String>> {
    let dir = "/sys/devices/system/cpu/vulnerabilities";
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(BTreeMap::new());
    };
    let mut found = BTreeMap::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {dir}"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let state = fs::read_to_string(entry.path())
            .with_context(|| format!("reading {dir}/{name}"))?;
        found.insert(name, state.trim().to_string());
    }
    Ok(found)
}

/// `YYYY-MM-DD HH:MM UTC` for now (days to civil date: Howard Hinnant's algorithm).
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}
