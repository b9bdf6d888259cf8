//! The keystore: named Ed25519 keys in a JSON file.
//!
//! A keystore is **encrypted** unless it is a development keystore. The passphrase is
//! stretched with scrypt (a fresh random salt per keystore) into a 32-byte key, and each
//! seed is sealed with XChaCha20-Poly1305 under a random nonce, with the key's name as
//! associated data (a sealed seed cannot be moved under another name unnoticed). The
//! passphrase comes from `WES_KEYSTORE_PASSPHRASE` or, on a terminal, a prompt.
//!
//! A **development** keystore (`devnet`'s, for the public dev keys) keeps seeds in hex, and
//! says so in the file. Files of the first format (a plain name → seed map) read as
//! development keystores.
//!
//! The file is written atomically: a temporary file in the same directory, created readable
//! by its owner only, is written, flushed to disk and renamed over the old one, so a crash
//! leaves the old keystore or the new one, never a truncated file.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow, bail};
use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::{Aead, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use wes_core::{Address, Lock, SecretKey};

/// The environment variable the passphrase is read from.
pub const PASSPHRASE_ENV: &str = "WES_KEYSTORE_PASSPHRASE";

/// The file format's name and version.
const FORMAT: &str = "wes-keystore/2";

/// scrypt's cost for new keystores: 2^15 iterations, r = 8, p = 1 (32 MiB, about 0.1 s).
const SCRYPT_LOG_N: u8 = 15;

/// A development key derived from its name, so every run and every reader gets the same one.
pub fn dev_key(name: &str) -> SecretKey {
    SecretKey::dev(name)
}

/// The address of a key's single-signature lock.
pub fn address_of(key: &SecretKey) -> Address {
    Lock::key(key.public_key()).address()
}

/// scrypt's parameters and salt, as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Kdf {
    log_n: u8,
    r: u32,
    p: u32,
    salt: String,
}

/// One key, as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Entry {
    /// A sealed seed.
    Sealed { nonce: String, ciphertext: String },
    /// A development key's seed, hex.
    Plain { seed: String },
}

/// The file.
#[derive(Debug, Serialize, Deserialize)]
struct KeystoreFile {
    format: String,
    /// Absent for a development keystore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kdf: Option<Kdf>,
    keys: BTreeMap<String, Entry>,
}

/// Named keys, kept in a file.
pub struct Keystore {
    path: PathBuf,
    /// `None`: a development keystore.
    kdf: Option<Kdf>,
    keys: BTreeMap<String, Entry>,
    /// The passphrase, when given by the program rather than asked for.
    passphrase: Option<String>,
    /// The key derived from the passphrase, once asked for.
    cipher: OnceLock<XChaCha20Poly1305>,
}

impl std::fmt::Debug for Keystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keystore")
            .field("path", &self.path)
            .field("encrypted", &self.kdf.is_some())
            .field("names", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Keystore {
    /// Opens `path`. A file that does not exist yet opens as a new, empty, encrypted
    /// keystore (its passphrase is asked for when the first key is added).
    ///
    /// # Errors
    /// The file cannot be read or is not a keystore.
    pub fn open(path: impl Into<PathBuf>) -> Result<Keystore> {
        let path = path.into();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Keystore {
                    path,
                    kdf: Some(new_kdf()),
                    keys: BTreeMap::new(),
                    passphrase: None,
                    cipher: OnceLock::new(),
                });
            }
            Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
        };
        let not_a_keystore = || format!("{} is not a keystore", path.display());
        let value: serde_json::Value = serde_json::from_str(&text).with_context(not_a_keystore)?;
        let (kdf, keys) = if value.get("format").is_some() {
            let file: KeystoreFile = serde_json::from_value(value).with_context(not_a_keystore)?;
            if file.format != FORMAT {
                bail!(
                    "{}: unknown keystore format {:?}",
                    path.display(),
                    file.format
                );
            }
            (file.kdf, file.keys)
        } else {
            // The first format: name → hex seed, unencrypted.
            let seeds: BTreeMap<String, String> =
                serde_json::from_value(value).with_context(not_a_keystore)?;
            let keys = seeds
                .into_iter()
                .map(|(name, seed)| (name, Entry::Plain { seed }))
                .collect();
            (None, keys)
        };
        Ok(Keystore {
            path,
            kdf,
            keys,
            passphrase: None,
            cipher: OnceLock::new(),
        })
    }

    /// Opens `path` as a development keystore: seeds kept in hex, no passphrase. For the
    /// public dev keys of local chains (`devnet`).
    ///
    /// # Errors
    /// As [`open`](Self::open); the file is an encrypted keystore.
    pub fn open_dev(path: impl Into<PathBuf>) -> Result<Keystore> {
        let mut store = Keystore::open(path)?;
        if store.kdf.is_some() {
            if !store.keys.is_empty() {
                bail!(
                    "{} is an encrypted keystore, not a development one",
                    store.path.display()
                );
            }
            store.kdf = None;
        }
        Ok(store)
    }

    /// Uses `passphrase` instead of asking for one (a program that gets it elsewhere).
    pub fn with_passphrase(mut self, passphrase: impl Into<String>) -> Keystore {
        self.passphrase = Some(passphrase.into());
        self.cipher = OnceLock::new();
        self
    }

    /// Where the keystore lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether seeds are encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.kdf.is_some()
    }

    /// Whether a key is named `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.keys.contains_key(name)
    }

    /// Adds `key` under `name` and saves.
    ///
    /// # Errors
    /// The name is taken; no passphrase; the file cannot be written.
    pub fn insert(&mut self, name: &str, key: &SecretKey) -> Result<()> {
        if self.keys.contains_key(name) {
            bail!(
                "a key named {name:?} exists already in {}",
                self.path.display()
            );
        }
        let entry = if self.kdf.is_some() {
            let mut nonce = [0u8; 24];
            OsRng.fill_bytes(&mut nonce);
            let ciphertext = self
                .cipher(self.keys.is_empty())?
                .encrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &key.to_seed(),
                        aad: name.as_bytes(),
                    },
                )
                .map_err(|_| anyhow!("sealing key {name:?} failed"))?;
            Entry::Sealed {
                nonce: hex::encode(nonce),
                ciphertext: hex::encode(ciphertext),
            }
        } else {
            Entry::Plain {
                seed: hex::encode(key.to_seed()),
            }
        };
        self.keys.insert(name.into(), entry);
        self.save()
    }

    /// The key named `name`.
    ///
    /// # Errors
    /// No such key; no passphrase, or the wrong one (or an altered file).
    pub fn get(&self, name: &str) -> Result<SecretKey> {
        let entry = self.keys.get(name).with_context(|| {
            format!(
                "no key named {name:?} in {} (see `wes-node keys list`)",
                self.path.display()
            )
        })?;
        let seed = match entry {
            Entry::Plain { seed } => hex::decode(seed).ok(),
            Entry::Sealed { nonce, ciphertext } => {
                let nonce = hex::decode(nonce).ok().filter(|n| n.len() == 24);
                let ciphertext = hex::decode(ciphertext).ok();
                let (Some(nonce), Some(ciphertext)) = (nonce, ciphertext) else {
                    bail!("key {name:?} in {} is malformed", self.path.display());
                };
                let payload = Payload {
                    msg: &ciphertext,
                    aad: name.as_bytes(),
                };
                let seed = self
                    .cipher(false)?
                    .decrypt(XNonce::from_slice(&nonce), payload)
                    .map_err(|_| {
                        anyhow!(
                            "cannot decrypt key {name:?} of {}: wrong passphrase (or the file was altered)",
                            self.path.display()
                        )
                    })?;
                Some(seed)
            }
        };
        let seed: [u8; 32] = seed
            .and_then(|b| b.try_into().ok())
            .with_context(|| format!("key {name:?} is not a 32-byte seed"))?;
        Ok(SecretKey::from_seed(seed))
    }

    /// A recipient: a key of this keystore by name, or a public key in hex.
    ///
    /// # Errors
    /// Neither a name here nor 32 bytes of hex.
    pub fn recipient(&self, who: &str) -> Result<wes_core::PublicKey> {
        if self.contains(who) {
            return Ok(self.get(who)?.public_key());
        }
        crate::config::public_key(who)
            .with_context(|| format!("{who:?} is neither a key name nor a public key"))
    }

    /// All names, with their addresses.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn list(&self) -> Result<Vec<(String, Address)>> {
        self.keys
            .keys()
            .map(|n| Ok((n.clone(), address_of(&self.get(n)?))))
            .collect()
    }

    /// The cipher of an encrypted keystore, from the passphrase (asked once; twice, to
    /// confirm it, when `new`).
    fn cipher(&self, new: bool) -> Result<&XChaCha20Poly1305> {
        if let Some(c) = self.cipher.get() {
            return Ok(c);
        }
        let kdf = self
            .kdf
            .as_ref()
            .context("a development keystore has no passphrase")?;
        let passphrase = match &self.passphrase {
            Some(p) => p.clone(),
            None => passphrase(&self.path, new)?,
        };
        let salt = hex::decode(&kdf.salt)
            .with_context(|| format!("{}: malformed salt", self.path.display()))?;
        let params = scrypt::Params::new(kdf.log_n, kdf.r, kdf.p, 32)
            .map_err(|e| anyhow!("{}: scrypt parameters: {e}", self.path.display()))?;
        let mut key = [0u8; 32];
        scrypt::scrypt(passphrase.as_bytes(), &salt, &params, &mut key)
            .map_err(|e| anyhow!("scrypt: {e}"))?;
        Ok(self
            .cipher
            .get_or_init(|| XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(&key))))
    }

    fn save(&self) -> Result<()> {
        let file = KeystoreFile {
            format: FORMAT.into(),
            kdf: self.kdf.clone(),
            keys: self.keys.clone(),
        };
        let text = serde_json::to_string_pretty(&file)?;
        write_private(&self.path, text.as_bytes())
    }
}

/// New scrypt parameters with a fresh salt.
fn new_kdf() -> Kdf {
    let mut salt = [0u8; 32];
    OsRng.fill_bytes(&mut salt);
    Kdf {
        log_n: SCRYPT_LOG_N,
        r: 8,
        p: 1,
        salt: hex::encode(salt),
    }
}

/// The passphrase of the keystore at `path`: [`PASSPHRASE_ENV`], or asked on the terminal
/// (twice for a `new` keystore).
fn passphrase(path: &Path, new: bool) -> Result<String> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        if p.is_empty() {
            bail!("{PASSPHRASE_ENV} is empty");
        }
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "the keystore {} is encrypted: set {PASSPHRASE_ENV} (no terminal to ask on)",
            path.display()
        );
    }
    let p = rpassword::prompt_password(format!("passphrase for {}: ", path.display()))?;
    if p.is_empty() {
        bail!("an empty passphrase");
    }
    if new && rpassword::prompt_password("again: ")? != p {
        bail!("the passphrases differ");
    }
    Ok(p)
}

/// Writes a secret file readable by its owner only, atomically: a temporary file in the
/// same directory, created with that mode, written, synced, renamed over `path`, and the
/// directory synced.
///
/// # Errors
/// Any step fails (the temporary file is removed).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let name = path
        .file_name()
        .with_context(|| format!("{} names no file", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("write {}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &Path) -> Keystore {
        Keystore::open(path)
            .unwrap()
            .with_passphrase("correct horse")
    }

    #[test]
    fn keys_are_sealed_and_read_back_with_the_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let key = SecretKey::generate();
        let mut store = open(&path);
        assert!(store.is_encrypted());
        store.insert("alice", &key).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(&hex::encode(key.to_seed())),
            "no seed in the clear"
        );
        assert!(text.contains(FORMAT) && text.contains("log_n"), "{text}");
        let mut reopened = open(&path);
        assert_eq!(reopened.get("alice").unwrap().to_seed(), key.to_seed());
        assert!(reopened.insert("alice", &key).is_err(), "names are unique");
        let wrong = Keystore::open(&path).unwrap().with_passphrase("wrong");
        let err = wrong.get("alice").unwrap_err().to_string();
        assert!(err.contains("wrong passphrase"), "{err}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["keys.json"], "no temporary file left");
    }

    #[test]
    fn a_sealed_seed_moved_under_another_name_or_altered_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        let mut store = open(&path);
        store.insert("alice", &SecretKey::generate()).unwrap();
        let mut file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let alice = file["keys"]["alice"].clone();
        file["keys"]["mallory"] = alice;
        std::fs::write(&path, file.to_string()).unwrap();
        let store = open(&path);
        let err = store.get("mallory").unwrap_err().to_string();
        assert!(err.contains("wrong passphrase"), "{err}");
        assert!(store.get("alice").is_ok());
    }

    #[test]
    fn development_keystores_and_the_first_format_are_plain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dev.json");
        let mut dev = Keystore::open_dev(&path).unwrap();
        dev.insert("miner", &dev_key("miner")).unwrap();
        assert!(!Keystore::open(&path).unwrap().is_encrypted());
        assert_eq!(
            Keystore::open(&path)
                .unwrap()
                .get("miner")
                .unwrap()
                .to_seed(),
            dev_key("miner").to_seed()
        );

        let old = dir.path().join("old.json");
        let seed = hex::encode(dev_key("bob").to_seed());
        std::fs::write(&old, format!("{{\"bob\": \"{seed}\"}}")).unwrap();
        let store = Keystore::open(&old).unwrap();
        assert!(!store.is_encrypted());
        assert_eq!(
            store.get("bob").unwrap().to_seed(),
            dev_key("bob").to_seed()
        );

        let sealed = dir.path().join("sealed.json");
        open(&sealed).insert("a", &SecretKey::generate()).unwrap();
        assert!(Keystore::open_dev(&sealed).is_err(), "not silently plain");
        std::fs::write(&old, "[1, 2]").unwrap();
        assert!(Keystore::open(&old).is_err());
    }
}
