// The table of finished runs: what each changed, its losses, backend and time,
// sorted by run or by dev loss, with a checkbox to overlay its curve and a
// button to reopen it. The run with the lowest dev loss among those shown is
// highlighted, and only its test loss is shown, so nobody tunes on test.

import { count, duration, loss } from '../format.js';
import { label } from './sweep-plan.js';


/** The model and recipe in a few words, for runs outside a sweep. */
function describe(c) {
    return `T=${c.block_size} E=${c.n_embd} H=${c.n_hidden}${c.direct ? ' W3' : ''} ${c.optimizer} lr=${c.lr} batch=${c.batch_size}`;
}

function cell(tag, text, attrs = {}) {
    const el = document.createElement(tag);
    el.textContent = text;
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    return el;
}

/** The lowest-dev run among `runs`, or undefined. */
export function best(runs) {
    return runs.reduce((b, r) => (Number.isFinite(r.final.dev) && !(b?.final.dev <= r.final.dev) ? r : b), undefined);
}

export class RunsTable {
    /**
     * `body` is the table's tbody; `sortButtons` the header buttons with data-sort;
     * `onSelect(ids)` gets the checked runs, `onReopen(run)` a run to load.
     */
    constructor({ body, sortButtons, onSelect, onReopen }) {
        this.body = body;
        this.sortButtons = sortButtons;
        this.onSelect = onSelect;
        this.onReopen = onReopen;
        this.sort = 'id';
        this.selected = new Set();
        this.runs = [];
        for (const button of sortButtons) {
            button.addEventListener('click', () => {
                this.sort = button.dataset.sort;
                this.render();
            });
        }
    }

    /** Shows `runs`; `select` adds run ids to the overlay selection (kept across filters). */
    show(runs, select = []) {
        this.runs = runs;
        select.forEach((id) => this.selected.add(id));
        this.render();
        this.changed();
    }

    /** Tells `onSelect` the ticked runs among those shown. */
    changed() {
        this.onSelect(this.runs.filter((r) => this.selected.has(r.id)).map((r) => r.id));
    }

    sorted() {
        const byDev = (a, b) => (Number.isFinite(a.final.dev) ? a.final.dev : Infinity) - (Number.isFinite(b.final.dev) ? b.final.dev : Infinity);
        return [...this.runs].sort(this.sort === 'dev' ? byDev : (a, b) => a.id - b.id);
    }

    render() {
        for (const button of this.sortButtons) {
            button.closest('th').setAttribute('aria-sort', button.dataset.sort === this.sort ? 'ascending' : 'none');
        }
        const winner = best(this.runs);
        this.body.replaceChildren(...this.sorted().map((run) => this.row(run, run === winner)));
    }

    row(run, isBest) {
        const tr = document.createElement('tr');
        tr.dataset.id = run.id;
        if (isBest) tr.classList.add('best');
        const check = document.createElement('input');
        check.type = 'checkbox';
        check.checked = this.selected.has(run.id);
        check.setAttribute('aria-label', `overlay run ${run.id}`);
        check.addEventListener('change', () => {
            if (check.checked) this.selected.add(run.id);
            else this.selected.delete(run.id);
            this.changed();
        });
        const pick = document.createElement('td');
        pick.append(check);
        const what = run.sweep ? `${label(run.sweep.overrides)}` : describe(run.config);
        const name = cell('td', what, { class: 'what', title: describe(run.config) });
        if (run.sweep) name.prepend(cell('span', `sweep ${run.sweep.id} · ${run.sweep.index + 1}/${run.sweep.total} `, { class: 'tag' }));
        if (isBest) name.prepend(cell('span', '★ best ', { class: 'star' }));
        const test = isBest
            ? cell('td', loss(run.final.test), { class: 'test' })
            : cell('td', 'hidden', { class: 'test muted', title: 'Only the best run on dev shows its test loss, so you tune on dev, not on test.' });
        const reopen = document.createElement('button');
        reopen.type = 'button';
        reopen.textContent = 'Reopen';
        reopen.disabled = !run.weights;
        reopen.title = run.weights ? 'Load this run\'s weights into the trainer' : (run.weightsNote ?? 'no weights kept');
        reopen.addEventListener('click', () => this.onReopen(run));
        const actions = document.createElement('td');
        actions.append(reopen);
        if (run.weightsNote) actions.append(cell('small', run.weightsNote, { class: 'note' }));
        tr.append(
            pick,
            cell('td', String(run.id)),
            name,
            cell('td', count(run.steps)),
            cell('td', run.backend === 'webgpu' ? 'WebGPU' : 'CPU'),
            cell('td', duration(run.ms)),
            cell('td', loss(run.final.train)),
            cell('td', loss(run.final.dev), { class: 'dev' }),
            test,
            actions,
        );
        return tr;
    }
}
