//! The user-written proof system: **committee attestation**, m of n. Nothing here is shipped
//! by the SDK.
//!
//! The node that executes a call sends the transaction, the outputs its inputs use and an inner
//! proof (here `calc-replay`'s) to the committee's attestors over HTTP ([`crate::attestor`]).
//! Each attestor checks the execution with the inner verifier and, if it holds, signs the
//! [`claim`]. The proof is `threshold` signatures of distinct members; every node of the chain
//! checks only those signatures, against the committee's public keys.
//!
//! What it proves, honestly: that `threshold` members saw the execution checked. It is a trust
//! assumption (fewer than `threshold` members collude), like a TEE attestation, not a
//! zero-knowledge proof. The signed claim names the transaction and the contents of every
//! output it uses, so a signature cannot be moved to another transaction or another state.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use wes_core::{
    Domain, ExecutionOutcome, Hash, OutPoint, Output, ProofError, ProofSystemId, ProofVerifier,
    Prover, PublicKey, SharedView, Signature, Transaction, codec, hash,
};

use crate::attestor::AttestRequest;

/// Domain of the claim members sign.
const CLAIM: Domain = Domain::new("wes-committee-prover/claim");

/// Longest proof accepted: one signature per member, at most [`MAX_MEMBERS`].
const MAX_PROOF: usize = 16 + MAX_MEMBERS * (2 + 64 + 8);

/// Most members a committee may have.
pub const MAX_MEMBERS: usize = 64;

/// What goes wrong setting up a committee, its prover or an attestor, or asking an attestor.
#[derive(Debug, thiserror::Error)]
pub enum CommitteeError {
    /// The threshold is 0 or above the member count.
    #[error("threshold {threshold} of {members} members")]
    Threshold {
        /// The threshold asked for.
        threshold: usize,
        /// The members there are.
        members: usize,
    },
    /// More members than [`MAX_MEMBERS`].
    #[error("{members} members, at most {MAX_MEMBERS}")]
    TooManyMembers {
        /// The members given.
        members: usize,
    },
    /// The same key listed for two members.
    #[error("member {second} has the key of member {first}")]
    DuplicateMember {
        /// The first member with the key.
        first: usize,
        /// The member that repeats it.
        second: usize,
    },
    /// Not one attestor URL per member.
    #[error("{urls} attestor URLs for {members} members")]
    UrlCount {
        /// The URLs given.
        urls: usize,
        /// The members there are.
        members: usize,
    },
    /// An attestor could not be started.
    #[error("the attestor cannot listen: {0}")]
    Listen(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// An attestor did not sign: unreachable, refused, or answered something else.
    #[error("{url}: {reason}")]
    Attestor {
        /// The attestor's URL.
        url: String,
        /// Why, with the attestor's own words when it refused.
        reason: String,
    },
}

/// A committee: its proof-system id, its members' keys (a member is its index here) and how
/// many of them must sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committee {
    /// The proof system's id on the chain.
    pub system: ProofSystemId,
    /// The members' public keys.
    pub members: Vec<PublicKey>,
    /// Signatures a proof needs.
    pub threshold: usize,
}

impl Committee {
    /// A committee of `members` of which `threshold` must sign.
    ///
    /// # Errors
    /// A threshold of 0 or above the member count, duplicate or too many members.
    pub fn new(
        system: ProofSystemId,
        members: Vec<PublicKey>,
        threshold: usize,
    ) -> Result<Self, CommitteeError> {
        if threshold == 0 || threshold > members.len() {
            return Err(CommitteeError::Threshold {
                threshold,
                members: members.len(),
            });
        }
        if members.len() > MAX_MEMBERS {
            return Err(CommitteeError::TooManyMembers {
                members: members.len(),
            });
        }
        for (second, key) in members.iter().enumerate() {
            if let Some(first) = members[..second].iter().position(|k| k == key) {
                return Err(CommitteeError::DuplicateMember { first, second });
            }
        }
        Ok(Committee {
            system,
            members,
            threshold,
        })
    }
}

/// What a member signs: the transaction (its id covers the execution record, the inputs'
/// outpoints and the outputs) and the outputs its inputs use, as the member was shown them.
pub fn claim(tx: &Transaction, used: &[(OutPoint, Output)]) -> Hash {
    hash(CLAIM, codec::encode(&(tx.id(), used)))
}

/// The outputs `tx`'s inputs use, read from `view`.
///
/// # Errors
/// An input whose output is not unspent: the claim cannot hold.
pub fn used_outputs(
    tx: &Transaction,
    view: &SharedView,
    system: &ProofSystemId,
) -> Result<Vec<(OutPoint, Output)>, ProofError> {
    tx.inputs
        .iter()
        .map(|input| {
            let output = view
                .unspent(&input.prev)
                .map_err(|e| ProofError::Backend {
                    system: system.clone(),
                    reason: e.to_string(),
                })?
                .ok_or_else(|| ProofError::Rejected {
                    system: system.clone(),
                    reason: format!("input {} is not unspent", input.prev),
                })?;
            Ok((input.prev, output))
        })
        .collect()
}

/// The proof: signatures of distinct members, by increasing member index.
pub type Attestations = Vec<(u16, Signature)>;

/// Proves by asking the committee's attestors, all at once, and returning as soon as
/// `threshold` of them have signed. Blocks while it waits (up to `timeout` per attestor): the
/// node runs it off its async threads ([`wes_node::Node::construct_async`]).
pub struct CommitteeProver {
    committee: Committee,
    /// Each member's attestation endpoint, by member index.
    urls: Vec<String>,
    /// The proof the attestors check before they sign.
    inner: Arc<dyn Prover>,
    agent: ureq::Agent,
}

impl CommitteeProver {
    /// A prover asking the attestor at `urls[i]` for member `i`'s signature, with `inner`
    /// producing the proof the attestors check.
    ///
    /// # Errors
    /// Not one URL per member.
    pub fn new(
        committee: Committee,
        urls: Vec<String>,
        inner: Arc<dyn Prover>,
        timeout: Duration,
    ) -> Result<Self, CommitteeError> {
        if urls.len() != committee.members.len() {
            return Err(CommitteeError::UrlCount {
                urls: urls.len(),
                members: committee.members.len(),
            });
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(CommitteeProver {
            committee,
            urls,
            inner,
            agent,
        })
    }
}

/// The signature of `claim` by the attestor at `url`, checked against the member's `key`.
fn ask(
    agent: &ureq::Agent,
    url: &str,
    key: &PublicKey,
    body: &[u8],
    claim: &Hash,
) -> Result<Signature, CommitteeError> {
    let failed = |reason: String| CommitteeError::Attestor {
        url: url.to_owned(),
        reason,
    };
    let mut response = agent
        .post(url)
        .header("Content-Type", "application/octet-stream")
        .send(body)
        .map_err(|e| failed(e.to_string()))?;
    let status = response.status();
    let reply = response
        .body_mut()
        .with_config()
        .limit(1024)
        .read_to_vec()
        .map_err(|e| failed(e.to_string()))?;
    if !status.is_success() {
        let text: String = String::from_utf8_lossy(&reply).chars().take(200).collect();
        return Err(failed(format!("{status}: {text}")));
    }
    let signature = Signature(
        reply
            .try_into()
            .map_err(|_| failed("the answer is not a signature".into()))?,
    );
    wes_core::verify(key, claim.as_bytes(), &signature)
        .map_err(|e| failed(format!("a bad signature: {e}")))?;
    Ok(signature)
}

impl Prover for CommitteeProver {
    fn system(&self) -> ProofSystemId {
        self.committee.system.clone()
    }

    fn prove(
        &self,
        tx: &Transaction,
        outcome: &ExecutionOutcome,
        view: &SharedView,
    ) -> Result<Vec<u8>, ProofError> {
        let system = self.system();
        let used = used_outputs(tx, view, &system)?;
        let code = match &tx.execution {
            Some(exec) => view
                .resource(&exec.resource)
                .ok()
                .flatten()
                .ok_or_else(|| ProofError::Unavailable {
                    system: system.clone(),
                    what: format!("resource {}", exec.resource),
                })?,
            None => return Err(ProofError::NoExecution(tx.id())),
        };
        let request = AttestRequest {
            tx: tx.clone(),
            used: used.clone(),
            resource: code,
            proof: self.inner.prove(tx, outcome, view)?,
        };
        let body = Arc::new(codec::encode(&request));
        let claim = claim(tx, &used);
        // Every member at once, each on a thread of its own that ends within the timeout; the
        // proof is ready as soon as `threshold` have signed.
        let (answers, answered) = mpsc::channel();
        for (member, url) in self.urls.iter().enumerate() {
            let answers = answers.clone();
            let (agent, url, body) = (self.agent.clone(), url.clone(), body.clone());
            let key = self.committee.members[member];
            std::thread::spawn(move || {
                let _ = answers.send((member, ask(&agent, &url, &key, &body, &claim)));
            });
        }
        drop(answers);
        let mut signed: Attestations = Vec::new();
        let mut refusals = Vec::new();
        for (member, answer) in answered.iter() {
            match answer {
                Ok(signature) => signed.push((member as u16, signature)),
                Err(e) => refusals.push(e.to_string()),
            }
            if signed.len() == self.committee.threshold {
                break;
            }
        }
        if signed.len() < self.committee.threshold {
            return Err(ProofError::Unavailable {
                system,
                what: format!(
                    "{} of {} signatures; refused or unreachable: {}",
                    signed.len(),
                    self.committee.threshold,
                    refusals.join("; ")
                ),
            });
        }
        signed.sort_by_key(|(member, _)| *member);
        Ok(codec::encode(&signed))
    }
}

/// Checks committee proofs: `threshold` valid signatures of distinct members over the claim
/// of the transaction and the outputs it uses on this node's chain. Runs nothing else.
#[derive(Clone, Debug)]
pub struct CommitteeVerifier {
    committee: Committee,
}

impl CommitteeVerifier {
    /// A verifier for `committee`.
    pub fn new(committee: Committee) -> Self {
        CommitteeVerifier { committee }
    }
}

impl ProofVerifier for CommitteeVerifier {
    fn system(&self) -> ProofSystemId {
        self.committee.system.clone()
    }

    fn verify(&self, tx: &Transaction, proof: &[u8], view: &SharedView) -> Result<(), ProofError> {
        let system = self.system();
        if tx.execution.is_none() {
            return Err(ProofError::NoExecution(tx.id()));
        }
        let malformed = |reason: String| ProofError::Malformed {
            system: system.clone(),
            reason,
        };
        let signed: Attestations =
            codec::decode_with_limit(proof, MAX_PROOF).map_err(|e| malformed(e.to_string()))?;
        if !signed.windows(2).all(|w| w[0].0 < w[1].0) {
            return Err(malformed("members not distinct and in order".into()));
        }
        if signed.len() < self.committee.threshold {
            return Err(ProofError::Rejected {
                system,
                reason: format!(
                    "{} signatures, the committee needs {}",
                    signed.len(),
                    self.committee.threshold
                ),
            });
        }
        let claim = claim(tx, &used_outputs(tx, view, &system)?);
        for (member, signature) in &signed {
            let key = self
                .committee
                .members
                .get(usize::from(*member))
                .ok_or_else(|| malformed(format!("no member {member}")))?;
            wes_core::verify(key, claim.as_bytes(), signature).map_err(|_| {
                ProofError::Rejected {
                    system: system.clone(),
                    reason: format!("member {member} did not sign this claim"),
                }
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use wes_core::SecretKey;

    use super::*;

    fn keys(names: &[&str]) -> Vec<PublicKey> {
        names
            .iter()
            .map(|n| SecretKey::dev(n).public_key())
            .collect()
    }

    #[test]
    fn a_committee_needs_a_threshold_it_can_meet_and_distinct_members() {
        let system = ProofSystemId::new("c").unwrap();
        assert!(Committee::new(system.clone(), keys(&["a", "b"]), 2).is_ok());
        assert!(matches!(
            Committee::new(system.clone(), keys(&["a", "b"]), 0),
            Err(CommitteeError::Threshold {
                threshold: 0,
                members: 2
            })
        ));
        assert!(matches!(
            Committee::new(system.clone(), keys(&["a", "b"]), 3),
            Err(CommitteeError::Threshold { threshold: 3, .. })
        ));
        assert!(matches!(
            Committee::new(system.clone(), keys(&["a", "b", "a"]), 2),
            Err(CommitteeError::DuplicateMember {
                first: 0,
                second: 2
            })
        ));
        let many: Vec<String> = (0..=MAX_MEMBERS).map(|i| i.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(matches!(
            Committee::new(system.clone(), keys(&many), 1),
            Err(CommitteeError::TooManyMembers { .. })
        ));
        let committee = Committee::new(system, keys(&["a", "b"]), 1).unwrap();
        let prover = CommitteeProver::new(
            committee,
            vec!["http://127.0.0.1:1/attest".into()],
            Arc::new(wes_custom_executor::executor::CalcProver),
            Duration::from_secs(1),
        );
        assert!(matches!(
            prover,
            Err(CommitteeError::UrlCount {
                urls: 1,
                members: 2
            })
        ));
    }

    #[test]
    fn a_claim_binds_the_transaction_and_the_state_it_used() {
        let tx = Transaction {
            version: Transaction::VERSION,
            chain_id: crate::CHAIN,
            inputs: Vec::new(),
            outputs: Vec::new(),
            validity: wes_core::ValidityWindow::ALWAYS,
            execution: None,
        };
        let key = SecretKey::dev("a").public_key();
        let output = |n| Output::asset(wes_core::Lock::key(key), wes_core::TokenId::Native, n);
        let at = OutPoint {
            tx: tx.id(),
            index: 0,
        };
        assert_eq!(
            claim(&tx, &[(at, output(1))]),
            claim(&tx, &[(at, output(1))])
        );
        assert_ne!(
            claim(&tx, &[(at, output(1))]),
            claim(&tx, &[(at, output(2))])
        );
        assert_ne!(claim(&tx, &[]), claim(&tx, &[(at, output(1))]));
    }
}
