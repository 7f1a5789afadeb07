// The flow designer: the form of a flow (palette, fields, properties, live preview) and its
// route drawn as a tree of node cards from 发起人 to 结束, as DingTalk and Feishu draw it.
// The page renders one JSON blob (#designer-data: form, flow, names, catalogue, problems, urls);
// everything is edited in memory and posted whole to the server, which checks it and answers
// with the problems, each tied to the field, node or branch it concerns.
import './flow-designer.css';
import { showToast } from './toast.js';

const t = (text) => (window.gettext ? window.gettext(text) : text);
const fmt = (text, values) => text.replace(/%\((\w+)\)s/g, (_m, key) => String(values[key] ?? ''));

// --------------------------------------------------------------------------- vocabulary

const APPROVER_LABELS = {
  users: t('指定成员'),
  role: t('角色'),
  position: t('岗位'),
  head: t('直属主管'),
  heads: t('逐级主管'),
  unit_head: t('部门负责人'),
  initiator_chooses: t('发起人自选'),
  form_field: t('表单中的成员或部门'),
  initiator: t('发起人本人'),
};
const MODE_LABELS = {
  sequential: t('依次审批（按顺序逐个处理）'),
  all: t('会签（须所有人同意）'),
  any: t('或签（一人同意即可）'),
};
const TIMEOUT_LABELS = {
  remind: t('提醒处理人'),
  escalate: t('上报上级主管'),
  approve: t('自动同意'),
  reject: t('自动拒绝'),
};
const ACTION_LABELS = { approve: t('同意'), reject: t('拒绝'), return: t('退回'), transfer: t('转交'), submit: t('提交') };
const PERMISSION_LABELS = { hidden: t('隐藏'), readonly: t('只读'), editable: t('可编辑'), required: t('必填') };
const SETTING_LABELS = {
  on_empty: [t('审批人为空时'), { skip: t('自动跳过'), admin: t('转交流程管理员') }],
  dedup: [t('审批人去重'), { none: t('不去重'), consecutive: t('同一人连续审批时只审批一次') }],
  self_approve: [t('审批人是发起人本人时'), { auto: t('自动同意'), require: t('仍需本人审批') }],
  return_resume: [t('被退回后重新提交时'), { restart: t('从第一个节点重新审批'), direct: t('直接回到退回的节点') }],
  withdraw: [t('发起人撤回'), { strict: t('仅在无人处理前可撤回'), lenient: t('审批结束前均可撤回') }],
  on_timeout: [t('超时处理'), TIMEOUT_LABELS],
  time_basis: [t('办理时限计算方式'), { calendar: t('自然时间（含夜间和节假日）'), working: t('工作时间（按节假日安排）') }],
};
const INITIATOR_LABELS = { everyone: t('所有人'), unit: t('部门'), role: t('角色'), user: t('指定成员'), position: t('岗位') };
const NODE_META = {
  approval: { label: t('审批人'), icon: 'person-check', tone: 'approval' },
  handle: { label: t('办理人'), icon: 'person-gear', tone: 'handle' },
  cc: { label: t('抄送人'), icon: 'send', tone: 'cc' },
  condition: { label: t('条件分支'), icon: 'signpost-split', tone: 'condition' },
  parallel: { label: t('并行分支'), icon: 'diagram-3', tone: 'parallel' },
};
const OP_LABELS = {
  '==': t('等于'),
  '!=': t('不等于'),
  '>': t('大于'),
  '>=': t('大于等于'),
  '<': t('小于'),
  '<=': t('小于等于'),
  in: t('属于'),
  not_in: t('不属于'),
  contains: t('包含'),
  between: t('介于'),
  empty: t('为空'),
  not_empty: t('不为空'),
};
const CMP = ['==', '!=', '>', '>=', '<', '<='];
const OPS_BY_KIND = {
  number: [...CMP, 'between', 'in', 'not_in', 'empty', 'not_empty'],
  date: [...CMP, 'between', 'empty', 'not_empty'],
  choice: ['==', '!=', 'in', 'not_in', 'empty', 'not_empty'],
  many: ['contains', 'empty', 'not_empty'],
  presence: ['empty', 'not_empty'],
  total: [...CMP, 'between'],
  subject: ['in', 'not_in'],
};
const NUMERIC = ['number', 'money', 'computed'];
const SUBJECTS = { initiator_unit: t('发起人所在部门'), initiator_role: t('发起人角色'), initiator_position: t('发起人岗位') };

// --------------------------------------------------------------------------- state

const root = document.getElementById('flow-designer');
const data = root ? JSON.parse(document.getElementById('designer-data').textContent) : null;
const S = data && {
  form: data.form && Array.isArray(data.form.fields) ? data.form : { fields: [] },
  flow: data.flow || {},
  readonly: !!data.readonly,
  names: { users: data.names.users || {}, units: data.names.units || {} },
  cat: data.catalogue,
  urls: data.urls,
  problems: data.problems || [],
  tab: 'form',
  field: null, // { key, column? }
  pick: null, // { kind: 'start' | 'node' | 'branch', id }
  dirty: false,
  busy: false,
};
if (S) {
  if (!Array.isArray(S.flow.nodes)) S.flow.nodes = [];
  if (!Array.isArray(S.flow.initiators)) S.flow.initiators = [{ kind: 'everyone' }];
  if (!S.flow.settings || typeof S.flow.settings !== 'object') S.flow.settings = {};
}

// --------------------------------------------------------------------------- DOM helpers

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}
const icon = (name, extra = '') => h('i', { class: `bi bi-${name}${extra ? ` ${extra}` : ''}`, 'aria-hidden': 'true' });

let idSeq = 0;
function allIds() {
  const ids = new Set();
  const walk = (nodes) =>
    (nodes || []).forEach((node) => {
      ids.add(node.id);
      (node.branches || []).forEach((branch) => {
        ids.add(branch.id);
        walk(branch.nodes);
      });
    });
  walk(S.flow.nodes);
  return ids;
}
function newId(prefix) {
  const taken = allIds();
  let id;
  do {
    idSeq += 1;
    id = `${prefix}${Date.now().toString(36).slice(-4)}${idSeq.toString(36)}`;
  } while (taken.has(id));
  return id;
}

function changed() {
  S.dirty = true;
  const status = document.getElementById('fd-status');
  if (status) status.textContent = t('有未保存的修改');
}

// --------------------------------------------------------------------------- the tree

// Where a node or branch is: { item, list, index, parent (branch node), isBranch }.
function locate(id, nodes = S.flow.nodes, parent = null) {
  for (let index = 0; index < nodes.length; index += 1) {
    const node = nodes[index];
    if (node.id === id) return { item: node, list: nodes, index, parent, isBranch: false };
    for (let b = 0; b < (node.branches || []).length; b += 1) {
      const branch = node.branches[b];
      if (branch.id === id) return { item: branch, list: node.branches, index: b, parent: node, isBranch: true };
      const found = locate(id, branch.nodes || [], node);
      if (found) return found;
    }
  }
  return null;
}

function topFields() {
  return S.form.fields;
}
function fieldLabel(key) {
  const [head, column] = key.split('.');
  const field = topFields().find((f) => f.key === head);
  if (!field) return key;
  if (!column) return field.label;
  const col = (field.columns || []).find((c) => c.key === column);
  return `${field.label}·${col ? col.label : column}`;
}

// Default branch last, the others numbered 1…n in the order shown: the priority is the order.
function normalise(flow) {
  const walk = (nodes) =>
    (nodes || []).forEach((node) => {
      if (node.type === 'condition' && Array.isArray(node.branches)) {
        const defaults = node.branches.filter((b) => b.default);
        const others = node.branches.filter((b) => !b.default);
        others.forEach((branch, i) => {
          branch.priority = i + 1;
        });
        defaults.forEach((branch) => delete branch.priority);
        node.branches = [...others, ...defaults];
      }
      (node.branches || []).forEach((branch) => walk(branch.nodes));
    });
  walk(flow.nodes);
  return flow;
}

// --------------------------------------------------------------------------- describing

function userNames(ids) {
  return (ids || []).map((id) => S.names.users[id] || fmt(t('成员 %(id)s'), { id })).join('、');
}
function describeSpec(spec) {
  if (!spec || !spec.kind) return t('未设置');
  switch (spec.kind) {
    case 'users':
      return spec.ids && spec.ids.length ? userNames(spec.ids) : t('请选择成员');
    case 'role': {
      const role = S.cat.roles.find((r) => r.code === spec.code);
      return role ? fmt(t('角色：%(name)s'), { name: role.name }) : t('请选择角色');
    }
    case 'position': {
      const position = S.cat.positions.find((p) => p.id === spec.id);
      return position ? fmt(t('岗位：%(name)s'), { name: position.name }) : t('请选择岗位');
    }
    case 'head':
      return spec.level === 1 ? t('直属主管') : fmt(t('第 %(n)s 级主管'), { n: spec.level });
    case 'heads':
      return fmt(t('逐级主管，直到第 %(n)s 级'), { n: spec.up_to });
    case 'unit_head':
      return spec.unit_id ? fmt(t('%(unit)s负责人'), { unit: S.names.units[spec.unit_id] || spec.unit_id }) : t('请选择部门');
    case 'initiator_chooses':
      return spec.among ? fmt(t('发起人自选（范围：%(among)s）'), { among: describeSpec(spec.among) }) : t('发起人自选');
    case 'form_field':
      return spec.field ? fmt(t('表单字段「%(label)s」'), { label: fieldLabel(spec.field) }) : t('请选择表单字段');
    case 'initiator':
      return t('发起人本人');
    default:
      return spec.kind;
  }
}
function describeLeaf(leaf) {
  const who = leaf.subject ? SUBJECTS[leaf.subject] : `${fieldLabel(leaf.field || '')}${leaf.agg === 'sum' ? t('合计') : ''}`;
  const op = OP_LABELS[leaf.op] || leaf.op;
  let value = leaf.value;
  if (leaf.subject === 'initiator_unit') value = (value || []).map((id) => S.names.units[id] || id);
  if (leaf.subject === 'initiator_role') value = (value || []).map((code) => (S.cat.roles.find((r) => r.code === code) || {}).name || code);
  if (leaf.subject === 'initiator_position') value = (value || []).map((id) => (S.cat.positions.find((p) => p.id === id) || {}).name || id);
  if (leaf.op === 'between' && Array.isArray(value)) return `${who} ${op} ${value[0]} ~ ${value[1]}`;
  if (leaf.op === 'empty' || leaf.op === 'not_empty') return `${who}${op}`;
  return `${who} ${op} ${Array.isArray(value) ? value.join('、') : value ?? ''}`;
}
function describeCondition(condition) {
  if (!condition) return t('请设置条件');
  const group = condition.all ? 'all' : condition.any ? 'any' : null;
  if (!group) return describeLeaf(condition);
  if (!condition[group].length) return t('请设置条件');
  return condition[group].map((leaf) => describeLeaf(leaf)).join(group === 'all' ? t('，且 ') : t('，或 '));
}
function describeInitiators(rules) {
  return (rules || [])
    .map((rule) => {
      if (rule.kind === 'everyone') return t('所有人');
      if (rule.kind === 'unit') return (S.names.units[rule.id] || t('未选部门')) + (rule.subtree === false ? '' : t('（含下级）'));
      if (rule.kind === 'user') return S.names.users[rule.id] || t('未选成员');
      if (rule.kind === 'role') return (S.cat.roles.find((r) => r.code === rule.code) || {}).name || t('未选角色');
      if (rule.kind === 'position') return (S.cat.positions.find((p) => p.id === rule.id) || {}).name || t('未选岗位');
      return rule.kind;
    })
    .join('、');
}

// --------------------------------------------------------------------------- problems

function problemsOf(scope, target) {
  return S.problems.filter((p) => p.scope === scope && p.target === target);
}
function renderProblems() {
  const box = document.getElementById('fd-problems');
  box.replaceChildren();
  if (!S.problems.length) return;
  const list = h('ul', { class: 'mb-0 ps-3' });
  S.problems.forEach((problem) => {
    const jump = problem.target
      ? h('a', {
          href: '#',
          class: 'link-danger',
          onclick: (event) => {
            event.preventDefault();
            if (problem.scope === 'form') {
              S.tab = 'form';
              S.field = { key: problem.target };
            } else {
              S.tab = 'flow';
              S.pick = problem.target === '__start__' ? { kind: 'start' } : { kind: 'item', id: problem.target };
            }
            render();
          },
          text: problem.message,
        })
      : problem.message;
    list.append(h('li', {}, h('span', { class: 'badge text-bg-light me-1' }, problem.scope === 'form' ? t('表单') : t('流程')), jump));
  });
  box.append(
    h(
      'div',
      { class: 'alert alert-warning xt-fd-problem-box', role: 'alert', id: 'fd-problem-list' },
      icon('exclamation-triangle-fill'),
      h('div', { class: 'flex-grow-1' }, h('div', { class: 'fw-semibold mb-1' }, fmt(t('发现 %(n)s 个问题，修改后才能发布：'), { n: S.problems.length })), list),
    ),
  );
}
function problemNote(scope, target) {
  const found = problemsOf(scope, target);
  if (!found.length) return null;
  return h('div', { class: 'alert alert-danger py-2 small xt-fd-panel-problems' }, found.map((p) => h('div', {}, icon('exclamation-circle', 'me-1'), p.message)));
}

// --------------------------------------------------------------------------- small form controls

function group(label, control, help) {
  const id = control.id || `fd-${Math.random().toString(36).slice(2, 9)}`;
  if (!control.id && ['INPUT', 'SELECT', 'TEXTAREA'].includes(control.tagName)) control.id = id;
  return h('div', { class: 'mb-3' }, h('label', { class: 'form-label small fw-semibold', for: control.id || null }, label), control, help ? h('div', { class: 'form-text' }, help) : null);
}
function textInput(obj, name, { placeholder = '', max = 200, after, multiline = false, id } = {}) {
  const el = h(multiline ? 'textarea' : 'input', {
    class: 'form-control form-control-sm',
    type: multiline ? null : 'text',
    rows: multiline ? 3 : null,
    maxlength: max,
    placeholder,
    id,
    'data-prop': name,
  });
  el.value = obj[name] ?? '';
  el.addEventListener('input', () => {
    const value = el.value;
    if (value === '') delete obj[name];
    else obj[name] = value;
    changed();
    if (after) after();
  });
  return el;
}
function numberInput(obj, name, { integer = true, min, max, placeholder = '', after, asString = false } = {}) {
  const el = h('input', { class: 'form-control form-control-sm', type: 'number', step: integer ? '1' : 'any', min, max, placeholder, 'data-prop': name });
  el.value = obj[name] ?? '';
  el.addEventListener('input', () => {
    if (el.value === '') delete obj[name];
    else obj[name] = asString ? el.value : integer ? parseInt(el.value, 10) : Number(el.value);
    changed();
    if (after) after();
  });
  return el;
}
function dateInput(obj, name, after) {
  const el = h('input', { class: 'form-control form-control-sm', type: 'date', 'data-prop': name });
  el.value = obj[name] ?? '';
  el.addEventListener('input', () => {
    if (el.value === '') delete obj[name];
    else obj[name] = el.value;
    changed();
    if (after) after();
  });
  return el;
}
function check(obj, name, label, after, { invert = false } = {}) {
  const id = `fd-${name}-${Math.random().toString(36).slice(2, 8)}`;
  const input = h('input', { class: 'form-check-input', type: 'checkbox', id, 'data-prop': name });
  input.checked = invert ? obj[name] === false : !!obj[name];
  input.addEventListener('change', () => {
    if (invert) {
      if (input.checked) obj[name] = false;
      else delete obj[name];
    } else if (input.checked) obj[name] = true;
    else delete obj[name];
    changed();
    if (after) after();
  });
  return h('div', { class: 'form-check mb-2' }, input, h('label', { class: 'form-check-label small', for: id }, label));
}
function select(choices, value, onChange, { blank = null, id } = {}) {
  const el = h('select', { class: 'form-select form-select-sm', id });
  if (blank !== null) el.append(h('option', { value: '' }, blank));
  choices.forEach(([key, label]) => el.append(h('option', { value: key }, label)));
  el.value = value ?? '';
  el.addEventListener('change', () => {
    onChange(el.value);
    changed();
  });
  return el;
}

// A search box for people or departments, with the chosen ones as chips.
function picker(kind, ids, onChange, { single = false } = {}) {
  const names = kind === 'unit' ? S.names.units : S.names.users;
  const chosen = [...(ids || [])];
  const wrap = h('div', { class: 'xt-fd-picker', 'data-picker': kind });
  const chips = h('div', { class: 'xt-fd-chips' });
  const input = h('input', { class: 'form-control form-control-sm', type: 'search', placeholder: kind === 'unit' ? t('搜索部门名称或拼音') : t('搜索姓名、拼音或工号'), autocomplete: 'off' });
  const menu = h('div', { class: 'list-group xt-fd-results' });
  const draw = () => {
    chips.replaceChildren(
      ...chosen.map((id) =>
        h(
          'span',
          { class: 'xt-fd-chip', dataset: { id: String(id) } },
          icon(kind === 'unit' ? 'diagram-3' : 'person'),
          names[id] || String(id),
          S.readonly
            ? null
            : h('button', {
                type: 'button',
                'aria-label': t('移除'),
                onclick: () => {
                  chosen.splice(chosen.indexOf(id), 1);
                  onChange([...chosen]);
                  changed();
                  draw();
                },
              }, icon('x')),
        ),
      ),
    );
  };
  let timer = null;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (!q) {
      menu.replaceChildren();
      return;
    }
    timer = setTimeout(async () => {
      const response = await fetch(`${S.urls.pick}?kind=${kind}&q=${encodeURIComponent(q)}`, { headers: { Accept: 'application/json' } });
      if (!response.ok) return;
      const { results } = await response.json();
      menu.replaceChildren(
        ...(results.length
          ? results.map((row) =>
              h(
                'button',
                {
                  type: 'button',
                  class: 'list-group-item list-group-item-action py-1 small',
                  onclick: () => {
                    names[row.id] = row.label;
                    if (single) chosen.splice(0, chosen.length);
                    if (!chosen.includes(row.id)) chosen.push(row.id);
                    onChange([...chosen]);
                    changed();
                    input.value = '';
                    menu.replaceChildren();
                    draw();
                  },
                },
                row.label,
                row.detail ? h('span', { class: 'text-secondary ms-2' }, row.detail) : null,
              ),
            )
          : [h('div', { class: 'list-group-item small text-secondary' }, t('没有找到'))]),
      );
    }, 200);
  });
  draw();
  wrap.append(chips, S.readonly ? null : input, menu);
  return wrap;
}

function checkList(choices, values, onChange, name) {
  const chosen = new Set(values || []);
  return h(
    'div',
    { class: 'xt-fd-checks' },
    choices.map(([value, label]) => {
      const id = `fd-${name}-${value}-${Math.random().toString(36).slice(2, 7)}`;
      const input = h('input', { class: 'form-check-input', type: 'checkbox', id });
      input.checked = chosen.has(value);
      input.addEventListener('change', () => {
        if (input.checked) chosen.add(value);
        else chosen.delete(value);
        onChange(choices.map(([v]) => v).filter((v) => chosen.has(v)));
        changed();
      });
      return h('div', { class: 'form-check form-check-inline' }, input, h('label', { class: 'form-check-label small', for: id }, label));
    }),
  );
}

// --------------------------------------------------------------------------- the form designer

const TYPE_LABEL = () => Object.fromEntries(S.cat.fieldTypes.map((f) => [f.type, f.label]));
const TYPE_ICON = () => Object.fromEntries(S.cat.fieldTypes.map((f) => [f.type, f.icon]));
const NOT_IN_TABLES = ['table', 'description'];

function newKey(type, taken) {
  const base = type.replace(/[^a-z]/g, '') || 'field';
  let n = 1;
  while (taken.has(`${base}_${n}`)) n += 1;
  return `${base}_${n}`;
}
function newField(type, taken) {
  const field = { key: newKey(type, taken), type, label: TYPE_LABEL()[type] || type };
  if (type === 'select' || type === 'multiselect') field.options = [t('选项1'), t('选项2')];
  if (type === 'computed') field.expression = '0';
  if (type === 'description') {
    field.label = t('说明');
    field.text = t('请在此填写给申请人的说明。');
  }
  if (type === 'table') {
    field.label = t('明细');
    field.columns = [
      { key: 'item', type: 'text', label: t('项目') },
      { key: 'amount', type: 'money', label: t('金额') },
    ];
    field.sum = ['amount'];
  }
  return field;
}
function addField(type) {
  const fields = topFields();
  const field = newField(type, new Set(fields.map((f) => f.key)));
  const at = S.field && !S.field.column ? fields.findIndex((f) => f.key === S.field.key) : -1;
  fields.splice(at >= 0 ? at + 1 : fields.length, 0, field);
  S.field = { key: field.key };
  changed();
  render();
}

// Renaming a key: conditions, field permissions and form_field approvers follow it.
function renameKey(oldKey, newKeyValue) {
  const fix = (key) => (key === oldKey ? newKeyValue : key.startsWith(`${oldKey}.`) ? newKeyValue + key.slice(oldKey.length) : key);
  const fixCondition = (c) => {
    if (!c || typeof c !== 'object') return;
    ['all', 'any'].forEach((g) => (c[g] || []).forEach(fixCondition));
    if (c.not) fixCondition(c.not);
    if (typeof c.field === 'string') c.field = fix(c.field);
  };
  const fixSpec = (spec) => {
    if (!spec) return;
    if (spec.kind === 'form_field' && typeof spec.field === 'string') spec.field = fix(spec.field);
    fixSpec(spec.among);
  };
  const walk = (nodes) =>
    (nodes || []).forEach((node) => {
      fixSpec(node.approvers);
      fixSpec(node.recipients);
      if (node.field_permissions && oldKey in node.field_permissions) {
        node.field_permissions[newKeyValue] = node.field_permissions[oldKey];
        delete node.field_permissions[oldKey];
      }
      (node.branches || []).forEach((branch) => {
        fixCondition(branch.condition);
        walk(branch.nodes);
      });
    });
  walk(S.flow.nodes);
}

function preview(field) {
  const ph = field.placeholder || '';
  switch (field.type) {
    case 'textarea':
      return h('textarea', { class: 'form-control form-control-sm', rows: 2, disabled: true, placeholder: ph || t('请输入') });
    case 'number':
    case 'money':
      return h('div', { class: 'input-group input-group-sm' }, field.type === 'money' ? h('span', { class: 'input-group-text' }, '¥') : null, h('input', { class: 'form-control', disabled: true, placeholder: ph || t('请输入数字') }), field.unit ? h('span', { class: 'input-group-text' }, field.unit) : null);
    case 'date':
      return h('input', { class: 'form-control form-control-sm', disabled: true, placeholder: t('年 / 月 / 日') });
    case 'daterange':
      return h('div', { class: 'input-group input-group-sm' }, h('input', { class: 'form-control', disabled: true, placeholder: t('开始日期') }), h('span', { class: 'input-group-text' }, '~'), h('input', { class: 'form-control', disabled: true, placeholder: t('结束日期') }));
    case 'select':
      return h('select', { class: 'form-select form-select-sm', disabled: true }, h('option', {}, (field.options || [])[0] || t('请选择')));
    case 'multiselect':
      return h('div', { class: 'small' }, (field.options || []).map((o) => h('span', { class: 'me-3' }, icon('square', 'me-1'), o)));
    case 'user':
    case 'unit':
      return h('div', { class: 'form-control form-control-sm text-secondary bg-body-tertiary' }, icon(field.type === 'user' ? 'person-plus' : 'diagram-3', 'me-1'), field.type === 'user' ? t('选择成员') : t('选择部门'));
    case 'attachments':
      return h('div', { class: 'form-control form-control-sm text-secondary bg-body-tertiary' }, icon('paperclip', 'me-1'), t('添加附件'));
    case 'computed':
      return h('div', { class: 'form-control form-control-sm text-secondary bg-body-tertiary' }, icon('calculator', 'me-1'), `= ${field.expression || ''}`);
    case 'description':
      return h('div', { class: 'small text-secondary xt-fd-desc' }, field.text || '');
    case 'table':
      return tablePreview(field);
    default:
      return h('input', { class: 'form-control form-control-sm', disabled: true, placeholder: ph || t('请输入') });
  }
}

function tablePreview(field) {
  const columns = field.columns || [];
  const head = h(
    'tr',
    {},
    columns.map((column) =>
      h(
        'th',
        {
          class: `xt-fd-col-head${S.field && S.field.key === field.key && S.field.column === column.key ? ' is-selected' : ''}`,
          dataset: { column: column.key },
          onclick: (event) => {
            event.stopPropagation();
            S.field = { key: field.key, column: column.key };
            render();
          },
        },
        column.label,
        column.required ? h('span', { class: 'text-danger' }, ' *') : null,
      ),
    ),
  );
  const sums = field.sum || [];
  const foot = sums.length ? h('tr', {}, columns.map((c) => h('td', { class: 'small text-secondary' }, sums.includes(c.key) ? t('合计') : ''))) : null;
  const adder = S.readonly
    ? null
    : h(
        'div',
        { class: 'dropdown d-inline-block mt-1' },
        h('button', { type: 'button', class: 'btn btn-link btn-sm p-0', 'data-bs-toggle': 'dropdown', onclick: (e) => e.stopPropagation() }, icon('plus-circle', 'me-1'), t('添加列')),
        h(
          'ul',
          { class: 'dropdown-menu' },
          S.cat.fieldTypes
            .filter((f) => !NOT_IN_TABLES.includes(f.type))
            .map((f) =>
              h('li', {}, h('button', {
                type: 'button',
                class: 'dropdown-item small',
                dataset: { addColumn: f.type },
                onclick: (event) => {
                  event.stopPropagation();
                  const column = newField(f.type, new Set(columns.map((c) => c.key)));
                  field.columns = [...columns, column];
                  S.field = { key: field.key, column: column.key };
                  changed();
                  render();
                },
              }, icon(f.icon, 'me-2'), f.label)),
            ),
        ),
      );
  return h('div', {}, h('div', { class: 'table-responsive' }, h('table', { class: 'table table-sm table-bordered mb-0 xt-fd-table' }, h('thead', {}, head), h('tbody', {}, h('tr', {}, columns.map(() => h('td', { class: 'text-secondary small' }, '…')))), foot ? h('tfoot', {}, foot) : null)), adder);
}

function moveItem(list, index, delta) {
  const target = index + delta;
  if (target < 0 || target >= list.length) return;
  const [item] = list.splice(index, 1);
  list.splice(target, 0, item);
  changed();
  render();
}

function fieldCard(field, index) {
  const fields = topFields();
  const selected = S.field && S.field.key === field.key && !S.field.column;
  const bad = problemsOf('form', field.key).length > 0;
  const actions = S.readonly
    ? null
    : h(
        'div',
        { class: 'xt-fd-field-actions' },
        h('button', { type: 'button', class: 'btn btn-sm btn-light', title: t('上移'), 'aria-label': t('上移'), disabled: index === 0, onclick: (e) => { e.stopPropagation(); moveItem(fields, index, -1); } }, icon('arrow-up')),
        h('button', { type: 'button', class: 'btn btn-sm btn-light', title: t('下移'), 'aria-label': t('下移'), disabled: index === fields.length - 1, onclick: (e) => { e.stopPropagation(); moveItem(fields, index, 1); } }, icon('arrow-down')),
        h('button', {
          type: 'button',
          class: 'btn btn-sm btn-light text-danger',
          title: t('删除'),
          'aria-label': t('删除'),
          onclick: (e) => {
            e.stopPropagation();
            fields.splice(index, 1);
            if (S.field && S.field.key === field.key) S.field = null;
            changed();
            render();
          },
        }, icon('trash')),
      );
  const card = h(
    'div',
    {
      class: `xt-fd-field${selected ? ' is-selected' : ''}${bad ? ' is-invalid' : ''}`,
      dataset: { key: field.key, type: field.type },
      tabindex: '0',
      draggable: S.readonly ? null : 'true',
      onclick: () => {
        S.field = { key: field.key };
        render();
      },
      onkeydown: (e) => {
        if (e.key === 'Enter' && e.target === e.currentTarget) {
          S.field = { key: field.key };
          render();
        }
      },
    },
    h('div', { class: 'xt-fd-field-head' }, h('span', { class: 'xt-fd-field-label' }, field.required ? h('span', { class: 'text-danger me-1' }, '*') : null, field.label || t('（未命名）')), h('span', { class: 'xt-fd-type' }, icon(TYPE_ICON()[field.type] || 'square', 'me-1'), TYPE_LABEL()[field.type] || field.type), actions),
    preview(field),
    field.help ? h('div', { class: 'form-text' }, field.help) : null,
  );
  if (!S.readonly) {
    card.addEventListener('dragstart', (e) => {
      e.dataTransfer.setData('text/x-field', String(index));
      card.classList.add('is-dragging');
    });
    card.addEventListener('dragend', () => card.classList.remove('is-dragging'));
    card.addEventListener('dragover', (e) => {
      if (e.dataTransfer.types.includes('text/x-field') || e.dataTransfer.types.includes('text/x-type')) {
        e.preventDefault();
        card.classList.add('is-drop');
      }
    });
    card.addEventListener('dragleave', () => card.classList.remove('is-drop'));
    card.addEventListener('drop', (e) => {
      e.preventDefault();
      card.classList.remove('is-drop');
      const from = e.dataTransfer.getData('text/x-field');
      const type = e.dataTransfer.getData('text/x-type');
      if (from !== '') {
        const [moved] = fields.splice(Number(from), 1);
        const to = fields.indexOf(field);
        fields.splice(to < 0 ? fields.length : to, 0, moved);
        changed();
        render();
      } else if (type) {
        const created = newField(type, new Set(fields.map((f) => f.key)));
        fields.splice(fields.indexOf(field), 0, created);
        S.field = { key: created.key };
        changed();
        render();
      }
    });
  }
  return card;
}

function renderFormTab() {
  const palette = S.readonly
    ? null
    : h(
        'aside',
        { class: 'xt-fd-palette', 'aria-label': t('字段类型') },
        h('div', { class: 'xt-fd-pane-title' }, t('字段类型')),
        h('div', { class: 'small text-secondary mb-2' }, t('点击或拖入表单')),
        h(
          'div',
          { class: 'xt-fd-palette-grid' },
          S.cat.fieldTypes.map((f) => {
            const button = h('button', { type: 'button', class: 'xt-fd-palette-item', draggable: 'true', dataset: { addField: f.type }, onclick: () => addField(f.type) }, icon(f.icon), h('span', {}, f.label));
            button.addEventListener('dragstart', (e) => e.dataTransfer.setData('text/x-type', f.type));
            return button;
          }),
        ),
      );
  const fields = topFields();
  const canvas = h(
    'section',
    { class: 'xt-fd-canvas xt-fd-form-canvas', 'aria-label': t('表单预览') },
    h(
      'div',
      { class: 'xt-fd-sheet' },
      h('div', { class: 'xt-fd-sheet-title' }, document.getElementById('flow-designer').dataset.flowName || ''),
      fields.length ? fields.map((field, index) => fieldCard(field, index)) : h('div', { class: 'xt-empty py-5' }, icon('ui-checks-grid'), t('从左侧添加字段，申请人发起时填写')),
    ),
  );
  if (!S.readonly) {
    canvas.addEventListener('dragover', (e) => e.preventDefault());
    canvas.addEventListener('drop', (e) => {
      const type = e.dataTransfer.getData('text/x-type');
      if (type && !e.defaultPrevented) addField(type);
    });
  }
  return h('div', { class: 'xt-fd-body' }, palette, canvas, h('aside', { class: 'xt-fd-panel', id: 'fd-panel', 'aria-label': t('属性') }, fieldPanel()));
}

function currentField() {
  if (!S.field) return { field: null };
  const top = topFields().find((f) => f.key === S.field.key);
  if (!top) return { field: null };
  if (!S.field.column) return { field: top, table: null };
  const column = (top.columns || []).find((c) => c.key === S.field.column);
  return { field: column || null, table: top };
}

function fieldPanel() {
  const { field, table } = currentField();
  if (!field) return h('div', { class: 'xt-fd-panel-empty' }, icon('hand-index'), t('选中一个字段，在这里设置它的属性'));
  const refresh = () => renderCanvasOnly();
  const keyInput = h('input', { class: 'form-control form-control-sm font-monospace', type: 'text', maxlength: 32, id: 'fd-field-key' });
  keyInput.value = field.key;
  const keyError = h('div', { class: 'invalid-feedback' });
  keyInput.addEventListener('change', () => {
    const value = keyInput.value.trim();
    const siblings = table ? table.columns : topFields();
    if (!/^[a-z][a-z0-9_]{0,31}$/.test(value)) {
      keyInput.classList.add('is-invalid');
      keyError.textContent = t('标识须以小写字母开头，只含小写字母、数字和下划线，最长 32 个字符');
      return;
    }
    if (value !== field.key && siblings.some((f) => f.key === value)) {
      keyInput.classList.add('is-invalid');
      keyError.textContent = t('该标识已被其他字段使用');
      return;
    }
    keyInput.classList.remove('is-invalid');
    const old = field.key;
    field.key = value;
    if (table) {
      table.sum = (table.sum || []).map((k) => (k === old ? value : k));
      renameKey(`${table.key}.${old}`, `${table.key}.${value}`);
      S.field = { key: table.key, column: value };
    } else {
      renameKey(old, value);
      S.field = { key: value };
    }
    changed();
    render();
  });
  const parts = [
    problemNote('form', table ? table.key : field.key),
    h('div', { class: 'xt-fd-pane-title' }, icon(TYPE_ICON()[field.type] || 'square', 'me-1'), fmt(t('%(type)s属性'), { type: TYPE_LABEL()[field.type] || field.type }), table ? h('span', { class: 'text-secondary fw-normal ms-1' }, fmt(t('（「%(table)s」的列）'), { table: table.label })) : null),
    group(t('名称'), textInput(field, 'label', { max: 100, after: refresh, id: 'fd-field-label' })),
    group(t('标识'), h('div', {}, keyInput, keyError), t('条件和公式通过标识引用字段')),
  ];
  if (field.type !== 'description' && field.type !== 'computed') parts.push(check(field, 'required', t('必填'), refresh));
  if (!['description', 'computed', 'table', 'attachments', 'multiselect'].includes(field.type)) parts.push(group(t('提示文字'), textInput(field, 'placeholder', { after: refresh })));
  if (field.type !== 'description') parts.push(group(t('填写说明'), textInput(field, 'help', { max: 500, after: refresh })));
  parts.push(...typeProps(field, refresh));
  if (!S.readonly && table) {
    const columns = table.columns;
    const index = columns.indexOf(field);
    parts.push(
      h(
        'div',
        { class: 'd-flex gap-2' },
        h('button', { type: 'button', class: 'btn btn-sm btn-outline-secondary', disabled: index === 0, onclick: () => moveItem(columns, index, -1) }, icon('arrow-left'), t('左移')),
        h('button', { type: 'button', class: 'btn btn-sm btn-outline-secondary', disabled: index === columns.length - 1, onclick: () => moveItem(columns, index, 1) }, t('右移'), icon('arrow-right')),
        h('button', {
          type: 'button',
          class: 'btn btn-sm btn-outline-danger ms-auto',
          onclick: () => {
            columns.splice(index, 1);
            table.sum = (table.sum || []).filter((k) => k !== field.key);
            S.field = { key: table.key };
            changed();
            render();
          },
        }, icon('trash'), t('删除列')),
      ),
    );
  }
  return h('fieldset', { disabled: S.readonly }, parts);
}

function typeProps(field, refresh) {
  const parts = [];
  const row = (...cols) => h('div', { class: 'row g-2' }, cols.map((c) => h('div', { class: 'col' }, c)));
  switch (field.type) {
    case 'text':
    case 'textarea':
      parts.push(row(group(t('最少字数'), numberInput(field, 'min_length', { min: 0 })), group(t('最多字数'), numberInput(field, 'max_length', { min: 1 }))));
      if (field.type === 'text') {
        parts.push(group(t('格式（正则表达式）'), textInput(field, 'pattern', { placeholder: '1[3-9][0-9]{9}' }), t('可选，如手机号、编号的格式')));
        parts.push(group(t('格式不符时的提示'), textInput(field, 'pattern_message', { max: 100, placeholder: t('须是 11 位手机号') })));
      }
      break;
    case 'number':
      parts.push(row(group(t('最小值'), numberInput(field, 'min', { integer: false, asString: true })), group(t('最大值'), numberInput(field, 'max', { integer: false, asString: true }))));
      parts.push(row(group(t('小数位数'), numberInput(field, 'decimals', { min: 0, max: 6 })), group(t('单位'), textInput(field, 'unit', { max: 10, after: refresh, placeholder: t('天') }))));
      break;
    case 'money':
      parts.push(row(group(t('最小金额'), numberInput(field, 'min', { integer: false, asString: true })), group(t('最大金额'), numberInput(field, 'max', { integer: false, asString: true }))));
      parts.push(h('div', { class: 'form-text mb-3' }, t('金额保留两位小数，自动显示人民币大写。')));
      break;
    case 'date':
      parts.push(row(group(t('最早日期'), dateInput(field, 'min')), group(t('最晚日期'), dateInput(field, 'max'))));
      break;
    case 'daterange':
      parts.push(row(group(t('最早日期'), dateInput(field, 'min')), group(t('最晚日期'), dateInput(field, 'max'))));
      parts.push(group(t('最长天数'), numberInput(field, 'max_days', { min: 1 })));
      break;
    case 'select':
    case 'multiselect': {
      const area = h('textarea', { class: 'form-control form-control-sm', rows: 5, id: 'fd-field-options' });
      area.value = (field.options || []).join('\n');
      area.addEventListener('input', () => {
        field.options = area.value.split('\n').map((o) => o.trim()).filter(Boolean);
        changed();
        refresh();
      });
      parts.push(group(t('选项（每行一个）'), area));
      if (field.type === 'multiselect') parts.push(row(group(t('至少选'), numberInput(field, 'min_choices', { min: 0 })), group(t('最多选'), numberInput(field, 'max_choices', { min: 1 }))));
      break;
    }
    case 'user':
    case 'unit':
      parts.push(check(field, 'multiple', t('可选多个'), refresh));
      if (field.multiple) parts.push(group(t('最多选几个'), numberInput(field, 'max_count', { min: 1, max: 200 })));
      break;
    case 'attachments':
      parts.push(group(t('最多上传几个'), numberInput(field, 'max_count', { min: 1, max: 100 })));
      break;
    case 'computed': {
      const numeric = topFields().filter((f) => NUMERIC.includes(f.type) && f !== field);
      parts.push(group(t('公式'), textInput(field, 'expression', { max: 500, after: refresh, id: 'fd-field-expression', placeholder: 'amount * 2' }), fmt(t('可用 + - * / 和括号，sum(明细.列)、round(x, 2)、min、max；可引用：%(keys)s'), { keys: numeric.map((f) => f.key).join('、') || '—' })));
      parts.push(group(t('显示为'), select([['number', t('数字')], ['money', t('金额')]], field.format || 'number', (v) => { if (v === 'number') delete field.format; else { field.format = v; delete field.decimals; } refresh(); })));
      parts.push(row(group(t('小数位数'), numberInput(field, 'decimals', { min: 0, max: 6 })), group(t('单位'), textInput(field, 'unit', { max: 10, after: refresh }))));
      break;
    }
    case 'description':
      parts.push(group(t('说明内容'), textInput(field, 'text', { max: 2000, multiline: true, after: refresh })));
      break;
    case 'table': {
      parts.push(h('div', { class: 'form-text mb-2' }, t('在左侧表格中点击列名可设置该列，点击“添加列”增加一列。')));
      parts.push(row(group(t('至少几行'), numberInput(field, 'min_rows', { min: 0, max: 500 })), group(t('最多几行'), numberInput(field, 'max_rows', { min: 1, max: 500 }))));
      const numericColumns = (field.columns || []).filter((c) => NUMERIC.includes(c.type));
      if (numericColumns.length) {
        parts.push(group(t('合计的列'), checkList(numericColumns.map((c) => [c.key, c.label]), field.sum, (values) => { if (values.length) field.sum = values; else delete field.sum; refresh(); }, 'sum')));
      }
      break;
    }
    default:
      break;
  }
  return parts;
}

// --------------------------------------------------------------------------- the flow designer

function newNode(type) {
  const id = newId('n');
  const name = NODE_META[type].label;
  if (type === 'approval') return { id, type, name, approvers: { kind: 'head', level: 1 }, mode: 'sequential' };
  if (type === 'handle') return { id, type, name, approvers: { kind: 'users', ids: [] }, mode: 'sequential' };
  if (type === 'cc') return { id, type, name, recipients: { kind: 'users', ids: [] } };
  if (type === 'condition') {
    const node = { id, type, name, branches: [] };
    node.branches.push({ id: newId('b'), name: t('条件1'), priority: 1, condition: { all: [] }, nodes: [] });
    node.branches.push({ id: `${id}d`, name: t('其他情况'), default: true, nodes: [] });
    return node;
  }
  const node = { id, type, name, branches: [] };
  node.branches.push({ id: `${id}a`, name: t('分支1'), nodes: [] });
  node.branches.push({ id: `${id}b`, name: t('分支2'), nodes: [] });
  return node;
}

let openMenu = null;
function closeMenu() {
  if (openMenu) openMenu.remove();
  openMenu = null;
}
document.addEventListener('click', (e) => {
  if (openMenu && !openMenu.contains(e.target)) closeMenu();
});

function addButton(list, index) {
  if (S.readonly) return h('div', { class: 'xt-fd-gap' });
  const button = h('button', { type: 'button', class: 'xt-fd-add', 'aria-label': t('添加节点'), title: t('添加节点') }, icon('plus-lg'));
  button.addEventListener('click', (event) => {
    event.stopPropagation();
    closeMenu();
    const menu = h(
      'div',
      { class: 'xt-fd-add-menu shadow', role: 'menu' },
      Object.entries(NODE_META).map(([type, meta]) =>
        h('button', {
          type: 'button',
          role: 'menuitem',
          class: `xt-fd-add-item is-${meta.tone}`,
          dataset: { addNode: type },
          onclick: (e) => {
            e.stopPropagation();
            const node = newNode(type);
            list.splice(index, 0, node);
            closeMenu();
            S.pick = { kind: 'item', id: ['condition', 'parallel'].includes(type) ? node.branches[0].id : node.id };
            changed();
            render();
          },
        }, h('span', { class: 'xt-fd-add-icon' }, icon(meta.icon)), meta.label),
      ),
    );
    button.parentElement.append(menu);
    openMenu = menu;
  });
  return h('div', { class: 'xt-fd-gap' }, button);
}

function selectItem(id) {
  S.pick = { kind: 'item', id };
  render();
}

function removeButton(onRemove, label) {
  if (S.readonly) return null;
  return h('button', {
    type: 'button',
    class: 'xt-fd-remove',
    'aria-label': label,
    title: label,
    onclick: (e) => {
      e.stopPropagation();
      onRemove();
      changed();
      render();
    },
  }, icon('x-lg'));
}

function nodeCard(node, list, index) {
  const meta = NODE_META[node.type] || NODE_META.approval;
  const selected = S.pick && S.pick.kind === 'item' && S.pick.id === node.id;
  const bad = problemsOf('flow', node.id);
  let summary;
  if (node.type === 'cc') summary = describeSpec(node.recipients);
  else {
    summary = describeSpec(node.approvers);
    if (node.mode && node.mode !== 'sequential') summary += ` · ${node.mode === 'all' ? t('会签') : t('或签')}`;
  }
  return h(
    'div',
    {
      class: `xt-fd-node is-${meta.tone}${selected ? ' is-selected' : ''}${bad.length ? ' is-invalid' : ''}`,
      dataset: { nodeId: node.id, nodeType: node.type },
      tabindex: '0',
      role: 'button',
      onclick: () => selectItem(node.id),
      onkeydown: (e) => {
        if (e.key === 'Enter') selectItem(node.id);
      },
    },
    h('div', { class: 'xt-fd-node-head' }, icon(meta.icon, 'me-1'), h('span', { class: 'xt-fd-node-name' }, node.name || meta.label), removeButton(() => {
      list.splice(index, 1);
      if (selected) S.pick = null;
    }, t('删除节点'))),
    h('div', { class: 'xt-fd-node-body' }, h('span', {}, summary), icon('chevron-right', 'text-secondary')),
    bad.length ? h('div', { class: 'xt-fd-node-alert', title: bad.map((p) => p.message).join('\n') }, icon('exclamation-circle-fill', 'me-1'), fmt(t('%(n)s 个问题'), { n: bad.length })) : null,
  );
}

function branchBlock(node, list, index) {
  const isCondition = node.type === 'condition';
  const columns = node.branches.map((branch, b) => {
    const selected = S.pick && S.pick.kind === 'item' && S.pick.id === branch.id;
    const bad = problemsOf('flow', branch.id);
    const movable = isCondition && !branch.default;
    const others = node.branches.filter((x) => !x.default);
    const pos = others.indexOf(branch);
    const header = h(
      'div',
      {
        class: `xt-fd-cond${selected ? ' is-selected' : ''}${bad.length ? ' is-invalid' : ''}${branch.default ? ' is-default' : ''}`,
        dataset: { branchId: branch.id },
        tabindex: '0',
        role: 'button',
        onclick: () => selectItem(branch.id),
        onkeydown: (e) => {
          if (e.key === 'Enter') selectItem(branch.id);
        },
      },
      h(
        'div',
        { class: 'xt-fd-cond-head' },
        h('span', { class: 'xt-fd-cond-name' }, branch.name || t('分支')),
        isCondition ? h('span', { class: 'xt-fd-priority' }, branch.default ? t('默认') : fmt(t('优先级 %(n)s'), { n: pos + 1 })) : null,
        node.branches.length > 2 && !branch.default
          ? removeButton(() => {
              node.branches.splice(b, 1);
              if (selected) S.pick = null;
            }, t('删除分支'))
          : null,
      ),
      h('div', { class: 'xt-fd-cond-body' }, isCondition ? (branch.default ? t('其他条件都不满足时进入此分支') : describeCondition(branch.condition)) : t('与其他分支同时进行')),
      movable && !S.readonly
        ? h(
            'div',
            { class: 'xt-fd-cond-move' },
            h('button', { type: 'button', class: 'btn btn-link btn-sm p-0', title: t('提高优先级'), 'aria-label': t('提高优先级'), disabled: pos === 0, onclick: (e) => { e.stopPropagation(); moveItem(node.branches, b, -1); } }, icon('chevron-left')),
            h('button', { type: 'button', class: 'btn btn-link btn-sm p-0', title: t('降低优先级'), 'aria-label': t('降低优先级'), disabled: pos === others.length - 1, onclick: (e) => { e.stopPropagation(); moveItem(node.branches, b, 1); } }, icon('chevron-right')),
          )
        : null,
      bad.length ? h('div', { class: 'xt-fd-node-alert', title: bad.map((p) => p.message).join('\n') }, icon('exclamation-circle-fill', 'me-1'), fmt(t('%(n)s 个问题'), { n: bad.length })) : null,
    );
    if (!Array.isArray(branch.nodes)) branch.nodes = [];
    return h(
      'div',
      { class: 'xt-fd-col' },
      b === 0 ? [h('span', { class: 'xt-fd-cover is-tl' }), h('span', { class: 'xt-fd-cover is-bl' })] : null,
      b === node.branches.length - 1 ? [h('span', { class: 'xt-fd-cover is-tr' }), h('span', { class: 'xt-fd-cover is-br' })] : null,
      header,
      sequence(branch.nodes),
    );
  });
  const selected = S.pick && S.pick.kind === 'item' && S.pick.id === node.id;
  const bad = problemsOf('flow', node.id);
  const addBranch = S.readonly
    ? null
    : h('button', {
        type: 'button',
        class: 'xt-fd-add-branch',
        dataset: { addBranch: node.id },
        onclick: (e) => {
          e.stopPropagation();
          const branch = isCondition
            ? { id: newId('b'), name: fmt(t('条件%(n)s'), { n: node.branches.filter((x) => !x.default).length + 1 }), priority: 1, condition: { all: [] }, nodes: [] }
            : { id: newId('b'), name: fmt(t('分支%(n)s'), { n: node.branches.length + 1 }), nodes: [] };
          const at = isCondition ? node.branches.filter((x) => !x.default).length : node.branches.length;
          node.branches.splice(at, 0, branch);
          S.pick = { kind: 'item', id: branch.id };
          changed();
          render();
        },
      }, isCondition ? t('添加条件') : t('添加分支'));
  return h(
    'div',
    { class: `xt-fd-branch is-${node.type}${bad.length ? ' is-invalid' : ''}`, dataset: { nodeId: node.id, nodeType: node.type } },
    h(
      'div',
      { class: `xt-fd-branch-top${selected ? ' is-selected' : ''}` },
      h('button', { type: 'button', class: 'xt-fd-branch-name', onclick: () => selectItem(node.id) }, icon(NODE_META[node.type].icon, 'me-1'), node.name || NODE_META[node.type].label),
      addBranch,
      removeButton(() => {
        list.splice(index, 1);
        S.pick = null;
      }, t('删除分支节点')),
    ),
    bad.length ? h('div', { class: 'xt-fd-node-alert mb-1', title: bad.map((p) => p.message).join('\n') }, icon('exclamation-circle-fill', 'me-1'), bad.map((p) => p.message).join('；')) : null,
    h('div', { class: 'xt-fd-cols' }, columns),
  );
}

function sequence(nodes) {
  const seq = h('div', { class: 'xt-fd-seq' });
  nodes.forEach((node, index) => {
    seq.append(addButton(nodes, index));
    seq.append(['condition', 'parallel'].includes(node.type) ? branchBlock(node, nodes, index) : nodeCard(node, nodes, index));
  });
  seq.append(addButton(nodes, nodes.length));
  return seq;
}

function renderFlowTab() {
  const startSelected = S.pick && S.pick.kind === 'start';
  const startBad = problemsOf('flow', '__start__');
  const start = h(
    'div',
    {
      class: `xt-fd-node is-start${startSelected ? ' is-selected' : ''}${startBad.length ? ' is-invalid' : ''}`,
      dataset: { nodeId: '__start__' },
      tabindex: '0',
      role: 'button',
      onclick: () => {
        S.pick = { kind: 'start' };
        render();
      },
    },
    h('div', { class: 'xt-fd-node-head' }, icon('person-fill', 'me-1'), t('发起人')),
    h('div', { class: 'xt-fd-node-body' }, h('span', {}, describeInitiators(S.flow.initiators) || t('请设置发起人范围')), icon('chevron-right', 'text-secondary')),
  );
  const canvas = h(
    'section',
    { class: 'xt-fd-canvas xt-fd-flow-canvas', 'aria-label': t('流程图') },
    h('div', { class: 'xt-fd-tree' }, start, sequence(S.flow.nodes), h('div', { class: 'xt-fd-end' }, h('span', { class: 'xt-fd-end-dot' }), t('流程结束'))),
  );
  return h('div', { class: 'xt-fd-body is-flow' }, canvas, h('aside', { class: 'xt-fd-panel', id: 'fd-panel', 'aria-label': t('属性') }, flowPanel()));
}

// --------------------------------------------------------------------------- the flow panels

function approverEditor(holder, key, { nested = false, allowed = null } = {}) {
  const spec = holder[key] || {};
  const kinds = (allowed || S.cat.approverKinds).filter((k) => !nested || !['initiator_chooses', 'initiator'].includes(k));
  const box = h('div', { class: 'xt-fd-spec' });
  const draw = () => {
    const current = holder[key] || {};
    const parts = [
      select(
        kinds.map((k) => [k, APPROVER_LABELS[k]]),
        current.kind,
        (value) => {
          holder[key] = defaultSpec(value);
          draw();
          renderCanvasOnly();
        },
        { id: nested ? null : 'fd-approver-kind', blank: nested ? t('不限范围') : null },
      ),
    ];
    const param = specParams(current, () => renderCanvasOnly(), draw);
    if (param) parts.push(h('div', { class: 'mt-2' }, param));
    box.replaceChildren(...parts);
  };
  if (!spec.kind && !nested) holder[key] = defaultSpec(kinds[0]);
  draw();
  return box;
}
function defaultSpec(kind) {
  switch (kind) {
    case 'users':
      return { kind, ids: [] };
    case 'role':
      return { kind, code: (S.cat.roles[0] || {}).code || '' };
    case 'position':
      return { kind, id: (S.cat.positions[0] || {}).id || 0 };
    case 'head':
      return { kind, level: 1 };
    case 'heads':
      return { kind, up_to: 2 };
    case 'unit_head':
      return { kind, unit_id: 0 };
    case 'initiator_chooses':
      return { kind, multiple: false };
    case 'form_field': {
      const field = topFields().find((f) => f.type === 'user' || f.type === 'unit');
      return { kind, field: field ? field.key : '' };
    }
    case '':
      return undefined;
    default:
      return { kind };
  }
}
function specParams(spec, refresh, redraw) {
  switch (spec.kind) {
    case 'users':
      return picker('user', spec.ids, (ids) => { spec.ids = ids; refresh(); });
    case 'role':
      return S.cat.roles.length
        ? select(S.cat.roles.map((r) => [r.code, r.name]), spec.code, (v) => { spec.code = v; refresh(); }, { id: 'fd-approver-role' })
        : h('div', { class: 'small text-secondary' }, t('还没有可用的角色'));
    case 'position':
      return S.cat.positions.length
        ? select(S.cat.positions.map((p) => [String(p.id), p.name]), String(spec.id), (v) => { spec.id = parseInt(v, 10); refresh(); }, { id: 'fd-approver-position' })
        : h('div', { class: 'small text-secondary' }, t('还没有岗位，请先在组织机构中设置'));
    case 'head':
      return select(Array.from({ length: S.cat.maxHeadLevel }, (_x, i) => [String(i + 1), i === 0 ? t('直属主管（第 1 级）') : fmt(t('第 %(n)s 级主管'), { n: i + 1 })]), String(spec.level), (v) => { spec.level = parseInt(v, 10); refresh(); });
    case 'heads':
      return h('div', {}, h('div', { class: 'small text-secondary mb-1' }, t('从直属主管开始逐级审批，直到：')), select(Array.from({ length: S.cat.maxHeadLevel }, (_x, i) => [String(i + 1), fmt(t('第 %(n)s 级主管'), { n: i + 1 })]), String(spec.up_to), (v) => { spec.up_to = parseInt(v, 10); refresh(); }));
    case 'unit_head':
      return picker('unit', spec.unit_id ? [spec.unit_id] : [], (ids) => { spec.unit_id = ids[0] || 0; refresh(); }, { single: true });
    case 'initiator_chooses':
      return h('div', {}, check(spec, 'multiple', t('可选多人'), refresh), h('div', { class: 'small fw-semibold mb-1' }, t('可选范围')), approverEditor(spec, 'among', { nested: true, allowed: ['users', 'role', 'position', 'head', 'heads', 'unit_head'] }));
    case 'form_field': {
      const fields = topFields().filter((f) => f.type === 'user' || f.type === 'unit');
      if (!fields.length) return h('div', { class: 'small text-danger' }, t('表单中还没有成员或部门字段'));
      return h('div', {}, select(fields.map((f) => [f.key, f.label]), spec.field, (v) => { spec.field = v; refresh(); }), h('div', { class: 'form-text' }, t('成员字段：由所填成员处理；部门字段：由该部门负责人处理')));
    }
    case 'initiator':
      return h('div', { class: 'small text-secondary' }, t('由发起人本人处理，如确认、补充材料'));
    default:
      if (redraw) return null;
      return null;
  }
}

function fieldPermissionsEditor(node, allowed) {
  const fields = topFields().filter((f) => f.type !== 'description');
  if (!fields.length) return h('div', { class: 'small text-secondary' }, t('表单中还没有字段'));
  const perms = node.field_permissions || {};
  return h(
    'table',
    { class: 'table table-sm align-middle small mb-0 xt-fd-perms' },
    h('thead', {}, h('tr', {}, h('th', {}, t('字段')), h('th', {}, t('权限')))),
    h(
      'tbody',
      {},
      fields.map((field) => {
        const choices = allowed.filter((p) => !(field.type === 'computed' && ['editable', 'required'].includes(p)));
        return h(
          'tr',
          { dataset: { permField: field.key } },
          h('td', {}, field.label),
          h(
            'td',
            {},
            select(choices.map((p) => [p, PERMISSION_LABELS[p]]), perms[field.key], (value) => {
              const next = { ...(node.field_permissions || {}) };
              if (value) next[field.key] = value;
              else delete next[field.key];
              if (Object.keys(next).length) node.field_permissions = next;
              else delete node.field_permissions;
            }, { blank: t('只读（默认）') }),
          ),
        );
      }),
    ),
  );
}

function taskPanel(node) {
  const isApproval = node.type === 'approval';
  const parts = [
    group(isApproval ? t('审批人') : t('办理人'), approverEditor(node, 'approvers')),
    group(
      t('多人时'),
      h(
        'div',
        {},
        Object.entries(MODE_LABELS).map(([mode, label]) => {
          const id = `fd-mode-${mode}`;
          const input = h('input', { class: 'form-check-input', type: 'radio', name: 'fd-mode', id, value: mode });
          input.checked = (node.mode || 'sequential') === mode;
          input.addEventListener('change', () => {
            node.mode = mode;
            changed();
            renderCanvasOnly();
          });
          return h('div', { class: 'form-check' }, input, h('label', { class: 'form-check-label small', for: id }, label));
        }),
      ),
    ),
    h(
      'div',
      { class: 'row g-2' },
      h('div', { class: 'col' }, group(t('办理时限（小时）'), numberInput(node, 'time_limit_hours', { min: 1, integer: false, placeholder: fmt(t('按流程设置（%(n)s）'), { n: S.flow.settings.time_limit_hours || S.cat.defaults.time_limit_hours }) }))),
      h('div', { class: 'col' }, group(t('超时后'), select((isApproval ? ['remind', 'escalate', 'approve', 'reject'] : ['remind', 'escalate', 'approve']).map((k) => [k, TIMEOUT_LABELS[k]]), node.on_timeout, (v) => { if (v) node.on_timeout = v; else delete node.on_timeout; }, { blank: t('按流程设置') }))),
    ),
    group(t('必须填写意见的操作'), checkList(S.cat.opinionActions[node.type].map((a) => [a, ACTION_LABELS[a]]), node.opinion_required, (values) => { if (values.length) node.opinion_required = values; else delete node.opinion_required; }, 'opinion')),
    check(node, 'signature', t('需要手写签名')),
    isApproval ? check(node, 'batch', t('允许在待办中批量审批')) : null,
    h(
      'div',
      { class: 'row g-2' },
      h('div', { class: 'col' }, group(SETTING_LABELS.on_empty[0], select(Object.entries(SETTING_LABELS.on_empty[1]), node.on_empty, (v) => { if (v) node.on_empty = v; else delete node.on_empty; }, { blank: t('按流程设置') }))),
      h('div', { class: 'col' }, group(SETTING_LABELS.self_approve[0], select(Object.entries(SETTING_LABELS.self_approve[1]), node.self_approve, (v) => { if (v) node.self_approve = v; else delete node.self_approve; }, { blank: t('按流程设置') }))),
    ),
    group(t('表单字段权限'), fieldPermissionsEditor(node, S.cat.fieldPermissions)),
  ];
  return parts;
}

function leafEditor(leaf, onRemove, refresh) {
  const box = h('div', { class: 'xt-fd-leaf' });
  const subjects = [];
  topFields().forEach((f) => {
    if (['description'].includes(f.type)) return;
    if (f.type === 'table') {
      (f.columns || []).filter((c) => NUMERIC.includes(c.type)).forEach((c) => subjects.push([`s:${f.key}.${c.key}`, fmt(t('%(table)s·%(column)s合计'), { table: f.label, column: c.label })]));
    }
    subjects.push([`f:${f.key}`, f.label]);
  });
  Object.entries(SUBJECTS).forEach(([key, label]) => subjects.push([`x:${key}`, label]));
  const currentSubject = leaf.subject ? `x:${leaf.subject}` : leaf.agg === 'sum' ? `s:${leaf.field}` : leaf.field ? `f:${leaf.field}` : '';
  const target = () => {
    if (leaf.subject) return { kind: 'subject' };
    if (leaf.agg === 'sum') return { kind: 'total', values: 'number' };
    const field = topFields().find((f) => f.key === leaf.field);
    if (!field) return { kind: 'presence', values: 'none' };
    if (NUMERIC.includes(field.type) || field.type === 'daterange') return { kind: 'number', values: 'number' };
    if (field.type === 'date') return { kind: 'date', values: 'date' };
    if (field.type === 'user' || field.type === 'unit') return { kind: field.multiple ? 'many' : 'choice', values: 'id', ref: field.type };
    if (field.type === 'select') return { kind: 'choice', values: 'option', options: field.options || [] };
    if (field.type === 'multiselect') return { kind: 'many', values: 'option', options: field.options || [] };
    if (field.type === 'table' || field.type === 'attachments') return { kind: 'presence', values: 'none' };
    return { kind: 'choice', values: 'text' };
  };
  const draw = () => {
    const tg = target();
    const ops = OPS_BY_KIND[tg.kind];
    if (!ops.includes(leaf.op)) {
      leaf.op = ops[0] === '==' && tg.kind === 'number' ? '>' : ops[0];
      delete leaf.value;
    }
    const subject = select(subjects, currentSubjectOf(leaf), (value) => {
      const [prefix, rest] = [value.slice(0, 1), value.slice(2)];
      Object.keys(leaf).forEach((k) => delete leaf[k]);
      if (prefix === 'x') leaf.subject = rest;
      else {
        leaf.field = rest;
        if (prefix === 's') leaf.agg = 'sum';
      }
      draw();
      refresh();
    }, { blank: t('选择字段或发起人属性') });
    subject.classList.add('xt-fd-leaf-subject');
    const op = select(ops.map((o) => [o, OP_LABELS[o]]), leaf.op, (value) => {
      leaf.op = value;
      delete leaf.value;
      draw();
      refresh();
    });
    op.classList.add('xt-fd-leaf-op');
    box.replaceChildren(
      h('div', { class: 'd-flex gap-1 mb-1' }, subject, S.readonly ? null : h('button', { type: 'button', class: 'btn btn-sm btn-light text-danger', 'aria-label': t('删除条件'), onclick: onRemove }, icon('trash'))),
      h('div', { class: 'd-flex gap-1 align-items-start' }, op, h('div', { class: 'flex-grow-1' }, valueEditor(leaf, tg, refresh))),
    );
  };
  const currentSubjectOf = (l) => (l.subject ? `x:${l.subject}` : l.agg === 'sum' ? `s:${l.field}` : l.field ? `f:${l.field}` : '');
  void currentSubject;
  draw();
  return box;
}

function valueEditor(leaf, tg, refresh) {
  const op = leaf.op;
  if (op === 'empty' || op === 'not_empty') return null;
  const set = (value) => {
    leaf.value = value;
    changed();
    refresh();
  };
  if (tg.kind === 'subject') {
    if (leaf.subject === 'initiator_unit') return picker('unit', leaf.value || [], (ids) => set(ids));
    if (leaf.subject === 'initiator_role') return checkList(S.cat.roles.map((r) => [r.code, r.name]), leaf.value, (v) => set(v), 'role');
    return checkList(S.cat.positions.map((p) => [p.id, p.name]), leaf.value, (v) => set(v), 'position');
  }
  if (tg.values === 'option') {
    if (op === '==' || op === '!=') return select(tg.options.map((o) => [o, o]), leaf.value, (v) => set(v), { blank: t('请选择') });
    return checkList(tg.options.map((o) => [o, o]), Array.isArray(leaf.value) ? leaf.value : [], (v) => set(v), 'option');
  }
  if (tg.values === 'id') {
    const ids = Array.isArray(leaf.value) ? leaf.value : leaf.value ? [leaf.value] : [];
    const many = ['in', 'not_in', 'contains'].includes(op);
    return picker(tg.ref, ids, (v) => set(many ? v : v[0]), { single: !many });
  }
  const type = tg.values === 'date' ? 'date' : tg.values === 'number' ? 'number' : 'text';
  const input = (value, onInput, placeholder) => {
    const el = h('input', { class: 'form-control form-control-sm xt-fd-leaf-value', type, step: 'any', placeholder });
    el.value = value ?? '';
    el.addEventListener('input', () => onInput(el.value));
    return el;
  };
  if (op === 'between') {
    const pair = Array.isArray(leaf.value) ? [...leaf.value] : ['', ''];
    return h('div', { class: 'd-flex gap-1 align-items-center' }, input(pair[0], (v) => { pair[0] = v; set([...pair]); }, t('下限')), '~', input(pair[1], (v) => { pair[1] = v; set([...pair]); }, t('上限')));
  }
  if (op === 'in' || op === 'not_in') {
    const el = h('input', { class: 'form-control form-control-sm xt-fd-leaf-value', type: 'text', placeholder: t('多个值用逗号分隔') });
    el.value = Array.isArray(leaf.value) ? leaf.value.join(', ') : '';
    el.addEventListener('input', () => set(el.value.split(/[,，、]/).map((s) => s.trim()).filter(Boolean)));
    return el;
  }
  return input(leaf.value, (v) => set(v), tg.values === 'number' ? t('数值') : '');
}

function conditionPanel(branch) {
  if (branch.default) return [h('div', { class: 'alert alert-light small' }, icon('info-circle', 'me-1'), t('默认分支：其他分支的条件都不满足时进入此分支。每个条件分支节点必须有且只有一个默认分支。'))];
  if (!branch.condition || !(branch.condition.all || branch.condition.any)) {
    branch.condition = branch.condition && (branch.condition.field || branch.condition.subject) ? { all: [branch.condition] } : { all: [] };
  }
  const groupKey = branch.condition.all ? 'all' : 'any';
  const leaves = branch.condition[groupKey];
  const refresh = () => renderCanvasOnly();
  const list = h('div', {});
  const draw = () => {
    list.replaceChildren(
      ...leaves.map((leaf, i) =>
        leafEditor(leaf, () => {
          leaves.splice(i, 1);
          changed();
          draw();
          refresh();
        }, refresh),
      ),
    );
  };
  draw();
  return [
    group(
      t('满足'),
      select([['all', t('以下全部条件')], ['any', t('以下任一条件')]], groupKey, (value) => {
        branch.condition = { [value]: branch.condition[groupKey] };
        render();
      }, { id: 'fd-cond-group' }),
    ),
    list,
    S.readonly
      ? null
      : h('button', {
          type: 'button',
          class: 'btn btn-sm btn-outline-secondary',
          id: 'fd-add-leaf',
          onclick: () => {
            leaves.push({ op: '>' });
            changed();
            draw();
          },
        }, icon('plus-lg', 'me-1'), t('添加条件')),
    h('div', { class: 'form-text mt-2' }, t('分支按优先级从左到右判断，进入第一个条件成立的分支；在流程图上用 ‹ › 调整优先级。')),
  ];
}

function initiatorsPanel() {
  const rules = S.flow.initiators;
  const list = h('div', { id: 'fd-initiators' });
  const draw = () => {
    list.replaceChildren(
      ...rules.map((rule, i) => {
        const kindSelect = select(S.cat.initiatorKinds.map((k) => [k, INITIATOR_LABELS[k]]), rule.kind, (value) => {
          rules[i] = value === 'everyone' ? { kind: value } : value === 'role' ? { kind: value, code: (S.cat.roles[0] || {}).code || '' } : value === 'position' ? { kind: value, id: (S.cat.positions[0] || {}).id || 0 } : { kind: value, id: 0 };
          draw();
          renderCanvasOnly();
        });
        let param = null;
        if (rule.kind === 'unit') param = h('div', {}, picker('unit', rule.id ? [rule.id] : [], (ids) => { rule.id = ids[0] || 0; renderCanvasOnly(); }, { single: true }), check(rule, 'subtree', t('不含下级部门'), renderCanvasOnly, { invert: true }));
        if (rule.kind === 'user') param = picker('user', rule.id ? [rule.id] : [], (ids) => { rule.id = ids[0] || 0; renderCanvasOnly(); }, { single: true });
        if (rule.kind === 'role') param = select(S.cat.roles.map((r) => [r.code, r.name]), rule.code, (v) => { rule.code = v; renderCanvasOnly(); });
        if (rule.kind === 'position') param = select(S.cat.positions.map((p) => [String(p.id), p.name]), String(rule.id), (v) => { rule.id = parseInt(v, 10); renderCanvasOnly(); });
        return h(
          'div',
          { class: 'xt-fd-leaf' },
          h('div', { class: 'd-flex gap-1 mb-1' }, kindSelect, S.readonly || rules.length < 2 ? null : h('button', { type: 'button', class: 'btn btn-sm btn-light text-danger', 'aria-label': t('删除'), onclick: () => { rules.splice(i, 1); changed(); draw(); renderCanvasOnly(); } }, icon('trash'))),
          param,
        );
      }),
    );
  };
  draw();
  return [
    h('div', { class: 'small text-secondary mb-2' }, t('满足任一规则的人可以发起此流程')),
    list,
    S.readonly ? null : h('button', { type: 'button', class: 'btn btn-sm btn-outline-secondary mb-3', onclick: () => { rules.push({ kind: 'unit', id: 0 }); changed(); draw(); } }, icon('plus-lg', 'me-1'), t('添加规则')),
  ];
}

function settingsPanel() {
  const settings = S.flow.settings;
  const parts = [h('div', { class: 'xt-fd-pane-title mt-3' }, icon('sliders', 'me-1'), t('流程设置'))];
  Object.entries(SETTING_LABELS).forEach(([key, [label, choices]]) => {
    const def = S.cat.defaults[key];
    parts.push(
      group(
        label,
        select(Object.entries(choices), settings[key], (v) => {
          if (v) settings[key] = v;
          else delete settings[key];
        }, { blank: fmt(t('默认：%(value)s'), { value: choices[def] || def }), id: `fd-setting-${key}` }),
      ),
    );
  });
  parts.push(
    h(
      'div',
      { class: 'row g-2' },
      h('div', { class: 'col' }, group(t('默认办理时限（小时）'), numberInput(settings, 'time_limit_hours', { min: 1, integer: false, placeholder: String(S.cat.defaults.time_limit_hours) }))),
      h('div', { class: 'col' }, group(t('急办时限（小时）'), numberInput(settings, 'urgent_time_limit_hours', { min: 1, integer: false, placeholder: String(S.cat.defaults.urgent_time_limit_hours) }))),
    ),
  );
  parts.push(group(t('流程管理员（可终止、撤销本流程的申请）'), picker('user', settings.admin_user_ids || [], (ids) => { if (ids.length) settings.admin_user_ids = ids; else delete settings.admin_user_ids; })));
  return parts;
}

function flowPanel() {
  if (!S.pick) return h('div', { class: 'xt-fd-panel-empty' }, icon('hand-index'), t('点击流程图中的节点或分支，在这里设置；点击 ＋ 添加审批人、办理人、抄送人或分支'));
  let parts;
  if (S.pick.kind === 'start') {
    parts = [problemNote('flow', '__start__'), h('div', { class: 'xt-fd-pane-title' }, icon('person-fill', 'me-1'), t('发起人范围')), ...initiatorsPanel(), ...settingsPanel()];
  } else {
    const found = locate(S.pick.id);
    if (!found) return h('div', { class: 'xt-fd-panel-empty' }, t('该节点已被删除'));
    const { item, isBranch, parent } = found;
    const title = isBranch ? (parent.type === 'condition' ? t('条件分支') : t('并行分支')) : NODE_META[item.type].label;
    parts = [
      problemNote('flow', item.id),
      h('div', { class: 'xt-fd-pane-title' }, icon(isBranch ? 'signpost' : NODE_META[item.type].icon, 'me-1'), title, h('code', { class: 'ms-auto small text-secondary' }, item.id)),
      group(t('名称'), textInput(item, 'name', { max: 64, after: () => renderCanvasOnly(), id: 'fd-node-name' })),
    ];
    if (isBranch && parent.type === 'condition') parts.push(...conditionPanel(item));
    else if (isBranch) parts.push(h('div', { class: 'small text-secondary' }, t('并行分支同时进行，全部完成后流程继续。每个并行分支至少要有一个节点。')));
    else if (item.type === 'approval' || item.type === 'handle') parts.push(...taskPanel(item));
    else if (item.type === 'cc') {
      parts.push(group(t('抄送给'), approverEditor(item, 'recipients')));
      parts.push(group(t('表单字段权限'), fieldPermissionsEditor(item, ['hidden', 'readonly'])));
    } else parts.push(h('div', { class: 'small text-secondary' }, item.type === 'condition' ? t('按条件进入其中一个分支；点击分支上方的卡片设置条件。') : t('所有分支同时进行，全部完成后继续。')));
  }
  return h('fieldset', { disabled: S.readonly }, parts);
}

// --------------------------------------------------------------------------- rendering

function renderCanvasOnly() {
  // Redraw the canvas but keep the panel (and the focus in it) as it is.
  const body = root.querySelector('.xt-fd-body');
  if (!body) return;
  const fresh = S.tab === 'form' ? renderFormTab() : renderFlowTab();
  const oldCanvas = body.querySelector('.xt-fd-canvas');
  const newCanvas = fresh.querySelector('.xt-fd-canvas');
  const scroll = [oldCanvas.scrollLeft, oldCanvas.scrollTop];
  oldCanvas.replaceWith(newCanvas);
  [newCanvas.scrollLeft, newCanvas.scrollTop] = scroll;
}

function render() {
  closeMenu();
  root.querySelectorAll('[data-tab]').forEach((tab) => {
    const active = tab.dataset.tab === S.tab;
    tab.classList.toggle('active', active);
    tab.setAttribute('aria-selected', active ? 'true' : 'false');
    const count = S.problems.filter((p) => p.scope === tab.dataset.tab).length;
    const badge = tab.querySelector('.badge');
    badge.textContent = String(count);
    badge.classList.toggle('d-none', !count);
  });
  renderProblems();
  const stage = document.getElementById('fd-stage');
  const old = stage.querySelector('.xt-fd-canvas');
  const scroll = old ? [old.scrollLeft, old.scrollTop] : [0, 0];
  stage.replaceChildren(S.tab === 'form' ? renderFormTab() : renderFlowTab());
  const canvas = stage.querySelector('.xt-fd-canvas');
  if (canvas) [canvas.scrollLeft, canvas.scrollTop] = scroll;
}

// --------------------------------------------------------------------------- saving

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)xietong_csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : '';
}

async function post(url) {
  const body = JSON.stringify({ form: S.form, flow: normalise(S.flow) });
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken(), Accept: 'application/json' },
    body,
    credentials: 'same-origin',
  });
  let answer;
  try {
    answer = await response.json();
  } catch {
    answer = { ok: false, message: t('服务器没有响应，请稍后重试。'), problems: [] };
  }
  return answer;
}

function setBusy(busy) {
  S.busy = busy;
  document.querySelectorAll('[data-fd-action]').forEach((button) => {
    button.disabled = busy;
  });
}

async function save() {
  if (S.busy) return;
  setBusy(true);
  try {
    const answer = await post(S.urls.save);
    const status = document.getElementById('fd-status');
    if (!answer.ok) {
      showToast(answer.message, 'danger');
      return;
    }
    S.dirty = false;
    S.problems = answer.problems || [];
    status.textContent = S.problems.length
      ? fmt(t('已保存为草稿（第 %(n)s 版），还有 %(count)s 个问题'), { n: answer.number, count: S.problems.length })
      : fmt(t('已保存为草稿（第 %(n)s 版），可以发布'), { n: answer.number });
    document.getElementById('fd-version-badge')?.replaceChildren(fmt(t('草稿 v%(n)s'), { n: answer.number }));
    render();
  } catch {
    showToast(t('保存失败，请检查网络后重试。'), 'danger');
  } finally {
    setBusy(false);
  }
}

async function publish() {
  if (S.busy) return;
  if (!window.confirm(t('发布后，新的申请将按此版本办理；进行中的申请仍按原版本办理。确定发布？'))) return;
  setBusy(true);
  try {
    const answer = await post(S.urls.publish);
    if (answer.ok) {
      S.dirty = false;
      window.location.assign(answer.redirect);
      return;
    }
    S.problems = answer.problems || [];
    document.getElementById('fd-status').textContent = answer.message;
    showToast(answer.message, 'danger');
    render();
  } catch {
    showToast(t('发布失败，请检查网络后重试。'), 'danger');
  } finally {
    setBusy(false);
  }
}

if (S) {
  root.querySelectorAll('[data-tab]').forEach((tab) =>
    tab.addEventListener('click', () => {
      S.tab = tab.dataset.tab;
      render();
    }),
  );
  document.querySelector('[data-fd-action="save"]')?.addEventListener('click', save);
  document.querySelector('[data-fd-action="publish"]')?.addEventListener('click', publish);
  window.addEventListener('beforeunload', (event) => {
    if (S.dirty) {
      event.preventDefault();
      event.returnValue = '';
    }
  });
  if (S.problems.length && !S.problems.some((p) => p.scope === 'form')) S.tab = 'flow';
  render();
}
