//! One module per command group; each verb is one file with one documented entry function.

pub(crate) mod completions;
