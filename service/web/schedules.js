// schedules.js - a template's schedules on its page (#/templates/3): the
// list (next run in the browser's time, its zone, enabled), enable/disable
// and delete, a preview of an rrule's next runs and a form to add one. The
// rules and their errors are the API's (AWX's rrule dialect).

import { api } from "./api.js";
import { h, when, table, form } from "./ui.js";

// A starting rrule: tomorrow 09:00 in the browser's zone, daily.
function defaultRrule() {
  const d = new Date(Date.now() + 86400000);
  const p2 = (n) => String(n).padStart(2, "0");
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  return "DTSTART;TZID=" + tz + ":" + d.getFullYear() + p2(d.getMonth() + 1) + p2(d.getDate()) +
    "T090000 RRULE:FREQ=DAILY;INTERVAL=1";
}

// The schedules panel of job template id; rerender() draws the page again.
export async function schedulesPanel(id, ctx, rerender) {
  const base = "/api/v2/job_templates/" + id + "/schedules/";
  const r = await api(base + "?order_by=name&page_size=50");
  if (!ctx.alive()) return h("section");
  const msg = h("p", { class: "error", id: "schedules-error" });
  const act = (fn) => async () => {
    msg.textContent = "";
    try { await fn(); rerender(); } catch (e) { msg.textContent = e.message; }
  };
  const list = table([
    { title: "Name", cell: (s) => s.name },
    { title: "Next run", cell: (s) => (s.next_run ? when(s.next_run) : "\u2013") },
    { title: "Time zone", cell: (s) => s.timezone },
    { title: "Enabled", cell: (s) => (s.enabled ? "yes" : "no") },
    { title: "", cell: (s) => h("span", { class: "actions" },
      h("button", { type: "button", class: "schedule-toggle", onclick: act(() =>
        api(s.url, { method: "PATCH", body: { enabled: !s.enabled } })) }, s.enabled ? "Disable" : "Enable"),
      h("button", { type: "button", class: "schedule-delete", onclick: act(() =>
        api(s.url, { method: "DELETE" })) }, "Delete")) },
  ], r.results, (s) => ({ dataset: { id: s.id }, class: "schedule-row" }));
  const fields = [
    { name: "schedule_name", label: "Name", required: true },
    { name: "schedule_rrule", label: "Rule (DTSTART;TZID=... RRULE:...)", type: "textarea", rows: 2,
      value: defaultRrule(), required: true },
  ];
  const runs = h("ol", { class: "schedule-preview", id: "schedule-preview" });
  const add = form(fields, "Add schedule", async (v) => {
    await api(base, { method: "POST", body: { name: v.schedule_name, rrule: v.schedule_rrule } });
    rerender();
  });
  add.id = "schedule-form";
  const preview = h("button", { type: "button", id: "schedule-preview-button", onclick: async () => {
    msg.textContent = "";
    runs.textContent = "";
    try {
      const rrule = add.querySelector("#f-schedule_rrule").value;
      const p = await api("/api/v2/schedules/preview/", { method: "POST", body: { rrule } });
      for (const t of p.local) runs.append(h("li", {}, t));
      if (!p.local.length) runs.append(h("li", {}, "No runs ahead."));
    } catch (e) { msg.textContent = e.message; }
  } }, "Preview");
  return h("section", { class: "panel", id: "template-schedules" }, h("h3", {}, "Schedules"), msg, list,
    add, preview, runs);
}
