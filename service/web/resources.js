// resources.js - the plain lists: inventories, hosts, projects (with Update
// and its output), credentials (secrets are never sent to the page: the API
// answers "$encrypted$", and a form left so keeps the stored value) and job
// templates' edit form. List (#/hosts), create (#/hosts/new), edit and
// delete (#/hosts/4); Edit and Delete show only where the object's
// user_capabilities allow them (when the API gives them).

import { api } from "./api.js";
import { h, hashOf, pager, table, form, jobHref } from "./ui.js";

const PAGE_SIZE = 20;
const options = (path, label = "name") => async () =>
  (await api(path + (path.includes("?") ? "&" : "?") + "page_size=200&order_by=" + label)).results
    .map((o) => ({ value: String(o.id), label: o[label] }));
const name = (o, k) => ((o.summary_fields || {})[k] || {}).name || "";

// What each list shows and edits.
export const RESOURCES = {
  inventories: { title: "Inventories", api: "inventories",
    columns: [["Name", (o) => o.name], ["Organization", (o) => name(o, "organization")], ["Hosts", (o) => o.total_hosts ?? ""]],
    fields: [{ name: "name", label: "Name", required: true }, { name: "description", label: "Description" },
      { name: "organization", label: "Organization", type: "select", options: options("/api/v2/organizations/"), required: true },
      { name: "variables", label: "Variables (YAML or JSON)", type: "textarea" }] },
  hosts: { title: "Hosts", api: "hosts",
    columns: [["Name", (o) => o.name], ["Inventory", (o) => name(o, "inventory")], ["Enabled", (o) => (o.enabled === false ? "no" : "yes")]],
    fields: [{ name: "name", label: "Name", required: true }, { name: "description", label: "Description" },
      { name: "inventory", label: "Inventory", type: "select", options: options("/api/v2/inventories/"), required: true, createOnly: true },
      { name: "enabled", label: "Enabled", type: "checkbox", value: true },
      { name: "variables", label: "Variables (YAML or JSON)", type: "textarea" }] },
  projects: { title: "Projects", api: "projects",
    columns: [["Name", (o) => o.name], ["Type", (o) => o.scm_type || "manual"], ["URL", (o) => o.scm_url || o.local_path || ""],
      ["Revision", (o) => (o.scm_revision || "").slice(0, 12)], ["Status", (o) => o.status || ""]],
    actions: (o, msg) => [h("button", { type: "button", class: "project-update", onclick: () => projectUpdate(o.id, msg) }, "Update")],
    fields: [{ name: "name", label: "Name", required: true }, { name: "description", label: "Description" },
      { name: "organization", label: "Organization", type: "select", options: options("/api/v2/organizations/"), required: true },
      { name: "scm_type", label: "Source control type", type: "select", options: async () => [{ value: "", label: "Manual" }, { value: "git", label: "Git" }] },
      { name: "scm_url", label: "Source control URL" }, { name: "scm_branch", label: "Branch" },
      { name: "local_path", label: "Playbook directory (manual)" }] },
  credentials: { title: "Credentials", api: "credentials",
    columns: [["Name", (o) => o.name], ["Type", (o) => name(o, "credential_type")], ["Organization", (o) => name(o, "organization")]],
    fields: [{ name: "name", label: "Name", required: true }, { name: "description", label: "Description" },
      { name: "organization", label: "Organization", type: "select", options: async () => [{ value: "", label: "None" }, ...await options("/api/v2/organizations/")()] },
      { name: "credential_type", label: "Type", type: "select", options: options("/api/v2/credential_types/"), required: true, createOnly: true }],
    inputs: true },
  job_templates: { title: "Job templates", api: "job_templates", list: "#/templates",
    columns: [["Name", (o) => o.name]],
    fields: [{ name: "name", label: "Name", required: true }, { name: "description", label: "Description" },
      { name: "inventory", label: "Inventory", type: "select", options: options("/api/v2/inventories/"), required: true },
      { name: "project", label: "Project", type: "select", options: options("/api/v2/projects/"), required: true },
      { name: "playbook", label: "Playbook", required: true }, { name: "limit", label: "Limit" },
      { name: "extra_vars", label: "Extra variables (YAML or JSON)", type: "textarea" },
      { name: "ask_variables_on_launch", label: "Prompt for extra variables on launch", type: "checkbox" },
      { name: "ask_limit_on_launch", label: "Prompt for limit on launch", type: "checkbox" }] },
};

// Start a project update and show its output.
async function projectUpdate(id, msg) {
  msg.textContent = "";
  try {
    const u = await api("/api/v2/projects/" + id + "/update/", { method: "POST", body: {} });
    location.hash = jobHref({ type: "project_update", id: u.project_update || u.id });
  } catch (e) { msg.textContent = e.message; }
}

// May the caller do what (edit, delete) to o? Yes unless the API says no.
function can(o, what) {
  const uc = o.summary_fields && o.summary_fields.user_capabilities;
  return !uc || uc[what] !== false;
}

// A list page.
export async function renderResourceList(el, ctx, key) {
  const R = RESOURCES[key];
  const q = ctx.query;
  const page = Math.max(1, Number(q.page) || 1);
  const search = h("input", { id: key + "-search", type: "search", placeholder: "Name contains", value: q.search || "" });
  const msg = h("p", { class: "error", id: "list-error" });
  el.append(h("div", { class: "list-head" }, h("h2", {}, R.title), h("a", { class: "button", href: "#/" + key + "/new", id: "add" }, "Add")),
    h("form", { class: "filters", onsubmit: (ev) => { ev.preventDefault(); location.hash = hashOf("/" + key, { search: search.value }); } },
      search, h("button", { type: "submit" }, "Search")), msg);
  const params = new URLSearchParams({ page, page_size: PAGE_SIZE, order_by: "name" });
  if (q.search) params.set("name__icontains", q.search);
  const r = await api("/api/v2/" + R.api + "/?" + params);
  if (!ctx.alive()) return;
  const cols = R.columns.map(([title, cell], i) => ({ title, cell: i === 0 ? (o) => h("a", { href: "#/" + key + "/" + o.id }, cell(o)) : cell }));
  cols.push({ title: "", cell: (o) => h("span", { class: "actions" }, R.actions ? R.actions(o, msg) : null,
    can(o, "edit") ? h("a", { class: "button", href: "#/" + key + "/" + o.id }, "Edit") : null,
    can(o, "delete") ? h("button", { type: "button", class: "danger delete", onclick: async () => {
      if (!confirm("Delete " + o.name + "?")) return;
      try { await api("/api/v2/" + R.api + "/" + o.id + "/", { method: "DELETE" }); location.hash = hashOf("/" + key, q) + "&r=" + Date.now(); } catch (e) { msg.textContent = e.message; }
    } }, "Delete") : null) });
  el.append(table(cols, r.results, (o) => ({ dataset: { id: o.id }, class: "resource-row" })),
    pager(page, PAGE_SIZE, r.count, (p) => { location.hash = hashOf("/" + key, Object.assign({}, q, { page: p })); }));
}

// The input fields of a credential type (secret ones as password fields).
async function inputFields(typeId, current) {
  if (!typeId) return [];
  const t = await api("/api/v2/credential_types/" + typeId + "/");
  return ((t.inputs || {}).fields || []).map((f) => ({ name: "input_" + f.id, input: f.id, label: f.label || f.id,
    type: f.secret ? "password" : f.multiline ? "textarea" : f.type === "boolean" ? "checkbox" : "text",
    value: current ? current[f.id] ?? "" : "", help: f.help_text }));
}

// The create (id null) or edit form of one object.
export async function renderResourceForm(el, ctx, key, id) {
  const R = RESOURCES[key];
  const obj = id ? await api("/api/v2/" + R.api + "/" + id + "/") : {};
  if (!ctx.alive()) return;
  const fields = [];
  for (const f of R.fields) {
    if (f.createOnly && id) continue;
    const g = Object.assign({}, f);
    if (typeof f.options === "function") g.options = await f.options();
    const v = obj[f.name];
    if (v !== undefined && v !== null) g.value = typeof v === "object" ? JSON.stringify(v) : (g.type === "select" ? String(v) : v);
    fields.push(g);
  }
  if (R.inputs) fields.push(...await inputFields(id ? obj.credential_type : null, obj.inputs));
  if (!ctx.alive()) return;
  const msg = h("p", { class: "error" });
  const holder = h("div", {});
  const draw = () => {
    holder.textContent = "";
    holder.append(form(fields, id ? "Save" : "Create", async (values) => {
      const body = {};
      const inputs = {};
      for (const f of fields) {
        let v = values[f.name];
        if (f.input) { if (v !== "" && v !== false) inputs[f.input] = v; continue; }
        if (f.type === "select" && ["organization", "inventory", "project", "credential_type"].includes(f.name)) v = v === "" ? null : Number(v);
        body[f.name] = v;
      }
      if (R.inputs) body.inputs = inputs;
      const saved = await api("/api/v2/" + R.api + "/" + (id ? id + "/" : ""), { method: id ? "PATCH" : "POST", body });
      location.hash = key === "job_templates" ? "#/templates/" + saved.id : "#/" + key;
    }));
  };
  draw();
  // a new credential: its type's inputs once a type is chosen
  if (R.inputs && !id) {
    holder.addEventListener("change", async (ev) => {
      if (ev.target.name !== "credential_type") return;
      const keep = fields.filter((f) => !f.input);
      const values = Object.fromEntries(keep.map((f) => [f.name, holder.querySelector("[name='" + f.name + "']")]));
      for (const f of keep) if (values[f.name] && f.type !== "checkbox") f.value = values[f.name].value;
      fields.length = 0;
      fields.push(...keep, ...await inputFields(ev.target.value, null));
      draw();
    });
  }
  const extra = [];
  if (id && key === "projects") extra.push(h("button", { type: "button", class: "project-update", onclick: () => projectUpdate(id, msg) }, "Update"));
  if (id && can(obj, "delete")) extra.push(h("button", { type: "button", class: "danger delete", onclick: async () => {
    if (!confirm("Delete " + obj.name + "?")) return;
    try { await api("/api/v2/" + R.api + "/" + id + "/", { method: "DELETE" }); location.hash = R.list || "#/" + key; } catch (e) { msg.textContent = e.message; }
  } }, "Delete"));
  el.append(h("div", { class: "list-head" }, h("h2", {}, (id ? "Edit " : "New ") + R.title.replace(/s$/, "").toLowerCase() + (id ? ": " + obj.name : "")), ...extra),
    msg, h("section", { class: "panel" }, holder));
}
