//! What zkvote's stores (the board's, a witness's, a mirror's) share:
//!
//! - their schema migrations, embedded in the binary as [`Embedded`] files and run by
//!   sqlx's migrator (as `sqlx::migrate!` would, with the same versions, descriptions and
//!   checksums, so that databases migrated either way agree), without compiling sqlx's
//!   procedural macros and the second copy of the drivers they need;
//! - the conversions between the protocol's unsigned sizes and indices and SQL's signed
//!   integers, which refuse what does not fit instead of wrapping.

use futures_util::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use std::borrow::Cow;

/// One migration file embedded in the binary: its name (`NNNN_description.sql`, as in
/// the crate's `migrations/` folder) and its SQL (`include_str!` of that file).
#[derive(Clone, Copy, Debug)]
pub struct Embedded {
    /// The file's name.
    pub file: &'static str,
    /// The file's SQL.
    pub sql: &'static str,
}

impl Embedded {
    /// The migration it is: version and description from the file name (`0007_a_b.sql`
    /// is version 7, "a b"), run in a transaction unless its SQL starts with
    /// `-- no-transaction`.
    fn migration(&self) -> Result<Migration, String> {
        let stem = self
            .file
            .strip_suffix(".sql")
            .ok_or_else(|| format!("migration {:?} does not end in .sql", self.file))?;
        let (version, description) = stem
            .split_once('_')
            .ok_or_else(|| format!("migration {:?} is not NNNN_description.sql", self.file))?;
        let version = version
            .parse()
            .map_err(|_| format!("migration {:?} has no version number", self.file))?;
        Ok(Migration::new(
            version,
            Cow::Owned(description.replace('_', " ")),
            MigrationType::Simple,
            Cow::Borrowed(self.sql),
            self.sql.starts_with("-- no-transaction"),
        ))
    }
}

/// The migration files of a folder, embedded: `embed!("../migrations", ["0001_a.sql",
/// "0002_b.sql"])` is a `&'static [Embedded]`, the folder's path being relative to the
/// source file that calls it (as for `include_str!`).
#[macro_export]
macro_rules! embed {
    ($dir:literal, [$($file:literal),+ $(,)?]) => {
        &[$($crate::Embedded {
            file: $file,
            sql: include_str!(concat!($dir, "/", $file)),
        }),+]
    };
}

/// A test, in the calling module, that `$files` embeds the calling crate's folder `$dir`
/// (relative to its `Cargo.toml`) exactly: every `.sql` file there, each as it is.
#[macro_export]
macro_rules! test_embeds_folder {
    ($dir:literal, $files:path) => {
        #[cfg(test)]
        #[test]
        fn the_binary_embeds_every_migration_file_as_it_is() {
            let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/", $dir));
            let wrong = $crate::not_embedded(dir, $files).unwrap();
            assert!(wrong.is_empty(), "not embedded as they are: {wrong:?}");
        }
    };
}

/// The embedded migrations, in order, as a source for sqlx's migrator.
#[derive(Debug)]
struct Source(&'static [Embedded]);

impl<'s> MigrationSource<'s> for Source {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            let mut out = self
                .0
                .iter()
                .map(Embedded::migration)
                .collect::<Result<Vec<_>, _>>()?;
            out.sort_by_key(|m| m.version);
            Ok(out)
        })
    }
}

/// sqlx's migrator over `files`: `migrator(FILES).await?.run(&pool).await?` brings a
/// database's schema up to date.
pub async fn migrator(files: &'static [Embedded]) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Source(files)).await
}

/// The names of the `.sql` files in `dir` that `files` does not embed, and of the files
/// it embeds that are not there or differ from them: empty when the binary embeds the
/// folder exactly (each crate's tests check this of its own folders).
pub fn not_embedded(dir: &std::path::Path, files: &[Embedded]) -> std::io::Result<Vec<String>> {
    let mut on_disk = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".sql") {
            on_disk.push(name);
        }
    }
    let mut wrong: Vec<String> = on_disk
        .iter()
        .filter(|name| !files.iter().any(|f| &f.file == name))
        .cloned()
        .collect();
    for f in files {
        match std::fs::read_to_string(dir.join(f.file)) {
            Ok(sql) if sql == f.sql => {}
            _ => wrong.push(f.file.to_string()),
        }
    }
    Ok(wrong)
}

/// A protocol size or index (`u64`) as an SQL integer, if it fits.
pub fn to_i64(v: u64) -> Option<i64> {
    i64::try_from(v).ok()
}

/// An SQL integer as a protocol size or index, if it is not negative.
pub fn to_u64(v: i64) -> Option<u64> {
    u64::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_sqlx_versions_and_descriptions() {
        let m = Embedded {
            file: "0007_content_addressed_blobs.sql",
            sql: "CREATE TABLE t (x INTEGER);",
        }
        .migration()
        .unwrap();
        assert_eq!(m.version, 7);
        assert_eq!(m.description, "content addressed blobs");
        assert!(!m.no_tx);
        // sqlx's checksum: SHA-384 of the SQL, as `sqlx::migrate!` records it.
        assert_eq!(m.checksum.len(), 48);
        for file in ["0001.sql", "x_y.sql", "0001_a.txt"] {
            assert!(Embedded { file, sql: "" }.migration().is_err(), "{file}");
        }
    }

    #[test]
    fn integers_that_do_not_fit_are_refused() {
        assert_eq!(to_i64(u64::MAX), None);
        assert_eq!(to_i64(7), Some(7));
        assert_eq!(to_u64(-1), None);
        assert_eq!(to_u64(i64::MAX), Some(i64::MAX as u64));
    }
}
