// An Ed25519 verifier independent of the Rust code: Node's own crypto
// (OpenSSL). Reads a JSON file {"public_key_pem", "items": [{"name",
// "message_hex", "signature_hex"}]} and prints one line per item,
// "<name> valid" or "<name> invalid", for the Rust test to compare.
import { createPublicKey, verify } from 'node:crypto'
import { readFileSync } from 'node:fs'

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const key = createPublicKey(input.public_key_pem)
if (key.asymmetricKeyType !== 'ed25519') {
  console.error(`not an Ed25519 key: ${key.asymmetricKeyType}`)
  process.exit(2)
}
for (const item of input.items) {
  const ok = verify(null, Buffer.from(item.message_hex, 'hex'), key, Buffer.from(item.signature_hex, 'hex'))
  console.log(`${item.name} ${ok ? 'valid' : 'invalid'}`)
}
