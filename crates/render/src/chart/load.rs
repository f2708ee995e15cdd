//! Loading a chart from a directory, a `.tgz` archive or in-memory bytes, as Helm's loader does:
//! `.helmignore` for directories, the archive's top folder stripped, files sorted into metadata,
//! values, schema, templates, other files and subcharts (directories or nested archives).
//!
//! Reading is bounded (total bytes, bytes per file, file count, path depth) and refuses absolute
//! paths, `..`, and symlinks that leave the chart directory, since charts come from the network.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString, OsStr};
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};

use super::ignore::{HELM_IGNORE, IgnoreRules};
use super::metadata::{API_VERSION_V1, ChartMetadata};
use super::model::{Chart, ChartFile, UnreadFile};

/// Limits applied while loading; Helm's defaults for sizes.
#[derive(Debug, Clone, Copy)]
pub struct LoadLimits {
    /// Total decompressed bytes of a chart, subcharts included.
    pub max_total_bytes: u64,
    /// Bytes of any one file.
    pub max_file_bytes: u64,
    /// Number of files.
    pub max_files: usize,
    /// Path components of any file (subcharts nest: `charts/a/charts/b/templates/x.yaml` is 6).
    pub max_depth: usize,
}

impl Default for LoadLimits {
    fn default() -> Self {
        LoadLimits {
            max_total_bytes: 100 * 1024 * 1024,
            max_file_bytes: 5 * 1024 * 1024,
            max_files: 20_000,
            max_depth: 64,
        }
    }
}

/// Why a chart could not be loaded. Messages follow Helm's where Helm has one.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("path {0:?} not found")]
    NotFound(String),
    #[error("file '{0}' does not appear to be a gzipped archive")]
    NotGzip(String),
    #[error("{0}")]
    Archive(String),
    #[error("chart illegally contains absolute paths: {0:?}")]
    AbsolutePath(String),
    #[error("chart illegally references parent directory: {0:?}")]
    ParentReference(String),
    #[error("chart illegally contains content outside the base directory: {0:?}")]
    OutsideBase(String),
    #[error("chart yaml not in base directory")]
    ChartYamlNotInBase,
    #[error("symlink {path:?} points outside the chart directory")]
    SymlinkEscape { path: String },
    #[error("cannot load irregular file {0} as it has file mode type bits set")]
    Irregular(String),
    #[error("chart file {name:?} is larger than the maximum file size {limit}")]
    FileTooLarge { name: String, limit: u64 },
    #[error("decompressed chart is larger than the maximum size {0}")]
    ChartTooLarge(u64),
    #[error("chart has more than {0} files")]
    TooManyFiles(usize),
    #[error("path {name:?} is nested deeper than {limit} levels")]
    TooDeep { name: String, limit: usize },
    #[error("no files in chart archive")]
    EmptyArchive,
    #[error("Chart.yaml file is missing")]
    MissingChartYaml,
    #[error(transparent)]
    Metadata(#[from] super::metadata::MetadataError),
    #[error(transparent)]
    Ignore(#[from] super::ignore::IgnoreError),
    #[error("cannot load values.yaml: cannot unmarshal yaml document: {0}")]
    Values(String),
    #[error("error unpacking {name} in {parent}: {source}")]
    Subchart {
        name: String,
        parent: String,
        #[source]
        source: Box<LoadError>,
    },
    #[error("error unpacking tar in {parent}: expected {expected}, got {got}")]
    NestedArchive {
        parent: String,
        expected: String,
        got: String,
    },
}

/// Loads a chart from a directory or a `.tgz` file, deciding by what `path` is.
pub fn load_path(path: &Path, limits: &LoadLimits) -> Result<Chart, LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LoadError::NotFound(path.display().to_string()),
        _ => LoadError::Io {
            path: path.display().to_string(),
            source: e,
        },
    })?;
    if meta.is_dir() {
        load_dir(path, limits)
    } else {
        let bytes = std::fs::read(path).map_err(|e| LoadError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        if !is_gzip(&bytes) {
            return Err(LoadError::NotGzip(path.display().to_string()));
        }
        load_archive(&bytes, limits)
    }
}

fn is_gzip(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
}

/// A file read from a chart source before it is sorted into a [`Chart`].
struct RawFile {
    name: String,
    contents: Contents,
}

/// A file's bytes: read during the load, or left for the first template that asks for them.
enum Contents {
    Read(Vec<u8>),
    Unread(Arc<DeferredRead>),
}

impl RawFile {
    fn read(name: String, data: Vec<u8>) -> RawFile {
        RawFile {
            name,
            contents: Contents::Read(data),
        }
    }
}

impl Contents {
    /// The bytes, reading an unread file now (one the load itself needs after all).
    fn into_data(self) -> Result<Vec<u8>, LoadError> {
        match self {
            Contents::Read(data) => Ok(data),
            Contents::Unread(source) => read_charged_file(&source.file).map(strip_bom),
        }
    }
}

/// A file of a chart directory that the load did not read: only `.Files` can ask for it (see
/// [`read_at_load`]), and most charts never ask for their README, changelog or CI values.
#[derive(Debug)]
pub(super) struct DeferredRead {
    file: FileAt,
    read: OnceLock<Result<Vec<u8>, String>>,
}

impl DeferredRead {
    /// The bytes, read on the first call; every call shares that read's outcome.
    pub(super) fn bytes(&self) -> Result<&[u8], &str> {
        match self.read.get_or_init(|| {
            read_charged_file(&self.file)
                .map(strip_bom)
                .map_err(|e| e.to_string())
        }) {
            Ok(data) => Ok(data),
            Err(e) => Err(e),
        }
    }

    /// The error of a read that was tried and failed.
    pub(super) fn failed(&self) -> Option<&str> {
        match self.read.get() {
            Some(Err(e)) => Some(e),
            _ => None,
        }
    }
}

/// Whether a directory load reads the file at chart path `rel` (the root chart's) up front:
/// everything the load or a render needs whatever the templates do — metadata, values,
/// schema, locks, templates, subchart archives — at any subchart depth. The rest is left for
/// `.Files`, and CRD files for renders that print or install them (traefik ships 430 KB of
/// them). Only a saving: `load_files` reads any unread file it needs after all.
fn read_at_load(rel: &str) -> bool {
    let mut name = rel;
    while let Some(rest) = name.strip_prefix("charts/") {
        match rest.split_once('/') {
            Some((_, inner)) => name = inner,
            None => return true,
        }
    }
    matches!(
        name,
        "Chart.yaml"
            | "Chart.lock"
            | "values.yaml"
            | "values.schema.json"
            | "requirements.yaml"
            | "requirements.lock"
    ) || name.starts_with("templates/")
}

struct Budget<'a> {
    limits: &'a LoadLimits,
    total: u64,
    files: usize,
}

impl Budget<'_> {
    fn take(&mut self, name: &str, size: u64) -> Result<(), LoadError> {
        if size > self.limits.max_file_bytes {
            return Err(LoadError::FileTooLarge {
                name: name.into(),
                limit: self.limits.max_file_bytes,
            });
        }
        self.total += size;
        if self.total > self.limits.max_total_bytes {
            return Err(LoadError::ChartTooLarge(self.limits.max_total_bytes));
        }
        self.files += 1;
        if self.files > self.limits.max_files {
            return Err(LoadError::TooManyFiles(self.limits.max_files));
        }
        if name.split('/').count() > self.limits.max_depth {
            return Err(LoadError::TooDeep {
                name: name.into(),
                limit: self.limits.max_depth,
            });
        }
        Ok(())
    }
}

/// Loads an unpacked chart directory, honouring its `.helmignore`.
pub fn load_dir(dir: &Path, limits: &LoadLimits) -> Result<Chart, LoadError> {
    let root = dir.canonicalize().map_err(io(dir))?;
    let mut rules = match std::fs::read(root.join(HELM_IGNORE)) {
        Ok(text) => IgnoreRules::parse(&String::from_utf8_lossy(&text))?,
        Err(_) => IgnoreRules::empty(),
    };
    rules.add_defaults();
    let mut budget = Budget {
        limits,
        total: 0,
        files: 0,
    };
    let mut files = Vec::new();
    let mut pending = Vec::new();
    let mut walker = Walker {
        root: &root,
        rules: &rules,
        budget: &mut budget,
        out: &mut files,
        pending: &mut pending,
    };
    walker.walk(&root, DirHandle::Path, "", 0)?;
    for (file, data) in pending.iter().zip(read_pending(&pending)) {
        files[file.slot].contents = Contents::Read(strip_bom(data?));
    }
    load_files(files, limits)
}

/// The flags std opens a directory (to list it) and a file (to read it) with.
const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::CLOEXEC);
const FILE_FLAGS: OFlags = OFlags::RDONLY.union(OFlags::CLOEXEC);

/// How to open a directory to walk: by its path, or by name inside its parent's open
/// descriptor (which spares the kernel a lookup of every component of the full path).
enum DirHandle<'a> {
    Path,
    At(BorrowedFd<'a>, &'a CStr),
}

/// One entry of a directory listing.
struct Entry {
    /// The name as text (lossy for a non-UTF-8 name, as the walk has always shown it).
    name: String,
    /// The name as the file system has it, to open the entry inside its directory.
    raw: CString,
    file_type: FileType,
}

/// The state of one directory walk: Go's `filepath.Walk` order, `.helmignore`, the budget.
struct Walker<'a, 'l> {
    root: &'a Path,
    rules: &'a IgnoreRules,
    budget: &'a mut Budget<'l>,
    out: &'a mut Vec<RawFile>,
    /// Regular files found and charged to the budget, whose entries in `out` are read once the
    /// walk is done ([`read_pending`]).
    pending: &'a mut Vec<PendingFile>,
}

/// A regular file of the walk, to be read into `out[slot]`.
struct PendingFile {
    slot: usize,
    file: FileAt,
}

/// A regular file found by the walk and charged to the budget at `size` bytes.
#[derive(Debug)]
struct FileAt {
    /// Its directory, open (shared by the directory's files).
    dir: Arc<OwnedFd>,
    name: CString,
    path: PathBuf,
    size: u64,
}

impl Walker<'_, '_> {
    fn walk(
        &mut self,
        dir: &Path,
        handle: DirHandle<'_>,
        rel: &str,
        depth: usize,
    ) -> Result<(), LoadError> {
        if depth > self.budget.limits.max_depth {
            return Err(LoadError::TooDeep {
                name: rel.into(),
                limit: self.budget.limits.max_depth,
            });
        }
        let dir_fd = match handle {
            DirHandle::Path => rustix::fs::open(dir, DIR_FLAGS, Mode::empty()),
            DirHandle::At(parent, name) => {
                rustix::fs::openat(parent, name, DIR_FLAGS, Mode::empty())
            }
        }
        .map_err(errno(dir))?;
        let (listing, entries) = list_dir(dir, dir_fd)?;
        let fd = listing.fd().map_err(errno(dir))?;
        // The directory stays open for its files' reads after the walk.
        let mut shared_fd: Option<Arc<OwnedFd>> = None;
        for entry in entries {
            let path = dir.join(OsStr::from_bytes(entry.raw.to_bytes()));
            let rel_name = if rel.is_empty() {
                entry.name
            } else {
                format!("{rel}/{}", entry.name)
            };
            match entry.file_type {
                FileType::Symlink => self.visit_symlink(&path, rel_name, depth)?,
                FileType::Directory => {
                    if !self.rules.ignore(&rel_name, true) {
                        self.walk(&path, DirHandle::At(fd, &entry.raw), &rel_name, depth + 1)?;
                    }
                }
                other => {
                    if self.rules.ignore(&rel_name, false) {
                        continue;
                    }
                    if other != FileType::RegularFile {
                        return Err(LoadError::Irregular(path.display().to_string()));
                    }
                    // Charged before anything is read: an oversized file is reported as such
                    // even when it also cannot be opened.
                    let size = rustix::fs::statat(fd, &entry.raw, AtFlags::SYMLINK_NOFOLLOW)
                        .map_err(errno(&path))?
                        .st_size as u64;
                    self.budget.take(&rel_name, size)?;
                    let dir = match &shared_fd {
                        Some(dir) => dir.clone(),
                        None => shared_fd
                            .insert(Arc::new(rustix::io::dup(fd).map_err(errno(dir))?))
                            .clone(),
                    };
                    let file = FileAt {
                        dir,
                        name: entry.raw,
                        path,
                        size,
                    };
                    if read_at_load(&rel_name) {
                        self.pending.push(PendingFile {
                            slot: self.out.len(),
                            file,
                        });
                        self.out.push(RawFile::read(rel_name, Vec::new()));
                    } else {
                        let source = DeferredRead {
                            file,
                            read: OnceLock::new(),
                        };
                        self.out.push(RawFile {
                            name: rel_name,
                            contents: Contents::Unread(Arc::new(source)),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Helm follows symlinks; we only follow those that stay inside the chart.
    fn visit_symlink(
        &mut self,
        path: &Path,
        rel_name: String,
        depth: usize,
    ) -> Result<(), LoadError> {
        let target = path.canonicalize().map_err(io(path))?;
        if !target.starts_with(self.root) {
            return Err(LoadError::SymlinkEscape { path: rel_name });
        }
        let meta = std::fs::metadata(&target).map_err(io(path))?;
        if meta.is_dir() {
            if !self.rules.ignore(&rel_name, true) {
                self.walk(path, DirHandle::Path, &rel_name, depth + 1)?;
            }
            return Ok(());
        }
        if self.rules.ignore(&rel_name, false) {
            return Ok(());
        }
        if !meta.is_file() {
            return Err(LoadError::Irregular(path.display().to_string()));
        }
        self.budget.take(&rel_name, meta.len())?;
        let data = std::fs::read(path).map_err(io(path))?;
        self.out.push(RawFile::read(rel_name, strip_bom(data)));
        Ok(())
    }
}

/// Lists the directory open as `dir_fd`, names in lexical byte order (Go's `filepath.Walk`).
/// The entry types come with the listing on most file systems; others are asked for.
fn list_dir(dir: &Path, dir_fd: OwnedFd) -> Result<(Dir, Vec<Entry>), LoadError> {
    let mut listing = Dir::new(dir_fd).map_err(errno(dir))?;
    let mut entries = Vec::new();
    while let Some(entry) = listing.read() {
        let entry = entry.map_err(errno(dir))?;
        let raw = entry.file_name();
        if raw == c"." || raw == c".." {
            continue;
        }
        let mut file_type = entry.file_type();
        if file_type == FileType::Unknown {
            let fd = listing.fd().map_err(errno(dir))?;
            let stat = rustix::fs::statat(fd, raw, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(errno(&dir.join(OsStr::from_bytes(raw.to_bytes()))))?;
            file_type = FileType::from_raw_mode(stat.st_mode);
        }
        entries.push(Entry {
            name: String::from_utf8_lossy(raw.to_bytes()).into_owned(),
            raw: raw.to_owned(),
            file_type,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((listing, entries))
}

/// Below this many files a load reads them all on the calling thread (a thread costs more).
const PARALLEL_READ_MIN_FILES: usize = 24;

/// The contents of `files`, in order, read on this thread and a spare core when there are many:
/// a chart's files cost a few system calls each, and charts with a `changelog/` or `tests/`
/// folder have hundreds.
fn read_pending(files: &[PendingFile]) -> Vec<Result<Vec<u8>, LoadError>> {
    if files.len() < PARALLEL_READ_MIN_FILES || crate::spare_cores() == 0 {
        return files.iter().map(|f| read_charged_file(&f.file)).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(file) = files.get(i) else {
                return done;
            };
            done.push((i, read_charged_file(&file.file)));
        }
    };
    let (mine, theirs) = std::thread::scope(|scope| {
        let helper = scope.spawn(work);
        let mine = work();
        let theirs = helper
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (mine, theirs)
    });
    let mut read: Vec<Option<Result<Vec<u8>, LoadError>>> = files.iter().map(|_| None).collect();
    for (i, result) in mine.into_iter().chain(theirs) {
        read[i] = Some(result);
    }
    read.into_iter()
        .zip(files)
        .map(|(result, file)| {
            result.unwrap_or_else(|| {
                Err(LoadError::Io {
                    path: file.file.path.display().to_string(),
                    source: std::io::Error::other("not read"),
                })
            })
        })
        .collect()
}

/// Reads a file already charged to the budget: at most the size it was charged for (a file
/// that grew since is read as it was), through one read when it has not changed.
fn read_charged_file(file: &FileAt) -> Result<Vec<u8>, LoadError> {
    let fd = rustix::fs::openat(file.dir.as_fd(), &file.name, FILE_FLAGS, Mode::empty())
        .map_err(errno(&file.path))?;
    let mut data = Vec::with_capacity(file.size as usize);
    // Through `Take`, `read_to_end` stops at the charged size without asking the file for its
    // size again or probing for its end.
    std::fs::File::from(fd)
        .take(file.size)
        .read_to_end(&mut data)
        .map_err(io(&file.path))?;
    Ok(data)
}

fn errno(p: &Path) -> impl FnOnce(rustix::io::Errno) -> LoadError + '_ {
    move |e| LoadError::Io {
        path: p.display().to_string(),
        source: e.into(),
    }
}

fn io(p: &Path) -> impl FnOnce(std::io::Error) -> LoadError + '_ {
    move |e| LoadError::Io {
        path: p.display().to_string(),
        source: e,
    }
}

fn strip_bom(mut data: Vec<u8>) -> Vec<u8> {
    if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
        data.drain(..3);
    }
    data
}

/// Loads a chart from the bytes of a gzipped tar archive (`helm package` output, an OCI layer).
pub fn load_archive(bytes: &[u8], limits: &LoadLimits) -> Result<Chart, LoadError> {
    let mut budget = Budget {
        limits,
        total: 0,
        files: 0,
    };
    let files = read_archive(bytes, &mut budget)?;
    load_files(files, limits)
}

fn read_archive(bytes: &[u8], budget: &mut Budget) -> Result<Vec<RawFile>, LoadError> {
    if !is_gzip(bytes) {
        return Err(LoadError::NotGzip("<archive>".into()));
    }
    let gz = flate2::read::GzDecoder::new(bytes);
    let mut archive = tar::Archive::new(gz);
    let mut files = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| LoadError::Archive(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| LoadError::Archive(e.to_string()))?;
        let header = entry.header();
        let kind = header.entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(LoadError::SymlinkEscape { path: raw_name });
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous || kind.is_gnu_sparse()) {
            return Err(LoadError::Irregular(raw_name));
        }
        let name = archive_member_name(&raw_name)?;
        let size = header
            .size()
            .map_err(|e| LoadError::Archive(e.to_string()))?;
        budget.take(&name, size)?;
        let mut data = Vec::with_capacity(size.min(budget.limits.max_file_bytes) as usize);
        let read = (&mut entry)
            .take(budget.limits.max_file_bytes + 1)
            .read_to_end(&mut data)
            .map_err(|e| LoadError::Archive(e.to_string()))?;
        if read as u64 > budget.limits.max_file_bytes {
            return Err(LoadError::FileTooLarge {
                name,
                limit: budget.limits.max_file_bytes,
            });
        }
        files.push(RawFile::read(name, strip_bom(data)));
    }
    if files.is_empty() {
        return Err(LoadError::EmptyArchive);
    }
    Ok(files)
}

/// Helm's member-name rules: drop the top folder, normalise `\`, refuse absolute paths, `..` and
/// drive letters, and a `Chart.yaml` outside the top folder.
fn archive_member_name(raw: &str) -> Result<String, LoadError> {
    let delimiter = if raw.contains('\\') { '\\' } else { '/' };
    let parts: Vec<&str> = raw.split(delimiter).collect();
    if parts[0] == "Chart.yaml" {
        return Err(LoadError::ChartYamlNotInBase);
    }
    let joined = parts[1..].join("/");
    if joined.starts_with('/') {
        return Err(LoadError::AbsolutePath(raw.into()));
    }
    let cleaned = clean_path(&joined);
    if cleaned == "." {
        return Err(LoadError::OutsideBase(raw.into()));
    }
    if cleaned.starts_with("..") {
        return Err(LoadError::ParentReference(raw.into()));
    }
    let b = cleaned.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(LoadError::Archive(
            "chart contains illegally named files".into(),
        ));
    }
    Ok(cleaned)
}

/// Go's `path.Clean` for relative paths.
fn clean_path(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if matches!(out.last(), Some(last) if *last != "..") {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        ".".into()
    } else {
        out.join("/")
    }
}

/// Whether chart path `name` is one of the chart's plain files (`.Files` only): what
/// [`load_files`] neither reads nor sorts anywhere else.
fn is_plain_file(name: &str) -> bool {
    !read_at_load(name) && !name.starts_with("charts/")
}

/// Sorts loaded files into a chart (Helm's `LoadFiles`) and loads its subcharts.
fn load_files(files: Vec<RawFile>, limits: &LoadLimits) -> Result<Chart, LoadError> {
    let mut chart = Chart::default();
    let mut metadata: Option<ChartMetadata> = None;
    let mut requirements: Option<Vec<u8>> = None;
    let mut subcharts: BTreeMap<String, Vec<RawFile>> = BTreeMap::new();
    for RawFile { name, contents } in files {
        if let Some(rest) = name.strip_prefix("charts/")
            && !name.ends_with(".prov")
        {
            let sub = rest.split('/').next().unwrap_or(rest).to_string();
            let inner = rest.to_string();
            subcharts.entry(sub).or_default().push(RawFile {
                name: inner,
                contents,
            });
            continue;
        }
        let data = match contents {
            Contents::Unread(source) if is_plain_file(&name) => {
                chart.unread_files.push(UnreadFile::new(name, source));
                continue;
            }
            contents => contents.into_data()?,
        };
        match name.as_str() {
            "Chart.yaml" => metadata = Some(ChartMetadata::from_yaml(&data)?),
            "Chart.lock" => chart.lock = Some(data),
            "values.yaml" => {
                let text = String::from_utf8(data)
                    .map_err(|e| LoadError::Values(format!("not UTF-8: {e}")))?;
                chart.values_yaml = text;
            }
            "values.schema.json" => chart.schema = Some(data),
            "requirements.yaml" => requirements = Some(data),
            "requirements.lock" => {
                if chart.lock.is_none() {
                    chart.lock = Some(data.clone());
                }
                chart.files.push(ChartFile { name, data });
            }
            n if n.starts_with("templates/") => chart.templates.push(ChartFile { name, data }),
            _ => chart.files.push(ChartFile { name, data }),
        }
    }
    let mut metadata = metadata.ok_or(LoadError::MissingChartYaml)?;
    if let Some(req) = requirements {
        if metadata.api_version == API_VERSION_V1 {
            metadata.merge_requirements(&req)?;
            chart.files.push(ChartFile {
                name: "requirements.yaml".into(),
                data: req,
            });
        } else {
            metadata.merge_requirements(&req)?;
        }
    }
    metadata.validate()?;
    chart.metadata = metadata;
    for (name, files) in subcharts {
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        let wrap = |e: LoadError| LoadError::Subchart {
            name: name.clone(),
            parent: chart.metadata.name.clone(),
            source: Box::new(e),
        };
        let sub = if name.ends_with(".tgz") {
            let Some(first) = files.into_iter().next() else {
                continue;
            };
            if first.name != name {
                return Err(LoadError::NestedArchive {
                    parent: chart.metadata.name.clone(),
                    expected: name.clone(),
                    got: first.name.clone(),
                });
            }
            let mut budget = Budget {
                limits,
                total: 0,
                files: 0,
            };
            let archive = first.contents.into_data().map_err(wrap)?;
            let inner = read_archive(&archive, &mut budget).map_err(wrap)?;
            load_files(inner, limits).map_err(wrap)?
        } else {
            let inner: Vec<RawFile> = files
                .into_iter()
                .filter_map(|f| {
                    f.name.split_once('/').map(|(_, rest)| RawFile {
                        name: rest.to_string(),
                        contents: f.contents,
                    })
                })
                .collect();
            load_files(inner, limits).map_err(wrap)?
        };
        chart.dependencies.push(sub);
    }
    Ok(chart)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targz(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            // Write the raw name so tests can produce paths the tar crate would refuse.
            let bytes = name.as_bytes();
            h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            h.set_cksum();
            builder.append(&h, *data).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        gz.finish().unwrap()
    }

    const CHART: &[u8] = b"apiVersion: v2\nname: demo\nversion: 0.1.0\n";

    #[test]
    fn loads_archive_with_nested_subchart_archive() {
        let sub = targz(&[(
            "sub/Chart.yaml",
            b"apiVersion: v2\nname: sub\nversion: 1.0.0\n",
        )]);
        let bytes = targz(&[
            ("demo/Chart.yaml", CHART),
            ("demo/values.yaml", b"a: 1\n"),
            ("demo/templates/cm.yaml", b"kind: ConfigMap\n"),
            ("demo/crds/crd.yaml", b"kind: CustomResourceDefinition\n"),
            ("demo/charts/sub-1.0.0.tgz", &sub),
        ]);
        let chart = load_archive(&bytes, &LoadLimits::default()).unwrap();
        assert_eq!(chart.name(), "demo");
        assert_eq!(chart.templates.len(), 1);
        assert_eq!(chart.values_yaml, "a: 1\n");
        assert_eq!(chart.dependencies[0].name(), "sub");
        assert_eq!(chart.files[0].name, "crds/crd.yaml");
    }

    #[test]
    fn refuses_escapes_and_oversize() {
        let limits = LoadLimits::default();
        let bad = targz(&[("demo/Chart.yaml", CHART), ("demo/../../etc/passwd", b"x")]);
        assert!(matches!(
            load_archive(&bad, &limits),
            Err(LoadError::ParentReference(_))
        ));
        let bad = targz(&[("Chart.yaml", CHART)]);
        assert!(matches!(
            load_archive(&bad, &limits),
            Err(LoadError::ChartYamlNotInBase)
        ));
        let small = LoadLimits {
            max_file_bytes: 4,
            ..LoadLimits::default()
        };
        let big = targz(&[("demo/Chart.yaml", CHART)]);
        assert!(matches!(
            load_archive(&big, &small),
            Err(LoadError::FileTooLarge { .. })
        ));
        let few = LoadLimits {
            max_files: 1,
            ..LoadLimits::default()
        };
        let two = targz(&[("demo/Chart.yaml", CHART), ("demo/x", b"")]);
        assert!(matches!(
            load_archive(&two, &few),
            Err(LoadError::TooManyFiles(1))
        ));
        assert!(matches!(
            load_archive(b"plain", &limits),
            Err(LoadError::NotGzip(_))
        ));
    }

    #[test]
    fn directory_with_helmignore_and_escaping_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("demo");
        std::fs::create_dir_all(root.join("templates")).unwrap();
        std::fs::write(root.join("Chart.yaml"), CHART).unwrap();
        std::fs::write(root.join(".helmignore"), "*.bak\n").unwrap();
        std::fs::write(root.join("templates/a.yaml"), "x").unwrap();
        std::fs::write(root.join("templates/a.bak"), "x").unwrap();
        std::fs::write(root.join("templates/.hidden"), "x").unwrap();
        let chart = load_dir(&root, &LoadLimits::default()).unwrap();
        let names: Vec<_> = chart.templates.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["templates/a.yaml"]);
        assert_eq!(chart.unread_files[0].name, ".helmignore");
        std::fs::write(dir.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("leak")).unwrap();
        assert!(matches!(
            load_dir(&root, &LoadLimits::default()),
            Err(LoadError::SymlinkEscape { .. })
        ));
    }

    #[test]
    fn plain_files_of_a_directory_are_read_when_first_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("demo");
        let write = |path: &str, data: &[u8]| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, data).unwrap();
        };
        write("Chart.yaml", CHART);
        write("values.yaml", b"a: 1\n");
        write("templates/a.yaml", b"a");
        write("crds/c.yaml", b"kind: CustomResourceDefinition\n");
        write("README.md", b"\xEF\xBB\xBFhello");
        write("ci/x-values.yaml", b"x: 1\n");
        write(
            "charts/sub/Chart.yaml",
            b"apiVersion: v2\nname: sub\nversion: 1.0.0\n",
        );
        write("charts/sub/values.yaml", b"s: 1\n");
        write("charts/sub/templates/s.yaml", b"s");
        write("charts/sub/files/notes.txt", b"notes");
        let chart = load_dir(&root, &LoadLimits::default()).unwrap();

        // What a load or a render needs is read; the rest waits for `.Files`.
        let names = |files: &[UnreadFile]| -> Vec<String> {
            files.iter().map(|f| f.name.clone()).collect()
        };
        assert!(chart.files.is_empty());
        assert_eq!(
            names(&chart.unread_files),
            ["README.md", "ci/x-values.yaml", "crds/c.yaml"]
        );
        let sub = &chart.dependencies[0];
        assert_eq!(sub.values_yaml, "s: 1\n");
        assert_eq!(sub.templates[0].data, b"s");
        assert_eq!(names(&sub.unread_files), ["files/notes.txt"]);

        // Read on demand as the load would have read them (byte-order mark dropped), once.
        assert_eq!(chart.unread_files[0].bytes(), Ok(&b"hello"[..]));
        std::fs::remove_file(root.join("README.md")).unwrap();
        assert_eq!(chart.unread_files[0].bytes(), Ok(&b"hello"[..]));
        assert_eq!(chart.failed_read(), None);

        // A file gone before it is asked for: the read fails, naming it, and the chart keeps
        // the failure for the render to report (subcharts included).
        std::fs::remove_file(root.join("charts/sub/files/notes.txt")).unwrap();
        let err = sub.unread_files[0].bytes().unwrap_err();
        assert!(err.contains("charts/sub/files/notes.txt"), "{err}");
        assert_eq!(chart.failed_read().as_deref(), Some(err));
    }

    #[test]
    fn directory_walk_order_inner_symlinks_and_special_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("demo");
        std::fs::create_dir_all(root.join("templates/b")).unwrap();
        std::fs::create_dir_all(root.join("conf")).unwrap();
        std::fs::write(root.join("Chart.yaml"), CHART).unwrap();
        std::fs::write(root.join("values.yaml"), b"\xEF\xBB\xBFa: 1\n").unwrap();
        std::fs::write(root.join("templates/b/z.yaml"), "z").unwrap();
        std::fs::write(root.join("templates/a.yaml"), "a").unwrap();
        std::fs::write(root.join("templates/c.yaml"), "c").unwrap();
        std::fs::write(root.join("conf/x.txt"), "x").unwrap();
        // Links that stay inside the chart are followed, to a file and to a directory.
        std::os::unix::fs::symlink(root.join("conf"), root.join("linked")).unwrap();
        std::os::unix::fs::symlink(root.join("conf/x.txt"), root.join("y.txt")).unwrap();
        let chart = load_dir(&root, &LoadLimits::default()).unwrap();
        let names: Vec<_> = chart.templates.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            vec!["templates/a.yaml", "templates/b/z.yaml", "templates/c.yaml"]
        );
        // Plain files are left for `.Files` to read; a linked file is read as the walk meets it.
        let files: Vec<_> = chart.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(files, vec!["y.txt"]);
        assert_eq!(chart.files[0].data, b"x");
        let unread: Vec<_> = chart.unread_files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(unread, vec!["conf/x.txt", "linked/x.txt"]);
        assert_eq!(chart.unread_files[1].bytes(), Ok(&b"x"[..]));
        assert_eq!(chart.values_yaml, "a: 1\n");

        let small = LoadLimits {
            max_file_bytes: 1,
            ..LoadLimits::default()
        };
        assert!(matches!(
            load_dir(&root, &small),
            Err(LoadError::FileTooLarge { name, .. }) if name == "Chart.yaml"
        ));
        let shallow = LoadLimits {
            max_depth: 1,
            ..LoadLimits::default()
        };
        assert!(matches!(
            load_dir(&root, &shallow),
            Err(LoadError::TooDeep { name, .. }) if name == "conf/x.txt"
        ));

        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("templates/pipe"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
            0,
        )
        .unwrap();
        let err = load_dir(&root, &LoadLimits::default()).unwrap_err();
        assert!(
            matches!(&err, LoadError::Irregular(p) if p.ends_with("demo/templates/pipe")),
            "{err}"
        );
        std::fs::write(root.join(".helmignore"), "pipe\n").unwrap();
        assert!(load_dir(&root, &LoadLimits::default()).is_ok());
    }

    /// Enough files for the reads to be shared with a spare core: every file still has its own
    /// content, in walk order, with the budget charged in that order.
    #[test]
    fn many_files_read_in_parallel_keep_their_contents_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("demo");
        std::fs::create_dir_all(root.join("templates")).unwrap();
        std::fs::write(root.join("Chart.yaml"), CHART).unwrap();
        let count = 3 * PARALLEL_READ_MIN_FILES;
        for i in 0..count {
            let body = format!("entry {i}\n").repeat(i * 50 + 1);
            std::fs::write(root.join(format!("templates/{i:03}.md")), body).unwrap();
        }
        std::fs::write(root.join("templates/bom.md"), b"\xEF\xBB\xBFbom").unwrap();
        let chart = load_dir(&root, &LoadLimits::default()).unwrap();
        assert_eq!(chart.templates.len(), count + 1);
        for (i, file) in chart.templates.iter().take(count).enumerate() {
            assert_eq!(file.name, format!("templates/{i:03}.md"));
            assert_eq!(
                file.data,
                format!("entry {i}\n").repeat(i * 50 + 1).as_bytes()
            );
        }
        assert_eq!(chart.templates[count].data, b"bom");
        let few = LoadLimits {
            max_files: 10,
            ..LoadLimits::default()
        };
        assert!(matches!(
            load_dir(&root, &few),
            Err(LoadError::TooManyFiles(10))
        ));
    }

    #[test]
    fn missing_chart_yaml_and_bad_metadata() {
        let limits = LoadLimits::default();
        let none = targz(&[("demo/values.yaml", b"")]);
        assert_eq!(
            load_archive(&none, &limits).unwrap_err().to_string(),
            "Chart.yaml file is missing"
        );
        let bad = targz(&[(
            "demo/Chart.yaml",
            b"apiVersion: v2\nname: x\nversion: 1.0.0\ntype: foobar\n",
        )]);
        assert_eq!(
            load_archive(&bad, &limits).unwrap_err().to_string(),
            "validation: chart.metadata.type must be application or library"
        );
    }
}
