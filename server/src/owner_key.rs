//! The key that signs owner cookies: `OWNER_KEY` on GKE (a Kubernetes Secret, the same for every
//! replica), or on a laptop a file beside the SQLite database, generated on first start and
//! kept, so cookies stay valid across restarts.

use app::session::OwnerKey;
use std::io::Write;
use std::path::Path;

pub fn load_or_create(path: &Path) -> std::io::Result<OwnerKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => OwnerKey::from_hex(&text).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not 64 hex digits; delete it to make a new key (every browser then gets a new owner)",
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let key = OwnerKey::generate();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(mut file) => {
                    file.write_all(key.to_hex().as_bytes())?;
                    tracing::info!(path = %path.display(), "owner-cookie key generated");
                    Ok(key)
                }
                // Another process made it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(path),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_and_kept() {
        let dir = testkit::tempdir();
        let path = dir.path().join("sub/owner.key");
        let first = load_or_create(&path).expect("created");
        let again = load_or_create(&path).expect("read");
        assert_eq!(first.to_hex(), again.to_hex());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "only the server's user may read it");
        }
        std::fs::write(&path, "garbage").expect("write");
        assert!(
            load_or_create(&path).is_err(),
            "a damaged key stops start-up"
        );
    }
}
