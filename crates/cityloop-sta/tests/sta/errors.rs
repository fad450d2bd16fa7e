//! Error reporting.

use cityloop_sta::{QueryError, parse_filter, parse_query};

#[test]
fn unknown_function() {
    let err = parse_filter("name eq 'x' and frobnicate(name) eq 1").unwrap_err();
    assert_eq!(err.option, "$filter");
    assert_eq!(err.message, "unknown function 'frobnicate' at position 16");
    let err = parse_filter("Substringof('a', name)").unwrap_err();
    assert!(err.message.contains("'Substringof'"), "{err}");
}

#[test]
fn wrong_arity_names_the_function() {
    let err = parse_filter("substring(name) eq 'x'").unwrap_err();
    assert_eq!(
        err.message,
        "function 'substring' expects 2 to 3 arguments, found 1 at position 0"
    );
    let err = parse_filter("now(1) gt 2").unwrap_err();
    assert!(err.message.contains("'now' expects no arguments"), "{err}");
    let err = parse_filter("x eq length('a', 'b')").unwrap_err();
    assert!(
        err.message.contains("'length' expects 1 argument,"),
        "{err}"
    );
}

#[test]
fn unclosed_parenthesis() {
    let err = parse_filter("(name eq 'thing1'").unwrap_err();
    assert_eq!(
        err,
        QueryError::new("$filter", "expected ')' at position 17")
    );
    assert_eq!(err.to_string(), "$filter: expected ')' at position 17");
    let err = parse_filter("contains(name, 'x'").unwrap_err();
    assert_eq!(err.message, "expected ',' or ')' at position 18");
    let err = parse_query("$filter=(name+eq+1").unwrap_err();
    assert_eq!(err.to_string(), "$filter: expected ')' at position 10");
}

#[test]
fn other_syntax_errors_have_positions() {
    for (filter, message) in [
        ("", "expected an expression at position 0"),
        ("name eq", "expected an expression at position 7"),
        (
            "name eq 'x' extra",
            "expected an operator or end of expression at position 12",
        ),
        (
            "name eq 'unterminated",
            "unterminated string literal at position 8",
        ),
        ("name eq ?", "unexpected character '?' at position 8"),
        ("name eq and", "expected an expression at position 8"),
        ("a/ eq 1", "expected a property name at position 3"),
        (
            "x eq 2013-02-30T00:00:00Z",
            "expected a valid date-time at position 5",
        ),
        (
            "x eq duration'P1Y'",
            "expected an ISO 8601 duration at position 5",
        ),
        ("x eq blob'00'", "unknown literal type 'blob' at position 5"),
        ("12abc eq 1", "unexpected character 'a' at position 2"),
        (
            "名前 eq 'é' and ?",
            "unexpected character '?' at position 14",
        ),
    ] {
        let err = parse_filter(filter).unwrap_err();
        assert_eq!(err.message, message, "{filter}");
    }
}

#[test]
fn bad_top_and_skip() {
    for (raw, position) in [
        ("$top=-1", 0),
        ("$top=abc", 0),
        ("$top=", 0),
        ("$top=1.5", 1),
        ("$top=%2B5", 0),
    ] {
        let err = parse_query(raw).unwrap_err();
        assert_eq!(err.option, "$top", "{raw}");
        assert_eq!(
            err.message,
            format!("expected a non-negative integer at position {position}"),
            "{raw}"
        );
    }
    let err = parse_query("$skip=99999999999999999999999").unwrap_err();
    assert_eq!(err.option, "$skip");
    assert!(
        parse_query("$count=yes")
            .unwrap_err()
            .message
            .contains("'true' or 'false'")
    );
    assert!(parse_query("$resultFormat=data+array").is_err());
}

#[test]
fn unknown_and_repeated_options() {
    let err = parse_query("$top=1&$frobnicate=2").unwrap_err();
    assert_eq!(err.option, "$frobnicate");
    assert!(err.message.starts_with("unknown query option"), "{err}");
    let err = parse_query("$Top=1").unwrap_err();
    assert_eq!(err.option, "$Top");
    let err = parse_query("$top=1&$top=1").unwrap_err();
    assert_eq!(err, QueryError::new("$top", "repeated query option"));
    // Inside $expand: reported under $expand with the nested option named.
    let err = parse_query("$expand=Datastreams($frobnicate=1)").unwrap_err();
    assert_eq!(err.option, "$expand");
    assert!(err.message.contains("unknown query option"), "{err}");
    assert!(err.message.contains("$frobnicate"), "{err}");
    assert!(parse_query("$expand=Datastreams($top=1;$top=2)").is_err());
    assert!(parse_query("$expand=Datastreams($resultFormat=dataArray)").is_err());
}

#[test]
fn expand_errors_point_into_the_expand_value() {
    let err = parse_query("$expand=Datastreams($filter=(name+eq+1)").unwrap_err();
    assert_eq!(err.to_string(), "$expand: expected ')' at position 31");
    let err = parse_query("$expand=Datastreams($filter=name+eq+1;$top=x)").unwrap_err();
    assert_eq!(
        err.to_string(),
        "$expand: Datastreams($top): expected a non-negative integer at position 35"
    );
    let err = parse_query("$expand=Datastreams($filter=name+eq)").unwrap_err();
    assert_eq!(
        err.to_string(),
        "$expand: Datastreams($filter): expected an expression at position 27"
    );
    let err = parse_query("$expand=Datastreams($top=1)x").unwrap_err();
    assert_eq!(err.message, "expected ',' or end of $expand at position 19");
    let err = parse_query("$expand=Datastreams,,Things").unwrap_err();
    assert_eq!(
        err.message,
        "expected a navigation property name at position 12"
    );
    let err = parse_query("$expand=Datastreams/").unwrap_err();
    assert_eq!(
        err.message,
        "expected a navigation property name at position 12"
    );
}

#[test]
fn deep_nesting_is_rejected_not_overflowed() {
    let ok = format!("{}true{}", "(".repeat(30), ")".repeat(30));
    assert!(parse_filter(&ok).is_ok());
    for hostile in [
        format!("{}true{}", "(".repeat(100), ")".repeat(100)),
        format!("{}true", "not ".repeat(100)),
        format!("{}1 eq -1", "-".repeat(100)),
        format!("{}1{}", "round(".repeat(100), ")".repeat(100)),
        format!("1{} eq 1", " add 1".repeat(100)),
        "(".repeat(16_000),
    ] {
        let err = parse_filter(&hostile).unwrap_err();
        assert!(err.message.contains("nested deeper than 64"), "{err}");
    }
    let err = parse_filter(&"(".repeat(20_000)).unwrap_err();
    assert!(err.message.contains("longer than"), "{err}");
}

#[test]
fn query_string_length_is_limited() {
    let long = format!("$filter=name+eq+'{}'", "x".repeat(17_000));
    let err = parse_query(&long).unwrap_err();
    assert_eq!(err.option, "query");
}
