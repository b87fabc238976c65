// api.js - the page's calls to /api/v2: JSON in and out, authenticated by
// auth.js; a 401 anywhere logs the page out. stream() follows a
// Server-Sent Events endpoint through fetch (so that it carries the same
// Authorization header as every other call).

import { authHeaders, forget } from "./auth.js";

let onUnauthorized = () => {};

// Set what happens when the server refuses the credential.
export function setUnauthorized(fn) { onUnauthorized = fn; }

// An error from the API: status and the body AWX sends ({detail} or {field: [msg]}).
export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body;
  }
}

// A readable message from an error body.
function describe(status, body) {
  if (body && typeof body === "object") {
    if (body.detail) return String(body.detail);
    const parts = [];
    for (const [k, v] of Object.entries(body)) parts.push(k + ": " + (Array.isArray(v) ? v.join(" ") : JSON.stringify(v)));
    if (parts.length) return parts.join("; ");
  }
  return "Request failed (" + status + ").";
}

// Call the API: resolves to the parsed body (null when empty); throws ApiError.
export async function api(path, { method = "GET", body, signal } = {}) {
  const headers = Object.assign({ Accept: "application/json" }, authHeaders(method));
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401) { forget(); onUnauthorized(); throw new ApiError(401, { detail: "Not logged in." }); }
  const text = await r.text();
  let parsed = null;
  if (text) { try { parsed = JSON.parse(text); } catch (e) { parsed = text; } }
  if (!r.ok) throw new ApiError(r.status, parsed);
  return parsed;
}

// Follow an SSE endpoint: onMessage(name, data, id) per message. Returns
// {close(), done} (done resolves when the stream ends: "end" or closed).
export function stream(path, onMessage) {
  const ctl = new AbortController();
  const done = (async () => {
    const r = await fetch(path, { headers: Object.assign({ Accept: "text/event-stream" }, authHeaders()), signal: ctl.signal });
    if (r.status === 401) { forget(); onUnauthorized(); return; }
    if (!r.ok) throw new ApiError(r.status, null);
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    let scanned = 0; // buf[0, scanned) holds no message end: a big message is scanned once
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let cut;
      while ((cut = buf.indexOf("\n\n", Math.max(0, scanned - 1))) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        scanned = 0;
        let name = "message", id = null;
        const data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const i = line.indexOf(":");
          const field = i < 0 ? line : line.slice(0, i);
          const v = i < 0 ? "" : line.slice(line.charCodeAt(i + 1) === 32 ? i + 2 : i + 1);
          if (field === "event") name = v; else if (field === "data") data.push(v); else if (field === "id") id = v;
        }
        if (data.length) onMessage(name, JSON.parse(data.join("\n")), id);
      }
      scanned = buf.length;
    }
  })().catch((e) => { if (e.name !== "AbortError") throw e; });
  return { close: () => ctl.abort(), done };
}
