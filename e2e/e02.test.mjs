// The E02 view trains every init scheme for a small budget on the CPU and shows
// a curve and a row for each, beside the notebook's figures; the diagnostics
// panel draws; the learning-rate finder offers a rate that one click puts in the
// settings. Saves e2e/screenshots/e02.png.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { openPage, screenshots, useServerAndBrowser } from './harness.mjs';

const env = useServerAndBrowser();
const SCHEMES = ['naive', 'uniform', 'uniform-zero-output', 'uniform-small-output', 'small-output', 'kaiming'];

test('E02: every init scheme gets a curve and a row; diagnostics and the LR finder work', async () => {
    const { page, errors } = await openPage(env.browser, env.server.url, '?preset=e02&backend=cpu');

    // Diagnostics of the fresh model, then live while training.
    await page.waitForFunction(() => document.querySelector('#diagnostics .diag-summary').textContent.includes('saturated'), null, { timeout: 60_000 });
    const map = await page.evaluate(() => {
        const c = document.querySelector('#diagnostics .diag-map');
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let white = 0;
        for (let i = 0; i < px.length; i += 4) white += px[i] === 255;
        return { w: c.width, h: c.height, white };
    });
    assert.deepEqual([map.w, map.h], [100, 256], 'one pixel per hidden unit and probe example');
    // Before Start, on a browser that never ran these settings: a measured estimate.
    await page.waitForFunction(() => /steps will take (under a minute|about [\d.]+ (min|h)) on the CPU/.test(document.querySelector('#run-eta').textContent), null, { timeout: 60_000 })
        .catch(async (err) => assert.fail(`${err.message}; the estimate says: ${await page.textContent('#run-eta')}`));
    await page.click('#start');
    await page.locator('#diagnostics .diag-ratio .u-over').waitFor({ timeout: 60_000 });
    await page.waitForFunction(() => /left on/.test(document.querySelector('#run-eta').textContent), null, { timeout: 60_000 });
    await page.click('#start'); // pause

    // The learning-rate finder: a rate, and one click puts it in the settings.
    await page.click('#lr-find');
    await page.locator('#lr-use:not([hidden])').waitFor({ timeout: 120_000 })
        .catch(async (err) => assert.fail(`${err.message}; the finder says: ${await page.textContent('#lr-status')}`));
    const suggested = Number((await page.textContent('#lr-use')).replace('Use ', ''));
    assert.ok(suggested > 0 && suggested < 1, `suggested ${suggested}`);
    await page.click('#lr-use');
    assert.equal(Number(await page.inputValue('#settings [name=lr]')), suggested);

    // E02 with a small budget and batch.
    await page.fill('#e02-steps', '40');
    await page.fill('#e02-batch', '256');
    await page.dispatchEvent('#e02-batch', 'change');
    await page.waitForFunction(() => /about|under a minute/.test(document.querySelector('#e02-estimate').textContent), null, { timeout: 60_000 });
    await page.click('#e02-start');
    await page.waitForFunction(() => document.querySelector('#e02-status').textContent.startsWith('Done'), null, { timeout: 300_000 });
    const rows = await page.$$eval('#e02-rows tr', (trs) => trs.map((tr) => ({
        scheme: tr.dataset.scheme, points: Number(tr.dataset.points), cells: [...tr.children].map((td) => td.textContent),
    })));
    assert.deepEqual(rows.map((r) => r.scheme), SCHEMES);
    const uniform = Number(await page.textContent('#uniform-loss'));
    for (const r of rows) {
        assert.ok(r.points >= 40, `${r.scheme}: ${r.points} curve points`);
        const [start, end] = [Number(r.cells[2]), Number(r.cells[4])];
        assert.ok(Number.isFinite(start) && Number.isFinite(end), `${r.scheme}: ${r.cells}`);
        assert.notEqual(r.cells[3], '', `${r.scheme}: the notebook's figure`);
    }
    const start = (s) => Number(rows.find((r) => r.scheme === s).cells[2]);
    assert.ok(Math.abs(start('uniform-zero-output') - uniform) < 1e-3, `${start('uniform-zero-output')} vs ln V ${uniform}`);
    assert.ok(start('naive') > 10, `naive starts at ${start('naive')}`);
    assert.equal(rows.find((r) => r.scheme === 'uniform-zero-output').cells[7], '100%', 'all saturated after training');
    const legend = await page.$$eval('#e02-chart .u-legend .u-series', (s) => s.map((x) => x.textContent.trim()));
    for (const scheme of SCHEMES) assert.ok(legend.includes(scheme), `${scheme} is not on the chart: ${legend}`);
    assert.match(await page.textContent('#e02-time'), /This page took .* the notebook's runs .* took hours/);
    console.log('E02 rows', rows.map((r) => `${r.scheme}: ${r.cells[2]} → ${r.cells[4]} (saturated ${r.cells[6]} → ${r.cells[7]})`), await page.textContent('#e02-time'));

    await page.screenshot({ path: join(screenshots, 'e02.png'), fullPage: true });
    await page.locator('#e02-panel').screenshot({ path: join(screenshots, 'e02-panel.png') });
    await page.locator('#diagnostics-panel').screenshot({ path: join(screenshots, 'e02-diagnostics.png') });
    assert.deepEqual(errors, []);
});

test('<makemore-trainer diagnostics> draws its compact diagnostics while training', async () => {
    const context = await env.browser.newContext({ viewport: { width: 1300, height: 1100 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${env.server.url}examples/lesson.html?backend=cpu`);
    await page.evaluate(() => customElements.whenDefined('makemore-trainer'));
    await page.evaluate(() => document.body.insertAdjacentHTML('afterbegin',
        '<makemore-trainer id="diag" preset="e02" backend="cpu" steps="300" diagnostics autostart compact></makemore-trainer>'));
    await page.waitForFunction(() => document.querySelector('#diag')?.shadowRoot?.querySelector('.diag-summary')?.textContent.includes('saturated'), null, { timeout: 120_000 });
    const map = await page.evaluate(() => {
        const c = document.querySelector('#diag').shadowRoot.querySelector('.diag-map');
        return [c.width, c.height];
    });
    assert.deepEqual(map, [100, 256]);
    await page.locator('#diag').screenshot({ path: join(screenshots, 'e02-element.png') });
    assert.deepEqual(errors, []);
    await context.close();
});
