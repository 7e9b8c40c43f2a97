//! Known answers of the shared plots: how many lines, points and bars a known input draws,
//! escaping of every name, and the empty cases.

use super::*;

/// 2026-01-10T09:00:00Z, ms.
const T0: i64 = 1_768_035_600_000;

/// Each coloured `<polyline>`'s stroke colour and number of points, in drawing order (the
/// black ones, axes and ticks, left out).
fn polylines(svg: &str) -> Vec<(String, usize)> {
    svg.split("<polyline")
        .skip(1)
        .map(|p| {
            let attr = |name: &str| -> String {
                let at = p.find(&format!(" {name}=\"")).expect("attribute") + name.len() + 3;
                p[at..at + p[at..].find('"').expect("quote")].to_string()
            };
            (attr("stroke"), attr("points").split_whitespace().count())
        })
        .filter(|(stroke, _)| stroke != "#000000")
        .collect()
}

/// `<rect>`s filled with `colour`.
fn rects_of(svg: &str, colour: RGBColor) -> usize {
    let fill = format!("fill=\"#{:02X}{:02X}{:02X}\"", colour.0, colour.1, colour.2);
    svg.split("<rect")
        .skip(1)
        .filter(|r| r.split("/>").next().is_some_and(|r| r.contains(&fill)))
        .count()
}

const BLUE: &str = "#1F77B4";
const ORANGE: &str = "#FF7F0E";

fn is_no_data(svg: &str, id: &str) -> bool {
    svg.starts_with(&format!("<svg id=\"{id}\" "))
        && svg.contains(">\nno data\n</text>")
        && svg.trim_end().ends_with("</svg>")
}

#[test]
fn a_time_series_draws_one_polyline_per_line_with_every_finite_point() {
    let ten = 600_000;
    let a: Vec<(i64, f64)> = (0..6).map(|i| (T0 + i * ten, i as f64)).collect();
    let b = [(T0, 1.0), (T0 + ten, f64::NAN), (T0 + 5 * ten, 2.0)];
    let lines = [
        Line {
            name: "web_widget",
            points: &a,
        },
        Line {
            name: "<script>alert(1)</script>",
            points: &b,
        },
        Line {
            name: "empty",
            points: &[],
        },
    ];
    let svg =
        time_series_svg("decisions", "Decisions <per 10 s>", "decisions", &lines).expect("drawn");
    assert!(
        svg.starts_with("<svg id=\"decisions\" width=\"640\" height=\"420\""),
        "{}",
        &svg[..80]
    );
    // Two data lines (6 points, and 2: the NaN is left out), then their two legend swatches;
    // the empty line is neither drawn nor in the legend.
    assert_eq!(
        polylines(&svg),
        [
            (BLUE.into(), 6),
            (ORANGE.into(), 2),
            (BLUE.into(), 2),
            (ORANGE.into(), 2)
        ]
    );
    assert!(!svg.contains(">\nempty\n</text>"));
    // Names and title are escaped; nothing raw.
    assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!svg.contains("<script"));
    assert!(svg.contains("Decisions &lt;per 10 s&gt;"));
    // Fifty minutes: labelled HH:MM in UTC, on round minutes.
    assert!(svg.contains(">\n09:10\n</text>"), "HH:MM labels");
    assert!(!svg.contains("2026-01-10"));
    // Same input, same bytes.
    assert_eq!(
        svg,
        time_series_svg("decisions", "Decisions <per 10 s>", "decisions", &lines).expect("drawn")
    );
}

#[test]
fn a_time_series_over_days_is_labelled_with_dates() {
    let day = 24 * 3_600_000;
    let p: Vec<(i64, f64)> = (0..5).map(|i| (T0 + i * day, 0.0)).collect();
    let svg = time_series_svg(
        "days",
        "Days",
        "events",
        &[Line {
            name: "all",
            points: &p,
        }],
    )
    .expect("drawn");
    assert!(svg.contains(">\n2026-01-12\n</text>"), "date labels");
    assert!(!svg.contains(">\n09:00\n</text>"));
    assert_eq!(
        polylines(&svg)[0],
        (BLUE.into(), 5),
        "all zero still draws on 0–1"
    );
}

#[test]
fn empty_time_series_say_no_data() {
    for lines in [
        &[][..],
        &[Line {
            name: "a",
            points: &[],
        }][..],
        &[Line {
            name: "a",
            points: &[(T0, f64::NAN)],
        }][..],
    ] {
        let svg = time_series_svg("ts", "Decisions", "n", lines).expect("drawn");
        assert!(is_no_data(&svg, "ts"), "{svg}");
        assert!(svg.contains(">\nDecisions\n</text>"));
        assert_eq!(polylines(&svg).len(), 0);
    }
    // One instant is enough for a plot.
    let one = [(T0, 3.0)];
    let svg = time_series_svg(
        "ts",
        "t",
        "n",
        &[Line {
            name: "a",
            points: &one,
        }],
    )
    .expect("drawn");
    assert!(!svg.contains("no data"));
    assert_eq!(polylines(&svg)[0], (BLUE.into(), 1));
}

#[test]
fn stacked_bars_draw_one_rect_per_positive_value_and_a_legend() {
    let categories = vec!["web_widget".to_string(), "sms".into(), "<script>".into()];
    let allow = [3.0, 1.0, 0.0];
    let deny = [1.0, f64::NAN, 2.0, 99.0];
    let svg = stacked_bars_svg(
        "challenge",
        "By channel",
        "decisions",
        &categories,
        &[
            Segment {
                name: "allow",
                values: &allow,
            },
            Segment {
                name: "deny & <b>",
                values: &deny,
            },
        ],
    )
    .expect("drawn");
    assert!(svg.starts_with("<svg id=\"challenge\" "));
    // allow: 2 bars + 1 legend swatch; deny: 2 bars (NaN not drawn, the 4th value has no
    // category) + 1 swatch.
    assert_eq!(rects_of(&svg, MODEL_COLOUR), 3);
    assert_eq!(rects_of(&svg, BASELINE_COLOURS[0]), 3);
    assert!(svg.contains(">\nweb_widget\n</text>"));
    assert!(svg.contains(">\n&lt;script&gt;\n</text>"));
    assert!(svg.contains("deny &amp; &lt;b&gt;"));
    assert!(!svg.contains("<script") && !svg.contains("<b>"));
    // The deny segment of web_widget sits on top of its allow segment: same x, higher up.
    let rect = |colour: RGBColor, nth: usize| -> (i64, i64, i64) {
        let fill = format!("fill=\"#{:02X}{:02X}{:02X}\"", colour.0, colour.1, colour.2);
        let r = svg
            .split("<rect")
            .skip(1)
            .filter(|r| r.contains(&fill))
            .nth(nth)
            .expect("rect");
        let num = |k: &str| -> i64 {
            let at = r.find(&format!(" {k}=\"")).expect(k) + k.len() + 3;
            r[at..at + r[at..].find('"').expect("quote")]
                .parse()
                .expect("integer")
        };
        (num("x"), num("y"), num("height"))
    };
    let (allow_web, deny_web) = (rect(MODEL_COLOUR, 0), rect(BASELINE_COLOURS[0], 0));
    assert_eq!(allow_web.0, deny_web.0);
    assert!(
        (deny_web.1 + deny_web.2 - allow_web.1).abs() <= 1,
        "{allow_web:?} {deny_web:?}"
    );
}

#[test]
fn empty_stacked_bars_say_no_data() {
    let zero = [0.0, 0.0];
    let two = ["a".to_string(), "b".into()];
    for (cats, segs) in [
        (
            &[][..],
            &[Segment {
                name: "x",
                values: &zero,
            }][..],
        ),
        (&two[..], &[][..]),
        (
            &two[..],
            &[Segment {
                name: "x",
                values: &zero,
            }][..],
        ),
    ] {
        let svg = stacked_bars_svg("sb", "Empty", "n", cats, segs).expect("drawn");
        assert!(is_no_data(&svg, "sb"), "{svg}");
    }
}

#[test]
fn top_bars_draw_one_rect_per_bar_largest_at_the_top() {
    let bars = vec![
        ("new_device".to_string(), 40.0),
        ("<script>x</script>".to_string(), 12.0),
        ("tor_exit".to_string(), 3.0),
    ];
    let svg = top_bars_svg("reasons", "Top reasons", "requests", &bars).expect("drawn");
    assert!(svg.starts_with("<svg id=\"reasons\" "));
    assert_eq!(rects_of(&svg, MODEL_COLOUR), 3);
    assert!(!svg.contains("<script"));
    let y_of = |name: &str| -> f64 {
        let at = svg.find(&format!(">\n{name}\n</text>")).expect("label");
        let tag = &svg[svg[..at].rfind("<text").expect("text tag")..at];
        let y = tag.split("y=\"").nth(1).expect("y attribute");
        y[..y.find('"').expect("quote")].parse().expect("number")
    };
    assert!(y_of("new_device") < y_of("&lt;script&gt;x&lt;/script&gt;"));
    assert!(y_of("&lt;script&gt;x&lt;/script&gt;") < y_of("tor_exit"));
    assert!(is_no_data(
        &top_bars_svg("r", "t", "x", &[]).expect("drawn"),
        "r"
    ));
    let zero = [("a".to_string(), 0.0)];
    assert!(is_no_data(
        &top_bars_svg("r", "t", "x", &zero).expect("drawn"),
        "r"
    ));
}

#[test]
fn one_histogram_fills_a_bar_per_nonempty_bin() {
    let bins = [0.0, 2.0, 5.0, 1.0, f64::INFINITY];
    let svg = histogram_svg(
        "trust",
        "Trust <score>",
        "trust",
        0.0,
        100.0,
        &[("all", &bins)],
    )
    .expect("drawn");
    assert!(svg.starts_with("<svg id=\"trust\" "));
    assert_eq!(rects_of(&svg, MODEL_COLOUR), 3);
    assert_eq!(polylines(&svg).len(), 0);
    assert!(svg.contains("Trust &lt;score&gt;"));
}

#[test]
fn several_histograms_overlay_as_steps_with_a_legend() {
    let a = [1.0, 3.0, 0.0, 2.0];
    let b = [0.5, 0.5, 0.5, 0.5];
    let svg = histogram_svg(
        "h",
        "Trust",
        "trust",
        0.0,
        100.0,
        &[("genuine", &a), ("<script>", &b)],
    )
    .expect("drawn");
    // A step outline of 4 bins: the baseline at each end and 2 points per bin = 10; then the
    // two legend swatches.
    assert_eq!(
        polylines(&svg),
        [
            (BLUE.into(), 10),
            (ORANGE.into(), 10),
            (BLUE.into(), 2),
            (ORANGE.into(), 2)
        ]
    );
    assert_eq!(rects_of(&svg, MODEL_COLOUR), 0);
    assert!(svg.contains(">\n&lt;script&gt;\n</text>"));
    assert!(!svg.contains("<script"));
}

#[test]
fn empty_histograms_say_no_data_and_a_bad_range_is_an_error() {
    let zero = [0.0, 0.0];
    for series in [&[][..], &[("a", &zero[..])][..], &[("a", &[][..])][..]] {
        let svg = histogram_svg("h", "t", "x", 0.0, 1.0, series).expect("drawn");
        assert!(is_no_data(&svg, "h"), "{svg}");
    }
    let one = [1.0];
    for (lo, hi) in [
        (1.0, 1.0),
        (2.0, 1.0),
        (f64::NAN, 1.0),
        (0.0, f64::INFINITY),
    ] {
        let e = histogram_svg("h", "t", "x", lo, hi, &[("a", &one)]).expect_err("bad range");
        assert_eq!(e.plot, "histogram");
    }
}

#[test]
fn ids_are_escaped() {
    let svg = top_bars_svg("a\"b<c", "t", "x", &[]).expect("drawn");
    assert!(svg.starts_with("<svg id=\"a&quot;b&lt;c\" "));
}
