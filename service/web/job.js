// job.js - one unified job's page (#/jobs/42, #/project_updates/7, ...): the
// details AWX shows (template, inventory, project, revision, launched by,
// started, finished, elapsed ticking while it runs), the host status bar and
// the output, both live through the job's event stream (events/stream/,
// Server-Sent Events); follow / stop following, top / bottom, a filter by
// host, task and status, a click on a line for its event's JSON; Cancel,
// Relaunch (all hosts / failed hosts) and Download of the whole stdout.

import { api, stream } from "./api.js";
import { authHeaders } from "./auth.js";
import { h, statusBadge, when, duration, isActive, jobHref, openModal } from "./ui.js";
import { OutputView, STATUS_EVENTS } from "./output.js";

const EVENTS_PATH = { jobs: "job_events", project_updates: "events", inventory_updates: "events",
  ad_hoc_commands: "events", system_jobs: "events" };
const HOST_STATES = ["ok", "changed", "failed", "unreachable", "skipped"];
// Which state of a host wins (AWX counts a host once, by its worst outcome).
const RANK = { skipped: 1, ok: 2, changed: 3, unreachable: 4, failed: 5 };

// The host state an event says, or null.
function hostState(ev) {
  if (!ev.host_name) return null;
  if (STATUS_EVENTS.failed.includes(ev.event)) return ev.failed === false ? "ok" : "failed";
  if (ev.event === "runner_on_unreachable") return "unreachable";
  if (STATUS_EVENTS.ok.includes(ev.event)) return ev.changed ? "changed" : "ok";
  if (STATUS_EVENTS.skipped.includes(ev.event)) return "skipped";
  return null;
}

// Render the page of job id of kind (the plural of its type).
export async function renderJob(el, ctx, kind, id) {
  const base = "/api/v2/" + kind + "/" + id + "/";
  let job = await api(base);
  if (!ctx.alive()) return;
  const hosts = new Map(); // host -> state, from the events seen live
  let serverCounts = job.host_status_counts && !isActive(job.status) ? job.host_status_counts : null;

  const statusEl = h("span", { id: "job-status" });
  const cancelBtn = h("button", { type: "button", id: "job-cancel", class: "danger", hidden: true, onclick: cancel }, "Cancel");
  const relaunchBtn = h("button", { type: "button", id: "job-relaunch", hidden: true, onclick: () => relaunch(null) }, "Relaunch");
  const relaunchFailedBtn = h("button", { type: "button", id: "job-relaunch-failed", hidden: true, onclick: () => relaunch("failed") }, "Relaunch failed hosts");
  const downloadBtn = h("button", { type: "button", id: "job-download", onclick: download }, "Download");
  const actionMsg = h("span", { id: "job-action-msg", class: "error" });
  const details = h("dl", { id: "job-details", class: "details" });
  const hostBar = h("div", { id: "host-status", class: "host-status" });

  const followBtn = h("button", { type: "button", id: "output-follow", onclick: () => out.setFollow(!out.follow) }, "Stop following");
  const hostSel = h("select", { id: "filter-host" }, h("option", { value: "" }, "All hosts"));
  const taskIn = h("input", { id: "filter-task", type: "search", placeholder: "Task contains" });
  const statusSel = h("select", { id: "filter-status" }, h("option", { value: "" }, "Any status"),
    HOST_STATES.map((s) => h("option", { value: s }, s)));
  const applyFilter = () => out.setFilter({ host: hostSel.value, task: taskIn.value.trim(), status: statusSel.value })
    .catch((e) => { actionMsg.textContent = e.message; });
  hostSel.addEventListener("change", applyFilter);
  statusSel.addEventListener("change", applyFilter);
  const toolbar = h("form", { class: "output-toolbar", onsubmit: (ev) => { ev.preventDefault(); applyFilter(); } },
    hostSel, taskIn, statusSel, h("button", { type: "submit", id: "filter-apply" }, "Filter"),
    h("span", { class: "spacer" }),
    followBtn,
    h("button", { type: "button", id: "output-top", onclick: () => out.scrollToTop() }, "Top"),
    h("button", { type: "button", id: "output-bottom", onclick: () => out.scrollToBottom() }, "Bottom"));

  const out = new OutputView({
    linesPath: base + "events/lines/",
    eventsPath: base + EVENTS_PATH[kind] + "/",
    onLine: showEvent,
    onFollowChange: (on) => { followBtn.textContent = on ? "Stop following" : "Follow"; followBtn.classList.toggle("on", on); },
  });
  ctx.onLeave(() => out.close());

  el.append(
    h("div", { class: "job-head" },
      h("h2", { id: "job-title" }, job.type.replace(/_/g, " ") + " " + job.id + " \u2014 " + job.name),
      statusEl, cancelBtn, relaunchBtn, relaunchFailedBtn, downloadBtn, actionMsg),
    h("div", { class: "job-grid" },
      h("section", { class: "panel" }, h("h3", {}, "Details"), details),
      h("section", { class: "panel output-panel" }, h("h3", {}, "Hosts"), hostBar, h("h3", {}, "Output"), toolbar, out.el)));

  // Draw the details of the job object.
  function drawDetails() {
    statusEl.textContent = "";
    statusEl.append(statusBadge(job.status));
    const active = isActive(job.status);
    cancelBtn.hidden = !active;
    const relaunchable = !!(job.related && job.related.relaunch);
    relaunchBtn.hidden = !relaunchable || active;
    relaunchFailedBtn.hidden = !relaunchable || active || kind !== "jobs";
    const sf = job.summary_fields || {};
    const link = (o, href) => (o ? h("a", { href }, o.name) : null);
    const rows = [
      ["Status", job.status],
      ["Explanation", job.job_explanation],
      ["Template", sf.job_template && link(sf.job_template, "#/templates/" + sf.job_template.id)],
      ["Inventory", sf.inventory && link(sf.inventory, "#/inventories/" + sf.inventory.id)],
      ["Project", sf.project && link(sf.project, "#/projects/" + sf.project.id)],
      ["Revision", job.scm_revision ? h("code", {}, job.scm_revision.slice(0, 12)) : null],
      ["Playbook", job.playbook],
      ["Module", job.module_name ? job.module_name + (job.module_args ? " " + job.module_args : "") : null],
      ["Limit", job.limit],
      ["Job type", job.job_type],
      ["Launched by", (job.launched_by && job.launched_by.name) || (sf.created_by && sf.created_by.name)],
      ["Launch type", job.launch_type],
      ["Started", when(job.started)],
      ["Finished", when(job.finished)],
      ["Elapsed", h("span", { id: "job-elapsed" }, elapsed())],
    ];
    details.textContent = "";
    for (const [k, v] of rows) {
      if (v === null || v === undefined || v === "") continue;
      details.append(h("dt", {}, k), h("dd", { dataset: { field: k.toLowerCase().replace(/ /g, "_") } }, v));
    }
  }

  // Seconds since start while running, else the stored elapsed.
  function elapsed() {
    if (job.status === "running" && job.started) return duration(Math.max(0, (Date.now() - Date.parse(job.started)) / 1000));
    return duration(job.elapsed);
  }

  // Draw the host status bar: the server's counts once final, else the live ones.
  function drawHosts() {
    const counts = {};
    // the job's own counts use AWX's words (dark: unreachable, failures: failed)
    if (serverCounts) for (const [k, v] of Object.entries(serverCounts)) counts[{ dark: "unreachable", failures: "failed" }[k] || k] = v;
    else for (const s of hosts.values()) counts[s] = (counts[s] || 0) + 1;
    const total = HOST_STATES.reduce((n, s) => n + (counts[s] || 0), 0);
    hostBar.textContent = "";
    if (!total) { hostBar.append(h("span", { class: "muted" }, "No host results yet.")); return; }
    const bar = h("div", { class: "bar" });
    const legend = h("div", { class: "legend" });
    for (const s of HOST_STATES) {
      if (!counts[s]) continue;
      bar.append(h("span", { class: "seg seg-" + s, style: null, title: s + ": " + counts[s], dataset: { state: s } }));
      bar.lastChild.style.flexGrow = String(counts[s]);
      legend.append(h("span", { class: "legend-" + s, dataset: { state: s, count: counts[s] } }, s + " " + counts[s]));
    }
    hostBar.append(bar, legend);
  }

  // Known hosts in the filter.
  const hostNames = new Set(); // the hosts in the filter (a flood asks for each event's)
  function addHostOption(name) {
    if (!name || hostNames.has(name)) return;
    hostNames.add(name);
    hostSel.append(h("option", { value: name }, name));
  }

  // A click on a line: the whole event, as JSON.
  async function showEvent(counter) {
    try {
      const r = await api(base + EVENTS_PATH[kind] + "/?counter=" + counter);
      if (!ctx.alive() || !r.results.length) return;
      const ev = r.results[0];
      openModal("Event " + ev.counter + ": " + ev.event + (ev.host_name ? " (" + ev.host_name + ")" : ""),
        h("pre", { id: "event-json", class: "json" }, JSON.stringify(ev, null, 2)));
    } catch (e) { actionMsg.textContent = e.message; }
  }

  // Cancel the job (AWX's POST cancel/).
  async function cancel() {
    actionMsg.textContent = "";
    try { await api(base + "cancel/", { method: "POST", body: {} }); } catch (e) { actionMsg.textContent = e.message; }
  }

  // Relaunch on all hosts (null) or the failed ones; then show the new job.
  async function relaunch(hostsWhich) {
    actionMsg.textContent = "";
    try {
      const nj = await api(base + "relaunch/", { method: "POST", body: hostsWhich ? { hosts: hostsWhich } : {} });
      location.hash = jobHref(nj);
    } catch (e) { actionMsg.textContent = e.message; }
  }

  // Download the whole stdout as text (the API's txt_download, with this page's credential).
  async function download() {
    actionMsg.textContent = "";
    try {
      const r = await fetch(base + "stdout/?format=txt_download", { headers: authHeaders() });
      if (!r.ok) throw new Error("Download failed (" + r.status + ").");
      const blob = await r.blob();
      const a = h("a", { href: URL.createObjectURL(blob), download: job.type + "_" + job.id + ".txt" });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (e) { actionMsg.textContent = e.message; }
  }

  drawDetails();
  drawHosts();
  const tick = setInterval(() => {
    const e = document.getElementById("job-elapsed");
    if (e && job.status === "running") e.textContent = elapsed();
  }, 1000);
  ctx.onLeave(() => clearInterval(tick));

  // the hosts of the job for the filter
  if (job.related && job.related.job_host_summaries) api(job.related.job_host_summaries + "?page_size=200").then((r) => r.results.forEach((s) => addHostOption(s.host_name))).catch(() => {});

  let after = await out.openAtEnd();
  if (!ctx.alive()) return;
  out.el.dataset.openedAt = after;
  // a job already running when opened: its latest host results
  if (isActive(job.status) && kind === "jobs") {
    try {
      const r = await api(base + "job_events/?order_by=counter&page_size=200&event__in=" +
        [...STATUS_EVENTS.ok, ...STATUS_EVENTS.failed, ...STATUS_EVENTS.skipped, "runner_on_unreachable"].join(",") + "&counter__lte=" + after);
      for (const ev of r.results) noteHost(ev);
      drawHosts();
    } catch (e) { /* the bar fills from the live events */ }
  }

  // Remember a host's state from an event.
  function noteHost(ev) {
    addHostOption(ev.host_name);
    const s = hostState(ev);
    if (s && (RANK[s] || 0) >= (RANK[hosts.get(ev.host_name)] || 0)) hosts.set(ev.host_name, s);
  }

  // Follow the event stream (again after a dropped connection, from the last counter).
  let sse = null;
  ctx.onLeave(() => sse && sse.close());
  let ended = false;
  while (ctx.alive() && !ended) {
    sse = stream(base + "events/stream/?after=" + after, (name, data, msgId) => {
      if (!ctx.alive()) return;
      if (name === "events") {
        out.addEvents(data, { live: true });
        for (const ev of data) noteHost(ev);
        if (msgId) after = Number(msgId);
        // for tests and benchmarks: how far the page is, and what it got live
        out.el.dataset.lastCounter = after;
        out.el.dataset.received = Number(out.el.dataset.received || 0) + data.length;
        drawHosts();
      } else if (name === "status") {
        Object.assign(job, data);
        drawDetails();
      } else if (name === "end" || name === "error") {
        ended = true; // error: the job was deleted, or the store failed (said in data.detail)
        if (name === "error") actionMsg.textContent = data.detail || "The output stream failed.";
      }
    });
    try { await sse.done; } catch (e) {
      console.warn("stream: " + e.message);
      if (e.status === 404) ended = true;
    }
    if (!ended && ctx.alive()) await new Promise((r) => setTimeout(r, 1000));
  }
  if (!ctx.alive()) return;
  job = await api(base);
  if (!ctx.alive()) return;
  serverCounts = job.host_status_counts || null;
  drawDetails();
  drawHosts();
}
