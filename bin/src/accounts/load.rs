//! Which logins make up the pool: `--auth-file` (repeatable) and `--accounts-dir DIR` (every
//! `*.json` in it, in Codex's `auth.json` format, sorted by name). An account's name is its file
//! name without `.json`; processes that share a Redis must name the same login the same way.
//! With neither flag the pool is the one default login (`$CODEX_HOME/auth.json`, or
//! `--bearer`), named `default`.

use std::path::{Path, PathBuf};

use crate::auth::AuthSource;

/// Name of the account when no file is named.
pub const DEFAULT_ACCOUNT_NAME: &str = "default";

/// One account to load: its name and where its login comes from.
#[derive(Debug, Clone)]
pub struct AccountSpec {
    /// The name used in logs, metrics, `accounts list` and Redis keys.
    pub name: String,
    /// The login.
    pub source: AuthSource,
}

/// Why the account flags do not describe a pool.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// Two files give the same account name.
    #[error("two logins are both named {name:?} ({} and {}): account names come from file names, so rename one", first.display(), second.display())]
    DuplicateName {
        /// The name.
        name: String,
        /// The first file.
        first: PathBuf,
        /// The second file.
        second: PathBuf,
    },
    /// `--accounts-dir` cannot be listed.
    #[error("cannot list --accounts-dir {}: {source}", dir.display())]
    ReadDir {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `--accounts-dir` holds no `*.json` file and no `--auth-file` was given.
    #[error("--accounts-dir {} holds no *.json login files (copy each account's auth.json there as <name>.json)", dir.display())]
    EmptyDir {
        /// The directory.
        dir: PathBuf,
    },
    /// `--bearer` or `--account-id` together with several logins.
    #[error("{flag} applies to one login only; drop it, or use a single --auth-file")]
    SingleOnly {
        /// The flag.
        flag: &'static str,
    },
}

/// The accounts described by `base` (the `--bearer`, `--account-id`, `--refresh-url` flags),
/// `auth_files` and `accounts_dir`.
///
/// # Errors
/// [`LoadError`] as documented on each variant.
pub fn specs(
    base: &AuthSource,
    auth_files: &[PathBuf],
    accounts_dir: Option<&Path>,
) -> Result<Vec<AccountSpec>, LoadError> {
    let mut files: Vec<PathBuf> = auth_files.to_vec();
    if let Some(dir) = accounts_dir {
        let entries = std::fs::read_dir(dir).map_err(|source| LoadError::ReadDir {
            dir: dir.to_path_buf(),
            source,
        })?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
            .collect();
        found.sort();
        if found.is_empty() && files.is_empty() {
            return Err(LoadError::EmptyDir {
                dir: dir.to_path_buf(),
            });
        }
        files.extend(found);
    }
    if files.len() <= 1 {
        let mut source = base.clone();
        let name = match files.pop() {
            Some(file) => {
                let name = name_of(&file);
                source.auth_file = Some(file);
                name
            }
            None => DEFAULT_ACCOUNT_NAME.to_owned(),
        };
        return Ok(vec![AccountSpec { name, source }]);
    }
    if base.bearer.is_some() {
        return Err(LoadError::SingleOnly { flag: "--bearer" });
    }
    if base.account_id.is_some() {
        return Err(LoadError::SingleOnly {
            flag: "--account-id",
        });
    }
    let mut out: Vec<AccountSpec> = Vec::with_capacity(files.len());
    for file in files {
        let name = name_of(&file);
        if let Some(prev) = out.iter().find(|s| s.name == name) {
            return Err(LoadError::DuplicateName {
                name,
                first: prev.source.auth_file.clone().unwrap_or_default(),
                second: file,
            });
        }
        out.push(AccountSpec {
            name,
            source: AuthSource {
                auth_file: Some(file),
                ..base.clone()
            },
        });
    }
    Ok(out)
}

/// The file name without its `.json` extension.
fn name_of(file: &Path) -> String {
    file.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_ACCOUNT_NAME.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_files_and_the_directory_is_sorted() {
        let dir = tempfile::tempdir().expect("tempdir");
        for n in ["b.json", "a.json", "notes.txt"] {
            std::fs::write(dir.path().join(n), "{}").expect("write");
        }
        let extra = dir.path().join("sub");
        std::fs::create_dir(&extra).expect("mkdir");
        let solo = extra.join("zed.json");
        let base = AuthSource::default();
        let specs = specs(&base, std::slice::from_ref(&solo), Some(dir.path())).expect("specs");
        let names: Vec<_> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["zed", "a", "b"]);
        let one = super::specs(&base, &[], None).expect("default");
        assert_eq!(one[0].name, DEFAULT_ACCOUNT_NAME);
        assert!(one[0].source.auth_file.is_none());
    }

    #[test]
    fn duplicates_and_single_only_flags_are_refused() {
        let base = AuthSource::default();
        let e = specs(
            &base,
            &[PathBuf::from("/x/a.json"), PathBuf::from("/y/a.json")],
            None,
        )
        .expect_err("duplicate");
        assert!(matches!(e, LoadError::DuplicateName { ref name, .. } if name == "a"));
        let bearer = AuthSource {
            bearer: Some("t".into()),
            ..AuthSource::default()
        };
        let two = [PathBuf::from("/x/a.json"), PathBuf::from("/x/b.json")];
        assert!(matches!(
            specs(&bearer, &two, None),
            Err(LoadError::SingleOnly { flag: "--bearer" })
        ));
        let empty = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            specs(&base, &[], Some(empty.path())),
            Err(LoadError::EmptyDir { .. })
        ));
    }
}
