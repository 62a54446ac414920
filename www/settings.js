// The settings form is the one list of knobs: its element names are the wasm
// config's keys. This module reads and fills it, and mirrors it in the URL as
// the preset plus the fields that differ from it, so a link reproduces a run.

/** The form's named controls. */
const controls = (form) => [...form.elements].filter((el) => el.name);

function read(el) {
    if (el.type === 'checkbox') return el.checked;
    if (el.type === 'number') return el.value === '' ? undefined : Number(el.value);
    return el.value;
}

function write(el, value) {
    if (el.type === 'checkbox') el.checked = Boolean(value);
    else el.value = String(value);
}

/** A URL parameter as the control's type. */
function parse(el, text) {
    if (el.type === 'checkbox') return text === 'true' || text === '1';
    if (el.type === 'number') return Number(text);
    return text;
}

/** The config object the form describes (empty number fields left to the preset). */
export function readForm(form) {
    const config = {};
    for (const el of controls(form)) {
        const value = read(el);
        if (value !== undefined) config[el.name] = value;
    }
    return config;
}

/** Sets every control named in `config`. */
export function fillForm(form, config) {
    for (const el of controls(form)) {
        if (config[el.name] !== undefined && config[el.name] !== null) write(el, config[el.name]);
    }
}

/** Whether the control can hold `value`: a menu only its own choices, a number field only numbers. */
function takes(el, value) {
    if (el.tagName === 'SELECT') return [...el.options].some((option) => option.value === value);
    if (el.type === 'number') return Number.isFinite(value);
    return true;
}

/**
 * Fills the form from the URL's query: the preset first, then each field given.
 * Returns the values it could not take (a choice the menu does not offer, a
 * number field's text that is no number), as `{key, value, kept}`: each control
 * keeps the value it had (`kept`), so the page still trains.
 */
export function fillFromUrl(form, presets, search = location.search) {
    const params = new URLSearchParams(search);
    const preset = presets[params.get('preset')] ? params.get('preset') : form.elements.preset.value;
    fillForm(form, { ...presets[preset], backend: form.elements.backend.value });
    const refused = [];
    for (const el of controls(form)) {
        if (!params.has(el.name)) continue;
        const value = parse(el, params.get(el.name));
        if (takes(el, value)) write(el, value);
        else refused.push({ key: el.name, value: params.get(el.name), kept: String(read(el) ?? '') });
    }
    return refused;
}

/** Writes the form to the URL as the preset and the fields that differ from it. */
export function saveToUrl(form, presets) {
    const config = readForm(form);
    const base = presets[config.preset] ?? {};
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(config)) {
        if (key === 'preset' || String(base[key]) !== String(value)) params.set(key, String(value));
    }
    history.replaceState(null, '', `${location.pathname}?${params}`);
}

/**
 * Sets each number control's min and max from `limits` (`constants().limits`,
 * keyed by setting), so the form and Rust's validation share one source.
 */
export function applyLimits(form, limits) {
    for (const el of controls(form)) {
        const range = limits[el.name];
        if (!range || el.type !== 'number') continue;
        el.min = String(range.min);
        if (range.max === null || range.max === undefined) el.removeAttribute('max');
        else el.max = String(range.max);
    }
}

/** Whether two configs set the same values. */
export function sameConfig(a, b) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => String(a[k]) === String(b[k]));
}
