//! The files of a tar layer (plain or gzip'd), as `docker build` or `tar`
//! make them; only a few small files are wanted, so a tar is read in memory
//! with its unpacked size capped (no gzip bomb gets past `max`).

use std::collections::BTreeMap;
use std::io::Read;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArchiveError {
    #[error("the layer unpacks to more than {0} bytes")]
    TooLarge(usize),
    #[error("the layer is not a tar archive: {0}")]
    NotTar(String),
    #[error("the layer is not valid gzip: {0}")]
    Gzip(String),
}

/// The files of an archive whose base name is in `wanted`, by base name.
pub fn files(
    blob: &[u8],
    wanted: &[&str],
    max: usize,
) -> Result<BTreeMap<String, Vec<u8>>, ArchiveError> {
    let tar = if blob.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(blob)
            .take(max as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| ArchiveError::Gzip(e.to_string()))?;
        if out.len() > max {
            return Err(ArchiveError::TooLarge(max));
        }
        out
    } else {
        blob.to_vec()
    };
    entries(&tar, wanted)
}

fn entries(tar: &[u8], wanted: &[&str]) -> Result<BTreeMap<String, Vec<u8>>, ArchiveError> {
    let mut found = BTreeMap::new();
    let mut at = 0;
    // A name from a PAX or GNU long-name entry, for the entry after it.
    let mut long_name: Option<String> = None;
    while at + 512 <= tar.len() {
        let header = &tar[at..at + 512];
        if header.iter().all(|b| *b == 0) {
            break;
        }
        let size = octal(&header[124..136])
            .ok_or_else(|| ArchiveError::NotTar(format!("a bad size at byte {at}")))?;
        let start = at + 512;
        let end = start
            .checked_add(size)
            .filter(|e| *e <= tar.len())
            .ok_or_else(|| ArchiveError::NotTar("an entry runs past the end".into()))?;
        let data = &tar[start..end];
        match header[156] {
            b'x' => long_name = pax_path(data),
            b'L' => long_name = Some(text(data)),
            b'0' | 0 => {
                let name = long_name.take().unwrap_or_else(|| header_name(header));
                let base = name.rsplit('/').next().unwrap_or_default();
                if wanted.contains(&base) {
                    found.insert(base.to_string(), data.to_vec());
                }
            }
            _ => long_name = None,
        }
        at = start + size.div_ceil(512) * 512;
    }
    Ok(found)
}

/// A header's name: ustar's prefix and name.
fn header_name(header: &[u8]) -> String {
    let name = text(&header[..100]);
    if &header[257..262] == b"ustar" {
        let prefix = text(&header[345..500]);
        if !prefix.is_empty() {
            return format!("{prefix}/{name}");
        }
    }
    name
}

fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// An octal number field (NUL- or space-terminated).
fn octal(field: &[u8]) -> Option<usize> {
    let digits = text(field);
    let digits = digits.trim();
    if digits.is_empty() {
        return Some(0);
    }
    usize::from_str_radix(digits, 8).ok()
}

/// The `path` record of a PAX header (`<len> path=<name>\n`).
fn pax_path(data: &[u8]) -> Option<String> {
    String::from_utf8_lossy(data)
        .lines()
        .filter_map(|line| line.split_once(' ').map(|(_, record)| record))
        .find_map(|record| record.strip_prefix("path=").map(String::from))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tar of `(name, data)` entries, as `tar` writes them.
    pub fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in entries {
            let mut header = [0u8; 512];
            header[..name.len()].copy_from_slice(name.as_bytes());
            let size = format!("{:011o}\0", data.len());
            header[124..136].copy_from_slice(size.as_bytes());
            header[156] = b'0';
            header[257..263].copy_from_slice(b"ustar\0");
            out.extend_from_slice(&header);
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.extend_from_slice(&[0u8; 1024]);
        out
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn wanted_files_by_base_name_from_tar_and_gzip() {
        let archive = tar(&[
            ("./server-manifest/manifest.yaml", b"applications: {}\n"),
            ("README", b"not wanted"),
            ("sizing.yaml", b"sizing: x\n"),
        ]);
        let wanted = ["manifest.yaml", "sizing.yaml"];
        for blob in [archive.clone(), gzip(&archive)] {
            let got = files(&blob, &wanted, 1 << 20).unwrap();
            assert_eq!(got.len(), 2);
            assert_eq!(got["manifest.yaml"], b"applications: {}\n");
            assert_eq!(got["sizing.yaml"], b"sizing: x\n");
        }
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_cap() {
        let big = tar(&[("manifest.yaml", &vec![b'a'; 100_000])]);
        assert_eq!(
            files(&gzip(&big), &["manifest.yaml"], 10_000),
            Err(ArchiveError::TooLarge(10_000))
        );
    }

    #[test]
    fn a_truncated_tar_is_refused() {
        let mut archive = tar(&[("manifest.yaml", &[b'a'; 2000])]);
        archive.truncate(1024);
        assert!(matches!(
            files(&archive, &["manifest.yaml"], 1 << 20),
            Err(ArchiveError::NotTar(_))
        ));
    }
}
