//! Charts drawn on the server as SVG: no script, no inline style (colours are classes of the
//! stylesheet), text in the reader's language and digits. Each chart is drawn on a canvas 360
//! units wide, the width of a small phone, and scaled by the stylesheet, so its text stays
//! readable at 360 px. Counts arrive already protected: a suppressed cell is drawn as nothing.

use std::fmt::Write;

/// Text made safe inside SVG markup.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The step between an axis' ticks: 1, 2 or 5 times a power of ten, about `ticks` of them.
fn nice_step(max: u64, ticks: u64) -> u64 {
    let raw = max.max(1) as f64 / ticks.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    (step.round() as u64).max(1)
}

const WIDTH: f64 = 360.0;

/// One coloured band of a stacked chart: its values per bucket. Its colour is the class
/// `s{index}` of the stylesheet, in the order given.
pub struct Band {
    pub values: Vec<u64>,
}

/// Arrivals over time as stacked areas, one band per crossing point, bottom to top in the
/// order given. `x_labels` names each bucket (a date in the reader's calendar); `digits`
/// writes a number in the reader's digits.
pub fn stacked_area(
    title: &str,
    x_labels: &[String],
    bands: &[Band],
    digits: &dyn Fn(u64) -> String,
) -> String {
    const H: f64 = 210.0;
    const LEFT: f64 = 44.0;
    const RIGHT: f64 = 10.0;
    const TOP: f64 = 10.0;
    const BOTTOM: f64 = 26.0;
    let n = x_labels.len();
    let (pw, ph) = (WIDTH - LEFT - RIGHT, H - TOP - BOTTOM);
    let totals: Vec<u64> = (0..n)
        .map(|i| {
            bands
                .iter()
                .map(|b| b.values.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let step = nice_step(totals.iter().copied().max().unwrap_or(0), 4);
    let top = totals
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .div_ceil(step)
        .max(1)
        * step;
    let x = |i: usize| {
        if n <= 1 {
            LEFT + pw / 2.0
        } else {
            LEFT + pw * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: u64| TOP + ph - ph * v as f64 / top as f64;
    let mut svg = String::new();
    // `direction` keeps the axes where they are drawn on a right-to-left page.
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {H}" direction="ltr" role="img" aria-label="{}">"#,
        esc(title)
    );
    let mut tick = 0;
    while tick <= top {
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"></line><text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 4.0,
            y(tick) + 4.0,
            esc(&digits(tick)),
            y = y(tick),
        );
        tick += step;
    }
    let mut below = vec![0u64; n];
    for (k, band) in bands.iter().enumerate() {
        let above: Vec<u64> = (0..n)
            .map(|i| below[i] + band.values.get(i).copied().unwrap_or(0))
            .collect();
        let mut points = String::new();
        for (i, v) in above.iter().enumerate() {
            let _ = write!(points, "{:.1},{:.1} ", x(i), y(*v));
        }
        for (i, v) in below.iter().enumerate().rev() {
            let _ = write!(points, "{:.1},{:.1} ", x(i), y(*v));
        }
        let _ = write!(
            svg,
            r#"<polygon class="area s{k}" points="{}"></polygon>"#,
            points.trim_end()
        );
        below = above;
    }
    // Up to four dates under the axis: the first, the last and two between.
    let mut shown: Vec<usize> = (0..4).map(|j| j * n.saturating_sub(1) / 3).collect();
    shown.dedup();
    for i in shown.into_iter().filter(|i| *i < n) {
        let anchor = if n > 1 && i == 0 {
            "start"
        } else if n > 1 && i == n - 1 {
            "end"
        } else {
            "middle"
        };
        let _ = write!(
            svg,
            r#"<text class="tick" x="{:.1}" y="{}" text-anchor="{anchor}">{}</text>"#,
            x(i),
            H - 8.0,
            esc(&x_labels[i])
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One age band of a pyramid: its label, then women's and men's counts as drawn (a suppressed
/// count is 0) and as written ("<5", "*").
pub struct PyramidRow {
    pub label: String,
    pub women: (u64, String),
    pub men: (u64, String),
}

/// A population pyramid: women on the left, men on the right, the youngest at the bottom.
pub fn pyramid(title: &str, women: &str, men: &str, rows: &[PyramidRow]) -> String {
    const ROW: f64 = 26.0;
    const HEAD: f64 = 22.0;
    const MIDDLE: f64 = 58.0;
    const ROOM: f64 = 40.0;
    let h = HEAD + ROW * rows.len() as f64 + 4.0;
    let centre = WIDTH / 2.0;
    let longest = WIDTH / 2.0 - MIDDLE / 2.0 - ROOM;
    let most = rows
        .iter()
        .map(|r| r.women.0.max(r.men.0))
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {h}" direction="ltr" role="img" aria-label="{}">"#,
        esc(title)
    );
    let _ = write!(
        svg,
        r#"<text class="label" x="{:.1}" y="15" text-anchor="end">{}</text><text class="label" x="{:.1}" y="15" text-anchor="start">{}</text>"#,
        centre - MIDDLE / 2.0,
        esc(women),
        centre + MIDDLE / 2.0,
        esc(men)
    );
    for (i, r) in rows.iter().rev().enumerate() {
        let top = HEAD + ROW * i as f64;
        let mid = top + ROW / 2.0 + 4.0;
        let wl = longest * r.women.0 as f64 / most as f64;
        let ml = longest * r.men.0 as f64 / most as f64;
        let left_edge = centre - MIDDLE / 2.0;
        let right_edge = centre + MIDDLE / 2.0;
        let _ = write!(
            svg,
            r#"<rect class="women" x="{:.1}" y="{:.1}" width="{wl:.1}" height="{}"></rect><rect class="men" x="{right_edge:.1}" y="{:.1}" width="{ml:.1}" height="{}"></rect>"#,
            left_edge - wl,
            top + 3.0,
            ROW - 6.0,
            top + 3.0,
            ROW - 6.0
        );
        let _ = write!(
            svg,
            r#"<text class="label" x="{centre:.1}" y="{mid:.1}" text-anchor="middle">{}</text><text class="tick" x="{:.1}" y="{mid:.1}" text-anchor="end">{}</text><text class="tick" x="{:.1}" y="{mid:.1}" text-anchor="start">{}</text>"#,
            esc(&r.label),
            left_edge - wl - 3.0,
            esc(&r.women.1),
            right_edge + ml + 3.0,
            esc(&r.men.1)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(nice_step(0, 4), 1);
        assert_eq!(nice_step(9, 4), 5);
        assert_eq!(nice_step(130, 4), 50);
        assert_eq!(nice_step(1_000, 4), 500);
    }

    #[test]
    fn charts_escape_their_text_and_stack_their_bands() {
        let digits = |n: u64| n.to_string();
        let svg = stacked_area(
            "<Torkham & co>",
            &["a".into(), "b".into()],
            &[Band { values: vec![1, 2] }, Band { values: vec![3, 4] }],
            &digits,
        );
        assert!(svg.contains("&lt;Torkham &amp; co&gt;"));
        assert_eq!(svg.matches("<polygon").count(), 2);
        assert!(svg.contains(r#"class="area s1""#));
        let svg = pyramid(
            "t",
            "Women",
            "Men",
            &[PyramidRow {
                label: "0-4".into(),
                women: (10, "10".into()),
                men: (0, "<5".into()),
            }],
        );
        assert!(svg.contains("&lt;5"));
        assert_eq!(svg.matches("<rect").count(), 2);
    }
}
