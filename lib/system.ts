/** The process-wide native state: which backends were loaded, and llama.cpp's log level. */
import { native } from './binding.js';
import type { BackendInfo, LogLevel } from './types.js';

/** Which ggml backends were loaded, the CPU variant chosen for this machine, and the devices. */
export function backendInfo(): BackendInfo {
  return native().backendInfo();
}

/** Routes llama.cpp's own log to stderr from `level` up. Default `'none'` (or `SMOLVLM_LOG_LEVEL`). */
export function setLogLevel(level: LogLevel): void {
  native().setLogLevel(level);
}
