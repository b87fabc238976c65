// jobs.js - the jobs list (#/jobs): every unified job with its status icon,
// paging, filters (status, template, launched by, name) and sort, all kept
// in the URL (#/jobs?status=failed&page=2) so that a reload shows the same.

import { api } from "./api.js";
import { h, statusBadge, when, duration, jobHref, hashOf, pager, table, isActive } from "./ui.js";

const STATUSES = ["new", "pending", "waiting", "running", "successful", "failed", "error", "canceled"];
const SORTS = [["-id", "Newest first"], ["id", "Oldest first"], ["-finished", "Finished (latest)"],
  ["name", "Name"], ["status", "Status"], ["-elapsed", "Longest"]];
const PAGE_SIZE = 20;

// Render the jobs list for the query of the URL.
export async function renderJobs(el, ctx) {
  const q = ctx.query;
  const page = Math.max(1, Number(q.page) || 1);
  const go = (changes) => { location.hash = hashOf("/jobs", Object.assign({}, q, { page: undefined }, changes)); };
  const [templates, users] = await Promise.all([
    api("/api/v2/job_templates/?page_size=200&order_by=name").then((r) => r.results).catch(() => []),
    api("/api/v2/users/?page_size=200&order_by=username").then((r) => r.results).catch(() => []),
  ]);
  if (!ctx.alive()) return;
  const select = (id, value, options, onchange) => {
    const s = h("select", { id, onchange: (ev) => onchange(ev.target.value) }, options.map(([v, l]) => h("option", { value: v }, l)));
    s.value = value || "";
    return s;
  };
  const search = h("input", { id: "jobs-search", type: "search", placeholder: "Name contains", value: q.search || "" });
  const filters = h("form", { class: "filters", onsubmit: (ev) => { ev.preventDefault(); go({ search: search.value }); } },
    h("label", {}, "Status ", select("jobs-status", q.status, [["", "Any"], ...STATUSES.map((s) => [s, s])], (v) => go({ status: v }))),
    h("label", {}, "Template ", select("jobs-template", q.template, [["", "Any"], ...templates.map((t) => [String(t.id), t.name])], (v) => go({ template: v }))),
    h("label", {}, "Launched by ", select("jobs-launched-by", q.launched_by, [["", "Anyone"], ...users.map((u) => [String(u.id), u.username])], (v) => go({ launched_by: v }))),
    h("label", {}, "Sort ", select("jobs-sort", q.order_by || "-id", SORTS, (v) => go({ order_by: v }))),
    search, h("button", { type: "submit" }, "Search"));
  const holder = h("div", { id: "jobs-table" });
  el.append(h("h2", {}, "Jobs"), filters, holder);

  const params = new URLSearchParams({ page, page_size: PAGE_SIZE, order_by: q.order_by || "-id" });
  if (q.status) params.set("status", q.status);
  if (q.launched_by) params.set("created_by", q.launched_by);
  if (q.search) params.set("name__icontains", q.search);
  let base = "/api/v2/unified_jobs/";
  if (q.template) { base = "/api/v2/jobs/"; params.set("job_template", q.template); }

  let timer = null;
  ctx.onLeave(() => clearTimeout(timer));
  // Fetch the page and draw it; again in a few seconds while jobs run.
  const refresh = async () => {
    let r;
    try { r = await api(base + "?" + params); } catch (e) {
      if (!ctx.alive()) return;
      holder.textContent = "";
      holder.append(h("p", { class: "error" }, e.message));
      return;
    }
    if (!ctx.alive()) return;
    holder.textContent = "";
    holder.append(table([
      { title: "Status", cell: (j) => statusBadge(j.status) },
      { title: "ID", cell: (j) => h("a", { href: jobHref(j), class: "job-link" }, String(j.id)) },
      { title: "Name", cell: (j) => h("a", { href: jobHref(j) }, j.name) },
      { title: "Type", cell: (j) => j.type.replace(/_/g, " ") },
      { title: "Launched by", cell: (j) => (j.summary_fields && j.summary_fields.created_by && j.summary_fields.created_by.name) || "" },
      { title: "Started", cell: (j) => when(j.started) },
      { title: "Finished", cell: (j) => when(j.finished) },
      { title: "Elapsed", cell: (j) => duration(j.elapsed) },
    ], r.results, (j) => ({ dataset: { id: j.id, type: j.type, status: j.status }, class: "job-row" })),
    pager(page, PAGE_SIZE, r.count, (p) => { location.hash = hashOf("/jobs", Object.assign({}, q, { page: p })); }));
    timer = setTimeout(refresh, r.results.some((j) => isActive(j.status)) ? 2000 : 5000);
  };
  await refresh();
}
