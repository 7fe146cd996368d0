//! Staff accounts: `DATA/accounts.toml`, owner-only (0600), written atomically (a temporary file
//! beside it, synced, then renamed), passwords as argon2id PHC strings. The `selfgate account`
//! commands and the kiosk's own account page both go through [`AccountsFile`]; the daemon reads
//! the file again whenever it changes, so accounts added or removed while it runs apply at once.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::SystemTime;

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use serde::{Deserialize, Serialize};

/// The accounts file's name in the data directory.
pub const ACCOUNTS_FILE: &str = "accounts.toml";

/// What a member of staff may do. Each role includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Canteen staff: watches the service, searches, admits by hand.
    Surveillant,
    /// The cash desk (*régie*): takes payments, cancels and refunds them, prints the régie's
    /// reports; changes no rights (badges, oppositions stay the gestionnaire's).
    Regisseur,
    /// The intendance: badges, oppositions, balances, reports.
    Gestionnaire,
    /// Everything, staff accounts included.
    Administrateur,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Surveillant,
        Role::Regisseur,
        Role::Gestionnaire,
        Role::Administrateur,
    ];
    pub fn code(self) -> &'static str {
        match self {
            Role::Surveillant => "surveillant",
            Role::Regisseur => "regisseur",
            Role::Gestionnaire => "gestionnaire",
            Role::Administrateur => "administrateur",
        }
    }
}

impl FromStr for Role {
    type Err = AccountError;
    fn from_str(s: &str) -> Result<Role, AccountError> {
        Role::ALL
            .into_iter()
            .find(|r| r.code() == s.trim())
            .ok_or_else(|| AccountError::BadRole(s.to_owned()))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub name: String,
    pub role: Role,
    /// argon2id PHC string.
    pub hash: String,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileContents {
    #[serde(default, rename = "account")]
    accounts: Vec<Account>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid accounts file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("`{0}` is not a role: expected surveillant, regisseur, gestionnaire or administrateur")]
    BadRole(String),
    #[error(
        "`{0}` is not an account name: 1 to 32 letters, digits, `.`, `-` or `_`, starting with a letter"
    )]
    BadName(String),
    #[error("the password must have at least {MIN_PASSWORD} characters")]
    ShortPassword,
    #[error("the account `{0}` already exists")]
    Exists(String),
    #[error("no account named `{0}`")]
    Unknown(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

/// Checks an account name: 1 to 32 of `[A-Za-z0-9._-]`, starting with a letter.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// An argon2id PHC string for `password`, with a random salt.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AccountError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| AccountError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash` (a malformed hash matches nothing).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The accounts file, read again when its modification time changes.
pub struct AccountsFile {
    path: PathBuf,
    cache: Mutex<Option<(Option<SystemTime>, Vec<Account>)>>,
}

impl AccountsFile {
    pub fn new(path: impl Into<PathBuf>) -> AccountsFile {
        AccountsFile {
            path: path.into(),
            cache: Mutex::new(None),
        }
    }

    /// `DIR/accounts.toml`.
    pub fn in_dir(dir: &Path) -> AccountsFile {
        AccountsFile::new(dir.join(ACCOUNTS_FILE))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<Vec<Account>, AccountError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(AccountError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let contents: FileContents = toml::from_str(&text).map_err(|e| AccountError::Parse {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        for a in &contents.accounts {
            if !valid_name(&a.name) {
                return Err(AccountError::Parse {
                    path: self.path.clone(),
                    message: AccountError::BadName(a.name.clone()).to_string(),
                });
            }
        }
        Ok(contents.accounts)
    }

    /// Every account, as the file holds them now (read again only when it changed).
    pub fn accounts(&self) -> Result<Vec<Account>, AccountError> {
        let mtime = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((seen, accounts)) = cache.as_ref() {
            if *seen == mtime && mtime.is_some() {
                return Ok(accounts.clone());
            }
        }
        let accounts = self.read()?;
        *cache = Some((mtime, accounts.clone()));
        Ok(accounts)
    }

    pub fn get(&self, name: &str) -> Option<Account> {
        self.accounts().ok()?.into_iter().find(|a| a.name == name)
    }

    /// Writes `accounts` atomically, mode 0600.
    fn write(&self, accounts: Vec<Account>) -> Result<(), AccountError> {
        let io = |source| AccountError::Io {
            path: self.path.clone(),
            source,
        };
        let text =
            toml::to_string(&FileContents { accounts }).map_err(|e| AccountError::Parse {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let tmp = self.path.with_extension("toml.tmp");
        {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(&tmp).map_err(io)?;
            f.write_all(b"# selfgate staff accounts: edit with `selfgate account`, not by hand.\n")
                .map_err(io)?;
            f.write_all(text.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        #[cfg(unix)]
        {
            std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .map_err(io)?;
            // `sudo selfgate account add` must leave a file the daemon's user can read: the
            // file belongs to the data directory's owner (allowed to root only; else a no-op).
            use std::os::unix::fs::MetadataExt;
            if let Ok(d) = std::fs::metadata(dir) {
                let _ = std::os::unix::fs::chown(&tmp, Some(d.uid()), Some(d.gid()));
            }
        }
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        *self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        Ok(())
    }

    pub fn add(&self, name: &str, role: Role, password: &str) -> Result<(), AccountError> {
        if !valid_name(name) {
            return Err(AccountError::BadName(name.to_owned()));
        }
        if password.chars().count() < MIN_PASSWORD {
            return Err(AccountError::ShortPassword);
        }
        let mut accounts = self.read()?;
        if accounts.iter().any(|a| a.name == name) {
            return Err(AccountError::Exists(name.to_owned()));
        }
        accounts.push(Account {
            name: name.to_owned(),
            role,
            hash: hash_password(password)?,
        });
        self.write(accounts)
    }

    pub fn set_password(&self, name: &str, password: &str) -> Result<(), AccountError> {
        if password.chars().count() < MIN_PASSWORD {
            return Err(AccountError::ShortPassword);
        }
        let mut accounts = self.read()?;
        let a = accounts
            .iter_mut()
            .find(|a| a.name == name)
            .ok_or_else(|| AccountError::Unknown(name.to_owned()))?;
        a.hash = hash_password(password)?;
        self.write(accounts)
    }

    pub fn remove(&self, name: &str) -> Result<(), AccountError> {
        let mut accounts = self.read()?;
        let before = accounts.len();
        accounts.retain(|a| a.name != name);
        if accounts.len() == before {
            return Err(AccountError::Unknown(name.to_owned()));
        }
        self.write(accounts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_hashed_owner_only_and_reread_when_changed() {
        let dir = tempfile::tempdir().unwrap();
        let file = AccountsFile::in_dir(dir.path());
        assert!(file.accounts().unwrap().is_empty());
        file.add("mleroy", Role::Surveillant, "cantine-2026!")
            .unwrap();
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert!(text.contains("$argon2id$"), "{text}");
        assert!(!text.contains("cantine-2026!"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let a = file.get("mleroy").unwrap();
        assert!(verify_password("cantine-2026!", &a.hash));
        assert!(!verify_password("cantine-2027!", &a.hash));
        // Another process (the `selfgate account` command) changes the file: seen at once.
        let other = AccountsFile::in_dir(dir.path());
        other
            .add("intendance", Role::Gestionnaire, "bursar-password")
            .unwrap();
        assert!(file.get("intendance").is_some());
        other.remove("mleroy").unwrap();
        assert!(file.get("mleroy").is_none());
        assert!(matches!(
            other.add("intendance", Role::Surveillant, "0123456789"),
            Err(AccountError::Exists(_))
        ));
        assert!(matches!(
            other.add("x y", Role::Surveillant, "0123456789"),
            Err(AccountError::BadName(_))
        ));
        assert!(matches!(
            other.add("court", Role::Surveillant, "abc"),
            Err(AccountError::ShortPassword)
        ));
        assert!("chef".parse::<Role>().is_err());
        assert_eq!("regisseur".parse::<Role>().unwrap(), Role::Regisseur);
        assert!(Role::Surveillant < Role::Regisseur && Role::Regisseur < Role::Gestionnaire);
        assert_eq!(
            "administrateur".parse::<Role>().unwrap(),
            Role::Administrateur
        );
    }

    #[test]
    fn a_broken_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = AccountsFile::in_dir(dir.path());
        std::fs::write(
            file.path(),
            "[[account]]\nname = \"a\"\nrole = \"chef\"\nhash = \"\"\n",
        )
        .unwrap();
        let e = file.accounts().unwrap_err().to_string();
        assert!(e.contains("accounts.toml"), "{e}");
    }
}
