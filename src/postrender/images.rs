//! Image overrides, as kustomize's `images` transformer: every `image` of an item of a
//! `containers` or `initContainers` list, anywhere in any object, whose name (the reference
//! without tag and digest) equals the override's `name` gets the new name, tag and digest. Each
//! override runs over the output of the previous one.

use crate::api::ImageOverride;
use serde_json::Value as Json;

/// Applies `image` to every container of `object`; returns whether anything changed.
pub fn apply(object: &mut Json, image: &ImageOverride) -> bool {
    let mut changed = false;
    walk(object, image, &mut changed);
    changed
}

fn walk(value: &mut Json, image: &ImageOverride, changed: &mut bool) {
    match value {
        Json::Object(map) => {
            for (key, child) in map.iter_mut() {
                if (key == "containers" || key == "initContainers")
                    && let Json::Array(items) = child
                {
                    for item in items.iter_mut() {
                        if let Some(Json::String(reference)) = item.get_mut("image")
                            && let Some(new) = rewrite(reference, image)
                            && new != *reference
                        {
                            *reference = new;
                            *changed = true;
                        }
                    }
                }
                walk(child, image, changed);
            }
        }
        Json::Array(items) => items.iter_mut().for_each(|v| walk(v, image, changed)),
        _ => {}
    }
}

/// The new reference for `reference`, or `None` when `image.name` does not name it.
fn rewrite(reference: &str, image: &ImageOverride) -> Option<String> {
    let (name, tag, digest) = split(reference);
    if name != image.name {
        return None;
    }
    let mut name = name.to_owned();
    let (mut tag, mut digest) = (tag.map(str::to_owned), digest.map(str::to_owned));
    if let Some(new_name) = &image.new_name {
        name.clone_from(new_name);
    }
    // A new tag or digest replaces both the old tag and the old digest.
    match (&image.new_tag, &image.digest) {
        (Some(t), Some(d)) => (tag, digest) = (Some(t.clone()), Some(d.clone())),
        (Some(t), None) => (tag, digest) = (Some(t.clone()), None),
        (None, Some(d)) => (tag, digest) = (None, Some(d.clone())),
        (None, None) => {}
    }
    if let Some(t) = tag.filter(|t| !t.is_empty()) {
        name = format!("{name}:{t}");
    }
    if let Some(d) = digest.filter(|d| !d.is_empty()) {
        name = format!("{name}@{d}");
    }
    Some(name)
}

/// `[host[:port]/]path[:tag][@digest]` into its name, tag and digest; a colon before the first
/// slash is a registry port, not a tag.
fn split(reference: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match reference.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (reference, None),
    };
    let path_start = rest.find('/').unwrap_or(0);
    match rest[path_start..].rfind(':') {
        Some(i) => (
            &rest[..path_start + i],
            Some(&rest[path_start + i + 1..]),
            digest,
        ),
        None => (rest, None, digest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(
        name: &str,
        new_name: Option<&str>,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> ImageOverride {
        ImageOverride {
            name: name.into(),
            new_name: new_name.map(Into::into),
            new_tag: tag.map(Into::into),
            digest: digest.map(Into::into),
        }
    }

    #[test]
    fn references_split_and_rewrite_like_kustomize() {
        assert_eq!(split("nginx"), ("nginx", None, None));
        assert_eq!(
            split("reg:5000/a/b:1.2"),
            ("reg:5000/a/b", Some("1.2"), None)
        );
        assert_eq!(split("reg:5000/a/b"), ("reg:5000/a/b", None, None));
        assert_eq!(split("n:1@sha256:ab"), ("n", Some("1"), Some("sha256:ab")));
        assert_eq!(split("n@sha256:ab"), ("n", None, Some("sha256:ab")));
        let tag = image("nginx", None, Some("2"), None);
        assert_eq!(
            rewrite("nginx:1@sha256:ab", &tag).as_deref(),
            Some("nginx:2")
        );
        assert_eq!(rewrite("docker.io/nginx:1", &tag), None);
        let moved = image("nginx", Some("reg/nginx"), None, None);
        assert_eq!(rewrite("nginx:1", &moved).as_deref(), Some("reg/nginx:1"));
        let pinned = image("nginx", None, None, Some("sha256:cd"));
        assert_eq!(
            rewrite("nginx:1", &pinned).as_deref(),
            Some("nginx@sha256:cd")
        );
    }
}
