//! Reading a backtest input, and what to say when it cannot be used: the common slips are a
//! compressed download given as it is, and a folder whose files are named after other zones
//! than the regions' (`DK-DK1.csv` where the default `REGIONS` asks for `DK.csv`).

use std::io::ErrorKind;
use std::path::Path;

/// Why an input file could not be read as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    Missing,
    /// A compressed or archived file, by its first bytes, and how to extract it.
    Compressed {
        format: &'static str,
        extract: &'static str,
    },
    NotText,
    Other(String),
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreadable::Missing => write!(f, "cannot read the file: no such file"),
            Unreadable::Compressed { format, extract } => write!(
                f,
                "a {format} file, not text; extract it first ({extract}) and give the extracted file"
            ),
            Unreadable::NotText => write!(f, "not UTF-8 text; give a CSV or text file"),
            Unreadable::Other(e) => write!(f, "cannot read the file: {e}"),
        }
    }
}

/// Formats told apart by their first bytes, with the command that extracts each.
const MAGIC: [(&[u8], &str, &str); 5] = [
    (
        b"BZh",
        "bzip2-compressed",
        "`tar xjf FILE` for .tbz2/.tar.bz2, else `bunzip2 -k FILE`",
    ),
    (
        b"\x1f\x8b",
        "gzip-compressed",
        "`tar xzf FILE` for .tgz/.tar.gz, else `gunzip -k FILE`",
    ),
    (
        b"\xfd7zXZ\x00",
        "xz-compressed",
        "`tar xJf FILE` for .txz/.tar.xz, else `unxz -k FILE`",
    ),
    (
        b"\x28\xb5\x2f\xfd",
        "zstd-compressed",
        "`tar --zstd -xf FILE`, else `unzstd FILE`",
    ),
    (b"PK\x03\x04", "zip", "`unzip FILE`"),
];

pub fn read_text(path: &Path) -> Result<String, Unreadable> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => Unreadable::Missing,
        _ => Unreadable::Other(e.to_string()),
    })?;
    if let Some((_, format, extract)) = MAGIC.iter().find(|(m, _, _)| bytes.starts_with(m)) {
        return Err(Unreadable::Compressed { format, extract });
    }
    String::from_utf8(bytes).map_err(|_| Unreadable::NotText)
}

/// The zones a folder holds files for (`*.csv` names without the extension), sorted.
pub fn zones_in(dir: &Path) -> Vec<String> {
    let mut zones: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            Some(name.strip_suffix(".csv")?.to_string())
        })
        .collect();
    zones.sort();
    zones
}

/// A zone file the folder holds for a zone it lacks: a sub-zone (`DK-DK1` for `DK`), when only
/// one matches.
pub fn likely_zone<'a>(zone: &str, held: &'a [String]) -> Option<&'a str> {
    let prefix = format!("{}-", zone.to_ascii_uppercase());
    let mut matches = held
        .iter()
        .filter(|h| h.to_ascii_uppercase().starts_with(&prefix));
    match (matches.next(), matches.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("carbonctl-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn compressed_and_binary_files_say_what_to_do() {
        for (name, bytes, says) in [
            (
                "w.tbz2",
                &b"BZh91AY&SY"[..],
                "a bzip2-compressed file, not text; extract it first (`tar xjf FILE`",
            ),
            ("w.gz", &b"\x1f\x8b\x08\x00"[..], "a gzip-compressed file"),
            ("w.xz", &b"\xfd7zXZ\x00\x00"[..], "a xz-compressed file"),
            (
                "w.zst",
                &b"\x28\xb5\x2f\xfd\x00"[..],
                "a zstd-compressed file",
            ),
            (
                "w.zip",
                &b"PK\x03\x04\x14"[..],
                "a zip file, not text; extract it first (`unzip FILE`)",
            ),
            (
                "w.bin",
                &b"\xff\xfe\x00"[..],
                "not UTF-8 text; give a CSV or text file",
            ),
        ] {
            let problem = read_text(&file(name, bytes)).unwrap_err().to_string();
            assert!(problem.starts_with(says), "{name}: {problem}");
        }
        assert_eq!(read_text(&file("w.csv", b"1,2\n")).unwrap(), "1,2\n");
        assert_eq!(
            read_text(Path::new("/nonexistent/w.csv")),
            Err(Unreadable::Missing)
        );
    }

    #[test]
    fn a_zone_the_folder_lacks_points_at_its_only_sub_zone() {
        let held: Vec<String> = ["CH", "DK-DK1", "DK-DK2", "FR", "SE-SE3"]
            .map(String::from)
            .into();
        assert_eq!(likely_zone("se", &held), Some("SE-SE3"));
        assert_eq!(likely_zone("DK", &held), None, "two sub-zones: no guess");
        assert_eq!(likely_zone("LV", &held), None);
        assert_eq!(
            likely_zone("S", &held),
            None,
            "a prefix of a zone is not its zone"
        );
    }

    #[test]
    fn the_zones_of_a_folder_are_its_csv_names_sorted() {
        let dir = file("LV.csv", b"").parent().unwrap().join("zones");
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["LV.csv", "DK-DK1.csv", "notes.txt"] {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        assert_eq!(zones_in(&dir), ["DK-DK1", "LV"]);
        assert!(zones_in(Path::new("/nonexistent")).is_empty());
    }
}
