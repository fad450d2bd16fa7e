//! The public performance figures (全民监督): the closed loop's metrics by
//! department, street or district with small counts suppressed.
//!
//! Disclosure control, in two steps per table:
//! 1. **Primary suppression.** A cell — the case count, or a rate's
//!    numerator and denominator together — whose count is between 1 and
//!    `k - 1` is hidden (`k` defaults to 10). Zeros are shown: they
//!    disclose no one.
//! 2. **Complementary suppression.** Within each *partition* whose total
//!    is published (all departments or districts → the city; the streets of
//!    one district → that district), a hidden cell could be worked back as
//!    `total − Σ visible`. So whenever a partition has exactly one hidden
//!    cell for a figure, the smallest other non-zero cell is hidden too, and
//!    if the partition's own total is itself below `k`, the total is hidden.
//!
//! Invariant (tested by property): in every partition, for every figure,
//! the hidden non-zero cells are either none or at least two, and every
//! shown non-zero count is at least `k`.

use crate::metrics::{MetricsRow, RATES, Rate};
use serde::Serialize;
use std::collections::BTreeMap;

/// The default threshold below which counts are hidden.
pub const K_DEFAULT: u64 = 10;

/// Each rate's formula, as published beside the figures (the full
/// definitions are in `docs/METRICS.md` and [`crate::metrics`]).
pub const FORMULAS: [(&str, &str, &str); 12] = [
    (
        crate::metrics::REGISTRATION_RATE,
        "cases registered (立案)",
        "cases accepted (受理)",
    ),
    (
        crate::metrics::ON_TIME_SIGNING_RATE,
        "cases signed before the signing clock was due",
        "cases signed",
    ),
    (
        crate::metrics::ON_TIME_HANDLING_RATE,
        "cases replied whose handling clock never overran",
        "cases replied at least once",
    ),
    (
        crate::metrics::CLOSING_RATE,
        "registered cases closed",
        "cases registered",
    ),
    (
        crate::metrics::ON_TIME_CLOSING_RATE,
        "closed cases whose handling never overran, not closed as overdue",
        "registered cases closed, plus registered open cases whose handling overran",
    ),
    (
        crate::metrics::REWORK_RATE,
        "cases that failed an on-site check (返工) at least once",
        "cases checked at least once",
    ),
    (
        crate::metrics::RETURN_RATE,
        "dispatches in the period that the unit returned",
        "dispatches in the period",
    ),
    (
        crate::metrics::REDO_RATE,
        "cases redone (重办) at least once",
        "cases rated at least once",
    ),
    (
        crate::metrics::EXTENSION_RATE,
        "cases with an extension approved",
        "cases dispatched",
    ),
    (
        crate::metrics::RESPONSE_RATE,
        "cases whose every dispatch was answered before its signing deadline",
        "cases dispatched, minus those awaiting an answer not yet late",
    ),
    (
        crate::metrics::RESOLUTION_RATE,
        "cases whose latest rating is satisfied, or dissatisfied and judged unreasonable",
        "cases rated at least once",
    ),
    (
        crate::metrics::SATISFACTION_RATE,
        "ratings in the period of 非常满意, 满意 or 基本满意",
        "ratings in the period",
    ),
];

/// One published figure: the counts, or `None` when suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PublicRate {
    pub numerator: Option<u64>,
    pub denominator: Option<u64>,
    pub value: Option<f64>,
    /// True when hidden by disclosure control.
    pub suppressed: bool,
}

/// One published row.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PublicRow {
    pub group: String,
    /// The partition whose total this row adds up to.
    pub partition: String,
    /// Cases created in the period; `None` when suppressed.
    pub cases: Option<u64>,
    #[schema(value_type = BTreeMap<String, PublicRate>)]
    pub rates: BTreeMap<&'static str, PublicRate>,
}

/// The figures a cell is made of: `cases` and every rate key.
fn figures() -> impl Iterator<Item = &'static str> {
    std::iter::once("cases").chain(RATES.iter().map(|(key, _)| *key))
}

/// The disclosed size of a cell: for a rate, its denominator (the
/// numerator is a subset of it and is hidden with it).
fn size(row: &MetricsRow, figure: &str) -> u64 {
    if figure == "cases" {
        row.cases
    } else {
        row.rate(figure).map_or(0, |rate| rate.denominator)
    }
}

/// Publishes `rows` (each in the partition `partition_of(group)`, whose
/// published totals are `totals[partition]`) under disclosure control.
/// Returns the rows and the totals, each with its cells hidden or shown.
pub fn suppress(
    rows: &[MetricsRow],
    totals: &BTreeMap<String, MetricsRow>,
    partition_of: impl Fn(&str) -> String,
    k: u64,
) -> (Vec<PublicRow>, Vec<PublicRow>) {
    let k = k.max(1);
    let primary = |n: u64| n > 0 && n < k;
    // hidden[(row index, figure)]
    let mut hidden: BTreeMap<(usize, &'static str), bool> = BTreeMap::new();
    for (index, row) in rows.iter().enumerate() {
        for figure in figures() {
            hidden.insert((index, figure), primary(size(row, figure)));
        }
    }
    let mut partitions: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, row) in rows.iter().enumerate() {
        partitions
            .entry(partition_of(&row.group))
            .or_default()
            .push(index);
    }
    let mut hidden_totals: BTreeMap<(String, &'static str), bool> = BTreeMap::new();
    for (partition, members) in &partitions {
        for figure in figures() {
            let total_hidden = totals
                .get(partition)
                .is_some_and(|total| primary(size(total, figure)));
            hidden_totals.insert((partition.clone(), figure), total_hidden);
            if total_hidden {
                // The total is not published: nothing can be worked back
                // from it.
                continue;
            }
            let count_hidden = |hidden: &BTreeMap<(usize, &'static str), bool>| {
                members
                    .iter()
                    .filter(|&&i| hidden[&(i, figure)] && size(&rows[i], figure) > 0)
                    .count()
            };
            while count_hidden(&hidden) == 1 {
                let partner = members
                    .iter()
                    .copied()
                    .filter(|&i| !hidden[&(i, figure)] && size(&rows[i], figure) > 0)
                    .min_by_key(|&i| (size(&rows[i], figure), i));
                match partner {
                    Some(i) => {
                        hidden.insert((i, figure), true);
                    }
                    None => {
                        // The only non-zero cell: the total equals it.
                        hidden_totals.insert((partition.clone(), figure), true);
                        break;
                    }
                }
            }
        }
    }
    let publish =
        |row: &MetricsRow, partition: String, is_hidden: &dyn Fn(&'static str) -> bool| {
            let rates = RATES
                .iter()
                .map(|(key, _)| {
                    let rate = row.rate(key).copied().unwrap_or(Rate::new(0, 0));
                    let suppressed = is_hidden(key);
                    (
                        *key,
                        PublicRate {
                            numerator: (!suppressed).then_some(rate.numerator),
                            denominator: (!suppressed).then_some(rate.denominator),
                            value: if suppressed { None } else { rate.value },
                            suppressed,
                        },
                    )
                })
                .collect();
            PublicRow {
                group: row.group.clone(),
                partition,
                cases: (!is_hidden("cases")).then_some(row.cases),
                rates,
            }
        };
    let published = rows
        .iter()
        .enumerate()
        .map(|(index, row)| {
            publish(row, partition_of(&row.group), &|figure| {
                hidden[&(index, figure)]
            })
        })
        .collect();
    let published_totals = totals
        .iter()
        .map(|(partition, row)| {
            publish(row, partition.clone(), &|figure| {
                hidden_totals
                    .get(&(partition.clone(), figure))
                    .copied()
                    .unwrap_or_else(|| primary(size(row, figure)))
            })
        })
        .collect();
    (published, published_totals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(group: &str, cases: u64, closing: (u64, u64)) -> MetricsRow {
        let mut rates: BTreeMap<&'static str, Rate> = RATES
            .iter()
            .map(|(key, _)| (*key, Rate::new(0, 0)))
            .collect();
        rates.insert(
            crate::metrics::CLOSING_RATE,
            Rate::new(closing.0, closing.1),
        );
        MetricsRow {
            group: group.into(),
            cases,
            rates,
        }
    }

    fn total(rows: &[MetricsRow], group: &str) -> MetricsRow {
        let cases = rows.iter().map(|r| r.cases).sum();
        let n = rows
            .iter()
            .map(|r| r.rate(crate::metrics::CLOSING_RATE).unwrap().numerator)
            .sum();
        let d = rows
            .iter()
            .map(|r| r.rate(crate::metrics::CLOSING_RATE).unwrap().denominator)
            .sum();
        row(group, cases, (n, d))
    }

    #[test]
    fn a_single_small_cell_takes_the_next_smallest_with_it() {
        let rows = vec![
            row("a", 50, (40, 45)),
            row("b", 3, (1, 3)),
            row("c", 20, (10, 12)),
            row("d", 30, (5, 25)),
        ];
        let totals = BTreeMap::from([("city".to_owned(), total(&rows, "city"))]);
        let (published, published_totals) = suppress(&rows, &totals, |_| "city".into(), 10);
        let cases: Vec<Option<u64>> = published.iter().map(|r| r.cases).collect();
        // b (3) is primary; c (20) is the smallest other: both hidden.
        assert_eq!(cases, vec![Some(50), None, None, Some(30)]);
        let closing: Vec<bool> = published
            .iter()
            .map(|r| r.rates[crate::metrics::CLOSING_RATE].suppressed)
            .collect();
        assert_eq!(closing, vec![false, true, true, false]);
        assert_eq!(published_totals[0].cases, Some(103));
        // The shown rate keeps its counts.
        let a = published[0].rates[crate::metrics::CLOSING_RATE];
        assert_eq!((a.numerator, a.denominator), (Some(40), Some(45)));
        assert_eq!(published[1].rates[crate::metrics::CLOSING_RATE].value, None);
    }

    #[test]
    fn zeros_are_shown_and_a_small_total_is_hidden() {
        let rows = vec![row("a", 0, (0, 0)), row("b", 4, (2, 4))];
        let totals = BTreeMap::from([("city".to_owned(), total(&rows, "city"))]);
        let (published, totals) = suppress(&rows, &totals, |_| "city".into(), 10);
        assert_eq!(published[0].cases, Some(0));
        assert_eq!(published[1].cases, None);
        assert_eq!(totals[0].cases, None);
    }

    proptest! {
        #[test]
        fn no_hidden_cell_can_be_worked_back(
            cells in proptest::collection::vec((0u64..40, 0u64..40, 0usize..3), 1..30),
            k in 2u64..15,
        ) {
            let rows: Vec<MetricsRow> = cells
                .iter()
                .enumerate()
                .map(|(i, (cases, d, p))| row(&format!("{p}-{i}"), *cases, (d / 2, *d)))
                .collect();
            let partition_of = |group: &str| group.split('-').next().unwrap_or("").to_owned();
            let mut totals = BTreeMap::new();
            for p in 0..3 {
                let members: Vec<MetricsRow> =
                    rows.iter().filter(|r| partition_of(&r.group) == p.to_string()).cloned().collect();
                totals.insert(p.to_string(), total(&members, &p.to_string()));
            }
            let (published, published_totals) = suppress(&rows, &totals, partition_of, k);
            for p in 0..3 {
                let p = p.to_string();
                let members: Vec<(&MetricsRow, &PublicRow)> = rows
                    .iter()
                    .zip(&published)
                    .filter(|(r, _)| partition_of(&r.group) == p)
                    .collect();
                let total_shown = published_totals.iter().find(|t| t.partition == p).and_then(|t| t.cases);
                let hidden_nonzero = members.iter().filter(|(r, pr)| pr.cases.is_none() && r.cases > 0).count();
                if total_shown.is_some() {
                    prop_assert!(hidden_nonzero != 1, "one hidden cell in {p} can be worked back");
                }
                for (r, pr) in &members {
                    if let Some(shown) = pr.cases {
                        prop_assert!(shown == 0 || shown >= k);
                        prop_assert_eq!(shown, r.cases);
                    }
                }
                if let Some(shown) = total_shown {
                    prop_assert!(shown == 0 || shown >= k);
                }
                // The same for a rate's cells (numerator and denominator).
                let key = crate::metrics::CLOSING_RATE;
                let total_rate = published_totals.iter().find(|t| t.partition == p).map(|t| t.rates[key]);
                let hidden_rates = members
                    .iter()
                    .filter(|(r, pr)| pr.rates[key].suppressed && r.rate(key).unwrap().denominator > 0)
                    .count();
                if total_rate.is_some_and(|t| !t.suppressed) {
                    prop_assert!(hidden_rates != 1, "one hidden rate in {p} can be worked back");
                }
                for (_, pr) in &members {
                    if let Some(d) = pr.rates[key].denominator {
                        prop_assert!(d == 0 || d >= k);
                    }
                }
            }
        }
    }
}
