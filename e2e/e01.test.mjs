// The E01 preset trains to dev < 2.20 in the page on the CPU path (about a
// minute on one core). Saves e2e/screenshots/e01.png.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { openPage, screenshots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();

test('E01 reaches dev < 2.20 on the CPU', async () => {
    const { page, errors } = await openPage(env.browser, env.server.url, '?preset=e01&backend=cpu');
    const started = Date.now();
    await page.click('#start');
    await page.locator('#final-table:not([hidden])').waitFor({ timeout: 600_000 });
    const dev = Number(await page.textContent('#final-dev'));
    const stats = Object.fromEntries(await Promise.all(['stat-sps', 'stat-eps', 'stat-elapsed'].map(async (id) => [id, await page.textContent(`#${id}`)])));
    console.log(`E01 on the CPU: dev ${dev} after ${((Date.now() - started) / 1000).toFixed(0)} s`, stats);
    await page.screenshot({ path: join(screenshots, 'e01.png'), fullPage: true });
    assert.ok(dev < 2.2, `dev loss ${dev}`);
    assert.deepEqual(errors, []);
});
