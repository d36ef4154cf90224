// Where the words of a transcript were said, for segment and word timestamps and subtitle cues.
//
// The offline recognizers give text for a piece of audio, and sometimes times: per token (CTC
// and transducer models: SenseVoice, NeMo CTC, zipformer) or per segment (Whisper's own
// timestamp tokens). The VAD gives where the speech is. This module puts them together:
//   1. speech spans: the VAD's segments, trimmed to their voiced frames and split further at
//      shorter pauses found by frame energy (splitAtPauses);
//   2. timed words: from token times where the recognizer has them, else spread over the speech
//      spans by length, text boundaries snapped to pauses and punctuation, within the time
//      ranges of Whisper's segments when there are some (timeWords);
//   3. cues: words grouped at pauses and bounded for subtitles (toCues).
// A word's times are always inside one speech span, words never overlap and come in order, and
// a cue starts at its first word and ends at its last. Pure functions, no sherpa.
import type { TranscriptSegment } from "../types.ts";

export interface Span {
  /** Seconds from the start of the audio. */
  start: number;
  end: number;
}

export interface TimedWord {
  /** The word as written, with its punctuation ("rabbit?"). */
  text: string;
  /** The word alone ("rabbit"). */
  word: string;
  /** Whether a space follows it in the text. */
  space: boolean;
  start: number;
  end: number;
}

/** What a recognizer returned for one piece, times relative to the piece. */
export interface PieceResult {
  text: string;
  /** Token strings and their start times (seconds), when the model type gives them. */
  tokens?: string[];
  timestamps?: number[];
  /** Whisper's segments (enableSegmentTimestamps): texts, starts and durations in seconds. */
  segmentTexts?: string[];
  segmentStarts?: number[];
  segmentDurations?: number[];
}

/** Subtitle bounds (as common subtitle guidelines: at most ~7 s and two lines of 42 characters). */
export const CUE_MAX_SECONDS = 7;
export const CUE_MAX_CHARS = 84;
/** A pause this long always ends a cue; a shorter one (>= SHORT_PAUSE) ends a cue of CUE_MIN_SECONDS or a sentence. */
const LONG_PAUSE = 1.0;
const SHORT_PAUSE = 0.25;
const CUE_MIN_SECONDS = 1.5;

const FRAME_SECONDS = 0.02;
/** Frames this far below the span's loud frames count as silence. */
const SILENCE_BELOW_DB = 28;
/** A quiet stretch inside speech at least this long is a pause. */
const MIN_PAUSE_SECONDS = 0.25;
/** Kept around voiced frames when trimming a span's edges (onsets and releases are quiet). */
const EDGE_MARGIN = 0.04;

/**
 * The VAD's speech segments made finer: each trimmed to its voiced frames (the VAD keeps some
 * silence after speech) and split where it holds a pause of MIN_PAUSE_SECONDS or more (the VAD
 * only splits at [vad] min_silence_seconds). Silence is relative to the span's own loud frames,
 * so noisy audio, with no quiet frames, keeps the VAD's spans as they are.
 */
export function splitAtPauses(audio: Float32Array, sampleRate: number, spans: Span[]): Span[] {
  const out: Span[] = [];
  const frame = Math.round(FRAME_SECONDS * sampleRate);
  for (const span of spans) {
    const from = Math.max(0, Math.round(span.start * sampleRate));
    const to = Math.min(audio.length, Math.round(span.end * sampleRate));
    const count = Math.floor((to - from) / frame);
    if (count < 5) {
      out.push(span);
      continue;
    }
    const db = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      let sum = 0;
      for (let j = from + i * frame, end = j + frame; j < end; j++) sum += audio[j]! * audio[j]!;
      db[i] = 10 * Math.log10(sum / frame + 1e-12);
    }
    const loud = [...db].sort((a, b) => a - b)[Math.floor(count * 0.9)]!;
    const voiced = Array.from(db, (v) => v > loud - SILENCE_BELOW_DB);
    const first = voiced.indexOf(true);
    const last = voiced.lastIndexOf(true);
    if (first < 0) {
      out.push(span);
      continue;
    }
    const at = (i: number) => (from + i * frame) / sampleRate;
    const minPause = Math.ceil(MIN_PAUSE_SECONDS / FRAME_SECONDS);
    let start = Math.max(span.start, at(first) - EDGE_MARGIN);
    let quiet = 0;
    for (let i = first; i <= last; i++) {
      if (!voiced[i]) {
        quiet++;
        continue;
      }
      if (quiet >= minPause) {
        out.push({ start, end: at(i - quiet) + EDGE_MARGIN });
        start = at(i) - EDGE_MARGIN;
      }
      quiet = 0;
    }
    out.push({ start, end: Math.min(span.end, at(last + 1) + EDGE_MARGIN) });
  }
  return out;
}

/**
 * The piece's words with times: from token times when the result has them, else spread over
 * the speech spans (see spreadOverSpans), per Whisper segment when there are several.
 * `offset` is where the piece starts; `speech` are the spans inside it (absolute, in order).
 */
export function timeWords(result: PieceResult, offset: number, speech: Span[], clean: (text: string) => string): TimedWord[] {
  if (speech.length === 0) return [];
  const text = clean(result.text);
  const tokens = result.tokens ?? [];
  const times = result.timestamps ?? [];
  if (text && tokens.length > 0 && times.length === tokens.length) return wordsFromTokens(text, tokens, times, offset, speech);
  const segments = whisperSegments(result, offset, clean);
  if (segments.length <= 1) return spreadOverSpans(splitWords(text), speech);
  // (a segment cleaned to nothing, like "[BLANK_AUDIO]", keeps its stretch of time and gets no words)
  const ranges = segmentRanges(segments, speech).map(({ text: t, spans }) => spreadOverSpans(splitWords(t), spans));
  // Whisper's segments follow each other with a space, except between two CJK characters.
  ranges.forEach((words, i) => {
    const last = words.at(-1);
    const next = ranges.slice(i + 1).find((r) => r.length)?.[0];
    if (last && next) last.space = !(CJK.test(last.text.at(-1) ?? "") && CJK.test(next.text[0] ?? ""));
  });
  return ranges.flat();
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}。，！？、]/u;

function whisperSegments(result: PieceResult, offset: number, clean: (text: string) => string) {
  const texts = result.segmentTexts ?? [];
  const starts = result.segmentStarts ?? [];
  if (texts.length === 0 || starts.length !== texts.length) return [];
  const segments = texts.map((t, i) => ({ text: clean(t), start: offset + starts[i]! }));
  return segments.some((s) => s.text) ? segments : [];
}

/**
 * Whisper's segments each get the speech between their start and the next one's: a start
 * within half a second of a pause is moved into that pause (Whisper's times are coarse, and a
 * new segment usually begins after one). The text of a segment whose range holds no speech goes
 * with the segment before it (or after it).
 */
function segmentRanges(segments: { text: string; start: number }[], speech: Span[]): { text: string; spans: Span[] }[] {
  const gaps = speech.slice(1).map((s, i) => ({ from: speech[i]!.end, to: s.start }));
  const cuts: number[] = [];
  for (const segment of segments.slice(1)) {
    const distance = (g: { from: number; to: number }) => (segment.start < g.from ? g.from - segment.start : segment.start > g.to ? segment.start - g.to : 0);
    const gap = gaps.reduce<{ from: number; to: number } | undefined>((best, g) => (!best || distance(g) < distance(best) ? g : best), undefined);
    const cut = gap && distance(gap) <= 0.5 ? (gap.from + gap.to) / 2 : segment.start;
    cuts.push(Math.max(cut, cuts.at(-1) ?? -Infinity));
  }
  const out: { text: string; spans: Span[] }[] = [];
  let carried = "";
  segments.forEach((segment, i) => {
    const spans = clip(speech, i ? cuts[i - 1]! : -Infinity, i < cuts.length ? cuts[i]! : Infinity);
    if (!segment.text) return;
    if (spans.reduce((n, s) => n + s.end - s.start, 0) < 0.1) {
      if (out.length) out.at(-1)!.text += " " + segment.text;
      else carried += segment.text + " ";
      return;
    }
    out.push({ text: carried + segment.text, spans });
    carried = "";
  });
  if (carried) out.push({ text: carried.trim(), spans: speech });
  return out;
}

function clip(spans: Span[], from: number, to: number): Span[] {
  return spans.map((s) => ({ start: Math.max(s.start, from), end: Math.min(s.end, to) })).filter((s) => s.end - s.start > 0.01);
}

/**
 * Words spread over speech spans by their length. When there are several spans (pauses
 * between them), the text is first divided among them: each boundary goes to the word boundary
 * whose share of the text is closest to the span's share of the speech, preferring the end of
 * a sentence or clause. Within a span, each word takes time in proportion to its letters (a CJK
 * character as three), with a little more after punctuation, where speakers pause.
 */
export function spreadOverSpans(words: Omit<TimedWord, "start" | "end">[], spans: Span[]): TimedWord[] {
  if (words.length === 0 || spans.length === 0) return [];
  const weights = words.map(weight);
  const total = weights.reduce((a, b) => a + b, 0);
  const durations = spans.map((s) => s.end - s.start);
  const speech = durations.reduce((a, b) => a + b, 0);
  // boundaries[j] = index of the first word of span j + 1
  const boundaries: number[] = [];
  let seen = 0;
  let chars = 0;
  let k = 0;
  for (let j = 0; j < spans.length - 1; j++) {
    seen += durations[j]!;
    const target = seen / speech;
    let best = k;
    let bestCost = Infinity;
    let c = chars;
    for (let i = k; i <= words.length; i++) {
      const cost = Math.abs(c / total - target) - punctuationBonus(words[i - 1]);
      if (cost < bestCost) {
        bestCost = cost;
        best = i;
      }
      if (i < words.length) c += weights[i]!;
      if (c / total > target + 0.25) break;
    }
    for (let i = k; i < best; i++) chars += weights[i]!;
    k = best;
    boundaries.push(best);
  }
  boundaries.push(words.length);
  const out: TimedWord[] = [];
  let first = 0;
  spans.forEach((span, j) => {
    const last = boundaries[j]!;
    const group = words.slice(first, last);
    // the pause after the span's last word is outside the span
    const w = group.map((word, i) => (i === group.length - 1 ? weight(word) * (1 - pauseShare(word)) : weights[first + i]!));
    const sum = w.reduce((a, b) => a + b, 0);
    let at = span.start;
    group.forEach((word, i) => {
      const length = ((span.end - span.start) * w[i]!) / sum;
      const pause = i === group.length - 1 ? 0 : length * pauseShare(word);
      out.push({ ...word, start: at, end: at + length - pause });
      at += length;
    });
    first = last;
  });
  return out;
}

/** Letters count (a CJK character as three), plus room for the pause punctuation suggests and the space. */
function weight(word: Omit<TimedWord, "start" | "end">): number {
  let letters = 0;
  for (const ch of word.word) letters += /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u.test(ch) ? 3 : 1;
  return Math.max(1, letters) + (word.space ? 1 : 0) + pausePunctuation(word.text);
}

function pausePunctuation(text: string): number {
  return /[.!?。！？]["'”’)]*$/u.test(text) ? 3 : /[,;:，；：、]["'”’)]*$/u.test(text) ? 2 : 0;
}

/** The part of a word's share that is the pause after it (not the word). */
function pauseShare(word: Omit<TimedWord, "start" | "end">): number {
  const p = pausePunctuation(word.text) + (word.space ? 1 : 0);
  return p / weight(word);
}

function punctuationBonus(word: Omit<TimedWord, "start" | "end"> | undefined): number {
  if (!word) return 0.02; // the start of the text
  const p = pausePunctuation(word.text);
  return p === 3 ? 0.06 : p === 2 ? 0.03 : 0;
}

/**
 * Words timed by the recognizer's token start times: each text word takes the time of the token
 * at the same relative position (the text may differ from the tokens, e.g. "10" for "ten"
 * after inverse text normalization), and ends where the next begins (at most 1.5 s later).
 * A time that falls in a pause moves to the next speech; every word is kept inside one span.
 */
function wordsFromTokens(text: string, tokens: string[], timestamps: number[], offset: number, speech: Span[]): TimedWord[] {
  const words = splitWords(text);
  const tokenText = tokens.map((t) => t.replace(/▁/g, " "));
  const tokenStarts: number[] = [];
  let length = 0;
  for (const t of tokenText) {
    tokenStarts.push(length);
    length += t.length;
  }
  const textLength = joinWords(words).length || 1;
  let position = 0;
  const starts = words.map((w) => {
    const p = (position / textLength) * length;
    position += w.text.length + (w.space ? 1 : 0);
    let i = 0;
    while (i + 1 < tokenStarts.length && tokenStarts[i + 1]! <= p) i++;
    return offset + timestamps[i]!;
  });
  const out: TimedWord[] = [];
  let previousEnd = -Infinity;
  words.forEach((w, i) => {
    let start = Math.max(starts[i]!, previousEnd);
    const span = speech.find((s) => start < s.end) ?? speech.at(-1)!;
    start = Math.min(Math.max(start, span.start), Math.max(span.start, span.end - 0.01));
    const next = i + 1 < words.length ? starts[i + 1]! : span.end;
    const end = Math.max(Math.min(span.end, start + 0.01), Math.min(span.end, next, start + 1.5));
    out.push({ ...w, start, end });
    previousEnd = end;
  });
  return out;
}

/**
 * The text as words: split at spaces, and within a run of CJK text (written without spaces) by
 * Intl.Segmenter's dictionary; punctuation stays with the word before it.
 */
export function splitWords(text: string): Omit<TimedWord, "start" | "end">[] {
  const out: Omit<TimedWord, "start" | "end">[] = [];
  const chunks = text.trim().split(/\s+/).filter(Boolean);
  for (const [c, chunk] of chunks.entries()) {
    const space = c < chunks.length - 1;
    const pieces = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}]/u.test(chunk) ? segment(chunk) : [chunk];
    pieces.forEach((piece, j) => {
      const word = bare(piece);
      if (!word && out.length) {
        out.at(-1)!.text += (j === 0 && out.at(-1)!.space ? " " : "") + piece;
        if (j === pieces.length - 1) out.at(-1)!.space = space;
        return;
      }
      out.push({ text: piece, word: word || piece, space: j === pieces.length - 1 ? space : false });
    });
  }
  return out;
}

let segmenter: Intl.Segmenter | undefined;
function segment(chunk: string): string[] {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: "word" });
  const out: string[] = [];
  for (const s of segmenter.segment(chunk)) {
    if (s.isWordLike || out.length === 0) out.push(s.segment);
    else out[out.length - 1] += s.segment;
  }
  return out;
}

function bare(text: string): string {
  return text.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "");
}

function joinWords(words: Omit<TimedWord, "start" | "end">[]): string {
  return words.map((w) => w.text + (w.space ? " " : "")).join("").trim();
}

/**
 * Words grouped into segments, as subtitles want them: a long pause always starts a new one, a
 * short pause does when the segment is long enough or ends a sentence, and none is longer than
 * CUE_MAX_SECONDS or CUE_MAX_CHARS (cut at the last sentence or clause end that leaves a second
 * or more, else before the word that would not fit).
 */
export function toCues(words: TimedWord[]): (TranscriptSegment & { words: TimedWord[] })[] {
  const cues: TimedWord[][] = [];
  let current: TimedWord[] = [];
  const flush = () => {
    if (current.length) cues.push(current);
    current = [];
  };
  for (const word of words) {
    const last = current.at(-1);
    if (last) {
      const gap = word.start - last.end;
      const length = last.end - current[0]!.start;
      if (gap >= LONG_PAUSE || (gap >= SHORT_PAUSE && (length >= CUE_MIN_SECONDS || pausePunctuation(last.text) === 3))) flush();
      else if (word.end - current[0]!.start > CUE_MAX_SECONDS || joinWords([...current, word]).length > CUE_MAX_CHARS) {
        let cut = -1;
        for (let i = current.length - 1; i > 0; i--) {
          if (pausePunctuation(current[i - 1]!.text) && current[i - 1]!.end - current[0]!.start >= 1) {
            cut = i;
            break;
          }
        }
        if (cut > 0) {
          const rest = current.slice(cut);
          current = current.slice(0, cut);
          flush();
          current = rest;
        } else flush();
      }
    }
    current.push(word);
  }
  flush();
  return cues.map((ws) => ({ start: ws[0]!.start, end: ws.at(-1)!.end, text: joinWords(ws), words: ws }));
}
