import { native, type BackendInfo } from './binding.js';

/** Which ggml backends were loaded, the CPU variant chosen for this machine, and the devices. */
export function backendInfo(): BackendInfo {
  return native().backendInfo();
}

/** Routes llama.cpp's own log to stderr from `level` up. Default `'none'` (or `SMOLVLM_LOG_LEVEL`). */
export function setLogLevel(level: 'debug' | 'info' | 'warn' | 'error' | 'none'): void {
  native().setLogLevel(level);
}
