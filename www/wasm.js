// Loads the wasm build the trainer worker runs: the threaded one (pkg-threads/,
// rayon on a pool of Web Workers sharing the module's memory) where this thread
// may share memory (a cross-origin isolated page), else a single-threaded one:
// pkg-relaxed/ (relaxed SIMD: fused multiply-adds, last bits may differ) where
// the browser validates relaxed-SIMD code (Chrome 114+, Firefox 145+), else
// pkg/ (SIMD). The worker's URL may ask for one with ?simd=simd128 or
// ?simd=relaxed (the bench does). Resolves to {pkg, threads, build, reason}.

const MAX_THREADS = 8;

// The smallest module that uses relaxed SIMD: one function that drops
// f32x4.relaxed_madd (0xfd 0x105) of three zero vectors.
const V128_ZERO = [0xfd, 0x0c, ...new Array(16).fill(0)];
const BODY = [0x00, ...V128_ZERO, ...V128_ZERO, ...V128_ZERO, 0xfd, 0x85, 0x02, 0x1a, 0x0b];
const RELAXED_PROBE = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // types: () -> ()
    0x03, 0x02, 0x01, 0x00, // functions: one of type 0
    0x0a, BODY.length + 2, 0x01, BODY.length, ...BODY, // code
]);

/** Whether this browser runs relaxed-SIMD wasm. */
export function relaxedSimd() {
    try {
        return WebAssembly.validate(RELAXED_PROBE);
    } catch {
        return false;
    }
}

// Literal import paths: scripts/build-package.sh rewrites them for the npm package.
const BUILDS = {
    simd128: { load: () => import('./pkg/makemore.js'), says: 'SIMD build' },
    relaxed: { load: () => import('./pkg-relaxed/makemore.js'), says: 'relaxed-SIMD build (fused multiply-add)' },
};

async function single(reason) {
    const asked = new URL(self.location.href).searchParams.get('simd');
    let build = asked in BUILDS ? asked : relaxedSimd() ? 'relaxed' : 'simd128';
    const why = asked in BUILDS ? 'as asked' : build === 'relaxed' ? 'this browser runs relaxed SIMD' : 'this browser has no relaxed SIMD';
    let note = `${BUILDS[build].says}: ${why}`;
    let pkg;
    try {
        pkg = await BUILDS[build].load();
        await pkg.default();
    } catch (err) {
        if (build === 'simd128') throw err;
        note = `${BUILDS.simd128.says}: the relaxed-SIMD build failed to start (${err?.message ?? err})`;
        build = 'simd128';
        pkg = await BUILDS.simd128.load();
        await pkg.default();
    }
    return { pkg, threads: 1, build, reason: `${reason}; ${note}` };
}

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
            return { pkg, threads, build: 'threads', reason: `${threads} threads (the page is cross-origin isolated); threaded SIMD build (pkg-threads)` };
        } catch (err) {
            reason = `one thread: the threaded build failed to start (${err?.message ?? err})`;
        }
    }
    return single(reason);
}
