// The approval form (workflow/run_fields.html): 大写 of amounts while typing, detail-table rows
// and column sums, formula fields, date-range days, people/department pickers, attachment
// uploads, and the trigger that refreshes the route preview. Everything here is a convenience:
// the server checks and computes every value again when the form is saved or submitted.
import './workflow-form.css';

const t = (text) => (typeof window.gettext === 'function' ? window.gettext(text) : text);
const interpolate = (format, values) =>
  typeof window.interpolate === 'function'
    ? window.interpolate(format, values, true)
    : format.replace(/%\((\w+)\)s/g, (_m, key) => String(values[key]));

// ------------------------------------------------------------------------------- numbers

const FULL_WIDTH = /[\uFF10-\uFF19\uFF0E\uFF0C\uFF0B\uFF0D]/g;
const NUMBER = /^[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?$|^[+-]?\.[0-9]+$/;

function normalise(text) {
  return String(text ?? '')
    .replace(FULL_WIDTH, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0xfee0))
    .trim();
}

/** The number typed in ``text`` ("1,234.5", "１２３"), or null. */
export function parseNumber(text) {
  const value = normalise(text);
  if (!value || !NUMBER.test(value)) return null;
  const number = Number(value.replace(/,/g, ''));
  return Number.isFinite(number) ? number : null;
}

/** Whole fen of ``text`` rounded half up, as a BigInt (exact, whatever the size), or null. */
function toCents(text) {
  const value = normalise(text).replace(/,/g, '');
  if (!value || !NUMBER.test(value)) return null;
  const negative = value.startsWith('-');
  const [whole, fraction = ''] = value.replace(/^[+-]/, '').split('.');
  let cents = BigInt(whole || '0') * 100n + BigInt((fraction + '00').slice(0, 2));
  if ((fraction[2] || '0') >= '5') cents += 1n;
  return negative ? -cents : cents;
}

const DIGITS = '零壹贰叁肆伍陆柒捌玖';
const SMALL_UNITS = ['', '拾', '佰', '仟'];
const MAX_CENTS = 999999999999999999n;

function yuanCapitals(yuan) {
  const digits = yuan.toString().split('').reverse().map(Number);
  const parts = [];
  let zerosPending = false;
  const anyFrom = (start, end) => digits.slice(start, end).some((d) => d);
  for (let position = digits.length - 1; position >= 0; position -= 1) {
    const digit = digits[position];
    if (digit) {
      if (zerosPending) {
        parts.push('零');
        zerosPending = false;
      }
      parts.push(DIGITS[digit] + SMALL_UNITS[position % 4]);
    } else if (parts.length) {
      zerosPending = true;
    }
    if ((position === 4 || position === 12) && anyFrom(position, position + 4)) parts.push('万');
    else if (position === 8 && anyFrom(8)) parts.push('亿');
  }
  return parts.join('');
}

/** The financial capitals (大写) of an amount, as xietong.workflow.money writes them. */
export function toChineseUppercase(text) {
  let cents = typeof text === 'bigint' ? text : toCents(text);
  if (cents === null) return '';
  const negative = cents < 0n;
  if (negative) cents = -cents;
  if (cents > MAX_CENTS) return '';
  const yuan = cents / 100n;
  const jiao = Number((cents % 100n) / 10n);
  const fen = Number(cents % 10n);
  let result = yuan ? `${yuanCapitals(yuan)}元` : '';
  if (!jiao && !fen) result = `${result || '零元'}整`;
  else {
    if (jiao) result += `${DIGITS[jiao]}角`;
    else if (yuan) result += '零';
    if (fen) result += `${DIGITS[fen]}分`;
  }
  return (negative ? '负' : '') + result;
}

function formatNumber(number, decimals) {
  return number.toLocaleString('zh-CN', {
    minimumFractionDigits: decimals ?? 0,
    maximumFractionDigits: decimals ?? 6,
  });
}

function formatYuan(number) {
  const sign = number < 0 ? '-' : '';
  return `${sign}¥${formatNumber(Math.abs(number), 2)}`;
}

function roundTo(number, places) {
  const factor = 10 ** places;
  return Math.round((number + Math.sign(number) * Number.EPSILON) * factor) / factor;
}

// ------------------------------------------------------------------------------- formulas

// The formula language of xietong.workflow.formspec: numbers, field keys, + - * /, brackets,
// sum(table.column), round(x[, places]), min(…), max(…).
function tokenize(text) {
  const tokens = [];
  const pattern = /\s*(?:(\d+(?:\.\d+)?|\.\d+)|([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)|(.))/gy;
  let match;
  while (pattern.lastIndex < text.length && (match = pattern.exec(text)) !== null) {
    if (match[1] !== undefined) tokens.push({ kind: 'num', value: Number(match[1]) });
    else if (match[2] !== undefined) tokens.push({ kind: 'name', value: match[2] });
    else if (match[3] !== undefined && match[3].trim()) tokens.push({ kind: 'op', value: match[3] });
  }
  return tokens;
}

function parseFormula(text) {
  const tokens = tokenize(text);
  let at = 0;
  const peek = () => tokens[at];
  const take = (value) => {
    const token = tokens[at];
    if (value !== undefined && (!token || token.value !== value)) throw new Error('syntax');
    at += 1;
    return token;
  };
  function primary() {
    const token = take();
    if (!token) throw new Error('syntax');
    if (token.kind === 'num') return { type: 'lit', value: token.value };
    if (token.kind === 'op' && token.value === '(') {
      const node = expression();
      take(')');
      return node;
    }
    if (token.kind === 'op' && (token.value === '-' || token.value === '+')) {
      const operand = primary();
      return token.value === '-' ? { type: 'neg', operand } : operand;
    }
    if (token.kind === 'name') {
      if (peek() && peek().value === '(') {
        take('(');
        const args = [];
        if (!(peek() && peek().value === ')')) {
          args.push(token.value === 'sum' ? { type: 'col', path: take().value } : expression());
          while (peek() && peek().value === ',') {
            take(',');
            args.push(expression());
          }
        }
        take(')');
        return { type: 'call', name: token.value, args };
      }
      return { type: 'ref', key: token.value };
    }
    throw new Error('syntax');
  }
  function term() {
    let node = primary();
    while (peek() && (peek().value === '*' || peek().value === '/')) {
      const op = take().value;
      node = { type: 'bin', op, left: node, right: primary() };
    }
    return node;
  }
  function expression() {
    let node = term();
    while (peek() && (peek().value === '+' || peek().value === '-')) {
      const op = take().value;
      node = { type: 'bin', op, left: node, right: term() };
    }
    return node;
  }
  const tree = expression();
  if (at !== tokens.length) throw new Error('syntax');
  return tree;
}

function evaluate(node, env) {
  switch (node.type) {
    case 'lit':
      return node.value;
    case 'ref': {
      const value = env.lookup(node.key);
      if (value !== null) env.seen = true;
      return value;
    }
    case 'neg': {
      const value = evaluate(node.operand, env);
      return value === null ? null : -value;
    }
    case 'bin': {
      const left = evaluate(node.left, env);
      const right = evaluate(node.right, env);
      if (left === null && right === null) return null;
      const a = left ?? 0;
      const b = right ?? 0;
      if (node.op === '+') return a + b;
      if (node.op === '-') return a - b;
      if (node.op === '*') return a * b;
      if (b === 0) throw new Error('division by zero');
      return a / b;
    }
    case 'call': {
      if (node.name === 'sum') {
        const [table, column] = node.args[0].path.split('.');
        const numbers = env.column(table, column).filter((n) => n !== null);
        if (!numbers.length) return null;
        env.seen = true;
        return numbers.reduce((a, b) => a + b, 0);
      }
      if (node.name === 'round') {
        const value = evaluate(node.args[0], env);
        const places = node.args[1] ? evaluate(node.args[1], env) : 0;
        return value === null ? null : roundTo(value, places || 0);
      }
      const values = node.args.map((arg) => evaluate(arg, env)).filter((v) => v !== null);
      if (!values.length) return null;
      return node.name === 'min' ? Math.min(...values) : Math.max(...values);
    }
    default:
      throw new Error('syntax');
  }
}

// ------------------------------------------------------------------------------- reading values

function rangeDays(box) {
  const [start, end] = box.querySelectorAll('input[type=date]');
  if (!start || !end || !start.value || !end.value) return null;
  const days = Math.round((Date.parse(end.value) - Date.parse(start.value)) / 86400000) + 1;
  return days > 0 ? days : null;
}

/** The number an element holds: an input, a formula output, a date range or a read-only value. */
function numberOf(element) {
  if (!element) return null;
  if (element.matches('[data-wf-range]')) return rangeDays(element);
  if (element.matches('output, .wf-readonly')) return parseNumber(element.dataset.wfNumber);
  return parseNumber(element.value);
}

function topLevel(form, key) {
  return [...form.querySelectorAll(`[data-wf-key="${key}"]`)].find((el) => !el.closest('[data-wf-row]'));
}

function columnNumbers(form, table, column) {
  const wrap = form.querySelector(`[data-wf-table="${table}"]`);
  if (!wrap) return [];
  return [...wrap.querySelectorAll('tbody [data-wf-row]')].map((row) =>
    numberOf(row.querySelector(`[data-wf-col="${column}"]`)),
  );
}

// ------------------------------------------------------------------------------- live updates

const formulas = new Map();

function compute(form) {
  const outputs = [...form.querySelectorAll('output[data-wf-formula]')].filter((o) => !o.closest('template'));
  // Formulas may use each other: a few passes settle every chain the designer allows.
  for (let pass = 0; pass < Math.min(outputs.length, 8) + 1; pass += 1) {
    let changed = false;
    outputs.forEach((output) => {
      const source = output.dataset.wfFormula;
      if (!formulas.has(source)) {
        try {
          formulas.set(source, parseFormula(source));
        } catch {
          formulas.set(source, null);
        }
      }
      const tree = formulas.get(source);
      const row = output.closest('[data-wf-row]');
      const env = {
        seen: false,
        lookup: (key) => numberOf(row ? row.querySelector(`[data-wf-col="${key}"]`) : topLevel(form, key)),
        column: (table, column) => columnNumbers(form, table, column),
      };
      let value = null;
      if (tree) {
        try {
          value = evaluate(tree, env);
          if (!env.seen) value = null;
        } catch {
          value = null;
        }
      }
      const decimals = Number(output.dataset.wfDecimals || 2);
      if (value !== null) value = roundTo(value, decimals);
      const text = value === null ? '' : String(value.toFixed(decimals));
      if (output.dataset.wfNumber !== text) {
        output.dataset.wfNumber = text;
        changed = true;
      }
      const unit = output.dataset.wfUnit ? ` ${output.dataset.wfUnit}` : '';
      output.textContent =
        value === null ? '—' : output.dataset.wfFormat === 'money' ? formatYuan(value) : formatNumber(value, decimals) + unit;
      const upper = form.querySelector(`[data-wf-uppercase-of="${output.id}"]`);
      if (upper) upper.textContent = value === null ? '' : t('大写：') + toChineseUppercase(text);
    });
    if (!changed) break;
  }
}

function updateUppercase(input) {
  const box = input.closest('form')?.querySelector(`[data-wf-uppercase-of="${input.id}"]`);
  if (!box) return;
  const text = input.value.trim();
  if (!text) {
    box.textContent = '';
    box.classList.remove('text-danger');
    return;
  }
  const capitals = toChineseUppercase(text);
  box.textContent = capitals ? t('大写：') + capitals : t('请输入有效的金额');
  box.classList.toggle('text-danger', !capitals);
}

function updateSums(form) {
  form.querySelectorAll('[data-wf-table]').forEach((wrap) => {
    const table = wrap.dataset.wfTable;
    wrap.querySelectorAll('[data-wf-sum]').forEach((cell) => {
      const numbers = columnNumbers(form, table, cell.dataset.wfSum).filter((n) => n !== null);
      if (!numbers.length) {
        cell.textContent = '';
        return;
      }
      const total = numbers.reduce((a, b) => a + b, 0);
      const format = cell.dataset.wfFormat;
      if (format === 'money' || format === 'computed-money') cell.textContent = formatYuan(total);
      else if (format === 'daterange') cell.textContent = interpolate(t('共 %(days)s 天'), { days: total });
      else cell.textContent = formatNumber(roundTo(total, 6));
    });
    wrap.querySelectorAll('tbody [data-wf-row]').forEach((row, index) => {
      const cell = row.querySelector('.wf-rowno');
      if (cell) cell.textContent = String(index + 1);
    });
  });
}

function updateRanges(form) {
  form.querySelectorAll('[data-wf-range]').forEach((box) => {
    const label = box.querySelector('[data-wf-days]');
    if (!label) return;
    const days = rangeDays(box);
    const [start, end] = box.querySelectorAll('input[type=date]');
    if (start && end && start.value && end.value && days === null) {
      label.textContent = t('结束日期不能早于开始日期');
      label.classList.add('text-danger');
    } else {
      label.textContent = days ? interpolate(t('共 %(days)s 天'), { days }) : '';
      label.classList.remove('text-danger');
    }
  });
}

function refresh(form) {
  updateRanges(form);
  compute(form);
  updateSums(form);
  compute(form); // formulas over column sums
}

function routeChanged(form) {
  if (window.htmx) window.htmx.trigger(form, 'wf-route');
}

// ------------------------------------------------------------------------------- detail tables

function addRow(wrap) {
  const body = wrap.querySelector('tbody');
  const max = Number(wrap.dataset.maxRows || 0);
  if (max && body.querySelectorAll('[data-wf-row]').length >= max) {
    window.alert(interpolate(t('最多 %(max)s 行'), { max }));
    return;
  }
  const used = [...body.querySelectorAll('[data-wf-row]')].map((row) => Number(row.dataset.wfRow) || 0);
  const next = used.length ? Math.max(...used) + 1 : 0;
  const template = wrap.querySelector('template[data-wf-row-template]');
  const html = template.innerHTML.replaceAll('__ROW__', String(next));
  body.insertAdjacentHTML('beforeend', html);
  body.lastElementChild?.querySelector('input, select, textarea')?.focus();
}

function removeRow(button) {
  const row = button.closest('[data-wf-row]');
  const body = row.parentElement;
  if (body.querySelectorAll('[data-wf-row]').length > 1) row.remove();
  else
    row.querySelectorAll('input:not([type=hidden]), select, textarea').forEach((input) => {
      if (input.type === 'checkbox') input.checked = false;
      else input.value = '';
    });
}

// ------------------------------------------------------------------------------- pickers

function pickerUrl(picker) {
  const fields = picker.closest('form')?.querySelector('[data-wf-fields]');
  const base = picker.dataset.wfPicker === 'unit' ? fields?.dataset.unitsUrl : fields?.dataset.peopleUrl;
  return base || '';
}

function chip(picker, item) {
  const span = document.createElement('span');
  span.className = 'wf-chip';
  span.dataset.value = item.id;
  const icon = document.createElement('i');
  icon.className = `bi bi-${picker.dataset.wfPicker === 'unit' ? 'diagram-3' : 'person'}`;
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.dataset.wfRemove = '';
  remove.setAttribute('aria-label', `${t('移除')} ${item.label}`);
  remove.innerHTML = '<i class="bi bi-x-lg"></i>';
  const hidden = document.createElement('input');
  hidden.type = 'hidden';
  hidden.name = picker.dataset.name;
  hidden.value = item.id;
  span.append(icon, document.createTextNode(item.label), remove, hidden);
  return span;
}

function choose(picker, item) {
  const chips = picker.querySelector('.wf-chips');
  const input = picker.querySelector('.wf-picker-input');
  const max = Number(picker.dataset.max || 1);
  if (![...chips.querySelectorAll('.wf-chip')].some((c) => c.dataset.value === item.id)) {
    if (max === 1) chips.querySelectorAll('.wf-chip').forEach((c) => c.remove());
    if (chips.querySelectorAll('.wf-chip').length >= max) {
      window.alert(interpolate(t('最多选择 %(max)s 个'), { max }));
      return;
    }
    chips.insertBefore(chip(picker, item), input);
  }
  input.value = '';
  closeResults(picker);
  input.focus();
  picker.dispatchEvent(new Event('change', { bubbles: true }));
}

function closeResults(picker) {
  const list = picker.querySelector('.wf-results');
  list.hidden = true;
  list.replaceChildren();
  picker.querySelector('.wf-picker-input')?.setAttribute('aria-expanded', 'false');
}

const timers = new WeakMap();

function search(input) {
  const picker = input.closest('[data-wf-picker]');
  clearTimeout(timers.get(picker));
  const text = input.value.trim();
  if (!text) {
    closeResults(picker);
    return;
  }
  timers.set(
    picker,
    setTimeout(async () => {
      const params = new URLSearchParams({ q: text });
      if (picker.dataset.flow) params.set('flow', picker.dataset.flow);
      if (picker.dataset.node) params.set('node', picker.dataset.node);
      const response = await fetch(`${pickerUrl(picker)}?${params}`, {
        headers: { Accept: 'application/json' },
        credentials: 'same-origin',
      });
      if (!response.ok || input.value.trim() !== text) return;
      const data = await response.json();
      const list = picker.querySelector('.wf-results');
      list.replaceChildren();
      data.results.forEach((item, index) => {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = `list-group-item list-group-item-action${index === 0 ? ' active' : ''}`;
        button.setAttribute('role', 'option');
        button.dataset.id = item.id;
        const label = document.createElement('span');
        label.textContent = item.label;
        const detail = document.createElement('span');
        detail.className = 'small text-secondary ms-auto';
        detail.textContent = item.detail || '';
        button.append(label, detail);
        button.addEventListener('click', () => choose(picker, item));
        list.append(button);
      });
      if (!data.results.length) {
        const empty = document.createElement('div');
        empty.className = 'list-group-item small text-secondary';
        empty.textContent = t('没有找到匹配的结果');
        list.append(empty);
      }
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
    }, 200),
  );
}

function moveActive(picker, step) {
  const options = [...picker.querySelectorAll('.wf-results [role=option]')];
  if (!options.length) return;
  const current = options.findIndex((o) => o.classList.contains('active'));
  options.forEach((o) => o.classList.remove('active'));
  options[(current + step + options.length) % options.length].classList.add('active');
}

// ------------------------------------------------------------------------------- uploads

function csrfToken(form) {
  return form.querySelector('input[name=csrfmiddlewaretoken]')?.value || '';
}

async function uploadFiles(input) {
  const box = input.closest('[data-wf-files]');
  const form = input.closest('form');
  const url = form.querySelector('[data-wf-fields]')?.dataset.uploadUrl;
  const list = box.querySelector('.wf-file-list');
  const max = Number(box.dataset.max || 10);
  box.querySelector('.wf-upload-error')?.remove();
  const problems = [];
  for (const file of [...input.files]) {
    if (list.querySelectorAll('li[data-value]').length >= max) {
      problems.push(interpolate(t('最多上传 %(max)s 个文件'), { max }));
      break;
    }
    const pending = document.createElement('li');
    pending.className = 'text-secondary';
    pending.innerHTML = '<span class="spinner-border spinner-border-sm"></span>';
    pending.append(document.createTextNode(` ${file.name}`));
    list.append(pending);
    const body = new FormData();
    body.append('file', file);
    const level = form.querySelector('[name=level]');
    if (level) body.append('level', level.value);
    try {
      const response = await fetch(url, {
        method: 'POST',
        body,
        credentials: 'same-origin',
        headers: { 'X-CSRFToken': csrfToken(form), Accept: 'application/json' },
      });
      const data = await response.json();
      pending.remove();
      if (!response.ok) {
        problems.push(`${file.name}：${data.error || t('上传失败')}`);
        continue;
      }
      const item = document.createElement('li');
      item.dataset.value = data.key;
      const icon = document.createElement('i');
      icon.className = 'bi bi-paperclip';
      const name = document.createElement('span');
      name.className = 'text-break';
      name.textContent = data.name;
      const size = document.createElement('span');
      size.className = 'small text-secondary';
      size.textContent = data.size;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'btn btn-link btn-sm text-danger ms-auto p-0';
      remove.dataset.wfRemove = '';
      remove.textContent = t('移除');
      const hidden = document.createElement('input');
      hidden.type = 'hidden';
      hidden.name = box.dataset.name;
      hidden.value = data.key;
      item.append(icon, name, size, remove, hidden);
      list.append(item);
    } catch {
      pending.remove();
      problems.push(`${file.name}：${t('上传失败，请检查网络后重试')}`);
    }
  }
  input.value = '';
  if (problems.length) {
    const note = document.createElement('div');
    note.className = 'invalid-feedback d-block wf-upload-error';
    note.textContent = problems.join('；');
    box.append(note);
  }
}

// ------------------------------------------------------------------------------- wiring

function wire(form) {
  form.addEventListener('input', (event) => {
    const target = event.target;
    if (target.matches('.wf-picker-input')) {
      search(target);
      return;
    }
    if (target.matches('[data-wf-money]')) updateUppercase(target);
    refresh(form);
  });
  form.addEventListener('change', (event) => {
    const target = event.target;
    if (target.matches('[data-wf-upload]')) {
      uploadFiles(target).then(() => routeChanged(form));
      return;
    }
    if (target.matches('.wf-picker-input')) return;
    refresh(form);
    routeChanged(form);
  });
  form.addEventListener('keydown', (event) => {
    const target = event.target;
    if (!target.matches('.wf-picker-input')) return;
    const picker = target.closest('[data-wf-picker]');
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      moveActive(picker, event.key === 'ArrowDown' ? 1 : -1);
    } else if (event.key === 'Enter') {
      event.preventDefault();
      picker.querySelector('.wf-results .active')?.click();
    } else if (event.key === 'Escape') {
      closeResults(picker);
    } else if (event.key === 'Backspace' && !target.value) {
      const chips = picker.querySelectorAll('.wf-chip');
      if (chips.length) {
        chips[chips.length - 1].remove();
        picker.dispatchEvent(new Event('change', { bubbles: true }));
      }
    }
  });
  form.addEventListener('click', (event) => {
    const target = event.target.closest('button');
    if (!target) return;
    if (target.matches('[data-wf-add-row]')) {
      addRow(target.closest('[data-wf-table]'));
      refresh(form);
    } else if (target.matches('[data-wf-remove-row]')) {
      removeRow(target);
      refresh(form);
      routeChanged(form);
    } else if (target.matches('[data-wf-remove]')) {
      const item = target.closest('.wf-chip, li[data-value]');
      const owner = target.closest('[data-wf-picker], [data-wf-files]');
      item?.remove();
      owner?.dispatchEvent(new Event('change', { bubbles: true }));
    }
  });
  document.addEventListener('click', (event) => {
    document.querySelectorAll('[data-wf-picker]').forEach((picker) => {
      if (!picker.contains(event.target)) closeResults(picker);
    });
  });
  form.addEventListener('submit', (event) => {
    const submitter = event.submitter;
    if (form.dataset.submitting) {
      event.preventDefault();
      return;
    }
    form.dataset.submitting = '1';
    if (submitter && submitter.name) {
      const hidden = document.createElement('input');
      hidden.type = 'hidden';
      hidden.name = submitter.name;
      hidden.value = submitter.value;
      form.append(hidden);
    }
    setTimeout(() => {
      form.querySelectorAll('button[type=submit]').forEach((button) => {
        button.disabled = true;
      });
    }, 0);
  });
  form.querySelectorAll('[data-wf-money]').forEach(updateUppercase);
  refresh(form);
}

function start() {
  document.querySelectorAll('form[data-wf-form], form:has([data-wf-fields])').forEach((form) => {
    if (form.dataset.wfWired) return;
    form.dataset.wfWired = '1';
    wire(form);
  });
  document.querySelectorAll('form[data-wf-confirm]').forEach((form) => {
    form.addEventListener('submit', (event) => {
      if (!window.confirm(form.dataset.wfConfirm)) event.preventDefault();
    });
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
