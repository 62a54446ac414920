// The threaded CPU path: served cross-origin isolated (scripts/serve.sh does),
// the page loads the threaded wasm build (www/pkg-threads, a rayon pool of Web
// Workers on shared memory), says so in the badge and trains to a dev loss the
// single-threaded build also reaches; without isolation it says why it uses one
// thread. Needs a built www/ (scripts/build-web.sh).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { launch, openPage, screenshots, serve, waitForNumber } from './harness.mjs';

const RUN = '?preset=e01&batch_size=2048&steps=400&eval_every=200&backend=cpu';

describe('threads', () => {
    let isolated;
    let plain;
    let browser;

    before(async () => {
        [isolated, plain, browser] = await Promise.all([serve({ isolate: true }), serve(), launch()]);
    });

    after(async () => {
        await browser?.close();
        isolated?.close();
        plain?.close();
    });

    async function trainedDev(url, query) {
        const { page, errors } = await openPage(browser, url, query);
        await page.click('#start');
        await page.locator('#final-table:not([hidden])').waitFor({ timeout: 120_000 });
        await waitForNumber(page, '#final-dev', { below: 2.5 }, 1000);
        const dev = parseFloat(await page.textContent('#final-dev'));
        const badge = (await page.textContent('#backend-badge')).replace(/\s+/g, ' ').trim();
        return { page, errors, dev, badge };
    }

    test('a cross-origin isolated page trains on every core, as well as on one', async () => {
        const cores = await (await browser.newPage()).evaluate(() => navigator.hardwareConcurrency);
        assert.ok(cores >= 2, `this test needs two cores; the browser reports ${cores}`);
        const many = await trainedDev(isolated.url, RUN);
        const threads = Math.min(cores, 8);
        assert.match(many.badge, new RegExp(`CPU × ${threads} threads`), many.badge);
        assert.match(many.badge, /cross-origin isolated/, many.badge);
        assert.equal(await many.page.evaluate(() => self.crossOriginIsolated), true);
        await many.page.screenshot({ path: join(screenshots, 'threads.png'), fullPage: true });
        assert.deepEqual(many.errors, []);

        // The same run on the single-threaded build: same batches, same model, so
        // the dev loss agrees up to the order of float sums across shards.
        const one = await trainedDev(isolated.url, `${RUN}&threads=1`);
        assert.match(one.badge, /one thread, as asked/, one.badge);
        assert.ok(Math.abs(one.dev - many.dev) < 2e-3, `dev ${many.dev} on ${threads} threads, ${one.dev} on one`);
    });

    test('without isolation the page says why it trains on one thread', async () => {
        const { badge, errors } = await trainedDev(plain.url, RUN);
        assert.match(badge, /^CPU /, badge);
        assert.doesNotMatch(badge, /× \d+ threads/, badge);
        assert.match(badge, /not cross-origin isolated/, badge);
        assert.deepEqual(errors, []);
    });
});
