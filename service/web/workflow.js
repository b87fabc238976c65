// workflow.js - one workflow job's page (#/workflow_jobs/42): its details
// and its nodes, each with what it runs, the edges to its children, and the
// job it spawned (status, link) or "will not run"; redrawn every two seconds
// while the workflow runs; Cancel.

import { api } from "./api.js";
import { h, statusBadge, when, duration, isActive, jobHref, table } from "./ui.js";

// Render the page of workflow job id.
export async function renderWorkflowJob(el, ctx, id) {
  const base = "/api/v2/workflow_jobs/" + id + "/";
  const statusEl = h("span", { id: "job-status" });
  const actionMsg = h("span", { id: "job-action-msg", class: "error" });
  const cancelBtn = h("button", { type: "button", id: "job-cancel", class: "danger", hidden: true, onclick: cancel }, "Cancel");
  const title = h("h2", { id: "job-title" });
  const details = h("dl", { id: "job-details", class: "details" });
  const nodesEl = h("div", { id: "workflow-nodes" });
  el.append(h("div", { class: "job-head" }, title, statusEl, cancelBtn, actionMsg),
    h("div", { class: "job-grid" },
      h("section", { class: "panel" }, h("h3", {}, "Details"), details),
      h("section", { class: "panel" }, h("h3", {}, "Nodes"), nodesEl)));

  let timer = null;
  ctx.onLeave(() => clearTimeout(timer));

  // Fetch the workflow job and its nodes and draw them; again while it runs.
  async function refresh() {
    let job, nodes;
    try {
      [job, nodes] = await Promise.all([api(base), api(base + "workflow_nodes/?page_size=200&order_by=id")]);
    } catch (e) {
      if (ctx.alive()) actionMsg.textContent = e.message;
      return;
    }
    if (!ctx.alive()) return;
    title.textContent = "workflow job " + job.id + " \u2014 " + job.name;
    statusEl.textContent = "";
    statusEl.append(statusBadge(job.status));
    cancelBtn.hidden = !isActive(job.status);
    const sf = job.summary_fields || {};
    const rows = [
      ["Status", job.status],
      ["Explanation", job.job_explanation],
      ["Template", sf.workflow_job_template && sf.workflow_job_template.name],
      ["Launched by", (job.launched_by && job.launched_by.name) || (sf.created_by && sf.created_by.name)],
      ["Launch type", job.launch_type],
      ["Started", when(job.started)],
      ["Finished", when(job.finished)],
      ["Elapsed", duration(job.elapsed)],
    ];
    details.textContent = "";
    for (const [k, v] of rows) {
      if (v === null || v === undefined || v === "") continue;
      details.append(h("dt", {}, k), h("dd", { dataset: { field: k.toLowerCase().replace(/ /g, "_") } }, v));
    }
    const byId = new Map(nodes.results.map((n) => [n.id, n]));
    const names = (ids) => ids.map((i) => (byId.get(i) || { identifier: String(i) }).identifier).join(", ");
    nodesEl.textContent = "";
    nodesEl.append(table([
      { title: "Node", cell: (n) => n.identifier },
      { title: "Runs", cell: (n) => (n.summary_fields.unified_job_template || {}).name || "(nothing)" },
      { title: "Job", cell: (n) => {
        const j = n.summary_fields.job;
        if (!j) return n.do_not_run ? h("span", { class: "muted" }, "will not run") : h("span", { class: "muted" }, "not started");
        return h("span", {}, statusBadge(j.status), " ", h("a", { href: jobHref(j), class: "job-link" }, j.name + " " + j.id));
      } },
      { title: "On success", cell: (n) => names(n.success_nodes) },
      { title: "On failure", cell: (n) => names(n.failure_nodes) },
      { title: "Always", cell: (n) => names(n.always_nodes) },
    ], nodes.results, (n) => ({ dataset: { id: n.id, identifier: n.identifier }, class: "node-row" })));
    if (isActive(job.status)) timer = setTimeout(refresh, 2000);
  }

  // Ask for the workflow job to be canceled (its manager cancels the nodes' jobs).
  async function cancel() {
    actionMsg.textContent = "";
    try { await api(base + "cancel/", { method: "POST", body: {} }); } catch (e) { actionMsg.textContent = e.message; }
    clearTimeout(timer);
    await refresh();
  }

  await refresh();
}
