// One source for the limits: the settings form's min/max come from the wasm
// build's constants() (src/web/constants.rs), not from index.html, and a value
// over a limit is refused by Rust with the same bound. One source for the
// settings' names and kinds: <makemore-trainer> reads every setting by each
// attribute constants().settings lists for it, and keeps no list of its own.
// Needs a built www/.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { openPage, useServerAndBrowser } from './harness.mjs';

const pkg = await import('../www/pkg/makemore.js');
pkg.initSync({ module: readFileSync(new URL('../www/pkg/makemore_bg.wasm', import.meta.url)) });
const { limits, settings } = pkg.constants();
const presets = pkg.presetConfigs();

test("resolveSettings says what a trainer's config() and vocabulary would, without building one", async () => {
    // auto's cache key (worker.js chooseDevice) reads it before it knows whether to time anything.
    const text = new Uint8Array(readFileSync(new URL('../data/names.txt', import.meta.url)));
    const config = { preset: 'e03', n_hidden: 40, steps: 1000, eval_every: 0, backend: 'auto' };
    const shape = pkg.resolveSettings(text, config);
    const t = await pkg.Trainer.createOn(text, config, 'cpu');
    try {
        assert.deepEqual(shape.config, t.config());
        assert.equal(shape.vocabSize, t.dataset().vocabSize);
    } finally {
        t.free();
    }
    assert.throws(() => pkg.resolveSettings(text, { n_hidden: limits.n_hidden.max + 1 }), /n_hidden/);
    assert.throws(() => pkg.resolveSettings(new Uint8Array([0xff, 0xfe]), {}), /UTF-16/);
});

describe('the limits come from Rust', () => {
    const env = useServerAndBrowser();

    test("the form's min and max are constants().limits", async () => {
        const html = readFileSync(new URL('../www/index.html', import.meta.url), 'utf8');
        assert.doesNotMatch(html, /name="(block_size|n_embd|n_hidden)"[^>]*\bmax=/, 'index.html still hard-codes a max');
        const { page, errors } = await openPage(env.browser, env.server.url);
        await page.waitForFunction(() => document.querySelector('input[name=n_hidden]').max !== '', null, { timeout: 30_000 });
        for (const key of ['block_size', 'n_embd', 'n_hidden', 'batch_size']) {
            const { min, max } = await page.$eval(`input[name=${key}]`, (el) => ({ min: el.min, max: el.max }));
            assert.equal(Number(min), limits[key].min, `${key} min`);
            assert.equal(Number(max), limits[key].max, `${key} max`);
        }
        // The form's menus offer Rust's choices, each once, in plain words.
        const menus = await page.$$eval('#settings select[name]', (all) => all.map((el) => ({ name: el.name, values: [...el.options].map((o) => o.value) })));
        assert.ok(menus.length >= 4, JSON.stringify(menus));
        for (const { name, values } of menus) {
            assert.equal(settings[name]?.kind, 'choice', `${name} is a menu but not a choice in constants().settings`);
            assert.deepEqual([...values].sort(), [...settings[name].choices].sort(), `the ${name} menu`);
        }
        // The form's controls are Rust's settings, each of the type its kind reads as.
        const controls = await page.$$eval('#settings [name]', (all) => all.map((el) => ({ name: el.name, type: el.type })));
        assert.deepEqual(controls.map((c) => c.name).sort(), Object.keys(settings).sort(), 'the form holds every setting, and only those');
        const TYPES = { int: ['number'], float: ['number'], bool: ['checkbox'], text: ['text'], choice: ['select-one'] };
        for (const { name, type } of controls) assert.ok(TYPES[settings[name].kind].includes(type), `${name}: a ${type} control for a ${settings[name].kind}`);
        // Rust refuses one over the limit, naming the field and the same bound.
        const over = limits.n_hidden.max + 1;
        await page.fill('input[name=n_hidden]', String(over));
        await page.dispatchEvent('#settings', 'change');
        await page.click('#reset');
        await page.locator('#settings-error:not([hidden])').waitFor({ timeout: 30_000 });
        const message = await page.textContent('#settings-error');
        assert.match(message, new RegExp(`n_hidden.*${over}.*1\\.\\.=${limits.n_hidden.max}`), message);
        assert.deepEqual(errors, []);
    });
});

/** A value of `key` that differs from `base`'s and trains on the CPU, by the setting's kind. */
function another(key, base) {
    const { kind, choices } = settings[key];
    const was = base[key];
    if (key === 'backend') return 'cpu'; // auto or webgpu could open SwiftShader's adapter
    if (kind === 'int') return was + 1;
    if (kind === 'float') return was ? was * 2 : 0.001;
    if (kind === 'bool') return !was;
    if (kind === 'text') return was === 'none' ? 'cosine:0.05' : 'none';
    return choices.find((c) => c !== was);
}

describe('the element reads the settings Rust lists', () => {
    const env = useServerAndBrowser();

    test('every setting, by each of its attributes, reaches the model', async () => {
        const source = readFileSync(new URL('../www/element.js', import.meta.url), 'utf8');
        assert.doesNotMatch(source, /['"](emb|hidden|lr-decay|weight-decay|split-seed|eval-every)['"]/, 'element.js still lists attributes');
        const base = presets.e02;
        const want = Object.fromEntries(Object.keys(settings).map((key) => [key, key === 'preset' ? 'e02' : another(key, base)]));
        // Keep the run small: it is built, not trained.
        Object.assign(want, { steps: 50, batch_size: 8, n_hidden: 12, n_embd: 3 });
        // Every attribute form of every setting: element i uses each setting's attribute i (or its last).
        const forms = Math.max(...Object.values(settings).map((s) => s.attributes.length));
        const elements = Array.from({ length: forms }, (_, i) => Object.fromEntries(Object.entries(want).map(([key, value]) => {
            const names = settings[key].attributes;
            return [names[Math.min(i, names.length - 1)], String(value)];
        })));
        const context = await env.browser.newContext();
        const page = await context.newPage();
        const errors = [];
        page.on('pageerror', (err) => errors.push(err.message));
        await page.route('**/element-check.html', (route) => route.fulfill({
            contentType: 'text/html',
            body: '<!doctype html><title>element</title><script type="module" src="element.js"></script>',
        }));
        await page.goto(`${env.server.url}element-check.html`);
        const configs = await page.evaluate((all) => Promise.all(all.map((attributes) => new Promise((resolve, reject) => {
            const el = document.createElement('makemore-trainer');
            for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, value);
            // Visible: no setting may take an attribute of every HTML element (hidden).
            el.addEventListener('ready', (event) => resolve({ ...event.detail.config, visible: el.checkVisibility() }));
            el.addEventListener('error', (event) => reject(new Error(event.detail.message)));
            document.body.append(el);
        }))), elements);
        for (const [i, config] of configs.entries()) {
            assert.ok(config.visible, `element ${i} is hidden by its attributes ${JSON.stringify(elements[i])}`);
            for (const [key, value] of Object.entries(want)) {
                assert.equal(String(config[key]), String(value), `element ${i}: ${key} (attribute ${Object.keys(elements[i]).find((n) => settings[key].attributes.includes(n))})`);
            }
        }
        assert.deepEqual(errors, []);
        await context.close();
    });
});
