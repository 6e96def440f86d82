use super::*;

const NGINX_WORKER: &str = "4242 (nginx) S 4241 4241 4241 0 -1 4194624 1630 0 0 0 \
        250 75 0 0 20 0 1 0 12345 11111111 2222 18446744073709551615 1 1 0 0 0 0 0 \
        4096 0 0 0 0 17 1 0 0 0 0 0";

#[test]
fn parses_ppid_utime_stime() {
    let s = parse_stat(NGINX_WORKER).unwrap();
    assert_eq!(
        s,
        StatLine {
            ppid: 4241,
            utime: 250,
            stime: 75
        }
    );
}

#[test]
fn command_names_with_spaces_and_parens_do_not_shift_fields() {
    let line = "77 (tokio-rt (worker) 1) R 1 77 77 0 -1 0 0 0 0 0 9 3 0 0 20 0 3 0";
    let s = parse_stat(line).unwrap();
    assert_eq!(s.ppid, 1);
    assert_eq!(s.utime, 9);
    assert_eq!(s.stime, 3);
}

#[test]
fn truncated_lines_are_rejected() {
    assert_eq!(parse_stat("12 (x) S 1 2 3"), None);
    assert_eq!(parse_stat("no parens at all"), None);
    assert_eq!(parse_stat(""), None);
}

#[test]
fn machine_busy_excludes_idle_and_iowait() {
    let line = "cpu  1146048 7 110727 202573 2619 3 4250 4482 0 0";
    assert_eq!(
        parse_machine_busy(line),
        Some(1146048 + 7 + 110727 + 3 + 4250 + 4482)
    );
    assert_eq!(parse_machine_busy("cpu0 1 2 3 4 5 6 7 8"), None);
    assert_eq!(parse_machine_busy("cpu 1 2 x"), None);
    assert!(machine_busy_seconds().is_some());
}

#[test]
fn descendants_are_summed_through_grandchildren_only() {
    let stat = |ppid, utime, stime| StatLine { ppid, utime, stime };
    let table = vec![
        (11, stat(10, 5, 1)),   // child of 10
        (12, stat(10, 7, 0)),   // child of 10
        (13, stat(12, 100, 0)), // grandchild of 10
        (20, stat(1, 999, 9)),  // unrelated
    ];
    assert_eq!(descendants_ticks(10, &table), 5 + 1 + 7 + 100);
    assert_eq!(descendants_ticks(12, &table), 100);
    assert_eq!(descendants_ticks(13, &table), 0);
}

#[test]
fn own_process_cpu_is_readable_and_grows() {
    // Spin until the counter shows 0.1 s more CPU: on a loaded machine
    // that takes longer than 0.1 s of wall time, so the bound is wall
    // time (10 s), not a fixed spin.
    let me = std::process::id();
    let before = tree_cpu_seconds(me).unwrap();
    let start = std::time::Instant::now();
    let mut x = 0u64;
    let mut after = before;
    while after - before < 0.1 && start.elapsed() < std::time::Duration::from_secs(10) {
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        after = tree_cpu_seconds(me).unwrap();
    }
    std::hint::black_box(x);
    assert!(after - before >= 0.1, "before {before}, after {after}");
}

#[test]
fn a_missing_process_is_an_error() {
    let err = process_cpu_seconds(u32::MAX).unwrap_err();
    assert!(err.to_string().contains("/proc/4294967295/stat"));
}
