//! Typed state: one value under a fixed key ([`Item`]), or values under a prefix and a typed
//! key ([`Map`]), each encoded as its [`Type`](crate::Type) says. Declared as constants:
//!
//! ```ignore
//! const OWNER: Item<Address> = Item::new(b"owner");
//! const SUPPLY: Map<[u8; 32], u64> = Map::new(b"supply");
//! const ESCROWS: Map<[u8; 32], Escrow<'static>> = Map::new(b"e");
//!
//! let owner = OWNER.get();                        // Option<Address>
//! SUPPLY.set(&tag, &(supply + 1));
//! let mut buf = [0u8; 512];
//! let escrow = ESCROWS.load(&id, &mut buf);       // Option<Escrow<'_>>, borrowing `buf`
//! ```
//!
//! A type that borrows (`&[u8]`, `&str`, a record holding one) is named with `'static` in the
//! constant; [`WithLifetime`] lets `set` take, and `load` return, the same type borrowing for
//! any lifetime. A stored value must decode whole: one that does not (written by other code
//! under the same key) aborts the call with `"state: …"`.

use core::marker::PhantomData;

use crate::value::{decode, Decode, Encode, WithLifetime};
use crate::{state_delete, state_get, state_has, state_set, Writer, MAX_KEY_LEN, MAX_VALUE_LEN};

/// Reads the value under `key` into `buf` and decodes it.
fn load<'b, T: Decode<'b>>(key: &[u8], buf: &'b mut [u8]) -> Option<T> {
    state_get(key, buf).map(|bytes| decode(bytes, "state"))
}

/// Encodes `value` and stores it under `key`.
fn store<T: Encode>(key: &[u8], value: &T) {
    let mut w = Writer::<MAX_VALUE_LEN>::new();
    value.encode(&mut w);
    state_set(key, &w);
}

/// One value of type `T` under a fixed state key.
pub struct Item<T> {
    key: &'static [u8],
    value: PhantomData<T>,
}

impl<T> Item<T> {
    /// The item stored under `key` (at most [`MAX_KEY_LEN`] bytes).
    pub const fn new(key: &'static [u8]) -> Self {
        Item {
            key,
            value: PhantomData,
        }
    }

    /// Whether a value is stored.
    pub fn exists(&self) -> bool {
        state_has(self.key)
    }

    /// Deletes the value.
    pub fn remove(&self) {
        state_delete(self.key)
    }

    /// Stores `value`.
    pub fn set<'v>(&self, value: &<T as WithLifetime<'v>>::Of)
    where
        T: WithLifetime<'v>,
    {
        store(self.key, value)
    }

    /// Reads a value that borrows from `buf` (a `&[u8]`, or a record holding one): `None` if
    /// absent. Aborts if the stored bytes are longer than `buf`.
    pub fn load<'b>(&self, buf: &'b mut [u8]) -> Option<<T as WithLifetime<'b>>::Of>
    where
        T: WithLifetime<'b>,
    {
        load(self.key, buf)
    }
}

impl<T: for<'b> Decode<'b>> Item<T> {
    /// The value: `None` if absent.
    pub fn get(&self) -> Option<T> {
        let mut buf = [0u8; MAX_VALUE_LEN];
        load(self.key, &mut buf)
    }
}

/// Values of type `V` under `prefix ‖ enc(key)`, for keys of type `K`.
pub struct Map<K, V> {
    prefix: &'static [u8],
    types: PhantomData<(K, V)>,
}

impl<K, V> Map<K, V> {
    /// The map stored under `prefix` (the prefix and an encoded key together at most
    /// [`MAX_KEY_LEN`] bytes).
    pub const fn new(prefix: &'static [u8]) -> Self {
        Map {
            prefix,
            types: PhantomData,
        }
    }

    /// The state key of `key`: `prefix ‖ enc(key)`.
    pub fn key<'k>(&self, key: &<K as WithLifetime<'k>>::Of) -> Writer<MAX_KEY_LEN>
    where
        K: WithLifetime<'k>,
    {
        let mut w = Writer::new();
        w.bytes(self.prefix);
        key.encode(&mut w);
        w
    }

    /// Whether `key` has a value.
    pub fn has<'k>(&self, key: &<K as WithLifetime<'k>>::Of) -> bool
    where
        K: WithLifetime<'k>,
    {
        state_has(&self.key(key))
    }

    /// Deletes the value of `key`.
    pub fn remove<'k>(&self, key: &<K as WithLifetime<'k>>::Of)
    where
        K: WithLifetime<'k>,
    {
        state_delete(&self.key(key))
    }

    /// Stores `value` under `key`.
    pub fn set<'k, 'v>(
        &self,
        key: &<K as WithLifetime<'k>>::Of,
        value: &<V as WithLifetime<'v>>::Of,
    ) where
        K: WithLifetime<'k>,
        V: WithLifetime<'v>,
    {
        store(&self.key(key), value)
    }

    /// Reads the value of `key`, borrowing from `buf`: `None` if absent. Aborts if the stored
    /// bytes are longer than `buf`.
    pub fn load<'k, 'b>(
        &self,
        key: &<K as WithLifetime<'k>>::Of,
        buf: &'b mut [u8],
    ) -> Option<<V as WithLifetime<'b>>::Of>
    where
        K: WithLifetime<'k>,
        V: WithLifetime<'b>,
    {
        load(&self.key(key), buf)
    }
}

impl<K, V: for<'b> Decode<'b>> Map<K, V> {
    /// The value of `key`: `None` if absent.
    pub fn get<'k>(&self, key: &<K as WithLifetime<'k>>::Of) -> Option<V>
    where
        K: WithLifetime<'k>,
    {
        let mut buf = [0u8; MAX_VALUE_LEN];
        load(&self.key(key), &mut buf)
    }
}
