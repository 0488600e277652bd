//! The exit-code tables in README.md and docs/exit-codes.md say what the code does.

use codexport_core::ExitStatus;

/// The `| code | meaning |` rows of the first exit-code table in `text`.
fn table_rows(text: &str) -> Vec<(u8, String)> {
    let start = text.find("| code | meaning |").expect("an exit-code table");
    text[start..]
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            (
                cells[0].parse().expect("a numeric code"),
                cells[1].to_owned(),
            )
        })
        .collect()
}

fn expected() -> Vec<(u8, String)> {
    ExitStatus::TABLE
        .iter()
        .map(|(status, meaning)| (status.code(), (*meaning).to_owned()))
        .collect()
}

#[test]
fn readme_table_matches_the_code() {
    let readme = include_str!("../README.md");
    assert_eq!(table_rows(readme), expected());
}

#[test]
fn docs_table_matches_the_code() {
    let docs = include_str!("../docs/exit-codes.md");
    assert_eq!(table_rows(docs), expected());
}
