#![cfg(all(not(target_arch = "wasm32"), feature = "gpu"))]
//! When the GPU gives out: a lost device fails every later call with a GPU error
//! (never a panic), a vocabulary too wide for the device's buffers is refused with
//! a message that names it, and a dropped backend gives back all its buffers.

mod gpu_support;

use std::sync::Mutex;

use gpu_support::gpu;
use makemore::backend::gpu::{live_buffers, GpuBackend};
use makemore::backend::Backend;
use makemore::config::{Init, TrainConfig};
use makemore::data::{Dataset, SplitName};
use makemore::model::ModelConfig;
use makemore::model::Params;
use makemore::Error;
use pollster::block_on;

const NAMES: &[u8] = include_bytes!("../data/names.txt");

/// The buffer count is per process: the tests that open backends take turns.
static GPU: Mutex<()> = Mutex::new(());

fn small(data: &Dataset) -> (Params, TrainConfig) {
    let m = ModelConfig { vocab_size: data.vocab.len(), block_size: 3, n_embd: 4, n_hidden: 16, direct: false };
    (Params::init(&m, Init::Kaiming, 1).unwrap(), TrainConfig { batch_size: 32, ..TrainConfig::default() })
}

fn gpu_error<T>(r: Result<T, Error>, doing: &str) -> String {
    match r {
        Err(Error::Gpu(message)) => message,
        Err(other) => panic!("{doing}: expected a GPU error, got {other}"),
        Ok(_) => panic!("{doing} worked on a lost device"),
    }
}

#[test]
fn a_lost_device_fails_every_call_with_a_gpu_error() {
    let _turn = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let (params, cfg) = small(&data);
    let mut g = gpu(&data, params, &cfg);
    assert_eq!(block_on(g.train(0, &[0.1; 10])).unwrap().len(), 10);
    g.lose_device();
    let message = gpu_error(block_on(g.train(10, &[0.1; 10])), "training");
    assert!(message.contains("lost") && message.contains("cpu backend"), "{message}");
    gpu_error(block_on(g.evaluate(SplitName::Dev)), "evaluating");
    gpu_error(block_on(g.params()), "reading the parameters");
}

#[test]
fn a_dropped_backend_gives_back_every_buffer() {
    let _turn = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let (params, cfg) = small(&data);
    let before = live_buffers();
    for _ in 0..3 {
        let mut g = gpu(&data, params.clone(), &cfg);
        assert!(live_buffers() > before);
        block_on(g.train(0, &[0.1; 5])).unwrap();
    }
    assert_eq!(live_buffers(), before);
}

/// A device with WebGPU's default limits (128 MiB per storage buffer), as many
/// browsers give a page.
fn default_limits_device() -> (wgpu::Device, wgpu::Queue) {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let adapter = block_on(instance.request_adapter(&Default::default())).expect("the GPU tests need an adapter");
    let desc = wgpu::DeviceDescriptor { required_limits: wgpu::Limits::defaults(), ..Default::default() };
    block_on(adapter.request_device(&desc)).expect("a device with WebGPU's default limits")
}

/// `n` distinct CJK characters in words of 40, with `block` characters of context.
fn wide_vocabulary(n: usize, block: usize) -> Dataset {
    let chars: Vec<char> = (0x4E00..).filter_map(char::from_u32).take(n).collect();
    let text: String = chars.chunks(40).map(|w| w.iter().collect::<String>() + "\n").collect();
    let data = Dataset::new(text.as_bytes(), block, 42).unwrap();
    assert_eq!(data.vocab.len(), n + 1);
    data
}

#[test]
fn a_vocabulary_too_wide_for_the_gpu_is_refused_by_name() {
    let _turn = GPU.lock().unwrap_or_else(|e| e.into_inner());
    let before = live_buffers();
    // 40,000 characters × (E + H + 1) floats is 160 MiB of parameters: a valid
    // model whose parameter buffer exceeds 128 MiB.
    let data = wide_vocabulary(40_000, 3);
    let m = ModelConfig { vocab_size: data.vocab.len(), block_size: 3, n_embd: 16, n_hidden: 1024, direct: false };
    let params = Params::init(&m, Init::Kaiming, 1).expect("the model is valid");
    let (device, queue) = default_limits_device();
    let built = block_on(GpuBackend::new_with_device(device, queue, &data, params, &TrainConfig::default(), None));
    let message = gpu_error(built, "building");
    assert!(message.contains("vocabulary of 40000 characters") && message.contains("cpu backend"), "{message}");

    // 3,000 characters fit, and so does a batch of 8192 rows of logits, but that
    // batch's embedding gradient is summed from 64 partial copies of C (V, E): 188 MiB.
    let data = wide_vocabulary(3_000, 8);
    let m = ModelConfig { vocab_size: data.vocab.len(), block_size: 8, n_embd: 256, n_hidden: 32, direct: false };
    let params = Params::init(&m, Init::Kaiming, 1).unwrap();
    let cfg = TrainConfig { batch_size: 8192, ..TrainConfig::default() };
    let (device, queue) = default_limits_device();
    let message =
        gpu_error(block_on(GpuBackend::new_with_device(device, queue, &data, params, &cfg, None)), "building");
    assert!(message.contains("smaller batch_size") && message.contains("3000 now"), "{message}");
    assert_eq!(live_buffers(), before, "a backend that failed to build holds no buffers");
}
