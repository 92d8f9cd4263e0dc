//! A sealed file: bytes another program wrote (a PostgreSQL hub's `pg_dump`), kept in an
//! SQLCipher database under the administrator's key. The same encryption and integrity check
//! as a site's registry, with no second cryptographic library: a copied backup yields
//! nothing, and a damaged or altered one is refused instead of restored.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{Connection, SqliteConnection};

use peywand_store::StoreError;

use crate::{DbKey, create_owner_only, db, unreadable};

/// Bytes per row: well under SQLite's one-gigabyte limit on a value.
const CHUNK: usize = 16 << 20;

/// Writes `bytes` into the sealed file `path` (which must not exist), readable by its owner
/// only, labelled with what it holds (`kind`, such as "postgres-dump"). All or nothing: a
/// failure leaves no file behind, so a half-written backup is never mistaken for one.
pub async fn write(path: &str, key: &DbKey, kind: &str, bytes: &[u8]) -> Result<(), StoreError> {
    create_owner_only(path, "create the sealed file")?;
    let written = write_new(path, key, kind, bytes).await;
    if written.is_err() {
        // Ours: `create_owner_only` refuses a file that already exists.
        let _ = std::fs::remove_file(path);
    }
    written
}

async fn write_new(path: &str, key: &DbKey, kind: &str, bytes: &[u8]) -> Result<(), StoreError> {
    let mut conn = connect(path, key).await?;
    let written = async {
        for statement in [
            "CREATE TABLE sealed (kind TEXT NOT NULL)",
            "CREATE TABLE chunks (seq INTEGER PRIMARY KEY, bytes BLOB NOT NULL)",
            "BEGIN",
        ] {
            sqlx::query(statement).execute(&mut conn).await?;
        }
        sqlx::query("INSERT INTO sealed (kind) VALUES (?)")
            .bind(kind)
            .execute(&mut conn)
            .await?;
        for (seq, chunk) in (0i64..).zip(bytes.chunks(CHUNK)) {
            sqlx::query("INSERT INTO chunks (seq, bytes) VALUES (?, ?)")
                .bind(seq)
                .bind(chunk)
                .execute(&mut conn)
                .await?;
        }
        sqlx::query("COMMIT").execute(&mut conn).await?;
        Ok::<_, sqlx::Error>(())
    }
    .await
    .map_err(db("write the sealed file"));
    closing(conn, "write the sealed file", written).await
}

/// Reads a sealed file whole: what it holds (`kind`) and its bytes. A wrong key, or a file
/// that was altered, is refused.
pub async fn read(path: &str, key: &DbKey) -> Result<(String, Vec<u8>), StoreError> {
    let mut conn = connect(path, key).await?;
    let read = async {
        let kind: String = sqlx::query_scalar("SELECT kind FROM sealed")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| {
                unreadable(path, &e).unwrap_or_else(|| StoreError::db("read the sealed file", e))
            })?;
        let chunks: Vec<Vec<u8>> = sqlx::query_scalar("SELECT bytes FROM chunks ORDER BY seq")
            .fetch_all(&mut conn)
            .await
            .map_err(db("read the sealed file"))?;
        Ok((kind, chunks.concat()))
    }
    .await;
    closing(conn, "read the sealed file", read).await
}

/// Closes `conn` and then gives `result`, or the failure to close. Closed here on every path:
/// a connection only dropped is closed later on the driver's own thread, and a program that
/// ends meanwhile (a refused key ends `peywand restore`) tears the encryption library down
/// under it.
async fn closing<T>(
    conn: SqliteConnection,
    what: &'static str,
    result: Result<T, StoreError>,
) -> Result<T, StoreError> {
    let closed = conn.close().await.map_err(db(what));
    let value = result?;
    closed?;
    Ok(value)
}

async fn connect(path: &str, key: &DbKey) -> Result<SqliteConnection, StoreError> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
        .map_err(db("open the sealed file"))?
        .pragma("key", key.literal())
        .journal_mode(SqliteJournalMode::Delete);
    SqliteConnection::connect_with(&options).await.map_err(|e| {
        unreadable(path, &e).unwrap_or_else(|| StoreError::db("open the sealed file", e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sealed_file_gives_back_its_bytes_only_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.sealed");
        let path = path.to_str().unwrap();
        let key = DbKey::new("the administrator's backup key").unwrap();
        let bytes: Vec<u8> = (0..40_000u32).flat_map(u32::to_le_bytes).collect();
        write(path, &key, "postgres-dump", &bytes).await.unwrap();
        let (kind, back) = read(path, &key).await.unwrap();
        assert_eq!((kind.as_str(), back), ("postgres-dump", bytes));
        let wrong = DbKey::new("somebody else's guess at it").unwrap();
        assert!(read(path, &wrong).await.is_err());
        assert!(
            write(path, &key, "again", b"other bytes").await.is_err(),
            "an existing file is never overwritten"
        );
        assert_eq!(read(path, &key).await.unwrap().1.len(), 160_000);
    }
}
