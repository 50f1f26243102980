// Follows new heads with polkadot-js through the onf RPC gateway until stdin closes, for
// test/rollout (a failed canary rollout must not interrupt them). Set by the Go test:
//   GATEWAY_WS   ws://127.0.0.1:PORT/   the gateway's WebSocket endpoint
//   GATEWAY_KEY  a valid API key (in this process's environment only)
// Prints one JSON line per event: {"head":N,"at":MS} for each new head, {"error":"..."} when the
// connection drops or fails (the provider does not reconnect: a drop is a failure), and
// {"done":true} when stdin closed; then exits 0, or 1 after an error.
import { ApiPromise, WsProvider } from '@polkadot/api';

const url = process.env.GATEWAY_WS;
const key = process.env.GATEWAY_KEY;
if (!url || !key) {
  console.error('GATEWAY_WS and GATEWAY_KEY must be set');
  process.exit(2);
}

const emit = (o) => console.log(JSON.stringify(o));
let failed = false;
let stopping = false;
const fail = (e) => {
  failed = true;
  emit({ error: String(e && (e.message || e.type || e)) });
};

async function main() {
  // autoConnectMs false: no silent reconnect, so any drop of the connection is seen.
  const provider = new WsProvider(url, false, { Authorization: `Bearer ${key}` });
  await provider.connect();
  const api = await ApiPromise.create({ provider, throwOnConnect: true, noInitWarn: true });
  provider.on('disconnected', () => stopping || fail('disconnected'));
  provider.on('error', (e) => stopping || fail(e));
  const unsub = await api.rpc.chain.subscribeNewHeads((h) => emit({ head: h.number.toNumber(), at: Date.now() }));
  emit({ subscribed: true, at: Date.now() });
  await new Promise((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
    process.stdin.resume();
  });
  await unsub();
  stopping = true;
  emit({ done: true });
  await api.disconnect().catch(() => {});
}

main().then(() => process.exit(failed ? 1 : 0), (e) => {
  fail(e);
  process.exit(1);
});
