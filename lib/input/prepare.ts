/**
 * Request preparation: a request (`messages` or a raw `prompt` with `images`) -> the prompt the
 * model reads and its images as native code takes them. Here the request shapes are told apart,
 * video parts expanded, messages rendered with the chat template, media markers counted against
 * the images, and images decoded (sharp, off the JS thread). The errors users see for an empty
 * prompt, a marker count that disagrees, or images for a model without vision are worded here,
 * once each.
 */
import type { NativeImage } from '../binding.js';
import { invalid, makeError } from '../errors.js';
import { LIMITS, nativeImage, validateResolution } from '../options.js';
import type { ChatMessage, GenerateRequest, ImagePart, ModelInfo, SamplingOptions } from '../types.js';
import { checkedMessages, flattenMessages } from './chat.js';
import { decodeImage } from './images.js';
import { expandVideos } from './video.js';

/** What preparation needs of a model: its media marker, its vision, and its chat template. */
export interface PromptModel {
  readonly info: Pick<ModelInfo, 'mediaMarker' | 'hasVision' | 'vision'>;
  applyTemplate(messages: { role: string; content: string }[], addAssistant: boolean): string;
}

export interface PreparedRequest {
  prompt: string;
  /** One per media marker of `prompt`, in order. */
  images: NativeImage[];
}

/** Renders messages (no video parts) to the prompt the model sees; the image parts in marker order. */
export function renderMessages(messages: ChatMessage[], model: PromptModel): { prompt: string; images: ImagePart[] } {
  const flat = flattenMessages(messages, model.info.mediaMarker);
  return { prompt: model.applyTemplate(flat.messages, true), images: flat.images };
}

/** The prompt and the decoded images of `request` (an object); throws typed errors for bad input. */
export async function prepareRequest(request: GenerateRequest, model: PromptModel): Promise<PreparedRequest> {
  let cleanup = async () => {};
  try {
    let prompt: string;
    let parts: ImagePart[];
    if ('messages' in request) {
      const expanded = await expandVideos(checkedMessages(request.messages), { untiledFrames: model.info.vision?.resolutionControl ?? false });
      cleanup = expanded.cleanup;
      ({ prompt, images: parts } = renderMessages(expanded.messages, model));
    } else if (typeof request.prompt === 'string') {
      prompt = request.prompt;
      if (request.images !== undefined && !Array.isArray(request.images)) throw invalid('images must be an array');
      parts = (request.images ?? []).map((image) => ({ type: 'image', image }));
      const markers = prompt.split(model.info.mediaMarker).length - 1;
      if (markers !== parts.length) throw invalid(`the prompt has ${markers} media markers but ${parts.length} images were given`);
    } else {
      throw invalid('request needs `messages` or `prompt`');
    }
    if (prompt.length === 0) throw invalid('the prompt is empty');
    if (parts.length > LIMITS.images) throw invalid(`a request may hold at most ${LIMITS.images} images (video frames included), got ${parts.length}`);
    if (parts.length > 0 && !model.info.hasVision) {
      throw makeError('ERR_NO_VISION', 'this model was loaded without a projector (mmproj): it cannot see images');
    }
    const images = await Promise.all(parts.map((part, i) => decodePart(part, `image ${i + 1}`, request)));
    return { prompt, images };
  } finally {
    await cleanup();
  }
}

/** One image part decoded, with its resolution: the part's own settings, else the request's. */
async function decodePart(part: ImagePart, where: string, request: SamplingOptions): Promise<NativeImage> {
  const resolution = { longestEdge: part.longestEdge ?? request.image?.longestEdge, tiling: part.tiling ?? request.image?.tiling };
  validateResolution(where, resolution);
  const decoded = await decodeImage(part.image, { signal: request.signal, ...request.image });
  return nativeImage(decoded, resolution);
}
