//! The `source` resolver: local node, python and cargo projects packed into the object store.

mod infer;
mod resolve;

use codexport_core::mcp::manifest::McpEntry;
use serde_json::{Map, Value};

use super::{Builtin, InferFn, ResolveFn, args_from_entry, bad_hint};
use crate::spec::{SourceKind, SourceSpec};
use crate::{Error, InferContext, pack};

/// The `source` resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct SourceResolver;

impl Builtin for SourceResolver {
    type Spec = SourceSpec;
    const INFER: InferFn = infer::infer;
    const RESOLVE: ResolveFn = resolve::resolve;

    /// A hint with `object` names a tree already packed; one with `root` has it packed now
    /// (and the entry's `args` when it leaves them out).
    fn complete_hint(
        &self,
        cx: &InferContext<'_>,
        entry: &McpEntry,
        fields: &mut Map<String, Value>,
    ) -> Result<Vec<String>, Error> {
        if let Some(object) = fields.get("object") {
            return Ok(object.as_str().map(str::to_owned).into_iter().collect());
        }
        args_from_entry(entry, fields);
        let root = fields.get("root").and_then(|r| r.as_str()).ok_or_else(|| {
            bad_hint::<Self>(entry, "a `source` hint needs `root`, the project directory")
        })?;
        let root = std::path::PathBuf::from(root);
        if !root.is_dir() {
            return Err(bad_hint::<Self>(
                entry,
                format!("`root` `{}` is not a directory", root.display()),
            ));
        }
        let kind: Option<SourceKind> = fields
            .get("kind")
            .and_then(|k| serde_json::from_value(k.clone()).ok());
        let keep = fields
            .get("entry")
            .and_then(|e| e.as_str())
            .filter(|_| kind == Some(SourceKind::Node));
        let packed = pack::pack(cx, entry, &root, keep)?;
        fields.insert("object".into(), packed.object.clone().into());
        Ok(vec![packed.object])
    }

    fn summary(source: SourceSpec) -> String {
        let kind = serde_json::to_value(source.kind).ok();
        let kind = kind.as_ref().and_then(|k| k.as_str()).unwrap_or("?");
        format!("{kind} {} from {}", source.entry, source.root)
    }
}
