// Checks request bodies Keysat sent to Stripe against the `stripe` npm
// package's own TypeScript types, with the TypeScript compiler:
//   node stripe-types.mjs <requests.jsonl>
// Each line is {"type": "Checkout.SessionCreateParams", "form": [[key, value], …]}:
// the form-encoded fields, as sent. They are turned back into the object
// Stripe's bracket notation stands for (digit strings become numbers and
// "true"/"false" booleans, except under `metadata`, whose values are strings)
// and assigned to a constant of `Stripe.<type>`; an unknown field, a missing
// required one or a wrong type is a compile error. Prints "N/M conform" and
// every error; exits 1 if any request does not conform.
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = dirname(fileURLToPath(import.meta.url));
const lines = readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.trim());
const requests = lines.map((l) => JSON.parse(l));

function leaf(path, v) {
  if (path.includes('metadata')) return v;
  if (/^\d+$/.test(v)) return Number(v);
  if (v === 'true' || v === 'false') return v === 'true';
  return v;
}

// `a[b][0][c]=v` → {a: {b: [{c: v}]}}
function nest(form) {
  const root = {};
  for (const [key, value] of form) {
    const path = key.replace(/\]/g, '').split('[');
    let node = root;
    path.forEach((seg, i) => {
      const last = i === path.length - 1;
      const next = path[i + 1];
      if (last) {
        node[seg] = leaf(path, value);
      } else {
        node[seg] ??= /^\d+$/.test(next) ? [] : {};
        node = node[seg];
      }
    });
  }
  return root;
}

const file = join(here, `.stripe-types-${process.pid}.ts`);
const source = ["import Stripe from 'stripe';"]
  .concat(requests.map((r, i) => `export const r${i}: Stripe.${r.type} = ${JSON.stringify(nest(r.form))};`))
  .join('\n');
writeFileSync(file, source);
try {
  const program = ts.createProgram([file], {
    strict: true, noEmit: true, skipLibCheck: true, types: [],
    module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, target: ts.ScriptTarget.ES2022,
  });
  const bad = new Map();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const line = d.file ? d.file.getLineAndCharacterOfPosition(d.start ?? 0).line : 0;
    const msg = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    bad.set(line - 1, (bad.get(line - 1) ?? []).concat(msg));
  }
  requests.forEach((r, i) => {
    for (const m of bad.get(i) ?? []) console.log(`request ${i} (${r.type}): ${m}`);
  });
  if (bad.has(-1)) console.log(`setup: ${bad.get(-1).join('; ')}`);
  const ok = requests.filter((_, i) => !bad.has(i)).length;
  console.log(`${ok}/${requests.length} conform`);
  process.exitCode = bad.size ? 1 : 0;
} finally {
  rmSync(file, { force: true });
}
