// vislab serve: the page's behaviour. No framework, no build step, nothing fetched from elsewhere.
// The tabs and forms come from /api/info "forms" (the library's settings: names, types, defaults, choices, help),
// so the page's defaults are the library's; nothing here repeats a default number.
"use strict";

const HEADERS = {"X-Vislab": "1"};
const FINAL = ["ok", "cancelled", "failed", "interrupted"];
const GROUPS = ["see", "generate", "learn", "tools"];
// Which built-in sample a picture field starts with when the library's default names none (paintings first for
// style fields, when the server ships them).
const SAMPLE_FOR = {styles: ["starry_night", "great_wave", "hubble_deep_field"], style: ["starry_night", "great_wave"],
                    content: ["chelsea"], image: ["chelsea"], images: ["chelsea"]};
const CLASS_EXAMPLE = "tarantula"; // a class to make where the library names none (dream's class_)
const WORDS = { // setting, choice and number names as a person reads them
  topk: "top-k", max_iters: "steps at most", linf: "L-inf budget (0-1)", lr: "step size", image_size: "size (px)",
  class_: "class", n: "samples", beam: "beam size", tv_weight: "smoothness weight", init: "starting picture",
  original_colors: "keep the original colours", style_scale: "style scale", stop_tolerance: "stop tolerance",
  style_blend_weights: "style blend weights", vanilla: "vanilla gradient", smoothgrad: "SmoothGrad",
  ig: "integrated gradients", recolored: "the content in the style's colours", raw: "raw generator (no EMA)",
  final_total: "final loss", final_content: "final content loss", final_style: "final style loss",
  final_tv: "final smoothness loss", loss: "loss", tv: "smoothness", psnr: "PSNR (dB)", ssim: "SSIM",
  target_prob: "target probability", predicted_prob: "predicted probability", mnist_score: "MNIST score",
  frechet_distance: "Fréchet distance", prob: "probability", fooled: "fooled", images: "images",
  result: "result", grid: "samples", heatmap: "heatmap", overlay: "overlay", figure: "figure",
  gan: "GAN", "gan sample": "GAN sample", "gan-sample": "GAN sample", "gan eval": "GAN score",
  "gan-eval": "GAN score", modes: "digit classes seen", real_test_score: "score of real test digits",
  classifier_test_accuracy: "scorer's test accuracy", generator: "generator", dataset: "data", score: "measure",
  value: "value", target_prob_before: "target probability before", target_prob_after: "target probability after",
  l2: "L2 change", success: "fooled", iterations: "iterations", index: "class index", name: "class",
  linf_levels: "L-inf change (0-255 levels)", mean_linf_levels: "mean L-inf change (levels)", mean_l2: "mean L2 change",
  success_rate: "fooled", success_rate_before_rounding: "fooled before 8-bit rounding", eps: "budget (eps)",
  accuracy: "accuracy under attack", accuracy_8bit: "accuracy as 8-bit PNGs", correct: "still correct",
};
const ROLE_WORDS = {image: "result", result: "result"}; // a job's output file roles
const FIELD_WORDS = {image: "picture", content: "photo", style: "texture", styles: "style paintings"};
let INFO = null;
const TABS = {}; // tab id -> {form, box, spec}

// -- small helpers --------------------------------------------------------------------------------------------------
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
  if (!r.ok) throw Object.assign(new Error((data && data.error) || `the server answered ${r.status}`), {status: r.status});
  return data;
}

function words(name) { return WORDS[name] || String(name).replace(/[_-]+/g, " "); }
function fieldWords(name) { return FIELD_WORDS[name] || words(name); }
function capital(w) { return w.charAt(0).toUpperCase() + w.slice(1); }
function title(name) { return capital(words(name)); }

function fmt(v) { // 3 significant digits; whole numbers as they are
  if (typeof v !== "number" || !isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(3)));
}

function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// -- uploads keep their original names (the server stores them under a random one) ----------------------------------
const NAMES_KEY = "vislab.uploadNames";
function uploadNames() { try { return JSON.parse(localStorage.getItem(NAMES_KEY)) || {}; } catch (e) { return {}; } }
function rememberName(token, name) {
  const all = uploadNames();
  all[token] = name;
  try { localStorage.setItem(NAMES_KEY, JSON.stringify(all)); } catch (e) { /* private mode: names stay hashed */ }
}
const SERVER_NAMES = {}; // names the server keeps beside each upload (so they survive other browsers)
function learnNames(names) { Object.assign(SERVER_NAMES, names || {}); }
function nameOf(token) { return SERVER_NAMES[token] || uploadNames()[token] || "uploaded picture"; }
function unhash(text) { // a stored upload's path or file name -> the name it was uploaded as
  return String(text).replace(/(?:[^\s:]*\/)?\.?uploads\/([0-9a-f]{32})\.png|\b([0-9a-f]{32})\.png/g,
    (m, a, b) => nameOf(a || b));
}

function shownName(text) { // what a person calls a picture or value: samples without "sample:", uploads by name
  const t = unhash(String(text)).replace(/\bsample:([\w-]+)/g, (m, n) => n.replace(/_/g, " "));
  return WORDS[t] && /^[a-z_]+$/.test(t) ? WORDS[t] : t;
}

function inputPicture(spec) { // a setting naming a picture -> {url, label}, or null
  if (typeof spec !== "string") return null;
  if (spec.startsWith("sample:")) return {url: `/api/sample/${spec.slice(7)}`, label: spec.slice(7).replace(/_/g, " ")};
  const m = spec.match(/([0-9a-f]{32})(?:\.png)?$/);
  return m ? {url: `/uploads/${m[1]}.png`, label: nameOf(m[1])} : null;
}

// -- picture pickers: upload, drag-and-drop, or a built-in sample; an upload replaces the default -------------------
function defaultSamples(field) {
  const d = field.default;
  const given = (Array.isArray(d) ? d : [d]).filter((x) => typeof x === "string" && x.startsWith("sample:"));
  if (given.length) return given;
  const wanted = (SAMPLE_FOR[field.name] || []).find((s) => INFO.samples.includes(s)) || INFO.samples[0];
  return wanted ? [`sample:${wanted}`] : [];
}

function picker(field) {
  const multiple = field.type === "images";
  const div = el("div", {class: "picker field", "data-name": field.name, "data-type": field.type});
  div.refs = [];
  const thumbs = el("div", {class: "thumbs"});
  const error = el("div", {class: "error"});
  const file = el("input", {type: "file", accept: "image/*", "aria-label": `upload ${fieldWords(field.name)}`});
  if (multiple) file.multiple = true;
  const sample = el("select", {class: "sample", "aria-label": "built-in samples"},
    el("option", {value: "", text: "or a built-in sample..."}), ...INFO.samples.map((s) => el("option", {value: s, text: s.replace(/_/g, " ")})));
  const drop = el("div", {class: "drop"}, el("span", {text: "Drop a picture here, or"}), file, sample);
  div.append(el("span", {class: "label", text: capital(fieldWords(field.name))}), drop, thumbs, error);
  if (field.help) div.append(el("small", {class: "help", text: field.help}));
  const show = () => thumbs.replaceChildren(...div.refs.map((r, i) => {
    const x = el("button", {type: "button", class: "remove", title: "remove", text: "x"});
    x.onclick = () => { div.refs.splice(i, 1); show(); };
    return el("figure", {}, el("img", {src: r.url, alt: r.label}), el("figcaption", {text: r.label}), x);
  }));
  div.add = (r) => { // a chosen picture replaces the defaults; more uploads add to a list field
    div.refs = multiple ? div.refs.filter((x) => !x.isDefault).concat([r]) : [r];
    show();
  };
  div.reset = () => {
    div.refs = defaultSamples(field).map((ref) => ({ref, ...inputPicture(ref), isDefault: true}));
    show();
  };
  const send = async (f) => {
    error.textContent = "";
    div.classList.add("busy");
    try {
      const up = await api("POST", `/api/uploads?name=${encodeURIComponent(f.name)}`, f,
        {"Content-Type": "application/octet-stream"});
      rememberName(up.id.replace(/^upload:/, ""), up.name || f.name);
      div.add({ref: up.id, url: up.url, label: `${up.name || f.name} (${up.width}x${up.height})`});
    } catch (e) {
      error.textContent = `${f.name}: ${e.message}`;
    } finally { div.classList.remove("busy"); }
  };
  file.onchange = async () => { for (const f of file.files) await send(f); file.value = ""; };
  sample.onchange = () => { if (sample.value) div.add({ref: `sample:${sample.value}`, ...inputPicture(`sample:${sample.value}`)}); sample.value = ""; };
  drop.ondragover = (ev) => { ev.preventDefault(); drop.classList.add("over"); };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = async (ev) => { ev.preventDefault(); drop.classList.remove("over"); for (const f of ev.dataTransfer.files) await send(f); };
  div.read = () => {
    const refs = div.refs.map((r) => r.ref);
    if (!refs.length) throw new Error(`choose a picture for ${fieldWords(field.name)}`);
    return multiple ? refs : refs[0];
  };
  div.reset();
  return div;
}

// -- one form field per setting --------------------------------------------------------------------------------------
function checkpointField(field, spec) {
  // The setting's default (empty, or "shipped") is the model that ships with vislab: the page then sends nothing.
  const runKind = (field.input || "").split(":")[1] || spec.needs || "";
  const have = (INFO.checkpoints || {})[runKind] || (INFO.checkpoints || {})[runKind.split("-")[0]] || [];
  const select = el("select", {name: field.name, "data-type": "checkpoint"},
    el("option", {value: "", text: "the model that ships with vislab"}),
    ...have.map((c) => el("option", {value: c, text: `trained run ${c}`})));
  const train = `vislab ${runKind.replace(/-/g, " ")} --out ${shellWord(`${INFO.runs || "runs"}/${runKind}-mine`)}`;
  const hint = el("small", {class: "help"}, "To use your own model, train one with ", el("code", {text: train}),
    " (it appears in this list once it is in the runs folder).");
  return el("div", {class: "field", "data-name": field.name, "data-type": "checkpoint"},
    el("label", {}, el("span", {text: "Model"}), select), hint);
}

function exampleOf(field) { // a value to start from where the library has no default but needs one
  if (field.example != null) return field.example;
  const needed = field.required || field.name === "class_"; // class_: the class a picture is made for
  return field.type === "class" && needed ? CLASS_EXAMPLE : null;
}

function plainInput(field) {
  const t = field.type;
  const attrs = {name: field.name, "data-type": t};
  const d = field.default;
  let input;
  if (t === "bool") {
    input = el("input", {...attrs, type: "checkbox"});
    input.checked = d === true;
  } else if (t === "choice") {
    input = el("select", attrs, ...(field.choices || []).map((c, i) => el("option", {value: String(i), text: words(c)})));
    const at = (field.choices || []).findIndex((c) => c === d);
    input.value = String(Math.max(0, at));
  } else if (t === "int" || t === "float") {
    input = el("input", {...attrs, type: "number", step: t === "int" ? "1" : "any"});
    if (field.min != null) input.min = String(field.min);
    if (field.max != null) input.max = String(field.max);
    if (d != null) input.value = String(d); else input.placeholder = "(automatic)";
  } else {
    input = el("input", {...attrs, type: "text"});
    if (t === "list" && Array.isArray(d)) input.value = d.join(", ");
    else if (d != null) input.value = String(d);
    else input.placeholder = "(automatic)";
    if (t === "class") { input.setAttribute("list", "class-names"); if (d == null) input.placeholder = "(the predicted class)"; }
  }
  if (d == null && exampleOf(field) != null) input.value = input.dataset.example = String(exampleOf(field));
  const label = el("label", {class: t === "bool" ? "check" : ""}, el("span", {text: capital(fieldWords(field.name))}), input);
  return el("div", {class: "field", "data-name": field.name, "data-type": t}, label,
    field.help ? el("small", {class: "help", text: field.help}) : null);
}

function readInput(field, input) { // the setting's value, or undefined to leave the library's default
  const t = field.type, v = input.value.trim();
  if (t === "bool") return input.checked;
  if (t === "choice") return (field.choices || [])[parseInt(input.value, 10)];
  if (v === "") return undefined;
  if (t === "int") { if (!/^[-+]?\d+$/.test(v)) throw new Error(`${words(field.name)} must be a whole number`); return parseInt(v, 10); }
  if (t === "float") { const x = Number(v); if (!isFinite(x)) throw new Error(`${words(field.name)} must be a number`); return x; }
  if (t === "list") return v.split(",").map((s) => s.trim()).filter(Boolean).map((s) => (isFinite(Number(s)) ? Number(s) : s));
  return v;
}

function choiceList(field) { // a list setting with choices: one checkbox per choice
  const d = Array.isArray(field.default) ? field.default : [];
  const boxes = field.choices.map((c) => {
    const box = el("input", {type: "checkbox", value: String(c)});
    box.checked = d.includes(c);
    box.choice = c;
    return el("label", {class: "check"}, el("span", {text: words(c)}), box);
  });
  const div = el("div", {class: "field choices", "data-name": field.name, "data-type": "list"},
    el("span", {class: "label", text: capital(fieldWords(field.name))}), el("div", {class: "boxes"}, ...boxes),
    field.help ? el("small", {class: "help", text: field.help}) : null);
  div.read = () => {
    const chosen = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.choice);
    if (!chosen.length) throw new Error(`choose at least one of ${fieldWords(field.name)}`);
    return chosen;
  };
  return div;
}

function fieldFor(field, spec) {
  if (field.type === "list" && Array.isArray(field.choices)) return choiceList(field);
  if (field.type === "image" || field.type === "images") return picker(field);
  if (field.type === "checkpoint") return checkpointField(field, spec);
  return plainInput(field);
}

function collect(tab) {
  const settings = {};
  for (const f of tab.fields) {
    const div = tab.form.querySelector(`.field[data-name="${f.name}"]`);
    const value = div.read ? div.read() : readInput(f, div.querySelector("[name]"));
    if (value !== undefined && !(f.type === "checkpoint" && value === "")) settings[f.name] = value;
  }
  return dropUnusedExamples(tab, settings);
}

// An example fills a setting that has no default (dream's class) so the form runs as it stands; once the user fills
// another such setting (dream's channel, neuron or layer), the untouched example is not what they asked for.
function dropUnusedExamples(tab, settings) {
  const untouched = (f) => {
    const input = tab.form.querySelector(`.field[data-name="${f.name}"] [name]`);
    return input && input.dataset.example != null && input.value.trim() === input.dataset.example;
  };
  // Only optional names compete (dream's class, channel, neuron, layer): not numbers such as lr, not pictures,
  // and never a setting the job requires (fool's target beside its image).
  const rival = (f) => !f.required && ["str", "class"].includes(f.type) && f.default == null;
  const chosen = tab.fields.filter((f) => rival(f) && settings[f.name] !== undefined && !untouched(f));
  if (chosen.length) for (const f of tab.fields) if (rival(f) && untouched(f)) delete settings[f.name];
  return settings;
}

// -- the equivalent command line ---------------------------------------------------------------------------------------
function argText(field, value) {
  const one = (x) => { const p = inputPicture(x); return p && !String(x).startsWith("sample:") ? p.label : String(x); };
  return Array.isArray(value) ? value.map(one).join(",") : one(value);
}

function commandFor(tab, settings) { // as vislab.registry.command_line writes it
  const parts = ["vislab", ...tab.spec.name.split(" ")];
  for (const name of tab.spec.positional || []) {
    const f = tab.fields.find((x) => x.name === name);
    if (f && settings[name] !== undefined) parts.push(...[].concat(settings[name]).map((x) => argText(f, x)));
  }
  for (const f of tab.fields) {
    const v = settings[f.name];
    if (v === undefined || (tab.spec.positional || []).includes(f.name)) continue;
    if (JSON.stringify(v) === JSON.stringify(f.default)) continue;
    const flag = f.flag || `--${f.name.replace(/_/g, "-")}`;
    if (f.type === "bool") { if (v) parts.push(flag); else if (f.default === true) parts.push(`--no-${f.name.replace(/_/g, "-")}`); continue; }
    parts.push(flag, f.flag_scale && typeof v === "number" ? fmt(v * f.flag_scale) : argText(f, v));
  }
  return parts.map(shellWord).join(" ");
}

function shellWord(w) { return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`; } // as shlex.join

// -- progress as a person reads it: "scale 2/3 · iteration 80/150 · ETA 0:12" -----------------------------------------
function stepWords(tab, job, settings) {
  const n = job.numbers || {}, step = job.step || 0, total = job.total;
  if (!step && !total) return "starting";
  if (n.scale != null && n.scales != null) { // the job says where it is (style, invert, texture)
    const it = `iteration ${n.iteration ?? step}${n.iterations ? "/" + n.iterations : ""}`;
    return n.scales > 1 ? `scale ${n.scale}/${n.scales} · ${it}` : it;
  }
  const pics = Array.isArray(settings && settings.images) ? settings.images.length : 0;
  if (pics && total && total % pics === 0 && total / pics > 1 && tab.spec.name === "saliency") {
    const unit = total / pics, k = Math.min(pics, Math.floor(step / unit) + 1), within = step - (k - 1) * unit;
    const what = settings.method === "ig" ? `gradient ${within} (at most ${unit})` : `step ${within}/${unit}`;
    return pics > 1 ? `picture ${k}/${pics} · ${what}` : what;
  }
  const names = tab.fields.map((f) => f.name);
  const unit = names.includes("iterations") ? "iteration" : names.includes("n") ? "sample" : "step";
  return total ? `${unit} ${step}/${total}` : `${unit} ${step}`;
}

function etaText(box, job, upperBound) { // from the pace seen on this page; a bound when the total is a most
  const now = performance.now() / 1000, step = job.step || 0;
  if (box.t0 == null || step < box.step0) { box.t0 = now; box.step0 = step; }
  const rate = (step - box.step0) / (now - box.t0);
  if (!job.total || !(rate > 0) || now - box.t0 < 1) return "";
  const left = clock((job.total - step) / rate);
  return upperBound ? ` · at most ${left} left` : ` · ETA ${left}`;
}

function isProb(name) { return /(^|_)prob(_|$)/.test(name); }
function isShare(name) { return /^(success_rate|accuracy)/.test(name); } // attacks' shares of images
function fmtNamed(name, v) {
  if ((isProb(name) || isShare(name)) && typeof v === "number") return `${fmt(100 * v)} %`;
  if (name === "success" && typeof v === "number") return v ? "yes" : "no";
  return typeof v === "number" ? fmt(v) : shownName(v);
}

function numbersList(numbers, skip) {
  const items = Object.entries(numbers || {}).filter(([k, v]) => typeof v === "number" && !(skip || []).includes(k));
  if (!items.length) return null;
  return el("p", {class: "numbers"}, items.map(([k, v]) => `${words(k)} ${fmtNamed(k, v)}`).join(" · "));
}

// -- jobs: submit, follow, and come back to them after a reload ---------------------------------------------------------
const JOBS_KEY = "vislab.jobs";
function savedJobs() { try { return JSON.parse(sessionStorage.getItem(JOBS_KEY)) || {}; } catch (e) { return {}; } }
function saveJob(tabId, entry) {
  const all = savedJobs();
  if (entry) all[tabId] = entry; else delete all[tabId];
  try { sessionStorage.setItem(JOBS_KEY, JSON.stringify(all)); } catch (e) { /* storage off: no re-attach */ }
}

const PLACE = ["scale", "scales", "iteration", "iterations"]; // where a job is: said in the state line, not listed
function kindOf(spec) { return spec.kind || spec.name.replace(/ /g, "-"); }

async function submit(tab, ev) {
  ev.preventDefault();
  tab.box.replaceChildren();
  let settings;
  try {
    settings = collect(tab);
    const job = await api("POST", "/api/jobs", JSON.stringify({kind: kindOf(tab.spec), settings}),
      {"Content-Type": "application/json"});
    saveJob(tab.id, {id: job.id, settings});
    follow(tab, job, settings);
    if (window.innerWidth < 760) tab.box.scrollIntoView({behavior: "smooth"}); // one column: the job is below
  } catch (e) {
    tab.box.append(el("p", {class: "error", text: unhash(e.message)}));
    if (settings) tab.box.append(commandView(tab, null, settings));
  }
}

function follow(tab, job, settings) {
  learnNames(job.names);
  if (tab.current !== job.id) { tab.current = job.id; tab.box.t0 = null; }
  render(tab, job, settings);
  if (FINAL.includes(job.state)) return;
  setTimeout(async () => {
    if (tab.current !== job.id) return; // a newer job took this tab
    try { follow(tab, await api("GET", `/api/jobs/${job.id}`), settings); }
    catch (e) { tab.box.append(el("p", {class: "error", text: e.message})); }
  }, 400);
}

function stateLine(tab, job, settings) {
  const head = el("p", {class: `state state-${job.state}`});
  if (job.state === "queued") head.textContent = `Waiting: place ${job.position} in the queue`;
  else if (job.state === "running") {
    const what = stepWords(tab, job, settings);
    head.textContent = `Running: ${what}${etaText(tab.box, job, what.includes("at most"))}`;
  }
  else if (job.state === "ok") head.textContent = job.finished && job.started ? `Done in ${clock(job.finished - job.started)}` : "Done";
  else head.textContent = `${title(job.state)}${job.message ? ": " + unhash(job.message) : ""}`;
  return head;
}

function render(tab, job, settings) {
  const parts = [stateLine(tab, job, settings)];
  if (job.state === "running" || job.state === "queued") {
    const bar = el("progress", {max: String(job.total || 1), value: String(job.step || 0)});
    const stop = el("button", {type: "button", class: "cancel", text: "Cancel"});
    stop.onclick = () => api("POST", `/api/jobs/${job.id}/cancel`).catch(() => {});
    parts.push(el("div", {class: "progress"}, bar, stop), numbersList(job.numbers, PLACE));
    const inputs = inputsOf(tab.fields, settings);
    const preview = job.preview ? [{url: job.preview, label: "as it forms", cls: "preview"}] : [];
    if (inputs.length || preview.length) parts.push(gallery([...inputs, ...preview]));
  }
  if (job.state === "ok" && job.message && kindOf(tab.spec) !== "caption") parts.push(el("p", {class: "warning", text: unhash(job.message)}));
  parts.push(commandView(tab, job, settings));
  const result = el("div", {class: "result-box"});
  parts.push(result);
  if (job.report) parts.push(el("p", {}, el("a", {href: job.report, target: "_blank", text: `report of run ${job.run}`})));
  tab.box.replaceChildren(...parts.filter(Boolean));
  if (job.result) showResult(result, job.result, tab, settings, job.run);
}

function commandView(tab, job, settings) {
  const given = job && typeof job.command === "string" && !job.command.includes("serve (") ? job.command : "";
  const text = given || commandFor(tab, settings || {});
  const open = tab.box.querySelector("details.command")?.open;
  return el("details", {class: "command", ...(open ? {open: ""} : {})}, el("summary", {text: "The same on the command line"}), el("code", {text: unhash(text)}));
}

// -- results: inputs beside outputs, human labels, rounded numbers, warnings in words -----------------------------------
function inputsOf(fields, settings) {
  const out = [];
  for (const f of fields || []) {
    if (f.type !== "image" && f.type !== "images") continue;
    for (const spec of [].concat((settings || {})[f.name] ?? [])) {
      const p = inputPicture(spec);
      if (p) out.push({url: p.url, label: `${fieldWords(f.name)}: ${p.label}`, cls: "input"});
    }
  }
  return out;
}

function gallery(pictures) {
  return el("div", {class: "gallery"}, ...pictures.map((p) => el("figure", {class: p.cls || ""},
    el("a", {href: p.url, target: "_blank"}, el("img", {src: p.url, alt: p.label, class: p.cls === "output" ? "result-image" : ""})),
    el("figcaption", {text: p.label}, p.note ? el("span", {class: "warning", text: p.note}) : null))));
}

function tableView(rows) {
  const cols = Object.keys(rows[0]).sort((a, b) => (b === "image") - (a === "image")); // the picture first
  const cell = (c, x) => (c === "index" ? String(x) : fmtNamed(c, x));
  return el("div", {class: "table-wrap"}, el("table", {class: "topk"},
    el("thead", {}, el("tr", {}, ...cols.map((c) => el("th", {text: words(c)})))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...cols.map((c) => el("td", {text: cell(c, r[c])})))))));
}

async function captionPictures(run) { // each picture with its caption and, for an unfamiliar one, why to doubt it
  const rows = await fetch(`/runs/${run}/captions.json`).then((r) => (r.ok ? r.json() : [])).catch(() => []);
  return rows.filter((r) => r && r.picture).map((r) => ({
    url: `/runs/${run}/${r.picture}`, label: `${shownName(r.image || "")}: “${r.caption}”`, cls: "output",
    note: r.warning ? `This picture is ${r.warning}.` : ""}));
}

function unfamiliarSentence(numbers) {
  const k = numbers.unfamiliar_images, n = numbers.images;
  if (!k) return null;
  const one = k === 1;
  return el("p", {class: "warning", text: `${k}${n ? " of " + n : ""} ${one ? "picture is" : "pictures are"} unlike the ` +
    `pictures the captioner was trained on: ${one ? "its caption is" : "their captions are"} likely meaningless.`});
}

async function showResult(box, v, tab, settings, run) {
  learnNames(v.names);
  const isCaption = tab && kindOf(tab.spec) === "caption";
  const inputs = isCaption ? [] : inputsOf(tab && tab.fields, settings);
  const seen = new Set(inputs.map((p) => p.url));
  const outputs = (v.images || []).filter((i) => !seen.has(i.url))
    .map((i) => ({url: i.url, label: shownName(ROLE_WORDS[i.label] || words(i.label)), cls: /(^|: )original$/.test(i.label) ? "input" : "output"}));
  if (isCaption && run) outputs.push(...await captionPictures(run));
  const parts = [];
  if (isCaption) parts.push(unfamiliarSentence(v.numbers || {}));
  if (v.texts && v.texts.length && !isCaption) parts.push(el("ul", {class: "texts"}, ...v.texts.map((t) => el("li", {text: shownName(t)}))));
  if (v.table && v.table.length) parts.push(tableView(v.table));
  if (inputs.length || outputs.length) parts.push(gallery([...inputs, ...outputs]));
  parts.push(numbersList(v.numbers, ["unfamiliar_images", "images"]));
  box.replaceChildren(el("div", {class: "result"}, ...parts.filter(Boolean)));
}

// -- tabs from the forms ----------------------------------------------------------------------------------------------
function tabId(name) { return String(name).replace(/[^a-z0-9]+/gi, "-").toLowerCase(); }

function buildTab(spec) {
  const id = tabId(spec.name);
  const fields = orderFields(spec);
  const form = el("form", {"data-kind": kindOf(spec)});
  if (spec.summary) form.append(el("p", {class: "summary", text: spec.summary}));
  const tab = {id, spec, fields, form, box: el("div", {class: "job"})};
  form.append(el("div", {class: "fields"}));
  fillForm(tab);
  form.append(el("div", {class: "buttons"}, el("button", {type: "submit", text: title(spec.name)}),
    el("button", {type: "button", class: "reset", text: "Defaults"})));
  form.querySelector("button.reset").onclick = () => fillForm(tab);
  form.addEventListener("submit", (ev) => submit(tab, ev));
  const panel = el("section", {id: `panel-${id}`, class: "panel"}, form, tab.box);
  document.getElementById("panels").insertBefore(panel, document.getElementById("panel-history"));
  TABS[id] = tab;
  return el("button", {"data-tab": id, type: "button", title: spec.summary || "", text: title(spec.name)});
}

const INPUT_TYPES = ["image", "images", "checkpoint", "class"];
const FOLDED = ["seed", "model", "raw"];
function orderFields(spec) { // what the job works on first (the command's positional inputs), then the rest
  const fields = (spec.fields || []).filter((f) => f.page !== false);
  const rank = (f) => {
    const p = (spec.positional || []).indexOf(f.name);
    return p >= 0 ? p : INPUT_TYPES.includes(f.type) ? 50 : f.name === "method" ? 60 : 100;
  };
  return fields.map((f, i) => [f, i]).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map((x) => x[0]);
}

function isAdvanced(tab, f) { // the schema may say; else the inputs and the next four settings show, the rest fold
  if (f.advanced != null) return f.advanced;
  if (FOLDED.includes(f.name)) return true;
  if (INPUT_TYPES.includes(f.type) || f.name === "method") return false;
  return tab.fields.filter((x) => !INPUT_TYPES.includes(x.type) && x.name !== "method" && !FOLDED.includes(x.name))
    .indexOf(f) >= 4;
}

function fillForm(tab) { // every field at the library's default ("More settings": those marked advanced)
  const basic = tab.fields.filter((f) => !isAdvanced(tab, f)), advanced = tab.fields.filter((f) => isAdvanced(tab, f));
  const more = advanced.length ? el("details", {class: "more"}, el("summary", {text: "More settings"}),
    ...advanced.map((f) => fieldFor(f, tab.spec))) : null;
  tab.form.querySelector(".fields").replaceChildren(...basic.map((f) => fieldFor(f, tab.spec)), ...(more ? [more] : []));
}

function openTab(id) {
  if (!document.getElementById(`panel-${id}`)) id = Object.keys(TABS)[0];
  for (const x of document.querySelectorAll("#tabs button, .panel")) x.classList.remove("active");
  document.querySelector(`#tabs button[data-tab="${id}"]`).classList.add("active");
  document.getElementById(`panel-${id}`).classList.add("active");
  if (location.hash !== `#${id}`) history.replaceState(null, "", `#${id}`);
  if (id === "history") loadHistory();
}

function buildTabs(forms) {
  const order = (f) => (GROUPS.indexOf(f.group) + GROUPS.length + 1) % (GROUPS.length + 1);
  const sorted = forms.map((f, i) => [f, i]).sort((a, b) => order(a[0]) - order(b[0]) || a[1] - b[1]).map((x) => x[0]);
  const nav = document.getElementById("tabs");
  nav.replaceChildren(...sorted.map(buildTab), el("button", {"data-tab": "history", type: "button", text: "History"}));
  for (const b of nav.querySelectorAll("button")) b.onclick = () => openTab(b.dataset.tab);
}

// -- history --------------------------------------------------------------------------------------------------------------
function tabOfKind(kind) { return Object.values(TABS).find((t) => tabId(kindOf(t.spec)) === tabId(kind)); }

async function showRun(r) {
  const [v, cfg] = await Promise.all([api("GET", `/api/view/${r.id}`),
    fetch(`/runs/${r.id}/config.json`).then((x) => (x.ok ? x.json() : {})).catch(() => ({}))]);
  const tab = tabOfKind(r.kind);
  const box = el("div", {});
  const given = cfg && typeof cfg.command === "string" && !cfg.command.includes("serve (") ? cfg.command : "";
  const cmd = given || (tab && cfg && cfg.config ? commandFor(tab, cfg.config) : "");
  document.getElementById("history-view").replaceChildren(el("h3", {text: `${title(r.kind)}: ${r.id}`}),
    ...(cmd ? [el("p", {class: "command"}, el("code", {text: unhash(cmd)}))] : []), box);
  await showResult(box, v, tab || {fields: [], spec: {name: r.kind}}, (cfg && cfg.config) || {}, r.id);
}

async function loadHistory() {
  const body = document.querySelector("#history tbody");
  const runs = await api("GET", "/api/runs");
  body.replaceChildren(...runs.map((r) => {
    const show = el("button", {type: "button", text: "show"});
    show.onclick = () => showRun(r).catch((e) => document.getElementById("history-view").replaceChildren(el("p", {class: "error", text: e.message})));
    const inputs = (r.inputs || []).map(shownName).join(", ");
    return el("tr", {}, el("td", {text: r.id}), el("td", {text: words(r.kind) + (inputs ? ` (${inputs})` : "")}), el("td", {text: r.status}),
      el("td", {text: new Date(r.time * 1000).toLocaleString()}),
      el("td", {}, show, " ", el("a", {href: r.report, target: "_blank", text: "report"})));
  }));
}

// -- start ------------------------------------------------------------------------------------------------------------------
async function reattach() { // a reload comes back to this tab session's jobs, running or finished
  for (const [id, entry] of Object.entries(savedJobs())) {
    const tab = TABS[id];
    if (!tab || !entry || !entry.id) { saveJob(id, null); continue; }
    try { follow(tab, await api("GET", `/api/jobs/${entry.id}`), entry.settings); }
    catch (e) { if (e.status === 404) saveJob(id, null); }
  }
}

async function start() {
  INFO = await api("GET", "/api/info");
  if (!Array.isArray(INFO.forms)) throw new Error("this server does not describe its forms (/api/info has no \"forms\"): update vislab");
  document.getElementById("server-info").textContent =
    `${INFO.workers} job(s) at a time; uploads up to ${Math.round(INFO.limits.max_upload_bytes / 2 ** 20)} MB`;
  document.getElementById("class-names").replaceChildren(...INFO.classes.map((c) => el("option", {value: c})));
  buildTabs(INFO.forms);
  document.getElementById("refresh-history").onclick = loadHistory;
  openTab(location.hash.slice(1) || Object.keys(TABS)[0]);
  await reattach();
  document.body.dataset.ready = "1";
}

start().catch((e) => { document.body.prepend(el("p", {class: "error", text: `vislab serve: ${e.message}`})); });
