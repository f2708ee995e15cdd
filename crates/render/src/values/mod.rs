//! Helm's values semantics, independent of the chart loader: coalescing user values into a chart
//! tree's defaults (`CoalesceValues`/`MergeValues`), merging `-f` files and `--set`-style flags
//! (`values.Options.MergeValues`), the `--set` parsers, and JSON Schema validation of the result.

pub mod coalesce;
mod go_patterns;
pub mod schema;
pub mod strvals;
pub mod user;

pub use coalesce::{ValuesTree, coalesce_values, merge_maps, merge_values};
pub use schema::{
    CompiledSchemas, SchemaChecks, SchemaError, prepare_schema_checks, validate_against_schemas,
};
pub use user::{UserValues, ValuesError};
