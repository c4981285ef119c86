// An owner's wallet and an independent verifier for end-to-end tests, with ethers.js (not our
// C++ code): signs eth_signTypedData_v4 JSON with a private key as a wallet would, and recovers
// the signer of a typed-data signature.
//
//   node sign-recover-typed-data.mjs REQUESTS.json
// REQUESTS.json: [{"address_of": "0x<key>"} | {"sign_with": "0x<key>", "typed_data": {…}} |
//                 {"recover": "0x<signature>", "typed_data": {…}}]
// Prints a JSON array, one answer per request: {"address"} | {"signature"} | {"signer"}, or
// {"error"} when ethers refused it. Exit 1 when any request was refused.
import { readFileSync } from "node:fs";
import { Wallet, TypedDataEncoder, verifyTypedData } from "ethers";

// ethers derives EIP712Domain from `domain` itself and refuses it among the struct types.
function parts(typed) {
  const structs = { ...typed.types };
  delete structs.EIP712Domain;
  if (TypedDataEncoder.getPrimaryType(structs) !== typed.primaryType)
    throw new Error(`primary type is not ${typed.primaryType}`);
  return [typed.domain, structs, typed.message];
}

const requests = JSON.parse(readFileSync(process.argv[2], "utf8"));
const answers = [];
let refused = 0;
for (const r of requests) {
  try {
    if (r.address_of) answers.push({ address: new Wallet(r.address_of).address });
    else if (r.sign_with)
      answers.push({ signature: await new Wallet(r.sign_with).signTypedData(...parts(r.typed_data)) });
    else answers.push({ signer: verifyTypedData(...parts(r.typed_data), r.recover) });
  } catch (e) {
    refused++;
    answers.push({ error: e.message });
  }
}
console.log(JSON.stringify(answers));
process.exit(refused ? 1 : 0);
