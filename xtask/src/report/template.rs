//! Renders the report's facts with the Markdown templates of `xtask/templates/` (minijinja).
//!
//! The templates are compiled into the binary (`include_str!`), so `cargo xtask report` needs no
//! file besides the run files, and cargo rebuilds it whenever a template changes. Blocks
//! (`{% if %}`, `{% for %}`) on a line of their own leave no trace in the output (`trim_blocks`
//! and `lstrip_blocks`); a paragraph is one line, as in the rendered Markdown. Numbers become
//! text only through the filters registered here, each one a format of [`crate::stats`]; an
//! undefined name is an error, so a misspelt fact fails the golden test instead of vanishing.

use super::Facts;
use crate::stats;
use crate::Result;
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

/// The template rendered first; it includes one template per section.
pub const MAIN: &str = "report.md.j2";

/// Every template, by the name the others include it with.
pub const TEMPLATES: [(&str, &str); 15] = [
    (MAIN, include_str!("../../templates/report.md.j2")),
    ("macros.md.j2", include_str!("../../templates/macros.md.j2")),
    ("setup.md.j2", include_str!("../../templates/setup.md.j2")),
    (
        "final_errors.md.j2",
        include_str!("../../templates/final_errors.md.j2"),
    ),
    ("curves.md.j2", include_str!("../../templates/curves.md.j2")),
    (
        "complexity.md.j2",
        include_str!("../../templates/complexity.md.j2"),
    ),
    (
        "gradient_sizes.md.j2",
        include_str!("../../templates/gradient_sizes.md.j2"),
    ),
    (
        "lr_batch.md.j2",
        include_str!("../../templates/lr_batch.md.j2"),
    ),
    ("epochs.md.j2", include_str!("../../templates/epochs.md.j2")),
    ("search.md.j2", include_str!("../../templates/search.md.j2")),
    ("digits.md.j2", include_str!("../../templates/digits.md.j2")),
    ("review.md.j2", include_str!("../../templates/review.md.j2")),
    (
        "benchmark.md.j2",
        include_str!("../../templates/benchmark.md.j2"),
    ),
    (
        "scaling.md.j2",
        include_str!("../../templates/scaling.md.j2"),
    ),
    (
        "reproduce.md.j2",
        include_str!("../../templates/reproduce.md.j2"),
    ),
];

/// The environment holding the templates and the number filters.
pub fn environment() -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()?,
    );
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    env.add_filter("pct", stats::pct);
    env.add_filter("pct0", stats::pct0);
    env.add_filter("points", stats::points);
    env.add_filter("points3", stats::points3);
    env.add_filter("pct_mean_std", |xs: Vec<f64>| stats::pct_mean_std(&xs));
    env.add_filter("pct3_mean_std", |xs: Vec<f64>| stats::pct3_mean_std(&xs));
    env.add_filter("thousands", |x: f64| stats::thousands(x.round() as u64));
    env.add_filter("secs", stats::secs);
    env.add_filter("times", stats::times);
    env.add_filter("num", stats::num);
    env.add_filter("short", stats::short);
    env.add_filter("sig4", stats::sig4);
    env.add_filter("fixed", stats::fixed);
    env.add_filter("sci", stats::sci);
    Ok(env)
}

/// Renders `REPORT.md` from the facts.
pub fn render(facts: &Facts) -> Result<String> {
    let env = environment()?;
    let text = env
        .get_template(MAIN)?
        .render(Value::from(Serde(facts)))
        .map_err(|e| format!("rendering the report's templates: {e:#}"))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(source: &str, expected: &str) {
        let env = environment().unwrap();
        assert_eq!(env.render_str(source, ()).unwrap(), expected);
    }

    #[test]
    fn filters_apply_the_formats_of_stats() {
        check("{{ 0.01234 | pct }}", "1.23 %");
        check("{{ 0.0012 | points }}", "0.12");
        check("{{ 109260 | thousands }}", "109 260");
        check(
            "{{ [0.016, 0.017, 0.018] | pct_mean_std }}",
            "1.70 ± 0.10 %",
        );
        check("{{ 0.04036 | fixed(4) }}", "0.0404");
        check("{{ 0.0005 | num }}", "0.0005");
        check("{{ 1.0 | num }}", "1");
    }

    #[test]
    fn block_lines_leave_no_trace() {
        check("a\n{% if true %}\nb\n{% endif %}\nc\n", "a\nb\nc\n");
    }

    #[test]
    fn an_undefined_fact_is_an_error() {
        let env = environment().unwrap();
        assert!(env.render_str("{{ missing.field }}", ()).is_err());
    }
}
