#![cfg(not(target_arch = "wasm32"))]
//! The CLI's flags are the settings' keys (as the page and its URL name them),
//! and a boolean can be turned off.

use std::process::{Command, Output};

use makemore::model::{Layout, Tensor};
use makemore::web::config::presets;

fn makemore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_makemore")).args(args).output().expect("runs makemore")
}

/// Trains `steps` steps with `flags`, saves the model and loads it back.
fn trained(name: &str, flags: &[&str]) -> makemore::weights::Checkpoint {
    let dir = std::env::temp_dir().join(format!("makemore-flags-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.safetensors");
    let mut args = vec!["train", "--steps", "3", "--eval_every", "0", "--samples", "0", "--json"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["--save", path.to_str().unwrap()]);
    let o = makemore(&args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    let ck = makemore::weights::load(&std::fs::read(&path).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    ck
}

#[test]
fn direct_false_turns_off_the_presets_direct_connections() {
    let with = trained("with", &["--preset", "e03"]);
    let without = trained("without", &["--preset", "e03", "--direct=false"]);
    assert!(with.params.cfg.direct);
    assert!(!without.params.cfg.direct);
    let (lw, lo) = (Layout::new(&with.params.cfg), Layout::new(&without.params.cfg));
    let w3 = lw.get(Tensor::W3).expect("e03 has W3").len();
    assert!(lo.get(Tensor::W3).is_none(), "--direct=false still has W3");
    assert_eq!(without.params.data.len(), with.params.data.len() - w3, "only W3 goes");
    // The rest of e03 stays: T=4, E=16, H=300.
    let m = &without.params.cfg;
    assert_eq!((m.block_size, m.n_embd, m.n_hidden), (4, 16, 300));
    // A bare --direct turns them on.
    assert!(trained("bare", &["--preset", "e01", "--direct"]).params.cfg.direct);
}

#[test]
fn the_config_keys_and_the_old_short_forms_set_the_same_model() {
    let keys = trained("keys", &["--block_size", "2", "--n_embd", "5", "--n_hidden", "7", "--batch_size", "8"]);
    let short = trained("short", &["--block", "2", "--emb", "5", "--hidden", "7", "--batch", "8"]);
    assert_eq!(keys.params.cfg, short.params.cfg);
    assert_eq!((keys.params.cfg.block_size, keys.params.cfg.n_embd, keys.params.cfg.n_hidden), (2, 5, 7));
    assert_eq!(keys.train.unwrap().batch_size, 8);
}

#[test]
fn every_training_key_of_the_page_is_a_train_flag() {
    let help = String::from_utf8(makemore(&["train", "--help"]).stdout).unwrap();
    let page = serde_json::to_value(&presets().unwrap()[0]).unwrap();
    // `backend` means a device in both, with the CLI's own names (gpu for webgpu);
    // `gpu_kernels` is an alias of --kernels.
    for key in page.as_object().unwrap().keys() {
        assert!(help.contains(&format!("--{key} ")) || help.contains(&format!("--{key}]")), "no --{key} in:\n{help}");
    }
}
