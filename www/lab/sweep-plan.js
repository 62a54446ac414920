// A sweep's plan: which settings to vary, the values each may take (a list or
// a range), and the runs that follow from them, as a full grid or a seeded
// random search. Pure functions, no DOM: e2e/sweep-plan.test.mjs runs them in Node.
//
// Values, per setting:
//   100, 200, 300         a list (for lr_decay, separate with spaces or |, as its
//                         values hold commas: "none | cosine:0.05 | 10000:0.1")
//   100..300 by 100       a range with a step (grid or random)
//   0.001..0.1 log 3      3 values spaced evenly on a log scale (grid or random)
//   0.001..0.1 log        log-uniform (random search only)
//   10..50                uniform (random search only)

export const MAX_DIMS = 3;
export const MAX_RUNS = 64;
export const MAX_BUDGET = 1_000_000;

/**
 * The settings a sweep can vary. What each is (its kind: int, float, bool, text
 * or choice; its choices; its short label; its range) comes from Rust through
 * `setConstants` (the worker's `constants` message, `constants()`); until then a
 * value cannot be read, and Rust checks every run's settings when it builds the run.
 */
export const SWEEPABLE = Object.fromEntries(
    ['n_hidden', 'n_embd', 'block_size', 'batch_size', 'lr', 'weight_decay', 'lr_decay', 'optimizer', 'init', 'direct']
        .map((key) => [key, {}]),
);

/**
 * Takes each setting's kind, choices and short label (`constants().settings`)
 * and its range (`constants().limits`) from the wasm build's `constants()`.
 */
export function setConstants({ settings, limits }) {
    for (const [key, spec] of Object.entries(SWEEPABLE)) {
        const { kind, choices, short } = settings[key];
        const range = limits[key];
        Object.assign(spec, { type: kind, choices, short, min: range?.min, max: range?.max ?? undefined });
    }
}

const RANGE = /^(\S+)\s*\.\.\s*(\S+?)(?:\s+(by|log)(?:\s+(\S+))?)?$/;

function number(key, text) {
    const spec = SWEEPABLE[key];
    const x = Number(text);
    if (text === '' || !Number.isFinite(x)) throw new Error(`${key}: ${JSON.stringify(text)} is not a number`);
    if (spec.type === 'int' && !Number.isInteger(x)) throw new Error(`${key}: ${text} is not a whole number`);
    if ((spec.min !== undefined && x < spec.min) || (spec.max !== undefined && x > spec.max)) {
        throw new Error(`${key}: ${text} is out of range; use ${spec.min ?? '-∞'}..${spec.max ?? '∞'}`);
    }
    return x;
}

function value(key, text) {
    const spec = SWEEPABLE[key];
    if (spec.type === 'int' || spec.type === 'float') return number(key, text);
    if (spec.type === 'bool') {
        if (/^(true|yes|on|1)$/i.test(text)) return true;
        if (/^(false|no|off|0)$/i.test(text)) return false;
        throw new Error(`${key}: ${JSON.stringify(text)} is not true or false`);
    }
    if (spec.type === 'choice' && !spec.choices.includes(text)) {
        throw new Error(`${key}: ${JSON.stringify(text)} is not one of ${spec.choices.join(', ')}`);
    }
    return text;
}

const round = (key, x) => (SWEEPABLE[key].type === 'int' ? Math.round(x) : Number(x.toPrecision(4)));

/**
 * What one setting's text allows: `{key, values}` for a finite set, or
 * `{key, lo, hi, log}` for a continuous range (random search only).
 */
export function parseDim(key, text) {
    const spec = SWEEPABLE[key];
    if (!spec) throw new Error(`${JSON.stringify(key)} cannot be swept; pick one of ${Object.keys(SWEEPABLE).join(', ')}`);
    if (!spec.type) throw new Error(`${key}: the settings are still loading; try again in a moment`);
    const t = String(text ?? '').trim();
    if (!t) throw new Error(`${key}: give values, like ${spec.type === 'int' ? '100, 200, 300' : '0.01, 0.03, 0.1'}`);
    const range = t.match(RANGE);
    if (range && (spec.type === 'int' || spec.type === 'float')) {
        const [, a, b, how, n] = range;
        const lo = number(key, a);
        const hi = number(key, b);
        if (!(hi > lo)) throw new Error(`${key}: the range ${t} is empty; write low..high`);
        if (how === 'by') {
            const step = Number(n);
            if (!(step > 0)) throw new Error(`${key}: "by" needs a step above 0, like ${lo}..${hi} by ${hi - lo}`);
            const count = Math.floor((hi - lo) / step + 1e-9) + 1;
            if (count > MAX_RUNS) throw new Error(`${key}: ${t} makes ${count} values; use a larger step`);
            return { key, values: [...new Set(Array.from({ length: count }, (_, i) => round(key, lo + i * step)))] };
        }
        if (how === 'log' && n !== undefined) {
            const count = Number(n);
            if (!Number.isInteger(count) || count < 2 || count > MAX_RUNS) {
                throw new Error(`${key}: "log" takes a count of 2..${MAX_RUNS} values`);
            }
            if (!(lo > 0)) throw new Error(`${key}: a log range must start above 0`);
            const values = Array.from({ length: count }, (_, i) => round(key, lo * (hi / lo) ** (i / (count - 1))));
            return { key, values: [...new Set(values)] };
        }
        if (how === 'log' && !(lo > 0)) throw new Error(`${key}: a log range must start above 0`);
        return { key, lo, hi, log: how === 'log' };
    }
    const parts = t.split(spec.type === 'text' ? /[\s|]+/ : /[\s,]+/).filter(Boolean);
    return { key, values: [...new Set(parts.map((p) => value(key, p)))] };
}

/** A seeded generator of numbers in [0, 1) (mulberry32). */
export function random(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6D2B79F5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

function draw(dim, rand) {
    if (dim.values) return dim.values[Math.floor(rand() * dim.values.length)];
    const u = rand();
    const x = dim.log ? dim.lo * (dim.hi / dim.lo) ** u : dim.lo + u * (dim.hi - dim.lo);
    return round(dim.key, x);
}

/**
 * The runs of a sweep, each the settings it changes: every combination for
 * `mode: 'grid'`, or `count` random draws (seeded by `seed`) for 'random'.
 */
export function plan({ dims, mode, count, seed }) {
    if (dims.length < 1 || dims.length > MAX_DIMS) throw new Error(`pick 1 to ${MAX_DIMS} settings to sweep`);
    const keys = dims.map((d) => d.key);
    const twice = keys.find((k, i) => keys.indexOf(k) !== i);
    if (twice) throw new Error(`${twice} is picked twice; pick each setting once`);
    if (mode === 'random') {
        if (!Number.isInteger(count) || count < 1 || count > MAX_RUNS) throw new Error(`random search takes 1..${MAX_RUNS} runs`);
        const rand = random(seed);
        return Array.from({ length: count }, () => Object.fromEntries(dims.map((d) => [d.key, draw(d, rand)])));
    }
    const open = dims.find((d) => !d.values);
    if (open) {
        throw new Error(`${open.key}: a grid needs values, not an open range; write ${open.lo}..${open.hi} by STEP or log N, or use random search`);
    }
    const total = dims.reduce((n, d) => n * d.values.length, 1);
    if (total > MAX_RUNS) throw new Error(`the grid has ${total} runs, more than ${MAX_RUNS}; give fewer values`);
    return dims.reduce((runs, d) => runs.flatMap((r) => d.values.map((v) => ({ ...r, [d.key]: v }))), [{}]);
}

/** "H=200 E=10": what a run changes, in short labels. */
export function label(overrides) {
    return Object.entries(overrides).map(([k, v]) => `${SWEEPABLE[k]?.short ?? k}=${v}`).join(' ');
}

/** The settings of run `overrides` of a sweep from `base` with `budget` steps. */
export function runConfig(base, overrides, budget) {
    if (!Number.isInteger(budget) || budget < 1 || budget > MAX_BUDGET) {
        throw new Error(`the step budget must be a whole number of 1..${MAX_BUDGET} steps`);
    }
    return { ...base, ...overrides, steps: budget, eval_every: Math.max(1, Math.round(budget / 5)) };
}
