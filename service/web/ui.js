// ui.js - small DOM helpers shared by the views: element building (text is
// always set as text, never parsed as HTML), status badges, times, lists
// with paging, forms from field descriptions, the modal.

// Build an element: h("a", {href: "#/x", class: "c"}, "text", child...).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else if (k === "checked") el.checked = !!v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const ICONS = { successful: "\u2714", failed: "\u2716", error: "\u2716", canceled: "\u2298",
  running: "\u25B6", pending: "\u2026", waiting: "\u2026", new: "\u2026", "never updated": "\u2013" };

// A status badge with its icon.
export function statusBadge(status) {
  return h("span", { class: "status status-" + String(status).replace(/\s+/g, "-"), title: status, dataset: { status } },
    h("span", { class: "status-icon", "aria-hidden": "true" }, ICONS[status] || "\u2022"), " ", status);
}

// True while a unified job may still change.
export function isActive(status) { return ["new", "pending", "waiting", "running"].includes(status); }

// A timestamp as the browser's local time ("" for none).
export function when(ts) {
  if (!ts) return "";
  const d = new Date(ts);
  return isNaN(d) ? String(ts) : d.toLocaleString();
}

// Seconds as "1h 02m 03s" / "2m 03s" / "4.1s".
export function duration(s) {
  if (s === null || s === undefined || isNaN(s)) return "";
  if (s < 60) return s.toFixed(1) + "s";
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = Math.floor(s % 60);
  const p2 = (n) => String(n).padStart(2, "0");
  return hh ? hh + "h " + p2(mm) + "m " + p2(ss) + "s" : mm + "m " + p2(ss) + "s";
}

// The page URL of a unified job object ({type, id}).
export function jobHref(j) {
  const plural = { job: "jobs", project_update: "project_updates", inventory_update: "inventory_updates",
    ad_hoc_command: "ad_hoc_commands", system_job: "system_jobs", workflow_job: "workflow_jobs" }[j.type] || "jobs";
  return "#/" + plural + "/" + j.id;
}

// Build a location hash from a path and query values (empty ones left out).
export function hashOf(path, query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return "#" + path + (s ? "?" + s : "");
}

// A paging bar for an AWX list answer ({count, next, previous}).
export function pager(page, pageSize, count, go) {
  const pages = Math.max(1, Math.ceil(count / pageSize));
  return h("div", { class: "pager" },
    h("button", { type: "button", class: "page-prev", disabled: page <= 1, onclick: () => go(page - 1) }, "\u2039 Previous"),
    h("span", { class: "page-info" }, "Page " + page + " of " + pages + " (" + count + ")"),
    h("button", { type: "button", class: "page-next", disabled: page >= pages, onclick: () => go(page + 1) }, "Next \u203A"));
}

// A table: columns [{title, cell(row) -> node|text}], rows; rowAttrs(row) optional.
export function table(columns, rows, rowAttrs) {
  return h("table", { class: "list" },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c.title)))),
    h("tbody", {}, rows.length ? rows.map((r) => h("tr", rowAttrs ? rowAttrs(r) : {}, columns.map((c) => h("td", {}, c.cell(r)))))
      : h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, "Nothing here."))));
}

// Show the modal with a title and a body node; returns a function that closes it.
export function openModal(title, body) {
  const m = document.getElementById("modal");
  document.getElementById("modal-title").textContent = title;
  const b = document.getElementById("modal-body");
  b.textContent = "";
  b.append(body);
  m.hidden = false;
  return closeModal;
}

// Close the modal and empty it.
export function closeModal() {
  const m = document.getElementById("modal");
  m.hidden = true;
  document.getElementById("modal-body").textContent = "";
  document.getElementById("modal-title").textContent = "";
}

// A form from fields [{name, label, type: text|textarea|number|select|checkbox|password, options, value, required}].
// onSubmit(values) may throw an ApiError: its field messages show beside the fields.
export function form(fields, submitLabel, onSubmit) {
  const errors = {};
  const general = h("p", { class: "error form-error", role: "alert" });
  const inputs = {};
  const rows = fields.map((f) => {
    let input;
    const id = "f-" + f.name;
    if (f.type === "textarea") input = h("textarea", { id, name: f.name, rows: f.rows || 4, value: f.value ?? "" });
    else if (f.type === "select") {
      input = h("select", { id, name: f.name }, (f.options || []).map((o) => h("option", { value: o.value }, o.label)));
      input.value = f.value ?? "";
      if (f.multiple) input.multiple = true;
    } else if (f.type === "checkbox") input = h("input", { id, name: f.name, type: "checkbox", checked: !!f.value });
    else input = h("input", { id, name: f.name, type: f.type || "text", value: f.value ?? "", autocomplete: f.type === "password" ? "new-password" : "off" });
    if (f.required) input.required = true;
    if (f.min !== undefined) input.min = f.min;
    if (f.max !== undefined) input.max = f.max;
    inputs[f.name] = input;
    errors[f.name] = h("span", { class: "error field-error" });
    return h("div", { class: "field" }, h("label", { for: id }, f.label, f.required ? " *" : ""), input,
      f.help ? h("small", {}, f.help) : null, errors[f.name]);
  });
  const button = h("button", { type: "submit", class: "primary" }, submitLabel);
  const el = h("form", { class: "form", novalidate: true }, rows, general, button);
  el.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    general.textContent = "";
    for (const e of Object.values(errors)) e.textContent = "";
    const values = {};
    for (const f of fields) {
      const i = inputs[f.name];
      if (f.type === "checkbox") values[f.name] = i.checked;
      else if (f.type === "select" && f.multiple) values[f.name] = [...i.selectedOptions].map((o) => o.value);
      else if (f.type === "number") values[f.name] = i.value === "" ? null : Number(i.value);
      else values[f.name] = i.value;
      if (f.required && (values[f.name] === "" || values[f.name] === null)) {
        errors[f.name].textContent = "This field is required.";
        return;
      }
    }
    button.disabled = true;
    try { await onSubmit(values); } catch (e) {
      const body = e.body && typeof e.body === "object" ? e.body : null;
      let placed = false;
      if (body) for (const [k, v] of Object.entries(body)) if (errors[k]) { errors[k].textContent = Array.isArray(v) ? v.join(" ") : String(v); placed = true; }
      if (!placed) general.textContent = e.message;
    } finally { button.disabled = false; }
  });
  return el;
}
