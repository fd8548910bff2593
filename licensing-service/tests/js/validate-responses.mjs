// Validates recorded answers of a stand-in BTCPay against the response
// schemas of BTCPay's Greenfield spec. Usage:
//   node validate-responses.mjs <spec.json> <answers.jsonl>
// Each line: {"method": "GET", "path": "/api/v1/stores/S1", "status": 200, "body": …}.
// The operation is found by matching the path against the spec's templates
// (the most literal match wins); the schema is that of the answer's status
// (or `default`). An answer whose route or status the spec does not document
// fails. Prints one line per answer and exits 1 if any fails.
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const [specPath, answersPath] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(specPath, 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addFormat('decimal', /^-?\d+(\.\d+)?$/);
ajv.addFormat('int32', true);
ajv.addFormat('int64', true);
ajv.addSchema(spec, 'spec');

function template(method, path) {
  const segs = path.split('/');
  let best = null;
  let bestLiteral = -1;
  for (const [t, item] of Object.entries(spec.paths)) {
    if (!item[method.toLowerCase()]) continue;
    const ts = t.split('/');
    if (ts.length !== segs.length) continue;
    if (!ts.every((s, i) => (s.startsWith('{') && segs[i] !== '') || s === segs[i])) continue;
    const literal = ts.filter((s) => !s.startsWith('{')).length;
    if (literal > bestLiteral) [best, bestLiteral] = [t, literal];
  }
  return best;
}

// Upstream documents only the store-less webhook routes (BTCPay 2.4.0+);
// every 2.x serves the store-scoped ones with the same schemas (see the
// spec's README and btcpay_conformance.rs).
function templateOrStoreScoped(method, path) {
  return (
    template(method, path) ??
    template(method, path.replace(/^\/api\/v1\/stores\/[^/]+\/webhooks\//, '/api/v1/webhooks/'))
  );
}

const validators = new Map();
function validatorFor(t, method, status) {
  const key = `${method} ${t} ${status}`;
  if (!validators.has(key)) {
    const responses = spec.paths[t][method.toLowerCase()].responses ?? {};
    const resp = responses[String(status)] ?? responses.default;
    if (!resp) throw new Error(`the spec documents no ${status} answer for ${method} ${t}`);
    const resolved = resp.$ref ? resolve(resp.$ref) : resp;
    const schema = resolved.content?.['application/json']?.schema;
    validators.set(key, schema ? ajv.compile(schema.$ref ? { $ref: `spec${schema.$ref}` } : schema) : null);
  }
  return validators.get(key);
}

function resolve(ref) {
  return ref.replace(/^#\//, '').split('/').reduce((o, k) => o[k], spec);
}

let failed = 0;
const lines = readFileSync(answersPath, 'utf8').split('\n').filter((l) => l.trim());
for (const line of lines) {
  const a = JSON.parse(line);
  const what = `${a.method} ${a.path} → ${a.status}`;
  const t = templateOrStoreScoped(a.method, a.path);
  if (!t) {
    failed++;
    console.log(`FAIL ${what}: not a route of the spec`);
    continue;
  }
  let validate;
  try {
    validate = validatorFor(t, a.method, a.status);
  } catch (e) {
    failed++;
    console.log(`FAIL ${what}: ${e.message}`);
    continue;
  }
  if (validate === null) {
    // The spec documents this answer without a JSON body (e.g. a 200 of DELETE).
    console.log(`ok ${what} (no body schema)`);
  } else if (validate(a.body)) {
    console.log(`ok ${what}`);
  } else {
    failed++;
    console.log(`FAIL ${what}: ${ajv.errorsText(validate.errors)}`);
  }
}
console.log(`${lines.length - failed}/${lines.length} valid`);
process.exit(failed ? 1 : 0);
