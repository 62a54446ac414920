// Recovery from a NaN as a learner meets it (issue 13): an absurd learning rate
// drives the loss to NaN at once; "Reset to last good checkpoint" with a sane
// rate must then train on with finite losses, on the CPU with SGD and with Adam,
// and on WebGPU. Before the fix, the CPU's small matmul kept the NaN in its
// workspaces and every step after the reset diverged again. Needs a built www/.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openPage, useServerAndBrowser } from './harness.mjs';

const TIMEOUT = 180_000;
const MODEL = 'preset=e01&n_embd=10&n_hidden=100&batch_size=32&lr_decay=none&steps=100000&eval_every=200';

const stepOf = async (page) => Number((await page.textContent('#stat-step')).split('/')[0].replace(/,/g, ''));

describe('NaN, then reset to the last good checkpoint', () => {
    const env = useServerAndBrowser();

    for (const [backend, optimizer, resetLr] of [
        ['cpu', 'sgd', '0.1'],
        ['cpu', 'adam', '0.001'],
        ['webgpu', 'sgd', '0.1'],
    ]) {
        test(`${backend}, ${optimizer}: lr 3e38 gives NaN; the reset with lr ${resetLr} trains on`, async () => {
            const { page, errors } = await openPage(
                env.browser,
                env.server.url,
                `?${MODEL}&optimizer=${optimizer}&lr=3e38&backend=${backend}`,
            );
            await page.click('#start');
            await page.locator('#diverged:not([hidden])').waitFor({ timeout: TIMEOUT });
            assert.match(await page.textContent('#diverged-message'), /^training diverged at step \d+: the loss became (NaN|inf|-inf)/);

            await page.fill('#restore-lr', resetLr);
            await page.click('#restore');
            await page.locator('#diverged').waitFor({ state: 'hidden' });
            const from = await stepOf(page);
            await page.click('#start');
            await page.waitForFunction(
                (target) => parseFloat(document.getElementById('stat-step').textContent.replace(/,/g, '')) >= target,
                from + 300,
                { timeout: TIMEOUT },
            );
            assert.equal(await page.isHidden('#diverged'), true, `diverged again after the reset: ${await page.textContent('#diverged-message')}`);
            const loss = parseFloat(await page.textContent('#stat-loss'));
            assert.ok(Number.isFinite(loss) && loss < 3.3, `loss ${loss} after 300 steps from the reset`);
            assert.deepEqual(errors, []);
            await page.close();
        });
    }
});
