// Checks Keysat's own OpenAPI document (GET /v1/openapi.json) and real
// answers of the server against it. Usage:
//   node validate-openapi.mjs <openapi.json> <answers.jsonl>
// 1. The document is a valid OpenAPI 3.1 document (@apidevtools/swagger-parser:
//    the 3.1 schema, and every $ref resolves).
// 2. Each line {"method", "path", "status", "body"} is validated (Ajv, JSON
//    Schema 2020-12) against the schema the document gives for that route
//    and status (or 4XX / 5XX); an answer's top-level fields must all be
//    documented (unevaluatedProperties: false). A route or status the
//    document does not have fails.
// 3. Every operation that answers JSON was answered with a 2xx at least
//    once (the test drives every route).
// Prints one line per failure and a summary; exits 1 if anything failed.
import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const [docPath, answersPath] = process.argv.slice(2);
if (!docPath || !answersPath) {
  console.error('usage: node validate-openapi.mjs <openapi.json> <answers.jsonl>');
  process.exit(2);
}
const doc = JSON.parse(readFileSync(docPath, 'utf8'));
let failed = 0;

// ---- 1. the document ----
try {
  const api = await SwaggerParser.validate(structuredClone(doc));
  if (!String(api.openapi).startsWith('3.1')) throw new Error(`openapi is ${api.openapi}, not 3.1`);
  console.log(`document: valid OpenAPI ${api.openapi}, ${Object.keys(doc.paths).length} paths`);
} catch (e) {
  failed++;
  console.log(`FAIL the document is not valid OpenAPI 3.1: ${e.message}`);
}

// ---- 2. the answers ----
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
for (const f of ['int8', 'int16', 'int32', 'int64', 'uint', 'uint8', 'uint16', 'uint32', 'uint64', 'float', 'double']) {
  ajv.addFormat(f, { type: 'number', validate: () => true });
}
ajv.addSchema(doc, 'doc');

const pointer = (...tokens) =>
  '#/' + tokens.map((t) => encodeURIComponent(String(t).replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

function template(method, path) {
  const segs = path.split('?')[0].split('/');
  let best = null;
  let bestLiteral = -1;
  for (const [t, item] of Object.entries(doc.paths)) {
    if (!item[method.toLowerCase()]) continue;
    const ts = t.split('/');
    if (ts.length !== segs.length) continue;
    if (!ts.every((s, i) => (s.startsWith('{') && segs[i] !== '') || s === segs[i])) continue;
    const literal = ts.filter((s) => !s.startsWith('{')).length;
    if (literal > bestLiteral) [best, bestLiteral] = [t, literal];
  }
  return best;
}

const validators = new Map();
function validatorFor(t, method, status) {
  const m = method.toLowerCase();
  const responses = doc.paths[t][m].responses;
  const key = responses[String(status)] ? String(status) : `${String(status)[0]}XX`;
  const id = `${m} ${t} ${key}`;
  if (!validators.has(id)) {
    const schema = responses[key]?.content?.['application/json']?.schema;
    if (!schema) throw new Error(`the document has no JSON answer ${status} for ${method} ${t}`);
    const ref = `doc${pointer('paths', t, m, 'responses', key, 'content', 'application/json', 'schema')}`;
    validators.set(id, ajv.compile({ $ref: ref, unevaluatedProperties: false }));
  }
  return validators.get(id);
}

const answered = new Set();
const lines = readFileSync(answersPath, 'utf8').split('\n').filter((l) => l.trim());
for (const line of lines) {
  const a = JSON.parse(line);
  const what = `${a.method} ${a.path} → ${a.status}`;
  const t = template(a.method, a.path);
  if (!t) {
    failed++;
    console.log(`FAIL ${what}: not a route of the document`);
    continue;
  }
  try {
    const validate = validatorFor(t, a.method, a.status);
    if (!validate(a.body)) {
      failed++;
      console.log(`FAIL ${what}: ${ajv.errorsText(validate.errors)}\n  body: ${JSON.stringify(a.body).slice(0, 600)}`);
      continue;
    }
  } catch (e) {
    failed++;
    console.log(`FAIL ${what}: ${e.message}`);
    continue;
  }
  if (a.status >= 200 && a.status < 300) answered.add(`${a.method.toUpperCase()} ${t}`);
}

// ---- 3. every JSON operation answered ----
const missing = [];
for (const [t, item] of Object.entries(doc.paths)) {
  for (const [m, op] of Object.entries(item)) {
    const success = Object.entries(op.responses).filter(([s]) => s.startsWith('2'));
    if (!success.some(([, r]) => r.content?.['application/json']?.schema)) continue;
    if (!answered.has(`${m.toUpperCase()} ${t}`)) missing.push(`${m.toUpperCase()} ${t}`);
  }
}
for (const m of missing) {
  failed++;
  console.log(`FAIL ${m}: no successful answer was validated (drive it in tests/integration/openapi.rs)`);
}
console.log(`${lines.length} answers, ${answered.size} operations answered; ${failed} failed`);
process.exit(failed ? 1 : 0);
