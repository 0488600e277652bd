//! Three-way merge of `config.toml`: the newly generated file, with what Codex itself wrote
//! on this follower since the last apply (project trust, hook trust, `codex mcp add`).
//!
//! base = the file the last apply generated (kept in the tool home), ours = the new generated
//! file, theirs = the Codex home's file now. The result starts from ours, so the master's
//! comments and layout survive; a key Codex added, changed or removed is carried over; a key
//! both sides changed keeps the local value and is reported. Values compare by meaning, not
//! text: Codex rewrites tables without comments and turns integers into floats.

use std::fmt;
use std::path::Path;

use toml_edit::{Item, Table};

use super::overlay::{detached, spaced};
use crate::error::Error;
use crate::mcp::config::item_to_json;
use crate::settings::{TomlOwner, parse_document};

/// One thing the merge decided that the user should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeNote {
    /// The dotted key (`projects."/x".trust_level`).
    pub key: String,
    /// What happened.
    pub kind: NoteKind,
}

/// What the merge did with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// Changed on both sides: the local value was kept.
    KeptLocal,
    /// Added, changed or removed locally: carried into the new file.
    CarriedLocal,
}

impl fmt::Display for MergeNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            NoteKind::KeptLocal => write!(
                f,
                "`{}` was changed here and on the master: kept this machine's value",
                self.key
            ),
            NoteKind::CarriedLocal => write!(f, "`{}`: kept the local edit", self.key),
        }
    }
}

/// The merged file and the notes.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The text to write.
    pub text: String,
    /// What was carried over or kept.
    pub notes: Vec<MergeNote>,
}

impl Merged {
    /// The keys changed on both sides.
    pub fn conflicts(&self) -> impl Iterator<Item = &MergeNote> {
        self.notes.iter().filter(|n| n.kind == NoteKind::KeptLocal)
    }
}

/// Merges `generated` with `current` (the Codex home's file, at `current_path`) over `base`.
///
/// Without a base (the first apply), keys only `current` has survive and every other key
/// takes the generated value.
pub fn merge(
    base: Option<&str>,
    generated: &str,
    current: Option<&str>,
    current_path: &Path,
) -> Result<Merged, Error> {
    let unchanged = Merged {
        text: generated.to_owned(),
        notes: Vec::new(),
    };
    let Some(current) = current else {
        return Ok(unchanged);
    };
    if current == generated || Some(current) == base {
        return Ok(unchanged);
    }
    let mut ours = parse_document(
        generated,
        Path::new("generated config.toml"),
        TomlOwner::Codexport,
    )?;
    let theirs = parse_document(current, current_path, TomlOwner::Codex)?;
    let base = match base {
        Some(b) => Some(parse_document(
            b,
            Path::new("config.toml base"),
            TomlOwner::Codexport,
        )?),
        None => None,
    };
    let mut notes = Vec::new();
    let mut ctx = Ctx {
        first_apply: base.is_none(),
        notes: &mut notes,
    };
    ctx.table(
        ours.as_table_mut(),
        base.as_ref().map(|b| b.as_table()),
        theirs.as_table(),
        &mut Vec::new(),
    );
    Ok(Merged {
        text: ours.to_string(),
        notes,
    })
}

struct Ctx<'n> {
    first_apply: bool,
    notes: &'n mut Vec<MergeNote>,
}

impl Ctx<'_> {
    fn table(
        &mut self,
        ours: &mut Table,
        base: Option<&Table>,
        theirs: &Table,
        path: &mut Vec<String>,
    ) {
        let mut keys: Vec<String> = theirs.iter().map(|(k, _)| k.to_owned()).collect();
        if let Some(base) = base {
            keys.extend(
                base.iter()
                    .map(|(k, _)| k.to_owned())
                    .filter(|k| !theirs.contains_key(k)),
            );
        }
        for key in keys {
            let b = base.and_then(|t| t.get(&key));
            let t = theirs.get(&key);
            path.push(key.clone());
            match (ours.get_mut(&key), t) {
                (Some(Item::Table(o)), Some(Item::Table(t))) => {
                    let b = b.and_then(Item::as_table);
                    self.table(o, b, t, path);
                }
                _ => self.leaf(ours, &key, b, t, path),
            }
            path.pop();
        }
    }

    fn leaf(
        &mut self,
        ours: &mut Table,
        key: &str,
        b: Option<&Item>,
        t: Option<&Item>,
        path: &[String],
    ) {
        let g = ours.get(key);
        if same(g, t) {
            return;
        }
        let take_theirs = if self.first_apply {
            g.is_none()
        } else if same(t, b) {
            false
        } else if same(g, b) {
            true
        } else {
            self.note(path, NoteKind::KeptLocal);
            true
        };
        if !take_theirs {
            return;
        }
        if !self.first_apply && self.notes.last().is_none_or(|n| n.key != dotted(path)) {
            self.note(path, NoteKind::CarriedLocal);
        }
        match t {
            Some(item) => {
                ours.insert(key, spaced(detached(item.clone())));
            }
            None => {
                ours.remove(key);
            }
        }
    }

    fn note(&mut self, path: &[String], kind: NoteKind) {
        self.notes.push(MergeNote {
            key: dotted(path),
            kind,
        });
    }
}

/// Whether two items mean the same (formatting, comments, int vs float aside).
pub(crate) fn same(a: Option<&Item>, b: Option<&Item>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => normal(item_to_json(a)) == normal(item_to_json(b)),
        _ => false,
    }
}

fn normal(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(J::Number(n), J::Number),
        J::Array(a) => J::Array(a.into_iter().map(normal).collect()),
        J::Object(o) => J::Object(o.into_iter().map(|(k, v)| (k, normal(v))).collect()),
        other => other,
    }
}

pub(crate) fn dotted(path: &[String]) -> String {
    path.iter()
        .map(|k| {
            if !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                k.clone()
            } else {
                format!("{k:?}")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use toml_edit::DocumentMut;

    /// Top-level `key = int` pairs and `[t.key] v = int` tables.
    type Side = (Vec<(String, i64)>, Vec<(String, i64)>);

    const BASE: &str = r#"# master comment
model = "gpt-5"
approval_policy = "on-request"

[mcp_servers.fs]
command = "/l/run"
args = ["mcp", "run", "fs"]
startup_timeout_sec = 20
"#;

    fn run(base: Option<&str>, ours: &str, theirs: &str) -> Merged {
        let m = merge(base, ours, Some(theirs), Path::new("config.toml")).unwrap();
        m.text.parse::<DocumentMut>().expect("merged text is TOML");
        m
    }

    #[test]
    fn codex_trust_and_mcp_add_survive_a_master_change() {
        // Codex added project trust and rewrote mcp_servers (no comments, floats).
        let theirs = r#"# master comment
model = "gpt-5"
approval_policy = "on-request"

[mcp_servers.fs]
command = "/l/run"
args = ["mcp", "run", "fs"]
startup_timeout_sec = 20.0

[mcp_servers.mine]
command = "mine"

[projects."/home/bo/src"]
trust_level = "trusted"
"#;
        let ours = BASE.replace("gpt-5\"", "gpt-5.1\" # newer");
        let m = run(Some(BASE), &ours, theirs);
        assert_eq!(
            m.text,
            r#"# master comment
model = "gpt-5.1" # newer
approval_policy = "on-request"

[mcp_servers.fs]
command = "/l/run"
args = ["mcp", "run", "fs"]
startup_timeout_sec = 20

[mcp_servers.mine]
command = "mine"

[projects."/home/bo/src"]
trust_level = "trusted"
"#
        );
        assert_eq!(m.conflicts().count(), 0);
        let keys: Vec<_> = m.notes.iter().map(|n| n.key.as_str()).collect();
        assert_eq!(keys, ["mcp_servers.mine", "projects"]);
    }

    #[test]
    fn both_changed_keeps_local_and_reports() {
        let theirs = BASE.replace("on-request", "never");
        let ours = BASE.replace("on-request", "untrusted");
        let m = run(Some(BASE), &ours, &theirs);
        assert!(m.text.contains("approval_policy = \"never\""), "{}", m.text);
        let conflicts: Vec<_> = m.conflicts().map(|n| n.key.clone()).collect();
        assert_eq!(conflicts, ["approval_policy"]);
    }

    #[test]
    fn local_removals_carry_and_master_changes_apply() {
        let theirs = BASE.replace("approval_policy = \"on-request\"\n", "");
        let ours = BASE.replace("20", "30");
        let m = run(Some(BASE), &ours, &theirs);
        assert!(!m.text.contains("approval_policy"), "{}", m.text);
        assert!(m.text.contains("startup_timeout_sec = 30"), "{}", m.text);
    }

    #[test]
    fn first_apply_keeps_local_only_keys_and_takes_the_generated_rest() {
        let theirs = "model = \"old\"\n[projects.\"/p\"]\ntrust_level = \"trusted\"\n";
        let m = run(None, BASE, theirs);
        assert!(m.text.contains("model = \"gpt-5\""), "{}", m.text);
        assert!(m.text.contains("[projects.\"/p\"]"), "{}", m.text);
        assert!(m.notes.is_empty());
    }

    #[test]
    fn invalid_local_toml_names_the_file() {
        let err = merge(
            Some(BASE),
            BASE,
            Some("a = [\n"),
            Path::new("/c/config.toml"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/c/config.toml:"), "{err}");
    }

    fn doc_text(pairs: &[(String, i64)], tables: &[(String, i64)]) -> String {
        let mut s = String::new();
        for (k, v) in pairs {
            s.push_str(&format!("{k} = {v}\n"));
        }
        for (k, v) in tables {
            s.push_str(&format!("[t.{k}]\nv = {v}\n"));
        }
        s
    }

    fn side() -> impl Strategy<Value = Side> {
        let kv = proptest::collection::btree_map("[a-d]", 0i64..3, 0..4)
            .prop_map(|m| m.into_iter().collect::<Vec<_>>());
        (kv.clone(), kv)
    }

    proptest! {
        // The classic three-way-merge laws, on flat keys and sub-tables.
        #[test]
        fn merge_laws(base in side(), ours in side(), theirs in side()) {
            let b = doc_text(&base.0, &base.1);
            let o = doc_text(&ours.0, &ours.1);
            let t = doc_text(&theirs.0, &theirs.1);
            let parse = |s: &str| s.parse::<DocumentMut>().unwrap();
            let json = |s: &str| normal(item_to_json(parse(s).as_item()));
            // Nothing changed locally: ours wins exactly.
            prop_assert_eq!(run(Some(&b), &o, &b).text, o.clone());
            // Nothing changed on the master: theirs wins in meaning.
            prop_assert_eq!(json(&run(Some(&b), &b, &t).text), json(&t));
            // Same change on both sides: that change.
            prop_assert_eq!(json(&run(Some(&b), &t, &t).text), json(&t));
            // Otherwise every key equals theirs where theirs changed, ours where only ours did.
            let m = json(&run(Some(&b), &o, &t).text);
            let (jb, jo, jt) = (json(&b), json(&o), json(&t));
            for (k, v) in jt.as_object().unwrap() {
                if k == "t" { continue; }
                if jb.get(k) != Some(v) { prop_assert_eq!(m.get(k), Some(v)); }
            }
            for (k, v) in jo.as_object().unwrap() {
                if k == "t" { continue; }
                if jb.get(k) == jt.get(k) { prop_assert_eq!(m.get(k), Some(v)); }
            }
        }
    }
}
