//! Helm charts as data: `Chart.yaml` metadata, `.helmignore` rules, loading a chart tree from a
//! directory, a `.tgz` archive or bytes, and dependency processing (condition, tags, alias,
//! import-values, library charts).

pub mod ignore;
pub mod metadata;

pub use ignore::IgnoreRules;
pub use metadata::{ChartMetadata, Dependency, ImportValue, Maintainer, MetadataError};
