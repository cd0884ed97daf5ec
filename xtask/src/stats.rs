//! Means, standard deviations and the fixed number formats of the report: the one place where a
//! number becomes text (the report's templates reach these formats as filters, see
//! `report::template`).

/// Mean of `xs` (NaN when empty).
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (n − 1 in the denominator); 0 for a single value, NaN when empty.
pub fn std_dev(xs: &[f64]) -> f64 {
    match xs.len() {
        0 => f64::NAN,
        1 => 0.0,
        n => {
            let m = mean(xs);
            (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        }
    }
}

/// A rate as a percentage with two decimals: `0.01234` → `1.23 %`; `—` for NaN.
pub fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{:.2} %", 100.0 * x)
    } else {
        "—".into()
    }
}

/// A difference of rates in percentage points: `0.0012` → `0.12`.
pub fn points(x: f64) -> String {
    format!("{:.2}", 100.0 * x)
}

/// A difference of rates in percentage points with three decimals, for comparisons with a
/// threshold: `0.00107` → `0.107`.
pub fn points3(x: f64) -> String {
    format!("{:.3}", 100.0 * x)
}

/// A ratio as a whole percentage: `0.904` → `90 %`.
pub fn pct0(x: f64) -> String {
    format!("{:.0} %", 100.0 * x)
}

/// A number with a fixed count of decimals: `fixed(0.04036, 4)` → `0.0404`.
pub fn fixed(x: f64, decimals: usize) -> String {
    format!("{x:.decimals$}")
}

/// Scientific notation with a fixed count of decimals: `sci(0.0001783, 3)` → `1.783e-4`.
pub fn sci(x: f64, decimals: usize) -> String {
    format!("{x:.decimals$e}")
}

/// Four significant digits: `0.031249` → `0.03125`.
pub fn sig4(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (3 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.decimals$}")
}

/// Mean ± sample standard deviation of rates, in percent: `1.62 ± 0.04 %`.
pub fn pct_mean_std(xs: &[f64]) -> String {
    if xs.is_empty() || xs.iter().any(|x| !x.is_finite()) {
        return "—".into();
    }
    format!("{:.2} ± {:.2} %", 100.0 * mean(xs), 100.0 * std_dev(xs))
}

/// [`pct_mean_std`] with three decimals, for comparisons with a threshold: `1.597 ± 0.064 %`.
pub fn pct3_mean_std(xs: &[f64]) -> String {
    if xs.is_empty() || xs.iter().any(|x| !x.is_finite()) {
        return "—".into();
    }
    format!("{:.3} ± {:.3} %", 100.0 * mean(xs), 100.0 * std_dev(xs))
}

/// A count with spaces between groups of three digits: `109260` → `109 260` (shared with the
/// charts' titles).
pub use mlp_cli::plot::thousands;

/// Seconds with one decimal.
pub fn secs(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "—".into()
    }
}

/// A ratio with two significant decimals below 10 (`3.14×`), none above (`42×`).
pub fn times(x: f64) -> String {
    if !x.is_finite() {
        "—".into()
    } else if x < 10.0 {
        format!("{x:.2}×")
    } else {
        format!("{x:.0}×")
    }
}

/// A floating-point hyper-parameter as written on the command line (`0.0005`, `1`).
pub fn num(x: f64) -> String {
    format!("{x}")
}

/// A computed value with at most three decimals, trailing zeros removed: `0.5000000001` → `0.5`.
pub fn short(x: f64) -> String {
    let text = format!("{x:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(pct(0.01234), "1.23 %");
        assert_eq!(pct(f64::NAN), "—");
        assert_eq!(thousands(109_260), "109 260");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1 000 000");
        assert_eq!(pct_mean_std(&[0.016, 0.017, 0.018]), "1.70 ± 0.10 %");
        assert_eq!(pct3_mean_std(&[0.0156, 0.0156, 0.0167]), "1.597 ± 0.064 %");
        assert_eq!(times(2.71), "2.71×");
        assert_eq!(times(42.4), "42×");
        assert_eq!(num(5e-4), "0.0005");
        assert_eq!(num(1.0), "1");
        assert_eq!(short(0.05 / (1.0 - 0.9)), "0.5");
        assert_eq!(short(2.0), "2");
        assert_eq!(short(0.0126), "0.013");
        assert_eq!(points3(0.00107), "0.107");
        assert_eq!(pct0(0.904), "90 %");
        assert_eq!(fixed(0.04036, 4), "0.0404");
        assert_eq!(sci(0.0001783, 3), "1.783e-4");
        assert_eq!(sig4(0.031249), "0.03125");
        assert_eq!(sig4(2.0), "2.000");
        assert_eq!(sig4(0.0), "0");
    }

    #[test]
    fn sample_standard_deviation() {
        assert_eq!(std_dev(&[1.0]), 0.0);
        assert!((std_dev(&[1.0, 2.0, 3.0]) - 1.0).abs() < 1e-15);
        assert!(mean(&[]).is_nan());
    }
}
