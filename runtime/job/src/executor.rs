//! The one place that picks an executor for a component definition: its `image` (a `.wasm`
//! path, a registry reference or `docker://IMAGE`) goes through [`crate::launch`], with the
//! definition's network, its `container-root-user` feature (the only way a container runs as
//! root), the job's `--tag` and the job and run ids as container labels; the result says exactly
//! what ran.

use crate::home::Home;
use crate::launch::{ExecutorKind, LaunchError, LaunchOptions, Launched, launch};
use berth_exec::docker::DockerOptions;
use berth_storage::{ComponentDefinition, Network};

/// Why no executor could be made for a component.
#[derive(Debug, thiserror::Error)]
#[error("The image \"{image}\" of component \"{component}\" cannot be run: {source}")]
pub struct ExecutorError {
    /// The component id.
    pub component: String,
    /// The image as written in the definition.
    pub image: String,
    /// What went wrong (boxed: image errors carry references and digests).
    #[source]
    pub source: Box<LaunchError>,
}

impl ExecutorError {
    /// Whether the component definition is at fault (exit 1) rather than berth (exit 2).
    pub fn is_user_error(&self) -> bool {
        self.source.is_user_error()
    }
}

/// The component feature that lets a container run as root.
pub const ROOT_FEATURE: &str = "container-root-user";

/// An executor for `component`; `tag_override` (`--tag`) selects another tag of a registry
/// reference (it is ignored, with a warning, for module paths). `job` (job id, run id) labels a
/// container.
pub fn executor_for(
    home: &Home,
    component: &ComponentDefinition,
    tag_override: Option<&str>,
    job: (&str, &str),
) -> Result<Launched, ExecutorError> {
    let options = LaunchOptions {
        name: component.id.clone(),
        tag_override: tag_override.map(str::to_owned),
        docker: DockerOptions {
            network: component.network == Network::Bridge,
            run_as_root: component.features.iter().any(|f| f == ROOT_FEATURE),
            ..DockerOptions::default()
        }
        .with_job(job.0, job.1),
    };
    let launched =
        launch(home, component.image.trim(), &options).map_err(|source| ExecutorError {
            component: component.id.clone(),
            image: component.image.clone(),
            source: Box::new(source),
        })?;
    let unsupported = match (launched.kind, component.network) {
        // WASI sockets are not offered: saying so beats a component failing to connect.
        (ExecutorKind::Wasi, Network::Bridge) => Some(LaunchError::NetworkUnsupported),
        // An internal Docker network blocks forwarding but still reaches the host itself, so
        // berth does not pretend it is a sandbox; refused until it can be made one.
        (ExecutorKind::Docker, Network::NoInternet) => Some(LaunchError::NoInternetUnsupported),
        _ => None,
    };
    if let Some(source) = unsupported {
        return Err(ExecutorError {
            component: component.id.clone(),
            image: component.image.clone(),
            source: Box::new(source),
        });
    }
    Ok(launched)
}
