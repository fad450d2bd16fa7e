//! `$`-options: parse_query.

use cityloop_sta::{Expand, Expr, Query, parse_filter, parse_query};

#[test]
fn all_top_level_options() {
    let q = parse_query(
        "?$filter=result+gt+3&$top=10&$skip=20&$count=true&$resultFormat=dataArray\
         &$select=id,result,phenomenonTime&$orderby=phenomenonTime+desc,id",
    )
    .unwrap();
    assert_eq!(q.filter, Some(parse_filter("result gt 3").unwrap()));
    assert_eq!(q.top, Some(10));
    assert_eq!(q.skip, 20);
    assert_eq!(q.count, Some(true));
    assert_eq!(q.result_format.as_deref(), Some("dataArray"));
    assert_eq!(
        q.select,
        Some(vec![
            "@iot.id".into(),
            "result".into(),
            "phenomenonTime".into()
        ])
    );
    assert_eq!(q.orderby.len(), 2);
    assert_eq!(
        q.orderby[0].expr,
        Expr::Member(vec!["phenomenonTime".into()])
    );
    assert!(q.orderby[0].descending);
    assert_eq!(q.orderby[1].expr, Expr::Member(vec!["id".into()]));
    assert!(!q.orderby[1].descending);
}

#[test]
fn defaults_and_ignored_parameters() {
    assert_eq!(parse_query("").unwrap(), Query::default());
    let q = parse_query("foo=bar&&$count=false&token=$top").unwrap();
    assert_eq!(q.count, Some(false));
    assert_eq!(q.top, None);
    assert_eq!(q.skip, 0);
    assert_eq!(q.select, None);
}

#[test]
fn percent_decoding() {
    let q = parse_query("$filter=name%20eq%20%27caf%C3%A9%27&%24top=1").unwrap();
    assert_eq!(q.filter, Some(parse_filter("name eq 'café'").unwrap()));
    assert_eq!(q.top, Some(1));
    let q = parse_query("$filter=name+eq+'a+b'").unwrap();
    assert_eq!(q.filter, Some(parse_filter("name eq 'a b'").unwrap()));
}

#[test]
fn select_normalises_only_id() {
    let q = parse_query("$select=id, name ,@iot.id,properties/id").unwrap();
    assert_eq!(
        q.select,
        Some(vec![
            "@iot.id".into(),
            "name".into(),
            "@iot.id".into(),
            "properties/id".into()
        ])
    );
}

#[test]
fn orderby_with_expressions() {
    let q = parse_query("$orderby=substring(name,1,2) asc,result+mul+2+desc").unwrap();
    assert_eq!(q.orderby.len(), 2);
    assert!(matches!(q.orderby[0].expr, Expr::Call { .. }));
    assert!(!q.orderby[0].descending);
    assert!(matches!(q.orderby[1].expr, Expr::Arith { .. }));
    assert!(q.orderby[1].descending);
}

#[test]
fn orderby_directions_in_any_case() {
    // FROST's Python client sends `result+DESC` and `phenomenonTime+ASC`.
    let q = parse_query("%24orderby=result+DESC,phenomenonTime+ASC").unwrap();
    assert!(q.orderby[0].descending);
    assert!(!q.orderby[1].descending);
}

fn nav(expand: &Expand) -> &str {
    &expand.nav
}

#[test]
fn expand_simple_and_paths() {
    let q =
        parse_query("$expand=Locations,Datastreams/Sensor,Datastreams/ObservedProperty").unwrap();
    assert_eq!(
        q.expand.iter().map(nav).collect::<Vec<_>>(),
        ["Locations", "Datastreams"]
    );
    let ds = &q.expand[1];
    assert_eq!(
        ds.query.expand.iter().map(nav).collect::<Vec<_>>(),
        ["Sensor", "ObservedProperty"]
    );
    assert_eq!(q.expand[0].query, Query::default());
}

#[test]
fn expand_path_with_options_applies_to_the_last_segment() {
    let q = parse_query("$expand=Datastreams/Observations($top=3)").unwrap();
    assert_eq!(q.expand.len(), 1);
    let ds = &q.expand[0];
    assert_eq!(ds.nav, "Datastreams");
    assert_eq!(ds.query.top, None);
    let obs = &ds.query.expand[0];
    assert_eq!(obs.nav, "Observations");
    assert_eq!(obs.query.top, Some(3));
}

#[test]
fn expand_nested_options() {
    let raw = "$expand=Datastreams($filter=name+eq+'a,b;c)'+or+length(name)+gt+2;$select=id,name;\
               $expand=Observations($orderby=phenomenonTime+desc;$top=5;$skip=1;$count=true),Sensor;\
               $top=2),Locations($select=location)";
    let q = parse_query(raw).unwrap();
    assert_eq!(q.expand.len(), 2);
    let ds = &q.expand[0];
    assert_eq!(ds.nav, "Datastreams");
    assert_eq!(
        ds.query.filter,
        Some(parse_filter("name eq 'a,b;c)' or length(name) gt 2").unwrap())
    );
    assert_eq!(ds.query.select, Some(vec!["@iot.id".into(), "name".into()]));
    assert_eq!(ds.query.top, Some(2));
    assert_eq!(
        ds.query.expand.iter().map(nav).collect::<Vec<_>>(),
        ["Observations", "Sensor"]
    );
    let obs = &ds.query.expand[0].query;
    assert_eq!(obs.top, Some(5));
    assert_eq!(obs.skip, 1);
    assert_eq!(obs.count, Some(true));
    assert!(obs.orderby[0].descending);
    assert_eq!(q.expand[1].nav, "Locations");
    assert_eq!(q.expand[1].query.select, Some(vec!["location".into()]));
}

#[test]
fn expand_depth_is_limited() {
    let ok = format!("$expand={}", ["Things"; 8].join("/"));
    assert!(parse_query(&ok).is_ok());
    let too_deep = format!("$expand={}", ["Things"; 9].join("/"));
    let err = parse_query(&too_deep).unwrap_err();
    assert_eq!(err.option, "$expand");
    assert!(err.message.contains("deeper than 8"), "{err}");
    // Nesting through options counts as well.
    let nested = format!("$expand={}X{}", "A($expand=".repeat(8), ")".repeat(8));
    let err = parse_query(&nested).unwrap_err();
    assert!(err.message.contains("deeper than 8"), "{err}");
    // Hostile nesting far beyond the limit fails cleanly.
    let hostile = format!("$expand={}X{}", "A($expand=".repeat(1000), ")".repeat(1000));
    assert!(parse_query(&hostile).is_err());
}
