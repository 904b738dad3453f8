// Checks a wsgw webhook call (SPEC §7): X-Wsgw-Signature is "sha256=" + the hex
// HMAC-SHA256 of the raw request body, keyed with the app's webhook secret.
import { createHmac, timingSafeEqual } from "node:crypto";

export function fromWsgw(secret, body, signature) {
  const expected = Buffer.from("sha256=" + createHmac("sha256", secret).update(body).digest("hex"));
  const given = Buffer.from(String(signature));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

// node verify_signature.mjs SECRET SIGNATURE < body
if (import.meta.url === `file://${process.argv[1]}`) {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  process.exit(fromWsgw(process.argv[2], Buffer.concat(chunks), process.argv[3]) ? 0 : 1);
}
