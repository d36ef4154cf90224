import { describe, expect, test } from "bun:test";
import { conversationFileStem, conversationId, deviceFileStemPrefix } from "../../../src/conversations/key.ts";

describe("conversation keys", () => {
  test("the id is frontEnd:device:role", () => {
    expect(conversationId({ frontEnd: "folotoy", device: "e465b82b9ec8", role: "1" })).toBe("folotoy:e465b82b9ec8:1");
    expect(conversationId({ frontEnd: "api", device: "default", role: "3" })).toBe("api:default:3");
    expect(conversationId({ frontEnd: "web", device: "console", role: "2" })).toBe("web:console:2");
  });

  test("a plain key keeps its readable stem", () => {
    expect(conversationFileStem({ frontEnd: "folotoy", device: "e465b82b9ec8", role: "1" })).toBe("folotoy.e465b82b9ec8.1");
    expect(conversationFileStem({ frontEnd: "api", device: "user_A-1", role: "3" })).toBe("api.user_A-1.3");
  });

  test("other characters are escaped, so no stem names a path or a hidden file", () => {
    expect(conversationFileStem({ frontEnd: "api", device: "../../etc/passwd", role: "1" })).toBe("api.%2E%2E%2F%2E%2E%2Fetc%2Fpasswd.1");
    expect(conversationFileStem({ frontEnd: "api", device: "ü", role: "1" })).toBe("api.%C3%BC.1");
    expect(conversationFileStem({ frontEnd: "", device: "", role: "" })).toBe("%.%.%");
    const nasty = ["..", ".", "/", "a/b", "\\x", "~", "%41", "a:b", "a.b", "\0", "e\u0301", "🐇", " ", "CON", "x".repeat(500), "ü".repeat(300)];
    for (const device of nasty) {
      const stem = conversationFileStem({ frontEnd: "api", device, role: device });
      expect(stem).toMatch(/^[A-Za-z0-9_%~-]+\.[A-Za-z0-9_%~-]+\.[A-Za-z0-9_%~-]+$/);
      expect(stem.length).toBeLessThanOrEqual(125);
    }
  });

  test("different keys give different stems, long ones included", () => {
    const devices = ["a:b", "a.b", "a/b", "%3A", "a%3Ab", "~", "x".repeat(100), "x".repeat(101), "x".repeat(100) + "y", "", "%"];
    const stems = new Set<string>();
    for (const device of devices) for (const role of ["1", "1:2", "1.2"]) stems.add(conversationFileStem({ frontEnd: "api", device, role }));
    expect(stems.size).toBe(devices.length * 3);
    // ids can collide (':' inside a part); stems do not
    expect(conversationId({ frontEnd: "api", device: "a:b", role: "1" })).toBe(conversationId({ frontEnd: "api", device: "a", role: "b:1" }));
    expect(conversationFileStem({ frontEnd: "api", device: "a:b", role: "1" })).not.toBe(conversationFileStem({ frontEnd: "api", device: "a", role: "b:1" }));
  });

  test("the device prefix starts exactly that device's stems", () => {
    const prefix = deviceFileStemPrefix("folotoy", "abc");
    expect(conversationFileStem({ frontEnd: "folotoy", device: "abc", role: "7" }).startsWith(prefix)).toBe(true);
    expect(conversationFileStem({ frontEnd: "folotoy", device: "abcd", role: "7" }).startsWith(prefix)).toBe(false);
    const long = "z".repeat(200);
    expect(conversationFileStem({ frontEnd: "api", device: long, role: "x".repeat(99) }).startsWith(deviceFileStemPrefix("api", long))).toBe(true);
  });
});
