//! CPU time of a process under test, read from `/proc`.
//!
//! This module owns turning `/proc/PID/stat` into CPU seconds: user + system
//! time of the process and of every live descendant (nginx's workers are
//! children of its master; credgate is one process with threads, which
//! `/proc/PID/stat` already sums). The harness samples before and after the
//! measured window and reports the difference.

use std::collections::HashMap;
use std::fs;

use thiserror::Error;

/// Clock ticks per second of `/proc` times (`USER_HZ`). Linux exports these
/// times in `USER_HZ`, which is 100 on every mainstream architecture
/// (`getconf CLK_TCK`).
const TICKS_PER_SECOND: f64 = 100.0;

/// Why CPU time could not be read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProcStatError {
    /// `/proc/PID/stat` could not be read (no such process, or not Linux).
    #[error("cannot read `/proc/{pid}/stat`: {source}")]
    Read {
        /// The process id.
        pid: u32,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file did not have the expected layout.
    #[error("unexpected layout of `/proc/{pid}/stat`")]
    Layout {
        /// The process id.
        pid: u32,
    },
}

/// The fields of one `/proc/PID/stat` line the harness uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatLine {
    /// Parent process id (field 4).
    pub ppid: u32,
    /// User-mode ticks (field 14).
    pub utime: u64,
    /// Kernel-mode ticks (field 15).
    pub stime: u64,
}

/// Parse one `/proc/PID/stat` line. The command name (field 2) is in
/// parentheses and may itself hold spaces and parentheses, so fields are
/// counted from the last `)`.
pub fn parse_stat(line: &str) -> Option<StatLine> {
    let close = line.rfind(')')?;
    let rest = line.get(close + 1..)?;
    // After ')' come fields 3 (state), 4 (ppid), ... so field n is at n - 3.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).copied();
    Some(StatLine {
        ppid: field(4)?.parse().ok()?,
        utime: field(14)?.parse().ok()?,
        stime: field(15)?.parse().ok()?,
    })
}

/// CPU seconds (user + system) used so far by `pid` alone.
pub fn process_cpu_seconds(pid: u32) -> Result<f64, ProcStatError> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|source| ProcStatError::Read { pid, source })?;
    let stat = parse_stat(&text).ok_or(ProcStatError::Layout { pid })?;
    Ok((stat.utime + stat.stime) as f64 / TICKS_PER_SECOND)
}

/// CPU seconds used so far by `pid` and all its live descendants.
pub fn tree_cpu_seconds(pid: u32) -> Result<f64, ProcStatError> {
    let root = process_cpu_seconds(pid)?;
    let mut table = Vec::new();
    if let Ok(dir) = fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(other) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if other == pid {
                continue;
            }
            // A process may exit between listing and reading: skip it.
            if let Ok(text) = fs::read_to_string(format!("/proc/{other}/stat")) {
                if let Some(stat) = parse_stat(&text) {
                    table.push((other, stat));
                }
            }
        }
    }
    Ok(root + descendants_ticks(pid, &table) as f64 / TICKS_PER_SECOND)
}

/// Busy CPU seconds of the whole machine so far (every core): the first
/// line of `/proc/stat` minus idle and iowait. Compared with the processes
/// under test, it shows load from anything else on the machine.
pub fn machine_busy_seconds() -> Option<f64> {
    let text = fs::read_to_string("/proc/stat").ok()?;
    parse_machine_busy(text.lines().next()?).map(|ticks| ticks as f64 / TICKS_PER_SECOND)
}

/// Busy ticks from the `cpu ` line of `/proc/stat`: user, nice, system, irq,
/// softirq and steal (idle and iowait excluded; guest time is already in user).
pub fn parse_machine_busy(line: &str) -> Option<u64> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = fields.map(|f| f.parse().ok()).collect::<Option<_>>()?;
    let at = |i: usize| v.get(i).copied();
    // user nice system idle iowait irq softirq steal ...
    Some(at(0)? + at(1)? + at(2)? + at(5)? + at(6)? + at(7).unwrap_or(0))
}

/// Sum of `utime + stime` over every process in `table` that descends from
/// `root` (not counting `root` itself).
pub fn descendants_ticks(root: u32, table: &[(u32, StatLine)]) -> u64 {
    let mut children: HashMap<u32, Vec<(u32, u64)>> = HashMap::new();
    for (pid, stat) in table {
        children
            .entry(stat.ppid)
            .or_default()
            .push((*pid, stat.utime + stat.stime));
    }
    let mut total = 0;
    let mut stack = vec![root];
    let mut visited = 0usize;
    while let Some(parent) = stack.pop() {
        visited += 1;
        if visited > table.len() + 1 {
            break; // a cycle cannot happen in /proc, but never loop forever
        }
        if let Some(kids) = children.get(&parent) {
            for (kid, ticks) in kids {
                total += ticks;
                stack.push(*kid);
            }
        }
    }
    total
}

#[cfg(test)]
mod tests;
