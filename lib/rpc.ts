/**
 * Remote devices (llama.cpp's RPC backend) on the JS side: the check of `loadModel({ rpc })` and
 * of the CLI's `--rpc host:port[,host:port]`. Connecting, placing layers and noticing a lost
 * server are native (native/rpc.cc); the protocol is llama.cpp's, unauthenticated (docs/rpc.md).
 */
import { invalid } from './errors.js';

/** ggml's limit on RPC servers per process (GGML_RPC_MAX_SERVERS). */
export const RPC_MAX_SERVERS = 16;

/** A hostname or IPv4 address, then a port: ggml-rpc splits at the first ':' (no IPv6 literals). */
const ENDPOINT = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*):(\d{1,5})$/;

/** Checks `loadModel({ rpc })` and returns the endpoints as native code takes them. */
export function nativeRpcEndpoints(rpc: unknown): string[] {
  if (rpc === undefined) return [];
  if (!Array.isArray(rpc)) throw invalid("rpc must be an array of 'host:port' strings (rpc-server endpoints)");
  if (rpc.length > RPC_MAX_SERVERS) throw invalid(`rpc: at most ${RPC_MAX_SERVERS} servers (ggml's limit), got ${rpc.length}`);
  const out: string[] = [];
  rpc.forEach((e: unknown, i) => {
    if (typeof e !== 'string') throw invalid(`rpc[${i}] must be a 'host:port' string`);
    const m = ENDPOINT.exec(e);
    const port = m ? Number(m[2]) : 0;
    if (!m || m[1].length > 253 || port < 1 || port > 65535) {
      throw invalid(`rpc[${i}]: '${e}' is not host:port (a hostname or IPv4 address, a port 1-65535; IPv6 literals are not supported)`);
    }
    if (out.includes(e)) throw invalid(`rpc[${i}]: '${e}' is given twice`);
    out.push(e);
  });
  return out;
}

/** `--rpc host:port[,host:port]` (repeatable) -> the endpoints, checked. */
export function parseRpcFlag(values: readonly string[]): string[] {
  return nativeRpcEndpoints(values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0));
}
