//! Save and load a model as safetensors: the tensors C, W1, b1, W2, b2 (W3),
//! optionally Adam's moments and the loss history, and the model config,
//! vocabulary, training config, step count, Adam's update count and the data
//! set's identity in the header's metadata. Files from before the history and
//! the identity existed still load (without them).

use std::collections::HashMap;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::data::{Dataset, Vocab};
use crate::model::ModelConfig;
use crate::model::{Layout, Params};
use crate::optim::OptState;
use crate::{Error, Result};

const FORMAT: &str = "makemore-wasm/1";
const OPT_M: &str = "opt.m";
const OPT_V: &str = "opt.v";
/// Metadata key of [`OptState::t`]; files from before it existed used the step count.
const OPT_T: &str = "opt_t";
/// The minibatch loss of each step before `step`: the last `len` of them.
const HISTORY: &str = "history";
/// Metadata key of the [`DataId`].
const DATA: &str = "data";

/// Which data set a run trained on: the word count and a 64-bit FNV-1a hash of
/// the words in split order (after the seeded shuffle), so another word list,
/// the same words in another order, or another split seed all differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataId {
    pub words: usize,
    /// 16 hex digits.
    pub hash: String,
}

impl DataId {
    pub fn of(data: &Dataset) -> DataId {
        const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
        let hash = data
            .words
            .iter()
            .flat_map(|w| w.bytes().chain([b'\n']))
            .fold(FNV_OFFSET, |h, b| (h ^ b as u64).wrapping_mul(FNV_PRIME));
        DataId { words: data.words.len(), hash: format!("{hash:016x}") }
    }
}

/// Everything a weights file holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub params: Params,
    pub vocab: Vocab,
    pub train: Option<TrainConfig>,
    pub step: u64,
    pub opt: Option<OptState>,
    /// The minibatch losses of the steps `step - history.len()..step` (empty in older files).
    pub history: Vec<f32>,
    /// The data set it trained on (absent in older files).
    pub data: Option<DataId>,
}

impl Checkpoint {
    /// Refuses weights for another vocabulary, data set or model shape than
    /// `data` and `model` (when given), saying what to do instead.
    pub fn check_fits(&self, data: &Dataset, model: Option<&ModelConfig>) -> Result<()> {
        if self.vocab != data.vocab {
            return Err(Error::Weights(format!(
                "the weights were trained on the characters {:?}, but this word list has {:?}; \
                 load the word list they were trained on first",
                self.vocab.as_string(),
                data.vocab.as_string()
            )));
        }
        let here = DataId::of(data);
        if let Some(id) = self.data.as_ref().filter(|id| **id != here) {
            return Err(Error::Weights(format!(
                "the weights were trained on another word list ({} words, fingerprint {}) than this one ({} words, \
                 fingerprint {}); load the word list they were trained on, split with the same split seed, \
                 or start a new run",
                id.words, id.hash, here.words, here.hash
            )));
        }
        if let Some(model) = model.filter(|m| **m != self.params.cfg) {
            let shape = |m: &ModelConfig| {
                format!(
                    "block_size {}, n_embd {}, n_hidden {}, direct {}",
                    m.block_size, m.n_embd, m.n_hidden, m.direct
                )
            };
            return Err(Error::Weights(format!(
                "the weights are for a model with {}, but this one has {}; use the settings stored in the file",
                shape(&self.params.cfg),
                shape(model)
            )));
        }
        Ok(())
    }
}

fn to_bytes(x: &[f32]) -> Vec<u8> {
    x.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn save(ck: &Checkpoint) -> Result<Vec<u8>> {
    let p = &ck.params;
    let mut owned: Vec<(String, Vec<usize>, Vec<u8>)> =
        p.layout.tensors().map(|(t, r)| (t.name().to_string(), t.shape(&p.cfg), to_bytes(&p.data[r]))).collect();
    if let Some(opt) = &ck.opt {
        owned.push((OPT_M.into(), vec![opt.m.len()], to_bytes(&opt.m)));
        owned.push((OPT_V.into(), vec![opt.v.len()], to_bytes(&opt.v)));
    }
    if !ck.history.is_empty() {
        owned.push((HISTORY.into(), vec![ck.history.len()], to_bytes(&ck.history)));
    }
    let mut meta = HashMap::new();
    if let Some(opt) = &ck.opt {
        meta.insert(OPT_T.to_string(), opt.t.to_string());
    }
    let json = |v: &dyn erased::Json| v.json();
    meta.insert("format".to_string(), FORMAT.to_string());
    meta.insert("model".to_string(), json(&p.cfg));
    meta.insert("vocab".to_string(), ck.vocab.as_string());
    meta.insert("step".to_string(), ck.step.to_string());
    if let Some(train) = &ck.train {
        meta.insert("train".to_string(), json(train));
    }
    if let Some(data) = &ck.data {
        meta.insert(DATA.to_string(), json(data));
    }
    let views = owned
        .iter()
        .map(|(name, shape, bytes)| Ok((name.clone(), TensorView::new(Dtype::F32, shape.clone(), bytes)?)))
        .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| Error::Weights(format!("could not serialize: {e}")))?;
    safetensors::serialize(views, Some(meta)).map_err(|e| Error::Weights(format!("could not serialize: {e}")))
}

mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).expect("configs serialize")
        }
    }
}

pub fn load(bytes: &[u8]) -> Result<Checkpoint> {
    let bad = |what: String| Error::Weights(what);
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| {
        bad(format!("not a valid safetensors file ({e}); was it truncated or is it another kind of file?"))
    })?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not a valid safetensors file ({e})")))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let field = |k: &str| {
        meta.get(k).ok_or_else(|| bad(format!("the metadata has no {k:?}; this file was not saved by makemore-wasm")))
    };
    if field("format")? != FORMAT {
        return Err(bad(format!("unknown format {:?}; expected {FORMAT:?}", meta["format"])));
    }
    let cfg: ModelConfig = serde_json::from_str(field("model")?).map_err(|e| bad(format!("bad model config: {e}")))?;
    cfg.validate().map_err(|e| bad(format!("the stored model config is invalid: {e}")))?;
    let vocab = Vocab::from_string(field("vocab")?)?;
    if vocab.len() != cfg.vocab_size {
        return Err(bad(format!(
            "the vocabulary has {} characters but the model expects {}",
            vocab.len(),
            cfg.vocab_size
        )));
    }
    let step = field("step")?.parse().map_err(|_| bad("the step count is not a number".into()))?;
    let train = meta
        .get("train")
        .map(|s| serde_json::from_str::<TrainConfig>(s).map_err(|e| bad(format!("bad training config: {e}"))))
        .transpose()?;
    let data = meta
        .get(DATA)
        .map(|s| serde_json::from_str::<DataId>(s).map_err(|e| bad(format!("bad data set identity: {e}"))))
        .transpose()?;
    let read = |name: &str, shape: &[usize]| -> Result<Vec<f32>> {
        let t = st.tensor(name).map_err(|_| bad(format!("tensor {name} is missing")))?;
        if t.dtype() != Dtype::F32 || t.shape() != shape {
            return Err(bad(format!(
                "tensor {name} is {:?} {:?}, expected F32 {shape:?} for this model",
                t.dtype(),
                t.shape()
            )));
        }
        Ok(t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    };
    // Checked before allocating, so a small file cannot claim a model of hundreds of MB.
    let n = Layout::new(&cfg).total;
    if bytes.len() < 4 * n {
        return Err(bad(format!(
            "the model config asks for {n} parameters ({} bytes) but the file has only {} bytes",
            4 * n,
            bytes.len()
        )));
    }
    let mut params = Params::zeros(&cfg);
    for (t, r) in params.layout.clone().tensors() {
        params.data[r].copy_from_slice(&read(t.name(), &t.shape(&cfg))?);
    }
    let opt = match (st.tensor(OPT_M).is_ok(), st.tensor(OPT_V).is_ok()) {
        (true, true) => {
            let t = match meta.get(OPT_T) {
                Some(t) => t.parse().map_err(|_| bad("the optimizer's update count is not a number".into()))?,
                None => step,
            };
            Some(OptState { m: read(OPT_M, &[n])?, v: read(OPT_V, &[n])?, t })
        }
        (false, false) => None,
        _ => return Err(bad("the optimizer state is incomplete (opt.m without opt.v)".into())),
    };
    let history = match st.tensor(HISTORY) {
        Err(_) => Vec::new(),
        Ok(t) => match t.shape() {
            [len] if (*len as u64) <= step => read(HISTORY, &[*len])?,
            shape => {
                return Err(bad(format!("the loss history is {shape:?}, expected one loss per step up to {step}")))
            }
        },
    };
    let expected =
        params.layout.tensors().count() + if opt.is_some() { 2 } else { 0 } + usize::from(!history.is_empty());
    if st.len() != expected {
        return Err(bad(format!("the file holds {} tensors, expected {expected}", st.len())));
    }
    Ok(Checkpoint { params, vocab, train, step, opt, history, data })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Init;

    fn checkpoint(direct: bool, opt: bool) -> Checkpoint {
        let vocab = Vocab::from_words(&["emma", "olivia"]);
        let cfg = ModelConfig { vocab_size: vocab.len(), block_size: 3, n_embd: 4, n_hidden: 8, direct };
        let params = Params::init(&cfg, Init::Naive, 5).unwrap();
        let n = params.data.len();
        let opt = opt.then(|| OptState { m: vec![0.5; n], v: vec![0.25; n], t: 77 });
        let history = if opt.is_some() { (0..1234).map(|i| 3.0 - i as f32 * 1e-3).collect() } else { Vec::new() };
        let data = opt.is_some().then(|| DataId { words: 6, hash: "0123456789abcdef".into() });
        Checkpoint { params, vocab, train: Some(TrainConfig::default()), step: 1234, opt, history, data }
    }

    #[test]
    fn round_trip() {
        for (direct, opt) in [(false, false), (true, true)] {
            let ck = checkpoint(direct, opt);
            assert_eq!(load(&save(&ck).unwrap()).unwrap(), ck);
        }
    }

    #[test]
    fn corrupt_files_are_errors_not_panics() {
        let bytes = save(&checkpoint(true, true)).unwrap();
        for cut in [0, 4, 8, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(load(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
        assert!(load(b"hello world, this is not a model").is_err());
        let mut flipped = bytes.clone();
        for i in (0..flipped.len()).step_by(7) {
            flipped[i] ^= 0x5A;
            let _ = load(&flipped); // must not panic
        }
    }

    #[test]
    fn mismatched_vocab_is_named() {
        let mut ck = checkpoint(false, false);
        ck.vocab = Vocab::from_words(&["ab"]);
        let e = load(&save(&ck).unwrap()).unwrap_err().to_string();
        assert!(e.contains("vocabulary"), "{e}");
    }
}
