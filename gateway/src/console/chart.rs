//! Server-drawn SVG charts for the console: no script, no inline style
//! (colours are classes of the console's stylesheet), every text node
//! escaped by maud. [`daily_stacked`] draws inquiries per day, stacked by
//! unit.

use maud::{html, Markup};

/// Width of the drawing, in SVG user units.
const WIDTH: u32 = 720;
/// Height of the plot area (bars), in SVG user units.
const PLOT_HEIGHT: u32 = 200;
/// Space left of the plot for the axis labels.
const LEFT: u32 = 48;
/// Space under the plot for the day labels.
const BOTTOM: u32 = 24;
/// Top margin.
const TOP: u32 = 8;
/// Series drawn in their own colour; the rest are summed as "other".
pub const MAX_SERIES: usize = 8;

/// One day's counts per unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Day {
    /// Label under the bar (e.g. `12-04`).
    pub label: String,
    /// `(series index, count)` pairs; the index is into the chart's units.
    pub counts: Vec<(usize, u64)>,
}

/// Inquiries per day and unit, ready to draw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DailyStacked {
    /// Series names (units), at most [`MAX_SERIES`] + 1 (the last may be
    /// "other").
    pub units: Vec<String>,
    /// The days, oldest first.
    pub days: Vec<Day>,
}

impl DailyStacked {
    /// Builds the chart data from `(day, unit, count)` rows for `days`
    /// days labelled by `label(day)`. The [`MAX_SERIES`] units with the
    /// most inquiries keep their own series; the rest become `other`.
    pub fn from_rows(
        rows: &[(u32, String, u64)],
        days: u32,
        label: impl Fn(u32) -> String,
        other: &str,
    ) -> DailyStacked {
        let mut totals: std::collections::BTreeMap<&str, u64> = Default::default();
        for (_, unit, n) in rows {
            *totals.entry(unit.as_str()).or_default() += n;
        }
        let mut ranked: Vec<(&str, u64)> = totals.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let mut units: Vec<String> = ranked
            .iter()
            .take(MAX_SERIES)
            .map(|(u, _)| (*u).to_owned())
            .collect();
        let has_other = ranked.len() > MAX_SERIES;
        if has_other {
            units.push(other.to_owned());
        }
        let mut out: Vec<Day> = (0..days)
            .map(|d| Day {
                label: label(d),
                counts: Vec::new(),
            })
            .collect();
        for (day, unit, n) in rows {
            let series = units
                .iter()
                .take(MAX_SERIES)
                .position(|u| u == unit)
                .unwrap_or(MAX_SERIES);
            let Some(slot) = usize::try_from(*day).ok().and_then(|d| out.get_mut(d)) else {
                continue;
            };
            match slot.counts.iter_mut().find(|(s, _)| *s == series) {
                Some((_, c)) => *c += n,
                None => slot.counts.push((series, *n)),
            }
        }
        for d in &mut out {
            d.counts.sort_by_key(|(s, _)| *s);
        }
        DailyStacked { units, days: out }
    }

    /// The largest day total.
    pub fn max_total(&self) -> u64 {
        self.days
            .iter()
            .map(|d| d.counts.iter().map(|(_, n)| n).sum::<u64>())
            .max()
            .unwrap_or(0)
    }
}

/// One drawn bar segment.
struct Bar {
    series: usize,
    x: u32,
    y: u32,
    h: u32,
    /// Its tooltip (`<title>`), escaped when drawn.
    tip: String,
}

/// A "nice" axis top at or above `max` (1, 2 or 5 times a power of ten).
pub fn nice_ceiling(max: u64) -> u64 {
    if max == 0 {
        return 1;
    }
    let mut step = 1u64;
    loop {
        for m in [1u64, 2, 5] {
            let top = step.saturating_mul(m);
            if top >= max || top == u64::MAX {
                return top;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// Height in user units of `n` on an axis whose top is `top` (rounded,
/// never above the plot).
fn scaled(n: u64, top: u64) -> u32 {
    if top == 0 {
        return 0;
    }
    let h = (u128::from(n) * u128::from(PLOT_HEIGHT) + u128::from(top) / 2) / u128::from(top);
    u32::try_from(h.min(u128::from(PLOT_HEIGHT))).unwrap_or(PLOT_HEIGHT)
}

/// The chart as an inline `<svg>` with a title (`aria-labelledby`) and a
/// legend; `no_data` is drawn in place of bars when every day is empty.
pub fn daily_stacked(chart: &DailyStacked, title: &str, no_data: &str) -> Markup {
    let top = nice_ceiling(chart.max_total());
    let n_days = u32::try_from(chart.days.len()).unwrap_or(u32::MAX).max(1);
    let plot_width = WIDTH - LEFT - 8;
    let slot = plot_width / n_days;
    let bar = slot.saturating_sub(2).max(1);
    let height = TOP + PLOT_HEIGHT + BOTTOM;
    let base = TOP + PLOT_HEIGHT;
    let empty = chart.max_total() == 0;
    let mut rects = Vec::new();
    for (i, day) in chart.days.iter().enumerate() {
        let x = LEFT + 1 + u32::try_from(i).unwrap_or(0) * slot;
        let mut y = base;
        for (series, n) in &day.counts {
            let h = scaled(*n, top);
            if h == 0 {
                continue;
            }
            y = y.saturating_sub(h);
            let unit = chart.units.get(*series).map_or("", String::as_str);
            rects.push(Bar {
                series: *series,
                x,
                y,
                h,
                tip: format!("{} {unit}: {n}", day.label),
            });
        }
    }
    html! {
        svg class="chart" role="img"
            viewBox={ "0 0 " (WIDTH) " " (height) } width=(WIDTH) height=(height)
            aria-labelledby="chart-title" {
            title id="chart-title" { (title) }
            line class="axis" x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(base) {}
            line class="axis" x1=(LEFT) y1=(base) x2=(WIDTH - 8) y2=(base) {}
            text class="tick" x=(LEFT - 4) y=(TOP + 10) text-anchor="end" { (top) }
            text class="tick" x=(LEFT - 4) y=(base) text-anchor="end" { "0" }
            @if empty {
                text class="empty" x=(LEFT + plot_width / 2) y=(TOP + PLOT_HEIGHT / 2) text-anchor="middle" { (no_data) }
            } @else {
                @for r in &rects {
                    rect class={ "s" (r.series) } x=(r.x) y=(r.y) width=(bar) height=(r.h) {
                        title { (r.tip) }
                    }
                }
            }
            @for (i, day) in chart.days.iter().enumerate() {
                @if i % 5 == 0 || i + 1 == chart.days.len() {
                    text class="tick" x=(LEFT + 1 + u32::try_from(i).unwrap_or(0) * slot + bar / 2) y=(height - 6) text-anchor="middle" { (day.label) }
                }
            }
        }
        @if !chart.units.is_empty() {
            ul class="legend" {
                @for (i, unit) in chart.units.iter().enumerate() {
                    li { span class={ "swatch s" (i) } {} (unit) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
