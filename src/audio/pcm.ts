// Raw signed 16-bit little-endian PCM: what the toy sends and the `pcm` response format.

/** Clamp to [-1, 1] and scale to a signed 16-bit integer (NaN -> 0). Inverse of x / 32768. */
export function toInt16(x: number): number {
  const v = Math.round(x * 32768);
  if (v > 32767) return 32767;
  if (v < -32768) return -32768;
  return v === v ? v : 0;
}

export function floatToS16le(samples: Float32Array): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, toInt16(samples[i]!), true);
  return out;
}

/** A trailing odd byte (half a sample) is ignored. */
export function s16leToFloat(bytes: Uint8Array): Float32Array {
  const count = bytes.length >> 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * 2);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true) / 32768;
  return out;
}
