use super::*;

fn label(d: u32) -> String {
    format!("d{d}")
}

/// Every opened tag is closed in order (a small well-formedness check:
/// maud escapes text, so `<` only starts tags).
fn balanced(svg: &str) -> bool {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else {
            return false;
        };
        let tag = &rest[start + 1..start + end];
        rest = &rest[start + end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            if stack.pop().as_deref() != Some(name.trim()) {
                return false;
            }
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap_or("").to_string();
            stack.push(name);
        }
    }
    stack.is_empty()
}

fn heights(svg: &str) -> Vec<u32> {
    svg.match_indices("<rect ")
        .map(|(i, _)| {
            let rest = &svg[i..];
            let h = rest.find(" height=\"").unwrap() + 9;
            let end = rest[h..].find('"').unwrap();
            rest[h..h + end].parse().unwrap()
        })
        .collect()
}

#[test]
fn the_chart_is_well_formed_and_scaled() {
    let rows = vec![
        (0, "Unit A".to_string(), 10),
        (0, "Unit B".to_string(), 10),
        (2, "Unit A".to_string(), 5),
    ];
    let data = DailyStacked::from_rows(&rows, 3, label, "other");
    assert_eq!(data.units, vec!["Unit A", "Unit B"]);
    assert_eq!(data.max_total(), 20);
    let svg = daily_stacked(&data, "volume", "none").into_string();
    assert!(balanced(&svg), "{svg}");
    assert!(svg.starts_with("<svg"));
    assert!(!svg.contains("style="), "no inline style (CSP)");
    assert!(!svg.contains("<script"));
    // Axis top 20: the 20-inquiry day fills the plot, 5 is a quarter.
    assert_eq!(heights(&svg), vec![100, 100, 50]);
    assert!(svg.contains(">20</text>"), "{svg}");
}

#[test]
fn an_empty_chart_says_so() {
    let data = DailyStacked::from_rows(&[], 30, label, "other");
    assert_eq!(data.days.len(), 30);
    let svg = daily_stacked(&data, "volume", "no data").into_string();
    assert!(balanced(&svg), "{svg}");
    assert!(svg.contains("no data"));
    assert!(heights(&svg).is_empty());
    assert!(!svg.contains("class=\"legend\""));
}

#[test]
fn many_units_fold_into_other_and_names_are_escaped() {
    let mut rows: Vec<(u32, String, u64)> = (0..12)
        .map(|i| (0, format!("unit {i:02}"), 12 - i))
        .collect();
    rows.push((1, "<script>alert(1)</script>".into(), 1));
    let data = DailyStacked::from_rows(&rows, 2, label, "other");
    assert_eq!(data.units.len(), MAX_SERIES + 1);
    assert_eq!(data.units.last().map(String::as_str), Some("other"));
    let total: u64 = data
        .days
        .iter()
        .flat_map(|d| d.counts.iter().map(|c| c.1))
        .sum();
    assert_eq!(total, rows.iter().map(|r| r.2).sum::<u64>(), "nothing lost");
    let svg = daily_stacked(&data, "volume", "none").into_string();
    assert!(balanced(&svg));
    assert!(!svg.contains("<script>"));
}

#[test]
fn nice_ceilings() {
    assert_eq!(nice_ceiling(0), 1);
    assert_eq!(nice_ceiling(1), 1);
    assert_eq!(nice_ceiling(3), 5);
    assert_eq!(nice_ceiling(20), 20);
    assert_eq!(nice_ceiling(21), 50);
    assert_eq!(nice_ceiling(101), 200);
    assert_eq!(nice_ceiling(u64::MAX), u64::MAX);
}
