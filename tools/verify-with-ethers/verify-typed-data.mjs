// Independent check of EIP-712 typed data and signatures with ethers.js (not our C++ code): for
// each case, ethers' TypedDataEncoder hashes the eth_signTypedData_v4 JSON we wrote and
// verifyTypedData recovers the signer.
//
//   node verify-typed-data.mjs CASES.json
// CASES.json: [{"name", "typed_data": {types, primaryType, domain, message}, "signature": "0x..",
//               "signer": "0x.. (EIP-55)", "digest": "0x.. (ours)"}]
// Prints one line per bad case and "N ok, M bad"; exit 1 if any bad.
import { readFileSync } from "node:fs";
import { TypedDataEncoder, verifyTypedData } from "ethers";

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
let ok = 0, bad = 0;
for (const c of cases) {
  const problems = [];
  try {
    const { types, primaryType, domain, message } = c.typed_data;
    // ethers derives EIP712Domain from `domain` itself and refuses it among the struct types.
    const structs = { ...types };
    delete structs.EIP712Domain;
    const primary = TypedDataEncoder.getPrimaryType(structs);
    if (primary !== primaryType) problems.push(`primary type ${primary}, JSON says ${primaryType}`);
    const digest = TypedDataEncoder.hash(domain, structs, message);
    if (digest !== c.digest) problems.push(`digest ${digest}, ours ${c.digest}`);
    const signer = verifyTypedData(domain, structs, message, c.signature);
    if (signer !== c.signer) problems.push(`signer ${signer}, expected ${c.signer}`);
  } catch (e) {
    problems.push(`ethers refused it: ${e.message}`);
  }
  if (problems.length) {
    bad++;
    console.log(`BAD ${c.name}: ${problems.join("; ")}`);
  } else {
    ok++;
  }
}
console.log(`${ok} ok, ${bad} bad`);
process.exit(bad || !cases.length ? 1 : 0);
