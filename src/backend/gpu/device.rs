//! The adapter and its device: finding one, opening it with the limits the
//! kernels need, checking a model fits, reporting what it is ([`AdapterSummary`]),
//! and choosing the kernel set for it (with the overrides).

use wgpu::{Device, Queue};

use super::kernels::{STEP_STRIDE, TILE};
use super::tuning::Tuning;
use crate::backend::KernelSet;
use crate::config::TrainConfig;
use crate::data::Dataset;
use crate::model::Layout;
use crate::model::ModelConfig;
use crate::{Error, Result};

/// Preferred rows per evaluation tile.
const EVAL_ROWS: usize = 4096;
/// Workgroup memory of the largest kernel but the tiled matmul (the loss reductions).
const WORKGROUP_BYTES: u32 = 256 * 4;
/// The environment variable that forces a kernel set natively.
pub const KERNELS_ENV: &str = "MAKEMORE_GPU_KERNELS";

/// What the page's badge and the CLI say about an adapter, and whether it is a
/// software (CPU-emulated) one: natively wgpu's `DeviceType::Cpu` (lavapipe,
/// SwiftShader, WARP).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub vendor: String,
    pub architecture: String,
    pub description: String,
    pub backend: String,
    pub software: bool,
}

impl AdapterSummary {
    pub fn from_info(info: wgpu::AdapterInfo) -> Self {
        AdapterSummary {
            vendor: format!("{:#06x}", info.vendor),
            architecture: String::new(),
            description: info.driver_info.clone(),
            backend: format!("{:?}", info.backend),
            software: info.device_type == wgpu::DeviceType::Cpu,
            name: info.name,
        }
    }

    /// In a browser, adds what wgpu's `AdapterInfo` leaves out there (vendor,
    /// architecture, description) from the page's own `GPUAdapterInfo`, and marks a
    /// fallback adapter as software also where only the older
    /// `GPUAdapter.isFallbackAdapter` says so. (wgpu 30 maps
    /// `GPUAdapterInfo.isFallbackAdapter` to `DeviceType::Cpu` but sets no vendor.)
    /// It asks `navigator.gpu` for the default adapter again: the one wgpu opened is
    /// not reachable from here.
    #[cfg(target_arch = "wasm32")]
    pub async fn add_browser_info(&mut self) {
        use wasm_bindgen::{JsCast, JsValue};
        let get = |o: &JsValue, k: &str| {
            js_sys::Reflect::get(o, &JsValue::from_str(k)).ok().filter(|v| !v.is_undefined() && !v.is_null())
        };
        let adapter = async {
            let gpu = get(&get(&js_sys::global().into(), "navigator")?, "gpu")?;
            let request = get(&gpu, "requestAdapter")?.dyn_into::<js_sys::Function>().ok()?;
            let promise = request.call0(&gpu).ok()?.dyn_into::<js_sys::Promise>().ok()?;
            wasm_bindgen_futures::JsFuture::from(promise).await.ok().filter(|a| !a.is_null())
        };
        let Some(adapter) = adapter.await else { return };
        let info = get(&adapter, "info").unwrap_or(JsValue::UNDEFINED);
        let text = |k: &str| get(&info, k).and_then(|v| v.as_string()).unwrap_or_default();
        let fallback = get(&info, "isFallbackAdapter").or_else(|| get(&adapter, "isFallbackAdapter"));
        self.software |= fallback.and_then(|v| v.as_bool()).unwrap_or(false);
        for (field, key) in [
            (&mut self.vendor, "vendor"),
            (&mut self.architecture, "architecture"),
            (&mut self.description, "description"),
        ] {
            let value = text(key);
            if !value.is_empty() {
                *field = value;
            }
        }
    }

    /// The kernels this adapter runs unless a caller forces a set.
    pub fn kernel_set(&self) -> KernelSet {
        if self.software {
            KernelSet::Software
        } else {
            KernelSet::Hardware
        }
    }
}

/// The kernel set to run: the caller's choice, else (natively) `MAKEMORE_GPU_KERNELS`,
/// else the adapter's own.
pub fn choose_kernels(adapter: &AdapterSummary, forced: Option<KernelSet>) -> Result<KernelSet> {
    if let Some(set) = forced {
        return Ok(set);
    }
    #[cfg(not(target_arch = "wasm32"))]
    if let Ok(name) = std::env::var(KERNELS_ENV) {
        return name.parse().map_err(|_| {
            Error::config(
                "kernels",
                format!("{KERNELS_ENV}={name:?} is not a kernel set; set it to software or hardware, or unset it"),
            )
        });
    }
    Ok(adapter.kernel_set())
}

/// Finds the default (high-performance) adapter.
async fn request_adapter() -> Result<wgpu::Adapter> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        })
        .await
        .map_err(|e| {
            Error::Gpu(format!(
                "no GPU adapter found ({e}); install a Vulkan, Metal or DX12 driver (on Linux Mesa's lavapipe, \
                 package mesa-vulkan-drivers), use a browser with WebGPU, or train with the cpu backend"
            ))
        })
}

/// Finds an adapter and opens a device with WebGPU's default limits, raised to
/// the adapter's buffer sizes so larger models fit.
pub async fn request_device() -> Result<(Device, Queue)> {
    open_device(&request_adapter().await?).await
}

/// Opens `adapter`'s device with WebGPU's default limits, raised to the
/// adapter's buffer sizes so larger models fit.
async fn open_device(adapter: &wgpu::Adapter) -> Result<(Device, Queue)> {
    let have = adapter.limits();
    let required_limits = wgpu::Limits {
        max_storage_buffer_binding_size: have.max_storage_buffer_binding_size,
        max_buffer_size: have.max_buffer_size,
        ..wgpu::Limits::defaults()
    };
    // Timestamp queries where the adapter has them, for per-dispatch profiles.
    let required_features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
    let desc =
        wgpu::DeviceDescriptor { label: Some("makemore"), required_limits, required_features, ..Default::default() };
    adapter.request_device(&desc).await.map_err(|e| {
        Error::Gpu(format!(
            "the GPU adapter {:?} cannot open a device with WebGPU's default limits ({e}); update the driver or use the cpu backend",
            adapter.get_info().name
        ))
    })
}

pub fn too_big(what: &str, bytes: u64, limit: u64, fix: &str) -> Error {
    Error::Gpu(format!(
        "{what} needs a {} MiB buffer but this GPU allows {} MiB per storage buffer; {fix}",
        bytes >> 20,
        limit >> 20
    ))
}

/// The largest buffer a kernel can bind on a device with `lim`.
pub fn max_binding(lim: &wgpu::Limits) -> u64 {
    lim.max_storage_buffer_binding_size.min(lim.max_buffer_size)
}

/// Storage buffers the widest kernel of `set` binds (software: optim; hardware: params).
fn storage_per_stage(set: KernelSet) -> u32 {
    match set {
        KernelSet::Software => 5,
        KernelSet::Hardware => 8,
    }
}

/// Checks the device can hold and run this model with `set` (and the hardware set's
/// tiles of `tuning`); returns the rows per evaluation tile.
pub fn check_limits(
    lim: &wgpu::Limits,
    m: &ModelConfig,
    cfg: &TrainConfig,
    data: &Dataset,
    set: KernelSet,
    tuning: &Tuning,
) -> Result<usize> {
    let need = |ok: bool, what: String| if ok { Ok(()) } else { Err(Error::Gpu(what)) };
    let storage = storage_per_stage(set);
    need(
        lim.max_storage_buffers_per_shader_stage >= storage,
        format!(
            "the GPU binds only {} storage buffers per shader, the {} kernels need {storage}; use the cpu backend",
            lim.max_storage_buffers_per_shader_stage,
            set.name()
        ),
    )?;
    need(
        lim.max_compute_invocations_per_workgroup >= 256 && lim.max_compute_workgroup_size_x >= 256,
        "the GPU runs fewer than 256 invocations per workgroup; use the cpu backend".into(),
    )?;
    let workgroup_bytes = match set {
        KernelSet::Software => WORKGROUP_BYTES,
        KernelSet::Hardware => WORKGROUP_BYTES.max(tuning.tile_bytes()),
    };
    need(
        lim.max_compute_workgroup_storage_size >= workgroup_bytes,
        format!("the GPU has less than {workgroup_bytes} bytes of workgroup memory; use the cpu backend"),
    )?;
    need(
        u64::from(lim.min_uniform_buffer_offset_alignment) <= STEP_STRIDE,
        "the GPU needs uniform offsets aligned to more than 256 bytes; use the cpu backend".into(),
    )?;
    let max = max_binding(lim);
    let params = Layout::new(m).total as u64 * 4;
    if params > max {
        // The parameters that grow with the vocabulary: C's rows, W2's and W3's columns, b2.
        let per_vocab = params - Layout::new(&ModelConfig { vocab_size: 0, ..m.clone() }).total as u64 * 4;
        let fix = if per_vocab * 2 > params {
            format!(
                "its vocabulary of {} characters takes {} MiB of it: use a word list with fewer distinct \
                 characters, fewer hidden units, or the cpu backend",
                m.vocab_size - 1,
                per_vocab >> 20
            )
        } else {
            "use fewer hidden units, a smaller embedding or no direct connections".into()
        };
        return Err(too_big("the model", params, max, &fix));
    }
    for (name, s) in [("the training split", &data.train), ("the dev split", &data.dev), ("the test split", &data.test)]
    {
        let bytes = s.x.len() as u64 * 4;
        if bytes > max {
            return Err(too_big(name, bytes, max, "use a shorter word list or a smaller block_size"));
        }
    }
    // The widest binding of one row's activations (see buffers.rs).
    let width = super::buffers::row_binding_floats(m, set) as u64 * 4;
    let batch = cfg.batch_size as u64;
    if batch * width > max {
        return Err(too_big(
            "one batch of activations",
            batch * width,
            max,
            &format!("use a batch_size of at most {}", max / width),
        ));
    }
    let rows = batch.max((EVAL_ROWS as u64).min(max / width));
    let tiles = rows.div_ceil(u64::from(TILE));
    need(
        tiles <= u64::from(lim.max_compute_workgroups_per_dimension),
        format!("batch_size {batch} needs {tiles} workgroups in one dispatch dimension; use a smaller batch_size"),
    )?;
    Ok(rows as usize)
}

/// Validation and out-of-memory error scopes around a piece of GPU work.
pub struct Scopes(wgpu::ErrorScopeGuard, wgpu::ErrorScopeGuard);

impl Scopes {
    pub fn push(device: &Device) -> Self {
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        Scopes(validation, device.push_error_scope(wgpu::ErrorFilter::OutOfMemory))
    }

    pub async fn pop(self, what: &str) -> Result<()> {
        let Scopes(validation, oom) = self;
        if let Some(e) = oom.pop().await {
            return Err(Error::Gpu(format!(
                "out of GPU memory while {what} ({e}); use a smaller batch_size or model, or the cpu backend"
            )));
        }
        match validation.pop().await {
            Some(e) => Err(Error::Gpu(format!("{what} failed: {e}"))),
            None => Ok(()),
        }
    }
}
