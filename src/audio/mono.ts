// Down-mixing decoded channels to the mono signal used everywhere inside Hearth.

/** Average of the channels, `length` samples long. A single channel is returned as is. */
export function mixToMono(channels: readonly Float32Array[], length: number): Float32Array {
  if (channels.length === 0) return new Float32Array(0);
  if (channels.length === 1) {
    const only = channels[0]!;
    return only.length === length ? only : only.slice(0, length);
  }
  const out = new Float32Array(length);
  for (const ch of channels) {
    const n = Math.min(length, ch.length);
    for (let i = 0; i < n; i++) out[i] += ch[i]!;
  }
  const gain = 1 / channels.length;
  for (let i = 0; i < length; i++) out[i] *= gain;
  return out;
}
