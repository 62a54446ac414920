// What the browser says about its WebGPU adapter: whether there is one, what it
// is (GPUAdapter.info: vendor, architecture, description) and whether it is a
// fallback (software) adapter such as SwiftShader. The worker reads it to choose
// a backend; the page and the element show it in their details.

/**
 * Resolves to {available: false, error} or {available: true, vendor,
 * architecture, description, fallback, label}; `label` names the adapter in a
 * few words ("nvidia ampere", "SwiftShader").
 */
export async function adapterFacts() {
    const gpu = self.navigator?.gpu;
    if (!gpu) return { available: false, error: 'this browser has no WebGPU (navigator.gpu is missing)' };
    let adapter;
    try {
        adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    } catch (err) {
        return { available: false, error: `navigator.gpu.requestAdapter() failed: ${err?.message ?? err}` };
    }
    if (!adapter) return { available: false, error: 'navigator.gpu.requestAdapter() found no adapter' };
    const info = adapter.info ?? {};
    const facts = {
        available: true,
        vendor: info.vendor ?? '',
        architecture: info.architecture ?? '',
        description: info.description ?? '',
        // Older Chrome has the flag on the adapter, newer on its info.
        fallback: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter),
    };
    return { ...facts, label: adapterLabel(facts) };
}

/** "nvidia ampere"; or its description. */
function adapterLabel({ vendor, architecture, description, fallback }) {
    const named = [vendor, architecture].filter(Boolean).join(' ') || description;
    if (named) return named;
    return fallback ? 'an unnamed software adapter' : 'an unnamed adapter';
}

/** The adapter's facts as lines for a details disclosure. */
export function adapterLines(facts) {
    if (!facts) return [];
    if (!facts.available) return [`WebGPU: ${facts.error}`];
    return [
        `adapter: vendor "${facts.vendor}", architecture "${facts.architecture}", description "${facts.description}"`,
        `fallback (software) adapter: ${facts.fallback ? 'yes' : 'no'}`,
    ];
}
