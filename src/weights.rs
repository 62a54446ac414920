//! Save and load a model as safetensors: the tensors C, W1, b1, W2, b2 (W3),
//! optionally Adam's moments and the loss history, and the model config,
//! vocabulary, training config, step count, Adam's update count and the data
//! set's identity in the header's metadata. Files from before the history and
//! the identity existed still load (without them).

mod format;

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

pub fn save(ck: &Checkpoint) -> Result<Vec<u8>> {
    let p = &ck.params;
    let mut tensors: Vec<(&str, Vec<usize>, &[f32])> =
        p.layout.tensors().map(|(t, r)| (t.name(), t.shape(&p.cfg), &p.data[r])).collect();
    if let Some(opt) = &ck.opt {
        tensors.push((OPT_M, vec![opt.m.len()], &opt.m));
        tensors.push((OPT_V, vec![opt.v.len()], &opt.v));
    }
    if !ck.history.is_empty() {
        tensors.push((HISTORY, vec![ck.history.len()], &ck.history));
    }
    let json = |v: &dyn erased::Json| v.json();
    let mut meta = vec![
        ("format", FORMAT.to_string()),
        ("model", json(&p.cfg)),
        ("vocab", ck.vocab.as_string()),
        ("step", ck.step.to_string()),
    ];
    if let Some(opt) = &ck.opt {
        meta.push((OPT_T, opt.t.to_string()));
    }
    if let Some(train) = &ck.train {
        meta.push(("train", json(train)));
    }
    if let Some(data) = &ck.data {
        meta.push((DATA, json(data)));
    }
    Ok(format::write(&tensors, &meta))
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
    let st = format::File::read(bytes).map_err(|e| {
        bad(format!("not a valid safetensors file ({e}); was it truncated or is it another kind of file?"))
    })?;
    let field = |k: &str| {
        st.meta(k).ok_or_else(|| bad(format!("the metadata has no {k:?}; this file was not saved by makemore-wasm")))
    };
    let format = field("format")?;
    if format != FORMAT {
        return Err(bad(format!("unknown format {format:?}; expected {FORMAT:?}")));
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
    let train = st
        .meta("train")
        .map(|s| serde_json::from_str::<TrainConfig>(s).map_err(|e| bad(format!("bad training config: {e}"))))
        .transpose()?;
    let data = st
        .meta(DATA)
        .map(|s| serde_json::from_str::<DataId>(s).map_err(|e| bad(format!("bad data set identity: {e}"))))
        .transpose()?;
    let read = |name: &str, shape: &[usize]| -> Result<Vec<f32>> {
        let t = st.tensor(name).ok_or_else(|| bad(format!("tensor {name} is missing")))?;
        if t.dtype != "F32" || t.shape != shape {
            return Err(bad(format!(
                "tensor {name} is {} {:?}, expected F32 {shape:?} for this model",
                t.dtype, t.shape
            )));
        }
        Ok(t.bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
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
    let opt = match (st.tensor(OPT_M).is_some(), st.tensor(OPT_V).is_some()) {
        (true, true) => {
            let t = match st.meta(OPT_T) {
                Some(t) => t.parse().map_err(|_| bad("the optimizer's update count is not a number".into()))?,
                None => step,
            };
            Some(OptState { m: read(OPT_M, &[n])?, v: read(OPT_V, &[n])?, t })
        }
        (false, false) => None,
        _ => return Err(bad("the optimizer state is incomplete (opt.m without opt.v)".into())),
    };
    let history = match st.tensor(HISTORY) {
        None => Vec::new(),
        Some(t) => match t.shape {
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

    /// Files the `safetensors` crate wrote (the fuzz seeds, saved before this
    /// crate wrote the format itself) still load, and save back to a file that loads the same.
    #[test]
    fn files_written_by_the_safetensors_crate_load() {
        for bytes in [
            &include_bytes!("../fuzz/seeds/weights/adam-direct.safetensors")[..],
            &include_bytes!("../fuzz/seeds/weights/sgd.safetensors")[..],
        ] {
            let ck = load(bytes).unwrap();
            assert!(ck.params.data.iter().any(|&x| x != 0.0));
            assert_eq!(load(&save(&ck).unwrap()).unwrap(), ck);
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
