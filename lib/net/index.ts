/** Networking for untrusted input: the SSRF-safe fetcher and the address classifier it uses. */
export { fetchImage, looksLikeImage, UrlRefusedError } from './fetch.js';
export type { ConnectTo, FetchedImage, RemotePolicy, ResolvedAddress, Resolver, SafeFetchOptions } from './fetch.js';
export { classifyAddress, classifyIPv4, classifyIPv6, isPublicAddress, parseIPv4, parseIPv6 } from './address.js';
export type { AddressClass, ClassifiedAddress } from './address.js';
