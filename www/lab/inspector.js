// The inspector panel: the user types a word; for each position it shows the
// context the model saw, a bar for its probability of the actual next
// character, the top-5 alternatives, and then the word's total negative
// log-likelihood against the dev average. It asks the worker again after each
// evaluation, so it follows the model during training.

const pct = (p) => (p >= 0.995 ? '100%' : p >= 0.001 ? `${(p * 100).toFixed(1)}%` : `${(p * 100).toExponential(0)}%`);

function el(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (className) e.className = className;
    return e;
}

export class Inspector {
    /** `send(msg)` posts to the worker; the elements are the panel's. */
    constructor({ form, input, rows, summary, error, send }) {
        this.input = input;
        this.rows = rows;
        this.summary = summary;
        this.error = error;
        this.send = send;
        this.word = '';
        form.addEventListener('submit', (event) => {
            event.preventDefault();
            this.word = input.value.trim();
            this.refresh();
        });
    }

    refresh() {
        if (this.word) this.send({ type: 'inspect', word: this.word });
    }

    showError(message) {
        this.error.textContent = message;
        this.error.hidden = false;
        this.rows.replaceChildren();
        this.summary.replaceChildren();
        delete this.summary.dataset.nll;
    }

    show(r) {
        if (r.word !== this.word) return;
        this.error.hidden = true;
        this.rows.replaceChildren(...r.positions.map((q) => this.row(q)));
        const n = r.positions.length;
        const expected = r.devLoss * n;
        this.summary.dataset.nll = String(r.nll);
        this.summary.dataset.inTrain = String(r.inTrain);
        const verdict = r.nll < expected ? 'more likely than' : 'less likely than';
        this.summary.replaceChildren(
            el('strong', `NLL ${r.nll.toFixed(4)} nats`),
            ` over ${n} characters (end included): ${r.nllPerChar.toFixed(4)} per character, against a dev average of ${r.devLoss.toFixed(4)} (${expected.toFixed(2)} for ${n}); `,
            el('span', `${verdict} an average word of its length. `),
            el('span', r.inTrain ? 'In the training set.' : 'Not in the training set.', r.inTrain ? 'flag seen' : 'flag new'),
        );
    }

    row(q) {
        const tr = document.createElement('tr');
        const context = el('td', q.context, 'mono');
        const next = el('td', q.next === '.' ? '. (end)' : q.next, 'mono next');
        const bar = el('div', undefined, 'bar');
        bar.style.width = `${Math.max(0.5, q.prob * 100)}%`;
        const track = el('div', undefined, 'track');
        track.append(bar);
        track.setAttribute('role', 'img');
        track.setAttribute('aria-label', `probability ${pct(q.prob)}`);
        const prob = el('td', undefined, 'prob');
        prob.append(track, el('span', pct(q.prob)));
        const top = el('td', undefined, 'top');
        for (const c of q.top) top.append(el('span', `${c.ch} ${pct(c.prob)}`, c.ch === q.next ? 'alt actual' : 'alt'));
        tr.append(context, next, prob, top);
        return tr;
    }
}
