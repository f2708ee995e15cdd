//! Helm charts as data: `Chart.yaml` metadata, `.helmignore` rules, loading a chart tree from a
//! directory, a `.tgz` archive or bytes, and dependency processing (condition, tags, alias,
//! import-values, library charts).

pub mod dependencies;
pub mod ignore;
pub mod load;
pub mod metadata;
pub mod model;

pub use dependencies::{ResolvedChart, check_dependencies, process_dependencies};
pub use ignore::IgnoreRules;
pub use load::{LoadError, LoadLimits, load_archive, load_dir, load_path};
pub use metadata::{ChartMetadata, Dependency, ImportValue, Maintainer, MetadataError};
pub(crate) use model::is_yaml_or_json;
pub use model::{Chart, ChartFile, UnreadFile};
