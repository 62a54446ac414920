//! Buffer bookkeeping: every buffer a backend makes is counted and destroyed with
//! it ([`Owned`], [`live_buffers`]), and the activations live where the kernel set
//! wants them ([`Acts`]): one buffer each for the software set, one arena buffer
//! with 256-byte aligned regions for the hardware set (whose per-parameter pass
//! reads six of them and would otherwise exceed WebGPU's eight storage bindings).

use std::sync::atomic::{AtomicUsize, Ordering};

use wgpu::util::DeviceExt;
use wgpu::{BindingResource, Buffer, BufferUsages, Device};

use super::kernels::Arena;
use crate::backend::KernelSet;
use crate::model::ModelConfig;

/// Buffers made by every [`super::GpuBackend`] alive in this process (or page).
static LIVE_BUFFERS: AtomicUsize = AtomicUsize::new(0);

/// How many GPU buffers the backends alive now hold: a count that returns to the
/// same value after a backend is dropped (leak tests watch it).
pub fn live_buffers() -> usize {
    LIVE_BUFFERS.load(Ordering::Relaxed)
}

/// The buffers of one backend, destroyed (and uncounted) when it is dropped,
/// also when building it failed half way.
pub struct Owned(pub Vec<Buffer>);

impl Drop for Owned {
    fn drop(&mut self) {
        self.0.iter().for_each(Buffer::destroy);
        LIVE_BUFFERS.fetch_sub(self.0.len(), Ordering::Relaxed);
    }
}

/// Creates buffers and remembers them in [`Owned`].
pub struct Alloc<'a> {
    pub device: &'a Device,
    pub owned: Owned,
}

impl Alloc<'_> {
    pub fn empty(&mut self, label: &str, bytes: usize, usage: BufferUsages) -> Buffer {
        let b = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (bytes.max(4) as u64).next_multiple_of(4),
            usage,
            mapped_at_creation: false,
        });
        self.keep(b)
    }

    /// Takes `b` into the backend's buffers.
    fn keep(&mut self, b: Buffer) -> Buffer {
        LIVE_BUFFERS.fetch_add(1, Ordering::Relaxed);
        self.owned.0.push(b.clone());
        b
    }

    pub fn storage(&mut self, label: &str, bytes: usize) -> Buffer {
        self.empty(label, bytes, BufferUsages::STORAGE | BufferUsages::COPY_SRC | BufferUsages::COPY_DST)
    }

    pub fn init(&mut self, label: &str, contents: &[u8], usage: BufferUsages) -> Buffer {
        let mut padded = contents.to_vec();
        padded.resize(contents.len().max(4).next_multiple_of(4), 0);
        let b = self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: &padded,
            usage,
        });
        self.keep(b)
    }
}

pub fn res(b: &Buffer) -> BindingResource<'_> {
    b.as_entire_binding()
}

/// The per-row activations, in [`Act::ALL`] order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Xb,
    Yb,
    Emb,
    H,
    Logits,
    Dh,
    Demb,
    Rowloss,
}

impl Act {
    pub const ALL: [Act; 8] = [Act::Xb, Act::Yb, Act::Emb, Act::H, Act::Logits, Act::Dh, Act::Demb, Act::Rowloss];

    /// Values per row (u32 for xb and yb, f32 otherwise).
    fn width(self, m: &ModelConfig) -> usize {
        match self {
            Act::Xb => m.block_size,
            Act::Yb | Act::Rowloss => 1,
            Act::Emb | Act::Demb => m.n_in(),
            Act::H | Act::Dh => m.n_hidden,
            Act::Logits => m.vocab_size,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Act::Xb => "xb",
            Act::Yb => "yb",
            Act::Emb => "emb",
            Act::H => "h",
            Act::Logits => "logits",
            Act::Dh => "dh",
            Act::Demb => "demb",
            Act::Rowloss => "rowloss",
        }
    }
}

/// Arena regions start on this many values (256 bytes, WebGPU's storage offset alignment).
const REGION_ALIGN: usize = 64;

/// Values per row of the largest binding the activations need: one activation
/// (software), or the whole arena (hardware).
pub fn row_binding_floats(m: &ModelConfig, set: KernelSet) -> usize {
    let widths = Act::ALL.map(|a| a.width(m));
    match set {
        KernelSet::Software => widths.into_iter().max().unwrap_or(1),
        KernelSet::Hardware => widths.into_iter().sum(),
    }
}

/// Where each activation lives for `rows` rows: (buffer, byte offset, bytes).
pub struct Acts {
    at: [(Buffer, u64, u64); 8],
    /// The hardware set's arena, with the region offsets in values.
    pub arena: Option<(Buffer, Arena)>,
}

impl Acts {
    pub fn new(a: &mut Alloc, m: &ModelConfig, rows: usize, set: KernelSet) -> Self {
        let len = |act: Act| rows * act.width(m);
        match set {
            KernelSet::Software => Acts {
                at: Act::ALL.map(|act| (a.storage(act.label(), len(act) * 4), 0, (len(act).max(1) * 4) as u64)),
                arena: None,
            },
            KernelSet::Hardware => {
                let mut next = 0;
                let starts = Act::ALL.map(|act| {
                    let start = next;
                    next = (next + len(act)).next_multiple_of(REGION_ALIGN);
                    start
                });
                let buf = a.storage("activations", next * 4);
                let at = std::array::from_fn(|i| {
                    (buf.clone(), (starts[i] * 4) as u64, (len(Act::ALL[i]).max(1) * 4) as u64)
                });
                let s = starts.map(|x| x as u32);
                let arena = Arena {
                    xb: s[0],
                    yb: s[1],
                    emb: s[2],
                    h: s[3],
                    logits: s[4],
                    dh: s[5],
                    demb: s[6],
                    rowloss: s[7],
                    ..Arena::default()
                };
                Acts { at, arena: Some((buf, arena)) }
            }
        }
    }

    /// The buffer and byte offset of `act`.
    #[cfg(feature = "test-hooks")]
    pub fn get(&self, act: Act) -> (&Buffer, u64) {
        let (b, off, _) = &self.at[act as usize];
        (b, *off)
    }

    /// A binding of `act` alone.
    pub fn bind(&self, act: Act) -> BindingResource<'_> {
        let (buffer, offset, size) = &self.at[act as usize];
        BindingResource::Buffer(wgpu::BufferBinding { buffer, offset: *offset, size: wgpu::BufferSize::new(*size) })
    }
}
