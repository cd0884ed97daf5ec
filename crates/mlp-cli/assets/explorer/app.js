// The explorer's page: plain JS, no framework, nothing fetched but the local API (see API.md).
'use strict';
(() => {
  // ───────────────────────────── small helpers ─────────────────────────────
  const $ = (selector, root = document) => root.querySelector(selector);
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const PAD_SEND_SIDE = 140; // the pad is sent downscaled to 140×140 grey pixels (≈ 20 000 values)
  const PREDICT_DELAY_MS = 80; // at most one prediction per this delay while drawing
  const SPLITS = ['train', 'val', 'test'];
  const SPLIT_NAMES = { train: 'training', val: 'validation', test: 'test' };

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function svg(tag, attrs = {}) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value !== null && value !== undefined) node.setAttribute(key, value);
    }
    return node;
  }

  const store = {
    get(key, fallback) {
      try {
        const raw = localStorage.getItem('mlp-explorer.' + key);
        return raw === null ? fallback : JSON.parse(raw);
      } catch { return fallback; }
    },
    set(key, value) {
      try { localStorage.setItem('mlp-explorer.' + key, JSON.stringify(value)); } catch { /* private mode: not remembered */ }
    },
  };

  const percent = (v, digits) => (v === null || v === undefined || !Number.isFinite(v)) ? '—'
    : (v * 100).toFixed(digits ?? (v < 0.001 ? 3 : v < 0.1 ? 2 : 1)) + '%';
  const num = (v, digits = 4) => (v === null || v === undefined || !Number.isFinite(v)) ? '—'
    : (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : String(+v.toPrecision(digits)));
  /** An error rate as a percentage that never rounds a small non-zero rate to 0. */
  const errorPercent = (v) => (v === null || v === undefined || !Number.isFinite(v)) ? '—'
    : v === 0 ? '0%' : v >= 0.001 ? (v * 100).toFixed(2) + '%' : +(v * 100).toPrecision(1) + '%';
  const compactCount = (n) => n >= 1e6 ? (n / 1e6).toFixed(2) + ' M' : n >= 1e3 ? (n / 1e3).toFixed(1) + ' k' : String(n);
  const sizesText = (sizes) => (sizes || []).join('–');

  function debounceFrame(fn) {
    let pending = false;
    return () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; fn(); });
    };
  }

  // ───────────────────────────── the API ─────────────────────────────
  class ApiError extends Error {
    constructor(message, status, field) {
      super(message);
      this.status = status;
      this.field = field ?? null;
    }
  }
  const OFFLINE = 'Cannot reach the explorer\'s server. Is “mlp-cli serve” still running?';

  async function api(path, options = {}) {
    let response;
    try {
      response = await fetch(path, options);
    } catch {
      throw new ApiError(OFFLINE, 0, null);
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = undefined; }
    if (!response.ok) {
      const message = data && typeof data.error === 'string' ? data.error : `The server answered ${response.status} ${response.statusText}`.trim();
      throw new ApiError(message, response.status, data && data.field);
    }
    if (data === undefined) throw new ApiError(`The server's answer to ${path} is not JSON.`, response.status, null);
    return data;
  }
  const postJson = (path, body) => api(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const query = (params) => new URLSearchParams(params).toString();

  // ───────────────────────────── banner (network failures) ─────────────────────────────
  let bannerRetry = null;
  function showBanner(message, retry) {
    $('#banner-text').textContent = message;
    bannerRetry = retry || null;
    $('#banner-retry').hidden = !retry;
    $('#banner').hidden = false;
  }
  function hideBanner() { $('#banner').hidden = true; }
  $('#banner-retry').addEventListener('click', () => { hideBanner(); if (bannerRetry) bannerRetry(); });
  $('#banner-close').addEventListener('click', hideBanner);

  /** Shows an error where it happened, and also in the banner when the server is unreachable. */
  function report(error, target, retry) {
    const message = error instanceof ApiError ? error.message : 'Unexpected error: ' + error.message;
    if (target) target.textContent = message;
    if (!(error instanceof ApiError) || error.status === 0 || error.status >= 500) showBanner(message, retry);
    if (!(error instanceof ApiError)) console.warn(error);
  }

  // ───────────────────────────── colours ─────────────────────────────
  let palette = {};
  function readPalette() {
    const style = getComputedStyle(document.documentElement);
    const rgb = (name) => {
      const hex = style.getPropertyValue(name).trim().replace('#', '');
      const full = hex.length === 3 ? hex.replace(/./g, (c) => c + c) : hex;
      const value = parseInt(full, 16);
      return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
    };
    palette = {
      neutral: rgb('--neutral'), pos: rgb('--pos'), neg: rgb('--neg'), accent: rgb('--accent'),
      train: style.getPropertyValue('--train').trim(), val: style.getPropertyValue('--val').trim(),
      test: style.getPropertyValue('--test').trim(),
    };
  }

  /** The colour of t in [-1, 1]: the neutral colour at 0, red towards +1, blue towards −1. */
  function diverging(t) {
    const clamped = Math.max(-1, Math.min(1, Number.isFinite(t) ? t : 0));
    const end = clamped >= 0 ? palette.pos : palette.neg;
    const a = Math.sqrt(Math.abs(clamped)); // a square root makes small values visible
    return palette.neutral.map((n, i) => Math.round(n + (end[i] - n) * a));
  }
  const css = ([r, g, b]) => `rgb(${r},${g},${b})`;
  function divergingGradient() {
    const stops = [];
    for (let i = -8; i <= 8; i++) stops.push(css(diverging(i / 8)));
    return `linear-gradient(to right, ${stops.join(', ')})`;
  }

  /** Paints 784 values in [0, 1] (1 = ink) as white on black into a 28×28 canvas. */
  function paintInput(canvas, input) {
    const ctx = canvas.getContext('2d');
    const image = ctx.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = Math.round(255 * Math.max(0, Math.min(1, input[i] || 0)));
      image.data.set([v, v, v, 255], 4 * i);
    }
    ctx.putImageData(image, 0, 0);
  }

  // ───────────────────────────── tabs ─────────────────────────────
  const TABS = ['draw', 'runs', 'train'];
  const tabOpened = {};
  function showTab(name, focus = false) {
    if (!TABS.includes(name)) name = 'draw';
    for (const tab of TABS) {
      const button = $('#tab-' + tab);
      const selected = tab === name;
      button.setAttribute('aria-selected', String(selected));
      button.tabIndex = selected ? 0 : -1;
      $('#view-' + tab).hidden = !selected;
      if (selected && focus) button.focus();
    }
    if (location.hash !== '#' + name) history.replaceState(null, '', '#' + name);
    if (name === 'runs' && !tabOpened.runs) { tabOpened.runs = true; loadRuns(); }
    if (name === 'runs') renderRunCharts();
    if (name === 'train') { connectEvents(); renderTrainCharts(); }
    if (name === 'draw') renderLayers();
  }
  for (const tab of TABS) $('#tab-' + tab).addEventListener('click', () => showTab(tab));
  $('.tabs').addEventListener('keydown', (event) => {
    const current = TABS.findIndex((t) => $('#tab-' + t).getAttribute('aria-selected') === 'true');
    const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -current, End: TABS.length - 1 - current };
    if (!(event.key in moves)) return;
    event.preventDefault();
    showTab(TABS[(current + moves[event.key] + TABS.length) % TABS.length], true);
  });
  window.addEventListener('hashchange', () => showTab(location.hash.slice(1)));

  // ───────────────────────────── models ─────────────────────────────
  let models = [];
  let modelId = null;
  const modelSelect = $('#model');

  function currentModel() { return models.find((m) => m.id === modelId) || null; }

  async function loadModels(preferred) {
    try {
      models = await api('/api/models');
    } catch (error) {
      if (!models.length) modelSelect.replaceChildren(el('option', { value: '', text: 'Models unavailable' }));
      report(error, $('#model-info'), () => loadModels(preferred));
      return;
    }
    if (!models.length) modelSelect.replaceChildren(el('option', { value: '', text: 'No model yet' }));
    else modelSelect.replaceChildren(...models.map((m) => el('option', {
      value: m.id,
      text: `${m.id} · ${sizesText(m.sizes.slice(1, -1))} ${m.activation}${m.test_error === null || m.test_error === undefined ? '' : ' · ' + errorPercent(m.test_error)}`,
    })));
    const wanted = [preferred, modelId, store.get('model', null)].find((id) => id && models.some((m) => m.id === id));
    selectModel(wanted || (models[0] && models[0].id) || null, wanted !== modelId);
  }

  function selectModel(id, changed = true) {
    modelId = id;
    modelSelect.value = id || '';
    modelSelect.disabled = !id;
    const model = currentModel();
    if (!model) {
      $('#model-info').textContent = 'No model found under the runs folder yet: train one in the Train tab.';
      $('#mistakes').replaceChildren(el('p', { class: 'muted small', text: 'No model selected.' }));
      return;
    }
    store.set('model', id);
    const error = model.test_error === null || model.test_error === undefined ? 'test error unknown' : 'test error ' + errorPercent(model.test_error);
    $('#model-info').textContent = `${sizesText(model.sizes)} · ${model.activation} · ${compactCount(model.n_params)} parameters · ${error}`;
    if (!changed) return;
    if (!lastActivations) renderLayers(); // the placeholder names the new model's layers
    selectedUnit = null;
    $('#weights-panel').hidden = true;
    loadMistakes();
    requestPredict(0);
  }
  modelSelect.addEventListener('change', () => selectModel(modelSelect.value));

  // ───────────────────────────── the pad ─────────────────────────────
  const pad = $('#pad');
  const padCtx = pad.getContext('2d');
  const sendCanvas = el('canvas', { width: PAD_SEND_SIDE, height: PAD_SEND_SIDE });
  const sendCtx = sendCanvas.getContext('2d', { willReadFrequently: true });
  const BRUSH = pad.width / 12; // a stroke as thick as an MNIST digit's, relative to its box

  /** What the view shows: a drawing, or a test image (with its label) loaded as is. */
  let source = { kind: 'empty' };
  let sourceGeneration = 0; // answers to requests about an older source are dropped

  function clearPad() {
    padCtx.fillStyle = '#000';
    padCtx.fillRect(0, 0, pad.width, pad.height);
  }

  function setSource(next) {
    source = next;
    sourceGeneration++;
    $('#pad-hint').hidden = source.kind !== 'empty';
  }

  function resetOutputs() {
    $('#prediction').textContent = '';
    $('#confidence').textContent = '';
    $('#truth').textContent = '';
    paintInput($('#sees'), new Array(784).fill(0));
    updateProbabilities(null);
    lastActivations = null;
    renderLayers();
  }

  let stroke = null;
  function padPoint(event) {
    const rect = pad.getBoundingClientRect();
    return [(event.clientX - rect.left) * (pad.width / rect.width), (event.clientY - rect.top) * (pad.height / rect.height)];
  }
  function strokeTo(point) {
    // A quadratic curve through the midpoints keeps fast strokes round instead of jagged.
    const [last, previous] = [stroke.points[stroke.points.length - 1], stroke.points[stroke.points.length - 2] || stroke.points[stroke.points.length - 1]];
    const from = [(previous[0] + last[0]) / 2, (previous[1] + last[1]) / 2];
    const to = [(last[0] + point[0]) / 2, (last[1] + point[1]) / 2];
    padCtx.beginPath();
    padCtx.moveTo(from[0], from[1]);
    padCtx.quadraticCurveTo(last[0], last[1], to[0], to[1]);
    padCtx.stroke();
    stroke.points.push(point);
  }
  function beginPadStroke(event) {
    if (event.button > 0 || (stroke && stroke.id !== event.pointerId)) return; // one finger or pen at a time
    event.preventDefault();
    pad.setPointerCapture(event.pointerId);
    if (source.kind !== 'drawing') setSource({ kind: 'drawing' });
    padCtx.strokeStyle = '#fff';
    padCtx.fillStyle = '#fff';
    padCtx.lineWidth = BRUSH;
    padCtx.lineCap = 'round';
    padCtx.lineJoin = 'round';
    const point = padPoint(event);
    stroke = { id: event.pointerId, points: [point] };
    padCtx.beginPath();
    padCtx.arc(point[0], point[1], BRUSH / 2, 0, 2 * Math.PI);
    padCtx.fill();
    requestPredict(PREDICT_DELAY_MS);
  }
  function movePadStroke(event) {
    if (!stroke || event.pointerId !== stroke.id) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const e of (events.length ? events : [event])) strokeTo(padPoint(e));
    requestPredict(PREDICT_DELAY_MS);
  }
  function endPadStroke(event) {
    if (!stroke || event.pointerId !== stroke.id) return;
    strokeTo(padPoint(event));
    stroke = null;
    requestPredict(0);
  }
  pad.addEventListener('pointerdown', beginPadStroke);
  pad.addEventListener('pointermove', movePadStroke);
  pad.addEventListener('pointerup', endPadStroke);
  pad.addEventListener('pointercancel', endPadStroke);

  function drawingBody() {
    sendCtx.imageSmoothingEnabled = true;
    sendCtx.imageSmoothingQuality = 'high';
    sendCtx.drawImage(pad, 0, 0, PAD_SEND_SIDE, PAD_SEND_SIDE);
    const rgba = sendCtx.getImageData(0, 0, PAD_SEND_SIDE, PAD_SEND_SIDE).data;
    const pixels = new Array(PAD_SEND_SIDE * PAD_SEND_SIDE);
    for (let i = 0; i < pixels.length; i++) pixels[i] = rgba[4 * i];
    return { width: PAD_SEND_SIDE, height: PAD_SEND_SIDE, pixels };
  }

  $('#clear').addEventListener('click', () => {
    clearPad();
    setSource({ kind: 'empty' });
    resetOutputs();
    $('#draw-error').textContent = '';
  });

  // ───────────────────────────── predictions: live, never more than one in flight ─────────────────────────────
  const predictor = { timer: null, inFlight: false, wanted: false };

  function requestPredict(delay) {
    predictor.wanted = true;
    if (predictor.inFlight || predictor.timer !== null) return;
    predictor.timer = setTimeout(runPredict, delay);
  }

  async function runPredict() {
    predictor.timer = null;
    if (!predictor.wanted) return;
    predictor.wanted = false;
    if (source.kind === 'empty') return;
    if (!modelId) {
      $('#draw-error').textContent = 'No model to predict with yet: train one in the Train tab.';
      return;
    }
    const generation = sourceGeneration;
    const body = source.kind === 'test' ? { model: modelId, input: source.input } : { model: modelId, drawing: drawingBody() };
    predictor.inFlight = true;
    try {
      const answer = await postJson('/api/predict', body);
      if (generation === sourceGeneration && body.model === modelId) {
        showPrediction(answer);
        $('#draw-error').textContent = '';
      }
    } catch (error) {
      report(error, $('#draw-error'), () => requestPredict(0));
    } finally {
      predictor.inFlight = false;
      if (predictor.wanted) predictor.timer = setTimeout(runPredict, PREDICT_DELAY_MS);
    }
  }

  function showPrediction(answer) {
    const probabilities = answer.probabilities || [];
    paintInput($('#sees'), answer.input || []);
    $('#prediction').textContent = String(answer.prediction);
    $('#confidence').textContent = percent(probabilities[answer.prediction], 1) + ' sure';
    const truth = $('#truth');
    if (source.kind === 'test') {
      const right = source.label === answer.prediction;
      truth.textContent = `Test image #${source.index}: true label ${source.label} ${right ? '✓' : '✗'}`;
      truth.className = 'small ' + (right ? 'right' : 'wrong');
    } else {
      truth.textContent = '';
      truth.className = 'small';
    }
    updateProbabilities(probabilities, answer.prediction);
    lastActivations = answer.activations || [];
    renderLayers();
  }

  // The ten bars, built once: #probabilities keeps exactly ten children, class 0…9.
  const probabilityRows = [];
  for (let k = 0; k < 10; k++) {
    const fill = el('span', { class: 'fill' });
    const pct = el('span', { class: 'pct', text: '—' });
    const row = el('div', { class: 'prob', role: 'listitem', 'data-class': k, 'aria-label': `${k}: no prediction yet` },
      el('span', { class: 'digit', text: String(k) }), el('span', { class: 'bar' }, fill), pct);
    probabilityRows.push({ row, fill, pct });
    $('#probabilities').append(row);
  }
  function updateProbabilities(probabilities, top) {
    probabilityRows.forEach(({ row, fill, pct }, k) => {
      const p = probabilities ? probabilities[k] : null;
      fill.style.width = p === null ? '0' : (100 * p).toFixed(2) + '%';
      pct.textContent = p === null ? '—' : percent(p, p < 0.001 && p > 0 ? 2 : 1);
      row.classList.toggle('top', probabilities !== null && k === top);
      row.setAttribute('aria-label', p === null ? `${k}: no prediction yet` : `${k}: ${percent(p, 1)}`);
    });
  }

  // ───────────────────────────── hidden layers ─────────────────────────────
  let lastActivations = null;
  let selectedUnit = null;
  const layerViews = []; // [{root, canvas, readout, cols, cell, n}]

  function cellSize(n) {
    return n <= 64 ? 20 : n <= 256 ? 15 : n <= 1024 ? 9 : n <= 4096 ? 5 : 3;
  }

  function renderLayers() {
    const container = $('#layers');
    if (container.offsetParent === null) return; // hidden: drawn when shown
    if (!lastActivations || lastActivations.length === 0) {
      layerViews.length = 0;
      const model = currentModel();
      const sizes = model ? model.sizes.slice(1, -1) : [];
      container.replaceChildren(el('p', { class: 'muted small', text: sizes.length
        ? `Draw a digit to see the ${sizes.length} hidden layer${sizes.length > 1 ? 's' : ''} (${sizes.join(', ')} units) light up.`
        : 'Draw a digit to see the layers light up.' }));
      return;
    }
    const activation = (currentModel() || {}).activation || '';
    if (layerViews.length !== lastActivations.length || layerViews.some((v, l) => v.n !== lastActivations[l].length || v.activation !== activation)) {
      layerViews.length = 0;
      container.replaceChildren();
      lastActivations.forEach((units, l) => {
        const canvas = el('canvas', { class: l === 0 ? 'clickable' : null, role: 'img' });
        const readout = el('div', { class: 'layer-readout', text: ' ' });
        const head = el('div', { class: 'layer-head' },
          el('span', {}, el('b', { text: `Layer ${l + 1}` }), ` · ${units.length} units · ${activation}`),
          el('span', { class: 'muted layer-range' }));
        const view = { root: el('div', { class: 'layer' }, head, canvas, readout), canvas, readout, head, n: units.length, layer: l, activation };
        if (l === 0) {
          canvas.tabIndex = 0;
          canvas.setAttribute('aria-label', 'Layer 1 units: click one, or use the arrow keys, to see its incoming weights');
          canvas.addEventListener('click', (event) => { const unit = unitAt(view, event); if (unit !== null) selectUnit(unit); });
          canvas.addEventListener('keydown', (event) => unitKey(view, event));
        } else {
          canvas.setAttribute('aria-label', `Layer ${l + 1}: ${units.length} unit activations`);
        }
        canvas.addEventListener('pointermove', (event) => showUnit(view, unitAt(view, event)));
        canvas.addEventListener('pointerleave', () => showUnit(view, null));
        layerViews.push(view);
        container.append(view.root);
      });
    }
    const width = container.clientWidth;
    layerViews.forEach((view) => paintLayer(view, lastActivations[view.layer], width));
  }

  function paintLayer(view, units, width) {
    const n = units.length;
    const cell = cellSize(n);
    const cols = Math.max(1, Math.min(n, Math.floor(width / cell)));
    const rows = Math.ceil(n / cols);
    const ratio = window.devicePixelRatio || 1;
    const canvas = view.canvas;
    Object.assign(view, { cols, cell });
    canvas.width = Math.round(cols * cell * ratio);
    canvas.height = Math.round(rows * cell * ratio);
    canvas.style.width = cols * cell + 'px';
    canvas.style.height = rows * cell + 'px';
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const activation = (currentModel() || {}).activation;
    // Sigmoid units live in [0, 1]; the others are scaled by the layer's largest magnitude.
    let scale = activation === 'sigmoid' ? 1 : 0;
    if (!scale) for (const v of units) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    scale = scale || 1;
    const gap = cell >= 8 ? 1.5 : cell >= 5 ? 1 : 0;
    for (let i = 0; i < n; i++) {
      ctx.fillStyle = css(diverging(units[i] / scale));
      ctx.fillRect((i % cols) * cell, Math.floor(i / cols) * cell, cell - gap, cell - gap);
    }
    if (view.layer === 0 && selectedUnit !== null && selectedUnit < n) {
      ctx.strokeStyle = css(palette.accent);
      ctx.lineWidth = 2;
      ctx.strokeRect((selectedUnit % cols) * cell - 1, Math.floor(selectedUnit / cols) * cell - 1, cell - gap + 2, cell - gap + 2);
    }
    let low = Infinity, high = -Infinity, active = 0;
    for (const v of units) { low = Math.min(low, v); high = Math.max(high, v); if (v > 0) active++; }
    view.head.lastChild.textContent = activation === 'relu'
      ? `${active} active · max ${num(high, 3)}` : `range ${num(low, 3)} … ${num(high, 3)}`;
  }

  function unitAt(view, event) {
    const rect = view.canvas.getBoundingClientRect();
    const col = Math.floor((event.clientX - rect.left) / view.cell);
    const row = Math.floor((event.clientY - rect.top) / view.cell);
    const unit = row * view.cols + col;
    return col >= 0 && col < view.cols && unit >= 0 && unit < view.n ? unit : null;
  }

  function showUnit(view, unit) {
    const units = lastActivations && lastActivations[view.layer];
    view.readout.textContent = unit === null || !units ? ' '
      : `unit ${unit}: ${num(units[unit], 4)}${view.layer === 0 ? ' · click for its weights' : ''}`;
  }

  function unitKey(view, event) {
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: view.cols, ArrowUp: -view.cols };
    if (event.key in moves) {
      event.preventDefault();
      const next = selectedUnit === null ? 0 : Math.max(0, Math.min(view.n - 1, selectedUnit + moves[event.key]));
      selectUnit(next);
      showUnit(view, next);
    } else if ((event.key === 'Enter' || event.key === ' ') && selectedUnit === null) {
      event.preventDefault();
      selectUnit(0);
    }
  }

  // ───────────────────────────── incoming weights of a first-layer unit ─────────────────────────────
  let weightsRequest = 0;
  async function selectUnit(unit) {
    selectedUnit = unit;
    renderLayers();
    const request = ++weightsRequest;
    const model = modelId;
    try {
      const answer = await api('/api/weights?' + query({ model, unit }));
      if (request !== weightsRequest || model !== modelId) return;
      showWeights(answer);
    } catch (error) {
      report(error, $('#draw-error'), () => selectUnit(unit));
    }
  }

  function showWeights(answer) {
    const weights = answer.weights || [];
    const bound = Math.max(Math.abs(answer.min), Math.abs(answer.max)) || 1;
    const canvas = $('#weights');
    const ctx = canvas.getContext('2d');
    const image = ctx.createImageData(28, 28);
    for (let i = 0; i < 784; i++) image.data.set([...diverging(weights[i] / bound), 255], 4 * i);
    ctx.putImageData(image, 0, 0);
    $('#weights-title').textContent = `Layer 1, unit ${answer.unit}`;
    $('#weights-min').textContent = num(-bound, 3);
    $('#weights-max').textContent = '+' + num(bound, 3);
    $('#weights-bar').style.background = divergingGradient();
    $('#weights-panel').hidden = false;
    lastWeights = answer;
  }
  let lastWeights = null;

  // ───────────────────────────── test images and mistakes ─────────────────────────────
  function loadTestInput(image) {
    setSource({ kind: 'test', input: image.input, label: image.label, index: image.index });
    // Shown on the pad too, so that one can draw over it (which turns it into a drawing).
    const small = el('canvas', { width: 28, height: 28 });
    paintInput(small, image.input);
    clearPad();
    padCtx.imageSmoothingEnabled = true;
    padCtx.drawImage(small, 0, 0, pad.width, pad.height);
    $('#test-index').value = image.index;
    $('#draw-error').textContent = '';
    requestPredict(0);
  }

  async function fetchTestImage(index) {
    try {
      const image = await api('/api/test-image' + (index === undefined ? '' : '?' + query({ index })));
      loadTestInput(image);
    } catch (error) {
      report(error, $('#draw-error'), () => fetchTestImage(index));
    }
  }
  $('#random-test').addEventListener('click', () => fetchTestImage());
  $('#index-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const raw = $('#test-index').value.trim();
    const index = Number(raw);
    if (raw === '' || !Number.isInteger(index) || index < 0 || index > 9999) {
      $('#draw-error').textContent = 'The test image index must be a whole number from 0 to 9999.';
      $('#test-index').setAttribute('aria-invalid', 'true');
      return;
    }
    $('#test-index').removeAttribute('aria-invalid');
    fetchTestImage(index);
  });

  let mistakesRequest = 0;
  async function loadMistakes() {
    const list = $('#mistakes');
    const model = modelId;
    $('#mistakes-model').textContent = model ? '· ' + model : '';
    if (!model) return;
    const request = ++mistakesRequest;
    list.replaceChildren(el('p', { class: 'muted small', text: 'Looking through the test set…' }));
    try {
      const mistakes = await api('/api/mistakes?' + query({ model, limit: 24 }));
      if (request !== mistakesRequest) return;
      if (mistakes.length === 0) {
        list.replaceChildren(el('p', { class: 'muted small', text: 'This model classifies every test image correctly.' }));
        return;
      }
      list.replaceChildren(...mistakes.map((m) => {
        const thumb = el('canvas', { width: 28, height: 28, 'aria-hidden': 'true' });
        paintInput(thumb, m.input);
        return el('button', {
          type: 'button', class: 'mistake',
          title: `Test image #${m.index}`,
          'aria-label': `Test image ${m.index}: a ${m.label} taken for a ${m.predicted} with ${percent(m.probability, 0)}`,
          onclick: () => {
            loadTestInput(m);
            const smooth = !matchMedia('(prefers-reduced-motion: reduce)').matches;
            $('.out-card').scrollIntoView({ block: 'nearest', behavior: smooth ? 'smooth' : 'auto' });
          },
        }, thumb, el('span', {}, `${m.label} → `, el('b', { text: String(m.predicted) }), ` · ${percent(m.probability, 0)}`));
      }));
    } catch (error) {
      if (request !== mistakesRequest) return;
      list.replaceChildren(el('p', { class: 'error small', text: error.message }));
      report(error, null, loadMistakes);
    }
  }

  // ───────────────────────────── charts (SVG, log-scale y, crosshair) ─────────────────────────────
  /**
   * Draws series [{label, color, dashed, values: [[x, y]], points}] into container as an SVG line chart
   * with a log y axis; points: true adds one circle per value (class "point" with data-epoch).
   */
  function lineChart(container, series, { format = num, height = 250, empty = 'No data yet' } = {}) {
    const width = Math.max(260, container.clientWidth || 600);
    const margin = { top: 10, right: 14, bottom: 30, left: 54 };
    const innerW = width - margin.left - margin.right;
    const innerH = height - margin.top - margin.bottom;
    const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img' });
    container.replaceChildren(root);
    const all = series.flatMap((s) => s.values.filter(([, y]) => Number.isFinite(y) && y > 0));
    const xs = series.flatMap((s) => s.values.map(([x]) => x));
    if (all.length === 0) {
      root.append(Object.assign(svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'empty' }), { textContent: empty }));
      root.setAttribute('aria-label', empty);
      return;
    }
    const x0 = Math.min(...xs);
    const x1 = Math.max(...xs, x0 + 1);
    let lo = Math.log10(Math.min(...all.map(([, y]) => y)));
    let hi = Math.log10(Math.max(...all.map(([, y]) => y)));
    if (hi - lo < 0.3) { lo -= 0.15; hi += 0.15; }
    const slack = (hi - lo) * 0.04;
    lo -= slack; hi += slack;
    const sx = (x) => margin.left + ((x - x0) / (x1 - x0)) * innerW;
    const sy = (y) => margin.top + (1 - (Math.log10(y) - lo) / (hi - lo)) * innerH;

    const grid = svg('g', { class: 'grid' });
    const axis = svg('g', { class: 'axis' });
    // y ticks: 1, 2, 5 per decade when few decades are shown, else decades only.
    const decades = hi - lo;
    const mantissas = decades < 1.2 ? [1, 1.5, 2, 3, 5, 7] : decades < 3 ? [1, 2, 5] : [1];
    for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
      for (const m of mantissas) {
        const v = m * 10 ** e;
        const lv = Math.log10(v);
        if (lv < lo || lv > hi) continue;
        const y = sy(v);
        grid.append(svg('line', { x1: margin.left, x2: width - margin.right, y1: y, y2: y }));
        axis.append(Object.assign(svg('text', { x: margin.left - 6, y: y + 3.5, 'text-anchor': 'end' }), { textContent: format(v) }));
      }
    }
    // x ticks: about one per 70 px, on whole epochs.
    const step = Math.max(1, niceStep((x1 - x0) / Math.max(2, Math.floor(innerW / 70))));
    for (let x = Math.ceil(x0 / step) * step; x <= x1; x += step) {
      const px = sx(x);
      grid.append(svg('line', { x1: px, x2: px, y1: margin.top, y2: margin.top + innerH }));
      axis.append(Object.assign(svg('text', { x: px, y: height - margin.bottom + 15, 'text-anchor': 'middle' }), { textContent: String(x) }));
    }
    axis.append(Object.assign(svg('text', { x: width - margin.right, y: height - 2, 'text-anchor': 'end', class: 'axis-title' }), { textContent: 'epoch' }));
    root.append(grid, axis);

    for (const s of series) {
      let d = '';
      let pen = false;
      for (const [x, y] of s.values) {
        if (!(Number.isFinite(y) && y > 0)) { pen = false; continue; }
        d += `${pen ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
        pen = true;
      }
      root.append(svg('path', { d, class: 'series' + (s.dashed ? ' dashed' : ''), stroke: s.color }));
    }
    for (const s of series) {
      if (!s.points) continue;
      for (const [x, y] of s.values) {
        if (!(Number.isFinite(y) && y > 0)) continue;
        root.append(svg('circle', { cx: sx(x).toFixed(1), cy: sy(y).toFixed(1), r: 3.2, fill: s.color, class: s.points, 'data-epoch': x }));
      }
    }
    root.setAttribute('aria-label', series.map((s) => {
      const last = s.values[s.values.length - 1];
      return last ? `${s.label}: ${format(last[1])} at epoch ${last[0]}` : s.label;
    }).join('; '));

    // Crosshair with the values of every series at the nearest epoch.
    const cross = svg('line', { class: 'cross', y1: margin.top, y2: margin.top + innerH, visibility: 'hidden' });
    const dots = series.map((s) => svg('circle', { r: 3.5, fill: s.color, class: 'hover-dot', visibility: 'hidden' }));
    const hit = svg('rect', { x: margin.left, y: margin.top, width: innerW, height: innerH, fill: 'transparent' });
    root.append(cross, ...dots, hit);
    const tip = el('div', { class: 'tip', hidden: true });
    container.append(tip);
    const epochs = [...new Set(xs)].sort((a, b) => a - b);
    const move = (event) => {
      const rect = root.getBoundingClientRect();
      const px = (event.clientX - rect.left) * (width / rect.width);
      const target = x0 + ((px - margin.left) / innerW) * (x1 - x0);
      const x = epochs.reduce((best, e) => Math.abs(e - target) < Math.abs(best - target) ? e : best, epochs[0]);
      cross.setAttribute('x1', sx(x));
      cross.setAttribute('x2', sx(x));
      cross.setAttribute('visibility', 'visible');
      const rows = series.map((s, i) => {
        const found = s.values.find(([vx]) => vx === x);
        const visible = found && Number.isFinite(found[1]) && found[1] > 0;
        dots[i].setAttribute('visibility', visible ? 'visible' : 'hidden');
        if (visible) { dots[i].setAttribute('cx', sx(x)); dots[i].setAttribute('cy', sy(found[1])); }
        return el('tr', {}, el('td', {}, el('i', { class: 'sw', style: `background:${s.color}` }), ' ' + s.label), el('td', { text: found ? format(found[1]) : '—' }));
      });
      tip.replaceChildren(el('div', { class: 'head', text: `epoch ${x}` }), el('table', {}, el('tbody', {}, ...rows)));
      tip.hidden = false;
      const left = (sx(x) / width) * rect.width;
      const tipWidth = tip.offsetWidth;
      tip.style.left = (left + 12 + tipWidth > rect.width ? left - 12 - tipWidth : left + 12) + 'px';
      tip.style.top = Math.max(0, (event.clientY - rect.top) - tip.offsetHeight / 2) + 'px';
    };
    hit.addEventListener('pointermove', move);
    hit.addEventListener('pointerdown', move);
    hit.addEventListener('pointerleave', () => {
      tip.hidden = true;
      for (const mark of [cross, ...dots]) mark.setAttribute('visibility', 'hidden');
    });
  }

  function niceStep(raw) {
    const power = 10 ** Math.floor(Math.log10(raw));
    const m = raw / power;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
  }

  const errorFormat = (v) => { const p = v * 100; return (p >= 10 ? p.toFixed(0) : p >= 1 ? +p.toFixed(1) : +p.toPrecision(2)) + '%'; };
  const lossFormat = (v) => v >= 1 ? String(+v.toFixed(1)) : String(+v.toPrecision(2));

  /** The series of one curve for a metric ("error" or "loss") and the splits shown. */
  function curveSeries(curve, metric, splits, runLabel, dashed, points) {
    return splits.map((split) => ({
      label: (runLabel ? runLabel + ' · ' : '') + SPLIT_NAMES[split],
      color: palette[split],
      dashed,
      points: points && points[split],
      values: curve.map((r) => [r.epoch, r[`${split}_${metric}`]]).filter(([, y]) => y !== null && y !== undefined),
    })).filter((s) => s.values.length > 0);
  }

  function legendLine(dashed) {
    const icon = svg('svg', { width: 22, height: 6 });
    icon.append(svg('line', { x1: 1, x2: 21, y1: 3, y2: 3, stroke: 'currentColor', 'stroke-width': 2, 'stroke-dasharray': dashed ? '5 3' : null }));
    return icon;
  }

  // ───────────────────────────── Runs ─────────────────────────────
  let runs = [];
  let comparing = store.get('compare', []);
  let runSort = { key: 'id', dir: 1 };
  const curveCache = new Map();

  async function loadRuns() {
    $('#runs-error').textContent = '';
    try {
      runs = await api('/api/runs');
    } catch (error) {
      report(error, $('#runs-error'), loadRuns);
      return;
    }
    comparing = comparing.filter((id) => runs.some((r) => r.id === id));
    if (comparing.length === 0 && runs.length) comparing = [runs[0].id];
    renderRunsTable();
    loadRunCurves();
  }
  $('#runs-refresh').addEventListener('click', () => { curveCache.clear(); loadRuns(); });
  $('#runs-filter').addEventListener('input', () => renderRunsTable());

  function runValue(run, key) {
    const c = run.config || {};
    const last = run.last || {};
    switch (key) {
      case 'id': return run.id;
      case 'hidden': return (c.hidden || []).join(',');
      case 'epochs': return run.epochs_done;
      case 'train_error': case 'val_error': case 'test_error': return last[key] ?? null;
      default: return c[key] ?? null;
    }
  }

  function renderRunsTable() {
    const filter = $('#runs-filter').value.trim().toLowerCase();
    const words = filter.split(/\s+/).filter(Boolean);
    const shown = runs.filter((run) => {
      const text = [run.id, runValue(run, 'hidden'), run.config && run.config.activation, run.config && run.config.lr_schedule, run.running ? 'running' : ''].join(' ').toLowerCase();
      return words.every((w) => text.includes(w));
    });
    const { key, dir } = runSort;
    shown.sort((a, b) => {
      const va = runValue(a, key), vb = runValue(b, key);
      if (va === vb) return 0;
      if (va === null) return 1;
      if (vb === null) return -1;
      return (va < vb ? -1 : 1) * dir;
    });
    $('#runs-count').textContent = filter ? `· ${shown.length} of ${runs.length}` : `· ${runs.length}`;
    for (const th of document.querySelectorAll('#runs-table th[data-key]')) {
      th.setAttribute('aria-sort', th.dataset.key === key ? (dir > 0 ? 'ascending' : 'descending') : 'none');
    }
    const body = $('#runs-table tbody');
    if (shown.length === 0) {
      body.replaceChildren(el('tr', {}, el('td', { colspan: 15, class: 'muted', text: runs.length ? 'No run matches the filter.' : 'No runs found under the runs folder.' })));
      return;
    }
    body.replaceChildren(...shown.map((run) => {
      const c = run.config || {};
      const last = run.last || {};
      const checked = comparing.includes(run.id);
      const box = el('input', { type: 'checkbox', 'aria-label': 'Compare ' + run.id, checked });
      box.addEventListener('click', (event) => { event.stopPropagation(); toggleCompare(run.id, box.checked); });
      const epochs = c.epochs && run.epochs_done !== c.epochs ? `${run.epochs_done}/${c.epochs}` : String(run.epochs_done ?? '—');
      const row = el('tr', { class: checked ? 'selected' : null },
        el('td', {}, box),
        el('td', { class: 'id' }, run.id, run.running ? el('span', { class: 'running-tag', text: 'running' }) : null),
        el('td', { text: (c.hidden || []).join(',') }),
        el('td', { text: c.activation ?? '—' }),
        el('td', { class: 'num', text: num(c.lr) }),
        el('td', { class: 'num', text: c.batch_size ?? '—' }),
        el('td', { class: 'num', text: num(c.momentum) }),
        el('td', { class: 'num', text: num(c.weight_decay) }),
        el('td', { text: c.lr_schedule ?? '—' }),
        el('td', { class: 'num', text: c.seed ?? '—' }),
        el('td', { class: 'num', text: c.train_limit === null || c.train_limit === undefined ? 'all' : String(c.train_limit) }),
        el('td', { class: 'num', text: epochs }),
        el('td', { class: 'num', text: errorPercent(last.train_error) }),
        el('td', { class: 'num', text: errorPercent(last.val_error) }),
        el('td', { class: 'num', text: errorPercent(last.test_error) }));
      row.addEventListener('click', () => { comparing = [run.id]; afterCompareChange(); });
      return row;
    }));
  }

  for (const th of document.querySelectorAll('#runs-table th[data-key]')) {
    th.tabIndex = 0;
    const sortBy = () => {
      runSort = { key: th.dataset.key, dir: runSort.key === th.dataset.key ? -runSort.dir : 1 };
      renderRunsTable();
    };
    th.addEventListener('click', sortBy);
    th.addEventListener('keydown', (event) => { if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); sortBy(); } });
  }

  function toggleCompare(id, on) {
    comparing = comparing.filter((x) => x !== id);
    if (on) comparing.push(id);
    if (comparing.length > 2) comparing = comparing.slice(-2); // the oldest choice makes room
    afterCompareChange();
  }
  function afterCompareChange() {
    store.set('compare', comparing);
    renderRunsTable();
    loadRunCurves();
  }

  let curvesRequest = 0;
  async function loadRunCurves() {
    const request = ++curvesRequest;
    const ids = comparing.slice();
    try {
      await Promise.all(ids.map(async (id) => {
        const run = runs.find((r) => r.id === id);
        if (curveCache.has(id) && !(run && run.running)) return;
        curveCache.set(id, await api('/api/curve?' + query({ run: id })));
      }));
    } catch (error) {
      if (request === curvesRequest) report(error, $('#runs-error'), loadRunCurves);
      return;
    }
    if (request === curvesRequest) renderRunCharts();
  }

  function shownSplits(root) {
    return SPLITS.filter((split) => root.querySelector(`input[data-split="${split}"]`).checked);
  }
  document.querySelectorAll('.series-toggles input').forEach((box) => box.addEventListener('change', renderRunCharts));

  function renderRunCharts() {
    if ($('#view-runs').hidden) return;
    const splits = shownSplits($('.series-toggles'));
    const ids = comparing.filter((id) => curveCache.has(id));
    const names = ids.length > 1 ? ['A', 'B'] : [''];
    $('#runs-legend').replaceChildren(...ids.map((id, i) => el('span', {}, names[i] ? names[i] + ': ' : '', legendLine(i === 1), id)));
    for (const [metric, target, format] of [['error', '#runs-error-chart', errorFormat], ['loss', '#runs-loss-chart', lossFormat]]) {
      const series = ids.flatMap((id, i) => curveSeries(curveCache.get(id), metric, splits, names[i], i === 1));
      lineChart($(target), series, { format, empty: ids.length ? 'Nothing to show: tick a split above' : 'Select a run in the table' });
    }
  }

  // ───────────────────────────── Train ─────────────────────────────
  const form = $('#train-form');
  const FIELDS = ['hidden', 'activation', 'lr', 'batch_size', 'epochs', 'momentum', 'weight_decay', 'lr_schedule', 'train_limit', 'seed', 'name'];
  const PRESETS = {
    quick: { hidden: '100', activation: 'relu', lr: 0.1, batch_size: 64, epochs: 3, momentum: 0.9, weight_decay: 0.0001, lr_schedule: 'cosine', train_limit: 5000, seed: 0 },
    shallow: { hidden: '150', activation: 'relu', lr: 0.2, batch_size: 64, epochs: 10, momentum: 0.9, weight_decay: 0.0001, lr_schedule: 'cosine', train_limit: '', seed: 1 },
    deep: { hidden: '150,200,150,50', activation: 'relu', lr: 0.05, batch_size: 64, epochs: 10, momentum: 0.9, weight_decay: 0.0003, lr_schedule: 'step', train_limit: '', seed: 1 },
  };
  const field = (name) => form.elements.namedItem(name);

  for (const button of form.querySelectorAll('[data-preset]')) {
    button.addEventListener('click', () => {
      for (const [name, value] of Object.entries(PRESETS[button.dataset.preset])) field(name).value = value;
      clearFieldErrors();
      saveForm();
    });
  }

  function saveForm() { store.set('train-form', Object.fromEntries(FIELDS.filter((f) => f !== 'name').map((f) => [f, field(f).value]))); }
  function restoreForm() {
    const saved = store.get('train-form', null);
    if (saved) for (const f of FIELDS) if (f in saved) field(f).value = saved[f];
  }
  form.addEventListener('change', saveForm);

  function setFieldError(name, message) {
    const input = field(name);
    const slot = $('#e-' + name);
    if (!input || !slot) return false;
    slot.textContent = message;
    input.setAttribute('aria-invalid', 'true');
    return true;
  }
  function clearFieldErrors() {
    for (const f of FIELDS) { $('#e-' + f).textContent = ''; field(f).removeAttribute('aria-invalid'); }
    $('#train-form-error').textContent = '';
  }
  form.addEventListener('input', (event) => {
    const name = event.target.name;
    if (name && $('#e-' + name)) { $('#e-' + name).textContent = ''; event.target.removeAttribute('aria-invalid'); }
  });

  /** The request body, or null after marking the fields at fault (the server checks again). */
  function readForm() {
    const errors = {};
    const number = (name, { integer = false, optional = false } = {}) => {
      const raw = field(name).value.trim();
      if (raw === '' && optional) return null;
      const value = Number(raw);
      if (raw === '' || !Number.isFinite(value)) { errors[name] = 'A number is needed.'; return null; }
      if (integer && !Number.isInteger(value)) { errors[name] = 'A whole number is needed.'; return null; }
      return value;
    };
    const hiddenRaw = field('hidden').value.trim();
    const hidden = hiddenRaw.split(',').map((s) => s.trim());
    if (!hiddenRaw || hidden.some((s) => !/^\d+$/.test(s) || Number(s) < 1)) {
      errors.hidden = 'Positive whole widths separated by commas, e.g. 150 or 150,200,150,50.';
    }
    const body = {
      hidden: hidden.map(Number),
      activation: field('activation').value,
      lr: number('lr'),
      batch_size: number('batch_size', { integer: true }),
      epochs: number('epochs', { integer: true }),
      momentum: number('momentum'),
      weight_decay: number('weight_decay'),
      lr_schedule: field('lr_schedule').value,
      train_limit: number('train_limit', { integer: true, optional: true }),
      seed: number('seed', { integer: true }),
    };
    const name = field('name').value.trim();
    if (name) {
      if (name.includes('/') || name.includes('\\') || name.includes('..')) errors.name = 'A plain name: no "/", "\\" or "..".';
      body.name = name;
    }
    if (!errors.lr && !(body.lr > 0)) errors.lr = 'The learning rate must be above 0.';
    if (!errors.batch_size && body.batch_size < 1) errors.batch_size = 'At least 1.';
    if (!errors.epochs && body.epochs < 1) errors.epochs = 'At least 1.';
    if (!errors.momentum && !(body.momentum >= 0 && body.momentum < 1)) errors.momentum = 'Momentum must be in [0, 1).';
    if (!errors.weight_decay && body.weight_decay < 0) errors.weight_decay = 'Weight decay must be 0 or more.';
    if (!errors.train_limit && body.train_limit !== null && body.train_limit < 1) errors.train_limit = 'At least 1, or empty for all.';
    if (!errors.seed && body.seed < 0) errors.seed = 'The seed must be 0 or more.';
    const names = Object.keys(errors);
    for (const n of names) setFieldError(n, errors[n]);
    if (names.length) { field(names[0]).focus(); return null; }
    return body;
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors();
    const body = readForm();
    if (!body) return;
    const start = $('#train-start');
    start.disabled = true;
    try {
      const answer = await postJson('/api/train', body);
      beginRun(answer.run, body, []);
      $('#train-status').textContent = `Started ${answer.run}: evaluating the untrained network…`;
    } catch (error) {
      if (error.field && setFieldError(error.field, error.message)) field(error.field).focus();
      else report(error, $('#train-form-error'), null);
      start.disabled = training.running;
    }
  });

  $('#train-stop').addEventListener('click', async () => {
    const stop = $('#train-stop');
    stop.disabled = true;
    try {
      const answer = await postJson('/api/train/stop', {});
      $('#train-status').textContent = `Stopping ${answer.stopping} after the current mini-batch…`;
    } catch (error) {
      report(error, $('#train-form-error'), null);
      stop.disabled = !training.running;
    }
  });

  const training = { running: false, run: null, config: null, curve: [], epochs: null, progress: null };

  function beginRun(run, config, curve) {
    const same = training.run === run;
    training.running = true;
    training.run = run;
    training.config = config || training.config;
    training.epochs = (config && config.epochs) || (same ? training.epochs : null);
    if (!same || curve.length) training.curve = curve.slice();
    training.progress = null;
    $('#train-done').hidden = true;
    renderTraining();
  }

  function renderTraining() {
    const { running, run, curve, progress } = training;
    $('#train-start').disabled = running;
    $('#train-stop').disabled = !running;
    $('#train-run').textContent = run ? '· ' + run : '';
    const last = curve[curve.length - 1];
    const epochs = training.epochs;
    const epochNow = progress ? progress.epoch : last ? last.epoch : 0;
    $('#train-epoch-label').textContent = run ? `Epoch ${epochNow}${epochs ? ' of ' + epochs : ''}` : 'Epoch —';
    const fraction = progress && progress.steps ? progress.step / progress.steps : running ? 0 : last ? 1 : 0;
    $('#train-step-label').textContent = progress ? `step ${progress.step} of ${progress.steps}` : '';
    $('#train-progress .progress-fill').style.width = (100 * fraction).toFixed(1) + '%';
    $('#train-progress').setAttribute('aria-valuenow', Math.round(100 * fraction));
    const badge = $('#train-badge');
    badge.hidden = !running;
    badge.textContent = running ? `Training ${run} · epoch ${epochNow}${epochs ? '/' + epochs : ''}` : '';
    if (running && last && !progress) {
      $('#train-status').textContent = `Epoch ${last.epoch} done: test error ${errorPercent(last.test_error)}.`;
    }
    const table = $('#train-last tbody');
    table.replaceChildren(...(last ? [
      el('tr', {}, ...['epoch', 'seconds', 'lr', 'train err.', 'val. err.', 'test err.', 'train loss', 'test loss'].map((h) => el('td', { class: 'muted', text: h }))),
      el('tr', {}, ...[String(last.epoch), num(last.seconds, 3), num(last.lr, 3), errorPercent(last.train_error), errorPercent(last.val_error), errorPercent(last.test_error), num(last.train_loss, 4), num(last.test_loss, 4)].map((t) => el('td', { text: t }))),
    ] : []));
    renderTrainCharts();
  }

  function renderTrainCharts() {
    if ($('#view-train').hidden) return;
    const { curve } = training;
    const legend = $('#train-legend');
    legend.replaceChildren(...SPLITS.filter((s) => curve.some((r) => r[`${s}_error`] !== null && r[`${s}_error`] !== undefined))
      .map((s) => el('span', {}, el('i', { class: 'sw ' + s }), ' ' + SPLIT_NAMES[s])));
    // One circle of class "point" per epoch record (on the test error), for tests to count.
    lineChart($('#train-curve'), curveSeries(curve, 'error', SPLITS, '', false, { train: 'marker', val: 'marker', test: 'point' }),
      { format: errorFormat, height: 230, empty: training.run ? 'Waiting for the first epoch…' : 'Start a run to see its curve here' });
    lineChart($('#train-loss'), curveSeries(curve, 'loss', SPLITS, '', false, null),
      { format: lossFormat, height: 180, empty: training.run ? 'Waiting for the first epoch…' : 'No run yet' });
  }

  function finishRun(event) {
    training.running = false;
    training.progress = null;
    const done = $('#train-done');
    const good = event.outcome === 'finished' || event.outcome === 'interrupted';
    done.className = 'done' + (good ? '' : ' bad');
    const words = { finished: 'Finished', interrupted: 'Stopped', diverged: 'Diverged' };
    const children = [el('span', {}, el('b', { text: words[event.outcome] || event.outcome }), ' · ' + (event.message || event.run))];
    if (event.model) {
      children.push(el('button', {
        type: 'button', class: 'btn primary small',
        onclick: () => { showTab('draw'); loadModels(event.model); },
      }, 'Draw on it'));
    }
    done.replaceChildren(...children);
    done.hidden = false;
    $('#train-status').textContent = event.model ? `${words[event.outcome] || 'Ended'}: its model ${event.model} is in the Draw picker.` : (event.message || 'The run ended.');
    renderTraining();
    loadModels();
    if (tabOpened.runs) { curveCache.delete(event.run); loadRuns(); }
  }

  // Server-sent events: EventSource reconnects by itself; when it gives up, we reconnect. The stream is
  // opened only once the Train view is shown or a training is known to run: an idle page holds no
  // connection (browsers allow few per host, and a never-ending request keeps headless screenshots waiting).
  let events = null;
  let reconnectDelay = 1000;
  function connectEvents(force = false) {
    if (events && !force) return;
    if (events) events.close();
    const conn = $('#train-conn');
    conn.textContent = 'connecting…';
    conn.className = 'conn small';
    events = new EventSource('/api/train/events');
    events.addEventListener('open', () => {
      conn.textContent = 'live';
      conn.className = 'conn small live';
      reconnectDelay = 1000;
    });
    events.addEventListener('error', () => {
      conn.textContent = 'reconnecting…';
      conn.className = 'conn small down';
      if (events.readyState === EventSource.CLOSED) {
        setTimeout(() => connectEvents(true), reconnectDelay);
        reconnectDelay = Math.min(reconnectDelay * 2, 15000);
      }
    });
    const on = (name, handler) => events.addEventListener(name, (message) => {
      let data;
      try { data = JSON.parse(message.data); } catch { console.warn('Unreadable', name, 'event'); return; }
      handler(data);
    });
    on('state', (state) => {
      if (state.running && state.run) {
        beginRun(state.run, state.config || null, state.curve || []);
        const last = training.curve[training.curve.length - 1];
        $('#train-status').textContent = last ? `Running: epoch ${last.epoch} done.` : 'Running: evaluating the untrained network…';
      } else if (training.running) {
        training.running = false; // it ended while we were disconnected
        $('#train-status').textContent = `${training.run} is no longer running.`;
        renderTraining();
        loadModels();
      }
    });
    on('progress', (p) => {
      if (!training.running || training.run !== p.run) beginRun(p.run, null, []);
      training.progress = p;
      if (p.epochs) training.epochs = p.epochs;
      $('#train-status').textContent = `Training epoch ${p.epoch}…`;
      renderProgressOnly();
    });
    on('epoch', (e) => {
      if (!training.running || training.run !== e.run) beginRun(e.run, null, []);
      training.curve = training.curve.filter((r) => r.epoch !== e.record.epoch).concat([e.record]);
      training.progress = null;
      renderTraining();
      if (tabOpened.runs && comparing.includes(e.run)) { curveCache.delete(e.run); loadRunCurves(); }
    });
    on('finished', finishRun);
  }

  // Progress comes ~10 times a second: only the bar and labels move, not the charts.
  function renderProgressOnly() {
    const p = training.progress;
    const fraction = p.steps ? p.step / p.steps : 0;
    $('#train-progress .progress-fill').style.width = (100 * fraction).toFixed(1) + '%';
    $('#train-progress').setAttribute('aria-valuenow', Math.round(100 * fraction));
    $('#train-epoch-label').textContent = `Epoch ${p.epoch}${training.epochs ? ' of ' + training.epochs : ''}`;
    $('#train-step-label').textContent = `step ${p.step} of ${p.steps}`;
    $('#train-start').disabled = true;
    $('#train-stop').disabled = false;
    const badge = $('#train-badge');
    badge.hidden = false;
    badge.textContent = `Training ${training.run} · epoch ${p.epoch}${training.epochs ? '/' + training.epochs : ''} · ${Math.round(100 * fraction)}%`;
  }
  $('#train-badge').addEventListener('click', () => showTab('train'));

  // ───────────────────────────── start ─────────────────────────────
  const rerender = debounceFrame(() => {
    renderLayers();
    renderRunCharts();
    renderTrainCharts();
  });
  window.addEventListener('resize', rerender);
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    readPalette();
    $('#layers-bar').style.background = divergingGradient();
    rerender();
    if (lastWeights && !$('#weights-panel').hidden) showWeights(lastWeights);
  });

  readPalette();
  $('#layers-bar').style.background = divergingGradient();
  clearPad();
  resetOutputs();
  restoreForm();
  showTab(location.hash.slice(1) || 'draw');
  renderTraining();
  loadModels();
  api('/api/runs').then((list) => { if (list.some((run) => run.running)) connectEvents(); }, () => { /* shown by the other requests */ });
})();
