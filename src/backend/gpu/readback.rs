//! Asynchronous readback: `map_async` completes a small one-shot future. Natively
//! the device is polled until the copy is done; on wasm the browser resolves the
//! mapping and nothing ever blocks.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytemuck::Pod;
use wgpu::{Buffer, Device};

use crate::{Error, Result};

struct Shared<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

/// The receiving half of a one-shot value set by a wgpu callback.
struct Receiver<T>(Arc<Mutex<Shared<T>>>);

/// A sender (to move into a callback) and the future that yields what it sends.
fn oneshot<T: Send + 'static>() -> (impl FnOnce(T) + Send + 'static, Receiver<T>) {
    let shared = Arc::new(Mutex::new(Shared { value: None, waker: None }));
    let tx = shared.clone();
    let send = move |v: T| {
        let mut s = tx.lock().unwrap_or_else(|e| e.into_inner());
        s.value = Some(v);
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    };
    (send, Receiver(shared))
}

impl<T> Future for Receiver<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match s.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Maps the first `n` elements of the MAP_READ buffer `staging` (already filled by
/// a submitted copy) and returns them.
pub async fn read<T: Pod>(device: &Device, staging: &Buffer, n: usize) -> Result<Vec<T>> {
    let bytes = (n * std::mem::size_of::<T>()) as u64;
    if bytes == 0 {
        return Ok(Vec::new());
    }
    let slice = staging.slice(..bytes);
    let (send, done) = oneshot();
    slice.map_async(wgpu::MapMode::Read, send);
    #[cfg(not(target_arch = "wasm32"))]
    device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| {
        Error::Gpu(format!("waiting for the GPU failed ({e}); the device may have been lost, retry on the cpu backend"))
    })?;
    #[cfg(target_arch = "wasm32")]
    let _ = device;
    done.await.map_err(|e| {
        Error::Gpu(format!(
            "reading results back from the GPU failed ({e}); the device may have been lost, retry on the cpu backend"
        ))
    })?;
    let out = {
        let view =
            slice.get_mapped_range().map_err(|e| Error::Gpu(format!("cannot read the mapped GPU buffer ({e:?})")))?;
        bytemuck::cast_slice::<u8, T>(&view).to_vec()
    };
    staging.unmap();
    Ok(out)
}
