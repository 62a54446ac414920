//! Per-adapter parallelism constants: one row per adapter class, keyed by the
//! [`AdapterSummary`] vendor (a PCI id natively, a name in a browser) and whether
//! the adapter is a software one. The encoder ([`super::GpuBackend`]) and
//! `makemore gpu-plan` both read this table, through [`super::plan::Shapes`].
//!
//! The software row holds the values the software set was measured with on
//! lavapipe. The hardware rows are starting points sized from each class's core
//! count (more cores want more workgroups per pass and bigger tiles); no real GPU
//! was available to tune them, so they are not measured optima. An unknown
//! adapter gets [`DEFAULT`]: small tiles and enough workgroups for a mid-size GPU,
//! correct everywhere.

use serde::Serialize;

use super::device::AdapterSummary;

/// Depth (K) of one tile of `matmul_tiled.wgsl`; the output tile is [`Tuning::tile`] square.
pub const TILE_K: u32 = 16;
/// Invocations per workgroup of `matmul_tiled.wgsl` (16×16).
pub const TILED_WG: u32 = 256;

/// One adapter class's constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Tuning {
    /// The class name `gpu-plan --adapter-class` takes.
    pub class: &'static str,
    /// Output tile edge of `matmul_tiled.wgsl` (32 or 64): each of its 256
    /// invocations computes (tile/16)² outputs from workgroup memory.
    pub tile: u32,
    /// Workgroups a pass over the batch should reach to fill the GPU: split-K passes
    /// split until they reach it, and the hardware set tiles its matmuls only when
    /// the tiled row passes reach it (see [`super::plan::Shapes::tiled`]).
    pub split_k_groups: u32,
    /// The fewest rows one K split sums.
    pub min_split: u32,
    /// Positions per chunk of the software set's embedding backward.
    pub dc_chunk: u32,
}

impl Tuning {
    /// Workgroup memory of one tiled matmul: an A and a B tile of tile × [`TILE_K`] floats.
    pub fn tile_bytes(&self) -> u32 {
        2 * self.tile * TILE_K * 4
    }

    /// The row of `adapter`'s class.
    pub fn for_adapter(adapter: &AdapterSummary) -> Tuning {
        if adapter.software {
            return SOFTWARE;
        }
        let vendor = adapter.vendor.to_ascii_lowercase();
        let known = [("0x10de", "nvidia"), ("0x1002", "amd"), ("0x106b", "apple"), ("0x8086", "intel")];
        known
            .iter()
            .find(|(id, name)| vendor == *id || vendor.contains(name))
            .and_then(|(_, name)| Tuning::named(name))
            .unwrap_or(DEFAULT)
    }

    /// The row named `class` (one of [`CLASS_NAMES`]).
    pub fn named(class: &str) -> Option<Tuning> {
        TUNINGS.iter().copied().find(|t| t.class == class)
    }
}

/// CPU drivers (lavapipe, SwiftShader, WARP): the software set's measured values.
pub const SOFTWARE: Tuning = Tuning { class: "software", tile: 32, split_k_groups: 32, min_split: 256, dc_chunk: 1024 };
/// An adapter this table does not know.
pub const DEFAULT: Tuning = Tuning { class: "unknown", tile: 32, split_k_groups: 256, min_split: 64, dc_chunk: 1024 };

/// Every row: discrete GPUs with dozens of compute units get 64-wide tiles (8 KiB of
/// workgroup memory, 16 outputs per invocation); integrated GPUs keep 32-wide tiles
/// and aim for fewer workgroups.
pub const TUNINGS: [Tuning; 6] = [
    SOFTWARE,
    Tuning { class: "nvidia", tile: 64, split_k_groups: 256, min_split: 64, dc_chunk: 1024 },
    Tuning { class: "amd", tile: 64, split_k_groups: 256, min_split: 64, dc_chunk: 1024 },
    Tuning { class: "apple", tile: 32, split_k_groups: 128, min_split: 64, dc_chunk: 1024 },
    Tuning { class: "intel", tile: 32, split_k_groups: 96, min_split: 64, dc_chunk: 1024 },
    DEFAULT,
];

/// The class names, in table order.
pub const CLASS_NAMES: [&str; 6] = ["software", "nvidia", "amd", "apple", "intel", "unknown"];

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(vendor: &str, software: bool) -> AdapterSummary {
        AdapterSummary { vendor: vendor.into(), software, ..AdapterSummary::default() }
    }

    #[test]
    fn adapters_find_their_row() {
        assert_eq!(Tuning::for_adapter(&adapter("0x10de", false)).class, "nvidia");
        assert_eq!(Tuning::for_adapter(&adapter("apple", false)).class, "apple");
        assert_eq!(Tuning::for_adapter(&adapter("0x10de", true)).class, "software");
        assert_eq!(Tuning::for_adapter(&adapter("0x5143", false)), DEFAULT);
        assert_eq!(TUNINGS.map(|t| t.class), CLASS_NAMES);
        assert!(TUNINGS.iter().all(|t| t.tile_bytes() <= 16 * 1024 && t.tile % 16 == 0));
    }
}
