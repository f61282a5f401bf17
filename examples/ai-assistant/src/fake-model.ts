/**
 * A stand-in for a language model: deterministic text, no network. The same prompt always
 * yields the same reply, so the demo and tests can assert exact bodies.
 */
const vocabulary = [
  'quill',
  'stone',
  'draft',
  'ink',
  'margin',
  'chapter',
  'verse',
  'outline',
  'revise',
  'polish',
];

export function complete(model: string, prompt: string, tokens = 12): string {
  let seed = 2166136261;
  for (const character of `${model}:${prompt}`) {
    seed = Math.imul(seed ^ character.charCodeAt(0), 16777619) >>> 0;
  }
  const words: string[] = [];
  for (let index = 0; index < Math.min(tokens, 64); index += 1) {
    seed = Math.imul(seed ^ index, 16777619) >>> 0;
    words.push(vocabulary[seed % vocabulary.length]!);
  }
  return words.join(' ');
}

/** A tiny deterministic "image": the prompt's hash rendered as an SVG square. */
export function generateImage(prompt: string): string {
  const colour = (complete('image', prompt, 1).length * 2654435761) % 0xffffff;
  const fill = colour.toString(16).padStart(6, '0');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="#${fill}"/></svg>`;
}
