// Independent verifier: recovers each event's signer with ethers.js (not our C++ code) from the
// exact bytes of `data` as they appear in the line, and compares it with the expected address of
// the event's producer.
//
//   node verify.mjs EVENTS.jsonl EXPECTED.json
// EXPECTED.json maps producer DID -> checksummed address. Prints "N ok, M bad"; exit 1 if any bad.
import { readFileSync } from "node:fs";
import { keccak256, recoverAddress, toUtf8Bytes } from "ethers";

// The raw text of the top-level "data" member, found by scanning (strings skipped as units).
function rawData(line) {
  const key = '"data":';
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      if (depth === 1 && line.startsWith(key, i)) {
        const start = i + key.length;
        let d = 0;
        for (let j = start; j < line.length; j++) {
          const cj = line[j];
          if (cj === '"') {
            for (j++; j < line.length && line[j] !== '"'; j++) if (line[j] === "\\") j++;
            continue;
          }
          if (cj === "{" || cj === "[") d++;
          if (cj === "}" || cj === "]") {
            d--;
            if (d === 0) return line.slice(start, j + 1);
          }
        }
        return null;
      }
      for (i++; i < line.length && line[i] !== '"'; i++) if (line[i] === "\\") i++;
      continue;
    }
    if (c === "{" || c === "[") depth++;
    if (c === "}" || c === "]") depth--;
  }
  return null;
}

const [file, expectedFile] = process.argv.slice(2);
const expected = JSON.parse(readFileSync(expectedFile, "utf8"));
let ok = 0, bad = 0;
for (const line of readFileSync(file, "utf8").split("\n")) {
  if (!line) continue;
  const ev = JSON.parse(line);
  const data = rawData(line);
  let signer = null;
  try {
    signer = recoverAddress(keccak256(toUtf8Bytes(data)), ev.signature);
  } catch (e) {
    signer = null;
  }
  if (signer && signer === expected[ev.producer]) ok++;
  else {
    bad++;
    console.log(`BAD ${ev.id}: recovered ${signer}, expected ${expected[ev.producer]}`);
  }
}
console.log(`${ok} ok, ${bad} bad`);
process.exit(bad ? 1 : 0);
