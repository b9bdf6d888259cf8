//! The `halo2-ipa` proof system: circuit files, keys, prover and verifier.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use halo2_proofs::pasta::{EqAffine, Fp};
use halo2_proofs::plonk::{
    ProvingKey, SingleVerifier, VerifyingKey, create_proof, keygen_pk, keygen_vk, verify_proof,
};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255};
use serde::{Deserialize, Serialize};
use wes_core::{
    ContentId, Domain, ExecutionOutcome, Hash, InputMode, OutputBody, ProofError, ProofSystemId,
    ProofVerifier, Prover, ResourceBody, ResourceKind, SharedView, TraceEntry, Transaction, codec,
    hash, trace_root,
};

use super::circuit::{MlpCircuit, instance, min_k, provable, rows};
use super::params::MAX_K;
use super::params::ParamsCache;
use crate::onnx::{
    INFER_ENTRY, InferenceResult, LoadedModel, MODEL_INFER_CALL, OnnxExecutor, QuantizedNet,
    decode_input,
};

/// The proof-system id.
pub const HALO2_SYSTEM: &str = "halo2-ipa";
/// Version of [`ModelCircuitFile`] and of the circuit layout it describes.
pub const CIRCUIT_FILE_VERSION: u32 = 2;
/// Largest circuit file a verifier decodes.
const MAX_CIRCUIT_FILE: usize = 64 << 20;

/// The `halo2-ipa` system id.
pub fn halo2_system() -> ProofSystemId {
    // The literal satisfies the naming rule, so this cannot fail.
    ProofSystemId::new(HALO2_SYSTEM).unwrap_or_else(|_| unreachable!("valid literal"))
}

/// What a model's `verifying_key` metadata points to (stored in URES): everything a verifier
/// needs to derive the model's verifying key, and that key's digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelCircuitFile {
    /// [`CIRCUIT_FILE_VERSION`].
    pub version: u32,
    /// Circuit size: 2^k rows.
    pub k: u32,
    /// The quantized network (its weights are the circuit's fixed columns).
    pub net: QuantizedNet,
    /// Digest of the verifying key derived from `net` at size `k`.
    pub vk_digest: Hash,
}

impl ModelCircuitFile {
    /// Encodes the file (canonical bytes: its content id is what the metadata records).
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofError> {
        codec::decode_with_limit(bytes, MAX_CIRCUIT_FILE)
            .map_err(|e| malformed(format!("circuit file: {e}")))
    }
}

fn vk_digest(vk: &VerifyingKey<EqAffine>) -> Hash {
    hash(
        Domain::new("wes-ispc/halo2-vk"),
        format!("{:?}", vk.pinned()).as_bytes(),
    )
}

fn malformed(reason: impl Into<String>) -> ProofError {
    ProofError::Malformed {
        system: halo2_system(),
        reason: reason.into(),
    }
}

fn rejected(reason: impl Into<String>) -> ProofError {
    ProofError::Rejected {
        system: halo2_system(),
        reason: reason.into(),
    }
}

fn backend(reason: impl Into<String>) -> ProofError {
    ProofError::Backend {
        system: halo2_system(),
        reason: reason.into(),
    }
}

fn unavailable(what: impl Into<String>) -> ProofError {
    ProofError::Unavailable {
        system: halo2_system(),
        what: what.into(),
    }
}

/// A model's keys and circuit.
pub struct ModelKeys {
    /// The circuit file.
    pub file: ModelCircuitFile,
    /// The IPA parameters of its size.
    pub params: Arc<Params<EqAffine>>,
    /// The verifying key.
    pub vk: VerifyingKey<EqAffine>,
    /// The proving key (only on provers).
    pub pk: Option<ProvingKey<EqAffine>>,
}

impl core::fmt::Debug for ModelKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ModelKeys")
            .field("k", &self.file.k)
            .field("vk_digest", &self.file.vk_digest)
            .field("pk", &self.pk.is_some())
            .finish()
    }
}

impl ModelKeys {
    /// Generates the circuit file and keys of `net` (at model deploy, or on a prover).
    pub fn generate(
        net: QuantizedNet,
        params: &ParamsCache,
        with_pk: bool,
    ) -> Result<Self, ProofError> {
        net.validate().map_err(|e| rejected(e.to_string()))?;
        provable(&net).map_err(rejected)?;
        let k = min_k(&net);
        if k > MAX_K {
            return Err(rejected(format!(
                "the model's circuit takes {} rows (2^{k}); the largest circuit is 2^{MAX_K} rows",
                rows(&net)
            )));
        }
        let params = params
            .get(k)
            .map_err(|e| backend(format!("parameters: {e}")))?;
        let circuit = MlpCircuit {
            net: &net,
            witness: None,
        };
        let vk = keygen_vk(&params, &circuit).map_err(|e| backend(format!("keygen_vk: {e:?}")))?;
        let pk = if with_pk {
            let vk2 =
                keygen_vk(&params, &circuit).map_err(|e| backend(format!("keygen_vk: {e:?}")))?;
            Some(
                keygen_pk(&params, vk2, &circuit)
                    .map_err(|e| backend(format!("keygen_pk: {e:?}")))?,
            )
        } else {
            None
        };
        let file = ModelCircuitFile {
            version: CIRCUIT_FILE_VERSION,
            k,
            vk_digest: vk_digest(&vk),
            net,
        };
        Ok(ModelKeys {
            file,
            params,
            vk,
            pk,
        })
    }

    /// Derives the keys a circuit file describes, checking the verifying key's digest.
    pub fn from_file(
        file: ModelCircuitFile,
        params: &ParamsCache,
        with_pk: bool,
    ) -> Result<Self, ProofError> {
        if file.version != CIRCUIT_FILE_VERSION {
            return Err(rejected(format!(
                "circuit file version {} (this node implements {CIRCUIT_FILE_VERSION})",
                file.version
            )));
        }
        file.net.validate().map_err(|e| rejected(e.to_string()))?;
        if file.k != min_k(&file.net) {
            return Err(rejected(format!(
                "circuit size k = {} is not the network's {}",
                file.k,
                min_k(&file.net)
            )));
        }
        let keys = Self::generate(file.net.clone(), params, with_pk)?;
        if keys.file.vk_digest != file.vk_digest {
            return Err(rejected(
                "the verifying key derived from the circuit file does not match its digest",
            ));
        }
        Ok(keys)
    }

    /// Proves that the network maps `input` (quantized) to its outputs. Returns the proof and
    /// the outputs.
    pub fn prove(&self, input: &[i64]) -> Result<(Vec<u8>, Vec<i64>), ProofError> {
        let pk = self.pk.as_ref().ok_or_else(|| backend("no proving key"))?;
        let trace = self
            .file
            .net
            .evaluate(input)
            .map_err(|e| rejected(e.to_string()))?;
        let output = trace.output();
        let public = instance(input, &output);
        let circuit = MlpCircuit {
            net: &self.file.net,
            witness: Some(&trace),
        };
        let mut transcript = Blake2bWrite::<_, EqAffine, Challenge255<_>>::init(vec![]);
        let rng = rand::rand_core::UnwrapErr(rand::rngs::SysRng);
        create_proof(
            &self.params,
            pk,
            &[circuit],
            &[&[&public]],
            rng,
            &mut transcript,
        )
        .map_err(|e| backend(format!("create_proof: {e:?}")))?;
        Ok((transcript.finalize(), output))
    }

    /// Verifies `proof` for the quantized `input` and `output`.
    pub fn verify(&self, input: &[i64], output: &[i64], proof: &[u8]) -> Result<(), ProofError> {
        let net = &self.file.net;
        if input.len() != net.input_len() || output.len() != net.output_len() {
            return Err(rejected(format!(
                "instance has {} inputs and {} outputs, the model {} and {}",
                input.len(),
                output.len(),
                net.input_len(),
                net.output_len()
            )));
        }
        let public: Vec<Fp> = instance(input, output);
        let mut rest: &[u8] = proof;
        let mut transcript = Blake2bRead::<_, EqAffine, Challenge255<_>>::init(&mut rest);
        let strategy = SingleVerifier::new(&self.params);
        verify_proof(
            &self.params,
            &self.vk,
            strategy,
            &[&[&public]],
            &mut transcript,
        )
        .map_err(|e| rejected(format!("the proof does not verify: {e:?}")))?;
        if !rest.is_empty() {
            return Err(malformed(format!("{} bytes after the proof", rest.len())));
        }
        Ok(())
    }
}

/// Keys by circuit file id, shared by the prover and the verifier of one node.
#[derive(Debug)]
struct KeyCache {
    params: Arc<ParamsCache>,
    onnx: Arc<OnnxExecutor>,
    keys: Mutex<HashMap<(ContentId, ContentId), Arc<ModelKeys>>>,
}

/// What a transaction's reference input says about the model it runs.
struct Binding {
    circuit: ContentId,
}

impl KeyCache {
    /// The model resource's binding: the transaction's last input references the model's
    /// Resource output, whose metadata names the circuit file.
    fn binding(&self, tx: &Transaction, view: &SharedView) -> Result<Binding, ProofError> {
        let execution = tx
            .execution
            .as_ref()
            .ok_or_else(|| ProofError::NoExecution(tx.id()))?;
        let last = tx
            .inputs
            .last()
            .filter(|i| i.mode == InputMode::Reference)
            .ok_or_else(|| rejected("the last input must reference the model's Resource output"))?;
        let output = view
            .unspent(&last.prev)
            .map_err(|e| backend(e.to_string()))?
            .ok_or_else(|| rejected(format!("model output {} is not live", last.prev)))?;
        let OutputBody::Resource(ResourceBody {
            content,
            kind,
            meta,
            ..
        }) = &output.body
        else {
            return Err(rejected(format!(
                "input {} is not a Resource output",
                last.prev
            )));
        };
        if *content != execution.resource || *kind != ResourceKind::Onnx {
            return Err(rejected(format!(
                "the referenced resource is {content} ({kind:?}), the execution runs {}",
                execution.resource
            )));
        }
        let circuit = meta
            .verifying_key
            .map(ContentId)
            .ok_or_else(|| rejected("the model was deployed without a verifying key"))?;
        Ok(Binding { circuit })
    }

    fn model(&self, id: &ContentId, view: &SharedView) -> Result<Arc<LoadedModel>, ProofError> {
        // Every verification needs the compiled model: read its bytes only when not cached.
        if let Some(m) = self.onnx.cached(id) {
            return Ok(m);
        }
        let code = view
            .resource(id)
            .map_err(|e| backend(e.to_string()))?
            .ok_or_else(|| unavailable(format!("model {id}")))?;
        self.onnx
            .load(id, &code)
            .map_err(|e| rejected(format!("model {id}: {e}")))
    }

    fn keys(
        &self,
        model: &ContentId,
        circuit: &ContentId,
        view: &SharedView,
        with_pk: bool,
    ) -> Result<Arc<ModelKeys>, ProofError> {
        let key = (*model, *circuit);
        if let Some(k) = self
            .keys
            .lock()
            .map_err(|_| backend("key cache poisoned"))?
            .get(&key)
            && (k.pk.is_some() || !with_pk)
        {
            return Ok(k.clone());
        }
        let bytes = view
            .resource(circuit)
            .map_err(|e| backend(e.to_string()))?
            .ok_or_else(|| unavailable(format!("circuit file {circuit}")))?;
        let file = ModelCircuitFile::from_bytes(&bytes)?;
        let loaded = self.model(model, view)?;
        let net = loaded
            .net
            .as_ref()
            .map_err(|e| rejected(format!("model {model}: {e}")))?;
        if *net != file.net {
            return Err(rejected(format!(
                "circuit file {circuit} is not the quantization of model {model}"
            )));
        }
        let keys = Arc::new(ModelKeys::from_file(file, &self.params, with_pk)?);
        self.keys
            .lock()
            .map_err(|_| backend("key cache poisoned"))?
            .insert(key, keys.clone());
        Ok(keys)
    }
}

/// The `halo2-ipa` prover: proves a direct inference transaction built by
/// [`construct_inference`](crate::construct_inference).
#[derive(Debug, Clone)]
pub struct Halo2Prover {
    cache: Arc<KeyCache>,
}

/// The `halo2-ipa` verifier: checks the execution record of an inference transaction and
/// its proof, without running the model.
#[derive(Debug, Clone)]
pub struct Halo2Verifier {
    cache: Arc<KeyCache>,
}

impl Halo2Prover {
    /// A prover using `params` and `onnx` (for model compilation and quantization).
    pub fn new(params: Arc<ParamsCache>, onnx: Arc<OnnxExecutor>) -> Self {
        Halo2Prover {
            cache: Arc::new(KeyCache {
                params,
                onnx,
                keys: Mutex::default(),
            }),
        }
    }
}

impl Halo2Verifier {
    /// A verifier using `params` and `onnx`.
    pub fn new(params: Arc<ParamsCache>, onnx: Arc<OnnxExecutor>) -> Self {
        Halo2Verifier {
            cache: Arc::new(KeyCache {
                params,
                onnx,
                keys: Mutex::default(),
            }),
        }
    }
}

/// The quantized single-row input of an inference execution.
fn quantized_input(net: &QuantizedNet, args: &[u8]) -> Result<Vec<i64>, ProofError> {
    let input = decode_input(args).map_err(|e| rejected(e.to_string()))?;
    net.quantize_input(&input)
        .map_err(|e| rejected(format!("{e} (a proof covers one row)")))
}

impl Prover for Halo2Prover {
    fn system(&self) -> ProofSystemId {
        halo2_system()
    }

    fn prove(
        &self,
        tx: &Transaction,
        outcome: &ExecutionOutcome,
        view: &SharedView,
    ) -> Result<Vec<u8>, ProofError> {
        let execution = tx
            .execution
            .as_ref()
            .ok_or_else(|| ProofError::NoExecution(tx.id()))?;
        let binding = self.cache.binding(tx, view)?;
        let keys = self
            .cache
            .keys(&execution.resource, &binding.circuit, view, true)?;
        let input = quantized_input(&keys.file.net, &execution.args)?;
        let (proof, output) = keys.prove(&input)?;
        let result: InferenceResult = codec::decode(&outcome.return_data)
            .map_err(|e| backend(format!("the outcome is not an inference result: {e}")))?;
        if result.outputs != output {
            return Err(backend(
                "the executor's outputs differ from the proven ones",
            ));
        }
        Ok(proof)
    }
}

impl ProofVerifier for Halo2Verifier {
    fn system(&self) -> ProofSystemId {
        halo2_system()
    }

    fn verify(&self, tx: &Transaction, proof: &[u8], view: &SharedView) -> Result<(), ProofError> {
        let execution = tx
            .execution
            .as_ref()
            .ok_or_else(|| ProofError::NoExecution(tx.id()))?;
        let contract = crate::contract_id(&execution.resource);
        if execution.contract != contract || !execution.callees.is_empty() {
            return Err(rejected(
                "the execution's contract is not its model's, or lists callees",
            ));
        }
        if execution.entry != INFER_ENTRY {
            return Err(rejected(format!(
                "entry {:?} is not {INFER_ENTRY:?}",
                execution.entry
            )));
        }
        let binding = self.cache.binding(tx, view)?;
        // The cheap checks first; the key (derived once per model) last.
        let loaded = self.cache.model(&execution.resource, view)?;
        let net = loaded
            .net
            .as_ref()
            .map_err(|e| rejected(format!("model {}: {e}", execution.resource)))?;
        let input = quantized_input(net, &execution.args)?;
        let cost = loaded.model.cost(1);
        if execution.cu_used != cost || cost > execution.cu_limit {
            return Err(rejected(format!(
                "cu_used is {}, the model costs {cost} (limit {})",
                execution.cu_used, execution.cu_limit
            )));
        }
        // The execution's outputs: the first output is the inference's State.
        let first = tx.inputs.first().ok_or_else(|| rejected("no fee input"))?;
        if first.mode != InputMode::Spend {
            // The call id commits to it: only a spent input makes it unique.
            return Err(rejected("the first input (the caller's) must be spent"));
        }
        let state = tx
            .outputs
            .first()
            .and_then(|o| o.as_state().map(|s| (o, s)))
            .ok_or_else(|| rejected("the first output is not the inference's State"))?;
        let key = crate::call_id(
            tx.chain_id,
            &first.prev,
            &contract,
            &execution.entry,
            &execution.args,
        );
        let (output, body) = state;
        if body.contract != contract
            || body.key != key.as_bytes()
            || body.version != 0
            || output.lock != wes_core::Lock::contract(contract)
        {
            return Err(rejected(
                "the State output is not the model's, under the call id",
            ));
        }
        let result: InferenceResult = codec::decode(&body.data)
            .map_err(|e| rejected(format!("the State is not an inference result: {e}")))?;
        let expected_labels: Vec<i64> = net.label(&result.outputs).into_iter().collect();
        if result.model != execution.resource
            || result.rows != 1
            || result.scale_bits != net.scale_bits
            || result.labels != expected_labels
            || codec::encode(&result) != body.data
        {
            return Err(rejected(
                "the inference result's fields do not match its outputs",
            ));
        }
        let entry = TraceEntry {
            call: MODEL_INFER_CALL.into(),
            input: execution.args.clone(),
            output: body.data.clone(),
            cu: cost,
        };
        if trace_root(&[entry]) != execution.trace_root {
            return Err(rejected("the trace root is not that of the inference"));
        }
        crate::plain::check_plain_part(tx, view, 1, 1, &halo2_system())?;
        let keys = self
            .cache
            .keys(&execution.resource, &binding.circuit, view, false)?;
        keys.verify(&input, &result.outputs, proof)
    }
}

/// Prepares a model's deployment: checks that `model` is a valid, provable ONNX model and
/// generates its circuit file (with the keys, so the deploying node can prove at once). Store
/// both byte strings in URES and record the circuit file's content id with
/// [`model_resource`].
pub fn prepare_model(
    model: &[u8],
    params: &ParamsCache,
) -> Result<(ModelKeys, Vec<u8>), ProofError> {
    let loaded = crate::onnx::OnnxModel::load(model).map_err(|e| rejected(e.to_string()))?;
    let net = QuantizedNet::from_model(&loaded).map_err(|e| rejected(e.to_string()))?;
    let keys = ModelKeys::generate(net, params, true)?;
    let bytes = keys.file.to_bytes();
    Ok((keys, bytes))
}

/// The Resource output body of a model `content` (`size` bytes) whose circuit file has the
/// content id `circuit`.
pub fn model_resource(
    content: ContentId,
    size: u64,
    name: &str,
    circuit: ContentId,
) -> ResourceBody {
    ResourceBody {
        content,
        kind: ResourceKind::Onnx,
        size,
        meta: wes_core::ResourceMeta {
            name: name.into(),
            mime: "application/onnx".into(),
            verifying_key: Some(circuit.0),
        },
    }
}

impl Halo2Prover {
    /// Adds keys generated elsewhere (by [`prepare_model`]) for `model` and `circuit`, so the
    /// first proof does not derive them again.
    pub fn insert_keys(&self, model: ContentId, circuit: ContentId, keys: ModelKeys) {
        if let Ok(mut map) = self.cache.keys.lock() {
            map.insert((model, circuit), Arc::new(keys));
        }
    }
}
