/** Progress events of one file: throttled while it downloads, and always one at the end. */
import type { DownloadProgress } from '../types.js';

const PROGRESS_INTERVAL_MS = 100;

export class Progress {
  private last = 0;
  constructor(
    private readonly onProgress: ((p: DownloadProgress) => void) | undefined,
    private readonly file: string,
    private total: number,
  ) {}
  /** `downloaded` bytes so far; dropped when the last event was under 100 ms ago, unless `force`. */
  update(downloaded: number, force = false): void {
    const now = Date.now();
    if (!force && now - this.last < PROGRESS_INTERVAL_MS) return;
    this.last = now;
    this.emit(downloaded);
  }
  /** The size, once a response told it (a source that lists none). */
  setTotal(total: number): void {
    this.total = total;
  }
  /** The file is complete. */
  done(): void {
    this.emit(this.total);
  }
  private emit(downloaded: number): void {
    if (!this.onProgress) return;
    try {
      this.onProgress({ file: this.file, downloaded, total: this.total });
    } catch {
      // a failing progress callback must not break the download
    }
  }
}
