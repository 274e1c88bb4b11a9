"""The view's HTML: one self-contained file (inline CSS, JS and data; nothing loaded from the network).

Model text is only ever put into the page with ``textContent`` (never as HTML), and the embedded JSON escapes
``<``, so a response holding ``</script>`` or markup stays text.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .4em}h2{font-size:1.15em;margin:1.2em 0 .4em}
.runs li{margin:2px 0}.settings{color:#555;font-size:13px}
#filters{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ddd;z-index:1}
#filters label{margin-right:1em;font-size:14px}#count{font-weight:600}
table{border-collapse:collapse;font-size:13px;margin:.3em 0 1em}th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
.doc{border:1px solid #ccc;border-radius:6px;margin:.8em 0;padding:.5em .8em}
.doc header{font-weight:600}.doc .target{color:#555;font-weight:400}
.warn{color:#b00}
.cols{display:grid;gap:.8em;margin-top:.4em}
.col{border-left:3px solid #ddd;padding-left:.6em;min-width:0}
.col h3{font-size:13px;margin:.2em 0}
.turn{margin:.35em 0;padding:.3em .5em;border-radius:4px;background:#f7f7f7}
.turn.reflection{background:#eef3fb}.turn.attempt.ok{background:#eaf7ea}.turn.attempt.bad{background:#fbecec}
.turn .meta{font-size:12px;color:#555}
pre{white-space:pre-wrap;word-break:break-word;margin:.2em 0;font-size:13px}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;margin-left:4px;color:#fff}
.badge.ok{background:#2e7d32}.badge.bad{background:#c62828}.badge.flip{background:#6a1b9a}
details>summary{cursor:pointer;color:#444;font-size:12px}
#more{margin:1em 0}
"""

JS = r"""
const DATA = JSON.parse(document.getElementById('view-data').textContent);
const PAGE = 100;
let shown = PAGE;
const $ = id => document.getElementById(id);
function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text); return e; }
function pct(x) { return x === null || x === undefined ? '–' : (100 * x).toFixed(1) + '%'; }
function num(x, d) { return x === null || x === undefined ? '–' : Number(x).toFixed(d); }

function branchOf(run, b) {  // the branch shown for a run's record: b, or branch 1 for "all"
  if (!run) return null;
  return run.branches.find(x => x.branch === (b === 'all' ? 1 : Number(b))) || null;
}
function flip(br) { return !br ? null : (!br.t1 && br.final) ? 'w2r' : (br.t1 && !br.final) ? 'r2w' : 'same'; }

function matches(doc, f) {
  if (f.task !== 'all' && doc.task !== f.task) return false;
  const runs = doc.runs;
  if (f.branch !== 'all' && !runs.some(r => r && r.branches.some(x => x.branch === Number(f.branch)))) return false;
  if (f.flip === 'disagree') {
    const finals = runs.map(r => branchOf(r, f.branch)).filter(Boolean).map(b => b.final);
    if (finals.length < 2 || finals.every(v => v === finals[0])) return false;
  }
  const br = branchOf(runs[f.run], f.branch);
  if ((f.verdict !== 'all' || (f.flip !== 'all' && f.flip !== 'disagree')) && !br) return false;
  if (f.verdict === 'final-right' && !br.final) return false;
  if (f.verdict === 'final-wrong' && br.final) return false;
  if (f.verdict === 't1-right' && !br.t1) return false;
  if (f.verdict === 't1-wrong' && br.t1) return false;
  if (['w2r', 'r2w', 'same'].includes(f.flip) && flip(br) !== f.flip) return false;
  return true;
}

function filters() {
  return {task: $('f-task').value, verdict: $('f-verdict').value, flip: $('f-flip').value,
          branch: $('f-branch').value, run: Number($('f-run').value)};
}

function turnCard(t) {
  const ok = t.kind === 'attempt' && 'correct' in t ? (t.correct ? ' ok' : ' bad') : '';
  const card = el('div', 'turn ' + t.kind + ok);
  card.dataset.kind = t.kind;
  const name = t.kind === 'attempt' ? (t.round === 1 ? 'Attempt 1' : 'Retry (attempt ' + t.round + ')')
                                    : 'Reflection (before attempt ' + t.round + ')';
  const meta = el('div', 'meta');
  meta.append(el('strong', null, name));
  meta.append(document.createTextNode(' · branch ' + t.branch + (t.model ? ' · ' + t.model : '') +
    ' · tokens in ' + (t.prompt_tokens ?? '?') + ' / out ' + (t.completion_tokens ?? '?')));
  if ('correct' in t) meta.append(el('span', 'badge ' + (t.correct ? 'ok' : 'bad'), t.correct ? 'correct' : 'wrong'));
  card.append(meta);
  if (t.round > 1 && t.asked) {
    const d = el('details', 'asked'); d.append(el('summary', null, 'what the model was told'), el('pre', null, t.asked));
    card.append(d);
  }
  card.append(el('pre', 'response', t.response));
  if ('correct' in t) {
    if (t.extracted !== null && t.extracted !== undefined) card.append(el('div', 'meta', 'extracted: ' + JSON.stringify(t.extracted)));
    if (t.feedback) card.append(el('div', 'meta feedback', 'verifier: ' + t.feedback));
  }
  return card;
}

function runColumn(run, label, f) {
  const col = el('div', 'col');
  const h = el('h3', null, label);
  col.append(h);
  if (!run) { col.append(el('div', 'meta', 'not in this run')); return col; }
  const br = branchOf(run, f.branch);
  if (br) {
    h.append(el('span', 'badge ' + (br.t1 ? 'ok' : 'bad'), 't1 ' + (br.t1 ? '✓' : '✗')));
    h.append(el('span', 'badge ' + (br.final ? 'ok' : 'bad'), 'final ' + (br.final ? '✓' : '✗')));
    if (flip(br) !== 'same') h.append(el('span', 'badge flip', flip(br) === 'w2r' ? 'wrong→right' : 'right→wrong'));
  }
  const branches = f.branch === 'all' ? run.branches : run.branches.filter(x => x.branch === Number(f.branch));
  const seen = new Set();
  for (const b of branches) for (const t of b.turns) {
    const key = t.kind + t.round + '/' + t.branch;
    if (seen.has(key)) continue;  // round-1 turns are shared by every branch
    seen.add(key);
    col.append(turnCard(t));
  }
  return col;
}

function docCard(doc, f) {
  const sec = el('section', 'doc');
  sec.dataset.task = doc.task; sec.dataset.docId = doc.doc_id;
  const head = el('header', null, doc.task + ' #' + doc.doc_id + ' ');
  head.append(el('span', 'target', 'target: ' + JSON.stringify(doc.target)));
  if (doc.hash_mismatch) head.append(el('span', 'warn', ' (the runs hold different docs under this id)'));
  sec.append(head);
  const q = el('details', 'question'); q.append(el('summary', null, 'task prompt'), el('pre', null, doc.question));
  sec.append(q);
  const cols = el('div', 'cols');
  cols.style.gridTemplateColumns = 'repeat(' + DATA.runs.length + ', minmax(0, 1fr))';
  doc.runs.forEach((r, i) => cols.append(runColumn(r, DATA.runs[i].label, f)));
  sec.append(cols);
  return sec;
}

function render() {
  const f = filters();
  const hits = DATA.docs.filter(d => matches(d, f));
  const list = $('docs');
  list.replaceChildren(...hits.slice(0, shown).map(d => docCard(d, f)));
  $('count').textContent = hits.length + ' of ' + DATA.docs.length + ' docs';
  $('more').style.display = hits.length > shown ? '' : 'none';
}

function option(sel, value, text) { const o = el('option', null, text); o.value = value; sel.append(o); }

function analyticsTable(run) {
  const t = el('table', 'analytics');
  const head = ['task', 'reflections', 'chars (mean)', 'tokens (mean)', 'states an answer', 'retry repeats failed answer',
                'wrong→right by feedback kind', 'retry pass by reflection tokens'];
  const tr = el('tr'); head.forEach(h => tr.append(el('th', null, h))); t.append(el('thead')); t.tHead.append(tr);
  const body = el('tbody'); t.append(body);
  for (const [task, a] of Object.entries(run.analytics)) {
    const row = el('tr');
    const fb = Object.entries(a.by_feedback).map(([k, v]) => k + ' ' + v.wrong_to_right + '/' + v.retries).join(', ');
    const ln = Object.entries(a.by_length).map(([k, v]) => k + ' ' + v.passed + '/' + v.retries).join(', ');
    [task, a.reflections, num(a.reflection_chars_mean, 0), num(a.reflection_tokens_mean, 1),
     a.states_answer + ' (' + pct(a.states_answer_rate) + ')', a.repeats_failed + ' (' + pct(a.repeats_failed_rate) + ')',
     fb || '–', ln || '–'].forEach(c => row.append(el('td', null, c)));
    body.append(row);
  }
  return t;
}

function init() {
  const runs = $('runs');
  DATA.runs.forEach((r, i) => {
    const li = el('li', null, (i + 1) + '. ' + r.label + ' — ' + r.path);
    const s = r.settings;
    li.append(el('div', 'settings', 'protocol ' + s.protocol + ', feedback ' + s.feedback_mode + ', attempts ' +
      s.attempts + ', reflections ' + s.reflections + ', gen_kwargs ' + JSON.stringify(s.gen_kwargs) +
      (s.system_instruction ? ', system instruction set' : '')));
    runs.append(li);
    const box = $('analytics');
    box.append(el('h3', null, r.label));
    box.append(analyticsTable(r));
  });
  const tasks = [...new Set(DATA.docs.map(d => d.task))];
  option($('f-task'), 'all', 'all tasks'); tasks.forEach(t => option($('f-task'), t, t));
  const branches = new Set();
  DATA.docs.forEach(d => d.runs.forEach(r => r && r.branches.forEach(b => branches.add(b.branch))));
  option($('f-branch'), 'all', 'all'); [...branches].sort((a, b) => a - b).forEach(b => option($('f-branch'), b, 'branch ' + b));
  DATA.runs.forEach((r, i) => option($('f-run'), i, r.label));
  if (DATA.runs.length < 2) { $('f-run').parentElement.style.display = 'none';
    $('f-flip').querySelector('option[value=disagree]').remove(); }
  for (const id of ['f-task', 'f-verdict', 'f-flip', 'f-branch', 'f-run'])
    $(id).addEventListener('change', () => { shown = PAGE; render(); });
  $('more').addEventListener('click', () => { shown += PAGE; render(); });
  render();
}
init();
"""

BODY = """
<h1>{title}</h1>
<h2>Runs</h2><ol class="runs" id="runs" style="list-style:none;padding:0"></ol>
<details id="analytics-box" open><summary>Reflection analytics (definitions: docs/analytics.md)</summary>
<div id="analytics"></div></details>
<div id="filters">
<label>task <select id="f-task"></select></label>
<label>verdict <select id="f-verdict"><option value="all">any</option><option value="final-right">right at the end</option>
<option value="final-wrong">wrong at the end</option><option value="t1-right">right at attempt 1</option>
<option value="t1-wrong">wrong at attempt 1</option></select></label>
<label>flip <select id="f-flip"><option value="all">any</option><option value="w2r">wrong→right</option>
<option value="r2w">right→wrong</option><option value="same">no flip</option>
<option value="disagree">runs disagree at the end</option></select></label>
<label>branch <select id="f-branch"></select></label>
<label>verdicts of <select id="f-run"></select></label>
<span id="count"></span>
</div>
<div id="docs"></div>
<button id="more" type="button">show more</button>
"""


def embed_json(data: Any) -> str:
    """JSON safe inside a <script> element: ASCII only, with ``<`` escaped (no ``</script>``, no ``<!--``)."""
    return json.dumps(data, ensure_ascii=True, default=str).replace("<", "\\u003c")


def render_view(data: dict[str, Any], title: str = "reflectevo-bench transcripts") -> str:
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{CSS}</style></head><body>{BODY.format(title=escape(title))}"
        f"<script type='application/json' id='view-data'>{embed_json(data)}</script>"
        f"<script>{JS}</script></body></html>"
    )
