// templates.js - job templates: the list with search and Launch
// (#/templates?search=...), and a template's page (#/templates/3): its
// details, the launch form of its prompts (ask_*_on_launch) and survey when
// it has them, and its recent jobs.

import { api } from "./api.js";
import { h, statusBadge, when, jobHref, hashOf, pager, table, form } from "./ui.js";
import { schedulesPanel } from "./schedules.js";

const PAGE_SIZE = 20;

// True when launching asks the user something first.
function hasPrompts(info) {
  return !!(info.survey_enabled || Object.keys(info).some((k) => k.startsWith("ask_") && info[k]));
}

// Launch a template with a body; go to the new job's page.
async function launch(id, body) {
  const r = await api("/api/v2/job_templates/" + id + "/launch/", { method: "POST", body });
  location.hash = jobHref({ type: "job", id: r.job || r.id });
}

// The template list.
export async function renderTemplates(el, ctx) {
  const q = ctx.query;
  const page = Math.max(1, Number(q.page) || 1);
  const search = h("input", { id: "templates-search", type: "search", placeholder: "Name contains", value: q.search || "" });
  const msg = h("p", { class: "error", id: "templates-error" });
  el.append(h("div", { class: "list-head" }, h("h2", {}, "Templates"),
    h("a", { class: "button", href: "#/job_templates/new", id: "template-add" }, "Add")),
  h("form", { class: "filters", onsubmit: (ev) => { ev.preventDefault(); location.hash = hashOf("/templates", { search: search.value }); } },
    search, h("button", { type: "submit" }, "Search")), msg);
  const params = new URLSearchParams({ page, page_size: PAGE_SIZE, order_by: "name" });
  if (q.search) params.set("name__icontains", q.search);
  const r = await api("/api/v2/job_templates/?" + params);
  if (!ctx.alive()) return;
  el.append(table([
    { title: "Name", cell: (t) => h("a", { href: "#/templates/" + t.id, class: "template-link" }, t.name) },
    { title: "Playbook", cell: (t) => t.playbook },
    { title: "Inventory", cell: (t) => (t.summary_fields.inventory || {}).name || "" },
    { title: "Project", cell: (t) => (t.summary_fields.project || {}).name || "" },
    { title: "Last run", cell: (t) => (t.last_job_run ? when(t.last_job_run) : "") },
    { title: "", cell: (t) => h("span", { class: "actions" },
      h("button", { type: "button", class: "primary launch", dataset: { id: t.id }, onclick: async () => {
        msg.textContent = "";
        try {
          const info = await api("/api/v2/job_templates/" + t.id + "/launch/");
          if (hasPrompts(info)) location.hash = "#/templates/" + t.id;
          else await launch(t.id, {});
        } catch (e) { msg.textContent = e.message; }
      } }, "Launch"),
      h("a", { class: "button", href: "#/job_templates/" + t.id }, "Edit")) },
  ], r.results, (t) => ({ dataset: { id: t.id }, class: "template-row" })),
  pager(page, PAGE_SIZE, r.count, (p) => { location.hash = hashOf("/templates", Object.assign({}, q, { page: p })); }));
}

// The fields of the launch form: the prompts the template asks, then its survey.
async function launchFields(t, info) {
  const d = info.defaults || {};
  const f = [];
  if (info.ask_variables_on_launch) f.push({ name: "extra_vars", label: "Extra variables (YAML or JSON)", type: "textarea", value: d.extra_vars || "" });
  if (info.ask_limit_on_launch) f.push({ name: "limit", label: "Limit", value: d.limit || "" });
  if (info.ask_tags_on_launch) f.push({ name: "job_tags", label: "Job tags", value: d.job_tags || "" });
  if (info.ask_skip_tags_on_launch) f.push({ name: "skip_tags", label: "Skip tags", value: d.skip_tags || "" });
  if (info.ask_job_type_on_launch) f.push({ name: "job_type", label: "Job type", type: "select", value: d.job_type || "run",
    options: [{ value: "run", label: "run" }, { value: "check", label: "check" }] });
  if (info.ask_verbosity_on_launch) f.push({ name: "verbosity", label: "Verbosity", type: "select", value: String(d.verbosity || 0),
    options: [0, 1, 2, 3, 4, 5].map((v) => ({ value: String(v), label: String(v) })) });
  if (info.ask_inventory_on_launch) {
    const invs = (await api("/api/v2/inventories/?page_size=200&order_by=name")).results;
    f.push({ name: "inventory", label: "Inventory", type: "select", value: d.inventory ? String(d.inventory.id) : "",
      options: invs.map((i) => ({ value: String(i.id), label: i.name })) });
  }
  if (info.ask_credential_on_launch) {
    const creds = (await api("/api/v2/credentials/?page_size=200&order_by=name")).results;
    f.push({ name: "credentials", label: "Credentials", type: "select", multiple: true,
      options: creds.map((c) => ({ value: String(c.id), label: c.name })) });
  }
  if (info.ask_diff_mode_on_launch) f.push({ name: "diff_mode", label: "Show changes (diff)", type: "checkbox", value: d.diff_mode });
  if (info.ask_forks_on_launch) f.push({ name: "forks", label: "Forks", type: "number", value: d.forks || 0, min: 0 });
  if (info.ask_timeout_on_launch) f.push({ name: "timeout", label: "Timeout (seconds)", type: "number", value: d.timeout || 0, min: 0 });
  if (info.ask_scm_branch_on_launch) f.push({ name: "scm_branch", label: "Source control branch", value: d.scm_branch || "" });
  if (info.ask_labels_on_launch) {
    const labels = (await api("/api/v2/labels/?page_size=200&order_by=name")).results;
    f.push({ name: "labels", label: "Labels", type: "select", multiple: true,
      selected: (d.labels || []).map((l) => String(l.id)),
      options: labels.map((l) => ({ value: String(l.id), label: l.name })) });
  }
  if (info.survey_enabled && t.related && t.related.survey_spec) {
    const spec = await api(t.related.survey_spec);
    for (const q of spec.spec || []) {
      const type = { textarea: "textarea", password: "password", integer: "number", float: "number",
        multiplechoice: "select", multiselect: "select" }[q.type] || "text";
      const choices = Array.isArray(q.choices) ? q.choices : String(q.choices || "").split("\n").filter(Boolean);
      const multiple = q.type === "multiselect";
      // a multiselect's default is its choices one per line (or a list)
      const selected = !multiple ? null : Array.isArray(q.default) ? q.default.map(String)
        : String(q.default ?? "").split("\n").filter(Boolean);
      // bounds of numbers on their inputs (text lengths are checked by the server)
      const bounds = q.type === "integer" || q.type === "float" ? { min: q.min ?? undefined, max: q.max ?? undefined } : {};
      f.push(Object.assign({ name: "survey_" + q.variable, survey: q, label: q.question_name, help: q.question_description, type,
        required: !!q.required, value: multiple ? "" : q.default ?? "", multiple, selected,
        options: (q.required || multiple ? [] : [{ value: "", label: "" }]).concat(choices.map((c) => ({ value: c, label: c }))) }, bounds));
    }
  }
  return f;
}

// The body of a launch from the form's values.
function launchBody(fields, values) {
  const body = {};
  const answers = {};
  for (const f of fields) {
    const v = values[f.name];
    if (f.survey) {
      if (v === "" || v === null || (Array.isArray(v) && !v.length)) continue;
      answers[f.survey.variable] = f.survey.type === "integer" ? parseInt(v, 10) : f.survey.type === "float" ? Number(v) : v;
    } else if (f.name === "inventory" || f.name === "verbosity") body[f.name] = Number(v);
    else if (f.name === "credentials" || f.name === "labels") body[f.name] = v.map(Number);
    else body[f.name] = v;
  }
  if (Object.keys(answers).length) {
    let ev = {};
    const text = (body.extra_vars || "").trim();
    if (text) {
      try { ev = JSON.parse(text); } catch (e) {
        const err = new Error("Extra variables must be JSON when the survey is answered.");
        err.body = { extra_vars: [err.message] };
        throw err;
      }
    }
    body.extra_vars = Object.assign(ev, answers);
  }
  return body;
}

// A launch refused for its survey answers ({"variables_needed_to_start":
// ["'v' value missing", ...]}): each message under the question it names.
function surveyErrors(fields, e) {
  const msgs = e && e.body && Array.isArray(e.body.variables_needed_to_start) ? e.body.variables_needed_to_start : null;
  if (!msgs) return e;
  const body = {};
  for (const m of msgs) {
    const f = fields.find((x) => x.survey && m.includes("'" + x.survey.variable + "'"));
    const key = f ? f.name : "__all__";
    body[key] = (body[key] || []).concat([m]);
  }
  e.body = body;
  e.message = msgs.join(" ");
  return e;
}

// A template's page: details, launch form, recent jobs.
export async function renderTemplate(el, ctx, id) {
  const [t, info, jobs] = await Promise.all([
    api("/api/v2/job_templates/" + id + "/"),
    api("/api/v2/job_templates/" + id + "/launch/"),
    api("/api/v2/jobs/?job_template=" + id + "&order_by=-id&page_size=10"),
  ]);
  if (!ctx.alive()) return;
  const fields = await launchFields(t, info);
  if (!ctx.alive()) return;
  const sf = t.summary_fields || {};
  const dl = h("dl", { class: "details", id: "template-details" });
  for (const [k, v] of [["Name", t.name], ["Description", t.description], ["Job type", t.job_type],
    ["Inventory", sf.inventory && sf.inventory.name], ["Project", sf.project && sf.project.name],
    ["Playbook", t.playbook], ["Limit", t.limit], ["Forks", t.forks || null], ["Verbosity", t.verbosity || null]]) {
    if (v !== null && v !== undefined && v !== "") dl.append(h("dt", {}, k), h("dd", {}, String(v)));
  }
  const launchForm = form(fields, "Launch", async (values) => launch(id, launchBody(fields, values)).catch((e) => {
    throw surveyErrors(fields, e);
  }));
  launchForm.id = "launch-form";
  // the preselected options of multiple selects (labels, multiselect questions)
  for (const f of fields) {
    if (!f.multiple || !f.selected) continue;
    const sel = launchForm.querySelector("#f-" + CSS.escape(f.name));
    for (const o of sel ? sel.options : []) o.selected = f.selected.includes(o.value);
  }
  el.append(h("div", { class: "list-head" }, h("h2", { id: "template-title" }, "Template: " + t.name),
    h("a", { class: "button", href: "#/job_templates/" + id }, "Edit")),
  h("div", { class: "job-grid" },
    h("section", { class: "panel" }, h("h3", {}, "Details"), dl),
    h("section", { class: "panel" }, h("h3", {}, fields.length ? "Launch (prompts" + (info.survey_enabled ? " and survey" : "") + ")" : "Launch"), launchForm)),
  h("section", { class: "panel" }, h("h3", {}, "Recent jobs"), table([
    { title: "Status", cell: (j) => statusBadge(j.status) },
    { title: "ID", cell: (j) => h("a", { href: jobHref(j) }, String(j.id)) },
    { title: "Started", cell: (j) => when(j.started) },
    { title: "Finished", cell: (j) => when(j.finished) },
  ], jobs.results)));
  const panel = await schedulesPanel(id, ctx, () => { if (ctx.alive()) { el.textContent = ""; renderTemplate(el, ctx, id); } });
  if (ctx.alive()) el.append(panel);
}
