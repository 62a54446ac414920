// Shared setup for the page tests: the static server (scripts/serve.mjs on a
// free port) and /usr/bin/chromium through playwright-core, with WebGPU on
// SwiftShader. The page must already be built (scripts/build-web.sh).

import { after, before } from 'node:test';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = join(here, '..');
export const screenshots = join(here, 'screenshots');
export const downloads = join(here, 'downloads');

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const FLAGS = [
    '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader',
    '--use-webgpu-adapter=swiftshader', '--no-sandbox', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];

/** Serves www/ (cross-origin isolated with `isolate`); resolves to {url, close}. */
export function serve({ isolate = false } = {}) {
    const args = [join(repo, 'scripts/serve.mjs'), '--root', join(repo, 'www'), '--port', '0', ...(isolate ? ['--isolate'] : [])];
    const child = spawn(process.execPath, args, {
        stdio: ['ignore', 'pipe', 'inherit'],
    });
    return new Promise((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (code) => reject(new Error(`the server exited with ${code}`)));
        child.stdout.setEncoding('utf8').on('data', (line) => {
            const match = line.match(/serving (http:\S+)/);
            if (match) resolve({ url: match[1], close: () => child.kill() });
        });
    });
}

/** Chromium with FLAGS and `extra` flags (e.g. --js-flags=--expose-gc). */
export async function launch(extra = []) {
    mkdirSync(screenshots, { recursive: true });
    mkdirSync(downloads, { recursive: true });
    return chromium.launch({ executablePath: CHROMIUM, args: [...FLAGS, ...extra], headless: true });
}

/**
 * Opens the page at `query` and records what it asks the network for, so a test
 * can check that nothing left the origin, and every console error.
 */
export async function openPage(browser, url, query = '') {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const requests = [];
    const errors = [];
    page.on('request', (req) => requests.push(req.url()));
    page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${url}${query}`);
    await page.locator('#start:not([disabled])').waitFor({ timeout: 60_000 });
    return { page, requests, errors };
}

/** Waits until the text of `selector`, read as a number, is below `below` or at least `atLeast`. */
/**
 * The trainer worker's GPU buffer count and wasm memory, read from the worker's
 * own instance of the single-threaded package (the pages measured are not
 * cross-origin isolated): a module loads once per worker, so this is the build
 * wasm.js picked (relaxed SIMD where the browser runs it). `gc`: collect garbage
 * in the worker first (the browser needs --js-flags=--expose-gc).
 */
export async function workerMemory(page, { gc = false } = {}) {
    const [worker] = page.workers();
    return worker.evaluate(async (collect) => {
        if (collect) gc();
        const { relaxedSimd } = await import(new URL('./wasm.js', self.location.href).href);
        const build = relaxedSimd() ? './pkg-relaxed/makemore.js' : './pkg/makemore.js';
        const pkg = await import(new URL(build, self.location.href).href);
        return { gpuBuffers: pkg.liveGpuBuffers(), wasmBytes: pkg.wasmMemoryBytes() };
    }, gc);
}

export async function waitForNumber(page, selector, { below = -Infinity, atLeast = Infinity }, timeout) {
    await page.waitForFunction(
        ([sel, lo, hi]) => {
            const x = parseFloat(document.querySelector(sel).textContent.replace(/,/g, ''));
            return x < lo || x >= hi;
        },
        [selector, below, atLeast],
        { timeout, polling: 200 },
    );
}

/** Starts the static server (cross-origin isolated with `isolate`; or `start()`'s
 *  server, any {url, close}) and Chromium (with extra `flags`) before a file's
 *  tests and stops both after them; the returned object holds `server` and `browser`. */
export function useServerAndBrowser({ isolate = false, flags = [], start = () => serve({ isolate }) } = {}) {
    const env = {};
    before(async () => {
        env.server = await start();
        env.browser = await launch(flags);
    });
    after(async () => {
        await env.browser?.close();
        env.server?.close();
    });
    return env;
}
