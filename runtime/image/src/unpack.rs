//! Finding the wasm module in a layer: the layer itself (a raw module), or one file inside a
//! tar / tar+gzip layer of a `wasi/wasm` container image.

use std::io::Read;
use std::path::{Component, Path};

use anyhow::{Context as _, bail};

/// The first bytes of every wasm binary (core module or component).
pub const WASM_MAGIC: &[u8; 4] = b"\0asm";
/// The most a module taken out of a tar may weigh.
const MAX_MODULE_BYTES: u64 = 512 * 1024 * 1024;

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
pub fn module_from_tar(layer: &Path, entrypoint: Option<&str>) -> anyhow::Result<Vec<u8>> {
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
    let wanted = entrypoint.map(normalize);
    let mut archive = tar::Archive::new(reader);
    let mut found: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in archive
        .entries()
        .context("read the layer as a tar archive")?
    {
        let mut entry = entry.context("read a tar entry")?;
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
        if entry.size() > MAX_MODULE_BYTES {
            bail!("{path} is larger than {MAX_MODULE_BYTES} bytes");
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .with_context(|| format!("read {path} from the layer"))?;
        found.push((path, bytes));
    }
    let (path, bytes) = match (found.len(), &wanted) {
        (1, _) => found.pop().unwrap_or_default(),
        (0, Some(w)) => bail!("the layer has no file /{w} (the image's entrypoint)"),
        (0, None) => bail!("the layer holds no .wasm file and the image has no entrypoint"),
        (n, _) => bail!("the layer holds {n} .wasm files; set the image's entrypoint to one"),
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
            assert_eq!(
                module_from_tar(layer.path(), Some("/app.wasm")).unwrap(),
                MODULE
            );
            assert_eq!(module_from_tar(layer.path(), None).unwrap(), MODULE);
            assert!(module_from_tar(layer.path(), Some("/other.wasm")).is_err());
        }
        let two = tar_with(&[("a.wasm", MODULE), ("b.wasm", MODULE)], false);
        assert!(module_from_tar(two.path(), None).is_err());
        assert_eq!(
            module_from_tar(two.path(), Some("./b.wasm")).unwrap(),
            MODULE
        );
        let not_wasm = tar_with(&[("a.wasm", b"text")], false);
        assert!(module_from_tar(not_wasm.path(), None).is_err());
    }
}
