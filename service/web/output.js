// output.js - a job's output, any size: only the lines in view are in the
// page (a window of rows over a spacer as tall as the whole output), the
// rest is fetched by line ranges from events/lines/ as the view scrolls to
// it and kept in chunks (the oldest dropped past a cap). Live events from
// the stream are placed by their start_line, so nothing is missed or shown
// twice whatever arrives first; while it follows the end it draws at most
// every FOLLOW_MS (a flood is read, not drawn 60 times a second). ANSI
// colours by ansi_up (vendor/). A filter (host, task, status) shows the
// matching events' lines instead, from the events list. A click on a line
// calls onLine(counter).

import { AnsiUp } from "./vendor/ansi_up.js";
import { api } from "./api.js";
import { h } from "./ui.js";

const CHUNK = 500;        // lines per fetched window
const MAX_CHUNKS = 400;   // chunks kept (200,000 lines); farther ones are dropped
const OVERSCAN = 30;      // rows drawn beyond the visible ones
const FOLLOW_MS = 100;    // following a flood: a draw at most this often (the rest of the time reads the stream)

// The event names per status of the status filter.
export const STATUS_EVENTS = {
  ok: ["runner_on_ok", "runner_item_on_ok"],
  changed: ["runner_on_ok", "runner_item_on_ok"],
  failed: ["runner_on_failed", "runner_item_on_failed", "runner_on_async_failed"],
  unreachable: ["runner_on_unreachable"],
  skipped: ["runner_on_skipped", "runner_item_on_skipped"],
};

// The lines of an event: [{n, counter, ...}]. Their HTML is made when a
// line is first drawn (lineHtml): a flood costs no ANSI work for the lines
// nobody looks at.
function eventLines(ev) {
  if (!ev.stdout) return [];
  const src = { stdout: ev.stdout, html: null };
  return ev.stdout.split("\n").map((_, i) => ({
    n: ev.start_line + i, src, i, counter: ev.counter, event: ev.event, host: ev.host_name || "", task: ev.task || "",
  }));
}

// The HTML of a line: its event's lines through one AnsiUp (colours carry across them).
function lineHtml(l) {
  if (!l.src) return "";
  if (!l.src.html) {
    const au = new AnsiUp();
    au.use_classes = true;
    au.url_allowlist = {};
    l.src.html = l.src.stdout.split("\n").map((text) => au.ansi_to_html(text.replace(/\r/g, "")));
  }
  return l.src.html[l.i];
}

// True if a (slim) event matches a filter {host, task, status}.
export function eventMatches(ev, f) {
  if (f.host && ev.host_name !== f.host) return false;
  if (f.task && !(ev.task || "").toLowerCase().includes(f.task.toLowerCase())) return false;
  if (f.status) {
    if (!STATUS_EVENTS[f.status].includes(ev.event)) return false;
    if (f.status === "changed" && !ev.changed) return false;
    if (f.status === "ok" && ev.changed) return false;
  }
  return true;
}

export class OutputView {
  // linesPath: ".../events/lines/"; eventsPath: the events list of the job.
  constructor({ linesPath, eventsPath, onLine, onFollowChange }) {
    this.linesPath = linesPath;
    this.eventsPath = eventsPath;
    this.onLine = onLine;
    this.onFollowChange = onFollowChange || (() => {});
    this.chunks = new Map();   // index -> {lines: [], fetched, loading}
    this.total = 0;
    this.follow = true;
    this.filter = null;        // {host, task, status} when filtering
    this.filtered = [];        // the lines of the matching events
    this.filterNext = null;    // the next page of matches, or null
    this.closed = false;
    this.lh = 18;
    this.spacer = h("div", { class: "output-spacer" });
    this.rows = h("div", { class: "output-rows" });
    this.el = h("div", { class: "output", id: "output", tabindex: "0" }, this.spacer, this.rows);
    this.el.addEventListener("scroll", () => this.onScroll());
    this.rows.addEventListener("click", (ev) => {
      const row = ev.target.closest(".line");
      if (row && row.dataset.counter) this.onLine(Number(row.dataset.counter));
    });
    this.pending = false;
    this.lastTop = 0;
    this.lastDraw = 0;
  }

  // The number of rows the view shows.
  count() { return this.filter ? this.filtered.length : this.total; }

  // The line of row i, or undefined when not fetched yet.
  line(i) {
    if (this.filter) return this.filtered[i];
    const c = this.chunks.get(Math.floor(i / CHUNK));
    const l = c && c.lines[i % CHUNK];
    if (l) return l;
    return c && c.fetched ? { n: i, counter: 0 } : undefined;
  }

  // Put the lines of events in place; the output grows to the last one.
  addEvents(events, { live = false } = {}) {
    for (const ev of events) {
      if (ev.end_line > this.total) this.total = ev.end_line;
      const lines = eventLines(ev);
      for (const l of lines) {
        const idx = Math.floor(l.n / CHUNK);
        let c = this.chunks.get(idx);
        if (!c) { c = { lines: [], fetched: false, loading: false }; this.chunks.set(idx, c); }
        c.lines[l.n % CHUNK] = l;
      }
      if (live && this.filter && eventMatches(ev, this.filter)) this.filtered.push(...lines);
    }
    // a long flood: keep the chunks near what is in view
    if (this.chunks.size > MAX_CHUNKS) this.evict(Math.floor(this.el.scrollTop / this.lh / CHUNK));
    this.schedule();
  }

  // Open at the end: the last lines, then live events after the returned counter.
  async openAtEnd() {
    const r = await api(this.linesPath + "?start_line=-" + CHUNK);
    this.total = Math.max(this.total, r.absolute_end);
    this.addEvents(r.events);
    const first = Math.floor(r.start_line / CHUNK);
    for (let i = first; i * CHUNK < r.end_line; i++) {
      const c = this.chunks.get(i);
      if (c && (i > first || r.start_line === i * CHUNK)) c.fetched = true;
    }
    this.scrollToBottom();
    return r.events.reduce((m, e) => Math.max(m, e.counter), 0);
  }

  // Fetch a chunk of lines (once at a time).
  async fetchChunk(idx) {
    let c = this.chunks.get(idx);
    if (!c) { c = { lines: [], fetched: false, loading: false }; this.chunks.set(idx, c); }
    if (c.loading || c.fetched) return;
    c.loading = true;
    try {
      const r = await api(this.linesPath + "?start_line=" + idx * CHUNK + "&end_line=" + (idx + 1) * CHUNK);
      if (this.closed) return;
      this.total = Math.max(this.total, r.absolute_end);
      this.addEvents(r.events);
      c.fetched = true;
    } catch (e) {
      console.warn("output: lines " + idx * CHUNK + ": " + e.message);
    } finally { c.loading = false; }
    this.evict(idx);
    this.schedule();
  }

  // Drop fetched chunks far from idx past the cap.
  evict(idx) {
    if (this.chunks.size <= MAX_CHUNKS) return;
    const far = [...this.chunks.keys()].filter((k) => !this.chunks.get(k).loading)
      .sort((a, b) => Math.abs(b - idx) - Math.abs(a - idx));
    for (const k of far.slice(0, this.chunks.size - MAX_CHUNKS)) this.chunks.delete(k);
  }

  // Show only the lines of the events matching f ({host, task, status}); null: everything.
  async setFilter(f) {
    const active = f && (f.host || f.task || f.status);
    this.filter = active ? f : null;
    this.filtered = [];
    this.filterNext = null;
    this.el.scrollTop = 0;
    if (!active) { this.scrollToBottom(); return; }
    const q = new URLSearchParams({ order_by: "counter", page_size: 200 });
    if (f.host) q.set("host_name", f.host);
    if (f.task) q.set("task__icontains", f.task);
    if (f.status) {
      q.set("event__in", STATUS_EVENTS[f.status].join(","));
      if (f.status === "changed") q.set("changed", "true");
      if (f.status === "ok") q.set("changed", "false");
    }
    this.filterNext = this.eventsPath + "?" + q;
    await this.moreFiltered(this.filter);
  }

  // The next page of filtered events.
  async moreFiltered(f) {
    const url = this.filterNext;
    if (!url || this.filterLoading) return;
    this.filterLoading = true;
    try {
      const r = await api(url);
      if (this.filter !== f || this.closed) return;
      for (const ev of r.results) this.filtered.push(...eventLines(ev));
      this.filterNext = r.next;
    } finally { this.filterLoading = false; }
    this.schedule();
  }

  // Follow the end (true) or stay where the reader is.
  setFollow(on) {
    this.follow = on;
    this.onFollowChange(on);
    if (on) this.scrollToBottom();
  }

  scrollToTop() { this.setFollow(false); this.el.scrollTop = 0; this.schedule(); }
  scrollToBottom() { this.draw(); this.el.scrollTop = this.el.scrollHeight; this.schedule(); }

  // A scroll by the reader up from the end stops following.
  onScroll() {
    const top = this.el.scrollTop;
    const atBottom = top + this.el.clientHeight >= this.el.scrollHeight - this.lh * 2;
    if (this.follow && top < this.lastTop && !atBottom) this.setFollow(false);
    this.lastTop = top;
    this.schedule();
  }

  // Draw at the next animation frame (once however many changes came).
  schedule() {
    if (this.pending || this.closed) return;
    this.pending = true;
    const frame = () => requestAnimationFrame(() => { this.pending = false; this.draw(); });
    const wait = this.follow ? this.lastDraw + FOLLOW_MS - performance.now() : 0;
    if (wait > 0) setTimeout(frame, wait); else frame();
  }

  // Draw the rows in view, fetching what is missing.
  draw() {
    if (this.closed) return;
    this.lastDraw = performance.now();
    const n = this.count();
    this.spacer.style.height = n * this.lh + "px";
    if (this.follow) this.el.scrollTop = this.el.scrollHeight;
    this.lastTop = this.el.scrollTop;
    const first = Math.max(0, Math.floor(this.el.scrollTop / this.lh) - OVERSCAN);
    const last = Math.min(n, Math.ceil((this.el.scrollTop + this.el.clientHeight) / this.lh) + OVERSCAN);
    const want = new Map();
    for (let i = first; i < last; i++) {
      const l = this.line(i);
      if (!l && !this.filter) this.fetchChunk(Math.floor(i / CHUNK));
      want.set(i, l || { n: i, loading: true, counter: 0 });
    }
    if (this.filter && last >= n - OVERSCAN && this.filterNext) this.moreFiltered(this.filter);
    // a row per row index, placed at its own offset: rows still in view are
    // left alone while scrolling, rows that left it are reused for new ones
    const free = [];
    const byIndex = new Map();
    for (const row of this.rows.children) {
      const i = Number(row.dataset.row);
      if (want.has(i)) byIndex.set(i, row); else free.push(row);
    }
    for (const [i, l] of want) {
      let row = byIndex.get(i);
      if (!row) {
        row = free.pop() || this.rows.appendChild(h("div", { class: "line" }, h("span", { class: "ln" }), h("span", { class: "lc" })));
        row.dataset.row = i;
        row.style.transform = "translateY(" + i * this.lh + "px)";
      }
      const key = l.n + ":" + l.counter + ":" + (l.loading ? 1 : 0);
      if (row.dataset.key === key) continue;
      row.dataset.key = key;
      row.dataset.line = l.n;
      if (l.counter) row.dataset.counter = l.counter; else delete row.dataset.counter;
      row.classList.toggle("loading", !!l.loading);
      row.firstChild.textContent = String(l.n + 1);
      row.lastChild.innerHTML = lineHtml(l); // ansi_up's output: the text escaped, spans with classes
    }
    for (const row of free) row.remove();
  }

  // Stop drawing and fetching.
  close() { this.closed = true; }
}
