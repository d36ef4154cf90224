import type { AudioChunk } from "../engines/types.ts";

/** One sentence of a spoken reply, ready to encode and play. `order` counts from 1. */
export interface SpokenSentence {
  order: number;
  text: string;
  audio: AudioChunk;
  /** Epoch ms when its audio was ready (it may wait a little while the consumer handles the one before). */
  readyAt: number;
}

/** A finished conversation turn, kept for the web console and /metrics. */
export interface TurnRecord {
  id: string;
  source: "toy" | "web" | "api";
  sn?: string;
  role?: string;
  /** Epoch ms when the speaker stopped talking (or the request arrived). */
  at: number;
  transcript: string;
  reply: string;
  /** One entry per spoken sentence; url is where its audio can be fetched while it is kept. */
  sentences: { order: number; text: string; url?: string }[];
  timings: { sttMs?: number; firstTokenMs?: number; firstAudioMs?: number; totalMs?: number };
  error?: string;
}

/** What the console shows for each toy. */
export interface ToyStatus {
  sn: string;
  role: number;
  connected: boolean;
  lastSeen: number;
  battery?: number | null;
  firmware?: string;
  address?: string;
}
