//! The `auto` backend rule, written once for the page, the element and the CLI.
//!
//! * No GPU adapter (or one that cannot train): the CPU.
//! * A software (CPU-emulated) adapter — WebGPU's fallback adapter, wgpu's
//!   `DeviceType::Cpu` (SwiftShader, lavapipe, WARP): the CPU, without a race,
//!   since such an adapter runs on the same cores with more overhead.
//! * A hardware adapter: both backends train the actual config for a moment
//!   (after [`WARMUP_STEPS`] untimed steps, within [`BUDGET_SECONDS`] in all) and
//!   the faster one trains. Both train the same batches (`rng::batch_index` hashes
//!   the step), so the choice never changes the numbers, only the time.
//!
//! Callers time the backends (the CLI with [`crate::session::Session::measure`],
//! the page's worker with its bench helper) and ask [`decide`] for the choice and the plain sentence.

use serde::{Deserialize, Serialize};

use crate::backend::BackendKind;

/// The whole calibration's time, both backends together, warm-up excluded.
pub const BUDGET_SECONDS: f64 = 1.5;
/// Steps each backend runs untimed before the clock starts (pipeline compilation,
/// first uploads, thread pool start).
pub const WARMUP_STEPS: u64 = 3;

/// Steps per second each backend reached on the actual config.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub cpu: f64,
    pub gpu: f64,
}

/// What the caller found out about the GPU before choosing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", try_from = "FoundFields")]
pub enum Found {
    /// No adapter (or no WebGPU at all).
    NoGpu,
    /// An adapter that failed to open a device or build the model.
    Broken { adapter: String },
    /// A software adapter, not raced.
    Software { adapter: String },
    /// Both backends timed.
    Measured { adapter: String, rates: Rates },
    /// The settings chose the backend; `adapter` names the GPU when it is the GPU.
    Chosen { backend: BackendKind, adapter: Option<String> },
}

/// [`Found`] as the page sends it, read field by field: serde's internally tagged
/// enums buffer the whole object first, which cost the wasm about 30 KB here
/// (docs/architecture.md, "What the wasm is made of").
#[derive(Deserialize)]
struct FoundFields {
    kind: FoundKind,
    adapter: Option<String>,
    rates: Option<Rates>,
    backend: Option<BackendKind>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
enum FoundKind {
    NoGpu,
    Broken,
    Software,
    Measured,
    Chosen,
}

impl TryFrom<FoundFields> for Found {
    type Error = String;

    fn try_from(f: FoundFields) -> Result<Self, String> {
        let missing = |field: &str| format!("missing field `{field}`");
        let adapter = || f.adapter.clone().ok_or_else(|| missing("adapter"));
        Ok(match f.kind {
            FoundKind::NoGpu => Found::NoGpu,
            FoundKind::Broken => Found::Broken { adapter: adapter()? },
            FoundKind::Software => Found::Software { adapter: adapter()? },
            FoundKind::Measured => {
                Found::Measured { adapter: adapter()?, rates: f.rates.ok_or_else(|| missing("rates"))? }
            }
            FoundKind::Chosen => {
                Found::Chosen { backend: f.backend.ok_or_else(|| missing("backend"))?, adapter: f.adapter }
            }
        })
    }
}

/// The backend `auto` trains on and why, in plain words.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    pub backend: BackendKind,
    /// One or two plain sentences for a lesson reader.
    pub summary: String,
    /// Where both were timed: "WebGPU (nvidia ampere): 14,200 steps/s · CPU 3,100 steps/s → WebGPU".
    pub measured: Option<String>,
}

/// "2 threads", "1 thread".
fn threads_phrase(threads: usize) -> String {
    if threads == 1 {
        "1 thread".into()
    } else {
        format!("{threads} threads")
    }
}

/// A rate rounded to whole steps, with thousands separators: "14,200".
pub fn grouped(rate: f64) -> String {
    let digits = format!("{:.0}", rate.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The choice for what was `found`, with the CPU on `threads` threads; `gpu` names
/// the GPU path ("WebGPU" in a browser, "GPU" natively). A tie goes to the CPU.
pub fn decide(found: &Found, threads: usize, gpu: &str) -> Decision {
    let cpu = format!("your CPU ({})", threads_phrase(threads));
    let (backend, summary, measured) = match found {
        Found::NoGpu => (BackendKind::Cpu, format!("No GPU found, so this trains on {cpu}."), None),
        Found::Broken { adapter } => (
            BackendKind::Cpu,
            format!("Your GPU ({adapter}) could not train this model, so this trains on {cpu}."),
            None,
        ),
        Found::Software { adapter } => (
            BackendKind::Cpu,
            format!(
                "Only a software GPU is available ({adapter}, a fallback adapter that emulates a GPU on the \
                 CPU), so this trains on {cpu} directly."
            ),
            None,
        ),
        Found::Measured { adapter, rates } => {
            let faster = if rates.gpu > rates.cpu { BackendKind::Gpu } else { BackendKind::Cpu };
            let name = |k: BackendKind| if k == BackendKind::Gpu { gpu.to_string() } else { "CPU".to_string() };
            let line = format!(
                "{gpu} ({adapter}): {} steps/s · CPU {} steps/s → {}",
                grouped(rates.gpu),
                grouped(rates.cpu),
                name(faster)
            );
            let summary = match faster {
                BackendKind::Gpu => {
                    format!("Your GPU ({adapter}) trained this model faster than {cpu}, so this trains on the GPU.")
                }
                BackendKind::Cpu => format!(
                    "Your CPU ({}) trained this model faster than your GPU ({adapter}), so this trains on the CPU.",
                    threads_phrase(threads)
                ),
            };
            (faster, summary, Some(line))
        }
        Found::Chosen { backend: BackendKind::Gpu, adapter } => {
            let on = adapter.as_ref().map_or(String::new(), |a| format!(" ({a})"));
            (BackendKind::Gpu, format!("This trains on {gpu}{on}, as chosen in the settings."), None)
        }
        Found::Chosen { backend: BackendKind::Cpu, .. } => {
            (BackendKind::Cpu, format!("This trains on {cpu}, as chosen in the settings."), None)
        }
    };
    Decision { backend, summary, measured }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: fn(f64, f64) -> Rates = |cpu, gpu| Rates { cpu, gpu };

    fn measured(cpu: f64, gpu: f64) -> Decision {
        decide(&Found::Measured { adapter: "nvidia ampere".into(), rates: R(cpu, gpu) }, 2, "WebGPU")
    }

    #[test]
    fn the_faster_measured_backend_wins_and_a_tie_goes_to_the_cpu() {
        let d = measured(3100.0, 14200.0);
        assert_eq!(d.backend, BackendKind::Gpu);
        assert_eq!(d.measured.as_deref(), Some("WebGPU (nvidia ampere): 14,200 steps/s · CPU 3,100 steps/s → WebGPU"));
        assert!(d.summary.starts_with("Your GPU (nvidia ampere) trained this model faster"), "{}", d.summary);
        let d = measured(5000.0, 40.6);
        assert_eq!(d.backend, BackendKind::Cpu);
        assert_eq!(d.measured.as_deref(), Some("WebGPU (nvidia ampere): 41 steps/s · CPU 5,000 steps/s → CPU"));
        assert!(d.summary.starts_with("Your CPU (2 threads) trained this model faster"), "{}", d.summary);
        assert_eq!(measured(100.0, 100.0).backend, BackendKind::Cpu);
    }

    #[test]
    fn no_gpu_or_a_software_one_means_the_cpu_in_plain_words() {
        let d = decide(&Found::NoGpu, 1, "WebGPU");
        assert_eq!(
            (d.backend, d.summary.as_str()),
            (BackendKind::Cpu, "No GPU found, so this trains on your CPU (1 thread).")
        );
        let d = decide(&Found::Software { adapter: "SwiftShader".into() }, 4, "WebGPU");
        assert_eq!(d.backend, BackendKind::Cpu);
        assert!(d.summary.contains("software GPU is available (SwiftShader, a fallback adapter"), "{}", d.summary);
        assert!(d.summary.ends_with("trains on your CPU (4 threads) directly."), "{}", d.summary);
        assert_eq!(d.measured, None);
        let d = decide(&Found::Chosen { backend: BackendKind::Gpu, adapter: Some("lavapipe".into()) }, 4, "GPU");
        assert_eq!(
            (d.backend, d.summary.as_str()),
            (BackendKind::Gpu, "This trains on GPU (lavapipe), as chosen in the settings.")
        );
    }

    #[test]
    fn found_reads_from_the_workers_json() {
        let f: Found =
            serde_json::from_str(r#"{"kind": "measured", "adapter": "a", "rates": {"cpu": 1, "gpu": 2}}"#).unwrap();
        assert_eq!(f, Found::Measured { adapter: "a".into(), rates: R(1.0, 2.0) });
        let f: Found = serde_json::from_str(r#"{"kind": "chosen", "backend": "cpu", "adapter": null}"#).unwrap();
        assert_eq!(f, Found::Chosen { backend: BackendKind::Cpu, adapter: None });
        let f: Found = serde_json::from_str(r#"{"kind": "chosen", "backend": "gpu"}"#).unwrap();
        assert_eq!(f, Found::Chosen { backend: BackendKind::Gpu, adapter: None });
        assert_eq!(serde_json::from_str::<Found>(r#"{"kind": "noGpu"}"#).unwrap(), Found::NoGpu);
        let e = serde_json::from_str::<Found>(r#"{"kind": "measured", "adapter": "a"}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `rates`"), "{e}");
        let e = serde_json::from_str::<Found>(r#"{"kind": "fast"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant `fast`"), "{e}");
        assert_eq!(grouped(1234567.4), "1,234,567");
        assert_eq!(grouped(999.6), "1,000");
    }
}
