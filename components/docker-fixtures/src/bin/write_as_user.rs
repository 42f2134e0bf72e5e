//! Writes `/data/out/files/who.txt` and `/data/out/files/nested/deeper.txt` containing
//! `uid=U gid=G` of the process (read back from the owner of the file it just created), and
//! writes the same line to `/tmp/who.txt` to prove `/tmp` is writable.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn write_who(path: &Path) -> std::io::Result<String> {
    std::fs::write(path, b"")?;
    let meta = std::fs::metadata(path)?;
    let who = format!("uid={} gid={}\n", meta.uid(), meta.gid());
    std::fs::write(path, &who)?;
    Ok(who)
}

fn main() -> std::io::Result<()> {
    let files = Path::new("/data/out/files");
    std::fs::create_dir_all(files.join("nested"))?;
    let who = write_who(&files.join("who.txt"))?;
    write_who(&files.join("nested/deeper.txt"))?;
    write_who(Path::new("/tmp/who.txt"))?;
    print!("{who}");
    Ok(())
}
