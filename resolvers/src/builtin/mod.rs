//! The resolvers built into codexport, one module each.

pub mod cargo;
pub mod github_release;
pub mod npm;
pub mod path;
mod resolve_common;
pub mod source;
pub mod url;
pub mod uv;

pub use cargo::CargoResolver;
pub use github_release::GithubReleaseResolver;
pub use npm::NpmResolver;
pub use path::PathResolver;
pub use source::SourceResolver;
pub use url::UrlResolver;
pub use uv::UvResolver;
