//! Operators, literals, date-times and intervals.

use cityloop_sta::{
    ArithOp, CompareOp, EvalError, Expr, Literal, matches, parse_filter, parse_query,
};
use serde_json::json;

use crate::common::{NoNavigation, check, eval, now};

#[test]
fn logical_operators_and_precedence() {
    // Observation 1000: result 21.5.
    check("result gt 20 and result lt 22", "Observations", 1000, true);
    check("result gt 22 or result lt 22", "Observations", 1000, true);
    check("result gt 22 or result lt 21", "Observations", 1000, false);
    check("not result gt 22", "Observations", 1000, true);
    check(
        "not (result gt 20 and result lt 22)",
        "Observations",
        1000,
        false,
    );
    // `and` binds tighter than `or`: false or (true and true).
    check(
        "result gt 30 or result gt 20 and result lt 22",
        "Observations",
        1000,
        true,
    );
    // ... so this is (false and true) or false.
    check(
        "result gt 30 and result gt 20 or result gt 30",
        "Observations",
        1000,
        false,
    );
    check("not not true", "Observations", 1000, true);
    check("true and false", "Observations", 1000, false);
}

#[test]
fn and_or_chains_are_flat() {
    let expr = parse_filter("a eq 1 or a eq 2 or a eq 3").unwrap();
    match expr {
        Expr::Or(items) => assert_eq!(items.len(), 3),
        other => panic!("{other:?}"),
    }
    // 200 alternatives stay well within the nesting limit.
    let long = (0..200)
        .map(|i| format!("id eq {i}"))
        .collect::<Vec<_>>()
        .join(" or ");
    check(&long, "Things", 1, true);
}

#[test]
fn numeric_comparisons_mix_ints_and_floats() {
    for (filter, expected) in [
        ("result eq 21.5", true),
        ("result ne 21.5", false),
        ("result gt 21", true),
        ("result ge 21.5", true),
        ("result lt 21.5", false),
        ("result le 21.5", true),
        ("result lt 2.15e1", false),
        ("result gt -3", true),
    ] {
        check(filter, "Observations", 1000, expected);
    }
    // Observation 1001: integer result 40.
    check("result eq 40.0", "Observations", 1001, true);
    check("result ge 40 and result le 40", "Observations", 1001, true);
    check("result gt 39.999", "Observations", 1001, true);
}

#[test]
fn strings_booleans_and_nulls() {
    check("name eq 'kerb sensor A'", "Things", 1, true);
    check("name gt 'kerb'", "Things", 1, true);
    check("name lt 'kerb'", "Things", 1, false);
    check("name eq 'it''s'", "Things", 1, false);
    check("properties/active eq true", "Things", 1, true);
    check("properties/active", "Things", 1, true);
    check("properties/active ne false", "Things", 1, true);
    check("properties/missing eq null", "Things", 1, true);
    check("properties/missing ne null", "Things", 1, false);
    check("name ne null", "Things", 1, true);
    check("null eq null", "Things", 1, true);
    // resultTime is an explicit JSON null.
    check("resultTime eq null", "Observations", 1001, true);
    check("properties/missing gt 3", "Things", 1, false);
}

#[test]
fn quoted_strings_unescape() {
    let expr = parse_filter("name eq 'it''s'").unwrap();
    let entity = json!({"@iot.id": 1, "name": "it's"});
    assert!(matches(&expr, "Things", &entity, &NoNavigation, now()).unwrap());
}

#[test]
fn mismatched_types_are_unequal_without_error() {
    check("name eq 5", "Things", 1, false);
    check("name ne 5", "Things", 1, true);
    check("name gt 5", "Things", 1, false);
    check("result eq '21.5'", "Observations", 1000, false);
    check("properties/owner eq 'Ana'", "Things", 1, false);
    check("properties/active eq 1", "Things", 1, false);
}

#[test]
fn arithmetic() {
    for filter in [
        "result add 1 eq 22.5",
        "result sub 0.5 eq 21",
        "result mul 2 eq 43",
        "result div 2 eq 10.75",
        "7 mod 3 eq 1",
        "7.5 mod 2 eq 1.5",
        "1 add 2 mul 3 eq 7",
        "(1 add 2) mul 3 eq 9",
        "10 sub 2 sub 3 eq 5",
        "7 div 2 eq 3.5",
        "-result lt 0",
        "-(result) eq -21.5",
        "- 2 mul 3 eq -6",
        "9223372036854775807 add 1 gt 9223372036854775807",
    ] {
        check(filter, "Observations", 1000, true);
    }
    check("properties/missing add 1 eq null", "Things", 1, true);
    check("name add 1 eq 1", "Things", 1, false);
}

#[test]
fn division_by_zero_is_an_error() {
    let err = eval("result div 0 eq 1", "Observations", 1000).unwrap_err();
    assert_eq!(err, EvalError("div: division by zero".into()));
    let err = eval("result mod 0.0 eq 1", "Observations", 1000).unwrap_err();
    assert!(err.0.starts_with("mod"), "{err}");
    // Short-circuiting skips the failing operand.
    check("false and result div 0 eq 1", "Observations", 1000, false);
}

#[test]
fn parse_tree_shape() {
    assert_eq!(
        parse_filter("result mul 2 gt -1.5").unwrap(),
        Expr::Compare {
            op: CompareOp::Gt,
            left: Box::new(Expr::Arith {
                op: ArithOp::Mul,
                left: Box::new(Expr::Member(vec!["result".into()])),
                right: Box::new(Expr::Literal(Literal::Int(2))),
            }),
            right: Box::new(Expr::Literal(Literal::Float(-1.5))),
        }
    );
}

#[test]
fn datetimes_compare_as_instants_across_offsets() {
    // phenomenonTime of Observation 1000 is 2013-01-01T00:00:00Z.
    for (filter, expected) in [
        ("phenomenonTime eq 2013-01-01T00:00:00Z", true),
        ("phenomenonTime eq 2013-01-01T08:00:00+08:00", true),
        ("phenomenonTime eq 2012-12-31T19:00:00-05:00", true),
        ("phenomenonTime eq 2013-01-01T08:00:00.000+08:00", true),
        ("phenomenonTime eq 2013-01-01T08:00:00.123+08:00", false),
        ("phenomenonTime gt 2013-01-01T07:59:59+08:00", true),
        ("phenomenonTime lt 2013-01-01T08:00:01+08:00", true),
        ("phenomenonTime ge 2013-01-01T00:00:00Z", true),
        ("phenomenonTime gt 2013-01-01T00:00:00Z", false),
        ("2013-01-01T00:00:00Z le phenomenonTime", true),
        ("2012-01-01T00:00:00Z lt phenomenonTime", true),
        ("phenomenonTime eq 2013-01-01T00:00Z", true),
        ("phenomenonTime lt 2013-01-02", true),
        ("phenomenonTime ge 2013-01-01", true),
        ("resultTime gt phenomenonTime", true),
    ] {
        check(filter, "Observations", 1000, expected);
    }
}

#[test]
fn plus_offset_decoded_as_space_is_read_as_plus() {
    let world = crate::common::World::new();
    let obs = world.get("Observations", 1000);
    for raw in [
        "$filter=phenomenonTime+eq+2013-01-01T08:00:00+08:00",
        "$filter=phenomenonTime%20eq%202013-01-01T08:00:00%2B08:00",
        "$filter=phenomenonTime eq 2013-01-01T08:00:00.000 08:00",
    ] {
        let q = parse_query(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
        let filter = q.filter.expect("filter");
        assert!(
            matches(&filter, "Observations", obs, &world, now()).unwrap(),
            "{raw}"
        );
    }
    // A negative offset keeps its sign.
    let q = parse_query("$filter=phenomenonTime+eq+2012-12-31T19:00:00-05:00").unwrap();
    assert!(matches(&q.filter.unwrap(), "Observations", obs, &world, now()).unwrap());
    // The same instant written with '+' decoded to space, parsed directly.
    let direct = parse_filter("phenomenonTime eq 2013-01-01T08:00:00 08:00").unwrap();
    let plus = parse_filter("phenomenonTime eq 2013-01-01T08:00:00+08:00").unwrap();
    assert_eq!(direct, plus);
}

#[test]
fn intervals_compare_by_start_and_end() {
    // Observation 1001: 2013-01-01T00:00:00Z/2013-01-01T01:00:00Z.
    for (filter, expected) in [
        ("phenomenonTime gt 2012-12-31T23:59:59Z", true),
        ("phenomenonTime gt 2013-01-01T00:00:00Z", false),
        ("phenomenonTime ge 2013-01-01T00:00:00Z", true),
        ("phenomenonTime gt 2013-01-01T00:30:00Z", false),
        ("phenomenonTime lt 2013-01-01T01:00:00Z", false),
        ("phenomenonTime le 2013-01-01T01:00:00Z", true),
        ("phenomenonTime lt 2013-01-01T01:00:01Z", true),
        ("phenomenonTime lt 2013-01-01T00:30:00Z", false),
        ("phenomenonTime eq 2013-01-01T00:00:00Z", false),
        ("phenomenonTime eq 2013-01-01T01:00:00Z", false),
        ("phenomenonTime ne 2013-01-01T00:00:00Z", true),
        // Operands swapped: "X lt interval" is "interval gt X".
        ("2012-12-31T23:59:59Z lt phenomenonTime", true),
        ("2013-01-01T00:30:00Z lt phenomenonTime", false),
        ("2013-01-01T02:00:00Z gt phenomenonTime", true),
    ] {
        check(filter, "Observations", 1001, expected);
    }
    // A degenerate interval equals its instant.
    let expr = parse_filter("phenomenonTime eq 2013-01-01T00:00:00Z").unwrap();
    let entity = json!({"phenomenonTime": "2013-01-01T00:00:00Z/2013-01-01T00:00:00Z"});
    assert!(matches(&expr, "Observations", &entity, &NoNavigation, now()).unwrap());
}

#[test]
fn datetime_arithmetic_with_durations() {
    for filter in [
        "phenomenonTime add duration'PT1H' eq 2013-01-01T01:00:00Z",
        "phenomenonTime sub duration'P1D' eq 2012-12-31T00:00:00Z",
        "duration'PT30M' add phenomenonTime eq 2013-01-01T00:30:00Z",
        "resultTime sub phenomenonTime eq duration'PT30M'",
        "resultTime sub phenomenonTime gt duration'PT29M59.5S'",
        "now() sub phenomenonTime gt duration'P365D'",
        "2013-01-01T00:00:00Z add duration'-PT1H' lt phenomenonTime",
        "duration'P1D' sub duration'PT1H' eq duration'PT23H'",
        "-duration'P1D' lt duration'PT0S'",
    ] {
        check(filter, "Observations", 1000, true);
    }
}

#[test]
fn literal_kinds() {
    assert!(matches!(
        parse_filter("x eq 2013-01-01").unwrap(),
        Expr::Compare { right, .. } if matches!(*right, Expr::Literal(Literal::Date(_)))
    ));
    assert!(matches!(
        parse_filter("x eq 08:30:00.5").unwrap(),
        Expr::Compare { right, .. } if matches!(*right, Expr::Literal(Literal::TimeOfDay(_)))
    ));
    assert!(matches!(
        parse_filter("x eq duration'P1DT2H'").unwrap(),
        Expr::Compare { right, .. }
            if *right == Expr::Literal(Literal::Duration(chrono::TimeDelta::try_hours(26).unwrap()))
    ));
    assert!(matches!(
        parse_filter("x eq 1e3").unwrap(),
        Expr::Compare { right, .. } if *right == Expr::Literal(Literal::Float(1000.0))
    ));
}
