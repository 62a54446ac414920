#![cfg(not(target_arch = "wasm32"))]
//! A CPU training step allocates nothing after the first step of a run, on every
//! thread count from 1 to at least 8 (more threads than this machine may have
//! cores): a call of 20 steps allocates exactly once (its result vector), on
//! the table path and the embedding path, with SGD, Adam and AdamW. Counted by
//! a global allocator that sees every thread, rayon's included.
//!
//! Each pool size runs inside its own rayon pool, so a step's shards are joined
//! from a pool thread (no job crosses rayon's injector queue, which allocates a
//! block every few dozen jobs), and futures are polled once with a no-op waker
//! (no executor allocates either). What remains is the backend's own work.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use makemore::backend::cpu::CpuBackend;
use makemore::backend::Backend;
use makemore::config::{Init, Optimizer, TrainConfig};
use makemore::data::Dataset;
use makemore::model::ModelConfig;
use makemore::model::Params;

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

/// Runs `backend.train` over `steps` steps, polling it once (the CPU backend
/// never waits): returns the allocations it made.
fn allocations(backend: &mut CpuBackend, first: u64, steps: usize) -> usize {
    let lrs = vec![0.01f32; steps];
    let mut cx = Context::from_waker(Waker::noop());
    let before = ALLOCS.load(Ordering::SeqCst);
    let mut train = pin!(backend.train(first, &lrs));
    let Poll::Ready(losses) = train.as_mut().poll(&mut cx) else { panic!("CpuBackend::train waited") };
    let made = ALLOCS.load(Ordering::SeqCst) - before;
    assert_eq!(losses.unwrap().len(), steps, "a step diverged");
    made
}

/// Pool sizes: 1 to 8, and every core beyond that.
fn thread_counts() -> std::ops::RangeInclusive<usize> {
    1..=std::thread::available_parallelism().map_or(8, |n| n.get().max(8))
}

#[test]
fn training_steps_do_not_allocate_after_the_first() {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    // Every pool lives to the end: a dropped pool's threads wind down in the background.
    let mut pools = Vec::new();
    for threads in thread_counts() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        // A thread allocates as it starts (its handle, its thread-locals), and a new
        // pool starts its threads in the background: run a job on each of them
        // first, so that every one has started before anything is counted.
        pool.broadcast(|_| ());
        pool.install(|| {
            // Batch 4096 takes the embedding-table path with big matmuls, split over
            // every thread; batch 32 the embedding path (W1's matmul blocked) on one
            // thread; batch 512 the table path with direct connections, split.
            for (batch, emb, hidden, direct, optimizer, sharded) in [
                (4096, 50, 100, false, Optimizer::Sgd, true),
                (32, 10, 200, true, Optimizer::Adam, false),
                (512, 16, 300, true, Optimizer::Adamw, true),
            ] {
                let m =
                    ModelConfig { vocab_size: data.vocab.len(), block_size: 3, n_embd: emb, n_hidden: hidden, direct };
                let cfg = TrainConfig { batch_size: batch, optimizer, ..TrainConfig::default() };
                let mut backend = CpuBackend::new(&data, Params::init(&m, Init::Kaiming, 1).unwrap(), &cfg).unwrap();
                // The first step grows every workspace to its size.
                allocations(&mut backend, 0, 1);
                let want_shards = if sharded { threads } else { 1 };
                assert_eq!(backend.shards_used(), want_shards, "batch {batch} on {threads} threads");
                let made = allocations(&mut backend, 1, 20);
                assert_eq!(made, 1, "batch {batch} on {threads} threads: 20 steps after the first allocated {made} times, where only their result vector should");
            }
        });
        pools.push(pool);
    }
}
