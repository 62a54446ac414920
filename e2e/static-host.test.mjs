// Threads on a plain static host: `python3 -m http.server` sends no COOP/COEP
// headers, so the page starts on one thread and offers the service-worker
// option; turned on, the page reloads once, is cross-origin isolated through
// www/coi-sw.js, says so in its badge, and trains on every core. Turned off, it
// goes back to one thread. Needs a built www/ (scripts/build-web.sh).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { join } from 'node:path';
import { repo, screenshots, useServerAndBrowser } from './harness.mjs';

const RUN = '?preset=e01&batch_size=1024&steps=200&eval_every=100&backend=cpu';

/** A free port on 127.0.0.1. */
function freePort() {
    return new Promise((resolve, reject) => {
        const s = createServer().listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        }).on('error', reject);
    });
}

/** `python3 -m http.server` on www/: no headers of ours at all. */
async function pythonServer() {
    const port = await freePort();
    const child = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', join(repo, 'www')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const url = `http://127.0.0.1:${port}/`;
    for (let i = 0; i < 100; i++) {
        try {
            if ((await fetch(url)).ok) return { url, close: () => child.kill() };
        } catch { /* not listening yet */ }
        await new Promise((r) => setTimeout(r, 100));
    }
    child.kill();
    throw new Error('python3 -m http.server did not start');
}

const badge = async (page) => (await page.textContent('#backend-badge')).replace(/\s+/g, ' ').trim();

describe('a static host without COOP/COEP', () => {
    const env = useServerAndBrowser({ start: pythonServer });

    test('the service-worker option reloads the page once, which then trains on every core', async () => {
        const context = await env.browser.newContext({ viewport: { width: 1400, height: 1000 } });
        const page = await context.newPage();
        const errors = [];
        page.on('pageerror', (err) => errors.push(err.message));
        await page.goto(`${env.server.url}${RUN}`);
        await page.locator('#start:not([disabled])').waitFor({ timeout: 60_000 });
        const cores = await page.evaluate(() => navigator.hardwareConcurrency);
        assert.ok(cores >= 2, `this test needs two cores; the browser reports ${cores}`);
        const threads = Math.min(cores, 8);
        assert.equal(await page.evaluate(() => self.crossOriginIsolated), false, 'python3 -m http.server isolated the page?');
        assert.doesNotMatch(await badge(page), /× \d+ threads/);
        await page.locator('#threads-option').waitFor({ state: 'visible' });

        // On: one reload, then isolated through the service worker.
        const reloaded = page.waitForEvent('load', { timeout: 60_000 });
        await page.check('#threads-sw');
        await reloaded;
        await page.waitForFunction(() => self.crossOriginIsolated, null, { timeout: 60_000 });
        await page.locator('#start:not([disabled])').waitFor({ timeout: 60_000 });
        await page.waitForFunction(() => /× \d+ threads/.test(document.querySelector('#backend-name').textContent), null, { timeout: 60_000 });
        const on = await badge(page);
        assert.match(on, new RegExp(`CPU × ${threads} threads`), on);
        assert.match(on, /through a service worker that makes this page cross-origin isolated/, on);
        assert.equal(await page.isChecked('#threads-sw'), true);

        await page.click('#start');
        await page.locator('#final-table:not([hidden])').waitFor({ timeout: 120_000 });
        const dev = parseFloat(await page.textContent('#final-dev'));
        assert.ok(dev < 3.0, `dev ${dev} after 200 steps on ${threads} threads`);
        await page.screenshot({ path: join(screenshots, 'static-host-threads.png'), fullPage: true });

        // Off: the worker goes, the page reloads and is back on one thread.
        const back = page.waitForEvent('load', { timeout: 60_000 });
        await page.uncheck('#threads-sw');
        await back;
        await page.locator('#start:not([disabled])').waitFor({ timeout: 60_000 });
        assert.equal(await page.evaluate(() => self.crossOriginIsolated), false);
        assert.equal(await page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length), 0);
        assert.deepEqual(errors, []);
        await context.close();
    });
});
