/**
 * Video parts: frames given as images, or a file decoded by `ffmpeg` from PATH, sampled
 * uniformly (SmolVLM's video evaluation uses up to 50 frames), each frame an image with its
 * timestamp in the prompt text: a message's video parts become text and image parts before the
 * messages are flattened.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeError, invalid } from '../errors.js';
import { DEFAULTS } from '../options.js';
import type { ChatMessage, ContentPart, ImageInput, ImagePart, TextPart, VideoPart } from '../types.js';

export interface ExpandedVideo {
  /** Text and image parts, in order, to splice into the message. */
  parts: (TextPart | ImagePart)[];
  /** Removes temporary frame files. */
  cleanup(): Promise<void>;
}

const run = promisify(execFile);

/** mm:ss, as SmolVLM2's frame labels. */
function clock(seconds: number): string {
  const s = Math.floor(seconds);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** H:MM:SS, as SmolVLM2's video header. */
function hms(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

async function ffmpegFrames(path: string, maxFrames: number, fps: number | undefined, ffmpeg: string): Promise<{ frames: string[]; times: number[]; dir: string }> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) throw makeError('ERR_IMAGE_INVALID', `video not found: ${path}`);
  // ffprobe sits beside ffmpeg (SMOLVLM_FFPROBE overrides): swap the name, keep folder and extension
  const probe = process.env.SMOLVLM_FFPROBE ?? ffmpeg.replace(/ffmpeg(?=[^/\\]*$)/, 'ffprobe');
  let duration: number;
  try {
    const { stdout } = await run(probe, ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', path]);
    duration = Number(stdout.trim());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw makeError('ERR_TOOL_MISSING', `decoding a video file needs ffmpeg and ffprobe on PATH (not found: ${probe}); install ffmpeg or pass the frames as images`);
    }
    throw makeError('ERR_IMAGE_INVALID', `video cannot be read: ${path}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  if (!Number.isFinite(duration) || duration <= 0) throw makeError('ERR_IMAGE_INVALID', `video has no duration: ${path}`);
  const n = Math.max(1, Math.min(maxFrames, fps ? Math.floor(duration * fps) || 1 : maxFrames));
  const rate = n / duration;
  const dir = await mkdtemp(join(tmpdir(), 'smolvlm-frames-'));
  try {
    await run(ffmpeg, ['-v', 'error', '-i', path, '-vf', `fps=${rate}`, '-frames:v', String(n), join(dir, '%05d.png')]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw makeError('ERR_TOOL_MISSING', `decoding a video file needs ffmpeg on PATH (not found: ${ffmpeg}); install ffmpeg or pass the frames as images`);
    }
    throw makeError('ERR_IMAGE_INVALID', `video cannot be decoded: ${path}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const frames = (await readdir(dir)).filter((f) => f.endsWith('.png')).sort().map((f) => join(dir, f));
  if (frames.length === 0) {
    await rm(dir, { recursive: true, force: true });
    throw makeError('ERR_IMAGE_INVALID', `video has no frames: ${path}`);
  }
  return { frames, times: frames.map((_, i) => (i + 0.5) / rate), dir };
}

/**
 * Frames (uniformly sampled) with their timestamps, as parts SmolVLM2's prompts use.
 * `untiledFrames`: the model can encode a frame as one tile (SmolVLM's projector); frames then
 * default to `tiling: false`, else to the model's own resolution.
 */
export async function expandVideo(
  part: VideoPart,
  { untiledFrames = true, ffmpeg = process.env.SMOLVLM_FFMPEG ?? 'ffmpeg' }: { untiledFrames?: boolean; ffmpeg?: string } = {},
): Promise<ExpandedVideo> {
  const maxFrames = part.maxFrames ?? DEFAULTS.video.maxFrames;
  if (!Number.isInteger(maxFrames) || maxFrames < 1) throw invalid('video.maxFrames must be a positive integer');
  if (part.fps !== undefined && !(part.fps > 0)) throw invalid('video.fps must be positive');
  if (part.tiling !== undefined && typeof part.tiling !== 'boolean') throw invalid('video.tiling must be a boolean');
  let frames: ImageInput[];
  let times: number[] | undefined;
  let dir: string | undefined;
  if (typeof part.video === 'string') {
    ({ frames, times, dir } = await ffmpegFrames(part.video, maxFrames, part.fps, ffmpeg));
  } else if (Array.isArray(part.video)) {
    if (part.video.length === 0) throw makeError('ERR_IMAGE_INVALID', 'video has no frames');
    const n = Math.min(maxFrames, part.video.length);
    const picked = Array.from({ length: n }, (_, i) => Math.floor(((i + 0.5) * part.video.length) / n));
    frames = picked.map((i) => (part.video as ImageInput[])[i]);
    if (part.fps) times = picked.map((i) => i / part.fps!);
  } else {
    throw invalid('video must be a file path or an array of frames');
  }
  const withTimes = (part.timestamps ?? DEFAULTS.video.timestamps) && times !== undefined;
  const tiling = part.tiling ?? (untiledFrames ? false : undefined);
  const parts: ExpandedVideo['parts'] = [];
  const duration = times && times.length ? Math.ceil(times[times.length - 1]) : undefined;
  parts.push({ type: 'text', text: `You are provided the following series of ${frames.length} frames${duration !== undefined ? ` from a ${hms(duration)} [H:MM:SS] video` : ''}.\n` });
  frames.forEach((image, i) => {
    if (withTimes) parts.push({ type: 'text', text: `\nFrame from ${clock(times![i])}:` });
    parts.push({ type: 'image', image, ...(tiling !== undefined ? { tiling } : {}), ...(part.longestEdge !== undefined ? { longestEdge: part.longestEdge } : {}) });
  });
  parts.push({ type: 'text', text: '\n\n' });
  return { parts, cleanup: async () => { if (dir) await rm(dir, { recursive: true, force: true }); } };
}

/** Messages with every video part replaced by its frames and timestamps; `cleanup` removes frame files. */
export async function expandVideos(
  messages: ChatMessage[],
  options: { untiledFrames?: boolean } = {},
): Promise<{ messages: ChatMessage[]; cleanup: () => Promise<void> }> {
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    await Promise.all(cleanups.map((c) => c()));
  };
  if (!Array.isArray(messages) || !messages.some((m) => Array.isArray(m?.content) && m.content.some((p) => p?.type === 'video'))) {
    return { messages, cleanup };
  }
  try {
    const out: ChatMessage[] = [];
    for (const m of messages) {
      if (!Array.isArray(m.content)) {
        out.push(m);
        continue;
      }
      const content: ContentPart[] = [];
      for (const p of m.content) {
        if (p?.type !== 'video') {
          content.push(p);
          continue;
        }
        const v = await expandVideo(p, options);
        cleanups.push(v.cleanup);
        content.push(...v.parts);
      }
      out.push({ ...m, content });
    }
    return { messages: out, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
