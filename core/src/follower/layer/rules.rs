//! Merges `rules/default.rules`: Codex appends a `prefix_rule(...)` there when a user picks
//! "always allow" on a follower, so the lines it added since the last apply are kept after the
//! canonical rules instead of being clobbered.

use std::collections::HashSet;

/// The managed rules file Codex appends to.
pub const DEFAULT_RULES: &str = "rules/default.rules";

/// `canonical` followed by the lines of `current` that were neither in `base` (what the last
/// apply wrote) nor are in `canonical`. Without a base every line of `current` not in
/// `canonical` counts as local.
pub fn merge_rules(base: Option<&str>, canonical: &str, current: Option<&str>) -> String {
    let Some(current) = current else {
        return canonical.to_owned();
    };
    let known: HashSet<&str> = base
        .unwrap_or("")
        .lines()
        .chain(canonical.lines())
        .map(str::trim_end)
        .collect();
    let local: Vec<&str> = current
        .lines()
        .filter(|l| !l.trim().is_empty() && !known.contains(l.trim_end()))
        .collect();
    if local.is_empty() {
        return canonical.to_owned();
    }
    let mut out = canonical.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for line in local {
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "prefix_rule(pattern = [\"git\", \"status\"], decision = \"allow\")\n";
    const B: &str = "prefix_rule(pattern = [\"ls\"], decision = \"allow\")\n";
    const L: &str = "prefix_rule(pattern = [\"cargo\", \"test\"], decision = \"allow\")\n";

    #[test]
    fn lines_codex_appended_survive_a_canonical_change() {
        let current = format!("{A}{L}");
        let canonical = format!("{A}{B}");
        assert_eq!(
            merge_rules(Some(A), &canonical, Some(&current)),
            format!("{A}{B}{L}")
        );
        // Applying again changes nothing.
        let again = format!("{A}{B}{L}");
        assert_eq!(
            merge_rules(Some(&canonical), &canonical, Some(&again)),
            again
        );
    }

    #[test]
    fn lines_removed_on_the_master_go_away() {
        assert_eq!(
            merge_rules(Some(&format!("{A}{B}")), A, Some(&format!("{A}{B}"))),
            A
        );
        assert_eq!(merge_rules(None, A, None), A);
    }
}
