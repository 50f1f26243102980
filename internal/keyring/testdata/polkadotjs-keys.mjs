// Prints the public key polkadot-js (@polkadot/keyring addFromUri) derives for each
// {scheme, uri} of the JSON list on stdin, as a JSON list of 0x-hex keys: the independent
// implementation TestAgainstPolkadotJS compares the keyring with.
const dir = process.env.POLKADOTJS_DIR;
const { Keyring } = await import(`${dir}/node_modules/@polkadot/keyring/index.js`);
const { cryptoWaitReady } = await import(`${dir}/node_modules/@polkadot/util-crypto/index.js`);
const { u8aToHex } = await import(`${dir}/node_modules/@polkadot/util/index.js`);
await cryptoWaitReady();
let input = '';
for await (const chunk of process.stdin) input += chunk;
const out = JSON.parse(input).map(({ scheme, uri }) =>
  u8aToHex(new Keyring({ type: scheme }).addFromUri(uri).publicKey));
console.log(JSON.stringify(out));
