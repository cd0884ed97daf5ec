//! Means, standard deviations and the fixed number formats of the report.

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

/// A count with spaces between groups of three digits: `109260` → `109 260`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

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
    }

    #[test]
    fn sample_standard_deviation() {
        assert_eq!(std_dev(&[1.0]), 0.0);
        assert!((std_dev(&[1.0, 2.0, 3.0]) - 1.0).abs() < 1e-15);
        assert!(mean(&[]).is_nan());
    }
}
