/**
 * The two parts of undici the client uses, each loaded from its own file: the proxy-aware agent
 * and the request API. undici's index loads everything it offers (fetch, WebSocket, EventSource,
 * caches, mock and snapshot agents, cookies, whose module reads `globalThis.Headers` and so loads
 * Node's own copy of undici as well): 40 ms of CPU and 9 MB of RSS at every start of the bundle,
 * measured (docs/development.md, Dependencies). undici has no `exports` map, so these files are
 * importable; its version is pinned in package.json, and `http-client.test.ts` sends requests
 * directly and through a proxy with them.
 */
import type { Dispatcher as DispatcherType, EnvHttpProxyAgent as EnvHttpProxyAgentType } from 'undici';
import api from 'undici/lib/api/index.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import EnvHttpProxyAgentImpl from 'undici/lib/dispatcher/env-http-proxy-agent.js';

// What undici's index does once: every dispatcher gets request, stream, pipeline, connect and
// upgrade. A proxy agent opens its tunnel with connect().
Object.assign(Dispatcher.prototype, api);

export const EnvHttpProxyAgent: typeof EnvHttpProxyAgentType = EnvHttpProxyAgentImpl;
export type { DispatcherType as Dispatcher };

/** undici's `request(url, options)`: the URL split into the origin and path a dispatcher takes. */
export function request(
  dispatcher: DispatcherType,
  url: string,
  options: Omit<DispatcherType.RequestOptions, 'origin' | 'path'>,
): Promise<DispatcherType.ResponseData> {
  const u = new URL(url);
  return dispatcher.request({ ...options, origin: u.origin, path: `${u.pathname}${u.search}` });
}
