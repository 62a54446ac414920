// The sweep's plan in Node (no browser): value lists and ranges, the grid, the
// seeded random search and the messages for bad input.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { label, parseDim, plan, runConfig, setConstants, MAX_RUNS, SWEEPABLE } from '../www/lab/sweep-plan.js';

// The kinds, choices, labels and ranges come from the wasm build, as in the page.
const pkg = await import('../www/pkg/makemore.js');
pkg.initSync({ module: readFileSync(new URL('../www/pkg/makemore_bg.wasm', import.meta.url)) });
assert.throws(() => parseDim('n_hidden', '100'), /still loading/);
setConstants(pkg.constants());

test('the kinds, choices, labels, ranges and init schemes are Rust\'s', () => {
    const { settings, limits } = pkg.constants();
    for (const [key, spec] of Object.entries(SWEEPABLE)) {
        assert.equal(spec.type, settings[key].kind, key);
        assert.deepEqual(spec.choices, settings[key].choices, key);
        assert.equal(spec.short, settings[key].short, key);
    }
    assert.deepEqual(SWEEPABLE.optimizer.choices, ['sgd', 'adam', 'adamw']);
    assert.deepEqual(SWEEPABLE.init.choices, pkg.diagnosticsConstants().initSchemes.map((s) => s.name));
    assert.equal(SWEEPABLE.n_hidden.max, limits.n_hidden.max);
    assert.throws(() => parseDim('n_hidden', String(SWEEPABLE.n_hidden.max + 1)), /out of range/);
    assert.deepEqual(parseDim('init', 'uniform, kaiming').values, ['uniform', 'kaiming']);
    assert.throws(() => parseDim('init', 'xavier'), /not one of naive, uniform/);
});

test('lists and ranges become values', () => {
    assert.deepEqual(parseDim('n_hidden', '100, 200 300').values, [100, 200, 300]);
    assert.deepEqual(parseDim('n_hidden', '100..300 by 100').values, [100, 200, 300]);
    assert.deepEqual(parseDim('lr', '0.001..0.1 log 3').values, [0.001, 0.01, 0.1]);
    assert.deepEqual(parseDim('lr_decay', 'none | cosine:0.05 100:0.1,200:0.1').values, ['none', 'cosine:0.05', '100:0.1,200:0.1']);
    assert.deepEqual(parseDim('direct', 'true, false').values, [true, false]);
    assert.deepEqual(parseDim('lr', '0.01..0.1 log'), { key: 'lr', lo: 0.01, hi: 0.1, log: true });
});

test('bad values are named', () => {
    assert.throws(() => parseDim('n_hidden', '100, 2.5'), /n_hidden: 2.5 is not a whole number/);
    assert.throws(() => parseDim('n_hidden', '0'), /out of range/);
    assert.throws(() => parseDim('lr', 'fast'), /not a number/);
    assert.throws(() => parseDim('optimizer', 'adam, lbfgs'), /lbfgs.*not one of/);
    assert.throws(() => parseDim('n_hidden', '300..100'), /empty/);
    assert.throws(() => parseDim('colour', '1'), /cannot be swept/);
    assert.throws(() => parseDim('n_hidden', ''), /give values/);
});

test('a grid is every combination; a random search is seeded and stays in range', () => {
    const dims = [parseDim('n_hidden', '16, 32'), parseDim('n_embd', '2, 4')];
    const grid = plan({ dims, mode: 'grid' });
    assert.equal(grid.length, 4);
    assert.deepEqual(grid.map(label), ['H=16 E=2', 'H=16 E=4', 'H=32 E=2', 'H=32 E=4']);
    const open = [parseDim('lr', '0.001..0.1 log'), parseDim('n_hidden', '10..50')];
    assert.throws(() => plan({ dims: open, mode: 'grid' }), /random search/);
    const a = plan({ dims: open, mode: 'random', count: 20, seed: 7 });
    assert.deepEqual(a, plan({ dims: open, mode: 'random', count: 20, seed: 7 }));
    assert.notDeepEqual(a, plan({ dims: open, mode: 'random', count: 20, seed: 8 }));
    assert.ok(a.every((r) => r.lr >= 0.001 && r.lr <= 0.1 && Number.isInteger(r.n_hidden) && r.n_hidden >= 10 && r.n_hidden <= 50));
    const many = [parseDim('n_hidden', '1..9 by 1'), parseDim('n_embd', '1..9 by 1')];
    assert.throws(() => plan({ dims: many, mode: 'grid' }), new RegExp(`81 runs, more than ${MAX_RUNS}`));
    assert.throws(() => plan({ dims: [dims[0], dims[0]], mode: 'grid' }), /twice/);
    assert.throws(() => plan({ dims: [], mode: 'grid' }), /1 to 3/);
});

test('each run gets the base settings, its overrides and the step budget', () => {
    const config = runConfig({ preset: 'e01', seed: 42, n_hidden: 256 }, { n_hidden: 16 }, 50);
    assert.deepEqual(config, { preset: 'e01', seed: 42, n_hidden: 16, steps: 50, eval_every: 10 });
    assert.throws(() => runConfig({}, {}, 0), /step budget/);
});
