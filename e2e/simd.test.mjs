// The single-threaded CPU path's two wasm builds (www/wasm.js): Chromium runs
// relaxed SIMD, so an unisolated page loads www/pkg-relaxed, says so in the
// badge's details, and trains. Needs a built www/ (scripts/build-web.sh).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openPage, useServerAndBrowser, waitForNumber } from './harness.mjs';

describe('simd builds', () => {
    const env = useServerAndBrowser();

    test('the page trains on the relaxed-SIMD build where the browser runs it, and says so', async () => {
        const { page, errors } = await openPage(env.browser, env.server.url, '?preset=e01&steps=300&eval_every=300&backend=cpu');
        await page.click('#start');
        await page.locator('#final-table:not([hidden])').waitFor({ timeout: 120_000 });
        await waitForNumber(page, '#final-dev', { below: 3.3 }, 1000);
        const badge = (await page.textContent('#backend-badge')).replace(/\s+/g, ' ').trim();
        assert.match(badge, /relaxed-SIMD build \(fused multiply-add\): this browser runs relaxed SIMD/, badge);
        assert.deepEqual(errors, []);
    });
});
