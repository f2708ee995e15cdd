//! The in-memory chart tree, as Helm's `chart.Chart`: metadata, default values, schema, templates,
//! other files, and subcharts. Owned data (`Send` and `Sync`), so a loaded chart can cross
//! threads.

use std::sync::Arc;

use super::load::DeferredRead;
use super::metadata::ChartMetadata;

/// One file of a chart, by its chart-relative `/`-separated path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFile {
    pub name: String,
    pub data: Vec<u8>,
}

/// A plain file (`.Files` only) that loading a chart directory left unread: its bytes are read
/// when a template first asks for them. A chart's README, changelog and CI values are most of
/// its files, and few templates read them.
#[derive(Debug, Clone)]
pub struct UnreadFile {
    pub name: String,
    source: Arc<DeferredRead>,
}

impl UnreadFile {
    pub(super) fn new(name: String, source: Arc<DeferredRead>) -> UnreadFile {
        UnreadFile { name, source }
    }

    /// The file's bytes (a leading UTF-8 byte-order mark removed, as for every loaded file),
    /// read on the first call; later calls, on any thread, share that read's outcome.
    pub fn bytes(&self) -> Result<&[u8], &str> {
        self.source.bytes()
    }
}

/// A loaded chart with its subcharts.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    pub metadata: ChartMetadata,
    /// `Chart.lock` (or `requirements.lock` for v1 charts), unparsed.
    pub lock: Option<Vec<u8>>,
    /// The text of `values.yaml` (empty when the chart has none).
    pub values_yaml: String,
    /// `values.schema.json`, when present.
    pub schema: Option<Vec<u8>>,
    /// Files under `templates/` (including partials and `NOTES.txt`), in load order.
    pub templates: Vec<ChartFile>,
    /// Every other file (`.Files`) read with the chart: from an archive all of them (README,
    /// `crds/`, config files, `.helmignore`, `requirements.yaml` of v1 charts), from a directory
    /// only those its load reads anyway (`crds/`, lock files, symlinked files), the rest being in
    /// `unread_files`.
    pub files: Vec<ChartFile>,
    /// More `.Files`, from a directory load: those no load or render step needs unless a
    /// template asks (archives and in-memory charts have none).
    pub unread_files: Vec<UnreadFile>,
    /// Subcharts from `charts/` (directories and archives), sorted by directory name.
    pub dependencies: Vec<Chart>,
}

impl Chart {
    /// The chart's name from `Chart.yaml` (after alias processing, the alias).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// The error of the first read of an unread file (this chart's, then its subcharts') that
    /// was asked for and failed: a render that asked must fail even where `.Files` could not
    /// report it (`AsConfig`, `.Files.NAME`, printing the whole object).
    pub fn failed_read(&self) -> Option<String> {
        self.unread_files
            .iter()
            .find_map(|f| f.source.failed().map(str::to_string))
            .or_else(|| self.dependencies.iter().find_map(Chart::failed_read))
    }

    /// Every `values.schema.json` of the tree (this chart's, then its subcharts' in order): what
    /// a render may have to compile, whichever charts its values enable. A text that appears
    /// twice is listed twice; compiling skips repeats.
    pub fn schemas(&self) -> Vec<&[u8]> {
        let mut out: Vec<&[u8]> = Vec::new();
        self.collect_schemas(&mut out);
        out
    }

    fn collect_schemas<'a>(&'a self, out: &mut Vec<&'a [u8]>) {
        if let Some(schema) = &self.schema {
            out.push(schema);
        }
        for dep in &self.dependencies {
            dep.collect_schemas(out);
        }
    }
}

/// Whether a file name ends like a CRD file Helm reads (`.yaml`, `.yml`, `.json`, any case).
pub(crate) fn is_yaml_or_json(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".yaml", ".yml", ".json"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}
