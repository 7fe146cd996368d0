//! `selfgate account add|passwd|remove|list`: the kiosk's staff accounts in
//! `DATA/accounts.toml` (the file itself is handled by `selfgate_kiosk::accounts`). Passwords
//! are read from stdin or a file, never from the command line. The running daemon reads the
//! file again when it changes: no restart needed.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use selfgate_kiosk::accounts::{AccountsFile, Role};

use super::AccountCommand;
use super::words::{Msg, text};

/// `selfgate account …`.
pub fn command(what: AccountCommand) -> anyhow::Result<ExitCode> {
    match what {
        AccountCommand::Add {
            name,
            role,
            password_file,
            place,
        } => add(&place.data_dir()?, &name, &role, password_file.as_deref())?,
        AccountCommand::Passwd {
            name,
            password_file,
            place,
        } => passwd(&place.data_dir()?, &name, password_file.as_deref())?,
        AccountCommand::Remove { name, place } => remove(&place.data_dir()?, &name)?,
        AccountCommand::List { place } => list(&place.data_dir()?)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The password: the first line of `file`, or of stdin.
fn read_password(file: Option<&Path>) -> anyhow::Result<String> {
    let mut input = String::new();
    match file {
        Some(f) => {
            input =
                std::fs::read_to_string(f).with_context(|| text(Msg::ReadingPasswordFile(f)))?;
        }
        None => {
            std::io::stdin()
                .take(4096)
                .read_to_string(&mut input)
                .with_context(|| text(Msg::ReadingPasswordStdin))?;
        }
    }
    let line = input.lines().next().unwrap_or("").to_owned();
    if line.is_empty() {
        anyhow::bail!("{}", Msg::NoPassword);
    }
    Ok(line)
}

pub fn add(
    data: &Path,
    name: &str,
    role: &str,
    password_file: Option<&Path>,
) -> anyhow::Result<()> {
    let role: Role = role.parse()?;
    let password = read_password(password_file)?;
    let file = AccountsFile::in_dir(data);
    file.add(name, role, &password)?;
    println!(
        "{}",
        Msg::AccountAdded {
            name,
            role: role.code(),
            file: file.path(),
        }
    );
    Ok(())
}

pub fn passwd(data: &Path, name: &str, password_file: Option<&Path>) -> anyhow::Result<()> {
    let password = read_password(password_file)?;
    AccountsFile::in_dir(data).set_password(name, &password)?;
    println!("{}", Msg::PasswordChanged(name));
    Ok(())
}

pub fn remove(data: &Path, name: &str) -> anyhow::Result<()> {
    AccountsFile::in_dir(data).remove(name)?;
    println!("{}", Msg::AccountRemoved(name));
    Ok(())
}

pub fn list(data: &Path) -> anyhow::Result<()> {
    for a in AccountsFile::in_dir(data).accounts()? {
        println!("{}\t{}", a.name, a.role.code());
    }
    Ok(())
}

/// The demo's staff account (`demo`, administrateur), created once with a random password kept
/// beside it in `DIR/demo-password.txt` (mode 0600); printed at every start with the URL.
pub fn demo_account(data: &Path, addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let file = AccountsFile::in_dir(data);
    let pw_path = data.join("demo-password.txt");
    let password = match (file.get("demo"), std::fs::read_to_string(&pw_path)) {
        (Some(_), Ok(p)) if !p.trim().is_empty() => p.trim().to_owned(),
        (existing, _) => {
            if existing.is_some() {
                file.remove("demo")?;
            }
            let token = selfgate_kiosk::auth::random_token();
            let password: String = token.chars().take(16).collect();
            file.add("demo", Role::Administrateur, &password)?;
            write_private(&pw_path, &password)?;
            password
        }
    };
    println!(
        "{}",
        Msg::DemoAccount {
            password: &password,
            addr
        }
    );
    Ok(())
}

fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| text(Msg::CannotWrite(path)))?;
    f.write_all(content.as_bytes())?;
    f.write_all(b"\n")?;
    Ok(())
}
