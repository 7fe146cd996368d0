//! Files holding secrets (TLS keys, PRONOTE/ENT credentials): where the daemon finds them and
//! the check it makes before reading one.
//!
//! Under systemd, secrets come as credentials: the unit's `LoadCredential=NAME:/etc/…` (or
//! `LoadCredentialEncrypted=`) makes a copy readable only by the service at
//! `$CREDENTIALS_DIRECTORY/NAME`; [`secret_file`] looks there first. Otherwise a path from the
//! configuration is used, and refused when its group or others may read it (or write it):
//! a key other local users can read is no longer a secret.

use std::path::{Path, PathBuf};

/// Checks that `path` is a regular file that only its owner may read or write.
/// The message says what is wrong and how to fix it.
pub fn check_secret_file(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the secret file {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("secret {} is not a regular file", path.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "secret file {} is accessible by its group or others (mode {mode:04o}); \
                 refusing it: run `chmod 600 {}` or pass it with LoadCredential=",
                path.display(),
                path.display()
            ));
        }
    }
    Ok(())
}

/// The file holding secret `name`: `$CREDENTIALS_DIRECTORY/name` when systemd passed it as a
/// credential, else `configured` once [`check_secret_file`] accepts it.
pub fn secret_file(name: &str, configured: Option<&Path>) -> Result<PathBuf, String> {
    let credentials = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    find_secret(credentials.as_deref(), name, configured)
}

fn find_secret(
    credentials: Option<&Path>,
    name: &str,
    configured: Option<&Path>,
) -> Result<PathBuf, String> {
    if let Some(dir) = credentials {
        let p = dir.join(name);
        if p.is_file() {
            // systemd makes credentials readable by the service only.
            return Ok(p);
        }
    }
    match configured {
        Some(p) => check_secret_file(p).map(|()| p.to_owned()),
        None => Err(format!(
            "secret `{name}` not found: give it with LoadCredential={name}:/etc/selfgate/{name} \
             in the unit, or set its path in the configuration"
        )),
    }
}

/// Logs a warning (at start) for a secret file others may read; `Ok` when it is private.
pub fn warn_if_exposed(path: &Path) -> bool {
    match check_secret_file(path) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("{e}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn file_with_mode(dir: &Path, name: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, "secret").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn only_owner_only_files_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        for ok in [0o600, 0o400] {
            let p = file_with_mode(dir.path(), &format!("ok{ok:o}"), ok);
            assert_eq!(check_secret_file(&p), Ok(()), "mode {ok:o}");
        }
        for bad in [0o644, 0o640, 0o604, 0o620, 0o602] {
            let p = file_with_mode(dir.path(), &format!("bad{bad:o}"), bad);
            let e = check_secret_file(&p).unwrap_err();
            assert!(
                e.contains(&format!("{bad:04o}")) && e.contains("chmod 600"),
                "{e}"
            );
            assert!(!warn_if_exposed(&p));
        }
        assert!(check_secret_file(&dir.path().join("missing")).is_err());
        assert!(check_secret_file(dir.path()).is_err(), "a directory");
    }

    #[test]
    fn credentials_directory_comes_first_then_a_checked_path() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("creds");
        std::fs::create_dir(&creds).unwrap();
        let cred = file_with_mode(&creds, "pronote.key", 0o400);
        let loose = file_with_mode(dir.path(), "loose.key", 0o644);
        let tight = file_with_mode(dir.path(), "tight.key", 0o600);
        assert_eq!(
            find_secret(Some(&creds), "pronote.key", Some(&loose)),
            Ok(cred)
        );
        assert_eq!(
            find_secret(Some(&creds), "tls.key", Some(&tight)),
            Ok(tight.clone())
        );
        assert!(find_secret(None, "tls.key", Some(&loose)).is_err());
        let e = find_secret(None, "tls.key", None).unwrap_err();
        assert!(e.contains("LoadCredential=tls.key"), "{e}");
    }
}
