// resources.js - the plain lists: inventories, hosts, projects (with Update
// and its output), credentials (secrets are never sent to the page: the API
// answers "$encrypted$", and a form left so keeps the stored value) and job
// templates' edit form, users and teams (with their roles, AWX's
// users/N/roles/ and teams/N/roles/, teams/N/users/). List (#/hosts),
// create (#/hosts/new), edit and delete (#/hosts/4); Add shows only when
// the list's OPTIONS offers POST, Edit and Delete only where the object's
// summary_fields.user_capabilities allow them (a user without them: the
// rule of runneld's users/ endpoint, superusers or oneself).

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
  users: { title: "Users", api: "users", order: "username", search: "username__icontains", label: (o) => o.username,
    columns: [["Username", (o) => o.username], ["First name", (o) => o.first_name || ""], ["Last name", (o) => o.last_name || ""],
      ["Email", (o) => o.email || ""], ["Type", (o) => (o.is_superuser ? "System administrator" : o.is_system_auditor ? "System auditor" : "Normal user")]],
    fields: [{ name: "username", label: "Username", required: true }, { name: "first_name", label: "First name" },
      { name: "last_name", label: "Last name" }, { name: "email", label: "Email" },
      { name: "password", label: "Password", type: "password", requiredOnCreate: true, keepBlank: true,
        help: "Left empty on an existing user: the password is not changed." },
      { name: "is_superuser", label: "System administrator", type: "checkbox", superuserOnly: true },
      { name: "is_system_auditor", label: "System auditor", type: "checkbox", superuserOnly: true }],
    caps: (o, me) => ({ edit: me.is_superuser || o.id === me.id, delete: me.is_superuser && o.id !== me.id }),
    roles: true },
  teams: { title: "Teams", api: "teams",
    columns: [["Name", (o) => o.name], ["Organization", (o) => name(o, "organization")]],
    fields: [{ name: "name", label: "Name", required: true }, { name: "description", label: "Description" },
      { name: "organization", label: "Organization", type: "select", options: options("/api/v2/organizations/"), required: true }],
    roles: true, members: true },
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

// The caller (GET /api/v2/me/), for the rules of objects the API gives no
// user_capabilities.
async function whoAmI() {
  try { return (await api("/api/v2/me/")).results[0] || {}; } catch (e) { return {}; }
}

// May the caller do what (edit, delete) to o? What its user_capabilities
// say; without them, the resource's own rule (R.caps), else yes (the API
// refuses what it must).
function can(o, what, R, me) {
  const uc = o.summary_fields && o.summary_fields.user_capabilities;
  if (uc) return uc[what] !== false;
  if (R && R.caps && me) return !!R.caps(o, me)[what];
  return true;
}

// May the caller create in the list at path? Its OPTIONS offers POST.
async function canAdd(path) {
  try { return !!((await api(path, { method: "OPTIONS" })).actions || {}).POST; } catch (e) { return false; }
}

// A list page.
export async function renderResourceList(el, ctx, key) {
  const R = RESOURCES[key];
  const q = ctx.query;
  const page = Math.max(1, Number(q.page) || 1);
  const label = R.label || ((o) => o.name);
  const search = h("input", { id: key + "-search", type: "search", placeholder: (R.order === "username" ? "Username" : "Name") + " contains", value: q.search || "" });
  const msg = h("p", { class: "error", id: "list-error" });
  const params = new URLSearchParams({ page, page_size: PAGE_SIZE, order_by: R.order || "name" });
  if (q.search) params.set(R.search || "name__icontains", q.search);
  const [r, add, me] = await Promise.all([api("/api/v2/" + R.api + "/?" + params), canAdd("/api/v2/" + R.api + "/"),
    R.caps ? whoAmI() : null]);
  if (!ctx.alive()) return;
  el.append(h("div", { class: "list-head" }, h("h2", {}, R.title), add ? h("a", { class: "button", href: "#/" + key + "/new", id: "add" }, "Add") : null),
    h("form", { class: "filters", onsubmit: (ev) => { ev.preventDefault(); location.hash = hashOf("/" + key, { search: search.value }); } },
      search, h("button", { type: "submit" }, "Search")), msg);
  const cols = R.columns.map(([title, cell], i) => ({ title, cell: i === 0 ? (o) => h("a", { href: "#/" + key + "/" + o.id }, cell(o)) : cell }));
  cols.push({ title: "", cell: (o) => h("span", { class: "actions" }, R.actions ? R.actions(o, msg) : null,
    can(o, "edit", R, me) ? h("a", { class: "button edit", href: "#/" + key + "/" + o.id }, "Edit") : null,
    can(o, "delete", R, me) ? h("button", { type: "button", class: "danger delete", onclick: async () => {
      if (!confirm("Delete " + label(o) + "?")) return;
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
  const label = R.label || ((o) => o.name);
  const [obj, me] = await Promise.all([id ? api("/api/v2/" + R.api + "/" + id + "/") : {}, R.caps ? whoAmI() : null]);
  if (!ctx.alive()) return;
  const editable = !id || can(obj, "edit", R, me);
  const fields = [];
  for (const f of R.fields) {
    if (f.createOnly && id) continue;
    if (f.superuserOnly && editable && !(me && me.is_superuser)) continue; // the API refuses them from others
    const g = Object.assign({}, f);
    if (f.requiredOnCreate && !id) g.required = true;
    if (typeof f.options === "function") g.options = await f.options();
    const v = f.keepBlank ? undefined : obj[f.name];
    if (v !== undefined && v !== null) g.value = typeof v === "object" ? JSON.stringify(v) : (g.type === "select" ? String(v) : v);
    fields.push(g);
  }
  if (R.inputs) fields.push(...await inputFields(id ? obj.credential_type : null, obj.inputs));
  if (!ctx.alive()) return;
  const msg = h("p", { class: "error" });
  const holder = h("div", {});
  const draw = () => {
    holder.textContent = "";
    if (!editable) { // what the caller may only read
      holder.append(h("dl", { class: "details", id: "readonly" }, fields.filter((f) => !f.keepBlank).flatMap((f) => [h("dt", {}, f.label),
        h("dd", {}, f.type === "checkbox" ? (f.value ? "yes" : "no") : f.type === "select" ? ((f.options || []).find((o) => o.value === f.value) || {}).label || "" : String(f.value ?? ""))])));
      return;
    }
    holder.append(form(fields, id ? "Save" : "Create", async (values) => {
      const body = {};
      const inputs = {};
      for (const f of fields) {
        let v = values[f.name];
        if (f.input) { if (v !== "" && v !== false) inputs[f.input] = v; continue; }
        if (f.keepBlank && v === "") continue;
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
  if (id && can(obj, "delete", R, me)) extra.push(h("button", { type: "button", class: "danger delete", onclick: async () => {
    if (!confirm("Delete " + label(obj) + "?")) return;
    try { await api("/api/v2/" + R.api + "/" + id + "/", { method: "DELETE" }); location.hash = R.list || "#/" + key; } catch (e) { msg.textContent = e.message; }
  } }, "Delete"));
  el.append(h("div", { class: "list-head" }, h("h2", {}, (id ? (editable ? "Edit " : "") : "New ") + R.title.replace(/s$/, "").toLowerCase() + (id ? ": " + label(obj) : "")), ...extra),
    msg, h("section", { class: "panel" }, holder));
  if (id) await related(el, ctx, R, obj);
}

// The roles of a user or team (users/N/roles/, teams/N/roles/) and a team's
// members (teams/N/users/), where the API links them (related).
async function related(el, ctx, R, obj) {
  const rel = obj.related || {};
  const parts = [];
  if (R.roles && rel.roles) parts.push(["Roles", rel.roles, "roles", [
    { title: "Resource", cell: (r) => (r.summary_fields || {}).resource_name || "" },
    { title: "Type", cell: (r) => (r.summary_fields || {}).resource_type_display_name || (r.summary_fields || {}).resource_type || "" },
    { title: "Role", cell: (r) => r.name }]]);
  if (R.members && rel.users) parts.push(["Members", rel.users, "members", [
    { title: "Username", cell: (u) => h("a", { href: "#/users/" + u.id }, u.username) },
    { title: "First name", cell: (u) => u.first_name || "" }, { title: "Last name", cell: (u) => u.last_name || "" }]]);
  for (const [title, path, cls, cols] of parts) {
    let r;
    try { r = await api(path + (path.includes("?") ? "&" : "?") + "page_size=200"); } catch (e) { r = { results: [], error: e.message }; }
    if (!ctx.alive()) return;
    el.append(h("section", { class: "panel " + cls, id: cls }, h("h3", {}, title), r.error ? h("p", { class: "error" }, r.error) : null,
      table(cols, r.results, (x) => ({ dataset: { id: x.id }, class: cls + "-row" }))));
  }
}
