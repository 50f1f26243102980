// An independent client against the onf RPC gateway: polkadot-js connects through the gateway
// to a gossamer node with a valid key, reads blocks and follows new heads; with no key and with
// a bad key its connection is refused. Driven by test/gateway (go test), which sets:
//   GATEWAY_WS   ws://127.0.0.1:PORT/   the gateway's WebSocket endpoint
//   GATEWAY_KEY  a valid API key (passed via the environment of this test process only)
// Prints one JSON summary line on success and exits 0; exits 1 on any failure.
import { ApiPromise, WsProvider } from '@polkadot/api';

const url = process.env.GATEWAY_WS;
const key = process.env.GATEWAY_KEY;
if (!url || !key) {
  console.error('GATEWAY_WS and GATEWAY_KEY must be set');
  process.exit(2);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// refused resolves with the error a connection without valid credentials gets.
async function refused(headers) {
  const provider = new WsProvider(url, false, headers);
  const failed = new Promise((resolve) => provider.on('error', (e) => resolve(e)));
  provider.connect().catch(() => {});
  const err = await withTimeout(failed, 10000, 'refusal');
  const connected = provider.isConnected;
  await provider.disconnect().catch(() => {});
  if (connected) throw new Error('connected without valid credentials');
  return String(err && (err.message || err.type || err));
}

async function main() {
  const provider = new WsProvider(url, 1000, { Authorization: `Bearer ${key}` });
  const api = await withTimeout(ApiPromise.create({ provider, throwOnConnect: true, noInitWarn: true }), 60000, 'connect');
  const [chain, name] = await Promise.all([api.rpc.system.chain(), api.rpc.system.name()]);
  const hash1 = await api.rpc.chain.getBlockHash(1);
  const header1 = await api.rpc.chain.getHeader(hash1);
  if (header1.number.toNumber() !== 1) throw new Error(`block 1 header has number ${header1.number}`);
  const block1 = await api.rpc.chain.getBlock(hash1);

  const heads = [];
  await withTimeout(new Promise((resolve, reject) => {
    api.rpc.chain.subscribeNewHeads((h) => {
      heads.push(h.number.toNumber());
      if (heads.length === 2) resolve();
    }).catch(reject);
  }), 60000, 'two new heads');
  if (!(heads[1] > heads[0])) throw new Error(`heads did not advance: ${heads}`);
  await api.disconnect();

  const noKey = await refused({});
  const badKey = await refused({ Authorization: 'Bearer onf_not-a-valid-key' });
  console.log(JSON.stringify({
    chain: chain.toString(), node: name.toString(), block1: hash1.toHex(),
    extrinsics: block1.block.extrinsics.length, heads, noKey, badKey,
  }));
}

main().then(() => process.exit(0), (e) => {
  console.error('FAIL:', e && e.stack ? e.stack : e);
  process.exit(1);
});
