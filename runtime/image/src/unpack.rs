//! Finding the wasm module in a layer: the layer itself (a raw module), or one file inside a
//! tar / tar+gzip layer of a `wasi/wasm` container image.
//!
//! The layer comes from a registry berth does not trust, so unpacking is bounded
//! ([`UnpackLimits`]): every byte that comes out of the decompressor counts (skipped entries
//! too), so do the entries, a module larger than its limit is refused before it is read, and
//! without an entrypoint the search stops at the second `.wasm` file instead of keeping both.

use std::io::{self, Read};
use std::path::{Component, Path};

use anyhow::{Context as _, bail};

/// The first bytes of every wasm binary (core module or component).
pub const WASM_MAGIC: &[u8; 4] = b"\0asm";

/// Bounds on unpacking one tar layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    /// The most a module taken out of a tar may weigh.
    pub module_bytes: u64,
    /// The most bytes the (decompressed) tar stream may yield.
    pub unpacked_bytes: u64,
    /// The most entries the tar may hold.
    pub entries: u64,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        Self {
            module_bytes: 512 << 20,
            unpacked_bytes: 2 << 30,
            entries: 100_000,
        }
    }
}

/// Counts what the decompressor yields and fails past the limit.
struct Counted<R> {
    inner: R,
    read: u64,
    limit: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(io::Error::other(format!(
                "the layer unpacks to more than the limit of {} bytes (registry.unpacked_bytes)",
                self.limit
            )));
        }
        Ok(n)
    }
}

/// Whether the file starts with the wasm magic.
pub fn is_wasm_file(path: &Path) -> anyhow::Result<bool> {
    let mut head = [0u8; 4];
    let mut file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let n = read_up_to(&mut file, &mut head)?;
    Ok(n == 4 && &head == WASM_MAGIC)
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> anyhow::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = reader.read(&mut buf[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// Extracts the module from a tar layer (gzip-compressed or not). `entrypoint` names the file
/// when given (`/app.wasm`, `app.wasm`); otherwise the layer must hold exactly one `.wasm` file.
pub fn module_from_tar(
    layer: &Path,
    entrypoint: Option<&str>,
    limits: &UnpackLimits,
) -> anyhow::Result<Vec<u8>> {
    let mut file =
        std::fs::File::open(layer).with_context(|| format!("open {}", layer.display()))?;
    let mut head = [0u8; 2];
    let gzip = read_up_to(&mut file, &mut head)? == 2 && head == [0x1f, 0x8b];
    drop(file);
    let file = std::fs::File::open(layer)?;
    let reader: Box<dyn Read> = if gzip {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let reader = Counted {
        inner: reader,
        read: 0,
        limit: limits.unpacked_bytes,
    };
    let wanted = entrypoint.map(normalize);
    let mut archive = tar::Archive::new(reader);
    let mut found: Option<(String, Vec<u8>)> = None;
    let mut entries = 0u64;
    for entry in archive
        .entries()
        .context("read the layer as a tar archive")?
    {
        let mut entry = entry.context("read a tar entry")?;
        entries += 1;
        if entries > limits.entries {
            bail!(
                "the layer holds more than the limit of {} entries (registry.tar_entries)",
                limits.entries
            );
        }
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = normalize(&entry.path()?.to_string_lossy());
        let take = match &wanted {
            Some(w) => *w == path,
            None => path.ends_with(".wasm"),
        };
        if !take {
            continue;
        }
        if let Some((first, _)) = &found {
            bail!(
                "the layer holds more than one .wasm file ({first}, {path}, ...); set the image's entrypoint to one"
            );
        }
        if entry.size() > limits.module_bytes {
            bail!(
                "{path} is {} bytes, more than the limit of {} bytes (registry.module_bytes)",
                entry.size(),
                limits.module_bytes
            );
        }
        let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        (&mut entry)
            .take(limits.module_bytes + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("read {path} from the layer"))?;
        found = Some((path, bytes));
        if wanted.is_some() {
            // The entrypoint is the module; nothing after it matters.
            break;
        }
    }
    let (path, bytes) = match (found, &wanted) {
        (Some(found), _) => found,
        (None, Some(w)) => bail!("the layer has no file /{w} (the image's entrypoint)"),
        (None, None) => bail!("the layer holds no .wasm file and the image has no entrypoint"),
    };
    if !bytes.starts_with(WASM_MAGIC) {
        bail!("/{path} in the layer is not a wasm binary");
    }
    Ok(bytes)
}

/// `/./a//b.wasm` → `a/b.wasm`.
fn normalize(path: &str) -> String {
    Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(files: &[(&str, &[u8])], gzip: bool) -> tempfile::NamedTempFile {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *bytes).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let bytes = if gzip {
            use std::io::Write as _;
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(&tar).unwrap();
            enc.finish().unwrap()
        } else {
            tar
        };
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), bytes).unwrap();
        file
    }

    const MODULE: &[u8] = b"\0asm\x01\0\0\0";

    #[test]
    fn finds_the_entrypoint_or_the_only_module() {
        for gzip in [false, true] {
            let layer = tar_with(&[("etc/x", b"x"), ("app.wasm", MODULE)], gzip);
            let limits = UnpackLimits::default();
            assert_eq!(
                module_from_tar(layer.path(), Some("/app.wasm"), &limits).unwrap(),
                MODULE
            );
            assert_eq!(
                module_from_tar(layer.path(), None, &limits).unwrap(),
                MODULE
            );
            assert!(module_from_tar(layer.path(), Some("/other.wasm"), &limits).is_err());
        }
        let limits = UnpackLimits::default();
        let two = tar_with(&[("a.wasm", MODULE), ("b.wasm", MODULE)], false);
        let err = module_from_tar(two.path(), None, &limits).unwrap_err();
        assert!(
            format!("{err:#}").contains("more than one .wasm file"),
            "{err:#}"
        );
        assert_eq!(
            module_from_tar(two.path(), Some("./b.wasm"), &limits).unwrap(),
            MODULE
        );
        let not_wasm = tar_with(&[("a.wasm", b"text")], false);
        assert!(module_from_tar(not_wasm.path(), None, &limits).is_err());
    }

    #[test]
    fn unpacking_is_bounded() {
        let small = UnpackLimits {
            module_bytes: 4,
            unpacked_bytes: 4096,
            entries: 3,
        };
        let layer = tar_with(&[("app.wasm", MODULE)], true);
        let err = module_from_tar(layer.path(), None, &small).unwrap_err();
        assert!(
            format!("{err:#}").contains("limit of 4 bytes (registry.module_bytes)"),
            "{err:#}"
        );
        let many = tar_with(&[("a", b"1"), ("b", b"2"), ("c", b"3"), ("d", b"4")], false);
        let err = module_from_tar(many.path(), None, &small).unwrap_err();
        assert!(format!("{err:#}").contains("limit of 3 entries"), "{err:#}");
        let filler = vec![b'x'; 8192];
        let big = tar_with(&[("filler", &filler), ("app.wasm", MODULE)], true);
        let err = module_from_tar(big.path(), None, &small).unwrap_err();
        assert!(
            format!("{err:#}").contains("registry.unpacked_bytes"),
            "{err:#}"
        );
    }
}
