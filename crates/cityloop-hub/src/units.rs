//! A small built-in unit table for mappings' `unit = { from, to }`. Units
//! are grouped by dimension with a factor to the dimension's base unit, so
//! any two units of one dimension convert and units of different dimensions
//! never do (亩 → 元 is a compile error, not a silent factor).

/// (unit names, dimension, factor to the dimension's base unit)
const UNITS: &[(&[&str], &str, f64)] = &[
    (&["m2", "m²", "平方米"], "area", 1.0),
    (&["亩"], "area", 10_000.0 / 15.0),
    (&["公顷", "ha", "hm2"], "area", 10_000.0),
    (&["km2", "km²", "平方公里", "平方千米"], "area", 1_000_000.0),
    (&["元", "CNY"], "money", 1.0),
    (&["万元"], "money", 10_000.0),
    (&["亿元"], "money", 100_000_000.0),
    (&["m", "米"], "length", 1.0),
    (&["cm", "厘米"], "length", 0.01),
    (&["km", "公里", "千米"], "length", 1000.0),
    (&["kg", "千克", "公斤"], "mass", 1.0),
    (&["g", "克"], "mass", 0.001),
    (&["t", "吨"], "mass", 1000.0),
];

fn lookup(unit: &str) -> Option<(&'static str, f64)> {
    UNITS
        .iter()
        .find(|(names, _, _)| names.contains(&unit))
        .map(|(_, dim, f)| (*dim, *f))
}

/// The factor that converts a value in `from` into `to`, or a reason.
pub fn factor(from: &str, to: &str) -> Result<f64, String> {
    let (from_dim, from_f) = lookup(from).ok_or_else(|| format!("unknown unit '{from}'"))?;
    let (to_dim, to_f) = lookup(to).ok_or_else(|| format!("unknown unit '{to}'"))?;
    if from_dim != to_dim {
        return Err(format!(
            "cannot convert {from} ({from_dim}) to {to} ({to_dim})"
        ));
    }
    Ok(from_f / to_f)
}

#[cfg(test)]
mod tests {
    use super::factor;

    #[test]
    fn conversions() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b.abs().max(1.0);
        assert!(close(factor("亩", "m2").unwrap() * 15.0, 10_000.0));
        assert!(close(factor("公顷", "亩").unwrap(), 15.0));
        assert!(close(factor("元", "万元").unwrap() * 2_500_000.0, 250.0));
        assert!(close(factor("万元", "元").unwrap(), 10_000.0));
        assert!(close(factor("km", "m").unwrap(), 1000.0));
        assert_eq!(
            factor("亩", "元"),
            Err("cannot convert 亩 (area) to 元 (money)".to_string())
        );
        assert_eq!(
            factor("furlong", "m"),
            Err("unknown unit 'furlong'".to_string())
        );
    }
}
