#![cfg(target_arch = "wasm32")]
//! The wasm API in a real browser, on the CPU and on WebGPU (SwiftShader in CI):
//! training, evaluation, sampling, the weights round trip and bad settings, and
//! the simd128 matmul.
//! Run with `wasm-pack test --headless --chrome --release -- --test web`
//! (scripts/test-web.sh). The WebGPU tests fail, not skip, without an adapter.

use js_sys::{Object, Reflect, JSON};
use makemore::backend::cpu::CpuBackend;
use makemore::backend::gpu::GpuBackend;
use makemore::backend::{Backend, KernelSet};
use makemore::config::{Init, Optimizer, TrainConfig};
use makemore::data::Dataset;
use makemore::model::ModelConfig;
use makemore::model::Params;
use makemore::web::{weights_config, Trainer};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod init_floors;

const NAMES: &str = include_str!("../data/names.txt");

fn message(e: JsError) -> String {
    js_sys::Error::from(JsValue::from(e)).message().into()
}

fn ok<T>(r: Result<T, JsError>) -> T {
    r.unwrap_or_else(|e| panic!("{}", message(e)))
}

fn get(obj: &JsValue, key: &str) -> f64 {
    Reflect::get(obj, &key.into()).unwrap().as_f64().unwrap_or_else(|| panic!("{key} is not a number"))
}

/// The first 5000 names: evaluating every split stays quick on a software GPU.
fn first_names() -> JsValue {
    first_names_text().into()
}

fn first_names_text() -> &'static str {
    let end = NAMES.match_indices('\n').nth(4999).map_or(NAMES.len(), |(i, _)| i);
    &NAMES[..end]
}

/// A small, quick model: the E01 recipe with fewer units and steps.
fn small(backend: &str) -> JsValue {
    let json = format!(
        r#"{{"backend": "{backend}", "n_embd": 8, "n_hidden": 32, "batch_size": 64, "steps": 600, "lr": 0.02}}"#
    );
    JSON::parse(&json).unwrap()
}

async fn train_evaluate_sample_round_trip(backend: &str) {
    let mut t = ok(Trainer::create(first_names(), small(backend)).await);
    assert_eq!(t.backend(), backend, "{}", t.backend_reason());
    let uniform = get(&ok(t.dataset()), "uniformLoss");
    let first = ok(t.train(1).await) as f64;
    assert!((first - uniform).abs() < 0.3, "first loss {first}, uniform {uniform}");
    while !t.done() {
        ok(t.train(100).await);
    }
    assert_eq!(t.step(), 600.0);
    assert_eq!(t.losses_since(0.0).length(), 600);
    let losses = ok(t.evaluate().await);
    let dev = get(&losses, "dev");
    assert!(dev < 2.6, "dev loss {dev} after 600 steps");
    assert!(get(&losses, "train") < 2.6 && get(&losses, "test") < 2.7, "{losses:?}");

    let names = ok(t.sample(10, 1.0).await);
    assert_eq!(names.len(), 10);
    assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase())), "{names:?}");

    let bytes = ok(t.export_weights().await);
    let config = ok(weights_config(&bytes));
    assert_eq!(get(&config, "n_hidden"), 32.0);
    Reflect::set(&config, &"backend".into(), &backend.into()).unwrap();
    let mut copy = ok(Trainer::create(first_names(), config).await);
    ok(copy.import_weights(&bytes));
    assert_eq!(copy.step(), 600.0);
    let copy_dev = ok(copy.evaluate_split("dev".into()).await) as f64;
    assert!((copy_dev - dev).abs() < 1e-4, "{copy_dev} after the round trip, {dev} before");

    let bad = [&bytes[..bytes.len() / 2], b"not a safetensors file at all"];
    for b in bad {
        let e = message(copy.import_weights(b).unwrap_err());
        assert!(e.starts_with("weights file:"), "{e}");
    }
    let mut other = ok(Trainer::create("ab\nba\ncd\ndc\nef\nfe\ngh\nhg\nij\nji\n".into(), small(backend)).await);
    let foreign = ok(other.export_weights().await);
    let e = message(copy.import_weights(&foreign).unwrap_err());
    assert!(e.contains("characters"), "{e}");
    let still = ok(copy.evaluate_split("dev".into()).await) as f64;
    assert_eq!(still, copy_dev, "a rejected file changed the model");
}

#[wasm_bindgen_test]
async fn cpu_trains_evaluates_samples_and_round_trips() {
    train_evaluate_sample_round_trip("cpu").await;
}

#[wasm_bindgen_test]
async fn webgpu_trains_evaluates_samples_and_round_trips() {
    train_evaluate_sample_round_trip("webgpu").await;
}

/// How far a loss may drift from the CPU path's: the relaxed-SIMD build's fused
/// multiply-adds round differently, so it gets its own bound.
const CPU_LOSS_TOLERANCE: f32 = if cfg!(target_feature = "relaxed-simd") { 2e-3 } else { 1e-3 };

/// 200 steps of kernel set `set` against the CPU backend, every loss within CPU_LOSS_TOLERANCE,
/// with SGD and no direct connections, then Adam with them (the native twin is
/// tests/gpu_parity.rs).
async fn kernel_set_matches_cpu(set: KernelSet) {
    let data = Dataset::new(first_names_text().as_bytes(), 3, 42).unwrap();
    for (direct, optimizer, lr) in [(false, Optimizer::Sgd, 0.1), (true, Optimizer::Adam, 0.01)] {
        let m = ModelConfig { vocab_size: data.vocab.len(), block_size: 3, n_embd: 10, n_hidden: 64, direct };
        let params = Params::init(&m, Init::SmallOutput, 42).unwrap();
        let cfg = TrainConfig { batch_size: 32, optimizer, ..TrainConfig::default() };
        let lrs = vec![lr; 200];
        let want = CpuBackend::new(&data, params.clone(), &cfg).unwrap().train(0, &lrs).await.unwrap();
        let mut gpu = GpuBackend::open(&data, params, &cfg, Some(set))
            .await
            .unwrap_or_else(|e| panic!("the WebGPU tests need an adapter: {e}"));
        assert_eq!(gpu.kernel_set(), set);
        let got = gpu.train(0, &lrs).await.unwrap();
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= CPU_LOSS_TOLERANCE,
                "{set:?} {optimizer:?} direct {direct} step {i}: gpu {g} vs cpu {w}"
            );
        }
    }
}

/// The browser's adapter summary: vendor and architecture come from the page's
/// GPUAdapterInfo (wgpu leaves them out), and the kernel set follows the adapter.
#[wasm_bindgen_test]
async fn webgpu_adapter_is_described_and_picks_its_kernels() {
    let data = Dataset::new(first_names_text().as_bytes(), 3, 42).unwrap();
    let m = ModelConfig { vocab_size: data.vocab.len(), block_size: 3, n_embd: 4, n_hidden: 8, direct: false };
    let params = Params::init(&m, Init::SmallOutput, 42).unwrap();
    let gpu = GpuBackend::open(&data, params, &TrainConfig::default(), None)
        .await
        .unwrap_or_else(|e| panic!("the WebGPU tests need an adapter: {e}"));
    let a = gpu.adapter();
    assert!(!a.vendor.is_empty() && a.vendor != "0x0000", "{a:?}");
    assert_eq!(gpu.kernel_set(), a.kernel_set(), "{a:?}");
}

#[wasm_bindgen_test]
async fn webgpu_software_kernels_match_cpu() {
    kernel_set_matches_cpu(KernelSet::Software).await;
}

#[wasm_bindgen_test]
async fn webgpu_hardware_kernels_match_cpu() {
    kernel_set_matches_cpu(KernelSet::Hardware).await;
}

async fn create_error(config: JsValue) -> String {
    let shown = JSON::stringify(&config).map(String::from).unwrap_or_default();
    match Trainer::create(NAMES.into(), config).await {
        Ok(_) => panic!("{shown} was accepted"),
        Err(e) => message(e),
    }
}

#[wasm_bindgen_test]
async fn bad_settings_are_rejected_by_name() {
    for (json, field) in [
        (r#"{"learning_rate": 0.1}"#, "`learning_rate`"),
        (r#"{"n_hidden": -5}"#, "`n_hidden`"),
        (r#"{"n_hidden": "wide"}"#, "`n_hidden`"),
        (r#"{"block_size": 0}"#, "`block_size`"),
        (r#"{"batch_size": 0}"#, "`batch_size`"),
        (r#"{"backend": "tpu"}"#, "`backend`"),
        (r#"{"preset": "e9"}"#, "`preset`"),
        (r#"{"lr_decay": "sometimes"}"#, "`lr_decay`"),
        (r#"{"l2_w1": -1}"#, "`l2_w1`"),
    ] {
        let e = create_error(JSON::parse(json).unwrap()).await;
        assert!(e.starts_with(&format!("config {field}")), "{json}: {e}");
    }
    assert!(create_error(3.into()).await.starts_with("config `config`"));
    let nan = Object::new();
    Reflect::set(&nan, &"lr".into(), &f64::NAN.into()).unwrap();
    assert!(create_error(nan.into()).await.starts_with("config `lr`"));
    let bad_text =
        Trainer::create(JsValue::from(js_sys::Uint8Array::from(&[0xFFu8, 0xFE, 0, 1][..])), JsValue::UNDEFINED);
    let e = message(bad_text.await.err().expect("binary data was accepted"));
    assert!(e.starts_with("word list:"), "{e}");
}

/// `{key: value}`, for values JSON cannot write (NaN, ±Infinity).
fn with(key: &str, value: JsValue) -> JsValue {
    let obj = Object::new();
    Reflect::set(&obj, &key.into(), &value).unwrap();
    obj.into()
}

#[wasm_bindgen_test]
async fn garbage_configs_are_js_errors_naming_the_field() {
    let json = |s: &str| JSON::parse(s).unwrap();
    let cases = [
        ("n_hidden=5".into(), "config"),
        (true.into(), "config"),
        (json("[1, 2]"), "config"),
        (json("[]"), "config"),
        (json(r#"{"n_hidden": {"value": 5}}"#), "n_hidden"),
        (json(r#"{"lr": [0.1]}"#), "lr"),
        (with("lr", f64::INFINITY.into()), "lr"),
        (with("lr", f64::NEG_INFINITY.into()), "lr"),
        (with("steps", f64::INFINITY.into()), "steps"),
        (with("seed", f64::NAN.into()), "seed"),
        (json(r#"{"n_embd": -1}"#), "n_embd"),
        (json(r#"{"batch_size": -32}"#), "batch_size"),
        (json(r#"{"block_size": 2.5}"#), "block_size"),
        (json(r#"{"n_hidden": 1e300}"#), "n_hidden"),
        (json(r#"{"direct": "yes"}"#), "direct"),
        (json(r#"{"lr_decay": 5}"#), "lr_decay"),
        (json(r#"{"__proto__": 1}"#), "__proto__"),
        (json(r#"{"batch_size": 1e9}"#), "batch_size"),
        // Within the batch limit, but its activations would not fit in a wasm instance.
        (json(r#"{"batch_size": 1048576, "n_hidden": 1024, "backend": "cpu"}"#), "batch_size"),
    ];
    for (config, field) in cases {
        let shown = JSON::stringify(&config).map(String::from).unwrap_or_default();
        let e = create_error(config).await;
        assert!(e.starts_with(&format!("config `{field}`")), "{shown}: {e}");
    }
}

#[wasm_bindgen_test]
async fn inspector_and_sampling_options_match_the_library() {
    let mut t = ok(Trainer::create(first_names(), small("cpu")).await);
    ok(t.train(300).await);
    // What `makemore inspect` computes from the same weights file.
    let ck = makemore::weights::load(&ok(t.export_weights().await)).unwrap();
    let data = makemore::data::Dataset::new(first_names().as_string().unwrap().as_bytes(), 3, 42).unwrap();
    let want = makemore::inspect::inspect(&ck.params, &ck.vocab, data.train_words(), "emma").unwrap();
    let r = ok(t.inspect("emma".into()).await);
    assert!((get(&r, "nll") - want.nll).abs() < 1e-9, "{} vs {}", get(&r, "nll"), want.nll);
    assert_eq!(Reflect::get(&r, &"inTrain".into()).unwrap().as_bool(), Some(want.in_train));
    let positions: js_sys::Array = Reflect::get(&r, &"positions".into()).unwrap().into();
    assert_eq!(positions.length(), 5);
    let dev = ok(t.evaluate_split("dev".into()).await) as f64;
    assert_eq!(get(&r, "devLoss"), dev);
    assert!(message(t.inspect("em!ma".into()).await.unwrap_err()).starts_with("config `word`"));

    let options = JSON::parse(r#"{"count": 12, "prefix": "ja", "hideExisting": true, "temperature": 0.8}"#).unwrap();
    let drawn = ok(t.sample_with(options).await);
    let names: Vec<String> = js_sys::Array::from(&Reflect::get(&drawn, &"names".into()).unwrap())
        .iter()
        .filter_map(|n| n.as_string())
        .collect();
    assert!(!names.is_empty() && names.len() <= 12, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("ja") && !data.train_words().contains(n)), "{names:?}");
    let bad = JSON::parse(r#"{"prefix": "J"}"#).unwrap();
    assert!(message(t.sample_with(bad).await.unwrap_err()).starts_with("config `prefix`"));
    let wrong = JSON::parse(r#"{"count": "many"}"#).unwrap();
    assert!(message(t.sample_with(wrong).await.unwrap_err()).contains("sample options"));
}

/// How far the wasm CPU path's products may drift from the f64 definition: two
/// roundings per multiply-add in the SIMD build, one or two in the relaxed-SIMD
/// build (its own bound, though fused multiply-adds only round less).
const CPU_PRODUCT_TOLERANCE: f64 = if cfg!(target_feature = "relaxed-simd") { 2e-3 } else { 1e-3 };

/// The wasm matmul (the simd128 small-product kernel, in passes of K, with bᵀ
/// laid out first) against the definition, on shapes that cut every tile and
/// pass edge, in each operand layout.
#[wasm_bindgen_test]
fn cpu_matmul_in_wasm_matches_the_definition() {
    use makemore::backend::cpu::gemm::Packs;
    use makemore::backend::cpu::layers::matmul;
    let values = |len: usize, seed: u32| -> Vec<f32> {
        (0..len as u32).map(|i| ((i.wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0).collect()
    };
    for (m, k, n) in [(7, 3, 9), (130, 257, 27), (27, 600, 17), (32, 200, 30), (5, 4, 2)] {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let (a, b, c0) = (values(m * k, 1), values(k * n, 2), values(m * n, 3));
            let mut c = c0.clone();
            matmul(&mut Packs::default(), &mut c, 0.5, &a, ta, &b, tb, (m, k, n));
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = 0.5 * c0[i * n + j] as f64
                        + (0..k)
                            .map(|p| {
                                let x = if ta { a[p * m + i] } else { a[i * k + p] };
                                let y = if tb { b[j * k + p] } else { b[p * n + j] };
                                x as f64 * y as f64
                            })
                            .sum::<f64>();
                    let got = c[i * n + j] as f64;
                    assert!(
                        (got - want).abs() < CPU_PRODUCT_TOLERANCE,
                        "{m}x{k}x{n} ta={ta} tb={tb} [{i},{j}]: {got} vs {want}"
                    );
                }
            }
        }
    }
}

/// Sizes from user input are checked in u64 on wasm32: T·V·V for 64 positions and
/// 65,535 distinct characters with direct connections is about 2^38 floats, which a
/// 32-bit usize product wraps to a small number (and the tables then panicked).
#[wasm_bindgen_test]
async fn a_vocabulary_too_wide_for_the_cpu_tables_is_refused_by_name() {
    let text: String = (0x100u32..0x100 + 65_534).filter_map(char::from_u32).map(|c| format!("{c}\n")).collect();
    let config = JSON::parse(
        r#"{"backend": "cpu", "block_size": 64, "n_embd": 1, "n_hidden": 1, "direct": true, "batch_size": 32}"#,
    )
    .unwrap();
    let err = match Trainer::create(text.into(), config).await {
        Ok(_) => panic!("a 65,535-character vocabulary with direct connections was accepted"),
        Err(e) => message(e),
    };
    assert!(err.contains("vocab_size") || err.contains("characters"), "{err}");
}

/// The worker's measured `auto`: `createOn` trains where it is told while the
/// settings keep `auto`, and the forced kernel set reaches the GPU backend.
#[wasm_bindgen_test]
async fn create_on_trains_where_told_and_keeps_the_settings_choice() {
    let auto = small("auto");
    Reflect::set(&auto, &"gpu_kernels".into(), &"hardware".into()).unwrap();
    for device in ["cpu", "webgpu"] {
        let t = ok(Trainer::create_on(first_names(), auto.clone(), device.into()).await);
        assert_eq!(t.backend(), device, "{}", t.backend_reason());
        let config = ok(t.config());
        assert_eq!(Reflect::get(&config, &"backend".into()).unwrap().as_string().as_deref(), Some("auto"));
        assert_eq!(Reflect::get(&config, &"gpu_kernels".into()).unwrap().as_string().as_deref(), Some("hardware"));
        assert_eq!(t.kernel_set(), if device == "webgpu" { "hardware" } else { "" });
    }
    let e = match Trainer::create_on(first_names(), auto, "tpu".into()).await {
        Ok(_) => panic!("a tpu was accepted"),
        Err(e) => message(e),
    };
    assert!(e.starts_with("config `backend`:"), "{e}");
}

/// The notebook's model (T=3, E=50, H=100) with `init` on `backend`.
fn e02_config(backend: &str, init: &str) -> JsValue {
    JSON::parse(&format!(
        r#"{{"backend": "{backend}", "n_embd": 50, "n_hidden": 100, "init": "{init}", "steps": 100}}"#
    ))
    .unwrap()
}

#[wasm_bindgen_test]
async fn every_init_scheme_starts_where_the_notebook_says_on_the_cpu() {
    for init in makemore::config::Init::ALL {
        let mut t = ok(Trainer::create(NAMES.into(), e02_config("cpu", init.name())).await);
        let uniform = get(&ok(t.dataset()), "uniformLoss");
        let loss = ok(t.evaluate_split("train".into()).await) as f64;
        let want = init_floors::initial_loss_range(init, uniform);
        assert!(want.contains(&loss), "{}: {loss}, expected {want:?}", init.name());
        let d = ok(t.diagnostics().await);
        assert_eq!(get(&d, "rows"), 256.0);
        assert_eq!(get(&d, "hidden"), 100.0);
    }
}

#[wasm_bindgen_test]
async fn the_zero_output_init_starts_at_ln_v_on_webgpu() {
    let mut t = ok(Trainer::create(first_names(), e02_config("webgpu", "uniform-zero-output")).await);
    assert_eq!(t.backend(), "webgpu", "{}", t.backend_reason());
    let uniform = get(&ok(t.dataset()), "uniformLoss");
    let loss = ok(t.evaluate_split("dev".into()).await) as f64;
    assert!((loss - uniform).abs() < 1e-3, "{loss} vs ln V {uniform}");
    // Every tanh unit starts saturated, read back from the GPU.
    assert!(get(&ok(t.diagnostics().await), "saturated") > 0.99);
}

#[wasm_bindgen_test]
async fn the_lr_finder_leaves_the_weights_and_suggests_a_rate_in_its_range() {
    let mut t = ok(Trainer::create(first_names(), small("cpu")).await);
    let before = ok(t.evaluate_split("dev".into()).await);
    let options = JSON::parse(r#"{"steps": 200, "lowest": 0.001, "highest": 1}"#).unwrap();
    let found = ok(t.lr_find(options).await);
    let lr = get(&found, "suggestedLr");
    assert!((0.001 / 3.0..=1.0).contains(&lr), "suggested {lr}");
    assert_eq!(ok(t.evaluate_split("dev".into()).await), before, "the finder changed the model");
    assert_eq!(t.step(), 0.0);
    let bad = JSON::parse(r#"{"steps": 2}"#).unwrap();
    assert!(message(t.lr_find(bad).await.unwrap_err()).contains("too few"));
}
