//! The keystore: named Ed25519 keys in a JSON file (seeds in hex). A development tool: the
//! seeds are not encrypted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use wes_core::{Address, Lock, SecretKey};

/// Named keys, kept in a file.
#[derive(Debug)]
pub struct Keystore {
    path: PathBuf,
    seeds: BTreeMap<String, String>,
}

/// A development key derived from its name, so every run and every reader gets the same one.
pub fn dev_key(name: &str) -> SecretKey {
    SecretKey::dev(name)
}

/// The address of a key's single-signature lock.
pub fn address_of(key: &SecretKey) -> Address {
    Lock::key(key.public_key()).address()
}

impl Keystore {
    /// Opens `path` (an empty keystore when the file does not exist yet).
    pub fn open(path: impl Into<PathBuf>) -> Result<Keystore> {
        let path = path.into();
        let seeds = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("keystore {} is not valid JSON", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
        };
        Ok(Keystore { path, seeds })
    }

    /// Where the keystore lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds `key` under `name` and saves.
    pub fn insert(&mut self, name: &str, key: &SecretKey) -> Result<()> {
        if self.seeds.contains_key(name) {
            bail!(
                "a key named {name:?} exists already in {}",
                self.path.display()
            );
        }
        self.seeds.insert(name.into(), hex::encode(key.to_seed()));
        self.save()
    }

    /// The key named `name`.
    pub fn get(&self, name: &str) -> Result<SecretKey> {
        let seed = self.seeds.get(name).with_context(|| {
            format!(
                "no key named {name:?} in {} (see `wes-node keys list`)",
                self.path.display()
            )
        })?;
        let seed: [u8; 32] = hex::decode(seed)
            .ok()
            .and_then(|b| b.try_into().ok())
            .with_context(|| format!("key {name:?} is not a 32-byte hex seed"))?;
        Ok(SecretKey::from_seed(seed))
    }

    /// A recipient: a key of this keystore by name, or a public key in hex.
    ///
    /// # Errors
    /// Neither a name here nor 32 bytes of hex.
    pub fn recipient(&self, who: &str) -> Result<wes_core::PublicKey> {
        match self.get(who) {
            Ok(k) => Ok(k.public_key()),
            Err(_) => crate::config::public_key(who)
                .with_context(|| format!("{who:?} is neither a key name nor a public key")),
        }
    }

    /// All names, with their addresses.
    pub fn list(&self) -> Result<Vec<(String, Address)>> {
        self.seeds
            .keys()
            .map(|n| Ok((n.clone(), address_of(&self.get(n)?))))
            .collect()
    }

    fn save(&self) -> Result<()> {
        let text = serde_json::to_string_pretty(&self.seeds)?;
        write_private(&self.path, text.as_bytes())
    }
}

/// Writes a secret file readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes).with_context(|| format!("write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
