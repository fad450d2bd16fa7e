//! time_bounds extraction.

use chrono::{DateTime, TimeZone, Utc};
use cityloop_sta::{parse_filter, time_bounds};

type Bound = Option<(DateTime<Utc>, bool)>;

fn bounds(filter: &str) -> (Bound, Bound) {
    time_bounds(&parse_filter(filter).unwrap(), "phenomenonTime")
}

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2013, 1, 1, h, 0, 0).unwrap()
}

#[test]
fn single_comparisons() {
    assert_eq!(
        bounds("phenomenonTime gt 2013-01-01T01:00:00Z"),
        (Some((at(1), false)), None)
    );
    assert_eq!(
        bounds("phenomenonTime ge 2013-01-01T01:00:00Z"),
        (Some((at(1), true)), None)
    );
    assert_eq!(
        bounds("phenomenonTime lt 2013-01-01T01:00:00Z"),
        (None, Some((at(1), false)))
    );
    assert_eq!(
        bounds("phenomenonTime le 2013-01-01T01:00:00Z"),
        (None, Some((at(1), true)))
    );
    assert_eq!(
        bounds("phenomenonTime eq 2013-01-01T09:00:00+08:00"),
        (Some((at(1), true)), Some((at(1), true)))
    );
    assert_eq!(
        bounds("phenomenonTime ne 2013-01-01T01:00:00Z"),
        (None, None)
    );
}

#[test]
fn operands_in_either_order() {
    assert_eq!(
        bounds("2013-01-01T01:00:00Z lt phenomenonTime"),
        (Some((at(1), false)), None)
    );
    assert_eq!(
        bounds("2013-01-01T01:00:00Z ge phenomenonTime"),
        (None, Some((at(1), true)))
    );
}

#[test]
fn conjuncts_combine_to_the_tightest_bounds() {
    let f = "phenomenonTime ge 2013-01-01T01:00:00Z and result gt 3 \
             and phenomenonTime gt 2013-01-01T02:00:00Z and phenomenonTime lt 2013-01-01T05:00:00Z \
             and (phenomenonTime le 2013-01-01T04:00:00Z and phenomenonTime ge 2013-01-01T00:00:00Z)";
    assert_eq!(bounds(f), (Some((at(2), false)), Some((at(4), true))));
    // Equal instants: exclusive wins.
    let f = "phenomenonTime ge 2013-01-01T01:00:00Z and phenomenonTime gt 2013-01-01T01:00:00Z";
    assert_eq!(bounds(f), (Some((at(1), false)), None));
}

#[test]
fn nothing_from_inside_or_or_not() {
    assert_eq!(
        bounds("phenomenonTime gt 2013-01-01T01:00:00Z or phenomenonTime lt 2013-01-01T00:00:00Z"),
        (None, None)
    );
    assert_eq!(
        bounds("result gt 1 and (phenomenonTime gt 2013-01-01T01:00:00Z or result lt 0)"),
        (None, None)
    );
    assert_eq!(
        bounds("not (phenomenonTime gt 2013-01-01T01:00:00Z)"),
        (None, None)
    );
    // Other properties, non-literal operands and dates are not bounds.
    assert_eq!(bounds("resultTime gt 2013-01-01T01:00:00Z"), (None, None));
    assert_eq!(bounds("phenomenonTime gt now()"), (None, None));
    assert_eq!(
        bounds("phenomenonTime/x gt 2013-01-01T01:00:00Z"),
        (None, None)
    );
    // A property can be named by path.
    let f = parse_filter("properties/t lt 2013-01-01T01:00:00Z").unwrap();
    assert_eq!(
        time_bounds(&f, "properties/t"),
        (None, Some((at(1), false)))
    );
}
