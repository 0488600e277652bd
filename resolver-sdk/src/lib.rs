//! Write codexport resolver plugins in Rust: a plain trait, typed values, and one
//! `export_resolver!` line, compiled to a `wasm32-wasip2` component.
