//! "Did you mean": the known names ordered by closeness to an unknown one.

/// `candidates` ordered closest to `name` first (Jaro-Winkler similarity, ties by name).
pub fn by_similarity<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<&'a str> {
    let mut ranked: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    ranked.into_iter().map(|(_, c)| c).collect()
}

/// [`by_similarity`] as one comma-separated list for an error message, `none` when empty.
pub fn known_list<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let ranked = by_similarity(name, candidates);
    if ranked.is_empty() {
        "none".to_owned()
    } else {
        ranked.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closest_name_comes_first() {
        assert_eq!(
            by_similarity("github", ["npm", "github-release", "cargo"]),
            ["github-release", "cargo", "npm"]
        );
        assert_eq!(known_list("tme", ["zeta", "time"]), "time, zeta");
        assert_eq!(known_list("x", []), "none");
    }
}
