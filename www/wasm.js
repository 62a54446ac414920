// Loads the wasm build the trainer worker runs: the threaded one (pkg-threads/,
// rayon on a pool of Web Workers sharing the module's memory) where this thread
// may share memory (a cross-origin isolated page), else the single-threaded one
// (pkg/). Resolves to {pkg, threads, reason}.

const MAX_THREADS = 8;

export async function loadWasm(cap = 0) {
    const cores = Math.min(navigator.hardwareConcurrency || 1, MAX_THREADS);
    const threads = cap > 0 ? Math.min(cap, cores) : cores;
    let reason;
    if (!self.crossOriginIsolated) {
        reason = 'one thread: the page is not cross-origin isolated (serve it with COOP/COEP headers for threads)';
    } else if (threads < 2) {
        reason = cap === 1 ? 'one thread, as asked' : 'one thread: the browser reports one core';
    } else {
        try {
            const pkg = await import('./pkg-threads/makemore.js');
            await pkg.default();
            await pkg.initThreadPool(threads);
            return { pkg, threads, reason: `${threads} threads (the page is cross-origin isolated)` };
        } catch (err) {
            reason = `one thread: the threaded build failed to start (${err?.message ?? err})`;
        }
    }
    const pkg = await import('./pkg/makemore.js');
    await pkg.default();
    return { pkg, threads: 1, reason };
}
