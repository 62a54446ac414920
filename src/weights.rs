//! Save and load a model as safetensors: the tensors C, W1, b1, W2, b2 (W3),
//! optionally Adam's moments, and the model config, vocabulary, training config
//! and step count in the header's metadata.

use std::collections::HashMap;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::backend::OptState;
use crate::config::TrainConfig;
use crate::data::Vocab;
use crate::model::ModelConfig;
use crate::model::{Layout, Params};
use crate::{Error, Result};

const FORMAT: &str = "makemore-wasm/1";
const OPT_M: &str = "opt.m";
const OPT_V: &str = "opt.v";
/// Metadata key of [`OptState::t`]; files from before it existed used the step count.
const OPT_T: &str = "opt_t";

/// Everything a weights file holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub params: Params,
    pub vocab: Vocab,
    pub train: Option<TrainConfig>,
    pub step: u64,
    pub opt: Option<OptState>,
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
    let expected = params.layout.tensors().count() + if opt.is_some() { 2 } else { 0 };
    if st.len() != expected {
        return Err(bad(format!("the file holds {} tensors, expected {expected}", st.len())));
    }
    Ok(Checkpoint { params, vocab, train, step, opt })
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
        Checkpoint { params, vocab, train: Some(TrainConfig::default()), step: 1234, opt }
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
