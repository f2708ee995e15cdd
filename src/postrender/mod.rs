//! Post-rendering: `spec.postRenderers` applied to the rendered manifests before apply
//! (render → postrender → apply), with `kubectl kustomize`'s meaning for each transformation —
//! strategic-merge and JSON 6902 patches with target selectors, image overrides, labels and
//! annotations. Pure: it reads the API types and the render crate's YAML reader and writer only.
//!
//! Documents no transformation touches keep their rendered text byte for byte; changed ones are
//! written back as YAML (go-yaml's style, keys sorted). Errors name the post-renderer and the patch.

mod images;
mod metadata;
mod patch;
mod schema;
mod select;
mod smp;

use crate::api::PostRenderer;
use crate::render::yaml;
use serde_json::Value as Json;

/// Why the post-renderers could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum PostRenderError {
    /// A rendered document is not YAML the post-renderer can read.
    #[error("postRenderers: cannot read the rendered document from {template}: {message}")]
    Manifest { template: String, message: String },
    /// A patch is malformed, selects no object where it must, or cannot be applied.
    #[error("spec.postRenderers[{renderer}].kustomize.patches[{patch}] ({excerpt}): {message}")]
    Patch {
        renderer: usize,
        patch: usize,
        /// The patch's first line, to recognise it by.
        excerpt: String,
        message: String,
    },
    /// Another field of a post-renderer is unusable.
    #[error("spec.postRenderers[{renderer}].kustomize.{field}: {message}")]
    Field {
        renderer: usize,
        field: String,
        message: String,
    },
    /// A transformed object cannot be written back as YAML.
    #[error("postRenderers: cannot write {describe} from {template} as YAML: {message}")]
    Output {
        template: String,
        describe: String,
        message: String,
    },
}

/// One rendered object being transformed.
pub(crate) struct Object {
    template: String,
    /// The rendered text, used as is while `changed` is false.
    text: String,
    value: Json,
    group: String,
    version: String,
    kind: String,
    name: String,
    changed: bool,
}

impl Object {
    /// The document as an object; `Err` gives back an empty or non-object document, which passes
    /// through untouched (the applier skips or refuses it).
    fn parse(template: String, text: String) -> Result<Result<Object, Entry>, PostRenderError> {
        let value = read_yaml(&text).map_err(|message| PostRenderError::Manifest {
            template: template.clone(),
            message,
        })?;
        if !value.is_object() {
            return Ok(Err(Entry::Other(template, text)));
        }
        let mut object = Object {
            template,
            text,
            value,
            group: String::new(),
            version: String::new(),
            kind: String::new(),
            name: String::new(),
            changed: false,
        };
        object.identify();
        Ok(Ok(object))
    }

    /// Reads apiVersion, kind and name again (a JSON patch may change them).
    fn identify(&mut self) {
        let s = |v: &Json| v.as_str().unwrap_or_default().to_owned();
        let api_version = s(&self.value["apiVersion"]);
        (self.group, self.version) = match api_version.split_once('/') {
            Some((g, v)) => (g.to_owned(), v.to_owned()),
            None => (String::new(), api_version),
        };
        self.kind = s(&self.value["kind"]);
        self.name = s(&self.value["metadata"]["name"]);
    }

    fn namespace(&self) -> Option<&str> {
        self.value["metadata"]["namespace"]
            .as_str()
            .filter(|n| !n.is_empty())
    }

    /// `Kind namespace/name`, for messages.
    fn describe(&self) -> String {
        match self.namespace() {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }
}

/// A rendered document: an object to transform, or anything else, passed through.
enum Entry {
    Object(Object),
    Other(String, String),
}

/// Applies `renderers` in order to `docs` (`(template path, document)`, as rendered), returning
/// the documents to apply. Objects in no namespace count as in `release_namespace` for targets.
pub fn post_render(
    docs: Vec<(String, String)>,
    renderers: &[PostRenderer],
    release_namespace: &str,
) -> Result<Vec<(String, String)>, PostRenderError> {
    if renderers.is_empty() {
        return Ok(docs);
    }
    let mut entries = Vec::with_capacity(docs.len());
    for (template, text) in docs {
        entries.push(match Object::parse(template, text)? {
            Ok(object) => Entry::Object(object),
            Err(other) => other,
        });
    }
    for (index, renderer) in renderers.iter().enumerate() {
        apply_one(&mut entries, index, renderer, release_namespace)?;
    }
    entries
        .into_iter()
        .map(|entry| match entry {
            Entry::Other(template, text) => Ok((template, text)),
            Entry::Object(object) if !object.changed => Ok((object.template, object.text)),
            Entry::Object(object) => {
                let text =
                    write_yaml(&object.value).map_err(|message| PostRenderError::Output {
                        template: object.template.clone(),
                        describe: object.describe(),
                        message,
                    })?;
                Ok((object.template, text))
            }
        })
        .collect()
}

fn apply_one(
    entries: &mut Vec<Entry>,
    renderer: usize,
    r: &PostRenderer,
    release_namespace: &str,
) -> Result<(), PostRenderError> {
    let k = &r.kustomize;
    for (index, p) in k.patches.iter().enumerate() {
        let error = |message: String| PostRenderError::Patch {
            renderer,
            patch: index,
            excerpt: excerpt(&p.patch),
            message,
        };
        let parsed = patch::Patch::parse(p).map_err(error)?;
        parsed.apply(entries, release_namespace).map_err(error)?;
    }
    if let Some(index) = k.images.iter().position(|image| image.name.is_empty()) {
        return Err(PostRenderError::Field {
            renderer,
            field: format!("images[{index}].name"),
            message: "must not be empty".into(),
        });
    }
    let objects = entries.iter_mut().filter_map(|e| match e {
        Entry::Object(o) => Some(o),
        Entry::Other(..) => None,
    });
    for object in objects {
        for set in &k.labels {
            object.changed |= metadata::add(
                &mut object.value,
                &object.group,
                &object.kind,
                "labels",
                &set.pairs,
                set.include_templates,
            );
        }
        object.changed |= metadata::add(
            &mut object.value,
            &object.group,
            &object.kind,
            "annotations",
            &k.common_annotations,
            true,
        );
        for image in &k.images {
            object.changed |= images::apply(&mut object.value, image);
        }
    }
    Ok(())
}

/// The first non-blank line of a patch, shortened: enough to recognise it in a message.
fn excerpt(patch: &str) -> String {
    let line = patch
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && *l != "---")
        .unwrap_or_default();
    let short: String = line.chars().take(60).collect();
    if short.len() < line.len() {
        format!("{short}…")
    } else {
        short
    }
}

/// YAML as the API server receives it from Helm (`sigs.k8s.io/yaml`: YAML 1.1 scalars), as JSON.
pub(crate) fn read_yaml(text: &str) -> Result<Json, String> {
    let value = yaml::parse_yaml(text).map_err(|e| e.to_string())?;
    let json = yaml::to_json(&value)?;
    serde_json::from_str(&json).map_err(|e| format!("cannot convert the YAML to JSON: {e}"))
}

/// An object as YAML that [`read_yaml`] reads back to the same value (go-yaml v2's quoting of
/// strings YAML 1.1 would take for booleans or numbers).
fn write_yaml(value: &Json) -> Result<String, String> {
    yaml::to_yaml(&signet_gotemplate::Value::from_json(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn written_yaml_reads_back_to_the_same_value() {
        let value = json!({
            "a": "yes", "b": "0644", "c": 420, "d": "1.0", "e": true, "f": null,
            "g": ["on", "~", "", 1.5], "h": {"i": "multi\nline"}
        });
        let text = write_yaml(&value).unwrap();
        assert_eq!(read_yaml(&text).unwrap(), value, "{text}");
    }

    #[test]
    fn no_post_renderers_pass_the_documents_through() {
        let docs = vec![("t.yaml".to_string(), "kind: A # comment".to_string())];
        assert_eq!(post_render(docs.clone(), &[], "ns").unwrap(), docs);
    }
}
