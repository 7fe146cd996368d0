//! Files that hold personal data (BRIEF §6: the users are minors): the data directory is made
//! 0700 and the store and its backups 0600, whatever the umask the process was started with;
//! and cells of CSV exports that a spreadsheet opens are kept from being read as formulas.

use std::borrow::Cow;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` (and its missing parents) readable by its owner only.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Makes `path` readable and writable by its owner only.
pub fn make_private(path: &Path) -> io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// A CSV cell as a spreadsheet should show it: text starting with `=`, `+`, `-`, `@`, a tab
/// or a carriage return is read as a formula by Excel and LibreOffice (CSV injection), so
/// it is prefixed with `'`, which they show as text.
pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn private_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a/b");
        create_private_dir(&data).unwrap();
        assert_eq!(std::fs::metadata(&data).unwrap().mode() & 0o777, 0o700);
        let f = data.join("f");
        std::fs::write(&f, "x").unwrap();
        make_private(&f).unwrap();
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o777, 0o600);
        // Again is fine.
        create_private_dir(&data).unwrap();
    }

    #[test]
    fn formulas_are_shown_as_text() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("+33"), "'+33");
        assert_eq!(spreadsheet_safe("-2"), "'-2");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("\tx"), "'\tx");
        assert_eq!(spreadsheet_safe("Jean-Paul"), "Jean-Paul");
        assert_eq!(spreadsheet_safe("Éloïse"), "Éloïse");
        assert_eq!(spreadsheet_safe(""), "");
    }
}
