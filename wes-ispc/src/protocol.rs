//! The connector protocol over HTTP, shared by the client ([`HttpConnector`]) and the
//! service side ([`crate::service`]), so the two cannot drift apart.
//!
//! | request | body | 2xx answer |
//! |---|---|---|
//! | `POST {base}/prepare` | the contract's request bytes | the response bytes |
//! | `POST {base}/commit/{op}` | empty | acknowledgement |
//! | `POST {base}/abort/{op}` | empty | acknowledgement |
//! | `POST {base}/compensate/{op}` | empty | acknowledgement |
//!
//! Every request carries [`OP`] (the op id in hex: the idempotency key) and, for `prepare`,
//! [`CONTRACT`]. A node that holds a key for the connector also sends [`KEY`], [`TIME`] and
//! [`SIGNATURE`]: its Ed25519 signature over [`request_message`], which covers the action,
//! the op, the contract, the time and the body, so a service can check that the request comes
//! from a node it trusts and was not altered on the way.
//!
//! [`HttpConnector`]: crate::connectors::HttpConnector

use wes_core::{ContractId, Domain, Hash, PublicKey, Signature, codec, hash};

use crate::Outcome;

/// Header carrying the op id (hex): the idempotency key of every request.
pub const OP: &str = "X-Wes-Op";
/// Header carrying the calling contract's id (hex), on `prepare`.
pub const CONTRACT: &str = "X-Wes-Contract";
/// Header carrying the signing node's public key (hex).
pub const KEY: &str = "X-Wes-Key";
/// Header carrying the signing time, milliseconds since the Unix epoch.
pub const TIME: &str = "X-Wes-Time";
/// Header carrying the signature (hex, 64 bytes) over [`request_message`].
pub const SIGNATURE: &str = "X-Wes-Signature";

const REQUEST_DOMAIN: Domain = Domain::new("wes-ispc/connector-request");

/// One request of the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Perform the request tentatively and answer.
    Prepare,
    /// Tell the chain's outcome of a prepared op.
    Settle(Outcome),
}

impl Action {
    /// The path below the service's base: `prepare`, or `commit/{op}` and so on.
    pub fn path(self, op: &Hash) -> String {
        match self {
            Action::Prepare => self.name().to_owned(),
            Action::Settle(_) => format!("{}/{}", self.name(), op.to_hex()),
        }
    }

    /// The action named `name` (the path's first segment).
    pub fn from_name(name: &str) -> Option<Action> {
        Some(match name {
            "prepare" => Action::Prepare,
            "commit" => Action::Settle(Outcome::Commit),
            "abort" => Action::Settle(Outcome::Abort),
            "compensate" => Action::Settle(Outcome::Compensate),
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Action::Prepare => "prepare",
            Action::Settle(Outcome::Commit) => "commit",
            Action::Settle(Outcome::Abort) => "abort",
            Action::Settle(Outcome::Compensate) => "compensate",
        }
    }
}

/// The message a node signs for one request: the action, the op, the contract (absent on
/// settling requests), the time and the body, under a domain of its own.
pub fn request_message(
    action: Action,
    op: &Hash,
    contract: Option<&ContractId>,
    time_ms: u64,
    body: &[u8],
) -> Hash {
    hash(
        REQUEST_DOMAIN,
        codec::encode(&(action.name(), op, contract, time_ms, body)),
    )
}

/// Parses a signature header (128 hex digits).
pub fn parse_signature(s: &str) -> Option<Signature> {
    let bytes = hex::decode(s.trim()).ok()?;
    Some(Signature(bytes.try_into().ok()?))
}

/// Parses a key header (64 hex digits).
pub fn parse_key(s: &str) -> Option<PublicKey> {
    let bytes = hex::decode(s.trim()).ok()?;
    Some(PublicKey(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_through_their_names_and_the_message_binds_each_part() {
        let op = hash(Domain::new("test"), b"op");
        for action in [
            Action::Prepare,
            Action::Settle(Outcome::Commit),
            Action::Settle(Outcome::Abort),
            Action::Settle(Outcome::Compensate),
        ] {
            let path = action.path(&op);
            let name = path.split('/').next().unwrap();
            assert_eq!(Action::from_name(name), Some(action));
        }
        assert_eq!(Action::from_name("delete"), None);
        let c = ContractId(op);
        let m = request_message(Action::Prepare, &op, Some(&c), 5, b"x");
        assert_ne!(m, request_message(Action::Prepare, &op, None, 5, b"x"));
        assert_ne!(m, request_message(Action::Prepare, &op, Some(&c), 6, b"x"));
        assert_ne!(m, request_message(Action::Prepare, &op, Some(&c), 5, b"y"));
        assert_ne!(
            request_message(Action::Settle(Outcome::Commit), &op, None, 5, b""),
            request_message(Action::Settle(Outcome::Abort), &op, None, 5, b"")
        );
        let key = wes_core::SecretKey::dev("node");
        let sig = key.sign(m.as_bytes());
        assert_eq!(parse_signature(&hex::encode(sig.0)), Some(sig));
        assert_eq!(
            parse_key(&key.public_key().to_string()),
            Some(key.public_key())
        );
        assert_eq!(parse_key("abcd"), None);
        assert_eq!(parse_signature("zz"), None);
    }

    #[test]
    fn the_request_message_is_stable() {
        // The TypeScript SDK checks the same vectors (sdk/ts/test/service.test.ts).
        let op = Hash([0x11; 32]);
        let contract = ContractId(Hash([0x22; 32]));
        let m = request_message(
            Action::Prepare,
            &op,
            Some(&contract),
            1_800_000_000_000,
            b"hello",
        );
        let c = request_message(Action::Settle(Outcome::Commit), &op, None, 5, b"");
        assert_eq!(
            m.to_hex(),
            "082f5066bc343295bb833a2a86aee85f08ab002b2e6e0f63828ad3e1f7a8db91"
        );
        assert_eq!(
            c.to_hex(),
            "cbfd2c130e7dd37232947ff4d684d9695cf28f3e2fa28a8cbebdf6d328210be2"
        );
    }
}
