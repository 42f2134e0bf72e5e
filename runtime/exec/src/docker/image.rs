//! Container image references, and pulling an image when the daemon does not have it.
//!
//! A reference is what `docker run` accepts, optionally behind the `docker://` scheme:
//! `NAME[:TAG]` or `NAME@DIGEST`, where `NAME` may carry a registry host with a port
//! (`localhost:5000/x` has no tag). A missing image is pulled once, at connect time, with a
//! byte progress bar on stderr — hidden when stderr is not a terminal. A failed pull is the
//! "Cannot pull …" error of the common interface (§7.1).

use std::collections::HashMap;
use std::fmt;
use std::io::IsTerminal;

use anyhow::{Context, Result, anyhow, bail};
use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ImageRef {
    /// The reference without the scheme, as the daemon understands it.
    full: String,
    /// The repository part (`NAME`).
    repository: String,
    /// The tag, when given.
    tag: Option<String>,
    /// Whether the reference pins a digest.
    pinned: bool,
}

impl ImageRef {
    /// Parses `[docker://]NAME[:TAG|@DIGEST]`.
    pub(super) fn parse(reference: &str) -> Result<Self> {
        let full = reference
            .strip_prefix(super::SCHEME)
            .unwrap_or(reference)
            .trim();
        if full.is_empty() || full.chars().any(char::is_whitespace) {
            bail!("{reference:?} is not a container image reference");
        }
        if let Some((repository, _digest)) = full.split_once('@') {
            return Ok(Self {
                full: full.to_owned(),
                repository: repository.to_owned(),
                tag: None,
                pinned: true,
            });
        }
        // A colon after the last slash is a tag; before it, a registry port.
        let last_slash = full.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match full[last_slash..].rfind(':') {
            Some(i) => (&full[..last_slash + i], Some(&full[last_slash + i + 1..])),
            None => (full, None),
        };
        if repository.is_empty() || tag.is_some_and(str::is_empty) {
            bail!("{reference:?} is not a container image reference");
        }
        Ok(Self {
            full: full.to_owned(),
            repository: repository.to_owned(),
            tag: tag.map(str::to_owned),
            pinned: false,
        })
    }

    /// The reference as the daemon understands it.
    pub(super) fn as_str(&self) -> &str {
        &self.full
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

/// Makes sure the daemon has `image`, pulling it when missing.
pub(super) async fn ensure_present(docker: &Docker, image: &ImageRef) -> Result<()> {
    match docker.inspect_image(image.as_str()).await {
        Ok(_) => return Ok(()),
        Err(DockerError::DockerResponseServerError {
            status_code: 404, ..
        }) => {}
        Err(err) => return Err(err).context(format!("inspecting image {image}")),
    }
    pull(docker, image)
        .await
        .with_context(|| format!("Cannot pull image {image}"))
}

async fn pull(docker: &Docker, image: &ImageRef) -> Result<()> {
    let mut options = CreateImageOptionsBuilder::new();
    options = if image.pinned {
        options.from_image(image.as_str())
    } else {
        options
            .from_image(&image.repository)
            .tag(image.tag.as_deref().unwrap_or("latest"))
    };
    let progress = PullProgress::new(image);
    let mut stream = docker.create_image(Some(options.build()), None, None);
    while let Some(item) = stream.next().await {
        let info = item?;
        if let Some(detail) = info.error_detail {
            return Err(anyhow!(
                "{}",
                detail
                    .message
                    .unwrap_or_else(|| "the daemon reported an error".to_owned())
            ));
        }
        let (current, total) = info
            .progress_detail
            .map(|d| (d.current.unwrap_or(0), d.total.unwrap_or(0)))
            .unwrap_or_default();
        progress.update(info.id, info.status, current, total);
    }
    progress.finish();
    Ok(())
}

/// A byte progress bar over all layers of a pull.
struct PullProgress {
    bar: ProgressBar,
    /// (current, total) bytes per layer id.
    layers: std::sync::Mutex<HashMap<String, (u64, u64)>>,
}

impl PullProgress {
    fn new(image: &ImageRef) -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        if let Ok(style) =
            ProgressStyle::with_template("pulling {prefix} {wide_bar} {bytes}/{total_bytes} {msg}")
        {
            bar.set_style(style);
        }
        bar.set_prefix(image.to_string());
        Self {
            bar,
            layers: Default::default(),
        }
    }

    fn update(&self, layer: Option<String>, status: Option<String>, current: i64, total: i64) {
        if let Some(status) = status {
            self.bar.set_message(status);
        }
        let (Some(layer), true) = (layer, total > 0) else {
            return;
        };
        let mut layers = self.layers.lock().unwrap_or_else(|p| p.into_inner());
        layers.insert(layer, (current.max(0) as u64, total as u64));
        let (current, total) = layers
            .values()
            .fold((0, 0), |(c, t), (lc, lt)| (c + lc, t + lt));
        self.bar.set_length(total);
        self.bar.set_position(current);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(reference: &str) -> (String, Option<String>, bool) {
        let r = ImageRef::parse(reference).unwrap();
        (r.repository, r.tag, r.pinned)
    }

    #[test]
    fn parses_names_tags_ports_and_digests() {
        assert_eq!(parts("alpine"), ("alpine".into(), None, false));
        assert_eq!(
            parts("docker://quay.io/keboola/ex:1.2"),
            ("quay.io/keboola/ex".into(), Some("1.2".into()), false)
        );
        assert_eq!(
            parts("localhost:5000/x"),
            ("localhost:5000/x".into(), None, false)
        );
        assert_eq!(
            parts("localhost:5000/x:v1"),
            ("localhost:5000/x".into(), Some("v1".into()), false)
        );
        assert_eq!(parts("x@sha256:abc"), ("x".into(), None, true));
        assert_eq!(ImageRef::parse("docker://x:1").unwrap().as_str(), "x:1");
        for bad in ["", "docker://", "x:", "a b"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?}");
        }
    }
}
