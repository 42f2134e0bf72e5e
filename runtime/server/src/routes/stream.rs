//! Streaming request and response bodies for the Storage routes, so that a table or a file
//! never sits whole in memory: a request body goes chunk by chunk to a temporary file in the home
//! (bounded by the home's Storage limits), and a response body is fed by blocking Storage code
//! through a small bounded channel (the writer waits while the client is slow).

use std::io::Write;
use std::path::{Path, PathBuf};

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use berth_job::home::Home;
use berth_staging::limits::OutputLimits;
use futures_util::StreamExt;
use tempfile::NamedTempFile;
use tokio::sync::mpsc;

use crate::error::ApiError;

/// How many chunks may wait between the producer and the consumer of a stream.
const CHANNEL_CHUNKS: usize = 8;
/// How often (in bytes written) an upload checks the free space on the home's volume.
const SPACE_CHECK_BYTES: u64 = 64 << 20;
/// After refusing a body midway, how much more of it is read and thrown away (and for how long)
/// so that the client, still sending, gets to read the answer instead of a reset connection.
const DRAIN_BYTES: u64 = 16 << 20;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads and discards what is left of a refused body, within [`DRAIN_BYTES`] and [`DRAIN_TIME`].
async fn drain<S>(stream: &mut S)
where
    S: futures_util::Stream<Item = Result<Bytes, axum::Error>> + Unpin,
{
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut discarded = 0u64;
        while let Some(Ok(chunk)) = stream.next().await {
            discarded += chunk.len() as u64;
            if discarded > DRAIN_BYTES {
                break;
            }
        }
    })
    .await;
}

/// The bounds an upload through the API obeys: the home's `[limits]` (those of an output
/// mapping, the other way data gets into Storage).
#[derive(Debug, Clone, Copy)]
pub(crate) struct UploadLimits {
    /// Most bytes one upload may hold (`output_bytes`).
    pub(crate) max_bytes: u64,
    /// Longest CSV field (`csv_field_bytes`).
    pub(crate) csv_field_bytes: u64,
    /// Free space the home's volume keeps (`free_space_margin_bytes`).
    pub(crate) free_space_margin_bytes: u64,
}

impl UploadLimits {
    /// The limits of `home`, from its settings.
    pub(crate) fn of(home: &Home) -> Result<Self, ApiError> {
        let settings = home
            .settings()
            .map_err(|e| ApiError::internal(anyhow::anyhow!("reading the home's settings: {e}")))?;
        let limits = OutputLimits::default().with(&settings.limits);
        Ok(Self {
            max_bytes: limits.output_bytes,
            csv_field_bytes: limits.csv_field_bytes,
            free_space_margin_bytes: limits.free_space_margin_bytes,
        })
    }
}

/// The directory of the home where request bodies are staged.
fn staging_dir(home: &Home) -> PathBuf {
    home.root().join("tmp")
}

fn free_bytes(dir: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

fn no_space(limits: &UploadLimits) -> ApiError {
    ApiError::new(
        StatusCode::INSUFFICIENT_STORAGE,
        format!(
            "Not enough free space in the berth home: Storage keeps {} bytes free \
             (free_space_margin_bytes).",
            limits.free_space_margin_bytes
        ),
    )
}

fn too_large(what: &str, limits: &UploadLimits) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "The {what} is larger than the home's limit of {} bytes (output_bytes in the \
             home's [limits]).",
            limits.max_bytes
        ),
    )
}

/// Writes `body` to a new temporary file in the home, chunk by chunk, and returns it (removed
/// when dropped). `declared` is the request's Content-Length, when given.
pub(crate) async fn body_to_temp_file(
    home: &Home,
    body: Body,
    declared: Option<u64>,
    limits: UploadLimits,
    what: &'static str,
) -> Result<NamedTempFile, ApiError> {
    if declared.is_some_and(|n| n > limits.max_bytes) {
        drain(&mut body.into_data_stream()).await;
        return Err(too_large(what, &limits));
    }
    let dir = staging_dir(home);
    let (tx, mut rx) = mpsc::channel::<Bytes>(CHANNEL_CHUNKS);
    let writer = tokio::task::spawn_blocking(move || -> Result<NamedTempFile, ApiError> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("creating {}: {e}", dir.display())))?;
        if free_bytes(&dir).is_some_and(|free| {
            free.saturating_sub(declared.unwrap_or(0)) < limits.free_space_margin_bytes
        }) {
            return Err(no_space(&limits));
        }
        let mut file = tempfile::Builder::new()
            .prefix("http-upload-")
            .tempfile_in(&dir)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("creating a temporary file: {e}")))?;
        let mut written = 0u64;
        let mut next_check = SPACE_CHECK_BYTES;
        while let Some(chunk) = rx.blocking_recv() {
            file.write_all(&chunk).map_err(|e| {
                ApiError::internal(anyhow::anyhow!(
                    "writing the {what} to a temporary file: {e}"
                ))
            })?;
            written += chunk.len() as u64;
            if written >= next_check {
                next_check += SPACE_CHECK_BYTES;
                if free_bytes(&dir).is_some_and(|free| free < limits.free_space_margin_bytes) {
                    return Err(no_space(&limits));
                }
            }
        }
        file.flush()
            .map_err(|e| ApiError::internal(anyhow::anyhow!("writing the {what}: {e}")))?;
        Ok(file)
    });
    let mut stream = body.into_data_stream();
    let mut received = 0u64;
    let mut failure = None;
    let mut writer_stopped = false;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => {
                failure = Some(ApiError::bad_request(format!(
                    "Reading the {what} from the request failed: {e}"
                )));
                break;
            }
        };
        received += chunk.len() as u64;
        if received > limits.max_bytes {
            failure = Some(too_large(what, &limits));
            break;
        }
        if tx.send(chunk).await.is_err() {
            // The writer stopped; its error says why.
            writer_stopped = true;
            break;
        }
    }
    drop(tx);
    if failure.is_some() || writer_stopped {
        drain(&mut stream).await;
    }
    let written = writer
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("a request task failed: {e}")))?;
    match failure {
        Some(error) => Err(error),
        None => written,
    }
}

/// A writer that sends what it gets as chunks to the response body.
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client left"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `produce` on a blocking thread, streaming what it writes as the response body. An error
/// before the first byte is the answer (a clean error response); an error after it aborts the
/// body (the client sees a cut-off transfer, never a silently short one).
pub(crate) async fn blocking_body<F>(produce: F) -> Result<Body, ApiError>
where
    F: FnOnce(&mut dyn Write) -> Result<(), ApiError> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(CHANNEL_CHUNKS);
    let (first_tx, first_rx) = tokio::sync::oneshot::channel::<Result<(), ApiError>>();
    let task_tx = tx.clone();
    tokio::task::spawn_blocking(move || {
        let mut writer = FirstWrite {
            inner: ChannelWriter { tx: task_tx },
            first: Some(first_tx),
        };
        let result = produce(&mut writer);
        match result {
            Ok(()) => {
                if let Some(first) = writer.first.take() {
                    let _ = first.send(Ok(()));
                }
            }
            Err(error) => match writer.first.take() {
                Some(first) => {
                    let _ = first.send(Err(error));
                }
                None => {
                    tracing::error!("a streamed answer failed midway: {}", error.message);
                    let _ = writer
                        .inner
                        .tx
                        .blocking_send(Err(std::io::Error::other(error.message)));
                }
            },
        }
    });
    drop(tx);
    match first_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(error),
        Err(_) => {
            return Err(ApiError::internal(anyhow::anyhow!(
                "a streamed answer's task failed"
            )));
        }
    }
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok(Body::from_stream(stream))
}

/// Reports to the request, on the first write (or the end), that the answer has started.
struct FirstWrite {
    inner: ChannelWriter,
    first: Option<tokio::sync::oneshot::Sender<Result<(), ApiError>>>,
}

impl Write for FirstWrite {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(first) = self.first.take() {
            let _ = first.send(Ok(()));
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
