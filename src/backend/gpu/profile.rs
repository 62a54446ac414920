//! Timing hooks for `makemore bench`: a training step with each dispatch timed by
//! timestamp queries (`bench --profile`), and the dispatch overhead alone.

use wgpu::BufferUsages;

use super::device::Scopes;
use super::kernels::dispatch;
use super::{readback, GpuBackend};
use crate::Result;

impl GpuBackend {
    /// Runs training step `step_no` with each dispatch in its own compute pass,
    /// timed by timestamp queries, and returns each pass's name and GPU time in µs;
    /// `None` when the adapter has no timestamp queries (`Features::TIMESTAMP_QUERY`).
    /// The step updates the model like [`Backend::train`].
    pub async fn profile_step(&mut self, step_no: u64, lr: f32) -> Result<Option<Vec<(String, f64)>>> {
        if !self.device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            return Ok(None);
        }
        self.check_alive()?;
        let n = self.train_plan.len() as u32;
        let queries = self.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("profile"),
            ty: wgpu::QueryType::Timestamp,
            count: 2 * n,
        });
        let bytes = u64::from(2 * n) * 8;
        let make = |usage| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("profile"),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        let resolved = make(BufferUsages::QUERY_RESOLVE | BufferUsages::COPY_SRC);
        let staging = make(BufferUsages::MAP_READ | BufferUsages::COPY_DST);
        let step = self.train_step(step_no, 0, lr);
        self.queue.write_buffer(&self.work.steps, 0, bytemuck::bytes_of(&step));
        self.queue.write_buffer(&self.work.status, 0, bytemuck::bytes_of(&0u32));
        let scopes = Scopes::push(&self.device);
        let mut enc = self.device.create_command_encoder(&Default::default());
        for (i, p) in self.train_plan.iter().enumerate() {
            let timestamp_writes = wgpu::ComputePassTimestampWrites {
                query_set: &queries,
                beginning_of_pass_write_index: Some(2 * i as u32),
                end_of_pass_write_index: Some(2 * i as u32 + 1),
            };
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("profile"),
                timestamp_writes: Some(timestamp_writes),
            });
            let (kernel, bind) = self.resolve(p, 0);
            dispatch(&mut pass, kernel, bind, &self.step_bind, 0, p.grid);
        }
        enc.resolve_query_set(&queries, 0..2 * n, &resolved, 0);
        enc.copy_buffer_to_buffer(&resolved, 0, &staging, 0, bytes);
        self.queue.submit([enc.finish()]);
        let ticks = readback::read::<u64>(&self.device, &staging, 2 * n as usize).await;
        resolved.destroy();
        staging.destroy();
        queries.destroy();
        scopes.pop("profiling a step on the GPU").await?;
        let ticks = ticks?;
        self.opt_t += 1;
        let ns_per_tick = f64::from(self.queue.get_timestamp_period());
        let times = self
            .train_plan
            .iter()
            .zip(ticks.chunks(2))
            .map(|(p, t)| (p.name.clone(), t[1].saturating_sub(t[0]) as f64 * ns_per_tick / 1e3));
        Ok(Some(times.collect()))
    }

    /// Submits as many empty-kernel dispatches as `steps` training steps have, in
    /// one submission, and waits for them. Timing this against [`Backend::train`]
    /// with the same `steps` gives the share of dispatch overhead.
    pub async fn dispatch_only(&mut self, steps: usize) -> Result<()> {
        let mut enc = self.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.kernels.noop.pipeline);
            for _ in 0..steps * self.train_plan.len() {
                pass.dispatch_workgroups(1, 1, 1);
            }
        }
        enc.copy_buffer_to_buffer(&self.work.losses, 0, &self.work.staging, 0, 4);
        self.queue.submit([enc.finish()]);
        readback::read::<f32>(&self.device, &self.work.staging, 1).await.map(|_| ())
    }
}
