#![cfg(not(target_arch = "wasm32"))]
//! Exact resume: a run saved half-way through the weights file's bytes and
//! resumed on a fresh backend ends bit-identical (parameters, optimizer state
//! and loss history, compared with `to_bits`) to the run never interrupted, on
//! the CPU and on the GPU (both kernel sets), with SGD and Adam, with and
//! without direct connections. And what a resume must refuse.

mod gpu_support;

use std::process::Command;

use makemore::backend::cpu::CpuBackend;
use makemore::backend::gpu::GpuBackend;
use makemore::backend::Backend;
use makemore::config::{Optimizer, Schedule, TrainConfig};
use makemore::data::Dataset;
use makemore::model::ModelConfig;
use makemore::model::Params;
use makemore::session::Session;
use makemore::weights::{self, Checkpoint};
use pollster::block_on;

const NAMES: &[u8] = include_bytes!("../data/names.txt");
/// Steps of the whole run; it is saved after half of them.
const STEPS: u64 = 160;

fn setup(optimizer: Optimizer, direct: bool) -> (Dataset, Params, TrainConfig) {
    let data = Dataset::new(NAMES, 3, 42).unwrap();
    let m = ModelConfig { vocab_size: data.vocab.len(), block_size: 3, n_embd: 6, n_hidden: 32, direct };
    let lr = if optimizer == Optimizer::Sgd { 0.1 } else { 0.01 };
    // A rate change after the save point, so the schedule must resume with the step.
    let lr_decay = Schedule::Steps(vec![(STEPS * 3 / 4, 0.1)]);
    let cfg =
        TrainConfig { steps: STEPS, batch_size: 32, lr, lr_decay, optimizer, eval_every: 40, ..Default::default() };
    let params = Params::init(&m, cfg.init, cfg.seed).unwrap();
    (data, params, cfg)
}

/// Runs the session's own cadence (chunks, evaluations, checkpoints) until `until`.
fn drive<B: Backend>(s: &mut Session<B>, until: u64) {
    while s.step < until {
        if block_on(s.run_until_eval()).unwrap() {
            block_on(s.eval_point()).unwrap();
        }
    }
    assert_eq!(s.step, until, "the cadence overshot the save point");
}

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// Adam's moments as bits, and their update count.
type OptBits = Option<(Vec<u32>, Vec<u32>, u64)>;

/// Parameters, optimizer state and history, as bits.
fn position<B: Backend>(s: &mut Session<B>) -> (Vec<u32>, OptBits, Vec<u32>) {
    let params = block_on(s.backend.params()).unwrap();
    let opt = block_on(s.backend.opt_state()).unwrap().map(|o| (bits(&o.m), bits(&o.v), o.t));
    (bits(&params.data), opt, bits(&s.history))
}

/// Both runs' first steps: to an evaluation at step 40 (a checkpoint), 20
/// steps more, and back to the checkpoint, so that Adam's update count (which
/// restarts there) differs from the step count when the run is saved.
fn start<B: Backend>(s: &mut Session<B>, p0: &Params) {
    s.keep(p0.clone());
    drive(s, STEPS / 4);
    block_on(s.run(20)).unwrap();
    assert_eq!(s.restore(None).unwrap(), Some(STEPS / 4));
}

/// The whole run, and the half-way file of a second one.
fn whole_and_half<B: Backend>(
    make: &impl Fn(&Dataset, Params, &TrainConfig) -> B,
    data: &Dataset,
    p0: &Params,
    cfg: &TrainConfig,
) -> (Session<B>, Vec<u8>) {
    let mut whole = Session::new(make(data, p0.clone(), cfg), cfg.clone());
    start(&mut whole, p0);
    drive(&mut whole, STEPS);
    let mut half = Session::new(make(data, p0.clone(), cfg), cfg.clone());
    start(&mut half, p0);
    drive(&mut half, STEPS / 2);
    let bytes = weights::save(&block_on(half.save(data)).unwrap()).unwrap();
    (whole, bytes)
}

/// A fresh backend and session from the file's bytes, run to the end.
fn resumed<B: Backend>(
    make: &impl Fn(&Dataset, Params, &TrainConfig) -> B,
    data: &Dataset,
    ck: Checkpoint,
) -> Session<B> {
    let cfg = ck.train.clone().expect("the file holds the settings");
    let mut s = Session::new(make(data, ck.params.clone(), &cfg), cfg);
    s.load(ck, data).unwrap();
    assert_eq!((s.step, s.first_step()), (STEPS / 2, 0));
    drive(&mut s, STEPS);
    s
}

fn resume_is_exact<B: Backend>(label: &str, make: impl Fn(&Dataset, Params, &TrainConfig) -> B) {
    for optimizer in [Optimizer::Sgd, Optimizer::Adam] {
        for direct in [false, true] {
            let what = format!("{label} {optimizer:?} direct={direct}");
            let (data, p0, cfg) = setup(optimizer, direct);
            let (mut whole, bytes) = whole_and_half(&make, &data, &p0, &cfg);
            let ck = weights::load(&bytes).unwrap();
            if let Some(opt) = &ck.opt {
                assert_eq!(opt.t, STEPS / 4, "{what}: Adam's count restarted at the restore");
            }
            let mut again = resumed(&make, &data, ck);
            let (want, got) = (position(&mut whole), position(&mut again));
            assert_eq!(got.2.len() as u64, STEPS, "{what}: history length");
            assert!(got.2 == want.2, "{what}: the resumed history differs from the uninterrupted one");
            assert!(got.1 == want.1, "{what}: the resumed optimizer state differs");
            assert!(got.0 == want.0, "{what}: the resumed parameters differ from the uninterrupted run's");
        }
    }
}

#[test]
fn cpu_resume_is_bit_identical() {
    resume_is_exact("cpu", |d: &Dataset, p, c: &TrainConfig| CpuBackend::new(d, p, c).unwrap());
}

#[test]
fn gpu_resume_is_bit_identical_on_both_kernel_sets() {
    for set in gpu_support::SETS {
        resume_is_exact(set.name(), |d: &Dataset, p, c: &TrainConfig| -> GpuBackend {
            gpu_support::gpu_with(set, d, p, c)
        });
    }
}

/// The check above must be able to fail: a file without Adam's moments, or
/// with their update count lost, resumes to other parameters.
#[test]
fn dropping_the_optimizer_state_or_its_count_changes_the_result() {
    let make = |d: &Dataset, p, c: &TrainConfig| CpuBackend::new(d, p, c).unwrap();
    let (data, p0, cfg) = setup(Optimizer::Adam, false);
    let (mut whole, bytes) = whole_and_half(&make, &data, &p0, &cfg);
    let want = position(&mut whole).0;
    let ck = weights::load(&bytes).unwrap();
    let without = Checkpoint { opt: None, ..ck.clone() };
    let mut opt = ck.opt.clone().unwrap();
    opt.t = 0;
    let restarted = Checkpoint { opt: Some(opt), ..ck };
    for (name, ck) in [("no moments", without), ("t = 0", restarted)] {
        let ck = weights::load(&weights::save(&ck).unwrap()).unwrap();
        let got = position(&mut resumed(&make, &data, ck)).0;
        assert!(got != want, "{name}: resumed to the same parameters, so the exact-resume check cannot fail");
    }
}

#[test]
fn another_word_list_or_split_is_refused_and_the_run_is_left_as_it_was() {
    let make = |d: &Dataset, p, c: &TrainConfig| CpuBackend::new(d, p, c).unwrap();
    let (data, p0, cfg) = setup(Optimizer::Adam, false);
    let (_, bytes) = whole_and_half(&make, &data, &p0, &cfg);
    // The same words split with another seed, and the same characters in fewer words.
    let other_split = Dataset::new(NAMES, 3, 7).unwrap();
    let text = String::from_utf8(NAMES.to_vec()).unwrap();
    let fewer: String = text.lines().skip(1).map(|w| format!("{w}\n")).collect();
    let fewer = Dataset::new(fewer.as_bytes(), 3, 42).unwrap();
    assert_eq!(fewer.vocab, data.vocab, "the test needs the same characters");
    for (what, other) in [("another split", other_split), ("another word list", fewer)] {
        let mut s = Session::new(make(&other, p0.clone(), &cfg), cfg.clone());
        s.keep(p0.clone());
        let e = s.load(weights::load(&bytes).unwrap(), &other).unwrap_err().to_string();
        assert!(
            e.contains("another word list") && e.contains("load the word list they were trained on"),
            "{what}: {e}"
        );
        assert_eq!((s.step, s.history.len()), (0, 0), "{what}: a refused load moved the run");
        assert_eq!(block_on(s.backend.params()).unwrap(), p0, "{what}: a refused load changed the parameters");
    }
}

/// A file from before the history and the data set's identity were saved
/// still loads: the run goes on from its step, with no history before it.
#[test]
fn older_files_without_history_or_identity_still_load() {
    let make = |d: &Dataset, p, c: &TrainConfig| CpuBackend::new(d, p, c).unwrap();
    let (data, p0, cfg) = setup(Optimizer::Sgd, false);
    let (_, bytes) = whole_and_half(&make, &data, &p0, &cfg);
    let old = Checkpoint { history: Vec::new(), data: None, ..weights::load(&bytes).unwrap() };
    let ck = weights::load(&weights::save(&old).unwrap()).unwrap();
    assert_eq!((ck.history.len(), ck.data.as_ref()), (0, None));
    let mut s = Session::new(make(&data, p0.clone(), &cfg), cfg.clone());
    s.load(ck, &data).unwrap();
    assert_eq!((s.step, s.first_step()), (STEPS / 2, STEPS / 2));
    drive(&mut s, STEPS);
    assert_eq!(s.history.len() as u64, STEPS / 2);
}

fn makemore(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_makemore")).args(args).output().unwrap()
}

/// `makemore train --save` then `--resume` (with a longer --steps) ends where
/// one run of that length ends, and a resume on another word list is refused.
#[test]
fn cli_resume_continues_a_saved_run_exactly() {
    let dir = std::env::temp_dir().join(format!("makemore-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name).display().to_string();
    let (whole, half, resumed) = (path("whole.st"), path("half.st"), path("resumed.st"));
    let flags = ["--hidden", "32", "--optimizer", "adam", "--lr", "0.01", "--eval-every", "50", "--json"];
    let train = |steps: &str, save: &str| {
        let mut args = vec!["train", "--steps", steps, "--save", save];
        args.extend(flags);
        let o = makemore(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    train("200", &whole);
    train("100", &half);
    let o = makemore(&["train", "--resume", &half, "--steps", "200", "--save", &resumed, "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = String::from_utf8_lossy(&o.stdout).lines().last().unwrap_or_default().to_string();
    assert!(summary.contains(r#""steps":200"#), "{summary}");
    let read = |p: &str| weights::load(&std::fs::read(p).unwrap()).unwrap();
    let (a, b) = (read(&whole), read(&resumed));
    assert_eq!(b.step, 200);
    assert!(bits(&a.params.data) == bits(&b.params.data), "the resumed run's parameters differ");
    assert!(bits(&a.history) == bits(&b.history), "the resumed run's history differs");
    let (ma, mb) = (a.opt.unwrap(), b.opt.unwrap());
    assert!((bits(&ma.m), bits(&ma.v), ma.t) == (bits(&mb.m), bits(&mb.v), mb.t), "the optimizer states differ");

    let other = path("other.txt");
    std::fs::write(&other, "emma\nolivia\nava\nisabella\nsophia\nmia\namelia\nharper\n").unwrap();
    let o = makemore(&["train", "--resume", &half, "--data", &other]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("word list"), "{err}");
    let o = makemore(&["train", "--resume", &half, "--lr", "0.5"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("leave out --lr"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
