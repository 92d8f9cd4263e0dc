//! How every command reaches its registry: the `--db` argument, the key that unlocks it, and
//! opening the right backend for it. The only place in the command line that names a backend.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};

use peywand_store::Store;
use peywand_store::prelude::*;
use peywand_store_postgres::PgStore;
use peywand_store_sqlite::{DbKey, SqliteStore};

/// A registry and how to unlock it.
#[derive(clap::Args, Clone, Debug)]
pub struct Database {
    /// The registry: a database file (created if it does not exist, also written
    /// `sqlite://PATH`), or a PostgreSQL hub as `postgres://USER@HOST/DATABASE`.
    #[arg(long = "db", env = "PEYWAND_DB", value_name = "PATH_OR_URL")]
    pub path: PathBuf,
    /// A file holding the database key (readable by its owner only). Without it the key is
    /// read from PEYWAND_DB_KEY; with neither, a database file is not encrypted.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

/// Where a registry lives, read from `--db`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file, the embedded default of a site laptop.
    File(PathBuf),
    /// A PostgreSQL database, a national hub's.
    Postgres(String),
}

impl Database {
    /// The backend and where its data lives: `postgres://` or `postgresql://` is PostgreSQL,
    /// `sqlite://PATH` or a plain path is an SQLite file.
    pub fn location(&self) -> anyhow::Result<Location> {
        let text = self
            .path
            .to_str()
            .context("the database path is not valid UTF-8")?;
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Location::Postgres(text.to_string()));
        }
        if let Some((scheme, _)) = text.split_once("://")
            && scheme != "sqlite"
        {
            bail!(
                "--db {scheme}://… is not a registry Peywand can open: give a file path, \
                 sqlite://PATH or postgres://USER@HOST/DATABASE"
            );
        }
        let path = text.strip_prefix("sqlite://").unwrap_or(text);
        Ok(Location::File(PathBuf::from(path)))
    }

    pub(crate) fn in_folder(path: PathBuf, key_file: PathBuf) -> Database {
        Database {
            path,
            key_file: Some(key_file),
        }
    }

    /// How the registry is named in messages: a file's path, or a hub's address without its
    /// password.
    pub(crate) fn display(&self) -> String {
        match self.location() {
            Ok(Location::Postgres(url)) => peywand_store_postgres::without_password(&url),
            _ => self.path.display().to_string(),
        }
    }

    /// Whether the registry exists: a file that is there; a hub is taken to exist, and
    /// opening it says otherwise.
    pub(crate) fn exists(&self) -> bool {
        match self.location() {
            Ok(Location::File(path)) => path.exists(),
            Ok(Location::Postgres(_)) => true,
            Err(_) => false,
        }
    }

    /// The key, from the key file or the environment.
    fn key(&self) -> anyhow::Result<Option<DbKey>> {
        match &self.key_file {
            Some(file) => read_key_file(file).map(Some),
            None => match std::env::var("PEYWAND_DB_KEY") {
                Ok(text) if !text.trim().is_empty() => Ok(Some(
                    DbKey::new(&text).context("PEYWAND_DB_KEY is not a usable key")?,
                )),
                _ => Ok(None),
            },
        }
    }
}

/// Reads a key file, refusing one that other users can read: a key anyone can read
/// protects nothing.
pub(crate) fn read_key_file(file: &Path) -> anyhow::Result<DbKey> {
    let meta = std::fs::metadata(file)
        .with_context(|| format!("cannot read the key file {}", file.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            bail!(
                "the key file {} can be read by other users: run `chmod 600 {}` first",
                file.display(),
                file.display()
            );
        }
    }
    if meta.len() > 4096 {
        bail!("the key file {} is too large to be a key", file.display());
    }
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("the key file {} is not UTF-8 text", file.display()))?;
    DbKey::new(&text).with_context(|| format!("the key file {} is not usable", file.display()))
}

/// Writes a new random key to `file`, readable by its owner only.
pub(crate) fn make_key_file(file: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let hex = peywand_access::Secret::generate("").text;
    if file.exists() {
        bail!("the key file {} exists already", file.display());
    }
    let mut f = private_file(file)
        .with_context(|| format!("cannot create the key file {}", file.display()))?;
    writeln!(f, "{hex}").with_context(|| format!("cannot write {}", file.display()))?;
    Ok(())
}

/// Creates (or empties) a file that only its owner can read or write: every file Peywand
/// writes personal data or keys into. A file that existed is made owner-only before it is
/// written.
pub(crate) fn private_file(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| {
                format!("cannot make {} readable by its owner only", path.display())
            })?;
    }
    Ok(file)
}

fn path_text(path: &Path) -> anyhow::Result<&str> {
    path.to_str()
        .context("the database path is not valid UTF-8")
}

/// Opens the registry `--db` names, creating an SQLite file if there is none, and brings its
/// schema up to date.
pub(crate) async fn open(db: &Database) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = match db.location()? {
        Location::File(_) => Arc::new(open_file(db).await?),
        Location::Postgres(url) => {
            if db.key_file.is_some() {
                bail!(
                    "--key-file is for a registry file: a PostgreSQL hub's data is encrypted by \
                     the disk it lies on (see docs/deployment.md)"
                );
            }
            Arc::new(PgStore::open(&url).await?)
        }
    };
    OPENED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(store.clone());
    Ok(store)
}

/// Opens an SQLite registry file with its key.
async fn open_file(db: &Database) -> anyhow::Result<SqliteStore> {
    let Location::File(path) = db.location()? else {
        bail!("{} is not a registry file", db.display());
    };
    let key = db.key()?;
    Ok(SqliteStore::open_with(path_text(&path)?, key.as_ref()).await?)
}

/// Every registry a command opened, to close before the process exits, whichever way the
/// command ended: an encrypted connection still closing while OpenSSL cleans up at exit
/// crashes the process.
static OPENED: std::sync::Mutex<Vec<Arc<dyn Store>>> = std::sync::Mutex::new(Vec::new());

/// Closes every registry opened by this process (closing twice is harmless).
pub async fn close_all() {
    let opened = std::mem::take(
        &mut *OPENED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    for store in opened {
        store.close().await;
    }
}

/// Opens a registry that must already exist (commands that only read or analyse).
pub async fn open_existing(db: &Database) -> anyhow::Result<Arc<dyn Store>> {
    if !db.exists() {
        bail!("no database at {}", db.display());
    }
    open(db).await
}

/// Re-encrypts the database under a new key (`None`: writes it unencrypted). The new file is
/// written beside the old one, checked, and only then put in its place.
pub async fn rekey(db: &Database, new_key_file: Option<&Path>) -> anyhow::Result<()> {
    let Location::File(file) = db.location()? else {
        bail!(
            "rekey is for a registry file; a PostgreSQL hub's data is encrypted by the disk it \
             lies on (see docs/deployment.md)"
        );
    };
    if !db.exists() {
        bail!("no database at {}", db.display());
    }
    let store = open_file(db).await?;
    let new_key = new_key_file.map(read_key_file).transpose()?;
    let before = store.count_persons().await?;
    let mut fresh = file.clone().into_os_string();
    fresh.push(".rekey");
    let fresh = PathBuf::from(fresh);
    if fresh.exists() {
        bail!(
            "{} exists, left by an interrupted rekey: check it and remove it first",
            fresh.display()
        );
    }
    store
        .export_encrypted(path_text(&fresh)?, new_key.as_ref())
        .await?;
    store.close().await;
    let check = SqliteStore::open_with(path_text(&fresh)?, new_key.as_ref()).await?;
    let after = check.count_persons().await?;
    check.close().await;
    if before != after {
        bail!(
            "the re-encrypted copy has {after} registrations instead of {before}; the database was left as it was and the copy is at {}",
            fresh.display()
        );
    }
    std::fs::rename(&fresh, &file).with_context(|| format!("cannot replace {}", db.display()))?;
    // Both files were closed cleanly, so these are empty leftovers of the old file.
    for suffix in ["-wal", "-shm"] {
        let mut side = file.clone().into_os_string();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    match new_key {
        Some(_) => println!("{} is now encrypted with the new key", db.display()),
        None => println!("{} is now unencrypted", db.display()),
    }
    Ok(())
}

/// What a backup of a hub holds: `pg_dump`'s custom format, sealed.
const POSTGRES_DUMP: &str = "postgres-dump";

/// Takes a consistent copy of the registry while it is in use, encrypted with the key in
/// `backup_key_file` (which the administrator keeps apart from the registry's own key), into
/// `out`, a new file readable by its owner only. The backup is audited.
pub async fn backup(db: &Database, out: &Path, backup_key_file: &Path) -> anyhow::Result<()> {
    let backup_key = read_key_file(backup_key_file)?;
    let out_text = path_text(out)?;
    if out.exists() {
        bail!("{} exists: a backup never overwrites a file", out.display());
    }
    let store = open_existing(db).await?;
    crate::access::audit(&*store, "backup", out_text, "backup").await?;
    match db.location()? {
        Location::File(_) => {
            let file = open_file(db).await?;
            let done = file.backup_to(out_text, &backup_key).await;
            file.close().await;
            done?;
        }
        Location::Postgres(url) => {
            // pg_dump reads one snapshot of the whole database, however long it takes.
            let dump = tokio::process::Command::new("pg_dump")
                .args([
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    "--dbname",
                ])
                .arg(&url)
                .kill_on_drop(true)
                .output()
                .await
                .context("pg_dump could not be run: install PostgreSQL's client programs")?;
            if !dump.status.success() {
                bail!(
                    "pg_dump failed: {}",
                    String::from_utf8_lossy(&dump.stderr).trim()
                );
            }
            peywand_store_sqlite::sealed::write(out_text, &backup_key, POSTGRES_DUMP, &dump.stdout)
                .await?;
        }
    }
    println!("{} backed up to {}", db.display(), out.display());
    Ok(())
}

/// Brings a backup back into an empty registry: a registry file that does not exist yet
/// (encrypted with the registry's key, which is required), or an empty PostgreSQL database.
/// Nothing is half-restored: a failure leaves no file, or the database as it was.
pub async fn restore(db: &Database, from: &Path, backup_key_file: &Path) -> anyhow::Result<()> {
    let backup_key = read_key_file(backup_key_file)?;
    match db.location()? {
        Location::File(path) => {
            if path.exists() {
                bail!(
                    "{} exists: restore into a new file, then put it in place",
                    path.display()
                );
            }
            let Some(key) = db.key()? else {
                bail!(
                    "give the restored registry its key (--key-file or PEYWAND_DB_KEY): a backup \
                     is never restored unencrypted"
                );
            };
            // Opened from a copy: opening brings the schema up to date, which must not change
            // the backup itself.
            let mut staging = path.clone().into_os_string();
            staging.push(".restoring");
            let staging = PathBuf::from(staging);
            std::fs::copy(from, &staging)
                .with_context(|| format!("cannot read the backup {}", from.display()))?;
            let restored = async {
                let copy = SqliteStore::open_with(path_text(&staging)?, Some(&backup_key))
                    .await
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "{} cannot be opened with this backup key, or is not a Peywand backup",
                            from.display()
                        )
                    })?;
                let written = copy.export_encrypted(path_text(&path)?, Some(&key)).await;
                copy.close().await;
                written?;
                anyhow::Ok(())
            }
            .await;
            for leftover in ["", "-wal", "-shm"] {
                let mut f = staging.clone().into_os_string();
                f.push(leftover);
                let _ = std::fs::remove_file(PathBuf::from(f));
            }
            if let Err(e) = restored {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        }
        Location::Postgres(url) => {
            let (kind, dump) = peywand_store_sqlite::sealed::read(path_text(from)?, &backup_key)
                .await
                .map_err(|_| {
                    anyhow::anyhow!(
                        "{} cannot be opened with this backup key, or is not a Peywand backup",
                        from.display()
                    )
                })?;
            if kind != POSTGRES_DUMP {
                bail!("{} is not a backup of a PostgreSQL hub", from.display());
            }
            // One transaction: a database that is not empty, or any error, restores nothing.
            let mut child = tokio::process::Command::new("pg_restore")
                .args([
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    "--dbname",
                ])
                .arg(&url)
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .context("pg_restore could not be run: install PostgreSQL's client programs")?;
            if let Some(mut stdin) = child.stdin.take() {
                use tokio::io::AsyncWriteExt;
                // pg_restore stops reading at its first error; what it said is reported below.
                let _ = stdin.write_all(&dump).await;
            }
            let done = child.wait_with_output().await?;
            if !done.status.success() {
                let said = String::from_utf8_lossy(&done.stderr);
                bail!(
                    "the backup was not restored (an empty database is needed): {}",
                    said.lines().next().unwrap_or_default().trim()
                );
            }
        }
    }
    let store = open_existing(db).await?;
    let people = store.count_persons().await?;
    crate::access::audit(&*store, "restore", &from.display().to_string(), "restore").await?;
    println!(
        "{} restored from {}: {people} registrations",
        db.display(),
        from.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(text: &str) -> Database {
        Database {
            path: PathBuf::from(text),
            key_file: None,
        }
    }

    #[test]
    fn the_backend_is_read_from_the_address() {
        assert_eq!(
            db("registry.db").location().unwrap(),
            Location::File("registry.db".into())
        );
        assert_eq!(
            db("sqlite:///var/lib/peywand/registry.db")
                .location()
                .unwrap(),
            Location::File("/var/lib/peywand/registry.db".into())
        );
        assert!(matches!(
            db("postgres://peywand@hub/registry").location().unwrap(),
            Location::Postgres(_)
        ));
        assert!(matches!(
            db("postgresql://peywand@hub/registry").location().unwrap(),
            Location::Postgres(_)
        ));
        let refused = db("mysql://root@hub/registry").location().unwrap_err();
        assert!(refused.to_string().contains("not a registry"), "{refused}");
    }

    #[test]
    fn a_hubs_password_is_never_shown() {
        let shown = db("postgres://peywand:s3cret@hub:5432/registry").display();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("hub:5432/registry"), "{shown}");
    }
}
