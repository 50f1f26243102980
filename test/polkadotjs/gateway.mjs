// An independent client against the onf RPC gateway: polkadot-js connects through the gateway
// to a gossamer node with a valid key, reads blocks, follows new heads and submits a signed
// transfer (//Alice to //Bob) that lands in a block; with no key and with a bad key its
// connection is refused. Driven by test/gateway and test/cluster (go test), which set:
//   GATEWAY_WS   ws://127.0.0.1:PORT/   the gateway's WebSocket endpoint
//   GATEWAY_KEY  a valid API key (passed via the environment of this test process only)
// Prints one JSON summary line on success and exits 0; exits 1 on any failure.
import { ApiPromise, WsProvider } from '@polkadot/api';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';

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
  const unsubscribe = await withTimeout(new Promise((resolve, reject) => {
    const unsub = api.rpc.chain.subscribeNewHeads((h) => {
      if (heads.length < 2) heads.push(h.number.toNumber());
      if (heads.length === 2) unsub.then(resolve);
    });
    unsub.catch(reject);
  }), 60000, 'two new heads');
  await unsubscribe();
  if (!(heads[1] > heads[0])) throw new Error(`heads did not advance: ${heads}`);
  const transfer = await transferLands(api);
  await api.disconnect();

  const noKey = await refused({});
  const badKey = await refused({ Authorization: 'Bearer onf_not-a-valid-key' });
  console.log(JSON.stringify({
    chain: chain.toString(), node: name.toString(), block1: hash1.toHex(),
    extrinsics: block1.block.extrinsics.length, heads, transfer, noKey, badKey,
  }));
}

// transferLands signs a balance transfer from //Alice to //Bob, submits it and watches it
// (author_submitAndWatchExtrinsic) until it is in a block, then checks that block holds it
// and Bob's free balance grew.
async function transferLands(api) {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519' });
  const alice = keyring.addFromUri('//Alice');
  const bob = keyring.addFromUri('//Bob');
  const amount = 1_000_000_000_000n;
  const before = (await api.query.system.account(bob.address)).data.free.toBigInt();
  const tx = api.tx.balances.transferKeepAlive(bob.address, amount);
  const inBlock = await withTimeout(new Promise((resolve, reject) => {
    tx.signAndSend(alice, ({ status, dispatchError }) => {
      if (dispatchError) reject(new Error(`transfer failed: ${dispatchError.toString()}`));
      else if (status.isInBlock) resolve(status.asInBlock);
      else if (status.isDropped || status.isInvalid || status.isUsurped) reject(new Error(`transfer ${status.type}`));
    }).catch(reject);
  }), 120000, 'transfer in a block');
  const block = await api.rpc.chain.getBlock(inBlock);
  if (!block.block.extrinsics.some((x) => x.hash.eq(tx.hash))) throw new Error(`block ${inBlock.toHex()} does not hold the transfer`);
  const after = (await api.query.system.account(bob.address)).data.free.toBigInt();
  if (after - before < amount) throw new Error(`Bob's balance went from ${before} to ${after}`);
  return { block: block.block.header.number.toNumber(), hash: tx.hash.toHex() };
}

main().then(() => process.exit(0), (e) => {
  console.error('FAIL:', e && e.stack ? e.stack : e);
  process.exit(1);
});
