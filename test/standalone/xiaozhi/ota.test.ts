// The version check (main/ota.cc): what Hearth reads from a device's request, what it answers,
// which WebSocket URL it gives and why, and how a device id is normalized.
import { describe, expect, test } from "bun:test";
import { websocketUrl } from "../../../src/devices/xiaozhi/addresses.ts";
import { normalizeDeviceId } from "../../../src/devices/xiaozhi/device-id.ts";
import { OtaRequestError, otaResponse, parseOtaRequest } from "../../../src/devices/xiaozhi/ota.ts";

/** The headers Ota::SetupHttp sets, and a system-info body as Board::GetSystemInfoJson writes it. */
function firmwareRequest(over: Record<string, string> = {}, body?: unknown) {
  const headers = new Headers({
    "Activation-Version": "1",
    "Device-Id": "AA:BB:CC:DD:EE:FF",
    "Client-Id": "5b2f7c1e-8e4e-4c0f-9a57-3f0f4d0c1a22",
    "User-Agent": "bread-compact-wifi/1.8.2",
    "Accept-Language": "zh-CN",
    "Content-Type": "application/json",
    ...over,
  });
  const info = body ?? {
    version: 2,
    language: "zh-CN",
    flash_size: 16777216,
    minimum_free_heap_size: "7265024",
    mac_address: "aa:bb:cc:dd:ee:ff",
    uuid: "5b2f7c1e-8e4e-4c0f-9a57-3f0f4d0c1a22",
    chip_model_name: "esp32s3",
    application: { name: "xiaozhi", version: "1.9.0", compile_time: "2025-06-01T10:00:00Z", idf_version: "v5.4.1", elf_sha256: "ab" },
    board: { type: "esp-box-3", name: "esp-box-3", ssid: "home", rssi: -48, channel: 6, ip: "192.168.1.77", mac: "aa:bb:cc:dd:ee:ff" },
  };
  return { headers, body: typeof info === "string" ? info : JSON.stringify(info) };
}

describe("parseOtaRequest", () => {
  test("reads the firmware's headers and system info", () => {
    const { headers, body } = firmwareRequest();
    expect(parseOtaRequest(headers, body)).toEqual({
      device: "aabbccddeeff",
      deviceIdHeader: "AA:BB:CC:DD:EE:FF",
      clientId: "5b2f7c1e-8e4e-4c0f-9a57-3f0f4d0c1a22",
      activationVersion: "1",
      serialNumber: undefined,
      userAgent: "bread-compact-wifi/1.8.2",
      language: "zh-CN",
      firmware: "1.9.0",
      board: "esp-box-3",
      chip: "esp32s3",
      ip: "192.168.1.77",
    });
  });

  test("a GET (no body) or a broken body: the User-Agent gives board and version", () => {
    for (const body of ["", "{not json", "[1,2]"]) {
      const r = parseOtaRequest(firmwareRequest({}, body).headers, body);
      expect(r.firmware).toBe("1.8.2");
      expect(r.board).toBe("bread-compact-wifi");
      expect(r.ip).toBeUndefined();
    }
  });

  test("without a usable Device-Id it is not a device's version check", () => {
    const { body } = firmwareRequest();
    expect(() => parseOtaRequest(new Headers({ "Client-Id": "x" }), body)).toThrow(OtaRequestError);
    expect(() => parseOtaRequest(new Headers({ "Device-Id": "../../etc/passwd" }), body)).toThrow(/not a MAC address/);
  });
});

describe("otaResponse", () => {
  test("server_time, the device's own version with an empty URL, the WebSocket", () => {
    expect(otaResponse({ now: 1700000000123, timezoneOffsetMinutes: 480, firmwareVersion: "1.9.0", websocket: { url: "ws://192.168.1.20:8080/xiaozhi/v1/", token: "t" } })).toEqual({
      server_time: { timestamp: 1700000000123, timezone_offset: 480 },
      firmware: { version: "1.9.0", url: "" },
      websocket: { url: "ws://192.168.1.20:8080/xiaozhi/v1/", token: "t" },
    });
  });

  test("activation instead of a WebSocket while a device waits for approval", () => {
    const r = otaResponse({ now: 1, timezoneOffsetMinutes: 0, firmwareVersion: "1.9.0", activation: { code: "123456", message: "Hearth 123456", challenge: "abc", timeoutMs: 30000 } });
    expect(r.activation).toEqual({ message: "Hearth 123456", code: "123456", challenge: "abc", timeout_ms: 30000 });
    expect(r.websocket).toBeUndefined();
  });

  test("a version the firmware could not compare (std::stoi on each dotted part) is not echoed", () => {
    for (const v of ["v1.2", "1.x", "", "latest"]) expect(otaResponse({ now: 1, timezoneOffsetMinutes: 0, firmwareVersion: v }).firmware).toBeUndefined();
    expect(otaResponse({ now: 1, timezoneOffsetMinutes: 0, firmwareVersion: "2.0.1-beta" }).firmware).toEqual({ version: "2.0.1-beta", url: "" });
  });
});

describe("websocketUrl", () => {
  const base = { configured: "", publicUrl: "", host: "192.168.1.20:8080", httpPort: 8080 };

  test("[xiaozhi] websocket_url wins", () => {
    expect(websocketUrl({ ...base, configured: "wss://hearth.example/xiaozhi/v1/" })).toEqual({ url: "wss://hearth.example/xiaozhi/v1/", why: "[xiaozhi] websocket_url" });
  });

  test("else the address the device reached the OTA URL on", () => {
    expect(websocketUrl(base).url).toBe("ws://192.168.1.20:8080/xiaozhi/v1/");
    expect(websocketUrl({ ...base, host: "hearth.local" }).url).toBe("ws://hearth.local/xiaozhi/v1/");
    expect(websocketUrl({ ...base, host: "[fe80::1]:8080" }).url).toBe("ws://[fe80::1]:8080/xiaozhi/v1/");
  });

  test("no usable Host: [http] public_url, then this machine's address", () => {
    expect(websocketUrl({ ...base, host: null, publicUrl: "http://10.0.0.5:9000/" }).url).toBe("ws://10.0.0.5:9000/xiaozhi/v1/");
    const guessed = websocketUrl({ ...base, host: "bad host/with space" });
    expect(guessed.url).toMatch(/^ws:\/\/[\d.]+:8080\/xiaozhi\/v1\/$/);
    expect(guessed.why).toMatch(/non-internal IPv4|no network interface/);
  });
});

test("device ids: a MAC in any spelling is 12 lowercase hex digits; other plain ids stay; the rest is refused", () => {
  for (const mac of ["aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF", "aabbccddeeff", " AA:BB:CC:DD:EE:FF "]) expect(normalizeDeviceId(mac)).toBe("aabbccddeeff");
  expect(normalizeDeviceId("py-xiaozhi_01")).toBe("py-xiaozhi_01");
  for (const bad of ["", null, undefined, "a b", "x".repeat(65), "../x", "..", "-a"]) expect(normalizeDeviceId(bad)).toBeUndefined();
});
