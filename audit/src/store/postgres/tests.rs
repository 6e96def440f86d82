use super::*;

#[test]
fn months_round_trip_over_the_calendar() {
    // 2026-12-01T00:00:00Z, 2027-01-01, 2024-02-29 (leap), 1969-12-31.
    assert_eq!(month_of_ms(1_796_083_200_000), 2026 * 12 + 11);
    assert_eq!(month_of_ms(1_796_083_199_999), 2026 * 12 + 10);
    assert_eq!(month_start_ms(2026 * 12 + 11), 1_796_083_200_000);
    assert_eq!(month_start_ms(2027 * 12), 1_798_761_600_000);
    assert_eq!(month_of_ms(1_709_164_800_000), 2024 * 12 + 1);
    assert_eq!(month_of_ms(-1), 1969 * 12 + 11);
    assert_eq!(month_start_ms(1970 * 12), 0);
    for day in (-800_000i64..800_000).step_by(97) {
        let (y, m, d) = civil_from_days(day);
        assert_eq!(days_from_civil(y, m, d), day);
        let ms = day * 86_400_000 + 1234;
        let month = month_of_ms(ms);
        assert!(month_start_ms(month) <= ms && ms < month_start_ms(month + 1));
    }
    assert_eq!(partition_name(2026 * 12 + 11), "entries_y2026m12");
}

#[test]
fn only_the_entries_table_is_partitioned() {
    let ddl: Vec<String> = DDL.iter().map(|s| partitioned(s)).collect();
    let entries: Vec<&String> = ddl.iter().filter(|s| s.contains("PARTITION BY")).collect();
    assert_eq!(entries.len(), 1);
    assert!(entries[0].contains("CREATE TABLE IF NOT EXISTS entries ("));
    assert!(entries[0].contains("PRIMARY KEY (chain_id, seq, time_ms)"));
}
