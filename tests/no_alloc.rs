#![cfg(not(target_arch = "wasm32"))]
//! A CPU training step allocates nothing: a call of many steps allocates exactly
//! as often as a call of one (its result vector), on both the table path and
//! the embedding path, with SGD and Adam. Counted by a global allocator that
//! sees every thread, rayon's included.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use makemore::backend::cpu::CpuBackend;
use makemore::backend::Backend;
use makemore::config::{Init, ModelConfig, Optimizer, TrainConfig};
use makemore::data::Dataset;
use makemore::model::Params;
use pollster::block_on;

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const NAMES: &[u8] = include_bytes!("../data/names.txt");

/// Allocations made by `backend.train` over `steps` steps.
fn allocations(backend: &mut CpuBackend, first: u64, steps: usize) -> usize {
    let lrs = vec![0.01f32; steps];
    let before = ALLOCS.load(Ordering::SeqCst);
    block_on(backend.train(first, &lrs)).unwrap();
    ALLOCS.load(Ordering::SeqCst) - before
}

#[test]
fn training_steps_do_not_allocate() {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    // Batch 4096 takes the embedding-table path with big matmuls; batch 32 the embedding path.
    for (batch, emb, hidden, direct, optimizer) in [
        (4096, 50, 100, false, Optimizer::Sgd),
        (32, 10, 200, true, Optimizer::Adam),
        (512, 16, 300, true, Optimizer::Adamw),
    ] {
        let m = ModelConfig { vocab_size: data.vocab.len(), block_size: 3, n_embd: emb, n_hidden: hidden, direct };
        let cfg = TrainConfig { batch_size: batch, optimizer, ..TrainConfig::default() };
        let mut backend = CpuBackend::new(&data, Params::init(&m, Init::Kaiming, 1).unwrap(), &cfg).unwrap();
        // Warm-up: workspaces grow to size, and so do the matmul's per-thread
        // packing buffers on each rayon thread that picks up a shard (which thread
        // does varies, so one step per thread is not enough).
        allocations(&mut backend, 0, 30);
        let one = allocations(&mut backend, 30, 1);
        let many = allocations(&mut backend, 31, 20);
        assert_eq!(many, one, "batch {batch}: 20 steps allocated {many} times, 1 step {one} times");
    }
}
