// Validates webhook bodies against the `x-webhooks` schemas of BTCPay's
// Greenfield spec. Usage: node validate-webhooks.mjs <spec.json> <bodies.jsonl>
// Prints one line per body and exits 1 if any body breaks its event schema.
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const [specPath, bodiesPath] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(specPath, 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addFormat('decimal', /^-?\d+(\.\d+)?$/);
ajv.addFormat('int32', true);
ajv.addSchema(spec, 'spec');

const validators = new Map();
function validatorFor(type) {
  if (!validators.has(type)) {
    const hook = spec['x-webhooks']?.[type]?.post;
    const schema = hook?.requestBody?.content?.['application/json']?.schema;
    if (!schema) throw new Error(`the spec has no x-webhooks schema for ${type}`);
    const ref = schema.$ref ? { $ref: `spec${schema.$ref}` } : schema;
    validators.set(type, ajv.compile(ref));
  }
  return validators.get(type);
}

let failed = 0;
const lines = readFileSync(bodiesPath, 'utf8').split('\n').filter((l) => l.trim());
for (const line of lines) {
  const body = JSON.parse(line);
  const validate = validatorFor(body.type);
  if (validate(body)) {
    console.log(`ok ${body.type} ${body.deliveryId}`);
  } else {
    failed++;
    console.log(`FAIL ${body.type} ${body.deliveryId}: ${ajv.errorsText(validate.errors)}`);
  }
}
console.log(`${lines.length - failed}/${lines.length} valid`);
process.exit(failed ? 1 : 0);
