//! Copies every input table (a file or a directory of slices under `in/tables`, manifests left
//! out) to `out/tables` under the same name, then exits 0. The data folder is `KBC_DATADIR`
//! (else /data), so the same program also runs natively for the benches.
use std::fs;
use std::path::Path;

fn copy(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        fs::create_dir_all(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        fs::copy(from, to).map(|_| ())
    }
}

fn main() {
    let data = std::env::var("KBC_DATADIR").unwrap_or_else(|_| "/data".to_owned());
    let data = Path::new(&data);
    let input = data.join("in/tables");
    let output = data.join("out/tables");
    fs::create_dir_all(&output).expect("out/tables");
    let mut entries: Vec<_> = fs::read_dir(&input)
        .expect("in/tables is readable")
        .map(|e| e.expect("entry").path())
        .filter(|p| !p.to_string_lossy().ends_with(".manifest"))
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().expect("a name");
        copy(&path, &output.join(name)).expect("copying a table");
        println!("pass_through: copied {}", name.to_string_lossy());
    }
}
