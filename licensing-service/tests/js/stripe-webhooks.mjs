// Stripe webhook signatures made and checked by Stripe's own Node library
// (`stripe` npm package: `webhooks.generateTestHeaderString` and
// `webhooks.constructEvent`), so Keysat's tests never check its signature
// code against itself. A long-lived helper: one JSON request per stdin line,
// one JSON answer per stdout line.
//
//   {"op":"sign","payload":"…","secret":"whsec_…","timestamp"?:n}  -> {"header":"t=…,v1=…"}
//   {"op":"verify","payload":"…","header":"…","secret":"…","tolerance"?:n} -> {"ok":true,"id":"evt_…"} | {"ok":false,"error":"…"}
import { createInterface } from 'node:readline';
import Stripe from 'stripe';

const stripe = new Stripe('sk_test_unused');
const lines = createInterface({ input: process.stdin });

function answer(req) {
  switch (req.op) {
    case 'sign': {
      const opts = { payload: req.payload, secret: req.secret };
      if (req.timestamp !== undefined) opts.timestamp = req.timestamp;
      return { header: stripe.webhooks.generateTestHeaderString(opts) };
    }
    case 'verify':
      try {
        const event = stripe.webhooks.constructEvent(req.payload, req.header, req.secret, req.tolerance ?? 300);
        return { ok: true, id: event.id };
      } catch (e) {
        return { ok: false, error: String(e.message || e) };
      }
    default:
      return { error: `unknown op ${req.op}` };
  }
}

lines.on('line', (line) => {
  let out;
  try {
    out = answer(JSON.parse(line));
  } catch (e) {
    out = { error: String(e.message || e) };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
});
