// vislab serve: the page's behaviour. No framework, no build step, nothing fetched from elsewhere.
"use strict";

const HEADERS = {"X-Vislab": "1"};
const DEFAULT_SAMPLES = {images: "coffee", image: "chelsea", content: "chelsea", styles: "hubble_deep_field",
                         style: "hubble_deep_field"};
let INFO = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

async function api(method, url, body, headers) {
  const r = await fetch(url, {method, body, headers: {...HEADERS, ...(headers || {})}});
  let data = null;
  try { data = await r.json(); } catch (e) { data = {error: `the server answered ${r.status}`}; }
  if (!r.ok) throw new Error((data && data.error) || `the server answered ${r.status}`);
  return data;
}

// -- image pickers: upload, drag-and-drop, or a built-in sample ------------------------------------------------
function setupPicker(div) {
  const multiple = div.dataset.multiple === "1";
  div.refs = [];
  const thumbs = el("div", {class: "thumbs"});
  const error = el("div", {class: "error"});
  const file = el("input", {type: "file", accept: "image/*"});
  if (multiple) file.multiple = true;
  const sample = el("select", {class: "sample"}, el("option", {value: "", text: "a built-in sample..."}));
  for (const s of INFO.samples) sample.append(el("option", {value: s, text: s}));
  const drop = el("div", {class: "drop"}, el("span", {text: "Drop a picture here, or"}), file, sample);
  div.append(drop, thumbs, error);

  const show = () => {
    thumbs.replaceChildren(...div.refs.map((r, i) => {
      const x = el("button", {type: "button", class: "remove", title: "remove", text: "x"});
      x.onclick = () => { div.refs.splice(i, 1); show(); };
      return el("figure", {}, el("img", {src: r.url, alt: r.ref}), el("figcaption", {text: r.label}), x);
    }));
  };
  const add = (r) => { if (multiple) div.refs.push(r); else div.refs = [r]; show(); };
  const send = async (f) => {
    error.textContent = "";
    div.classList.add("busy");
    try {
      const up = await api("POST", "/api/uploads", f, {"Content-Type": "application/octet-stream"});
      add({ref: up.id, url: up.url, label: `${f.name} (${up.width}x${up.height})`});
    } catch (e) {
      error.textContent = `${f.name}: ${e.message}`;
    } finally { div.classList.remove("busy"); }
  };
  file.onchange = async () => { for (const f of file.files) await send(f); file.value = ""; };
  sample.onchange = () => {
    if (sample.value) add({ref: `sample:${sample.value}`, url: `/api/sample/${sample.value}`, label: sample.value});
    sample.value = "";
  };
  drop.ondragover = (ev) => { ev.preventDefault(); drop.classList.add("over"); };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = async (ev) => {
    ev.preventDefault(); drop.classList.remove("over");
    for (const f of ev.dataTransfer.files) await send(f);
  };
  const d = DEFAULT_SAMPLES[div.dataset.name];
  if (d) add({ref: `sample:${d}`, url: `/api/sample/${d}`, label: d});
}

// -- forms -> jobs --------------------------------------------------------------------------------------------
function collect(form) {
  const s = {};
  for (const p of form.querySelectorAll(".picker")) {
    const refs = p.refs.map((r) => r.ref);
    if (!refs.length) throw new Error(`choose an image for ${p.querySelector(".label").textContent}`);
    s[p.dataset.name] = p.dataset.list === "1" ? refs : refs[0];
  }
  for (const i of form.querySelectorAll("input[name], select[name]")) {
    const t = i.dataset.type;
    if (t === "bool") { s[i.name] = i.checked; continue; }
    if (i.value === "") continue;
    if (t === "int") s[i.name] = parseInt(i.value, 10);
    else if (t === "float") s[i.name] = parseFloat(i.value);
    else if (t === "level") s[i.name] = parseFloat(i.value) / 255;
    else s[i.name] = i.value;
  }
  return s;
}

async function submit(form, ev) {
  ev.preventDefault();
  const box = form.parentElement.querySelector(".job");
  const btn = ev.submitter;
  let kind = form.dataset.kind;
  box.replaceChildren();
  try {
    const settings = collect(form);
    if (btn && btn.dataset.kind) { kind = btn.dataset.kind; if (btn.dataset.n) settings.n = parseInt(btn.dataset.n, 10); }
    const job = await api("POST", "/api/jobs", JSON.stringify({kind, settings}), {"Content-Type": "application/json"});
    follow(box, job);
  } catch (e) {
    box.append(el("p", {class: "error", text: e.message}));
  }
}

function follow(box, job) {
  render(box, job);
  if (["ok", "cancelled", "failed", "interrupted"].includes(job.state)) return;
  setTimeout(async () => {
    try { follow(box, await api("GET", `/api/jobs/${job.id}`)); }
    catch (e) { box.append(el("p", {class: "error", text: e.message})); }
  }, 400);
}

function numbersText(numbers) {
  return Object.entries(numbers || {}).map(([k, v]) => `${k} ${Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v.toPrecision(3)}`).join(", ");
}

function render(box, job) {
  const parts = [];
  const head = el("p", {class: `state state-${job.state}`});
  if (job.state === "queued") head.textContent = `Waiting: place ${job.position} in the queue`;
  else if (job.state === "running") head.textContent = `Running: step ${job.step}${job.total ? " of " + job.total : ""}`;
  else head.textContent = `${job.state}${job.message ? ": " + job.message : ""}`;
  parts.push(head);
  if (job.state === "running" || job.state === "queued") {
    const bar = el("progress", {max: String(job.total || 1), value: String(job.step || 0)});
    const stop = el("button", {type: "button", class: "cancel", text: "Cancel"});
    stop.onclick = () => api("POST", `/api/jobs/${job.id}/cancel`).catch(() => {});
    parts.push(el("div", {class: "progress"}, bar, stop), el("p", {class: "numbers", text: numbersText(job.numbers)}));
    if (job.preview) parts.push(el("figure", {class: "preview"}, el("img", {src: job.preview, alt: "preview"}), el("figcaption", {text: "as it forms"})));
  }
  if (job.result) parts.push(resultView(job.result));
  if (job.report) parts.push(el("p", {}, el("a", {href: job.report, target: "_blank", text: `report of run ${job.run}`})));
  box.replaceChildren(...parts);
}

function resultView(v) {
  const out = el("div", {class: "result"});
  if (v.texts && v.texts.length) out.append(el("ul", {class: "texts"}, ...v.texts.map((t) => el("li", {text: t}))));
  if (v.table && v.table.length) {
    const cols = Object.keys(v.table[0]);
    const fmt = (c, x) => (c === "prob" ? (100 * x).toFixed(2) + " %" : String(x));
    out.append(el("table", {class: "topk"}, el("thead", {}, el("tr", {}, ...cols.map((c) => el("th", {text: c})))),
      el("tbody", {}, ...v.table.map((r) => el("tr", {}, ...cols.map((c) => el("td", {text: fmt(c, r[c])})))))));
  }
  if (v.images && v.images.length) {
    out.append(el("div", {class: "gallery"}, ...v.images.map((i) =>
      el("figure", {}, el("a", {href: i.url, target: "_blank"}, el("img", {src: i.url, alt: i.label, class: "result-image"})), el("figcaption", {text: i.label})))));
  }
  const nums = numbersText(v.numbers);
  if (nums) out.append(el("p", {class: "numbers", text: nums}));
  return out;
}

// -- history ----------------------------------------------------------------------------------------------------
async function loadHistory() {
  const body = document.querySelector("#history tbody");
  const runs = await api("GET", "/api/runs");
  body.replaceChildren(...runs.map((r) => {
    const show = el("button", {type: "button", text: "show"});
    show.onclick = async () => {
      const v = await api("GET", `/api/view/${r.id}`);
      document.getElementById("history-view").replaceChildren(el("h3", {text: r.id}), resultView(v));
    };
    return el("tr", {}, el("td", {text: r.id}), el("td", {text: r.kind}), el("td", {text: r.status}),
      el("td", {text: new Date(r.time * 1000).toLocaleString()}),
      el("td", {}, show, " ", el("a", {href: r.report, target: "_blank", text: "report"})));
  }));
}

// -- start --------------------------------------------------------------------------------------------------------
async function start() {
  INFO = await api("GET", "/api/info");
  document.getElementById("server-info").textContent =
    `${INFO.workers} job(s) at a time; uploads up to ${Math.round(INFO.limits.max_upload_bytes / 2 ** 20)} MB`;
  document.getElementById("class-names").replaceChildren(...INFO.classes.map((c) => el("option", {value: c})));
  for (const s of document.querySelectorAll("select[data-checkpoints]")) {
    const list = INFO.checkpoints[s.dataset.checkpoints];
    s.replaceChildren(...(list.length ? list.map((c) => el("option", {value: c, text: c}))
      : [el("option", {value: "", text: "(no trained run in the runs folder yet)"})]));
  }
  for (const p of document.querySelectorAll(".picker")) setupPicker(p);
  for (const f of document.querySelectorAll("form[data-kind]")) f.addEventListener("submit", (ev) => submit(f, ev));
  for (const b of document.querySelectorAll("#tabs button")) {
    b.onclick = () => {
      for (const x of document.querySelectorAll("#tabs button, .panel")) x.classList.remove("active");
      b.classList.add("active");
      document.getElementById(`panel-${b.dataset.tab}`).classList.add("active");
      if (b.dataset.tab === "history") loadHistory();
    };
  }
  document.getElementById("refresh-history").onclick = loadHistory;
  document.body.dataset.ready = "1";
}

start().catch((e) => { document.body.prepend(el("p", {class: "error", text: `vislab serve: ${e.message}`})); });
